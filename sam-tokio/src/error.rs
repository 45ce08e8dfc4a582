//! The error type of this crate.

use std::io;
use std::time::Duration;

use sam_proto::keys::KeyError;
use sam_proto::ResultCode;

/// `Result` with this crate's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

/// Everything that can go wrong while talking to a SAM bridge.
///
/// `thiserror` derives `Display` and `std::error::Error` (with `source()` chains) so that the
/// messages below stay next to the variants they describe.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Nothing accepted a TCP connection at the bridge address.
    #[error(
        "no SAM bridge answers at {address}: is i2pd running, or SAM enabled in the Java router console?"
    )]
    Unreachable {
        /// The address that was tried.
        address: String,
        /// What the operating system said.
        #[source]
        source: io::Error,
    },
    /// Reading from or writing to a socket failed.
    #[error("I/O error on a SAM socket: {0}")]
    Io(#[from] io::Error),
    /// The bridge sent something that is not valid SAM (or closed the socket mid-answer).
    #[error("SAM protocol error: {0}")]
    Protocol(#[source] sam_proto::Error),
    /// The bridge answered with a `RESULT` other than `OK`.
    #[error(
        "{operation} refused by the SAM bridge: RESULT={result}{}",
        message_suffix(message)
    )]
    Refused {
        /// What was asked: the command, e.g. `SESSION CREATE`.
        operation: &'static str,
        /// The bridge's `RESULT` (see [`ResultCode::is_not_found`] and friends).
        result: ResultCode,
        /// The bridge's `MESSAGE`, when it sent one.
        message: Option<String>,
    },
    /// The bridge did not answer in time.
    #[error("{operation} timed out after {after:?}")]
    Timeout {
        /// What was asked: the command, e.g. `SESSION CREATE`.
        operation: &'static str,
        /// The timeout that expired.
        after: Duration,
    },
    /// The session's control socket is closed: the bridge ended the session, or
    /// [`Session::close`](crate::Session::close) was called.
    #[error("the SAM session is closed")]
    SessionClosed,
    /// Key material (a key file, a destination) could not be read.
    #[error("invalid I2P key material: {0}")]
    Key(#[from] KeyError),
    /// A value given to this library cannot be sent (for example a name with a newline).
    #[error("invalid input: {0}")]
    InvalidInput(String),
}

fn message_suffix(message: &Option<String>) -> String {
    match message {
        Some(m) => {
            let mut s = String::with_capacity(m.len() + 3);
            s.push_str(" (");
            s.push_str(m);
            s.push(')');
            s
        }
        None => String::new(),
    }
}

impl Error {
    /// The bridge's `RESULT` when it refused, else `None`.
    pub fn result_code(&self) -> Option<&ResultCode> {
        match self {
            Error::Refused { result, .. } => Some(result),
            _ => None,
        }
    }

    /// Converts a protocol-layer error that happened during `operation`.
    ///
    /// A refusal keeps the bridge's code and message, a value the encoder refused becomes
    /// [`Error::InvalidInput`], everything else (malformed bridge input, early EOF) is
    /// [`Error::Protocol`].
    pub(crate) fn proto(operation: &'static str, e: sam_proto::Error) -> Error {
        match e {
            sam_proto::Error::Refused {
                result, message, ..
            } => Error::Refused {
                operation,
                result,
                message,
            },
            e @ sam_proto::Error::Unencodable { .. } => Error::InvalidInput(e.to_string()),
            e => Error::Protocol(e),
        }
    }
}
