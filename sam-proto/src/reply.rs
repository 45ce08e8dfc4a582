//! Bridge-to-client replies. Each one parses itself (client side) and encodes itself
//! (bridge side: test servers and fuzzing).

use alloc::borrow::Cow;
use alloc::string::String;
use alloc::vec::Vec;

use crate::error::Error;
use crate::keys::{Destination, PrivateKeys};
use crate::line::{Line, Value};
use crate::message::{sam_message, KeyValue, Message, Writer};
use crate::result::ResultCode;
use crate::types::{Secret, Version};

pub use crate::command::{Ping, Pong};

sam_message! {
    /// `HELLO REPLY RESULT= [VERSION=] [MESSAGE=]`.
    pub struct HelloReply = "HELLO" "REPLY", command: false {
        /// `OK`, `NOVERSION` or `I2P_ERROR`.
        req result: ResultCode = "RESULT",
        /// The negotiated version (with `OK`).
        opt version: Version = "VERSION",
        /// Why not (Java).
        opt message: Cow<'a, str> = "MESSAGE",
    }
}

sam_message! {
    /// `DEST REPLY PUB= PRIV=` (no `RESULT` on success) or `DEST REPLY RESULT=I2P_ERROR MESSAGE=`.
    pub struct DestReply = "DEST" "REPLY", command: false {
        /// Only present on errors.
        opt result: ResultCode = "RESULT",
        /// The public destination in I2P base64.
        opt public: Cow<'a, str> = "PUB",
        /// The private key blob in I2P base64; never printed by `Debug`.
        opt private: Secret<'a> = "PRIV",
        /// Why not (Java).
        opt message: Cow<'a, str> = "MESSAGE",
    }
}

sam_message! {
    /// `NAMING REPLY RESULT= NAME= [VALUE=] [MESSAGE=] [OPTION:key=value]*`.
    pub struct NamingReply = "NAMING" "REPLY", command: false {
        /// `OK`, `INVALID_KEY` (i2pd), `KEY_NOT_FOUND` (Java), `LEASESET_NOT_FOUND`.
        req result: ResultCode = "RESULT",
        /// The name as asked (i2pd sends `NAME=` when it was missing).
        opt name: Cow<'a, str> = "NAME",
        /// The destination in I2P base64.
        opt value: Cow<'a, str> = "VALUE",
        /// Why not (Java).
        opt message: Cow<'a, str> = "MESSAGE",
    }
}

/// The prefix of a lease-set option's key in a `NAMING REPLY` (API 0.9.66, proposal 167).
pub const LEASESET_OPTION_PREFIX: &str = "OPTION:";

impl<'a> NamingReply<'a> {
    /// The leaseset options (`OPTION:key=value` pairs) in wire order.
    pub fn leaseset_options(&self) -> impl Iterator<Item = (&str, Option<&str>)> {
        self.extra.iter().filter_map(|kv| {
            kv.key
                .strip_prefix(LEASESET_OPTION_PREFIX)
                .map(|k| (k, kv.value.as_deref()))
        })
    }

    /// Appends the lease-set option `key=value` as `OPTION:key="value"` (bridge side: test
    /// servers). The key and value are checked when the reply is encoded.
    pub fn push_leaseset_option(&mut self, key: &str, value: &str) {
        self.extra.push(KeyValue {
            key: Cow::Owned(alloc::format!("{LEASESET_OPTION_PREFIX}{key}")),
            value: Some(Cow::Owned(String::from(value))),
        });
    }

    /// What a lookup sent with `OPTIONS=true` found: the destination and the lease set's
    /// options ([`LookupAnswer`]); a `RESULT` other than `OK` is [`Error::Refused`] with the
    /// bridge's code (`LEASESET_NOT_FOUND` is [`ResultCode::LeasesetNotFound`]).
    pub fn answer(&self) -> Result<LookupAnswer, Error> {
        if !self.result.is_ok() {
            return Err(Error::Refused {
                reply: "NAMING REPLY",
                result: self.result.clone(),
                message: self.message.as_deref().map(Into::into),
            });
        }
        let value = self.value.as_ref().ok_or(Error::MissingKey {
            line: "NAMING REPLY",
            key: "VALUE",
        })?;
        let destination = Destination::from_base64(value)?;
        // A bare `OPTION:key` (no bridge sends one: the spec drops keys with `=` and values
        // with newlines, never the `=`) reads as an empty value rather than failing the lookup.
        let listed: Vec<(String, String)> = self
            .leaseset_options()
            .map(|(k, v)| (String::from(k), String::from(v.unwrap_or(""))))
            .collect();
        let options = if listed.is_empty() {
            LeaseSetOptions::NotAnswered
        } else {
            LeaseSetOptions::Listed(listed)
        };
        Ok(LookupAnswer {
            destination,
            options,
        })
    }
}

