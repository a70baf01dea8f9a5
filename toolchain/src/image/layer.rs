//! The compat image's layer: a reproducible tar+gzip holding `plugin.wasm` (and
//! `runtime-config.json`), and reading a module back out of such a layer.
//!
//! Reproducible means the same input gives the same bytes on every machine: entries in a fixed
//! order, mode 0644, uid/gid 0, empty user and group names, one fixed mtime (0 or
//! `SOURCE_DATE_EPOCH`), gzip with mtime 0, no file name, level 9, always the pure-Rust
//! (miniz_oxide) backend.

use super::ImageError;
use crate::reference::Digest;
use flate2::Compression;
use std::io::{Read, Write};

/// The file name Istio's agent looks for in a compat layer.
pub const MODULE_ENTRY: &str = "plugin.wasm";
/// The metadata file stored beside the module.
pub const RUNTIME_CONFIG_ENTRY: &str = "runtime-config.json";
/// The largest module Istio's agent accepts (256 MiB); reading stops there.
pub const MAX_MODULE_SIZE: u64 = 256 * 1024 * 1024;

/// A layer built in memory: the digest of its uncompressed tar (for `rootfs.diff_ids`) and
/// its gzip.
pub struct Layer {
    /// The sha256 of the uncompressed tar.
    pub diff_id: Digest,
    /// The tar+gzip bytes.
    pub gzip: Vec<u8>,
}

static COMPRESSION_OBSERVER: std::sync::OnceLock<fn(u64, u64)> = std::sync::OnceLock::new();

/// Sets the process-wide observer of layer compression, called with (bytes compressed, total)
/// after each MiB; the first call wins (later ones return `false`). For progress bars.
pub fn observe_compression(observer: fn(u64, u64)) -> bool {
    COMPRESSION_OBSERVER.set(observer).is_ok()
}

/// A writer (or, over [`std::io::sink`], a counter) that hashes what passes through it:
/// sha256 and length of a blob while it is written, so nothing has to be held to digest it.
pub struct Hashing<W> {
    inner: W,
    hasher: sha2::Sha256,
    len: u64,
}

impl<W> Hashing<W> {
    /// Hashes what is written on its way to `inner`.
    pub fn new(inner: W) -> Self {
        Hashing {
            inner,
            hasher: sha2::Sha256::default(),
            len: 0,
        }
    }

    /// Bytes written so far.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether nothing was written.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Records `data` as written without forwarding it (for bytes already in `inner`).
    pub fn update(&mut self, data: &[u8]) {
        sha2::Digest::update(&mut self.hasher, data);
        self.len += data.len() as u64;
    }

    /// The inner writer, the digest and the length of everything written.
    pub fn finish(self) -> (W, Digest, u64) {
        (self.inner, Digest::from_hasher(self.hasher), self.len)
    }
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        sha2::Digest::update(&mut self.hasher, &buf[..n]);
        self.len += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// The tar stream on its way into gzip: hashed (the diff id) and reported to the
/// [`observe_compression`] observer after each MiB.
struct TarSink<W> {
    hashing: Hashing<W>,
    total: u64,
    reported: u64,
}

impl<W: Write> Write for TarSink<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.hashing.write(buf)?;
        let done = self.hashing.len();
        if done >= self.reported + (1 << 20) || done == self.total {
            self.reported = done;
            if let Some(observer) = COMPRESSION_OBSERVER.get() {
                observer(done.min(self.total), self.total);
            }
        }
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.hashing.flush()
    }
}

/// A reader that counts what it reads.
struct Counted<R> {
    inner: R,
    read: u64,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read += n as u64;
        Ok(n)
    }
}

/// The size of the tar [`write`] makes: a 512-byte header and the padded data per entry, and
/// two zero blocks at the end.
fn tar_size(entries: &[u64]) -> u64 {
    entries
        .iter()
        .map(|len| 512 + len.div_ceil(512) * 512)
        .sum::<u64>()
        + 1024
}

/// Builds the layer with `plugin.wasm` and `runtime-config.json`, every entry stamped `mtime`.
pub fn build(module: &[u8], runtime_config: &[u8], mtime: u64) -> Result<Layer, ImageError> {
    let mut reader = module;
    let (gzip, diff_id) = write(
        &mut reader,
        module.len() as u64,
        runtime_config,
        mtime,
        Vec::new(),
    )?;
    Ok(Layer { diff_id, gzip })
}

