//! The VM layer: wasmtime, independent of Envoy. The process-wide [`engine`], compiling and
//! ABI-detecting modules ([`module`]), Envoy's load-time checks ([`imports`]), the bounds on
//! what a guest can make the host hold ([`limits`]), bounds-checked guest [`memory`], the
//! guest's exports, the [`HostError`] every hostcall returns, and [`Vm`]: one store with its
//! call wrapper (deadline, trap → permanent [`VmFailure`]).
//!
//! The store data is generic ([`VmData`]): the Envoy layer above supplies it and decides what a
//! call makes visible to hostcalls; this layer only needs the [`VmCore`] slice.

pub(crate) mod engine;
mod error;
pub(crate) mod imports;
pub(crate) mod limits;
pub(crate) mod memory;
pub(crate) mod module;

pub(crate) use error::{HostError, HostResult, check, into_code};
pub use limits::HostLimits;

use crate::abi::AbiVersion;
use crate::values::{FailureKind, HarnessError, VmFailure};
use limits::{Limiter, Stop};
use std::time::{Duration, Instant};
use wasmtime::{Instance, InstancePre, Memory, Store, TypedFunc, WasmParams, WasmResults};

/// The VM's own slice of the store data: the guest's memory and allocator, the memory cap, and
/// why a call trapped when the host caused it.
pub(crate) struct VmCore {
    pub memory: Option<Memory>,
    pub malloc: Option<TypedFunc<u32, u32>>,
    pub cap: Limiter,
    /// The host-side limits.
    pub limits: HostLimits,
    /// Why the host stopped the current call (a limit, the deadline), if it did.
    pub stop: Option<Stop>,
    /// When the current call must end (set by [`Vm::call`]).
    pub call_deadline: Option<Instant>,
    /// Bytes of log lines recorded since the log was last found cleared.
    pub log_bytes: usize,
    /// How many log entries there were after the last line was recorded (another number now:
    /// the log changed elsewhere, and the bytes are recounted).
    pub log_entries: usize,
    /// The per-VM log cap was reached and the marker line written.
    pub log_capped: bool,
    /// True during `_initialize`/`main`/`_start`: only logging and WASI basics are allowed.
    pub starting: bool,
    pub in_allocator: bool,
    /// A non-allowed hostcall made during start-up or inside the allocator.
    pub forbidden: Option<String>,
    /// The code the guest passed to WASI `proc_exit`.
    pub exit_code: Option<i32>,
}

impl VmCore {
    pub(crate) fn new(memory_limit: usize, limits: HostLimits) -> VmCore {
        VmCore {
            memory: None,
            malloc: None,
            cap: Limiter {
                max_memory_bytes: memory_limit,
                max_table_elements: limits.table_elements,
                memory_denied: false,
                table_denied: false,
            },
            limits,
            stop: None,
            call_deadline: None,
            log_bytes: 0,
            log_entries: 0,
            log_capped: false,
            starting: true,
            in_allocator: false,
            forbidden: None,
            exit_code: None,
        }
    }
}

/// What the layer above stores in a VM: its [`VmCore`] slice plus whatever a call frame holds.
pub(crate) trait VmData: Sized + Send + 'static {
    /// What a callback makes visible to hostcalls while it runs.
    type Frame: Default;
    /// The VM slice.
    fn core(&self) -> &VmCore;
    /// The VM slice, mutably.
    fn core_mut(&mut self) -> &mut VmCore;
    /// Installs the frame of a call to `callback` on context `ctx`; returns a mark (the log
    /// length) that [`VmData::panic_message_since`] gets back if the call traps.
    fn enter(&mut self, callback: &'static str, ctx: u32, frame: Self::Frame) -> usize;
    /// Clears the frame after the call returned.
    fn leave(&mut self);
    /// The panic message the guest logged (at critical) since `mark`, if any.
    fn panic_message_since(&self, mark: usize) -> Option<String>;
    /// Records the host's own critical line about a failure.
    fn log_failure(&mut self, message: String);
}

type F<P, R> = Option<TypedFunc<P, R>>;

