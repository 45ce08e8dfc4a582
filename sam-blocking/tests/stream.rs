//! `Stream`: the leftover bytes come first, whatever the stream is turned into.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};

use sam_blocking::Stream;

fn pair() -> (TcpStream, TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let a = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    (a, listener.accept().unwrap().0)
}

#[test]
fn leftover_is_read_first_in_small_pieces_then_the_socket() {
    let (a, mut b) = pair();
    b.write_all(b"-socket").unwrap();
    drop(b);
    let mut s = Stream::from_parts(a, b"leftover".to_vec());
    assert_eq!(s.buffered(), b"leftover");
    let mut three = [0u8; 3];
    s.read_exact(&mut three).unwrap();
    assert_eq!(&three, b"lef");
    let mut rest = Vec::new();
    s.read_to_end(&mut rest).unwrap();
    assert_eq!(rest, b"tover-socket");
    assert!(s.buffered().is_empty());
}

#[test]
fn split_and_into_parts_keep_the_leftover_and_dropping_the_write_half_ends_our_side() {
    let (a, mut b) = pair();
    let (mut r, mut w) = Stream::from_parts(a, b"abc".to_vec()).into_split();
    assert_eq!(r.buffered(), b"abc");
    w.write_all(b"ping").unwrap();
    drop(w);
    let mut got = Vec::new();
    b.read_to_end(&mut got).unwrap();
    assert_eq!(got, b"ping", "the peer reads the end of the stream");
    b.write_all(b"def").unwrap();
    drop(b);
    let mut all = Vec::new();
    r.read_to_end(&mut all).unwrap();
    assert_eq!(all, b"abcdef");

    let (a, _b) = pair();
    let mut s = Stream::from_parts(a, b"xyz".to_vec());
    let mut one = [0u8; 1];
    s.read_exact(&mut one).unwrap();
    let (_socket, left) = s.into_parts();
    assert_eq!(left, b"yz");
}

#[test]
fn a_clone_writes_to_the_same_socket_and_the_leftover_stays_with_the_original() {
    let (a, mut b) = pair();
    let mut s = Stream::from_parts(a, b"first".to_vec());
    let mut clone = s.try_clone().unwrap();
    assert!(clone.buffered().is_empty());
    clone.write_all(b"from the clone").unwrap();
    let mut got = [0u8; 14];
    b.read_exact(&mut got).unwrap();
    assert_eq!(&got, b"from the clone");
    let mut first = [0u8; 5];
    s.read_exact(&mut first).unwrap();
    assert_eq!(&first, b"first");
}
