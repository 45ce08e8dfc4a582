//! Sessions: one destination on the bridge, its streams, lookups and datagrams.

use std::net::SocketAddr;
use std::sync::Arc;

use async_net::{TcpStream, UdpSocket};
use sam_proto::client::Target;
use sam_proto::client::{random_seed, Accepts, ConnectOptions, SessionOptions};
use sam_proto::exchange::Request;
use sam_proto::keys::Destination;
use sam_proto::reply::LookupAnswer;
use sam_proto::session::{Call, SessionCore, SessionInfo, SessionSetup};

use crate::control::Control;
use crate::driver::{bind_udp, now, run};
use crate::{DatagramSocket, Error, ForwardOptions, Result, SamConfig, Stream, SubsessionOptions};

/// A stream opened to us: from [`Session::accept`], [`Session::incoming`] or
/// [`read_forwarded`], with who opened it.
pub type Incoming = sam_proto::client::Incoming<Stream>;

/// What a session and its sub-sessions share; dropping it ends the session.
pub(crate) struct Shared {
    pub(crate) config: Arc<SamConfig>,
    /// The session created on the control socket (sub-sessions are added to it).
    primary: Arc<SessionInfo>,
    /// The control socket's ends (UDP sockets bind to our IP).
    local: SocketAddr,
    pub(crate) bridge: SocketAddr,
    pub(crate) control: Control,
}

/// A SAM session: a destination on the bridge, alive as long as its control socket.
///
/// Clones are cheap handles to the same session. A background thread owns the control
/// socket (`PING`s, datagrams, [`lookup`](Self::lookup), [`add`](Self::add),
/// [`remove`](Self::remove)). The session ends with [`close`](Self::close), when the bridge
/// closes the socket, or when the last handle (also inside a [`Stream`], [`Forward`],
/// [`DatagramSocket`] or [`IncomingStreams`]) is dropped; then every call fails with
/// [`Error::SessionClosed`]. Timeouts: see [`sam_proto::session`].
///
/// **Cancel safety**: any future may be dropped at any await; the session stays usable (a
/// stream operation's socket is closed; a control command's answer is thrown away).
#[derive(Clone)]
#[must_use = "a session ends when its last handle is dropped"]
pub struct Session {
    pub(crate) shared: Arc<Shared>,
    pub(crate) info: Arc<SessionInfo>,
    /// DATAGRAM/RAW: the socket the bridge forwards to.
    pub(crate) udp: Option<UdpSocket>,
}

sam_proto::__session_debug!(Session);

impl Session {
    pub(crate) fn info(&self) -> &SessionInfo {
        &self.info
    }

    /// `SESSION CREATE` on a new socket, which becomes the control socket.
    pub(crate) async fn create(config: Arc<SamConfig>, options: SessionOptions) -> Result<Session> {
        let setup = SessionSetup::new(&config, &options, random_seed(), now())?;
        let (socket, input, udp, info) = run(&config, setup, None).await?;
        let (local, bridge, core) = (
            socket.local_addr()?,
            socket.peer_addr()?,
            SessionCore::for_session(&config, &info),
        );
        let control = Control::spawn(core, socket, input)?;
        let info = Arc::new(info);
        let primary = info.clone();
        let shared = Arc::new(Shared {
            config,
            primary,
            local,
            bridge,
            control,
        });
        Ok(Session { shared, info, udp })
    }

    sam_proto::__session_accessors!();

    /// The bridge configuration the session came from.
    pub fn config(&self) -> &SamConfig {
        &self.shared.config
    }

    /// `true` once the control socket is closed, by [`close`](Self::close) or by the bridge.
    pub fn is_closed(&self) -> bool {
        self.shared.control.is_closed()
    }

    /// Ends the session on the bridge, its sub-sessions and streams (data not yet delivered
    /// may be lost), with `QUIT` where the bridge knows it (see [`SessionCore::close`]).
    /// Returns once the control socket is closed.
    pub async fn close(&self) {
        self.shared.control.close().await
    }

    /// Returns once the control socket is closed (by [`close`](Self::close) or the bridge).
    pub async fn closed(&self) {
        self.shared.control.closed().await
    }

