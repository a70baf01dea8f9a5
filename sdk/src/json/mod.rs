//! A small JSON reader implementing `serde::Deserializer`, for plugin configurations.
//!
//! Hand-written on purpose: `serde_json` (with its number parsing and error formatting) is about
//! 40 KB of a filter module, a third of add-header, and Envoy loads every module into every
//! worker; `serde-json-core` is small but its errors carry no line and column. This reader keeps
//! what a configuration needs — every JSON value, strict syntax (no trailing commas, no comments,
//! one value per document), escapes including surrogate pairs, serde's own messages for type
//! and field errors — and reports every error with `at line L column C`, as `serde_json` does.
//! Floating-point parsing is only linked into filters whose configuration has a float field.

use serde::de::{
    self, DeserializeOwned, DeserializeSeed, Deserializer, IntoDeserializer, MapAccess, SeqAccess,
    Unexpected, Visitor,
};
use std::borrow::Cow;
use std::fmt;

/// A configuration that is not valid JSON or does not match the target type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonError {
    message: String,
    /// 1-based line and column (in characters) where the problem was found.
    position: Option<(usize, usize)>,
}

impl JsonError {
    /// The message without its position.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The 1-based line and column of the problem, when known.
    pub fn position(&self) -> Option<(usize, usize)> {
        self.position
    }
}

impl fmt::Display for JsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.position {
            Some((line, column)) => write!(f, "{} at line {line} column {column}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for JsonError {}

impl de::Error for JsonError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        JsonError {
            message: msg.to_string(),
            position: None,
        }
    }

    // serde's own `Unexpected` display formats floats and uses `{:?}` for strings, which links
    // ~12 KB of float formatting and Unicode tables into every filter (serde_json overrides
    // these two for the same reason).
    fn invalid_type(unexpected: Unexpected<'_>, expected: &dyn de::Expected) -> Self {
        de::Error::custom(format_args!(
            "invalid type: {}, expected {expected}",
            describe(unexpected)
        ))
    }

    fn invalid_value(unexpected: Unexpected<'_>, expected: &dyn de::Expected) -> Self {
        de::Error::custom(format_args!(
            "invalid value: {}, expected {expected}",
            describe(unexpected)
        ))
    }
}

/// What was found, in serde_json's words, without float formatting or `Debug`.
fn describe(unexpected: Unexpected<'_>) -> String {
    match unexpected {
        Unexpected::Bool(b) => format!("boolean `{b}`"),
        Unexpected::Unsigned(n) => format!("integer `{n}`"),
        Unexpected::Signed(n) => format!("integer `{n}`"),
        Unexpected::Float(_) => "floating point number".into(),
        Unexpected::Char(c) => format!("character {}", quoted(c.encode_utf8(&mut [0; 4]))),
        Unexpected::Str(s) => format!("string {}", quoted(s)),
        Unexpected::Bytes(_) => "byte array".into(),
        Unexpected::Unit => "null".into(),
        Unexpected::Option => "optional value".into(),
        Unexpected::NewtypeStruct => "newtype struct".into(),
        Unexpected::Seq => "sequence".into(),
        Unexpected::Map => "map".into(),
        Unexpected::Enum => "enum".into(),
        Unexpected::UnitVariant => "unit variant".into(),
        Unexpected::NewtypeVariant => "newtype variant".into(),
        Unexpected::TupleVariant => "tuple variant".into(),
        Unexpected::StructVariant => "struct variant".into(),
        Unexpected::Other(other) => other.into(),
    }
}

