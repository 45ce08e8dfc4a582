//! The control socket's task: sam-proto's [`control_loop`] on a thread of its own under
//! `async_io::block_on` (neither async-std nor smol has a spawn the other can use; both share
//! async-io's reactor). Every decision (queue, timeouts, cancel, `PING`, `QUIT`, the linger)
//! is the core's.

use std::sync::Arc;

use async_channel::{Receiver, Sender};
use async_net::TcpStream;
use futures_lite::future::race;
use futures_lite::io::{AsyncReadExt, AsyncWriteExt};
use sam_proto::client::{control_loop, ControlInput, ControlIo, DatagramCounts, DATAGRAM_QUEUE};
use sam_proto::control::{Completion, ControlCommand, ReceivedDatagram};
use sam_proto::session::{SessionCore, Time};

use crate::driver::{now, timer};
use crate::{Error, Result};

/// Where a caller waits for its command's answer.
pub(crate) struct Waiter(Sender<Result<Completion>>);

impl sam_proto::client::Reply for Waiter {
    fn is_gone(&self) -> bool {
        self.0.is_closed()
    }
    fn send(self, answer: Result<Completion>) {
        let _ = self.0.try_send(answer);
    }
}

/// What the session's handles keep of the task; dropping it releases the session.
pub(crate) struct Control {
    inputs: Sender<ControlInput<Waiter>>,
    /// Datagrams the bridge delivered on the control socket (up to `DATAGRAM_QUEUE` unread).
    pub(crate) datagrams: Receiver<ReceivedDatagram>,
    /// What the session's datagram path dropped.
    pub(crate) counts: Arc<DatagramCounts>,
    /// Never carries anything: it closes when the session is over.
    ended: Receiver<()>,
}

impl Control {
    /// Starts the task on the socket that created the session (`first`: the bytes read past
    /// `SESSION STATUS`).
    pub(crate) fn spawn(core: SessionCore, socket: TcpStream, first: Vec<u8>) -> Result<Control> {
        let (inputs, inbox) = async_channel::unbounded();
        let (deliver, datagrams) = async_channel::bounded(DATAGRAM_QUEUE);
        let (ended_tx, ended) = async_channel::bounded(1);
        let counts = Arc::<DatagramCounts>::default();
        let io = Io {
            socket,
            inbox,
            handles: true,
            deliver,
            ended: ended_tx,
        };
        let task_counts = counts.clone();
        let thread = std::thread::Builder::new().name("sam-control".to_owned());
        thread.spawn(move || async_io::block_on(control_loop(core, io, &first, task_counts)))?;
        Ok(Control {
            inputs,
            datagrams,
            counts,
            ended,
        })
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.ended.is_closed()
    }

    /// Runs `command` through the core; dropping the future cancels it there.
    pub(crate) async fn command(&self, command: ControlCommand<'static>) -> Result<Completion> {
        let (reply, answer) = async_channel::bounded(1);
        let sent = self
            .inputs
            .try_send(ControlInput::Command(command, Waiter(reply)));
        sent.map_err(|_| Error::SessionClosed)?;
        answer.recv().await.unwrap_or(Err(Error::SessionClosed))
    }

    /// Asks the core to close the session and waits until it is over.
    pub(crate) async fn close(&self) {
        let _ = self.inputs.try_send(ControlInput::Close);
        self.closed().await
    }

    /// Waits until the session is over.
    pub(crate) async fn closed(&self) {
        let _ = self.ended.recv().await;
    }
}

/// The task's side of the channels, and the socket.
struct Io {
    socket: TcpStream,
    inbox: Receiver<ControlInput<Waiter>>,
    /// Some handle is left: the inbox is open.
    handles: bool,
    deliver: Sender<ReceivedDatagram>,
    ended: Sender<()>,
}

impl ControlIo for Io {
    type Reply = Waiter;

    fn now() -> Time {
        now()
    }

    async fn next(&mut self, deadline: Option<Time>) -> ControlInput<Waiter> {
        let mut bytes = vec![0u8; 16 * 1024];
        let read = async {
            let n = self.socket.read(&mut bytes).await.unwrap_or(0);
            bytes.truncate(n);
            ControlInput::Read(bytes)
        };
        let input = async {
            match self.handles {
                false => futures_lite::future::pending().await,
                true => (self.inbox.recv().await).unwrap_or_else(|_| {
                    self.handles = false; // the last handle is gone
                    ControlInput::Release
                }),
            }
        };
        let expired = async {
            timer(deadline).await;
            ControlInput::Deadline
        };
        race(read, race(input, expired)).await
    }

    async fn write_all(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.socket.write_all(bytes).await
    }

    fn deliver(&mut self, datagram: ReceivedDatagram) -> std::result::Result<(), ReceivedDatagram> {
        self.deliver.try_send(datagram).map_err(|e| e.into_inner())
    }

    fn closed(&mut self) {
        // New commands fail at once; queued ones see their answer channel dropped with `self`.
        self.inbox.close();
        self.ended.close();
    }
}
