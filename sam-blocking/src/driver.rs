//! The clock, and the one I/O loop that runs a sam-proto [`Drive`] (a `Call` or a
//! `SessionSetup`) on a std socket, its deadline armed as the socket's timeouts.

use std::io::{self, ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs, UdpSocket};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use sam_proto::client::{block_on, drive, Transport};
use sam_proto::session::{Drive, Time};

use crate::Result;

/// The crate's clock: time since it was first read.
pub(crate) fn now() -> Time {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    EPOCH.get_or_init(Instant::now).elapsed()
}

/// The time left until `deadline`, `None` once it has come.
pub(crate) fn left(deadline: Time) -> Option<Duration> {
    deadline.checked_sub(now()).filter(|left| !left.is_zero())
}

/// A socket timeout or an interrupted call: look at the clock again.
pub(crate) fn is_timeout(e: &io::Error) -> bool {
    use ErrorKind::{Interrupted, TimedOut, WouldBlock};
    matches!(e.kind(), WouldBlock | TimedOut | Interrupted)
}

/// What [`run`] ends with: the socket, the bytes read past the protocol (the application's),
/// the UDP socket it bound (a datagram session's) and the outcome.
pub(crate) type Ran<T> = (TcpStream, Vec<u8>, Option<UdpSocket>, T);

/// Runs `job` on a new socket to `address` (or on `socket`) with sam-proto's one I/O loop.
/// The socket comes back without timeouts of ours (a caller's own stay).
pub(crate) fn run<D: Drive>(
    address: &str,
    socket: Option<TcpStream>,
    job: D,
) -> Result<Ran<D::Output>> {
    let socket = socket.map(|tcp| Tcp { tcp, armed: false });
    let mut done = block_on(drive(address, job, socket))?;
    arm(&done.socket.tcp, None, &mut done.socket.armed)?;
    Ok((done.socket.tcp, done.leftover, done.udp, done.output))
}

/// A std socket under the loop: each operation blocks with the deadline as the socket's
/// timeouts, so its future is ready when first polled.
struct Tcp {
    tcp: TcpStream,
    /// The socket timeouts are ours.
    armed: bool,
}

/// Not an error: the clock is looked at next (a timeout of a caller's own is one).
fn again(e: &io::Error, deadline: Option<Time>) -> bool {
    e.kind() == ErrorKind::Interrupted || deadline.is_some() && is_timeout(e)
}

impl Transport for Tcp {
    type Udp = UdpSocket;

    fn now() -> Time {
        now()
    }

    async fn connect(address: &str, deadline: Option<Time>) -> io::Result<Option<Tcp>> {
        Ok(connect(address, deadline)?.map(|tcp| Tcp { tcp, armed: false }))
    }

    async fn write_all(
        &mut self,
        mut bytes: &[u8],
        deadline: Option<Time>,
    ) -> io::Result<Option<()>> {
        while !bytes.is_empty() {
            if !arm(&self.tcp, deadline, &mut self.armed)? {
                return Ok(None);
            }
            match (&self.tcp).write(bytes) {
                Ok(0) => return Err(ErrorKind::WriteZero.into()),
                Ok(n) => bytes = bytes.get(n..).unwrap_or_default(),
                Err(e) if again(&e, deadline) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(Some(()))
    }

    async fn read(
        &mut self,
        buf: &mut Vec<u8>,
        deadline: Option<Time>,
    ) -> io::Result<Option<usize>> {
        if !arm(&self.tcp, deadline, &mut self.armed)? {
            return Ok(None);
        }
        let start = buf.len();
        buf.resize(start + READ_CHUNK, 0);
        let read = (&self.tcp).read(buf.get_mut(start..).unwrap_or_default());
        buf.truncate(start + read.as_ref().map_or(0, |n| *n));
        match read {
            Err(e) if again(&e, deadline) => Ok(None),
            read => read.map(Some),
        }
    }

    async fn bind_udp(&self) -> io::Result<(UdpSocket, SocketAddr)> {
        let udp = UdpSocket::bind((self.tcp.local_addr()?.ip(), 0))?;
        let at = udp.local_addr()?;
        Ok((udp, at))
    }

    fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.tcp.peer_addr()
    }
}

/// How much to read at once.
const READ_CHUNK: usize = 8 * 1024;

/// Sets the socket timeouts to the time left until `deadline`; `false` once it has come.
fn arm(socket: &TcpStream, deadline: Option<Time>, armed: &mut bool) -> io::Result<bool> {
    let left = match deadline.map(left) {
        Some(None) => return Ok(false),
        None if !*armed => return Ok(true),
        left => left.flatten(),
    };
    socket.set_read_timeout(left)?;
    socket.set_write_timeout(left)?;
    *armed = left.is_some();
    Ok(true)
}

/// A TCP connection to `address` (each address it resolves to, in turn); `None` when
/// `deadline` comes first.
fn connect(address: &str, deadline: Option<Time>) -> io::Result<Option<TcpStream>> {
    let mut last = io::Error::new(ErrorKind::NotFound, "the address resolves to nothing");
    for addr in address.to_socket_addrs()? {
        let connected = match deadline.map(left) {
            None => TcpStream::connect(addr),
            Some(Some(left)) => TcpStream::connect_timeout(&addr, left),
            Some(None) => return Ok(None),
        };
        match connected {
            Ok(socket) => return Ok(Some(socket)),
            Err(e) if e.kind() == ErrorKind::TimedOut && deadline.is_some() => return Ok(None),
            Err(e) => last = e,
        }
    }
    Err(last)
}
