//! The local image store: an OCI image-layout directory (readable by oras, skopeo and crane)
//! under `$WASME_HOME/store` (default: `<user data dir>/wasme/store`).
//!
//! Images become visible only when `index.json` is atomically replaced, after all their blobs
//! are on disk; writers serialise on a file lock, so concurrent `cargo wasme` processes and
//! killed ones never leave a half-written image visible. Removing an image garbage-collects the
//! blobs no remaining image uses.
//!
//! ```
//! use cargo_wasme::{image::{self, Format, ImageSpec}, store::Store};
//! let dir = tempfile::tempdir().unwrap();
//! let store = Store::open(dir.path()).unwrap();
//! let wasm = wat::parse_str(r#"(module (func (export "proxy_abi_version_0_2_1")))"#).unwrap();
//! let built = image::build(&wasm, &ImageSpec::new(Format::Compat, vec!["v0.2.1".into()], vec!["root".into()])).unwrap();
//! store.add("my-filter:1.0", &built).unwrap();
//! let image = store.resolve("my-filter:1.0").unwrap();
//! assert_eq!(image.reference, "docker.io/library/my-filter:1.0");
//! assert_eq!(image.manifest_digest, built.digest);
//! assert_eq!(image.wasm(), wasm.as_slice());
//! assert_eq!(image.root_ids, ["root"]);
//! ```

mod error;
pub mod layout;
mod lookup;
pub mod referrers;
pub mod report;
mod stored;
mod stream;

pub use error::StoreError;
pub use stored::{ImageSummary, StoredImage};
pub use stream::{DecodeBeside, StoredManifest};

use crate::image::layer::Hashing;
use crate::image::{self, BuiltImage, Descriptor, Format, ImageError, Manifest};
use crate::reference::{self, Digest};
use layout::{Index, Lock, REF_NAME, TMP_PREFIX, blob_path, io_err, write_atomic};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// What an index entry records about its image when it is added (the module is decoded
/// then, once), under [`SUMMARY_ANNOTATION`].
#[derive(Debug, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct EntrySummary {
    format: Format,
    module_sha256: String,
    module_size: u64,
    abi_versions: Vec<String>,
    root_ids: Vec<String>,
}

/// The index-entry annotation holding what `images` shows of the module (JSON: format,
/// module sha256 and size, ABI versions, root ids).
pub const SUMMARY_ANNOTATION: &str = "io.wasme.summary";

/// A blob being downloaded into the store (see [`Store::blob_writer`]).
pub struct BlobWriter {
    file: tempfile::NamedTempFile,
    hasher: Hashing<std::io::Sink>,
    written: u64,
    limit: u64,
    expected: Digest,
    path: PathBuf,
    /// The decode reading this blob as it is written ([`BlobWriter::feed`]).
    feed: Option<stream::Feeder>,
}

impl BlobWriter {
    /// Bytes written so far.
    pub fn written(&self) -> u64 {
        self.written
    }

    /// Hands what this writer writes to `decode` as well, which then reads this blob (the one
    /// it was started for) as it arrives rather than from the store. A decode is fed by one
    /// writer only: a second one (a retried download) writes without feeding it, and the
    /// decode, never told that its blob ended, fails and is not used.
    pub fn feed(&mut self, decode: &mut DecodeBeside) {
        if decode.blob() == &self.expected {
            self.feed = decode.take_feeder();
        }
    }

    /// Appends `data`; fails with [`StoreError::TooLarge`] (and accepts nothing) when the blob
    /// would exceed its limit.
    pub fn append(&mut self, data: bytes::Bytes) -> Result<(), StoreError> {
        use std::io::Write as _;
        let total = self.written.saturating_add(data.len() as u64);
        if total > self.limit {
            return Err(StoreError::TooLarge {
                what: format!("blob {}", self.expected),
                limit: self.limit,
            });
        }
        self.file
            .write_all(&data)
            .map_err(|e| io_err("write", self.file.path(), e))?;
        self.hasher.update(&data);
        self.written = total;
        if let Some(feed) = &mut self.feed {
            feed.data(data);
        }
        Ok(())
    }

