//! The decisions of what is built on a session (accept loops, HTTP connectors, tunnels), made
//! here once so that every adapter's web server, HTTP client and tunnel behaves the same:
//! which accept errors are retried and after how long ([`Backoff`]), how long a name lookup is
//! reused ([`NameCache`]), what an `http://NAME.i2p:PORT/` URI connects to ([`http_target`]),
//! and how `DEST[:PORT]` is read ([`split_port`]).

use std::collections::BTreeMap;
use std::format;
use std::string::{String, ToString};
use std::time::Duration;

use super::{ClientError, ConnectOptions};
use crate::keys::Destination;
use crate::session::Time;
use crate::{ResultCode, Version};

/// Exponential backoff: `first`, then twice the last delay, at most `max`; [`Backoff::reset`]
/// after a success.
///
/// ```
/// use std::time::Duration;
/// use sam_proto::client::Backoff;
///
/// let mut backoff = Backoff::new(Duration::from_millis(50), Duration::from_millis(150));
/// assert_eq!(backoff.next_delay(), Duration::from_millis(50));
/// assert_eq!(backoff.next_delay(), Duration::from_millis(100));
/// assert_eq!(backoff.next_delay(), Duration::from_millis(150));
/// assert_eq!(backoff.attempts(), 3);
/// backoff.reset();
/// assert_eq!(backoff.next_delay(), Duration::from_millis(50));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Backoff {
    first: Duration,
    max: Duration,
    next: Duration,
    attempts: u32,
}

impl Backoff {
    /// Delays from `first`, doubling up to `max`.
    pub const fn new(first: Duration, max: Duration) -> Backoff {
        Backoff {
            first,
            max,
            next: first,
            attempts: 0,
        }
    }

    /// The backoff of accept loops (web servers, server tunnels): 50 ms doubling up to 2 s, so
    /// a refusing bridge is asked at most every 2 s and a passing hiccup costs 50 ms.
    pub const fn accept_loop() -> Backoff {
        Backoff::new(Duration::from_millis(50), Duration::from_secs(2))
    }

    /// The delay before the next attempt.
    pub fn next_delay(&mut self) -> Duration {
        let delay = self.next.min(self.max);
        self.next = delay.saturating_mul(2).min(self.max);
        self.attempts = self.attempts.saturating_add(1);
        delay
    }

    /// Attempts since the last [`Backoff::reset`].
    pub fn attempts(&self) -> u32 {
        self.attempts
    }

    /// After a success: the next delay is `first` again.
    pub fn reset(&mut self) {
        self.next = self.first;
        self.attempts = 0;
    }

    /// What an accept loop does after `error`: `Some(delay)` to accept again after `delay`,
    /// `None` to stop because no retry can succeed ([`ClientError::is_final`]).
    pub fn after_accept_error(&mut self, error: &ClientError) -> Option<Duration> {
        (!error.is_final()).then(|| self.next_delay())
    }
}

impl ClientError {
    /// `true` when repeating the operation on the same session cannot succeed: the session is
    /// closed (or the bridge no longer knows its ID), or the input or the bridge's version is
    /// wrong. Timeouts, I/O errors, malformed answers and other refusals may pass.
    ///
    /// ```
    /// use sam_proto::client::ClientError;
    /// use sam_proto::ResultCode;
    ///
    /// assert!(ClientError::SessionClosed.is_final());
    /// let busy = ClientError::Refused {
    ///     operation: "STREAM ACCEPT",
    ///     result: ResultCode::AlreadyAccepting,
    ///     message: None,
    /// };
    /// assert!(!busy.is_final());
    /// ```
    pub fn is_final(&self) -> bool {
        match self {
            ClientError::SessionClosed
            | ClientError::Key(_)
            | ClientError::InvalidInput(_)
            | ClientError::NeedsVersion { .. } => true,
            ClientError::Refused { result, .. } => *result == ResultCode::InvalidId,
            _ => false,
        }
    }
}

/// Name lookups (`.b32.i2p` addresses and host names) kept for a while, so that an HTTP
/// client does not ask the bridge once per request. Names are compared without ASCII case;
/// an entry lives `ttl` from its lookup; at `capacity` the oldest entry makes room.
///
/// ```
/// use std::time::Duration;
/// use sam_proto::client::NameCache;
/// # let dest = sam_proto::keys::Destination::from_bytes(&[0u8; 387]).unwrap();
///
/// let mut cache = NameCache::new(Duration::from_secs(600), 2);
/// cache.insert("Site.i2p", dest.clone(), Duration::ZERO);
/// assert_eq!(cache.get("site.i2p", Duration::from_secs(599)), Some(&dest));
/// assert_eq!(cache.get("site.i2p", Duration::from_secs(600)), None); // expired
/// ```
#[derive(Debug, Clone)]
pub struct NameCache {
    entries: BTreeMap<String, (Destination, Time)>,
    ttl: Duration,
    capacity: usize,
}

