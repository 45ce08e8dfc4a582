//! Sessions: one destination on the bridge, its streams, lookups and datagrams.

use std::fmt;
use std::net::{SocketAddr, TcpStream, ToSocketAddrs, UdpSocket};
use std::sync::Arc;
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
use sam_proto::exchange::{Accepted, Exchange};
use sam_proto::keys::{B32Address, Destination, PrivateKeys};
use sam_proto::message::Message;
use sam_proto::{SessionId, SessionStyle, Version};

use crate::control::Control;
use crate::datagram::DatagramSocket;
use crate::driver::{clear_timeouts, drive, open, request, Deadline, Opened};
use crate::stream::Stream;
use crate::{Error, Result, SamConfig};

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
    fn new(opened: Opened, a: Accepted) -> Incoming {
        let stream = Stream::from_parts(opened.socket, opened.buf);
        let (peer, from_port, to_port) = (a.peer, a.from_port, a.to_port);
        Incoming {
            stream,
            peer,
            from_port,
            to_port,
        }
    }
}

/// State shared by a session and its sub-sessions.
#[derive(Debug)]
struct Shared {
    config: Arc<SamConfig>,
    keys: PrivateKeys,
    version: Version,
    /// The style the session was created with.
    style: Style,
    control: Arc<Control>,
}

impl Drop for Shared {
    fn drop(&mut self) {
        // The last handle is gone: close the control socket even mid-command.
        self.control.shutdown();
    }
}

/// What differs between a session and its sub-sessions.
#[derive(Debug)]
struct View {
    id: SessionId<'static>,
    style: Style,
    /// Where the bridge forwards this (sub-)session's datagrams.
    udp: Option<Arc<UdpSocket>>,
    header: bool,
}

impl View {
    fn new(
        id: SessionId<'static>,
        style: Style,
        udp: Option<UdpSocket>,
        header: Option<bool>,
    ) -> Arc<View> {
        let (udp, header) = (udp.map(Arc::new), header == Some(true));
        Arc::new(View {
            id,
            style,
            udp,
            header,
        })
    }
}

