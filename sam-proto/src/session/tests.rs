//! Every decision of the client core, with a fake clock and canned bytes (no sockets).

use alloc::string::String;
use alloc::vec::Vec;
use core::time::Duration;

use super::*;
use crate::client::{DatagramDelivery, SessionOptions, Style, SubsessionOptions};
use crate::command::{Ping, StreamConnect};
use crate::control::{Completion, ControlCommand};
use crate::result::ResultCode;
use crate::types::Version;

const PRIV: &str = include_str!("../../tests/data/priv908.txt");
const SECOND: Duration = Duration::from_secs(1);

fn config() -> SamConfig {
    SamConfig::default()
}

fn at(secs: u64) -> Time {
    Duration::from_secs(secs)
}

/// Drives a call until it wants to read; returns what it wrote.
fn pump_call<R: crate::exchange::Request>(call: &mut Call<R>) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        match call.poll() {
            CallStep::Connect => call.connected(true),
            CallStep::Send(bytes) => out.extend_from_slice(bytes),
            CallStep::Recv | CallStep::Done => return out,
        }
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

// ------------------------------------------------------------------------------ Call timeouts

#[test]
fn call_connect_and_hello_share_connect_timeout_from_the_start() {
    let cfg = config();
    let mut call = Call::new(&cfg, Operation::Lookup, NamingLookup::new("x.i2p"), at(100)).unwrap();
    assert_eq!(call.poll(), CallStep::Connect);
    assert_eq!(call.poll_timeout(), Some(at(100) + cfg.connect_timeout));
    // Connecting does not restart the clock: TCP connect + HELLO are one budget.
    call.connected(true);
    assert_eq!(call.poll_timeout(), Some(at(100) + cfg.connect_timeout));
    call.handle_timeout(at(100) + cfg.connect_timeout - SECOND);
    assert!(call.failure().is_none());
    call.handle_timeout(at(100) + cfg.connect_timeout);
    assert_eq!(call.poll(), CallStep::Done);
    assert_eq!(
        call.finish().unwrap_err(),
        Failure::Timeout {
            operation: "HELLO VERSION",
            after: cfg.connect_timeout
        }
    );
}

#[test]
fn call_tcp_connect_timeout_is_named_as_such() {
    let cfg = config();
    let mut call = Call::new(&cfg, Operation::Lookup, NamingLookup::new("x"), at(0)).unwrap();
    call.handle_timeout(cfg.connect_timeout);
    assert!(matches!(
        call.finish(),
        Err(Failure::Timeout {
            operation: "TCP connect to the SAM bridge",
            ..
        })
    ));
}

#[test]
fn call_command_timeout_counts_from_the_end_of_hello() {
    let cfg = config();
    let mut call = Call::new(&cfg, Operation::Lookup, NamingLookup::new("x"), at(0)).unwrap();
    pump_call(&mut call);
    // HELLO answered 3 s in: the lookup's own timeout starts there.
    call.feed(b"HELLO REPLY RESULT=OK VERSION=3.1\n", at(3));
    assert_eq!(text(&pump_call(&mut call)), "NAMING LOOKUP NAME=x\n");
    assert_eq!(call.poll_timeout(), Some(at(3) + cfg.lookup_timeout));
    call.handle_timeout(at(3) + cfg.lookup_timeout);
    assert_eq!(
        call.finish().unwrap_err(),
        Failure::Timeout {
            operation: "NAMING LOOKUP",
            after: cfg.lookup_timeout
        }
    );
}

#[test]
fn each_operation_has_its_documented_timeout() {
    let cfg = config();
    let cases = [
        (Operation::DestGenerate, Some(cfg.connect_timeout)),
        (Operation::Ping, Some(cfg.connect_timeout)),
        (Operation::Lookup, Some(cfg.lookup_timeout)),
        (Operation::SessionCreate, Some(cfg.session_timeout)),
        (Operation::SessionAdd, Some(cfg.session_timeout)),
        (Operation::SessionRemove, Some(cfg.session_timeout)),
        (Operation::StreamConnect, Some(cfg.stream_timeout)),
        (Operation::StreamForward, Some(cfg.stream_timeout)),
        (Operation::StreamAccept, None),
        (Operation::Quit, Some(crate::client::QUIT_WAIT)),
    ];
    for (operation, timeout) in cases {
        assert_eq!(operation.timeout(&cfg), timeout, "{operation:?}");
    }
}

