//! Sessions: one destination on the bridge, its streams, lookups and datagrams.

use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use std::{fmt, io};

use async_net::{TcpStream, UdpSocket};
use futures_core::Stream as AsyncIter;
use sam_proto::client::{self as client, ConnectOptions, SessionOptions, Style};
use sam_proto::command as cmd;
use sam_proto::control::{Completion, ControlCommand};
use sam_proto::exchange::{Accepted, Exchange, Request};
use sam_proto::keys::{B32Address, Destination, PrivateKeys};
use sam_proto::message::Message;
use sam_proto::{SessionId, Version};

use crate::control::{self, Control, ControlRequest};
use crate::driver::{drive, open, request, within, Opened};
use crate::{DatagramSocket, Error, Result, SamConfig, Stream, SubsessionOptions};

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

/// A socket whose accept (or forward) exchange is over, and what the bridge said about it.
fn incoming((opened, said): (Opened, Accepted)) -> Incoming {
    let stream = Stream::from_parts(opened.socket, opened.buf);
    let (peer, from_port, to_port) = (said.peer, said.from_port, said.to_port);
    Incoming {
        stream,
        peer,
        from_port,
        to_port,
    }
}

/// What a session and all its sub-sessions share.
struct Core {
    config: Arc<SamConfig>,
    keys: PrivateKeys,
    version: Version,
    primary: bool,
    /// Our end of the control socket (UDP sockets bind to its IP) and the bridge's end (its
    /// UDP port defaults to the TCP port - 1).
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
/// those inside [`DatagramSocket`]s and [`IncomingStreams`]) is dropped; from then on every
/// call fails with [`Error::SessionClosed`].
///
/// **Cancel safety**: any future of a session may be dropped at any await (a timeout, a lost
/// race) and the session remains usable. [`connect`](Self::connect),
/// [`accept`](Self::accept) and [`forward`](Self::forward) each own a socket of their own,
/// closed by the drop. Control-socket commands are carried to their end by the background
/// task, which throws away answers nobody waits for: the control socket is never left
/// mid-exchange.
#[derive(Clone)]
pub struct Session {
    core: Arc<Core>,
    id: SessionId<'static>,
    style: Style,
    /// DATAGRAM/RAW: the socket the bridge forwards to, and whether RAW headers were asked for.
    udp: Option<(UdpSocket, bool)>,
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (id, style, at) = (self.id(), self.style, self.address());
        let (version, closed) = (self.core.version, self.is_closed());
        write!(
            f,
            "Session {{ id: {id:?}, style: {style:?}, address: {at}, "
        )?;
        write!(f, "version: {version}, closed: {closed} }}")
    }
}

/// A UDP socket for the bridge to forward to (`HOST`, `PORT`), on `ip`, for DATAGRAM/RAW.
async fn bind_udp(
    style: Style,
    ip: std::net::IpAddr,
) -> io::Result<Option<(UdpSocket, (String, u16))>> {
    if !style.uses_udp() {
        return Ok(None);
    }
    let udp = UdpSocket::bind((ip, 0)).await?;
    let at = udp.local_addr()?;
    Ok(Some((udp, (at.ip().to_string(), at.port()))))
}

impl Session {
    /// `SESSION CREATE` on a new socket, which becomes the control socket (and, if a 3.3
    /// bridge refuses `PRIMARY`, once more with `MASTER` on another).
    pub(crate) async fn create(config: Arc<SamConfig>, options: SessionOptions) -> Result<Session> {
        let invalid = |e| Error::proto(cmd::SessionCreate::KIND, e);
        let id = options.session_id(client::random_seed()).map_err(invalid)?;
        // Refuse what cannot be sent before connecting (placeholder version and UDP address).
        let placeholder = Some(("127.0.0.1".to_owned(), 1));
        Exchange::new(options.create_command(id.clone(), Version::V3_3, true, placeholder))
            .map_err(invalid)?;
        let mut prefer_primary = true;
        let (opened, keys, udp) = loop {
            let mut opened = open(&config).await?;
            let ip = opened.socket.local_addr()?.ip();
            let (udp, forward) = bind_udp(options.style, ip).await?.unzip();
            let version = opened.version;
            let command = options.create_command(id.clone(), version, prefer_primary, forward);
            let sent = command.style.clone();
            let mut exchange = Exchange::new(command)
                .and_then(|e| e.with_version(version))
                .map_err(invalid)?;
            let timeout = Some(config.session_timeout);
            opened
                .run(&mut exchange, cmd::SessionCreate::KIND, timeout)
                .await?;
            match exchange.finish() {
                Ok(keys) => break (opened, keys, udp),
                Err(e) if prefer_primary && client::retry_primary_as_master(&sent, &e) => {}
                Err(e) => return Err(invalid(e)),
            }
            prefer_primary = false;
        };
        let core = Core {
            keys,
            version: opened.version,
            primary: options.style == Style::Primary,
            local: opened.socket.local_addr()?,
            bridge: opened.socket.peer_addr()?,
            control: control::spawn(opened)?,
            config,
        };
        let udp = udp.map(|udp| (udp, options.header == Some(true)));
        let (core, style) = (Arc::new(core), options.style);
        Ok(Session {
            core,
            id,
            style,
            udp,
        })
    }

