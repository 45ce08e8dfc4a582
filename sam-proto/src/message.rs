//! What every SAM message shares: the [`Message`] trait, the strict [`Writer`], and the
//! field codecs. The concrete messages live in [`crate::command`] and [`crate::reply`].

use alloc::borrow::Cow;
use alloc::string::String;
use alloc::vec::Vec;

use crate::error::Error;
use crate::keys::SigType;
use crate::line::{Line, Value};
use crate::result::ResultCode;
use crate::types::{Secret, SessionId, SessionStyle, Version};

/// Longest command line this library writes, terminator included.
///
/// Both bridges read commands into 8 KiB buffers; i2pd 2.45 spins a core forever on a longer
/// line. Refusing here costs nothing: no legitimate command comes near it.
pub const MAX_COMMAND_LEN: usize = 8192;

/// A SAM line type that can parse and encode itself.
///
/// `parse(encode(x)) == x` holds for every message (the property tests check it).
pub trait Message<'a>: Sized {
    /// The line kind, e.g. `"SESSION STATUS"`, for error messages.
    const KIND: &'static str;
    /// `true` for client-to-bridge commands: they are written under the stricter rules
    /// (no empty values, at most [`MAX_COMMAND_LEN`] bytes).
    const IS_COMMAND: bool;

    /// Reads the message from a tokenized line.
    fn from_line(line: &Line<'a>) -> Result<Self, Error>;

    /// Writes the message (without the terminating `\n`).
    fn write(&self, w: &mut Writer<'_>) -> Result<(), Error>;

    /// Tokenizes and reads one line (terminator optional).
    fn parse(bytes: &'a [u8]) -> Result<Self, Error> {
        Self::from_line(&Line::parse(bytes)?)
    }

    /// Appends the line and its `\n` to `out`, quoting values only when `version` allows it.
    /// On error nothing is appended.
    fn encode(&self, version: Version, out: &mut Vec<u8>) -> Result<(), Error> {
        let start = out.len();
        let mut w = Writer {
            out,
            start,
            quoting: version.allows_quoting(),
            command: Self::IS_COMMAND,
        };
        let result = self.write(&mut w).and_then(|()| w.finish());
        if result.is_err() {
            out.truncate(start);
        }
        result
    }

    /// [`Message::encode`] into a new buffer.
    fn to_bytes(&self, version: Version) -> Result<Vec<u8>, Error> {
        let mut out = Vec::new();
        self.encode(version, &mut out)?;
        Ok(out)
    }
}

/// Writes one line under the encoder rules: every value is checked before it is written,
/// and a value that would change the line (CR, LF, NUL or any control character; a space,
/// quote or backslash when quoting is not available) is refused.
#[derive(Debug)]
pub struct Writer<'o> {
    out: &'o mut Vec<u8>,
    start: usize,
    quoting: bool,
    command: bool,
}

