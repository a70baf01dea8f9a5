//! Upstream clusters the filter may call with `http_call`, and their scripted answers.

use super::headers::Headers;
use schemars::JsonSchema;
use serde::Deserialize;
use serde::de::{self, Deserializer};
use std::collections::BTreeMap;

/// A cluster the filter may call with `http_call`, and how it answers. Neither `respond` nor
/// `fail`: callouts stay pending until their timeout (see `advance_clock`), when the filter
/// gets Envoy's answer to a timeout: `:status 504`, body `upstream request timeout`.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Cluster {
    /// Answer every callout with this response.
    #[serde(default)]
    pub respond: Option<CalloutResponse>,
    /// `true`: the cluster's upstream cannot be connected to; as in Envoy, every callout gets
    /// the router's answer `:status 503`, body `upstream connect error or disconnect/reset
    /// before headers. reset reason: connection failure`.
    #[serde(default)]
    pub fail: bool,
}

impl Cluster {
    /// Checks that `respond` and `fail` are not both given.
    pub fn check(&self) -> Result<(), String> {
        if self.fail && self.respond.is_some() {
            Err(
                "a cluster either responds or fails: give `respond` or `fail: true`, not both"
                    .into(),
            )
        } else {
            Ok(())
        }
    }
}

/// A scripted answer to HTTP callouts.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CalloutResponse {
    /// The `:status` of the answer (default 200).
    #[serde(default = "default_status")]
    pub status: u16,
    /// Response headers.
    #[serde(default)]
    pub headers: Headers,
    /// Response body.
    #[serde(default)]
    pub body: String,
    /// Response trailers.
    #[serde(default)]
    pub trailers: Headers,
}

pub(super) fn default_status() -> u16 {
    200
}

/// `deserialize_with` for a `clusters:` mapping: each cluster is [`Cluster::check`]ed, and an
/// error names the cluster (a check inside `Cluster`'s own `try_from` could not: serde does not
/// tell a value its key).
pub(super) fn checked_clusters<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<BTreeMap<String, Cluster>, D::Error> {
    let map = BTreeMap::<String, Cluster>::deserialize(d)?;
    for (name, c) in &map {
        c.check()
            .map_err(|e| de::Error::custom(format!("cluster {name:?}: {e}")))?;
    }
    Ok(map)
}
