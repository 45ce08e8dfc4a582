//! What every client adapter shares above the wire format: the options users fill in, the
//! commands they turn into, and how received datagrams read.
//!
//! The `sam-tokio`, `sam-async-std` and `sam-blocking` crates re-export these types, so a
//! program switches runtime by changing an import, and the defaults (Ed25519 keys, modern
//! lease set encryption, `FROM_PORT=0` on sub-sessions) are decided here, once.
//!
//! ```
//! use sam_proto::client::{SessionOptions, Style};
//! use sam_proto::{SessionId, Version};
//!
//! let options = SessionOptions::new(Style::Stream).option("inbound.length", "0");
//! let id = SessionId::new("chat").unwrap();
//! let create = options.create_command(id, Version::V3_1, false, None);
//! let line = sam_proto::Message::to_bytes(&create, Version::V3_1).unwrap();
//! assert_eq!(
//!     line,
//!     b"SESSION CREATE STYLE=STREAM ID=chat DESTINATION=TRANSIENT SIGNATURE_TYPE=7 \
//!       i2cp.leaseSetEncType=4,0 inbound.length=0\n"
//! );
//! ```
//!
//! # The adapters' API
//!
//! The three adapters have the same nouns and verbs; what they mean is written here, once
//! (timeouts: [`crate::session`]).
//!
//! * **`Sam`**: the bridge handle ([`SamConfig`]). Every call opens a socket of its own.
//!   `generate_destination(sig)` (`DEST GENERATE`; nothing is published), `lookup(name)`
//!   (`NAMING LOOKUP` without a session: bridges resolve through a shared router destination
//!   that may not fetch lease sets, so a session's `lookup` is the reliable way), `ping()`
//!   ([`ping_command`]), `session(options)` (`SESSION CREATE`, [`SessionOptions`]).
//! * **`Session`**: a destination on the bridge with its control socket; clones are the same
//!   session. `connect(dest)` / `connect_with(dest, ConnectOptions)`: a stream to a base64
//!   destination, a `.b32.i2p` address or a host name (passed as-is). `accept()`: the next
//!   stream someone opens to us, on a socket of its own, without a timeout; several may wait
//!   at once. `incoming()`: one accept after another. `forward(addr)`: the bridge connects
//!   to `addr` for every incoming stream while the `Forward` lives (`read_forwarded` reads
//!   the peer line first). `lookup(name)`: `NAMING LOOKUP` on the control socket (also
//!   `ME`); `lookup_with_options(name)`: the same with `OPTIONS=true`, giving the lease set's
//!   options when the bridge answers them ([`LeaseSetOptions`](crate::reply::LeaseSetOptions)). `add(SubsessionOptions)` / `remove(id)`: sub-sessions of a
//!   [`Style::Primary`] session, sharing its control socket. `datagram_socket()`: send and
//!   receive a DATAGRAM or RAW session's datagrams ([`DatagramInbox`]). `close()`: `QUIT` on a
//!   3.2+ bridge, then the control socket closes, and with it every sub-session and stream.
//!   `closed()`: returns once the control socket is closed (async adapters).
//! * **`Service`**: a destination kept online across bridge restarts ([`Supervisor`],
//!   [`RecoveryPolicy`]): `Service::start(&sam, options, policy)` (or `start_observed` with a
//!   callback for every [`ServiceState`]), `state()`, `session()` (the online one, waited
//!   for), `accept()` / `incoming()` across sessions, `forward(to)` (asked for again on every
//!   new session), `stop()`. A plain `Session` keeps failing fast.
//! * **Lifetimes**: a `Stream` from `connect`/`accept`, a `Forward`, `IncomingStreams` and a
//!   `DatagramSocket` keep their session alive; the session closes when its last handle is
//!   dropped, when `close()` is called, or when the bridge closes the control socket. After
//!   that every call fails with [`ClientError::SessionClosed`].
//! * **`Stream`**: the runtime's TCP stream plus the bytes read past the handshake
//!   ([`Leftover`]), read first; after the handshake it costs what the raw socket costs.
//! * **Cancel safety** (async adapters): dropping any future at any await leaves the session
//!   usable. Stream operations own their socket, which dropping closes; a control-socket
//!   command is finished by the control task and its answer dropped.

#[cfg(feature = "std")]
mod api;
mod config;
#[cfg(feature = "std")]
mod error;
#[cfg(feature = "std")]
mod host;
#[cfg(feature = "std")]
mod io;
#[cfg(feature = "std")]
mod keyfile;
mod leftover;
#[cfg(feature = "std")]
mod service;
#[cfg(feature = "std")]
mod supervise;
#[cfg(feature = "std")]
mod tunnel;

