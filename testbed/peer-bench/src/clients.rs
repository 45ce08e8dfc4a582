//! The sessions of the two Rust clients. Each function creates a server session that accepts
//! streams one at a time and echoes each on a task of its own, and a client session, and
//! returns how to open a stream from the client to the server. Only the clients' public API is
//! used, the way their documentation shows it.

use std::sync::{Arc, Mutex, PoisonError};

use crate::{echo, BoxError, Connect, Io};

/// sam-tokio: `Sam::from_env()` (SAM_ADDR), the options as `k=v` words, `Session::connect` to
/// the server's `Destination` (`&self`: the connectors share the client session as it is).
pub async fn sam_tokio(words: &str) -> Result<Connect, BoxError> {
    use sam_tokio::{Sam, SessionOptions, Style};

    let sam = Sam::from_env();
    let options = || SessionOptions::new(Style::Stream).option_words(words);
    // Both sessions at once: building their tunnels is most of the wait (not measured).
    let (server, client) = tokio::try_join!(sam.session(options()?), sam.session(options()?))?;
    let dest = server.destination().clone();
    tokio::spawn(async move {
        loop {
            match server.accept().await {
                Ok(incoming) => drop(tokio::spawn(echo(incoming.stream))),
                Err(e) => {
                    // The connectors then time out and count the errors.
                    eprintln!("peer-bench[sam-tokio]: accept failed, the server stops: {e}");
                    return;
                }
            }
        }
    });
    Ok(Arc::new(move || {
        let (client, dest) = (client.clone(), dest.clone());
        Box::pin(async move { Ok(Box::new(client.connect(&dest).await?) as Box<dyn Io>) })
    }))
}

/// yosemite 0.7: typed `SessionOptions` (no free-form options: see [`yosemite_options`]), the
/// bridge at 127.0.0.1 only, and `connect`/`accept` on `&mut self`. The connectors share the
/// client session through `connect_detached` (feature `async-extra`), which needs `&mut self`
/// only to copy the session's state and returns a future that borrows nothing: the lock is
/// held for that copy, not across the connect, so connects run concurrently as they do with
/// the other clients.
pub async fn yosemite(words: &str) -> Result<Connect, BoxError> {
    use yosemite::{style, Session};

    let port = yosemite_port()?;
    let (mut server, client) = tokio::try_join!(
        Session::<style::Stream>::new(yosemite_options(words, port)?),
        Session::<style::Stream>::new(yosemite_options(words, port)?),
    )?;
    // What yosemite hands out as the destination is SESSION STATUS's DESTINATION=, i.e. the
    // private keys; its own examples connect to it, and the bridges read the public
    // destination at its start. Used as is: that is what a yosemite user does.
    let dest = Arc::<str>::from(server.destination());
    tokio::spawn(async move {
        loop {
            match server.accept().await {
                Ok(stream) => drop(tokio::spawn(echo(stream))),
                Err(e) => {
                    eprintln!("peer-bench[yosemite]: accept failed, the server stops: {e}");
                    return;
                }
            }
        }
    });
    let client = Arc::new(Mutex::new(client));
    Ok(Arc::new(move || {
        let connecting = client
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .connect_detached(&dest);
        Box::pin(async move { Ok(Box::new(connecting.await?) as Box<dyn Io>) })
    }))
}

/// The lease set encryption types yosemite gets when SAM_SESSION_OPTIONS names none: what
/// sam-tokio sends by default (`4,0` now: ECIES-X25519, then ElGamal), so that both Rust
/// clients' sessions have the same keys.
fn default_enc_types() -> &'static str {
    sam_tokio::sam_proto::client::DEFAULT_OPTIONS
        .iter()
        .find(|(key, _)| *key == "i2cp.leaseSetEncType")
        .map_or("4,0", |(_, value)| value)
}

/// The bridge's TCP port from SAM_ADDR (default 127.0.0.1:7656, as sam-tokio's): yosemite takes
/// a port and always connects to 127.0.0.1, so another host is refused rather than ignored.
fn yosemite_port() -> Result<u16, BoxError> {
    let addr = std::env::var("SAM_ADDR").unwrap_or_else(|_| "127.0.0.1:7656".to_owned());
    let (host, port) = addr
        .rsplit_once(':')
        .ok_or_else(|| format!("SAM_ADDR={addr:?} is not host:port"))?;
    if host != "127.0.0.1" && host != "localhost" {
        return Err(format!("yosemite reaches the bridge on 127.0.0.1 only, not {host}").into());
    }
    Ok(port.parse()?)
}

/// SAM_SESSION_OPTIONS as yosemite 0.7 `SessionOptions`. It has typed fields and writes only
/// some of them into SESSION CREATE (tunnel lengths and quantities, `i2cp.leaseSetEncType`,
/// `i2cp.dontPublishLeaseSet`), with no way to add others: an option outside those is an
/// error, so that yosemite is never measured with other tunnels than the other clients.
///
/// It always writes `i2cp.leaseSetEncType`, `6,4` unless set, and i2pd 2.45.1 does not know
/// type 6 (ML-KEM): its SAM router dies on that SESSION CREATE ("Crypto key type 6 is not
/// supported", then the process is gone). When the options name no type, the bench sets
/// [`default_enc_types`] instead.
fn yosemite_options(words: &str, port: u16) -> Result<yosemite::SessionOptions, BoxError> {
    let mut options = yosemite::SessionOptions {
        samv3_tcp_port: port,
        lease_set_enc_type: Some(default_enc_types().to_owned()),
        ..Default::default()
    };
    for word in words.split_whitespace() {
        let (key, value) = word
            .split_once('=')
            .ok_or_else(|| format!("SAM_SESSION_OPTIONS: {word:?} is not key=value"))?;
        let number = || {
            value
                .parse::<usize>()
                .map_err(|_| format!("SAM_SESSION_OPTIONS: {word:?}: not a count"))
        };
        match key {
            "inbound.length" => options.inbound_len = number()?,
            "outbound.length" => options.outbound_len = number()?,
            "inbound.quantity" => options.inbound_quantity = number()?,
            "outbound.quantity" => options.outbound_quantity = number()?,
            "i2cp.leaseSetEncType" => options.lease_set_enc_type = Some(value.to_owned()),
            "i2cp.dontPublishLeaseSet" => options.publish = value != "true",
            _ => {
                return Err(format!(
                    "yosemite 0.7 cannot pass the session option {word:?} \
                     (its SessionOptions writes only tunnel lengths and quantities, \
                     i2cp.leaseSetEncType and i2cp.dontPublishLeaseSet)"
                )
                .into())
            }
        }
    }
    Ok(options)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_testbed_options_map_to_yosemite_fields() {
        let words = "inbound.length=0 outbound.length=0 inbound.quantity=1 outbound.quantity=1 \
                     i2cp.leaseSetEncType=0";
        let o = yosemite_options(words, 17710).unwrap();
        assert_eq!(
            (
                o.inbound_len,
                o.outbound_len,
                o.inbound_quantity,
                o.outbound_quantity
            ),
            (0, 0, 1, 1)
        );
        assert_eq!(o.lease_set_enc_type.as_deref(), Some("0"));
        assert_eq!(o.samv3_tcp_port, 17710);
        let o = yosemite_options("inbound.length=0", 1).unwrap();
        assert_eq!(o.lease_set_enc_type.as_deref(), Some(default_enc_types()));
        assert!(yosemite_options("inbound.lengthVariance=1", 1).is_err());
        assert!(yosemite_options("inbound.length", 1).is_err());
    }
}