    /// This (sub-)session's ID on the bridge.
    pub fn id(&self) -> &str {
        self.id.as_str()
    }

    /// This (sub-)session's style.
    pub fn style(&self) -> Style {
        self.style
    }

    /// The private keys the bridge confirmed in `SESSION STATUS` (never shown by `Debug`).
    pub fn keys(&self) -> &PrivateKeys {
        &self.core.keys
    }

    /// The public destination of [`keys`](Self::keys).
    pub fn destination(&self) -> &Destination {
        self.core.keys.destination()
    }

    /// The destination's `.b32.i2p` address.
    pub fn address(&self) -> B32Address {
        self.destination().b32_address()
    }

    /// The SAM version agreed with the bridge.
    pub fn version(&self) -> Version {
        self.core.version
    }

    /// The bridge configuration the session came from.
    pub fn config(&self) -> &SamConfig {
        &self.core.config
    }

    /// `true` once the control socket is closed, by [`close`](Self::close) or by the bridge.
    pub fn is_closed(&self) -> bool {
        self.core.control.is_closed()
    }

    /// Ends the session on the bridge (and, with it, its sub-sessions and all their streams):
    /// sends `QUIT` on SAM 3.2+ bridges (waiting up to [`QUIT_WAIT`](client::QUIT_WAIT) for
    /// them to act on it), then closes the control socket, even in the middle of a command.
    /// Returns once the socket is closed.
    ///
    /// Data written to the session's streams and not yet delivered may be lost.
    pub async fn close(&self) {
        if self.version() >= Version::V3_2 && !self.is_closed() {
            // Ends the session at once; emissary otherwise keeps its ID reserved for 60 s. A
            // bridge that ignores QUIT costs QUIT_WAIT.
            let quit = ControlCommand::Quit;
            let _ = self.command(cmd::Quit::KIND, client::QUIT_WAIT, quit).await;
        }
        self.core.control.close().await
    }

    /// A stream command on a socket of its own. A closed session fails at once, and a
    /// failure is reported as [`Error::SessionClosed`] if the session went away meanwhile.
    async fn on_own_socket<R: Request>(
        &self,
        operation: &'static str,
        timeout: Option<Duration>,
        command: R,
    ) -> Result<(Opened, R::Output)> {
        if self.is_closed() {
            return Err(Error::SessionClosed);
        }
        let answer = request(&self.core.config, operation, timeout, command).await;
        match answer {
            Err(_) if self.is_closed() => Err(Error::SessionClosed),
            answer => answer,
        }
    }

    /// Opens a stream to `dest` (base64 destination, `.b32.i2p` address or host name, sent
    /// as given), within the configuration's `stream_timeout`.
    pub async fn connect(&self, dest: &str) -> Result<Stream> {
        self.connect_with(dest, ConnectOptions::default()).await
    }

    /// [`connect`](Self::connect) with source/destination ports or `SILENT`.
    pub async fn connect_with(&self, dest: &str, options: ConnectOptions) -> Result<Stream> {
        let command = options.connect_command(self.id.clone(), dest);
        let timeout = Some(self.core.config.stream_timeout);
        let (opened, ()) = self
            .on_own_socket(cmd::StreamConnect::KIND, timeout, command)
            .await?;
        Ok(Stream::from_parts(opened.socket, opened.buf))
    }

    /// Waits, with no time limit, for a peer to open a stream to us. Every call has its own
    /// socket, so several accepts may wait side by side.
    pub async fn accept(&self) -> Result<Incoming> {
        let command = cmd::StreamAccept::new(self.id.clone());
        Ok(incoming(
            self.on_own_socket(cmd::StreamAccept::KIND, None, command)
                .await?,
        ))
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
        let command =
            client::forward_command(self.id.clone(), local.ip().to_string(), local.port());
        let timeout = Some(self.core.config.stream_timeout);
        let (opened, ()) = self
            .on_own_socket(cmd::StreamForward::KIND, timeout, command)
            .await?;
        let _socket = opened.socket;
        Ok(Forward { _socket, local })
    }

    /// Resolves a host name, `.b32.i2p` address, base64 destination or `ME` on the session's
    /// control socket (through its tunnels), within `lookup_timeout`.
    pub async fn lookup(&self, name: &str) -> Result<Destination> {
        let command = ControlCommand::Lookup(cmd::NamingLookup::new(name.to_owned()));
        let timeout = self.core.config.lookup_timeout;
        let done = self
            .command(cmd::NamingLookup::KIND, timeout, command)
            .await?;
        let Completion::Lookup(destination) = done else {
            return Err(another_completion());
        };
        Ok(destination)
    }