pub use config::{SamConfig, ENV_ADDR, ENV_UDP_ADDR};
#[cfg(feature = "std")]
pub use error::{ClientError, ClientResult};
#[cfg(feature = "std")]
pub use host::{
    default_udp_bridge, forwarded_by_bridge, ping_command, random_seed, udp_bridge,
    udp_bridge_with, AcceptIter, AcceptedStream, Accepts, BoxFuture, DatagramCounts, DatagramInbox,
    Forward, Incoming, Peer, Target, DATAGRAM_QUEUE,
};
#[cfg(feature = "std")]
pub use io::{
    block_on, control_loop, drive, quick_ack, std_instant, std_now, time_left, ControlInput,
    ControlIo, Driven, Reply, Transport, Waiters,
};
#[cfg(feature = "std")]
pub use keyfile::{load_keys_blocking, save_keys_blocking};
pub use leftover::Leftover;
#[cfg(feature = "std")]
pub use service::{http_target, split_port, Backoff, HttpTarget, NameCache};
#[cfg(feature = "std")]
pub use supervise::{
    after_service_accept, online_session, service_loop, AcceptNext, RecoveryPolicy, ServiceIo,
    ServiceState, ServiceWake, StateObserver, Supervisor,
};
#[cfg(feature = "std")]
pub use tunnel::{
    client_target, ends_connection, error_line, ClientTarget, I2pEnd, TunnelConnection,
    TunnelEvent, TunnelKind, TUNNEL_GRACE, TUNNEL_LIMIT, TUNNEL_LINGER,
};

/// How long the adapters' `Session::close` waits for the bridge to act on `QUIT` (SAM 3.2+)
/// before closing the socket anyway. i2pd 2.59 closes at once; without `QUIT`, emissary keeps
/// the session's ID and destination reserved for 60 s.
pub const QUIT_WAIT: core::time::Duration = core::time::Duration::from_secs(2);

use alloc::borrow::Cow;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt;

use crate::command::{
    options as option_list, SessionAdd, SessionCreate, StreamConnect, StreamForward,
};
use crate::control::ReceivedDatagram;
use crate::datagram::{parse_repliable, HashedPeer, RawHeader};
use crate::error::Error;
use crate::keys::{Destination, PrivateKeys, SigType, SourceHash};
use crate::message::RedactedOptions;
use crate::result::ResultCode;
use crate::types::{Secret, SessionId, SessionStyle, Version};

/// `DESTINATION=TRANSIENT`: "make me a new destination".
pub const TRANSIENT: &str = "TRANSIENT";

/// Options every new session gets unless the caller sets them: modern lease set encryption
/// (ECIES-X25519 with ElGamal fallback), which routers do not default to.
pub const DEFAULT_OPTIONS: &[(&str, &str)] = &[(LEASE_SET_ENC_TYPE, "4,0")];

/// The I2CP option naming the lease set's encryption types.
const LEASE_SET_ENC_TYPE: &str = "i2cp.leaseSetEncType";

/// The kind of session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Style {
    /// Virtual streams (`STYLE=STREAM`): connect, accept, forward.
    Stream,
    /// Repliable, authenticated datagrams (`STYLE=DATAGRAM`).
    Datagram,
    /// Anonymous raw datagrams (`STYLE=RAW`).
    Raw,
    /// Repliable, authenticated datagrams with replay protection, which offline-signed
    /// destinations may send (`STYLE=DATAGRAM2`, Proposal 163; i2pd 2.58+, Java 0.9.68+).
    /// Received datagrams name the verified sender, as with [`Style::Datagram`].
    Datagram2,
    /// Repliable but unauthenticated datagrams (`STYLE=DATAGRAM3`): received datagrams name
    /// the sender only by its hash ([`Received::source_hash`]); look its
    /// [`b32_address`](crate::keys::SourceHash::b32_address) up to reply. Meant for
    /// ECIES-X25519 destinations: i2pd 2.59 delivers nothing between sessions whose
    /// `i2cp.leaseSetEncType` is `0` (ElGamal) only; the default `4,0` works.
    Datagram3,
    /// A primary session holding sub-sessions (`STYLE=PRIMARY`, or `MASTER` on bridges that
    /// predate the name: always below SAM 3.3, and as a fallback when a 3.3 bridge refuses).
    Primary,
}

impl Style {
    /// The style's name (`"STREAM"`, `"DATAGRAM"`, `"RAW"`, `"DATAGRAM2"`, `"DATAGRAM3"`,
    /// `"PRIMARY"`).
    pub fn name(self) -> &'static str {
        match self {
            Style::Stream => "STREAM",
            Style::Datagram => "DATAGRAM",
            Style::Raw => "RAW",
            Style::Datagram2 => "DATAGRAM2",
            Style::Datagram3 => "DATAGRAM3",
            Style::Primary => "PRIMARY",
        }
    }

    /// `true` for the datagram styles (DATAGRAM, DATAGRAM2, DATAGRAM3, RAW): they have a
    /// datagram socket, sent through the bridge's UDP port.
    pub fn uses_udp(self) -> bool {
        matches!(
            self,
            Style::Datagram | Style::Raw | Style::Datagram2 | Style::Datagram3
        )
    }

    /// The `STYLE=` word for a bridge that negotiated `version`. `prefer_primary`: send
    /// `PRIMARY` to a 3.3 bridge (pass `false` to retry with `MASTER` after a refusal).
    pub fn session_style(self, version: Version, prefer_primary: bool) -> SessionStyle {
        match self {
            Style::Stream => SessionStyle::Stream,
            Style::Datagram => SessionStyle::Datagram,
            Style::Raw => SessionStyle::Raw,
            Style::Datagram2 => SessionStyle::Datagram2,
            Style::Datagram3 => SessionStyle::Datagram3,
            Style::Primary if prefer_primary && version >= Version::V3_3 => SessionStyle::Primary,
            Style::Primary => SessionStyle::Master,
        }
    }
}

