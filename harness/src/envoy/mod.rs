//! The Envoy layer: [`Proxy`] owns one VM with its root and stream contexts and does what
//! Envoy does — the lifecycle (start-up, plugins, streams, shutdown), the failure policy, and
//! every host service behind the hostcalls.
//!
//! * this file — [`Proxy`]: start, plugins, reload, and what the host layer reads back;
//! * [`http`] — HTTP streams: callback order, Action translation, pausing, local replies;
//! * [`tcp`] — network filters;
//! * [`events`] — deferred actions and asynchronous events (callout answers, queue
//!   notifications, ticks, timeouts);
//! * [`services`] — one file per host service, each with its hostcalls and its state slice;
//!   `services/mod.rs` holds [`VmState`] (the store data: every slice) and registers every
//!   hostcall; `services/hostcall.rs` is the `hostcall!` machinery the services share;
//! * [`context`] — root, HTTP and TCP contexts, the call frame, deferred actions;
//! * [`settings`] — what the builder fixed ([`FailurePolicy`], plugins, limits);
//! * [`shared`] — the process-wide store several VMs share (shared data, queues, metric
//!   values), as Envoy keeps one per process;
//! * [`trace`] — Envoy's hostcall trace format; [`pool`] — reused header memory.
//!
//! Imports inside this folder point one way (`python3 .ci/check-imports harness/src/envoy`):
//! `pool`, `trace`, `settings`, `shared` ← `context` ← `services` ← `http`, `tcp`, `events` ←
//! this file.

pub(crate) mod context;
pub(crate) mod events;
pub(crate) mod http;
pub(crate) mod pool;
pub(crate) mod services;
pub(crate) mod settings;
pub(crate) mod shared;
pub(crate) mod tcp;
pub(crate) mod trace;

pub(crate) use http::Dir;
pub(crate) use services::VmState;
pub use settings::FailurePolicy;
pub use shared::{MetricValue, SharedState};

use crate::abi::AbiVersion;
use crate::values::{FailureKind, HarnessError, LogEntry, PropertyValue, VmFailure};
use crate::vm::{Exports, Vm};
use context::{CallData, Context, RootCtx};
use settings::Settings;

impl Proxy {
    /// Sets a property of stream or connection `id` only (read before the host's); the
    /// connection properties go to its own [`ConnectionInfo`](crate::ConnectionInfo).
    pub(crate) fn set_context_property(
        &mut self,
        id: u32,
        path: Vec<String>,
        value: PropertyValue,
    ) -> Result<(), HarnessError> {
        let default = &self.settings.connection;
        let (properties, connection) = match self.vm.state().contexts.get_mut(&id) {
            Some(Context::Http(h)) => (&mut h.properties, &mut h.connection),
            Some(Context::Tcp(t)) => (&mut t.properties, &mut t.connection),
            _ => return Err(HarnessError::Usage("the stream is gone".into())),
        };
        let mut own = connection
            .take()
            .unwrap_or_else(|| Box::new(default.clone()));
        let applied = services::properties::apply_connection_property(&mut own, &path, &value)
            .map_err(HarnessError::Usage);
        if applied.as_ref().is_ok_and(|a| *a) || *own != *default {
            *connection = Some(own);
        }
        if !applied? {
            properties.set_segments(path, value);
        }
        Ok(())
    }

    /// Gives stream or connection `id` its own downstream connection.
    pub(crate) fn set_context_connection(
        &mut self,
        id: u32,
        info: crate::ConnectionInfo,
    ) -> Result<(), HarnessError> {
        match self.vm.state().contexts.get_mut(&id) {
            Some(Context::Http(h)) => h.connection = Some(Box::new(info)),
            Some(Context::Tcp(t)) => t.connection = Some(Box::new(info)),
            _ => return Err(HarnessError::Usage("the stream is gone".into())),
        }
        Ok(())
    }
}
use std::sync::Arc;
use wasmtime::{Engine, InstancePre, Linker};

