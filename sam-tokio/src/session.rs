//! Sessions: one destination on the bridge, its streams, lookups and datagrams.

use std::fmt;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use sam_proto::client::{
    default_udp_bridge, forward_command, random_seed, ConnectOptions, SessionOptions, Style,
    SubsessionOptions, QUIT_WAIT,
};
use sam_proto::command::{
    NamingLookup, Quit, SessionAdd, SessionCreate, SessionRemove, StreamAccept, StreamConnect,
    StreamForward,
};
use sam_proto::control::{Completion, ControlCommand};
use sam_proto::exchange::Exchange;
use sam_proto::keys::{B32Address, Destination, PrivateKeys};
use sam_proto::message::Message;
use sam_proto::{SessionId, SessionStyle, Version};
use tokio::net::{TcpStream, UdpSocket};
use tokio::sync::oneshot;

use crate::control::{self, ControlHandle, ControlRequest};
use crate::datagram::DatagramSocket;
use crate::driver::{drive, open, request, within, Opened};
use crate::stream::Stream;
use crate::SamConfig;
use crate::{Error, Result};

/// A stream someone opened to us.
#[derive(Debug)]
pub struct Incoming {
    /// The stream.
    pub stream: Stream,
    /// Who connected (`None` when the bridge does not say).
    pub peer: Option<Destination>,
    /// The peer's port (SAM 3.2 bridges that send it).
    pub from_port: Option<u16>,
    /// Our port the peer connected to (SAM 3.2 bridges that send it).
    pub to_port: Option<u16>,
}

impl Incoming {
    fn new(stream: Stream, accepted: sam_proto::exchange::Accepted) -> Incoming {
        Incoming {
            stream,
            peer: accepted.peer,
            from_port: accepted.from_port,
            to_port: accepted.to_port,
        }
    }
}

/// State shared by a session and its sub-sessions.
struct Shared {
    config: Arc<SamConfig>,
    keys: PrivateKeys,
    version: Version,
    /// The style the session was created with.
    style: Style,
    /// Our end of the control socket (where the bridge forwards datagrams to).
    local_ip: IpAddr,
    /// The bridge's end of the control socket.
    bridge: SocketAddr,
    control: ControlHandle,
}

impl Drop for Shared {
    fn drop(&mut self) {
        // The last handle is gone: close the control socket even mid-command.
        self.control.shutdown.notify_one();
    }
}

/// What differs between a session and its sub-sessions.
struct View {
    id: SessionId<'static>,
    style: Style,
    /// Where the bridge forwards this (sub-)session's datagrams.
    udp: Option<Arc<UdpSocket>>,
    header: bool,
}

/// A SAM session: a destination on the bridge with its control socket.
///
/// Cloning is cheap (an `Arc`); all clones are the same session. The control socket belongs to
/// a background task that answers the bridge's probes, receives datagrams and runs one
/// command at a time ([`Session::lookup`], [`Session::add`], [`Session::remove`]). The session
/// ends when [`Session::close`] is called, when the bridge closes the control socket, or when
/// the last handle (including [`DatagramSocket`]s and [`IncomingStreams`]) is dropped; after
/// that every call fails with [`Error::SessionClosed`].
///
/// **Cancel safety**: every method may be cancelled (its future dropped, e.g. by a timeout)
/// at any await and the session stays usable. Stream operations ([`connect`](Self::connect),
/// [`accept`](Self::accept), [`forward`](Self::forward)) use their own socket, which dropping
/// closes. Control-socket commands are finished by the background task, which discards an
/// answer nobody waits for, so the control socket is never left in the middle of an exchange.
#[derive(Clone)]
pub struct Session {
    shared: Arc<Shared>,
    view: Arc<View>,
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session")
            .field("id", &self.view.id)
            .field("style", &self.view.style)
            .field("address", &self.address())
            .field("version", &self.shared.version)
            .field("closed", &self.is_closed())
            .finish()
    }
}

