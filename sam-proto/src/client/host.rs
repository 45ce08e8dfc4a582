//! What needs an operating system: entropy, the environment, sockets' addresses. Everything
//! here is behind the `std` feature; the rest of sam-proto (and the whole session core) is
//! `no_std` + `alloc`, which the test command proves by building for `thumbv7em-none-eabihf`.

use std::borrow::ToOwned;
use std::boxed::Box;
use std::string::String;

use super::{ClientError, ClientResult, Received, SamConfig, ENV_ADDR, ENV_UDP_ADDR};

/// Fresh entropy for [`SessionId::random`](crate::SessionId::random): std's randomly keyed SipHash (seeded by the OS)
/// over a counter, the time and the process ID, so other bridge clients cannot guess IDs.
#[doc(hidden)]
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

/// A `PING` for a socket of its own, with a fresh text so that only the answer to this ping
/// matches (the adapters' `Sam::ping`).
///
/// `PING` is SAM 3.2: a 3.1 bridge gets nothing but the `HELLO` and the answer is
/// `NeedsVersion` (i2pd 2.45 would close the socket). Bridges that ignore `PING` (emissary 0.4)
/// end in a `Timeout` after `connect_timeout`. A socket of its own, because i2pd 2.59 closes the
/// socket after its `PONG`.
#[doc(hidden)]
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
#[doc(hidden)]
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

/// A stream someone opened to a session, and who opened it. Each adapter names it `Incoming`
/// with its own stream type.
#[derive(Debug)]
#[non_exhaustive]
pub struct Incoming<S> {
    /// The stream.
    pub stream: S,
    /// Who connected (`None` when the bridge does not say, as with `SILENT`).
    pub peer: Option<crate::keys::Destination>,
    /// The peer's port (SAM 3.2 bridges that send it).
    pub from_port: Option<u16>,
    /// Our port the peer connected to (SAM 3.2 bridges that send it).
    pub to_port: Option<u16>,
}

impl<S: AcceptedStream> Incoming<S> {
    /// `stream`, accepted from the peer the bridge named (which the stream keeps too).
    #[doc(hidden)]
    pub fn new(mut stream: S, accepted: crate::exchange::Accepted) -> Incoming<S> {
        if let Some(destination) = accepted.peer.clone() {
            let (from_port, to_port) = (accepted.from_port, accepted.to_port);
            stream.set_peer(Peer {
                destination,
                from_port,
                to_port,
            });
        }
        Incoming {
            stream,
            peer: accepted.peer,
            from_port: accepted.from_port,
            to_port: accepted.to_port,
        }
    }
}

/// Who opened an accepted stream, as the bridge said (the adapters' `Stream::peer`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Peer {
    /// The peer's destination.
    pub destination: crate::keys::Destination,
    /// The peer's port (SAM 3.2 bridges that send it).
    pub from_port: Option<u16>,
    /// Our port the peer connected to (SAM 3.2 bridges that send it).
    pub to_port: Option<u16>,
}

/// An adapter's stream, which keeps the peer it was accepted from.
#[doc(hidden)]
pub trait AcceptedStream {
    /// The stream was accepted from `peer`.
    fn set_peer(&mut self, peer: Peer);
}

/// What a stream connects to: a host name or `.b32.i2p` address (`&str`, `&String`), or a
/// destination ([`&Destination`](crate::keys::Destination), [`&B32Address`](crate::keys::B32Address)).
pub trait Target {
    /// The text `STREAM CONNECT` sends: the name as given, or the destination in base64.
    fn target(&self) -> alloc::borrow::Cow<'_, str>;
}

impl Target for &str {
    fn target(&self) -> alloc::borrow::Cow<'_, str> {
        alloc::borrow::Cow::Borrowed(self)
    }
}

impl Target for &String {
    fn target(&self) -> alloc::borrow::Cow<'_, str> {
        alloc::borrow::Cow::Borrowed(self.as_str())
    }
}

impl Target for String {
    fn target(&self) -> alloc::borrow::Cow<'_, str> {
        alloc::borrow::Cow::Borrowed(self.as_str())
    }
}

