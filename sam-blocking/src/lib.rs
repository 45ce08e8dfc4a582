//! SAM v3 for I2P over `std::net`: sessions, streams, datagrams, no async runtime.
//!
//! This crate moves bytes between std sockets and the sans-IO protocol crate [`sam_proto`]:
//! every SAM line is built, parsed and interpreted there. The API is `sam-tokio`'s without
//! `async`, so a program switches runtime by changing an import. A [`Sam`] handle describes
//! the bridge; [`Sam::session`] creates a [`Session`] (a destination with its control socket),
//! which opens and accepts [`Stream`]s, resolves names, forwards incoming streams to a local
//! port and sends and receives datagrams ([`DatagramSocket`]).
//!
//! ```no_run
//! use std::io::{Read, Write};
//! use sam_blocking::{Sam, SessionOptions, Style};
//!
//! # fn run() -> sam_blocking::Result<()> {
//! // SAM_ADDR=host:port overrides the default bridge 127.0.0.1:7656.
//! let sam = Sam::from_env();
//! let session = sam.session(SessionOptions::new(Style::Stream))?;
//! println!("we are {}", session.address());
//!
//! // Connect to a destination (base64, .b32.i2p or a host name)...
//! let mut stream = session.connect("example.i2p")?;
//! stream.write_all(b"GET / HTTP/1.0\r\n\r\n")?;
//! let mut page = Vec::new();
//! stream.read_to_end(&mut page)?;
//!
//! // ...and accept streams on another thread (a Session is Send + Sync and cheap to clone).
//! let acceptor = session.clone();
//! std::thread::spawn(move || {
//!     for incoming in acceptor.incoming().flatten() {
//!         println!("stream from {:?}", incoming.peer.map(|d| d.b32_address()));
//!     }
//! });
//! # Ok(())
//! # }
//! ```
//!
//! Every call to the bridge is bounded by its [`SamConfig`] timeout (socket timeouts, reported
//! as [`Error::Timeout`]); [`Session::accept`] waits without one, [`Session::accept_timeout`]
//! and [`DatagramSocket::recv_from_timeout`] with the one given. A [`Stream`] is handed over
//! with no socket timeout set. Private keys never appear in `Debug` output; [`save_keys`]
//! writes them with mode 0600.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod control;
mod datagram;
mod driver;
mod sam;
mod session;
mod stream;

use std::path::Path;

pub use datagram::DatagramSocket;
/// The error of every operation (shared by all three adapters).
pub use sam_proto::client::ClientError as Error;
pub use sam_proto::client::{SamConfig, ENV_ADDR, ENV_UDP_ADDR};
/// `Result` with [`Error`].
pub type Result<T> = std::result::Result<T, Error>;
pub use sam::Sam;
pub use sam_proto::client::{ConnectOptions, Received, SessionOptions, Style, SubsessionOptions};
pub use session::{read_forwarded, Forward, Incoming, IncomingStreams, Session};
pub use stream::{Stream, StreamReadHalf, StreamWriteHalf};

/// The protocol crate, for its key and result types.
pub use sam_proto;
pub use sam_proto::keys::{B32Address, Destination, KeyError, PrivateKeys, SigType};
pub use sam_proto::{ResultCode, Version};

/// Writes `keys` to `path` as I2P base64 (one line), readable by the owner only (mode 0600
/// on Unix), atomically (temporary file, then rename).
pub fn save_keys(path: impl AsRef<Path>, keys: &PrivateKeys) -> Result<()> {
    sam_proto::client::save_keys_blocking(path.as_ref(), keys)
}

/// Reads keys written by [`save_keys`] (or any file holding the base64 private key blob;
/// surrounding whitespace is ignored).
pub fn load_keys(path: impl AsRef<Path>) -> Result<PrivateKeys> {
    sam_proto::client::load_keys_blocking(path.as_ref())
}

// Handles are shared between threads (accept loops, readers and writers): checked here.
const _: () = {
    const fn shared<T: Send + Sync>() {}
    shared::<Sam>();
    shared::<Session>();
    shared::<IncomingStreams>();
    shared::<DatagramSocket>();
    shared::<Forward>();
    shared::<Incoming>();
    shared::<Stream>();
    shared::<StreamReadHalf>();
    shared::<StreamWriteHalf>();
};