/// Parses `text` as one JSON document into `T`.
///
/// ```
/// #[derive(serde::Deserialize, Debug, PartialEq)]
/// #[serde(deny_unknown_fields)]
/// struct Config { name: String, limit: Option<u32>, tags: Vec<String> }
///
/// let c: Config = wasme_sdk::json::from_str(r#"{"name": "a\u00e9", "limit": 3, "tags": ["x"]}"#).unwrap();
/// assert_eq!(c, Config { name: "aé".into(), limit: Some(3), tags: vec!["x".into()] });
/// let e = wasme_sdk::json::from_str::<Config>("{\n  \"nam\": 1}").unwrap_err();
/// assert!(e.to_string().starts_with("unknown field `nam`, expected one of"), "{e}");
/// assert_eq!(e.position(), Some((2, 7)));
/// ```
pub fn from_str<T: DeserializeOwned>(text: &str) -> Result<T, JsonError> {
    let mut reader = Reader { text, pos: 0 };
    let value = T::deserialize(&mut reader).map_err(|e| reader.at(e))?;
    reader.skip_ws();
    if reader.pos < text.len() {
        return Err(reader.error("trailing characters"));
    }
    Ok(value)
}

/// The parser state: the text and a byte offset into it.
struct Reader<'a> {
    text: &'a str,
    pos: usize,
}

/// The kind of value that starts at the current position.
enum Next {
    Null,
    Bool,
    Number,
    String,
    Array,
    Object,
}

