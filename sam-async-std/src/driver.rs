//! Moves bytes for the sam-proto machines that own a socket of their own (a `Call` or a
//! `SessionSetup`, as [`Drive`]): one loop, async-net sockets, async-io timers at the core's
//! deadlines.

use std::io;
use std::net::IpAddr;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use async_io::Timer;
use async_net::{TcpStream, UdpSocket};
use futures_lite::io::{AsyncReadExt, AsyncWriteExt};
use futures_lite::FutureExt;
use sam_proto::session::{CallStep, Drive, Time};

use crate::{Error, Result, SamConfig};

/// How much to read at once.
const READ_CHUNK: usize = 8 * 1024;

static EPOCH: OnceLock<Instant> = OnceLock::new();

/// The clock the core runs on: time since this crate first looked at it.
pub(crate) fn now() -> Duration {
    EPOCH.get_or_init(Instant::now).elapsed()
}

/// A timer for a core deadline; `None` (or one past what `Instant` holds) never fires.
pub(crate) fn timer(deadline: Option<Time>) -> Timer {
    let epoch = *EPOCH.get_or_init(Instant::now);
    match deadline.and_then(|d| epoch.checked_add(d)) {
        Some(at) => Timer::at(at),
        None => Timer::never(),
    }
}

/// A UDP socket on `ip`, port 0, and its address as the bridge is told it.
pub(crate) async fn bind_udp(ip: IpAddr) -> Result<(UdpSocket, (String, u16))> {
    let udp = UdpSocket::bind((ip, 0)).await?;
    let at = udp.local_addr()?;
    Ok((udp, (at.ip().to_string(), at.port())))
}

/// The sockets of a machine and the bytes read from the TCP one and not consumed yet (after
/// the machine is done: the stream's first bytes, or the control socket's next input).
#[derive(Default)]
pub(crate) struct Link {
    pub(crate) tcp: Option<TcpStream>,
    pub(crate) buf: Vec<u8>,
    pub(crate) udp: Option<UdpSocket>,
}

impl Link {
    /// The TCP socket; a machine that is done has one.
    pub(crate) fn socket(&mut self) -> io::Result<TcpStream> {
        self.tcp
            .take()
            .ok_or_else(|| io::ErrorKind::NotConnected.into())
    }
}

/// Runs `machine` to its end on `link` (a new socket unless `link.tcp` is open). Only I/O
/// fails here (a failed TCP connect is [`Error::Unreachable`]); the rest is `finish`'s.
pub(crate) async fn run<D: Drive>(
    config: &SamConfig,
    mut machine: D,
    link: &mut Link,
) -> Result<D::Output> {
    loop {
        if machine.wants_udp() {
            let ip = connected(&mut link.tcp)?.local_addr()?.ip();
            let (udp, (host, port)) = bind_udp(ip).await?;
            link.udp = Some(udp);
            machine.udp_bound(host, port);
        }
        let deadline = machine.poll_timeout();
        let io = async {
            match machine.poll(now()) {
                CallStep::Done => return Result::Ok(true),
                CallStep::Connect => {
                    (link.tcp, link.buf) = (None, Vec::new());
                    let tcp = TcpStream::connect(config.address.as_str()).await;
                    link.tcp = Some(tcp.map_err(|e| Error::unreachable(&config.address, e))?);
                    machine.connected();
                }
                CallStep::Send(bytes) => connected(&mut link.tcp)?.write_all(bytes).await?,
                CallStep::Recv => {
                    // Bytes already buffered first; read when the machine took none.
                    let used = match link.buf.is_empty() {
                        true => 0,
                        false => machine.feed(&link.buf, now()),
                    };
                    link.buf.drain(..used.min(link.buf.len()));
                    if used == 0 {
                        let start = link.buf.len();
                        link.buf.resize(start + READ_CHUNK, 0);
                        let n = connected(&mut link.tcp)?
                            .read(&mut link.buf[start..])
                            .await?;
                        link.buf.truncate(start + n);
                        if n == 0 {
                            machine.eof();
                        }
                    }
                }
            }
            Ok(false)
        };
        let expired = async move {
            timer(deadline).await;
            Ok(false)
        };
        if io.or(expired).await? {
            return Ok(machine.finish()?);
        }
        machine.handle_timeout(now());
    }
}

fn connected(tcp: &mut Option<TcpStream>) -> io::Result<&mut TcpStream> {
    tcp.as_mut()
        .ok_or_else(|| io::ErrorKind::NotConnected.into())
}

/// Runs `machine` on a new socket (or on `tcp`, already open): the socket, the bytes read
/// past the answer, and the output.
pub(crate) async fn call<D: Drive>(
    config: &SamConfig,
    machine: D,
    tcp: Option<TcpStream>,
) -> Result<(TcpStream, Vec<u8>, D::Output)> {
    let mut link = Link {
        tcp,
        ..Link::default()
    };
    let output = run(config, machine, &mut link).await?;
    Ok((link.socket()?, link.buf, output))
}
