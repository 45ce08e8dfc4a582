//! Sessions: one destination on the bridge, its streams, lookups and datagrams.

use std::fmt;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::task::{Context, Poll};

use async_net::{TcpStream, UdpSocket};
use futures_core::Stream as AsyncIter;
use sam_proto::client::{default_udp_bridge, random_seed, ConnectOptions, SessionOptions};
use sam_proto::exchange::{Accepted, Request};
use sam_proto::keys::{B32Address, Destination, PrivateKeys};
use sam_proto::session::{Call, SessionCore, SessionInfo, SessionSetup};
use sam_proto::Version;

use crate::control::{self, Control};
use crate::driver::{self, bind_udp, now, Link};
use crate::{DatagramSocket, Error, Result, SamConfig, Stream, Style, SubsessionOptions};

/// A stream opened to us: from [`Session::accept`], [`Session::incoming`] or
/// [`read_forwarded`].
#[derive(Debug)]
pub struct Incoming {
    /// The stream itself.
    pub stream: Stream,
    /// The peer's destination, if the bridge told.
    pub peer: Option<Destination>,
    /// Peer's port, from bridges that send ports (SAM 3.2+).
    pub from_port: Option<u16>,
    /// Our port the peer asked for, from bridges that send ports (SAM 3.2+).
    pub to_port: Option<u16>,
}

impl Incoming {
    fn new(stream: Stream, said: Accepted) -> Incoming {
        let (peer, from_port, to_port) = (said.peer, said.from_port, said.to_port);
        Incoming {
            stream,
            peer,
            from_port,
            to_port,
        }
    }
}

/// What a session and its sub-sessions share; dropped with the last handle, which ends the
/// control task (and the session).
struct Shared {
    config: Arc<SamConfig>,
    /// The session created on the control socket (sub-sessions are added to it).
    primary: Arc<SessionInfo>,
    /// Our end of the control socket (UDP sockets bind to its IP) and the bridge's.
    local: SocketAddr,
    bridge: SocketAddr,
    control: Control,
}

/// A SAM session: a destination on the bridge, alive as long as its control socket.
///
/// Clones are cheap handles to the same session. A background task owns the control socket:
/// it answers the bridge's `PING`s, receives datagrams, and runs [`lookup`](Self::lookup),
/// [`add`](Self::add) and [`remove`](Self::remove) one at a time. The session ends with
/// [`close`](Self::close), when the bridge closes the socket, or when the last handle (also
/// those inside [`Stream`]s, [`Forward`]s, [`DatagramSocket`]s and [`IncomingStreams`]) is
/// dropped; from then on every call fails with [`Error::SessionClosed`]. Timeouts: see
/// [`sam_proto::session`].
///
/// **Cancel safety**: any future of a session may be dropped at any await and the session
/// remains usable. [`connect`](Self::connect), [`accept`](Self::accept) and
/// [`forward`](Self::forward) each own a socket, closed by the drop. A dropped control-socket
/// command is run to its end by the background task, which throws its answer away.
#[derive(Clone)]
pub struct Session {
    shared: Arc<Shared>,
    info: Arc<SessionInfo>,
    /// DATAGRAM/RAW: the socket the bridge forwards to.
    udp: Option<UdpSocket>,
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session")
            .field("id", &self.id())
            .field("style", &self.style())
            .field("address", &format_args!("{}", self.address()))
            .field("version", &format_args!("{}", self.version()))
            .field("closed", &self.is_closed())
            .finish()
    }
}

impl Session {
    /// `SESSION CREATE` on a new socket, which becomes the control socket.
    pub(crate) async fn create(config: Arc<SamConfig>, options: SessionOptions) -> Result<Session> {
        let setup = SessionSetup::new(&config, &options, random_seed(), now())?;
        let mut link = Link::default();
        let info = Arc::new(driver::run(&config, setup, &mut link).await?);
        let socket = link.socket()?;
        let shared = Shared {
            local: socket.local_addr()?,
            bridge: socket.peer_addr()?,
            control: control::spawn(SessionCore::new(&config, info.version()), socket, link.buf)?,
            primary: info.clone(),
            config,
        };
        let (shared, udp) = (Arc::new(shared), link.udp);
        Ok(Session { shared, info, udp })
    }

