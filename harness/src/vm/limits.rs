//! [`HostLimits`]: everything a guest can make the host hold or do is bounded, per VM.
//!
//! Linear memory and tables are bounded by wasmtime through [`wasmtime::ResourceLimiter`]
//! ([`Limiter`]); what the guest pushes into the host through hostcalls (header maps, bodies,
//! shared data, queues, metrics, filter state, logs) is checked where it is stored, with
//! [`VmCore::enforce`]. Crossing a limit fails the VM (kind
//! [`FailureKind::HostLimit`](crate::FailureKind::HostLimit)) with a message naming the limit
//! and the builder option that raises it — a cap error, never an out-of-memory host. Logs are
//! the exception: Envoy never fails a VM for logging, so an over-long line is truncated with a
//! marker and, past the per-VM total, lines are dropped (one marker line says so).
//!
//! The deadline covers host-side work too: every hostcall checks the time the current call
//! started ([`VmCore::check_deadline`]), so a guest looping over hostcalls is interrupted even
//! between epoch checks.

use super::VmCore;
use crate::vm::HostError;
use std::time::Instant;

/// The bounds on what one guest (one VM) can make the host hold. Set them with
/// [`HostBuilder::limits`](crate::HostBuilder::limits); the defaults follow Envoy wherever
/// Envoy applies a limit, and are far above what any well-behaved filter needs elsewhere.
///
/// ```
/// let limits = wasme_harness::HostLimits {
///     header_map_bytes: 96 * 1024,
///     ..wasme_harness::HostLimits::default()
/// };
/// assert_eq!(limits.header_map_count, 100);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HostLimits {
    /// Elements per table (default 10 000: the limit proxy-wasm-cpp-host gives wasmtime's
    /// store limiter). Growing past it traps.
    pub table_elements: usize,
    /// Bytes (keys + values) in one header or trailer map the guest writes (default 60 KiB:
    /// Envoy's `max_request_headers_kb` default).
    pub header_map_bytes: usize,
    /// Entries in one header or trailer map the guest writes (default 100: Envoy's
    /// `max_headers_count` default).
    pub header_map_count: usize,
    /// Bytes in one body or data buffer after the guest writes it (default 16 MiB: Envoy
    /// buffers at most `per_connection_buffer_limit_bytes`, 1 MiB by default, before it
    /// answers 413; a filter may replace a body with a larger one, so the harness allows
    /// sixteen times that).
    pub buffer_bytes: usize,
    /// Bytes (keys + values) in the shared-data store of a [`SharedState`](crate::SharedState)
    /// (default 64 MiB; Envoy sets no limit, this only stops floods).
    pub shared_data_bytes: usize,
    /// Bytes waiting in one shared queue (default 16 MiB; Envoy sets no limit).
    pub queue_bytes: usize,
    /// Shared queues a [`SharedState`](crate::SharedState) holds (default 1024).
    pub queue_count: usize,
    /// Metric definitions per VM (default 10 000; every `proxy_define_metric` call is one).
    pub metric_count: usize,
    /// Bytes of the names of a VM's metric definitions (default 1 MiB).
    pub metric_name_bytes: usize,
    /// Samples kept per histogram (default 100 000).
    pub histogram_samples: usize,
    /// HTTP callouts and gRPC calls/streams pending at once per VM (default 1024: the
    /// `max_pending_requests` and `max_requests` circuit-breaker defaults of an Envoy
    /// cluster).
    pub pending_callouts: usize,
    /// Bytes of all pending callouts of a VM together: request headers, bodies and trailers
    /// of HTTP callouts waiting for their answer, and the messages of gRPC calls and streams
    /// (default 64 MiB: 64 callouts each holding Envoy's 1 MiB
    /// `per_connection_buffer_limit_bytes` default; Envoy itself bounds each callout, not
    /// their sum). Crossing it fails the VM, naming `pending_callout_bytes`.
    pub pending_callout_bytes: usize,
    /// Actions a VM call queues for after it returns (continue, close, local reply, done;
    /// default 1024). Envoy queues them without a limit; a filter needs a handful.
    pub pending_actions: usize,
    /// Bytes of filter state (`proxy_set_property` values) per stream or connection (default
    /// 1 MiB).
    pub property_bytes: usize,
    /// Bytes of one log line; a longer line is truncated with a marker (default 64 KiB).
    pub log_line_bytes: usize,
    /// Bytes of log lines a VM keeps; past it lines are dropped and one marker line says so
    /// (default 16 MiB; [`Host::clear_logs`](crate::Host::clear_logs) makes room again).
    pub log_total_bytes: usize,
}

impl Default for HostLimits {
    fn default() -> Self {
        HostLimits {
            table_elements: 10_000,
            header_map_bytes: 60 * 1024,
            header_map_count: 100,
            buffer_bytes: 16 << 20,
            shared_data_bytes: 64 << 20,
            queue_bytes: 16 << 20,
            queue_count: 1024,
            metric_count: 10_000,
            metric_name_bytes: 1 << 20,
            histogram_samples: 100_000,
            pending_callouts: 1024,
            pending_callout_bytes: 64 << 20,
            pending_actions: 1024,
            property_bytes: 1 << 20,
            log_line_bytes: 64 * 1024,
            log_total_bytes: 16 << 20,
        }
    }
}

