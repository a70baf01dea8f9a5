//! `proxy_define_metric`, `proxy_increment_metric`, `proxy_record_metric`, `proxy_get_metric`
//! (Envoy's rules per metric type are in [`super::metrics`]).

use crate::abi::{MetricType, Status};
use crate::envoy::hostcalls::{hostcall, note};
use crate::envoy::state::VmState;
use crate::vm::limits::Limit;
use crate::vm::memory;
use wasmtime::Linker;

pub(crate) fn add(linker: &mut Linker<VmState>) -> wasmtime::Result<()> {
    hostcall!(
        linker,
        "proxy_define_metric",
        |caller, ty: u32, name_ptr: u32, name_size: u32, ret_id_ptr: u32| {
            let ty = MetricType::from_u32(ty).ok_or(Status::BadArgument)?;
            let name = memory::read_string(&mut caller, name_ptr, name_size)?;
            memory::write_u32(&mut caller, ret_id_ptr, 0)?;
            let state = caller.data_mut();
            note(state, || format!("{ty:?}, {name:?}"));
            let (count, name_bytes) = state.metrics.footprint();
            state.vm.enforce(Limit::MetricCount, count + 1)?;
            state
                .vm
                .enforce(Limit::MetricNameBytes, name_bytes + name.len())?;
            let shared = state.shared.clone();
            let id = state.metrics.define(&shared, ty, &name);
            Ok(memory::write_u32(&mut caller, ret_id_ptr, id)?)
        }
    );
    hostcall!(
        linker,
        "proxy_increment_metric",
        |caller, id: u32, offset: i64| {
            let state = caller.data();
            Ok(state.metrics.increment(&state.shared, id, offset)?)
        }
    );
    hostcall!(
        linker,
        "proxy_record_metric",
        |caller, id: u32, value: u64| {
            let state = caller.data_mut();
            if let Some(samples) = state.metrics.samples(&state.shared, id) {
                state.vm.enforce(Limit::HistogramSamples, samples + 1)?;
            }
            Ok(state.metrics.record(&state.shared, id, value)?)
        }
    );
    hostcall!(
        linker,
        "proxy_get_metric",
        |caller, id: u32, ret_ptr: u32| {
            let state = caller.data();
            let value = state.metrics.get(&state.shared, id)?;
            Ok(memory::write_u64(&mut caller, ret_ptr, value)?)
        }
    );
    Ok(())
}