/// `true` when a failed `SESSION CREATE STYLE=PRIMARY` should be retried with `MASTER` on a
/// new socket (i2pd 2.58+ negotiates 3.3 but knows only `MASTER`: `I2P_ERROR`, then close).
#[doc(hidden)]
pub fn retry_primary_as_master(sent: &SessionStyle, error: &Error) -> bool {
    *sent == SessionStyle::Primary
        && matches!(
            error,
            Error::Refused {
                result: ResultCode::I2pError,
                ..
            }
        )
}

/// Where a datagram session's (DATAGRAM, DATAGRAM2, DATAGRAM3, RAW) received datagrams go
/// (the bridges here: `testbed/datagram-sources.md`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum DatagramDelivery {
    /// On the control socket where the bridge offers it (i2pd, Java), else over UDP:
    /// `SESSION CREATE` goes without `HOST`/`PORT` first, and a bridge that closes the socket
    /// instead of answering (emissary 0.4, after 10 s) gets the same session again with them,
    /// on a new socket.
    #[default]
    Auto,
    /// On the control socket only (`DATAGRAM RECEIVED`, `RAW RECEIVED`): the bridge's own TCP
    /// connection, so no other process can inject one, and i2pd 2.59 reports the sender's
    /// ports there. i2pd drops datagrams over about 15.8 KB on this path.
    ControlSocket,
    /// Forwarded to the session's UDP socket (`HOST`/`PORT`), accepted only from the bridge's
    /// UDP address ([`forwarded_by_bridge`]).
    Udp,
}

/// What a session is created with.
///
/// ```
/// use sam_proto::client::{SessionOptions, Style};
///
/// let options = SessionOptions::new(Style::Stream)
///     .option("inbound.length", "0")
///     .option("outbound.length", "0");
/// assert!(options.keys.is_none()); // a new (TRANSIENT) destination
/// ```
#[derive(Clone)]
#[non_exhaustive]
pub struct SessionOptions {
    /// The session style.
    pub style: Style,
    /// The destination to use; `None` asks the bridge for a new one (`TRANSIENT`).
    pub keys: Option<PrivateKeys>,
    /// Signature type of a new destination, default Ed25519 (routers default to DSA-SHA1).
    pub signature_type: SigType,
    /// The session ID; `None` picks a random one.
    pub id: Option<String>,
    /// Default I2CP source port (SAM 3.2).
    pub from_port: Option<u16>,
    /// Default I2CP destination port (SAM 3.2).
    pub to_port: Option<u16>,
    /// RAW protocol number (SAM 3.2).
    pub protocol: Option<u8>,
    /// RAW: ask the bridge to forward a header line with ports (SAM 3.2, Java).
    pub header: Option<bool>,
    /// DATAGRAM/RAW: where received datagrams go (default [`DatagramDelivery::Auto`]: on the
    /// control socket where the bridge offers it). Sending goes over UDP either way.
    pub datagram_delivery: DatagramDelivery,
    /// I2CP and streaming options passed through as `key=value`, in order. The default holds
    /// `i2cp.leaseSetEncType=4,0`; add tunnel options such as `inbound.length` here.
    pub options: Vec<(String, String)>,
}

/// Never the private keys, nor the value of an option whose key names a password, a key or a
/// secret ([`is_secret_option`](crate::message::is_secret_option)).
impl fmt::Debug for SessionOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionOptions")
            .field("style", &self.style)
            .field("keys", &self.keys)
            .field("signature_type", &self.signature_type)
            .field("id", &self.id)
            .field("from_port", &self.from_port)
            .field("to_port", &self.to_port)
            .field("protocol", &self.protocol)
            .field("header", &self.header)
            .field("datagram_delivery", &self.datagram_delivery)
            .field("options", &RedactedOptions(&self.options))
            .finish()
    }
}

/// Never the value of an option whose key names a password, a key or a secret.
impl fmt::Debug for SubsessionOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SubsessionOptions")
            .field("style", &self.style)
            .field("id", &self.id)
            .field("from_port", &self.from_port)
            .field("to_port", &self.to_port)
            .field("protocol", &self.protocol)
            .field("listen_port", &self.listen_port)
            .field("listen_protocol", &self.listen_protocol)
            .field("header", &self.header)
            .field("options", &RedactedOptions(&self.options))
            .finish()
    }
}

