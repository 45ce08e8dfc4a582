//! Benchmarks of the tokio adapter (a plain `main` that prints figures; `harness = false`).
//!
//! ```text
//! cargo bench -p sam-testkit --bench throughput_tokio        # (a) and (b); (c) when SAM_ADDR is set
//! SAM_ADDR=127.0.0.1:17740 cargo bench -p sam-testkit --bench throughput_tokio
//! ```
//!
//! * **(a) Stream vs raw TcpStream throughput.** A fake bridge on loopback answers `HELLO`,
//!   `SESSION CREATE` (with the constructed keys of sam-proto/PROTOCOL.md §11.6) and
//!   `STREAM CONNECT`, then splices the socket to a counting sink (the bridge, splice and sink
//!   are `sam_testkit::bench`'s std threads, shared by the three adapters' benches). The same splice is also
//!   reachable on a second port without any handshake, for a raw `tokio::net::TcpStream`.
//!   256 MiB go each way per round, 3 rounds, the two clients alternating; the best round of
//!   each is compared (goal: Stream / raw >= 0.98).
//! * **(b) Socket reads needed to finish an accept.** The fake bridge answers `STREAM ACCEPT`
//!   with `STREAM STATUS RESULT=OK\n`, the peer's destination line and 1 KiB of data, cut
//!   into segments in several ways (each segment sent on its own after a pause). A child
//!   process (this binary, `--accept-client`) creates a session, accepts and reads the 1 KiB
//!   under `strace -f`, and the `read`/`recvfrom` calls on the accept socket are counted
//!   (`HELLO` included; goal <= 4). Without a working strace, only the segment counts are
//!   printed.
//! * **(c) connect + accept + 1 KiB echo through a real bridge** (only with `SAM_ADDR`, e.g.
//!   the offline testbed): two sessions created once, then 200 sequential cycles, then 200
//!   cycles by 8 concurrent workers; cycles/s and p50/p99 latency. The acceptor keeps one
//!   `STREAM ACCEPT` pending at a time (i2pd < 2.50 cannot queue concurrent ones; 2.45.1
//!   crashed with "pure virtual method called" when 8 were pending). A third series (50
//!   cycles) leaves 60 ms idle before each connect, which shows what the bridge's Nagle
//!   algorithm and the client's delayed ACK cost a freshly armed accept (cycles/s there
//!   exclude the idle time). Tunnel options come from
//!   `SAM_TUNNEL_OPTIONS` (default: the testbed's zero-hop options).
//!
//! Run without `--bench` (e.g. `cargo test --benches`), everything is scaled down to a smoke
//! test.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use sam_testkit::bench::{
    count_reads, counting_sink, fake_bridge, median, percentile, raw_splice, strace_works,
    stream_ok, CHUNK,
};
use sam_testkit::keys::{REFERENCE_B32, REFERENCE_PRIV};
use sam_tokio::{PrivateKeys, Sam, SamConfig, Session, SessionOptions, Stream, Style};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const MIB: usize = 1024 * 1024;
/// Payload the fake bridge sends after the peer line in (b).
const ACCEPT_PAYLOAD: usize = 1024;
/// Echo size in (c).
const ECHO: usize = 1024;

const TESTBED_TUNNEL_OPTIONS: &str =
    "inbound.length=0 outbound.length=0 inbound.quantity=1 outbound.quantity=1";

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--accept-client") {
        let addr = args.get(i + 1).cloned().unwrap_or_default();
        std::process::exit(accept_client(&addr));
    }
    let full = args.iter().any(|a| a == "--bench");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    runtime.block_on(async {
        if !full {
            println!("(not run by `cargo bench`: smoke-test sizes)");
        }
        if let Err(e) = bench_throughput(full).await {
            println!("(a) FAILED: {e}");
            std::process::exit(1);
        }
        if let Err(e) = bench_accept_reads().await {
            println!("(b) FAILED: {e}");
            std::process::exit(1);
        }
        match std::env::var(sam_tokio::ENV_ADDR) {
            Ok(addr) if !addr.trim().is_empty() => {
                if let Err(e) = bench_real_bridge(full).await {
                    println!("(c) FAILED: {e}");
                    std::process::exit(1);
                }
            }
            _ => println!(
                "\n(c) connect+accept+echo through a real bridge: skipped (SAM_ADDR is not set; \
                 e.g. testbed/testbed.sh start DIR 17740, then SAM_ADDR=127.0.0.1:17740)"
            ),
        }
    });
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

