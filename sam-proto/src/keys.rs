//! I2P key formats: destinations, private key blobs, I2P base64 and `.b32.i2p` addresses.
//!
//! * [`Destination`] is the public identity (`KeysAndCert`): a 256-byte encryption key field, a 128-byte signing
//!   key field and a certificate (NULL or KEY). Its length is `387 + certificate length`.
//! * [`PrivateKeys`] is the `PRIV=` blob of `DEST GENERATE` / `SESSION CREATE`: destination, encryption private key,
//!   signing private key and, when the signing private key is all zero, an [`OfflineSignature`] section.
//! * [`B32Address`] is the SHA-256 hash of a destination, written as `<52 base32 chars>.b32.i2p`.
//!
//! All parsers are strict, never panic and report a typed [`KeyError`].

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;
use core::str::FromStr;

use base64::alphabet::Alphabet;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::Engine as _;
use sha2::{Digest, Sha256};

// ---------------------------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------------------------

/// Error returned when key material, a base64 string or an address cannot be parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyError {
    /// The text is not valid I2P base64 (alphabet `A-Z a-z 0-9 - ~`, padded with `=` to a multiple of 4).
    InvalidBase64,
    /// The text is not valid lowercase RFC 4648 base32 (alphabet `a-z 2-7`).
    InvalidBase32,
    /// The data ended early: `needed` bytes are required so far but only `got` are present.
    Truncated {
        /// Number of bytes needed to read the next field.
        needed: usize,
        /// Number of bytes actually present.
        got: usize,
    },
    /// The data is complete but `extra` unexpected bytes follow it.
    TrailingBytes {
        /// Number of bytes left over.
        extra: usize,
    },
    /// The signature type code is not one this library knows.
    UnknownSigType(u16),
    /// The signature type name (or number) is not recognised.
    UnknownSigTypeName,
    /// The certificate type is not NULL (0) or KEY (5).
    UnsupportedCertificate(u8),
    /// The certificate payload length does not match what its type and key types require.
    CertificateLength {
        /// Length required by the certificate type and the key types.
        expected: usize,
        /// Length found in the certificate header.
        got: usize,
    },
    /// The address is an extended (b33, blinded/encrypted leaseset) `.b32.i2p` address, which is not decoded here.
    BlindedAddress,
    /// The text is not of the form `<52 base32 chars>.b32.i2p`.
    InvalidAddress,
}

impl fmt::Display for KeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyError::InvalidBase64 => f.write_str(
                "invalid I2P base64: only A-Z, a-z, 0-9, '-' and '~' are allowed, padded with '=' to a multiple of \
                 4 characters (no '+', '/' or whitespace)",
            ),
            KeyError::InvalidBase32 => {
                f.write_str("invalid base32: only lowercase a-z and 2-7 are allowed, without padding")
            }
            KeyError::Truncated { needed, got } => write!(
                f,
                "key data is truncated: at least {needed} bytes are needed but only {got} were given"
            ),
            KeyError::TrailingBytes { extra } => write!(
                f,
                "key data has {extra} unexpected trailing byte(s); check that the right value was copied"
            ),
            KeyError::UnknownSigType(code) => write!(
                f,
                "unknown signature type {code}; supported types are 0 to 11 (7 = EdDSA_SHA512_Ed25519 is recommended)"
            ),
            KeyError::UnknownSigTypeName => f.write_str(
                "unknown signature type name; use a decimal code (e.g. 7) or a name such as EdDSA_SHA512_Ed25519",
            ),
            KeyError::UnsupportedCertificate(t) => write!(
                f,
                "unsupported destination certificate type {t}; only NULL (0) and KEY (5) certificates are supported"
            ),
            KeyError::CertificateLength { expected, got } => write!(
                f,
                "destination certificate has payload length {got} but its type requires {expected}"
            ),
            KeyError::BlindedAddress => f.write_str(
                "this is an extended (b33) address for an encrypted leaseset; it cannot be turned into a hash \
                 address, pass it to the router as a name instead",
            ),
            KeyError::InvalidAddress => {
                f.write_str("invalid address: expected 52 lowercase base32 characters followed by \".b32.i2p\"")
            }
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for KeyError {}

// ---------------------------------------------------------------------------------------------------------------
// Base64 / base32
// ---------------------------------------------------------------------------------------------------------------

const I2P_ALPHABET: Alphabet =
    match Alphabet::new("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-~") {
        Ok(alphabet) => alphabet,
        Err(_) => panic!("the I2P base64 alphabet is valid"),
    };

const I2P_BASE64: GeneralPurpose = GeneralPurpose::new(
    &I2P_ALPHABET,
    GeneralPurposeConfig::new()
        .with_encode_padding(true)
        .with_decode_padding_mode(DecodePaddingMode::RequireCanonical)
        .with_decode_allow_trailing_bits(false),
);

/// Encodes bytes as I2P base64 (`+` → `-`, `/` → `~`), padded with `=`.
pub fn base64_encode(bytes: &[u8]) -> String {
    I2P_BASE64.encode(bytes)
}

/// Decodes strict I2P base64.
///
/// The input must use the I2P alphabet only, be padded to a multiple of 4 characters and have zero trailing bits.
/// `+`, `/`, whitespace and any other character are rejected with [`KeyError::InvalidBase64`].
pub fn base64_decode(text: &str) -> Result<Vec<u8>, KeyError> {
    I2P_BASE64
        .decode(text.as_bytes())
        .map_err(|_| KeyError::InvalidBase64)
}

fn base32_char(value: u8) -> char {
    let v = value & 0x1f;
    if v < 26 {
        char::from(b'a' + v)
    } else {
        char::from(b'2' + (v - 26))
    }
}

fn base32_value(c: u8) -> Option<u8> {
    match c {
        b'a'..=b'z' => Some(c - b'a'),
        b'2'..=b'7' => Some(c - b'2' + 26),
        _ => None,
    }
}

