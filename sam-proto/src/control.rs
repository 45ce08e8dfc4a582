//! The long-lived session control socket.
//!
//! After `SESSION CREATE` succeeds, the socket that created the session must stay open (closing
//! it ends the session) and must be read continuously: the bridge may send `PING` (Java answers
//! silence with a close), datagrams (`DATAGRAM RECEIVED ... SIZE=n` + n bytes, `RAW RECEIVED`)
//! and error lines. [`ControlSocket`] handles all of that and lets the caller run one command
//! at a time on it (`NAMING LOOKUP`, `SESSION ADD`/`REMOVE`, `PING`, `QUIT`, `DATAGRAM SEND`).
//!
//! ```
//! use sam_proto::control::{Completion, ControlCommand, ControlEvent, ControlSocket};
//! use sam_proto::command::NamingLookup;
//! use sam_proto::Version;
//!
//! let mut control = ControlSocket::new(Version::V3_1);
//! control.start(ControlCommand::Lookup(NamingLookup::new("ME"))).unwrap();
//! assert_eq!(control.poll_transmit(), Some(&b"NAMING LOOKUP NAME=ME\n"[..]));
//! // The bridge probes us, then answers (a real reply carries the destination in VALUE).
//! control.feed(b"PING 1700000000000\nNAMING REPLY RESULT=KEY_NOT_FOUND NAME=ME\n").unwrap();
//! assert_eq!(control.poll_transmit(), Some(&b"PONG 1700000000000\n"[..]));
//! match control.poll_event() {
//!     Some(ControlEvent::Completed(Err(e))) => assert!(e.result_code().unwrap().is_not_found()),
//!     other => panic!("{other:?}"),
//! }
//! ```

use alloc::borrow::Cow;
use alloc::collections::VecDeque;
use alloc::string::String;
use alloc::vec::Vec;

use crate::command::{
    DatagramSend, NamingLookup, Ping, Pong, Quit, RawSend, SessionAdd, SessionRemove,
};
use crate::error::Error;
use crate::keys::Destination;
use crate::line::{Line, LineFramer};
use crate::message::Message;
use crate::reply::{DatagramReceived, OtherStatus, RawReceived};
use crate::types::{SessionStyle, Version};

/// Largest datagram payload accepted on the control socket (bridges send at most 32 KiB;
/// the cap keeps a hostile `SIZE=` from reserving memory).
pub const MAX_DATAGRAM_SIZE: usize = 64 * 1024;

