//! The configuration dry run: before any target's manifest is written, the image's own module
//! runs in the harness (`wasme-harness`, as `cargo wasme run` runs it) through `on_vm_start`
//! and `on_configure` with the exact bytes that target will hand the filter. A filter that
//! refuses them would fail closed in the mesh (every request a 503), so a refusal is an error
//! carrying the filter's log lines.
//!
//! The bytes are derived from the generated manifest itself ([`configs_of`]), with each
//! control plane's own encoding:
//!
//! | manifest | what the filter receives |
//! |---|---|
//! | Istio `WasmPlugin` / `TrafficExtension` | `pluginConfig` through `protomarshal.ToJSON` ([`go_json`], numbers as `float64`); nothing when it is absent or `{}` |
//! | Istio `EnvoyFilter` | the `StringValue` `configuration.value` (or the legacy `configuration` string), verbatim |
//! | Envoy Gateway `EnvoyExtensionPolicy` | each `spec.wasm[].config` as the API server's JSON (integers exact) |
//! | Higress `WasmPlugin` | `defaultConfig` plus `_rules_` merged as Higress's `convertIstioWasmPlugin` does, then Istio's encoding |
//! | plain Envoy bootstrap | the `StringValue` verbatim (the CLI passes it with [`TargetConfig::verbatim`]) |
//!
//! When Higress's merged configuration is refused, each match rule is tried on its own (the
//! default configuration plus that one rule) to name the rule at fault.
//!
//! Before any module runs, every configuration is checked against the configuration schema the
//! image records, when it records one ([`crate::config_schema`]): a violation names the JSON
//! pointer of the value at fault, and the dry run does not start.

use super::DeployError;
use super::go_json::{self, Numbers};
use super::k8s::{
    ENVOY_EXTENSION_POLICY, ENVOY_FILTER, HIGRESS_WASM_PLUGIN, TRAFFIC_EXTENSION, WASM_PLUGIN,
};
use crate::config_schema::{self, ConfigSchema};
use serde_json::{Map, Value};
use wasme_harness::{HarnessError, Host, LogEntry, Module};

/// One configuration a target hands the filter, and how the filter is started with it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TargetConfig {
    /// What hands it over, for messages (`WasmPlugin default/add-header`).
    pub what: String,
    /// The configuration bytes (`None`: the target passes no configuration).
    pub bytes: Option<Vec<u8>>,
    /// The root id the target starts the filter with.
    pub root_id: Option<String>,
    /// Further configurations tried only after a refusal, to say which part is at fault
    /// (Higress: one per match rule), with their labels.
    pub parts: Vec<(String, Vec<u8>)>,
}

impl TargetConfig {
    /// A configuration handed over verbatim (EnvoyFilter, plain Envoy's `StringValue`).
    pub fn verbatim(what: &str, config: &str, root_id: Option<&str>) -> Self {
        TargetConfig {
            what: what.to_owned(),
            bytes: (!config.is_empty()).then(|| config.as_bytes().to_vec()),
            root_id: root_id.map(str::to_owned),
            parts: Vec::new(),
        }
    }
}

fn str_at<'a>(v: &'a Value, pointer: &str) -> Option<&'a str> {
    v.pointer(pointer).and_then(Value::as_str)
}

fn label(doc: &Value) -> String {
    let kind = str_at(doc, "/kind").unwrap_or("resource");
    let name = str_at(doc, "/metadata/name").unwrap_or_default();
    match str_at(doc, "/metadata/namespace") {
        Some(ns) => format!("{kind} {ns}/{name}"),
        None => format!("{kind} {name}"),
    }
}

/// Istio's `pluginConfig` → bytes: nothing for an absent or empty object (Istio only sets the
/// configuration when the Struct has fields).
fn istio_bytes(config: Option<&Value>) -> Option<Vec<u8>> {
    match config {
        Some(Value::Object(map)) if !map.is_empty() => {
            Some(go_json::encode(&Value::Object(map.clone()), Numbers::Float64).into_bytes())
        }
        _ => None,
    }
}