/// A SAM session: a destination on the bridge with its control socket.
///
/// Cloning is cheap (an `Arc`); all clones are the same session, and a session is `Send +
/// Sync`: accept on one thread, connect on others. The control socket belongs to a background
/// thread that answers the bridge's probes, receives datagrams and serves one command at a
/// time ([`Session::lookup`], [`Session::add`], [`Session::remove`]). The session ends when
/// [`Session::close`] is called, when the bridge closes the control socket, or when the last
/// handle (including [`DatagramSocket`]s and [`IncomingStreams`]) is dropped; after that every
/// call fails with [`Error::SessionClosed`].
///
/// Stream operations ([`connect`](Self::connect), [`accept`](Self::accept),
/// [`forward`](Self::forward)) use their own socket, closed when they fail or time out.
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
    pub(crate) fn create(config: Arc<SamConfig>, options: SessionOptions) -> Result<Session> {
        let id = options
            .session_id(random_seed())
            .map_err(|e| Error::proto(SessionCreate::KIND, e))?;
        let mut sent = SessionStyle::Stream;
        let mut created = create_once(&config, &options, &id, true, &mut sent);
        // A 3.3 bridge that predates the name PRIMARY refuses it (and closes the socket):
        // try again with MASTER on a new one.
        if created.as_ref().is_err_and(|e| e.is_primary_refusal(&sent)) {
            created = create_once(&config, &options, &id, false, &mut sent);
        }
        let (opened, keys, udp) = created?;
        let version = opened.version;
        let control = Control::spawn(opened, config.connect_timeout)?;
        let shared = Shared {
            config,
            keys,
            version,
            style: options.style,
            control,
        };
        let view = View::new(id, options.style, udp, options.header);
        let shared = Arc::new(shared);
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
    pub fn close(&self) {
        if self.version() >= Version::V3_2 && !self.is_closed() {
            // Ends the session at once; emissary otherwise keeps its ID reserved for 60 s. A
            // bridge that ignores QUIT costs QUIT_WAIT.
            let _ = self.command(Quit::KIND, QUIT_WAIT, ControlCommand::Quit);
        }
        self.shared.control.shutdown();
        self.shared.control.wait_closed();
    }

    fn ensure_open(&self) -> Result<()> {
        if self.is_closed() {
            return Err(Error::SessionClosed);
        }
        Ok(())
    }

    /// A failure on a stream socket: if the session has gone meanwhile, say that instead.
    fn closed_or(&self, e: Error) -> Error {
        if self.is_closed() {
            return Error::SessionClosed;
        }
        e
    }

    /// Runs `command` on a new socket within `deadline`.
    fn stream_request<R: sam_proto::exchange::Request>(
        &self,
        deadline: Deadline,
        command: R,
    ) -> Result<(Opened, R::Output)> {
        self.ensure_open()?;
        request(&self.shared.config, deadline, command).map_err(|e| self.closed_or(e))
    }

    /// Opens a stream to `dest`: a base64 destination, a `.b32.i2p` address or a host name
    /// (passed as-is to the bridge), within the configured `stream_timeout`.
    pub fn connect(&self, dest: &str) -> Result<Stream> {
        self.connect_with(dest, ConnectOptions::default())
    }

    /// [`Session::connect`] with ports or `SILENT`.
    pub fn connect_with(&self, dest: &str, options: ConnectOptions) -> Result<Stream> {
        let command = options.connect_command(self.view.id.clone(), dest);
        let timeout = Some(self.shared.config.stream_timeout);
        let deadline = Deadline::new(timeout, StreamConnect::KIND);
        let (opened, ()) = self.stream_request(deadline, command)?;
        Ok(Stream::from_parts(opened.socket, opened.buf))
    }

    /// Waits (without a timeout) for someone to open a stream to this session.
    ///
    /// Each call uses its own socket; several threads may wait at once.
    pub fn accept(&self) -> Result<Incoming> {
        self.accept_within(None)
    }

    /// [`Session::accept`], giving up after `timeout` with [`Error::Timeout`] (the accept
    /// socket is closed then, so the bridge hands the next stream to another accept).
    pub fn accept_timeout(&self, timeout: Duration) -> Result<Incoming> {
        self.accept_within(Some(timeout))
    }

    fn accept_within(&self, timeout: Option<Duration>) -> Result<Incoming> {
        let command = StreamAccept::new(self.view.id.clone());
        let (opened, accepted) =
            self.stream_request(Deadline::new(timeout, StreamAccept::KIND), command)?;
        Ok(Incoming::new(opened, accepted))
    }

    /// The incoming streams, one [`Session::accept`] after another, as an iterator. It ends
    /// after yielding [`Error::SessionClosed`].
    pub fn incoming(&self) -> IncomingStreams {
        IncomingStreams {
            session: self.clone(),
            done: false,
        }
    }

    /// Asks the bridge to connect to `local` for every incoming stream (read the peer with
    /// [`read_forwarded`]). Forwarding lasts as long as the returned [`Forward`].
    pub fn forward(&self, local: SocketAddr) -> Result<Forward> {
        let command = forward_command(self.view.id.clone(), local.ip().to_string(), local.port());
        let timeout = Some(self.shared.config.stream_timeout);
        let deadline = Deadline::new(timeout, StreamForward::KIND);
        let (opened, ()) = self.stream_request(deadline, command)?;
        let _socket = opened.socket;
        Ok(Forward { _socket, local })
    }

    /// Resolves `name` (a host name, a `.b32.i2p` address, a base64 destination or `ME`)
    /// through the session's own control socket, within `lookup_timeout`.
    pub fn lookup(&self, name: &str) -> Result<Destination> {
        let command = ControlCommand::Lookup(NamingLookup::new(name.to_owned()));
        let timeout = self.shared.config.lookup_timeout;
        match self.command(NamingLookup::KIND, timeout, command)? {
            Completion::Lookup(destination) => Ok(destination),
            _ => Err(unexpected_completion()),
        }
    }

    /// Adds a sub-session to a [`Style::Primary`] session and returns a handle for it. The
    /// handle shares the primary's control socket: closing it closes the primary.
    pub fn add(&self, options: SubsessionOptions) -> Result<Session> {
        if self.shared.style != Style::Primary {
            // Bridges answer this with an error that also destroys the session.
            return Err(Error::InvalidInput(
                "sub-sessions need a session created with Style::Primary".to_owned(),
            ));
        }
        // Refuse what cannot be sent before binding anything.
        let invalid = |e| Error::proto(SessionAdd::KIND, e);
        options.add_command(None).map_err(invalid)?;
        // The bridge forwards to the address of our end of the control socket.
        let local_ip = self.control().socket.local_addr()?.ip();
        let udp = options.style.uses_udp();
        let udp = udp.then(|| UdpSocket::bind((local_ip, 0))).transpose()?;
        let command = options.add_command(udp_forward(&udp)?).map_err(invalid)?;
        let id = command.id.clone();
        let timeout = self.shared.config.session_timeout;
        match self.command(SessionAdd::KIND, timeout, ControlCommand::Add(command))? {
            Completion::Added => {}
            _ => return Err(unexpected_completion()),
        }
        let view = View::new(id, options.style, udp, options.header);
        let shared = self.shared.clone();
        Ok(Session { shared, view })
    }

    /// Removes the sub-session `id` from a primary session.
    pub fn remove(&self, id: &str) -> Result<()> {
        let id = SessionId::new(id.to_owned()).map_err(|e| Error::proto(SessionRemove::KIND, e))?;
        let extra = Vec::new();
        let command = ControlCommand::Remove(SessionRemove { id, extra });
        let timeout = self.shared.config.session_timeout;
        match self.command(SessionRemove::KIND, timeout, command)? {
            Completion::Removed => Ok(()),
            _ => Err(unexpected_completion()),
        }
    }

    /// A socket to send and receive this DATAGRAM or RAW session's datagrams. The bridge
    /// forwards to a UDP socket bound when the session was created; sending goes to the
    /// bridge's UDP port ([`SamConfig::udp_address`]).
    pub fn datagram_socket(&self) -> Result<DatagramSocket> {
        self.ensure_open()?;
        let Some(udp) = self.view.udp.clone() else {
            return Err(Error::InvalidInput(
                "datagram_socket needs a Datagram or Raw session".to_owned(),
            ));
        };
        let tcp = self.control().socket.peer_addr()?;
        let bridge = match &self.shared.config.udp_address {
            Some(addr) => addr.to_socket_addrs()?.next().ok_or_else(|| {
                Error::InvalidInput("SAM UDP address resolves to nothing".to_owned())
            })?,
            None => default_udp_bridge(tcp)?,
        };
        let raw = self.view.style == Style::Raw;
        Ok(DatagramSocket::new(
            self.clone(),
            udp,
            bridge,
            raw,
            self.view.header,
        ))
    }

    pub(crate) fn session_id(&self) -> &SessionId<'static> {
        &self.view.id
    }

    pub(crate) fn control(&self) -> &Control {
        &self.shared.control
    }

    /// Runs one command on the control socket, within `timeout`.
    fn command(
        &self,
        operation: &'static str,
        timeout: Duration,
        command: ControlCommand<'static>,
    ) -> Result<Completion> {
        self.ensure_open()?;
        let deadline = Deadline::new(Some(timeout), operation);
        self.shared.control.run(deadline, command)
    }
}

