//! The scenario file format: what a `cargo wasme test` YAML file may contain.
//!
//! Every type here is deserialized with `deny_unknown_fields`, so a misspelt key is an error
//! that names the file, line and field (see [`super::parse`]). Values that need checking
//! (durations, header names, step shapes) are checked while deserializing, for the same reason.
//! The JSON schema shipped in `toolchain/schemas/scenario.schema.json` is generated from these
//! types ([`super::json_schema`]).

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

/// One scenario file: a filter, how it is configured, and a sequence of steps with expectations.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "cargo wasme test scenario")]
pub struct Scenario {
    /// Name shown in reports (default: the file name).
    #[serde(default)]
    pub name: Option<String>,
    /// The module under test: a `.wasm` path, `{crate: DIR}` to build a filter crate, or
    /// `{image: REF}` for an image in the local store. Paths are relative to the scenario file.
    pub module: ModuleSource,
    /// The root id passed to the plugin (`root_id` in Envoy's configuration).
    #[serde(default)]
    pub root_id: Option<String>,
    /// The plugin name (appears in Envoy's log lines).
    #[serde(default)]
    pub plugin_name: Option<String>,
    /// The VM id (VMs with the same id share shared data and queues).
    #[serde(default)]
    pub vm_id: Option<String>,
    /// The plugin configuration: a string is passed as is; a mapping or list is passed as JSON.
    #[serde(default)]
    pub config: Option<Config>,
    /// The VM configuration, like `config`.
    #[serde(default)]
    pub vm_config: Option<Config>,
    /// Environment variables visible to the module through WASI.
    #[serde(default)]
    pub env: BTreeMap<String, Scalar>,
    /// Host properties by dotted path, e.g. `node.metadata.REGION: eu`.
    #[serde(default)]
    pub properties: BTreeMap<String, Scalar>,
    /// Upstream clusters the filter may call, with scripted answers.
    #[serde(default, deserialize_with = "checked_clusters")]
    pub clusters: BTreeMap<String, Cluster>,
    /// What happens to traffic once the VM has failed: `fail_closed` (default), `fail_open`
    /// or `fail_reload`.
    #[serde(default)]
    pub failure_policy: Option<FailurePolicyName>,
    /// Expect start-up (on_vm_start / on_configure) to fail, e.g. for a bad configuration.
    #[serde(default)]
    pub startup: Option<StartupExpectation>,
    /// The steps, run in order against one plugin instance.
    #[serde(default)]
    pub steps: Vec<Step>,
}

/// Where the module under test comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModuleSource {
    /// A `.wasm` file (relative to the scenario file).
    Path(PathBuf),
    /// A filter crate, built for wasm32-wasip1 before the scenario runs.
    Crate {
        /// The crate's directory (relative to the scenario file).
        dir: PathBuf,
        /// The package, when `dir` is a workspace.
        package: Option<String>,
    },
    /// An image reference in the local store.
    Image(String),
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct ModuleForm {
    /// A `.wasm` file, relative to the scenario file.
    #[serde(default)]
    path: Option<PathBuf>,
    /// A filter crate directory to build, relative to the scenario file.
    #[serde(default, rename = "crate")]
    krate: Option<PathBuf>,
    /// The package to build when `crate` is a workspace.
    #[serde(default)]
    package: Option<String>,
    /// An image reference in the local store.
    #[serde(default)]
    image: Option<String>,
}

impl TryFrom<ModuleForm> for ModuleSource {
    type Error = String;
    fn try_from(f: ModuleForm) -> Result<Self, String> {
        match (f.path, f.krate, f.image) {
            (Some(p), None, None) if f.package.is_none() => Ok(ModuleSource::Path(p)),
            (None, Some(dir), None) => Ok(ModuleSource::Crate {
                dir,
                package: f.package,
            }),
            (None, None, Some(i)) if f.package.is_none() => Ok(ModuleSource::Image(i)),
            (None, None, None) => Err("give one of `path`, `crate` or `image`".to_string()),
            _ => Err(
                "give exactly one of `path`, `crate` or `image` (`package` only with `crate`)"
                    .to_string(),
            ),
        }
    }
}

