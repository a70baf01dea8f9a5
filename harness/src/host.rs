//! [`Host`] and its builder: one emulated Envoy VM (or worker) running a real module.

use crate::connection::TcpConnection;
use crate::envoy::Vm;
use crate::services::SharedState;
use crate::services::callouts::{
    GrpcCallRequest, GrpcResponse, HttpCallRequest, HttpCallResponse, ScriptedHttp,
};
use crate::services::properties::{PropertyTree, PropertyValue};
use crate::services::shared::{MetricValue, next_host_id};
use crate::state::{ForeignFunction, PluginSettings, Settings, VmState};
use crate::stream::{Exchange, HttpRequest, HttpResponse, HttpStream};
use crate::{HarnessError, LogEntry, LogLevel, Module, VmFailure};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

/// What happens to traffic once a plugin's VM has failed (Envoy's `failure_policy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FailurePolicy {
    /// Every HTTP stream gets a local reply 503 with an empty body and details
    /// `wasm_fail_stream`; connections are closed. Envoy's default.
    #[default]
    FailClosed,
    /// The plugin is skipped; traffic flows unchanged.
    FailOpen,
    /// A fresh VM is created for later streams (the failing stream itself fails closed).
    FailReload,
}

/// Builds a [`Host`]; see [`Host::builder`].
pub struct HostBuilder {
    module: Module,
    plugins: Vec<PluginSettings>,
    vm_id: String,
    vm_config: Vec<u8>,
    env: Vec<(String, String)>,
    clusters: HashSet<String>,
    properties: PropertyTree,
    foreign: HashMap<String, ForeignFunction>,
    failure_policy: FailurePolicy,
    memory_limit: usize,
    deadline: Duration,
    random_seed: u64,
    trace: bool,
    log_level: LogLevel,
    start_time: SystemTime,
    shared: Option<SharedState>,
    scripted_http: Vec<(String, ScriptedHttp)>,
    scripted_grpc: Vec<(String, GrpcResponse)>,
}

impl HostBuilder {
    fn first_plugin(&mut self) -> &mut PluginSettings {
        &mut self.plugins[0]
    }

    /// The first plugin's root id (default `""`, as when Envoy's `root_id` is unset).
    pub fn root_id(mut self, root_id: &str) -> Self {
        self.first_plugin().root_id = root_id.to_string();
        self
    }

    /// The first plugin's name (property `plugin_name`; default `"plugin"`).
    pub fn plugin_name(mut self, name: &str) -> Self {
        self.first_plugin().name = name.to_string();
        self
    }

    /// The first plugin's configuration (buffer 7, readable during on_configure).
    pub fn plugin_config(mut self, config: impl AsRef<[u8]>) -> Self {
        self.first_plugin().config = config.as_ref().to_vec();
        self
    }

    /// Adds another plugin (root context) on the same VM; plugins get root context ids 1, 2, …
    /// in the order added. Reach its streams with [`Host::http_stream_for`].
    pub fn add_plugin(
        mut self,
        root_id: &str,
        plugin_name: &str,
        config: impl AsRef<[u8]>,
    ) -> Self {
        self.plugins.push(PluginSettings {
            root_id: root_id.into(),
            name: plugin_name.into(),
            config: config.as_ref().to_vec(),
        });
        self
    }

    /// The VM id (shared data and queues are per vm_id; default `""`).
    pub fn vm_id(mut self, vm_id: &str) -> Self {
        self.vm_id = vm_id.to_string();
        self
    }

    /// The VM configuration (buffer 6; its size is passed to on_vm_start).
    pub fn vm_config(mut self, config: impl AsRef<[u8]>) -> Self {
        self.vm_config = config.as_ref().to_vec();
        self
    }

