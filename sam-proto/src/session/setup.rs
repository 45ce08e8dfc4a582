//! `SESSION CREATE`: from options to a live control socket.

use alloc::string::String;
use alloc::vec::Vec;

use super::{Call, CallStep, Failure, Operation, SessionInfo, Time};
use crate::client::{retry_primary_as_master, DatagramDelivery, SamConfig, SessionOptions};
use crate::command::SessionCreate;
use crate::error::Error;
use crate::exchange::{Request, Subject};
use crate::keys::PrivateKeys;
use crate::line::Line;
use crate::message::Message;
use crate::types::{SessionId, Version};

/// The `SESSION CREATE` request of a [`SessionSetup`], encoded for the version the bridge
/// agrees to (`PRIMARY` or `MASTER`, quoting) with the UDP address filled in once known.
#[derive(Debug, Clone)]
pub struct CreateSession {
    options: SessionOptions,
    id: SessionId<'static>,
    prefer_primary: bool,
    /// Ask for datagrams over UDP (`HOST`/`PORT`) rather than on the control socket.
    forward: bool,
    udp_forward: Option<(String, u16)>,
}

impl CreateSession {
    fn command(&self, version: Version) -> SessionCreate<'static> {
        let udp_forward = self.udp_forward.clone().filter(|_| self.forward);
        self.options
            .create_command(self.id.clone(), version, self.prefer_primary, udp_forward)
    }
}

impl Request for CreateSession {
    type Output = PrivateKeys;
    const WAITING_FOR: &'static str = <SessionCreate<'static> as Request>::WAITING_FOR;
    fn encode_request(&self, version: Version, out: &mut Vec<u8>) -> Result<(), Error> {
        self.command(version).encode(version, out)
    }
    fn on_line(&mut self, line: &Line<'_>, index: usize) -> Option<Result<PrivateKeys, Error>> {
        self.command(Version::V3_1).on_line(line, index)
    }
    fn subject(&self) -> Subject<'_> {
        Subject {
            style: Some(self.options.style.name()),
            ..Subject::session(self.id.as_str())
        }
    }
}

/// Creating a session: a state machine over [`Call`] (see the [module docs](super)).
#[derive(Debug)]
pub struct SessionSetup {
    config: SamConfig,
    request: CreateSession,
    call: Call<CreateSession>,
    udp_bound: bool,
    retried_master: bool,
    retried_udp: bool,
}

impl SessionSetup {
    /// Checks `options` (nothing that cannot be written reaches a socket) and prepares the
    /// `SESSION CREATE`. `seed` picks a random session ID when the options name none.
    pub fn new(
        config: &SamConfig,
        options: &SessionOptions,
        seed: u64,
        now: Time,
    ) -> Result<SessionSetup, Failure> {
        let operation = Operation::SessionCreate;
        options
            .check()
            .map_err(|e| Failure::protocol(operation.name(), e))?;
        let id = options
            .session_id(seed)
            .map_err(|e| Failure::protocol(operation.name(), e))?;
        // Check with a placeholder UDP address, so that HOST/PORT are encoded too.
        let probe = CreateSession {
            options: options.clone(),
            id: id.clone(),
            prefer_primary: true,
            forward: true,
            udp_forward: Some((String::from("127.0.0.1"), 1)),
        };
        probe
            .encode_request(Version::V3_3, &mut Vec::new())
            .map_err(|e| Failure::protocol(operation.name(), e))?;
        let request = CreateSession {
            forward: options.datagram_delivery == DatagramDelivery::Udp,
            udp_forward: None,
            ..probe
        };
        let call = Call::new(config, operation, request.clone(), now)?;
        Ok(SessionSetup {
            config: config.clone(),
            request,
            call,
            udp_bound: false,
            retried_master: false,
            retried_udp: false,
        })
    }

