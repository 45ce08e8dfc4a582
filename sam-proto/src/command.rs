//! Client-to-bridge commands. Each one encodes itself (client side) and parses itself
//! (bridge side: test servers, fuzzing, anyone writing a bridge).

use alloc::borrow::Cow;
use alloc::vec::Vec;

use crate::error::Error;
use crate::keys::SigType;
use crate::line::Line;
use crate::message::{sam_message, KeyValue, Message, Writer};
use crate::types::{Secret, SessionId, SessionStyle, Version};

sam_message! {
    /// `HELLO VERSION [MIN=] [MAX=] [USER=] [PASSWORD=]`: the first line on every socket.
    pub struct Hello = "HELLO" "VERSION", command: true {
        /// Lowest acceptable version.
        opt min: Version = "MIN",
        /// Highest acceptable version.
        opt max: Version = "MAX",
        /// User name (3.2, Java bridges with authorization on).
        opt user: Cow<'a, str> = "USER",
        /// Password; never printed by `Debug`.
        opt password: Secret<'a> = "PASSWORD",
    }
}

impl Hello<'_> {
    /// `HELLO VERSION MIN=min MAX=max` with no credentials.
    pub fn new(min: Version, max: Version) -> Self {
        Hello {
            min: Some(min),
            max: Some(max),
            user: None,
            password: None,
            extra: Vec::new(),
        }
    }
}

sam_message! {
    /// `DEST GENERATE [SIGNATURE_TYPE=] [CRYPTO_TYPE=]`: new keys, no session needed.
    pub struct DestGenerate = "DEST" "GENERATE", command: true {
        /// Signature type (bridges default to DSA_SHA1; ask for Ed25519).
        opt signature_type: SigType = "SIGNATURE_TYPE",
        /// Encryption type recorded in the key certificate (i2pd only; 0 = ElGamal, 4 = X25519).
        opt crypto_type: u16 = "CRYPTO_TYPE",
    }
}

impl DestGenerate<'_> {
    /// `DEST GENERATE SIGNATURE_TYPE=<sig>`.
    pub fn new(signature_type: SigType) -> Self {
        DestGenerate {
            signature_type: Some(signature_type),
            crypto_type: None,
            extra: Vec::new(),
        }
    }
}

sam_message! {
    /// `NAMING LOOKUP NAME= [OPTIONS=true]`: resolve a host name, a `.b32.i2p` or `ME`.
    pub struct NamingLookup = "NAMING" "LOOKUP", command: true {
        /// The name.
        req name: Cow<'a, str> = "NAME",
        /// Ask for the leaseset options too (API 0.9.66).
        opt options: bool = "OPTIONS",
    }
}

impl<'a> NamingLookup<'a> {
    /// Looks up `name`.
    pub fn new(name: impl Into<Cow<'a, str>>) -> Self {
        NamingLookup {
            name: name.into(),
            options: None,
            extra: Vec::new(),
        }
    }
}

sam_message! {
    /// `SESSION CREATE STYLE= ID= DESTINATION= ...`: a session on this control socket.
    pub struct SessionCreate = "SESSION" "CREATE", command: true {
        /// The session style.
        req style: SessionStyle = "STYLE",
        /// The nickname, unique on the bridge.
        req id: SessionId<'a> = "ID",
        /// `TRANSIENT` or the private key blob in I2P base64; never printed by `Debug`.
        req destination: Secret<'a> = "DESTINATION",
        /// Signature type of a `TRANSIENT` destination.
        opt signature_type: SigType = "SIGNATURE_TYPE",
        /// Encryption type of a `TRANSIENT` destination (i2pd).
        opt crypto_type: u16 = "CRYPTO_TYPE",
        /// UDP port to forward datagrams to (DATAGRAM/RAW).
        opt port: u16 = "PORT",
        /// Host to forward datagrams to (an IP literal for i2pd).
        opt host: Cow<'a, str> = "HOST",
        /// Default I2CP source port (3.2).
        opt from_port: u16 = "FROM_PORT",
        /// Default I2CP destination port (3.2).
        opt to_port: u16 = "TO_PORT",
        /// RAW protocol number (3.2).
        opt protocol: u8 = "PROTOCOL",
        /// RAW: forward a header line with ports and protocol (3.2, Java).
        opt header: bool = "HEADER",
    }
}