// ------------------------------------------------------------------------------------------
// (a) throughput
// ------------------------------------------------------------------------------------------

/// Sends `len` bytes through `conn` and waits for the sink's count; returns the seconds.
async fn upload<S>(mut conn: S, len: usize) -> Result<f64, BoxError>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let chunk = vec![0xa5u8; CHUNK];
    let started = Instant::now();
    conn.write_all(b"U").await?;
    let mut left = len;
    while left > 0 {
        let n = left.min(chunk.len());
        conn.write_all(&chunk[..n]).await?;
        left -= n;
    }
    conn.shutdown().await?;
    let mut count = [0u8; 8];
    conn.read_exact(&mut count).await?;
    let secs = started.elapsed().as_secs_f64();
    let count = u64::from_le_bytes(count) as usize;
    if count != len {
        return Err(format!("the sink counted {count} bytes, {len} sent").into());
    }
    Ok(secs)
}

/// Asks the sink for `len` bytes and reads them to EOF; returns the seconds.
async fn download<S>(mut conn: S, len: usize) -> Result<f64, BoxError>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let mut buf = vec![0u8; CHUNK];
    let started = Instant::now();
    let mut request = vec![b'D'];
    request.extend_from_slice(&(len as u64).to_le_bytes());
    conn.write_all(&request).await?;
    let mut total = 0;
    loop {
        let n = conn.read(&mut buf).await?;
        if n == 0 {
            break;
        }
        total += n;
    }
    let secs = started.elapsed().as_secs_f64();
    if total != len {
        return Err(format!("received {total} bytes, {len} asked for").into());
    }
    Ok(secs)
}

#[derive(Clone, Copy)]
enum Path {
    Raw,
    Stream,
}

async fn one_transfer(
    path: Path,
    up: bool,
    len: usize,
    session: &Session,
    raw_addr: SocketAddr,
) -> Result<f64, BoxError> {
    match path {
        Path::Raw => {
            let conn = TcpStream::connect(raw_addr).await?;
            conn.set_nodelay(true)?;
            if up {
                upload(conn, len).await
            } else {
                download(conn, len).await
            }
        }
        Path::Stream => {
            let conn: Stream = session.connect(REFERENCE_B32).await?;
            conn.get_ref().set_nodelay(true)?;
            if up {
                upload(conn, len).await
            } else {
                download(conn, len).await
            }
        }
    }
}

