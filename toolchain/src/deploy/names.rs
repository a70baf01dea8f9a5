//! Kubernetes name and label validation.
//!
//! Hand-written because no maintained crate exposes the apimachinery validators
//! (`IsDNS1123Subdomain`, `IsQualifiedName`, `IsValidLabelValue`); `k8s-openapi` and `kube`
//! carry the types but leave validation to the API server. The rules below are the API
//! server's, so a manifest that passes here is not rejected for its names there.

use super::DeployError;
use std::collections::BTreeMap;

fn invalid(what: &'static str, value: &str, reason: impl Into<String>) -> DeployError {
    DeployError::InvalidName {
        what,
        value: value.to_owned(),
        reason: reason.into(),
    }
}

fn is_lower_alnum(c: char) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit()
}

/// Checks a DNS-1123 label (`[a-z0-9]([-a-z0-9]*[a-z0-9])?`, at most 63 characters): the rule
/// for namespaces.
pub fn validate_dns1123_label(what: &'static str, value: &str) -> Result<(), DeployError> {
    const RULE: &str = "use at most 63 lowercase letters, digits and '-', starting and ending with a letter or digit";
    if value.is_empty() || value.len() > 63 {
        return Err(invalid(what, value, RULE));
    }
    let ok = value.chars().all(|c| is_lower_alnum(c) || c == '-')
        && value.starts_with(is_lower_alnum)
        && value.ends_with(is_lower_alnum);
    if ok {
        Ok(())
    } else {
        Err(invalid(what, value, RULE))
    }
}

/// Checks a DNS-1123 subdomain (dot-separated labels, at most 253 characters): the rule for
/// most object names (WasmPlugin, EnvoyFilter, Secret, FilterDeployment).
pub fn validate_dns1123_subdomain(what: &'static str, value: &str) -> Result<(), DeployError> {
    const RULE: &str = "use at most 253 lowercase letters, digits, '-' and '.', starting and ending with a letter or digit";
    if value.is_empty() || value.len() > 253 {
        return Err(invalid(what, value, RULE));
    }
    let ok = value
        .chars()
        .all(|c| is_lower_alnum(c) || c == '-' || c == '.')
        && value.starts_with(is_lower_alnum)
        && value.ends_with(is_lower_alnum)
        && value
            .split('.')
            .all(|l| !l.is_empty() && l.starts_with(is_lower_alnum) && l.ends_with(is_lower_alnum));
    if ok {
        Ok(())
    } else {
        Err(invalid(what, value, RULE))
    }
}

/// `([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]`, the "name" part of a label key and a label value.
fn is_qualified_name_part(value: &str) -> bool {
    !value.is_empty()
        && value.len() <= 63
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        && value.starts_with(|c: char| c.is_ascii_alphanumeric())
        && value.ends_with(|c: char| c.is_ascii_alphanumeric())
}

/// Checks a label key: an optional DNS-subdomain prefix and `/`, then a name of at most 63
/// characters (`[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?`).
pub fn validate_label_key(key: &str) -> Result<(), DeployError> {
    let (prefix, name) = match key.split_once('/') {
        Some((prefix, name)) => (Some(prefix), name),
        None => (None, key),
    };
    if let Some(prefix) = prefix {
        validate_dns1123_subdomain("label key prefix", prefix)?;
    }
    if is_qualified_name_part(name) {
        Ok(())
    } else {
        Err(invalid(
            "label key",
            key,
            "the name part must be 1-63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit (an optional DNS prefix goes before a '/')",
        ))
    }
}

/// Checks a label value: empty, or at most 63 letters, digits, `-`, `_`, `.`, starting and
/// ending with a letter or digit.
pub fn validate_label_value(value: &str) -> Result<(), DeployError> {
    if value.is_empty() || is_qualified_name_part(value) {
        Ok(())
    } else {
        Err(invalid(
            "label value",
            value,
            "use at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit",
        ))
    }
}

/// Checks every key and value of a label map.
pub fn validate_labels(labels: &BTreeMap<String, String>) -> Result<(), DeployError> {
    for (k, v) in labels {
        validate_label_key(k)?;
        validate_label_value(v)?;
    }
    Ok(())
}

/// The filter id `deploy` uses when none is given: the image repository's last path segment,
/// lower-cased, `_` turned into `-`.
///
/// ```
/// let id = cargo_wasme::deploy::names::filter_id_for_image("ghcr.io/acme/add_header:v1").unwrap();
/// assert_eq!(id, "add-header");
/// ```
pub fn filter_id_for_image(image: &str) -> Result<String, DeployError> {
    let parsed = super::resolve::parse_image(image)?;
    let id = parsed
        .repository()
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase()
        .replace('_', "-");
    validate_dns1123_subdomain("filter id", &id)?;
    Ok(id)
}

/// Parses `k=v,k2=v2` (the `--labels` flag) into a validated map. An empty string is no labels.
///
/// ```
/// let labels = cargo_wasme::deploy::names::parse_labels("app=reviews,version=v1").unwrap();
/// assert_eq!(labels["app"], "reviews");
/// assert!(cargo_wasme::deploy::names::parse_labels("app").is_err());
/// ```
pub fn parse_labels(value: &str) -> Result<BTreeMap<String, String>, DeployError> {
    let mut labels = BTreeMap::new();
    if value.trim().is_empty() {
        return Ok(labels);
    }
    for pair in value.split(',') {
        let pair = pair.trim();
        let Some((k, v)) = pair.split_once('=') else {
            return Err(DeployError::InvalidLabels {
                value: value.to_owned(),
                reason: format!("{pair:?} has no '='"),
            });
        };
        let (k, v) = (k.trim(), v.trim());
        validate_label_key(k)?;
        validate_label_value(v)?;
        if labels.insert(k.to_owned(), v.to_owned()).is_some() {
            return Err(DeployError::InvalidLabels {
                value: value.to_owned(),
                reason: format!("key {k:?} is given twice"),
            });
        }
    }
    Ok(labels)
}

/// Formats labels as a Kubernetes label selector (`k=v,k2=v2`), the inverse of [`parse_labels`].
pub fn label_selector(labels: &BTreeMap<String, String>) -> String {
    labels
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(",")
}
