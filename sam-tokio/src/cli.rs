//! `samcat`: netcat and tunnels over I2P, through a SAM v3 bridge (feature `cli`; the binary
//! is `src/bin/samcat.rs`, installed by `cargo install sam-tokio --features cli`). Not a
//! library API: only [`main`] is meant to be called, by that binary.
//!
//! ```text
//! samcat [--sam HOST:PORT] [--option k=v]... keygen [--sig TYPE] [--out FILE [--force]]
//! samcat [--sam HOST:PORT] [--option k=v]... lookup NAME
//! samcat [--sam HOST:PORT] [--option k=v]... listen [--keys FILE] [-k] [-N] [-u]
//! samcat [--sam HOST:PORT] [--option k=v]... connect DEST [--keys FILE] [-N] [-u]
//! samcat [--sam HOST:PORT] [--option k=v]... tunnel client LISTEN_ADDR DEST[:PORT] [--keys FILE]
//! samcat [--sam HOST:PORT] [--option k=v]... tunnel server TARGET_ADDR [--keys FILE] [--silent]
//! ```
//!
//! See [`AFTER_HELP`] (printed by `samcat --help`) for what each command does.

use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::error::ErrorKind;
use clap::{Parser, Subcommand};
use sam_proto::client::error_line;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt};

use crate::tunnel::{load_or_create_keys, ClientTunnel, ServerTunnel, TunnelOptions};
use crate::{
    load_keys, save_keys, Destination, RecoveryPolicy, Sam, SamConfig, Service, ServiceState,
    Session, SessionOptions, SigType, Stream, Style,
};

/// The long help's epilogue: what each command does, and the caveats.
pub const AFTER_HELP: &str = "\
What the commands do:
  keygen         asks the bridge for a new destination; with --out FILE the private keys are
                 written there (mode 0600; an existing file is kept unless --force) and the
                 .b32.i2p address is printed, else the address and the public destination.
                 Private keys are never printed.
  lookup NAME    prints the base64 destination of a host name or .b32.i2p address (the b32
                 address on stderr); asks the bridge alone first, then through a session.
  listen         prints its address on stderr, accepts a stream and pipes stdin to it and it
                 to stdout. -k: keep accepting, one connection after another; stdin goes to
                 the first connection only, later ones are only printed. With -k the session
                 is supervised: after a router restart it is created again (same address
                 with --keys) and accepting goes on.
  connect DEST   connects to DEST (.b32.i2p, base64 or host name) and pipes likewise.
  -u             datagrams instead of a stream (a DATAGRAM session): one datagram per line.
                 listen -u prints each payload on stdout and its sender's b32 address on
                 stderr, and sends stdin lines to the last sender; connect -u DEST sends stdin
                 lines to DEST and prints what comes back likewise. Datagrams may be lost.
  tunnel client LISTEN_ADDR DEST[:PORT]
                 every TCP connection to LISTEN_ADDR becomes a stream to DEST (PORT is the
                 I2P port, TO_PORT; SAM 3.2+).
  tunnel server TARGET_ADDR
                 every stream to our destination becomes a TCP connection to TARGET_ADDR;
                 prints 'samcat: tunnel server at ADDRESS.b32.i2p' on stderr. --keys FILE keeps
                 the address across runs (created, mode 0600, when missing). --silent: the
                 bridge connects to TARGET_ADDR itself (STREAM FORWARD SILENT=true): no
                 process in between, so no per-connection log line and no --limit.
                 --close-linger: how long a stream stays open after the service closed its
                 side, unless the peer ends it first (default 5 s). The session is
                 supervised: after a router restart it is created again, same address.
                 Tunnels log one line per connection on stderr; Ctrl-C or SIGTERM stops
                 accepting, lets open connections end for --grace seconds, then exits.

The end of stdin does not end a stream: samcat keeps printing what the peer sends until the
peer ends the stream (like nc). -N shuts the stream's write side down at the end of stdin
(like nc -N), but SAM bridges close the whole I2P stream on such a half close: the peer sees
the end of the stream and what it sends back afterwards is lost.

--sam defaults to SAM_ADDR, else 127.0.0.1:7656. Session options come from SAM_TUNNEL_OPTIONS
(space-separated key=value) and then --option (repeatable). After a stream ended, listen and
connect keep their session --linger seconds so that the router can deliver the end of it.
Errors are one line on stderr and a non-zero exit status (2 for bad arguments).";

