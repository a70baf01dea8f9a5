//! CLI glue: `cargo wasme run`.

use super::args::CargoFlags;
use anyhow::Context;
use cargo_wasme::module_arg::{self, ModuleArg};
use cargo_wasme::run::{RunOptions, TcpOptions};
use cargo_wasme::scenario;
use cargo_wasme::shell;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Arguments of `cargo wasme run`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:\n  \
cargo wasme run target/wasm32-wasip1/release/f.wasm -X POST --path /api -H 'x-user: 1' --body hi\n  \
cargo wasme run f.wasm --config '{\"limit\":1}' --cluster auth=403:denied --trace\n  \
cargo wasme run tcp.wasm --tcp --body 'hello'\n  \
cargo wasme run localhost:5000/filters/f:1.0 --request-file req.yaml\n  \
cargo wasme run . --trace   # build the crate here (as `cargo wasme build` would) and run it")]
pub struct RunArgs {
    /// A `.wasm` file, a filter crate directory (built as `cargo wasme build` builds it), or an
    /// image reference in the local store.
    pub module: String,
    /// Request method.
    #[arg(long, short = 'X', default_value = "GET")]
    pub method: String,
    /// Request path.
    #[arg(long, default_value = "/")]
    pub path: String,
    /// Request authority (`:authority`).
    #[arg(long, default_value = "example.com")]
    pub authority: String,
    /// A request header `name: value` (repeatable).
    #[arg(long = "header", short = 'H', value_name = "NAME: VALUE")]
    pub headers: Vec<String>,
    /// The request body (for --tcp: the bytes the client sends).
    #[arg(long, short = 'd', conflicts_with = "body_file")]
    pub body: Option<String>,
    /// Read the request body from a file.
    #[arg(long, value_name = "FILE")]
    pub body_file: Option<PathBuf>,
    /// A request trailer `name: value` (repeatable).
    #[arg(long = "trailer", value_name = "NAME: VALUE")]
    pub trailers: Vec<String>,
    /// Read the request (method, path, authority, headers, body, trailers) from a YAML file in
    /// the scenario `request` format; flags given as well override it.
    #[arg(long, value_name = "FILE")]
    pub request_file: Option<PathBuf>,
    /// The upstream's response status.
    #[arg(long, default_value_t = 200)]
    pub response_status: u16,
    /// An upstream response header `name: value` (repeatable).
    #[arg(long = "response-header", value_name = "NAME: VALUE")]
    pub response_headers: Vec<String>,
    /// The upstream's response body (for --tcp: the bytes the upstream sends).
    #[arg(long)]
    pub response_body: Option<String>,
    /// The plugin configuration.
    #[arg(long, conflicts_with = "config_file")]
    pub config: Option<String>,
    /// Read the plugin configuration from a file.
    #[arg(long, value_name = "FILE")]
    pub config_file: Option<PathBuf>,
    /// The VM configuration.
    #[arg(long)]
    pub vm_config: Option<String>,
    /// The plugin's root id.
    #[arg(long)]
    pub root_id: Option<String>,
    /// An environment variable `KEY=VALUE` for the module (repeatable).
    #[arg(long = "env", value_name = "KEY=VALUE")]
    pub env: Vec<String>,
    /// A host property `dotted.path=value` (repeatable), e.g. `node.metadata.REGION=eu`; a
    /// segment containing dots goes in brackets: `metadata.filter_metadata[envoy.lua].k=v`.
    /// `source.address`, `source.port`, `destination.*` and `connection.*` set the connection.
    #[arg(long = "property", value_name = "PATH=VALUE")]
    pub properties: Vec<String>,
    /// The plugin configuration a worker configures the plugin with after start-up (Envoy
    /// configures every worker again); if the filter refuses it, the request meets the failure
    /// policy (fail-closed: 503).
    #[arg(long, value_name = "CONFIG")]
    pub worker_config: Option<String>,
    /// A cluster the filter may call: `NAME` (never answers: the callout times out with
    /// Envoy's 504), `NAME=STATUS[:BODY]`, `NAME=fail` (unreachable: Envoy's 503) or
    /// `NAME=reset` (the callout's stream is reset) (repeatable).
    #[arg(long = "cluster", value_name = "NAME[=STATUS[:BODY]]")]
    pub clusters: Vec<String>,
    /// Run a TCP connection through a network filter instead of an HTTP request.
    #[arg(long)]
    pub tcp: bool,
    /// Print the hostcall trace.
    #[arg(long)]
    pub trace: bool,
    /// The workspace package to build when MODULE is a crate directory.
    #[arg(short, long)]
    pub package: Option<String>,
    /// How a crate given as MODULE is compiled.
    #[command(flatten)]
    pub cargo: CargoFlags,
}

