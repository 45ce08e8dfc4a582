//! The client core: every decision a SAM client makes, as state machines without I/O.
//!
//! In the manner of quinn-proto's `Connection`, the machines here own the whole client logic
//! and a driver (one per runtime: `sam-tokio`, `sam-async-std`, `sam-blocking`) only moves
//! bytes and timers:
//!
//! * [`Call`]: one command on a socket of its own (DEST GENERATE, NAMING LOOKUP, PING, STREAM
//!   CONNECT/ACCEPT/FORWARD): the TCP connect, `HELLO`, the command, its answer, and which
//!   timeout applies when.
//! * [`SessionSetup`]: `SESSION CREATE` (options checked before any socket opens, the
//!   command for the agreed version, the local UDP socket datagram sessions need, and the
//!   `PRIMARY` → `MASTER` fallback on a new socket).
//! * [`SessionCore`]: the live session's control socket: a queue with one command in flight,
//!   completions keyed by [`CommandId`], cancel (a late answer is read and dropped), the
//!   bridge's `PING`s, datagrams delivered on the socket, bridge error reports, `QUIT` on
//!   close and every timeout.
//! * [`SessionInfo`]: what a created session is (ID, style, keys, agreed version) and the
//!   commands it turns requests into.
//!
//! Time is a value the caller passes in: a [`Duration`] since any fixed point the driver
//! chooses (its own start, say). Nothing here reads a clock or touches a socket, so every
//! decision is tested with a fake clock and canned bytes.
//!
//! # Timeouts: one meaning each
//!
//! The fields of [`SamConfig`] mean exactly this, in every adapter:
//!
//! | field | covers | counted from |
//! |---|---|---|
//! | `connect_timeout` | the TCP connect and the `HELLO` exchange of every new socket | the start of the call |
//! | `connect_timeout` | `DEST GENERATE` and `PING` on a socket of their own | the end of `HELLO` |
//! | `lookup_timeout` | `NAMING LOOKUP`, on its own socket or on the session's | the end of `HELLO`, or the call (a queued command waits inside its timeout) |
//! | `session_timeout` | `SESSION CREATE`, `SESSION ADD`, `SESSION REMOVE` | the end of `HELLO`, or the call |
//! | `stream_timeout` | `STREAM CONNECT`, `STREAM FORWARD` | the end of `HELLO` |
//! | none | `STREAM ACCEPT` (waits for a peer as long as it takes) | |
//! | [`QUIT_WAIT`] | closing: the in-flight command and `QUIT` on a 3.2+ bridge | the close |
//! | [`LINGER`] | a session whose every handle is gone stays open, then closes as above | the last handle's drop |
//!
//! So a stream connect may take up to `connect_timeout + stream_timeout` in all. A timeout
//! too long to add to the current time never fires ([`Duration::MAX`] means "no timeout").
//!
//! # Driving a [`Call`]
//!
//! ```
//! use core::time::Duration;
//! use sam_proto::client::SamConfig;
//! use sam_proto::command::NamingLookup;
//! use sam_proto::session::{Call, CallStep, Operation};
//!
//! let config = SamConfig::default();
//! let now = Duration::ZERO; // the driver's clock
//! let mut call = Call::new(&config, Operation::Lookup, NamingLookup::new("ME"), now).unwrap();
//! let mut written = Vec::new();
//! let mut replies: &[u8] = b"HELLO REPLY RESULT=OK VERSION=3.1\nNAMING REPLY RESULT=KEY_NOT_FOUND NAME=ME\n";
//! loop {
//!     match call.poll() {
//!         CallStep::Connect => call.connected(true), // open a TCP connection (drop any earlier one)
//!         CallStep::Send(bytes) => written.extend_from_slice(bytes),
//!         CallStep::Recv => {
//!             // read with a deadline of call.poll_timeout(); on expiry: call.handle_timeout(now)
//!             let used = call.feed(replies, now);
//!             replies = &replies[used..];
//!         }
//!         CallStep::Done => break,
//!     }
//! }
//! let err = call.finish().unwrap_err();
//! assert!(err.to_string().contains("KEY_NOT_FOUND"));
//! assert_eq!(written, b"HELLO VERSION MIN=3.1 MAX=3.3\nNAMING LOOKUP NAME=ME\n");
//! ```

mod call;
mod info;
mod live;
mod setup;

#[cfg(test)]
mod tests;

use alloc::string::String;
use core::fmt;
use core::time::Duration;

pub use self::call::{Call, CallStep};
pub use self::info::SessionInfo;
pub use self::live::{CommandId, SessionCore, SessionEvent, LINGER};
pub use self::setup::{CreateSession, SessionSetup};