impl SessionOptions {
    /// A transient session of `style` with the defaults.
    pub fn new(style: Style) -> SessionOptions {
        SessionOptions {
            style,
            keys: None,
            signature_type: SigType::Ed25519,
            id: None,
            from_port: None,
            to_port: None,
            protocol: None,
            header: None,
            datagram_delivery: DatagramDelivery::Auto,
            options: DEFAULT_OPTIONS
                .iter()
                .map(|(k, v)| (String::from(*k), String::from(*v)))
                .collect(),
        }
    }

    /// Sets an option, replacing an earlier value of the same key.
    #[must_use]
    pub fn option(mut self, key: impl Into<String>, value: impl Into<String>) -> SessionOptions {
        let (key, value) = (key.into(), value.into());
        match self.options.iter_mut().find(|(k, _)| *k == key) {
            Some(slot) => slot.1 = value,
            None => self.options.push((key, value)),
        }
        self
    }

    /// Sets the options of a text of whitespace-separated `key=value` words (a configuration
    /// value such as `"inbound.length=1 outbound.length=1"`), in order; an empty text sets
    /// none. A word without `=` or with an empty key is refused.
    ///
    /// ```
    /// use sam_proto::client::{SessionOptions, Style};
    ///
    /// let options = SessionOptions::new(Style::Stream)
    ///     .option_words("inbound.length=0 outbound.length=0")
    ///     .unwrap();
    /// assert!(options.options.contains(&("inbound.length".into(), "0".into())));
    /// assert!(SessionOptions::new(Style::Stream).option_words("inbound.length").is_err());
    /// ```
    pub fn option_words(mut self, text: &str) -> Result<SessionOptions, Error> {
        for word in text.split_whitespace() {
            match word.split_once('=') {
                Some((key, value)) if !key.is_empty() => self = self.option(key, value),
                _ => {
                    return Err(Error::BadValue {
                        key: "options",
                        reason: "every word must be key=value",
                    })
                }
            }
        }
        Ok(self)
    }

    /// Sets the lease set's encryption types, in order of preference
    /// (`i2cp.leaseSetEncType=6,4` for `&[6, 4]`), replacing the default `4,0` or an earlier
    /// value, so that exactly one `i2cp.leaseSetEncType` is sent. An empty list removes the
    /// option: the router's own default applies.
    ///
    /// The types: 0 ElGamal, 4 ECIES-X25519, 5 / 6 / 7 ML-KEM-512 / 768 / 1024 hybrid with
    /// X25519 (post-quantum, router API 0.9.67+). Another number, or one listed twice, is
    /// refused before anything is sent. A router that does not know a type may refuse the
    /// session (or ignore the type): ask for a fallback such as 4 after the hybrid one. Beware
    /// of old i2pd: 2.45.1 closes the socket on type 6 and then its router process dies
    /// ("Unknown crypto key type 6"); i2pd 2.59 accepts `6,4`. A destination offering only
    /// ECIES types (4-7) cannot talk with an ElGamal-only one (type 0).
    ///
    /// ```
    /// use sam_proto::client::{SessionOptions, Style};
    ///
    /// let options = SessionOptions::new(Style::Stream).lease_set_enc_types(&[6, 4]).unwrap();
    /// assert_eq!(options.options, [("i2cp.leaseSetEncType".into(), "6,4".into())]);
    /// assert!(SessionOptions::new(Style::Stream).lease_set_enc_types(&[3]).is_err());
    /// ```
    pub fn lease_set_enc_types(mut self, types: &[u16]) -> Result<SessionOptions, Error> {
        const KNOWN: [u16; 5] = [0, 4, 5, 6, 7];
        for (i, t) in types.iter().enumerate() {
            if !KNOWN.contains(t) {
                return Err(Error::BadValue {
                    key: LEASE_SET_ENC_TYPE,
                    reason: "not a lease set encryption type (0, 4, 5, 6 or 7)",
                });
            }
            if types[..i].contains(t) {
                return Err(Error::BadValue {
                    key: LEASE_SET_ENC_TYPE,
                    reason: "an encryption type is listed twice",
                });
            }
        }
        self.options.retain(|(k, _)| k != LEASE_SET_ENC_TYPE);
        if !types.is_empty() {
            let list: Vec<String> = types.iter().map(|t| t.to_string()).collect();
            self.options
                .push((String::from(LEASE_SET_ENC_TYPE), list.join(",")));
        }
        Ok(self)
    }

    /// Post-quantum lease set encryption: ML-KEM-768 hybrid with X25519, falling back to
    /// X25519 alone for peers without it (`i2cp.leaseSetEncType=6,4`; see
    /// [`lease_set_enc_types`](Self::lease_set_enc_types)).
    #[must_use]
    pub fn post_quantum(mut self) -> SessionOptions {
        // Known types, so the checks of `lease_set_enc_types` have nothing to refuse.
        self.options.retain(|(k, _)| k != LEASE_SET_ENC_TYPE);
        self.options
            .push((String::from(LEASE_SET_ENC_TYPE), String::from("6,4")));
        self
    }

