//! Figures of one I2P network through its SAM bridge (`SAM_ADDR`), with sam-tokio: what the
//! realistic testbed is compared on against the zero-hop one (`scripts/realistic.sh` runs it on
//! both and prints them side by side).
//!
//! * session creation: `SESSION CREATE` to `RESULT=OK`, for each of three sessions;
//! * connect latency: `connect` + `accept` + a 1-byte echo, one cycle after another
//!   (`NETWORK_CYCLES`, default 40), p50 / p99 / max;
//! * throughput: 1 MiB one way by b32, then its SHA-256 echoed back and compared;
//! * 50 concurrent streams: each echoes 4 KiB; the time until all are back;
//! * datagrams: `NETWORK_DATAGRAMS` (default 200) repliable datagrams of 1 KiB, paced 20 ms
//!   apart, each way; how many arrived (the loss is counted, not hidden).
//!
//! Session options: `SAM_SESSION_OPTIONS` (`k=v` words), as for the e2e suite. Prints
//! `key=value` lines, one per figure, under a `network=NAME` line (`NETWORK_NAME`).
//! `harness = false`: a plain main, run with `cargo bench -p sam-testkit --bench network_figures`.

use std::time::{Duration, Instant};

use sam_tokio::{Sam, Session, SessionOptions, Style};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

type Failure = Box<dyn std::error::Error + Send + Sync>;

fn options(style: Style) -> Result<SessionOptions, Failure> {
    let text = std::env::var("SAM_SESSION_OPTIONS").unwrap_or_else(|_| {
        "inbound.length=0 outbound.length=0 inbound.quantity=1 outbound.quantity=1".to_owned()
    });
    Ok(SessionOptions::new(style).option_words(&text)?)
}

fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(default)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let rank = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

async fn timed_session(sam: &Sam, style: Style) -> Result<(Session, Duration), Failure> {
    let started = Instant::now();
    let session = sam.session(options(style)?).await?;
    Ok((session, started.elapsed()))
}

/// Echo server on `session`: every stream gets back what it sends, until EOF.
fn serve_echo(session: Session) {
    tokio::spawn(async move {
        loop {
            let Ok(mut incoming) = session.accept().await else {
                return;
            };
            tokio::spawn(async move {
                let mut buf = vec![0u8; 64 * 1024];
                loop {
                    match incoming.stream.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => {
                            if incoming.stream.write_all(&buf[..n]).await.is_err() {
                                return;
                            }
                        }
                    }
                }
            });
        }
    });
}

async fn echo(client: &Session, target: &str, payload: &[u8]) -> Result<Duration, Failure> {
    let started = Instant::now();
    let stream = client.connect(target).await?;
    let (mut reader, mut writer) = tokio::io::split(stream);
    let sent = payload.to_vec();
    let write = tokio::spawn(async move {
        writer.write_all(&sent).await?;
        writer.flush().await?;
        Ok::<_, std::io::Error>(writer)
    });
    let mut back = vec![0u8; payload.len()];
    reader.read_exact(&mut back).await?;
    let _writer = write.await??;
    if Sha256::digest(&back) != Sha256::digest(payload) {
        return Err("echo differs (SHA-256)".into());
    }
    Ok(started.elapsed())
}

async fn datagrams_one_way(from: &Session, to: &Session, count: usize) -> Result<usize, Failure> {
    let sender = from.datagram_socket().await?;
    let receiver = to.datagram_socket().await?;
    // The bridge drops datagrams to a peer whose lease set it lacks: one that arrives first.
    let _ = from.lookup(&to.address().to_string()).await;
    let probe = b"probe".to_vec();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        sender.send_to(to.destination(), &probe, None).await?;
        match tokio::time::timeout(Duration::from_millis(500), receiver.recv_from()).await {
            Ok(Ok(got)) if got.payload == probe => break,
            Ok(Err(e)) => return Err(e.into()),
            _ if Instant::now() > deadline => return Err("no datagram arrived in 60 s".into()),
            _ => {}
        }
    }
    let receive = tokio::spawn(async move {
        let mut seen = std::collections::BTreeSet::new();
        while let Ok(Ok(got)) =
            tokio::time::timeout(Duration::from_secs(10), receiver.recv_from()).await
        {
            if let Some(index) = got.payload.get(..4).filter(|_| got.payload.len() == 1024) {
                seen.insert(u32::from_le_bytes([index[0], index[1], index[2], index[3]]));
            }
        }
        seen.len()
    });
    for i in 0..count as u32 {
        let mut payload = vec![0x5a; 1024];
        payload[..4].copy_from_slice(&i.to_le_bytes());
        sender.send_to(to.destination(), &payload, None).await?;
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(receive.await?)
}

