//! The one generic driver: moves bytes between a tokio socket and a sam-proto [`Exchange`].

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use sam_proto::command::Hello;
use sam_proto::exchange::{Exchange, Request, Step};
use sam_proto::message::Message;
use sam_proto::Version;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::Instant;

use crate::SamConfig;
use crate::{Error, Result};

/// How much to read at once while an exchange waits for its answer.
const READ_CHUNK: usize = 8 * 1024;

/// Runs `exchange` on `socket` to the end, following the contract of
/// [`sam_proto::exchange`]: write all of every `Send`, read only when `buf` is empty, hand
/// `buf` to `feed` and drop what it consumed, `eof` on a 0-byte read.
///
/// Whatever is left in `buf` afterwards was read from the socket but is not part of the
/// protocol: it belongs to the application (the first bytes of a stream).
///
/// The future is boxed so that it is `Send` for every request type: rustc cannot prove that
/// for an `async fn` holding an `Exchange<StreamAccept<'static>>` once lifetimes are erased
/// (rust-lang/rust#64552), which would make callers' futures unusable with `tokio::spawn`.
pub(crate) fn drive<'a, R>(
    socket: &'a mut TcpStream,
    exchange: Exchange<R>,
    buf: &'a mut Vec<u8>,
    operation: &'static str,
) -> BoxFuture<'a, R::Output>
where
    R: Request + Send + 'a,
    R::Output: Send,
{
    Box::pin(drive_unboxed(socket, exchange, buf, operation))
}

/// A boxed, `Send` future of a `Result`.
pub(crate) type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T>> + Send + 'a>>;

async fn drive_unboxed<R: Request>(
    socket: &mut TcpStream,
    mut exchange: Exchange<R>,
    buf: &mut Vec<u8>,
    operation: &'static str,
) -> Result<R::Output> {
    let proto = |e| Error::proto(operation, e);
    loop {
        match exchange.poll() {
            Step::Send(bytes) => socket.write_all(bytes).await?,
            Step::Recv if buf.is_empty() => {
                buf.reserve(READ_CHUNK);
                if socket.read_buf(buf).await? == 0 {
                    exchange.eof().map_err(proto)?;
                }
            }
            Step::Recv => exchange.feed_buf(buf).map_err(proto)?,
            Step::Done => break,
        }
    }
    exchange.finish().map_err(proto)
}

/// Runs `fut`, giving up after `after` with [`Error::Timeout`] naming `operation`.
pub(crate) async fn within<T>(
    after: Duration,
    operation: &'static str,
    fut: impl Future<Output = Result<T>>,
) -> Result<T> {
    match tokio::time::timeout(after, fut).await {
        Ok(result) => result,
        Err(_) => Err(Error::Timeout { operation, after }),
    }
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

/// Connects to the bridge and says `HELLO`, both within `config.connect_timeout`.
pub(crate) fn open(config: &SamConfig) -> BoxFuture<'_, Opened> {
    Box::pin(open_unboxed(config))
}

async fn open_unboxed(config: &SamConfig) -> Result<Opened> {
    let after = config.connect_timeout;
    // A timeout too long to add to "now" (Duration::MAX means "no timeout") never fires.
    let now = Instant::now();
    let deadline = now
        .checked_add(after)
        .unwrap_or_else(|| now + Duration::from_secs(100 * 365 * 24 * 3600));
    // Refuse credentials that cannot be written before touching the network. (The exchange
    // is built again below rather than kept: see `drive` on rustc and `Send`.)
    Exchange::new(config.hello()).map_err(|e| Error::proto(Hello::KIND, e))?;
    let socket = match tokio::time::timeout_at(deadline, TcpStream::connect(&config.address)).await
    {
        Ok(Ok(socket)) => socket,
        Ok(Err(source)) => {
            return Err(Error::Unreachable {
                address: config.address.clone(),
                source,
            })
        }
        Err(_) => {
            return Err(Error::Timeout {
                operation: "TCP connect to the SAM bridge",
                after,
            })
        }
    };
    let mut opened = Opened {
        socket,
        buf: Vec::new(),
        version: config.min_version,
    };
    let hello = Exchange::new(config.hello()).map_err(|e| Error::proto(Hello::KIND, e))?;
    let version = tokio::time::timeout_at(
        deadline,
        drive(&mut opened.socket, hello, &mut opened.buf, Hello::KIND),
    )
    .await
    .map_err(|_| Error::Timeout {
        operation: Hello::KIND,
        after,
    })??;
    opened.version = version;
    Ok(opened)
}

/// Opens a socket and runs one command on it: checks `command` before connecting, says
/// `HELLO`, then drives the command (within `timeout`, if any) encoded for the agreed version.
///
/// Returns the socket (with any bytes read past the answer) and the command's output.
/// Boxed for the same reason as [`drive`].
pub(crate) fn request<'a, R>(
    config: &'a SamConfig,
    operation: &'static str,
    timeout: Option<Duration>,
    command: R,
) -> BoxFuture<'a, (Opened, R::Output)>
where
    R: Request + Send + 'a,
    R::Output: Send,
{
    Box::pin(request_unboxed(config, operation, timeout, command))
}

async fn request_unboxed<R>(
    config: &SamConfig,
    operation: &'static str,
    timeout: Option<Duration>,
    command: R,
) -> Result<(Opened, R::Output)>
where
    R: Request + Send,
    R::Output: Send,
{
    let exchange = Exchange::new(command).map_err(|e| Error::proto(operation, e))?;
    let mut opened = open(config).await?;
    let exchange = exchange
        .with_version(opened.version)
        .map_err(|e| Error::proto(operation, e))?;
    let run = drive(&mut opened.socket, exchange, &mut opened.buf, operation);
    let output = match timeout {
        Some(after) => within(after, operation, run).await?,
        None => run.await?,
    };
    Ok((opened, output))
}