impl<'de> Deserialize<'de> for ModuleSource {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = ModuleSource;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a .wasm path, or a mapping with `path`, `crate` or `image`")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<ModuleSource, E> {
                if v.is_empty() {
                    return Err(E::custom("module path is empty"));
                }
                Ok(ModuleSource::Path(PathBuf::from(v)))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<ModuleSource, A::Error> {
                let form = ModuleForm::deserialize(de::value::MapAccessDeserializer::new(map))?;
                ModuleSource::try_from(form).map_err(de::Error::custom)
            }
        }
        d.deserialize_any(V)
    }
}

impl JsonSchema for ModuleSource {
    fn schema_name() -> Cow<'static, str> {
        "ModuleSource".into()
    }
    fn json_schema(g: &mut SchemaGenerator) -> Schema {
        let form = g.subschema_for::<ModuleForm>();
        json_schema!({
            "description": "A .wasm path, or one of {path}, {crate, package}, {image}.",
            "anyOf": [{"type": "string", "minLength": 1}, form]
        })
    }
}

/// A plugin or VM configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct Config(pub String);

impl<'de> Deserialize<'de> for Config {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let value = serde_json::Value::deserialize(d)?;
        Ok(Config(match value {
            serde_json::Value::String(s) => s,
            other => other.to_string(),
        }))
    }
}

impl JsonSchema for Config {
    fn schema_name() -> Cow<'static, str> {
        "Config".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "A string is passed as is; any other value is passed as JSON."
        })
    }
}

/// A YAML scalar (string, number or boolean) taken as its text.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct Scalar(pub String);

impl<'de> Deserialize<'de> for Scalar {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Scalar;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string, number or boolean")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
        }
        d.deserialize_any(V)
    }
}

impl JsonSchema for Scalar {
    fn schema_name() -> Cow<'static, str> {
        "Scalar".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({"type": ["string", "number", "boolean"]})
    }
}

/// Header name → value, in file order. A value may be a list for a repeated header.
/// Names are lower-cased (as Envoy does) and must be valid header names.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Headers(pub Vec<(String, String)>);

impl Headers {
    /// The headers as `(&str, &str)` pairs.
    pub fn pairs(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }
}

/// Checks a header name (RFC 9110 token, or an HTTP/2 pseudo-header) and lower-cases it.
pub fn header_name(name: &str) -> Result<String, String> {
    let body = name.strip_prefix(':').unwrap_or(name);
    let is_tchar = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c);
    if body.is_empty() || !body.chars().all(is_tchar) {
        return Err(format!("{name:?} is not a valid header name"));
    }
    Ok(name.to_ascii_lowercase())
}

impl<'de> Deserialize<'de> for Headers {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum OneOrMany {
            One(Scalar),
            Many(Vec<Scalar>),
        }
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Headers;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a mapping of header names to values")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Headers, A::Error> {
                let mut out = Vec::new();
                while let Some(key) = map.next_key::<String>()? {
                    let name = header_name(&key).map_err(de::Error::custom)?;
                    match map.next_value::<OneOrMany>()? {
                        OneOrMany::One(v) => out.push((name, v.0)),
                        OneOrMany::Many(vs) => {
                            out.extend(vs.into_iter().map(|v| (name.clone(), v.0)))
                        }
                    }
                }
                Ok(Headers(out))
            }
        }
        d.deserialize_map(V)
    }
}

impl JsonSchema for Headers {
    fn schema_name() -> Cow<'static, str> {
        "Headers".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "object",
            "description": "Header name -> value (or list of values for a repeated header).",
            "additionalProperties": {
                "anyOf": [
                    {"type": ["string", "number", "boolean"]},
                    {"type": "array", "items": {"type": ["string", "number", "boolean"]}}
                ]
            }
        })
    }
}

