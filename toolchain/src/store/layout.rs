//! The on-disk OCI image layout: `oci-layout`, `index.json`, `blobs/sha256/<hex>`; atomic
//! writes and the inter-process lock.
//!
//! Every file is written to a temporary file in its final directory (`.tmp-*`), synced, then
//! renamed into place, so a reader (or a process killed half-way) never sees a partial file.
//! Blobs are content-addressed and go in first; `index.json`, which makes an image visible, is
//! replaced last. Writers hold an exclusive `flock` on `.wasme.lock` for the whole
//! read-modify-write (std's `File::lock`, no crate needed).

use super::StoreError;
use crate::image::Descriptor;
use crate::reference::Digest;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

/// The annotation naming an index entry's reference.
pub const REF_NAME: &str = "org.opencontainers.image.ref.name";
/// Prefix of temporary files.
pub const TMP_PREFIX: &str = ".tmp-";

/// `index.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Index {
    /// Always 2.
    pub schema_version: u32,
    /// The index media type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    /// One entry per reference.
    #[serde(default)]
    pub manifests: Vec<Descriptor>,
    /// Index annotations (kept as found).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

impl Default for Index {
    fn default() -> Self {
        Index {
            schema_version: 2,
            media_type: Some(crate::image::OCI_INDEX.to_string()),
            manifests: Vec::new(),
            annotations: BTreeMap::new(),
        }
    }
}

/// Maps an I/O error to a store error that names the cause and the fix.
pub fn io_err(action: &str, path: &Path, e: std::io::Error) -> StoreError {
    use std::io::ErrorKind as K;
    match e.kind() {
        K::StorageFull | K::FileTooLarge | K::QuotaExceeded => StoreError::DiskFull {
            action: action.to_string(),
            path: path.to_path_buf(),
            source: e,
        },
        K::PermissionDenied | K::ReadOnlyFilesystem | K::NotADirectory => StoreError::NotWritable {
            action: action.to_string(),
            path: path.to_path_buf(),
            source: e,
        },
        _ => StoreError::Io {
            action: action.to_string(),
            path: path.to_path_buf(),
            source: e,
        },
    }
}

/// Writes `data` to `path` atomically (temp file in the same directory, fsync, rename).
pub fn write_atomic(path: &Path, data: &[u8]) -> Result<(), StoreError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut tmp = tempfile::Builder::new()
        .prefix(TMP_PREFIX)
        .tempfile_in(dir)
        .map_err(|e| io_err("create a temporary file", dir, e))?;
    tmp.write_all(data)
        .and_then(|()| tmp.as_file().sync_all())
        .map_err(|e| io_err("write", path, e))?;
    tmp.persist(path)
        .map_err(|e| io_err("rename into place", path, e.error))?;
    Ok(())
}

/// The inter-process lock on a store; released on drop.
pub struct Lock(File);

impl Lock {
    /// Takes the lock at `path`, exclusive or shared, waiting for other processes.
    pub fn take(path: &Path, exclusive: bool) -> Result<Lock, StoreError> {
        let file = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path)
            .map_err(|e| io_err("open the lock file", path, e))?;
        let locked = if exclusive {
            file.lock()
        } else {
            file.lock_shared()
        };
        locked.map_err(|e| io_err("lock", path, e))?;
        Ok(Lock(file))
    }
}

impl Drop for Lock {
    fn drop(&mut self) {
        // Closing the file releases the lock too; unlocking explicitly is just tidier.
        let _ = self.0.unlock();
    }
}

/// The path of the blob with `digest` under `root` (a [`Digest`] is always 64 hex digits, so
/// the path cannot escape the directory).
pub fn blob_path(root: &Path, digest: &Digest) -> PathBuf {
    root.join("blobs").join("sha256").join(digest.hex())
}