/// The lease-set options of a `NAMING LOOKUP ... OPTIONS=true` answer.
///
/// The rule: the options are known only when the bridge listed at least one `OPTION:` pair.
/// A reply without any is [`LeaseSetOptions::NotAnswered`], never "no options", because SAM
/// gives two meanings the same bytes: a bridge that ignores `OPTIONS=true` (i2pd up to 2.59
/// at least, though it negotiates SAM 3.3; Java before API 0.9.66) answers exactly as one that
/// honours it for a lease set without options (LS1, or an LS2 that has none). The SAM version
/// cannot tell them apart either: the feature came with router API 0.9.66, not with a SAM
/// version. `LEASESET_NOT_FOUND` (only a bridge that honours `OPTIONS=true` sends it) is an
/// error with that result code, not an answer.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum LeaseSetOptions {
    /// The bridge listed these `key`/`value` pairs, in wire order (the `OPTION:` prefix
    /// removed; values unquoted).
    Listed(Vec<(String, String)>),
    /// The bridge listed none: it may ignore `OPTIONS=true`, or the lease set may have none.
    NotAnswered,
}

impl LeaseSetOptions {
    /// The listed options, or `None` when the bridge did not answer them.
    pub fn listed(&self) -> Option<&[(String, String)]> {
        match self {
            LeaseSetOptions::Listed(options) => Some(options),
            LeaseSetOptions::NotAnswered => None,
        }
    }

    /// The value of option `key` (the first one, when listed twice), or `None` when the bridge
    /// did not list it.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.listed()?
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// What a `NAMING LOOKUP ... OPTIONS=true` found.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct LookupAnswer {
    /// The destination the name resolves to.
    pub destination: Destination,
    /// The lease set's options, when the bridge answered them (see [`LeaseSetOptions`] for
    /// the rule).
    pub options: LeaseSetOptions,
}

sam_message! {
    /// `SESSION STATUS RESULT= [DESTINATION=] [ID=] [MESSAGE=]`.
    pub struct SessionStatus = "SESSION" "STATUS", command: false {
        /// The outcome.
        req result: ResultCode = "RESULT",
        /// The session's private key blob (CREATE; i2pd also on ADD/REMOVE); never printed.
        opt destination: Secret<'a> = "DESTINATION",
        /// The sub-session ID (Java ADD/REMOVE).
        opt id: Cow<'a, str> = "ID",
        /// Why not, or Java's `ADD id` confirmation.
        opt message: Cow<'a, str> = "MESSAGE",
    }
}

sam_message! {
    /// `STREAM STATUS RESULT= [MESSAGE=]`.
    pub struct StreamStatus = "STREAM" "STATUS", command: false {
        /// The outcome.
        req result: ResultCode = "RESULT",
        /// Why not.
        opt message: Cow<'a, str> = "MESSAGE",
    }
}

sam_message! {
    /// `DATAGRAM RECEIVED DESTINATION= SIZE= [FROM_PORT= TO_PORT=]`, followed by SIZE bytes.
    pub struct DatagramReceived = "DATAGRAM" "RECEIVED", command: false {
        /// The sender's destination in I2P base64 (for DATAGRAM3 possibly a 44-char hash).
        req destination: Cow<'a, str> = "DESTINATION",
        /// Payload length.
        req size: usize = "SIZE",
        /// Sender's port (Java, 3.2+).
        opt from_port: u16 = "FROM_PORT",
        /// Our port (Java, 3.2+).
        opt to_port: u16 = "TO_PORT",
    }
}

