//! Exchanges: the state machines a caller drives over any byte transport.
//!
//! An [`Exchange`] is one command and its answer on one socket, optionally preceded by the
//! `HELLO` handshake. The caller pulls [`Step`]s and moves bytes:
//!
//! ```text
//! loop {
//!     match exchange.poll() {
//!         Step::Send(bytes) => write all of `bytes` to the socket,
//!         Step::Recv => if `buf` is empty, read into it (0 bytes read: exchange.eof()?);
//!                       else let n = exchange.feed(&buf)?; drop the first n bytes of buf,
//!         Step::Done => break,
//!     }
//! }
//! let output = exchange.finish()?;   // whatever is left in buf is application data
//! ```
//!
//! The one rule that makes SAM safe: **an exchange consumes exactly the bytes that belong to the
//! protocol and not one more.** After `STREAM STATUS RESULT=OK` (connect) or after the peer's
//! destination line (accept), every byte the caller has already read belongs to the stream.
//!
//! ```
//! use sam_proto::exchange::{Exchange, Step};
//! use sam_proto::command::{Hello, StreamConnect};
//! use sam_proto::{SessionId, Version};
//!
//! let connect = StreamConnect::new(SessionId::new("s1").unwrap(), "peer.i2p").into_owned();
//! let mut ex = Exchange::new(connect).unwrap().with_hello(Hello::new(Version::V3_1, Version::V3_3)).unwrap();
//! assert_eq!(ex.poll(), Step::Send(b"HELLO VERSION MIN=3.1 MAX=3.3\n"));
//! assert_eq!(ex.poll(), Step::Recv);
//! ex.feed(b"HELLO REPLY RESULT=OK VERSION=3.1\n").unwrap();
//! assert_eq!(ex.poll(), Step::Send(b"STREAM CONNECT ID=s1 DESTINATION=peer.i2p\n"));
//! assert_eq!(ex.poll(), Step::Recv);
//! let input = b"STREAM STATUS RESULT=OK\nHTTP/1.1 200 OK\r\n";
//! let used = ex.feed(input).unwrap();
//! assert_eq!(ex.poll(), Step::Done);
//! assert_eq!(&input[used..], b"HTTP/1.1 200 OK\r\n"); // stream data, handed back untouched
//! ex.finish().unwrap();
//! ```

use alloc::borrow::Cow;
use alloc::string::String;
use alloc::vec::Vec;

use crate::command::{
    DestGenerate, Hello, NamingLookup, Ping, Pong, SessionAdd, SessionCreate, SessionRemove,
    StreamAccept, StreamConnect, StreamForward,
};
use crate::error::Error;
use crate::keys::{Destination, PrivateKeys};
use crate::line::{Line, LineFramer};
use crate::message::Message;
use crate::reply::{DestReply, HelloReply, NamingReply, PeerLine, SessionStatus, StreamStatus};
use crate::result::ResultCode;
use crate::types::Version;

/// What [`Exchange::finish`] says after `feed` or `eof` has returned the exchange's error.
pub const REPORTED: &str = "the exchange failed and feed() or eof() returned the error";

/// What the caller must do next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step<'a> {
    /// Write all of these bytes, then call `poll` again.
    Send(&'a [u8]),
    /// Read from the socket and hand the bytes to `feed` (or call `eof`).
    Recv,
    /// Finished: call `finish`. Unconsumed input belongs to the caller.
    Done,
}

/// One request/response conversation: how to write the command and read its answer.
///
/// Implemented for the commands that expect an answer on their own socket.
pub trait Request {
    /// What a successful exchange yields.
    type Output;
    /// What the exchange waits for, for error messages.
    const WAITING_FOR: &'static str;
    /// Encodes the command for the negotiated `version`.
    fn encode_request(&self, version: Version, out: &mut Vec<u8>) -> Result<(), Error>;
    /// Called once the command has been handed out; `Some` finishes without reading
    /// (silent commands).
    fn after_send(&mut self) -> Option<Result<Self::Output, Error>> {
        None
    }
    /// Called for each complete line (`index` counts lines after the command, from 0);
    /// `None` means "more lines to come".
    fn on_line(&mut self, line: &Line<'_>, index: usize) -> Option<Result<Self::Output, Error>>;
    /// What a trace of the request may show (the `tracing` feature): names only, never a
    /// key, a password or an option value. Nothing by default.
    fn subject(&self) -> Subject<'_> {
        Subject::default()
    }
}

