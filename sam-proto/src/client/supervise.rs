//! The decisions of a supervised service, which keeps one destination online across bridge
//! restarts: when to create its session again, after how long, which failures end it, and how
//! an idle bridge is checked. The adapters' `Service` drivers only move sessions and timers.
//!
//! The rules, in one place:
//!
//! * A session that was online and is lost (the bridge closed it, the router restarted, the
//!   TCP connection to the bridge broke, a probe found the bridge dead) is created again at
//!   once, with the same keys.
//! * A failed create is retried after a [`Backoff`] from [`RecoveryPolicy::backoff_first`]
//!   doubling to [`RecoveryPolicy::backoff_max`] (the ceiling).
//! * `DUPLICATED_DEST` / `DUPLICATED_ID` (and emissary's `DUPLICATE_*`) mean the old session is
//!   still closing on the bridge (i2pd: until its streams end; emissary: 60 s without `QUIT`):
//!   they are retried like any failure, but never sooner than
//!   [`RecoveryPolicy::duplicate_wait`].
//! * Failures that cannot pass by waiting end the service: wrong keys or options
//!   ([`ClientError::is_final`], `INVALID_KEY`, `NOVERSION`).
//! * The stop: after failing without a break for [`RecoveryPolicy::give_up_after`], the
//!   service stops with the last error. `None` retries for ever, if you ask for it.
//! * An online session's bridge is probed every [`RecoveryPolicy::probe_every`] on a socket of
//!   its own (`HELLO`, answered within [`RecoveryPolicy::probe_timeout`]). A silent bridge
//!   makes the state `Reconnecting` but keeps the session for [`RecoveryPolicy::silent_limit`]
//!   ([`Supervisor::probe_failed`] says why). `PING` is not used:
//!   i2pd closes the socket after `PONG` (2.58+) or without it (older), and on the session's
//!   own control socket that would end the session. A hung router (`SIGSTOP`) accepts the TCP
//!   connection in the kernel but never answers `HELLO`, so the probe times out.

use core::future::Future;
use std::sync::Arc;
use std::time::Duration;

use super::{Backoff, ClientError};
use crate::session::Time;
use crate::ResultCode;

/// How a supervised service retries and probes. The defaults suit a service that must come
/// back after a router restart (which takes tens of seconds) without hammering a bridge that
/// is down.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RecoveryPolicy {
    /// The first delay after a failed create: 250 ms.
    pub backoff_first: Duration,
    /// The longest delay between creates (the ceiling): 15 s.
    pub backoff_max: Duration,
    /// The shortest delay after `DUPLICATED_DEST` / `DUPLICATED_ID`: 2 s.
    pub duplicate_wait: Duration,
    /// Failing without a break this long stops the service: 1 hour. `None`: never.
    pub give_up_after: Option<Duration>,
    /// How often an online session's bridge is probed: 30 s. `None`: never (a dead bridge is
    /// then noticed only when the control socket closes).
    pub probe_every: Option<Duration>,
    /// How long a probe waits for the bridge's `HELLO` answer: 5 s.
    pub probe_timeout: Duration,
    /// How long a silent bridge (failed probes, the control socket still open) keeps the
    /// session before it is given up and created again: 60 s. A bridge that answers again
    /// sooner (a frozen router thawed, a machine woken) goes on with the same session.
    pub silent_limit: Duration,
}

impl Default for RecoveryPolicy {
    fn default() -> RecoveryPolicy {
        RecoveryPolicy {
            backoff_first: Duration::from_millis(250),
            backoff_max: Duration::from_secs(15),
            duplicate_wait: Duration::from_secs(2),
            give_up_after: Some(Duration::from_secs(3600)),
            probe_every: Some(Duration::from_secs(30)),
            probe_timeout: Duration::from_secs(5),
            silent_limit: Duration::from_secs(60),
        }
    }
}

impl RecoveryPolicy {
    /// The defaults (see the fields).
    pub fn new() -> RecoveryPolicy {
        RecoveryPolicy::default()
    }

    /// The first delay and the ceiling of the backoff between failed creates.
    #[must_use]
    pub fn backoff(mut self, first: Duration, max: Duration) -> RecoveryPolicy {
        (self.backoff_first, self.backoff_max) = (first, max.max(first));
        self
    }