    /// Uses saved keys instead of a new destination.
    #[must_use]
    pub fn with_keys(mut self, keys: PrivateKeys) -> SessionOptions {
        self.keys = Some(keys);
        self
    }

    /// Uses this session ID instead of a random one.
    #[must_use]
    pub fn with_id(mut self, id: impl Into<String>) -> SessionOptions {
        self.id = Some(id.into());
        self
    }

    /// The ID to create the session with: the one given, or a random one from `seed`
    /// (adapters pass fresh entropy: time, a counter, a hasher's random keys).
    pub fn session_id(&self, seed: u64) -> Result<SessionId<'static>, Error> {
        match &self.id {
            Some(id) => SessionId::new(id.clone()),
            None => Ok(SessionId::random(seed)),
        }
    }

    /// Checks what no encoder can: a RAW `protocol` of another I2CP protocol (6, 17, 19, 20)
    /// is refused ([`Error::ForbiddenProtocol`]) before any socket opens.
    pub fn check(&self) -> Result<(), Error> {
        if let Some(p) = self.protocol {
            crate::datagram::check_raw_protocol(p)?;
        }
        Ok(())
    }

    /// The `SESSION CREATE` for these options on a bridge that negotiated `version`.
    /// `udp_forward` is where DATAGRAM/RAW sessions want their datagrams forwarded (IP literal
    /// and port: i2pd forwards only when both `HOST` and `PORT` are given); `None` leaves both
    /// out, and the bridge delivers on the control socket.
    #[doc(hidden)]
    pub fn create_command(
        &self,
        id: SessionId<'static>,
        version: Version,
        prefer_primary: bool,
        udp_forward: Option<(String, u16)>,
    ) -> SessionCreate<'static> {
        let destination = match &self.keys {
            Some(keys) => Secret::new(keys.to_base64()),
            None => Secret::new(TRANSIENT),
        };
        let style = self.style.session_style(version, prefer_primary);
        let mut command = SessionCreate::new(style, id, destination);
        if self.keys.is_none() {
            command.signature_type = Some(self.signature_type);
        }
        if let Some((host, port)) = udp_forward {
            command.host = Some(Cow::Owned(host));
            command.port = Some(port);
        }
        command.from_port = self.from_port;
        command.to_port = self.to_port;
        command.protocol = self.protocol;
        command.header = self.header;
        command.extra = option_list::<_, String, String>(self.options.iter().cloned());
        command
    }
}

impl Default for SessionOptions {
    fn default() -> SessionOptions {
        SessionOptions::new(Style::Stream)
    }
}

/// A sub-session of a [`Style::Primary`] session (SAM 3.3).
#[derive(Clone)]
#[non_exhaustive]
pub struct SubsessionOptions {
    /// The sub-session style (`Stream`, `Datagram`, `Datagram2`, `Datagram3` or `Raw`).
    pub style: Style,
    /// The sub-session ID, unique on the bridge.
    pub id: String,
    /// Source port; also what tells sub-sessions apart. Default `Some(0)`: i2pd 2.45 never
    /// answers a `SESSION ADD` without it.
    pub from_port: Option<u16>,
    /// Default destination port.
    pub to_port: Option<u16>,
    /// RAW protocol number.
    pub protocol: Option<u8>,
    /// Inbound port filter.
    pub listen_port: Option<u16>,
    /// Inbound RAW protocol filter.
    pub listen_protocol: Option<u8>,
    /// RAW header forwarding.
    pub header: Option<bool>,
    /// Options passed through as `key=value`.
    pub options: Vec<(String, String)>,
}

impl SubsessionOptions {
    /// A sub-session of `style` named `id`.
    pub fn new(style: Style, id: impl Into<String>) -> SubsessionOptions {
        SubsessionOptions {
            style,
            id: id.into(),
            from_port: Some(0),
            to_port: None,
            protocol: None,
            listen_port: None,
            listen_protocol: None,
            header: None,
            options: Vec::new(),
        }
    }

    /// The `SESSION ADD` for these options; `udp_forward` as for
    /// [`SessionOptions::create_command`].
    pub fn add_command(
        &self,
        udp_forward: Option<(String, u16)>,
    ) -> Result<SessionAdd<'static>, Error> {
        let id = SessionId::new(self.id.clone())?;
        let style = self.style.session_style(Version::V3_3, true);
        if style.is_primary() {
            return Err(Error::Unencodable {
                field: "STYLE",
                reason: "a sub-session cannot be PRIMARY",
            });
        }
        if let Some(p) = self.protocol {
            crate::datagram::check_raw_protocol(p)?;
        }
        let mut command = SessionAdd::new(style, id);
        if let Some((host, port)) = udp_forward {
            command.host = Some(Cow::Owned(host));
            command.port = Some(port);
        }
        command.from_port = self.from_port;
        command.to_port = self.to_port;
        command.protocol = self.protocol;
        command.listen_port = self.listen_port;
        command.listen_protocol = self.listen_protocol;
        command.header = self.header;
        command.extra = option_list::<_, String, String>(self.options.iter().cloned());
        Ok(command)
    }
}

