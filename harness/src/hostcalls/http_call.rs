//! `proxy_http_call` with Envoy's validation, in order: a negative timeout, an unknown cluster
//! (the upstream is a cluster *name*, not a URL), then headers missing `:method`, `:path` or
//! `:authority` → BAD_ARGUMENT; otherwise a token (4, 8, 12, …).

use super::{hostcall, note};
use crate::abi::Status;
use crate::abi::wire::decode_pairs;
use crate::memory;
use crate::services::callouts::{HttpCallRequest, PendingHttp, ScriptedHttp, TokenKind};
use crate::state::{Event, VmState};
use crate::stream::lowered;
use std::time::Duration;
use wasmtime::Linker;

pub(super) fn add(linker: &mut Linker<VmState>) -> wasmtime::Result<()> {
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
            let (cluster, headers, body, trailers) = match (|| {
                Ok::<_, Status>((
                    memory::read_string(&mut caller, upstream_ptr, upstream_size)?,
                    memory::read(&mut caller, headers_ptr, headers_size)?,
                    memory::read(&mut caller, body_ptr, body_size)?,
                    memory::read(&mut caller, trailers_ptr, trailers_size)?,
                ))
            })() {
                Ok(v) => v,
                Err(s) => return Ok(s),
            };
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
                return Ok(Status::BadArgument);
            }
            if !state.settings.clusters.contains(&cluster)
                && !state.scripted_http.contains_key(&cluster)
            {
                return Ok(Status::BadArgument);
            }
            for required in [":method", ":path", ":authority"] {
                if !headers.iter().any(|(k, v)| k == required && !v.is_empty()) {
                    return Ok(Status::BadArgument);
                }
            }
            if !body.is_empty() {
                headers.retain(|(k, _)| k != "content-length");
                headers.push(("content-length".into(), body.len().to_string()));
            }
            // Check the return slot before handing out a token.
            if let Err(s) = memory::write_u32(&mut caller, ret_token_ptr, 0) {
                return Ok(s);
            }
            let state = caller.data_mut();
            let token = state.callouts.next_token(TokenKind::Http);
            let root = state.effective_root();
            let deadline_ns = if timeout_ms == 0 {
                u64::MAX
            } else {
                state.clock.elapsed_ns()
                    + Duration::from_millis(u64::from(timeout_ms)).as_nanos() as u64
            };
            if let Some(script) = state.scripted_http.get(&cluster) {
                let answer = match script {
                    ScriptedHttp::Respond(r) => Some(r.clone()),
                    ScriptedHttp::Fail => None,
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
            Ok(memory::status_of(memory::write_u32(
                &mut caller,
                ret_token_ptr,
                token,
            )))
        }
    );
    Ok(())
}