/// The headers callback differs between 0.1.0 (no end_of_stream) and 0.2.x.
pub(crate) enum HeadersFn {
    V1(TypedFunc<(u32, u32), u32>),
    V2(TypedFunc<(u32, u32, u32), u32>),
}

/// The callbacks the module exports (a missing one is skipped).
#[derive(Default)]
pub(crate) struct Exports {
    pub on_context_create: F<(u32, u32), ()>,
    pub on_vm_start: F<(u32, u32), u32>,
    pub on_configure: F<(u32, u32), u32>,
    pub on_tick: F<u32, ()>,
    pub on_queue_ready: F<(u32, u32), ()>,
    pub on_new_connection: F<u32, u32>,
    pub on_downstream_data: F<(u32, u32, u32), u32>,
    pub on_upstream_data: F<(u32, u32, u32), u32>,
    pub on_downstream_connection_close: F<(u32, u32), ()>,
    pub on_upstream_connection_close: F<(u32, u32), ()>,
    pub on_request_headers: Option<HeadersFn>,
    pub on_request_body: F<(u32, u32, u32), u32>,
    pub on_request_trailers: F<(u32, u32), u32>,
    pub on_response_headers: Option<HeadersFn>,
    pub on_response_body: F<(u32, u32, u32), u32>,
    pub on_response_trailers: F<(u32, u32), u32>,
    pub on_http_call_response: F<(u32, u32, u32, u32, u32), ()>,
    pub on_grpc_receive_initial_metadata: F<(u32, u32, u32), ()>,
    pub on_grpc_receive: F<(u32, u32, u32), ()>,
    pub on_grpc_receive_trailing_metadata: F<(u32, u32, u32), ()>,
    pub on_grpc_close: F<(u32, u32, u32), ()>,
    pub on_foreign_function: F<(u32, u32, u32), ()>,
    pub on_log: F<u32, ()>,
    pub on_done: F<u32, u32>,
    pub on_delete: F<u32, ()>,
}

fn typed<T, P: WasmParams, R: WasmResults>(
    instance: &Instance,
    store: &mut Store<T>,
    name: &str,
) -> Result<F<P, R>, HarnessError> {
    if instance.get_func(&mut *store, name).is_none() {
        return Ok(None);
    }
    instance
        .get_typed_func::<P, R>(&mut *store, name)
        .map(Some)
        .map_err(|e| HarnessError::BadExport(format!("{name}: {e:#}")))
}

impl Exports {
    pub(crate) fn load<T>(
        instance: &Instance,
        store: &mut Store<T>,
        abi: AbiVersion,
    ) -> Result<Exports, HarnessError> {
        let headers =
            |store: &mut Store<T>, name: &str| -> Result<Option<HeadersFn>, HarnessError> {
                Ok(if abi == AbiVersion::V0_1_0 {
                    typed(instance, store, name)?.map(HeadersFn::V1)
                } else {
                    typed(instance, store, name)?.map(HeadersFn::V2)
                })
            };
        Ok(Exports {
            on_context_create: typed(instance, store, "proxy_on_context_create")?,
            on_vm_start: typed(instance, store, "proxy_on_vm_start")?,
            on_configure: typed(instance, store, "proxy_on_configure")?,
            on_tick: typed(instance, store, "proxy_on_tick")?,
            on_queue_ready: typed(instance, store, "proxy_on_queue_ready")?,
            on_new_connection: typed(instance, store, "proxy_on_new_connection")?,
            on_downstream_data: typed(instance, store, "proxy_on_downstream_data")?,
            on_upstream_data: typed(instance, store, "proxy_on_upstream_data")?,
            on_downstream_connection_close: typed(
                instance,
                store,
                "proxy_on_downstream_connection_close",
            )?,
            on_upstream_connection_close: typed(
                instance,
                store,
                "proxy_on_upstream_connection_close",
            )?,
            on_request_headers: headers(store, "proxy_on_request_headers")?,
            on_request_body: typed(instance, store, "proxy_on_request_body")?,
            on_request_trailers: typed(instance, store, "proxy_on_request_trailers")?,
            on_response_headers: headers(store, "proxy_on_response_headers")?,
            on_response_body: typed(instance, store, "proxy_on_response_body")?,
            on_response_trailers: typed(instance, store, "proxy_on_response_trailers")?,
            on_http_call_response: typed(instance, store, "proxy_on_http_call_response")?,
            on_grpc_receive_initial_metadata: typed(
                instance,
                store,
                "proxy_on_grpc_receive_initial_metadata",
            )?,
            on_grpc_receive: typed(instance, store, "proxy_on_grpc_receive")?,
            on_grpc_receive_trailing_metadata: typed(
                instance,
                store,
                "proxy_on_grpc_receive_trailing_metadata",
            )?,
            on_grpc_close: typed(instance, store, "proxy_on_grpc_close")?,
            on_foreign_function: typed(instance, store, "proxy_on_foreign_function")?,
            on_log: typed(instance, store, "proxy_on_log")?,
            on_done: typed(instance, store, "proxy_on_done")?,
            on_delete: typed(instance, store, "proxy_on_delete")?,
        })
    }
}