fn unexpected_completion() -> Error {
    Error::Protocol(sam_proto::Error::Misuse(
        "the control socket finished another command",
    ))
}

/// Where the bridge should forward a (sub-)session's datagrams: `udp`'s address.
fn udp_forward(udp: &Option<UdpSocket>) -> Result<Option<(String, u16)>> {
    let Some(udp) = udp else { return Ok(None) };
    let addr = udp.local_addr()?;
    Ok(Some((addr.ip().to_string(), addr.port())))
}

/// One `SESSION CREATE` attempt on a new socket. `prefer_primary`: a PRIMARY session may be
/// sent as `PRIMARY` (when the bridge agreed to 3.3); `sent` records the style that was sent.
fn create_once(
    config: &SamConfig,
    options: &SessionOptions,
    id: &SessionId<'static>,
    prefer_primary: bool,
    sent: &mut SessionStyle,
) -> Result<(Opened, PrivateKeys, Option<UdpSocket>)> {
    let mut opened = open(config, Deadline::new(None, SessionCreate::KIND))?;
    // DATAGRAM/RAW: the bridge forwards to a UDP socket of ours (i2pd needs HOST and PORT).
    let local_ip = opened.socket.local_addr()?.ip();
    let udp = options.style.uses_udp();
    let udp = udp.then(|| UdpSocket::bind((local_ip, 0))).transpose()?;
    let command = options.create_command(
        id.clone(),
        opened.version,
        prefer_primary,
        udp_forward(&udp)?,
    );
    *sent = command.style.clone();
    let exchange = Exchange::new(command)
        .and_then(|e| e.with_version(opened.version))
        .map_err(|e| Error::proto(SessionCreate::KIND, e))?;
    let deadline = Deadline::new(Some(config.session_timeout), SessionCreate::KIND);
    let (socket, buf) = (&mut opened.socket, &mut opened.buf);
    let keys = drive(socket, exchange, buf, SessionCreate::KIND, deadline)?;
    clear_timeouts(&opened.socket)?;
    Ok((opened, keys, udp))
}

/// The incoming streams of a session (from [`Session::incoming`]): an iterator of
/// [`Incoming`], one accept at a time. It ends after yielding [`Error::SessionClosed`].
#[derive(Debug)]
pub struct IncomingStreams {
    session: Session,
    done: bool,
}

impl Iterator for IncomingStreams {
    type Item = Result<Incoming>;

    fn next(&mut self) -> Option<Result<Incoming>> {
        if self.done {
            return None;
        }
        let next = self.session.accept();
        self.done = matches!(next, Err(Error::SessionClosed));
        Some(next)
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
/// No timeout of its own: set one on `tcp` (`set_read_timeout`) if the connection may stall;
/// it stays set on the returned stream.
pub fn read_forwarded(tcp: TcpStream) -> Result<Incoming> {
    let mut opened = Opened {
        socket: tcp,
        buf: Vec::new(),
        version: Version::V3_1,
    };
    let (socket, buf) = (&mut opened.socket, &mut opened.buf);
    let forever = Deadline::new(None, StreamForward::KIND);
    let accepted = drive(
        socket,
        Exchange::forwarded(),
        buf,
        StreamForward::KIND,
        forever,
    )?;
    Ok(Incoming::new(opened, accepted))
}