    /// Adds a sub-session to this [`Style::Primary`] session. The handle it returns shares
    /// the primary's control socket (closing it closes the primary).
    pub async fn add(&self, options: SubsessionOptions) -> Result<Session> {
        if !self.core.primary {
            // The bridge would answer with an error that destroys the session.
            let why = "sub-sessions need a session created with Style::Primary";
            return Err(Error::InvalidInput(why.to_owned()));
        }
        let invalid = |e| Error::proto(cmd::SessionAdd::KIND, e);
        // Refuse what cannot be sent before binding a UDP socket.
        options.add_command(None).map_err(invalid)?;
        let (udp, forward) = bind_udp(options.style, self.core.local.ip()).await?.unzip();
        let command = options.add_command(forward).map_err(invalid)?;
        let id = command.id.clone();
        let (add, timeout) = (
            ControlCommand::Add(command),
            self.core.config.session_timeout,
        );
        let Completion::Added = self.command(cmd::SessionAdd::KIND, timeout, add).await? else {
            return Err(another_completion());
        };
        let udp = udp.map(|udp| (udp, options.header == Some(true)));
        let (core, style) = (self.core.clone(), options.style);
        Ok(Session {
            core,
            id,
            style,
            udp,
        })
    }

    /// Removes sub-session `id` from this primary session.
    pub async fn remove(&self, id: &str) -> Result<()> {
        let invalid = |e| Error::proto(cmd::SessionRemove::KIND, e);
        let id = SessionId::new(id.to_owned()).map_err(invalid)?;
        let extra = Vec::new();
        let remove = ControlCommand::Remove(cmd::SessionRemove { id, extra });
        let timeout = self.core.config.session_timeout;
        let done = self
            .command(cmd::SessionRemove::KIND, timeout, remove)
            .await?;
        let Completion::Removed = done else {
            return Err(another_completion());
        };
        Ok(())
    }

    /// The datagram socket of a DATAGRAM or RAW (sub-)session: it receives on the UDP socket
    /// the bridge was given at creation and sends to the bridge's UDP port
    /// ([`SamConfig::udp_address`], else the TCP port - 1).
    pub async fn datagram_socket(&self) -> Result<DatagramSocket> {
        if self.is_closed() {
            return Err(Error::SessionClosed);
        }
        let Some((udp, header)) = self.udp.clone() else {
            let why = "datagram_socket needs a Datagram or Raw session";
            return Err(Error::InvalidInput(why.to_owned()));
        };
        let tcp = self.core.bridge;
        let bridge = match &self.core.config.udp_address {
            Some(address) => async_net::resolve(address.as_str()).await?.first().copied(),
            None => Some(client::default_udp_bridge(tcp)?),
        };
        let Some(bridge) = bridge else {
            let why = "no usable SAM UDP address for the bridge";
            return Err(Error::InvalidInput(why.to_owned()));
        };
        let (session, raw) = (self.clone(), self.style == Style::Raw);
        let skipped = AtomicU64::new(0);
        Ok(DatagramSocket {
            session,
            udp,
            bridge,
            raw,
            header,
            skipped,
        })
    }

    pub(crate) fn session_id(&self) -> &SessionId<'static> {
        &self.id
    }

    pub(crate) fn control(&self) -> &Control {
        &self.core.control
    }

    /// Hands a command to the control task and waits for its answer. If this future is
    /// dropped, so is the reply channel: the task then skips the command, or finishes it and
    /// drops the answer.
    async fn command(
        &self,
        operation: &'static str,
        timeout: Duration,
        command: ControlCommand<'static>,
    ) -> Result<Completion> {
        if self.is_closed() {
            return Err(Error::SessionClosed);
        }
        let (reply, answer) = async_channel::bounded(1);
        let request = ControlRequest {
            operation,
            command,
            reply,
        };
        let commands = &self.core.control.commands;
        within(timeout, operation, async {
            commands
                .send(request)
                .await
                .map_err(|_| Error::SessionClosed)?;
            answer.recv().await.unwrap_or(Err(Error::SessionClosed))
        })
        .await
    }
}

fn another_completion() -> Error {
    let what = "the control socket finished another command";
    Error::Protocol(sam_proto::Error::Misuse(what))
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

/// A `STREAM FORWARD` in force (from [`Session::forward`]); dropping it closes its socket,
/// and the bridge stops forwarding.
#[derive(Debug)]
pub struct Forward {
    _socket: TcpStream,
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
    let (socket, buf, version) = (tcp, Vec::new(), Version::V3_1);
    let mut opened = Opened {
        socket,
        buf,
        version,
    };
    let mut exchange = Exchange::forwarded();
    drive(&mut opened.socket, &mut exchange, &mut opened.buf).await?;
    let said = exchange
        .finish()
        .map_err(|e| Error::proto(cmd::StreamForward::KIND, e))?;
    Ok(incoming((opened, said)))
}
