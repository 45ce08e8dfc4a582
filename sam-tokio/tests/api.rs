//! Every public future of sam-tokio is `Send` (usable with `tokio::spawn`), and `Session` and
//! `Sam` are `Send + Sync + Clone`: checked at compile time, so this file compiling is the test.

use sam_tokio::*;

/// Every public future must be usable with `tokio::spawn` (checked at compile time).
#[allow(dead_code)]
fn futures_are_send(
    sam: &Sam,
    session: &Session,
    datagrams: &DatagramSocket,
    dest: &Destination,
    keys: &PrivateKeys,
    tcp: tokio::net::TcpStream,
) {
    fn is_send<T: Send>(_: T) {}
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], 1));
    is_send(sam.session(SessionOptions::default()));
    is_send(sam.lookup("x.i2p"));
    is_send(sam.generate_destination(SigType::Ed25519));
    is_send(session.connect("x.i2p"));
    is_send(session.connect_with("x.i2p", ConnectOptions::default()));
    is_send(session.accept());
    is_send(session.incoming());
    is_send(session.forward(addr));
    is_send(session.lookup("x.i2p"));
    is_send(session.add(SubsessionOptions::new(Style::Stream, "s")));
    is_send(session.remove("s"));
    is_send(session.datagram_socket());
    is_send(session.close());
    is_send(datagrams.send_to(dest, b"x", None));
    is_send(datagrams.recv_from());
    is_send(read_forwarded(tcp));
    is_send(save_keys("k", keys));
    is_send(load_keys("k"));
    fn is_sync<T: Send + Sync + Clone>() {}
    is_sync::<Session>();
    is_sync::<Sam>();
}
