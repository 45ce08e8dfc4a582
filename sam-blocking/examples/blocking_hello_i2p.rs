//! The smallest useful program: a session, a stream to a destination, one exchange.
//! The same program exists for every adapter (`sam-tokio`, `sam-async-std`); see README.
//!
//! `cargo run -p sam-blocking --example blocking_hello_i2p -- <destination> [SAM_ADDR via env]`
use sam_blocking::{Sam, SessionOptions, Style};
use std::io::{Read, Write};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let peer = std::env::args()
        .nth(1)
        .ok_or("usage: blocking_hello_i2p DEST")?;
    let sam = Sam::from_env();
    let session = sam.session(SessionOptions::new(Style::Stream))?;
    println!("I am {}", session.address());
    let mut stream = session.connect(&peer)?;
    stream.write_all(b"PING\n")?;
    let mut reply = [0u8; 5];
    stream.read_exact(&mut reply)?;
    println!("peer said {:?}", String::from_utf8_lossy(&reply));
    Ok(())
}
