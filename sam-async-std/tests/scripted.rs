//! The adapter on async-std against a bridge played by the test, for what the testbed's i2pd
//! never does: probes (`PING`), Java's accept line with ports, PRIMARY refused by a 3.3
//! bridge, answers arriving after their caller gave up, datagrams on the control socket, a
//! bridge that closes the control socket. No router needed.
//!
//! The bridge side uses async-std's own sockets; the library uses async-net's. Both run on
//! the one async-io reactor, which is the point of the crate.

use std::time::Duration;

use async_std::future::timeout;
use async_std::net::{TcpListener, TcpStream, UdpSocket};
use futures_lite::future::zip;
use futures_lite::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader, Lines};
use futures_lite::StreamExt;
use sam_async_std::sam_proto::datagram::UdpHeader;
use sam_async_std::{Destination, Error, Sam, SamConfig, Session, SessionOptions, Style};
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

/// The client side of one played connection: lines it sent, and a way to answer.
struct Played {
    lines: Lines<BufReader<TcpStream>>,
    out: TcpStream,
}

impl Played {
    /// Waits (5 s at most) for the client's next connection.
    async fn accept(listener: &TcpListener) -> Played {
        let wait = timeout(Duration::from_secs(5), listener.accept());
        let (socket, _) = wait.await.expect("the client connects").expect("accept");
        let out = socket.clone();
        let lines = BufReader::new(socket).lines();
        Played { lines, out }
    }

    /// The client's next line (without `\n`), which must start with `prefix`.
    async fn expect(&mut self, prefix: &str) -> String {
        let next = timeout(Duration::from_secs(5), self.lines.next()).await;
        let line = next
            .expect("a line in time")
            .expect("a line")
            .expect("UTF-8");
        assert!(
            line.starts_with(prefix),
            "expected {prefix:?}, got {line:?}"
        );
        line
    }

    async fn say(&mut self, bytes: impl AsRef<[u8]>) {
        self.out.write_all(bytes.as_ref()).await.expect("write");
    }

    /// Plays `HELLO` (agreeing to `version`), then answers one `command` line with `reply`.
    async fn hello_then(&mut self, version: &str, command: &str, reply: &str) -> String {
        self.expect("HELLO VERSION MIN=3.1 MAX=3.3").await;
        self.say(["HELLO REPLY RESULT=OK VERSION=", version, "\n"].concat())
            .await;
        let line = self.expect(command).await;
        self.say(reply).await;
        line
    }
}

/// A listener playing the bridge, and a handle configured for it with 5 s timeouts.
async fn played_bridge() -> (TcpListener, Sam) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let mut config = SamConfig::new(listener.local_addr().unwrap().to_string());
    let five = Duration::from_secs(5);
    config.connect_timeout = five;
    config.session_timeout = five;
    config.stream_timeout = five;
    config.lookup_timeout = five;
    (listener, Sam::new(config))
}

/// A session of `style` on a bridge agreeing to `version`; returns its control connection
/// and the `SESSION CREATE` line.
async fn played_session(
    listener: &TcpListener,
    sam: &Sam,
    style: Style,
    version: &str,
) -> (Session, Played, String) {
    let bridge = async {
        let mut control = Played::accept(listener).await;
        let ok = session_ok();
        let line = control.hello_then(version, "SESSION CREATE ", &ok).await;
        (control, line)
    };
    let (session, (control, line)) = zip(sam.session(SessionOptions::new(style)), bridge).await;
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
    let (listener, sam) = played_bridge().await;
    let (session, mut control, create) =
        played_session(&listener, &sam, Style::Stream, "3.2").await;
    assert!(create.contains(" STYLE=STREAM ") && create.contains(" SIGNATURE_TYPE="));
    assert_eq!(session.keys().to_base64(), ed25519_priv());

    // Nobody waits on the session: the control task answers the probe by itself.
    control.say("PING 1700000000\n").await;
    assert_eq!(control.expect("PONG").await, "PONG 1700000000");

    // A lookup whose caller gives up is still finished on the socket; its late answer does
    // not reach the next command.
    let gave_up = timeout(Duration::from_millis(50), session.lookup("slow.i2p")).await;
    assert!(gave_up.is_err(), "the caller gave up");
    let peer = dsa_peer();
    let bridge = async {
        control.expect("NAMING LOOKUP NAME=slow.i2p").await;
        async_std::task::sleep(Duration::from_millis(100)).await;
        let slow = [
            "NAMING REPLY RESULT=OK NAME=slow.i2p VALUE=",
            &ed25519_priv()[..524],
        ];
        control.say([&slow[..], &["\n"]].concat().concat()).await;
        control.expect("NAMING LOOKUP NAME=fast.i2p").await;
        let fast = ["NAMING REPLY RESULT=OK NAME=fast.i2p VALUE=", &peer, "\n"].concat();
        control.say(fast).await;
    };
    let (found, ()) = zip(session.lookup("fast.i2p"), bridge).await;
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
    let (listener, sam) = played_bridge().await;
    let (session, _control, _) = played_session(&listener, &sam, Style::Stream, "3.2").await;
    let peer = dsa_peer();
    let bridge = async {
        let mut conn = Played::accept(&listener).await;
        let ok = [
            "STREAM STATUS RESULT=OK\n",
            &peer,
            " FROM_PORT=7 TO_PORT=8\nhello",
        ]
        .concat();
        let accept = conn.hello_then("3.2", "STREAM ACCEPT ", &ok).await;
        assert_eq!(accept, ["STREAM ACCEPT ID=", session.id()].concat());
        conn.say(" world").await;
        conn
    };
    let (incoming, mut conn) = zip(session.accept(), bridge).await;
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
    let mut got = [0u8; 4];
    conn.out.read_exact(&mut got).await.unwrap();
    assert_eq!(&got, b"ping");
    drop(conn);
    let mut rest = Vec::new();
    read.read_to_end(&mut rest).await.unwrap();
    assert_eq!(rest, b"lo world");
}

#[async_std::test]
async fn primary_refused_by_a_3_3_bridge_falls_back_to_master() {
    let (listener, sam) = played_bridge().await;
    let bridge = async {
        let mut first = Played::accept(&listener).await;
        let refusal = "SESSION STATUS RESULT=I2P_ERROR MESSAGE=\"Unknown STYLE\"\n";
        let line = first.hello_then("3.3", "SESSION CREATE ", refusal).await;
        assert!(line.contains(" STYLE=PRIMARY "), "{line}");
        drop(first);
        let mut second = Played::accept(&listener).await;
        let line = second
            .hello_then("3.3", "SESSION CREATE ", &session_ok())
            .await;
        assert!(line.contains(" STYLE=MASTER "), "{line}");
        second
    };
    let primary = sam.session(SessionOptions::new(Style::Primary));
    let (session, _control) = zip(primary, bridge).await;
    assert_eq!(
        session.expect("MASTER after PRIMARY").style(),
        Style::Primary
    );
}

#[async_std::test]
async fn datagrams_over_udp_and_the_control_socket() {
    let (listener, mut sam) = played_bridge().await;
    let bridge_udp = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let mut config = sam.config().clone();
    config.udp_address = Some(bridge_udp.local_addr().unwrap().to_string());
    sam = Sam::new(config);
    let (session, mut control, create) =
        played_session(&listener, &sam, Style::Datagram, "3.1").await;
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
    control.say(line).await;
    let got = socket.recv_from().await.unwrap();
    assert_eq!(
        (got.payload.as_slice(), got.source.as_ref()),
        (&b"a\nb"[..], Some(&peer))
    );
}