/// A duration: `250ms`, `1s`, `2m`, `1h`, or a number of milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DurationSpec(pub Duration);

/// Parses `250ms`, `1.5s`, `2m`, `1h`, `10us` or a bare number of milliseconds.
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

impl<'de> Deserialize<'de> for DurationSpec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = Scalar::deserialize(d)?;
        parse_duration(&s.0)
            .map(DurationSpec)
            .map_err(de::Error::custom)
    }
}

impl JsonSchema for DurationSpec {
    fn schema_name() -> Cow<'static, str> {
        "Duration".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "A duration such as 250ms, 1s, 2m, 1h, or a number of milliseconds.",
            "anyOf": [
                {"type": "string", "pattern": "^\\s*[0-9.]+\\s*(ns|us|µs|ms|s|m|min|h)?\\s*$"},
                {"type": "number", "minimum": 0}
            ]
        })
    }
}

/// A cluster the filter may call with `http_call`, and how it answers. Neither `respond` nor
/// `fail`: callouts stay pending until their timeout (see `advance_clock`).
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Cluster {
    /// Answer every callout with this response.
    #[serde(default)]
    pub respond: Option<CalloutResponse>,
    /// `true`: every callout fails (connection reset).
    #[serde(default)]
    pub fail: bool,
}

impl Cluster {
    /// Checks that `respond` and `fail` are not both given.
    pub fn check(&self) -> Result<(), String> {
        if self.fail && self.respond.is_some() {
            Err(
                "a cluster either responds or fails: give `respond` or `fail: true`, not both"
                    .into(),
            )
        } else {
            Ok(())
        }
    }
}

/// A scripted answer to HTTP callouts.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CalloutResponse {
    /// The `:status` of the answer (default 200).
    #[serde(default = "default_status")]
    pub status: u16,
    /// Response headers.
    #[serde(default)]
    pub headers: Headers,
    /// Response body.
    #[serde(default)]
    pub body: String,
    /// Response trailers.
    #[serde(default)]
    pub trailers: Headers,
}

fn default_status() -> u16 {
    200
}

/// What happens to traffic once the VM has failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum FailurePolicyName {
    /// Every stream gets a 503 local reply (Envoy's default).
    FailClosed,
    /// The plugin is skipped.
    FailOpen,
    /// A fresh VM is created for later streams.
    FailReload,
}

/// Expect start-up to fail.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StartupExpectation {
    /// `true`: on_vm_start or on_configure must fail (default `true` when `startup` is given).
    #[serde(default = "yes")]
    pub fails: bool,
    /// Substrings that must appear in the module's logs during start-up.
    #[serde(default)]
    pub logs: Vec<String>,
}

fn yes() -> bool {
    true
}

/// One step: an HTTP request, a TCP connection, a clock advance, or only expectations.
#[derive(Debug, Clone)]
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
    type Error = String;
    fn try_from(f: StepForm) -> Result<Step, String> {
        let expect = f.expect.unwrap_or_default();
        let has_request = f.request.is_some();
        let action = match (f.request, f.connection, f.advance_clock) {
            (Some(request), None, None) => Action::Http {
                request: Box::new(request),
                response: Box::new(f.response.unwrap_or_default()),
            },
            (None, Some(c), None) if f.response.is_none() => Action::Connection(c),
            (None, None, Some(d)) if f.response.is_none() => Action::AdvanceClock(d.0),
            (None, None, None) if f.response.is_some() => {
                return Err("`response` needs a `request` in the same step".into());
            }
            (None, None, None) => Action::Check,
            _ if f.response.is_some() && !has_request => {
                return Err("`response` needs a `request` in the same step".into());
            }
            _ => {
                return Err(
                    "a step does one thing: give only one of `request`, `connection`, `advance_clock`"
                        .into(),
                );
            }
        };
        Ok(Step {
            name: f.name,
            clusters: f.clusters,
            action,
            expect,
        })
    }
}