async fn bench_throughput(full: bool) -> Result<(), BoxError> {
    let (len, rounds) = if full { (256 * MIB, 3) } else { (4 * MIB, 1) };
    // The keys must be what the reference (sam-proto/PROTOCOL.md §11.6) says they are.
    let keys = PrivateKeys::from_base64(REFERENCE_PRIV)?;
    assert_eq!(keys.destination().b32_address().to_string(), REFERENCE_B32);

    let sink = counting_sink()?;
    let bridge = fake_bridge(sink, Vec::new())?;
    let raw_addr = raw_splice(sink)?;
    let session = Sam::new(SamConfig::new(bridge.to_string()))
        .session(SessionOptions::new(Style::Stream))
        .await?;
    println!(
        "(a) throughput through a loopback splice: {} MiB each way per transfer, {rounds} round(s) \
         of raw,Stream,Stream,raw; {} KiB chunks; MiB/s; load average {}",
        len / MIB,
        CHUNK / 1024,
        std::fs::read_to_string("/proc/loadavg")
            .ok()
            .and_then(|l| l.split_whitespace().next().map(str::to_owned))
            .unwrap_or_else(|| "?".to_owned())
    );
    // Warm-up (connections, buffers, CPU frequency), not counted.
    for path in [Path::Raw, Path::Stream] {
        for up in [true, false] {
            one_transfer(path, up, len.min(32 * MIB), &session, raw_addr).await?;
        }
    }
    let mib = len as f64 / MIB as f64;
    // [direction][path]: every round's MiB/s, and all rounds' ratios.
    let mut rates = [[Vec::new(), Vec::new()], [Vec::new(), Vec::new()]];
    let mut ratios = [Vec::new(), Vec::new()];
    for round in 0..rounds {
        for (d, up) in [true, false].into_iter().enumerate() {
            // A B B A (B A A B in odd rounds): drift in machine load hits both paths alike.
            let (a, b) = if round % 2 == 0 {
                (Path::Raw, Path::Stream)
            } else {
                (Path::Stream, Path::Raw)
            };
            let mut secs = [0f64; 2];
            for path in [a, b, b, a] {
                secs[path as usize] += one_transfer(path, up, len, &session, raw_addr).await?;
            }
            let raw = 2.0 * mib / secs[Path::Raw as usize];
            let stream = 2.0 * mib / secs[Path::Stream as usize];
            rates[d][0].push(raw);
            rates[d][1].push(stream);
            ratios[d].push(stream / raw);
            println!(
                "    round {} {:<8} raw TcpStream {:>7.1}   sam_tokio::Stream {:>7.1}   ratio {:.3}",
                round + 1,
                if up { "upload" } else { "download" },
                raw,
                stream,
                stream / raw
            );
        }
    }
    for (d, name) in ["upload", "download"].into_iter().enumerate() {
        let best = |v: &[f64]| v.iter().copied().fold(0f64, f64::max);
        println!(
            "    {name:<8} best raw {:>7.1}   best Stream {:>7.1}   ratio of bests {:.3}   median round ratio {:.3}   (goal >= 0.98)",
            best(&rates[d][0]),
            best(&rates[d][1]),
            best(&rates[d][1]) / best(&rates[d][0]),
            median(&mut ratios[d]),
        );
    }
    session.close().await;
    Ok(())
}

// ------------------------------------------------------------------------------------------
// (b) reads per accept
// ------------------------------------------------------------------------------------------

