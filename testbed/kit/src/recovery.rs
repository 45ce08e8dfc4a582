//! The recovery suite shared by every adapter, written once: a supervised acceptor (the
//! adapter's `Service`) under router restarts and a frozen router, on a private testbed of each
//! bridge named in `SAM_RECOVERY_BRIDGES` (default `i2pd-2.59`; `scripts/recovery.sh` runs
//! `i2pd-2.45 i2pd-2.59`). These tests kill and freeze the router, so they cannot share the
//! testbed of `./scripts/test.sh`; they need root or `unshare -rn`, as the reliability test.
//!
//! 1. **Restarts.** [`CYCLES`] times: `kill -9` of the SAM router and a restart on the same port
//!    (`testbed.sh restart-sam`). After each, a new client session connects to the service's
//!    unchanged `.b32.i2p` address and echoes 64 KiB (SHA-256 checked), within
//!    [`BACK_ONLINE_BOUND`] of the router answering `HELLO` again. Printed per cycle: the time
//!    to `Online` and to the echo, and the service's failed creates; then min/median/max.
//! 2. **A frozen router.** `SIGSTOP` under the idle online service: the probe (every
//!    [`PROBE_EVERY`], [`PROBE_TIMEOUT`]) must notice within `PROBE_EVERY + PROBE_TIMEOUT` + 2 s;
//!    after `SIGCONT` the service must be online again with the same session (it keeps it while
//!    the bridge is silent, up to `RecoveryPolicy::silent_limit`) and a new client's 64 KiB
//!    echo must come back within [`BACK_ONLINE_BOUND`].
//! 3. `stop` ends the service (`Stopped` without a reason) and its acceptor.
//!
//! Each adapter's test file instantiates it with the e2e suite's glue ([`crate::e2e`]):
//! `sam_testkit::sam_recovery_suite!(sam_tokio, glue, async);`.

use std::time::Duration;

/// Restart cycles per bridge.
pub const CYCLES: usize = 5;
/// Bytes echoed per stream.
pub const ECHO: usize = 64 * 1024;
/// From the restarted router's first `HELLO` answer to the client's echo: a new session on
/// each side (i2pd 2.45.1 takes 20 s per `SESSION CREATE` on the testbed), the lease set
/// published, one connect.
pub const BACK_ONLINE_BOUND: Duration = Duration::from_secs(90);
/// The service's probe interval in these tests (the default is 30 s).
pub const PROBE_EVERY: Duration = Duration::from_secs(3);
/// The service's probe timeout in these tests (the default is 5 s).
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(2);
/// How long a stream waits for its echo before a new client session tries.
pub const ECHO_WAIT_SECS: u64 = 15;

/// The bridges of `SAM_RECOVERY_BRIDGES` with their private SAM ports (per adapter, so that
/// the three suites can run side by side).
pub fn bridges(adapter_slot: u16) -> Vec<(String, u16)> {
    let names = std::env::var("SAM_RECOVERY_BRIDGES").unwrap_or_else(|_| "i2pd-2.59".into());
    names
        .split_whitespace()
        .map(|name| {
            let base = match name {
                "i2pd-2.45" => 17680,
                "i2pd-2.59" => 17670,
                other => panic!("SAM_RECOVERY_BRIDGES: {other:?} (i2pd-2.45, i2pd-2.59)"),
            };
            (name.to_owned(), base - 30 * adapter_slot)
        })
        .collect()
}

/// How often the SAM router's log says a lease-set publish was not confirmed.
pub fn publish_failures(dir: &std::path::Path) -> String {
    let log = std::fs::read_to_string(dir.join("r1/i2pd.log")).unwrap_or_default();
    let n = log
        .lines()
        .filter(|l| l.contains("Publish confirmation was not received"))
        .count();
    format!("{n} \"Publish confirmation was not received\" lines")
}

