//! What the harness observed during a step, as plain values: the input of the checks.

use crate::scenario::format::LevelName;
use std::collections::BTreeMap;

/// An HTTP message as observed (a request the upstream received or a response the client got).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ObservedMessage {
    /// `:status` for responses.
    pub status: Option<u16>,
    /// Headers in order (pseudo-headers included).
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
    /// Trailers.
    pub trailers: Vec<(String, String)>,
}

impl ObservedMessage {
    /// The first value of a header (names compared case-insensitively).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A local reply sent by the filter.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ObservedLocalReply {
    /// Status code, exactly as the filter passed it (Envoy forwards the u32 unchanged, so the
    /// client's `:status` shows the same number).
    pub status: u32,
    /// Response-code details.
    pub details: String,
    /// Body.
    pub body: Vec<u8>,
    /// Headers the filter added.
    pub headers: Vec<(String, String)>,
}

/// An HTTP callout the filter made.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ObservedCall {
    /// The cluster.
    pub cluster: String,
    /// Its headers.
    pub headers: Vec<(String, String)>,
    /// Its body.
    pub body: Vec<u8>,
}

/// What a TCP connection looked like.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ObservedConnection {
    /// The filter closed the connection.
    pub closed_by_filter: bool,
    /// Bytes the upstream received.
    pub upstream_received: Vec<u8>,
    /// Bytes the client received.
    pub downstream_received: Vec<u8>,
}

/// Everything a step's expectations may look at.
#[derive(Debug, Clone, Default)]
pub struct Observation {
    /// What the upstream received (`None`: the request never reached it).
    pub upstream: Option<ObservedMessage>,
    /// What the client received.
    pub client: Option<ObservedMessage>,
    /// The filter's local reply, if any.
    pub local_reply: Option<ObservedLocalReply>,
    /// Log lines emitted during the step.
    pub logs: Vec<(LevelName, String)>,
    /// All metrics after the step.
    pub metrics: BTreeMap<String, i64>,
    /// Shared data for the keys the expectations name.
    pub shared_data: BTreeMap<String, Option<Vec<u8>>>,
    /// Hostcall trace lines of the step.
    pub trace: Vec<String>,
    /// HTTP callouts waiting for an answer after the step.
    pub pending_http_calls: Vec<ObservedCall>,
    /// Reset details, if the stream was reset.
    pub reset: Option<String>,
    /// The filter still held the request or response at the end.
    pub stalled: bool,
    /// The step sent an HTTP request. Without one, expectations about a request's fate
    /// (`upstream`, `client`, `local_reply`, `stream_reset`, `stalled`) have nothing to check
    /// and fail, even in their negative forms (`upstream: false`, `stalled: false`).
    pub http_exchange: bool,
    /// The VM failure message, if the VM has failed.
    pub vm_failure: Option<String>,
    /// For connection steps.
    pub connection: Option<ObservedConnection>,
    /// Wasm instructions the step's action executed, or why they could not be counted
    /// (`None`: not measured).
    pub instructions: Option<Result<u64, String>>,
}
