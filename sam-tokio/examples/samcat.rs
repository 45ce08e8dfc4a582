//! `samcat`: netcat over I2P, through a SAM v3 bridge.
//!
//! ```text
//! samcat [--sam HOST:PORT] [--option k=v]... keygen [--sig TYPE] [--out FILE [--force]]
//! samcat [--sam HOST:PORT] [--option k=v]... lookup NAME
//! samcat [--sam HOST:PORT] [--option k=v]... listen [--keys FILE] [--keep-open]
//! samcat [--sam HOST:PORT] [--option k=v]... connect DEST [--keys FILE] [--keep-open]
//! ```
//!
//! * `keygen` asks the bridge for a new destination (`DEST GENERATE`; `--sig` by name such as
//!   `Ed25519`, `EdDSA_SHA512_Ed25519`, `ECDSA_SHA256_P256`, or by number; default Ed25519).
//!   With `--out FILE` the private keys are written there (mode 0600, refusing to replace an
//!   existing file without `--force`) and the `.b32.i2p` address is printed; without it only
//!   the address and the public destination are printed. Private keys are never printed.
//! * `lookup NAME` prints the base64 destination of a host name or `.b32.i2p` address (on
//!   stdout; the b32 address on stderr). It asks the bridge without a session first and, if
//!   that finds nothing, through a new session (which can fetch lease sets).
//! * `listen` prints its own address to stderr, accepts the first stream, prints the peer's
//!   address to stderr and then pipes stdin to the stream and the stream to stdout.
//! * `connect DEST` connects to DEST (`.b32.i2p`, base64 or host name) and pipes likewise.
//!
//! Piping ends when the stream ends. When stdin ends first, the write side of the stream is
//! shut down (like `nc -N`) and samcat keeps copying the stream to stdout until it ends;
//! `--keep-open` ignores the end of stdin instead (like plain `nc`). Note that SAM bridges
//! close the whole I2P stream when the local socket is half-closed, so the peer sees the end
//! of the stream and anything it sends afterwards is lost: an end that only receives should
//! use `--keep-open` (or keep its stdin open).
//!
//! `--sam` defaults to `SAM_ADDR`, else `127.0.0.1:7656`. Tunnel options are taken from
//! `SAM_TUNNEL_OPTIONS` (space-separated `key=value`) and then `--option k=v` (repeatable); by
//! default the router's own. The offline testbed needs `--option inbound.length=0 --option
//! outbound.length=0 --option inbound.quantity=1 --option outbound.quantity=1` (zero hops: no
//! anonymity, for testing only).
//!
//! After the stream ended, `listen` and `connect` keep their session for `--linger SECS`
//! (default 3): a session closed at once would discard what the router has not delivered
//! yet, including the end of the stream, and the peer would wait for it until it times out.
//!
//! Errors are one line on stderr and a non-zero exit status.

use std::io;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use sam_tokio::{
    load_keys, save_keys, Sam, SamConfig, Session, SessionOptions, SigType, Stream, Style,
};
use tokio::io::AsyncWriteExt;

/// netcat over I2P, through a SAM v3 bridge.
#[derive(Debug, Parser)]
#[command(name = "samcat", version)]
struct Cli {
    /// The SAM bridge (default: SAM_ADDR, else 127.0.0.1:7656).
    #[arg(long, global = true, value_name = "HOST:PORT")]
    sam: Option<String>,
    /// A tunnel / I2CP option for the session, e.g. inbound.length=3 (repeatable; after
    /// SAM_TUNNEL_OPTIONS).
    #[arg(long = "option", global = true, value_name = "KEY=VALUE", value_parser = parse_option)]
    options: Vec<(String, String)>,
    /// listen/connect: keep the session this many seconds after the stream ended, so that
    /// the router can deliver what was written and the end of the stream.
    #[arg(long, global = true, value_name = "SECS", default_value_t = 3.0)]
    linger: f64,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Create a new destination; print its .b32.i2p address (and save the keys with --out).
    Keygen {
        /// Signature type, by name (Ed25519, EdDSA_SHA512_Ed25519, ECDSA_SHA256_P256, ...) or
        /// number.
        #[arg(long, value_name = "TYPE", default_value = "Ed25519", value_parser = parse_sig)]
        sig: SigType,
        /// Write the private keys to FILE (mode 0600). Without it, only the address and the
        /// public destination are printed.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        /// Replace an existing FILE.
        #[arg(long, requires = "out")]
        force: bool,
    },
    /// Print the base64 destination of a name or .b32.i2p address.
    Lookup {
        /// A host name, a .b32.i2p address or a base64 destination.
        name: String,
    },
    /// Accept one stream and pipe stdin/stdout through it.
    Listen {
        /// Use the destination saved in FILE (samcat keygen --out) instead of a new one.
        #[arg(long, value_name = "FILE")]
        keys: Option<PathBuf>,
        /// Do not shut the stream's write side down when stdin ends.
        #[arg(long)]
        keep_open: bool,
    },
    /// Connect to DEST and pipe stdin/stdout through the stream.
    Connect {
        /// A .b32.i2p address, a base64 destination or a host name.
        dest: String,
        /// Use the destination saved in FILE (samcat keygen --out) instead of a new one.
        #[arg(long, value_name = "FILE")]
        keys: Option<PathBuf>,
        /// Do not shut the stream's write side down when stdin ends.
        #[arg(long)]
        keep_open: bool,
    },
}

