//! Web over I2P with sam-tokio's `axum` and `hyper` features: an axum site served on one
//! destination (`sam_tokio::web`) and fetched from another with hyper-util's client over
//! `sam_tokio::http::Connector`, against a real SAM bridge (the offline i2pd testbed); and,
//! against the kit's scripted bridge, accept refusals that the listener retries (no router
//! produces those on demand) and what the connector sends (`TO_PORT`, lookups, the cache).
//!
//! The router tests need `SAM_ADDR` (start the bridge with `testbed/testbed.sh start DIR PORT`
//! and export its settings, e.g. `scripts/lib.sh`'s `export_bridge_env`); `SAM_SESSION_OPTIONS`
//! gives the tunnel options (zero-hop by default: testbed only) and `SAM_TESTBED` the bridge's
//! name (what it reports of ports).

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, Path};
use axum::routing::get;
use axum::Router;
use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper::{StatusCode, Uri};
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo};
use sam_testkit::hostile::{ed25519_keys, peer, HostileBridge};
use sam_tokio::http::Connector;
use sam_tokio::web::{Listener, PeerAddr};
use sam_tokio::{Error, Sam, SamConfig, Session, SessionOptions, Stream, Style};
use tokio::runtime::Runtime;

// ---------------------------------------------------------------------------------------------
// The site, the client, the shared sessions
// ---------------------------------------------------------------------------------------------

/// The site: `/echo/{word}` answers the word, the peer's b32 address and the ports the bridge
/// reported, one per line.
fn echo_site() -> Router {
    Router::new().route(
        "/echo/{word}",
        get(
            |Path(word): Path<String>, ConnectInfo(peer): ConnectInfo<PeerAddr>| async move {
                format!(
                    "{word}\n{}\n{:?}\n{:?}\n",
                    peer.destination.b32_address(),
                    peer.from_port,
                    peer.to_port
                )
            },
        ),
    )
}

/// What the site answered.
#[derive(Debug)]
struct Echo {
    word: String,
    peer: String,
    from_port: String,
    to_port: String,
}

fn parse_echo(body: &str) -> Echo {
    let lines: Vec<&str> = body.lines().collect();
    match lines[..] {
        [word, peer, from_port, to_port] => Echo {
            word: word.to_owned(),
            peer: peer.to_owned(),
            from_port: from_port.to_owned(),
            to_port: to_port.to_owned(),
        },
        _ => panic!("the site's answer has 4 lines: {body:?}"),
    }
}

/// The connector, counting the connections hyper asks it for.
#[derive(Clone)]
struct Counting {
    connector: Connector,
    connects: Arc<AtomicU64>,
}

impl tower_service::Service<Uri> for Counting {
    type Response = TokioIo<Stream>;
    type Error = Error;
    type Future = Pin<Box<dyn Future<Output = Result<TokioIo<Stream>, Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.connector.poll_ready(cx)
    }

    fn call(&mut self, uri: Uri) -> Self::Future {
        self.connects.fetch_add(1, Ordering::Relaxed);
        self.connector.call(uri)
    }
}

type HttpClient = Client<Counting, Empty<Bytes>>;

/// A client on `session` that keeps no idle connection: every request connects.
fn client(session: &Session) -> (HttpClient, Counting) {
    let counting = Counting {
        connector: Connector::new(session.clone()),
        connects: Arc::new(AtomicU64::new(0)),
    };
    let client = Client::builder(TokioExecutor::new())
        .pool_max_idle_per_host(0)
        .build(counting.clone());
    (client, counting)
}

/// GET `url`: the status and the body.
async fn get_once(
    client: &HttpClient,
    url: &str,
) -> Result<(StatusCode, String), Box<dyn std::error::Error + Send + Sync>> {
    let response = client.get(url.parse()?).await?;
    let status = response.status();
    let body = response.into_body().collect().await?.to_bytes();
    Ok((status, String::from_utf8(body.to_vec())?))
}

