//! `cargo wasme run`: flags only; the request is parsed and run by
//! `cargo_wasme::run::run_request`.

use super::args::CargoFlags;
use cargo_wasme::run::RunRequest;
use std::path::PathBuf;
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

/// Runs `cargo wasme run`.
pub fn run(args: RunArgs) -> anyhow::Result<ExitCode> {
    let ok = cargo_wasme::run::run_request(RunRequest {
        module: args.module,
        package: args.package,
        build: args.cargo.options(None, None),
        method: args.method,
        path: args.path,
        authority: args.authority,
        headers: args.headers,
        body: args.body,
        body_file: args.body_file,
        trailers: args.trailers,
        request_file: args.request_file,
        response_status: args.response_status,
        response_headers: args.response_headers,
        response_body: args.response_body,
        config: args.config,
        config_file: args.config_file,
        vm_config: args.vm_config,
        root_id: args.root_id,
        env: args.env,
        properties: args.properties,
        worker_config: args.worker_config,
        clusters: args.clusters,
        tcp: args.tcp,
        trace: args.trace,
    })?;
    Ok(crate::commands::exit(ok))
}
