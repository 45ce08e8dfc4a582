//! The decisions of a TCP ⇄ I2P tunnel, made once for every adapter: what `DEST[:PORT]`
//! connects to ([`client_target`]), the default limits ([`TUNNEL_LIMIT`], [`TUNNEL_GRACE`],
//! [`TUNNEL_LINGER`]), when a failed copy only met a close ([`ends_connection`]),
//! and what a tunnel reports ([`TunnelEvent`], whose `Display` is the log line, one per event,
//! never a private key).
//!
//! ```
//! use std::time::Duration;
//! use sam_proto::client::{I2pEnd, TunnelConnection, TunnelEvent, TunnelKind};
//!
//! let peer: sam_proto::keys::B32Address =
//!     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.b32.i2p".parse().unwrap();
//! let local = "127.0.0.1:8000".parse().unwrap();
//! let connection = TunnelConnection::new(7, TunnelKind::Server, local, I2pEnd::Address(peer));
//! let closed = TunnelEvent::Closed {
//!     connection,
//!     to_i2p: 1024,
//!     from_i2p: 80,
//!     elapsed: Duration::from_millis(1500),
//! };
//! assert_eq!(
//!     closed.to_string(),
//!     "#7 aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.b32.i2p -> 127.0.0.1:8000 \
//!      closed: 80 B from I2P, 1024 B to I2P, 1.500 s"
//! );
//! ```

use std::error::Error as StdError;
use std::fmt;
use std::net::SocketAddr;
use std::string::{String, ToString};
use std::time::Duration;

use super::{split_port, ClientError, ConnectOptions};
use crate::keys::{B32Address, Destination};
use crate::Version;

/// Connections a tunnel serves at once unless told otherwise. Beyond it a client tunnel stops
/// accepting local connections and a server tunnel stops accepting I2P streams until one ends.
pub const TUNNEL_LIMIT: usize = 64;

/// How long a tunnel's shutdown lets open connections finish before cutting them.
pub const TUNNEL_GRACE: Duration = Duration::from_secs(10);

/// How long a server tunnel keeps the I2P stream open after the local service ended its side,
/// waiting for the peer to end the stream first (which says it has everything).
///
/// SAM bridges close the whole I2P stream when the socket to them is closed or half-closed,
/// and i2pd 2.59 loses the end of a stream closed right after its last write: a 1 MiB HTTP
/// answer as the first stream of fresh tunnels stalled 2 to 18 KiB short of its end, with no
/// end of stream, in 3 of 6 tries when the server side closed at once, and in none of 6 when it
/// waited for the peer (who closed after the last byte, within a second).
/// Waiting for the peer's end costs nothing to a protocol whose client closes when it has the
/// whole answer (HTTP with a length); a protocol that marks its end by closing sees the end up
/// to this much later.
pub const TUNNEL_LINGER: Duration = Duration::from_secs(5);

/// `true` when a copy that failed with `error` only met the other end's close (a reset, a
/// broken pipe): the connection ended, it did not fail.
pub fn ends_connection(error: &std::io::Error) -> bool {
    use std::io::ErrorKind::{BrokenPipe, ConnectionAborted, ConnectionReset, NotConnected};
    matches!(
        error.kind(),
        BrokenPipe | ConnectionReset | ConnectionAborted | NotConnected
    )
}

/// Which way a tunnel carries connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TunnelKind {
    /// Local TCP connections become I2P streams to one destination.
    Client,
    /// I2P streams to our destination become TCP connections to a local address, through an
    /// accept loop (one log line and one slot of the limit per connection).
    Server,
    /// Like [`TunnelKind::Server`], but the bridge connects to the local address itself
    /// (`STREAM FORWARD … SILENT=true`): no process in between, so no per-connection event,
    /// limit or peer address.
    SilentServer,
}

impl fmt::Display for TunnelKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TunnelKind::Client => "client",
            TunnelKind::Server => "server",
            TunnelKind::SilentServer => "silent server",
        })
    }
}

/// The I2P end of a tunnel connection: the peer of a server tunnel, the destination of a
/// client tunnel.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum I2pEnd {
    /// A destination, shown as its `.b32.i2p` address.
    Address(B32Address),
    /// A host name the bridge resolves (`site.i2p`).
    Name(String),
    /// The bridge did not say who connected.
    Unknown,
}

impl I2pEnd {
    /// `dest` as given to a connect: a `.b32.i2p` address, a base64 destination (shown as its
    /// b32 address) or a host name.
    pub fn from_target(dest: &str) -> I2pEnd {
        if let Ok(address) = dest.parse::<B32Address>() {
            return I2pEnd::Address(address);
        }
        match Destination::from_base64(dest) {
            Ok(destination) => I2pEnd::Address(destination.b32_address()),
            Err(_) => I2pEnd::Name(dest.to_string()),
        }
    }

