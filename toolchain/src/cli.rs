//! The command line: one variant per `cargo wasme` command, each handled in `commands::*`.

use crate::commands;
use cargo_wasme::shell::{self, ColorWhen, MessageFormat, Shell, Verbosity};
use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// Build, test, push and deploy proxy-wasm filters for Envoy and Istio.
#[derive(Debug, Parser)]
#[command(name = "cargo-wasme", bin_name = "cargo wasme", version, about, long_about = None)]
pub struct Cli {
    /// Use verbose output (-vv very verbose): tracing debug (trace) lines on stderr.
    /// `RUST_LOG` overrides the level.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    /// Do not print status lines, warnings or progress (errors still go to stderr).
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Coloring of stderr: auto, always, never (also `CARGO_TERM_COLOR`, `NO_COLOR`).
    #[arg(long, value_enum, global = true, value_name = "WHEN", default_value_t = ColorWhen::Auto)]
    pub color: ColorWhen,
    /// The form of results on stdout: human, or json (one object per line).
    #[arg(long, value_enum, global = true, value_name = "FMT", default_value_t = MessageFormat::Human)]
    pub message_format: MessageFormat,
    /// Refuse an image unless a signature of its digest verifies under this public key (SPKI
    /// PEM; repeatable): `pull`, `deploy`, `render`, `run`, `test`, `cache`; `inspect` says
    /// what verified. Default: the `WASME_VERIFY_KEY` path list.
    #[arg(long = "verify-key", value_name = "FILE", global = true)]
    pub verify_key: Vec<std::path::PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

/// Every `cargo wasme` command.
// Parsed once per process: the size difference between variants costs nothing worth boxing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Build a filter crate for wasm32-wasip1 and store it as an OCI image.
    Build(commands::build::BuildArgs),
    /// Package a module built by any toolchain as an OCI image in the local store.
    Package(commands::build::PackageArgs),
    /// List the images in the local store.
    Images(commands::store::ImagesArgs),
    /// Give an image in the local store another tag.
    Tag(commands::store::TagArgs),
    /// Remove images from the local store and garbage-collect unused blobs.
    Rmi(commands::store::RmiArgs),
    /// Show an image's manifest, config, ABI, root ids, imports and exports.
    Inspect(commands::store::InspectArgs),
    /// Write an image's Wasm module to a file.
    Export(commands::store::ExportArgs),
    /// Push an image from the local store to a registry.
    Push(commands::registry::PushArgs),
    /// Pull an image from a registry into the local store.
    Pull(commands::registry::PullArgs),
    /// Generate a signing key pair.
    #[command(subcommand)]
    Key(commands::sign::KeyCommand),
    /// Sign an image (Sigstore bundle attached as an OCI referrer, as cosign v3 writes it).
    Sign(commands::sign::SignArgs),
    /// Verify an image's signature; prints the verified digest, fails otherwise.
    Verify(commands::sign::VerifyArgs),
    /// Print the SBOM (CycloneDX) attached to an image.
    Sbom(commands::sign::SbomArgs),
    /// Log in to a registry (verifies the credentials first).
    Login(commands::registry::LoginArgs),
    /// Forget the credentials for a registry.
    Logout(commands::registry::LogoutArgs),
    /// Generate deployment manifests (Istio, Envoy) for an image.
    #[command(subcommand)]
    Deploy(commands::deploy::DeployCommand),
    /// Generate the deletions matching `deploy`.
    #[command(subcommand)]
    Undeploy(commands::deploy::UndeployCommand),
    /// Turn FilterDeployment documents into Istio resources (also a KRM function).
    Render(commands::deploy::RenderArgs),
    /// Print the FilterDeployment CustomResourceDefinition.
    Crd(commands::deploy::CrdArgs),
    /// Run the node cache the EnvoyFilter form loads modules from (a daemon, one per node).
    Cache(commands::cache::CacheArgs),
    /// Create a new filter project.
    Init(commands::init::InitArgs),
    /// Send one request or connection through a filter in the harness.
    Run(commands::run::RunArgs),
    /// Run declarative scenario files against filters in the harness.
    Test(commands::test::TestArgs),
    /// Fuzz a filter with generated traffic; a failure is shrunk into a scenario file.
    Fuzz(commands::fuzz::FuzzArgs),
    /// Measure what a filter adds per request against a do-nothing filter.
    Bench(commands::bench::BenchArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell) on stdout.
    #[command(after_help = "Examples:\n  \
cargo wasme completions bash > ~/.local/share/bash-completion/completions/cargo-wasme\n  \
cargo wasme completions zsh > \"${fpath[1]}/_cargo-wasme\"\n  \
cargo wasme completions fish > ~/.config/fish/completions/cargo-wasme.fish\n\
The scripts complete the `cargo-wasme` program; `cargo wasme …` is completed by cargo's own \
completion when it supports external subcommands.")]
    Completions(CompletionsArgs),
    /// Print the man page (roff) on stdout: `cargo wasme man | man -l -`.
    Man,
}

