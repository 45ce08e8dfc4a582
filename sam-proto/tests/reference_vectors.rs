//! Reply and command lines from sam-proto/PROTOCOL.md (§11.1–§11.6) and from the i2pd 2.45.1
//! transcripts (testbed/i2pd-2.45-transcripts.md), parsed to exact typed values, re-encoded where the original
//! is canonical, and driven through the exchanges and the control socket.
//!
//! `<...>` placeholders of the documents are filled with real values: the constructed Ed25519
//! PUB (524 chars) and PRIV (908 chars) of §11.6, the zzz.i2p and i2p-projekt.i2p destinations
//! of §11.5.

use std::borrow::Cow;

use sam_proto::command::{
    options, Command, DatagramSend, DestGenerate, Hello, NamingLookup, Ping, Pong, Quit, RawSend,
    SessionAdd, SessionCreate, SessionRemove, StreamAccept, StreamConnect, StreamForward,
};
use sam_proto::control::{Completion, ControlCommand, ControlEvent, ControlSocket};
use sam_proto::datagram::{encode_repliable, parse_repliable, RawHeader, UdpHeader};
use sam_proto::exchange::{Accepted, Exchange, Request, Step};
use sam_proto::keys::{Destination, PrivateKeys, SigType};
use sam_proto::message::{KeyValue, Message};
use sam_proto::reply::{
    DatagramReceived, DestReply, HelloReply, LeaseSetOptions, NamingReply, OtherStatus, PeerLine,
    RawReceived, Reply, SessionStatus, StreamStatus,
};
use sam_proto::{Error, ResultCode, Secret, SessionId, SessionStyle, Version};

// ---------------------------------------------------------------------------------------------
// Key material (§11.5, §11.6)
// ---------------------------------------------------------------------------------------------

/// §11.6 constructed Ed25519 destination (391 bytes, 524 chars).
const PUB: &str = "UZD0uId3hp0jjP6CV43QekceP~4lsJgpudwLncUx~a9RkPS4h3eGnSOM~oJXjdB6Rx4~~iWwmCm53AudxTH9r1GQ9LiHd4adI4z-gleN0HpHHj~-JbCYKbncC53FMf2vUZD0uId3hp0jjP6CV43QekceP~4lsJgpudwLncUx~a9RkPS4h3eGnSOM~oJXjdB6Rx4~~iWwmCm53AudxTH9r1GQ9LiHd4adI4z-gleN0HpHHj~-JbCYKbncC53FMf2vUZD0uId3hp0jjP6CV43QekceP~4lsJgpudwLncUx~a9RkPS4h3eGnSOM~oJXjdB6Rx4~~iWwmCm53AudxTH9r1GQ9LiHd4adI4z-gleN0HpHHj~-JbCYKbncC53FMf2vUZD0uId3hp0jjP6CV43QekceP~4lsJgpudwLncUx~a9RkPS4h3eGnSOM~oJXjdB6Rx4~~iWwmCm53AudxTH9rwOhB7~zzhC-HXDdGOdLwJln5NYwm6UNXx3chmQSVTG4BQAEAAcAAA==";
/// §11.6 constructed PRIV blob of `PUB` (679 bytes, 908 chars).
const PRIV: &str = include_str!("data/priv908.txt");
/// b32 of `PUB`.
const PUB_B32: &str = "gxtm2jk2rmyu3dymfncjyu6jgbu2aysvzjjd3kdsx3ugsp6y6bdq.b32.i2p";
/// zzz.i2p (Ed25519, 524 chars), the destination of the §11.3 accept lines.
const ZZZ: &str = "GKapJ8koUcBj~jmQzHsTYxDg2tpfWj0xjQTzd8BhfC9c3OS5fwPBNajgF-eOD6eCjFTqTlorlh7Hnd8kXj1qblUGXT-tDoR9~YV8dmXl51cJn9MVTRrEqRWSJVXbUUz9t5Po6Xa247Vr0sJn27R4KoKP8QVj1GuH6dB3b6wTPbOamC3dkO18vkQkfZWUdRMDXk0d8AdjB0E0864nOT~J9Fpnd2pQE5uoFT6P0DqtQR2jsFvf9ME61aqLvKPPWpkgdn4z6Zkm-NJOcDz2Nv8Si7hli94E9SghMYRsdjU-knObKvxiagn84FIwcOpepxuG~kFXdD5NfsH0v6Uri3usE3XWD7Pw6P8qVYF39jUIq4OiNMwPnNYzy2N4mDMQdsdHO3LUVh~DEppOy9AAmEoHDjjJxt2BFBbGxfdpZCpENkwvmZeYUyNCCzASqTOOlNzdpne8cuesn3NDXIpNnqEE6Oe5Qm5YOJykrX~Vx~cFFT3QzDGkIjjxlFBsjUJyYkFjBQAEAAcAAA==";
const ZZZ_B32: &str = "lhbd7ojcaiofbfku7ixh47qj537g572zmhdc4oilvugzxdpdghua.b32.i2p";
/// i2p-projekt.i2p (DSA_SHA1, NULL certificate, 516 chars, no `=` padding).
const I2P_PROJEKT: &str = "8ZAW~KzGFMUEj0pdchy6GQOOZbuzbqpWtiApEj8LHy2~O~58XKxRrA43cA23a9oDpNZDqWhRWEtehSnX5NoCwJcXWWdO1ksKEUim6cQLP-VpQyuZTIIqwSADwgoe6ikxZG0NGvy5FijgxF4EW9zg39nhUNKRejYNHhOBZKIX38qYyXoB8XCVJybKg89aMMPsCT884F0CLBKbHeYhpYGmhE4YW~aV21c5pebivvxeJPWuTBAOmYxAIgJE3fFU-fucQn9YyGUFa8F3t-0Vco-9qVNSEWfgrdXOdKT6orr3sfssiKo3ybRWdTpxycZ6wB4qHWgTSU5A-gOA3ACTCMZBsASN3W5cz6GRZCspQ0HNu~R~nJ8V06Mmw~iVYOu5lDvipmG6-dJky6XRxCedczxMM1GWFoieQ8Ysfuxq-j8keEtaYmyUQme6TcviCEvQsxyVirr~dTC-F8aZ~y2AlG5IJz5KD02nO6TRkI2fgjHhv9OZ9nskh-I2jxAzFP6Is1kyAAAA";

fn pub_dest() -> Destination {
    Destination::from_base64(PUB).unwrap()
}

fn zzz_dest() -> Destination {
    Destination::from_base64(ZZZ).unwrap()
}

fn priv_keys() -> PrivateKeys {
    PrivateKeys::from_base64(PRIV).unwrap()
}

#[test]
fn key_constants_have_the_documented_shapes() {
    assert_eq!(PUB.len(), 524);
    assert_eq!(PRIV.len(), 908);
    assert_eq!(ZZZ.len(), 524);
    assert_eq!(I2P_PROJEKT.len(), 516);
    assert_eq!(priv_keys().destination(), &pub_dest());
    assert_eq!(pub_dest().b32_address().to_string(), PUB_B32);
    assert_eq!(zzz_dest().b32_address().to_string(), ZZZ_B32);
    assert_eq!(zzz_dest().sig_type(), SigType::Ed25519);
}

// ---------------------------------------------------------------------------------------------
// Reply builders and the reply check
// ---------------------------------------------------------------------------------------------

fn cow(text: &str) -> Cow<'static, str> {
    Cow::Owned(text.to_owned())
}

fn oc(text: Option<&str>) -> Option<Cow<'static, str>> {
    text.map(cow)
}

fn hello_r(result: ResultCode, version: Option<Version>, message: Option<&str>) -> Reply<'static> {
    Reply::Hello(HelloReply {
        result,
        version,
        message: oc(message),
        extra: vec![],
    })
}

fn session_r(
    result: ResultCode,
    destination: Option<&str>,
    id: Option<&str>,
    message: Option<&str>,
) -> Reply<'static> {
    Reply::Session(SessionStatus {
        result,
        destination: destination.map(|d| Secret::new(d.to_owned())),
        id: oc(id),
        message: oc(message),
        extra: vec![],
    })
}

fn stream_r(result: ResultCode, message: Option<&str>) -> Reply<'static> {
    Reply::Stream(StreamStatus {
        result,
        message: oc(message),
        extra: vec![],
    })
}

fn dest_r(
    result: Option<ResultCode>,
    public: Option<&str>,
    private: Option<&str>,
    message: Option<&str>,
) -> Reply<'static> {
    Reply::Dest(DestReply {
        result,
        public: oc(public),
        private: private.map(|p| Secret::new(p.to_owned())),
        message: oc(message),
        extra: vec![],
    })
}

fn naming_r(
    result: ResultCode,
    name: Option<&str>,
    value: Option<&str>,
    message: Option<&str>,
    extra: Vec<KeyValue<'static>>,
) -> Reply<'static> {
    Reply::Naming(NamingReply {
        result,
        name: oc(name),
        value: oc(value),
        message: oc(message),
        extra,
    })
}

fn other_r(verb: &str, result: ResultCode, message: Option<&str>) -> Reply<'static> {
    Reply::OtherStatus(OtherStatus {
        verb: cow(verb),
        result,
        message: oc(message),
        extra: vec![],
    })
}

fn datagram_r(dest: &str, size: usize, ports: Option<(u16, u16)>) -> Reply<'static> {
    Reply::DatagramReceived(DatagramReceived {
        destination: cow(dest),
        size,
        from_port: ports.map(|p| p.0),
        to_port: ports.map(|p| p.1),
        extra: vec![],
    })
}

fn raw_r(size: usize, protocol: Option<u8>, ports: Option<(u16, u16)>) -> Reply<'static> {
    Reply::RawReceived(RawReceived {
        size,
        protocol,
        from_port: ports.map(|p| p.0),
        to_port: ports.map(|p| p.1),
        extra: vec![],
    })
}

/// One reply vector: the line (without terminator), its typed value, and whether the encoder
/// writes exactly this line back (quotes only where needed, canonical key order).
struct Vector {
    line: String,
    expected: Reply<'static>,
    canonical: bool,
}

fn v(line: impl Into<String>, expected: Reply<'static>) -> Vector {
    Vector {
        line: line.into(),
        expected,
        canonical: true,
    }
}

fn v_noncanonical(line: impl Into<String>, expected: Reply<'static>) -> Vector {
    Vector {
        line: line.into(),
        expected,
        canonical: false,
    }
}

fn expected_result(r: &Reply<'_>) -> Option<ResultCode> {
    match r {
        Reply::Hello(m) => Some(m.result.clone()),
        Reply::Dest(m) => m.result.clone(),
        Reply::Naming(m) => Some(m.result.clone()),
        Reply::Session(m) => Some(m.result.clone()),
        Reply::Stream(m) => Some(m.result.clone()),
        Reply::OtherStatus(m) => Some(m.result.clone()),
        _ => None,
    }
}

fn check_vectors(vectors: &[Vector]) {
    for vec in vectors {
        let line = &vec.line;
        // With `\n`, with `\r\n`, and as a last line ended by EOF: the same value.
        for wire in [line.clone(), format!("{line}\n"), format!("{line}\r\n")] {
            let got = Reply::parse(wire.as_bytes())
                .unwrap_or_else(|e| panic!("Reply::parse({wire:?}) failed: {e:?}"));
            assert_eq!(got, vec.expected, "parsing {wire:?}");
            assert_eq!(
                got.result().cloned(),
                expected_result(&vec.expected),
                "{line}"
            );
        }
        let mut out = Vec::new();
        vec.expected
            .encode(Version::V3_3, &mut out)
            .unwrap_or_else(|e| panic!("re-encoding {line:?} failed: {e:?}"));
        if vec.canonical {
            assert_eq!(
                String::from_utf8_lossy(&out),
                format!("{line}\n"),
                "re-encoding is not byte-identical"
            );
        }
        assert_eq!(Reply::parse(&out).unwrap(), vec.expected, "{line}");
    }
}

// ---------------------------------------------------------------------------------------------
// §11.1 HELLO
// ---------------------------------------------------------------------------------------------

#[test]
fn reference_11_1_hello_replies() {
    use ResultCode::*;
    let err = |m: &str| {
        v(
            format!("HELLO REPLY RESULT=I2P_ERROR MESSAGE=\"{m}\""),
            hello_r(I2pError, None, Some(m)),
        )
    };
    check_vectors(&[
        v(
            "HELLO REPLY RESULT=OK VERSION=3.3",
            hello_r(Ok, Some(Version::V3_3), None),
        ),
        v(
            "HELLO REPLY RESULT=OK VERSION=3.1",
            hello_r(Ok, Some(Version::V3_1), None),
        ),
        v(
            "HELLO REPLY RESULT=OK VERSION=3.0",
            hello_r(Ok, Some(Version::V3_0), None),
        ),
        v(
            "HELLO REPLY RESULT=OK VERSION=0.3",
            hello_r(Ok, Some(Version::new(0, 3)), None),
        ),
        v(
            "HELLO REPLY RESULT=NOVERSION",
            hello_r(NoVersion, None, None),
        ),
        err("Must start with HELLO VERSION"),
        err("Timeout waiting for HELLO VERSION"),
        err("Error reading from socket"),
        err("USER and PASSWORD required"),
        err("Authorization failed"),
        err("Duplicate parameter MIN"),
        err("Unterminated quote"),
        v(
            "HELLO REPLY RESULT=I2P_ERROR",
            hello_r(I2pError, None, None),
        ),
    ]);
}

// ---------------------------------------------------------------------------------------------
// §11.2 SESSION
// ---------------------------------------------------------------------------------------------

