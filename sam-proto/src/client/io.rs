//! Hidden from the docs: the adapters' plumbing, not a stable API.
//!
//! The I/O loop of the machines that have a socket of their own ([`Drive`]: a
//! [`Call`](crate::session::Call) or a [`SessionSetup`](crate::session::SessionSetup)), written
//! once for every adapter over [`Transport`]: the few socket operations a runtime provides,
//! each with the core's deadline. The sam-blocking adapter runs it with [`block_on`], its
//! operations being blocking calls that are ready when first polled.
//!
//! Also here: [`Waiters`], who waits for which command of a [`SessionCore`], the part of the
//! control-socket loop that is the same whatever the runtime.

use core::future::Future;
use core::pin::pin;
use core::task::{Context, Poll};
use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::string::ToString;
use std::sync::Arc;
use std::task::{Wake, Waker};
use std::vec::Vec;

use super::{ClientError, ClientResult, DatagramCounts};
use crate::control::{Completion, ControlCommand, ReceivedDatagram};
use crate::session::{CallStep, CommandId, Drive, SessionCore, SessionEvent, Time};

/// The socket operations the loop needs from a runtime. Each returns `Ok(None)` when its
/// `deadline` (on the core's clock, [`Transport::now`]) comes first.
#[doc(hidden)]
pub trait Transport: Sized + Send {
    /// The runtime's UDP socket (bound for a datagram session's forwarded datagrams).
    type Udp: Send;
    /// The clock the core runs on, as a time since the adapter's epoch.
    fn now() -> Time;
    /// A TCP connection to `address` (`host:port`).
    fn connect(
        address: &str,
        deadline: Option<Time>,
    ) -> impl Future<Output = io::Result<Option<Self>>> + Send;
    /// Writes all of `bytes`.
    fn write_all(
        &mut self,
        bytes: &[u8],
        deadline: Option<Time>,
    ) -> impl Future<Output = io::Result<Option<()>>> + Send;
    /// Appends what the socket has to `buf`; `Some(0)` is the end of the stream.
    fn read(
        &mut self,
        buf: &mut Vec<u8>,
        deadline: Option<Time>,
    ) -> impl Future<Output = io::Result<Option<usize>>> + Send;
    /// A UDP socket on this connection's local IP, any port, and its address.
    fn bind_udp(&self) -> impl Future<Output = io::Result<(Self::Udp, SocketAddr)>> + Send;
    /// The bridge's address.
    fn peer_addr(&self) -> io::Result<SocketAddr>;
    /// Acknowledges the next segment at once (`TCP_QUICKACK` on Linux) and says whether that
    /// is on; `false` where the system has no such switch. Called before each read when
    /// [`Drive::ack_at_once`].
    fn ack_at_once(&self) -> bool {
        false
    }
}

/// What a finished [`drive`] leaves.
#[derive(Debug)]
#[doc(hidden)]
pub struct Driven<T: Transport, O> {
    /// The socket, at the end of the exchange.
    pub socket: T,
    /// Bytes read past the machine's last line: a stream's first application bytes, or the
    /// control socket's next input after `SESSION STATUS`.
    pub leftover: Vec<u8>,
    /// The UDP socket a datagram session's setup bound.
    pub udp: Option<T::Udp>,
    /// The machine's outcome.
    pub output: O,
}

/// Runs `machine` to its end on a new connection to `address` (or on `socket`, already
/// open). A failed TCP connect is [`ClientError::Unreachable`]; every other failure but I/O
/// is the machine's.
///
/// With the `tracing` feature it runs in a span named after the operation (`session_create`,
/// `stream_connect`, `stream_accept`, `stream_forward`, `naming_lookup`, `dest_generate`,
/// `ping`) with the bridge's address and the request's [`Subject`](crate::exchange::Subject).
#[doc(hidden)]
pub async fn drive<T: Transport, D: Drive>(
    address: &str,
    machine: D,
    socket: Option<T>,
) -> ClientResult<Driven<T, D::Output>> {
    #[cfg(feature = "tracing")]
    let span = drive_span(address, &machine);
    let run = drive_loop(address, machine, socket);
    #[cfg(feature = "tracing")]
    let run = tracing::Instrument::instrument(run, span);
    run.await
}

