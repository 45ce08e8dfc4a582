//! The logic of every `sam-proto` fuzz target, one `pub fn <target>(data: &[u8])` each.
//!
//! `fuzz_targets/<target>.rs` only calls into this file, so a corpus can be replayed without
//! libFuzzer: `testbed/kit/tests/fuzz_corpus.rs` includes this very file as a module and runs
//! every file of `fuzz/corpus/<target>/` through it. Hence this file may use only `std`,
//! `sam_proto` and `arbitrary` (a dev-dependency of sam-proto), nothing from libFuzzer.
//!
//! Every target panics (an `assert!`) when an invariant of the protocol crate breaks; the
//! message says which one. Input layouts:
//!
//! * `line`, `reply`, `command`, `datagram`, `keys`: the bytes as they come off the wire.
//! * `exchange`: byte 0 picks the exchange (and whether HELLO comes first), byte 1 the number
//!   of split bytes that follow (0-7); each split byte `b` is a read of `b + 1` bytes (cycled);
//!   the rest is what the bridge says.
//! * `control`: byte 0 = version, command to start (9: a lookup with `OPTIONS=true`) and flags; byte 1 = split count and flags;
//!   split bytes as above; the rest is what the bridge says on the session socket.
//! * `roundtrip`: structured input for [`arbitrary::Unstructured`].

use std::borrow::Cow;
use std::fmt::Debug;

use arbitrary::{Result as ArbResult, Unstructured};
use sam_proto::client::{Received, Style};
use sam_proto::command::{
    Command, DatagramSend, DestGenerate, Hello, NamingLookup, Ping, Pong, Quit, RawSend,
    SessionAdd, SessionCreate, SessionRemove, StreamAccept, StreamConnect, StreamForward,
};
use sam_proto::control::{
    Completion, ControlCommand, ControlEvent, ControlSocket, MAX_DATAGRAM_SIZE,
};
use sam_proto::datagram::{self, HashedPeer, RawHeader, UdpHeader, MAX_UDP_HEADER, MAX_UDP_PACKET};
use sam_proto::exchange::{Exchange, Request, Step};
use sam_proto::keys::{self, B32Address, Destination, PrivateKeys, SigType, SourceHash};
use sam_proto::line::{Line, LineFramer, MAX_LINE_LEN};
use sam_proto::message::{KeyValue, Message, MAX_COMMAND_LEN};
use sam_proto::reply::{
    DatagramReceived, DestReply, HelloReply, NamingReply, OtherStatus, PeerLine, RawReceived,
    Reply, SessionStatus, StreamStatus,
};
use sam_proto::{Error, ResultCode, Secret, SessionId, SessionStyle, Version};

/// zzz.i2p (Ed25519, 391 bytes, ends in `==`), sam-proto/PROTOCOL.md §11.5.
const ZZZ: &str = "GKapJ8koUcBj~jmQzHsTYxDg2tpfWj0xjQTzd8BhfC9c3OS5fwPBNajgF-eOD6eCjFTqTlorlh7Hnd8kXj1qblUGXT-tDoR9~YV8dmXl51cJn9MVTRrEqRWSJVXbUUz9t5Po6Xa247Vr0sJn27R4KoKP8QVj1GuH6dB3b6wTPbOamC3dkO18vkQkfZWUdRMDXk0d8AdjB0E0864nOT~J9Fpnd2pQE5uoFT6P0DqtQR2jsFvf9ME61aqLvKPPWpkgdn4z6Zkm-NJOcDz2Nv8Si7hli94E9SghMYRsdjU-knObKvxiagn84FIwcOpepxuG~kFXdD5NfsH0v6Uri3usE3XWD7Pw6P8qVYF39jUIq4OiNMwPnNYzy2N4mDMQdsdHO3LUVh~DEppOy9AAmEoHDjjJxt2BFBbGxfdpZCpENkwvmZeYUyNCCzASqTOOlNzdpne8cuesn3NDXIpNnqEE6Oe5Qm5YOJykrX~Vx~cFFT3QzDGkIjjxlFBsjUJyYkFjBQAEAAcAAA==";

/// i2p-projekt.i2p (DSA_SHA1, 387 bytes, no `=` padding), sam-proto/PROTOCOL.md §11.5.
const I2P_PROJEKT: &str = "8ZAW~KzGFMUEj0pdchy6GQOOZbuzbqpWtiApEj8LHy2~O~58XKxRrA43cA23a9oDpNZDqWhRWEtehSnX5NoCwJcXWWdO1ksKEUim6cQLP-VpQyuZTIIqwSADwgoe6ikxZG0NGvy5FijgxF4EW9zg39nhUNKRejYNHhOBZKIX38qYyXoB8XCVJybKg89aMMPsCT884F0CLBKbHeYhpYGmhE4YW~aV21c5pebivvxeJPWuTBAOmYxAIgJE3fFU-fucQn9YyGUFa8F3t-0Vco-9qVNSEWfgrdXOdKT6orr3sfssiKo3ybRWdTpxycZ6wB4qHWgTSU5A-gOA3ACTCMZBsASN3W5cz6GRZCspQ0HNu~R~nJ8V06Mmw~iVYOu5lDvipmG6-dJky6XRxCedczxMM1GWFoieQ8Ysfuxq-j8keEtaYmyUQme6TcviCEvQsxyVirr~dTC-F8aZ~y2AlG5IJz5KD02nO6TRkI2fgjHhv9OZ9nskh-I2jxAzFP6Is1kyAAAA";

// ---------------------------------------------------------------------------------------------
// Shared helpers
// ---------------------------------------------------------------------------------------------

/// Read sizes for feeding bridge bytes: split byte `b` is a read of `b + 1` bytes, the list is
/// cycled, and no split bytes at all means everything in one read.
#[derive(Clone, Debug)]
struct Splits {
    sizes: Vec<usize>,
    next: usize,
}

impl Splits {
    fn whole() -> Splits {
        Splits {
            sizes: Vec::new(),
            next: 0,
        }
    }

    /// Takes `count` split bytes from the front of `data`; returns them and the rest.
    fn take(count: usize, data: &[u8]) -> (Splits, &[u8]) {
        let (head, rest) = data.split_at(count.min(data.len()));
        let sizes = head.iter().map(|&b| usize::from(b) + 1).collect();
        (Splits { sizes, next: 0 }, rest)
    }

    fn next_size(&mut self) -> usize {
        if self.sizes.is_empty() {
            return usize::MAX;
        }
        let n = self.sizes[self.next % self.sizes.len()];
        self.next = self.next.wrapping_add(1);
        n
    }
}

/// A small deterministic generator (splitmix64) seeded from the input, for random splits.
struct Rng(u64);

impl Rng {
    fn seeded(data: &[u8]) -> Rng {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for &b in data {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        Rng(h)
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            self.next() % n
        }
    }
}

fn show(bytes: &[u8]) -> String {
    bytes.escape_ascii().to_string()
}

fn strip_terminator(bytes: &[u8]) -> &[u8] {
    let bytes = bytes.strip_suffix(b"\n").unwrap_or(bytes);
    bytes.strip_suffix(b"\r").unwrap_or(bytes)
}

fn is_control(b: u8) -> bool {
    b < 0x20 || b == 0x7f
}

/// A line the encoder has no reason to refuse: printable ASCII only (no control character can
/// reach a value, no key can be non-ASCII), no backslash (keys may not hold one), and short
/// enough that quoting cannot push it past a length limit.
fn plain_ascii(body: &[u8]) -> bool {
    body.len() <= 2048
        && body
            .iter()
            .all(|&b| (0x20..0x7f).contains(&b) && b != b'\\')
}

/// What `Message::encode` promises on success: one line, `\n` last and nowhere else, no
/// control character (they are all refused), within the length limit.
fn check_wire_line(line: &[u8], is_command: bool) {
    assert_eq!(
        line.last(),
        Some(&b'\n'),
        "encoded line does not end with \\n: {}",
        show(line)
    );
    let body = &line[..line.len() - 1];
    assert!(
        !body.iter().any(|&b| is_control(b)),
        "encoded line holds a control character or a second \\n: {}",
        show(line)
    );
    let limit = if is_command {
        MAX_COMMAND_LEN
    } else {
        MAX_LINE_LEN
    };
    assert!(
        line.len() <= limit,
        "encoded line of {} bytes is over the limit {limit}",
        line.len()
    );
}