/// Encodes bytes as lowercase RFC 4648 base32 (alphabet `a-z 2-7`) without `=` padding.
pub fn base32_encode_lower(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().saturating_mul(8).div_ceil(5));
    let mut buffer: u16 = 0;
    let mut bits: u32 = 0;
    for &byte in bytes {
        // `buffer` holds fewer than 5 bits here, so the shift cannot lose bits.
        buffer = (buffer << 8) | u16::from(byte);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            base32_push(&mut out, buffer >> bits);
            buffer &= (1u16 << bits) - 1;
        }
    }
    if bits > 0 {
        base32_push(&mut out, buffer << (5 - bits));
    }
    out
}

fn base32_push(out: &mut String, value: u16) {
    let five = (value & 0x1f) as u8;
    out.push(base32_char(five));
}

/// Decodes exactly 52 lowercase base32 characters into a 32-byte hash (canonical: the 4 spare bits must be zero).
fn base32_decode_hash(body: &[u8]) -> Result<[u8; 32], KeyError> {
    if body.len() != B32_BODY_LEN {
        return Err(KeyError::InvalidAddress);
    }
    let mut out = [0u8; 32];
    let mut written = 0usize;
    let mut buffer: u16 = 0;
    let mut bits: u32 = 0;
    for &c in body {
        let v = base32_value(c).ok_or(KeyError::InvalidBase32)?;
        // `buffer` holds fewer than 8 bits here, so the shift cannot lose bits.
        buffer = (buffer << 5) | u16::from(v);
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            let byte = ((buffer >> bits) & 0xff) as u8;
            let slot = out.get_mut(written).ok_or(KeyError::InvalidBase32)?;
            *slot = byte;
            written += 1;
            buffer &= (1u16 << bits) - 1;
        }
    }
    if written != out.len() || buffer != 0 {
        return Err(KeyError::InvalidBase32);
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------------------------------
// Signature and crypto types
// ---------------------------------------------------------------------------------------------------------------

/// Signing key type of a destination (the numbers are the I2P `SigType` codes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SigType {
    /// 0: DSA-SHA1 (legacy default; destinations use a NULL certificate).
    DsaSha1,
    /// 1: ECDSA P-256 with SHA-256.
    EcdsaSha256P256,
    /// 2: ECDSA P-384 with SHA-384.
    EcdsaSha384P384,
    /// 3: ECDSA P-521 with SHA-512 (4 excess public key bytes in the certificate).
    EcdsaSha512P521,
    /// 4: RSA-2048 with SHA-256 (offline signing only).
    RsaSha256_2048,
    /// 5: RSA-3072 with SHA-384 (offline signing only).
    RsaSha384_3072,
    /// 6: RSA-4096 with SHA-512 (offline signing only).
    RsaSha512_4096,
    /// 7: Ed25519 with SHA-512 (recommended).
    Ed25519,
    /// 8: Ed25519ph (pre-hashed; never used for destinations).
    Ed25519ph,
    /// 9: GOST R 34.10-2012 256-bit with GOST R 34.11 256 (i2pd only).
    GostR3411_256,
    /// 10: GOST R 34.10-2012 512-bit with GOST R 34.11 512 (i2pd only).
    GostR3411_512,
    /// 11: RedDSA on Ed25519 with SHA-512.
    RedDsaEd25519,
}

impl SigType {
    /// Every known signature type, in code order.
    pub const ALL: [SigType; 12] = [
        SigType::DsaSha1,
        SigType::EcdsaSha256P256,
        SigType::EcdsaSha384P384,
        SigType::EcdsaSha512P521,
        SigType::RsaSha256_2048,
        SigType::RsaSha384_3072,
        SigType::RsaSha512_4096,
        SigType::Ed25519,
        SigType::Ed25519ph,
        SigType::GostR3411_256,
        SigType::GostR3411_512,
        SigType::RedDsaEd25519,
    ];

    /// The numeric code used in key certificates and in `SIGNATURE_TYPE=`.
    pub fn code(self) -> u16 {
        match self {
            SigType::DsaSha1 => 0,
            SigType::EcdsaSha256P256 => 1,
            SigType::EcdsaSha384P384 => 2,
            SigType::EcdsaSha512P521 => 3,
            SigType::RsaSha256_2048 => 4,
            SigType::RsaSha384_3072 => 5,
            SigType::RsaSha512_4096 => 6,
            SigType::Ed25519 => 7,
            SigType::Ed25519ph => 8,
            SigType::GostR3411_256 => 9,
            SigType::GostR3411_512 => 10,
            SigType::RedDsaEd25519 => 11,
        }
    }

    /// The signature type with this numeric code, if known.
    pub fn from_code(code: u16) -> Option<SigType> {
        SigType::ALL.iter().copied().find(|t| t.code() == code)
    }

