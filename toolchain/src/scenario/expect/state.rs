//! Checks on the state after a step: metrics, shared data, and whether the stream was reset,
//! stalled, or the VM failed.

use super::mismatch::{Mismatch, quote};
use super::observation::Observation;
use crate::scenario::format::{Expect, FailedExpect};
use std::fmt::Write as _;

/// `metrics`: each named metric has the value.
pub(super) fn check_metrics(expect: &Expect, obs: &Observation, out: &mut Vec<Mismatch>) {
    for (name, want) in &expect.metrics {
        match obs.metrics.get(name) {
            Some(got) if got == want => {}
            got => {
                let mut ctx = String::from("    metrics:\n");
                for (k, v) in &obs.metrics {
                    let _ = writeln!(ctx, "      {k} = {v}");
                }
                if obs.metrics.is_empty() {
                    ctx.push_str("      (none defined)\n");
                }
                out.push(
                    Mismatch::new(
                        format!("metrics[{name:?}]"),
                        want.to_string(),
                        got.map_or("not defined".into(), |v| v.to_string()),
                    )
                    .with_context(ctx),
                );
            }
        }
    }
}

/// `shared_data`: each key has the value, or is not set.
pub(super) fn check_shared_data(expect: &Expect, obs: &Observation, out: &mut Vec<Mismatch>) {
    for (key, want) in &expect.shared_data {
        let got = obs.shared_data.get(key).cloned().flatten();
        let matches = match (want, &got) {
            (None, None) => true,
            (Some(w), Some(g)) => w.as_bytes() == g.as_slice(),
            _ => false,
        };
        if !matches {
            out.push(Mismatch::new(
                format!("shared_data[{key:?}]"),
                want.as_ref().map_or("not set".into(), |w| format!("{w:?}")),
                got.as_ref().map_or("not set".into(), |g| quote(g)),
            ));
        }
    }
}

/// `stream_reset`.
pub(super) fn check_reset(expect: &Expect, obs: &Observation, out: &mut Vec<Mismatch>) {
    if let Some(r) = &expect.stream_reset {
        let ok = match (r, &obs.reset) {
            (FailedExpect::Flag(want), got) => *want == got.is_some(),
            (FailedExpect::Message(s), Some(d)) => d.contains(s.as_str()),
            (FailedExpect::Message(_), None) => false,
        };
        if !ok {
            out.push(Mismatch::new(
                "stream_reset",
                match r {
                    FailedExpect::Flag(true) => "the stream was reset".to_string(),
                    FailedExpect::Flag(false) => "no reset".to_string(),
                    FailedExpect::Message(s) => format!("a reset with details containing {s:?}"),
                },
                obs.reset
                    .as_ref()
                    .map_or("no reset".to_string(), |d| format!("reset ({d})")),
            ));
        }
    }
}

/// `stalled`.
pub(super) fn check_stalled(expect: &Expect, obs: &Observation, out: &mut Vec<Mismatch>) {
    if let Some(want) = expect.stalled
        && want != obs.stalled
    {
        out.push(Mismatch::new(
            "stalled",
            want.to_string(),
            format!(
                "{} (the filter {} the stream)",
                obs.stalled,
                if obs.stalled {
                    "still held"
                } else {
                    "released"
                }
            ),
        ));
    }
}

/// `vm_failed`.
pub(super) fn check_vm_failed(expect: &Expect, obs: &Observation, out: &mut Vec<Mismatch>) {
    if let Some(f) = &expect.vm_failed {
        let ok = match (f, &obs.vm_failure) {
            (FailedExpect::Flag(want), got) => *want == got.is_some(),
            (FailedExpect::Message(s), Some(msg)) => msg.contains(s.as_str()),
            (FailedExpect::Message(_), None) => false,
        };
        if !ok {
            let expected = match f {
                FailedExpect::Flag(true) => "the VM has failed".to_string(),
                FailedExpect::Flag(false) => "the VM is healthy".to_string(),
                FailedExpect::Message(s) => {
                    format!("the VM failed with a message containing {s:?}")
                }
            };
            let actual = obs
                .vm_failure
                .as_ref()
                .map_or("the VM is healthy".to_string(), |m| format!("failed: {m}"));
            out.push(Mismatch::new("vm_failed", expected, actual));
        }
    }
}