    /// Stop after failing without a break for this long (`None`: never).
    #[must_use]
    pub fn give_up_after(mut self, after: Option<Duration>) -> RecoveryPolicy {
        self.give_up_after = after;
        self
    }

    /// The configuration of a probe's socket: `config` with its connect (`HELLO`) and lookup
    /// timeouts cut to [`RecoveryPolicy::probe_timeout`], for adapters whose calls cannot be
    /// given up from outside.
    pub fn probe_config(&self, config: &super::SamConfig) -> super::SamConfig {
        let mut config = config.clone();
        config.connect_timeout = self.probe_timeout;
        config.lookup_timeout = self.probe_timeout;
        config
    }

    /// Probe the bridge every `every` (`None`: never), waiting `timeout` for its answer.
    #[must_use]
    pub fn probe(mut self, every: Option<Duration>, timeout: Duration) -> RecoveryPolicy {
        (self.probe_every, self.probe_timeout) = (every, timeout);
        self
    }

    /// How long a silent bridge keeps the session ([`RecoveryPolicy::silent_limit`]).
    #[must_use]
    pub fn silent_limit(mut self, limit: Duration) -> RecoveryPolicy {
        self.silent_limit = limit;
        self
    }
}

/// Where a supervised service is.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum ServiceState {
    /// Creating the first session.
    Starting,
    /// The session is created; its destination is reachable (once its lease set spread).
    Online,
    /// The session was lost or a create failed; the next create is `retry_in` away.
    Reconnecting {
        /// What went wrong last.
        reason: Arc<ClientError>,
        /// Creates tried since the service was last online (0: none yet).
        attempt: u32,
        /// The wait before the next create.
        retry_in: Duration,
    },
    /// The service ended: on request (`reason` `None`), or on a failure that waiting cannot
    /// cure, or after [`RecoveryPolicy::give_up_after`].
    Stopped {
        /// The failure that ended it, if one did.
        reason: Option<Arc<ClientError>>,
    },
}

impl ServiceState {
    /// `true` when [`ServiceState::Online`].
    pub fn is_online(&self) -> bool {
        matches!(self, ServiceState::Online)
    }

    /// `true` when [`ServiceState::Stopped`].
    pub fn is_stopped(&self) -> bool {
        matches!(self, ServiceState::Stopped { .. })
    }
}

impl core::fmt::Display for ServiceState {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            ServiceState::Starting => f.write_str("starting"),
            ServiceState::Online => f.write_str("online"),
            ServiceState::Reconnecting {
                reason,
                attempt,
                retry_in,
            } if retry_in.is_zero() => {
                write!(f, "reconnecting ({reason}); attempt {} now", attempt + 1)
            }
            ServiceState::Reconnecting {
                reason,
                attempt,
                retry_in,
            } => write!(
                f,
                "reconnecting ({reason}); attempt {} in {retry_in:?}",
                attempt + 1
            ),
            ServiceState::Stopped { reason: None } => f.write_str("stopped"),
            ServiceState::Stopped { reason: Some(e) } => write!(f, "stopped: {e}"),
        }
    }
}

/// The state machine of a supervised service. The driver tells it what happened, with the
/// time, and does what the returned state says: create after `retry_in`, or end.
///
/// ```
/// use std::time::Duration;
/// use sam_proto::client::{ClientError, RecoveryPolicy, ServiceState, Supervisor};
///
/// let mut supervisor = Supervisor::new(RecoveryPolicy::new());
/// let now = Duration::ZERO;
/// assert!(supervisor.online(now).is_online());
/// // The bridge went away: create again at once...
/// let state = supervisor.session_lost(ClientError::SessionClosed, now);
/// assert!(matches!(state, ServiceState::Reconnecting { retry_in: Duration::ZERO, .. }));
/// // ...and after a failed create, back off.
/// let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
/// let state = supervisor.create_failed(ClientError::Io(refused), now);
/// assert!(matches!(state, ServiceState::Reconnecting { retry_in, .. } if retry_in > Duration::ZERO));
/// ```
#[derive(Debug, Clone)]
pub struct Supervisor {
    policy: RecoveryPolicy,
    backoff: Backoff,
    /// When the failures without a break began.
    failing_since: Option<Time>,
    /// Creates tried since the service was last online.
    attempts: u32,
    state: ServiceState,
    /// The session was given up to failed probes, so the bridge may still hold it.
    old_session_may_live: bool,
    /// Since when the bridge has not answered probes (the session kept meanwhile).
    silent_since: Option<Time>,
}

