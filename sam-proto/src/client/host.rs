//! What needs an operating system: entropy, the environment, sockets' addresses. Everything
//! here is behind the `std` feature; the rest of sam-proto (and the whole session core) is
//! `no_std` + `alloc`, which the test command proves by building for `thumbv7em-none-eabihf`.

use std::borrow::ToOwned;
use std::string::String;

use super::{ClientError, ClientResult, SamConfig, ENV_ADDR, ENV_UDP_ADDR};

/// Fresh entropy for [`SessionId::random`]: std's randomly keyed SipHash (seeded by the OS)
/// over a counter, the time and the process ID, so other bridge clients cannot guess IDs.
pub fn random_seed() -> u64 {
    use core::hash::{BuildHasher, Hasher};
    use core::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    hasher.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default(),
    );
    hasher.write_u32(std::process::id());
    hasher.finish()
}

/// A `PING` for [`Exchange`](crate::exchange::Exchange) on a socket of its own, with a fresh
/// text so that only the answer to this ping matches.
pub fn ping_command() -> crate::command::Ping<'static> {
    crate::command::Ping {
        text: Some(alloc::borrow::Cow::Owned(alloc::format!(
            "{:016x}",
            random_seed()
        ))),
    }
}

/// Where to send datagrams when [`SamConfig::udp_address`] is not set: the host the control
/// connection went to, TCP port − 1 (7655 for 7656, as both routers do by default).
pub fn default_udp_bridge(tcp_peer: std::net::SocketAddr) -> ClientResult<std::net::SocketAddr> {
    let port = tcp_peer.port().checked_sub(1).ok_or_else(|| {
        ClientError::InvalidInput(String::from("no SAM UDP port below TCP port 0"))
    })?;
    Ok(std::net::SocketAddr::new(tcp_peer.ip(), port))
}

impl SamConfig {
    /// The defaults, with `SAM_ADDR` and `SAM_UDP_ADDR` taken from the environment when set.
        pub fn from_env() -> SamConfig {
        let mut config = SamConfig::default();
        if let Some(addr) = env_value(ENV_ADDR) {
            config.address = addr;
        }
        if let Some(addr) = env_value(ENV_UDP_ADDR) {
            config.udp_address = Some(addr);
        }
        config
    }
}

fn env_value(name: &str) -> Option<String> {
    std::env::var(name)
        .ok()
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
}


/// `true` when a UDP packet that came from `from` may be a datagram the bridge forwarded: it
/// must come from the bridge's SAM UDP address, IP and port. i2pd 2.45, i2pd 2.59 and emissary
/// 0.4 all forward from the socket they receive on (`testbed/datagram-sources.md`); a packet
/// from anywhere else is another local process (or, with a remote bridge, a host on the
/// path) naming any sender it likes, and must be dropped unread.
pub fn forwarded_by_bridge(from: std::net::SocketAddr, bridge: std::net::SocketAddr) -> bool {
    from == bridge
}
