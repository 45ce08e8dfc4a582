//! SAM v3 for I2P over `std::net`: sessions, streams, datagrams, no async runtime.
//!
//! This crate moves bytes and timers for the sans-IO client core of [`sam_proto`] (every
//! decision and timeout is made there: see [`sam_proto::session`]). The API is `sam-tokio`'s
//! without `async`: a [`Sam`] handle describes the bridge; [`Sam::session`] creates a
//! [`Session`], which opens and accepts [`Stream`]s, resolves names, forwards incoming
//! streams to a local port and sends and receives datagrams ([`DatagramSocket`]).
//!
//! ```no_run
//! use std::io::{Read, Write};
//! use sam_blocking::{Sam, SessionOptions, Style};
//!
//! # fn run() -> sam_blocking::Result<()> {
//! let sam = Sam::from_env(); // SAM_ADDR=host:port, else 127.0.0.1:7656
//! let session = sam.session(SessionOptions::new(Style::Stream))?;
//! let mut stream = session.connect("example.i2p")?;
//! stream.write_all(b"GET / HTTP/1.0\r\n\r\n")?;
//! let mut page = Vec::new();
//! stream.read_to_end(&mut page)?;
//! // A Session is Send + Sync and cheap to clone: accept on another thread.
//! let acceptor = session.clone();
//! std::thread::spawn(move || acceptor.incoming().flatten().for_each(drop));
//! # Ok(())
//! # }
//! ```
//!
//! Timeouts are socket timeouts ([`Error::Timeout`]); [`Session::accept_timeout`] and
//! [`DatagramSocket::recv_from_timeout`] add their own. Streams come with none set. Private
//! keys never appear in `Debug` output; [`save_keys`] writes them with mode 0600.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod control;
mod datagram;
mod driver;
mod session;
mod stream;

use std::path::Path;
use std::sync::Arc;

use sam_proto::command::{DestGenerate, NamingLookup};
use sam_proto::exchange::Request;
use sam_proto::session::{Call, Operation};

pub use datagram::DatagramSocket;
/// The protocol crate, for its key and result types.
pub use sam_proto;
/// The error of every operation (shared by all three adapters).
pub use sam_proto::client::ClientError as Error;
pub use sam_proto::client::{
    ConnectOptions, DatagramDelivery, Received, SessionOptions, Style, SubsessionOptions,
};
pub use sam_proto::client::{SamConfig, ENV_ADDR, ENV_UDP_ADDR};
pub use sam_proto::keys::{B32Address, Destination, KeyError, PrivateKeys, SigType};
pub use sam_proto::{ResultCode, Version};
pub use session::{read_forwarded, Forward, Incoming, IncomingStreams, Session};
pub use stream::{Stream, StreamReadHalf, StreamWriteHalf};

/// `Result` with [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

/// A SAM bridge: where it is and how to talk to it. Cheap to clone.
///
/// Every call opens a socket of its own; only the configuration is shared.
#[derive(Debug, Clone)]
pub struct Sam {
    config: Arc<SamConfig>,
}

impl Sam {
    /// A handle for the bridge described by `config`.
    pub fn new(config: SamConfig) -> Sam {
        let config = Arc::new(config);
        Sam { config }
    }

    /// A handle for [`SamConfig::from_env`] (`SAM_ADDR`, `SAM_UDP_ADDR`, else the defaults).
    pub fn from_env() -> Sam {
        Sam::new(SamConfig::from_env())
    }

    /// The configuration.
    pub fn config(&self) -> &SamConfig {
        &self.config
    }

    /// Creates a session (`SESSION CREATE`; routers take seconds to build tunnels first).
    pub fn session(&self, options: SessionOptions) -> Result<Session> {
        Session::create(self.config.clone(), options)
    }

    /// A new destination with signature type `sig` (`DEST GENERATE`). Nothing is published;
    /// use the keys in [`SessionOptions::keys`] to go online.
    pub fn generate_destination(&self, sig: SigType) -> Result<PrivateKeys> {
        self.request(Operation::DestGenerate, DestGenerate::new(sig))
    }

    /// Resolves `name` without a session, through the router's shared destination, which
    /// may lack lease sets: [`Session::lookup`] is the reliable way.
    pub fn lookup(&self, name: &str) -> Result<Destination> {
        self.request(Operation::Lookup, NamingLookup::new(name.to_owned()))
    }

    /// Checks that the bridge answers `PING` (see [`sam_proto::client::ping_command`]: a SAM
    /// 3.1 bridge gives [`Error::NeedsVersion`], one that ignores it [`Error::Timeout`]).
    pub fn ping(&self) -> Result<()> {
        self.request(Operation::Ping, sam_proto::client::ping_command())
    }

    fn request<R: Request>(&self, operation: Operation, request: R) -> Result<R::Output> {
        let call = Call::new(&self.config, operation, request, driver::now())?;
        driver::run(&self.config.address, None, call).map(|(.., output)| output)
    }
}

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
    shared::<(
        Sam,
        Session,
        IncomingStreams,
        DatagramSocket,
        Forward,
        Incoming,
    )>();
    shared::<(Stream, StreamReadHalf, StreamWriteHalf)>();
};
