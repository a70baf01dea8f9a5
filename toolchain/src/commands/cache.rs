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
//! modules no listed reference names any more are removed — but only once every listed
//! reference has a known module, so a registry outage never deletes anything.
//!
//! One bad entry does not degrade the others: each entry has its own time limit
//! (`--entry-timeout`) and its own back-off when it fails (doubling from `--interval` up to
//! five minutes); entries that are cached need no registry round trip, and a manifest digest
//! already cached (`.wasme-digests`, kept beside the modules) is never downloaded again, even
//! after a restart. Stale cleanup removes only regular files named by 64 hex digits and keeps
//! going past anything else. `--once` exits 0 when everything is cached and clean, 2 when
//! only part is (some entry or the cleanup failed), 1 when nothing could be done.

use anyhow::Context as _;
use cargo_wasme::deploy::node_cache::NODE_CACHE_DIR;
use cargo_wasme::reference::Digest;
use cargo_wasme::registry::{self, Registry, RegistryError, RegistryOptions};
use cargo_wasme::shell;
use std::collections::{BTreeMap, BTreeSet};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

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
    /// Seconds between two reads of the list (and the first back-off of a failing entry).
    #[arg(long, default_value_t = 5)]
    pub interval: u64,
    /// Seconds one entry may take (resolving and downloading it) before it counts as failed
    /// for this round.
    #[arg(long, default_value_t = 60, value_name = "SECONDS")]
    pub entry_timeout: u64,
    /// Sync once and exit: 0 when every image is cached and the cleanup done, 2 when only
    /// part is (some image or the cleanup failed), 1 when nothing could be done.
    #[arg(long)]
    pub once: bool,
    /// Speak plain HTTP to the registries (loopback registries are plain HTTP anyway).
    #[arg(long)]
    pub plain_http: bool,
}

/// Prefix of temporary files; never a module name (those are 64 hex digits).
const TMP_PREFIX: &str = ".wasme-tmp-";
/// The index of manifest digests already cached (`sha256:…` → module name), one per line.
const INDEX_FILE: &str = ".wasme-digests";
/// The longest a failing entry waits between two attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(300);

/// What the daemon knows about one listed reference.
#[derive(Debug, Default)]
struct Entry {
    /// The module it resolved to last (its file name).
    module: Option<String>,
    /// Consecutive failures.
    failures: u32,
    /// Not tried again before this instant.
    next_try: Option<Instant>,
}

/// How a round went.
#[derive(Debug, Default, PartialEq, Eq)]
struct Round {
    cached: usize,
    failed: usize,
    cleanup_failed: bool,
}