/// netcat and tunnels over I2P, through a SAM v3 bridge.
#[derive(Debug, Parser)]
#[command(name = "samcat", version, arg_required_else_help = true, after_long_help = AFTER_HELP)]
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
    /// Accept a stream (or datagrams, -u) and pipe stdin/stdout through it.
    Listen {
        /// Use the destination saved in FILE (samcat keygen --out) instead of a new one.
        #[arg(long, value_name = "FILE")]
        keys: Option<PathBuf>,
        /// Keep accepting, one connection after another (stdin goes to the first).
        #[arg(short = 'k', long, conflicts_with = "datagrams")]
        keep_listening: bool,
        #[command(flatten)]
        io: PipeFlags,
    },
    /// Connect to DEST and pipe stdin/stdout through the stream (or datagrams, -u).
    Connect {
        /// A .b32.i2p address, a base64 destination or a host name.
        dest: String,
        /// Use the destination saved in FILE (samcat keygen --out) instead of a new one.
        #[arg(long, value_name = "FILE")]
        keys: Option<PathBuf>,
        #[command(flatten)]
        io: PipeFlags,
    },
    /// TCP <-> I2P tunnels.
    #[command(arg_required_else_help = true)]
    Tunnel {
        #[command(subcommand)]
        kind: TunnelCommand,
    },
}

#[derive(Debug, clap::Args)]
struct PipeFlags {
    /// Shut the stream's write side down when stdin ends (the bridge then closes the whole
    /// stream: see --help).
    #[arg(short = 'N', long, conflicts_with = "datagrams")]
    shutdown_on_eof: bool,
    /// Datagrams (a DATAGRAM session): one datagram per line.
    #[arg(short = 'u', long)]
    datagrams: bool,
}

#[derive(Debug, clap::Args)]
struct TunnelFlags {
    /// Keep the destination in FILE (created with new keys, mode 0600, when missing).
    #[arg(long, value_name = "FILE")]
    keys: Option<PathBuf>,
    /// Connections served at once.
    #[arg(long, value_name = "N", default_value_t = crate::tunnel::TUNNEL_LIMIT)]
    limit: usize,
    /// Seconds open connections may take to end after Ctrl-C / SIGTERM.
    #[arg(long, value_name = "SECS", default_value_t = crate::tunnel::TUNNEL_GRACE.as_secs_f64())]
    grace: f64,
    /// server: seconds a stream stays open after the service closed its side, unless the peer
    /// ends it first (some bridges lose the last bytes of a stream closed at once; 0: at once).
    #[arg(long, value_name = "SECS", default_value_t = crate::tunnel::TUNNEL_LINGER.as_secs_f64())]
    close_linger: f64,
}

#[derive(Debug, Subcommand)]
enum TunnelCommand {
    /// Local TCP connections to LISTEN_ADDR become streams to DEST[:PORT].
    Client {
        /// Where to listen, e.g. 127.0.0.1:8080 (port 0: any free port, printed).
        listen: String,
        /// A .b32.i2p address, base64 destination or host name, and optionally the I2P port.
        dest: String,
        #[command(flatten)]
        flags: TunnelFlags,
    },
    /// Streams to our destination become TCP connections to TARGET_ADDR.
    Server {
        /// The local service, e.g. 127.0.0.1:8000.
        target: String,
        /// The bridge forwards streams to TARGET_ADDR itself (STREAM FORWARD SILENT=true): no
        /// per-connection log line and no --limit.
        #[arg(long)]
        silent: bool,
        #[command(flatten)]
        flags: TunnelFlags,
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

/// samcat's `main`: parses the arguments, runs the command on a multi-threaded runtime and
/// returns the exit status (0, 1 for a failure, 2 for bad arguments or none).
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return argument_error(e),
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

/// `--help` and `--version` (stdout, status 0); no arguments (the usage, status 2); anything
/// else one line on stderr, status 2.
fn argument_error(e: clap::Error) -> ExitCode {
    match e.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
            let _ = e.print();
            ExitCode::SUCCESS
        }
        ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            let _ = e.print();
            ExitCode::from(2)
        }
        _ => {
            let text = e.to_string();
            let first = text.lines().next().unwrap_or("invalid arguments");
            let first = first.strip_prefix("error: ").unwrap_or(first);
            eprintln!("samcat: error: {first} (try --help)");
            ExitCode::from(2)
        }
    }
}

