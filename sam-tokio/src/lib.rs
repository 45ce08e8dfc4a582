#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

#[cfg(feature = "cli")]
#[doc(hidden)]
pub mod cli;
mod control;
mod datagram;
mod driver;
mod keyfile;
mod sam;
mod service;
mod session;
mod stream;
#[cfg(feature = "tunnel")]
pub mod tunnel;

#[cfg(feature = "hyper")]
pub mod http;
#[cfg(feature = "axum")]
pub mod web;

pub use datagram::DatagramSocket;
/// The error of every operation (shared by all three adapters).
pub use sam_proto::client::ClientError as Error;
/// `Result` with [`Error`].
pub type Result<T> = std::result::Result<T, Error>;
pub use keyfile::{load_keys, save_keys};
pub use sam::Sam;
pub use sam_proto::client::StateObserver;
pub use sam_proto::client::{
    ConnectOptions, DatagramDelivery, ForwardOptions, Received, RecoveryPolicy, SamConfig,
    ServiceState, SessionOptions, Style, SubsessionOptions, ENV_ADDR, ENV_UDP_ADDR,
};
pub use service::Service;
pub use session::{read_forwarded, Forward, Incoming, IncomingStreams, Session};
pub use stream::{Stream, StreamReadHalf};

/// The protocol crate, for its key and result types.
pub use sam_proto;
pub use sam_proto::datagram::{SendOptions, SourceCache};
pub use sam_proto::keys::{B32Address, Destination, KeyError, PrivateKeys, SigType, SourceHash};
pub use sam_proto::reply::{LeaseSetOptions, LookupAnswer};
pub use sam_proto::{ResultCode, Version};
