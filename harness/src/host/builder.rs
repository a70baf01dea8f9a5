//! [`HostBuilder`]: everything fixed before a [`Host`] starts.

use super::{Host, Module};
use crate::abi::{LogLevel, Status};
use crate::envoy::services::callouts::{ScriptedHttp, Scripts};
use crate::envoy::settings::{ForeignFunction, PluginSettings, Settings};
use crate::envoy::{FailurePolicy, Proxy, SharedState};
use crate::values::PropertyValue;
use crate::values::{ConnectionInfo, GrpcResponse, HarnessError, HttpCallResponse};
use crate::values::{PropertyTree, parse_property_path};
use crate::vm::HostLimits;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

/// Builds a [`Host`]; see [`Host::builder`].
pub struct HostBuilder {
    module: Module,
    plugins: Vec<PluginSettings>,
    vm_id: String,
    vm_config: Vec<u8>,
    env: Vec<(String, String)>,
    clusters: HashSet<String>,
    properties: PropertyTree,
    connection: ConnectionInfo,
    /// Property paths that did not parse, reported by `build`.
    property_errors: Vec<String>,
    foreign: HashMap<String, ForeignFunction>,
    failure_policy: FailurePolicy,
    memory_limit: usize,
    limits: HostLimits,
    deadline: Duration,
    random_seed: u64,
    trace: bool,
    log_level: LogLevel,
    start_time: SystemTime,
    allowed_capabilities: HashSet<String>,
    reload_backoff: Duration,
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

    /// Sets a property by dotted path (`node.metadata.FOO`), overriding defaults. A segment
    /// that contains dots goes in square brackets:
    /// `metadata.filter_metadata[envoy.filters.http.lua].key` (see [`parse_property_path`];
    /// a path that does not parse makes [`build`](HostBuilder::build) fail). The connection
    /// properties (`source.address`, `source.port`, `destination.*`, `connection.id`,
    /// `connection.mtls`, `connection.requested_server_name`, `connection.tls_version`) set
    /// the host's [`ConnectionInfo`], so the related ones stay consistent.
    ///
    /// [`parse_property_path`]: crate::parse_property_path
    pub fn property(mut self, path: &str, value: impl Into<PropertyValue>) -> Self {
        match parse_property_path(path) {
            Ok(segments) => self = self.property_segments(&segments, value),
            Err(e) => self.property_errors.push(e),
        }
        self
    }

    /// Sets a property by its path segments, each taken as is (dots included):
    /// `&["metadata", "filter_metadata", "envoy.filters.http.lua", "key"]`.
    pub fn property_segments<S: AsRef<str>>(
        mut self,
        segments: &[S],
        value: impl Into<PropertyValue>,
    ) -> Self {
        let path: Vec<String> = segments.iter().map(|s| s.as_ref().to_string()).collect();
        let value = value.into();
        match crate::envoy::services::properties::apply_connection_property(
            &mut self.connection,
            &path,
            &value,
        ) {
            Ok(true) => {}
            Ok(false) => self.properties.set_segments(path, value),
            Err(e) => self.property_errors.push(e),
        }
        self
    }

    /// The downstream connection of every stream and network connection (the `source.*`,
    /// `destination.*` and `connection.*` properties; default client `127.0.0.1:54321`,
    /// listener `127.0.0.1:8080`, plain text). Override it per stream with
    /// [`HttpStream::set_connection`](crate::HttpStream::set_connection).
    pub fn connection(mut self, connection: ConnectionInfo) -> Self {
        self.connection = connection;
        self
    }

