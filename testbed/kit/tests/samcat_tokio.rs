//! sam-tokio's `samcat` binary (the code `cargo install sam-tokio --features cli` ships, built
//! here as the kit's `samcat`) against a real SAM bridge, as child processes: HTTP through a
//! client and a server tunnel (curl and Python's http.server), datagrams both ways,
//! `listen -k`, `listen -k --keys` across a router restart (on a private i2pd 2.59 testbed of
//! its own), and the usage text without arguments.
//!
//! The tests need `SAM_ADDR` (the testbed: `./scripts/test.sh`, or `testbed/testbed.sh start
//! DIR PORT`); the sessions take `SAM_TUNNEL_OPTIONS`, else `SAM_SESSION_OPTIONS`, else the
//! testbed's zero-hop options. They need `curl` and `python3` on the PATH
//! (`scripts/ensure-tools.sh`). Run with `-- --nocapture` to see the children's stderr and the
//! figures.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, Command};
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver};

const SAMCAT: &str = env!("CARGO_BIN_EXE_samcat-kit");

/// Session creation takes about 20 s on i2pd 2.45; a stream's first connect may look up a
/// lease set first.
const READY: Duration = Duration::from_secs(120);

fn require_bridge() {
    if std::env::var_os("SAM_ADDR").is_none() {
        panic!(
            "SAM_ADDR is not set: these tests need a running SAM bridge. Run ./scripts/test.sh, \
             or start the testbed with `testbed/testbed.sh start DIR PORT` and set \
             SAM_ADDR=127.0.0.1:PORT SAM_UDP_ADDR=127.0.0.1:PORT-1"
        );
    }
}

/// The tunnel options for samcat's sessions (see the module docs).
fn tunnel_options() -> String {
    std::env::var("SAM_TUNNEL_OPTIONS")
        .or_else(|_| std::env::var("SAM_SESSION_OPTIONS"))
        .unwrap_or_else(|_| {
            "inbound.length=0 outbound.length=0 inbound.quantity=1 outbound.quantity=1".to_owned()
        })
}

/// A running samcat (or other child), its stdout and stderr lines on channels (and echoed to
/// the test's stderr with the child's name).
struct Proc {
    name: String,
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: UnboundedReceiver<String>,
    stderr: UnboundedReceiver<String>,
}

fn spawn(name: &str, program: &str, args: &[&str]) -> Proc {
    spawn_with_options(name, program, args, &tunnel_options())
}

/// [`spawn`] with `SAM_TUNNEL_OPTIONS` = `options`.
fn spawn_with_options(name: &str, program: &str, args: &[&str], options: &str) -> Proc {
    let mut child = Command::new(program)
        .args(args)
        .env("SAM_TUNNEL_OPTIONS", options)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| panic!("starting {name} ({program}): {e}"));
    let lines = |reader: Option<Box<dyn tokio::io::AsyncRead + Send + Unpin>>, what: &str| {
        let (tx, rx) = unbounded_channel();
        let label = format!("[{name} {what}]");
        let reader = reader.expect("piped");
        tokio::spawn(async move {
            let mut lines = BufReader::new(reader).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                eprintln!("{label} {line}");
                let _ = tx.send(line);
            }
        });
        rx
    };
    let stdout = lines(
        child
            .stdout
            .take()
            .map(|s| Box::new(s) as Box<dyn tokio::io::AsyncRead + Send + Unpin>),
        "stdout",
    );
    let stderr = lines(
        child
            .stderr
            .take()
            .map(|s| Box::new(s) as Box<dyn tokio::io::AsyncRead + Send + Unpin>),
        "stderr",
    );
    Proc {
        name: name.to_owned(),
        stdin: child.stdin.take(),
        child,
        stdout,
        stderr,
    }
}

fn samcat(name: &str, args: &[&str]) -> Proc {
    spawn(name, SAMCAT, args)
}

