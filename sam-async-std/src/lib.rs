//! SAM v3 for I2P over futures-io, for async-std and smol: sessions, streams, datagrams.
//!
//! This crate moves bytes and timers for the sans-IO client core of [`sam_proto`] (see
//! [`sam_proto::session`]: every decision and timeout is made there). Its API is the one of
//! `sam-tokio`; its streams are futures-io [`AsyncRead`](futures_lite::io::AsyncRead) +
//! [`AsyncWrite`](futures_lite::io::AsyncWrite). Sockets and timers come from async-io's
//! reactor, which async-std and smol share, so the same code runs on either.
//!
//! ```no_run
//! use futures_lite::io::{AsyncReadExt, AsyncWriteExt};
//! use sam_async_std::{Sam, SessionOptions, Style};
//!
//! # async fn run() -> sam_async_std::Result<()> {
//! let sam = Sam::from_env(); // SAM_ADDR=host:port, else 127.0.0.1:7656
//! let session = sam.session(SessionOptions::new(Style::Stream)).await?;
//! let mut stream = session.connect("example.i2p").await?;
//! stream.write_all(b"GET / HTTP/1.0\r\n\r\n").await?;
//! let mut page = Vec::new();
//! stream.read_to_end(&mut page).await?;
//! let incoming = session.accept().await?;
//! println!("stream from {:?}", incoming.peer.map(|d| d.b32_address()));
//! # Ok(())
//! # }
//! ```
//!
//! Every future is cancel safe (see [`Session`]). Private keys never appear in `Debug`
//! output; [`save_keys`] writes them with mode 0600.
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
pub use sam::Sam;
pub use session::{read_forwarded, Forward, Incoming, IncomingStreams, Session};
pub use stream::{Stream, StreamReadHalf};

/// The protocol crate, for its key and result types.
pub use sam_proto;
/// The error of every operation, shared by the three adapters (`ClientError` in sam-proto).
pub use sam_proto::client::ClientError as Error;
pub use sam_proto::client::{
    ConnectOptions, DatagramDelivery, Received, SamConfig, SessionOptions, Style,
    SubsessionOptions, ENV_ADDR, ENV_UDP_ADDR,
};
pub use sam_proto::keys::{B32Address, Destination, KeyError, PrivateKeys, SigType};
pub use sam_proto::{ResultCode, Version};

/// `Result` with this crate's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

/// Writes `keys` to `path` (see [`sam_proto::client::save_keys_blocking`]) on the
/// `blocking` thread pool (the one async-std and smol use).
pub async fn save_keys(path: impl AsRef<Path>, keys: &PrivateKeys) -> Result<()> {
    let (path, keys) = (path.as_ref().to_owned(), keys.clone());
    blocking::unblock(move || sam_proto::client::save_keys_blocking(&path, &keys)).await
}

/// Reads keys written by [`save_keys`] (see [`sam_proto::client::load_keys_blocking`]), on
/// the `blocking` thread pool.
pub async fn load_keys(path: impl AsRef<Path>) -> Result<PrivateKeys> {
    let path = path.as_ref().to_owned();
    blocking::unblock(move || sam_proto::client::load_keys_blocking(&path)).await
}
