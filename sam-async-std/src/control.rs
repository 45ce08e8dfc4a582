//! The task that owns a session's control socket.
//!
//! The socket that created a session must stay open (closing it ends the session) and must be
//! read all the time (bridges probe with `PING` and may deliver datagrams on it). A task owns
//! it and runs sam-proto's [`ControlSocket`] machine from one poll loop: it writes what the
//! machine wants written (`PONG`s, commands), feeds it what the bridge sends, hands datagrams
//! to a channel, and takes the next command from a channel only when the machine is idle. A
//! command whose caller has gone away is still run to its end and its answer dropped, so the
//! socket is never left in the middle of an exchange.
//!
//! Neither async-std nor smol offers a spawn the other can use, so the task runs on a thread of
//! its own under `async_io::block_on`: the socket belongs to async-io's reactor, which both
//! runtimes share, and the thread sleeps until the reactor wakes it.

use std::pin::Pin;
use std::task::{Context, Poll};

use async_channel::{Receiver, Sender};
use async_net::TcpStream;
use futures_lite::io::{AsyncRead, AsyncWrite};
use futures_lite::{future, StreamExt};
use sam_proto::control::{
    Completion, ControlCommand, ControlEvent, ControlSocket, ReceivedDatagram,
};

use crate::driver::Opened;
use crate::{Error, Result};

/// Queued commands waiting for the one in flight.
const COMMAND_QUEUE: usize = 32;
/// Datagrams delivered on the control socket and not yet read.
const DATAGRAM_QUEUE: usize = 256;
/// How much to read at once.
const READ_CHUNK: usize = 16 * 1024;
/// Rounds of ready I/O before the task lets other wakers in.
const BUDGET: usize = 64;

/// One command for the control task, with the channel its answer goes to.
pub(crate) struct ControlRequest {
    pub(crate) operation: &'static str,
    pub(crate) command: ControlCommand<'static>,
    pub(crate) reply: Sender<Result<Completion>>,
}

/// What a session keeps to talk to its control task.
pub(crate) struct Control {
    pub(crate) commands: Sender<ControlRequest>,
    /// Datagrams the bridge delivered on the control socket; closed when the task ends.
    pub(crate) datagrams: Receiver<ReceivedDatagram>,
    /// Never carries anything: it closes (its sender is dropped) once the socket is closed.
    ended: Receiver<()>,
    /// Closing it (or dropping the last session handle) asks the task to close the socket.
    shutdown: Sender<()>,
}

impl Control {
    pub(crate) fn is_closed(&self) -> bool {
        self.ended.is_closed()
    }

    /// Closes the socket, even mid-command, and returns once it is closed.
    pub(crate) async fn close(&self) {
        self.shutdown.close();
        let _ = self.ended.recv().await;
    }
}

/// Starts the control task for a socket that has just created a session.
pub(crate) fn spawn(opened: Opened) -> Result<Control> {
    let (commands, command_rx) = async_channel::bounded(COMMAND_QUEUE);
    let (datagram_tx, datagrams) = async_channel::bounded(DATAGRAM_QUEUE);
    let (ended_tx, ended) = async_channel::bounded(1);
    let (shutdown, shutdown_rx) = async_channel::bounded(1);
    let mut task = Task {
        socket: opened.socket,
        machine: ControlSocket::new(opened.version),
        commands: Box::pin(command_rx),
        shutdown: Box::pin(shutdown_rx),
        datagrams: datagram_tx,
        ended: ended_tx,
        pending: None,
        out: Vec::new(),
    };
    std::thread::Builder::new()
        .name("sam-control".to_owned())
        .spawn(move || {
            // Bytes read together with the SESSION STATUS line belong to this machine.
            if task.feed(&opened.buf) {
                let mut chunk = vec![0u8; READ_CHUNK];
                async_io::block_on(future::poll_fn(|cx| task.poll(cx, &mut chunk)));
            }
            task.end();
        })?;
    Ok(Control {
        commands,
        datagrams,
        ended,
        shutdown,
    })
}

