//! A supervised service: one destination kept online across bridge restarts. The loop and its
//! decisions are sam-proto's ([`service_loop`], [`Supervisor`]); a thread runs it with
//! blocking calls ([`block_on`]) and hands its state to the handles.

use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use sam_proto::client::{
    after_service_accept, block_on, online_session, service_loop, AcceptIter, AcceptNext, Backoff,
    RecoveryPolicy, ServiceIo, ServiceState, ServiceWake, StateObserver, Supervisor,
};
use sam_proto::keys::PrivateKeys;
use sam_proto::session::Time;

use crate::driver::now;
use crate::{Error, Forward, ForwardOptions, Incoming, Result, Sam, Session, SessionOptions};

/// How long one accept waits before it is asked again on the same session: a frozen bridge
/// that comes back may never end an old session's accept, and a blocking accept cannot also
/// wait for the session's end.
const ACCEPT_SLICE: Duration = Duration::from_secs(10);

/// How often the service's thread looks at the session and its inbox while it waits.
const POLL: Duration = Duration::from_millis(50);

/// The state and, while online, the session.
type Current = (ServiceState, Option<Session>);

/// What the handles tell the service's thread.
enum Order {
    Stop,
    Rearm,
}

struct Shared {
    current: Mutex<Current>,
    changed: Condvar,
    forwards: Mutex<Vec<ForwardOptions>>,
    orders: Mutex<Sender<Order>>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

/// A destination kept online across bridge restarts. What each method means: [the adapters'
/// API](sam_proto::client#the-adapters-api); the rules: [`Supervisor`].
///
/// ```no_run
/// use sam_blocking::{RecoveryPolicy, Sam, Service, SessionOptions, Style};
///
/// # fn run() -> sam_blocking::Result<()> {
/// let keys = sam_blocking::load_keys("service.keys")?;
/// let options = SessionOptions::new(Style::Stream).with_keys(keys);
/// let service = Service::start(&Sam::from_env(), options, RecoveryPolicy::new());
/// while let Ok(incoming) = service.accept() {
///     std::thread::spawn(move || drop(incoming)); // serve incoming.stream
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
        let (orders, inbox) = mpsc::channel();
        let shared = Arc::new(Shared {
            current: Mutex::new((ServiceState::Starting, None)),
            changed: Condvar::new(),
            forwards: Mutex::new(Vec::new()),
            orders: Mutex::new(orders),
        });
        let io = Io {
            sam: sam.clone(),
            probe: Sam::new(policy.probe_config(sam.config())),
            shared: shared.clone(),
            observer,
            inbox,
            stopping: false,
        };
        let run = move || block_on(service_loop(io, Supervisor::new(policy), options));
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
    fn wait_for<T>(&self, ready: impl Fn(&Current) -> Option<T>) -> T {
        let mut current = lock(&self.shared.current);
        loop {
            if let Some(done) = ready(&current) {
                return done;
            }
            current = self
                .shared
                .changed
                .wait(current)
                .unwrap_or_else(|e| e.into_inner());
        }
    }

    /// The online session, once there is one; [`Error::SessionClosed`] once the service has
    /// stopped.
    pub fn session(&self) -> Result<Session> {
        self.wait_for(|(state, session)| online_session(state, session.as_ref()))
    }

    /// The next stream someone opens to the destination, across session restarts. Transient
    /// accept errors are retried ([`Backoff::accept_loop`]); [`Error::SessionClosed`] means
    /// the service stopped. Each accept waits at most 10 s before it asks again, so that it
    /// moves on to a new session (a blocking accept cannot also wait for the session's end).
    pub fn accept(&self) -> Result<Incoming> {
        let mut backoff = Backoff::accept_loop();
        loop {
            let session = self.session()?;
            let error = match session.accept_timeout(ACCEPT_SLICE) {
                Ok(incoming) => return Ok(incoming),
                Err(error) => error,
            };
            match after_service_accept(&mut backoff, &error, session.is_closed()) {
                AcceptNext::Again => {}
                AcceptNext::After(delay) => std::thread::sleep(delay),
                AcceptNext::Fail => return Err(error),
            }
        }
    }

    /// [`Service::accept`] after [`Service::accept`], as an iterator that ends when the
    /// service stops.
    pub fn incoming(&self) -> AcceptIter<Incoming> {
        let service = self.clone();
        AcceptIter::new(move || service.accept())
    }

    /// Has the bridge connect to `to` for every incoming stream, on this session and on every
    /// session after it, until the service stops.
    pub fn forward(&self, to: impl Into<ForwardOptions>) {
        lock(&self.shared.forwards).push(to.into());
        let _ = lock(&self.shared.orders).send(Order::Rearm);
    }

    /// Stops the service: the session is closed and [`Service::state`] becomes `Stopped`. A
    /// `SESSION CREATE` under way is finished first (at most the session timeout).
    pub fn stop(&self) {
        let _ = lock(&self.shared.orders).send(Order::Stop);
        self.wait_for(|(state, _)| state.is_stopped().then_some(()))
    }
}

/// The supervisor's side: sam-proto's [`service_loop`], its calls blocking (each future is
/// ready when first polled).
struct Io {
    sam: Sam,
    /// The bridge with the probe's timeouts.
    probe: Sam,
    shared: Arc<Shared>,
    observer: StateObserver,
    inbox: Receiver<Order>,
    /// A stop was read while something else was awaited.
    stopping: bool,
}

impl ServiceIo for Io {
    type Session = Session;
    type Forward = Forward;

    fn now() -> Time {
        now()
    }

    async fn create(&mut self, options: SessionOptions) -> Result<Session> {
        self.sam.session(options)
    }

    fn keys(session: &Session) -> &PrivateKeys {
        session.keys()
    }

    async fn forward(&mut self, session: &Session, to: ForwardOptions) -> Result<Forward> {
        session.forward(to)
    }

    fn forwards(&self) -> Vec<ForwardOptions> {
        lock(&self.shared.forwards).clone()
    }

    async fn probe(&mut self, _timeout: Duration) -> Result<()> {
        // A blocking lookup cannot be given up from outside: the probe's own timeouts.
        self.probe.lookup("ME").map(drop)
    }

    async fn wait(&mut self, session: Option<&Session>, timeout: Option<Duration>) -> ServiceWake {
        let until = timeout.map(|timeout| Instant::now() + timeout);
        loop {
            if self.stopping {
                return ServiceWake::Stop;
            }
            if session.is_some_and(Session::is_closed) {
                return ServiceWake::Closed;
            }
            let left = until.map(|until| until.saturating_duration_since(Instant::now()));
            if left == Some(Duration::ZERO) {
                return ServiceWake::Timeout;
            }
            match self.inbox.recv_timeout(left.unwrap_or(POLL).min(POLL)) {
                Ok(Order::Stop) | Err(RecvTimeoutError::Disconnected) => self.stopping = true,
                Ok(Order::Rearm) => return ServiceWake::Rearm,
                Err(RecvTimeoutError::Timeout) => {}
            }
        }
    }

    async fn close(&mut self, session: Session) {
        session.close()
    }

    fn publish(&mut self, state: &ServiceState, session: Option<&Session>) {
        (self.observer)(state);
        *lock(&self.shared.current) = (state.clone(), session.cloned());
        self.shared.changed.notify_all();
    }
}
