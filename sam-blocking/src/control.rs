//! A session's control socket: sam-proto's [`SessionCore`] on a thread of its own, which takes
//! one input at a time from a channel (the bridge's bytes from a reader thread, a command, a
//! close, the last handle gone), waiting for the next with the core's deadline as timeout.
//! Every decision (queue, timeouts, `PING`, `QUIT`, the linger) is the core's.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender, SyncSender, TrySendError};
use std::sync::{Arc, Mutex, PoisonError};

use sam_proto::client::{DatagramCounts, Reply, Waiters, DATAGRAM_QUEUE};
use sam_proto::control::{Completion, ControlCommand, ReceivedDatagram};
use sam_proto::session::{SessionCore, SessionInfo};

use crate::driver::{left, now};
use crate::{Error, Result, SamConfig};

enum Input {
    /// What the reader thread read; empty: the end of the stream.
    Read(Vec<u8>),
    Command(ControlCommand<'static>, Waiter),
    /// Close, and drop the sender once the session is over.
    Close(SyncSender<()>),
    /// The last handle is gone ([`SessionCore::release`]).
    Release,
}

/// Where a caller waits for its command's answer.
struct Waiter(SyncSender<Result<Completion>>);

impl Reply for Waiter {
    fn is_gone(&self) -> bool {
        false // a blocking call cannot be abandoned
    }
    fn send(self, answer: Result<Completion>) {
        let _ = self.0.try_send(answer);
    }
}

/// What a session and its sub-sessions share; dropping it releases the session.
#[derive(Debug)]
pub(crate) struct Control {
    pub(crate) config: Arc<SamConfig>,
    /// The session as created (sub-sessions are added to it).
    pub(crate) created: SessionInfo,
    /// Our end of the control socket (where the bridge forwards datagrams to) and the bridge's.
    pub(crate) local: SocketAddr,
    pub(crate) bridge: SocketAddr,
    inputs: Sender<Input>,
    /// Datagrams delivered on the control socket, not yet read (at most `DATAGRAM_QUEUE`).
    datagrams: Mutex<Receiver<ReceivedDatagram>>,
    /// What the session's datagram path dropped.
    pub(crate) counts: Arc<DatagramCounts>,
    closed: Arc<AtomicBool>,
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
        let (inputs, inbox) = mpsc::channel();
        let (deliver, datagrams) = mpsc::sync_channel(DATAGRAM_QUEUE);
        let (counts, closed) = (
            Arc::<DatagramCounts>::default(),
            Arc::<AtomicBool>::default(),
        );
        let reader = (socket.try_clone()?, inputs.clone());
        let thread = |name: &str| std::thread::Builder::new().name(name.to_owned());
        thread("sam-control-reader").spawn(move || read_loop(reader.0, &reader.1))?;
        let (local, bridge) = (socket.local_addr()?, socket.peer_addr()?);
        let mut core = SessionCore::new(&config, created.version());
        core.feed(&first);
        let task = (Waiters::new(counts.clone()), closed.clone());
        thread("sam-control").spawn(move || run(core, &socket, &inbox, &deliver, task))?;
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
        let sent = self.inputs.send(Input::Command(command, Waiter(reply)));
        sent.map_err(|_| Error::SessionClosed)?;
        answer.recv().unwrap_or(Err(Error::SessionClosed))
    }

    /// Ends the session ([`SessionCore::close`]) and returns once it is over.
    pub(crate) fn close(&self) {
        let (done, over) = mpsc::sync_channel(0);
        if self.inputs.send(Input::Close(done)).is_ok() {
            let _ = over.recv();
        }
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    /// The oldest datagram the bridge delivered on the control socket.
    pub(crate) fn pop_datagram(&self) -> Option<ReceivedDatagram> {
        let datagrams = self
            .datagrams
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        datagrams.try_recv().ok()
    }
}

impl Drop for Control {
    fn drop(&mut self) {
        let _ = self.inputs.send(Input::Release);
    }
}

/// The control thread: one input at a time until the session is over.
fn run(
    mut core: SessionCore,
    socket: &TcpStream,
    inbox: &Receiver<Input>,
    deliver: &SyncSender<ReceivedDatagram>,
    (mut waiters, closed): (Waiters<Waiter>, Arc<AtomicBool>),
) {
    let mut closers = Vec::new();
    loop {
        while let Some(bytes) = core.poll_transmit() {
            if (&*socket).write_all(bytes).is_err() {
                core.eof();
            }
        }
        let open = waiters.dispatch(&mut core, |d| {
            deliver.try_send(d).map_err(|e| match e {
                TrySendError::Full(d) | TrySendError::Disconnected(d) => d,
            })
        });
        if !open {
            break;
        }
        let input = match core.poll_timeout().map(left) {
            None => inbox.recv().map_err(|_| RecvTimeoutError::Disconnected),
            Some(Some(left)) => inbox.recv_timeout(left),
            Some(None) => Err(RecvTimeoutError::Timeout),
        };
        match input {
            Ok(Input::Read(bytes)) if !bytes.is_empty() => core.feed(&bytes),
            // The reader is gone: nothing more can be read.
            Ok(Input::Read(_)) | Err(RecvTimeoutError::Disconnected) => core.eof(),
            Ok(Input::Command(command, reply)) => waiters.submit(&mut core, command, reply, now()),
            Ok(Input::Close(done)) => {
                closers.push(done);
                core.close(now());
            }
            Ok(Input::Release) => core.release(now()),
            Err(RecvTimeoutError::Timeout) => core.handle_timeout(now()),
        }
    }
    // Said before the datagram channel closes, so a reader seeing it empty finds the session
    // closed; the shutdown ends the reader thread and the session on the bridge.
    closed.store(true, Ordering::Release);
    let _ = socket.shutdown(Shutdown::Both);
    drop(closers);
}

/// The reader thread: the bridge's bytes to the control thread, until either end is gone.
fn read_loop(mut reader: TcpStream, inputs: &Sender<Input>) {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let bytes = match reader.read(&mut buf) {
            Ok(n) => buf.get(..n).unwrap_or_default().to_vec(),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(_) => Vec::new(),
        };
        let end = bytes.is_empty();
        if inputs.send(Input::Read(bytes)).is_err() || end {
            return;
        }
    }
}
