//! The store's streaming paths: images whose layers never sit in memory. A pull's blobs are
//! streamed into the store ([`super::BlobWriter`]), the image decoded on a second thread as
//! its largest blob arrives ([`Store::decode_beside`]), and the image then recorded from its
//! manifest ([`Store::add_pulled`]); a module file is packaged straight into a layer blob
//! ([`Store::add_module`]); reading an image back streams each blob through its digest
//! ([`Store::decode_stored`]); a push reads only the manifest ([`Store::manifest_of`]). Memory
//! stays the same for a 100 KiB and a 100 MiB layer (the transfer and store benchmarks
//! measure it).

use super::layout::{TMP_PREFIX, blob_path, io_err};
use super::{EntrySummary, ImageSummary, Pending, Store, StoreError, named, summary_json};
use crate::image::layer::Hashing;
use crate::image::{self, DecodedStream, ImageError, ImageSpec, Manifest};
use crate::reference::Digest;
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::io::{Read, Write};

/// A file that keeps its first write error (the layer writer above it reports the error as
/// a layer error; the store reports it as the disk's).
struct WriteFailure {
    file: tempfile::NamedTempFile,
    error: std::rc::Rc<RefCell<Option<std::io::Error>>>,
}

impl Write for WriteFailure {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.file.write(buf).inspect_err(|e| {
            self.error
                .borrow_mut()
                .get_or_insert_with(|| std::io::Error::new(e.kind(), e.to_string()));
        })
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.file.flush()
    }
}

/// How many chunks of a blob may wait for a [`DecodeBeside`] (each is one read of the
/// download, a few hundred KiB at most): memory stays bounded whatever the blob's size.
const FEED_DEPTH: usize = 16;

/// What a [`BlobWriter`](super::BlobWriter) hands its decode.
enum Feed {
    /// The next bytes of the blob.
    Data(bytes::Bytes),
    /// The blob is complete, its digest checked and the blob in place.
    End,
}

/// The writing side of a [`DecodeBeside`], held by the blob writer that feeds it.
pub(super) struct Feeder(Option<std::sync::mpsc::SyncSender<Feed>>);

impl Feeder {
    /// Passes `data` on (waiting while the decode is [`FEED_DEPTH`] chunks behind); once the
    /// decode has stopped reading (it failed, or it is done with this blob) nothing more is
    /// sent.
    pub(super) fn data(&mut self, data: bytes::Bytes) {
        if let Some(tx) = &self.0
            && tx.send(Feed::Data(data)).is_err()
        {
            self.0 = None;
        }
    }

    /// Tells the decode its blob is complete and verified.
    pub(super) fn end(mut self) {
        if let Some(tx) = self.0.take() {
            let _ = tx.send(Feed::End);
        }
    }
}

/// The reading side: the blob as a reader for [`image::decode_to`]. A feed that stops without
/// [`Feed::End`] (the download failed, was retried or its digest did not match) is an error.
struct Fed {
    rx: std::sync::mpsc::Receiver<Feed>,
    current: bytes::Bytes,
    ended: bool,
}

impl Read for Fed {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        loop {
            if !self.current.is_empty() || buf.is_empty() {
                let n = self.current.len().min(buf.len());
                buf[..n].copy_from_slice(&self.current.split_to(n));
                return Ok(n);
            }
            if self.ended {
                return Ok(0);
            }
            match self.rx.recv() {
                Ok(Feed::Data(data)) => self.current = data,
                Ok(Feed::End) => self.ended = true,
                Err(_) => {
                    return Err(std::io::Error::new(
                        std::io::ErrorKind::UnexpectedEof,
                        "the download of the blob stopped before it was verified",
                    ));
                }
            }
        }
    }
}

