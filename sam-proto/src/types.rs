//! Small value types shared by commands and replies.

use alloc::borrow::Cow;
use alloc::string::String;
use core::fmt;
use core::str::FromStr;

use crate::error::Error;

/// A SAM protocol version such as `3.1`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Version {
    /// Major number (3 for every SAM v3 bridge).
    pub major: u8,
    /// Minor number.
    pub minor: u8,
}

impl Version {
    /// SAM 3.0
    pub const V3_0: Version = Version::new(3, 0);
    /// SAM 3.1: SIGNATURE_TYPE, RAW SEND.
    pub const V3_1: Version = Version::new(3, 1);
    /// SAM 3.2: ports, quoting and escapes, PING/PONG, USER/PASSWORD.
    pub const V3_2: Version = Version::new(3, 2);
    /// SAM 3.3: PRIMARY sessions with SESSION ADD/REMOVE.
    pub const V3_3: Version = Version::new(3, 3);

    /// A version from its two numbers.
    pub const fn new(major: u8, minor: u8) -> Version {
        Version { major, minor }
    }

    /// `true` when values may be quoted and escaped (3.2 and later).
    pub fn allows_quoting(self) -> bool {
        self >= Version::V3_2
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

impl FromStr for Version {
    type Err = Error;

    /// Reads `3`, `3.1`, `0.3` (i2pd's answer to `MAX=3`).
    fn from_str(s: &str) -> Result<Version, Error> {
        const BAD: Error = Error::BadValue {
            key: "VERSION",
            reason: "expected a version such as 3.1",
        };
        let (major, minor) = match s.split_once('.') {
            Some((a, b)) => (a, b),
            None => (s, "0"),
        };
        let num = |t: &str| -> Result<u8, Error> {
            if t.is_empty() || t.len() > 3 || !t.bytes().all(|b| b.is_ascii_digit()) {
                return Err(BAD);
            }
            t.parse().map_err(|_| BAD)
        };
        Ok(Version::new(num(major)?, num(minor)?))
    }
}

/// `STYLE=` of a session.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SessionStyle {
    /// `STREAM`: virtual TCP streams.
    Stream,
    /// `DATAGRAM`: repliable, authenticated datagrams.
    Datagram,
    /// `DATAGRAM2`: repliable datagrams with replay protection.
    Datagram2,
    /// `DATAGRAM3`: repliable, unauthenticated datagrams.
    Datagram3,
    /// `RAW`: anonymous datagrams.
    Raw,
    /// `PRIMARY`: a session that holds sub-sessions (Java; i2pd knows only `MASTER`).
    Primary,
    /// `MASTER`: the pre-0.9.47 name of `PRIMARY`, the only one i2pd accepts.
    Master,
    /// Any other style, verbatim.
    Other(String),
}

impl SessionStyle {
    /// The word on the wire.
    pub fn as_str(&self) -> &str {
        match self {
            SessionStyle::Stream => "STREAM",
            SessionStyle::Datagram => "DATAGRAM",
            SessionStyle::Datagram2 => "DATAGRAM2",
            SessionStyle::Datagram3 => "DATAGRAM3",
            SessionStyle::Raw => "RAW",
            SessionStyle::Primary => "PRIMARY",
            SessionStyle::Master => "MASTER",
            SessionStyle::Other(s) => s,
        }
    }

    /// Reads a style word (exact spelling).
    pub fn from_wire(s: &str) -> SessionStyle {
        match s {
            "STREAM" => SessionStyle::Stream,
            "DATAGRAM" => SessionStyle::Datagram,
            "DATAGRAM2" => SessionStyle::Datagram2,
            "DATAGRAM3" => SessionStyle::Datagram3,
            "RAW" => SessionStyle::Raw,
            "PRIMARY" => SessionStyle::Primary,
            "MASTER" => SessionStyle::Master,
            other => SessionStyle::Other(String::from(other)),
        }
    }

    /// `true` for `PRIMARY` and `MASTER`.
    pub fn is_primary(&self) -> bool {
        matches!(self, SessionStyle::Primary | SessionStyle::Master)
    }
}

impl fmt::Display for SessionStyle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A session nickname (`ID=`), checked so that every bridge accepts it.
///
/// Allowed: 1 to 128 ASCII characters from `A-Z a-z 0-9 - _ . ~ + : @ ! $ * ,`. That excludes
/// whitespace and `=` (they would change the line), quotes and backslashes (i2pd would take
/// them literally), and `< > " ' /` (i2pd answers `INVALID_ID`).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SessionId<'a>(pub(crate) Cow<'a, str>);

impl<'a> SessionId<'a> {
    /// Checks `id` and wraps it.
    pub fn new(id: impl Into<Cow<'a, str>>) -> Result<SessionId<'a>, Error> {
        let id = id.into();
        if id.is_empty() {
            return Err(Error::Unencodable {
                field: "ID",
                reason: "session ID is empty",
            });
        }
        if id.len() > 128 {
            return Err(Error::Unencodable {
                field: "ID",
                reason: "session ID is longer than 128 characters",
            });
        }
        if !id.bytes().all(is_id_byte) {
            return Err(Error::Unencodable {
                field: "ID",
                reason: "session ID may only hold A-Z a-z 0-9 and - _ . ~ + : @ ! $ * ,",
            });
        }
        Ok(SessionId(id))
    }

    /// The ID text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// A copy that owns its text.
    pub fn into_owned(self) -> SessionId<'static> {
        SessionId(Cow::Owned(self.0.into_owned()))
    }
}

fn is_id_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-_.~+:@!$*,".contains(&b)
}

impl fmt::Debug for SessionId<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", &*self.0)
    }
}

impl fmt::Display for SessionId<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for SessionId<'static> {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        SessionId::new(String::from(s))
    }
}

/// Text that must never be printed: a private key blob or a password.
///
/// `Debug` shows `<redacted>` (or `TRANSIENT`, which is no secret); there is no `Display`.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Secret<'a>(pub Cow<'a, str>);

impl<'a> Secret<'a> {
    /// Wraps text.
    pub fn new(text: impl Into<Cow<'a, str>>) -> Secret<'a> {
        Secret(text.into())
    }

    /// The secret text. Handle with care.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// A copy that owns its text.
    pub fn into_owned(self) -> Secret<'static> {
        Secret(Cow::Owned(self.0.into_owned()))
    }
}

impl fmt::Debug for Secret<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0 == "TRANSIENT" {
            f.write_str("TRANSIENT")
        } else {
            write!(f, "<redacted {} chars>", self.0.len())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::format;

    #[test]
    fn versions() {
        assert_eq!("3.1".parse::<Version>().unwrap(), Version::V3_1);
        assert_eq!("3".parse::<Version>().unwrap(), Version::V3_0);
        assert_eq!("0.3".parse::<Version>().unwrap(), Version::new(0, 3));
        assert!("3.x".parse::<Version>().is_err());
        assert!("".parse::<Version>().is_err());
        assert!("3.1.1".parse::<Version>().is_err());
        assert!(Version::V3_3 > Version::V3_1);
        assert_eq!(format!("{}", Version::V3_2), "3.2");
    }

    #[test]
    fn session_ids() {
        assert!(SessionId::new("abc-1_2").is_ok());
        for bad in ["", "a b", "a=b", "a\"b", "a/b", "a<b", "a\nb", "é"] {
            assert!(SessionId::new(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn secrets_are_redacted() {
        let s = Secret::new("AAAAsecretBBBB");
        assert!(!format!("{s:?}").contains("secret"));
        assert_eq!(format!("{:?}", Secret::new("TRANSIENT")), "TRANSIENT");
    }
}
