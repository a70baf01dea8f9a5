//! `cargo wasme run`: one request (or one TCP connection) through a filter in the harness,
//! showing what the upstream and the client would see, the filter's logs and, on request, the
//! hostcall trace. Works on any proxy-wasm module, whatever language built it.

use crate::scenario::bridge::{self as host, PluginSetup, ScriptedAnswer, TcpChunk, UpstreamParts};
use crate::scenario::exec::{RootIdChoice, choose_root_id};
use crate::scenario::expect::{ObservedConnection, ObservedMessage};
use crate::scenario::format::{Headers, LevelName, Request};
use std::fmt::Write as _;
use std::path::Path;

/// Why `run` could not run.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The module could not be found or loaded.
    #[error(transparent)]
    Module(#[from] host::LoadError),
    /// The plugin did not start, or the harness refused the request.
    #[error(transparent)]
    Harness(#[from] wasme_harness::HarnessError),
    /// The request file is unreadable or malformed.
    #[error("{0}")]
    RequestFile(String),
    /// A `--cluster` value is malformed.
    #[error(
        "--cluster {0:?}: expected NAME, NAME=STATUS, NAME=STATUS:BODY, NAME=fail or NAME=reset"
    )]
    ClusterFlag(String),
    /// The configuration schema the image records rejects the configuration.
    #[error(
        "the configuration schema recorded in the image rejects {what} (the filter was not \
         started; `deploy` refuses it too): {violations}"
    )]
    ConfigSchema {
        /// Which configuration.
        what: &'static str,
        /// Every violation, `pointer: message`.
        violations: String,
    },
    /// A `--header`, `--trailer`, `--response-header`, `--env` or `--property` value has no
    /// separator.
    #[error("{flag} {value:?}: expected `NAME{separator}VALUE`")]
    Pair {
        /// The flag.
        flag: &'static str,
        /// The value as given.
        value: String,
        /// The separator it lacks (`:` or `=`).
        separator: char,
    },
    /// A header name given on the command line is not a valid header name.
    #[error("{0}")]
    HeaderName(String),
    /// The body or configuration file cannot be read.
    #[error("reading the {what} {}", path.display())]
    ReadFile {
        /// Which file (`body file`, `configuration file`).
        what: &'static str,
        /// The file.
        path: std::path::PathBuf,
        /// The OS's error.
        #[source]
        source: std::io::Error,
    },
    /// The module named on the command line cannot be found, built or read.
    #[error(transparent)]
    ModuleArg(#[from] crate::module_arg::ModuleArgError),
}

/// Options of a TCP run (the request body is what the client sends; the response body what
/// the upstream sends).
#[derive(Debug, Clone, Default)]
pub struct TcpOptions {}

/// Everything `run` needs.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// A `.wasm` file or an image reference.
    pub module: String,
    /// The request.
    pub request: Request,
    /// The request body (overrides `request.body`).
    pub body: Option<Vec<u8>>,
    /// The upstream's status.
    pub response_status: u16,
    /// The upstream's headers.
    pub response_headers: Vec<(String, String)>,
    /// The upstream's body.
    pub response_body: Option<Vec<u8>>,
    /// Plugin configuration.
    pub config: Option<Vec<u8>>,
    /// VM configuration.
    pub vm_config: Option<Vec<u8>>,
    /// Root id (`--root-id`); when `None`, the first root id of the module's image (see
    /// [`root_id_for`]).
    pub root_id: Option<String>,
    /// The image a crate given as the module was built as, and its root ids (the module is
    /// then the built file, which has no image of its own in the store).
    pub built_image: Option<(String, Vec<String>)>,
    /// Environment variables.
    pub env: Vec<(String, String)>,
    /// Properties.
    pub properties: Vec<(String, String)>,
    /// Clusters with their scripted answers.
    pub clusters: Vec<(String, ScriptedAnswer)>,
    /// The configuration a worker configures the plugin with after start-up.
    pub worker_config: Option<Vec<u8>>,
    /// Run a TCP connection instead of an HTTP request.
    pub tcp: Option<TcpOptions>,
    /// Record the hostcall trace.
    pub trace: bool,
    /// The configuration schema the configurations are checked against first
    /// ([`crate::module_arg::Resolved::config_schema`]).
    pub config_schema: Option<crate::config_schema::ConfigSchema>,
}

