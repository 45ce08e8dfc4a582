//! Property tests for `sam-proto`:
//!
//! * every command and reply type: `parse(encode(x)) == x` whenever `encode` succeeds, and a
//!   failed `encode` appends nothing;
//! * every user-controlled field: encoding either fails or yields exactly one line that parses
//!   back to the same values (no line injection), with the documented quoting rules per version;
//! * every exchange and the control socket give the same outcome and leave exactly the
//!   application bytes, however the bridge's bytes are split into reads;
//! * no parser, exchange or the control socket panics on arbitrary input.

use std::borrow::Cow;
use std::fmt::Debug;

use proptest::collection::vec as pvec;
use proptest::option::of as opt;
use proptest::prelude::*;
use proptest::sample::select;
use proptest::test_runner::TestCaseError;

use sam_proto::command::{
    Command, DatagramSend, DestGenerate, Hello, NamingLookup, Ping, Pong, Quit, RawSend,
    SessionAdd, SessionCreate, SessionRemove, StreamAccept, StreamConnect, StreamForward,
};
use sam_proto::control::{
    Completion, ControlCommand, ControlEvent, ControlSocket, ReceivedDatagram,
};
use sam_proto::datagram::{encode_repliable, parse_repliable, RawHeader, UdpHeader};
use sam_proto::exchange::{Accepted, Exchange, Request, Step};
use sam_proto::keys::{Destination, PrivateKeys, SigType};
use sam_proto::line::Line;
use sam_proto::message::{KeyValue, Message};
use sam_proto::reply::{
    DatagramReceived, DestReply, HelloReply, LeaseSetOptions, LookupAnswer, NamingReply,
    OtherStatus, PeerLine, RawReceived, Reply, SessionStatus, StreamStatus,
};
use sam_proto::{Error, ResultCode, Secret, SessionId, SessionStyle, Version};

// ---------------------------------------------------------------------------------------------
// Fixtures (sam-proto/PROTOCOL.md §11.5, §11.6)
// ---------------------------------------------------------------------------------------------

const PUB: &str = "UZD0uId3hp0jjP6CV43QekceP~4lsJgpudwLncUx~a9RkPS4h3eGnSOM~oJXjdB6Rx4~~iWwmCm53AudxTH9r1GQ9LiHd4adI4z-gleN0HpHHj~-JbCYKbncC53FMf2vUZD0uId3hp0jjP6CV43QekceP~4lsJgpudwLncUx~a9RkPS4h3eGnSOM~oJXjdB6Rx4~~iWwmCm53AudxTH9r1GQ9LiHd4adI4z-gleN0HpHHj~-JbCYKbncC53FMf2vUZD0uId3hp0jjP6CV43QekceP~4lsJgpudwLncUx~a9RkPS4h3eGnSOM~oJXjdB6Rx4~~iWwmCm53AudxTH9r1GQ9LiHd4adI4z-gleN0HpHHj~-JbCYKbncC53FMf2vUZD0uId3hp0jjP6CV43QekceP~4lsJgpudwLncUx~a9RkPS4h3eGnSOM~oJXjdB6Rx4~~iWwmCm53AudxTH9rwOhB7~zzhC-HXDdGOdLwJln5NYwm6UNXx3chmQSVTG4BQAEAAcAAA==";
const PRIV: &str = include_str!("data/priv908.txt");
const ZZZ: &str = "GKapJ8koUcBj~jmQzHsTYxDg2tpfWj0xjQTzd8BhfC9c3OS5fwPBNajgF-eOD6eCjFTqTlorlh7Hnd8kXj1qblUGXT-tDoR9~YV8dmXl51cJn9MVTRrEqRWSJVXbUUz9t5Po6Xa247Vr0sJn27R4KoKP8QVj1GuH6dB3b6wTPbOamC3dkO18vkQkfZWUdRMDXk0d8AdjB0E0864nOT~J9Fpnd2pQE5uoFT6P0DqtQR2jsFvf9ME61aqLvKPPWpkgdn4z6Zkm-NJOcDz2Nv8Si7hli94E9SghMYRsdjU-knObKvxiagn84FIwcOpepxuG~kFXdD5NfsH0v6Uri3usE3XWD7Pw6P8qVYF39jUIq4OiNMwPnNYzy2N4mDMQdsdHO3LUVh~DEppOy9AAmEoHDjjJxt2BFBbGxfdpZCpENkwvmZeYUyNCCzASqTOOlNzdpne8cuesn3NDXIpNnqEE6Oe5Qm5YOJykrX~Vx~cFFT3QzDGkIjjxlFBsjUJyYkFjBQAEAAcAAA==";
const I2P_PROJEKT: &str = "8ZAW~KzGFMUEj0pdchy6GQOOZbuzbqpWtiApEj8LHy2~O~58XKxRrA43cA23a9oDpNZDqWhRWEtehSnX5NoCwJcXWWdO1ksKEUim6cQLP-VpQyuZTIIqwSADwgoe6ikxZG0NGvy5FijgxF4EW9zg39nhUNKRejYNHhOBZKIX38qYyXoB8XCVJybKg89aMMPsCT884F0CLBKbHeYhpYGmhE4YW~aV21c5pebivvxeJPWuTBAOmYxAIgJE3fFU-fucQn9YyGUFa8F3t-0Vco-9qVNSEWfgrdXOdKT6orr3sfssiKo3ybRWdTpxycZ6wB4qHWgTSU5A-gOA3ACTCMZBsASN3W5cz6GRZCspQ0HNu~R~nJ8V06Mmw~iVYOu5lDvipmG6-dJky6XRxCedczxMM1GWFoieQ8Ysfuxq-j8keEtaYmyUQme6TcviCEvQsxyVirr~dTC-F8aZ~y2AlG5IJz5KD02nO6TRkI2fgjHhv9OZ9nskh-I2jxAzFP6Is1kyAAAA";

fn cfg(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        // Keep the tests directory clean: no `*.proptest-regressions` files.
        failure_persistence: None,
        max_shrink_iters: 4096,
        ..ProptestConfig::default()
    }
}

fn sid(id: &'static str) -> SessionId<'static> {
    SessionId::new(id).unwrap()
}

fn refused(reply: &'static str, result: ResultCode, message: Option<&str>) -> Error {
    Error::Refused {
        reply,
        result,
        message: message.map(Into::into),
    }
}

// ---------------------------------------------------------------------------------------------
// Strategies
// ---------------------------------------------------------------------------------------------

/// Characters that matter to the line grammar, plus multi-byte and "looks like space" ones.
const SPECIAL: &[char] = &[
    ' ', '"', '\\', '=', '\n', '\r', '\0', '\x1b', '\t', '\x7f', ':', '~', '-', 'é', '€', '𝄞',
    '\u{85}', '\u{a0}', '\u{2028}', '\u{feff}',
];
const PRINTABLE_SPECIAL: &[char] = &[
    ' ', '"', '\\', '=', ':', '~', '-', 'é', '€', '𝄞', '\u{85}', '\u{a0}', '\u{2028}', '\u{feff}',
];

fn is_ctl(b: u8) -> bool {
    b < 0x20 || b == 0x7f
}

fn needs_quotes(b: u8) -> bool {
    b == b' ' || b == b'"' || b == b'\\'
}

/// Any text: grammar characters, control characters, unicode.
fn any_text() -> BoxedStrategy<String> {
    let ch = prop_oneof![
        6 => proptest::char::range('a', 'z'),
        3 => proptest::char::range(' ', '~'),
        3 => select(SPECIAL),
        1 => any::<char>(),
    ];
    pvec(ch, 0..12)
        .prop_map(|v| v.into_iter().collect())
        .boxed()
}

/// Text without control characters (quotes, spaces, backslashes and unicode included).
fn printable_text() -> BoxedStrategy<String> {
    let ch = prop_oneof![
        6 => proptest::char::range('a', 'z'),
        3 => proptest::char::range(' ', '~'),
        2 => select(PRINTABLE_SPECIAL),
        1 => any::<char>().prop_filter("control", |c| !(*c < ' ' || *c == '\x7f')),
    ];
    pvec(ch, 0..12)
        .prop_map(|v| v.into_iter().collect())
        .boxed()
}

/// Mostly encodable values, sometimes anything.
fn value_text() -> BoxedStrategy<String> {
    prop_oneof![9 => printable_text(), 1 => any_text()].boxed()
}

fn cowv() -> BoxedStrategy<Cow<'static, str>> {
    value_text().prop_map(Cow::Owned).boxed()
}

fn secret() -> BoxedStrategy<Secret<'static>> {
    value_text().prop_map(Secret::new).boxed()
}

fn session_id() -> BoxedStrategy<SessionId<'static>> {
    prop_oneof![
        9 => "[A-Za-z0-9._~+:@!$*,-]{1,20}",
        1 => "[A-Za-z0-9._~+:@!$*,-]{100,128}",
    ]
    .prop_map(|s| SessionId::new(s).unwrap())
    .boxed()
}

fn version() -> BoxedStrategy<Version> {
    prop_oneof![
        3 => select(vec![Version::V3_0, Version::V3_1, Version::V3_2, Version::V3_3]),
        1 => (any::<u8>(), any::<u8>()).prop_map(|(a, b)| Version::new(a, b)),
    ]
    .boxed()
}

const RESULT_NAMES: &[&str] = &[
    "OK",
    "CANT_REACH_PEER",
    "DUPLICATED_ID",
    "DUPLICATE_ID",
    "DUPLICATED_DEST",
    "DUPLICATE_DEST",
    "I2P_ERROR",
    "INVALID_ID",
    "INVALID_KEY",
    "KEY_NOT_FOUND",
    "PEER_NOT_FOUND",
    "LEASESET_NOT_FOUND",
    "TIMEOUT",
    "ALREADY_ACCEPTING",
    "CONNECTION_REFUSED",
    "NOVERSION",
];

fn result_code() -> BoxedStrategy<ResultCode> {
    prop_oneof![
        3 => select(RESULT_NAMES).prop_map(ResultCode::from_wire),
        1 => value_text().prop_map(|s| ResultCode::from_wire(&s)),
    ]
    .boxed()
}

fn style() -> BoxedStrategy<SessionStyle> {
    prop_oneof![
        3 => select(&["STREAM", "DATAGRAM", "DATAGRAM2", "DATAGRAM3", "RAW", "PRIMARY", "MASTER"][..])
            .prop_map(SessionStyle::from_wire),
        1 => value_text().prop_map(|s| SessionStyle::from_wire(&s)),
    ]
    .boxed()
}

fn sig_type() -> BoxedStrategy<SigType> {
    select(SigType::ALL.to_vec()).boxed()
}

/// A valid option key: non-empty printable ASCII without `"`, `\`, `=` or space.
fn valid_key() -> BoxedStrategy<String> {
    let chars: Vec<char> = ('!'..='~')
        .filter(|c| !matches!(c, '"' | '\\' | '='))
        .collect();
    prop_oneof![
        4 => pvec(select(chars), 1..12).prop_map(|v| v.into_iter().collect::<String>()),
        1 => select(&["inbound.length", "outbound.length", "i2cp.leaseSetEncType", "SEND_TAGS", "OPTION:_smtp._tcp"][..])
            .prop_map(String::from),
    ]
    .boxed()
}

