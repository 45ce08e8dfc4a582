//! Reliability tests against a real, PRIVATE i2pd testbed (two i2pd 2.45.1 routers), started and
//! stopped by this test binary:
//!
//! 1. 200 concurrent streams × 1 MiB of pseudo-random data, SHA-256 equal on both ends;
//! 2. 1000 sequential connect/accept/close cycles leave the process's open file descriptors
//!    where they were;
//! 3. `kill -9` of the SAM router in the middle of a transfer: the stream fails, the sessions
//!    close (and say so) within the configured timeout; after a restart of the testbed a new
//!    session works.
//!
//! ```text
//! cargo test -p sam-testkit --test reliability_tokio -- --nocapture     # as root (or inside unshare -rn)
//! ```
//!
//! **Why a private testbed.** Scenario 3 kills the router, so these tests cannot use the shared
//! testbed that `./scripts/test.sh` starts (port 17656, `SAM_ADDR`): they start their own with
//! `testbed/testbed.sh start <target>/tmp/reliability-testbed 17690` (`SAM_ADDR` is ignored) and
//! stop it at the end, also when a scenario fails or panics (a guard's `Drop`). The testbed
//! needs root (network namespace + veth) or a private network namespace that this process
//! shares (`unshare -rn`, which `./scripts/test.sh` sets up by itself for non-root users).
//!
//! **Why one `#[test]`.** A `SESSION CREATE` costs 20 s on the testbed and scenario 3 destroys
//! the router, so the scenarios share one testbed, one set of sessions (created concurrently)
//! and one multi-thread runtime, and must run in a fixed order with the router kill last. One
//! `#[test]` runs them in sequence; each scenario runs in its own task, so that a failing one
//! is reported under its name and the next ones still run; the test fails at the end with the
//! list of failed scenarios.
//!
//! **i2pd 2.45.1 facts these tests are built around** (measured on this testbed, the first
//! and the last also with a raw-socket client that does not use this library; none of them is
//! a bug of this library):
//!
//! * Several `STREAM ACCEPT`s outstanding at once on one session mix streams up: with 8
//!   outstanding accepts and 50 streams of 64 KiB, 1 to 6 streams delivered *another* stream's
//!   data to the acceptor and 11 to 16 were never delivered. (2.45.1 has no accept queue;
//!   newer i2pd queue up to 50.) So the acceptor keeps exactly one accept outstanding
//!   ([`ACCEPTS_OUTSTANDING`]).
//! * Incoming streams that arrive while no accept is outstanding wait in a backlog of 128
//!   (more are closed): with 200 connects at once, 71 streams were lost. The connectors
//!   therefore keep at most [`CONNECT_WINDOW`] streams connected but not yet accepted.
//! * A half-close (`shutdown(Write)`) by a SAM client ends the I2P stream in both directions
//!   (the half-closing side reads EOF at once, so it cannot get an answer), and data not yet
//!   sent may be lost: with 50 × 1 MiB, 10 acceptors got 8192 bytes and then neither data nor
//!   EOF; through this library, streams ended short (761856 of 1048576 bytes) and once the
//!   router segfaulted in its SAM thread. So the streams of scenario 1 are delimited by
//!   length, and the acceptor sends its SHA-256 back over the stream instead of waiting for
//!   EOF.

use std::io::ErrorKind;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use sam_testkit::data::pseudo_random;
use sam_testkit::testbed::{
    check_privileges, leftover_routers, signal, PrivateTestbed, TestbedEnv as Env,
};
use sam_tokio::{Error, Sam, SamConfig, Session, SessionOptions, Stream, Style};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

/// SAM TCP port of the private testbed (UDP: one less). `./scripts/test.sh` uses 17656,
/// `./scripts/demo.sh` 17666.
const PORT: u16 = 17690;
/// How often a connect the router refuses with `CANT_REACH_PEER` is tried again, 1 s apart.
const CONNECT_TRIES: u32 = 5;
/// Connects the router refused with `CANT_REACH_PEER` and that a retry then made (reported).
static CONNECT_RETRIES: AtomicU64 = AtomicU64::new(0);

