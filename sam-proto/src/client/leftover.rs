//! The application bytes that arrived together with the end of a SAM handshake.

use alloc::vec::Vec;
use core::fmt;

/// Bytes read past the handshake of a stream socket: they belong to the application and are
/// read before anything else. Every adapter's `Stream` holds one.
///
/// ```
/// use sam_proto::client::Leftover;
///
/// let mut left = Leftover::new(b"hello".to_vec());
/// let mut buf = [0u8; 3];
/// assert_eq!(left.read_into(&mut buf), 3);
/// assert_eq!(&buf, b"hel");
/// assert_eq!(left.unread(), b"lo");
/// assert_eq!(left.into_vec(), b"lo");
/// ```
#[derive(Default, Clone, PartialEq, Eq)]
pub struct Leftover {
    bytes: Vec<u8>,
    pos: usize,
}

impl Leftover {
    /// Wraps the bytes an exchange left in the read buffer.
    pub fn new(bytes: Vec<u8>) -> Leftover {
        Leftover { bytes, pos: 0 }
    }

    /// The bytes not read yet.
    pub fn unread(&self) -> &[u8] {
        self.bytes.get(self.pos..).unwrap_or_default()
    }

    /// `true` when everything has been read (reads go straight to the socket then).
    pub fn is_empty(&self) -> bool {
        self.unread().is_empty()
    }

    /// Copies unread bytes into `buf`, returning how many (0 when none are left).
    pub fn read_into(&mut self, buf: &mut [u8]) -> usize {
        let rest = self.unread();
        let n = rest.len().min(buf.len());
        buf[..n].copy_from_slice(&rest[..n]);
        self.consume(n);
        n
    }

    /// Marks `n` unread bytes as read.
    pub fn consume(&mut self, n: usize) {
        self.pos = self.pos.saturating_add(n).min(self.bytes.len());
        if self.pos >= self.bytes.len() {
            // Free the buffer: from now on reads cost what the socket costs.
            *self = Leftover::default();
        }
    }

    /// The unread bytes, owned.
    pub fn into_vec(mut self) -> Vec<u8> {
        self.bytes.drain(..self.pos.min(self.bytes.len()));
        self.bytes
    }
}

impl fmt::Debug for Leftover {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Leftover({} bytes)", self.unread().len())
    }
}
