//! The adapters' `tracing` feature against the scripted bridge: a session with known private
//! keys, a fake password in its options and a bridge password, then a bridge `PING`, a lookup
//! on the session, a connect, an accept, a lookup on a socket of its own, one that times out,
//! and a close with `QUIT`. Everything traced at TRACE level is captured (a subscriber of this
//! file, the global default) and checked: the spans and events are there, and neither the
//! private keys (no 20 characters of their base64) nor a password appears anywhere.

use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt::{self, Write as _};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use sam_proto::client::{SamConfig, SessionOptions};
use sam_proto::keys::{Destination, PrivateKeys};
use sam_testkit::hostile::{
    guard, naming_ok, peer, peer_line, ping, stream_ok, HostileBridge, Kind, Script,
};
use sam_testkit::keys::REFERENCE_PRIV;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Metadata, Subscriber};

/// The option values and the bridge password the traces must never show.
const SECRET: &str = "SECRETSECRET";

// ---------------------------------------------------------------------------------------------
// The capturing subscriber
// ---------------------------------------------------------------------------------------------

/// Every span (`SPAN name{fields}`) and event (`EVENT LEVEL [spans it is in] fields`), as text.
static LOG: Mutex<Vec<String>> = Mutex::new(Vec::new());

thread_local! {
    /// The spans this thread is in, innermost last.
    static ENTERED: RefCell<Vec<u64>> = const { RefCell::new(Vec::new()) };
}

#[derive(Default)]
struct Capture {
    next: AtomicU64,
    spans: Mutex<HashMap<u64, String>>,
}

struct Fields<'a>(&'a mut String);

impl Visit for Fields<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        let _ = write!(self.0, " {}={value:?}", field.name());
    }
}

impl Subscriber for Capture {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }
    fn max_level_hint(&self) -> Option<tracing::level_filters::LevelFilter> {
        Some(tracing::level_filters::LevelFilter::TRACE)
    }
    fn new_span(&self, span: &Attributes<'_>) -> Id {
        let id = 1 + self.next.fetch_add(1, Ordering::Relaxed);
        let mut text = format!("{}{{", span.metadata().name());
        span.record(&mut Fields(&mut text));
        text.push('}');
        LOG.lock().unwrap().push(format!("SPAN {text}"));
        self.spans.lock().unwrap().insert(id, text);
        Id::from_u64(id)
    }
    fn record(&self, span: &Id, values: &Record<'_>) {
        let mut text = String::new();
        values.record(&mut Fields(&mut text));
        LOG.lock()
            .unwrap()
            .push(format!("RECORD {}{text}", span.into_u64()));
        if let Some(known) = self.spans.lock().unwrap().get_mut(&span.into_u64()) {
            known.push_str(&text);
        }
    }
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, event: &Event<'_>) {
        let spans = self.spans.lock().unwrap();
        let within: Vec<&str> = ENTERED.with(|entered| {
            (entered.borrow().iter())
                .filter_map(|id| spans.get(id).map(String::as_str))
                .collect::<Vec<_>>()
                .into_iter()
                .collect()
        });
        let meta = event.metadata();
        let mut text = format!("EVENT {} [{}]", meta.level(), within.join(" > "));
        event.record(&mut Fields(&mut text));
        LOG.lock().unwrap().push(text);
    }
    fn enter(&self, span: &Id) {
        ENTERED.with(|entered| entered.borrow_mut().push(span.into_u64()));
    }
    fn exit(&self, span: &Id) {
        ENTERED.with(|entered| {
            let mut entered = entered.borrow_mut();
            if let Some(at) = entered.iter().rposition(|id| *id == span.into_u64()) {
                entered.remove(at);
            }
        });
    }
}

fn capture() {
    static INSTALLED: OnceLock<()> = OnceLock::new();
    INSTALLED.get_or_init(|| {
        tracing::subscriber::set_global_default(Capture::default())
            .expect("the only subscriber of this test binary");
    });
}

fn captured() -> Vec<String> {
    LOG.lock().unwrap().clone()
}

