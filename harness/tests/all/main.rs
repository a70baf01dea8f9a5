//! The harness's integration tests: one binary (as wasmtime's `tests/all`), so wasmtime is
//! linked once, and the shared fixtures (built probe filters, compiled modules) are built once
//! per run.

mod add_header;
mod build_filter;
mod conformance_abi;
mod conformance_actions;
mod conformance_buffers;
mod conformance_callouts;
mod conformance_envoy_callout_failures;
mod conformance_envoy_foreign;
mod conformance_envoy_grpc_local_reply;
mod conformance_envoy_late_local_reply;
mod conformance_envoy_properties;
mod conformance_envoy_worker_failure;
mod conformance_failure;
mod conformance_foreign;
mod conformance_grpc;
mod conformance_headers;
mod conformance_lifecycle;
mod conformance_local_reply;
mod conformance_metrics;
mod conformance_network;
mod conformance_phases;
mod conformance_properties;
mod conformance_queues;
mod conformance_shared_data;
mod conformance_startup;
mod conformance_support;
mod conformance_ticks;
mod conformance_topology;
mod conformance_trace;
mod conformance_wasi;
mod envoy_common;
mod envoy_http_areas;
mod envoy_http_body;
mod envoy_http_callouts;
mod envoy_http_filter;
mod envoy_http_lifecycle;
mod envoy_net_filter;
mod fuzz;
mod host_basics;
mod reliability_guest;
mod reliability_load;
