//! A supervised service: one destination kept online across bridge restarts. The loop and its
//! decisions are sam-proto's ([`service_loop`], [`Supervisor`]); this runs it on a thread of
//! its own (as the control sockets are) and hands its state to the handles.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use async_channel::{Receiver, Sender};
use async_io::Timer;
use event_listener::Event;
use futures_lite::future;
use sam_proto::client::{
    after_service_accept, online_session, service_loop, AcceptNext, Accepts, Backoff,
    RecoveryPolicy, ServiceIo, ServiceState, ServiceWake, StateObserver, Supervisor,
};
use sam_proto::keys::PrivateKeys;
use sam_proto::session::Time;

use crate::driver::now;
use crate::{Error, Forward, ForwardOptions, Incoming, Result, Sam, Session, SessionOptions};

/// The state and, while online, the session.
type Current = (ServiceState, Option<Session>);

struct Shared {
    current: Mutex<Current>,
    changed: Event,
    forwards: Mutex<Vec<ForwardOptions>>,
    /// Closed by [`Service::stop`].
    stop: Sender<()>,
    /// One message per forward asked for.
    rearm: Sender<()>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

/// A destination kept online across bridge restarts. What each method means: [the adapters'
/// API](sam_proto::client#the-adapters-api); the rules: [`Supervisor`].
///
/// ```no_run
/// use sam_async_std::{RecoveryPolicy, Sam, Service, SessionOptions, Style};
///
/// # async fn run() -> sam_async_std::Result<()> {
/// let keys = sam_async_std::load_keys("service.keys").await?;
/// let options = SessionOptions::new(Style::Stream).with_keys(keys);
/// let service = Service::start(&Sam::from_env(), options, RecoveryPolicy::new());
/// while let Ok(incoming) = service.accept().await {
///     drop(incoming); // serve incoming.stream
/// }
/// println!("{}", service.state()); // stopped (after Service::stop, or giving up)
/// # Ok(())
/// # }
/// ```
///
/// Dropping every handle does not stop the service; [`Service::stop`] does.
#[derive(Clone)]
pub struct Service {
    shared: Arc<Shared>,
}

sam_proto::__service_common!(Service, Sam, SessionOptions);

impl Service {
    /// [`Service::start`], with `observer` called on every state change.
    pub fn start_observed(
        sam: &Sam,
        options: SessionOptions,
        policy: RecoveryPolicy,
        observer: StateObserver,
    ) -> Service {
        let (stop, stopped) = async_channel::bounded(1);
        let (rearm, rearmed) = async_channel::unbounded();
        let shared = Arc::new(Shared {
            current: Mutex::new((ServiceState::Starting, None)),
            changed: Event::new(),
            forwards: Mutex::new(Vec::new()),
            stop,
            rearm,
        });
        let io = Io {
            sam: sam.clone(),
            shared: shared.clone(),
            observer,
            stopped,
            rearmed,
        };
        let run = move || async_io::block_on(service_loop(io, Supervisor::new(policy), options));
        if let Err(e) = std::thread::Builder::new()
            .name("sam-service".to_owned())
            .spawn(run)
        {
            let reason = Some(Arc::new(Error::Io(e)));
            *lock(&shared.current) = (ServiceState::Stopped { reason }, None);
        }
        Service { shared }
    }

    /// The current state.
    pub fn state(&self) -> ServiceState {
        lock(&self.shared.current).0.clone()
    }

    /// Waits until `ready` holds for the current state and session, and returns what it gives.
    async fn wait_for<T>(&self, ready: impl Fn(&Current) -> Option<T>) -> T {
        loop {
            let listener = self.shared.changed.listen();
            if let Some(done) = ready(&lock(&self.shared.current)) {
                return done;
            }
            listener.await;
        }
    }

    /// The online session, once there is one; [`Error::SessionClosed`] once the service has
    /// stopped.
    pub async fn session(&self) -> Result<Session> {
        self.wait_for(|(state, session)| online_session(state, session.as_ref()))
            .await
    }

