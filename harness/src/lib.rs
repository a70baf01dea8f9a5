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
//! let module = Module::from_file("target/wasm32-wasip1/release/add_header.wasm")?;
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
//! | building a filter for a test | [`build`] |
//! | failure (trap, deadline, memory cap, start/configure false) | [`Host::failure`] → [`VmFailure`], [`HarnessError`] |
//! | root shutdown | [`Host::shutdown`] |
//! | fuzzing: generated traffic, invariants, shrinking | [`fuzz::run`] |
//! | instructions executed, guest memory, live streams | [`Module::from_bytes_metered`] + [`Host::fuel_consumed`], [`Host::guest_memory_bytes`], [`Host::live_stream_contexts`] |
//!
//! # Layers
//! Imports point one way, down: a module never names one above it.
//! `.ci/check-imports harness/src --layers abi,values,vm,envoy,host` checks it. [`build`] is
//! not a layer: it is the `wasme-build` crate (the compiler, module checks, wasm-opt),
//! re-exported so a filter's tests can build their
//! module; it imports nothing from the harness.
//!
//! ```text
//!  host    Host, HostBuilder, Module, HttpStream,      the thin, documented test-facing API
//!   |      TcpConnection
//!  envoy   Proxy: lifecycle, HTTP and TCP streams,     what Envoy does; services/ has one file
//!   |      events, failure policy, services/, context  per host service (hostcalls + state slice)
//!  vm      engine, compile + ABI detection, guest      wasmtime only, generic over the store
//!   |      memory, exports, Vm<T>, HostError           data; knows nothing of Envoy
//!  values  LogEntry, VmFailure, HarnessError,          plain data every layer shares
//!   |      messages, callout requests and answers
//!  abi     versions, statuses, enums, wire format      the proxy-wasm ABI itself
//! ```

#![deny(missing_docs)]

mod abi;
/// The build pipeline (the `wasme-build` crate): [`build::build_filter`] builds a filter
/// crate the way `cargo wasme build` does, for a test to load.
pub use wasme_build as build;
mod envoy;
pub mod fuzz;
mod host;
mod values;
mod vm;

pub use abi::{AbiVersion, LogLevel, Status};
pub use envoy::{FailurePolicy, MetricValue, SharedState};
pub use host::{Host, HostBuilder, HttpStream, Module, TcpConnection};
pub use values::{
    ConnectionInfo, Exchange, FailureKind, FilterStatus, GrpcCallRequest, GrpcResponse,
    HarnessError, HttpCallRequest, HttpCallResponse, HttpRequest, HttpResponse, LocalReply,
    LogEntry, Message, PropertyValue, VmFailure, find_header, parse_property_path,
};
pub use vm::HostLimits;
pub use vm::limits::MAX_MODULE_BYTES;