/// An image being decoded on its own thread while its largest blob is downloaded into the
/// store ([`Store::decode_beside`]): a pull then ends when the download does, not a second
/// pass over the layer later (gunzip, untar and the module's sha256 cost about as much CPU
/// as receiving, hashing and writing the layer). It is handed to
/// [`Store::add_pulled`], which records what it read only if the blob writer that fed it
/// committed (its digest checked); in every other case the image is decoded again from the
/// store as without it, so a failure reads exactly as it always has.
pub struct DecodeBeside {
    /// The digest of the manifest decoded: [`Store::add_pulled`] uses the result for that
    /// manifest only.
    manifest: Digest,
    blob: Digest,
    feeder: Option<Feeder>,
    thread: std::thread::JoinHandle<Result<DecodedStream, StoreError>>,
}

impl DecodeBeside {
    /// The blob this decode reads as it is downloaded.
    pub fn blob(&self) -> &Digest {
        &self.blob
    }

    /// The feeder, to the first writer that asks.
    pub(super) fn take_feeder(&mut self) -> Option<Feeder> {
        self.feeder.take()
    }

    /// What the decode read, if it read the whole image and its blob was committed.
    fn finish(self) -> Option<DecodedStream> {
        // A feeder never handed out (the blob was not downloaded) ends the decode here.
        drop(self.feeder);
        self.thread.join().ok()?.ok()
    }
}

/// What a push needs of a stored image: its summary and manifest, no layer.
#[derive(Debug, Clone)]
pub struct StoredManifest {
    /// What `images` shows of it.
    pub summary: ImageSummary,
    /// The parsed manifest.
    pub manifest: Manifest,
    /// The manifest bytes.
    pub bytes: Vec<u8>,
}

/// A blob file read through a hash (see [`Store::decode_stored`]): at its end, or when it is
/// dropped before (after reading the rest), content that does not match its digest is
/// recorded in `failure` (and at the end also fails the read), so a damaged blob is reported
/// as damage, not as whatever the decoder made of it.
struct VerifiedBlob<'f> {
    file: std::fs::File,
    hashing: Hashing<std::io::Sink>,
    digest: Digest,
    ended: bool,
    /// Whether to hash at all: not for a blob this process has just written and verified.
    verify: bool,
    failure: &'f std::cell::RefCell<Option<StoreError>>,
}

impl VerifiedBlob<'_> {
    fn end(&mut self) -> std::io::Result<()> {
        self.ended = true;
        if !self.verify {
            return Ok(());
        }
        let (_, actual, _) =
            std::mem::replace(&mut self.hashing, Hashing::new(std::io::sink())).finish();
        if actual == self.digest {
            return Ok(());
        }
        let message = format!("blob {} holds content with digest {actual}", self.digest);
        self.failure
            .borrow_mut()
            .get_or_insert(StoreError::Corrupt(message.clone()));
        Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            message,
        ))
    }
}

impl std::io::Read for VerifiedBlob<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.ended {
            return Ok(0);
        }
        let n = self.file.read(buf)?;
        if n == 0 {
            self.end()?;
        } else if self.verify {
            self.hashing.update(&buf[..n]);
        }
        Ok(n)
    }
}

impl Drop for VerifiedBlob<'_> {
    fn drop(&mut self) {
        if self.ended || !self.verify {
            return;
        }
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            match std::io::Read::read(&mut self.file, &mut buf) {
                Ok(0) => break,
                Ok(n) => self.hashing.update(&buf[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(_) => return,
            }
        }
        let _ = self.end();
    }
}

impl Store {
    /// Reads the image `manifest` describes from the store's blobs, each streamed through its
    /// digest, writing the module to `module` as it is unpacked: no layer is held in memory
    /// (pass [`std::io::sink`] to learn only the module's digest and size). A missing or
    /// damaged blob is [`StoreError::Corrupt`].
    pub fn decode_stored(
        &self,
        manifest: &[u8],
        module: &mut dyn Write,
    ) -> Result<DecodedStream, StoreError> {
        self.decode_stored_with(manifest, module, &[], &mut |_| None)
    }