/// A command for the session control socket.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ControlCommand<'a> {
    /// `NAMING LOOKUP` through the session's own tunnels (works for `.b32.i2p` on i2pd).
    Lookup(NamingLookup<'a>),
    /// `SESSION ADD` (PRIMARY sessions).
    Add(SessionAdd<'a>),
    /// `SESSION REMOVE` (PRIMARY sessions).
    Remove(SessionRemove<'a>),
    /// `PING` (3.2; do not send to i2pd, which closes the socket after its `PONG`).
    Ping(Ping<'a>),
    /// `QUIT` (3.2, Java); i2pd simply closes.
    Quit,
    /// `DATAGRAM SEND` with its payload (no reply).
    DatagramSend(DatagramSend<'a>, Vec<u8>),
    /// `RAW SEND` with its payload (no reply).
    RawSend(RawSend<'a>, Vec<u8>),
}

/// How a command finished.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Completion {
    /// The destination a lookup found.
    Lookup(Destination),
    /// What a lookup sent with `OPTIONS=true` found: the destination and the lease set's
    /// options, when the bridge answered them.
    LookupAnswer(crate::reply::LookupAnswer),
    /// `SESSION ADD` succeeded.
    Added,
    /// `SESSION REMOVE` succeeded.
    Removed,
    /// The bridge answered our `PING`.
    Pong(Option<String>),
    /// A datagram was handed to the transport (there is no acknowledgement in SAM).
    Sent,
    /// `QUIT` was acknowledged or the bridge closed the socket.
    Quit,
}

/// A datagram delivered on the control socket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedDatagram {
    /// The sender's destination, I2P base64 (`None` for RAW, which is anonymous).
    pub source: Option<String>,
    /// The sender's port (Java at 3.2+).
    pub from_port: Option<u16>,
    /// Our port (Java at 3.2+).
    pub to_port: Option<u16>,
    /// I2CP protocol (RAW, Java at 3.2+).
    pub protocol: Option<u8>,
    /// The payload.
    pub payload: Vec<u8>,
}

/// Something that happened on the control socket.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ControlEvent {
    /// The command in flight finished.
    Completed(Result<Completion, Error>),
    /// A datagram arrived (sessions without UDP forwarding).
    Datagram(ReceivedDatagram),
    /// The bridge reported an error on its own (for example Java's `PONG timeout` or
    /// `Session is closed`); it usually closes the socket next.
    BridgeError(Error),
    /// The bridge closed the socket: the session is gone.
    Closed,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum InFlight {
    Lookup,
    /// A lookup with `OPTIONS=true`: its answer keeps the lease-set options.
    LookupWithOptions,
    Add,
    Remove,
    Ping,
    Quit,
}

#[derive(Debug)]
struct PendingPayload {
    datagram: ReceivedDatagram,
    size: usize,
}

/// The session control socket's state machine. See the [module docs](self).
#[derive(Debug)]
pub struct ControlSocket {
    version: Version,
    out: Vec<u8>,
    /// Bytes at the front of `out` already handed to the caller (written by now).
    out_handed: usize,
    framer: LineFramer,
    in_flight: Option<InFlight>,
    payload: Option<PendingPayload>,
    events: VecDeque<ControlEvent>,
    closed: bool,
    /// The session's style, when known: `DATAGRAM SEND` is refused for DATAGRAM2/3.
    style: Option<SessionStyle>,
}

impl ControlSocket {
    /// The machine for a socket that negotiated `version` and created a session.
    pub fn new(version: Version) -> Self {
        ControlSocket {
            version,
            out: Vec::new(),
            out_handed: 0,
            framer: LineFramer::new(),
            in_flight: None,
            payload: None,
            events: VecDeque::new(),
            closed: false,
            style: None,
        }
    }

    /// The machine for the control socket of a session of `style`. Unlike [`new`](Self::new)
    /// it refuses `DATAGRAM SEND` for DATAGRAM2 and DATAGRAM3 ([`Error::NotForStyle`]): the SAM
    /// spec gives them no control-socket send (send them over UDP), and a bridge would read
    /// the command as for the wrong protocol or drop the socket.
    pub fn for_style(version: Version, style: SessionStyle) -> Self {
        ControlSocket {
            style: Some(style),
            ..ControlSocket::new(version)
        }
    }

    /// The negotiated version.
    pub fn version(&self) -> Version {
        self.version
    }

    /// `true` while a command waits for its answer.
    pub fn is_busy(&self) -> bool {
        self.in_flight.is_some()
    }

    /// `true` once the bridge closed the socket.
    pub fn is_closed(&self) -> bool {
        self.closed
    }

    /// Queues `command`. Only one command may wait for an answer at a time ([`Error::Busy`]);
    /// a value that cannot be written is refused before anything is queued.
    pub fn start(&mut self, command: ControlCommand<'_>) -> Result<(), Error> {
        if self.closed {
            return Err(Error::Eof {
                during: "a command on the session socket",
            });
        }
        if self.in_flight.is_some() {
            return Err(Error::Busy);
        }
        let v = self.version;
        let needs_3_2 = match &command {
            ControlCommand::Ping(_) => Some("PING"),
            ControlCommand::Quit => Some("QUIT"),
            _ => None,
        };
        if let Some(command) = needs_3_2.filter(|_| v < Version::V3_2) {
            // SAM 3.1 bridges do not know them and close the socket, ending the session.
            return Err(Error::NeedsVersion {
                command,
                needs: Version::V3_2,
                negotiated: v,
            });
        }
        let start = self.out.len();
        let (flight, immediate) = match &command {
            ControlCommand::Lookup(m) => (
                m.encode(v, &mut self.out).map(|_| {
                    Some(match m.options {
                        Some(true) => InFlight::LookupWithOptions,
                        _ => InFlight::Lookup,
                    })
                }),
                None,
            ),
            ControlCommand::Add(m) => (
                m.encode(v, &mut self.out).map(|_| Some(InFlight::Add)),
                None,
            ),
            ControlCommand::Remove(m) => (
                m.encode(v, &mut self.out).map(|_| Some(InFlight::Remove)),
                None,
            ),
            ControlCommand::Ping(m) => (
                m.encode(v, &mut self.out).map(|_| Some(InFlight::Ping)),
                None,
            ),
            ControlCommand::Quit => (
                Quit.encode(v, &mut self.out).map(|_| Some(InFlight::Quit)),
                None,
            ),
            ControlCommand::DatagramSend(m, payload) => {
                let refused = match &self.style {
                    Some(SessionStyle::Datagram2) => Some("DATAGRAM2"),
                    Some(SessionStyle::Datagram3) => Some("DATAGRAM3"),
                    _ => None,
                };
                if let Some(style) = refused {
                    return Err(Error::NotForStyle {
                        command: "DATAGRAM SEND",
                        style,
                    });
                }
                if m.size != payload.len() {
                    return Err(size_mismatch());
                }
                (m.encode(v, &mut self.out).map(|_| None), Some(payload))
            }
            ControlCommand::RawSend(m, payload) => {
                if let Some(p) = m.protocol {
                    crate::datagram::check_raw_protocol(p)?;
                }
                if m.size != payload.len() {
                    return Err(size_mismatch());
                }
                (m.encode(v, &mut self.out).map(|_| None), Some(payload))
            }
        };
        match flight {
            Err(e) => {
                self.out.truncate(start);
                Err(e)
            }
            Ok(flight) => {
                if let Some(payload) = immediate {
                    self.out.extend_from_slice(payload);
                    self.events
                        .push_back(ControlEvent::Completed(Ok(Completion::Sent)));
                }
                self.in_flight = flight;
                Ok(())
            }
        }
    }

    /// Bytes to write now, if any. Write all of them before calling again.
    pub fn poll_transmit(&mut self) -> Option<&[u8]> {
        self.out.drain(..self.out_handed);
        self.out_handed = 0;
        if self.out.is_empty() || self.closed {
            return None;
        }
        self.out_handed = self.out.len();
        Some(&self.out)
    }

    /// The next event, if any.
    pub fn poll_event(&mut self) -> Option<ControlEvent> {
        self.events.pop_front()
    }

    /// Hands received bytes to the machine; it always takes all of them.
    ///
    /// A protocol violation (garbage, an over-long line, an answer nobody asked for) is an
    /// error: the socket can no longer be trusted and should be closed.
    pub fn feed(&mut self, mut input: &[u8]) -> Result<usize, Error> {
        let total = input.len();
        while !input.is_empty() && !self.closed {
            if let Some(p) = &mut self.payload {
                let want = p.size - p.datagram.payload.len();
                let take = want.min(input.len());
                p.datagram.payload.extend_from_slice(&input[..take]);
                input = &input[take..];
                if p.datagram.payload.len() == p.size {
                    if let Some(p) = self.payload.take() {
                        self.events.push_back(ControlEvent::Datagram(p.datagram));
                    }
                }
                continue;
            }
            let (line, n) = self.framer.push(input)?;
            input = &input[n..];
            let Some(line) = line else { continue };
            let line = Line::parse(line);
            let result = match line {
                Ok(line) => Self::on_line(
                    &line,
                    self.version,
                    &mut self.out,
                    &mut self.in_flight,
                    &mut self.payload,
                    &mut self.events,
                ),
                Err(e) => Err(e),
            };
            self.framer.clear();
            result?;
        }
        Ok(total)
    }

    /// Tells the machine the bridge closed the socket.
    pub fn eof(&mut self) {
        if self.closed {
            return;
        }
        self.closed = true;
        if let Some(flight) = self.in_flight.take() {
            let outcome = if flight == InFlight::Quit {
                Ok(Completion::Quit)
            } else {
                Err(Error::Eof {
                    during: "the answer on the session socket",
                })
            };
            self.events.push_back(ControlEvent::Completed(outcome));
        }
        self.events.push_back(ControlEvent::Closed);
    }

    fn on_line(
        line: &Line<'_>,
        version: Version,
        out: &mut Vec<u8>,
        in_flight: &mut Option<InFlight>,
        payload: &mut Option<PendingPayload>,
        events: &mut VecDeque<ControlEvent>,
    ) -> Result<(), Error> {
        if line.verb().eq_ignore_ascii_case("PING") {
            let pong = Pong {
                text: line.ping_text().map(Cow::Borrowed),
            };
            pong.encode(version, out)
                .map_err(|_| crate::exchange::unanswerable_ping())?;
            trace_event!(debug, text = ?pong.text, "bridge PING answered");
            return Ok(());
        }
        if line.is("DATAGRAM", Some("RECEIVED")) {
            let d = DatagramReceived::from_line(line)?;
            *payload = Some(pending(
                Some(String::from(&*d.destination)),
                d.from_port,
                d.to_port,
                None,
                d.size,
            )?);
            return flush_empty(payload, events);
        }
        if line.is("RAW", Some("RECEIVED")) {
            let r = RawReceived::from_line(line)?;
            *payload = Some(pending(None, r.from_port, r.to_port, r.protocol, r.size)?);
            return flush_empty(payload, events);
        }
        let completion = match (*in_flight, line) {
            (Some(InFlight::Lookup), l) if l.is("NAMING", Some("REPLY")) => {
                Some(crate::exchange::naming_outcome(l).map(Completion::Lookup))
            }
            (Some(InFlight::LookupWithOptions), l) if l.is("NAMING", Some("REPLY")) => Some(
                crate::reply::NamingReply::from_line(l)
                    .and_then(|r| r.answer())
                    .map(Completion::LookupAnswer),
            ),
            (Some(InFlight::Add), l) if l.is("SESSION", Some("STATUS")) => {
                Some(crate::exchange::session_outcome(l).map(|_| Completion::Added))
            }
            (Some(InFlight::Remove), l) if l.is("SESSION", Some("STATUS")) => {
                Some(crate::exchange::session_outcome(l).map(|_| Completion::Removed))
            }
            (Some(InFlight::Ping), l) if l.verb().eq_ignore_ascii_case("PONG") => Some(
                Pong::from_line(l).map(|p| Completion::Pong(p.text.map(|t| String::from(&*t)))),
            ),
            (Some(InFlight::Quit), l)
                if l.action().is_some_and(|a| a.eq_ignore_ascii_case("STATUS")) =>
            {
                Some(Ok(Completion::Quit))
            }
            _ => None,
        };
        if let Some(outcome) = completion {
            *in_flight = None;
            events.push_back(ControlEvent::Completed(outcome));
            return Ok(());
        }
        // Not an answer to anything we asked: an error report from the bridge, or garbage.
        if line
            .action()
            .is_some_and(|a| a.eq_ignore_ascii_case("STATUS"))
        {
            let status = OtherStatus::from_line(line)?;
            if !status.result.is_ok() {
                let e = Error::Refused {
                    reply: status_kind(&status.verb),
                    result: status.result,
                    message: status.message.map(|m| String::from(&*m)),
                };
                if in_flight.take().is_some() {
                    events.push_back(ControlEvent::Completed(Err(e.clone())));
                }
                events.push_back(ControlEvent::BridgeError(e));
                return Ok(());
            }
        }
        Err(Error::UnexpectedLine {
            expected: "an answer to the command in flight",
            got: line.describe(),
        })
    }
}

/// The name of a `<WORD> STATUS` line for error messages.
fn status_kind(verb: &str) -> &'static str {
    const KINDS: &[&str] = &[
        "SESSION STATUS",
        "STREAM STATUS",
        "NAMING STATUS",
        "DATAGRAM STATUS",
        "RAW STATUS",
        "DEST STATUS",
        "QUIT STATUS",
    ];
    KINDS
        .iter()
        .find(|k| {
            k.split(' ')
                .next()
                .is_some_and(|w| w.eq_ignore_ascii_case(verb))
        })
        .copied()
        .unwrap_or("STATUS")
}

fn size_mismatch() -> Error {
    Error::Unencodable {
        field: "SIZE",
        reason: "SIZE differs from the payload length",
    }
}

fn pending(
    source: Option<String>,
    from_port: Option<u16>,
    to_port: Option<u16>,
    protocol: Option<u8>,
    size: usize,
) -> Result<PendingPayload, Error> {
    if size > MAX_DATAGRAM_SIZE {
        return Err(Error::BadValue {
            key: "SIZE",
            reason: "datagram larger than 64 KiB",
        });
    }
    Ok(PendingPayload {
        datagram: ReceivedDatagram {
            source,
            from_port,
            to_port,
            protocol,
            payload: Vec::with_capacity(size),
        },
        size,
    })
}

fn flush_empty(
    payload: &mut Option<PendingPayload>,
    events: &mut VecDeque<ControlEvent>,
) -> Result<(), Error> {
    if payload.as_ref().is_some_and(|p| p.size == 0) {
        if let Some(p) = payload.take() {
            events.push_back(ControlEvent::Datagram(p.datagram));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn datagram_with_binary_payload_split_anywhere() {
        let mut wire =
            Vec::from(&b"DATAGRAM RECEIVED DESTINATION=AAAA SIZE=5 FROM_PORT=1 TO_PORT=2\n"[..]);
        wire.extend_from_slice(b"a\nb\0c");
        wire.extend_from_slice(b"RAW RECEIVED SIZE=2\nzz");
        for split in 1..wire.len() {
            let mut c = ControlSocket::new(Version::V3_3);
            for chunk in wire.chunks(split) {
                assert_eq!(c.feed(chunk).unwrap(), chunk.len());
            }
            match c.poll_event() {
                Some(ControlEvent::Datagram(d)) => {
                    assert_eq!(d.payload, b"a\nb\0c");
                    assert_eq!(d.source.as_deref(), Some("AAAA"));
                    assert_eq!((d.from_port, d.to_port), (Some(1), Some(2)));
                }
                other => panic!("{other:?}"),
            }
            match c.poll_event() {
                Some(ControlEvent::Datagram(d)) => {
                    assert_eq!(d.payload, b"zz");
                    assert_eq!(d.source, None);
                }
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn one_command_at_a_time_and_eof_fails_it() {
        let mut c = ControlSocket::new(Version::V3_1);
        c.start(ControlCommand::Lookup(NamingLookup::new("x.i2p")))
            .unwrap();
        assert_eq!(
            c.start(ControlCommand::Lookup(NamingLookup::new("y.i2p"))),
            Err(Error::Busy)
        );
        c.eof();
        assert!(matches!(
            c.poll_event(),
            Some(ControlEvent::Completed(Err(Error::Eof { .. })))
        ));
        assert_eq!(c.poll_event(), Some(ControlEvent::Closed));
    }

    #[test]
    fn unsolicited_error_is_reported_and_garbage_is_an_error() {
        let mut c = ControlSocket::new(Version::V3_3);
        c.feed(b"SESSION STATUS RESULT=I2P_ERROR MESSAGE=\"PONG timeout\"\n")
            .unwrap();
        assert!(matches!(
            c.poll_event(),
            Some(ControlEvent::BridgeError(Error::Refused { .. }))
        ));
        assert!(c.feed(b"HELLO THERE\n").is_err());
        let mut c = ControlSocket::new(Version::V3_3);
        assert!(matches!(
            c.feed(b"DATAGRAM RECEIVED DESTINATION=A SIZE=99999999\n"),
            Err(Error::BadValue { key: "SIZE", .. })
        ));
    }
}
