//! The host services: one file per service, holding the hostcalls of an area and the state
//! slice behind them (as wasmtime's `crates/wasi` has one file per interface), plus
//! [`VmState`], the store data that holds every slice, and [`add_to_linker`], which registers
//! every hostcall. The `hostcall!` machinery the services use is in [`hostcall`].
//!
//! | service | file |
//! |---|---|
//! | headers (`proxy_*_header_map_*`) | [`headers`] |
//! | buffers (`proxy_{get,set}_buffer_*`) | [`buffers`] |
//! | properties (`proxy_{get,set}_property`) and the attribute tree | [`properties`] |
//! | shared data (`proxy_{get,set}_shared_data`) | [`shared_data`] (process-wide store: [`crate::envoy::shared`]) |
//! | shared queues (`proxy_*_shared_queue`) | [`queues`] (process-wide store: [`crate::envoy::shared`]) |
//! | metrics (`proxy_*_metric`) | [`metrics`] |
//! | HTTP and gRPC callouts (`proxy_http_call`, `proxy_grpc_*`) | [`callouts`] |
//! | clock and timers (`proxy_get_current_time_nanoseconds`, `proxy_set_tick_period_milliseconds`) | [`clock`] |
//! | stream control (continue, close, local reply, effective context, status) | [`stream_control`] |
//! | foreign functions (`proxy_call_foreign_function`) | [`foreign`] |
//! | log (`proxy_log`, `proxy_get_log_level`) | [`log`] |
//! | WASI preview1 (`wasi_snapshot_preview1.*`, random) | [`wasi`] |

pub(crate) mod buffers;
pub(crate) mod callouts;
pub(crate) mod clock;
pub(crate) mod foreign;
pub(crate) mod headers;
pub(crate) mod hostcall;
pub(crate) mod log;
pub(crate) mod metrics;
pub(crate) mod properties;
pub(crate) mod queues;
pub(crate) mod shared_data;
pub(crate) mod stream_control;
pub(crate) mod wasi;

use super::context::{CallData, CallFrame, Context, Deferred, Event, HttpCtx};
use super::pool::PairPool;
use super::settings::{PluginSettings, Settings};
use super::shared::SharedState;
use crate::abi::{AbiVersion, LogLevel};
use crate::values::LogEntry;
use crate::vm::{VmCore, VmData};
use callouts::Callouts;
use clock::Clock;
use log::LogSink;
use metrics::Metrics;
use rustc_hash::FxHashMap;
use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use wasi::SeededRng;
use wasmtime::Linker;

/// Adds every hostcall of `abi` to the linker.
pub(crate) fn add_to_linker(linker: &mut Linker<VmState>, abi: AbiVersion) -> wasmtime::Result<()> {
    log::add(linker, abi)?;
    clock::add(linker)?;
    buffers::add(linker, abi)?;
    headers::add(linker)?;
    stream_control::add(linker, abi)?;
    callouts::add(linker)?;
    shared_data::add(linker)?;
    queues::add(linker)?;
    metrics::add(linker)?;
    properties::add(linker)?;
    foreign::add(linker)?;
    Ok(())
}

/// The store data of one VM.
pub(crate) struct VmState {
    pub host_id: u64,
    pub settings: Arc<Settings>,
    pub abi: AbiVersion,
    pub shared: SharedState,
    pub vm: VmCore,
    pub call: CallFrame,
    pub deferred: Vec<Deferred>,
    pub events: VecDeque<Event>,
    /// Every live context by id; looked up on every hostcall, so hashed with FxHash (ids are
    /// small integers the host hands out, not attacker-chosen keys).
    pub contexts: FxHashMap<u32, Context>,
    /// Boxes of finished HTTP streams, reused by the next streams instead of allocating.
    // Boxed on purpose: a spare moves into `Context::Http(Box<HttpCtx>)` without a new
    // allocation, which is the point of keeping it.
    #[allow(clippy::vec_box)]
    pub spare_http: Vec<Box<HttpCtx>>,
    pub pool: PairPool,
    pub log: LogSink,
    pub metrics: Metrics,
    pub callouts: Callouts,
    pub clock: Clock,
    pub rng: SeededRng,
    /// What `proxy_get_status` answers: (code, message).
    pub status: (u32, Vec<u8>),
    /// Properties declared with the `declare_property` foreign function: name → read-only.
    pub declared: HashMap<Vec<u8>, bool>,
    /// How often `clear_route_cache` was called (the foreign function or the 0.1.0 hostcall).
    pub route_cache_clears: u32,
}