    /// Starts decoding the image `manifest` describes on a thread of its own, reading the blob
    /// `blob` as a [`BlobWriter`](super::BlobWriter) writes it ([`BlobWriter::feed`](
    /// super::BlobWriter::feed)) and every other blob from the store (where they must be
    /// already; those in `fresh` were just verified and are not hashed again). At most
    /// [`FEED_DEPTH`] chunks wait between the two. Pass it to [`Store::add_pulled`].
    pub fn decode_beside(
        &self,
        manifest: &[u8],
        blob: &Digest,
        fresh: &[Digest],
    ) -> Result<DecodeBeside, StoreError> {
        let (tx, rx) = std::sync::mpsc::sync_channel(FEED_DEPTH);
        let mut reader = Some(Fed {
            rx,
            current: bytes::Bytes::new(),
            ended: false,
        });
        let manifest_digest = Digest::of(manifest);
        let (store, manifest, fresh, streamed) = (
            self.clone(),
            manifest.to_vec(),
            fresh.to_vec(),
            blob.clone(),
        );
        let thread = std::thread::Builder::new()
            .name("wasme-decode".into())
            .spawn(move || {
                store.decode_stored_with(&manifest, &mut std::io::sink(), &fresh, &mut |d| {
                    if *d == streamed { reader.take() } else { None }
                })
            })
            .map_err(|e| io_err("start a thread in", &self.root, e))?;
        Ok(DecodeBeside {
            manifest: manifest_digest,
            blob: blob.clone(),
            feeder: Some(Feeder(Some(tx))),
            thread,
        })
    }

    /// [`Store::decode_stored`] that does not hash the blobs `fresh` again (this process has
    /// just written and verified them), and reads a blob from `fed` when it has one for it
    /// (verified by the writer feeding it, see [`Store::decode_beside`]).
    fn decode_stored_with(
        &self,
        manifest: &[u8],
        module: &mut dyn Write,
        fresh: &[Digest],
        fed: &mut dyn FnMut(&Digest) -> Option<Fed>,
    ) -> Result<DecodedStream, StoreError> {
        let failure = RefCell::new(None);
        let result = image::decode_to(
            manifest,
            |d| {
                if let Some(reader) = fed(&d.digest) {
                    return Ok(Box::new(reader) as Box<dyn Read>);
                }
                let path = blob_path(&self.root, &d.digest);
                match std::fs::File::open(&path) {
                    Ok(file) => Ok(Box::new(VerifiedBlob {
                        file,
                        hashing: Hashing::new(std::io::sink()),
                        digest: d.digest.clone(),
                        ended: false,
                        verify: !fresh.contains(&d.digest),
                        failure: &failure,
                    }) as Box<dyn Read>),
                    Err(e) => {
                        failure.borrow_mut().get_or_insert(
                            if e.kind() == std::io::ErrorKind::NotFound {
                                StoreError::Corrupt(format!("blob {} is missing", d.digest))
                            } else {
                                io_err("read", &path, e)
                            },
                        );
                        Err(ImageError::MissingBlob(d.digest.to_string()))
                    }
                }
            },
            module,
        );
        // Every reader is dropped (and so checked) by now: damage is reported as damage.
        if let Some(e) = failure.into_inner() {
            return Err(e);
        }
        Ok(result?)
    }

    /// The summary of the image at `manifest_digest`, decoded (streamed) from its blobs: for
    /// an index entry without a recorded summary (written by another tool).
    pub(super) fn summary_by_decoding(
        &self,
        reference: String,
        manifest_digest: &Digest,
    ) -> Result<ImageSummary, StoreError> {
        let bytes = self.read_blob(manifest_digest)?;
        let read = self.decode_stored(&bytes, &mut std::io::sink())?;
        Ok(summary_of(
            reference,
            manifest_digest,
            &bytes,
            &read.manifest,
            entry_of(&read),
        ))
    }