/// The child process: session, one accept, read the payload; prints the accept socket's fd.
fn accept_client(addr: &str) -> i32 {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let outcome: Result<(i32, usize), BoxError> = runtime.block_on(async {
        let session = Sam::new(SamConfig::new(addr))
            .session(SessionOptions::new(Style::Stream))
            .await?;
        let mut incoming = session.accept().await?;
        let buffered = incoming.stream.buffered().len();
        let mut payload = vec![0u8; ACCEPT_PAYLOAD];
        incoming.stream.read_exact(&mut payload).await?;
        if payload.iter().any(|&b| b != b'x') {
            return Err("payload corrupted".into());
        }
        #[cfg(unix)]
        let fd = {
            use std::os::fd::AsRawFd;
            incoming.stream.get_ref().as_raw_fd()
        };
        #[cfg(not(unix))]
        let fd = -1;
        Ok((fd, buffered))
    });
    match outcome {
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

async fn bench_accept_reads() -> Result<(), BoxError> {
    let keys = PrivateKeys::from_base64(REFERENCE_PRIV)?;
    let status = stream_ok();
    let mut peer = keys.destination().to_base64().into_bytes();
    peer.push(b'\n');
    let data = vec![b'x'; ACCEPT_PAYLOAD];
    let cat = |parts: &[&[u8]]| parts.concat();
    let (peer_a, peer_b) = peer.split_at(peer.len() / 2);
    let cases: Vec<(&str, Vec<Vec<u8>>)> = vec![
        (
            "status+peer+data in one segment",
            vec![cat(&[&status, &peer, &data])],
        ),
        (
            "status | peer+data",
            vec![status.clone(), cat(&[&peer, &data])],
        ),
        (
            "status+peer | data",
            vec![cat(&[&status, &peer]), data.clone()],
        ),
        (
            "status | peer | data",
            vec![status.clone(), peer.clone(), data.clone()],
        ),
        (
            "status | half a peer line | rest+data",
            vec![status.clone(), peer_a.to_vec(), cat(&[peer_b, &data])],
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
        let bridge = fake_bridge(sink, segments.clone())?;
        // Segments the client must receive: the HELLO reply plus these.
        let lower_bound = 1 + segments.len();
        if !strace {
            let out = tokio::process::Command::new(&exe)
                .args(["--accept-client", &bridge.to_string()])
                .output()
                .await?;
            if !out.status.success() {
                return Err(format!(
                    "accept client failed: {}",
                    String::from_utf8_lossy(&out.stderr)
                )
                .into());
            }
            println!("    {name:<40} {lower_bound} segments to receive (>= {lower_bound} reads)");
            continue;
        }
        let trace_file = std::env::temp_dir().join(format!(
            "sam-tokio-bench-accept-{}-{}.strace",
            std::process::id(),
            lower_bound
        ));
        let out = tokio::process::Command::new("strace")
            .args(["-f", "-qq", "-e", "trace=read,recvfrom,readv", "-o"])
            .arg(&trace_file)
            .arg(&exe)
            .args(["--accept-client", &bridge.to_string()])
            .output()
            .await?;
        let trace = std::fs::read_to_string(&trace_file).unwrap_or_default();
        let _ = std::fs::remove_file(&trace_file);
        let stdout = String::from_utf8_lossy(&out.stdout);
        if !out.status.success() {
            return Err(format!(
                "accept client failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            )
            .into());
        }
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
             {buffered} B of data came with the handshake{}",
            if reads <= 4 { "" } else { "  (more than 4!)" }
        );
    }
    Ok(())
}

// ------------------------------------------------------------------------------------------
// (c) real bridge
// ------------------------------------------------------------------------------------------

fn tunnel_options() -> Result<Vec<(String, String)>, BoxError> {
    let text =
        std::env::var("SAM_TUNNEL_OPTIONS").unwrap_or_else(|_| TESTBED_TUNNEL_OPTIONS.to_owned());
    text.split_whitespace()
        .map(|kv| match kv.split_once('=') {
            Some((k, v)) if !k.is_empty() => Ok((k.to_owned(), v.to_owned())),
            _ => Err(format!("SAM_TUNNEL_OPTIONS: {kv:?} is not key=value").into()),
        })
        .collect()
}

/// Accepts forever on `session`, echoing `ECHO` bytes on each stream.
fn spawn_echo_acceptor(session: Session) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            let incoming = match session.accept().await {
                Ok(incoming) => incoming,
                Err(e) => {
                    if !session.is_closed() {
                        eprintln!("    acceptor: {e}");
                    }
                    return;
                }
            };
            tokio::spawn(async move {
                let mut stream = incoming.stream;
                let mut buf = [0u8; ECHO];
                if stream.read_exact(&mut buf).await.is_ok() && stream.write_all(&buf).await.is_ok()
                {
                    // Keep the stream until the connector has read the echo and closed.
                    let _ = stream.read(&mut [0u8; 1]).await;
                }
            });
        }
    })
}

/// One connect + 1 KiB echo; returns its latency and the part `connect` took.
async fn cycle(
    connector: &Session,
    dest: &str,
    i: usize,
) -> Result<(Duration, Duration), BoxError> {
    let started = Instant::now();
    let mut stream = connector.connect(dest).await?;
    let connected = started.elapsed();
    let payload: Vec<u8> = (0..ECHO).map(|j| (i + j) as u8).collect();
    stream.write_all(&payload).await?;
    let mut back = vec![0u8; ECHO];
    tokio::time::timeout(Duration::from_secs(60), stream.read_exact(&mut back))
        .await
        .map_err(|_| "no echo within 60 s")??;
    if back != payload {
        return Err("echo differs".into());
    }
    Ok((started.elapsed(), connected))
}

