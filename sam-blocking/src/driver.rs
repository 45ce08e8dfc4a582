//! The clock, and the socket operations under sam-proto's one I/O loop
//! ([`drive`](sam_proto::client::drive)), with the core's deadlines as socket timeouts.

use std::io::{self, ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs, UdpSocket};
use ErrorKind::{Interrupted, TimedOut, WouldBlock};

use sam_proto::client::{block_on, drive, Driven, Transport};
use sam_proto::session::{Drive, Time};

use crate::Result;

pub(crate) use sam_proto::client::{std_now as now, time_left as left};

/// A socket timeout or an interrupted call: look at the clock again.
pub(crate) fn is_timeout(e: &io::Error) -> bool {
    matches!(e.kind(), WouldBlock | TimedOut | Interrupted)
}

/// Runs `job` on a new socket to `address` (or on `socket`, whose timeouts stay the caller's)
/// with sam-proto's one I/O loop. A socket of ours comes back without timeouts.
pub(crate) fn run<D: Drive>(
    address: &str,
    socket: Option<TcpStream>,
    job: D,
) -> Result<Driven<Tcp, D::Output>> {
    let socket = socket.map(|tcp| Tcp { tcp, ours: false });
    let done = block_on(drive(address, job, socket))?;
    if done.socket.ours {
        done.socket.tcp.set_read_timeout(None)?;
        done.socket.tcp.set_write_timeout(None)?;
    }
    Ok(done)
}

/// A std socket under the loop: each operation blocks with the time left as the socket's
/// timeouts, so its future is ready when first polled.
pub(crate) struct Tcp {
    pub(crate) tcp: TcpStream,
    /// We opened it: its timeouts are ours to set.
    ours: bool,
}

impl Tcp {
    /// The socket with its timeouts set to the time left until `deadline`; `None` once it
    /// has come.
    fn arm(&self, deadline: Option<Time>) -> io::Result<Option<&TcpStream>> {
        let left = match deadline.map(left) {
            Some(None) => return Ok(None),
            left => left.flatten(),
        };
        if self.ours {
            self.tcp.set_read_timeout(left)?;
            self.tcp.set_write_timeout(left)?;
        }
        Ok(Some(&self.tcp))
    }
}

/// `Ok(None)` for what only means "look at the clock again" (a timeout of a caller's own is
/// an error).
fn timed<T>(result: io::Result<T>, deadline: Option<Time>) -> io::Result<Option<T>> {
    match result {
        Err(e) if e.kind() == Interrupted || deadline.is_some() && is_timeout(&e) => Ok(None),
        result => result.map(Some),
    }
}

impl Transport for Tcp {
    type Udp = UdpSocket;

    fn now() -> Time {
        now()
    }

    /// Each address `address` resolves to, in turn.
    async fn connect(address: &str, deadline: Option<Time>) -> io::Result<Option<Tcp>> {
        let mut last = io::Error::new(ErrorKind::NotFound, "the address resolves to nothing");
        for addr in address.to_socket_addrs()? {
            let connected = match deadline.map(left) {
                None => TcpStream::connect(addr),
                Some(Some(left)) => TcpStream::connect_timeout(&addr, left),
                Some(None) => return Ok(None),
            };
            match connected {
                Ok(tcp) => return Ok(Some(Tcp { tcp, ours: true })),
                Err(e) if e.kind() == ErrorKind::TimedOut && deadline.is_some() => return Ok(None),
                Err(e) => last = e,
            }
        }
        Err(last)
    }

    async fn write_all(&mut self, bytes: &[u8], deadline: Option<Time>) -> io::Result<Option<()>> {
        match self.arm(deadline)? {
            Some(mut tcp) => timed(tcp.write_all(bytes), deadline),
            None => Ok(None),
        }
    }

    async fn read(
        &mut self,
        buf: &mut Vec<u8>,
        deadline: Option<Time>,
    ) -> io::Result<Option<usize>> {
        let Some(mut tcp) = self.arm(deadline)? else {
            return Ok(None);
        };
        let start = buf.len();
        buf.resize(start + 8 * 1024, 0);
        let read = timed(tcp.read(buf.get_mut(start..).unwrap_or_default()), deadline);
        buf.truncate(start + read.as_ref().map_or(0, |n| n.unwrap_or(0)));
        read
    }

    async fn bind_udp(&self) -> io::Result<(UdpSocket, SocketAddr)> {
        let udp = UdpSocket::bind((self.tcp.local_addr()?.ip(), 0))?;
        let at = udp.local_addr()?;
        Ok((udp, at))
    }

    fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.tcp.peer_addr()
    }

    fn ack_at_once(&self) -> bool {
        sam_proto::client::quick_ack(&self.tcp)
    }
}