/// Runs `cargo wasme cache`.
pub fn cache(a: CacheArgs) -> anyhow::Result<ExitCode> {
    std::fs::create_dir_all(&a.dir)
        .with_context(|| format!("cannot create the cache directory {}", a.dir.display()))?;
    remove_temporaries(&a.dir)?;
    let registry = Registry::new(RegistryOptions {
        plain_http: a.plain_http,
        ..Default::default()
    });
    let interval = Duration::from_secs(a.interval.max(1));
    let limit = Duration::from_secs(a.entry_timeout.max(1));
    let mut entries: BTreeMap<String, Entry> = BTreeMap::new();
    let mut index = read_index(&a.dir);
    let mut last: Vec<String> = Vec::new();
    loop {
        let round = match read_refs(&a.refs) {
            Ok(refs) => {
                if refs != last {
                    // A changed list is when tags are looked up again (a HEAD; the index
                    // spares the download when the digest did not move).
                    for (r, e) in entries.iter_mut() {
                        if !r.contains("@sha256:") {
                            e.module = None;
                        }
                    }
                    last = refs.clone();
                }
                sync(
                    &registry,
                    &refs,
                    &a.dir,
                    &mut entries,
                    &mut index,
                    interval,
                    limit,
                )
            }
            Err(e) => {
                shell::error(format_args!("{e:#}"), None);
                Round {
                    failed: 1,
                    ..Default::default()
                }
            }
        };
        if a.once {
            let code = match round {
                Round {
                    failed: 0,
                    cleanup_failed: false,
                    ..
                } => 0,
                Round {
                    cached: 0,
                    failed: 1..,
                    ..
                } => 1,
                _ => 2,
            };
            return Ok(ExitCode::from(code));
        }
        std::thread::sleep(interval);
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

/// One round over the listed references. Entries already cached are left alone (no network);
/// failing ones wait out their back-off and go last, so a stalled registry only ever costs
/// its own entry's time limit; stale modules are removed once every listed reference has a
/// known module.
#[allow(clippy::too_many_arguments)]
fn sync(
    registry: &Registry,
    refs: &[String],
    dir: &Path,
    entries: &mut BTreeMap<String, Entry>,
    index: &mut BTreeMap<String, String>,
    interval: Duration,
    limit: Duration,
) -> Round {
    entries.retain(|r, _| refs.contains(r));
    let mut order: Vec<&String> = refs.iter().collect();
    // Healthy entries first; a failing one cannot hold them up.
    order.sort_by_key(|r| entries.get(*r).map_or(0, |e| e.failures));
    let mut round = Round::default();
    let now = Instant::now();
    for reference in order {
        let entry = entries.entry(reference.clone()).or_default();
        if entry.module.as_ref().is_some_and(|m| dir.join(m).is_file()) {
            round.cached += 1;
            continue;
        }
        if entry.next_try.is_some_and(|t| t > now) {
            round.failed += 1;
            continue;
        }
        match cache_one(registry, reference, dir, index, limit) {
            Ok((name, fresh)) => {
                if fresh {
                    shell::status(
                        "Cached",
                        format_args!("{reference} as {}", dir.join(&name).display()),
                    );
                }
                *entry = Entry {
                    module: Some(name),
                    ..Default::default()
                };
                round.cached += 1;
            }
            Err(e) => {
                entry.failures += 1;
                let backoff = interval
                    .saturating_mul(1 << entry.failures.min(16))
                    .min(MAX_BACKOFF);
                entry.next_try = Some(Instant::now() + backoff);
                shell::error(
                    format_args!(
                        "cannot cache {reference}: {e:#} (next attempt in {} s)",
                        backoff.as_secs()
                    ),
                    None,
                );
                round.failed += 1;
            }
        }
    }
    let known: Option<BTreeSet<String>> = refs
        .iter()
        .map(|r| entries.get(r).and_then(|e| e.module.clone()))
        .collect();
    if let Some(keep) = known {
        round.cleanup_failed = !remove_stale(dir, &keep);
        index.retain(|_, module| keep.contains(module));
    }
    write_index(dir, index);
    round
}

/// Reads `reference`'s module into the cache within `limit`; returns its file name and
/// whether it was written now (false: already there, complete). A manifest digest the index
/// already maps to a complete module is not downloaded again.
fn cache_one(
    registry: &Registry,
    reference: &str,
    dir: &Path,
    index: &mut BTreeMap<String, String>,
    limit: Duration,
) -> anyhow::Result<(String, bool)> {
    let timed_out = || RegistryError::Other {
        registry: String::new(),
        what: format!("caching {reference}"),
        message: format!(
            "it took longer than {} s (--entry-timeout)",
            limit.as_secs()
        ),
    };
    let digest = registry::block_on(async {
        tokio::time::timeout(limit, registry.resolve_digest(reference))
            .await
            .map_err(|_| timed_out())?
    })?;
    if let Some(name) = index.get(&digest.to_string())
        && is_complete(dir, name)
    {
        return Ok((name.clone(), false));
    }
    let (digest, image) = registry::block_on(async {
        tokio::time::timeout(limit, registry.inspect(reference))
            .await
            .map_err(|_| timed_out())?
    })?;
    // The node cache feeds Envoy directly: only a module the harness can load goes in.
    wasme_harness::Module::from_bytes(&image.module)
        .with_context(|| format!("{reference}'s module is not a loadable proxy-wasm module"))?;
    let name = Digest::of(&image.module).hex().to_owned();
    index.insert(digest.to_string(), name.clone());
    let path = dir.join(&name);
    if is_complete(dir, &name) {
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

/// Whether `dir/name` is a regular file whose content hashes to `name`.
fn is_complete(dir: &Path, name: &str) -> bool {
    let path = dir.join(name);
    path.is_file() && std::fs::read(&path).is_ok_and(|have| Digest::of(&have).hex() == name)
}

fn is_module_name(name: &str) -> bool {
    name.len() == 64
        && name
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Removes module files (regular files named by 64 hex digits) that `keep` does not list;
/// nothing else is touched, and one that cannot be removed does not stop the others.
/// Returns whether every stale module went (a directory with a module's name is reported,
/// never followed).
fn remove_stale(dir: &Path, keep: &BTreeSet<String>) -> bool {
    let Ok(list) = std::fs::read_dir(dir) else {
        shell::error(format_args!("cannot list {}", dir.display()), None);
        return false;
    };
    let mut ok = true;
    for entry in list.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !is_module_name(&name) || keep.contains(&name) {
            continue;
        }
        let is_file = entry.file_type().is_ok_and(|t| t.is_file());
        if !is_file {
            shell::error(
                format_args!(
                    "{} has a module's name but is not a regular file; left alone (remove it by hand)",
                    dir.join(&name).display()
                ),
                None,
            );
            ok = false;
            continue;
        }
        match std::fs::remove_file(dir.join(&name)) {
            Ok(()) => shell::status("Removed", format_args!("{name} (no listed image names it)")),
            Err(e) => {
                shell::error(
                    format_args!("cannot remove the stale module {name}: {e}"),
                    None,
                );
                ok = false;
            }
        }
    }
    ok
}

/// The index of cached manifest digests; a missing or damaged one is empty (it only saves
/// downloads).
fn read_index(dir: &Path) -> BTreeMap<String, String> {
    let text = std::fs::read_to_string(dir.join(INDEX_FILE)).unwrap_or_default();
    text.lines()
        .filter_map(|l| l.split_once(' '))
        .filter(|(d, m)| d.parse::<Digest>().is_ok() && is_module_name(m))
        .map(|(d, m)| (d.to_owned(), m.to_owned()))
        .collect()
}

/// Writes the index atomically; a failure only costs downloads later.
fn write_index(dir: &Path, index: &BTreeMap<String, String>) {
    let text: String = index.iter().map(|(d, m)| format!("{d} {m}\n")).collect();
    let path = dir.join(INDEX_FILE);
    if std::fs::read_to_string(&path).is_ok_and(|t| t == text) {
        return;
    }
    let tmp = dir.join(format!("{TMP_PREFIX}index.{}", std::process::id()));
    if std::fs::write(&tmp, &text)
        .and_then(|()| std::fs::rename(&tmp, &path))
        .is_err()
    {
        let _ = std::fs::remove_file(&tmp);
    }
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
