//! The task that owns a session's control socket and drives its [`SessionCore`]: it feeds the
//! core what the bridge sends, writes what the core wants written, arms one timer at the
//! core's next deadline and hands it the commands that arrive on a channel. Every decision
//! (queue, timeouts, cancel, `PING`, `QUIT`) is the core's.

use std::sync::Arc;

use sam_proto::client::{DatagramCounts, Waiters, DATAGRAM_QUEUE};
use sam_proto::control::{Completion, ControlCommand, ReceivedDatagram};
use sam_proto::session::SessionCore;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc::error::TrySendError;
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
    let released = Arc::new(Notify::new());
    let task = Task {
        core,
        requests: requests_rx,
        released: released.clone(),
        datagrams: datagrams_tx,
        waiters: Waiters::new(counts.clone()),
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
    waiters: Waiters<Waiter>,
}

/// Where a caller waits for its command's answer.
struct Waiter(oneshot::Sender<Result<Completion>>);

impl sam_proto::client::Reply for Waiter {
    fn is_gone(&self) -> bool {
        self.0.is_closed()
    }
    fn send(self, answer: Result<Completion>) {
        let _ = self.0.send(answer);
    }
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
                    Some(Some((command, reply))) => {
                        self.waiters.submit(&mut self.core, command, Waiter(reply), now())
                    }
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

    /// Hands out what happened, collects what to write; `false` once the session is over.
    fn drain(&mut self, output: &mut Vec<u8>) -> bool {
        let open = self.waiters.dispatch(&mut self.core, |d| {
            self.datagrams.try_send(d).map_err(|e| match e {
                TrySendError::Full(d) | TrySendError::Closed(d) => d,
            })
        });
        while let Some(bytes) = self.core.poll_transmit() {
            output.extend_from_slice(bytes);
        }
        open
    }
}