struct Task {
    socket: TcpStream,
    machine: ControlSocket,
    /// Pinned: a receiver polled as a `Stream` keeps its listener in place.
    commands: Pin<Box<Receiver<ControlRequest>>>,
    shutdown: Pin<Box<Receiver<()>>>,
    datagrams: Sender<ReceivedDatagram>,
    ended: Sender<()>,
    /// The caller waiting for the command in flight, and that command's name.
    pending: Option<(&'static str, Sender<Result<Completion>>)>,
    /// Bytes the machine wants written and the socket has not taken yet.
    out: Vec<u8>,
}

impl Task {
    /// One turn of the loop: `Ready` once the socket is done with (closed by the bridge,
    /// failed, or no longer wanted).
    fn poll(&mut self, cx: &mut Context<'_>, chunk: &mut [u8]) -> Poll<()> {
        for _ in 0..BUDGET {
            while let Some(bytes) = self.machine.poll_transmit() {
                self.out.extend_from_slice(bytes);
            }
            if !self.dispatch() || self.shutdown.as_mut().poll_next(cx).is_ready() {
                return Poll::Ready(());
            }
            let mut progress = false;
            if !self.out.is_empty() {
                match Pin::new(&mut self.socket).poll_write(cx, &self.out) {
                    Poll::Ready(Ok(n)) if n > 0 => {
                        self.out.drain(..n.min(self.out.len()));
                        progress = true;
                    }
                    Poll::Ready(_) => return Poll::Ready(()),
                    Poll::Pending => {}
                }
            }
            match Pin::new(&mut self.socket).poll_read(cx, chunk) {
                // EOF: the machine reports `Closed`, which ends the loop at the next turn.
                Poll::Ready(Ok(0)) => {
                    self.machine.eof();
                    progress = true;
                }
                Poll::Ready(Ok(n)) if self.feed(chunk.get(..n).unwrap_or_default()) => {
                    progress = true;
                }
                Poll::Ready(_) => return Poll::Ready(()),
                Poll::Pending => {}
            }
            if self.pending.is_none() && !self.machine.is_busy() {
                match self.commands.as_mut().poll_next(cx) {
                    Poll::Ready(Some(request)) => {
                        self.start(request);
                        progress = true;
                    }
                    Poll::Ready(None) => return Poll::Ready(()),
                    Poll::Pending => {}
                }
            }
            if !progress {
                return Poll::Pending;
            }
        }
        // Still busy: yield to other tasks on this reactor, then go on.
        cx.waker().wake_by_ref();
        Poll::Pending
    }

    /// Feeds bridge bytes to the machine; `false` when the socket can no longer be trusted.
    fn feed(&mut self, input: &[u8]) -> bool {
        match self.machine.feed(input) {
            Ok(_) => true,
            Err(e) => {
                self.answer(Err(e));
                false
            }
        }
    }

    /// Dispatches the machine's events; `false` once the bridge has closed the socket.
    fn dispatch(&mut self) -> bool {
        while let Some(event) = self.machine.poll_event() {
            match event {
                ControlEvent::Completed(outcome) => self.answer(outcome),
                // A full queue means nobody reads them: drop rather than stall the socket.
                ControlEvent::Datagram(d) => drop(self.datagrams.try_send(d)),
                ControlEvent::Closed => return false,
                // A bridge-side error report (it usually closes next) and future events.
                _ => {}
            }
        }
        true
    }

    /// Answers the caller of the command in flight, if it still listens.
    fn answer(&mut self, outcome: std::result::Result<Completion, sam_proto::Error>) {
        if let Some((operation, reply)) = self.pending.take() {
            let outcome = outcome.map_err(|e| match e {
                sam_proto::Error::Eof { .. } => Error::SessionClosed,
                e => Error::proto(operation, e),
            });
            let _ = reply.try_send(outcome);
        }
    }

    fn start(&mut self, request: ControlRequest) {
        // A caller that gave up before its command was sent: nothing to finish.
        if !request.reply.is_closed() {
            self.pending = Some((request.operation, request.reply));
            if let Err(e) = self.machine.start(request.command) {
                self.answer(Err(e));
            }
        }
    }

    /// Closes the socket, then tells every waiting and later caller that the session is over.
    fn end(self) {
        let Task {
            socket,
            commands,
            ended,
            pending,
            ..
        } = self;
        drop(socket);
        ended.close();
        commands.close();
        let waiting = std::iter::from_fn(|| commands.try_recv().ok()).map(|r| r.reply);
        for reply in pending.map(|(_, reply)| reply).into_iter().chain(waiting) {
            let _ = reply.try_send(Err(Error::SessionClosed));
        }
    }
}
