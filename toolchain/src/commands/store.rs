//! `images`, `tag`, `rmi`, `inspect`, `export`: flags only; the work and its output are
//! `cargo_wasme::store::report` (and `sign::actions` for what verifies an image).
use cargo_wasme::sign::actions;
use cargo_wasme::store::report;
use std::path::PathBuf;
use std::process::ExitCode;

/// `error` with its `help:` line (how to repair a damaged image), when it has one.
fn with_help(error: report::ReportError) -> anyhow::Error {
    match error.help() {
        Some(help) => cargo_wasme::shell::with_help(error, help),
        None => error.into(),
    }
}

/// Arguments of `cargo wasme images`.
#[derive(Debug, clap::Args)]
pub struct ImagesArgs {
    /// Print a JSON array instead of a table (`--message-format json`: one object per line).
    #[arg(long)]
    pub json: bool,
}

/// Runs `cargo wasme images`.
pub fn images(args: ImagesArgs) -> anyhow::Result<ExitCode> {
    Ok(super::exit(report::images(args.json).map_err(with_help)?))
}

/// Arguments of `cargo wasme tag`.
#[derive(Debug, clap::Args)]
pub struct TagArgs {
    /// The image to name (reference, digest, or a unique digest prefix of ≥ 12 hex digits).
    pub source: String,
    /// The new name (REPOSITORY:TAG, e.g. ghcr.io/me/filter:1.0).
    pub target: String,
}

/// Runs `cargo wasme tag`.
pub fn tag(args: TagArgs) -> anyhow::Result<ExitCode> {
    report::tag(&args.source, &args.target).map_err(with_help)?;
    Ok(ExitCode::SUCCESS)
}

/// Arguments of `cargo wasme rmi`.
#[derive(Debug, clap::Args)]
pub struct RmiArgs {
    /// Images to remove (references, digest references, `sha256:` digests or unique digest
    /// prefixes of ≥ 12 hex digits).
    #[arg(required = true)]
    pub references: Vec<String>,
}

/// Runs `cargo wasme rmi`.
pub fn rmi(args: RmiArgs) -> anyhow::Result<ExitCode> {
    report::rmi(&args.references).map_err(with_help)?;
    Ok(ExitCode::SUCCESS)
}

/// Arguments of `cargo wasme inspect`.
#[derive(Debug, clap::Args)]
pub struct InspectArgs {
    /// The image (reference, digest, or a unique digest prefix of ≥ 12 hex digits).
    pub reference: String,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// Runs `cargo wasme inspect`.
pub fn inspect(args: InspectArgs) -> anyhow::Result<ExitCode> {
    let referrers = |store: &_, image: &cargo_wasme::store::StoredImage| {
        let policy = actions::global_policy()?;
        Ok(actions::referrers_report(
            store,
            &image.manifest_digest,
            &policy,
        ))
    };
    report::inspect(
        &args.reference,
        args.json,
        referrers,
        actions::print_referrers,
    )
    .map_err(with_help)?;
    Ok(ExitCode::SUCCESS)
}

/// Arguments of `cargo wasme export`.
#[derive(Debug, clap::Args)]
pub struct ExportArgs {
    /// The image (reference, digest, or a unique digest prefix of ≥ 12 hex digits).
    pub reference: String,
    /// Where to write the module.
    #[arg(short, long)]
    pub output: PathBuf,
}

/// Runs `cargo wasme export`.
pub fn export(args: ExportArgs) -> anyhow::Result<ExitCode> {
    report::export(&args.reference, &args.output).map_err(with_help)?;
    Ok(ExitCode::SUCCESS)
}