/// The largest module the harness loads (256 MiB). Compile time grows with module size, so
/// this also bounds the time a load can take; real filters are a few MiB.
pub const MAX_MODULE_BYTES: usize = 256 << 20;

/// One limit a hostcall checks, with what it is called in messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Limit {
    HeaderMapBytes,
    HeaderMapCount,
    BufferBytes,
    SharedDataBytes,
    QueueBytes,
    QueueCount,
    MetricCount,
    MetricNameBytes,
    HistogramSamples,
    PendingCallouts,
    PendingCalloutBytes,
    PendingActions,
    PropertyBytes,
}

impl Limit {
    fn describe(self, limits: &HostLimits) -> (usize, &'static str, &'static str) {
        match self {
            Limit::HeaderMapBytes => (
                limits.header_map_bytes,
                "bytes in a header map",
                "header_map_bytes",
            ),
            Limit::HeaderMapCount => (
                limits.header_map_count,
                "entries in a header map",
                "header_map_count",
            ),
            Limit::BufferBytes => (limits.buffer_bytes, "bytes in a buffer", "buffer_bytes"),
            Limit::SharedDataBytes => (
                limits.shared_data_bytes,
                "bytes of shared data",
                "shared_data_bytes",
            ),
            Limit::QueueBytes => (
                limits.queue_bytes,
                "bytes waiting in a shared queue",
                "queue_bytes",
            ),
            Limit::QueueCount => (limits.queue_count, "shared queues", "queue_count"),
            Limit::MetricCount => (limits.metric_count, "metric definitions", "metric_count"),
            Limit::MetricNameBytes => (
                limits.metric_name_bytes,
                "bytes of metric names",
                "metric_name_bytes",
            ),
            Limit::HistogramSamples => (
                limits.histogram_samples,
                "samples in a histogram",
                "histogram_samples",
            ),
            Limit::PendingCallouts => (
                limits.pending_callouts,
                "pending callouts",
                "pending_callouts",
            ),
            Limit::PendingCalloutBytes => (
                limits.pending_callout_bytes,
                "bytes of pending callouts",
                "pending_callout_bytes",
            ),
            Limit::PendingActions => (
                limits.pending_actions,
                "actions queued by one call",
                "pending_actions",
            ),
            Limit::PropertyBytes => (
                limits.property_bytes,
                "bytes of filter state",
                "property_bytes",
            ),
        }
    }
}

/// The store limiter: linear memory (the memory cap) and tables.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limiter {
    pub max_memory_bytes: usize,
    pub max_table_elements: usize,
    /// A memory growth was refused.
    pub memory_denied: bool,
    /// A table growth was refused (it trapped).
    pub table_denied: bool,
}

impl wasmtime::ResourceLimiter for Limiter {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let ok = desired <= self.max_memory_bytes;
        if !ok {
            // memory.grow answers -1, as in Envoy; the guest decides what to do (Rust aborts).
            self.memory_denied = true;
        }
        Ok(ok)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired <= self.max_table_elements {
            return Ok(true);
        }
        // A trap rather than -1: a guest that ignores the failure would otherwise loop on
        // table.grow until the deadline, and the message says what happened.
        self.table_denied = true;
        Err(wasmtime::Error::msg(format!(
            "the module grew a table to {desired} elements, over the limit of {} \
             (HostLimits::table_elements)",
            self.max_table_elements
        )))
    }

    fn memories(&self) -> usize {
        // proxy-wasm-cpp-host's limiter: one memory.
        1
    }

    fn instances(&self) -> usize {
        1
    }
}

/// Why the current call was stopped by the host's own limits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Stop {
    /// A host-side limit was crossed.
    Limit(String),
    /// The call's deadline passed while the host was working for it.
    Deadline,
}

impl VmCore {
    /// Fails the VM when `size` crosses `limit`: returns the trap that unwinds the guest, with
    /// a message naming the limit and the option that raises it.
    pub(crate) fn enforce(&mut self, limit: Limit, size: usize) -> Result<(), HostError> {
        let (max, what, option) = limit.describe(&self.limits);
        if size <= max {
            return Ok(());
        }
        let message = format!(
            "the filter exceeded a host limit: {size} {what}, over the limit of {max} \
             (HostLimits::{option}; raise it with HostBuilder::limits)"
        );
        self.stop = Some(Stop::Limit(message.clone()));
        Err(HostError::Trap(wasmtime::Error::msg(message)))
    }

    /// Traps when the current call's deadline has passed (checked on every hostcall, so
    /// host-side work counts against the deadline too).
    pub(crate) fn check_deadline(&mut self) -> wasmtime::Result<()> {
        match self.call_deadline {
            Some(end) if Instant::now() > end => {
                self.stop = Some(Stop::Deadline);
                Err(wasmtime::Error::msg(
                    "the call's deadline passed during a hostcall",
                ))
            }
            _ => Ok(()),
        }
    }
}

/// The size of a header map as Envoy counts it (keys + values).
pub(crate) fn map_bytes<K: AsRef<[u8]>, V: AsRef<[u8]>>(map: &[(K, V)]) -> usize {
    map.iter()
        .map(|(k, v)| k.as_ref().len() + v.as_ref().len())
        .sum()
}
