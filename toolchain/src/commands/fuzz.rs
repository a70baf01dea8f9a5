//! `cargo wasme fuzz`: generated traffic through the stored module until an invariant breaks
//! (then a shrunk scenario file) or the limit is reached. Also home of the module resolution
//! `fuzz` and `bench` share: `[IMAGE|PATH|-p PKG]` and `--scenario`, resolved like `cargo wasme
//! run`/`test` do, through the one build pipeline.

use super::build::{CargoFlags, report_module};
use anyhow::{Context, bail};
use cargo_wasme::build::{ImageRequest, build_image};
use cargo_wasme::fuzz::Target;
use cargo_wasme::scenario::bridge::{PluginSetup, ScriptedAnswer};
use cargo_wasme::scenario::exec::plugin_setup;
use cargo_wasme::scenario::format::{Invariant, ModuleSource, Scenario, parse_duration};
use cargo_wasme::{scenario, shell};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;
use wasme_harness::Module;
use wasme_harness::fuzz::{self, FuzzOptions, Limit, TrafficKind, UserInvariant};

/// Which module, and how its plugin starts: the arguments `fuzz` and `bench` share.
#[derive(Debug, clap::Args)]
pub struct TargetArgs {
    /// A `.wasm` file, a filter crate directory, or an image in the local store [default: the
    /// crate in the current directory, or the scenario's module].
    #[arg(value_name = "IMAGE|PATH")]
    pub module: Option<String>,
    /// The workspace package to build.
    #[arg(short = 'p', long, value_name = "PKG", conflicts_with = "module")]
    pub package: Option<String>,
    /// A scenario file: its module (when none is given), root id, configuration, clusters,
    /// properties and environment (and, for `fuzz`, its invariants; for `bench`, its
    /// requests).
    #[arg(long, value_name = "FILE")]
    pub scenario: Option<PathBuf>,
    /// The root id [default: the scenario's, else the image's first].
    #[arg(long)]
    pub root_id: Option<String>,
    /// A plugin configuration; repeat it to fuzz several variants [default: the scenario's].
    #[arg(long = "config", value_name = "TEXT")]
    pub configs: Vec<String>,
    /// A cluster the filter may call (the fuzzer answers its callouts); repeatable.
    #[arg(long = "cluster", value_name = "NAME")]
    pub clusters: Vec<String>,
    /// How a crate is compiled.
    #[command(flatten)]
    pub cargo: CargoFlags,
}

/// The module bytes, where they came from, and the plugin settings.
pub struct Resolved {
    /// The module's bytes (the stored image's, or the pipeline's output).
    pub wasm: Vec<u8>,
    /// Where they came from, as a scenario names it.
    pub source: ModuleSource,
    /// The plugin settings.
    pub setup: PluginSetup,
    /// The configuration variants (at least one).
    pub configs: Vec<Option<Vec<u8>>>,
    /// The loaded scenario, if one was given.
    pub scenario: Option<Scenario>,
}

fn build_crate(
    cargo: &CargoFlags,
    dir: Option<PathBuf>,
    package: Option<String>,
) -> anyhow::Result<(Vec<u8>, PathBuf, Vec<String>)> {
    let built = build_image(&cargo.options(dir, package), &ImageRequest::default())?;
    if !shell::is_quiet() {
        report_module(&built);
    }
    shell::status(
        "Using",
        format!(
            "module {} = image {} as `cargo wasme build` stores it",
            built.module.digest, built.image.digest
        ),
    );
    Ok((
        built.module.bytes.clone(),
        built.module.path.clone(),
        built.root_ids,
    ))
}

fn absolute(p: &Path) -> PathBuf {
    p.canonicalize().unwrap_or_else(|_| p.to_path_buf())
}

