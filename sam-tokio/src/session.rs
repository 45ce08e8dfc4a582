//! Sessions: one destination on the bridge, its streams, lookups and datagrams.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use sam_proto::client::Target;
use sam_proto::client::{random_seed, udp_bridge_with, Accepts};
use sam_proto::control::{Completion, ControlCommand};
use sam_proto::exchange::Request;
use sam_proto::keys::Destination;
use sam_proto::reply::LookupAnswer;
use sam_proto::session::{Call, SessionCore, SessionInfo, SessionSetup};
use tokio::net::{TcpStream, UdpSocket};

use crate::control::ControlHandle;
use crate::datagram::DatagramSocket;
use crate::driver::{now, run};
use crate::stream::Stream;
use crate::{
    ConnectOptions, Error, ForwardOptions, Result, SamConfig, SessionOptions, SubsessionOptions,
};

/// A stream someone opened to us, and who opened it.
pub type Incoming = sam_proto::client::Incoming<Stream>;

/// The incoming streams of a session ([`Session::incoming`]), a [`futures_core::Stream`].
pub type IncomingStreams = Accepts<Incoming>;

/// An active `STREAM FORWARD` ([`Session::forward`]).
pub type Forward = sam_proto::client::Forward<Stream>;

/// State shared by a session and its sub-sessions.
struct Shared {
    config: Arc<SamConfig>,
    /// The session as created (sub-sessions are added to it).
    primary: SessionInfo,
    /// Our end of the control socket (where the bridge forwards datagrams to) and the bridge's.
    local_ip: IpAddr,
    bridge: SocketAddr,
    control: ControlHandle,
}

/// A SAM session: a destination on the bridge with its control socket. What each method
/// means, lifetimes and cancel safety: [the adapters' API](sam_proto::client#the-adapters-api).
#[derive(Clone)]
#[must_use = "a session ends when its last handle is dropped"]
pub struct Session {
    shared: Arc<Shared>,
    /// This (sub-)session, and where the bridge forwards its datagrams.
    info: Arc<SessionInfo>,
    udp: Option<Arc<UdpSocket>>,
}

sam_proto::__session_debug!(Session);

impl Session {
    /// `SESSION CREATE` on a new socket, which becomes the control socket.
    pub(crate) async fn create(config: Arc<SamConfig>, options: SessionOptions) -> Result<Session> {
        let setup = SessionSetup::new(&config, &options, random_seed(), now())?;
        let done = run(&config.address, setup, None).await?;
        let (local_ip, bridge) = (done.socket.0.local_addr()?.ip(), done.socket.0.peer_addr()?);
        let core = SessionCore::for_session(&config, &done.output);
        let control = ControlHandle::spawn(core, done.socket.0, done.leftover);
        let primary = done.output.clone();
        let shared = Shared {
            config,
            primary,
            local_ip,
            bridge,
            control,
        };
        let (info, udp) = (Arc::new(done.output), done.udp.map(Arc::new));
        Ok(Session {
            shared: Arc::new(shared),
            info,
            udp,
        })
    }

    sam_proto::__session_accessors!();

    /// The configuration the session was created with.
    pub fn config(&self) -> &SamConfig {
        &self.shared.config
    }

    /// `true` once the control socket is closed (by [`Session::close`] or by the bridge).
    pub fn is_closed(&self) -> bool {
        self.shared.control.is_closed()
    }

    /// Ends the session (`QUIT` on 3.2+) and returns once the control socket is closed.
    pub async fn close(&self) {
        self.shared.control.close().await
    }

    /// Returns once the control socket is closed (by [`Session::close`] or by the bridge).
    pub async fn closed(&self) {
        self.shared.control.closed().await
    }

    /// Runs a stream call; the stream keeps this session alive.
    async fn stream<R>(&self, call: Call<R>) -> Result<(Stream, R::Output)>
    where
        R: Request + Send + 'static,
        R::Output: Send,
    {
        if self.is_closed() {
            return Err(Error::SessionClosed);
        }
        let done = run(&self.config().address, call, None)
            .await
            .map_err(|e| e.or_closed(self.is_closed()))?;
        Ok((
            Stream::new(done.socket.0, done.leftover, Some(self.clone())),
            done.output,
        ))
    }

    /// Opens a stream to `dest` (base64, `.b32.i2p` or a host name).
    pub async fn connect(&self, dest: impl Target) -> Result<Stream> {
        self.connect_with(dest, ConnectOptions::default()).await
    }

