//! sam-async-std on async-std against a bridge played by the test, for what the testbed's i2pd
//! never does: probes (`PING`), Java's accept line with ports, PRIMARY refused by a 3.3
//! bridge, answers arriving after their caller gave up, datagrams on the control socket, a
//! bridge that closes the control socket. No router needed.
//!
//! The bridge is the test kit's scripted bridge (`sam_testkit::hostile`) with every
//! connection handed to the test, which plays it with blocking calls on async-std's blocking
//! pool; the UDP side of the bridge is an async-std socket, the library's are async-net's (both
//! run on the one async-io reactor, which is the point of the crate).

use std::io::Read;
use std::panic::{self, AssertUnwindSafe};
use std::sync::Arc;
use std::time::Duration;

use async_std::future::timeout;
use async_std::net::{TcpListener, UdpSocket};
use futures_lite::future::zip;
use futures_lite::io::{AsyncReadExt, AsyncWriteExt};
use sam_async_std::sam_proto::datagram::UdpHeader;
use sam_async_std::{
    DatagramDelivery, Destination, Error, Sam, SamConfig, Session, SessionOptions, Style,
};
use sam_testkit::hostile::{HostileBridge, Played};
use sam_testkit::keys::{dsa_peer, ed25519_priv};

/// What the played bridge says back to `SESSION CREATE`.
fn session_ok() -> String {
    [
        "SESSION STATUS RESULT=OK DESTINATION=",
        &ed25519_priv(),
        "\n",
    ]
    .concat()
}

/// Runs the bridge's side (blocking reads and writes on [`Played`] connections) on
/// async-std's blocking pool; a panic there (a failed assertion) is raised again here.
async fn play<T: Send + 'static>(bridge: impl FnOnce() -> T + Send + 'static) -> T {
    let outcome =
        async_std::task::spawn_blocking(move || panic::catch_unwind(AssertUnwindSafe(bridge)));
    outcome
        .await
        .unwrap_or_else(|panic| panic::resume_unwind(panic))
}

/// A bridge played by the test, and a handle configured for it with 5 s timeouts.
fn played_bridge() -> (Arc<HostileBridge>, Sam) {
    let bridge = HostileBridge::playing();
    let sam = Sam::new(bridge.config_with(Duration::from_secs(5)));
    (Arc::new(bridge), sam)
}

/// A session of `style` on a bridge agreeing to `version`; returns its control connection
/// and the `SESSION CREATE` line.
async fn played_session(
    bridge: &Arc<HostileBridge>,
    sam: &Sam,
    style: Style,
    version: &str,
) -> (Session, Played, String) {
    played_session_with(bridge, sam, SessionOptions::new(style), version).await
}

async fn played_session_with(
    bridge: &Arc<HostileBridge>,
    sam: &Sam,
    options: SessionOptions,
    version: &str,
) -> (Session, Played, String) {
    let (bridge, version) = (bridge.clone(), version.to_owned());
    let bridge = play(move || {
        let mut control = bridge.next_played();
        let line = control.hello_then(&version, "SESSION CREATE ", session_ok());
        (control, line)
    });
    let (session, (control, line)) = zip(sam.session(options), bridge).await;
    (session.expect("session"), control, line)
}

#[async_std::test]
async fn unreachable_bridge_says_what_to_check() {
    let free = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = free.local_addr().unwrap().to_string();
    drop(free);
    // Timeouts too long for an `Instant` mean "no timeout", not a panic.
    let mut config = SamConfig::new(address.clone());
    config.connect_timeout = Duration::MAX;
    config.session_timeout = Duration::MAX;
    let sam = Sam::new(config);
    let err = sam.session(SessionOptions::default()).await;
    let err = err.expect_err("nothing listens");
    assert!(matches!(err, Error::Unreachable { .. }), "{err:?}");
    let text = err.to_string();
    let start = ["no SAM bridge answers at ", &address, ": is i2pd running"].concat();
    assert!(text.starts_with(&start), "{text}");
}

