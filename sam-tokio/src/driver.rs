//! The clock and the socket operations under sam-proto's one I/O loop
//! ([`drive`](sam_proto::client::drive)), with the core's deadlines as tokio timers.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::OnceLock;

use sam_proto::client::{drive, Driven, Transport};
use sam_proto::session::{Drive, Time};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};
use tokio::time::Instant;

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
async fn until<T>(
    deadline: Option<Time>,
    fut: impl Future<Output = io::Result<T>>,
) -> io::Result<Option<T>> {
    match instant(deadline) {
        Some(at) => tokio::time::timeout_at(at, fut).await.ok().transpose(),
        None => fut.await.map(Some),
    }
}

/// A connection to the bridge under the one I/O loop.
pub(crate) struct Tcp(pub(crate) TcpStream);

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
        buf.reserve(8 * 1024);
        until(deadline, self.0.read_buf(buf)).await
    }

    async fn bind_udp(&self) -> io::Result<(UdpSocket, SocketAddr)> {
        let udp = UdpSocket::bind((self.0.local_addr()?.ip(), 0)).await?;
        let at = udp.local_addr()?;
        Ok((udp, at))
    }

    fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.0.peer_addr()
    }

    fn ack_at_once(&self) -> bool {
        sam_proto::client::quick_ack(&self.0)
    }
}

/// Runs `machine` on a new connection to `address` (or on `socket`).
pub(crate) async fn run<D: Drive>(
    address: &str,
    machine: D,
    socket: Option<TcpStream>,
) -> crate::Result<Driven<Tcp, D::Output>> {
    drive(address, machine, socket.map(Tcp)).await
}
