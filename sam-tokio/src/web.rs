//! Web sites on I2P (feature `axum`): an axum [`Router`] served on a session's destination.
//!
//! [`serve`] is the whole job: it answers every stream opened to the session with the router
//! and returns the error that ended the session. Handlers see who connected through axum's
//! [`ConnectInfo`](axum::extract::ConnectInfo) as a [`PeerAddr`] (the peer's destination and,
//! where the bridge says them, its ports).
//!
//! ```no_run
//! use axum::{extract::ConnectInfo, routing::get, Router};
//! use sam_tokio::web::PeerAddr;
//! use sam_tokio::{Sam, SessionOptions, Style};
//!
//! # async fn site() -> sam_tokio::Result<()> {
//! let session = Sam::from_env().session(SessionOptions::new(Style::Stream)).await?;
//! println!("serving http://{}/", session.address());
//! let app = Router::new().route(
//!     "/",
//!     get(|ConnectInfo(peer): ConnectInfo<PeerAddr>| async move {
//!         format!("hello, {}\n", peer.destination.b32_address())
//!     }),
//! );
//! // Runs until the session ends (closed, or the router dropped it), and says why.
//! let error = sam_tokio::web::serve(session, app).await.unwrap_err();
//! eprintln!("the site is down: {error}");
//! # Ok(())
//! # }
//! ```
//!
//! [`Listener`] is the piece under [`serve`], for `axum::serve` with options of your own (a
//! shutdown signal, a router that is not a plain [`Router`]): axum's listeners cannot return
//! an error, so the listener hands the error that ended the session to its [`SessionEnd`],
//! whose [`wait`](SessionEnd::wait) ends `axum::serve` through `with_graceful_shutdown`.
//!
//! ```no_run
//! use axum::{routing::get, Router};
//! use sam_tokio::web::{Listener, PeerAddr};
//! use sam_tokio::{Error, Session};
//!
//! # async fn site(session: Session) -> sam_tokio::Result<()> {
//! let app = Router::new().route("/", get(|| async { "hello over I2P\n" }));
//! let (listener, end) = Listener::new(session);
//! axum::serve(listener, app.into_make_service_with_connect_info::<PeerAddr>())
//!     .with_graceful_shutdown(end.wait())
//!     .await?;
//! let why = end.take_error().unwrap_or(Error::SessionClosed);
//! # Err(why)
//! # }
//! ```
//!
//! Accept errors that may pass (a refusal, a timeout, an I/O error) are retried after the
//! accept-loop backoff of [`Backoff::accept_loop`]; the errors after which no accept can
//! succeed ([`Error::is_final`], e.g. [`Error::SessionClosed`]) end the listener.

use std::convert::Infallible;
use std::fmt;
use std::future::Future;
use std::io;
use std::ops::Deref;
use std::sync::{Arc, Mutex, PoisonError};

use axum::extract::connect_info::Connected;
use axum::serve::IncomingStream;
use axum::Router;
use sam_proto::client::{Backoff, Peer};
use tokio::sync::watch;

use crate::{Error, Session, Stream};

/// Who opened a connection to the site, as the bridge said: axum's
/// [`ConnectInfo`](axum::extract::ConnectInfo) with
/// [`into_make_service_with_connect_info::<PeerAddr>`](Router::into_make_service_with_connect_info),
/// and the [`Listener`]'s address type. It derefs to the [`Peer`]: `destination`, and
/// `from_port`/`to_port` where the bridge reports ports (Java I2P at SAM 3.2+; i2pd never
/// does, so they are `None` there).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerAddr(pub Peer);

impl Deref for PeerAddr {
    type Target = Peer;

    fn deref(&self) -> &Peer {
        &self.0
    }
}

impl Connected<IncomingStream<'_, Listener>> for PeerAddr {
    fn connect_info(stream: IncomingStream<'_, Listener>) -> PeerAddr {
        stream.remote_addr().clone()
    }
}

/// An [`axum::serve::Listener`] over [`Session::accept`]: every stream opened to the session
/// is an HTTP connection. Transient accept errors are retried with backoff; a final one is
/// handed to the [`SessionEnd`] from [`Listener::new`], and `accept` then waits forever (axum
/// stops through the `SessionEnd` as its graceful-shutdown signal).
pub struct Listener {
    session: Session,
    backoff: Backoff,
    end: SessionEnd,
}