#[test]
fn accept_waits_for_ever_after_hello() {
    let cfg = config();
    let info = created_stream_session();
    let mut call = info.accept(&cfg, at(0)).unwrap();
    pump_call(&mut call);
    call.feed(b"HELLO REPLY RESULT=OK VERSION=3.1\n", at(1));
    pump_call(&mut call);
    assert_eq!(call.poll_timeout(), None);
    call.handle_timeout(Duration::MAX);
    assert_eq!(call.poll(), CallStep::Recv);
}

#[test]
fn a_timeout_too_long_to_add_never_fires() {
    let mut cfg = config();
    cfg.connect_timeout = Duration::MAX;
    let call = Call::new(&cfg, Operation::Lookup, NamingLookup::new("x"), at(5)).unwrap();
    assert_eq!(call.poll_timeout(), None);
}

// ------------------------------------------------------------------------- Call outcomes

#[test]
fn call_refuses_unwritable_values_before_connecting() {
    let cfg = config();
    let bad = NamingLookup::new("evil\nSESSION CREATE");
    let e = Call::new(&cfg, Operation::Lookup, bad, at(0)).unwrap_err();
    assert!(
        matches!(
            e,
            Failure::Protocol {
                operation: "NAMING LOOKUP",
                ..
            }
        ),
        "{e:?}"
    );
    let mut cfg = config();
    cfg.user = Some(String::from("a b\n"));
    let e = Call::new(&cfg, Operation::Lookup, NamingLookup::new("x"), at(0)).unwrap_err();
    assert!(
        matches!(
            e,
            Failure::Protocol {
                operation: "HELLO VERSION",
                ..
            }
        ),
        "{e:?}"
    );
}

#[test]
fn call_reports_a_refusal_once_and_keeps_stream_bytes() {
    let cfg = config();
    let info = created_stream_session();
    let mut call = info
        .connect(&cfg, "peer.i2p", Default::default(), at(0))
        .unwrap();
    pump_call(&mut call);
    let reply = b"HELLO REPLY RESULT=OK VERSION=3.1\n";
    assert_eq!(call.feed(reply, at(0)), reply.len());
    assert!(text(&pump_call(&mut call)).starts_with("STREAM CONNECT ID="));
    let input = b"STREAM STATUS RESULT=OK\nfirst bytes";
    let used = call.feed(input, at(1));
    assert_eq!(&input[used..], b"first bytes");
    assert_eq!(call.poll(), CallStep::Done);
    call.finish().unwrap();

    let mut call = info
        .connect(&cfg, "peer.i2p", Default::default(), at(0))
        .unwrap();
    pump_call(&mut call);
    call.feed(reply, at(0));
    pump_call(&mut call);
    call.feed(
        b"STREAM STATUS RESULT=CANT_REACH_PEER MESSAGE=gone\n",
        at(1),
    );
    assert_eq!(call.poll(), CallStep::Done);
    match call.finish() {
        Err(Failure::Protocol {
            operation: "STREAM CONNECT",
            error: crate::Error::Refused { result, .. },
        }) => assert_eq!(result, ResultCode::CantReachPeer),
        other => panic!("{other:?}"),
    }
}

#[test]
fn call_eof_during_hello_and_during_the_command() {
    let cfg = config();
    let mut call = Call::new(&cfg, Operation::Lookup, NamingLookup::new("x"), at(0)).unwrap();
    pump_call(&mut call);
    call.eof();
    assert!(matches!(
        call.finish(),
        Err(Failure::Protocol {
            operation: "HELLO VERSION",
            error: crate::Error::Eof { .. }
        })
    ));
    let mut call = Call::new(&cfg, Operation::Lookup, NamingLookup::new("x"), at(0)).unwrap();
    pump_call(&mut call);
    call.feed(b"HELLO REPLY RESULT=OK VERSION=3.1\n", at(0));
    pump_call(&mut call);
    call.eof();
    assert!(matches!(
        call.finish(),
        Err(Failure::Protocol {
            operation: "NAMING LOOKUP",
            error: crate::Error::Eof { .. }
        })
    ));
}

#[test]
fn exchange_reports_an_error_once() {
    use crate::exchange::{Exchange, Step, REPORTED};
    let mut ex = Exchange::new(NamingLookup::new("x")).unwrap();
    assert!(matches!(ex.poll(), Step::Send(_)));
    assert_eq!(ex.poll(), Step::Recv);
    assert!(ex
        .feed(b"NAMING REPLY RESULT=KEY_NOT_FOUND NAME=x\n")
        .is_err());
    assert_eq!(ex.poll(), Step::Done);
    assert_eq!(ex.finish(), Err(crate::Error::Misuse(REPORTED)));
}