    /// The name used by the Java router (for GOST types, which Java lacks, the i2pd name).
    pub fn name(self) -> &'static str {
        match self {
            SigType::DsaSha1 => "DSA_SHA1",
            SigType::EcdsaSha256P256 => "ECDSA_SHA256_P256",
            SigType::EcdsaSha384P384 => "ECDSA_SHA384_P384",
            SigType::EcdsaSha512P521 => "ECDSA_SHA512_P521",
            SigType::RsaSha256_2048 => "RSA_SHA256_2048",
            SigType::RsaSha384_3072 => "RSA_SHA384_3072",
            SigType::RsaSha512_4096 => "RSA_SHA512_4096",
            SigType::Ed25519 => "EdDSA_SHA512_Ed25519",
            SigType::Ed25519ph => "EdDSA_SHA512_Ed25519ph",
            SigType::GostR3411_256 => "GOST_GOSTR3411256_GOSTR3410CRYPTOPROA",
            SigType::GostR3411_512 => "GOST_GOSTR3411512_GOSTR3410TC26A512",
            SigType::RedDsaEd25519 => "RedDSA_SHA512_Ed25519",
        }
    }

    /// Looks a signature type up by name, ignoring ASCII case. Java and i2pd names are accepted (they coincide
    /// for every type both know).
    pub fn from_name(name: &str) -> Option<SigType> {
        // Short names people type, besides the Java/i2pd spellings.
        const ALIASES: &[(&str, SigType)] = &[
            ("Ed25519", SigType::Ed25519),
            ("EdDSA", SigType::Ed25519),
            ("RedDSA", SigType::RedDsaEd25519),
            ("DSA", SigType::DsaSha1),
            ("P256", SigType::EcdsaSha256P256),
            ("P384", SigType::EcdsaSha384P384),
            ("P521", SigType::EcdsaSha512P521),
        ];
        SigType::ALL
            .iter()
            .copied()
            .find(|t| t.name().eq_ignore_ascii_case(name))
            .or_else(|| {
                ALIASES
                    .iter()
                    .find(|(alias, _)| alias.eq_ignore_ascii_case(name))
                    .map(|(_, t)| *t)
            })
    }

    /// Length in bytes of the signing public key.
    pub fn public_key_len(self) -> usize {
        match self {
            SigType::DsaSha1 => 128,
            SigType::EcdsaSha256P256 => 64,
            SigType::EcdsaSha384P384 => 96,
            SigType::EcdsaSha512P521 => 132,
            SigType::RsaSha256_2048 => 256,
            SigType::RsaSha384_3072 => 384,
            SigType::RsaSha512_4096 => 512,
            SigType::Ed25519 | SigType::Ed25519ph | SigType::RedDsaEd25519 => 32,
            SigType::GostR3411_256 => 64,
            SigType::GostR3411_512 => 128,
        }
    }

    /// Length in bytes of the signing private key as stored in a PRIV blob.
    pub fn private_key_len(self) -> usize {
        match self {
            SigType::DsaSha1 => 20,
            SigType::EcdsaSha256P256 => 32,
            SigType::EcdsaSha384P384 => 48,
            SigType::EcdsaSha512P521 => 66,
            SigType::RsaSha256_2048 => 512,
            SigType::RsaSha384_3072 => 768,
            SigType::RsaSha512_4096 => 1024,
            SigType::Ed25519 | SigType::Ed25519ph | SigType::RedDsaEd25519 => 32,
            SigType::GostR3411_256 => 32,
            SigType::GostR3411_512 => 64,
        }
    }

    /// Length in bytes of a signature.
    pub fn signature_len(self) -> usize {
        match self {
            SigType::DsaSha1 => 40,
            SigType::EcdsaSha256P256 => 64,
            SigType::EcdsaSha384P384 => 96,
            SigType::EcdsaSha512P521 => 132,
            SigType::RsaSha256_2048 => 256,
            SigType::RsaSha384_3072 => 384,
            SigType::RsaSha512_4096 => 512,
            SigType::Ed25519 | SigType::Ed25519ph | SigType::RedDsaEd25519 => 64,
            SigType::GostR3411_256 => 64,
            SigType::GostR3411_512 => 128,
        }
    }
}

impl FromStr for SigType {
    type Err = KeyError;

    /// Parses a decimal code (`"7"`) or a name (`"EdDSA_SHA512_Ed25519"`, case-insensitive).
    fn from_str(s: &str) -> Result<SigType, KeyError> {
        if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
            let code: u16 = s.parse().map_err(|_| KeyError::UnknownSigTypeName)?;
            return SigType::from_code(code).ok_or(KeyError::UnknownSigType(code));
        }
        SigType::from_name(s).ok_or(KeyError::UnknownSigTypeName)
    }
}

impl fmt::Display for SigType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Encryption (crypto) key type recorded in a key certificate.
///
/// Any code is representable; unknown codes get the ElGamal lengths as a fallback.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CryptoType(pub u16);

impl CryptoType {
    /// 0: ElGamal-2048 (the default for SAM-generated destinations).
    pub const ELGAMAL: CryptoType = CryptoType(0);
    /// 4: X25519 (ECIES-X25519-AEAD-Ratchet).
    pub const X25519: CryptoType = CryptoType(4);

    /// Length of the encryption private key field in a PRIV blob: 32 for types 4–7, otherwise 256.
    pub fn private_key_len(self) -> usize {
        match self.0 {
            4..=7 => 32,
            _ => 256,
        }
    }

    /// Length of the encryption public key: 256 (ElGamal and unknown), 64/96/132 (ECDH P-256/384/521), 32 (4–7).
    pub fn public_key_len(self) -> usize {
        match self.0 {
            1 => 64,
            2 => 96,
            3 => 132,
            4..=7 => 32,
            _ => 256,
        }
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Destination
// ---------------------------------------------------------------------------------------------------------------

const ENC_FIELD_LEN: usize = 256;
const SIG_FIELD_LEN: usize = 128;
const CERT_OFFSET: usize = ENC_FIELD_LEN + SIG_FIELD_LEN; // 384
const DEST_HEADER_LEN: usize = CERT_OFFSET + 3; // 387
const CERT_NULL: u8 = 0;
const CERT_KEY: u8 = 5;
const KEY_CERT_MIN_LEN: usize = 4;

/// A public I2P destination (`KeysAndCert`), validated on construction.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Destination {
    bytes: Vec<u8>,
    sig_type: SigType,
    crypto_type: CryptoType,
}

impl Destination {
    /// Parses a destination that must occupy exactly `bytes` (387 + certificate length bytes).
    pub fn from_bytes(bytes: &[u8]) -> Result<Destination, KeyError> {
        let (dest, used) = Destination::parse_prefix(bytes)?;
        match bytes.len().checked_sub(used) {
            Some(0) | None => Ok(dest),
            Some(extra) => Err(KeyError::TrailingBytes { extra }),
        }
    }