impl<'a> Reader<'a> {
    fn bytes(&self) -> &'a [u8] {
        self.text.as_bytes()
    }

    fn peek_byte(&self) -> Option<u8> {
        self.bytes().get(self.pos).copied()
    }

    fn skip_ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek_byte() {
            self.pos += 1;
        }
    }

    /// An error at the current position.
    fn error(&self, message: impl Into<String>) -> JsonError {
        self.at(JsonError {
            message: message.into(),
            position: None,
        })
    }

    /// `text[a..b]` without the panic path of `str` indexing (its message formatting is
    /// kilobytes of every module): the reader only cuts at ASCII bytes, so this never misses.
    fn slice(&self, a: usize, b: usize) -> &'a str {
        self.text.get(a..b).unwrap_or_default()
    }

    /// Gives an error without a position (from serde's visitors) the current one.
    fn at(&self, mut e: JsonError) -> JsonError {
        if e.position.is_none() {
            // An error can be found inside a multi-byte character: count up to its start.
            // Counted on bytes (a character starts at every non-continuation byte) rather than
            // with `str` slicing and `chars()`, whose panic paths and iterators are ~4 KB of
            // every filter module.
            let done = self.bytes().get(..self.pos).unwrap_or(self.bytes());
            let starts = |b: &&u8| (**b & 0xC0) != 0x80;
            let line = done.iter().filter(|b| **b == b'\n').count() + 1;
            let last_line = match done.iter().rposition(|b| *b == b'\n') {
                Some(nl) => &done[nl + 1..],
                None => done,
            };
            let mut column = last_line.iter().filter(starts).count();
            if self.pos < self.bytes().len() && !starts(&&self.bytes()[self.pos]) {
                // Inside a character: the column is that character's, not the next one's.
                column = column.saturating_sub(1);
            }
            e.position = Some((line, column.max(1)));
        }
        e
    }

    fn next_kind(&mut self) -> Result<Next, JsonError> {
        self.skip_ws();
        match self.peek_byte() {
            Some(b'n') => Ok(Next::Null),
            Some(b't' | b'f') => Ok(Next::Bool),
            Some(b'-' | b'0'..=b'9') => Ok(Next::Number),
            Some(b'"') => Ok(Next::String),
            Some(b'[') => Ok(Next::Array),
            Some(b'{') => Ok(Next::Object),
            Some(_) => {
                self.pos += 1;
                Err(self.error("expected value"))
            }
            None => Err(self.error("EOF while parsing a value")),
        }
    }

    fn expect_literal(&mut self, word: &str) -> Result<(), JsonError> {
        if self.bytes()[self.pos..].starts_with(word.as_bytes()) {
            self.pos += word.len();
            Ok(())
        } else {
            self.pos += 1;
            Err(self.error("expected ident"))
        }
    }

    fn parse_bool(&mut self) -> Result<bool, JsonError> {
        if self.peek_byte() == Some(b't') {
            self.expect_literal("true").map(|()| true)
        } else {
            self.expect_literal("false").map(|()| false)
        }
    }

    /// The text of a number token (validated against JSON's grammar) and whether it is an
    /// integer.
    fn number_token(&mut self) -> Result<(&'a str, bool), JsonError> {
        let start = self.pos;
        let b = self.bytes();
        let mut i = self.pos;
        let digits = |i: &mut usize| {
            let s = *i;
            while b.get(*i).is_some_and(u8::is_ascii_digit) {
                *i += 1;
            }
            *i > s
        };
        if b.get(i) == Some(&b'-') {
            i += 1;
        }
        let int_start = i;
        if !digits(&mut i) || (b[int_start] == b'0' && i - int_start > 1) {
            self.pos = i.max(start + 1);
            return Err(self.error("invalid number"));
        }
        let mut integer = true;
        if b.get(i) == Some(&b'.') {
            i += 1;
            integer = false;
            if !digits(&mut i) {
                self.pos = i;
                return Err(self.error("invalid number"));
            }
        }
        if let Some(b'e' | b'E') = b.get(i) {
            i += 1;
            integer = false;
            if let Some(b'+' | b'-') = b.get(i) {
                i += 1;
            }
            if !digits(&mut i) {
                self.pos = i;
                return Err(self.error("invalid number"));
            }
        }
        self.pos = i;
        Ok((self.slice(start, i), integer))
    }

    /// Reads a string; borrowed when it has no escapes.
    fn parse_string(&mut self) -> Result<Cow<'a, str>, JsonError> {
        self.pos += 1; // the opening quote
        let start = self.pos;
        let b = self.bytes();
        let mut owned: Option<String> = None;
        let mut run = start;
        loop {
            match b.get(self.pos) {
                None => return Err(self.error("EOF while parsing a string")),
                Some(b'"') => {
                    let tail = self.slice(run, self.pos);
                    self.pos += 1;
                    return Ok(match owned {
                        Some(mut s) => {
                            s.push_str(tail);
                            Cow::Owned(s)
                        }
                        None => Cow::Borrowed(tail),
                    });
                }
                Some(b'\\') => {
                    let s = owned.get_or_insert_with(String::new);
                    s.push_str(self.slice(run, self.pos));
                    self.pos += 1;
                    let c = match b.get(self.pos) {
                        Some(b'"') => '"',
                        Some(b'\\') => '\\',
                        Some(b'/') => '/',
                        Some(b'b') => '\u{8}',
                        Some(b'f') => '\u{c}',
                        Some(b'n') => '\n',
                        Some(b'r') => '\r',
                        Some(b't') => '\t',
                        Some(b'u') => {
                            self.pos += 1;
                            let c = self.unicode_escape()?;
                            s.push(c);
                            run = self.pos;
                            continue;
                        }
                        _ => {
                            self.pos += 1;
                            return Err(self.error("invalid escape"));
                        }
                    };
                    s.push(c);
                    self.pos += 1;
                    run = self.pos;
                }
                Some(0..=0x1f) => {
                    self.pos += 1;
                    return Err(self.error(
                        "control character (\\u0000-\\u001F) found while parsing a string",
                    ));
                }
                Some(_) => self.pos += 1,
            }
        }
    }

    /// After `\u`: four hex digits, and a low surrogate's `\uXXXX` after a high one.
    fn unicode_escape(&mut self) -> Result<char, JsonError> {
        let high = self.hex4()?;
        let code = if (0xD800..0xDC00).contains(&high) {
            if !self.bytes()[self.pos..].starts_with(b"\\u") {
                return Err(self.error("unexpected end of hex escape"));
            }
            self.pos += 2;
            let low = self.hex4()?;
            if !(0xDC00..0xE000).contains(&low) {
                return Err(self.error("lone leading surrogate in hex escape"));
            }
            0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00)
        } else {
            high
        };
        char::from_u32(code).ok_or_else(|| self.error("lone leading surrogate in hex escape"))
    }

    fn hex4(&mut self) -> Result<u32, JsonError> {
        let mut value = 0;
        for _ in 0..4 {
            let digit = self.peek_byte().and_then(|b| (b as char).to_digit(16));
            self.pos += 1;
            value = value * 16 + digit.ok_or_else(|| self.error("invalid escape"))?;
        }
        Ok(value)
    }

    /// Consumes `c` (after white space) or fails with `expected`.
    fn eat(&mut self, c: u8) -> bool {
        self.skip_ws();
        if self.peek_byte() == Some(c) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    /// Skips one value of any kind (for `IgnoredAny`).
    fn skip_value(&mut self) -> Result<(), JsonError> {
        match self.next_kind()? {
            Next::Null => self.expect_literal("null"),
            Next::Bool => self.parse_bool().map(drop),
            Next::Number => self.number_token().map(drop),
            Next::String => self.parse_string().map(drop),
            Next::Array => {
                self.pos += 1;
                let mut first = true;
                while !self.eat(b']') {
                    self.separator(&mut first, "array")?;
                    self.skip_value()?;
                }
                Ok(())
            }
            Next::Object => {
                self.pos += 1;
                let mut first = true;
                while !self.eat(b'}') {
                    self.separator(&mut first, "object")?;
                    self.object_key()?;
                    self.skip_value()?;
                }
                Ok(())
            }
        }
    }

    /// Between elements: nothing before the first, a comma before every other.
    fn separator(&mut self, first: &mut bool, what: &str) -> Result<(), JsonError> {
        if *first {
            *first = false;
            return Ok(());
        }
        if !self.eat(b',') {
            self.skip_ws();
            return Err(match self.peek_byte() {
                None => self.error(format!("EOF while parsing an {what}")),
                Some(_) => self.error(format!(
                    "expected `,` or `{}`",
                    if what == "array" { ']' } else { '}' }
                )),
            });
        }
        self.skip_ws();
        if let Some(b']' | b'}') = self.peek_byte() {
            return Err(self.error("trailing comma"));
        }
        Ok(())
    }

    /// An object key and its colon; also the offset just after the key's closing quote.
    fn object_key(&mut self) -> Result<(Cow<'a, str>, usize), JsonError> {
        self.skip_ws();
        if self.peek_byte() != Some(b'"') {
            return Err(match self.peek_byte() {
                None => self.error("EOF while parsing an object"),
                Some(_) => self.error("key must be a string"),
            });
        }
        let key = self.parse_string()?;
        let key_end = self.pos;
        if !self.eat(b':') {
            return Err(self.error("expected `:`"));
        }
        Ok((key, key_end))
    }

    /// serde's "invalid type" error for the value here, for typed requests that do not match.
    fn invalid_type(&mut self, expected: &dyn de::Expected) -> JsonError {
        let e = match self.next_kind() {
            Err(e) => return e,
            Ok(Next::Null) => de::Error::invalid_type(Unexpected::Unit, expected),
            Ok(Next::Bool) => match self.parse_bool() {
                Ok(b) => de::Error::invalid_type(Unexpected::Bool(b), expected),
                Err(e) => return e,
            },
            Ok(Next::Number) => match self.number_token() {
                Ok((text, true)) => match text.parse::<i64>() {
                    Ok(n) if n < 0 => de::Error::invalid_type(Unexpected::Signed(n), expected),
                    _ => match text.parse::<u64>() {
                        Ok(n) => de::Error::invalid_type(Unexpected::Unsigned(n), expected),
                        Err(_) => de::Error::invalid_type(Unexpected::Other("number"), expected),
                    },
                },
                Ok((_, false)) => {
                    de::Error::invalid_type(Unexpected::Other("floating point number"), expected)
                }
                Err(e) => return e,
            },
            Ok(Next::String) => match self.parse_string() {
                Ok(s) => de::Error::invalid_type(Unexpected::Str(&s), expected),
                Err(e) => return e,
            },
            Ok(Next::Array) => de::Error::invalid_type(Unexpected::Seq, expected),
            Ok(Next::Object) => de::Error::invalid_type(Unexpected::Map, expected),
        };
        self.at(e)
    }

    fn integer<V: Visitor<'a>>(&mut self, visitor: V) -> Result<V::Value, JsonError> {
        let start = self.pos;
        if let Ok(Next::Number) = self.next_kind() {
            let (text, integer) = self.number_token()?;
            if integer {
                let result = if text.starts_with('-') {
                    text.parse::<i64>()
                        .map(|n| visitor.visit_i64::<JsonError>(n))
                } else {
                    text.parse::<u64>()
                        .map(|n| visitor.visit_u64::<JsonError>(n))
                };
                return match result {
                    Ok(v) => v.map_err(|e| self.at(e)),
                    Err(_) => Err(self.error("number out of range")),
                };
            }
        }
        self.pos = start;
        Err(self.invalid_type(&visitor))
    }
}