/// Arguments of `cargo wasme completions`.
#[derive(Debug, clap::Args)]
pub struct CompletionsArgs {
    /// The shell to generate the script for.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// The program name completion scripts and the man page are written for (the binary; cargo
/// passes `cargo wasme …` to it).
pub const PROGRAM: &str = "cargo-wasme";

/// Writes the completion script for `shell` to stdout.
fn completions(args: CompletionsArgs) -> anyhow::Result<ExitCode> {
    let mut command = <Cli as clap::CommandFactory>::command().bin_name(PROGRAM);
    clap_complete::generate(args.shell, &mut command, PROGRAM, &mut std::io::stdout());
    Ok(ExitCode::SUCCESS)
}

/// Writes the man page to stdout.
fn man() -> anyhow::Result<ExitCode> {
    let command = <Cli as clap::CommandFactory>::command()
        .name(PROGRAM)
        .bin_name(PROGRAM);
    clap_mangen::Man::new(command)
        .render(&mut std::io::stdout())
        .map_err(|e| anyhow::anyhow!("cannot write the man page: {e}"))?;
    Ok(ExitCode::SUCCESS)
}

impl Cli {
    /// Sets the process-wide output settings ([`shell::init`]) and, with `-v` or `RUST_LOG`,
    /// `tracing` output on stderr (plain text when stderr is not a terminal).
    pub fn init_output(&self) {
        let verbosity = match (self.quiet, self.verbose) {
            (true, _) => Verbosity::Quiet,
            (false, 0) => Verbosity::Normal,
            (false, _) => Verbosity::Verbose,
        };
        shell::init(Shell {
            verbosity,
            color: self.color,
            message_format: self.message_format,
        });
        // Tracing is for debugging the tool: off unless asked for, so timestamps and module
        // paths never land in a user's CI log.
        let level = match self.verbose {
            0 => None,
            1 => Some("debug"),
            _ => Some("trace"),
        };
        let filter = match (std::env::var("RUST_LOG"), level) {
            (Ok(env), _) if !env.is_empty() => tracing_subscriber::EnvFilter::new(env),
            (_, Some(level)) => tracing_subscriber::EnvFilter::new(level),
            _ => return,
        };
        let ansi = self.color == ColorWhen::Always
            || (self.color == ColorWhen::Auto
                && std::io::IsTerminal::is_terminal(&std::io::stderr())
                && std::env::var_os("NO_COLOR").is_none());
        tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_ansi(ansi)
            .with_writer(std::io::stderr)
            .init();
    }
}

/// Runs one command.
pub fn dispatch(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Build(a) => commands::build::build(a),
        Command::Package(a) => commands::build::package(a),
        Command::Images(a) => commands::store::images(a),
        Command::Tag(a) => commands::store::tag(a),
        Command::Rmi(a) => commands::store::rmi(a),
        Command::Inspect(a) => commands::store::inspect(a),
        Command::Export(a) => commands::store::export(a),
        Command::Push(a) => commands::registry::push(a),
        Command::Pull(a) => commands::registry::pull(a),
        Command::Key(c) => commands::sign::key(c),
        Command::Sign(a) => commands::sign::sign(a),
        Command::Verify(a) => commands::sign::verify(a),
        Command::Sbom(a) => commands::sign::sbom(a),
        Command::Login(a) => commands::registry::login(a),
        Command::Logout(a) => commands::registry::logout(a),
        Command::Deploy(c) => commands::deploy::deploy(c),
        Command::Undeploy(c) => commands::deploy::undeploy(c),
        Command::Render(a) => commands::deploy::render(a),
        Command::Crd(a) => commands::deploy::crd(a),
        Command::Cache(a) => commands::cache::cache(a),
        Command::Init(a) => commands::init::init(a),
        Command::Run(a) => commands::run::run(a),
        Command::Test(a) => commands::test::test(a),
        Command::Fuzz(a) => commands::fuzz::fuzz(a),
        Command::Bench(a) => commands::bench::bench(a),
        Command::Completions(a) => completions(a),
        Command::Man => man(),
    }
}
