//! TCP ⇄ I2P tunnels (feature `tunnel`): [`ClientTunnel`] (a local TCP listener whose
//! connections become I2P streams to one destination) and [`ServerTunnel`] (streams to our
//! destination become TCP connections to a local service).
//!
//! The decisions (what `DEST[:PORT]` connects to, the default limits, the log lines) are
//! sam-proto's ([`sam_proto::client::client_target`], [`TunnelEvent`]); this module only runs
//! them on tokio. Nothing is printed: every event goes to the callback of
//! [`TunnelOptions::on_event`], whose `Display` is the log line (the peer's `.b32.i2p` address,
//! never a private key).
//!
//! * **Limit** ([`TunnelOptions::limit`], default [`TUNNEL_LIMIT`]): at the limit a client
//!   tunnel stops accepting local connections, which wait in the kernel's listen backlog (TCP
//!   flow control holds them; nothing is spent on I2P for them), and a server tunnel waits
//!   before its next `STREAM ACCEPT`, so the bridge holds (or refuses) new streams instead of
//!   us accepting streams nobody serves. Accepting resumes when a connection ends.
//! * **Shutdown**: `run_until(shutdown)` runs until the `shutdown` future completes, then
//!   stops accepting, lets open connections end for up to [`TunnelOptions::grace`] (default
//!   [`TUNNEL_GRACE`]), cuts the rest and closes the session.
//! * **Ends**: when one side ends, the other side's write half is shut down; a connection is
//!   done when both sides are. A server tunnel whose local service ended first keeps the I2P
//!   stream open until the peer ends it, at most [`TunnelOptions::linger`] (default
//!   [`TUNNEL_LINGER`], which says why).
//! * **Accept errors** are retried after sam-proto's [`Backoff::accept_loop`] delays; an
//!   error no retry can mend ([`Error::is_final`](crate::Error::is_final), such as a closed
//!   session) stops the tunnel with that error. A client tunnel whose session the bridge closed
//!   stops at its next local connection.
//! * **Silent server** ([`ServerTunnel::silent`]): the bridge itself connects to the target for
//!   every stream (`STREAM FORWARD … SILENT=true`), with no process in between, so the target
//!   sees only the peer's bytes. Then no per-connection event is reported and no limit applies
//!   (the bridge does not tell us about its connections), and shutdown only stops new
//!   forwarding. The target must be reachable from the bridge's host.
//! * **Keys**: [`load_or_create_keys`] keeps a destination in a file, so that a server's
//!   address stays the same across restarts.
//!
//! ```no_run
//! use sam_tokio::tunnel::{load_or_create_keys, ClientTunnel, ServerTunnel, TunnelOptions};
//! use sam_tokio::{Sam, SessionOptions, Style};
//!
//! # async fn demo() -> sam_tokio::Result<()> {
//! let sam = Sam::from_env();
//! let log = TunnelOptions::new().on_event(|event| eprintln!("tunnel: {event}"));
//!
//! // A web server on 127.0.0.1:8000, reachable over I2P at a stable address.
//! let keys = load_or_create_keys(&sam, "site.keys").await?;
//! let session = sam.session(SessionOptions::new(Style::Stream).with_keys(keys)).await?;
//! let web_server = std::net::SocketAddr::from(([127, 0, 0, 1], 8000));
//! let server = ServerTunnel::new(session, web_server, log.clone());
//! println!("serving at http://{}/", server.address());
//! // The shutdown future: here a channel; in a program, say, tokio::signal::ctrl_c().
//! let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
//! let server = tokio::spawn(server.run_until(async {
//!     let _ = stopped.await;
//! }));
//!
//! // Local port 8080 → an I2P site's port 80, for an hour.
//! let session = sam.session(SessionOptions::new(Style::Stream)).await?;
//! let client = ClientTunnel::bind(session, "127.0.0.1:8080", "site.i2p:80", log).await?;
//! println!("browse http://{}/", client.local_addr()?);
//! let hour = tokio::time::sleep(std::time::Duration::from_secs(3600));
//! client.run_until(hour).await?;
//!
//! // Then the server: it stops accepting, open connections get their grace period.
//! let _ = stop.send(());
//! server.await.expect("the server task")
//! # }
//! ```

use std::fmt;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use sam_proto::client::{
    client_target, ends_connection, error_line, Backoff, ClientTarget, I2pEnd, TunnelConnection,
    TunnelKind,
};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, ToSocketAddrs};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;

pub use sam_proto::client::{TunnelEvent, TUNNEL_GRACE, TUNNEL_LIMIT, TUNNEL_LINGER};

