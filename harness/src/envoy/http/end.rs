//! How an HTTP stream ends: local replies (run through the filter's response callbacks when
//! the response has not started), resets, and on_log → on_done → on_delete.

use super::Dir;
use crate::abi::MapType;
use crate::abi::wire::Pair;
use crate::envoy::Proxy;
use crate::envoy::context::{Avail, CallData, Context, Direction, Stage};
use crate::envoy::services::headers::{add_copy, set_inline};
use crate::values::{HarnessError, LocalReply, find_header};

/// The headers of a plain local reply as `Utility::prepareLocalReply`
/// (`source/common/http/utility.cc`) builds them: `:status`, then the filter's headers each
/// `addCopy`'d (the Wasm context's `modify_headers`); with a body, `content-length` set to
/// its size and `content-type: text/plain` unless the filter gave one; with an empty body,
/// `content-length` and `content-type` removed. The gRPC status goes to gRPC requests only.
fn http_local_reply(reply: &LocalReply) -> Vec<Pair> {
    let mut headers = vec![(":status".to_string(), reply.status.to_string())];
    for (k, v) in &reply.headers {
        add_copy(&mut headers, MapType::ResponseHeaders, k.clone(), v.clone());
    }
    if reply.body.is_empty() {
        headers.retain(|(k, _)| k != "content-length" && k != "content-type");
    } else {
        set_inline(&mut headers, "content-length", reply.body.len().to_string());
        if !headers.iter().any(|(k, _)| k == "content-type") {
            set_inline(&mut headers, "content-type", "text/plain".into());
        }
    }
    headers
}

/// A local reply to a gRPC request, as `Http::Utility::sendLocalReply`
/// (`source/common/http/utility.cc`) builds it: trailers-only, `:status 200`, `content-type:
/// application/grpc`, `grpc-status` (the given code, else the HTTP status mapped by
/// `Grpc::Utility::httpToGrpcStatus`), `grpc-message` (the body, percent-encoded) when there
/// is a body; no body and no content-length. The filter's own headers are kept.
fn grpc_local_reply(reply: &LocalReply) -> Vec<Pair> {
    let code = reply
        .grpc_status
        .unwrap_or_else(|| http_to_grpc_status(reply.status));
    let mut headers = vec![(":status".to_string(), reply.status.to_string())];
    for (k, v) in &reply.headers {
        add_copy(&mut headers, MapType::ResponseHeaders, k.clone(), v.clone());
    }
    set_inline(&mut headers, ":status", "200".into());
    set_inline(&mut headers, "content-type", "application/grpc".into());
    // A grpc-status the filter set wins.
    if !headers
        .iter()
        .any(|(k, v)| k == "grpc-status" && !v.is_empty())
    {
        set_inline(&mut headers, "grpc-status", code.to_string());
    }
    if !reply.body.is_empty() {
        set_inline(
            &mut headers,
            "grpc-message",
            grpc_percent_encode(&reply.body),
        );
    }
    headers.retain(|(k, _)| k != "content-length");
    headers
}

/// `Grpc::Utility::httpToGrpcStatus` (`source/common/grpc/status.cc`).
pub(crate) fn http_to_grpc_status(http: u32) -> u32 {
    match http {
        400 => 13,                   // INTERNAL
        401 => 16,                   // UNAUTHENTICATED
        403 => 7,                    // PERMISSION_DENIED
        404 => 12,                   // UNIMPLEMENTED
        429 | 502 | 503 | 504 => 14, // UNAVAILABLE
        _ => 2,                      // UNKNOWN
    }
}

