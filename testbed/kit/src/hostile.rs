//! A scripted, misbehaving SAM bridge (TCP and UDP) and the scenario suite that runs every
//! adapter against it. No router needed.
//!
//! The bridge is plain `std` threads, so it serves async and blocking adapters alike: one
//! thread accepts, one thread per connection follows that connection's [`Script`], one thread
//! records what arrives on the bridge's UDP port. Everything the client sends is recorded
//! ([`ConnRecord`]), so a scenario can assert that a `PONG` came back or that nothing was
//! written after a value the client had to refuse. Dropping the bridge stops and joins every
//! thread.
//!
//! # Using the suite from an adapter
//!
//! Each adapter has a test file in this package (`tests/hostile_tokio.rs`,
//! `tests/hostile_async_std.rs`, `tests/hostile_blocking.rs`) that provides the glue and
//! instantiates the suite, with the same conventions (and the same glue items) as the shared
//! end-to-end suite ([`crate::e2e`]):
//!
//! ```text
//! macro_rules! aw { ($e:expr) => { $e.await }; }                          // blocking: { $e }
//! macro_rules! task { ($($body:tt)*) => { async move { $($body)* } }; }  // blocking: move || { .. }
//! mod glue { /* run + the stream I/O traits, as for the e2e suite */ }
//!
//! sam_testkit::hostile_suite!(sam_tokio, glue, async); // blocking: hostile_suite!(sam_blocking, glue);
//! ```
//!
//! Of the e2e glue (`$glue::*` is glob-imported by the scenarios) this suite uses only:
//!
//! * `run(task) -> T`: runs a scenario body to the end. The body blocks its thread while it
//!   waits for the bridge, so the adapter's background work must not need that thread (a
//!   multi-thread runtime for tokio; async-io's reactor thread; threads for blocking);
//! * the runtime's read/write extension traits (`read_to_end`, `write_all` as methods).
//!
//! The scenarios land in a module `hostile_scenarios`; each runs under [`guard`], which
//! turns a hang into a failure.
//!
//! Every scenario expects one specific, typed outcome. Where an adapter misbehaves (a panic, a
//! hang, lost bytes, an untyped error) its scenario fails; a scenario that hangs is turned into
//! a failure by [`guard`] after [`SCENARIO_LIMIT`].
//!
//! Scenarios that only exercise parsing (the bridge's bytes give one typed error, whatever the
//! adapter) are not here: they run on sam-proto's exchanges in `sam-proto/tests/hostile_lines.rs`,
//! in microseconds and without sockets.

use std::collections::VecDeque;
use std::fmt;
use std::io::{ErrorKind, Read, Write};
use std::net::{IpAddr, Shutdown, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Condvar, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use sam_proto::client::{ClientError, SamConfig};
use sam_proto::command::{
    Command, DestGenerate, Hello, NamingLookup, Ping, SessionCreate, StreamAccept, StreamConnect,
};
use sam_proto::datagram::encode_repliable;
use sam_proto::keys::{Destination, PrivateKeys};
use sam_proto::message::Message;
use sam_proto::reply::{
    DatagramReceived, DestReply, HelloReply, NamingReply, PeerLine, SessionStatus, StreamStatus,
};
use sam_proto::{ResultCode, Secret, Version};

/// How long the adapter waits for TCP connect + `HELLO`.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// How long the adapter waits for `SESSION CREATE`.
pub const SESSION_TIMEOUT: Duration = Duration::from_secs(3);
/// How long the adapter waits for `STREAM CONNECT`.
pub const STREAM_TIMEOUT: Duration = Duration::from_secs(3);
/// How long the adapter waits for `NAMING LOOKUP`.
pub const LOOKUP_TIMEOUT: Duration = Duration::from_secs(3);
/// A scenario that has not finished after this long is a hang (and fails).
pub const SCENARIO_LIMIT: Duration = Duration::from_secs(20);
/// How often blocked bridge threads look at the stop flag.
const TICK: Duration = Duration::from_millis(20);

/// The operation names adapters put in `Refused` and `Timeout` (sam-proto's command kinds).
pub const HELLO: &str = <Hello<'static> as Message<'static>>::KIND;
/// `DEST GENERATE`.
pub const DEST_GENERATE: &str = <DestGenerate<'static> as Message<'static>>::KIND;
/// `NAMING LOOKUP`.
pub const NAMING_LOOKUP: &str = <NamingLookup<'static> as Message<'static>>::KIND;
/// `SESSION CREATE`.
pub const SESSION_CREATE: &str = <SessionCreate<'static> as Message<'static>>::KIND;
/// `STREAM CONNECT`.
pub const STREAM_CONNECT: &str = <StreamConnect<'static> as Message<'static>>::KIND;
/// `STREAM ACCEPT`.
pub const STREAM_ACCEPT: &str = <StreamAccept<'static> as Message<'static>>::KIND;

// ---------------------------------------------------------------------------------------------
// Scripts
// ---------------------------------------------------------------------------------------------

/// The kind of a client command, for [`Script::expect`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `HELLO VERSION`
    Hello,
    /// `DEST GENERATE`
    DestGenerate,
    /// `NAMING LOOKUP`
    NamingLookup,
    /// `SESSION CREATE`
    SessionCreate,
    /// `SESSION ADD`
    SessionAdd,
    /// `SESSION REMOVE`
    SessionRemove,
    /// `STREAM CONNECT`
    StreamConnect,
    /// `STREAM ACCEPT`
    StreamAccept,
    /// `STREAM FORWARD`
    StreamForward,
    /// `DATAGRAM SEND`
    DatagramSend,
    /// `RAW SEND`
    RawSend,
    /// `PING`
    Ping,
    /// `QUIT`
    Quit,
}

impl Kind {
    fn of(command: &Command<'_>) -> Option<Kind> {
        Some(match command {
            Command::Hello(_) => Kind::Hello,
            Command::DestGenerate(_) => Kind::DestGenerate,
            Command::NamingLookup(_) => Kind::NamingLookup,
            Command::SessionCreate(_) => Kind::SessionCreate,
            Command::SessionAdd(_) => Kind::SessionAdd,
            Command::SessionRemove(_) => Kind::SessionRemove,
            Command::StreamConnect(_) => Kind::StreamConnect,
            Command::StreamAccept(_) => Kind::StreamAccept,
            Command::StreamForward(_) => Kind::StreamForward,
            Command::DatagramSend(_) => Kind::DatagramSend,
            Command::RawSend(_) => Kind::RawSend,
            Command::Ping(_) => Kind::Ping,
            Command::Quit(_) => Kind::Quit,
            Command::Pong(_) => return None,
        })
    }
}

/// One step of a connection script.
#[derive(Debug, Clone)]
pub enum Action {
    /// Read the client's next command line and check its kind (`PONG` lines in between are
    /// recorded and skipped). Anything else is a script violation and closes the connection.
    Expect(Kind),
    /// Write the bytes in one `write`.
    Send(Vec<u8>),
    /// Write every byte in its own `write` (with `TCP_NODELAY`).
    SendBytewise(Vec<u8>),
    /// Write the bytes in chunks of these sizes (cycled).
    SendChunks(Vec<u8>, Vec<usize>),
    /// Write one byte at a time with a pause after each.
    SendSlowly(Vec<u8>, Duration),
    /// Write `b'A'` without any newline, `chunk` bytes per write with `pause` in between,
    /// until `total` bytes are written or a write fails (the client closed).
    Flood {
        /// Stop after this many bytes.
        total: usize,
        /// Bytes per write.
        chunk: usize,
        /// Pause between writes.
        pause: Duration,
    },
    /// Write these bytes this many times (a flood of whole messages, without holding them
    /// all in memory).
    Repeat(Vec<u8>, usize),
    /// Do nothing for a while.
    Sleep(Duration),
    /// Close the connection (our side first: FIN after the data written so far).
    Close,
    /// Shut down our writing half; keep reading and recording.
    HalfClose,
    /// Never speak again: read and record until the client closes or the bridge stops.
    /// (A script that runs out of actions holds too.)
    Hold,
    /// Send a UDP packet from the bridge's datagram port to the forward address the client
    /// registered with `SESSION CREATE ... HOST= PORT=`.
    Udp(Vec<u8>),
    /// Hand the connection (and what the client sent that no action read yet) to the test
    /// as a [`Played`] connection, taken with [`HostileBridge::next_played`]: from here on the
    /// test plays the bridge itself, line by line.
    Play,
}

/// What one TCP connection to the bridge gets, in order.
#[derive(Debug, Clone, Default)]
pub struct Script {
    actions: Vec<Action>,
}

impl Script {
    /// An empty script (it holds the connection open and never speaks).
    pub fn new() -> Script {
        Script::default()
    }

    fn then(mut self, action: Action) -> Script {
        self.actions.push(action);
        self
    }

    /// See [`Action::Expect`].
    pub fn expect(self, kind: Kind) -> Script {
        self.then(Action::Expect(kind))
    }

    /// See [`Action::Send`].
    pub fn send(self, bytes: impl Into<Vec<u8>>) -> Script {
        self.then(Action::Send(bytes.into()))
    }

    /// See [`Action::SendBytewise`].
    pub fn send_bytewise(self, bytes: impl Into<Vec<u8>>) -> Script {
        self.then(Action::SendBytewise(bytes.into()))
    }

    /// See [`Action::SendChunks`].
    pub fn send_chunks(self, bytes: impl Into<Vec<u8>>, sizes: &[usize]) -> Script {
        self.then(Action::SendChunks(bytes.into(), sizes.to_vec()))
    }

    /// See [`Action::SendSlowly`].
    pub fn send_slowly(self, bytes: impl Into<Vec<u8>>, per_byte: Duration) -> Script {
        self.then(Action::SendSlowly(bytes.into(), per_byte))
    }

    /// See [`Action::Flood`].
    pub fn flood(self, total: usize, chunk: usize, pause: Duration) -> Script {
        self.then(Action::Flood {
            total,
            chunk,
            pause,
        })
    }

    /// See [`Action::Repeat`].
    pub fn repeat(self, bytes: impl Into<Vec<u8>>, times: usize) -> Script {
        self.then(Action::Repeat(bytes.into(), times))
    }

    /// See [`Action::Sleep`].
    pub fn sleep_ms(self, ms: u64) -> Script {
        self.then(Action::Sleep(Duration::from_millis(ms)))
    }

    /// See [`Action::Close`].
    pub fn close(self) -> Script {
        self.then(Action::Close)
    }

    /// See [`Action::HalfClose`].
    pub fn half_close(self) -> Script {
        self.then(Action::HalfClose)
    }

    /// See [`Action::Hold`].
    pub fn hold(self) -> Script {
        self.then(Action::Hold)
    }

    /// See [`Action::Udp`].
    pub fn udp(self, packet: impl Into<Vec<u8>>) -> Script {
        self.then(Action::Udp(packet.into()))
    }

    /// See [`Action::Play`].
    pub fn play(self) -> Script {
        self.then(Action::Play)
    }

    /// Expects `HELLO` and agrees on `version`.
    pub fn hello(self, version: &str) -> Script {
        self.expect(Kind::Hello).send(hello_ok(version))
    }

    /// [`Script::hello`], then expects `SESSION CREATE` and creates a session with `keys`.
    pub fn session(self, version: &str, keys: &PrivateKeys) -> Script {
        self.hello(version)
            .expect(Kind::SessionCreate)
            .send(session_ok(keys))
    }
}

// ---------------------------------------------------------------------------------------------
// Replies: correct lines from sam-proto's encoders
// ---------------------------------------------------------------------------------------------

fn encode<'a, M: Message<'a>>(message: &M) -> Vec<u8> {
    message
        .to_bytes(Version::V3_3)
        .expect("the bridge's own reply encodes")
}

fn text(s: Option<&str>) -> Option<std::borrow::Cow<'static, str>> {
    s.map(|s| std::borrow::Cow::Owned(s.to_owned()))
}

/// `HELLO REPLY RESULT=OK VERSION=<version>`.
pub fn hello_ok(version: &str) -> Vec<u8> {
    encode(&HelloReply {
        result: ResultCode::Ok,
        version: Some(version.parse().expect("a version")),
        message: None,
        extra: Vec::new(),
    })
}

/// `HELLO REPLY RESULT=<result> [MESSAGE=]`.
pub fn hello_refused(result: ResultCode, message: Option<&str>) -> Vec<u8> {
    encode(&HelloReply {
        result,
        version: None,
        message: text(message),
        extra: Vec::new(),
    })
}

/// `SESSION STATUS RESULT=OK DESTINATION=<keys>`.
pub fn session_ok(keys: &PrivateKeys) -> Vec<u8> {
    session_ok_blob(&keys.to_base64())
}

/// `SESSION STATUS RESULT=OK DESTINATION=<blob>` with any blob.
pub fn session_ok_blob(blob: &str) -> Vec<u8> {
    encode(&SessionStatus {
        result: ResultCode::Ok,
        destination: Some(Secret::new(blob.to_owned())),
        id: None,
        message: None,
        extra: Vec::new(),
    })
}

/// `SESSION STATUS RESULT=<result> [MESSAGE=]`.
pub fn session_refused(result: ResultCode, message: Option<&str>) -> Vec<u8> {
    encode(&SessionStatus {
        result,
        destination: None,
        id: None,
        message: text(message),
        extra: Vec::new(),
    })
}

/// `STREAM STATUS RESULT=OK`.
pub fn stream_ok() -> Vec<u8> {
    stream_refused(ResultCode::Ok, None)
}

/// `STREAM STATUS RESULT=<result> [MESSAGE=]`.
pub fn stream_refused(result: ResultCode, message: Option<&str>) -> Vec<u8> {
    encode(&StreamStatus {
        result,
        message: text(message),
        extra: Vec::new(),
    })
}

/// `NAMING REPLY RESULT=OK NAME=<name> VALUE=<dest>`.
pub fn naming_ok(name: &str, dest: &Destination) -> Vec<u8> {
    encode(&naming_ok_reply(name, dest))
}

/// The [`NamingReply`] of [`naming_ok`], to add keys to.
pub fn naming_ok_reply(name: &str, dest: &Destination) -> NamingReply<'static> {
    NamingReply {
        result: ResultCode::Ok,
        name: text(Some(name)),
        value: Some(std::borrow::Cow::Owned(dest.to_base64())),
        message: None,
        extra: Vec::new(),
    }
}

/// `NAMING REPLY RESULT=<result> NAME=<name> [MESSAGE=]`.
pub fn naming_refused(result: ResultCode, name: &str, message: Option<&str>) -> Vec<u8> {
    encode(&NamingReply {
        result,
        name: text(Some(name)),
        value: None,
        message: text(message),
        extra: Vec::new(),
    })
}

/// Encodes any reply (for replies built field by field).
pub fn reply<'a, M: Message<'a>>(message: &M) -> Vec<u8> {
    encode(message)
}

