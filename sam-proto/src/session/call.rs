//! One command on a socket of its own: connect, `HELLO`, the command, its answer.

use core::time::Duration;

use super::{deadline, Failure, Operation, Time};
use crate::client::SamConfig;
use crate::command::Hello;
use crate::exchange::{Exchange, ForwardedPeer, Request, Step, Subject};
use crate::message::Message;
use crate::types::Version;

/// What the driver of a [`Call`] must do next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallStep<'a> {
    /// Open a TCP connection to the bridge (dropping any earlier socket and its unread
    /// bytes), then call [`Call::connected`] (saying whether the bridge is on this host). If that fails, the call fails with the
    /// driver's connect error.
    Connect,
    /// Write all of these bytes, then poll again.
    Send(&'a [u8]),
    /// Read (until [`Call::poll_timeout`]) and hand the bytes to [`Call::feed`], or call
    /// [`Call::eof`] on a 0-byte read. Feed bytes already buffered before reading more, and
    /// poll again after every `feed`: a call that has just finished (or failed) may have taken
    /// nothing.
    Recv,
    /// Finished: call [`Call::finish`]. Bytes not consumed by `feed` belong to the
    /// application (the first bytes of a stream).
    Done,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Connect,
    Hello,
    Command,
}

/// One command and its answer on a socket of its own, from the TCP connect on, with its
/// timeouts (see the [module docs](super) for which applies when).
pub struct Call<R: Request> {
    operation: Operation,
    exchange: Exchange<R>,
    phase: Phase,
    connect_timeout: Duration,
    command_timeout: Option<Duration>,
    deadline: Option<Time>,
    failure: Option<Failure>,
}

impl<R: Request> Call<R> {
    /// A call of `operation` sending `request` on a new socket to the bridge of `config`,
    /// started at `now`. A request or credentials that cannot be written are refused here,
    /// before any socket opens.
    pub fn new(
        config: &SamConfig,
        operation: Operation,
        request: R,
        now: Time,
    ) -> Result<Call<R>, Failure> {
        let exchange = Exchange::new(request)
            .map_err(|e| Failure::protocol(operation.name(), e))?
            .with_hello(config.hello())
            .map_err(|e| Failure::protocol(Hello::KIND, e))?;
        Ok(Call {
            operation,
            exchange,
            phase: Phase::Connect,
            connect_timeout: config.connect_timeout,
            command_timeout: operation.timeout(config),
            deadline: deadline(now, Some(config.connect_timeout)),
            failure: None,
        })
    }

    /// Replaces the command's timeout (`None`: wait for ever), e.g. an accept with a limit.
    pub fn with_timeout(mut self, timeout: Option<Duration>) -> Call<R> {
        self.command_timeout = timeout;
        self
    }

    /// The operation.
    pub fn operation(&self) -> Operation {
        self.operation
    }