#[tokio::main]
async fn main() -> Result<(), Failure> {
    let network = std::env::var("NETWORK_NAME").unwrap_or_else(|_| "unnamed".to_owned());
    let cycles = env_number("NETWORK_CYCLES", 40).max(1);
    let datagrams = env_number("NETWORK_DATAGRAMS", 200);
    let sam = Sam::from_env();
    println!("network={network}");

    let created = tokio::try_join!(
        timed_session(&sam, Style::Stream),
        timed_session(&sam, Style::Stream),
        timed_session(&sam, Style::Datagram),
        timed_session(&sam, Style::Datagram),
    )?;
    let ((server, t1), (client, t2), (dg_a, t3), (dg_b, t4)) = created;
    let mut creation = [t1, t2, t3, t4];
    creation.sort();
    println!(
        "session_create_ms={:.0}/{:.0}/{:.0} (min/median/max of 4, created at once)",
        ms(creation[0]),
        ms(creation[2]),
        ms(creation[3])
    );
    let target = server.address().to_string();
    serve_echo(server.clone());

    // The first connect also resolves the b32 and publishes the lease set: apart.
    let first = echo(&client, &target, b"x").await?;
    println!("first_connect_echo_ms={:.0}", ms(first));
    let mut latencies = Vec::with_capacity(cycles);
    for _ in 0..cycles {
        latencies.push(echo(&client, &target, b"x").await?);
    }
    latencies.sort();
    println!(
        "connect_echo_ms_p50={:.0} p99={:.0} max={:.0} (cycles={cycles})",
        ms(percentile(&latencies, 0.50)),
        ms(percentile(&latencies, 0.99)),
        ms(latencies[latencies.len() - 1])
    );

    let mib = sam_testkit::data::xorshift_bytes(1 << 20, 7);
    let took = echo(&client, &target, &mib).await?;
    println!(
        "echo_1MiB_s={:.2} throughput_KiB_s={:.0} (1 MiB each way, SHA-256 equal)",
        took.as_secs_f64(),
        2048.0 / took.as_secs_f64()
    );

    let started = Instant::now();
    let mut tasks = Vec::new();
    for i in 0..50u64 {
        let client = client.clone();
        let target = target.clone();
        tasks.push(tokio::spawn(async move {
            let payload = sam_testkit::data::xorshift_bytes(4096, 100 + i);
            echo(&client, &target, &payload).await
        }));
    }
    let mut ok = 0;
    for task in tasks {
        if task.await?.is_ok() {
            ok += 1;
        }
    }
    println!(
        "fifty_streams_s={:.2} echoed={ok}/50",
        started.elapsed().as_secs_f64()
    );

    if datagrams > 0 {
        let a_to_b = datagrams_one_way(&dg_a, &dg_b, datagrams).await?;
        let b_to_a = datagrams_one_way(&dg_b, &dg_a, datagrams).await?;
        println!(
            "datagrams_a_to_b={a_to_b}/{datagrams} datagrams_b_to_a={b_to_a}/{datagrams} (loss {:.1} % and {:.1} %)",
            100.0 * (datagrams - a_to_b) as f64 / datagrams as f64,
            100.0 * (datagrams - b_to_a) as f64 / datagrams as f64
        );
    }
    client.close().await;
    server.close().await;
    Ok(())
}
