//! What a created session is, and the commands it turns requests into.

use alloc::borrow::ToOwned;
use alloc::string::ToString;

use super::{Call, Failure, Operation, Time};
use crate::client::{
    ConnectOptions, DatagramDelivery, ForwardOptions, SamConfig, Style, SubsessionOptions,
};
use crate::command::{NamingLookup, SessionRemove, StreamAccept, StreamConnect, StreamForward};
use crate::control::ControlCommand;
use crate::exchange::ForwardedPeer;
use crate::keys::{B32Address, Destination, PrivateKeys};
use crate::types::{SessionId, Version};

/// A created session (or sub-session): its ID, style, keys and the version its control
/// socket agreed to, and the commands its operations send.
#[derive(Debug, Clone)]
pub struct SessionInfo {
    id: SessionId<'static>,
    style: Style,
    keys: PrivateKeys,
    version: Version,
    header: bool,
    delivery: DatagramDelivery,
}

impl SessionInfo {
    pub(crate) fn new(
        id: SessionId<'static>,
        style: Style,
        keys: PrivateKeys,
        version: Version,
        header: bool,
    ) -> SessionInfo {
        SessionInfo {
            id,
            style,
            keys,
            version,
            header,
            delivery: DatagramDelivery::Udp,
        }
    }

    pub(crate) fn with_delivery(mut self, delivery: DatagramDelivery) -> SessionInfo {
        self.delivery = delivery;
        self
    }

    /// Where the bridge delivers this session's datagrams: [`DatagramDelivery::ControlSocket`]
    /// or [`DatagramDelivery::Udp`] (what `Auto` became).
    pub fn datagram_delivery(&self) -> DatagramDelivery {
        self.delivery
    }

