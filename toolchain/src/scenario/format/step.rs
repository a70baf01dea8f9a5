//! Steps: an HTTP request and the upstream's answer, a TCP connection, a clock advance, or
//! only expectations.

use super::cluster::{Cluster, checked_clusters, default_status};
use super::expect::Expect;
use super::headers::Headers;
use super::module::yes;
use super::shape::Scalar;
use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};
use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

/// One step: an HTTP request, a TCP connection, a clock advance, or only expectations.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(try_from = "StepForm")]
#[schemars(with = "StepForm")]
pub struct Step {
    /// Name shown in reports (default: `step N`).
    pub name: Option<String>,
    /// Clusters whose scripted answers change from this step on.
    pub clusters: BTreeMap<String, Cluster>,
    /// What the step does.
    pub action: Action,
    /// How many times the action plays, one after the other on the same VM (1 unless
    /// `repeat:` says otherwise). Every expectation is checked after every repeat, except
    /// `guest_memory`, which judges them all.
    pub repeat: u32,
    /// What must hold after the step.
    pub expect: Expect,
}

/// The most a step may repeat: enough to see a leak of a few bytes per request in 64 KiB
/// pages, few enough that a scenario stays a test (seconds, not minutes).
pub const MAX_REPEAT: u32 = 100_000;

/// What a step does.
#[derive(Debug, Clone)]
pub enum Action {
    /// One HTTP request and the upstream's response.
    Http {
        /// The request the client sends.
        request: Box<Request>,
        /// What the upstream answers if the request reaches it.
        response: Box<UpstreamResponse>,
    },
    /// One TCP connection.
    Connection(Connection),
    /// Advance the host clock (fires on_tick and callout timeouts).
    AdvanceClock(Duration),
    /// Only check expectations.
    Check,
}

/// A step as written: every action is optional here; [`Step`]'s `try_from` checks that at
/// most one is given.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct StepForm {
    /// Name shown in reports.
    #[serde(default)]
    name: Option<String>,
    /// Send an HTTP request through the filter.
    #[serde(default)]
    request: Option<Request>,
    /// The upstream's answer to `request` (default: 200 with an empty body).
    #[serde(default)]
    response: Option<UpstreamResponse>,
    /// Open a TCP connection through a network filter.
    #[serde(default)]
    connection: Option<Connection>,
    /// Advance the host clock by this much (fires ticks and callout timeouts).
    #[serde(default)]
    advance_clock: Option<DurationSpec>,
    /// Change how clusters answer, from this step on (before its action).
    #[serde(default, deserialize_with = "checked_clusters")]
    clusters: BTreeMap<String, Cluster>,
    /// Play the action this many times on the same VM (1 to 100000; default 1), checking the
    /// expectations after each repeat; with `expect.guest_memory`, at least 48 (see there).
    #[serde(default)]
    repeat: Option<Repeat>,
    /// What must hold after the step.
    #[serde(default)]
    expect: Option<Expect>,
}

/// How many times a step's action plays on the same VM: 1 to 100000.
// Deserialized by hand: through `#[serde(try_from)]` the range error would point at the
// enclosing step, not at the value (see `shape.rs`).
#[derive(Debug, Clone, Copy, JsonSchema)]
#[schemars(rename = "Repeat", schema_with = "repeat_schema")]
struct Repeat(u32);

impl<'de> Deserialize<'de> for Repeat {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Repeat;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                write!(f, "a number of times from 1 to {MAX_REPEAT}")
            }
            fn visit_u64<E: de::Error>(self, n: u64) -> Result<Repeat, E> {
                match u32::try_from(n) {
                    Ok(n) if (1..=MAX_REPEAT).contains(&n) => Ok(Repeat(n)),
                    _ => Err(E::custom(format!(
                        "{n} is out of range: a step plays 1 to {MAX_REPEAT} times"
                    ))),
                }
            }
            fn visit_i64<E: de::Error>(self, n: i64) -> Result<Repeat, E> {
                match u64::try_from(n) {
                    Ok(n) => self.visit_u64(n),
                    Err(_) => Err(E::custom(format!(
                        "{n} is out of range: a step plays 1 to {MAX_REPEAT} times"
                    ))),
                }
            }
        }
        d.deserialize_u64(V)
    }
}

fn repeat_schema(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "type": "integer",
        "minimum": 1,
        "maximum": MAX_REPEAT
    })
}

/// The fewest repeats `expect.guest_memory` judges (the harness's warm-up and four quarters).
pub const MIN_MEMORY_REPEAT: u32 = wasme_harness::fuzz::MIN_REPEATS;

// The error text below names these numbers.
const _: () = assert!(MIN_MEMORY_REPEAT == 48 && wasme_harness::fuzz::WARMUP_REPEATS == 32);