/// Links every hostcall of `abi` (and WASI) for `module`: the instance template each
/// [`Proxy`] instantiates.
pub(crate) fn link(
    engine: &Engine,
    module: &wasmtime::Module,
    abi: AbiVersion,
) -> Result<InstancePre<VmState>, HarnessError> {
    let mut linker: Linker<VmState> = Linker::new(engine);
    services::add_to_linker(&mut linker, abi)
        .and_then(|_| services::wasi::add_to_linker(&mut linker))
        .map_err(|e| HarnessError::Instantiate(format!("{e:#}")))?;
    services::wasi::define_remaining(&mut linker, module);
    linker
        .instantiate_pre(module)
        .map_err(|e| HarnessError::Instantiate(format!("{e:#}")))
}

/// Treats the callbacks `settings` does not allow as missing, as proxy-wasm-cpp-host's
/// `WasmBase::getFunctions` does for a restricted `proxy_on_*` capability.
fn restrict_callbacks(exports: &mut Exports, settings: &Settings) {
    if settings.allowed_capabilities.is_empty() {
        return;
    }
    macro_rules! gate {
        ($($field:ident => $name:literal,)*) => {
            $(if !settings.capability_allowed($name) {
                exports.$field = None;
            })*
        };
    }
    gate!(
        on_context_create => "proxy_on_context_create",
        on_vm_start => "proxy_on_vm_start",
        on_configure => "proxy_on_configure",
        on_tick => "proxy_on_tick",
        on_queue_ready => "proxy_on_queue_ready",
        on_new_connection => "proxy_on_new_connection",
        on_downstream_data => "proxy_on_downstream_data",
        on_upstream_data => "proxy_on_upstream_data",
        on_downstream_connection_close => "proxy_on_downstream_connection_close",
        on_upstream_connection_close => "proxy_on_upstream_connection_close",
        on_request_headers => "proxy_on_request_headers",
        on_request_body => "proxy_on_request_body",
        on_request_trailers => "proxy_on_request_trailers",
        on_response_headers => "proxy_on_response_headers",
        on_response_body => "proxy_on_response_body",
        on_response_trailers => "proxy_on_response_trailers",
        on_http_call_response => "proxy_on_http_call_response",
        on_grpc_receive_initial_metadata => "proxy_on_grpc_receive_initial_metadata",
        on_grpc_receive => "proxy_on_grpc_receive",
        on_grpc_receive_trailing_metadata => "proxy_on_grpc_receive_trailing_metadata",
        on_grpc_close => "proxy_on_grpc_close",
        on_foreign_function => "proxy_on_foreign_function",
        on_log => "proxy_on_log",
        on_done => "proxy_on_done",
        on_delete => "proxy_on_delete",
    );
}

/// One emulated Envoy VM: the wasm instance, its root contexts (one per plugin) and streams.
pub(crate) struct Proxy {
    pre: InstancePre<VmState>,
    abi: AbiVersion,
    pub(crate) settings: Arc<Settings>,
    pub(crate) shared: SharedState,
    pub(crate) host_id: u64,
    pub(crate) vm: Vm<VmState>,
    pub(crate) exports: Exports,
    pub(crate) roots: Vec<u32>,
    pub(crate) next_context_id: u32,
    reloads: u32,
    /// Envoy's `vm_reload_backoff` counter.
    reload_backoffs: u32,
    /// When the VM was last (re)loaded, on the fake clock.
    last_load_ns: u64,
    /// Backoff intervals drawn so far (each draw is fresh, as Envoy's).
    reload_draws: u64,
}

impl Proxy {
    /// Instantiates the module, runs its start-up, then starts every plugin.
    pub(crate) fn start(
        pre: &InstancePre<VmState>,
        abi: AbiVersion,
        settings: Arc<Settings>,
        shared: SharedState,
        callouts: services::callouts::Scripts,
    ) -> Result<Proxy, HarnessError> {
        let host_id = shared::next_host_id();
        let mut state = VmState::new(host_id, settings.clone(), abi, shared.clone());
        state.callouts.scripted_http.extend(callouts.http);
        state.callouts.scripted_grpc.extend(callouts.grpc);
        let (vm, exports, roots) = Proxy::start_vm(pre, abi, state)?;
        Ok(Proxy {
            pre: pre.clone(),
            abi,
            settings,
            shared,
            host_id,
            vm,
            exports,
            next_context_id: roots.len() as u32 + 1,
            roots,
            reloads: 0,
            reload_backoffs: 0,
            last_load_ns: 0,
            reload_draws: 0,
        })
    }