    /// The next thing to do. [`CallStep::Connect`] may come twice: the `PRIMARY` → `MASTER`
    /// fallback needs a new socket (drop the old one and its unread bytes). When
    /// [`wants_udp`](Self::wants_udp) says so, bind the UDP socket before polling.
    pub fn poll(&mut self, now: Time) -> CallStep<'_> {
        let retry = if !self.retried_master && self.primary_refused() {
            // The bridge agreed to 3.3 but knows only MASTER (i2pd 2.58+), and closes the
            // socket after refusing: the same session on a new socket, as MASTER.
            self.retried_master = true;
            self.request.prefer_primary = false;
            true
        } else if !self.retried_udp && self.control_delivery_unanswered() {
            // Datagrams on the control socket are not offered (emissary 0.4 closes the
            // socket without an answer): the same session with HOST/PORT.
            self.retried_udp = true;
            self.request.forward = true;
            true
        } else {
            false
        };
        if retry {
            trace_event!(
                debug,
                master = self.retried_master,
                udp = self.retried_udp,
                "SESSION CREATE again on a new socket (MASTER for PRIMARY, or HOST/PORT)"
            );
            let request = self.request.clone();
            match Call::new(&self.config, Operation::SessionCreate, request, now) {
                Ok(call) => self.call = call,
                Err(_) => return CallStep::Done,
            }
        }
        self.call.poll()
    }

    /// `true` when the driver must bind the session's UDP socket now (DATAGRAM and RAW, once
    /// the TCP connection is open): on the TCP socket's local IP, any port, then call
    /// [`udp_bound`](Self::udp_bound). Keep it: the bridge forwards datagrams to it and they
    /// are sent from it.
    pub fn wants_udp(&self) -> bool {
        self.call.is_connected() && self.needs_udp() && !self.udp_bound
    }

    /// The TCP connection is open (see [`Call::connected`]).
    pub fn connected(&mut self, bridge_is_loopback: bool) {
        self.call.connected(bridge_is_loopback);
    }

    /// The UDP socket is bound at `host` (an IP literal) and `port`.
    pub fn udp_bound(&mut self, host: String, port: u16) {
        self.udp_bound = true;
        self.request.udp_forward = Some((host, port));
        self.call.request_mut().udp_forward = self.request.udp_forward.clone();
    }

    /// Hands bytes read at `now`; returns how many were taken.
    pub fn feed(&mut self, input: &[u8], now: Time) -> usize {
        self.call.feed(input, now)
    }

    /// The bridge closed the socket.
    pub fn eof(&mut self) {
        self.call.eof();
    }

    /// When to call [`SessionSetup::handle_timeout`].
    pub fn poll_timeout(&self) -> Option<Time> {
        self.call.poll_timeout()
    }

    /// Fails the setup if its deadline has passed.
    pub fn handle_timeout(&mut self, now: Time) {
        self.call.handle_timeout(now);
    }

    fn needs_udp(&self) -> bool {
        self.request.options.style.uses_udp()
    }

    /// What traces show about the session being created: its ID and style.
    pub fn subject(&self) -> Subject<'_> {
        self.request.subject()
    }

    /// The created session, once `poll` said `Done`.
    pub fn finish(self) -> Result<SessionInfo, Failure> {
        let version = self.call.version();
        let keys = self.call.finish()?;
        let delivery = match self.request.forward {
            true => DatagramDelivery::Udp,
            false => DatagramDelivery::ControlSocket,
        };
        let options = &self.request.options;
        let header = options.header == Some(true);
        let info = SessionInfo::new(self.request.id, options.style, keys, version, header);
        Ok(info.with_delivery(delivery))
    }

    fn control_delivery_unanswered(&self) -> bool {
        self.needs_udp()
            && !self.request.forward
            && self.request.options.datagram_delivery == DatagramDelivery::Auto
            && matches!(
                self.call.failure(),
                Some(Failure::Protocol {
                    error: Error::Eof { .. },
                    operation,
                }) if *operation == Operation::SessionCreate.name()
            )
    }

    fn primary_refused(&self) -> bool {
        let sent = self
            .request
            .options
            .style
            .session_style(self.call.version(), self.request.prefer_primary);
        matches!(
            self.call.failure(),
            Some(Failure::Protocol { error, .. }) if retry_primary_as_master(&sent, error)
        )
    }
}
