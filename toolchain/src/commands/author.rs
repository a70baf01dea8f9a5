//! CLI glue: the authoring commands `init`, `run` and `test`.

use super::build::{CargoFlags, report_module};
use anyhow::{Context, bail};
use cargo_wasme::build::{BuiltImage, ImageRequest, build_image};
use cargo_wasme::init::{self, Dependencies, InitOptions, Template};
use cargo_wasme::run::{RunOptions, TcpOptions};
use cargo_wasme::scenario::format::ModuleSource;
use cargo_wasme::scenario::{self, exec, parse};
use cargo_wasme::shell::{self, WithHelp};
use std::collections::HashMap;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

/// Arguments of `cargo wasme init`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Creates DIR with Cargo.toml, src/lib.rs (the filter, using wasme-sdk), \
tests/filter.rs (a harness test) and scenarios/*.yaml (for `cargo wasme test`).\n\
Then: cd DIR && cargo wasme test && cargo wasme build"
)]
pub struct InitArgs {
    /// The project directory to create (must be empty or absent).
    pub dir: PathBuf,
    /// The kind of filter (asked on a terminal when not given; `http` with --yes).
    #[arg(long, value_enum, alias = "kind")]
    pub template: Option<Template>,
    /// The crate name (default: the directory name).
    #[arg(long)]
    pub name: Option<String>,
    /// Never prompt: use the defaults for every choice not given.
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Point the dependencies at a wasme checkout (its root) with a `[patch.crates-io]`
    /// section, instead of the default (the checkout this binary was built from when it still
    /// exists, else crates.io). Delete the section to use the published crates.
    #[arg(long, value_name = "REPO", conflicts_with = "sdk_version")]
    pub sdk_path: Option<PathBuf>,
    /// Depend on this crates.io version of wasme-sdk and wasme-harness.
    #[arg(long, value_name = "VERSION")]
    pub sdk_version: Option<String>,
}

/// Runs `cargo wasme init`.
pub fn init(args: InitArgs) -> anyhow::Result<ExitCode> {
    let interactive =
        !args.yes && std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
    let template = match args.template {
        Some(t) => t,
        None if interactive => {
            let choice = dialoguer::Select::new()
                .with_prompt("Which kind of filter?")
                .items([
                    "http     — HTTP filter (headers, bodies, local replies, callouts)",
                    "network  — network (TCP) filter (connection data, metrics)",
                ])
                .default(0)
                .interact()
                .context("reading your choice (use --template and --yes to skip the prompt)")?;
            if choice == 0 {
                Template::Http
            } else {
                Template::Network
            }
        }
        None => Template::Http,
    };
    let mut name = args.name.clone();
    // Checked before anything is written, as `cargo new` does; the error names a fixed name.
    let (given, flag) = match &name {
        Some(n) => (n.clone(), "--name"),
        None => (
            init::name_from_dir(&args.dir).unwrap_or_default(),
            "the directory name",
        ),
    };
    if let Err(e) = init::validate_name(&given) {
        let suggestion = match &e {
            init::InitError::BadName { suggestion, .. } => suggestion.clone(),
            _ => None,
        };
        if interactive && args.name.is_none() {
            let mut input = dialoguer::Input::new()
                .with_prompt(format!("{given:?} is not a valid crate name; crate name"))
                .validate_with(|s: &String| init::validate_name(s).map_err(|e| e.to_string()));
            if let Some(s) = &suggestion {
                input = input.default(s.clone());
            }
            let typed: String = input
                .interact_text()
                .context("reading the crate name (use --name to skip the prompt)")?;
            name = Some(typed);
        } else {
            let help = match suggestion {
                Some(s) if flag == "--name" => format!("use `--name {s}`"),
                Some(s) => {
                    format!("keep the directory and pass `--name {s}`, or name the directory `{s}`")
                }
                None => "pass --name with a lower-case name that starts with a letter, \
                         e.g. `--name my-filter`"
                    .to_string(),
            };
            return Err(e).help(help);
        }
    }
    let deps = match (args.sdk_path, args.sdk_version) {
        (Some(p), _) => {
            let root = p
                .canonicalize()
                .with_context(|| format!("--sdk-path {}", p.display()))?;
            if !root.join("sdk").join("Cargo.toml").is_file() {
                bail!(
                    "--sdk-path {}: no sdk/Cargo.toml there; give the root of a wasme checkout",
                    root.display()
                );
            }
            Dependencies::Repo(root)
        }
        (None, Some(v)) => Dependencies::Registry(v),
        (None, None) => Dependencies::detect(),
    };
    let written = init::generate(&InitOptions {
        dir: args.dir.clone(),
        name,
        template,
        deps,
    })
    .map_err(|e| match e {
        init::InitError::NotEmpty(_) => shell::with_help(
            e,
            "give a new directory; `init` never writes into one that has files",
        ),
        e => e.into(),
    })?;
    shell::status(
        "Created",
        format_args!(
            "{template} filter project in {} ({} files)",
            args.dir.display(),
            written.len()
        ),
    );
    for f in &written {
        shell::info(format_args!("  {}", f.display()));
    }
    shell::json(
        "project-created",
        &serde_json::json!({ "dir": args.dir, "template": template.to_string(), "files": written }),
    );
    shell::note(format_args!(
        "next:\n  cd {}\n  cargo wasme test        # run scenarios/*.yaml in the harness\n  cargo test              # the harness test in tests/\n  cargo wasme build       # build the OCI image",
        args.dir.display()
    ));
    Ok(ExitCode::SUCCESS)
}

/// Arguments of `cargo wasme run`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:\n  \
cargo wasme run target/wasm32-wasip1/release/f.wasm -X POST --path /api -H 'x-user: 1' --body hi\n  \
cargo wasme run f.wasm --config '{\"limit\":1}' --cluster auth=403:denied --trace\n  \
cargo wasme run tcp.wasm --tcp --body 'hello'\n  \
cargo wasme run localhost:5000/filters/f:1.0 --request-file req.yaml\n  \
cargo wasme run . --trace   # build the crate here (as `cargo wasme build` would) and run it")]
pub struct RunArgs {
    /// A `.wasm` file, a filter crate directory (built as `cargo wasme build` builds it), or an
    /// image reference in the local store.
    pub module: String,
    /// Request method.
    #[arg(long, short = 'X', default_value = "GET")]
    pub method: String,
    /// Request path.
    #[arg(long, default_value = "/")]
    pub path: String,
    /// Request authority (`:authority`).
    #[arg(long, default_value = "example.com")]
    pub authority: String,
    /// A request header `name: value` (repeatable).
    #[arg(long = "header", short = 'H', value_name = "NAME: VALUE")]
    pub headers: Vec<String>,
    /// The request body (for --tcp: the bytes the client sends).
    #[arg(long, short = 'd', conflicts_with = "body_file")]
    pub body: Option<String>,
    /// Read the request body from a file.
    #[arg(long, value_name = "FILE")]
    pub body_file: Option<PathBuf>,
    /// A request trailer `name: value` (repeatable).
    #[arg(long = "trailer", value_name = "NAME: VALUE")]
    pub trailers: Vec<String>,
    /// Read the request (method, path, authority, headers, body, trailers) from a YAML file in
    /// the scenario `request` format; flags given as well override it.
    #[arg(long, value_name = "FILE")]
    pub request_file: Option<PathBuf>,
    /// The upstream's response status.
    #[arg(long, default_value_t = 200)]
    pub response_status: u16,
    /// An upstream response header `name: value` (repeatable).
    #[arg(long = "response-header", value_name = "NAME: VALUE")]
    pub response_headers: Vec<String>,
    /// The upstream's response body (for --tcp: the bytes the upstream sends).
    #[arg(long)]
    pub response_body: Option<String>,
    /// The plugin configuration.
    #[arg(long, conflicts_with = "config_file")]
    pub config: Option<String>,
    /// Read the plugin configuration from a file.
    #[arg(long, value_name = "FILE")]
    pub config_file: Option<PathBuf>,
    /// The VM configuration.
    #[arg(long)]
    pub vm_config: Option<String>,
    /// The plugin's root id.
    #[arg(long)]
    pub root_id: Option<String>,
    /// An environment variable `KEY=VALUE` for the module (repeatable).
    #[arg(long = "env", value_name = "KEY=VALUE")]
    pub env: Vec<String>,
    /// A host property `dotted.path=value` (repeatable), e.g. `node.metadata.REGION=eu`; a
    /// segment containing dots goes in brackets: `metadata.filter_metadata[envoy.lua].k=v`.
    /// `source.address`, `source.port`, `destination.*` and `connection.*` set the connection.
    #[arg(long = "property", value_name = "PATH=VALUE")]
    pub properties: Vec<String>,
    /// The plugin configuration a worker configures the plugin with after start-up (Envoy
    /// configures every worker again); if the filter refuses it, the request meets the failure
    /// policy (fail-closed: 503).
    #[arg(long, value_name = "CONFIG")]
    pub worker_config: Option<String>,
    /// A cluster the filter may call: `NAME` (never answers: the callout times out with
    /// Envoy's 504), `NAME=STATUS[:BODY]`, `NAME=fail` (unreachable: Envoy's 503) or
    /// `NAME=reset` (the callout's stream is reset) (repeatable).
    #[arg(long = "cluster", value_name = "NAME[=STATUS[:BODY]]")]
    pub clusters: Vec<String>,
    /// Run a TCP connection through a network filter instead of an HTTP request.
    #[arg(long)]
    pub tcp: bool,
    /// Print the hostcall trace.
    #[arg(long)]
    pub trace: bool,
    /// The workspace package to build when MODULE is a crate directory.
    #[arg(short, long)]
    pub package: Option<String>,
    /// How a crate given as MODULE is compiled.
    #[command(flatten)]
    pub cargo: CargoFlags,
}

/// Builds a filter crate through the one pipeline (without storing it) and says which module
/// and image digest the command is about to use.
fn build_crate(
    cargo: &CargoFlags,
    dir: &Path,
    package: Option<String>,
) -> anyhow::Result<BuiltImage> {
    let built = build_image(
        &cargo.options(Some(dir.to_path_buf()), package),
        &ImageRequest::default(),
    )?;
    report_module(&built);
    shell::status(
        "Using",
        format_args!(
            "module {} = image {} as `cargo wasme build` stores it ({}, root ids {})",
            built.module.digest,
            built.image.digest,
            built.tag,
            built.root_ids.join(",")
        ),
    );
    Ok(built)
}

/// Says on stderr which module bytes `run` uses (a file's or a stored image's digest) and
/// returns what to load: the file, or the image's full digest when `arg` is a unique digest
/// prefix. When the argument resolves to neither, `run` itself reports why. The store is only
/// read, never created.
fn which_module(arg: &str) -> anyhow::Result<String> {
    if let Ok(bytes) = std::fs::read(arg) {
        shell::status(
            "Using",
            format_args!(
                "module sha256:{} from {arg}",
                cargo_wasme::reference::Digest::of(&bytes).hex()
            ),
        );
        return Ok(arg.to_string());
    }
    let Some(store) = cargo_wasme::store::Store::open_default_existing()? else {
        return Ok(arg.to_string());
    };
    let expanded = store.expand_prefix(arg)?;
    if let Ok(image) = store.resolve(&expanded) {
        shell::status(
            "Using",
            format_args!(
                "module sha256:{} of image {} ({}), image root ids {}",
                image.wasm_sha256,
                image.manifest_digest,
                image.short_reference(),
                image.root_ids.join(",")
            ),
        );
        // The verification gate (`sign`): with a key configured, only a verified digest runs.
        let policy = super::sign::global_policy()?;
        let gate = cargo_wasme::sign::verify::gate_store(&store, &expanded, &policy)
            .map_err(|e| anyhow::anyhow!("{e}; nothing was run"))?;
        if let Some(g) = gate {
            super::sign::report_gate(&expanded, &Some(g.clone()));
            return Ok(g.digest.to_string());
        }
    }
    Ok(expanded)
}

fn split_pair<'a>(s: &'a str, sep: char, what: &str) -> anyhow::Result<(&'a str, &'a str)> {
    let (k, v) = s
        .split_once(sep)
        .with_context(|| format!("{what} {s:?}: expected `NAME{sep}VALUE`"))?;
    Ok((k.trim(), v.trim_start()))
}

fn read_file(p: &Path, what: &str) -> anyhow::Result<Vec<u8>> {
    std::fs::read(p).with_context(|| format!("reading the {what} {}", p.display()))
}

/// Runs `cargo wasme run`.
pub fn run(args: RunArgs) -> anyhow::Result<ExitCode> {
    let mut request = match &args.request_file {
        Some(f) => cargo_wasme::run::load_request_file(f)?,
        None => cargo_wasme::run::default_request(),
    };
    if args.method != "GET" || args.request_file.is_none() {
        request.method = args.method.clone();
    }
    if args.path != "/" || args.request_file.is_none() {
        request.path = args.path.clone();
    }
    if args.authority != "example.com" || args.request_file.is_none() {
        request.authority = args.authority.clone();
    }
    for h in &args.headers {
        let (k, v) = split_pair(h, ':', "--header")?;
        let name = scenario::format::header_name(k).map_err(anyhow::Error::msg)?;
        request.headers.0.push((name, v.to_string()));
    }
    for h in &args.trailers {
        let (k, v) = split_pair(h, ':', "--trailer")?;
        let name = scenario::format::header_name(k).map_err(anyhow::Error::msg)?;
        request.trailers.0.push((name, v.to_string()));
    }
    let body: Option<Vec<u8>> = match (&args.body, &args.body_file) {
        (Some(b), _) => Some(b.clone().into_bytes()),
        (None, Some(f)) => Some(read_file(f, "body file")?),
        (None, None) => request.body.clone().map(String::into_bytes),
    };
    let mut response_headers = Vec::new();
    for h in &args.response_headers {
        let (k, v) = split_pair(h, ':', "--response-header")?;
        let name = scenario::format::header_name(k).map_err(anyhow::Error::msg)?;
        response_headers.push((name, v.to_string()));
    }
    let config = match (&args.config, &args.config_file) {
        (Some(c), _) => Some(c.clone().into_bytes()),
        (None, Some(f)) => Some(read_file(f, "configuration file")?),
        (None, None) => None,
    };
    let mut env = Vec::new();
    for e in &args.env {
        let (k, v) = split_pair(e, '=', "--env")?;
        env.push((k.to_string(), v.to_string()));
    }
    let mut properties = Vec::new();
    for p in &args.properties {
        let (k, v) = split_pair(p, '=', "--property")?;
        properties.push((k.to_string(), v.to_string()));
    }
    let mut clusters = Vec::new();
    for c in &args.clusters {
        clusters.push(cargo_wasme::run::parse_cluster_flag(c)?);
    }
    let module_path = Path::new(&args.module);
    let (module, built_image) = if module_path.is_dir() || module_path.ends_with("Cargo.toml") {
        let built = build_crate(&args.cargo, module_path, args.package.clone())?;
        let image = (built.tag.clone(), built.root_ids.clone());
        (built.module.path.display().to_string(), Some(image))
    } else {
        (which_module(&args.module)?, None)
    };
    let mut opts = RunOptions {
        module,
        request,
        body,
        response_status: args.response_status,
        response_headers,
        response_body: args.response_body.clone().map(String::into_bytes),
        config,
        vm_config: args.vm_config.clone().map(String::into_bytes),
        root_id: args.root_id.clone(),
        built_image,
        env,
        properties,
        clusters,
        worker_config: args.worker_config.as_ref().map(|c| c.clone().into_bytes()),
        tcp: args.tcp.then_some(TcpOptions {}),
        trace: args.trace,
    };
    // The root id deploy would give this image, said before the plugin starts (a wrong one is
    // the usual reason it refuses to).
    let root_id = cargo_wasme::run::root_id_for(&opts);
    shell::status("Root id", &root_id);
    opts.root_id = root_id.root_id;
    let outcome = cargo_wasme::run::run(&opts)?;
    print!("{}", outcome.render(args.trace));
    Ok(if outcome.vm_failed() {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// Arguments of `cargo wasme test`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Without SCENARIO arguments, runs scenarios/*.yaml and *.scenario.yaml \
files of the crate in the current directory (searched up to its Cargo.toml).\n\
Scenario format: see the README's \"Scenario files\" section and the JSON schema \
(`cargo wasme test --print-schema`)."
)]
pub struct TestArgs {
    /// Scenario files or directories holding them.
    pub scenarios: Vec<PathBuf>,
    /// Write a JUnit XML report to this file.
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// Run every scenario with this module instead of the one the file names.
    #[arg(long, value_name = "MODULE|IMAGE")]
    pub module: Option<String>,
    /// Print the hostcall trace of failing steps.
    #[arg(long)]
    pub trace: bool,
    /// Print the JSON schema of scenario files and exit.
    #[arg(long, exclusive = true)]
    pub print_schema: bool,
    /// How the filter crates scenarios name (`module: {crate: DIR}`) are compiled.
    #[command(flatten)]
    pub cargo: CargoFlags,
}

/// Prints one scenario's result: its text in human mode; with `--message-format json` one
/// `test-step` object per step, then a `test-scenario` object.
fn emit_report(report: &exec::ScenarioReport) {
    if !shell::is_json() {
        print!("{}", report.render());
        return;
    }
    for (i, step) in report.steps.iter().enumerate() {
        let (outcome, messages): (&str, Vec<String>) = match &step.outcome {
            exec::StepOutcome::Passed => ("passed", Vec::new()),
            exec::StepOutcome::Failed(ms) => ("failed", ms.iter().map(|m| m.render()).collect()),
            exec::StepOutcome::Error(e) => ("error", vec![e.clone()]),
            exec::StepOutcome::NotRun(why) => ("not-run", vec![why.clone()]),
        };
        shell::json(
            "test-step",
            &serde_json::json!({
                "scenario": report.name,
                "file": report.file,
                "index": i + 1,
                "name": step.name,
                "outcome": outcome,
                "messages": messages,
                "seconds": step.duration.as_secs_f64(),
            }),
        );
    }
    shell::json(
        "test-scenario",
        &serde_json::json!({
            "name": report.name,
            "file": report.file,
            "outcome": if report.passed() { "passed" } else { "failed" },
            "setupError": report.setup_error,
            "steps": report.steps.len(),
            "failures": report.failure_count(),
            "errors": report.error_count(),
            "seconds": report.duration.as_secs_f64(),
        }),
    );
}

/// Runs `cargo wasme test`.
pub fn test(args: TestArgs) -> anyhow::Result<ExitCode> {
    if args.print_schema {
        println!(
            "{}",
            serde_json::to_string_pretty(&scenario::json_schema())?
        );
        return Ok(ExitCode::SUCCESS);
    }
    let files = if args.scenarios.is_empty() {
        let cwd = std::env::current_dir().context("finding the current directory")?;
        let found = scenario::discover::default_scenarios(&cwd)?;
        if found.is_empty() {
            bail!(
                "no scenario files found: looked for scenarios/*.yaml and *.scenario.yaml in the crate at {} \
                 (create one, e.g. with `cargo wasme init`, or name files on the command line)",
                scenario::discover::crate_root(&cwd)
                    .unwrap_or(cwd)
                    .display()
            );
        }
        found
    } else {
        scenario::discover::expand(&args.scenarios)?
    };
    let opts = exec::Options {
        module_override: args.module.clone(),
        trace_on_failure: args.trace,
        ..Default::default()
    };
    let mut reports = Vec::new();
    let mut bad_files = 0;
    // Each filter crate is built once, through the pipeline `cargo wasme build` uses, and every
    // scenario naming it runs those exact bytes.
    type Built = (PathBuf, (String, Vec<String>));
    let mut builds: HashMap<(PathBuf, Option<String>), Result<Built, String>> = HashMap::new();
    let mut build_time = Duration::ZERO;
    let started = Instant::now();
    for file in &files {
        match parse::load(file) {
            Ok(mut loaded) => {
                let mut opts = opts.clone();
                if let (None, ModuleSource::Crate { dir, package }) =
                    (&args.module, &loaded.scenario.module)
                {
                    let dir = loaded.base_dir().join(dir);
                    let dir = dir.canonicalize().unwrap_or(dir);
                    let key = (dir, package.clone());
                    let built = builds.entry(key.clone()).or_insert_with(|| {
                        let t = Instant::now();
                        let r = build_crate(&args.cargo, &key.0, key.1.clone())
                            .map(|b| (b.module.path, (b.tag, b.root_ids)))
                            .map_err(|e| {
                                format!("building the filter crate {}: {e:#}", key.0.display())
                            });
                        build_time += t.elapsed();
                        r
                    });
                    match built {
                        Ok((path, image)) => {
                            loaded.scenario.module = ModuleSource::Path(path.clone());
                            opts.built_image = Some(image.clone());
                        }
                        Err(e) => {
                            let report = exec::ScenarioReport::invalid(file, e);
                            emit_report(&report);
                            reports.push(report);
                            continue;
                        }
                    }
                }
                let report = exec::run(&loaded, &opts);
                if let Some(root_id) = &report.root_id {
                    shell::status("Root id", format!("{root_id} for {}", report.name));
                }
                emit_report(&report);
                reports.push(report);
            }
            Err(e) => {
                shell::error(&e, None);
                bad_files += 1;
                let report = exec::ScenarioReport::invalid(file, &e.to_string());
                if shell::is_json() {
                    emit_report(&report);
                }
                reports.push(report);
            }
        }
    }
    let scenario_time = started.elapsed().saturating_sub(build_time);
    let passed = reports.iter().filter(|r| r.passed()).count();
    let steps: usize = reports.iter().map(|r| r.steps.len()).sum();
    shell::json(
        "test-summary",
        &serde_json::json!({
            "ok": passed == reports.len(),
            "scenarios": reports.len(),
            "passed": passed,
            "failed": reports.len() - passed,
            "steps": steps,
            "unreadableFiles": bad_files,
            "buildSeconds": build_time.as_secs_f64(),
            "scenarioSeconds": scenario_time.as_secs_f64(),
        }),
    );
    shell::result(format_args!(
        "\ntest result: {}. {passed} of {} scenario(s) passed ({steps} step(s)){}; build {:.2}s, scenarios {:.2}s",
        if passed == reports.len() {
            "ok"
        } else {
            "FAILED"
        },
        reports.len(),
        if bad_files > 0 {
            format!("; {bad_files} file(s) could not be read")
        } else {
            String::new()
        },
        build_time.as_secs_f64(),
        scenario_time.as_secs_f64(),
    ));
    if let Some(path) = &args.junit {
        std::fs::write(path, scenario::junit::render(&reports))
            .with_context(|| format!("writing the JUnit report {}", path.display()))?;
    }
    Ok(if passed == reports.len() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
