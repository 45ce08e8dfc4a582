//! The example of README.md runs, and README.md shows exactly this code (the text between the
//! markers below), so the README cannot drift from code that compiles and passes.

// README example begin
use sam_proto::command::{Hello, StreamConnect};
use sam_proto::exchange::{Exchange, Step};
use sam_proto::{SessionId, Version};

fn main() -> Result<(), sam_proto::Error> {
    // What the bridge will say, in two reads, followed by the peer's first bytes.
    let bridge = b"HELLO REPLY RESULT=OK VERSION=3.1\nSTREAM STATUS RESULT=OK\nHTTP/1.1 200 OK\r\n";
    let mut reads = [&bridge[..34], &bridge[34..]].into_iter();

    let connect = StreamConnect::new(SessionId::new("my-session")?, "example.i2p").into_owned();
    let hello = Hello::new(Version::V3_1, Version::V3_3);
    let mut exchange = Exchange::new(connect)?.with_hello(hello)?;
    let (mut written, mut buf) = (Vec::new(), Vec::new());
    loop {
        match exchange.poll() {
            // socket.write_all(bytes)
            Step::Send(bytes) => written.extend_from_slice(bytes),
            // socket.read(): here, the canned replies
            Step::Recv if buf.is_empty() => buf.extend_from_slice(reads.next().unwrap()),
            Step::Recv => {
                let used = exchange.feed(&buf)?;
                buf.drain(..used);
            }
            Step::Done => break,
        }
    }
    exchange.finish()?;
    assert_eq!(
        written,
        b"HELLO VERSION MIN=3.1 MAX=3.3\nSTREAM CONNECT ID=my-session DESTINATION=example.i2p\n"
    );
    // The stream's first bytes, untouched, first in line for the user.
    assert_eq!(buf, b"HTTP/1.1 200 OK\r\n");
    Ok(())
}
// README example end

/// The code between the markers, as README.md's ```rust block shows it.
fn marked_code() -> &'static str {
    let this = include_str!("readme.rs");
    let begin = "// README example begin\n";
    let start = this.find(begin).expect("begin marker") + begin.len();
    let end = this.find("// README example end\n").expect("end marker");
    &this[start..end]
}

#[test]
fn the_readme_example_runs() {
    main().expect("the README example returns Ok");
}

#[test]
fn the_readme_shows_this_example() {
    let readme = include_str!("../README.md");
    let block = format!("```rust\n{}```\n", marked_code());
    assert!(
        readme.contains(&block),
        "README.md's ```rust block differs from tests/readme.rs:\n{block}"
    );
}
