//! CLI glue: `cargo wasme init`.

use anyhow::{Context, bail};
use cargo_wasme::init::{self, Dependencies, InitOptions, Template};
use cargo_wasme::shell::{self, WithHelp};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

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
        "next:\n  cd {}\n  cargo wasme test                # run scenarios/*.yaml in the harness\n  cargo test --features harness   # the harness test in tests/\n  cargo wasme build               # build the OCI image",
        args.dir.display()
    ));
    Ok(ExitCode::SUCCESS)
}
