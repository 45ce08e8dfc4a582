//! The one tokenizer for SAM lines, and the framing that cuts a byte stream into lines.
//!
//! Reading is lenient (both dialects): runs of spaces or tabs, an optional `\r` before `\n`,
//! quoted values with `\"` and `\\` escapes (Java), bare quotes-free values (i2pd), bare keys,
//! `KEY=` with an empty value, and a last line ended by EOF. Nothing is copied: a [`Line`]
//! borrows the input, and a value is unescaped (allocating) only when it contains an escape.

use alloc::borrow::Cow;
use alloc::string::String;
use alloc::vec::Vec;

use crate::error::Error;

/// Longest line accepted from a bridge, terminator included.
///
/// Real replies stay under 3 KiB (an RSA-4096 `SESSION STATUS`); a `NAMING REPLY` with leaseset
/// options has no bound in the spec, so the cap leaves room for those while keeping memory bounded.
pub const MAX_LINE_LEN: usize = 64 * 1024;

/// One SAM line, tokenized lazily.
///
/// The first word is the verb, the second (when it has no `=`) the action; everything after that
/// is read by [`Line::params`]. `PING` and `PONG` lines keep everything after the first space
/// verbatim as [`Line::ping_text`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Line<'a> {
    verb: &'a str,
    action: Option<&'a str>,
    rest: &'a str,
}

impl<'a> Line<'a> {
    /// Tokenizes one line. `bytes` may end with `\n` or `\r\n` (both are stripped) or with
    /// nothing (a last line ended by EOF). It must not contain another `\n`.
    pub fn parse(bytes: &'a [u8]) -> Result<Line<'a>, Error> {
        let bytes = strip_terminator(bytes);
        if bytes.len() >= MAX_LINE_LEN {
            return Err(Error::LineTooLong {
                limit: MAX_LINE_LEN,
            });
        }
        if let Some(i) = scan(
            bytes,
            |w| has_byte(w, b'\n') | has_zero(w),
            |x| x == b'\n' || x == 0,
        ) {
            return Err(Error::Syntax(if bytes[i] == 0 {
                "NUL byte in line"
            } else {
                "newline inside a line"
            }));
        }
        let text = core::str::from_utf8(bytes).map_err(|_| Error::NotUtf8)?;
        let text = text.trim_start_matches(is_space);
        let (verb, after) = split_word(text);
        if verb.is_empty() {
            return Err(Error::Syntax("empty line"));
        }
        if verb.contains('"') || verb.starts_with('=') {
            return Err(Error::Syntax("quote or = in the first word"));
        }
        if verb.eq_ignore_ascii_case("PING") || verb.eq_ignore_ascii_case("PONG") {
            // Everything after the first space is the payload, verbatim (Java and i2pd agree).
            return Ok(Line {
                verb,
                action: None,
                rest: after,
            });
        }
        let after = after.trim_start_matches(is_space);
        let (second, tail) = split_word(after);
        if !second.is_empty() && !second.contains('=') && !second.contains('"') {
            Ok(Line {
                verb,
                action: Some(second),
                rest: tail,
            })
        } else {
            Ok(Line {
                verb,
                action: None,
                rest: after,
            })
        }
    }

    /// The first word (`HELLO`, `SESSION`, …, or a destination on an accept line).
    pub fn verb(&self) -> &'a str {
        self.verb
    }

    /// The second word when it is not a `KEY=VALUE` pair (`REPLY`, `STATUS`, …).
    pub fn action(&self) -> Option<&'a str> {
        self.action
    }

    /// `true` when verb and action match, ignoring ASCII case (Java upper-cases them).
    pub fn is(&self, verb: &str, action: Option<&str>) -> bool {
        self.verb.eq_ignore_ascii_case(verb)
            && match (self.action, action) {
                (Some(a), Some(b)) => a.eq_ignore_ascii_case(b),
                (None, None) => true,
                _ => false,
            }
    }

    /// For `PING`/`PONG` lines: the text after the first space, verbatim (`None` when absent).
    pub fn ping_text(&self) -> Option<&'a str> {
        if self.rest.is_empty() {
            None
        } else {
            Some(self.rest)
        }
    }

    /// The `KEY[=VALUE]` parameters, in order.
    pub fn params(&self) -> Params<'a> {
        Params { rest: self.rest }
    }

    /// The first value of `key` (case-sensitive), or `None`. Errors only on malformed input.
    pub fn get(&self, key: &str) -> Result<Option<Value<'a>>, Error> {
        for p in self.params() {
            let p = p?;
            if p.key == key {
                return Ok(Some(p.value.unwrap_or(Value::BARE)));
            }
        }
        Ok(None)
    }

    /// A short, printable description of the line for error messages (at most 80 chars).
    pub fn describe(&self) -> String {
        let mut s = String::from(self.verb);
        if let Some(a) = self.action {
            s.push(' ');
            s.push_str(a);
        }
        truncate(&s, 80)
    }
}

