//! The leftover bytes of a `Stream` come first, through splits and `into_parts`.

mod tests {
    use sam_tokio::Stream;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;
    use tokio::net::TcpStream;

    async fn pair() -> (TcpStream, TcpStream) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (a, b) = tokio::join!(TcpStream::connect(addr), listener.accept());
        (a.unwrap(), b.unwrap().0)
    }

    #[tokio::test]
    async fn leftover_is_read_first_in_small_pieces_then_the_socket() {
        let (a, mut b) = pair().await;
        b.write_all(b"-socket").await.unwrap();
        drop(b);
        let mut s = Stream::from_parts(a, b"leftover".to_vec());
        assert_eq!(s.buffered(), b"leftover");
        let mut three = [0u8; 3];
        s.read_exact(&mut three).await.unwrap();
        assert_eq!(&three, b"lef");
        let mut rest = Vec::new();
        s.read_to_end(&mut rest).await.unwrap();
        assert_eq!(rest, b"tover-socket");
        assert!(s.buffered().is_empty());
    }

    #[tokio::test]
    async fn split_and_into_parts_keep_the_leftover() {
        let (a, mut b) = pair().await;
        let s = Stream::from_parts(a, b"abc".to_vec());
        let (mut r, mut w) = s.into_split();
        w.write_all(b"ping").await.unwrap();
        let mut got = [0u8; 4];
        b.read_exact(&mut got).await.unwrap();
        assert_eq!(&got, b"ping");
        b.write_all(b"def").await.unwrap();
        drop(b);
        let mut all = Vec::new();
        r.read_to_end(&mut all).await.unwrap();
        assert_eq!(all, b"abcdef");

        let (a, _b) = pair().await;
        let mut s = Stream::from_parts(a, b"xyz".to_vec());
        let mut one = [0u8; 1];
        s.read_exact(&mut one).await.unwrap();
        let (_socket, left) = s.into_parts();
        assert_eq!(left, b"yz");
    }
}