/// `DEST REPLY PUB=<public> PRIV=<keys>` (`public` need not be the keys' destination).
pub fn dest_reply(public: &Destination, keys: &PrivateKeys) -> Vec<u8> {
    encode(&DestReply {
        result: None,
        public: Some(std::borrow::Cow::Owned(public.to_base64())),
        private: Some(Secret::new(keys.to_base64())),
        message: None,
        extra: Vec::new(),
    })
}

/// `DEST REPLY RESULT=<result> [MESSAGE=]`.
pub fn dest_refused(result: ResultCode, message: Option<&str>) -> Vec<u8> {
    encode(&DestReply {
        result: Some(result),
        public: None,
        private: None,
        message: text(message),
        extra: Vec::new(),
    })
}

/// The accept line `<dest>[ FROM_PORT=n TO_PORT=n]`.
pub fn peer_line(dest: &Destination, from_port: Option<u16>, to_port: Option<u16>) -> Vec<u8> {
    encode(&PeerLine {
        destination: std::borrow::Cow::Owned(dest.to_base64()),
        from_port,
        to_port,
        extra: Vec::new(),
    })
}

/// `DATAGRAM RECEIVED DESTINATION=<dest> SIZE=<size>` (the payload is not included).
pub fn datagram_received(dest: &Destination, size: usize) -> Vec<u8> {
    encode(&DatagramReceived {
        destination: std::borrow::Cow::Owned(dest.to_base64()),
        size,
        from_port: None,
        to_port: None,
        extra: Vec::new(),
    })
}

/// `PING <text>` from the bridge.
pub fn ping(text_: &str) -> Vec<u8> {
    encode(&Ping {
        text: Some(std::borrow::Cow::Owned(text_.to_owned())),
    })
}

/// A repliable datagram as a bridge forwards it over UDP: `<dest>\n<payload>`.
pub fn repliable_udp(dest: &Destination, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let sender = PeerLine {
        destination: std::borrow::Cow::Owned(dest.to_base64()),
        from_port: None,
        to_port: None,
        extra: Vec::new(),
    };
    encode_repliable(&sender, payload, &mut out).expect("a repliable datagram");
    out
}

/// The line without its final `\n` (emissary's and Java's last lines before a close).
pub fn without_newline(mut line: Vec<u8>) -> Vec<u8> {
    assert_eq!(line.pop(), Some(b'\n'), "a line ends in a newline");
    line
}

/// The line with `\r\n` instead of `\n`.
pub fn crlf(line: Vec<u8>) -> Vec<u8> {
    let mut line = without_newline(line);
    line.extend_from_slice(b"\r\n");
    line
}

/// Concatenates byte strings (one write of several lines).
pub fn cat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

// ---------------------------------------------------------------------------------------------
// Keys
// ---------------------------------------------------------------------------------------------

fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed) | 1)
        .collect()
}

/// Keys with an Ed25519 destination (391 bytes: base64 ends in `==`).
pub fn ed25519_keys(seed: u8) -> PrivateKeys {
    let mut b = pattern(384, seed);
    b.extend_from_slice(&[5, 0, 4, 0, 7, 0, 0]);
    b.extend_from_slice(&pattern(256, seed ^ 0x55));
    b.extend_from_slice(&pattern(32, seed ^ 0xaa));
    PrivateKeys::from_bytes(&b).expect("constructed Ed25519 keys")
}

/// Keys with a DSA-SHA1 destination (387 bytes).
pub fn dsa_keys(seed: u8) -> PrivateKeys {
    let mut b = pattern(384, seed);
    b.extend_from_slice(&[0, 0, 0]);
    b.extend_from_slice(&pattern(256, seed ^ 0x55));
    b.extend_from_slice(&pattern(20, seed ^ 0xaa));
    PrivateKeys::from_bytes(&b).expect("constructed DSA keys")
}

/// A peer destination.
pub fn peer(seed: u8) -> Destination {
    ed25519_keys(seed).destination().clone()
}

// ---------------------------------------------------------------------------------------------
// The bridge
// ---------------------------------------------------------------------------------------------

/// What the bridge saw on one TCP connection.
#[derive(Debug, Clone, Default)]
pub struct ConnRecord {
    /// Every byte the client sent.
    pub raw: Vec<u8>,
    /// Every complete line the client sent (lossy UTF-8, without the line end).
    pub lines: Vec<String>,
    /// Bytes the bridge managed to write.
    pub sent: usize,
    /// Why a write failed (the client closed), if one did.
    pub write_error: Option<String>,
    /// The client closed its side (EOF or reset).
    pub client_closed: bool,
    /// The script is over and the connection closed.
    pub finished: bool,
    /// Where the client did not follow the script.
    pub violations: Vec<String>,
}

#[derive(Default)]
struct State {
    scripts: VecDeque<Script>,
    /// The script of a connection beyond `scripts` (`None`: a violation, closed at once).
    rest: Option<Script>,
    /// Connections handed to the test ([`Action::Play`]), in the order they were handed.
    played: VecDeque<Played>,
    conns: Vec<ConnRecord>,
    workers: Vec<JoinHandle<()>>,
    forward: Option<SocketAddr>,
    udp_received: Vec<Vec<u8>>,
    violations: Vec<String>,
}

struct Shared {
    stop: AtomicBool,
    state: Mutex<State>,
    changed: Condvar,
    udp: UdpSocket,
}

impl Shared {
    fn stopped(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panicking bridge thread must not hide what was recorded.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn update(&self, f: impl FnOnce(&mut State)) {
        f(&mut self.lock());
        self.changed.notify_all();
    }

    fn conn(&self, index: usize, f: impl FnOnce(&mut ConnRecord)) {
        self.update(|s| f(&mut s.conns[index]));
    }

    fn sleep(&self, total: Duration) {
        let end = Instant::now() + total;
        while !self.stopped() {
            let now = Instant::now();
            if now >= end {
                break;
            }
            thread::sleep((end - now).min(TICK));
        }
    }
}

/// A scripted SAM bridge on 127.0.0.1: a TCP port and a UDP (datagram) port.
///
/// Connection *n* follows the *n*-th script given to [`HostileBridge::start`]; a connection
/// beyond the last script is recorded as a violation and closed at once.
pub struct HostileBridge {
    addr: SocketAddr,
    udp_addr: SocketAddr,
    shared: Arc<Shared>,
    threads: Vec<JoinHandle<()>>,
}

impl HostileBridge {
    /// Binds both ports and starts serving `scripts`, one per incoming connection, in order.
    pub fn start(scripts: Vec<Script>) -> HostileBridge {
        HostileBridge::serve(scripts, None)
    }

    /// A bridge played by the test: every connection is handed over at once
    /// ([`Action::Play`]); take them with [`HostileBridge::next_played`].
    pub fn playing() -> HostileBridge {
        HostileBridge::serve(Vec::new(), Some(Script::new().play()))
    }

    fn serve(scripts: Vec<Script>, rest: Option<Script>) -> HostileBridge {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the bridge's TCP port");
        listener
            .set_nonblocking(true)
            .expect("non-blocking listener");
        let addr = listener.local_addr().expect("TCP address");
        let udp = UdpSocket::bind("127.0.0.1:0").expect("bind the bridge's UDP port");
        udp.set_read_timeout(Some(TICK)).expect("UDP read timeout");
        let udp_addr = udp.local_addr().expect("UDP address");
        let shared = Arc::new(Shared {
            stop: AtomicBool::new(false),
            state: Mutex::new(State {
                scripts: scripts.into(),
                rest,
                ..State::default()
            }),
            changed: Condvar::new(),
            udp,
        });
        let accept = {
            let shared = shared.clone();
            thread::Builder::new()
                .name("hostile-accept".into())
                .spawn(move || accept_loop(listener, shared))
                .expect("spawn the accept thread")
        };
        let udp = {
            let shared = shared.clone();
            thread::Builder::new()
                .name("hostile-udp".into())
                .spawn(move || udp_loop(shared))
                .expect("spawn the UDP thread")
        };
        HostileBridge {
            addr,
            udp_addr,
            shared,
            threads: vec![accept, udp],
        }
    }

    /// The bridge's TCP address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The bridge's UDP (datagram) address.
    pub fn udp_addr(&self) -> SocketAddr {
        self.udp_addr
    }

    /// A configuration for this bridge with short timeouts ([`CONNECT_TIMEOUT`] and friends).
    pub fn config(&self) -> SamConfig {
        let mut config = SamConfig::new(self.addr.to_string());
        config.udp_address = Some(self.udp_addr.to_string());
        config.connect_timeout = CONNECT_TIMEOUT;
        config.session_timeout = SESSION_TIMEOUT;
        config.stream_timeout = STREAM_TIMEOUT;
        config.lookup_timeout = LOOKUP_TIMEOUT;
        config
    }

    /// A configuration for this bridge with every timeout (connect, session, stream, lookup)
    /// set to `timeout`.
    pub fn config_with(&self, timeout: Duration) -> SamConfig {
        let mut config = self.config();
        config.connect_timeout = timeout;
        config.session_timeout = timeout;
        config.stream_timeout = timeout;
        config.lookup_timeout = timeout;
        config
    }

    /// The next connection handed to the test ([`Action::Play`]), in accept order; panics
    /// when none comes within [`PLAY_WAIT`].
    #[track_caller]
    pub fn next_played(&self) -> Played {
        let deadline = Instant::now() + PLAY_WAIT;
        loop {
            if let Some(conn) = self.shared.lock().played.pop_front() {
                return conn;
            }
            if Instant::now() >= deadline {
                panic!("the client did not connect within {PLAY_WAIT:?}: {self:?}");
            }
            thread::sleep(Duration::from_millis(2));
        }
    }

    /// How many TCP connections the bridge has accepted.
    pub fn connections(&self) -> usize {
        self.shared.lock().conns.len()
    }

    /// A copy of what connection `index` recorded.
    pub fn record(&self, index: usize) -> ConnRecord {
        self.shared.lock().conns[index].clone()
    }

    /// The lines the client sent on connection `index`.
    pub fn lines(&self, index: usize) -> Vec<String> {
        self.record(index).lines
    }

    /// The UDP packets the client sent to the bridge's datagram port.
    pub fn udp_received(&self) -> Vec<Vec<u8>> {
        self.shared.lock().udp_received.clone()
    }

    /// Where the client asked for its datagrams (`HOST`/`PORT` of `SESSION CREATE`).
    pub fn forward_addr(&self) -> Option<SocketAddr> {
        self.shared.lock().forward
    }

    /// Every script violation so far (commands out of order, unexpected connections).
    pub fn violations(&self) -> Vec<String> {
        let state = self.shared.lock();
        let mut all = state.violations.clone();
        for (i, c) in state.conns.iter().enumerate() {
            all.extend(c.violations.iter().map(|v| format!("connection {i}: {v}")));
        }
        all
    }

    /// Waits up to `timeout` for `condition` over the connection records and the UDP
    /// packets received; returns whether it became true.
    pub fn wait_until(
        &self,
        timeout: Duration,
        mut condition: impl FnMut(&[ConnRecord], &[Vec<u8>]) -> bool,
    ) -> bool {
        let deadline = Instant::now() + timeout;
        let mut state = self.shared.lock();
        loop {
            if condition(&state.conns, &state.udp_received) {
                return true;
            }
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            state = self
                .shared
                .changed
                .wait_timeout(state, (deadline - now).min(TICK))
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }

    /// Waits up to `timeout` for `condition` on connection `index` (which may not exist yet).
    pub fn wait_conn(
        &self,
        index: usize,
        timeout: Duration,
        mut condition: impl FnMut(&ConnRecord) -> bool,
    ) -> bool {
        self.wait_until(timeout, |conns, _| {
            conns.get(index).is_some_and(&mut condition)
        })
    }

    /// Waits up to `timeout` until connection `index` has sent a line equal to `line`.
    pub fn wait_line(&self, index: usize, line: &str, timeout: Duration) -> bool {
        self.wait_conn(index, timeout, |c| c.lines.iter().any(|l| l == line))
    }

    /// Waits up to `timeout` until connection `index` has run its script and closed.
    pub fn wait_finished(&self, index: usize, timeout: Duration) -> bool {
        self.wait_conn(index, timeout, |c| c.finished)
    }
}

impl fmt::Debug for HostileBridge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.shared.lock();
        let mut d = f.debug_struct("HostileBridge");
        d.field("addr", &self.addr)
            .field("udp_addr", &self.udp_addr);
        for (i, c) in state.conns.iter().enumerate() {
            let lines: Vec<String> = c
                .lines
                .iter()
                .map(|l| l.chars().take(100).collect())
                .collect();
            d.field(&format!("connection {i} lines"), &lines);
            d.field(&format!("connection {i} sent"), &c.sent);
            if !c.violations.is_empty() {
                d.field(&format!("connection {i} violations"), &c.violations);
            }
        }
        if !state.violations.is_empty() {
            d.field("violations", &state.violations);
        }
        d.field("udp packets received", &state.udp_received.len());
        d.finish()
    }
}

impl Drop for HostileBridge {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Relaxed);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
        // The accept thread is gone: no more workers can appear.
        let workers = std::mem::take(&mut self.shared.lock().workers);
        for w in workers {
            let _ = w.join();
        }
    }
}

fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    while !shared.stopped() {
        let stream = match listener.accept() {
            Ok((stream, _)) => stream,
            Err(_) => {
                thread::sleep(Duration::from_millis(2));
                continue;
            }
        };
        let ready = stream
            .set_nonblocking(false)
            .and_then(|()| stream.set_nodelay(true))
            .and_then(|()| stream.set_read_timeout(Some(TICK)))
            .and_then(|()| stream.set_write_timeout(Some(TICK)));
        let mut state = shared.lock();
        let index = state.conns.len();
        state.conns.push(ConnRecord::default());
        let script = match (ready, state.scripts.pop_front()) {
            (Ok(()), Some(script)) => script,
            (Err(e), _) => {
                state
                    .violations
                    .push(format!("connection {index}: setup: {e}"));
                Script::new().close()
            }
            (Ok(()), None) => match state.rest.clone() {
                Some(script) => script,
                None => {
                    state
                        .violations
                        .push(format!("connection {index}: no script left for it"));
                    Script::new().close()
                }
            },
        };
        let worker = {
            let shared = shared.clone();
            thread::Builder::new()
                .name(format!("hostile-conn-{index}"))
                .spawn(move || {
                    Worker {
                        stream,
                        index,
                        shared,
                        pending: Vec::new(),
                    }
                    .run(script)
                })
                .expect("spawn a connection thread")
        };
        state.workers.push(worker);
        drop(state);
        shared.changed.notify_all();
    }
}

fn udp_loop(shared: Arc<Shared>) {
    let mut buf = vec![0u8; 65536];
    while !shared.stopped() {
        if let Ok((n, _)) = shared.udp.recv_from(&mut buf) {
            let packet = buf[..n].to_vec();
            shared.update(|s| s.udp_received.push(packet));
        }
    }
}

/// Whether the script goes on.
#[derive(PartialEq, Eq)]
enum Flow {
    Go,
    End,
}

#[derive(PartialEq, Eq)]
enum Got {
    Data,
    Closed,
    /// The deadline passed without data.
    Idle,
}

