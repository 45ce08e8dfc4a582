//! A session's control socket: sam-proto's [`SessionCore`] under a mutex. A reader thread
//! feeds it the bridge's bytes (its timer is the read timeout); a caller submits a command
//! and waits on the condition variable for its completion, firing the timer meanwhile.
//! Whoever gave the core an input writes what it transmits and collects its events.

use std::collections::{HashMap, VecDeque};
use std::io::{Read, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};

use sam_proto::client::{DatagramCounts, DATAGRAM_QUEUE};
use sam_proto::control::{Completion, ControlCommand, ReceivedDatagram};
use sam_proto::session::{CommandId, Failure, SessionCore, SessionEvent, SessionInfo};

use crate::driver::{is_timeout, left, now};
use crate::{Result, SamConfig};

/// What a session and its sub-sessions share; the last handle dropped ends the session.
#[derive(Debug)]
pub(crate) struct Control {
    pub(crate) config: Arc<SamConfig>,
    /// The session as created (sub-sessions are added to it).
    pub(crate) created: SessionInfo,
    /// Written under the lock; the reader thread reads a clone.
    pub(crate) socket: TcpStream,
    state: Mutex<State>,
    /// Signalled after every input.
    changed: Condvar,
    /// What the session's datagram path dropped.
    pub(crate) counts: Arc<DatagramCounts>,
}

#[derive(Debug)]
struct State {
    core: SessionCore,
    done: HashMap<CommandId, std::result::Result<Completion, Failure>>,
    /// Datagrams delivered on the control socket, not yet read (at most `DATAGRAM_QUEUE`).
    datagrams: VecDeque<ReceivedDatagram>,
}

impl Control {
    /// Starts the reader thread on the socket that created the session (`first`: the bytes
    /// read past `SESSION STATUS`).
    pub(crate) fn spawn(
        config: Arc<SamConfig>,
        created: SessionInfo,
        socket: TcpStream,
        first: &[u8],
    ) -> Result<Handle> {
        let mut core = SessionCore::new(&config, created.version());
        core.feed(first);
        let reader = socket.try_clone()?;
        // A write blocked this long ends the session: the bridge no longer reads.
        socket.set_write_timeout(Some(config.connect_timeout))?;
        let (done, datagrams) = (HashMap::new(), VecDeque::new());
        let state = Mutex::new(State {
            core,
            done,
            datagrams,
        });
        let changed = Condvar::new();
        let control = Arc::new(Control {
            config,
            created,
            socket,
            state,
            changed,
            counts: Arc::default(),
        });
        let thread = std::thread::Builder::new().name("sam-control".to_owned());
        let shared = control.clone();
        thread.spawn(move || read_loop(&shared, reader))?;
        Ok(Handle(control))
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Writes what the core transmits and collects its events, then wakes the waiters;
    /// `true` once the session is over.
    fn pump(&self, state: &mut State) -> bool {
        while let Some(bytes) = state.core.poll_transmit() {
            if (&self.socket).write_all(bytes).is_err() {
                state.core.eof();
            }
        }
        while let Some(event) = state.core.poll_event() {
            match event {
                SessionEvent::Completed(id, outcome) => drop(state.done.insert(id, outcome)),
                SessionEvent::Datagram(d) if state.datagrams.len() < DATAGRAM_QUEUE => {
                    state.datagrams.push_back(d)
                }
                SessionEvent::Datagram(_) => self.counts.overflow(),
                SessionEvent::Closed => drop(self.socket.shutdown(Shutdown::Both)),
                _ => {}
            }
        }
        self.changed.notify_all();
        state.core.is_closed()
    }

    /// Waits until `done` gives a value, firing the core's timer meanwhile.
    fn wait<T>(
        &self,
        mut state: MutexGuard<'_, State>,
        done: impl Fn(&mut State) -> Option<T>,
    ) -> T {
        loop {
            if let Some(value) = done(&mut state) {
                return value;
            }
            state = match state.core.poll_timeout().map(left) {
                None => self
                    .changed
                    .wait(state)
                    .unwrap_or_else(PoisonError::into_inner),
                Some(Some(left)) => {
                    let waited = self.changed.wait_timeout(state, left);
                    waited.unwrap_or_else(PoisonError::into_inner).0
                }
                Some(None) => {
                    state.core.handle_timeout(now());
                    self.pump(&mut state);
                    state
                }
            };
        }
    }

    /// Runs one command and returns its completion.
    pub(crate) fn run(&self, command: ControlCommand<'static>) -> Result<Completion> {
        let mut state = self.lock();
        let id = state.core.submit(command, now())?;
        self.pump(&mut state);
        Ok(self.wait(state, |state| state.done.remove(&id))?)
    }

    /// Ends the session ([`SessionCore::close`]) and returns once it is over.
    pub(crate) fn close(&self) {
        let mut state = self.lock();
        state.core.close(now());
        self.pump(&mut state);
        self.wait(state, |state| state.core.is_closed().then_some(()));
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.lock().core.is_closed()
    }

    /// The oldest datagram the bridge delivered on the control socket.
    pub(crate) fn pop_datagram(&self) -> Option<ReceivedDatagram> {
        self.lock().datagrams.pop_front()
    }
}

/// What the session's handles share; the last one dropped releases the session
/// ([`SessionCore::release`]): a thread of its own fires the core's timer until it is closed
/// (the reader thread may be blocked in a read without a timeout).
#[derive(Debug)]
pub(crate) struct Handle(Arc<Control>);

impl std::ops::Deref for Handle {
    type Target = Control;
    fn deref(&self) -> &Control {
        &self.0
    }
}

impl Drop for Handle {
    fn drop(&mut self) {
        let mut state = self.0.lock();
        state.core.release(now());
        self.0.pump(&mut state);
        drop(state);
        let control = self.0.clone();
        let timer = std::thread::Builder::new().name("sam-linger".to_owned());
        let _ = timer.spawn(move || loop {
            let mut state = control.lock();
            match state.core.poll_timeout().map(left) {
                None => return,
                Some(Some(left)) => drop(control.changed.wait_timeout(state, left)),
                Some(None) => {
                    state.core.handle_timeout(now());
                    if control.pump(&mut state) {
                        return;
                    }
                }
            }
        });
    }
}

/// Reads the control socket until the session is over.
fn read_loop(control: &Control, mut reader: TcpStream) {
    // `Some(None)`: the timer is due (at first: act on the bytes fed already).
    let (mut buf, mut timer) = (vec![0u8; 16 * 1024], Some(None));
    loop {
        let read =
            match timer {
                Some(None) => Ok(None),
                wait => reader.set_read_timeout(wait.flatten()).and_then(|()| {
                    match reader.read(&mut buf) {
                        Err(e) if is_timeout(&e) => Ok(None),
                        read => read.map(Some),
                    }
                }),
            };
        let mut state = control.lock();
        match read {
            Ok(Some(n @ 1..)) => state.core.feed(buf.get(..n).unwrap_or_default()),
            Ok(None) => state.core.handle_timeout(now()),
            Ok(Some(0)) | Err(_) => state.core.eof(),
        }
        if control.pump(&mut state) {
            return;
        }
        timer = state.core.poll_timeout().map(left);
    }
}
