//! `conformance-probe`: a scriptable guest filter for the harness's Envoy-conformance tests.
//!
//! A conformance test must see exactly what a filter sees: the raw status of every hostcall
//! (including the ones the Rust SDK would panic on), the order of the callbacks, the data the
//! host hands over. This filter makes hostcalls on demand and logs what came back, so each
//! test writes its guest behaviour next to its assertions.
//!
//! # The script
//! The VM configuration and the plugin configuration are scripts, one step a line:
//!
//! ```text
//! <callback>[#n] <op> <args…>
//! ```
//!
//! The step runs in every invocation of `<callback>` (or only the n-th one on a context, counted
//! from 1). Callbacks: `vm_start` (VM configuration only), `configure`, `tick`, `queue_ready`,
//! `foreign_function`, `request_headers`, `request_body`, `request_trailers`,
//! `response_headers`, `response_body`, `response_trailers`, `new_connection`,
//! `downstream_data`, `upstream_data`, `downstream_close`, `upstream_close`, `log`, `done`,
//! `http_call_response`, `grpc_call_response`, `grpc_initial_metadata`, `grpc_message`,
//! `grpc_trailing_metadata`, `grpc_stream_close`. A line `mode tcp` makes the plugin a network
//! filter. Arguments are separated by spaces; `%XX` decodes a byte, `-` is the empty string,
//! `$name` is a value an earlier step remembered (`$q` queue, `$m` metric, `$t` http-call
//! token, `$g` gRPC call, `$s` gRPC stream, `$ctx` the current context).
//!
//! # What it logs (at info, through the raw `proxy_log`)
//! * Entering a callback: `> <callback> ctx=<id> <arguments>`; creating a stream context:
//!   `> create ctx=<id> root=<root>`; dropping it (on_delete): `> delete ctx=<id>`.
//! * Each step: `<callback>.<op>[ <args>] = <raw status>[ <result>]`.

#[cfg(target_arch = "wasm32")]
mod probe;
#[cfg(target_arch = "wasm32")]
mod raw;
pub mod script;
#[cfg(target_arch = "wasm32")]
mod steps;