/// Iterator over the parameters of a [`Line`].
#[derive(Debug, Clone)]
pub struct Params<'a> {
    rest: &'a str,
}

/// One `KEY`, `KEY=` or `KEY=VALUE` parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Param<'a> {
    /// The key, never empty, never quoted.
    pub key: &'a str,
    /// `None` for a bare key, `Some` (possibly empty) after `=`.
    pub value: Option<Value<'a>>,
}

impl<'a> Iterator for Params<'a> {
    type Item = Result<Param<'a>, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        let rest = self.rest.trim_start_matches(is_space);
        if rest.is_empty() {
            self.rest = rest;
            return None;
        }
        let bytes = rest.as_bytes();
        // The key runs to `=`, a space, or the end; quotes are not allowed in keys.
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'=' | b' ' | b'\t' => break,
                b'"' => {
                    self.rest = "";
                    return Some(Err(Error::Syntax("quote in a key")));
                }
                _ => i += 1,
            }
        }
        let key = &rest[..i];
        if key.is_empty() {
            self.rest = "";
            return Some(Err(Error::Syntax("empty key")));
        }
        if i >= bytes.len() || bytes[i] != b'=' {
            self.rest = &rest[i..];
            return Some(Ok(Param { key, value: None }));
        }
        let value_start = i + 1;
        match scan_value(&bytes[value_start..]) {
            Ok((len, quoted, escaped)) => {
                let raw = &rest[value_start..value_start + len];
                self.rest = &rest[value_start + len..];
                Some(Ok(Param {
                    key,
                    value: Some(Value {
                        raw,
                        quoted,
                        escaped,
                    }),
                }))
            }
            Err(e) => {
                self.rest = "";
                Some(Err(e))
            }
        }
    }
}

/// A value as it stands on the wire; [`Value::text`] gives its meaning.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Value<'a> {
    raw: &'a str,
    quoted: bool,
    escaped: bool,
}

impl<'a> Value<'a> {
    /// What a bare key means: Java reads `KEY` as `KEY=true`.
    pub(crate) const BARE: Value<'static> = Value {
        raw: "true",
        quoted: false,
        escaped: false,
    };

    /// The bytes between `=` and the end of the value, quotes and escapes included.
    pub fn raw(&self) -> &'a str {
        self.raw
    }

    /// The value with quotes removed and escapes resolved. Borrows unless there was an escape.
    pub fn text(&self) -> Cow<'a, str> {
        if !self.quoted {
            return Cow::Borrowed(self.raw);
        }
        if !self.escaped {
            // The common quoted form `"..."` with nothing inside to resolve.
            let b = self.raw.as_bytes();
            if b.len() >= 2 && b[0] == b'"' && b[b.len() - 1] == b'"' {
                let inner = &self.raw[1..self.raw.len() - 1];
                if !inner.contains('"') {
                    return Cow::Borrowed(inner);
                }
            }
        }
        let mut out = String::with_capacity(self.raw.len());
        let mut in_quotes = false;
        let mut chars = self.raw.chars();
        while let Some(c) = chars.next() {
            match c {
                '"' => in_quotes = !in_quotes,
                '\\' if in_quotes => {
                    if let Some(n) = chars.next() {
                        out.push(n);
                    }
                }
                c => out.push(c),
            }
        }
        Cow::Owned(out)
    }
}

/// Length of a value starting at `bytes[0]`, whether it had quotes, whether it had escapes.
/// A value ends at an unquoted space or tab; `"` toggles quoting; `\` escapes inside quotes.
fn scan_value(bytes: &[u8]) -> Result<(usize, bool, bool), Error> {
    let mut i = 0;
    let mut quoted = false;
    let mut escaped = false;
    let mut in_quotes = false;
    loop {
        if !in_quotes {
            match find_value_end(&bytes[i..]) {
                None => return Ok((bytes.len(), quoted, escaped)),
                Some(off) => {
                    i += off;
                    if bytes[i] == b'"' {
                        in_quotes = true;
                        quoted = true;
                        i += 1;
                    } else {
                        return Ok((i, quoted, escaped));
                    }
                }
            }
        } else {
            match find_quote_or_backslash(&bytes[i..]) {
                None => return Err(Error::Syntax("unterminated quote")),
                Some(off) => {
                    i += off;
                    if bytes[i] == b'\\' {
                        escaped = true;
                        if i + 1 >= bytes.len() {
                            return Err(Error::Syntax("unterminated escape"));
                        }
                        i += 2;
                    } else {
                        in_quotes = false;
                        i += 1;
                    }
                }
            }
        }
    }
}

fn is_space(c: char) -> bool {
    c == ' ' || c == '\t'
}