/// Writes the layer [`build`] makes to `out` as it is made, reading exactly `module_len`
/// bytes of the module from `module`: memory use does not depend on the module's size (the
/// tar goes straight into gzip, hashed on the way for its diff id, which is returned with
/// `out`). Byte for byte the same layer as [`build`]: the same tar, and deflate's output does
/// not depend on how its input is split.
pub fn write<W: Write>(
    module: &mut dyn Read,
    module_len: u64,
    runtime_config: &[u8],
    mtime: u64,
    out: W,
) -> Result<(W, Digest), ImageError> {
    let layer_err = |e: std::io::Error| ImageError::Layer(e.to_string());
    let encoder = flate2::GzBuilder::new()
        .mtime(0)
        .write(out, Compression::new(9));
    let total = tar_size(&[module_len, runtime_config.len() as u64]);
    let mut builder = tar::Builder::new(TarSink {
        hashing: Hashing::new(encoder),
        total,
        reported: 0,
    });
    let mut config = runtime_config;
    let entries: [(&str, u64, &mut dyn Read); 2] = [
        (MODULE_ENTRY, module_len, module),
        (
            RUNTIME_CONFIG_ENTRY,
            runtime_config.len() as u64,
            &mut config,
        ),
    ];
    for (name, len, data) in entries {
        let mut header = tar::Header::new_ustar();
        header.set_path(name).map_err(layer_err)?;
        header.set_size(len);
        header.set_mode(0o644);
        header.set_uid(0);
        header.set_gid(0);
        header.set_mtime(mtime);
        header.set_entry_type(tar::EntryType::Regular);
        header.set_username("").map_err(layer_err)?;
        header.set_groupname("").map_err(layer_err)?;
        header.set_cksum();
        // `append` copies until the reader ends: exactly `len` bytes, or the entry would not
        // match its header.
        let mut counted = Counted {
            inner: data.take(len),
            read: 0,
        };
        builder.append(&header, &mut counted).map_err(layer_err)?;
        if counted.read != len {
            return Err(ImageError::Layer(format!(
                "`{name}` ended after {} of its {len} bytes (did the file change while it was \
                 packaged?)",
                counted.read
            )));
        }
    }
    let sink = builder.into_inner().map_err(layer_err)?;
    let (encoder, diff_id, _) = sink.hashing.finish();
    let out = encoder.finish().map_err(layer_err)?;
    Ok((out, diff_id))
}

/// The most a compat layer may unpack to: the module cap plus 16 MiB for the other entries
/// (tar headers, `runtime-config.json`, a README). A gzip bomb stops here, after reading at
/// most this much, instead of inflating a 60 GiB entry on every read.
pub const MAX_LAYER_UNCOMPRESSED: u64 = MAX_MODULE_SIZE + 16 * 1024 * 1024;

/// Go's `filepath.Base` on Unix, the function Istio's agent (`extractWasmPluginBinary` in
/// istio/istio `pkg/wasm/imagefetcher.go`, which Envoy Gateway and Higress fork) matches
/// `plugin.wasm` with: trailing slashes are dropped, then everything after the last `/`.
fn go_base(name: &[u8]) -> &[u8] {
    let mut end = name.len();
    while end > 0 && name[end - 1] == b'/' {
        end -= 1;
    }
    if end == 0 {
        return if name.is_empty() { b"." } else { b"/" };
    }
    let trimmed = &name[..end];
    match trimmed.iter().rposition(|&b| b == b'/') {
        Some(i) => &trimmed[i + 1..],
        None => trimmed,
    }
}

/// Rust's reading of the same name (`Path::file_name`, which also drops `.` components):
/// where it and [`go_base`] disagree about an entry, the layer is ambiguous.
fn rust_base(name: &[u8]) -> Option<&[u8]> {
    use std::os::unix::ffi::OsStrExt as _;
    std::path::Path::new(std::ffi::OsStr::from_bytes(name))
        .file_name()
        .map(|n| n.as_bytes())
}

/// Counts what the gzip stream inflates to and fails past [`MAX_LAYER_UNCOMPRESSED`].
struct Capped<R> {
    inner: R,
    read: u64,
    cap: u64,
    over: std::rc::Rc<std::cell::Cell<bool>>,
}

impl<R: Read> Read for Capped<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read += n as u64;
        if self.read > self.cap {
            self.over.set(true);
            return Err(std::io::Error::other(
                "the layer unpacks past its size limit",
            ));
        }
        Ok(n)
    }
}

fn ambiguous(what: impl std::fmt::Display) -> ImageError {
    ImageError::Ambiguous(what.to_string())
}

