//! A connected I2P stream: the std socket plus the bytes read past the handshake.

use std::borrow::Borrow;
use std::io::{self, IoSlice, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::Arc;

use sam_proto::client::Leftover;

use crate::Session;

/// An I2P stream (from [`Session::connect`], [`Session::accept`] or a forwarded connection).
///
/// The std [`TcpStream`] to the bridge plus the application bytes read with the end of the
/// SAM handshake, which reads return first. It comes without socket timeouts (set them on
/// [`Stream::get_ref`]). One from `connect` or `accept` keeps its [`Session`] alive.
#[must_use = "dropping a Stream closes it"]
pub struct Stream<S = TcpStream> {
    socket: S,
    leftover: Leftover,
    session: Option<Session>,
    peer: Option<sam_proto::client::Peer>,
}

/// The read half of a [`Stream`] ([`Stream::into_split`]): leftover bytes first; keeps the session.
pub type StreamReadHalf = Stream<Arc<TcpStream>>;

impl Stream {
    sam_proto::__stream_parts!(TcpStream, Session);

    /// Another handle to the socket ([`TcpStream::try_clone`]); buffered bytes stay with `self`.
    pub fn try_clone(&self) -> io::Result<Stream> {
        let mut clone = Stream::new(self.socket.try_clone()?, Vec::new(), self.session.clone());
        clone.peer = self.peer.clone();
        Ok(clone)
    }

    /// Splits the stream into owned halves; the read half returns the leftover bytes first.
    pub fn into_split(self) -> (StreamReadHalf, StreamWriteHalf) {
        self.split_with(|socket| {
            let socket = Arc::new(socket);
            (socket.clone(), StreamWriteHalf(socket))
        })
    }
}

sam_proto::__stream_common!(Stream);

impl<S: Borrow<TcpStream>> Read for Stream<S> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self.leftover.is_empty() {
            true => self.socket.borrow().read(buf),
            false => Ok(self.leftover.read_into(buf)),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.socket.write(buf)
    }

    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        self.socket.write_vectored(bufs)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.socket.flush()
    }
}

/// The write half of a [`Stream`]; dropping it shuts down the socket's sending direction.
#[derive(Debug)]
pub struct StreamWriteHalf(Arc<TcpStream>);

impl Write for StreamWriteHalf {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        (&*self.0).write(buf)
    }

    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        (&*self.0).write_vectored(bufs)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Drop for StreamWriteHalf {
    fn drop(&mut self) {
        let _ = self.0.shutdown(Shutdown::Write);
    }
}
