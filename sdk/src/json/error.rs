//! The error type: serde's messages with `at line L column C`.

use super::quoted;
use serde::de::{self, Unexpected};
use std::fmt;

/// A configuration that is not valid JSON or does not match the target type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonError {
    pub(super) message: String,
    /// 1-based line and column (in characters) where the problem was found.
    pub(super) position: Option<(usize, usize)>,
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