// ---------------------------------------------------------------------------------------------
// The scenario, the same for every adapter
// ---------------------------------------------------------------------------------------------

/// The scripted bridge, the session's options and the two configurations of one adapter's run.
struct Setup {
    bridge: HostileBridge,
    keys: PrivateKeys,
    /// The peer connected to (by its base64 destination) and accepted from.
    peer: Destination,
    /// With a bridge password.
    config: SamConfig,
    /// Also with a short lookup timeout (for the lookup the bridge never answers).
    short: SamConfig,
    options: SessionOptions,
    id: String,
}

fn setup(adapter: &str) -> Setup {
    capture();
    let keys = PrivateKeys::from_base64(REFERENCE_PRIV.trim()).expect("the reference keys");
    let peer = peer(90);
    let id = format!("trace-{adapter}");
    let bridge = HostileBridge::start(vec![
        // 0: the control socket: SESSION CREATE, a bridge PING, a lookup, QUIT.
        Script::new()
            .session("3.2", &keys)
            .send(ping("1700000000000"))
            .expect(Kind::NamingLookup)
            .send(naming_ok(&format!("{adapter}-on-session.i2p"), &peer))
            .expect(Kind::Quit)
            .close(),
        // 1: STREAM CONNECT.
        Script::new()
            .hello("3.2")
            .expect(Kind::StreamConnect)
            .send(stream_ok())
            .close(),
        // 2: STREAM ACCEPT.
        Script::new()
            .hello("3.2")
            .expect(Kind::StreamAccept)
            .send(stream_ok())
            .send(peer_line(&peer, None, None))
            .close(),
        // 3: NAMING LOOKUP on a socket of its own.
        Script::new()
            .hello("3.2")
            .expect(Kind::NamingLookup)
            .send(naming_ok(&format!("{adapter}-alone.i2p"), &peer)),
        // 4: NAMING LOOKUP never answered.
        Script::new().hello("3.2").expect(Kind::NamingLookup).hold(),
    ]);
    let mut config = bridge.config();
    config.user = Some("tracer".to_owned());
    config.password = Some(format!("{SECRET}-HELLO"));
    let mut short = config.clone();
    short.lookup_timeout = Duration::from_millis(300);
    let options = SessionOptions::default()
        .with_keys(keys.clone())
        .with_id(id.clone())
        .option("i2cp.leaseSetPrivKey", SECRET)
        .option("i2cp.leaseSetSecret", format!("{SECRET}-2"))
        .option("i2cp.password", format!("{SECRET}-3"));
    for debug in [format!("{options:?}"), format!("{config:?}")] {
        assert!(!debug.contains(SECRET), "Debug shows a secret: {debug}");
        assert_no_key(&debug, &keys);
    }
    Setup {
        bridge,
        keys,
        peer,
        config,
        short,
        options,
        id,
    }
}

/// No 20 characters in a row of the private keys' base64 in `text`.
fn assert_no_key(text: &str, keys: &PrivateKeys) {
    let blob = keys.to_base64();
    let bytes = blob.as_bytes();
    for start in 0..=bytes.len() - 20 {
        let piece = &blob[start..start + 20];
        assert!(
            !text.contains(piece),
            "20 characters of the private keys ({piece}, at {start}) in: {text}"
        );
    }
}

/// The first captured line with all of `parts`, or a failure that lists what was captured.
#[track_caller]
fn line_with(lines: &[String], parts: &[&str]) -> String {
    match lines.iter().find(|l| parts.iter().all(|p| l.contains(p))) {
        Some(line) => line.clone(),
        None => panic!(
            "no traced line with {parts:?}; captured:\n{}",
            lines.join("\n")
        ),
    }
}

