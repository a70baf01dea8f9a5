//! Steps: an HTTP request and the upstream's answer, a TCP connection, a clock advance, or
//! only expectations.

use super::cluster::{Cluster, checked_clusters, default_status};
use super::expect::Expect;
use super::headers::Headers;
use super::module::yes;
use super::shape::Scalar;
use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::Deserialize;
use std::collections::BTreeMap;
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
    /// What must hold after the step.
    pub expect: Expect,
}

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
    /// What must hold after the step.
    #[serde(default)]
    expect: Option<Expect>,
}

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
        Ok(Step {
            name: f.name,
            clusters: f.clusters,
            action,
            expect: f.expect.unwrap_or_default(),
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
