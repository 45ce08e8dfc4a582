//! The control socket's task: sam-proto's [`SessionCore`] on a thread of its own under
//! `async_io::block_on` (neither async-std nor smol has a spawn the other can use; both
//! share async-io's reactor). Each turn hands the core one input (bytes, a command, a close,
//! the last handle gone, the deadline), writes what it wants written and dispatches its
//! events, until the session is closed.

use std::sync::Arc;

use async_channel::{Receiver, Sender};
use async_net::TcpStream;
use futures_lite::future::race;
use futures_lite::io::{AsyncReadExt, AsyncWriteExt};
use sam_proto::client::{DatagramCounts, Waiters, DATAGRAM_QUEUE};
use sam_proto::control::{Completion, ControlCommand, ReceivedDatagram};
use sam_proto::session::SessionCore;

use crate::driver::{now, timer};
use crate::{Error, Result};

type Reply = Sender<Result<Completion>>;

/// Where a caller waits for its command's answer.
struct Waiter(Reply);

impl sam_proto::client::Reply for Waiter {
    fn is_gone(&self) -> bool {
        self.0.is_closed()
    }
    fn send(self, answer: Result<Completion>) {
        let _ = self.0.try_send(answer);
    }
}

/// `None`: close the session.
type Message = Option<(ControlCommand<'static>, Reply)>;

/// What the session's handles keep of the task; dropping it ends the session.
pub(crate) struct Control {
    messages: Sender<Message>,
    /// Datagrams the bridge delivered on the control socket (up to `DATAGRAM_QUEUE` unread).
    pub(crate) datagrams: Receiver<ReceivedDatagram>,
    /// What the session's datagram path dropped.
    pub(crate) counts: Arc<DatagramCounts>,
    /// Never carries anything: it closes when the task has closed the socket.
    ended: Receiver<()>,
}

impl Control {
    pub(crate) fn is_closed(&self) -> bool {
        self.ended.is_closed()
    }

    /// Runs `command` through the core; dropping the future cancels it there.
    pub(crate) async fn command(&self, command: ControlCommand<'static>) -> Result<Completion> {
        let (reply, answer) = async_channel::bounded(1);
        let sent = self.messages.try_send(Some((command, reply)));
        sent.map_err(|_| Error::SessionClosed)?;
        answer.recv().await.unwrap_or(Err(Error::SessionClosed))
    }

    /// Asks the core to close the session and waits until the socket is closed.
    pub(crate) async fn close(&self) {
        let _ = self.messages.try_send(None);
        let _ = self.ended.recv().await;
    }
}

/// Starts the task for the control socket of a session just created; `input` was read past
/// `SESSION STATUS`.
pub(crate) fn spawn(core: SessionCore, socket: TcpStream, input: Vec<u8>) -> Result<Control> {
    let (messages, inbox) = async_channel::unbounded();
    let (deliver, datagrams) = async_channel::bounded(DATAGRAM_QUEUE);
    let counts = Arc::<DatagramCounts>::default();
    let (ended_tx, ended) = async_channel::bounded(1);
    let waiters = Waiters::new(counts.clone());
    let task = Task {
        core,
        waiters,
        ended_tx,
        deliver,
    };
    std::thread::Builder::new()
        .name("sam-control".to_owned())
        .spawn(move || {
            async_io::block_on(task.run(socket, &inbox, input));
            // Commands sent while the session closed: nobody else will answer them.
            inbox.close();
            while let Ok(Some((_, reply))) = inbox.try_recv() {
                let _ = reply.try_send(Err(Error::SessionClosed));
            }
        })?;
    Ok(Control {
        messages,
        datagrams,
        counts,
        ended,
    })
}

enum Input {
    Read(std::io::Result<usize>),
    Inbox(Option<Message>),
    Deadline,
}

struct Task {
    core: SessionCore,
    waiters: Waiters<Waiter>,
    ended_tx: Sender<()>,
    deliver: Sender<ReceivedDatagram>,
}

impl Task {
    async fn run(mut self, mut socket: TcpStream, inbox: &Receiver<Message>, input: Vec<u8>) {
        let mut chunk = vec![0u8; 16 * 1024];
        self.core.feed(&input);
        let mut handles = true;
        loop {
            let open = self.dispatch();
            while let Some(bytes) = self.core.poll_transmit() {
                if socket.write_all(bytes).await.is_err() {
                    self.core.eof();
                }
            }
            if !open || self.core.is_closed() {
                // Closed before the last answers go out, so a caller told `SessionClosed`
                // sees `is_closed()`; datagrams already delivered stay readable.
                drop(socket);
                self.ended_tx.close();
                self.dispatch();
                return;
            }
            let deadline = self.core.poll_timeout();
            let read = async { Input::Read(socket.read(&mut chunk).await) };
            let message = async {
                match handles {
                    true => Input::Inbox(inbox.recv().await.ok()),
                    false => futures_lite::future::pending().await,
                }
            };
            let expiry = async {
                timer(deadline).await;
                Input::Deadline
            };
            match race(read, race(message, expiry)).await {
                Input::Read(Ok(n)) if n > 0 => self.core.feed(chunk.get(..n).unwrap_or_default()),
                Input::Read(_) => self.core.eof(),
                Input::Inbox(Some(Some((command, reply)))) => {
                    let waiter = Waiter(reply);
                    self.waiters.submit(&mut self.core, command, waiter, now())
                }
                Input::Inbox(Some(None)) => self.core.close(now()),
                // The last handle is gone.
                Input::Inbox(None) => {
                    handles = false;
                    self.core.release(now());
                }
                Input::Deadline => self.core.handle_timeout(now()),
            }
        }
    }

    /// Cancels what nobody waits for, hands out answers and datagrams; `false` once over.
    fn dispatch(&mut self) -> bool {
        let deliver = &self.deliver;
        let into_inner = |e: async_channel::TrySendError<_>| e.into_inner();
        let mut deliver = |d| deliver.try_send(d).map_err(into_inner);
        self.waiters.dispatch(&mut self.core, &mut deliver)
    }
}