/// Higress's merge of `defaultConfig` and `matchRules` into one `pluginConfig`
/// (`pkg/ingress/config/ingress_config.go`, `convertIstioWasmPlugin`): a rule's `config`
/// gains `_match_route_` (ingress), `_match_service_` and `_match_domain_` lists and is
/// appended to `_rules_`; a disabled rule is skipped; `defaultConfigDisable` drops the default.
/// `only` keeps just that rule (for attributing a refusal).
pub fn higress_plugin_config(spec: &Value, only: Option<usize>) -> Option<Map<String, Value>> {
    if let Some(Value::Object(direct)) = spec.get("pluginConfig") {
        return Some(direct.clone());
    }
    let disabled = |v: Option<&Value>| v.and_then(Value::as_bool) == Some(true);
    let mut config = match spec.get("defaultConfig") {
        Some(Value::Object(map)) if !disabled(spec.get("defaultConfigDisable")) => map.clone(),
        _ => Map::new(),
    };
    let rules = spec.get("matchRules").and_then(Value::as_array);
    let mut values = Vec::new();
    for (i, rule) in rules.into_iter().flatten().enumerate() {
        if only.is_some_and(|o| o != i) || disabled(rule.get("configDisable")) {
            continue;
        }
        let mut entry = match rule.get("config") {
            Some(Value::Object(map)) => map.clone(),
            _ => Map::new(),
        };
        for (field, key) in [
            ("ingress", "_match_route_"),
            ("service", "_match_service_"),
            ("domain", "_match_domain_"),
        ] {
            if let Some(Value::Array(items)) = rule.get(field)
                && !items.is_empty()
            {
                entry.insert(key.into(), Value::Array(items.clone()));
            }
        }
        values.push(Value::Object(entry));
    }
    if !values.is_empty() {
        config.insert("_rules_".into(), Value::Array(values));
    }
    Some(config)
}

/// The configurations a generated manifest hands its filter (none for resources that carry
/// no filter, such as the node cache's ConfigMap).
pub fn configs_of(doc: &Value) -> Vec<TargetConfig> {
    let what = label(doc);
    let spec = doc.get("spec").unwrap_or(&Value::Null);
    let plain = |bytes, root: Option<&str>| TargetConfig {
        what: what.clone(),
        bytes,
        root_id: root.map(str::to_owned),
        parts: Vec::new(),
    };
    if WASM_PLUGIN.matches_json(doc) {
        return vec![plain(
            istio_bytes(spec.get("pluginConfig")),
            str_at(spec, "/pluginName"),
        )];
    }
    if TRAFFIC_EXTENSION.matches_json(doc) {
        return vec![plain(
            istio_bytes(spec.pointer("/wasm/pluginConfig")),
            str_at(spec, "/wasm/pluginName"),
        )];
    }
    if HIGRESS_WASM_PLUGIN.matches_json(doc) {
        let merged = higress_plugin_config(spec, None).map(Value::Object);
        let rules = spec
            .get("matchRules")
            .and_then(Value::as_array)
            .map_or(0, Vec::len);
        let parts = if rules > 1 {
            (0..rules)
                .filter_map(|i| {
                    let one = higress_plugin_config(spec, Some(i))?;
                    let bytes = istio_bytes(Some(&Value::Object(one)))?;
                    Some((
                        format!("match rule {} (spec.matchRules[{i}])", i + 1),
                        bytes,
                    ))
                })
                .collect()
        } else {
            Vec::new()
        };
        return vec![TargetConfig {
            parts,
            ..plain(istio_bytes(merged.as_ref()), str_at(spec, "/pluginName"))
        }];
    }
    if ENVOY_EXTENSION_POLICY.matches_json(doc) {
        let wasm = spec.get("wasm").and_then(Value::as_array);
        return wasm
            .into_iter()
            .flatten()
            .enumerate()
            .map(|(i, w)| TargetConfig {
                what: format!("{what} (spec.wasm[{i}])"),
                bytes: w
                    .get("config")
                    .filter(|c| !c.is_null())
                    .map(|c| go_json::encode(c, Numbers::Int64OrFloat64).into_bytes()),
                root_id: str_at(w, "/rootID").map(str::to_owned),
                parts: Vec::new(),
            })
            .collect();
    }
    if ENVOY_FILTER.matches_json(doc) {
        let patches = spec.get("configPatches").and_then(Value::as_array);
        return patches
            .into_iter()
            .flatten()
            .filter_map(|p| {
                let value = p.pointer("/patch/value")?;
                let plugin = value
                    .pointer("/typedConfig/value/config")
                    .or_else(|| value.pointer("/config/config"))?;
                let config = match plugin.get("configuration") {
                    Some(Value::String(s)) => s.clone(),
                    Some(c) => str_at(c, "/value").unwrap_or_default().to_owned(),
                    None => String::new(),
                };
                Some(TargetConfig::verbatim(
                    &what,
                    &config,
                    str_at(plugin, "/rootId"),
                ))
            })
            .collect();
    }
    Vec::new()
}

