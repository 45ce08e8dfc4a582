//! PING/PONG over I2P, both ends in one process (the flow of the original i2plib article), on
//! async-std. The same program as sam-tokio's `tokio_ping_pong` example.
//!
//! ```text
//! SAM_ADDR=127.0.0.1:7656 cargo run --release -p sam-async-std --example async_std_ping_pong [-- --sam HOST:PORT]
//! ```
//!
//! Two STREAM sessions are created concurrently: an acceptor and a connector. The acceptor
//! waits for a stream, prints who connected (the b32 address of the destination the bridge
//! sent on the accept socket), reads `PING` and answers `PONG`; the connector connects to the
//! acceptor's `.b32.i2p` address (falling back to its base64 destination if the bridge cannot
//! resolve the b32 address), sends `PING` and waits for `PONG`. The exit status is 0 only when
//! `PONG` arrived.
//!
//! The bridge is `--sam HOST:PORT`, else `SAM_ADDR`, else `127.0.0.1:7656`.
//!
//! Tunnel options: `SAM_TUNNEL_OPTIONS` (space-separated `key=value`) is passed to both
//! sessions; unset, the router's defaults apply, which is what anonymity needs. The project's
//! offline testbed (`scripts/demo.sh`) sets it to zero-hop tunnels (`inbound.length=0
//! outbound.length=0`) because its two routers cannot build longer ones: zero-hop tunnels give
//! NO anonymity, so never copy those options to the real network.

use std::error::Error as _;
use std::future::Future;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use async_std::future::timeout;
use futures_lite::future::zip;
use futures_lite::io::{AsyncReadExt, AsyncWriteExt};
use sam_async_std::{Sam, SamConfig, Session, SessionOptions, Stream, Style};

/// How long the PING/PONG exchange may take once the stream is open.
const EXCHANGE_TIMEOUT: Duration = Duration::from_secs(60);

type Outcome = Result<(), String>;

fn main() -> ExitCode {
    if let Err(e) = async_std::task::block_on(run()) {
        eprintln!("async_std_ping_pong: error: {e}");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}

/// A SAM error on one line, with each of its causes that adds something.
fn explain(e: &sam_async_std::Error) -> String {
    let causes = std::iter::successors(e.source(), |&cause| cause.source());
    let mut text = e.to_string();
    for cause in causes.map(|cause| cause.to_string()) {
        if !text.contains(&cause) {
            text = text + ": " + &cause;
        }
    }
    text.replace('\n', " ")
}

/// The bridge: `--sam HOST:PORT`, else `SAM_ADDR`, else the default.
fn bridge_from_args() -> Result<SamConfig, String> {
    let mut config = SamConfig::from_env();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        if arg == "-h" || arg == "--help" {
            println!("usage: async_std_ping_pong [--sam HOST:PORT]");
            println!("bridge: --sam, else SAM_ADDR, else 127.0.0.1:7656");
            println!("tunnel options: SAM_TUNNEL_OPTIONS (default: the router's)");
            std::process::exit(0);
        } else if arg == "--sam" {
            config.address = args.next().ok_or("--sam needs HOST:PORT")?;
        } else {
            return Err(format!("unknown argument {arg:?} (try --help)"));
        }
    }
    Ok(config)
}

/// Both sessions' options: `SAM_TUNNEL_OPTIONS`, else the router's defaults.
fn session_options() -> Result<(SessionOptions, String), String> {
    let text = std::env::var("SAM_TUNNEL_OPTIONS");
    let text = text.unwrap_or_default();
    let mut options = SessionOptions::new(Style::Stream);
    for pair in text.split_whitespace() {
        let Some((key, value)) = pair.split_once('=').filter(|(k, _)| !k.is_empty()) else {
            return Err(format!("SAM_TUNNEL_OPTIONS: {pair:?} is not key=value"));
        };
        options = options.option(key, value);
    }
    let shown = text.split_whitespace().collect::<Vec<_>>().join(" ");
    Ok((options, shown))
}

/// Runs an exchange on an open stream within [`EXCHANGE_TIMEOUT`].
async fn exchange(
    who: &str,
    waits_for: &str,
    io: impl Future<Output = std::io::Result<()>>,
) -> Outcome {
    match timeout(EXCHANGE_TIMEOUT, io).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(format!("{who}: {e}")),
        Err(_) => Err(format!("{who}: no {waits_for} within {EXCHANGE_TIMEOUT:?}")),
    }
}

