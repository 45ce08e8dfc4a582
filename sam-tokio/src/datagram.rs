//! Datagrams of DATAGRAM and RAW sessions over UDP.

use std::fmt;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use sam_proto::client::{forwarded_by_bridge, Received};
use sam_proto::datagram::UdpHeader;
use sam_proto::keys::Destination;
use tokio::net::UdpSocket;

use crate::session::Session;
use crate::{Error, Result};

/// Largest UDP datagram.
const MAX_PACKET: usize = 64 * 1024;

/// Sends and receives the datagrams of a DATAGRAM or RAW session (from
/// [`Session::datagram_socket`]).
///
/// Sending writes a SAM UDP packet to the bridge's UDP port. Receiving reads what the bridge
/// forwards to the UDP socket the session registered at creation (and datagrams the bridge
/// delivers on the control socket, if any). Packets that do not parse are skipped and counted
/// ([`DatagramSocket::skipped`]). The socket keeps its session alive. Both methods are cancel
/// safe.
pub struct DatagramSocket {
    session: Session,
    udp: Arc<UdpSocket>,
    bridge: SocketAddr,
    skipped: AtomicU64,
    foreign: AtomicU64,
}

impl fmt::Debug for DatagramSocket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DatagramSocket")
            .field("session", &self.session)
            .field("local", &self.udp.local_addr().ok())
            .field("bridge", &self.bridge)
            .field("skipped", &self.skipped())
            .field("foreign", &self.foreign())
            .finish()
    }
}

impl DatagramSocket {
    pub(crate) fn new(session: Session, udp: Arc<UdpSocket>, bridge: SocketAddr) -> DatagramSocket {
        DatagramSocket {
            session,
            udp,
            bridge,
            skipped: AtomicU64::new(0),
            foreign: AtomicU64::new(0),
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
    pub async fn send_to(
        &self,
        dest: &Destination,
        payload: &[u8],
        ports: Option<(u16, u16)>,
    ) -> Result<()> {
        if self.session.is_closed() {
            return Err(Error::SessionClosed);
        }
        let packet = UdpHeader::packet(self.session.info().id().clone(), dest, payload, ports)
            .map_err(|e| Error::proto("datagram send", e))?;
        self.udp.send_to(&packet, self.bridge).await?;
        Ok(())
    }

    /// Waits for the next datagram.
    pub async fn recv_from(&self) -> Result<Received> {
        let mut control = self.session.control().datagrams.lock().await;
        let mut control_open = true;
        let mut buf = vec![0u8; MAX_PACKET];
        loop {
            tokio::select! {
                got = self.udp.recv_from(&mut buf) => {
                    let (n, from) = got?;
                    if !forwarded_by_bridge(from, self.bridge) {
                        self.foreign.fetch_add(1, Ordering::Relaxed);
                        continue;
                    }
                    match self.parse(buf.get(..n).unwrap_or_default()) {
                        Some(received) => return Ok(received),
                        None => self.skip(),
                    }
                }
                delivered = control.recv(), if control_open => match delivered {
                    Some(d) => match Received::from_control(d) {
                        Ok(received) => return Ok(received),
                        Err(_) => self.skip(),
                    },
                    // The control task has ended.
                    None => {
                        control_open = false;
                        if self.session.is_closed() {
                            return Err(Error::SessionClosed);
                        }
                    }
                },
            }
        }
    }

    /// How many UDP packets were dropped unread because they did not come from the bridge's
    /// UDP address ([`DatagramSocket::bridge_addr`]): anyone else could forge a sender.
    pub fn foreign(&self) -> u64 {
        self.foreign.load(Ordering::Relaxed)
    }

    fn skip(&self) {
        self.skipped.fetch_add(1, Ordering::Relaxed);
    }

    fn parse(&self, packet: &[u8]) -> Option<Received> {
        let info = self.session.info();
        Received::from_udp(packet, info.is_raw(), info.header()).ok()
    }
}