impl<'o> Writer<'o> {
    /// A writer for a UDP datagram header: nothing is ever quoted, no terminator is added.
    pub fn for_udp(out: &'o mut Vec<u8>) -> Writer<'o> {
        let start = out.len();
        Writer {
            out,
            start,
            quoting: false,
            command: true,
        }
    }

    /// Writes a fixed word (verb or action). Words come from this crate, never from users.
    pub fn word(&mut self, word: &str) {
        if self.out.len() > self.start {
            self.out.push(b' ');
        }
        self.out.extend_from_slice(word.as_bytes());
    }

    /// Writes `KEY=VALUE` with a key this crate defines.
    pub fn pair(&mut self, key: &'static str, value: &str) -> Result<(), Error> {
        self.check_value(key, value)?;
        self.word(key);
        self.out.push(b'=');
        self.value(value);
        Ok(())
    }

    /// Writes a user-supplied key with an optional value (option passthrough).
    pub fn user_pair(&mut self, key: &str, value: Option<&str>) -> Result<(), Error> {
        check_key(key)?;
        if let Some(v) = value {
            self.check_value("option value", v)?;
        }
        self.word(key);
        if let Some(v) = value {
            self.out.push(b'=');
            self.value(v);
        }
        Ok(())
    }

    /// Writes free text that runs to the end of the line (the `PING`/`PONG` payload).
    pub fn tail(&mut self, field: &'static str, text: &str) -> Result<(), Error> {
        if text.bytes().any(is_control) {
            return Err(control_error(field));
        }
        self.out.push(b' ');
        self.out.extend_from_slice(text.as_bytes());
        Ok(())
    }

    /// Writes a bare token (a destination: base64 may end in `=` padding, but a token never
    /// starts with `=`, which would make it read as a parameter).
    pub fn token(&mut self, field: &'static str, text: &str) -> Result<(), Error> {
        if text.is_empty()
            || text.starts_with('=')
            || text.bytes().any(|b| is_control(b) || needs_quotes(b))
        {
            return Err(Error::Unencodable {
                field,
                reason: "must be one word without spaces, quotes or control characters, not starting with =",
            });
        }
        self.word(text);
        Ok(())
    }

    fn check_value(&self, field: &'static str, value: &str) -> Result<(), Error> {
        if value.bytes().any(is_control) {
            return Err(control_error(field));
        }
        if self.command && value.is_empty() {
            return Err(Error::Unencodable {
                field,
                reason: "empty value (Java reads KEY= as KEY=true)",
            });
        }
        if !self.quoting && value.bytes().any(needs_quotes) {
            return Err(Error::Unencodable {
                field,
                reason: "contains a space, quote or backslash, which SAM before 3.2 cannot carry",
            });
        }
        Ok(())
    }

    fn value(&mut self, value: &str) {
        if !value.bytes().any(needs_quotes) {
            self.out.extend_from_slice(value.as_bytes());
            return;
        }
        self.out.push(b'"');
        for b in value.bytes() {
            if b == b'"' || b == b'\\' {
                self.out.push(b'\\');
            }
            self.out.push(b);
        }
        self.out.push(b'"');
    }

    fn finish(&mut self) -> Result<(), Error> {
        self.out.push(b'\n');
        let len = self.out.len() - self.start;
        let limit = if self.command {
            MAX_COMMAND_LEN
        } else {
            crate::line::MAX_LINE_LEN
        };
        if len > limit {
            return Err(Error::Unencodable {
                field: "line",
                reason: "longer than the bridge's line buffer",
            });
        }
        Ok(())
    }
}

fn is_control(b: u8) -> bool {
    b < 0x20 || b == 0x7f
}

fn needs_quotes(b: u8) -> bool {
    b == b' ' || b == b'"' || b == b'\\'
}

fn control_error(field: &'static str) -> Error {
    Error::Unencodable {
        field,
        reason: "contains a control character (CR, LF, NUL, tab, ...) that would end or corrupt the line",
    }
}

/// Checks a user-supplied key (an I2CP option name, say).
pub fn check_key(key: &str) -> Result<(), Error> {
    if key.is_empty()
        || key
            .bytes()
            .any(|b| is_control(b) || needs_quotes(b) || b == b'=' || !b.is_ascii())
    {
        return Err(Error::Unencodable {
            field: "option key",
            reason: "keys must be non-empty ASCII without spaces, quotes, backslashes, = or control characters",
        });
    }
    Ok(())
}

/// `true` for an option whose value may be secret: its key names a password, a key or a
/// secret, in any case (`i2cp.leaseSetPrivKey`, `i2cp.leaseSetSecret`, `i2cp.password`).
/// `Debug` shows `<redacted>` for such a value ([`KeyValue`], and the options of
/// [`SessionOptions`](crate::client::SessionOptions)).
pub fn is_secret_option(key: &str) -> bool {
    ["pass", "key", "secret"].iter().any(|word| {
        key.as_bytes()
            .windows(word.len())
            .any(|w| w.eq_ignore_ascii_case(word.as_bytes()))
    })
}

/// `Debug` of options (`key=value` pairs) with the values of [`is_secret_option`] keys
/// redacted.
pub(crate) struct RedactedOptions<'a, K, V>(pub(crate) &'a [(K, V)]);

impl<K: AsRef<str>, V: core::fmt::Debug> core::fmt::Debug for RedactedOptions<'_, K, V> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let mut list = f.debug_list();
        for (key, value) in self.0 {
            let key = key.as_ref();
            match is_secret_option(key) {
                true => list.entry(&(key, "<redacted>")),
                false => list.entry(&(key, value)),
            };
        }
        list.finish()
    }
}

/// A parameter this library does not model: an I2CP/streaming option on `SESSION CREATE`,
/// or an unknown key in a reply. Kept in order so that lines re-encode as they came. Its
/// `Debug` leaves out the value of an option whose key names a password, a key or a secret
/// ([`is_secret_option`]).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct KeyValue<'a> {
    /// The key (case-sensitive).
    pub key: Cow<'a, str>,
    /// The value; `None` for a bare key.
    pub value: Option<Cow<'a, str>>,
}