const GUEST_MEMORY_NEEDS_REPEATS: &str = "`expect.guest_memory` judges growth over repeats: \
     give the step `repeat: 48` or more (the first 32 warm the allocator up; to see a leak of B \
     bytes per request, repeat about 32 + 4 x 65536 / B times, e.g. 1056 for 1 KiB)";

impl TryFrom<StepForm> for Step {
    type Error = &'static str;
    fn try_from(f: StepForm) -> Result<Step, Self::Error> {
        const RESPONSE_ALONE: &str = "`response` needs a `request` in the same step";
        let has_request = f.request.is_some();
        let action = match (f.request, f.connection, f.advance_clock) {
            (Some(request), None, None) => Action::Http {
                request: Box::new(request),
                response: Box::new(f.response.unwrap_or_default()),
            },
            (None, Some(c), None) if f.response.is_none() => Action::Connection(c),
            (None, None, Some(d)) if f.response.is_none() => Action::AdvanceClock(d.0),
            (None, None, None) if f.response.is_some() => return Err(RESPONSE_ALONE),
            (None, None, None) => Action::Check,
            _ if f.response.is_some() && !has_request => return Err(RESPONSE_ALONE),
            _ => {
                return Err(
                    "a step does one thing: give only one of `request`, `connection`, `advance_clock`",
                );
            }
        };
        let expect = f.expect.unwrap_or_default();
        let repeat = f.repeat.map_or(1, |r| r.0);
        if f.repeat.is_some() && matches!(action, Action::Check) {
            return Err(
                "`repeat` needs an action to repeat: a `request`, `connection` or `advance_clock` \
                 in the same step",
            );
        }
        if expect.guest_memory.is_some() && repeat < MIN_MEMORY_REPEAT {
            return Err(GUEST_MEMORY_NEEDS_REPEATS);
        }
        Ok(Step {
            name: f.name,
            clusters: f.clusters,
            action,
            repeat,
            expect,
        })
    }
}

/// An HTTP request as the client sends it.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Request {
    /// `:method` (default GET).
    #[serde(default = "default_method")]
    pub method: String,
    /// `:path` (default `/`).
    #[serde(default = "default_path")]
    pub path: String,
    /// `:authority` (default `example.com`).
    #[serde(default = "default_authority")]
    pub authority: String,
    /// `:scheme` (default `http`).
    #[serde(default = "default_scheme")]
    pub scheme: String,
    /// Other request headers.
    #[serde(default)]
    pub headers: Headers,
    /// The request body.
    #[serde(default)]
    pub body: Option<String>,
    /// Request trailers.
    #[serde(default)]
    pub trailers: Headers,
    /// Properties of this request only, read before the scenario's `properties` (the next
    /// request starts without them): dynamic metadata such as
    /// `metadata.filter_metadata[envoy.filters.http.lua].key: v` (a path segment containing
    /// dots goes in square brackets), or this request's connection (`source.address:
    /// 10.0.0.7:40000`, `source.port`, `destination.address`, `destination.port`,
    /// `connection.mtls`, `connection.requested_server_name`, `connection.id`), whose related
    /// properties stay consistent.
    #[serde(default)]
    pub properties: BTreeMap<String, Scalar>,
}

fn default_method() -> String {
    "GET".into()
}
fn default_path() -> String {
    "/".into()
}
fn default_authority() -> String {
    "example.com".into()
}
fn default_scheme() -> String {
    "http".into()
}

/// The upstream's response to a request.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UpstreamResponse {
    /// `:status` (default 200).
    #[serde(default = "default_status")]
    pub status: u16,
    /// Response headers.
    #[serde(default)]
    pub headers: Headers,
    /// Response body.
    #[serde(default)]
    pub body: Option<String>,
    /// Response trailers.
    #[serde(default)]
    pub trailers: Headers,
}

impl Default for UpstreamResponse {
    fn default() -> Self {
        UpstreamResponse {
            status: 200,
            headers: Headers::default(),
            body: None,
            trailers: Headers::default(),
        }
    }
}

/// A TCP connection through a network filter: data chunks in order, then a close.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Connection {
    /// Data chunks, in order, each from the `downstream` (client) or `upstream` side.
    #[serde(default)]
    pub data: Vec<Chunk>,
    /// Close the connection at the end (default `true`).
    #[serde(default = "yes")]
    pub close: bool,
}

/// One chunk of TCP data.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Chunk {
    /// Bytes sent by the client.
    #[serde(default)]
    pub downstream: Option<String>,
    /// Bytes sent by the upstream.
    #[serde(default)]
    pub upstream: Option<String>,
    /// Whether this is the last chunk from that side.
    #[serde(default)]
    pub end: bool,
}