/// Checks every configuration in `configs` against `schema` (the one the image records, if
/// any), then runs `module` through `on_vm_start` and `on_configure` with each. The first
/// refusal is an error carrying the schema's violations or the filter's log lines (and, for
/// Higress, which match rules are refused on their own).
pub fn check(
    module: &[u8],
    schema: Option<&ConfigSchema>,
    configs: &[TargetConfig],
) -> Result<(), DeployError> {
    if configs.is_empty() {
        return Ok(());
    }
    if let Some(schema) = schema {
        check_schema(schema, configs)?;
    }
    let module = Module::from_bytes(module).map_err(|e| DeployError::ConfigRefused {
        what: configs[0].what.clone(),
        reason: format!("the image's module cannot be loaded: {e}"),
        logs: Vec::new(),
    })?;
    for config in configs {
        if let Err((reason, logs)) =
            start(&module, config.root_id.as_deref(), config.bytes.as_deref())
        {
            let mut reason = reason;
            let culprits: Vec<&str> = config
                .parts
                .iter()
                .filter(|(_, bytes)| {
                    start(&module, config.root_id.as_deref(), Some(bytes)).is_err()
                })
                .map(|(label, _)| label.as_str())
                .collect();
            if !culprits.is_empty() {
                reason.push_str(&format!(" (refused on its own: {})", culprits.join(", ")));
            }
            return Err(DeployError::ConfigRefused {
                what: config.what.clone(),
                reason,
                logs,
            });
        }
    }
    Ok(())
}

/// The schema half of [`check`]: no module runs.
pub fn check_schema(schema: &ConfigSchema, configs: &[TargetConfig]) -> Result<(), DeployError> {
    for config in configs {
        let Some(bytes) = &config.bytes else { continue };
        if let Err(violations) = schema.check(bytes) {
            let rules = config
                .parts
                .iter()
                .filter(|(_, bytes)| schema.check(bytes).is_err())
                .map(|(label, _)| label.clone())
                .collect();
            return Err(DeployError::SchemaRejected {
                what: config.what.clone(),
                violations,
                rules,
            });
        }
    }
    Ok(())
}

/// A schema rejection of a FilterDeployment's configuration as a [`DeployError::Located`]
/// error at the value in its file (`spec.filter.config` plus the violation's pointer, as the
/// Istio and Envoy Gateway targets hand it over); `None` for any other error, a document with
/// no text of its own, or a value not found there (a configuration written as a string).
pub fn locate_rejection(
    error: &DeployError,
    doc: &super::yaml::Document,
    name: &str,
) -> Option<DeployError> {
    let DeployError::SchemaRejected { violations, .. } = error else {
        return None;
    };
    let first = violations.first()?;
    if doc.line == 0 {
        return None;
    }
    let tokens = first.path();
    let mut path = vec!["spec", "filter", "config"];
    path.extend(tokens.iter().map(String::as_str));
    let (line, column) = config_schema::locate_yaml(&doc.text, &path)?;
    Some(DeployError::Located {
        file: doc.source.clone(),
        line: doc.line + line - 1,
        column,
        message: format!(
            "FilterDeployment {name}: spec.filter.config{}: {error}",
            first.pointer
        ),
    })
}

/// One start-up; on failure, why and every line the filter logged.
fn start(
    module: &Module,
    root_id: Option<&str>,
    config: Option<&[u8]>,
) -> Result<(), (String, Vec<String>)> {
    let mut b = Host::builder(module);
    if let Some(r) = root_id {
        b = b.root_id(r);
    }
    if let Some(c) = config {
        b = b.plugin_config(c);
    }
    // `[error] …`, as `cargo wasme run` shows the filter's logs.
    let lines = |logs: &[LogEntry]| {
        logs.iter()
            .map(|l| {
                format!(
                    "[{}] {}",
                    format!("{:?}", l.level).to_lowercase(),
                    l.message
                )
            })
            .collect::<Vec<_>>()
    };
    match b.build() {
        Ok(_) => Ok(()),
        Err(HarnessError::ConfigureFailed { logs, .. }) => {
            Err(("its on_configure returned false".into(), lines(&logs)))
        }
        Err(HarnessError::StartFailed { logs, .. }) => {
            Err(("its on_vm_start returned false".into(), lines(&logs)))
        }
        Err(e) => Err((e.to_string(), Vec::new())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn higress_merge_follows_the_controller() {
        let spec = json!({
            "defaultConfig": {"name": "x-a", "value": "1"},
            "matchRules": [
                {"ingress": ["default/r"], "domain": ["a.example"], "config": {"value": "2"}},
                {"service": ["s.default.svc"], "config": {"value": "3"}, "configDisable": true},
            ]
        });
        let merged = Value::Object(higress_plugin_config(&spec, None).unwrap());
        assert_eq!(
            go_json::encode(&merged, Numbers::Float64),
            r#"{"_rules_":[{"_match_domain_":["a.example"],"_match_route_":["default/r"],"value":"2"}],"name":"x-a","value":"1"}"#
        );
    }

    #[test]
    fn empty_plugin_config_passes_nothing() {
        let doc = json!({"apiVersion": "extensions.istio.io/v1alpha1", "kind": "WasmPlugin",
            "metadata": {"name": "f"}, "spec": {"pluginConfig": {}}});
        assert_eq!(configs_of(&doc)[0].bytes, None);
    }
}