#[test]
fn ping_on_its_own_socket_needs_3_2() {
    let cfg = config();
    let ping = Ping {
        text: Some("abc".into()),
    };
    let mut call = Call::new(&cfg, Operation::Ping, ping, at(0)).unwrap();
    pump_call(&mut call);
    call.feed(b"HELLO REPLY RESULT=OK VERSION=3.1\n", at(0));
    // Nothing but HELLO is written to a 3.1 bridge.
    assert_eq!(pump_call(&mut call), b"");
    assert!(matches!(
        call.finish(),
        Err(Failure::Protocol {
            operation: "PING",
            error: crate::Error::NeedsVersion { .. }
        })
    ));
}

// ---------------------------------------------------------------------------- SessionSetup

fn session_status() -> String {
    alloc::format!("SESSION STATUS RESULT=OK DESTINATION={}\n", PRIV.trim())
}

fn created_stream_session() -> SessionInfo {
    let cfg = config();
    let options = SessionOptions::new(Style::Stream).with_id("s1");
    let mut setup = SessionSetup::new(&cfg, &options, 1, at(0)).unwrap();
    drive_setup(
        &mut setup,
        &[
            b"HELLO REPLY RESULT=OK VERSION=3.1\n",
            session_status().as_bytes(),
        ],
    );
    setup.finish().unwrap()
}

/// Runs a setup against canned replies, one per `Recv`; returns what it wrote per socket.
fn drive_setup(setup: &mut SessionSetup, replies: &[&[u8]]) -> Vec<String> {
    let mut sockets: Vec<String> = Vec::new();
    let mut replies = replies.iter();
    loop {
        if setup.wants_udp() {
            setup.udp_bound(String::from("127.0.0.1"), 40000);
        }
        match setup.poll(at(0)) {
            CallStep::Connect => {
                sockets.push(String::new());
                setup.connected(true);
            }
            CallStep::Send(bytes) => match sockets.last_mut() {
                Some(socket) => socket.push_str(&text(bytes)),
                // Connected by the test before this helper ran.
                None => sockets.push(text(bytes)),
            },
            CallStep::Recv => match replies.next() {
                // An empty read: the bridge closed the socket.
                Some(reply) if !reply.is_empty() => {
                    setup.feed(reply, at(1));
                }
                _ => setup.eof(),
            },
            CallStep::Done => return sockets,
        }
    }
}

#[test]
fn setup_checks_options_before_any_socket() {
    let cfg = config();
    let options = SessionOptions::new(Style::Stream).option("bad key", "x");
    assert!(SessionSetup::new(&cfg, &options, 1, at(0)).is_err());
    let options = SessionOptions::new(Style::Stream).option("inbound.length", "1\nQUIT");
    assert!(SessionSetup::new(&cfg, &options, 1, at(0)).is_err());
    let options = SessionOptions::new(Style::Stream).with_id("two words");
    assert!(SessionSetup::new(&cfg, &options, 1, at(0)).is_err());
}

#[test]
fn setup_binds_udp_for_datagram_sessions_and_sends_host_and_port() {
    let cfg = config();
    let mut options = SessionOptions::new(Style::Datagram).with_id("dg");
    options.datagram_delivery = DatagramDelivery::Udp;
    let mut setup = SessionSetup::new(&cfg, &options, 1, at(0)).unwrap();
    assert_eq!(setup.poll(at(0)), CallStep::Connect);
    assert!(!setup.wants_udp());
    setup.connected(true);
    assert!(setup.wants_udp());
    let status = session_status();
    let wrote = drive_setup(
        &mut setup,
        &[b"HELLO REPLY RESULT=OK VERSION=3.1\n", status.as_bytes()],
    );
    assert!(
        wrote[0].contains(" PORT=40000 HOST=127.0.0.1 "),
        "{wrote:?}"
    );
    let info = setup.finish().unwrap();
    assert_eq!(info.style(), Style::Datagram);
    assert_eq!(info.id().as_str(), "dg");
    // Stream sessions never ask for UDP.
    let mut setup = SessionSetup::new(&cfg, &SessionOptions::new(Style::Stream), 1, at(0)).unwrap();
    setup.connected(true);
    assert!(!setup.wants_udp());
    assert_eq!(
        setup.poll(at(0)),
        CallStep::Send(b"HELLO VERSION MIN=3.1 MAX=3.3\n")
    );
}

