//! `proxy_get_buffer_bytes`, `proxy_set_buffer_bytes`, `proxy_get_buffer_status`, and 0.1.0's
//! `proxy_get_configuration`. Bodies exist only in their phase (NOT_FOUND outside); the plugin
//! configuration only during on_configure; callout and configuration buffers are immutable.

use super::VmState;
use super::hostcall::{hostcall, note};
use crate::abi::{AbiVersion, BufferType, Status};
use crate::envoy::context::{Avail, CallData, Context};
use crate::vm::limits::Limit;
use crate::vm::{check, memory};
use wasmtime::Linker;

/// The bytes of a buffer the current call may read.
fn buffer(state: &mut VmState, bt: BufferType) -> Result<&mut Vec<u8>, Status> {
    let effective = state.call.effective_id;
    match bt {
        BufferType::RequestBody | BufferType::ResponseBody => {
            match state.contexts.get_mut(&effective) {
                Some(Context::Http(h)) => {
                    let dir = if bt == BufferType::RequestBody {
                        &mut h.request
                    } else {
                        &mut h.response
                    };
                    match dir.body_avail {
                        Avail::Live => Ok(&mut dir.body),
                        _ => Err(Status::NotFound),
                    }
                }
                _ => Err(Status::NotFound),
            }
        }
        BufferType::DownstreamData | BufferType::UpstreamData => {
            match state.contexts.get_mut(&effective) {
                Some(Context::Tcp(t)) => {
                    if bt == BufferType::DownstreamData && t.in_downstream {
                        Ok(&mut t.downstream)
                    } else if bt == BufferType::UpstreamData && t.in_upstream {
                        Ok(&mut t.upstream)
                    } else {
                        Err(Status::NotFound)
                    }
                }
                _ => Err(Status::NotFound),
            }
        }
        BufferType::HttpCallResponseBody => match &mut state.call.data {
            CallData::HttpCallResponse(r) => Ok(&mut r.body),
            _ => Err(Status::NotFound),
        },
        BufferType::GrpcReceiveBuffer => match &mut state.call.data {
            CallData::GrpcMessage(m) => Ok(m),
            _ => Err(Status::NotFound),
        },
        BufferType::CallData => match &mut state.call.data {
            CallData::Foreign(a) => Ok(a),
            _ => Err(Status::NotFound),
        },
        // Configuration is copied out by the caller (see `config_bytes`).
        BufferType::VmConfiguration | BufferType::PluginConfiguration => Err(Status::NotFound),
    }
}

fn config_bytes(state: &VmState, bt: BufferType) -> Option<Result<Vec<u8>, Status>> {
    match bt {
        BufferType::VmConfiguration => Some(Ok(state.settings.vm_config.clone())),
        BufferType::PluginConfiguration => Some(match &state.call.data {
            CallData::Configure(config) => Ok(config.clone()),
            _ => Err(Status::NotFound),
        }),
        _ => None,
    }
}

fn is_mutable(bt: BufferType) -> bool {
    matches!(
        bt,
        BufferType::RequestBody
            | BufferType::ResponseBody
            | BufferType::DownstreamData
            | BufferType::UpstreamData
    )
}

/// Envoy's `Buffer::copyFrom` (`source/extensions/common/wasm/context.cc`, since PR #17280):
/// `start == 0` drains `length` bytes (all there are when `length` is larger) and prepends
/// the data, so (0, 0) prepends, (0, n) replaces the first n bytes and (0, ≥ len) replaces
/// everything; `start ≥ len` appends; any other start is BAD_ARGUMENT.
fn splice(buf: &mut Vec<u8>, start: u32, size: u32, data: &[u8]) -> Status {
    let len = buf.len();
    if start == 0 {
        let drain = usize::try_from(size).unwrap_or(usize::MAX).min(len);
        buf.splice(0..drain, data.iter().copied());
    } else if u64::from(start) >= len as u64 {
        buf.extend_from_slice(data);
    } else {
        return Status::BadArgument;
    }
    Status::Ok
}

