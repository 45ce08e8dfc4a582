//! Datagrams of DATAGRAM, DATAGRAM2, DATAGRAM3 and RAW sessions over UDP.

use async_net::UdpSocket;
use futures_lite::FutureExt;
use sam_proto::client::{udp_bridge_with, DatagramInbox, Received};
use sam_proto::datagram::SendOptions;
use sam_proto::keys::Destination;

use crate::{Error, Result, Session};

/// The datagrams of a DATAGRAM, DATAGRAM2, DATAGRAM3 or RAW (sub-)session, from [`Session::datagram_socket`].
///
/// [`send_to`](Self::send_to) writes one SAM UDP packet to the bridge's UDP port.
/// [`recv_from`](Self::recv_from) returns what the bridge forwards to the session's UDP
/// socket (from the bridge's UDP address only), and what it delivers on the control socket,
/// skipping and counting the rest. Both are cancel safe. The socket keeps its session open.
#[derive(Debug)]
#[must_use = "the session's datagrams are read through its DatagramSocket"]
pub struct DatagramSocket {
    session: Session,
    udp: UdpSocket,
    inbox: DatagramInbox,
}

impl DatagramSocket {
    pub(crate) async fn new(session: &Session) -> Result<DatagramSocket> {
        if session.is_closed() {
            return Err(Error::SessionClosed);
        }
        session.info.check_datagrams()?;
        let udp = session.udp.clone().ok_or(Error::SessionClosed)?;
        let resolve = |at: String| async move { async_net::resolve(at).await };
        let bridge = udp_bridge_with(session.config(), session.shared.bridge, resolve).await?;
        let counts = session.shared.control.counts.clone();
        let inbox = DatagramInbox::new(&session.info, bridge, counts);
        let session = session.clone();
        Ok(DatagramSocket {
            session,
            udp,
            inbox,
        })
    }

    sam_proto::__datagram_accessors!(Session);

    /// Sends `payload` to `dest` (with `(from_port, to_port)` for SAM 3.2 bridges) in one UDP
    /// packet to the bridge. Nothing acknowledges it; bridges drop the first ones to a
    /// destination whose lease set they lack ([`Session::lookup`] it first). Header and
    /// payload together must stay within 32 KiB.
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
        let packet = self.session.info.udp_packet(dest, payload, options);
        let packet = packet.map_err(|e| Error::proto("datagram send", e))?;
        match self.session.is_closed() {
            true => Err(Error::SessionClosed),
            false => Ok(self
                .udp
                .send_to(&packet, self.inbox.bridge())
                .await
                .map(drop)?),
        }
    }

    /// The next datagram, from either path.
    pub async fn recv_from(&self) -> Result<Received> {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            // `Ok(None)`: something arrived that is dropped (and counted).
            let forwarded = async {
                let (n, from) = self.udp.recv_from(&mut buf).await?;
                Result::Ok(self.inbox.udp(buf.get(..n).unwrap_or_default(), from))
            };
            // The control task's end closes the channel.
            let delivered = self.session.shared.control.datagrams.recv();
            let on_control = async {
                let d = delivered.await.map_err(|_| Error::SessionClosed)?;
                Ok(self.inbox.control(d))
            };
            if let Some(received) = forwarded.or(on_control).await? {
                return Ok(received);
            }
        }
    }
}
