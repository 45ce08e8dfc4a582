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

/// A SAM bridge: where it is and how to talk to it. Cheap to clone. Every call opens its own
/// socket and is cancel safe (dropping its future closes the socket). Timeouts: see
/// [`sam_proto::session`].
#[derive(Debug, Clone)]
pub struct Sam {
    config: Arc<SamConfig>,
}

impl Sam {
    sam_proto::__sam_constructors!();

    async fn call<R>(&self, operation: Operation, request: R) -> Result<R::Output>
    where
        R: Request + Send + 'static,
        R::Output: Send,
    {
        let call = Call::new(&self.config, operation, request, now())?;
        Ok(run(&self.config.address, call, None).await?.output)
    }

    /// A new destination with signature type `sig` (`DEST GENERATE`); nothing is published.
    pub async fn generate_destination(&self, sig: SigType) -> Result<PrivateKeys> {
        let command = DestGenerate::new(sig);
        self.call(Operation::DestGenerate, command).await
    }

    /// Resolves `name` on a fresh socket, without a session ([`Session::lookup`] is more
    /// reliable: see [`SessionInfo::lookup`](sam_proto::session::SessionInfo::lookup)).
    pub async fn lookup(&self, name: &str) -> Result<Destination> {
        let command = NamingLookup::new(name.to_owned());
        self.call(Operation::Lookup, command).await
    }

    /// Checks that the bridge answers `PING` (SAM 3.2) on a socket of its own; what each
    /// bridge does: [`ping_command`].
    pub async fn ping(&self) -> Result<()> {
        self.call(Operation::Ping, ping_command()).await
    }

    /// Creates a session (`SESSION CREATE`; routers take seconds to build tunnels first).
    pub async fn session(&self, options: SessionOptions) -> Result<Session> {
        Session::create(self.config.clone(), options).await
    }
}
