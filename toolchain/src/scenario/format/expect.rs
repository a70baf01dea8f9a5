//! What a step may expect: the `expect:` mapping and its parts.

use super::headers::Headers;
use super::shape::{Expecting, FalseMeansAbsent, FalseOr, StrOrMap, false_or, str_or_map_list};
use schemars::JsonSchema;
use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};
use std::collections::BTreeMap;
use std::fmt;

/// Expectations checked after a step. Every field is optional; each given one must hold.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    /// What the upstream received. `false`: the request must not reach the upstream.
    #[serde(default, deserialize_with = "false_or")]
    #[schemars(with = "Option<FalseOr<MessageExpect>>")]
    pub upstream: Option<MessageExpect>,
    /// What the client received.
    #[serde(default, deserialize_with = "false_or")]
    #[schemars(with = "Option<FalseOr<MessageExpect>>")]
    pub client: Option<MessageExpect>,
    /// The filter answered locally (`send_local_response`) with this. `false`: it did not.
    #[serde(default, deserialize_with = "false_or")]
    #[schemars(with = "Option<FalseOr<LocalReplyExpect>>")]
    pub local_reply: Option<LocalReplyExpect>,
    /// Log lines that must appear (substring match; plain strings match any level).
    #[serde(default, deserialize_with = "str_or_map_list::<_, String, _>")]
    #[schemars(with = "Vec<StrOrMap<String, LogExpect>>")]
    pub logs: Vec<LogExpect>,
    /// Substrings that must not appear in any log line.
    #[serde(default)]
    pub logs_absent: Vec<String>,
    /// Metric values by name.
    #[serde(default)]
    pub metrics: BTreeMap<String, i64>,
    /// Shared data by key: the value as text, or `null` for "not set".
    #[serde(default)]
    pub shared_data: BTreeMap<String, Option<String>>,
    /// Substrings that must appear in the hostcall trace, e.g. `proxy_http_call`.
    #[serde(default)]
    pub trace: Vec<String>,
    /// Substrings that must not appear in the hostcall trace.
    #[serde(default)]
    pub trace_absent: Vec<String>,
    /// HTTP callouts waiting for an answer at the end of the step (to clusters without a
    /// scripted answer), in token order; for a request, read before its stream ends, since
    /// ending it cancels the filter's callouts as Envoy does.
    #[serde(default)]
    pub pending_http_calls: Option<Vec<HttpCallExpect>>,
    /// The stream was reset: `true`, `false`, or a substring of the reset details.
    #[serde(default)]
    pub stream_reset: Option<FailedExpect>,
    /// The filter still held the request or response when the exchange ended.
    #[serde(default)]
    pub stalled: Option<bool>,
    /// The VM has failed (a trap): `true`, `false`, or a substring of the failure message.
    #[serde(default)]
    pub vm_failed: Option<FailedExpect>,
    /// For a `connection` step: what the network filter did.
    #[serde(default)]
    pub connection: Option<ConnectionExpect>,
    /// The most wasm instructions the step's action may execute (each repeat's own count;
    /// the filter's callbacks only, host work excluded). The scenario then runs the module
    /// on the instruction-counting engine; a step whose count cannot be taken (one that runs
    /// no action) fails and says why.
    #[serde(default)]
    pub instructions_at_most: Option<u64>,
    /// Guest memory over the step's repeats (needs `repeat: 48` or more): after a warm-up of
    /// 32 repeats, the rest are split in four quarters; the step fails when memory grew in at
    /// least three of them (steady growth, not one allocator high-water step) at more than
    /// the given bytes per repeat. The same judgement as `cargo wasme fuzz`'s leak finding.
    #[serde(default)]
    pub guest_memory: Option<GuestMemoryExpect>,
}

/// `guest_memory:` — how much steady growth per repeat a step tolerates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GuestMemoryExpect {
    /// Bytes of steady growth per repeat allowed (0: none). Wasm memory grows in 64 KiB
    /// pages, so a leak of B bytes per repeat shows only over about 4 x 65536 / B repeats.
    pub growth_per_repeat_at_most: u64,
}