impl<'a> SessionCreate<'a> {
    /// A session of `style` named `id` with `destination` (`TRANSIENT` or a private key blob).
    pub fn new(style: SessionStyle, id: SessionId<'a>, destination: Secret<'a>) -> Self {
        SessionCreate {
            style,
            id,
            destination,
            signature_type: None,
            crypto_type: None,
            port: None,
            host: None,
            from_port: None,
            to_port: None,
            protocol: None,
            header: None,
            extra: Vec::new(),
        }
    }
}

sam_message! {
    /// `SESSION ADD STYLE= ID= ...`: a sub-session of a PRIMARY session (3.3).
    pub struct SessionAdd = "SESSION" "ADD", command: true {
        /// The sub-session style.
        req style: SessionStyle = "STYLE",
        /// The sub-session nickname, unique on the bridge.
        req id: SessionId<'a> = "ID",
        /// UDP port to forward datagrams to.
        opt port: u16 = "PORT",
        /// Host to forward datagrams to.
        opt host: Cow<'a, str> = "HOST",
        /// Default I2CP source port.
        opt from_port: u16 = "FROM_PORT",
        /// Default I2CP destination port.
        opt to_port: u16 = "TO_PORT",
        /// RAW protocol number.
        opt protocol: u8 = "PROTOCOL",
        /// Inbound port filter.
        opt listen_port: u16 = "LISTEN_PORT",
        /// Inbound RAW protocol filter.
        opt listen_protocol: u8 = "LISTEN_PROTOCOL",
        /// RAW header forwarding.
        opt header: bool = "HEADER",
    }
}

impl<'a> SessionAdd<'a> {
    /// A sub-session of `style` named `id`.
    pub fn new(style: SessionStyle, id: SessionId<'a>) -> Self {
        SessionAdd {
            style,
            id,
            port: None,
            host: None,
            from_port: None,
            to_port: None,
            protocol: None,
            listen_port: None,
            listen_protocol: None,
            header: None,
            extra: Vec::new(),
        }
    }
}

sam_message! {
    /// `SESSION REMOVE ID=`: drop a sub-session (3.3).
    pub struct SessionRemove = "SESSION" "REMOVE", command: true {
        /// The sub-session nickname.
        req id: SessionId<'a> = "ID",
    }
}

sam_message! {
    /// `STREAM CONNECT ID= DESTINATION= [SILENT=] [FROM_PORT=] [TO_PORT=]`.
    pub struct StreamConnect = "STREAM" "CONNECT", command: true {
        /// The session nickname.
        req id: SessionId<'a> = "ID",
        /// Base64 destination, `.b32.i2p` address or host name.
        req destination: Cow<'a, str> = "DESTINATION",
        /// No status line; data flows at once (failures look like EOF).
        opt silent: bool = "SILENT",
        /// I2CP source port (3.2).
        opt from_port: u16 = "FROM_PORT",
        /// I2CP destination port (3.2).
        opt to_port: u16 = "TO_PORT",
    }
}

impl<'a> StreamConnect<'a> {
    /// Connects session `id` to `destination`.
    pub fn new(id: SessionId<'a>, destination: impl Into<Cow<'a, str>>) -> Self {
        StreamConnect {
            id,
            destination: destination.into(),
            silent: None,
            from_port: None,
            to_port: None,
            extra: Vec::new(),
        }
    }
}

sam_message! {
    /// `STREAM ACCEPT ID= [SILENT=]`.
    pub struct StreamAccept = "STREAM" "ACCEPT", command: true {
        /// The session nickname.
        req id: SessionId<'a> = "ID",
        /// No status line and no peer line: data flows at once.
        opt silent: bool = "SILENT",
    }
}

impl<'a> StreamAccept<'a> {
    /// Accepts one stream on session `id`.
    pub fn new(id: SessionId<'a>) -> Self {
        StreamAccept {
            id,
            silent: None,
            extra: Vec::new(),
        }
    }
}

sam_message! {
    /// `STREAM FORWARD ID= PORT= [HOST=] [SILENT=] [SSL=]`.
    pub struct StreamForward = "STREAM" "FORWARD", command: true {
        /// The session nickname.
        req id: SessionId<'a> = "ID",
        /// Local TCP port the bridge connects to for each incoming stream.
        req port: u16 = "PORT",
        /// Local host (defaults to the address the command came from).
        opt host: Cow<'a, str> = "HOST",
        /// No peer line before the data.
        opt silent: bool = "SILENT",
        /// Connect with TLS (Java, 3.2).
        opt ssl: bool = "SSL",
    }
}

