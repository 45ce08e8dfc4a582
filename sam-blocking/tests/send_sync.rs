//! Handles are shared between threads (accept loops, readers and writers): a compile-time check
//! that every public handle is `Send + Sync`.

use sam_blocking::{DatagramSocket, Forward, Incoming, IncomingStreams, Sam, Session};
use sam_blocking::{Stream, StreamReadHalf, StreamWriteHalf};

const fn shared<T: Send + Sync>() {}

#[test]
fn every_handle_is_send_and_sync() {
    shared::<(
        Sam,
        Session,
        IncomingStreams,
        DatagramSocket,
        Forward,
        Incoming,
    )>();
    shared::<(Stream, StreamReadHalf, StreamWriteHalf)>();
}