    /// The peer the bridge named for an accepted stream.
    pub fn from_peer(peer: Option<&Destination>) -> I2pEnd {
        peer.map_or(I2pEnd::Unknown, |d| I2pEnd::Address(d.b32_address()))
    }
}

impl fmt::Display for I2pEnd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            I2pEnd::Address(address) => write!(f, "{address}"),
            I2pEnd::Name(name) => f.write_str(name),
            I2pEnd::Unknown => f.write_str("an unknown peer"),
        }
    }
}

/// Where a client tunnel connects: the destination for `STREAM CONNECT`, its options and how
/// the log shows it ([`client_target`]).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ClientTarget {
    /// The destination as given (base64, `.b32.i2p` or a host name), without the port.
    pub dest: String,
    /// `TO_PORT` = the port of `DEST:PORT`, if one was given.
    pub options: ConnectOptions,
    /// The destination as the log shows it.
    pub shown: I2pEnd,
    /// The port of `DEST:PORT`, if one was given.
    pub port: Option<u16>,
}

impl fmt::Display for ClientTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.port {
            Some(port) => write!(f, "{}:{port}", self.shown),
            None => write!(f, "{}", self.shown),
        }
    }
}

/// Reads a client tunnel's `DEST[:PORT]` for a bridge speaking `version`. The port becomes
/// `TO_PORT`, which needs SAM 3.2: on an older bridge a port is refused here, once, rather than
/// ignored (the stream would reach another service) or refused on every connection.
///
/// ```
/// use sam_proto::client::client_target;
/// use sam_proto::Version;
///
/// let target = client_target("site.i2p:8080", Version::V3_3).unwrap();
/// assert_eq!((target.dest.as_str(), target.options.to_port), ("site.i2p", Some(8080)));
/// assert!(client_target("site.i2p:8080", Version::V3_1).is_err());
/// assert_eq!(client_target("site.i2p", Version::V3_1).unwrap().options.to_port, None);
/// ```
pub fn client_target(target: &str, version: Version) -> Result<ClientTarget, ClientError> {
    let (dest, port) = split_port(target)?;
    if port.is_some() && version < Version::V3_2 {
        return Err(ClientError::NeedsVersion {
            operation: "STREAM CONNECT TO_PORT",
            needs: Version::V3_2,
            negotiated: version,
        });
    }
    let mut options = ConnectOptions::new();
    options.to_port = port;
    Ok(ClientTarget {
        dest: dest.to_string(),
        options,
        shown: I2pEnd::from_target(dest),
        port,
    })
}

/// One connection through a tunnel, as its events name it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TunnelConnection {
    /// The connection's number in this tunnel, from 1.
    pub id: u64,
    /// The tunnel's kind.
    pub kind: TunnelKind,
    /// The TCP end: the local peer that connected (client tunnel) or the target (server).
    pub local: SocketAddr,
    /// The I2P end: the destination (client tunnel) or the peer that connected (server).
    pub i2p: I2pEnd,
}

impl TunnelConnection {
    /// Connection `id` of a `kind` tunnel between `local` and `i2p`.
    pub fn new(id: u64, kind: TunnelKind, local: SocketAddr, i2p: I2pEnd) -> TunnelConnection {
        TunnelConnection {
            id,
            kind,
            local,
            i2p,
        }
    }
}

impl fmt::Display for TunnelConnection {
    /// `#ID FROM -> TO`, in the direction the connection was opened.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            TunnelKind::Client => write!(f, "#{} {} -> {}", self.id, self.local, self.i2p),
            _ => write!(f, "#{} {} -> {}", self.id, self.i2p, self.local),
        }
    }
}

/// What a tunnel reports to its callback; `Display` is the log line.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TunnelEvent {
    /// The tunnel accepts connections.
    Ready {
        /// The tunnel's kind.
        kind: TunnelKind,
        /// Our destination's address.
        address: B32Address,
        /// Where local connections come from (client: the listener) or go to (server).
        local: SocketAddr,
        /// Client tunnels: where the streams go (`DEST[:PORT]` as the log shows it).
        target: Option<String>,
        /// Connections served at once (`None` for a silent server, which has no limit).
        limit: Option<usize>,
    },
    /// A connection was opened on both sides.
    Opened(TunnelConnection),
    /// A connection ended; byte counts are what was copied each way.
    Closed {
        /// The connection.
        connection: TunnelConnection,
        /// Bytes copied towards the I2P end.
        to_i2p: u64,
        /// Bytes copied from the I2P end.
        from_i2p: u64,
        /// Time from open to close.
        elapsed: Duration,
    },
    /// A connection could not be opened, or ended with an error.
    Failed {
        /// The connection.
        connection: TunnelConnection,
        /// What went wrong, on one line.
        error: String,
    },
    /// The limit of connections is reached: the tunnel accepts again when one ends.
    AtLimit {
        /// The limit.
        limit: usize,
    },
    /// Accepting failed; the tunnel tries again after `delay`.
    AcceptRetry {
        /// What went wrong, on one line.
        error: String,
        /// The wait before the next attempt.
        delay: Duration,
        /// Failed attempts in a row.
        attempt: u32,
    },
    /// Accepting failed in a way no retry can mend (the session is closed, say): the tunnel
    /// stops.
    AcceptStopped {
        /// What went wrong, on one line.
        error: String,
    },
    /// Shutdown began: no new connection is accepted; open ones get up to `grace` to end.
    ShuttingDown {
        /// Connections still open.
        open: usize,
        /// How long they may take.
        grace: Duration,
    },
    /// The tunnel has stopped and its session is closed.
    Stopped {
        /// Connections cut because they outlived the grace period.
        cut: usize,
    },
}

