//! End-to-end tests against a real SAM bridge (the offline i2pd testbed).
//!
//! They need `SAM_ADDR` (and, if the UDP port is not TCP port − 1, `SAM_UDP_ADDR`); start the
//! bridge with `./scripts/test.sh` or `testbed/testbed.sh start DIR PORT`.
//!
//! A `SESSION CREATE` costs 20 s on the testbed, so every session the tests need is created
//! once, concurrently, in a shared fixture that lives in one static multi-thread runtime.
//! Tests that accept on session B hold `fixture.b_accepts` so that their streams do not mix.

use std::future::Future;
use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use sam_tokio::{
    load_keys, read_forwarded, save_keys, ConnectOptions, Error, PrivateKeys, ResultCode, Sam,
    SamConfig, Session, SessionOptions, SigType, Style, SubsessionOptions, Version,
};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::runtime::Runtime;
use tokio::sync::{Mutex, OnceCell};

fn rt() -> &'static Runtime {
    static RT: OnceLock<Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(4)
            .enable_all()
            .build()
            .expect("tokio runtime")
    })
}

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
    /// For each signature type i2pd supports: keys from DEST GENERATE and a session on them.
    generated: Vec<(SigType, PrivateKeys, Session)>,
    /// PRIMARY (MASTER on i2pd) session.
    p: Session,
    /// Datagram and raw sessions: the `1`s are Ed25519 (base64 with `=` padding), the `2`s
    /// DSA-SHA1 (without).
    d1: Session,
    d2: Session,
    r1: Session,
    r2: Session,
}

fn config() -> SamConfig {
    if std::env::var_os(sam_tokio::ENV_ADDR).is_none() {
        panic!(
            "SAM_ADDR is not set: these tests need a running SAM bridge. Run ./scripts/test.sh, \
             or start the testbed with `testbed/testbed.sh start DIR PORT` and set \
             SAM_ADDR=127.0.0.1:PORT SAM_UDP_ADDR=127.0.0.1:PORT-1"
        );
    }
    let mut config = SamConfig::from_env();
    config.session_timeout = Duration::from_secs(90);
    config.stream_timeout = Duration::from_secs(30);
    config.lookup_timeout = Duration::from_secs(30);
    config
}

/// Zero-hop tunnels: the testbed has a single peer, and i2pd never answers SESSION CREATE
/// for tunnels it cannot build.
fn options(style: Style) -> SessionOptions {
    SessionOptions::new(style)
        .option("inbound.length", "0")
        .option("outbound.length", "0")
        .option("inbound.quantity", "1")
        .option("outbound.quantity", "1")
}

async fn fixture() -> &'static Fixture {
    static FIXTURE: OnceCell<Result<Fixture, String>> = OnceCell::const_new();
    let config = config();
    FIXTURE
        .get_or_init(|| async move { build(config).await.map_err(|e| e.to_string()) })
        .await
        .as_ref()
        .unwrap_or_else(|e| panic!("creating the shared sessions failed: {e}"))
}

/// The signature types i2pd 2.45 supports for destinations.
const SIG_TYPES: [u16; 6] = [0, 1, 2, 3, 7, 11];

async fn build(config: SamConfig) -> Result<Fixture, Error> {
    let sam = Sam::new(config);
    let mut generated_keys = Vec::new();
    for code in SIG_TYPES {
        let sig = SigType::from_code(code).expect("known sig type");
        generated_keys.push((sig, sam.generate_destination(sig).await?));
    }
    let saved_keys = sam.generate_destination(SigType::Ed25519).await?;
    let mut keys_path = std::env::temp_dir();
    keys_path.push(["sam-tokio-e2e-", &std::process::id().to_string(), ".keys"].concat());
    save_keys(&keys_path, &saved_keys).await?;
    let k = load_keys(&keys_path).await?;

    let dsa = |style| {
        let mut o = options(style);
        o.signature_type = SigType::DsaSha1;
        o
    };
    let keyed = async {
        let mut sessions = tokio::task::JoinSet::new();
        for (i, (_, keys)) in generated_keys.iter().enumerate() {
            let sam = sam.clone();
            let options = options(Style::Stream).with_keys(keys.clone());
            sessions.spawn(async move { (i, sam.session(options).await) });
        }
        let mut out: Vec<Option<Session>> = vec![None; generated_keys.len()];
        while let Some(done) = sessions.join_next().await {
            let (i, session) = done.expect("session task");
            out[i] = Some(session?);
        }
        Ok::<_, Error>(out)
    };
    let started = Instant::now();
    let (a, b, c, f, k, p, d1, d2, r1, r2, keyed) = tokio::join!(
        sam.session(options(Style::Stream)),
        sam.session(options(Style::Stream)),
        sam.session(options(Style::Stream)),
        sam.session(options(Style::Stream)),
        sam.session(options(Style::Stream).with_keys(k)),
        sam.session(options(Style::Primary)),
        sam.session(options(Style::Datagram)),
        sam.session(dsa(Style::Datagram)),
        sam.session(options(Style::Raw)),
        sam.session(dsa(Style::Raw)),
        keyed,
    );
    eprintln!(
        "e2e: {} sessions created concurrently in {:.2?}",
        10 + SIG_TYPES.len(),
        started.elapsed()
    );
    let generated = generated_keys
        .into_iter()
        .zip(keyed?)
        .map(|((sig, keys), session)| (sig, keys, session.expect("every session")))
        .collect();
    Ok(Fixture {
        a: a?,
        b: b?,
        b_accepts: Mutex::new(()),
        c: c?,
        f: f?,
        k: k?,
        keys_path,
        saved_keys,
        generated,
        p: p?,
        d1: d1?,
        d2: d2?,
        r1: r1?,
        r2: r2?,
        sam,
    })
}