#[test]
fn reference_11_2_session_replies() {
    use ResultCode::*;
    let err = |m: &str| {
        v(
            format!("SESSION STATUS RESULT=I2P_ERROR MESSAGE=\"{m}\""),
            session_r(I2pError, None, None, Some(m)),
        )
    };
    let mut vectors = vec![
        v(
            format!("SESSION STATUS RESULT=OK DESTINATION={PRIV}"),
            session_r(Ok, Some(PRIV), None, None),
        ),
        v(
            "SESSION STATUS RESULT=DUPLICATED_ID",
            session_r(DuplicatedId, None, None, None),
        ),
        v(
            "SESSION STATUS RESULT=DUPLICATED_DEST",
            session_r(DuplicatedDest, None, None, None),
        ),
        v(
            "SESSION STATUS RESULT=INVALID_KEY",
            session_r(InvalidKey, None, None, None),
        ),
        v(
            "SESSION STATUS RESULT=INVALID_KEY MESSAGE=\"Invalid private key: short read\"",
            session_r(
                InvalidKey,
                None,
                None,
                Some("Invalid private key: short read"),
            ),
        ),
        v(
            "SESSION STATUS RESULT=INVALID_ID",
            session_r(InvalidId, None, None, None),
        ),
        v_noncanonical(
            "SESSION STATUS RESULT=OK ID=\"stream99\" MESSAGE=\"ADD stream99\"",
            session_r(Ok, None, Some("stream99"), Some("ADD stream99")),
        ),
        v_noncanonical(
            "SESSION STATUS RESULT=OK ID=\"stream99\" MESSAGE=\"REMOVE stream99\"",
            session_r(Ok, None, Some("stream99"), Some("REMOVE stream99")),
        ),
        v_noncanonical(
            "SESSION STATUS RESULT=I2P_ERROR ID=\"stream99\" MESSAGE=\"Duplicate ID stream99\"",
            session_r(I2pError, None, Some("stream99"), Some("Duplicate ID stream99")),
        ),
        v_noncanonical(
            "SESSION STATUS RESULT=I2P_ERROR ID=\"raw94\" MESSAGE=\"Duplicate protocol 18 and port 94\"",
            session_r(
                I2pError,
                None,
                Some("raw94"),
                Some("Duplicate protocol 18 and port 94"),
            ),
        ),
        v_noncanonical(
            "SESSION STATUS RESULT=I2P_ERROR ID=\"dg96\" MESSAGE=\"DATAGRAM subsession must specify PORT\"",
            session_r(
                I2pError,
                None,
                Some("dg96"),
                Some("DATAGRAM subsession must specify PORT"),
            ),
        ),
        v_noncanonical(
            "SESSION STATUS RESULT=I2P_ERROR ID=\"x\" MESSAGE=\"ID x not found\"",
            session_r(I2pError, None, Some("x"), Some("ID x not found")),
        ),
    ];
    for m in [
        "ID not specified",
        "No SESSION STYLE specified",
        "Session already exists",
        "No parameters for SESSION CREATE",
        "DESTINATION not specified",
        "SIGNATURE_TYPE foo unsupported",
        "Unrecognized SESSION STYLE",
        "Unrecognized opcode",
        "Not a PRIMARY session",
        "PRIMARY session options may not contain PORT",
        "command timeout, bye",
        "PONG timeout",
        "Tunnel build interrupted",
        "Session is closed",
        "Router restart",
        "Duplicate parameter ID",
        "Line too long - max 8192",
        "Unknown STYLE",
        "MASTER session is not supported",
        "Invalid IP Address in HOST",
        "Invalid port",
        "Socket already in use",
        "Missing ID",
        "Already accepting",
        "PORT is missing",
        "Port must be numeric",
        "Socket error: cannot get remote endpoint",
        "SESSION ADD is not supported",
        "SESSION REMOVE is not supported",
        "Unsupported STYLE",
        "Wrong session type",
    ] {
        vectors.push(err(m));
    }
    check_vectors(&vectors);
}

#[test]
fn reference_11_2_java_pipelined_sequences() {
    // Java answers a command pipelined during tunnel build after SESSION STATUS.
    let wire = format!(
        "SESSION STATUS RESULT=OK DESTINATION={PRIV}\nNAMING STATUS RESULT=I2P_ERROR MESSAGE=\"invalid state\"\n"
    );
    let mut lines = wire.split_inclusive('\n');
    assert_eq!(
        Reply::parse(lines.next().unwrap().as_bytes()).unwrap(),
        session_r(ResultCode::Ok, Some(PRIV), None, None)
    );
    assert_eq!(
        Reply::parse(lines.next().unwrap().as_bytes()).unwrap(),
        other_r("NAMING", ResultCode::I2pError, Some("invalid state"))
    );

    // The SESSION CREATE exchange takes exactly the first line; the rest is for the control
    // socket, where the pipelined lookup fails with the bridge's message.
    let create = SessionCreate::new(SessionStyle::Stream, sid("s1"), Secret::new("TRANSIENT"));
    let first = run(
        Exchange::new(create)
            .unwrap()
            .with_version(Version::V3_3)
            .unwrap(),
        &[wire.as_bytes()],
    );
    assert_eq!(first.result, Ok(priv_keys()));
    assert_eq!(
        first.leftover,
        b"NAMING STATUS RESULT=I2P_ERROR MESSAGE=\"invalid state\"\n"
    );
    let mut control = ControlSocket::new(Version::V3_3);
    control
        .start(ControlCommand::Lookup(NamingLookup::new("ME")))
        .unwrap();
    assert_eq!(
        control.poll_transmit(),
        Some(&b"NAMING LOOKUP NAME=ME\n"[..])
    );
    control.feed(&first.leftover).unwrap();
    match control.poll_event() {
        Some(ControlEvent::Completed(Err(Error::Refused {
            result, message, ..
        }))) => {
            assert_eq!(result, ResultCode::I2pError);
            assert_eq!(message.as_deref(), Some("invalid state"));
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        control.poll_event(),
        Some(ControlEvent::BridgeError(Error::Refused { .. }))
    ));
    assert!(!control.is_busy());

    // QUIT during tunnel build: the SESSION CREATE fails, then Java confirms the QUIT.
    let wire = "SESSION STATUS RESULT=I2P_ERROR MESSAGE=\"Tunnel build interrupted\"\nQUIT STATUS RESULT=OK MESSAGE=bye\n";
    let mut lines = wire.split_inclusive('\n');
    assert_eq!(
        Reply::parse(lines.next().unwrap().as_bytes()).unwrap(),
        session_r(
            ResultCode::I2pError,
            None,
            None,
            Some("Tunnel build interrupted")
        )
    );
    assert_eq!(
        Reply::parse(lines.next().unwrap().as_bytes()).unwrap(),
        other_r("QUIT", ResultCode::Ok, Some("bye"))
    );
    let create = SessionCreate::new(SessionStyle::Stream, sid("s1"), Secret::new("TRANSIENT"));
    let second = run(Exchange::new(create).unwrap(), &[wire.as_bytes()]);
    assert_eq!(
        second.result,
        Err(Error::Refused {
            reply: "SESSION STATUS",
            result: ResultCode::I2pError,
            message: Some("Tunnel build interrupted".into()),
        })
    );
}

// ---------------------------------------------------------------------------------------------
// §11.3 STREAM
// ---------------------------------------------------------------------------------------------

#[test]
fn reference_11_3_stream_replies() {
    use ResultCode::*;
    let with = |code: ResultCode, m: &str| {
        v(
            format!("STREAM STATUS RESULT={} MESSAGE=\"{m}\"", code.as_str()),
            stream_r(code, Some(m)),
        )
    };
    check_vectors(&[
        v("STREAM STATUS RESULT=OK", stream_r(Ok, None)),
        v("STREAM STATUS RESULT=INVALID_ID", stream_r(InvalidId, None)),
        v(
            "STREAM STATUS RESULT=INVALID_KEY",
            stream_r(InvalidKey, None),
        ),
        with(CantReachPeer, "LeaseSet not found"),
        with(CantReachPeer, "Can't connect to myself"),
        with(CantReachPeer, "Incompatible crypto"),
        with(I2pError, "Already accepting"),
        with(InvalidId, "STREAM SESSION ID foo does not exist"),
        with(I2pError, "ID not specified"),
        with(I2pError, "specified ID foo is not a STREAM session"),
        with(I2pError, "v3 control socket cannot be used for STREAM"),
        with(I2pError, "Session is closed"),
        with(I2pError, "Unrecognized STREAM message opcode: SEND"),
        with(
            I2pError,
            "Destination not specified in STREAM CONNECT message",
        ),
        with(InvalidKey, "Host name not found: nosuch.i2p"),
        with(InvalidKey, &format!("Lease set not found: {ZZZ_B32}")),
        with(CantReachPeer, "Connection timed out"),
        with(Timeout, "Connection timed out"),
        with(ConnectionRefused, "Connection refused by peer"),
        with(I2pError, "Router restart"),
        with(
            AlreadyAccepting,
            "a forwarding server is already defined for this destination",
        ),
        with(AlreadyAccepting, "primary session"),
        with(I2pError, "Forwarding failed : receiver port not specified"),
        with(
            I2pError,
            "Forwarding failed : an accepting server is already defined for this destination",
        ),
        // Java writes a one-word MESSAGE bare (createMessageString).
        v(
            "STREAM STATUS RESULT=TIMEOUT MESSAGE=timeout",
            stream_r(Timeout, Some("timeout")),
        ),
    ]);
}

fn peer(dest: &str, ports: Option<(u16, u16)>) -> PeerLine<'static> {
    PeerLine {
        destination: cow(dest),
        from_port: ports.map(|p| p.0),
        to_port: ports.map(|p| p.1),
        extra: vec![],
    }
}

#[test]
fn reference_11_3_accept_lines_parse() {
    // Java at 3.2+.
    let line = format!("{ZZZ} FROM_PORT=0 TO_PORT=0");
    for wire in [line.clone(), format!("{line}\n"), format!("{line}\r\n")] {
        let p = PeerLine::parse(wire.as_bytes()).unwrap();
        assert_eq!(p, peer(ZZZ, Some((0, 0))));
        assert_eq!(p.parse_destination().unwrap(), zzz_dest());
    }
    // Java <3.2 and i2pd.
    for wire in [ZZZ.to_owned(), format!("{ZZZ}\n")] {
        let p = PeerLine::parse(wire.as_bytes()).unwrap();
        assert_eq!(p, peer(ZZZ, None));
        assert_eq!(
            p.parse_destination().unwrap().b32_address().to_string(),
            ZZZ_B32
        );
    }
    // The Java accept exchange of §11.3.
    let line = format!("{ZZZ} FROM_PORT=1234 TO_PORT=0\n");
    let p = PeerLine::parse(line.as_bytes()).unwrap();
    assert_eq!(p, peer(ZZZ, Some((1234, 0))));
    // Unpadded destination (516 chars): re-encodes byte-identically.
    let line = format!("{I2P_PROJEKT} FROM_PORT=1234 TO_PORT=0\n");
    let p = PeerLine::parse(line.as_bytes()).unwrap();
    assert_eq!(p.to_bytes(Version::V3_3).unwrap(), line.as_bytes());
    // A status line where the destination should be is not a peer.
    assert!(
        PeerLine::parse(b"STREAM STATUS RESULT=I2P_ERROR MESSAGE=\"Router restart\"\n").is_err()
    );
}

/// BUG: `PeerLine::write` passes the destination to `Writer::token`, which refuses `=`; every
/// 524-char destination (Ed25519, ECDSA P-256: 391 bytes) ends in `==` padding, so the accept
/// line Java and i2pd send for zzz.i2p cannot be encoded back.
#[test]
fn reference_11_3_accept_lines_reencode_padded_destinations() {
    for line in [format!("{ZZZ} FROM_PORT=0 TO_PORT=0\n"), format!("{ZZZ}\n")] {
        let p = PeerLine::parse(line.as_bytes()).unwrap();
        let mut out = Vec::new();
        let r = p.encode(Version::V3_3, &mut out);
        assert_eq!(r, Ok(()), "PeerLine::encode refused {line:?}");
        assert_eq!(out, line.as_bytes());
    }
}

// ---------------------------------------------------------------------------------------------
// §11.4 DEST, NAMING, datagrams, misc
// ---------------------------------------------------------------------------------------------

