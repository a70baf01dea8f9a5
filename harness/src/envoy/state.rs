//! The per-VM host state: what the hostcalls read and write while the guest runs (wasmtime's
//! store data), in slices: the VM's own ([`VmCore`]), the call frame, the contexts, and one per
//! host service. The Envoy behaviour that drives it lives in the rest of [`crate::envoy`].

use super::pool::PairPool;
use super::services::callouts::Callouts;
use super::services::clock::{Clock, SeededRng};
use super::services::metrics::Metrics;
use super::services::properties::PropertyTree;
use super::services::shared::SharedState;
use crate::abi::wire::Pair;
use crate::abi::{AbiVersion, LogLevel, StreamType};
use crate::values::{
    ConnectionInfo, GrpcResponse, HttpCallResponse, LocalReply, LogEntry, Message,
};
use crate::vm::{VmCore, VmData};
use rustc_hash::FxHashMap;
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::time::Duration;

/// What happens to traffic once a plugin's VM has failed (Envoy's `failure_policy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FailurePolicy {
    /// Every HTTP stream gets a local reply 503 with an empty body and details
    /// `wasm_fail_stream`; connections are closed. Envoy's default.
    #[default]
    FailClosed,
    /// The plugin is skipped; traffic flows unchanged.
    FailOpen,
    /// A fresh VM is created for later streams (the failing stream itself fails closed).
    FailReload,
}

/// A foreign function a test registers: arguments in, result out (or a status).
pub(crate) type ForeignFunction =
    Arc<dyn Fn(&[u8]) -> Result<Vec<u8>, crate::abi::Status> + Send + Sync + 'static>;

/// One plugin (root context) on the VM.
#[derive(Debug, Clone)]
pub(crate) struct PluginSettings {
    pub root_id: String,
    pub name: String,
    pub config: Vec<u8>,
}

/// Everything the builder fixed; immutable for the host's life.
pub(crate) struct Settings {
    pub plugins: Vec<PluginSettings>,
    pub vm_id: String,
    pub vm_config: Vec<u8>,
    pub env: Vec<(String, String)>,
    pub clusters: HashSet<String>,
    pub properties: PropertyTree,
    pub connection: ConnectionInfo,
    pub foreign: HashMap<String, ForeignFunction>,
    pub failure_policy: FailurePolicy,
    pub memory_limit: usize,
    pub limits: crate::vm::HostLimits,
    pub deadline: Duration,
    pub random_seed: u64,
    pub trace: bool,
    pub log_level: LogLevel,
    pub start_time: std::time::SystemTime,
}

/// Availability of a header map or body in Envoy's phases (`proxy-wasm-host.md` §5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Avail {
    /// Not received yet.
    Absent,
    /// In its callback (or paused there): readable and mutable.
    Live,
    /// Continued past: Envoy no longer holds it.
    Forgotten,
    /// In on_log: the final value, readable only.
    Final,
}

/// Where a direction of an HTTP stream is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stage {
    /// Headers not seen yet, or flowing.
    Flowing,
    /// Paused by the headers callback (StopAllIterationAndWatermark): later data is withheld.
    PausedAtHeaders,
    /// Paused by a body callback (StopIterationAndBuffer): data accumulates.
    PausedInBody,
    /// Paused by a trailers callback.
    PausedAtTrailers,
    /// End of stream passed through.
    Done,
}

/// One direction (request or response) of an HTTP stream.
#[derive(Debug)]
pub(crate) struct Direction {
    pub headers: Vec<Pair>,
    pub headers_avail: Avail,
    pub body: Vec<u8>,
    pub body_avail: Avail,
    pub trailers: Vec<Pair>,
    pub trailers_avail: Avail,
    pub stage: Stage,
    pub end_seen: bool,
    pub withheld_body: bool,
    pub withheld_trailers: Option<Vec<Pair>>,
    /// What the next hop received (the upstream for requests, the client for responses).
    pub forwarded: Message,
    pub headers_forwarded: bool,
    pub body_size: u64,
    /// This direction's header map of the previous stream, strings inside, for the next
    /// stream's headers to overwrite in place (same shape, usually).
    pub spare: Vec<Pair>,
}

impl Default for Direction {
    fn default() -> Self {
        Direction {
            headers: Vec::new(),
            headers_avail: Avail::Absent,
            body: Vec::new(),
            body_avail: Avail::Absent,
            trailers: Vec::new(),
            trailers_avail: Avail::Absent,
            stage: Stage::Flowing,
            end_seen: false,
            withheld_body: false,
            withheld_trailers: None,
            forwarded: Message::default(),
            headers_forwarded: false,
            body_size: 0,
            spare: Vec::new(),
        }
    }
}

impl Direction {
    /// The latest headers of this direction, wherever they are now.
    pub(crate) fn current_headers(&self) -> &[Pair] {
        if self.headers.is_empty() && self.headers_forwarded {
            &self.forwarded.headers
        } else {
            &self.headers
        }
    }
}