    /// Records the image `manifest` under `reference` once every blob it names is in the store
    /// (streamed in and verified by a pull through [`Store::blob_writer`]): the image is decoded
    /// from the store, streamed, and must be a Wasm image; then the manifest and the index
    /// entry are written. A refused image leaves nothing behind: the blobs it named that no
    /// other image uses are deleted again. The blobs `fresh` were just written through
    /// [`Store::blob_writer`] by the caller, which verified them: they are not hashed again.
    /// With `beside`, the decode already ran while a blob was downloaded: what it read is
    /// used when it succeeded on a committed blob, else the image is decoded from the store.
    pub fn add_pulled(
        &self,
        reference: &str,
        manifest: &[u8],
        fresh: &[Digest],
        beside: Option<DecodeBeside>,
    ) -> Result<ImageSummary, StoreError> {
        let (name, digest) = named(reference, manifest)?;
        let beside = beside.filter(|b| b.manifest == digest);
        let read = match beside.and_then(DecodeBeside::finish) {
            Some(read) => Ok(read),
            None => self.decode_stored_with(manifest, &mut std::io::sink(), fresh, &mut |_| None),
        };
        let read = match read {
            Ok(read) => read,
            Err(e) => {
                if let Ok(parsed) = Manifest::parse(manifest) {
                    let given: Vec<Digest> =
                        parsed.blobs().iter().map(|d| d.digest.clone()).collect();
                    self.discard_unreferenced(&given);
                }
                return Err(e);
            }
        };
        let entry = entry_of(&read);
        let pending = Pending {
            name: name.clone(),
            digest: digest.clone(),
            manifest,
            media_type: read.manifest.media_type().to_string(),
            blob_digests: read
                .manifest
                .blobs()
                .iter()
                .map(|d| d.digest.clone())
                .collect(),
            blobs: &BTreeMap::new(),
            summary: summary_json(&entry),
        };
        self.insert(std::slice::from_ref(&pending))?;
        Ok(summary_of(name, &digest, manifest, &read.manifest, entry))
    }

    /// Packages the module read from `module` (exactly `module_len` bytes, with the digest
    /// `expected` when given: a module checked before it is packaged) as an image in
    /// `spec`'s format and stores it under `reference`: the layer is built straight into a
    /// temporary file in the store (never in memory), read back once through the same decoder
    /// every reader uses (streamed), and made visible with the image's other blobs and index
    /// entry under the lock. On any failure the store is as it was.
    pub fn add_module(
        &self,
        reference: &str,
        module: &mut dyn Read,
        module_len: u64,
        expected: Option<&Digest>,
        spec: &ImageSpec,
    ) -> Result<ImageSummary, StoreError> {
        crate::reference::parse(reference)?;
        let dir = self.root.join("blobs").join("sha256");
        let tmp = tempfile::Builder::new()
            .prefix(TMP_PREFIX)
            .tempfile_in(&dir)
            .map_err(|e| io_err("create a temporary file", &dir, e))?;
        let path = tmp.path().to_path_buf();
        let error = std::rc::Rc::new(RefCell::new(None));
        let out = std::io::BufWriter::with_capacity(
            256 * 1024,
            WriteFailure {
                file: tmp,
                error: error.clone(),
            },
        );
        // A failed write (a full disk, a file-size limit) is reported as what it is, not as
        // a broken layer.
        let written = image::build_to(module, module_len, spec, out)
            .map_err(StoreError::from)
            .and_then(|streamed| {
                let out = streamed.out.into_inner().map_err(|e| {
                    let e = e.into_error();
                    io_err("write", &path, e)
                });
                out.map(|sink| (streamed.image, streamed.layer, streamed.module, sink.file))
            });
        if let Some(e) = error.borrow_mut().take() {
            return Err(io_err("write", &path, e));
        }
        let (built, layer, module_facts, tmp) = written?;
        tmp.as_file()
            .sync_all()
            .map_err(|e| io_err("write", tmp.path(), e))?;
        let (name, digest) = named(reference, &built.manifest)?;
        // Read back as every reader reads it: small blobs from memory, the layer from its file.
        let failure = RefCell::new(None);
        let read = image::decode_to(
            &built.manifest,
            |d| {
                if let Some(data) = built.blobs.get(&d.digest) {
                    return Ok(Box::new(std::io::Cursor::new(data.clone())) as Box<dyn Read>);
                }
                if d.digest != layer.digest {
                    return Err(ImageError::MissingBlob(d.digest.to_string()));
                }
                let file = tmp.reopen().map_err(|e| ImageError::Layer(e.to_string()))?;
                Ok(Box::new(VerifiedBlob {
                    file,
                    hashing: Hashing::new(std::io::sink()),
                    digest: d.digest.clone(),
                    ended: false,
                    verify: true,
                    failure: &failure,
                }) as Box<dyn Read>)
            },
            &mut std::io::sink(),
        );
        if let Some(e) = failure.into_inner() {
            return Err(e);
        }
        let read = read?;
        if read.module != module_facts {
            return Err(StoreError::Corrupt(format!(
                "the image just built reads back as module {} ({} bytes), not {} ({} bytes)",
                read.module.sha256, read.module.size, module_facts.sha256, module_facts.size
            )));
        }
        if let Some(expected) = expected
            && *expected != read.module.sha256
        {
            return Err(StoreError::ModuleChanged {
                expected: expected.to_string(),
                actual: read.module.sha256.to_string(),
            });
        }
        let entry = entry_of(&read);
        let pending = Pending {
            name: name.clone(),
            digest: digest.clone(),
            manifest: &built.manifest,
            media_type: built.media_type.clone(),
            blob_digests: read
                .manifest
                .blobs()
                .iter()
                .map(|d| d.digest.clone())
                .collect(),
            blobs: &built.blobs,
            summary: summary_json(&entry),
        };
        let _lock = self.lock(true)?;
        let mut created = Vec::new();
        let layer_path = blob_path(&self.root, &layer.digest);
        if self.blob_is_intact(&layer.digest) {
            drop(tmp);
        } else {
            tmp.persist(&layer_path)
                .map_err(|e| io_err("rename into place", &layer_path, e.error))?;
            created.push(layer_path);
        }
        self.insert_locked(std::slice::from_ref(&pending), created)?;
        Ok(summary_of(
            name,
            &digest,
            &built.manifest,
            &read.manifest,
            entry,
        ))
    }

