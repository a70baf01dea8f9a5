//! `cargo wasme deploy envoy`: an Envoy v3 bootstrap that runs a filter, for people running
//! Envoy directly (no Istio).
//!
//! One listener (the user's address and port) with an HTTP connection manager whose filter
//! chain is the Wasm filter then the router; every request is routed to one upstream cluster
//! the user names. The module is loaded from a local file (exported from the local store).
//!
//! The bootstrap is built as JSON: Envoy's API has no maintained lightweight Rust crate (the
//! `envoy-types` crate is generated protobuf/prost code and serialises protobuf, not the
//! YAML Envoy reads), and this is one fixed shape.

use super::DeployError;
use super::names;
use serde_json::{Value, json};
use std::path::PathBuf;

/// Everything the bootstrap needs.
#[derive(Debug, Clone, PartialEq)]
pub struct EnvoyBootstrap {
    /// Filter name and VM id.
    pub id: String,
    /// Root id (none: the module's default root context).
    pub root_id: Option<String>,
    /// Configuration string handed to the filter.
    pub config: String,
    /// Absolute path of the `.wasm` module.
    pub wasm_path: PathBuf,
    /// Listener address (e.g. `0.0.0.0`).
    pub listen_address: String,
    /// Listener port.
    pub listen_port: u16,
    /// Name of the upstream cluster.
    pub upstream_name: String,
    /// Upstream `host:port`.
    pub upstream_address: String,
    /// Admin interface port on 127.0.0.1 (none: no admin interface).
    pub admin_port: Option<u16>,
    /// A network (TCP) filter instead of an HTTP filter.
    pub network: bool,
}

/// Splits `host:port` (`[v6]:port` too).
pub fn split_host_port(address: &str) -> Result<(String, u16), DeployError> {
    let bad = |reason: &str| {
        DeployError::Unsupported(format!(
            "invalid upstream address {address:?}: {reason} (expected HOST:PORT, e.g. 127.0.0.1:8080 or backend.local:80)"
        ))
    };
    let (host, port) = address.rsplit_once(':').ok_or_else(|| bad("no port"))?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if host.is_empty() {
        return Err(bad("no host"));
    }
    let port: u16 = port
        .parse()
        .map_err(|_| bad("the port is not a number from 1 to 65535"))?;
    if port == 0 {
        return Err(bad("port 0"));
    }
    Ok((host.to_owned(), port))
}

fn socket_address(address: &str, port: u16) -> Value {
    json!({"socket_address": {"address": address, "port_value": port}})
}

impl EnvoyBootstrap {
    /// The bootstrap as a JSON value (serialise it as YAML or JSON; Envoy reads both).
    pub fn to_value(&self) -> Result<Value, DeployError> {
        if self.id.is_empty() {
            return Err(DeployError::InvalidConfig("the filter id is empty".into()));
        }
        if self.upstream_name.is_empty() {
            return Err(DeployError::InvalidConfig(
                "the upstream cluster name is empty".into(),
            ));
        }
        if !self.wasm_path.is_absolute() {
            return Err(DeployError::InvalidConfig(format!(
                "the module path {} must be absolute (Envoy resolves relative paths against its own working directory)",
                self.wasm_path.display()
            )));
        }
        let (up_host, up_port) = split_host_port(&self.upstream_address)?;
        // An IP address gets a STATIC cluster; a name is resolved by DNS.
        let cluster_type = if up_host.parse::<std::net::IpAddr>().is_ok() {
            "STATIC"
        } else {
            names::validate_dns1123_subdomain("upstream host", &up_host.to_ascii_lowercase())?;
            "STRICT_DNS"
        };
        let mut plugin = serde_json::Map::new();
        plugin.insert("name".into(), json!(self.id));
        if let Some(root) = &self.root_id {
            plugin.insert("root_id".into(), json!(root));
        }
        plugin.insert(
            "configuration".into(),
            json!({"@type": "type.googleapis.com/google.protobuf.StringValue", "value": self.config}),
        );
        plugin.insert(
            "vm_config".into(),
            json!({
                "vm_id": self.id,
                "runtime": "envoy.wasm.runtime.v8",
                "code": {"local": {"filename": self.wasm_path.to_string_lossy()}},
            }),
        );
        let filters = if self.network {
            json!([
                {
                    "name": "envoy.filters.network.wasm",
                    "typed_config": {
                        "@type": "type.googleapis.com/envoy.extensions.filters.network.wasm.v3.Wasm",
                        "config": plugin,
                    },
                },
                {
                    "name": "envoy.filters.network.tcp_proxy",
                    "typed_config": {
                        "@type": "type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy",
                        "stat_prefix": "tcp",
                        "cluster": self.upstream_name,
                    },
                },
            ])
        } else {
            json!([{
                "name": "envoy.filters.network.http_connection_manager",
                "typed_config": {
                    "@type": "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
                    "stat_prefix": "ingress_http",
                    "route_config": {
                        "name": "local_route",
                        "virtual_hosts": [{
                            "name": "all",
                            "domains": ["*"],
                            "routes": [{"match": {"prefix": "/"}, "route": {"cluster": self.upstream_name}}],
                        }],
                    },
                    "http_filters": [
                        {
                            "name": "envoy.filters.http.wasm",
                            "typed_config": {
                                "@type": "type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm",
                                "config": plugin,
                            },
                        },
                        {
                            "name": "envoy.filters.http.router",
                            "typed_config": {"@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"},
                        },
                    ],
                },
            }])
        };
        let mut bootstrap = json!({
            "static_resources": {
                "listeners": [{
                    "name": "wasme_listener",
                    "address": socket_address(&self.listen_address, self.listen_port),
                    "filter_chains": [{"filters": filters}],
                }],
                "clusters": [{
                    "name": self.upstream_name,
                    "type": cluster_type,
                    "connect_timeout": "5s",
                    "load_assignment": {
                        "cluster_name": self.upstream_name,
                        "endpoints": [{"lb_endpoints": [{"endpoint": {"address": socket_address(&up_host, up_port)}}]}],
                    },
                }],
            },
        });
        if let (Some(port), Some(obj)) = (self.admin_port, bootstrap.as_object_mut()) {
            obj.insert(
                "admin".into(),
                json!({"address": socket_address("127.0.0.1", port)}),
            );
        }
        Ok(bootstrap)
    }

    /// The bootstrap as YAML.
    pub fn to_yaml(&self) -> Result<String, DeployError> {
        super::yaml::to_yaml(&self.to_value()?)
    }
}
