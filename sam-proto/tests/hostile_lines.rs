//! The hostile-bridge scenarios that only exercise parsing, moved here from the socket suite
//! (`testbed/kit/src/hostile.rs`, which ran each on three adapters over loopback sockets).
//!
//! Each test feeds an [`Exchange`] the very bytes the scripted bridge sent, set up the way the
//! adapters set it up (the `HELLO` of [`SamConfig`], the same command), closes the input where
//! the bridge closed its socket, maps the error with [`ClientError::proto`] as the adapters do,
//! and asserts the outcome the scenario asserted on the adapter's error. The adapters' part of
//! these outcomes (passing the typed error through, never hanging) stays covered by the
//! scenarios that remain in the socket suite.

use sam_proto::client::{ClientError, SamConfig};
use sam_proto::command::{
    DestGenerate, Hello, NamingLookup, Ping, SessionCreate, StreamAccept, StreamConnect,
};
use sam_proto::exchange::{Exchange, Request, Step};
use sam_proto::keys::{base64_encode, Destination, KeyError, PrivateKeys, SigType};
use sam_proto::message::Message;
use sam_proto::{Error, Secret, SessionId, SessionStyle};

// ---------------------------------------------------------------------------------------------
// The bridge's bytes (the hostile bridge's helpers, for the lines used here)
// ---------------------------------------------------------------------------------------------

fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed) | 1)
        .collect()
}

/// Keys with an Ed25519 destination (the hostile bridge's `ed25519_keys`).
fn ed25519_keys(seed: u8) -> PrivateKeys {
    let mut b = pattern(384, seed);
    b.extend_from_slice(&[5, 0, 4, 0, 7, 0, 0]);
    b.extend_from_slice(&pattern(256, seed ^ 0x55));
    b.extend_from_slice(&pattern(32, seed ^ 0xaa));
    PrivateKeys::from_bytes(&b).expect("constructed Ed25519 keys")
}

/// A peer destination (the hostile bridge's `peer`).
fn peer(seed: u8) -> Destination {
    ed25519_keys(seed).destination().clone()
}

fn hello_ok(version: &str) -> Vec<u8> {
    format!("HELLO REPLY RESULT=OK VERSION={version}\n").into_bytes()
}

const STREAM_OK: &[u8] = b"STREAM STATUS RESULT=OK\n";

/// What the adapters send first: the `HELLO` of the configuration (`MIN=3.1 MAX=3.3`).
fn hello() -> Hello<'static> {
    SamConfig::new("127.0.0.1:7656").hello()
}

fn id() -> SessionId<'static> {
    SessionId::new("sam-hostile").expect("a session ID")
}

/// How the bridge's connection ends after its bytes.
#[derive(PartialEq)]
enum Then {
    /// It closes: the exchange is told EOF.
    Close,
    /// It says nothing more (the exchange must be done by then).
    Hold,
}

/// Runs `request` (after `HELLO`) against a bridge that sends `bridge` once the client has
/// written everything, then ends as `then` says; the adapters' error for operation `KIND`.
fn exchange<R: Request + Message<'static>>(
    request: R,
    bridge: &[u8],
    then: Then,
) -> Result<R::Output, ClientError> {
    let operation = R::KIND;
    let mut ex = Exchange::new(request)
        .and_then(|ex| ex.with_hello(hello()))
        .map_err(|e| ClientError::proto(operation, e))?;
    let mut input = bridge.to_vec();
    loop {
        match ex.poll() {
            Step::Send(_) => {}
            Step::Recv if !input.is_empty() => ex
                .feed_buf(&mut input)
                .map_err(|e| ClientError::proto(operation, e))?,
            Step::Recv => match then {
                Then::Close => ex.eof().map_err(|e| ClientError::proto(operation, e))?,
                Then::Hold => panic!("the exchange waits for more than the bridge sent"),
            },
            Step::Done => break,
        }
    }
    ex.finish().map_err(|e| ClientError::proto(operation, e))
}

fn lookup(bridge: &[u8], then: Then) -> Result<Destination, ClientError> {
    exchange(NamingLookup::new("x.i2p"), bridge, then)
}

/// The error of a call that had to fail.
#[track_caller]
fn fails<T>(result: Result<T, ClientError>, what: &str) -> ClientError {
    match result {
        Ok(_) => panic!("{what}: expected an error, the call succeeded"),
        Err(e) => e,
    }
}

/// The protocol error inside `ClientError::Protocol`.
#[track_caller]
fn protocol(err: &ClientError) -> &Error {
    match err {
        ClientError::Protocol(e) => e,
        other => panic!("expected ClientError::Protocol, got {other:?}"),
    }
}

fn cat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

// ---------------------------------------------------------------------------------------------
// HELLO and the first line
// ---------------------------------------------------------------------------------------------

