//! The flood test of every adapter's datagram path (issue 17): 100,000 datagrams on the
//! control socket that nobody reads, and 100,000 forged UDP packets from another socket, must
//! not grow memory without bound; the drops are counted; a datagram sent afterwards arrives.
//!
//! One test per binary (`tests/flood_<adapter>.rs`), so that the process's peak RSS is the
//! flood's: it is reset first (`/proc/self/clear_refs`), then read (`VmHWM`).

/// What the flood sends on each path.
pub const FLOOD: usize = 100_000;

/// Peak RSS growth the flood may cause: the unread queue holds at most
/// `DATAGRAM_QUEUE` (256) datagrams of about 1.6 KB here, the runtime and the scripted bridge
/// need a few MiB; an unbounded queue would hold 160 MB.
pub const RSS_BOUND_KIB: u64 = 32 * 1024;

/// Resets the process's peak RSS to its current RSS (Linux `clear_refs` 5); returns the RSS
/// in KiB.
pub fn reset_peak_rss() -> u64 {
    std::fs::write("/proc/self/clear_refs", "5").expect("reset the peak RSS");
    status_kib("VmRSS:")
}

/// The process's peak RSS since the last reset, in KiB.
pub fn peak_rss() -> u64 {
    status_kib("VmHWM:")
}

fn status_kib(key: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let line = status
        .lines()
        .find(|l| l.starts_with(key))
        .expect("the key in /proc/self/status");
    let kib = line
        .trim_start_matches(key)
        .trim()
        .trim_end_matches("kB")
        .trim();
    kib.parse().expect("a number of kB")
}

/// The flood test for the adapter crate `$sam`, with the suites' glue (`run`, `aw!`, `task!`).
#[macro_export]
macro_rules! flood_suite {
    ($sam:ident, $glue:ident $(, $asyncness:tt)?) => {
        use std::time::{Duration, Instant};

        use $crate::flood::{peak_rss, reset_peak_rss, FLOOD, RSS_BOUND_KIB};
        use $crate::hostile::*;
        use $glue::*;

        #[test]
        fn a_flood_of_100_000_datagrams_stays_bounded_and_later_datagrams_arrive() {
            let who = peer(90);
            let payload = vec![0x55u8; 1024];
            let flood_line = cat(&[&datagram_received(&who, payload.len()), &payload]);
            let bridge = HostileBridge::start(vec![Script::new()
                .session("3.3", &ed25519_keys(91))
                .repeat(flood_line, FLOOD)
                .play()]);
            let baseline = reset_peak_rss();
            let started = Instant::now();
            run(task!({
                let sam = $sam::Sam::new(bridge.config());
                let options = $sam::SessionOptions::new($sam::Style::Datagram);
                let session = works(aw!(sam.session(options)), "session");
                let socket = works(aw!(session.datagram_socket()), "datagram socket");
                // Meanwhile, any local process: forged UDP packets naming any sender.
                let local = works(socket.local_addr(), "local addr");
                let forger = std::thread::spawn(move || {
                    let forger = std::net::UdpSocket::bind("127.0.0.1:0").expect("forger");
                    let packet = repliable_udp(&peer(92), b"FORGED-PAYLOAD");
                    let mut sent = 0;
                    for _ in 0..FLOOD {
                        sent += usize::from(forger.send_to(&packet, local).is_ok());
                    }
                    sent
                });
                // Nobody reads: all but the queue's worth must be dropped, and counted, once
                // the flood has been taken in (the count no longer moves).
                let room = sam_proto::client::DATAGRAM_QUEUE as u64;
                let mut last = u64::MAX;
                let settled = || {
                    let now = socket.counts().overflowed();
                    let done = now == last && now >= FLOOD as u64 - room;
                    last = now;
                    done || { std::thread::sleep(Duration::from_millis(200)); false }
                };
                assert!(
                    eventually(Duration::from_secs(120), settled),
                    "the flood did not overflow the queue: {:?}",
                    socket.counts()
                );
                let forged = forger.join().expect("the forger");
                // Take one datagram (the queue has room for one more), then the bridge's
                // next datagram goes in behind the rest of the flood; read up to it, counting.
                let first = works(aw!(socket.recv_from()), "a queued datagram");
                assert_eq!(first.payload, payload, "only the flood's datagrams were queued");
                let mut conn = bridge.next_played();
                conn.send(cat(&[&datagram_received(&who, 5), b"after"]));
                let mut delivered = 1u64;
                loop {
                    let got = works(aw!(socket.recv_from()), "a datagram");
                    assert_ne!(got.payload, b"FORGED-PAYLOAD", "a forged packet was delivered");
                    if got.payload == b"after" {
                        break;
                    }
                    assert_eq!(got.payload, payload, "only the flood's datagrams were queued");
                    delivered += 1;
                }
                let counts = socket.counts();
                let peak = peak_rss();
                println!(
                    "flood ({}): {FLOOD} datagrams on the control socket: {delivered} queued and \
                     delivered, {} dropped and counted; {forged} forged UDP packets sent, {} \
                     read and dropped as foreign (the kernel dropped the rest); peak RSS {} KiB \
                     over a start of {baseline} KiB (+{} KiB); {:.1} s",
                    stringify!($sam),
                    counts.overflowed(),
                    counts.foreign(),
                    peak,
                    peak.saturating_sub(baseline),
                    started.elapsed().as_secs_f64(),
                );
                assert_eq!(delivered + counts.overflowed(), FLOOD as u64, "{counts:?}");
                assert!(delivered <= room);
                // How many forged packets get read depends on the adapter (sam-blocking reads
                // the control queue first); that each one read is dropped and counted is
                // `forged_udp_packet_from_another_socket_is_dropped` in the hostile suite.
                assert!(
                    peak.saturating_sub(baseline) < RSS_BOUND_KIB,
                    "peak RSS grew by {} KiB (bound {RSS_BOUND_KIB} KiB)",
                    peak.saturating_sub(baseline)
                );
            }))
        }
    };
}