/// Mostly valid keys (values arbitrary); sometimes an invalid key.
fn extras() -> BoxedStrategy<Vec<KeyValue<'static>>> {
    let key = prop_oneof![9 => valid_key(), 1 => any_text()];
    pvec((key, opt(value_text())), 0..4)
        .prop_map(|kvs| {
            kvs.into_iter()
                .map(|(k, v)| KeyValue {
                    key: Cow::Owned(k),
                    value: v.map(Cow::Owned),
                })
                .collect()
        })
        .boxed()
}

/// Sizes: realistic ones, the largest 10-digit ones, and any `usize`.
fn size() -> BoxedStrategy<usize> {
    prop_oneof![
        8 => 0usize..100_000,
        1 => 1_000_000_000usize..=9_999_999_999,
        1 => any::<usize>(),
    ]
    .boxed()
}

fn ping_text() -> BoxedStrategy<Option<Cow<'static, str>>> {
    opt(value_text().prop_map(Cow::Owned)).boxed()
}

/// I2P base64 of at least 44 characters, with and without `=` padding.
fn base64_dest() -> BoxedStrategy<String> {
    let alphabet: Vec<char> = ('A'..='Z')
        .chain('a'..='z')
        .chain('0'..='9')
        .chain(['-', '~'])
        .collect();
    prop_oneof![
        (
            pvec(select(alphabet), 44..120),
            select(&["", "=", "=="][..])
        )
            .prop_map(|(body, pad)| {
                let mut s: String = body.into_iter().collect();
                s.push_str(pad);
                s
            }),
        select(&[PUB, ZZZ, I2P_PROJEKT][..]).prop_map(String::from),
    ]
    .boxed()
}

fn destination_text() -> BoxedStrategy<String> {
    prop_oneof![3 => base64_dest(), 1 => value_text()].boxed()
}

// ---- commands ----

fn hello() -> BoxedStrategy<Hello<'static>> {
    (
        opt(version()),
        opt(version()),
        opt(cowv()),
        opt(secret()),
        extras(),
    )
        .prop_map(|(min, max, user, password, extra)| Hello {
            min,
            max,
            user,
            password,
            extra,
        })
        .boxed()
}

fn dest_generate() -> BoxedStrategy<DestGenerate<'static>> {
    (opt(sig_type()), opt(any::<u16>()), extras())
        .prop_map(|(signature_type, crypto_type, extra)| DestGenerate {
            signature_type,
            crypto_type,
            extra,
        })
        .boxed()
}

fn naming_lookup() -> BoxedStrategy<NamingLookup<'static>> {
    (cowv(), opt(any::<bool>()), extras())
        .prop_map(|(name, options, extra)| NamingLookup {
            name,
            options,
            extra,
        })
        .boxed()
}

fn session_create() -> BoxedStrategy<SessionCreate<'static>> {
    (
        (
            style(),
            session_id(),
            secret(),
            opt(sig_type()),
            opt(any::<u16>()),
            opt(any::<u16>()),
        ),
        (
            opt(cowv()),
            opt(any::<u16>()),
            opt(any::<u16>()),
            opt(any::<u8>()),
            opt(any::<bool>()),
        ),
        extras(),
    )
        .prop_map(
            |(
                (style, id, destination, signature_type, crypto_type, port),
                (host, from_port, to_port, protocol, header),
                extra,
            )| SessionCreate {
                style,
                id,
                destination,
                signature_type,
                crypto_type,
                port,
                host,
                from_port,
                to_port,
                protocol,
                header,
                extra,
            },
        )
        .boxed()
}

fn session_add() -> BoxedStrategy<SessionAdd<'static>> {
    (
        (
            style(),
            session_id(),
            opt(any::<u16>()),
            opt(cowv()),
            opt(any::<u16>()),
        ),
        (
            opt(any::<u16>()),
            opt(any::<u8>()),
            opt(any::<u16>()),
            opt(any::<u8>()),
            opt(any::<bool>()),
        ),
        extras(),
    )
        .prop_map(
            |(
                (style, id, port, host, from_port),
                (to_port, protocol, listen_port, listen_protocol, header),
                extra,
            )| SessionAdd {
                style,
                id,
                port,
                host,
                from_port,
                to_port,
                protocol,
                listen_port,
                listen_protocol,
                header,
                extra,
            },
        )
        .boxed()
}

fn session_remove() -> BoxedStrategy<SessionRemove<'static>> {
    (session_id(), extras())
        .prop_map(|(id, extra)| SessionRemove { id, extra })
        .boxed()
}

fn stream_connect() -> BoxedStrategy<StreamConnect<'static>> {
    (
        session_id(),
        destination_text(),
        opt(any::<bool>()),
        opt(any::<u16>()),
        opt(any::<u16>()),
        extras(),
    )
        .prop_map(
            |(id, destination, silent, from_port, to_port, extra)| StreamConnect {
                id,
                destination: Cow::Owned(destination),
                silent,
                from_port,
                to_port,
                extra,
            },
        )
        .boxed()
}

fn stream_accept() -> BoxedStrategy<StreamAccept<'static>> {
    (session_id(), opt(any::<bool>()), extras())
        .prop_map(|(id, silent, extra)| StreamAccept { id, silent, extra })
        .boxed()
}

fn stream_forward() -> BoxedStrategy<StreamForward<'static>> {
    (
        session_id(),
        any::<u16>(),
        opt(cowv()),
        opt(any::<bool>()),
        opt(any::<bool>()),
        extras(),
    )
        .prop_map(|(id, port, host, silent, ssl, extra)| StreamForward {
            id,
            port,
            host,
            silent,
            ssl,
            extra,
        })
        .boxed()
}

fn datagram_send() -> BoxedStrategy<DatagramSend<'static>> {
    (
        destination_text(),
        size(),
        opt(any::<u16>()),
        opt(any::<u16>()),
        extras(),
    )
        .prop_map(
            |(destination, size, from_port, to_port, extra)| DatagramSend {
                destination: Cow::Owned(destination),
                size,
                from_port,
                to_port,
                extra,
            },
        )
        .boxed()
}

fn raw_send() -> BoxedStrategy<RawSend<'static>> {
    (
        destination_text(),
        size(),
        opt(any::<u16>()),
        opt(any::<u16>()),
        opt(any::<u8>()),
        extras(),
    )
        .prop_map(
            |(destination, size, from_port, to_port, protocol, extra)| RawSend {
                destination: Cow::Owned(destination),
                size,
                from_port,
                to_port,
                protocol,
                extra,
            },
        )
        .boxed()
}

fn ping() -> BoxedStrategy<Ping<'static>> {
    ping_text().prop_map(|text| Ping { text }).boxed()
}

fn pong() -> BoxedStrategy<Pong<'static>> {
    ping_text().prop_map(|text| Pong { text }).boxed()
}

fn command() -> BoxedStrategy<Command<'static>> {
    prop_oneof![
        hello().prop_map(Command::Hello),
        dest_generate().prop_map(Command::DestGenerate),
        naming_lookup().prop_map(Command::NamingLookup),
        session_create().prop_map(Command::SessionCreate),
        session_add().prop_map(Command::SessionAdd),
        session_remove().prop_map(Command::SessionRemove),
        stream_connect().prop_map(Command::StreamConnect),
        stream_accept().prop_map(Command::StreamAccept),
        stream_forward().prop_map(Command::StreamForward),
        datagram_send().prop_map(Command::DatagramSend),
        raw_send().prop_map(Command::RawSend),
        ping().prop_map(Command::Ping),
        pong().prop_map(Command::Pong),
        Just(Command::Quit(Quit)),
    ]
    .boxed()
}

// ---- replies ----

fn hello_reply() -> BoxedStrategy<HelloReply<'static>> {
    (result_code(), opt(version()), opt(cowv()), extras())
        .prop_map(|(result, version, message, extra)| HelloReply {
            result,
            version,
            message,
            extra,
        })
        .boxed()
}

fn dest_reply() -> BoxedStrategy<DestReply<'static>> {
    (
        opt(result_code()),
        opt(destination_text().prop_map(Cow::Owned)),
        opt(secret()),
        opt(cowv()),
        extras(),
    )
        .prop_map(|(result, public, private, message, extra)| DestReply {
            result,
            public,
            private,
            message,
            extra,
        })
        .boxed()
}

fn naming_reply() -> BoxedStrategy<NamingReply<'static>> {
    let option = (valid_key(), opt(value_text())).prop_map(|(k, v)| KeyValue {
        key: Cow::Owned(format!("OPTION:{k}")),
        value: v.map(Cow::Owned),
    });
    (
        result_code(),
        opt(cowv()),
        opt(destination_text().prop_map(Cow::Owned)),
        opt(cowv()),
        prop_oneof![extras(), pvec(option, 0..3)],
    )
        .prop_map(|(result, name, value, message, extra)| NamingReply {
            result,
            name,
            value,
            message,
            extra,
        })
        .boxed()
}

fn session_status() -> BoxedStrategy<SessionStatus<'static>> {
    (
        result_code(),
        opt(secret()),
        opt(cowv()),
        opt(cowv()),
        extras(),
    )
        .prop_map(|(result, destination, id, message, extra)| SessionStatus {
            result,
            destination,
            id,
            message,
            extra,
        })
        .boxed()
}

fn stream_status() -> BoxedStrategy<StreamStatus<'static>> {
    (result_code(), opt(cowv()), extras())
        .prop_map(|(result, message, extra)| StreamStatus {
            result,
            message,
            extra,
        })
        .boxed()
}

fn datagram_received() -> BoxedStrategy<DatagramReceived<'static>> {
    (
        destination_text(),
        size(),
        opt(any::<u16>()),
        opt(any::<u16>()),
        extras(),
    )
        .prop_map(
            |(destination, size, from_port, to_port, extra)| DatagramReceived {
                destination: Cow::Owned(destination),
                size,
                from_port,
                to_port,
                extra,
            },
        )
        .boxed()
}

fn raw_received() -> BoxedStrategy<RawReceived<'static>> {
    (
        size(),
        opt(any::<u8>()),
        opt(any::<u16>()),
        opt(any::<u16>()),
        extras(),
    )
        .prop_map(|(size, protocol, from_port, to_port, extra)| RawReceived {
            size,
            protocol,
            from_port,
            to_port,
            extra,
        })
        .boxed()
}

/// Status words: the real ones (`QUIT`, `HELP`, Java's echo of an unknown command), words that
/// have a type of their own, and arbitrary text.
fn status_verb() -> BoxedStrategy<String> {
    prop_oneof![
        3 => select(&["QUIT", "STOP", "EXIT", "HELP", "AUTH", "FOO", "NAMING", "HELLO", "DEST", "quit"][..])
            .prop_map(String::from),
        1 => select(&["SESSION", "STREAM", "Stream", "PING", "PONG", "ping"][..]).prop_map(String::from),
        2 => value_text(),
    ]
    .boxed()
}