/// Options for a stream connect.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ConnectOptions {
    /// I2CP source port (SAM 3.2).
    pub from_port: Option<u16>,
    /// I2CP destination port (SAM 3.2).
    pub to_port: Option<u16>,
    /// No status reply: the stream is returned at once and a failure shows as EOF.
    pub silent: bool,
}

impl ConnectOptions {
    /// No ports, a status reply: what [`connect`](crate::client#the-adapters-api) uses.
    pub fn new() -> ConnectOptions {
        ConnectOptions::default()
    }

    /// I2CP source and destination ports (SAM 3.2).
    #[must_use]
    pub fn ports(mut self, from_port: u16, to_port: u16) -> ConnectOptions {
        (self.from_port, self.to_port) = (Some(from_port), Some(to_port));
        self
    }

    /// `SILENT=true`: no status reply, the stream is returned at once and a failure shows as
    /// EOF.
    #[must_use]
    pub fn silent(mut self, silent: bool) -> ConnectOptions {
        self.silent = silent;
        self
    }

    /// The `STREAM CONNECT` from session `id` to `destination` (base64, `.b32.i2p` or a host
    /// name, passed as-is).
    #[doc(hidden)]
    pub fn connect_command(
        &self,
        id: SessionId<'static>,
        destination: &str,
    ) -> StreamConnect<'static> {
        let mut command = StreamConnect::new(id, String::from(destination));
        command.from_port = self.from_port;
        command.to_port = self.to_port;
        command.silent = self.silent.then_some(true);
        command
    }
}

/// Options for a `STREAM FORWARD`: where the bridge connects for each incoming stream, and
/// whether it first writes the peer's destination line.
///
/// A [`SocketAddr`](core::net::SocketAddr) converts into the default (peer line written), so
/// `session.forward(addr)` keeps working; `SILENT=true` suits an unmodified service, such as
/// an HTTP server, that must see the peer's bytes only:
///
/// ```
/// use sam_proto::client::ForwardOptions;
///
/// let web_server = "127.0.0.1:8080".parse().unwrap();
/// let options = ForwardOptions::new(web_server).silent(true);
/// assert!(options.silent);
/// assert_eq!(ForwardOptions::from(web_server), ForwardOptions::new(web_server));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct ForwardOptions {
    /// Where the bridge connects to (an IP address and port on the bridge's host).
    pub local: core::net::SocketAddr,
    /// `SILENT=true`: no peer line before the data, so the peer is unknown to the service.
    pub silent: bool,
}

impl ForwardOptions {
    /// Forwarding to `local`, with the peer line (`SILENT=false`).
    pub fn new(local: core::net::SocketAddr) -> ForwardOptions {
        ForwardOptions {
            local,
            silent: false,
        }
    }

    /// `SILENT=true`: the bridge writes no peer line, only the peer's bytes.
    #[must_use]
    pub fn silent(mut self, silent: bool) -> ForwardOptions {
        self.silent = silent;
        self
    }

    /// The `STREAM FORWARD` that sends session `id`'s incoming streams to `local`.
    #[doc(hidden)]
    pub fn forward_command(&self, id: SessionId<'static>) -> StreamForward<'static> {
        let mut command = StreamForward::new(id, self.local.port());
        command.host = Some(Cow::Owned(self.local.ip().to_string()));
        // Absent rather than `SILENT=false`: every bridge knows the default.
        command.silent = self.silent.then_some(true);
        command
    }
}

impl From<core::net::SocketAddr> for ForwardOptions {
    fn from(local: core::net::SocketAddr) -> ForwardOptions {
        ForwardOptions::new(local)
    }
}

/// A datagram received by a session, whichever way the bridge delivered it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Received {
    /// The payload.
    pub payload: Vec<u8>,
    /// The sender, verified by the router: DATAGRAM and DATAGRAM2. `None` for RAW, which is
    /// anonymous, and for DATAGRAM3, which names its sender only by [`source_hash`](Self::source_hash).
    pub source: Option<Destination>,
    /// DATAGRAM3 only: the hash of the sender's destination, as the sender claims it (not
    /// authenticated). Its [`b32_address`](crate::keys::SourceHash::b32_address) looked up gives
    /// the destination to reply to.
    pub source_hash: Option<SourceHash>,
    /// The sender's port (SAM 3.2 bridges that send it).
    pub from_port: Option<u16>,
    /// Our port (SAM 3.2 bridges that send it).
    pub to_port: Option<u16>,
}

impl Received {
    /// Reads a UDP packet the bridge forwarded: repliable (`<dest>[ ports]\n<payload>`), raw
    /// with a `HEADER=true` line, or a bare raw payload. For the other styles see
    /// [`Received::from_udp_of`].
    pub fn from_udp(packet: &[u8], raw: bool, header: bool) -> Result<Received, Error> {
        let style = if raw { Style::Raw } else { Style::Datagram };
        Received::from_udp_of(packet, style, header)
    }

