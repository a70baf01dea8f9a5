//! `proxy_http_call` with Envoy's validation, in order: a negative timeout, an unknown cluster
//! (the upstream is a cluster *name*, not a URL), then headers missing `:method`, `:path` or
//! `:authority` → BAD_ARGUMENT; otherwise a token (4, 8, 12, …).

use super::callouts::{PendingHttp, ScriptedHttp, TokenKind};
use crate::abi::Status;
use crate::abi::wire::decode_pairs;
use crate::envoy::hostcalls::{hostcall, note};
use crate::envoy::state::{Event, VmState};
use crate::values::lowered;
use crate::values::{HttpCallRequest, HttpCallResponse};
use crate::vm::limits::{Limit, map_bytes};
use crate::vm::memory;
use std::time::Duration;
use wasmtime::Linker;

pub(crate) fn add(linker: &mut Linker<VmState>) -> wasmtime::Result<()> {
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
            let mut headers = lowered(&decode_pairs(&headers).unwrap_or_default());
            let trailers = lowered(&decode_pairs(&trailers).unwrap_or_default());
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
            for required in [":method", ":path", ":authority"] {
                if !headers.iter().any(|(k, v)| k == required && !v.is_empty()) {
                    return Err(Status::BadArgument.into());
                }
            }
            if !body.is_empty() {
                headers.retain(|(k, _)| k != "content-length");
                headers.push(("content-length".into(), body.len().to_string()));
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
            let token = state.callouts.next_token(TokenKind::Http);
            let root = state.effective_root();
            let deadline_ns = if timeout_ms == 0 {
                u64::MAX
            } else {
                state.clock.elapsed_ns()
                    + Duration::from_millis(u64::from(timeout_ms)).as_nanos() as u64
            };
            if let Some(script) = state.callouts.scripted_http.get(&cluster) {
                let answer = match script {
                    ScriptedHttp::Respond(r) => Some(r.clone()),
                    ScriptedHttp::Fail => None,
                    ScriptedHttp::ConnectFailure => Some(HttpCallResponse::connect_failure()),
                };
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
                    deadline_ns,
                },
            );
            Ok(memory::write_u32(&mut caller, ret_token_ptr, token)?)
        }
    );
    Ok(())
}