    /// Parses one destination from the start of `bytes`; returns it and the number of bytes it occupies.
    pub fn parse_prefix(bytes: &[u8]) -> Result<(Destination, usize), KeyError> {
        let got = bytes.len();
        let (cert_type, cert_len) = match bytes.get(CERT_OFFSET..DEST_HEADER_LEN) {
            Some(&[t, hi, lo]) => (t, usize::from(u16::from_be_bytes([hi, lo]))),
            _ => {
                return Err(KeyError::Truncated {
                    needed: DEST_HEADER_LEN,
                    got,
                })
            }
        };
        let total = DEST_HEADER_LEN + cert_len;
        let (sig_type, crypto_type) = match cert_type {
            CERT_NULL => {
                if cert_len != 0 {
                    return Err(KeyError::CertificateLength {
                        expected: 0,
                        got: cert_len,
                    });
                }
                (SigType::DsaSha1, CryptoType::ELGAMAL)
            }
            CERT_KEY => {
                if cert_len < KEY_CERT_MIN_LEN {
                    return Err(KeyError::CertificateLength {
                        expected: KEY_CERT_MIN_LEN,
                        got: cert_len,
                    });
                }
                let (sig_code, crypto_code) = match bytes
                    .get(DEST_HEADER_LEN..DEST_HEADER_LEN + KEY_CERT_MIN_LEN)
                {
                    Some(&[a, b, c, d]) => (u16::from_be_bytes([a, b]), u16::from_be_bytes([c, d])),
                    _ => return Err(KeyError::Truncated { needed: total, got }),
                };
                let sig_type =
                    SigType::from_code(sig_code).ok_or(KeyError::UnknownSigType(sig_code))?;
                let crypto_type = CryptoType(crypto_code);
                let expected = KEY_CERT_MIN_LEN
                    + sig_type.public_key_len().saturating_sub(SIG_FIELD_LEN)
                    + crypto_type.public_key_len().saturating_sub(ENC_FIELD_LEN);
                if cert_len != expected {
                    return Err(KeyError::CertificateLength {
                        expected,
                        got: cert_len,
                    });
                }
                (sig_type, crypto_type)
            }
            other => return Err(KeyError::UnsupportedCertificate(other)),
        };
        let raw = bytes
            .get(..total)
            .ok_or(KeyError::Truncated { needed: total, got })?;
        Ok((
            Destination {
                bytes: raw.to_vec(),
                sig_type,
                crypto_type,
            },
            total,
        ))
    }

    /// Parses a destination from strict I2P base64 (exact length required).
    pub fn from_base64(text: &str) -> Result<Destination, KeyError> {
        Destination::from_bytes(&base64_decode(text)?)
    }

    /// The destination in I2P base64, as used in `DESTINATION=`, `VALUE=` and so on.
    pub fn to_base64(&self) -> String {
        base64_encode(&self.bytes)
    }

    /// The raw destination bytes (387 + certificate length).
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The signing key type (DSA-SHA1 for a NULL certificate).
    pub fn sig_type(&self) -> SigType {
        self.sig_type
    }

    /// The encryption key type (ElGamal for a NULL certificate).
    pub fn crypto_type(&self) -> CryptoType {
        self.crypto_type
    }

    /// The signing public key: the last `min(len, 128)` bytes of the 128-byte signing key field, followed by any
    /// excess bytes stored in the key certificate.
    pub fn signing_public_key(&self) -> Vec<u8> {
        let len = self.sig_type.public_key_len();
        let inline = len.min(SIG_FIELD_LEN);
        let mut out = Vec::with_capacity(len);
        if let Some(part) = self.bytes.get(CERT_OFFSET - inline..CERT_OFFSET) {
            out.extend_from_slice(part);
        }
        let excess = len.saturating_sub(SIG_FIELD_LEN);
        if excess > 0 {
            let start = DEST_HEADER_LEN + KEY_CERT_MIN_LEN;
            if let Some(part) = self.bytes.get(start..start + excess) {
                out.extend_from_slice(part);
            }
        }
        out
    }

    /// The certificate type byte (0 = NULL, 5 = KEY).
    pub fn certificate_type(&self) -> u8 {
        self.bytes.get(CERT_OFFSET).copied().unwrap_or(CERT_NULL)
    }

    /// SHA-256 of the destination bytes (the value behind the `.b32.i2p` address).
    pub fn hash(&self) -> [u8; 32] {
        Sha256::digest(&self.bytes).into()
    }

    /// The `.b32.i2p` address of this destination.
    pub fn b32_address(&self) -> B32Address {
        B32Address::from_hash(self.hash())
    }
}

impl fmt::Debug for Destination {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Destination")
            .field("sig_type", &self.sig_type)
            .field("b32", &self.b32_address())
            .finish()
    }
}

impl fmt::Display for Destination {
    /// Writes the I2P base64 form.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_base64())
    }
}

impl FromStr for Destination {
    type Err = KeyError;

    /// Parses the I2P base64 form.
    fn from_str(s: &str) -> Result<Destination, KeyError> {
        Destination::from_base64(s)
    }
}

// ---------------------------------------------------------------------------------------------------------------
// .b32.i2p addresses
// ---------------------------------------------------------------------------------------------------------------

const B32_SUFFIX: &str = ".b32.i2p";
const B32_BODY_LEN: usize = 52;
const B33_MIN_BODY_LEN: usize = 56;

/// A `.b32.i2p` address: the SHA-256 hash of a destination.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct B32Address {
    hash: [u8; 32],
}

impl B32Address {
    /// Wraps a destination hash.
    pub fn from_hash(hash: [u8; 32]) -> B32Address {
        B32Address { hash }
    }

    /// The 32-byte destination hash.
    pub fn hash(&self) -> &[u8; 32] {
        &self.hash
    }
}

impl fmt::Display for B32Address {
    /// Writes `<52 lowercase base32 chars>.b32.i2p`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&base32_encode_lower(&self.hash))?;
        f.write_str(B32_SUFFIX)
    }
}

impl fmt::Debug for B32Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl FromStr for B32Address {
    type Err = KeyError;

