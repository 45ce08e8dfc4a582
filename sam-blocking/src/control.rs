//! A session's control socket: sam-proto's [`control_loop`] on a thread of its own, which
//! takes one input at a time from a channel (the bridge's bytes from a reader thread, the
//! handles' commands) with the core's deadline as timeout. Every decision (queue, timeouts,
//! `PING`, `QUIT`, the linger) is the core's.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};

use sam_proto::client::{block_on, control_loop, ControlInput, ControlIo, DatagramCounts};
use sam_proto::client::{time_left, DATAGRAM_QUEUE};
use sam_proto::control::{Completion, ControlCommand, ReceivedDatagram};
use sam_proto::session::{SessionCore, SessionInfo, Time};

use crate::driver::now;
use crate::{Error, Result, SamConfig};

/// Where a caller waits for its command's answer.
type Waiter = SyncSender<Result<Completion>>;

/// Set once the session is over.
type Closed = Arc<(Mutex<bool>, Condvar)>;

/// What a session and its sub-sessions share; dropping it releases the session.
#[derive(Debug)]
pub(crate) struct Control {
    pub(crate) config: Arc<SamConfig>,
    /// The session as created (sub-sessions are added to it).
    pub(crate) created: SessionInfo,
    /// Our end of the control socket (where the bridge forwards datagrams to) and the bridge's.
    pub(crate) local: SocketAddr,
    pub(crate) bridge: SocketAddr,
    inputs: SyncSender<ControlInput<Waiter>>,
    /// Datagrams delivered on the control socket, not yet read (at most `DATAGRAM_QUEUE`).
    datagrams: Mutex<Receiver<ReceivedDatagram>>,
    /// What the session's datagram path dropped.
    pub(crate) counts: Arc<DatagramCounts>,
    closed: Closed,
}

impl Control {
    /// Starts the threads on the socket that created the session (`first`: the bytes read
    /// past `SESSION STATUS`).
    pub(crate) fn spawn(
        config: Arc<SamConfig>,
        created: SessionInfo,
        socket: TcpStream,
        first: Vec<u8>,
    ) -> Result<Control> {
        // A write blocked this long ends the session: the bridge no longer reads.
        socket.set_write_timeout(Some(config.connect_timeout))?;
        let (inputs, inbox) = mpsc::sync_channel(16); // bounded: a fast bridge waits in TCP
        let (deliver, datagrams) = mpsc::sync_channel(DATAGRAM_QUEUE);
        let (counts, closed) = (Arc::<DatagramCounts>::default(), Closed::default());
        let (local, bridge) = (socket.local_addr()?, socket.peer_addr()?);
        let thread = |name: &str| std::thread::Builder::new().name(name.to_owned());
        let reader = (socket.try_clone()?, inputs.clone());
        thread("sam-control-reader").spawn(move || read_loop(reader.0, &reader.1))?;
        let core = SessionCore::for_session(&config, &created);
        let io = Io {
            socket,
            inbox,
            deliver,
            closed: closed.clone(),
        };
        let task_counts = counts.clone();
        let task = move || block_on(control_loop(core, io, &first, task_counts));
        thread("sam-control").spawn(task)?;
        let datagrams = Mutex::new(datagrams);
        Ok(Control {
            config,
            created,
            local,
            bridge,
            inputs,
            datagrams,
            counts,
            closed,
        })
    }

    /// Runs one command and returns its completion.
    pub(crate) fn run(&self, command: ControlCommand<'static>) -> Result<Completion> {
        let (reply, answer) = mpsc::sync_channel(1);
        let sent = self.inputs.send(ControlInput::Command(command, reply));
        sent.map_err(|_| Error::SessionClosed)?;
        answer.recv().unwrap_or(Err(Error::SessionClosed))
    }

    /// Ends the session ([`SessionCore::close`]) and returns once it is over.
    pub(crate) fn close(&self) {
        let _ = self.inputs.send(ControlInput::Close);
        let (closed, changed) = &*self.closed;
        drop(changed.wait_while(lock(closed), |closed| !*closed));
    }

    pub(crate) fn is_closed(&self) -> bool {
        *lock(&self.closed.0)
    }

    /// The oldest datagram the bridge delivered on the control socket.
    pub(crate) fn pop_datagram(&self) -> Option<ReceivedDatagram> {
        lock(&self.datagrams).try_recv().ok()
    }
}

impl Drop for Control {
    fn drop(&mut self) {
        let _ = self.inputs.send(ControlInput::Release);
    }
}

/// The control thread's side of the channels, and the socket.
struct Io {
    socket: TcpStream,
    inbox: Receiver<ControlInput<Waiter>>,
    deliver: SyncSender<ReceivedDatagram>,
    closed: Closed,
}

impl ControlIo for Io {
    type Reply = Waiter;

    fn now() -> Time {
        now()
    }

    async fn next(&mut self, deadline: Option<Time>) -> ControlInput<Waiter> {
        let input = match deadline.map(time_left) {
            None => self
                .inbox
                .recv()
                .map_err(|_| RecvTimeoutError::Disconnected),
            Some(Some(left)) => self.inbox.recv_timeout(left),
            Some(None) => Err(RecvTimeoutError::Timeout),
        };
        match input {
            Ok(input) => input,
            Err(RecvTimeoutError::Timeout) => ControlInput::Deadline,
            // The reader and every handle are gone: nothing more can come.
            Err(RecvTimeoutError::Disconnected) => ControlInput::Read(Vec::new()),
        }
    }

    async fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        (&self.socket).write_all(bytes)
    }

    fn deliver(&mut self, datagram: ReceivedDatagram) -> std::result::Result<(), ReceivedDatagram> {
        self.deliver.try_send(datagram).map_err(|e| match e {
            TrySendError::Full(d) | TrySendError::Disconnected(d) => d,
        })
    }

    fn closed(&mut self) {
        // The shutdown ends the reader thread and the session on the bridge.
        let _ = self.socket.shutdown(Shutdown::Both);
        let (closed, changed) = &*self.closed;
        *lock(closed) = true;
        changed.notify_all();
    }
}

/// A lock that a panicked holder did not spoil (every value under it is always valid).
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The reader thread: the bridge's bytes to the control thread, until either end is gone.
fn read_loop(mut reader: TcpStream, inputs: &SyncSender<ControlInput<Waiter>>) {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let bytes = match reader.read(&mut buf) {
            Ok(n) => buf.get(..n).unwrap_or_default().to_vec(),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(_) => Vec::new(),
        };
        let end = bytes.is_empty();
        if inputs.send(ControlInput::Read(bytes)).is_err() || end {
            return;
        }
    }
}