/// GET `url` until it works (a brand-new destination's lease set takes a while to be found),
/// at most `FIRST_CONTACT`.
async fn get_ok(client: &HttpClient, url: &str) -> Echo {
    let started = Instant::now();
    loop {
        match get_once(client, url).await {
            Ok((status, body)) => {
                assert_eq!(status, StatusCode::OK, "{url}: {body}");
                eprintln!("web: GET {url} in {:.1?}", started.elapsed());
                return parse_echo(&body);
            }
            Err(e) if started.elapsed() < FIRST_CONTACT => {
                eprintln!("web: GET {url}: {e:?}; again");
                tokio::time::sleep(Duration::from_secs(2)).await;
            }
            Err(e) => panic!("GET {url} failed for {FIRST_CONTACT:?}: {e:?}"),
        }
    }
}

/// How long the first request to a new site may keep failing.
const FIRST_CONTACT: Duration = Duration::from_secs(120);

/// One runtime for every test: the sessions' control tasks and the sites run on its workers.
fn rt() -> &'static Runtime {
    static RT: OnceLock<Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(4)
            .enable_all()
            .build()
            .expect("tokio runtime")
    })
}

fn config() -> SamConfig {
    if std::env::var_os(sam_tokio::ENV_ADDR).is_none() {
        panic!(
            "SAM_ADDR is not set: these tests need a running SAM bridge. Start the testbed with \
             `testbed/testbed.sh start DIR PORT` and set SAM_ADDR=127.0.0.1:PORT (and \
             SAM_SESSION_OPTIONS), or run `TREE=$PWD /work/notes/e2e2.sh web_tokio PORT`"
        );
    }
    let mut config = SamConfig::from_env();
    // i2pd 2.45 answers SESSION CREATE in 20 s; the rest is margin for a loaded machine.
    config.session_timeout = Duration::from_secs(60);
    config.stream_timeout = Duration::from_secs(30);
    config.lookup_timeout = Duration::from_secs(30);
    config
}

/// `SAM_SESSION_OPTIONS`, else zero-hop tunnels (the testbed's routers cannot build longer).
fn options() -> SessionOptions {
    let text = std::env::var("SAM_SESSION_OPTIONS").unwrap_or_else(|_| {
        "inbound.length=0 outbound.length=0 inbound.quantity=1 outbound.quantity=1".to_owned()
    });
    SessionOptions::new(Style::Stream)
        .option_words(&text)
        .unwrap_or_else(|e| panic!("SAM_SESSION_OPTIONS {text:?}: {e}"))
}

struct Fixture {
    /// Serves [`echo_site`] for the whole run.
    site: Session,
    /// The client's session.
    client: Session,
    /// Serves [`echo_site`] until `closing_the_serving_session_ends_serve_with_session_closed`
    /// closes it.
    closing: Session,
}

/// The sessions, created concurrently by the first test that asks; `site` is served at once.
fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    let config = config();
    FIXTURE.get_or_init(|| {
        rt().block_on(async {
            let sam = Sam::new(config);
            let started = Instant::now();
            let (site, client, closing) = tokio::join!(
                sam.session(options()),
                sam.session(options()),
                sam.session(options())
            );
            let (site, client, closing) = (
                site.expect("the site's session"),
                client.expect("the client's session"),
                closing.expect("the closing site's session"),
            );
            eprintln!(
                "web: 3 sessions in {:.1?} (SAM {}, bridge {})",
                started.elapsed(),
                site.version(),
                std::env::var("SAM_TESTBED").unwrap_or_default()
            );
            tokio::spawn(sam_tokio::web::serve(site.clone(), echo_site()));
            Fixture {
                site,
                client,
                closing,
            }
        })
    })
}

// ---------------------------------------------------------------------------------------------
// Against the real bridge
// ---------------------------------------------------------------------------------------------

#[test]
fn an_axum_site_is_fetched_by_its_b32_address_and_sees_the_client_as_peer() {
    let fx = fixture();
    rt().block_on(async {
        let (client, _) = client(&fx.client);
        let echo = get_ok(&client, &format!("http://{}/echo/hello", fx.site.address())).await;
        assert_eq!(echo.word, "hello");
        assert_eq!(echo.peer, fx.client.address().to_string());
    })
}