impl fmt::Display for TunnelEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TunnelEvent::Ready {
                kind,
                address,
                local,
                target,
                limit,
            } => {
                match (kind, target) {
                    (TunnelKind::Client, Some(target)) => {
                        write!(f, "tunnel client on {local} -> {target} (we are {address})")?
                    }
                    (TunnelKind::Client, None) => {
                        write!(f, "tunnel client on {local} (we are {address})")?
                    }
                    (TunnelKind::Server, _) => write!(f, "tunnel server at {address} -> {local}")?,
                    (TunnelKind::SilentServer, _) => write!(
                        f,
                        "tunnel server at {address} -> {local} (silent forwarding by the \
                         bridge: no per-connection log or limit)"
                    )?,
                }
                match limit {
                    Some(limit) => write!(f, ", at most {limit} connections at once"),
                    None => Ok(()),
                }
            }
            TunnelEvent::Opened(connection) => write!(f, "{connection} opened"),
            TunnelEvent::Closed {
                connection,
                to_i2p,
                from_i2p,
                elapsed,
            } => write!(
                f,
                "{connection} closed: {from_i2p} B from I2P, {to_i2p} B to I2P, {}.{:03} s",
                elapsed.as_secs(),
                elapsed.subsec_millis()
            ),
            TunnelEvent::Failed { connection, error } => {
                write!(f, "{connection} failed: {error}")
            }
            TunnelEvent::AtLimit { limit } => write!(
                f,
                "{limit} connections open (the limit): waiting for one to end"
            ),
            TunnelEvent::AcceptRetry {
                error,
                delay,
                attempt,
            } => write!(
                f,
                "accept failed ({error}); retrying in {} ms (attempt {attempt})",
                delay.as_millis()
            ),
            TunnelEvent::AcceptStopped { error } => {
                write!(f, "accept failed for good ({error}): tunnel stopping")
            }
            TunnelEvent::ShuttingDown { open, grace } => write!(
                f,
                "shutting down: {open} connection(s) open, waiting up to {}.{:03} s",
                grace.as_secs(),
                grace.subsec_millis()
            ),
            TunnelEvent::Stopped { cut: 0 } => f.write_str("tunnel stopped"),
            TunnelEvent::Stopped { cut } => write!(
                f,
                "tunnel stopped ({cut} connection(s) cut at the end of the grace period)"
            ),
        }
    }
}