    /// Parses `<52 lowercase base32 chars>.b32.i2p` (the suffix may be in any case). Extended b33 addresses
    /// (56 or more characters) give [`KeyError::BlindedAddress`].
    fn from_str(s: &str) -> Result<B32Address, KeyError> {
        let bytes = s.as_bytes();
        let body_len = bytes
            .len()
            .checked_sub(B32_SUFFIX.len())
            .ok_or(KeyError::InvalidAddress)?;
        let (body, suffix) = bytes.split_at(body_len);
        if !suffix.eq_ignore_ascii_case(B32_SUFFIX.as_bytes()) {
            return Err(KeyError::InvalidAddress);
        }
        if body.len() == B32_BODY_LEN {
            return base32_decode_hash(body).map(B32Address::from_hash);
        }
        if body.len() >= B33_MIN_BODY_LEN {
            if body.iter().all(|&c| base32_value(c).is_some()) {
                return Err(KeyError::BlindedAddress);
            }
            return Err(KeyError::InvalidBase32);
        }
        Err(KeyError::InvalidAddress)
    }
}

/// The sender of a `DATAGRAM3` datagram as a bridge names it: the SHA-256 hash of the sender's
/// destination, 44 characters of I2P base64 on the wire (DATAGRAM3 is unauthenticated, so the
/// bridge gives no destination). [`b32_address`](Self::b32_address) turns it into the address
/// a `NAMING LOOKUP` resolves to the destination to reply to.
///
/// ```
/// use sam_proto::keys::SourceHash;
///
/// let text = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
/// let hash: SourceHash = text.parse().unwrap();
/// assert_eq!(hash.to_base64(), text);
/// assert_eq!(hash.hash()[31], 31);
/// assert!(hash.b32_address().to_string().ends_with(".b32.i2p"));
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SourceHash {
    hash: [u8; 32],
}

impl SourceHash {
    /// Length of the base64 form (32 bytes, padded).
    pub const BASE64_LEN: usize = 44;

    /// Wraps a 32-byte destination hash.
    pub fn from_hash(hash: [u8; 32]) -> SourceHash {
        SourceHash { hash }
    }

    /// The hash of `destination`.
    pub fn of(destination: &Destination) -> SourceHash {
        SourceHash::from_hash(destination.hash())
    }

    /// Reads the 44-character I2P base64 form (strict: alphabet, padding, 32 bytes).
    pub fn from_base64(text: &str) -> Result<SourceHash, KeyError> {
        if text.len() != Self::BASE64_LEN {
            return Err(KeyError::InvalidBase64);
        }
        let bytes = base64_decode(text)?;
        let hash = <[u8; 32]>::try_from(bytes.as_slice()).map_err(|_| KeyError::InvalidBase64)?;
        Ok(SourceHash { hash })
    }

    /// Reads a DATAGRAM3 sender as bridges write it: the 44-character hash (the spec, i2pd
    /// 2.59), or a full base64 destination, which is hashed (what the SAM reference notes for
    /// some i2pd 2.58 code paths), so both give the same value.
    pub fn from_sender(text: &str) -> Result<SourceHash, KeyError> {
        if text.len() == Self::BASE64_LEN {
            SourceHash::from_base64(text)
        } else {
            Destination::from_base64(text).map(|d| SourceHash::of(&d))
        }
    }

    /// The 44-character I2P base64 form, as the bridge writes it.
    pub fn to_base64(&self) -> String {
        base64_encode(&self.hash)
    }

    /// The 32 bytes.
    pub fn hash(&self) -> &[u8; 32] {
        &self.hash
    }

    /// The `.b32.i2p` address of the sender (lowercase base32 of the hash), for `lookup`.
    pub fn b32_address(&self) -> B32Address {
        B32Address::from_hash(self.hash)
    }

    /// `true` when `destination` is the one this hash names.
    pub fn matches(&self, destination: &Destination) -> bool {
        destination.hash() == self.hash
    }
}

impl From<B32Address> for SourceHash {
    fn from(address: B32Address) -> SourceHash {
        SourceHash::from_hash(*address.hash())
    }
}

impl fmt::Display for SourceHash {
    /// Writes the 44-character I2P base64 form.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_base64())
    }
}

impl fmt::Debug for SourceHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SourceHash({})", self.to_base64())
    }
}

impl FromStr for SourceHash {
    type Err = KeyError;

    /// Parses the 44-character base64 form ([`SourceHash::from_base64`]).
    fn from_str(s: &str) -> Result<SourceHash, KeyError> {
        SourceHash::from_base64(s)
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Private keys
// ---------------------------------------------------------------------------------------------------------------

/// Writes bytes as lowercase hex inside a `Debug` output.
struct Hex<'a>(&'a [u8]);

impl fmt::Debug for Hex<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("\"")?;
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        f.write_str("\"")
    }
}

const REDACTED: &str = "<redacted>";

/// The offline signature section of an offline-signed PRIV blob, with the transient signing key.
#[derive(Clone, PartialEq, Eq)]
pub struct OfflineSignature {
    /// Expiry of the transient key, in seconds since the Unix epoch.
    pub expires: u32,
    /// Signature type of the transient signing key.
    pub transient_sig_type: SigType,
    /// The transient signing public key.
    pub transient_public_key: Vec<u8>,
    /// Signature by the destination's (offline) key over `expires || transient type || transient public key`.
    pub signature: Vec<u8>,
    transient_private_key: Vec<u8>,
}

impl OfflineSignature {
    /// The transient signing private key (secret).
    pub fn transient_private_key(&self) -> &[u8] {
        &self.transient_private_key
    }
}

impl fmt::Debug for OfflineSignature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OfflineSignature")
            .field("expires", &self.expires)
            .field("transient_sig_type", &self.transient_sig_type)
            .field("transient_public_key", &Hex(&self.transient_public_key))
            .field("signature", &Hex(&self.signature))
            .field("transient_private_key", &REDACTED)
            .finish()
    }
}