    /// Runs `call` on a socket of its own, for a stream that keeps this session open. Any
    /// failure of a closed session is [`Error::SessionClosed`].
    async fn stream<R: Request>(&self, call: Call<R>) -> Result<(Stream, R::Output)> {
        let mut outcome = Err(Error::SessionClosed);
        if !self.is_closed() {
            outcome = run(self.config(), call, None).await;
        }
        match outcome {
            Ok((socket, leftover, _, output)) => {
                Ok((Stream::new(socket, leftover, Some(self.clone())), output))
            }
            Err(_) if self.is_closed() => Err(Error::SessionClosed),
            Err(e) => Err(e),
        }
    }

    /// Opens a stream to `dest` (base64 destination, `.b32.i2p` address or host name, sent
    /// as given).
    pub async fn connect(&self, dest: impl Target) -> Result<Stream> {
        self.connect_with(dest, ConnectOptions::default()).await
    }

    /// [`connect`](Self::connect) with source/destination ports or `SILENT`.
    pub async fn connect_with(&self, dest: impl Target, options: ConnectOptions) -> Result<Stream> {
        let call = self
            .info
            .connect(self.config(), &dest.target(), options, now())?;
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
        let session = self.clone();
        Accepts::new(move || {
            let session = session.clone();
            Box::pin(async move { session.accept().await })
        })
    }

    /// Has the bridge connect to `to` (an address, or [`ForwardOptions`] for `SILENT`) for each
    /// incoming stream (whose first line [`read_forwarded`] reads) while the [`Forward`] lives.
    pub async fn forward(&self, to: impl Into<ForwardOptions>) -> Result<Forward> {
        let to = to.into();
        let call = self.info.forward(self.config(), to, now())?;
        Ok(Forward::new(self.stream(call).await?.0, to))
    }

    /// Resolves a host name, `.b32.i2p` address, base64 destination or `ME` on the session's
    /// control socket (through its tunnels).
    pub async fn lookup(&self, name: &str) -> Result<Destination> {
        let done = self.shared.control.command(SessionInfo::lookup(name));
        Ok(done.await?.into_destination()?)
    }

    /// Resolves `name` asking for its lease set's options too (`NAMING LOOKUP ... OPTIONS=true`,
    /// router API 0.9.66, proposal 167), on the session's control socket. The answer's
    /// [`LeaseSetOptions`](crate::LeaseSetOptions) is `NotAnswered` when the bridge listed none
    /// (i2pd 2.59 ignores `OPTIONS=true`; see its docs for why that is not "no options"). A
    /// lease set the bridge could not find is [`Error::Refused`](crate::Error::Refused) with
    /// `LEASESET_NOT_FOUND` (or the bridge's usual not-found code).
    pub async fn lookup_with_options(&self, name: &str) -> Result<LookupAnswer> {
        let done = self
            .shared
            .control
            .command(SessionInfo::lookup_with_options(name));
        Ok(done.await?.into_lookup_answer()?)
    }

    /// Adds a sub-session to this [`Style::Primary`](crate::Style::Primary) session; the handle shares the primary's
    /// control socket (closing it closes the primary).
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
        self.shared.control.command(command).await.map(drop)
    }

    /// The datagram socket of a DATAGRAM, DATAGRAM2, DATAGRAM3 or RAW (sub-)session: it sends to the bridge's UDP
    /// port ([`SamConfig::udp_address`], else the TCP port - 1).
    pub async fn datagram_socket(&self) -> Result<DatagramSocket> {
        DatagramSocket::new(self).await
    }
}

/// The streams of [`Session::incoming`]: a [`futures_core::Stream`] of [`Incoming`], one
/// accept at a time, ending after [`Error::SessionClosed`]. Dropping it cancels the accept
/// in progress.
pub type IncomingStreams = Accepts<Incoming>;

/// A `STREAM FORWARD` in force (from [`Session::forward`]); it keeps its session open.
pub type Forward = sam_proto::client::Forward<Stream>;

/// Reads the peer line the bridge sends first on a connection it forwarded (to the listener
/// given to [`Session::forward`]); the stream follows. No timeout: race it with a timer if
/// need be. An async-std `TcpStream` converts through `std::net::TcpStream::try_from`.
pub async fn read_forwarded(tcp: TcpStream) -> Result<Incoming> {
    let config = SamConfig::default();
    let (socket, leftover, _, said) = run(&config, SessionInfo::forwarded(), Some(tcp)).await?;
    Ok(Incoming::new(Stream::from_parts(socket, leftover), said))
}
