//! Benchmarks of the blocking adapter (a plain `main` that prints figures; `harness = false`),
//! the same three as sam-tokio's.
//!
//! ```text
//! cargo bench -p sam-testkit --bench throughput_blocking     # (a) and (b); (c) when SAM_ADDR is set
//! SAM_ADDR=127.0.0.1:17780 cargo bench -p sam-testkit --bench throughput_blocking
//! ```
//!
//! * **(a) Stream vs raw TcpStream throughput.** A fake bridge on loopback answers `HELLO`,
//!   `SESSION CREATE` (with the constructed keys of sam-proto/PROTOCOL.md §11.6) and
//!   `STREAM CONNECT`, then splices the socket to a counting sink. The same splice is also
//!   reachable on a second port without any handshake, for a raw `std::net::TcpStream`.
//!   256 MiB go each way per transfer, 3 rounds of raw,Stream,Stream,raw (Stream,raw,raw,Stream
//!   in odd rounds); the best round of each and the median round ratio are compared (goal:
//!   Stream / raw >= 0.98), by the wall clock and by the client thread's CPU time (Linux).
//! * **(b) Socket reads needed to finish an accept.** The fake bridge answers `STREAM ACCEPT`
//!   with `STREAM STATUS RESULT=OK\n`, the peer's destination line and 1 KiB of data, cut
//!   into segments in several ways (each sent on its own after a pause). A child process
//!   (this binary, `--accept-client`) creates a session, accepts and reads the 1 KiB under
//!   `strace -f`, and the `read`/`recvfrom` calls on the accept socket are counted (`HELLO`
//!   included; goal <= 4).
//! * **(c) connect + accept + 1 KiB echo through a real bridge** (only with `SAM_ADDR`): two
//!   sessions created once, then 200 sequential cycles, then 200 cycles by 8 worker threads;
//!   cycles/s and p50/p99 latency. Tunnel options: `SAM_TUNNEL_OPTIONS` (default: the
//!   testbed's zero-hop options).
//!
//! Run without `--bench` (e.g. `cargo test --benches`), everything is scaled down to a smoke
//! test.
//!
//! The fake bridge, the sink, the splice, the strace count and the statistics are plain std
//! threads and functions shared by the three adapters' benches (`sam_testkit::bench`).

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use sam_blocking::{PrivateKeys, Sam, SamConfig, Session, SessionOptions, Stream, Style};
use sam_testkit::bench::{
    count_reads, counting_sink, cpu_time, fake_bridge, load_average, median, percentile,
    raw_splice, strace_works, stream_ok, CHUNK,
};
use sam_testkit::keys::{REFERENCE_B32, REFERENCE_PRIV};

const MIB: usize = 1024 * 1024;
/// Payload the fake bridge sends after the peer line in (b).
const ACCEPT_PAYLOAD: usize = 1024;
/// Echo size in (c).
const ECHO: usize = 1024;
const TESTBED_TUNNEL_OPTIONS: &str =
    "inbound.length=0 outbound.length=0 inbound.quantity=1 outbound.quantity=1";

type BoxError = Box<dyn std::error::Error + Send + Sync>;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--accept-client") {
        std::process::exit(accept_client(args.get(i + 1).map_or("", String::as_str)));
    }
    let full = args.iter().any(|a| a == "--bench");
    if !full {
        println!("(not run by `cargo bench`: smoke-test sizes)");
    }
    let failed = |part: &str, e: BoxError| {
        println!("{part} FAILED: {e}");
        std::process::exit(1);
    };
    bench_throughput(full).unwrap_or_else(|e| failed("(a)", e));
    bench_accept_reads().unwrap_or_else(|e| failed("(b)", e));
    match std::env::var(sam_blocking::ENV_ADDR) {
        Ok(addr) if !addr.trim().is_empty() => {
            bench_real_bridge(full).unwrap_or_else(|e| failed("(c)", e))
        }
        _ => println!(
            "\n(c) connect+accept+echo through a real bridge: skipped (SAM_ADDR is not set; \
             e.g. testbed/testbed.sh start DIR 17780, then SAM_ADDR=127.0.0.1:17780)"
        ),
    }
}