/// `aw!` of a boxed future for async adapters (the scenario's futures are large: unboxed,
/// async-std's `block_on` overflowed the test thread's stack), the call itself for blocking.
#[doc(hidden)]
#[macro_export]
macro_rules! __recovery_boxed {
    (async; $e:expr) => {
        Box::pin($e).await
    };
    (; $e:expr) => {
        $e
    };
}

/// Expands to the suite's `#[test]` for adapter crate `$sam` with glue module `$glue` (pass
/// `async` last for an async adapter) at port slot `$slot`. See the [module docs](self).
#[macro_export]
macro_rules! sam_recovery_suite {
    ($sam:ident, $glue:ident, $slot:expr $(, $asyncness:tt)?) => {
        use std::path::Path;
        use std::sync::{Arc, Mutex as StdMutex};
        use std::time::{Duration, Instant};

        use $glue::*;
        use $crate::recovery::*;
        use $crate::testbed::{check_privileges, signal, PrivateTestbed, TestbedEnv};
        use $sam::{
            RecoveryPolicy, Sam, SamConfig, Service, ServiceState, Session, SessionOptions, Style,
        };
        use sha2::{Digest, Sha256};

        const ADAPTER: &str = stringify!($sam);

        /// Every state change, with when it happened.
        type Log = Arc<StdMutex<Vec<(Instant, ServiceState)>>>;

        #[test]
        fn supervised_acceptor_survives_router_restarts() {
            check_privileges(ADAPTER).unwrap_or_else(|why| panic!("{why}"));
            for (bridge, port) in bridges($slot) {
                let name = format!("recovery-{ADAPTER}-{bridge}");
                let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
                let testbed = Arc::new(PrivateTestbed::new(dir, port, &bridge));
                let env = testbed.start();
                let testbed = testbed.clone();
                run(task!($crate::__recovery_boxed!($($asyncness)?; scenario(testbed, env))));
            }
        }

        fn config(env: &TestbedEnv) -> SamConfig {
            let mut config = SamConfig::new(format!("127.0.0.1:{}", env.tcp_port));
            config.udp_address = Some(format!("127.0.0.1:{}", env.udp_port));
            config.session_timeout = Duration::from_secs(60);
            config
        }

        fn options(env: &TestbedEnv) -> SessionOptions {
            let options = SessionOptions::new(Style::Stream);
            env.session_options
                .iter()
                .fold(options, |o, (k, v)| o.option(k.as_str(), v.as_str()))
        }

        fn last_reconnect(log: &Log, from: usize) -> Option<(Instant, u32)> {
            log.lock().unwrap()[from..].iter().rev().find_map(|(at, s)| match s {
                ServiceState::Reconnecting { attempt, .. } => Some((*at, *attempt)),
                _ => None,
            })
        }

        $($asyncness)? fn scenario(testbed: Arc<PrivateTestbed>, env: TestbedEnv) {
            let bridge = testbed.bridge.clone();
            let sam = Sam::new(config(&env));
            let log: Log = Arc::default();
            let observer = {
                let log = log.clone();
                Arc::new(move |state: &ServiceState| {
                    eprintln!("recovery: {ADAPTER} service {state}");
                    log.lock().unwrap().push((Instant::now(), state.clone()));
                })
            };
            let policy = RecoveryPolicy::new()
                .backoff(Duration::from_millis(100), Duration::from_secs(2))
                .give_up_after(Some(Duration::from_secs(300)))
                .probe(Some(PROBE_EVERY), PROBE_TIMEOUT);
            // TRANSIENT: the service keeps the destination of its first session.
            let service = Service::start_observed(&sam, options(&env), policy, observer);
            let acceptor = {
                let service = service.clone();
                spawn(task!(aw!(acceptor(service))))
            };
            let first = {
                let service = service.clone();
                aw!(within(120, "first online", task!(aw!(service.session()))))
            };
            let address = first.expect("the first session").address().to_string();
            println!("recovery[{ADAPTER}, {bridge}]: service at {address}");
            let client = aw!(new_client(sam.clone(), env.clone(), "initial".to_owned()));
            $crate::__recovery_boxed!($($asyncness)?; echo(sam.clone(), env.clone(), client, address.clone(), "initial".to_owned()));

            let mut figures = Vec::new();
            for cycle in 1..=CYCLES {
                let states_before = log.lock().unwrap().len();
                let (env, restart) = testbed.restart_sam();
                let hello = Instant::now();
                let what = format!("cycle {cycle}");
                // The client's session is created while the service's is.
                let client = {
                    let (sam, env, what) = (sam.clone(), env.clone(), what.clone());
                    spawn(task!(aw!(new_client(sam, env, what))))
                };
                let online = {
                    let service = service.clone();
                    aw!(within(BACK_ONLINE_BOUND.as_secs(), "back online", task!({
                        loop {
                            if service.state().is_online() {
                                if let Ok(session) = aw!(service.session()) {
                                    if !session.is_closed() {
                                        break session;
                                    }
                                }
                            }
                            aw!(sleep(Duration::from_millis(20)));
                        }
                    })))
                };
                let to_online = hello.elapsed();
                assert_eq!(online.address().to_string(), address, "the same destination");
                let client = aw!(join(client));
                let clients = $crate::__recovery_boxed!($($asyncness)?; echo(sam.clone(), env.clone(), client, address.clone(), what.clone()));
                let to_echo = hello.elapsed();
                let failed = last_reconnect(&log, states_before).map_or(0, |(_, a)| a);
                println!(
                    "recovery[{ADAPTER}, {bridge}]: cycle {cycle}: kill -9 + restart {restart:.1?} \
                     until HELLO; from HELLO: online {to_online:.2?}, 64 KiB echoed {to_echo:.2?} \
                     (client sessions: {clients}); failed creates: {failed}"
                );
                assert!(to_echo <= BACK_ONLINE_BOUND, "{what}: {to_echo:?}");
                figures.push((to_echo, failed));
            }
            let mut times: Vec<Duration> = figures.iter().map(|f| f.0).collect();
            times.sort();
            let failed: u32 = figures.iter().map(|f| f.1).sum();
            println!(
                "recovery[{ADAPTER}, {bridge}]: {CYCLES}/{CYCLES} cycles back online (HELLO -> \
                 64 KiB echo): min {:.2?}, median {:.2?}, max {:.2?}; failed creates in all: {failed}",
                times[0],
                times[times.len() / 2],
                times[times.len() - 1]
            );

            // A frozen router under the idle, online service.
            let r1 = testbed.env().r1_pid;
            let states_before = log.lock().unwrap().len();
            let frozen = Instant::now();
            signal(r1, "-STOP");
            let detected = {
                let log = log.clone();
                aw!(within(30, "the probe notices the frozen router", task!({
                    loop {
                        if let Some((at, _)) = last_reconnect(&log, states_before) {
                            break at.duration_since(frozen);
                        }
                        aw!(sleep(Duration::from_millis(20)));
                    }
                })))
            };
            signal(r1, "-CONT");
            let thawed = Instant::now();
            println!(
                "recovery[{ADAPTER}, {bridge}]: SIGSTOP noticed after {detected:.2?} (probe \
                 every {PROBE_EVERY:?}, timeout {PROBE_TIMEOUT:?})"
            );
            let bound = PROBE_EVERY + PROBE_TIMEOUT + Duration::from_secs(2);
            assert!(detected <= bound, "{detected:?} > {bound:?}");
            {
                let service = service.clone();
                aw!(within(BACK_ONLINE_BOUND.as_secs(), "online after SIGCONT", task!({
                    while !service.state().is_online() {
                        aw!(sleep(Duration::from_millis(20)));
                    }
                })));
            }
            println!(
                "recovery[{ADAPTER}, {bridge}]: after SIGCONT: online again in {:.2?}",
                thawed.elapsed()
            );
            // The same session goes on (the service kept it while the bridge was silent).
            let env = testbed.env();
            let client = aw!(new_client(sam.clone(), env.clone(), "after SIGCONT".to_owned()));
            let clients = $crate::__recovery_boxed!($($asyncness)?; echo(sam.clone(), env.clone(), client, address.clone(), "after SIGCONT".to_owned()));
            println!(
                "recovery[{ADAPTER}, {bridge}]: after SIGCONT: 64 KiB echoed {:.2?} after the \
                 thaw (client sessions: {clients}; router log: {})",
                thawed.elapsed(),
                publish_failures(&testbed.dir)
            );

            {
                let service = service.clone();
                aw!(within(15, "stop", task!(aw!(service.stop()))));
            }
            assert!(matches!(service.state(), ServiceState::Stopped { reason: None }));
            let accepted = aw!(within(20, "the acceptor ends", task!(aw!(join(acceptor)))));
            println!(
                "recovery[{ADAPTER}, {bridge}]: the acceptor served {accepted} streams and \
                 ended with the service"
            );
            assert!(accepted > CYCLES, "{accepted} streams served");
        }

        /// Accepts across restarts and echoes [`ECHO`] bytes per stream; returns how many it
        /// served.
        $($asyncness)? fn acceptor(service: Service) -> usize {
            let mut served = 0;
            while let Ok(incoming) = aw!(service.accept()) {
                let mut stream = incoming.stream;
                let mut data = vec![0u8; ECHO];
                if aw!(stream.read_exact(&mut data)).is_ok() && aw!(stream.write_all(&data)).is_ok() {
                    served += 1;
                }
                // Held until the client read the echo (it closes first): dropping at once
                // could cut the echo short.
                let _ = aw!(stream.read(&mut [0u8; 1]));
            }
            served
        }

        /// A new client session (retried while the restarted router settles).
        $($asyncness)? fn new_client(sam: Sam, env: TestbedEnv, what: String) -> Session {
            let deadline = Instant::now() + BACK_ONLINE_BOUND;
            loop {
                match aw!(sam.session(options(&env))) {
                    Ok(session) => break session,
                    Err(e) if Instant::now() < deadline => {
                        eprintln!("recovery: {what}: client session: {e}; again");
                        aw!(sleep(Duration::from_millis(500)));
                    }
                    Err(e) => panic!("{what}: client session: {e}"),
                }
            }
        }

        /// A connect from `client` to `address` (retried while its lease set is not found yet),
        /// 64 KiB echoed and checked. A stream without its echo after [`ECHO_WAIT_SECS`] is
        /// given up with its client session, and a new client session tries again; returns the
        /// client sessions used.
        $($asyncness)? fn echo(sam: Sam, env: TestbedEnv, first: Session, address: String, what: String) -> u32 {
            let deadline = Instant::now() + BACK_ONLINE_BOUND;
            let data = $crate::data::pseudo_random(ECHO, 7);
            let mut client = first;
            let mut clients = 1;
            loop {
                let mut stream = loop {
                    match aw!(client.connect(address.as_str())) {
                        Ok(stream) => break stream,
                        Err(e) if Instant::now() < deadline => {
                            eprintln!("recovery: {what}: connect: {e}; again");
                            aw!(sleep(Duration::from_millis(500)));
                        }
                        Err(e) => panic!("{what}: connect to {address}: {e}"),
                    }
                };
                aw!(stream.write_all(&data)).expect("write");
                let back = aw!(give_up_after(ECHO_WAIT_SECS, task!({
                    let mut back = vec![0u8; ECHO];
                    aw!(stream.read_exact(&mut back)).map(|_| back)
                })));
                match back {
                    Some(back) => {
                        let back = back.expect("read the echo");
                        assert_eq!(Sha256::digest(&back), Sha256::digest(&data), "{what}: echo intact");
                        aw!(client.close());
                        break clients;
                    }
                    None if Instant::now() < deadline => {
                        eprintln!("recovery: {what}: no echo within {ECHO_WAIT_SECS} s: a new client session");
                        aw!(client.close());
                        client = aw!(new_client(sam.clone(), env.clone(), what.clone()));
                        clients += 1;
                    }
                    None => panic!("{what}: no echo within {BACK_ONLINE_BOUND:?}"),
                }
            }
        }
    };
}
