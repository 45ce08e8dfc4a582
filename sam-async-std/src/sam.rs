//! The bridge handle.

use std::sync::Arc;

use sam_proto::client::{ping_command, SessionOptions};
use sam_proto::command::{DestGenerate, NamingLookup};
use sam_proto::exchange::Request;
use sam_proto::keys::{Destination, PrivateKeys, SigType};
use sam_proto::session::{Call, Operation};

use crate::driver::{call, now};
use crate::session::Session;
use crate::{Result, SamConfig};

/// A SAM bridge: where it is and how to talk to it. Cheap to clone.
///
/// Every call opens its own socket; nothing is shared between calls but the configuration.
/// All methods are cancel safe (dropping a future closes its socket). Timeouts: see
/// [`sam_proto::session`].
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

    /// `request` on a socket of its own.
    async fn call<R: Request>(&self, operation: Operation, request: R) -> Result<R::Output> {
        let machine = Call::new(&self.config, operation, request, now())?;
        Ok(call(&self.config, machine, None).await?.2)
    }

    /// Asks the bridge for a new destination with signature type `sig` (`DEST GENERATE`).
    /// Nothing is published; use the keys in [`SessionOptions::keys`] to go online.
    pub async fn generate_destination(&self, sig: SigType) -> Result<PrivateKeys> {
        self.call(Operation::DestGenerate, DestGenerate::new(sig))
            .await
    }

    /// Resolves `name` on a fresh socket, without a session.
    ///
    /// Bridges resolve through a shared router destination here, which may not be able to
    /// fetch lease sets (i2pd without outbound tunnels answers "not found" for any `.b32.i2p`
    /// it has not cached): [`Session::lookup`] is the reliable way.
    pub async fn lookup(&self, name: &str) -> Result<Destination> {
        let request = NamingLookup::new(name.to_owned());
        self.call(Operation::Lookup, request).await
    }

    /// Checks that the bridge answers: `PING` on a socket of its own, done when the matching
    /// `PONG` arrives.
    ///
    /// `PING` is SAM 3.2: a 3.1 bridge gets nothing but the `HELLO` and the answer is
    /// [`Error::NeedsVersion`](crate::Error::NeedsVersion). Bridges that ignore `PING`
    /// (emissary 0.4) end in [`Error::Timeout`](crate::Error::Timeout). A socket of its own,
    /// because i2pd 2.59 closes the socket after its `PONG`.
    ///
    /// ```no_run
    /// # async fn demo() -> sam_async_std::Result<()> {
    /// let sam = sam_async_std::Sam::from_env();
    /// match sam.ping().await {
    ///     Ok(()) => println!("the bridge answered PING"),
    ///     Err(sam_async_std::Error::NeedsVersion { negotiated, .. }) => {
    ///         println!("a SAM {negotiated} bridge: no PING")
    ///     }
    ///     Err(e) => return Err(e),
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn ping(&self) -> Result<()> {
        self.call(Operation::Ping, ping_command()).await
    }

    /// Creates a session (`SESSION CREATE`; routers take seconds to build tunnels first).
    pub async fn session(&self, options: SessionOptions) -> Result<Session> {
        Session::create(self.config.clone(), options).await
    }
}