use crate::{
    load_keys, save_keys, Error, ForwardOptions, PrivateKeys, Result, Sam, Service, Session,
    SigType,
};

/// The callback of [`TunnelOptions::on_event`].
type OnEvent = Arc<dyn Fn(&TunnelEvent) + Send + Sync>;

/// What both tunnel kinds share: the limit of connections, the shutdown grace period and the
/// event callback.
#[derive(Clone)]
pub struct TunnelOptions {
    limit: usize,
    grace: Duration,
    linger: Duration,
    on_event: OnEvent,
}

impl TunnelOptions {
    /// [`TUNNEL_LIMIT`] connections, [`TUNNEL_GRACE`] to finish, [`TUNNEL_LINGER`], events
    /// dropped.
    pub fn new() -> TunnelOptions {
        TunnelOptions {
            limit: TUNNEL_LIMIT,
            grace: TUNNEL_GRACE,
            linger: TUNNEL_LINGER,
            on_event: Arc::new(|_| {}),
        }
    }

    /// Server tunnels: how long the I2P stream stays open after the local service ended its
    /// side, unless the peer ends it first ([`TUNNEL_LINGER`] says why; zero closes at once).
    #[must_use]
    pub fn linger(mut self, linger: Duration) -> TunnelOptions {
        self.linger = linger;
        self
    }

    /// Serve at most `limit` connections at once (at least 1; see the [module docs](self)).
    #[must_use]
    pub fn limit(mut self, limit: usize) -> TunnelOptions {
        self.limit = limit.clamp(1, Semaphore::MAX_PERMITS);
        self
    }

    /// How long open connections may take to end after shutdown began.
    #[must_use]
    pub fn grace(mut self, grace: Duration) -> TunnelOptions {
        self.grace = grace;
        self
    }

    /// Calls `on_event` for every [`TunnelEvent`] (from the tunnel's tasks: keep it short).
    #[must_use]
    pub fn on_event(mut self, on_event: impl Fn(&TunnelEvent) + Send + Sync + 'static) -> Self {
        self.on_event = Arc::new(on_event);
        self
    }

    fn emit(&self, event: TunnelEvent) {
        (self.on_event)(&event);
    }
}

impl Default for TunnelOptions {
    fn default() -> TunnelOptions {
        TunnelOptions::new()
    }
}

impl fmt::Debug for TunnelOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TunnelOptions")
            .field("limit", &self.limit)
            .field("grace", &self.grace)
            .field("linger", &self.linger)
            .finish_non_exhaustive()
    }
}

/// Reads the private keys in `path`, or, when there is no such file, asks the bridge for a new
/// Ed25519 destination and saves it there (mode 0600), so the address stays the same from one
/// run to the next. Any other error (unreadable file, not a key) is returned as is.
pub async fn load_or_create_keys(sam: &Sam, path: impl AsRef<Path>) -> Result<PrivateKeys> {
    let path = path.as_ref();
    match load_keys(path).await {
        Err(Error::Io(e)) if e.kind() == io::ErrorKind::NotFound => {
            let keys = sam.generate_destination(SigType::Ed25519).await?;
            save_keys(path, &keys).await?;
            Ok(keys)
        }
        loaded => loaded,
    }
}

/// Local TCP connections → I2P streams to one destination: one stream per connection, bytes
/// copied both ways until both ends are done. See the [module docs](self).
#[derive(Debug)]
#[must_use = "a tunnel does nothing until run_until is awaited"]
pub struct ClientTunnel {
    session: Session,
    listener: TcpListener,
    target: ClientTarget,
    options: TunnelOptions,
}

impl ClientTunnel {
    /// Listens on `listen` for connections to carry to `target`, `DEST[:PORT]` (a `.b32.i2p`
    /// address, a base64 destination or a host name; the port becomes `TO_PORT`, which needs a
    /// SAM 3.2 bridge). Fails at once on a bad target or when `listen` cannot be bound.
    pub async fn bind(
        session: Session,
        listen: impl ToSocketAddrs,
        target: &str,
        options: TunnelOptions,
    ) -> Result<ClientTunnel> {
        let target = client_target(target, session.version())?;
        let listener = TcpListener::bind(listen).await?;
        Ok(ClientTunnel {
            session,
            listener,
            target,
            options,
        })
    }

    /// The address local programs connect to.
    pub fn local_addr(&self) -> Result<SocketAddr> {
        Ok(self.listener.local_addr()?)
    }

    /// The tunnel's session.
    pub fn session(&self) -> &Session {
        &self.session
    }