use crate::client::{SamConfig, QUIT_WAIT};
use crate::command::{
    DestGenerate, NamingLookup, Ping, Quit, SessionAdd, SessionCreate, SessionRemove, StreamAccept,
    StreamConnect, StreamForward,
};
use crate::error::Error;
use crate::exchange::Subject;
use crate::message::Message;

/// The driver's clock: time since a fixed point of the driver's choosing.
pub type Time = Duration;

/// What a client asks of the bridge; each has its name and its timeout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Operation {
    /// `DEST GENERATE`.
    DestGenerate,
    /// `NAMING LOOKUP`.
    Lookup,
    /// `PING` (SAM 3.2).
    Ping,
    /// `SESSION CREATE`.
    SessionCreate,
    /// `SESSION ADD`.
    SessionAdd,
    /// `SESSION REMOVE`.
    SessionRemove,
    /// `STREAM CONNECT`.
    StreamConnect,
    /// `STREAM ACCEPT`.
    StreamAccept,
    /// `STREAM FORWARD` (and reading a forwarded connection's peer line).
    StreamForward,
    /// `QUIT` (SAM 3.2).
    Quit,
    /// `DATAGRAM SEND` / `RAW SEND` on the control socket.
    DatagramSend,
}

impl Operation {
    /// The command's name, as errors show it (`"SESSION CREATE"`).
    pub fn name(self) -> &'static str {
        match self {
            Operation::DestGenerate => DestGenerate::KIND,
            Operation::Lookup => NamingLookup::KIND,
            Operation::Ping => Ping::KIND,
            Operation::SessionCreate => SessionCreate::KIND,
            Operation::SessionAdd => SessionAdd::KIND,
            Operation::SessionRemove => SessionRemove::KIND,
            Operation::StreamConnect => StreamConnect::KIND,
            Operation::StreamAccept => StreamAccept::KIND,
            Operation::StreamForward => StreamForward::KIND,
            Operation::Quit => Quit::KIND,
            Operation::DatagramSend => "DATAGRAM SEND",
        }
    }

    /// How long the command may take once sent (see the [module docs](self)); `None` waits
    /// for ever.
    pub fn timeout(self, config: &SamConfig) -> Option<Duration> {
        match self {
            Operation::DestGenerate | Operation::Ping | Operation::DatagramSend => {
                Some(config.connect_timeout)
            }
            Operation::Lookup => Some(config.lookup_timeout),
            Operation::SessionCreate | Operation::SessionAdd | Operation::SessionRemove => {
                Some(config.session_timeout)
            }
            Operation::StreamConnect | Operation::StreamForward => Some(config.stream_timeout),
            Operation::StreamAccept => None,
            Operation::Quit => Some(QUIT_WAIT),
        }
    }
}

/// `now + after`, or `None` (never) when that does not fit.
pub fn deadline(now: Time, after: Option<Duration>) -> Option<Time> {
    after.and_then(|after| now.checked_add(after))
}

/// Why an operation of the core failed. Adapters turn it into their `Error`
/// (`ClientError: From<Failure>`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Failure {
    /// The exchange failed: the bridge refused, sent something that is not SAM, closed the
    /// socket mid-answer, or a value cannot be written.
    Protocol {
        /// What was asked, e.g. `"SESSION CREATE"` or `"HELLO"`.
        operation: &'static str,
        /// What went wrong.
        error: Error,
    },
    /// No answer in time.
    Timeout {
        /// What was asked.
        operation: &'static str,
        /// The timeout that expired.
        after: Duration,
    },
    /// The session's control socket is closed (by its owner or by the bridge).
    SessionClosed,
    /// A request the core refuses before anything is sent.
    InvalidInput(String),
}

impl Failure {
    /// A protocol error during `operation`.
    pub fn protocol(operation: &'static str, error: Error) -> Failure {
        Failure::Protocol { operation, error }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Protocol { operation, error } => write!(f, "{operation}: {error}"),
            Failure::Timeout { operation, after } => {
                write!(f, "{operation} timed out after {after:?}")
            }
            Failure::SessionClosed => f.write_str("the SAM session is closed"),
            Failure::InvalidInput(why) => write!(f, "invalid input: {why}"),
        }
    }
}

/// A [`Failure`] as traces show it: the part of an unexpected line that came back (it may be
/// a `SESSION STATUS` with a private key) is left out.
#[cfg(feature = "tracing")]
pub(crate) struct Traced<'a>(pub(crate) &'a Failure);

#[cfg(feature = "tracing")]
impl fmt::Display for Traced<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Failure::Protocol {
                operation,
                error: Error::UnexpectedLine { expected, .. },
            } => write!(f, "{operation}: expected a {expected} line, got another"),
            failure => fmt::Display::fmt(failure, f),
        }
    }
}