impl Session {
    /// `SESSION CREATE` on a new socket, which becomes the control socket.
    pub(crate) async fn create(config: Arc<SamConfig>, options: SessionOptions) -> Result<Session> {
        let id = options
            .session_id(random_seed())
            .map_err(|e| Error::proto(SessionCreate::KIND, e))?;
        // Refuse what cannot be sent before connecting (the address here is a placeholder).
        let probe = options.create_command(
            id.clone(),
            Version::V3_3,
            true,
            Some(("127.0.0.1".to_owned(), 1)),
        );
        Exchange::new(probe).map_err(|e| Error::proto(SessionCreate::KIND, e))?;

        let mut sent = SessionStyle::Stream;
        let created = match create_once(&config, &options, &id, true, &mut sent).await {
            // A 3.3 bridge that predates the name PRIMARY refuses it (and closes the socket):
            // try again with MASTER on a new one.
            Err(e) if e.is_primary_refusal(&sent) => {
                create_once(&config, &options, &id, false, &mut sent).await?
            }
            other => other?,
        };
        let Created {
            opened,
            keys,
            local_ip,
            bridge,
            udp,
        } = created;
        let version = opened.version;
        let shared = Arc::new(Shared {
            config,
            keys,
            version,
            style: options.style,
            local_ip,
            bridge,
            control: control::spawn(opened),
        });
        let view = Arc::new(View {
            id,
            style: options.style,
            udp: udp.map(Arc::new),
            header: options.header == Some(true),
        });
        Ok(Session { shared, view })
    }

    /// The session ID.
    pub fn id(&self) -> &str {
        self.view.id.as_str()
    }

    /// The session style.
    pub fn style(&self) -> Style {
        self.view.style
    }

    /// The session's private keys, as the bridge reported them in `SESSION STATUS`.
    pub fn keys(&self) -> &PrivateKeys {
        &self.shared.keys
    }

    /// The session's public destination.
    pub fn destination(&self) -> &Destination {
        self.shared.keys.destination()
    }

    /// The session's `.b32.i2p` address.
    pub fn address(&self) -> B32Address {
        self.destination().b32_address()
    }

    /// The SAM version the bridge agreed to for this session.
    pub fn version(&self) -> Version {
        self.shared.version
    }

    /// The configuration the session was created with.
    pub fn config(&self) -> &SamConfig {
        &self.shared.config
    }

    /// `true` once the control socket is closed (by [`Session::close`] or by the bridge).
    pub fn is_closed(&self) -> bool {
        self.shared.control.is_closed()
    }

    /// Ends the session on the bridge (and, with it, every sub-session and stream of the
    /// session): sends `QUIT` on SAM 3.2+ bridges (waiting up to [`QUIT_WAIT`] for them to act
    /// on it), then closes the control socket. Returns once the socket is closed.
    ///
    /// Data written to the session's streams and not yet delivered may be lost.
    pub async fn close(&self) {
        if self.version() >= Version::V3_2 && !self.is_closed() {
            // Ends the session at once; emissary otherwise keeps its ID reserved for 60 s. A
            // bridge that ignores QUIT costs QUIT_WAIT.
            let _ = self
                .command(Quit::KIND, QUIT_WAIT, ControlCommand::Quit)
                .await;
        }
        self.shared.control.shutdown.notify_one();
        let mut closed = self.shared.control.closed.clone();
        // An error means the task is gone, which is closed too.
        let _ = closed.wait_for(|closed| *closed).await;
    }

    fn ensure_open(&self) -> Result<()> {
        if self.is_closed() {
            Err(Error::SessionClosed)
        } else {
            Ok(())
        }
    }

    /// A failure on a stream socket: if the session has gone meanwhile, say that instead.
    fn closed_or(&self, e: Error) -> Error {
        if self.is_closed() {
            Error::SessionClosed
        } else {
            e
        }
    }

    /// Opens a stream to `dest`: a base64 destination, a `.b32.i2p` address or a host name
    /// (passed as-is to the bridge), within the configured `stream_timeout`.
    pub async fn connect(&self, dest: &str) -> Result<Stream> {
        self.connect_with(dest, ConnectOptions::default()).await
    }

    /// [`Session::connect`] with ports or `SILENT`.
    pub async fn connect_with(&self, dest: &str, options: ConnectOptions) -> Result<Stream> {
        self.ensure_open()?;
        let command = options.connect_command(self.view.id.clone(), dest);
        let timeout = Some(self.shared.config.stream_timeout);
        let (opened, ()) = request(&self.shared.config, StreamConnect::KIND, timeout, command)
            .await
            .map_err(|e| self.closed_or(e))?;
        Ok(Stream::from_parts(opened.socket, opened.buf))
    }

    /// Waits (without a timeout) for someone to open a stream to this session.
    ///
    /// Each call uses its own socket; several may wait at once.
    pub async fn accept(&self) -> Result<Incoming> {
        self.ensure_open()?;
        let command = StreamAccept::new(self.view.id.clone());
        let (opened, accepted) = request(&self.shared.config, StreamAccept::KIND, None, command)
            .await
            .map_err(|e| self.closed_or(e))?;
        Ok(Incoming::new(
            Stream::from_parts(opened.socket, opened.buf),
            accepted,
        ))
    }