impl Supervisor {
    /// A service that has not created its session yet.
    pub fn new(policy: RecoveryPolicy) -> Supervisor {
        let backoff = Backoff::new(policy.backoff_first, policy.backoff_max);
        Supervisor {
            policy,
            backoff,
            failing_since: None,
            attempts: 0,
            state: ServiceState::Starting,
            old_session_may_live: false,
            silent_since: None,
        }
    }

    /// The policy.
    pub fn policy(&self) -> &RecoveryPolicy {
        &self.policy
    }

    /// The current state.
    pub fn state(&self) -> &ServiceState {
        &self.state
    }

    /// Creates tried since the service was last online.
    pub fn attempts(&self) -> u32 {
        self.attempts
    }

    /// A session was created at `now`.
    pub fn online(&mut self, _now: Time) -> ServiceState {
        if self.state.is_stopped() {
            return self.state.clone();
        }
        self.backoff.reset();
        (self.failing_since, self.attempts, self.silent_since) = (None, 0, None);
        self.set(ServiceState::Online)
    }

    /// The online session was lost at `now` because of `error`: create again at once.
    pub fn session_lost(&mut self, error: ClientError, now: Time) -> ServiceState {
        if self.state.is_stopped() {
            return self.state.clone();
        }
        self.failing_since.get_or_insert(now);
        self.set(ServiceState::Reconnecting {
            reason: Arc::new(error),
            attempt: self.attempts,
            retry_in: Duration::ZERO,
        })
    }

    /// A create failed at `now` with `error`: retry after a delay, or stop.
    pub fn create_failed(&mut self, error: ClientError, now: Time) -> ServiceState {
        if self.state.is_stopped() {
            return self.state.clone();
        }
        self.attempts = self.attempts.saturating_add(1);
        let since = *self.failing_since.get_or_insert(now);
        let gave_up = match self.policy.give_up_after {
            Some(limit) => now.saturating_sub(since) >= limit,
            None => false,
        };
        if gave_up || Supervisor::ends_service(&error) {
            let reason = Some(Arc::new(error));
            return self.set(ServiceState::Stopped { reason });
        }
        let mut retry_in = self.backoff.next_delay();
        if let ClientError::Refused { result, .. } = &error {
            if result.is_duplicate_dest() || result.is_duplicate_id() {
                retry_in = retry_in.max(self.policy.duplicate_wait);
            }
        }
        self.set(ServiceState::Reconnecting {
            reason: Arc::new(error),
            attempt: self.attempts,
            retry_in,
        })
    }

    /// A probe of the online session's bridge failed at `now`: the bridge is silent. The
    /// session is kept, because a bridge that comes back (a frozen router thawed) still has it:
    /// the state is `Reconnecting` and `Some(delay)` is when to probe again. After
    /// [`RecoveryPolicy::silent_limit`] without an answer it returns `None`: the session is
    /// given up (the driver closes it) and created again, after the bridge answers a probe
    /// ([`Supervisor::probe_before_create`]) and [`RecoveryPolicy::duplicate_wait`], so that
    /// the bridge ends the old session before it sees the new one.
    ///
    /// Why keep it: i2pd 2.59 frozen with `SIGSTOP` for 8 s and thawed served the old session
    /// again within 15 s, while a session created again with the same keys was answered `OK`
    /// but not reached within 45 s, on i2pd 2.45.1 too (clients' streams failed to decrypt:
    /// the router still handed out the old session's lease set).
    pub fn probe_failed(
        &mut self,
        error: ClientError,
        now: Time,
    ) -> (ServiceState, Option<Duration>) {
        if self.state.is_stopped() {
            return (self.state.clone(), None);
        }
        let since = *self.silent_since.get_or_insert(now);
        let given_up = now.saturating_sub(since) >= self.policy.silent_limit;
        if given_up {
            self.silent_since = None;
            self.old_session_may_live = true;
            self.failing_since.get_or_insert(now);
        }
        // Probed again after the probe timeout (at least 1 s), so that a thaw is seen soon.
        let again = self.policy.probe_timeout.max(Duration::from_secs(1));
        let state = self.set(ServiceState::Reconnecting {
            reason: Arc::new(error),
            attempt: self.attempts,
            retry_in: if given_up { Duration::ZERO } else { again },
        });
        (state, (!given_up).then_some(again))
    }

