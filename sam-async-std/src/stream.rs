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
#[must_use = "dropping a Stream closes it"]
pub struct Stream<S = TcpStream> {
    socket: S,
    leftover: Leftover,
    session: Option<Session>,
    peer: Option<sam_proto::client::Peer>,
}

/// The read half of a [`Stream`] (from [`Stream::into_split`]): the leftover bytes, then the
/// socket; it keeps the session open.
pub type StreamReadHalf = Stream;

impl Stream {
    sam_proto::__stream_parts!(TcpStream, Session);

    /// Owned halves for two tasks: the read half returns the leftover bytes first; the write
    /// half is a second handle to the socket (closing it shuts down our sending direction).
    pub fn into_split(self) -> (StreamReadHalf, TcpStream) {
        let write = self.socket.clone();
        (self, write)
    }

    fn socket(self: Pin<&mut Self>) -> Pin<&mut TcpStream> {
        Pin::new(&mut self.get_mut().socket)
    }
}

sam_proto::__stream_common!(Stream);

impl AsyncRead for Stream {
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