    /// The incoming streams, one [`Session::accept`] after another, as a
    /// [`futures_core::Stream`]. It ends after yielding [`Error::SessionClosed`].
    pub fn incoming(&self) -> IncomingStreams {
        IncomingStreams {
            session: self.clone(),
            pending: None,
            done: false,
        }
    }

    /// Asks the bridge to connect to `local` for every incoming stream (read the peer with
    /// [`read_forwarded`]). Forwarding lasts as long as the returned [`Forward`].
    pub async fn forward(&self, local: SocketAddr) -> Result<Forward> {
        self.ensure_open()?;
        let command = forward_command(self.view.id.clone(), local.ip().to_string(), local.port());
        let timeout = Some(self.shared.config.stream_timeout);
        let (opened, ()) = request(&self.shared.config, StreamForward::KIND, timeout, command)
            .await
            .map_err(|e| self.closed_or(e))?;
        Ok(Forward {
            _socket: opened.socket,
            local,
        })
    }

    /// Resolves `name` (a host name, a `.b32.i2p` address, a base64 destination or `ME`)
    /// through the session's own control socket, within `lookup_timeout`.
    pub async fn lookup(&self, name: &str) -> Result<Destination> {
        let command = ControlCommand::Lookup(NamingLookup::new(name.to_owned()));
        let timeout = self.shared.config.lookup_timeout;
        match self.command(NamingLookup::KIND, timeout, command).await? {
            Completion::Lookup(destination) => Ok(destination),
            _ => Err(unexpected_completion()),
        }
    }

    /// Adds a sub-session to a [`Style::Primary`] session and returns a handle for it. The
    /// handle shares the primary's control socket: closing it closes the primary.
    pub async fn add(&self, options: SubsessionOptions) -> Result<Session> {
        if self.shared.style != Style::Primary {
            // Bridges answer this with an error that also destroys the session.
            return Err(Error::InvalidInput(
                "sub-sessions need a session created with Style::Primary".to_owned(),
            ));
        }
        // Refuse what cannot be sent before binding anything.
        options
            .add_command(None)
            .map_err(|e| Error::proto(SessionAdd::KIND, e))?;
        let (udp, forward) = if options.style.uses_udp() {
            let udp = UdpSocket::bind((self.shared.local_ip, 0)).await?;
            let addr = udp.local_addr()?;
            (
                Some(Arc::new(udp)),
                Some((addr.ip().to_string(), addr.port())),
            )
        } else {
            (None, None)
        };
        let command = options
            .add_command(forward)
            .map_err(|e| Error::proto(SessionAdd::KIND, e))?;
        let id = command.id.clone();
        let timeout = self.shared.config.session_timeout;
        match self
            .command(SessionAdd::KIND, timeout, ControlCommand::Add(command))
            .await?
        {
            Completion::Added => {}
            _ => return Err(unexpected_completion()),
        }
        Ok(Session {
            shared: self.shared.clone(),
            view: Arc::new(View {
                id,
                style: options.style,
                udp,
                header: options.header == Some(true),
            }),
        })
    }

    /// Removes the sub-session `id` from a primary session.
    pub async fn remove(&self, id: &str) -> Result<()> {
        let id = SessionId::new(id.to_owned()).map_err(|e| Error::proto(SessionRemove::KIND, e))?;
        let command = ControlCommand::Remove(SessionRemove {
            id,
            extra: Vec::new(),
        });
        let timeout = self.shared.config.session_timeout;
        match self.command(SessionRemove::KIND, timeout, command).await? {
            Completion::Removed => Ok(()),
            _ => Err(unexpected_completion()),
        }
    }

    /// A socket to send and receive this DATAGRAM or RAW session's datagrams. The bridge
    /// forwards to a UDP socket bound when the session was created; sending goes to the
    /// bridge's UDP port ([`SamConfig::udp_address`]).
    pub async fn datagram_socket(&self) -> Result<DatagramSocket> {
        self.ensure_open()?;
        let Some(udp) = self.view.udp.clone() else {
            return Err(Error::InvalidInput(
                "datagram_socket needs a Datagram or Raw session".to_owned(),
            ));
        };
        let bridge = match &self.shared.config.udp_address {
            Some(addr) => tokio::net::lookup_host(addr.as_str())
                .await?
                .next()
                .ok_or_else(|| {
                    Error::InvalidInput("SAM UDP address resolves to nothing".to_owned())
                })?,
            None => default_udp_bridge(self.shared.bridge)?,
        };
        Ok(DatagramSocket::new(
            self.clone(),
            udp,
            bridge,
            self.view.style == Style::Raw,
            self.view.header,
        ))
    }

