//! `cargo wasme init`: flags only; the questions and the project are `cargo_wasme::init`.

use cargo_wasme::init::interactive::{self, InitRequest};
use cargo_wasme::init::{Language, Template};
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
    interactive::init(InitRequest {
        dir: args.dir,
        template: args.template,
        language: args.language,
        name: args.name,
        yes: args.yes,
        sdk_path: args.sdk_path,
        sdk_version: args.sdk_version,
    })
    .map_err(|e| match e.help() {
        Some(help) => cargo_wasme::shell::with_help(e, help),
        None => e.into(),
    })?;
    Ok(ExitCode::SUCCESS)
}
