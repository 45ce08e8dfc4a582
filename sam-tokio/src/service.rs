//! A supervised service: one destination kept online across bridge restarts. The decisions
//! (when to create again, backoff, what ends the service, probes) are sam-proto's
//! [`Supervisor`]; this is the task that carries them out.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use sam_proto::client::{Accepts, Backoff, RecoveryPolicy, ServiceState, Supervisor};
use tokio::sync::watch;

use crate::driver::now;
use crate::{Error, ForwardOptions, Incoming, Result, Sam, Session, SessionOptions};

/// Called with every state change of a [`Service`], from its task (keep it short).
pub type StateObserver = Arc<dyn Fn(&ServiceState) + Send + Sync>;

/// The state and, while online, the session.
type Current = (ServiceState, Option<Session>);

/// A destination kept online: the session is created again, with the same keys, after the
/// bridge closed it, the router restarted or the connection to the bridge broke, and forwards
/// are asked for again. Accepts through [`Service::accept`] / [`Service::incoming`] go on
/// across restarts. The policy: [`RecoveryPolicy`]; the rules: [`Supervisor`].
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

impl std::fmt::Debug for Service {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Service")
            .field("state", &self.state())
            .finish()
    }
}

impl Service {
    /// Starts keeping `options`' destination online (a new one, kept from then on, if
    /// `options` has no keys).
    pub fn start(sam: &Sam, options: SessionOptions, policy: RecoveryPolicy) -> Service {
        Service::start_observed(sam, options, policy, Arc::new(|_: &ServiceState| {}))
    }

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
        let task = Task {
            sam: sam.clone(),
            supervisor: Supervisor::new(policy),
            publish,
            observer,
            shared: shared.clone(),
        };
        tokio::spawn(task.run(options));
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
        let ready = current.wait_for(|(state, session)| session.is_some() || state.is_stopped());
        let session = ready.await.map(|current| current.1.clone());
        session.ok().flatten().ok_or(Error::SessionClosed)
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
            match accepted {
                Ok(incoming) => return Ok(incoming),
                // Lost: the next session takes over.
                Err(_) if session.is_closed() => continue,
                Err(e) => match backoff.after_accept_error(&e) {
                    Some(delay) => tokio::time::sleep(delay).await,
                    None => return Err(e),
                },
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

/// The supervisor's task.
struct Task {
    sam: Sam,
    supervisor: Supervisor,
    publish: watch::Sender<Current>,
    observer: StateObserver,
    shared: Arc<Shared>,
}

impl Task {
    fn set(&self, state: ServiceState, session: Option<Session>) {
        (self.observer)(&state);
        self.publish.send_replace((state, session));
    }

    async fn run(mut self, mut options: SessionOptions) {
        let mut stop = self.shared.stop.subscribe();
        loop {
            let created = tokio::select! {
                created = self.create(options.clone()) => created,
                _ = stopped(&mut stop) => break,
            };
            let state = match created {
                Ok(session) => {
                    options = Supervisor::keep_destination(options, session.keys());
                    let lost = tokio::select! {
                        lost = self.online(&session) => lost,
                        _ = stopped(&mut stop) => {
                            session.close().await;
                            break;
                        }
                    };
                    // Closed even where users still hold streams of it: a session left open
                    // would hold the keys, and the next create would be DUPLICATED_DEST.
                    tokio::spawn(async move { session.close().await });
                    lost
                }
                Err(e) => self.supervisor.create_failed(e, now()),
            };
            let retry_in = match &state {
                ServiceState::Reconnecting { retry_in, .. } => *retry_in,
                _ => Duration::ZERO,
            };
            let ended = state.is_stopped();
            self.set(state, None);
            if ended {
                return;
            }
            tokio::select! {
                _ = tokio::time::sleep(retry_in) => {}
                _ = stopped(&mut stop) => break,
            }
        }
        let state = self.supervisor.stop();
        self.set(state, None);
    }

    /// A create, after the probe the supervisor may ask for first.
    async fn create(&mut self, options: SessionOptions) -> Result<Session> {
        if self.supervisor.probe_before_create() {
            self.probe().await?;
            tokio::time::sleep(self.supervisor.bridge_answered()).await;
        }
        self.sam.session(options).await
    }

    /// `Ok` when the bridge answers, the error that shows it is dead otherwise.
    async fn probe(&self) -> Result<()> {
        let timeout = self.supervisor.policy().probe_timeout;
        let answer = tokio::time::timeout(timeout, self.sam.lookup("ME")).await;
        let answer = answer.unwrap_or(Err(Error::Timeout {
            operation: "probe",
            after: timeout,
        }));
        match Supervisor::probe_answered(&answer) {
            true => Ok(()),
            false => Err(answer.err().unwrap_or(Error::SessionClosed)),
        }
    }

    /// Online until the session is lost; returns the supervisor's state after the loss.
    async fn online(&mut self, session: &Session) -> ServiceState {
        let mut armed = Vec::new();
        let state = self.supervisor.online(now());
        self.set(state, Some(session.clone()));
        let probe_every = self.supervisor.policy().probe_every;
        loop {
            // Forwards asked for before or while online (a failed one ends this session).
            let wanted: Vec<ForwardOptions> = {
                let forwards = self
                    .shared
                    .forwards
                    .lock()
                    .unwrap_or_else(|e| e.into_inner());
                forwards[armed.len()..].to_vec()
            };
            for to in wanted {
                match session.forward(to).await {
                    Ok(forward) => armed.push(forward),
                    Err(e) => return self.supervisor.session_lost(e, now()),
                }
            }
            let probe = tokio::time::sleep(probe_every.unwrap_or(Duration::MAX));
            tokio::select! {
                _ = session.closed() => return self.supervisor.session_lost(Error::SessionClosed, now()),
                _ = self.shared.rearm.notified() => {}
                _ = probe, if probe_every.is_some() => {
                    if let Err(dead) = self.probe().await {
                        return self.supervisor.probe_failed(dead, now());
                    }
                }
            }
        }
    }
}

/// Returns once the owner asked the service to stop (the guard is not held across awaits).
async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|stop| *stop).await.map(drop);
}