struct Worker {
    stream: TcpStream,
    index: usize,
    shared: Arc<Shared>,
    /// Bytes read but not yet cut into lines.
    pending: Vec<u8>,
}

impl Worker {
    fn run(mut self, script: Script) {
        let mut ended = false;
        for action in script.actions {
            if matches!(action, Action::Play) {
                // The test has the connection now: no hold, no close from here.
                return self.hand_over();
            }
            if self.act(action) == Flow::End {
                ended = true;
                break;
            }
        }
        // A script that runs out of actions holds the connection open.
        if !ended {
            self.hold();
        }
        let _ = self.stream.shutdown(Shutdown::Both);
        self.shared.conn(self.index, |c| c.finished = true);
    }

    fn hand_over(mut self) {
        match self.stream.try_clone() {
            Ok(stream) => {
                let pending = std::mem::take(&mut self.pending);
                match Played::new(stream, pending) {
                    Ok(played) => self.shared.update(|s| s.played.push_back(played)),
                    Err(e) => {
                        self.violation(format!("hand over: {e}"));
                    }
                }
            }
            Err(e) => {
                self.violation(format!("hand over: {e}"));
            }
        }
    }

    fn violation(&self, what: String) -> Flow {
        self.shared.conn(self.index, |c| c.violations.push(what));
        Flow::End
    }

    fn act(&mut self, action: Action) -> Flow {
        match action {
            Action::Expect(kind) => self.expect(kind),
            Action::Send(bytes) => self.write(&bytes),
            Action::SendBytewise(bytes) => {
                for b in bytes {
                    if self.write(&[b]) == Flow::End {
                        return Flow::End;
                    }
                }
                Flow::Go
            }
            Action::SendChunks(bytes, sizes) => {
                let mut rest = &bytes[..];
                for size in sizes.iter().cycle() {
                    if rest.is_empty() {
                        break;
                    }
                    let (now, later) = rest.split_at((*size).clamp(1, rest.len()));
                    if self.write(now) == Flow::End {
                        return Flow::End;
                    }
                    rest = later;
                    thread::sleep(Duration::from_millis(1));
                }
                Flow::Go
            }
            Action::SendSlowly(bytes, per_byte) => {
                for b in bytes {
                    if self.write(&[b]) == Flow::End {
                        return Flow::End;
                    }
                    self.shared.sleep(per_byte);
                }
                Flow::Go
            }
            Action::Flood {
                total,
                chunk,
                pause,
            } => {
                let block = vec![b'A'; chunk.max(1)];
                let mut written = 0;
                while written < total {
                    let n = block.len().min(total - written);
                    if self.write(&block[..n]) == Flow::End {
                        return Flow::End;
                    }
                    written += n;
                    self.shared.sleep(pause);
                }
                Flow::Go
            }
            Action::Repeat(bytes, times) => {
                for _ in 0..times {
                    if self.write(&bytes) == Flow::End {
                        return Flow::End;
                    }
                }
                Flow::Go
            }
            Action::Sleep(d) => {
                self.shared.sleep(d);
                Flow::Go
            }
            Action::Close => {
                self.close();
                Flow::End
            }
            Action::HalfClose => {
                let _ = self.stream.shutdown(Shutdown::Write);
                Flow::Go
            }
            Action::Hold => {
                self.hold();
                Flow::End
            }
            // Handled by `run` (it ends the worker).
            Action::Play => Flow::End,
            Action::Udp(packet) => match self.shared.lock().forward {
                Some(to) => {
                    if let Err(e) = self.shared.udp.send_to(&packet, to) {
                        return self.violation(format!("UDP send to {to}: {e}"));
                    }
                    Flow::Go
                }
                None => self.violation("UDP packet but no HOST/PORT was registered".into()),
            },
        }
    }

    fn expect(&mut self, kind: Kind) -> Flow {
        loop {
            let Some(line) = self.next_line() else {
                return self.violation(format!("closed while the bridge waited for {kind:?}"));
            };
            let command = match Command::parse(&line) {
                Ok(Command::Pong(_)) => continue,
                Ok(command) => command,
                Err(e) => {
                    return self.violation(format!(
                        "waited for {kind:?}, got an unreadable line ({e}): {:?}",
                        String::from_utf8_lossy(&line)
                    ))
                }
            };
            if Kind::of(&command) != Some(kind) {
                return self.violation(format!(
                    "waited for {kind:?}, got {:?}",
                    String::from_utf8_lossy(&line)
                ));
            }
            if let Command::SessionCreate(create) = &command {
                if let (Some(host), Some(port)) = (&create.host, create.port) {
                    match host.parse::<IpAddr>() {
                        Ok(ip) => self
                            .shared
                            .update(|s| s.forward = Some(SocketAddr::new(ip, port))),
                        Err(_) => return self.violation(format!("HOST={host} is not an IP")),
                    }
                }
            }
            return Flow::Go;
        }
    }

    /// Reads once (waiting at most until `deadline`, if any); records what came.
    fn read_some(&mut self, deadline: Option<Instant>) -> Got {
        let mut buf = [0u8; 16 * 1024];
        loop {
            if self.shared.stopped() {
                return Got::Closed;
            }
            if deadline.is_some_and(|d| Instant::now() >= d) {
                return Got::Idle;
            }
            match self.stream.read(&mut buf) {
                Ok(0) => {
                    self.shared.conn(self.index, |c| c.client_closed = true);
                    return Got::Closed;
                }
                Ok(n) => {
                    self.pending.extend_from_slice(&buf[..n]);
                    self.shared
                        .conn(self.index, |c| c.raw.extend_from_slice(&buf[..n]));
                    return Got::Data;
                }
                Err(e)
                    if matches!(
                        e.kind(),
                        ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::Interrupted
                    ) => {}
                Err(_) => {
                    self.shared.conn(self.index, |c| c.client_closed = true);
                    return Got::Closed;
                }
            }
        }
    }

    /// The next complete line from the client (with its `\n`); `None` once it closed (or
    /// `deadline` passed).
    fn next_line_until(&mut self, deadline: Option<Instant>) -> Option<Vec<u8>> {
        loop {
            if let Some(i) = self.pending.iter().position(|&b| b == b'\n') {
                let line: Vec<u8> = self.pending.drain(..=i).collect();
                let text = String::from_utf8_lossy(&line)
                    .trim_end_matches(['\r', '\n'])
                    .to_owned();
                self.shared.conn(self.index, |c| c.lines.push(text));
                return Some(line);
            }
            if self.read_some(deadline) != Got::Data {
                return None;
            }
        }
    }

    fn next_line(&mut self) -> Option<Vec<u8>> {
        self.next_line_until(None)
    }

    fn write(&mut self, mut bytes: &[u8]) -> Flow {
        while !bytes.is_empty() {
            if self.shared.stopped() {
                return Flow::End;
            }
            match self.stream.write(bytes) {
                Ok(0) => return self.write_failed("wrote 0 bytes".into()),
                Ok(n) => {
                    bytes = &bytes[n..];
                    self.shared.conn(self.index, |c| c.sent += n);
                }
                Err(e)
                    if matches!(
                        e.kind(),
                        ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::Interrupted
                    ) => {}
                Err(e) => return self.write_failed(e.to_string()),
            }
        }
        Flow::Go
    }

    fn write_failed(&self, why: String) -> Flow {
        self.shared.conn(self.index, |c| c.write_error = Some(why));
        Flow::End
    }

    /// Reads and records until the client closes or the bridge stops.
    fn hold(&mut self) {
        while self.next_line().is_some() {}
    }

    /// FIN after everything written so far, then drain what the client still sends (so that
    /// unread input does not turn the close into a reset that could destroy our last bytes).
    fn close(&mut self) {
        let _ = self.stream.shutdown(Shutdown::Write);
        let deadline = Some(Instant::now() + Duration::from_millis(500));
        while self.next_line_until(deadline).is_some() {}
    }
}

// ---------------------------------------------------------------------------------------------
// Played connections
// ---------------------------------------------------------------------------------------------

/// How long [`HostileBridge::next_played`] waits for a connection, and a [`Played`]
/// connection for a line from the client.
pub const PLAY_WAIT: Duration = Duration::from_secs(5);

/// A bridge connection the test plays itself (see [`Action::Play`]): blocking reads of the
/// client's lines (each within [`PLAY_WAIT`]) and writes of the bridge's bytes. Async tests
/// drive it from a blocking task or thread. Dropping it closes the connection.
#[derive(Debug)]
pub struct Played {
    stream: TcpStream,
    /// Bytes read but not yet cut into lines.
    pending: Vec<u8>,
}

impl Played {
    fn new(stream: TcpStream, pending: Vec<u8>) -> std::io::Result<Played> {
        stream.set_read_timeout(Some(PLAY_WAIT))?;
        stream.set_write_timeout(None)?;
        Ok(Played { stream, pending })
    }

    /// The client's next line with its `\n`; what is left when the client closes instead
    /// (`""` at a clean end). Panics when nothing comes within [`PLAY_WAIT`].
    #[track_caller]
    pub fn line(&mut self) -> String {
        let mut buf = [0u8; 4096];
        loop {
            if let Some(i) = self.pending.iter().position(|&b| b == b'\n') {
                let line: Vec<u8> = self.pending.drain(..=i).collect();
                return String::from_utf8(line).expect("a UTF-8 line from the client");
            }
            match self.stream.read(&mut buf) {
                Ok(0) => {
                    let rest = std::mem::take(&mut self.pending);
                    return String::from_utf8(rest).expect("UTF-8 from the client");
                }
                Ok(n) => self.pending.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => panic!("a line from the client within {PLAY_WAIT:?}: {e}"),
            }
        }
    }

    /// The client's next line without its line end, which must start with `prefix`.
    #[track_caller]
    pub fn expect(&mut self, prefix: &str) -> String {
        let line = self.line();
        assert!(
            line.ends_with('\n'),
            "expected {prefix:?}, the client closed: {line:?}"
        );
        let line = line.trim_end_matches(['\r', '\n']).to_owned();
        assert!(
            line.starts_with(prefix),
            "expected {prefix:?}, got {line:?}"
        );
        line
    }

    /// Writes all of `bytes`.
    #[track_caller]
    pub fn send(&mut self, bytes: impl AsRef<[u8]>) {
        self.stream
            .write_all(bytes.as_ref())
            .expect("the bridge's write");
    }

    /// Expects the client's `HELLO VERSION MIN=3.1 MAX=3.3` and agrees on `version`.
    #[track_caller]
    pub fn hello(&mut self, version: &str) {
        self.expect("HELLO VERSION MIN=3.1 MAX=3.3");
        self.send(["HELLO REPLY RESULT=OK VERSION=", version, "\n"].concat());
    }

    /// [`Played::hello`], then expects one line starting with `command` and answers it with
    /// `reply`; returns that line (without its line end).
    #[track_caller]
    pub fn hello_then(&mut self, version: &str, command: &str, reply: impl AsRef<[u8]>) -> String {
        self.hello(version);
        let line = self.expect(command);
        self.send(reply);
        line
    }

    /// [`Played::hello_then`] for `SESSION CREATE`, answered with `SESSION STATUS RESULT=OK
    /// DESTINATION=<keys>`; returns the `SESSION CREATE` line.
    #[track_caller]
    pub fn create(&mut self, version: &str, keys: &PrivateKeys) -> String {
        let status = [
            "SESSION STATUS RESULT=OK DESTINATION=",
            &keys.to_base64(),
            "\n",
        ]
        .concat();
        self.hello_then(version, "SESSION CREATE ", status)
    }

    /// The socket, for reading the client's stream data.
    pub fn socket(&mut self) -> &mut TcpStream {
        &mut self.stream
    }
}

// ---------------------------------------------------------------------------------------------
// Scenario helpers
// ---------------------------------------------------------------------------------------------

/// Runs a scenario body on its own thread; a body that has not returned after
/// [`SCENARIO_LIMIT`] is a hang and fails the test (a panic inside is passed on).
pub fn guard(body: impl FnOnce() + Send + 'static) {
    let name = thread::current()
        .name()
        .unwrap_or("hostile scenario")
        .to_owned();
    let (done_tx, done_rx) = mpsc::channel();
    let handle = thread::Builder::new()
        .name(name.clone())
        .spawn(move || {
            body();
            let _ = done_tx.send(());
        })
        .expect("spawn the scenario thread");
    match done_rx.recv_timeout(SCENARIO_LIMIT) {
        Ok(()) => handle.join().expect("the scenario thread"),
        Err(mpsc::RecvTimeoutError::Disconnected) => {
            if let Err(panic) = handle.join() {
                std::panic::resume_unwind(panic);
            }
        }
        Err(mpsc::RecvTimeoutError::Timeout) => panic!(
            "{name}: the adapter hung: no outcome after {SCENARIO_LIMIT:?} (the thread is left behind)"
        ),
    }
}

/// Polls `condition` every 5 ms for up to `timeout`; returns whether it became true.
pub fn eventually(timeout: Duration, mut condition: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if condition() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        thread::sleep(Duration::from_millis(5));
    }
}

/// The error of a call that had to fail (the `Ok` value need not be `Debug`).
#[track_caller]
pub fn fails<T>(result: Result<T, ClientError>, what: &str) -> ClientError {
    match result {
        Ok(_) => panic!("{what}: expected an error, the call succeeded"),
        Err(e) => e,
    }
}

/// The value of a call that had to succeed.
#[track_caller]
pub fn works<T>(result: Result<T, ClientError>, what: &str) -> T {
    match result {
        Ok(v) => v,
        Err(e) => panic!("{what}: expected success, got {e:?} ({e})"),
    }
}

/// Checks `Error::Refused { operation, result, message }`.
#[track_caller]
pub fn assert_refused(
    err: &ClientError,
    operation: &str,
    result: &ResultCode,
    message: Option<&str>,
) {
    match err {
        ClientError::Refused {
            operation: op,
            result: r,
            message: m,
        } => {
            assert_eq!(*op, operation, "operation of {err:?}");
            assert_eq!(r, result, "result of {err:?}");
            assert_eq!(m.as_deref(), message, "message of {err:?}");
        }
        other => panic!("expected Refused({operation}, {result}), got {other:?}"),
    }
}

/// Checks `Error::Timeout { operation, after }`.
#[track_caller]
pub fn assert_timeout(err: &ClientError, operation: &str, after: Duration) {
    match err {
        ClientError::Timeout {
            operation: op,
            after: a,
        } => {
            assert_eq!(*op, operation, "operation of {err:?}");
            assert_eq!(*a, after, "timeout of {err:?}");
        }
        other => panic!("expected Timeout({operation}), got {other:?}"),
    }
}

/// The protocol error inside `Error::Protocol`.
#[track_caller]
pub fn protocol(err: &ClientError) -> &sam_proto::Error {
    match err {
        ClientError::Protocol(e) => e,
        other => panic!("expected Error::Protocol, got {other:?}"),
    }
}

