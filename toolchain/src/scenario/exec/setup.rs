//! Starting the plugin: the scenario's settings as the bridge's [`PluginSetup`], and the
//! `startup` expectation checked against how start-up went.

use super::report::{StepOutcome, StepReport};
use crate::scenario::bridge::{self, PluginSetup, ScriptedAnswer};
use crate::scenario::expect::{self, Mismatch, Observation};
use crate::scenario::format::{Cluster, Expect, FailurePolicyName, LevelName, LogExpect, Scenario};
use std::time::Duration;
use wasme_harness::HarnessError;

/// The module's log lines up to a start-up failure.
pub(super) fn startup_logs(err: &HarnessError) -> Vec<(LevelName, String)> {
    match err {
        HarnessError::StartFailed { logs, .. } | HarnessError::ConfigureFailed { logs, .. } => {
            bridge::log_lines(logs)
        }
        _ => Vec::new(),
    }
}

/// The report of the `startup` expectation: whether start-up failed as expected, and the
/// expected log lines.
pub(super) fn startup_step(
    want_fail: bool,
    want_logs: &[String],
    err: Option<&HarnessError>,
    logs: &[(LevelName, String)],
) -> StepReport {
    let mut mismatches = Vec::new();
    match (want_fail, err) {
        (true, None) => mismatches.push(Mismatch {
            field: "startup.fails".into(),
            expected: "on_vm_start or on_configure fails".into(),
            actual: "the plugin started".into(),
            context: None,
        }),
        (false, Some(e)) => mismatches.push(Mismatch {
            field: "startup.fails".into(),
            expected: "the plugin starts".into(),
            actual: e.to_string(),
            context: None,
        }),
        (true, Some(HarnessError::StartFailed { .. } | HarnessError::ConfigureFailed { .. })) => {}
        (true, Some(other)) => mismatches.push(Mismatch {
            field: "startup.fails".into(),
            expected: "on_vm_start or on_configure returns false".into(),
            actual: format!("the module could not be loaded: {other}"),
            context: None,
        }),
        (false, None) => {}
    }
    let expect = Expect {
        logs: want_logs
            .iter()
            .map(|s| LogExpect {
                level: None,
                contains: s.clone(),
            })
            .collect(),
        ..Default::default()
    };
    let obs = Observation {
        logs: logs.to_vec(),
        ..Default::default()
    };
    mismatches.extend(expect::check(&expect, &obs));
    StepReport {
        name: "startup".into(),
        outcome: if mismatches.is_empty() {
            StepOutcome::Passed
        } else {
            StepOutcome::Failed(mismatches)
        },
        duration: Duration::ZERO,
        trace: Vec::new(),
    }
}

/// The plugin settings of a scenario.
pub fn plugin_setup(s: &Scenario) -> PluginSetup {
    PluginSetup {
        root_id: s.root_id.clone(),
        plugin_name: s.plugin_name.clone(),
        vm_id: s.vm_id.clone(),
        config: s.config.as_ref().map(|c| c.0.clone().into_bytes()),
        vm_config: s.vm_config.as_ref().map(|c| c.0.clone().into_bytes()),
        env: s
            .env
            .iter()
            .map(|(k, v)| (k.clone(), v.0.clone()))
            .collect(),
        properties: s
            .properties
            .iter()
            .map(|(k, v)| (k.clone(), v.0.clone()))
            .collect(),
        clusters: s
            .clusters
            .iter()
            .map(|(name, c)| (name.clone(), scripted(c)))
            .collect(),
        worker_config: s.worker_config.as_ref().map(|c| c.0.clone().into_bytes()),
        trace: true,
        failure_policy: s.failure_policy.map(|p| match p {
            FailurePolicyName::FailClosed => wasme_harness::FailurePolicy::FailClosed,
            FailurePolicyName::FailOpen => wasme_harness::FailurePolicy::FailOpen,
            FailurePolicyName::LegacyFailOpen => wasme_harness::FailurePolicy::LegacyFailOpen,
            FailurePolicyName::FailReload => wasme_harness::FailurePolicy::FailReload,
        }),
    }
}

/// A cluster's scripted answer, as the bridge takes it.
pub(super) fn scripted(c: &Cluster) -> ScriptedAnswer {
    match (&c.respond, c.fail) {
        (_, true) => ScriptedAnswer::Fail,
        (Some(r), false) => ScriptedAnswer::Respond {
            status: r.status,
            headers: r.headers.0.clone(),
            body: r.body.clone().into_bytes(),
            trailers: r.trailers.0.clone(),
        },
        (None, false) => ScriptedAnswer::Pending,
    }
}
