//! Datagrams of DATAGRAM, DATAGRAM2, DATAGRAM3 and RAW sessions over UDP.

use std::net::{SocketAddr, UdpSocket};
use std::sync::Arc;
use std::time::Duration;

use sam_proto::client::{DatagramInbox, Received};
use sam_proto::datagram::SendOptions;
use sam_proto::keys::Destination;

use crate::driver::{is_timeout, left, now};
use crate::{Error, Result, Session};

/// How often a waiting receive looks at the control socket's datagrams and the session.
const POLL: Duration = Duration::from_millis(100);

/// Sends and receives the datagrams of a DATAGRAM, DATAGRAM2, DATAGRAM3 or RAW session (from
/// [`Session::datagram_socket`]); it keeps its session alive and can be shared by threads.
/// What is accepted and what is counted: [`DatagramInbox`].
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

    /// Sends `payload` to `dest`, optionally with `(from_port, to_port)` (SAM 3.2), as one UDP
    /// packet to the bridge. No acknowledgement: see [`sam_proto::datagram`].
    pub fn send_to(
        &self,
        dest: &Destination,
        payload: &[u8],
        ports: Option<(u16, u16)>,
    ) -> Result<()> {
        let options = SendOptions::from_ports(ports);
        self.send_with(dest, payload, &options)
    }

    /// Sends `payload` to `dest` with per-datagram `options` (ports and, for RAW, `PROTOCOL`:
    /// SAM 3.2; `SEND_TAGS`, `TAG_THRESHOLD`, `EXPIRES`, `SEND_LEASESET`: SAM 3.3, which a
    /// bridge may ignore) in the UDP header. Every datagram style, DATAGRAM2 and DATAGRAM3
    /// too, is sent this way. A `PROTOCOL` on a non-RAW session, or one of 6, 17, 19, 20, is
    /// refused before anything is sent.
    pub fn send_with(
        &self,
        dest: &Destination,
        payload: &[u8],
        options: &SendOptions,
    ) -> Result<()> {
        let packet = self
            .session
            .info()
            .udp_packet(dest, payload, options)
            .map_err(|e| Error::proto("datagram send", e))?;
        if self.session.is_closed() {
            return Err(Error::SessionClosed);
        }
        self.udp.send_to(&packet, self.inbox.bridge())?;
        Ok(())
    }

    /// Waits for the next datagram.
    pub fn recv_from(&self) -> Result<Received> {
        self.receive(None)
    }

    /// [`DatagramSocket::recv_from`], giving up after `timeout` with [`Error::Timeout`].
    pub fn recv_from_timeout(&self, timeout: Duration) -> Result<Received> {
        self.receive(Some(timeout))
    }

    fn receive(&self, timeout: Option<Duration>) -> Result<Received> {
        let deadline = timeout.and_then(|t| now().checked_add(t));
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let received = match self.session.control().pop_datagram() {
                Some(d) => self.inbox.control(d),
                None if self.session.is_closed() => return Err(Error::SessionClosed),
                None => {
                    let wait = match deadline.map(left) {
                        None => POLL,
                        Some(Some(left)) => left.min(POLL),
                        Some(None) => {
                            let (operation, after) =
                                ("datagram receive", timeout.unwrap_or_default());
                            return Err(Error::Timeout { operation, after });
                        }
                    };
                    self.udp.set_read_timeout(Some(wait))?;
                    match self.udp.recv_from(&mut buf) {
                        Ok((n, from)) => self.inbox.udp(buf.get(..n).unwrap_or_default(), from),
                        Err(e) if is_timeout(&e) => None,
                        Err(e) => return Err(e.into()),
                    }
                }
            };
            if let Some(received) = received {
                return Ok(received);
            }
        }
    }
}
