//! The one generic driver, which moves bytes between a std socket and a sam-proto
//! [`Exchange`], and the deadlines that bound it (as socket timeouts).

use std::io::{self, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

use sam_proto::command::Hello;
use sam_proto::exchange::{Exchange, Request, Step};
use sam_proto::message::Message;
use sam_proto::Version;

use crate::{Error, Result, SamConfig};

/// How much to read at once while an exchange waits for its answer.
const READ_CHUNK: usize = 8 * 1024;
/// The operation named when the TCP connect to the bridge times out.
const CONNECT: &str = "TCP connect to the SAM bridge";

/// When an operation must be over (`at: None`: never) and how to say that it is late.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Deadline {
    at: Option<Instant>,
    after: Duration,
    pub(crate) operation: &'static str,
}

impl Deadline {
    /// `after` from now (`None`: no limit), reported as `operation` when it passes.
    pub(crate) fn new(after: Option<Duration>, operation: &'static str) -> Deadline {
        let at = after.and_then(|after| Instant::now().checked_add(after));
        let after = after.unwrap_or_default();
        Deadline {
            at,
            after,
            operation,
        }
    }

    /// Whichever of the two comes first.
    fn min(self, other: Deadline) -> Deadline {
        match (self.at, other.at) {
            (Some(a), Some(b)) if b < a => other,
            (None, Some(_)) => other,
            _ => self,
        }
    }

    /// The time left (`None`: no limit), or [`Error::Timeout`] once it has passed.
    pub(crate) fn left(&self) -> Result<Option<Duration>> {
        let Some(at) = self.at else { return Ok(None) };
        match at.checked_duration_since(Instant::now()) {
            Some(left) if !left.is_zero() => Ok(Some(left)),
            _ => Err(self.expired()),
        }
    }

    /// The [`Error::Timeout`] of this deadline.
    pub(crate) fn expired(&self) -> Error {
        Error::Timeout {
            operation: self.operation,
            after: self.after,
        }
    }

    /// An I/O error; a socket timeout set by [`Deadline::arm`] is this deadline passing.
    pub(crate) fn io(&self, e: io::Error) -> Error {
        match e.kind() {
            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut if self.at.is_some() => {
                self.expired()
            }
            _ => Error::Io(e),
        }
    }

    /// Sets both socket timeouts to the time left (a deadline without limit leaves them).
    fn arm(&self, socket: &TcpStream) -> Result<()> {
        if let Some(left) = self.left()? {
            socket.set_read_timeout(Some(left))?;
            socket.set_write_timeout(Some(left))?;
        }
        Ok(())
    }
}

/// Removes the socket timeouts (before a socket goes to the user or to a long wait).
pub(crate) fn clear_timeouts(socket: &TcpStream) -> io::Result<()> {
    socket.set_read_timeout(None)?;
    socket.set_write_timeout(None)
}

/// Runs `exchange` on `socket` to the end within `deadline`, following the contract of
/// [`sam_proto::exchange`]: write all of every `Send`, read only when `buf` is empty, hand
/// `buf` to `feed` and drop what it consumed, `eof` on a 0-byte read.
///
/// Whatever is left in `buf` afterwards was read from the socket but is not part of the
/// protocol: it belongs to the application (the first bytes of a stream).
pub(crate) fn drive<R: Request>(
    socket: &mut TcpStream,
    mut exchange: Exchange<R>,
    buf: &mut Vec<u8>,
    operation: &'static str,
    deadline: Deadline,
) -> Result<R::Output> {
    let proto = |e| Error::proto(operation, e);
    loop {
        match exchange.poll() {
            Step::Send(bytes) => {
                deadline.arm(socket)?;
                socket.write_all(bytes).map_err(|e| deadline.io(e))?;
            }
            Step::Recv if buf.is_empty() => {
                deadline.arm(socket)?;
                buf.resize(READ_CHUNK, 0);
                let n = loop {
                    match socket.read(buf) {
                        Ok(n) => break n,
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                        Err(e) => {
                            buf.clear();
                            return Err(deadline.io(e));
                        }
                    }
                };
                buf.truncate(n);
                if n == 0 {
                    exchange.eof().map_err(proto)?;
                }
            }
            Step::Recv => exchange.feed_buf(buf).map_err(proto)?,
            Step::Done => break,
        }
    }
    exchange.finish().map_err(proto)
}

/// A socket to the bridge that has completed `HELLO`, with no socket timeouts set.
#[derive(Debug)]
pub(crate) struct Opened {
    pub(crate) socket: TcpStream,
    /// Bytes read but not yet used by an exchange.
    pub(crate) buf: Vec<u8>,
    /// The version the bridge agreed to.
    pub(crate) version: Version,
}

/// Connects to the bridge and says `HELLO`, both within `connect_timeout` and `cap`.
pub(crate) fn open(config: &SamConfig, cap: Deadline) -> Result<Opened> {
    // Refuse credentials that cannot be written before touching the network.
    let hello = Exchange::new(config.hello()).map_err(|e| Error::proto(Hello::KIND, e))?;
    let limit = Deadline::new(Some(config.connect_timeout), CONNECT);
    let mut socket = connect(&config.address, limit.min(cap))?;
    let mut buf = Vec::new();
    let limit = Deadline {
        operation: Hello::KIND,
        ..limit
    };
    let version = drive(&mut socket, hello, &mut buf, Hello::KIND, limit.min(cap))?;
    clear_timeouts(&socket)?;
    Ok(Opened {
        socket,
        buf,
        version,
    })
}

/// A TCP connection to `address` (each address it resolves to, in turn) within `deadline`.
fn connect(address: &str, deadline: Deadline) -> Result<TcpStream> {
    let mut last = io::Error::new(io::ErrorKind::NotFound, "the address resolves to nothing");
    let addrs = address
        .to_socket_addrs()
        .map_err(|e| Error::unreachable(address, e))?;
    for addr in addrs {
        let connected = match deadline.left()? {
            Some(left) => TcpStream::connect_timeout(&addr, left),
            None => TcpStream::connect(addr),
        };
        match connected {
            Ok(socket) => return Ok(socket),
            Err(e) if e.kind() == io::ErrorKind::TimedOut => return Err(deadline.expired()),
            Err(e) => last = e,
        }
    }
    Err(Error::unreachable(address, last))
}

/// Opens a socket and runs `command` on it, encoded for the version the bridge agreed to, all
/// within `deadline` (which names the operation; the connect and `HELLO` also within
/// `connect_timeout`). Returns the socket, with any bytes read past the answer and no
/// timeouts set, and the command's output.
pub(crate) fn request<R: Request>(
    config: &SamConfig,
    deadline: Deadline,
    command: R,
) -> Result<(Opened, R::Output)> {
    let operation = deadline.operation;
    let exchange = Exchange::new(command).map_err(|e| Error::proto(operation, e))?;
    let mut opened = open(config, deadline)?;
    let exchange = exchange
        .with_version(opened.version)
        .map_err(|e| Error::proto(operation, e))?;
    let output = drive(
        &mut opened.socket,
        exchange,
        &mut opened.buf,
        operation,
        deadline,
    )?;
    clear_timeouts(&opened.socket)?;
    Ok((opened, output))
}