    pub(crate) fn session_id(&self) -> &SessionId<'static> {
        &self.view.id
    }

    pub(crate) fn control(&self) -> &ControlHandle {
        &self.shared.control
    }

    /// Runs one command on the control socket through the control task.
    async fn command(
        &self,
        operation: &'static str,
        timeout: Duration,
        command: ControlCommand<'static>,
    ) -> Result<Completion> {
        self.ensure_open()?;
        let (reply, answer) = oneshot::channel();
        let request = ControlRequest {
            operation,
            command,
            reply,
        };
        within(timeout, operation, async {
            self.shared
                .control
                .commands
                .send(request)
                .await
                .map_err(|_| Error::SessionClosed)?;
            answer.await.map_err(|_| Error::SessionClosed)?
        })
        .await
    }
}

fn unexpected_completion() -> Error {
    Error::Protocol(sam_proto::Error::Misuse(
        "the control socket finished another command",
    ))
}

/// What a successful `SESSION CREATE` leaves.
struct Created {
    opened: Opened,
    keys: PrivateKeys,
    local_ip: IpAddr,
    bridge: SocketAddr,
    udp: Option<UdpSocket>,
}

/// One `SESSION CREATE` attempt on a new socket. `prefer_primary`: a PRIMARY session may be
/// sent as `PRIMARY` (when the bridge agreed to 3.3); `sent` records the style that was sent.
async fn create_once(
    config: &SamConfig,
    options: &SessionOptions,
    id: &SessionId<'static>,
    prefer_primary: bool,
    sent: &mut SessionStyle,
) -> Result<Created> {
    let mut opened = open(config).await?;
    let local_ip = opened.socket.local_addr()?.ip();
    let bridge = opened.socket.peer_addr()?;
    // DATAGRAM/RAW: the bridge forwards to a UDP socket of ours (i2pd needs HOST and PORT).
    let udp = if options.style.uses_udp() {
        Some(UdpSocket::bind((local_ip, 0)).await?)
    } else {
        None
    };
    let forward = match &udp {
        Some(udp) => {
            let addr = udp.local_addr()?;
            Some((addr.ip().to_string(), addr.port()))
        }
        None => None,
    };
    let command = options.create_command(id.clone(), opened.version, prefer_primary, forward);
    *sent = command.style.clone();
    let exchange = Exchange::new(command)
        .and_then(|e| e.with_version(opened.version))
        .map_err(|e| Error::proto(SessionCreate::KIND, e))?;
    let keys = within(
        config.session_timeout,
        SessionCreate::KIND,
        drive(
            &mut opened.socket,
            exchange,
            &mut opened.buf,
            SessionCreate::KIND,
        ),
    )
    .await?;
    Ok(Created {
        opened,
        keys,
        local_ip,
        bridge,
        udp,
    })
}

/// The incoming streams of a session (from [`Session::incoming`]): a
/// [`futures_core::Stream`] of [`Incoming`], one accept at a time. It ends after yielding
/// [`Error::SessionClosed`]. Dropping it cancels the pending accept.
pub struct IncomingStreams {
    session: Session,
    pending: Option<Pin<Box<dyn Future<Output = Result<Incoming>> + Send>>>,
    done: bool,
}

impl fmt::Debug for IncomingStreams {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IncomingStreams")
            .field("session", &self.session)
            .field("accepting", &self.pending.is_some())
            .finish()
    }
}

impl futures_core::Stream for IncomingStreams {
    type Item = Result<Incoming>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Incoming>>> {
        let this = self.get_mut();
        if this.done {
            return Poll::Ready(None);
        }
        let session = &this.session;
        let pending = this.pending.get_or_insert_with(|| {
            let session = session.clone();
            Box::pin(async move { session.accept().await })
        });
        match pending.as_mut().poll(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(result) => {
                this.pending = None;
                if matches!(result, Err(Error::SessionClosed)) {
                    this.done = true;
                }
                Poll::Ready(Some(result))
            }
        }
    }
}

/// An active `STREAM FORWARD` (from [`Session::forward`]): the bridge connects to the local
/// address for every incoming stream. Dropping it closes its socket, which stops forwarding.
#[derive(Debug)]
pub struct Forward {
    _socket: TcpStream,
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
    let mut tcp = tcp;
    let mut buf = Vec::new();
    let accepted = drive(
        &mut tcp,
        Exchange::forwarded(),
        &mut buf,
        StreamForward::KIND,
    )
    .await?;
    Ok(Incoming::new(Stream::from_parts(tcp, buf), accepted))
}
