//! A supervised service: one destination kept online across bridge restarts. The decisions
//! (when to create again, backoff, what ends the service, probes) are sam-proto's
//! [`Supervisor`]; this is the task that carries them out.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use sam_proto::client::{
    after_service_accept, online_session, service_loop, AcceptNext, Accepts, Backoff,
    RecoveryPolicy, ServiceIo, ServiceState, ServiceWake, StateObserver, Supervisor,
};
use sam_proto::keys::PrivateKeys;
use sam_proto::session::Time;
use tokio::sync::watch;

use crate::driver::now;
use crate::{Error, Forward, ForwardOptions, Incoming, Result, Sam, Session, SessionOptions};

/// The state and, while online, the session.
type Current = (ServiceState, Option<Session>);

/// A destination kept online across bridge restarts. What each method means: [the adapters'
/// API](sam_proto::client#the-adapters-api); the rules: [`Supervisor`].
///
/// ```no_run
/// use sam_tokio::{RecoveryPolicy, Sam, Service, SessionOptions, Style};
///
/// # async fn run() -> sam_tokio::Result<()> {
/// let keys = sam_tokio::load_keys("service.keys").await?;
/// let options = SessionOptions::new(Style::Stream).with_keys(keys);
/// let service = Service::start(&Sam::from_env(), options, RecoveryPolicy::new());
/// while let Ok(incoming) = service.accept().await {
///     tokio::spawn(async move { /* serve incoming.stream */ drop(incoming) });
/// }
/// println!("{}", service.state()); // stopped (after Service::stop, or giving up)
/// # Ok(())
/// # }
/// ```
///
/// Dropping every handle does not stop the service; [`Service::stop`] does.
#[derive(Clone)]
pub struct Service {
    current: watch::Receiver<Current>,
    shared: Arc<Shared>,
}

struct Shared {
    stop: watch::Sender<bool>,
    forwards: Mutex<Vec<ForwardOptions>>,
    /// Wakes the task to ask for a forward added while online.
    rearm: tokio::sync::Notify,
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
        let (publish, current) = watch::channel((ServiceState::Starting, None));
        let shared = Arc::new(Shared {
            stop: watch::channel(false).0,
            forwards: Mutex::new(Vec::new()),
            rearm: tokio::sync::Notify::new(),
        });
        let io = Io {
            sam: sam.clone(),
            publish,
            observer,
            stop: shared.stop.subscribe(),
            shared: shared.clone(),
        };
        tokio::spawn(service_loop(io, Supervisor::new(policy), options));
        Service { current, shared }
    }

    /// The current state.
    pub fn state(&self) -> ServiceState {
        self.current.borrow().0.clone()
    }

    /// The online session, once there is one; [`Error::SessionClosed`] once the service has
    /// stopped.
    pub async fn session(&self) -> Result<Session> {
        let mut current = self.current.clone();
        let ready =
            current.wait_for(|(state, session)| online_session(state, session.as_ref()).is_some());
        let found = ready
            .await
            .map(|current| online_session(&current.0, current.1.as_ref()));
        found.ok().flatten().unwrap_or(Err(Error::SessionClosed))
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
            let accepted = tokio::select! {
                accepted = session.accept() => accepted,
                _ = session.closed() => continue,
            };
            let error = match accepted {
                Ok(incoming) => return Ok(incoming),
                Err(error) => error,
            };
            match after_service_accept(&mut backoff, &error, session.is_closed()) {
                AcceptNext::Again => {}
                AcceptNext::After(delay) => tokio::time::sleep(delay).await,
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
        let mut forwards = self
            .shared
            .forwards
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        forwards.push(to.into());
        self.shared.rearm.notify_one();
    }

    /// Stops the service: the session is closed and [`Service::state`] becomes `Stopped`.
    pub async fn stop(&self) {
        self.shared.stop.send_replace(true);
        let mut current = self.current.clone();
        let _ = current
            .wait_for(|(state, _)| state.is_stopped())
            .await
            .map(drop);
    }
}

/// The supervisor's side: sam-proto's [`service_loop`] over tokio.
struct Io {
    sam: Sam,
    publish: watch::Sender<Current>,
    observer: StateObserver,
    shared: Arc<Shared>,
    stop: watch::Receiver<bool>,
}

impl ServiceIo for Io {
    type Session = Session;
    type Forward = Forward;

    fn now() -> Time {
        now()
    }

    async fn create(&mut self, options: SessionOptions) -> Result<Session> {
        tokio::select! {
            created = self.sam.session(options) => created,
            _ = stopped(&mut self.stop) => Err(Error::SessionClosed),
        }
    }

    fn keys(session: &Session) -> &PrivateKeys {
        session.keys()
    }

    async fn forward(&mut self, session: &Session, to: ForwardOptions) -> Result<Forward> {
        session.forward(to).await
    }

    fn forwards(&self) -> Vec<ForwardOptions> {
        self.shared
            .forwards
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    async fn probe(&mut self, timeout: Duration) -> Result<()> {
        let answer = tokio::time::timeout(timeout, self.sam.lookup("ME")).await;
        let timed_out = Error::Timeout {
            operation: "probe",
            after: timeout,
        };
        answer.unwrap_or(Err(timed_out)).map(drop)
    }

    async fn wait(&mut self, session: Option<&Session>, timeout: Option<Duration>) -> ServiceWake {
        let timer = tokio::time::sleep(timeout.unwrap_or(Duration::MAX));
        let closed = async {
            match session {
                Some(session) => session.closed().await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = stopped(&mut self.stop) => ServiceWake::Stop,
            _ = closed => ServiceWake::Closed,
            _ = self.shared.rearm.notified() => ServiceWake::Rearm,
            _ = timer, if timeout.is_some() => ServiceWake::Timeout,
        }
    }

    async fn close(&mut self, session: Session) {
        session.close().await
    }

    fn publish(&mut self, state: &ServiceState, session: Option<&Session>) {
        (self.observer)(state);
        self.publish.send_replace((state.clone(), session.cloned()));
    }
}

/// Returns once the owner asked the service to stop (the guard is not held across awaits).
async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|stop| *stop).await.map(drop);
}
