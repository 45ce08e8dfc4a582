//! Throughput of [`sam_async_std::Stream`] against the raw async-net `TcpStream` it wraps (a
//! plain `main` that prints figures; `harness = false`), on async-std.
//!
//! ```text
//! cargo bench -p sam-testkit --bench throughput_async_std
//! ```
//!
//! The structure of sam-tokio's bench (a): a fake bridge on loopback answers `HELLO`,
//! `SESSION CREATE` (with the constructed keys of sam-proto/PROTOCOL.md §11.6) and
//! `STREAM CONNECT`, after which the connection is spliced to a sink: `U` = count the bytes
//! until EOF and answer the count (u64 LE); `D` + u64 LE n = send n bytes and close (the
//! bridge, splice and sink are `sam_testkit::bench`'s, shared by the three adapters' benches). The raw socket
//! is a `Stream` taken apart with `into_parts()` right after the same handshake, so both
//! clients get the very same kind of connection and only the wrapper differs. 256 MiB go each
//! way per round, 5 rounds, the two clients alternating (and taking turns at going first);
//! the best round of each is compared (goal: Stream / raw >= 0.98). The median ratio is
//! printed too: on a busy 2-core machine single rounds vary by tens of percent.
//!
//! The bridge and sink are plain threads with blocking sockets, the same for both clients,
//! so that only the client side differs. Run without `--bench` (e.g. `cargo test --benches`),
//! the sizes are scaled down to a smoke test.

use std::time::Instant;

use futures_lite::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use sam_async_std::{Sam, SamConfig, Session, SessionOptions, Style};
use sam_testkit::bench::{counting_sink, fake_bridge, median, CHUNK};

const MIB: usize = 1024 * 1024;
const ROUNDS: usize = 5;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let len = if full { 256 * MIB } else { 8 * MIB };
    if !full {
        println!("(not run by `cargo bench`: smoke-test sizes)");
    }
    if let Err(e) = async_std::task::block_on(compare(len)) {
        println!("FAILED: {e}");
        std::process::exit(1);
    }
}

/// Writes `len` bytes then `close`s (half-close), waits for the count; returns the seconds.
async fn upload(
    mut conn: impl AsyncRead + AsyncWrite + Unpin,
    len: usize,
) -> Result<f64, BoxError> {
    let chunk = vec![0xa5u8; CHUNK];
    let started = Instant::now();
    conn.write_all(b"U").await?;
    for start in (0..len).step_by(CHUNK) {
        conn.write_all(&chunk[..CHUNK.min(len - start)]).await?;
    }
    conn.close().await?;
    let mut count = [0u8; 8];
    conn.read_exact(&mut count).await?;
    let secs = started.elapsed().as_secs_f64();
    match u64::from_le_bytes(count) as usize {
        n if n == len => Ok(secs),
        n => Err(format!("the sink counted {n} bytes, {len} sent").into()),
    }
}

/// Asks for `len` bytes and reads them to EOF; returns the seconds.
async fn download(
    mut conn: impl AsyncRead + AsyncWrite + Unpin,
    len: usize,
) -> Result<f64, BoxError> {
    let mut buf = vec![0u8; CHUNK];
    let started = Instant::now();
    conn.write_all(&[&b"D"[..], &(len as u64).to_le_bytes()].concat())
        .await?;
    let mut total = 0;
    loop {
        match conn.read(&mut buf).await? {
            0 => break,
            n => total += n,
        }
    }
    let secs = started.elapsed().as_secs_f64();
    match total {
        n if n == len => Ok(secs),
        n => Err(format!("received {n} bytes, {len} asked for").into()),
    }
}

/// One transfer of `len` bytes, up or down, through a `Stream` or its bare socket.
async fn transfer(session: &Session, raw: bool, up: bool, len: usize) -> Result<f64, BoxError> {
    let stream = session.connect("peer.i2p").await?;
    stream.get_ref().set_nodelay(true)?;
    match (raw, up) {
        (false, true) => upload(stream, len).await,
        (false, false) => download(stream, len).await,
        (true, up) => {
            let (socket, leftover) = stream.into_parts();
            assert!(leftover.is_empty(), "the fake bridge sends nothing unasked");
            if up {
                upload(socket, len).await
            } else {
                download(socket, len).await
            }
        }
    }
}

async fn compare(len: usize) -> Result<(), BoxError> {
    let bridge = fake_bridge(counting_sink()?, Vec::new())?;
    let session = Sam::new(SamConfig::new(bridge.to_string()))
        .session(SessionOptions::new(Style::Stream))
        .await?;
    println!(
        "sam_async_std::Stream vs raw async_net::TcpStream: {} MiB each way, {ROUNDS} rounds, \
         {} KiB writes/reads, loopback fake bridge",
        len / MIB,
        CHUNK / 1024
    );
    for (up, direction) in [(true, "upload  "), (false, "download")] {
        let (mut raws, mut streams) = (Vec::new(), Vec::new());
        for round in 0..ROUNDS {
            if round % 2 == 1 {
                streams.push(transfer(&session, false, up, len).await?);
            }
            raws.push(transfer(&session, true, up, len).await?);
            if round % 2 == 0 {
                streams.push(transfer(&session, false, up, len).await?);
            }
        }
        let best = |secs: &[f64]| secs.iter().copied().fold(f64::MAX, f64::min);
        let (best_raw, best_stream) = (best(&raws), best(&streams));
        let mut ratios: Vec<f64> = raws.iter().zip(&streams).map(|(r, s)| r / s).collect();
        let median = median(&mut ratios);
        let mib_s = |secs: f64| len as f64 / MIB as f64 / secs;
        let ratio = best_raw / best_stream;
        let verdict = if ratio >= 0.98 { "ok" } else { "BELOW GOAL" };
        println!(
            "  {direction}: raw {:8.1} MiB/s   Stream {:8.1} MiB/s   Stream/raw best {ratio:.3} \
             ({verdict}, goal >= 0.98), median of rounds {median:.3}",
            mib_s(best_raw),
            mib_s(best_stream)
        );
    }
    session.close().await;
    Ok(())
}
