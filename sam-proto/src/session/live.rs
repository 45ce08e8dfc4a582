//! The live session: its control socket, commands, timeouts and close.

use alloc::borrow::ToOwned;
use alloc::collections::VecDeque;

use core::time::Duration;

use super::{deadline, Failure, Operation, SessionInfo, Time};
use crate::client::SamConfig;
use crate::control::{Completion, ControlCommand, ControlEvent, ControlSocket, ReceivedDatagram};
use crate::error::Error;
use crate::keys::Destination;
use crate::types::{SessionId, SessionStyle, Version};

/// How long a session whose every handle is gone keeps its control socket open before it
/// closes (see [`SessionCore::release`]).
pub const LINGER: Duration = Duration::from_secs(3);

/// Names a command submitted to a [`SessionCore`]; its completion carries the same id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CommandId(u64);

/// Something the driver must act on.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SessionEvent {
    /// The command `id` finished (answered, refused, timed out, or the session closed).
    Completed(CommandId, Result<Completion, Failure>),
    /// A datagram the bridge delivered on the control socket.
    Datagram(ReceivedDatagram),
    /// The session is over: every command has been answered; drop the socket.
    Closed,
}

#[derive(Debug)]
struct Queued {
    id: CommandId,
    command: ControlCommand<'static>,
    operation: Operation,
    deadline: Option<Time>,
}

#[derive(Debug)]
struct InFlight {
    id: CommandId,
    operation: Operation,
    deadline: Option<Time>,
    /// Its caller has gone (cancelled or timed out): the answer is read and dropped.
    abandoned: bool,
}

/// The control socket of a live session (see the [module docs](super)).
///
/// Drive it like this: after every input ([`feed`](Self::feed), [`eof`](Self::eof),
/// [`submit`](Self::submit), [`cancel`](Self::cancel), [`close`](Self::close),
/// [`handle_timeout`](Self::handle_timeout)), write everything
/// [`poll_transmit`](Self::poll_transmit) gives, act on every
/// [`poll_event`](Self::poll_event), and sleep until [`poll_timeout`](Self::poll_timeout) or
/// the next input. Once [`SessionEvent::Closed`] came out, drop the socket.
///
/// ```
/// use core::time::Duration;
/// use sam_proto::client::SamConfig;
/// use sam_proto::session::{Failure, SessionCore, SessionEvent, SessionInfo};
/// use sam_proto::Version;
///
/// let config = SamConfig::default();
/// let mut core = SessionCore::new(&config, Version::V3_1);
/// let t0 = Duration::ZERO;
/// let id = core.submit(SessionInfo::lookup("peer.i2p"), t0).unwrap();
/// assert_eq!(core.poll_transmit(), Some(&b"NAMING LOOKUP NAME=peer.i2p\n"[..]));
/// // No answer: at lookup_timeout the caller gets a typed timeout.
/// let later = core.poll_timeout().unwrap();
/// assert_eq!(later, config.lookup_timeout);
/// core.handle_timeout(later);
/// match core.poll_event() {
///     Some(SessionEvent::Completed(done, Err(Failure::Timeout { .. }))) => assert_eq!(done, id),
///     other => panic!("{other:?}"),
/// }
/// ```
#[derive(Debug)]
pub struct SessionCore {
    socket: ControlSocket,
    config: SamConfig,
    queue: VecDeque<Queued>,
    in_flight: Option<InFlight>,
    next_id: u64,
    events: VecDeque<SessionEvent>,
    /// The id of our own `QUIT`, and when closing gives up waiting.
    closing: Option<(CommandId, Option<Time>)>,
    /// Every handle is gone: the session closes at this time (see [`SessionCore::release`]).
    lingering: Option<Time>,
    closed: bool,
    bridge_error: Option<Error>,
    /// The session's ID and style, for traces (see [`SessionCore::for_session`]).
    name: Option<(SessionId<'static>, &'static str)>,
    /// Who asked to close: `close()` or the linger after the last handle, for traces.
    close_asked: Option<&'static str>,
    /// The session's style, so that a command it does not have is refused at submit.
    style: Option<SessionStyle>,
}

impl SessionCore {
    /// The core of a control socket whose `SESSION CREATE` agreed to `version`.
    pub fn new(config: &SamConfig, version: Version) -> SessionCore {
        SessionCore {
            socket: ControlSocket::new(version),
            config: config.clone(),
            queue: VecDeque::new(),
            in_flight: None,
            next_id: 0,
            events: VecDeque::new(),
            closing: None,
            lingering: None,
            closed: false,
            bridge_error: None,
            style: None,
            name: None,
            close_asked: None,
        }
    }

