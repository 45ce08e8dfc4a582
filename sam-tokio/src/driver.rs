//! The one I/O loop for a socket of its own: runs a sam-proto [`Drive`] (a `Call` or a
//! `SessionSetup`) over a tokio socket, with the core's deadlines.

use std::future::Future;
use std::io;
use std::sync::OnceLock;

use sam_proto::session::{CallStep, Drive, Time};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};
use tokio::time::Instant;

use crate::{Error, Result, SamConfig};

/// How much to read at once while waiting for an answer.
const READ_CHUNK: usize = 8 * 1024;

fn epoch() -> Instant {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

/// The core's clock: time since this adapter's first use.
pub(crate) fn now() -> Time {
    epoch().elapsed()
}

/// The instant of a core deadline (`None`: never).
pub(crate) fn instant(at: Option<Time>) -> Option<Instant> {
    at.and_then(|at| epoch().checked_add(at))
}

/// `fut`, or `None` if `deadline` came first.
async fn until<T>(deadline: Option<Time>, fut: impl Future<Output = T>) -> Option<T> {
    match instant(deadline) {
        Some(at) => tokio::time::timeout_at(at, fut).await.ok(),
        None => Some(fut.await),
    }
}

/// What a finished loop leaves: the socket, the bytes read past the answer (application data
/// on a stream socket, control-socket input after `SESSION CREATE`), the UDP socket a
/// session setup bound, and the output.
pub(crate) struct Done<T> {
    pub(crate) socket: TcpStream,
    pub(crate) leftover: Vec<u8>,
    pub(crate) udp: Option<UdpSocket>,
    pub(crate) output: T,
}

/// Runs `machine` to its end on a new socket to the bridge (or on `socket`, already open).
pub(crate) async fn run<D: Drive>(
    config: &SamConfig,
    mut machine: D,
    mut socket: Option<TcpStream>,
) -> Result<Done<D::Output>> {
    let mut buf = Vec::new();
    let mut udp = None;
    loop {
        let deadline = machine.poll_timeout();
        if machine.wants_udp() {
            let bound = UdpSocket::bind((
                socket
                    .as_ref()
                    .ok_or_else(not_connected)?
                    .local_addr()?
                    .ip(),
                0,
            ))
            .await?;
            let at = bound.local_addr()?;
            machine.udp_bound(at.ip().to_string(), at.port());
            udp = Some(bound);
            continue;
        }
        let waited = match machine.poll(now()) {
            CallStep::Connect => match until(deadline, TcpStream::connect(&config.address)).await {
                Some(Ok(fresh)) => {
                    machine.connected(fresh.peer_addr().is_ok_and(|at| at.ip().is_loopback()));
                    socket = Some(fresh);
                    buf.clear();
                    Some(())
                }
                Some(Err(e)) => return Err(Error::unreachable(&config.address, e)),
                None => None,
            },
            CallStep::Send(bytes) => {
                let tcp = socket.as_mut().ok_or_else(not_connected)?;
                until(deadline, tcp.write_all(bytes)).await.transpose()?
            }
            CallStep::Recv if buf.is_empty() => {
                buf.reserve(READ_CHUNK);
                let tcp = socket.as_mut().ok_or_else(not_connected)?;
                match until(deadline, tcp.read_buf(&mut buf)).await.transpose()? {
                    Some(0) => {
                        machine.eof();
                        Some(())
                    }
                    read => read.map(drop),
                }
            }
            CallStep::Recv => {
                let used = machine.feed(&buf, now());
                buf.drain(..used);
                Some(())
            }
            CallStep::Done => break,
        };
        if waited.is_none() {
            machine.handle_timeout(now());
        }
    }
    let output = machine.finish()?;
    Ok(Done {
        socket: socket.ok_or_else(not_connected)?,
        leftover: buf,
        udp,
        output,
    })
}

fn not_connected() -> Error {
    Error::Io(io::Error::from(io::ErrorKind::NotConnected))
}