/// The next line of `lines` that `wanted` accepts (what it returns), within `limit`.
async fn line_where<T>(
    lines: &mut UnboundedReceiver<String>,
    limit: Duration,
    what: &str,
    mut wanted: impl FnMut(&str) -> Option<T>,
) -> T {
    let found = tokio::time::timeout(limit, async {
        while let Some(line) = lines.recv().await {
            if let Some(found) = wanted(&line) {
                return Some(found);
            }
        }
        None
    })
    .await;
    match found {
        Ok(Some(found)) => found,
        Ok(None) => panic!("{what}: the output ended first"),
        Err(_) => panic!("{what}: not within {limit:?}"),
    }
}

/// The first `….b32.i2p` word of `line` after `prefix`, if `line` starts with it.
fn b32_after(line: &str, prefix: &str) -> Option<String> {
    let rest = line.strip_prefix(prefix)?;
    rest.split_whitespace()
        .map(|w| w.trim_end_matches([';', ',']))
        .find(|w| w.ends_with(".b32.i2p"))
        .map(str::to_owned)
}

impl Proc {
    /// The b32 address in the stderr line starting with `prefix`.
    async fn address(&mut self, prefix: &str) -> String {
        let what = format!("{}: a line {prefix:?} on stderr", self.name);
        line_where(&mut self.stderr, READY, &what, |l| b32_after(l, prefix)).await
    }

    async fn write(&mut self, text: &str) {
        let stdin = self.stdin.as_mut().expect("stdin open");
        stdin.write_all(text.as_bytes()).await.expect("write stdin");
        stdin.flush().await.expect("flush stdin");
    }

    fn pid(&self) -> u32 {
        self.child.id().expect("the child runs")
    }

    /// Sends SIGTERM (with kill(1): no libc here) and waits for the exit status.
    async fn terminate(&mut self, limit: Duration) -> std::process::ExitStatus {
        let status = Command::new("kill")
            .args(["-TERM", &self.pid().to_string()])
            .status()
            .await
            .expect("kill -TERM");
        assert!(status.success(), "kill -TERM {}", self.name);
        tokio::time::timeout(limit, self.child.wait())
            .await
            .unwrap_or_else(|_| panic!("{} did not exit within {limit:?}", self.name))
            .expect("wait")
    }
}