impl Direction {
    /// Back to [`Direction::default`], handing every header string to `pool` and keeping the
    /// vectors' capacity.
    fn recycle(&mut self, pool: &mut PairPool) {
        if self.spare.is_empty() {
            std::mem::swap(&mut self.spare, &mut self.headers);
        } else {
            pool.recycle(&mut self.headers);
        }
        pool.recycle(&mut self.trailers);
        pool.recycle(&mut self.forwarded.headers);
        pool.recycle(&mut self.forwarded.trailers);
        if let Some(mut t) = self.withheld_trailers.take() {
            pool.recycle(&mut t);
        }
        self.body.clear();
        self.forwarded.body.clear();
        self.headers_avail = Avail::Absent;
        self.body_avail = Avail::Absent;
        self.trailers_avail = Avail::Absent;
        self.stage = Stage::Flowing;
        self.end_seen = false;
        self.withheld_body = false;
        self.headers_forwarded = false;
        self.body_size = 0;
    }
}

/// An HTTP stream's context.
#[derive(Debug, Default)]
pub(crate) struct HttpCtx {
    pub root: u32,
    pub request: Direction,
    pub response: Direction,
    pub local_reply: Option<LocalReply>,
    pub reset: Option<String>,
    pub filter_state: HashMap<Vec<u8>, Vec<u8>>,
    /// Properties set for this stream only (dynamic metadata, …), read before the host's.
    pub properties: PropertyTree,
    /// This stream's downstream connection, when it differs from the host's.
    pub connection: Option<Box<ConnectionInfo>>,
    pub start_ns: u64,
    /// The plugin is bypassed (fail-open) or the stream already failed closed.
    pub bypass: bool,
    pub finished: bool,
}

impl HttpCtx {
    /// A finished stream's context made fresh for stream `root`/`start_ns` (as
    /// `HttpCtx { root, start_ns, ..Default::default() }`), its memory reused.
    pub(crate) fn recycle(&mut self, root: u32, start_ns: u64, pool: &mut PairPool) {
        self.request.recycle(pool);
        self.response.recycle(pool);
        self.root = root;
        self.start_ns = start_ns;
        self.local_reply = None;
        self.reset = None;
        self.filter_state.clear();
        if !self.properties.is_empty() {
            self.properties.clear();
        }
        self.connection = None;
        self.bypass = false;
        self.finished = false;
    }
}

/// A TCP connection's context.
#[derive(Debug, Default)]
pub(crate) struct TcpCtx {
    pub root: u32,
    pub downstream: Vec<u8>,
    pub upstream: Vec<u8>,
    pub in_downstream: bool,
    pub in_upstream: bool,
    pub to_upstream: Vec<u8>,
    pub to_downstream: Vec<u8>,
    pub closed: Option<String>,
    pub filter_state: HashMap<Vec<u8>, Vec<u8>>,
    /// Properties set for this connection only.
    pub properties: PropertyTree,
    /// This connection's addresses, when they differ from the host's.
    pub connection: Option<Box<ConnectionInfo>>,
    pub bypass: bool,
    pub finished: bool,
}

/// A root context (one per plugin).
#[derive(Debug, Default)]
pub(crate) struct RootCtx {
    pub plugin: usize,
    pub tick_period_ns: u64,
    pub next_tick_ns: u64,
    pub done_called: bool,
}

/// Any context.
#[derive(Debug)]
pub(crate) enum Context {
    Root(RootCtx),
    Http(Box<HttpCtx>),
    Tcp(Box<TcpCtx>),
}

impl Context {
    pub(crate) fn root_id(&self, own_id: u32) -> u32 {
        match self {
            Context::Root(_) => own_id,
            Context::Http(h) => h.root,
            Context::Tcp(t) => t.root,
        }
    }
}

/// Data only a particular callback can see.
#[derive(Debug, Default)]
pub(crate) enum CallData {
    #[default]
    None,
    /// on_configure: the plugin configuration (buffer 7) is readable.
    Configure(Vec<u8>),
    /// on_http_call_response: the response (maps 6, 7; buffer 4).
    HttpCallResponse(HttpCallResponse),
    /// gRPC initial or trailing metadata (map 4 or 5).
    GrpcMetadata { initial: bool, metadata: Vec<Pair> },
    /// A gRPC message (buffer 5).
    GrpcMessage(Vec<u8>),
    /// on_foreign_function arguments (buffer 8).
    Foreign(Vec<u8>),
}

/// The VM call in progress.
#[derive(Debug, Default)]
pub(crate) struct CallFrame {
    pub callback: &'static str,
    pub effective_id: u32,
    pub data: CallData,
    pub active: bool,
}

/// Actions Envoy defers until the VM call returns.
#[derive(Debug)]
pub(crate) enum Deferred {
    Continue {
        ctx: u32,
        stream: StreamType,
    },
    Close {
        ctx: u32,
    },
    LocalReply {
        ctx: u32,
        reply: LocalReply,
    },
    /// `proxy_done` from a root context whose on_done returned false.
    Done {
        ctx: u32,
    },
}

/// Asynchronous events the host delivers after the current operation.
#[derive(Debug)]
pub(crate) enum Event {
    HttpCallAnswer {
        token: u32,
        answer: Option<HttpCallResponse>,
    },
    GrpcAnswer {
        token: u32,
        answer: GrpcResponse,
    },
}

/// The log slice: captured lines and the optional hostcall trace.
#[derive(Debug, Default)]
pub(crate) struct LogSink {
    pub entries: Vec<LogEntry>,
    pub trace: Option<Vec<String>>,
    /// A decoded description of the current hostcall's arguments, for the trace.
    pub trace_note: Option<String>,
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
            super::services::log::record(self, level, message);
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
        if self.log.trace.is_some() {
            super::trace::record_callback(self, callback, &[ctx]);
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