impl JsonSchema for Step {
    fn schema_name() -> Cow<'static, str> {
        "Step".into()
    }
    fn json_schema(g: &mut SchemaGenerator) -> Schema {
        StepForm::json_schema(g)
    }
}

impl<'de> Deserialize<'de> for Step {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let form = StepForm::deserialize(d)?;
        Step::try_from(form).map_err(de::Error::custom)
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

/// Expectations checked after a step. Every field is optional; each given one must hold.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    /// What the upstream received. `false`: the request must not reach the upstream.
    #[serde(default)]
    pub upstream: Option<MessageExpect>,
    /// What the client received.
    #[serde(default)]
    pub client: Option<MessageExpect>,
    /// The filter answered locally (`send_local_response`) with this. `false`: it did not.
    #[serde(default)]
    pub local_reply: Option<LocalReplyExpect>,
    /// Log lines that must appear (substring match; plain strings match any level).
    #[serde(default, deserialize_with = "log_expect_list")]
    #[schemars(with = "Vec<LogItem>")]
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
    /// HTTP callouts waiting for an answer after the step (to clusters without a scripted
    /// answer), in token order.
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
}

/// Expectations on one HTTP message (the upstream request or the client response).
#[derive(Debug, Clone, Default)]
pub struct MessageExpect {
    /// The response status (client side only).
    pub status: Option<u16>,
    /// Headers that must have exactly these values.
    pub headers: Headers,
    /// Headers that must be present, with any value.
    pub headers_present: Vec<String>,
    /// Headers that must be absent.
    pub headers_absent: Vec<String>,
    /// The exact body.
    pub body: Option<String>,
    /// Substrings the body must contain.
    pub body_contains: Vec<String>,
    /// Substrings the body must not contain.
    pub body_absent: Vec<String>,
    /// `false`: this message must not exist (the upstream was never reached).
    pub absent: bool,
}

/// A local reply expectation: `false` (none), or its fields.
#[derive(Debug, Clone, Default)]
pub struct LocalReplyExpect {
    /// The status code.
    pub status: Option<u16>,
    /// Substring of the response-code details.
    pub details: Option<String>,
    /// The exact body.
    pub body: Option<String>,
    /// Substrings the body must contain.
    pub body_contains: Vec<String>,
    /// Headers of the reply that must have these values.
    pub headers: Headers,
    /// `false`: there must be no local reply.
    pub absent: bool,
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

/// `vm_failed: true | false | "substring"`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FailedExpect {
    /// The VM must (not) have failed.
    Flag(bool),
    /// The VM must have failed with a message containing this.
    Message(String),
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

// `false` or a mapping, for `upstream`, `client` and `local_reply`; a string or a mapping for
// `logs`; a bool or a string for `vm_failed`.
macro_rules! bool_or_struct {
    ($t:ident, $form:ty, $what:literal) => {
        impl JsonSchema for $t {
            fn schema_name() -> Cow<'static, str> {
                stringify!($t).into()
            }
            fn json_schema(g: &mut SchemaGenerator) -> Schema {
                let form = g.subschema_for::<$form>();
                json_schema!({"anyOf": [{"const": false}, form]})
            }
        }
        impl<'de> Deserialize<'de> for $t {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                struct V;
                impl<'de> Visitor<'de> for V {
                    type Value = $t;
                    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                        f.write_str($what)
                    }
                    fn visit_bool<E: de::Error>(self, v: bool) -> Result<$t, E> {
                        if v {
                            Err(E::custom(concat!(
                                "`true` says nothing here: give `false` or a mapping (",
                                $what,
                                ")"
                            )))
                        } else {
                            Ok($t {
                                absent: true,
                                ..Default::default()
                            })
                        }
                    }
                    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<$t, A::Error> {
                        <$form>::deserialize(de::value::MapAccessDeserializer::new(map))
                            .map(Into::into)
                    }
                }
                d.deserialize_any(V)
            }
        }
    };
}