/// Reads four bytes and checks they are `word`.
async fn expect_word(stream: &mut Stream, word: &[u8; 4]) -> std::io::Result<()> {
    let mut got = [0u8; 4];
    stream.read_exact(&mut got).await?;
    if &got != word {
        let (want, got) = (String::from_utf8_lossy(word), String::from_utf8_lossy(&got));
        return Err(std::io::Error::other(format!(
            "expected {want}, got {got:?}"
        )));
    }
    Ok(())
}

async fn run() -> Outcome {
    let config = bridge_from_args()?;
    let (options, shown) = session_options()?;
    let shown = if shown.is_empty() {
        "(router defaults)"
    } else {
        shown.as_str()
    };
    println!("bridge {}; tunnel options: {shown}", config.address);

    let sam = Sam::new(config);
    println!("creating two STREAM sessions (the router builds tunnels first)...");
    let started = Instant::now();
    let (acceptor, connector) = zip(sam.session(options.clone()), sam.session(options)).await;
    let acceptor =
        acceptor.map_err(|e| format!("creating the acceptor session: {}", explain(&e)))?;
    let connector =
        connector.map_err(|e| format!("creating the connector session: {}", explain(&e)))?;
    println!("sessions created in {:.1?}", started.elapsed());
    println!("acceptor  is {}", acceptor.address());
    println!("connector is {}", connector.address());

    let accepting = async_std::task::spawn(accept_side(
        acceptor.clone(),
        connector.address().to_string(),
    ));
    connect_side(&connector, &acceptor).await?;
    // The acceptor has answered (we read its PONG); collect its result.
    match timeout(Duration::from_secs(10), accepting).await {
        Ok(result) => result?,
        Err(_) => return Err("the acceptor did not finish".to_owned()),
    }
    println!("PONG received over I2P");
    Ok(())
}

/// Accepts one stream, reads `PING`, answers `PONG`.
async fn accept_side(acceptor: Session, connector_b32: String) -> Outcome {
    let incoming = acceptor
        .accept()
        .await
        .map_err(|e| format!("accepting: {}", explain(&e)))?;
    match incoming.peer.map(|peer| peer.b32_address().to_string()) {
        Some(b32) if b32 == connector_b32 => {
            println!("acceptor: stream from {b32} (the connector)")
        }
        Some(b32) => println!("acceptor: stream from {b32} (NOT the connector!)"),
        None => println!("acceptor: stream from an unknown peer (the bridge sent no destination)"),
    }
    let mut stream = incoming.stream;
    exchange("acceptor", "PING", async {
        expect_word(&mut stream, b"PING").await?;
        println!("acceptor: PING received, answering PONG");
        stream.write_all(b"PONG").await?;
        stream.flush().await?;
        // Keep the stream open until the connector has read PONG and closed its end.
        let _ = stream.read(&mut [0u8; 1]).await;
        Ok(())
    })
    .await
}

/// Connects to the acceptor (by b32, else by base64), sends `PING`, waits for `PONG`.
async fn connect_side(connector: &Session, acceptor: &Session) -> Outcome {
    let b32 = acceptor.address().to_string();
    println!("connector: connecting to {b32} ...");
    let mut started = Instant::now();
    let (mut stream, by) = match connector.connect(&b32).await {
        Ok(stream) => (stream, "b32 address"),
        Err(e) => {
            let e = explain(&e);
            println!("connector: connecting by b32 address failed ({e}); falling back to the base64 destination");
            started = Instant::now();
            let base64 = acceptor.destination().to_base64();
            let failed = |e| format!("connecting by base64 destination: {}", explain(&e));
            (
                connector.connect(&base64).await.map_err(failed)?,
                "base64 destination",
            )
        }
    };
    println!("connector: connected by {by} in {:.1?}", started.elapsed());
    exchange("connector", "PONG", async {
        stream.write_all(b"PING").await?;
        stream.flush().await?;
        println!("connector: PING sent");
        expect_word(&mut stream, b"PONG").await
    })
    .await
}
