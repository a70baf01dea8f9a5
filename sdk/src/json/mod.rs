//! A small JSON reader implementing `serde::Deserializer`, for plugin configurations.
//!
//! Hand-written on purpose: `serde_json` (with its number parsing and error formatting) is about
//! 40 KB of a filter module, a third of add-header, and Envoy loads every module into every
//! worker; `serde-json-core` is small but its errors carry no line and column. This reader keeps
//! what a configuration needs — every JSON value, strict syntax (no trailing commas, no comments,
//! one value per document), escapes including surrogate pairs, serde's own messages for type
//! and field errors — and reports every error with `at line L column C`, as `serde_json` does.
//! Floating-point parsing is only linked into filters whose configuration has a float field.

//!
//! * `reader.rs` — the parser (tokens, strings, numbers, positions);
//! * `de.rs` — `serde::Deserializer` over it;
//! * `error.rs` — [`JsonError`], with serde's messages and `at line L column C`.

use serde::de::DeserializeOwned;

mod de;
mod error;
mod reader;

pub use error::JsonError;
use reader::Reader;

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
mod tests;

#[cfg(test)]
mod against_serde_json;
