//! Envoy's side of the conversation: how and when the host calls into the VM.
//!
//! * this file — the VM (store, instance exports), the call wrapper (deadline, effective
//!   context, failure capture) and start-up (`_initialize`, `on_vm_start`, `on_configure`);
//! * [`http`] — HTTP streams: callback order, Action translation, pausing, local replies;
//! * [`tcp`] — network filters;
//! * [`events`] — deferred actions and asynchronous events (callout answers, queue
//!   notifications, ticks, timeouts).

pub(crate) mod events;
pub(crate) mod http;
pub(crate) mod tcp;

use crate::abi::AbiVersion;
use crate::state::{CallData, Context, RootCtx, VmState};
use crate::{FailureKind, HarnessError, LogLevel, Module, VmFailure};
use wasmtime::{Instance, Store, TypedFunc, WasmParams, WasmResults};

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

fn typed<P: WasmParams, R: WasmResults>(
    instance: &Instance,
    store: &mut Store<VmState>,
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
    fn load(
        instance: &Instance,
        store: &mut Store<VmState>,
        abi: AbiVersion,
    ) -> Result<Exports, HarnessError> {
        let headers =
            |store: &mut Store<VmState>, name: &str| -> Result<Option<HeadersFn>, HarnessError> {
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

/// One VM: a store, its instance's callbacks, and whether it failed.
pub(crate) struct Vm {
    pub store: Store<VmState>,
    pub failure: Option<VmFailure>,
    ticks: u64,
}

impl Vm {
    /// Instantiates the module and runs its start-up function (not the plugins' start).
    pub(crate) fn instantiate(
        module: &Module,
        state: VmState,
    ) -> Result<(Vm, Exports), HarnessError> {
        let inner = module.inner();
        let engine = inner.pre.module().engine().clone();
        let ticks = crate::engine::ticks_for(state.settings.deadline);
        let mut store = Store::new(&engine, state);
        store.limiter(|s| &mut s.cap);
        store.epoch_deadline_trap();
        store.set_epoch_deadline(ticks);
        let instance = inner
            .pre
            .instantiate(&mut store)
            .map_err(|e| HarnessError::Instantiate(format!("{e:#}")))?;
        let memory = instance.get_memory(&mut store, "memory");
        let malloc = match typed::<u32, u32>(&instance, &mut store, "malloc")? {
            Some(m) => Some(m),
            None => typed(&instance, &mut store, "proxy_on_memory_allocate")?,
        };
        store.data_mut().memory = memory;
        store.data_mut().malloc = malloc;
        let exports = Exports::load(&instance, &mut store, inner.abi)?;
        let mut vm = Vm {
            store,
            failure: None,
            ticks,
        };
        vm.start(&instance)?;
        Ok((vm, exports))
    }

    /// `_initialize` (+ `main(0, 0)`) for reactors, else `_start`.
    fn start(&mut self, instance: &Instance) -> Result<(), HarnessError> {
        let run = |vm: &mut Vm, name: &'static str| -> Result<(), HarnessError> {
            let result = if name == "main" {
                match typed::<(u32, u32), u32>(instance, &mut vm.store, name)? {
                    Some(f) => vm.call(name, 0, &f, (0, 0), CallData::None).map(|_| ()),
                    None => Ok(()),
                }
            } else {
                match typed::<(), ()>(instance, &mut vm.store, name)? {
                    Some(f) => vm.call(name, 0, &f, (), CallData::None),
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
        self.store.data_mut().starting = false;
        Ok(())
    }

    /// Starts one plugin: root context `root`, on_context_create, on_vm_start, on_configure.
    pub(crate) fn start_plugin(
        &mut self,
        exports: &Exports,
        root: u32,
        plugin: usize,
    ) -> Result<(), HarnessError> {
        let state = self.store.data_mut();
        state.contexts.insert(
            root,
            Context::Root(RootCtx {
                plugin,
                ..Default::default()
            }),
        );
        let root_id = state.settings.plugins[plugin].root_id.clone();
        let vm_config_size = state.settings.vm_config.len() as u32;
        let config_size = state.settings.plugins[plugin].config.len() as u32;
        if let Some(f) = &exports.on_context_create {
            self.call(
                "proxy_on_context_create",
                root,
                f,
                (root, 0),
                CallData::None,
            )
            .map_err(HarnessError::Trap)?;
        }
        if let Some(f) = &exports.on_vm_start {
            let ok = self
                .call(
                    "proxy_on_vm_start",
                    root,
                    f,
                    (root, vm_config_size),
                    CallData::None,
                )
                .map_err(HarnessError::Trap)?;
            if ok == 0 {
                self.fail(
                    FailureKind::StartFailed,
                    "proxy_on_vm_start",
                    format!("plugin {root_id:?}: proxy_on_vm_start returned false"),
                );
                return Err(HarnessError::StartFailed {
                    root_id,
                    logs: self.store.data().logs.clone(),
                });
            }
        }
        if let Some(f) = &exports.on_configure {
            let ok = self
                .call(
                    "proxy_on_configure",
                    root,
                    f,
                    (root, config_size),
                    CallData::Configure(plugin),
                )
                .map_err(HarnessError::Trap)?;
            if ok == 0 {
                self.fail(
                    FailureKind::ConfigureFailed,
                    "proxy_on_configure",
                    format!("plugin {root_id:?}: proxy_on_configure returned false"),
                );
                return Err(HarnessError::ConfigureFailed {
                    root_id,
                    logs: self.store.data().logs.clone(),
                });
            }
        }
        Ok(())
    }

    fn fail(&mut self, kind: FailureKind, callback: &str, message: String) {
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

    /// Calls a callback for context `ctx`: sets the call frame (effective context = `ctx`,
    /// callback-only data), the deadline, and turns a trap into a permanent [`VmFailure`].
    /// A failed VM is not called again.
    pub(crate) fn call<P: WasmParams, R: WasmResults>(
        &mut self,
        name: &'static str,
        ctx: u32,
        f: &TypedFunc<P, R>,
        params: P,
        data: CallData,
    ) -> Result<R, VmFailure> {
        if let Some(failure) = &self.failure {
            return Err(failure.clone());
        }
        let logs_before;
        {
            let state = self.store.data_mut();
            let previous = std::mem::replace(
                &mut state.call,
                crate::state::CallFrame {
                    callback: name,
                    effective_id: ctx,
                    data,
                    active: true,
                },
            );
            debug_assert!(!previous.active, "re-entrant VM call");
            logs_before = state.logs.len();
            if state.trace.is_some() {
                crate::trace::record_callback(state, name, &[ctx]);
            }
        }
        self.store.set_epoch_deadline(self.ticks);
        let result = f.call(&mut self.store, params);
        let state = self.store.data_mut();
        state.call = crate::state::CallFrame::default();
        match result {
            Ok(r) => Ok(r),
            Err(e) => {
                let failure = describe_trap(state, name, &e, logs_before);
                self.failure = Some(failure.clone());
                Err(failure)
            }
        }
    }

    pub(crate) fn state(&mut self) -> &mut VmState {
        self.store.data_mut()
    }
}

fn describe_trap(
    state: &mut VmState,
    callback: &str,
    e: &wasmtime::Error,
    logs_before: usize,
) -> VmFailure {
    let trap = e.downcast_ref::<wasmtime::Trap>().copied();
    let panic_message = state.logs[logs_before.min(state.logs.len())..]
        .iter()
        .rev()
        .find(|l| l.level == LogLevel::Critical)
        .map(|l| l.message.clone());
    let backtrace = e
        .downcast_ref::<wasmtime::WasmBacktrace>()
        .map(|b| b.to_string());
    let (kind, reason) = if trap == Some(wasmtime::Trap::Interrupt) {
        (
            FailureKind::Deadline,
            format!(
                "the call exceeded its deadline of {:?} (an infinite loop?) and was interrupted",
                state.settings.deadline
            ),
        )
    } else if let Some(msg) = state.forbidden.take() {
        (FailureKind::Trap, msg)
    } else if state.cap.denied {
        (
            FailureKind::MemoryLimit,
            format!(
                "{} (linear memory is capped at {} bytes and the module asked for more)",
                root_cause(e),
                state.settings.memory_limit
            ),
        )
    } else if let Some(code) = state.exit_code {
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
    state.log(LogLevel::Critical, message.clone());
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