// ------------------------------------------------------------------------------------------
// (a) throughput
// ------------------------------------------------------------------------------------------

/// A client connection: a `Stream` or a raw `TcpStream`.
trait Conn: Read + Write {
    fn socket(&self) -> &TcpStream;
}

impl Conn for TcpStream {
    fn socket(&self) -> &TcpStream {
        self
    }
}

impl Conn for Stream {
    fn socket(&self) -> &TcpStream {
        self.get_ref()
    }
}

/// Sends `len` bytes through `conn` and waits for the sink's count.
fn upload(conn: &mut dyn Conn, len: usize) -> Result<(), BoxError> {
    let chunk = vec![0xa5u8; CHUNK];
    conn.write_all(b"U")?;
    let mut left = len;
    while left > 0 {
        let n = left.min(chunk.len());
        conn.write_all(&chunk[..n])?;
        left -= n;
    }
    conn.socket().shutdown(Shutdown::Write)?;
    let mut count = [0u8; 8];
    conn.read_exact(&mut count)?;
    match u64::from_le_bytes(count) as usize {
        counted if counted == len => Ok(()),
        counted => Err(format!("the sink counted {counted} bytes, {len} sent").into()),
    }
}

/// Asks the sink for `len` bytes and reads them to EOF.
fn download(conn: &mut dyn Conn, len: usize) -> Result<(), BoxError> {
    let mut buf = vec![0u8; CHUNK];
    conn.write_all(&[&b"D"[..], &(len as u64).to_le_bytes()].concat())?;
    let mut total = 0;
    loop {
        match conn.read(&mut buf)? {
            0 => break,
            n => total += n,
        }
    }
    if total != len {
        return Err(format!("received {total} bytes, {len} asked for").into());
    }
    Ok(())
}

#[derive(Clone, Copy)]
enum Path {
    Raw,
    Stream,
}

/// One transfer: (wall-clock seconds, CPU seconds of this thread).
fn one_transfer(
    path: Path,
    up: bool,
    len: usize,
    session: &Session,
    raw: SocketAddr,
) -> Result<(f64, f64), BoxError> {
    let mut conn: Box<dyn Conn> = match path {
        Path::Raw => Box::new(TcpStream::connect(raw)?),
        Path::Stream => Box::new(session.connect(REFERENCE_B32)?),
    };
    conn.socket().set_nodelay(true)?;
    let (started, cpu) = (Instant::now(), cpu_time());
    if up {
        upload(&mut *conn, len)?
    } else {
        download(&mut *conn, len)?
    }
    let wall = started.elapsed().as_secs_f64();
    let cpu = cpu
        .zip(cpu_time())
        .map_or(wall, |(a, b)| b.saturating_sub(a).as_secs_f64());
    Ok((wall, cpu))
}

