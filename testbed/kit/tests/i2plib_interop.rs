//! Interop with the original Python SAM client, i2plib 0.0.14 (issue #6 item 4): an i2plib peer
//! (`testbed/i2plib_peer.py`) connects to a sam-tokio listener, and sam-tokio connects to an
//! i2plib listener; 64 KiB go each way and come back, checked by sha256 on both sides.
//!
//! i2plib has no datagram API (only `create_session(style="DATAGRAM")`, nothing that sends or
//! receives one), so there are no datagram tests here: see the peer script's docstring.
//!
//! Needs a running bridge and the i2plib venv:
//!
//! ```text
//! testbed/testbed.sh start .testbed/x 17626 --bridge i2pd-2.59
//! SAM_ADDR=127.0.0.1:17626 \
//! SAM_SESSION_OPTIONS="$(sed -n 's/^SAM_SESSION_OPTIONS="\(.*\)"/\1/p' .testbed/x/env)" \
//! SAM_I2PLIB_PYTHON="$(testbed/install-i2plib.sh | tail -n1)" \
//!     cargo test -p sam-testkit --test i2plib_interop
//! ```
//!
//! `SAM_SESSION_OPTIONS` (space-separated `k=v`, empty = the bridge's defaults) goes to the
//! sam-tokio sessions and to the i2plib ones alike. Each passing test records a row of the
//! interop matrix (`SAM_MATRIX_DIR`, see `sam_testkit::matrix`).

use sam_testkit::data::xorshift_bytes;
use sam_testkit::matrix;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sam_tokio::{
    Error, PrivateKeys, Sam, SamConfig, Session, SessionOptions, SigType, Stream, Style,
};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStdout, Command};
use tokio::task::JoinHandle;
use tokio::time::timeout;

const ADAPTER: &str = "sam-tokio";
/// Bytes echoed in each direction.
const LEN: usize = 64 * 1024;
/// The peer's own limit (it exits 2 after this); ours are a little longer, so that a hung peer
/// is reported with its own message.
const PEER_TIMEOUT_SECS: u64 = 150;
/// SESSION CREATE: 20 s on i2pd 2.45.1, 3–15 s on 2.59, plus a margin.
const SESSION_TIMEOUT: Duration = Duration::from_secs(90);
/// Everything after the sessions exist (connect, 64 KiB both ways).
const EXCHANGE_TIMEOUT: Duration = Duration::from_secs(90);
/// The whole test, whatever happens.
const TEST_TIMEOUT: Duration = Duration::from_secs(PEER_TIMEOUT_SECS + 20);

fn config() -> SamConfig {
    if std::env::var_os(sam_tokio::ENV_ADDR).is_none() {
        panic!(
            "SAM_ADDR is not set: these tests need a running SAM bridge. Start one with \
             `testbed/testbed.sh start DIR PORT` and set SAM_ADDR=127.0.0.1:PORT (and \
             SAM_SESSION_OPTIONS from DIR/env)"
        );
    }
    let mut config = SamConfig::from_env();
    config.session_timeout = SESSION_TIMEOUT;
    config.stream_timeout = Duration::from_secs(30);
    config
}

fn python() -> PathBuf {
    match std::env::var_os("SAM_I2PLIB_PYTHON") {
        Some(path) if !path.is_empty() => PathBuf::from(path),
        _ => panic!(
            "SAM_I2PLIB_PYTHON is not set: it is the python of the i2plib venv. Install it with \
             `testbed/install-i2plib.sh` (prints the path on its last line) and run with \
             SAM_I2PLIB_PYTHON=\"$(testbed/install-i2plib.sh | tail -n1)\""
        ),
    }
}

/// `SAM_SESSION_OPTIONS` as it is (the peer reads the same variable).
fn options_text() -> String {
    std::env::var("SAM_SESSION_OPTIONS").unwrap_or_default()
}

