//! What the builder fixed for a host's life: the plugins, the VM's configuration, the
//! environment, the failure policy and the limits.

use crate::abi::LogLevel;
use crate::values::{ConnectionInfo, PropertyTree};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

/// What happens to traffic once a plugin's VM has failed (Envoy's `failure_policy`; the
/// rules are `PluginConfig::createContext` and `maybeReloadHandleIfNeeded` in
/// source/extensions/common/wasm/wasm.cc and `CHECK_FAIL` in proxy-wasm-cpp-host).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FailurePolicy {
    /// Every HTTP stream gets a local reply 503 with an empty body and details
    /// `wasm_fail_stream`; connections are closed. Envoy's default.
    #[default]
    FailClosed,
    /// `failure_policy: FAIL_OPEN` (what Istio's `failStrategy: FAIL_OPEN` generates since 1.25):
    /// the stream or connection whose callback failed the VM is still failed as under
    /// [`FailClosed`](Self::FailClosed); later ones skip the plugin and flow unchanged.
    FailOpen,
    /// The deprecated `fail_open: true` field (Istio before 1.25): every stream continues
    /// without the plugin, the one whose callback failed included.
    LegacyFailOpen,
    /// `failure_policy: FAIL_RELOAD`: a fresh VM is created for a later stream once the reload
    /// backoff has passed (see [`HostBuilder::reload_backoff`](crate::HostBuilder::reload_backoff));
    /// the failing stream, and streams within the backoff, fail closed.
    FailReload,
}

impl FailurePolicy {
    /// Whether a failed plugin is skipped for a stream (`on_failed_vm`: the stream began after
    /// the VM had failed) rather than failing it.
    pub(crate) fn skips_plugin(self, on_failed_vm: bool) -> bool {
        match self {
            FailurePolicy::LegacyFailOpen => true,
            FailurePolicy::FailOpen => on_failed_vm,
            FailurePolicy::FailClosed | FailurePolicy::FailReload => false,
        }
    }
}

/// A foreign function a test registers: arguments in, result out (or a status).
pub(crate) type ForeignFunction =
    Arc<dyn Fn(&[u8]) -> Result<Vec<u8>, crate::abi::Status> + Send + Sync + 'static>;

/// One plugin (root context) on the VM.
#[derive(Debug, Clone)]
pub(crate) struct PluginSettings {
    pub root_id: String,
    pub name: String,
    pub config: Vec<u8>,
}

/// Everything the builder fixed; immutable for the host's life.
pub(crate) struct Settings {
    pub plugins: Vec<PluginSettings>,
    pub vm_id: String,
    pub vm_config: Vec<u8>,
    pub env: Vec<(String, String)>,
    pub clusters: HashSet<String>,
    pub properties: PropertyTree,
    pub connection: ConnectionInfo,
    pub foreign: HashMap<String, ForeignFunction>,
    pub failure_policy: FailurePolicy,
    pub memory_limit: usize,
    pub limits: crate::vm::HostLimits,
    pub deadline: Duration,
    pub random_seed: u64,
    pub trace: bool,
    pub log_level: LogLevel,
    pub start_time: std::time::SystemTime,
    /// Envoy's `reload_config.backoff.base_interval` (fail-reload).
    pub reload_backoff: Duration,
    /// Envoy's `allowed_capabilities`: empty allows everything.
    pub allowed_capabilities: HashSet<String>,
}

impl Settings {
    /// Whether the hostcall or callback `name` (`proxy_log`, `proxy_on_tick`) may be used
    /// (proxy-wasm-cpp-host `WasmBase::capabilityAllowed`).
    pub(crate) fn capability_allowed(&self, name: &str) -> bool {
        self.allowed_capabilities.is_empty() || self.allowed_capabilities.contains(name)
    }
}