    /// An environment variable the module sees through WASI.
    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.env.push((key.into(), value.into()));
        self
    }

    /// Registers an upstream cluster name `proxy_http_call` and gRPC calls may use.
    pub fn cluster(mut self, name: &str) -> Self {
        self.clusters.insert(name.into());
        self
    }

    /// Sets a property by dotted path (`node.metadata.FOO`), overriding defaults.
    pub fn property(mut self, path: &str, value: impl Into<PropertyValue>) -> Self {
        self.properties.set(path, value.into());
        self
    }

    /// Registers a foreign function for `proxy_call_foreign_function`.
    pub fn foreign_function(
        mut self,
        name: &str,
        f: impl Fn(&[u8]) -> Result<Vec<u8>, crate::abi::Status> + Send + Sync + 'static,
    ) -> Self {
        self.foreign.insert(name.into(), Arc::new(f));
        self
    }

    /// The failure policy (default fail-closed).
    pub fn failure_policy(mut self, policy: FailurePolicy) -> Self {
        self.failure_policy = policy;
        self
    }

    /// Caps linear memory (default 1 GiB, Envoy's limit).
    pub fn memory_limit(mut self, bytes: usize) -> Self {
        self.memory_limit = bytes;
        self
    }

    /// The most one VM call may take before it is interrupted and the VM fails (default 1 s).
    pub fn deadline(mut self, deadline: Duration) -> Self {
        self.deadline = deadline;
        self
    }

    /// Seeds WASI `random_get` (default 0).
    pub fn random_seed(mut self, seed: u64) -> Self {
        self.random_seed = seed;
        self
    }

    /// Records every hostcall in Envoy's trace format (see [`Host::trace`]). Off by default:
    /// formatting costs time on the hot path.
    pub fn trace(mut self, on: bool) -> Self {
        self.trace = on;
        self
    }

    /// The log level (default trace): `proxy_get_log_level` reports it, and messages below
    /// it (from `proxy_log` or WASI stdout/stderr) are dropped as Envoy's logger drops them.
    pub fn log_level(mut self, level: LogLevel) -> Self {
        self.log_level = level;
        self
    }

    /// The wall-clock time the fake clock starts at (default: now).
    pub fn start_time(mut self, t: SystemTime) -> Self {
        self.start_time = t;
        self
    }

    /// Shares shared data, queues and metric values with other hosts built with the same
    /// [`SharedState`] (like Envoy's workers). Default: a private one.
    pub fn shared_state(mut self, shared: &SharedState) -> Self {
        self.shared = Some(shared.clone());
        self
    }

    /// Answers every HTTP callout to `cluster` with `response` (registers the cluster).
    pub fn script_http_response(mut self, cluster: &str, response: HttpCallResponse) -> Self {
        self.scripted_http
            .push((cluster.into(), ScriptedHttp::Respond(response)));
        self
    }

    /// Answers every gRPC call or stream to `cluster` with `response` (registers the cluster).
    pub fn script_grpc_response(mut self, cluster: &str, response: GrpcResponse) -> Self {
        self.scripted_grpc.push((cluster.into(), response));
        self
    }

    /// Instantiates the module, runs its start-up (`_initialize`/`main` or `_start`), then
    /// on_context_create, on_vm_start and on_configure for each plugin.
    ///
    /// Errors: [`HarnessError::StartFailed`] / [`HarnessError::ConfigureFailed`] when a plugin
    /// returns false (with the logs), [`HarnessError::Trap`] when one traps.
    pub fn build(self) -> Result<Host, HarnessError> {
        let settings = Arc::new(Settings {
            plugins: self.plugins,
            vm_id: self.vm_id,
            vm_config: self.vm_config,
            env: self.env,
            clusters: self.clusters,
            properties: self.properties,
            foreign: self.foreign,
            failure_policy: self.failure_policy,
            memory_limit: self.memory_limit,
            deadline: self.deadline,
            random_seed: self.random_seed,
            trace: self.trace,
            log_level: self.log_level,
            start_time: self.start_time,
        });
        let shared = self.shared.unwrap_or_default();
        let host_id = next_host_id();
        let mut state = VmState::new(host_id, settings.clone(), self.module.abi(), shared.clone());
        state.scripted_http.extend(self.scripted_http);
        state.scripted_grpc.extend(self.scripted_grpc);
        let (vm, exports, roots) = Host::start_vm(&self.module, state)?;
        Ok(Host {
            module: self.module,
            settings,
            shared,
            host_id,
            vm,
            exports,
            roots: roots.clone(),
            next_context_id: roots.len() as u32 + 1,
            reloads: 0,
        })
    }
}