/// The request `run` sends when nothing else is said: `GET /` to `example.com`.
pub fn default_request() -> Request {
    Request {
        method: "GET".into(),
        path: "/".into(),
        authority: "example.com".into(),
        scheme: "http".into(),
        headers: Headers::default(),
        body: None,
        trailers: Headers::default(),
        properties: Default::default(),
    }
}

/// Reads a request in the scenario `request` format from a YAML (or JSON) file.
pub fn load_request_file(path: &Path) -> Result<Request, RunError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| RunError::RequestFile(format!("cannot read {}: {e}", path.display())))?;
    crate::deploy::yaml::check_depth(&text, crate::deploy::yaml::MAX_DEPTH).map_err(|e| {
        RunError::RequestFile(format!(
            "{}:{}: invalid request: {e}",
            path.display(),
            e.line
        ))
    })?;
    serde_norway::from_str(&text).map_err(|e| {
        let at = e
            .location()
            .map(|l| format!(":{}:{}", l.line(), l.column()))
            .unwrap_or_default();
        RunError::RequestFile(format!("{}{at}: invalid request: {e}", path.display()))
    })
}

/// Parses `--cluster NAME[=STATUS[:BODY]]`, `NAME=fail` (the upstream cannot be connected
/// to: Envoy's 503) or `NAME=reset` (the callout's stream is reset: `(token, 0, 0, 0)`).
pub fn parse_cluster_flag(flag: &str) -> Result<(String, ScriptedAnswer), RunError> {
    let bad = || RunError::ClusterFlag(flag.to_string());
    let (name, answer) = match flag.split_once('=') {
        None => (flag, None),
        Some((n, a)) => (n, Some(a)),
    };
    if name.is_empty() {
        return Err(bad());
    }
    let answers = match answer {
        None => ScriptedAnswer::Pending,
        Some("fail") => ScriptedAnswer::Fail,
        Some("reset") => ScriptedAnswer::Reset,
        Some(a) => {
            let (status, body) = a.split_once(':').unwrap_or((a, ""));
            let status: u16 = status.parse().map_err(|_| bad())?;
            if !(100..=599).contains(&status) {
                return Err(bad());
            }
            ScriptedAnswer::Respond {
                status,
                headers: Vec::new(),
                body: body.as_bytes().to_vec(),
                trailers: Vec::new(),
            }
        }
    };
    Ok((name.to_string(), answers))
}

/// What a run showed.
#[derive(Debug, Clone)]
pub struct RunOutcome {
    /// The HTTP exchange (HTTP runs).
    pub http: Option<host::ExchangeView>,
    /// The connection (TCP runs).
    pub tcp: Option<ObservedConnection>,
    /// Every log line, start-up included.
    pub logs: Vec<(LevelName, String)>,
    /// Metrics after the run.
    pub metrics: Vec<(String, i64)>,
    /// The hostcall trace.
    pub trace: Vec<String>,
    /// The VM failure, if the filter trapped.
    pub failure: Option<String>,
}

impl RunOutcome {
    /// Whether the VM failed (trapped) during the run.
    pub fn vm_failed(&self) -> bool {
        self.failure.is_some()
    }