    /// The next stream someone opens to the destination, across session restarts. Transient
    /// accept errors are retried ([`Backoff::accept_loop`]); [`Error::SessionClosed`] means
    /// the service stopped.
    pub async fn accept(&self) -> Result<Incoming> {
        let mut backoff = Backoff::accept_loop();
        loop {
            let session = self.session().await?;
            // A frozen bridge that comes back may never end the old session's accept: the
            // session's close ends it here.
            let closed = async {
                session.closed().await;
                None
            };
            let Some(accepted) = future::or(async { Some(session.accept().await) }, closed).await
            else {
                continue;
            };
            let error = match accepted {
                Ok(incoming) => return Ok(incoming),
                Err(error) => error,
            };
            match after_service_accept(&mut backoff, &error, session.is_closed()) {
                AcceptNext::Again => {}
                AcceptNext::After(delay) => drop(Timer::after(delay).await),
                AcceptNext::Fail => return Err(error),
            }
        }
    }

    /// [`Service::accept`] after [`Service::accept`], as a [`futures_core::Stream`] that
    /// ends when the service stops.
    pub fn incoming(&self) -> Accepts<Incoming> {
        let service = self.clone();
        Accepts::new(move || {
            let service = service.clone();
            Box::pin(async move { service.accept().await })
        })
    }

    /// Has the bridge connect to `to` for every incoming stream, on this session and on every
    /// session after it, until the service stops.
    pub fn forward(&self, to: impl Into<ForwardOptions>) {
        lock(&self.shared.forwards).push(to.into());
        let _ = self.shared.rearm.try_send(());
    }

    /// Stops the service: the session is closed and [`Service::state`] becomes `Stopped`.
    pub async fn stop(&self) {
        self.shared.stop.close();
        self.wait_for(|(state, _)| state.is_stopped().then_some(()))
            .await
    }
}

/// The supervisor's side: sam-proto's [`service_loop`] over async-io.
struct Io {
    sam: Sam,
    shared: Arc<Shared>,
    observer: StateObserver,
    stopped: Receiver<()>,
    rearmed: Receiver<()>,
}

impl ServiceIo for Io {
    type Session = Session;
    type Forward = Forward;

    fn now() -> Time {
        now()
    }

    async fn create(&mut self, options: SessionOptions) -> Result<Session> {
        let stopped = async {
            let _ = self.stopped.recv().await;
            Err(Error::SessionClosed)
        };
        future::or(self.sam.session(options), stopped).await
    }

    fn keys(session: &Session) -> &PrivateKeys {
        session.keys()
    }

    async fn forward(&mut self, session: &Session, to: ForwardOptions) -> Result<Forward> {
        session.forward(to).await
    }

    fn forwards(&self) -> Vec<ForwardOptions> {
        lock(&self.shared.forwards).clone()
    }

    async fn probe(&mut self, timeout: Duration) -> Result<()> {
        let timed_out = async {
            Timer::after(timeout).await;
            Err(Error::Timeout {
                operation: "probe",
                after: timeout,
            })
        };
        future::or(async { self.sam.lookup("ME").await.map(drop) }, timed_out).await
    }

    async fn wait(&mut self, session: Option<&Session>, timeout: Option<Duration>) -> ServiceWake {
        let stop = async {
            let _ = self.stopped.recv().await;
            ServiceWake::Stop
        };
        let closed = async {
            match session {
                Some(session) => session.closed().await,
                None => future::pending().await,
            }
            ServiceWake::Closed
        };
        let rearm = async {
            match self.rearmed.recv().await {
                Ok(()) => ServiceWake::Rearm,
                Err(_) => future::pending().await,
            }
        };
        let timer = async {
            match timeout {
                Some(timeout) => drop(Timer::after(timeout).await),
                None => future::pending().await,
            }
            ServiceWake::Timeout
        };
        future::or(future::or(stop, closed), future::or(rearm, timer)).await
    }

    async fn close(&mut self, session: Session) {
        session.close().await
    }

    fn publish(&mut self, state: &ServiceState, session: Option<&Session>) {
        (self.observer)(state);
        *lock(&self.shared.current) = (state.clone(), session.cloned());
        self.shared.changed.notify(usize::MAX);
    }
}
