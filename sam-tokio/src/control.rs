//! The task that owns a session's control socket: sam-proto's [`control_loop`] over tokio's
//! socket, timer and channels. Every decision (queue, timeouts, cancel, `PING`, `QUIT`, the
//! linger) is the core's.

use std::sync::Arc;

use sam_proto::client::{control_loop, ControlInput, ControlIo, DatagramCounts, DATAGRAM_QUEUE};
use sam_proto::control::{Completion, ControlCommand, ReceivedDatagram};
use sam_proto::session::{SessionCore, Time};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc::error::TrySendError;
use tokio::sync::{mpsc, oneshot, watch, Mutex};

use crate::driver::{instant, now};
use crate::{Error, Result};

/// Where a caller waits for its command's answer.
pub(crate) struct Waiter(oneshot::Sender<Result<Completion>>);

impl sam_proto::client::Reply for Waiter {
    fn is_gone(&self) -> bool {
        self.0.is_closed()
    }
    fn send(self, answer: Result<Completion>) {
        let _ = self.0.send(answer);
    }
}

/// What a session keeps to talk to its control task; dropping it (with the last session
/// handle) releases the session.
pub(crate) struct ControlHandle {
    inputs: mpsc::UnboundedSender<ControlInput<Waiter>>,
    closed: watch::Receiver<bool>,
    /// Datagrams the bridge delivered on the control socket.
    pub(crate) datagrams: Mutex<mpsc::Receiver<ReceivedDatagram>>,
    /// What the session's datagram path dropped.
    pub(crate) counts: Arc<DatagramCounts>,
}

impl ControlHandle {
    /// Starts the task on the socket that created the session (`first`: the bytes read past
    /// `SESSION STATUS`).
    pub(crate) fn spawn(core: SessionCore, socket: TcpStream, first: Vec<u8>) -> ControlHandle {
        let (inputs, inbox) = mpsc::unbounded_channel();
        let (closed_tx, closed) = watch::channel(false);
        let (deliver, datagrams) = mpsc::channel(DATAGRAM_QUEUE);
        let counts = Arc::<DatagramCounts>::default();
        let io = Io {
            socket,
            inbox,
            handles: true,
            deliver,
            closed: closed_tx,
        };
        let task_counts = counts.clone();
        tokio::spawn(async move { control_loop(core, io, &first, task_counts).await });
        let datagrams = Mutex::new(datagrams);
        ControlHandle {
            inputs,
            closed,
            datagrams,
            counts,
        }
    }

    pub(crate) fn is_closed(&self) -> bool {
        *self.closed.borrow()
    }

    /// Runs `command` (its timeout is the core's); dropping the future cancels it.
    pub(crate) async fn command(&self, command: ControlCommand<'static>) -> Result<Completion> {
        let (reply, answer) = oneshot::channel();
        let sent = self
            .inputs
            .send(ControlInput::Command(command, Waiter(reply)));
        sent.map_err(|_| Error::SessionClosed)?;
        answer.await.map_err(|_| Error::SessionClosed)?
    }

    /// Asks the core to close and waits until the socket is.
    pub(crate) async fn close(&self) {
        let _ = self.inputs.send(ControlInput::Close);
        self.closed().await
    }

    /// Waits until the socket is closed.
    pub(crate) async fn closed(&self) {
        // An error means the task is gone, which is closed too.
        let _ = self.closed.clone().wait_for(|closed| *closed).await;
    }
}

/// The task's side of the channels, and the socket.
struct Io {
    socket: TcpStream,
    inbox: mpsc::UnboundedReceiver<ControlInput<Waiter>>,
    /// Some handle is left: the inbox is open.
    handles: bool,
    deliver: mpsc::Sender<ReceivedDatagram>,
    closed: watch::Sender<bool>,
}

impl ControlIo for Io {
    type Reply = Waiter;

    fn now() -> Time {
        now()
    }

    async fn next(&mut self, deadline: Option<Time>) -> ControlInput<Waiter> {
        let at = instant(deadline);
        let timer = tokio::time::sleep_until(at.unwrap_or_else(tokio::time::Instant::now));
        let mut bytes = Vec::with_capacity(16 * 1024);
        tokio::select! {
            read = self.socket.read_buf(&mut bytes) => match read {
                Ok(_) => ControlInput::Read(bytes),
                Err(_) => ControlInput::Read(Vec::new()),
            },
            input = self.inbox.recv(), if self.handles => input.unwrap_or_else(|| {
                self.handles = false; // the last handle is gone
                ControlInput::Release
            }),
            _ = timer, if at.is_some() => ControlInput::Deadline,
        }
    }

    async fn write_all(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.socket.write_all(bytes).await
    }

    fn deliver(&mut self, datagram: ReceivedDatagram) -> std::result::Result<(), ReceivedDatagram> {
        self.deliver.try_send(datagram).map_err(|e| match e {
            TrySendError::Full(d) | TrySendError::Closed(d) => d,
        })
    }

    fn closed(&mut self) {
        let _ = self.closed.send(true);
    }
}