/// One VM: a store, and whether it failed (for good).
pub(crate) struct Vm<T: VmData> {
    pub store: Store<T>,
    pub failure: Option<VmFailure>,
    deadline: Duration,
    ticks: u64,
}

impl<T: VmData> Vm<T> {
    /// Instantiates the module and runs its start-up function (not the plugins' start).
    pub(crate) fn instantiate(
        pre: &InstancePre<T>,
        abi: AbiVersion,
        data: T,
        deadline: Duration,
    ) -> Result<(Vm<T>, Exports), HarnessError> {
        imports::check_allocator(pre.module())?;
        let engine = pre.module().engine().clone();
        let ticks = engine::ticks_for(deadline);
        let mut store = Store::new(&engine, data);
        store.limiter(|s| &mut s.core_mut().cap);
        store.epoch_deadline_trap();
        store.set_epoch_deadline(ticks);
        if engine::is_metered(&engine) {
            // Metering counts down from here; `fuel_consumed` reads the difference.
            store
                .set_fuel(u64::MAX)
                .map_err(|e| HarnessError::Instantiate(format!("{e:#}")))?;
        }
        let instance = pre
            .instantiate(&mut store)
            .map_err(|e| HarnessError::Instantiate(format!("{e:#}")))?;
        let memory = instance.get_memory(&mut store, "memory");
        let malloc = match typed::<T, u32, u32>(&instance, &mut store, "malloc")? {
            Some(m) => Some(m),
            None => typed(&instance, &mut store, "proxy_on_memory_allocate")?,
        };
        store.data_mut().core_mut().memory = memory;
        store.data_mut().core_mut().malloc = malloc;
        let exports = Exports::load(&instance, &mut store, abi)?;
        let mut vm = Vm {
            store,
            failure: None,
            deadline,
            ticks,
        };
        vm.start(&instance)?;
        Ok((vm, exports))
    }

