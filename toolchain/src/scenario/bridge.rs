//! The bridge between the authoring commands (`run`, `test`) and the `wasme-harness` host:
//! finding the module (file, filter crate or image), starting a plugin with the given
//! settings, and turning the harness's view of an exchange or a connection into the plain
//! observations the scenario checks use.

use crate::scenario::expect::{ObservedConnection, ObservedLocalReply, ObservedMessage};
use crate::scenario::format::{LevelName, ModuleSource, Request};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use wasme_harness::{HarnessError, Host, LogEntry, LogLevel, Module};

/// Why a module could not be found or loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The `.wasm` file is missing or is not a proxy-wasm module.
    #[error("{path}: {source}")]
    Load {
        /// The file.
        path: PathBuf,
        /// The harness's reason.
        source: Box<HarnessError>,
    },
    /// Building the filter crate failed.
    #[error("building the filter crate {dir}: {source}")]
    Build {
        /// The crate directory.
        dir: PathBuf,
        /// The build error.
        source: wasme_build::BuildError,
    },
    /// The image's module is not one the harness can run.
    #[error("the module of image {reference} cannot be loaded: {source}")]
    Image {
        /// The image, as the store names it.
        reference: String,
        /// The harness's reason.
        source: Box<HarnessError>,
    },
    /// The argument is neither an existing file nor an image in the local store.
    #[error(
        "{arg:?} is not a .wasm file, and no image of that name is in the local store: {reason}"
    )]
    NotFound {
        /// What was given.
        arg: String,
        /// Why the store did not have it.
        reason: String,
    },
}

/// How a module is compiled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Engine {
    /// The ordinary engine (cached compilation).
    #[default]
    Plain,
    /// The instruction-counting engine ([`Module::from_bytes_metered`]): hosts report
    /// [`Host::fuel_consumed`]; a little slower.
    Metered,
}

/// Loads a scenario's module; relative paths are resolved against `base`.
pub fn load_module(source: &ModuleSource, base: &Path) -> Result<Module, LoadError> {
    load_module_on(source, base, Engine::Plain)
}

/// As [`load_module`], compiled on `engine`.
pub fn load_module_on(
    source: &ModuleSource,
    base: &Path,
    engine: Engine,
) -> Result<Module, LoadError> {
    match source {
        ModuleSource::Path(p) => load_file(&base.join(p), engine),
        ModuleSource::Crate { dir, package } => {
            let dir = base.join(dir);
            let wasm = wasme_build::build_filter(&dir, package.as_deref())
                .map_err(|source| LoadError::Build { dir, source })?;
            load_file(&wasm, engine)
        }
        ModuleSource::Image(reference) => load_image(reference, engine),
    }
}

/// Loads a module named on the command line: an existing file, else an image reference.
pub fn load_module_arg(arg: &str) -> Result<Module, LoadError> {
    load_module_arg_on(arg, Engine::Plain)
}

/// As [`load_module_arg`], compiled on `engine`.
pub fn load_module_arg_on(arg: &str, engine: Engine) -> Result<Module, LoadError> {
    let path = Path::new(arg);
    if path.is_file() {
        return load_file(path, engine);
    }
    if path.extension().is_some_and(|e| e == "wasm") {
        return Err(LoadError::Load {
            path: path.to_path_buf(),
            source: Box::new(HarnessError::Io {
                path: arg.to_string(),
                message: "no such file".into(),
            }),
        });
    }
    load_image(arg, engine)
}

fn load_file(path: &Path, engine: Engine) -> Result<Module, LoadError> {
    let loaded = match engine {
        Engine::Plain => Module::from_file(path),
        Engine::Metered => Module::from_file_metered(path),
    };
    loaded.map_err(|source| LoadError::Load {
        path: path.to_path_buf(),
        source: Box::new(source),
    })
}

