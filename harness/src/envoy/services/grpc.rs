//! gRPC: `proxy_grpc_call` (tokens 5, 9, …), `proxy_grpc_stream` (6, 10, …), `proxy_grpc_send`
//! (streams only), `proxy_grpc_cancel`, `proxy_grpc_close` (unknown tokens → NOT_FOUND).

use super::callouts::{PendingGrpc, TokenKind};
use super::shared::ENTRY_OVERHEAD;
use crate::abi::Status;
use crate::abi::wire::decode_pairs;
use crate::envoy::hostcalls::{hostcall, note};
use crate::envoy::state::{Event, VmState};
use crate::values::GrpcCallRequest;
use crate::vm::limits::{Limit, map_bytes};
use crate::vm::{HostResult, memory};
use std::time::Duration;
use wasmtime::{Caller, Linker};

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
    if !state.settings.clusters.contains(&target.cluster)
        && !state.callouts.scripted_grpc.contains_key(&target.cluster)
    {
        return Err(Status::BadArgument.into());
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
    let is_stream = message.is_none();
    let token = state.callouts.next_token(if is_stream {
        TokenKind::GrpcStream
    } else {
        TokenKind::GrpcCall
    });
    let root = state.effective_root();
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
            deadline_ns,
        },
    );
    Ok(memory::write_u32(caller, ret_token_ptr, token)?)
}

pub(crate) fn add(linker: &mut Linker<VmState>) -> wasmtime::Result<()> {
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
            if let Some(p) = state.callouts.grpc.get(&token) {
                let sent: usize = p
                    .request
                    .messages
                    .iter()
                    .map(|m| m.len() + ENTRY_OVERHEAD)
                    .sum();
                state.vm.enforce(Limit::BufferBytes, sent + message.len())?;
            }
            let p = state
                .callouts
                .grpc
                .get_mut(&token)
                .ok_or(Status::NotFound)?;
            if !p.request.is_stream {
                return Err(Status::BadArgument.into());
            }
            p.request.messages.push(message);
            p.request.local_closed |= end_stream != 0;
            Ok(())
        }
    );
    hostcall!(linker, "proxy_grpc_cancel", |caller, token: u32| {
        let removed = caller.data_mut().callouts.grpc.remove(&token);
        removed.map(drop).ok_or(Status::NotFound.into())
    });
    hostcall!(linker, "proxy_grpc_close", |caller, token: u32| {
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
