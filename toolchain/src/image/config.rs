//! The config blobs: a normal OCI/Docker image config for the compat formats, the CNCF Wasm
//! artifact config, and the RFC 3339 `created` timestamp they carry; and where each format's
//! config blob records the filter's configuration schema ([`config_schema`]).

use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;

/// The image-config label (compat and Docker formats) holding the filter's configuration
/// schema as compact JSON text.
pub const CONFIG_SCHEMA_LABEL: &str = "io.wasme.config-schema";

/// The config-blob field (solo's `runtime-config.json`, the CNCF config) holding the filter's
/// configuration schema as a JSON object.
pub const CONFIG_SCHEMA_FIELD: &str = "configSchema";

/// `value` with every object's keys in sorted order, whatever order the JSON map keeps (with
/// serde_json's `preserve_order`, insertion order): the schema's bytes in the image depend on
/// the schema only.
pub(super) fn sorted(value: &Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            Value::Object(
                keys.into_iter()
                    .map(|k| (k.clone(), sorted(&map[k])))
                    .collect(),
            )
        }
        Value::Array(items) => Value::Array(items.iter().map(sorted).collect()),
        other => other.clone(),
    }
}

/// `epoch` (seconds) as an RFC 3339 UTC timestamp.
pub(super) fn rfc3339(epoch: u64) -> String {
    // Civil-from-days (Howard Hinnant's algorithm): a timestamp without pulling in a date crate.
    let days = (epoch / 86_400) as i64;
    let secs = epoch % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

/// Image config for the compat formats (a normal OCI/Docker image config).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct ImageConfig<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) created: Option<String>,
    pub(super) architecture: &'a str,
    pub(super) os: &'a str,
    pub(super) config: ImageConfigConfig,
    pub(super) rootfs: RootFs,
}

#[derive(Serialize)]
pub(super) struct ImageConfigConfig {
    #[serde(rename = "Labels", skip_serializing_if = "BTreeMap::is_empty")]
    pub(super) labels: BTreeMap<String, String>,
}

#[derive(Serialize)]
pub(super) struct RootFs {
    #[serde(rename = "type")]
    pub(super) kind: &'static str,
    pub(super) diff_ids: Vec<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct CncfConfig {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) created: Option<String>,
    pub(super) architecture: &'static str,
    pub(super) os: &'static str,
    pub(super) layer_digests: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) config_schema: Option<Value>,
}

/// JSON bytes of `value`.
pub(super) fn to_json<T: Serialize>(value: &T) -> Vec<u8> {
    // Our own plain structs of strings and numbers: serialisation cannot fail.
    serde_json::to_vec(value).unwrap_or_default()
}
