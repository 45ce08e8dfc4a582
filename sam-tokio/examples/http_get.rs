//! Fetch a page from an eepsite, or serve a fixed page to test that without the internet.
//!
//! ```text
//! http_get [--sam HOST:PORT] [--option k=v]... <destination-or-host> [path]
//! http_get [--sam HOST:PORT] [--option k=v]... --serve [--count N]
//! ```
//!
//! Client mode creates a STREAM session, connects to the destination (a `.b32.i2p` address, a
//! base64 destination or a host name the router's address book knows), sends
//! `GET path HTTP/1.1` with `Host:` and `Connection: close`, and copies the whole response
//! (status line, headers, body) to stdout. `http://name/path` is accepted as well.
//!
//! `--serve` creates a session, prints its `.b32.i2p` address alone on stdout, and answers
//! every request with a fixed `200 OK` page (with `--count N`, it exits 5 s after the Nth
//! answer: closing the session earlier would discard what the router has not yet delivered,
//! and the client would wait for a response that never comes). That is
//! how to try the client on the offline testbed, which has no eepsites:
//!
//! ```text
//! export SAM_ADDR=127.0.0.1:17740 SAM_TUNNEL_OPTIONS="inbound.length=0 outbound.length=0 inbound.quantity=1 outbound.quantity=1"
//! cargo run -p sam-tokio --example http_get -- --serve --count 1 > serve.out &
//! # ...wait until serve.out holds the address, then:
//! cargo run -p sam-tokio --example http_get -- "$(head -1 serve.out)" /hello
//! ```
//!
//! The bridge is `--sam HOST:PORT`, else `SAM_ADDR`, else `127.0.0.1:7656`. Tunnel options
//! come from `SAM_TUNNEL_OPTIONS` (space-separated `key=value`) and then `--option k=v`; by
//! default the router's own. The testbed needs the zero-hop options above (no anonymity:
//! testbed only).

use std::process::ExitCode;
use std::time::Duration;

use sam_tokio::sam_proto::client::error_line;
use sam_tokio::{Destination, Sam, SamConfig, Session, SessionOptions, Style};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// How long a response (or, serving, a request) may take once the stream is open.
const IO_TIMEOUT: Duration = Duration::from_secs(120);
/// `--serve --count N`: how long the session stays up after the last answer was written.
const CLOSE_GRACE: Duration = Duration::from_secs(5);
/// Largest request head the server reads.
const MAX_REQUEST: usize = 16 * 1024;

const USAGE: &str =
    "usage: http_get [--sam HOST:PORT] [--option k=v]... <destination-or-host> [path]
       http_get [--sam HOST:PORT] [--option k=v]... --serve [--count N]";

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("http_get: error: {e}");
            ExitCode::FAILURE
        }
    }
}

struct Args {
    config: SamConfig,
    options: Vec<(String, String)>,
    serve: bool,
    count: Option<u64>,
    target: Option<String>,
    path: Option<String>,
}

fn parse_option(kv: &str, from: &str) -> Result<(String, String), String> {
    match kv.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((k.to_owned(), v.to_owned())),
        _ => Err(format!("{from}: {kv:?} is not key=value")),
    }
}

fn parse_args() -> Result<Args, String> {
    let mut parsed = Args {
        config: SamConfig::from_env(),
        options: Vec::new(),
        serve: false,
        count: None,
        target: None,
        path: None,
    };
    if let Ok(text) = std::env::var("SAM_TUNNEL_OPTIONS") {
        for kv in text.split_whitespace() {
            parsed.options.push(parse_option(kv, "SAM_TUNNEL_OPTIONS")?);
        }
    }
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().ok_or_else(|| format!("{name} needs a value"));
        match arg.as_str() {
            "--sam" => parsed.config.address = value("--sam")?,
            "--option" => parsed
                .options
                .push(parse_option(&value("--option")?, "--option")?),
            "--serve" => parsed.serve = true,
            "--count" => {
                let n = value("--count")?;
                parsed.count = Some(
                    n.parse()
                        .map_err(|_| format!("--count: {n:?} is not a number"))?,
                );
            }
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            flag if flag.starts_with("--") => {
                return Err(format!("unknown option {flag:?} (try --help)"))
            }
            _ if parsed.target.is_none() => parsed.target = Some(arg),
            _ if parsed.path.is_none() => parsed.path = Some(arg),
            _ => return Err("too many arguments (try --help)".to_owned()),
        }
    }
    if parsed.serve == parsed.target.is_some() {
        return Err("give either a destination or --serve (try --help)".to_owned());
    }
    Ok(parsed)
}

async fn run() -> Result<(), String> {
    let args = parse_args()?;
    let mut options = SessionOptions::new(Style::Stream);
    for (k, v) in &args.options {
        options = options.option(k.as_str(), v.as_str());
    }
    let sam = Sam::new(args.config);
    eprintln!(
        "http_get: creating a session on {} (the router builds tunnels first)...",
        sam.config().address
    );
    let session = sam
        .session(options)
        .await
        .map_err(|e| format!("creating the session: {}", error_line(&e)))?;
    match args.target {
        None => serve(&session, args.count).await,
        Some(target) => get(&session, &target, args.path.as_deref()).await,
    }
}