fn bench_throughput(full: bool) -> Result<(), BoxError> {
    let (len, rounds) = if full { (256 * MIB, 3) } else { (4 * MIB, 1) };
    // The keys must be what the reference (sam-proto/PROTOCOL.md §11.6) says they are.
    let keys = PrivateKeys::from_base64(REFERENCE_PRIV)?;
    assert_eq!(keys.destination().b32_address().to_string(), REFERENCE_B32);

    let sink = counting_sink()?;
    let bridge = fake_bridge(sink, Vec::new())?;
    let raw = raw_splice(sink)?;
    let session =
        Sam::new(SamConfig::new(bridge.to_string())).session(SessionOptions::new(Style::Stream))?;
    println!(
        "(a) throughput through a loopback splice: {} MiB each way per transfer, {rounds} round(s) \
         of raw,Stream,Stream,raw; {} KiB chunks; MiB/s (by the wall clock | per CPU second of \
         the client thread); load average {}",
        len / MIB,
        CHUNK / 1024,
        load_average()
    );
    // Warm-up (connections, buffers, CPU frequency), not counted.
    for path in [Path::Raw, Path::Stream] {
        for up in [true, false] {
            one_transfer(path, up, len.min(32 * MIB), &session, raw)?;
        }
    }
    let mib = len as f64 / MIB as f64;
    // [direction][clock]: every round's (raw, Stream) MiB/s.
    let mut rates = [[Vec::new(), Vec::new()], [Vec::new(), Vec::new()]];
    for round in 0..rounds {
        for (d, up) in [true, false].into_iter().enumerate() {
            // A B B A (B A A B in odd rounds): drift in machine load hits both paths alike.
            let (a, b) = match round % 2 {
                0 => (Path::Raw, Path::Stream),
                _ => (Path::Stream, Path::Raw),
            };
            let mut secs = [[0f64; 2]; 2];
            for path in [a, b, b, a] {
                let (wall, cpu) = one_transfer(path, up, len, &session, raw)?;
                secs[0][path as usize] += wall;
                secs[1][path as usize] += cpu;
            }
            let rate = |clock: usize| secs[clock].map(|s| 2.0 * mib / s);
            let (wall, cpu) = (rate(0), rate(1));
            rates[d][0].push(wall);
            rates[d][1].push(cpu);
            println!(
                "    round {} {:<8} raw TcpStream {:>7.1} | {:>7.1}   sam_blocking::Stream {:>7.1} | {:>7.1}   ratio {:.3} | {:.3}",
                round + 1,
                if up { "upload" } else { "download" },
                wall[0],
                cpu[0],
                wall[1],
                cpu[1],
                wall[1] / wall[0],
                cpu[1] / cpu[0]
            );
        }
    }
    for (d, name) in ["upload", "download"].into_iter().enumerate() {
        for (clock, by) in ["wall", "CPU"].into_iter().enumerate() {
            let rounds = &rates[d][clock];
            let best = |p: usize| rounds.iter().map(|r| r[p]).fold(0f64, f64::max);
            let mut ratios: Vec<f64> = rounds.iter().map(|r| r[1] / r[0]).collect();
            println!(
                "    {name:<8} {by:<4} best raw {:>7.1}   best Stream {:>7.1}   ratio of bests {:.3}   median round ratio {:.3}   (goal >= 0.98)",
                best(0),
                best(1),
                best(1) / best(0),
                median(&mut ratios),
            );
        }
    }
    session.close();
    Ok(())
}

// ------------------------------------------------------------------------------------------
// (b) reads per accept
// ------------------------------------------------------------------------------------------

/// The child process: session, one accept, read the payload; prints the accept socket's fd.
fn accept_client(addr: &str) -> i32 {
    let outcome = || -> Result<(i32, usize), BoxError> {
        let session = Sam::new(SamConfig::new(addr)).session(SessionOptions::new(Style::Stream))?;
        let mut incoming = session.accept()?;
        let buffered = incoming.stream.buffered().len();
        let mut payload = vec![0u8; ACCEPT_PAYLOAD];
        incoming.stream.read_exact(&mut payload)?;
        if payload.iter().any(|&b| b != b'x') {
            return Err("payload corrupted".into());
        }
        #[cfg(unix)]
        let fd = std::os::fd::AsRawFd::as_raw_fd(incoming.stream.get_ref());
        #[cfg(not(unix))]
        let fd = -1;
        Ok((fd, buffered))
    };
    match outcome() {
        Ok((fd, buffered)) => {
            println!("fd={fd} buffered={buffered}");
            0
        }
        Err(e) => {
            eprintln!("accept client: {e}");
            1
        }
    }
}

