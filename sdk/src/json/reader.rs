//! The parser: a text and a byte offset, reading one token at a time.

use super::JsonError;
use serde::de::{self, Unexpected, Visitor};
use std::borrow::Cow;

/// The parser state: the text and a byte offset into it.
pub(super) struct Reader<'a> {
    pub(super) text: &'a str,
    pub(super) pos: usize,
}

/// The kind of value that starts at the current position.
pub(super) enum Next {
    Null,
    Bool,
    Number,
    String,
    Array,
    Object,
}

impl<'a> Reader<'a> {
    pub(super) fn bytes(&self) -> &'a [u8] {
        self.text.as_bytes()
    }

    pub(super) fn peek_byte(&self) -> Option<u8> {
        self.bytes().get(self.pos).copied()
    }

    pub(super) fn skip_ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek_byte() {
            self.pos += 1;
        }
    }

    /// An error at the current position.
    pub(super) fn error(&self, message: impl Into<String>) -> JsonError {
        self.at(JsonError {
            message: message.into(),
            position: None,
        })
    }

    /// `text[a..b]` without the panic path of `str` indexing (its message formatting is
    /// kilobytes of every module): the reader only cuts at ASCII bytes, so this never misses.
    pub(super) fn slice(&self, a: usize, b: usize) -> &'a str {
        self.text.get(a..b).unwrap_or_default()
    }

    /// Gives an error without a position (from serde's visitors) the current one.
    pub(super) fn at(&self, mut e: JsonError) -> JsonError {
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

    pub(super) fn next_kind(&mut self) -> Result<Next, JsonError> {
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

    pub(super) fn expect_literal(&mut self, word: &str) -> Result<(), JsonError> {
        if self.bytes()[self.pos..].starts_with(word.as_bytes()) {
            self.pos += word.len();
            Ok(())
        } else {
            self.pos += 1;
            Err(self.error("expected ident"))
        }
    }

    pub(super) fn parse_bool(&mut self) -> Result<bool, JsonError> {
        if self.peek_byte() == Some(b't') {
            self.expect_literal("true").map(|()| true)
        } else {
            self.expect_literal("false").map(|()| false)
        }
    }

    /// The text of a number token (validated against JSON's grammar) and whether it is an
    /// integer.
    pub(super) fn number_token(&mut self) -> Result<(&'a str, bool), JsonError> {
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
    pub(super) fn parse_string(&mut self) -> Result<Cow<'a, str>, JsonError> {
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
    pub(super) fn unicode_escape(&mut self) -> Result<char, JsonError> {
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

    pub(super) fn hex4(&mut self) -> Result<u32, JsonError> {
        let mut value = 0;
        for _ in 0..4 {
            let digit = self.peek_byte().and_then(|b| (b as char).to_digit(16));
            self.pos += 1;
            value = value * 16 + digit.ok_or_else(|| self.error("invalid escape"))?;
        }
        Ok(value)
    }

    /// Consumes `c` (after white space) or fails with `expected`.
    pub(super) fn eat(&mut self, c: u8) -> bool {
        self.skip_ws();
        if self.peek_byte() == Some(c) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    /// Skips one value of any kind (for `IgnoredAny`).
    pub(super) fn skip_value(&mut self) -> Result<(), JsonError> {
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
    pub(super) fn separator(&mut self, first: &mut bool, what: &str) -> Result<(), JsonError> {
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
    pub(super) fn object_key(&mut self) -> Result<(Cow<'a, str>, usize), JsonError> {
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
    pub(super) fn invalid_type(&mut self, expected: &dyn de::Expected) -> JsonError {
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

    pub(super) fn integer<V: Visitor<'a>>(&mut self, visitor: V) -> Result<V::Value, JsonError> {
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
