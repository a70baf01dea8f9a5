//! The contexts Envoy keeps for a VM (root, HTTP stream, TCP connection), the call frame of the
//! callback in progress, and the actions and events Envoy defers until it returns.

use super::pool::PairPool;
use crate::abi::StreamType;
use crate::abi::wire::Pair;
use crate::values::{
    ConnectionInfo, GrpcResponse, HttpCallResponse, LocalReply, Message, PropertyTree,
};
use std::collections::HashMap;

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

    /// Whether the filter saw its request headers: Envoy's `in_vm_context_created_`, set by
    /// `Context::decodeHeaders`. Until then every other stream callback (`decodeData`,
    /// `decodeTrailers`, `encodeHeaders`, `encodeData`, `encodeTrailers`) answers Continue
    /// without entering the VM (source/extensions/common/wasm/context.cc).
    pub(crate) fn started(&self) -> bool {
        self.request.headers_avail != Avail::Absent
    }

    /// Whether a callback of this stream stays out of the VM: the plugin is bypassed or
    /// failed, or (for anything but the request headers) the filter has not seen its request
    /// headers yet (see [`started`](Self::started)).
    pub(crate) fn skips_vm(&self, request_headers: bool) -> bool {
        self.bypass || (!request_headers && !self.started())
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
    /// `proxy_close_stream`: what it closes depends on the stream type and the context's kind
    /// (Envoy's `Context::closeStream`).
    Close {
        ctx: u32,
        stream: StreamType,
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