/// Reads `plugin.wasm` and `runtime-config.json` out of a compat (tar+gzip) layer, by the
/// rules of every reader that deploys it, and refuses the layer whenever two readers could
/// take different bytes from it.
///
/// Istio's agent (and its forks in Envoy Gateway and Higress) inflate the layer as a
/// multi-member gzip stream, walk the tar with Go's `archive/tar`, and return the **first**
/// entry whose `filepath.Base` is `plugin.wasm`, whatever its type. wasme used to take the
/// last. Rather than pick one, a layer is refused when:
/// - more than one entry is named `plugin.wasm` (`plugin.wasm`, `./plugin.wasm`, `a/plugin.wasm`
///   all count) or `runtime-config.json`;
/// - an entry named `plugin.wasm` is not a regular file (symlink, hard link, directory, device,
///   GNU sparse, contiguous or unknown type; Istio would read 0 or wrong bytes from it), or its
///   name ends in `/`;
/// - Go's and Rust's readings of a name disagree (`plugin.wasm/.`), a PAX header repeats a key
///   (Go keeps the last, Rust the first), has `GNU.sparse.*` records (Go renames the entry by
///   them) or a `path` that a GNU long name overrides, a global PAX header or an extension
///   header the tar reader did not consume (Go and Rust recognise them under different
///   formats), or a header has the `star` trailer (Go reads a shorter prefix);
/// - anything but zeros follows the end of the archive;
/// - the layer inflates past [`MAX_LAYER_UNCOMPRESSED`] or the module past [`MAX_MODULE_SIZE`].
///
/// The layer is read from `layer` and the module written to `module` as it is unpacked, so
/// neither has to be in memory (the store hashes the module of a 100 MiB layer this way).
/// Returns `runtime-config.json`, when there is one. On an error `module` may have received
/// part of a module.
pub(super) fn extract_to(
    mut layer: impl Read,
    module: &mut dyn Write,
) -> Result<Option<Vec<u8>>, ImageError> {
    let mut magic = [0u8; 2];
    let mut got = 0;
    while got < magic.len() {
        match layer.read(&mut magic[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(ImageError::Layer(e.to_string())),
        }
    }
    if magic[..got] != [0x1f, 0x8b] {
        return Err(ImageError::Layer(
            "the last layer is not gzip-compressed (Istio rejects uncompressed tar layers)".into(),
        ));
    }
    let over = std::rc::Rc::new(std::cell::Cell::new(false));
    // Multi-member, as Go's gzip.Reader: data in a second member is not hidden from us.
    let capped = Capped {
        inner: flate2::read::MultiGzDecoder::new((&magic[..]).chain(layer)),
        read: 0,
        cap: MAX_LAYER_UNCOMPRESSED,
        over: over.clone(),
    };
    let too_big = || ImageError::LayerTooLarge {
        limit: MAX_LAYER_UNCOMPRESSED,
    };
    let broken = |e: std::io::Error| {
        if over.get() {
            too_big()
        } else {
            ImageError::Layer(e.to_string())
        }
    };
    let mut archive = tar::Archive::new(capped);
    let mut module_seen = false;
    let mut runtime_config = None;
    {
        let entries = archive.entries().map_err(broken)?;
        for entry in entries {
            let mut entry = entry.map_err(broken)?;
            // An entry whose declared size runs past the cap is refused at its header, before
            // inflating a byte of it (the 60 GiB junk entry).
            if entry
                .raw_file_position()
                .checked_add(entry.size())
                .is_none_or(|end| end > MAX_LAYER_UNCOMPRESSED)
            {
                return Err(too_big());
            }
            let name = entry.path_bytes().into_owned();
            let shown = String::from_utf8_lossy(&name).into_owned();
            check_headers(&mut entry, &name, &shown)?;
            let go = go_base(&name);
            let rust = rust_base(&name);
            let is_module = go == MODULE_ENTRY.as_bytes() || rust == Some(MODULE_ENTRY.as_bytes());
            let wanted = if is_module {
                MODULE_ENTRY
            } else if go == RUNTIME_CONFIG_ENTRY.as_bytes()
                || rust == Some(RUNTIME_CONFIG_ENTRY.as_bytes())
            {
                RUNTIME_CONFIG_ENTRY
            } else {
                continue;
            };
            if go != wanted.as_bytes() || rust != Some(wanted.as_bytes()) {
                return Err(ambiguous(format_args!(
                    "the entry `{shown}` is `{wanted}` to one tar reader and not to another"
                )));
            }
            if name.ends_with(b"/") {
                return Err(ambiguous(format_args!(
                    "the entry `{shown}` names a directory, which Istio's agent would still \
                     take for `{wanted}`"
                )));
            }
            let kind = entry.header().entry_type();
            if !matches!(kind, tar::EntryType::Regular) {
                return Err(ambiguous(format_args!(
                    "`{shown}` is a {} (tar type {:?}), not a regular file; Istio's agent \
                     would read something else than wasme from it",
                    kind_name(kind),
                    char::from(entry.header().as_bytes()[156]),
                )));
            }
            if (is_module && module_seen) || (!is_module && runtime_config.is_some()) {
                return Err(ambiguous(format_args!(
                    "the layer holds more than one `{wanted}` entry (the second is `{shown}`); \
                     Istio's agent takes the first, other readers the last"
                )));
            }
            let mut limited = (&mut entry).take(MAX_MODULE_SIZE + 1);
            let size = if is_module {
                module_seen = true;
                std::io::copy(&mut limited, module).map_err(broken)?
            } else {
                let mut data = Vec::new();
                limited.read_to_end(&mut data).map_err(broken)?;
                let size = data.len() as u64;
                runtime_config = Some(data);
                size
            };
            if size > MAX_MODULE_SIZE {
                return Err(ImageError::TooLarge);
            }
        }
    }
    // Past the end-of-archive marker only zero padding may follow: a reader that skips zero
    // blocks (GNU tar -i, some unpackers) must not find entries we never looked at.
    let mut rest = archive.into_inner();
    let mut buf = [0u8; 64 * 1024];
    loop {
        let n = rest.read(&mut buf).map_err(broken)?;
        if n == 0 {
            break;
        }
        if buf[..n].iter().any(|&b| b != 0) {
            return Err(ambiguous(
                "data follows the tar archive's end marker, where some readers would find \
                 more entries",
            ));
        }
    }
    if !module_seen {
        return Err(ImageError::Layer(format!(
            "the layer holds no `{MODULE_ENTRY}` entry"
        )));
    }
    Ok(runtime_config)
}

fn kind_name(kind: tar::EntryType) -> &'static str {
    match kind {
        tar::EntryType::Symlink => "symbolic link",
        tar::EntryType::Link => "hard link",
        tar::EntryType::Directory => "directory",
        tar::EntryType::Char | tar::EntryType::Block => "device",
        tar::EntryType::Fifo => "fifo",
        tar::EntryType::GNUSparse => "GNU sparse file",
        tar::EntryType::Continuous => "contiguous file",
        _ => "special entry",
    }
}

