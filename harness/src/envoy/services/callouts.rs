//! HTTP and gRPC callouts (`proxy_http_call`, `proxy_grpc_call`, `proxy_grpc_stream`,
//! `proxy_grpc_send`, `proxy_grpc_cancel`, `proxy_grpc_close`): one token space as Envoy hands
//! tokens out, the pending calls with their deadlines, the answers scripted per cluster, and the
//! hostcalls.

use super::VmState;
use super::headers::{add_copy, set_inline};
use super::hostcall::{hostcall, note};
use crate::abi::wire::decode_pairs;
use crate::abi::{MapType, Status};
use crate::envoy::context::Event;
use crate::envoy::shared::ENTRY_OVERHEAD;
use crate::values::lowered;
use crate::values::{GrpcCallRequest, GrpcResponse, HttpCallRequest, HttpCallResponse};
use crate::vm::limits::{Limit, map_bytes};
use crate::vm::{HostResult, memory};
use std::collections::{BTreeMap, HashMap};
use std::time::Duration;
use wasmtime::{Caller, Linker};

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
    /// The cluster has no healthy host (or is in maintenance mode): the async client's router
    /// answers 503 inline, so `AsyncClientImpl::send` returns no request
    /// (source/common/http/async_client_impl.cc: "The request may get immediately failed");
    /// `Context::httpCall` then answers INTERNAL_FAILURE, and the inline answer, deferred
    /// until the VM call returns, finds no request for its token and never reaches the
    /// filter (`Context::onHttpCallSuccess`).
    NoHealthyUpstream,
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
    /// The context that made the call; Envoy's `Context::~Context` cancels its callouts.
    pub owner: u32,
    pub deadline_ns: u64,
}

#[derive(Debug)]
pub(crate) struct PendingGrpc {
    pub request: GrpcCallRequest,
    pub root: u32,
    /// The context that made the call; Envoy's `Context::~Context` cancels (resets) it.
    pub owner: u32,
    pub deadline_ns: Option<u64>,
}

