//! Sessions: one destination on the bridge, its streams, lookups and datagrams.

use std::net::{TcpStream, UdpSocket};
use std::sync::Arc;
use std::time::Duration;

use sam_proto::client::SubsessionOptions;
use sam_proto::client::Target;
use sam_proto::client::{random_seed, udp_bridge, ConnectOptions, SessionOptions};
use sam_proto::exchange::Request;
use sam_proto::keys::Destination;
use sam_proto::reply::LookupAnswer;
use sam_proto::session::{Call, Failure, SessionInfo, SessionSetup};

use crate::control::Control;
use crate::driver::{now, run};
use crate::{DatagramSocket, Error, ForwardOptions, Result, SamConfig, Stream};

/// A stream someone opened to us, and who opened it.
pub type Incoming = sam_proto::client::Incoming<Stream>;

/// A SAM session: a destination on the bridge with its control socket, `Send + Sync` and
/// cheap to clone. What each method means, lifetimes and timeouts:
/// [the adapters' API](sam_proto::client#the-adapters-api).
#[derive(Clone)]
#[must_use = "a session ends when its last handle is dropped"]
pub struct Session {
    control: Arc<Control>,
    info: Arc<SessionInfo>,
    /// Where the bridge forwards this (sub-)session's datagrams.
    udp: Option<Arc<UdpSocket>>,
}

sam_proto::__session_debug!(Session);

impl Session {
    pub(crate) fn create(config: Arc<SamConfig>, options: SessionOptions) -> Result<Session> {
        let setup = SessionSetup::new(&config, &options, random_seed(), now())?;
        let done = run(&config.address, None, setup)?;
        let (info, udp) = (Arc::new(done.output.clone()), done.udp.map(Arc::new));
        let control = Control::spawn(config, done.output, done.socket.tcp, done.leftover)?;
        let control = Arc::new(control);
        Ok(Session { control, info, udp })
    }

    sam_proto::__session_accessors!();

    /// The configuration the session was created with.
    pub fn config(&self) -> &SamConfig {
        &self.control.config
    }

    /// `true` once the control socket is closed (by [`Session::close`] or by the bridge).
    pub fn is_closed(&self) -> bool {
        self.control.is_closed()
    }

    /// Ends the session, its sub-sessions and streams (`QUIT` on 3.2+); returns once it is.
    pub fn close(&self) {
        self.control.close();
    }

    /// Runs `call` on a new socket; its stream keeps the session alive.
    fn stream<R: Request>(
        &self,
        call: std::result::Result<Call<R>, Failure>,
    ) -> Result<(Stream, R::Output)> {
        if self.is_closed() {
            return Err(Error::SessionClosed);
        }
        let ran = run(&self.control.config.address, None, call?);
        let done = ran.map_err(|e| e.or_closed(self.is_closed()))?;
        let stream = Stream::new(done.socket.tcp, done.leftover, Some(self.clone()));
        Ok((stream, done.output))
    }

    /// Opens a stream to `dest` (base64, `.b32.i2p` or a host name).
    pub fn connect(&self, dest: impl Target) -> Result<Stream> {
        self.connect_with(dest, ConnectOptions::default())
    }

    /// [`Session::connect`] with ports or `SILENT`.
    pub fn connect_with(&self, dest: impl Target, options: ConnectOptions) -> Result<Stream> {
        let call = self
            .info
            .connect(self.config(), &dest.target(), options, now());
        Ok(self.stream(call)?.0)
    }

    /// The next stream someone opens to this session (no timeout; threads may wait at once).
    pub fn accept(&self) -> Result<Incoming> {
        self.accept_within(None)
    }

    /// [`Session::accept`], giving up after `timeout` with [`Error::Timeout`] (the accept
    /// socket is closed then, so the bridge hands the next stream to another accept).
    pub fn accept_timeout(&self, timeout: Duration) -> Result<Incoming> {
        self.accept_within(Some(timeout))
    }

    fn accept_within(&self, timeout: Option<Duration>) -> Result<Incoming> {
        let call = self.info.accept(self.config(), now());
        let (stream, accepted) = self.stream(call.map(|c| c.with_timeout(timeout)))?;
        Ok(Incoming::new(stream, accepted))
    }

