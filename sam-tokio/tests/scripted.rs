//! The adapter against a scripted bridge, for what the testbed's i2pd never does: probes
//! (`PING`), Java's accept line with ports, PRIMARY refused by a 3.3 bridge, datagrams on
//! the control socket, a bridge that closes the control socket, answers arriving after their
//! caller gave up. No router needed.

use std::time::Duration;

use sam_tokio::sam_proto::datagram::UdpHeader;
use sam_tokio::{
    Destination, Error, PrivateKeys, ResultCode, Sam, SamConfig, Session, SessionOptions, Style,
};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream, UdpSocket};

fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed) | 1)
        .collect()
}

/// Keys with a DSA-SHA1 destination (387 bytes: base64 without `=` padding).
fn dsa_keys(seed: u8) -> PrivateKeys {
    let mut b = pattern(384, seed);
    b.extend_from_slice(&[0, 0, 0]);
    b.extend_from_slice(&pattern(256, seed ^ 0x55));
    b.extend_from_slice(&pattern(20, seed ^ 0xaa));
    PrivateKeys::from_bytes(&b).unwrap()
}

/// Keys with an Ed25519 destination (391 bytes: base64 ends in `==`).
fn ed25519_keys(seed: u8) -> PrivateKeys {
    let mut b = pattern(384, seed);
    b.extend_from_slice(&[5, 0, 4, 0, 7, 0, 0]);
    b.extend_from_slice(&pattern(256, seed ^ 0x55));
    b.extend_from_slice(&pattern(32, seed ^ 0xaa));
    PrivateKeys::from_bytes(&b).unwrap()
}

/// One bridge-side connection.
struct Conn(BufReader<TcpStream>);

impl Conn {
    async fn accept(listener: &TcpListener) -> Conn {
        let (s, _) = tokio::time::timeout(Duration::from_secs(5), listener.accept())
            .await
            .expect("the client connects")
            .unwrap();
        Conn(BufReader::new(s))
    }

    async fn line(&mut self) -> String {
        let mut line = String::new();
        tokio::time::timeout(Duration::from_secs(5), self.0.read_line(&mut line))
            .await
            .expect("a line from the client")
            .unwrap();
        line
    }

    async fn send(&mut self, bytes: &[u8]) {
        self.0.get_mut().write_all(bytes).await.unwrap();
    }

    async fn hello(&mut self, version: &str) {
        let hello = self.line().await;
        assert!(
            hello.starts_with("HELLO VERSION MIN=3.1 MAX=3.3"),
            "{hello:?}"
        );
        self.send(
            ["HELLO REPLY RESULT=OK VERSION=", version, "\n"]
                .concat()
                .as_bytes(),
        )
        .await;
    }

    /// Answers HELLO and SESSION CREATE; returns the SESSION CREATE line.
    async fn create(&mut self, version: &str, keys: &PrivateKeys) -> String {
        self.hello(version).await;
        let create = self.line().await;
        assert!(create.starts_with("SESSION CREATE "), "{create:?}");
        let status = [
            "SESSION STATUS RESULT=OK DESTINATION=",
            &keys.to_base64(),
            "\n",
        ]
        .concat();
        self.send(status.as_bytes()).await;
        create
    }
}

async fn bridge() -> (TcpListener, Sam) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let mut config = SamConfig::new(listener.local_addr().unwrap().to_string());
    config.connect_timeout = Duration::from_secs(5);
    config.session_timeout = Duration::from_secs(5);
    config.stream_timeout = Duration::from_secs(5);
    config.lookup_timeout = Duration::from_secs(5);
    (listener, Sam::new(config))
}

async fn session(
    listener: &TcpListener,
    sam: &Sam,
    options: SessionOptions,
    version: &str,
    keys: &PrivateKeys,
) -> (Session, Conn, String) {
    let (session, (conn, line)) = tokio::join!(sam.session(options), async {
        let mut conn = Conn::accept(listener).await;
        let line = conn.create(version, keys).await;
        (conn, line)
    });
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
    let (listener, sam) = bridge().await;
    let server = tokio::spawn(async move {
        let mut conn = Conn::accept(&listener).await;
        conn.line().await;
        conn.send(b"HELLO REPLY RESULT=NOVERSION MESSAGE=\"too old\"\n")
            .await;
    });
    let err = sam.lookup("x.i2p").await.expect_err("refused");
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
    server.await.unwrap();
}

