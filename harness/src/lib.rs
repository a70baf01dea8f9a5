//! `wasme-harness`: a wasmtime host that emulates Envoy's proxy-wasm host, so real `.wasm`
//! filters are tested from a plain `#[test]` before they are deployed.
//!
//! It runs the real module (built for `wasm32-wasip1` or `wasm32-unknown-unknown`, ABI 0.1.0,
//! 0.2.0 or 0.2.1) and answers every hostcall the way Envoy does: the same statuses, the same
//! phase restrictions, the same callback order. Hosts share nothing unless told to, so tests run
//! in parallel.
//!
//! ```no_run
//! use wasme_harness::{Host, HttpRequest, HttpResponse, LogLevel, Module};
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let wasm = wasme_harness::build::build_filter("filters/add-header", None)?;
//! let module = Module::from_file(wasm)?;
//! let mut host = Host::builder(&module).root_id("add_header").plugin_config("there").build()?;
//! let ex = host.http_exchange(&HttpRequest::get("/"), &HttpResponse::ok().body("hi"))?;
//! assert_eq!(ex.client_response.header("hello"), Some("there"));
//! assert!(host.logs_at(LogLevel::Error).is_empty());
//! # Ok(()) }
//! ```
//!
//! # Where each feature is reached
//!
//! | feature | API |
//! |---|---|
//! | load, ABI detection | [`Module::from_file`], [`Module::from_bytes`], [`Module::abi`] |
//! | plugin/VM configuration, env vars, clusters, properties, foreign functions, policy, limits | [`HostBuilder`] |
//! | several plugins on one VM | [`HostBuilder::add_plugin`], [`Host::http_stream_for`] |
//! | several VMs (workers) sharing shared data/queues/metrics | [`SharedState`], [`HostBuilder::shared_state`] |
//! | a whole request/response | [`Host::http_exchange`] → [`Exchange`] |
//! | step by step (pauses, chunks, trailers) | [`Host::http_stream`] → [`HttpStream`] → [`FilterStatus`] |
//! | network filters | [`Host::tcp_connection`] → [`TcpConnection`] |
//! | HTTP callouts | [`Host::pending_http_calls`], [`Host::respond_http_call`], [`Host::fail_http_call`], [`Host::script_http_response`] |
//! | gRPC | [`Host::pending_grpc_calls`], [`Host::respond_grpc_call`], [`Host::script_grpc_response`] |
//! | shared data, queues | [`Host::shared_data`], [`Host::set_shared_data`], [`Host::enqueue`], [`Host::queue_id`], [`Host::run_pending`] |
//! | metrics | [`Host::metric`], [`Host::metrics`] |
//! | ticks and timeouts (fake clock) | [`Host::advance_clock`] |
//! | foreign-function callbacks | [`Host::call_on_foreign_function`] |
//! | logs, trace | [`Host::logs`], [`Host::logs_at`], [`HostBuilder::trace`] + [`Host::trace`] |
//! | failure (trap, deadline, memory cap, start/configure false) | [`Host::failure`] → [`VmFailure`], [`HarnessError`] |
//! | root shutdown | [`Host::shutdown`] |
//!
//! # Layout
//! [`abi`] (versions, enums, wire formats) · `memory` (guest memory) · `hostcalls/` (one file
//! per area) · `wasi` · [`services`] (shared data, queues, metrics, callouts, properties, clock)
//! · `envoy/` (callback order, action translation, deferred actions, events) · `host` · `stream`
//! · `connection` · [`trace`] · `error`.

pub mod abi;
pub mod build;
mod connection;
mod engine;
mod envoy;
mod error;
mod host;
mod hostcalls;
mod memory;
mod module;
pub mod services;
mod state;
mod stream;
pub mod trace;
mod wasi;

pub use abi::{AbiVersion, LogLevel, Status};
pub use connection::TcpConnection;
pub use error::HarnessError;
pub use host::{FailurePolicy, Host, HostBuilder};
pub use module::Module;
pub use services::SharedState;
pub use services::callouts::{GrpcCallRequest, GrpcResponse, HttpCallRequest, HttpCallResponse};
pub use services::properties::PropertyValue;
pub use services::shared::MetricValue;
pub use stream::{
    Exchange, FilterStatus, HttpRequest, HttpResponse, HttpStream, LocalReply, Message, find_header,
};

/// One captured log line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogEntry {
    /// Its level.
    pub level: LogLevel,
    /// The message.
    pub message: String,
}

/// What kind of failure stopped a VM.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    /// The guest trapped (a Rust panic, `unreachable`, an out-of-bounds access, a forbidden
    /// hostcall, `proc_exit`, an unknown import called).
    Trap,
    /// A call ran past the deadline and was interrupted.
    Deadline,
    /// The guest needed more linear memory than the cap allows.
    MemoryLimit,
    /// on_vm_start returned false.
    StartFailed,
    /// on_configure returned false.
    ConfigureFailed,
}

/// Why a VM failed; it stays failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VmFailure {
    /// The kind of failure.
    pub kind: FailureKind,
    /// The callback that failed (`proxy_on_request_headers`).
    pub callback: String,
    /// Envoy-style message: `Function: proxy_on_request_headers failed: …`.
    pub message: String,
    /// The panic message the SDK logged at critical before trapping, if any.
    pub panic_message: Option<String>,
    /// The wasm backtrace, if available.
    pub backtrace: Option<String>,
}

impl std::fmt::Display for VmFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)?;
        if let Some(b) = &self.backtrace {
            write!(f, "\n{b}")?;
        }
        Ok(())
    }
}
