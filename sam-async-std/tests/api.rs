//! Compile-time checks of the public API: every future can go to a multi-threaded executor
//! (`async_std::task::spawn`, `smol::spawn`), and the handles are `Send + Sync + Clone`.

use sam_async_std::{
    load_keys, read_forwarded, save_keys, ConnectOptions, DatagramSocket, Destination, PrivateKeys,
    Sam, Session, SessionOptions, SigType, Style, SubsessionOptions,
};

fn send<T: Send>(_: &T) {}
fn shared<T: Send + Sync + Clone>() {}

#[allow(dead_code)]
fn every_future_is_send(
    (sam, session, socket): (&Sam, &Session, &DatagramSocket),
    (dest, keys, tcp): (&Destination, &PrivateKeys, async_net::TcpStream),
) {
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], 1));
    let sub = SubsessionOptions::new(Style::Stream, "s");
    let bridge = (
        sam.session(SessionOptions::default()),
        sam.lookup("x.i2p"),
        sam.generate_destination(SigType::Ed25519),
    );
    let streams = (
        session.connect("x.i2p"),
        session.connect_with("x.i2p", ConnectOptions::default()),
        session.accept(),
        session.incoming(),
        session.forward(addr),
        read_forwarded(tcp),
    );
    let control = (
        session.lookup("x.i2p"),
        session.add(sub),
        session.remove("s"),
        session.close(),
    );
    let datagrams = (
        session.datagram_socket(),
        socket.send_to(dest, b"x", None),
        socket.recv_from(),
    );
    let files = (save_keys("k", keys), load_keys("k"));
    send(&bridge);
    send(&streams);
    send(&control);
    send(&datagrams);
    send(&files);
}

#[test]
fn handles_are_send_sync_and_clone() {
    shared::<Sam>();
    shared::<Session>();
}
