//! `proxy_define_metric`, `proxy_increment_metric`, `proxy_record_metric`, `proxy_get_metric`.

use super::{hostcall, note};
use crate::abi::{MetricType, Status};
use crate::memory;
use crate::state::VmState;
use wasmtime::Linker;

pub(super) fn add(linker: &mut Linker<VmState>) -> wasmtime::Result<()> {
    hostcall!(
        linker,
        "proxy_define_metric",
        |caller, ty: u32, name_ptr: u32, name_size: u32, ret_id_ptr: u32| {
            let Some(ty) = MetricType::from_u32(ty) else {
                return Ok(Status::BadArgument);
            };
            let name = match memory::read_string(&mut caller, name_ptr, name_size) {
                Ok(n) => n,
                Err(s) => return Ok(s),
            };
            if let Err(s) = memory::write_u32(&mut caller, ret_id_ptr, 0) {
                return Ok(s);
            }
            let state = caller.data_mut();
            note(state, || format!("{ty:?}, {name:?}"));
            let shared = state.shared.clone();
            let id = state.metrics.define(&shared, ty, &name);
            Ok(memory::status_of(memory::write_u32(
                &mut caller,
                ret_id_ptr,
                id,
            )))
        }
    );
    hostcall!(
        linker,
        "proxy_increment_metric",
        |caller, id: u32, offset: i64| {
            let state = caller.data();
            Ok(memory::status_of(state.metrics.increment(
                &state.shared,
                id,
                offset,
            )))
        }
    );
    hostcall!(
        linker,
        "proxy_record_metric",
        |caller, id: u32, value: u64| {
            let state = caller.data();
            Ok(memory::status_of(state.metrics.record(
                &state.shared,
                id,
                value,
            )))
        }
    );
    hostcall!(
        linker,
        "proxy_get_metric",
        |caller, id: u32, ret_ptr: u32| {
            let state = caller.data();
            match state.metrics.get(&state.shared, id) {
                Ok(v) => Ok(memory::status_of(memory::write_u64(
                    &mut caller,
                    ret_ptr,
                    v,
                ))),
                Err(s) => Ok(s),
            }
        }
    );
    Ok(())
}