    /// Carries connections until `shutdown` completes, then shuts down (see the
    /// [module docs](self)) and closes the session.
    pub async fn run_until(self, shutdown: impl Future<Output = ()>) -> Result<()> {
        let ClientTunnel {
            session,
            listener,
            target,
            options,
        } = self;
        options.emit(TunnelEvent::Ready {
            kind: TunnelKind::Client,
            address: session.address(),
            local: listener.local_addr()?,
            target: Some(target.to_string()),
            limit: Some(options.limit),
        });
        let target = Arc::new(target);
        // Accepting a local connection fails for local reasons (too many open files, say):
        // retried like the bridge's errors. A session the bridge has closed stops the tunnel
        // at the next connection (which is closed at once).
        let (local, on) = (&listener, &session);
        let accept = move || async move {
            let accepted = local.accept().await?;
            match on.is_closed() {
                true => Err(Error::SessionClosed),
                false => Ok(accepted),
            }
        };
        let serve = |(tcp, from): (TcpStream, SocketAddr), permit, id| {
            let i2p = target.shown.clone();
            let connection = TunnelConnection::new(id, TunnelKind::Client, from, i2p);
            let (session, target, options) = (session.clone(), target.clone(), options.clone());
            async move {
                let opened = session
                    .connect_with(target.dest.as_str(), target.options)
                    .await;
                carry(opened, tcp, connection, &options, None).await;
                drop(permit);
            }
        };
        let outcome = accept_loop(&options, shutdown, accept, serve).await;
        finish(&Source::Session(session.clone()), &options, outcome.1).await;
        outcome.0
    }
}

/// I2P streams to our destination → TCP connections to a local service. See the
/// [module docs](self).
#[derive(Debug)]
#[must_use = "a tunnel does nothing until run_until is awaited"]
pub struct ServerTunnel {
    source: Source,
    address: crate::B32Address,
    target: SocketAddr,
    silent: bool,
    options: TunnelOptions,
}

/// Where a server tunnel's streams come from.
#[derive(Debug, Clone)]
enum Source {
    /// One session: the tunnel ends with it.
    Session(Session),
    /// A supervised destination: the tunnel goes on across bridge restarts.
    Service(Service),
}

impl Source {
    async fn accept(&self) -> Result<crate::Incoming> {
        match self {
            Source::Session(session) => session.accept().await,
            Source::Service(service) => service.accept().await,
        }
    }

    fn is_over(&self) -> bool {
        match self {
            Source::Session(session) => session.is_closed(),
            Source::Service(service) => service.state().is_stopped(),
        }
    }

    async fn close(&self) {
        match self {
            Source::Session(session) => session.close().await,
            Source::Service(service) => service.stop().await,
        }
    }
}

impl ServerTunnel {
    /// Streams to `session` go to `target`, through an accept loop.
    pub fn new(session: Session, target: SocketAddr, options: TunnelOptions) -> ServerTunnel {
        ServerTunnel {
            address: session.address(),
            source: Source::Session(session),
            target,
            silent: false,
            options,
        }
    }

    /// Streams to `service`'s destination go to `target`, across bridge restarts: the
    /// [`Service`] creates the session again, and the accept loop (or the `SILENT` forward)
    /// goes on with it. Returns once the service is first online (its address is known);
    /// [`Error::SessionClosed`] if it stopped before.
    pub async fn supervised(
        service: Service,
        target: SocketAddr,
        options: TunnelOptions,
    ) -> Result<ServerTunnel> {
        let address = service.session().await?.address();
        Ok(ServerTunnel {
            source: Source::Service(service),
            address,
            target,
            silent: false,
            options,
        })
    }

    /// `true`: the bridge forwards streams to the target itself (`STREAM FORWARD …
    /// SILENT=true`): no process in between, and so no per-connection event or limit.
    pub fn silent(mut self, silent: bool) -> ServerTunnel {
        self.silent = silent;
        self
    }

    /// Our I2P address, where peers connect to.
    pub fn address(&self) -> crate::B32Address {
        self.address
    }

    /// The tunnel's session (`None` for a [supervised](ServerTunnel::supervised) tunnel,
    /// whose session changes: see [`Service::session`]).
    pub fn session(&self) -> Option<&Session> {
        match &self.source {
            Source::Session(session) => Some(session),
            Source::Service(_) => None,
        }
    }