/// Checks `Error::SessionClosed`.
#[track_caller]
pub fn assert_session_closed(err: &ClientError) {
    assert!(
        matches!(err, ClientError::SessionClosed),
        "expected SessionClosed, got {err:?}"
    );
}

/// Checks that connection `index` either never came (after a grace period) or carried nothing
/// but `HELLO` before the client closed it: a value the client must refuse was not written.
#[track_caller]
pub fn assert_only_hello(bridge: &HostileBridge, index: usize) {
    thread::sleep(Duration::from_millis(100));
    if bridge.connections() <= index {
        return;
    }
    assert!(
        bridge.wait_finished(index, Duration::from_secs(2)),
        "connection {index} stays open after the refusal: {bridge:?}"
    );
    let record = bridge.record(index);
    assert_eq!(
        record.lines.len(),
        1,
        "only HELLO on connection {index}: {:?}",
        record.lines
    );
    assert!(
        record.lines[0].starts_with("HELLO VERSION"),
        "{:?}",
        record.lines
    );
    assert!(
        record.raw.ends_with(b"\n"),
        "nothing after HELLO on connection {index}: {:?}",
        String::from_utf8_lossy(&record.raw)
    );
}

/// Checks `Error::InvalidInput`.
#[track_caller]
pub fn assert_invalid_input(err: &ClientError) {
    assert!(
        matches!(err, ClientError::InvalidInput(_)),
        "expected InvalidInput, got {err:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// The suite
// ---------------------------------------------------------------------------------------------

/// Every scenario, as `#[test]`s in a module `hostile_scenarios`, for the adapter crate
/// `$sam` (`sam_tokio`, `sam_blocking`, `sam_async_std`). Needs the glue described in the
/// module docs (`aw!`, `run`, the stream I/O traits) in scope where it is invoked.
#[macro_export]
macro_rules! hostile_suite {
    ($sam:ident, $glue:ident $(, $asyncness:tt)?) => {
        mod hostile_scenarios {
            #![allow(unused_imports)]
            use super::$glue::*;
            use $crate::hostile::*;
            use sam_proto::keys::KeyError;
            use sam_proto::{ResultCode, Version};
            use $sam as sam;
            use std::time::{Duration, Instant};

            fn sam_for(bridge: &HostileBridge) -> sam::Sam {
                sam::Sam::new(bridge.config())
            }

            /// Options of a DATAGRAM or RAW session whose datagrams are forwarded over UDP.
            fn over_udp(style: sam::Style) -> sam::SessionOptions {
                let mut options = sam::SessionOptions::new(style);
                options.datagram_delivery = sam::DatagramDelivery::Udp;
                options
            }

            // ---------------------------------------------------------------------------
            // HELLO and the first line
            // ---------------------------------------------------------------------------

            #[test]
            fn hello_never_answered_times_out_naming_hello() {
                guard(|| {
                    run(task!({
                        let bridge = HostileBridge::start(vec![Script::new().expect(Kind::Hello).hold()]);
                        let started = Instant::now();
                        let err = fails(aw!(sam_for(&bridge).lookup("example.i2p")), "silent bridge");
                        assert_timeout(&err, HELLO, CONNECT_TIMEOUT);
                        assert!(
                            started.elapsed() < CONNECT_TIMEOUT + Duration::from_millis(1500),
                            "{:?}",
                            started.elapsed()
                        );
                    }))
                });
            }

            #[test]
            fn hello_noversion_is_refused() {
                guard(|| {
                    run(task!({
                        let bridge = HostileBridge::start(vec![Script::new()
                            .expect(Kind::Hello)
                            .send(hello_refused(ResultCode::NoVersion, None))
                            .close()]);
                        let err = fails(aw!(sam_for(&bridge).lookup("example.i2p")), "NOVERSION");
                        assert_refused(&err, HELLO, &ResultCode::NoVersion, None);
                    }))
                });
            }

            #[test]
            fn hello_i2p_error_keeps_the_message() {
                guard(|| {
                    run(task!({
                        let bridge = HostileBridge::start(vec![Script::new()
                            .expect(Kind::Hello)
                            .send(hello_refused(
                                ResultCode::I2pError,
                                Some("USER and PASSWORD required"),
                            ))
                            .close()]);
                        let err = fails(
                            aw!(sam_for(&bridge).session(sam::SessionOptions::default())),
                            "I2P_ERROR",
                        );
                        assert_refused(
                            &err,
                            HELLO,
                            &ResultCode::I2pError,
                            Some("USER and PASSWORD required"),
                        );
                    }))
                });
            }

            #[test]
            fn hello_reply_in_one_byte_writes_with_delays_works() {
                guard(|| {
                    run(task!({
                        let dest = peer(1);
                        let bridge = HostileBridge::start(vec![Script::new()
                            .expect(Kind::Hello)
                            .send_slowly(hello_ok("3.1"), Duration::from_millis(5))
                            .expect(Kind::NamingLookup)
                            .send_slowly(
                                naming_ok("slow.i2p", &dest)[..40].to_vec(),
                                Duration::from_millis(1),
                            )
                            .send(naming_ok("slow.i2p", &dest)[40..].to_vec())]);
                        let found = works(aw!(sam_for(&bridge).lookup("slow.i2p")), "slow HELLO");
                        assert_eq!(found, dest);
                    }))
                });
            }

            #[test]
            fn hello_version_3_3_is_the_session_version() {
                guard(|| {
                    run(task!({
                        let bridge =
                            HostileBridge::start(vec![Script::new().session("3.3", &ed25519_keys(1))]);
                        let session = works(
                            aw!(sam_for(&bridge).session(sam::SessionOptions::default())),
                            "3.3",
                        );
                        assert_eq!(session.version(), Version::V3_3);
                    }))
                });
            }

            // ---------------------------------------------------------------------------
            // Framing
            // ---------------------------------------------------------------------------

            #[test]
            fn crlf_line_ends_everywhere_work() {
                guard(|| {
                    run(task!({
                        let keys = ed25519_keys(2);
                        let dest = peer(3);
                        let bridge = HostileBridge::start(vec![
                            Script::new()
                                .expect(Kind::Hello)
                                .send(crlf(hello_ok("3.1")))
                                .expect(Kind::SessionCreate)
                                .send(crlf(session_ok(&keys)))
                                .expect(Kind::NamingLookup)
                                .send(crlf(naming_ok("crlf.i2p", &dest))),
                            Script::new()
                                .expect(Kind::Hello)
                                .send(crlf(hello_ok("3.1")))
                                .expect(Kind::StreamConnect)
                                .send(cat(&[&crlf(stream_ok()), b"payload\r\n"]))
                                .close(),
                        ]);
                        let session = works(
                            aw!(sam_for(&bridge).session(sam::SessionOptions::default())),
                            "CRLF session",
                        );
                        assert_eq!(session.keys(), &keys);
                        assert_eq!(works(aw!(session.lookup("crlf.i2p")), "CRLF lookup"), dest);
                        let mut stream = works(aw!(session.connect("crlf.i2p")), "CRLF connect");
                        let mut data = Vec::new();
                        aw!(stream.read_to_end(&mut data)).expect("read the stream");
                        assert_eq!(data, b"payload\r\n");
                    }))
                });
            }

            /// 64 KiB without a newline: LineTooLong, promptly, and the client never buffers
            /// much more than the cap (the bridge would send 16 MiB if it kept reading).
            #[test]
            fn line_over_64_kib_is_refused_with_bounded_memory() {
                guard(|| {
                    run(task!({
                        const TOTAL: usize = 16 << 20;
                        let bridge = HostileBridge::start(vec![Script::new()
                            .hello("3.1")
                            .expect(Kind::NamingLookup)
                            .flood(TOTAL, 4096, Duration::from_millis(1))]);
                        let started = Instant::now();
                        let err = fails(aw!(sam_for(&bridge).lookup("flood.i2p")), "flood");
                        let elapsed = started.elapsed();
                        assert_eq!(
                            protocol(&err),
                            &sam_proto::Error::LineTooLong { limit: 64 * 1024 }
                        );
                        assert!(
                            bridge.wait_finished(0, Duration::from_secs(5)),
                            "the client closed the socket: {bridge:?}"
                        );
                        let sent = bridge.record(0).sent;
                        assert!(
                        sent < 64 * 1024 + 256 * 1024,
                        "the bridge wrote {sent} bytes before the client gave up (unbounded buffering?)"
                    );
                        assert!(
                            elapsed < Duration::from_secs(2),
                            "LineTooLong came after {elapsed:?}"
                        );
                    }))
                });
            }

            #[test]
            fn line_that_never_ends_times_out_naming_the_lookup() {
                guard(|| {
                    run(task!({
                        let bridge = HostileBridge::start(vec![Script::new()
                            .hello("3.1")
                            .expect(Kind::NamingLookup)
                            .send(&b"NAMING REPLY RESULT=OK NAME=x.i2p VAL"[..])
                            .hold()]);
                        let started = Instant::now();
                        let err = fails(aw!(sam_for(&bridge).lookup("x.i2p")), "endless line");
                        assert_timeout(&err, NAMING_LOOKUP, LOOKUP_TIMEOUT);
                        assert!(
                            started.elapsed() < LOOKUP_TIMEOUT + CONNECT_TIMEOUT,
                            "{:?}",
                            started.elapsed()
                        );
                    }))
                });
            }

            /// One byte every 100 ms, never a newline: every single read succeeds, so only a
            /// deadline for the whole answer (not a per-read timeout) ends it.
            #[test]
            fn slow_drip_line_times_out_on_the_total_deadline() {
                guard(|| {
                    run(task!({
                        let bridge = HostileBridge::start(vec![Script::new()
                            .hello("3.1")
                            .expect(Kind::NamingLookup)
                            .send_slowly(vec![b'N'; 200], Duration::from_millis(100))]);
                        let mut config = bridge.config();
                        config.lookup_timeout = Duration::from_secs(1);
                        let started = Instant::now();
                        let err = fails(
                            aw!(sam::Sam::new(config).lookup("drip.i2p")),
                            "dripping line",
                        );
                        assert_timeout(&err, NAMING_LOOKUP, Duration::from_secs(1));
                        assert!(
                            started.elapsed() < Duration::from_millis(2500),
                            "{:?}",
                            started.elapsed()
                        );
                    }))
                });
            }

            /// 1 MiB of stream data in the same write as `STREAM STATUS RESULT=OK`.
            #[test]
            fn connect_ok_followed_by_one_mib_in_the_same_write_is_intact() {
                guard(|| {
                    run(task!({
                        let data: Vec<u8> = (0..1u32 << 20).map(|i| (i % 251) as u8).collect();
                        let bridge = HostileBridge::start(vec![
                            Script::new().session("3.1", &ed25519_keys(60)),
                            Script::new()
                                .hello("3.1")
                                .expect(Kind::StreamConnect)
                                .send(cat(&[&stream_ok(), &data]))
                                .close(),
                        ]);
                        let session = works(
                            aw!(sam_for(&bridge).session(sam::SessionOptions::default())),
                            "session",
                        );
                        let mut stream = works(aw!(session.connect("peer.i2p")), "connect");
                        let mut got = Vec::new();
                        aw!(stream.read_to_end(&mut got)).expect("read the stream");
                        assert!(got == data, "{} bytes read, {} sent", got.len(), data.len());
                    }))
                });
            }

            #[test]
            fn reply_split_exactly_before_the_newline_works() {
                guard(|| {
                    run(task!({
                        let dest = peer(4);
                        let bridge = HostileBridge::start(vec![Script::new()
                            .expect(Kind::Hello)
                            .send(without_newline(hello_ok("3.1")))
                            .sleep_ms(50)
                            .send(&b"\n"[..])
                            .expect(Kind::NamingLookup)
                            .send(without_newline(naming_ok("split.i2p", &dest)))
                            .sleep_ms(50)
                            .send(&b"\n"[..])]);
                        assert_eq!(
                            works(aw!(sam_for(&bridge).lookup("split.i2p")), "split"),
                            dest
                        );
                    }))
                });
            }

            #[test]
            fn reply_in_odd_sized_chunks_works() {
                guard(|| {
                    run(task!({
                        let dest = peer(5);
                        let bridge = HostileBridge::start(vec![Script::new()
                            .expect(Kind::Hello)
                            .send_chunks(hello_ok("3.1"), &[1, 2, 3, 5, 7])
                            .expect(Kind::NamingLookup)
                            .send_chunks(naming_ok("chunks.i2p", &dest), &[13, 1, 64, 2, 255])]);
                        assert_eq!(
                            works(aw!(sam_for(&bridge).lookup("chunks.i2p")), "chunks"),
                            dest
                        );
                    }))
                });
            }

            #[test]
            fn giant_valid_naming_reply_with_60_kib_of_options_is_accepted() {
                guard(|| {
                    run(task!({
                        let dest = peer(6);
                        let mut big = naming_ok_reply("big.i2p", &dest);
                        for i in 0..900 {
                            big.extra.push(sam_proto::message::KeyValue::new(
                                format!("OPTION:_k{i:05}._tcp"),
                                "v".repeat(48),
                            ));
                        }
                        let line = reply(&big);
                        assert!(
                            line.len() > 60 * 1024 && line.len() < 64 * 1024,
                            "{}",
                            line.len()
                        );
                        let bridge = HostileBridge::start(vec![Script::new()
                            .hello("3.1")
                            .expect(Kind::NamingLookup)
                            .send(line)]);
                        assert_eq!(
                            works(aw!(sam_for(&bridge).lookup("big.i2p")), "60 KiB reply"),
                            dest
                        );
                    }))
                });
            }

            // ---------------------------------------------------------------------------
            // Results, keys and messages
            // ---------------------------------------------------------------------------

            #[test]
            fn unknown_result_value_is_kept_verbatim() {
                guard(|| {
                    run(task!({
                        let mut line = naming_ok_reply("x.i2p", &peer(1));
                        line.result = ResultCode::Other("RATE_LIMITED".into());
                        line.value = None;
                        line.message = Some("slow down".into());
                        line.extra
                            .push(sam_proto::message::KeyValue::new("RETRY_AFTER", "30"));
                        let bridge = HostileBridge::start(vec![Script::new()
                            .hello("3.1")
                            .expect(Kind::NamingLookup)
                            .send(reply(&line))]);
                        let err = fails(aw!(sam_for(&bridge).lookup("x.i2p")), "RATE_LIMITED");
                        assert_refused(
                            &err,
                            NAMING_LOOKUP,
                            &ResultCode::Other("RATE_LIMITED".into()),
                            Some("slow down"),
                        );
                    }))
                });
            }

            #[test]
            fn unknown_keys_in_an_ok_reply_are_ignored() {
                guard(|| {
                    run(task!({
                        let dest = peer(7);
                        let mut line = naming_ok_reply("x.i2p", &dest);
                        line.extra
                            .push(sam_proto::message::KeyValue::new("FUTURE_KEY", "1"));
                        line.extra.push(sam_proto::message::KeyValue {
                            key: "FLAG".into(),
                            value: None,
                        });
                        let bridge = HostileBridge::start(vec![Script::new()
                            .hello("3.3")
                            .expect(Kind::NamingLookup)
                            .send(reply(&line))]);
                        assert_eq!(
                            works(aw!(sam_for(&bridge).lookup("x.i2p")), "unknown keys"),
                            dest
                        );
                    }))
                });
            }

            #[test]
            fn quoted_message_with_escapes_is_unescaped_exactly() {
                guard(|| {
                    run(task!({
                        let message = r#"say "hi" to C:\temp\ now"#;
                        let line = stream_refused(ResultCode::CantReachPeer, Some(message));
                        let wire = String::from_utf8(line.clone()).expect("ASCII");
                        assert!(
                            wire.contains(r#"MESSAGE="say \"hi\" to C:\\temp\\ now""#),
                            "{wire}"
                        );
                        let bridge = HostileBridge::start(vec![
                            Script::new().session("3.2", &ed25519_keys(8)),
                            Script::new()
                                .hello("3.2")
                                .expect(Kind::StreamConnect)
                                .send(line)
                                .close(),
                        ]);
                        let session = works(
                            aw!(sam_for(&bridge).session(sam::SessionOptions::default())),
                            "session",
                        );
                        let err = fails(aw!(session.connect("peer.i2p")), "escaped message");
                        assert_refused(
                            &err,
                            STREAM_CONNECT,
                            &ResultCode::CantReachPeer,
                            Some(message),
                        );
                    }))
                });
            }

            #[test]
            fn naming_key_not_found_is_not_found() {
                guard(|| {
                    run(task!({
                        let bridge = HostileBridge::start(vec![Script::new()
                            .hello("3.1")
                            .expect(Kind::NamingLookup)
                            .send(naming_refused(ResultCode::KeyNotFound, "nosuch.i2p", None))]);
                        let err = fails(aw!(sam_for(&bridge).lookup("nosuch.i2p")), "KEY_NOT_FOUND");
                        assert_refused(&err, NAMING_LOOKUP, &ResultCode::KeyNotFound, None);
                        assert!(err.result_code().is_some_and(|r| r.is_not_found()));
                    }))
                });
            }

            #[test]
            fn naming_invalid_key_is_not_found() {
                guard(|| {
                    run(task!({
                        let bridge = HostileBridge::start(vec![Script::new()
                            .session("3.1", &ed25519_keys(9))
                            .expect(Kind::NamingLookup)
                            .send(naming_refused(ResultCode::InvalidKey, "nosuch.i2p", None))]);
                        let session = works(
                            aw!(sam_for(&bridge).session(sam::SessionOptions::default())),
                            "session",
                        );
                        let err = fails(aw!(session.lookup("nosuch.i2p")), "INVALID_KEY");
                        assert_refused(&err, NAMING_LOOKUP, &ResultCode::InvalidKey, None);
                        assert!(err.result_code().is_some_and(|r| r.is_not_found()));
                    }))
                });
            }

            #[test]
            fn naming_leaseset_not_found_is_not_found() {
                guard(|| {
                    run(task!({
                        let bridge = HostileBridge::start(vec![Script::new()
                            .hello("3.3")
                            .expect(Kind::NamingLookup)
                            .send(naming_refused(
                                ResultCode::LeasesetNotFound,
                                "gone.i2p",
                                None,
                            ))]);
                        let err = fails(
                            aw!(sam_for(&bridge).lookup("gone.i2p")),
                            "LEASESET_NOT_FOUND",
                        );
                        assert_refused(&err, NAMING_LOOKUP, &ResultCode::LeasesetNotFound, None);
                        assert!(err.result_code().is_some_and(|r| r.is_not_found()));
                    }))
                });
            }

            /// Java: `DEST REPLY RESULT=I2P_ERROR MESSAGE="DEST GENERATE required"` without a
            /// newline, then close.
            #[test]
            fn dest_reply_error_ended_by_eof_is_refused_with_its_message() {
                guard(|| {
                    run(task!({
                        let bridge = HostileBridge::start(vec![Script::new()
                            .hello("3.1")
                            .expect(Kind::DestGenerate)
                            .send(without_newline(dest_refused(
                                ResultCode::I2pError,
                                Some("DEST GENERATE required"),
                            )))
                            .close()]);
                        let err = fails(
                            aw!(sam_for(&bridge).generate_destination(sam::SigType::Ed25519)),
                            "DEST GENERATE required",
                        );
                        assert_refused(
                            &err,
                            DEST_GENERATE,
                            &ResultCode::I2pError,
                            Some("DEST GENERATE required"),
                        );
                    }))
                });
            }

            #[test]
            fn ping_during_a_lookup_exchange_is_answered() {
                guard(|| {
                    run(task!({
                        let dest = peer(12);
                        let bridge = HostileBridge::start(vec![Script::new()
                            .hello("3.2")
                            .expect(Kind::NamingLookup)
                            .send(cat(&[
                                &ping("42 while you wait"),
                                &naming_ok("x.i2p", &dest),
                            ]))]);
                        assert_eq!(
                            works(aw!(sam_for(&bridge).lookup("x.i2p")), "lookup after PING"),
                            dest
                        );
                        assert!(
                            bridge.wait_line(0, "PONG 42 while you wait", Duration::from_secs(2)),
                            "no PONG: {bridge:?}"
                        );
                    }))
                });
            }

            // ---------------------------------------------------------------------------
            // PING on its own socket, QUIT on close (SAM 3.2)
            // ---------------------------------------------------------------------------

            #[test]
            fn ping_on_a_3_1_bridge_is_needs_version_and_sends_nothing() {
                guard(|| {
                    run(task!({
                        let bridge = HostileBridge::start(vec![Script::new().hello("3.1").hold()]);
                        let err = fails(aw!(sam_for(&bridge).ping()), "PING at 3.1");
                        match err {
                            sam_proto::client::ClientError::NeedsVersion {
                                operation: "PING",
                                needs: Version::V3_2,
                                negotiated: Version::V3_1,
                            } => {}
                            other => panic!("expected NeedsVersion, got {other:?}"),
                        }
                        assert_only_hello(&bridge, 0);
                    }))
                });
            }

            #[test]
            fn ping_closed_or_ignored_is_eof_or_timeout() {
                guard(|| {
                    run(task!({
                        // i2pd before 2.58 closes on PING; emissary never answers.
                        let bridge = HostileBridge::start(vec![
                            Script::new().hello("3.2").expect(Kind::Ping).close(),
                            Script::new().hello("3.2").expect(Kind::Ping).hold(),
                        ]);
                        let sam = sam_for(&bridge);
                        let err = fails(aw!(sam.ping()), "PING then close");
                        assert!(
                            matches!(protocol(&err), sam_proto::Error::Eof { .. }),
                            "{err:?}"
                        );
                        let err = fails(aw!(sam.ping()), "PING ignored");
                        assert_timeout(&err, "PING", CONNECT_TIMEOUT);
                    }))
                });
            }

            #[test]
            fn close_sends_quit_on_3_2_and_not_on_3_1() {
                guard(|| {
                    run(task!({
                        let keys = ed25519_keys(40);
                        let bridge = HostileBridge::start(vec![
                            Script::new()
                                .session("3.2", &keys)
                                .expect(Kind::Quit)
                                .close(),
                            Script::new().session("3.1", &keys).hold(),
                        ]);
                        let sam = sam_for(&bridge);
                        let session =
                            works(aw!(sam.session(sam::SessionOptions::default())), "3.2 session");
                        let started = Instant::now();
                        aw!(session.close());
                        // The bridge closed after QUIT: no waiting for QUIT_WAIT.
                        assert!(started.elapsed() < Duration::from_secs(1), "{:?}", started.elapsed());
                        assert!(session.is_closed());
                        assert!(bridge.wait_line(0, "QUIT", Duration::from_secs(1)), "{bridge:?}");
                        let old = works(aw!(sam.session(sam::SessionOptions::default())), "3.1 session");
                        aw!(old.close());
                        assert!(old.is_closed());
                        assert!(bridge.wait_finished(1, Duration::from_secs(2)), "{bridge:?}");
                        let lines = bridge.lines(1);
                        assert_eq!(lines.len(), 2, "HELLO and SESSION CREATE only: {lines:?}");
                        assert!(bridge.violations().is_empty(), "{:?}", bridge.violations());
                    }))
                });
            }

            /// `stream_timeout` counts from the end of `HELLO`: a bridge whose `HELLO` and
            /// `STREAM STATUS` each take 60 % of it connects, though the two together take more
            /// (the meaning of every timeout: `sam_proto::session`).
            #[test]
            fn stream_timeout_counts_from_the_end_of_hello() {
                guard(|| {
                    run(task!({
                        let part = STREAM_TIMEOUT * 6 / 10;
                        let bridge = HostileBridge::start(vec![
                            Script::new().session("3.1", &ed25519_keys(79)),
                            Script::new()
                                .expect(Kind::Hello)
                                .sleep_ms(part.as_millis() as u64)
                                .send(hello_ok("3.1"))
                                .expect(Kind::StreamConnect)
                                .sleep_ms(part.as_millis() as u64)
                                .send(stream_ok())
                                .hold(),
                        ]);
                        let mut config = bridge.config();
                        config.connect_timeout = STREAM_TIMEOUT;
                        let session = works(
                            aw!(sam::Sam::new(config).session(sam::SessionOptions::default())),
                            "session",
                        );
                        let started = Instant::now();
                        drop(works(aw!(session.connect("slow.i2p")), "connect within both budgets"));
                        assert!(started.elapsed() > STREAM_TIMEOUT, "{:?}", started.elapsed());
                    }))
                });
            }

            /// `lookup_timeout` counts from the end of `HELLO` too (a lookup without a
            /// session), and `connect_timeout` covers the TCP connect and `HELLO`.
            #[test]
            fn lookup_timeout_counts_from_the_end_of_hello() {
                guard(|| {
                    run(task!({
                        let part = LOOKUP_TIMEOUT * 6 / 10;
                        let dest = peer(80);
                        let bridge = HostileBridge::start(vec![Script::new()
                            .expect(Kind::Hello)
                            .sleep_ms(part.as_millis() as u64)
                            .send(hello_ok("3.1"))
                            .expect(Kind::NamingLookup)
                            .sleep_ms(part.as_millis() as u64)
                            .send(naming_ok("slow.i2p", &dest))]);
                        let mut config = bridge.config();
                        config.connect_timeout = LOOKUP_TIMEOUT;
                        let started = Instant::now();
                        let found = works(aw!(sam::Sam::new(config).lookup("slow.i2p")), "lookup");
                        assert_eq!(found, dest);
                        assert!(started.elapsed() > LOOKUP_TIMEOUT, "{:?}", started.elapsed());
                    }))
                });
            }

            /// The last handle dropped: the control socket stays open for `LINGER` (what the
            /// streams wrote still reaches their peers), then `QUIT` on 3.2+ and the close.
            #[test]
            fn the_last_handle_dropped_lingers_then_quits() {
                guard(|| {
                    run(task!({
                        let bridge = HostileBridge::start(vec![Script::new()
                            .session("3.2", &ed25519_keys(81))
                            .expect(Kind::Quit)
                            .close()]);
                        let session = works(
                            aw!(sam_for(&bridge).session(sam::SessionOptions::default())),
                            "session",
                        );
                        let dropped = Instant::now();
                        drop(session);
                        let linger = sam_proto::session::LINGER;
                        std::thread::sleep(linger / 2);
                        assert!(!bridge.wait_line(0, "QUIT", Duration::ZERO), "{bridge:?}");
                        assert!(bridge.wait_line(0, "QUIT", linger * 2), "{bridge:?}");
                        assert!(dropped.elapsed() >= linger, "{:?}", dropped.elapsed());
                        assert!(bridge.wait_finished(0, Duration::from_secs(2)), "{bridge:?}");
                    }))
                });
            }

            #[test]
            fn close_on_a_bridge_that_ignores_quit_takes_quit_wait() {
                guard(|| {
                    run(task!({
                        let keys = ed25519_keys(41);
                        let bridge = HostileBridge::start(vec![Script::new()
                            .session("3.3", &keys)
                            .expect(Kind::Quit)
                            .hold()]);
                        let session = works(
                            aw!(sam_for(&bridge).session(sam::SessionOptions::default())),
                            "session",
                        );
                        let started = Instant::now();
                        aw!(session.close());
                        let took = started.elapsed();
                        let wait = sam_proto::client::QUIT_WAIT;
                        assert!(took >= wait && took < wait + Duration::from_secs(1), "{took:?}");
                        assert!(session.is_closed());
                        assert!(bridge.wait_finished(0, Duration::from_secs(2)), "{bridge:?}");
                    }))
                });
            }

            // ---------------------------------------------------------------------------
            // Sessions
            // ---------------------------------------------------------------------------

            /// emissary: `DUPLICATE_ID` (not `DUPLICATED_ID`), no newline, then close.
            #[test]
            fn session_duplicate_id_without_newline_then_close_is_duplicate_id() {
                guard(|| {
                    run(task!({
                        let bridge = HostileBridge::start(vec![Script::new()
                            .hello("3.3")
                            .expect(Kind::SessionCreate)
                            .send(without_newline(session_refused(
                                ResultCode::DuplicateId,
                                None,
                            )))
                            .close()]);
                        let options = sam::SessionOptions::default().with_id("taken");
                        let err = fails(aw!(sam_for(&bridge).session(options)), "DUPLICATE_ID");
                        assert_refused(&err, SESSION_CREATE, &ResultCode::DuplicateId, None);
                        assert!(err.result_code().is_some_and(|r| r.is_duplicate_id()));
                    }))
                });
            }

            #[test]
            fn session_duplicated_dest_is_refused() {
                guard(|| {
                    run(task!({
                        let keys = ed25519_keys(13);
                        let bridge = HostileBridge::start(vec![Script::new()
                            .hello("3.1")
                            .expect(Kind::SessionCreate)
                            .send(session_refused(ResultCode::DuplicatedDest, None))
                            .close()]);
                        let options = sam::SessionOptions::default().with_keys(keys);
                        let err = fails(aw!(sam_for(&bridge).session(options)), "DUPLICATED_DEST");
                        assert_refused(&err, SESSION_CREATE, &ResultCode::DuplicatedDest, None);
                        assert!(err.result_code().is_some_and(|r| r.is_duplicate_dest()));
                        assert!(err.is_duplicate_dest() && !err.is_duplicate_id());
                    }))
                });
            }

            #[test]
            fn session_invalid_id_is_refused() {
                guard(|| {
                    run(task!({
                        let bridge = HostileBridge::start(vec![Script::new()
                            .hello("3.1")
                            .expect(Kind::SessionCreate)
                            .send(session_refused(ResultCode::InvalidId, None))
                            .close()]);
                        let err = fails(
                            aw!(sam_for(&bridge).session(sam::SessionOptions::default())),
                            "INVALID_ID",
                        );
                        assert_refused(&err, SESSION_CREATE, &ResultCode::InvalidId, None);
                    }))
                });
            }

            /// A 3.3 bridge that predates PRIMARY: `I2P_ERROR "Unknown STYLE"` and close; the
            /// client tries MASTER on a new socket, which works.
            #[test]
            fn primary_refused_with_unknown_style_falls_back_to_master() {
                guard(|| {
                    run(task!({
                        let keys = ed25519_keys(14);
                        let bridge = HostileBridge::start(vec![
                            Script::new()
                                .hello("3.3")
                                .expect(Kind::SessionCreate)
                                .send(session_refused(ResultCode::I2pError, Some("Unknown STYLE")))
                                .close(),
                            Script::new().session("3.3", &keys),
                        ]);
                        let session = works(
                            aw!(sam_for(&bridge).session(sam::SessionOptions::new(sam::Style::Primary))),
                            "MASTER after PRIMARY",
                        );
                        assert_eq!(session.style(), sam::Style::Primary);
                        assert_eq!(session.keys(), &keys);
                        assert!(bridge.lines(0)[1].contains(" STYLE=PRIMARY "), "{bridge:?}");
                        assert!(bridge.lines(1)[1].contains(" STYLE=MASTER "), "{bridge:?}");
                    }))
                });
            }

            #[test]
            fn session_create_never_answered_times_out() {
                guard(|| {
                    run(task!({
                        let bridge = HostileBridge::start(vec![Script::new()
                            .hello("3.1")
                            .expect(Kind::SessionCreate)
                            .hold()]);
                        let err = fails(
                            aw!(sam_for(&bridge).session(sam::SessionOptions::default())),
                            "silent CREATE",
                        );
                        assert_timeout(&err, SESSION_CREATE, SESSION_TIMEOUT);
                    }))
                });
            }

            #[test]
            fn option_key_with_equals_is_refused_before_writing() {
                guard(|| {
                    run(task!({
                        let bridge = HostileBridge::start(vec![Script::new().hello("3.3")]);
                        let options = sam::SessionOptions::default().option("inbound.length=0 x", "1");
                        let err = fails(aw!(sam_for(&bridge).session(options)), "key with =");
                        assert_invalid_input(&err);
                        assert_only_hello(&bridge, 0);
                    }))
                });
            }

            // ---------------------------------------------------------------------------
            // The session's control socket
            // ---------------------------------------------------------------------------

            #[test]
            fn bridge_ping_mid_session_is_answered_and_the_session_keeps_working() {
                guard(|| {
                    run(task!({
                        let dest = peer(16);
                        let bridge = HostileBridge::start(vec![Script::new()
                            .session("3.2", &ed25519_keys(17))
                            .send(ping("1700000000000"))
                            .expect(Kind::NamingLookup)
                            .send(naming_ok("later.i2p", &dest))]);
                        let session = works(
                            aw!(sam_for(&bridge).session(sam::SessionOptions::default())),
                            "session",
                        );
                        assert_eq!(
                            works(aw!(session.lookup("later.i2p")), "lookup after PING"),
                            dest
                        );
                        assert!(
                            bridge.wait_line(0, "PONG 1700000000000", Duration::from_secs(2)),
                            "{bridge:?}"
                        );
                        assert!(!session.is_closed());
                    }))
                });
            }

            /// `NAMING LOOKUP ... OPTIONS=true` as the spec answers it (no bridge here does):
            /// quoted `OPTION:` values come back typed and unquoted; a reply without them is
            /// "not answered"; `LEASESET_NOT_FOUND` is a typed refusal that leaves the session
            /// working.
            #[test]
            fn lookup_with_options_lists_the_option_pairs_or_says_not_answered() {
                guard(|| {
                    run(task!({
                        let dest = peer(18);
                        let smtp = "1 86400 0 0 25 bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb.b32.i2p";
                        let mut listed = naming_ok_reply("mail.i2p", &dest);
                        listed.push_leaseset_option("_smtp._tcp", smtp);
                        listed.push_leaseset_option("v", "1");
                        let bridge = HostileBridge::start(vec![Script::new()
                            .session("3.3", &ed25519_keys(19))
                            .expect(Kind::NamingLookup)
                            .send(reply(&listed))
                            .expect(Kind::NamingLookup)
                            .send(naming_ok("ME", &dest))
                            .expect(Kind::NamingLookup)
                            .send(naming_refused(ResultCode::LeasesetNotFound, "gone.i2p", None))
                            .expect(Kind::NamingLookup)
                            .send(naming_ok("mail.i2p", &dest))]);
                        let session = works(
                            aw!(sam_for(&bridge).session(sam::SessionOptions::default())),
                            "session",
                        );
                        let answer = works(aw!(session.lookup_with_options("mail.i2p")), "listed");
                        assert_eq!(answer.destination, dest);
                        assert_eq!(
                            answer.options.listed(),
                            Some(&[("_smtp._tcp".to_owned(), smtp.to_owned()), ("v".to_owned(), "1".to_owned())][..])
                        );
                        assert_eq!(answer.options.get("_smtp._tcp"), Some(smtp));
                        assert!(
                            bridge.wait_line(0, "NAMING LOOKUP NAME=mail.i2p OPTIONS=true", Duration::from_secs(2)),
                            "{bridge:?}"
                        );
                        let answer = works(aw!(session.lookup_with_options("ME")), "none listed");
                        assert_eq!(answer.options, sam::LeaseSetOptions::NotAnswered);
                        let err = fails(aw!(session.lookup_with_options("gone.i2p")), "LEASESET_NOT_FOUND");
                        assert_eq!(err.result_code(), Some(&ResultCode::LeasesetNotFound));
                        // The plain lookup still gives the destination alone, on the same socket.
                        assert_eq!(works(aw!(session.lookup("mail.i2p")), "plain lookup"), dest);
                        assert!(!session.is_closed());
                    }))
                });
            }

            /// Java pings an idle control socket and closes it when no PONG comes: the
            /// answer must not wait for the application's next call.
            #[test]
            fn bridge_ping_while_idle_is_answered_without_any_call() {
                guard(|| {
                    run(task!({
                        let bridge = HostileBridge::start(vec![Script::new()
                            .session("3.2", &ed25519_keys(18))
                            .sleep_ms(100)
                            .send(ping("idle  check"))]);
                        let session = works(
                            aw!(sam_for(&bridge).session(sam::SessionOptions::default())),
                            "session",
                        );
                        assert!(
                            bridge.wait_line(0, "PONG idle  check", Duration::from_secs(3)),
                            "{bridge:?}"
                        );
                        drop(session);
                    }))
                });
            }

            #[test]
            fn unsolicited_pong_timeout_then_close_closes_the_session() {
                guard(|| {
                    run(task!({
                        let bridge = HostileBridge::start(vec![Script::new()
                            .session("3.2", &ed25519_keys(19))
                            .sleep_ms(100)
                            .send(session_refused(ResultCode::I2pError, Some("PONG timeout")))
                            .close()]);
                        let session = works(
                            aw!(sam_for(&bridge).session(sam::SessionOptions::default())),
                            "session",
                        );
                        assert!(
                            eventually(Duration::from_secs(3), || session.is_closed()),
                            "the session never noticed"
                        );
                        assert_session_closed(&fails(
                            aw!(session.lookup("x.i2p")),
                            "lookup on a dead session",
                        ));
                    }))
                });
            }

            #[test]
            fn control_socket_closed_by_the_bridge_closes_the_session() {
                guard(|| {
                    run(task!({
                        let bridge = HostileBridge::start(vec![Script::new()
                            .session("3.1", &ed25519_keys(20))
                            .sleep_ms(100)
                            .close()]);
                        let session = works(
                            aw!(sam_for(&bridge).session(sam::SessionOptions::default())),
                            "session",
                        );
                        assert!(
                            eventually(Duration::from_secs(3), || session.is_closed()),
                            "the session never noticed"
                        );
                        assert_session_closed(&fails(
                            aw!(session.connect("x.i2p")),
                            "connect on a dead session",
                        ));
                        assert_eq!(bridge.connections(), 1, "{bridge:?}");
                    }))
                });
            }

            /// A lookup whose caller gave up: its late answer must not become the answer to
            /// the next lookup.
            #[test]
            fn control_lookup_timeout_then_late_answer_is_not_taken_for_the_next() {
                guard(|| {
                    run(task!({
                        let (slow, fast) = (peer(61), peer(62));
                        let bridge = HostileBridge::start(vec![Script::new()
                            .session("3.1", &ed25519_keys(63))
                            .expect(Kind::NamingLookup)
                            .sleep_ms(800)
                            .send(naming_ok("slow.i2p", &slow))
                            .expect(Kind::NamingLookup)
                            .send(naming_ok("fast.i2p", &fast))]);
                        let mut config = bridge.config();
                        config.lookup_timeout = Duration::from_millis(500);
                        let session = works(
                            aw!(sam::Sam::new(config).session(sam::SessionOptions::default())),
                            "session",
                        );
                        let err = fails(aw!(session.lookup("slow.i2p")), "slow lookup");
                        assert_timeout(&err, NAMING_LOOKUP, Duration::from_millis(500));
                        assert_eq!(
                            works(aw!(session.lookup("fast.i2p")), "the next lookup"),
                            fast
                        );
                    }))
                });
            }

            /// 64 KiB without a newline on the control socket: the session ends (the socket
            /// cannot be trusted any more) and the client stops reading at the cap.
            #[test]
            fn line_over_64_kib_on_the_control_socket_closes_the_session() {
                guard(|| {
                    run(task!({
                        let bridge = HostileBridge::start(vec![Script::new()
                            .session("3.1", &ed25519_keys(64))
                            .flood(16 << 20, 4096, Duration::from_millis(1))]);
                        let session = works(
                            aw!(sam_for(&bridge).session(sam::SessionOptions::default())),
                            "session",
                        );
                        assert!(
                            eventually(Duration::from_secs(3), || session.is_closed()),
                            "the session never noticed"
                        );
                        assert_session_closed(&fails(
                            aw!(session.lookup("x.i2p")),
                            "lookup on a dead session",
                        ));
                        assert!(
                            bridge.wait_finished(0, Duration::from_secs(5)),
                            "the client closed the socket: {bridge:?}"
                        );
                        let sent = bridge.record(0).sent;
                        assert!(
                            sent < 64 * 1024 + 256 * 1024,
                            "the bridge wrote {sent} bytes (unbounded buffering?)"
                        );
                    }))
                });
            }

            #[test]
            fn wrong_reply_verb_on_the_control_socket_is_unexpected_line() {
                guard(|| {
                    run(task!({
                        let bridge = HostileBridge::start(vec![Script::new()
                            .session("3.1", &ed25519_keys(21))
                            .expect(Kind::NamingLookup)
                            .send(stream_ok())]);
                        let session = works(
                            aw!(sam_for(&bridge).session(sam::SessionOptions::default())),
                            "session",
                        );
                        let err = fails(aw!(session.lookup("x.i2p")), "STREAM STATUS to a lookup");
                        match protocol(&err) {
                            sam_proto::Error::UnexpectedLine { got, .. } => {
                                assert!(got.starts_with("STREAM STATUS"), "{got}")
                            }
                            other => panic!("expected UnexpectedLine, got {other:?}"),
                        }
                    }))
                });
            }

            #[test]
            fn lookup_name_with_a_space_on_a_3_1_session_is_refused_before_writing() {
                guard(|| {
                    run(task!({
                        let bridge = HostileBridge::start(vec![
                            Script::new().session("3.1", &ed25519_keys(22)),
                            Script::new().hello("3.1"),
                        ]);
                        let session = works(
                            aw!(sam_for(&bridge).session(sam::SessionOptions::default())),
                            "session",
                        );
                        let before = bridge.record(0).raw.len();
                        assert_invalid_input(&fails(
                            aw!(session.lookup("my host.i2p")),
                            "space before 3.2",
                        ));
                        assert_only_hello(&bridge, 1);
                        let record = bridge.record(0);
                        assert_eq!(
                            record.raw.len(),
                            before,
                            "bytes after the refusal: {:?}",
                            record.lines
                        );
                    }))
                });
            }

            #[test]
            fn lookup_name_with_a_space_on_a_3_1_bridge_is_refused_after_hello_only() {
                guard(|| {
                    run(task!({
                        let bridge = HostileBridge::start(vec![Script::new().hello("3.1")]);
                        assert_invalid_input(&fails(
                            aw!(sam_for(&bridge).lookup("my host.i2p")),
                            "space before 3.2",
                        ));
                        assert_only_hello(&bridge, 0);
                    }))
                });
            }

            #[test]
            fn datagram_received_with_a_huge_size_closes_the_session() {
                guard(|| {
                    run(task!({
                        let bridge = HostileBridge::start(vec![Script::new()
                            .session("3.1", &ed25519_keys(23))
                            .sleep_ms(200)
                            .send(datagram_received(&peer(24), 1 << 30))
                            .send(vec![b'x'; 1024])]);
                        let session = works(
                            aw!(sam_for(&bridge).session(sam::SessionOptions::new(sam::Style::Datagram))),
                            "session",
                        );
                        let socket = works(aw!(session.datagram_socket()), "datagram socket");
                        assert_session_closed(&fails(aw!(socket.recv_from()), "SIZE=1 GiB"));
                        assert!(session.is_closed());
                    }))
                });
            }

            // ---------------------------------------------------------------------------
            // STREAM CONNECT
            // ---------------------------------------------------------------------------

            #[test]
            fn connect_cant_reach_peer_keeps_the_message() {
                guard(|| {
                    run(task!({
                        let bridge = HostileBridge::start(vec![
                            Script::new().session("3.1", &ed25519_keys(25)),
                            Script::new()
                                .hello("3.1")
                                .expect(Kind::StreamConnect)
                                .send(stream_refused(
                                    ResultCode::CantReachPeer,
                                    Some("LeaseSet not found"),
                                ))
                                .close(),
                        ]);
                        let session = works(
                            aw!(sam_for(&bridge).session(sam::SessionOptions::default())),
                            "session",
                        );
                        let err = fails(aw!(session.connect("gone.i2p")), "CANT_REACH_PEER");
                        assert_refused(
                            &err,
                            STREAM_CONNECT,
                            &ResultCode::CantReachPeer,
                            Some("LeaseSet not found"),
                        );
                    }))
                });
            }

            /// i2pd answers some STREAM commands with a SESSION STATUS.
            #[test]
            fn connect_answered_with_i2pd_socket_already_in_use_is_refused() {
                guard(|| {
                    run(task!({
                        let bridge = HostileBridge::start(vec![
                            Script::new().session("3.1", &ed25519_keys(26)),
                            Script::new()
                                .hello("3.1")
                                .expect(Kind::StreamConnect)
                                .send(session_refused(
                                    ResultCode::I2pError,
                                    Some("Socket already in use"),
                                ))
                                .close(),
                        ]);
                        let session = works(
                            aw!(sam_for(&bridge).session(sam::SessionOptions::default())),
                            "session",
                        );
                        let err = fails(aw!(session.connect("peer.i2p")), "Socket already in use");
                        assert_refused(
                            &err,
                            STREAM_CONNECT,
                            &ResultCode::I2pError,
                            Some("Socket already in use"),
                        );
                    }))
                });
            }

            /// Two status lines at once: after `STREAM STATUS RESULT=OK` of a CONNECT every
            /// byte is the peer's, so the second "reply" is stream data, byte for byte.
            #[test]
            fn connect_two_replies_at_once_second_is_stream_data() {
                guard(|| {
                    run(task!({
                        let bridge = HostileBridge::start(vec![
                            Script::new().session("3.1", &ed25519_keys(29)),
                            Script::new()
                                .hello("3.1")
                                .expect(Kind::StreamConnect)
                                .send(cat(&[&stream_ok(), &stream_ok(), b"\x00\xffdata"]))
                                .close(),
                        ]);
                        let session = works(
                            aw!(sam_for(&bridge).session(sam::SessionOptions::default())),
                            "session",
                        );
                        let mut stream = works(aw!(session.connect("peer.i2p")), "connect");
                        let mut data = Vec::new();
                        aw!(stream.read_to_end(&mut data)).expect("read the stream");
                        assert_eq!(data, cat(&[&stream_ok(), b"\x00\xffdata"]));
                    }))
                });
            }

            #[test]
            fn connect_never_answered_times_out() {
                guard(|| {
                    run(task!({
                        let bridge = HostileBridge::start(vec![
                            Script::new().session("3.1", &ed25519_keys(30)),
                            Script::new()
                                .hello("3.1")
                                .expect(Kind::StreamConnect)
                                .hold(),
                        ]);
                        let session = works(
                            aw!(sam_for(&bridge).session(sam::SessionOptions::default())),
                            "session",
                        );
                        let err = fails(aw!(session.connect("slow.i2p")), "silent CONNECT");
                        assert_timeout(&err, STREAM_CONNECT, STREAM_TIMEOUT);
                        assert!(!session.is_closed());
                    }))
                });
            }

            #[test]
            fn connect_destination_with_newline_is_refused_before_writing() {
                guard(|| {
                    run(task!({
                        let bridge = HostileBridge::start(vec![
                            Script::new().session("3.3", &ed25519_keys(31)),
                            Script::new().hello("3.3"),
                        ]);
                        let session = works(
                            aw!(sam_for(&bridge).session(sam::SessionOptions::default())),
                            "session",
                        );
                        let before = bridge.record(0).raw.len();
                        let err = fails(
                            aw!(session.connect(
                                "peer.i2p\nSESSION CREATE STYLE=STREAM ID=evil DESTINATION=TRANSIENT"
                            )),
                            "newline in DESTINATION",
                        );
                        assert_invalid_input(&err);
                        assert_only_hello(&bridge, 1);
                        assert_eq!(
                            bridge.record(0).raw.len(),
                            before,
                            "nothing on the control socket"
                        );
                    }))
                });
            }

            /// `STREAM STATUS RESULT=OK` ended by EOF: the connect worked, the stream is empty.
            #[test]
            fn connect_ok_ended_by_eof_gives_an_empty_stream() {
                guard(|| {
                    run(task!({
                        let bridge = HostileBridge::start(vec![
                            Script::new().session("3.1", &ed25519_keys(32)),
                            Script::new()
                                .hello("3.1")
                                .expect(Kind::StreamConnect)
                                .send(without_newline(stream_ok()))
                                .close(),
                        ]);
                        let session = works(
                            aw!(sam_for(&bridge).session(sam::SessionOptions::default())),
                            "session",
                        );
                        let mut stream = works(aw!(session.connect("peer.i2p")), "OK ended by EOF");
                        let mut data = Vec::new();
                        aw!(stream.read_to_end(&mut data)).expect("read the stream");
                        assert_eq!(data, b"");
                    }))
                });
            }

            #[test]
            fn silent_connect_returns_without_a_status_line_and_pipes_data() {
                guard(|| {
                    run(task!({
                        let bridge = HostileBridge::start(vec![
                            Script::new().session("3.1", &ed25519_keys(33)),
                            Script::new()
                                .hello("3.1")
                                .expect(Kind::StreamConnect)
                                .sleep_ms(300)
                                .send(&b"STREAM STATUS is not sent with SILENT=true\n"[..])
                                .close(),
                        ]);
                        let session = works(
                            aw!(sam_for(&bridge).session(sam::SessionOptions::default())),
                            "session",
                        );
                        let options = sam::ConnectOptions::new().silent(true);
                        let mut stream = works(
                            aw!(session.connect_with("peer.i2p", options)),
                            "silent connect",
                        );
                        let mut data = Vec::new();
                        aw!(stream.read_to_end(&mut data)).expect("read the stream");
                        assert_eq!(data, b"STREAM STATUS is not sent with SILENT=true\n");
                        assert!(bridge.lines(1)[1].contains(" SILENT=true"), "{bridge:?}");
                    }))
                });
            }

            #[test]
            fn half_closed_stream_still_carries_our_writes() {
                guard(|| {
                    run(task!({
                        let bridge = HostileBridge::start(vec![
                            Script::new().session("3.1", &ed25519_keys(34)),
                            Script::new()
                                .hello("3.1")
                                .expect(Kind::StreamConnect)
                                .send(cat(&[&stream_ok(), b"bye"]))
                                .half_close(),
                        ]);
                        let session = works(
                            aw!(sam_for(&bridge).session(sam::SessionOptions::default())),
                            "session",
                        );
                        let mut stream = works(aw!(session.connect("peer.i2p")), "connect");
                        let mut data = Vec::new();
                        aw!(stream.read_to_end(&mut data)).expect("read to the bridge's FIN");
                        assert_eq!(data, b"bye");
                        aw!(stream.write_all(b"still here\n")).expect("write after the peer's FIN");
                        assert!(
                            bridge.wait_line(1, "still here", Duration::from_secs(2)),
                            "{bridge:?}"
                        );
                    }))
                });
            }

            // ---------------------------------------------------------------------------
            // STREAM ACCEPT
            // ---------------------------------------------------------------------------

            /// Java at 3.2+: `<dest> FROM_PORT=n TO_PORT=n`, then the peer's data.
            #[test]
            fn java_accept_line_with_ports_reports_them_and_data_follows() {
                guard(|| {
                    run(task!({
                        let who = peer(35);
                        let bridge = HostileBridge::start(vec![
                            Script::new().session("3.2", &ed25519_keys(36)),
                            Script::new()
                                .hello("3.2")
                                .expect(Kind::StreamAccept)
                                .send(stream_ok())
                                .sleep_ms(50)
                                .send(cat(&[
                                    &peer_line(&who, Some(1234), Some(80)),
                                    b"GET / HTTP/1.1\r\n",
                                ]))
                                .sleep_ms(50)
                                .send(&b"Host: x\r\n\r\n"[..])
                                .close(),
                        ]);
                        let session = works(
                            aw!(sam_for(&bridge).session(sam::SessionOptions::default())),
                            "session",
                        );
                        let mut incoming = works(aw!(session.accept()), "accept");
                        assert_eq!(incoming.peer.as_ref(), Some(&who));
                        assert_eq!(
                            (incoming.from_port, incoming.to_port),
                            (Some(1234), Some(80))
                        );
                        // The stream keeps who opened it, ports included.
                        let peer = incoming.stream.peer().expect("Stream::peer of an accept");
                        assert_eq!(
                            (&peer.destination, peer.from_port, peer.to_port),
                            (&who, Some(1234), Some(80))
                        );
                        let mut data = Vec::new();
                        aw!(incoming.stream.read_to_end(&mut data)).expect("read the stream");
                        assert_eq!(data, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n");
                    }))
                });
            }

            #[test]
            fn accept_error_reply_where_the_destination_line_should_be_is_refused() {
                guard(|| {
                    run(task!({
                        let bridge = HostileBridge::start(vec![
                            Script::new().session("3.1", &ed25519_keys(37)),
                            Script::new()
                                .hello("3.1")
                                .expect(Kind::StreamAccept)
                                .send(stream_ok())
                                .sleep_ms(50)
                                .send(stream_refused(ResultCode::I2pError, Some("Router restart")))
                                .close(),
                        ]);
                        let session = works(
                            aw!(sam_for(&bridge).session(sam::SessionOptions::default())),
                            "session",
                        );
                        let err = fails(aw!(session.accept()), "Router restart");
                        assert_refused(
                            &err,
                            STREAM_ACCEPT,
                            &ResultCode::I2pError,
                            Some("Router restart"),
                        );
                    }))
                });
            }

            #[test]
            fn accept_refused_with_invalid_id_is_refused() {
                guard(|| {
                    run(task!({
                        let message = "STREAM SESSION ID foo does not exist";
                        let bridge = HostileBridge::start(vec![
                            Script::new().session("3.2", &ed25519_keys(38)),
                            Script::new()
                                .hello("3.2")
                                .expect(Kind::StreamAccept)
                                .send(stream_refused(ResultCode::InvalidId, Some(message)))
                                .close(),
                        ]);
                        let session = works(
                            aw!(sam_for(&bridge).session(sam::SessionOptions::default())),
                            "session",
                        );
                        let err = fails(aw!(session.accept()), "INVALID_ID");
                        assert_refused(&err, STREAM_ACCEPT, &ResultCode::InvalidId, Some(message));
                    }))
                });
            }

            #[test]
            fn accept_status_destination_and_data_in_one_write() {
                guard(|| {
                    run(task!({
                        let who = peer(39);
                        let bridge = HostileBridge::start(vec![
                            Script::new().session("3.1", &ed25519_keys(40)),
                            Script::new()
                                .hello("3.1")
                                .expect(Kind::StreamAccept)
                                .send(cat(&[
                                    &stream_ok(),
                                    &peer_line(&who, None, None),
                                    b"STREAM STATUS RESULT=OK\nearly",
                                ]))
                                .close(),
                        ]);
                        let session = works(
                            aw!(sam_for(&bridge).session(sam::SessionOptions::default())),
                            "session",
                        );
                        let mut incoming = works(aw!(session.accept()), "accept");
                        assert_eq!(incoming.peer.as_ref(), Some(&who));
                        assert_eq!((incoming.from_port, incoming.to_port), (None, None));
                        let mut data = Vec::new();
                        aw!(incoming.stream.read_to_end(&mut data)).expect("read the stream");
                        assert_eq!(data, b"STREAM STATUS RESULT=OK\nearly");
                    }))
                });
            }

            #[test]
            fn every_byte_in_its_own_write_hello_session_accept_work() {
                guard(|| {
                    run(task!({
                        let keys = ed25519_keys(41);
                        let who = peer(42);
                        let payload: Vec<u8> = (0..=255u8).collect();
                        let bridge = HostileBridge::start(vec![
                            Script::new()
                                .expect(Kind::Hello)
                                .send_bytewise(hello_ok("3.2"))
                                .expect(Kind::SessionCreate)
                                .send_bytewise(session_ok(&keys)),
                            Script::new()
                                .expect(Kind::Hello)
                                .send_bytewise(hello_ok("3.2"))
                                .expect(Kind::StreamAccept)
                                .send_bytewise(cat(&[
                                    &stream_ok(),
                                    &peer_line(&who, Some(7), Some(8)),
                                    &payload,
                                ]))
                                .close(),
                        ]);
                        let session = works(
                            aw!(sam_for(&bridge).session(sam::SessionOptions::default())),
                            "session",
                        );
                        assert_eq!(session.keys(), &keys);
                        let mut incoming = works(aw!(session.accept()), "accept");
                        assert_eq!(incoming.peer.as_ref(), Some(&who));
                        assert_eq!((incoming.from_port, incoming.to_port), (Some(7), Some(8)));
                        let mut data = Vec::new();
                        aw!(incoming.stream.read_to_end(&mut data)).expect("read the stream");
                        assert_eq!(data, payload);
                    }))
                });
            }

            /// The control socket dies while an accept waits; the bridge then closes the
            /// accept socket too (Java: "Session is closed"): the accept says SessionClosed.
            #[test]
            fn pending_accept_when_the_session_dies_is_session_closed() {
                guard(|| {
                    run(task!({
                        let bridge = HostileBridge::start(vec![
                            Script::new()
                                .session("3.1", &ed25519_keys(70))
                                .sleep_ms(300)
                                .close(),
                            Script::new()
                                .hello("3.1")
                                .expect(Kind::StreamAccept)
                                .send(stream_ok())
                                .sleep_ms(700)
                                .send(stream_refused(
                                    ResultCode::I2pError,
                                    Some("Session is closed"),
                                ))
                                .close(),
                        ]);
                        let session = works(
                            aw!(sam_for(&bridge).session(sam::SessionOptions::default())),
                            "session",
                        );
                        assert_session_closed(&fails(aw!(session.accept()), "accept on a dying session"));
                    }))
                });
            }

            // ---------------------------------------------------------------------------
            // Datagrams
            // ---------------------------------------------------------------------------

            #[test]
            fn garbage_udp_packets_are_skipped_and_counted() {
                guard(|| {
                    run(task!({
                        let who = peer(49);
                        let bridge = HostileBridge::start(vec![Script::new()
                            .session("3.1", &ed25519_keys(50))
                            .udp(&b"garbage without a line end"[..])
                            .udp(&b"\n\xff\xfe"[..])
                            .udp(&b"not~base64!\npayload"[..])
                            .udp(repliable_udp(&who, b"the real one"))]);
                        let session = works(
                            aw!(sam_for(&bridge).session(over_udp(sam::Style::Datagram))),
                            "session",
                        );
                        let socket = works(aw!(session.datagram_socket()), "datagram socket");
                        let got = works(aw!(socket.recv_from()), "the valid datagram");
                        assert_eq!(got.payload, b"the real one");
                        assert_eq!(got.source.as_ref(), Some(&who));
                        assert_eq!(socket.skipped(), 3);
                    }))
                });
            }

            /// `DATAGRAM RECEIVED SIZE=100` with 10 bytes, then EOF: the session is closed and
            /// nothing is delivered.
            #[test]
            fn datagram_received_with_fewer_bytes_then_eof_delivers_nothing() {
                guard(|| {
                    run(task!({
                        let bridge = HostileBridge::start(vec![Script::new()
                            .session("3.1", &ed25519_keys(51))
                            .sleep_ms(200)
                            .send(cat(&[&datagram_received(&peer(52), 100), b"only ten.."]))
                            .close()]);
                        let session = works(
                            aw!(sam_for(&bridge).session(sam::SessionOptions::new(sam::Style::Datagram))),
                            "session",
                        );
                        let socket = works(aw!(session.datagram_socket()), "datagram socket");
                        assert_session_closed(&fails(aw!(socket.recv_from()), "short datagram"));
                        assert!(session.is_closed());
                    }))
                });
            }

            /// A datagram on the control socket (sessions without UDP forwarding get them
            /// there), every byte in its own write, with a newline in the payload.
            #[test]
            fn datagram_received_on_the_control_socket_bytewise_is_delivered() {
                guard(|| {
                    run(task!({
                        let who = peer(65);
                        let payload = b"two\nlines\0and a NUL";
                        let bridge = HostileBridge::start(vec![Script::new()
                            .session("3.1", &ed25519_keys(66))
                            .sleep_ms(100)
                            .send_bytewise(cat(&[&datagram_received(&who, payload.len()), payload]))]);
                        let session = works(
                            aw!(sam_for(&bridge).session(sam::SessionOptions::new(sam::Style::Datagram))),
                            "session",
                        );
                        let socket = works(aw!(session.datagram_socket()), "datagram socket");
                        let got = works(aw!(socket.recv_from()), "the datagram");
                        assert_eq!(got.payload, payload);
                        assert_eq!(got.source.as_ref(), Some(&who));
                    }))
                });
            }

            /// A datagram on the control socket whose sender is not a destination is skipped
            /// (and counted); the next one is delivered.
            #[test]
            fn garbage_datagram_on_the_control_socket_is_skipped() {
                guard(|| {
                    run(task!({
                        let who = peer(71);
                        let bad = reply(&sam_proto::reply::DatagramReceived {
                            destination: "AAAAnot-a-destination".into(),
                            size: 3,
                            from_port: None,
                            to_port: None,
                            extra: Vec::new(),
                        });
                        let bridge = HostileBridge::start(vec![Script::new()
                            .session("3.1", &ed25519_keys(72))
                            .send(cat(&[&bad, b"bad", &datagram_received(&who, 4), b"good"]))]);
                        let session = works(
                            aw!(sam_for(&bridge).session(sam::SessionOptions::new(sam::Style::Datagram))),
                            "session",
                        );
                        let socket = works(aw!(session.datagram_socket()), "datagram socket");
                        let got = works(aw!(socket.recv_from()), "the good datagram");
                        assert_eq!(got.payload, b"good");
                        assert_eq!(got.source.as_ref(), Some(&who));
                        assert_eq!(socket.skipped(), 1);
                    }))
                });
            }

            /// RAW without HEADER: any packet is a payload, delivered verbatim and anonymous.
            #[test]
            fn raw_session_delivers_any_udp_packet_verbatim() {
                guard(|| {
                    run(task!({
                        let packet = b"\x00\xffnot a header\n\r\nPING 1\n";
                        let bridge = HostileBridge::start(vec![Script::new()
                            .session("3.1", &ed25519_keys(73))
                            .udp(&packet[..])]);
                        let session = works(
                            aw!(sam_for(&bridge).session(over_udp(sam::Style::Raw))),
                            "session",
                        );
                        let socket = works(aw!(session.datagram_socket()), "datagram socket");
                        let got = works(aw!(socket.recv_from()), "the raw datagram");
                        assert_eq!(got.payload, packet);
                        assert_eq!(got.source, None);
                        assert_eq!(socket.skipped(), 0);
                    }))
                });
            }

            /// Payload bytes are never read as lines: a `PING` inside a datagram is data.
            #[test]
            fn datagram_payload_that_looks_like_a_ping_is_payload() {
                guard(|| {
                    run(task!({
                        let who = peer(67);
                        let payload = b"PING 99\n";
                        let dest = peer(68);
                        let bridge = HostileBridge::start(vec![Script::new()
                            .session("3.2", &ed25519_keys(69))
                            .send(cat(&[&datagram_received(&who, payload.len()), payload]))
                            .expect(Kind::NamingLookup)
                            .send(naming_ok("after.i2p", &dest))]);
                        let session = works(
                            aw!(sam_for(&bridge).session(sam::SessionOptions::new(sam::Style::Datagram))),
                            "session",
                        );
                        let socket = works(aw!(session.datagram_socket()), "datagram socket");
                        let got = works(aw!(socket.recv_from()), "the datagram");
                        assert_eq!(got.payload, payload);
                        assert_eq!(works(aw!(session.lookup("after.i2p")), "lookup"), dest);
                        assert!(
                            !bridge.lines(0).iter().any(|l| l.starts_with("PONG")),
                            "answered a PING that was payload: {bridge:?}"
                        );
                    }))
                });
            }

            /// By default a DATAGRAM session asks for its datagrams on the control socket
            /// (no HOST/PORT): no other process can inject one there.
            #[test]
            fn datagram_session_asks_for_control_socket_delivery_by_default() {
                guard(|| {
                    run(task!({
                        let bridge = HostileBridge::start(vec![Script::new()
                            .session("3.3", &ed25519_keys(74))]);
                        let session = works(
                            aw!(sam_for(&bridge).session(sam::SessionOptions::new(sam::Style::Datagram))),
                            "session",
                        );
                        let create = bridge.lines(0).into_iter().find(|l| l.starts_with("SESSION CREATE"));
                        let create = create.expect("a SESSION CREATE");
                        assert!(!create.contains("PORT=") && !create.contains("HOST="), "{create}");
                        let socket = works(aw!(session.datagram_socket()), "datagram socket");
                        assert_eq!(socket.delivery(), sam::DatagramDelivery::ControlSocket);
                    }))
                });
            }

            /// emissary 0.4 closes a DATAGRAM `SESSION CREATE` without PORT unanswered: the
            /// same session is created again on a new socket, with HOST and PORT.
            #[test]
            fn datagram_session_falls_back_to_udp_when_the_bridge_closes_unanswered() {
                guard(|| {
                    run(task!({
                        let keys = ed25519_keys(75);
                        let bridge = HostileBridge::start(vec![
                            Script::new().hello("3.2").expect(Kind::SessionCreate).close(),
                            Script::new().session("3.2", &keys),
                        ]);
                        let session = works(
                            aw!(sam_for(&bridge).session(sam::SessionOptions::new(sam::Style::Datagram))),
                            "session",
                        );
                        assert_eq!(bridge.connections(), 2, "{bridge:?}");
                        let second = bridge.lines(1).into_iter().find(|l| l.starts_with("SESSION CREATE"));
                        let second = second.expect("a second SESSION CREATE");
                        assert!(second.contains(" PORT=") && second.contains(" HOST="), "{second}");
                        assert!(bridge.forward_addr().is_some(), "{bridge:?}");
                        let socket = works(aw!(session.datagram_socket()), "datagram socket");
                        assert_eq!(socket.delivery(), sam::DatagramDelivery::Udp);
                        assert_eq!(session.destination(), keys.destination());
                    }))
                });
            }

            /// Asked for the control socket only, a bridge that closes unanswered is an error,
            /// and no second socket is opened.
            #[test]
            fn control_socket_delivery_does_not_fall_back() {
                guard(|| {
                    run(task!({
                        let bridge = HostileBridge::start(vec![
                            Script::new().hello("3.2").expect(Kind::SessionCreate).close(),
                            Script::new().session("3.2", &ed25519_keys(76)),
                        ]);
                        let mut options = sam::SessionOptions::new(sam::Style::Datagram);
                        options.datagram_delivery = sam::DatagramDelivery::ControlSocket;
                        let e = fails(aw!(sam_for(&bridge).session(options)), "session");
                        assert!(matches!(e, sam::Error::Protocol(sam_proto::Error::Eof { .. })), "{e:?}");
                        assert_eq!(bridge.connections(), 1, "{bridge:?}");
                    }))
                });
            }

            /// A UDP packet from any socket but the bridge's UDP port is dropped and counted,
            /// whatever sender it names; the bridge's own packet is delivered.
            #[test]
            fn forged_udp_packet_from_another_socket_is_dropped() {
                guard(|| {
                    run(task!({
                        let who = peer(77);
                        let bridge = HostileBridge::start(vec![Script::new()
                            .session("3.1", &ed25519_keys(78))
                            .sleep_ms(300)
                            .udp(repliable_udp(&who, b"from the bridge"))]);
                        let session = works(
                            aw!(sam_for(&bridge).session(over_udp(sam::Style::Datagram))),
                            "session",
                        );
                        let socket = works(aw!(session.datagram_socket()), "datagram socket");
                        let forger = std::net::UdpSocket::bind("127.0.0.1:0").expect("forger");
                        let local = works(socket.local_addr(), "local addr");
                        forger.send_to(&repliable_udp(&who, b"FORGED-PAYLOAD"), local).expect("forge");
                        let got = works(aw!(socket.recv_from()), "the bridge's datagram");
                        assert_eq!(got.payload, b"from the bridge");
                        assert_eq!(socket.foreign(), 1);
                        assert_eq!(socket.skipped(), 0);
                    }))
                });
            }

            /// DATAGRAM3 on the control socket names the sender by a 44-character hash (i2pd
            /// 2.59's form): `source` stays `None` and `source_hash` is that hash; the same
            /// line with a full destination is hashed. DATAGRAM2 gives the destination.
            #[test]
            fn datagram3_sender_is_a_source_hash_and_datagram2_a_destination() {
                guard(|| {
                    run(task!({
                        let who = peer(81);
                        let hash = sam::SourceHash::of(&who);
                        let hashed = reply(&sam_proto::reply::DatagramReceived {
                            destination: hash.to_base64().into(),
                            size: 3,
                            from_port: Some(7),
                            to_port: Some(9),
                            extra: Vec::new(),
                        });
                        let bridge = HostileBridge::start(vec![
                            Script::new().session("3.3", &ed25519_keys(82)).send(cat(&[
                                &hashed,
                                b"one",
                                &datagram_received(&who, 3),
                                b"two",
                            ])),
                            Script::new()
                                .session("3.3", &ed25519_keys(83))
                                .send(cat(&[&datagram_received(&who, 5), b"three"])),
                        ]);
                        let sam = sam_for(&bridge);
                        let session = works(
                            aw!(sam.session(sam::SessionOptions::new(sam::Style::Datagram3))),
                            "DATAGRAM3 session",
                        );
                        let socket = works(aw!(session.datagram_socket()), "datagram socket");
                        for (payload, ports) in [(&b"one"[..], (Some(7), Some(9))), (b"two", (None, None))] {
                            let got = works(aw!(socket.recv_from()), "a DATAGRAM3 datagram");
                            assert_eq!(got.payload, payload);
                            assert_eq!(got.source, None, "DATAGRAM3 names no destination");
                            assert_eq!(got.source_hash, Some(hash));
                            assert_eq!((got.from_port, got.to_port), ports);
                        }
                        assert_eq!(socket.skipped(), 0);
                        let session2 = works(
                            aw!(sam.session(sam::SessionOptions::new(sam::Style::Datagram2))),
                            "DATAGRAM2 session",
                        );
                        let socket2 = works(aw!(session2.datagram_socket()), "datagram socket");
                        let got = works(aw!(socket2.recv_from()), "a DATAGRAM2 datagram");
                        assert_eq!((got.source.as_ref(), got.source_hash), (Some(&who), None));
                        let sent: Vec<String> =
                            (0..bridge.connections()).flat_map(|i| bridge.lines(i)).collect();
                        assert!(sent.iter().any(|l| l.contains("STYLE=DATAGRAM3")), "{sent:?}");
                        assert!(sent.iter().any(|l| l.contains("STYLE=DATAGRAM2")), "{sent:?}");
                    }))
                });
            }

            /// `send_with` writes the per-datagram options in the UDP header; a forbidden RAW
            /// protocol, or a protocol on a non-RAW session, is refused and nothing is sent.
            #[test]
            fn send_with_writes_its_options_and_refuses_a_forbidden_protocol_unsent() {
                guard(|| {
                    run(task!({
                        let to = peer(84);
                        let bridge = HostileBridge::start(vec![
                            Script::new().session("3.3", &ed25519_keys(85)),
                            Script::new().session("3.3", &ed25519_keys(86)),
                        ]);
                        let sam = sam_for(&bridge);
                        let raw = works(aw!(sam.session(over_udp(sam::Style::Raw))), "RAW session");
                        let socket = works(aw!(raw.datagram_socket()), "datagram socket");
                        for p in [6u8, 17, 19, 20] {
                            let options = sam::SendOptions::new().protocol(p);
                            match aw!(socket.send_with(&to, b"x", &options)) {
                                Err(sam::Error::Protocol(sam_proto::Error::ForbiddenProtocol(q))) => assert_eq!(q, p),
                                other => panic!("PROTOCOL={p}: {other:?}"),
                            }
                        }
                        let options = sam::SendOptions::new()
                            .ports(1, 2)
                            .protocol(18)
                            .send_tags(40)
                            .tag_threshold(30)
                            .expires(60)
                            .send_leaseset(false);
                        works(aw!(socket.send_with(&to, b"payload", &options)), "send_with");
                        assert!(
                            bridge.wait_until(Duration::from_secs(2), |_, udp| !udp.is_empty()),
                            "{bridge:?}"
                        );
                        let packets = bridge.udp_received();
                        assert_eq!(packets.len(), 1, "only the allowed send reached the bridge");
                        let (header, payload) =
                            sam_proto::datagram::UdpHeader::parse_packet(&packets[0]).expect("a header");
                        assert_eq!(payload, b"payload");
                        assert_eq!((header.from_port, header.to_port, header.protocol), (Some(1), Some(2), Some(18)));
                        let line = String::from_utf8_lossy(&packets[0][..packets[0].len() - payload.len()]).into_owned();
                        assert!(
                            line.ends_with(" SEND_TAGS=40 TAG_THRESHOLD=30 EXPIRES=60 SEND_LEASESET=false\n"),
                            "{line:?}"
                        );
                        let dg3 = works(aw!(sam.session(over_udp(sam::Style::Datagram3))), "DATAGRAM3 session");
                        let socket = works(aw!(dg3.datagram_socket()), "datagram socket");
                        let refused = aw!(socket.send_with(&to, b"x", &sam::SendOptions::new().protocol(18)));
                        assert!(
                            matches!(refused, Err(sam::Error::Protocol(sam_proto::Error::NotForStyle { .. }))),
                            "{refused:?}"
                        );
                        works(aw!(socket.send_to(&to, b"dg3", None)), "DATAGRAM3 send_to");
                        assert!(
                            bridge.wait_until(Duration::from_secs(2), |_, udp| udp.len() == 2),
                            "{bridge:?}"
                        );
                    }))
                });
            }

            #[test]
            fn datagram_send_to_reaches_the_bridge_udp_port() {
                guard(|| {
                    run(task!({
                        let to = peer(53);
                        let bridge =
                            HostileBridge::start(vec![Script::new().session("3.1", &ed25519_keys(54))]);
                        let session = works(
                            aw!(sam_for(&bridge).session(over_udp(sam::Style::Datagram))),
                            "session",
                        );
                        assert!(bridge.forward_addr().is_some(), "HOST and PORT: {bridge:?}");
                        let socket = works(aw!(session.datagram_socket()), "datagram socket");
                        works(aw!(socket.send_to(&to, b"hello bridge", None)), "send");
                        assert!(
                            bridge.wait_until(Duration::from_secs(2), |_, udp| !udp.is_empty()),
                            "{bridge:?}"
                        );
                        let packet = bridge.udp_received().remove(0);
                        let (header, payload) =
                            sam_proto::datagram::UdpHeader::parse_packet(&packet).expect("a header");
                        assert_eq!(header.id.as_str(), session.id());
                        assert_eq!(header.destination, to.to_base64());
                        assert_eq!(payload, b"hello bridge");
                    }))
                });
            }
        }
    };
}