/// `session.connect(dest)`, tried again when the router answers `CANT_REACH_PEER`: i2pd 2.45's
/// two-router testbed sometimes fails a lease-set lookup ("Destination to connect not found",
/// with "Publish confirmation was not received" before it; 2 of 4 runs on 2026-11-25). That is
/// the router's network, not what this test is about; every retry is counted and printed.
async fn connect(session: &Session, dest: &str) -> sam_tokio::Result<Stream> {
    let mut tries = 1;
    loop {
        match session.connect(dest).await {
            Err(Error::Refused { result, .. })
                if result == sam_tokio::ResultCode::CantReachPeer && tries < CONNECT_TRIES =>
            {
                tries += 1;
                CONNECT_RETRIES.fetch_add(1, Ordering::Relaxed);
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            other => return other,
        }
    }
}
/// The stream and lookup timeouts of the configuration: scenario 3 requires every failure to
/// show within this bound.
const TIMEOUT: Duration = Duration::from_secs(10);

/// Scenario 1: streams, bytes per stream.
const STREAMS: usize = 200;
const STREAM_LEN: usize = 1 << 20;
/// STREAM ACCEPTs outstanding at a time on the acceptor session (see the module docs: more
/// than one mixes streams up on i2pd 2.45.1).
const ACCEPTS_OUTSTANDING: usize = 1;
/// Streams connected but not yet accepted, at most (i2pd keeps 128 waiting).
const CONNECT_WINDOW: usize = 64;

/// Scenario 2: sequential connect/accept/close cycles, and after how many to print a forecast.
const CYCLES: usize = 1000;
const FIRST_CYCLES: usize = 50;

/// Scenario 3: how far the writer may run ahead of the reader, and how much the reader must
/// have received before the router is killed.
const AHEAD: u64 = 8 << 20;
const KILL_AFTER: u64 = 4 << 20;

// ------------------------------------------------------------------------------ the test

#[test]
fn reliability_on_a_private_testbed() {
    let t_all = Instant::now();
    if let Err(why) = check_privileges("reliability_tokio") {
        panic!("{why}");
    }
    let testbed = Arc::new(PrivateTestbed::new(
        std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("reliability-testbed"),
        PORT,
        "i2pd-2.45",
    ));
    let env = testbed.start();
    println!(
        "reliability: private testbed up in {:.1} s ({}, SAM 127.0.0.1:{}, r1 pid {})",
        t_all.elapsed().as_secs_f64(),
        testbed.dir.display(),
        env.tcp_port,
        env.r1_pid
    );

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .expect("tokio runtime");
    let failures = runtime.block_on(run_all(testbed.clone(), env));
    drop(runtime);

    // Stop the testbed here (its guard stops it too, e.g. on a panic above) and check that
    // nothing of it is left.
    testbed.stop();
    let dir = testbed.dir.clone();
    drop(testbed);
    let left = leftover_routers(&dir);
    println!(
        "reliability: total {:.1} s; connects retried after CANT_REACH_PEER: {}",
        t_all.elapsed().as_secs_f64(),
        CONNECT_RETRIES.load(Ordering::Relaxed)
    );
    assert!(
        left.is_empty(),
        "i2pd of the private testbed still running after stop: {left}"
    );
    if !failures.is_empty() {
        let list: Vec<String> = failures
            .iter()
            .map(|(name, why)| format!("  {name}: {why}"))
            .collect();
        panic!(
            "{} reliability scenario(s) failed:\n{}",
            failures.len(),
            list.join("\n")
        );
    }
}

/// What every scenario gets.
struct Ctx {
    testbed: Arc<PrivateTestbed>,
    env: Env,
    sam: Sam,
    /// Connector and acceptor of scenarios 1 and 2.
    a: Session,
    b: Session,
    /// Connector and acceptor of scenario 3 (own sessions, so that whatever 1 and 2 leave
    /// behind cannot disturb it).
    k1: Session,
    k2: Session,
}

type Scenario = std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>;

/// Creates the sessions, then runs the scenarios in order; returns the failed ones.
async fn run_all(testbed: Arc<PrivateTestbed>, env: Env) -> Vec<(&'static str, String)> {
    let sam = Sam::new(config(&env));
    let started = Instant::now();
    let sessions = match create_sessions(&sam, 4).await {
        Ok(s) => s,
        Err(e) => return vec![("creating the sessions", e)],
    };
    println!(
        "reliability: 4 sessions created concurrently in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let mut sessions = sessions.into_iter();
    let mut next = move || sessions.next().expect("4 sessions");
    let ctx = Arc::new(Ctx {
        testbed,
        env,
        sam,
        a: next(),
        b: next(),
        k1: next(),
        k2: next(),
    });

    let scenarios: Vec<(&'static str, Scenario)> = vec![
        (
            "1. 200 concurrent streams x 1 MiB, SHA-256 equal",
            Box::pin(concurrent_streams(ctx.clone())),
        ),
        (
            "2. 1000 connect/accept/close cycles, fds back to start",
            Box::pin(fd_cycles(ctx.clone())),
        ),
        // Last: it destroys the router.
        (
            "3. SAM router killed mid-transfer, then restarted",
            Box::pin(router_killed(ctx.clone())),
        ),
    ];
    let mut failures = Vec::new();
    for (name, scenario) in scenarios {
        println!("reliability: ==== {name}");
        let started = Instant::now();
        match tokio::spawn(scenario).await {
            Ok(()) => println!(
                "reliability: ---- ok ({:.1} s): {name}",
                started.elapsed().as_secs_f64()
            ),
            Err(e) => {
                let why = panic_message(e);
                println!(
                    "reliability: ---- FAILED ({:.1} s): {name}: {why}",
                    started.elapsed().as_secs_f64()
                );
                failures.push((name, why));
            }
        }
    }
    failures
}

fn config(env: &Env) -> SamConfig {
    let mut config = SamConfig::new(format!("127.0.0.1:{}", env.tcp_port));
    config.udp_address = Some(format!("127.0.0.1:{}", env.udp_port));
    // SESSION CREATE takes 20 s on the testbed.
    config.session_timeout = Duration::from_secs(60);
    config.stream_timeout = TIMEOUT;
    config.lookup_timeout = TIMEOUT;
    config
}

/// Zero-hop tunnels (the testbed has one peer; i2pd never answers SESSION CREATE otherwise).
fn options() -> SessionOptions {
    SessionOptions::new(Style::Stream)
        .option("inbound.length", "0")
        .option("outbound.length", "0")
        .option("inbound.quantity", "1")
        .option("outbound.quantity", "1")
}

/// `n` stream sessions, created concurrently (each one takes 20 s).
async fn create_sessions(sam: &Sam, n: usize) -> Result<Vec<Session>, String> {
    let creating: Vec<_> = (0..n)
        .map(|_| {
            let sam = sam.clone();
            tokio::spawn(async move { sam.session(options()).await })
        })
        .collect();
    let mut sessions = Vec::new();
    for (i, created) in creating.into_iter().enumerate() {
        match created.await {
            Ok(Ok(session)) => sessions.push(session),
            Ok(Err(e)) => return Err(format!("SESSION CREATE {i}: {e}")),
            Err(e) => return Err(format!("SESSION CREATE {i}: {}", panic_message(e))),
        }
    }
    Ok(sessions)
}

// ------------------------------------------------------------------------------ scenario 1

/// 200 streams A → B, all open at once at the end; each carries 1 MiB of its own
/// pseudo-random data. B hashes what it reads and sends the SHA-256 back over the stream; A
/// checks it against the hash of what it wrote. The multiset of B's hashes must equal A's.
async fn concurrent_streams(ctx: Arc<Ctx>) {
    within(120, "scenario 1", async {
        let dest = ctx.b.destination().to_base64();
        let window = Arc::new(Semaphore::new(CONNECT_WINDOW));
        let started = Instant::now();

        // B: ACCEPTS_OUTSTANDING acceptors take the 200 streams between them; each stream
        // is read by its own task. (All tasks live in JoinSets: if the scenario fails,
        // dropping them aborts the tasks, so that no accept stays outstanding on B.)
        let claimed = Arc::new(AtomicU64::new(0));
        let mut acceptors = JoinSet::new();
        for _ in 0..ACCEPTS_OUTSTANDING {
            let b = ctx.b.clone();
            let a_dest = ctx.a.destination().clone();
            let window = window.clone();
            let claimed = claimed.clone();
            acceptors.spawn(async move {
                let mut readers = JoinSet::new();
                while claimed.fetch_add(1, Ordering::SeqCst) < STREAMS as u64 {
                    let incoming = within(30, "B: accept", b.accept())
                        .await
                        .unwrap_or_else(|e| panic!("B: accept failed: {e}"));
                    window.add_permits(1);
                    assert_eq!(incoming.peer.as_ref(), Some(&a_dest), "peer is A");
                    readers.spawn(hash_and_answer(incoming.stream));
                }
                join_all(&mut readers).await
            });
        }

        // A: 200 connectors, at most CONNECT_WINDOW of them waiting for an accept.
        let mut connectors = JoinSet::new();
        for i in 0..STREAMS {
            let a = ctx.a.clone();
            let dest = dest.clone();
            let window = window.clone();
            connectors.spawn(async move {
                window.acquire().await.expect("window").forget();
                let data = pseudo_random(STREAM_LEN, 0x5eed_0000 + i as u64);
                let sent = Sha256::digest(&data);
                let mut stream = connect(&a, &dest)
                    .await
                    .unwrap_or_else(|e| panic!("A: connect {i}: {e}"));
                within(60, "A: write 1 MiB", stream.write_all(&data))
                    .await
                    .unwrap_or_else(|e| panic!("A: write {i}: {e}"));
                drop(data);
                let mut answer = [0u8; 32];
                within(60, "A: read B's SHA-256", stream.read_exact(&mut answer))
                    .await
                    .unwrap_or_else(|e| panic!("A: read the hash of stream {i}: {e}"));
                assert_eq!(
                    answer[..],
                    sent[..],
                    "stream {i}: B's SHA-256 differs from what A sent"
                );
                (stream, <[u8; 32]>::from(sent))
            });
        }

        let a_ends = join_all(&mut connectors).await;
        let wall = started.elapsed();
        let b_ends: Vec<_> = join_all(&mut acceptors)
            .await
            .into_iter()
            .flatten()
            .collect();

        assert_eq!(a_ends.len(), STREAMS);
        assert_eq!(b_ends.len(), STREAMS, "B accepted every stream");
        let mut a_hashes: Vec<[u8; 32]> = a_ends.iter().map(|(_, h)| *h).collect();
        let mut b_hashes: Vec<[u8; 32]> = b_ends.iter().map(|(_, h)| *h).collect();
        a_hashes.sort_unstable();
        b_hashes.sort_unstable();
        assert_eq!(a_hashes, b_hashes, "the SHA-256 sets of both ends");
        let distinct = {
            let mut d = a_hashes.clone();
            d.dedup();
            d.len()
        };
        assert_eq!(distinct, STREAMS, "every stream carried its own data");
        // Both ends of all 200 streams are still open here.
        let mib = (STREAMS * STREAM_LEN) as f64 / (1 << 20) as f64;
        println!(
            "reliability: [1] {STREAMS} streams x {} KiB A->B, {} end(s) open at once: \
             {:.2} s wall, {:.1} MiB/s ({:.1} MB/s); {ACCEPTS_OUTSTANDING} accept(s) \
             outstanding, connect window {CONNECT_WINDOW}",
            STREAM_LEN / 1024,
            a_ends.len() + b_ends.len(),
            wall.as_secs_f64(),
            mib / wall.as_secs_f64(),
            (STREAMS * STREAM_LEN) as f64 / 1e6 / wall.as_secs_f64(),
        );
    })
    .await
}

/// B's side of a scenario-1 stream: reads exactly [`STREAM_LEN`] bytes, sends their SHA-256
/// back, keeps the stream open (returned).
async fn hash_and_answer(mut stream: Stream) -> (Stream, [u8; 32]) {
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    let mut total = 0;
    while total < STREAM_LEN {
        let want = (STREAM_LEN - total).min(buf.len());
        let n = within(60, "B: read", stream.read(&mut buf[..want]))
            .await
            .unwrap_or_else(|e| panic!("B: read after {total} bytes: {e}"));
        assert!(n > 0, "B: EOF after {total} of {STREAM_LEN} bytes");
        hasher.update(&buf[..n]);
        total += n;
    }
    let digest: [u8; 32] = hasher.finalize().into();
    within(30, "B: write the hash", stream.write_all(&digest))
        .await
        .unwrap_or_else(|e| panic!("B: write the hash: {e}"));
    (stream, digest)
}

// ------------------------------------------------------------------------------ scenario 2

/// 1000 × (B accepts, A connects and writes one byte, B reads it, both close); the number of
/// open file descriptors must be back to where it was before the first cycle.
async fn fd_cycles(ctx: Arc<Ctx>) {
    within(300, "scenario 2", async {
        let dest = ctx.b.destination().to_base64();
        let before = open_fds();
        let started = Instant::now();
        for i in 0..CYCLES {
            let b = ctx.b.clone();
            // Aborted if the cycle fails: no accept may stay outstanding on B.
            let mut accept = JoinSet::new();
            accept.spawn(async move { b.accept().await });
            let mut stream = within(20, "A: connect", connect(&ctx.a, &dest))
                .await
                .unwrap_or_else(|e| panic!("cycle {i}: A: connect: {e}"));
            let byte = [i as u8];
            within(20, "A: write", stream.write_all(&byte))
                .await
                .unwrap_or_else(|e| panic!("cycle {i}: A: write: {e}"));
            let mut incoming = within(20, "B: accept", join_all(&mut accept))
                .await
                .remove(0)
                .unwrap_or_else(|e| panic!("cycle {i}: B: accept: {e}"));
            let mut got = [0u8; 1];
            within(20, "B: read", incoming.stream.read_exact(&mut got))
                .await
                .unwrap_or_else(|e| panic!("cycle {i}: B: read: {e}"));
            assert_eq!(got, byte, "cycle {i}: the byte A wrote");
            drop(stream);
            drop(incoming);
            if i + 1 == FIRST_CYCLES {
                let t = started.elapsed().as_secs_f64();
                println!(
                    "reliability: [2] first {FIRST_CYCLES} cycles in {t:.2} s \
                     ({:.1} cycles/s): {CYCLES} will take about {:.0} s",
                    FIRST_CYCLES as f64 / t,
                    t * CYCLES as f64 / FIRST_CYCLES as f64
                );
            }
        }
        let elapsed = started.elapsed();
        // Closing is synchronous (dropping a tokio socket closes it); give it a moment anyway.
        let settle = Instant::now();
        let mut after = open_fds();
        while after != before && settle.elapsed() < Duration::from_secs(2) {
            tokio::time::sleep(Duration::from_millis(50)).await;
            after = open_fds();
        }
        println!(
            "reliability: [2] {CYCLES} cycles in {:.1} s ({:.1} cycles/s, {:.1} ms each); \
             open fds before {before}, after {after} (settled in {} ms)",
            elapsed.as_secs_f64(),
            CYCLES as f64 / elapsed.as_secs_f64(),
            elapsed.as_secs_f64() * 1000.0 / CYCLES as f64,
            settle.elapsed().as_millis()
        );
        assert_eq!(
            after, before,
            "open file descriptors after {CYCLES} cycles (before: {before})"
        );
    })
    .await
}

// ------------------------------------------------------------------------------ scenario 3

/// How one watched operation ended after the kill: when, a description, and what was wrong
/// with it (`None`: it failed the way a dead bridge should make it fail).
struct Ended {
    at: Instant,
    detail: String,
    wrong: Option<String>,
}

impl Ended {
    fn now(detail: String, wrong: Option<String>) -> Ended {
        Ended {
            at: Instant::now(),
            detail,
            wrong,
        }
    }

    /// The end of a stream read or write: EOF, or an error saying the connection is gone.
    fn io(result: std::io::Result<usize>, bytes: u64) -> Ended {
        match result {
            Ok(0) => Ended::now(format!("EOF; {bytes} bytes"), None),
            Ok(n) => Ended::now(format!("Ok({n})"), Some(format!("{n} byte(s) nobody sent"))),
            Err(e) => {
                let wrong = (!connection_gone(e.kind())).then(|| format!("unexpected {e:?}"));
                Ended::now(format!("Err: {e}; {bytes} bytes"), wrong)
            }
        }
    }
}

/// K1 streams to K2 (K1 writes, paced to stay at most [`AHEAD`] in front of K2's reads; K2
/// checks every byte), K1 also waits in an accept; then the router is killed. Everything must
/// fail within [`TIMEOUT`]: K2's read, K1's read and write, K1's pending accept, and both
/// sessions must report closed; later calls fail with `SessionClosed`. Then the testbed is
/// restarted and two new sessions must echo over a stream.
async fn router_killed(ctx: Arc<Ctx>) {
    within(150, "scenario 3", async {
        let (k1, k2) = (ctx.k1.clone(), ctx.k2.clone());
        let block = Arc::new(pseudo_random(1 << 20, 0xdead_beef));

        // The stream K1 -> K2.
        let accept = tokio::spawn({
            let k2 = k2.clone();
            async move { k2.accept().await }
        });
        let stream = within(
            20,
            "K1: connect",
            connect(&k1, &k2.destination().to_base64()),
        )
        .await
        .unwrap_or_else(|e| panic!("K1: connect: {e}"));
        let (mut k1_read, mut k1_write) = stream.into_split();
        let mut incoming = within(20, "K2: accept", join(accept))
            .await
            .unwrap_or_else(|e| panic!("K2: accept: {e}"));

        let received = Arc::new(AtomicU64::new(0));
        let reader_done = Arc::new(AtomicBool::new(false));
        let mut watched: Vec<(&str, tokio::task::JoinHandle<Ended>)> = Vec::new();
        watched.push(("K1 write", {
            let (block, received, reader_done) =
                (block.clone(), received.clone(), reader_done.clone());
            tokio::spawn(async move {
                let mut sent: u64 = 0;
                loop {
                    // Stay close behind the reader (i2pd buffers whatever it is given), unless
                    // the reader has stopped: then write freely, to meet the error.
                    while sent.saturating_sub(received.load(Ordering::SeqCst)) > AHEAD
                        && !reader_done.load(Ordering::SeqCst)
                    {
                        tokio::time::sleep(Duration::from_millis(1)).await;
                    }
                    let chunk = &block[(sent % block.len() as u64) as usize..][..64 * 1024];
                    if let Err(e) = k1_write.write_all(chunk).await {
                        return Ended::io(Err(e), sent);
                    }
                    sent += chunk.len() as u64;
                }
            })
        }));
        watched.push(("K2 read", {
            let (block, received, reader_done) =
                (block.clone(), received.clone(), reader_done.clone());
            tokio::spawn(async move {
                let mut buf = vec![0u8; 64 * 1024];
                let mut total: u64 = 0;
                let end = loop {
                    match incoming.stream.read(&mut buf).await {
                        Ok(n) if n > 0 => {
                            for (i, byte) in buf[..n].iter().enumerate() {
                                let at = (total + i as u64) % block.len() as u64;
                                let expected = block[at as usize];
                                let offset = total + i as u64;
                                assert_eq!(*byte, expected, "K2: byte {offset} of the stream");
                            }
                            total += n as u64;
                            received.store(total, Ordering::SeqCst);
                        }
                        end => break end,
                    }
                };
                reader_done.store(true, Ordering::SeqCst);
                Ended::io(end, total)
            })
        }));
        // K1's read side: nothing comes from K2, so this ends only with the stream.
        watched.push((
            "K1 read",
            tokio::spawn(async move { Ended::io(k1_read.read(&mut [0u8; 1]).await, 0) }),
        ));
        // An accept waiting on K1 when the router dies.
        watched.push(("K1 pending accept", {
            let k1 = k1.clone();
            tokio::spawn(async move {
                match k1.accept().await {
                    Ok(_) => Ended::now("Ok".to_owned(), Some("returned a stream".to_owned())),
                    Err(e) => {
                        let wrong = (!closed_connection(&e)).then(|| format!("unexpected {e:?}"));
                        Ended::now(format!("Err({e:?})"), wrong)
                    }
                }
            })
        }));
        for (name, session) in [("K1 is_closed()", &k1), ("K2 is_closed()", &k2)] {
            let session = session.clone();
            watched.push((
                name,
                tokio::spawn(async move {
                    while !session.is_closed() {
                        tokio::time::sleep(Duration::from_millis(1)).await;
                    }
                    Ended::now("true".to_owned(), None)
                }),
            ));
        }

        // In the middle of the transfer: kill -9 the SAM router.
        let transfer = Instant::now();
        while received.load(Ordering::SeqCst) < KILL_AFTER {
            assert!(
                transfer.elapsed() < Duration::from_secs(30),
                "the transfer did not reach {KILL_AFTER} bytes in 30 s (received {})",
                received.load(Ordering::SeqCst)
            );
            assert!(!reader_done.load(Ordering::SeqCst), "K2's read ended early");
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        let at_kill = received.load(Ordering::SeqCst);
        let rate = at_kill as f64 / 1e6 / transfer.elapsed().as_secs_f64();
        assert!(
            !k1.is_closed() && !k2.is_closed(),
            "sessions open before the kill"
        );
        let killed = Instant::now();
        signal(ctx.env.r1_pid, "-9");
        let kill_took = killed.elapsed();

        let ms = |d: Duration| format!("{:.1} ms", d.as_secs_f64() * 1000.0);
        println!(
            "reliability: [3] killed r1 (pid {}) after {at_kill} bytes had arrived \
             ({rate:.1} MB/s); kill(1) took {}; from the kill:",
            ctx.env.r1_pid,
            ms(kill_took)
        );
        let mut problems = Vec::new();
        for (name, task) in watched {
            let left = TIMEOUT.saturating_sub(killed.elapsed());
            let abort = task.abort_handle();
            match tokio::time::timeout(left, join(task)).await {
                Ok(ended) => {
                    let after = ended.at.saturating_duration_since(killed);
                    println!(
                        "reliability: [3]   {name:<18} after {:>8}: {}",
                        ms(after),
                        ended.detail
                    );
                    if let Some(wrong) = ended.wrong {
                        problems.push(format!("{name}: {wrong}"));
                    }
                }
                Err(_) => {
                    abort.abort();
                    problems.push(format!("{name}: nothing within {TIMEOUT:?}"));
                }
            }
        }
        assert!(
            problems.is_empty(),
            "after kill -9 of the router:\n  {}",
            problems.join("\n  ")
        );

        // Closed sessions refuse everything at once, with SessionClosed.
        let quick = Instant::now();
        let dest = k2.destination().to_base64();
        assert_session_closed("K1.connect", k1.connect(&dest).await.map(|_| ()));
        assert_session_closed("K2.accept", k2.accept().await.map(|_| ()));
        assert_session_closed("K1.lookup", k1.lookup("ME").await.map(|_| ()));
        assert_session_closed(
            "K2.forward",
            k2.forward("127.0.0.1:9".parse::<std::net::SocketAddr>().unwrap())
                .await
                .map(|_| ()),
        );
        let mut incoming = k2.incoming();
        let first = next_incoming(&mut incoming).await;
        assert!(
            matches!(first, Some(Err(Error::SessionClosed))),
            "K2.incoming() first item: {first:?}"
        );
        let second = next_incoming(&mut incoming).await;
        assert!(second.is_none(), "K2.incoming() ends: {second:?}");
        within(1, "K1.close() of a dead session", k1.close()).await;
        // The router is gone: a new session or lookup is refused by the OS, not timed out.
        let refused = within(
            20,
            "SESSION CREATE on the dead router",
            ctx.sam.session(options()),
        )
        .await
        .map(|_| ());
        assert!(
            matches!(refused, Err(Error::Unreachable { .. })),
            "SESSION CREATE on the dead router: {refused:?}"
        );
        let refused = within(20, "lookup on the dead router", ctx.sam.lookup("ME"))
            .await
            .map(|_| ());
        assert!(
            matches!(refused, Err(Error::Unreachable { .. })),
            "NAMING LOOKUP on the dead router: {refused:?}"
        );
        println!(
            "reliability: [3]   later calls: SessionClosed / Unreachable in {}",
            ms(quick.elapsed())
        );

        // Restart the testbed (same DIR and port) and use it with new sessions.
        let restarted = Instant::now();
        let testbed = ctx.testbed.clone();
        let env = tokio::task::spawn_blocking(move || {
            testbed.stop();
            testbed.start()
        })
        .await
        .unwrap_or_else(|e| panic!("restart: {}", panic_message(e)));
        let restart_took = restarted.elapsed();
        assert_ne!(env.r1_pid, ctx.env.r1_pid, "a new router");
        let sam = Sam::new(config(&env));
        let created = Instant::now();
        let sessions = create_sessions(&sam, 2)
            .await
            .unwrap_or_else(|e| panic!("new sessions on the restarted router: {e}"));
        let create_took = created.elapsed();
        let (n1, n2) = (&sessions[0], &sessions[1]);
        let echoed = Instant::now();
        echo(n1, n2).await;
        println!(
            "reliability: [3]   restart {:.1} s, 2 new sessions {:.1} s, 64 KiB echo {}",
            restart_took.as_secs_f64(),
            create_took.as_secs_f64(),
            ms(echoed.elapsed())
        );
        // The old sessions stay dead.
        assert!(k1.is_closed() && k2.is_closed());
        assert_session_closed(
            "K1.connect after the restart",
            k1.connect(&dest).await.map(|_| ()),
        );
    })
    .await
}

/// N1 connects to N2 and writes 64 KiB; N2 echoes; N1 gets its bytes back.
async fn echo(n1: &Session, n2: &Session) {
    const LEN: usize = 64 * 1024;
    let data = pseudo_random(LEN, 77);
    let accept = tokio::spawn({
        let n2 = n2.clone();
        let n1_dest = n1.destination().clone();
        async move {
            let mut incoming = n2.accept().await.expect("N2: accept");
            assert_eq!(incoming.peer.as_ref(), Some(&n1_dest), "peer is N1");
            let mut buf = vec![0u8; LEN];
            incoming
                .stream
                .read_exact(&mut buf)
                .await
                .expect("N2: read");
            incoming.stream.write_all(&buf).await.expect("N2: echo");
            // Keep the stream until N1 has read the echo (N1 closes first).
            let _ = incoming.stream.read(&mut [0u8; 1]).await;
        }
    });
    within(30, "echo on the restarted router", async {
        let mut stream = connect(n1, &n2.destination().to_base64())
            .await
            .expect("N1: connect");
        stream.write_all(&data).await.expect("N1: write");
        let mut back = vec![0u8; LEN];
        stream
            .read_exact(&mut back)
            .await
            .expect("N1: read the echo");
        assert!(back == data, "N1 got its 64 KiB back");
        drop(stream);
        join(accept).await;
    })
    .await
}

/// The error of a read or write on a stream whose bridge went away.
fn connection_gone(kind: ErrorKind) -> bool {
    matches!(
        kind,
        ErrorKind::ConnectionReset
            | ErrorKind::BrokenPipe
            | ErrorKind::ConnectionAborted
            | ErrorKind::UnexpectedEof
    )
}

/// What a pending operation may fail with when the bridge dies: the session is closed, the
/// bridge closed the socket mid-exchange, or the socket broke.
fn closed_connection(e: &Error) -> bool {
    match e {
        Error::SessionClosed => true,
        Error::Protocol(sam_tokio::sam_proto::Error::Eof { .. }) => true,
        Error::Io(io) => connection_gone(io.kind()),
        _ => false,
    }
}

fn assert_session_closed(what: &str, result: Result<(), Error>) {
    assert!(
        matches!(result, Err(Error::SessionClosed)),
        "{what} on a closed session: {result:?}"
    );
}

async fn next_incoming(
    incoming: &mut sam_tokio::IncomingStreams,
) -> Option<Result<sam_tokio::Incoming, Error>> {
    within(
        5,
        "IncomingStreams::next",
        std::future::poll_fn(|cx| {
            futures_core::Stream::poll_next(std::pin::Pin::new(&mut *incoming), cx)
        }),
    )
    .await
}

// ------------------------------------------------------------------------------ helpers

/// Fails the scenario instead of hanging it.
async fn within<T>(secs: u64, what: &str, fut: impl std::future::Future<Output = T>) -> T {
    match tokio::time::timeout(Duration::from_secs(secs), fut).await {
        Ok(v) => v,
        Err(_) => panic!("{what} did not finish within {secs} s"),
    }
}

/// Awaits every task of `set`, re-raising a panic.
async fn join_all<T: 'static>(set: &mut JoinSet<T>) -> Vec<T> {
    let mut done = Vec::new();
    while let Some(result) = set.join_next().await {
        match result {
            Ok(v) => done.push(v),
            Err(e) => match e.try_into_panic() {
                Ok(panic) => std::panic::resume_unwind(panic),
                Err(e) => panic!("task failed: {e}"),
            },
        }
    }
    done
}

/// Awaits a task, re-raising its panic.
async fn join<T>(task: tokio::task::JoinHandle<T>) -> T {
    match task.await {
        Ok(v) => v,
        Err(e) => match e.try_into_panic() {
            Ok(panic) => std::panic::resume_unwind(panic),
            Err(e) => panic!("task failed: {e}"),
        },
    }
}

fn panic_message(e: tokio::task::JoinError) -> String {
    match e.try_into_panic() {
        Ok(panic) => {
            if let Some(s) = panic.downcast_ref::<String>() {
                s.clone()
            } else if let Some(s) = panic.downcast_ref::<&str>() {
                (*s).to_owned()
            } else {
                "panic with a non-string payload".to_owned()
            }
        }
        Err(e) => format!("task failed: {e}"),
    }
}

/// Entries of /proc/self/fd (the directory handle itself included, both times).
fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd")
        .expect("read /proc/self/fd")
        .count()
}