fn session_options(
    style: Style,
    cli_options: &[(String, String)],
) -> Result<SessionOptions, String> {
    let mut options = SessionOptions::new(style);
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
    let datagrams = match &cli.command {
        Command::Listen { io, .. } | Command::Connect { io, .. } => io.datagrams,
        _ => false,
    };
    let style = if datagrams {
        Style::Datagram
    } else {
        Style::Stream
    };
    let options = session_options(style, &cli.options)?;
    match cli.command {
        Command::Keygen { sig, out, force } => keygen(&sam, sig, out, force).await,
        Command::Lookup { name } => lookup(&sam, options, &name).await,
        Command::Listen {
            keys,
            keep_listening,
            io,
        } if keep_listening && !io.datagrams => {
            // -k: a supervised destination, which comes back after the router restarts.
            let service = start_service(&sam, with_keys(options, keys).await?);
            let session = service
                .session()
                .await
                .map_err(|e| format!("creating the session: {}", error_line(&e)))?;
            eprintln!("samcat: listening on {}", session.address());
            let accept = || service.accept();
            let piped = listen(accept, true, io.shutdown_on_eof).await;
            service.stop().await;
            piped
        }
        Command::Listen { keys, io, .. } => {
            let session = open_session(&sam, options, keys).await?;
            eprintln!("samcat: listening on {}", session.address());
            if io.datagrams {
                return exchange_datagrams(&session, None).await;
            }
            let piped = listen(|| session.accept(), false, io.shutdown_on_eof).await;
            linger(session, cli.linger).await;
            piped
        }
        Command::Connect { dest, keys, io } => {
            let session = open_session(&sam, options, keys).await?;
            eprintln!("samcat: we are {}; connecting to {dest}", session.address());
            if io.datagrams {
                let to = resolve(&session, &dest).await?;
                return exchange_datagrams(&session, Some(to)).await;
            }
            let stream = session
                .connect(&dest)
                .await
                .map_err(|e| format!("connecting to {dest}: {}", error_line(&e)))?;
            eprintln!("samcat: connected");
            let piped = pipe(stream, Some(tokio::io::stdin()), io.shutdown_on_eof).await;
            linger(session, cli.linger).await;
            piped
        }
        Command::Tunnel { kind } => tunnel(&sam, options, kind).await,
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
        .map_err(|e| format!("generating a {sig} destination: {}", error_line(&e)))?;
    let destination = keys.destination();
    match out {
        Some(path) => {
            save_keys(&path, &keys)
                .await
                .map_err(|e| format!("writing {}: {}", path.display(), error_line(&e)))?;
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
                error_line(&e)
            );
            let session = sam
                .session(options)
                .await
                .map_err(|e| format!("creating a session: {}", error_line(&e)))?;
            session.lookup(name).await.map_err(|e| {
                if e.result_code().is_some_and(|r| r.is_not_found()) {
                    format!("{name} not found ({})", error_line(&e))
                } else {
                    format!("looking up {name}: {}", error_line(&e))
                }
            })?
        }
        Err(e) => return Err(format!("looking up {name}: {}", error_line(&e))),
    };
    eprintln!("samcat: {name} is {}", destination.b32_address());
    println!("{}", destination.to_base64());
    Ok(())
}

async fn open_session(
    sam: &Sam,
    options: SessionOptions,
    keys: Option<PathBuf>,
) -> Result<Session, String> {
    create_session(sam, with_keys(options, keys).await?).await
}

/// `options` with the keys saved in `keys`, if given.
async fn with_keys(
    options: SessionOptions,
    keys: Option<PathBuf>,
) -> Result<SessionOptions, String> {
    let Some(path) = keys else {
        return Ok(options);
    };
    let keys = load_keys(&path)
        .await
        .map_err(|e| format!("reading keys from {}: {}", path.display(), error_line(&e)))?;
    Ok(options.with_keys(keys))
}

