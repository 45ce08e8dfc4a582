//! Drives the sans-IO core from a hand-written, non-blocking event loop (mio; no async runtime).
//!
//! Runs `HELLO` + `DEST GENERATE SIGNATURE_TYPE=7` (Ed25519) as one exchange against a SAM
//! bridge and prints the negotiated version, the new destination's `.b32.i2p` address and the
//! length of the public destination. The private key is never printed.
//!
//! ```text
//! cargo run -p sam-proto --example event_loop -- 127.0.0.1:7656
//! ```
//!
//! Without an argument the bridge is `$SAM_ADDR`, or `127.0.0.1:7656`.
//!
//! The whole conversation is four calls on the exchange: `poll` says what to do next, `feed`
//! takes received bytes (and says how many it used), `eof` reports a closed connection, and
//! `finish` yields the result. Everything else here is plain socket readiness handling: mio is
//! edge-triggered, so reads and writes go on until `WouldBlock`, and the socket asks for
//! `WRITABLE` only while bytes of a `Step::Send` are still unwritten.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, ToSocketAddrs};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use mio::net::TcpStream;
use mio::{Events, Interest, Poll, Token};
use sam_proto::command::{DestGenerate, Hello};
use sam_proto::exchange::{Exchange, Step};
use sam_proto::keys::{PrivateKeys, SigType};
use sam_proto::Version;

const SAM: Token = Token(0);
/// How long the bridge may take to accept the TCP connection.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long the whole exchange may take (key generation on a busy Java router can be slow).
const EXCHANGE_TIMEOUT: Duration = Duration::from_secs(60);

fn main() -> ExitCode {
    let addr = std::env::args()
        .nth(1)
        .or_else(|| std::env::var("SAM_ADDR").ok())
        .unwrap_or_else(|| "127.0.0.1:7656".to_owned());
    match run(&addr) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Unreachable) => {
            eprintln!(
                "no SAM bridge answers at {addr}: is i2pd running, or SAM enabled in the Java router console?"
            );
            ExitCode::FAILURE
        }
        Err(Failure::Other(msg)) => {
            eprintln!("error talking to the SAM bridge at {addr}: {msg}");
            ExitCode::FAILURE
        }
    }
}

enum Failure {
    /// Nothing accepted the TCP connection.
    Unreachable,
    /// Anything after that, as one line.
    Other(String),
}

impl From<io::Error> for Failure {
    fn from(e: io::Error) -> Self {
        Failure::Other(e.to_string())
    }
}

impl From<sam_proto::Error> for Failure {
    fn from(e: sam_proto::Error) -> Self {
        Failure::Other(e.to_string())
    }
}

fn run(addr: &str) -> Result<(), Failure> {
    let target: SocketAddr = addr
        .to_socket_addrs()
        .map_err(|e| Failure::Other(format!("bad address {addr:?}: {e}")))?
        .next()
        .ok_or_else(|| Failure::Other(format!("{addr:?} resolves to no address")))?;

    let request = DestGenerate {
        signature_type: Some(SigType::Ed25519),
        crypto_type: None,
        extra: Vec::new(),
    };
    let mut exchange =
        Exchange::new(request)?.with_hello(Hello::new(Version::V3_1, Version::V3_3))?;

    let mut poll = Poll::new()?;
    let mut events = Events::with_capacity(16);
    let mut stream = connect(target, &mut poll, &mut events)?;

    let mut conn = Conn {
        out: Vec::new(),
        written: 0,
        input: Vec::new(),
        eof: false,
    };
    let mut writable_registered = false;
    let deadline = Instant::now() + EXCHANGE_TIMEOUT;

    loop {
        // Move the exchange forward as far as the bytes at hand allow.
        if conn.drive(&mut exchange, &mut stream)? == Drive::Done {
            break;
        }

        // Ask for WRITABLE only while a Send is unfinished (edge-triggered readiness).
        let want_writable = conn.written < conn.out.len();
        if want_writable != writable_registered {
            let interest = if want_writable {
                Interest::READABLE | Interest::WRITABLE
            } else {
                Interest::READABLE
            };
            poll.registry().reregister(&mut stream, SAM, interest)?;
            writable_registered = want_writable;
        }

        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(Failure::Other(format!(
                "no answer within {} s",
                EXCHANGE_TIMEOUT.as_secs()
            )));
        }
        poll_retrying(&mut poll, &mut events, left)?;
        for event in events.iter() {
            if event.token() == SAM && event.is_readable() {
                conn.read_available(&mut stream)?;
            }
            // Writability needs no action here: `drive` retries the pending write.
        }
    }

    let version = exchange.version();
    let keys: PrivateKeys = exchange.finish()?;
    let dest = keys.destination();
    println!("negotiated SAM version: {version}");
    println!("new destination:        {}", dest.b32_address());
    println!(
        "public destination:     {} bytes ({} chars of I2P base64), signature type {:?}",
        dest.as_bytes().len(),
        dest.to_base64().len(),
        dest.sig_type()
    );
    Ok(())
}

