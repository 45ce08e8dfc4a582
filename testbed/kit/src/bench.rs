//! What the three adapters' throughput benches share: the loopback fake bridge (plain `std`
//! threads, so it serves any runtime's client), the counting sink and the splice, the
//! statistics, and the strace helpers. Nothing here depends on an adapter.
//!
//! * [`fake_bridge`] answers `HELLO` and `SESSION CREATE` (with [`REFERENCE_PRIV`]), splices a
//!   `STREAM CONNECT` stream to the sink, and answers `STREAM ACCEPT` with the segments it was
//!   given (30 ms before each);
//! * [`raw_splice`] is the same splice without any handshake (for a raw `TcpStream`);
//! * [`counting_sink`]: `U` = count bytes until EOF and answer the count (u64 LE); `D` + u64 LE
//!   n = send n bytes and close.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use sam_proto::command::{Hello, SessionCreate, StreamAccept, StreamConnect};
use sam_proto::line::Line;
use sam_proto::reply::{HelloReply, SessionStatus, StreamStatus};
use sam_proto::{Message, ResultCode, Secret, Version};

use crate::keys::REFERENCE_PRIV;

/// The splice's buffer size (and the benches' read/write chunk).
pub const CHUNK: usize = 256 * 1024;

fn reply<'a>(message: impl Message<'a>) -> io::Result<Vec<u8>> {
    message.to_bytes(Version::V3_1).map_err(io::Error::other)
}

/// `STREAM STATUS RESULT=OK\n`.
pub fn stream_ok() -> Vec<u8> {
    b"STREAM STATUS RESULT=OK\n".to_vec()
}

/// Accepts connections on a new loopback port, each served on its own thread by `serve`.
pub fn listen(
    serve: impl Fn(TcpStream) -> io::Result<()> + Send + Sync + 'static,
) -> io::Result<SocketAddr> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    let serve = Arc::new(serve);
    thread::spawn(move || {
        for socket in listener.incoming().flatten() {
            let _ = socket.set_nodelay(true);
            let serve = serve.clone();
            thread::spawn(move || serve(socket));
        }
    });
    Ok(addr)
}

/// The fake bridge: `STREAM CONNECT` streams are spliced to `sink`; `STREAM ACCEPT` is
/// answered with `accept_segments` (30 ms before each).
pub fn fake_bridge(sink: SocketAddr, accept_segments: Vec<Vec<u8>>) -> io::Result<SocketAddr> {
    listen(move |socket| {
        let mut conn = BufReader::new(socket.try_clone()?);
        let mut writer = socket;
        let mut text = String::new();
        loop {
            text.clear();
            if conn.read_line(&mut text)? == 0 {
                return Ok(());
            }
            let line = Line::parse(text.as_bytes()).map_err(io::Error::other)?;
            if Hello::from_line(&line).is_ok() {
                writer.write_all(&reply(HelloReply {
                    result: ResultCode::Ok,
                    version: Some(Version::V3_1),
                    message: None,
                    extra: Vec::new(),
                })?)?;
            } else if SessionCreate::from_line(&line).is_ok() {
                writer.write_all(&reply(SessionStatus {
                    result: ResultCode::Ok,
                    destination: Some(Secret::new(REFERENCE_PRIV)),
                    id: None,
                    message: None,
                    extra: Vec::new(),
                })?)?;
                // The control socket: stay silent until the client closes it.
                return io::copy(&mut conn, &mut io::sink()).map(drop);
            } else if StreamConnect::from_line(&line).is_ok() {
                writer.write_all(&reply(StreamStatus {
                    result: ResultCode::Ok,
                    message: None,
                    extra: Vec::new(),
                })?)?;
                return splice(conn, writer, sink);
            } else if StreamAccept::from_line(&line).is_ok() {
                for segment in &accept_segments {
                    thread::sleep(Duration::from_millis(30));
                    writer.write_all(segment)?;
                }
                // Hold the stream until the client is done.
                return io::copy(&mut conn, &mut io::sink()).map(drop);
            } else {
                return Ok(());
            }
        }
    })
}

