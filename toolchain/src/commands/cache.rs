//! `cargo wasme cache`: the node cache the EnvoyFilter form loads modules from, as a small
//! daemon (one per node, a DaemonSet): the library's [`cache_daemon`](cargo_wasme::cache_daemon).

use cargo_wasme::cache_daemon::{self, CacheOptions, NODE_CACHE_DIR};
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
    /// Seconds between two reads of the list.
    #[arg(long, default_value_t = 5)]
    pub interval: u64,
    /// Sync once and exit (non-zero when an image could not be cached).
    #[arg(long)]
    pub once: bool,
    /// Speak plain HTTP to the registries (loopback registries are plain HTTP anyway).
    #[arg(long)]
    pub plain_http: bool,
}

/// Runs `cargo wasme cache`.
pub fn cache(a: CacheArgs) -> anyhow::Result<ExitCode> {
    let ok = cache_daemon::run(&CacheOptions {
        refs: a.refs,
        dir: a.dir,
        interval: Duration::from_secs(a.interval),
        once: a.once,
        plain_http: a.plain_http,
        policy: super::sign::global_policy()?,
    })?;
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