#[tokio::test]
async fn session_defaults_ping_and_commands_whose_caller_gave_up() {
    let (listener, sam) = bridge().await;
    let keys = dsa_keys(1);
    let options = SessionOptions::new(Style::Stream).option("inbound.length", "0");
    let (session, mut conn, create) = session(&listener, &sam, options, "3.2", &keys).await;
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
    conn.send(b"PING 1700000000\n").await;
    assert_eq!(conn.line().await, "PONG 1700000000\n");

    // A lookup abandoned by its caller is still finished on the socket, and its late answer
    // does not reach the next command.
    let abandoned = tokio::time::timeout(Duration::from_millis(50), session.lookup("slow.i2p"));
    assert!(abandoned.await.is_err(), "the caller gave up");
    let slow = dsa_keys(2).destination().to_base64();
    let fast = dsa_keys(3).destination().to_base64();
    let (found, ()) = tokio::join!(session.lookup("fast.i2p"), async {
        assert_eq!(conn.line().await, "NAMING LOOKUP NAME=slow.i2p\n");
        tokio::time::sleep(Duration::from_millis(100)).await;
        let reply = ["NAMING REPLY RESULT=OK NAME=slow.i2p VALUE=", &slow, "\n"].concat();
        conn.send(reply.as_bytes()).await;
        assert_eq!(conn.line().await, "NAMING LOOKUP NAME=fast.i2p\n");
        let reply = ["NAMING REPLY RESULT=OK NAME=fast.i2p VALUE=", &fast, "\n"].concat();
        conn.send(reply.as_bytes()).await;
    });
    assert_eq!(found.unwrap(), Destination::from_base64(&fast).unwrap());

    // A refusal keeps the session; the bridge closing the socket ends it.
    let (refused, ()) = tokio::join!(session.lookup("nope.i2p"), async {
        conn.line().await;
        conn.send(b"NAMING REPLY RESULT=KEY_NOT_FOUND NAME=nope.i2p\n")
            .await;
    });
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
    let (listener, sam) = bridge().await;
    let keys = ed25519_keys(4);
    let server = tokio::spawn(async move {
        let mut first = Conn::accept(&listener).await;
        first.hello("3.3").await;
        let line = first.line().await;
        assert!(line.contains(" STYLE=PRIMARY "), "{line}");
        first
            .send(b"SESSION STATUS RESULT=I2P_ERROR MESSAGE=\"Unknown STYLE\"\n")
            .await;
        drop(first);
        let mut second = Conn::accept(&listener).await;
        second.hello("3.3").await;
        let line = second.line().await;
        assert!(line.contains(" STYLE=MASTER "), "{line}");
        let status = [
            "SESSION STATUS RESULT=OK DESTINATION=",
            &keys.to_base64(),
            "\n",
        ]
        .concat();
        second.send(status.as_bytes()).await;
        second
    });
    let session = sam
        .session(SessionOptions::new(Style::Primary))
        .await
        .expect("MASTER after PRIMARY was refused");
    assert_eq!(session.style(), Style::Primary);
    let _control = server.await.unwrap();

    // Below 3.3 MASTER is sent at once.
    let (listener, sam) = bridge().await;
    let (_session, _conn, line) = session_with(&listener, &sam, Style::Primary, "3.1").await;
    assert!(line.contains(" STYLE=MASTER "), "{line}");
}

async fn session_with(
    listener: &TcpListener,
    sam: &Sam,
    style: Style,
    version: &str,
) -> (Session, Conn, String) {
    session(
        listener,
        sam,
        SessionOptions::new(style),
        version,
        &ed25519_keys(9),
    )
    .await
}

#[tokio::test]
async fn accept_line_with_ports_and_data_in_the_same_read() {
    let (listener, sam) = bridge().await;
    let (session, _control, _) = session_with(&listener, &sam, Style::Stream, "3.2").await;
    let peer = dsa_keys(5).destination().clone();
    let (incoming, ()) = tokio::join!(session.accept(), async {
        let mut conn = Conn::accept(&listener).await;
        conn.hello("3.2").await;
        let accept = conn.line().await;
        assert_eq!(accept, ["STREAM ACCEPT ID=", session.id(), "\n"].concat());
        let mut wire = b"STREAM STATUS RESULT=OK\n".to_vec();
        wire.extend_from_slice(peer.to_base64().as_bytes());
        wire.extend_from_slice(b" FROM_PORT=7 TO_PORT=8\nhello");
        conn.send(&wire).await;
        conn.send(b" world").await;
    });
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
    let (listener, mut sam) = bridge().await;
    let bridge_udp = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let mut config = sam.config().clone();
    config.udp_address = Some(bridge_udp.local_addr().unwrap().to_string());
    sam = Sam::new(config);
    let (session, mut control, create) =
        session_with(&listener, &sam, Style::Datagram, "3.1").await;
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
    control.send(&wire).await;
    let got = socket.recv_from().await.unwrap();
    assert_eq!(got.payload, b"a\nb");
    assert_eq!(got.source.as_ref(), Some(&dsa));
}