#[test]
fn reference_11_4_dest_naming_datagram_and_misc_replies() {
    use ResultCode::*;
    let smtp = format!("1 86400 0 0 25 {ZZZ_B32}");
    check_vectors(&[
        v(
            format!("DEST REPLY PUB={PUB} PRIV={PRIV}"),
            dest_r(None, Some(PUB), Some(PRIV), None),
        ),
        v(
            "DEST REPLY RESULT=I2P_ERROR MESSAGE=\"SIGNATURE_TYPE foo unsupported\"",
            dest_r(
                Some(I2pError),
                None,
                None,
                Some("SIGNATURE_TYPE foo unsupported"),
            ),
        ),
        v(
            "DEST REPLY RESULT=I2P_ERROR MESSAGE=\"DEST GENERATE required\"",
            dest_r(Some(I2pError), None, None, Some("DEST GENERATE required")),
        ),
        v(
            "DEST REPLY RESULT=I2P_ERROR",
            dest_r(Some(I2pError), None, None, None),
        ),
        v(
            format!("NAMING REPLY RESULT=OK NAME=zzz.i2p VALUE={ZZZ}"),
            naming_r(Ok, Some("zzz.i2p"), Some(ZZZ), None, vec![]),
        ),
        v(
            "NAMING REPLY RESULT=KEY_NOT_FOUND NAME=nosuch.i2p",
            naming_r(KeyNotFound, Some("nosuch.i2p"), None, None, vec![]),
        ),
        v_noncanonical(
            "NAMING REPLY RESULT=KEY_NOT_FOUND NAME=\"\" MESSAGE=\"Must specify NAME\"",
            naming_r(
                KeyNotFound,
                Some(""),
                None,
                Some("Must specify NAME"),
                vec![],
            ),
        ),
        v(
            "NAMING REPLY RESULT=INVALID_KEY NAME=nosuch.i2p",
            naming_r(InvalidKey, Some("nosuch.i2p"), None, None, vec![]),
        ),
        v(
            "NAMING REPLY RESULT=INVALID_KEY NAME=",
            naming_r(InvalidKey, Some(""), None, None, vec![]),
        ),
        v(
            "NAMING REPLY RESULT=KEY_NOT_FOUND NAME=zzz.i2p",
            naming_r(KeyNotFound, Some("zzz.i2p"), None, None, vec![]),
        ),
        v(
            format!(
                "NAMING REPLY RESULT=OK NAME=example.i2p VALUE={ZZZ} OPTION:_smtp._tcp=\"{smtp}\""
            ),
            naming_r(
                Ok,
                Some("example.i2p"),
                Some(ZZZ),
                None,
                vec![KeyValue::new("OPTION:_smtp._tcp", smtp.clone())],
            ),
        ),
        v(
            "NAMING REPLY RESULT=LEASESET_NOT_FOUND NAME=example.i2p",
            naming_r(LeasesetNotFound, Some("example.i2p"), None, None, vec![]),
        ),
        v(
            format!("DATAGRAM RECEIVED DESTINATION={ZZZ} SIZE=5 FROM_PORT=0 TO_PORT=0"),
            datagram_r(ZZZ, 5, Some((0, 0))),
        ),
        v(
            format!("DATAGRAM RECEIVED DESTINATION={ZZZ} SIZE=5"),
            datagram_r(ZZZ, 5, None),
        ),
        v(
            "RAW RECEIVED SIZE=5 PROTOCOL=18 FROM_PORT=0 TO_PORT=0",
            raw_r(5, Some(18), Some((0, 0))),
        ),
        v("RAW RECEIVED SIZE=5", raw_r(5, None, None)),
        v("PONG", Reply::Pong(Pong { text: None })),
        v(
            "PONG hello  world",
            Reply::Pong(Pong {
                text: Some(cow("hello  world")),
            }),
        ),
        v(
            "PING 1700000000000",
            Reply::Ping(Ping {
                text: Some(cow("1700000000000")),
            }),
        ),
        v(
            "QUIT STATUS RESULT=OK MESSAGE=bye",
            other_r("QUIT", Ok, Some("bye")),
        ),
        v(
            "STOP STATUS RESULT=OK MESSAGE=bye",
            other_r("STOP", Ok, Some("bye")),
        ),
        v(
            "EXIT STATUS RESULT=OK MESSAGE=bye",
            other_r("EXIT", Ok, Some("bye")),
        ),
        v(
            "HELP STATUS RESULT=OK MESSAGE=https://geti2p.net/en/docs/api/samv3",
            other_r("HELP", Ok, Some("https://geti2p.net/en/docs/api/samv3")),
        ),
        v(
            "FOO STATUS RESULT=I2P_ERROR MESSAGE=\"unsupported command, enter HELP for help\"",
            other_r(
                "FOO",
                I2pError,
                Some("unsupported command, enter HELP for help"),
            ),
        ),
        v(
            "FOO STATUS RESULT=I2P_ERROR MESSAGE=\"missing subcommand, enter HELP for help\"",
            other_r(
                "FOO",
                I2pError,
                Some("missing subcommand, enter HELP for help"),
            ),
        ),
        v("AUTH STATUS RESULT=OK", other_r("AUTH", Ok, None)),
        v(
            "AUTH STATUS RESULT=I2P_ERROR MESSAGE=\"user bob already exists\"",
            other_r("AUTH", I2pError, Some("user bob already exists")),
        ),
        v(
            "AUTH STATUS RESULT=I2P_ERROR MESSAGE=\"USER and PASSWORD required\"",
            other_r("AUTH", I2pError, Some("USER and PASSWORD required")),
        ),
    ]);

    // The leaseset options accessor.
    let line = format!(
        "NAMING REPLY RESULT=OK NAME=example.i2p VALUE={ZZZ} OPTION:_smtp._tcp=\"{smtp}\"\n"
    );
    let r = NamingReply::parse(line.as_bytes()).unwrap();
    assert_eq!(
        r.leaseset_options().collect::<Vec<_>>(),
        vec![("_smtp._tcp", Some(smtp.as_str()))]
    );
}

/// `NAMING LOOKUP ... OPTIONS=true` (API 0.9.66, proposal 167): the request, and the typed
/// answer of the spec's reply, of i2pd 2.59's (captured on the testbed: it ignores OPTIONS) and
/// of the not-found results.
#[test]
fn naming_lookup_with_options_and_its_typed_answers() {
    let mut lookup = NamingLookup::new("mail.i2p");
    lookup.options = Some(true);
    assert_eq!(
        lookup.to_bytes(Version::V3_3).unwrap(),
        b"NAMING LOOKUP NAME=mail.i2p OPTIONS=true\n"
    );
    // A name that would smuggle a second command is refused before anything is written.
    let mut evil = NamingLookup::new("x.i2p\nSESSION CREATE");
    evil.options = Some(true);
    assert!(evil.to_bytes(Version::V3_3).is_err());

    // The spec's shape: quoted values keep their spaces; the prefix is removed.
    let smtp = "1 86400 0 0 25 bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb.b32.i2p";
    let line = format!(
        "NAMING REPLY RESULT=OK NAME=example.i2p VALUE={ZZZ} OPTION:_smtp._tcp=\"{smtp}\" OPTION:x=1\n"
    );
    let answer = NamingReply::parse(line.as_bytes())
        .unwrap()
        .answer()
        .unwrap();
    assert_eq!(answer.destination, zzz_dest());
    assert_eq!(
        answer.options,
        LeaseSetOptions::Listed(vec![
            ("_smtp._tcp".to_owned(), smtp.to_owned()),
            ("x".to_owned(), "1".to_owned())
        ])
    );
    assert_eq!(answer.options.get("_smtp._tcp"), Some(smtp));
    assert_eq!(answer.options.get("y"), None);

    // i2pd 2.59 to `NAMING LOOKUP NAME=ME OPTIONS=true` on a session's socket: no OPTION: pairs,
    // which is "not answered", never "no options".
    let i2pd = include_str!("data/i2pd259-naming-reply-options.txt");
    let answer = NamingReply::parse(i2pd.as_bytes())
        .unwrap()
        .answer()
        .unwrap();
    assert_eq!(answer.options, LeaseSetOptions::NotAnswered);
    assert_eq!(answer.options.listed(), None);
    assert_eq!(answer.options.get("_smtp._tcp"), None);

    // Not found: the spec's LEASESET_NOT_FOUND and i2pd 2.59's INVALID_KEY, typed alike.
    for (line, code) in [
        (
            "NAMING REPLY RESULT=LEASESET_NOT_FOUND NAME=mail.i2p\n",
            ResultCode::LeasesetNotFound,
        ),
        (
            "NAMING REPLY RESULT=INVALID_KEY NAME=nonexistent.i2p\n",
            ResultCode::InvalidKey,
        ),
    ] {
        match NamingReply::parse(line.as_bytes()).unwrap().answer() {
            Err(Error::Refused { result, .. }) => {
                assert!(result.is_not_found());
                assert_eq!(result, code);
            }
            other => panic!("{line}: {other:?}"),
        }
    }
    // OK without VALUE is malformed, not an answer.
    assert!(NamingReply::parse(b"NAMING REPLY RESULT=OK NAME=x\n")
        .unwrap()
        .answer()
        .is_err());
}

#[test]
fn reference_11_4_dest_reply_keys() {
    let line = format!("DEST REPLY PUB={PUB} PRIV={PRIV}\n");
    let r = DestReply::parse(line.as_bytes()).unwrap();
    let keys = r.keys().unwrap();
    assert_eq!(keys.destination(), &pub_dest());
    assert_eq!(keys.to_base64(), PRIV);

    // PUB that is not the destination of PRIV.
    let line = format!("DEST REPLY PUB={ZZZ} PRIV={PRIV}\n");
    assert_eq!(
        DestReply::parse(line.as_bytes()).unwrap().keys(),
        Err(Error::BadValue {
            key: "PUB",
            reason: "PUB is not the destination of PRIV"
        })
    );
    // Java's error without newline (the exchange test below drives it to EOF).
    let r = DestReply::parse(b"DEST REPLY RESULT=I2P_ERROR MESSAGE=\"DEST GENERATE required\"")
        .unwrap();
    assert_eq!(
        r.keys(),
        Err(Error::Refused {
            reply: "DEST REPLY",
            result: ResultCode::I2pError,
            message: Some("DEST GENERATE required".into()),
        })
    );
}

#[test]
fn reference_11_4_forwarded_datagram_prefixes() {
    // Java >= 3.2, repliable.
    let packet = format!("{ZZZ} FROM_PORT=0 TO_PORT=0\n\x00payload\n");
    let (p, payload) = parse_repliable(packet.as_bytes()).unwrap();
    assert_eq!(p, peer(ZZZ, Some((0, 0))));
    assert_eq!(payload, b"\x00payload\n");
    // Java < 3.2 and i2pd, repliable.
    let packet = format!("{ZZZ}\nhello-1");
    let (p, payload) = parse_repliable(packet.as_bytes()).unwrap();
    assert_eq!(p, peer(ZZZ, None));
    assert_eq!(payload, b"hello-1");
    // Unpadded destination: the test-bridge encoder writes the same bytes.
    let packet = format!("{I2P_PROJEKT} FROM_PORT=0 TO_PORT=0\nabc");
    let (p, payload) = parse_repliable(packet.as_bytes()).unwrap();
    let mut out = Vec::new();
    encode_repliable(&p, payload, &mut out).unwrap();
    assert_eq!(out, packet.as_bytes());
    // Java >= 3.2, RAW with HEADER=true.
    let (h, payload) =
        RawHeader::parse_packet(b"PROTOCOL=18 FROM_PORT=0 TO_PORT=0\nhello").unwrap();
    assert_eq!(
        h,
        RawHeader {
            protocol: Some(18),
            from_port: Some(0),
            to_port: Some(0)
        }
    );
    assert_eq!(payload, b"hello");
    let mut out = Vec::new();
    h.encode_with_payload(b"hello", &mut out).unwrap();
    assert_eq!(out, b"PROTOCOL=18 FROM_PORT=0 TO_PORT=0\nhello");
}

/// BUG: `encode_repliable` (via `PeerLine::write` → `Writer::token`) refuses the `==` padding of
/// a 524-char destination, so a test bridge cannot forward a datagram from zzz.i2p.
#[test]
fn reference_11_4_forwarded_datagram_from_padded_destination_encodes() {
    let packet = format!("{ZZZ} FROM_PORT=0 TO_PORT=0\nhello");
    let (p, payload) = parse_repliable(packet.as_bytes()).unwrap();
    let mut out = Vec::new();
    assert_eq!(encode_repliable(&p, payload, &mut out), Ok(()));
    assert_eq!(out, packet.as_bytes());
}

#[test]
fn reference_11_4_client_udp_headers() {
    // Java's test client, with an unpadded destination: parses and re-encodes identically.
    for dest in [I2P_PROJEKT, ZZZ] {
        let packet = format!("3.0 mysession {dest}\n<payload>");
        let (h, payload) = UdpHeader::parse_packet(packet.as_bytes()).unwrap();
        assert_eq!(h, UdpHeader::new(sid("mysession"), dest));
        assert_eq!(payload, b"<payload>");

        let packet = format!(
            "3.0 mysession {dest} TO_PORT=5678 SEND_TAGS=19 TAG_THRESHOLD=13 EXPIRES=33 SEND_LEASESET=true\n\x00\n"
        );
        let (h, payload) = UdpHeader::parse_packet(packet.as_bytes()).unwrap();
        let mut expected = UdpHeader::new(sid("mysession"), dest);
        expected.to_port = Some(5678);
        expected.extra = options([
            ("SEND_TAGS", "19"),
            ("TAG_THRESHOLD", "13"),
            ("EXPIRES", "33"),
            ("SEND_LEASESET", "true"),
        ]);
        assert_eq!(h, expected);
        assert_eq!(payload, b"\x00\n");
        if dest == I2P_PROJEKT {
            let mut out = Vec::new();
            h.encode_with_payload(payload, &mut out).unwrap();
            assert_eq!(out, packet.as_bytes());
        }
    }
}

/// BUG: `UdpHeader::write_header` writes the destination with `Writer::token`, which refuses `=`.
/// Every 524-char destination ends in `==`, so a client cannot send a datagram to any Ed25519
/// destination, e.g. the packet of i2pd transcript Q7 (`b'3.0 d1 ' + <PUB524> + b'\n' + payload`)
/// or Java's example header of PROTOCOL.md §11.4 addressed to zzz.i2p. `parse_packet` accepts both.
#[test]
fn udp_header_encodes_padded_destinations() {
    for packet in [
        format!("3.0 d1 {PUB}\nhello-1"),
        format!(
            "3.0 mysession {ZZZ} TO_PORT=5678 SEND_TAGS=19 TAG_THRESHOLD=13 EXPIRES=33 SEND_LEASESET=true\n<payload>"
        ),
    ] {
        let (h, payload) = UdpHeader::parse_packet(packet.as_bytes()).unwrap();
        let mut out = Vec::new();
        let r = h.encode_with_payload(payload, &mut out);
        assert_eq!(r, Ok(()), "UdpHeader::encode_with_payload refused {packet:?}");
        assert_eq!(out, packet.as_bytes());
    }
    let mut out = Vec::new();
    assert_eq!(
        UdpHeader::new(sid("d1"), PUB).encode_with_payload(b"x", &mut out),
        Ok(())
    );
}

// ---------------------------------------------------------------------------------------------
// i2pd 2.45.1 transcripts (testbed/i2pd-2.45-transcripts.md): bridge lines
// ---------------------------------------------------------------------------------------------