    /// The core of the control socket of the session `created` (its traces name it).
    pub fn for_session(config: &SamConfig, created: &SessionInfo) -> SessionCore {
        let version = created.version();
        let style = created.style().session_style(version, true);
        SessionCore {
            name: Some((created.id().clone(), created.style().name())),
            socket: ControlSocket::for_style(version, style.clone()),
            style: Some(style),
            ..SessionCore::new(config, version)
        }
    }

    /// The session's ID, if the core was made [`for_session`](Self::for_session).
    pub fn session_id(&self) -> Option<&SessionId<'static>> {
        self.name.as_ref().map(|(id, _)| id)
    }

    /// The span of the session's control loop with the `tracing` feature: its ID, style,
    /// bridge and version.
    #[cfg(feature = "tracing")]
    pub fn span(&self) -> tracing::Span {
        let (id, style) = match &self.name {
            Some((id, style)) => (Some(id.as_str()), Some(*style)),
            None => (None, None),
        };
        tracing::debug_span!(
            "session",
            session = id,
            style,
            bridge = %self.config.address,
            version = %self.version(),
        )
    }

    /// The version the control socket agreed to.
    pub fn version(&self) -> Version {
        self.socket.version()
    }

    /// `true` once the session is over (closed by its owner, by the bridge, or broken).
    pub fn is_closed(&self) -> bool {
        self.closed
    }

    /// `true` from [`close`](Self::close) on.
    pub fn is_closing(&self) -> bool {
        self.closing.is_some() || self.closed
    }

    /// The last error the bridge reported on its own (Java's `PONG timeout`, `Session is
    /// closed`); bridges usually close the socket right after.
    pub fn bridge_error(&self) -> Option<&Error> {
        self.bridge_error.as_ref()
    }

    /// Queues `command` at `now`. Its timeout (see the [module docs](super)) counts from now,
    /// waiting in the queue included. A command that cannot be written on this socket (a
    /// value with a newline, `PING` or `QUIT` below SAM 3.2) is refused here and nothing is
    /// queued.
    pub fn submit(
        &mut self,
        command: ControlCommand<'static>,
        now: Time,
    ) -> Result<CommandId, Failure> {
        if self.is_closing() || self.lingering.is_some() {
            return Err(Failure::SessionClosed);
        }
        let operation = operation_of(&command);
        let mut probe = match &self.style {
            Some(style) => ControlSocket::for_style(self.version(), style.clone()),
            None => ControlSocket::new(self.version()),
        };
        probe
            .start(command.clone())
            .map_err(|e| Failure::protocol(operation.name(), e))?;
        let id = self.fresh_id();
        self.queue.push_back(Queued {
            id,
            command,
            operation,
            deadline: deadline(now, operation.timeout(&self.config)),
        });
        Ok(id)
    }

    /// The caller of `id` has gone: a queued command is dropped, one in flight finishes on
    /// the socket and its answer is discarded (the socket is never left mid-exchange).
    pub fn cancel(&mut self, id: CommandId) {
        self.queue.retain(|q| q.id != id);
        if let Some(flight) = self.in_flight.as_mut().filter(|f| f.id == id) {
            flight.abandoned = true;
        }
    }

    /// Ends the session: queued commands fail with [`Failure::SessionClosed`]; on a SAM 3.2+
    /// bridge `QUIT` is sent after the command in flight, and the session is closed when the
    /// bridge acts on it or [`QUIT_WAIT`](crate::client::QUIT_WAIT) after `now`, whichever
    /// comes first (emissary otherwise keeps the ID reserved for 60 s). Below 3.2 it is
    /// closed at once (SAM 3.1 bridges close the socket on an unknown command anyway).
    pub fn close(&mut self, now: Time) {
        if self.is_closing() {
            return;
        }
        self.close_asked.get_or_insert("close()");
        trace_event!(debug, asked = self.close_asked, "closing the session");
        for q in core::mem::take(&mut self.queue) {
            self.complete(q.id, Err(Failure::SessionClosed));
        }
        if self.version() < Version::V3_2 {
            return self.close_now("closed without QUIT (SAM below 3.2)");
        }
        let id = self.fresh_id();
        let wait = deadline(now, Operation::Quit.timeout(&self.config));
        self.queue.push_back(Queued {
            id,
            command: ControlCommand::Quit,
            operation: Operation::Quit,
            deadline: wait,
        });
        self.closing = Some((id, wait));
    }

    /// Every handle of the session is gone: [`LINGER`] after `now`, the session is closed as
    /// [`close`](Self::close) does. Until then the control socket stays open, so that what
    /// the session's streams wrote just before they were dropped still reaches their peers
    /// (bridges end a session's streams with it, and i2pd 2.45's SAM thread crashed when a
    /// stream and its session closed at the same moment).
    pub fn release(&mut self, now: Time) {
        if !self.is_closing() && self.lingering.is_none() {
            trace_event!(debug, linger = ?LINGER, "the last handle is gone: the session lingers");
            self.lingering = deadline(now, Some(LINGER)).or(Some(now));
        }
    }

    /// Ends the session at once: everything pending fails with [`Failure::SessionClosed`].
    pub fn shutdown(&mut self) {
        self.close_now("shut down");
    }

    /// Bytes to write now, if any. Write all of them before calling again.
    pub fn poll_transmit(&mut self) -> Option<&[u8]> {
        self.start_next();
        if self.closed {
            return None;
        }
        self.socket.poll_transmit()
    }

    /// The next event, if any.
    pub fn poll_event(&mut self) -> Option<SessionEvent> {
        self.start_next();
        self.events.pop_front()
    }

    /// Hands bytes read from the control socket (it takes all of them). Input that is not
    /// SAM breaks the session: the command in flight gets the protocol error, everything
    /// else [`Failure::SessionClosed`].
    pub fn feed(&mut self, input: &[u8]) {
        if self.closed {
            return;
        }
        if let Err(e) = self.socket.feed(input) {
            self.pump();
            if let Some(flight) = self.in_flight.take() {
                if !flight.abandoned {
                    let failure = Failure::protocol(flight.operation.name(), e);
                    self.complete(flight.id, Err(failure));
                }
            }
            trace_event!(
                warn,
                "the SAM bridge sent what is not SAM on the control socket"
            );
            return self.close_now("protocol error");
        }
        self.pump();
    }

    /// The bridge closed the control socket (or reading it failed): the session is over.
    pub fn eof(&mut self) {
        if self.closed {
            return;
        }
        self.socket.eof();
        self.pump();
        self.close_now("the bridge closed the control socket");
    }

    /// When to call [`handle_timeout`](Self::handle_timeout) if nothing happens first.
    pub fn poll_timeout(&self) -> Option<Time> {
        if self.closed {
            return None;
        }
        let flight = self
            .in_flight
            .as_ref()
            .filter(|f| !f.abandoned)
            .and_then(|f| f.deadline);
        let closing = self.closing.and_then(|(_, at)| at);
        self.queue
            .iter()
            .filter_map(|q| q.deadline)
            .chain(flight)
            .chain(closing)
            .chain(self.lingering)
            .min()
    }

    /// Fails every command whose timeout has passed at `now` with [`Failure::Timeout`] (one
    /// in flight keeps the socket until its late answer arrives, which is dropped), and
    /// closes a session whose `QUIT` wait is over.
    pub fn handle_timeout(&mut self, now: Time) {
        if self.closed {
            return;
        }
        if self.lingering.is_some_and(|at| at <= now) {
            self.lingering = None;
            self.close_asked = Some("linger");
            self.close(now);
        }
        if self
            .closing
            .is_some_and(|(_, at)| at.is_some_and(|at| at <= now))
        {
            return self.close_now("no answer to QUIT in time");
        }
        let due = |d: Option<Time>| d.is_some_and(|d| d <= now);
        let mut expired = alloc::vec::Vec::new();
        self.queue.retain(|q| {
            let keep = !due(q.deadline);
            if !keep {
                expired.push((q.id, q.operation));
            }
            keep
        });
        if let Some(flight) = self.in_flight.as_mut() {
            if !flight.abandoned && due(flight.deadline) {
                flight.abandoned = true;
                expired.push((flight.id, flight.operation));
            }
        }
        for (id, operation) in expired {
            let after = operation.timeout(&self.config).unwrap_or_default();
            trace_event!(
                warn,
                operation = operation.name(),
                ?after,
                "no answer from the SAM bridge in time"
            );
            let failure = Failure::Timeout {
                operation: operation.name(),
                after,
            };
            self.complete(id, Err(failure));
        }
    }

    fn fresh_id(&mut self) -> CommandId {
        self.next_id += 1;
        CommandId(self.next_id)
    }

    fn complete(&mut self, id: CommandId, outcome: Result<Completion, Failure>) {
        if self.closing.is_some_and(|(quit, _)| quit == id) {
            // Our own QUIT: answered, refused or cut off, the session is over.
            return self.close_now("QUIT answered or the socket closed");
        }
        #[cfg(feature = "tracing")]
        match &outcome {
            Ok(_) => tracing::trace!(?id, "command answered"),
            Err(failure) => tracing::debug!(?id, error = %super::Traced(failure), "command failed"),
        }
        self.events.push_back(SessionEvent::Completed(id, outcome));
    }

    /// Starts the next queued command when none is in flight.
    fn start_next(&mut self) {
        while self.in_flight.is_none() && !self.closed {
            let Some(next) = self.queue.pop_front() else {
                return;
            };
            let (id, operation) = (next.id, next.operation);
            trace_command(&next.command);
            match self.socket.start(next.command) {
                Ok(()) => {
                    self.in_flight = Some(InFlight {
                        id,
                        operation,
                        deadline: next.deadline,
                        abandoned: false,
                    });
                    // Commands without an answer (DATAGRAM SEND) complete at once.
                    self.pump();
                }
                Err(e) => self.complete(id, Err(Failure::protocol(operation.name(), e))),
            }
        }
    }

    /// Turns the socket machine's events into the session's.
    fn pump(&mut self) {
        while let Some(event) = self.socket.poll_event() {
            match event {
                ControlEvent::Completed(outcome) => {
                    let Some(flight) = self.in_flight.take() else {
                        continue;
                    };
                    if flight.abandoned {
                        continue;
                    }
                    let outcome = outcome.map_err(|e| match e {
                        // The bridge closed the socket: the session is gone with it.
                        Error::Eof { .. } => Failure::SessionClosed,
                        e => Failure::protocol(flight.operation.name(), e),
                    });
                    self.complete(flight.id, outcome);
                }
                ControlEvent::Datagram(d) => self.events.push_back(SessionEvent::Datagram(d)),
                ControlEvent::BridgeError(e) => {
                    trace_event!(warn, error = %e, "the SAM bridge reported an error on the session's control socket");
                    self.bridge_error = Some(e);
                }
                ControlEvent::Closed => self.close_now("the bridge closed the control socket"),
            }
        }
    }

    /// Ends the session now; `why`, with who asked to close, goes to the traces.
    #[cfg_attr(not(feature = "tracing"), allow(unused_variables))]
    fn close_now(&mut self, why: &'static str) {
        if self.closed {
            return;
        }
        trace_event!(debug, why, asked = self.close_asked, "session closed");
        self.closed = true;
        self.lingering = None;
        let quit = self.closing.take().map(|(id, _)| id);
        if let Some(flight) = self.in_flight.take() {
            if !flight.abandoned && Some(flight.id) != quit {
                let failure = Failure::SessionClosed;
                self.events
                    .push_back(SessionEvent::Completed(flight.id, Err(failure)));
            }
        }
        for q in core::mem::take(&mut self.queue) {
            if Some(q.id) == quit {
                continue;
            }
            let failure = Err(Failure::SessionClosed);
            self.events
                .push_back(SessionEvent::Completed(q.id, failure));
        }
        self.events.push_back(SessionEvent::Closed);
    }
}