    /// What traces show about the request (see [`Request::subject`]).
    pub fn subject(&self) -> Subject<'_> {
        self.exchange.request().subject()
    }

    /// The next thing to do.
    pub fn poll(&mut self) -> CallStep<'_> {
        if self.failure.is_some() {
            return CallStep::Done;
        }
        if self.phase == Phase::Connect {
            return CallStep::Connect;
        }
        match self.exchange.poll() {
            Step::Send(bytes) => CallStep::Send(bytes),
            Step::Recv => CallStep::Recv,
            Step::Done => CallStep::Done,
        }
    }

    /// The TCP connection is open: `HELLO` comes next. `bridge_is_loopback`: the bridge's
    /// address is on this host; if not, a warning is logged once per process (SAM is clear
    /// text: `SESSION CREATE` and `DEST GENERATE` carry private keys, and everything else can
    /// be read or changed on the path). Nothing is refused: routers in containers are common.
    pub fn connected(&mut self, bridge_is_loopback: bool) {
        if !bridge_is_loopback {
            warn_remote_bridge();
        }
        if self.phase == Phase::Connect {
            trace_event!(trace, bridge_is_loopback, "TCP connection open, HELLO next");
            self.phase = Phase::Hello;
        }
    }

    /// `true` once [`Call::connected`] was called.
    pub fn is_connected(&self) -> bool {
        self.phase != Phase::Connect
    }

    /// Hands bytes read from the socket to the call at `now`; returns how many it took (the
    /// rest stays in the driver's buffer: more protocol, or application data once done).
    pub fn feed(&mut self, input: &[u8], now: Time) -> usize {
        if self.failure.is_some() || self.phase == Phase::Connect {
            return 0;
        }
        let result = self.exchange.feed(input);
        let name = self.stage_name();
        self.advance(now);
        match result {
            Ok(used) => used,
            Err(e) => {
                self.failure = Some(Failure::protocol(name, e));
                0
            }
        }
    }

    /// The bridge closed the socket.
    pub fn eof(&mut self) {
        if self.failure.is_some() {
            return;
        }
        let name = self.stage_name();
        if let Err(e) = self.exchange.eof() {
            self.failure = Some(Failure::protocol(name, e));
        }
    }

    /// When to call [`Call::handle_timeout`] if nothing happens first.
    pub fn poll_timeout(&self) -> Option<Time> {
        match self.failure {
            Some(_) => None,
            None => self.deadline,
        }
    }

    /// Fails the call with [`Failure::Timeout`] if its deadline has passed at `now`.
    pub fn handle_timeout(&mut self, now: Time) {
        if self.failure.is_some() || self.deadline.is_none_or(|d| now < d) {
            return;
        }
        let failure = match self.phase {
            Phase::Connect => Failure::Timeout {
                operation: "TCP connect to the SAM bridge",
                after: self.connect_timeout,
            },
            Phase::Hello => Failure::Timeout {
                operation: Hello::KIND,
                after: self.connect_timeout,
            },
            Phase::Command => Failure::Timeout {
                operation: self.operation.name(),
                after: self.command_timeout.unwrap_or(Duration::MAX),
            },
        };
        #[cfg(feature = "tracing")]
        if let Failure::Timeout { operation, after } = &failure {
            trace_event!(
                warn,
                operation,
                ?after,
                "no answer from the SAM bridge in time"
            );
        }
        self.failure = Some(failure);
    }

    /// How the call failed, once it has (before [`Call::finish`]).
    pub fn failure(&self) -> Option<&Failure> {
        self.failure.as_ref()
    }

    /// The version the bridge agreed to (the lowest acceptable one until `HELLO` is over).
    pub fn version(&self) -> Version {
        self.exchange.version()
    }

    /// The request, to fill in what the driver learns before it is encoded.
    pub fn request_mut(&mut self) -> &mut R {
        self.exchange.request_mut()
    }

    /// The outcome, once [`Call::poll`] said [`CallStep::Done`].
    pub fn finish(self) -> Result<R::Output, Failure> {
        if let Some(failure) = self.failure {
            return Err(failure);
        }
        let name = self.operation.name();
        self.exchange
            .finish()
            .map_err(|e| Failure::protocol(name, e))
    }

    /// What an error now would be about.
    fn stage_name(&self) -> &'static str {
        if self.exchange.awaiting_hello() {
            Hello::KIND
        } else {
            self.operation.name()
        }
    }

    /// After `HELLO`, the command's own timeout runs.
    fn advance(&mut self, now: Time) {
        if self.phase == Phase::Hello && !self.exchange.awaiting_hello() {
            trace_event!(trace, version = %self.exchange.version(), "HELLO answered");
            self.phase = Phase::Command;
            self.deadline = deadline(now, self.command_timeout);
        }
    }
}

impl<R: Request> core::fmt::Debug for Call<R> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Call")
            .field("operation", &self.operation)
            .field("phase", &self.phase)
            .field("deadline", &self.deadline)
            .field("failure", &self.failure)
            .finish()
    }
}

impl Call<ForwardedPeer> {
    /// Reads the peer line the bridge writes first on a connection it forwarded to us
    /// (already connected, no command, no timeout).
    pub fn forwarded() -> Call<ForwardedPeer> {
        Call {
            operation: Operation::StreamForward,
            exchange: Exchange::forwarded(),
            phase: Phase::Command,
            connect_timeout: Duration::ZERO,
            command_timeout: None,
            deadline: None,
            failure: None,
        }
    }
}

fn warn_remote_bridge() {
    static WARNED: core::sync::atomic::AtomicBool = core::sync::atomic::AtomicBool::new(false);
    if !WARNED.swap(true, core::sync::atomic::Ordering::Relaxed) {
        trace_event!(
            warn,
            "the SAM bridge is not on this host: SAM is clear text, so private keys (SESSION \
             CREATE, DEST GENERATE) and all traffic to it can be read on the way"
        );
    }
}