impl core::fmt::Debug for KeyValue<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let secret = self.value.is_some() && is_secret_option(&self.key);
        let redacted: &dyn core::fmt::Debug = match secret {
            true => &"<redacted>",
            false => &self.value,
        };
        f.debug_struct("KeyValue")
            .field("key", &self.key)
            .field("value", redacted)
            .finish()
    }
}

impl<'a> KeyValue<'a> {
    /// A `key=value` pair.
    pub fn new(key: impl Into<Cow<'a, str>>, value: impl Into<Cow<'a, str>>) -> Self {
        KeyValue {
            key: key.into(),
            value: Some(value.into()),
        }
    }
}

/// Converts borrowed message parts into owned ones.
pub trait ToStatic {
    /// The same type with every borrow replaced by an owned value.
    type Static: 'static;
    /// Converts.
    fn to_static(self) -> Self::Static;
}

impl ToStatic for Cow<'_, str> {
    type Static = Cow<'static, str>;
    fn to_static(self) -> Cow<'static, str> {
        Cow::Owned(self.into_owned())
    }
}
impl ToStatic for SessionId<'_> {
    type Static = SessionId<'static>;
    fn to_static(self) -> SessionId<'static> {
        self.into_owned()
    }
}
impl ToStatic for Secret<'_> {
    type Static = Secret<'static>;
    fn to_static(self) -> Secret<'static> {
        self.into_owned()
    }
}
impl ToStatic for KeyValue<'_> {
    type Static = KeyValue<'static>;
    fn to_static(self) -> KeyValue<'static> {
        KeyValue {
            key: self.key.to_static(),
            value: self.value.to_static(),
        }
    }
}
impl<T: ToStatic> ToStatic for Option<T> {
    type Static = Option<T::Static>;
    fn to_static(self) -> Self::Static {
        self.map(ToStatic::to_static)
    }
}
impl<T: ToStatic> ToStatic for Vec<T> {
    type Static = Vec<T::Static>;
    fn to_static(self) -> Self::Static {
        self.into_iter().map(ToStatic::to_static).collect()
    }
}
macro_rules! static_identity {
    ($($t:ty),*) => {$(
        impl ToStatic for $t {
            type Static = $t;
            fn to_static(self) -> $t { self }
        }
    )*};
}
static_identity!(
    u8,
    u16,
    u32,
    usize,
    bool,
    ResultCode,
    Version,
    SessionStyle,
    SigType
);

/// How one field type reads and writes its value.
pub trait Field<'a>: Sized {
    /// Reads the value of `key`.
    fn decode(key: &'static str, value: Value<'a>) -> Result<Self, Error>;
    /// Writes `key=value`.
    fn encode(&self, key: &'static str, w: &mut Writer<'_>) -> Result<(), Error>;
}

impl<'a> Field<'a> for Cow<'a, str> {
    fn decode(_: &'static str, value: Value<'a>) -> Result<Self, Error> {
        Ok(value.text())
    }
    fn encode(&self, key: &'static str, w: &mut Writer<'_>) -> Result<(), Error> {
        w.pair(key, self)
    }
}

impl<'a> Field<'a> for Secret<'a> {
    fn decode(_: &'static str, value: Value<'a>) -> Result<Self, Error> {
        Ok(Secret(value.text()))
    }
    fn encode(&self, key: &'static str, w: &mut Writer<'_>) -> Result<(), Error> {
        w.pair(key, self.expose())
    }
}

impl<'a> Field<'a> for SessionId<'a> {
    fn decode(key: &'static str, value: Value<'a>) -> Result<Self, Error> {
        SessionId::new(value.text()).map_err(|_| Error::BadValue {
            key,
            reason: "not a valid session ID",
        })
    }
    fn encode(&self, key: &'static str, w: &mut Writer<'_>) -> Result<(), Error> {
        w.pair(key, self.as_str())
    }
}

fn decimal<T: core::str::FromStr>(key: &'static str, text: &str) -> Result<T, Error> {
    if text.is_empty() || text.len() > 20 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Error::BadValue {
            key,
            reason: "expected a decimal number",
        });
    }
    text.parse().map_err(|_| Error::BadValue {
        key,
        reason: "number out of range",
    })
}