/// Expectations on one HTTP message (the upstream request or the client response).
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MessageExpect {
    /// The response status (client side only).
    #[serde(default)]
    pub status: Option<u16>,
    /// Headers that must have exactly these values.
    #[serde(default)]
    pub headers: Headers,
    /// Headers that must be present, with any value.
    #[serde(default)]
    pub headers_present: Vec<String>,
    /// Headers that must be absent.
    #[serde(default)]
    pub headers_absent: Vec<String>,
    /// The exact body.
    #[serde(default)]
    pub body: Option<String>,
    /// Substrings the body must contain.
    #[serde(default)]
    pub body_contains: Vec<String>,
    /// Substrings the body must not contain.
    #[serde(default)]
    pub body_absent: Vec<String>,
    /// `false`: this message must not exist (the upstream was never reached).
    #[serde(skip)]
    pub absent: bool,
}

impl Expecting for MessageExpect {
    const EXPECTING: &'static str = "`false` or a mapping with status, headers, headers_present, headers_absent, body, body_contains, body_absent";
}

impl FalseMeansAbsent for MessageExpect {
    fn absent() -> Self {
        MessageExpect {
            absent: true,
            ..Default::default()
        }
    }
}

/// A local reply expectation: `false` (none), or its fields.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LocalReplyExpect {
    /// The status code.
    #[serde(default)]
    pub status: Option<u16>,
    /// Substring of the response-code details.
    #[serde(default)]
    pub details: Option<String>,
    /// The exact body.
    #[serde(default)]
    pub body: Option<String>,
    /// Substrings the body must contain.
    #[serde(default)]
    pub body_contains: Vec<String>,
    /// Headers of the reply that must have these values.
    #[serde(default)]
    pub headers: Headers,
    /// `false`: there must be no local reply.
    #[serde(skip)]
    pub absent: bool,
}

impl Expecting for LocalReplyExpect {
    const EXPECTING: &'static str =
        "`false` or a mapping with status, details, body, body_contains, headers";
}

impl FalseMeansAbsent for LocalReplyExpect {
    fn absent() -> Self {
        LocalReplyExpect {
            absent: true,
            ..Default::default()
        }
    }
}

/// A log line expectation: a substring (any level) or `{level, contains}`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LogExpect {
    /// The level: trace, debug, info, warn, error or critical (any if not given).
    #[serde(default)]
    pub level: Option<LevelName>,
    /// A substring of the message.
    pub contains: String,
}

impl Expecting for LogExpect {
    const EXPECTING: &'static str = "a substring or a {level, contains} mapping";
}

impl From<String> for LogExpect {
    fn from(contains: String) -> Self {
        LogExpect {
            level: None,
            contains,
        }
    }
}

/// A log level name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum LevelName {
    /// trace
    Trace,
    /// debug
    Debug,
    /// info
    Info,
    /// warn
    Warn,
    /// error
    Error,
    /// critical
    Critical,
}

/// An expected HTTP callout.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HttpCallExpect {
    /// The cluster called.
    pub cluster: String,
    /// Headers the callout must carry with these values (`:path`, `:method` included).
    #[serde(default)]
    pub headers: Headers,
    /// Substrings of the callout body.
    #[serde(default)]
    pub body_contains: Vec<String>,
}

/// `vm_failed` and `stream_reset`: `true`, `false`, or a substring of the message.
#[derive(Debug, Clone, PartialEq, Eq, JsonSchema)]
#[serde(untagged)]
pub enum FailedExpect {
    /// It must (not) have happened.
    Flag(bool),
    /// It must have happened, with a message containing this.
    Message(String),
}

/// Hand-written: derived with `#[serde(untagged)]`, a wrong value (`vm_failed: 3`) would be
/// reported at the enclosing `expect:` mapping, without the field's name (see `shape.rs`).
impl<'de> Deserialize<'de> for FailedExpect {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = FailedExpect;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("true, false, or a substring of the failure message")
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<FailedExpect, E> {
                Ok(FailedExpect::Flag(v))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<FailedExpect, E> {
                Ok(FailedExpect::Message(v.to_string()))
            }
        }
        d.deserialize_any(V)
    }
}

/// Expectations on a TCP connection.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ConnectionExpect {
    /// The filter closed the connection (`true`) or let it run (`false`).
    #[serde(default)]
    pub closed_by_filter: Option<bool>,
    /// The bytes the upstream received, concatenated.
    #[serde(default)]
    pub upstream_received: Option<String>,
    /// The bytes the client received, concatenated.
    #[serde(default)]
    pub downstream_received: Option<String>,
}
