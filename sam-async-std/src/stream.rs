//! A connected I2P stream: the async-net socket plus the bytes read past the handshake.

use std::io::{self, IoSlice};
use std::pin::Pin;
use std::task::{Context, Poll};

use async_net::TcpStream;
use futures_lite::io::{AsyncRead, AsyncWrite};
use sam_proto::client::Leftover;

use crate::Session;

/// An I2P stream, from [`connect`](Session::connect), [`accept`](Session::accept) or
/// [`read_forwarded`](crate::read_forwarded): a futures-io [`AsyncRead`] + [`AsyncWrite`].
///
/// It is the [`async_net::TcpStream`] to the bridge and the application bytes that came in
/// with the end of the SAM handshake, which reads return first. Dropping it closes it. A
/// stream from `connect` or `accept` keeps its [`Session`] open (after
/// [`into_split`](Self::into_split), its read half does).
#[derive(Debug)]
pub struct Stream {
    /// A stream reads exactly like its read half; writes use the same socket.
    read: StreamReadHalf,
}

impl Stream {
    /// A stream from a socket whose SAM handshake is over, and the `leftover` bytes that were
    /// read past the handshake.
    pub fn from_parts(socket: TcpStream, leftover: Vec<u8>) -> Stream {
        let (leftover, session) = (Leftover::new(leftover), None);
        let read = StreamReadHalf {
            socket,
            leftover,
            session,
        };
        Stream { read }
    }

    /// The same stream, keeping `session` open while it lives.
    pub(crate) fn kept_by(mut self, session: Session) -> Stream {
        self.read.session = Some(session);
        self
    }

    /// Undoes [`from_parts`](Self::from_parts): the socket and the leftover bytes not read
    /// yet, which come before anything the socket delivers. The session is no longer kept.
    pub fn into_parts(self) -> (TcpStream, Vec<u8>) {
        (self.read.socket, self.read.leftover.into_vec())
    }

    /// Received application bytes not read yet.
    pub fn buffered(&self) -> &[u8] {
        self.read.buffered()
    }

    /// The socket, e.g. for `set_nodelay` (reading it directly would skip
    /// [`buffered`](Self::buffered) bytes).
    pub fn get_ref(&self) -> &TcpStream {
        &self.read.socket
    }

    /// Owned halves for two tasks: the read half returns the leftover bytes first; the write
    /// half is a second handle to the socket (closing it shuts down our sending direction).
    pub fn into_split(self) -> (StreamReadHalf, TcpStream) {
        let write = self.read.socket.clone();
        (self.read, write)
    }

    fn socket(self: Pin<&mut Self>) -> Pin<&mut TcpStream> {
        Pin::new(&mut self.get_mut().read.socket)
    }
}

impl AsyncRead for Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().read).poll_read(cx, buf)
    }
}

impl AsyncWrite for Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.socket().poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.socket().poll_write_vectored(cx, bufs)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.socket().poll_flush(cx)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.socket().poll_close(cx)
    }
}

/// The read half of a [`Stream`] (from [`Stream::into_split`]): the leftover bytes, then
/// the socket.
#[derive(Debug)]
pub struct StreamReadHalf {
    socket: TcpStream,
    leftover: Leftover,
    session: Option<Session>,
}

impl StreamReadHalf {
    /// Received application bytes not read yet.
    pub fn buffered(&self) -> &[u8] {
        self.leftover.unread()
    }
}

impl AsyncRead for StreamReadHalf {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        match this.leftover.is_empty() || buf.is_empty() {
            true => Pin::new(&mut this.socket).poll_read(cx, buf),
            false => Poll::Ready(Ok(this.leftover.read_into(buf))),
        }
    }
}
