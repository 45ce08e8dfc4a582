//! A private testbed for tests that kill or freeze the router (reliability, recovery), which
//! therefore cannot use the shared one `./scripts/test.sh` starts: `testbed/testbed.sh start
//! DIR PORT --bridge NAME` on a port of the test's own, stopped when dropped.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// Root in the initial user namespace, or a private network namespace with only `lo` (where
/// testbed.sh runs the routers in our namespace): anything else cannot work. `test` names the
/// test binary for the message.
pub fn check_privileges(test: &str) -> Result<(), String> {
    let uid_map = std::fs::read_to_string("/proc/self/uid_map").unwrap_or_default();
    let euid = std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|ids| ids.split_whitespace().nth(1).map(str::to_owned));
    let real_root = euid.as_deref() == Some("0")
        && uid_map.split_whitespace().collect::<Vec<_>>() == ["0", "0", "4294967295"];
    // /proc/net/dev lists the interfaces of this process's network namespace.
    let interfaces: Vec<String> = std::fs::read_to_string("/proc/net/dev")
        .unwrap_or_default()
        .lines()
        .skip(2)
        .filter_map(|l| l.split(':').next().map(|n| n.trim().to_owned()))
        .collect();
    let private_netns = interfaces.iter().all(|i| i == "lo");
    if real_root || private_netns {
        Ok(())
    } else {
        Err(format!(
            "{test} starts a private testbed, which needs root (network namespace + veth) or a \
             private network namespace shared with this process. Run ./scripts/test.sh (it \
             re-runs itself inside `unshare -rn` when not root), or run this test as root, or \
             as: unshare -rn cargo test -p sam-testkit --test {test} (after `cargo fetch`; i2pd \
             installed by root with testbed/testbed.sh install). This process: euid {euid:?}, \
             network interfaces {interfaces:?}"
        ))
    }
}

/// The private testbed: started by [`PrivateTestbed::start`], stopped by
/// [`PrivateTestbed::stop`] and when dropped.
#[derive(Debug)]
pub struct PrivateTestbed {
    script: PathBuf,
    /// Where its configs and logs are.
    pub dir: PathBuf,
    /// Its SAM TCP port.
    pub port: u16,
    /// `i2pd-2.45`, `i2pd-2.59` or `emissary`.
    pub bridge: String,
}

/// What `testbed.sh start` wrote to DIR/env.
#[derive(Debug, Clone)]
pub struct TestbedEnv {
    /// The SAM router's process.
    pub r1_pid: u32,
    /// SAM TCP and UDP ports.
    pub tcp_port: u16,
    /// The UDP port.
    pub udp_port: u16,
    /// The tunnel options sessions need on this bridge (`SAM_SESSION_OPTIONS`).
    pub session_options: Vec<(String, String)>,
}

impl PrivateTestbed {
    /// A testbed of `bridge` in `dir` (a test's `CARGO_TARGET_TMPDIR`/NAME) on SAM port
    /// `port` (not started).
    pub fn new(dir: PathBuf, port: u16, bridge: &str) -> PrivateTestbed {
        // This crate is testbed/kit: the script is next to it.
        let testbed = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        PrivateTestbed {
            script: testbed.join("testbed.sh"),
            dir,
            port,
            bridge: bridge.to_owned(),
        }
    }

    /// Runs `testbed.sh ARGS` through bash with fd 9 closed (`./scripts/test.sh` holds its
    /// testbed lock there, and routers that inherited it would keep that lock).
    fn script(&self, args: &[&str]) -> Result<(), String> {
        let out = Command::new("bash")
            .arg("-c")
            .arg(r#"exec "$0" "$@" 9>&-"#)
            .arg(&self.script)
            .args(args)
            .output()
            .map_err(|e| format!("cannot run {}: {e}", self.script.display()))?;
        match out.status.success() {
            true => Ok(()),
            false => Err(format!(
                "testbed.sh {} failed ({}):\n{}{}",
                args.join(" "),
                out.status,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            )),
        }
    }

    /// `testbed.sh start DIR PORT --bridge NAME` (which first stops whatever an earlier run
    /// left in DIR).
    pub fn start(&self) -> TestbedEnv {
        let (dir, port) = (self.dir.display().to_string(), self.port.to_string());
        let args = ["start", &dir, &port, "--bridge", &self.bridge];
        self.script(&args).unwrap_or_else(|e| panic!("{e}"));
        self.env()
    }

    /// `kill -9` of the SAM router and the same router again (same port and keys): returns
    /// once it answers `HELLO`, and how long that took.
    pub fn restart_sam(&self) -> (TestbedEnv, Duration) {
        let started = Instant::now();
        let dir = self.dir.display().to_string();
        self.script(&["restart-sam", &dir])
            .unwrap_or_else(|e| panic!("{e}"));
        (self.env(), started.elapsed())
    }

    /// What DIR/env says now.
    pub fn env(&self) -> TestbedEnv {
        let env = std::fs::read_to_string(self.dir.join("env")).expect("DIR/env");
        let get = |key: &str| -> String {
            env.lines()
                .rev()
                .find_map(|l| l.strip_prefix(key)?.strip_prefix('='))
                .map(|v| v.trim_matches('"').to_owned())
                .unwrap_or_else(|| panic!("{key} missing from {}/env", self.dir.display()))
        };
        let parsed = TestbedEnv {
            r1_pid: get("R1_PID").parse().expect("R1_PID"),
            tcp_port: get("SAM_TCP_PORT").parse().expect("SAM_TCP_PORT"),
            udp_port: get("SAM_UDP_PORT").parse().expect("SAM_UDP_PORT"),
            session_options: get("SAM_SESSION_OPTIONS")
                .split_whitespace()
                .filter_map(|kv| kv.split_once('='))
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect(),
        };
        assert_eq!(parsed.tcp_port, self.port);
        parsed
    }

    /// `testbed.sh stop DIR` (a failure is printed, not raised: this also runs from `Drop`).
    pub fn stop(&self) {
        let dir = self.dir.display().to_string();
        if let Err(e) = self.script(&["stop", &dir]) {
            eprintln!("{e}");
        }
    }
}

impl Drop for PrivateTestbed {
    fn drop(&mut self) {
        self.stop();
    }
}

/// i2pd processes started from `dir` (`pgrep -f DIR`), as "pid cmdline" lines.
pub fn leftover_routers(dir: &Path) -> String {
    let out = Command::new("pgrep")
        .arg("-af")
        .arg(dir)
        .output()
        .expect("run pgrep");
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// Sends `signal` (`-9`, `-STOP`, `-CONT`) to `pid` with kill(1).
pub fn signal(pid: u32, signal: &str) {
    let status = Command::new("kill")
        .arg(signal)
        .arg(pid.to_string())
        .status()
        .expect("run kill");
    assert!(status.success(), "kill {signal} {pid}: {status}");
}