/// Splits `http://host/path` into host and path; anything else is a bare destination.
fn split_url<'a>(target: &'a str, path: Option<&'a str>) -> (&'a str, String) {
    let rest = target.strip_prefix("http://").unwrap_or(target);
    let (host, url_path) = match rest.find('/') {
        Some(i) if rest.len() < 500 => (&rest[..i], &rest[i..]),
        _ => (rest, "/"),
    };
    let path = path.unwrap_or(url_path);
    let path = if path.starts_with('/') {
        path.to_owned()
    } else {
        format!("/{path}")
    };
    (host, path)
}

async fn get(session: &Session, target: &str, path: Option<&str>) -> Result<(), String> {
    let (dest, path) = split_url(target, path);
    if path.contains(['\r', '\n', ' ']) {
        return Err(format!("invalid path {path:?}"));
    }
    // A base64 destination is no host name: send its b32 address in `Host:` instead.
    let host = match Destination::from_base64(dest) {
        Ok(d) => d.b32_address().to_string(),
        Err(_) => dest.to_owned(),
    };
    eprintln!(
        "http_get: we are {}; connecting to {host} ...",
        session.address()
    );
    let mut stream = session
        .connect(dest)
        .await
        .map_err(|e| format!("connecting to {host}: {}", error_line(&e)))?;
    let request =
        format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\nUser-Agent: sam-tokio-http_get\r\n\r\n");
    let response = tokio::time::timeout(IO_TIMEOUT, async {
        stream.write_all(request.as_bytes()).await?;
        stream.flush().await?;
        let mut response = Vec::new();
        stream.read_to_end(&mut response).await?;
        Ok::<_, std::io::Error>(response)
    })
    .await
    .map_err(|_| format!("no complete response within {IO_TIMEOUT:?}"))?
    .map_err(|e| format!("reading the response: {}", error_line(&e)))?;
    if response.is_empty() {
        return Err(format!("{host} closed the stream without a response"));
    }
    let mut stdout = tokio::io::stdout();
    stdout
        .write_all(&response)
        .await
        .and(stdout.flush().await)
        .map_err(|e| format!("writing to stdout: {e}"))?;
    Ok(())
}

async fn serve(session: &Session, count: Option<u64>) -> Result<(), String> {
    let me = session.address();
    // The address alone on stdout (for scripts), the rest on stderr.
    println!("{me}");
    let mut stdout = tokio::io::stdout();
    let _ = stdout.flush().await;
    eprintln!("http_get: serving http://{me}/ (Ctrl-C to stop)");
    let mut served = 0u64;
    let mut handlers = tokio::task::JoinSet::new();
    while count.is_none_or(|n| served < n) {
        let incoming = session
            .accept()
            .await
            .map_err(|e| format!("accepting: {}", error_line(&e)))?;
        served += 1;
        let peer = incoming
            .peer
            .map(|d| d.b32_address().to_string())
            .unwrap_or_else(|| "an unknown peer".to_owned());
        let me = me.to_string();
        handlers.spawn(async move {
            match tokio::time::timeout(IO_TIMEOUT, answer(incoming.stream, &me)).await {
                Ok(Ok(request_line)) => eprintln!("http_get: {peer}: {request_line} -> 200"),
                Ok(Err(e)) => eprintln!("http_get: {peer}: {e}"),
                Err(_) => eprintln!("http_get: {peer}: request timed out"),
            }
        });
    }
    // `--count`: let the last answers go out before the session closes. Written is not
    // delivered: closing the session discards what the router has not sent yet, and the
    // client would then wait for a response (or an end) that never comes.
    while handlers.join_next().await.is_some() {}
    eprintln!("http_get: served {served} requests; closing in {CLOSE_GRACE:?}");
    tokio::time::sleep(CLOSE_GRACE).await;
    Ok(())
}

/// Reads one request head and answers it with a fixed page; returns the request line.
async fn answer(mut stream: sam_tokio::Stream, me: &str) -> std::io::Result<String> {
    let mut head = Vec::new();
    let mut buf = [0u8; 4096];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        if head.len() > MAX_REQUEST {
            return Err(std::io::Error::other("request head too large"));
        }
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            return Err(std::io::Error::other("closed before a complete request"));
        }
        head.extend_from_slice(&buf[..n]);
    }
    let request_line =
        String::from_utf8_lossy(head.split(|&b| b == b'\r').next().unwrap_or(&[])).into_owned();
    let body = format!("Hello from {me} over I2P!\nYou asked for: {request_line}\n");
    let response = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(response.as_bytes()).await?;
    stream.flush().await?;
    // Closing right away is fine: the bridge sends what it has read before the close.
    Ok(request_line)
}