/// Runs `encode` on a buffer that already holds `prefix`: on error the buffer must be
/// unchanged; on success the appended bytes must be one well-formed line, which is returned.
fn encode_after(
    prefix: &[u8],
    is_command: bool,
    encode: impl FnOnce(&mut Vec<u8>) -> Result<(), Error>,
) -> Result<Vec<u8>, Error> {
    let mut out = prefix.to_vec();
    match encode(&mut out) {
        Err(e) => {
            assert_eq!(
                out, prefix,
                "a failed encode ({e}) changed the output buffer"
            );
            Err(e)
        }
        Ok(()) => {
            assert!(out.starts_with(prefix), "encode rewrote bytes before it");
            let line = out[prefix.len()..].to_vec();
            check_wire_line(&line, is_command);
            Ok(line)
        }
    }
}

// ---------------------------------------------------------------------------------------------
// line: the lexer and the framer
// ---------------------------------------------------------------------------------------------

/// `Line::parse` on the bytes, every parameter read and unquoted; then `LineFramer` fed the
/// bytes whole, byte by byte and in pseudo-random pieces, which must all agree with a plain
/// split at `\n`; every framed line is lexed too.
pub fn line(data: &[u8]) {
    check_line(data);

    let whole = frame(data, &mut |_| usize::MAX);
    let bytewise = frame(data, &mut |_| 1);
    let mut rng = Rng::seeded(data);
    let random = frame(data, &mut |_| rng.below(64) as usize + 1);
    assert_eq!(
        whole, bytewise,
        "framing byte by byte differs from one read"
    );
    assert_eq!(whole, random, "framing in pieces differs from one read");

    if whole.error.is_none() {
        let mut expect = Framed::default();
        for piece in data.split_inclusive(|&b| b == b'\n') {
            if piece.ends_with(b"\n") {
                expect.lines.push(piece.to_vec());
            } else {
                expect.pending = piece.to_vec();
            }
        }
        assert_eq!(whole, expect, "framer output is not the input cut at \\n");
    }
    for l in whole.lines.iter().take(64) {
        check_line(l);
    }
}

#[derive(Debug, Default, PartialEq)]
struct Framed {
    lines: Vec<Vec<u8>>,
    pending: Vec<u8>,
    error: Option<Error>,
}

fn frame(data: &[u8], size: &mut dyn FnMut(usize) -> usize) -> Framed {
    let mut framer = LineFramer::new();
    let mut out = Framed::default();
    let mut pos = 0;
    while pos < data.len() {
        let n = size(pos).min(data.len() - pos);
        let mut chunk = &data[pos..pos + n];
        pos += n;
        while !chunk.is_empty() {
            let used = match framer.push(chunk) {
                Ok((Some(l), used)) => {
                    assert_eq!(l.last(), Some(&b'\n'), "framed line without \\n");
                    assert_eq!(
                        l.iter().filter(|&&b| b == b'\n').count(),
                        1,
                        "framed line with two \\n"
                    );
                    assert!(l.len() <= MAX_LINE_LEN, "framed line over MAX_LINE_LEN");
                    out.lines.push(l.to_vec());
                    framer.clear();
                    used
                }
                Ok((None, used)) => {
                    assert_eq!(used, chunk.len(), "no line, yet input left over");
                    used
                }
                Err(e) => {
                    out.error = Some(e);
                    return out;
                }
            };
            assert!(used >= 1 && used <= chunk.len(), "push consumed {used}");
            chunk = &chunk[used..];
            assert!(
                framer.pending().len() < MAX_LINE_LEN,
                "framer holds too much"
            );
        }
    }
    out.pending = framer.pending().to_vec();
    out
}

/// What the lexer promises about a line it accepted.
fn check_line(bytes: &[u8]) {
    let Ok(line) = Line::parse(bytes) else {
        return;
    };
    let body = strip_terminator(bytes);
    assert!(
        !body.contains(&b'\n') && !body.contains(&0),
        "accepted a line with \\n or NUL inside: {}",
        show(bytes)
    );
    let verb = line.verb();
    assert!(!verb.is_empty(), "empty verb");
    assert!(
        !verb.contains([' ', '\t', '"']) && !verb.starts_with('='),
        "bad verb {verb:?}"
    );
    if let Some(a) = line.action() {
        assert!(
            !a.is_empty() && !a.contains(['=', '"', ' ', '\t']),
            "bad action {a:?}"
        );
    }
    assert!(line.describe().chars().count() <= 81, "describe() too long");
    let _ = line.ping_text();

    let mut seen_error = false;
    let mut count = 0;
    for p in line.params() {
        count += 1;
        assert!(count <= bytes.len(), "params() does not end");
        assert!(!seen_error, "params() yielded an item after an error");
        let p = match p {
            Ok(p) => p,
            Err(_) => {
                seen_error = true;
                continue;
            }
        };
        assert!(
            !p.key.is_empty() && !p.key.contains(['=', ' ', '\t', '"']),
            "bad key {:?}",
            p.key
        );
        if let Some(v) = p.value {
            let text = v.text();
            assert_eq!(text, unquote(v.raw()), "text() of {:?}", v.raw());
            assert!(text.len() <= v.raw().len(), "text() longer than raw()");
            assert!(
                !v.raw().contains([' ', '\t']) || v.raw().contains('"'),
                "unquoted value with a space: {:?}",
                v.raw()
            );
        }
        if count <= 16 {
            // `get` finds the first occurrence of the key.
            let first = line
                .params()
                .map_while(Result::ok)
                .find(|q| q.key == p.key)
                .map(|q| q.value.map_or(Cow::Borrowed("true"), |v| v.text()));
            let got = line.get(p.key);
            if let Ok(got) = got {
                assert_eq!(got.map(|v| v.text()), first, "get({:?})", p.key);
            }
        }
    }
}