    /// The manifest and summary of the image `reference` names, without reading a layer:
    /// what a push needs (it streams each blob from its file, verifying it on the way).
    pub fn manifest_of(&self, reference: &str) -> Result<StoredManifest, StoreError> {
        let (name, digest) = {
            let _lock = self.lock(false)?;
            self.find(&self.read_index()?, reference)?
        };
        let bytes = self.read_blob(&digest)?;
        let manifest = Manifest::parse(&bytes)?;
        let entry = {
            let _lock = self.lock(false)?;
            self.read_index()?
                .manifests
                .into_iter()
                .find(|e| e.digest == digest)
        };
        let summary = match entry {
            Some(entry) => self.summarize(name, &entry)?,
            None => self.summary_by_decoding(name, &digest)?,
        };
        Ok(StoredManifest {
            summary,
            manifest,
            bytes,
        })
    }
}

/// What the index records of a decoded image.
fn entry_of(read: &DecodedStream) -> EntrySummary {
    EntrySummary {
        format: read.format,
        module_sha256: read.module.sha256.hex().to_owned(),
        module_size: read.module.size,
        abi_versions: read.runtime_config.abi_versions.clone(),
        root_ids: read.runtime_config.config.root_ids.clone(),
    }
}

/// An [`ImageSummary`] from its parts.
fn summary_of(
    reference: String,
    manifest_digest: &Digest,
    manifest_bytes: &[u8],
    manifest: &Manifest,
    entry: EntrySummary,
) -> ImageSummary {
    ImageSummary {
        reference,
        manifest_digest: manifest_digest.clone(),
        manifest_media_type: manifest.media_type().to_string(),
        format: entry.format,
        wasm_sha256: entry.module_sha256,
        module_size: entry.module_size,
        root_ids: entry.root_ids,
        abi_versions: entry.abi_versions,
        size: manifest_bytes.len() as u64 + manifest.blobs().iter().map(|d| d.size).sum::<u64>(),
    }
}
