//! The task that owns a session's control socket and drives its [`SessionCore`]: it feeds the
//! core what the bridge sends, writes what the core wants written, arms one timer at the
//! core's next deadline and hands it the commands that arrive on a channel. Every decision
//! (queue, timeouts, cancel, `PING`, `QUIT`) is the core's.

use std::collections::HashMap;
use std::sync::Arc;

use sam_proto::client::{DatagramCounts, DATAGRAM_QUEUE};
use sam_proto::control::{Completion, ControlCommand, ReceivedDatagram};
use sam_proto::session::{CommandId, SessionCore, SessionEvent};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot, watch, Mutex, Notify};

use crate::driver::{instant, now};
use crate::{Error, Result};

/// Requests waiting for the task.
const REQUEST_QUEUE: usize = 32;
/// How much to read at once.
const READ_CHUNK: usize = 16 * 1024;

type Reply = oneshot::Sender<Result<Completion>>;

/// A command and where its answer goes; `None`: close the session.
type Request = Option<(ControlCommand<'static>, Reply)>;

/// What a session keeps to talk to its control task.
pub(crate) struct ControlHandle {
    requests: mpsc::Sender<Request>,
    closed: watch::Receiver<bool>,
    /// The last session handle is gone (see [`SessionCore::release`]).
    pub(crate) released: Arc<Notify>,
    /// Datagrams the bridge delivered on the control socket.
    pub(crate) datagrams: Mutex<mpsc::Receiver<ReceivedDatagram>>,
    /// What the session's datagram path dropped.
    pub(crate) counts: Arc<DatagramCounts>,
}

impl ControlHandle {
    pub(crate) fn is_closed(&self) -> bool {
        *self.closed.borrow()
    }

    /// Runs `command` (its timeout is the core's); dropping the future cancels it.
    pub(crate) async fn command(&self, command: ControlCommand<'static>) -> Result<Completion> {
        let (reply, answer) = oneshot::channel();
        let sent = self.requests.send(Some((command, reply))).await;
        sent.map_err(|_| Error::SessionClosed)?;
        answer.await.map_err(|_| Error::SessionClosed)?
    }

    /// Asks the core to close (see [`SessionCore::close`]) and waits until the socket is.
    pub(crate) async fn close(&self) {
        let _ = self.requests.send(None).await;
        // An error means the task is gone, which is closed too.
        let _ = self.closed.clone().wait_for(|closed| *closed).await;
    }
}

/// Starts the task for a socket that has just created a session; `input` is what was read
/// past `SESSION STATUS`.
pub(crate) fn spawn(
    core: SessionCore,
    socket: TcpStream,
    input: Vec<u8>,
    counts: Arc<DatagramCounts>,
) -> ControlHandle {
    let (requests, requests_rx) = mpsc::channel(REQUEST_QUEUE);
    let (closed_tx, closed) = watch::channel(false);
    let (datagrams_tx, datagrams) = mpsc::channel(DATAGRAM_QUEUE);
    let counts_in_task = counts.clone();
    let released = Arc::new(Notify::new());
    let task = Task {
        core,
        requests: requests_rx,
        released: released.clone(),
        datagrams: datagrams_tx,
        counts: counts_in_task,
        waiting: HashMap::new(),
    };
    tokio::spawn(task.run(socket, input, closed_tx));
    let datagrams = Mutex::new(datagrams);
    ControlHandle {
        requests,
        closed,
        released,
        datagrams,
        counts,
    }
}

struct Task {
    core: SessionCore,
    requests: mpsc::Receiver<Request>,
    released: Arc<Notify>,
    datagrams: mpsc::Sender<ReceivedDatagram>,
    counts: Arc<DatagramCounts>,
    waiting: HashMap<CommandId, Reply>,
}

impl Task {
    async fn run(mut self, mut socket: TcpStream, mut input: Vec<u8>, closed: watch::Sender<bool>) {
        let (mut reader, mut writer) = socket.split();
        let mut output: Vec<u8> = Vec::new();
        self.core.feed(&input);
        input.clear();
        let mut handles = true;
        while self.drain(&mut output) {
            let deadline = instant(self.core.poll_timeout());
            let timer =
                tokio::time::sleep_until(deadline.unwrap_or_else(tokio::time::Instant::now));
            input.reserve(READ_CHUNK);
            tokio::select! {
                biased;
                _ = self.released.notified(), if handles => {
                    handles = false;
                    self.core.release(now());
                }
                read = reader.read_buf(&mut input) => match read {
                    Ok(n) if n > 0 => self.core.feed(&input),
                    _ => self.core.eof(),
                },
                wrote = writer.write(&output), if !output.is_empty() => match wrote {
                    Ok(n) if n > 0 => drop(output.drain(..n)),
                    _ => self.core.eof(),
                },
                request = self.requests.recv(), if handles => match request {
                    Some(Some((command, reply))) => match self.core.submit(command, now()) {
                        Ok(id) => drop(self.waiting.insert(id, reply)),
                        Err(failure) => drop(reply.send(Err(failure.into()))),
                    },
                    Some(None) => self.core.close(now()),
                    None => {
                        handles = false;
                        self.core.release(now());
                    }
                },
                _ = timer, if deadline.is_some() => self.core.handle_timeout(now()),
            }
            input.clear();
        }
        // Said before the datagram channel closes (with `self`), so a reader seeing that
        // channel end finds the session closed. Dropping the socket ends the session on the
        // bridge; callers still queued in the request channel see it closed.
        let _ = closed.send(true);
    }

    /// Cancels what nobody waits for, collects what to write, hands out what happened;
    /// `false` once the session is over.
    fn drain(&mut self, output: &mut Vec<u8>) -> bool {
        let core = &mut self.core;
        self.waiting.retain(|id, reply| {
            let gone = reply.is_closed();
            if gone {
                core.cancel(*id);
            }
            !gone
        });
        while let Some(bytes) = self.core.poll_transmit() {
            output.extend_from_slice(bytes);
        }
        while let Some(event) = self.core.poll_event() {
            match event {
                SessionEvent::Completed(id, outcome) => {
                    if let Some(reply) = self.waiting.remove(&id) {
                        let _ = reply.send(outcome.map_err(Error::from));
                    }
                }
                // Nobody reads them fast enough: dropped rather than stalling the socket.
                SessionEvent::Datagram(d) => match self.datagrams.try_send(d) {
                    Ok(()) => {}
                    Err(_) => self.counts.overflow(),
                },
                SessionEvent::Closed => return false,
                _ => {}
            }
        }
        true
    }
}
