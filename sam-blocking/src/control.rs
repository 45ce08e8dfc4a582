//! The thread that owns a session's control socket.
//!
//! The socket that created a session must stay open (closing it ends the session) and must be
//! read all the time (bridges may probe with `PING` and deliver datagrams on it). One thread
//! reads it and feeds sam-proto's [`ControlSocket`] machine, which sits behind a mutex: the
//! thread answers probes, queues datagrams and hands each completion to the caller waiting for
//! it. A caller starts its command on the machine and writes the bytes under the same lock,
//! one command at a time. An answer whose caller has given up is dropped when it arrives, and
//! the next command waits for it, so the socket is never left in the middle of an exchange.

use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::mpsc::{self, RecvTimeoutError, SyncSender};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use sam_proto::control::{
    Completion, ControlCommand, ControlEvent, ControlSocket, ReceivedDatagram,
};

use crate::driver::{Deadline, Opened};
use crate::{Error, Result};

/// Datagrams delivered on the control socket and not yet read.
const DATAGRAM_QUEUE: usize = 256;
/// How much to read at once.
const READ_CHUNK: usize = 16 * 1024;

/// The control socket of a session, shared by its handles and its reader thread.
#[derive(Debug)]
pub(crate) struct Control {
    state: Mutex<State>,
    /// Signalled when a command finishes and when the socket closes.
    changed: Condvar,
    /// For writes (under the `state` lock) and shutdown; the thread reads a clone.
    pub(crate) socket: TcpStream,
}

#[derive(Debug)]
struct State {
    machine: ControlSocket,
    /// The command in flight: its name, and where its caller waits (if it still does).
    pending: Option<(&'static str, SyncSender<Result<Completion>>)>,
    datagrams: VecDeque<ReceivedDatagram>,
    closed: bool,
}

/// Locks, ignoring poisoning (nothing that can panic runs under these locks).
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Control {
    /// Starts the reader thread for a socket that has just created a session. Writes to the
    /// socket give up (and close it) after `write_timeout`.
    pub(crate) fn spawn(opened: Opened, write_timeout: Duration) -> Result<Arc<Control>> {
        let reader = opened.socket.try_clone()?;
        opened.socket.set_write_timeout(Some(write_timeout))?;
        let control = Arc::new(Control {
            state: Mutex::new(State {
                machine: ControlSocket::new(opened.version),
                pending: None,
                datagrams: VecDeque::new(),
                closed: false,
            }),
            changed: Condvar::new(),
            socket: opened.socket,
        });
        let thread = control.clone();
        std::thread::Builder::new()
            .name("sam-control".to_owned())
            .spawn(move || thread.read_loop(reader, opened.buf))?;
        Ok(control)
    }

    fn read_loop(&self, mut reader: TcpStream, first: Vec<u8>) {
        let mut buf = vec![0u8; READ_CHUNK];
        // Bytes read together with the SESSION STATUS line belong to this socket's machine.
        let mut alive = self.step(Some(&first));
        while alive {
            alive = match reader.read(&mut buf) {
                Ok(0) => self.step(None),
                Ok(n) => self.step(buf.get(..n)),
                Err(e) => e.kind() == io::ErrorKind::Interrupted,
            };
        }
        // Closed from now on: later calls fail fast, a waiting caller is answered here.
        self.shutdown();
        let mut state = lock(&self.state);
        state.closed = true;
        if let Some((_, reply)) = state.pending.take() {
            let _ = reply.try_send(Err(Error::SessionClosed));
        }
        self.changed.notify_all();
    }

    /// Hands bridge bytes (`None`: end of file) to the machine, writes what it answers and
    /// dispatches its events; `false` once the socket can no longer be used.
    fn step(&self, input: Option<&[u8]>) -> bool {
        let mut guard = lock(&self.state);
        let state = &mut *guard;
        match input {
            None => state.machine.eof(),
            Some(input) => {
                if let Err(e) = state.machine.feed(input) {
                    if let Some((operation, reply)) = state.pending.take() {
                        let _ = reply.try_send(Err(Error::proto(operation, e)));
                    }
                    return false;
                }
            }
        }
        let mut alive = self.flush(state);
        while let Some(event) = state.machine.poll_event() {
            match event {
                ControlEvent::Completed(outcome) => {
                    if let Some((operation, reply)) = state.pending.take() {
                        let outcome = outcome.map_err(|e| match e {
                            sam_proto::Error::Eof { .. } => Error::SessionClosed,
                            e => Error::proto(operation, e),
                        });
                        // The caller may have given up (timeout): then the answer is dropped.
                        let _ = reply.try_send(outcome);
                    }
                }
                // Full queue: nobody reads datagrams; drop rather than stall the socket.
                ControlEvent::Datagram(d) if state.datagrams.len() < DATAGRAM_QUEUE => {
                    state.datagrams.push_back(d)
                }
                ControlEvent::Closed => alive = false,
                // A bridge-side error report (it usually closes next) and future events.
                _ => {}
            }
        }
        self.changed.notify_all();
        alive
    }

    /// Writes what the machine has to send; `false` when the socket fails.
    fn flush(&self, state: &mut State) -> bool {
        while let Some(bytes) = state.machine.poll_transmit() {
            if (&self.socket).write_all(bytes).is_err() {
                return false;
            }
        }
        true
    }

    /// Runs one command: waits for the command in flight to finish, then starts this one and
    /// waits for its answer, all within `deadline` (which names the operation).
    pub(crate) fn run(
        &self,
        deadline: Deadline,
        command: ControlCommand<'_>,
    ) -> Result<Completion> {
        let (reply, answer) = mpsc::sync_channel(1);
        {
            let mut state = lock(&self.state);
            while state.pending.is_some() && !state.closed {
                let left = deadline.left()?.unwrap_or(Duration::from_secs(1));
                let waited = self.changed.wait_timeout(state, left);
                state = waited.unwrap_or_else(PoisonError::into_inner).0;
            }
            if state.closed {
                return Err(Error::SessionClosed);
            }
            state
                .machine
                .start(command)
                .map_err(|e| Error::proto(deadline.operation, e))?;
            state.pending = Some((deadline.operation, reply));
            if !self.flush(&mut state) {
                // The reader thread sees the socket close and answers SessionClosed.
                self.shutdown();
            }
        }
        let answered = match deadline.left()? {
            Some(left) => answer.recv_timeout(left),
            None => answer.recv().map_err(|_| RecvTimeoutError::Disconnected),
        };
        match answered {
            Ok(outcome) => outcome,
            Err(RecvTimeoutError::Timeout) => Err(deadline.expired()),
            Err(RecvTimeoutError::Disconnected) => Err(Error::SessionClosed),
        }
    }

    /// `true` once the socket is closed (by us or by the bridge).
    pub(crate) fn is_closed(&self) -> bool {
        lock(&self.state).closed
    }

    /// The oldest datagram the bridge delivered on the control socket.
    pub(crate) fn pop_datagram(&self) -> Option<ReceivedDatagram> {
        lock(&self.state).datagrams.pop_front()
    }

    /// Closes the socket, which ends the reader thread (and the session on the bridge).
    pub(crate) fn shutdown(&self) {
        let _ = self.socket.shutdown(Shutdown::Both);
    }

    /// Waits until the reader thread has ended.
    pub(crate) fn wait_closed(&self) {
        let mut state = lock(&self.state);
        while !state.closed {
            state = self
                .changed
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }
}
