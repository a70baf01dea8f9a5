//! Finding images the way docker, oras and crane let people name them in local commands: by a
//! unique prefix of the manifest digest (`cargo wasme inspect 3f2a9c1b7d0e`), and opening the
//! store for commands that only read it without creating one.

use super::layout::{Index, REF_NAME};
use super::{Store, StoreError};
use crate::reference::Digest;

/// The shortest digest prefix accepted (docker's short ids are 12 hex digits).
pub const MIN_PREFIX: usize = 12;

/// The hex digits of `arg` when it has the shape of a digest prefix: 12 to 64 lower-case hex
/// digits, with or without `sha256:`.
fn prefix_hex(arg: &str) -> Option<&str> {
    let hex = arg.strip_prefix("sha256:").unwrap_or(arg);
    (hex.len() >= MIN_PREFIX
        && hex.len() <= 64
        && hex
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)))
    .then_some(hex)
}

impl Store {
    /// Opens the store at [`Store::default_path`] only when it exists: `Ok(None)` when nothing
    /// was ever built or pulled. Commands that only read (`images`, `inspect`, `export`,
    /// `run IMAGE`, `test`) use this, so they never create a store as a side effect.
    pub fn open_default_existing() -> Result<Option<Store>, StoreError> {
        let path = Store::default_path()?;
        if path.join("index.json").is_file() {
            Ok(Some(Store::open(path)?))
        } else {
            Ok(None)
        }
    }

    /// The error for `reference` in a store that does not exist at all.
    pub fn absent(reference: &str) -> Result<StoreError, StoreError> {
        Ok(StoreError::NotFound {
            reference: reference.to_string(),
            store: Store::default_path()?,
        })
    }

    /// What a local command should look up for `arg`: `arg` itself, unless it names no image
    /// and has the shape of a digest prefix (≥ 12 hex digits, with or without `sha256:`), in
    /// which case the full `sha256:` digest of the one image whose manifest digest starts with
    /// it. Fails when the prefix matches several manifests ([`StoreError::AmbiguousPrefix`]).
    pub fn expand_prefix(&self, arg: &str) -> Result<String, StoreError> {
        let Some(hex) = prefix_hex(arg) else {
            return Ok(arg.to_string());
        };
        let index = self.read_index_shared()?;
        Ok(match_prefix(&index, arg, hex)?
            .map(|d| d.to_string())
            .unwrap_or_else(|| arg.to_string()))
    }

    /// [`Store::resolve`] that also accepts a unique digest prefix ([`Store::expand_prefix`]).
    pub fn resolve_local(&self, arg: &str) -> Result<super::StoredImage, StoreError> {
        self.resolve(&self.expand_prefix(arg)?)
    }

    fn read_index_shared(&self) -> Result<Index, StoreError> {
        let _lock = self.lock(false)?;
        self.read_index()
    }
}

/// The one manifest digest `hex` is a prefix of; `None` when `arg` is also an image's name
/// (names win, as in docker) or no digest matches.
fn match_prefix(index: &Index, arg: &str, hex: &str) -> Result<Option<Digest>, StoreError> {
    let named = index.manifests.iter().any(|e| {
        e.annotations
            .get(REF_NAME)
            .is_some_and(|n| n == arg || n.ends_with(&format!("/{arg}:latest")))
    });
    if named {
        return Ok(None);
    }
    let mut hits: Vec<&Digest> = index
        .manifests
        .iter()
        .map(|e| &e.digest)
        .filter(|d| d.hex().starts_with(hex))
        .collect();
    hits.sort();
    hits.dedup();
    match hits.as_slice() {
        [] => Ok(None),
        [one] => Ok(Some((*one).clone())),
        many => Err(StoreError::AmbiguousPrefix {
            prefix: arg.to_string(),
            matches: many.iter().map(|d| d.to_string()).collect(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::prefix_hex;

    #[test]
    fn prefix_shape() {
        assert_eq!(prefix_hex("sha256:0123456789ab"), Some("0123456789ab"));
        assert_eq!(prefix_hex("0123456789abcdef"), Some("0123456789abcdef"));
        assert_eq!(prefix_hex("0123456789a"), None, "11 digits are too short");
        assert_eq!(prefix_hex("my-filter:1.0"), None);
        assert_eq!(prefix_hex("0123456789AB"), None, "digests are lower-case");
    }
}
