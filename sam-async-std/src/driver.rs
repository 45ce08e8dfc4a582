//! The one generic driver: moves bytes between a futures-io socket and a sam-proto [`Exchange`].

use std::future::Future;
use std::io;
use std::time::Duration;

use async_io::Timer;
use async_net::TcpStream;
use futures_lite::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use futures_lite::FutureExt;
use sam_proto::command::Hello;
use sam_proto::exchange::{Exchange, Request, Step};
use sam_proto::message::Message;
use sam_proto::Version;

use crate::{Error, Result, SamConfig};

/// How much to read at once while an exchange waits for its answer.
const READ_CHUNK: usize = 8 * 1024;

/// Runs `exchange` over `io` until it is done, following [`sam_proto::exchange`]: write all
/// of every `Send`, read only when `buf` is empty, drop what `feed` consumed, `eof` on a
/// 0-byte read. Only I/O fails here: the protocol outcome (also a refusal or garbage, which
/// end the exchange) waits in `exchange.finish()`. What is left in `buf` afterwards was read
/// past the exchange's last line and belongs to the application.
pub(crate) async fn drive<S, R>(
    io: &mut S,
    exchange: &mut Exchange<R>,
    buf: &mut Vec<u8>,
) -> io::Result<()>
where
    S: AsyncRead + AsyncWrite + Unpin,
    R: Request,
{
    loop {
        match exchange.poll() {
            Step::Done => return Ok(()),
            Step::Send(bytes) => io.write_all(bytes).await?,
            Step::Recv if buf.is_empty() => {
                buf.resize(READ_CHUNK, 0);
                let n = io.read(buf).await?;
                buf.truncate(n);
                if n == 0 {
                    // Ends the exchange either way (a last line without `\n`, or an error).
                    let _ = exchange.eof();
                }
            }
            // An error has ended the exchange; `poll` says `Done` next.
            Step::Recv => exchange.feed_buf(buf).unwrap_or(()),
        }
    }
}

/// Runs `fut`, giving up after `after` with [`Error::Timeout`] naming `operation`.
pub(crate) async fn within<T>(
    after: Duration,
    operation: &'static str,
    fut: impl Future<Output = Result<T>>,
) -> Result<T> {
    until(&mut Timer::after(after), after, operation, fut).await
}

/// [`within`] with a timer shared by several steps (`after` is what it was set to).
async fn until<T>(
    timer: &mut Timer,
    after: Duration,
    operation: &'static str,
    fut: impl Future<Output = Result<T>>,
) -> Result<T> {
    let expired = async move {
        timer.await;
        Err(Error::Timeout { operation, after })
    };
    fut.or(expired).await
}

/// A socket to the bridge that has completed `HELLO`.
#[derive(Debug)]
pub(crate) struct Opened {
    pub(crate) socket: TcpStream,
    /// Bytes read but not yet used by an exchange.
    pub(crate) buf: Vec<u8>,
    /// The version the bridge agreed to.
    pub(crate) version: Version,
}

impl Opened {
    /// Runs `exchange` (already encoded for `self.version`) here, within `timeout` if any.
    pub(crate) async fn run<R: Request>(
        &mut self,
        exchange: &mut Exchange<R>,
        operation: &'static str,
        timeout: Option<Duration>,
    ) -> Result<()> {
        let io = async { Ok(drive(&mut self.socket, exchange, &mut self.buf).await?) };
        match timeout {
            Some(after) => within(after, operation, io).await,
            None => io.await,
        }
    }
}

/// Connects to the bridge and says `HELLO`, both within `config.connect_timeout`.
pub(crate) async fn open(config: &SamConfig) -> Result<Opened> {
    // Refuse credentials that cannot be written before touching the network.
    let mut exchange = Exchange::new(config.hello()).map_err(|e| Error::proto(Hello::KIND, e))?;
    let after = config.connect_timeout;
    // One timer for both steps (a duration too long for an `Instant` never fires).
    let mut timer = Timer::after(after);
    let connect = async {
        TcpStream::connect(config.address.as_str())
            .await
            .map_err(|e| Error::unreachable(&config.address, e))
    };
    let socket = until(&mut timer, after, "TCP connect to the SAM bridge", connect).await?;
    let mut opened = Opened {
        socket,
        buf: Vec::new(),
        version: config.min_version,
    };
    let handshake = async {
        drive(&mut opened.socket, &mut exchange, &mut opened.buf).await?;
        exchange.finish().map_err(|e| Error::proto(Hello::KIND, e))
    };
    opened.version = until(&mut timer, after, Hello::KIND, handshake).await?;
    Ok(opened)
}

/// Opens a socket and runs one command on it: checks `command` before connecting, says
/// `HELLO`, then drives the command (within `timeout`, if any) encoded for the agreed version.
/// Returns the socket (with any bytes read past the answer) and the command's output.
pub(crate) async fn request<R: Request>(
    config: &SamConfig,
    operation: &'static str,
    timeout: Option<Duration>,
    command: R,
) -> Result<(Opened, R::Output)> {
    let proto = |e| Error::proto(operation, e);
    let exchange = Exchange::new(command).map_err(proto)?;
    let mut opened = open(config).await?;
    let mut exchange = exchange.with_version(opened.version).map_err(proto)?;
    opened.run(&mut exchange, operation, timeout).await?;
    let output = exchange.finish().map_err(proto)?;
    Ok((opened, output))
}
