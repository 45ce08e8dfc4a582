//! The end-to-end suite shared by every adapter, written once: the same scenarios and the same
//! assertions against a real SAM bridge (the offline i2pd testbed) for sam-tokio,
//! sam-async-std and sam-blocking.
//!
//! An adapter's `tests/e2e.rs` includes this file and instantiates the suite:
//!
//! ```text
//! #[path = "../../testbed/e2e_suite.rs"]
//! #[macro_use]
//! mod suite;
//!
//! macro_rules! aw { ($e:expr) => { $e.await }; }                          // blocking: { $e }
//! macro_rules! task { ($($body:tt)*) => { async move { $($body)* } }; }  // blocking: move || { .. }
//! mod glue { /* the functions below */ }
//!
//! sam_e2e_suite!(sam_tokio, glue, async);      // blocking: sam_e2e_suite!(sam_blocking, glue);
//! ```
//!
//! (sam-blocking keeps `aw!`, `task!` and `glue` in `tests/support/mod.rs`, shared with the
//! hostile-bridge suite, which takes the same glue.)
//!
//! The glue (`$glue::*` is glob-imported by the suite), each item `async` for async adapters:
//!
//! * `run(task) -> T`: runs a test body to the end (`block_on` on a shared runtime, or a call);
//! * `spawn(task) -> handle` and `join(handle) -> T` (re-raising a panic of the task);
//! * `sleep(Duration)`;
//! * `within(secs, what, task) -> T`: the test fails (panics) instead of hanging;
//! * `Mutex` (a type) and `lock(&Mutex<()>) -> guard` (held across awaits);
//! * `TcpListener` (`bind`, `local_addr`, `accept` of the adapter's runtime);
//! * the runtime's read/write extension traits (`read`, `read_exact`, `write_all`);
//! * `next_incoming(&mut IncomingStreams) -> Option<Result<Incoming>>`;
//! * operations given up after a delay, which must really cancel them (close their socket, so
//!   that the bridge forgets a cancelled accept): `accept_within(&Session, Duration)`,
//!   `recv_within(&DatagramSocket, Duration)` and `read_within(&mut Stream, &mut [u8],
//!   Duration)`, each `None` when the time ran out.
//!
//! The tests need `SAM_ADDR` (and, if the UDP port is not TCP port − 1, `SAM_UDP_ADDR`); start
//! the bridge with `./scripts/test.sh` or `testbed/testbed.sh start DIR PORT`.
//!
//! A `SESSION CREATE` costs 20 s on the testbed, so every session the tests need is created
//! once, concurrently, in a shared fixture. Tests that accept on session B hold
//! `fixture.b_accepts` so that their streams do not mix.

