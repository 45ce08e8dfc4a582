//! The bridge handle.

use std::sync::Arc;

use sam_proto::client::{ping_command, SessionOptions};
use sam_proto::command::{DestGenerate, NamingLookup, Ping};
use sam_proto::keys::{Destination, PrivateKeys, SigType};
use sam_proto::message::Message;

use crate::driver::request;
use crate::session::Session;
use crate::{Result, SamConfig};

/// A SAM bridge: where it is and how to talk to it. Cheap to clone.
///
/// Every call opens its own socket; nothing is shared between calls but the configuration.
/// All methods are cancel safe (dropping a future closes its socket).
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

    /// Asks the bridge for a new destination with signature type `sig` (`DEST GENERATE`),
    /// within `connect_timeout`. Nothing is published; use the keys in
    /// [`SessionOptions::keys`] to go online.
    pub async fn generate_destination(&self, sig: SigType) -> Result<PrivateKeys> {
        let command = DestGenerate::new(sig);
        let timeout = Some(self.config.connect_timeout);
        Ok(request(&self.config, DestGenerate::KIND, timeout, command)
            .await?
            .1)
    }

    /// Resolves `name` on a fresh socket, without a session, within `lookup_timeout`.
    ///
    /// Bridges resolve through a shared router destination here, which may not be able to
    /// fetch lease sets (i2pd without outbound tunnels answers "not found" for any `.b32.i2p`
    /// it has not cached): [`Session::lookup`] is the reliable way.
    pub async fn lookup(&self, name: &str) -> Result<Destination> {
        let command = NamingLookup::new(name.to_owned());
        let timeout = Some(self.config.lookup_timeout);
        Ok(request(&self.config, NamingLookup::KIND, timeout, command)
            .await?
            .1)
    }

    /// Checks that the bridge answers: `PING` on a socket of its own, done when the matching
    /// `PONG` arrives, within `connect_timeout`.
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
        let timeout = Some(self.config.connect_timeout);
        request(&self.config, Ping::KIND, timeout, ping_command()).await?;
        Ok(())
    }

    /// Creates a session (`SESSION CREATE`, within `session_timeout`; routers take seconds to
    /// build tunnels first).
    pub async fn session(&self, options: SessionOptions) -> Result<Session> {
        Session::create(self.config.clone(), options).await
    }
}
