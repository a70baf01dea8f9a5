//! HTTP and gRPC callouts of one VM: the tokens Envoy would hand out, pending calls, their
//! deadlines, and the answers scripted per cluster.

use crate::values::{GrpcCallRequest, GrpcResponse, HttpCallRequest, HttpCallResponse};
use std::collections::{BTreeMap, HashMap};

/// How a scripted cluster answers HTTP callouts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ScriptedHttp {
    /// Answer with this response.
    Respond(HttpCallResponse),
    /// Reset the callout's stream (Envoy's `onHttpCallFailure`: the filter sees
    /// `(token, 0, 0, 0)` and `get_status` = 11 "reset").
    Fail,
    /// The upstream cannot be connected to: the router's 503 answer.
    ConnectFailure,
}

/// Answers a builder scripted before the VM existed.
#[derive(Debug, Default)]
pub(crate) struct Scripts {
    pub http: Vec<(String, ScriptedHttp)>,
    pub grpc: Vec<(String, GrpcResponse)>,
}

#[derive(Debug)]
pub(crate) struct PendingHttp {
    pub request: HttpCallRequest,
    pub root: u32,
    pub deadline_ns: u64,
}

#[derive(Debug)]
pub(crate) struct PendingGrpc {
    pub request: GrpcCallRequest,
    pub root: u32,
    pub deadline_ns: Option<u64>,
}

/// Kinds of tokens; the kind is the low two bits of a token.
#[derive(Debug, Clone, Copy)]
pub(crate) enum TokenKind {
    Http = 0,
    GrpcCall = 1,
    GrpcStream = 2,
}

/// Pending callouts of one VM.
#[derive(Debug)]
pub(crate) struct Callouts {
    next: [u32; 3],
    pub http: BTreeMap<u32, PendingHttp>,
    pub grpc: BTreeMap<u32, PendingGrpc>,
    /// Answers scripted per cluster for HTTP callouts.
    pub scripted_http: HashMap<String, ScriptedHttp>,
    /// Answers scripted per cluster for gRPC calls and streams.
    pub scripted_grpc: HashMap<String, GrpcResponse>,
}

impl Default for Callouts {
    fn default() -> Self {
        Callouts {
            next: [0, 1, 2],
            http: BTreeMap::new(),
            grpc: BTreeMap::new(),
            scripted_http: HashMap::new(),
            scripted_grpc: HashMap::new(),
        }
    }
}

impl Callouts {
    /// The next token of a kind: http 4, 8, …; gRPC calls 5, 9, …; streams 6, 10, ….
    pub(crate) fn next_token(&mut self, kind: TokenKind) -> u32 {
        let slot = &mut self.next[kind as usize];
        *slot = slot.wrapping_add(4);
        *slot
    }

    /// The earliest callout deadline, if any.
    pub(crate) fn earliest_deadline(&self) -> Option<u64> {
        let h = self.http.values().map(|p| p.deadline_ns).min();
        let g = self.grpc.values().filter_map(|p| p.deadline_ns).min();
        match (h, g) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_numbering() {
        let mut c = Callouts::default();
        assert_eq!(c.next_token(TokenKind::Http), 4);
        assert_eq!(c.next_token(TokenKind::GrpcCall), 5);
        assert_eq!(c.next_token(TokenKind::Http), 8);
        assert_eq!(c.next_token(TokenKind::GrpcStream), 6);
        assert_eq!(c.next_token(TokenKind::GrpcCall), 9);
        assert_eq!(c.next_token(TokenKind::Http), 12);
    }
}
