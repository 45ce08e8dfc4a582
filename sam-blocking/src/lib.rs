#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod control;
mod datagram;
mod driver;
mod service;
mod session;
mod stream;

use std::sync::Arc;

use sam_proto::command::{DestGenerate, NamingLookup};
use sam_proto::exchange::Request;
use sam_proto::session::{Call, Operation};

pub use datagram::DatagramSocket;
/// The protocol crate, for its key and result types.
pub use sam_proto;
/// The error of every operation (shared by all three adapters).
pub use sam_proto::client::ClientError as Error;
pub use sam_proto::client::StateObserver;
pub use sam_proto::client::{load_keys_blocking as load_keys, save_keys_blocking as save_keys};
pub use sam_proto::client::{
    ConnectOptions, DatagramDelivery, ForwardOptions, Received, RecoveryPolicy, SamConfig,
    ServiceState, SessionOptions, Style, SubsessionOptions, ENV_ADDR, ENV_UDP_ADDR,
};
pub use sam_proto::datagram::{SendOptions, SourceCache};
pub use sam_proto::keys::{B32Address, Destination, KeyError, PrivateKeys, SigType, SourceHash};
pub use sam_proto::reply::{LeaseSetOptions, LookupAnswer};
pub use sam_proto::{ResultCode, Version};
pub use service::Service;
pub use session::{read_forwarded, Forward, Incoming, IncomingStreams, Session};
pub use stream::{Stream, StreamReadHalf, StreamWriteHalf};

/// `Result` with [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

/// A SAM bridge: where it is and how to talk to it. Cheap to clone; every call opens a socket
/// of its own.
#[derive(Debug, Clone)]
pub struct Sam {
    config: Arc<SamConfig>,
}

impl Sam {
    sam_proto::__sam_constructors!();

    /// Creates a session (`SESSION CREATE`; routers take seconds to build tunnels first).
    pub fn session(&self, options: SessionOptions) -> Result<Session> {
        Session::create(self.config.clone(), options)
    }

    /// A new destination with signature type `sig` (`DEST GENERATE`); nothing is published.
    pub fn generate_destination(&self, sig: SigType) -> Result<PrivateKeys> {
        self.request(Operation::DestGenerate, DestGenerate::new(sig))
    }

    /// Resolves `name` without a session ([`Session::lookup`] is more reliable).
    pub fn lookup(&self, name: &str) -> Result<Destination> {
        self.request(Operation::Lookup, NamingLookup::new(name.to_owned()))
    }

    /// Checks that the bridge answers `PING` (SAM 3.2): [`sam_proto::client::ping_command`].
    pub fn ping(&self) -> Result<()> {
        self.request(Operation::Ping, sam_proto::client::ping_command())
    }

    fn request<R: Request>(&self, operation: Operation, request: R) -> Result<R::Output> {
        let call = Call::new(&self.config, operation, request, driver::now())?;
        Ok(driver::run(&self.config.address, None, call)?.output)
    }
}