    /// This (sub-)session's ID on the bridge.
    pub fn id(&self) -> &str {
        self.info.id().as_str()
    }

    /// This (sub-)session's style.
    pub fn style(&self) -> Style {
        self.info.style()
    }

    /// The private keys the bridge confirmed in `SESSION STATUS` (never shown by `Debug`).
    pub fn keys(&self) -> &PrivateKeys {
        self.info.keys()
    }

    /// The public destination of [`keys`](Self::keys).
    pub fn destination(&self) -> &Destination {
        self.info.destination()
    }

    /// The destination's `.b32.i2p` address.
    pub fn address(&self) -> B32Address {
        self.info.address()
    }

    /// The SAM version agreed with the bridge.
    pub fn version(&self) -> Version {
        self.info.version()
    }

    /// The bridge configuration the session came from.
    pub fn config(&self) -> &SamConfig {
        &self.shared.config
    }

    /// `true` once the control socket is closed, by [`close`](Self::close) or by the bridge.
    pub fn is_closed(&self) -> bool {
        self.shared.control.is_closed()
    }

    /// Ends the session on the bridge (and, with it, its sub-sessions and all their streams),
    /// with `QUIT` where the bridge knows it (see [`sam_proto::session::SessionCore::close`]).
    /// Returns once the control socket is closed. Data written to the session's streams and
    /// not yet delivered may be lost.
    pub async fn close(&self) {
        self.shared.control.close().await
    }

    /// Runs `call` on a socket of its own, for a stream that keeps this session open. A
    /// failure is [`Error::SessionClosed`] if the session is closed.
    async fn stream<R: Request>(&self, call: Call<R>) -> Result<(Stream, R::Output)> {
        let outcome = match self.is_closed() {
            true => Err(Error::SessionClosed),
            false => driver::call(self.config(), call, None).await,
        };
        let (socket, leftover, output) = outcome.map_err(|e| match self.is_closed() {
            true => Error::SessionClosed,
            false => e,
        })?;
        let stream = Stream::from_parts(socket, leftover).kept_by(self.clone());
        Ok((stream, output))
    }

    /// Opens a stream to `dest` (base64 destination, `.b32.i2p` address or host name, sent
    /// as given).
    pub async fn connect(&self, dest: &str) -> Result<Stream> {
        self.connect_with(dest, ConnectOptions::default()).await
    }

    /// [`connect`](Self::connect) with source/destination ports or `SILENT`.
    pub async fn connect_with(&self, dest: &str, options: ConnectOptions) -> Result<Stream> {
        let call = self.info.connect(self.config(), dest, options, now())?;
        Ok(self.stream(call).await?.0)
    }

    /// Waits, with no time limit, for a peer to open a stream to us. Every call has its own
    /// socket, so several accepts may wait side by side.
    pub async fn accept(&self) -> Result<Incoming> {
        let call = self.info.accept(self.config(), now())?;
        let (stream, said) = self.stream(call).await?;
        Ok(Incoming::new(stream, said))
    }

    /// Accept after accept, as a [`futures_core::Stream`] that ends after yielding
    /// [`Error::SessionClosed`].
    pub fn incoming(&self) -> IncomingStreams {
        let accepts = futures_lite::stream::unfold(Some(self.clone()), |session| async move {
            let session = session?;
            let next = session.accept().await;
            let more = !matches!(next, Err(Error::SessionClosed));
            Some((next, more.then_some(session)))
        });
        let session = self.clone();
        IncomingStreams {
            session,
            accepts: Box::pin(accepts),
        }
    }

    /// Has the bridge connect to `local` for each incoming stream (whose first line
    /// [`read_forwarded`] reads), for as long as the returned [`Forward`] lives.
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

    /// Resolves a host name, `.b32.i2p` address, base64 destination or `ME` on the session's
    /// control socket (through its tunnels).
    pub async fn lookup(&self, name: &str) -> Result<Destination> {
        let done = self.shared.control.command(SessionInfo::lookup(name));
        Ok(done.await?.into_destination()?)
    }