macro_rules! number_field {
    ($($t:ty),*) => {$(
        impl<'a> Field<'a> for $t {
            fn decode(key: &'static str, value: Value<'a>) -> Result<Self, Error> {
                decimal(key, &value.text())
            }
            fn encode(&self, key: &'static str, w: &mut Writer<'_>) -> Result<(), Error> {
                let mut buf = itoa_buf::Buf::new();
                w.pair(key, buf.format(*self as u64))
            }
        }
    )*};
}
number_field!(u8, u16, u32, usize);

impl<'a> Field<'a> for bool {
    fn decode(key: &'static str, value: Value<'a>) -> Result<Self, Error> {
        let t = value.text();
        if t.eq_ignore_ascii_case("true") {
            Ok(true)
        } else if t.eq_ignore_ascii_case("false") {
            Ok(false)
        } else {
            Err(Error::BadValue {
                key,
                reason: "expected true or false",
            })
        }
    }
    fn encode(&self, key: &'static str, w: &mut Writer<'_>) -> Result<(), Error> {
        w.pair(key, if *self { "true" } else { "false" })
    }
}

impl<'a> Field<'a> for ResultCode {
    fn decode(_: &'static str, value: Value<'a>) -> Result<Self, Error> {
        Ok(ResultCode::from_wire(&value.text()))
    }
    fn encode(&self, key: &'static str, w: &mut Writer<'_>) -> Result<(), Error> {
        w.pair(key, self.as_str())
    }
}

impl<'a> Field<'a> for Version {
    fn decode(key: &'static str, value: Value<'a>) -> Result<Self, Error> {
        value.text().parse().map_err(|_| Error::BadValue {
            key,
            reason: "expected a version such as 3.1",
        })
    }
    fn encode(&self, key: &'static str, w: &mut Writer<'_>) -> Result<(), Error> {
        let mut s = String::new();
        let mut b = itoa_buf::Buf::new();
        s.push_str(b.format(self.major as u64));
        s.push('.');
        s.push_str(b.format(self.minor as u64));
        w.pair(key, &s)
    }
}

impl<'a> Field<'a> for SessionStyle {
    fn decode(_: &'static str, value: Value<'a>) -> Result<Self, Error> {
        Ok(SessionStyle::from_wire(&value.text()))
    }
    fn encode(&self, key: &'static str, w: &mut Writer<'_>) -> Result<(), Error> {
        w.pair(key, self.as_str())
    }
}

impl<'a> Field<'a> for SigType {
    fn decode(key: &'static str, value: Value<'a>) -> Result<Self, Error> {
        value.text().parse().map_err(|_| Error::BadValue {
            key,
            reason: "unknown signature type",
        })
    }
    /// Written as the number: both bridges accept numbers, only Java accepts every name.
    fn encode(&self, key: &'static str, w: &mut Writer<'_>) -> Result<(), Error> {
        let mut b = itoa_buf::Buf::new();
        w.pair(key, b.format(self.code() as u64))
    }
}

/// Tiny integer formatting without `alloc::format!`.
mod itoa_buf {
    pub struct Buf([u8; 20]);
    impl Buf {
        pub fn new() -> Self {
            Buf([0; 20])
        }
        pub fn format(&mut self, mut n: u64) -> &str {
            let mut i = self.0.len();
            loop {
                i -= 1;
                self.0[i] = b'0' + (n % 10) as u8;
                n /= 10;
                if n == 0 {
                    break;
                }
            }
            core::str::from_utf8(&self.0[i..]).unwrap_or("0")
        }
    }
}