impl Target for &crate::keys::Destination {
    fn target(&self) -> alloc::borrow::Cow<'_, str> {
        alloc::borrow::Cow::Owned(self.to_base64())
    }
}

impl Target for &crate::keys::B32Address {
    fn target(&self) -> alloc::borrow::Cow<'_, str> {
        alloc::borrow::Cow::Owned(alloc::string::ToString::to_string(*self))
    }
}

/// Datagrams delivered on the control socket that a session keeps unread; more are dropped
/// and counted ([`DatagramCounts::overflowed`]). At most 256 × 64 KiB = 16 MiB are held (i2pd's
/// 16 KiB limit on that path makes it 4 MiB); a flood costs no more.
pub const DATAGRAM_QUEUE: usize = 256;

/// What a session's datagram path dropped, counted once for the session (shared by its control
/// loop and its datagram sockets). With the `tracing` feature each count is also a warning at
/// its 1st, 2nd, 4th, 8th, … occurrence.
#[derive(Debug, Default)]
pub struct DatagramCounts {
    skipped: core::sync::atomic::AtomicU64,
    foreign: core::sync::atomic::AtomicU64,
    overflowed: core::sync::atomic::AtomicU64,
}

impl DatagramCounts {
    /// Datagrams from the bridge that did not parse.
    pub fn skipped(&self) -> u64 {
        self.skipped.load(core::sync::atomic::Ordering::Relaxed)
    }

    /// UDP packets that did not come from the bridge's UDP address.
    pub fn foreign(&self) -> u64 {
        self.foreign.load(core::sync::atomic::Ordering::Relaxed)
    }

    /// Datagrams on the control socket dropped because [`DATAGRAM_QUEUE`] were unread.
    pub fn overflowed(&self) -> u64 {
        self.overflowed.load(core::sync::atomic::Ordering::Relaxed)
    }

    /// Counts one datagram dropped because the queue was full.
    pub fn overflow(&self) {
        let n = 1 + self
            .overflowed
            .fetch_add(1, core::sync::atomic::Ordering::Relaxed);
        if n.is_power_of_two() {
            trace_event!(
                warn,
                dropped = n,
                "datagrams dropped: {DATAGRAM_QUEUE} were unread"
            );
        }
    }

    fn skip(&self) {
        let n = 1 + self
            .skipped
            .fetch_add(1, core::sync::atomic::Ordering::Relaxed);
        if n.is_power_of_two() {
            trace_event!(
                warn,
                skipped = n,
                "datagrams from the bridge that do not parse"
            );
        }
    }

    #[cfg_attr(not(feature = "tracing"), allow(unused_variables))]
    fn reject(&self, from: std::net::SocketAddr) {
        let n = 1 + self
            .foreign
            .fetch_add(1, core::sync::atomic::Ordering::Relaxed);
        if n.is_power_of_two() {
            trace_event!(warn, %from, dropped = n, "UDP packets not from the SAM bridge dropped");
        }
    }
}

/// What a session's datagram socket accepts: every adapter's `DatagramSocket` reads through
/// one.
///
/// A UDP packet must come from the bridge's UDP address ([`forwarded_by_bridge`]) and parse
/// as the session's form (repliable, raw, raw with header); a datagram delivered on the
/// control socket must parse. Everything else is dropped and counted ([`DatagramCounts`]).
#[derive(Debug)]
pub struct DatagramInbox {
    style: super::Style,
    header: bool,
    bridge: std::net::SocketAddr,
    counts: std::sync::Arc<DatagramCounts>,
}

impl DatagramInbox {
    /// The inbox of session `info`, whose bridge sends from and listens on `bridge`.
    pub fn new(
        info: &crate::session::SessionInfo,
        bridge: std::net::SocketAddr,
        counts: std::sync::Arc<DatagramCounts>,
    ) -> Self {
        DatagramInbox {
            style: info.style(),
            header: info.header(),
            bridge,
            counts,
        }
    }