/// What the traces of a request show about it ([`Request::subject`]): the session it is for,
/// the style a `SESSION CREATE` asks for, and the name looked up or the peer connected to.
/// Never a private key, a password or an option value.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Subject<'a> {
    /// The session ID the command is for (or creates).
    pub session: Option<&'a str>,
    /// The `STYLE=` a `SESSION CREATE` asks for.
    pub style: Option<&'a str>,
    /// The name looked up, or the destination connected to (a `.b32.i2p` address, a host
    /// name or a public destination in base64).
    pub target: Option<&'a str>,
}

impl<'a> Subject<'a> {
    /// A subject of session `session`.
    pub fn session(session: &'a str) -> Subject<'a> {
        Subject {
            session: Some(session),
            ..Subject::default()
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Hello,
    AwaitHello,
    Command,
    AwaitReply,
    Done,
}

/// A request on its own socket, optionally after `HELLO`. See the [module docs](self).
#[derive(Debug)]
pub struct Exchange<R: Request> {
    request: R,
    state: State,
    version: Version,
    out: Vec<u8>,
    /// Bytes at the front of `out` already handed to the caller.
    out_handed: usize,
    framer: LineFramer,
    lines: usize,
    outcome: Option<Result<R::Output, Error>>,
    deferred: Option<Error>,
    /// `MIN`/`MAX` of the HELLO stage, to check the bridge's choice.
    hello_bounds: (Option<Version>, Option<Version>),
    /// `false` until the bridge's `HELLO REPLY` has been accepted (`true` without a HELLO).
    past_hello: bool,
}

impl<R: Request> Exchange<R> {
    /// An exchange that sends `request` at once (the socket has already said `HELLO`).
    ///
    /// The request is encoded here, so a value that cannot be sent is refused before any
    /// byte is written. Versions before 3.2 are assumed (no quoting) until
    /// [`Exchange::with_hello`] or [`Exchange::with_version`] says otherwise.
    pub fn new(request: R) -> Result<Self, Error> {
        // Refuse at once what no version can carry; a value that needs quoting may still go to
        // a 3.2+ bridge, so that case waits until the version is known.
        let mut out = Vec::new();
        request.encode_request(Version::V3_3, &mut out)?;
        out.clear();
        let deferred = request.encode_request(Version::V3_1, &mut out).err();
        Ok(Exchange {
            request,
            state: State::Command,
            version: Version::V3_1,
            out,
            out_handed: 0,
            framer: LineFramer::new(),
            lines: 0,
            outcome: None,
            deferred,
            hello_bounds: (None, None),
            past_hello: true,
        })
    }

    /// Re-encodes the request for a socket that negotiated `version` earlier.
    pub fn with_version(mut self, version: Version) -> Result<Self, Error> {
        self.version = version;
        if self.state == State::Command {
            self.out.clear();
            self.deferred = None;
            self.request.encode_request(version, &mut self.out)?;
        }
        Ok(self)
    }

    /// Sends `hello` first and the request once the bridge has agreed on a version.
    pub fn with_hello(mut self, hello: Hello<'static>) -> Result<Self, Error> {
        self.out.clear();
        self.deferred = None;
        let version = hello.max.unwrap_or(Version::V3_1);
        hello.encode(version, &mut self.out)?;
        self.hello_bounds = (hello.min, hello.max);
        self.state = State::Hello;
        self.past_hello = false;
        Ok(self)
    }

    /// The version negotiated by the `HELLO` stage (or given to `with_version`).
    pub fn version(&self) -> Version {
        self.version
    }

    /// The next thing to do.
    pub fn poll(&mut self) -> Step<'_> {
        if self.out_handed > 0 {
            self.out.drain(..self.out_handed);
            self.out_handed = 0;
            match self.state {
                State::Hello => self.state = State::AwaitHello,
                State::Command => {
                    self.state = State::AwaitReply;
                    if let Some(outcome) = self.request.after_send() {
                        self.complete(outcome);
                    }
                }
                _ => {}
            }
        }
        if let Some(e) = self.deferred.take() {
            self.complete(Err(e));
        }
        if !self.out.is_empty() {
            self.out_handed = self.out.len();
            return Step::Send(&self.out);
        }
        match self.state {
            State::Done => Step::Done,
            _ => Step::Recv,
        }
    }

    /// Hands received bytes to the exchange; returns how many it took. Bytes it did not take
    /// belong to the caller: feed them again after the next `poll` if that says `Recv`, or
    /// keep them as application data once it says `Done`.
    ///
    /// Errors (malformed lines, a refusal from the bridge) end the exchange.
    pub fn feed(&mut self, input: &[u8]) -> Result<usize, Error> {
        let mut used = 0;
        while used < input.len() && matches!(self.state, State::AwaitHello | State::AwaitReply) {
            let (line, n) = match self.framer.push(&input[used..]) {
                Ok(x) => x,
                Err(e) => return Err(self.fail(e)),
            };
            used += n;
            let Some(line) = line else { continue };
            let line = match Line::parse(line) {
                Ok(l) => l,
                Err(e) => return Err(self.fail(e)),
            };
            let result = handle_line(
                &line,
                self.hello_bounds,
                &mut self.state,
                &mut self.request,
                &mut self.version,
                &mut self.lines,
                &mut self.out,
                &mut self.past_hello,
            );
            self.framer.clear();
            match result {
                Ok(None) => {}
                Ok(Some(Ok(output))) => self.complete(Ok(output)),
                Ok(Some(Err(e))) => return Err(self.fail(e)),
                Err(e) => return Err(self.fail(e)),
            }
        }
        Ok(used)
    }

    /// [`Exchange::feed`] from a read buffer: drops the consumed bytes from the front of `buf`.
    /// What stays in `buf` once the exchange is done is application data.
    pub fn feed_buf(&mut self, buf: &mut Vec<u8>) -> Result<(), Error> {
        let used = self.feed(buf)?;
        buf.drain(..used.min(buf.len()));
        Ok(())
    }

    /// Tells the exchange the bridge closed the connection. A final line without `\n` is
    /// read as a line; anything else unfinished is an [`Error::Eof`].
    pub fn eof(&mut self) -> Result<(), Error> {
        if self.state == State::Done {
            return Ok(());
        }
        if !self.framer.pending().is_empty()
            && matches!(self.state, State::AwaitHello | State::AwaitReply)
        {
            let mut last = Vec::from(self.framer.pending());
            last.push(b'\n');
            self.framer.clear();
            self.feed(&last)?;
            if self.state == State::Done {
                return Ok(());
            }
        }
        let during = if matches!(self.state, State::Hello | State::AwaitHello) {
            "HELLO REPLY"
        } else {
            R::WAITING_FOR
        };
        Err(self.fail(Error::Eof { during }))
    }

    /// The result, once `poll` said `Done`.
    ///
    /// Every error is reported once: by the `feed` or `eof` call that met it, after which
    /// `finish` returns [`Error::Misuse`] ("already reported"); an error found without input
    /// (a request the negotiated version cannot carry) comes from `finish`.
    pub fn finish(self) -> Result<R::Output, Error> {
        match self.outcome {
            Some(outcome) => outcome,
            None => Err(Error::Misuse("finish() before the exchange was done")),
        }
    }

    fn complete(&mut self, outcome: Result<R::Output, Error>) {
        self.state = State::Done;
        self.outcome = Some(outcome);
    }

    /// Ends the exchange with `e`, which the caller gets from this `feed`/`eof` call; the
    /// error is reported there once, so `finish` says the exchange failed without repeating it.
    fn fail(&mut self, e: Error) -> Error {
        self.complete(Err(Error::Misuse(REPORTED)));
        e
    }

    /// `true` while the `HELLO` stage is not over (its reply has not been read).
    pub fn awaiting_hello(&self) -> bool {
        !self.past_hello
    }

    /// The request, for a caller that fills in what it learns before the command is encoded
    /// (the UDP address a `SESSION CREATE` forwards to, once the socket is connected).
    pub fn request_mut(&mut self) -> &mut R {
        &mut self.request
    }

    /// The request.
    pub fn request(&self) -> &R {
        &self.request
    }
}

#[allow(clippy::too_many_arguments)]
fn handle_line<R: Request>(
    line: &Line<'_>,
    bounds: (Option<Version>, Option<Version>),
    state: &mut State,
    request: &mut R,
    version: &mut Version,
    lines: &mut usize,
    out: &mut Vec<u8>,
    past_hello: &mut bool,
) -> Result<Option<Result<R::Output, Error>>, Error> {
    if line.verb().eq_ignore_ascii_case("PING") {
        // A bridge may probe at any time; answering keeps the socket alive (Java closes
        // sockets that do not answer).
        let pong = Pong {
            text: line.ping_text().map(Cow::Borrowed),
        };
        pong.encode(*version, out)
            .map_err(|_| unanswerable_ping())?;
        trace_event!(debug, text = ?pong.text, "bridge PING answered");
        return Ok(None);
    }
    match state {
        State::AwaitHello => {
            let v = hello_outcome(line, bounds.0, bounds.1)?;
            *version = v;
            *state = State::Command;
            *past_hello = true;
            request.encode_request(v, out)?;
            Ok(None)
        }
        _ => {
            let index = *lines;
            *lines += 1;
            Ok(request.on_line(line, index))
        }
    }
}

/// A bridge `PING` whose text cannot be echoed on one line (it holds control characters).
pub(crate) fn unanswerable_ping() -> Error {
    Error::BadValue {
        key: "PING",
        reason: "the bridge's PING text holds control characters and cannot be echoed",
    }
}

fn hello_outcome(
    line: &Line<'_>,
    min: Option<Version>,
    max: Option<Version>,
) -> Result<Version, Error> {
    let reply = HelloReply::from_line(line)?;
    if !reply.result.is_ok() {
        return Err(refused("HELLO REPLY", reply.result, reply.message));
    }
    let version = reply.version.ok_or(Error::MissingKey {
        line: "HELLO REPLY",
        key: "VERSION",
    })?;
    // The bridge must answer inside [MIN, MAX]; i2pd 2.58 answers `MAX=3` with 0.3, and a
    // version we did not ask for would make every later decision (quoting, ports) wrong.
    if min.is_some_and(|m| version < m) || max.is_some_and(|m| version > m) {
        return Err(Error::BadValue {
            key: "VERSION",
            reason: "the bridge chose a version outside the range the client asked for",
        });
    }
    Ok(version)
}

fn refused(reply: &'static str, result: ResultCode, message: Option<Cow<'_, str>>) -> Error {
    Error::Refused {
        reply,
        result,
        message: message.map(|m| String::from(&*m)),
    }
}

/// Reads the answer to a STREAM command: `STREAM STATUS`, or the `SESSION STATUS` that i2pd
/// sends for some stream errors ("Socket already in use", "Already accepting").
fn stream_outcome(line: &Line<'_>) -> Result<(), Error> {
    if line.is("SESSION", Some("STATUS")) {
        let s = SessionStatus::from_line(line)?;
        return if s.result.is_ok() {
            Err(Error::UnexpectedLine {
                expected: "STREAM STATUS",
                got: line.describe(),
            })
        } else {
            Err(refused("SESSION STATUS", s.result, s.message))
        };
    }
    let s = StreamStatus::from_line(line)?;
    if s.result.is_ok() {
        Ok(())
    } else {
        Err(refused("STREAM STATUS", s.result, s.message))
    }
}

pub(crate) fn session_outcome(line: &Line<'_>) -> Result<SessionStatus<'static>, Error> {
    let s = SessionStatus::from_line(line)?;
    if s.result.is_ok() {
        Ok(s.into_owned())
    } else {
        Err(refused("SESSION STATUS", s.result, s.message))
    }
}

impl<'a> Request for Hello<'a> {
    type Output = Version;
    const WAITING_FOR: &'static str = "HELLO REPLY";
    fn encode_request(&self, _: Version, out: &mut Vec<u8>) -> Result<(), Error> {
        self.encode(self.max.unwrap_or(Version::V3_1), out)
    }
    fn on_line(&mut self, line: &Line<'_>, _: usize) -> Option<Result<Version, Error>> {
        Some(hello_outcome(line, self.min, self.max))
    }
}

impl<'a> Request for DestGenerate<'a> {
    type Output = PrivateKeys;
    const WAITING_FOR: &'static str = "DEST REPLY";
    fn encode_request(&self, v: Version, out: &mut Vec<u8>) -> Result<(), Error> {
        self.encode(v, out)
    }
    fn on_line(&mut self, line: &Line<'_>, _: usize) -> Option<Result<PrivateKeys, Error>> {
        Some(DestReply::from_line(line).and_then(|r| r.keys()))
    }
}

impl<'a> Request for NamingLookup<'a> {
    type Output = Destination;
    const WAITING_FOR: &'static str = "NAMING REPLY";
    fn encode_request(&self, v: Version, out: &mut Vec<u8>) -> Result<(), Error> {
        self.encode(v, out)
    }
    fn on_line(&mut self, line: &Line<'_>, _: usize) -> Option<Result<Destination, Error>> {
        Some(naming_outcome(line))
    }
    fn subject(&self) -> Subject<'_> {
        Subject {
            target: Some(&self.name),
            ..Subject::default()
        }
    }
}

/// `PING` on a socket of its own (3.2+): done when the bridge answers `PONG` with the same
/// text. (i2pd 2.58+ closes the socket after its `PONG`, so never send it on a session's
/// control socket there.)
impl<'a> Request for Ping<'a> {
    type Output = ();
    const WAITING_FOR: &'static str = "PONG";
    fn encode_request(&self, v: Version, out: &mut Vec<u8>) -> Result<(), Error> {
        if v < Version::V3_2 {
            // A 3.0/3.1 bridge does not know PING and closes the socket (i2pd 2.45).
            return Err(Error::NeedsVersion {
                command: "PING",
                needs: Version::V3_2,
                negotiated: v,
            });
        }
        self.encode(v, out)
    }
    fn on_line(&mut self, line: &Line<'_>, _: usize) -> Option<Result<(), Error>> {
        Some(Pong::from_line(line).and_then(|pong| {
            if pong.text == self.text {
                Ok(())
            } else {
                Err(Error::BadValue {
                    key: "PONG",
                    reason: "the text differs from the PING's",
                })
            }
        }))
    }
}

pub(crate) fn naming_outcome(line: &Line<'_>) -> Result<Destination, Error> {
    let r = NamingReply::from_line(line)?;
    if !r.result.is_ok() {
        return Err(refused("NAMING REPLY", r.result, r.message));
    }
    let value = r.value.ok_or(Error::MissingKey {
        line: "NAMING REPLY",
        key: "VALUE",
    })?;
    Ok(Destination::from_base64(&value)?)
}

impl<'a> Request for SessionCreate<'a> {
    type Output = PrivateKeys;
    const WAITING_FOR: &'static str = "SESSION STATUS";
    fn encode_request(&self, v: Version, out: &mut Vec<u8>) -> Result<(), Error> {
        self.encode(v, out)
    }
    fn on_line(&mut self, line: &Line<'_>, _: usize) -> Option<Result<PrivateKeys, Error>> {
        Some(session_outcome(line).and_then(|s| {
            let d = s.destination.ok_or(Error::MissingKey {
                line: "SESSION STATUS",
                key: "DESTINATION",
            })?;
            Ok(PrivateKeys::from_base64(d.expose())?)
        }))
    }
    fn subject(&self) -> Subject<'_> {
        Subject {
            style: Some(self.style.as_str()),
            ..Subject::session(self.id.as_str())
        }
    }
}

impl<'a> Request for StreamConnect<'a> {
    type Output = ();
    const WAITING_FOR: &'static str = "STREAM STATUS";
    fn encode_request(&self, v: Version, out: &mut Vec<u8>) -> Result<(), Error> {
        self.encode(v, out)
    }
    fn after_send(&mut self) -> Option<Result<(), Error>> {
        // SILENT: no status line; the bridge either pipes data or closes.
        (self.silent == Some(true)).then_some(Ok(()))
    }
    fn on_line(&mut self, line: &Line<'_>, _: usize) -> Option<Result<(), Error>> {
        Some(stream_outcome(line))
    }
    fn subject(&self) -> Subject<'_> {
        Subject {
            target: Some(&self.destination),
            ..Subject::session(self.id.as_str())
        }
    }
}