/// A duration: `250ms`, `1s`, `2m`, `1h`, or a number of milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(try_from = "Scalar")]
#[schemars(rename = "Duration", schema_with = "duration_schema")]
pub struct DurationSpec(pub Duration);

impl TryFrom<Scalar> for DurationSpec {
    type Error = String;
    fn try_from(s: Scalar) -> Result<Self, String> {
        parse_duration(&s.0).map(DurationSpec)
    }
}

/// The schema's pattern mirrors [`parse_duration`], which no derive can express.
fn duration_schema(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "description": "A duration such as 250ms, 1s, 2m, 1h, or a number of milliseconds.",
        "anyOf": [
            {"type": "string", "pattern": "^\\s*[0-9.]+\\s*(ns|us|µs|ms|s|m|min|h)?\\s*$"},
            {"type": "number", "minimum": 0}
        ]
    })
}

/// Parses `250ms`, `1.5s`, `2m`, `1h`, `10us` or a bare number of milliseconds.
///
/// ```
/// use cargo_wasme::scenario::format::parse_duration;
/// use std::time::Duration;
/// assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
/// assert_eq!(parse_duration("250"), Ok(Duration::from_millis(250)));
/// assert!(parse_duration("5 parsecs").is_err());
/// ```
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let n: f64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a duration (write e.g. `250ms`, `1s`, `2m`)"))?;
    let scale = match unit.trim() {
        "" | "ms" => 1e-3,
        "s" => 1.0,
        "m" | "min" => 60.0,
        "h" => 3600.0,
        "us" | "µs" => 1e-6,
        "ns" => 1e-9,
        other => {
            return Err(format!(
                "unknown duration unit {other:?} in {text:?} (use ns, us, ms, s, m or h)"
            ));
        }
    };
    Duration::try_from_secs_f64(n * scale).map_err(|e| format!("duration {text:?}: {e}"))
}

#[cfg(test)]
mod tests {
    use crate::scenario::parse::parse_str;
    use std::path::Path;

    fn parse(steps: &str) -> Result<crate::scenario::format::Scenario, String> {
        parse_str(
            Path::new("s.yaml"),
            &format!("module: f.wasm\nsteps:\n{steps}"),
        )
        .map_err(|e| e.to_string())
    }

    #[test]
    fn repeat_and_the_cost_expectations_parse() {
        let s = parse(
            "  - request: {path: /}\n    repeat: 1056\n    expect:\n      instructions_at_most: 5000\n      guest_memory: {growth_per_repeat_at_most: 64}\n",
        )
        .unwrap();
        let step = &s.steps[0];
        assert_eq!(step.repeat, 1056);
        assert_eq!(step.expect.instructions_at_most, Some(5000));
        assert_eq!(
            step.expect
                .guest_memory
                .map(|g| g.growth_per_repeat_at_most),
            Some(64)
        );
        assert_eq!(parse("  - request: {}\n").unwrap().steps[0].repeat, 1);
    }

    #[test]
    fn bad_repeats_and_memory_expectations_are_rejected_where_they_are() {
        for (steps, at, says) in [
            (
                "  - request: {}\n    repeat: 0\n",
                "s.yaml:4:",
                "out of range",
            ),
            (
                "  - request: {}\n    repeat: 100001\n",
                "s.yaml:4:",
                "1 to 100000",
            ),
            ("  - request: {}\n    repeat: -3\n", "s.yaml:4:", "repeat"),
            ("  - request: {}\n    repeat: lots\n", "s.yaml:4:", "repeat"),
            (
                "  - request: {}\n    repeat: 47\n    expect: {guest_memory: {growth_per_repeat_at_most: 0}}\n",
                "s.yaml:3:",
                "repeat: 48",
            ),
            (
                "  - request: {}\n    expect: {guest_memory: {growth_per_repeat_at_most: 0}}\n",
                "s.yaml:3:",
                "repeat: 48",
            ),
            (
                "  - request: {}\n    repeat: 64\n    expect: {guest_memory: {growth: 0}}\n",
                "s.yaml:5:",
                "unknown field `growth`",
            ),
            (
                "  - request: {}\n    repeat: 64\n    expect: {guest_memory: {}}\n",
                "s.yaml:5:",
                "growth_per_repeat_at_most",
            ),
            (
                "  - request: {}\n    expect: {instructions_at_most: many}\n",
                "s.yaml:4:",
                "instructions_at_most",
            ),
            ("  - repeat: 3\n", "s.yaml:3:", "`repeat` needs an action"),
        ] {
            let e = parse(steps).expect_err(steps);
            assert!(e.starts_with(at), "{steps}: {e}");
            assert!(e.contains(says), "{steps}: {e}");
        }
    }
}