async fn create_session(sam: &Sam, options: SessionOptions) -> Result<Session, String> {
    eprintln!(
        "samcat: creating a session on {} (the router builds tunnels first)...",
        sam.config().address
    );
    sam.session(options)
        .await
        .map_err(|e| format!("creating the session: {}", error_line(&e)))
}

/// A [`Service`] for `options`, saying its state changes on stderr (a restarted router, say).
fn start_service(sam: &Sam, options: SessionOptions) -> Service {
    eprintln!(
        "samcat: creating a session on {} (the router builds tunnels first)...",
        sam.config().address
    );
    let say = |state: &ServiceState| match state {
        ServiceState::Starting => {}
        state => eprintln!("samcat: session {state}"),
    };
    Service::start_observed(sam, options, RecoveryPolicy::new(), Arc::new(say))
}

/// Keeps `session` open for `secs` after its stream ended, then closes it.
///
/// A stream's end reaches the peer only while the session exists: closing the session right
/// after the last write (or after our end of the stream) discards what the router has not
/// delivered yet, and the peer never sees the end of the stream.
async fn linger(session: Session, secs: f64) {
    if secs.is_finite() && secs > 0.0 {
        tokio::time::sleep(Duration::from_secs_f64(secs.min(3600.0))).await;
    }
    session.close().await;
}

/// `listen`: one stream, or (`-k`) one stream after another, stdin going to the first.
async fn listen<A, F>(mut accept: A, keep_listening: bool, half_close: bool) -> Result<(), String>
where
    A: FnMut() -> F,
    F: std::future::Future<Output = crate::Result<crate::Incoming>>,
{
    let mut stdin = Some(tokio::io::stdin());
    let mut backoff = sam_proto::client::Backoff::accept_loop();
    loop {
        let incoming = match accept().await {
            Ok(incoming) => incoming,
            // -k retries what may pass, as the tunnels do.
            Err(e) => match backoff.after_accept_error(&e).filter(|_| keep_listening) {
                Some(delay) => {
                    eprintln!("samcat: accepting: {}; again in {delay:?}", error_line(&e));
                    tokio::time::sleep(delay).await;
                    continue;
                }
                None => return Err(format!("accepting: {}", error_line(&e))),
            },
        };
        backoff.reset();
        match &incoming.peer {
            Some(peer) => eprintln!("samcat: connection from {}", peer.b32_address()),
            None => eprintln!("samcat: connection from an unknown peer"),
        }
        let piped = pipe(incoming.stream, stdin.take(), half_close).await;
        if !keep_listening {
            return piped;
        }
        if let Err(e) = piped {
            eprintln!("samcat: {e}");
        }
    }
}

