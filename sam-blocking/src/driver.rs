//! The clock, and the one I/O loop that runs a sam-proto [`Drive`] (a `Call` or a
//! `SessionSetup`) on a std socket, its deadline armed as the socket's timeouts.

use std::io::{self, ErrorKind, Read, Write};
use std::net::{TcpStream, ToSocketAddrs, UdpSocket};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use sam_proto::session::{CallStep, Drive, Time};

use crate::{Error, Result};

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

/// Runs `job` on a new socket to `address` (or on `socket`) as [`Drive`] says. The socket
/// comes back without timeouts of ours (a caller's own stay).
pub(crate) fn run<D: Drive>(
    address: &str,
    mut socket: Option<TcpStream>,
    mut job: D,
) -> Result<Ran<D::Output>> {
    // `stale`: the buffer was fed and nothing taken; `armed`: we set the socket timeouts.
    let (mut buf, mut udp, mut stale, mut armed) = (Vec::new(), None, false, false);
    loop {
        let deadline = job.poll_timeout();
        if deadline.is_some_and(|at| left(at).is_none()) {
            job.handle_timeout(now());
        }
        if let (true, Some(tcp)) = (job.wants_udp(), &socket) {
            let bound = UdpSocket::bind((tcp.local_addr()?.ip(), 0))?;
            let at = bound.local_addr()?;
            job.udp_bound(at.ip().to_string(), at.port());
            udp = Some(bound);
        }
        // Not an error: the clock is looked at next (a timeout of a caller's own is one).
        let again = |e: &io::Error| {
            e.kind() == ErrorKind::Interrupted || deadline.is_some() && is_timeout(e)
        };
        match job.poll(now()) {
            CallStep::Connect => {
                drop(socket.take()); // and its unread bytes
                (buf, armed) = (Vec::new(), false);
                socket = connect(address, deadline)?;
                match &socket {
                    Some(tcp) => {
                        job.connected(tcp.peer_addr().is_ok_and(|at| at.ip().is_loopback()))
                    }
                    None => job.handle_timeout(now()),
                }
            }
            CallStep::Send(mut bytes) => {
                let tcp = socket.as_ref().ok_or_else(unconnected)?;
                while !bytes.is_empty() && arm(tcp, deadline, &mut armed)? {
                    match (&*tcp).write(bytes) {
                        Ok(0) => return Err(io::Error::from(ErrorKind::WriteZero).into()),
                        Ok(n) => bytes = bytes.get(n..).unwrap_or_default(),
                        Err(e) if again(&e) => {}
                        Err(e) => return Err(e.into()),
                    }
                }
            }
            CallStep::Recv if !buf.is_empty() && !stale => {
                let used = job.feed(&buf, now());
                buf.drain(..used.min(buf.len()));
                stale = used == 0;
            }
            CallStep::Recv => {
                let tcp = socket.as_ref().ok_or_else(unconnected)?;
                if arm(tcp, deadline, &mut armed)? {
                    let start = buf.len();
                    buf.resize(start + READ_CHUNK, 0);
                    let read = (&*tcp).read(buf.get_mut(start..).unwrap_or_default());
                    buf.truncate(start + read.as_ref().map_or(0, |n| *n));
                    stale = false;
                    match read {
                        Ok(0) => job.eof(),
                        Err(e) if !again(&e) => return Err(e.into()),
                        _ => {}
                    }
                }
            }
            CallStep::Done => break,
        }
    }
    let output = job.finish()?;
    let socket = socket.ok_or_else(unconnected)?;
    arm(&socket, None, &mut armed)?;
    Ok((socket, buf, udp, output))
}

fn unconnected() -> io::Error {
    ErrorKind::NotConnected.into()
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
fn connect(address: &str, deadline: Option<Time>) -> Result<Option<TcpStream>> {
    let unreachable = |e| Error::unreachable(address, e);
    let mut last = io::Error::new(ErrorKind::NotFound, "the address resolves to nothing");
    for addr in address.to_socket_addrs().map_err(unreachable)? {
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
    Err(unreachable(last))
}