sam_message! {
    /// `RAW RECEIVED SIZE= [PROTOCOL= FROM_PORT= TO_PORT=]`, followed by SIZE bytes.
    pub struct RawReceived = "RAW" "RECEIVED", command: false {
        /// Payload length.
        req size: usize = "SIZE",
        /// I2CP protocol (Java, 3.2+).
        opt protocol: u8 = "PROTOCOL",
        /// Sender's port (Java, 3.2+).
        opt from_port: u16 = "FROM_PORT",
        /// Our port (Java, 3.2+).
        opt to_port: u16 = "TO_PORT",
    }
}

/// `<WORD> STATUS RESULT= [MESSAGE=]` for words without a type of their own (`QUIT`, `HELP`,
/// `AUTH`, Java's answer to an unknown command `FOO STATUS RESULT=I2P_ERROR ...`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OtherStatus<'a> {
    /// The first word.
    pub verb: Cow<'a, str>,
    /// The outcome.
    pub result: ResultCode,
    /// The bridge's text.
    pub message: Option<Cow<'a, str>>,
    /// Other parameters in wire order.
    pub extra: Vec<KeyValue<'a>>,
}

impl<'a> Message<'a> for OtherStatus<'a> {
    const KIND: &'static str = "STATUS";
    const IS_COMMAND: bool = false;
    fn from_line(line: &Line<'a>) -> Result<Self, Error> {
        if !line
            .action()
            .is_some_and(|a| a.eq_ignore_ascii_case("STATUS"))
        {
            return Err(Error::UnexpectedLine {
                expected: "<WORD> STATUS",
                got: line.describe(),
            });
        }
        let ([result, message], extra) = split_params(line, ["RESULT", "MESSAGE"])?;
        let result = result.ok_or(Error::MissingKey {
            line: "STATUS",
            key: "RESULT",
        })?;
        Ok(OtherStatus {
            verb: Cow::Borrowed(line.verb()),
            result: ResultCode::from_wire(&result.text()),
            message: message.map(|m| m.text()),
            extra,
        })
    }
    fn write(&self, w: &mut Writer<'_>) -> Result<(), Error> {
        if ["PING", "PONG", "SESSION", "STREAM"]
            .iter()
            .any(|v| self.verb.eq_ignore_ascii_case(v))
        {
            // PING/PONG lines are read as their text; SESSION and STREAM STATUS have types of
            // their own ([`SessionStatus`], [`StreamStatus`]) that a reader would pick instead.
            return Err(Error::Unencodable {
                field: "verb",
                reason: "PING, PONG, SESSION and STREAM status lines have their own types",
            });
        }
        w.token("verb", &self.verb)?;
        w.word("STATUS");
        w.pair("RESULT", self.result.as_str())?;
        if let Some(m) = &self.message {
            w.pair("MESSAGE", m)?;
        }
        crate::message::write_extra(w, &self.extra, &["RESULT", "MESSAGE"])
    }
}

impl OtherStatus<'_> {
    /// A copy that owns all its text.
    pub fn into_owned(self) -> OtherStatus<'static> {
        use crate::message::ToStatic;
        OtherStatus {
            verb: self.verb.to_static(),
            result: self.result,
            message: self.message.to_static(),
            extra: self.extra.to_static(),
        }
    }
}

/// The line a bridge writes on an accepted (or forwarded) stream before the peer's data:
/// `<base64 destination>[ FROM_PORT=n TO_PORT=n]` (ports from Java at 3.2+ only).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerLine<'a> {
    /// The peer's destination in I2P base64.
    pub destination: Cow<'a, str>,
    /// The peer's port.
    pub from_port: Option<u16>,
    /// Our port.
    pub to_port: Option<u16>,
    /// Other parameters in wire order.
    pub extra: Vec<KeyValue<'a>>,
}

