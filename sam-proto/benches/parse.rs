//! Parse throughput and allocation counts for the hot reply lines.
//!
//! Run with `cargo bench -p sam-proto`. Criterion measures time per parse (reported as bytes/s);
//! afterwards a small table, measured outside criterion, gives lines/s, GB/s and heap
//! allocations per parse (counted by the global allocator below over 10 000 parses).
//!
//! Goals: >= 1 GB/s on the 946-byte `SESSION STATUS` line, zero allocations for the borrowed
//! parse, and an accept-line cost that does not depend on how many stream bytes follow it.

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use criterion::{BatchSize, BenchmarkId, Criterion, Throughput};
use sam_proto::command::StreamAccept;
use sam_proto::exchange::{Exchange, Step};
use sam_proto::line::Line;
use sam_proto::message::Message;
use sam_proto::reply::{HelloReply, SessionStatus};
use sam_proto::SessionId;

// ---- counting allocator ----------------------------------------------------------------------

/// Counts calls to `alloc`, `alloc_zeroed` and `realloc`; everything is done by `System`.
struct Counting;

static ALLOCS: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every method forwards its arguments unchanged to `System`, which upholds the
// `GlobalAlloc` contract; the only addition is a relaxed counter increment, which neither
// allocates nor touches the memory being managed.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        System.alloc(layout)
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        System.alloc_zeroed(layout)
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        System.realloc(ptr, layout, new_size)
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout)
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocs() -> usize {
    ALLOCS.load(Ordering::Relaxed)
}

// ---- inputs ----------------------------------------------------------------------------------

/// The constructed Ed25519 private key blob of sam-proto/PROTOCOL.md §11.6 (679 bytes, 908 chars).
const PRIV: &str = include_str!("../tests/data/priv908.txt");

/// Its public destination (391 bytes, 524 chars): what a bridge writes on an accepted stream.
const PUB: &str = concat!(
    "UZD0uId3hp0jjP6CV43QekceP~4lsJgpudwLncUx~a9RkPS4h3eGnSOM~oJXjdB6Rx4~~iWwmCm5",
    "3AudxTH9r1GQ9LiHd4adI4z-gleN0HpHHj~-JbCYKbncC53FMf2vUZD0uId3hp0jjP6CV43Qekce",
    "P~4lsJgpudwLncUx~a9RkPS4h3eGnSOM~oJXjdB6Rx4~~iWwmCm53AudxTH9r1GQ9LiHd4adI4z-",
    "gleN0HpHHj~-JbCYKbncC53FMf2vUZD0uId3hp0jjP6CV43QekceP~4lsJgpudwLncUx~a9RkPS4",
    "h3eGnSOM~oJXjdB6Rx4~~iWwmCm53AudxTH9r1GQ9LiHd4adI4z-gleN0HpHHj~-JbCYKbncC53F",
    "Mf2vUZD0uId3hp0jjP6CV43QekceP~4lsJgpudwLncUx~a9RkPS4h3eGnSOM~oJXjdB6Rx4~~iWw",
    "mCm53AudxTH9rwOhB7~zzhC-HXDdGOdLwJln5NYwm6UNXx3chmQSVTG4BQAEAAcAAA==",
);

const HELLO_LINE: &[u8] = b"HELLO REPLY RESULT=OK VERSION=3.1\n";
const STREAM_STATUS_OK: &[u8] = b"STREAM STATUS RESULT=OK\n";
/// Stream data after the peer line in the "long tail" accept case.
const TAIL_LONG: usize = 32 * 1024;
/// ... and in the "short tail" case.
const TAIL_SHORT: usize = 16;

struct Inputs {
    /// `SESSION STATUS RESULT=OK DESTINATION=<PRIV>\n`, 946 bytes.
    session: Vec<u8>,
    /// `<PUB>\n` followed by 32 KiB of stream data.
    accept_long: Vec<u8>,
    /// `<PUB>\n` followed by 16 bytes of stream data.
    accept_short: Vec<u8>,
}

impl Inputs {
    fn new() -> Inputs {
        let session = format!("SESSION STATUS RESULT=OK DESTINATION={PRIV}\n").into_bytes();
        assert_eq!(PRIV.len(), 908);
        assert_eq!(PUB.len(), 524);
        assert_eq!(
            session.len(),
            946,
            "the long line must be exactly 946 bytes"
        );
        assert_eq!(HELLO_LINE.len(), 34);
        let accept = |tail: usize| {
            let mut v = format!("{PUB}\n").into_bytes();
            // Stream data that is not a line: no `\n`, bytes of every value but that.
            v.extend((0..tail).map(|i| match (i * 7 + 3) as u8 {
                b'\n' => b'x',
                b => b,
            }));
            v
        };
        Inputs {
            session,
            accept_long: accept(TAIL_LONG),
            accept_short: accept(TAIL_SHORT),
        }
    }
}