    /// The session ID.
    pub fn id(&self) -> &SessionId<'static> {
        &self.id
    }

    /// The style.
    pub fn style(&self) -> Style {
        self.style
    }

    /// The private keys, as the bridge reported them in `SESSION STATUS`.
    pub fn keys(&self) -> &PrivateKeys {
        &self.keys
    }

    /// The public destination.
    pub fn destination(&self) -> &Destination {
        self.keys.destination()
    }

    /// The `.b32.i2p` address.
    pub fn address(&self) -> B32Address {
        self.destination().b32_address()
    }

    /// The version the control socket agreed to.
    pub fn version(&self) -> Version {
        self.version
    }

    /// `true` for RAW (anonymous datagrams).
    pub fn is_raw(&self) -> bool {
        self.style == Style::Raw
    }

    /// `true` when RAW datagrams come with a `HEADER=true` line.
    pub fn header(&self) -> bool {
        self.header
    }

    /// `STREAM CONNECT` to `destination` (base64, `.b32.i2p` or a host name, as-is).
    pub fn connect(
        &self,
        config: &SamConfig,
        destination: &str,
        options: ConnectOptions,
        now: Time,
    ) -> Result<Call<StreamConnect<'static>>, Failure> {
        let command = options.connect_command(self.id.clone(), destination);
        Call::new(config, Operation::StreamConnect, command, now)
    }

    /// `STREAM ACCEPT`: waits for a peer without a timeout.
    pub fn accept(
        &self,
        config: &SamConfig,
        now: Time,
    ) -> Result<Call<StreamAccept<'static>>, Failure> {
        let command = StreamAccept::new(self.id.clone());
        Call::new(config, Operation::StreamAccept, command, now)
    }

    /// `STREAM FORWARD` to `options.local` (an IP literal and port), `SILENT` as asked.
    pub fn forward(
        &self,
        config: &SamConfig,
        options: ForwardOptions,
        now: Time,
    ) -> Result<Call<StreamForward<'static>>, Failure> {
        let command = options.forward_command(self.id.clone());
        Call::new(config, Operation::StreamForward, command, now)
    }

    /// Reads the peer line of a connection the bridge forwarded.
    pub fn forwarded() -> Call<ForwardedPeer> {
        Call::forwarded()
    }

    /// `NAMING LOOKUP` on the control socket.
    pub fn lookup(name: &str) -> ControlCommand<'static> {
        ControlCommand::Lookup(NamingLookup::new(name.to_owned()))
    }

    /// `NAMING LOOKUP ... OPTIONS=true` on the control socket (API 0.9.66): its completion is
    /// a [`LookupAnswer`](crate::reply::LookupAnswer) with the lease set's options, when the
    /// bridge answers them.
    pub fn lookup_with_options(name: &str) -> ControlCommand<'static> {
        let mut lookup = NamingLookup::new(name.to_owned());
        lookup.options = Some(true);
        ControlCommand::Lookup(lookup)
    }

    /// `SESSION ADD` of a sub-session to this PRIMARY session, forwarding datagrams to
    /// `udp_forward`; returns the command and the sub-session. Refused before anything is
    /// sent when this session is not PRIMARY (bridges answer that with an error that also
    /// destroys the session) or when the options cannot be written.
    pub fn add(
        &self,
        options: &SubsessionOptions,
        udp_forward: Option<core::net::SocketAddr>,
    ) -> Result<(ControlCommand<'static>, SessionInfo), Failure> {
        self.check_add(options)?;
        let udp_forward = udp_forward.map(|at| (at.ip().to_string(), at.port()));
        let command = options
            .add_command(udp_forward)
            .map_err(|e| Failure::protocol(Operation::SessionAdd.name(), e))?;
        let info = SessionInfo {
            id: command.id.clone(),
            style: options.style,
            keys: self.keys.clone(),
            version: self.version,
            header: options.header == Some(true),
            // SESSION ADD always forwards (i2pd 2.59 knows only STREAM sub-sessions).
            delivery: DatagramDelivery::Udp,
        };
        Ok((ControlCommand::Add(command), info))
    }

    /// Checks a `SESSION ADD` without a UDP address (before binding one).
    pub fn check_add(&self, options: &SubsessionOptions) -> Result<(), Failure> {
        if self.style != Style::Primary {
            return Err(Failure::InvalidInput(
                "sub-sessions need a session created with Style::Primary".to_owned(),
            ));
        }
        options
            .add_command(None)
            .map(|_| ())
            .map_err(|e| Failure::protocol(Operation::SessionAdd.name(), e))
    }

    /// `SESSION REMOVE` of the sub-session `id`.
    pub fn remove(id: &str) -> Result<ControlCommand<'static>, Failure> {
        let id = SessionId::new(id.to_owned())
            .map_err(|e| Failure::protocol(Operation::SessionRemove.name(), e))?;
        Ok(ControlCommand::Remove(SessionRemove {
            id,
            extra: alloc::vec::Vec::new(),
        }))
    }

    /// Checks that this session has datagrams (DATAGRAM, DATAGRAM2, DATAGRAM3 or RAW).
    pub fn check_datagrams(&self) -> Result<(), Failure> {
        if self.style.uses_udp() {
            Ok(())
        } else {
            Err(Failure::InvalidInput(
                "datagram_socket needs a Datagram, Datagram2, Datagram3 or Raw session".to_owned(),
            ))
        }
    }

    /// The UDP packet that sends `payload` from this session to `destination` with
    /// `options`. Every style sends through the bridge's UDP port (DATAGRAM2/3 have no
    /// control-socket send). `PROTOCOL` is for RAW sessions only, and never 6, 17, 19 or 20:
    /// both refused before anything is sent.
    pub fn udp_packet(
        &self,
        destination: &Destination,
        payload: &[u8],
        options: &crate::datagram::SendOptions,
    ) -> Result<alloc::vec::Vec<u8>, crate::Error> {
        if options.protocol.is_some() && self.style != Style::Raw {
            return Err(crate::Error::NotForStyle {
                command: "PROTOCOL in a datagram's UDP header",
                style: self.style.name(),
            });
        }
        crate::datagram::UdpHeader::packet_with(self.id.clone(), destination, payload, options)
    }
}