    /// Carries streams until `shutdown` completes (or the session ends, or the service
    /// stops), then shuts down (see the [module docs](self)) and closes the session (stops the
    /// service). Returns the error that stopped the tunnel, if it did not stop because of
    /// `shutdown`.
    pub async fn run_until(self, shutdown: impl Future<Output = ()>) -> Result<()> {
        if self.silent {
            return self.run_silent(shutdown).await;
        }
        let ServerTunnel {
            source,
            address,
            target,
            options,
            ..
        } = self;
        options.emit(TunnelEvent::Ready {
            kind: TunnelKind::Server,
            address,
            local: target,
            target: None,
            limit: Some(options.limit),
        });
        let on = &source;
        let accept = move || on.accept();
        let linger = Some(options.linger).filter(|l| !l.is_zero());
        let serve = |incoming: crate::Incoming, permit, id| {
            let i2p = I2pEnd::from_peer(incoming.peer.as_ref());
            let connection = TunnelConnection::new(id, TunnelKind::Server, target, i2p);
            let options = options.clone();
            async move {
                match TcpStream::connect(target).await {
                    Ok(tcp) => carry(Ok(incoming.stream), tcp, connection, &options, linger).await,
                    Err(e) => options.emit(TunnelEvent::Failed {
                        connection,
                        error: format!("connecting to {target}: {}", error_line(&e)),
                    }),
                }
                drop(permit);
            }
        };
        let outcome = accept_loop(&options, shutdown, accept, serve).await;
        finish(&source, &options, outcome.1).await;
        outcome.0
    }

    async fn run_silent(self, shutdown: impl Future<Output = ()>) -> Result<()> {
        let ServerTunnel {
            source,
            address,
            target,
            options,
            ..
        } = self;
        let silent = ForwardOptions::new(target).silent(true);
        // A supervised forward is asked for again on every new session by the service.
        let forward = match &source {
            Source::Session(session) => match session.forward(silent).await {
                Ok(forward) => Some(forward),
                Err(e) => {
                    session.close().await;
                    return Err(e);
                }
            },
            Source::Service(service) => {
                service.forward(silent);
                None
            }
        };
        options.emit(TunnelEvent::Ready {
            kind: TunnelKind::SilentServer,
            address,
            local: target,
            target: None,
            limit: None,
        });
        // The bridge forwards while the session lives; its end is seen on the next tick.
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        let ended = async {
            loop {
                tick.tick().await;
                if source.is_over() {
                    return;
                }
            }
        };
        let outcome = tokio::select! {
            () = shutdown => Ok(()),
            () = ended => Err(Error::SessionClosed),
        };
        options.emit(TunnelEvent::ShuttingDown {
            open: 0,
            grace: Duration::ZERO,
        });
        drop(forward);
        source.close().await;
        options.emit(TunnelEvent::Stopped { cut: 0 });
        outcome
    }
}

/// Accepts (within the limit) and spawns `serve` for each connection until `shutdown`
/// completes or accepting fails for good. Returns that outcome and the connections still open.
async fn accept_loop<T, A, AF, S, SF>(
    options: &TunnelOptions,
    shutdown: impl Future<Output = ()>,
    mut accept: A,
    mut serve: S,
) -> (Result<()>, JoinSet<()>)
where
    A: FnMut() -> AF,
    AF: Future<Output = Result<T>>,
    S: FnMut(T, OwnedSemaphorePermit, u64) -> SF,
    SF: Future<Output = ()> + Send + 'static,
{
    let slots = Arc::new(Semaphore::new(options.limit));
    let mut open = JoinSet::new();
    let mut backoff = Backoff::accept_loop();
    let mut ids = 0u64;
    tokio::pin!(shutdown);
    let outcome = loop {
        while open.try_join_next().is_some() {}
        let permit = match slots.clone().try_acquire_owned() {
            Ok(permit) => permit,
            Err(_) => {
                options.emit(TunnelEvent::AtLimit {
                    limit: options.limit,
                });
                tokio::select! {
                    () = &mut shutdown => break Ok(()),
                    permit = slots.clone().acquire_owned() => match permit {
                        Ok(permit) => permit,
                        // The semaphore is never closed.
                        Err(_) => break Ok(()),
                    },
                }
            }
        };
        let accepted = tokio::select! {
            () = &mut shutdown => break Ok(()),
            accepted = accept() => accepted,
        };
        match accepted {
            Ok(accepted) => {
                backoff.reset();
                ids += 1;
                open.spawn(serve(accepted, permit, ids));
            }
            Err(e) => match backoff.after_accept_error(&e) {
                Some(delay) => {
                    options.emit(TunnelEvent::AcceptRetry {
                        error: error_line(&e),
                        delay,
                        attempt: backoff.attempts(),
                    });
                    tokio::select! {
                        () = &mut shutdown => break Ok(()),
                        () = tokio::time::sleep(delay) => {}
                    }
                }
                None => {
                    options.emit(TunnelEvent::AcceptStopped {
                        error: error_line(&e),
                    });
                    break Err(e);
                }
            },
        }
    };
    (outcome, open)
}