/// The span of a [`drive`]: what is asked of which bridge, for which session, of whom.
#[cfg(feature = "tracing")]
fn drive_span<D: Drive>(bridge: &str, machine: &D) -> tracing::Span {
    use crate::session::Operation as Op;
    let (operation, subject) = (machine.operation(), machine.subject());
    let target = subject.target.map(Peer);
    macro_rules! span {
        ($name:literal) => {
            tracing::debug_span!(
                $name,
                operation = operation.name(),
                bridge,
                session = subject.session,
                style = subject.style,
                target = target.as_ref().map(tracing::field::display),
            )
        };
    }
    match operation {
        Op::SessionCreate => span!("session_create"),
        Op::StreamConnect => span!("stream_connect"),
        Op::StreamAccept => span!("stream_accept"),
        Op::StreamForward => span!("stream_forward"),
        Op::Lookup => span!("naming_lookup"),
        Op::DestGenerate => span!("dest_generate"),
        Op::Ping => span!("ping"),
        _ => span!("sam_call"),
    }
}

/// A destination as traces show it: a base64 destination as its `.b32.i2p` address (short,
/// and what people search for), a name as it is.
#[cfg(feature = "tracing")]
struct Peer<'a>(&'a str);

#[cfg(feature = "tracing")]
impl core::fmt::Display for Peer<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        if self.0.contains('.') {
            return f.write_str(self.0);
        }
        match crate::keys::Destination::from_base64(self.0) {
            Ok(destination) => write!(f, "{}", destination.b32_address()),
            Err(_) if self.0.len() > 64 => write!(f, "<{} characters>", self.0.len()),
            Err(_) => f.write_str(self.0),
        }
    }
}

async fn drive_loop<T: Transport, D: Drive>(
    address: &str,
    mut machine: D,
    mut socket: Option<T>,
) -> ClientResult<Driven<T, D::Output>> {
    // `stale`: the machine took none of `buf`, so read more before feeding it again.
    let (mut buf, mut udp, mut stale) = (Vec::new(), None, false);
    // One trace of the accept path's choice per exchange, not one per read.
    let mut ack_reported = false;
    loop {
        let deadline = machine.poll_timeout();
        if machine.wants_udp() {
            let (bound, at) = open(&mut socket)?.bind_udp().await?;
            machine.udp_bound(at.ip().to_string(), at.port());
            udp = Some(bound);
            continue;
        }
        let in_time = match machine.poll(T::now()) {
            CallStep::Connect => {
                drop(socket.take()); // a retry's earlier socket, closed first
                (buf, stale) = (Vec::new(), false);
                let connected = T::connect(address, deadline).await;
                #[cfg(feature = "tracing")]
                if let Err(e) = &connected {
                    tracing::debug!(error = %e, "cannot reach the SAM bridge");
                }
                socket = connected.map_err(|e| ClientError::unreachable(address, e))?;
                let loopback = |tcp: &T| tcp.peer_addr().is_ok_and(|at| at.ip().is_loopback());
                socket.as_ref().map(|tcp| machine.connected(loopback(tcp)))
            }
            CallStep::Send(bytes) => open(&mut socket)?.write_all(bytes, deadline).await?,
            CallStep::Recv if !buf.is_empty() && !stale => {
                let used = machine.feed(&buf, T::now());
                buf.drain(..used.min(buf.len()));
                stale = used == 0;
                Some(())
            }
            CallStep::Recv => {
                let tcp = open(&mut socket)?;
                if machine.ack_at_once() {
                    let _quick = tcp.ack_at_once();
                    if !ack_reported {
                        ack_reported = true;
                        trace_event!(
                            debug,
                            quick_ack = _quick,
                            "the reply's segments are acknowledged at once where the system \
                             allows it (TCP_QUICKACK), so the bridge's Nagle does not hold the \
                             peer line for a delayed ACK"
                        );
                    }
                }
                let read = tcp.read(&mut buf, deadline).await?;
                stale &= read.is_none();
                if read == Some(0) {
                    trace_event!(debug, "the SAM bridge closed the socket");
                    machine.eof();
                }
                read.map(drop)
            }
            CallStep::Done => break,
        };
        if in_time.is_none() {
            machine.handle_timeout(T::now());
        }
    }
    let output = machine.finish();
    #[cfg(feature = "tracing")]
    match &output {
        Ok(_) => tracing::debug!("done"),
        Err(failure) => tracing::debug!(error = %crate::session::Traced(failure), "failed"),
    }
    let output = output?;
    let socket = socket.ok_or_else(|| io::Error::from(io::ErrorKind::NotConnected))?;
    let leftover = buf;
    Ok(Driven {
        socket,
        leftover,
        udp,
        output,
    })
}