fn other_status_with(verb: BoxedStrategy<String>) -> BoxedStrategy<OtherStatus<'static>> {
    (verb, result_code(), opt(cowv()), extras())
        .prop_map(|(verb, result, message, extra)| OtherStatus {
            verb: Cow::Owned(verb),
            result,
            message,
            extra,
        })
        .boxed()
}

fn peer_line() -> BoxedStrategy<PeerLine<'static>> {
    (
        destination_text(),
        opt(any::<u16>()),
        opt(any::<u16>()),
        extras(),
    )
        .prop_map(|(destination, from_port, to_port, extra)| PeerLine {
            destination: Cow::Owned(destination),
            from_port,
            to_port,
            extra,
        })
        .boxed()
}

/// Words that `Reply::parse` maps to a typed reply rather than to `OtherStatus`.
fn has_own_type(verb: &str) -> bool {
    ["SESSION", "STREAM", "PING", "PONG"]
        .iter()
        .any(|w| verb.eq_ignore_ascii_case(w))
}

fn reply() -> BoxedStrategy<Reply<'static>> {
    let other = status_verb().prop_filter("typed reply word", |v| !has_own_type(v));
    prop_oneof![
        hello_reply().prop_map(Reply::Hello),
        dest_reply().prop_map(Reply::Dest),
        naming_reply().prop_map(Reply::Naming),
        session_status().prop_map(Reply::Session),
        stream_status().prop_map(Reply::Stream),
        datagram_received().prop_map(Reply::DatagramReceived),
        raw_received().prop_map(Reply::RawReceived),
        ping().prop_map(Reply::Ping),
        pong().prop_map(Reply::Pong),
        other_status_with(other.boxed()).prop_map(Reply::OtherStatus),
    ]
    .boxed()
}

// ---------------------------------------------------------------------------------------------
// Round trips
// ---------------------------------------------------------------------------------------------

const PREFIX: &[u8] = b"earlier bytes\n";

/// An encoded line: exactly one `\n`, at the end, and no other control character.
fn check_one_line(line: &[u8]) -> Result<(), TestCaseError> {
    prop_assert_eq!(line.last(), Some(&b'\n'), "no terminator: {:?}", line);
    prop_assert_eq!(
        line.iter().filter(|&&b| b == b'\n').count(),
        1,
        "more than one line: {:?}",
        String::from_utf8_lossy(line)
    );
    prop_assert!(
        !line[..line.len() - 1].iter().any(|&b| is_ctl(b)),
        "control byte in {:?}",
        String::from_utf8_lossy(line)
    );
    Ok(())
}

/// `encode` at `$version`: on error nothing is appended; on success one line that parses back
/// (with `$ty::parse`) to the same value. Evaluates to `true` when encoding succeeded.
macro_rules! round_trip {
    ($ty:ident, $value:expr, $version:expr) => {{
        let value = &$value;
        let mut out = PREFIX.to_vec();
        let r = value.encode($version, &mut out);
        match &r {
            Err(_) => prop_assert_eq!(&out[..], PREFIX, "a failed encode appended bytes"),
            Ok(()) => {
                prop_assert!(out.starts_with(PREFIX), "encode touched earlier bytes");
                let line = &out[PREFIX.len()..];
                check_one_line(line)?;
                let back = $ty::parse(line);
                prop_assert_eq!(
                    back.as_ref(),
                    Ok(value),
                    "line {:?}",
                    String::from_utf8_lossy(line)
                );
            }
        }
        r.is_ok()
    }};
}

/// Both versions; a value that encodes at 3.1 must also encode at 3.3.
macro_rules! round_trip_both {
    ($ty:ident, $value:expr) => {{
        let value = $value;
        let ok33 = round_trip!($ty, value, Version::V3_3);
        let ok31 = round_trip!($ty, value, Version::V3_1);
        prop_assert!(!ok31 || ok33, "encodes at 3.1 but not at 3.3");
    }};
}

proptest! {
    #![proptest_config(cfg(256))]

    #[test]
    fn round_trip_hello(m in hello()) { round_trip_both!(Hello, m); }

    #[test]
    fn round_trip_dest_generate(m in dest_generate()) { round_trip_both!(DestGenerate, m); }

    #[test]
    fn round_trip_naming_lookup(m in naming_lookup()) { round_trip_both!(NamingLookup, m); }

    #[test]
    fn round_trip_session_create(m in session_create()) { round_trip_both!(SessionCreate, m); }

    #[test]
    fn round_trip_session_add(m in session_add()) { round_trip_both!(SessionAdd, m); }

    #[test]
    fn round_trip_session_remove(m in session_remove()) { round_trip_both!(SessionRemove, m); }

    #[test]
    fn round_trip_stream_connect(m in stream_connect()) { round_trip_both!(StreamConnect, m); }

    #[test]
    fn round_trip_stream_accept(m in stream_accept()) { round_trip_both!(StreamAccept, m); }

    #[test]
    fn round_trip_stream_forward(m in stream_forward()) { round_trip_both!(StreamForward, m); }

    #[test]
    fn round_trip_datagram_send(m in datagram_send()) { round_trip_both!(DatagramSend, m); }

    #[test]
    fn round_trip_raw_send(m in raw_send()) { round_trip_both!(RawSend, m); }

    #[test]
    fn round_trip_ping(m in ping()) { round_trip_both!(Ping, m); }

    #[test]
    fn round_trip_pong(m in pong()) { round_trip_both!(Pong, m); }

    #[test]
    fn round_trip_quit(_x in Just(())) { round_trip_both!(Quit, Quit); }

    #[test]
    fn round_trip_command_enum(m in command()) { round_trip_both!(Command, m); }

    #[test]
    fn round_trip_hello_reply(m in hello_reply()) { round_trip_both!(HelloReply, m); }

    #[test]
    fn round_trip_dest_reply(m in dest_reply()) { round_trip_both!(DestReply, m); }

    #[test]
    fn round_trip_naming_reply(m in naming_reply()) { round_trip_both!(NamingReply, m); }

    #[test]
    fn lease_set_options_round_trip_through_the_reply_line(
        options in pvec((valid_key(), printable_text()), 0..4),
        sizes in chunk_sizes(),
    ) {
        // Distinct keys: a line may not repeat one.
        let mut seen = std::collections::HashSet::new();
        let options: Vec<(String, String)> =
            options.into_iter().filter(|(k, _)| seen.insert(k.clone())).collect();
        let mut reply = NamingReply {
            result: ResultCode::Ok,
            name: Some(Cow::Borrowed("mail.i2p")),
            value: Some(Cow::Borrowed(ZZZ)),
            message: None,
            extra: vec![],
        };
        for (k, v) in &options {
            reply.push_leaseset_option(k, v);
        }
        let Ok(line) = reply.to_bytes(Version::V3_3) else {
            // Refused before anything is written (a key the writer does not take).
            return Ok(());
        };
        prop_assert_eq!(line.iter().filter(|&&b| b == b'\n').count(), 1);
        let answer = NamingReply::parse(&line).unwrap().answer().unwrap();
        prop_assert_eq!(&answer.destination, &zzz_dest());
        if options.is_empty() {
            prop_assert_eq!(&answer.options, &LeaseSetOptions::NotAnswered);
        } else {
            prop_assert_eq!(&answer.options, &LeaseSetOptions::Listed(options.clone()));
        }
        // The same line on a session's control socket, in any split.
        let run = drive_control(Some(lookup_with_options("mail.i2p")), &line, &sizes, false);
        prop_assert!(run.error.is_none());
        prop_assert_eq!(&run.sent, &b"NAMING LOOKUP NAME=mail.i2p OPTIONS=true\n".to_vec());
        prop_assert_eq!(run.events, vec![ControlEvent::Completed(Ok(Completion::LookupAnswer(answer)))]);
    }

    #[test]
    fn round_trip_session_status(m in session_status()) { round_trip_both!(SessionStatus, m); }

    #[test]
    fn round_trip_stream_status(m in stream_status()) { round_trip_both!(StreamStatus, m); }

    #[test]
    fn round_trip_datagram_received(m in datagram_received()) {
        round_trip_both!(DatagramReceived, m);
    }

    #[test]
    fn round_trip_raw_received(m in raw_received()) { round_trip_both!(RawReceived, m); }

    #[test]
    fn round_trip_other_status(m in other_status_with(status_verb())) {
        round_trip_both!(OtherStatus, m);
    }

    #[test]
    fn round_trip_peer_line(m in peer_line()) { round_trip_both!(PeerLine, m); }

    #[test]
    fn round_trip_reply_enum(m in reply()) { round_trip_both!(Reply, m); }

    /// A peer line with a real (base64, possibly `=`-padded) destination and ports must encode,
    /// and must read back the same (test bridges build accept lines with it).
    #[test]
    fn valid_peer_lines_encode(
        dest in base64_dest(),
        from_port in opt(any::<u16>()),
        to_port in opt(any::<u16>()),
    ) {
        let p = PeerLine { destination: Cow::Owned(dest), from_port, to_port, extra: vec![] };
        prop_assert!(round_trip!(PeerLine, p, Version::V3_3), "refused {:?}", p);
        let mut packet = Vec::new();
        prop_assert_eq!(encode_repliable(&p, b"\npayload", &mut packet), Ok(()));
        let (back, payload) = parse_repliable(&packet).unwrap();
        prop_assert_eq!(back, p.clone());
        prop_assert_eq!(payload, b"\npayload");
    }

    /// UDP datagram header: `parse_packet(encode_with_payload(h, p)) == (h, p)`.
    #[test]
    fn round_trip_udp_header(
        version in version(),
        id in session_id(),
        dest in destination_text(),
        from_port in opt(any::<u16>()),
        to_port in opt(any::<u16>()),
        protocol in opt(any::<u8>()),
        extra in extras(),
        payload in pvec(any::<u8>(), 0..64),
    ) {
        let h = UdpHeader { version, id, destination: Cow::Owned(dest), from_port, to_port, protocol, extra };
        let mut out = PREFIX.to_vec();
        match h.encode_with_payload(&payload, &mut out) {
            Err(_) => prop_assert_eq!(&out[..], PREFIX),
            Ok(()) => {
                let packet = &out[PREFIX.len()..];
                let (back, rest) = UdpHeader::parse_packet(packet)
                    .map_err(|e| TestCaseError::fail(format!("{e:?} for {:?}", String::from_utf8_lossy(packet))))?;
                prop_assert_eq!(back, h);
                prop_assert_eq!(rest, &payload[..]);
            }
        }
    }

    /// A UDP header to a real destination (base64, possibly padded) and plain options encodes.
    #[test]
    fn valid_udp_headers_encode(
        id in session_id(),
        dest in base64_dest(),
        to_port in opt(any::<u16>()),
        payload in pvec(any::<u8>(), 0..64),
    ) {
        let mut h = UdpHeader::new(id, dest);
        h.to_port = to_port;
        let mut out = Vec::new();
        prop_assert_eq!(h.encode_with_payload(&payload, &mut out), Ok(()), "refused {:?}", h);
        let (back, rest) = UdpHeader::parse_packet(&out).unwrap();
        prop_assert_eq!(back, h);
        prop_assert_eq!(rest, &payload[..]);
    }

    #[test]
    fn round_trip_raw_header(
        protocol in opt(any::<u8>()),
        from_port in opt(any::<u16>()),
        to_port in opt(any::<u16>()),
        payload in pvec(any::<u8>(), 0..64),
    ) {
        let h = RawHeader { protocol, from_port, to_port };
        let mut out = Vec::new();
        h.encode_with_payload(&payload, &mut out).unwrap();
        let (back, rest) = RawHeader::parse_packet(&out).unwrap();
        prop_assert_eq!(back, h);
        prop_assert_eq!(rest, &payload[..]);
    }
}