/// Lets the open connections end within the grace period, cuts the rest, closes the session.
async fn finish(source: &Source, options: &TunnelOptions, mut open: JoinSet<()>) {
    while open.try_join_next().is_some() {}
    options.emit(TunnelEvent::ShuttingDown {
        open: open.len(),
        grace: options.grace,
    });
    let drained = async { while open.join_next().await.is_some() {} };
    let cut = match tokio::time::timeout(options.grace, drained).await {
        Ok(()) => 0,
        Err(_) => {
            let cut = open.len();
            open.shutdown().await;
            cut
        }
    };
    source.close().await;
    options.emit(TunnelEvent::Stopped { cut });
}

/// Copies both ways between an opened I2P stream and a TCP connection and reports the
/// outcome. `linger`: see [`relay`].
async fn carry(
    stream: Result<crate::Stream>,
    mut tcp: TcpStream,
    connection: TunnelConnection,
    options: &TunnelOptions,
    linger: Option<Duration>,
) {
    let stream = match stream {
        Ok(stream) => stream,
        Err(e) => {
            let error = format!("connecting to {}: {}", connection.i2p, error_line(&e));
            let _ = tcp.shutdown().await;
            return options.emit(TunnelEvent::Failed { connection, error });
        }
    };
    options.emit(TunnelEvent::Opened(connection.clone()));
    let started = Instant::now();
    match relay(tcp, stream, linger).await {
        Ok((to_i2p, from_i2p)) => options.emit(TunnelEvent::Closed {
            connection,
            to_i2p,
            from_i2p,
            elapsed: started.elapsed(),
        }),
        Err(e) => options.emit(TunnelEvent::Failed {
            connection,
            error: error_line(&e),
        }),
    }
}

/// Copies local → I2P and I2P → local until both are done; returns the bytes copied each way.
///
/// When the I2P side ends, the local write side is shut down and the local side may finish.
/// When the local side ends first, the I2P side (which the bridge closes as a whole on a
/// half close) is closed at once, or with `linger` only once the peer has ended the stream or
/// `linger` has passed ([`TUNNEL_LINGER`](sam_proto::client::TUNNEL_LINGER)). A copy that
/// meets the other end's close ([`ends_connection`]) is an end, not a failure.
async fn relay(
    tcp: TcpStream,
    stream: crate::Stream,
    linger: Option<Duration>,
) -> io::Result<(u64, u64)> {
    let (mut local_in, mut local_out) = tcp.into_split();
    let (mut i2p_in, mut i2p_out) = stream.into_split();
    let up = async move {
        let copied = pump(&mut local_in, &mut i2p_out).await;
        (copied, i2p_out)
    };
    let down = async move {
        let copied = pump(&mut i2p_in, &mut local_out).await;
        let _ = local_out.shutdown().await;
        copied
    };
    tokio::pin!(up, down);
    let (sent, received) = tokio::select! {
        (sent, mut i2p_out) = &mut up => {
            let waited = match (linger, &sent.1) {
                (Some(linger), Ok(())) => tokio::time::timeout(linger, &mut down).await.ok(),
                _ => None,
            };
            let _ = i2p_out.shutdown().await;
            drop(i2p_out);
            let received = match waited {
                Some(received) => received,
                None => down.await,
            };
            (sent, received)
        }
        received = &mut down => {
            let (sent, i2p_out) = up.await;
            drop(i2p_out);
            (sent, received)
        }
    };
    for (_, outcome) in [&sent, &received] {
        if let Err(e) = outcome {
            if !ends_connection(e) {
                return Err(io::Error::new(e.kind(), e.to_string()));
            }
        }
    }
    Ok((sent.0, received.0))
}

/// Copies `from` to `to` until `from` ends: the bytes copied, and how it ended.
async fn pump<R, W>(from: &mut R, to: &mut W) -> (u64, io::Result<()>)
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let mut buf = vec![0u8; 32 * 1024];
    let mut total = 0u64;
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) => return (total, Ok(())),
            Ok(n) => n,
            Err(e) => return (total, Err(e)),
        };
        let chunk = buf.get(..n).unwrap_or_default();
        if let Err(e) = to.write_all(chunk).await {
            return (total, Err(e));
        }
        total += n as u64;
    }
}