/// Copies `from` to `to` in [`CHUNK`]s until EOF, then ends `to`'s writing side.
pub fn pump(mut from: impl Read, to: &TcpStream) -> io::Result<()> {
    let mut buf = vec![0u8; CHUNK];
    let mut to = to;
    loop {
        match from.read(&mut buf)? {
            0 => return to.shutdown(Shutdown::Write),
            n => to.write_all(&buf[..n])?,
        }
    }
}

/// Copies both ways between a client (read through `reader`, which may hold buffered
/// bytes; written through `writer`) and a new connection to `sink` (the bridge's job).
pub fn splice(
    reader: impl Read + Send + 'static,
    writer: TcpStream,
    sink: SocketAddr,
) -> io::Result<()> {
    let upstream = TcpStream::connect(sink)?;
    upstream.set_nodelay(true)?;
    let up = upstream.try_clone()?;
    let client_to_sink = thread::spawn(move || pump(reader, &up));
    let back = pump(&upstream, &writer);
    client_to_sink
        .join()
        .map_err(|_| io::Error::other("splice thread panicked"))??;
    back
}

/// A listener whose connections go straight into the splice (for the raw TcpStream).
pub fn raw_splice(sink: SocketAddr) -> io::Result<SocketAddr> {
    listen(move |socket| splice(socket.try_clone()?, socket, sink))
}

/// The sink: `U` = count bytes until EOF and answer the count (u64 LE); `D` + u64 LE n =
/// send n bytes and close.
pub fn counting_sink() -> io::Result<SocketAddr> {
    listen(|mut socket| {
        let mut mode = [0u8; 1];
        socket.read_exact(&mut mode)?;
        match mode[0] {
            b'U' => {
                let counted = io::copy(&mut socket, &mut io::sink())?;
                socket.write_all(&counted.to_le_bytes())?;
            }
            b'D' => {
                let mut len = [0u8; 8];
                socket.read_exact(&mut len)?;
                let mut source = io::repeat(0x5a).take(u64::from_le_bytes(len));
                pump(&mut source, &socket)?;
            }
            _ => {}
        }
        socket.shutdown(Shutdown::Write)
    })
}

// ---------------------------------------------------------------------------------------------
// Statistics and the machine
// ---------------------------------------------------------------------------------------------

/// The median (sorts `values`); NaN for none.
pub fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    match values.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => values[n / 2],
        n => (values[n / 2 - 1] + values[n / 2]) / 2.0,
    }
}

/// The `p`-th percentile (nearest rank) of `sorted`; zero for none.
pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted
        .get(rank.clamp(1, sorted.len().max(1)) - 1)
        .copied()
        .unwrap_or_default()
}

/// Time this thread has spent on a CPU (Linux: `/proc/thread-self/schedstat`, in ns), which
/// other programs' load changes much less than wall-clock time.
pub fn cpu_time() -> Option<Duration> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    Some(Duration::from_nanos(
        text.split_whitespace().next()?.parse().ok()?,
    ))
}

/// The 1-minute load average (`/proc/loadavg`), or `?`.
pub fn load_average() -> String {
    let text = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    text.split_whitespace().next().unwrap_or("?").to_owned()
}

// ---------------------------------------------------------------------------------------------
// strace
// ---------------------------------------------------------------------------------------------

/// Counts `read`/`recvfrom`/`readv` calls on `fd` in an `strace -f -o` file: (all, EAGAIN).
pub fn count_reads(trace: &str, fd: i32) -> (usize, usize) {
    let calls = ["read(", "recvfrom(", "readv("].map(|c| [c, &fd.to_string(), ","].concat());
    // "PID  syscall(fd, ...) = n" (or "... <unfinished ...>").
    let on_fd = trace.lines().filter(|line| {
        let call = line
            .split_once(' ')
            .map_or(*line, |(_, rest)| rest.trim_start());
        calls.iter().any(|c| call.starts_with(c.as_str()))
    });
    on_fd.fold((0, 0), |(all, eagain), line| {
        (all + 1, eagain + usize::from(line.contains("EAGAIN")))
    })
}

/// Whether `strace -f` works here (installed, and ptrace allowed).
pub fn strace_works() -> bool {
    let probe = ["-f", "-qq", "-e", "trace=none", "-o", "/dev/null", "true"];
    let status = Command::new("strace")
        .args(probe)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    status.is_ok_and(|s| s.success())
}