#[test]
fn datagrams_go_to_the_control_socket_by_default_and_fall_back_to_udp_on_a_silent_close() {
    let cfg = config();
    let status = session_status();
    let options = SessionOptions::new(Style::Datagram).with_id("dg");
    // A bridge that answers: the control socket it is, no HOST/PORT sent.
    let mut setup = SessionSetup::new(&cfg, &options, 1, at(0)).unwrap();
    let wrote = drive_setup(
        &mut setup,
        &[b"HELLO REPLY RESULT=OK VERSION=3.3\n", status.as_bytes()],
    );
    assert_eq!(wrote.len(), 1);
    assert!(
        !wrote[0].contains("PORT=") && !wrote[0].contains("HOST="),
        "{wrote:?}"
    );
    let info = setup.finish().unwrap();
    assert_eq!(info.datagram_delivery(), DatagramDelivery::ControlSocket);
    // emissary 0.4: the create is closed unanswered; again on a new socket, with HOST/PORT.
    let mut setup = SessionSetup::new(&cfg, &options, 1, at(0)).unwrap();
    let wrote = drive_setup(
        &mut setup,
        &[
            b"HELLO REPLY RESULT=OK VERSION=3.2\n",
            b"",
            b"HELLO REPLY RESULT=OK VERSION=3.2\n",
            status.as_bytes(),
        ],
    );
    assert_eq!(wrote.len(), 2, "{wrote:?}");
    assert!(
        wrote[1].contains(" PORT=40000 HOST=127.0.0.1 "),
        "{wrote:?}"
    );
    assert_eq!(
        setup.finish().unwrap().datagram_delivery(),
        DatagramDelivery::Udp
    );
    // Asked for the control socket only: no second try. A refusal is no reason either.
    let mut only = options.clone();
    only.datagram_delivery = DatagramDelivery::ControlSocket;
    let mut setup = SessionSetup::new(&cfg, &only, 1, at(0)).unwrap();
    let wrote = drive_setup(&mut setup, &[b"HELLO REPLY RESULT=OK VERSION=3.2\n", b""]);
    assert_eq!(wrote.len(), 1);
    assert!(setup.finish().is_err());
    let mut setup = SessionSetup::new(&cfg, &options, 1, at(0)).unwrap();
    let refused: &[&[u8]] = &[
        b"HELLO REPLY RESULT=OK VERSION=3.2\n",
        b"SESSION STATUS RESULT=I2P_ERROR\n",
    ];
    assert_eq!(drive_setup(&mut setup, refused).len(), 1);
    assert!(setup.finish().is_err());
}

#[test]
fn setup_retries_a_refused_primary_as_master_on_a_new_socket() {
    let cfg = config();
    let options = SessionOptions::new(Style::Primary).with_id("p");
    let mut setup = SessionSetup::new(&cfg, &options, 1, at(0)).unwrap();
    let status = session_status();
    let wrote = drive_setup(
        &mut setup,
        &[
            b"HELLO REPLY RESULT=OK VERSION=3.3\n",
            b"SESSION STATUS RESULT=I2P_ERROR MESSAGE=\"Unknown STYLE\"\n",
            b"HELLO REPLY RESULT=OK VERSION=3.3\n",
            status.as_bytes(),
        ],
    );
    assert_eq!(wrote.len(), 2, "{wrote:?}");
    assert!(wrote[0].contains("STYLE=PRIMARY"));
    assert!(wrote[1].contains("STYLE=MASTER"));
    assert_eq!(setup.finish().unwrap().version(), Version::V3_3);
}

#[test]
fn setup_does_not_retry_other_refusals_or_twice() {
    let cfg = config();
    let options = SessionOptions::new(Style::Primary).with_id("p");
    let mut setup = SessionSetup::new(&cfg, &options, 1, at(0)).unwrap();
    let wrote = drive_setup(
        &mut setup,
        &[
            b"HELLO REPLY RESULT=OK VERSION=3.3\n",
            b"SESSION STATUS RESULT=I2P_ERROR\n",
            b"HELLO REPLY RESULT=OK VERSION=3.3\n",
            b"SESSION STATUS RESULT=I2P_ERROR\n",
        ],
    );
    assert_eq!(wrote.len(), 2);
    assert!(setup.finish().is_err());
    let options = SessionOptions::new(Style::Stream).with_id("s");
    let mut setup = SessionSetup::new(&cfg, &options, 1, at(0)).unwrap();
    let wrote = drive_setup(
        &mut setup,
        &[
            b"HELLO REPLY RESULT=OK VERSION=3.3\n",
            b"SESSION STATUS RESULT=DUPLICATED_ID\n",
        ],
    );
    assert_eq!(wrote.len(), 1);
    assert!(matches!(
        setup.finish(),
        Err(Failure::Protocol {
            operation: "SESSION CREATE",
            ..
        })
    ));
}