impl<'a> Request for StreamForward<'a> {
    type Output = ();
    const WAITING_FOR: &'static str = "STREAM STATUS";
    fn encode_request(&self, v: Version, out: &mut Vec<u8>) -> Result<(), Error> {
        self.encode(v, out)
    }
    fn on_line(&mut self, line: &Line<'_>, _: usize) -> Option<Result<(), Error>> {
        Some(stream_outcome(line))
    }
    fn subject(&self) -> Subject<'_> {
        Subject::session(self.id.as_str())
    }
}

/// Who connected to us: the result of an accept or of reading a forwarded connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accepted {
    /// The peer's destination (`None` with `SILENT=true`, where the bridge does not say).
    pub peer: Option<Destination>,
    /// The peer's port (Java at 3.2+ only).
    pub from_port: Option<u16>,
    /// Our port the peer connected to (Java at 3.2+ only).
    pub to_port: Option<u16>,
}

fn peer_outcome(line: &Line<'_>) -> Result<Accepted, Error> {
    // An error reply where the destination line should be (router restart, session closed).
    if line
        .action()
        .is_some_and(|a| a.eq_ignore_ascii_case("STATUS"))
    {
        let status = crate::reply::OtherStatus::from_line(line)?;
        let reply = if status.verb.eq_ignore_ascii_case("SESSION") {
            "SESSION STATUS"
        } else {
            "STREAM STATUS"
        };
        return Err(refused(reply, status.result, status.message));
    }
    let peer = PeerLine::from_line(line)?;
    Ok(Accepted {
        peer: Some(peer.parse_destination()?),
        from_port: peer.from_port,
        to_port: peer.to_port,
    })
}

