//! The smallest useful program: a session, a stream to a destination, one exchange.
//! The same program exists for every adapter (`sam-tokio`, `sam-blocking`); see README.
//! Runs on async-std here; under smol, replace `async_std::task::block_on` by `smol::block_on`.
//!
//! `cargo run -p sam-async-std --example async_std_hello_i2p -- <destination> [SAM_ADDR via env]`
use futures_lite::io::{AsyncReadExt, AsyncWriteExt};
use sam_async_std::{Sam, SessionOptions, Style};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    async_std::task::block_on(async {
        let peer = std::env::args()
            .nth(1)
            .ok_or("usage: async_std_hello_i2p DEST")?;
        let sam = Sam::from_env();
        let session = sam.session(SessionOptions::new(Style::Stream)).await?;
        println!("I am {}", session.address());
        let mut stream = session.connect(&peer).await?;
        stream.write_all(b"PING\n").await?;
        let mut reply = [0u8; 5];
        stream.read_exact(&mut reply).await?;
        println!("peer said {:?}", String::from_utf8_lossy(&reply));
        Ok(())
    })
}
