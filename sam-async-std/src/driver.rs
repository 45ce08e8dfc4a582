//! The I/O of the sam-proto machines: one loop for those with a socket of their own (a `Call`
//! or a `SessionSetup`, as [`Drive`]), async-io timers at the core's deadlines.

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

static EPOCH: OnceLock<Instant> = OnceLock::new();

/// The clock the core runs on: time since this crate first looked at it.
pub(crate) fn now() -> Duration {
    EPOCH.get_or_init(Instant::now).elapsed()
}

/// A timer for a core deadline; `None` (or one past what `Instant` holds) never fires.
pub(crate) fn timer(deadline: Option<Time>) -> Timer {
    let at = deadline.and_then(|d| EPOCH.get_or_init(Instant::now).checked_add(d));
    at.map_or_else(Timer::never, Timer::at)
}

/// A UDP socket on `ip`, port 0, and its address as the bridge is told it.
pub(crate) async fn bind_udp(ip: IpAddr) -> Result<(UdpSocket, (String, u16))> {
    let udp = UdpSocket::bind((ip, 0)).await?;
    let at = udp.local_addr()?;
    Ok((udp, (at.ip().to_string(), at.port())))
}

/// What a finished machine leaves: its socket, the bytes read past its last line (a stream's
/// first bytes, or the control socket's next input) and the UDP socket it had bound.
pub(crate) type Done<T> = (TcpStream, Vec<u8>, Option<UdpSocket>, T);

/// Runs `machine` to its end on a new socket (or on `tcp`, already open). Only I/O fails
/// here (a failed TCP connect is [`Error::Unreachable`]); the rest is `finish`'s.
pub(crate) async fn run<D: Drive>(
    config: &SamConfig,
    mut machine: D,
    mut tcp: Option<TcpStream>,
) -> Result<Done<D::Output>> {
    let (mut buf, mut udp) = (Vec::new(), None);
    loop {
        if machine.wants_udp() {
            let (bound, (host, port)) = bind_udp(open(&mut tcp)?.local_addr()?.ip()).await?;
            udp = Some(bound);
            machine.udp_bound(host, port);
        }
        let deadline = machine.poll_timeout();
        let io = async {
            match machine.poll(now()) {
                CallStep::Done => return Result::Ok(true),
                CallStep::Connect => {
                    (tcp, buf) = (None, Vec::new());
                    let socket = TcpStream::connect(config.address.as_str()).await;
                    let socket = socket.map_err(|e| Error::unreachable(&config.address, e))?;
                    machine.connected(socket.peer_addr().is_ok_and(|at| at.ip().is_loopback()));
                    tcp = Some(socket);
                }
                CallStep::Send(bytes) => open(&mut tcp)?.write_all(bytes).await?,
                // Bytes already buffered first; read when the machine took none of them.
                CallStep::Recv => match buf.is_empty() {
                    false => match machine.feed(&buf, now()) {
                        0 => read_more(open(&mut tcp)?, &mut buf, &mut machine).await?,
                        used => drop(buf.drain(..used.min(buf.len()))),
                    },
                    true => read_more(open(&mut tcp)?, &mut buf, &mut machine).await?,
                },
            }
            Ok(false)
        };
        let expired = async move {
            timer(deadline).await;
            Ok(false)
        };
        if io.or(expired).await? {
            let output = machine.finish()?;
            let tcp = tcp.ok_or_else(|| io::Error::from(io::ErrorKind::NotConnected))?;
            return Ok((tcp, buf, udp, output));
        }
        machine.handle_timeout(now());
    }
}

/// Appends what the socket has to `buf`; the end of the stream goes to the machine.
async fn read_more(
    tcp: &mut TcpStream,
    buf: &mut Vec<u8>,
    machine: &mut impl Drive,
) -> io::Result<()> {
    let start = buf.len();
    buf.resize(start + 8 * 1024, 0);
    let n = tcp.read(&mut buf[start..]).await?;
    buf.truncate(start + n);
    if n == 0 {
        machine.eof();
    }
    Ok(())
}

fn open(tcp: &mut Option<TcpStream>) -> io::Result<&mut TcpStream> {
    tcp.as_mut()
        .ok_or_else(|| io::ErrorKind::NotConnected.into())
}