/// stdin (if given) → stream and stream → stdout until the stream ends; at the end of stdin
/// the write side is shut down only when `half_close` (see [`AFTER_HELP`]).
async fn pipe(
    stream: Stream,
    stdin: Option<tokio::io::Stdin>,
    half_close: bool,
) -> Result<(), String> {
    let (mut from_peer, mut to_peer) = stream.into_split();
    let upload = async {
        let Some(mut stdin) = stdin else {
            // No stdin for this stream: its write side stays open until it ends.
            return std::future::pending().await;
        };
        tokio::io::copy(&mut stdin, &mut to_peer).await?;
        if half_close {
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

/// A destination for `connect -u`: base64 as is, anything else looked up by the session.
async fn resolve(session: &Session, dest: &str) -> Result<Destination, String> {
    if let Ok(destination) = Destination::from_base64(dest) {
        return Ok(destination);
    }
    session
        .lookup(dest)
        .await
        .map_err(|e| format!("looking up {dest}: {}", error_line(&e)))
}

/// `-u`: stdin lines → datagrams to `to` (connect) or to the last sender (listen); received
/// payloads → stdout lines, senders → stderr. Runs until interrupted or the session ends.
async fn exchange_datagrams(session: &Session, to: Option<Destination>) -> Result<(), String> {
    let socket = session
        .datagram_socket()
        .await
        .map_err(|e| format!("opening the datagram socket: {}", error_line(&e)))?;
    let fixed = to.is_some();
    let mut reply_to = to;
    let mut stdin = tokio::io::BufReader::new(tokio::io::stdin());
    let mut stdout = tokio::io::stdout();
    let mut line = Vec::new();
    let mut stdin_open = true;
    loop {
        tokio::select! {
            read = stdin.read_until(b'\n', &mut line), if stdin_open => {
                let n = read.map_err(|e| format!("reading stdin: {e}"))?;
                if n == 0 {
                    stdin_open = false;
                    continue;
                }
                let payload = line.strip_suffix(b"\n").unwrap_or(&line);
                let payload = payload.strip_suffix(b"\r").unwrap_or(payload);
                match &reply_to {
                    Some(dest) => {
                        if let Err(e) = socket.send_to(dest, payload, None).await {
                            eprintln!("samcat: datagram not sent: {}", error_line(&e));
                        }
                    }
                    None => eprintln!("samcat: no sender to reply to yet: line dropped"),
                }
                line.clear();
            }
            received = socket.recv_from() => {
                let received = received.map_err(|e| format!("receiving: {}", error_line(&e)))?;
                let mut out = received.payload;
                out.push(b'\n');
                stdout.write_all(&out).await.map_err(|e| format!("writing stdout: {e}"))?;
                stdout.flush().await.map_err(|e| format!("writing stdout: {e}"))?;
                match received.source {
                    Some(source) => {
                        eprintln!("samcat: datagram from {}", source.b32_address());
                        if !fixed {
                            reply_to = Some(source);
                        }
                    }
                    None => eprintln!("samcat: datagram from an unknown sender"),
                }
            }
        }
    }
}

/// `tunnel client|server`, until Ctrl-C or SIGTERM.
async fn tunnel(sam: &Sam, options: SessionOptions, kind: TunnelCommand) -> Result<(), String> {
    let flags = match &kind {
        TunnelCommand::Client { flags, .. } | TunnelCommand::Server { flags, .. } => flags,
    };
    if let TunnelCommand::Client { dest, .. } = &kind {
        // A bad DEST[:PORT] is refused before keys or a session are made (the tunnel checks
        // the port again against the bridge's version).
        sam_proto::client::split_port(dest).map_err(|e| error_line(&e))?;
    }
    let seconds = |name: &str, secs: f64| match secs.is_finite() && secs >= 0.0 {
        true => Ok(Duration::from_secs_f64(secs.min(86_400.0))),
        false => Err(format!("--{name} {secs}: not a number of seconds")),
    };
    let tunnel_options = TunnelOptions::new()
        .limit(flags.limit)
        .grace(seconds("grace", flags.grace)?)
        .linger(seconds("close-linger", flags.close_linger)?)
        .on_event(|event| eprintln!("samcat: {event}"));
    let options = match &flags.keys {
        Some(path) => {
            let keys = load_or_create_keys(sam, path)
                .await
                .map_err(|e| format!("keys in {}: {}", path.display(), error_line(&e)))?;
            options.with_keys(keys)
        }
        None => options,
    };
    match kind {
        TunnelCommand::Client { listen, dest, .. } => {
            let session = create_session(sam, options).await?;
            let tunnel = ClientTunnel::bind(session, listen.as_str(), &dest, tunnel_options)
                .await
                .map_err(|e| format!("tunnel to {dest} on {listen}: {}", error_line(&e)))?;
            tunnel.run_until(stop_signal()).await
        }
        TunnelCommand::Server { target, silent, .. } => {
            // Supervised: the tunnel comes back after the router restarts, same address.
            let to = local_address(&target).await?;
            let service = start_service(sam, options);
            let tunnel = ServerTunnel::supervised(service, to, tunnel_options)
                .await
                .map_err(|e| format!("creating the session: {}", error_line(&e)))?;
            tunnel.silent(silent).run_until(stop_signal()).await
        }
    }
    .map_err(|e| format!("tunnel: {}", error_line(&e)))
}

/// `HOST:PORT` → the first address it resolves to.
async fn local_address(target: &str) -> Result<SocketAddr, String> {
    let mut found = tokio::net::lookup_host(target)
        .await
        .map_err(|e| format!("{target}: {e}"))?;
    found.next().ok_or_else(|| format!("{target}: no address"))
}

/// Completes at Ctrl-C (SIGINT) or SIGTERM (a signal that cannot be watched never completes).
async fn stop_signal() {
    let interrupt = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                term.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {}
        () = terminate => {}
    }
}