impl<'a> Message<'a> for PeerLine<'a> {
    const KIND: &'static str = "peer destination";
    const IS_COMMAND: bool = false;
    fn from_line(line: &Line<'a>) -> Result<Self, Error> {
        let destination = line.verb();
        // A status line in place of the destination is an error reply, not a peer.
        if line.action().is_some() || destination.len() < 44 {
            return Err(Error::UnexpectedLine {
                expected: "peer destination",
                got: line.describe(),
            });
        }
        if !all_base64(destination) {
            return Err(Error::BadValue {
                key: "peer destination",
                reason: "not I2P base64",
            });
        }
        let ([from_port, to_port], extra) = split_params(line, ["FROM_PORT", "TO_PORT"])?;
        let port = |key, v: Option<Value<'a>>| {
            v.map(|v| <u16 as crate::message::Field>::decode(key, v))
                .transpose()
        };
        Ok(PeerLine {
            destination: Cow::Borrowed(destination),
            from_port: port("FROM_PORT", from_port)?,
            to_port: port("TO_PORT", to_port)?,
            extra,
        })
    }
    fn write(&self, w: &mut Writer<'_>) -> Result<(), Error> {
        if self.destination.len() < 44 || !all_base64(&self.destination) {
            return Err(Error::Unencodable {
                field: "peer destination",
                reason: "not an I2P base64 destination",
            });
        }
        w.token("peer destination", &self.destination)?;
        if let Some(p) = self.from_port {
            crate::message::Field::encode(&p, "FROM_PORT", w)?;
        }
        if let Some(p) = self.to_port {
            crate::message::Field::encode(&p, "TO_PORT", w)?;
        }
        // A bare key right after the destination would read back as an action word.
        let bare_first = self.extra.first().is_some_and(|kv| kv.value.is_none());
        if bare_first && self.from_port.is_none() && self.to_port.is_none() {
            return Err(Error::Unencodable {
                field: "option value",
                reason: "a bare option may not follow the destination directly",
            });
        }
        crate::message::write_extra(w, &self.extra, &["FROM_PORT", "TO_PORT"])
    }
}

impl PeerLine<'_> {
    /// Decodes the destination.
    pub fn parse_destination(&self) -> Result<Destination, Error> {
        Ok(Destination::from_base64(&self.destination)?)
    }

    /// A copy that owns all its text.
    pub fn into_owned(self) -> PeerLine<'static> {
        use crate::message::ToStatic;
        PeerLine {
            destination: self.destination.to_static(),
            from_port: self.from_port,
            to_port: self.to_port,
            extra: self.extra.to_static(),
        }
    }
}

/// `true` when every byte is in the I2P base64 alphabet (or `=`); branch-free so that the
/// 516+ character destinations of accept lines are checked at memory speed.
pub(crate) fn all_base64(text: &str) -> bool {
    text.bytes()
        .fold(true, |ok, b| ok & BASE64_BYTES[b as usize])
}

const BASE64_BYTES: [bool; 256] = {
    let mut t = [false; 256];
    let mut i = 0;
    while i < 256 {
        let b = i as u8;
        t[i] = b.is_ascii_alphanumeric() || b == b'-' || b == b'~' || b == b'=';
        i += 1;
    }
    t
};

/// The values of `keys` (a bare key reads as `true`) and every other parameter, refusing a key
/// that appears twice. For the hand-written line types; the macro-built ones do the same.
fn split_params<'a, const N: usize>(
    line: &Line<'a>,
    keys: [&'static str; N],
) -> Result<([Option<Value<'a>>; N], Vec<KeyValue<'a>>), Error> {
    let mut values = [None; N];
    let mut extra: Vec<KeyValue<'a>> = Vec::new();
    for p in line.params() {
        let p = p?;
        let duplicate = match keys.iter().position(|k| *k == p.key) {
            Some(i) => values[i]
                .replace(p.value.unwrap_or(crate::message::bare_value()))
                .is_some(),
            None => {
                let seen = extra.iter().any(|e| e.key == p.key);
                extra.push(KeyValue {
                    key: Cow::Borrowed(p.key),
                    value: p.value.map(|v| v.text()),
                });
                seen
            }
        };
        if duplicate {
            return Err(Error::DuplicateKey(p.key.into()));
        }
    }
    Ok((values, extra))
}

impl DestReply<'_> {
    /// The generated keys, checked: `PRIV` parses and its destination equals `PUB`.
    pub fn keys(&self) -> Result<PrivateKeys, Error> {
        if let Some(r) = &self.result {
            if !r.is_ok() {
                return Err(Error::Refused {
                    reply: "DEST REPLY",
                    result: r.clone(),
                    message: self.message.as_deref().map(Into::into),
                });
            }
        }
        let private = self.private.as_ref().ok_or(Error::MissingKey {
            line: "DEST REPLY",
            key: "PRIV",
        })?;
        let keys = PrivateKeys::from_base64(private.expose())?;
        if let Some(public) = &self.public {
            let public = Destination::from_base64(public)?;
            if &public != keys.destination() {
                return Err(Error::BadValue {
                    key: "PUB",
                    reason: "PUB is not the destination of PRIV",
                });
            }
        }
        Ok(keys)
    }
}

