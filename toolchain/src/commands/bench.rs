//! `cargo wasme bench`: what a filter costs per request, against a do-nothing filter in the
//! same run; `--baseline` turns it into a CI gate.

use super::args::TargetArgs;
use anyhow::{Context, bail};
use cargo_wasme::bench::{self, BenchOptions, Workload};
use cargo_wasme::shell;
use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `cargo wasme bench`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Without --scenario, one GET / answered 200 is measured. With it, every \
`request` step is. --baseline FILE takes what `cargo wasme bench --message-format json` printed \
before, and fails when instructions per request, memory per live stream or compiled size grew by \
more than --threshold (time is machine-dependent and only reported)."
)]
pub struct BenchArgs {
    /// The module and its plugin settings (and, with `--scenario`, the requests).
    #[command(flatten)]
    pub target: TargetArgs,
    /// A previous `--message-format json` output to compare with.
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,
    /// How much worse than the baseline fails, e.g. `10%` or `0.1`.
    #[arg(long, default_value = "10%", value_parser = parse_threshold)]
    pub threshold: f64,
    /// Timed requests per step.
    #[arg(long, default_value_t = 2000)]
    pub samples: usize,
}

fn parse_threshold(text: &str) -> Result<f64, String> {
    let t = text.trim();
    let (number, scale) = match t.strip_suffix('%') {
        Some(n) => (n, 0.01),
        None => (t, 1.0),
    };
    let v: f64 = number
        .trim()
        .parse()
        .map_err(|_| format!("{text:?} is not a threshold (write e.g. `10%` or `0.1`)"))?;
    if !(v * scale).is_finite() || v < 0.0 {
        return Err(format!("{text:?}: a threshold is a non-negative number"));
    }
    Ok(v * scale)
}

/// Runs `cargo wasme bench`.
pub fn bench(args: BenchArgs) -> anyhow::Result<ExitCode> {
    let baseline = match &args.baseline {
        Some(f) => {
            let text = std::fs::read_to_string(f)
                .with_context(|| format!("reading the baseline {}", f.display()))?;
            Some(bench::read_baseline(&text).with_context(|| {
                format!(
                    "{} holds no `bench-report` line: save the output of \
                     `cargo wasme bench --message-format json` as the baseline",
                    f.display()
                )
            })?)
        }
        None => None,
    };
    let resolved = args.target.resolve()?;
    let mut setup = resolved.setup.clone();
    setup.config = resolved.configs.first().cloned().flatten();
    let steps = match &resolved.scenario {
        Some(s) => bench::request_steps(s),
        None => Workload::default_get().steps,
    };
    if steps.is_empty() {
        bail!("the scenario has no `request` step to measure");
    }
    let workload = Workload { setup, steps };
    let options = BenchOptions {
        samples: args.samples.max(10),
        ..BenchOptions::default()
    };
    shell::status(
        "Benchmarking",
        format!(
            "{} step(s), {} requests each, against a do-nothing filter",
            workload.steps.len(),
            options.samples
        ),
    );
    let report = bench::run(&resolved.module.wasm, &workload, &options)?;
    bench::print(&report);
    shell::json("bench-report", &report);
    let Some(before) = baseline else {
        return Ok(ExitCode::SUCCESS);
    };
    let matched = report
        .steps
        .iter()
        .filter(|s| before.steps.iter().any(|b| b.name == s.name))
        .count();
    if matched == 0 {
        bail!(
            "no step of this run is in the baseline (steps are matched by name): nothing was compared"
        );
    }
    let regressions = bench::compare(&before, &report, args.threshold);
    shell::json(
        "bench-comparison",
        &serde_json::json!({
            "threshold": args.threshold,
            "steps_compared": matched,
            "regressions": regressions,
        }),
    );
    if regressions.is_empty() {
        shell::status(
            "Compared",
            format!(
                "{matched} step(s) with the baseline: nothing grew by more than {:.0}%",
                args.threshold * 100.0
            ),
        );
        return Ok(ExitCode::SUCCESS);
    }
    for r in &regressions {
        shell::error(
            format!("regression: {r}"),
            Some(&format!(
                "the baseline allows {:.0}%",
                args.threshold * 100.0
            )),
        );
    }
    Ok(ExitCode::FAILURE)
}