impl<'a> Request for StreamAccept<'a> {
    type Output = Accepted;
    const WAITING_FOR: &'static str = "the peer's destination line";
    fn encode_request(&self, v: Version, out: &mut Vec<u8>) -> Result<(), Error> {
        self.encode(v, out)
    }
    fn after_send(&mut self) -> Option<Result<Accepted, Error>> {
        (self.silent == Some(true)).then_some(Ok(Accepted {
            peer: None,
            from_port: None,
            to_port: None,
        }))
    }
    fn on_line(&mut self, line: &Line<'_>, index: usize) -> Option<Result<Accepted, Error>> {
        if index == 0 {
            match stream_outcome(line) {
                Ok(()) => None,
                Err(e) => Some(Err(e)),
            }
        } else {
            Some(peer_outcome(line))
        }
    }
    fn subject(&self) -> Subject<'_> {
        Subject::session(self.id.as_str())
    }
}

/// Reads the peer line a bridge writes first on a forwarded connection (no command is sent).
#[derive(Debug, Clone, Copy, Default)]
pub struct ForwardedPeer;

impl Request for ForwardedPeer {
    type Output = Accepted;
    const WAITING_FOR: &'static str = "the peer's destination line";
    fn encode_request(&self, _: Version, _: &mut Vec<u8>) -> Result<(), Error> {
        Ok(())
    }
    fn on_line(&mut self, line: &Line<'_>, _: usize) -> Option<Result<Accepted, Error>> {
        Some(peer_outcome(line))
    }
}

