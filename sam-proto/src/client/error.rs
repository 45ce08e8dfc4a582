//! The error every client adapter returns (re-exported by each as `Error`).

use std::io;
use std::string::{String, ToString};
use std::time::Duration;
use std::{error, fmt};

use crate::keys::KeyError;
use crate::result::ResultCode;
use crate::types::Version;

/// `Result` with [`ClientError`].
pub type ClientResult<T> = Result<T, ClientError>;

/// Everything that can go wrong while talking to a SAM bridge, in any runtime.
///
/// The three adapters (`sam-tokio`, `sam-async-std`, `sam-blocking`) re-export this type as
/// their `Error`, so code that matches on errors does not change with the runtime.
#[derive(Debug)]
#[non_exhaustive]
pub enum ClientError {
    /// Nothing accepted a TCP connection at the bridge address.
    Unreachable {
        /// The address that was tried.
        address: String,
        /// What the operating system said.
        source: io::Error,
    },
    /// Reading from or writing to a socket failed.
    Io(io::Error),
    /// The bridge sent something that is not valid SAM (or closed the socket mid-answer).
    Protocol(crate::Error),
    /// The bridge answered with a `RESULT` other than `OK`. Match on the code with
    /// [`ClientError::result_code`], [`ClientError::is_duplicate_dest`] (a `SESSION CREATE`
    /// from keys another session still holds: wait for it to end, then retry) and
    /// [`ClientError::is_duplicate_id`].
    Refused {
        /// What was asked: the command, e.g. `SESSION CREATE`.
        operation: &'static str,
        /// The bridge's `RESULT` (see [`ResultCode::is_not_found`] and friends).
        result: ResultCode,
        /// The bridge's `MESSAGE`, when it sent one.
        message: Option<String>,
    },
    /// The bridge did not answer in time.
    Timeout {
        /// What was asked: the command, e.g. `SESSION CREATE`.
        operation: &'static str,
        /// The timeout that expired.
        after: Duration,
    },
    /// The session's control socket is closed: the bridge ended the session, or the session
    /// was closed by its owner.
    SessionClosed,
    /// Key material (a key file, a destination) could not be read.
    Key(KeyError),
    /// A value given to this library cannot be sent (for example a name with a newline).
    InvalidInput(String),
    /// The operation needs a later SAM version than the bridge agreed to (for example `PING`
    /// on a SAM 3.1 bridge); nothing was sent.
    NeedsVersion {
        /// What was asked, e.g. `PING`.
        operation: &'static str,
        /// The first SAM version that has it.
        needs: Version,
        /// The version the bridge agreed to.
        negotiated: Version,
    },
}

impl ClientError {
    /// The bridge's `RESULT` when it refused, else `None`.
    pub fn result_code(&self) -> Option<&ResultCode> {
        match self {
            ClientError::Refused { result, .. } => Some(result),
            _ => None,
        }
    }

    /// `true` when the bridge refused because the destination is already in use
    /// (`DUPLICATED_DEST`, or emissary's `DUPLICATE_DEST`): a `SESSION CREATE` from keys that
    /// another session on this bridge still holds (Java; i2pd shares the destination instead).
    ///
    /// What to do: end the other session (or, after your own `close()`, give the bridge a
    /// moment to tear the destination down), then create again; the refusal changes nothing
    /// on the bridge. A `Service` does this by itself, waiting at least
    /// [`RecoveryPolicy::duplicate_wait`](super::RecoveryPolicy::duplicate_wait) between tries.
    pub fn is_duplicate_dest(&self) -> bool {
        self.result_code()
            .is_some_and(ResultCode::is_duplicate_dest)
    }

    /// `true` when the bridge refused because the session ID is taken (`DUPLICATED_ID`, or
    /// emissary's `DUPLICATE_ID`): pick another ID, or wait for the old session to end.
    pub fn is_duplicate_id(&self) -> bool {
        self.result_code().is_some_and(ResultCode::is_duplicate_id)
    }

    /// Converts a protocol-layer error that happened during `operation` (for the adapters).
    ///
    /// A refusal keeps the bridge's code and message, a value the encoder refused becomes
    /// [`ClientError::InvalidInput`], everything else (malformed bridge input, early EOF) is
    /// [`ClientError::Protocol`].
    #[doc(hidden)]
    pub fn proto(operation: &'static str, e: crate::Error) -> ClientError {
        match e {
            crate::Error::Refused {
                result, message, ..
            } => ClientError::Refused {
                operation,
                result,
                message,
            },
            e @ crate::Error::Unencodable { .. } => ClientError::InvalidInput(e.to_string()),
            crate::Error::Key(k) => ClientError::Key(k),
            crate::Error::NeedsVersion {
                needs, negotiated, ..
            } => ClientError::NeedsVersion {
                operation,
                needs,
                negotiated,
            },
            e => ClientError::Protocol(e),
        }
    }

    /// `true` when a `SESSION CREATE` sent with style `sent` failed in a way that calls for a
    /// retry with `MASTER` (see [`super::retry_primary_as_master`]).
    #[doc(hidden)]
    pub fn is_primary_refusal(&self, sent: &crate::types::SessionStyle) -> bool {
        match self {
            ClientError::Refused { result, .. } => {
                *sent == crate::types::SessionStyle::Primary && *result == ResultCode::I2pError
            }
            _ => false,
        }
    }

    /// A failure of a session's stream operation: [`ClientError::SessionClosed`] when the
    /// session has closed meanwhile (which is what ended the operation), else `self`.
    #[doc(hidden)]
    pub fn or_closed(self, session_closed: bool) -> ClientError {
        if session_closed {
            ClientError::SessionClosed
        } else {
            self
        }
    }