/// Length of the peer line (`<PUB>\n`): what an accept exchange consumes.
const PEER_LINE_LEN: usize = 525;

// ---- the measured operations -----------------------------------------------------------------

/// `Line::parse` and a read of every parameter, all borrowed. Returns a checksum so the
/// optimizer cannot drop anything.
fn line_and_params(bytes: &[u8]) -> usize {
    let line = Line::parse(bytes).expect("line parses");
    let mut sum = line.verb().len() + line.action().map_or(0, str::len);
    for p in line.params() {
        let p = p.expect("param parses");
        sum += p.key.len();
        if let Some(v) = p.value {
            sum += black_box(v.text()).len();
        }
    }
    sum
}

fn session_status(bytes: &[u8]) -> SessionStatus<'_> {
    SessionStatus::parse(bytes).expect("SESSION STATUS parses")
}

fn hello_reply(bytes: &[u8]) -> HelloReply<'_> {
    HelloReply::parse(bytes).expect("HELLO REPLY parses")
}

/// An accept exchange that has sent its command and read `STREAM STATUS RESULT=OK`: the next
/// line it reads is the peer's destination.
fn accept_exchange() -> Exchange<StreamAccept<'static>> {
    let id = SessionId::new("bench").expect("valid id").into_owned();
    let mut ex = Exchange::new(StreamAccept::new(id)).expect("encodes");
    assert!(matches!(ex.poll(), Step::Send(_)));
    assert_eq!(ex.poll(), Step::Recv);
    assert_eq!(
        ex.feed(STREAM_STATUS_OK).expect("status OK"),
        STREAM_STATUS_OK.len()
    );
    assert_eq!(ex.poll(), Step::Recv);
    ex
}

/// Feeds the peer line and stream data in one call; the exchange must take exactly the line.
fn feed_accept(ex: &mut Exchange<StreamAccept<'static>>, input: &[u8]) -> usize {
    let used = ex.feed(input).expect("peer line accepted");
    debug_assert_eq!(used, PEER_LINE_LEN);
    used
}

/// Checks, once, that the inputs parse as intended and that the typed parses borrow.
fn sanity(inputs: &Inputs) {
    let s = session_status(&inputs.session);
    assert!(s.result.is_ok());
    let dest = s.destination.as_ref().expect("DESTINATION present");
    assert!(matches!(dest.0, std::borrow::Cow::Borrowed(_)));
    assert_eq!(dest.expose(), PRIV);
    let h = hello_reply(HELLO_LINE);
    assert_eq!(h.version, Some(sam_proto::Version::V3_1));
    for input in [&inputs.accept_long, &inputs.accept_short] {
        let mut ex = accept_exchange();
        assert_eq!(ex.feed(input).expect("peer line"), PEER_LINE_LEN);
        assert_eq!(ex.poll(), Step::Done);
        let accepted = ex.finish().expect("accepted");
        assert_eq!(accepted.peer.expect("peer").to_base64(), PUB);
    }
}

// ---- criterion ------------------------------------------------------------------------------

fn criterion_benches(c: &mut Criterion, inputs: &Inputs) {
    let mut g = c.benchmark_group("session_status_946B");
    g.throughput(Throughput::Bytes(inputs.session.len() as u64));
    g.bench_function("line_parse_and_params", |b| {
        b.iter(|| line_and_params(black_box(&inputs.session)))
    });
    g.bench_function("typed_parse", |b| {
        b.iter(|| session_status(black_box(&inputs.session)))
    });
    g.finish();

    let mut g = c.benchmark_group("hello_reply_34B");
    g.throughput(Throughput::Bytes(HELLO_LINE.len() as u64));
    g.bench_function("line_parse_and_params", |b| {
        b.iter(|| line_and_params(black_box(HELLO_LINE)))
    });
    g.bench_function("typed_parse", |b| {
        b.iter(|| hello_reply(black_box(HELLO_LINE)))
    });
    g.finish();

    // Throughput is the peer line alone: that is all the exchange may consume, whatever follows.
    let mut g = c.benchmark_group("stream_accept_peer_line");
    g.throughput(Throughput::Bytes(PEER_LINE_LEN as u64));
    for (tail, input) in [
        (TAIL_SHORT, &inputs.accept_short),
        (TAIL_LONG, &inputs.accept_long),
    ] {
        g.bench_with_input(
            BenchmarkId::new("feed_with_trailing_bytes", tail),
            input,
            |b, input| {
                b.iter_batched(
                    accept_exchange,
                    |mut ex| {
                        let used = feed_accept(&mut ex, black_box(input));
                        // Returned, so the exchange is dropped outside the timed region.
                        (ex, used)
                    },
                    BatchSize::SmallInput,
                )
            },
        );
    }
    g.finish();
}

