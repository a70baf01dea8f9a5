//! `cargo wasme fuzz`: flags only; the run is `cargo_wasme::fuzz::fuzz`.

use super::args::TargetArgs;
use cargo_wasme::fuzz::FuzzRequest;
use cargo_wasme::scenario::format::parse_duration;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

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
    let request = FuzzRequest {
        time: args.time,
        runs: args.runs,
        seed: args.seed,
        grpc: args.grpc,
        tcp: args.tcp,
        invariants: args.invariants,
        fuel_budget: args.fuel_budget,
        output: args.output,
    };
    // The invariants are parsed before the module is resolved (a misspelt rule costs no build).
    cargo_wasme::fuzz::check_invariants(&request.invariants)?;
    let passed = cargo_wasme::fuzz::fuzz(&request, args.target.resolve()?)?;
    Ok(crate::commands::exit(passed))
}