/// A command going out on the control socket, as traces show it (`PING` and `QUIT` at debug,
/// a lookup with its name; never a datagram's payload or an option value).
#[cfg_attr(not(feature = "tracing"), allow(unused_variables))]
fn trace_command(command: &ControlCommand<'_>) {
    #[cfg(feature = "tracing")]
    match command {
        ControlCommand::Ping(_) => tracing::debug!("PING sent"),
        ControlCommand::Quit => tracing::debug!("QUIT sent"),
        ControlCommand::Lookup(lookup) => {
            tracing::debug!(name = %lookup.name, "NAMING LOOKUP sent")
        }
        other => tracing::debug!(operation = operation_of(other).name(), "command sent"),
    }
}

fn operation_of(command: &ControlCommand<'_>) -> Operation {
    match command {
        ControlCommand::Lookup(_) => Operation::Lookup,
        ControlCommand::Add(_) => Operation::SessionAdd,
        ControlCommand::Remove(_) => Operation::SessionRemove,
        ControlCommand::Ping(_) => Operation::Ping,
        ControlCommand::Quit => Operation::Quit,
        ControlCommand::DatagramSend(..) | ControlCommand::RawSend(..) => Operation::DatagramSend,
    }
}

impl Completion {
    /// The destination of a finished `NAMING LOOKUP`.
    pub fn into_destination(self) -> Result<Destination, Failure> {
        match self {
            Completion::Lookup(destination) => Ok(destination),
            Completion::LookupAnswer(answer) => Ok(answer.destination),
            _ => Err(Failure::InvalidInput(
                "the control socket finished another command".to_owned(),
            )),
        }
    }

    /// The answer of a finished `NAMING LOOKUP ... OPTIONS=true`.
    pub fn into_lookup_answer(self) -> Result<crate::reply::LookupAnswer, Failure> {
        match self {
            Completion::LookupAnswer(answer) => Ok(answer),
            _ => Err(Failure::InvalidInput(
                "the control socket finished another command".to_owned(),
            )),
        }
    }
}
