//! The clock, and the socket operations under sam-proto's one I/O loop
//! ([`drive`](sam_proto::client::drive)), with async-io timers at the core's deadlines.

use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr};

use async_io::Timer;
use async_net::{TcpStream, UdpSocket};
use futures_lite::io::{AsyncReadExt, AsyncWriteExt};
use futures_lite::FutureExt;
use sam_proto::client::{drive, std_instant, Transport};
use sam_proto::session::{Drive, Time};

use crate::{Result, SamConfig};

pub(crate) use sam_proto::client::std_now as now;

/// A timer for a core deadline; `None` (or one past what `Instant` holds) never fires.
pub(crate) fn timer(deadline: Option<Time>) -> Timer {
    std_instant(deadline).map_or_else(Timer::never, Timer::at)
}

/// A UDP socket on `ip`, any port, and its address.
pub(crate) async fn bind_udp(ip: IpAddr) -> io::Result<(UdpSocket, SocketAddr)> {
    let udp = UdpSocket::bind((ip, 0)).await?;
    let at = udp.local_addr()?;
    Ok((udp, at))
}

/// What a finished machine leaves: its socket, the bytes read past its last line (a stream's
/// first bytes, or the control socket's next input) and the UDP socket it had bound.
pub(crate) type Done<T> = (TcpStream, Vec<u8>, Option<UdpSocket>, T);

/// Runs `machine` with sam-proto's one I/O loop on a new socket (or on `tcp`, already open).
pub(crate) async fn run<D: Drive>(
    config: &SamConfig,
    machine: D,
    tcp: Option<TcpStream>,
) -> Result<Done<D::Output>> {
    let done = drive(&config.address, machine, tcp.map(Tcp)).await?;
    Ok((done.socket.0, done.leftover, done.udp, done.output))
}

/// `io`, or `None` if `deadline` came first.
async fn until<T>(
    deadline: Option<Time>,
    io: impl Future<Output = io::Result<T>>,
) -> io::Result<Option<T>> {
    let expired = async {
        timer(deadline).await;
        Ok(None)
    };
    async { io.await.map(Some) }.or(expired).await
}

/// A connection to the bridge under the one I/O loop.
struct Tcp(TcpStream);

impl Transport for Tcp {
    type Udp = UdpSocket;

    fn now() -> Time {
        now()
    }

    async fn connect(address: &str, deadline: Option<Time>) -> io::Result<Option<Tcp>> {
        Ok(until(deadline, TcpStream::connect(address)).await?.map(Tcp))
    }

    async fn write_all(&mut self, bytes: &[u8], deadline: Option<Time>) -> io::Result<Option<()>> {
        until(deadline, self.0.write_all(bytes)).await
    }

    async fn read(
        &mut self,
        buf: &mut Vec<u8>,
        deadline: Option<Time>,
    ) -> io::Result<Option<usize>> {
        let start = buf.len();
        buf.resize(start + 8 * 1024, 0);
        let read = until(
            deadline,
            self.0.read(buf.get_mut(start..).unwrap_or_default()),
        )
        .await;
        buf.truncate(start + read.as_ref().map_or(0, |n| n.unwrap_or(0)));
        read
    }

    async fn bind_udp(&self) -> io::Result<(UdpSocket, SocketAddr)> {
        bind_udp(self.0.local_addr()?.ip()).await
    }

    fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.0.peer_addr()
    }

    fn ack_at_once(&self) -> bool {
        sam_proto::client::quick_ack(&self.0)
    }
}
