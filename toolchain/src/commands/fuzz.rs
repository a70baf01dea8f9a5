//! `cargo wasme fuzz`: generated traffic through the module until an invariant breaks (then a
//! shrunk scenario file) or the limit is reached.

use super::args::TargetArgs;
use anyhow::{Context, bail};
use cargo_wasme::fuzz::Target;
use cargo_wasme::scenario::format::{Invariant, parse_duration};
use cargo_wasme::shell;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;
use wasme_harness::Module;
use wasme_harness::fuzz::{self, FuzzOptions, Limit, TrafficKind, UserInvariant};

/// Arguments of `cargo wasme fuzz`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Invariants (--invariant, repeatable, and the --scenario file's `invariants:`): \
upstream-has-header=NAME, upstream-lacks-header=NAME, client-has-header=NAME, no-5xx, \
no-local-reply. Always checked: no trap or VM failure, every stream deleted, no stream left \
paused, guest memory not growing, each callback within the harness's 1 s deadline (and each \
exchange within --fuel-budget).\n\nA failure is written as a scenario that `cargo wasme test` \
fails the same way: a leak as a step with `repeat:` and `guest_memory:`, an over-budget \
exchange with `instructions_at_most:`, a broken invariant with `invariants:`."
)]
pub struct FuzzArgs {
    /// The module and its plugin settings.
    #[command(flatten)]
    pub target: TargetArgs,
    /// Fuzz for this long (e.g. 30s, 2m).
    #[arg(long, value_parser = parse_duration, conflicts_with = "runs")]
    pub time: Option<Duration>,
    /// Fuzz this many exchanges [default: 100000].
    #[arg(long)]
    pub runs: Option<u64>,
    /// The seed: the same seed gives the same exchanges.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Generate gRPC requests (for gRPC filters).
    #[arg(long, conflicts_with = "tcp")]
    pub grpc: bool,
    /// Generate TCP byte streams (for network filters).
    #[arg(long)]
    pub tcp: bool,
    /// An invariant every exchange must keep; repeatable, added to the --scenario file's
    /// `invariants:` (see below).
    #[arg(long = "invariant", value_name = "RULE")]
    pub invariants: Vec<String>,
    /// Most wasm instructions one exchange may execute (runs the module metered, a little
    /// slower).
    #[arg(long, value_name = "N")]
    pub fuel_budget: Option<u64>,
    /// Where to write the shrunk scenario of a failure.
    #[arg(long, value_name = "FILE", default_value = "fuzz-finding.yaml")]
    pub output: PathBuf,
}

/// Runs `cargo wasme fuzz`.
pub fn fuzz(args: FuzzArgs) -> anyhow::Result<ExitCode> {
    let mut invariants = args
        .invariants
        .iter()
        .map(|i| UserInvariant::parse(i).map_err(anyhow::Error::msg))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let resolved = args.target.resolve()?;
    // The scenario's `invariants:` join the flags' (a rule given both ways counts once).
    for Invariant(rule) in resolved.scenario.iter().flat_map(|s| &s.invariants) {
        if !invariants.contains(rule) {
            invariants.push(rule.clone());
        }
    }
    if !invariants.is_empty() {
        let rules: Vec<String> = invariants.iter().map(ToString::to_string).collect();
        shell::note(format!("checking invariants: {}", rules.join(", ")));
    }
    let module = if args.fuel_budget.is_some() {
        Module::from_bytes_metered(&resolved.module.wasm)
    } else {
        Module::from_bytes(&resolved.module.wasm)
    }
    .context("loading the module")?;
    let target = Target {
        module,
        source: resolved.module.source,
        setup: resolved.setup,
        configs: resolved.configs,
    };
    let limit = match (args.time, args.runs) {
        (Some(t), _) => Limit::Time(t),
        (None, Some(n)) => Limit::Runs(n),
        (None, None) => Limit::Runs(100_000),
    };
    let options = FuzzOptions {
        seed: args.seed,
        limit,
        traffic: if args.grpc {
            TrafficKind::Grpc
        } else if args.tcp {
            TrafficKind::Tcp
        } else {
            TrafficKind::Http
        },
        config_variants: target.configs.len(),
        invariants,
        fuel_budget: args.fuel_budget,
        ..FuzzOptions::default()
    };
    let factory = |spec: &fuzz::HostSpec| target.host(spec);
    shell::status(
        "Fuzzing",
        format!(
            "{} configuration(s), seed {}, {}",
            target.configs.len(),
            args.seed,
            match limit {
                Limit::Runs(n) => format!("{n} exchanges"),
                Limit::Time(t) => format!("for {t:?}"),
            }
        ),
    );
    let report = fuzz::run(&factory, &options).context("fuzzing")?;
    if report.exchanges == 0 {
        bail!("no exchange ran, so nothing was checked: give a longer --time or more --runs");
    }
    let rate = report.exchanges_per_second();
    shell::status(
        "Finished",
        format!(
            "{} exchanges in {:.2}s ({rate:.0} exchanges/s), guest memory slope {:.2} bytes/exchange",
            report.exchanges,
            report.elapsed.as_secs_f64(),
            report.memory_slope
        ),
    );
    let Some(finding) = &report.finding else {
        shell::json(
            "fuzz-report",
            &serde_json::json!({
                "seed": report.seed,
                "exchanges": report.exchanges,
                "seconds": report.elapsed.as_secs_f64(),
                "exchanges_per_second": rate,
                "memory_slope_bytes_per_exchange": report.memory_slope,
                "finding": null,
            }),
        );
        shell::result(format!(
            "fuzz result: ok. {} exchanges, no invariant broken ({rate:.0} exchanges/s)",
            report.exchanges
        ));
        return Ok(ExitCode::SUCCESS);
    };
    cargo_wasme::fuzz::write_scenario(&args.output, &target, finding, args.seed)
        .with_context(|| format!("writing {}", args.output.display()))?;
    shell::error(
        format!(
            "exchange {} broke an invariant: {}",
            finding.case, finding.violation
        ),
        Some(&format!(
            "reproduce it with `cargo wasme test {}` (shrunk in {} step(s))",
            args.output.display(),
            finding.shrink_steps
        )),
    );
    if !shell::is_quiet() {
        if let Some(ex) = finding.steps.last() {
            shell::info(format!(
                "minimal exchange: {}",
                cargo_wasme::fuzz::summary(ex)
            ));
        }
        if let Some(p) = finding
            .logs
            .iter()
            .rev()
            .find(|l| l.level >= wasme_harness::LogLevel::Error)
            .filter(|l| !finding.violation.to_string().contains(l.message.trim()))
        {
            shell::info(format!("the filter logged: {}", p.message));
        }
    }
    shell::json(
        "fuzz-report",
        &serde_json::json!({
            "seed": report.seed,
            "exchanges": report.exchanges,
            "seconds": report.elapsed.as_secs_f64(),
            "exchanges_per_second": rate,
            "memory_slope_bytes_per_exchange": report.memory_slope,
            "finding": {
                "case": finding.case,
                "kind": finding.violation.kind(),
                "message": finding.violation.to_string(),
                "shrink_steps": finding.shrink_steps,
                "scenario": args.output.display().to_string(),
            },
        }),
    );
    shell::result(format!(
        "fuzz result: FAILED. {} at exchange {}; scenario written to {}",
        finding.violation.kind(),
        finding.case,
        args.output.display()
    ));
    Ok(ExitCode::FAILURE)
}