    /// The error for a TCP connect to `address` that failed with `source`.
    #[doc(hidden)]
    pub fn unreachable(address: &str, source: io::Error) -> ClientError {
        ClientError::Unreachable {
            address: String::from(address),
            source,
        }
    }
}

impl fmt::Display for ClientError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientError::Unreachable { address, .. } => write!(
                f,
                "no SAM bridge answers at {address}: is i2pd running, or SAM enabled in the Java router console?"
            ),
            ClientError::Io(_) => f.write_str("I/O error on a SAM socket"),
            ClientError::Protocol(_) => f.write_str("SAM protocol error"),
            ClientError::Refused {
                operation,
                result,
                message,
            } => {
                write!(f, "{operation} refused by the SAM bridge: RESULT={result}")?;
                if let Some(m) = message {
                    write!(f, " ({m})")?;
                }
                Ok(())
            }
            ClientError::Timeout { operation, after } => {
                write!(f, "{operation} timed out after {after:?}")
            }
            ClientError::SessionClosed => f.write_str("the SAM session is closed"),
            ClientError::Key(_) => f.write_str("invalid I2P key material"),
            ClientError::InvalidInput(e) => write!(f, "invalid input: {e}"),
            ClientError::NeedsVersion {
                operation,
                needs,
                negotiated,
            } => write!(
                f,
                "{operation} needs SAM {needs}, but the bridge agreed to {negotiated} only"
            ),
        }
    }
}

impl error::Error for ClientError {
    fn source(&self) -> Option<&(dyn error::Error + 'static)> {
        // The cause is the source, not part of the message, so an error-chain printer shows
        // it once (`{e}` alone reads "I/O error on a SAM socket"; `{e:#}`-style printers and
        // `source()` walkers reach the `io::Error` or the protocol error).
        match self {
            ClientError::Unreachable { source, .. } | ClientError::Io(source) => Some(source),
            ClientError::Protocol(e) => Some(e),
            ClientError::Key(e) => Some(e),
            _ => None,
        }
    }
}

impl From<io::Error> for ClientError {
    fn from(e: io::Error) -> Self {
        ClientError::Io(e)
    }
}

impl From<KeyError> for ClientError {
    fn from(e: KeyError) -> Self {
        ClientError::Key(e)
    }
}

impl From<ClientError> for io::Error {
    /// For code that must speak `io::Error` (an `AsyncRead` impl, say).
    fn from(e: ClientError) -> io::Error {
        match e {
            ClientError::Io(e) => e,
            ClientError::Timeout { .. } => io::Error::new(io::ErrorKind::TimedOut, e),
            ClientError::Unreachable { .. } => io::Error::new(io::ErrorKind::ConnectionRefused, e),
            e => io::Error::other(e),
        }
    }
}

impl From<crate::session::Failure> for ClientError {
    fn from(failure: crate::session::Failure) -> ClientError {
        use crate::session::Failure;
        match failure {
            Failure::Protocol { operation, error } => ClientError::proto(operation, error),
            Failure::Timeout { operation, after } => ClientError::Timeout { operation, after },
            Failure::SessionClosed => ClientError::SessionClosed,
            Failure::InvalidInput(why) => ClientError::InvalidInput(why),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::error::Error as _;
    use std::io;
    use std::string::ToString;

    use super::ClientError;
    use crate::result::ResultCode;

    #[test]
    fn duplicated_dest_is_a_refusal_users_can_match() {
        for (code, dest, id) in [
            (ResultCode::DuplicatedDest, true, false),
            (ResultCode::DuplicateDest, true, false),
            (ResultCode::DuplicatedId, false, true),
            (ResultCode::I2pError, false, false),
        ] {
            let e = ClientError::proto(
                "SESSION CREATE",
                crate::Error::Refused {
                    reply: "SESSION STATUS",
                    result: code.clone(),
                    message: None,
                },
            );
            assert!(matches!(&e, ClientError::Refused { result, .. } if *result == code));
            assert_eq!(
                (e.is_duplicate_dest(), e.is_duplicate_id()),
                (dest, id),
                "{code}"
            );
        }
        assert!(!ClientError::SessionClosed.is_duplicate_dest());
    }

    #[test]
    fn source_chains_reach_the_io_error_and_the_protocol_error() {
        let io = ClientError::Io(io::Error::new(io::ErrorKind::BrokenPipe, "pipe"));
        let cause = io.source().and_then(|e| e.downcast_ref::<io::Error>());
        assert_eq!(cause.map(io::Error::kind), Some(io::ErrorKind::BrokenPipe));
        // The message names the failure and leaves the cause to the chain (said once).
        assert_eq!(io.to_string(), "I/O error on a SAM socket");

        let unreachable =
            ClientError::unreachable("127.0.0.1:1", io::ErrorKind::ConnectionRefused.into());
        let cause = unreachable
            .source()
            .and_then(|e| e.downcast_ref::<io::Error>());
        assert_eq!(
            cause.map(io::Error::kind),
            Some(io::ErrorKind::ConnectionRefused)
        );

        let protocol = ClientError::Protocol(crate::Error::NotUtf8);
        let cause = protocol
            .source()
            .and_then(|e| e.downcast_ref::<crate::Error>());
        assert!(matches!(cause, Some(crate::Error::NotUtf8)), "{cause:?}");

        let key = ClientError::Key(crate::keys::KeyError::InvalidBase64);
        assert!(key
            .source()
            .and_then(|e| e.downcast_ref::<crate::keys::KeyError>())
            .is_some());
        assert!(ClientError::SessionClosed.source().is_none());
    }
}