impl<'a> StreamForward<'a> {
    /// Forwards session `id`'s incoming streams to local `port`.
    pub fn new(id: SessionId<'a>, port: u16) -> Self {
        StreamForward {
            id,
            port,
            host: None,
            silent: None,
            ssl: None,
            extra: Vec::new(),
        }
    }
}

sam_message! {
    /// `DATAGRAM SEND DESTINATION= SIZE= ...` followed by SIZE payload bytes (control socket).
    pub struct DatagramSend = "DATAGRAM" "SEND", command: true {
        /// Base64 destination.
        req destination: Cow<'a, str> = "DESTINATION",
        /// Payload length in bytes.
        req size: usize = "SIZE",
        /// I2CP source port (3.2).
        opt from_port: u16 = "FROM_PORT",
        /// I2CP destination port (3.2).
        opt to_port: u16 = "TO_PORT",
    }
}

sam_message! {
    /// `RAW SEND DESTINATION= SIZE= ...` followed by SIZE payload bytes (control socket).
    pub struct RawSend = "RAW" "SEND", command: true {
        /// Base64 destination.
        req destination: Cow<'a, str> = "DESTINATION",
        /// Payload length in bytes.
        req size: usize = "SIZE",
        /// I2CP source port (3.2).
        opt from_port: u16 = "FROM_PORT",
        /// I2CP destination port (3.2).
        opt to_port: u16 = "TO_PORT",
        /// I2CP protocol (3.2).
        opt protocol: u8 = "PROTOCOL",
    }
}

/// `PING [text]` (3.2), sent by either side; the other answers [`Pong`] with the same text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ping<'a> {
    /// Everything after `PING `, verbatim.
    pub text: Option<Cow<'a, str>>,
}

/// `PONG [text]`: the answer to [`Ping`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pong<'a> {
    /// The text of the `PING` it answers.
    pub text: Option<Cow<'a, str>>,
}

macro_rules! ping_like {
    ($name:ident, $verb:literal) => {
        impl<'a> Message<'a> for $name<'a> {
            const KIND: &'static str = $verb;
            const IS_COMMAND: bool = true;
            fn from_line(line: &Line<'a>) -> Result<Self, Error> {
                if !line.verb().eq_ignore_ascii_case($verb) {
                    return Err(Error::UnexpectedLine {
                        expected: $verb,
                        got: line.describe(),
                    });
                }
                Ok($name {
                    text: line.ping_text().map(Cow::Borrowed),
                })
            }
            fn write(&self, w: &mut Writer<'_>) -> Result<(), Error> {
                w.word($verb);
                match &self.text {
                    // An empty text would read back as no text; write it as none.
                    Some(t) if t.is_empty() => Err(Error::Unencodable {
                        field: $verb,
                        reason: "empty text (leave it out instead)",
                    }),
                    Some(t) => w.tail($verb, t),
                    None => Ok(()),
                }
            }
        }

        impl $name<'_> {
            /// A copy that owns its text.
            pub fn into_owned(self) -> $name<'static> {
                $name {
                    text: self.text.map(|t| Cow::Owned(t.into_owned())),
                }
            }
        }
    };
}
ping_like!(Ping, "PING");
ping_like!(Pong, "PONG");

/// `QUIT` (3.2, Java): end the session and close. i2pd just closes the socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Quit;

impl<'a> Message<'a> for Quit {
    const KIND: &'static str = "QUIT";
    const IS_COMMAND: bool = true;
    fn from_line(line: &Line<'a>) -> Result<Self, Error> {
        if line.verb().eq_ignore_ascii_case("QUIT") && line.action().is_none() {
            Ok(Quit)
        } else {
            Err(Error::UnexpectedLine {
                expected: "QUIT",
                got: line.describe(),
            })
        }
    }
    fn write(&self, w: &mut Writer<'_>) -> Result<(), Error> {
        w.word("QUIT");
        Ok(())
    }
}