/// A fresh directory under the system's temporary directory.
fn temp_dir(what: &str) -> PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    let dir = std::env::temp_dir().join(format!("samcat-{what}-{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// `len` pseudo-random bytes (xorshift; incompressible enough for a transfer test).
fn random_bytes(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed | 1;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        out.extend_from_slice(&state.to_le_bytes());
    }
    out.truncate(len);
    out
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A TCP port free right now on 127.0.0.1.
fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    listener.local_addr().expect("local_addr").port()
}

/// Waits until something accepts TCP connections on `port` (the readiness of a child server).
async fn until_listening(port: u16, what: &str) {
    let started = Instant::now();
    loop {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "{what} does not listen on 127.0.0.1:{port}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// `python3 -m http.server` serving `dir` on 127.0.0.1 (a free port), once it listens.
async fn http_server(name: &str, dir: &Path) -> (Proc, u16) {
    let port = free_port();
    let (port_text, dir_text) = (port.to_string(), dir.to_string_lossy().into_owned());
    let web = spawn(
        name,
        "python3",
        &[
            "-m",
            "http.server",
            "--bind",
            "127.0.0.1",
            "--directory",
            &dir_text,
            &port_text,
        ],
    );
    until_listening(port, name).await;
    (web, port)
}

/// A server tunnel to `target` and a client tunnel (on a free local port, with `client_args`)
/// to it: (server, client, the client's local address, the server's first line, with its b32
/// address).
async fn tunnel_pair(
    name: &str,
    target: &str,
    server_args: &[&str],
    client_args: &[&str],
) -> (Proc, Proc, String, String) {
    let mut args = vec!["tunnel", "server", target];
    args.extend_from_slice(server_args);
    let mut server = samcat(&format!("{name} server"), &args);
    let prefix = "samcat: tunnel server at ";
    let ready = line_where(
        &mut server.stderr,
        READY,
        "tunnel server: its address",
        |l| l.starts_with(prefix).then(|| l.to_owned()),
    )
    .await;
    let address = b32_after(&ready, prefix).expect("a b32 address");
    let mut args = vec!["tunnel", "client", "127.0.0.1:0", &address];
    args.extend_from_slice(client_args);
    let mut client = samcat(&format!("{name} client"), &args);
    let local = line_where(
        &mut client.stderr,
        READY,
        "tunnel client: its listening address",
        |l| {
            let rest = l.strip_prefix("samcat: tunnel client on ")?;
            rest.split_whitespace().next().map(str::to_owned)
        },
    )
    .await;
    (server, client, local, ready)
}

/// `curl` of `url` into `out`: `Ok(())`, or why it failed (exit status and stderr).
async fn curl(url: &str, out: &Path) -> Result<(), String> {
    let output = Command::new("curl")
        .args(["-sS", "--max-time", "180", "-o"])
        .arg(out)
        .arg(url)
        .stdin(Stdio::null())
        .output()
        .await
        .map_err(|e| format!("cannot run curl: {e} (scripts/ensure-tools.sh installs it)"))?;
    match output.status.success() {
        true => Ok(()),
        false => Err(format!(
            "curl {}: {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        )),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn no_arguments_print_the_usage_and_exit_with_status_2() {
    let output = Command::new(SAMCAT)
        .stdin(Stdio::null())
        .output()
        .await
        .expect("run samcat");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "stderr: {stderr}");
    assert!(stderr.contains("Usage: samcat"), "stderr: {stderr}");
    for command in ["listen", "connect", "tunnel", "keygen", "lookup"] {
        assert!(stderr.contains(command), "{command} in: {stderr}");
    }
    assert!(!stderr.contains("error"), "no error line: {stderr}");
    assert!(output.stdout.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn tunnels_carry_1mib_with_its_sha256_and_50_concurrent_curls_then_stop_on_sigterm() {
    require_bridge();
    let site = temp_dir("site");
    let big = random_bytes(1 << 20, 0x5eed_1234);
    std::fs::write(site.join("big.bin"), &big).expect("write big.bin");
    let small = random_bytes(16 << 10, 0x0bad_cafe);
    std::fs::write(site.join("small.bin"), &small).expect("write small.bin");

    let (_web, web_port) = http_server("http.server", &site).await;
    let keys = site.join("server.keys");
    let target = format!("127.0.0.1:{web_port}");
    let keys_text = keys.to_string_lossy().into_owned();
    let (mut server, mut client, local, _) =
        tunnel_pair("tunnel", &target, &["--keys", &keys_text], &[]).await;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&keys)
            .expect("keys written")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "the key file is private");
    }

    // 1 MiB through both tunnels, checked by its SHA-256.
    let out = site.join("got-big.bin");
    let started = Instant::now();
    curl(&format!("http://{local}/big.bin"), &out)
        .await
        .unwrap_or_else(|e| panic!("1 MiB through the tunnels: {e}"));
    let took = started.elapsed();
    let got = std::fs::read(&out).expect("read the download");
    assert_eq!(got.len(), big.len(), "1 MiB: length");
    assert_eq!(sha256_hex(&got), sha256_hex(&big), "1 MiB: SHA-256");
    eprintln!(
        "figures: 1 MiB through samcat tunnels, SHA-256 equal, in {:.2} s ({:.0} KiB/s)",
        took.as_secs_f64(),
        1024.0 / took.as_secs_f64()
    );

    // 50 concurrent requests through the same tunnels.
    const REQUESTS: usize = 50;
    let started = Instant::now();
    let mut requests = tokio::task::JoinSet::new();
    for i in 0..REQUESTS {
        let (url, out) = (
            format!("http://{local}/small.bin"),
            site.join(format!("small-{i}.bin")),
        );
        let expected = sha256_hex(&small);
        requests.spawn(async move {
            let fetched = curl(&url, &out).await;
            let outcome = fetched.and_then(|()| {
                let got = std::fs::read(&out).map_err(|e| format!("reading: {e}"))?;
                match sha256_hex(&got) == expected {
                    true => Ok(()),
                    false => Err(format!("wrong body ({} bytes)", got.len())),
                }
            });
            (i, outcome, started.elapsed())
        });
    }
    let mut failures = Vec::new();
    let mut slowest = Duration::ZERO;
    while let Some(joined) = requests.join_next().await {
        let (i, outcome, at) = joined.expect("a request task");
        slowest = slowest.max(at);
        if let Err(why) = outcome {
            failures.push(format!("#{i}: {why}"));
        }
    }
    let wall = started.elapsed();
    eprintln!(
        "figures: {REQUESTS} concurrent curls of 16 KiB: {} completed, {} failed, wall time \
         {:.2} s (slowest {:.2} s)",
        REQUESTS - failures.len(),
        failures.len(),
        wall.as_secs_f64(),
        slowest.as_secs_f64()
    );
    for failure in &failures {
        eprintln!("figures: failed {failure}");
    }
    assert!(
        failures.is_empty(),
        "{} of {REQUESTS} concurrent requests failed: {failures:?}",
        failures.len()
    );

    // SIGTERM: a clean shutdown (no connection is open any more), status 0.
    for tunnel in [&mut client, &mut server] {
        let status = tunnel.terminate(Duration::from_secs(30)).await;
        assert!(status.success(), "{} after SIGTERM: {status}", tunnel.name);
        line_where(
            &mut tunnel.stderr,
            Duration::from_secs(5),
            "the tunnel's last line",
            |l| (l == "samcat: tunnel stopped").then_some(()),
        )
        .await;
    }
    let _ = std::fs::remove_dir_all(&site);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_client_tunnel_at_its_limit_waits_for_a_connection_to_end_and_sigterm_cuts_after_grace() {
    require_bridge();
    let site = temp_dir("limit");
    let (_web, web_port) = http_server("http.server (limit)", &site).await;
    let target = format!("127.0.0.1:{web_port}");
    let client_args = ["--limit", "2", "--grace", "1"];
    let (_server, mut client, local, _) = tunnel_pair("limit", &target, &[], &client_args).await;

    // Three idle connections (the kernel's backlog takes the third).
    let mut held = Vec::new();
    for _ in 0..3 {
        held.push(Some(
            tokio::net::TcpStream::connect(&local)
                .await
                .expect("connect to the client tunnel"),
        ));
    }
    let opened = |id: u32| {
        move |l: &str| l.starts_with(&format!("samcat: #{id} ")) && l.ends_with(" opened")
    };
    // #1 and #2 open and the limit is reached (the accept loop says so as soon as it holds
    // two connections, maybe before they are opened on the I2P side), in any order.
    let limit = "samcat: 2 connections open (the limit): waiting for one to end";
    let mut seen = [false; 3];
    line_where(
        &mut client.stderr,
        READY,
        "#1, #2 opened and the limit",
        |l| {
            assert!(
                !opened(3)(l),
                "#3 opened while 2 connections were open: {l}"
            );
            seen[0] |= opened(1)(l);
            seen[1] |= opened(2)(l);
            seen[2] |= l == limit;
            (seen == [true; 3]).then_some(())
        },
    )
    .await;
    // The third is served only once the first has ended.
    drop(held[0].take());
    line_where(&mut client.stderr, READY, "#1 closed", |l| {
        assert!(
            !opened(3)(l),
            "#3 opened while 2 connections were open: {l}"
        );
        (l.starts_with("samcat: #1 ") && l.contains(" closed: ")).then_some(())
    })
    .await;
    line_where(&mut client.stderr, READY, "#3 opened", |l| {
        opened(3)(l).then_some(())
    })
    .await;

    // SIGTERM with two idle connections open: cut after --grace 1.
    let started = Instant::now();
    let status = client.terminate(Duration::from_secs(30)).await;
    assert!(status.success(), "client tunnel after SIGTERM: {status}");
    let mut lines = Vec::new();
    line_where(
        &mut client.stderr,
        Duration::from_secs(5),
        "the last line",
        |l| {
            lines.push(l.to_owned());
            l.starts_with("samcat: tunnel stopped").then_some(())
        },
    )
    .await;
    let took = started.elapsed();
    assert!(
        lines.contains(
            &"samcat: shutting down: 2 connection(s) open, waiting up to 1.000 s".to_owned()
        ),
        "{lines:?}"
    );
    assert_eq!(
        lines.last().map(String::as_str),
        Some("samcat: tunnel stopped (2 connection(s) cut at the end of the grace period)")
    );
    assert!(
        took >= Duration::from_secs(1),
        "the grace period was given: {took:?}"
    );
    let _ = std::fs::remove_dir_all(&site);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_silent_server_tunnel_serves_http_with_no_process_in_between() {
    require_bridge();
    let site = temp_dir("silent");
    let page = random_bytes(64 << 10, 0x51_1e47);
    std::fs::write(site.join("page.bin"), &page).expect("write page.bin");
    let (_web, web_port) = http_server("http.server (silent)", &site).await;
    let target = format!("127.0.0.1:{web_port}");
    let (mut server, _client, local, ready) =
        tunnel_pair("silent", &target, &["--silent"], &[]).await;
    assert!(ready.contains("no per-connection log"), "{ready}");
    let out = site.join("got-page.bin");
    curl(&format!("http://{local}/page.bin"), &out)
        .await
        .unwrap_or_else(|e| panic!("64 KiB through a silent server tunnel: {e}"));
    let got = std::fs::read(&out).expect("read the download");
    assert_eq!(sha256_hex(&got), sha256_hex(&page), "64 KiB: SHA-256");
    let status = server.terminate(Duration::from_secs(30)).await;
    assert!(status.success(), "silent server after SIGTERM: {status}");
    let mut lines = Vec::new();
    line_where(
        &mut server.stderr,
        Duration::from_secs(5),
        "the silent server's last line",
        |l| {
            lines.push(l.to_owned());
            (l == "samcat: tunnel stopped").then_some(())
        },
    )
    .await;
    assert!(
        lines.iter().all(|l| !l.ends_with(" opened")),
        "no per-connection line from a silent server: {lines:?}"
    );
    let _ = std::fs::remove_dir_all(&site);
}

#[tokio::test(flavor = "multi_thread")]
async fn datagrams_go_both_ways_between_listen_u_and_connect_u() {
    require_bridge();
    let mut listener = samcat("listen -u", &["listen", "-u"]);
    let address = listener.address("samcat: listening on ").await;
    let mut connector = samcat("connect -u", &["connect", "-u", &address]);
    let sender = connector.address("samcat: we are ").await;

    // Datagrams may be lost (the first ones while lease sets are looked up): a line is sent
    // again every 2 s until it arrives.
    async fn deliver(from: &mut Proc, to: &mut UnboundedReceiver<String>, text: &str) {
        let deadline = Instant::now() + READY;
        loop {
            from.write(&format!("{text}\n")).await;
            let wait = tokio::time::timeout(Duration::from_secs(2), async {
                while let Some(line) = to.recv().await {
                    if line == text {
                        return true;
                    }
                }
                false
            });
            match wait.await {
                Ok(true) => return,
                Ok(false) => panic!("{text:?}: the receiver's stdout ended"),
                Err(_) => assert!(Instant::now() < deadline, "{text:?} never arrived"),
            }
        }
    }
    deliver(&mut connector, &mut listener.stdout, "ping from connect -u").await;
    line_where(
        &mut listener.stderr,
        Duration::from_secs(5),
        "listen -u names the sender",
        |l| (l == format!("samcat: datagram from {sender}")).then_some(()),
    )
    .await;
    deliver(&mut listener, &mut connector.stdout, "pong from listen -u").await;
    line_where(
        &mut connector.stderr,
        Duration::from_secs(5),
        "connect -u names the sender",
        |l| (l == format!("samcat: datagram from {address}")).then_some(()),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn listen_k_serves_three_connections_in_a_row() {
    require_bridge();
    let mut listener = samcat("listen -k", &["listen", "-k"]);
    let address = listener.address("samcat: listening on ").await;
    let mut clients = Vec::new();
    for i in 1..=3 {
        let text = format!("line {i} from client {i}");
        // -N: the end of stdin ends the stream (the bridge closes it), so that the listener
        // moves on to the next connection.
        let mut client = samcat(&format!("connect {i}"), &["connect", "-N", &address]);
        client.write(&format!("{text}\n")).await;
        drop(client.stdin.take());
        line_where(
            &mut listener.stdout,
            READY,
            &format!("listen -k prints client {i}'s line"),
            |l| (l == text).then_some(()),
        )
        .await;
        clients.push(client);
    }
    for i in 1..=3 {
        line_where(
            &mut listener.stderr,
            Duration::from_secs(5),
            &format!("listen -k names connection {i}'s peer"),
            |l| l.starts_with("samcat: connection from ").then_some(()),
        )
        .await;
    }
    for mut client in clients {
        let status = tokio::time::timeout(Duration::from_secs(60), client.child.wait())
            .await
            .unwrap_or_else(|_| panic!("{} did not end", client.name))
            .expect("wait");
        assert!(status.success(), "{}: {status}", client.name);
    }
    assert!(
        listener.child.try_wait().expect("try_wait").is_none(),
        "listen -k keeps listening"
    );
}

/// `samcat listen -k --keys FILE` is supervised: after `kill -9` of the SAM router and its
/// restart on the same port (a private i2pd 2.59 testbed), the same address is back and serves
/// the next connection.
#[tokio::test(flavor = "multi_thread")]
async fn listen_k_with_keys_comes_back_after_a_router_restart() {
    use sam_testkit::testbed::{check_privileges, PrivateTestbed};
    check_privileges("samcat_tokio").unwrap_or_else(|why| panic!("{why}"));
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("samcat-restart");
    let testbed = PrivateTestbed::new(dir, 17590, "i2pd-2.59");
    let (testbed, env) = tokio::task::spawn_blocking(move || {
        let env = testbed.start();
        (testbed, env)
    })
    .await
    .expect("testbed start");
    let sam = format!("127.0.0.1:{}", env.tcp_port);
    let options: Vec<String> = env
        .session_options
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    let options = options.join(" ");
    let run = |name: &str, args: &[&str]| {
        let mut all = vec!["--sam", sam.as_str()];
        all.extend_from_slice(args);
        spawn_with_options(name, SAMCAT, &all, &options)
    };
    let keys = temp_dir("restart").join("listener.keys");
    let keys = keys.to_str().expect("a UTF-8 path");
    let mut keygen = run("keygen", &["keygen", "--out", keys]);
    let status = keygen.child.wait().await.expect("keygen");
    assert!(status.success(), "keygen: {status}");

    let mut listener = run("listen -k", &["listen", "-k", "--keys", keys]);
    let address = listener.address("samcat: listening on ").await;
    // A connect right after a (re)start may find no lease set yet: tried again for a while.
    let say = async |text: &str, listener: &mut Proc| {
        let deadline = Instant::now() + READY;
        loop {
            let mut client = run("connect", &["connect", "-N", &address]);
            client.write(&format!("{text}\n")).await;
            drop(client.stdin.take());
            let status = client.child.wait().await.expect("connect");
            let printed = tokio::time::timeout(Duration::from_secs(10), async {
                while let Some(line) = listener.stdout.recv().await {
                    if line == text {
                        return true;
                    }
                }
                false
            })
            .await;
            if printed == Ok(true) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{text:?} never reached listen -k ({status})"
            );
        }
    };
    say("before the restart", &mut listener).await;
    let restarted = Instant::now();
    let testbed = tokio::task::spawn_blocking(move || {
        testbed.restart_sam();
        testbed
    })
    .await
    .expect("restart-sam");
    line_where(&mut listener.stderr, READY, "listen -k online again", |l| {
        (l == "samcat: session online").then_some(())
    })
    .await;
    say("after the restart", &mut listener).await;
    eprintln!(
        "samcat: listen -k --keys served again {:.1?} after kill -9 of the router",
        restarted.elapsed()
    );
    assert!(
        listener.child.try_wait().expect("try_wait").is_none(),
        "still listening"
    );
    drop(listener);
    tokio::task::spawn_blocking(move || drop(testbed))
        .await
        .expect("testbed stop");
}
