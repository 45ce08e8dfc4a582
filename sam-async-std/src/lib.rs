#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod control;
mod datagram;
mod driver;
mod sam;
mod service;
mod session;
mod stream;

use std::path::Path;

pub use datagram::DatagramSocket;
pub use sam::Sam;
pub use sam_proto::client::StateObserver;
pub use service::Service;
pub use session::{read_forwarded, Forward, Incoming, IncomingStreams, Session};
pub use stream::{Stream, StreamReadHalf};

/// The protocol crate, for its key and result types.
pub use sam_proto;
/// The error of every operation, shared by the three adapters (`ClientError` in sam-proto).
pub use sam_proto::client::ClientError as Error;
pub use sam_proto::client::{
    ConnectOptions, DatagramDelivery, ForwardOptions, Received, RecoveryPolicy, SamConfig,
    ServiceState, SessionOptions, Style, SubsessionOptions, ENV_ADDR, ENV_UDP_ADDR,
};
pub use sam_proto::datagram::{SendOptions, SourceCache};
pub use sam_proto::keys::{B32Address, Destination, KeyError, PrivateKeys, SigType, SourceHash};
pub use sam_proto::reply::{LeaseSetOptions, LookupAnswer};
pub use sam_proto::{ResultCode, Version};

/// `Result` with this crate's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

/// Writes `keys` to `path` (see [`sam_proto::client::save_keys_blocking`]) on the
/// `blocking` thread pool (the one async-std and smol use).
pub async fn save_keys(path: impl AsRef<Path>, keys: &PrivateKeys) -> Result<()> {
    let (path, keys) = (path.as_ref().to_owned(), keys.clone());
    blocking::unblock(move || sam_proto::client::save_keys_blocking(path, &keys)).await
}

/// Reads keys written by [`save_keys`] (see [`sam_proto::client::load_keys_blocking`]), on
/// the `blocking` thread pool.
pub async fn load_keys(path: impl AsRef<Path>) -> Result<PrivateKeys> {
    let path = path.as_ref().to_owned();
    blocking::unblock(move || sam_proto::client::load_keys_blocking(path)).await
}
