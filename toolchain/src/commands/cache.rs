//! `cargo wasme cache`: the node cache the EnvoyFilter form loads modules from, as a small
//! daemon (one per node, a DaemonSet): the library's [`cache_daemon`](cargo_wasme::cache_daemon).

use cargo_wasme::cache_daemon::{self, CacheOptions, NODE_CACHE_DIR, Outcome};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

/// Arguments of `cargo wasme cache`.
#[derive(Debug, clap::Args)]
pub struct CacheArgs {
    /// The list of image references: a file, or a directory whose files are lists (a mounted
    /// ConfigMap).
    #[arg(long, value_name = "FILE|DIR")]
    pub refs: PathBuf,
    /// Where modules are written, as `<dir>/<sha256 of the module>`.
    #[arg(long, default_value = NODE_CACHE_DIR)]
    pub dir: PathBuf,
    /// Seconds between two reads of the list (and the first back-off of a failing entry);
    /// fractions allowed (`0.5`).
    #[arg(long, default_value = "5", value_name = "SECONDS", value_parser = seconds)]
    pub interval: Duration,
    /// Seconds one entry may take (resolving and downloading it) before it counts as failed
    /// for this round; fractions allowed (`0.5`).
    #[arg(long, default_value = "60", value_name = "SECONDS", value_parser = seconds)]
    pub entry_timeout: Duration,
    /// Sync once and exit: 0 when every image is cached and the cleanup done, 2 when only
    /// part is (some image or the cleanup failed), 1 when nothing could be done.
    #[arg(long)]
    pub once: bool,
    /// Speak plain HTTP to the registries (loopback registries are plain HTTP anyway).
    #[arg(long)]
    pub plain_http: bool,
}

/// A positive number of seconds, whole or with a fraction.
fn seconds(text: &str) -> Result<Duration, String> {
    cargo_wasme::registry::parse_seconds(text)
        .ok_or_else(|| format!("{text:?} is not a positive number of seconds (e.g. 5 or 0.5)"))
}

/// Runs `cargo wasme cache`.
pub fn cache(a: CacheArgs) -> anyhow::Result<ExitCode> {
    let outcome = cache_daemon::run(&CacheOptions {
        refs: a.refs,
        dir: a.dir,
        interval: a.interval,
        entry_timeout: a.entry_timeout,
        once: a.once,
        plain_http: a.plain_http,
        policy: cargo_wasme::sign::actions::global_policy()?,
    })?;
    Ok(ExitCode::from(match outcome {
        Outcome::Complete => 0,
        Outcome::Failed => 1,
        Outcome::Partial => 2,
    }))
}
