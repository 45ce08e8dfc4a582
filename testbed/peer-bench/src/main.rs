//! `peer-bench`: one client's measurement of connect + accept + 1 KiB echo cycles through one
//! SAM bridge. `scripts/peer-bench.sh` runs it for sam-tokio and yosemite, interleaved with
//! `i2plib_cycles.py` (the same measurement with i2plib), and tabulates the JSON lines.
//!
//! ```text
//! peer-bench --client sam-tokio|yosemite [--cycles N] [--connectors C]
//! ```
//!
//! It creates two STREAM sessions, a server and a client, with the tunnel options in
//! `SAM_SESSION_OPTIONS` (`k=v` words) on the bridge at `SAM_ADDR`. The server accepts one
//! stream at a time in a loop and echoes each on a task of its own. After one warm-up cycle,
//! C connectors run N cycles in all, each connector one cycle after another. A cycle: connect,
//! write 1 KiB of random bytes, read the echo back, compare SHA-256, close. Prints one JSON line
//! on stdout (diagnostics go to stderr):
//!
//! ```text
//! {"client":..,"cycles":..,"connectors":..,"seconds":..,"rate":..,"p50_ms":..,"p99_ms":..,"intact":..,"errors":..}
//! ```
//!
//! `rate` counts intact cycles only; p50/p99 are over them. Exit 0 when every cycle was intact,
//! 1 when some failed (the JSON line is printed all the same) or the sessions could not be made,
//! 2 on bad arguments.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod clients;

use std::collections::hash_map::RandomState;
use std::error::Error;
use std::future::Future;
use std::hash::BuildHasher;
use std::pin::Pin;
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// The error of everything here: the clients' errors differ, and all that is done with one is
/// to print it.
pub type BoxError = Box<dyn Error + Send + Sync>;

/// An I2P stream of either client (both are tokio `AsyncRead + AsyncWrite`).
pub trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// A stream being opened from the client session to the server session.
pub type ConnectFuture = Pin<Box<dyn Future<Output = Result<Box<dyn Io>, BoxError>> + Send>>;

/// Opens a stream from the client session to the server session; called by every connector.
/// Boxed so that one harness measures both clients: the allocation is nothing next to a cycle
/// (tens of milliseconds).
pub type Connect = Arc<dyn Fn() -> ConnectFuture + Send + Sync>;

/// Bytes written and echoed per cycle.
const PAYLOAD: usize = 1024;
/// A cycle that takes longer is counted as an error (a stalled stream must not hang the run).
const CYCLE_TIMEOUT: Duration = Duration::from_secs(60);
/// How long the warm-up cycle may be retried: the server's lease set may not be known to the
/// router at once after the session is created.
const WARM_UP_DEADLINE: Duration = Duration::from_secs(90);

const USAGE: &str = "usage: peer-bench --client sam-tokio|yosemite [--cycles N] [--connectors C]
env: SAM_ADDR (host:port of the bridge), SAM_SESSION_OPTIONS (k=v tunnel options)";

/// The client library measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Client {
    /// This project's tokio adapter.
    SamTokio,
    /// The yosemite crate.
    Yosemite,
}

impl Client {
    /// The name used on the command line and in the JSON line.
    fn name(self) -> &'static str {
        match self {
            Client::SamTokio => "sam-tokio",
            Client::Yosemite => "yosemite",
        }
    }
}

/// The command line.
#[derive(Debug)]
struct Args {
    client: Client,
    cycles: usize,
    connectors: usize,
}

