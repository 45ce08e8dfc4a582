//! The one error type of the protocol layer.

use alloc::string::String;
use core::fmt;

use crate::keys::KeyError;
use crate::result::ResultCode;
use crate::types::Version;

/// Everything that can go wrong while reading or writing SAM.
///
/// Input from a bridge never panics the parser: every malformed, hostile or truncated input
/// ends in one of these variants. Encoding refuses values that would change the meaning of a
/// line ([`Error::Unencodable`]) before a single byte is written.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// A line grew past the limit without a `\n`.
    LineTooLong {
        /// The limit in bytes.
        limit: usize,
    },
    /// A line is not valid UTF-8.
    NotUtf8,
    /// A line breaks the SAM grammar (the reason says how).
    Syntax(&'static str),
    /// The same key appears twice in one line (ambiguous, so refused).
    DuplicateKey(String),
    /// A line of another kind than the one the exchange waits for.
    UnexpectedLine {
        /// What the exchange waited for, e.g. `"STREAM STATUS"`.
        expected: &'static str,
        /// The start of the line that came instead (at most 80 characters).
        got: String,
    },
    /// A required key is missing.
    MissingKey {
        /// The line kind, e.g. `"SESSION STATUS"`.
        line: &'static str,
        /// The key, e.g. `"DESTINATION"`.
        key: &'static str,
    },
    /// A value could not be read as what its key means.
    BadValue {
        /// The key whose value is bad.
        key: &'static str,
        /// What is wrong.
        reason: &'static str,
    },
    /// The bridge answered with a result other than `OK`.
    Refused {
        /// The reply line kind, e.g. `"SESSION STATUS"`.
        reply: &'static str,
        /// The `RESULT` value.
        result: ResultCode,
        /// The bridge's `MESSAGE`, when it sent one.
        message: Option<String>,
    },
    /// The bridge closed the connection before the exchange finished.
    Eof {
        /// What the exchange was waiting for.
        during: &'static str,
    },
    /// A value given to the encoder cannot be written without changing the line.
    Unencodable {
        /// The field (SAM key or part) that was refused.
        field: &'static str,
        /// Why.
        reason: &'static str,
    },
    /// Key material is malformed.
    Key(KeyError),
    /// The control socket already has a command in flight (SAM allows one at a time).
    Busy,
    /// The exchange was used after it finished, or finished before it was done.
    Misuse(&'static str),
    /// The command exists only from a later SAM version than the one negotiated, so it was
    /// not sent (a bridge that does not know it may close the socket).
    NeedsVersion {
        /// The command, e.g. `"PING"`.
        command: &'static str,
        /// The first SAM version that has it.
        needs: Version,
        /// The version the bridge agreed to.
        negotiated: Version,
    },
    /// A RAW protocol number that belongs to another I2CP protocol (6 streaming, 17 DATAGRAM,
    /// 19 DATAGRAM2, 20 DATAGRAM3); refused before anything is sent, as the SAM spec forbids it.
    ForbiddenProtocol(u8),
    /// A command the session's style does not have (`DATAGRAM SEND` on the control socket of
    /// a `DATAGRAM2`/`DATAGRAM3` session: the spec defines them over UDP only); not sent.
    NotForStyle {
        /// The command, e.g. `"DATAGRAM SEND"`.
        command: &'static str,
        /// The session's `STYLE=` word, e.g. `"DATAGRAM3"`.
        style: &'static str,
    },
}

impl Error {
    /// The SAM `RESULT` code when the bridge refused, else `None`.
    pub fn result_code(&self) -> Option<&ResultCode> {
        match self {
            Error::Refused { result, .. } => Some(result),
            _ => None,
        }
    }
}

impl From<KeyError> for Error {
    fn from(e: KeyError) -> Self {
        Error::Key(e)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::LineTooLong { limit } => {
                write!(f, "SAM line longer than {limit} bytes without a newline")
            }
            Error::NotUtf8 => f.write_str("SAM line is not valid UTF-8"),
            Error::Syntax(reason) => write!(f, "malformed SAM line: {reason}"),
            Error::DuplicateKey(key) => write!(f, "malformed SAM line: key {key} appears twice"),
            Error::UnexpectedLine { expected, got } => {
                write!(
                    f,
                    "expected a {expected} line from the SAM bridge, got {got:?}"
                )
            }
            Error::MissingKey { line, key } => write!(f, "{line} line without {key}"),
            Error::BadValue { key, reason } => write!(f, "bad {key} value: {reason}"),
            Error::Refused {
                reply,
                result,
                message,
            } => {
                write!(f, "SAM bridge refused: {reply} RESULT={result}")?;
                if let Some(m) = message {
                    write!(f, " ({m})")?;
                }
                Ok(())
            }
            Error::Eof { during } => {
                write!(
                    f,
                    "SAM bridge closed the connection while waiting for {during}"
                )
            }
            Error::Unencodable { field, reason } => {
                write!(f, "cannot send {field}: {reason}")
            }
            Error::Key(e) => write!(f, "{e}"),
            Error::Busy => f.write_str("a command is already in flight on this SAM socket"),
            Error::Misuse(what) => write!(f, "SAM exchange misuse: {what}"),
            Error::NeedsVersion {
                command,
                needs,
                negotiated,
            } => write!(
                f,
                "{command} needs SAM {needs}, but the bridge negotiated {negotiated}"
            ),
            Error::ForbiddenProtocol(p) => write!(
                f,
                "RAW PROTOCOL={p} is not allowed (6, 17, 19 and 20 belong to streaming and the \
                 repliable datagram styles)"
            ),
            Error::NotForStyle { command, style } => write!(
                f,
                "{command} is not available to a STYLE={style} session (send its datagrams \
                 over UDP)"
            ),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Key(e) => Some(e),
            _ => None,
        }
    }
}