#[test]
fn i2pd_transcript_bridge_lines() {
    use ResultCode::*;
    let b32_b = "bquapksoj4qu37zlckjoiovrn3u42vr6pvrkwa7ua3h2avdgruba.b32.i2p";
    let b32_never = "hoa4iuv7mbukzhidqcprxebcqp4oqzqt5skyyhjrmjmx3kpw2trq.b32.i2p";
    let vectors = [
        // Q1
        v(
            "HELLO REPLY RESULT=OK VERSION=3.0",
            hello_r(Ok, Some(Version::V3_0), None),
        ),
        v(
            "HELLO REPLY RESULT=OK VERSION=3.1",
            hello_r(Ok, Some(Version::V3_1), None),
        ),
        v(
            "HELLO REPLY RESULT=NOVERSION",
            hello_r(NoVersion, None, None),
        ),
        // Q2
        v(
            format!("DEST REPLY PUB={PUB} PRIV={PRIV}"),
            dest_r(None, Some(PUB), Some(PRIV), None),
        ),
        // Q3, Q7, Q8 (MASTER, SESSION ADD / REMOVE answer with the master PRIV)
        v(
            format!("SESSION STATUS RESULT=OK DESTINATION={PRIV}"),
            session_r(Ok, Some(PRIV), None, None),
        ),
        v(
            format!("NAMING REPLY RESULT=OK NAME=ME VALUE={PUB}"),
            naming_r(Ok, Some("ME"), Some(PUB), None, vec![]),
        ),
        // Q4, Q5
        v("STREAM STATUS RESULT=OK", stream_r(Ok, None)),
        v(
            "SESSION STATUS RESULT=I2P_ERROR MESSAGE=\"Already accepting\"",
            session_r(I2pError, None, None, Some("Already accepting")),
        ),
        v("STREAM STATUS RESULT=INVALID_ID", stream_r(InvalidId, None)),
        // Q6
        v(
            format!("NAMING REPLY RESULT=OK NAME={b32_b} VALUE={PUB}"),
            naming_r(Ok, Some(b32_b), Some(PUB), None, vec![]),
        ),
        v(
            format!("NAMING REPLY RESULT=INVALID_KEY NAME={b32_never}"),
            naming_r(InvalidKey, Some(b32_never), None, None, vec![]),
        ),
        v(
            format!("NAMING REPLY RESULT=OK NAME={PUB} VALUE={PUB}"),
            naming_r(Ok, Some(PUB), Some(PUB), None, vec![]),
        ),
        v(
            "NAMING REPLY RESULT=INVALID_KEY NAME=unknown.i2p",
            naming_r(InvalidKey, Some("unknown.i2p"), None, None, vec![]),
        ),
        v(
            "NAMING REPLY RESULT=INVALID_KEY NAME=garbage",
            naming_r(InvalidKey, Some("garbage"), None, None, vec![]),
        ),
        v(
            "NAMING REPLY RESULT=INVALID_KEY NAME=aaaa.b32.i2p",
            naming_r(InvalidKey, Some("aaaa.b32.i2p"), None, None, vec![]),
        ),
        v(
            "NAMING REPLY RESULT=INVALID_KEY NAME=",
            naming_r(InvalidKey, Some(""), None, None, vec![]),
        ),
        // Q7
        v(
            format!("DATAGRAM RECEIVED DESTINATION={PUB} SIZE=7"),
            datagram_r(PUB, 7, None),
        ),
        v("RAW RECEIVED SIZE=7", raw_r(7, None, None)),
        v(
            "SESSION STATUS RESULT=I2P_ERROR MESSAGE=\"Invalid IP Address in HOST\"",
            session_r(I2pError, None, None, Some("Invalid IP Address in HOST")),
        ),
        // Q8
        v(
            "SESSION STATUS RESULT=I2P_ERROR MESSAGE=\"Unknown STYLE\"",
            session_r(I2pError, None, None, Some("Unknown STYLE")),
        ),
        v(
            "SESSION STATUS RESULT=DUPLICATED_ID",
            session_r(DuplicatedId, None, None, None),
        ),
        v(
            "SESSION STATUS RESULT=I2P_ERROR MESSAGE=\"Unsupported STYLE\"",
            session_r(I2pError, None, None, Some("Unsupported STYLE")),
        ),
        v(
            "SESSION STATUS RESULT=INVALID_KEY",
            session_r(InvalidKey, None, None, None),
        ),
        v(
            "SESSION STATUS RESULT=I2P_ERROR MESSAGE=\"Wrong session type\"",
            session_r(I2pError, None, None, Some("Wrong session type")),
        ),
        v(
            "SESSION STATUS RESULT=INVALID_ID",
            session_r(InvalidId, None, None, None),
        ),
        v(
            "STREAM STATUS RESULT=INVALID_KEY",
            stream_r(InvalidKey, None),
        ),
        v(
            "STREAM STATUS RESULT=CANT_REACH_PEER",
            stream_r(CantReachPeer, None),
        ),
    ];
    check_vectors(&vectors);

    // Exact sizes the transcripts measured (testbed/i2pd-2.45-transcripts.md).
    let sizes = [
        ("HELLO REPLY RESULT=OK VERSION=3.0\n".to_owned(), 34),
        ("HELLO REPLY RESULT=NOVERSION\n".to_owned(), 29),
        (format!("DEST REPLY PUB={PUB} PRIV={PRIV}\n"), 1454),
        (
            format!("SESSION STATUS RESULT=OK DESTINATION={PRIV}\n"),
            946,
        ),
        (format!("NAMING REPLY RESULT=OK NAME=ME VALUE={PUB}\n"), 562),
        (
            format!("NAMING REPLY RESULT=OK NAME={b32_b} VALUE={PUB}\n"),
            620,
        ),
        (
            format!("NAMING REPLY RESULT=OK NAME={PUB} VALUE={PUB}\n"),
            1084,
        ),
        ("STREAM STATUS RESULT=OK\n".to_owned(), 24),
        (format!("DATAGRAM RECEIVED DESTINATION={PUB} SIZE=7\n"), 562),
    ];
    for (line, len) in sizes {
        assert_eq!(line.len(), len, "{line}");
        assert!(Reply::parse(line.as_bytes()).is_ok());
    }

    // i2pd echoes raw non-UTF-8 bytes of the name: the line is refused, not mangled.
    assert_eq!(
        Reply::parse(b"NAMING REPLY RESULT=INVALID_KEY NAME=\xff\xfe\x80.i2p\n"),
        Err(Error::NotUtf8)
    );
}

/// emissary sends some replies without the terminating newline and closes (peers.md,
/// emissary report §5.4 in testbed/bridge-notes.md): the spelling differs, the meaning is the same.
#[test]
fn emissary_lines_without_newline() {
    let r = Reply::parse(b"SESSION STATUS RESULT=DUPLICATE_ID").unwrap();
    assert_eq!(r, session_r(ResultCode::DuplicateId, None, None, None));
    assert!(r.result().unwrap().is_duplicate_id());
    let r = Reply::parse(b"SESSION STATUS RESULT=DUPLICATE_DEST").unwrap();
    assert!(r.result().unwrap().is_duplicate_dest());
    let r = Reply::parse(b"STREAM STATUS RESULT=CANT_REACH_PEER").unwrap();
    assert_eq!(r, stream_r(ResultCode::CantReachPeer, None));
    let r = Reply::parse(b"SESSION STATUS RESULT=OK ID=\"pp-s\" MESSAGE=\"ADD pp-s\"\n").unwrap();
    assert_eq!(
        r,
        session_r(ResultCode::Ok, None, Some("pp-s"), Some("ADD pp-s"))
    );
}

// ---------------------------------------------------------------------------------------------
// Commands the clients of the i2pd transcripts send (testbed/i2pd-2.45-transcripts.md)
// ---------------------------------------------------------------------------------------------

fn sid(id: &'static str) -> SessionId<'static> {
    SessionId::new(id).unwrap()
}

fn hello_cmd(min: Option<Version>, max: Option<Version>) -> Command<'static> {
    Command::Hello(Hello {
        min,
        max,
        user: None,
        password: None,
        extra: vec![],
    })
}

fn zero_hop() -> Vec<KeyValue<'static>> {
    options([("inbound.length", "0"), ("outbound.length", "0")])
}

fn create(
    style: SessionStyle,
    id: &'static str,
    destination: &'static str,
    f: impl FnOnce(&mut SessionCreate<'static>),
) -> Command<'static> {
    let mut c = SessionCreate::new(style, sid(id), Secret::new(destination));
    f(&mut c);
    Command::SessionCreate(c)
}

fn connect(id: &'static str, dest: &'static str, silent: Option<bool>) -> Command<'static> {
    let mut c = StreamConnect::new(sid(id), dest);
    c.silent = silent;
    Command::StreamConnect(c)
}

fn check_command(line: &str, expected: &Command<'_>, canonical: bool) {
    let got = Command::parse(line.as_bytes())
        .unwrap_or_else(|e| panic!("Command::parse({line:?}) failed: {e:?}"));
    assert_eq!(&got, expected, "{line:?}");
    let mut out = Vec::new();
    got.encode(Version::V3_1, &mut out)
        .unwrap_or_else(|e| panic!("re-encoding {line:?} failed: {e:?}"));
    if canonical {
        assert_eq!(String::from_utf8_lossy(&out), line, "not byte-identical");
    }
    assert_eq!(&Command::parse(&out).unwrap(), expected);
}

