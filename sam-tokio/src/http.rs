//! HTTP clients over I2P (feature `hyper`): a connector for hyper-util's legacy `Client`, so
//! that it can request `http://NAME.b32.i2p/` and `http://host.i2p:PORT/`.
//!
//! ```no_run
//! use http_body_util::{BodyExt, Empty};
//! use hyper::body::Bytes;
//! use hyper_util::client::legacy::Client;
//! use hyper_util::rt::TokioExecutor;
//! use sam_tokio::http::Connector;
//! use sam_tokio::{Sam, SessionOptions, Style};
//!
//! # async fn fetch() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
//! let session = Sam::from_env().session(SessionOptions::new(Style::Stream)).await?;
//! let client = Client::builder(TokioExecutor::new()).build::<_, Empty<Bytes>>(Connector::new(session));
//! let response = client.get("http://i2p-projekt.i2p/".parse()?).await?;
//! let body = response.into_body().collect().await?.to_bytes();
//! println!("{}", String::from_utf8_lossy(&body));
//! # Ok(())
//! # }
//! ```
//!
//! What a URI connects to is [`http_target`]'s decision: `http` or `https` (TLS is a layer
//! of your own around this connector), a host ending in `.i2p`, and the URI's port as
//! `TO_PORT` where the bridge speaks SAM 3.2+ (i2pd ignores it). Anything else is
//! [`Error::InvalidInput`]. Name lookups are cached ([`NameCache::for_http`]); a name whose
//! connect fails is looked up again next time.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};

use http::Uri;
use hyper_util::client::legacy::connect::{Connected, Connection};
use hyper_util::rt::TokioIo;
use sam_proto::client::{http_target, NameCache};

use crate::driver::now;
use crate::{Error, Session, Stream};

/// Opens I2P streams for hyper-util's legacy `Client`: a
/// [`tower_service::Service<Uri>`](tower_service::Service) whose connections are
/// [`TokioIo<Stream>`].
///
/// It shares `session` (a cheap clone): every request opens a stream from it, so the peer sees
/// the session's destination. When the session ends, connects fail with
/// [`Error::SessionClosed`]; build a new connector on a new session then. Clones share the
/// session and the name cache.
#[derive(Clone)]
pub struct Connector {
    session: Session,
    names: Arc<Mutex<NameCache>>,
    lookups: Arc<AtomicU64>,
}

impl std::fmt::Debug for Connector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connector")
            .field("session", &self.session)
            .field("cached_names", &self.cached_names())
            .field("lookups", &self.lookups())
            .finish()
    }
}

impl Connector {
    /// A connector whose streams come from `session`.
    pub fn new(session: Session) -> Connector {
        Connector {
            session,
            names: Arc::new(Mutex::new(NameCache::for_http())),
            lookups: Arc::new(AtomicU64::new(0)),
        }
    }

    /// The session streams are opened from.
    pub fn session(&self) -> &Session {
        &self.session
    }

    /// How many names this connector (and its clones) asked the bridge for: cache misses.
    pub fn lookups(&self) -> u64 {
        self.lookups.load(Ordering::Relaxed)
    }

    /// How many names are in the cache.
    pub fn cached_names(&self) -> usize {
        self.cache().len()
    }

    fn cache(&self) -> std::sync::MutexGuard<'_, NameCache> {
        self.names.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Opens a stream to the host of `uri` (`http://NAME.i2p[:PORT]/...`), looking the name up
    /// unless it is cached. Cancel safe.
    pub async fn connect(&self, uri: &Uri) -> Result<Stream, Error> {
        let target = http_target(
            uri.scheme_str(),
            uri.host(),
            uri.port_u16(),
            self.session.version(),
        )?;
        let cached = self.cache().get(&target.host, now()).cloned();
        let destination = match cached {
            Some(destination) => destination,
            None => {
                self.lookups.fetch_add(1, Ordering::Relaxed);
                let destination = self.session.lookup(&target.host).await?;
                self.cache()
                    .insert(&target.host, destination.clone(), now());
                destination
            }
        };
        match self
            .session
            .connect_with(&destination, target.options)
            .await
        {
            Ok(stream) => Ok(stream),
            Err(error) => {
                self.cache().forget(&target.host);
                Err(error)
            }
        }
    }
}

impl tower_service::Service<Uri> for Connector {
    type Response = TokioIo<Stream>;
    type Error = Error;
    type Future = Pin<Box<dyn Future<Output = Result<TokioIo<Stream>, Error>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, uri: Uri) -> Self::Future {
        let connector = self.clone();
        Box::pin(async move { connector.connect(&uri).await.map(TokioIo::new) })
    }
}

/// An I2P stream is a plain connection to hyper-util's pool (no proxy, no ALPN).
impl Connection for Stream {
    fn connected(&self) -> Connected {
        Connected::new()
    }
}
