//! Checks on what the filter said and did: its log lines and its hostcall trace.

use super::mismatch::Mismatch;
use super::observation::Observation;
use crate::scenario::format::{Expect, LevelName};
use std::fmt::Write as _;

fn level_matches(want: Option<LevelName>, got: LevelName) -> bool {
    want.is_none_or(|w| w == got)
}

fn logs_context(logs: &[(LevelName, String)]) -> String {
    let mut ctx = String::from("    logs of the step:\n");
    if logs.is_empty() {
        ctx.push_str("      (none)\n");
    }
    for (level, msg) in logs {
        let _ = writeln!(ctx, "      [{level:?}] {msg}");
    }
    ctx
}

/// `logs` and `logs_absent`.
pub(super) fn check_logs(expect: &Expect, obs: &Observation, out: &mut Vec<Mismatch>) {
    for want in &expect.logs {
        let found = obs
            .logs
            .iter()
            .any(|(l, m)| level_matches(want.level, *l) && m.contains(want.contains.as_str()));
        if !found {
            let level = want
                .level
                .map_or(String::new(), |l| format!(" at level {l:?}"));
            out.push(
                Mismatch::new(
                    "logs",
                    format!("a line containing {:?}{level}", want.contains),
                    "no such line",
                )
                .with_context(logs_context(&obs.logs)),
            );
        }
    }
    for s in &expect.logs_absent {
        if let Some((_, line)) = obs.logs.iter().find(|(_, m)| m.contains(s.as_str())) {
            out.push(Mismatch::new(
                "logs_absent",
                format!("no line containing {s:?}"),
                format!("{line:?}"),
            ));
        }
    }
}

/// `trace` and `trace_absent`.
pub(super) fn check_trace(expect: &Expect, obs: &Observation, out: &mut Vec<Mismatch>) {
    let ctx = || {
        let mut c = String::from("    hostcall trace of the step (last 40 lines):\n");
        let skip = obs.trace.len().saturating_sub(40);
        for line in &obs.trace[skip..] {
            let _ = writeln!(c, "      {line}");
        }
        c
    };
    for s in &expect.trace {
        if !obs.trace.iter().any(|l| l.contains(s.as_str())) {
            out.push(
                Mismatch::new("trace", format!("a hostcall matching {s:?}"), "none")
                    .with_context(ctx()),
            );
        }
    }
    for s in &expect.trace_absent {
        if let Some(line) = obs.trace.iter().find(|l| l.contains(s.as_str())) {
            out.push(Mismatch::new(
                "trace_absent",
                format!("no hostcall matching {s:?}"),
                line.clone(),
            ));
        }
    }
}