    /// [`Session::connect`] with ports or `SILENT`.
    pub async fn connect_with(&self, dest: impl Target, options: ConnectOptions) -> Result<Stream> {
        let call = self
            .info
            .connect(self.config(), &dest.target(), options, now())?;
        Ok(self.stream(call).await?.0)
    }

    /// The next stream someone opens to this session (no timeout).
    pub async fn accept(&self) -> Result<Incoming> {
        let call = self.info.accept(self.config(), now())?;
        let (stream, accepted) = self.stream(call).await?;
        Ok(Incoming::new(stream, accepted))
    }

    /// The incoming streams, one [`Session::accept`] after another.
    pub fn incoming(&self) -> IncomingStreams {
        let session = self.clone();
        Accepts::new(move || {
            let session = session.clone();
            Box::pin(async move { session.accept().await })
        })
    }

    /// Has the bridge connect to `to` for every incoming stream while the [`Forward`] lives.
    pub async fn forward(&self, to: impl Into<ForwardOptions>) -> Result<Forward> {
        let to = to.into();
        let call = self.info.forward(self.config(), to, now())?;
        Ok(Forward::new(self.stream(call).await?.0, to))
    }

    /// Resolves `name` on the session's control socket.
    pub async fn lookup(&self, name: &str) -> Result<Destination> {
        Ok(self
            .command(SessionInfo::lookup(name))
            .await?
            .into_destination()?)
    }

    /// Resolves `name` asking for its lease set's options too (`NAMING LOOKUP ... OPTIONS=true`,
    /// router API 0.9.66, proposal 167), on the session's control socket. The answer's
    /// [`LeaseSetOptions`](crate::LeaseSetOptions) is `NotAnswered` when the bridge listed none
    /// (i2pd 2.59 ignores `OPTIONS=true`; see its docs for why that is not "no options"). A
    /// lease set the bridge could not find is [`Error::Refused`](crate::Error::Refused) with
    /// `LEASESET_NOT_FOUND` (or the bridge's usual not-found code).
    pub async fn lookup_with_options(&self, name: &str) -> Result<LookupAnswer> {
        Ok(self
            .command(SessionInfo::lookup_with_options(name))
            .await?
            .into_lookup_answer()?)
    }

    /// Adds a sub-session to a [`Style::Primary`](crate::Style::Primary) session; it shares the control socket.
    pub async fn add(&self, options: SubsessionOptions) -> Result<Session> {
        self.shared.primary.check_add(&options)?;
        let udp = match options.style.uses_udp() {
            true => Some(UdpSocket::bind((self.shared.local_ip, 0)).await?),
            false => None,
        };
        let at = udp.as_ref().map(UdpSocket::local_addr).transpose()?;
        let (command, info) = self.shared.primary.add(&options, at)?;
        self.command(command).await?;
        let (shared, info, udp) = (self.shared.clone(), Arc::new(info), udp.map(Arc::new));
        Ok(Session { shared, info, udp })
    }

    /// Removes the sub-session `id` from a primary session.
    pub async fn remove(&self, id: &str) -> Result<()> {
        self.command(SessionInfo::remove(id)?).await.map(drop)
    }

    /// A socket for this DATAGRAM, DATAGRAM2, DATAGRAM3 or RAW session's datagrams.
    pub async fn datagram_socket(&self) -> Result<DatagramSocket> {
        self.info.check_datagrams()?;
        let udp = self
            .udp
            .clone()
            .filter(|_| !self.is_closed())
            .ok_or(Error::SessionClosed)?;
        let resolve = |at: String| async move { Ok(tokio::net::lookup_host(at).await?.collect()) };
        let bridge = udp_bridge_with(self.config(), self.shared.bridge, resolve).await?;
        Ok(DatagramSocket::new(self.clone(), udp, bridge))
    }

    pub(crate) fn info(&self) -> &SessionInfo {
        &self.info
    }

    pub(crate) fn control(&self) -> &ControlHandle {
        &self.shared.control
    }

    async fn command(&self, command: ControlCommand<'static>) -> Result<Completion> {
        match self.is_closed() {
            true => Err(Error::SessionClosed),
            false => self.shared.control.command(command).await,
        }
    }
}

/// Reads the peer line a bridge writes first on a connection it forwarded (see
/// [`Session::forward`]); the rest is the stream. No timeout: wrap it if needed.
pub async fn read_forwarded(tcp: TcpStream) -> Result<Incoming> {
    let done = run("", SessionInfo::forwarded(), Some(tcp)).await?;
    Ok(Incoming::new(
        Stream::new(done.socket.0, done.leftover, None),
        done.output,
    ))
}
