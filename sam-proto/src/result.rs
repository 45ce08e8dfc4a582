//! `RESULT=` codes.

use alloc::string::String;
use core::fmt;

/// A SAM `RESULT` value.
///
/// Every value seen in the specification, the Java bridge, i2pd and emissary has a variant;
/// anything else is kept verbatim in [`ResultCode::Other`]. Spelling variants are kept apart
/// so that a line re-encodes exactly (emissary writes `DUPLICATE_ID` where the others write
/// `DUPLICATED_ID`); use [`ResultCode::is_duplicate_id`] and friends to test the meaning.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ResultCode {
    /// `OK`
    Ok,
    /// `CANT_REACH_PEER`
    CantReachPeer,
    /// `DUPLICATED_ID` (spec, Java, i2pd)
    DuplicatedId,
    /// `DUPLICATE_ID` (emissary)
    DuplicateId,
    /// `DUPLICATED_DEST` (spec, Java, i2pd)
    DuplicatedDest,
    /// `DUPLICATE_DEST` (emissary)
    DuplicateDest,
    /// `I2P_ERROR`
    I2pError,
    /// `INVALID_ID`
    InvalidId,
    /// `INVALID_KEY`
    InvalidKey,
    /// `KEY_NOT_FOUND`
    KeyNotFound,
    /// `PEER_NOT_FOUND`
    PeerNotFound,
    /// `LEASESET_NOT_FOUND`
    LeasesetNotFound,
    /// `TIMEOUT`
    Timeout,
    /// `ALREADY_ACCEPTING`
    AlreadyAccepting,
    /// `CONNECTION_REFUSED` (Java)
    ConnectionRefused,
    /// `NOVERSION`
    NoVersion,
    /// Any other value, verbatim.
    Other(String),
}

const TABLE: &[(&str, ResultCode)] = &[
    ("OK", ResultCode::Ok),
    ("CANT_REACH_PEER", ResultCode::CantReachPeer),
    ("DUPLICATED_ID", ResultCode::DuplicatedId),
    ("DUPLICATE_ID", ResultCode::DuplicateId),
    ("DUPLICATED_DEST", ResultCode::DuplicatedDest),
    ("DUPLICATE_DEST", ResultCode::DuplicateDest),
    ("I2P_ERROR", ResultCode::I2pError),
    ("INVALID_ID", ResultCode::InvalidId),
    ("INVALID_KEY", ResultCode::InvalidKey),
    ("KEY_NOT_FOUND", ResultCode::KeyNotFound),
    ("PEER_NOT_FOUND", ResultCode::PeerNotFound),
    ("LEASESET_NOT_FOUND", ResultCode::LeasesetNotFound),
    ("TIMEOUT", ResultCode::Timeout),
    ("ALREADY_ACCEPTING", ResultCode::AlreadyAccepting),
    ("CONNECTION_REFUSED", ResultCode::ConnectionRefused),
    ("NOVERSION", ResultCode::NoVersion),
];

impl ResultCode {
    /// Reads a `RESULT` value (case-sensitive, as the protocol is).
    pub fn from_wire(text: &str) -> ResultCode {
        TABLE
            .iter()
            .find(|(name, _)| *name == text)
            .map(|(_, code)| code.clone())
            .unwrap_or_else(|| ResultCode::Other(String::from(text)))
    }

    /// The text written on the wire.
    pub fn as_str(&self) -> &str {
        match self {
            ResultCode::Other(s) => s,
            known => TABLE
                .iter()
                .find(|(_, code)| code == known)
                .map(|(name, _)| *name)
                .unwrap_or("I2P_ERROR"),
        }
    }

    /// `true` for `OK`.
    pub fn is_ok(&self) -> bool {
        *self == ResultCode::Ok
    }

    /// `true` for either spelling of "this session ID is taken".
    pub fn is_duplicate_id(&self) -> bool {
        matches!(self, ResultCode::DuplicatedId | ResultCode::DuplicateId)
    }

    /// `true` for either spelling of "this destination is already in use".
    pub fn is_duplicate_dest(&self) -> bool {
        matches!(self, ResultCode::DuplicatedDest | ResultCode::DuplicateDest)
    }

    /// `true` for the three ways bridges say a name does not resolve
    /// (`INVALID_KEY` from i2pd, `KEY_NOT_FOUND` from Java, `LEASESET_NOT_FOUND`).
    pub fn is_not_found(&self) -> bool {
        matches!(
            self,
            ResultCode::InvalidKey | ResultCode::KeyNotFound | ResultCode::LeasesetNotFound
        )
    }
}

impl fmt::Display for ResultCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_known_code_round_trips_and_unknown_is_kept() {
        for (name, code) in TABLE {
            assert_eq!(ResultCode::from_wire(name), *code);
            assert_eq!(code.as_str(), *name);
        }
        let other = ResultCode::from_wire("SOMETHING_NEW");
        assert_eq!(other, ResultCode::Other("SOMETHING_NEW".into()));
        assert_eq!(other.as_str(), "SOMETHING_NEW");
        assert!(ResultCode::DuplicateId.is_duplicate_id());
        assert!(ResultCode::DuplicatedId.is_duplicate_id());
        assert!(ResultCode::DuplicateDest.is_duplicate_dest());
        assert!(ResultCode::KeyNotFound.is_not_found());
        assert!(!ResultCode::Ok.is_not_found());
    }
}