/// Kinds of tokens; the kind is the low two bits of a token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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

    /// Cancels every callout context `ctx` made, as Envoy's `Context::~Context`
    /// (source/extensions/common/wasm/context.cc) does when a stream, connection or root
    /// context is destroyed: HTTP requests and gRPC calls cancelled, gRPC streams reset, and no
    /// callback ever reaches the filter for them (an answer already queued is dropped, since
    /// delivery looks the token up first).
    pub(crate) fn cancel_owned_by(&mut self, ctx: u32) {
        self.http.retain(|_, p| p.owner != ctx);
        self.grpc.retain(|_, p| p.owner != ctx);
    }

    /// Bytes held by every pending callout (checked against
    /// [`HostLimits::pending_callout_bytes`](crate::HostLimits)).
    pub(crate) fn pending_bytes(&self) -> usize {
        let http: usize = self
            .http
            .values()
            .map(|p| {
                map_bytes(&p.request.headers)
                    + p.request.body.len()
                    + map_bytes(&p.request.trailers)
            })
            .sum();
        let grpc: usize = self
            .grpc
            .values()
            .map(|p| {
                map_bytes(&p.request.initial_metadata)
                    + p.request.messages.iter().map(Vec::len).sum::<usize>()
            })
            .sum();
        http + grpc
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

/// Registers the HTTP and gRPC callout hostcalls.
pub(crate) fn add(linker: &mut Linker<VmState>) -> wasmtime::Result<()> {
    add_http(linker)?;
    add_grpc(linker)
}

fn add_http(linker: &mut Linker<VmState>) -> wasmtime::Result<()> {
    hostcall!(
        linker,
        "proxy_http_call",
        |caller,
         upstream_ptr: u32,
         upstream_size: u32,
         headers_ptr: u32,
         headers_size: u32,
         body_ptr: u32,
         body_size: u32,
         trailers_ptr: u32,
         trailers_size: u32,
         timeout_ms: u32,
         ret_token_ptr: u32| {
            let cluster = memory::read_string(&mut caller, upstream_ptr, upstream_size)?;
            let headers = memory::read(&mut caller, headers_ptr, headers_size)?;
            let body = memory::read(&mut caller, body_ptr, body_size)?;
            let trailers = memory::read(&mut caller, trailers_ptr, trailers_size)?;
            // `buildRequestHeaderMapFromPairs`: each pair `addCopy`'d into a request map.
            let mut headers = build_map(
                MapType::RequestHeaders,
                lowered(&decode_pairs(&headers).unwrap_or_default()),
            );
            let trailers = build_map(
                MapType::RequestTrailers,
                lowered(&decode_pairs(&trailers).unwrap_or_default()),
            );
            let state = caller.data_mut();
            note(state, || {
                format!(
                    "{cluster:?}, {headers:?}, {:?}, {trailers:?}, {timeout_ms} ms",
                    String::from_utf8_lossy(&body)
                )
            });
            if (timeout_ms as i32) < 0 {
                return Err(Status::BadArgument.into());
            }
            if !state.settings.clusters.contains(&cluster)
                && !state.callouts.scripted_http.contains_key(&cluster)
            {
                return Err(Status::BadArgument.into());
            }
            // `Path() == nullptr || Method() == nullptr || Host() == nullptr`: present, even
            // with an empty value.
            for required in [":method", ":path", ":authority"] {
                if !headers.iter().any(|(k, _)| k == required) {
                    return Err(Status::BadArgument.into());
                }
            }
            if !body.is_empty() {
                set_inline(&mut headers, "content-length", body.len().to_string());
            }
            if matches!(
                state.callouts.scripted_http.get(&cluster),
                Some(ScriptedHttp::NoHealthyUpstream)
            ) {
                // `wasm()->nextHttpCallId()` was drawn before `send`: the token is used up.
                state.callouts.next_token(TokenKind::Http);
                return Err(Status::InternalFailure.into());
            }
            // Check the return slot before handing out a token.
            memory::write_u32(&mut caller, ret_token_ptr, 0)?;
            let state = caller.data_mut();
            let pending = state.callouts.http.len() + state.callouts.grpc.len();
            state.vm.enforce(Limit::PendingCallouts, pending + 1)?;
            state.vm.enforce(
                Limit::HeaderMapBytes,
                map_bytes(&headers).max(map_bytes(&trailers)),
            )?;
            state.vm.enforce(Limit::BufferBytes, body.len())?;
            let adding = map_bytes(&headers) + body.len() + map_bytes(&trailers);
            state.vm.enforce(
                Limit::PendingCalloutBytes,
                state.callouts.pending_bytes().saturating_add(adding),
            )?;
            let token = state.callouts.next_token(TokenKind::Http);
            let root = state.effective_root();
            let owner = state.call.effective_id;
            let deadline_ns = if timeout_ms == 0 {
                u64::MAX
            } else {
                state.clock.elapsed_ns()
                    + Duration::from_millis(u64::from(timeout_ms)).as_nanos() as u64
            };
            // `Some(None)`: the callout's stream is reset.
            let answer = match state.callouts.scripted_http.get(&cluster) {
                Some(ScriptedHttp::Respond(r)) => Some(Some(r.clone())),
                Some(ScriptedHttp::Fail) => Some(None),
                Some(ScriptedHttp::ConnectFailure) => {
                    Some(Some(HttpCallResponse::connect_failure()))
                }
                // Answered inline above; nothing is scripted for the others.
                Some(ScriptedHttp::NoHealthyUpstream) | None => None,
            };
            if let Some(answer) = answer {
                state
                    .events
                    .push_back(Event::HttpCallAnswer { token, answer });
            }
            state.callouts.http.insert(
                token,
                PendingHttp {
                    request: HttpCallRequest {
                        token,
                        cluster,
                        headers,
                        body,
                        trailers,
                        timeout: Duration::from_millis(u64::from(timeout_ms)),
                    },
                    root,
                    owner,
                    deadline_ns,
                },
            );
            Ok(memory::write_u32(&mut caller, ret_token_ptr, token)?)
        }
    );
    Ok(())
}

struct Target {
    cluster: String,
    service: String,
    method: String,
    metadata: Vec<(String, String)>,
}

fn read_target(caller: &mut Caller<'_, VmState>, parts: [(u32, u32); 4]) -> Result<Target, Status> {
    Ok(Target {
        cluster: memory::read_string(caller, parts[0].0, parts[0].1)?,
        service: memory::read_string(caller, parts[1].0, parts[1].1)?,
        method: memory::read_string(caller, parts[2].0, parts[2].1)?,
        metadata: decode_pairs(&memory::read(caller, parts[3].0, parts[3].1)?).unwrap_or_default(),
    })
}

fn open(
    caller: &mut Caller<'_, VmState>,
    target: Target,
    message: Option<Vec<u8>>,
    timeout_ms: Option<u32>,
    ret_token_ptr: u32,
) -> HostResult {
    let state = caller.data_mut();
    note(state, || {
        format!(
            "{:?}, {:?}, {:?}, {:?}",
            target.cluster, target.service, target.method, target.metadata
        )
    });
    // `Context::grpcCall`/`grpcStream`: a name that is neither a serialized GrpcService nor
    // a known cluster is PARSE_FAILURE (kept for ABI 0.1 callers, per the source's comment).
    if !state.settings.clusters.contains(&target.cluster)
        && !state.callouts.scripted_grpc.contains_key(&target.cluster)
    {
        return Err(Status::ParseFailure.into());
    }
    memory::write_u32(caller, ret_token_ptr, 0)?;
    let state = caller.data_mut();
    let pending = state.callouts.http.len() + state.callouts.grpc.len();
    state.vm.enforce(Limit::PendingCallouts, pending + 1)?;
    state
        .vm
        .enforce(Limit::HeaderMapBytes, map_bytes(&target.metadata))?;
    state
        .vm
        .enforce(Limit::BufferBytes, message.as_ref().map_or(0, Vec::len))?;
    let adding = map_bytes(&target.metadata) + message.as_ref().map_or(0, Vec::len);
    state.vm.enforce(
        Limit::PendingCalloutBytes,
        state.callouts.pending_bytes().saturating_add(adding),
    )?;
    let is_stream = message.is_none();
    let token = state.callouts.next_token(if is_stream {
        TokenKind::GrpcStream
    } else {
        TokenKind::GrpcCall
    });
    let root = state.effective_root();
    let owner = state.call.effective_id;
    let deadline_ns = timeout_ms
        .filter(|t| *t > 0)
        .map(|t| state.clock.elapsed_ns() + u64::from(t) * 1_000_000);
    if let Some(answer) = state.callouts.scripted_grpc.get(&target.cluster) {
        state.events.push_back(Event::GrpcAnswer {
            token,
            answer: answer.clone(),
        });
    }
    state.callouts.grpc.insert(
        token,
        PendingGrpc {
            request: GrpcCallRequest {
                token,
                is_stream,
                cluster: target.cluster,
                service: target.service,
                method: target.method,
                initial_metadata: target.metadata,
                messages: message.into_iter().collect(),
                local_closed: false,
                timeout: timeout_ms.map(|t| Duration::from_millis(u64::from(t))),
            },
            root,
            owner,
            deadline_ns,
        },
    );
    Ok(memory::write_u32(caller, ret_token_ptr, token)?)
}

fn add_grpc(linker: &mut Linker<VmState>) -> wasmtime::Result<()> {
    hostcall!(
        linker,
        "proxy_grpc_call",
        |caller,
         up_ptr: u32,
         up_size: u32,
         svc_ptr: u32,
         svc_size: u32,
         method_ptr: u32,
         method_size: u32,
         meta_ptr: u32,
         meta_size: u32,
         msg_ptr: u32,
         msg_size: u32,
         timeout_ms: u32,
         ret_token_ptr: u32| {
            let parts = [
                (up_ptr, up_size),
                (svc_ptr, svc_size),
                (method_ptr, method_size),
                (meta_ptr, meta_size),
            ];
            let target = read_target(&mut caller, parts)?;
            let message = memory::read(&mut caller, msg_ptr, msg_size)?;
            open(
                &mut caller,
                target,
                Some(message),
                Some(timeout_ms),
                ret_token_ptr,
            )
        }
    );
    hostcall!(
        linker,
        "proxy_grpc_stream",
        |caller,
         up_ptr: u32,
         up_size: u32,
         svc_ptr: u32,
         svc_size: u32,
         method_ptr: u32,
         method_size: u32,
         meta_ptr: u32,
         meta_size: u32,
         ret_token_ptr: u32| {
            let parts = [
                (up_ptr, up_size),
                (svc_ptr, svc_size),
                (method_ptr, method_size),
                (meta_ptr, meta_size),
            ];
            let target = read_target(&mut caller, parts)?;
            open(&mut caller, target, None, None, ret_token_ptr)
        }
    );
    hostcall!(
        linker,
        "proxy_grpc_send",
        |caller, token: u32, msg_ptr: u32, msg_size: u32, end_stream: u32| {
            let message = memory::read(&mut caller, msg_ptr, msg_size)?;
            let state = caller.data_mut();
            // `Context::grpcSend`: only a stream token (else BAD_ARGUMENT), then NOT_FOUND.
            if kind_of(token) != Some(TokenKind::GrpcStream) {
                return Err(Status::BadArgument.into());
            }
            if let Some(p) = state.callouts.grpc.get(&token) {
                let sent: usize = p
                    .request
                    .messages
                    .iter()
                    .map(|m| m.len() + ENTRY_OVERHEAD)
                    .sum();
                state.vm.enforce(Limit::BufferBytes, sent + message.len())?;
                state.vm.enforce(
                    Limit::PendingCalloutBytes,
                    state.callouts.pending_bytes().saturating_add(message.len()),
                )?;
            }
            let p = state
                .callouts
                .grpc
                .get_mut(&token)
                .ok_or(Status::NotFound)?;
            p.request.messages.push(message);
            p.request.local_closed |= end_stream != 0;
            Ok(())
        }
    );
    // `Context::grpcCancel` / `grpcClose`: a token of neither gRPC kind (an HTTP callout's, or
    // kind 3) is BAD_ARGUMENT; a gRPC token that is not pending is NOT_FOUND.
    hostcall!(linker, "proxy_grpc_cancel", |caller, token: u32| {
        if kind_of(token).is_none_or(|k| matches!(k, TokenKind::Http)) {
            return Err(Status::BadArgument.into());
        }
        let removed = caller.data_mut().callouts.grpc.remove(&token);
        removed.map(drop).ok_or(Status::NotFound.into())
    });
    hostcall!(linker, "proxy_grpc_close", |caller, token: u32| {
        if kind_of(token).is_none_or(|k| matches!(k, TokenKind::Http)) {
            return Err(Status::BadArgument.into());
        }
        let grpc = &mut caller.data_mut().callouts.grpc;
        let p = grpc.get_mut(&token).ok_or(Status::NotFound)?;
        if p.request.is_stream {
            p.request.local_closed = true;
        } else {
            grpc.remove(&token);
        }
        Ok(())
    });
    Ok(())
}

/// The kind a token's low two bits name (Envoy's `Wasm::isHttpCallId` / `isGrpcCallId` /
/// `isGrpcStreamId`); kind 3 is none.
fn kind_of(token: u32) -> Option<TokenKind> {
    match token & 3 {
        0 => Some(TokenKind::Http),
        1 => Some(TokenKind::GrpcCall),
        2 => Some(TokenKind::GrpcStream),
        _ => None,
    }
}

/// A header map built pair by pair with Envoy's `addCopy`.
fn build_map(mt: MapType, pairs: Vec<(String, String)>) -> Vec<(String, String)> {
    let mut map = Vec::with_capacity(pairs.len());
    for (k, v) in pairs {
        add_copy(&mut map, mt, k, v);
    }
    map
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