/// gRPC's percent-encoding of `grpc-message` (Envoy's `PercentEncoding::encode(text, "%")`):
/// bytes below ` ` or from `~` up (Envoy's `ch < ' ' || ch >= '~'`: `~` itself is encoded),
/// and `%`, become `%XX`.
fn grpc_percent_encode(text: &[u8]) -> String {
    let mut out = String::with_capacity(text.len());
    for &b in text {
        if (b' '..b'~').contains(&b) && b != b'%' {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

impl Proxy {
    /// Sends a local reply for stream `id` (first one wins), as Envoy's
    /// `FilterManager::sendLocalReply` (`source/common/http/filter_manager.cc`): before the
    /// response started it runs through this filter's response callbacks; once the response
    /// is being processed but its headers have not reached the client, it goes straight to
    /// the client; after they did, all Envoy can do is reset the stream (the client keeps the
    /// status it already got). A gRPC request gets a trailers-only gRPC response.
    pub(crate) fn send_local_reply(&mut self, id: u32, reply: LocalReply) {
        let vm_failed = self.vm.failure.is_some();
        let Some(h) = self.http_ctx(id) else { return };
        // A second local reply while the first is still being encoded through this filter
        // (its response headers not yet sent) goes straight to the codec, bypassing the filter
        // chain (`DownstreamFilterManager::sendLocalReply` → `sendDirectLocalReply`); once a
        // reply went out, later ones are dropped (Envoy's `WasmLocalReplyTest`: one response).
        let replacing = h.local_reply.is_some();
        if h.reset.is_some() || (replacing && h.response.headers_forwarded) {
            return;
        }
        if h.response.headers_forwarded {
            h.reset = Some(reply.details);
            h.request.stage = Stage::Done;
            h.response.stage = Stage::Done;
            return;
        }
        let grpc = find_header(h.request.current_headers(), "content-type")
            .is_some_and(|t| t.starts_with("application/grpc"));
        let (headers, body) = if grpc {
            (grpc_local_reply(&reply), Vec::new())
        } else {
            (http_local_reply(&reply), reply.body.clone())
        };
        h.local_reply = Some(reply);
        if h.request.stage != Stage::Done {
            h.request.stage = Stage::Done;
        }
        let through_filter = h.response.headers_avail == Avail::Absent && !h.bypass && !vm_failed;
        if through_filter {
            h.response = Direction::default();
            let eos = body.is_empty();
            self.headers_inner(id, Dir::Response, headers, eos);
            if !eos
                && self
                    .dir_mut(id, Dir::Response)
                    .is_some_and(|d| d.stage == Stage::Flowing)
            {
                if let Some(d) = self.dir_mut(id, Dir::Response) {
                    d.body.extend_from_slice(&body);
                    d.body_size += body.len() as u64;
                    d.end_seen = true;
                }
                self.deliver_body(id, Dir::Response);
            } else if !eos && let Some(d) = self.dir_mut(id, Dir::Response) {
                d.body.extend_from_slice(&body);
                d.body_size += body.len() as u64;
                d.end_seen = true;
                d.withheld_body = true;
            }
        } else {
            h.response.headers = headers.clone();
            h.response.forwarded.headers = headers;
            h.response.forwarded.body = body;
            h.response.forwarded.trailers.clear();
            h.response.headers_forwarded = true;
            h.response.stage = Stage::Done;
        }
    }

    /// Resets the stream (`proxy_close_stream` on HTTP).
    pub(crate) fn reset_stream(&mut self, id: u32, details: &str) {
        if let Some(h) = self.http_ctx(id)
            && h.reset.is_none()
            && h.local_reply.is_none()
        {
            h.reset = Some(details.to_string());
            h.request.stage = Stage::Done;
            h.response.stage = Stage::Done;
        }
    }

    /// Ends the stream: on_log, on_done, on_delete (Envoy's order), then forgets it.
    pub(crate) fn http_finish(&mut self, id: u32) -> Result<(), HarnessError> {
        let Some(h) = self.http_ctx(id) else {
            return Ok(());
        };
        if h.finished {
            return Ok(());
        }
        h.finished = true;
        let bypass = h.bypass && self.vm.failure.is_some();
        if !bypass {
            if let Some(h) = self.http_ctx(id) {
                for d in [&mut h.request, &mut h.response] {
                    d.headers_avail = Avail::Final;
                    d.trailers_avail = Avail::Final;
                    d.body_avail = Avail::Absent;
                    if d.headers.is_empty() && d.headers_forwarded {
                        // The stream's report was taken before finishing; move, don't copy.
                        d.headers = std::mem::take(&mut d.forwarded.headers);
                    }
                }
            }
            if let Some(f) = &self.exports.on_log {
                let _ = self.vm.call("proxy_on_log", id, f, id, CallData::None);
            }
            if let Some(f) = &self.exports.on_done {
                let _ = self.vm.call("proxy_on_done", id, f, id, CallData::None);
            }
            if let Some(f) = &self.exports.on_delete {
                let _ = self.vm.call("proxy_on_delete", id, f, id, CallData::None);
            }
            self.vm.state().deferred.clear();
        }
        // The filter is destroyed with the stream: `Context::~Context` cancels the HTTP
        // requests and gRPC calls it still has pending and resets its gRPC streams, failed VM
        // or not; no callback follows (Envoy's `AsyncCallAfterDestroyed`,
        // `GrpcCallAfterDestroyed`, `GrpcStreamOpenAtShutdown`).
        self.vm.state().callouts.cancel_owned_by(id);
        self.run_events()
    }

    /// Removes a finished stream's state (keeping a few boxes for the next streams).
    pub(crate) fn http_forget(&mut self, id: u32) {
        const SPARE: usize = 8;
        let state = self.vm.state();
        if let Some(Context::Http(h)) = state.contexts.remove(&id)
            && state.spare_http.len() < SPARE
        {
            state.spare_http.push(h);
        }
    }
}