fn bench_accept_reads() -> Result<(), BoxError> {
    let keys = PrivateKeys::from_base64(REFERENCE_PRIV)?;
    let status = stream_ok();
    let peer = [keys.destination().to_base64().as_bytes(), b"\n"].concat();
    let data = vec![b'x'; ACCEPT_PAYLOAD];
    let (peer_a, peer_b) = peer.split_at(peer.len() / 2);
    let cases: Vec<(&str, Vec<Vec<u8>>)> = vec![
        (
            "status+peer+data in one segment",
            vec![[&status[..], &peer, &data].concat()],
        ),
        (
            "status | peer+data",
            vec![status.clone(), [&peer[..], &data].concat()],
        ),
        (
            "status+peer | data",
            vec![[&status[..], &peer].concat(), data.clone()],
        ),
        (
            "status | peer | data",
            vec![status.clone(), peer.clone(), data.clone()],
        ),
        (
            "status | half a peer line | rest+data",
            vec![status.clone(), peer_a.to_vec(), [peer_b, &data].concat()],
        ),
    ];
    let exe = std::env::current_exe()?;
    let strace = strace_works();
    println!(
        "\n(b) socket reads on the accept socket to finish HELLO + STREAM ACCEPT + read {ACCEPT_PAYLOAD} B \
         of data (fake bridge; segments 30 ms apart){}",
        if strace {
            ", counted with strace -f"
        } else {
            ": strace unavailable (apt-get install -y strace), printing segment counts only"
        }
    );
    let sink = counting_sink()?;
    for (name, segments) in cases {
        // Segments the client must receive: the HELLO reply plus these.
        let lower_bound = 1 + segments.len();
        let bridge = fake_bridge(sink, segments)?.to_string();
        let trace_file = std::env::temp_dir().join(format!(
            "sam-blocking-bench-accept-{}-{lower_bound}.strace",
            std::process::id()
        ));
        let mut command = Command::new(if strace {
            "strace"
        } else {
            exe.as_os_str().to_str().unwrap_or_default()
        });
        if strace {
            command
                .args(["-f", "-qq", "-e", "trace=read,recvfrom,readv", "-o"])
                .arg(&trace_file)
                .arg(&exe);
        }
        let out = command.args(["--accept-client", &bridge]).output()?;
        let trace = std::fs::read_to_string(&trace_file).unwrap_or_default();
        let _ = std::fs::remove_file(&trace_file);
        if !out.status.success() {
            return Err(format!(
                "accept client failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            )
            .into());
        }
        if !strace {
            println!("    {name:<40} {lower_bound} segments to receive (>= {lower_bound} reads)");
            continue;
        }
        let stdout = String::from_utf8_lossy(&out.stdout);
        let field = |key: &str| -> Option<i64> {
            stdout
                .split_whitespace()
                .find_map(|w| w.strip_prefix(key))
                .and_then(|v| v.parse().ok())
        };
        let fd = field("fd=").ok_or("no fd from the accept client")? as i32;
        let buffered = field("buffered=").unwrap_or(-1);
        let (reads, eagain) = count_reads(&trace, fd);
        println!(
            "    {name:<40} {reads} reads ({eagain} EAGAIN) for {lower_bound} segments; \
             {buffered} B of data came with the handshake {}",
            if reads <= 4 { "" } else { "  (> 4)" }
        );
    }
    Ok(())
}

// ------------------------------------------------------------------------------------------
// (c) real bridge
// ------------------------------------------------------------------------------------------

/// Accepts forever on `session`, echoing `ECHO` bytes on each stream (a thread per stream).
fn spawn_echo_acceptor(session: Session) {
    thread::spawn(move || {
        for incoming in session.incoming() {
            let mut stream = match incoming {
                Ok(incoming) => incoming.stream,
                Err(e) => {
                    if !session.is_closed() {
                        eprintln!("    acceptor: {e}");
                    }
                    continue;
                }
            };
            thread::spawn(move || {
                let mut buf = [0u8; ECHO];
                if stream.read_exact(&mut buf).is_ok() && stream.write_all(&buf).is_ok() {
                    // Keep the stream until the connector has read the echo and closed.
                    let _ = stream.read(&mut [0u8; 1]);
                }
            });
        }
    });
}

/// One connect + 1 KiB echo; returns its latency.
fn cycle(connector: &Session, dest: &str, i: usize) -> Result<Duration, BoxError> {
    let started = Instant::now();
    let mut stream = connector.connect(dest)?;
    stream
        .get_ref()
        .set_read_timeout(Some(Duration::from_secs(60)))?;
    let payload: Vec<u8> = (0..ECHO).map(|j| (i + j) as u8).collect();
    stream.write_all(&payload)?;
    let mut back = vec![0u8; ECHO];
    stream.read_exact(&mut back)?;
    if back != payload {
        return Err("echo differs".into());
    }
    Ok(started.elapsed())
}

fn report(name: &str, mut latencies: Vec<Duration>, wall: Duration) {
    latencies.sort();
    println!(
        "    {name:<28} {:>4} cycles in {:>7.2?}: {:>7.1} cycles/s   p50 {:>8.2?}   p99 {:>8.2?}   max {:>8.2?}",
        latencies.len(),
        wall,
        latencies.len() as f64 / wall.as_secs_f64(),
        percentile(&latencies, 50.0),
        percentile(&latencies, 99.0),
        latencies.last().copied().unwrap_or_default()
    );
}

fn bench_real_bridge(full: bool) -> Result<(), BoxError> {
    let n = if full { 200 } else { 20 };
    const WORKERS: usize = 8;
    let mut config = SamConfig::from_env();
    config.stream_timeout = Duration::from_secs(60);
    let mut options = SessionOptions::new(Style::Stream);
    let tunnel =
        std::env::var("SAM_TUNNEL_OPTIONS").unwrap_or_else(|_| TESTBED_TUNNEL_OPTIONS.to_owned());
    for kv in tunnel.split_whitespace() {
        let (k, v) = kv
            .split_once('=')
            .ok_or_else(|| format!("SAM_TUNNEL_OPTIONS: {kv:?} is not key=value"))?;
        options = options.option(k, v);
    }
    println!(
        "\n(c) connect + accept + {ECHO} B echo through the bridge at {} (dest: base64)",
        config.address
    );
    let sam = Sam::new(config);
    let started = Instant::now();
    let (acceptor, connector) = thread::scope(|s| {
        let acceptor = s.spawn(|| sam.session(options.clone()));
        let connector = sam.session(options.clone());
        (
            acceptor.join().map_err(|_| "session thread panicked"),
            connector,
        )
    });
    let (acceptor, connector) = (acceptor??, connector?);
    println!(
        "    two sessions created concurrently in {:.1?}",
        started.elapsed()
    );
    let dest = acceptor.destination().to_base64();

    // One accept at a time, re-armed as soon as a stream arrives: i2pd before 2.50 has no
    // queue for concurrent STREAM ACCEPTs (a second one replaces the first), and holds an
    // incoming stream until the next ACCEPT comes.
    spawn_echo_acceptor(acceptor.clone());
    // Warm-up: the first stream fetches the lease set.
    println!(
        "    first (warm-up) cycle: {:.2?}",
        cycle(&connector, &dest, 0)?
    );

    let started = Instant::now();
    let latencies = (0..n)
        .map(|i| cycle(&connector, &dest, i))
        .collect::<Result<_, _>>()?;
    report("sequential", latencies, started.elapsed());

    let next = AtomicUsize::new(0);
    let started = Instant::now();
    let latencies = thread::scope(|s| {
        let workers: Vec<_> = (0..WORKERS)
            .map(|_| {
                s.spawn(|| {
                    let mut mine = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        if i >= n {
                            break;
                        }
                        mine.push(cycle(&connector, &dest, i)?);
                    }
                    Ok::<_, BoxError>(mine)
                })
            })
            .collect();
        let mut all = Vec::new();
        for worker in workers {
            all.extend(worker.join().map_err(|_| "worker panicked")??);
        }
        Ok::<_, BoxError>(all)
    })?;
    report(
        &format!("{WORKERS} concurrent workers"),
        latencies,
        started.elapsed(),
    );
    acceptor.close();
    connector.close();
    Ok(())
}