    /// Checks the content's digest and makes it the blob (atomically, after an fsync). On a
    /// mismatch the temporary file is deleted and nothing becomes visible. A decode fed by this
    /// writer is told that its blob ended only here, after the check and the rename: one that
    /// read a blob that failed its digest (or was dropped) never succeeds.
    pub fn commit(mut self) -> Result<(), StoreError> {
        let (_, actual, _) = self.hasher.finish();
        if actual != self.expected {
            return Err(StoreError::DigestMismatch {
                expected: self.expected.to_string(),
                actual: actual.to_string(),
            });
        }
        self.file
            .as_file()
            .sync_all()
            .map_err(|e| io_err("write", &self.path, e))?;
        let feed = self.feed.take();
        self.file
            .persist(&self.path)
            .map_err(|e| io_err("rename into place", &self.path, e.error))?;
        if let Some(feed) = feed {
            feed.end();
        }
        Ok(())
    }
}

/// One index entry as [`Store::list_named`] reports it: its reference, and the image or why
/// it cannot be read.
pub type NamedEntry = (String, Result<ImageSummary, StoreError>);

/// What `remove` and `gc` did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GcReport {
    /// References removed.
    pub untagged: Vec<String>,
    /// Blobs deleted.
    pub blobs_deleted: usize,
    /// Bytes freed.
    pub bytes_freed: u64,
}

/// An image checked and decoded, ready to be written.
struct Pending<'a> {
    name: String,
    digest: Digest,
    manifest: &'a [u8],
    media_type: String,
    /// Every blob the manifest names.
    blob_digests: Vec<Digest>,
    /// The bytes of those not in the store yet; the others were streamed in before (a pull,
    /// a packaged module's layer) and only need to be there.
    blobs: &'a BTreeMap<Digest, Vec<u8>>,
    summary: String,
}

/// The normalised name `reference` gives an image with `manifest`, and the manifest's
/// digest, which a digest reference must name.
fn named(reference: &str, manifest: &[u8]) -> Result<(String, Digest), StoreError> {
    let parsed = reference::parse(reference)?;
    let digest = Digest::of(manifest);
    if let Some(d) = reference::digest_of(&parsed)
        && d != digest
    {
        return Err(StoreError::DigestMismatch {
            expected: d.to_string(),
            actual: digest.to_string(),
        });
    }
    Ok((parsed.whole(), digest))
}

/// The [`SUMMARY_ANNOTATION`] value.
fn summary_json(summary: &EntrySummary) -> String {
    serde_json::to_string(summary).unwrap_or_default()
}

/// The local store.
#[derive(Debug, Clone)]
pub struct Store {
    root: PathBuf,
}

/// Temporary files older than this are leftovers of killed processes.
const STALE_TMP: std::time::Duration = std::time::Duration::from_secs(600);

impl Store {
    /// The store's default directory: `$WASME_HOME/store`, else `<data dir>/wasme/store`.
    /// Fails when `WASME_HOME` (or its `store`) exists and is not a directory: listing it as
    /// an empty store would hide the mistake.
    pub fn default_path() -> Result<PathBuf, StoreError> {
        let home = match std::env::var_os("WASME_HOME").filter(|h| !h.is_empty()) {
            Some(h) => PathBuf::from(h),
            None => dirs::data_dir().ok_or(StoreError::NoHome)?.join("wasme"),
        };
        let store = home.join("store");
        for path in [&home, &store] {
            // `exists` follows symbolic links: a link to a directory is a directory.
            if path.exists() && !path.is_dir() {
                return Err(StoreError::NotADirectory(path.clone()));
            }
        }
        Ok(store)
    }

    /// Opens (creating when needed) the store at [`Store::default_path`].
    pub fn open_default() -> Result<Store, StoreError> {
        Store::open(Store::default_path()?)
    }