fn session_options() -> SessionOptions {
    let text = options_text();
    SessionOptions::new(Style::Stream)
        .option_words(&text)
        .unwrap_or_else(|e| panic!("SAM_SESSION_OPTIONS {text:?}: {e}"))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Creates our session, or `None` (recorded as not offered) when the bridge refuses it with a
/// typed answer. With `keys`, the session uses them (else a transient destination).
async fn our_session(feature: &str, keys: Option<PrivateKeys>) -> Option<Session> {
    let sam = Sam::new(config());
    let mut options = session_options();
    if let Some(keys) = keys {
        options = options.with_keys(keys);
    }
    match timeout(
        SESSION_TIMEOUT + Duration::from_secs(5),
        sam.session(options),
    )
    .await
    {
        Err(_) => panic!("sam-tokio SESSION CREATE did not finish in {SESSION_TIMEOUT:?}"),
        Ok(Ok(session)) => Some(session),
        Ok(Err(e @ (Error::Refused { .. } | Error::NeedsVersion { .. }))) => {
            matrix::not_offered(ADAPTER, feature, e.to_string());
            None
        }
        Ok(Err(e)) => panic!("sam-tokio SESSION CREATE failed: {e}"),
    }
}

/// The running `i2plib_peer.py`: its stdout lines, its stderr collected for failure messages.
struct Peer {
    child: Child,
    stdout: Lines<BufReader<ChildStdout>>,
    stderr: Arc<Mutex<String>>,
    stderr_task: Option<JoinHandle<()>>,
}

impl Peer {
    fn spawn(args: &[&str]) -> Peer {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../i2plib_peer.py");
        let python = python();
        let mut child = Command::new(&python)
            .arg(script)
            .args(args)
            .env("SAM_ADDR", config().address)
            .env("SAM_SESSION_OPTIONS", options_text())
            .env("I2PLIB_PEER_TIMEOUT", PEER_TIMEOUT_SECS.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", python.display()));
        let stdout = BufReader::new(child.stdout.take().expect("piped stdout")).lines();
        let mut stderr_lines = BufReader::new(child.stderr.take().expect("piped stderr")).lines();
        let stderr = Arc::new(Mutex::new(String::new()));
        let collected = stderr.clone();
        let stderr_task = tokio::spawn(async move {
            while let Ok(Some(line)) = stderr_lines.next_line().await {
                let mut text = collected.lock().unwrap();
                text.push_str(&line);
                text.push('\n');
            }
        });
        Peer {
            child,
            stdout,
            stderr,
            stderr_task: Some(stderr_task),
        }
    }

    /// Panics with `msg` and everything the peer wrote to stderr (killed first if still
    /// running, so its stderr is complete).
    async fn fail(&mut self, msg: impl std::fmt::Display) -> ! {
        let _ = self.child.start_kill();
        let status = timeout(Duration::from_secs(5), self.child.wait()).await;
        if let Some(task) = self.stderr_task.take() {
            let _ = timeout(Duration::from_secs(5), task).await;
        }
        let stderr = self.stderr.lock().unwrap().clone();
        panic!("{msg}\ni2plib peer exit: {status:?}\ni2plib peer stderr:\n{stderr}");
    }

    /// The next stdout line, which must start with `tag `; returns the rest.
    async fn expect(&mut self, tag: &str, within: Duration) -> String {
        match timeout(within, self.stdout.next_line()).await {
            Err(_) => {
                self.fail(format!(
                    "no {tag} line from the i2plib peer within {within:?}"
                ))
                .await
            }
            Ok(Err(e)) => {
                self.fail(format!("reading the i2plib peer's stdout: {e}"))
                    .await
            }
            Ok(Ok(None)) => {
                self.fail(format!("the i2plib peer exited before its {tag} line"))
                    .await
            }
            Ok(Ok(Some(line))) => match line.strip_prefix(tag).and_then(|r| r.strip_prefix(' ')) {
                Some(rest) => rest.to_owned(),
                None => {
                    self.fail(format!(
                        "expected a {tag} line from the i2plib peer, got {line:?}"
                    ))
                    .await
                }
            },
        }
    }

    /// `OK <sha256> <n>` must name `hash` and [`LEN`].
    async fn expect_ok(&mut self, hash: &str, within: Duration) {
        let ok = self.expect("OK", within).await;
        if ok != format!("{hash} {LEN}") {
            self.fail(format!(
                "the i2plib peer saw other bytes: OK {ok}, expected OK {hash} {LEN}"
            ))
            .await;
        }
    }

    /// Waits for exit 0; returns the peer's stderr (for `--nocapture` runs).
    async fn finish(&mut self) -> String {
        match timeout(Duration::from_secs(40), self.child.wait()).await {
            Ok(Ok(status)) if status.success() => {}
            Ok(Ok(status)) => {
                self.fail(format!("the i2plib peer exited with {status}"))
                    .await
            }
            Ok(Err(e)) => self.fail(format!("waiting for the i2plib peer: {e}")).await,
            Err(_) => {
                self.fail("the i2plib peer did not exit after its OK line")
                    .await
            }
        }
        if let Some(task) = self.stderr_task.take() {
            let _ = timeout(Duration::from_secs(5), task).await;
        }
        self.stderr.lock().unwrap().clone()
    }
}

/// Reads [`LEN`] bytes from `stream` and writes them back; returns their sha256 and the
/// stream, which the caller keeps open until the peer says it has the echo (closing it earlier
/// could cut the echo short inside the bridge).
///
/// It does not wait for the peer to close: whether a close reaches us is the bridges' business
/// (on i2pd 2.59 a stream whose peer closed and then ended its session at once was seen to stay
/// open here for more than 90 s).
async fn echo(stream: Stream) -> std::io::Result<(String, Stream)> {
    let mut stream = stream;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 16 * 1024];
    let mut total = 0;
    while total < LEN {
        let n = stream
            .read(&mut buf[..(LEN - total).min(16 * 1024)])
            .await?;
        if n == 0 {
            return Err(std::io::Error::other(format!(
                "EOF after {total} of {LEN} bytes"
            )));
        }
        hasher.update(&buf[..n]);
        stream.write_all(&buf[..n]).await?;
        total += n;
    }
    stream.flush().await?;
    Ok((hex(&hasher.finalize()), stream))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn i2plib_connects_to_a_sam_tokio_listener() {
    const FEATURE: &str = "i2plib → sam-tokio stream (64 KiB echo)";
    timeout(TEST_TIMEOUT, async {
        python(); // before anything else: a missing venv is not a bridge problem
        let started = Instant::now();
        // Our keys first (DEST GENERATE answers at once), so that the peer can be started with
        // our destination while both sessions are created at once (each takes 20 s on i2pd
        // 2.45.1). The peer retries its connect until our LeaseSet is there.
        let sam = Sam::new(config());
        let keys = match timeout(
            Duration::from_secs(30),
            sam.generate_destination(SigType::Ed25519),
        )
        .await
        {
            Err(_) => panic!("DEST GENERATE did not answer within 30 s"),
            Ok(Err(e)) => panic!("DEST GENERATE failed: {e}"),
            Ok(Ok(keys)) => keys,
        };
        let ours = keys.destination().to_base64();
        let mut peer = Peer::spawn(&["connect", &ours, &LEN.to_string()]);
        let Some(session) = our_session(FEATURE, Some(keys)).await else {
            return;
        };
        let session_time = started.elapsed();
        let acceptor = session.clone();
        let accepting = tokio::spawn(async move { acceptor.accept().await });
        let peer_dest = peer.expect("DEST", SESSION_TIMEOUT).await;
        let peer_ready = started.elapsed();

        let incoming = match timeout(EXCHANGE_TIMEOUT, accepting).await {
            Err(_) => {
                peer.fail(format!("no stream accepted within {EXCHANGE_TIMEOUT:?}"))
                    .await
            }
            Ok(Err(e)) => peer.fail(format!("the accept task failed: {e}")).await,
            Ok(Ok(Err(e))) => peer.fail(format!("sam-tokio accept failed: {e}")).await,
            Ok(Ok(Ok(incoming))) => incoming,
        };
        let connected = started.elapsed();
        let peer_seen = incoming.peer.as_ref().map(|d| d.to_base64());
        if peer_seen.as_deref() != Some(peer_dest.as_str()) {
            peer.fail(format!(
                "the accept line names {peer_seen:?}, not the i2plib peer's destination {peer_dest}"
            ))
            .await;
        }
        let echoing = tokio::spawn(echo(incoming.stream));
        let (hash, stream) = match timeout(EXCHANGE_TIMEOUT, echoing).await {
            Err(_) => {
                peer.fail(format!(
                    "the echo did not finish within {EXCHANGE_TIMEOUT:?}"
                ))
                .await
            }
            Ok(Err(e)) => peer.fail(format!("the echo task failed: {e}")).await,
            Ok(Ok(Err(e))) => peer.fail(format!("sam-tokio echo failed: {e}")).await,
            Ok(Ok(Ok(done))) => done,
        };
        peer.expect_ok(&hash, Duration::from_secs(30)).await;
        drop(stream);
        let stderr = peer.finish().await;
        let total = started.elapsed();
        eprint!("{stderr}");
        eprintln!(
            "{FEATURE}: sam-tokio session {session_time:.1?}, i2plib session at {peer_ready:.1?}, \
             accepted at {connected:.1?}, echoed at {total:.1?}; sha256 {hash}"
        );
        session.close().await;
        matrix::pass(
            ADAPTER,
            FEATURE,
            format!(
                "i2plib 0.0.14 connected by base64; {LEN} B echoed, sha256 equal on both sides; \
                 accept→echo {:.1?}, whole test {total:.1?}",
                total - connected
            ),
        );
    })
    .await
    .unwrap_or_else(|_| panic!("the test did not finish within {TEST_TIMEOUT:?}"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sam_tokio_connects_to_an_i2plib_listener() {
    const FEATURE: &str = "i2plib listener ← sam-tokio stream (64 KiB echo)";
    timeout(TEST_TIMEOUT, async {
        python(); // before anything else: a missing venv is not a bridge problem
        let started = Instant::now();
        // Both sessions are created at once (each takes 20 s on i2pd 2.45.1).
        let mut peer = Peer::spawn(&["accept", &LEN.to_string()]);
        let Some(session) = our_session(FEATURE, None).await else {
            return;
        };
        let session_time = started.elapsed();
        let peer_dest = peer.expect("DEST", SESSION_TIMEOUT).await;
        let peer_ready = started.elapsed();

        // A fresh LeaseSet may not be found at once: retry what says "not there (yet)".
        let deadline = Instant::now() + EXCHANGE_TIMEOUT;
        let mut attempts = 0;
        let stream = loop {
            attempts += 1;
            let left = deadline.saturating_duration_since(Instant::now());
            match timeout(left, session.connect(&peer_dest)).await {
                Err(_) => {
                    peer.fail(format!("no connect within {EXCHANGE_TIMEOUT:?}"))
                        .await
                }
                Ok(Ok(stream)) => break stream,
                Ok(Err(Error::Refused {
                    result, message, ..
                })) if Instant::now() < deadline => {
                    eprintln!("connect attempt {attempts}: {result} {message:?}; retrying");
                    tokio::time::sleep(Duration::from_secs(attempts.min(5))).await;
                }
                Ok(Err(e)) => peer.fail(format!("sam-tokio connect failed: {e}")).await,
            }
        };
        let connected = started.elapsed();

        let data = xorshift_bytes(LEN, 0x0012_b11b ^ u64::from(std::process::id()));
        let sent_hash = hex(&Sha256::digest(&data));
        let (mut reader, mut writer) = stream.into_split();
        let writing = tokio::spawn(async move {
            writer.write_all(&data).await?;
            writer.flush().await?;
            Ok::<_, std::io::Error>((writer, data))
        });
        let mut back = vec![0u8; LEN];
        match timeout(EXCHANGE_TIMEOUT, reader.read_exact(&mut back)).await {
            Err(_) => {
                let msg = format!("no {LEN}-byte echo within {EXCHANGE_TIMEOUT:?}");
                peer.fail(msg).await
            }
            Ok(Err(e)) => peer.fail(format!("reading the echo failed: {e}")).await,
            Ok(Ok(_)) => {}
        }
        let (writer, data) = match writing.await {
            Ok(Ok(done)) => done,
            Ok(Err(e)) => peer.fail(format!("sam-tokio write failed: {e}")).await,
            Err(e) => peer.fail(format!("the write task failed: {e}")).await,
        };
        if back != data {
            let at = back.iter().zip(&data).position(|(a, b)| a != b);
            peer.fail(format!(
                "the echo differs from what was sent, first at byte {at:?}"
            ))
            .await;
        }
        let echoed = started.elapsed();

        let peer_seen = peer.expect("PEER", Duration::from_secs(10)).await;
        if peer_seen != session.destination().to_base64() {
            peer.fail(format!(
                "i2plib saw the stream come from {peer_seen}, not from our destination"
            ))
            .await;
        }
        peer.expect_ok(&sent_hash, Duration::from_secs(10)).await;
        // Closing our end lets the peer's wait for EOF finish.
        drop((reader, writer));
        let stderr = peer.finish().await;
        eprint!("{stderr}");
        eprintln!(
            "{FEATURE}: sam-tokio session {session_time:.1?}, i2plib session at {peer_ready:.1?}, \
             connected at {connected:.1?} ({attempts} attempt(s)), echoed at {echoed:.1?}; \
             sha256 {sent_hash}"
        );
        session.close().await;
        matrix::pass(
            ADAPTER,
            FEATURE,
            format!(
                "connected to i2plib 0.0.14 by base64 ({attempts} attempt(s)); {LEN} B echoed, \
                 sha256 equal on both sides; connect→echo {:.1?}, whole test {echoed:.1?}",
                echoed - peer_ready.max(session_time)
            ),
        );
    })
    .await
    .unwrap_or_else(|_| panic!("the test did not finish within {TEST_TIMEOUT:?}"));
}
