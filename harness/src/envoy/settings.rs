//! What the builder fixed for a host's life: the plugins, the VM's configuration, the
//! environment, the failure policy and the limits.

use crate::abi::LogLevel;
use crate::values::{ConnectionInfo, PropertyTree};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

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
}
