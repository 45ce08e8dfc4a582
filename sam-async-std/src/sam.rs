//! The bridge handle.

use std::sync::Arc;

use sam_proto::client::{ping_command, SessionOptions};
use sam_proto::command::{DestGenerate, NamingLookup};
use sam_proto::exchange::Request;
use sam_proto::keys::{Destination, PrivateKeys, SigType};
use sam_proto::session::{Call, Operation};

use crate::driver::{now, run};
use crate::session::Session;
use crate::{Result, SamConfig};

/// A SAM bridge: where it is and how to talk to it. Cheap to clone.
///
/// Every call opens its own socket. All methods are cancel safe (dropping a future closes its socket). Timeouts: see
/// [`sam_proto::session`].
#[derive(Debug, Clone)]
pub struct Sam {
    config: Arc<SamConfig>,
}

impl Sam {
    sam_proto::__sam_constructors!();

    /// `request` on a socket of its own.
    async fn call<R: Request>(&self, operation: Operation, request: R) -> Result<R::Output> {
        let call = Call::new(&self.config, operation, request, now())?;
        Ok(run(&self.config, call, None).await?.3)
    }

    /// Asks the bridge for a new destination with signature type `sig` (`DEST GENERATE`).
    /// Nothing is published; use the keys in [`SessionOptions::keys`] to go online.
    pub async fn generate_destination(&self, sig: SigType) -> Result<PrivateKeys> {
        self.call(Operation::DestGenerate, DestGenerate::new(sig))
            .await
    }

    /// Resolves `name` on a fresh socket, without a session, through the router's shared
    /// destination, which may lack lease sets: [`Session::lookup`] is the reliable way.
    pub async fn lookup(&self, name: &str) -> Result<Destination> {
        let request = NamingLookup::new(name.to_owned());
        self.call(Operation::Lookup, request).await
    }

    /// Checks that the bridge answers: `PING` on a socket of its own (i2pd 2.59 closes it
    /// after its `PONG`), done when the matching `PONG` arrives. A SAM 3.1 bridge gets only
    /// `HELLO`: [`Error::NeedsVersion`](crate::Error::NeedsVersion); one that ignores `PING`
    /// (emissary 0.4): [`Error::Timeout`](crate::Error::Timeout).
    pub async fn ping(&self) -> Result<()> {
        self.call(Operation::Ping, ping_command()).await
    }

    /// Creates a session (`SESSION CREATE`; routers take seconds to build tunnels first).
    pub async fn session(&self, options: SessionOptions) -> Result<Session> {
        Session::create(self.config.clone(), options).await
    }
}