impl VmState {
    pub(crate) fn new(
        host_id: u64,
        settings: Arc<Settings>,
        abi: AbiVersion,
        shared: SharedState,
    ) -> VmState {
        VmState {
            host_id,
            abi,
            shared,
            vm: VmCore::new(settings.memory_limit, settings.limits),
            call: CallFrame::default(),
            deferred: Vec::new(),
            events: VecDeque::new(),
            contexts: FxHashMap::default(),
            spare_http: Vec::new(),
            pool: PairPool::default(),
            log: LogSink {
                entries: Vec::new(),
                trace: settings.trace.then(Vec::new),
                trace_note: None,
            },
            metrics: Metrics::default(),
            callouts: Callouts::default(),
            clock: Clock::new(settings.start_time),
            rng: SeededRng::new(settings.random_seed),
            status: (0, Vec::new()),
            declared: HashMap::new(),
            route_cache_clears: 0,
            settings,
        }
    }

    /// Moves what outlives a VM (logs, trace, clock, random state, scripts) into a fresh one.
    pub(crate) fn carry_over(&mut self, old: &mut VmState) {
        self.log.entries = std::mem::take(&mut old.log.entries);
        self.log.trace = old.log.trace.take();
        self.clock = old.clock.clone();
        self.rng = old.rng.clone();
        self.callouts.scripted_http = std::mem::take(&mut old.callouts.scripted_http);
        self.callouts.scripted_grpc = std::mem::take(&mut old.callouts.scripted_grpc);
    }

    /// The context hostcalls act on (after `proxy_set_effective_context`).
    pub(crate) fn effective(&self) -> Option<&Context> {
        self.contexts.get(&self.call.effective_id)
    }

    /// The root context id of the effective context.
    pub(crate) fn effective_root(&self) -> u32 {
        self.effective()
            .map(|c| c.root_id(self.call.effective_id))
            .unwrap_or(self.call.effective_id)
    }

    /// The plugin of a root context id.
    pub(crate) fn plugin_of_root(&self, root: u32) -> Option<&PluginSettings> {
        match self.contexts.get(&root) {
            Some(Context::Root(r)) => self.settings.plugins.get(r.plugin),
            _ => None,
        }
    }

    /// Records a log line, unless it is below the configured level: Envoy's logger drops
    /// those (the guest's `proxy_log` still answers OK), and so does the harness.
    pub(crate) fn log(&mut self, level: LogLevel, message: String) {
        if level >= self.settings.log_level {
            log::record(self, level, message);
        }
    }
}

impl VmData for VmState {
    type Frame = CallData;

    fn core(&self) -> &VmCore {
        &self.vm
    }

    fn core_mut(&mut self) -> &mut VmCore {
        &mut self.vm
    }

    fn enter(&mut self, callback: &'static str, ctx: u32, data: CallData) -> usize {
        // Field by field: the frame is set and cleared around every callback.
        debug_assert!(!self.call.active, "re-entrant VM call");
        self.call.callback = callback;
        self.call.effective_id = ctx;
        self.call.active = true;
        let previous = std::mem::replace(&mut self.call.data, data);
        if matches!(previous, CallData::None) {
            // Nothing to free: skip the drop glue (this runs around every callback).
            std::mem::forget(previous);
        }
        if let Some(trace) = self.log.trace.as_mut() {
            super::trace::record_callback(trace, callback, &[ctx]);
        }
        self.log.entries.len()
    }

    fn leave(&mut self) {
        self.call.callback = "";
        self.call.effective_id = 0;
        self.call.active = false;
        if !matches!(self.call.data, CallData::None) {
            self.call.data = CallData::None;
        }
    }

    fn panic_message_since(&self, mark: usize) -> Option<String> {
        let entries = &self.log.entries;
        entries[mark.min(entries.len())..]
            .iter()
            .rev()
            .find(|l| l.level == LogLevel::Critical)
            .map(|l| l.message.clone())
    }

    fn log_failure(&mut self, message: String) {
        // Never dropped by the log cap: the host's own account of a failure always shows.
        if LogLevel::Critical >= self.settings.log_level {
            self.log.entries.push(LogEntry {
                level: LogLevel::Critical,
                message,
            });
        }
    }
}