pub(crate) fn add(linker: &mut Linker<VmState>, abi: AbiVersion) -> wasmtime::Result<()> {
    hostcall!(
        linker,
        "proxy_get_buffer_bytes",
        |caller, bt: u32, start: u32, max_size: u32, ret_ptr: u32, ret_size: u32| {
            let Some(buffer_type) = BufferType::from_u32(bt) else {
                return Err(Status::BadArgument.into());
            };
            let state = caller.data_mut();
            note(state, || format!("{buffer_type:?}, {start}, {max_size}"));
            let whole = match config_bytes(state, buffer_type) {
                Some(r) => r,
                None => buffer(state, buffer_type).map(|b| b.clone()),
            };
            let data = whole?;
            // 64-bit arithmetic: the SDK passes max_size = u32::MAX.
            let len = data.len() as u64;
            let from = u64::from(start).min(len) as usize;
            let to = (u64::from(start) + u64::from(max_size)).min(len) as usize;
            // Envoy (proxy-wasm-cpp-host `get_buffer_bytes`) copies only `if (length > 0)`:
            // nothing to read is OK and leaves the return slots untouched. AssemblyScript's
            // SDK traps on an empty configuration when they are zeroed instead.
            if from == to {
                return Ok(());
            }
            memory::return_bytes(&mut caller, &data[from..to], ret_ptr, ret_size)
        }
    );
    hostcall!(
        linker,
        "proxy_set_buffer_bytes",
        |caller, bt: u32, start: u32, size: u32, data_ptr: u32, data_size: u32| {
            let Some(buffer_type) = BufferType::from_u32(bt) else {
                return Err(Status::BadArgument.into());
            };
            memory::with_bytes(&mut caller, data_ptr, data_size, |data, state| {
                note(state, || {
                    format!(
                        "{buffer_type:?}, {start}, {size}, {:?}",
                        String::from_utf8_lossy(data)
                    )
                });
                if is_mutable(buffer_type)
                    && let Ok(buf) = buffer(state, buffer_type)
                {
                    // Checked before the copy, so a flood never reaches host memory.
                    let len = buf.len() as u64;
                    let drained = if start == 0 {
                        u64::from(size).min(len)
                    } else {
                        0
                    };
                    let after = len - drained + data.len() as u64;
                    if after > len {
                        state.vm.enforce(
                            Limit::BufferBytes,
                            usize::try_from(after).unwrap_or(usize::MAX),
                        )?;
                    }
                }
                check(match buffer(state, buffer_type) {
                    Ok(buf) if is_mutable(buffer_type) => splice(buf, start, size, data),
                    Ok(_) => Status::BadArgument,
                    Err(_) if !is_mutable(buffer_type) => Status::BadArgument,
                    Err(s) => s,
                })
            })
        }
    );
    hostcall!(
        linker,
        "proxy_get_buffer_status",
        |caller, bt: u32, ret_size_ptr: u32, ret_flags_ptr: u32| {
            let Some(buffer_type) = BufferType::from_u32(bt) else {
                return Err(Status::BadArgument.into());
            };
            let state = caller.data_mut();
            let len = match config_bytes(state, buffer_type) {
                Some(r) => r.map(|d| d.len()),
                None => buffer(state, buffer_type).map(|b| b.len()),
            };
            memory::write_u32(&mut caller, ret_size_ptr, len? as u32)?;
            Ok(memory::write_u32(&mut caller, ret_flags_ptr, 0)?)
        }
    );
    if abi == AbiVersion::V0_1_0 {
        hostcall!(
            linker,
            "proxy_get_configuration",
            |caller, ret_ptr: u32, ret_size: u32| {
                let state = caller.data();
                let data = match &state.call.data {
                    CallData::Configure(config) => config.clone(),
                    _ => state.settings.vm_config.clone(),
                };
                memory::return_bytes(&mut caller, &data, ret_ptr, ret_size)
            }
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splice_rules() {
        let mut b = b"body".to_vec();
        assert_eq!(splice(&mut b, 0, 0, b">"), Status::Ok);
        assert_eq!(b, b">body");
        assert_eq!(splice(&mut b, 5, 0, b"<"), Status::Ok);
        assert_eq!(b, b">body<");
        assert_eq!(splice(&mut b, 99, 3, b"!"), Status::Ok);
        assert_eq!(b, b">body<!");
        assert_eq!(splice(&mut b, 2, 1, b"x"), Status::BadArgument);
        assert_eq!(splice(&mut b, 0, 2, b"<<"), Status::Ok);
        assert_eq!(b, b"<<ody<!");
        assert_eq!(splice(&mut b, 0, u32::MAX, b"new"), Status::Ok);
        assert_eq!(b, b"new");
    }
}