impl fmt::Debug for Listener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Listener")
            .field("session", &self.session)
            .field("backoff", &self.backoff)
            .finish_non_exhaustive()
    }
}

impl Listener {
    /// A listener on `session`'s destination, and the handle that learns why it ended.
    pub fn new(session: Session) -> (Listener, SessionEnd) {
        let end = SessionEnd {
            shared: Arc::new(EndShared {
                error: Mutex::new(None),
                ended: watch::Sender::new(false),
            }),
        };
        let listener = Listener {
            session,
            backoff: Backoff::accept_loop(),
            end: end.clone(),
        };
        (listener, end)
    }

    /// The session streams are accepted on.
    pub fn session(&self) -> &Session {
        &self.session
    }

    /// The next stream opened to the session and who opened it; retries what may pass.
    /// Returns `None` once the session has ended (the error is in the [`SessionEnd`]).
    /// Cancel safe.
    pub async fn next(&mut self) -> Option<(Stream, PeerAddr)> {
        while !self.end.has_ended() {
            let error = match self.session.accept().await {
                Ok(incoming) => {
                    self.backoff.reset();
                    // A STREAM ACCEPT is never SILENT, so the bridge names every peer.
                    match incoming.stream.peer().cloned() {
                        Some(peer) => return Some((incoming.stream, PeerAddr(peer))),
                        None => continue,
                    }
                }
                Err(error) => error,
            };
            match self.backoff.after_accept_error(&error) {
                Some(delay) => tokio::time::sleep(delay).await,
                None => self.end.end(error),
            }
        }
        None
    }
}

impl axum::serve::Listener for Listener {
    type Io = Stream;
    type Addr = PeerAddr;

    async fn accept(&mut self) -> (Stream, PeerAddr) {
        match self.next().await {
            Some(accepted) => accepted,
            None => std::future::pending().await,
        }
    }

    /// An I2P listener has no socket address: its address is the session's destination
    /// ([`Listener::session`]); this is an [`io::ErrorKind::Unsupported`] error.
    fn local_addr(&self) -> io::Result<PeerAddr> {
        Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "an I2P listener's address is its session's destination (Listener::session)",
        ))
    }
}

struct EndShared {
    /// The error that ended the listener, until taken.
    error: Mutex<Option<Error>>,
    ended: watch::Sender<bool>,
}

/// Why a [`Listener`] ended: [`SessionEnd::wait`] resolves when it has, and
/// [`SessionEnd::take_error`] gives the error. Cheap to clone.
#[derive(Clone)]
pub struct SessionEnd {
    shared: Arc<EndShared>,
}

impl fmt::Debug for SessionEnd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionEnd")
            .field("ended", &self.has_ended())
            .finish()
    }
}

impl SessionEnd {
    fn end(&self, error: Error) {
        let mut slot = self
            .shared
            .error
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        *slot = Some(error);
        self.shared.ended.send_replace(true);
    }

    /// `true` once the listener met an error no accept can get past.
    pub fn has_ended(&self) -> bool {
        *self.shared.ended.borrow()
    }

    /// Resolves once the listener has ended (or was dropped): the signal for axum's
    /// `with_graceful_shutdown`. It does not borrow `self`.
    pub fn wait(&self) -> impl Future<Output = ()> + Send + 'static {
        let mut ended = self.shared.ended.subscribe();
        async move {
            // An error here means the listener was dropped: nothing more will be accepted.
            let _ = ended.wait_for(|ended| *ended).await;
        }
    }

    /// The error that ended the listener (once; `None` before it ended or after it was
    /// taken).
    pub fn take_error(&self) -> Option<Error> {
        self.shared
            .error
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
    }
}

/// Serves `app` on `session`'s destination until the session ends, and returns the error that
/// ended it (e.g. [`Error::SessionClosed`] after [`Session::close`]); never `Ok`. Handlers
/// get the peer as `ConnectInfo<PeerAddr>`. Connections being served when the session ends
/// are finished first (axum's graceful shutdown); the bridge ends their streams with the
/// session.
pub async fn serve(session: Session, app: Router) -> Result<Infallible, Error> {
    let (listener, end) = Listener::new(session);
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<PeerAddr>(),
    )
    .with_graceful_shutdown(end.wait())
    .await?;
    Err(end.take_error().unwrap_or(Error::SessionClosed))
}