    fn start_vm(
        pre: &InstancePre<VmState>,
        abi: AbiVersion,
        state: VmState,
    ) -> Result<(Vm<VmState>, Exports, Vec<u32>), HarnessError> {
        let plugins = state.settings.plugins.len();
        let deadline = state.settings.deadline;
        let (mut vm, mut exports) = Vm::instantiate(pre, abi, state, deadline)?;
        restrict_callbacks(&mut exports, &vm.store.data().settings);
        let mut roots = Vec::with_capacity(plugins);
        for plugin in 0..plugins {
            let root = plugin as u32 + 1;
            start_plugin(&mut vm, &exports, root, plugin)?;
            roots.push(root);
        }
        Ok((vm, exports, roots))
    }

    /// Before a new stream: under fail-reload, replace a VM that failed at run time with a
    /// fresh one — as Envoy's `PluginConfig::maybeReloadHandleIfNeeded`
    /// (source/extensions/common/wasm/wasm.cc) does: only a runtime failure is reloaded (not a
    /// failed start or configure), and at most once per backoff interval since the last load
    /// (`JitteredLowerBoundBackOffStrategy`: a fresh draw in [base, 1.5 × base) each time, base
    /// `reload_config.backoff.base_interval`, 1 s by default). Within the interval the stream is
    /// served by the failed VM, i.e. fails closed, and `vm_reload_backoff` counts it.
    pub(crate) fn before_stream(&mut self) -> Result<(), HarnessError> {
        self.run_events()?;
        let reloadable = self.vm.failure.as_ref().is_some_and(|f| {
            !matches!(
                f.kind,
                FailureKind::StartFailed | FailureKind::ConfigureFailed
            )
        });
        if reloadable && self.settings.failure_policy == FailurePolicy::FailReload {
            let now = self.vm.state().clock.elapsed_ns();
            let interval = self.next_reload_interval_ns();
            if now.saturating_sub(self.last_load_ns) < interval {
                self.reload_backoffs += 1;
                return Ok(());
            }
            self.last_load_ns = now;
            let mut state = VmState::new(
                self.host_id,
                self.settings.clone(),
                self.abi,
                self.shared.clone(),
            );
            state.carry_over(self.vm.state());
            let (vm, exports, roots) = Proxy::start_vm(&self.pre, self.abi, state)?;
            self.vm = vm;
            self.exports = exports;
            self.next_context_id = roots.len() as u32 + 1;
            self.roots = roots;
            self.reloads += 1;
        }
        Ok(())
    }

    /// The next reload interval: Envoy's `JitteredLowerBoundBackOffStrategy::nextBackOffMs`,
    /// `random % (base / 2) + base` milliseconds, drawn here from the host's random seed so a
    /// run is reproducible.
    fn next_reload_interval_ns(&mut self) -> u64 {
        let base_ms = (self.settings.reload_backoff.as_millis() as u64).max(2);
        self.reload_draws = self.reload_draws.wrapping_add(1);
        let mut rng = services::wasi::SeededRng::new(
            self.settings.random_seed ^ self.reload_draws.wrapping_mul(0x9E37_79B9_7F4A_7C15),
        );
        let mut bytes = [0u8; 8];
        rng.fill(&mut bytes);
        let jitter_ms = u64::from_le_bytes(bytes) % (base_ms >> 1).max(1);
        (base_ms + jitter_ms).saturating_mul(1_000_000)
    }

    /// The VM id.
    pub(crate) fn vm_id(&self) -> &str {
        &self.settings.vm_id
    }

    /// Everything the VM logged, in order.
    pub(crate) fn logs(&self) -> &[LogEntry] {
        &self.vm.store.data().log.entries
    }

    /// Forgets the captured logs.
    pub(crate) fn clear_logs(&mut self) {
        self.vm.state().log.entries.clear();
    }

    /// The hostcall trace (empty unless tracing is on).
    pub(crate) fn trace(&self) -> &[String] {
        self.vm
            .store
            .data()
            .log
            .trace
            .as_deref()
            .unwrap_or_default()
    }

    /// Why the VM failed, if it did.
    pub(crate) fn failure(&self) -> Option<&VmFailure> {
        self.vm.failure.as_ref()
    }

    /// How many times fail-reload replaced the VM.
    pub(crate) fn reloads(&self) -> u32 {
        self.reloads
    }