/// Sets `TCP_QUICKACK` on a TCP socket, for [`Transport::ack_at_once`]; `true` if it is on.
/// Linux leaves quick-ACK mode by itself after a few segments, so it is set again before each
/// read that needs it. A failure costs only the delayed ACK's wait (40 ms), never an error.
#[cfg(any(target_os = "linux", target_os = "android"))]
#[doc(hidden)]
pub fn quick_ack(socket: &impl std::os::fd::AsFd) -> bool {
    socket2::SockRef::from(socket)
        .set_tcp_quickack(true)
        .is_ok()
}

/// Nothing (`false`): this system has no `TCP_QUICKACK`.
#[cfg(not(any(target_os = "linux", target_os = "android")))]
#[doc(hidden)]
pub fn quick_ack<S>(_: &S) -> bool {
    false
}

fn open<T>(socket: &mut Option<T>) -> io::Result<&mut T> {
    socket
        .as_mut()
        .ok_or_else(|| io::ErrorKind::NotConnected.into())
}

/// The core's clock on std's `Instant` (for the adapters that use it): the time since its
/// first reading in this process.
#[doc(hidden)]
pub fn std_now() -> Time {
    std_epoch().elapsed()
}

/// The `Instant` of a core deadline read on [`std_now`]'s clock (`None`: never, or beyond what
/// `Instant` holds).
#[doc(hidden)]
pub fn std_instant(deadline: Option<Time>) -> Option<std::time::Instant> {
    deadline.and_then(|at| std_epoch().checked_add(at))
}

/// The time left until `deadline` on [`std_now`]'s clock; `None` once it has come.
#[doc(hidden)]
pub fn time_left(deadline: Time) -> Option<Time> {
    deadline
        .checked_sub(std_now())
        .filter(|left| !left.is_zero())
}

fn std_epoch() -> std::time::Instant {
    static EPOCH: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
    *EPOCH.get_or_init(std::time::Instant::now)
}

/// Runs `future` on this thread to its end, parking the thread while it is pending (the
/// sam-blocking adapter's executor: its operations are ready when first polled).
#[doc(hidden)]
pub fn block_on<F: Future>(future: F) -> F::Output {
    struct Unpark(std::thread::Thread);
    impl Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut cx = Context::from_waker(&waker);
    let mut future = pin!(future);
    loop {
        match future.as_mut().poll(&mut cx) {
            Poll::Ready(output) => return output,
            Poll::Pending => std::thread::park(),
        }
    }
}

/// Where a control-socket command's answer goes: a runtime's one-shot channel.
#[doc(hidden)]
pub trait Reply {
    /// `true` once the caller has given up (dropped its future): the command is cancelled.
    fn is_gone(&self) -> bool;
    /// Hands the caller its answer.
    fn send(self, answer: ClientResult<Completion>);
}

/// A blocking caller's answer channel: it cannot give up while it waits.
impl Reply for std::sync::mpsc::SyncSender<ClientResult<Completion>> {
    fn is_gone(&self) -> bool {
        false
    }
    fn send(self, answer: ClientResult<Completion>) {
        let _ = self.try_send(answer);
    }
}

/// Who waits for which command of a [`SessionCore`], and where the datagrams it receives go:
/// what a control-socket loop does with the core's events, whatever the runtime.
#[derive(Debug)]
#[doc(hidden)]
pub struct Waiters<R> {
    waiting: HashMap<CommandId, R>,
    counts: Arc<DatagramCounts>,
}

impl<R: Reply> Waiters<R> {
    /// Nobody waits yet; datagrams dropped for a full queue are counted in `counts`.
    pub fn new(counts: Arc<DatagramCounts>) -> Waiters<R> {
        let waiting = HashMap::new();
        Waiters { waiting, counts }
    }

    /// Submits `command` to `core`; `reply` gets its answer (at once if the core refuses it).
    pub fn submit(
        &mut self,
        core: &mut SessionCore,
        command: ControlCommand<'static>,
        reply: R,
        now: Time,
    ) {
        match core.submit(command, now) {
            Ok(id) => drop(self.waiting.insert(id, reply)),
            Err(failure) => reply.send(Err(failure.into())),
        }
    }

