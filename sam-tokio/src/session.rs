//! Sessions: one destination on the bridge, its streams, lookups and datagrams.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use sam_proto::client::{default_udp_bridge, random_seed, Accepts};
use sam_proto::control::ControlCommand;
use sam_proto::exchange::Request;
use sam_proto::keys::{B32Address, Destination, PrivateKeys};
use sam_proto::session::{Call, SessionCore, SessionInfo, SessionSetup};
use sam_proto::Version;
use tokio::net::{TcpStream, UdpSocket};

use crate::control::{self, ControlHandle};
use crate::datagram::DatagramSocket;
use crate::driver::{now, run};
use crate::stream::Stream;
use crate::{ConnectOptions, Error, Result, SamConfig, SessionOptions, Style, SubsessionOptions};

/// A stream someone opened to us, and who opened it.
pub type Incoming = sam_proto::client::Incoming<Stream>;

/// State shared by a session and its sub-sessions.
struct Shared {
    config: Arc<SamConfig>,
    /// The session as created (sub-sessions are added to it).
    primary: SessionInfo,
    /// Our end of the control socket (where the bridge forwards datagrams to).
    local_ip: IpAddr,
    /// The bridge's end of the control socket.
    bridge: SocketAddr,
    control: ControlHandle,
}

impl Drop for Shared {
    fn drop(&mut self) {
        // The last handle (session, stream, forward, datagram socket) is gone.
        self.control.shutdown.notify_one();
    }
}

/// A SAM session: a destination on the bridge with its control socket.
///
/// Cloning is cheap (an `Arc`); all clones are the same session. The session ends when
/// [`Session::close`] is called, when the bridge closes the control socket, or when the last
/// handle is dropped: every clone, [`Stream`], [`Forward`], [`IncomingStreams`] and
/// [`DatagramSocket`] keeps it alive. After that every call fails with
/// [`Error::SessionClosed`]. Timeouts: see [`sam_proto::session`].
///
/// **Cancel safety**: every method may be cancelled (its future dropped) at any await and the
/// session stays usable: stream operations use their own socket, which dropping closes;
/// control-socket commands are finished by the background task, which discards an answer
/// nobody waits for.
#[derive(Clone)]
pub struct Session {
    shared: Arc<Shared>,
    /// This (sub-)session, and where the bridge forwards its datagrams.
    info: Arc<SessionInfo>,
    udp: Option<Arc<UdpSocket>>,
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session")
            .field("info", &self.info)
            .field("closed", &self.is_closed())
            .finish()
    }
}

impl Session {
    /// `SESSION CREATE` on a new socket, which becomes the control socket.
    pub(crate) async fn create(config: Arc<SamConfig>, options: SessionOptions) -> Result<Session> {
        let setup = SessionSetup::new(&config, &options, random_seed(), now())?;
        let done = run(&config, setup, None).await?;
        let info = done.output;
        let local_ip = done.socket.local_addr()?.ip();
        let bridge = done.socket.peer_addr()?;
        let core = SessionCore::new(&config, info.version());
        let control = control::spawn(core, done.socket, done.leftover);
        let primary = info.clone();
        let shared = Shared {
            config,
            primary,
            local_ip,
            bridge,
            control,
        };
        let (shared, info, udp) = (Arc::new(shared), Arc::new(info), done.udp.map(Arc::new));
        Ok(Session { shared, info, udp })
    }

    /// The session ID.
    pub fn id(&self) -> &str {
        self.info.id().as_str()
    }

    /// The session style.
    pub fn style(&self) -> Style {
        self.info.style()
    }

    /// The session's private keys, as the bridge reported them in `SESSION STATUS`.
    pub fn keys(&self) -> &PrivateKeys {
        self.info.keys()
    }

    /// The session's public destination.
    pub fn destination(&self) -> &Destination {
        self.info.destination()
    }

    /// The session's `.b32.i2p` address.
    pub fn address(&self) -> B32Address {
        self.info.address()
    }

    /// The SAM version the bridge agreed to for this session.
    pub fn version(&self) -> Version {
        self.info.version()
    }

    /// The configuration the session was created with.
    pub fn config(&self) -> &SamConfig {
        &self.shared.config
    }

    /// `true` once the control socket is closed (by [`Session::close`] or by the bridge).
    pub fn is_closed(&self) -> bool {
        self.shared.control.is_closed()
    }

    /// Ends the session on the bridge (and, with it, every sub-session and stream): `QUIT` on
    /// SAM 3.2+ bridges, waiting up to [`QUIT_WAIT`](sam_proto::client::QUIT_WAIT), then the
    /// control socket is closed. Returns once it is. Undelivered stream data may be lost.
    pub async fn close(&self) {
        self.shared.control.close().await
    }

    fn ensure_open(&self) -> Result<()> {
        match self.is_closed() {
            true => Err(Error::SessionClosed),
            false => Ok(()),
        }
    }

    /// Runs a stream call; the stream keeps this session alive.
    async fn stream<R>(&self, call: Call<R>) -> Result<(Stream, R::Output)>
    where
        R: Request + Send + 'static,
        R::Output: Send,
    {
        self.ensure_open()?;
        let done = run(self.config(), call, None).await;
        let done = done.map_err(|e| e.or_closed(self.is_closed()))?;
        let stream = Stream::new(done.socket, done.leftover, Some(self.clone()));
        Ok((stream, done.output))
    }

