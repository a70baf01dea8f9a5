//! The results of running scenarios, and how they are shown in a terminal.

use super::super::expect::Mismatch;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How one step ended.
#[derive(Debug, Clone)]
pub enum StepOutcome {
    /// Every expectation held.
    Passed,
    /// Some expectations did not hold.
    Failed(Vec<Mismatch>),
    /// The step could not run (e.g. the harness refused the request).
    Error(String),
    /// Not run, and why (start-up failed, an earlier step could not run, …). A step that did
    /// not run was not checked, so it never counts as passed: it is reported as an error.
    NotRun(String),
}

/// The result of one step.
#[derive(Debug, Clone)]
pub struct StepReport {
    /// The step's name.
    pub name: String,
    /// How it ended.
    pub outcome: StepOutcome,
    /// How long it took.
    pub duration: Duration,
    /// The hostcall trace of the step (kept for failing steps only).
    pub trace: Vec<String>,
}

/// The result of one scenario file.
#[derive(Debug, Clone)]
pub struct ScenarioReport {
    /// The scenario's name.
    pub name: String,
    /// Its file.
    pub file: PathBuf,
    /// Why the scenario could not start (bad file, module not found, start-up failed).
    pub setup_error: Option<String>,
    /// Every step, in order (a `startup` expectation is the first).
    pub steps: Vec<StepReport>,
    /// How long the scenario took, module build and compilation included.
    pub duration: Duration,
    /// The root id the plugin was started with and where it came from (`None`: the scenario
    /// stopped before the plugin was configured).
    pub root_id: Option<super::RootIdChoice>,
    pub(super) trace_on_failure: bool,
}

impl ScenarioReport {
    /// A report for a file that could not be read or parsed.
    pub fn invalid(file: &Path, error: &str) -> Self {
        ScenarioReport {
            name: file.display().to_string(),
            file: file.to_path_buf(),
            setup_error: Some(error.to_string()),
            steps: Vec::new(),
            duration: Duration::ZERO,
            root_id: None,
            trace_on_failure: false,
        }
    }

    /// Whether the scenario passed: it started and no step failed.
    pub fn passed(&self) -> bool {
        self.setup_error.is_none()
            && self
                .steps
                .iter()
                .all(|s| matches!(s.outcome, StepOutcome::Passed))
    }

    /// Test cases in a JUnit report (the steps, plus one for a setup error).
    pub fn testcase_count(&self) -> usize {
        self.steps.len() + usize::from(self.setup_error.is_some())
    }

    /// Steps whose expectations failed.
    pub fn failure_count(&self) -> usize {
        self.steps
            .iter()
            .filter(|s| matches!(s.outcome, StepOutcome::Failed(_)))
            .count()
    }

    /// Steps that could not run or were not run, plus a setup error.
    pub fn error_count(&self) -> usize {
        self.steps
            .iter()
            .filter(|s| matches!(s.outcome, StepOutcome::Error(_) | StepOutcome::NotRun(_)))
            .count()
            + usize::from(self.setup_error.is_some())
    }

    /// Renders the report for a terminal: one line per step, details for failures.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let verdict = if self.passed() { "ok" } else { "FAILED" };
        let _ = writeln!(
            out,
            "scenario {} ({}) ... {verdict} [{:.2}s]",
            self.name,
            self.file.display(),
            self.duration.as_secs_f64()
        );
        if let Some(e) = &self.setup_error {
            for (i, line) in e.lines().enumerate() {
                let prefix = if i == 0 { "error: " } else { "" };
                let _ = writeln!(out, "  {prefix}{line}");
            }
        }
        for (i, s) in self.steps.iter().enumerate() {
            let mark = match &s.outcome {
                StepOutcome::Passed => "ok",
                StepOutcome::Failed(_) => "FAILED",
                StepOutcome::Error(_) => "ERROR",
                StepOutcome::NotRun(_) => "NOT RUN",
            };
            let _ = writeln!(out, "  step {}: {} ... {mark}", i + 1, s.name);
            match &s.outcome {
                StepOutcome::Failed(ms) => {
                    for m in ms {
                        for line in m.render().lines() {
                            let _ = writeln!(out, "    {line}");
                        }
                    }
                }
                StepOutcome::Error(e) => {
                    for line in e.lines() {
                        let _ = writeln!(out, "    {line}");
                    }
                }
                StepOutcome::NotRun(why) => {
                    for (i, line) in why.lines().enumerate() {
                        let prefix = if i == 0 { "not checked: " } else { "" };
                        let _ = writeln!(out, "    {prefix}{line}");
                    }
                }
                StepOutcome::Passed => {}
            }
            if self.trace_on_failure
                && !matches!(s.outcome, StepOutcome::Passed)
                && !s.trace.is_empty()
            {
                let _ = writeln!(out, "    hostcall trace:");
                for line in &s.trace {
                    let _ = writeln!(out, "      {line}");
                }
            }
        }
        out
    }
}