#[test]
fn setup_times_out_after_session_timeout_from_hello() {
    let cfg = config();
    let mut setup = SessionSetup::new(&cfg, &SessionOptions::new(Style::Stream), 1, at(0)).unwrap();
    assert_eq!(setup.poll(at(0)), CallStep::Connect);
    setup.connected(true);
    while let CallStep::Send(_) = setup.poll(at(0)) {}
    setup.feed(b"HELLO REPLY RESULT=OK VERSION=3.1\n", at(2));
    while let CallStep::Send(_) = setup.poll(at(2)) {}
    assert_eq!(setup.poll_timeout(), Some(at(2) + cfg.session_timeout));
    setup.handle_timeout(at(2) + cfg.session_timeout);
    assert_eq!(setup.poll(at(200)), CallStep::Done);
    assert!(matches!(
        setup.finish(),
        Err(Failure::Timeout {
            operation: "SESSION CREATE",
            ..
        })
    ));
}

#[test]
fn subsessions_need_primary() {
    let info = created_stream_session();
    let sub = SubsessionOptions::new(Style::Stream, "sub");
    assert!(matches!(
        info.check_add(&sub),
        Err(Failure::InvalidInput(_))
    ));
    assert!(matches!(
        info.check_datagrams(),
        Err(Failure::InvalidInput(_))
    ));
}

// ---------------------------------------------------------------------------- SessionCore

fn core(version: Version) -> SessionCore {
    SessionCore::new(&config(), version)
}

fn drain(core: &mut SessionCore) -> String {
    let mut out = String::new();
    while let Some(bytes) = core.poll_transmit() {
        out.push_str(&text(bytes));
    }
    out
}

fn events(core: &mut SessionCore) -> Vec<SessionEvent> {
    core::iter::from_fn(|| core.poll_event()).collect()
}

fn lookup_reply(name: &str) -> String {
    let dest = crate::keys::PrivateKeys::from_base64(PRIV.trim())
        .unwrap()
        .destination()
        .to_base64();
    alloc::format!("NAMING REPLY RESULT=OK NAME={name} VALUE={dest}\n")
}