    /// Opens (creating when needed) the store at `path`.
    pub fn open(path: impl AsRef<Path>) -> Result<Store, StoreError> {
        let root = path.as_ref().to_path_buf();
        let blobs = root.join("blobs").join("sha256");
        std::fs::create_dir_all(&blobs)
            .map_err(|e| io_err("create the store directory", &blobs, e))?;
        let store = Store { root };
        let layout = store.root.join("oci-layout");
        let index = store.root.join("index.json");
        if !layout.is_file() || !index.is_file() {
            let _lock = store.lock(true)?;
            if !layout.is_file() {
                write_atomic(&layout, br#"{"imageLayoutVersion":"1.0.0"}"#)?;
            }
            if !index.is_file() {
                store.write_index(&Index::default())?;
            }
        }
        Ok(store)
    }

    /// The store's directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn lock(&self, exclusive: bool) -> Result<Lock, StoreError> {
        Lock::take(&self.root.join(".wasme.lock"), exclusive)
    }

    fn read_index(&self) -> Result<Index, StoreError> {
        let path = self.root.join("index.json");
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Index::default()),
            Err(e) => return Err(io_err("read", &path, e)),
        };
        serde_json::from_slice(&bytes).map_err(|e| {
            StoreError::Corrupt(format!("{} is not a valid index ({e})", path.display()))
        })
    }

    fn write_index(&self, index: &Index) -> Result<(), StoreError> {
        let bytes = serde_json::to_vec_pretty(index).unwrap_or_default();
        write_atomic(&self.root.join("index.json"), &bytes)
    }

    /// Reads a blob and checks its digest.
    pub fn read_blob(&self, digest: &Digest) -> Result<Vec<u8>, StoreError> {
        let path = blob_path(&self.root, digest);
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(StoreError::Corrupt(format!("blob {digest} is missing")));
            }
            Err(e) => return Err(io_err("read", &path, e)),
        };
        let actual = Digest::of(&bytes);
        if &actual != digest {
            return Err(StoreError::Corrupt(format!(
                "blob {digest} holds content with digest {actual}"
            )));
        }
        Ok(bytes)
    }

    /// Whether the store has the blob `digest`.
    pub fn has_blob(&self, digest: &Digest) -> bool {
        blob_path(&self.root, digest).is_file()
    }

    /// Whether the blob `digest` is on disk and holds content with that digest (a damaged or
    /// truncated file of any length counts as absent, so the next write replaces it).
    pub fn blob_is_intact(&self, digest: &Digest) -> bool {
        let Ok(mut file) = std::fs::File::open(blob_path(&self.root, digest)) else {
            return false;
        };
        let mut hashing = Hashing::new(std::io::sink());
        std::io::copy(&mut file, &mut hashing).is_ok() && &hashing.finish().1 == digest
    }

    /// Writes a blob unless an intact copy is present (an existing file is re-verified, so a
    /// damaged blob is replaced); returns its path when it was newly written.
    fn put_blob(&self, digest: &Digest, data: &[u8]) -> Result<Option<PathBuf>, StoreError> {
        let actual = Digest::of(data);
        if &actual != digest {
            return Err(StoreError::DigestMismatch {
                expected: digest.to_string(),
                actual: actual.to_string(),
            });
        }
        let path = blob_path(&self.root, digest);
        if self.blob_is_intact(digest) {
            return Ok(None);
        }
        write_atomic(&path, data)?;
        Ok(Some(path))
    }

    /// Deletes those of `digests` that no image in the index uses (the blobs a failed pull
    /// had already verified and stored), under the store lock so a concurrent writer that
    /// just referenced one keeps it. Best effort: what cannot be deleted is left for `gc`.
    pub fn discard_unreferenced(&self, digests: &[Digest]) {
        if digests.is_empty() {
            return;
        }
        let Ok(_lock) = self.lock(true) else { return };
        let Ok(index) = self.read_index() else { return };
        let mut used = BTreeSet::new();
        for entry in &index.manifests {
            used.insert(entry.digest.clone());
            match self
                .read_blob(&entry.digest)
                .ok()
                .and_then(|m| Manifest::parse(&m).ok())
            {
                Some(m) => used.extend(m.blobs().iter().map(|d| d.digest.clone())),
                // A manifest that cannot be read may use any blob: keep them all.
                None => return,
            }
        }
        if self.keep_referrers(&mut used).is_err() {
            return;
        }
        for d in digests.iter().filter(|d| !used.contains(*d)) {
            let _ = std::fs::remove_file(blob_path(&self.root, d));
        }
    }

    /// Starts writing a blob that arrives in pieces (a download): the bytes go to a temporary
    /// file in the store's blob directory while they are hashed, and become the blob `digest`
    /// only through [`BlobWriter::commit`], after their digest and size are checked. At most
    /// `limit` bytes are accepted. A writer dropped without `commit` leaves nothing behind.
    pub fn blob_writer(&self, digest: &Digest, limit: u64) -> Result<BlobWriter, StoreError> {
        let dir = self.root.join("blobs").join("sha256");
        let file = tempfile::Builder::new()
            .prefix(TMP_PREFIX)
            .tempfile_in(&dir)
            .map_err(|e| io_err("create a temporary file", &dir, e))?;
        Ok(BlobWriter {
            file,
            hasher: Hashing::new(std::io::sink()),
            written: 0,
            limit,
            expected: digest.clone(),
            path: blob_path(&self.root, digest),
            feed: None,
        })
    }

    /// Stores a built image under `reference` (replacing what that tag named before); every
    /// digest is checked, and the image must decode as a Wasm image.
    pub fn add(&self, reference: &str, image: &BuiltImage) -> Result<StoredImage, StoreError> {
        let (pending, decoded) = self.check(reference, &image.manifest, &image.blobs)?;
        self.insert(std::slice::from_ref(&pending))?;
        self.stored(pending.name, image.manifest.clone(), decoded)
    }

    /// Stores several built images with one index update (as [`Store::add`] each, but the
    /// index of a large store is rewritten once, not once per image). All or nothing.
    pub fn add_all(&self, images: &[(&str, &BuiltImage)]) -> Result<(), StoreError> {
        let pending = images
            .iter()
            .map(|(reference, image)| {
                self.check(reference, &image.manifest, &image.blobs)
                    .map(|(pending, _)| pending)
            })
            .collect::<Result<Vec<_>, _>>()?;
        self.insert(&pending)
    }

    /// Everything [`Store::add`] verifies before touching the store.
    fn check<'a>(
        &self,
        reference: &str,
        manifest: &'a [u8],
        blobs: &'a BTreeMap<Digest, Vec<u8>>,
    ) -> Result<(Pending<'a>, image::DecodedImage), StoreError> {
        let (name, digest) = named(reference, manifest)?;
        for (d, data) in blobs {
            let actual = Digest::of(data);
            if &actual != d {
                return Err(StoreError::DigestMismatch {
                    expected: d.to_string(),
                    actual: actual.to_string(),
                });
            }
        }
        let decoded = image::decode(manifest, |d| blobs.get(&d.digest).cloned())?;
        let summary = summary_json(&EntrySummary {
            format: decoded.format,
            module_sha256: Digest::of(&decoded.module).hex().to_owned(),
            module_size: decoded.module.len() as u64,
            abi_versions: decoded.runtime_config.abi_versions.clone(),
            root_ids: decoded.runtime_config.config.root_ids.clone(),
        });
        let pending = Pending {
            name,
            digest,
            manifest,
            media_type: decoded.manifest.media_type().to_string(),
            blob_digests: decoded
                .manifest
                .blobs()
                .iter()
                .map(|d| d.digest.clone())
                .collect(),
            blobs,
            summary,
        };
        Ok((pending, decoded))
    }

    /// Writes checked images' blobs, then the index once, under the lock; on failure removes
    /// the blobs it created, so the store is as it was.
    fn insert(&self, pending: &[Pending<'_>]) -> Result<(), StoreError> {
        let _lock = self.lock(true)?;
        self.insert_locked(pending, Vec::new())
    }

    /// [`Store::insert`] with the lock held by the caller, which may already have created the
    /// blobs `created` (removed too on failure).
    fn insert_locked(
        &self,
        pending: &[Pending<'_>],
        mut created: Vec<PathBuf>,
    ) -> Result<(), StoreError> {
        let result = (|| {
            for p in pending {
                for d in &p.blob_digests {
                    match p.blobs.get(d) {
                        Some(data) => created.extend(self.put_blob(d, data)?),
                        // Streamed in and verified before (a pull, a packaged module's layer);
                        // a `gc` in between may have taken it, as it was not referenced yet.
                        None if self.has_blob(d) => {}
                        None => {
                            return Err(StoreError::Image(ImageError::MissingBlob(d.to_string())));
                        }
                    }
                }
                created.extend(self.put_blob(&p.digest, p.manifest)?);
            }
            let mut index = self.read_index()?;
            let names: BTreeSet<&String> = pending.iter().map(|p| &p.name).collect();
            index.manifests.retain(|e| {
                e.annotations
                    .get(REF_NAME)
                    .is_none_or(|n| !names.contains(n))
            });
            // The last of two images under one name wins, as with two `add` calls.
            let mut entries = BTreeMap::new();
            for p in pending {
                let mut entry = Descriptor::of(&p.media_type, p.manifest);
                entry
                    .annotations
                    .insert(REF_NAME.to_string(), p.name.clone());
                entry
                    .annotations
                    .insert(SUMMARY_ANNOTATION.to_string(), p.summary.clone());
                entries.insert(&p.name, entry);
            }
            index.manifests.extend(entries.into_values());
            index.manifests.sort_by(|a, b| {
                a.annotations
                    .get(REF_NAME)
                    .cmp(&b.annotations.get(REF_NAME))
            });
            self.write_index(&index)
        })();
        if let Err(e) = result {
            // Leave the store as it was: drop the blobs this call added.
            for path in created {
                let _ = std::fs::remove_file(path);
            }
            return Err(e);
        }
        Ok(())
    }

    fn stored(
        &self,
        reference: String,
        manifest_bytes: Vec<u8>,
        decoded: image::DecodedImage,
    ) -> Result<StoredImage, StoreError> {
        let config_bytes = self.read_blob(&decoded.manifest.config.digest)?;
        let size = manifest_bytes.len() as u64
            + decoded.manifest.blobs().iter().map(|d| d.size).sum::<u64>();
        Ok(StoredImage {
            reference,
            manifest_digest: Digest::of(&manifest_bytes),
            manifest_media_type: decoded.manifest.media_type().to_string(),
            format: decoded.format,
            wasm_sha256: Digest::of(&decoded.module).hex().to_owned(),
            root_ids: decoded.runtime_config.config.root_ids,
            abi_versions: decoded.runtime_config.abi_versions,
            size,
            manifest: decoded.manifest,
            manifest_bytes,
            config_bytes,
            wasm: decoded.module,
        })
    }

    /// Reads an image out of the store: its module in memory (it is what the caller wants),
    /// its layers streamed and verified on the way ([`Store::decode_stored`]).
    fn load(&self, reference: String, manifest_digest: &Digest) -> Result<StoredImage, StoreError> {
        let manifest = self.read_blob(manifest_digest)?;
        let mut module = Vec::new();
        let read = self.decode_stored(&manifest, &mut module)?;
        let decoded = image::DecodedImage {
            manifest: read.manifest,
            format: read.format,
            module,
            runtime_config: read.runtime_config,
            config_schema: read.config_schema,
        };
        self.stored(reference, manifest, decoded)
    }

    /// Finds the index entry for `reference`: `(stored name, manifest digest)`.
    fn find(&self, index: &Index, reference: &str) -> Result<(String, Digest), StoreError> {
        let not_found = || StoreError::NotFound {
            reference: reference.to_string(),
            store: self.root.clone(),
        };
        if reference.starts_with("sha256:") {
            let digest: Digest = reference.parse().map_err(|_| not_found())?;
            let entry = index
                .manifests
                .iter()
                .find(|e| e.digest == digest)
                .ok_or_else(not_found)?;
            let name = entry
                .annotations
                .get(REF_NAME)
                .cloned()
                .unwrap_or_else(|| digest.to_string());
            return Ok((name, digest));
        }
        let parsed = reference::parse(reference)?;
        let whole = parsed.whole();
        if let Some(e) = index
            .manifests
            .iter()
            .find(|e| e.annotations.get(REF_NAME) == Some(&whole))
        {
            return Ok((whole, e.digest.clone()));
        }
        if let Some(d) = reference::digest_of(&parsed) {
            // A digest reference resolves to any entry with that manifest, under its own name.
            if index.manifests.iter().any(|e| e.digest == d) {
                return Ok((whole, d));
            }
        }
        Err(not_found())
    }

    /// Finds an image by reference (`x:1`, `reg/x@sha256:…`, or a bare `sha256:…` digest).
    pub fn resolve(&self, reference: &str) -> Result<StoredImage, StoreError> {
        let (name, digest) = {
            let _lock = self.lock(false)?;
            self.find(&self.read_index()?, reference)?
        };
        self.load(name, &digest)
    }

    /// Every image in the store, sorted by reference. Images that cannot be read are returned
    /// as errors in place, so one damaged image does not hide the others.
    pub fn list(&self) -> Result<Vec<Result<ImageSummary, StoreError>>, StoreError> {
        Ok(self.list_named()?.into_iter().map(|(_, r)| r).collect())
    }

    /// [`Store::list`] with each entry's reference, so a damaged image can be named (and
    /// repaired: `package`/`pull` of that reference replaces damaged blobs). Reads the index,
    /// each manifest and config (digests checked) and the layers' sizes on disk, never the
    /// layers themselves: a layer damaged in place is found by the commands that read it.
    pub fn list_named(&self) -> Result<Vec<NamedEntry>, StoreError> {
        let index = {
            let _lock = self.lock(false)?;
            self.read_index()?
        };
        Ok(index
            .manifests
            .iter()
            .map(|e| {
                let name = e
                    .annotations
                    .get(REF_NAME)
                    .cloned()
                    .unwrap_or_else(|| e.digest.to_string());
                (name.clone(), self.summarize(name, e))
            })
            .collect())
    }

    /// The summary of one index entry (see [`Store::list_named`]); an entry written before
    /// summaries were recorded, or by another tool, is decoded whole instead.
    fn summarize(&self, reference: String, entry: &Descriptor) -> Result<ImageSummary, StoreError> {
        let Some(recorded) = entry
            .annotations
            .get(SUMMARY_ANNOTATION)
            .and_then(|s| serde_json::from_str::<EntrySummary>(s).ok())
        else {
            return self.summary_by_decoding(reference, &entry.digest);
        };
        let manifest_bytes = self.read_blob(&entry.digest)?;
        let manifest = Manifest::parse(&manifest_bytes)?;
        self.read_blob(&manifest.config.digest)?;
        for d in manifest.layers.iter() {
            let path = blob_path(&self.root, &d.digest);
            match std::fs::metadata(&path) {
                Ok(m) if m.len() == d.size => {}
                Ok(m) => {
                    return Err(StoreError::Corrupt(format!(
                        "blob {} holds {} bytes, its manifest says {}",
                        d.digest,
                        m.len(),
                        d.size
                    )));
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    return Err(StoreError::Corrupt(format!("blob {} is missing", d.digest)));
                }
                Err(e) => return Err(io_err("read", &path, e)),
            }
        }
        Ok(ImageSummary {
            reference,
            manifest_digest: entry.digest.clone(),
            manifest_media_type: manifest.media_type().to_string(),
            format: recorded.format,
            wasm_sha256: recorded.module_sha256,
            module_size: recorded.module_size,
            root_ids: recorded.root_ids,
            abi_versions: recorded.abi_versions,
            size: manifest_bytes.len() as u64
                + manifest.blobs().iter().map(|d| d.size).sum::<u64>(),
        })
    }

    /// Gives the image `src` the extra name `dst` (a tag reference).
    pub fn tag(&self, src: &str, dst: &str) -> Result<ImageSummary, StoreError> {
        let target = reference::parse(dst)?;
        if target.digest().is_some() {
            return Err(StoreError::DigestAsTag(dst.to_string()));
        }
        let name = target.whole();
        let new = {
            let _lock = self.lock(true)?;
            let mut index = self.read_index()?;
            let (_, digest) = self.find(&index, src)?;
            // Any entry of that manifest: a recorded summary describes the manifest, not the name.
            let entry = index
                .manifests
                .iter()
                .find(|e| e.digest == digest)
                .cloned()
                .ok_or_else(|| StoreError::Corrupt(format!("no index entry for {digest}")))?;
            index
                .manifests
                .retain(|e| e.annotations.get(REF_NAME) != Some(&name));
            let mut new = entry;
            new.annotations.insert(REF_NAME.to_string(), name.clone());
            index.manifests.push(new.clone());
            index.manifests.sort_by(|a, b| {
                a.annotations
                    .get(REF_NAME)
                    .cmp(&b.annotations.get(REF_NAME))
            });
            self.write_index(&index)?;
            new
        };
        self.summarize(name, &new)
    }

    /// Removes `reference` (for a digest reference or bare digest: every name of that
    /// manifest) and garbage-collects blobs no remaining image uses.
    pub fn remove(&self, reference: &str) -> Result<GcReport, StoreError> {
        let _lock = self.lock(true)?;
        let mut index = self.read_index()?;
        let (name, digest) = self.find(&index, reference)?;
        let by_digest = reference.starts_with("sha256:")
            || reference::parse(reference).is_ok_and(|r| r.digest().is_some());
        let mut untagged = Vec::new();
        index.manifests.retain(|e| {
            let entry_name = e.annotations.get(REF_NAME).cloned().unwrap_or_default();
            let hit = if by_digest {
                e.digest == digest
            } else {
                entry_name == name
            };
            if hit {
                untagged.push(entry_name);
            }
            !hit
        });
        self.write_index(&index)?;
        let mut report = self.gc_locked(&index)?;
        report.untagged = untagged;
        Ok(report)
    }

    /// Deletes blobs no image uses and temporary files left by killed processes.
    pub fn gc(&self) -> Result<GcReport, StoreError> {
        let _lock = self.lock(true)?;
        let index = self.read_index()?;
        self.gc_locked(&index)
    }

    fn gc_locked(&self, index: &Index) -> Result<GcReport, StoreError> {
        let mut keep = BTreeSet::new();
        for entry in &index.manifests {
            keep.insert(entry.digest.clone());
            // A manifest that cannot be read keeps only itself; its blobs may still be needed
            // by a later repair, but we cannot tell which, so keep every blob in that case.
            match self
                .read_blob(&entry.digest)
                .ok()
                .and_then(|m| Manifest::parse(&m).ok())
            {
                Some(m) => keep.extend(m.blobs().iter().map(|d| d.digest.clone())),
                None => return Ok(GcReport::default()),
            }
        }
        // Signatures and attestations stay with their image (`referrers`).
        self.keep_referrers(&mut keep)?;
        let mut report = GcReport::default();
        let dir = self.root.join("blobs").join("sha256");
        let entries = std::fs::read_dir(&dir).map_err(|e| io_err("list", &dir, e))?;
        for entry in entries.flatten() {
            let file_name = entry.file_name();
            let name = file_name.to_string_lossy();
            let meta = entry.metadata().ok();
            let stale_tmp = name.starts_with(TMP_PREFIX)
                && meta
                    .as_ref()
                    .and_then(|m| m.modified().ok())
                    .and_then(|t| t.elapsed().ok())
                    .is_some_and(|age| age > STALE_TMP);
            let unused = !name.starts_with(TMP_PREFIX)
                && !Digest::from_hex(&name).is_ok_and(|d| keep.contains(&d));
            if (stale_tmp || unused) && std::fs::remove_file(entry.path()).is_ok() {
                report.blobs_deleted += usize::from(unused);
                report.bytes_freed += meta.map_or(0, |m| m.len());
            }
        }
        Ok(report)
    }
}
