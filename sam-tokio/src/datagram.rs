//! Datagrams of DATAGRAM and RAW sessions.

use std::net::SocketAddr;
use std::sync::Arc;

use sam_proto::client::{DatagramCounts, DatagramDelivery, DatagramInbox, Received};
use sam_proto::datagram::UdpHeader;
use sam_proto::keys::Destination;
use tokio::net::UdpSocket;

use crate::session::Session;
use crate::{Error, Result};

/// Largest UDP datagram.
const MAX_PACKET: usize = 64 * 1024;

/// Sends and receives the datagrams of a DATAGRAM or RAW session (from
/// [`Session::datagram_socket`]); it keeps its session alive and both methods are cancel safe.
///
/// Sending writes a SAM UDP packet to the bridge's UDP port. Receiving reads what the bridge
/// forwards to the session's UDP socket, accepting packets from the bridge's UDP address only
/// ([`DatagramSocket::foreign`] counts the others), and what it delivers on the control
/// socket. Datagrams that do not parse are skipped and counted ([`DatagramSocket::skipped`]).
#[derive(Debug)]
pub struct DatagramSocket {
    session: Session,
    udp: Arc<UdpSocket>,
    inbox: DatagramInbox,
}

impl DatagramSocket {
    pub(crate) fn new(session: Session, udp: Arc<UdpSocket>, bridge: SocketAddr) -> Self {
        let counts = session.control().counts.clone();
        let inbox = DatagramInbox::new(session.info(), bridge, counts);
        DatagramSocket {
            session,
            udp,
            inbox,
        }
    }

    /// The session this socket belongs to.
    pub fn session(&self) -> &Session {
        &self.session
    }

    /// The bridge's UDP address: where datagrams go, and the only sender accepted.
    pub fn bridge_addr(&self) -> SocketAddr {
        self.inbox.bridge()
    }

    /// The local UDP address the bridge forwards to.
    pub fn local_addr(&self) -> Result<SocketAddr> {
        Ok(self.udp.local_addr()?)
    }

    /// Where the bridge delivers the session's datagrams (control socket or UDP).
    pub fn delivery(&self) -> DatagramDelivery {
        self.session.info().datagram_delivery()
    }

    /// What the session's datagram path dropped: datagrams that did not parse, UDP packets
    /// not from the bridge's UDP address, datagrams beyond the unread queue.
    pub fn counts(&self) -> &DatagramCounts {
        self.inbox.counts()
    }

    /// How many datagrams from the bridge were skipped because they did not parse.
    pub fn skipped(&self) -> u64 {
        self.inbox.counts().skipped()
    }

    /// How many UDP packets were dropped unread because they did not come from the bridge's
    /// UDP address (any local process could otherwise forge a sender).
    pub fn foreign(&self) -> u64 {
        self.inbox.counts().foreign()
    }

    /// Sends `payload` to `dest`, optionally with `(from_port, to_port)` (SAM 3.2), as one
    /// UDP packet to the bridge. No acknowledgement: see [`sam_proto::datagram`].
    pub async fn send_to(
        &self,
        dest: &Destination,
        payload: &[u8],
        ports: Option<(u16, u16)>,
    ) -> Result<()> {
        let id = self.session.info().id().clone();
        let packet = UdpHeader::packet(id, dest, payload, ports);
        let packet = packet.map_err(|e| Error::proto("datagram send", e))?;
        if self.session.is_closed() {
            return Err(Error::SessionClosed);
        }
        self.udp.send_to(&packet, self.inbox.bridge()).await?;
        Ok(())
    }

    /// Waits for the next datagram.
    pub async fn recv_from(&self) -> Result<Received> {
        let mut control = self.session.control().datagrams.lock().await;
        let mut buf = vec![0u8; MAX_PACKET];
        let mut control_open = true;
        loop {
            let received = tokio::select! {
                got = self.udp.recv_from(&mut buf) => {
                    let (n, from) = got?;
                    self.inbox.udp(buf.get(..n).unwrap_or_default(), from)
                }
                delivered = control.recv(), if control_open => match delivered {
                    Some(d) => self.inbox.control(d),
                    // The control task has ended (it says so before dropping the channel).
                    None if self.session.is_closed() => return Err(Error::SessionClosed),
                    None => {
                        control_open = false;
                        None
                    }
                },
            };
            if let Some(received) = received {
                return Ok(received);
            }
        }
    }
}
