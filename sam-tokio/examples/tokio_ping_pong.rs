//! PING/PONG over I2P, both ends in one process (the flow of the original i2plib article).
//!
//! ```text
//! SAM_ADDR=127.0.0.1:7656 cargo run --release -p sam-tokio --example tokio_ping_pong [-- --sam HOST:PORT]
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

use std::process::ExitCode;
use std::time::{Duration, Instant};

use sam_tokio::sam_proto::client::error_line;
use sam_tokio::{Sam, SamConfig, Session, SessionOptions, Style};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// How long the PING/PONG exchange may take once the stream is open.
const EXCHANGE_TIMEOUT: Duration = Duration::from_secs(60);

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tokio_ping_pong: error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn config_from_args() -> Result<SamConfig, String> {
    let mut config = SamConfig::from_env();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--sam" => {
                config.address = args
                    .next()
                    .ok_or_else(|| "--sam needs HOST:PORT".to_owned())?
            }
            "-h" | "--help" => {
                println!(
                    "usage: tokio_ping_pong [--sam HOST:PORT]\n\
                     bridge: --sam, else SAM_ADDR, else 127.0.0.1:7656\n\
                     tunnel options: SAM_TUNNEL_OPTIONS (default: the router's)"
                );
                std::process::exit(0);
            }
            other => return Err(format!("unknown argument {other:?} (try --help)")),
        }
    }
    Ok(config)
}

/// `SAM_TUNNEL_OPTIONS` as `key=value` pairs (the router's defaults when unset).
fn tunnel_options() -> Result<Vec<(String, String)>, String> {
    let text = std::env::var("SAM_TUNNEL_OPTIONS").unwrap_or_default();
    text.split_whitespace()
        .map(|kv| match kv.split_once('=') {
            Some((k, v)) if !k.is_empty() => Ok((k.to_owned(), v.to_owned())),
            _ => Err(format!("SAM_TUNNEL_OPTIONS: {kv:?} is not key=value")),
        })
        .collect()
}

async fn run() -> Result<(), String> {
    let config = config_from_args()?;
    let tunnel = tunnel_options()?;
    let mut options = SessionOptions::new(Style::Stream);
    for (k, v) in &tunnel {
        options = options.option(k.as_str(), v.as_str());
    }
    let shown: Vec<String> = tunnel.iter().map(|(k, v)| format!("{k}={v}")).collect();
    println!(
        "bridge {}; tunnel options: {}",
        config.address,
        if shown.is_empty() {
            "(router defaults)".to_owned()
        } else {
            shown.join(" ")
        }
    );

    let sam = Sam::new(config);
    println!("creating two STREAM sessions (the router builds tunnels first)...");
    let started = Instant::now();
    let (acceptor, connector) =
        tokio::join!(sam.session(options.clone()), sam.session(options.clone()));
    let acceptor =
        acceptor.map_err(|e| format!("creating the acceptor session: {}", error_line(&e)))?;
    let connector =
        connector.map_err(|e| format!("creating the connector session: {}", error_line(&e)))?;
    println!("sessions created in {:.1?}", started.elapsed());
    println!("acceptor  is {}", acceptor.address());
    println!("connector is {}", connector.address());

    let accepting = tokio::spawn(accept_side(acceptor.clone(), connector.clone()));
    let outcome = connect_side(&connector, &acceptor).await;
    match outcome {
        Ok(()) => {
            // The acceptor has answered (we read its PONG); collect its result.
            match tokio::time::timeout(Duration::from_secs(10), accepting).await {
                Ok(Ok(Ok(()))) => {}
                Ok(Ok(Err(e))) => return Err(e),
                Ok(Err(e)) => return Err(format!("acceptor task failed: {e}")),
                Err(_) => return Err("the acceptor did not finish".to_owned()),
            }
            println!("PONG received over I2P");
            Ok(())
        }
        Err(e) => {
            accepting.abort();
            Err(e)
        }
    }
}

/// Accepts one stream, reads `PING`, answers `PONG`.
async fn accept_side(acceptor: Session, connector: Session) -> Result<(), String> {
    let incoming = acceptor
        .accept()
        .await
        .map_err(|e| format!("accepting: {}", error_line(&e)))?;
    match &incoming.peer {
        Some(peer) => {
            let b32 = peer.b32_address();
            let who = if b32 == connector.address() {
                " (the connector)"
            } else {
                " (NOT the connector!)"
            };
            println!("acceptor: stream from {b32}{who}");
        }
        None => println!("acceptor: stream from an unknown peer (the bridge sent no destination)"),
    }
    let mut stream = incoming.stream;
    tokio::time::timeout(EXCHANGE_TIMEOUT, async {
        let mut ping = [0u8; 4];
        stream.read_exact(&mut ping).await?;
        if &ping != b"PING" {
            return Err(std::io::Error::other(format!(
                "expected PING, got {:?}",
                String::from_utf8_lossy(&ping)
            )));
        }
        println!("acceptor: PING received, answering PONG");
        stream.write_all(b"PONG").await?;
        stream.flush().await?;
        // Keep the stream open until the connector has read PONG and closed its end.
        let _ = stream.read(&mut [0u8; 1]).await;
        Ok(())
    })
    .await
    .map_err(|_| format!("acceptor: no PING within {EXCHANGE_TIMEOUT:?}"))?
    .map_err(|e| format!("acceptor: {e}"))
}

/// Connects to the acceptor (by b32, else by base64), sends `PING`, waits for `PONG`.
async fn connect_side(connector: &Session, acceptor: &Session) -> Result<(), String> {
    let b32 = acceptor.address().to_string();
    println!("connector: connecting to {b32} ...");
    let started = Instant::now();
    let mut stream = match connector.connect(&b32).await {
        Ok(stream) => {
            println!(
                "connector: connected by b32 address in {:.1?}",
                started.elapsed()
            );
            stream
        }
        Err(e) => {
            println!(
                "connector: connecting by b32 address failed ({}); falling back to the base64 destination",
                error_line(&e)
            );
            let started = Instant::now();
            let stream = connector
                .connect(acceptor.destination())
                .await
                .map_err(|e| format!("connecting by base64 destination: {}", error_line(&e)))?;
            println!(
                "connector: connected by base64 destination in {:.1?}",
                started.elapsed()
            );
            stream
        }
    };
    tokio::time::timeout(EXCHANGE_TIMEOUT, async {
        stream.write_all(b"PING").await?;
        stream.flush().await?;
        println!("connector: PING sent");
        let mut pong = [0u8; 4];
        stream.read_exact(&mut pong).await?;
        if &pong != b"PONG" {
            return Err(std::io::Error::other(format!(
                "expected PONG, got {:?}",
                String::from_utf8_lossy(&pong)
            )));
        }
        Ok(())
    })
    .await
    .map_err(|_| format!("connector: no PONG within {EXCHANGE_TIMEOUT:?}"))?
    .map_err(|e| format!("connector: {e}"))
}
