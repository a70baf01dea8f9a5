//! The command line: one variant per `cargo wasme` command, each handled in `commands::*`.

use crate::commands;
use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// Build, test, push and deploy proxy-wasm filters for Envoy and Istio.
#[derive(Debug, Parser)]
#[command(name = "cargo-wasme", bin_name = "cargo wasme", version, about, long_about = None)]
pub struct Cli {
    /// More logging (-v debug, -vv trace). `RUST_LOG` overrides it.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
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
    Init(commands::author::InitArgs),
    /// Send one request or connection through a filter in the harness.
    Run(commands::author::RunArgs),
    /// Run declarative scenario files against filters in the harness.
    Test(commands::author::TestArgs),
}

/// Sets up `tracing` output on stderr.
pub fn init_tracing(verbose: u8) {
    let default = match verbose {
        0 => "warn",
        1 => "debug",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
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
        Command::Login(a) => commands::registry::login(a),
        Command::Logout(a) => commands::registry::logout(a),
        Command::Deploy(c) => commands::deploy::deploy(c),
        Command::Undeploy(c) => commands::deploy::undeploy(c),
        Command::Render(a) => commands::deploy::render(a),
        Command::Crd(a) => commands::deploy::crd(a),
        Command::Cache(a) => commands::cache::cache(a),
        Command::Init(a) => commands::author::init(a),
        Command::Run(a) => commands::author::run(a),
        Command::Test(a) => commands::author::test(a),
    }
}