/// Cursor over a byte slice that reports [`KeyError::Truncated`] instead of panicking.
struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], KeyError> {
        let end = self.pos.saturating_add(n);
        match self.bytes.get(self.pos..end) {
            Some(part) => {
                self.pos = end;
                Ok(part)
            }
            None => Err(KeyError::Truncated {
                needed: end,
                got: self.bytes.len(),
            }),
        }
    }

    fn take_u16(&mut self) -> Result<u16, KeyError> {
        match self.take(2)? {
            &[a, b] => Ok(u16::from_be_bytes([a, b])),
            _ => Err(KeyError::Truncated {
                needed: self.pos,
                got: self.bytes.len(),
            }),
        }
    }

    fn take_u32(&mut self) -> Result<u32, KeyError> {
        match self.take(4)? {
            &[a, b, c, d] => Ok(u32::from_be_bytes([a, b, c, d])),
            _ => Err(KeyError::Truncated {
                needed: self.pos,
                got: self.bytes.len(),
            }),
        }
    }
}

/// A PRIV blob: destination, encryption private key, signing private key and optional offline signature.
///
/// `Debug` never prints private material and `Display` is deliberately not implemented.
#[derive(Clone, PartialEq, Eq)]
pub struct PrivateKeys {
    destination: Destination,
    private_key: Vec<u8>,
    signing_private_key: Vec<u8>,
    offline: Option<OfflineSignature>,
}

impl PrivateKeys {
    /// Parses a PRIV blob that must occupy exactly `bytes`.
    ///
    /// The encryption private key length comes from the certificate's crypto type (32 for types 4–7, else 256),
    /// the signing private key length from the signature type. An all-zero signing private key means an offline
    /// signature section and a transient signing private key follow.
    pub fn from_bytes(bytes: &[u8]) -> Result<PrivateKeys, KeyError> {
        let (destination, used) = Destination::parse_prefix(bytes)?;
        let mut reader = Reader { bytes, pos: used };
        let private_key = reader
            .take(destination.crypto_type().private_key_len())?
            .to_vec();
        let signing_private_key = reader
            .take(destination.sig_type().private_key_len())?
            .to_vec();
        let offline = if signing_private_key.iter().all(|&b| b == 0) {
            let expires = reader.take_u32()?;
            let code = reader.take_u16()?;
            let transient_sig_type =
                SigType::from_code(code).ok_or(KeyError::UnknownSigType(code))?;
            let transient_public_key = reader.take(transient_sig_type.public_key_len())?.to_vec();
            let signature = reader
                .take(destination.sig_type().signature_len())?
                .to_vec();
            let transient_private_key = reader.take(transient_sig_type.private_key_len())?.to_vec();
            Some(OfflineSignature {
                expires,
                transient_sig_type,
                transient_public_key,
                signature,
                transient_private_key,
            })
        } else {
            None
        };
        match bytes.len().checked_sub(reader.pos) {
            Some(0) | None => Ok(PrivateKeys {
                destination,
                private_key,
                signing_private_key,
                offline,
            }),
            Some(extra) => Err(KeyError::TrailingBytes { extra }),
        }
    }

    /// Parses a PRIV blob from strict I2P base64.
    pub fn from_base64(text: &str) -> Result<PrivateKeys, KeyError> {
        PrivateKeys::from_bytes(&base64_decode(text)?)
    }

    /// The PRIV blob bytes (byte-identical to what was parsed).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(self.destination.as_bytes());
        out.extend_from_slice(&self.private_key);
        out.extend_from_slice(&self.signing_private_key);
        if let Some(off) = &self.offline {
            out.extend_from_slice(&off.expires.to_be_bytes());
            out.extend_from_slice(&off.transient_sig_type.code().to_be_bytes());
            out.extend_from_slice(&off.transient_public_key);
            out.extend_from_slice(&off.signature);
            out.extend_from_slice(&off.transient_private_key);
        }
        out
    }

    /// The PRIV blob in I2P base64, for `SESSION CREATE DESTINATION=`.
    pub fn to_base64(&self) -> String {
        base64_encode(&self.to_bytes())
    }

    /// The public destination.
    pub fn destination(&self) -> &Destination {
        &self.destination
    }

    /// The encryption private key (secret; unused by routers for destinations).
    pub fn private_key(&self) -> &[u8] {
        &self.private_key
    }

    /// The signing private key (secret; all zero for offline-signed keys).
    pub fn signing_private_key(&self) -> &[u8] {
        &self.signing_private_key
    }

    /// The offline signature section, if the keys are offline-signed.
    pub fn offline_signature(&self) -> Option<&OfflineSignature> {
        self.offline.as_ref()
    }

    /// Whether the keys are offline-signed (the signing private key is all zero).
    pub fn is_offline(&self) -> bool {
        self.offline.is_some()
    }
}

impl fmt::Debug for PrivateKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = f.debug_struct("PrivateKeys");
        s.field("destination", &self.destination.b32_address())
            .field("sig_type", &self.destination.sig_type())
            .field("crypto_type", &self.destination.crypto_type());
        if let Some(off) = &self.offline {
            s.field("offline", off);
        }
        s.field("private", &REDACTED).finish()
    }
}

impl FromStr for PrivateKeys {
    type Err = KeyError;