#[test]
fn one_command_in_flight_the_rest_queued_and_completions_keyed_by_id() {
    let mut c = core(Version::V3_1);
    let a = c.submit(SessionInfo::lookup("a.i2p"), at(0)).unwrap();
    let b = c.submit(SessionInfo::lookup("b.i2p"), at(0)).unwrap();
    assert_ne!(a, b);
    assert_eq!(drain(&mut c), "NAMING LOOKUP NAME=a.i2p\n");
    c.feed(lookup_reply("a.i2p").as_bytes());
    match events(&mut c).as_slice() {
        [SessionEvent::Completed(id, Ok(Completion::Lookup(_)))] => assert_eq!(*id, a),
        other => panic!("{other:?}"),
    }
    assert_eq!(drain(&mut c), "NAMING LOOKUP NAME=b.i2p\n");
    c.feed(b"NAMING REPLY RESULT=KEY_NOT_FOUND NAME=b.i2p\n");
    match events(&mut c).as_slice() {
        [SessionEvent::Completed(id, Err(Failure::Protocol { operation, .. }))] => {
            assert_eq!((*id, *operation), (b, "NAMING LOOKUP"));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn cancel_drops_a_queued_command_and_discards_a_late_answer() {
    let mut c = core(Version::V3_1);
    let a = c.submit(SessionInfo::lookup("a.i2p"), at(0)).unwrap();
    let b = c.submit(SessionInfo::lookup("b.i2p"), at(0)).unwrap();
    let z = c.submit(SessionInfo::lookup("z.i2p"), at(0)).unwrap();
    assert_eq!(drain(&mut c), "NAMING LOOKUP NAME=a.i2p\n");
    c.cancel(a); // in flight: its answer will be read and dropped
    c.cancel(b); // queued: never sent
    assert_eq!(drain(&mut c), "");
    c.feed(lookup_reply("a.i2p").as_bytes());
    assert_eq!(events(&mut c), []);
    assert_eq!(drain(&mut c), "NAMING LOOKUP NAME=z.i2p\n");
    c.feed(lookup_reply("z.i2p").as_bytes());
    assert!(matches!(events(&mut c).as_slice(), [SessionEvent::Completed(id, Ok(_))] if *id == z));
}

#[test]
fn timeouts_in_the_queue_and_in_flight() {
    let cfg = config();
    let mut c = core(Version::V3_1);
    let a = c.submit(SessionInfo::lookup("a.i2p"), at(0)).unwrap();
    drain(&mut c);
    let b = c.submit(SessionInfo::lookup("b.i2p"), at(10)).unwrap();
    assert_eq!(c.poll_timeout(), Some(cfg.lookup_timeout));
    c.handle_timeout(cfg.lookup_timeout);
    match events(&mut c).as_slice() {
        [SessionEvent::Completed(id, Err(Failure::Timeout { operation, after }))] => {
            assert_eq!(
                (*id, *operation, *after),
                (a, "NAMING LOOKUP", cfg.lookup_timeout)
            );
        }
        other => panic!("{other:?}"),
    }
    // `b` waits behind the abandoned lookup, inside its own timeout.
    assert_eq!(drain(&mut c), "");
    assert_eq!(c.poll_timeout(), Some(at(10) + cfg.lookup_timeout));
    // The late answer is read and dropped; then `b` goes out.
    c.feed(lookup_reply("a.i2p").as_bytes());
    assert_eq!(events(&mut c), []);
    assert_eq!(drain(&mut c), "NAMING LOOKUP NAME=b.i2p\n");
    c.handle_timeout(at(10) + cfg.lookup_timeout);
    assert!(matches!(
        events(&mut c).as_slice(),
        [SessionEvent::Completed(id, Err(Failure::Timeout { .. }))] if *id == b
    ));
}

#[test]
fn close_below_3_2_is_immediate_and_sends_no_quit() {
    let mut c = core(Version::V3_1);
    let a = c.submit(SessionInfo::lookup("a.i2p"), at(0)).unwrap();
    drain(&mut c);
    c.close(at(1));
    assert_eq!(drain(&mut c), "");
    assert_eq!(
        events(&mut c),
        [
            SessionEvent::Completed(a, Err(Failure::SessionClosed)),
            SessionEvent::Closed
        ]
    );
    assert!(c.is_closed());
    assert_eq!(
        c.submit(SessionInfo::lookup("x"), at(2)),
        Err(Failure::SessionClosed)
    );
}

#[test]
fn close_at_3_2_sends_quit_and_ends_on_its_answer() {
    let mut c = core(Version::V3_2);
    c.close(at(0));
    assert_eq!(drain(&mut c), "QUIT\n");
    assert!(!c.is_closed());
    c.feed(b"SESSION STATUS RESULT=OK MESSAGE=bye\n");
    assert_eq!(events(&mut c), [SessionEvent::Closed]);
    // A bridge that closes instead of answering ends it too.
    let mut c = core(Version::V3_3);
    c.close(at(0));
    drain(&mut c);
    c.eof();
    assert_eq!(events(&mut c), [SessionEvent::Closed]);
}

#[test]
fn close_at_3_2_gives_up_after_quit_wait() {
    let mut c = core(Version::V3_3);
    let a = c.submit(SessionInfo::lookup("slow.i2p"), at(0)).unwrap();
    let b = c.submit(SessionInfo::lookup("queued.i2p"), at(0)).unwrap();
    assert_eq!(drain(&mut c), "NAMING LOOKUP NAME=slow.i2p\n");
    c.close(at(5));
    // Queued commands fail at once; the one in flight may still finish, then QUIT.
    assert_eq!(
        events(&mut c),
        [SessionEvent::Completed(b, Err(Failure::SessionClosed))]
    );
    assert_eq!(c.poll_timeout(), Some(at(5) + crate::client::QUIT_WAIT));
    c.handle_timeout(at(5) + crate::client::QUIT_WAIT);
    assert_eq!(
        events(&mut c),
        [
            SessionEvent::Completed(a, Err(Failure::SessionClosed)),
            SessionEvent::Closed
        ]
    );
}

#[test]
fn bridge_ping_is_answered_and_datagrams_come_out() {
    let mut c = core(Version::V3_3);
    c.feed(b"PING 12345\nDATAGRAM RECEIVED DESTINATION=AAAA SIZE=3 FROM_PORT=7 TO_PORT=8\nabc");
    assert_eq!(drain(&mut c), "PONG 12345\n");
    match events(&mut c).as_slice() {
        [SessionEvent::Datagram(d)] => {
            assert_eq!(d.payload, b"abc");
            assert_eq!((d.from_port, d.to_port), (Some(7), Some(8)));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn eof_fails_everything_with_session_closed() {
    let mut c = core(Version::V3_1);
    let a = c.submit(SessionInfo::lookup("a"), at(0)).unwrap();
    let b = c.submit(SessionInfo::lookup("b"), at(0)).unwrap();
    drain(&mut c);
    c.eof();
    assert_eq!(
        events(&mut c),
        [
            SessionEvent::Completed(a, Err(Failure::SessionClosed)),
            SessionEvent::Completed(b, Err(Failure::SessionClosed)),
            SessionEvent::Closed
        ]
    );
    assert_eq!(c.poll_timeout(), None);
}

#[test]
fn a_bridge_error_is_kept_and_fails_the_command_in_flight() {
    let mut c = core(Version::V3_3);
    let a = c.submit(SessionInfo::lookup("a"), at(0)).unwrap();
    drain(&mut c);
    c.feed(b"SESSION STATUS RESULT=I2P_ERROR MESSAGE=\"Session is closed\"\n");
    match events(&mut c).as_slice() {
        [SessionEvent::Completed(id, Err(Failure::Protocol { error, .. }))] => {
            assert_eq!(*id, a);
            assert!(matches!(error, crate::Error::Refused { .. }));
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        c.bridge_error(),
        Some(crate::Error::Refused {
            result: ResultCode::I2pError,
            ..
        })
    ));
    // Without a command in flight the report is kept too.
    let mut c = core(Version::V3_3);
    c.feed(b"SESSION STATUS RESULT=I2P_ERROR MESSAGE=\"PONG timeout\"\n");
    assert_eq!(events(&mut c), []);
    assert!(c.bridge_error().is_some());
}

#[test]
fn garbage_breaks_the_session() {
    let mut c = core(Version::V3_1);
    let a = c.submit(SessionInfo::lookup("a"), at(0)).unwrap();
    drain(&mut c);
    c.feed(b"WHAT IS THIS\n");
    match events(&mut c).as_slice() {
        [SessionEvent::Completed(id, Err(Failure::Protocol { .. })), SessionEvent::Closed] => {
            assert_eq!(*id, a)
        }
        other => panic!("{other:?}"),
    }
    assert!(c.is_closed());
}

#[test]
fn commands_the_version_cannot_carry_are_refused_at_submit() {
    let mut c = core(Version::V3_1);
    let ping = ControlCommand::Ping(Ping { text: None });
    assert!(matches!(
        c.submit(ping, at(0)),
        Err(Failure::Protocol {
            error: crate::Error::NeedsVersion { .. },
            ..
        })
    ));
    let bad = SessionInfo::lookup("a\nb");
    assert!(c.submit(bad, at(0)).is_err());
    assert_eq!(drain(&mut c), "");
}

#[test]
fn shutdown_is_immediate_even_at_3_3() {
    let mut c = core(Version::V3_3);
    let a = c.submit(SessionInfo::lookup("a"), at(0)).unwrap();
    drain(&mut c);
    c.shutdown();
    assert_eq!(drain(&mut c), "");
    assert_eq!(
        events(&mut c),
        [
            SessionEvent::Completed(a, Err(Failure::SessionClosed)),
            SessionEvent::Closed
        ]
    );
}

#[test]
fn connect_options_reach_the_command() {
    let cfg = config();
    let info = created_stream_session();
    let options = crate::client::ConnectOptions {
        from_port: Some(1),
        to_port: Some(2),
        silent: false,
    };
    let mut call: Call<StreamConnect<'static>> =
        info.connect(&cfg, "peer.i2p", options, at(0)).unwrap();
    pump_call(&mut call);
    call.feed(b"HELLO REPLY RESULT=OK VERSION=3.2\n", at(0));
    let wrote = text(&pump_call(&mut call));
    assert!(wrote.contains("FROM_PORT=1 TO_PORT=2"), "{wrote}");
}

#[test]
fn release_lingers_then_closes_like_close() {
    let mut c = core(Version::V3_3);
    c.release(at(10));
    assert_eq!(drain(&mut c), "");
    assert!(!c.is_closed());
    assert_eq!(c.poll_timeout(), Some(at(10) + LINGER));
    assert_eq!(
        c.submit(SessionInfo::lookup("x"), at(11)),
        Err(Failure::SessionClosed)
    );
    // The bridge's PINGs are still answered while it lingers.
    c.feed(b"PING 1\n");
    assert_eq!(drain(&mut c), "PONG 1\n");
    c.handle_timeout(at(10) + LINGER);
    assert_eq!(drain(&mut c), "QUIT\n");
    assert_eq!(
        c.poll_timeout(),
        Some(at(10) + LINGER + crate::client::QUIT_WAIT)
    );
    c.handle_timeout(at(10) + LINGER + crate::client::QUIT_WAIT);
    assert_eq!(events(&mut c), [SessionEvent::Closed]);
    // Below 3.2: closed when the linger is over, without QUIT.
    let mut c = core(Version::V3_1);
    c.release(at(0));
    c.handle_timeout(LINGER);
    assert_eq!(drain(&mut c), "");
    assert_eq!(events(&mut c), [SessionEvent::Closed]);
}

#[test]
fn only_an_accepts_reads_are_acknowledged_at_once() {
    use super::{acks_at_once, Operation as Op};
    // The accept's reply is the status line and, in a later write, the peer line: the one
    // reply that the bridge's Nagle splits with nothing of ours in between.
    assert!(acks_at_once(Op::StreamAccept));
    for op in [
        Op::DestGenerate,
        Op::Lookup,
        Op::Ping,
        Op::SessionCreate,
        Op::SessionAdd,
        Op::SessionRemove,
        Op::StreamConnect,
        Op::StreamForward,
        Op::Quit,
        Op::DatagramSend,
    ] {
        assert!(!acks_at_once(op), "{op:?}");
    }
}

#[test]
fn datagram2_and_datagram3_sessions_send_over_udp_only() {
    use crate::command::DatagramSend;
    use crate::datagram::SendOptions;
    let cfg = config();
    for (style, name) in [
        (Style::Datagram2, "DATAGRAM2"),
        (Style::Datagram3, "DATAGRAM3"),
    ] {
        let options = SessionOptions::new(style).with_id("dg23");
        let mut setup = SessionSetup::new(&cfg, &options, 1, at(0)).unwrap();
        let status = session_status();
        let wrote = drive_setup(
            &mut setup,
            &[b"HELLO REPLY RESULT=OK VERSION=3.3\n", status.as_bytes()],
        );
        assert!(
            wrote[0].contains(&alloc::format!("STYLE={name} ID=dg23")),
            "{wrote:?}"
        );
        let info = setup.finish().unwrap();
        assert_eq!(info.style(), style);
        assert!(info.check_datagrams().is_ok());
        // The control socket's DATAGRAM SEND is refused at submit, before anything is queued.
        let mut core = SessionCore::for_session(&cfg, &info);
        let send = DatagramSend {
            destination: info.destination().to_base64().into(),
            size: 1,
            from_port: None,
            to_port: None,
            extra: Vec::new(),
        };
        match core.submit(ControlCommand::DatagramSend(send, alloc::vec![0]), at(1)) {
            Err(Failure::Protocol { error, .. }) => assert_eq!(
                error,
                crate::Error::NotForStyle {
                    command: "DATAGRAM SEND",
                    style: name
                }
            ),
            other => panic!("{name}: {other:?}"),
        }
        assert_eq!(drain(&mut core), "");
        // The UDP packet carries the per-datagram options; PROTOCOL is for RAW only.
        let dest = info.destination().clone();
        let packet = info
            .udp_packet(&dest, b"x", &SendOptions::new().ports(1, 2).expires(9))
            .unwrap();
        assert!(packet.starts_with(b"3.0 dg23 "));
        assert!(packet.ends_with(b" FROM_PORT=1 TO_PORT=2 EXPIRES=9\nx"));
        assert_eq!(
            info.udp_packet(&dest, b"x", &SendOptions::new().protocol(18)),
            Err(crate::Error::NotForStyle {
                command: "PROTOCOL in a datagram's UDP header",
                style: name
            })
        );
    }
}