impl Args {
    /// Parses `--client X --cycles N --connectors C` (also `--flag=value`).
    fn parse(mut words: impl Iterator<Item = String>) -> Result<Args, String> {
        let (mut client, mut cycles, mut connectors) = (None, 200, 1);
        while let Some(word) = words.next() {
            let (flag, inline) = match word.split_once('=') {
                Some((flag, value)) => (flag.to_owned(), Some(value.to_owned())),
                None => (word, None),
            };
            if flag == "--help" || flag == "-h" {
                return Err(String::new());
            }
            let value = inline
                .or_else(|| words.next())
                .ok_or_else(|| format!("{flag} needs a value"))?;
            let count = || match value.parse::<usize>() {
                Ok(n) if n > 0 => Ok(n),
                _ => Err(format!("{flag} wants a positive number, not {value:?}")),
            };
            match flag.as_str() {
                "--client" => {
                    client = Some(match value.as_str() {
                        "sam-tokio" => Client::SamTokio,
                        "yosemite" => Client::Yosemite,
                        other => return Err(format!("unknown client {other:?}")),
                    })
                }
                "--cycles" => cycles = count()?,
                "--connectors" => connectors = count()?,
                other => return Err(format!("unknown argument {other:?}")),
            }
        }
        let client = client.ok_or("--client is required")?;
        Ok(Args {
            client,
            cycles,
            connectors,
        })
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = match Args::parse(std::env::args().skip(1)) {
        Ok(args) => args,
        Err(why) => {
            if !why.is_empty() {
                eprintln!("peer-bench: {why}");
            }
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    match run(&args).await {
        Ok(report) => {
            println!("{}", report.json(args.client));
            match report.errors {
                0 => ExitCode::SUCCESS,
                _ => ExitCode::FAILURE,
            }
        }
        Err(e) => {
            eprintln!("peer-bench[{}]: {e}", args.client.name());
            ExitCode::FAILURE
        }
    }
}

/// Sessions, warm-up, measurement.
async fn run(args: &Args) -> Result<Report, BoxError> {
    let words = std::env::var("SAM_SESSION_OPTIONS").unwrap_or_default();
    let name = args.client.name();
    let t0 = Instant::now();
    let connect = match args.client {
        Client::SamTokio => clients::sam_tokio(&words).await?,
        Client::Yosemite => clients::yosemite(&words).await?,
    };
    eprintln!("peer-bench[{name}]: sessions ready in {:.1} s", secs(t0));
    warm_up(&connect).await?;
    eprintln!("peer-bench[{name}]: warm-up done after {:.1} s", secs(t0));
    // The warm-up's stream may still be closing: its descriptors settle first.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let fds_before = open_fds();
    let mut report = measure(&connect, args.cycles, args.connectors).await;
    report.fds = fds_before.zip(settled_fds(fds_before).await);
    eprintln!(
        "peer-bench[{name}]: {} cycles, {} connector(s): {} intact, {} errors in {:.2} s",
        args.cycles, args.connectors, report.intact, report.errors, report.seconds
    );
    Ok(report)
}

/// This process's open file descriptors (Linux), `None` where `/proc` does not tell.
fn open_fds() -> Option<usize> {
    std::fs::read_dir("/proc/self/fd")
        .ok()
        .map(|dir| dir.count())
}

/// The descriptor count once the last streams' tasks have closed theirs: polled for up to
/// 2 s until it is back at `baseline` (a leak stays above it).
async fn settled_fds(baseline: Option<usize>) -> Option<usize> {
    let deadline = Instant::now() + Duration::from_secs(2);
    loop {
        let now = open_fds();
        if now <= baseline || Instant::now() > deadline {
            return now;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn secs(since: Instant) -> f64 {
    since.elapsed().as_secs_f64()
}

/// One cycle, retried until it passes or [`WARM_UP_DEADLINE`]: it also makes the router look
/// up and cache the server's lease set, which the measured cycles must not pay for.
async fn warm_up(connect: &Connect) -> Result<(), BoxError> {
    let start = Instant::now();
    let mut rng = Rng::new();
    loop {
        let e = match tokio::time::timeout(CYCLE_TIMEOUT, cycle(connect, &mut rng)).await {
            Ok(Ok(())) => return Ok(()),
            Ok(Err(e)) => e,
            Err(_) => format!("no echo within {CYCLE_TIMEOUT:?}").into(),
        };
        if start.elapsed() > WARM_UP_DEADLINE {
            return Err(
                format!("warm-up cycle still failing after {WARM_UP_DEADLINE:?}: {e}").into(),
            );
        }
        eprintln!("peer-bench: warm-up cycle failed ({e}): once more in 1 s");
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// Connect, write [`PAYLOAD`] random bytes, read the echo, compare SHA-256, close.
async fn cycle(connect: &Connect, rng: &mut Rng) -> Result<(), BoxError> {
    let mut sent = [0u8; PAYLOAD];
    rng.fill(&mut sent);
    let mut stream = connect().await?;
    // 1 KiB fits in the socket buffer: write it all, then read (no need to do both at once).
    stream.write_all(&sent).await?;
    stream.flush().await?;
    let mut echoed = [0u8; PAYLOAD];
    stream.read_exact(&mut echoed).await?;
    if Sha256::digest(sent) != Sha256::digest(echoed) {
        return Err("the echo differs from what was sent (SHA-256)".into());
    }
    // A clean close (FIN to the bridge, which closes the I2P stream), as an application would.
    stream.shutdown().await?;
    Ok(())
}

/// The server side of a stream: echo everything until the peer closes, then close.
pub async fn echo(mut stream: impl AsyncRead + AsyncWrite + Unpin) {
    let mut buf = [0u8; 4096];
    let result: std::io::Result<()> = async {
        loop {
            let n = stream.read(&mut buf).await?;
            if n == 0 {
                return stream.shutdown().await;
            }
            stream.write_all(&buf[..n]).await?;
        }
    }
    .await;
    if let Err(e) = result {
        // Not counted here: the connector sees the same failure and counts it.
        eprintln!("peer-bench: echo: {e}");
    }
}

/// What the measured cycles gave.
#[derive(Debug, Default)]
struct Report {
    cycles: usize,
    connectors: usize,
    seconds: f64,
    /// Durations of the intact cycles, sorted.
    latencies: Vec<Duration>,
    intact: usize,
    errors: usize,
    /// Open descriptors of this process before and after the measured cycles.
    fds: Option<(usize, usize)>,
}

impl Report {
    /// The nearest-rank percentile `p` (0..=1) of the intact cycles, in ms.
    fn percentile_ms(&self, p: f64) -> Option<f64> {
        let n = self.latencies.len();
        let rank = ((p * n as f64).ceil() as usize).clamp(1, n.max(1));
        self.latencies
            .get(rank - 1)
            .map(|d| d.as_secs_f64() * 1000.0)
    }

    /// The JSON line (written by hand: it is flat, and no JSON crate is needed for it).
    fn json(&self, client: Client) -> String {
        let ms = |v: Option<f64>| v.map_or("null".to_owned(), |v| format!("{v:.1}"));
        let rate = match self.seconds > 0.0 {
            true => self.intact as f64 / self.seconds,
            false => 0.0,
        };
        format!(
            "{{\"client\":\"{}\",\"cycles\":{},\"connectors\":{},\"seconds\":{:.3},\"rate\":{:.2},\
             \"p50_ms\":{},\"p99_ms\":{},\"intact\":{},\"errors\":{},\"fds_before\":{},\
             \"fds_after\":{}}}",
            client.name(),
            self.cycles,
            self.connectors,
            self.seconds,
            rate,
            ms(self.percentile_ms(0.50)),
            ms(self.percentile_ms(0.99)),
            self.intact,
            self.errors,
            self.fds.map_or("null".to_owned(), |f| f.0.to_string()),
            self.fds.map_or("null".to_owned(), |f| f.1.to_string()),
        )
    }
}

/// `cycles` cycles shared by `connectors` tasks, each running its cycles one after another.
async fn measure(connect: &Connect, cycles: usize, connectors: usize) -> Report {
    let next = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let tasks: Vec<_> = (0..connectors)
        .map(|_| {
            let (connect, next) = (connect.clone(), next.clone());
            tokio::spawn(async move {
                let (mut rng, mut latencies, mut errors) = (Rng::new(), Vec::new(), 0);
                // Cycles are handed out one by one, so a slow connector does not leave the
                // others idle at the end.
                while next.fetch_add(1, Ordering::Relaxed) < cycles {
                    let t = Instant::now();
                    match tokio::time::timeout(CYCLE_TIMEOUT, cycle(&connect, &mut rng)).await {
                        Ok(Ok(())) => latencies.push(t.elapsed()),
                        Ok(Err(e)) => {
                            errors += 1;
                            eprintln!("peer-bench: cycle failed: {e}");
                        }
                        Err(_) => {
                            errors += 1;
                            eprintln!("peer-bench: cycle timed out after {CYCLE_TIMEOUT:?}");
                        }
                    }
                }
                (latencies, errors)
            })
        })
        .collect();
    let mut report = Report {
        cycles,
        connectors,
        ..Report::default()
    };
    for task in tasks {
        match task.await {
            Ok((latencies, errors)) => {
                report.latencies.extend(latencies);
                report.errors += errors;
            }
            Err(e) => {
                eprintln!("peer-bench: a connector task failed: {e}");
                report.errors += 1;
            }
        }
    }
    report.seconds = start.elapsed().as_secs_f64();
    report.latencies.sort();
    report.intact = report.latencies.len();
    report
}

/// SplitMix64: random payloads without a `rand` dependency. Random bytes because the bridges
/// may compress stream data (i2pd gzips I2CP payloads): a constant payload would be cheaper to
/// carry than real data.
struct Rng(u64);

impl Rng {
    /// Seeded from std's per-process random hasher keys.
    fn new() -> Rng {
        Rng(RandomState::new().hash_one(std::process::id()))
    }

    fn fill(&mut self, buf: &mut [u8]) {
        for chunk in buf.chunks_mut(8) {
            self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^= z >> 31;
            chunk.copy_from_slice(&z.to_le_bytes()[..chunk.len()]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(line: &str) -> Result<Args, String> {
        Args::parse(line.split_whitespace().map(str::to_owned))
    }

    #[test]
    fn parses_the_command_line() {
        let a = args("--client yosemite --cycles 20 --connectors=8").unwrap();
        assert_eq!(
            (a.client, a.cycles, a.connectors),
            (Client::Yosemite, 20, 8)
        );
        assert!(args("--cycles 20").is_err());
        assert!(args("--client sam-tokio --cycles 0").is_err());
        assert!(args("--client i2plib").is_err());
    }

    #[test]
    fn percentiles_are_nearest_rank() {
        let report = Report {
            latencies: (1..=100).map(Duration::from_millis).collect(),
            ..Report::default()
        };
        assert_eq!(report.percentile_ms(0.50), Some(50.0));
        assert_eq!(report.percentile_ms(0.99), Some(99.0));
        assert_eq!(Report::default().percentile_ms(0.5), None);
    }

    #[test]
    fn the_json_line_has_every_field() {
        let report = Report {
            cycles: 2,
            connectors: 1,
            seconds: 0.5,
            latencies: vec![Duration::from_millis(40)],
            intact: 1,
            errors: 1,
            fds: Some((14, 15)),
        };
        assert_eq!(
            report.json(Client::SamTokio),
            "{\"client\":\"sam-tokio\",\"cycles\":2,\"connectors\":1,\"seconds\":0.500,\
             \"rate\":2.00,\"p50_ms\":40.0,\"p99_ms\":40.0,\"intact\":1,\"errors\":1,\
             \"fds_before\":14,\"fds_after\":15}"
        );
    }
}
