//! Sans-IO SAM v3 for I2P: bytes in, bytes and typed values out.
//!
//! `sam-proto` knows everything about the SAM protocol and nothing about sockets, clocks or
//! runtimes. It is `#![no_std]` + `alloc`, so it runs inside any event loop (tokio, async-std,
//! smol, mio, io_uring, a game loop); the `sam-tokio`, `sam-async-std` and `sam-blocking`
//! crates are thin drivers over it.
//!
//! * [`mod@line`]: the one tokenizer for SAM lines (both the Java and the i2pd dialect) and the
//!   framing that cuts a byte stream into lines with a hard length cap.
//! * [`command`], [`reply`]: one type per message; each parses **and** encodes itself, so
//!   clients, test bridges and fuzzers share them. Encoding refuses any value that would
//!   change the line (CR, LF, NUL, a space before SAM 3.2, `=` in a key) before writing.
//! * [`client`]: the options users fill in and the commands they become, shared by every adapter.
//! * [`keys`]: I2P base64, [`keys::Destination`], [`keys::PrivateKeys`] (private parts never
//!   appear in `Debug`), [`keys::SigType`], `.b32.i2p` addresses.
//! * [`exchange`]: state machines for one command on its own socket (HELLO, DEST GENERATE,
//!   NAMING LOOKUP, SESSION CREATE, STREAM CONNECT/ACCEPT/FORWARD). They consume exactly the
//!   protocol's bytes and hand everything after them back: no stream byte is ever lost.
//! * [`control`]: the long-lived session control socket (bridge PINGs answered, datagrams on
//!   the socket, one command in flight).
//! * [`datagram`]: the UDP header for the bridge's datagram port and the forwarded forms.
//!
//! # Example: a stream connect driven by hand
//!
//! ```
//! use sam_proto::command::{Hello, StreamConnect};
//! use sam_proto::exchange::{Exchange, Step};
//! use sam_proto::{SessionId, Version};
//!
//! // What the bridge will say, all in one read, followed by the peer's first bytes.
//! let bridge = b"HELLO REPLY RESULT=OK VERSION=3.1\nSTREAM STATUS RESULT=OK\nHTTP/1.1 200 OK\r\n";
//! let mut from_bridge = &bridge[..34];            // the first read holds the HELLO reply
//! let mut later = &bridge[34..];                  // the second read holds the rest
//!
//! let connect = StreamConnect::new(SessionId::new("my-session")?, "example.i2p").into_owned();
//! let mut exchange = Exchange::new(connect)?.with_hello(Hello::new(Version::V3_1, Version::V3_3))?;
//! let mut written = Vec::new();
//! let mut buf: Vec<u8> = Vec::new();
//! loop {
//!     match exchange.poll() {
//!         Step::Send(bytes) => written.extend_from_slice(bytes), // socket.write_all(bytes)
//!         Step::Recv if buf.is_empty() => {
//!             // socket.read(): here, the canned replies
//!             buf.extend_from_slice(from_bridge);
//!             from_bridge = std::mem::take(&mut later);
//!         }
//!         Step::Recv => {
//!             let used = exchange.feed(&buf)?;
//!             buf.drain(..used);
//!         }
//!         Step::Done => break,
//!     }
//! }
//! exchange.finish()?;
//! assert_eq!(
//!     written,
//!     b"HELLO VERSION MIN=3.1 MAX=3.3\nSTREAM CONNECT ID=my-session DESTINATION=example.i2p\n"
//! );
//! assert_eq!(buf, b"HTTP/1.1 200 OK\r\n"); // stream data, untouched, first in line for the user
//! # Ok::<(), sam_proto::Error>(())
//! ```
//!
//! # Features
//!
//! * `std` (default): the client glue that needs an operating system ([`client`]'s error
//!   type with `io::Error`, key files, entropy, addresses, the I/O loops of the adapters).
//! * `tracing` (off; works without `std`): spans and events through the `tracing` crate for
//!   people debugging a session: the I/O loops run in a span per operation (`session_create`,
//!   `stream_connect`, `stream_accept`, `stream_forward`, `naming_lookup`, ...) or per session
//!   (`session`), with events for the bridge's `PING`s, `PING`/`QUIT` sent, timeouts, bridge
//!   errors and closes. Never a private key, a password or the value of an option whose key
//!   names a password, a key or a secret ([`message::is_secret_option`]). Without it nothing
//!   is traced. The adapters' `tracing` features turn it on.
//!
//! # Protocol facts this crate encodes
//!
//! The encoder follows the rules that work on every bridge (Java I2P, i2pd, emissary): exact
//! upper-case words, single spaces, `\n` only, no empty values, quoting only from SAM 3.2, no
//! command line over 8 KiB (i2pd 2.45 spins forever on one). The reader accepts both dialects:
//! Java's quotes and escapes, i2pd's bare values, runs of spaces, `\r\n`, a last line ended by
//! EOF, unknown keys (kept in `extra`) and unknown `RESULT` values
//! ([`ResultCode::Other`]).
#![no_std]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

/// One of `tracing`'s event macros (`trace_event!(debug, field = value, "message")`) with the
/// `tracing` feature, nothing without it (so use it as a statement, and compute its values
/// inside it). What goes in never holds a private key, a password or an option value.
#[cfg(feature = "tracing")]
macro_rules! trace_event {
    ($level:ident, $($args:tt)*) => {
        tracing::$level!($($args)*)
    };
}
#[cfg(not(feature = "tracing"))]
macro_rules! trace_event {
    ($level:ident, $($args:tt)*) => {};
}

pub mod client;
pub mod command;
pub mod control;
pub mod datagram;
pub mod error;
pub mod exchange;
pub mod keys;
pub mod line;
pub mod message;
pub mod reply;
pub mod result;
pub mod session;
pub mod types;

pub use error::Error;
pub use message::Message;
pub use result::ResultCode;
pub use types::{Secret, SessionId, SessionStyle, Version};