    /// Adds a sub-session to this [`Style::Primary`] session. The handle it returns shares
    /// the primary's control socket (closing it closes the primary).
    pub async fn add(&self, options: SubsessionOptions) -> Result<Session> {
        let primary = &self.shared.primary;
        primary.check_add(&options)?;
        let (udp, forward) = match options.style.uses_udp() {
            true => Some(bind_udp(self.shared.local.ip()).await?).unzip(),
            false => (None, None),
        };
        let (command, info) = primary.add(&options, forward)?;
        self.shared.control.command(command).await?;
        let (shared, info) = (self.shared.clone(), Arc::new(info));
        Ok(Session { shared, info, udp })
    }

    /// Removes sub-session `id` from this primary session.
    pub async fn remove(&self, id: &str) -> Result<()> {
        let command = SessionInfo::remove(id)?;
        self.shared.control.command(command).await.map(|_| ())
    }

    /// The datagram socket of a DATAGRAM or RAW (sub-)session: it receives on the UDP socket
    /// the bridge was given at creation and sends to the bridge's UDP port
    /// ([`SamConfig::udp_address`], else the TCP port - 1).
    pub async fn datagram_socket(&self) -> Result<DatagramSocket> {
        if self.is_closed() {
            return Err(Error::SessionClosed);
        }
        self.info.check_datagrams()?;
        let udp = self.udp.clone();
        let udp = udp.ok_or_else(|| Error::Io(std::io::ErrorKind::NotConnected.into()))?;
        let bridge = match &self.config().udp_address {
            Some(address) => async_net::resolve(address.as_str()).await?.first().copied(),
            None => Some(default_udp_bridge(self.shared.bridge)?),
        };
        let Some(bridge) = bridge else {
            let why = "no usable SAM UDP address for the bridge";
            return Err(Error::InvalidInput(why.to_owned()));
        };
        let skipped = AtomicU64::new(0);
        let session = self.clone();
        Ok(DatagramSocket {
            session,
            udp,
            bridge,
            skipped,
        })
    }

    pub(crate) fn info(&self) -> &SessionInfo {
        &self.info
    }

    pub(crate) fn control(&self) -> &Control {
        &self.shared.control
    }
}

/// The streams of [`Session::incoming`]: a [`futures_core::Stream`] of [`Incoming`], one
/// accept at a time, ending after [`Error::SessionClosed`]. Dropping it cancels the accept
/// in progress.
pub struct IncomingStreams {
    session: Session,
    accepts: Pin<Box<dyn AsyncIter<Item = Result<Incoming>> + Send>>,
}

impl fmt::Debug for IncomingStreams {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("IncomingStreams")
            .field(&self.session)
            .finish()
    }
}

impl AsyncIter for IncomingStreams {
    type Item = Result<Incoming>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.accepts.as_mut().poll_next(cx)
    }
}

/// A `STREAM FORWARD` in force (from [`Session::forward`]); it keeps its session open, and
/// dropping it closes its socket, so the bridge stops forwarding.
#[derive(Debug)]
pub struct Forward {
    /// The forward's socket, holding the session.
    _stream: Stream,
    local: SocketAddr,
}

impl Forward {
    /// The address the bridge connects to.
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }
}

/// Reads the line with the peer's destination that the bridge sends first on a connection
/// it forwarded (accepted on the listener given to [`Session::forward`]); what follows is
/// the stream. It has no timeout of its own: race it with a timer if the connection may
/// stall. An async-std `TcpStream` converts with `std::net::TcpStream::try_from` and then
/// `async_net::TcpStream::try_from`.
pub async fn read_forwarded(tcp: TcpStream) -> Result<Incoming> {
    let config = SamConfig::default();
    let (socket, leftover, said) =
        driver::call(&config, SessionInfo::forwarded(), Some(tcp)).await?;
    Ok(Incoming::new(Stream::from_parts(socket, leftover), said))
}
