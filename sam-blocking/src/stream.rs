//! A connected I2P stream: the std socket plus the bytes read past the handshake.

use std::io::{self, IoSlice, Read, Write};

use sam_proto::client::Leftover;
use std::net::{Shutdown, TcpStream};
use std::sync::Arc;

/// Serves the leftover bytes first, then reads `socket`.
fn read_then(leftover: &mut Leftover, mut socket: impl Read, buf: &mut [u8]) -> io::Result<usize> {
    if leftover.is_empty() {
        return socket.read(buf);
    }
    Ok(leftover.read_into(buf))
}

/// An I2P stream (from [`Session::connect`](crate::Session::connect),
/// [`Session::accept`](crate::Session::accept) or a forwarded connection).
///
/// It is the std [`TcpStream`] to the bridge plus the application bytes that were read
/// together with the end of the SAM handshake: reads return those first, then read the
/// socket; writes go straight to the socket. It comes with no socket timeouts set (set them
/// on [`Stream::get_ref`]). Dropping the stream closes it.
///
/// The stream lives as long as its session: keep a [`Session`](crate::Session) handle while
/// you use it (closing the session's control socket makes the bridge end its streams).
#[derive(Debug)]
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

    /// The underlying socket (for options such as timeouts or `set_nodelay`). Reading from it
    /// directly would skip [`Stream::buffered`] bytes.
    pub fn get_ref(&self) -> &TcpStream {
        &self.socket
    }

    /// Another handle to the same socket ([`TcpStream::try_clone`]), for writing from another
    /// thread or shutting down. The [`buffered`](Stream::buffered) bytes stay with `self`:
    /// the clone reads the socket only.
    pub fn try_clone(&self) -> io::Result<Stream> {
        Ok(Stream::from_parts(self.socket.try_clone()?, Vec::new()))
    }

    /// Splits the stream into owned halves; the read half returns the leftover bytes first.
    pub fn into_split(self) -> (StreamReadHalf, StreamWriteHalf) {
        let socket = Arc::new(self.socket);
        let write = StreamWriteHalf {
            socket: socket.clone(),
        };
        let read = StreamReadHalf {
            socket,
            leftover: self.leftover,
        };
        (read, write)
    }
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        read_then(&mut self.leftover, &mut self.socket, buf)
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

/// The read half of a [`Stream`] (from [`Stream::into_split`]): leftover bytes first, then
/// the socket.
#[derive(Debug)]
pub struct StreamReadHalf {
    socket: Arc<TcpStream>,
    leftover: Leftover,
}

impl StreamReadHalf {
    /// The application bytes already received and not yet read.
    pub fn buffered(&self) -> &[u8] {
        self.leftover.unread()
    }
}

impl Read for StreamReadHalf {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        read_then(&mut self.leftover, &*self.socket, buf)
    }
}

/// The write half of a [`Stream`] (from [`Stream::into_split`]). Dropping it shuts down the
/// writing direction of the socket (the peer reads the end of the stream), as tokio's does.
#[derive(Debug)]
pub struct StreamWriteHalf {
    socket: Arc<TcpStream>,
}

impl Write for StreamWriteHalf {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        (&*self.socket).write(buf)
    }

    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        (&*self.socket).write_vectored(bufs)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Drop for StreamWriteHalf {
    fn drop(&mut self) {
        let _ = self.socket.shutdown(Shutdown::Write);
    }
}