/// One emulated Envoy VM running a real proxy-wasm module, driven from a test.
///
/// ```no_run
/// use wasme_harness::{Host, HttpRequest, HttpResponse, Module};
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let wasm = wasme_harness::build::build_filter("filters/add-header", None)?;
/// let module = Module::from_file(wasm)?;
/// let mut host = Host::builder(&module)
///     .root_id("add_header")
///     .plugin_config(r#"{"name": "x-demo", "value": "1"}"#)
///     .build()?;
/// let ex = host.http_exchange(&HttpRequest::get("/"), &HttpResponse::ok())?;
/// assert_eq!(ex.client_response.header("x-demo"), Some("1"));
/// # Ok(()) }
/// ```
pub struct Host {
    pub(crate) module: Module,
    pub(crate) settings: Arc<Settings>,
    pub(crate) shared: SharedState,
    pub(crate) host_id: u64,
    pub(crate) vm: Vm,
    pub(crate) exports: crate::envoy::Exports,
    pub(crate) roots: Vec<u32>,
    pub(crate) next_context_id: u32,
    reloads: u32,
}

impl std::fmt::Debug for Host {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Host")
            .field("abi", &self.module.abi())
            .field("vm_id", &self.settings.vm_id)
            .field("failure", &self.vm.failure)
            .finish_non_exhaustive()
    }
}

impl Host {
    /// Starts building a host for `module`.
    pub fn builder(module: &Module) -> HostBuilder {
        HostBuilder {
            module: module.clone(),
            plugins: vec![PluginSettings {
                root_id: String::new(),
                name: "plugin".into(),
                config: Vec::new(),
            }],
            vm_id: String::new(),
            vm_config: Vec::new(),
            env: Vec::new(),
            clusters: HashSet::new(),
            properties: PropertyTree::default(),
            foreign: HashMap::new(),
            failure_policy: FailurePolicy::FailClosed,
            memory_limit: 1 << 30,
            deadline: Duration::from_secs(1),
            random_seed: 0,
            trace: false,
            log_level: LogLevel::Trace,
            start_time: SystemTime::now(),
            shared: None,
            scripted_http: Vec::new(),
            scripted_grpc: Vec::new(),
        }
    }

    fn start_vm(
        module: &Module,
        state: VmState,
    ) -> Result<(Vm, crate::envoy::Exports, Vec<u32>), HarnessError> {
        let plugins = state.settings.plugins.len();
        let (mut vm, exports) = Vm::instantiate(module, state)?;
        let mut roots = Vec::with_capacity(plugins);
        for plugin in 0..plugins {
            let root = plugin as u32 + 1;
            vm.start_plugin(&exports, root, plugin)?;
            roots.push(root);
        }
        Ok((vm, exports, roots))
    }

    /// Before a new stream: under fail-reload, replace a failed VM with a fresh one.
    pub(crate) fn before_stream(&mut self) -> Result<(), HarnessError> {
        self.run_events()?;
        if self.vm.failure.is_some() && self.settings.failure_policy == FailurePolicy::FailReload {
            let mut state = VmState::new(
                self.host_id,
                self.settings.clone(),
                self.module.abi(),
                self.shared.clone(),
            );
            state.carry_over(self.vm.state());
            let (vm, exports, roots) = Host::start_vm(&self.module, state)?;
            self.vm = vm;
            self.exports = exports;
            self.next_context_id = roots.len() as u32 + 1;
            self.roots = roots;
            self.reloads += 1;
        }
        Ok(())
    }

    /// The module this host runs.
    pub fn module(&self) -> &Module {
        &self.module
    }