/// What the run of `adapter` must have traced, and what no trace may hold.
fn check(adapter: &str, setup: &Setup) {
    let lines = captured();
    let id = setup.id.as_str();
    let b32 = setup.peer.b32_address().to_string();
    line_with(&lines, &["SPAN session_create{", id, "STREAM", "bridge="]);
    line_with(&lines, &["SPAN session{", id, "version=3.2"]);
    line_with(&lines, &["SPAN stream_connect{", id, &b32]);
    line_with(&lines, &["SPAN stream_accept{", id]);
    line_with(
        &lines,
        &["SPAN naming_lookup{", &format!("{adapter}-alone.i2p")],
    );
    line_with(
        &lines,
        &["EVENT DEBUG [session{", id, "bridge PING answered"],
    );
    let on_session = format!("{adapter}-on-session.i2p");
    line_with(
        &lines,
        &[
            "EVENT DEBUG [session{",
            id,
            "NAMING LOOKUP sent",
            &on_session,
        ],
    );
    line_with(&lines, &["EVENT DEBUG [session{", id, "QUIT sent"]);
    line_with(
        &lines,
        &[
            "EVENT DEBUG [session{",
            id,
            "closing the session",
            "close()",
        ],
    );
    line_with(
        &lines,
        &[
            "EVENT DEBUG [session{",
            id,
            "session closed",
            "QUIT answered",
        ],
    );
    let never = format!("{adapter}-never.i2p");
    let timeout = line_with(&lines, &["EVENT WARN [naming_lookup{", &never, "in time"]);
    assert!(
        timeout.contains("NAMING LOOKUP") && timeout.contains("300ms"),
        "{timeout}"
    );
    // The peer's base64 destination shows as its b32 address only.
    let all = lines.join("\n");
    assert!(
        !all.contains(&setup.peer.to_base64()[..40]),
        "a base64 destination in the traces"
    );
    assert!(!all.contains(SECRET), "a password in the traces:\n{all}");
    assert_no_key(&all, &setup.keys);
    assert!(
        setup.bridge.violations().is_empty(),
        "{:?}",
        setup.bridge.violations()
    );
}

/// The scenario, written once: `$sam` is the adapter, `$name` its name in the bridge's script,
/// and `$($aw)*` what follows each call (`.await` in the async adapters, nothing in
/// sam-blocking).
macro_rules! scenario {
    ($sam:ident, $name:literal, $setup:ident $(, $aw:tt)*) => {{
        let sam = $sam::Sam::new($setup.config.clone());
        let session = sam.session($setup.options.clone()) $(.$aw)* .expect("session");
        assert!(!format!("{session:?}").contains(SECRET));
        let on_session = session.lookup(concat!($name, "-on-session.i2p")) $(.$aw)*;
        assert_eq!(on_session.expect("lookup"), $setup.peer);
        let connected = session.connect($setup.peer.to_base64().as_str()) $(.$aw)*;
        let _stream = connected.expect("connect");
        let incoming = session.accept() $(.$aw)* .expect("accept");
        assert_eq!(incoming.peer.as_ref(), Some(&$setup.peer));
        let alone = sam.lookup(concat!($name, "-alone.i2p")) $(.$aw)*;
        assert_eq!(alone.expect("lookup"), $setup.peer);
        let short = $sam::Sam::new($setup.short.clone());
        short.lookup(concat!($name, "-never.i2p")) $(.$aw)* .expect_err("no answer");
        session.close() $(.$aw)*;
        assert!(session.is_closed());
    }};
}

#[test]
fn tokio_traces_the_session_and_never_a_key_or_a_password() {
    guard(|| {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .unwrap();
        let setup = setup("tokio");
        rt.block_on(async { scenario!(sam_tokio, "tokio", setup, await) });
        check("tokio", &setup);
    });
}

#[test]
fn blocking_traces_the_session_and_never_a_key_or_a_password() {
    guard(|| {
        let setup = setup("blocking");
        scenario!(sam_blocking, "blocking", setup);
        check("blocking", &setup);
    });
}

#[test]
fn async_std_traces_the_session_and_never_a_key_or_a_password() {
    guard(|| {
        let setup = setup("async_std");
        async_std::task::block_on(async { scenario!(sam_async_std, "async_std", setup, await) });
        check("async_std", &setup);
    });
}
