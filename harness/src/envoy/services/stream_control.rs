//! Stream control: `proxy_continue_stream`, `proxy_close_stream`, `proxy_send_local_response`
//! (all deferred until the VM call returns, as in Envoy), 0.1.0's `proxy_continue_request` /
//! `proxy_continue_response` / `proxy_clear_route_cache`, `proxy_set_effective_context`,
//! `proxy_get_status` and `proxy_done`.

use super::VmState;
use super::hostcall::{hostcall, note};
use crate::abi::wire::decode_pairs;
use crate::abi::{AbiVersion, Status, StreamType};
use crate::envoy::context::{Context, Deferred};
use crate::values::LocalReply;
use crate::vm::limits::{Limit, map_bytes};
use crate::vm::{HostResult, memory};
use wasmtime::Linker;

/// Queues an action for after the VM call, within the limit on pending actions.
fn defer(state: &mut VmState, action: Deferred) -> HostResult {
    state
        .vm
        .enforce(Limit::PendingActions, state.deferred.len() + 1)?;
    state.deferred.push(action);
    Ok(())
}

fn continue_stream(state: &mut VmState, stream: StreamType) -> HostResult {
    let ctx = state.call.effective_id;
    match (state.contexts.get(&ctx), stream) {
        (_, StreamType::Upstream) => return Err(Status::Unimplemented.into()),
        (Some(Context::Http(_)), StreamType::HttpRequest | StreamType::HttpResponse)
        | (Some(Context::Tcp(_)), StreamType::Downstream) => {
            defer(state, Deferred::Continue { ctx, stream })?;
        }
        _ => {}
    }
    Ok(())
}

pub(crate) fn add(linker: &mut Linker<VmState>, abi: AbiVersion) -> wasmtime::Result<()> {
    if abi.is_v0_2() {
        hostcall!(linker, "proxy_continue_stream", |caller, st: u32| {
            let Some(stream) = StreamType::from_u32(st) else {
                return Err(Status::BadArgument.into());
            };
            let state = caller.data_mut();
            note(state, || format!("{stream:?}"));
            continue_stream(state, stream)
        });
        hostcall!(linker, "proxy_close_stream", |caller, st: u32| {
            let Some(stream) = StreamType::from_u32(st) else {
                return Err(Status::BadArgument.into());
            };
            let state = caller.data_mut();
            note(state, || format!("{stream:?}"));
            let ctx = state.call.effective_id;
            // `Context::closeStream`: request/response reset an HTTP stream (details
            // `wasm_close_stream`); downstream/upstream close a connection; a type without
            // its callbacks on this context (downstream on an HTTP stream, request on a
            // connection) does nothing and is still OK.
            let applies = match state.contexts.get(&ctx) {
                Some(Context::Http(_)) => {
                    matches!(stream, StreamType::HttpRequest | StreamType::HttpResponse)
                }
                Some(Context::Tcp(_)) => {
                    matches!(stream, StreamType::Downstream | StreamType::Upstream)
                }
                _ => false,
            };
            if applies {
                defer(state, Deferred::Close { ctx, stream })?;
            }
            Ok(())
        });
    } else {
        hostcall!(linker, "proxy_continue_request", |caller| {
            continue_stream(caller.data_mut(), StreamType::HttpRequest)
        });
        hostcall!(linker, "proxy_continue_response", |caller| {
            continue_stream(caller.data_mut(), StreamType::HttpResponse)
        });
        hostcall!(linker, "proxy_clear_route_cache", |caller| {
            caller.data_mut().route_cache_clears += 1;
            Ok(())
        });
    }
    hostcall!(
        linker,
        "proxy_send_local_response",
        |caller,
         status_code: u32,
         details_ptr: u32,
         details_size: u32,
         body_ptr: u32,
         body_size: u32,
         headers_ptr: u32,
         headers_size: u32,
         grpc_status: i32| {
            let details = memory::read_string(&mut caller, details_ptr, details_size)?;
            let body = memory::read(&mut caller, body_ptr, body_size)?;
            let headers = memory::read(&mut caller, headers_ptr, headers_size)?;
            let headers = decode_pairs(&headers).unwrap_or_default();
            let state = caller.data_mut();
            // `Context::sendLocalResponse`: the details pass through
            // `StringUtil::replaceAllEmptySpace` (each ASCII space character becomes `_`), and
            // a gRPC status outside OK..=UNAUTHENTICATED (0..=16; the SDKs send -1 for "none")
            // is no status at all. The HTTP status is passed on unchecked, as
            // `static_cast<Http::Code>(response_code)`.
            let details: String = details
                .chars()
                .map(|c| {
                    if matches!(c, ' ' | '\t' | '\n' | '\x0b' | '\x0c' | '\r') {
                        '_'
                    } else {
                        c
                    }
                })
                .collect();
            let reply = LocalReply {
                status: status_code,
                details,
                body,
                headers: headers
                    .into_iter()
                    .map(|(k, v)| (k.to_ascii_lowercase(), v))
                    .collect(),
                grpc_status: (0..=16)
                    .contains(&grpc_status)
                    .then_some(grpc_status as u32),
            };
            note(state, || {
                format!(
                    "{}, {:?}, {:?}, {:?}, {grpc_status}",
                    reply.status,
                    reply.details,
                    String::from_utf8_lossy(&reply.body),
                    reply.headers
                )
            });
            let ctx = state.call.effective_id;
            if matches!(state.contexts.get(&ctx), Some(Context::Http(_))) {
                state.vm.enforce(Limit::BufferBytes, reply.body.len())?;
                state
                    .vm
                    .enforce(Limit::HeaderMapBytes, map_bytes(&reply.headers))?;
                defer(state, Deferred::LocalReply { ctx, reply })?;
            }
            Ok(())
        }
    );
    hostcall!(
        linker,
        "proxy_set_effective_context",
        |caller, context_id: u32| {
            let state = caller.data_mut();
            if state.contexts.contains_key(&context_id) {
                state.call.effective_id = context_id;
                Ok(())
            } else {
                Err(Status::BadArgument.into())
            }
        }
    );
    hostcall!(
        linker,
        "proxy_get_status",
        |caller, ret_code_ptr: u32, ret_msg_ptr: u32, ret_msg_size: u32| {
            let (code, message) = caller.data().status.clone();
            memory::write_u32(&mut caller, ret_code_ptr, code)?;
            memory::return_bytes(&mut caller, &message, ret_msg_ptr, ret_msg_size)
        }
    );
    hostcall!(linker, "proxy_done", |caller| {
        let state = caller.data_mut();
        let ctx = state.call.effective_id;
        match state.contexts.get(&ctx) {
            Some(Context::Root(r)) if r.done_called => defer(state, Deferred::Done { ctx }),
            _ => Err(Status::NotFound.into()),
        }
    });
    Ok(())
}