/// Fails the test instead of hanging it.
async fn within<T>(secs: u64, what: &str, fut: impl Future<Output = T>) -> T {
    match tokio::time::timeout(Duration::from_secs(secs), fut).await {
        Ok(v) => v,
        Err(_) => panic!("{what} did not finish within {secs} s"),
    }
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

/// A connects to B at `dest`; 1 MiB goes A → B, B echoes it back; all three hashes agree.
async fn echo_one_mib(fx: &'static Fixture, dest: String) {
    const LEN: usize = 1 << 20;
    let _exclusive = fx.b_accepts.lock().await;
    let data = random_bytes(LEN, 0x5eed_0001 ^ dest.len() as u64);
    let sent_hash = Sha256::digest(&data);

    let b = fx.b.clone();
    let a_dest = fx.a.destination().clone();
    let acceptor = tokio::spawn(async move {
        let incoming = b.accept().await.expect("B accepts");
        assert_eq!(incoming.peer.as_ref(), Some(&a_dest), "peer is A");
        let (mut reader, mut writer) = incoming.stream.into_split();
        let mut hasher = Sha256::new();
        let mut buf = vec![0u8; 64 * 1024];
        let mut total = 0;
        while total < LEN {
            let n = reader.read(&mut buf).await.expect("B reads");
            assert!(n > 0, "EOF after {total} bytes");
            hasher.update(&buf[..n]);
            writer.write_all(&buf[..n]).await.expect("B echoes");
            total += n;
        }
        hasher.finalize()
    });

    let stream = fx.a.connect(&dest).await.expect("A connects to B");
    let (mut reader, mut writer) = stream.into_split();
    let write = async {
        writer.write_all(&data).await.expect("A writes");
        writer
    };
    let read = async {
        let mut back = vec![0u8; LEN];
        reader
            .read_exact(&mut back)
            .await
            .expect("A reads the echo");
        back
    };
    let (_writer, back) = tokio::join!(write, read);
    let received_by_b = acceptor.await.expect("acceptor task");
    assert_eq!(received_by_b, sent_hash, "B received what A sent");
    assert_eq!(Sha256::digest(&back), sent_hash, "A got its data back");
}

#[test]
fn stream_echo_1mib_both_ways_by_base64() {
    rt().block_on(async {
        let fx = fixture().await;
        let dest = fx.b.destination().to_base64();
        within(60, "1 MiB echo", echo_one_mib(fx, dest)).await;
    })
}

#[test]
fn stream_echo_1mib_both_ways_by_b32() {
    rt().block_on(async {
        let fx = fixture().await;
        let dest = fx.b.address().to_string();
        within(60, "1 MiB echo", echo_one_mib(fx, dest)).await;
    })
}

#[test]
fn data_arriving_with_the_destination_line_is_the_first_data_read() {
    rt().block_on(async {
        let fx = fixture().await;
        let _exclusive = fx.b_accepts.lock().await;
        within(30, "early data", async {
            let mut stream =
                fx.a.connect(&fx.b.destination().to_base64())
                    .await
                    .expect("A connects to B");
            stream.write_all(b"early-data\n").await.unwrap();
            // Let the bridge hold the stream until B accepts, so that it writes the
            // destination line and the data at once.
            tokio::time::sleep(Duration::from_millis(300)).await;
            let mut incoming = fx.b.accept().await.expect("B accepts");
            assert_eq!(incoming.peer.as_ref(), Some(fx.a.destination()));
            assert_eq!(
                incoming.stream.buffered(),
                b"early-data\n",
                "the data came in the same read as the destination line"
            );
            let mut first = [0u8; 64];
            let n = incoming.stream.read(&mut first).await.unwrap();
            assert_eq!(&first[..n], b"early-data\n");
            assert!(incoming.stream.buffered().is_empty());
            // And the stream goes on from the socket.
            stream.write_all(b"more\n").await.unwrap();
            let mut more = [0u8; 5];
            incoming.stream.read_exact(&mut more).await.unwrap();
            assert_eq!(&more, b"more\n");
        })
        .await;
    })
}

#[test]
fn fifty_concurrent_streams() {
    rt().block_on(async {
        let fx = fixture().await;
        let _exclusive = fx.b_accepts.lock().await;
        within(60, "50 streams", async {
            const N: usize = 50;
            let b = fx.b.clone();
            let acceptor = tokio::spawn(async move {
                let mut incoming = b.incoming();
                let mut echoes = tokio::task::JoinSet::new();
                for _ in 0..N {
                    let next = std::future::poll_fn(|cx| {
                        futures_core::Stream::poll_next(std::pin::Pin::new(&mut incoming), cx)
                    })
                    .await;
                    let mut stream = next
                        .expect("stream of streams ended")
                        .expect("accept")
                        .stream;
                    echoes.spawn(async move {
                        let mut buf = vec![0u8; 4096];
                        stream.read_exact(&mut buf).await.expect("read");
                        stream.write_all(&buf).await.expect("echo");
                        // Keep the stream open until the connector has read the echo.
                        let _ = stream.read(&mut [0u8; 1]).await;
                    });
                }
                while let Some(done) = echoes.join_next().await {
                    done.expect("echo task");
                }
            });
            let dest = fx.b.destination().to_base64();
            let mut connectors = tokio::task::JoinSet::new();
            for i in 0..N {
                let a = fx.a.clone();
                let dest = dest.clone();
                connectors.spawn(async move {
                    let data = random_bytes(4096, 1000 + i as u64);
                    let mut stream = a.connect(&dest).await.expect("connect");
                    stream.write_all(&data).await.expect("write");
                    let mut back = vec![0u8; 4096];
                    stream.read_exact(&mut back).await.expect("read echo");
                    assert_eq!(back, data, "stream {i} echoed its own data");
                });
            }
            let mut ok = 0;
            while let Some(done) = connectors.join_next().await {
                done.expect("connector task");
                ok += 1;
            }
            assert_eq!(ok, N);
            acceptor.await.expect("acceptor task");
        })
        .await;
    })
}

#[test]
fn forward_gives_the_peer_destination_then_the_data() {
    rt().block_on(async {
        let fx = fixture().await;
        within(30, "forward", async {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let forward =
                fx.f.forward(listener.local_addr().unwrap())
                    .await
                    .expect("STREAM FORWARD");
            assert_eq!(forward.local_addr(), listener.local_addr().unwrap());
            let mut stream =
                fx.a.connect(&fx.f.destination().to_base64())
                    .await
                    .expect("A connects to F");
            stream.write_all(b"data-from-A\n").await.unwrap();
            let (tcp, _) = listener.accept().await.unwrap();
            let mut incoming = read_forwarded(tcp).await.expect("peer line");
            assert_eq!(incoming.peer.as_ref(), Some(fx.a.destination()));
            let mut data = [0u8; 12];
            incoming.stream.read_exact(&mut data).await.unwrap();
            assert_eq!(&data, b"data-from-A\n");
            incoming.stream.write_all(b"reply\n").await.unwrap();
            let mut reply = [0u8; 6];
            stream.read_exact(&mut reply).await.unwrap();
            assert_eq!(&reply, b"reply\n");
            drop(forward);
        })
        .await;
    })
}

/// Sends until one arrives (bridges drop datagrams to peers whose lease set they lack).
async fn datagram_exchange(from: &Session, to: &Session, raw: bool) {
    // Looking the peer up first makes the bridge fetch its lease set.
    from.lookup(&to.address().to_string())
        .await
        .expect("lookup peer");
    to.lookup(&from.address().to_string())
        .await
        .expect("lookup peer");
    let sender = from.datagram_socket().await.expect("datagram socket");
    let receiver = to.datagram_socket().await.expect("datagram socket");
    let payload = random_bytes(1000, raw as u64 + 77);
    let ports = Some((1234, 5678));
    let received = loop {
        sender
            .send_to(to.destination(), &payload, ports)
            .await
            .expect("send");
        if let Ok(got) =
            tokio::time::timeout(Duration::from_millis(500), receiver.recv_from()).await
        {
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
    rt().block_on(async {
        let fx = fixture().await;
        within(30, "datagrams", async {
            datagram_exchange(&fx.d1, &fx.d2, false).await;
            datagram_exchange(&fx.d2, &fx.d1, false).await;
        })
        .await;
    })
}

#[test]
fn raw_both_ways() {
    rt().block_on(async {
        let fx = fixture().await;
        within(30, "raw datagrams", async {
            datagram_exchange(&fx.r1, &fx.r2, true).await;
            datagram_exchange(&fx.r2, &fx.r1, true).await;
        })
        .await;
    })
}

#[test]
fn lookup_of_me_is_own_destination() {
    rt().block_on(async {
        let fx = fixture().await;
        let me = within(30, "lookup", fx.a.lookup("ME")).await.expect("ME");
        assert_eq!(&me, fx.a.destination());
    })
}

#[test]
fn lookup_of_b32_from_another_session_is_its_destination() {
    rt().block_on(async {
        let fx = fixture().await;
        let b32 = fx.b.address().to_string();
        let found = within(30, "lookup", fx.a.lookup(&b32))
            .await
            .expect("B's b32");
        assert_eq!(&found, fx.b.destination());
        // A full base64 destination also resolves on a fresh socket, without a session.
        let base64 = fx.b.destination().to_base64();
        let fresh = within(30, "lookup", fx.sam.lookup(&base64))
            .await
            .expect("fresh-socket lookup of a base64 destination");
        assert_eq!(&fresh, fx.b.destination());
    })
}

#[test]
fn lookup_of_unknown_name_is_refused_not_found() {
    rt().block_on(async {
        let fx = fixture().await;
        let err = within(30, "lookup", fx.a.lookup("no-such-host-e2e.i2p"))
            .await
            .expect_err("unknown name");
        match &err {
            Error::Refused { result, .. } => assert!(result.is_not_found(), "{err}"),
            other => panic!("expected Refused, got {other:?}"),
        }
        // The session socket stays usable after a refused lookup.
        assert_eq!(&fx.a.lookup("ME").await.unwrap(), fx.a.destination());
    })
}

#[test]
fn dest_generate_for_every_sig_type_i2pd_supports() {
    rt().block_on(async {
        let fx = fixture().await;
        within(60, "DEST GENERATE", async {
            assert_eq!(fx.generated.len(), SIG_TYPES.len());
            for (sig, keys, session) in &fx.generated {
                let dest = keys.destination();
                assert_eq!(dest.sig_type(), *sig);
                // The bridge took the keys as they are...
                assert_eq!(session.destination(), dest, "{sig:?}");
                // ...and resolves the b32 address computed here to the same destination.
                // (i2pd 2.45 cannot resolve a destination nobody publishes, even from its
                // full base64: it asks the network for the lease set. So each one is
                // published by a session created from its keys.)
                let b32 = dest.b32_address().to_string();
                let resolved = fx.a.lookup(&b32).await.expect("lookup of the b32");
                assert_eq!(resolved.b32_address(), dest.b32_address(), "{sig:?}");
                assert_eq!(&resolved, dest, "{sig:?}");
                let by_base64 = fx.a.lookup(&dest.to_base64()).await.expect("lookup");
                assert_eq!(by_base64.b32_address(), dest.b32_address(), "{sig:?}");
            }
        })
        .await;
    })
}

#[test]
fn duplicate_session_id_is_refused() {
    rt().block_on(async {
        let fx = fixture().await;
        let started = Instant::now();
        let err = within(
            30,
            "duplicate SESSION CREATE",
            fx.sam.session(options(Style::Stream).with_id(fx.a.id())),
        )
        .await
        .expect_err("duplicate ID");
        match &err {
            Error::Refused { result, .. } => assert!(result.is_duplicate_id(), "{err}"),
            other => panic!("expected Refused, got {other:?}"),
        }
        assert!(started.elapsed() < Duration::from_secs(10));
        assert!(!fx.a.is_closed());
    })
}

#[test]
fn connect_to_unpublished_destination_is_cant_reach_peer() {
    rt().block_on(async {
        let fx = fixture().await;
        let keys = fx.sam.generate_destination(SigType::Ed25519).await.unwrap();
        let err = within(30, "connect", fx.a.connect(&keys.destination().to_base64()))
            .await
            .expect_err("nobody publishes this destination");
        match &err {
            Error::Refused { result, .. } => {
                assert_eq!(*result, ResultCode::CantReachPeer, "{err}")
            }
            other => panic!("expected Refused, got {other:?}"),
        }
    })
}

#[test]
fn hundred_cancelled_accepts_then_one_that_works() {
    rt().block_on(async {
        let fx = fixture().await;
        let _exclusive = fx.b_accepts.lock().await;
        within(60, "accepts", async {
            for i in 0..100 {
                let r = tokio::time::timeout(Duration::from_millis(10), fx.b.accept()).await;
                assert!(r.is_err(), "accept {i} returned without a peer: {r:?}");
            }
            assert!(!fx.b.is_closed());
            let b = fx.b.clone();
            let acceptor = tokio::spawn(async move { b.accept().await });
            let mut stream =
                fx.a.connect_with(&fx.b.destination().to_base64(), ConnectOptions::default())
                    .await
                    .expect("connect");
            stream.write_all(b"after-cancel\n").await.unwrap();
            let mut incoming = acceptor.await.unwrap().expect("the accept that works");
            assert_eq!(incoming.peer.as_ref(), Some(fx.a.destination()));
            let mut got = [0u8; 13];
            incoming.stream.read_exact(&mut got).await.unwrap();
            assert_eq!(&got, b"after-cancel\n");
        })
        .await;
    })
}

#[test]
fn closing_the_session_ends_its_streams() {
    rt().block_on(async {
        let fx = fixture().await;
        within(30, "close", async {
            let c = fx.c.clone();
            let acceptor = tokio::spawn(async move { c.accept().await });
            let mut remote =
                fx.a.connect(&fx.c.destination().to_base64())
                    .await
                    .expect("A connects to C");
            remote.write_all(b"hello C\n").await.unwrap();
            let mut incoming = acceptor.await.unwrap().expect("C accepts");
            let mut hello = [0u8; 8];
            incoming.stream.read_exact(&mut hello).await.unwrap();

            fx.c.close().await;
            assert!(fx.c.is_closed());
            let mut rest = [0u8; 16];
            let ended =
                tokio::time::timeout(Duration::from_secs(10), incoming.stream.read(&mut rest))
                    .await
                    .expect("C's stream did not end within 10 s");
            assert!(
                matches!(ended, Ok(0) | Err(_)),
                "C's stream ended: {ended:?}"
            );

            let dest = fx.a.destination().to_base64();
            assert!(matches!(
                fx.c.connect(&dest).await,
                Err(Error::SessionClosed)
            ));
            assert!(matches!(fx.c.accept().await, Err(Error::SessionClosed)));
            assert!(matches!(fx.c.lookup("ME").await, Err(Error::SessionClosed)));
            assert!(matches!(
                fx.c.forward("127.0.0.1:9".parse().unwrap()).await,
                Err(Error::SessionClosed)
            ));
        })
        .await;
    })
}

#[test]
fn key_file_round_trip() {
    rt().block_on(async {
        let fx = fixture().await;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&fx.keys_path)
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600, "key file mode {mode:o}");
        }
        let loaded = load_keys(&fx.keys_path).await.expect("load");
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
    })
}

#[test]
fn primary_session_with_a_stream_subsession() {
    rt().block_on(async {
        let fx = fixture().await;
        within(30, "primary", async {
            let p = &fx.p;
            let id = [p.id(), "-s1"].concat();
            let sub = p
                .add(SubsessionOptions::new(Style::Stream, id.clone()))
                .await
                .expect("SESSION ADD");
            assert_eq!(sub.id(), id);
            assert_eq!(sub.destination(), p.destination());
            let acceptor = tokio::spawn({
                let sub = sub.clone();
                async move { sub.accept().await }
            });
            let mut stream =
                fx.a.connect(&p.destination().to_base64())
                    .await
                    .expect("A connects to the primary destination");
            stream.write_all(b"to-sub\n").await.unwrap();
            let mut incoming = acceptor.await.unwrap().expect("sub-session accepts");
            assert_eq!(incoming.peer.as_ref(), Some(fx.a.destination()));
            let mut got = [0u8; 7];
            incoming.stream.read_exact(&mut got).await.unwrap();
            assert_eq!(&got, b"to-sub\n");
            p.remove(&id).await.expect("SESSION REMOVE");
            assert!(!p.is_closed());
        })
        .await;
    })
}
