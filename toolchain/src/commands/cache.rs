//! `cargo wasme cache`: the node cache the EnvoyFilter form loads modules from, as a small
//! daemon (one per node, a DaemonSet).
//!
//! It reads a list of image references (a file, or a directory of files such as a mounted
//! ConfigMap: one reference per line, `#` comments), reads each image from its registry —
//! manifest, config and module, every digest verified, any Wasm image format — and writes the
//! module to `<dir>/<sha256 of the module>`, the path the EnvoyFilter names. Writes are atomic:
//! a hidden temporary file in the same directory, synced, then renamed, so a module path only
//! ever holds a complete module; temporaries left by an interrupted run are removed at start.
//! It re-reads the list every `--interval` and follows changes: new references are pulled,
//! modules no listed reference names any more are removed — but only after a round in which
//! every reference resolved, so a registry outage never deletes anything.

use anyhow::Context as _;
use cargo_wasme::deploy::node_cache::NODE_CACHE_DIR;
use cargo_wasme::reference::Digest;
use cargo_wasme::registry::{self, Registry, RegistryOptions};
use cargo_wasme::shell;
use std::collections::BTreeSet;
use std::io::Write as _;
use std::path::{Path, PathBuf};
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

/// Prefix of temporary files; never a module name (those are 64 hex digits).
const TMP_PREFIX: &str = ".wasme-tmp-";

/// Runs `cargo wasme cache`.
pub fn cache(a: CacheArgs) -> anyhow::Result<ExitCode> {
    std::fs::create_dir_all(&a.dir)
        .with_context(|| format!("cannot create the cache directory {}", a.dir.display()))?;
    remove_temporaries(&a.dir)?;
    let registry = Registry::new(RegistryOptions {
        plain_http: a.plain_http,
        ..Default::default()
    });
    let mut last: Option<(Vec<String>, BTreeSet<String>)> = None;
    loop {
        let ok = match read_refs(&a.refs) {
            Ok(refs) => {
                // An unchanged list whose modules are all present needs no registry round trip.
                let settled = last.as_ref().is_some_and(|(r, modules)| {
                    *r == refs && modules.iter().all(|m| a.dir.join(m).is_file())
                });
                if settled {
                    true
                } else {
                    let (modules, ok) = sync(&registry, &refs, &a.dir);
                    last = ok.then_some((refs, modules));
                    ok
                }
            }
            Err(e) => {
                shell::error(format_args!("{e:#}"), None);
                false
            }
        };
        if a.once {
            return Ok(if ok {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            });
        }
        std::thread::sleep(Duration::from_secs(a.interval.max(1)));
    }
}

/// The references listed in `path` (a file, or every regular file of a directory, sorted;
/// hidden entries such as a ConfigMap mount's `..data` are skipped).
fn read_refs(path: &Path) -> anyhow::Result<Vec<String>> {
    let mut files = Vec::new();
    if path.is_dir() {
        for entry in
            std::fs::read_dir(path).with_context(|| format!("cannot list {}", path.display()))?
        {
            let entry = entry?;
            let hidden = entry.file_name().to_string_lossy().starts_with('.');
            if !hidden && entry.path().is_file() {
                files.push(entry.path());
            }
        }
        files.sort();
    } else {
        files.push(path.to_path_buf());
    }
    let mut refs = BTreeSet::new();
    for file in files {
        let text = std::fs::read_to_string(&file)
            .with_context(|| format!("cannot read the image list {}", file.display()))?;
        for line in text.lines() {
            let line = line.split('#').next().unwrap_or_default().trim();
            if !line.is_empty() {
                refs.insert(line.to_owned());
            }
        }
    }
    Ok(refs.into_iter().collect())
}

/// One round: caches every reference; returns the module names they map to and whether all
/// succeeded. Stale modules are removed only after a fully successful round.
fn sync(registry: &Registry, refs: &[String], dir: &Path) -> (BTreeSet<String>, bool) {
    let mut modules = BTreeSet::new();
    let mut ok = true;
    for reference in refs {
        match cache_one(registry, reference, dir) {
            Ok((name, fresh)) => {
                if fresh {
                    shell::status(
                        "Cached",
                        format_args!("{reference} as {}", dir.join(&name).display()),
                    );
                }
                modules.insert(name);
            }
            Err(e) => {
                shell::error(format_args!("cannot cache {reference}: {e:#}"), None);
                ok = false;
            }
        }
    }
    if ok && let Err(e) = remove_stale(dir, &modules) {
        shell::error(format_args!("cannot remove stale modules: {e:#}"), None);
    }
    (modules, ok)
}

/// Reads `reference` from its registry and writes its module; returns its file name and
/// whether it was written now (false: already there, complete).
fn cache_one(registry: &Registry, reference: &str, dir: &Path) -> anyhow::Result<(String, bool)> {
    // The verification gate (`sign`): with a key configured, only the digest a signature
    // verified is fetched and served.
    let policy = super::sign::global_policy()?;
    let gate = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?
        .block_on(cargo_wasme::sign::verify::gate(
            registry, reference, &policy,
        ))
        .map_err(|e| anyhow::anyhow!("{e}; the module is not served"))?;
    super::sign::report_gate(reference, &gate);
    let target = gate.map_or_else(|| reference.to_string(), |g| g.pinned);
    let (_, image) = registry::block_on(registry.inspect(&target))?;
    let name = Digest::of(&image.module).hex().to_owned();
    let path = dir.join(&name);
    if std::fs::read(&path).is_ok_and(|have| Digest::of(&have).hex() == name) {
        return Ok((name, false));
    }
    let tmp = dir.join(format!("{TMP_PREFIX}{name}.{}", std::process::id()));
    let write = || -> std::io::Result<()> {
        let mut file = std::fs::File::create(&tmp)?;
        file.write_all(&image.module)?;
        file.sync_all()?;
        std::fs::rename(&tmp, &path)?;
        // The rename itself is durable once the directory is synced.
        std::fs::File::open(dir)?.sync_all()
    };
    write()
        .inspect_err(|_| {
            let _ = std::fs::remove_file(&tmp);
        })
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok((name, true))
}

fn is_module_name(name: &str) -> bool {
    name.len() == 64
        && name
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Removes modules (64-hex names) that `keep` does not list; nothing else is touched.
fn remove_stale(dir: &Path, keep: &BTreeSet<String>) -> anyhow::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let name = entry?.file_name().to_string_lossy().into_owned();
        if is_module_name(&name) && !keep.contains(&name) {
            std::fs::remove_file(dir.join(&name))?;
            shell::status("Removed", format_args!("{name} (no listed image names it)"));
        }
    }
    Ok(())
}

/// Removes temporaries an interrupted run left behind.
fn remove_temporaries(dir: &Path) -> anyhow::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let name = entry?.file_name().to_string_lossy().into_owned();
        if name.starts_with(TMP_PREFIX) {
            std::fs::remove_file(dir.join(&name))
                .with_context(|| format!("cannot remove the leftover {name}"))?;
        }
    }
    Ok(())
}