/// Loads the module of an image in the local store (`$WASME_HOME`).
fn load_image(reference: &str, engine: Engine) -> Result<Module, LoadError> {
    let not_found = |reason: String| LoadError::NotFound {
        arg: reference.to_string(),
        reason,
    };
    // Only read: a missing store is a missing image, never created here.
    let image = match crate::store::Store::open_default_existing() {
        Ok(Some(store)) => store.resolve_local(reference),
        Ok(None) => crate::store::Store::absent(reference).and_then(Err),
        Err(e) => Err(e),
    }
    .map_err(|e| not_found(e.to_string()))?;
    match engine {
        Engine::Plain => Module::from_bytes(image.wasm()),
        Engine::Metered => Module::from_bytes_metered(image.wasm()),
    }
    .map_err(|source| LoadError::Image {
        reference: image.reference.clone(),
        source: Box::new(source),
    })
}

/// How a cluster answers HTTP callouts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScriptedAnswer {
    /// Never: callouts stay pending until their timeout passes, when the filter gets Envoy's
    /// 504 `upstream request timeout` (or until answered by hand).
    Pending,
    /// Answer with this response.
    Respond {
        /// `:status`.
        status: u16,
        /// Headers.
        headers: Vec<(String, String)>,
        /// Body.
        body: Vec<u8>,
        /// Trailers.
        trailers: Vec<(String, String)>,
    },
    /// The upstream cannot be connected to: Envoy's 503 `upstream connect error or
    /// disconnect/reset before headers. reset reason: connection failure`.
    Fail,
    /// The callout's own stream is reset (Envoy's `onHttpCallFailure`): the filter sees
    /// `(token, 0, 0, 0)` and `proxy_get_status` = (11, "reset").
    Reset,
}

/// How a plugin is configured; unset fields take the harness's defaults.
#[derive(Debug, Clone, Default)]
pub struct PluginSetup {
    /// Root id.
    pub root_id: Option<String>,
    /// Plugin name.
    pub plugin_name: Option<String>,
    /// VM id.
    pub vm_id: Option<String>,
    /// Plugin configuration.
    pub config: Option<Vec<u8>>,
    /// VM configuration.
    pub vm_config: Option<Vec<u8>>,
    /// Environment variables.
    pub env: Vec<(String, String)>,
    /// Properties by dotted path (a segment containing dots in square brackets).
    pub properties: Vec<(String, String)>,
    /// The configuration a worker configures the plugin with after start-up (Envoy
    /// configures each worker again); when it is refused the host runs with a failed VM.
    pub worker_config: Option<Vec<u8>>,
    /// Clusters and how they answer.
    pub clusters: Vec<(String, ScriptedAnswer)>,
    /// Record the hostcall trace.
    pub trace: bool,
    /// Failure policy.
    pub failure_policy: Option<wasme_harness::FailurePolicy>,
}

/// Starts a plugin: instantiate, on_vm_start, on_configure.
pub fn build_host(module: &Module, setup: &PluginSetup) -> Result<Host, HarnessError> {
    let mut b = Host::builder(module);
    if let Some(r) = &setup.root_id {
        b = b.root_id(r);
    }
    if let Some(p) = &setup.plugin_name {
        b = b.plugin_name(p);
    }
    if let Some(v) = &setup.vm_id {
        b = b.vm_id(v);
    }
    if let Some(c) = &setup.config {
        b = b.plugin_config(c.clone());
    }
    if let Some(c) = &setup.vm_config {
        b = b.vm_config(c.clone());
    }
    for (k, v) in &setup.env {
        b = b.env(k, v);
    }
    for (k, v) in &setup.properties {
        b = b.property(k, v.as_str());
    }
    for (name, _) in &setup.clusters {
        b = b.cluster(name);
    }
    if let Some(p) = setup.failure_policy {
        b = b.failure_policy(p);
    }
    let mut host = b.trace(setup.trace).build()?;
    for (name, answer) in &setup.clusters {
        script_cluster(&mut host, name, answer);
    }
    if let Some(config) = &setup.worker_config {
        // Refused: the VM is failed and `host.failure()` says why; requests meet the policy.
        host.reconfigure(0, Some(config))?;
    }
    Ok(host)
}

