//! The task that owns a session's control socket.
//!
//! The socket that created a session must stay open (closing it ends the session) and must be
//! read all the time (bridges may probe with `PING` and deliver datagrams on it). One spawned
//! task owns it and runs sam-proto's [`ControlSocket`] machine: it answers probes, hands
//! datagrams to a channel, and runs the commands that arrive on an mpsc channel one at a time,
//! answering each through a oneshot. A command whose caller has gone away is still run to its
//! end and its answer dropped, so the socket is never left in the middle of an exchange.

use std::sync::Arc;

use sam_proto::control::{
    Completion, ControlCommand, ControlEvent, ControlSocket, ReceivedDatagram,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot, watch, Mutex, Notify};

use crate::driver::Opened;
use crate::{Error, Result};

/// Queued commands waiting for the one in flight.
const COMMAND_QUEUE: usize = 32;
/// Datagrams delivered on the control socket and not yet read.
const DATAGRAM_QUEUE: usize = 256;
/// How much to read at once.
const READ_CHUNK: usize = 16 * 1024;

/// One command for the control task.
pub(crate) struct ControlRequest {
    pub(crate) operation: &'static str,
    pub(crate) command: ControlCommand<'static>,
    pub(crate) reply: oneshot::Sender<Result<Completion>>,
}

/// What the session keeps to talk to its control task.
pub(crate) struct ControlHandle {
    pub(crate) commands: mpsc::Sender<ControlRequest>,
    /// `true` once the task has ended (the socket is closed).
    pub(crate) closed: watch::Receiver<bool>,
    /// Asks the task to close the socket now.
    pub(crate) shutdown: Arc<Notify>,
    /// Datagrams the bridge delivered on the control socket.
    pub(crate) datagrams: Mutex<mpsc::Receiver<ReceivedDatagram>>,
}

impl ControlHandle {
    pub(crate) fn is_closed(&self) -> bool {
        *self.closed.borrow()
    }
}

/// Starts the control task for a socket that has just created a session.
pub(crate) fn spawn(opened: Opened) -> ControlHandle {
    let (commands_tx, commands_rx) = mpsc::channel(COMMAND_QUEUE);
    let (closed_tx, closed_rx) = watch::channel(false);
    let (datagrams_tx, datagrams_rx) = mpsc::channel(DATAGRAM_QUEUE);
    let shutdown = Arc::new(Notify::new());
    let task = Task {
        machine: ControlSocket::new(opened.version),
        commands: commands_rx,
        shutdown: shutdown.clone(),
        datagrams: datagrams_tx,
        pending: None,
    };
    tokio::spawn(task.run(opened.socket, opened.buf, closed_tx));
    ControlHandle {
        commands: commands_tx,
        closed: closed_rx,
        shutdown,
        datagrams: Mutex::new(datagrams_rx),
    }
}

struct Task {
    machine: ControlSocket,
    commands: mpsc::Receiver<ControlRequest>,
    shutdown: Arc<Notify>,
    datagrams: mpsc::Sender<ReceivedDatagram>,
    /// The caller waiting for the command in flight, and that command's name.
    pending: Option<(&'static str, oneshot::Sender<Result<Completion>>)>,
}

impl Task {
    async fn run(mut self, mut socket: TcpStream, mut input: Vec<u8>, closed: watch::Sender<bool>) {
        let (mut reader, mut writer) = socket.split();
        let mut output: Vec<u8> = Vec::new();
        let mut written = 0;
        // Bytes read together with the SESSION STATUS line belong to this socket's machine.
        let mut alive = self.feed(&input);
        input.clear();
        while alive {
            // Drain the machine: what to write, what happened.
            while let Some(bytes) = self.machine.poll_transmit() {
                output.extend_from_slice(bytes);
            }
            if !self.handle_events() {
                break;
            }
            let writing = written < output.len();
            let ready = self.pending.is_none() && !self.machine.is_busy();
            input.reserve(READ_CHUNK);
            tokio::select! {
                biased;
                _ = self.shutdown.notified() => alive = false,
                read = reader.read_buf(&mut input) => match read {
                    Ok(0) => self.machine.eof(),
                    Ok(_) => {
                        alive = self.feed(&input);
                        input.clear();
                    }
                    Err(_) => alive = false,
                },
                wrote = writer.write(&output[written..]), if writing => match wrote {
                    Ok(0) | Err(_) => alive = false,
                    Ok(n) => {
                        written += n;
                        if written >= output.len() {
                            output.clear();
                            written = 0;
                        }
                    }
                },
                request = self.commands.recv(), if ready => match request {
                    Some(request) => self.start(request),
                    // Every session handle is gone.
                    None => alive = false,
                },
            }
        }
        // Closed from now on: later calls fail fast, queued ones are answered here.
        let _ = closed.send(true);
        self.commands.close();
        if let Some((_, reply)) = self.pending.take() {
            let _ = reply.send(Err(Error::SessionClosed));
        }
        while let Ok(request) = self.commands.try_recv() {
            let _ = request.reply.send(Err(Error::SessionClosed));
        }
        // Dropping the socket closes it, which ends the session on the bridge.
    }

    /// Feeds bridge bytes to the machine; `false` when the socket can no longer be trusted.
    fn feed(&mut self, input: &[u8]) -> bool {
        if input.is_empty() {
            return true;
        }
        match self.machine.feed(input) {
            Ok(_) => true,
            Err(e) => {
                if let Some((operation, reply)) = self.pending.take() {
                    let _ = reply.send(Err(Error::proto(operation, e)));
                }
                false
            }
        }
    }

    /// Dispatches the machine's events; `false` once the bridge closed the socket.
    fn handle_events(&mut self) -> bool {
        while let Some(event) = self.machine.poll_event() {
            match event {
                ControlEvent::Completed(outcome) => {
                    if let Some((operation, reply)) = self.pending.take() {
                        let outcome = outcome.map_err(|e| match e {
                            sam_proto::Error::Eof { .. } => Error::SessionClosed,
                            e => Error::proto(operation, e),
                        });
                        // The caller may have given up (timeout, dropped future): then the
                        // answer is simply discarded.
                        let _ = reply.send(outcome);
                    }
                }
                // Full queue: nobody reads datagrams, drop rather than stall the socket.
                ControlEvent::Datagram(d) => {
                    let _ = self.datagrams.try_send(d);
                }
                ControlEvent::Closed => return false,
                // A bridge-side error report (it usually closes next) and future events.
                _ => {}
            }
        }
        true
    }

    fn start(&mut self, request: ControlRequest) {
        if request.reply.is_closed() {
            // Abandoned before it was sent: nothing to finish.
            return;
        }
        match self.machine.start(request.command) {
            Ok(()) => self.pending = Some((request.operation, request.reply)),
            Err(e) => {
                let _ = request.reply.send(Err(Error::proto(request.operation, e)));
            }
        }
    }
}