fn parse_option(kv: &str) -> Result<(String, String), String> {
    match kv.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((k.to_owned(), v.to_owned())),
        _ => Err(format!("{kv:?} is not KEY=VALUE")),
    }
}

/// A signature type by number, by I2P name, or by the short names of [`SigType`]'s variants
/// (`Ed25519`, `DsaSha1`, `RedDsaEd25519`, ...), all case-insensitive.
fn parse_sig(text: &str) -> Result<SigType, String> {
    if let Ok(sig) = text.parse::<SigType>() {
        return Ok(sig);
    }
    SigType::ALL
        .iter()
        .copied()
        .find(|t| format!("{t:?}").eq_ignore_ascii_case(text))
        .ok_or_else(|| {
            let names: Vec<String> = SigType::ALL
                .iter()
                .map(|t| format!("{} ({:?}, {})", t.code(), t, t.name()))
                .collect();
            format!("unknown signature type; known: {}", names.join(", "))
        })
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if !e.use_stderr() => e.exit(), // --help, --version
        Err(e) => {
            let text = e.to_string();
            let first = text.lines().next().unwrap_or("invalid arguments");
            let first = first.strip_prefix("error: ").unwrap_or(first);
            eprintln!("samcat: error: {first} (try --help)");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("samcat: error: cannot start the tokio runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let outcome = runtime.block_on(run(cli));
    // tokio's stdin is a blocking read on another thread that cannot be cancelled: do not
    // wait for it (it would hold the exit until the next line on a terminal).
    runtime.shutdown_background();
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("samcat: error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// An error message on one line: the error and its sources (each once).
fn one_line(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let s_text = s.to_string();
        if !text.contains(&s_text) {
            text.push_str(": ");
            text.push_str(&s_text);
        }
        source = s.source();
    }
    text.replace('\n', " ")
}

fn session_options(cli_options: &[(String, String)]) -> Result<SessionOptions, String> {
    let mut options = SessionOptions::new(Style::Stream);
    if let Ok(text) = std::env::var("SAM_TUNNEL_OPTIONS") {
        for kv in text.split_whitespace() {
            let (k, v) = parse_option(kv).map_err(|e| format!("SAM_TUNNEL_OPTIONS: {e}"))?;
            options = options.option(k, v);
        }
    }
    for (k, v) in cli_options {
        options = options.option(k.as_str(), v.as_str());
    }
    Ok(options)
}

async fn run(cli: Cli) -> Result<(), String> {
    let mut config = SamConfig::from_env();
    if let Some(sam) = cli.sam {
        config.address = sam;
    }
    let sam = Sam::new(config);
    let options = session_options(&cli.options)?;
    match cli.command {
        Command::Keygen { sig, out, force } => keygen(&sam, sig, out, force).await,
        Command::Lookup { name } => lookup(&sam, options, &name).await,
        Command::Listen { keys, keep_open } => {
            let session = open_session(&sam, options, keys).await?;
            eprintln!("samcat: listening on {}", session.address());
            let incoming = session
                .accept()
                .await
                .map_err(|e| format!("accepting: {}", one_line(&e)))?;
            match &incoming.peer {
                Some(peer) => eprintln!("samcat: connection from {}", peer.b32_address()),
                None => eprintln!("samcat: connection from an unknown peer"),
            }
            let piped = pipe(incoming.stream, keep_open).await;
            linger(session, cli.linger).await;
            piped
        }
        Command::Connect {
            dest,
            keys,
            keep_open,
        } => {
            let session = open_session(&sam, options, keys).await?;
            eprintln!("samcat: we are {}; connecting to {dest}", session.address());
            let stream = session
                .connect(&dest)
                .await
                .map_err(|e| format!("connecting to {dest}: {}", one_line(&e)))?;
            eprintln!("samcat: connected");
            let piped = pipe(stream, keep_open).await;
            linger(session, cli.linger).await;
            piped
        }
    }
}

async fn keygen(sam: &Sam, sig: SigType, out: Option<PathBuf>, force: bool) -> Result<(), String> {
    if let Some(path) = &out {
        if !force && path.exists() {
            return Err(format!(
                "{} exists (use --force to replace it)",
                path.display()
            ));
        }
    }
    let keys = sam
        .generate_destination(sig)
        .await
        .map_err(|e| format!("generating a {sig} destination: {}", one_line(&e)))?;
    let destination = keys.destination();
    match out {
        Some(path) => {
            save_keys(&path, &keys)
                .await
                .map_err(|e| format!("writing {}: {}", path.display(), one_line(&e)))?;
            eprintln!(
                "samcat: {sig} keys written to {} (mode 0600)",
                path.display()
            );
            println!("{}", destination.b32_address());
        }
        None => {
            println!("{}", destination.b32_address());
            println!("{}", destination.to_base64());
        }
    }
    Ok(())
}

async fn lookup(sam: &Sam, options: SessionOptions, name: &str) -> Result<(), String> {
    let destination = match sam.lookup(name).await {
        Ok(d) => d,
        Err(e) if e.result_code().is_some_and(|r| r.is_not_found()) => {
            // Without a session the bridge may be unable to fetch lease sets (i2pd).
            eprintln!(
                "samcat: the bridge alone found nothing ({}); asking through a new session",
                one_line(&e)
            );
            let session = sam
                .session(options)
                .await
                .map_err(|e| format!("creating a session: {}", one_line(&e)))?;
            session.lookup(name).await.map_err(|e| {
                if e.result_code().is_some_and(|r| r.is_not_found()) {
                    format!("{name} not found ({})", one_line(&e))
                } else {
                    format!("looking up {name}: {}", one_line(&e))
                }
            })?
        }
        Err(e) => return Err(format!("looking up {name}: {}", one_line(&e))),
    };
    eprintln!("samcat: {name} is {}", destination.b32_address());
    println!("{}", destination.to_base64());
    Ok(())
}

async fn open_session(
    sam: &Sam,
    mut options: SessionOptions,
    keys: Option<PathBuf>,
) -> Result<Session, String> {
    if let Some(path) = keys {
        let keys = load_keys(&path)
            .await
            .map_err(|e| format!("reading keys from {}: {}", path.display(), one_line(&e)))?;
        options = options.with_keys(keys);
    }
    eprintln!(
        "samcat: creating a session on {} (the router builds tunnels first)...",
        sam.config().address
    );
    sam.session(options)
        .await
        .map_err(|e| format!("creating the session: {}", one_line(&e)))
}

/// Keeps `session` open for `secs` after its stream ended, then closes it.
///
/// A stream's end reaches the peer only while the session exists: closing the session right
/// after the last write (or after our end of the stream) discards what the router has not
/// delivered yet, and the peer never sees the end of the stream.
async fn linger(session: Session, secs: f64) {
    if secs.is_finite() && secs > 0.0 {
        tokio::time::sleep(std::time::Duration::from_secs_f64(secs.min(3600.0))).await;
    }
    session.close().await;
}

/// stdin → stream and stream → stdout until the stream ends (see the module docs).
async fn pipe(stream: Stream, keep_open: bool) -> Result<(), String> {
    let (mut from_peer, mut to_peer) = stream.into_split();
    let upload = async {
        let mut stdin = tokio::io::stdin();
        tokio::io::copy(&mut stdin, &mut to_peer).await?;
        if !keep_open {
            to_peer.shutdown().await?;
        }
        Ok::<_, io::Error>(())
    };
    let download = async {
        let mut stdout = tokio::io::stdout();
        tokio::io::copy(&mut from_peer, &mut stdout).await?;
        stdout.flush().await?;
        Ok::<_, io::Error>(())
    };
    tokio::pin!(upload, download);
    let upload_result = tokio::select! {
        // The stream ended: done (whatever stdin still holds has nowhere to go).
        done = &mut download => return done.map_err(|e| format!("stream to stdout: {e}")),
        sent = &mut upload => sent,
    };
    let received = download.await;
    match (upload_result, received) {
        (_, Err(e)) => Err(format!("stream to stdout: {e}")),
        (Err(e), Ok(()))
            if !matches!(
                e.kind(),
                io::ErrorKind::BrokenPipe | io::ErrorKind::ConnectionReset
            ) =>
        {
            Err(format!("stdin to stream: {e}"))
        }
        // A write that failed because the peer had closed: the stream ended normally.
        _ => Ok(()),
    }
}
