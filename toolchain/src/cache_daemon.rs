//! The node cache daemon behind `cargo wasme cache`: the node cache the EnvoyFilter form loads
//! modules from, as a small daemon (one per node, a DaemonSet).
//!
//! It reads a list of image references (a file, or a directory of files such as a mounted
//! ConfigMap: one reference per line, `#` comments), reads each image from its registry —
//! manifest, config and module, every digest verified, any Wasm image format — checks that the
//! harness can load the module, and writes it to `<dir>/<sha256 of the module>`, the path the
//! EnvoyFilter names. Writes are atomic: a hidden temporary file in the same directory, synced,
//! then renamed, so a module path only ever holds a complete module; temporaries left by an
//! interrupted run are removed at start. It re-reads the list every interval and follows
//! changes: new references are pulled, modules no listed reference names any more are removed —
//! but only once every listed reference has a known module, so a registry outage never deletes
//! anything.
//!
//! One bad entry does not degrade the others: each entry has its own time limit
//! ([`CacheOptions::entry_timeout`]) and its own back-off when it fails (doubling from the
//! interval up to five minutes) and goes after the healthy ones; entries that are cached need no
//! registry round trip, and a manifest digest already cached (`.wasme-digests`, kept beside the
//! modules) is never downloaded again, even after a restart. Stale cleanup removes only regular
//! files named by 64 hex digits and keeps going past anything else. A round's [`Outcome`] says
//! whether everything, part, or nothing was done.
//!
//! The manifests that mount its directory into sidecars are [`crate::deploy::node_cache`]'s.
//!
//! ```no_run
//! use cargo_wasme::cache_daemon::{CacheOptions, Outcome, run};
//! let outcome = run(&CacheOptions { once: true, ..CacheOptions::new("images.txt".into()) })?;
//! assert_eq!(outcome, Outcome::Complete);
//! # Ok::<(), cargo_wasme::cache_daemon::CacheError>(())
//! ```

use crate::reference::Digest;
use crate::registry::{self, Registry, RegistryError, RegistryOptions};
use crate::shell;
use std::collections::{BTreeMap, BTreeSet};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

pub use crate::deploy::node_cache::NODE_CACHE_DIR;

/// Why the cache could not start, or an image or the list could not be handled.
#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    /// A file or directory operation failed.
    #[error("cannot {what} {}: {source}", path.display())]
    Io {
        /// What was being done (`create the cache directory`, `read the image list`, …).
        what: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The registry refused or failed.
    #[error(transparent)]
    Registry(#[from] RegistryError),
    /// One entry took longer than [`CacheOptions::entry_timeout`].
    #[error("it took longer than {} s (--entry-timeout)", .0.as_secs_f64())]
    Timeout(Duration),
    /// The image's module is not one the harness (and so Envoy) can load.
    #[error("its module is not a loadable proxy-wasm module: {0}")]
    Module(#[from] wasme_harness::HarnessError),
    /// The image's signature did not verify (`sign`): the module is not served.
    #[error("{0}; the module is not served")]
    Unverified(#[from] crate::sign::SignError),
}

fn io(what: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> CacheError {
    let path = path.to_path_buf();
    move |source| CacheError::Io { what, path, source }
}

/// What the daemon does.
#[derive(Debug, Clone)]
pub struct CacheOptions {
    /// The list of image references: a file, or a directory whose files are lists.
    pub refs: PathBuf,
    /// Where modules are written, as `<dir>/<sha256 of the module>`.
    pub dir: PathBuf,
    /// Time between two reads of the list (at least 0.1 s), and a failing entry's first
    /// back-off.
    pub interval: Duration,
    /// The longest one entry (resolving and downloading it) may take in a round.
    pub entry_timeout: Duration,
    /// Sync once and return.
    pub once: bool,
    /// Speak plain HTTP to the registries.
    pub plain_http: bool,
    /// The verification gate (`sign`): with keys, only a digest whose signature verifies is
    /// fetched and served.
    pub policy: crate::sign::verify::Policy,
}

impl CacheOptions {
    /// The defaults for the list `refs`: [`NODE_CACHE_DIR`], every 5 s, 60 s per entry, TLS.
    pub fn new(refs: PathBuf) -> Self {
        CacheOptions {
            refs,
            dir: NODE_CACHE_DIR.into(),
            interval: Duration::from_secs(5),
            entry_timeout: Duration::from_secs(60),
            once: false,
            plain_http: false,
            policy: Default::default(),
        }
    }
}

/// How a round went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Every listed image is cached and the stale ones removed.
    Complete,
    /// Some image, or the cleanup, failed; the rest is done.
    Partial,
    /// Nothing could be done (the list is unreadable, or every image failed).
    Failed,
}

/// Prefix of temporary files; never a module name (those are 64 hex digits).
const TMP_PREFIX: &str = ".wasme-tmp-";
/// The index of manifest digests already cached (`sha256:…` → module name), one per line.
const INDEX_FILE: &str = ".wasme-digests";
/// The longest a failing entry waits between two attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(300);

/// The shortest interval and entry time limit the daemon uses, whatever it is given.
const MIN_WAIT: Duration = Duration::from_millis(100);

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

/// Counts of a round.
#[derive(Debug, Default, PartialEq, Eq)]
struct Round {
    cached: usize,
    failed: usize,
    cleanup_failed: bool,
}

impl Round {
    fn outcome(&self) -> Outcome {
        match self {
            Round {
                failed: 0,
                cleanup_failed: false,
                ..
            } => Outcome::Complete,
            Round {
                cached: 0,
                failed: 1..,
                ..
            } => Outcome::Failed,
            _ => Outcome::Partial,
        }
    }
}

/// Runs the daemon: for ever, or with [`CacheOptions::once`] one round, returning its
/// [`Outcome`]. Errors of one round are printed and retried (with back-off) later.
pub fn run(a: &CacheOptions) -> Result<Outcome, CacheError> {
    std::fs::create_dir_all(&a.dir).map_err(io("create the cache directory", &a.dir))?;
    remove_temporaries(&a.dir)?;
    let registry = Registry::new(RegistryOptions {
        plain_http: a.plain_http,
        ..Default::default()
    });
    // Floors against a busy loop (fractions of a second are allowed, as in tests).
    let interval = a.interval.max(MIN_WAIT);
    let limit = a.entry_timeout.max(MIN_WAIT);
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
                    &a.policy,
                )
            }
            Err(e) => {
                shell::error(shell::chain(&e), None);
                Round {
                    failed: 1,
                    ..Default::default()
                }
            }
        };
        if a.once {
            return Ok(round.outcome());
        }
        std::thread::sleep(interval);
    }
}

