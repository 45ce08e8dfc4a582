//! A connected I2P stream: the tokio socket plus the bytes read past the handshake.

use std::fmt;
use std::io::{self, IoSlice};
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;

use sam_proto::client::Leftover;

/// Copies leftover bytes into `buf`; `false` when there were none.
fn serve(leftover: &mut Leftover, buf: &mut ReadBuf<'_>) -> bool {
    let n = leftover.read_into(buf.initialize_unfilled());
    buf.advance(n);
    n > 0
}

/// An I2P stream (from [`Session::connect`](crate::Session::connect),
/// [`Session::accept`](crate::Session::accept) or a forwarded connection).
///
/// It is the tokio [`TcpStream`] to the bridge plus the application bytes that were read
/// together with the end of the SAM handshake: reads return those first, then read the
/// socket; writes go straight to the socket. Dropping the stream closes it.
///
/// The stream lives as long as its session: keep a [`Session`](crate::Session) handle while
/// you use it (closing the session's control socket makes the bridge end its streams).
pub struct Stream {
    socket: TcpStream,
    leftover: Leftover,
}

impl Stream {
    /// Wraps a socket whose SAM handshake is over and the `leftover` bytes read past it.
    pub fn from_parts(socket: TcpStream, leftover: Vec<u8>) -> Stream {
        Stream {
            socket,
            leftover: Leftover::new(leftover),
        }
    }

    /// The socket and the unread leftover bytes (which come before anything the socket
    /// delivers).
    pub fn into_parts(self) -> (TcpStream, Vec<u8>) {
        (self.socket, self.leftover.into_vec())
    }

    /// The application bytes already received and not yet read.
    pub fn buffered(&self) -> &[u8] {
        self.leftover.unread()
    }

    /// The underlying socket (for options such as `set_nodelay`). Reading from it directly
    /// would skip [`Stream::buffered`] bytes.
    pub fn get_ref(&self) -> &TcpStream {
        &self.socket
    }

    /// Splits the stream into owned halves; the read half returns the leftover bytes first.
    pub fn into_split(self) -> (StreamReadHalf, OwnedWriteHalf) {
        let (read, write) = self.socket.into_split();
        (
            StreamReadHalf {
                read,
                leftover: self.leftover,
            },
            write,
        )
    }
}

impl fmt::Debug for Stream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Stream")
            .field("socket", &self.socket)
            .field("buffered", &self.leftover.unread().len())
            .finish()
    }
}

impl AsyncRead for Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if serve(&mut this.leftover, buf) {
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut this.socket).poll_read(cx, buf)
    }
}

impl AsyncWrite for Stream {
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

/// The read half of a [`Stream`] (from [`Stream::into_split`]): leftover bytes first, then
/// the socket.
pub struct StreamReadHalf {
    read: OwnedReadHalf,
    leftover: Leftover,
}

impl StreamReadHalf {
    /// The application bytes already received and not yet read.
    pub fn buffered(&self) -> &[u8] {
        self.leftover.unread()
    }
}

impl fmt::Debug for StreamReadHalf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StreamReadHalf")
            .field("read", &self.read)
            .field("buffered", &self.leftover.unread().len())
            .finish()
    }
}

impl AsyncRead for StreamReadHalf {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if serve(&mut this.leftover, buf) {
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut this.read).poll_read(cx, buf)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    async fn pair() -> (TcpStream, TcpStream) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (a, b) = tokio::join!(TcpStream::connect(addr), listener.accept());
        (a.unwrap(), b.unwrap().0)
    }

    #[tokio::test]
    async fn leftover_is_read_first_in_small_pieces_then_the_socket() {
        let (a, mut b) = pair().await;
        b.write_all(b"-socket").await.unwrap();
        drop(b);
        let mut s = Stream::from_parts(a, b"leftover".to_vec());
        assert_eq!(s.buffered(), b"leftover");
        let mut three = [0u8; 3];
        s.read_exact(&mut three).await.unwrap();
        assert_eq!(&three, b"lef");
        let mut rest = Vec::new();
        s.read_to_end(&mut rest).await.unwrap();
        assert_eq!(rest, b"tover-socket");
        assert!(s.buffered().is_empty());
    }

    #[tokio::test]
    async fn split_and_into_parts_keep_the_leftover() {
        let (a, mut b) = pair().await;
        let s = Stream::from_parts(a, b"abc".to_vec());
        let (mut r, mut w) = s.into_split();
        w.write_all(b"ping").await.unwrap();
        let mut got = [0u8; 4];
        b.read_exact(&mut got).await.unwrap();
        assert_eq!(&got, b"ping");
        b.write_all(b"def").await.unwrap();
        drop(b);
        let mut all = Vec::new();
        r.read_to_end(&mut all).await.unwrap();
        assert_eq!(all, b"abcdef");

        let (a, _b) = pair().await;
        let mut s = Stream::from_parts(a, b"xyz".to_vec());
        let mut one = [0u8; 1];
        s.read_exact(&mut one).await.unwrap();
        let (_socket, left) = s.into_parts();
        assert_eq!(left, b"yz");
    }
}