fn split_pair<'a>(s: &'a str, sep: char, what: &str) -> anyhow::Result<(&'a str, &'a str)> {
    let (k, v) = s
        .split_once(sep)
        .with_context(|| format!("{what} {s:?}: expected `NAME{sep}VALUE`"))?;
    Ok((k.trim(), v.trim_start()))
}

fn read_file(p: &Path, what: &str) -> anyhow::Result<Vec<u8>> {
    std::fs::read(p).with_context(|| format!("reading the {what} {}", p.display()))
}

/// Runs `cargo wasme run`.
pub fn run(args: RunArgs) -> anyhow::Result<ExitCode> {
    let mut request = match &args.request_file {
        Some(f) => cargo_wasme::run::load_request_file(f)?,
        None => cargo_wasme::run::default_request(),
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
    for h in &args.headers {
        let (k, v) = split_pair(h, ':', "--header")?;
        let name = scenario::format::header_name(k).map_err(anyhow::Error::msg)?;
        request.headers.0.push((name, v.to_string()));
    }
    for h in &args.trailers {
        let (k, v) = split_pair(h, ':', "--trailer")?;
        let name = scenario::format::header_name(k).map_err(anyhow::Error::msg)?;
        request.trailers.0.push((name, v.to_string()));
    }
    let body: Option<Vec<u8>> = match (&args.body, &args.body_file) {
        (Some(b), _) => Some(b.clone().into_bytes()),
        (None, Some(f)) => Some(read_file(f, "body file")?),
        (None, None) => request.body.clone().map(String::into_bytes),
    };
    let mut response_headers = Vec::new();
    for h in &args.response_headers {
        let (k, v) = split_pair(h, ':', "--response-header")?;
        let name = scenario::format::header_name(k).map_err(anyhow::Error::msg)?;
        response_headers.push((name, v.to_string()));
    }
    let config = match (&args.config, &args.config_file) {
        (Some(c), _) => Some(c.clone().into_bytes()),
        (None, Some(f)) => Some(read_file(f, "configuration file")?),
        (None, None) => None,
    };
    let mut env = Vec::new();
    for e in &args.env {
        let (k, v) = split_pair(e, '=', "--env")?;
        env.push((k.to_string(), v.to_string()));
    }
    let mut properties = Vec::new();
    for p in &args.properties {
        let (k, v) = split_pair(p, '=', "--property")?;
        properties.push((k.to_string(), v.to_string()));
    }
    let mut clusters = Vec::new();
    for c in &args.clusters {
        clusters.push(cargo_wasme::run::parse_cluster_flag(c)?);
    }
    let arg = ModuleArg {
        module: Some(args.module.clone()),
        package: args.package.clone(),
        scenario: None,
    };
    let resolved = module_arg::resolve(&arg, &args.cargo.options(None, None))?;
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
    let root_id = cargo_wasme::run::root_id_for(&opts);
    shell::status("Root id", &root_id);
    opts.root_id = root_id.root_id;
    let outcome = cargo_wasme::run::run(&opts)?;
    print!("{}", outcome.render(args.trace));
    Ok(if outcome.vm_failed() {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}
