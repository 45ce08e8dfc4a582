//! The smallest useful program: a session, a stream to a destination, one exchange.
//! The same program exists for every adapter (`sam-blocking`, `sam-async-std`); see README.
//!
//! `cargo run -p sam-tokio --example tokio_hello_i2p -- <destination> [SAM_ADDR via env]`
use sam_tokio::{Sam, SessionOptions, Style};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let peer = std::env::args()
        .nth(1)
        .ok_or("usage: tokio_hello_i2p DEST")?;
    let sam = Sam::from_env();
    let session = sam.session(SessionOptions::new(Style::Stream)).await?;
    println!("I am {}", session.address());
    let mut stream = session.connect(&peer).await?;
    stream.write_all(b"PING\n").await?;
    let mut reply = [0u8; 5];
    stream.read_exact(&mut reply).await?;
    println!("peer said {:?}", String::from_utf8_lossy(&reply));
    Ok(())
}
