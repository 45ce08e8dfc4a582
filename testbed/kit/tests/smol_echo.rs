//! The adapter on smol (not async-std) against a real bridge: two sessions, 1 MiB each way
//! through an echo, SHA-256 equal. Needs `SAM_ADDR` (the offline i2pd testbed).

use std::time::{Duration, Instant};

use futures_lite::future::{self, zip};
use futures_lite::io::{AsyncReadExt, AsyncWriteExt};
use sam_async_std::{Sam, SamConfig, SessionOptions, Style};
use sha2::{Digest, Sha256};

const LEN: usize = 1 << 20;

#[test]
fn one_mib_both_ways_on_smol() {
    assert!(
        std::env::var_os(sam_async_std::ENV_ADDR).is_some(),
        "SAM_ADDR is not set: start the testbed (testbed/testbed.sh start DIR PORT) and set \
         SAM_ADDR=127.0.0.1:PORT SAM_UDP_ADDR=127.0.0.1:PORT-1"
    );
    let mut config = SamConfig::from_env();
    config.session_timeout = Duration::from_secs(90);
    config.stream_timeout = Duration::from_secs(30);
    let sam = Sam::new(config);
    // Zero-hop tunnels: the testbed has one peer router.
    let options = SessionOptions::new(Style::Stream)
        .option("inbound.length", "0")
        .option("outbound.length", "0");

    smol::block_on(async {
        let started = Instant::now();
        let (a, b) = zip(sam.session(options.clone()), sam.session(options)).await;
        let (a, b) = (a.expect("session A"), b.expect("session B"));
        eprintln!("smol: two sessions in {:.1?}", started.elapsed());

        let mut data = vec![0u8; LEN];
        let mut x = 0x9e37_79b9_u32;
        for byte in &mut data {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            *byte = x as u8;
        }
        let sent = Sha256::digest(&data);

        // B echoes on a smol task, hashing what it receives. The task hands its stream back,
        // and `b` lives on: closing either would cut off echo bytes still inside the router.
        let b_dest = b.destination().to_base64();
        let acceptor = b.clone();
        let echo = smol::spawn(async move {
            let incoming = acceptor.accept().await.expect("B accepts");
            let (mut read, mut write) = incoming.stream.into_split();
            let (mut hasher, mut buf, mut total) = (Sha256::new(), vec![0u8; 32 * 1024], 0);
            while total < LEN {
                let n = read.read(&mut buf).await.expect("B reads");
                assert!(n > 0, "EOF after {total} bytes");
                hasher.update(&buf[..n]);
                write.write_all(&buf[..n]).await.expect("B echoes");
                total += n;
            }
            (hasher.finalize(), incoming.peer, read, write)
        });

        let started = Instant::now();
        let stream = a.connect(&b_dest).await.expect("A connects to B");
        let (mut read, mut write) = stream.into_split();
        let send = async {
            write.write_all(&data).await.expect("A writes");
            write
        };
        let mut back = vec![0u8; LEN];
        let receive = read.read_exact(&mut back);
        let run = zip(send, receive);
        let overdue = async {
            smol::Timer::after(Duration::from_secs(60)).await;
            panic!("1 MiB echo did not finish within 60 s");
        };
        let (_write, received) = future::or(run, overdue).await;
        received.expect("A reads the echo");
        let (at_b, peer, ..) = echo.await;
        eprintln!("smol: 1 MiB each way in {:.1?}", started.elapsed());
        assert_eq!(at_b, sent, "B received what A sent");
        assert_eq!(Sha256::digest(&back), sent, "A got its data back");
        assert_eq!(peer.as_ref(), Some(a.destination()), "B saw A connect");
        drop(b);
    });
}