    /// A new HTTP stream on the first plugin (on_context_create runs now).
    pub fn http_stream(&mut self) -> Result<HttpStream<'_>, HarnessError> {
        self.http_stream_for(0)
    }

    /// A new HTTP stream on plugin number `plugin` (0 = the first; see
    /// [`HostBuilder::add_plugin`]).
    pub fn http_stream_for(&mut self, plugin: usize) -> Result<HttpStream<'_>, HarnessError> {
        let id = self.http_create(plugin)?;
        Ok(HttpStream::new(self, id))
    }

    /// Runs one whole exchange the way Envoy would: the request (headers, body, trailers) through
    /// the filter, then — unless it ended in a local reply or reset, or is still paused — the
    /// upstream `response` through it, then on_log, on_done, on_delete.
    pub fn http_exchange(
        &mut self,
        request: &HttpRequest,
        response: &HttpResponse,
    ) -> Result<Exchange, HarnessError> {
        let mut s = self.http_stream()?;
        s.send_request(request)?;
        if s.request_complete() {
            s.send_response(response)?;
        }
        s.into_exchange()
    }

    /// A new TCP connection on the first plugin (on_context_create runs now; call
    /// [`TcpConnection::new_connection`] next).
    pub fn tcp_connection(&mut self) -> Result<TcpConnection<'_>, HarnessError> {
        self.tcp_connection_for(0)
    }

    /// A new TCP connection on plugin number `plugin`.
    pub fn tcp_connection_for(&mut self, plugin: usize) -> Result<TcpConnection<'_>, HarnessError> {
        let id = self.tcp_create(plugin)?;
        Ok(TcpConnection::new(self, id))
    }

    /// Everything the VM logged (proxy_log, WASI stdout at info, stderr at error, and the
    /// host's own critical line when the VM fails), in order.
    pub fn logs(&self) -> &[LogEntry] {
        &self.vm.store.data().logs
    }

    /// The log entries at exactly `level`.
    pub fn logs_at(&self, level: LogLevel) -> Vec<LogEntry> {
        self.logs()
            .iter()
            .filter(|l| l.level == level)
            .cloned()
            .collect()
    }

    /// Forgets the captured logs.
    pub fn clear_logs(&mut self) {
        self.vm.state().logs.clear();
    }

    /// The hostcall trace (empty unless [`HostBuilder::trace`] is on): `[host->vm]` callbacks,
    /// `[vm->host] env.proxy_x(args) # decoded` and `[vm<-host] env.proxy_x return: N # NAME`.
    pub fn trace(&self) -> Vec<String> {
        self.vm.store.data().trace.clone().unwrap_or_default()
    }

    /// Why the VM failed, if it did (kept for good; under fail-reload, the last failure).
    pub fn failure(&self) -> Option<&VmFailure> {
        self.vm.failure.as_ref()
    }

    /// How many times fail-reload replaced the VM.
    pub fn reloads(&self) -> u32 {
        self.reloads
    }

    /// A metric's value by name: a counter's total, a gauge's value, or a histogram's number of
    /// samples.
    pub fn metric(&self, name: &str) -> Option<i64> {
        self.shared.lock().metric_values.get(name).map(|v| match v {
            MetricValue::Counter(c) => *c as i64,
            MetricValue::Gauge(g) => *g,
            MetricValue::Histogram(h) => h.len() as i64,
        })
    }

    /// Every metric by name.
    pub fn metrics(&self) -> BTreeMap<String, MetricValue> {
        self.shared
            .lock()
            .metric_values
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }

    /// Shared data of this host's vm_id: value and CAS.
    pub fn shared_data(&self, key: &str) -> Option<(Vec<u8>, u32)> {
        self.shared.get_shared_data(&self.settings.vm_id, key)
    }

    /// Writes shared data of this host's vm_id (Envoy's CAS rules).
    pub fn set_shared_data(
        &self,
        key: &str,
        value: &[u8],
        cas: u32,
    ) -> Result<(), crate::abi::Status> {
        self.shared
            .set_shared_data(&self.settings.vm_id, key, value, cas)
    }

    /// The shared state this host uses.
    pub fn shared_state(&self) -> &SharedState {
        &self.shared
    }

    /// Puts an item on a shared queue from outside the VM (notifying its root), then delivers
    /// pending notifications. `Err(NotFound)` for an unknown queue.
    pub fn enqueue(&mut self, queue_id: u32, data: &[u8]) -> Result<(), HarnessError> {
        self.shared
            .lock()
            .enqueue(queue_id, data)
            .map_err(|_| HarnessError::Usage(format!("no shared queue with id {queue_id}")))?;
        self.run_events()
    }

    /// The id of queue `name` of this host's vm_id, if registered.
    pub fn queue_id(&self, name: &str) -> Option<u32> {
        self.shared.lock().resolve_queue(&self.settings.vm_id, name)
    }

    /// Delivers what is pending for this host: queue notifications posted by other hosts,
    /// scripted answers.
    pub fn run_pending(&mut self) -> Result<(), HarnessError> {
        self.run_events()
    }

    /// HTTP callouts waiting for an answer, by token.
    pub fn pending_http_calls(&self) -> Vec<HttpCallRequest> {
        self.vm
            .store
            .data()
            .callouts
            .http
            .values()
            .map(|p| p.request.clone())
            .collect()
    }

    /// Answers HTTP callout `token`: on_http_call_response runs (with Envoy's effective-context
    /// rules, so the filter can continue or reply on its stream).
    pub fn respond_http_call(
        &mut self,
        token: u32,
        response: HttpCallResponse,
    ) -> Result<(), HarnessError> {
        self.answer_http(token, Some(response))
    }

    /// Fails HTTP callout `token` (reset): the filter sees `(token, 0, 0, 0)` and
    /// `proxy_get_status` = (11, "reset").
    pub fn fail_http_call(&mut self, token: u32) -> Result<(), HarnessError> {
        self.answer_http(token, None)
    }

    fn answer_http(
        &mut self,
        token: u32,
        answer: Option<HttpCallResponse>,
    ) -> Result<(), HarnessError> {
        if !self.vm.state().callouts.http.contains_key(&token) {
            return Err(HarnessError::Usage(format!(
                "no pending HTTP callout with token {token}"
            )));
        }
        self.vm
            .state()
            .events
            .push_back(crate::state::Event::HttpCallAnswer { token, answer });
        self.run_events()
    }

    /// Answers every later HTTP callout to `cluster` with `response` (registers the cluster).
    pub fn script_http_response(&mut self, cluster: &str, response: HttpCallResponse) {
        self.vm
            .state()
            .scripted_http
            .insert(cluster.into(), ScriptedHttp::Respond(response));
    }

    /// Fails every later HTTP callout to `cluster` (registers the cluster).
    pub fn script_http_failure(&mut self, cluster: &str) {
        self.vm
            .state()
            .scripted_http
            .insert(cluster.into(), ScriptedHttp::Fail);
    }

    /// gRPC calls and streams still open, by token.
    pub fn pending_grpc_calls(&self) -> Vec<GrpcCallRequest> {
        self.vm
            .store
            .data()
            .callouts
            .grpc
            .values()
            .map(|p| p.request.clone())
            .collect()
    }

    /// Answers gRPC call or stream `token`: a call gets on_grpc_receive (status 0) or
    /// on_grpc_close(status); a stream gets initial metadata, each message, trailing metadata
    /// and close.
    pub fn respond_grpc_call(
        &mut self,
        token: u32,
        response: GrpcResponse,
    ) -> Result<(), HarnessError> {
        if !self.vm.state().callouts.grpc.contains_key(&token) {
            return Err(HarnessError::Usage(format!(
                "no pending gRPC call with token {token}"
            )));
        }
        self.vm
            .state()
            .events
            .push_back(crate::state::Event::GrpcAnswer {
                token,
                answer: response,
            });
        self.run_events()
    }

    /// Answers every later gRPC call or stream to `cluster` (registers the cluster).
    pub fn script_grpc_response(&mut self, cluster: &str, response: GrpcResponse) {
        self.vm
            .state()
            .scripted_grpc
            .insert(cluster.into(), response);
    }

    /// Advances the fake clock: fires on_tick for each elapsed period and fails callouts whose
    /// timeout passed, in time order.
    pub fn advance_clock(&mut self, by: Duration) -> Result<(), HarnessError> {
        self.advance(by)
    }

    /// The fake clock: time elapsed since the host was built.
    pub fn elapsed(&self) -> Duration {
        Duration::from_nanos(self.vm.store.data().clock.elapsed_ns())
    }

    /// Calls the filter's `proxy_on_foreign_function(root, function_id, args_size)` on plugin
    /// `plugin`, with `args` in buffer 8.
    pub fn call_on_foreign_function(
        &mut self,
        plugin: usize,
        function_id: u32,
        args: &[u8],
    ) -> Result<(), HarnessError> {
        self.foreign_callback(plugin, function_id, args)
    }

    /// Shuts the plugins down (on_done on each root; on_delete once done).
    pub fn shutdown(&mut self) -> Result<(), HarnessError> {
        self.shutdown_roots()
    }

    /// The root context id of plugin number `plugin`.
    pub fn root_context_id(&self, plugin: usize) -> Option<u32> {
        self.roots.get(plugin).copied()
    }
}
