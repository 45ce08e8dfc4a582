//! Serve a web site on I2P: an axum `Router` on a new destination, until the session ends.
//!
//! `cargo run -p sam-tokio --features axum --example axum_site` (bridge: `SAM_ADDR`, else
//! 127.0.0.1:7656; tunnel options: `SAM_TUNNEL_OPTIONS`, else the router's defaults). It prints
//! the site's `http://….b32.i2p/` address; `examples/fetch_page.rs` fetches it.
use axum::{extract::ConnectInfo, routing::get, Router};
use sam_tokio::web::PeerAddr;
use sam_tokio::{Sam, SessionOptions, Style};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let tunnels = std::env::var("SAM_TUNNEL_OPTIONS").unwrap_or_default();
    let options = SessionOptions::new(Style::Stream).option_words(&tunnels)?;
    let session = Sam::from_env().session(options).await?;
    println!("http://{}/", session.address());
    let app = Router::new().route(
        "/",
        get(|ConnectInfo(peer): ConnectInfo<PeerAddr>| async move {
            format!("Hello over I2P, {}!\n", peer.destination.b32_address())
        }),
    );
    let error = sam_tokio::web::serve(session, app).await.unwrap_err();
    Err(error.into())
}