    /// Parses the I2P base64 form.
    fn from_str(s: &str) -> Result<PrivateKeys, KeyError> {
        PrivateKeys::from_base64(s)
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------------------------------

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::format;
    use alloc::string::ToString;
    use alloc::vec;

    #[test]
    fn base64_uses_i2p_alphabet() {
        assert_eq!(base64_encode(&[0xfb, 0xff]), "-~8=");
        assert_eq!(base64_decode("-~8=").unwrap(), vec![0xfb, 0xff]);
        assert_eq!(base64_encode(b""), "");
        assert_eq!(base64_decode("").unwrap(), Vec::<u8>::new());
        assert_eq!(base64_encode(b"f"), "Zg==");
        assert_eq!(base64_encode(b"fo"), "Zm8=");
        assert_eq!(base64_encode(b"foo"), "Zm9v");
    }

    #[test]
    fn base64_is_strict() {
        for bad in [
            "+~8=",
            "-/8=",
            "Zg",
            "Zg=",
            "Zg===",
            "Zm9v ",
            " Zm9v",
            "Zm\n9v",
            "Zh==",
            "Zg==Zg==",
            "Z===",
            "\u{e9}AAA",
        ] {
            assert_eq!(base64_decode(bad), Err(KeyError::InvalidBase64), "{bad:?}");
        }
    }

    #[test]
    fn base32_rfc4648_vectors() {
        let cases: [(&[u8], &str); 7] = [
            (b"", ""),
            (b"f", "my"),
            (b"fo", "mzxq"),
            (b"foo", "mzxw6"),
            (b"foob", "mzxw6yq"),
            (b"fooba", "mzxw6ytb"),
            (b"foobar", "mzxw6ytboi"),
        ];
        for (input, expected) in cases {
            assert_eq!(base32_encode_lower(input), expected);
        }
        assert_eq!(base32_encode_lower(&[0xff; 5]), "77777777");
    }

    #[test]
    fn sig_type_codes_names_and_lengths() {
        for (i, t) in SigType::ALL.iter().enumerate() {
            assert_eq!(usize::from(t.code()), i);
            assert_eq!(SigType::from_code(t.code()), Some(*t));
            assert_eq!(SigType::from_name(t.name()), Some(*t));
            assert_eq!(SigType::from_name(&t.name().to_ascii_lowercase()), Some(*t));
            assert_eq!(t.name().parse::<SigType>(), Ok(*t));
            assert_eq!(t.code().to_string().parse::<SigType>(), Ok(*t));
            assert_eq!(t.to_string(), t.name());
        }
        assert_eq!(SigType::from_code(12), None);
        assert_eq!("12".parse::<SigType>(), Err(KeyError::UnknownSigType(12)));
        assert_eq!(
            "65535".parse::<SigType>(),
            Err(KeyError::UnknownSigType(65535))
        );
        assert_eq!(
            "65536".parse::<SigType>(),
            Err(KeyError::UnknownSigTypeName)
        );
        assert_eq!("".parse::<SigType>(), Err(KeyError::UnknownSigTypeName));
        assert_eq!("+7".parse::<SigType>(), Err(KeyError::UnknownSigTypeName));
        // Short aliases people type.
        assert_eq!("Ed25519".parse::<SigType>(), Ok(SigType::Ed25519));
        assert_eq!("p256".parse::<SigType>(), Ok(SigType::EcdsaSha256P256));
        assert_eq!(
            "Ed448".parse::<SigType>(),
            Err(KeyError::UnknownSigTypeName)
        );
        assert_eq!(
            "eddsa_sha512_ed25519".parse::<SigType>(),
            Ok(SigType::Ed25519)
        );
        assert_eq!(
            "GOST_GOSTR3411256_GOSTR3410CRYPTOPROA".parse::<SigType>(),
            Ok(SigType::GostR3411_256)
        );
        assert_eq!(SigType::Ed25519.public_key_len(), 32);
        assert_eq!(SigType::Ed25519.private_key_len(), 32);
        assert_eq!(SigType::Ed25519.signature_len(), 64);
        assert_eq!(SigType::EcdsaSha512P521.public_key_len(), 132);
    }

    #[test]
    fn crypto_type_lengths() {
        assert_eq!(CryptoType::ELGAMAL.private_key_len(), 256);
        assert_eq!(CryptoType(1).private_key_len(), 256);
        assert_eq!(CryptoType(9999).private_key_len(), 256);
        for c in 4..=7 {
            assert_eq!(CryptoType(c).private_key_len(), 32);
            assert_eq!(CryptoType(c).public_key_len(), 32);
        }
        assert_eq!(CryptoType::X25519, CryptoType(4));
        assert_eq!(CryptoType::ELGAMAL.public_key_len(), 256);
    }

    #[test]
    fn b32_address_round_trip_and_rejections() {
        let addr = B32Address::from_hash([0u8; 32]);
        let text = addr.to_string();
        assert_eq!(text.len(), 60);
        assert_eq!(
            text,
            "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.b32.i2p"
        );
        assert_eq!(text.parse::<B32Address>(), Ok(addr));
        assert_eq!(format!("{addr:?}"), text);

        let mut hash = [0u8; 32];
        for (i, b) in hash.iter_mut().enumerate() {
            *b = (i as u8).wrapping_mul(37).wrapping_add(11);
        }
        let addr = B32Address::from_hash(hash);
        let text = addr.to_string();
        assert_eq!(text.parse::<B32Address>(), Ok(addr));
        assert_eq!(text.parse::<B32Address>().unwrap().hash(), &hash);
        let upper_suffix = text.replace(".b32.i2p", ".B32.I2P");
        assert_eq!(upper_suffix.parse::<B32Address>(), Ok(addr));

        let body = &text[..52];
        assert_eq!(
            format!("{}.b32.i2p", body.to_ascii_uppercase()).parse::<B32Address>(),
            Err(KeyError::InvalidBase32)
        );
        // 52 chars whose last char carries non-zero spare bits.
        let noncanon = format!("{}b.b32.i2p", &"a".repeat(51));
        assert_eq!(noncanon.parse::<B32Address>(), Err(KeyError::InvalidBase32));
        assert_eq!(
            format!("{}1.b32.i2p", &"a".repeat(51)).parse::<B32Address>(),
            Err(KeyError::InvalidBase32)
        );
        assert_eq!(body.parse::<B32Address>(), Err(KeyError::InvalidAddress));
        assert_eq!(
            format!("{body}.i2p").parse::<B32Address>(),
            Err(KeyError::InvalidAddress)
        );
        assert_eq!(
            format!("{body}.b32.i2p ").parse::<B32Address>(),
            Err(KeyError::InvalidAddress)
        );
        assert_eq!(
            format!("{body}a.b32.i2p").parse::<B32Address>(),
            Err(KeyError::InvalidAddress)
        );
        assert_eq!("".parse::<B32Address>(), Err(KeyError::InvalidAddress));
        assert_eq!(
            ".b32.i2p".parse::<B32Address>(),
            Err(KeyError::InvalidAddress)
        );
        assert_eq!("é".parse::<B32Address>(), Err(KeyError::InvalidAddress));
        assert_eq!(
            format!("{}.b32.i2p", "a".repeat(56)).parse::<B32Address>(),
            Err(KeyError::BlindedAddress)
        );
        assert_eq!(
            format!("{}.b32.i2p", "a".repeat(60)).parse::<B32Address>(),
            Err(KeyError::BlindedAddress)
        );
        assert_eq!(
            format!("{}.b32.i2p", "A".repeat(56)).parse::<B32Address>(),
            Err(KeyError::InvalidBase32)
        );
        // Multi-byte characters must not cause a slicing panic.
        assert!(
            "ééééééééééééééééééééééééééééééééééééééééééééééééééé.b32.i2p"
                .parse::<B32Address>()
                .is_err()
        );
        assert!(
            "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.b32.i2é"
                .parse::<B32Address>()
                .is_err()
        );
    }

    fn minimal_dest(sig: u16, crypto: u16, cert_len: u16) -> Vec<u8> {
        let mut d = vec![0x5au8; 384];
        d.push(CERT_KEY);
        d.extend_from_slice(&cert_len.to_be_bytes());
        d.extend_from_slice(&sig.to_be_bytes());
        d.extend_from_slice(&crypto.to_be_bytes());
        d.resize(DEST_HEADER_LEN + usize::from(cert_len), 0x77);
        d
    }

    #[test]
    fn destination_validation() {
        let d = minimal_dest(7, 0, 4);
        let dest = Destination::from_bytes(&d).unwrap();
        assert_eq!(dest.sig_type(), SigType::Ed25519);
        assert_eq!(dest.crypto_type(), CryptoType::ELGAMAL);
        assert_eq!(dest.certificate_type(), 5);
        assert_eq!(dest.signing_public_key(), vec![0x5a; 32]);
        assert_eq!(
            Destination::from_bytes(&minimal_dest(12, 0, 4)),
            Err(KeyError::UnknownSigType(12))
        );
        assert_eq!(
            Destination::from_bytes(&minimal_dest(7, 0, 8)),
            Err(KeyError::CertificateLength {
                expected: 4,
                got: 8
            })
        );
        assert_eq!(
            Destination::from_bytes(&minimal_dest(3, 0, 4)),
            Err(KeyError::CertificateLength {
                expected: 8,
                got: 4
            })
        );
        let p521 = Destination::from_bytes(&minimal_dest(3, 0, 8)).unwrap();
        let spk = p521.signing_public_key();
        assert_eq!(spk.len(), 132);
        assert_eq!(&spk[128..], &[0x77; 4]);
        let rsa = Destination::from_bytes(&minimal_dest(6, 0, 388)).unwrap();
        assert_eq!(rsa.signing_public_key().len(), 512);
        let mut short = minimal_dest(7, 0, 4);
        short[386] = 2;
        short.truncate(389);
        assert_eq!(
            Destination::from_bytes(&short),
            Err(KeyError::CertificateLength {
                expected: 4,
                got: 2
            })
        );
        let mut null = vec![0u8; 387];
        assert_eq!(
            Destination::from_bytes(&null).unwrap().sig_type(),
            SigType::DsaSha1
        );
        null[386] = 1;
        null.push(0);
        assert_eq!(
            Destination::from_bytes(&null),
            Err(KeyError::CertificateLength {
                expected: 0,
                got: 1
            })
        );
        for t in [1u8, 2, 3, 4, 6, 255] {
            let mut d = minimal_dest(7, 0, 4);
            d[384] = t;
            assert_eq!(
                Destination::from_bytes(&d),
                Err(KeyError::UnsupportedCertificate(t))
            );
        }
        let mut long = minimal_dest(7, 0, 4);
        long.push(1);
        assert_eq!(
            Destination::from_bytes(&long),
            Err(KeyError::TrailingBytes { extra: 1 })
        );
        assert_eq!(Destination::parse_prefix(&long).unwrap().1, 391);
        assert_eq!(
            Destination::from_bytes(&[]),
            Err(KeyError::Truncated {
                needed: 387,
                got: 0
            })
        );
        assert_eq!(
            Destination::from_bytes(&d[..389]),
            Err(KeyError::Truncated {
                needed: 391,
                got: 389
            })
        );
    }

    #[test]
    fn debug_output_is_short() {
        let dest = Destination::from_bytes(&minimal_dest(7, 0, 4)).unwrap();
        let dbg = format!("{dest:?}");
        assert!(
            dbg.starts_with("Destination { sig_type: Ed25519, b32: "),
            "{dbg}"
        );
        assert!(dbg.ends_with(".b32.i2p }"), "{dbg}");
        assert_eq!(dest.to_string(), dest.to_base64());
        assert_eq!(dest.to_string().parse::<Destination>(), Ok(dest));
    }

    #[test]
    fn errors_display() {
        let all = [
            KeyError::InvalidBase64,
            KeyError::InvalidBase32,
            KeyError::Truncated { needed: 2, got: 1 },
            KeyError::TrailingBytes { extra: 1 },
            KeyError::UnknownSigType(99),
            KeyError::UnknownSigTypeName,
            KeyError::UnsupportedCertificate(3),
            KeyError::CertificateLength {
                expected: 4,
                got: 8,
            },
            KeyError::BlindedAddress,
            KeyError::InvalidAddress,
        ];
        for e in all {
            assert!(!e.to_string().is_empty());
        }
        assert!(KeyError::UnknownSigType(99).to_string().contains("99"));
    }
}
