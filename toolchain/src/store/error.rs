//! [`StoreError`]: every way a store operation fails, each saying what to do about it.

use crate::image::ImageError;
use crate::reference::ReferenceError;
use std::path::PathBuf;

/// Why a store operation failed. Nothing in the store changes when one is returned.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The reference does not parse.
    #[error(transparent)]
    Reference(#[from] ReferenceError),
    /// No image under that reference.
    #[error(
        "no image `{reference}` in the local store ({store}): run `cargo wasme images` to see what \
         is there, build it with `cargo wasme build --tag {reference}` or fetch it with \
         `cargo wasme pull {reference}`"
    )]
    NotFound {
        /// The reference asked for.
        reference: String,
        /// The store's directory.
        store: PathBuf,
    },
    /// A digest prefix matches more than one image.
    #[error(
        "`{prefix}` is ambiguous: it starts the digests of {n} images ({list}); type more digits",
        n = matches.len(),
        list = matches.join(", ")
    )]
    AmbiguousPrefix {
        /// The prefix given.
        prefix: String,
        /// The manifest digests it matches.
        matches: Vec<String>,
    },
    /// A digest reference cannot be a tag target.
    #[error("`{0}` is a digest reference; a new name needs a tag (REPOSITORY:TAG)")]
    DigestAsTag(String),
    /// The disk is full (or a quota or file size limit was hit).
    #[error(
        "cannot {action} {path}: the disk is full or a quota/file-size limit was reached ({source}); \
         free some space (`cargo wasme rmi` removes images) or point WASME_HOME at another disk"
    )]
    DiskFull {
        /// What was being done.
        action: String,
        /// Where.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The store directory cannot be written.
    #[error(
        "cannot {action} {path}: the store is not writable ({source}); fix its permissions or set \
         WASME_HOME to a writable directory"
    )]
    NotWritable {
        /// What was being done.
        action: String,
        /// Where.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// Another I/O error.
    #[error("cannot {action} {path}: {source}")]
    Io {
        /// What was being done.
        action: String,
        /// Where.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A file in the store does not hold what it should.
    #[error(
        "the local store is damaged: {0}; build (`cargo wasme package`) or pull the image again: \
         damaged blobs are replaced"
    )]
    Corrupt(String),
    /// Content offered to the store is larger than allowed.
    #[error("{what} is larger than the {limit}-byte limit: refusing to store it")]
    TooLarge {
        /// What was being written.
        what: String,
        /// The limit in bytes.
        limit: u64,
    },
    /// A blob given to the store does not match its digest.
    #[error(
        "blob content does not match its digest {expected} (got {actual}): refusing to store it"
    )]
    DigestMismatch {
        /// The digest claimed.
        expected: String,
        /// The digest of the bytes.
        actual: String,
    },
    /// The module read while packaging is not the one checked before it (its file changed).
    #[error(
        "the module changed while it was packaged (checked {expected}, read {actual}): nothing \
         was stored; package it again"
    )]
    ModuleChanged {
        /// The digest of the module checked.
        expected: String,
        /// The digest of the module read.
        actual: String,
    },
    /// The image is not a usable Wasm image.
    #[error(transparent)]
    Image(#[from] ImageError),
    /// `WASME_HOME` or its `store` exists but is not a directory.
    #[error(
        "{} is not a directory: point WASME_HOME at a directory (the store goes in its `store` \
         subdirectory) or unset it to use the default",
        .0.display()
    )]
    NotADirectory(PathBuf),
    /// Neither `WASME_HOME` nor a user data directory is known.
    #[error("cannot find a place for the local store: set WASME_HOME to a directory")]
    NoHome,
}