    /// Cancels the commands whose callers are gone, then hands out the core's events:
    /// answers to their callers, datagrams to `deliver` (which gives back one it has no room
    /// for: dropped and counted, so that a slow reader never stalls the control socket).
    /// `false` once the session is over.
    pub fn dispatch(
        &mut self,
        core: &mut SessionCore,
        mut deliver: impl FnMut(ReceivedDatagram) -> Result<(), ReceivedDatagram>,
    ) -> bool {
        self.waiting.retain(|id, reply| {
            let gone = reply.is_gone();
            if gone {
                core.cancel(*id);
            }
            !gone
        });
        while let Some(event) = core.poll_event() {
            match event {
                SessionEvent::Completed(id, outcome) => {
                    if let Some(reply) = self.waiting.remove(&id) {
                        reply.send(outcome.map_err(ClientError::from));
                    }
                }
                SessionEvent::Datagram(d) => {
                    if deliver(d).is_err() {
                        self.counts.overflow();
                    }
                }
                SessionEvent::Closed => return false,
            }
        }
        !core.is_closed()
    }
}

/// One input to a session's control loop ([`control_loop`]).
#[derive(Debug)]
#[doc(hidden)]
pub enum ControlInput<R> {
    /// Bytes the bridge sent; empty: the socket is closed (or failed).
    Read(Vec<u8>),
    /// A command from a session handle, and where its answer goes.
    Command(ControlCommand<'static>, R),
    /// A handle asked to close the session ([`SessionCore::close`]).
    Close,
    /// The last handle is gone ([`SessionCore::release`]).
    Release,
    /// The deadline given to [`ControlIo::next`] has come.
    Deadline,
}

/// What a control loop needs from a runtime: the next input, a write, a datagram queue.
#[doc(hidden)]
pub trait ControlIo: Send {
    /// Where a command's answer goes.
    type Reply: Reply + Send;
    /// The clock the core runs on.
    fn now() -> Time;
    /// Waits for the next input, or until `deadline` ([`ControlInput::Deadline`]).
    fn next(
        &mut self,
        deadline: Option<Time>,
    ) -> impl Future<Output = ControlInput<Self::Reply>> + Send;
    /// Writes all of `bytes` to the bridge.
    fn write_all(&mut self, bytes: &[u8]) -> impl Future<Output = io::Result<()>> + Send;
    /// Queues a datagram for the session's readers; gives it back when the queue is full.
    fn deliver(&mut self, datagram: ReceivedDatagram) -> Result<(), ReceivedDatagram>;
    /// The session is over: it says so to the handles (before the last answers go out, so that
    /// a caller told [`ClientError::SessionClosed`] finds the session closed).
    fn closed(&mut self);
}

/// A session's control loop, the same for every runtime: it hands `core` one input at a time
/// (`first` is what was read past `SESSION STATUS`), writes what it transmits and hands out
/// its events, until the session is over. A datagram the queue has no room for is dropped and
/// counted in `counts`, so that a slow reader never stalls the control socket.
///
/// With the `tracing` feature it runs in the session's span (`SessionCore::span`).
#[doc(hidden)]
pub async fn control_loop<I: ControlIo>(
    core: SessionCore,
    io: I,
    first: &[u8],
    counts: Arc<DatagramCounts>,
) {
    #[cfg(feature = "tracing")]
    let span = core.span();
    let run = control_loop_inner(core, io, first, counts);
    #[cfg(feature = "tracing")]
    let run = tracing::Instrument::instrument(run, span);
    run.await
}

async fn control_loop_inner<I: ControlIo>(
    mut core: SessionCore,
    mut io: I,
    first: &[u8],
    counts: Arc<DatagramCounts>,
) {
    let mut waiters = Waiters::new(counts);
    core.feed(first);
    loop {
        let open = waiters.dispatch(&mut core, |d| io.deliver(d));
        while let Some(bytes) = core.poll_transmit() {
            if io.write_all(bytes).await.is_err() {
                core.eof();
            }
        }
        if !open || core.is_closed() {
            io.closed();
            waiters.dispatch(&mut core, |d| io.deliver(d));
            return;
        }
        match io.next(core.poll_timeout()).await {
            ControlInput::Read(bytes) if bytes.is_empty() => core.eof(),
            ControlInput::Read(bytes) => core.feed(&bytes),
            ControlInput::Command(command, reply) => {
                waiters.submit(&mut core, command, reply, I::now())
            }
            ControlInput::Close => core.close(I::now()),
            ControlInput::Release => core.release(I::now()),
            ControlInput::Deadline => core.handle_timeout(I::now()),
        }
    }
}
