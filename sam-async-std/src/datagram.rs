//! Datagrams of DATAGRAM and RAW sessions over UDP.

use std::fmt;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};

use async_net::UdpSocket;
use futures_lite::FutureExt;
use sam_proto::client::Received;
use sam_proto::datagram::UdpHeader;
use sam_proto::keys::Destination;

use crate::{Error, Result, Session};

/// Largest UDP datagram.
const MAX_PACKET: usize = 64 * 1024;

/// The datagrams of a DATAGRAM or RAW (sub-)session, from [`Session::datagram_socket`].
///
/// [`send_to`](Self::send_to) writes one SAM UDP packet to the bridge's UDP port.
/// [`recv_from`](Self::recv_from) returns what the bridge forwards to the session's UDP
/// socket, and what it delivers on the control socket (bridges that do not forward), skipping
/// and counting what does not parse. Both are cancel safe. The socket keeps its session open.
pub struct DatagramSocket {
    pub(crate) session: Session,
    pub(crate) udp: UdpSocket,
    pub(crate) bridge: SocketAddr,
    pub(crate) skipped: AtomicU64,
}

impl fmt::Debug for DatagramSocket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = f.debug_struct("DatagramSocket");
        out.field("session", &self.session).field("udp", &self.udp);
        out.field("bridge", &self.bridge)
            .field("skipped", &self.skipped())
            .finish()
    }
}

impl DatagramSocket {
    /// The (sub-)session the datagrams belong to.
    pub fn session(&self) -> &Session {
        &self.session
    }

    /// Where datagrams are sent: the bridge's UDP address.
    pub fn bridge_addr(&self) -> SocketAddr {
        self.bridge
    }

    /// Where the bridge forwards datagrams to: our UDP address.
    pub fn local_addr(&self) -> Result<SocketAddr> {
        self.udp.local_addr().map_err(Error::Io)
    }

    /// The number of received packets skipped because they did not parse.
    pub fn skipped(&self) -> u64 {
        self.skipped.load(Ordering::Relaxed)
    }

    /// Sends `payload` to `dest` (with `(from_port, to_port)` for SAM 3.2 bridges) in one UDP
    /// packet to the bridge.
    ///
    /// Nothing acknowledges a datagram: it may be lost, and bridges drop the first ones to a
    /// destination whose lease set they lack (a [`Session::lookup`] of it first helps).
    /// Header and payload together must stay within 32 KiB.
    pub async fn send_to(
        &self,
        dest: &Destination,
        payload: &[u8],
        ports: Option<(u16, u16)>,
    ) -> Result<()> {
        if self.session.is_closed() {
            return Err(Error::SessionClosed);
        }
        let id = self.session.info().id().clone();
        let packet = UdpHeader::packet(id, dest, payload, ports)
            .map_err(|e| Error::proto("datagram send", e))?;
        self.udp.send_to(&packet, self.bridge).await?;
        Ok(())
    }

    /// The next datagram, from either path.
    pub async fn recv_from(&self) -> Result<Received> {
        let mut buf = vec![0u8; MAX_PACKET];
        let (raw, header) = (self.session.info().is_raw(), self.session.info().header());
        loop {
            // `Ok(None)`: something arrived that does not parse.
            let forwarded = async {
                let (n, _) = self.udp.recv_from(&mut buf).await?;
                let packet = buf.get(..n).unwrap_or_default();
                Ok(Received::from_udp(packet, raw, header).ok())
            };
            let on_control = async {
                match self.session.control().datagrams.recv().await {
                    Ok(d) => Ok(Received::from_control(d).ok()),
                    // The control task has ended.
                    Err(_) => Err(Error::SessionClosed),
                }
            };
            match forwarded.or(on_control).await? {
                Some(received) => return Ok(received),
                None => self.skipped.fetch_add(1, Ordering::Relaxed),
            };
        }
    }
}