impl NameCache {
    /// Lookups of the HTTP connector: 10 minutes (host names can move; a b32 address never
    /// does, but its entry is cheap to refresh), 1,024 names.
    pub fn for_http() -> NameCache {
        NameCache::new(Duration::from_secs(600), 1024)
    }

    /// A cache of at most `capacity` names (at least one), each kept `ttl` from its lookup.
    pub fn new(ttl: Duration, capacity: usize) -> NameCache {
        NameCache {
            entries: BTreeMap::new(),
            ttl,
            capacity: capacity.max(1),
        }
    }

    /// The destination `name` was found at, if it was looked up less than `ttl` before `now`.
    pub fn get(&self, name: &str, now: Time) -> Option<&Destination> {
        let (destination, at) = self.entries.get(&name.to_ascii_lowercase())?;
        (now.saturating_sub(*at) < self.ttl).then_some(destination)
    }

    /// Records that `name` was found at `destination` at `now`.
    pub fn insert(&mut self, name: &str, destination: Destination, now: Time) {
        let ttl = self.ttl;
        self.entries
            .retain(|_, (_, at)| now.saturating_sub(*at) < ttl);
        if self.entries.len() >= self.capacity {
            let oldest = self
                .entries
                .iter()
                .min_by_key(|(_, (_, at))| *at)
                .map(|(name, _)| name.clone());
            if let Some(oldest) = oldest {
                self.entries.remove(&oldest);
            }
        }
        self.entries
            .insert(name.to_ascii_lowercase(), (destination, now));
    }

    /// Forgets `name` (after a connect to its destination failed, say).
    pub fn forget(&mut self, name: &str) {
        self.entries.remove(&name.to_ascii_lowercase());
    }

    /// Names held, expired ones included until the next insert.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// `true` when no name is held.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// Where an HTTP request to an I2P host goes: the name to look up and connect to, and the
/// connect options (the URI's port as `TO_PORT`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct HttpTarget {
    /// The host, lower-cased: `NAME.b32.i2p` or a host name ending in `.i2p`.
    pub host: String,
    /// `TO_PORT` = the URI's port, when it has one and the bridge speaks SAM 3.2 or later.
    pub options: ConnectOptions,
}

/// Reads the parts of a request URI an I2P HTTP connector needs. The scheme must be `http` or
/// `https` (TLS, if any, is the caller's layer) and the host must end in `.i2p`. An explicit
/// port becomes `TO_PORT` where the bridge has ports (SAM 3.2+); without one the stream goes
/// to port 0, which every I2P service accepts. Older bridges ignore the port.
///
/// ```
/// use sam_proto::client::http_target;
/// use sam_proto::Version;
///
/// let target = http_target(Some("http"), Some("Forum.I2P"), Some(8080), Version::V3_3).unwrap();
/// assert_eq!((target.host.as_str(), target.options.to_port), ("forum.i2p", Some(8080)));
/// assert!(http_target(Some("http"), Some("example.com"), None, Version::V3_3).is_err());
/// ```
pub fn http_target(
    scheme: Option<&str>,
    host: Option<&str>,
    port: Option<u16>,
    version: Version,
) -> Result<HttpTarget, ClientError> {
    let refuse = |why: &str| Err(ClientError::InvalidInput(why.to_string()));
    match scheme {
        Some(s) if s.eq_ignore_ascii_case("http") || s.eq_ignore_ascii_case("https") => {}
        Some(s) => {
            return refuse(&format!(
                "scheme {s:?}: an I2P connector takes http or https"
            ))
        }
        None => return refuse("the URI has no scheme (http://NAME.i2p/)"),
    }
    let Some(host) = host else {
        return refuse("the URI has no host (http://NAME.i2p/)");
    };
    let host = host.to_ascii_lowercase();
    if !host.ends_with(".i2p") || host.len() == ".i2p".len() {
        return refuse(&format!(
            "{host:?} is not an I2P host (NAME.i2p or NAME.b32.i2p)"
        ));
    }
    let mut options = ConnectOptions::new();
    if version >= Version::V3_2 {
        options.to_port = port;
    }
    Ok(HttpTarget { host, options })
}

