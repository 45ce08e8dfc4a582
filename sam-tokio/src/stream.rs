//! A connected I2P stream: the tokio socket plus the bytes read past the handshake.

use std::io::{self, IoSlice};
use std::pin::Pin;
use std::task::{Context, Poll};

use sam_proto::client::Leftover;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;

use crate::Session;

/// An I2P stream (from [`Session::connect`], [`Session::accept`] or a forwarded connection).
///
/// It is the tokio [`TcpStream`] to the bridge plus the application bytes that were read
/// together with the end of the SAM handshake: reads return those first, then read the
/// socket; writes go straight to the socket. Dropping the stream closes it.
///
/// A stream from `connect` or `accept` keeps its [`Session`] alive (the bridge ends a
/// session's streams when its control socket closes): the session closes only when its last
/// handle, stream included, is dropped, or when [`Session::close`] is called.
#[must_use = "dropping a Stream closes it"]
pub struct Stream<S = TcpStream> {
    socket: S,
    leftover: Leftover,
    session: Option<Session>,
    peer: Option<sam_proto::client::Peer>,
}

/// The read half of a [`Stream`] (from [`Stream::into_split`]): leftover bytes first, then
/// the socket; it keeps the session alive.
pub type StreamReadHalf = Stream<OwnedReadHalf>;

impl Stream {
    sam_proto::__stream_parts!(TcpStream, Session);

    /// Splits the stream into owned halves; the read half returns the leftover bytes first
    /// and keeps the session alive.
    pub fn into_split(self) -> (StreamReadHalf, OwnedWriteHalf) {
        self.split_with(TcpStream::into_split)
    }
}

sam_proto::__stream_common!(Stream);

impl<S: AsyncRead + Unpin> AsyncRead for Stream<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let n = this.leftover.read_into(buf.initialize_unfilled());
        if n > 0 {
            buf.advance(n);
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut this.socket).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Stream<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().socket).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().socket).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.socket.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().socket).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().socket).poll_shutdown(cx)
    }
}