    /// A probe answered at `now` while the bridge was silent: online again, same session.
    /// `None` when the bridge was not silent (nothing changes).
    pub fn probe_answered_again(&mut self, now: Time) -> Option<ServiceState> {
        self.silent_since.take()?;
        Some(self.online(now))
    }

    /// `true` when the driver must probe the bridge (and, once it answers, wait
    /// [`RecoveryPolicy::duplicate_wait`]) before the next create: after a failed probe.
    pub fn probe_before_create(&self) -> bool {
        self.old_session_may_live
    }

    /// The bridge answered the probe that [`Supervisor::probe_before_create`] asked for: the
    /// wait before the create.
    pub fn bridge_answered(&mut self) -> Duration {
        self.old_session_may_live = false;
        self.policy.duplicate_wait
    }

    /// `true` when a probe's `result` shows a living bridge: any answer, a refusal included
    /// (a lookup of `ME` without a session is refused by some bridges). A timeout, an I/O
    /// error or a closed socket is a dead bridge.
    pub fn probe_answered<T>(result: &Result<T, ClientError>) -> bool {
        matches!(result, Ok(_) | Err(ClientError::Refused { .. }))
    }

    /// The options of the next create: the destination the service was first created with
    /// stays its destination, also when `options` asked for a new one (`TRANSIENT`).
    pub fn keep_destination(
        mut options: super::SessionOptions,
        created: &crate::keys::PrivateKeys,
    ) -> super::SessionOptions {
        if options.keys.is_none() {
            options.keys = Some(created.clone());
        }
        options
    }

    /// The owner asked the service to stop.
    pub fn stop(&mut self) -> ServiceState {
        if !self.state.is_stopped() {
            self.state = ServiceState::Stopped { reason: None };
        }
        self.state.clone()
    }

    /// `true` when a create that failed with `error` cannot succeed by waiting.
    pub fn ends_service(error: &ClientError) -> bool {
        match error {
            ClientError::Refused { result, .. } => {
                matches!(result, ResultCode::InvalidKey | ResultCode::NoVersion)
            }
            // A create has no session to be closed; a closed socket is a lost bridge.
            ClientError::SessionClosed => false,
            other => other.is_final(),
        }
    }

    fn set(&mut self, state: ServiceState) -> ServiceState {
        self.state = state;
        self.state.clone()
    }
}

/// Called with every state change of a service, from its task or thread (keep it short).
pub type StateObserver = Arc<dyn Fn(&ServiceState) + Send + Sync>;

/// What a service's handle does after an accept on the online session failed.
#[doc(hidden)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AcceptNext {
    /// Accept again (on the next session, if this one is over) at once.
    Again,
    /// Accept again after this delay.
    After(Duration),
    /// Give up: return the error.
    Fail,
}

/// The rules of a service's `accept`, written once: the online session, when there is one
/// ([`online_session`]), and what an accept error means ([`after_service_accept`]).
#[doc(hidden)]
pub fn online_session<S: Clone>(
    state: &ServiceState,
    session: Option<&S>,
) -> Option<Result<S, ClientError>> {
    match (state, session) {
        (_, Some(session)) => Some(Ok(session.clone())),
        (ServiceState::Stopped { .. }, None) => Some(Err(ClientError::SessionClosed)),
        _ => None,
    }
}

/// After an accept on a service's session failed with `error`: a closed session hands over
/// to the next one, an accept given up after its own timeout (sam-blocking's slices) is asked
/// again, what may pass is retried after the accept-loop backoff, the rest is returned.
#[doc(hidden)]
pub fn after_service_accept(
    backoff: &mut Backoff,
    error: &ClientError,
    session_closed: bool,
) -> AcceptNext {
    if session_closed || matches!(error, ClientError::Timeout { .. }) {
        return AcceptNext::Again;
    }
    match backoff.after_accept_error(error) {
        Some(delay) => AcceptNext::After(delay),
        None => AcceptNext::Fail,
    }
}

/// What ended a supervised service's wait ([`ServiceIo::wait`]).
#[doc(hidden)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServiceWake {
    /// The owner asked the service to stop.
    Stop,
    /// The session's control socket is closed.
    Closed,
    /// A forward was asked for.
    Rearm,
    /// The wait's time is up.
    Timeout,
}