// ---- the once-run summary table ---------------------------------------------------------------

/// Parses per allocation count.
const N: usize = 10_000;

struct Row {
    name: &'static str,
    bytes: usize,
    secs_per_op: f64,
    allocs_per_op: f64,
}

/// Runs `op` `N` times for the allocation count, then repeatedly for at least `budget` to time it.
fn measure(name: &'static str, bytes: usize, budget: Duration, op: &mut dyn FnMut()) -> Row {
    for _ in 0..1000 {
        op(); // warm-up
    }
    let before = allocs();
    for _ in 0..N {
        op();
    }
    let allocs_per_op = (allocs() - before) as f64 / N as f64;
    let start = Instant::now();
    let mut ops = 0usize;
    while start.elapsed() < budget {
        for _ in 0..1000 {
            op();
        }
        ops += 1000;
    }
    Row {
        name,
        bytes,
        secs_per_op: start.elapsed().as_secs_f64() / ops as f64,
        allocs_per_op,
    }
}

/// Accept cases need a fresh exchange per feed: the exchanges are built beforehand, so neither
/// their construction nor their drop is timed or counted.
fn measure_accept(name: &'static str, input: &[u8], budget: Duration) -> Row {
    let mut pool: Vec<_> = (0..N).map(|_| accept_exchange()).collect();
    let before = allocs();
    for ex in pool.iter_mut() {
        black_box(feed_accept(ex, black_box(input)));
    }
    let allocs_per_op = (allocs() - before) as f64 / N as f64;
    drop(pool);
    let mut elapsed = Duration::ZERO;
    let mut ops = 0usize;
    while elapsed < budget {
        let mut pool: Vec<_> = (0..N).map(|_| accept_exchange()).collect();
        let start = Instant::now();
        for ex in pool.iter_mut() {
            black_box(feed_accept(ex, black_box(input)));
        }
        elapsed += start.elapsed();
        ops += N;
    }
    Row {
        name,
        bytes: PEER_LINE_LEN,
        secs_per_op: elapsed.as_secs_f64() / ops as f64,
        allocs_per_op,
    }
}

fn summary(inputs: &Inputs, budget: Duration, full: bool) {
    let session = &inputs.session[..];
    let rows = [
        measure(
            "SESSION STATUS 946 B: Line::parse + params",
            session.len(),
            budget,
            &mut || {
                black_box(line_and_params(black_box(session)));
            },
        ),
        measure(
            "SESSION STATUS 946 B: SessionStatus::parse",
            session.len(),
            budget,
            &mut || {
                black_box(session_status(black_box(session)));
            },
        ),
        measure(
            "HELLO REPLY 34 B: Line::parse + params",
            HELLO_LINE.len(),
            budget,
            &mut || {
                black_box(line_and_params(black_box(HELLO_LINE)));
            },
        ),
        measure(
            "HELLO REPLY 34 B: HelloReply::parse",
            HELLO_LINE.len(),
            budget,
            &mut || {
                black_box(hello_reply(black_box(HELLO_LINE)));
            },
        ),
        measure_accept(
            "STREAM ACCEPT peer line 525 B + 16 B tail",
            &inputs.accept_short,
            budget,
        ),
        measure_accept(
            "STREAM ACCEPT peer line 525 B + 32 KiB tail",
            &inputs.accept_long,
            budget,
        ),
    ];
    println!();
    println!("Summary (outside criterion; allocations averaged over {N} parses)");
    if !full {
        println!(
            "(not run by `cargo bench`: the build may be unoptimized, only allocs/parse count)"
        );
    }
    println!(
        "{:<46} {:>10} {:>14} {:>9} {:>13}",
        "case", "ns/parse", "lines/s", "GB/s", "allocs/parse"
    );
    for r in &rows {
        println!(
            "{:<46} {:>10.1} {:>14.0} {:>9.3} {:>13.2}",
            r.name,
            r.secs_per_op * 1e9,
            1.0 / r.secs_per_op,
            r.bytes as f64 / r.secs_per_op / 1e9,
            r.allocs_per_op
        );
    }
    println!(
        "(GB/s = 10^9 bytes of the line itself per second; trailing stream bytes are not counted)"
    );
}

fn main() {
    let inputs = Inputs::new();
    sanity(&inputs);
    let mut c = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(2))
        .sample_size(20)
        .configure_from_args();
    criterion_benches(&mut c, &inputs);
    c.final_summary();
    // `cargo bench` passes `--bench`; under `cargo test --benches` keep the table quick.
    let full = std::env::args().any(|a| a == "--bench");
    summary(
        &inputs,
        Duration::from_millis(if full { 500 } else { 10 }),
        full,
    );
}