/// The references listed in `path` (a file, or every regular file of a directory, sorted;
/// hidden entries such as a ConfigMap mount's `..data` are skipped).
fn read_refs(path: &Path) -> Result<Vec<String>, CacheError> {
    let mut files = Vec::new();
    if path.is_dir() {
        for entry in std::fs::read_dir(path).map_err(io("list", path))? {
            let entry = entry.map_err(io("list", path))?;
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
        let text = std::fs::read_to_string(&file).map_err(io("read the image list", &file))?;
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
    policy: &crate::sign::verify::Policy,
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
        match cache_one(registry, reference, dir, index, limit, policy) {
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
                        "cannot cache {reference}: {} (next attempt in {} s)",
                        shell::chain(&e),
                        backoff.as_secs_f64()
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
    } else if !policy.is_empty() {
        // With a key, a module is served only once this process verified its signature: one
        // cached earlier (before the key was set, or for a reference that no longer verifies)
        // is removed now, even while other references are still failing, rather than left for
        // Envoy to load. Fail closed, as the gate does for a fresh download.
        let verified: BTreeSet<String> =
            entries.values().filter_map(|e| e.module.clone()).collect();
        round.cleanup_failed = !remove_stale(dir, &verified);
        index.retain(|_, module| verified.contains(module));
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
    policy: &crate::sign::verify::Policy,
) -> Result<(String, bool), CacheError> {
    // The verification gate (`sign`): only the digest a signature verified is fetched.
    let gate = registry::block_on(async {
        Ok::<_, RegistryError>(
            tokio::time::timeout(
                limit,
                crate::sign::verify::gate(registry, reference, policy),
            )
            .await,
        )
    })?
    .map_err(|_| CacheError::Timeout(limit))??;
    let pinned = gate.map(|g| g.pinned);
    let reference = pinned.as_deref().unwrap_or(reference);
    let digest = registry::block_on(async {
        Ok::<_, RegistryError>(
            tokio::time::timeout(limit, registry.resolve_digest(reference)).await,
        )
    })?
    .map_err(|_| CacheError::Timeout(limit))??;
    if let Some(name) = index.get(&digest.to_string())
        && is_complete(dir, name)
    {
        return Ok((name.clone(), false));
    }
    let (digest, image) = registry::block_on(async {
        Ok::<_, RegistryError>(tokio::time::timeout(limit, registry.inspect(reference)).await)
    })?
    .map_err(|_| CacheError::Timeout(limit))??;
    // The node cache feeds Envoy directly: only a module the harness can load goes in.
    wasme_harness::Module::from_bytes(&image.module)?;
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
        .map_err(io("write", &path))?;
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
    if std::fs::read_to_string(&path).is_ok_and(|t| t == text)
        || (index.is_empty() && !path.exists())
    {
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
fn remove_temporaries(dir: &Path) -> Result<(), CacheError> {
    for entry in std::fs::read_dir(dir).map_err(io("list", dir))? {
        let name = entry
            .map_err(io("list", dir))?
            .file_name()
            .to_string_lossy()
            .into_owned();
        if name.starts_with(TMP_PREFIX) {
            std::fs::remove_file(dir.join(&name))
                .map_err(io("remove the leftover", &dir.join(&name)))?;
        }
    }
    Ok(())
}
