//! Where the bridge is and how long to wait for it.

use alloc::borrow::ToOwned;
use alloc::string::String;
use core::fmt;
use core::time::Duration;

use crate::types::Version;

/// Environment variable read by [`SamConfig::from_env`] for the bridge's TCP address.
pub const ENV_ADDR: &str = "SAM_ADDR";
/// Environment variable read by [`SamConfig::from_env`] for the bridge's UDP address.
pub const ENV_UDP_ADDR: &str = "SAM_UDP_ADDR";

/// How to reach a SAM bridge.
///
/// Every field is public; [`SamConfig::default`] gives the usual local bridge and
/// [`SamConfig::from_env`] lets `SAM_ADDR` / `SAM_UDP_ADDR` override the addresses.
///
/// ```
/// use std::time::Duration;
/// use sam_proto::client::SamConfig;
///
/// let mut config = SamConfig::new("127.0.0.1:17656");
/// config.session_timeout = Duration::from_secs(60);
/// assert_eq!(config.udp_address, None); // = same host, TCP port - 1
/// ```
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SamConfig {
    /// The bridge's TCP address (`host:port`), default `127.0.0.1:7656`.
    ///
    /// **SAM is clear text**: `SESSION CREATE` carries the private keys and `DEST GENERATE`
    /// returns them. A bridge on another host is allowed (routers in containers are common),
    /// with a `tracing` warning (`tracing` feature) once per process; keep it on a network you
    /// trust.
    pub address: String,
    /// The bridge's UDP address for datagrams; `None` means the host the TCP connection went
    /// to and the TCP port − 1 (7655 for 7656, as both routers do by default).
    pub udp_address: Option<String>,
    /// Lowest acceptable SAM version, default 3.1.
    pub min_version: Version,
    /// Highest acceptable SAM version, default 3.3.
    pub max_version: Version,
    /// User name for bridges with authorization (SAM 3.2, Java).
    pub user: Option<String>,
    /// Password for bridges with authorization; never printed by `Debug`.
    pub password: Option<String>,
    /// TCP connect plus the `HELLO` handshake on every new socket, default 10 s.
    pub connect_timeout: Duration,
    /// `SESSION CREATE` (and `SESSION ADD`), default 180 s (routers build tunnels first).
    pub session_timeout: Duration,
    /// `STREAM CONNECT` and `STREAM FORWARD`, default 120 s.
    pub stream_timeout: Duration,
    /// `NAMING LOOKUP`, default 60 s.
    pub lookup_timeout: Duration,
}

impl SamConfig {
    /// The `HELLO` every socket of this configuration starts with.
    pub fn hello(&self) -> crate::command::Hello<'static> {
        let mut hello = crate::command::Hello::new(self.min_version, self.max_version);
        hello.user = self.user.clone().map(alloc::borrow::Cow::Owned);
        hello.password = self.password.clone().map(crate::types::Secret::new);
        hello
    }

    /// The defaults with another bridge address.
    pub fn new(address: impl Into<String>) -> SamConfig {
        SamConfig {
            address: address.into(),
            ..SamConfig::default()
        }
    }
}

impl Default for SamConfig {
    fn default() -> SamConfig {
        SamConfig {
            address: "127.0.0.1:7656".to_owned(),
            udp_address: None,
            min_version: Version::V3_1,
            max_version: Version::V3_3,
            user: None,
            password: None,
            connect_timeout: Duration::from_secs(10),
            session_timeout: Duration::from_secs(180),
            stream_timeout: Duration::from_secs(120),
            lookup_timeout: Duration::from_secs(60),
        }
    }
}

impl fmt::Debug for SamConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SamConfig")
            .field("address", &self.address)
            .field("udp_address", &self.udp_address)
            .field("min_version", &self.min_version)
            .field("max_version", &self.max_version)
            .field("user", &self.user)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("connect_timeout", &self.connect_timeout)
            .field("session_timeout", &self.session_timeout)
            .field("stream_timeout", &self.stream_timeout)
            .field("lookup_timeout", &self.lookup_timeout)
            .finish()
    }
}