    /// The bridge's UDP address (where datagrams go, and the only sender accepted).
    pub fn bridge(&self) -> std::net::SocketAddr {
        self.bridge
    }

    /// What was dropped so far.
    pub fn counts(&self) -> &DatagramCounts {
        &self.counts
    }

    /// The datagram in a UDP packet that came from `from`, or `None` (dropped and counted).
    pub fn udp(&self, packet: &[u8], from: std::net::SocketAddr) -> Option<Received> {
        if !forwarded_by_bridge(from, self.bridge) {
            self.counts.reject(from);
            return None;
        }
        self.counted(Received::from_udp_of(packet, self.style, self.header))
    }

    /// A datagram the bridge delivered on the control socket, or `None` (skipped, counted).
    pub fn control(&self, datagram: crate::control::ReceivedDatagram) -> Option<Received> {
        self.counted(Received::from_control_of(datagram, self.style))
    }

    fn counted(&self, parsed: Result<Received, crate::Error>) -> Option<Received> {
        if parsed.is_err() {
            self.counts.skip();
        }
        parsed.ok()
    }
}

/// A boxed, `Send` future of a [`ClientResult`].
#[doc(hidden)]
pub type BoxFuture<T> =
    core::pin::Pin<Box<dyn core::future::Future<Output = ClientResult<T>> + Send>>;

/// A session's incoming streams, one accept after another, as a [`futures_core::Stream`]
/// (the async adapters' `IncomingStreams`). It ends after yielding
/// [`ClientError::SessionClosed`]; dropping it cancels the pending accept.
#[must_use = "an IncomingStreams does nothing unless polled"]
pub struct Accepts<T> {
    accept: Box<dyn FnMut() -> BoxFuture<T> + Send>,
    pending: Option<BoxFuture<T>>,
    done: bool,
}

impl<T> Accepts<T> {
    /// The stream of what `accept` yields, called again after each item.
    #[doc(hidden)]
    pub fn new(accept: impl FnMut() -> BoxFuture<T> + Send + 'static) -> Accepts<T> {
        Accepts {
            accept: Box::new(accept),
            pending: None,
            done: false,
        }
    }
}

impl<T> core::fmt::Debug for Accepts<T> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("IncomingStreams")
            .field("accepting", &self.pending.is_some())
            .field("done", &self.done)
            .finish()
    }
}

impl<T> futures_core::Stream for Accepts<T> {
    type Item = ClientResult<T>;

    fn poll_next(
        self: core::pin::Pin<&mut Self>,
        cx: &mut core::task::Context<'_>,
    ) -> core::task::Poll<Option<ClientResult<T>>> {
        let this = self.get_mut();
        if this.done {
            return core::task::Poll::Ready(None);
        }
        let accept = &mut this.accept;
        let pending = this.pending.get_or_insert_with(accept);
        let result = core::task::ready!(pending.as_mut().poll(cx));
        this.pending = None;
        this.done = ends_incoming(&result);
        core::task::Poll::Ready(Some(result))
    }
}

/// Whether a session's incoming streams end after this accept's result: only when the session
/// is closed (any other failure, such as a timeout or a refused stream, leaves it usable).
fn ends_incoming<T>(accepted: &ClientResult<T>) -> bool {
    matches!(accepted, Err(ClientError::SessionClosed))
}

/// A session's incoming streams, one accept after another, as an [`Iterator`] (sam-blocking's
/// `IncomingStreams`). It ends after yielding [`ClientError::SessionClosed`].
#[must_use = "an IncomingStreams accepts nothing unless iterated"]
pub struct AcceptIter<T> {
    accept: Box<dyn FnMut() -> ClientResult<T> + Send + Sync>,
    done: bool,
}

impl<T> AcceptIter<T> {
    /// The iterator of what `accept` returns, called again for each item.
    #[doc(hidden)]
    pub fn new(accept: impl FnMut() -> ClientResult<T> + Send + Sync + 'static) -> AcceptIter<T> {
        let accept = Box::new(accept);
        AcceptIter {
            accept,
            done: false,
        }
    }
}