/// Expands to the `#[test]` functions of the suite for adapter crate `$sam` with glue module
/// `$glue`; pass `async` last for an async adapter. See the [module docs](self).
macro_rules! sam_e2e_suite {
    ($sam:ident, $glue:ident $(, $asyncness:tt)?) => {
        use std::path::PathBuf;
        use std::sync::OnceLock;
        use std::time::{Duration, Instant};

        use $glue::*;
        use $sam::{
            load_keys, read_forwarded, save_keys, ConnectOptions, Error, PrivateKeys, ResultCode,
            Sam, SamConfig, Session, SessionOptions, SigType, Style, SubsessionOptions, Version,
        };
        use sha2::{Digest, Sha256};

        struct Fixture {
            sam: Sam,
            /// Stream sessions; only tests holding `b_accepts` accept on `b`.
            a: Session,
            b: Session,
            b_accepts: Mutex<()>,
            /// Stream session that `closing_the_session_ends_its_streams` closes.
            c: Session,
            /// Stream session used only for FORWARD.
            f: Session,
            /// Stream session created from the Ed25519 keys saved to `keys_path`.
            k: Session,
            keys_path: PathBuf,
            saved_keys: PrivateKeys,
            /// For each signature type i2pd supports: keys from DEST GENERATE and a session
            /// on them.
            generated: Vec<(SigType, PrivateKeys, Session)>,
            /// PRIMARY (MASTER on i2pd) session.
            p: Session,
            /// Datagram and raw sessions: the `1`s are Ed25519 (base64 with `=` padding), the
            /// `2`s DSA-SHA1 (without).
            d1: Session,
            d2: Session,
            r1: Session,
            r2: Session,
        }

        fn config() -> SamConfig {
            if std::env::var_os($sam::ENV_ADDR).is_none() {
                panic!(
                    "SAM_ADDR is not set: these tests need a running SAM bridge. Run \
                     ./scripts/test.sh, or start the testbed with `testbed/testbed.sh start DIR \
                     PORT` and set SAM_ADDR=127.0.0.1:PORT SAM_UDP_ADDR=127.0.0.1:PORT-1"
                );
            }
            let mut config = SamConfig::from_env();
            config.session_timeout = Duration::from_secs(90);
            config.stream_timeout = Duration::from_secs(30);
            config.lookup_timeout = Duration::from_secs(30);
            config
        }

        /// Zero-hop tunnels: the testbed has a single peer, and i2pd never answers SESSION
        /// CREATE for tunnels it cannot build.
        fn options(style: Style) -> SessionOptions {
            SessionOptions::new(style)
                .option("inbound.length", "0")
                .option("outbound.length", "0")
                .option("inbound.quantity", "1")
                .option("outbound.quantity", "1")
        }

        /// The shared sessions, created by the first test that asks (the others wait).
        fn fixture() -> &'static Fixture {
            static FIXTURE: OnceLock<Result<Fixture, String>> = OnceLock::new();
            let config = config();
            FIXTURE
                .get_or_init(|| run(task!(aw!(build(config)).map_err(|e| e.to_string()))))
                .as_ref()
                .unwrap_or_else(|e| panic!("creating the shared sessions failed: {e}"))
        }

        /// The signature types i2pd 2.45 supports for destinations.
        const SIG_TYPES: [u16; 6] = [0, 1, 2, 3, 7, 11];

        $($asyncness)? fn build(config: SamConfig) -> Result<Fixture, Error> {
            let sam = Sam::new(config);
            let mut generated_keys = Vec::new();
            for code in SIG_TYPES {
                let sig = SigType::from_code(code).expect("known sig type");
                generated_keys.push((sig, aw!(sam.generate_destination(sig))?));
            }
            let saved_keys = aw!(sam.generate_destination(SigType::Ed25519))?;
            let mut keys_path = std::env::temp_dir();
            let pid = std::process::id().to_string();
            keys_path.push([stringify!($sam), "-e2e-", &pid, ".keys"].concat());
            aw!(save_keys(&keys_path, &saved_keys))?;
            let k = aw!(load_keys(&keys_path))?;

            let dsa = |style| {
                let mut o = options(style);
                o.signature_type = SigType::DsaSha1;
                o
            };
            let mut wanted = vec![
                options(Style::Stream),                // a
                options(Style::Stream),                // b
                options(Style::Stream),                // c
                options(Style::Stream),                // f
                options(Style::Stream).with_keys(k),   // k
                options(Style::Primary),               // p
                options(Style::Datagram),              // d1
                dsa(Style::Datagram),                  // d2
                options(Style::Raw),                   // r1
                dsa(Style::Raw),                       // r2
            ];
            let keyed = generated_keys.iter().map(|(_, keys)| keys.clone());
            wanted.extend(keyed.map(|keys| options(Style::Stream).with_keys(keys)));
            let started = Instant::now();
            let creating: Vec<_> = wanted
                .into_iter()
                .map(|options| {
                    let sam = sam.clone();
                    spawn(task!(aw!(sam.session(options))))
                })
                .collect();
            let mut sessions = Vec::new();
            for created in creating {
                sessions.push(aw!(join(created))?);
            }
            eprintln!(
                "e2e: {} sessions created concurrently in {:.2?}",
                sessions.len(),
                started.elapsed()
            );
            let mut sessions = sessions.into_iter();
            let mut next = move || sessions.next().expect("every session");
            Ok(Fixture {
                sam,
                a: next(),
                b: next(),
                b_accepts: Mutex::new(()),
                c: next(),
                f: next(),
                k: next(),
                keys_path,
                saved_keys,
                p: next(),
                d1: next(),
                d2: next(),
                r1: next(),
                r2: next(),
                generated: generated_keys
                    .into_iter()
                    .map(|(sig, keys)| (sig, keys, next()))
                    .collect(),
            })
        }

        fn random_bytes(len: usize, mut seed: u64) -> Vec<u8> {
            let mut out = Vec::with_capacity(len + 8);
            while out.len() < len {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                out.extend_from_slice(&seed.to_le_bytes());
            }
            out.truncate(len);
            out
        }

        /// A connects to B at `dest`; 1 MiB goes A → B, B echoes it back; all three hashes
        /// agree.
        $($asyncness)? fn echo_one_mib(fx: &'static Fixture, dest: String) {
            const LEN: usize = 1 << 20;
            let _exclusive = aw!(lock(&fx.b_accepts));
            let data = random_bytes(LEN, 0x5eed_0001 ^ dest.len() as u64);
            let sent_hash = Sha256::digest(&data);

            let b = fx.b.clone();
            let a_dest = fx.a.destination().clone();
            let acceptor = spawn(task!({
                let incoming = aw!(b.accept()).expect("B accepts");
                assert_eq!(incoming.peer.as_ref(), Some(&a_dest), "peer is A");
                let (mut reader, mut writer) = incoming.stream.into_split();
                let mut hasher = Sha256::new();
                let mut buf = vec![0u8; 64 * 1024];
                let mut total = 0;
                while total < LEN {
                    let n = aw!(reader.read(&mut buf)).expect("B reads");
                    assert!(n > 0, "EOF after {total} bytes");
                    hasher.update(&buf[..n]);
                    aw!(writer.write_all(&buf[..n])).expect("B echoes");
                    total += n;
                }
                hasher.finalize()
            }));

            let stream = aw!(fx.a.connect(&dest)).expect("A connects to B");
            let (mut reader, mut writer) = stream.into_split();
            let writing = spawn(task!({
                aw!(writer.write_all(&data)).expect("A writes");
                writer
            }));
            let mut back = vec![0u8; LEN];
            aw!(reader.read_exact(&mut back)).expect("A reads the echo");
            let _writer = aw!(join(writing));
            let received_by_b = aw!(join(acceptor));
            assert_eq!(received_by_b, sent_hash, "B received what A sent");
            assert_eq!(Sha256::digest(&back), sent_hash, "A got its data back");
        }

        #[test]
        fn stream_echo_1mib_both_ways_by_base64() {
            let fx = fixture();
            run(task!({
                let dest = fx.b.destination().to_base64();
                aw!(within(60, "1 MiB echo", task!(aw!(echo_one_mib(fx, dest)))));
            }))
        }

        #[test]
        fn stream_echo_1mib_both_ways_by_b32() {
            let fx = fixture();
            run(task!({
                let dest = fx.b.address().to_string();
                aw!(within(60, "1 MiB echo", task!(aw!(echo_one_mib(fx, dest)))));
            }))
        }

        #[test]
        fn early_data_sent_before_accept_is_the_first_data_read() {
            let fx = fixture();
            run(task!({
                let _exclusive = aw!(lock(&fx.b_accepts));
                aw!(within(30, "early data", task!({
                    let mut stream = aw!(fx.a.connect(&fx.b.destination().to_base64()))
                        .expect("A connects to B");
                    aw!(stream.write_all(b"early-data\n")).unwrap();
                    // Let the bridge hold the stream until B accepts, so that it writes the
                    // destination line and the data at once.
                    aw!(sleep(Duration::from_millis(300)));
                    let mut incoming = aw!(fx.b.accept()).expect("B accepts");
                    assert_eq!(incoming.peer.as_ref(), Some(fx.a.destination()));
                    // Whether i2pd's destination line and the data share a TCP segment depends
                    // on its Nagle timing (our TCP_QUICKACK makes it rarer); either way the data
                    // is exactly what the adapter kept, or nothing, and it is read first.
                    let kept = incoming.stream.buffered().to_vec();
                    assert!(
                        kept.is_empty() || kept == b"early-data\n",
                        "bytes read past the destination line are the data, whole: {kept:?}"
                    );
                    let mut first = [0u8; 64];
                    let mut n = 0;
                    while n < 11 {
                        let got = aw!(incoming.stream.read(&mut first[n..])).unwrap();
                        assert!(got > 0, "EOF before the early data");
                        n += got;
                    }
                    assert_eq!(&first[..n], b"early-data\n");
                    assert!(incoming.stream.buffered().is_empty());
                    // And the stream goes on from the socket.
                    aw!(stream.write_all(b"more\n")).unwrap();
                    let mut more = [0u8; 5];
                    aw!(incoming.stream.read_exact(&mut more)).unwrap();
                    assert_eq!(&more, b"more\n");
                })));
            }))
        }

        #[test]
        fn fifty_concurrent_streams() {
            let fx = fixture();
            run(task!({
                let _exclusive = aw!(lock(&fx.b_accepts));
                aw!(within(60, "50 streams", task!({
                    const N: usize = 50;
                    let b = fx.b.clone();
                    let acceptor = spawn(task!({
                        let mut incoming = b.incoming();
                        let mut echoes = Vec::new();
                        for _ in 0..N {
                            let next = aw!(next_incoming(&mut incoming));
                            let mut stream = next
                                .expect("stream of streams ended")
                                .expect("accept")
                                .stream;
                            echoes.push(spawn(task!({
                                let mut buf = vec![0u8; 4096];
                                aw!(stream.read_exact(&mut buf)).expect("read");
                                aw!(stream.write_all(&buf)).expect("echo");
                                // Keep the stream open until the connector has read the echo.
                                let _ = aw!(stream.read(&mut [0u8; 1]));
                            })));
                        }
                        for echo in echoes {
                            aw!(join(echo));
                        }
                    }));
                    let dest = fx.b.destination().to_base64();
                    let mut connectors = Vec::new();
                    for i in 0..N {
                        let a = fx.a.clone();
                        let dest = dest.clone();
                        connectors.push(spawn(task!({
                            let data = random_bytes(4096, 1000 + i as u64);
                            let mut stream = aw!(a.connect(&dest)).expect("connect");
                            aw!(stream.write_all(&data)).expect("write");
                            let mut back = vec![0u8; 4096];
                            aw!(stream.read_exact(&mut back)).expect("read echo");
                            assert_eq!(back, data, "stream {i} echoed its own data");
                        })));
                    }
                    let mut ok = 0;
                    for connector in connectors {
                        aw!(join(connector));
                        ok += 1;
                    }
                    assert_eq!(ok, N);
                    aw!(join(acceptor));
                })));
            }))
        }

        #[test]
        fn forward_gives_the_peer_destination_then_the_data() {
            let fx = fixture();
            run(task!({
                aw!(within(30, "forward", task!({
                    let listener = aw!(TcpListener::bind("127.0.0.1:0")).unwrap();
                    let forward = aw!(fx.f.forward(listener.local_addr().unwrap()))
                        .expect("STREAM FORWARD");
                    assert_eq!(forward.local_addr(), listener.local_addr().unwrap());
                    let mut stream = aw!(fx.a.connect(&fx.f.destination().to_base64()))
                        .expect("A connects to F");
                    aw!(stream.write_all(b"data-from-A\n")).unwrap();
                    let (tcp, _) = aw!(listener.accept()).unwrap();
                    let mut incoming = aw!(read_forwarded(tcp)).expect("peer line");
                    assert_eq!(incoming.peer.as_ref(), Some(fx.a.destination()));
                    let mut data = [0u8; 12];
                    aw!(incoming.stream.read_exact(&mut data)).unwrap();
                    assert_eq!(&data, b"data-from-A\n");
                    aw!(incoming.stream.write_all(b"reply\n")).unwrap();
                    let mut reply = [0u8; 6];
                    aw!(stream.read_exact(&mut reply)).unwrap();
                    assert_eq!(&reply, b"reply\n");
                    drop(forward);
                })));
            }))
        }

        /// Sends until one arrives (bridges drop datagrams to peers whose lease set they
        /// lack).
        $($asyncness)? fn datagram_exchange(from: &Session, to: &Session, raw: bool) {
            // Looking the peer up first makes the bridge fetch its lease set.
            aw!(from.lookup(&to.address().to_string())).expect("lookup peer");
            aw!(to.lookup(&from.address().to_string())).expect("lookup peer");
            let sender = aw!(from.datagram_socket()).expect("datagram socket");
            let receiver = aw!(to.datagram_socket()).expect("datagram socket");
            let payload = random_bytes(1000, raw as u64 + 77);
            let ports = Some((1234, 5678));
            let received = loop {
                aw!(sender.send_to(to.destination(), &payload, ports)).expect("send");
                if let Some(got) = aw!(recv_within(&receiver, Duration::from_millis(500))) {
                    break got.expect("receive");
                }
            };
            assert_eq!(received.payload, payload);
            if raw {
                assert_eq!(received.source, None, "RAW is anonymous");
            } else {
                assert_eq!(received.source.as_ref(), Some(from.destination()));
            }
            if to.version() < Version::V3_2 {
                assert_eq!((received.from_port, received.to_port), (None, None));
            } else if !raw {
                assert_eq!(
                    (received.from_port, received.to_port),
                    (Some(1234), Some(5678))
                );
            }
            assert_eq!(receiver.skipped(), 0);
        }

        #[test]
        fn datagram_both_ways() {
            let fx = fixture();
            run(task!({
                aw!(within(30, "datagrams", task!({
                    aw!(datagram_exchange(&fx.d1, &fx.d2, false));
                    aw!(datagram_exchange(&fx.d2, &fx.d1, false));
                })));
            }))
        }

        #[test]
        fn raw_both_ways() {
            let fx = fixture();
            run(task!({
                aw!(within(30, "raw datagrams", task!({
                    aw!(datagram_exchange(&fx.r1, &fx.r2, true));
                    aw!(datagram_exchange(&fx.r2, &fx.r1, true));
                })));
            }))
        }

        #[test]
        fn lookup_of_me_is_own_destination() {
            let fx = fixture();
            run(task!({
                let me = aw!(within(30, "lookup", task!(aw!(fx.a.lookup("ME"))))).expect("ME");
                assert_eq!(&me, fx.a.destination());
            }))
        }

        #[test]
        fn lookup_of_b32_from_another_session_is_its_destination() {
            let fx = fixture();
            run(task!({
                let b32 = fx.b.address().to_string();
                let found =
                    aw!(within(30, "lookup", task!(aw!(fx.a.lookup(&b32))))).expect("B's b32");
                assert_eq!(&found, fx.b.destination());
                // A full base64 destination also resolves on a fresh socket, without a session.
                let base64 = fx.b.destination().to_base64();
                let fresh = aw!(within(30, "lookup", task!(aw!(fx.sam.lookup(&base64)))))
                    .expect("fresh-socket lookup of a base64 destination");
                assert_eq!(&fresh, fx.b.destination());
            }))
        }

        #[test]
        fn lookup_of_unknown_name_is_refused_not_found() {
            let fx = fixture();
            run(task!({
                let err = aw!(within(30, "lookup", task!(aw!(fx.a.lookup("no-such-host-e2e.i2p")))))
                    .expect_err("unknown name");
                match &err {
                    Error::Refused { result, .. } => assert!(result.is_not_found(), "{err}"),
                    other => panic!("expected Refused, got {other:?}"),
                }
                // The session socket stays usable after a refused lookup.
                assert_eq!(&aw!(fx.a.lookup("ME")).unwrap(), fx.a.destination());
            }))
        }

        #[test]
        fn dest_generate_for_every_sig_type_i2pd_supports() {
            let fx = fixture();
            run(task!({
                aw!(within(60, "DEST GENERATE", task!({
                    assert_eq!(fx.generated.len(), SIG_TYPES.len());
                    for (sig, keys, session) in &fx.generated {
                        let dest = keys.destination();
                        assert_eq!(dest.sig_type(), *sig);
                        // The bridge took the keys as they are...
                        assert_eq!(session.destination(), dest, "{sig:?}");
                        // ...and resolves the b32 address computed here to the same
                        // destination. (i2pd 2.45 cannot resolve a destination nobody
                        // publishes, even from its full base64: it asks the network for the
                        // lease set. So each one is published by a session created from its
                        // keys.)
                        let b32 = dest.b32_address().to_string();
                        let resolved = aw!(fx.a.lookup(&b32)).expect("lookup of the b32");
                        assert_eq!(resolved.b32_address(), dest.b32_address(), "{sig:?}");
                        assert_eq!(&resolved, dest, "{sig:?}");
                        let by_base64 = aw!(fx.a.lookup(&dest.to_base64())).expect("lookup");
                        assert_eq!(by_base64.b32_address(), dest.b32_address(), "{sig:?}");
                    }
                })));
            }))
        }

        #[test]
        fn duplicate_session_id_is_refused() {
            let fx = fixture();
            run(task!({
                let started = Instant::now();
                let duplicate = options(Style::Stream).with_id(fx.a.id());
                let err = aw!(within(
                    30,
                    "duplicate SESSION CREATE",
                    task!(aw!(fx.sam.session(duplicate)))
                ))
                .expect_err("duplicate ID");
                match &err {
                    Error::Refused { result, .. } => assert!(result.is_duplicate_id(), "{err}"),
                    other => panic!("expected Refused, got {other:?}"),
                }
                assert!(started.elapsed() < Duration::from_secs(10));
                assert!(!fx.a.is_closed());
            }))
        }

        #[test]
        fn connect_to_unpublished_destination_is_cant_reach_peer() {
            let fx = fixture();
            run(task!({
                let keys = aw!(fx.sam.generate_destination(SigType::Ed25519)).unwrap();
                let dest = keys.destination().to_base64();
                let err = aw!(within(30, "connect", task!(aw!(fx.a.connect(&dest)))))
                    .expect_err("nobody publishes this destination");
                match &err {
                    Error::Refused { result, .. } => {
                        assert_eq!(*result, ResultCode::CantReachPeer, "{err}")
                    }
                    other => panic!("expected Refused, got {other:?}"),
                }
            }))
        }

        #[test]
        fn hundred_cancelled_accepts_then_one_that_works() {
            let fx = fixture();
            run(task!({
                let _exclusive = aw!(lock(&fx.b_accepts));
                aw!(within(60, "accepts", task!({
                    for i in 0..100 {
                        let r = aw!(accept_within(&fx.b, Duration::from_millis(10)));
                        assert!(r.is_none(), "accept {i} returned without a peer: {r:?}");
                    }
                    assert!(!fx.b.is_closed());
                    let b = fx.b.clone();
                    let acceptor = spawn(task!(aw!(b.accept())));
                    let dest = fx.b.destination().to_base64();
                    let mut stream = aw!(fx.a.connect_with(&dest, ConnectOptions::default()))
                        .expect("connect");
                    aw!(stream.write_all(b"after-cancel\n")).unwrap();
                    let mut incoming = aw!(join(acceptor)).expect("the accept that works");
                    assert_eq!(incoming.peer.as_ref(), Some(fx.a.destination()));
                    let mut got = [0u8; 13];
                    aw!(incoming.stream.read_exact(&mut got)).unwrap();
                    assert_eq!(&got, b"after-cancel\n");
                })));
            }))
        }

        #[test]
        fn closing_the_session_ends_its_streams() {
            let fx = fixture();
            run(task!({
                aw!(within(30, "close", task!({
                    let c = fx.c.clone();
                    let acceptor = spawn(task!(aw!(c.accept())));
                    let mut remote = aw!(fx.a.connect(&fx.c.destination().to_base64()))
                        .expect("A connects to C");
                    aw!(remote.write_all(b"hello C\n")).unwrap();
                    let mut incoming = aw!(join(acceptor)).expect("C accepts");
                    let mut hello = [0u8; 8];
                    aw!(incoming.stream.read_exact(&mut hello)).unwrap();

                    aw!(fx.c.close());
                    assert!(fx.c.is_closed());
                    let mut rest = [0u8; 16];
                    let ten_s = Duration::from_secs(10);
                    let ended = aw!(read_within(&mut incoming.stream, &mut rest, ten_s))
                        .expect("C's stream did not end within 10 s");
                    assert!(matches!(ended, Ok(0) | Err(_)), "C's stream ended: {ended:?}");

                    let dest = fx.a.destination().to_base64();
                    assert!(matches!(aw!(fx.c.connect(&dest)), Err(Error::SessionClosed)));
                    assert!(matches!(aw!(fx.c.accept()), Err(Error::SessionClosed)));
                    assert!(matches!(aw!(fx.c.lookup("ME")), Err(Error::SessionClosed)));
                    assert!(matches!(
                        aw!(fx.c.forward("127.0.0.1:9".parse().unwrap())),
                        Err(Error::SessionClosed)
                    ));
                })));
            }))
        }

        #[test]
        fn key_file_round_trip() {
            let fx = fixture();
            run(task!({
                #[cfg(unix)]
                {
                    use std::os::unix::fs::PermissionsExt;
                    let mode = std::fs::metadata(&fx.keys_path)
                        .unwrap()
                        .permissions()
                        .mode();
                    assert_eq!(mode & 0o777, 0o600, "key file mode {mode:o}");
                }
                let loaded = aw!(load_keys(&fx.keys_path)).expect("load");
                assert_eq!(loaded, fx.saved_keys);
                let saved_b32 = fx.saved_keys.destination().b32_address();
                assert_eq!(loaded.destination().b32_address(), saved_b32);
                // The session created from the saved keys has their address.
                assert_eq!(fx.k.address(), saved_b32);
                assert_eq!(fx.k.keys().destination(), fx.saved_keys.destination());
                // Keys never show in Debug output.
                let debug = format!("{:?} {:?}", loaded, fx.k);
                assert!(!debug.contains(&loaded.to_base64()[..40]));
                // Private keys do not stay behind in the temp directory.
                std::fs::remove_file(&fx.keys_path).unwrap();
            }))
        }

        #[test]
        fn primary_session_with_a_stream_subsession() {
            let fx = fixture();
            run(task!({
                aw!(within(30, "primary", task!({
                    let p = &fx.p;
                    let id = [p.id(), "-s1"].concat();
                    let sub = aw!(p.add(SubsessionOptions::new(Style::Stream, id.clone())))
                        .expect("SESSION ADD");
                    assert_eq!(sub.id(), id);
                    assert_eq!(sub.destination(), p.destination());
                    let acceptor = spawn({
                        let sub = sub.clone();
                        task!(aw!(sub.accept()))
                    });
                    let mut stream = aw!(fx.a.connect(&p.destination().to_base64()))
                        .expect("A connects to the primary destination");
                    aw!(stream.write_all(b"to-sub\n")).unwrap();
                    let mut incoming = aw!(join(acceptor)).expect("sub-session accepts");
                    assert_eq!(incoming.peer.as_ref(), Some(fx.a.destination()));
                    let mut got = [0u8; 7];
                    aw!(incoming.stream.read_exact(&mut got)).unwrap();
                    assert_eq!(&got, b"to-sub\n");
                    aw!(p.remove(&id)).expect("SESSION REMOVE");
                    assert!(!p.is_closed());
                })));
            }))
        }
    };
}