#[test]
fn i2pd_transcript_client_commands() {
    let v30 = Some(Version::V3_0);
    let v31 = Some(Version::V3_1);
    let v32 = Some(Version::V3_2);
    let v33 = Some(Version::V3_3);
    let b32_upurl = "upurl4s2nmxjktfthvv2gjo2dxegoils5rwedppcf5qrnhgzx34q.b32.i2p";
    let b32_b = "bquapksoj4qu37zlckjoiovrn3u42vr6pvrkwa7ua3h2avdgruba.b32.i2p";
    let pub_line = |prefix: &str| format!("{prefix}{PUB}\n");

    let mut cases: Vec<(String, Command<'static>, bool)> = vec![
        // Q1
        ("HELLO VERSION MIN=3.0 MAX=3.3\n".into(), hello_cmd(v30, v33), true),
        ("HELLO VERSION MIN=3.1 MAX=3.3\n".into(), hello_cmd(v31, v33), true),
        ("HELLO VERSION MIN=3.1 MAX=3.1\n".into(), hello_cmd(v31, v31), true),
        ("HELLO VERSION MIN=3.0 MAX=3.2\n".into(), hello_cmd(v30, v32), true),
        ("HELLO VERSION\n".into(), hello_cmd(None, None), true),
        ("HELLO VERSION MIN=3.0\n".into(), hello_cmd(v30, None), true),
        ("HELLO VERSION MIN=3.1\n".into(), hello_cmd(v31, None), true),
        ("HELLO VERSION MAX=3.3\n".into(), hello_cmd(None, v33), true),
        ("HELLO VERSION MAX=3.0\n".into(), hello_cmd(None, v30), true),
        (
            "HELLO VERSION MIN=2.0 MAX=4.0\n".into(),
            hello_cmd(Some(Version::new(2, 0)), Some(Version::new(4, 0))),
            true,
        ),
        ("HELLO VERSION MIN=3.2 MAX=3.3\n".into(), hello_cmd(v32, v33), true),
        ("HELLO VERSION MIN=3.3 MAX=3.3\n".into(), hello_cmd(v33, v33), true),
        (
            "HELLO VERSION MIN=1.0 MAX=2.0\n".into(),
            hello_cmd(Some(Version::new(1, 0)), Some(Version::new(2, 0))),
            true,
        ),
        ("HELLO VERSION MIN=3.0 MAX=3.3\r\n".into(), hello_cmd(v30, v33), false),
        ("HELLO VERSION  MIN=3.0 MAX=3.1\n".into(), hello_cmd(v30, v31), false),
        // Q2
        (
            "DEST GENERATE\n".into(),
            Command::DestGenerate(DestGenerate {
                signature_type: None,
                crypto_type: None,
                extra: vec![],
            }),
            true,
        ),
        ("PING\n".into(), Command::Ping(Ping { text: None }), true),
        // Q3
        (
            "SESSION CREATE STYLE=STREAM ID=a DESTINATION=TRANSIENT inbound.length=0 outbound.length=0\n".into(),
            create(SessionStyle::Stream, "a", "TRANSIENT", |c| c.extra = zero_hop()),
            true,
        ),
        (
            "SESSION CREATE STYLE=STREAM ID=a2 DESTINATION=TRANSIENT SIGNATURE_TYPE=7 inbound.length=0 outbound.length=0\n".into(),
            create(SessionStyle::Stream, "a2", "TRANSIENT", |c| {
                c.signature_type = Some(SigType::Ed25519);
                c.extra = zero_hop();
            }),
            true,
        ),
        (
            format!("SESSION CREATE STYLE=STREAM ID=a3 DESTINATION={PRIV} inbound.length=0 outbound.length=0\n"),
            create(SessionStyle::Stream, "a3", PRIV, |c| c.extra = zero_hop()),
            true,
        ),
        (
            "SESSION CREATE STYLE=STREAM ID=def DESTINATION=TRANSIENT SIGNATURE_TYPE=7\n".into(),
            create(SessionStyle::Stream, "def", "TRANSIENT", |c| {
                c.signature_type = Some(SigType::Ed25519)
            }),
            true,
        ),
        (
            "NAMING LOOKUP NAME=ME\n".into(),
            Command::NamingLookup(NamingLookup::new("ME")),
            true,
        ),
        // Q4
        (
            "STREAM ACCEPT ID=sb\n".into(),
            Command::StreamAccept(StreamAccept::new(sid("sb"))),
            true,
        ),
        (
            pub_line("STREAM CONNECT ID=sa DESTINATION="),
            connect("sa", PUB, None),
            true,
        ),
        (
            format!("STREAM CONNECT ID=sa DESTINATION={b32_upurl}\n"),
            connect("sa", b32_upurl, None),
            true,
        ),
        (
            "STREAM ACCEPT ID=xb SILENT=true\n".into(),
            Command::StreamAccept(StreamAccept {
                id: sid("xb"),
                silent: Some(true),
                extra: vec![],
            }),
            true,
        ),
        (
            format!("STREAM CONNECT ID=xa DESTINATION={PUB} SILENT=true\n"),
            connect("xa", PUB, Some(true)),
            true,
        ),
        // Q5
        (
            "STREAM FORWARD ID=fb PORT=45979\n".into(),
            Command::StreamForward(StreamForward::new(sid("fb"), 45979)),
            true,
        ),
        (
            "STREAM FORWARD ID=fb PORT=33649 SILENT=true\n".into(),
            Command::StreamForward(StreamForward {
                silent: Some(true),
                ..StreamForward::new(sid("fb"), 33649)
            }),
            true,
        ),
        (
            "STREAM FORWARD ID=fb PORT=40329 HOST=127.0.0.2\n".into(),
            Command::StreamForward(StreamForward {
                host: Some(cow("127.0.0.2")),
                ..StreamForward::new(sid("fb"), 40329)
            }),
            true,
        ),
        (
            "STREAM FORWARD ID=nosuch PORT=1\n".into(),
            Command::StreamForward(StreamForward::new(sid("nosuch"), 1)),
            true,
        ),
        // Q6
        (
            format!("NAMING LOOKUP NAME={b32_b}\n"),
            Command::NamingLookup(NamingLookup::new(b32_b)),
            true,
        ),
        (
            pub_line("NAMING LOOKUP NAME="),
            Command::NamingLookup(NamingLookup::new(PUB)),
            true,
        ),
        (
            "NAMING LOOKUP NAME=unknown.i2p\n".into(),
            Command::NamingLookup(NamingLookup::new("unknown.i2p")),
            true,
        ),
        (
            "NAMING LOOKUP NAME=aaaa.b32.i2p\n".into(),
            Command::NamingLookup(NamingLookup::new("aaaa.b32.i2p")),
            true,
        ),
        // Q7
        (
            "SESSION CREATE STYLE=DATAGRAM ID=d1 DESTINATION=TRANSIENT SIGNATURE_TYPE=7 PORT=46063 HOST=127.0.0.1 inbound.length=0 outbound.length=0\n".into(),
            create(SessionStyle::Datagram, "d1", "TRANSIENT", |c| {
                c.signature_type = Some(SigType::Ed25519);
                c.port = Some(46063);
                c.host = Some(Cow::Borrowed("127.0.0.1"));
                c.extra = zero_hop();
            }),
            true,
        ),
        (
            "SESSION CREATE STYLE=DATAGRAM ID=d2 DESTINATION=TRANSIENT SIGNATURE_TYPE=7 inbound.length=0 outbound.length=0\n".into(),
            create(SessionStyle::Datagram, "d2", "TRANSIENT", |c| {
                c.signature_type = Some(SigType::Ed25519);
                c.extra = zero_hop();
            }),
            true,
        ),
        (
            pub_line("DATAGRAM SEND DESTINATION=").replace('\n', " SIZE=18\n"),
            Command::DatagramSend(DatagramSend {
                destination: cow(PUB),
                size: 18,
                from_port: None,
                to_port: None,
                extra: vec![],
            }),
            true,
        ),
        (
            pub_line("RAW SEND DESTINATION=").replace('\n', " SIZE=18\n"),
            Command::RawSend(RawSend {
                destination: cow(PUB),
                size: 18,
                from_port: None,
                to_port: None,
                protocol: None,
                extra: vec![],
            }),
            true,
        ),
        // Q8
        (
            "SESSION CREATE STYLE=PRIMARY ID=p DESTINATION=TRANSIENT SIGNATURE_TYPE=7 inbound.length=0 outbound.length=0\n".into(),
            create(SessionStyle::Primary, "p", "TRANSIENT", |c| {
                c.signature_type = Some(SigType::Ed25519);
                c.extra = zero_hop();
            }),
            true,
        ),
        (
            "SESSION CREATE STYLE=MASTER ID=m DESTINATION=TRANSIENT SIGNATURE_TYPE=7 inbound.length=0 outbound.length=0\n".into(),
            create(SessionStyle::Master, "m", "TRANSIENT", |c| {
                c.signature_type = Some(SigType::Ed25519);
                c.extra = zero_hop();
            }),
            true,
        ),
        (
            "SESSION ADD STYLE=STREAM ID=m-s1 FROM_PORT=1000\n".into(),
            Command::SessionAdd(SessionAdd {
                from_port: Some(1000),
                ..SessionAdd::new(SessionStyle::Stream, sid("m-s1"))
            }),
            true,
        ),
        (
            "SESSION ADD STYLE=STREAM ID=m-s1 FROM_PORT=1001\n".into(),
            Command::SessionAdd(SessionAdd {
                from_port: Some(1001),
                ..SessionAdd::new(SessionStyle::Stream, sid("m-s1"))
            }),
            true,
        ),
        (
            "SESSION ADD STYLE=DATAGRAM ID=m-d1 PORT=5555 HOST=127.0.0.1 FROM_PORT=2000\n".into(),
            Command::SessionAdd(SessionAdd {
                port: Some(5555),
                host: Some(cow("127.0.0.1")),
                from_port: Some(2000),
                ..SessionAdd::new(SessionStyle::Datagram, sid("m-d1"))
            }),
            true,
        ),
        (
            "SESSION ADD STYLE=STREAM ID=mx-1\n".into(),
            Command::SessionAdd(SessionAdd::new(SessionStyle::Stream, sid("mx-1"))),
            true,
        ),
        (
            "SESSION REMOVE ID=m2-s1\n".into(),
            Command::SessionRemove(SessionRemove {
                id: sid("m2-s1"),
                extra: vec![],
            }),
            true,
        ),
        (
            "PING hello\n".into(),
            Command::Ping(Ping {
                text: Some(cow("hello")),
            }),
            true,
        ),
        ("QUIT\n".into(), Command::Quit(Quit), true),
        (
            "dest generate\n".into(),
            Command::DestGenerate(DestGenerate {
                signature_type: None,
                crypto_type: None,
                extra: vec![],
            }),
            false,
        ),
        (
            "SESSION CREATE STYLE=STREAM ID=na DESTINATION=TRANSIENT\n".into(),
            create(SessionStyle::Stream, "na", "TRANSIENT", |_| {}),
            true,
        ),
        (
            "SESSION CREATE STYLE=FOO ID=s1 DESTINATION=TRANSIENT\n".into(),
            create(SessionStyle::Other("FOO".into()), "s1", "TRANSIENT", |_| {}),
            true,
        ),
        (
            "SESSION CREATE STYLE=STREAM ID=s3 DESTINATION=garbage!!\n".into(),
            create(SessionStyle::Stream, "s3", "garbage!!", |_| {}),
            true,
        ),
        (
            format!("STREAM CONNECT ID=nosuch DESTINATION={PUB}\n"),
            connect("nosuch", PUB, None),
            true,
        ),
        (
            "STREAM CONNECT ID=na DESTINATION=garbage\n".into(),
            connect("na", "garbage", None),
            true,
        ),
        (
            "STREAM CONNECT ID=na DESTINATION=unknown.i2p\n".into(),
            connect("na", "unknown.i2p", None),
            true,
        ),
        (
            "STREAM ACCEPT ID=nosuch\n".into(),
            Command::StreamAccept(StreamAccept::new(sid("nosuch"))),
            true,
        ),
    ];
    // The DEST GENERATE variants of Q2.
    for (arg, sig, crypto, canonical) in [
        ("SIGNATURE_TYPE=0", Some(SigType::DsaSha1), None, true),
        (
            "SIGNATURE_TYPE=DSA_SHA1",
            Some(SigType::DsaSha1),
            None,
            false,
        ),
        (
            "SIGNATURE_TYPE=1",
            Some(SigType::EcdsaSha256P256),
            None,
            true,
        ),
        (
            "SIGNATURE_TYPE=ECDSA_SHA256_P256",
            Some(SigType::EcdsaSha256P256),
            None,
            false,
        ),
        (
            "SIGNATURE_TYPE=2",
            Some(SigType::EcdsaSha384P384),
            None,
            true,
        ),
        (
            "SIGNATURE_TYPE=3",
            Some(SigType::EcdsaSha512P521),
            None,
            true,
        ),
        ("SIGNATURE_TYPE=7", Some(SigType::Ed25519), None, true),
        (
            "SIGNATURE_TYPE=EdDSA_SHA512_Ed25519",
            Some(SigType::Ed25519),
            None,
            false,
        ),
        (
            "SIGNATURE_TYPE=7 CRYPTO_TYPE=0",
            Some(SigType::Ed25519),
            Some(0),
            true,
        ),
        (
            "SIGNATURE_TYPE=7 CRYPTO_TYPE=4",
            Some(SigType::Ed25519),
            Some(4),
            true,
        ),
        (
            "SIGNATURE_TYPE=11",
            Some(SigType::RedDsaEd25519),
            None,
            true,
        ),
        (
            "SIGNATURE_TYPE=RedDSA_SHA512_Ed25519",
            Some(SigType::RedDsaEd25519),
            None,
            false,
        ),
    ] {
        cases.push((
            format!("DEST GENERATE {arg}\n"),
            Command::DestGenerate(DestGenerate {
                signature_type: sig,
                crypto_type: crypto,
                extra: vec![],
            }),
            canonical,
        ));
    }
    for (line, expected, canonical) in &cases {
        check_command(line, expected, *canonical);
    }

    // Lines the transcripts show that are not valid commands for this library.
    type ErrorCheck = fn(&Error) -> bool;
    let bad: &[(&[u8], ErrorCheck)] = &[
        (b"HELLO\n", |e| matches!(e, Error::UnexpectedLine { .. })),
        (b"FOO BAR\n", |e| matches!(e, Error::UnexpectedLine { .. })),
        (b"DEST\x00GENERATE\n", |e| {
            *e == Error::Syntax("NUL byte in line")
        }),
        (b"DEST GENERATE SIGNATURE_TYPE=99\n", |e| {
            matches!(
                e,
                Error::BadValue {
                    key: "SIGNATURE_TYPE",
                    ..
                }
            )
        }),
        (b"DEST GENERATE SIGNATURE_TYPE=bogus\n", |e| {
            matches!(
                e,
                Error::BadValue {
                    key: "SIGNATURE_TYPE",
                    ..
                }
            )
        }),
        (b"DEST GENERATE SIGNATURE_TYPE=\xff\n", |e| {
            *e == Error::NotUtf8
        }),
        (b"NAMING LOOKUP\n", |e| {
            *e == Error::MissingKey {
                line: "NAMING LOOKUP",
                key: "NAME",
            }
        }),
        (b"NAMING LOOKUP NAME=\xff\xfe\x80.i2p\n", |e| {
            *e == Error::NotUtf8
        }),
        (b"STREAM FORWARD ID=fb\n", |e| {
            *e == Error::MissingKey {
                line: "STREAM FORWARD",
                key: "PORT",
            }
        }),
        (b"DATAGRAM SEND DESTINATION=abc\n", |e| {
            *e == Error::MissingKey {
                line: "DATAGRAM SEND",
                key: "SIZE",
            }
        }),
        (
            b"SESSION CREATE STYLE=STREAM ID=bad/id DESTINATION=TRANSIENT\n",
            |e| matches!(e, Error::BadValue { key: "ID", .. }),
        ),
        (b"SESSION CREATE ID=s5 DESTINATION=TRANSIENT\n", |e| {
            *e == Error::MissingKey {
                line: "SESSION CREATE",
                key: "STYLE",
            }
        }),
        (b"SESSION CREATE STYLE=STREAM ID=s2\n", |e| {
            *e == Error::MissingKey {
                line: "SESSION CREATE",
                key: "DESTINATION",
            }
        }),
        (b"STREAM CONNECT ID=na\n", |e| {
            *e == Error::MissingKey {
                line: "STREAM CONNECT",
                key: "DESTINATION",
            }
        }),
    ];
    for (line, ok) in bad {
        let e = Command::parse(line).expect_err(&String::from_utf8_lossy(line));
        assert!(ok(&e), "{:?}: {e:?}", String::from_utf8_lossy(line));
    }

    // `NAME=` parses (a bridge must answer it) but is never written: Java reads `KEY=` as true.
    let got = Command::parse(b"NAMING LOOKUP NAME=\n").unwrap();
    assert_eq!(got, Command::NamingLookup(NamingLookup::new("")));
    let mut out = b"x".to_vec();
    assert!(matches!(
        got.encode(Version::V3_1, &mut out),
        Err(Error::Unencodable { .. })
    ));
    assert_eq!(out, b"x");
}

#[test]
fn client_udp_packet_of_i2pd_q7_parses() {
    let packet = format!("3.0 d1 {PUB}\nhello-1");
    let (h, payload) = UdpHeader::parse_packet(packet.as_bytes()).unwrap();
    assert_eq!(h, UdpHeader::new(sid("d1"), PUB));
    assert_eq!(payload, b"hello-1");
    // `3.1` instead of `3.0`, and options i2pd ignores.
    let packet = format!("3.1 d1 {PUB} FROM_PORT=1234 TO_PORT=5678\nx");
    let (h, payload) = UdpHeader::parse_packet(packet.as_bytes()).unwrap();
    assert_eq!(h.version, Version::V3_1);
    assert_eq!((h.from_port, h.to_port), (Some(1234), Some(5678)));
    assert_eq!(payload, b"x");
    // Forwarded to d1's UDP port: `<PUB524 of d2>\n` + payload.
    let packet = format!("{PUB}\nhello-1");
    let (p, payload) = parse_repliable(packet.as_bytes()).unwrap();
    assert_eq!(p, peer(PUB, None));
    assert_eq!(p.parse_destination().unwrap(), pub_dest());
    assert_eq!(payload, b"hello-1");
}