fn split_word(s: &str) -> (&str, &str) {
    // Byte search is safe here: space and tab never occur inside a UTF-8 multi-byte sequence.
    match scan(
        s.as_bytes(),
        |w| has_byte(w, b' ') | has_byte(w, b'\t'),
        |x| x == b' ' || x == b'\t',
    ) {
        Some(i) => (&s[..i], &s[i + 1..]),
        None => (s, ""),
    }
}

fn strip_terminator(bytes: &[u8]) -> &[u8] {
    let bytes = bytes.strip_suffix(b"\n").unwrap_or(bytes);
    bytes.strip_suffix(b"\r").unwrap_or(bytes)
}

pub(crate) fn truncate(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((i, _)) => {
            let mut t = String::from(&s[..i]);
            t.push('…');
            t
        }
        None => String::from(s),
    }
}

// ---- word-at-a-time scanning (safe code): the long base64 values dominate parse time ----

const LO: u64 = 0x0101_0101_0101_0101;
const HI: u64 = 0x8080_8080_8080_8080;

#[inline(always)]
fn has_zero(x: u64) -> u64 {
    x.wrapping_sub(LO) & !x & HI
}

#[inline(always)]
fn has_byte(x: u64, b: u8) -> u64 {
    has_zero(x ^ (LO * b as u64))
}

#[inline(always)]
fn word(chunk: &[u8]) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(chunk);
    u64::from_le_bytes(w)
}

#[inline(always)]
fn scan(hay: &[u8], mask: impl Fn(u64) -> u64, hit: impl Fn(u8) -> bool) -> Option<usize> {
    let mut chunks = hay.chunks_exact(8);
    let mut base = 0;
    for chunk in &mut chunks {
        if mask(word(chunk)) != 0 {
            return chunk.iter().position(|&b| hit(b)).map(|p| base + p);
        }
        base += 8;
    }
    chunks
        .remainder()
        .iter()
        .position(|&b| hit(b))
        .map(|p| base + p)
}

/// Position of the first `b` in `hay`.
pub fn find_byte(hay: &[u8], b: u8) -> Option<usize> {
    scan(hay, |w| has_byte(w, b), |x| x == b)
}

fn find_value_end(hay: &[u8]) -> Option<usize> {
    scan(
        hay,
        |w| has_byte(w, b' ') | has_byte(w, b'\t') | has_byte(w, b'"'),
        |x| x == b' ' || x == b'\t' || x == b'"',
    )
}

fn find_quote_or_backslash(hay: &[u8]) -> Option<usize> {
    scan(
        hay,
        |w| has_byte(w, b'"') | has_byte(w, b'\\'),
        |x| x == b'"' || x == b'\\',
    )
}

/// Cuts a byte stream into lines without ever buffering more than [`MAX_LINE_LEN`] bytes.
///
/// Complete lines found entirely inside the input are returned borrowed from it (no copy);
/// only a line split across reads is assembled in the internal buffer.
#[derive(Debug, Default, Clone)]
pub struct LineFramer {
    partial: Vec<u8>,
}

impl LineFramer {
    /// A framer with an empty buffer.
    pub fn new() -> Self {
        Self::default()
    }