/// The client asks for `MIN=3.1 MAX=3.3`; a bridge that answers `0.3` broke the negotiation.
#[test]
fn hello_version_0_3_outside_the_requested_range_is_a_protocol_error() {
    let create = SessionCreate::new(SessionStyle::Stream, id(), Secret::new("TRANSIENT"));
    let keys = ed25519_keys(1).to_base64();
    let status = format!("SESSION STATUS RESULT=OK DESTINATION={keys}\n");
    let result = exchange(
        create,
        &cat(&[&hello_ok("0.3"), status.as_bytes()]),
        Then::Hold,
    );
    let err = fails(result, "VERSION=0.3");
    match protocol(&err) {
        Error::BadValue { key: "VERSION", .. } => {}
        other => panic!("expected BadValue(VERSION), got {other:?}"),
    }
}

#[test]
fn hello_closed_before_the_reply_is_eof() {
    let err = fails(lookup(b"", Then::Close), "closed");
    assert_eq!(
        protocol(&err),
        &Error::Eof {
            during: "HELLO REPLY"
        }
    );
}

#[test]
fn http_server_instead_of_a_bridge_is_unexpected_line() {
    let bridge = b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n";
    let err = fails(lookup(bridge, Then::Close), "HTTP");
    match protocol(&err) {
        Error::UnexpectedLine {
            expected: "HELLO REPLY",
            got,
        } => assert!(got.starts_with("HTTP/1.1 400"), "{got}"),
        other => panic!("expected UnexpectedLine, got {other:?}"),
    }
}

/// A TLS alert record where the HELLO REPLY should be, then EOF.
#[test]
fn binary_garbage_then_close_is_a_syntax_error() {
    let err = fails(
        lookup(b"\x15\x03\x01\x00\x02\x02\x46\xff\xfe", Then::Close),
        "garbage",
    );
    assert_eq!(protocol(&err), &Error::Syntax("NUL byte in line"));
}

#[test]
fn invalid_utf8_in_a_reply_is_not_utf8() {
    let bridge = b"HELLO REPLY RESULT=OK VERSION=3.1 MESSAGE=\xc3\x28\xff\n";
    let err = fails(lookup(bridge, Then::Hold), "bad UTF-8");
    assert_eq!(protocol(&err), &Error::NotUtf8);
}

#[test]
fn nul_in_a_reply_line_is_a_syntax_error() {
    let err = fails(
        lookup(b"HELLO REPLY RESULT=OK\0 VERSION=3.1\n", Then::Hold),
        "NUL",
    );
    assert_eq!(protocol(&err), &Error::Syntax("NUL byte in line"));
}

/// A last line ended by EOF is read as a line (Java's DEST REPLY), so a line cut in the middle
/// reads as the fragment it is: here a HELLO REPLY without RESULT.
#[test]
fn close_in_the_middle_of_a_line_reads_the_fragment() {
    let err = fails(lookup(&hello_ok("3.1")[..15], Then::Close), "cut line");
    assert_eq!(
        protocol(&err),
        &Error::MissingKey {
            line: "HELLO REPLY",
            key: "RESULT"
        }
    );
}

#[test]
fn hello_ok_without_version_is_missing_key() {
    let err = fails(lookup(b"HELLO REPLY RESULT=OK\n", Then::Hold), "no VERSION");
    assert_eq!(
        protocol(&err),
        &Error::MissingKey {
            line: "HELLO REPLY",
            key: "VERSION"
        }
    );
}

/// `RESULT=OK ... RESULT=KEY_NOT_FOUND`: ambiguous, so neither is believed.
#[test]
fn duplicate_key_in_a_reply_is_refused_as_ambiguous() {
    let bridge = cat(&[
        &hello_ok("3.1"),
        b"NAMING REPLY RESULT=OK NAME=x.i2p RESULT=KEY_NOT_FOUND\n",
    ]);
    let err = fails(lookup(&bridge, Then::Hold), "duplicate RESULT");
    assert_eq!(protocol(&err), &Error::DuplicateKey("RESULT".into()));
}

#[test]
fn unterminated_quote_in_a_reply_is_a_syntax_error() {
    let bridge = cat(&[
        &hello_ok("3.2"),
        b"NAMING REPLY RESULT=KEY_NOT_FOUND NAME=x.i2p MESSAGE=\"oops\n",
    ]);
    let err = fails(lookup(&bridge, Then::Hold), "open quote");
    assert_eq!(protocol(&err), &Error::Syntax("unterminated quote"));
}

// ---------------------------------------------------------------------------------------------
// Replies to commands
// ---------------------------------------------------------------------------------------------

#[test]
fn naming_closed_before_the_reply_is_eof() {
    let err = fails(lookup(&hello_ok("3.1"), Then::Close), "closed");
    assert_eq!(
        protocol(&err),
        &Error::Eof {
            during: "NAMING REPLY"
        }
    );
}

