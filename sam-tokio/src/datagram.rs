//! Datagrams of DATAGRAM, DATAGRAM2, DATAGRAM3 and RAW sessions.

use std::net::SocketAddr;
use std::sync::Arc;

use sam_proto::client::{DatagramInbox, Received};
use sam_proto::datagram::SendOptions;
use sam_proto::keys::Destination;
use tokio::net::UdpSocket;

use crate::session::Session;
use crate::{Error, Result};

/// Largest UDP datagram.
const MAX_PACKET: usize = 64 * 1024;

/// Sends and receives the datagrams of a DATAGRAM, DATAGRAM2, DATAGRAM3 or RAW session (from
/// [`Session::datagram_socket`]); it keeps its session alive and both methods are cancel safe.
///
/// Sending writes a SAM UDP packet to the bridge's UDP port. Receiving reads what the bridge
/// forwards to the session's UDP socket, accepting packets from the bridge's UDP address only
/// ([`DatagramSocket::foreign`] counts the others), and what it delivers on the control
/// socket. Datagrams that do not parse are skipped and counted ([`DatagramSocket::skipped`]).
#[derive(Debug)]
#[must_use = "the session's datagrams are read through its DatagramSocket"]
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

    sam_proto::__datagram_accessors!(Session);

    /// Sends `payload` to `dest`, optionally with `(from_port, to_port)` (SAM 3.2), as one
    /// UDP packet to the bridge. No acknowledgement: see [`sam_proto::datagram`].
    pub async fn send_to(
        &self,
        dest: &Destination,
        payload: &[u8],
        ports: Option<(u16, u16)>,
    ) -> Result<()> {
        let options = SendOptions::from_ports(ports);
        self.send_with(dest, payload, &options).await
    }

    /// Sends `payload` to `dest` with per-datagram `options` (ports and, for RAW, `PROTOCOL`:
    /// SAM 3.2; `SEND_TAGS`, `TAG_THRESHOLD`, `EXPIRES`, `SEND_LEASESET`: SAM 3.3, which a
    /// bridge may ignore) in the UDP header. Every datagram style, DATAGRAM2 and DATAGRAM3
    /// too, is sent this way. A `PROTOCOL` on a non-RAW session, or one of 6, 17, 19, 20, is
    /// refused before anything is sent.
    pub async fn send_with(
        &self,
        dest: &Destination,
        payload: &[u8],
        options: &SendOptions,
    ) -> Result<()> {
        let packet = self.session.info().udp_packet(dest, payload, options);
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