/// Reads all parameters of `line` into the declared fields; unknown keys go to `extra`.
macro_rules! sam_message {
    (
        $(#[$meta:meta])*
        pub struct $name:ident = $verb:literal $action:literal, command: $is_cmd:literal {
            $( $(#[$fmeta:meta])* $req:ident $field:ident : $ty:ty = $key:literal, )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub struct $name<'a> {
            $( $(#[$fmeta])* pub $field: $crate::message::field_type!($req $ty), )*
            /// Parameters this library does not model, in wire order (for `SESSION CREATE` and
            /// `SESSION ADD`: the I2CP and streaming options passed through to the router).
            pub extra: alloc::vec::Vec<$crate::message::KeyValue<'a>>,
        }

        impl<'a> $name<'a> {
            /// The keys this message models (an `extra` entry may not reuse one).
            pub const KEYS: &'static [&'static str] = &[$($key),*];

            /// A copy that owns all its text.
            pub fn into_owned(self) -> $name<'static> {
                use $crate::message::ToStatic;
                $name {
                    $( $field: self.$field.to_static(), )*
                    extra: self.extra.to_static(),
                }
            }
        }

        impl<'a> $crate::message::Message<'a> for $name<'a> {
            const KIND: &'static str = concat!($verb, " ", $action);
            const IS_COMMAND: bool = $is_cmd;

            #[allow(unused_mut)]
            fn from_line(line: &$crate::line::Line<'a>) -> Result<Self, $crate::error::Error> {
                use $crate::error::Error;
                if !line.is($verb, Some($action)) {
                    return Err(Error::UnexpectedLine {
                        expected: Self::KIND,
                        got: line.describe(),
                    });
                }
                $( let mut $field: Option<$ty> = None; )*
                let mut extra: alloc::vec::Vec<$crate::message::KeyValue<'a>> = alloc::vec::Vec::new();
                for p in line.params() {
                    let p = p?;
                    match p.key {
                        $( $key => {
                            if $field.is_some() {
                                return Err(Error::DuplicateKey(p.key.into()));
                            }
                            $field = Some(<$ty as $crate::message::Field<'a>>::decode(
                                $key,
                                p.value.unwrap_or($crate::message::bare_value()),
                            )?);
                        } )*
                        other => {
                            if extra.iter().any(|e| e.key == other) {
                                return Err(Error::DuplicateKey(other.into()));
                            }
                            extra.push($crate::message::KeyValue {
                                key: alloc::borrow::Cow::Borrowed(other),
                                value: p.value.map(|v| v.text()),
                            });
                        }
                    }
                }
                Ok($name {
                    $( $field: $crate::message::field_finish!($req $field, Self::KIND, $key), )*
                    extra,
                })
            }

            fn write(&self, w: &mut $crate::message::Writer<'_>) -> Result<(), $crate::error::Error> {
                w.word($verb);
                w.word($action);
                $( $crate::message::field_write!($req w, &self.$field, $key); )*
                $crate::message::write_extra(w, &self.extra, Self::KEYS)
            }
        }
    };
}
pub(crate) use sam_message;

macro_rules! field_type {
    (req $t:ty) => { $t };
    (opt $t:ty) => { Option<$t> };
}
pub(crate) use field_type;

macro_rules! field_finish {
    (req $v:ident, $line:expr, $key:expr) => {
        $v.ok_or($crate::error::Error::MissingKey {
            line: $line,
            key: $key,
        })?
    };
    (opt $v:ident, $line:expr, $key:expr) => {
        $v
    };
}
pub(crate) use field_finish;

macro_rules! field_write {
    (req $w:ident, $v:expr, $key:expr) => {
        $crate::message::Field::encode($v, $key, $w)?
    };
    (opt $w:ident, $v:expr, $key:expr) => {
        if let Some(v) = $v {
            $crate::message::Field::encode(v, $key, $w)?;
        }
    };
}
pub(crate) use field_write;

/// The value a bare key stands for (`KEY` alone means `KEY=true` to Java).
pub(crate) fn bare_value() -> Value<'static> {
    Value::BARE
}

/// Writes unmodelled parameters, refusing keys that would shadow a modelled key or repeat.
pub(crate) fn write_extra(
    w: &mut Writer<'_>,
    extra: &[KeyValue<'_>],
    known: &[&str],
) -> Result<(), Error> {
    write_extra_with(w, extra, known, true)
}

/// [`write_extra`], optionally refusing bare keys (where a bare key would be misread, e.g. as
/// the action word after a destination, or where the reader requires `=`).
pub(crate) fn write_extra_with(
    w: &mut Writer<'_>,
    extra: &[KeyValue<'_>],
    known: &[&str],
    allow_bare: bool,
) -> Result<(), Error> {
    for (i, kv) in extra.iter().enumerate() {
        if !allow_bare && kv.value.is_none() {
            return Err(Error::Unencodable {
                field: "option value",
                reason: "this line kind needs KEY=VALUE options",
            });
        }
        if known.iter().any(|k| *k == kv.key) {
            return Err(Error::Unencodable {
                field: "option key",
                reason: "an option may not repeat a key of the command itself",
            });
        }
        if extra[..i].iter().any(|e| e.key == kv.key) {
            return Err(Error::Unencodable {
                field: "option key",
                reason: "the same option key appears twice",
            });
        }
        w.user_pair(&kv.key, kv.value.as_deref())?;
    }
    Ok(())
}
