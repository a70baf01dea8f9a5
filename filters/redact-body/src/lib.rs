//! `redact-body`: buffers HTTP response bodies and replaces every match of the configured
//! patterns before the client sees them.
//!
//! Patterns are literals plus a few character classes (`\d`, `\w`, `\s`, `\a`, `.`) and
//! possessive repetition (`+`, `{n}`, `{n,m}`); see [`pattern`] for the syntax and why it is
//! not the `regex` crate.
//!
//! ```json
//! {"patterns": ["\\d{4}-\\d{4}-\\d{4}-\\d{4}", "sk_live_\\w+"], "replacement": "[REDACTED]"}
//! ```
//!
//! Only responses whose `content-type` starts with one of `content_types` are touched
//! (default: `text/`, `application/json`, `application/xml`, `application/javascript`; an
//! empty list means every response). For those the filter removes `content-length` (the body
//! length changes), buffers the body up to `max_body_bytes` (default 1 MiB) and redacts it
//! once complete. A body larger than that is redacted chunk by chunk from then on: a match that
//! straddles two chunks is missed — raise `max_body_bytes` if that matters.
//!
//! Metrics: `redact_body.responses` (bodies that had at least one match) and
//! `redact_body.matches` (counters).

pub mod pattern;

pub use pattern::{Pattern, PatternError, redact};

use serde::Deserialize;
use std::rc::Rc;
use wasme_sdk::metrics::Counter;
use wasme_sdk::{Action, Body, ConfigError, Filter, Headers, HttpCx, HttpFilter, JsonConfig};

/// The redact-body plugin configuration.
///
/// ```
/// use wasme_sdk::PluginConfig;
/// let c = redact_body::RedactConfig::parse(br#"{"patterns": ["secret"]}"#).unwrap();
/// assert_eq!(c.replacement, "[REDACTED]");
/// assert!(c.applies_to(Some("application/json; charset=utf-8")));
/// assert!(!c.applies_to(Some("image/png")));
/// ```
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RedactConfig {
    /// Patterns to redact (see [`pattern`]).
    pub patterns: Vec<String>,
    /// What each match is replaced with (default `[REDACTED]`).
    #[serde(default = "default_replacement")]
    pub replacement: String,
    /// `content-type` prefixes of responses to redact; empty = all responses.
    #[serde(default = "default_content_types")]
    pub content_types: Vec<String>,
    /// Most bytes buffered before redacting chunk by chunk (default 1 MiB).
    #[serde(default = "default_max_body")]
    pub max_body_bytes: usize,
    /// The compiled patterns.
    #[serde(skip)]
    pub compiled: Vec<Pattern>,
}

fn default_replacement() -> String {
    "[REDACTED]".into()
}
fn default_content_types() -> Vec<String> {
    [
        "text/",
        "application/json",
        "application/xml",
        "application/javascript",
    ]
    .map(String::from)
    .to_vec()
}
fn default_max_body() -> usize {
    1 << 20
}

impl JsonConfig for RedactConfig {
    fn validate(&mut self) -> Result<(), ConfigError> {
        if self.patterns.is_empty() {
            return Err(ConfigError::new(
                "\"patterns\" is empty: list at least one pattern to redact",
            ));
        }
        self.compiled = self
            .patterns
            .iter()
            .enumerate()
            .map(|(i, p)| {
                Pattern::parse(p).map_err(|e| ConfigError::new(format!("\"patterns\"[{i}]: {e}")))
            })
            .collect::<Result<_, _>>()?;
        for t in &mut self.content_types {
            *t = t.trim().to_ascii_lowercase();
        }
        if self.max_body_bytes == 0 {
            return Err(ConfigError::new("\"max_body_bytes\" must be at least 1"));
        }
        Ok(())
    }
}

impl RedactConfig {
    /// Whether a response with this `content-type` is redacted.
    pub fn applies_to(&self, content_type: Option<&str>) -> bool {
        if self.content_types.is_empty() {
            return true;
        }
        let Some(ct) = content_type else {
            return false;
        };
        let ct = ct.trim().to_ascii_lowercase();
        self.content_types
            .iter()
            .any(|prefix| ct.starts_with(prefix))
    }
}

/// The filter of one HTTP stream.
pub struct RedactBody {
    config: Rc<RedactConfig>,
    active: bool,
    streaming: bool,
}

impl Filter for RedactBody {
    type Config = RedactConfig;

    fn new(config: &Rc<RedactConfig>) -> Self {
        RedactBody {
            config: config.clone(),
            active: false,
            streaming: false,
        }
    }

    fn name() -> &'static str {
        "redact-body"
    }
}

impl HttpFilter for RedactBody {
    fn on_response_headers(&mut self, headers: &mut Headers, _cx: &mut HttpCx<'_, Self>) -> Action {
        self.active = !headers.end_of_stream()
            && self
                .config
                .applies_to(headers.get("content-type").as_deref());
        if self.active {
            headers.remove("content-length");
        }
        Action::Continue
    }

    fn on_response_body(&mut self, body: &mut Body, _cx: &mut HttpCx<'_, Self>) -> Action {
        if !self.active {
            return Action::Continue;
        }
        if !body.end_of_stream() && !self.streaming {
            if body.len() <= self.config.max_body_bytes {
                return Action::Pause;
            }
            self.streaming = true;
        }
        let (redacted, matches) = redact(
            &body.bytes(),
            &self.config.compiled,
            self.config.replacement.as_bytes(),
        );
        if matches > 0 {
            body.replace(&redacted);
            Counter::named("redact_body.responses").increment(1);
            Counter::named("redact_body.matches").increment(matches as u64);
        }
        Action::Continue
    }
}

wasme_sdk::export_http_filter!(RedactBody);

#[cfg(test)]
mod tests {
    use super::*;
    use wasme_sdk::PluginConfig;

    #[test]
    fn bad_pattern_names_its_index() {
        let e = RedactConfig::parse(br#"{"patterns": ["ok", "+bad"]}"#)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("\"patterns\"[1]") && e.contains("nothing to repeat"),
            "{e}"
        );
        let e = RedactConfig::parse(br#"{"patterns": []}"#)
            .unwrap_err()
            .to_string();
        assert!(e.contains("at least one pattern"), "{e}");
    }

    #[test]
    fn content_type_selection() {
        let all = RedactConfig::parse(br#"{"patterns": ["x"], "content_types": []}"#).unwrap();
        assert!(all.applies_to(None));
        let some = RedactConfig::parse(br#"{"patterns": ["x"], "content_types": ["Text/Plain"]}"#)
            .unwrap();
        assert!(some.applies_to(Some("text/plain; charset=utf-8")));
        assert!(!some.applies_to(Some("text/html")));
        assert!(!some.applies_to(None));
    }
}