    /// Renders the outcome for a terminal.
    pub fn render(&self, with_trace: bool) -> String {
        let mut out = String::new();
        if let Some(ex) = &self.http {
            match &ex.upstream {
                Some(m) => {
                    out.push_str("── upstream received ──\n");
                    render_message(&mut out, m);
                }
                None => out.push_str("── upstream received ──\n  (nothing: the request did not reach the upstream)\n"),
            }
            if let Some(l) = &ex.local_reply {
                let _ = writeln!(
                    out,
                    "── local reply by the filter ──\n  status {} details {:?}",
                    l.status, l.details
                );
            }
            out.push_str("── client received ──\n");
            render_message(&mut out, &ex.client);
        }
        if let Some(c) = &self.tcp {
            let _ = writeln!(
                out,
                "── connection ──\n  upstream received:   {}\n  client received:     {}\n  closed by the filter: {}",
                text(&c.upstream_received),
                text(&c.downstream_received),
                c.closed_by_filter
            );
        }
        out.push_str("── logs ──\n");
        if self.logs.is_empty() {
            out.push_str("  (none)\n");
        }
        for (level, line) in &self.logs {
            let _ = writeln!(out, "  [{level:?}] {line}");
        }
        if !self.metrics.is_empty() {
            out.push_str("── metrics ──\n");
            for (k, v) in &self.metrics {
                let _ = writeln!(out, "  {k} = {v}");
            }
        }
        if let Some(f) = &self.failure {
            let _ = writeln!(out, "── VM FAILED ──\n  {}", f.replace('\n', "\n  "));
        }
        if with_trace {
            out.push_str("── hostcall trace ──\n");
            for line in &self.trace {
                let _ = writeln!(out, "  {line}");
            }
        }
        out
    }
}

fn text(b: &[u8]) -> String {
    match std::str::from_utf8(b) {
        Ok(s) => format!("{s:?}"),
        Err(_) => format!("{} bytes: {b:02x?}", b.len()),
    }
}

fn render_message(out: &mut String, m: &ObservedMessage) {
    for (k, v) in &m.headers {
        let _ = writeln!(out, "  {k}: {v}");
    }
    if !m.body.is_empty() {
        let _ = writeln!(
            out,
            "\n  {}",
            String::from_utf8_lossy(&m.body).replace('\n', "\n  ")
        );
    }
    for (k, v) in &m.trailers {
        let _ = writeln!(out, "  (trailer) {k}: {v}");
    }
}

/// The root id `run` starts the plugin with: `--root-id`, else the first root id of the
/// image's runtime config (the stored image named as the module, or the image a crate was
/// built as), exactly as `cargo wasme deploy` chooses it; else unset (`""`).
pub fn root_id_for(opts: &RunOptions) -> RootIdChoice {
    match (&opts.root_id, &opts.built_image) {
        (Some(r), _) => RootIdChoice::given(r, "--root-id"),
        (None, Some((image, ids))) => RootIdChoice::from_image(image, ids),
        (None, None) => choose_root_id(None, &opts.module),
    }
}

/// Runs one request or connection, with the root id [`root_id_for`] chooses.
pub fn run(opts: &RunOptions) -> Result<RunOutcome, RunError> {
    if let Some(schema) = &opts.config_schema {
        for (what, config) in [
            ("the plugin configuration", &opts.config),
            ("the worker configuration", &opts.worker_config),
        ] {
            if let Some(Err(v)) = config.as_deref().map(|c| schema.check(c)) {
                let violations = crate::config_schema::describe(&v);
                return Err(RunError::ConfigSchema { what, violations });
            }
        }
    }
    let module = host::load_module_arg(&opts.module)?;
    let setup = PluginSetup {
        root_id: root_id_for(opts).root_id,
        config: opts.config.clone(),
        vm_config: opts.vm_config.clone(),
        env: opts.env.clone(),
        properties: opts.properties.clone(),
        clusters: opts.clusters.clone(),
        worker_config: opts.worker_config.clone(),
        trace: opts.trace,
        ..Default::default()
    };
    let mut h = host::build_host(&module, &setup)?;
    let body = opts
        .body
        .clone()
        .or_else(|| opts.request.body.clone().map(String::into_bytes));
    let (http, tcp) = if opts.tcp.is_some() {
        let mut chunks = Vec::new();
        if let Some(b) = &body {
            chunks.push(TcpChunk::Downstream(b, false));
        }
        if let Some(b) = &opts.response_body {
            chunks.push(TcpChunk::Upstream(b, false));
        }
        (None, Some(host::tcp(&mut h, &chunks, true)?))
    } else {
        // A callout nobody answers (`--cluster NAME`) times out as in Envoy: a 504 answer.
        let ex = host::exchange_waiting_for_timeouts(
            &mut h,
            &opts.request,
            body.as_deref(),
            UpstreamParts {
                status: opts.response_status,
                headers: &opts.response_headers,
                body: opts.response_body.as_deref(),
                trailers: &[],
            },
        )?;
        (Some(ex), None)
    };
    Ok(RunOutcome {
        http,
        tcp,
        logs: host::log_lines(h.logs()),
        metrics: host::metrics(&h).into_iter().collect(),
        trace: if opts.trace {
            h.trace().to_vec()
        } else {
            Vec::new()
        },
        failure: h.failure().map(|f| f.to_string()),
    })
}

