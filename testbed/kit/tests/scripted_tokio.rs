//! sam-tokio against a bridge played by the test (the test kit's scripted bridge,
//! `sam_testkit::hostile`, with every connection handed to the test), for what the testbed's i2pd never does: probes
//! (`PING`), Java's accept line with ports, PRIMARY refused by a 3.3 bridge, datagrams on
//! the control socket, a bridge that closes the control socket, answers arriving after their
//! caller gave up. No router needed.

use std::time::Duration;

use sam_testkit::hostile::{dsa_keys, ed25519_keys, HostileBridge, Played};
use sam_tokio::sam_proto::datagram::UdpHeader;
use sam_tokio::{
    DatagramDelivery, Destination, Error, PrivateKeys, ResultCode, Sam, SamConfig, Session,
    SessionOptions, Style,
};
use tokio::io::AsyncReadExt;
use tokio::net::{TcpListener, UdpSocket};

/// Runs the bridge's side (blocking reads and writes on [`Played`] connections) on tokio's
/// blocking pool; a panic there (a failed assertion) is raised again here.
async fn play<T: Send + 'static>(bridge: impl FnOnce() -> T + Send + 'static) -> T {
    match tokio::task::spawn_blocking(bridge).await {
        Ok(value) => value,
        Err(e) => match e.try_into_panic() {
            Ok(panic) => std::panic::resume_unwind(panic),
            Err(e) => panic!("the bridge's task failed: {e}"),
        },
    }
}

/// A bridge played by the test (the kit's scripted bridge, every connection handed over),
/// and a handle configured for it with 5 s timeouts.
fn played_bridge() -> (std::sync::Arc<HostileBridge>, Sam) {
    let bridge = HostileBridge::playing();
    let sam = Sam::new(bridge.config_with(Duration::from_secs(5)));
    (std::sync::Arc::new(bridge), sam)
}

async fn session(
    bridge: &std::sync::Arc<HostileBridge>,
    sam: &Sam,
    options: SessionOptions,
    version: &str,
    keys: &PrivateKeys,
) -> (Session, Played, String) {
    let (bridge, version, keys) = (bridge.clone(), version.to_owned(), keys.clone());
    let (session, (conn, line)) = tokio::join!(
        sam.session(options),
        play(move || {
            let mut conn = bridge.next_played();
            let line = conn.create(&version, &keys);
            (conn, line)
        })
    );
    (session.expect("session"), conn, line)
}

#[tokio::test]
async fn unreachable_bridge_says_what_to_check() {
    let port = TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let address = ["127.0.0.1:", &port.to_string()].concat();
    // Duration::MAX means "wait as long as it takes": it must not overflow a deadline.
    let mut config = SamConfig::new(address.clone());
    config.connect_timeout = Duration::MAX;
    let err = Sam::new(config)
        .lookup("x.i2p")
        .await
        .expect_err("nothing listens");
    assert!(matches!(err, Error::Unreachable { .. }), "{err:?}");
    let text = err.to_string();
    assert!(
        text.starts_with(&["no SAM bridge answers at ", &address, ": is i2pd running"].concat()),
        "{text}"
    );
}

#[tokio::test]
async fn hello_refusal_names_hello_and_keeps_the_message() {
    let (bridge, sam) = played_bridge();
    let server = play({
        let bridge = bridge.clone();
        move || {
            let mut conn = bridge.next_played();
            conn.line();
            conn.send(b"HELLO REPLY RESULT=NOVERSION MESSAGE=\"too old\"\n");
            conn
        }
    });
    let (err, _conn) = tokio::join!(sam.lookup("x.i2p"), server);
    let err = err.expect_err("refused");
    match &err {
        Error::Refused {
            operation,
            result,
            message,
        } => {
            assert!(operation.starts_with("HELLO"));
            assert_eq!(*result, ResultCode::NoVersion);
            assert_eq!(message.as_deref(), Some("too old"));
        }
        other => panic!("{other:?}"),
    }
    assert!(err.to_string().contains("(too old)"), "{err}");
}