/// Sets how `cluster` answers later callouts. The harness has no way to withdraw a scripted
/// answer, so `Pending` only has an effect on a cluster that had none.
pub fn script_cluster(host: &mut Host, cluster: &str, answer: &ScriptedAnswer) {
    match answer {
        ScriptedAnswer::Pending => {}
        ScriptedAnswer::Fail => host.script_http_connect_failure(cluster),
        ScriptedAnswer::Reset => host.script_http_failure(cluster),
        ScriptedAnswer::Respond {
            status,
            headers,
            body,
            trailers,
        } => {
            let mut r = wasme_harness::HttpCallResponse::new(*status).body(body);
            for (k, v) in headers {
                r = r.header(k, v);
            }
            for (k, v) in trailers {
                r = r.trailer(k, v);
            }
            host.script_http_response(cluster, r);
        }
    }
}

/// The upstream's answer to a request.
#[derive(Debug, Clone, Copy)]
pub struct UpstreamParts<'a> {
    /// `:status`.
    pub status: u16,
    /// Headers.
    pub headers: &'a [(String, String)],
    /// Body.
    pub body: Option<&'a [u8]>,
    /// Trailers.
    pub trailers: &'a [(String, String)],
}

/// One HTTP exchange as observed.
#[derive(Debug, Clone)]
pub struct ExchangeView {
    /// What the upstream received (`None`: never reached).
    pub upstream: Option<ObservedMessage>,
    /// What the client received.
    pub client: ObservedMessage,
    /// The filter's local reply.
    pub local_reply: Option<ObservedLocalReply>,
    /// Reset details, if the stream was reset.
    pub reset: Option<String>,
    /// The filter still held the request or response at the end.
    pub stalled: bool,
    /// The HTTP callouts still unanswered when the exchange was over, read before the stream
    /// ended (ending it destroys the filter's context, which cancels them as Envoy does).
    pub pending_http_calls: Vec<wasme_harness::HttpCallRequest>,
    /// The harness's own record of the exchange, for the rules the harness judges (the
    /// scenario's `invariants`, through [`wasme_harness::fuzz::UserInvariant::check`]).
    pub harness: wasme_harness::Exchange,
}

/// Sends one request through the plugin; the upstream answers with `response`. The request's
/// own `properties` apply to this stream only.
pub fn exchange(
    host: &mut Host,
    request: &Request,
    body: Option<&[u8]>,
    response: UpstreamParts<'_>,
) -> Result<ExchangeView, HarnessError> {
    exchange_with(host, request, body, response, false)
}

/// As [`exchange`], but while the request waits on HTTP callouts nobody will answer, the
/// fake clock runs to their timeouts, so the filter gets Envoy's 504 answers and goes on (what
/// `cargo wasme run` does for a `--cluster NAME` that never answers).
pub fn exchange_waiting_for_timeouts(
    host: &mut Host,
    request: &Request,
    body: Option<&[u8]>,
    response: UpstreamParts<'_>,
) -> Result<ExchangeView, HarnessError> {
    exchange_with(host, request, body, response, true)
}

fn exchange_with(
    host: &mut Host,
    request: &Request,
    body: Option<&[u8]>,
    response: UpstreamParts<'_>,
    wait_for_timeouts: bool,
) -> Result<ExchangeView, HarnessError> {
    let mut req = wasme_harness::HttpRequest::new(&request.method, &request.path)
        .header(":authority", &request.authority)
        .header(":scheme", &request.scheme);
    for (k, v) in &request.headers.0 {
        req = req.header(k, v);
    }
    if let Some(b) = body {
        req = req.body(b);
    }
    for (k, v) in &request.trailers.0 {
        req = req.trailer(k, v);
    }
    let mut resp = wasme_harness::HttpResponse::new(response.status);
    for (k, v) in response.headers {
        resp = resp.header(k, v);
    }
    if let Some(b) = response.body {
        resp = resp.body(b);
    }
    for (k, v) in response.trailers {
        resp = resp.trailer(k, v);
    }
    let mut stream = host.http_stream()?;
    for (path, value) in &request.properties {
        stream.set_property(path, value.0.as_str())?;
    }
    stream.send_request(&req)?;
    if wait_for_timeouts {
        // Each pass answers at least the earliest pending callout (its timeout passes); a
        // filter that keeps calling out is given up on after a while (it stays paused).
        for _ in 0..64 {
            if stream.request_complete() || stream.local_reply().is_some() {
                break;
            }
            let pending = stream.host().pending_http_calls();
            let Some(wait) = pending
                .iter()
                .map(|c| c.timeout)
                .filter(|t| !t.is_zero())
                .min()
            else {
                break;
            };
            stream.host().advance_clock(wait)?;
        }
    }
    if stream.request_complete() {
        stream.send_response(&resp)?;
    }
    // Read before the stream ends: ending it cancels the filter's callouts (Envoy's
    // `Context::~Context`), and a step's `pending_http_calls` is what was still waiting.
    let pending_http_calls = stream.host().pending_http_calls();
    let ex = stream.into_exchange()?;
    Ok(ExchangeView {
        reset: ex.reset.clone(),
        stalled: ex.stalled,
        pending_http_calls,
        upstream: ex.upstream_request.as_ref().map(message),
        client: message(&ex.client_response),
        local_reply: ex.local_reply.as_ref().map(|l| ObservedLocalReply {
            status: l.status,
            details: l.details.clone(),
            body: l.body.clone(),
            headers: l.headers.clone(),
        }),
        harness: ex,
    })
}