// ---------------------------------------------------------------------------------------------
// Exchanges driven with the transcripts
// ---------------------------------------------------------------------------------------------

struct Run<T> {
    result: Result<T, Error>,
    sent: Vec<u8>,
    leftover: Vec<u8>,
}

/// Drives `ex` as exchange.rs's module docs say; each element of `reads` is what one `read`
/// returns; after the last one, reads return 0 bytes (EOF).
fn run<R: Request>(mut ex: Exchange<R>, reads: &[&[u8]]) -> Run<R::Output>
where
    R::Output: std::fmt::Debug,
{
    let mut reads = reads.iter();
    let mut buf: Vec<u8> = Vec::new();
    let mut sent = Vec::new();
    let mut returned_err = None;
    let mut at_eof = false;
    let mut finished = false;
    for _ in 0..100_000 {
        match ex.poll() {
            Step::Send(bytes) => sent.extend_from_slice(bytes),
            Step::Done => {
                finished = true;
                break;
            }
            Step::Recv if buf.is_empty() => match reads.next() {
                Some(r) => buf.extend_from_slice(r),
                None => {
                    assert!(!at_eof, "the exchange asked to read again after eof()");
                    at_eof = true;
                    if let Err(e) = ex.eof() {
                        returned_err = Some(e);
                        finished = true;
                        break;
                    }
                }
            },
            Step::Recv => match ex.feed(&buf) {
                Ok(n) => {
                    assert!(n > 0 && n <= buf.len(), "feed took {n} of {}", buf.len());
                    buf.drain(..n);
                }
                Err(e) => {
                    returned_err = Some(e);
                    finished = true;
                    break;
                }
            },
        }
    }
    assert!(finished, "the exchange did not finish");
    let finished_with = ex.finish();
    // An error is reported once: by feed/eof, and finish() only says so.
    let result = match returned_err {
        Some(e) => {
            assert_eq!(
                finished_with.as_ref().err(),
                Some(&sam_proto::Error::Misuse(sam_proto::exchange::REPORTED)),
                "finish() after a returned error must not report it again"
            );
            Err(e)
        }
        None => finished_with,
    };
    for r in reads {
        buf.extend_from_slice(r);
    }
    Run {
        result,
        sent,
        leftover: buf,
    }
}

fn hello(min: Version, max: Version) -> Hello<'static> {
    Hello::new(min, max)
}

fn refused(reply: &'static str, result: ResultCode, message: Option<&str>) -> Error {
    Error::Refused {
        reply,
        result,
        message: message.map(Into::into),
    }
}