impl Exchange<ForwardedPeer> {
    /// Reads the peer line of a connection the bridge forwarded to us.
    pub fn forwarded() -> Self {
        Exchange {
            request: ForwardedPeer,
            state: State::AwaitReply,
            version: Version::V3_1,
            out: Vec::new(),
            out_handed: 0,
            framer: LineFramer::new(),
            lines: 0,
            outcome: None,
            deferred: None,
            hello_bounds: (None, None),
            past_hello: true,
        }
    }
}

impl<'a> Request for SessionAdd<'a> {
    type Output = ();
    const WAITING_FOR: &'static str = "SESSION STATUS";
    fn encode_request(&self, v: Version, out: &mut Vec<u8>) -> Result<(), Error> {
        self.encode(v, out)
    }
    fn on_line(&mut self, line: &Line<'_>, _: usize) -> Option<Result<(), Error>> {
        Some(session_outcome(line).map(|_| ()))
    }
}

impl<'a> Request for SessionRemove<'a> {
    type Output = ();
    const WAITING_FOR: &'static str = "SESSION STATUS";
    fn encode_request(&self, v: Version, out: &mut Vec<u8>) -> Result<(), Error> {
        self.encode(v, out)
    }
    fn on_line(&mut self, line: &Line<'_>, _: usize) -> Option<Result<(), Error>> {
        Some(session_outcome(line).map(|_| ()))
    }
}