/// Bytes in flight for one connection.
struct Conn {
    /// The bytes of the current `Step::Send`, copied out of the exchange (a `Step` borrows the
    /// exchange, and the loop must be able to wait for `WRITABLE` in between).
    out: Vec<u8>,
    /// How much of `out` the socket has taken.
    written: usize,
    /// Received bytes the exchange has not taken yet.
    input: Vec<u8>,
    /// The bridge closed its side.
    eof: bool,
}

#[derive(Debug, PartialEq, Eq)]
enum Drive {
    /// Waiting for the socket (readable, or writable while `out` has bytes left).
    Blocked,
    /// The exchange is over: call `finish`.
    Done,
}

impl Conn {
    /// Writes what is pending and pulls steps from the exchange until it needs the socket.
    fn drive<R: sam_proto::exchange::Request>(
        &mut self,
        exchange: &mut Exchange<R>,
        stream: &mut TcpStream,
    ) -> Result<Drive, Failure> {
        loop {
            // A Send must be written completely before the exchange is polled again.
            while self.written < self.out.len() {
                match stream.write(&self.out[self.written..]) {
                    Ok(0) => return Err(io::Error::from(io::ErrorKind::WriteZero).into()),
                    Ok(n) => self.written += n,
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(Drive::Blocked),
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(e.into()),
                }
            }
            match exchange.poll() {
                Step::Send(bytes) => {
                    self.out.clear();
                    self.out.extend_from_slice(bytes);
                    self.written = 0;
                }
                Step::Recv if !self.input.is_empty() => {
                    let used = exchange.feed(&self.input)?;
                    self.input.drain(..used);
                }
                Step::Recv if self.eof => exchange.eof()?,
                Step::Recv => return Ok(Drive::Blocked),
                Step::Done => return Ok(Drive::Done),
            }
        }
    }

    /// Reads until the socket would block (mio readiness is edge-triggered).
    fn read_available(&mut self, stream: &mut TcpStream) -> io::Result<()> {
        let mut buf = [0u8; 4096];
        loop {
            match stream.read(&mut buf) {
                Ok(0) => {
                    self.eof = true;
                    return Ok(());
                }
                Ok(n) => self.input.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }
}

/// Starts a non-blocking connect and waits until it succeeds or fails.
fn connect(target: SocketAddr, poll: &mut Poll, events: &mut Events) -> Result<TcpStream, Failure> {
    let mut stream = TcpStream::connect(target).map_err(|_| Failure::Unreachable)?;
    poll.registry()
        .register(&mut stream, SAM, Interest::READABLE | Interest::WRITABLE)?;
    let deadline = Instant::now() + CONNECT_TIMEOUT;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(Failure::Unreachable);
        }
        poll_retrying(poll, events, left)?;
        if !events.iter().any(|e| e.token() == SAM) {
            continue;
        }
        // The mio way to learn how a non-blocking connect ended.
        if let Ok(Some(_)) | Err(_) = stream.take_error() {
            return Err(Failure::Unreachable);
        }
        match stream.peer_addr() {
            Ok(_) => break,
            Err(e) if e.kind() == io::ErrorKind::NotConnected => continue,
            Err(_) => return Err(Failure::Unreachable),
        }
    }
    // Connected: from now on only READABLE, plus WRITABLE while a write is unfinished.
    poll.registry()
        .reregister(&mut stream, SAM, Interest::READABLE)?;
    Ok(stream)
}

fn poll_retrying(poll: &mut Poll, events: &mut Events, timeout: Duration) -> io::Result<()> {
    loop {
        match poll.poll(events, Some(timeout)) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            other => return other,
        }
    }
}