fn message(m: &wasme_harness::Message) -> ObservedMessage {
    ObservedMessage {
        status: m.status(),
        headers: m.headers.clone(),
        body: m.body.clone(),
        trailers: m.trailers.clone(),
    }
}

/// One chunk of TCP data: bytes and end-of-stream.
#[derive(Debug, Clone, Copy)]
pub enum TcpChunk<'a> {
    /// From the client.
    Downstream(&'a [u8], bool),
    /// From the upstream.
    Upstream(&'a [u8], bool),
}

/// Runs one TCP connection through a network filter.
pub fn tcp(
    host: &mut Host,
    chunks: &[TcpChunk<'_>],
    close: bool,
) -> Result<ObservedConnection, HarnessError> {
    let mut c = host.tcp_connection()?;
    c.new_connection()?;
    for chunk in chunks {
        // Once the filter (or a failure) closed the connection, no more data flows.
        if c.closed_details().is_some() {
            break;
        }
        match *chunk {
            TcpChunk::Downstream(data, end) => {
                c.downstream_data(data, end)?;
            }
            TcpChunk::Upstream(data, end) => {
                c.upstream_data(data, end)?;
            }
        }
    }
    let closed_by_filter = c.closed_details().is_some();
    let upstream_received = c.sent_upstream();
    let downstream_received = c.sent_downstream();
    if close {
        c.close()?;
    }
    Ok(ObservedConnection {
        closed_by_filter,
        upstream_received,
        downstream_received,
    })
}

/// Counters and gauges by name; a histogram counts as the number of values recorded.
pub fn metrics(host: &Host) -> BTreeMap<String, i64> {
    host.metrics()
        .into_iter()
        .map(|(name, v)| {
            let n = match v {
                wasme_harness::MetricValue::Counter(c) => i64::try_from(c).unwrap_or(i64::MAX),
                wasme_harness::MetricValue::Gauge(g) => g,
                wasme_harness::MetricValue::Histogram(h) => {
                    i64::try_from(h.len()).unwrap_or(i64::MAX)
                }
            };
            (name, n)
        })
        .collect()
}

/// Log entries as (level, message).
pub fn log_lines(logs: &[LogEntry]) -> Vec<(LevelName, String)> {
    logs.iter()
        .map(|l| {
            let level = match l.level {
                LogLevel::Trace => LevelName::Trace,
                LogLevel::Debug => LevelName::Debug,
                LogLevel::Info => LevelName::Info,
                LogLevel::Warn => LevelName::Warn,
                LogLevel::Error => LevelName::Error,
                LogLevel::Critical => LevelName::Critical,
            };
            (level, l.message.clone())
        })
        .collect()
}

/// The root ids an image in the local store declares in its runtime config, with the image's
/// short name; `None` when `reference` is an existing file or names no stored image. `run`
/// and `test` take the first one when no root id is given, as `deploy` does.
pub fn image_root_ids(reference: &str) -> Option<(String, Vec<String>)> {
    if Path::new(reference).is_file() {
        return None;
    }
    // Read-only: a missing store is not created; a digest prefix names an image too.
    let store = crate::store::Store::open_default_existing().ok()??;
    let image = store.resolve_local(reference).ok()?;
    Some((image.short_reference(), image.root_ids))
}