#[test]
fn the_uri_port_reaches_the_handler_as_the_bridge_reports_it() {
    let fx = fixture();
    rt().block_on(async {
        let (client, _) = client(&fx.client);
        let url = format!("http://{}:8080/echo/port", fx.site.address());
        let echo = get_ok(&client, &url).await;
        assert_eq!((echo.word.as_str(), echo.peer), ("port", fx.client.address().to_string()));
        let bridge = std::env::var("SAM_TESTBED").unwrap_or_default();
        eprintln!(
            "web: {bridge} (SAM {}): http://…:8080/ reached the handler with from_port {} to_port {}",
            fx.client.version(),
            echo.from_port,
            echo.to_port
        );
        if bridge.starts_with("i2pd") {
            // i2pd never writes ports on the accept line (it ignores CONNECT's TO_PORT too).
            assert_eq!((echo.from_port.as_str(), echo.to_port.as_str()), ("None", "None"));
        } else {
            // Java I2P at SAM 3.2+ reports the port; other bridges may not say (as in the e2e
            // suite's ports scenario).
            assert!(
                matches!(echo.to_port.as_str(), "Some(8080)" | "None" | "Some(0)"),
                "{bridge}: to_port {}",
                echo.to_port
            );
        }
    })
}

#[test]
fn a_second_request_to_the_same_host_reuses_the_cached_lookup() {
    let fx = fixture();
    rt().block_on(async {
        let (client, counting) = client(&fx.client);
        let url = format!("http://{}/echo/first", fx.site.address());
        assert_eq!(get_ok(&client, &url).await.word, "first");
        let (lookups, connects) = (
            counting.connector.lookups(),
            counting.connects.load(Ordering::Relaxed),
        );
        assert!(lookups >= 1, "the first request looked the name up");
        let url = format!("http://{}/echo/second", fx.site.address());
        let (status, body) = get_once(&client, &url).await.expect("the second request");
        assert_eq!(
            (status, parse_echo(&body).word.as_str()),
            (StatusCode::OK, "second")
        );
        assert_eq!(
            counting.connects.load(Ordering::Relaxed),
            connects + 1,
            "no idle connection is kept: the second request connected again"
        );
        assert_eq!(counting.connector.lookups(), lookups, "no second lookup");
        assert_eq!(counting.connector.cached_names(), 1);
    })
}

#[test]
fn closing_the_serving_session_ends_serve_with_session_closed() {
    let fx = fixture();
    rt().block_on(async {
        let serving = tokio::spawn(sam_tokio::web::serve(fx.closing.clone(), echo_site()));
        // The site works, and the client keeps its connection idle in hyper's pool.
        let (_, counting) = client(&fx.client);
        let client = Client::builder(TokioExecutor::new()).build(counting);
        let url = format!("http://{}/echo/alive", fx.closing.address());
        let started = Instant::now();
        loop {
            match get_once(&client, &url).await {
                Ok((StatusCode::OK, body)) => {
                    assert_eq!(parse_echo(&body).word, "alive");
                    eprintln!("web: GET {url} in {:.1?}", started.elapsed());
                    break;
                }
                Ok(other) => panic!("{other:?}"),
                Err(e) if started.elapsed() < FIRST_CONTACT => {
                    eprintln!("web: GET {url}: {e:?}; again");
                    tokio::time::sleep(Duration::from_secs(2)).await;
                }
                Err(e) => panic!("GET {url}: {e:?}"),
            }
        }
        let closing = Instant::now();
        fx.closing.close().await;
        let ended = tokio::time::timeout(Duration::from_secs(15), serving)
            .await
            .expect("serve ends within 15 s of close()")
            .expect("the serve task");
        eprintln!("web: serve ended {:.1?} after close()", closing.elapsed());
        match ended {
            Err(Error::SessionClosed) => {}
            other => panic!("serve should end with SessionClosed: {other:?}"),
        }
    })
}

// ---------------------------------------------------------------------------------------------
// Against the kit's scripted bridge (no router)
// ---------------------------------------------------------------------------------------------