/// Reference unquoting: `"` toggles quoting, `\x` inside quotes stands for `x`.
fn unquote(raw: &str) -> String {
    let mut out = String::new();
    let mut quoted = false;
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => quoted = !quoted,
            '\\' if quoted => out.extend(chars.next()),
            c => out.push(c),
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// reply / command: parse, re-encode, parse again
// ---------------------------------------------------------------------------------------------

/// The typed answer of a `NAMING REPLY` (as to `OPTIONS=true`): `OK` with a destination and
/// options that are `Listed` exactly when the line has `OPTION:` pairs, each of them; any
/// other result a refusal with that code.
fn naming_answer(m: &NamingReply<'_>) {
    let pairs: Vec<(&str, Option<&str>)> = m.leaseset_options().collect();
    match m.answer() {
        Ok(a) => {
            assert!(m.result.is_ok(), "an answer from RESULT={}", m.result);
            assert!(Destination::from_bytes(a.destination.as_bytes()).is_ok());
            check_leaseset_options(&a.options);
            match a.options.listed() {
                None => assert!(pairs.is_empty(), "OPTION: pairs reported as NotAnswered"),
                Some(listed) => {
                    assert_eq!(
                        listed.len(),
                        pairs.len(),
                        "listed options differ from the line's"
                    );
                    for ((k, v), (pk, pv)) in listed.iter().zip(&pairs) {
                        assert_eq!((k.as_str(), v.as_str()), (*pk, pv.unwrap_or("")));
                    }
                }
            }
        }
        Err(Error::Refused { result, .. }) => {
            assert!(!m.result.is_ok(), "RESULT=OK refused");
            assert_eq!(result, m.result, "the refusal changed the result code");
        }
        Err(_) => assert!(m.result.is_ok(), "a refused lookup failed otherwise"),
    }
}

/// `Listed` is never empty (no options reads as `NotAnswered`), and `get` finds each key.
fn check_leaseset_options(options: &sam_proto::reply::LeaseSetOptions) {
    if let Some(listed) = options.listed() {
        assert!(!listed.is_empty(), "Listed with no options");
        for (k, _) in listed {
            assert!(options.get(k).is_some(), "get() misses a listed key");
        }
    }
}

/// `Reply::parse` and `PeerLine::parse`; whatever parses is re-encoded (SAM 3.3 and 3.1) and
/// must parse back to the same value. A plain-ASCII line that parses must also re-encode.
pub fn reply(data: &[u8]) {
    let body = strip_terminator(data);
    if let Ok(r) = Reply::parse(data) {
        let _ = r.result();
        // The dispatcher and the message's own parser agree.
        let direct = match &r {
            Reply::Hello(m) => HelloReply::parse(data).map(|d| d == *m),
            Reply::Dest(m) => DestReply::parse(data).map(|d| d == *m),
            Reply::Naming(m) => {
                naming_answer(m);
                NamingReply::parse(data).map(|d| d == *m)
            }
            Reply::Session(m) => SessionStatus::parse(data).map(|d| d == *m),
            Reply::Stream(m) => StreamStatus::parse(data).map(|d| d == *m),
            Reply::DatagramReceived(m) => DatagramReceived::parse(data).map(|d| d == *m),
            Reply::RawReceived(m) => RawReceived::parse(data).map(|d| d == *m),
            Reply::Ping(m) => Ping::parse(data).map(|d| d == *m),
            Reply::Pong(m) => Pong::parse(data).map(|d| d == *m),
            Reply::OtherStatus(m) => OtherStatus::parse(data).map(|d| d == *m),
        };
        assert_eq!(
            direct,
            Ok(true),
            "Reply::parse and the message parser disagree"
        );
        let e33 = encode_after(b"", false, |out| r.encode(Version::V3_3, out));
        let e31 = encode_after(b"", false, |out| r.encode(Version::V3_1, out));
        if let Ok(b31) = &e31 {
            assert_eq!(
                e33.as_ref().ok(),
                Some(b31),
                "SAM 3.1 encoding differs from 3.3 for {r:?}"
            );
        }
        match &e33 {
            Ok(bytes) => {
                let back = Reply::parse(bytes).unwrap_or_else(|e| {
                    panic!("{r:?} re-encoded as {} does not parse: {e}", show(bytes))
                });
                assert_eq!(back, r, "reply changed in a round trip via {}", show(bytes));
            }
            Err(e) => {
                let odd_verb = matches!(&r, Reply::OtherStatus(s) if s.verb.contains('='));
                assert!(
                    !plain_ascii(body) || odd_verb,
                    "reply parsed from {} cannot be re-encoded: {e}",
                    show(data)
                );
            }
        }
    }
    if let Ok(p) = PeerLine::parse(data) {
        let _ = p.parse_destination();
        match encode_after(b"", false, |out| p.encode(Version::V3_3, out)) {
            Ok(bytes) => {
                let back = PeerLine::parse(&bytes).unwrap_or_else(|e| {
                    panic!("{p:?} re-encoded as {} does not parse: {e}", show(&bytes))
                });
                assert_eq!(back, p, "peer line changed in a round trip");
            }
            Err(e) => assert!(
                !plain_ascii(body),
                "peer line parsed from {} cannot be re-encoded: {e}",
                show(data)
            ),
        }
    }
}

/// `Command::parse` (the bridge side); whatever parses is re-encoded (3.3 and 3.1) and must
/// parse back to the same value. A plain-ASCII command without empty values must re-encode.
pub fn command(data: &[u8]) {
    let Ok(c) = Command::parse(data) else {
        return;
    };
    // The dispatcher and the message's own parser agree.
    let direct = match &c {
        Command::Hello(m) => Hello::parse(data).map(|d| d == *m),
        Command::DestGenerate(m) => DestGenerate::parse(data).map(|d| d == *m),
        Command::NamingLookup(m) => NamingLookup::parse(data).map(|d| d == *m),
        Command::SessionCreate(m) => SessionCreate::parse(data).map(|d| d == *m),
        Command::SessionAdd(m) => SessionAdd::parse(data).map(|d| d == *m),
        Command::SessionRemove(m) => SessionRemove::parse(data).map(|d| d == *m),
        Command::StreamConnect(m) => StreamConnect::parse(data).map(|d| d == *m),
        Command::StreamAccept(m) => StreamAccept::parse(data).map(|d| d == *m),
        Command::StreamForward(m) => StreamForward::parse(data).map(|d| d == *m),
        Command::DatagramSend(m) => DatagramSend::parse(data).map(|d| d == *m),
        Command::RawSend(m) => RawSend::parse(data).map(|d| d == *m),
        Command::Ping(m) => Ping::parse(data).map(|d| d == *m),
        Command::Pong(m) => Pong::parse(data).map(|d| d == *m),
        Command::Quit(m) => Quit::parse(data).map(|d| d == *m),
    };
    assert_eq!(
        direct,
        Ok(true),
        "Command::parse and the message parser disagree"
    );
    let e33 = encode_after(b"", true, |out| c.encode(Version::V3_3, out));
    let e31 = encode_after(b"", true, |out| c.encode(Version::V3_1, out));
    if let Ok(b31) = &e31 {
        assert_eq!(
            e33.as_ref().ok(),
            Some(b31),
            "SAM 3.1 encoding differs from 3.3 for {c:?}"
        );
    }
    match &e33 {
        Ok(bytes) => {
            let back = Command::parse(bytes).unwrap_or_else(|e| {
                panic!("{c:?} re-encoded as {} does not parse: {e}", show(bytes))
            });
            assert_eq!(
                back,
                c,
                "command changed in a round trip via {}",
                show(bytes)
            );
        }
        Err(e) => {
            // Commands may not carry empty values (Java reads `KEY=` as `KEY=true`).
            let empty_value = Line::parse(data).is_ok_and(|l| {
                l.params()
                    .any(|p| p.is_ok_and(|p| p.value.is_some_and(|v| v.text().is_empty())))
            });
            assert!(
                !plain_ascii(strip_terminator(data)) || empty_value,
                "command parsed from {} cannot be re-encoded: {e}",
                show(data)
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// exchange: the per-socket state machines under the documented driver loop
// ---------------------------------------------------------------------------------------------

/// The result of driving one exchange to its end.
struct Run<O> {
    result: Result<O, Error>,
    /// Everything the exchange asked us to write.
    sent: Vec<u8>,
    /// What the caller holds after `Done`: the unconsumed buffer plus the bytes not yet read.
    leftover: Vec<u8>,
    version: Version,
}

/// The loop of the `exchange` module docs; `bridge` is what the socket yields, `splits` the
/// size of each read. `via_buf` feeds with `Exchange::feed_buf` instead of `feed` + `drain`.
fn drive<R: Request>(
    mut ex: Exchange<R>,
    bridge: &[u8],
    splits: &mut Splits,
    via_buf: bool,
) -> Run<R::Output> {
    let mut sent = Vec::new();
    let mut buf: Vec<u8> = Vec::new();
    let mut pos = 0;
    let limit = 4 * bridge.len() + 16;
    let mut steps = 0;
    let stopped = loop {
        steps += 1;
        assert!(
            steps <= limit,
            "the exchange driver loop does not terminate"
        );
        match ex.poll() {
            Step::Send(bytes) => {
                assert!(!bytes.is_empty(), "Step::Send with nothing to send");
                sent.extend_from_slice(bytes);
            }
            Step::Recv if buf.is_empty() => {
                if pos == bridge.len() {
                    if let Err(e) = ex.eof() {
                        break Err(e);
                    }
                } else {
                    let n = splits.next_size().min(bridge.len() - pos);
                    buf.extend_from_slice(&bridge[pos..pos + n]);
                    pos += n;
                }
            }
            Step::Recv if via_buf => {
                let before = buf.len();
                if let Err(e) = ex.feed_buf(&mut buf) {
                    break Err(e);
                }
                assert!(
                    buf.len() < before,
                    "Step::Recv, {before} bytes buffered, feed_buf consumed none"
                );
            }
            Step::Recv => match ex.feed(&buf) {
                Ok(n) => {
                    assert!(
                        n >= 1,
                        "Step::Recv, {} bytes buffered, feed consumed none",
                        buf.len()
                    );
                    assert!(n <= buf.len(), "feed consumed more than it was given");
                    buf.drain(..n);
                }
                Err(e) => break Err(e),
            },
            Step::Done => break Ok(()),
        }
    };
    let version = ex.version();
    let finished = ex.finish();
    let result = match stopped {
        Ok(()) => finished,
        Err(e) => {
            // The error is reported once: finish() does not repeat it.
            assert_eq!(
                finished.as_ref().err(),
                Some(&Error::Misuse(sam_proto::exchange::REPORTED)),
                "finish() after a failed feed/eof does not say it was reported"
            );
            Err(e)
        }
    };
    buf.extend_from_slice(&bridge[pos..]);
    Run {
        result,
        sent,
        leftover: buf,
        version,
    }
}

/// Drives the exchange made by `make` with the reads in `splits` (through `feed_buf`) and with
/// everything in one read (through `feed`): both must end the same way, and a success must
/// leave exactly the input that follows the protocol's lines.
fn check_exchange<R: Request>(
    make: impl Fn() -> Exchange<R>,
    bridge: &[u8],
    mut splits: Splits,
    consumes_nothing: bool,
) where
    R::Output: PartialEq + Debug,
{
    let split = drive(make(), bridge, &mut splits, true);
    let whole = drive(make(), bridge, &mut Splits::whole(), false);
    assert_eq!(
        split.result, whole.result,
        "outcome depends on how the bridge's bytes were split"
    );
    let Ok(_) = whole.result else {
        return;
    };
    assert_eq!(split.sent, whole.sent, "bytes sent depend on the splits");
    assert_eq!(
        split.version, whole.version,
        "version depends on the splits"
    );
    assert_eq!(
        split.leftover, whole.leftover,
        "leftover depends on how the bridge's bytes were split"
    );
    assert!(
        bridge.ends_with(&whole.leftover),
        "leftover is not a suffix of the input"
    );
    let consumed = bridge.len() - whole.leftover.len();
    if consumed > 0 && !whole.leftover.is_empty() {
        assert_eq!(
            bridge[consumed - 1],
            b'\n',
            "the exchange stopped inside a line: consumed {}",
            show(&bridge[..consumed])
        );
    }
    if consumes_nothing {
        assert_eq!(
            consumed, 0,
            "a silent exchange without HELLO consumed input"
        );
    }
}

fn sid(id: &'static str) -> SessionId<'static> {
    SessionId::new(id).expect("valid session ID")
}

/// Byte 0: bits 0-3 pick the exchange (mod 12), bit 4 skips HELLO (bit 5 then says 3.3 instead
/// of 3.1 was negotiated before). Byte 1: number of split bytes (mod 8). Then split bytes, then
/// the bridge's bytes.
pub fn exchange(data: &[u8]) {
    let [b0, b1, rest @ ..] = data else {
        return;
    };
    let (splits, bridge) = Splits::take(usize::from(b1 % 8), rest);
    let kind = (b0 & 0x0f) % 12;
    let hello = b0 & 0x10 == 0;
    let version = if b0 & 0x20 != 0 {
        Version::V3_3
    } else {
        Version::V3_1
    };

    fn make<R: Request>(request: R, hello: bool, version: Version) -> Exchange<R> {
        let ex = Exchange::new(request).expect("a valid request");
        if hello {
            ex.with_hello(Hello::new(Version::V3_1, Version::V3_3))
                .expect("a valid HELLO")
        } else {
            ex.with_version(version).expect("a valid request")
        }
    }

    match kind {
        0 => check_exchange(
            || Exchange::new(Hello::new(Version::V3_1, Version::V3_3)).expect("HELLO"),
            bridge,
            splits,
            false,
        ),
        1 => check_exchange(
            || {
                let g = DestGenerate {
                    signature_type: Some(SigType::Ed25519),
                    crypto_type: None,
                    extra: Vec::new(),
                };
                make(g, hello, version)
            },
            bridge,
            splits,
            false,
        ),
        2 => check_exchange(
            || make(NamingLookup::new("ME"), hello, version),
            bridge,
            splits,
            false,
        ),
        3 => check_exchange(
            || {
                let mut c =
                    SessionCreate::new(SessionStyle::Stream, sid("s1"), Secret::new("TRANSIENT"));
                c.signature_type = Some(SigType::Ed25519);
                c.extra.push(KeyValue::new("inbound.length", "0"));
                make(c, hello, version)
            },
            bridge,
            splits,
            false,
        ),
        4 | 5 => {
            let silent = kind == 5;
            check_exchange(
                || {
                    let mut c = StreamConnect::new(sid("s1"), "zzz.i2p");
                    c.silent = silent.then_some(true);
                    make(c, hello, version)
                },
                bridge,
                splits,
                silent && !hello,
            );
        }
        6 | 7 => {
            let silent = kind == 7;
            check_exchange(
                || {
                    let mut a = StreamAccept::new(sid("s1"));
                    a.silent = silent.then_some(true);
                    make(a, hello, version)
                },
                bridge,
                splits,
                silent && !hello,
            );
        }
        8 => check_exchange(
            || make(StreamForward::new(sid("s1"), 7000), hello, version),
            bridge,
            splits,
            false,
        ),
        9 => check_exchange(Exchange::forwarded, bridge, splits, false),
        10 => check_exchange(
            || {
                let mut a = SessionAdd::new(SessionStyle::Stream, sid("sub-1"));
                a.from_port = Some(1000);
                make(a, hello, version)
            },
            bridge,
            splits,
            false,
        ),
        _ => check_exchange(
            || {
                let r = SessionRemove {
                    id: sid("sub-1"),
                    extra: Vec::new(),
                };
                make(r, hello, version)
            },
            bridge,
            splits,
            false,
        ),
    }
}

// ---------------------------------------------------------------------------------------------
// control: the session control socket
// ---------------------------------------------------------------------------------------------

#[derive(Default)]
struct ControlStats {
    /// Commands accepted by `start` (each may complete once).
    started: usize,
    completed: usize,
    events: usize,
    closed: usize,
    /// Bytes handed to `feed`.
    fed: usize,
    /// Bytes the socket wanted written because of what it was fed (PONGs).
    answered: usize,
}

fn control_command(kind: u8) -> Option<ControlCommand<'static>> {
    let dest = Cow::Borrowed(ZZZ);
    Some(match kind {
        0 => ControlCommand::Lookup(NamingLookup::new("ME")),
        9 => {
            // NAMING LOOKUP ... OPTIONS=true: completes with a LookupAnswer.
            let mut lookup = NamingLookup::new("ME");
            lookup.options = Some(true);
            ControlCommand::Lookup(lookup)
        }
        1 => {
            let mut a = SessionAdd::new(SessionStyle::Stream, sid("sub-1"));
            a.from_port = Some(1000);
            ControlCommand::Add(a)
        }
        2 => ControlCommand::Remove(SessionRemove {
            id: sid("sub-1"),
            extra: Vec::new(),
        }),
        3 => ControlCommand::Ping(Ping { text: None }),
        4 => ControlCommand::Ping(Ping {
            text: Some(Cow::Borrowed("1700000000000")),
        }),
        5 => ControlCommand::Quit,
        6 => ControlCommand::DatagramSend(
            DatagramSend {
                destination: dest,
                size: 5,
                from_port: None,
                to_port: None,
                extra: Vec::new(),
            },
            b"hello".to_vec(),
        ),
        7 => ControlCommand::RawSend(
            RawSend {
                destination: dest,
                size: 3,
                from_port: Some(1),
                to_port: Some(2),
                protocol: Some(18),
                extra: Vec::new(),
            },
            b"a\nb".to_vec(),
        ),
        8 => ControlCommand::DatagramSend(
            DatagramSend {
                destination: dest,
                size: 4,
                from_port: None,
                to_port: None,
                extra: Vec::new(),
            },
            b"hello".to_vec(),
        ),
        _ => return None,
    })
}

/// The bytes `start(command)` must queue.
fn control_wire(command: &ControlCommand<'_>, version: Version) -> Result<Vec<u8>, Error> {
    let mut out = Vec::new();
    match command {
        ControlCommand::Lookup(m) => m.encode(version, &mut out)?,
        ControlCommand::Add(m) => m.encode(version, &mut out)?,
        ControlCommand::Remove(m) => m.encode(version, &mut out)?,
        // PING and QUIT are refused below 3.2 (such bridges close the socket on them).
        ControlCommand::Ping(_) | ControlCommand::Quit if version < Version::V3_2 => {
            return Err(Error::NeedsVersion {
                command: "PING or QUIT",
                needs: Version::V3_2,
                negotiated: version,
            })
        }
        ControlCommand::Ping(m) => m.encode(version, &mut out)?,
        ControlCommand::Quit => Quit.encode(version, &mut out)?,
        ControlCommand::DatagramSend(m, payload) => {
            m.encode(version, &mut out)?;
            out.extend_from_slice(payload);
        }
        ControlCommand::RawSend(m, payload) => {
            m.encode(version, &mut out)?;
            out.extend_from_slice(payload);
        }
        _ => {}
    }
    Ok(out)
}

fn take_transmit(c: &mut ControlSocket) -> Vec<u8> {
    let mut out = Vec::new();
    for _ in 0..3 {
        match c.poll_transmit() {
            Some(bytes) => out.extend_from_slice(bytes),
            None => return out,
        }
    }
    panic!("poll_transmit keeps returning bytes");
}

/// Collects what the socket wants written because of fed bytes: only PONG lines.
fn collect_answers(c: &mut ControlSocket, st: &mut ControlStats) {
    let tx = take_transmit(c);
    st.answered += tx.len();
    for l in tx.split_inclusive(|&b| b == b'\n') {
        let pong = Pong::parse(l)
            .unwrap_or_else(|e| panic!("control socket wrote {} unasked: {e}", show(l)));
        assert!(
            l.ends_with(b"\n") && l.starts_with(b"PONG"),
            "bad PONG {}",
            show(l)
        );
        let _ = pong;
    }
    assert!(
        st.answered <= st.fed,
        "control socket wrote {} bytes of answers for {} bytes read",
        st.answered,
        st.fed
    );
}

fn drain_events(c: &mut ControlSocket, st: &mut ControlStats) {
    while let Some(ev) = c.poll_event() {
        st.events += 1;
        match ev {
            ControlEvent::Completed(outcome) => {
                st.completed += 1;
                assert!(
                    st.completed <= st.started,
                    "{} completions for {} commands: {outcome:?}",
                    st.completed,
                    st.started
                );
                if let Ok(Completion::Lookup(d)) = &outcome {
                    assert!(Destination::from_bytes(d.as_bytes()).is_ok());
                }
                if let Ok(Completion::LookupAnswer(a)) = &outcome {
                    assert!(Destination::from_bytes(a.destination.as_bytes()).is_ok());
                    check_leaseset_options(&a.options);
                }
            }
            ControlEvent::Datagram(d) => {
                assert!(
                    d.payload.len() <= MAX_DATAGRAM_SIZE,
                    "datagram over the cap"
                );
                check_received_forms(&d);
            }
            ControlEvent::Closed => {
                st.closed += 1;
                assert_eq!(st.closed, 1, "Closed reported twice");
            }
            _ => {}
        }
        // Every event but the completions of our commands and Closed needs a line of >= 16 bytes.
        assert!(
            st.events <= st.fed / 8 + 2 * st.started + 2,
            "{} events from {} bytes and {} commands",
            st.events,
            st.fed,
            st.started
        );
    }
}

fn start_control(c: &mut ControlSocket, kind: u8, st: &mut ControlStats) {
    let Some(command) = control_command(kind) else {
        return;
    };
    collect_answers(c, st);
    let busy = c.is_busy();
    let expected = control_wire(&command, c.version());
    match c.start(command) {
        Ok(()) => {
            assert!(!busy, "start() accepted a command while busy");
            st.started += 1;
            let tx = take_transmit(c);
            assert_eq!(
                Some(&tx),
                expected.as_ref().ok(),
                "start() queued other bytes than the command"
            );
        }
        Err(e) => {
            assert!(
                busy || c.is_closed() || expected.is_err() || kind == 8,
                "start() refused: {e}"
            );
            assert!(
                take_transmit(c).is_empty(),
                "a refused command left bytes to send"
            );
        }
    }
}

/// Byte 0: bits 0-1 version (3.0-3.3), bits 2-5 the command started first (0-9, else none),
/// bit 6 start it again whenever the socket is idle, bit 7 end with `eof()`. Byte 1: bits 0-2
/// number of split bytes, bit 3 drain events after every read, bit 4 take the bytes to write
/// after every read. Then the split bytes, then the bridge's bytes.
pub fn control(data: &[u8]) {
    let [b0, b1, rest @ ..] = data else {
        return;
    };
    let version = [Version::V3_0, Version::V3_1, Version::V3_2, Version::V3_3][usize::from(b0 & 3)];
    let kind = (b0 >> 2) & 0x0f;
    let restart = b0 & 0x40 != 0;
    let eof_at_end = b0 & 0x80 != 0;
    let drain_each = b1 & 0x08 != 0;
    let transmit_each = b1 & 0x10 != 0;
    let (splits_given, bridge) = Splits::take(usize::from(b1 & 7), rest);
    let mut splits = splits_given.clone();

    let mut c = ControlSocket::new(version);
    assert_eq!(c.version(), version);
    let mut st = ControlStats::default();
    start_control(&mut c, kind, &mut st);

    let mut pos = 0;
    while pos < bridge.len() {
        let n = splits.next_size().min(bridge.len() - pos);
        let chunk = &bridge[pos..pos + n];
        pos += n;
        st.fed += n;
        if let Ok(m) = c.feed(chunk) {
            assert_eq!(m, chunk.len(), "feed() did not take everything");
        }
        if c.is_busy() {
            assert_eq!(
                c.start(ControlCommand::Quit),
                Err(Error::Busy),
                "second command accepted while one is in flight"
            );
        }
        if transmit_each {
            collect_answers(&mut c, &mut st);
        }
        if drain_each {
            drain_events(&mut c, &mut st);
        }
        if restart && !c.is_busy() && !c.is_closed() {
            start_control(&mut c, kind, &mut st);
        }
    }
    collect_answers(&mut c, &mut st);
    drain_events(&mut c, &mut st);

    if eof_at_end {
        let busy = c.is_busy();
        c.eof();
        assert!(
            c.is_closed() && !c.is_busy(),
            "eof() left the socket open or busy"
        );
        let mut last = None;
        let before = st.completed;
        while let Some(ev) = c.poll_event() {
            if matches!(ev, ControlEvent::Completed(_)) {
                st.completed += 1;
            }
            last = Some(ev);
        }
        assert_eq!(
            st.completed - before,
            usize::from(busy),
            "eof() and the command in flight"
        );
        assert_eq!(
            last,
            Some(ControlEvent::Closed),
            "eof() did not end with Closed"
        );
        assert!(c.poll_transmit().is_none(), "bytes to write after eof()");
        assert!(
            c.start(ControlCommand::Quit).is_err(),
            "start() after eof()"
        );
        assert_eq!(c.feed(b"PING x\n"), Ok(7));
        assert!(c.poll_transmit().is_none() && c.poll_event().is_none());
    }

    if !restart {
        let split = control_transcript(version, kind, splits_given, bridge);
        let whole = control_transcript(version, kind, Splits::whole(), bridge);
        assert_eq!(
            split, whole,
            "what the control socket does depends on how the reads were split"
        );
    }
}

/// Everything a control socket did with `bridge`, up to its first error.
#[derive(Debug, PartialEq)]
struct Transcript {
    events: Vec<ControlEvent>,
    written: Vec<u8>,
    error: Option<Error>,
}

fn control_transcript(version: Version, kind: u8, mut splits: Splits, bridge: &[u8]) -> Transcript {
    let mut c = ControlSocket::new(version);
    if let Some(command) = control_command(kind) {
        let _ = c.start(command);
    }
    let _ = take_transmit(&mut c);
    let mut t = Transcript {
        events: Vec::new(),
        written: Vec::new(),
        error: None,
    };
    let mut pos = 0;
    while pos < bridge.len() {
        let n = splits.next_size().min(bridge.len() - pos);
        let chunk = &bridge[pos..pos + n];
        pos += n;
        if let Err(e) = c.feed(chunk) {
            t.error = Some(e);
            break;
        }
        t.written.extend(take_transmit(&mut c));
    }
    t.written.extend(take_transmit(&mut c));
    while let Some(ev) = c.poll_event() {
        t.events.push(ev);
    }
    t
}

// ---------------------------------------------------------------------------------------------
// datagram: UDP framing
// ---------------------------------------------------------------------------------------------

/// `UdpHeader::parse_packet`, `RawHeader::parse_packet` and `parse_repliable`; what parses is
/// re-encoded with its payload and must parse back to the same header and payload.
pub fn datagram(data: &[u8]) {
    const PREFIX: &[u8] = b"earlier packet bytes";
    let header_line = |packet: &[u8]| -> Vec<u8> {
        let end = packet
            .iter()
            .position(|&b| b == b'\n')
            .unwrap_or(packet.len());
        packet[..end].to_vec()
    };

    if let Ok((h, payload)) = UdpHeader::parse_packet(data) {
        assert!(
            data.ends_with(payload),
            "payload is not the end of the packet"
        );
        let mut out = PREFIX.to_vec();
        match h.encode_with_payload(payload, &mut out) {
            Ok(()) => {
                let packet = &out[PREFIX.len()..];
                let line = header_line(packet);
                assert!(line.len() <= MAX_UDP_HEADER && packet.len() <= MAX_UDP_PACKET);
                assert!(
                    !line.iter().any(|&b| is_control(b)),
                    "control byte in header"
                );
                let (back, p) = UdpHeader::parse_packet(packet).unwrap_or_else(|e| {
                    panic!("{h:?} encoded as {} does not parse: {e}", show(packet))
                });
                assert_eq!(back, h, "UDP header changed in a round trip");
                assert_eq!(p, payload, "UDP payload changed in a round trip");
            }
            Err(e) => {
                assert_eq!(out, PREFIX, "a failed encode changed the buffer");
                let line = header_line(data);
                let must = plain_ascii(&line)
                    && !line.contains(&b'"')
                    && line.len() <= MAX_UDP_HEADER - 16
                    && data.len() <= MAX_UDP_PACKET - 16
                    && h.extra.iter().all(|kv| kv.value.as_deref() != Some(""));
                assert!(
                    !must,
                    "UDP header parsed from {} cannot be re-encoded: {e}",
                    show(&line)
                );
            }
        }
    }

    if let Ok((h, payload)) = RawHeader::parse_packet(data) {
        assert!(
            data.ends_with(payload),
            "payload is not the end of the packet"
        );
        let mut out = Vec::new();
        h.encode_with_payload(payload, &mut out)
            .unwrap_or_else(|e| panic!("{h:?} cannot be encoded: {e}"));
        let (back, p) = RawHeader::parse_packet(&out)
            .unwrap_or_else(|e| panic!("{h:?} encoded as {} does not parse: {e}", show(&out)));
        assert_eq!(
            (back, p),
            (h, payload),
            "RAW header changed in a round trip"
        );
    }

    check_datagram23(data);

    if let Ok((peer, payload)) = datagram::parse_repliable(data) {
        assert!(
            data.ends_with(payload),
            "payload is not the end of the packet"
        );
        let mut out = PREFIX.to_vec();
        match datagram::encode_repliable(&peer, payload, &mut out) {
            Ok(()) => {
                let packet = &out[PREFIX.len()..];
                let (back, p) = datagram::parse_repliable(packet).unwrap_or_else(|e| {
                    panic!("{peer:?} encoded as {} does not parse: {e}", show(packet))
                });
                assert_eq!(back, peer, "sender line changed in a round trip");
                assert_eq!(p, payload, "payload changed in a round trip");
            }
            Err(e) => {
                assert_eq!(out, PREFIX, "a failed encode changed the buffer");
                assert!(
                    !plain_ascii(&header_line(data)),
                    "sender line {} cannot be re-encoded: {e}",
                    show(&header_line(data))
                );
            }
        }
    }
}

/// DATAGRAM3's forwarded form (`HashedPeer`) round trips; `Received::from_udp_of` of every
/// style returns an error or a datagram whose source has the style's form (a destination for
/// DATAGRAM/DATAGRAM2, a hash for DATAGRAM3, nothing for RAW).
fn check_datagram23(data: &[u8]) {
    if let Ok((peer, payload)) = HashedPeer::parse_packet(data) {
        assert!(
            data.ends_with(payload),
            "payload is not the end of the packet"
        );
        let mut out = Vec::new();
        peer.encode_with_payload(payload, &mut out)
            .unwrap_or_else(|e| panic!("{peer:?} cannot be encoded: {e}"));
        let (back, p) = HashedPeer::parse_packet(&out)
            .unwrap_or_else(|e| panic!("{peer:?} encoded as {} does not parse: {e}", show(&out)));
        assert_eq!(
            (back, p),
            (peer, payload),
            "DATAGRAM3 sender changed in a round trip"
        );
    }
    for style in [
        Style::Datagram,
        Style::Datagram2,
        Style::Datagram3,
        Style::Raw,
    ] {
        for header in [false, true] {
            if let Ok(r) = Received::from_udp_of(data, style, header) {
                check_source_form(&r, style);
            }
        }
    }
}

/// A control-socket datagram read as each style's `Received` has that style's source form
/// (none for a `RAW RECEIVED`).
fn check_received_forms(d: &sam_proto::control::ReceivedDatagram) {
    for style in [Style::Datagram, Style::Datagram2, Style::Datagram3] {
        if let Ok(r) = Received::from_control_of(d.clone(), style) {
            // `RAW RECEIVED` has no sender, whatever the session's style.
            let form = if d.source.is_none() {
                Style::Raw
            } else {
                style
            };
            check_source_form(&r, form);
            assert_eq!(r.payload, d.payload);
        }
    }
}

fn check_source_form(r: &Received, style: Style) {
    match style {
        Style::Raw => assert!(
            r.source.is_none() && r.source_hash.is_none(),
            "RAW is anonymous"
        ),
        Style::Datagram3 => {
            assert!(r.source.is_none(), "DATAGRAM3 gave a destination");
            let hash = r.source_hash.expect("DATAGRAM3 without its hash");
            assert_eq!(SourceHash::from_base64(&hash.to_base64()), Ok(hash));
        }
        _ => assert!(
            r.source.is_some() && r.source_hash.is_none(),
            "{style:?} source form"
        ),
    }
}

// ---------------------------------------------------------------------------------------------
// keys: binary and text key formats
// ---------------------------------------------------------------------------------------------

/// The bytes as a raw destination / PRIV blob; the bytes as (lossy UTF-8) text as I2P base64,
/// a `.b32.i2p` address or a signature type; and the same for the first words of the text and
/// the values of `KEY=VALUE` words (so a whole reply line exercises its keys).
pub fn keys(data: &[u8]) {
    check_key_bytes(data);
    let text = String::from_utf8_lossy(data);
    check_key_text(&text);
    for word in text.split([' ', '\n']).filter(|w| !w.is_empty()).take(8) {
        check_key_text(word);
        if let Some((_, value)) = word.split_once('=') {
            check_key_text(value);
        }
    }
}

fn check_destination(d: &Destination) {
    let b64 = d.to_base64();
    assert_eq!(
        Destination::from_base64(&b64).as_ref(),
        Ok(d),
        "destination base64 round trip"
    );
    assert_eq!(b64.parse::<Destination>().as_ref(), Ok(d));
    assert_eq!(d.to_string(), b64);
    let b32 = d.b32_address();
    assert_eq!(b32.hash(), &d.hash());
    assert_eq!(
        b32.to_string().parse::<B32Address>(),
        Ok(b32),
        "b32 round trip"
    );
    assert_eq!(d.signing_public_key().len(), d.sig_type().public_key_len());
    assert!(matches!(d.certificate_type(), 0 | 5));
    let _ = format!("{d:?}");
}

fn check_key_bytes(bytes: &[u8]) {
    match Destination::parse_prefix(bytes) {
        Ok((d, n)) => {
            assert!(
                n <= bytes.len(),
                "parse_prefix used {n} of {} bytes",
                bytes.len()
            );
            assert_eq!(
                d.as_bytes(),
                &bytes[..n],
                "destination bytes differ from input"
            );
            assert_eq!(
                Destination::from_bytes(&bytes[..n]).as_ref(),
                Ok(&d),
                "from_bytes disagrees with parse_prefix"
            );
            assert_eq!(
                Destination::from_bytes(bytes).is_ok(),
                n == bytes.len(),
                "from_bytes accepts trailing bytes or refuses an exact destination"
            );
            check_destination(&d);
        }
        Err(e) => assert!(
            Destination::from_bytes(bytes).is_err(),
            "from_bytes accepts what parse_prefix refuses ({e})"
        ),
    }
    if let Ok(k) = PrivateKeys::from_bytes(bytes) {
        assert_eq!(
            k.to_bytes(),
            bytes,
            "PRIV blob does not re-encode byte for byte"
        );
        assert_eq!(
            PrivateKeys::from_base64(&k.to_base64()).as_ref(),
            Ok(&k),
            "PRIV base64 round trip"
        );
        assert!(bytes.starts_with(k.destination().as_bytes()));
        assert_eq!(
            k.is_offline(),
            k.signing_private_key().iter().all(|&b| b == 0),
            "offline flag and all-zero signing key disagree"
        );
        let shown = format!("{k:?}");
        if k.signing_private_key().len() >= 16 && k.signing_private_key().iter().any(|&b| b != 0) {
            let hex: String = k.signing_private_key()[..16]
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            assert!(!shown.contains(&hex), "Debug shows the signing private key");
        }
    }
}

fn check_key_text(text: &str) {
    match keys::base64_decode(text) {
        Ok(bytes) => {
            assert_eq!(keys::base64_encode(&bytes), text, "base64 is not canonical");
            assert_eq!(
                Destination::from_base64(text),
                Destination::from_bytes(&bytes),
                "from_base64 and from_bytes disagree"
            );
            assert_eq!(
                PrivateKeys::from_base64(text),
                PrivateKeys::from_bytes(&bytes),
                "PrivateKeys::from_base64 and from_bytes disagree"
            );
            check_key_bytes(&bytes);
        }
        Err(_) => {
            assert!(Destination::from_base64(text).is_err());
            assert!(PrivateKeys::from_base64(text).is_err());
        }
    }
    if let Ok(a) = text.parse::<B32Address>() {
        let s = a.to_string();
        assert!(
            s.eq_ignore_ascii_case(text),
            "b32 {text:?} printed as {s:?}"
        );
        assert_eq!(s[..52], text[..52], "b32 body changed");
    }
    if let Ok(t) = text.parse::<SigType>() {
        assert_eq!(SigType::from_code(t.code()), Some(t));
        assert_eq!(t.name().parse::<SigType>(), Ok(t));
        assert_eq!(t.code().to_string().parse::<SigType>(), Ok(t));
    }
}

// ---------------------------------------------------------------------------------------------
// roundtrip: structured messages, encode, parse back
// ---------------------------------------------------------------------------------------------

const WORDS: &[&str] = &[
    "OK",
    "I2P_ERROR",
    "DUPLICATED_ID",
    "STREAM",
    "DATAGRAM",
    "RAW",
    "PRIMARY",
    "MASTER",
    "TRANSIENT",
    "ME",
    "PING",
    "PONG",
    "SESSION",
    "STATUS",
    "REPLY",
    "HELLO",
    "QUIT",
    "true",
    "false",
    "3.1",
    "7",
    "zzz.i2p",
    ZZZ,
    I2P_PROJEKT,
    "a b",
    "say \"hi\"",
    "\"",
    "\\",
    "=",
    " ",
    "",
];

const KEYS: &[&str] = &[
    "RESULT",
    "MESSAGE",
    "ID",
    "DESTINATION",
    "FROM_PORT",
    "TO_PORT",
    "SIZE",
    "NAME",
    "OPTION:_smtp._tcp",
    "inbound.length",
    "i2cp.leaseSetEncType",
    "SEND_TAGS",
];

fn text_char(u: &mut Unstructured<'_>) -> ArbResult<char> {
    Ok(match u.int_in_range(0u8..=15)? {
        0..=6 => char::from(*u.choose(b"abcxyzXYZ0189-_.~+:@!$*,/<>")?),
        7 => ' ',
        8 => '"',
        9 => '\\',
        10 => '=',
        11 => *u.choose(&['\t', '\r', '\n', '\0', '\x7f', '\x1b', '\x0b'])?,
        12 => *u.choose(&['é', '€', '\u{a0}', '\u{85}', '\u{2028}', '\u{feff}', '😀'])?,
        13 => u.arbitrary::<char>()?,
        _ => char::from(*u.choose(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ")?),
    })
}

/// Arbitrary text: a protocol word now and then, else up to 24 characters with spaces,
/// quotes, backslashes, `=`, control characters and non-ASCII.
fn text(u: &mut Unstructured<'_>) -> ArbResult<String> {
    if u.ratio(1u8, 4)? {
        return Ok((*u.choose(WORDS)?).to_string());
    }
    let len = u.int_in_range(0..=24)?;
    (0..len).map(|_| text_char(u)).collect()
}

fn cow(u: &mut Unstructured<'_>) -> ArbResult<Cow<'static, str>> {
    Ok(Cow::Owned(text(u)?))
}

fn opt<T>(
    u: &mut Unstructured<'_>,
    f: impl FnOnce(&mut Unstructured<'_>) -> ArbResult<T>,
) -> ArbResult<Option<T>> {
    if u.arbitrary::<bool>()? {
        f(u).map(Some)
    } else {
        Ok(None)
    }
}

fn session_id(u: &mut Unstructured<'_>) -> ArbResult<SessionId<'static>> {
    let candidate = if u.ratio(1u8, 3)? {
        text(u)?
    } else {
        let len = u.int_in_range(1..=130)?;
        (0..len)
            .map(|_| u.choose(b"az09-_.~+:@!$*,").map(|&b| char::from(b)))
            .collect::<ArbResult<String>>()?
    };
    Ok(SessionId::new(candidate).unwrap_or_else(|_| sid("s")))
}

fn version(u: &mut Unstructured<'_>) -> ArbResult<Version> {
    Ok(Version::new(u.arbitrary()?, u.arbitrary()?))
}

fn sig_type(u: &mut Unstructured<'_>) -> ArbResult<SigType> {
    Ok(*u.choose(&SigType::ALL)?)
}

/// Result codes are built as the parser builds them (`Other("OK")` is not a canonical value).
fn result_code(u: &mut Unstructured<'_>) -> ArbResult<ResultCode> {
    Ok(ResultCode::from_wire(&text(u)?))
}

fn style(u: &mut Unstructured<'_>) -> ArbResult<SessionStyle> {
    Ok(SessionStyle::from_wire(&text(u)?))
}

fn size(u: &mut Unstructured<'_>) -> ArbResult<usize> {
    let size = if u.ratio(7u8, 8)? {
        u.int_in_range(0..=70_000)?
    } else {
        u.arbitrary()?
    };
    Ok(size)
}

fn extras(u: &mut Unstructured<'_>) -> ArbResult<Vec<KeyValue<'static>>> {
    let n = u.int_in_range(0..=3)?;
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let key = if u.ratio(1u8, 3)? {
            (*u.choose(KEYS)?).to_string()
        } else {
            text(u)?
        };
        out.push(KeyValue {
            key: Cow::Owned(key),
            value: opt(u, cow)?,
        });
    }
    Ok(out)
}

fn gen_command(u: &mut Unstructured<'_>) -> ArbResult<Command<'static>> {
    Ok(match u.int_in_range(0u8..=13)? {
        0 => Command::Hello(Hello {
            min: opt(u, version)?,
            max: opt(u, version)?,
            user: opt(u, cow)?,
            password: opt(u, |u| cow(u).map(Secret))?,
            extra: extras(u)?,
        }),
        1 => Command::DestGenerate(DestGenerate {
            signature_type: opt(u, sig_type)?,
            crypto_type: opt(u, |u| u.arbitrary())?,
            extra: extras(u)?,
        }),
        2 => Command::NamingLookup(NamingLookup {
            name: cow(u)?,
            options: opt(u, |u| u.arbitrary())?,
            extra: extras(u)?,
        }),
        3 => Command::SessionCreate(SessionCreate {
            style: style(u)?,
            id: session_id(u)?,
            destination: Secret(cow(u)?),
            signature_type: opt(u, sig_type)?,
            crypto_type: opt(u, |u| u.arbitrary())?,
            port: opt(u, |u| u.arbitrary())?,
            host: opt(u, cow)?,
            from_port: opt(u, |u| u.arbitrary())?,
            to_port: opt(u, |u| u.arbitrary())?,
            protocol: opt(u, |u| u.arbitrary())?,
            header: opt(u, |u| u.arbitrary())?,
            extra: extras(u)?,
        }),
        4 => Command::SessionAdd(SessionAdd {
            style: style(u)?,
            id: session_id(u)?,
            port: opt(u, |u| u.arbitrary())?,
            host: opt(u, cow)?,
            from_port: opt(u, |u| u.arbitrary())?,
            to_port: opt(u, |u| u.arbitrary())?,
            protocol: opt(u, |u| u.arbitrary())?,
            listen_port: opt(u, |u| u.arbitrary())?,
            listen_protocol: opt(u, |u| u.arbitrary())?,
            header: opt(u, |u| u.arbitrary())?,
            extra: extras(u)?,
        }),
        5 => Command::SessionRemove(SessionRemove {
            id: session_id(u)?,
            extra: extras(u)?,
        }),
        6 => Command::StreamConnect(StreamConnect {
            id: session_id(u)?,
            destination: cow(u)?,
            silent: opt(u, |u| u.arbitrary())?,
            from_port: opt(u, |u| u.arbitrary())?,
            to_port: opt(u, |u| u.arbitrary())?,
            extra: extras(u)?,
        }),
        7 => Command::StreamAccept(StreamAccept {
            id: session_id(u)?,
            silent: opt(u, |u| u.arbitrary())?,
            extra: extras(u)?,
        }),
        8 => Command::StreamForward(StreamForward {
            id: session_id(u)?,
            port: u.arbitrary()?,
            host: opt(u, cow)?,
            silent: opt(u, |u| u.arbitrary())?,
            ssl: opt(u, |u| u.arbitrary())?,
            extra: extras(u)?,
        }),
        9 => Command::DatagramSend(DatagramSend {
            destination: cow(u)?,
            size: size(u)?,
            from_port: opt(u, |u| u.arbitrary())?,
            to_port: opt(u, |u| u.arbitrary())?,
            extra: extras(u)?,
        }),
        10 => Command::RawSend(RawSend {
            destination: cow(u)?,
            size: size(u)?,
            from_port: opt(u, |u| u.arbitrary())?,
            to_port: opt(u, |u| u.arbitrary())?,
            protocol: opt(u, |u| u.arbitrary())?,
            extra: extras(u)?,
        }),
        11 => Command::Ping(Ping { text: opt(u, cow)? }),
        12 => Command::Pong(Pong { text: opt(u, cow)? }),
        _ => Command::Quit(Quit),
    })
}

fn gen_reply(u: &mut Unstructured<'_>) -> ArbResult<Reply<'static>> {
    Ok(match u.int_in_range(0u8..=9)? {
        0 => Reply::Hello(HelloReply {
            result: result_code(u)?,
            version: opt(u, version)?,
            message: opt(u, cow)?,
            extra: extras(u)?,
        }),
        1 => Reply::Dest(DestReply {
            result: opt(u, result_code)?,
            public: opt(u, cow)?,
            private: opt(u, |u| cow(u).map(Secret))?,
            message: opt(u, cow)?,
            extra: extras(u)?,
        }),
        2 => Reply::Naming(NamingReply {
            result: result_code(u)?,
            name: opt(u, cow)?,
            value: opt(u, cow)?,
            message: opt(u, cow)?,
            extra: extras(u)?,
        }),
        3 => Reply::Session(SessionStatus {
            result: result_code(u)?,
            destination: opt(u, |u| cow(u).map(Secret))?,
            id: opt(u, cow)?,
            message: opt(u, cow)?,
            extra: extras(u)?,
        }),
        4 => Reply::Stream(StreamStatus {
            result: result_code(u)?,
            message: opt(u, cow)?,
            extra: extras(u)?,
        }),
        5 => Reply::DatagramReceived(DatagramReceived {
            destination: cow(u)?,
            size: size(u)?,
            from_port: opt(u, |u| u.arbitrary())?,
            to_port: opt(u, |u| u.arbitrary())?,
            extra: extras(u)?,
        }),
        6 => Reply::RawReceived(RawReceived {
            size: size(u)?,
            protocol: opt(u, |u| u.arbitrary())?,
            from_port: opt(u, |u| u.arbitrary())?,
            to_port: opt(u, |u| u.arbitrary())?,
            extra: extras(u)?,
        }),
        7 => Reply::Ping(Ping { text: opt(u, cow)? }),
        8 => Reply::Pong(Pong { text: opt(u, cow)? }),
        _ => Reply::OtherStatus(OtherStatus {
            verb: cow(u)?,
            result: result_code(u)?,
            message: opt(u, cow)?,
            extra: extras(u)?,
        }),
    })
}

fn peer_destination(u: &mut Unstructured<'_>) -> ArbResult<Cow<'static, str>> {
    Ok(match u.int_in_range(0u8..=3)? {
        0 => Cow::Borrowed(ZZZ),
        1 => Cow::Borrowed(I2P_PROJEKT),
        2 => {
            let len = u.int_in_range(40..=60)?;
            let alphabet = b"ABCXYZabcxyz0189-~=";
            Cow::Owned(
                (0..len)
                    .map(|_| u.choose(alphabet).map(|&b| char::from(b)))
                    .collect::<ArbResult<String>>()?,
            )
        }
        _ => cow(u)?,
    })
}

fn gen_peer_line(u: &mut Unstructured<'_>) -> ArbResult<PeerLine<'static>> {
    Ok(PeerLine {
        destination: peer_destination(u)?,
        from_port: opt(u, |u| u.arbitrary())?,
        to_port: opt(u, |u| u.arbitrary())?,
        extra: extras(u)?,
    })
}

fn gen_udp_header(u: &mut Unstructured<'_>) -> ArbResult<UdpHeader<'static>> {
    Ok(UdpHeader {
        version: version(u)?,
        id: session_id(u)?,
        destination: peer_destination(u)?,
        from_port: opt(u, |u| u.arbitrary())?,
        to_port: opt(u, |u| u.arbitrary())?,
        protocol: opt(u, |u| u.arbitrary())?,
        extra: extras(u)?,
    })
}

/// Encodes `value` for 3.1 and 3.3 after `prefix`: a refusal leaves the buffer alone; 3.1
/// succeeding implies 3.3 writes the same line; every line parses back to `value`.
macro_rules! check_round_trip {
    ($value:expr, $prefix:expr, $is_command:expr, $parse:path) => {{
        let value = $value;
        let e31 = encode_after($prefix, $is_command, |out| value.encode(Version::V3_1, out));
        let e33 = encode_after($prefix, $is_command, |out| value.encode(Version::V3_3, out));
        if let Ok(b31) = &e31 {
            assert_eq!(
                e33.as_ref().ok(),
                Some(b31),
                "3.1 encoding accepted but 3.3 differs for {value:?}"
            );
        }
        for bytes in [e31, e33].iter().flatten() {
            let back = $parse(bytes).unwrap_or_else(|e| {
                panic!("{value:?} encoded as {} does not parse: {e}", show(bytes))
            });
            assert_eq!(&back, value, "round trip via {}", show(bytes));
        }
    }};
}

/// Up to 8 structured messages (commands, replies, peer lines, UDP and RAW headers), each
/// encoded for SAM 3.1 and 3.3 after an arbitrary prefix and parsed back.
pub fn roundtrip(data: &[u8]) {
    let mut u = Unstructured::new(data);
    let Ok(prefix_len) = u.int_in_range(0..=3) else {
        return;
    };
    let Ok(prefix) = u.bytes(prefix_len).map(<[u8]>::to_vec) else {
        return;
    };
    for _ in 0..8 {
        if u.is_empty() {
            return;
        }
        let Ok(which) = u.int_in_range(0u8..=4) else {
            return;
        };
        let done = match which {
            0 => gen_command(&mut u).map(|c| {
                check_round_trip!(&c, &prefix, true, Command::parse);
            }),
            1 => gen_reply(&mut u).map(|r| {
                check_round_trip!(&r, &prefix, false, Reply::parse);
            }),
            2 => gen_peer_line(&mut u).map(|p| {
                check_round_trip!(&p, &prefix, false, PeerLine::parse);
            }),
            3 => gen_udp_header(&mut u).and_then(|h| {
                let len = u.int_in_range(0..=8)?;
                let payload = u.bytes(len)?;
                check_udp_round_trip(&h, payload, &prefix);
                Ok(())
            }),
            _ => (|| -> ArbResult<()> {
                let h = RawHeader {
                    protocol: opt(&mut u, |u| u.arbitrary())?,
                    from_port: opt(&mut u, |u| u.arbitrary())?,
                    to_port: opt(&mut u, |u| u.arbitrary())?,
                };
                let len = u.int_in_range(0..=8)?;
                let payload = u.bytes(len)?;
                let mut out = prefix.clone();
                h.encode_with_payload(payload, &mut out)
                    .unwrap_or_else(|e| panic!("{h:?} refused: {e}"));
                let (back, p) = RawHeader::parse_packet(&out[prefix.len()..])
                    .unwrap_or_else(|e| panic!("{h:?} does not parse back: {e}"));
                assert_eq!((back, p), (h, payload), "RAW header round trip");
                Ok(())
            })(),
        };
        if done.is_err() {
            return;
        }
    }
}

fn check_udp_round_trip(h: &UdpHeader<'_>, payload: &[u8], prefix: &[u8]) {
    let mut out = prefix.to_vec();
    match h.encode_with_payload(payload, &mut out) {
        Err(_) => assert_eq!(out, prefix, "a failed UDP encode changed the buffer"),
        Ok(()) => {
            let packet = &out[prefix.len()..];
            assert!(packet.ends_with(payload));
            let line = &packet[..packet.len() - payload.len()];
            check_wire_line(line, true);
            let (back, p) = UdpHeader::parse_packet(packet).unwrap_or_else(|e| {
                panic!("{h:?} encoded as {} does not parse: {e}", show(packet))
            });
            assert_eq!(&back, h, "UDP header round trip via {}", show(line));
            assert_eq!(p, payload);
        }
    }
}