#[test]
fn exchange_i2pd_q1_hello_negotiation() {
    type Case = (Version, Version, &'static [u8], Result<Version, Error>);
    let cases: [Case; 4] = [
        (
            Version::V3_0,
            Version::V3_3,
            b"HELLO REPLY RESULT=OK VERSION=3.0\n",
            Ok(Version::V3_0),
        ),
        (
            Version::V3_1,
            Version::V3_3,
            b"HELLO REPLY RESULT=OK VERSION=3.1\n",
            Ok(Version::V3_1),
        ),
        (
            Version::V3_2,
            Version::V3_3,
            b"HELLO REPLY RESULT=NOVERSION\n",
            Err(refused("HELLO REPLY", ResultCode::NoVersion, None)),
        ),
        (
            Version::V3_3,
            Version::V3_3,
            b"HELLO REPLY RESULT=NOVERSION\n",
            Err(refused("HELLO REPLY", ResultCode::NoVersion, None)),
        ),
    ];
    for (min, max, reply, expected) in cases {
        let r = run(Exchange::new(hello(min, max)).unwrap(), &[reply]);
        assert_eq!(r.result, expected);
        assert_eq!(
            r.sent,
            format!("HELLO VERSION MIN={min} MAX={max}\n").as_bytes()
        );
        if r.result.is_ok() {
            assert!(r.leftover.is_empty());
        }
    }
    // Java refuses the credentials.
    let mut h = hello(Version::V3_1, Version::V3_3);
    h.user = Some(Cow::Borrowed("bob"));
    h.password = Some(Secret::new("secret"));
    let r = run(
        Exchange::new(h).unwrap(),
        &[b"HELLO REPLY RESULT=I2P_ERROR MESSAGE=\"Authorization failed\"\n"],
    );
    assert_eq!(
        r.sent,
        b"HELLO VERSION MIN=3.1 MAX=3.3 USER=bob PASSWORD=secret\n"
    );
    assert_eq!(
        r.result,
        Err(refused(
            "HELLO REPLY",
            ResultCode::I2pError,
            Some("Authorization failed")
        ))
    );
    // i2pd closes without a reply.
    let r = run(
        Exchange::new(hello(Version::V3_0, Version::V3_3)).unwrap(),
        &[],
    );
    assert_eq!(
        r.result,
        Err(Error::Eof {
            during: "HELLO REPLY"
        })
    );
}

#[test]
fn exchange_hello_noversion_refuses_the_command() {
    let connect = StreamConnect::new(sid("sa"), PUB);
    let ex = Exchange::new(connect)
        .unwrap()
        .with_hello(hello(Version::V3_2, Version::V3_3))
        .unwrap();
    let r = run(ex, &[b"HELLO REPLY RESULT=NOVERSION\n"]);
    assert_eq!(
        r.result,
        Err(refused("HELLO REPLY", ResultCode::NoVersion, None))
    );
    assert_eq!(
        r.sent, b"HELLO VERSION MIN=3.2 MAX=3.3\n",
        "no command after NOVERSION"
    );
}

#[test]
fn exchange_i2pd_q4_acceptor_gets_peer_and_data_in_one_chunk() {
    let accept = StreamAccept::new(sid("sb"));
    let ex = Exchange::new(accept)
        .unwrap()
        .with_hello(hello(Version::V3_0, Version::V3_3))
        .unwrap();
    let chunk = format!("{PUB}\nhello from A\n");
    assert_eq!(chunk.len(), 538);
    let r = run(
        ex,
        &[
            b"HELLO REPLY RESULT=OK VERSION=3.0\n",
            b"STREAM STATUS RESULT=OK\n",
            chunk.as_bytes(),
        ],
    );
    assert_eq!(
        r.sent,
        b"HELLO VERSION MIN=3.0 MAX=3.3\nSTREAM ACCEPT ID=sb\n"
    );
    assert_eq!(
        r.result,
        Ok(Accepted {
            peer: Some(pub_dest()),
            from_port: None,
            to_port: None,
        })
    );
    assert_eq!(r.leftover, b"hello from A\n");

    // Everything in a single read: still exactly the application bytes are left.
    let all = format!("HELLO REPLY RESULT=OK VERSION=3.0\nSTREAM STATUS RESULT=OK\n{chunk}");
    let ex = Exchange::new(StreamAccept::new(sid("sb")))
        .unwrap()
        .with_hello(hello(Version::V3_0, Version::V3_3))
        .unwrap();
    let r = run(ex, &[all.as_bytes()]);
    assert!(r.result.is_ok());
    assert_eq!(r.leftover, b"hello from A\n");

    // "If the connector sends nothing, the acceptor gets the 525-byte dest line alone."
    let ex = Exchange::new(StreamAccept::new(sid("sb")))
        .unwrap()
        .with_hello(hello(Version::V3_0, Version::V3_3))
        .unwrap();
    let line = format!("{PUB}\n");
    let r = run(
        ex,
        &[
            b"HELLO REPLY RESULT=OK VERSION=3.0\n",
            b"STREAM STATUS RESULT=OK\n",
            line.as_bytes(),
        ],
    );
    assert_eq!(r.result.unwrap().peer, Some(pub_dest()));
    assert!(r.leftover.is_empty());
}

#[test]
fn exchange_java_accept_with_ports() {
    let ex = Exchange::new(StreamAccept::new(sid("s1")))
        .unwrap()
        .with_hello(hello(Version::V3_1, Version::V3_3))
        .unwrap();
    let data = "GET / HTTP/1.1\r\nHost: zzz.i2p\r\n\r\n";
    let wire = format!("STREAM STATUS RESULT=OK\n{ZZZ} FROM_PORT=1234 TO_PORT=0\n{data}");
    let r = run(
        ex,
        &[b"HELLO REPLY RESULT=OK VERSION=3.3\n", wire.as_bytes()],
    );
    assert_eq!(
        r.sent,
        b"HELLO VERSION MIN=3.1 MAX=3.3\nSTREAM ACCEPT ID=s1\n"
    );
    assert_eq!(
        r.result,
        Ok(Accepted {
            peer: Some(zzz_dest()),
            from_port: Some(1234),
            to_port: Some(0),
        })
    );
    assert_eq!(r.leftover, data.as_bytes());
}

#[test]
fn exchange_accept_error_where_the_peer_line_should_be() {
    for (line, expected) in [
        (
            "STREAM STATUS RESULT=I2P_ERROR MESSAGE=\"Router restart\"\n",
            refused("STREAM STATUS", ResultCode::I2pError, Some("Router restart")),
        ),
        (
            "STREAM STATUS RESULT=ALREADY_ACCEPTING MESSAGE=\"a forwarding server is already defined for this destination\"\n",
            refused(
                "STREAM STATUS",
                ResultCode::AlreadyAccepting,
                Some("a forwarding server is already defined for this destination"),
            ),
        ),
        (
            "SESSION STATUS RESULT=I2P_ERROR MESSAGE=\"Session is closed\"\n",
            refused("SESSION STATUS", ResultCode::I2pError, Some("Session is closed")),
        ),
    ] {
        let ex = Exchange::new(StreamAccept::new(sid("s1")))
            .unwrap()
            .with_version(Version::V3_3)
            .unwrap();
        let wire = format!("STREAM STATUS RESULT=OK\n{line}");
        let r = run(ex, &[wire.as_bytes()]);
        assert_eq!(r.result, Err(expected));
    }
    // The first status already refuses (i2pd INVALID_ID, Java ALREADY_ACCEPTING on PRIMARY).
    let ex = Exchange::new(StreamAccept::new(sid("nosuch"))).unwrap();
    let r = run(ex, &[b"STREAM STATUS RESULT=INVALID_ID\n"]);
    assert_eq!(
        r.result,
        Err(refused("STREAM STATUS", ResultCode::InvalidId, None))
    );
    // EOF after OK: no peer came.
    let ex = Exchange::new(StreamAccept::new(sid("s1"))).unwrap();
    let r = run(ex, &[b"STREAM STATUS RESULT=OK\n"]);
    assert_eq!(
        r.result,
        Err(Error::Eof {
            during: "the peer's destination line"
        })
    );
}

#[test]
fn exchange_i2pd_q4_connect() {
    for dest in [
        PUB,
        "upurl4s2nmxjktfthvv2gjo2dxegoils5rwedppcf5qrnhgzx34q.b32.i2p",
    ] {
        let ex = Exchange::new(StreamConnect::new(sid("sa"), dest))
            .unwrap()
            .with_hello(hello(Version::V3_0, Version::V3_3))
            .unwrap();
        let r = run(
            ex,
            &[
                b"HELLO REPLY RESULT=OK VERSION=3.0\n",
                b"STREAM STATUS RESULT=OK\n",
                b"hello from B\n",
            ],
        );
        assert_eq!(r.result, Ok(()));
        assert_eq!(
            r.sent,
            format!("HELLO VERSION MIN=3.0 MAX=3.3\nSTREAM CONNECT ID=sa DESTINATION={dest}\n")
                .as_bytes()
        );
        assert_eq!(r.leftover, b"hello from B\n");
    }
}

#[test]
fn exchange_connect_refusals() {
    let cases: [(&[u8], Error); 5] = [
        (
            b"STREAM STATUS RESULT=CANT_REACH_PEER\n",
            refused("STREAM STATUS", ResultCode::CantReachPeer, None),
        ),
        (
            b"STREAM STATUS RESULT=INVALID_KEY\n",
            refused("STREAM STATUS", ResultCode::InvalidKey, None),
        ),
        (
            b"STREAM STATUS RESULT=CANT_REACH_PEER MESSAGE=\"LeaseSet not found\"\n",
            refused(
                "STREAM STATUS",
                ResultCode::CantReachPeer,
                Some("LeaseSet not found"),
            ),
        ),
        (
            b"SESSION STATUS RESULT=I2P_ERROR MESSAGE=\"Socket already in use\"\n",
            refused(
                "SESSION STATUS",
                ResultCode::I2pError,
                Some("Socket already in use"),
            ),
        ),
        // emissary: no newline, then EOF.
        (
            b"STREAM STATUS RESULT=CANT_REACH_PEER",
            refused("STREAM STATUS", ResultCode::CantReachPeer, None),
        ),
    ];
    for (reply, expected) in cases {
        let ex = Exchange::new(StreamConnect::new(sid("na"), PUB))
            .unwrap()
            .with_hello(hello(Version::V3_1, Version::V3_3))
            .unwrap();
        let r = run(ex, &[b"HELLO REPLY RESULT=OK VERSION=3.1\n", reply]);
        assert_eq!(r.result, Err(expected));
    }
    // A connect that gets no answer at all.
    let ex = Exchange::new(StreamConnect::new(sid("na"), PUB)).unwrap();
    let r = run(ex, &[]);
    assert_eq!(
        r.result,
        Err(Error::Eof {
            during: "STREAM STATUS"
        })
    );
}

#[test]
fn exchange_silent_connect_and_accept_finish_without_reading() {
    let mut connect = StreamConnect::new(sid("xa"), PUB);
    connect.silent = Some(true);
    let ex = Exchange::new(connect)
        .unwrap()
        .with_hello(hello(Version::V3_0, Version::V3_3))
        .unwrap();
    let r = run(
        ex,
        &[
            b"HELLO REPLY RESULT=OK VERSION=3.0\n",
            b"data from the peer\n",
        ],
    );
    assert_eq!(r.result, Ok(()));
    assert_eq!(
        r.sent,
        format!(
            "HELLO VERSION MIN=3.0 MAX=3.3\nSTREAM CONNECT ID=xa DESTINATION={PUB} SILENT=true\n"
        )
        .as_bytes()
    );
    assert_eq!(r.leftover, b"data from the peer\n");

    // Without HELLO: Done right after the command, nothing read at all.
    let mut connect = StreamConnect::new(sid("xa"), PUB);
    connect.silent = Some(true);
    let mut ex = Exchange::new(connect).unwrap();
    assert!(matches!(ex.poll(), Step::Send(_)));
    assert_eq!(ex.poll(), Step::Done);
    assert_eq!(ex.finish(), Ok(()));

    let accept = StreamAccept {
        id: sid("xb"),
        silent: Some(true),
        extra: vec![],
    };
    let ex = Exchange::new(accept)
        .unwrap()
        .with_hello(hello(Version::V3_0, Version::V3_3))
        .unwrap();
    let r = run(ex, &[b"HELLO REPLY RESULT=OK VERSION=3.0\nearly-data\n"]);
    assert_eq!(
        r.result,
        Ok(Accepted {
            peer: None,
            from_port: None,
            to_port: None
        })
    );
    assert_eq!(r.leftover, b"early-data\n");
}

#[test]
fn exchange_dest_generate() {
    let gen = DestGenerate {
        signature_type: Some(SigType::Ed25519),
        crypto_type: None,
        extra: vec![],
    };
    let ex = Exchange::new(gen)
        .unwrap()
        .with_hello(hello(Version::V3_1, Version::V3_3))
        .unwrap();
    let reply = format!("DEST REPLY PUB={PUB} PRIV={PRIV}\n");
    let r = run(
        ex,
        &[b"HELLO REPLY RESULT=OK VERSION=3.1\n", reply.as_bytes()],
    );
    assert_eq!(
        r.sent,
        b"HELLO VERSION MIN=3.1 MAX=3.3\nDEST GENERATE SIGNATURE_TYPE=7\n"
    );
    let keys = r.result.unwrap();
    assert_eq!(keys.destination(), &pub_dest());
    assert_eq!(keys, priv_keys());
    assert!(r.leftover.is_empty());

    // Java's error reply without newline, then EOF.
    let gen = DestGenerate {
        signature_type: None,
        crypto_type: None,
        extra: vec![],
    };
    let r = run(
        Exchange::new(gen).unwrap(),
        &[b"DEST REPLY RESULT=I2P_ERROR MESSAGE=\"DEST GENERATE required\""],
    );
    assert_eq!(
        r.result,
        Err(refused(
            "DEST REPLY",
            ResultCode::I2pError,
            Some("DEST GENERATE required")
        ))
    );
}

#[test]
fn exchange_naming_lookup() {
    let ex = Exchange::new(NamingLookup::new("ME"))
        .unwrap()
        .with_hello(hello(Version::V3_1, Version::V3_3))
        .unwrap();
    let reply = format!("NAMING REPLY RESULT=OK NAME=ME VALUE={PUB}\n");
    let r = run(
        ex,
        &[b"HELLO REPLY RESULT=OK VERSION=3.1\n", reply.as_bytes()],
    );
    assert_eq!(
        r.sent,
        b"HELLO VERSION MIN=3.1 MAX=3.3\nNAMING LOOKUP NAME=ME\n"
    );
    assert_eq!(r.result, Ok(pub_dest()));

    for (reply, code) in [
        (
            "NAMING REPLY RESULT=INVALID_KEY NAME=unknown.i2p\n",
            ResultCode::InvalidKey,
        ),
        (
            "NAMING REPLY RESULT=KEY_NOT_FOUND NAME=unknown.i2p\n",
            ResultCode::KeyNotFound,
        ),
    ] {
        let ex = Exchange::new(NamingLookup::new("unknown.i2p")).unwrap();
        let r = run(ex, &[reply.as_bytes()]);
        let e = r.result.unwrap_err();
        assert_eq!(e, refused("NAMING REPLY", code, None));
        assert!(e.result_code().unwrap().is_not_found());
    }
}

#[test]
fn exchange_session_create() {
    let mut create = SessionCreate::new(SessionStyle::Stream, sid("a2"), Secret::new("TRANSIENT"));
    create.signature_type = Some(SigType::Ed25519);
    create.extra = zero_hop();
    let ex = Exchange::new(create)
        .unwrap()
        .with_hello(hello(Version::V3_0, Version::V3_3))
        .unwrap();
    let reply = format!("SESSION STATUS RESULT=OK DESTINATION={PRIV}\n");
    let r = run(
        ex,
        &[b"HELLO REPLY RESULT=OK VERSION=3.0\n", reply.as_bytes()],
    );
    assert_eq!(
        r.sent,
        &b"HELLO VERSION MIN=3.0 MAX=3.3\nSESSION CREATE STYLE=STREAM ID=a2 DESTINATION=TRANSIENT SIGNATURE_TYPE=7 inbound.length=0 outbound.length=0\n"[..]
    );
    assert_eq!(r.result, Ok(priv_keys()));
    assert!(r.leftover.is_empty());

    // With the keys of DEST GENERATE.
    let create = SessionCreate::new(SessionStyle::Stream, sid("a3"), Secret::new(PRIV));
    let r = run(Exchange::new(create).unwrap(), &[reply.as_bytes()]);
    assert_eq!(r.result, Ok(priv_keys()));
    assert_eq!(
        r.sent,
        format!("SESSION CREATE STYLE=STREAM ID=a3 DESTINATION={PRIV}\n").as_bytes()
    );
}

#[test]
fn exchange_session_create_duplicate_id_both_spellings() {
    // i2pd / Java, with newline; emissary, without newline and then EOF.
    for reply in [
        &b"SESSION STATUS RESULT=DUPLICATED_ID\n"[..],
        &b"SESSION STATUS RESULT=DUPLICATE_ID"[..],
    ] {
        let create = SessionCreate::new(SessionStyle::Stream, sid("na"), Secret::new("TRANSIENT"));
        let ex = Exchange::new(create)
            .unwrap()
            .with_hello(hello(Version::V3_1, Version::V3_3))
            .unwrap();
        let r = run(ex, &[b"HELLO REPLY RESULT=OK VERSION=3.1\n", reply]);
        let e = r.result.unwrap_err();
        assert!(
            matches!(
                e,
                Error::Refused {
                    reply: "SESSION STATUS",
                    ..
                }
            ),
            "{e:?}"
        );
        assert!(e.result_code().unwrap().is_duplicate_id(), "{e:?}");
    }
    // Driving eof() by hand on the emissary bytes.
    let create = SessionCreate::new(SessionStyle::Stream, sid("t1"), Secret::new("TRANSIENT"));
    let mut ex = Exchange::new(create).unwrap();
    assert!(matches!(ex.poll(), Step::Send(_)));
    assert_eq!(ex.poll(), Step::Recv);
    let input = b"SESSION STATUS RESULT=DUPLICATE_ID";
    assert_eq!(input.len(), 34);
    assert_eq!(ex.feed(input), Ok(34));
    assert_eq!(ex.poll(), Step::Recv);
    let e = ex.eof().unwrap_err();
    assert_eq!(e, refused("SESSION STATUS", ResultCode::DuplicateId, None));
    assert_eq!(ex.poll(), Step::Done);
    // Reported once, by eof().
    assert_eq!(
        ex.finish(),
        Err(sam_proto::Error::Misuse(sam_proto::exchange::REPORTED))
    );

    // Other i2pd refusals.
    for (reply, code, message) in [
        (
            "SESSION STATUS RESULT=INVALID_ID\n",
            ResultCode::InvalidId,
            None,
        ),
        (
            "SESSION STATUS RESULT=INVALID_KEY\n",
            ResultCode::InvalidKey,
            None,
        ),
        (
            "SESSION STATUS RESULT=I2P_ERROR MESSAGE=\"Unknown STYLE\"\n",
            ResultCode::I2pError,
            Some("Unknown STYLE"),
        ),
        (
            "SESSION STATUS RESULT=DUPLICATE_DEST",
            ResultCode::DuplicateDest,
            None,
        ),
    ] {
        let create = SessionCreate::new(SessionStyle::Stream, sid("s1"), Secret::new("TRANSIENT"));
        let r = run(Exchange::new(create).unwrap(), &[reply.as_bytes()]);
        assert_eq!(r.result, Err(refused("SESSION STATUS", code, message)));
    }
}

#[test]
fn exchange_i2pd_q5_stream_forward_and_forwarded_peer() {
    let ex = Exchange::new(StreamForward::new(sid("fb"), 45979))
        .unwrap()
        .with_hello(hello(Version::V3_0, Version::V3_3))
        .unwrap();
    let r = run(
        ex,
        &[
            b"HELLO REPLY RESULT=OK VERSION=3.0\n",
            b"STREAM STATUS RESULT=OK\n",
        ],
    );
    assert_eq!(r.result, Ok(()));
    assert_eq!(
        r.sent,
        b"HELLO VERSION MIN=3.0 MAX=3.3\nSTREAM FORWARD ID=fb PORT=45979\n"
    );
    // Second forward on the same session.
    let ex = Exchange::new(StreamForward::new(sid("fb"), 45980)).unwrap();
    let r = run(
        ex,
        &[b"SESSION STATUS RESULT=I2P_ERROR MESSAGE=\"Already accepting\"\n"],
    );
    assert_eq!(
        r.result,
        Err(refused(
            "SESSION STATUS",
            ResultCode::I2pError,
            Some("Already accepting")
        ))
    );
    let ex = Exchange::new(StreamForward::new(sid("nosuch"), 1)).unwrap();
    let r = run(ex, &[b"STREAM STATUS RESULT=INVALID_ID\n"]);
    assert_eq!(
        r.result,
        Err(refused("STREAM STATUS", ResultCode::InvalidId, None))
    );

    // The forward target reads `<PUB524 of A>\n` then the data (here in 2 reads: 525 + 12).
    let line = format!("{PUB}\n");
    assert_eq!(line.len(), 525);
    let r = run(Exchange::forwarded(), &[line.as_bytes(), b"data-from-A\n"]);
    assert_eq!(
        r.result,
        Ok(Accepted {
            peer: Some(pub_dest()),
            from_port: None,
            to_port: None
        })
    );
    assert!(r.sent.is_empty());
    assert_eq!(r.leftover, b"data-from-A\n");
    // Java at 3.2+ forwards with ports.
    let wire = format!("{ZZZ} FROM_PORT=7 TO_PORT=80\nreply-from-forward-target\n");
    let r = run(Exchange::forwarded(), &[wire.as_bytes()]);
    assert_eq!(
        r.result,
        Ok(Accepted {
            peer: Some(zzz_dest()),
            from_port: Some(7),
            to_port: Some(80)
        })
    );
    assert_eq!(r.leftover, b"reply-from-forward-target\n");
}

#[test]
fn exchange_session_add_and_remove() {
    let add = SessionAdd {
        from_port: Some(1000),
        ..SessionAdd::new(SessionStyle::Stream, sid("m-s1"))
    };
    let reply = format!("SESSION STATUS RESULT=OK DESTINATION={PRIV}\n");
    let r = run(Exchange::new(add.clone()).unwrap(), &[reply.as_bytes()]);
    assert_eq!(r.result, Ok(()));
    assert_eq!(r.sent, b"SESSION ADD STYLE=STREAM ID=m-s1 FROM_PORT=1000\n");
    let r = run(
        Exchange::new(add.clone()).unwrap(),
        &[b"SESSION STATUS RESULT=OK ID=\"m-s1\" MESSAGE=\"ADD m-s1\"\n"],
    );
    assert_eq!(r.result, Ok(()));
    let r = run(
        Exchange::new(add).unwrap(),
        &[b"SESSION STATUS RESULT=DUPLICATED_ID\n"],
    );
    assert!(r
        .result
        .unwrap_err()
        .result_code()
        .unwrap()
        .is_duplicate_id());

    let remove = SessionRemove {
        id: sid("m2-s1"),
        extra: vec![],
    };
    let r = run(Exchange::new(remove.clone()).unwrap(), &[reply.as_bytes()]);
    assert_eq!(r.result, Ok(()));
    assert_eq!(r.sent, b"SESSION REMOVE ID=m2-s1\n");
    let r = run(
        Exchange::new(remove).unwrap(),
        &[b"SESSION STATUS RESULT=INVALID_KEY\n"],
    );
    assert_eq!(
        r.result,
        Err(refused("SESSION STATUS", ResultCode::InvalidKey, None))
    );
}

#[test]
fn exchange_answers_java_ping_while_waiting() {
    let ex = Exchange::new(StreamConnect::new(sid("s1"), ZZZ_B32))
        .unwrap()
        .with_hello(hello(Version::V3_1, Version::V3_3))
        .unwrap();
    let r = run(
        ex,
        &[
            b"HELLO REPLY RESULT=OK VERSION=3.3\n",
            b"PING 1700000000000\n",
            b"STREAM STATUS RESULT=OK\nPING not-for-us\n",
        ],
    );
    assert_eq!(r.result, Ok(()));
    assert_eq!(
        r.sent,
        format!(
            "HELLO VERSION MIN=3.1 MAX=3.3\nSTREAM CONNECT ID=s1 DESTINATION={ZZZ_B32}\nPONG 1700000000000\n"
        )
        .as_bytes()
    );
    // A PING after the status belongs to the stream.
    assert_eq!(r.leftover, b"PING not-for-us\n");
}

#[test]
fn exchange_quoting_depends_on_the_negotiated_version() {
    // A name with a space needs 3.2+: i2pd negotiates 3.0, so nothing is sent.
    let ex = Exchange::new(NamingLookup::new("a b"))
        .unwrap()
        .with_hello(hello(Version::V3_0, Version::V3_3))
        .unwrap();
    let r = run(ex, &[b"HELLO REPLY RESULT=OK VERSION=3.0\n"]);
    assert!(
        matches!(r.result, Err(Error::Unencodable { .. })),
        "{:?}",
        r.result
    );
    assert_eq!(r.sent, b"HELLO VERSION MIN=3.0 MAX=3.3\n");
    // Java negotiates 3.3: the name is quoted.
    let ex = Exchange::new(NamingLookup::new("a b"))
        .unwrap()
        .with_hello(hello(Version::V3_1, Version::V3_3))
        .unwrap();
    let reply = format!("NAMING REPLY RESULT=OK NAME=\"a b\" VALUE={ZZZ}\n");
    let r = run(
        ex,
        &[b"HELLO REPLY RESULT=OK VERSION=3.3\n", reply.as_bytes()],
    );
    assert_eq!(r.result, Ok(zzz_dest()));
    assert_eq!(
        r.sent,
        b"HELLO VERSION MIN=3.1 MAX=3.3\nNAMING LOOKUP NAME=\"a b\"\n"
    );
    // Without HELLO the request is held back until the version is known, and refused at 3.1.
    let mut ex = Exchange::new(NamingLookup::new("a b")).unwrap();
    assert_eq!(ex.poll(), Step::Done);
    assert!(matches!(ex.finish(), Err(Error::Unencodable { .. })));
    // A control character is refused at once.
    assert!(matches!(
        Exchange::new(NamingLookup::new("a\nNAMING LOOKUP NAME=b")),
        Err(Error::Unencodable { .. })
    ));
}

// ---------------------------------------------------------------------------------------------
// The session control socket with the transcripts
// ---------------------------------------------------------------------------------------------

fn events(c: &mut ControlSocket) -> Vec<ControlEvent> {
    std::iter::from_fn(|| c.poll_event()).collect()
}

fn transmit(c: &mut ControlSocket) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(b) = c.poll_transmit() {
        out.extend_from_slice(b);
    }
    out
}