/// What a supervised service's loop needs from a runtime and an adapter.
#[doc(hidden)]
pub trait ServiceIo: Send {
    /// The adapter's session handle.
    type Session: Clone + Send + Sync;
    /// What keeps a forward going (the adapter's `Forward`).
    type Forward: Send;
    /// The clock the supervisor runs on.
    fn now() -> Time;
    /// `SESSION CREATE` (ends early with an error when the owner asks to stop).
    fn create(
        &mut self,
        options: super::SessionOptions,
    ) -> impl Future<Output = Result<Self::Session, ClientError>> + Send;
    /// The keys `session` was created with.
    fn keys(session: &Self::Session) -> &crate::keys::PrivateKeys;
    /// `STREAM FORWARD` on `session`.
    fn forward(
        &mut self,
        session: &Self::Session,
        to: super::ForwardOptions,
    ) -> impl Future<Output = Result<Self::Forward, ClientError>> + Send;
    /// The forwards asked for so far, in order.
    fn forwards(&self) -> std::vec::Vec<super::ForwardOptions>;
    /// A probe of the bridge on a socket of its own: `NAMING LOOKUP NAME=ME` as the bridge
    /// answered it, or [`ClientError::Timeout`] after `timeout` (the loop decides what the
    /// answer means: [`Supervisor::probe_answered`]).
    fn probe(&mut self, timeout: Duration) -> impl Future<Output = Result<(), ClientError>> + Send;
    /// Waits until the owner asks to stop, `session` (if any) closes, a forward is asked for,
    /// or `timeout` (if any) passes.
    fn wait(
        &mut self,
        session: Option<&Self::Session>,
        timeout: Option<Duration>,
    ) -> impl Future<Output = ServiceWake> + Send;
    /// Closes `session` (`QUIT`) and waits until its control socket is closed.
    fn close(&mut self, session: Self::Session) -> impl Future<Output = ()> + Send;
    /// Tells the handles the new state and the online session (`None` when not online).
    fn publish(&mut self, state: &ServiceState, session: Option<&Self::Session>);
}

/// A supervised service's loop, the same for every runtime: create, stay online (forwards,
/// probes) until the session is lost, back off, create again, until stopped. `options` without
/// keys get the first session's keys, so the destination stays the same.
#[doc(hidden)]
pub async fn service_loop<I: ServiceIo>(
    mut io: I,
    mut supervisor: Supervisor,
    mut options: super::SessionOptions,
) {
    io.publish(supervisor.state(), None);
    loop {
        let state = match create(&mut io, &mut supervisor, options.clone()).await {
            Ok(session) => {
                options = Supervisor::keep_destination(options, I::keys(&session));
                let lost = online(&mut io, &mut supervisor, &session).await;
                // Said before the close, which waits for a frozen bridge's answer to QUIT.
                if let Some(state) = &lost {
                    io.publish(state, None);
                }
                // Closed also when users still hold its streams: a session left open keeps
                // the keys, and the next create would be refused DUPLICATED_DEST.
                io.close(session).await;
                match lost {
                    Some(state) => state,
                    None => break,
                }
            }
            Err(e) => {
                let state = supervisor.create_failed(e, I::now());
                io.publish(&state, None);
                state
            }
        };
        let retry_in = match state {
            ServiceState::Reconnecting { retry_in, .. } => retry_in,
            _ => return, // stopped
        };
        if io.wait(None, Some(retry_in)).await == ServiceWake::Stop {
            break;
        }
    }
    let state = supervisor.stop();
    io.publish(&state, None);
}

/// A create, after the probe (and the wait) the supervisor may ask for first.
async fn create<I: ServiceIo>(
    io: &mut I,
    supervisor: &mut Supervisor,
    options: super::SessionOptions,
) -> Result<I::Session, ClientError> {
    if supervisor.probe_before_create() {
        probe(io, supervisor).await?;
        let wait = supervisor.bridge_answered();
        if io.wait(None, Some(wait)).await == ServiceWake::Stop {
            return Err(ClientError::SessionClosed);
        }
    }
    io.create(options).await
}

/// `Ok` when the bridge answers a probe, else the error that shows it dead.
async fn probe<I: ServiceIo>(io: &mut I, supervisor: &Supervisor) -> Result<(), ClientError> {
    let answer = io.probe(supervisor.policy().probe_timeout).await;
    match Supervisor::probe_answered(&answer) {
        true => Ok(()),
        false => answer,
    }
}