/// Any bridge-to-client line that is not an accept line, for code that reads the control socket.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum Reply<'a> {
    Hello(HelloReply<'a>),
    Dest(DestReply<'a>),
    Naming(NamingReply<'a>),
    Session(SessionStatus<'a>),
    Stream(StreamStatus<'a>),
    DatagramReceived(DatagramReceived<'a>),
    RawReceived(RawReceived<'a>),
    Ping(Ping<'a>),
    Pong(Pong<'a>),
    OtherStatus(OtherStatus<'a>),
}

impl<'a> Reply<'a> {
    /// Reads one reply line.
    pub fn parse(bytes: &'a [u8]) -> Result<Reply<'a>, Error> {
        Reply::from_line(&Line::parse(bytes)?)
    }

    /// Reads an already tokenized reply line.
    pub fn from_line(line: &Line<'a>) -> Result<Reply<'a>, Error> {
        let v = line.verb();
        let a = line.action().unwrap_or("");
        let is = |x: &str, y: &str| v.eq_ignore_ascii_case(x) && a.eq_ignore_ascii_case(y);
        Ok(if is("HELLO", "REPLY") {
            Reply::Hello(HelloReply::from_line(line)?)
        } else if is("DEST", "REPLY") {
            Reply::Dest(DestReply::from_line(line)?)
        } else if is("NAMING", "REPLY") {
            Reply::Naming(NamingReply::from_line(line)?)
        } else if is("SESSION", "STATUS") {
            Reply::Session(SessionStatus::from_line(line)?)
        } else if is("STREAM", "STATUS") {
            Reply::Stream(StreamStatus::from_line(line)?)
        } else if is("DATAGRAM", "RECEIVED") {
            Reply::DatagramReceived(DatagramReceived::from_line(line)?)
        } else if is("RAW", "RECEIVED") {
            Reply::RawReceived(RawReceived::from_line(line)?)
        } else if v.eq_ignore_ascii_case("PING") {
            Reply::Ping(Ping::from_line(line)?)
        } else if v.eq_ignore_ascii_case("PONG") {
            Reply::Pong(Pong::from_line(line)?)
        } else if a.eq_ignore_ascii_case("STATUS") {
            Reply::OtherStatus(OtherStatus::from_line(line)?)
        } else {
            return Err(Error::UnexpectedLine {
                expected: "a SAM reply",
                got: line.describe(),
            });
        })
    }

    /// Appends the reply line to `out` (see [`Message::encode`]).
    pub fn encode(&self, version: Version, out: &mut Vec<u8>) -> Result<(), Error> {
        match self {
            Reply::Hello(m) => m.encode(version, out),
            Reply::Dest(m) => m.encode(version, out),
            Reply::Naming(m) => m.encode(version, out),
            Reply::Session(m) => m.encode(version, out),
            Reply::Stream(m) => m.encode(version, out),
            Reply::DatagramReceived(m) => m.encode(version, out),
            Reply::RawReceived(m) => m.encode(version, out),
            Reply::Ping(m) => m.encode(version, out),
            Reply::Pong(m) => m.encode(version, out),
            Reply::OtherStatus(m) => m.encode(version, out),
        }
    }

    /// The `RESULT` of the reply, when it has one.
    pub fn result(&self) -> Option<&ResultCode> {
        match self {
            Reply::Hello(m) => Some(&m.result),
            Reply::Dest(m) => m.result.as_ref(),
            Reply::Naming(m) => Some(&m.result),
            Reply::Session(m) => Some(&m.result),
            Reply::Stream(m) => Some(&m.result),
            Reply::OtherStatus(m) => Some(&m.result),
            _ => None,
        }
    }
}