    /// `_initialize` (+ `main(0, 0)`) for reactors, else `_start`.
    fn start(&mut self, instance: &Instance) -> Result<(), HarnessError> {
        let run = |vm: &mut Vm<T>, name: &'static str| -> Result<(), HarnessError> {
            let result = if name == "main" {
                match typed::<T, (u32, u32), u32>(instance, &mut vm.store, name)? {
                    Some(f) => vm
                        .call(name, 0, &f, (0, 0), T::Frame::default())
                        .map(|_| ()),
                    None => Ok(()),
                }
            } else {
                match typed::<T, (), ()>(instance, &mut vm.store, name)? {
                    Some(f) => vm.call(name, 0, &f, (), T::Frame::default()),
                    None => Ok(()),
                }
            };
            result.map_err(|f| HarnessError::Startup(f.to_string()))
        };
        if instance.get_func(&mut self.store, "_initialize").is_some() {
            run(self, "_initialize")?;
            run(self, "main")?;
        } else {
            run(self, "_start")?;
        }
        self.store.data_mut().core_mut().starting = false;
        Ok(())
    }

    /// Records a failure that is not a trap (start or configure returned false).
    pub(crate) fn fail(&mut self, kind: FailureKind, callback: &str, message: String) {
        if self.failure.is_none() {
            self.failure = Some(VmFailure {
                kind,
                callback: callback.to_string(),
                message,
                panic_message: None,
                backtrace: None,
            });
        }
    }

    /// Calls a callback for context `ctx`: installs the call frame, the deadline, and turns a
    /// trap into a permanent [`VmFailure`]. A failed VM is not called again.
    pub(crate) fn call<P: WasmParams, R: WasmResults>(
        &mut self,
        name: &'static str,
        ctx: u32,
        f: &TypedFunc<P, R>,
        params: P,
        frame: T::Frame,
    ) -> Result<R, VmFailure> {
        if let Some(failure) = &self.failure {
            return Err(failure.clone());
        }
        let mark = self.store.data_mut().enter(name, ctx, frame);
        self.store.set_epoch_deadline(self.ticks);
        let core = self.store.data_mut().core_mut();
        core.call_deadline = Some(Instant::now() + self.deadline);
        core.stop = None;
        let result = f.call(&mut self.store, params);
        self.store.data_mut().core_mut().call_deadline = None;
        self.store.data_mut().leave();
        match result {
            Ok(r) => Ok(r),
            Err(e) => {
                let failure = describe_trap(self.store.data_mut(), name, &e, mark, self.deadline);
                self.failure = Some(failure.clone());
                Err(failure)
            }
        }
    }

    /// Wasm instructions executed so far (fuel spent), on a metered engine; `None` otherwise.
    pub(crate) fn fuel_consumed(&self) -> Option<u64> {
        // Asking an unmetered store builds an error, and with `RUST_BACKTRACE` set that
        // captures a backtrace: it halved the fuzzer's rate before this check.
        if !engine::is_metered(self.store.engine()) {
            return None;
        }
        self.store.get_fuel().ok().map(|left| u64::MAX - left)
    }

    /// The guest's linear memory size in bytes (0 when it exports none).
    pub(crate) fn memory_bytes(&self) -> usize {
        self.store
            .data()
            .core()
            .memory
            .map_or(0, |m| m.data_size(&self.store))
    }

    /// The store data.
    pub(crate) fn state(&mut self) -> &mut T {
        self.store.data_mut()
    }
}

fn describe_trap<T: VmData>(
    state: &mut T,
    callback: &str,
    e: &wasmtime::Error,
    mark: usize,
    deadline: Duration,
) -> VmFailure {
    let trap = e.downcast_ref::<wasmtime::Trap>().copied();
    let panic_message = state.panic_message_since(mark);
    let backtrace = e
        .downcast_ref::<wasmtime::WasmBacktrace>()
        .map(|b| b.to_string());
    let core = state.core_mut();
    let stop = core.stop.take();
    let (kind, reason) = if trap == Some(wasmtime::Trap::Interrupt) || stop == Some(Stop::Deadline)
    {
        (
            FailureKind::Deadline,
            format!(
                "the call exceeded its deadline of {deadline:?} (an infinite loop?) and was interrupted"
            ),
        )
    } else if let Some(Stop::Limit(msg)) = stop {
        (FailureKind::HostLimit, msg)
    } else if core.cap.table_denied {
        (FailureKind::HostLimit, root_cause(e))
    } else if let Some(msg) = core.forbidden.take() {
        (FailureKind::Trap, msg)
    } else if core.cap.memory_denied {
        (
            FailureKind::MemoryLimit,
            format!(
                "{} (linear memory is capped at {} bytes and the module asked for more)",
                root_cause(e),
                core.cap.max_memory_bytes
            ),
        )
    } else if let Some(code) = core.exit_code {
        (
            FailureKind::Trap,
            format!("the module exited with proc_exit({code})"),
        )
    } else {
        (FailureKind::Trap, root_cause(e))
    };
    let message = match &panic_message {
        Some(p) => format!("Function: {callback} failed: {reason}: {p}"),
        None => format!("Function: {callback} failed: {reason}"),
    };
    state.log_failure(message.clone());
    VmFailure {
        kind,
        callback: callback.to_string(),
        message,
        panic_message,
        backtrace,
    }
}

fn root_cause(e: &wasmtime::Error) -> String {
    match e.downcast_ref::<wasmtime::Trap>() {
        Some(t) => t.to_string(),
        None => e.root_cause().to_string(),
    }
}