/// `cargo wasme run`'s request as its flags give it: text still to be parsed and files
/// still to be read ([`run_request`]).
#[derive(Debug, Clone, Default)]
pub struct RunRequest {
    /// A `.wasm` file, a filter crate directory, or an image reference in the local store.
    pub module: String,
    /// The workspace package to build when `module` is a crate directory.
    pub package: Option<String>,
    /// How a crate is compiled.
    pub build: crate::build::BuildOptions,
    /// Request method (`GET` keeps a request file's).
    pub method: String,
    /// Request path (`/` keeps a request file's).
    pub path: String,
    /// Request authority (`example.com` keeps a request file's).
    pub authority: String,
    /// Request headers `name: value`.
    pub headers: Vec<String>,
    /// The request body.
    pub body: Option<String>,
    /// A file holding the request body.
    pub body_file: Option<std::path::PathBuf>,
    /// Request trailers `name: value`.
    pub trailers: Vec<String>,
    /// A YAML request in the scenario `request` format.
    pub request_file: Option<std::path::PathBuf>,
    /// The upstream's response status.
    pub response_status: u16,
    /// Upstream response headers `name: value`.
    pub response_headers: Vec<String>,
    /// The upstream's response body.
    pub response_body: Option<String>,
    /// The plugin configuration.
    pub config: Option<String>,
    /// A file holding the plugin configuration.
    pub config_file: Option<std::path::PathBuf>,
    /// The VM configuration.
    pub vm_config: Option<String>,
    /// The plugin's root id.
    pub root_id: Option<String>,
    /// Environment variables `KEY=VALUE`.
    pub env: Vec<String>,
    /// Host properties `dotted.path=value`.
    pub properties: Vec<String>,
    /// The configuration a worker configures the plugin with after start-up.
    pub worker_config: Option<String>,
    /// Clusters `NAME[=STATUS[:BODY]]`.
    pub clusters: Vec<String>,
    /// A TCP connection instead of an HTTP request.
    pub tcp: bool,
    /// Print the hostcall trace.
    pub trace: bool,
}

fn split_pair<'a>(
    s: &'a str,
    separator: char,
    flag: &'static str,
) -> Result<(&'a str, &'a str), RunError> {
    let (k, v) = s.split_once(separator).ok_or_else(|| RunError::Pair {
        flag,
        value: s.to_string(),
        separator,
    })?;
    Ok((k.trim(), v.trim_start()))
}

fn read_file(p: &Path, what: &'static str) -> Result<Vec<u8>, RunError> {
    std::fs::read(p).map_err(|source| RunError::ReadFile {
        what,
        path: p.to_path_buf(),
        source,
    })
}

fn header_pairs(flags: &[String], flag: &'static str) -> Result<Vec<(String, String)>, RunError> {
    let mut out = Vec::new();
    for h in flags {
        let (k, v) = split_pair(h, ':', flag)?;
        let name = crate::scenario::format::header_name(k).map_err(RunError::HeaderName)?;
        out.push((name, v.to_string()));
    }
    Ok(out)
}