/// Expectations on one HTTP message.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct MessageForm {
    /// The response status (client side only).
    #[serde(default)]
    status: Option<u16>,
    /// Headers that must have exactly these values.
    #[serde(default)]
    headers: Headers,
    /// Headers that must be present, with any value.
    #[serde(default)]
    headers_present: Vec<String>,
    /// Headers that must be absent.
    #[serde(default)]
    headers_absent: Vec<String>,
    /// The exact body.
    #[serde(default)]
    body: Option<String>,
    /// Substrings the body must contain.
    #[serde(default)]
    body_contains: Vec<String>,
    /// Substrings the body must not contain.
    #[serde(default)]
    body_absent: Vec<String>,
}

impl From<MessageForm> for MessageExpect {
    fn from(f: MessageForm) -> Self {
        MessageExpect {
            status: f.status,
            headers: f.headers,
            headers_present: f.headers_present,
            headers_absent: f.headers_absent,
            body: f.body,
            body_contains: f.body_contains,
            body_absent: f.body_absent,
            absent: false,
        }
    }
}

bool_or_struct!(
    MessageExpect,
    MessageForm,
    "`false` or a mapping with status, headers, headers_present, headers_absent, body, body_contains, body_absent"
);

/// Expectations on a local reply.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct LocalReplyForm {
    /// The status code.
    #[serde(default)]
    status: Option<u16>,
    /// Substring of the response-code details.
    #[serde(default)]
    details: Option<String>,
    /// The exact body.
    #[serde(default)]
    body: Option<String>,
    /// Substrings the body must contain.
    #[serde(default)]
    body_contains: Vec<String>,
    /// Headers of the reply that must have these values.
    #[serde(default)]
    headers: Headers,
}

impl From<LocalReplyForm> for LocalReplyExpect {
    fn from(f: LocalReplyForm) -> Self {
        LocalReplyExpect {
            status: f.status,
            details: f.details,
            body: f.body,
            body_contains: f.body_contains,
            headers: f.headers,
            absent: false,
        }
    }
}

bool_or_struct!(
    LocalReplyExpect,
    LocalReplyForm,
    "`false` or a mapping with status, details, body, body_contains, headers"
);

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

impl JsonSchema for FailedExpect {
    fn schema_name() -> Cow<'static, str> {
        "FailedExpect".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({"type": ["boolean", "string"]})
    }
}

/// Accepts `- "substring"` as well as `- {level: error, contains: "..."}`.
pub(crate) fn log_expect_list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<LogExpect>, D::Error> {
    struct V;
    impl<'de> Visitor<'de> for V {
        type Value = Vec<LogExpect>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a list of substrings or {level, contains} mappings")
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            let mut out = Vec::new();
            while let Some(item) = seq.next_element::<LogItem>()? {
                out.push(item.0);
            }
            Ok(out)
        }
    }
    d.deserialize_seq(V)
}

struct LogItem(LogExpect);

impl<'de> Deserialize<'de> for LogItem {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = LogItem;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a substring or a {level, contains} mapping")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<LogItem, E> {
                Ok(LogItem(LogExpect {
                    level: None,
                    contains: v.to_string(),
                }))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<LogItem, A::Error> {
                LogExpect::deserialize(de::value::MapAccessDeserializer::new(map)).map(LogItem)
            }
        }
        d.deserialize_any(V)
    }
}

impl JsonSchema for LogItem {
    fn schema_name() -> Cow<'static, str> {
        "LogItem".into()
    }
    fn json_schema(g: &mut SchemaGenerator) -> Schema {
        let form = g.subschema_for::<LogExpect>();
        json_schema!({"anyOf": [{"type": "string"}, form]})
    }
}

fn checked_clusters<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<BTreeMap<String, Cluster>, D::Error> {
    let map = BTreeMap::<String, Cluster>::deserialize(d)?;
    for (name, c) in &map {
        c.check()
            .map_err(|e| de::Error::custom(format!("cluster {name:?}: {e}")))?;
    }
    Ok(map)
}