    /// The incoming streams, one [`Session::accept`] after another, as an iterator.
    pub fn incoming(&self) -> IncomingStreams {
        let session = self.clone();
        IncomingStreams::new(move || session.accept())
    }

    /// Has the bridge connect to `to` for every incoming stream while the [`Forward`] lives.
    pub fn forward(&self, to: impl Into<ForwardOptions>) -> Result<Forward> {
        let to = to.into();
        let (stream, ()) = self.stream(self.info.forward(self.config(), to, now()))?;
        Ok(Forward::new(stream, to))
    }

    /// Resolves `name` on the session's control socket (also `ME`).
    pub fn lookup(&self, name: &str) -> Result<Destination> {
        let found = self.control.run(SessionInfo::lookup(name))?;
        Ok(found.into_destination()?)
    }

    /// Resolves `name` asking for its lease set's options too (`NAMING LOOKUP ... OPTIONS=true`,
    /// router API 0.9.66, proposal 167), on the session's control socket. The answer's
    /// [`LeaseSetOptions`](crate::LeaseSetOptions) is `NotAnswered` when the bridge listed none
    /// (i2pd 2.59 ignores `OPTIONS=true`; see its docs for why that is not "no options"). A
    /// lease set the bridge could not find is [`Error::Refused`](crate::Error::Refused) with
    /// `LEASESET_NOT_FOUND` (or the bridge's usual not-found code).
    pub fn lookup_with_options(&self, name: &str) -> Result<LookupAnswer> {
        let found = self.control.run(SessionInfo::lookup_with_options(name))?;
        Ok(found.into_lookup_answer()?)
    }

    /// Adds a sub-session to a [`Style::Primary`](crate::Style::Primary) session; it shares the
    /// control socket.
    pub fn add(&self, options: SubsessionOptions) -> Result<Session> {
        let created = &self.control.created;
        created.check_add(&options)?;
        // The bridge forwards to the address of our end of the control socket.
        let bind = || UdpSocket::bind((self.control.local.ip(), 0));
        let udp = options.style.uses_udp().then(bind).transpose()?;
        let at = udp.as_ref().map(UdpSocket::local_addr).transpose()?;
        let (command, info) = created.add(&options, at)?;
        self.control.run(command)?;
        let (control, info, udp) = (self.control.clone(), Arc::new(info), udp.map(Arc::new));
        Ok(Session { control, info, udp })
    }

    /// Removes the sub-session `id` from a primary session.
    pub fn remove(&self, id: &str) -> Result<()> {
        self.control.run(SessionInfo::remove(id)?).map(|_| ())
    }

    /// A socket for this DATAGRAM, DATAGRAM2, DATAGRAM3 or RAW session's datagrams.
    pub fn datagram_socket(&self) -> Result<DatagramSocket> {
        if self.is_closed() {
            return Err(Error::SessionClosed);
        }
        self.info.check_datagrams()?;
        let no_udp = || Error::InvalidInput("the session has no UDP socket".to_owned());
        let udp = self.udp.clone().ok_or_else(no_udp)?;
        let bridge = udp_bridge(self.config(), self.control.bridge)?;
        Ok(DatagramSocket::new(self.clone(), udp, bridge))
    }

    pub(crate) fn info(&self) -> &SessionInfo {
        &self.info
    }

    pub(crate) fn control(&self) -> &Control {
        &self.control
    }
}

/// The incoming streams of a session (from [`Session::incoming`]): an iterator of
/// [`Incoming`], one accept at a time. It ends after yielding [`Error::SessionClosed`].
pub type IncomingStreams = sam_proto::client::AcceptIter<Incoming>;

/// An active `STREAM FORWARD` (from [`Session::forward`]); it keeps its session alive.
pub type Forward = sam_proto::client::Forward<Stream>;

/// Reads the peer line a bridge writes first on a connection it forwarded (see
/// [`Session::forward`]). No timeout of its own: one set on `tcp` applies, and stays set.
pub fn read_forwarded(tcp: TcpStream) -> Result<Incoming> {
    let done = run("", Some(tcp), SessionInfo::forwarded())?;
    let stream = Stream::from_parts(done.socket.tcp, done.leftover);
    Ok(Incoming::new(stream, done.output))
}