impl<T> core::fmt::Debug for AcceptIter<T> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let done = self.done;
        f.debug_struct("IncomingStreams")
            .field("done", &done)
            .finish()
    }
}

impl<T> Iterator for AcceptIter<T> {
    type Item = ClientResult<T>;

    fn next(&mut self) -> Option<ClientResult<T>> {
        if self.done {
            return None;
        }
        let accepted = (self.accept)();
        self.done = ends_incoming(&accepted);
        Some(accepted)
    }
}

/// Where a session's datagrams go: [`SamConfig::udp_address`] when set (resolved by the
/// system's resolver), else [`default_udp_bridge`] of the control socket's peer.
#[doc(hidden)]
pub fn udp_bridge(
    config: &SamConfig,
    control_peer: std::net::SocketAddr,
) -> ClientResult<std::net::SocketAddr> {
    let resolve = |address: String| {
        use std::net::ToSocketAddrs;
        core::future::ready(address.to_socket_addrs().map(Iterator::collect))
    };
    super::block_on(udp_bridge_with(config, control_peer, resolve))
}

/// [`udp_bridge`] with the runtime's resolver (`resolve` is called only when
/// [`SamConfig::udp_address`] is set).
#[doc(hidden)]
pub async fn udp_bridge_with<F, R>(
    config: &SamConfig,
    control_peer: std::net::SocketAddr,
    resolve: F,
) -> ClientResult<std::net::SocketAddr>
where
    F: FnOnce(String) -> R,
    R: core::future::Future<Output = std::io::Result<std::vec::Vec<std::net::SocketAddr>>>,
{
    let Some(address) = &config.udp_address else {
        return default_udp_bridge(control_peer);
    };
    let resolved = resolve(address.clone()).await?;
    resolved.first().copied().ok_or_else(|| {
        ClientError::InvalidInput(alloc::format!(
            "SAM UDP address {address:?} resolves to nothing"
        ))
    })
}

/// An active `STREAM FORWARD` (the adapters' `Forward`): the bridge connects to
/// [`local_addr`](Forward::local_addr) for every incoming stream while it lives. It holds the
/// forwarding socket (which keeps its session alive); dropping it stops forwarding on i2pd and
/// Java I2P. emissary 0.4 goes on forwarding until the session ends, and refuses any later
/// `STREAM ACCEPT` or `STREAM FORWARD` on that session (`I2P_ERROR`): give a forward a session
/// of its own.
///
/// It is `#[must_use]`: `session.forward(addr).await?;` would stop forwarding at once, and
/// the compiler says so. A forward that is kept compiles without a warning:
///
/// ```
/// #![deny(unused_must_use)]
/// # fn forward() -> sam_proto::client::Forward<()> {
/// #     sam_proto::client::Forward::new((), "127.0.0.1:8080".parse::<std::net::SocketAddr>().unwrap().into())
/// # }
/// let forward = forward();
/// assert_eq!(forward.local_addr().port(), 8080);
/// ```
///
/// and one dropped at once does not compile under `deny(unused_must_use)`:
///
/// ```compile_fail
/// #![deny(unused_must_use)]
/// # fn forward() -> sam_proto::client::Forward<()> {
/// #     sam_proto::client::Forward::new((), "127.0.0.1:8080".parse::<std::net::SocketAddr>().unwrap().into())
/// # }
/// forward(); // error: unused `Forward` that must be used
/// ```
#[derive(Debug)]
#[must_use = "forwarding stops when the Forward is dropped"]
pub struct Forward<S> {
    _socket: S,
    options: super::ForwardOptions,
}

impl<S> Forward<S> {
    /// Forwarding as `options` asked, held open by `socket`.
    #[doc(hidden)]
    pub fn new(socket: S, options: super::ForwardOptions) -> Forward<S> {
        Forward {
            _socket: socket,
            options,
        }
    }

    /// Where the bridge connects to.
    pub fn local_addr(&self) -> std::net::SocketAddr {
        self.options.local
    }

    /// `true` when the bridge writes no peer line (`SILENT=true`).
    pub fn is_silent(&self) -> bool {
        self.options.silent
    }
}