#[test]
fn dest_reply_whose_pub_is_not_the_destination_of_priv_is_bad_value() {
    let reply = format!(
        "DEST REPLY PUB={} PRIV={}\n",
        peer(10).to_base64(),
        ed25519_keys(11).to_base64()
    );
    let bridge = cat(&[&hello_ok("3.1"), reply.as_bytes()]);
    let generate = DestGenerate::new(SigType::Ed25519);
    let err = fails(exchange(generate, &bridge, Then::Hold), "PUB != PRIV");
    match protocol(&err) {
        Error::BadValue { key: "PUB", .. } => {}
        other => panic!("expected BadValue(PUB), got {other:?}"),
    }
}

#[test]
fn session_status_ok_with_a_truncated_destination_is_a_key_error() {
    let bytes = ed25519_keys(15).to_bytes();
    let damaged = base64_encode(&bytes[..600]);
    let status = format!("SESSION STATUS RESULT=OK DESTINATION={damaged}\n");
    let bridge = cat(&[&hello_ok("3.1"), status.as_bytes()]);
    let create = SessionCreate::new(SessionStyle::Stream, id(), Secret::new("TRANSIENT"));
    let err = fails(exchange(create, &bridge, Then::Hold), "damaged blob");
    assert!(
        matches!(err, ClientError::Key(KeyError::Truncated { got: 600, .. })),
        "{err:?}"
    );
}

#[test]
fn ping_answered_with_another_text_is_a_protocol_error() {
    let ping = Ping {
        text: Some("sam-probe".into()),
    };
    let bridge = cat(&[&hello_ok("3.3"), b"PONG not-yours\n"]);
    let err = fails(exchange(ping, &bridge, Then::Hold), "foreign PONG");
    match protocol(&err) {
        Error::BadValue { key: "PONG", .. } => {}
        other => panic!("expected BadValue(PONG), got {other:?}"),
    }
}

#[test]
fn connect_answered_with_naming_reply_is_unexpected_line() {
    let reply = format!(
        "NAMING REPLY RESULT=OK NAME=peer.i2p VALUE={}\n",
        peer(28).to_base64()
    );
    let bridge = cat(&[&hello_ok("3.1"), reply.as_bytes()]);
    let connect = StreamConnect::new(id(), "peer.i2p");
    let err = fails(
        exchange(connect, &bridge, Then::Hold),
        "NAMING REPLY to CONNECT",
    );
    match protocol(&err) {
        Error::UnexpectedLine {
            expected: "STREAM STATUS",
            got,
        } => assert!(got.starts_with("NAMING REPLY"), "{got}"),
        other => panic!("expected UnexpectedLine(STREAM STATUS), got {other:?}"),
    }
}

// ---------------------------------------------------------------------------------------------
// STREAM ACCEPT: the peer line
// ---------------------------------------------------------------------------------------------

/// The error of an accept on a bridge that agrees to `version`, then sends `bridge`.
fn accept(version: &str, bridge: &[u8], then: Then) -> ClientError {
    let bridge = cat(&[&hello_ok(version), bridge]);
    match exchange(StreamAccept::new(id()), &bridge, then) {
        Ok(accepted) => panic!("expected an error, the accept succeeded: {accepted:?}"),
        Err(e) => e,
    }
}

#[test]
fn accept_with_a_non_numeric_from_port_is_bad_value() {
    let line = format!("{} FROM_PORT=http TO_PORT=80\n", peer(43).to_base64());
    let err = accept("3.2", &cat(&[STREAM_OK, line.as_bytes()]), Then::Close);
    match protocol(&err) {
        Error::BadValue {
            key: "FROM_PORT", ..
        } => {}
        other => panic!("expected BadValue(FROM_PORT), got {other:?}"),
    }
}

#[test]
fn accept_peer_line_too_short_is_unexpected_line() {
    let err = accept("3.1", &cat(&[STREAM_OK, b"AAAA\n"]), Then::Close);
    match protocol(&err) {
        Error::UnexpectedLine {
            expected: "peer destination",
            ..
        } => {}
        other => panic!("expected UnexpectedLine(peer destination), got {other:?}"),
    }
}

#[test]
fn accept_peer_line_with_a_damaged_destination_is_a_key_error() {
    let damaged = base64_encode(&peer(46).as_bytes()[..300]);
    let err = accept(
        "3.1",
        &cat(&[STREAM_OK, damaged.as_bytes(), b"\ndata"]),
        Then::Close,
    );
    assert!(
        matches!(err, ClientError::Key(KeyError::Truncated { got: 300, .. })),
        "{err:?}"
    );
}

#[test]
fn accept_closed_before_the_peer_line_is_eof() {
    let err = accept("3.1", STREAM_OK, Then::Close);
    match protocol(&err) {
        Error::Eof { .. } => {}
        other => panic!("expected Eof, got {other:?}"),
    }
}
