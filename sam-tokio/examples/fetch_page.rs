//! Fetch an .i2p page with hyper-util's client over a SAM session.
//!
//! `cargo run -p sam-tokio --features hyper --example fetch_page -- http://NAME.b32.i2p/`
//! (bridge: `SAM_ADDR`, else 127.0.0.1:7656; tunnel options: `SAM_TUNNEL_OPTIONS`, else the
//! router's defaults). Prints the status and the body.
use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper_util::{client::legacy::Client, rt::TokioExecutor};
use sam_tokio::{http::Connector, Sam, SessionOptions, Style};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let url = std::env::args().nth(1).ok_or("usage: fetch_page URL")?;
    let tunnels = std::env::var("SAM_TUNNEL_OPTIONS").unwrap_or_default();
    let options = SessionOptions::new(Style::Stream).option_words(&tunnels)?;
    let session = Sam::from_env().session(options).await?;
    let connector = Connector::new(session);
    let client = Client::builder(TokioExecutor::new()).build::<_, Empty<Bytes>>(connector);
    let response = client.get(url.parse()?).await?;
    println!("{}", response.status());
    let body = response.into_body().collect().await?.to_bytes();
    println!("{}", String::from_utf8_lossy(&body));
    Ok(())
}