    /// Opens a stream to `dest`: a base64 destination, a `.b32.i2p` address or a host name
    /// (passed as-is to the bridge), within `stream_timeout`.
    pub async fn connect(&self, dest: &str) -> Result<Stream> {
        self.connect_with(dest, ConnectOptions::default()).await
    }

    /// [`Session::connect`] with ports or `SILENT`.
    pub async fn connect_with(&self, dest: &str, options: ConnectOptions) -> Result<Stream> {
        let call = self.info.connect(self.config(), dest, options, now())?;
        Ok(self.stream(call).await?.0)
    }

    /// Waits (without a timeout) for someone to open a stream to this session. Each call uses
    /// its own socket; several may wait at once.
    pub async fn accept(&self) -> Result<Incoming> {
        let call = self.info.accept(self.config(), now())?;
        let (stream, accepted) = self.stream(call).await?;
        Ok(Incoming::new(stream, accepted))
    }

    /// The incoming streams, one [`Session::accept`] after another, as a
    /// [`futures_core::Stream`]. It ends after yielding [`Error::SessionClosed`].
    pub fn incoming(&self) -> IncomingStreams {
        let session = self.clone();
        Accepts::new(move || {
            let session = session.clone();
            Box::pin(async move { session.accept().await })
        })
    }

    /// Asks the bridge to connect to `local` for every incoming stream (read the peer with
    /// [`read_forwarded`]). Forwarding lasts as long as the returned [`Forward`].
    pub async fn forward(&self, local: SocketAddr) -> Result<Forward> {
        let host = local.ip().to_string();
        let call = self
            .info
            .forward(self.config(), host, local.port(), now())?;
        let (stream, ()) = self.stream(call).await?;
        Ok(Forward {
            _stream: stream,
            local,
        })
    }

    /// Resolves `name` (a host name, a `.b32.i2p` address, a base64 destination or `ME`)
    /// through the session's own control socket, within `lookup_timeout`.
    pub async fn lookup(&self, name: &str) -> Result<Destination> {
        let done = self.command(SessionInfo::lookup(name)).await?;
        Ok(done.into_destination()?)
    }

    /// Adds a sub-session to a [`Style::Primary`] session and returns a handle for it. The
    /// handle shares the primary's control socket: closing it closes the primary.
    pub async fn add(&self, options: SubsessionOptions) -> Result<Session> {
        self.shared.primary.check_add(&options)?;
        let udp = match options.style.uses_udp() {
            true => Some(UdpSocket::bind((self.shared.local_ip, 0)).await?),
            false => None,
        };
        let at = udp.as_ref().map(UdpSocket::local_addr).transpose()?;
        let forward = at.map(|at| (at.ip().to_string(), at.port()));
        let (command, info) = self.shared.primary.add(&options, forward)?;
        self.command(command).await?;
        let (shared, info, udp) = (self.shared.clone(), Arc::new(info), udp.map(Arc::new));
        Ok(Session { shared, info, udp })
    }

    /// Removes the sub-session `id` from a primary session.
    pub async fn remove(&self, id: &str) -> Result<()> {
        self.command(SessionInfo::remove(id)?).await.map(drop)
    }

    /// A socket to send and receive this DATAGRAM or RAW session's datagrams (see
    /// [`DatagramSocket`]); sending goes to the bridge's UDP port ([`SamConfig::udp_address`]).
    pub async fn datagram_socket(&self) -> Result<DatagramSocket> {
        self.ensure_open()?;
        self.info.check_datagrams()?;
        let udp = self.udp.clone().ok_or(Error::SessionClosed)?;
        let bridge = match &self.config().udp_address {
            Some(addr) => tokio::net::lookup_host(addr.as_str()).await?.next(),
            None => Some(default_udp_bridge(self.shared.bridge)?),
        };
        let bridge = bridge
            .ok_or_else(|| Error::InvalidInput("SAM UDP address resolves to nothing".to_owned()))?;
        Ok(DatagramSocket::new(self.clone(), udp, bridge))
    }

    pub(crate) fn info(&self) -> &SessionInfo {
        &self.info
    }

    pub(crate) fn control(&self) -> &ControlHandle {
        &self.shared.control
    }

    async fn command(
        &self,
        command: ControlCommand<'static>,
    ) -> Result<sam_proto::control::Completion> {
        self.ensure_open()?;
        self.shared.control.command(command).await
    }
}

/// The incoming streams of a session (from [`Session::incoming`]): a
/// [`futures_core::Stream`] of [`Incoming`], one accept at a time. It ends after yielding
/// [`Error::SessionClosed`]. Dropping it cancels the pending accept.
pub type IncomingStreams = Accepts<Incoming>;

/// An active `STREAM FORWARD` (from [`Session::forward`]): the bridge connects to the local
/// address for every incoming stream. Dropping it closes its socket, which stops forwarding;
/// it keeps its session alive.
#[derive(Debug)]
pub struct Forward {
    _stream: Stream,
    local: SocketAddr,
}

impl Forward {
    /// Where the bridge connects to.
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }
}

/// Reads the peer line a bridge writes first on a forwarded connection (accepted from the
/// listener given to [`Session::forward`]); the rest of the connection is the stream.
///
/// No timeout: wrap the call in `tokio::time::timeout` if the connection may stall.
pub async fn read_forwarded(tcp: TcpStream) -> Result<Incoming> {
    let config = SamConfig::default();
    let done = run(&config, SessionInfo::forwarded(), Some(tcp)).await?;
    let stream = Stream::new(done.socket, done.leftover, None);
    Ok(Incoming::new(stream, done.output))
}