#[tokio::test]
async fn session_defaults_ping_and_commands_whose_caller_gave_up() {
    let (bridge, sam) = played_bridge();
    let keys = dsa_keys(1);
    let options = SessionOptions::new(Style::Stream).option("inbound.length", "0");
    let (session, mut conn, create) = session(&bridge, &sam, options, "3.2", &keys).await;
    assert!(create.contains(" STYLE=STREAM "), "{create}");
    assert!(create.contains(" DESTINATION=TRANSIENT "), "{create}");
    assert!(
        create.contains(" SIGNATURE_TYPE="),
        "Ed25519 asked for: {create}"
    );
    assert!(create.contains(" i2cp.leaseSetEncType=4,0"), "{create}");
    assert!(create.contains(" inbound.length=0"), "{create}");
    assert_eq!(session.keys(), &keys);
    assert!(session.id().starts_with("sam-"));
    assert!(!format!("{session:?}").contains(&keys.to_base64()[..40]));

    // The bridge probes; the control task answers.
    let mut conn = play(move || {
        conn.send(b"PING 1700000000\n");
        assert_eq!(conn.line(), "PONG 1700000000\n");
        conn
    })
    .await;

    // A lookup abandoned by its caller is still finished on the socket, and its late answer
    // does not reach the next command.
    let abandoned = tokio::time::timeout(Duration::from_millis(50), session.lookup("slow.i2p"));
    assert!(abandoned.await.is_err(), "the caller gave up");
    let slow = dsa_keys(2).destination().to_base64();
    let fast = dsa_keys(3).destination().to_base64();
    let fast_reply = fast.clone();
    let (found, mut conn) = tokio::join!(
        session.lookup("fast.i2p"),
        play(move || {
            assert_eq!(conn.line(), "NAMING LOOKUP NAME=slow.i2p\n");
            std::thread::sleep(Duration::from_millis(100));
            let reply = ["NAMING REPLY RESULT=OK NAME=slow.i2p VALUE=", &slow, "\n"].concat();
            conn.send(reply.as_bytes());
            assert_eq!(conn.line(), "NAMING LOOKUP NAME=fast.i2p\n");
            let reply = [
                "NAMING REPLY RESULT=OK NAME=fast.i2p VALUE=",
                &fast_reply,
                "\n",
            ]
            .concat();
            conn.send(reply.as_bytes());
            conn
        })
    );
    assert_eq!(found.unwrap(), Destination::from_base64(&fast).unwrap());

    // A refusal keeps the session; the bridge closing the socket ends it.
    let (refused, conn) = tokio::join!(
        session.lookup("nope.i2p"),
        play(move || {
            conn.line();
            conn.send(b"NAMING REPLY RESULT=KEY_NOT_FOUND NAME=nope.i2p\n");
            conn
        })
    );
    assert!(refused.unwrap_err().result_code().unwrap().is_not_found());
    assert!(!session.is_closed());
    drop(conn);
    tokio::time::timeout(Duration::from_secs(5), async {
        while !session.is_closed() {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .expect("the session notices the close");
    assert!(matches!(
        session.lookup("x.i2p").await,
        Err(Error::SessionClosed)
    ));
    assert!(matches!(
        session.connect("x.i2p").await,
        Err(Error::SessionClosed)
    ));
}

#[tokio::test]
async fn primary_refused_by_a_3_3_bridge_falls_back_to_master() {
    let (bridge, sam) = played_bridge();
    let keys = ed25519_keys(4);
    let server = play({
        let bridge = bridge.clone();
        move || {
            let mut first = bridge.next_played();
            first.hello("3.3");
            let line = first.line();
            assert!(line.contains(" STYLE=PRIMARY "), "{line}");
            first.send(b"SESSION STATUS RESULT=I2P_ERROR MESSAGE=\"Unknown STYLE\"\n");
            drop(first);
            let mut second = bridge.next_played();
            second.hello("3.3");
            let line = second.line();
            assert!(line.contains(" STYLE=MASTER "), "{line}");
            let status = [
                "SESSION STATUS RESULT=OK DESTINATION=",
                &keys.to_base64(),
                "\n",
            ]
            .concat();
            second.send(status.as_bytes());
            second
        }
    });
    let (session, _control) =
        tokio::join!(sam.session(SessionOptions::new(Style::Primary)), server);
    let session = session.expect("MASTER after PRIMARY was refused");
    assert_eq!(session.style(), Style::Primary);

    // Below 3.3 MASTER is sent at once.
    let (bridge, sam) = played_bridge();
    let (_session, _conn, line) = session_with(&bridge, &sam, Style::Primary, "3.1").await;
    assert!(line.contains(" STYLE=MASTER "), "{line}");
}

async fn session_with(
    bridge: &std::sync::Arc<HostileBridge>,
    sam: &Sam,
    style: Style,
    version: &str,
) -> (Session, Played, String) {
    session(
        bridge,
        sam,
        SessionOptions::new(style),
        version,
        &ed25519_keys(9),
    )
    .await
}

#[tokio::test]
async fn accept_line_with_ports_and_data_in_the_same_read() {
    let (bridge, sam) = played_bridge();
    let (session, _control, _) = session_with(&bridge, &sam, Style::Stream, "3.2").await;
    let peer = dsa_keys(5).destination().clone();
    let expected_accept = ["STREAM ACCEPT ID=", session.id(), "\n"].concat();
    let peer_b64 = peer.to_base64();
    let (incoming, _conn) = tokio::join!(
        session.accept(),
        play({
            let bridge = bridge.clone();
            move || {
                let mut conn = bridge.next_played();
                conn.hello("3.2");
                let accept = conn.line();
                assert_eq!(accept, expected_accept);
                let mut wire = b"STREAM STATUS RESULT=OK\n".to_vec();
                wire.extend_from_slice(peer_b64.as_bytes());
                wire.extend_from_slice(b" FROM_PORT=7 TO_PORT=8\nhello");
                conn.send(&wire);
                conn.send(b" world");
                // Dropped: the bridge closes the stream after " world".
            }
        })
    );
    let mut incoming = incoming.expect("accept");
    assert_eq!(incoming.peer.as_ref(), Some(&peer));
    assert_eq!((incoming.from_port, incoming.to_port), (Some(7), Some(8)));
    assert!(incoming.stream.buffered().starts_with(b"hello"));
    let mut all = Vec::new();
    incoming.stream.read_to_end(&mut all).await.unwrap();
    assert_eq!(all, b"hello world");
}

#[tokio::test]
async fn datagrams_over_udp_and_the_control_socket() {
    let (bridge, sam) = played_bridge();
    let bridge_udp = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let mut config = sam.config().clone();
    config.udp_address = Some(bridge_udp.local_addr().unwrap().to_string());
    let sam = Sam::new(config);
    let mut over_udp = SessionOptions::new(Style::Datagram);
    over_udp.datagram_delivery = DatagramDelivery::Udp;
    let (session, control, create) =
        session(&bridge, &sam, over_udp, "3.1", &ed25519_keys(9)).await;
    assert!(create.contains(" HOST=127.0.0.1 "), "{create}");
    let port: u16 = create
        .split(" PORT=")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .unwrap()
        .parse()
        .unwrap();
    let socket = session.datagram_socket().await.unwrap();
    assert_eq!(socket.local_addr().unwrap().port(), port);

    // Sending: one UDP packet to the bridge, also for base64 with `=` padding.
    let dsa = dsa_keys(6).destination().clone();
    let ed = ed25519_keys(7).destination().clone();
    assert!(ed.to_base64().ends_with('='));
    for dest in [&dsa, &ed] {
        socket.send_to(dest, b"over udp", None).await.unwrap();
        let mut buf = vec![0u8; 4096];
        let n = bridge_udp.recv(&mut buf).await.unwrap();
        let (header, payload) = UdpHeader::parse_packet(&buf[..n]).unwrap();
        assert_eq!(header.id.as_str(), session.id());
        assert_eq!(header.destination, dest.to_base64());
        assert_eq!(payload, b"over udp");
    }

    // Receiving: garbage (skipped), a forwarded repliable datagram, one on the control socket.
    let to = ("127.0.0.1", port);
    bridge_udp
        .send_to(b"garbage without a line", to)
        .await
        .unwrap();
    let mut packet = ed.to_base64().into_bytes();
    packet.extend_from_slice(b"\nforwarded");
    bridge_udp.send_to(&packet, to).await.unwrap();
    let got = socket.recv_from().await.unwrap();
    assert_eq!(got.payload, b"forwarded");
    assert_eq!(got.source.as_ref(), Some(&ed));
    assert_eq!((got.from_port, got.to_port), (None, None));
    assert_eq!(socket.skipped(), 1);

    let mut wire = [
        "DATAGRAM RECEIVED DESTINATION=",
        &dsa.to_base64(),
        " SIZE=3\n",
    ]
    .concat()
    .into_bytes();
    wire.extend_from_slice(b"a\nb");
    let _control = play(move || {
        let mut control = control;
        control.send(&wire);
        control
    })
    .await;
    let got = socket.recv_from().await.unwrap();
    assert_eq!(got.payload, b"a\nb");
    assert_eq!(got.source.as_ref(), Some(&dsa));
}