impl<'de> Deserializer<'de> for &mut Reader<'de> {
    type Error = JsonError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, JsonError> {
        let result = match self.next_kind()? {
            Next::Null => {
                self.expect_literal("null")?;
                visitor.visit_unit()
            }
            Next::Bool => visitor.visit_bool(self.parse_bool()?),
            Next::Number => {
                let (text, integer) = self.number_token()?;
                match (integer, text.parse::<i64>(), text.parse::<u64>()) {
                    (true, Ok(n), _) if n < 0 => visitor.visit_i64(n),
                    (true, _, Ok(n)) => visitor.visit_u64(n),
                    _ => match text.parse::<f64>() {
                        Ok(f) if f.is_finite() => visitor.visit_f64(f),
                        _ => return Err(self.error("number out of range")),
                    },
                }
            }
            Next::String => match self.parse_string()? {
                Cow::Borrowed(s) => visitor.visit_borrowed_str(s),
                Cow::Owned(s) => visitor.visit_string(s),
            },
            Next::Array => return self.deserialize_seq(visitor),
            Next::Object => return self.deserialize_map(visitor),
        };
        result.map_err(|e| self.at(e))
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, JsonError> {
        let start = self.pos;
        if let Ok(Next::Bool) = self.next_kind() {
            let b = self.parse_bool()?;
            return visitor.visit_bool(b).map_err(|e| self.at(e));
        }
        self.pos = start;
        Err(self.invalid_type(&visitor))
    }

    fn deserialize_i8<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, JsonError> {
        self.integer(visitor)
    }
    fn deserialize_i16<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, JsonError> {
        self.integer(visitor)
    }
    fn deserialize_i32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, JsonError> {
        self.integer(visitor)
    }
    fn deserialize_i64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, JsonError> {
        self.integer(visitor)
    }
    fn deserialize_u8<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, JsonError> {
        self.integer(visitor)
    }
    fn deserialize_u16<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, JsonError> {
        self.integer(visitor)
    }
    fn deserialize_u32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, JsonError> {
        self.integer(visitor)
    }
    fn deserialize_u64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, JsonError> {
        self.integer(visitor)
    }

    fn deserialize_f32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, JsonError> {
        self.deserialize_f64(visitor)
    }

    fn deserialize_f64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, JsonError> {
        let start = self.pos;
        if let Ok(Next::Number) = self.next_kind() {
            let (text, _) = self.number_token()?;
            return match text.parse::<f64>() {
                Ok(f) if f.is_finite() => visitor.visit_f64(f).map_err(|e| self.at(e)),
                _ => Err(self.error("number out of range")),
            };
        }
        self.pos = start;
        Err(self.invalid_type(&visitor))
    }

    fn deserialize_char<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, JsonError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, JsonError> {
        let start = self.pos;
        if let Ok(Next::String) = self.next_kind() {
            let result = match self.parse_string()? {
                Cow::Borrowed(s) => visitor.visit_borrowed_str(s),
                Cow::Owned(s) => visitor.visit_string(s),
            };
            return result.map_err(|e| self.at(e));
        }
        self.pos = start;
        Err(self.invalid_type(&visitor))
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, JsonError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_bytes<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, JsonError> {
        self.deserialize_any(visitor)
    }

    fn deserialize_byte_buf<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, JsonError> {
        self.deserialize_any(visitor)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, JsonError> {
        if let Next::Null = self.next_kind()? {
            self.expect_literal("null")?;
            visitor.visit_none().map_err(|e| self.at(e))
        } else {
            visitor.visit_some(self)
        }
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, JsonError> {
        let start = self.pos;
        if let Ok(Next::Null) = self.next_kind() {
            self.expect_literal("null")?;
            return visitor.visit_unit().map_err(|e| self.at(e));
        }
        self.pos = start;
        Err(self.invalid_type(&visitor))
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, JsonError> {
        self.deserialize_unit(visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, JsonError> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, JsonError> {
        let start = self.pos;
        if let Ok(Next::Array) = self.next_kind() {
            self.pos += 1;
            let value = visitor
                .visit_seq(Elements {
                    reader: &mut *self,
                    first: true,
                })
                .map_err(|e| self.at(e))?;
            // Elements the visitor did not take are an error (a tuple of the wrong length).
            if !self.eat(b']') {
                return Err(self.error("trailing characters in array"));
            }
            return Ok(value);
        }
        self.pos = start;
        Err(self.invalid_type(&visitor))
    }

    fn deserialize_tuple<V: Visitor<'de>>(
        self,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, JsonError> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, JsonError> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, JsonError> {
        let start = self.pos;
        if let Ok(Next::Object) = self.next_kind() {
            self.pos += 1;
            let value = visitor
                .visit_map(Entries {
                    reader: &mut *self,
                    first: true,
                })
                .map_err(|e| self.at(e))?;
            // `Entries` consumed the closing brace when it reported the end.
            return Ok(value);
        }
        self.pos = start;
        Err(self.invalid_type(&visitor))
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, JsonError> {
        self.deserialize_map(visitor)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, JsonError> {
        match self.next_kind()? {
            // A unit variant: "Name".
            Next::String => {
                let name = self.parse_string()?.into_owned();
                visitor
                    .visit_enum(name.into_deserializer())
                    .map_err(|e: JsonError| self.at(e))
            }
            // Any other variant: {"Name": value}.
            Next::Object => {
                self.pos += 1;
                let value = visitor.visit_enum(Variant { reader: &mut *self })?;
                if !self.eat(b'}') {
                    return Err(self.error("expected `}` after the enum variant's value"));
                }
                Ok(value)
            }
            _ => Err(self.invalid_type(&"a string or an object with one key (an enum variant)")),
        }
    }

    fn deserialize_identifier<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, JsonError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, JsonError> {
        self.skip_value()?;
        visitor.visit_unit()
    }
}

/// The elements of an array.
struct Elements<'r, 'de> {
    reader: &'r mut Reader<'de>,
    first: bool,
}

impl<'de> SeqAccess<'de> for Elements<'_, 'de> {
    type Error = JsonError;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, JsonError> {
        self.reader.skip_ws();
        if self.reader.peek_byte() == Some(b']') {
            return Ok(None);
        }
        self.reader.separator(&mut self.first, "array")?;
        seed.deserialize(&mut *self.reader).map(Some)
    }
}

/// The entries of an object.
struct Entries<'r, 'de> {
    reader: &'r mut Reader<'de>,
    first: bool,
}

impl<'de> MapAccess<'de> for Entries<'_, 'de> {
    type Error = JsonError;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, JsonError> {
        if self.reader.eat(b'}') {
            return Ok(None);
        }
        self.reader.separator(&mut self.first, "object")?;
        let (key, key_end) = self.reader.object_key()?;
        let after_colon = self.reader.pos;
        // Report a bad key (unknown field) at the key, as serde_json does.
        self.reader.pos = key_end;
        let result = match key {
            Cow::Borrowed(k) => seed.deserialize(de::value::BorrowedStrDeserializer::new(k)),
            Cow::Owned(k) => seed.deserialize(de::value::StringDeserializer::new(k)),
        };
        let result = result.map_err(|e| self.reader.at(e));
        self.reader.pos = after_colon;
        result.map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, JsonError> {
        seed.deserialize(&mut *self.reader)
    }
}

/// `{"Variant": value}`.
struct Variant<'r, 'de> {
    reader: &'r mut Reader<'de>,
}

impl<'de> de::EnumAccess<'de> for Variant<'_, 'de> {
    type Error = JsonError;
    type Variant = Self;

    fn variant_seed<V: DeserializeSeed<'de>>(self, seed: V) -> Result<(V::Value, Self), JsonError> {
        let key = self.reader.object_key()?.0.into_owned();
        let value = seed
            .deserialize(de::value::StringDeserializer::<JsonError>::new(key))
            .map_err(|e| self.reader.at(e))?;
        Ok((value, self))
    }
}

impl<'de> de::VariantAccess<'de> for Variant<'_, 'de> {
    type Error = JsonError;

    fn unit_variant(self) -> Result<(), JsonError> {
        de::Deserialize::deserialize(&mut *self.reader)
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value, JsonError> {
        seed.deserialize(&mut *self.reader)
    }

    fn tuple_variant<V: Visitor<'de>>(
        self,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, JsonError> {
        self.reader.deserialize_seq(visitor)
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, JsonError> {
        self.reader.deserialize_map(visitor)
    }
}

/// `text` in double quotes, with `"`, `\\` and control characters escaped — for error messages.
///
/// Use it instead of `{:?}`: Rust's `Debug` formatting of strings links Unicode tables (several
/// KB) into every module that uses it, and a filter's module is loaded into every Envoy worker.
///
/// ```
/// assert_eq!(wasme_sdk::json::quoted("a\"b\n"), r#""a\"b\n""#);
/// ```
pub fn quoted(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.extend(c.escape_unicode()),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;
    use std::collections::BTreeMap;

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Config {
        name: String,
        #[serde(default)]
        limit: u32,
        #[serde(default)]
        ratio: Option<f64>,
        #[serde(default)]
        tags: Vec<String>,
        #[serde(default)]
        mode: Mode,
        #[serde(default)]
        extra: BTreeMap<String, i64>,
    }

    #[derive(Debug, Deserialize, PartialEq, Default)]
    #[serde(rename_all = "lowercase")]
    enum Mode {
        #[default]
        Allow,
        Deny,
        Limit(u32),
    }

    fn err(text: &str) -> String {
        from_str::<Config>(text).unwrap_err().to_string()
    }

    #[test]
    fn every_value_kind() {
        let c: Config = from_str(
            r#" { "name": "a\"b\\c\/\n\u00e9\ud83d\ude00", "limit": 7, "ratio": -1.5e2,
                  "tags": ["x", "y"], "mode": {"limit": 3}, "extra": {"k": -4} } "#,
        )
        .unwrap();
        assert_eq!(c.name, "a\"b\\c/\né😀");
        assert_eq!((c.limit, c.ratio), (7, Some(-150.0)));
        assert_eq!(c.tags, ["x", "y"]);
        assert_eq!(c.mode, Mode::Limit(3));
        assert_eq!(c.extra["k"], -4);
        let c: Config = from_str(r#"{"name":"n","mode":"deny","ratio":null}"#).unwrap();
        assert_eq!((c.mode, c.ratio), (Mode::Deny, None));
        assert_eq!(
            from_str::<Vec<bool>>("[true,false]").unwrap(),
            [true, false]
        );
        assert_eq!(
            from_str::<(u8, String)>(r#"[1,"a"]"#).unwrap(),
            (1, "a".into())
        );
    }

    #[test]
    fn errors_have_serde_messages_and_positions() {
        let e = err(r#"{"name": 1}"#);
        assert_eq!(
            e,
            "invalid type: integer `1`, expected a string at line 1 column 10"
        );
        let e = err("{\"name\": \"n\",\n \"limt\": 1}");
        assert!(
            e.starts_with("unknown field `limt`, expected one of"),
            "{e}"
        );
        assert!(e.ends_with("at line 2 column 7"), "{e}");
        assert_eq!(err("{}"), "missing field `name` at line 1 column 2");
        assert!(
            err(r#"{"name":"n","limit":-1}"#).contains("invalid value: integer `-1`, expected u32")
        );
        assert!(err(r#"{"name":"n","limit":1.5}"#).contains("invalid type: floating point number"));
        assert!(err(r#"{"name":"n","mode":"maybe"}"#).contains("unknown variant `maybe`"));
        assert!(err(r#"{"name":"n","limit":99999999999}"#).contains("expected u32"));
    }

    #[test]
    fn syntax_errors_are_refused_with_positions() {
        for (text, message) in [
            (r#"{"name":"n",}"#, "trailing comma"),
            (r#"{"name":"n"} x"#, "trailing characters"),
            (r#"{"name" "n"}"#, "expected `:`"),
            (r#"{"name":"n" "limit":1}"#, "expected `,` or `}`"),
            (r#"{"name":"n"#, "EOF while parsing a string"),
            (r#"{"name":"n","#, "EOF while parsing an object"),
            (r#"{"name":"\x"}"#, "invalid escape"),
            (r#"{"name":"\ud800"}"#, "unexpected end of hex escape"),
            (r#"{"name":"n","limit":01}"#, "invalid number"),
            (r#"{"name":"n","limit":-}"#, "invalid number"),
            (r#"{name:1}"#, "key must be a string"),
            ("{\"name\":\"a\u{1}\"}", "control character"),
            (r#"{"name":"n","tags":["a",]}"#, "trailing comma"),
            (r#"{"name":tru}"#, "expected ident"),
            ("", "EOF while parsing a value"),
        ] {
            let e = err(text);
            assert!(
                e.contains(message) && e.contains(" at line 1 column "),
                "{text}: {e}"
            );
        }
    }

    #[test]
    fn ignored_values_are_skipped() {
        #[derive(Deserialize)]
        struct Loose {
            a: u8,
        }
        let l: Loose =
            from_str(r#"{"x": [1, {"y": [null, true, "s"]}, -2.5e-3], "a": 4}"#).unwrap();
        assert_eq!(l.a, 4);
    }
}

/// Differential test: on any JSON document (and on corruptions of one), this reader and
/// serde_json agree on the value and on whether the text is valid.
#[cfg(test)]
mod against_serde_json {
    use super::from_str;
    use proptest::prelude::*;
    use serde_json::Value;

    fn value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            (-1e6f64..1e6).prop_map(Value::from),
            ".{0,12}".prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 48, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                prop::collection::btree_map(".{0,6}", inner, 0..6)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn same_value_as_serde_json(v in value(), pretty in any::<bool>()) {
            let text = if pretty { serde_json::to_string_pretty(&v) } else { serde_json::to_string(&v) }.unwrap();
            let ours: Value = from_str(&text).map_err(|e| TestCaseError::fail(format!("{text}: {e}")))?;
            prop_assert_eq!(ours, v);
        }

        #[test]
        fn any_text_gives_a_value_or_an_error(text in "[ -~\\PC]{0,40}") {
            let _ = from_str::<Value>(&text);
        }

        #[test]
        fn same_verdict_on_corrupted_text(v in value(), at in any::<prop::sample::Index>(), byte in prop::sample::select(b"{}[],:\"\\ 0-eE.tfn".to_vec())) {
            let mut text = serde_json::to_string(&v).unwrap().into_bytes();
            if text.is_empty() { return Ok(()); }
            let i = at.index(text.len());
            text[i] = byte;
            let Ok(text) = String::from_utf8(text) else { return Ok(()) };
            let theirs = serde_json::from_str::<Value>(&text);
            let ours = from_str::<Value>(&text);
            // Only the verdict: serde_json's default float parsing may be off by one ulp.
            prop_assert_eq!(ours.is_ok(), theirs.is_ok(), "{}: ours {:?} theirs {:?}", text, ours, theirs);
        }
    }
}