    /// Reads a UDP packet the bridge forwarded to a session of `style`: DATAGRAM and
    /// DATAGRAM2 `<dest>[ ports]\n<payload>`, DATAGRAM3 `<hash>[ ports]\n<payload>`, RAW the
    /// bare payload or (`header`) a `HEADER=true` line first.
    pub fn from_udp_of(packet: &[u8], style: Style, header: bool) -> Result<Received, Error> {
        match style {
            Style::Raw if !header => Ok(Received {
                payload: Vec::from(packet),
                source: None,
                source_hash: None,
                from_port: None,
                to_port: None,
            }),
            Style::Raw => {
                let (h, payload) = RawHeader::parse_packet(packet)?;
                Ok(Received {
                    payload: Vec::from(payload),
                    source: None,
                    source_hash: None,
                    from_port: h.from_port,
                    to_port: h.to_port,
                })
            }
            Style::Datagram3 => {
                let (peer, payload) = HashedPeer::parse_packet(packet)?;
                Ok(Received {
                    payload: Vec::from(payload),
                    source: None,
                    source_hash: Some(peer.source),
                    from_port: peer.from_port,
                    to_port: peer.to_port,
                })
            }
            _ => {
                let (peer, payload) = parse_repliable(packet)?;
                Ok(Received {
                    source: Some(peer.parse_destination()?),
                    source_hash: None,
                    payload: Vec::from(payload),
                    from_port: peer.from_port,
                    to_port: peer.to_port,
                })
            }
        }
    }

    /// Converts a datagram delivered on the control socket of a DATAGRAM or RAW session (see
    /// [`Received::from_control_of`]).
    pub fn from_control(d: ReceivedDatagram) -> Result<Received, Error> {
        Received::from_control_of(d, Style::Datagram)
    }

    /// Converts a datagram delivered on the control socket of a session of `style`: the
    /// `DESTINATION=` of `DATAGRAM RECEIVED` is a destination, or for DATAGRAM3 the sender's
    /// hash.
    pub fn from_control_of(d: ReceivedDatagram, style: Style) -> Result<Received, Error> {
        let (source, source_hash) = match (d.source, style) {
            (Some(text), Style::Datagram3) => (None, Some(SourceHash::from_sender(&text)?)),
            (Some(text), _) => (Some(Destination::from_base64(&text)?), None),
            (None, _) => (None, None),
        };
        Ok(Received {
            payload: d.payload,
            source,
            source_hash,
            from_port: d.from_port,
            to_port: d.to_port,
        })
    }
}

impl SessionId<'static> {
    /// A random-looking ID `sam-` + 26 base32 characters derived from `seed` (bridges want IDs
    /// unique across every client; adapters seed this with fresh entropy).
    pub fn random(seed: u64) -> SessionId<'static> {
        const ALPHABET: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";
        let mut id = String::with_capacity(30);
        id.push_str("sam-");
        let mut state = seed;
        for _ in 0..2 {
            let mut bits = splitmix64(&mut state);
            for _ in 0..13 {
                id.push(char::from(ALPHABET[(bits & 31) as usize]));
                bits >>= 5;
            }
        }
        SessionId(Cow::Owned(id))
    }
}

fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lease_set_enc_types_replace_the_default_and_any_earlier_value_once() {
        let key = "i2cp.leaseSetEncType";
        let count = |o: &SessionOptions| o.options.iter().filter(|(k, _)| k == key).count();
        // The testbed's SAM_SESSION_OPTIONS carry `=0`; the later setting wins, once.
        let o = SessionOptions::new(Style::Stream)
            .option_words("inbound.length=0 i2cp.leaseSetEncType=0")
            .unwrap()
            .lease_set_enc_types(&[6, 4])
            .unwrap();
        assert_eq!(count(&o), 1);
        let id = SessionId::new("pq").unwrap();
        let line = crate::Message::to_bytes(
            &o.create_command(id, Version::V3_3, true, None),
            Version::V3_3,
        )
        .unwrap();
        let line = String::from_utf8(line).unwrap();
        assert_eq!(line.matches("i2cp.leaseSetEncType=").count(), 1, "{line}");
        assert!(
            line.ends_with("inbound.length=0 i2cp.leaseSetEncType=6,4\n"),
            "{line}"
        );
        assert_eq!(
            SessionOptions::new(Style::Stream).post_quantum().options,
            o.options[1..]
        );
        // Empty: the router decides.
        let o = SessionOptions::new(Style::Stream)
            .lease_set_enc_types(&[])
            .unwrap();
        assert_eq!(count(&o), 0);
        // Unknown or repeated types are refused.
        for bad in [&[3][..], &[6, 6], &[8], &[65535, 4]] {
            assert!(
                SessionOptions::new(Style::Stream)
                    .lease_set_enc_types(bad)
                    .is_err(),
                "{bad:?}"
            );
        }
        for good in [&[0][..], &[4, 0], &[5, 4], &[7, 6, 5, 4, 0]] {
            assert!(
                SessionOptions::new(Style::Stream)
                    .lease_set_enc_types(good)
                    .is_ok(),
                "{good:?}"
            );
        }
    }

    #[test]
    fn hello_is_min_3_1_max_3_3_unless_narrowed() {
        let hello =
            |config: &SamConfig| crate::Message::to_bytes(&config.hello(), Version::V3_1).unwrap();
        let mut config = SamConfig::default();
        assert_eq!(hello(&config), b"HELLO VERSION MIN=3.1 MAX=3.3\n");
        config.max_version = Version::V3_2;
        assert_eq!(hello(&config), b"HELLO VERSION MIN=3.1 MAX=3.2\n");
        config.min_version = Version::V3_2;
        assert_eq!(hello(&config), b"HELLO VERSION MIN=3.2 MAX=3.2\n");
    }
    use crate::message::Message;

    #[test]
    fn debug_of_options_redacts_passwords_keys_and_secrets() {
        use crate::message::{is_secret_option, KeyValue};
        use alloc::format;
        for key in [
            "i2cp.leaseSetPrivKey",
            "i2cp.leaseSetSecret",
            "i2cp.password",
            "PASSWORD",
        ] {
            assert!(is_secret_option(key), "{key}");
        }
        for key in [
            "inbound.length",
            "i2cp.leaseSetEncType",
            "outbound.quantity",
        ] {
            assert!(!is_secret_option(key), "{key}");
        }
        let options = SessionOptions::new(Style::Stream)
            .option("i2cp.leaseSetPrivKey", "SECRETSECRET")
            .option("inbound.length", "3");
        let shown = format!("{options:?}");
        assert!(
            !shown.contains("SECRETSECRET") && shown.contains("<redacted>"),
            "{shown}"
        );
        assert!(
            shown.contains("inbound.length") && shown.contains("\"3\""),
            "{shown}"
        );
        let mut sub = SubsessionOptions::new(Style::Stream, "sub");
        sub.options
            .push(("i2cp.leaseSetSecret".into(), "SECRETSECRET".into()));
        assert!(!format!("{sub:?}").contains("SECRETSECRET"));
        let pair = KeyValue::new("i2cp.leaseSetPrivKey", "SECRETSECRET");
        assert!(!format!("{pair:?}").contains("SECRETSECRET"));
        let plain = format!("{:?}", KeyValue::new("inbound.length", "3"));
        assert!(plain.contains("\"3\""), "{plain}");
    }

    #[test]
    fn primary_is_master_below_3_3_and_on_retry() {
        assert_eq!(
            Style::Primary.session_style(Version::V3_1, true),
            SessionStyle::Master
        );
        assert_eq!(
            Style::Primary.session_style(Version::V3_3, true),
            SessionStyle::Primary
        );
        assert_eq!(
            Style::Primary.session_style(Version::V3_3, false),
            SessionStyle::Master
        );
        let refused = Error::Refused {
            reply: "SESSION STATUS",
            result: ResultCode::I2pError,
            message: None,
        };
        assert!(retry_primary_as_master(&SessionStyle::Primary, &refused));
        assert!(!retry_primary_as_master(&SessionStyle::Master, &refused));
    }

    #[test]
    fn datagram_sessions_forward_to_host_and_port() {
        let options = SessionOptions::new(Style::Datagram).with_id("dg");
        let id = options.session_id(1).unwrap();
        let cmd = options.create_command(id, Version::V3_1, true, Some(("127.0.0.1".into(), 4000)));
        let line = cmd.to_bytes(Version::V3_1).unwrap();
        let text = core::str::from_utf8(&line).unwrap();
        assert!(text.contains(" PORT=4000 HOST=127.0.0.1 "), "{text}");
        assert!(text.contains("STYLE=DATAGRAM ID=dg "));
        // Delivery on the control socket: neither HOST nor PORT.
        let id = options.session_id(1).unwrap();
        let cmd = options.create_command(id, Version::V3_3, true, None);
        let line = cmd.to_bytes(Version::V3_3).unwrap();
        let text = core::str::from_utf8(&line).unwrap();
        assert!(!text.contains("PORT=") && !text.contains("HOST="), "{text}");
    }

    #[test]
    fn subsessions_default_from_port_zero_and_refuse_primary() {
        let add = SubsessionOptions::new(Style::Stream, "s1")
            .add_command(None)
            .unwrap();
        assert_eq!(add.from_port, Some(0));
        assert!(SubsessionOptions::new(Style::Primary, "p")
            .add_command(None)
            .is_err());
    }

    #[test]
    fn random_ids_are_valid_and_differ() {
        let a = SessionId::random(1);
        let b = SessionId::random(2);
        assert_ne!(a, b);
        assert_eq!(a.as_str().len(), 30);
        assert!(SessionId::new(String::from(a.as_str())).is_ok());
    }
}