// ---------------------------------------------------------------------------------------------
// No line injection through user-controlled fields
// ---------------------------------------------------------------------------------------------

/// The documented encoder rule for a command value: non-empty, no control character, and at
/// 3.0/3.1 no space, quote or backslash.
fn value_encodable(s: &str, version: Version) -> bool {
    !s.is_empty()
        && !s.bytes().any(is_ctl)
        && (version.allows_quoting() || !s.bytes().any(needs_quotes))
}

fn key_encodable(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii() && !is_ctl(b) && !needs_quotes(b) && b != b'=')
}

/// Encodes `$value` at `$version`; asserts `Ok` exactly when `$expected_ok`, that `Err` appends
/// nothing, and that `Ok` gives one line that parses back to the same value.
macro_rules! injection {
    ($ty:ident, $value:expr, $version:expr, $expected_ok:expr, $field:expr) => {{
        let value = $value;
        let ok = round_trip!($ty, value, $version);
        prop_assert_eq!(ok, $expected_ok, "{} at {}: {:?}", $field, $version, value);
    }};
}

fn versions() -> impl Strategy<Value = Version> {
    select(vec![
        Version::V3_0,
        Version::V3_1,
        Version::V3_2,
        Version::V3_3,
    ])
}

proptest! {
    #![proptest_config(cfg(256))]

    #[test]
    fn injection_name(s in any_text(), v in versions()) {
        let ok = value_encodable(&s, v);
        injection!(NamingLookup, NamingLookup::new(s.clone()), v, ok, "NAME");
        if !v.allows_quoting() && s.bytes().any(needs_quotes) {
            prop_assert!(!ok);
        }
    }

    #[test]
    fn injection_destination(s in any_text(), v in versions()) {
        let ok = value_encodable(&s, v);
        injection!(StreamConnect, StreamConnect::new(sid("s1"), s.clone()), v, ok, "DESTINATION");
        let d = DatagramSend { destination: Cow::Owned(s.clone()), size: 1, from_port: None, to_port: None, extra: vec![] };
        injection!(DatagramSend, d, v, ok, "DESTINATION");
        let r = RawSend { destination: Cow::Owned(s.clone()), size: 1, from_port: None, to_port: None, protocol: None, extra: vec![] };
        injection!(RawSend, r, v, ok, "DESTINATION");
        let c = SessionCreate::new(SessionStyle::Stream, sid("s1"), Secret::new(s.clone()));
        injection!(SessionCreate, c, v, ok, "DESTINATION");
    }

    #[test]
    fn injection_host(s in any_text(), v in versions()) {
        let ok = value_encodable(&s, v);
        let mut c = SessionCreate::new(SessionStyle::Datagram, sid("s1"), Secret::new("TRANSIENT"));
        c.port = Some(7655);
        c.host = Some(Cow::Owned(s.clone()));
        injection!(SessionCreate, c, v, ok, "HOST");
        let mut a = SessionAdd::new(SessionStyle::Datagram, sid("s1"));
        a.host = Some(Cow::Owned(s.clone()));
        injection!(SessionAdd, a, v, ok, "HOST");
        let mut f = StreamForward::new(sid("s1"), 1234);
        f.host = Some(Cow::Owned(s.clone()));
        injection!(StreamForward, f, v, ok, "HOST");
    }

    #[test]
    fn injection_user_and_password(user in any_text(), password in any_text(), v in versions()) {
        let mut h = Hello::new(Version::V3_1, Version::V3_3);
        h.user = Some(Cow::Owned(user.clone()));
        injection!(Hello, h, v, value_encodable(&user, v), "USER");
        let mut h = Hello::new(Version::V3_1, Version::V3_3);
        h.password = Some(Secret::new(password.clone()));
        injection!(Hello, h, v, value_encodable(&password, v), "PASSWORD");
    }

    #[test]
    fn injection_style(s in any_text(), v in versions()) {
        let c = SessionCreate::new(SessionStyle::from_wire(&s), sid("s1"), Secret::new("TRANSIENT"));
        injection!(SessionCreate, c, v, value_encodable(&s, v), "STYLE");
    }

    #[test]
    fn injection_option_key(s in prop_oneof![any_text(), valid_key()], v in versions()) {
        let ok = key_encodable(&s) && !SessionCreate::KEYS.contains(&s.as_str());
        let mut c = SessionCreate::new(SessionStyle::Stream, sid("s1"), Secret::new("TRANSIENT"));
        c.extra = vec![KeyValue::new(s.clone(), "1")];
        injection!(SessionCreate, c, v, ok, "option key");
        // A bare key (no value).
        let mut c = SessionCreate::new(SessionStyle::Stream, sid("s1"), Secret::new("TRANSIENT"));
        c.extra = vec![KeyValue { key: Cow::Owned(s.clone()), value: None }];
        injection!(SessionCreate, c, v, ok, "bare option key");
    }

    #[test]
    fn injection_option_value(s in any_text(), v in versions()) {
        let mut c = SessionCreate::new(SessionStyle::Stream, sid("s1"), Secret::new("TRANSIENT"));
        c.extra = vec![KeyValue::new("inbound.length", s.clone())];
        injection!(SessionCreate, c, v, value_encodable(&s, v), "option value");
    }

    #[test]
    fn injection_ping_text(s in any_text(), v in versions()) {
        // The PING payload runs to the end of the line: spaces and quotes are plain text.
        let ok = !s.is_empty() && !s.bytes().any(is_ctl);
        injection!(Ping, Ping { text: Some(Cow::Owned(s.clone())) }, v, ok, "PING text");
        injection!(Pong, Pong { text: Some(Cow::Owned(s.clone())) }, v, ok, "PONG text");
    }

    #[test]
    fn injection_udp_header(s in any_text(), value in any_text()) {
        // Destination: whatever is written must be one word the bridge reads back; anything
        // with a space, quote, backslash or control character must be refused.
        let h = UdpHeader::new(sid("s1"), s.clone());
        let mut out = Vec::new();
        match h.encode_with_payload(b"payload", &mut out) {
            Ok(()) => {
                let (back, payload) = UdpHeader::parse_packet(&out)
                    .map_err(|e| TestCaseError::fail(format!("{e:?}")))?;
                prop_assert_eq!(back, h);
                prop_assert_eq!(payload, b"payload");
                prop_assert_eq!(out.iter().filter(|&&b| b == b'\n').count(), 1);
            }
            Err(_) => prop_assert!(out.is_empty()),
        }
        if s.is_empty() || s.bytes().any(|b| is_ctl(b) || needs_quotes(b)) {
            prop_assert!(out.is_empty(), "accepted {:?}", s);
        }
        // Option value: never quoted in a UDP header.
        let mut h = UdpHeader::new(sid("s1"), I2P_PROJEKT);
        h.extra = vec![KeyValue::new("SEND_TAGS", value.clone())];
        let mut out = Vec::new();
        let ok = h.encode_with_payload(b"", &mut out).is_ok();
        // A second `=` in a header word is refused too (the bridges split words differently).
        prop_assert_eq!(ok, value_encodable(&value, Version::V3_1) && !value.contains('='), "{:?}", value);
        if ok {
            prop_assert_eq!(UdpHeader::parse_packet(&out).unwrap().0, h);
        }
    }

    #[test]
    fn session_id_refuses_everything_outside_its_alphabet(
        s in prop_oneof![
            any_text(),
            "[A-Za-z0-9._~+:@!$*,-]{1,20}",
            "[A-Za-z0-9._~+:@!$*,-]{120,140}",
            ("[A-Za-z0-9._-]{0,5}", any::<char>(), "[A-Za-z0-9._-]{0,5}").prop_map(|(a, c, b)| format!("{a}{c}{b}")),
        ]
    ) {
        let allowed = !s.is_empty()
            && s.len() <= 128
            && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.~+:@!$*,".contains(&b));
        prop_assert_eq!(SessionId::new(s.clone()).is_ok(), allowed, "{:?}", s);
        prop_assert_eq!(s.parse::<SessionId<'static>>().is_ok(), allowed);
    }
}

// ---------------------------------------------------------------------------------------------
// Split invariance of the exchanges
// ---------------------------------------------------------------------------------------------

#[derive(Debug)]
struct Run<T> {
    result: Result<T, Error>,
    sent: Vec<u8>,
    leftover: Vec<u8>,
}

/// Drives `ex` as exchange.rs's module docs say. The bridge's bytes arrive in reads of
/// `sizes[0]`, `sizes[1]`, ... (cycled); once they are exhausted, reads return 0 (EOF).
fn drive<R: Request>(mut ex: Exchange<R>, wire: &[u8], sizes: &[usize]) -> Run<R::Output> {
    let mut chunks: Vec<&[u8]> = Vec::new();
    let mut rest = wire;
    let mut i = 0;
    while !rest.is_empty() {
        let n = sizes[i % sizes.len()].clamp(1, rest.len());
        chunks.push(&rest[..n]);
        rest = &rest[n..];
        i += 1;
    }
    let mut chunks = chunks.into_iter();
    let mut buf: Vec<u8> = Vec::new();
    let mut sent = Vec::new();
    let mut returned_err = None;
    let mut at_eof = false;
    let mut finished = false;
    for _ in 0..1_000_000 {
        match ex.poll() {
            Step::Send(bytes) => {
                assert!(!bytes.is_empty(), "Send with no bytes");
                sent.extend_from_slice(bytes);
            }
            Step::Done => {
                finished = true;
                break;
            }
            Step::Recv if buf.is_empty() => match chunks.next() {
                Some(c) => buf.extend_from_slice(c),
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
                    assert!(
                        n > 0 && n <= buf.len(),
                        "feed took {n} of {} bytes while waiting",
                        buf.len()
                    );
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
    assert!(finished, "the exchange never finished");
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
    for c in chunks {
        buf.extend_from_slice(c);
    }
    Run {
        result,
        sent,
        leftover: buf,
    }
}

/// An expected outcome and the application bytes that must be left over.
type Expected<'a, T> = Option<(&'a Result<T, Error>, &'a [u8])>;

/// All at once, one byte at a time, and in `sizes`: the same outcome, the same bytes sent, and
/// (on success) the same leftover. With `expected`, the whole-read run must give that outcome
/// and leave exactly `app`.
fn check_splits<R: Request>(
    make: impl Fn() -> Exchange<R>,
    wire: &[u8],
    sizes: &[usize],
    expected: Expected<'_, R::Output>,
) -> Result<(), TestCaseError>
where
    R::Output: PartialEq + Debug,
{
    let whole = drive(make(), wire, &[wire.len().max(1)]);
    if let Some((result, app)) = expected {
        prop_assert_eq!(&whole.result, result);
        if whole.result.is_ok() {
            prop_assert_eq!(&whole.leftover, app, "leftover is not the application data");
        }
    }
    if whole.result.is_ok() {
        prop_assert!(wire.ends_with(&whole.leftover));
    }
    for (name, run) in [
        ("one byte at a time", drive(make(), wire, &[1])),
        ("random reads", drive(make(), wire, sizes)),
    ] {
        prop_assert_eq!(&run.result, &whole.result, "{}", name);
        if whole.result.is_ok() {
            prop_assert_eq!(&run.sent, &whole.sent, "{}", name);
            prop_assert_eq!(&run.leftover, &whole.leftover, "{}", name);
        } else {
            // After an error the caller stops: a PONG queued by a PING that arrived in the
            // same read as the error is not sent. What was sent is one history or the other.
            let (short, long) = if run.sent.len() <= whole.sent.len() {
                (&run.sent, &whole.sent)
            } else {
                (&whole.sent, &run.sent)
            };
            prop_assert!(long.starts_with(short), "{}", name);
        }
    }
    Ok(())
}

fn chunk_sizes() -> impl Strategy<Value = Vec<usize>> {
    pvec(
        prop_oneof![4 => 1usize..8, 3 => 8usize..64, 1 => 64usize..1200],
        1..24,
    )
}

/// Application data: arbitrary bytes, often shaped like protocol lines.
fn app_data() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        pvec(any::<u8>(), 0..80),
        select(vec![
            &b"hello from A\n"[..],
            b"STREAM STATUS RESULT=OK\n",
            b"PING 1\n",
            b"GET / HTTP/1.1\r\nHost: zzz.i2p\r\n\r\n",
            b"\n\n",
            b"\0",
            b"",
        ])
        .prop_map(|b| b.to_vec()),
    ]
}

/// An optional Java keepalive `PING` inserted before the command's answer.
fn keepalive() -> impl Strategy<Value = Option<String>> {
    opt(prop_oneof![
        Just(String::from("1700000000000")),
        "[ -~]{1,20}".prop_filter("leading/trailing text", |s: &String| !s.is_empty()),
    ])
}

fn ping_line(p: &Option<String>) -> Vec<u8> {
    match p {
        Some(t) => format!("PING {t}\n").into_bytes(),
        None => Vec::new(),
    }
}

fn pong_line(p: &Option<String>) -> Vec<u8> {
    match p {
        Some(t) => format!("PONG {t}\n").into_bytes(),
        None => Vec::new(),
    }
}

fn cat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

const HELLO_LINE: &[u8] = b"HELLO VERSION MIN=3.1 MAX=3.3\n";
const HELLO_OK: &[u8] = b"HELLO REPLY RESULT=OK VERSION=3.1\n";

fn with_hello<R: Request>(request: R) -> Exchange<R> {
    Exchange::new(request)
        .unwrap()
        .with_hello(Hello::new(Version::V3_1, Version::V3_3))
        .unwrap()
}

fn pub_dest() -> Destination {
    Destination::from_base64(PUB).unwrap()
}

fn zzz_dest() -> Destination {
    Destination::from_base64(ZZZ).unwrap()
}

fn priv_keys() -> PrivateKeys {
    PrivateKeys::from_base64(PRIV).unwrap()
}

proptest! {
    #![proptest_config(cfg(64))]

    #[test]
    fn split_hello(which in 0..3usize, app in app_data(), sizes in chunk_sizes()) {
        let (reply, expected): (&[u8], Result<Version, Error>) = match which {
            0 => (b"HELLO REPLY RESULT=OK VERSION=3.0\n", Ok(Version::V3_0)),
            1 => (b"HELLO REPLY RESULT=OK VERSION=3.3\n", Ok(Version::V3_3)),
            _ => (b"HELLO REPLY RESULT=NOVERSION\n", Err(refused("HELLO REPLY", ResultCode::NoVersion, None))),
        };
        let wire = cat(&[reply, &app]);
        let make = || Exchange::new(Hello::new(Version::V3_0, Version::V3_3)).unwrap();
        check_splits(make, &wire, &sizes, Some((&expected, &app)))?;
    }

    #[test]
    fn split_stream_connect(which in 0..4usize, ping in keepalive(), app in app_data(), sizes in chunk_sizes()) {
        let silent = which == 3;
        let make = || {
            let mut c = StreamConnect::new(sid("s1"), PUB);
            c.silent = silent.then_some(true);
            with_hello(c)
        };
        let (reply, expected): (&[u8], Result<(), Error>) = match which {
            0 => (b"STREAM STATUS RESULT=OK\n", Ok(())),
            1 => (b"STREAM STATUS RESULT=CANT_REACH_PEER MESSAGE=\"LeaseSet not found\"\n",
                  Err(refused("STREAM STATUS", ResultCode::CantReachPeer, Some("LeaseSet not found")))),
            2 => (b"STREAM STATUS RESULT=CANT_REACH_PEER", // emissary: no newline, then EOF
                  Err(refused("STREAM STATUS", ResultCode::CantReachPeer, None))),
            _ => (b"", Ok(())),
        };
        let app: &[u8] = if which == 2 { b"" } else { &app };
        let ping = if silent { None } else { ping };
        let wire = cat(&[HELLO_OK, &ping_line(&ping), reply, app]);
        check_splits(make, &wire, &sizes, Some((&expected, app)))?;
        // One byte at a time, a PING line is answered before anything after it is read.
        let run = drive(make(), &wire, &[1]);
        let connect = if silent {
            format!("STREAM CONNECT ID=s1 DESTINATION={PUB} SILENT=true\n")
        } else {
            format!("STREAM CONNECT ID=s1 DESTINATION={PUB}\n")
        };
        prop_assert_eq!(run.sent, cat(&[HELLO_LINE, connect.as_bytes(), &pong_line(&ping)]));
    }

    #[test]
    fn split_stream_accept(
        which in 0..5usize,
        ports in (any::<u16>(), any::<u16>()),
        ping in keepalive(),
        app in app_data(),
        sizes in chunk_sizes(),
    ) {
        let make = || with_hello(StreamAccept::new(sid("s1")));
        let peer_java = format!("{ZZZ} FROM_PORT={} TO_PORT={}\n", ports.0, ports.1);
        let peer_i2pd = format!("{PUB}\n");
        let (lines, expected): (Vec<u8>, Result<Accepted, Error>) = match which {
            0 => (cat(&[b"STREAM STATUS RESULT=OK\n", &ping_line(&ping), peer_i2pd.as_bytes()]),
                  Ok(Accepted { peer: Some(pub_dest()), from_port: None, to_port: None })),
            1 => (cat(&[b"STREAM STATUS RESULT=OK\n", &ping_line(&ping), peer_java.as_bytes()]),
                  Ok(Accepted { peer: Some(zzz_dest()), from_port: Some(ports.0), to_port: Some(ports.1) })),
            2 => (cat(&[b"STREAM STATUS RESULT=OK\n", &ping_line(&ping), b"STREAM STATUS RESULT=I2P_ERROR MESSAGE=\"Router restart\"\n"]),
                  Err(refused("STREAM STATUS", ResultCode::I2pError, Some("Router restart")))),
            3 => (cat(&[&ping_line(&ping), b"STREAM STATUS RESULT=INVALID_ID\n"]),
                  Err(refused("STREAM STATUS", ResultCode::InvalidId, None))),
            _ => (cat(&[&ping_line(&ping), b"SESSION STATUS RESULT=I2P_ERROR MESSAGE=\"Socket already in use\"\n"]),
                  Err(refused("SESSION STATUS", ResultCode::I2pError, Some("Socket already in use")))),
        };
        let wire = cat(&[HELLO_OK, &lines, &app]);
        check_splits(make, &wire, &sizes, Some((&expected, &app)))?;
        let run = drive(make(), &wire, &[1]);
        prop_assert_eq!(run.sent, cat(&[HELLO_LINE, b"STREAM ACCEPT ID=s1\n", &pong_line(&ping)]));
    }

    #[test]
    fn split_dest_generate(which in 0..3usize, ping in keepalive(), app in app_data(), sizes in chunk_sizes()) {
        let make = || with_hello(DestGenerate { signature_type: Some(SigType::Ed25519), crypto_type: None, extra: vec![] });
        let ok = format!("DEST REPLY PUB={PUB} PRIV={PRIV}\n");
        let (reply, expected, app): (&[u8], Result<PrivateKeys, Error>, &[u8]) = match which {
            0 => (ok.as_bytes(), Ok(priv_keys()), &app),
            1 => (b"DEST REPLY RESULT=I2P_ERROR MESSAGE=\"SIGNATURE_TYPE foo unsupported\"\n",
                  Err(refused("DEST REPLY", ResultCode::I2pError, Some("SIGNATURE_TYPE foo unsupported"))), &app),
            _ => (b"DEST REPLY RESULT=I2P_ERROR MESSAGE=\"DEST GENERATE required\"",
                  Err(refused("DEST REPLY", ResultCode::I2pError, Some("DEST GENERATE required"))), b""),
        };
        let wire = cat(&[HELLO_OK, &ping_line(&ping), reply, app]);
        check_splits(make, &wire, &sizes, Some((&expected, app)))?;
    }

    #[test]
    fn split_naming_lookup(which in 0..3usize, ping in keepalive(), app in app_data(), sizes in chunk_sizes()) {
        let make = || with_hello(NamingLookup::new("ME"));
        let ok = format!("NAMING REPLY RESULT=OK NAME=ME VALUE={PUB}\n");
        let java = format!("NAMING REPLY RESULT=OK NAME=ME VALUE={ZZZ} OPTION:_smtp._tcp=\"1 86400 0 0 25 x.b32.i2p\"\n");
        let (reply, expected): (&[u8], Result<Destination, Error>) = match which {
            0 => (ok.as_bytes(), Ok(pub_dest())),
            1 => (java.as_bytes(), Ok(zzz_dest())),
            _ => (b"NAMING REPLY RESULT=INVALID_KEY NAME=ME\n", Err(refused("NAMING REPLY", ResultCode::InvalidKey, None))),
        };
        let wire = cat(&[HELLO_OK, &ping_line(&ping), reply, &app]);
        check_splits(make, &wire, &sizes, Some((&expected, &app)))?;
    }

    #[test]
    fn split_session_create(which in 0..5usize, ping in keepalive(), app in app_data(), sizes in chunk_sizes()) {
        let make = || {
            let mut c = SessionCreate::new(SessionStyle::Stream, sid("s1"), Secret::new("TRANSIENT"));
            c.signature_type = Some(SigType::Ed25519);
            with_hello(c)
        };
        let ok = format!("SESSION STATUS RESULT=OK DESTINATION={PRIV}\n");
        let (reply, expected, app): (&[u8], Result<PrivateKeys, Error>, &[u8]) = match which {
            0 => (ok.as_bytes(), Ok(priv_keys()), &app),
            1 => (b"SESSION STATUS RESULT=DUPLICATED_ID\n", Err(refused("SESSION STATUS", ResultCode::DuplicatedId, None)), &app),
            2 => (b"SESSION STATUS RESULT=DUPLICATE_ID", Err(refused("SESSION STATUS", ResultCode::DuplicateId, None)), b""),
            3 => (b"SESSION STATUS RESULT=DUPLICATED_DEST\n", Err(refused("SESSION STATUS", ResultCode::DuplicatedDest, None)), &app),
            _ => (b"SESSION STATUS RESULT=I2P_ERROR MESSAGE=\"Unknown STYLE\"\n",
                  Err(refused("SESSION STATUS", ResultCode::I2pError, Some("Unknown STYLE"))), &app),
        };
        let wire = cat(&[HELLO_OK, &ping_line(&ping), reply, app]);
        check_splits(make, &wire, &sizes, Some((&expected, app)))?;
    }

    #[test]
    fn split_stream_forward(which in 0..2usize, ping in keepalive(), app in app_data(), sizes in chunk_sizes()) {
        let make = || with_hello(StreamForward::new(sid("fb"), 45979));
        let (reply, expected): (&[u8], Result<(), Error>) = match which {
            0 => (b"STREAM STATUS RESULT=OK\n", Ok(())),
            _ => (b"SESSION STATUS RESULT=I2P_ERROR MESSAGE=\"Already accepting\"\n",
                  Err(refused("SESSION STATUS", ResultCode::I2pError, Some("Already accepting")))),
        };
        let wire = cat(&[HELLO_OK, &ping_line(&ping), reply, &app]);
        check_splits(make, &wire, &sizes, Some((&expected, &app)))?;
    }

    #[test]
    fn split_forwarded_peer(which in 0..3usize, ports in (any::<u16>(), any::<u16>()), app in app_data(), sizes in chunk_sizes()) {
        let (line, expected) = match which {
            0 => (format!("{PUB}\n"), Ok(Accepted { peer: Some(pub_dest()), from_port: None, to_port: None })),
            1 => (format!("{ZZZ} FROM_PORT={} TO_PORT={}\n", ports.0, ports.1),
                  Ok(Accepted { peer: Some(zzz_dest()), from_port: Some(ports.0), to_port: Some(ports.1) })),
            _ => ("STREAM STATUS RESULT=I2P_ERROR MESSAGE=\"Session is closed\"\n".to_owned(),
                  Err(refused("STREAM STATUS", ResultCode::I2pError, Some("Session is closed")))),
        };
        let wire = cat(&[line.as_bytes(), &app]);
        check_splits(Exchange::forwarded, &wire, &sizes, Some((&expected, &app)))?;
    }

    /// The bridge's bytes cut anywhere and then EOF: every split gives the same outcome.
    #[test]
    fn split_truncated_streams(which in 0..8usize, cut in any::<prop::sample::Index>(), sizes in chunk_sizes()) {
        let dest = format!("DEST REPLY PUB={PUB} PRIV={PRIV}\n");
        let naming = format!("NAMING REPLY RESULT=OK NAME=ME VALUE={PUB}\n");
        let session = format!("SESSION STATUS RESULT=OK DESTINATION={PRIV}\n");
        let java_accept = format!("STREAM STATUS RESULT=OK\n{ZZZ} FROM_PORT=1234 TO_PORT=0\n");
        let i2pd_accept = format!("STREAM STATUS RESULT=OK\n{PUB}\n");
        let full = |tail: &[u8]| cat(&[HELLO_OK, tail]);
        let wire = match which {
            0 => full(b"STREAM STATUS RESULT=OK\n"),
            1 => full(java_accept.as_bytes()),
            2 => full(i2pd_accept.as_bytes()),
            3 => full(dest.as_bytes()),
            4 => full(naming.as_bytes()),
            5 => full(session.as_bytes()),
            6 => full(b"STREAM STATUS RESULT=OK\n"),
            _ => i2pd_accept.as_bytes()[24..].to_vec(),
        };
        let t = cut.index(wire.len() + 1);
        let wire = &wire[..t];
        match which {
            0 => check_splits(|| with_hello(StreamConnect::new(sid("s1"), PUB)), wire, &sizes, None)?,
            1 | 2 => check_splits(|| with_hello(StreamAccept::new(sid("s1"))), wire, &sizes, None)?,
            3 => check_splits(|| with_hello(DestGenerate { signature_type: None, crypto_type: None, extra: vec![] }), wire, &sizes, None)?,
            4 => check_splits(|| with_hello(NamingLookup::new("ME")), wire, &sizes, None)?,
            5 => check_splits(|| with_hello(SessionCreate::new(SessionStyle::Stream, sid("s1"), Secret::new("TRANSIENT"))), wire, &sizes, None)?,
            6 => check_splits(|| with_hello(StreamForward::new(sid("s1"), 1)), wire, &sizes, None)?,
            _ => check_splits(Exchange::forwarded, wire, &sizes, None)?,
        }
        // Truncated before the last byte of the HELLO reply: nothing can have succeeded.
        if which != 7 && t + 1 < HELLO_OK.len() {
            let run = drive(with_hello(StreamConnect::new(sid("s1"), PUB)), wire, &sizes);
            prop_assert!(run.result.is_err());
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Split invariance of the control socket (model-based)
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone)]
enum Item {
    Ping(Option<String>),
    Datagram {
        java: bool,
        ports: (u16, u16),
        payload: Vec<u8>,
    },
    Raw {
        java: bool,
        protocol: u8,
        ports: (u16, u16),
        payload: Vec<u8>,
    },
}

fn payload() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        pvec(any::<u8>(), 0..200),
        select(vec![
            &b"PING x\n"[..],
            b"\n",
            b"NAMING REPLY RESULT=OK\n",
            b""
        ])
        .prop_map(|b| b.to_vec()),
    ]
}

fn item() -> impl Strategy<Value = Item> {
    prop_oneof![
        opt("[ -~]{1,16}".prop_filter("empty", |s: &String| !s.is_empty())).prop_map(Item::Ping),
        (any::<bool>(), (any::<u16>(), any::<u16>()), payload()).prop_map(
            |(java, ports, payload)| Item::Datagram {
                java,
                ports,
                payload
            }
        ),
        (
            any::<bool>(),
            any::<u8>(),
            (any::<u16>(), any::<u16>()),
            payload()
        )
            .prop_map(|(java, protocol, ports, payload)| Item::Raw {
                java,
                protocol,
                ports,
                payload
            }),
    ]
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Cmd {
    Nothing,
    LookupOk,
    LookupNotFound,
    LookupOptionsListed,
    LookupOptionsNone,
    LookupLeasesetNotFound,
    AddOk,
    AddOkJava,
    AddDuplicate,
    RemoveOk,
    RemoveInvalid,
    Ping,
    QuitStatus,
    QuitEof,
    DatagramSend,
}

const CMDS: &[Cmd] = &[
    Cmd::Nothing,
    Cmd::LookupOk,
    Cmd::LookupNotFound,
    Cmd::LookupOptionsListed,
    Cmd::LookupOptionsNone,
    Cmd::LookupLeasesetNotFound,
    Cmd::AddOk,
    Cmd::AddOkJava,
    Cmd::AddDuplicate,
    Cmd::RemoveOk,
    Cmd::RemoveInvalid,
    Cmd::Ping,
    Cmd::QuitStatus,
    Cmd::QuitEof,
    Cmd::DatagramSend,
];

/// The command, the line that answers it, and the completion it produces.
type Script = (
    Option<ControlCommand<'static>>,
    Vec<u8>,
    Option<Result<Completion, Error>>,
);

fn lookup_with_options(name: &'static str) -> ControlCommand<'static> {
    let mut lookup = NamingLookup::new(name);
    lookup.options = Some(true);
    ControlCommand::Lookup(lookup)
}

/// A [`LookupAnswer`] (non-exhaustive outside sam-proto: built by parsing a reply).
fn lookup_answer(destination: Destination, options: LeaseSetOptions) -> LookupAnswer {
    let mut reply = NamingReply {
        result: ResultCode::Ok,
        name: None,
        value: Some(Cow::Owned(destination.to_base64())),
        message: None,
        extra: vec![],
    };
    for (k, v) in options.listed().unwrap_or_default() {
        reply.push_leaseset_option(k, v);
    }
    let answer = reply.answer().unwrap();
    assert_eq!(answer.options, options);
    answer
}

fn command_script(cmd: Cmd) -> Script {
    let add = || SessionAdd {
        from_port: Some(1000),
        ..SessionAdd::new(SessionStyle::Stream, sid("m-s1"))
    };
    let remove = || SessionRemove {
        id: sid("m-s1"),
        extra: vec![],
    };
    match cmd {
        Cmd::Nothing => (None, vec![], None),
        Cmd::LookupOk => (
            Some(ControlCommand::Lookup(NamingLookup::new("ME"))),
            format!("NAMING REPLY RESULT=OK NAME=ME VALUE={PUB}\n").into_bytes(),
            Some(Ok(Completion::Lookup(pub_dest()))),
        ),
        Cmd::LookupNotFound => (
            Some(ControlCommand::Lookup(NamingLookup::new("nosuch.i2p"))),
            b"NAMING REPLY RESULT=KEY_NOT_FOUND NAME=nosuch.i2p\n".to_vec(),
            Some(Err(refused("NAMING REPLY", ResultCode::KeyNotFound, None))),
        ),
        // NAMING LOOKUP ... OPTIONS=true: the spec's reply shape (quoted values with spaces),
        // i2pd 2.59's (no OPTION: pairs) and the spec's LEASESET_NOT_FOUND.
        Cmd::LookupOptionsListed => (
            Some(lookup_with_options("mail.i2p")),
            format!("NAMING REPLY RESULT=OK NAME=mail.i2p VALUE={ZZZ} OPTION:_smtp._tcp=\"1 86400 0 0 25 x.b32.i2p\" OPTION:v=1\n").into_bytes(),
            Some(Ok(Completion::LookupAnswer(lookup_answer(
                zzz_dest(),
                LeaseSetOptions::Listed(vec![
                    ("_smtp._tcp".into(), "1 86400 0 0 25 x.b32.i2p".into()),
                    ("v".into(), "1".into()),
                ]),
            )))),
        ),
        Cmd::LookupOptionsNone => (
            Some(lookup_with_options("ME")),
            format!("NAMING REPLY RESULT=OK NAME=ME VALUE={PUB}\n").into_bytes(),
            Some(Ok(Completion::LookupAnswer(lookup_answer(
                pub_dest(),
                LeaseSetOptions::NotAnswered,
            )))),
        ),
        Cmd::LookupLeasesetNotFound => (
            Some(lookup_with_options("gone.i2p")),
            b"NAMING REPLY RESULT=LEASESET_NOT_FOUND NAME=gone.i2p\n".to_vec(),
            Some(Err(refused("NAMING REPLY", ResultCode::LeasesetNotFound, None))),
        ),
        Cmd::AddOk => (
            Some(ControlCommand::Add(add())),
            format!("SESSION STATUS RESULT=OK DESTINATION={PRIV}\n").into_bytes(),
            Some(Ok(Completion::Added)),
        ),
        Cmd::AddOkJava => (
            Some(ControlCommand::Add(add())),
            b"SESSION STATUS RESULT=OK ID=\"m-s1\" MESSAGE=\"ADD m-s1\"\n".to_vec(),
            Some(Ok(Completion::Added)),
        ),
        Cmd::AddDuplicate => (
            Some(ControlCommand::Add(add())),
            b"SESSION STATUS RESULT=DUPLICATED_ID\n".to_vec(),
            Some(Err(refused(
                "SESSION STATUS",
                ResultCode::DuplicatedId,
                None,
            ))),
        ),
        Cmd::RemoveOk => (
            Some(ControlCommand::Remove(remove())),
            b"SESSION STATUS RESULT=OK ID=\"m-s1\" MESSAGE=\"REMOVE m-s1\"\n".to_vec(),
            Some(Ok(Completion::Removed)),
        ),
        Cmd::RemoveInvalid => (
            Some(ControlCommand::Remove(remove())),
            b"SESSION STATUS RESULT=INVALID_KEY\n".to_vec(),
            Some(Err(refused("SESSION STATUS", ResultCode::InvalidKey, None))),
        ),
        Cmd::Ping => (
            Some(ControlCommand::Ping(Ping {
                text: Some(Cow::Borrowed("hello  world")),
            })),
            b"PONG hello  world\n".to_vec(),
            Some(Ok(Completion::Pong(Some("hello  world".into())))),
        ),
        Cmd::QuitStatus => (
            Some(ControlCommand::Quit),
            b"QUIT STATUS RESULT=OK MESSAGE=bye\n".to_vec(),
            Some(Ok(Completion::Quit)),
        ),
        Cmd::QuitEof => (Some(ControlCommand::Quit), vec![], None),
        Cmd::DatagramSend => (
            Some(ControlCommand::DatagramSend(
                DatagramSend {
                    destination: Cow::Borrowed(PUB),
                    size: 5,
                    from_port: None,
                    to_port: None,
                    extra: vec![],
                },
                b"\0\n\r\n\xff".to_vec(),
            )),
            vec![],
            None,
        ),
    }
}

#[derive(Debug, PartialEq)]
struct ControlRun {
    events: Vec<ControlEvent>,
    sent: Vec<u8>,
    error: Option<Error>,
}

/// Feeds `wire` in reads of `sizes` (cycled), collecting transmissions and events after every
/// read; stops at the first error; calls `eof` at the end when `close`.
fn drive_control(
    command: Option<ControlCommand<'static>>,
    wire: &[u8],
    sizes: &[usize],
    close: bool,
) -> ControlRun {
    let mut c = ControlSocket::new(Version::V3_3);
    let mut events = Vec::new();
    let mut sent = Vec::new();
    let mut collect = |c: &mut ControlSocket, events: &mut Vec<ControlEvent>| {
        while let Some(b) = c.poll_transmit() {
            sent.extend_from_slice(b);
        }
        events.extend(std::iter::from_fn(|| c.poll_event()));
    };
    if let Some(cmd) = command {
        c.start(cmd).unwrap();
    }
    collect(&mut c, &mut events);
    let mut rest = wire;
    let mut i = 0;
    let mut error = None;
    while !rest.is_empty() {
        let n = sizes[i % sizes.len()].clamp(1, rest.len());
        i += 1;
        match c.feed(&rest[..n]) {
            Ok(used) => assert_eq!(used, n, "the control socket must take every byte"),
            Err(e) => {
                error = Some(e);
                break;
            }
        }
        rest = &rest[n..];
        collect(&mut c, &mut events);
    }
    if error.is_none() && close {
        c.eof();
        assert!(c.is_closed());
    }
    collect(&mut c, &mut events);
    ControlRun {
        events,
        sent,
        error,
    }
}

proptest! {
    #![proptest_config(cfg(128))]

    #[test]
    fn split_control_socket(
        cmd in select(CMDS),
        items in pvec(item(), 0..6),
        at in any::<prop::sample::Index>(),
        bridge_error in any::<bool>(),
        close in any::<bool>(),
        sizes in chunk_sizes(),
    ) {
        let (command, answer, completion) = command_script(cmd);
        let mut wire = Vec::new();
        let mut sent = Vec::new();
        let mut events = Vec::new();
        if let Some(c) = &command {
            // What start() queues: the command (and a datagram's payload).
            let mut s = ControlSocket::new(Version::V3_3);
            s.start(c.clone()).unwrap();
            sent.extend_from_slice(s.poll_transmit().unwrap());
            if cmd == Cmd::DatagramSend {
                prop_assert_eq!(&sent, &cat(&[format!("DATAGRAM SEND DESTINATION={PUB} SIZE=5\n").as_bytes(), b"\0\n\r\n\xff"]));
                events.push(ControlEvent::Completed(Ok(Completion::Sent)));
            }
        }
        let at = at.index(items.len() + 1);
        for (i, item) in items.iter().enumerate() {
            if i == at {
                wire.extend_from_slice(&answer);
                events.extend(completion.clone().map(ControlEvent::Completed));
            }
            match item {
                Item::Ping(t) => {
                    wire.extend_from_slice(&ping_line(t));
                    if t.is_none() {
                        wire.extend_from_slice(b"PING\n");
                        sent.extend_from_slice(b"PONG\n");
                    } else {
                        sent.extend_from_slice(&pong_line(t));
                    }
                }
                Item::Datagram { java, ports, payload } => {
                    let dest = if *java { ZZZ } else { PUB };
                    let mut line = format!("DATAGRAM RECEIVED DESTINATION={dest} SIZE={}", payload.len());
                    if *java {
                        line.push_str(&format!(" FROM_PORT={} TO_PORT={}", ports.0, ports.1));
                    }
                    wire.extend_from_slice(line.as_bytes());
                    wire.push(b'\n');
                    wire.extend_from_slice(payload);
                    events.push(ControlEvent::Datagram(ReceivedDatagram {
                        source: Some(dest.into()),
                        from_port: java.then_some(ports.0),
                        to_port: java.then_some(ports.1),
                        protocol: None,
                        payload: payload.clone(),
                    }));
                }
                Item::Raw { java, protocol, ports, payload } => {
                    let mut line = format!("RAW RECEIVED SIZE={}", payload.len());
                    if *java {
                        line.push_str(&format!(" PROTOCOL={protocol} FROM_PORT={} TO_PORT={}", ports.0, ports.1));
                    }
                    wire.extend_from_slice(line.as_bytes());
                    wire.push(b'\n');
                    wire.extend_from_slice(payload);
                    events.push(ControlEvent::Datagram(ReceivedDatagram {
                        source: None,
                        from_port: java.then_some(ports.0),
                        to_port: java.then_some(ports.1),
                        protocol: java.then_some(*protocol),
                        payload: payload.clone(),
                    }));
                }
            }
        }
        if at == items.len() {
            wire.extend_from_slice(&answer);
            events.extend(completion.clone().map(ControlEvent::Completed));
        }
        // Java's report of a dead session, once nothing is in flight (it would answer a QUIT).
        let close = close || cmd == Cmd::QuitEof;
        if bridge_error && cmd != Cmd::QuitEof {
            wire.extend_from_slice(b"SESSION STATUS RESULT=I2P_ERROR MESSAGE=\"Session is closed\"\n");
            events.push(ControlEvent::BridgeError(refused("SESSION STATUS", ResultCode::I2pError, Some("Session is closed"))));
        }
        if close {
            if cmd == Cmd::QuitEof {
                events.push(ControlEvent::Completed(Ok(Completion::Quit)));
            }
            events.push(ControlEvent::Closed);
        }
        let expected = ControlRun { events, sent, error: None };

        let whole = drive_control(command.clone(), &wire, &[wire.len().max(1)], close);
        prop_assert_eq!(&whole, &expected);
        let bytes = drive_control(command.clone(), &wire, &[1], close);
        prop_assert_eq!(&bytes, &expected, "one byte at a time");
        let random = drive_control(command, &wire, &sizes, close);
        prop_assert_eq!(&random, &expected, "random reads");
    }
}

// ---------------------------------------------------------------------------------------------
// No panics on arbitrary input
// ---------------------------------------------------------------------------------------------

const FRAGMENTS: &[&str] = &[
    "HELLO REPLY RESULT=OK VERSION=3.1\n",
    "STREAM STATUS RESULT=OK\n",
    "SESSION STATUS RESULT=OK DESTINATION=",
    "NAMING REPLY RESULT=OK NAME=ME VALUE=",
    "DEST REPLY PUB=",
    " PRIV=",
    "DATAGRAM RECEIVED DESTINATION=",
    "RAW RECEIVED SIZE=",
    " SIZE=",
    " FROM_PORT=",
    " TO_PORT=",
    " PROTOCOL=",
    "3.0 s1 ",
    "PING",
    "PONG",
    " MESSAGE=\"",
    "\\\"",
    "\"",
    "\\",
    "=",
    " ",
    "\t",
    "\n",
    "\r\n",
    "\0",
    "99999999999999999999",
    "65536",
    "0",
    "5",
    "é",
    PUB,
    PRIV,
    ZZZ,
];

fn junk() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        pvec(any::<u8>(), 0..256),
        pvec(
            prop_oneof![
                3 => select(FRAGMENTS).prop_map(|f| f.as_bytes().to_vec()),
                1 => pvec(any::<u8>(), 0..4),
            ],
            0..16
        )
        .prop_map(|parts| parts.concat()),
    ]
}

fn exercise_line(bytes: &[u8]) {
    if let Ok(line) = Line::parse(bytes) {
        let _ = line.describe();
        let _ = line.ping_text();
        let _ = line.get("RESULT");
        for p in line.params() {
            if let Ok(p) = p {
                if let Some(v) = p.value {
                    let _ = v.text();
                    let _ = v.raw();
                }
            } else {
                break;
            }
        }
    }
    if let Ok(r) = Reply::parse(bytes) {
        let _ = r.result();
        let _ = r.encode(Version::V3_3, &mut Vec::new());
        if let Reply::Dest(d) = &r {
            let _ = d.keys();
        }
        if let Reply::Naming(n) = &r {
            let _ = n.leaseset_options().count();
        }
    }
    if let Ok(c) = Command::parse(bytes) {
        let _ = c.encode(Version::V3_1, &mut Vec::new());
    }
    if let Ok(p) = PeerLine::parse(bytes) {
        let _ = p.parse_destination();
        let _ = p.encode(Version::V3_3, &mut Vec::new());
    }
    let _ = HelloReply::parse(bytes);
    let _ = SessionStatus::parse(bytes);
    let _ = OtherStatus::parse(bytes);
    let _ = DatagramReceived::parse(bytes);
    let _ = SessionCreate::parse(bytes);
    if let Ok((h, _)) = UdpHeader::parse_packet(bytes) {
        let _ = h.encode_with_payload(b"", &mut Vec::new());
    }
    let _ = RawHeader::parse_packet(bytes);
    let _ = parse_repliable(bytes);
}

proptest! {
    #![proptest_config(cfg(512))]

    #[test]
    fn no_panic_parsers(bytes in junk()) {
        exercise_line(&bytes);
        // The same bytes as one line of a well-formed reply.
        let mut line = b"NAMING REPLY RESULT=OK NAME=".to_vec();
        line.extend_from_slice(&bytes);
        exercise_line(&line);
    }
}

proptest! {
    #![proptest_config(cfg(64))]

    #[test]
    fn no_panic_exchanges(junk in junk(), sizes in chunk_sizes(), with_hello_reply in any::<bool>()) {
        let wire = if with_hello_reply { cat(&[HELLO_OK, &junk]) } else { junk.clone() };
        let _ = drive(with_hello(StreamConnect::new(sid("s1"), PUB)), &wire, &sizes);
        let _ = drive(with_hello(StreamAccept::new(sid("s1"))), &wire, &sizes);
        let _ = drive(with_hello(DestGenerate { signature_type: None, crypto_type: None, extra: vec![] }), &wire, &sizes);
        let _ = drive(with_hello(NamingLookup::new("ME")), &wire, &sizes);
        let _ = drive(with_hello(SessionCreate::new(SessionStyle::Stream, sid("s1"), Secret::new("TRANSIENT"))), &wire, &sizes);
        let _ = drive(with_hello(SessionAdd::new(SessionStyle::Stream, sid("s2"))), &wire, &sizes);
        let _ = drive(with_hello(SessionRemove { id: sid("s2"), extra: vec![] }), &wire, &sizes);
        let _ = drive(with_hello(StreamForward::new(sid("s1"), 1)), &wire, &sizes);
        let _ = drive(Exchange::new(Hello::new(Version::V3_0, Version::V3_3)).unwrap(), &wire, &sizes);
        // Already past HELLO.
        let _ = drive(Exchange::new(StreamAccept::new(sid("s1"))).unwrap().with_version(Version::V3_3).unwrap(), &junk, &sizes);
        let _ = drive(Exchange::forwarded(), &junk, &sizes);
    }

    #[test]
    fn no_panic_control_socket(cmd in select(CMDS), junk in junk(), sizes in chunk_sizes(), close in any::<bool>()) {
        let (command, _, _) = command_script(cmd);
        let _ = drive_control(command.clone(), &junk, &sizes, close);
        // Keep feeding after an error, too: still no panic.
        let mut c = ControlSocket::new(Version::V3_3);
        if let Some(command) = command {
            c.start(command).unwrap();
        }
        let mut rest = &junk[..];
        let mut i = 0;
        while !rest.is_empty() {
            let n = sizes[i % sizes.len()].clamp(1, rest.len());
            i += 1;
            let _ = c.feed(&rest[..n]);
            rest = &rest[n..];
            while c.poll_transmit().is_some() {}
            while c.poll_event().is_some() {}
        }
        c.eof();
        while c.poll_event().is_some() {}
        let _ = c.start(ControlCommand::Lookup(NamingLookup::new("ME")));
    }
}

// ---------------------------------------------------------------------------------------------
// Minimal counterexamples the round-trip properties found, as plain tests
// ---------------------------------------------------------------------------------------------

/// Runs a `round_trip!` outside proptest.
macro_rules! assert_round_trip {
    ($ty:ident, $value:expr, $version:expr) => {{
        let check = || -> Result<bool, TestCaseError> { Ok(round_trip!($ty, $value, $version)) };
        match check() {
            Ok(encoded) => encoded,
            Err(e) => panic!("{e}"),
        }
    }};
}

/// BUG (message.rs `decimal` vs the `usize` `Field::encode`): a `SIZE` above 9 999 999 999 is
/// written (`SIZE=10000000000`) but refused when read back ("expected a decimal number").
#[test]
fn counterexample_size_above_ten_digits_round_trips() {
    let r = RawReceived {
        size: 10_000_000_000,
        protocol: None,
        from_port: None,
        to_port: None,
        extra: vec![],
    };
    assert_round_trip!(RawReceived, r, Version::V3_3);
    let d = DatagramSend {
        destination: Cow::Borrowed(I2P_PROJEKT),
        size: usize::MAX,
        from_port: None,
        to_port: None,
        extra: vec![],
    };
    assert_round_trip!(DatagramSend, d, Version::V3_1);
}

/// BUG (reply.rs `PeerLine::write`): with no ports, a bare first extra key is written as the
/// second word (`<dest> FLAG`), which `Line::parse` takes for an action, so the line no longer
/// parses as a peer line.
#[test]
fn counterexample_peer_line_bare_extra_round_trips() {
    let p = PeerLine {
        destination: Cow::Borrowed(I2P_PROJEKT),
        from_port: None,
        to_port: None,
        extra: vec![KeyValue {
            key: Cow::Borrowed("FLAG"),
            value: None,
        }],
    };
    assert_round_trip!(PeerLine, p, Version::V3_3);
}

/// BUG (reply.rs `OtherStatus::write`): the verb `PING`/`PONG` is accepted, but `Line::parse`
/// treats `PING ...` lines as ping text, so `PING STATUS RESULT=OK` does not read back.
#[test]
fn counterexample_other_status_ping_verb_round_trips() {
    let s = OtherStatus {
        verb: Cow::Borrowed("PING"),
        result: ResultCode::Ok,
        message: None,
        extra: vec![],
    };
    assert_round_trip!(OtherStatus, s, Version::V3_3);
}

/// BUG (datagram.rs `UdpHeader::write_header` vs `parse_packet`): an option without a value is
/// written as a bare key (`3.0 s1 <dest> FLAG`), which `parse_packet` refuses ("option without =").
#[test]
fn counterexample_udp_header_bare_option_round_trips() {
    let mut h = UdpHeader::new(sid("s1"), I2P_PROJEKT);
    h.extra = vec![KeyValue {
        key: Cow::Borrowed("FLAG"),
        value: None,
    }];
    let mut out = Vec::new();
    if h.encode_with_payload(b"x", &mut out).is_ok() {
        assert_eq!(UdpHeader::parse_packet(&out), Ok((h.clone(), &b"x"[..])));
    } else {
        assert!(out.is_empty());
    }
}

// ---------------------------------------------------------------------------------------------
// Length limits: what the writer produces, the reader and the framer accept
// ---------------------------------------------------------------------------------------------

#[test]
fn command_length_limit_is_8192_bytes_with_the_newline() {
    // "SESSION CREATE STYLE=STREAM ID=s1 DESTINATION=" + value + "\n"
    let fixed = "SESSION CREATE STYLE=STREAM ID=s1 DESTINATION=".len() + 1;
    for (len, ok) in [(8192, true), (8193, false)] {
        let c = SessionCreate::new(
            SessionStyle::Stream,
            sid("s1"),
            Secret::new("A".repeat(len - fixed)),
        );
        let mut out = Vec::new();
        assert_eq!(c.encode(Version::V3_1, &mut out).is_ok(), ok, "{len}");
        if ok {
            assert_eq!(out.len(), len);
            assert_eq!(SessionCreate::parse(&out).unwrap(), c);
        } else {
            assert!(out.is_empty());
        }
    }
}

#[test]
fn reply_length_limit_agrees_with_reader_and_exchange() {
    let max = sam_proto::line::MAX_LINE_LEN;
    let fixed = "NAMING REPLY RESULT=OK NAME=".len() + 1;
    for (len, ok) in [(max, true), (max + 1, false)] {
        let r = NamingReply {
            result: ResultCode::Ok,
            name: Some(Cow::Owned("a".repeat(len - fixed))),
            value: None,
            message: None,
            extra: vec![],
        };
        let mut out = Vec::new();
        assert_eq!(r.encode(Version::V3_3, &mut out).is_ok(), ok, "{len}");
        let line = format!("NAMING REPLY RESULT=OK NAME={}\n", "a".repeat(len - fixed));
        assert_eq!(line.len(), len);
        assert_eq!(NamingReply::parse(line.as_bytes()).is_ok(), ok, "{len}");
        // The exchange's framer takes the line in any split (the reply has no VALUE, so the
        // lookup fails with MissingKey rather than with LineTooLong).
        for sizes in [&[len][..], &[1000][..], &[7, 4096][..]] {
            let run = drive(
                Exchange::new(NamingLookup::new("a")).unwrap(),
                line.as_bytes(),
                sizes,
            );
            if ok {
                assert_eq!(
                    run.result,
                    Err(Error::MissingKey {
                        line: "NAMING REPLY",
                        key: "VALUE"
                    })
                );
            } else {
                assert!(
                    matches!(run.result, Err(Error::LineTooLong { .. })),
                    "{:?}",
                    run.result
                );
            }
        }
    }
}

#[test]
fn udp_limits() {
    // Header of exactly 2048 bytes (newline included) is written and read; 2049 is refused.
    let fixed = "3.0 s1 ".len() + 1;
    for (len, ok) in [(2048, true), (2049, false)] {
        let h = UdpHeader::new(sid("s1"), "A".repeat(len - fixed));
        let mut out = Vec::new();
        assert_eq!(h.encode_with_payload(b"p", &mut out).is_ok(), ok, "{len}");
        if ok {
            assert_eq!(UdpHeader::parse_packet(&out), Ok((h.clone(), &b"p"[..])));
        }
    }
    // Whole packet of 32768 bytes is written; 32769 is refused.
    let h = UdpHeader::new(sid("s1"), I2P_PROJEKT);
    let header = 3 + 1 + 2 + 1 + I2P_PROJEKT.len() + 1;
    let mut out = Vec::new();
    assert!(h
        .encode_with_payload(&vec![0; 32768 - header], &mut out)
        .is_ok());
    assert_eq!(out.len(), 32768);
    let mut out = Vec::new();
    assert!(h
        .encode_with_payload(&vec![0; 32769 - header], &mut out)
        .is_err());
    assert!(out.is_empty());
}

#[test]
fn control_socket_refuses_a_size_that_differs_from_the_payload() {
    let mut c = ControlSocket::new(Version::V3_1);
    let d = DatagramSend {
        destination: Cow::Borrowed(I2P_PROJEKT),
        size: 4,
        from_port: None,
        to_port: None,
        extra: vec![],
    };
    assert!(matches!(
        c.start(ControlCommand::DatagramSend(d, b"abc".to_vec())),
        Err(Error::Unencodable { field: "SIZE", .. })
    ));
    assert_eq!(c.poll_transmit(), None);
    assert_eq!(c.poll_event(), None);
    assert!(!c.is_busy());
}