#[test]
fn control_java_keepalive_and_errors() {
    let mut c = ControlSocket::new(Version::V3_3);
    c.feed(b"PING 1700000000000\n").unwrap();
    assert_eq!(transmit(&mut c), b"PONG 1700000000000\n");
    assert!(events(&mut c).is_empty());
    c.feed(b"PING\n").unwrap();
    assert_eq!(transmit(&mut c), b"PONG\n");

    c.start(ControlCommand::Ping(Ping {
        text: Some(cow("hello  world")),
    }))
    .unwrap();
    assert_eq!(transmit(&mut c), b"PING hello  world\n");
    c.feed(b"PONG hello  world\n").unwrap();
    assert_eq!(
        events(&mut c),
        vec![ControlEvent::Completed(Ok(Completion::Pong(Some(
            "hello  world".into()
        ))))]
    );

    c.feed(b"SESSION STATUS RESULT=I2P_ERROR MESSAGE=\"PONG timeout\"\n")
        .unwrap();
    assert_eq!(
        events(&mut c),
        vec![ControlEvent::BridgeError(refused(
            "SESSION STATUS",
            ResultCode::I2pError,
            Some("PONG timeout")
        ))]
    );
    c.eof();
    assert_eq!(events(&mut c), vec![ControlEvent::Closed]);
    assert!(c.is_closed());
}

#[test]
fn control_i2pd_q6_lookups_on_the_session_socket() {
    let mut c = ControlSocket::new(Version::V3_0);
    c.start(ControlCommand::Lookup(NamingLookup::new("ME")))
        .unwrap();
    assert_eq!(transmit(&mut c), b"NAMING LOOKUP NAME=ME\n");
    let reply = format!("NAMING REPLY RESULT=OK NAME=ME VALUE={PUB}\n");
    c.feed(reply.as_bytes()).unwrap();
    assert_eq!(
        events(&mut c),
        vec![ControlEvent::Completed(Ok(Completion::Lookup(pub_dest())))]
    );
    let name = "hoa4iuv7mbukzhidqcprxebcqp4oqzqt5skyyhjrmjmx3kpw2trq.b32.i2p";
    c.start(ControlCommand::Lookup(NamingLookup::new(name)))
        .unwrap();
    assert_eq!(
        transmit(&mut c),
        format!("NAMING LOOKUP NAME={name}\n").as_bytes()
    );
    c.feed(format!("NAMING REPLY RESULT=INVALID_KEY NAME={name}\n").as_bytes())
        .unwrap();
    assert_eq!(
        events(&mut c),
        vec![ControlEvent::Completed(Err(refused(
            "NAMING REPLY",
            ResultCode::InvalidKey,
            None
        )))]
    );
}

#[test]
fn control_i2pd_q7_datagrams() {
    let mut c = ControlSocket::new(Version::V3_0);
    let wire = format!("DATAGRAM RECEIVED DESTINATION={PUB} SIZE=7\nhello-1");
    assert_eq!(wire.len(), 562 + 7);
    c.feed(wire.as_bytes()).unwrap();
    c.feed(b"RAW RECEIVED SIZE=7\nhello-2").unwrap();
    assert_eq!(
        events(&mut c),
        vec![
            ControlEvent::Datagram(sam_proto::control::ReceivedDatagram {
                source: Some(PUB.into()),
                from_port: None,
                to_port: None,
                protocol: None,
                payload: b"hello-1".to_vec(),
            }),
            ControlEvent::Datagram(sam_proto::control::ReceivedDatagram {
                source: None,
                from_port: None,
                to_port: None,
                protocol: None,
                payload: b"hello-2".to_vec(),
            }),
        ]
    );
    // Java >= 3.2 with ports and protocol, binary payloads.
    let wire = format!(
        "DATAGRAM RECEIVED DESTINATION={ZZZ} SIZE=5 FROM_PORT=0 TO_PORT=0\n\n\0\r\nXRAW RECEIVED SIZE=5 PROTOCOL=18 FROM_PORT=0 TO_PORT=0\nPING\n"
    );
    c.feed(wire.as_bytes()).unwrap();
    assert_eq!(
        events(&mut c),
        vec![
            ControlEvent::Datagram(sam_proto::control::ReceivedDatagram {
                source: Some(ZZZ.into()),
                from_port: Some(0),
                to_port: Some(0),
                protocol: None,
                payload: b"\n\0\r\nX".to_vec(),
            }),
            ControlEvent::Datagram(sam_proto::control::ReceivedDatagram {
                source: None,
                from_port: Some(0),
                to_port: Some(0),
                protocol: Some(18),
                payload: b"PING\n".to_vec(),
            }),
        ]
    );
    assert!(transmit(&mut c).is_empty(), "a payload is not a PING");

    // Control-socket sends: the exact bytes of the transcript, and no reply is awaited.
    let send = DatagramSend {
        destination: cow(PUB),
        size: 18,
        from_port: None,
        to_port: None,
        extra: vec![],
    };
    c.start(ControlCommand::DatagramSend(
        send,
        b"via-control-socket".to_vec(),
    ))
    .unwrap();
    assert_eq!(
        transmit(&mut c),
        format!("DATAGRAM SEND DESTINATION={PUB} SIZE=18\nvia-control-socket").as_bytes()
    );
    assert_eq!(
        events(&mut c),
        vec![ControlEvent::Completed(Ok(Completion::Sent))]
    );
    assert!(!c.is_busy());
    let send = RawSend {
        destination: cow(PUB),
        size: 18,
        from_port: None,
        to_port: None,
        protocol: None,
        extra: vec![],
    };
    c.start(ControlCommand::RawSend(
        send,
        b"via-control-socket".to_vec(),
    ))
    .unwrap();
    assert_eq!(
        transmit(&mut c),
        format!("RAW SEND DESTINATION={PUB} SIZE=18\nvia-control-socket").as_bytes()
    );
}

#[test]
fn control_i2pd_q8_master_subsessions() {
    let mut c = ControlSocket::new(Version::V3_1);
    let add = SessionAdd {
        from_port: Some(1000),
        ..SessionAdd::new(SessionStyle::Stream, sid("m-s1"))
    };
    c.start(ControlCommand::Add(add)).unwrap();
    assert_eq!(
        transmit(&mut c),
        b"SESSION ADD STYLE=STREAM ID=m-s1 FROM_PORT=1000\n"
    );
    c.feed(format!("SESSION STATUS RESULT=OK DESTINATION={PRIV}\n").as_bytes())
        .unwrap();
    assert_eq!(
        events(&mut c),
        vec![ControlEvent::Completed(Ok(Completion::Added))]
    );

    let add = SessionAdd {
        from_port: Some(1001),
        ..SessionAdd::new(SessionStyle::Stream, sid("m-s1"))
    };
    c.start(ControlCommand::Add(add)).unwrap();
    c.feed(b"SESSION STATUS RESULT=DUPLICATED_ID\n").unwrap();
    match events(&mut c).as_slice() {
        [ControlEvent::Completed(Err(e))] => {
            assert!(e.result_code().unwrap().is_duplicate_id())
        }
        other => panic!("{other:?}"),
    }

    let remove = SessionRemove {
        id: sid("m2-s1"),
        extra: vec![],
    };
    c.start(ControlCommand::Remove(remove.clone())).unwrap();
    assert_eq!(
        transmit(&mut c),
        b"SESSION ADD STYLE=STREAM ID=m-s1 FROM_PORT=1001\nSESSION REMOVE ID=m2-s1\n"
    );
    c.feed(format!("SESSION STATUS RESULT=OK DESTINATION={PRIV}\n").as_bytes())
        .unwrap();
    assert_eq!(
        events(&mut c),
        vec![ControlEvent::Completed(Ok(Completion::Removed))]
    );
    c.start(ControlCommand::Remove(remove)).unwrap();
    c.feed(b"SESSION STATUS RESULT=INVALID_KEY\n").unwrap();
    assert_eq!(
        events(&mut c),
        vec![ControlEvent::Completed(Err(refused(
            "SESSION STATUS",
            ResultCode::InvalidKey,
            None
        )))]
    );

    // "Unsupported STYLE" and the socket is closed, which destroys the master session.
    let add = SessionAdd {
        port: Some(5555),
        host: Some(cow("127.0.0.1")),
        from_port: Some(2000),
        ..SessionAdd::new(SessionStyle::Datagram, sid("m-d1"))
    };
    c.start(ControlCommand::Add(add)).unwrap();
    transmit(&mut c);
    c.feed(b"SESSION STATUS RESULT=I2P_ERROR MESSAGE=\"Unsupported STYLE\"\n")
        .unwrap();
    c.eof();
    assert_eq!(
        events(&mut c),
        vec![
            ControlEvent::Completed(Err(refused(
                "SESSION STATUS",
                ResultCode::I2pError,
                Some("Unsupported STYLE")
            ))),
            ControlEvent::Closed
        ]
    );
    assert!(c
        .start(ControlCommand::Lookup(NamingLookup::new("ME")))
        .is_err());
}

#[test]
fn control_quit_java_and_i2pd() {
    // Java confirms.
    let mut c = ControlSocket::new(Version::V3_3);
    c.start(ControlCommand::Quit).unwrap();
    assert_eq!(transmit(&mut c), b"QUIT\n");
    c.feed(b"QUIT STATUS RESULT=OK MESSAGE=bye\n").unwrap();
    assert_eq!(
        events(&mut c),
        vec![ControlEvent::Completed(Ok(Completion::Quit))]
    );
    // A 3.1 bridge (i2pd 2.45) does not know QUIT: refused before anything is written.
    let mut c = ControlSocket::new(Version::V3_1);
    assert!(matches!(
        c.start(ControlCommand::Quit),
        Err(Error::NeedsVersion {
            command: "QUIT",
            ..
        })
    ));
    assert!(c.poll_transmit().is_none());
    assert!(!c.is_busy());
    // i2pd 2.59 (3.3) just closes.
    let mut c = ControlSocket::new(Version::V3_3);
    c.start(ControlCommand::Quit).unwrap();
    assert_eq!(transmit(&mut c), b"QUIT\n");
    c.eof();
    assert_eq!(
        events(&mut c),
        vec![
            ControlEvent::Completed(Ok(Completion::Quit)),
            ControlEvent::Closed
        ]
    );
}

#[test]
fn exchange_ping_on_its_own_socket_i2pd_2_59_and_3_1_bridges() {
    let ping = || Ping {
        text: Some(Cow::Borrowed("t1")),
    };
    // i2pd 2.59: HELLO → 3.3, PING t1 → PONG t1 (then it closes the socket).
    let ex = Exchange::new(ping())
        .unwrap()
        .with_hello(hello(Version::V3_1, Version::V3_3))
        .unwrap();
    let r = run(ex, &[b"HELLO REPLY RESULT=OK VERSION=3.3\n", b"PONG t1\n"]);
    assert_eq!(r.result, Ok(()));
    assert_eq!(r.sent, b"HELLO VERSION MIN=3.1 MAX=3.3\nPING t1\n");
    // Another text is not our answer.
    let ex = Exchange::new(ping())
        .unwrap()
        .with_hello(hello(Version::V3_1, Version::V3_3))
        .unwrap();
    let r = run(ex, &[b"HELLO REPLY RESULT=OK VERSION=3.2\n", b"PONG t2\n"]);
    assert!(matches!(r.result, Err(Error::BadValue { key: "PONG", .. })));
    // A 3.1 bridge (i2pd 2.45 closes the socket on PING): nothing after the HELLO.
    let ex = Exchange::new(ping())
        .unwrap()
        .with_hello(hello(Version::V3_1, Version::V3_3))
        .unwrap();
    let r = run(ex, &[b"HELLO REPLY RESULT=OK VERSION=3.1\n"]);
    assert_eq!(
        r.result,
        Err(Error::NeedsVersion {
            command: "PING",
            needs: Version::V3_2,
            negotiated: Version::V3_1
        })
    );
    assert_eq!(r.sent, b"HELLO VERSION MIN=3.1 MAX=3.3\n");
}