/// What a driver's I/O loop runs: a [`Call`] or a [`SessionSetup`], so that one loop per
/// runtime serves both.
///
/// The loop: if [`wants_udp`](Drive::wants_udp), bind the UDP socket and say
/// [`udp_bound`](Drive::udp_bound); then act on [`poll`](Drive::poll); any wait ends at
/// [`poll_timeout`](Drive::poll_timeout) with [`handle_timeout`](Drive::handle_timeout).
pub trait Drive {
    /// What the loop yields.
    type Output;
    /// The next thing to do.
    fn poll(&mut self, now: Time) -> CallStep<'_>;
    /// The TCP connection is open; `bridge_is_loopback`: to an address on this host.
    fn connected(&mut self, bridge_is_loopback: bool);
    /// `true` when the driver must bind a UDP socket now.
    fn wants_udp(&self) -> bool;
    /// The UDP socket is bound at `host` (an IP literal), `port`.
    fn udp_bound(&mut self, host: String, port: u16);
    /// Bytes read at `now`; returns how many were taken.
    fn feed(&mut self, input: &[u8], now: Time) -> usize;
    /// The bridge closed the socket.
    fn eof(&mut self);
    /// When to call [`handle_timeout`](Drive::handle_timeout).
    fn poll_timeout(&self) -> Option<Time>;
    /// The deadline may have passed.
    fn handle_timeout(&mut self, now: Time);
    /// The outcome, once `poll` said [`CallStep::Done`].
    fn finish(self) -> Result<Self::Output, Failure>;
    /// What is asked (the name of the loop's span with the `tracing` feature).
    fn operation(&self) -> Operation;
    /// What the loop's span shows about the request: names, never a key or a password
    /// (nothing by default).
    fn subject(&self) -> Subject<'_> {
        Subject::default()
    }
    /// `true` when the driver must acknowledge what it reads at once (`TCP_QUICKACK` before
    /// each read). An accept's reply comes in two writes of the bridge, the status line and
    /// later the peer line; the bridge's Nagle holds the second until the first is
    /// acknowledged, and a delayed ACK waits 40 ms, which capped accepting at ~23 streams
    /// per second on every client (`testbed/bridge-notes.md`, "Fast accepts").
    fn ack_at_once(&self) -> bool {
        acks_at_once(self.operation())
    }
}

/// Whether reads of `operation`'s reply are acknowledged at once (see [`Drive::ack_at_once`]):
/// only an accept's, whose reply is two writes of the bridge with nothing of ours between.
pub fn acks_at_once(operation: Operation) -> bool {
    matches!(operation, Operation::StreamAccept)
}

impl<R: crate::exchange::Request> Drive for Call<R> {
    type Output = R::Output;
    fn poll(&mut self, _: Time) -> CallStep<'_> {
        Call::poll(self)
    }
    fn connected(&mut self, bridge_is_loopback: bool) {
        Call::connected(self, bridge_is_loopback)
    }
    fn wants_udp(&self) -> bool {
        false
    }
    fn udp_bound(&mut self, _: String, _: u16) {}
    fn feed(&mut self, input: &[u8], now: Time) -> usize {
        Call::feed(self, input, now)
    }
    fn eof(&mut self) {
        Call::eof(self)
    }
    fn poll_timeout(&self) -> Option<Time> {
        Call::poll_timeout(self)
    }
    fn handle_timeout(&mut self, now: Time) {
        Call::handle_timeout(self, now)
    }
    fn finish(self) -> Result<R::Output, Failure> {
        Call::finish(self)
    }
    fn operation(&self) -> Operation {
        Call::operation(self)
    }
    fn subject(&self) -> Subject<'_> {
        Call::subject(self)
    }
}

impl Drive for SessionSetup {
    type Output = SessionInfo;
    fn poll(&mut self, now: Time) -> CallStep<'_> {
        SessionSetup::poll(self, now)
    }
    fn connected(&mut self, bridge_is_loopback: bool) {
        SessionSetup::connected(self, bridge_is_loopback)
    }
    fn wants_udp(&self) -> bool {
        SessionSetup::wants_udp(self)
    }
    fn udp_bound(&mut self, host: String, port: u16) {
        SessionSetup::udp_bound(self, host, port)
    }
    fn feed(&mut self, input: &[u8], now: Time) -> usize {
        SessionSetup::feed(self, input, now)
    }
    fn eof(&mut self) {
        SessionSetup::eof(self)
    }
    fn poll_timeout(&self) -> Option<Time> {
        SessionSetup::poll_timeout(self)
    }
    fn handle_timeout(&mut self, now: Time) {
        SessionSetup::handle_timeout(self, now)
    }
    fn finish(self) -> Result<SessionInfo, Failure> {
        SessionSetup::finish(self)
    }
    fn operation(&self) -> Operation {
        Operation::SessionCreate
    }
    fn subject(&self) -> Subject<'_> {
        SessionSetup::subject(self)
    }
}