    /// Registers a foreign function for `proxy_call_foreign_function`. It takes precedence over
    /// Envoy's built-in function of the same name (`compress`, `uncompress`,
    /// `set_envoy_filter_state`, `declare_property`, `clear_route_cache`).
    pub fn foreign_function(
        mut self,
        name: &str,
        f: impl Fn(&[u8]) -> Result<Vec<u8>, Status> + Send + Sync + 'static,
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

    /// Bounds what the guest can make the host hold: tables, header maps, buffers, shared
    /// data, queues, metrics, filter state and logs (defaults: [`HostLimits::default`]).
    /// Crossing one fails the VM with [`FailureKind::HostLimit`](crate::FailureKind) and a
    /// message naming the limit; logs are truncated and capped instead.
    ///
    /// ```no_run
    /// # fn main() -> Result<(), wasme_harness::HarnessError> {
    /// use wasme_harness::{Host, HostLimits, Module};
    /// let module = Module::from_file("filter.wasm")?;
    /// let host = Host::builder(&module)
    ///     .limits(HostLimits { header_map_count: 200, ..HostLimits::default() })
    ///     .build()?;
    /// # drop(host); Ok(()) }
    /// ```
    pub fn limits(mut self, limits: HostLimits) -> Self {
        self.limits = limits;
        self
    }

    /// The most one VM call may take before it is interrupted and the VM fails (default 1 s).
    /// It covers the host's work for the call too: every hostcall checks it.
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

    /// The base of the fail-reload backoff (Envoy's `reload_config.backoff.base_interval`,
    /// default 1 s): after a runtime failure the VM is reloaded for a new stream only once
    /// [base, 1.5 × base) of fake-clock time has passed since it was last loaded; streams before
    /// that fail closed ([`Host::reload_backoffs`] counts them).
    pub fn reload_backoff(mut self, base: Duration) -> Self {
        self.reload_backoff = base;
        self
    }

    /// Restricts the module to these proxy-wasm capabilities, as Envoy's
    /// `capability_restriction_config.allowed_capabilities` does (proxy-wasm-cpp-host
    /// `WasmBase::registerCallbacks` / `getFunctions`): a hostcall not listed (`proxy_log`, …)
    /// answers INTERNAL_FAILURE without doing anything, and a callback not listed
    /// (`proxy_on_new_connection`, …) is never called. Default (nothing listed): everything is
    /// allowed. WASI functions are not restricted by the harness.
    pub fn allowed_capabilities<I, S>(mut self, names: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.allowed_capabilities = names.into_iter().map(Into::into).collect();
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
        if !self.property_errors.is_empty() {
            return Err(HarnessError::Usage(self.property_errors.join("; ")));
        }
        let settings = Arc::new(Settings {
            plugins: self.plugins,
            vm_id: self.vm_id,
            vm_config: self.vm_config,
            env: self.env,
            clusters: self.clusters,
            properties: self.properties,
            connection: self.connection,
            foreign: self.foreign,
            failure_policy: self.failure_policy,
            memory_limit: self.memory_limit,
            limits: self.limits,
            deadline: self.deadline,
            random_seed: self.random_seed,
            trace: self.trace,
            log_level: self.log_level,
            start_time: self.start_time,
            allowed_capabilities: self.allowed_capabilities,
            reload_backoff: self.reload_backoff,
        });
        let proxy = Proxy::start(
            self.module.instance_pre(),
            self.module.abi(),
            settings,
            self.shared.unwrap_or_default(),
            Scripts {
                http: self.scripted_http,
                grpc: self.scripted_grpc,
            },
        )?;
        Ok(Host {
            module: self.module,
            proxy,
        })
    }

    pub(super) fn new(module: &Module) -> HostBuilder {
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
            connection: ConnectionInfo::default(),
            property_errors: Vec::new(),
            foreign: HashMap::new(),
            failure_policy: FailurePolicy::FailClosed,
            memory_limit: 1 << 30,
            limits: HostLimits::default(),
            deadline: Duration::from_secs(1),
            random_seed: 0,
            trace: false,
            log_level: LogLevel::Trace,
            start_time: SystemTime::now(),
            allowed_capabilities: HashSet::new(),
            reload_backoff: Duration::from_secs(1),
            shared: None,
            scripted_http: Vec::new(),
            scripted_grpc: Vec::new(),
        }
    }
}
