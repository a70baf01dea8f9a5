//! `cargo wasme bench`: flags only; the measurement and the `--baseline` gate are
//! `cargo_wasme::bench::bench`.

use super::args::TargetArgs;
use cargo_wasme::bench;
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
    #[arg(long, default_value = "10%", value_parser = bench::parse_threshold)]
    pub threshold: f64,
    /// Timed requests per step (after a tenth as many untimed ones, at most 200).
    #[arg(long, default_value_t = 2000)]
    pub samples: usize,
}

/// Runs `cargo wasme bench`.
pub fn bench(args: BenchArgs) -> anyhow::Result<ExitCode> {
    let baseline = args
        .baseline
        .as_deref()
        .map(bench::load_baseline)
        .transpose()?;
    let resolved = args.target.resolve()?;
    let passed = bench::bench(resolved, baseline, args.threshold, args.samples)?;
    Ok(crate::commands::exit(passed))
}