/// The header checks that do not depend on the entry's name (see [`extract_to`]).
fn check_headers<R: Read>(
    entry: &mut tar::Entry<'_, R>,
    name: &[u8],
    shown: &str,
) -> Result<(), ImageError> {
    let kind = entry.header().entry_type();
    if kind.is_pax_global_extensions()
        || kind.is_pax_local_extensions()
        || kind.is_gnu_longname()
        || kind.is_gnu_longlink()
    {
        return Err(ambiguous(format_args!(
            "`{shown}` is a tar extension header ({:?}) that tar readers apply differently",
            char::from(entry.header().as_bytes()[156])
        )));
    }
    if kind.is_gnu_sparse() {
        return Err(ambiguous(format_args!(
            "`{shown}` is a GNU sparse file, which tar readers unpack differently"
        )));
    }
    let raw = entry.header().as_bytes();
    if &raw[257..263] == b"ustar\0" && &raw[508..512] == b"tar\0" {
        return Err(ambiguous(format_args!(
            "`{shown}` has a `star` header, whose name prefix tar readers cut differently"
        )));
    }
    let Some(pax) = entry
        .pax_extensions()
        .map_err(|e| ImageError::Layer(e.to_string()))?
    else {
        return Ok(());
    };
    let mut seen = std::collections::BTreeSet::new();
    let mut path = None;
    for record in pax {
        let record = record.map_err(|e| ImageError::Layer(format!("a PAX header: {e}")))?;
        let key = record.key_bytes().to_vec();
        if key.starts_with(b"GNU.sparse.") {
            return Err(ambiguous(format_args!(
                "`{shown}` carries GNU sparse PAX records, by which Go's tar reader renames \
                 the entry and Rust's does not"
            )));
        }
        if key == b"size"
            && std::str::from_utf8(record.value_bytes())
                .ok()
                .and_then(|v| v.parse::<u64>().ok())
                .is_none()
        {
            return Err(ambiguous(format_args!(
                "`{shown}` has an unreadable PAX size"
            )));
        }
        if key == b"path" {
            path = Some(record.value_bytes().to_vec());
        }
        if !seen.insert(key.clone()) {
            return Err(ambiguous(format_args!(
                "the PAX header of `{shown}` repeats `{}`; Go's tar reader keeps the last \
                 value, Rust's the first",
                String::from_utf8_lossy(&key)
            )));
        }
    }
    if path.is_some_and(|p| p != name) {
        return Err(ambiguous(format_args!(
            "`{shown}` has both a GNU long name and a different PAX path"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layer_is_reproducible_and_round_trips() {
        let module = b"\0asm\x01\0\0\0".repeat(100);
        let a = build(&module, b"{}", 0).unwrap();
        let b = build(&module, b"{}", 0).unwrap();
        assert_eq!(a.gzip, b.gzip);
        let c = build(&module, b"{}", 1_700_000_000).unwrap();
        assert_ne!(a.gzip, c.gzip, "the mtime must reach the tar");
        let mut back = Vec::new();
        let runtime_config = extract_to(&a.gzip[..], &mut back).unwrap();
        assert_eq!(back, module);
        assert_eq!(runtime_config.as_deref(), Some(&b"{}"[..]));
    }

    /// The layer as it was built before [`write`] streamed it: the whole tar in memory, then
    /// gzip fed 1 MiB at a time. Images packaged before must keep their digests.
    fn layer_in_memory(module: &[u8], runtime_config: &[u8], mtime: u64) -> (Vec<u8>, Vec<u8>) {
        let mut builder = tar::Builder::new(Vec::new());
        for (name, data) in [
            (MODULE_ENTRY, module),
            (RUNTIME_CONFIG_ENTRY, runtime_config),
        ] {
            let mut header = tar::Header::new_ustar();
            header.set_path(name).unwrap();
            header.set_size(data.len() as u64);
            header.set_mode(0o644);
            header.set_uid(0);
            header.set_gid(0);
            header.set_mtime(mtime);
            header.set_entry_type(tar::EntryType::Regular);
            header.set_username("").unwrap();
            header.set_groupname("").unwrap();
            header.set_cksum();
            builder.append(&header, data).unwrap();
        }
        let tar = builder.into_inner().unwrap();
        let mut encoder = flate2::GzBuilder::new()
            .mtime(0)
            .write(Vec::new(), Compression::new(9));
        for piece in tar.chunks(1024 * 1024) {
            encoder.write_all(piece).unwrap();
        }
        (tar, encoder.finish().unwrap())
    }

    #[test]
    fn the_streamed_layer_is_the_layer_built_in_memory() {
        let mut state = 0x2545_f491_u32;
        let mut module = b"\0asm\x01\0\0\0".to_vec();
        // Compressible and incompressible runs, across several MiB and an odd length.
        module.extend((0..3 * 1024 * 1024 + 77).map(|i| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            if (i / 100_000) % 2 == 0 {
                7
            } else {
                state as u8
            }
        }));
        for (m, rc) in [(&module[..], &b"{}"[..]), (&module[..12], &b""[..])] {
            let (tar, gzip) = layer_in_memory(m, rc, 1_700_000_000);
            let built = build(m, rc, 1_700_000_000).unwrap();
            assert_eq!(built.diff_id, Digest::of(&tar));
            assert!(built.gzip == gzip, "the streamed gzip differs");
            let mut hashed = Hashing::new(std::io::sink());
            assert_eq!(
                extract_to(&built.gzip[..], &mut hashed).unwrap().as_deref(),
                Some(rc)
            );
            let (_, digest, len) = hashed.finish();
            assert_eq!((digest, len), (Digest::of(m), m.len() as u64));
        }
        // A module shorter than announced is an error, not a tar that lies.
        let short = write(&mut &module[..10], 20, b"{}", 0, Vec::new());
        assert!(matches!(short, Err(ImageError::Layer(_))));
    }

    #[test]
    fn rejects_uncompressed_and_missing_module() {
        let mut tar = tar::Builder::new(Vec::new());
        let mut header = tar::Header::new_ustar();
        header.set_path(MODULE_ENTRY).unwrap();
        header.set_size(4);
        header.set_cksum();
        tar.append(&header, &b"\0asm"[..]).unwrap();
        assert!(extract_to(&tar.into_inner().unwrap()[..], &mut Vec::new()).is_err());
        let mut builder = tar::Builder::new(Vec::new());
        let mut header = tar::Header::new_ustar();
        header.set_path("other.txt").unwrap();
        header.set_size(1);
        header.set_cksum();
        builder.append(&header, &b"x"[..]).unwrap();
        let tar = builder.into_inner().unwrap();
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), Compression::default());
        enc.write_all(&tar).unwrap();
        let err = extract_to(&enc.finish().unwrap()[..], &mut Vec::new()).unwrap_err();
        assert!(err.to_string().contains("plugin.wasm"), "{err}");
    }
}
