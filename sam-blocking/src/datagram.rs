//! Datagrams of DATAGRAM and RAW sessions over UDP.

use std::io;
use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use sam_proto::client::Received;
use sam_proto::datagram::UdpHeader;
use sam_proto::keys::Destination;

use crate::driver::Deadline;
use crate::session::Session;
use crate::{Error, Result};

/// Largest UDP datagram.
const MAX_PACKET: usize = 64 * 1024;
/// How often a waiting receive looks at the control socket's datagrams and the session state.
const POLL: Duration = Duration::from_millis(100);

/// Sends and receives the datagrams of a DATAGRAM or RAW session (from
/// [`Session::datagram_socket`]).
///
/// Sending writes a SAM UDP packet to the bridge's UDP port. Receiving reads what the bridge
/// forwards to the UDP socket the session registered at creation (and datagrams the bridge
/// delivers on the control socket, if any). Packets that do not parse are skipped and counted
/// ([`DatagramSocket::skipped`]). The socket keeps its session alive; it can be shared
/// between threads.
#[derive(Debug)]
pub struct DatagramSocket {
    session: Session,
    udp: Arc<UdpSocket>,
    bridge: SocketAddr,
    raw: bool,
    header: bool,
    skipped: AtomicU64,
}

impl DatagramSocket {
    pub(crate) fn new(
        session: Session,
        udp: Arc<UdpSocket>,
        bridge: SocketAddr,
        raw: bool,
        header: bool,
    ) -> DatagramSocket {
        let skipped = AtomicU64::new(0);
        DatagramSocket {
            session,
            udp,
            bridge,
            raw,
            header,
            skipped,
        }
    }

    /// The session this socket belongs to.
    pub fn session(&self) -> &Session {
        &self.session
    }

    /// The bridge's UDP address that datagrams are sent to.
    pub fn bridge_addr(&self) -> SocketAddr {
        self.bridge
    }

    /// The local UDP address the bridge forwards to.
    pub fn local_addr(&self) -> Result<SocketAddr> {
        Ok(self.udp.local_addr()?)
    }

    /// How many received packets were skipped because they did not parse.
    pub fn skipped(&self) -> u64 {
        self.skipped.load(Ordering::Relaxed)
    }

    /// Sends `payload` to `dest`, optionally with `(from_port, to_port)` (SAM 3.2 bridges),
    /// as one UDP packet to the bridge's UDP port.
    ///
    /// SAM gives no acknowledgement: a datagram may be lost, and bridges drop the first ones
    /// to a destination whose lease set they do not have yet (a [`Session::lookup`] first
    /// helps). Header and payload must fit in 32 KiB (about 31 KB of payload).
    pub fn send_to(
        &self,
        dest: &Destination,
        payload: &[u8],
        ports: Option<(u16, u16)>,
    ) -> Result<()> {
        if self.session.is_closed() {
            return Err(Error::SessionClosed);
        }
        let packet = UdpHeader::packet(self.session.session_id().clone(), dest, payload, ports)
            .map_err(|e| Error::proto("datagram send", e))?;
        self.udp.send_to(&packet, self.bridge)?;
        Ok(())
    }

    /// Waits for the next datagram. Fails with [`Error::SessionClosed`] once the session is
    /// closed.
    pub fn recv_from(&self) -> Result<Received> {
        self.receive(Deadline::new(None, "datagram receive"))
    }

    /// [`DatagramSocket::recv_from`], giving up after `timeout` with [`Error::Timeout`].
    pub fn recv_from_timeout(&self, timeout: Duration) -> Result<Received> {
        self.receive(Deadline::new(Some(timeout), "datagram receive"))
    }

    fn receive(&self, deadline: Deadline) -> Result<Received> {
        let mut buf = vec![0u8; MAX_PACKET];
        loop {
            if let Some(d) = self.session.control().pop_datagram() {
                match Received::from_control(d) {
                    Ok(received) => return Ok(received),
                    Err(_) => self.skip(),
                }
                continue;
            }
            if self.session.is_closed() {
                return Err(Error::SessionClosed);
            }
            let wait = deadline.left()?.map_or(POLL, |left| left.min(POLL));
            self.udp.set_read_timeout(Some(wait))?;
            match self.udp.recv_from(&mut buf) {
                Ok((n, _)) => {
                    let packet = buf.get(..n).unwrap_or_default();
                    match Received::from_udp(packet, self.raw, self.header) {
                        Ok(received) => return Ok(received),
                        Err(_) => self.skip(),
                    }
                }
                Err(e) if is_timeout(&e) => {}
                Err(e) => return Err(e.into()),
            }
        }
    }

    fn skip(&self) {
        self.skipped.fetch_add(1, Ordering::Relaxed);
    }
}

fn is_timeout(e: &io::Error) -> bool {
    use io::ErrorKind::{Interrupted, TimedOut, WouldBlock};
    matches!(e.kind(), WouldBlock | TimedOut | Interrupted)
}