/// Any client-to-bridge command, for code that reads commands (bridges, test servers).
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum Command<'a> {
    Hello(Hello<'a>),
    DestGenerate(DestGenerate<'a>),
    NamingLookup(NamingLookup<'a>),
    SessionCreate(SessionCreate<'a>),
    SessionAdd(SessionAdd<'a>),
    SessionRemove(SessionRemove<'a>),
    StreamConnect(StreamConnect<'a>),
    StreamAccept(StreamAccept<'a>),
    StreamForward(StreamForward<'a>),
    DatagramSend(DatagramSend<'a>),
    RawSend(RawSend<'a>),
    Ping(Ping<'a>),
    Pong(Pong<'a>),
    Quit(Quit),
}

impl<'a> Command<'a> {
    /// Reads one command line.
    pub fn parse(bytes: &'a [u8]) -> Result<Command<'a>, Error> {
        let line = Line::parse(bytes)?;
        let v = line.verb();
        let a = line.action().unwrap_or("");
        let is = |x: &str, y: &str| v.eq_ignore_ascii_case(x) && a.eq_ignore_ascii_case(y);
        Ok(if is("HELLO", "VERSION") {
            Command::Hello(Hello::from_line(&line)?)
        } else if is("DEST", "GENERATE") {
            Command::DestGenerate(DestGenerate::from_line(&line)?)
        } else if is("NAMING", "LOOKUP") {
            Command::NamingLookup(NamingLookup::from_line(&line)?)
        } else if is("SESSION", "CREATE") {
            Command::SessionCreate(SessionCreate::from_line(&line)?)
        } else if is("SESSION", "ADD") {
            Command::SessionAdd(SessionAdd::from_line(&line)?)
        } else if is("SESSION", "REMOVE") {
            Command::SessionRemove(SessionRemove::from_line(&line)?)
        } else if is("STREAM", "CONNECT") {
            Command::StreamConnect(StreamConnect::from_line(&line)?)
        } else if is("STREAM", "ACCEPT") {
            Command::StreamAccept(StreamAccept::from_line(&line)?)
        } else if is("STREAM", "FORWARD") {
            Command::StreamForward(StreamForward::from_line(&line)?)
        } else if is("DATAGRAM", "SEND") {
            Command::DatagramSend(DatagramSend::from_line(&line)?)
        } else if is("RAW", "SEND") {
            Command::RawSend(RawSend::from_line(&line)?)
        } else if v.eq_ignore_ascii_case("PING") {
            Command::Ping(Ping::from_line(&line)?)
        } else if v.eq_ignore_ascii_case("PONG") {
            Command::Pong(Pong::from_line(&line)?)
        } else if v.eq_ignore_ascii_case("QUIT") {
            Command::Quit(Quit::from_line(&line)?)
        } else {
            return Err(Error::UnexpectedLine {
                expected: "a SAM command",
                got: line.describe(),
            });
        })
    }

    /// Appends the command line to `out` (see [`Message::encode`]).
    pub fn encode(&self, version: Version, out: &mut Vec<u8>) -> Result<(), Error> {
        match self {
            Command::Hello(m) => m.encode(version, out),
            Command::DestGenerate(m) => m.encode(version, out),
            Command::NamingLookup(m) => m.encode(version, out),
            Command::SessionCreate(m) => m.encode(version, out),
            Command::SessionAdd(m) => m.encode(version, out),
            Command::SessionRemove(m) => m.encode(version, out),
            Command::StreamConnect(m) => m.encode(version, out),
            Command::StreamAccept(m) => m.encode(version, out),
            Command::StreamForward(m) => m.encode(version, out),
            Command::DatagramSend(m) => m.encode(version, out),
            Command::RawSend(m) => m.encode(version, out),
            Command::Ping(m) => m.encode(version, out),
            Command::Pong(m) => m.encode(version, out),
            Command::Quit(m) => m.encode(version, out),
        }
    }
}

/// Shorthand for building option lists: `options([("inbound.length", "0")])`.
pub fn options<'a, I, K, V>(pairs: I) -> Vec<KeyValue<'a>>
where
    I: IntoIterator<Item = (K, V)>,
    K: Into<Cow<'a, str>>,
    V: Into<Cow<'a, str>>,
{
    pairs
        .into_iter()
        .map(|(k, v)| KeyValue::new(k, v))
        .collect()
}
