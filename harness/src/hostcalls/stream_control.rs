//! Stream control: `proxy_continue_stream`, `proxy_close_stream`, `proxy_send_local_response`
//! (all deferred until the VM call returns, as in Envoy), 0.1.0's `proxy_continue_request` /
//! `proxy_continue_response` / `proxy_clear_route_cache`, `proxy_set_effective_context`,
//! `proxy_get_status` and `proxy_done`.

use super::{hostcall, note};
use crate::abi::wire::decode_pairs;
use crate::abi::{AbiVersion, Status, StreamType};
use crate::memory;
use crate::state::{Context, Deferred, VmState};
use crate::stream::LocalReply;
use wasmtime::Linker;

fn continue_stream(state: &mut VmState, stream: StreamType) -> Status {
    let ctx = state.call.effective_id;
    match (state.contexts.get(&ctx), stream) {
        (_, StreamType::Upstream) => Status::Unimplemented,
        (Some(Context::Http(_)), StreamType::HttpRequest | StreamType::HttpResponse)
        | (Some(Context::Tcp(_)), StreamType::Downstream) => {
            state.deferred.push(Deferred::Continue { ctx, stream });
            Status::Ok
        }
        _ => Status::Ok,
    }
}

pub(super) fn add(linker: &mut Linker<VmState>, abi: AbiVersion) -> wasmtime::Result<()> {
    if abi.is_v0_2() {
        hostcall!(linker, "proxy_continue_stream", |caller, st: u32| {
            let Some(stream) = StreamType::from_u32(st) else {
                return Ok(Status::BadArgument);
            };
            let state = caller.data_mut();
            note(state, || format!("{stream:?}"));
            Ok(continue_stream(state, stream))
        });
        hostcall!(linker, "proxy_close_stream", |caller, st: u32| {
            let Some(stream) = StreamType::from_u32(st) else {
                return Ok(Status::BadArgument);
            };
            let state = caller.data_mut();
            note(state, || format!("{stream:?}"));
            let ctx = state.call.effective_id;
            if matches!(
                state.contexts.get(&ctx),
                Some(Context::Http(_) | Context::Tcp(_))
            ) {
                state.deferred.push(Deferred::Close { ctx });
            }
            Ok(Status::Ok)
        });
    } else {
        hostcall!(linker, "proxy_continue_request", |caller| {
            Ok(continue_stream(caller.data_mut(), StreamType::HttpRequest))
        });
        hostcall!(linker, "proxy_continue_response", |caller| {
            Ok(continue_stream(caller.data_mut(), StreamType::HttpResponse))
        });
        hostcall!(linker, "proxy_clear_route_cache", |caller| {
            let _ = &caller;
            Ok(Status::Ok)
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
            let details = match memory::read_string(&mut caller, details_ptr, details_size) {
                Ok(d) => d,
                Err(s) => return Ok(s),
            };
            let body = match memory::read(&mut caller, body_ptr, body_size) {
                Ok(b) => b,
                Err(s) => return Ok(s),
            };
            let headers = match memory::read(&mut caller, headers_ptr, headers_size) {
                Ok(h) => decode_pairs(&h).unwrap_or_default(),
                Err(s) => return Ok(s),
            };
            let state = caller.data_mut();
            let reply = LocalReply {
                status: status_code,
                details,
                body,
                headers: headers
                    .into_iter()
                    .map(|(k, v)| (k.to_ascii_lowercase(), v))
                    .collect(),
                grpc_status: (grpc_status >= 0).then_some(grpc_status as u32),
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
                state.deferred.push(Deferred::LocalReply { ctx, reply });
            }
            Ok(Status::Ok)
        }
    );
    hostcall!(
        linker,
        "proxy_set_effective_context",
        |caller, context_id: u32| {
            let state = caller.data_mut();
            if state.contexts.contains_key(&context_id) {
                state.call.effective_id = context_id;
                Ok(Status::Ok)
            } else {
                Ok(Status::BadArgument)
            }
        }
    );
    hostcall!(
        linker,
        "proxy_get_status",
        |caller, ret_code_ptr: u32, ret_msg_ptr: u32, ret_msg_size: u32| {
            let (code, message) = caller.data().status.clone();
            if let Err(s) = memory::write_u32(&mut caller, ret_code_ptr, code) {
                return Ok(s);
            }
            memory::return_bytes(&mut caller, &message, ret_msg_ptr, ret_msg_size)
        }
    );
    hostcall!(linker, "proxy_done", |caller| {
        let state = caller.data_mut();
        let ctx = state.call.effective_id;
        match state.contexts.get(&ctx) {
            Some(Context::Root(r)) if r.done_called => {
                state.deferred.push(Deferred::Done { ctx });
                Ok(Status::Ok)
            }
            _ => Ok(Status::NotFound),
        }
    });
    Ok(())
}