fn pairs(flags: &[String], flag: &'static str) -> Result<Vec<(String, String)>, RunError> {
    let mut out = Vec::new();
    for e in flags {
        let (k, v) = split_pair(e, '=', flag)?;
        out.push((k.to_string(), v.to_string()));
    }
    Ok(out)
}

/// `cargo wasme run`: parses the request's flags (a request file's fields are kept where a flag
/// has its default), resolves the module (building a crate), says the root id, runs and
/// prints the outcome; `Ok(false)` when the VM failed.
pub fn run_request(args: RunRequest) -> Result<bool, RunError> {
    let mut request = match &args.request_file {
        Some(f) => load_request_file(f)?,
        None => default_request(),
    };
    if args.method != "GET" || args.request_file.is_none() {
        request.method = args.method.clone();
    }
    if args.path != "/" || args.request_file.is_none() {
        request.path = args.path.clone();
    }
    if args.authority != "example.com" || args.request_file.is_none() {
        request.authority = args.authority.clone();
    }
    request
        .headers
        .0
        .extend(header_pairs(&args.headers, "--header")?);
    request
        .trailers
        .0
        .extend(header_pairs(&args.trailers, "--trailer")?);
    let body: Option<Vec<u8>> = match (&args.body, &args.body_file) {
        (Some(b), _) => Some(b.clone().into_bytes()),
        (None, Some(f)) => Some(read_file(f, "body file")?),
        (None, None) => request.body.clone().map(String::into_bytes),
    };
    let response_headers = header_pairs(&args.response_headers, "--response-header")?;
    let config = match (&args.config, &args.config_file) {
        (Some(c), _) => Some(c.clone().into_bytes()),
        (None, Some(f)) => Some(read_file(f, "configuration file")?),
        (None, None) => None,
    };
    let env = pairs(&args.env, "--env")?;
    let properties = pairs(&args.properties, "--property")?;
    let mut clusters = Vec::new();
    for c in &args.clusters {
        clusters.push(parse_cluster_flag(c)?);
    }
    let arg = crate::module_arg::ModuleArg {
        module: Some(args.module.clone()),
        package: args.package.clone(),
        scenario: None,
    };
    let resolved = crate::module_arg::resolve(&arg, &args.build)?;
    let mut opts = RunOptions {
        module: resolved.load_arg(),
        request,
        body,
        response_status: args.response_status,
        response_headers,
        response_body: args.response_body.clone().map(String::into_bytes),
        config,
        vm_config: args.vm_config.clone().map(String::into_bytes),
        root_id: args.root_id.clone(),
        built_image: resolved.built_image,
        config_schema: resolved.config_schema,
        env,
        properties,
        clusters,
        worker_config: args.worker_config.as_ref().map(|c| c.clone().into_bytes()),
        tcp: args.tcp.then_some(TcpOptions {}),
        trace: args.trace,
    };
    // The root id deploy would give this image, said before the plugin starts (a wrong one is
    // the usual reason it refuses to).
    let root_id = root_id_for(&opts);
    crate::shell::status("Root id", &root_id);
    opts.root_id = root_id.root_id;
    let outcome = run(&opts)?;
    print!("{}", outcome.render(args.trace));
    Ok(!outcome.vm_failed())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cluster_flags() {
        assert_eq!(
            parse_cluster_flag("auth").unwrap(),
            ("auth".into(), ScriptedAnswer::Pending)
        );
        assert_eq!(
            parse_cluster_flag("auth=fail").unwrap().1,
            ScriptedAnswer::Fail
        );
        assert_eq!(
            parse_cluster_flag("auth=reset").unwrap().1,
            ScriptedAnswer::Reset
        );
        let (_, a) = parse_cluster_flag("auth=403:no: way").unwrap();
        assert_eq!(
            a,
            ScriptedAnswer::Respond {
                status: 403,
                headers: vec![],
                body: b"no: way".to_vec(),
                trailers: vec![]
            }
        );
        assert!(parse_cluster_flag("auth=abc").is_err());
        assert!(parse_cluster_flag("auth=99").is_err());
        assert!(parse_cluster_flag("=200").is_err());
    }
}