/// Resolves `[IMAGE|PATH|-p PKG]` and `--scenario` the way `cargo wasme run`/`test` do.
pub fn resolve(args: &TargetArgs) -> anyhow::Result<Resolved> {
    let scenario = match &args.scenario {
        Some(f) => Some(scenario::parse::load(f)?),
        None => None,
    };
    let (wasm, source, root_ids) = match (&args.module, &args.package, &scenario) {
        (_, Some(pkg), _) => {
            let (bytes, path, roots) = build_crate(&args.cargo, None, Some(pkg.clone()))?;
            (bytes, ModuleSource::Path(path), roots)
        }
        (Some(m), None, _) => {
            let path = Path::new(m);
            if path.is_dir() || path.ends_with("Cargo.toml") {
                let (bytes, path, roots) =
                    build_crate(&args.cargo, Some(path.to_path_buf()), None)?;
                (bytes, ModuleSource::Path(path), roots)
            } else if path.is_file() {
                let bytes = std::fs::read(path).with_context(|| format!("reading {m}"))?;
                shell::status(
                    "Using",
                    format!(
                        "module sha256:{} from {m}",
                        cargo_wasme::reference::Digest::of(&bytes).hex()
                    ),
                );
                (bytes, ModuleSource::Path(absolute(path)), Vec::new())
            } else {
                let store = cargo_wasme::store::Store::open_default()?;
                let image = store.resolve(m).with_context(|| {
                    format!("{m:?} is not a .wasm file or crate directory, and no image of that name is in the local store")
                })?;
                shell::status(
                    "Using",
                    format!(
                        "module sha256:{} of image {}",
                        image.wasm_sha256,
                        image.short_reference()
                    ),
                );
                (
                    image.wasm().to_vec(),
                    ModuleSource::Image(m.clone()),
                    image.root_ids.clone(),
                )
            }
        }
        (None, None, Some(loaded)) => match &loaded.scenario.module {
            ModuleSource::Crate { dir, package } => {
                let dir = loaded.base_dir().join(dir);
                let (bytes, path, roots) = build_crate(&args.cargo, Some(dir), package.clone())?;
                (bytes, ModuleSource::Path(path), roots)
            }
            ModuleSource::Path(p) => {
                let path = absolute(&loaded.base_dir().join(p));
                let bytes =
                    std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
                (bytes, ModuleSource::Path(path), Vec::new())
            }
            ModuleSource::Image(r) => {
                let store = cargo_wasme::store::Store::open_default()?;
                let image = store.resolve(r)?;
                (
                    image.wasm().to_vec(),
                    ModuleSource::Image(r.clone()),
                    image.root_ids.clone(),
                )
            }
        },
        (None, None, None) => {
            let (bytes, path, roots) = build_crate(&args.cargo, None, None)?;
            (bytes, ModuleSource::Path(path), roots)
        }
    };
    let mut setup = scenario
        .as_ref()
        .map(|l| plugin_setup(&l.scenario))
        .unwrap_or_default();
    if args.root_id.is_some() {
        setup.root_id = args.root_id.clone();
    }
    if setup.root_id.is_none() {
        setup.root_id = root_ids.first().cloned();
    }
    for c in &args.clusters {
        if !setup.clusters.iter().any(|(n, _)| n == c) {
            setup.clusters.push((c.clone(), ScriptedAnswer::Pending));
        }
    }
    let configs = if args.configs.is_empty() {
        vec![setup.config.clone()]
    } else {
        args.configs
            .iter()
            .map(|c| Some(c.clone().into_bytes()))
            .collect()
    };
    Ok(Resolved {
        wasm,
        source,
        setup,
        configs,
        scenario: scenario.map(|l| l.scenario),
    })
}

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
    let resolved = resolve(&args.target)?;
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
        Module::from_bytes_metered(&resolved.wasm)
    } else {
        Module::from_bytes(&resolved.wasm)
    }
    .context("loading the module")?;
    let target = Target {
        module,
        source: resolved.source.clone(),
        setup: resolved.setup.clone(),
        configs: resolved.configs.clone(),
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
            shell::info(format!("minimal exchange: {}", summary(ex)));
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

/// One line saying what an exchange holds (the scenario file has it in full).
fn summary(ex: &wasme_harness::fuzz::Exchange) -> String {
    use wasme_harness::fuzz::Traffic;
    let bytes = |chunks: &[String]| chunks.iter().map(String::len).sum::<usize>();
    match &ex.traffic {
        Traffic::Http(h) => {
            let path: String = h.path.chars().take(40).collect();
            let path = if path.len() < h.path.len() {
                format!("{path}… ({} bytes)", h.path.len())
            } else {
                path
            };
            let longest = h.headers.iter().map(|(_, v)| v.len()).max().unwrap_or(0);
            format!(
                "{} {path}, {} header(s) (longest value {longest} bytes), body {} bytes in {} \
                 chunk(s), {} trailer(s), client {:?}, callouts answered {:?}",
                h.method,
                h.headers.len(),
                bytes(&h.body),
                h.body.len(),
                h.trailers.len(),
                h.client,
                h.callouts
            )
        }
        Traffic::Tcp(t) => format!(
            "a TCP connection of {} chunk(s), {} bytes{}",
            t.chunks.len(),
            t.chunks.iter().map(|(_, d)| d.len()).sum::<usize>(),
            if t.close { ", then closed" } else { "" }
        ),
    }
}