/// An error and its sources on one line, each source once (for logs and a CLI's stderr).
///
/// ```
/// use sam_proto::client::{error_line, ClientError};
///
/// let error = ClientError::Io(std::io::Error::other("line one\nline two"));
/// assert!(!error_line(&error).contains('\n'));
/// ```
pub fn error_line(error: &dyn StdError) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(s) = source {
        let s_text = s.to_string();
        if !text.contains(&s_text) {
            text.push_str(": ");
            text.push_str(&s_text);
        }
        source = s.source();
    }
    text.replace(['\n', '\r'], " ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::format;

    const B32: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.b32.i2p";

    fn dest() -> Destination {
        Destination::from_bytes(&[0u8; 387]).unwrap()
    }

    fn connection(kind: TunnelKind) -> TunnelConnection {
        TunnelConnection {
            id: 3,
            kind,
            local: "127.0.0.1:5000".parse().unwrap(),
            i2p: I2pEnd::Address(B32.parse().unwrap()),
        }
    }

    #[test]
    fn client_targets_take_a_port_only_where_the_bridge_has_ports() {
        let t = client_target(&format!("{B32}:80"), Version::V3_2).unwrap();
        assert_eq!((t.dest.as_str(), t.options.to_port), (B32, Some(80)));
        assert_eq!(t.to_string(), format!("{B32}:80"));
        assert!(!t.options.silent);
        let error = client_target(&format!("{B32}:80"), Version::V3_1).unwrap_err();
        assert!(matches!(error, ClientError::NeedsVersion { .. }), "{error}");
        for bad in ["", "x.i2p:http", ":80"] {
            assert!(client_target(bad, Version::V3_3).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn the_i2p_end_shows_a_b32_address_whenever_one_is_known() {
        let b64 = dest().to_base64();
        let b32 = dest().b32_address();
        assert_eq!(I2pEnd::from_target(&b64), I2pEnd::Address(b32));
        assert_eq!(client_target(&b64, Version::V3_1).unwrap().dest, b64);
        assert_eq!(
            I2pEnd::from_target(B32),
            I2pEnd::Address(B32.parse().unwrap())
        );
        assert_eq!(
            I2pEnd::from_target("forum.i2p"),
            I2pEnd::Name("forum.i2p".into())
        );
        assert_eq!(I2pEnd::from_peer(Some(&dest())), I2pEnd::Address(b32));
        assert_eq!(I2pEnd::from_peer(None).to_string(), "an unknown peer");
    }

    #[test]
    fn connection_lines_read_in_the_direction_of_the_connection() {
        assert_eq!(
            TunnelEvent::Opened(connection(TunnelKind::Client)).to_string(),
            format!("#3 127.0.0.1:5000 -> {B32} opened")
        );
        let failed = TunnelEvent::Failed {
            connection: connection(TunnelKind::Server),
            error: "connection refused".into(),
        };
        assert_eq!(
            failed.to_string(),
            format!("#3 {B32} -> 127.0.0.1:5000 failed: connection refused")
        );
    }

    #[test]
    fn every_event_is_one_line() {
        let address: B32Address = B32.parse().unwrap();
        let local: SocketAddr = "127.0.0.1:8080".parse().unwrap();
        let events = [
            TunnelEvent::Ready {
                kind: TunnelKind::Client,
                address,
                local,
                target: Some("site.i2p:80".into()),
                limit: Some(64),
            },
            TunnelEvent::Ready {
                kind: TunnelKind::Server,
                address,
                local,
                target: None,
                limit: Some(2),
            },
            TunnelEvent::Ready {
                kind: TunnelKind::SilentServer,
                address,
                local,
                target: None,
                limit: None,
            },
            TunnelEvent::AtLimit { limit: 64 },
            TunnelEvent::AcceptRetry {
                error: "timed out".into(),
                delay: Duration::from_millis(200),
                attempt: 3,
            },
            TunnelEvent::AcceptStopped {
                error: "session closed".into(),
            },
            TunnelEvent::ShuttingDown {
                open: 2,
                grace: TUNNEL_GRACE,
            },
            TunnelEvent::Stopped { cut: 0 },
            TunnelEvent::Stopped { cut: 1 },
        ];
        let lines: std::vec::Vec<String> = events.iter().map(|e| e.to_string()).collect();
        for line in &lines {
            assert!(!line.is_empty() && !line.contains('\n'), "{line:?}");
        }
        assert_eq!(
            lines[0],
            format!("tunnel client on {local} -> site.i2p:80 (we are {B32}), at most 64 connections at once")
        );
        assert!(lines[1].starts_with(&format!("tunnel server at {B32} -> {local}")));
        assert!(lines[2].contains("no per-connection log or limit"));
        assert_eq!(
            lines[4],
            "accept failed (timed out); retrying in 200 ms (attempt 3)"
        );
        assert_eq!(lines[7], "tunnel stopped");
    }

    #[test]
    fn a_reset_or_a_broken_pipe_ends_a_connection_other_errors_fail_it() {
        use std::io::{Error, ErrorKind};
        for kind in [ErrorKind::BrokenPipe, ErrorKind::ConnectionReset] {
            assert!(ends_connection(&Error::from(kind)), "{kind:?}");
        }
        for kind in [ErrorKind::TimedOut, ErrorKind::PermissionDenied] {
            assert!(!ends_connection(&Error::from(kind)), "{kind:?}");
        }
        assert!(TUNNEL_LINGER < TUNNEL_GRACE);
    }

    #[test]
    fn error_lines_hold_each_source_once() {
        #[derive(Debug)]
        struct Outer(std::io::Error);
        impl fmt::Display for Outer {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("reading keys")
            }
        }
        impl StdError for Outer {
            fn source(&self) -> Option<&(dyn StdError + 'static)> {
                Some(&self.0)
            }
        }
        let error = Outer(std::io::Error::other("no such\nfile"));
        assert_eq!(error_line(&error), "reading keys: no such file");
        let io = ClientError::Io(std::io::Error::other("refused"));
        assert_eq!(error_line(&io).matches("refused").count(), 1);
    }
}
