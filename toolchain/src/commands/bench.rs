//! `cargo wasme bench`: what a filter costs per request, against a do-nothing filter in the
//! same run; `--baseline` turns it into a CI gate.

use super::fuzz::{TargetArgs, resolve};
use anyhow::{Context, bail};
use cargo_wasme::bench::{self, BenchOptions, RequestStep, Workload, human_ns};
use cargo_wasme::scenario::format::{Action, Scenario};
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

fn steps_of(s: &Scenario) -> Vec<RequestStep> {
    s.steps
        .iter()
        .enumerate()
        .filter_map(|(i, step)| match &step.action {
            Action::Http { request, response } => {
                let mut rq = vec![
                    (":method".to_string(), request.method.clone()),
                    (":path".to_string(), request.path.clone()),
                    (":authority".to_string(), request.authority.clone()),
                    (":scheme".to_string(), request.scheme.clone()),
                ];
                rq.extend(request.headers.0.iter().cloned());
                let mut rs = vec![(":status".to_string(), response.status.to_string())];
                rs.extend(response.headers.0.iter().cloned());
                Some(RequestStep {
                    name: step
                        .name
                        .clone()
                        .unwrap_or_else(|| format!("step {}", i + 1)),
                    request_headers: rq,
                    request_body: request.body.clone().unwrap_or_default().into_bytes(),
                    response_headers: rs,
                    response_body: response.body.clone().unwrap_or_default().into_bytes(),
                })
            }
            Action::Check => None,
            other => {
                // Never a silent gap in the table: say which steps it leaves out.
                let what = match other {
                    Action::Connection(_) => "a TCP connection",
                    _ => "a clock advance (its on_tick cost)",
                };
                shell::warn(format!(
                    "{} is not measured: `bench` measures HTTP request steps, not {what}",
                    step.name
                        .clone()
                        .unwrap_or_else(|| format!("step {}", i + 1)),
                ));
                None
            }
        })
        .collect()
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
    let resolved = resolve(&args.target)?;
    let mut setup = resolved.setup.clone();
    setup.config = resolved.configs.first().cloned().flatten();
    let steps = match &resolved.scenario {
        Some(s) => steps_of(s),
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
    let report = bench::run(&resolved.wasm, &workload, &options)?;
    shell::result(format!(
        "module: cold compile {:.1} ms, {} KiB compiled code, {} KiB guest memory at start",
        report.compile_ms,
        report.compiled_bytes / 1024,
        report.startup_memory / 1024
    ));
    for step in &report.steps {
        shell::result(format!("\n{}", step.name));
        shell::result(format!(
            "  {:<26} {:>10} {:>10}   {:>10} {:>10}",
            "callback", "median", "p99", "do-nothing", "added"
        ));
        for c in &step.callbacks {
            shell::result(format!(
                "  {:<26} {:>10} {:>10}   {:>10} {:>10}",
                c.callback,
                human_ns(c.filter.median_ns),
                human_ns(c.filter.p99_ns),
                human_ns(c.baseline.median_ns),
                human_ns(c.filter.median_ns.saturating_sub(c.baseline.median_ns)),
            ));
        }
        shell::result(format!(
            "  {:<26} {:>10} {:>10}   {:>10} {:>10}",
            "whole request",
            human_ns(step.request.median_ns),
            human_ns(step.request.p99_ns),
            human_ns(step.baseline_request.median_ns),
            human_ns(step.added_median_ns().max(0) as u64),
        ));
        shell::result(format!(
            "  instructions per request: {} (do-nothing {}, added {})",
            step.instructions,
            step.baseline_instructions,
            step.added_instructions()
        ));
        shell::result(format!(
            "  guest memory per live stream: {} bytes (do-nothing {}, added {})",
            step.memory_per_stream,
            step.baseline_memory_per_stream,
            step.added_memory_per_stream()
        ));
    }
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