/// Runs the bridge's side (blocking reads and writes) on tokio's blocking pool; a failed
/// assertion there is raised again here.
async fn play<T: Send + 'static>(bridge: impl FnOnce() -> T + Send + 'static) -> T {
    match tokio::task::spawn_blocking(bridge).await {
        Ok(value) => value,
        Err(e) => match e.try_into_panic() {
            Ok(panic) => std::panic::resume_unwind(panic),
            Err(e) => panic!("the bridge's task failed: {e}"),
        },
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_refused_accepts_are_retried_with_backoff_and_the_third_serves() {
    use std::io::Read;

    let bridge = Arc::new(HostileBridge::playing());
    let sam = Sam::new(bridge.config_with(Duration::from_secs(5)));
    let keys = ed25519_keys(3);
    let (session, control) = tokio::join!(
        sam.session(SessionOptions::new(Style::Stream)),
        play({
            let (bridge, keys) = (bridge.clone(), keys.clone());
            move || {
                let mut control = bridge.next_played();
                control.create("3.2", &keys);
                control
            }
        })
    );
    let session = session.expect("session");
    let (listener, end) = Listener::new(session.clone());
    let app = echo_site().into_make_service_with_connect_info::<PeerAddr>();
    let serving = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(end.wait())
            .await
            .map(|()| end.take_error())
    });

    let visitor = peer(7);
    let visitor_line = [visitor.to_base64().as_str(), "\n"].concat();
    let (gaps, response, fourth) = play({
        let (bridge, id) = (bridge.clone(), session.id().to_owned());
        move || {
            let accept_line = ["STREAM ACCEPT ID=", &id].concat();
            let mut refused_at = None;
            let mut gaps = Vec::new();
            for _ in 0..2 {
                let mut conn = bridge.next_played();
                conn.hello("3.2");
                assert_eq!(conn.expect("STREAM ACCEPT "), accept_line);
                if let Some(at) = refused_at {
                    gaps.push(Instant::elapsed(&at));
                }
                conn.send(b"STREAM STATUS RESULT=I2P_ERROR MESSAGE=\"no tunnels yet\"\n");
                refused_at = Some(Instant::now());
            }
            let mut conn = bridge.next_played();
            conn.hello("3.2");
            assert_eq!(conn.expect("STREAM ACCEPT "), accept_line);
            gaps.push(refused_at.map(|at| at.elapsed()).unwrap_or_default());
            conn.send(b"STREAM STATUS RESULT=OK\n");
            conn.send(&visitor_line);
            conn.send(b"GET /echo/third HTTP/1.1\r\nHost: x.b32.i2p\r\nConnection: close\r\n\r\n");
            let mut response = Vec::new();
            conn.socket()
                .read_to_end(&mut response)
                .expect("the response, then the end");
            // Serving goes on: the listener accepts again.
            let mut fourth = bridge.next_played();
            fourth.hello("3.2");
            assert_eq!(fourth.expect("STREAM ACCEPT "), accept_line);
            (
                gaps,
                String::from_utf8_lossy(&response).into_owned(),
                fourth,
            )
        }
    })
    .await;
    // The refusals were waited out: 50 ms after the first, 100 ms after the second.
    assert!(gaps[0] >= Duration::from_millis(50), "{gaps:?}");
    assert!(gaps[1] >= Duration::from_millis(100), "{gaps:?}");
    assert!(response.starts_with("HTTP/1.1 200 OK\r\n"), "{response}");
    let body = response.split("\r\n\r\n").nth(1).expect("a body");
    let echo = parse_echo(body);
    assert_eq!(echo.word, "third");
    assert_eq!(echo.peer, visitor.b32_address().to_string());
    assert!(!serving.is_finished(), "serve goes on after the refusals");

    // The bridge drops the session: the pending accept fails, and serve ends with the error.
    drop((control, fourth));
    let ended = tokio::time::timeout(Duration::from_secs(10), serving)
        .await
        .expect("serve ends within 10 s of the bridge closing the session")
        .expect("the serve task")
        .expect("axum::serve");
    assert!(
        matches!(ended, Some(Error::SessionClosed)),
        "the error that ended serve: {ended:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_connector_sends_the_uri_port_caches_names_and_forgets_them_after_a_failed_connect() {
    use sam_testkit::hostile::{naming_ok, stream_ok, stream_refused};
    use sam_tokio::ResultCode;

    let bridge = Arc::new(HostileBridge::playing());
    let sam = Sam::new(bridge.config_with(Duration::from_secs(5)));
    let (session, mut control) = tokio::join!(
        sam.session(SessionOptions::new(Style::Stream)),
        play({
            let bridge = bridge.clone();
            move || {
                let mut control = bridge.next_played();
                control.create("3.2", &ed25519_keys(4));
                control
            }
        })
    );
    let session = session.expect("session");
    let connector = Connector::new(session.clone());

    // Not an I2P http URI: refused before anything reaches the bridge.
    for bad in ["ftp://site.i2p/", "http://example.com/", "/relative"] {
        let uri: Uri = bad.parse().expect("a URI");
        match connector.connect(&uri).await {
            Err(Error::InvalidInput(_)) => {}
            other => panic!("{bad}: {:?}", other.map(|_| "a stream")),
        }
    }
    assert_eq!(connector.lookups(), 0);

    let site = peer(9);
    let connect_line = [
        "STREAM CONNECT ID=",
        session.id(),
        " DESTINATION=",
        &site.to_base64(),
    ]
    .concat();
    // 1: looked up, then connected with the URI's port as TO_PORT (SAM 3.2).
    let uri: Uri = "http://Site.i2p:8080/page".parse().unwrap();
    let bridge_side = play({
        let (bridge, site, connect_line) = (bridge.clone(), site.clone(), connect_line.clone());
        move || {
            assert_eq!(control.line(), "NAMING LOOKUP NAME=site.i2p\n");
            control.send(naming_ok("site.i2p", &site));
            let mut conn = bridge.next_played();
            conn.hello("3.2");
            let line = conn.expect("STREAM CONNECT ");
            assert!(line.starts_with(&connect_line), "{line}");
            assert!(line.contains(" TO_PORT=8080"), "{line}");
            conn.send(stream_ok());
            (control, conn, line)
        }
    });
    let (stream, (mut control, _conn, line)) = tokio::join!(connector.connect(&uri), bridge_side);
    let _stream = stream.expect("the first connect");
    let options = line.split(&site.to_base64()).nth(1).unwrap_or_default();
    eprintln!("web: the connector's STREAM CONNECT ... DESTINATION=<site>{options}");
    assert_eq!((connector.lookups(), connector.cached_names()), (1, 1));

    // 2: the cached name, no lookup; the bridge cannot reach it, so the name is forgotten.
    let bridge_side = play({
        let bridge = bridge.clone();
        move || {
            let mut conn = bridge.next_played();
            conn.hello("3.2");
            assert!(!conn.expect("STREAM CONNECT ").contains("TO_PORT=8080"));
            conn.send(stream_refused(ResultCode::CantReachPeer, None));
        }
    });
    let uri: Uri = "http://site.i2p/".parse().unwrap();
    let (refused, ()) = tokio::join!(connector.connect(&uri), bridge_side);
    assert!(refused.is_err(), "CANT_REACH_PEER");
    assert_eq!((connector.lookups(), connector.cached_names()), (1, 0));

    // 3: looked up again.
    let bridge_side = play({
        let (bridge, site) = (bridge.clone(), site.clone());
        move || {
            assert_eq!(control.line(), "NAMING LOOKUP NAME=site.i2p\n");
            control.send(naming_ok("site.i2p", &site));
            let mut conn = bridge.next_played();
            conn.hello("3.2");
            assert!(conn.expect("STREAM CONNECT ").starts_with(&connect_line));
            conn.send(stream_ok());
            (control, conn)
        }
    });
    let (stream, _bridge) = tokio::join!(connector.connect(&uri), bridge_side);
    let _stream = stream.expect("the third connect");
    assert_eq!((connector.lookups(), connector.cached_names()), (2, 1));
}
