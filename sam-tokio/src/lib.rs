//! SAM v3 for I2P over tokio: sessions, streams, datagrams.
//!
//! This crate moves bytes between tokio sockets and the sans-IO protocol crate
//! [`sam_proto`]: every SAM line is built, parsed and interpreted there. A [`Sam`] handle
//! describes the bridge; [`Sam::session`] creates a [`Session`] (a destination with its control
//! socket), which opens and accepts [`Stream`]s, resolves names, forwards incoming streams to a
//! local port and sends and receives datagrams ([`DatagramSocket`]).
//!
//! ```no_run
//! use sam_tokio::{Sam, SessionOptions, Style};
//! use tokio::io::{AsyncReadExt, AsyncWriteExt};
//!
//! # async fn run() -> sam_tokio::Result<()> {
//! // SAM_ADDR=host:port overrides the default bridge 127.0.0.1:7656.
//! let sam = Sam::from_env();
//! let session = sam.session(SessionOptions::new(Style::Stream)).await?;
//! println!("we are {}", session.address());
//!
//! // Connect to a destination (base64, .b32.i2p or a host name)...
//! let mut stream = session.connect("example.i2p").await?;
//! stream.write_all(b"GET / HTTP/1.0\r\n\r\n").await?;
//! let mut page = Vec::new();
//! stream.read_to_end(&mut page).await?;
//!
//! // ...and accept one stream.
//! let incoming = session.accept().await?;
//! println!("stream from {:?}", incoming.peer.map(|d| d.b32_address()));
//! # Ok(())
//! # }
//! ```
//!
//! Every future is cancel safe: dropping it at any await leaves the session usable (see
//! [`Session`]). Private keys never appear in `Debug` output; [`save_keys`] writes them with
//! mode 0600.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod control;
mod datagram;
mod driver;
mod keyfile;
mod sam;
mod session;
mod stream;

pub use datagram::DatagramSocket;
/// The error of every operation (shared by all three adapters).
pub use sam_proto::client::ClientError as Error;
pub use sam_proto::client::{SamConfig, ENV_ADDR, ENV_UDP_ADDR};
/// `Result` with [`Error`].
pub type Result<T> = std::result::Result<T, Error>;
pub use keyfile::{load_keys, save_keys};
pub use sam::Sam;
pub use sam_proto::client::{
    ConnectOptions, DatagramDelivery, Received, SessionOptions, Style, SubsessionOptions,
};
pub use session::{read_forwarded, Forward, Incoming, IncomingStreams, Session};
pub use stream::{Stream, StreamReadHalf};

/// The protocol crate, for its key and result types.
pub use sam_proto;
pub use sam_proto::keys::{B32Address, Destination, KeyError, PrivateKeys, SigType};
pub use sam_proto::{ResultCode, Version};
