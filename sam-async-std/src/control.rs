//! The task that owns a session's control socket and drives sam-proto's [`SessionCore`].
//!
//! Neither async-std nor smol offers a spawn the other can use, so the task runs on a thread
//! of its own under `async_io::block_on`: the socket and the timer belong to async-io's
//! reactor, which both runtimes share. Each turn it hands the core one input (bytes read, a
//! command, a close, the last handle gone, the deadline), writes what the core wants written
//! and dispatches its events, until the core says the session is closed.

use std::collections::HashMap;

use async_channel::{Receiver, Sender};
use async_net::TcpStream;
use futures_lite::future;
use futures_lite::io::{AsyncReadExt, AsyncWriteExt};
use sam_proto::control::{Completion, ControlCommand, ReceivedDatagram};
use sam_proto::session::{CommandId, SessionCore, SessionEvent};

use crate::driver::{now, timer};
use crate::{Error, Result};

/// Datagrams delivered on the control socket and not yet read (more are dropped).
const DATAGRAM_QUEUE: usize = 256;
/// How much to read at once.
const READ_CHUNK: usize = 16 * 1024;

type Reply = Sender<Result<Completion>>;

enum Message {
    Submit(ControlCommand<'static>, Reply),
    Close,
}

/// What the session's handles keep of the task. Dropping the last one ends the session.
pub(crate) struct Control {
    messages: Sender<Message>,
    /// Datagrams the bridge delivered on the control socket; closed when the task ends.
    pub(crate) datagrams: Receiver<ReceivedDatagram>,
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
        let submitted = self.messages.try_send(Message::Submit(command, reply));
        submitted.map_err(|_| Error::SessionClosed)?;
        answer.recv().await.unwrap_or(Err(Error::SessionClosed))
    }

    /// Asks the core to close the session and waits until the socket is closed.
    pub(crate) async fn close(&self) {
        let _ = self.messages.try_send(Message::Close);
        let _ = self.ended.recv().await;
    }
}

/// Starts the task for the control socket of a session the bridge has just created; `input`
/// is what was read past `SESSION STATUS`.
pub(crate) fn spawn(core: SessionCore, socket: TcpStream, input: Vec<u8>) -> Result<Control> {
    let (messages, inbox) = async_channel::unbounded();
    let (deliver, datagrams) = async_channel::bounded(DATAGRAM_QUEUE);
    let (ended_tx, ended) = async_channel::bounded(1);
    let task = Task {
        core,
        replies: HashMap::new(),
        ended: ended_tx,
        deliver,
    };
    std::thread::Builder::new()
        .name("sam-control".to_owned())
        .spawn(move || {
            async_io::block_on(task.run(socket, &inbox, input));
            // Commands sent while the session closed: nobody else will answer them.
            inbox.close();
            while let Ok(message) = inbox.try_recv() {
                if let Message::Submit(_, reply) = message {
                    let _ = reply.try_send(Err(Error::SessionClosed));
                }
            }
        })?;
    Ok(Control {
        messages,
        datagrams,
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
    /// Who waits for each command the core holds.
    replies: HashMap<CommandId, Reply>,
    ended: Sender<()>,
    deliver: Sender<ReceivedDatagram>,
}

impl Task {
    async fn run(mut self, mut socket: TcpStream, inbox: &Receiver<Message>, input: Vec<u8>) {
        let mut chunk = vec![0u8; READ_CHUNK];
        if !input.is_empty() {
            self.core.feed(&input);
        }
        loop {
            // Callers that gave up: a queued command is dropped, an answer will be.
            let core = &mut self.core;
            self.replies.retain(|id, reply| {
                let gone = reply.is_closed();
                if gone {
                    core.cancel(*id);
                }
                !gone
            });
            while let Some(bytes) = self.core.poll_transmit() {
                if socket.write_all(bytes).await.is_err() {
                    self.core.eof();
                }
            }
            if self.core.is_closed() {
                // Closed before anyone hears of it (a caller told `SessionClosed` sees
                // `is_closed()`); datagrams already delivered stay readable.
                drop(socket);
                self.ended.close();
                return self.dispatch();
            }
            self.dispatch();
            let deadline = self.core.poll_timeout();
            let read = async { Input::Read(socket.read(&mut chunk).await) };
            let inbox = async { Input::Inbox(inbox.recv().await.ok()) };
            let expiry = async {
                timer(deadline).await;
                Input::Deadline
            };
            match future::race(read, future::race(inbox, expiry)).await {
                Input::Read(Ok(n)) if n > 0 => self.core.feed(chunk.get(..n).unwrap_or_default()),
                Input::Read(_) => self.core.eof(),
                Input::Inbox(Some(Message::Submit(command, reply))) => {
                    match self.core.submit(command, now()) {
                        Ok(id) => drop(self.replies.insert(id, reply)),
                        Err(failure) => drop(reply.try_send(Err(failure.into()))),
                    }
                }
                Input::Inbox(Some(Message::Close)) => self.core.close(now()),
                // The last handle is gone.
                Input::Inbox(None) => self.core.shutdown(),
                Input::Deadline => self.core.handle_timeout(now()),
            }
        }
    }

    /// Hands out the core's events.
    fn dispatch(&mut self) {
        while let Some(event) = self.core.poll_event() {
            match event {
                SessionEvent::Completed(id, outcome) => {
                    if let Some(reply) = self.replies.remove(&id) {
                        let _ = reply.try_send(outcome.map_err(Error::from));
                    }
                }
                // A full queue means nobody reads them: drop rather than stall the socket.
                SessionEvent::Datagram(d) => drop(self.deliver.try_send(d)),
                _ => {}
            }
        }
    }
}