    /// How many streams found the failed VM inside the reload backoff (Envoy's
    /// `vm_reload_backoff`).
    pub(crate) fn reload_backoffs(&self) -> u32 {
        self.reload_backoffs
    }

    /// The fake clock: nanoseconds since the proxy was built.
    pub(crate) fn elapsed_ns(&self) -> u64 {
        self.vm.store.data().clock.elapsed_ns()
    }
}

/// Starts one plugin: root context `root`, on_context_create, on_vm_start, on_configure.
fn start_plugin(
    vm: &mut Vm<VmState>,
    exports: &Exports,
    root: u32,
    plugin: usize,
) -> Result<(), HarnessError> {
    let state = vm.state();
    state.contexts.insert(
        root,
        Context::Root(RootCtx {
            plugin,
            ..Default::default()
        }),
    );
    let root_id = state.settings.plugins[plugin].root_id.clone();
    let vm_config_size = state.settings.vm_config.len() as u32;
    let config = state.settings.plugins[plugin].config.clone();
    if let Some(f) = &exports.on_context_create {
        vm.call(
            "proxy_on_context_create",
            root,
            f,
            (root, 0),
            CallData::None,
        )
        .map_err(HarnessError::Trap)?;
    }
    if let Some(f) = &exports.on_vm_start {
        let ok = vm
            .call(
                "proxy_on_vm_start",
                root,
                f,
                (root, vm_config_size),
                CallData::None,
            )
            .map_err(HarnessError::Trap)?;
        if ok == 0 {
            vm.fail(
                FailureKind::StartFailed,
                "proxy_on_vm_start",
                format!("plugin {root_id:?}: proxy_on_vm_start returned false"),
            );
            return Err(HarnessError::StartFailed {
                root_id,
                logs: vm.store.data().log.entries.clone(),
            });
        }
    }
    if !configure(vm, exports, root, &root_id, config)? {
        return Err(HarnessError::ConfigureFailed {
            root_id,
            logs: vm.store.data().log.entries.clone(),
        });
    }
    Ok(())
}

/// Runs `proxy_on_configure(root, size)` with `config` readable as buffer 7. `Ok(false)`: it
/// returned false, and the VM is now failed (Envoy fails the plugin on that VM).
fn configure(
    vm: &mut Vm<VmState>,
    exports: &Exports,
    root: u32,
    root_id: &str,
    config: Vec<u8>,
) -> Result<bool, HarnessError> {
    let Some(f) = &exports.on_configure else {
        return Ok(true);
    };
    let size = config.len() as u32;
    let ok = vm
        .call(
            "proxy_on_configure",
            root,
            f,
            (root, size),
            CallData::Configure(config),
        )
        .map_err(HarnessError::Trap)?;
    if ok == 0 {
        vm.fail(
            FailureKind::ConfigureFailed,
            "proxy_on_configure",
            format!("plugin {root_id:?}: proxy_on_configure returned false"),
        );
    }
    Ok(ok != 0)
}

impl Proxy {
    /// Configures plugin `plugin` again, as Envoy does on each worker after the main thread's
    /// VM started (and on a configuration update), with `config` or the plugin's own. A
    /// failure here does not stop the host: the VM is failed (see [`Proxy::failure`]) and its
    /// streams get the failure policy, as on an Envoy worker.
    pub(crate) fn reconfigure(
        &mut self,
        plugin: usize,
        config: Option<Vec<u8>>,
    ) -> Result<bool, HarnessError> {
        let root = self.roots.get(plugin).copied().ok_or_else(|| {
            HarnessError::Usage(format!("no plugin number {plugin} on this host"))
        })?;
        if self.vm.failure.is_some() {
            return Ok(false);
        }
        let p = &self.settings.plugins[plugin];
        let root_id = p.root_id.clone();
        let config = config.unwrap_or_else(|| p.config.clone());
        match configure(&mut self.vm, &self.exports, root, &root_id, config) {
            Ok(ok) => Ok(ok),
            // A trap is a failed VM too; the caller reads it from `failure()`.
            Err(HarnessError::Trap(_)) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// How often the filter cleared the route cache.
    pub(crate) fn route_cache_clears(&self) -> u32 {
        self.vm.store.data().route_cache_clears
    }
}