#[async_std::test]
async fn ping_is_answered_by_the_control_task_and_abandoned_commands_are_finished() {
    let (bridge, sam) = played_bridge();
    let (session, control, create) = played_session(&bridge, &sam, Style::Stream, "3.2").await;
    assert!(create.contains(" STYLE=STREAM ") && create.contains(" SIGNATURE_TYPE="));
    assert_eq!(session.keys().to_base64(), ed25519_priv());

    // Nobody waits on the session: the control task answers the probe by itself.
    let control = play(move || {
        let mut control = control;
        control.send("PING 1700000000\n");
        assert_eq!(control.expect("PONG"), "PONG 1700000000");
        control
    })
    .await;

    // A lookup whose caller gives up is still finished on the socket; its late answer does
    // not reach the next command.
    let gave_up = timeout(Duration::from_millis(50), session.lookup("slow.i2p")).await;
    assert!(gave_up.is_err(), "the caller gave up");
    let peer = dsa_peer();
    let fast = ["NAMING REPLY RESULT=OK NAME=fast.i2p VALUE=", &peer, "\n"].concat();
    let bridge_side = play(move || {
        let mut control = control;
        control.expect("NAMING LOOKUP NAME=slow.i2p");
        std::thread::sleep(Duration::from_millis(100));
        let slow = [
            "NAMING REPLY RESULT=OK NAME=slow.i2p VALUE=",
            &ed25519_priv()[..524],
        ];
        control.send([&slow[..], &["\n"]].concat().concat());
        control.expect("NAMING LOOKUP NAME=fast.i2p");
        control.send(fast);
        control
    });
    let (found, control) = zip(session.lookup("fast.i2p"), bridge_side).await;
    assert_eq!(found.unwrap(), Destination::from_base64(&peer).unwrap());

    // The bridge closing the control socket ends the session.
    drop(control);
    timeout(Duration::from_secs(5), async {
        while !session.is_closed() {
            async_std::task::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .expect("the session notices the close");
    assert!(matches!(
        session.lookup("ME").await,
        Err(Error::SessionClosed)
    ));
    assert!(matches!(session.accept().await, Err(Error::SessionClosed)));
}

#[async_std::test]
async fn accept_line_with_ports_and_data_in_the_same_read() {
    let (bridge, sam) = played_bridge();
    let (session, _control, _) = played_session(&bridge, &sam, Style::Stream, "3.2").await;
    let peer = dsa_peer();
    let ok = [
        "STREAM STATUS RESULT=OK\n",
        &peer,
        " FROM_PORT=7 TO_PORT=8\nhello",
    ]
    .concat();
    let expected_accept = ["STREAM ACCEPT ID=", session.id()].concat();
    let bridge_side = play({
        let bridge = bridge.clone();
        move || {
            let mut conn = bridge.next_played();
            let accept = conn.hello_then("3.2", "STREAM ACCEPT ", ok);
            assert_eq!(accept, expected_accept);
            conn.send(" world");
            conn
        }
    });
    let (incoming, conn) = zip(session.accept(), bridge_side).await;
    let incoming = incoming.expect("accept");
    assert_eq!(
        incoming.peer,
        Some(Destination::from_base64(&peer).unwrap())
    );
    assert_eq!((incoming.from_port, incoming.to_port), (Some(7), Some(8)));
    assert!(incoming.stream.buffered().starts_with(b"hello"));

    // The split halves keep the leftover; writes reach the bridge side.
    let (mut read, mut write) = incoming.stream.into_split();
    let mut first = [0u8; 3];
    read.read_exact(&mut first).await.unwrap();
    assert_eq!(&first, b"hel");
    write.write_all(b"ping").await.unwrap();
    play(move || {
        let mut conn = conn;
        let mut got = [0u8; 4];
        conn.socket().read_exact(&mut got).unwrap();
        assert_eq!(&got, b"ping");
        drop(conn);
    })
    .await;
    let mut rest = Vec::new();
    read.read_to_end(&mut rest).await.unwrap();
    assert_eq!(rest, b"lo world");
}

#[async_std::test]
async fn primary_refused_by_a_3_3_bridge_falls_back_to_master() {
    let (bridge, sam) = played_bridge();
    let bridge_side = play({
        let bridge = bridge.clone();
        move || {
            let mut first = bridge.next_played();
            let refusal = "SESSION STATUS RESULT=I2P_ERROR MESSAGE=\"Unknown STYLE\"\n";
            let line = first.hello_then("3.3", "SESSION CREATE ", refusal);
            assert!(line.contains(" STYLE=PRIMARY "), "{line}");
            drop(first);
            let mut second = bridge.next_played();
            let line = second.hello_then("3.3", "SESSION CREATE ", session_ok());
            assert!(line.contains(" STYLE=MASTER "), "{line}");
            second
        }
    });
    let primary = sam.session(SessionOptions::new(Style::Primary));
    let (session, _control) = zip(primary, bridge_side).await;
    assert_eq!(
        session.expect("MASTER after PRIMARY").style(),
        Style::Primary
    );
}

#[async_std::test]
async fn datagrams_over_udp_and_the_control_socket() {
    let (bridge, sam) = played_bridge();
    let bridge_udp = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let mut config = sam.config().clone();
    config.udp_address = Some(bridge_udp.local_addr().unwrap().to_string());
    let sam = Sam::new(config);
    let mut over_udp = SessionOptions::new(Style::Datagram);
    over_udp.datagram_delivery = DatagramDelivery::Udp;
    let (session, control, create) = played_session_with(&bridge, &sam, over_udp, "3.1").await;
    assert!(create.contains(" HOST=127.0.0.1 "), "{create}");
    let socket = session.datagram_socket().await.unwrap();
    let port = socket.local_addr().unwrap().port();
    assert!(create.contains(&[" PORT=", &port.to_string(), " "].concat()));

    let peer = Destination::from_base64(&dsa_peer()).unwrap();
    socket
        .send_to(&peer, b"over udp", Some((1, 2)))
        .await
        .unwrap();
    let mut buf = vec![0u8; 4096];
    let n = bridge_udp.recv(&mut buf).await.unwrap();
    let (header, payload) = UdpHeader::parse_packet(&buf[..n]).unwrap();
    assert_eq!(
        (header.id.as_str(), payload),
        (session.id(), &b"over udp"[..])
    );
    assert_eq!((header.from_port, header.to_port), (Some(1), Some(2)));

    // Garbage is skipped and counted; a forwarded datagram and one on the control socket
    // both arrive.
    let to = ("127.0.0.1", port);
    bridge_udp.send_to(b"no header line", to).await.unwrap();
    let forwarded = [dsa_peer().as_bytes(), b"\nforwarded"].concat();
    bridge_udp.send_to(&forwarded, to).await.unwrap();
    let got = socket.recv_from().await.unwrap();
    assert_eq!(
        (got.payload.as_slice(), got.source.as_ref()),
        (&b"forwarded"[..], Some(&peer))
    );
    assert_eq!(socket.skipped(), 1);
    let line = [
        "DATAGRAM RECEIVED DESTINATION=",
        &dsa_peer(),
        " SIZE=3\na\nb",
    ]
    .concat();
    let _control = play(move || {
        let mut control = control;
        control.send(line);
        control
    })
    .await;
    let got = socket.recv_from().await.unwrap();
    assert_eq!(
        (got.payload.as_slice(), got.source.as_ref()),
        (&b"a\nb"[..], Some(&peer))
    );
}