/// Online until the session is lost (the supervisor's state then) or the owner stops (`None`).
async fn online<I: ServiceIo>(
    io: &mut I,
    supervisor: &mut Supervisor,
    session: &I::Session,
) -> Option<ServiceState> {
    let state = supervisor.online(I::now());
    io.publish(&state, Some(session));
    let mut armed = std::vec::Vec::new();
    let probe_every = supervisor.policy().probe_every;
    let mut next_probe = probe_every.map(|every| I::now() + every);
    loop {
        for to in io.forwards().into_iter().skip(armed.len()) {
            match io.forward(session, to).await {
                Ok(forward) => armed.push(forward),
                Err(e) => return Some(supervisor.session_lost(e, I::now())),
            }
        }
        let timeout = next_probe.map(|at| at.saturating_sub(I::now()));
        match io.wait(Some(session), timeout).await {
            ServiceWake::Stop => return None,
            ServiceWake::Closed => {
                return Some(supervisor.session_lost(ClientError::SessionClosed, I::now()))
            }
            ServiceWake::Rearm => {}
            ServiceWake::Timeout => match probe(io, supervisor).await {
                Ok(()) => {
                    if let Some(state) = supervisor.probe_answered_again(I::now()) {
                        io.publish(&state, Some(session));
                    }
                    next_probe = probe_every.map(|every| I::now() + every);
                }
                Err(silent) => match supervisor.probe_failed(silent, I::now()) {
                    (state, Some(again)) => {
                        // Kept: handles wait for the bridge (no session is handed out).
                        io.publish(&state, None);
                        next_probe = Some(I::now() + again);
                    }
                    (state, None) => return Some(state),
                },
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::string::ToString;
    use std::vec::Vec;

    fn refused(result: ResultCode) -> ClientError {
        ClientError::Refused {
            operation: "SESSION CREATE",
            result,
            message: None,
        }
    }

    fn unreachable() -> ClientError {
        ClientError::Unreachable {
            address: "127.0.0.1:7656".to_string(),
            source: std::io::ErrorKind::ConnectionRefused.into(),
        }
    }

    fn retry_in(state: &ServiceState) -> Duration {
        match state {
            ServiceState::Reconnecting { retry_in, .. } => *retry_in,
            other => panic!("expected Reconnecting, got {other:?}"),
        }
    }

    /// A fake clock: the driver waits exactly what the supervisor said.
    #[test]
    fn the_backoff_grows_to_its_ceiling_and_a_success_resets_it() {
        let policy =
            RecoveryPolicy::new().backoff(Duration::from_millis(250), Duration::from_secs(4));
        let mut supervisor = Supervisor::new(policy);
        let mut now = Duration::ZERO;
        assert!(supervisor.online(now).is_online());
        assert_eq!(
            retry_in(&supervisor.session_lost(ClientError::SessionClosed, now)),
            Duration::ZERO
        );
        let mut delays = Vec::new();
        for _ in 0..8 {
            let delay = retry_in(&supervisor.create_failed(unreachable(), now));
            delays.push(delay.as_millis());
            now += delay;
        }
        assert_eq!(delays, [250, 500, 1000, 2000, 4000, 4000, 4000, 4000]);
        assert_eq!(supervisor.attempts(), 8);
        assert!(supervisor.online(now).is_online());
        assert_eq!(supervisor.attempts(), 0);
        supervisor.session_lost(ClientError::SessionClosed, now);
        assert_eq!(
            retry_in(&supervisor.create_failed(unreachable(), now)),
            Duration::from_millis(250)
        );
    }

    #[test]
    fn failing_without_a_break_for_give_up_after_stops_the_service() {
        let policy = RecoveryPolicy::new()
            .backoff(Duration::from_secs(1), Duration::from_secs(10))
            .give_up_after(Some(Duration::from_secs(60)));
        let mut supervisor = Supervisor::new(policy);
        let mut now = Duration::from_secs(1000);
        supervisor.online(now);
        supervisor.session_lost(ClientError::SessionClosed, now);
        let mut creates = 0;
        let stopped = loop {
            let state = supervisor.create_failed(unreachable(), now);
            creates += 1;
            match state {
                ServiceState::Reconnecting { retry_in, .. } => now += retry_in,
                ServiceState::Stopped { reason } => break reason,
                other => panic!("{other:?}"),
            }
            assert!(creates < 100, "an unbounded retry loop");
        };
        // Waits 1+2+4+8+10+10+10+10+10: the 10th failure is at 65 s, past the 60 s limit.
        assert_eq!(creates, 10);
        assert_eq!(now - Duration::from_secs(1000), Duration::from_secs(65));
        assert!(matches!(
            stopped.as_deref(),
            Some(ClientError::Unreachable { .. })
        ));
        // Stopped stays stopped.
        assert!(supervisor.online(now).is_stopped());
        assert!(supervisor.create_failed(unreachable(), now).is_stopped());
    }

    #[test]
    fn never_giving_up_is_possible_when_asked() {
        let mut supervisor = Supervisor::new(RecoveryPolicy::new().give_up_after(None));
        let mut now = Duration::ZERO;
        for _ in 0..10_000 {
            now += retry_in(&supervisor.create_failed(unreachable(), now));
        }
        assert!(now > Duration::from_secs(24 * 3600));
        assert_eq!(
            retry_in(&supervisor.create_failed(unreachable(), now)),
            Duration::from_secs(15)
        );
    }

    #[test]
    fn duplicated_dest_waits_at_least_duplicate_wait() {
        let mut supervisor = Supervisor::new(RecoveryPolicy::new());
        let now = Duration::ZERO;
        for code in [
            ResultCode::DuplicatedDest,
            ResultCode::DuplicateDest,
            ResultCode::DuplicatedId,
        ] {
            let state = supervisor.create_failed(refused(code), now);
            assert!(retry_in(&state) >= Duration::from_secs(2), "{state}");
        }
        // Other refusals back off normally (I2P_ERROR: the router may be starting).
        let mut fresh = Supervisor::new(RecoveryPolicy::new());
        let state = fresh.create_failed(refused(ResultCode::I2pError), now);
        assert_eq!(retry_in(&state), Duration::from_millis(250));
    }

    #[test]
    fn wrong_keys_or_options_stop_at_once() {
        for error in [
            refused(ResultCode::InvalidKey),
            refused(ResultCode::NoVersion),
            ClientError::InvalidInput("a newline in an option".to_string()),
        ] {
            let mut supervisor = Supervisor::new(RecoveryPolicy::new());
            let state = supervisor.create_failed(error, Duration::ZERO);
            assert!(state.is_stopped(), "{state}");
        }
    }

    fn timeout() -> ClientError {
        ClientError::Timeout {
            operation: "HELLO",
            after: Duration::from_secs(5),
        }
    }

    #[test]
    fn a_silent_bridge_keeps_the_session_until_silent_limit_and_stop_ends_everything() {
        let mut supervisor = Supervisor::new(RecoveryPolicy::new());
        supervisor.online(Duration::ZERO);
        // Silent: the session is kept and probed again every 5 s (the probe timeout).
        let (state, again) = supervisor.probe_failed(timeout(), Duration::from_secs(30));
        assert_eq!(again, Some(Duration::from_secs(5)));
        assert_eq!(
            state.to_string(),
            "reconnecting (HELLO timed out after 5s); attempt 1 in 5s"
        );
        assert!(!supervisor.probe_before_create());
        // It answers again: online, same session.
        let back = supervisor.probe_answered_again(Duration::from_secs(40));
        assert!(back.is_some_and(|s| s.is_online()));
        assert!(supervisor
            .probe_answered_again(Duration::from_secs(41))
            .is_none());
        // Silent for the limit (60 s): given up, created again after an answered probe.
        let mut now = Duration::from_secs(100);
        assert!(supervisor.probe_failed(timeout(), now).1.is_some());
        now += Duration::from_secs(59);
        assert!(supervisor.probe_failed(timeout(), now).1.is_some());
        now += Duration::from_secs(1);
        let (state, again) = supervisor.probe_failed(timeout(), now);
        assert_eq!((retry_in(&state), again), (Duration::ZERO, None));
        assert!(supervisor.probe_before_create());
        assert_eq!(supervisor.bridge_answered(), Duration::from_secs(2));
        assert!(!supervisor.probe_before_create());
        assert!(matches!(
            supervisor.stop(),
            ServiceState::Stopped { reason: None }
        ));
        assert!(supervisor.online(Duration::from_secs(31)).is_stopped());
    }
}