fn report(name: &str, cycles: Vec<(Duration, Duration)>, wall: Duration) {
    let mut latencies: Vec<Duration> = cycles.iter().map(|c| c.0).collect();
    let mut connects: Vec<Duration> = cycles.iter().map(|c| c.1).collect();
    latencies.sort();
    connects.sort();
    println!(
        "    {name:<26} {:>4} cycles in {:>7.2?}: {:>6.1} cycles/s   latency p50 {:>8.2?}  p99 {:>8.2?}  max {:>8.2?}   (connect p50 {:.2?})",
        latencies.len(),
        wall,
        latencies.len() as f64 / wall.as_secs_f64(),
        percentile(&latencies, 50.0),
        percentile(&latencies, 99.0),
        latencies.last().copied().unwrap_or_default(),
        percentile(&connects, 50.0),
    );
}

async fn bench_real_bridge(full: bool) -> Result<(), BoxError> {
    let n = if full { 200 } else { 20 };
    const WORKERS: usize = 8;
    let mut config = SamConfig::from_env();
    config.stream_timeout = Duration::from_secs(60);
    let mut options = SessionOptions::new(Style::Stream);
    for (k, v) in tunnel_options()? {
        options = options.option(k, v);
    }
    println!(
        "\n(c) connect + accept + {ECHO} B echo through the bridge at {} (dest: base64)",
        config.address
    );
    let sam = Sam::new(config);
    let started = Instant::now();
    let (acceptor, connector) =
        tokio::join!(sam.session(options.clone()), sam.session(options.clone()));
    let (acceptor, connector) = (acceptor?, connector?);
    println!(
        "    two sessions created concurrently in {:.1?}",
        started.elapsed()
    );
    let dest = acceptor.destination().to_base64();

    // One accept at a time, re-armed as soon as a stream arrives: i2pd before 2.50 has no
    // queue for concurrent STREAM ACCEPTs (a second one replaces the first), and holds an
    // incoming stream until the next ACCEPT comes.
    let accepting = spawn_echo_acceptor(acceptor.clone());
    // Warm-up: the first stream fetches the lease set.
    let (warm, _) = cycle(&connector, &dest, 0).await?;
    println!("    first (warm-up) cycle: {warm:.2?}");

    let mut latencies = Vec::with_capacity(n);
    let started = Instant::now();
    for i in 0..n {
        latencies.push(cycle(&connector, &dest, i).await?);
    }
    report("sequential", latencies, started.elapsed());

    // The same with the connector idle for 60 ms first: by then the accept socket's
    // `STREAM STATUS` line has been acknowledged (delayed ACK, 40 ms on Linux), so the
    // bridge's Nagle algorithm no longer holds the peer line back. The difference to
    // "sequential" is what that interaction costs a freshly armed accept.
    let idle = Duration::from_millis(60);
    let mut latencies = Vec::with_capacity(n / 4);
    let mut busy = Duration::ZERO;
    for i in 0..n / 4 {
        tokio::time::sleep(idle).await;
        let started = Instant::now();
        latencies.push(cycle(&connector, &dest, i).await?);
        busy += started.elapsed();
    }
    report("sequential, 60 ms idle gaps", latencies, busy);

    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..WORKERS {
        let (connector, dest, next) = (connector.clone(), dest.clone(), next.clone());
        workers.spawn(async move {
            let mut mine = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n {
                    return Ok::<_, BoxError>(mine);
                }
                mine.push(cycle(&connector, &dest, i).await?);
            }
        });
    }
    let mut latencies = Vec::with_capacity(n);
    while let Some(done) = workers.join_next().await {
        latencies.extend(done??);
    }
    report(
        &format!("{WORKERS} concurrent workers"),
        latencies,
        started.elapsed(),
    );
    accepting.abort();
    tokio::join!(acceptor.close(), connector.close());
    Ok(())
}
