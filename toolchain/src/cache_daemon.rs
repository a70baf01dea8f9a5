//! The node cache daemon behind `cargo wasme cache`: the node cache the EnvoyFilter form loads modules from, as a small
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

//!
//! The manifests that mount its directory into sidecars are [`crate::deploy::node_cache`]'s.
//!
//! ```no_run
//! use cargo_wasme::cache_daemon::{CacheOptions, run};
//! let ok = run(&CacheOptions { once: true, ..CacheOptions::new("images.txt".into()) })?;
//! assert!(ok);
//! # Ok::<(), cargo_wasme::cache_daemon::CacheError>(())
//! ```

use crate::reference::Digest;
use crate::registry::{self, Registry, RegistryError, RegistryOptions};
use crate::shell;
use std::collections::BTreeSet;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

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
    /// Time between two reads of the list (at least a second).
    pub interval: Duration,
    /// Sync once and return.
    pub once: bool,
    /// Speak plain HTTP to the registries.
    pub plain_http: bool,
    /// The verification gate (`sign`): with keys, only a digest whose signature verifies is
    /// fetched and served.
    pub policy: crate::sign::verify::Policy,
}

impl CacheOptions {
    /// The defaults for the list `refs`: [`NODE_CACHE_DIR`], every 5 s, TLS.
    pub fn new(refs: PathBuf) -> Self {
        CacheOptions {
            refs,
            dir: NODE_CACHE_DIR.into(),
            interval: Duration::from_secs(5),
            once: false,
            plain_http: false,
            policy: Default::default(),
        }
    }
}

/// Runs the daemon: for ever, or with [`CacheOptions::once`] one round, returning whether every
/// image was cached. Errors of one round are printed and retried the next.
pub fn run(a: &CacheOptions) -> Result<bool, CacheError> {
    std::fs::create_dir_all(&a.dir).map_err(io("create the cache directory", &a.dir))?;
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
                    let (modules, ok) = sync(&registry, &refs, &a.dir, &a.policy);
                    last = ok.then_some((refs, modules));
                    ok
                }
            }
            Err(e) => {
                shell::error(shell::chain(&e), None);
                false
            }
        };
        if a.once {
            return Ok(ok);
        }
        std::thread::sleep(a.interval.max(Duration::from_secs(1)));
    }
}

/// Prefix of temporary files; never a module name (those are 64 hex digits).
const TMP_PREFIX: &str = ".wasme-tmp-";

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

/// One round: caches every reference; returns the module names they map to and whether all
/// succeeded. Stale modules are removed only after a fully successful round.
fn sync(
    registry: &Registry,
    refs: &[String],
    dir: &Path,
    policy: &crate::sign::verify::Policy,
) -> (BTreeSet<String>, bool) {
    let mut modules = BTreeSet::new();
    let mut ok = true;
    for reference in refs {
        match cache_one(registry, reference, dir, policy) {
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
                shell::error(
                    format_args!("cannot cache {reference}: {}", shell::chain(&e)),
                    None,
                );
                ok = false;
            }
        }
    }
    if ok && let Err(e) = remove_stale(dir, &modules) {
        shell::error(
            format_args!("cannot remove stale modules: {}", shell::chain(&e)),
            None,
        );
    }
    (modules, ok)
}

/// Reads `reference` from its registry and writes its module; returns its file name and
/// whether it was written now (false: already there, complete).
fn cache_one(
    registry: &Registry,
    reference: &str,
    dir: &Path,
    policy: &crate::sign::verify::Policy,
) -> Result<(String, bool), CacheError> {
    // The verification gate (`sign`): only the digest a signature verified is fetched.
    let gate = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(io("start the async runtime for", dir))?
        .block_on(crate::sign::verify::gate(registry, reference, policy))?;
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
        .map_err(io("write", &path))?;
    Ok((name, true))
}

fn is_module_name(name: &str) -> bool {
    name.len() == 64
        && name
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Removes modules (64-hex names) that `keep` does not list; nothing else is touched.
fn remove_stale(dir: &Path, keep: &BTreeSet<String>) -> Result<(), CacheError> {
    for entry in std::fs::read_dir(dir).map_err(io("list", dir))? {
        let name = entry
            .map_err(io("list", dir))?
            .file_name()
            .to_string_lossy()
            .into_owned();
        if is_module_name(&name) && !keep.contains(&name) {
            std::fs::remove_file(dir.join(&name)).map_err(io("remove", &dir.join(&name)))?;
            shell::status("Removed", format_args!("{name} (no listed image names it)"));
        }
    }
    Ok(())
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