/// Splits `DEST[:PORT]` (a host name, a `.b32.i2p` address or a base64 destination, which has
/// no `:`) into the destination and the port.
///
/// ```
/// use sam_proto::client::split_port;
///
/// assert_eq!(split_port("site.i2p:8080").unwrap(), ("site.i2p", Some(8080)));
/// assert_eq!(split_port("site.i2p").unwrap(), ("site.i2p", None));
/// assert!(split_port("site.i2p:http").is_err());
/// ```
pub fn split_port(target: &str) -> Result<(&str, Option<u16>), ClientError> {
    let invalid = |why: String| ClientError::InvalidInput(why);
    match target.rsplit_once(':') {
        None if target.is_empty() => Err(invalid("an empty destination".to_string())),
        None => Ok((target, None)),
        Some((dest, port)) => {
            let port = port
                .parse::<u16>()
                .map_err(|_| invalid(format!("{target:?}: the port {port:?} is not 0-65535")))?;
            match dest.is_empty() {
                true => Err(invalid(format!("{target:?} has no destination"))),
                false => Ok((dest, Some(port))),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::vec::Vec;

    fn dest(byte: u8) -> Destination {
        let mut bytes = [0u8; 387];
        bytes[0] = byte;
        Destination::from_bytes(&bytes).unwrap()
    }

    #[test]
    fn backoff_doubles_to_its_cap_and_resets() {
        let mut backoff = Backoff::accept_loop();
        let delays: Vec<u64> = (0..8)
            .map(|_| backoff.next_delay().as_millis() as u64)
            .collect();
        assert_eq!(delays, [50, 100, 200, 400, 800, 1600, 2000, 2000]);
        backoff.reset();
        assert_eq!(backoff.next_delay(), Duration::from_millis(50));
    }

    #[test]
    fn accept_loops_stop_on_a_closed_session_and_retry_a_refusal() {
        let mut backoff = Backoff::accept_loop();
        assert_eq!(
            backoff.after_accept_error(&ClientError::SessionClosed),
            None
        );
        let unknown_id = ClientError::Refused {
            operation: "STREAM ACCEPT",
            result: ResultCode::InvalidId,
            message: None,
        };
        assert_eq!(backoff.after_accept_error(&unknown_id), None);
        let timeout = ClientError::Timeout {
            operation: "STREAM ACCEPT",
            after: Duration::from_secs(1),
        };
        assert_eq!(
            backoff.after_accept_error(&timeout),
            Some(Duration::from_millis(50))
        );
        let io = ClientError::Io(std::io::ErrorKind::ConnectionReset.into());
        assert_eq!(
            backoff.after_accept_error(&io),
            Some(Duration::from_millis(100))
        );
    }

    #[test]
    fn the_name_cache_expires_entries_and_evicts_the_oldest_at_capacity() {
        let mut cache = NameCache::new(Duration::from_secs(10), 2);
        let at = Duration::from_secs;
        cache.insert("a.i2p", dest(1), at(0));
        cache.insert("B.i2p", dest(2), at(1));
        assert_eq!(cache.get("b.I2P", at(5)), Some(&dest(2)));
        cache.insert("c.i2p", dest(3), at(2)); // full: a.i2p (oldest) goes
        assert_eq!(cache.get("a.i2p", at(2)), None);
        assert_eq!(cache.len(), 2);
        assert_eq!(cache.get("c.i2p", at(11)), Some(&dest(3)));
        assert_eq!(cache.get("c.i2p", at(12)), None);
        cache.forget("B.I2P");
        assert_eq!(cache.get("b.i2p", at(3)), None);
    }

    #[test]
    fn http_targets_take_i2p_hosts_and_the_port_where_the_bridge_has_ports() {
        let t = http_target(Some("HTTP"), Some("x.b32.i2p"), Some(81), Version::V3_1).unwrap();
        assert_eq!((t.host.as_str(), t.options.to_port), ("x.b32.i2p", None));
        let t = http_target(Some("https"), Some("x.i2p"), None, Version::V3_3).unwrap();
        assert_eq!(t.options, ConnectOptions::new());
        for (scheme, host) in [
            (Some("ftp"), Some("x.i2p")),
            (None, Some("x.i2p")),
            (Some("http"), None),
            (Some("http"), Some(".i2p")),
            (Some("http"), Some("x.i2p.example")),
        ] {
            let error = http_target(scheme, host, None, Version::V3_3).unwrap_err();
            assert!(
                matches!(error, ClientError::InvalidInput(_)),
                "{scheme:?} {host:?}"
            );
        }
    }

    #[test]
    fn split_port_reads_dest_and_port() {
        assert_eq!(split_port("a.b32.i2p:0").unwrap(), ("a.b32.i2p", Some(0)));
        for bad in ["", ":80", "a.i2p:", "a.i2p:65536", "a.i2p:-1"] {
            assert!(split_port(bad).is_err(), "{bad:?}");
        }
    }
}
