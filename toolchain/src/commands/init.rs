//! CLI glue: `cargo wasme init`.

use anyhow::{Context, bail};
use cargo_wasme::init::{self, Dependencies, InitOptions, Language, Template};
use cargo_wasme::shell::{self, WithHelp};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `cargo wasme init`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Creates DIR with Cargo.toml, src/lib.rs (the filter, using wasme-sdk), \
tests/filter.rs (a harness test) and scenarios/*.yaml (for `cargo wasme test`). With \
--language cpp|c|assemblyscript: wasme.toml, the filter's sources and scenarios/*.yaml.\n\
Then: cd DIR && cargo wasme test && cargo wasme build"
)]
pub struct InitArgs {
    /// The project directory to create (must be empty or absent).
    pub dir: PathBuf,
    /// The kind of filter (asked on a terminal when not given; `http` with --yes).
    #[arg(long, value_enum, alias = "kind")]
    pub template: Option<Template>,
    /// The language: rust, cpp, c or assemblyscript (asked on a terminal when not given;
    /// `rust` with --yes). Other languages get an HTTP filter, a wasme.toml and scenarios.
    #[arg(long, short = 'l', value_name = "LANGUAGE")]
    pub language: Option<Language>,
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
    let language = match args.language {
        Some(l) => l,
        None if interactive && args.template.is_none() => {
            let languages = [
                Language::Rust,
                Language::Cpp,
                Language::AssemblyScript,
                Language::C,
            ];
            let choice = dialoguer::Select::new()
                .with_prompt("Which language?")
                .items([
                    "Rust            — wasme-sdk, harness tests (HTTP or network filters)",
                    "C++             — clang++ and libc++ for wasm32-wasi",
                    "AssemblyScript  — @solo-io/proxy-runtime, from npm",
                    "C               — clang and wasi-libc, the raw ABI",
                ])
                .default(0)
                .interact()
                .context("reading your choice (use --language and --yes to skip the prompt)")?;
            languages[choice]
        }
        None => Language::Rust,
    };
    let template = match args.template {
        Some(t) => t,
        None if language != Language::Rust => Template::Http,
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
        language,
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
            "{}{template} filter project in {} ({} files)",
            match language {
                Language::Rust => String::new(),
                other => format!("{} ", other.display_name()),
            },
            args.dir.display(),
            written.len()
        ),
    );
    for f in &written {
        shell::info(format_args!("  {}", f.display()));
    }
    shell::json(
        "project-created",
        &serde_json::json!({ "dir": args.dir, "template": template.to_string(), "language": language.as_str(), "files": written }),
    );
    if language != Language::Rust {
        shell::note(format_args!(
            "next:\n  cd {}\n  cargo wasme test        # build with {}, run scenarios/*.yaml in the harness\n  cargo wasme build       # build the OCI image",
            args.dir.display(),
            match language {
                Language::AssemblyScript => "npm ci + asc",
                Language::Cpp => "clang++",
                _ => "clang",
            }
        ));
        return Ok(ExitCode::SUCCESS);
    }
    shell::note(format_args!(
        "next:\n  cd {}\n  cargo wasme test                # run scenarios/*.yaml in the harness\n  cargo test --features harness   # the harness test in tests/\n  cargo wasme build               # build the OCI image",
        args.dir.display()
    ));
    Ok(ExitCode::SUCCESS)
}