    /// Takes bytes up to and including the next `\n`.
    ///
    /// Returns the complete line (terminator included) if one ended inside `input`, and the
    /// number of bytes of `input` consumed. Bytes after the `\n` are not touched.
    pub fn push<'b>(&'b mut self, input: &'b [u8]) -> Result<(Option<&'b [u8]>, usize), Error> {
        match find_byte(input, b'\n') {
            Some(i) => {
                let used = i + 1;
                if self.partial.len() + used > MAX_LINE_LEN {
                    return Err(Error::LineTooLong {
                        limit: MAX_LINE_LEN,
                    });
                }
                if self.partial.is_empty() {
                    Ok((Some(&input[..used]), used))
                } else {
                    self.partial.extend_from_slice(&input[..used]);
                    Ok((Some(&self.partial), used))
                }
            }
            None => {
                if self.partial.len() + input.len() >= MAX_LINE_LEN {
                    return Err(Error::LineTooLong {
                        limit: MAX_LINE_LEN,
                    });
                }
                self.partial.extend_from_slice(input);
                Ok((None, input.len()))
            }
        }
    }

    /// Call after a line returned by [`LineFramer::push`] has been handled.
    pub fn clear(&mut self) {
        self.partial.clear();
    }

    /// Bytes of an unfinished line held so far.
    pub fn pending(&self) -> &[u8] {
        &self.partial
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    fn pairs(line: &str) -> Vec<(String, Option<String>)> {
        Line::parse(line.as_bytes())
            .unwrap()
            .params()
            .map(|p| {
                let p = p.unwrap();
                (p.key.into(), p.value.map(|v| v.text().into_owned()))
            })
            .collect()
    }

    #[test]
    fn verb_action_and_pairs() {
        let l = Line::parse(b"HELLO VERSION MIN=3.1 MAX=3.3\n").unwrap();
        assert_eq!(l.verb(), "HELLO");
        assert_eq!(l.action(), Some("VERSION"));
        assert_eq!(
            pairs("HELLO VERSION MIN=3.1 MAX=3.3"),
            vec![
                ("MIN".into(), Some("3.1".into())),
                ("MAX".into(), Some("3.3".into()))
            ]
        );
    }

    #[test]
    fn tokenizer_table_of_reference_11_7() {
        assert_eq!(
            pairs("NAMING LOOKUP NAME=\"a b\""),
            vec![("NAME".into(), Some("a b".into()))]
        );
        assert_eq!(
            pairs("X Y KEY=\"say \\\"hi\\\"\""),
            vec![("KEY".into(), Some("say \"hi\"".into()))]
        );
        assert_eq!(pairs("X Y FLAG"), vec![("FLAG".into(), None)]);
        assert_eq!(pairs("X Y EMPTY="), vec![("EMPTY".into(), Some("".into()))]);
        assert_eq!(
            pairs("X Y EMPTY=\"\""),
            vec![("EMPTY".into(), Some("".into()))]
        );
        assert_eq!(pairs("X Y K=a=b"), vec![("K".into(), Some("a=b".into()))]);
        assert_eq!(
            pairs("X Y K=ab\"c d\""),
            vec![("K".into(), Some("abc d".into()))]
        );
        assert_eq!(pairs("X  Y   K=v"), vec![("K".into(), Some("v".into()))]);
        assert_eq!(pairs("X\tY\tK=v"), vec![("K".into(), Some("v".into()))]);
        let bad = Line::parse(b"X Y K=\"unterminated").unwrap();
        assert_eq!(
            bad.params().next(),
            Some(Err(Error::Syntax("unterminated quote")))
        );
        let bad = Line::parse(b"X Y =v").unwrap();
        assert_eq!(bad.params().next(), Some(Err(Error::Syntax("empty key"))));
        let ping = Line::parse(b"PING hello  world\n").unwrap();
        assert_eq!(ping.ping_text(), Some("hello  world"));
        assert_eq!(Line::parse(b"PING").unwrap().ping_text(), None);
    }

    #[test]
    fn crlf_eof_and_errors() {
        let l = Line::parse(b"STREAM STATUS RESULT=OK\r\n").unwrap();
        assert_eq!(l.get("RESULT").unwrap().unwrap().text(), "OK");
        let l =
            Line::parse(b"DEST REPLY RESULT=I2P_ERROR MESSAGE=\"DEST GENERATE required\"").unwrap();
        assert_eq!(
            l.get("MESSAGE").unwrap().unwrap().text(),
            "DEST GENERATE required"
        );
        assert_eq!(Line::parse(b"\n"), Err(Error::Syntax("empty line")));
        assert_eq!(
            Line::parse(b"A\0B\n"),
            Err(Error::Syntax("NUL byte in line"))
        );
        assert_eq!(Line::parse(b"A \xff\n"), Err(Error::NotUtf8));
        let long = vec![b'a'; MAX_LINE_LEN + 1];
        assert!(matches!(Line::parse(&long), Err(Error::LineTooLong { .. })));
    }

    #[test]
    fn framer_hands_back_bytes_after_the_line() {
        let mut f = LineFramer::new();
        let (line, used) = f.push(b"STREAM STA").unwrap();
        assert!(line.is_none());
        assert_eq!(used, 10);
        let (line, used) = f.push(b"TUS RESULT=OK\nDATA").unwrap();
        assert_eq!(line.unwrap(), b"STREAM STATUS RESULT=OK\n");
        assert_eq!(used, 14);
        f.clear();
        let mut f = LineFramer::new();
        let big = vec![b'x'; MAX_LINE_LEN];
        assert!(matches!(f.push(&big), Err(Error::LineTooLong { .. })));
    }

    #[test]
    fn swar_scan_finds_every_position() {
        for len in 0..40 {
            for pos in 0..len {
                let mut v = vec![b'a'; len];
                v[pos] = b'\n';
                assert_eq!(find_byte(&v, b'\n'), Some(pos));
                v[pos] = b'"';
                assert_eq!(find_value_end(&v), Some(pos));
            }
            assert_eq!(find_byte(&vec![b'a'; len], b'\n'), None);
        }
        // bytes >= 0x80 must not produce false positives
        let v = vec![0x80u8, 0xff, 0x81, 0x0b, 0xa0, 0x8a, 0xc2, 0x8a, b'\n'];
        assert_eq!(find_byte(&v, b'\n'), Some(8));
    }
}
