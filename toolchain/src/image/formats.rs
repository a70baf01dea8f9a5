//! [`build`] and [`decode`]: every [`Format`]'s layout of manifest, config and layers.

use super::config::{
    CONFIG_SCHEMA_FIELD, CONFIG_SCHEMA_LABEL, CncfConfig, ImageConfig, ImageConfigConfig, RootFs,
    rfc3339, to_json,
};
use super::manifest::*;
use super::runtime_config::{self, RuntimeConfig};
use super::{ImageError, layer};
use crate::reference::Digest;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// An image layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, clap::ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// OCI manifest, tar+gzip layer with `plugin.wasm` (Istio's "compat" variant). The default.
    Compat,
    /// Docker schema2 manifest with the compat layer.
    Docker,
    /// solo.io's two-layer format (wasme, WebAssembly Hub).
    Solo,
    /// The CNCF Wasm OCI artifact (not readable by Istio).
    Cncf,
    /// wasm-to-oci's layout (read only).
    #[value(skip)]
    #[serde(rename = "wasm-to-oci")]
    Legacy,
}

impl Format {
    /// The lowercase name.
    pub fn name(self) -> &'static str {
        match self {
            Format::Compat => "compat",
            Format::Docker => "docker",
            Format::Solo => "solo",
            Format::Cncf => "cncf",
            Format::Legacy => "wasm-to-oci",
        }
    }
}

impl std::fmt::Display for Format {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// What to put in an image besides the module.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageSpec {
    /// The layout to write.
    pub format: Format,
    /// ABI versions (`v0.2.1`, …).
    pub abi_versions: Vec<String>,
    /// Root context ids.
    pub root_ids: Vec<String>,
    /// Timestamp (seconds since the epoch) for tar entries and `created`; `None` writes mtime 0
    /// and no `created` field.
    pub created: Option<u64>,
    /// What built the module (the runtime config's `build` block); `None` for a module packaged
    /// as it was.
    pub build: Option<super::runtime_config::BuildInfo>,
    /// The filter's configuration schema, recorded in the config blob
    /// ([`config_schema`]); `None` for none.
    pub config_schema: Option<serde_json::Value>,
}

impl ImageSpec {
    /// A spec with no timestamp.
    pub fn new(format: Format, abi_versions: Vec<String>, root_ids: Vec<String>) -> Self {
        ImageSpec {
            format,
            abi_versions,
            root_ids,
            created: None,
            build: None,
            config_schema: None,
        }
    }

    /// Takes the timestamp from `SOURCE_DATE_EPOCH` when it is set to a number.
    pub fn with_source_date_epoch(mut self) -> Self {
        self.created = std::env::var("SOURCE_DATE_EPOCH")
            .ok()
            .and_then(|s| s.trim().parse().ok());
        self
    }
}

/// A built image: manifest and blobs, ready for the store or a registry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuiltImage {
    /// The canonical manifest bytes.
    pub manifest: Vec<u8>,
    /// The manifest's media type.
    pub media_type: String,
    /// The manifest digest.
    pub digest: Digest,
    /// Every blob (config and layers) by digest.
    pub blobs: BTreeMap<Digest, Vec<u8>>,
}

impl BuiltImage {
    /// The bytes of the blob `descriptor` names.
    pub fn blob(&self, descriptor: &Descriptor) -> Option<&[u8]> {
        self.blobs.get(&descriptor.digest).map(Vec::as_slice)
    }
}

/// Packages `module` as an image in `spec.format`, reproducibly.
pub fn build(module: &[u8], spec: &ImageSpec) -> Result<BuiltImage, ImageError> {
    if !module.starts_with(b"\0asm") {
        return Err(ImageError::NotWasm);
    }
    let streamed = build_to(&mut &module[..], module.len() as u64, spec, Vec::new())?;
    let mut image = streamed.image;
    image.blobs.insert(streamed.layer.digest, streamed.out);
    Ok(image)
}

/// What a streamed build or decode learnt of the module that passed through it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModuleFacts {
    /// The module's digest.
    pub sha256: Digest,
    /// Its size in bytes.
    pub size: u64,
}

/// An image [`build_to`] made.
#[derive(Debug)]
pub struct StreamedImage<W> {
    /// The manifest and every blob but the module's layer.
    pub image: BuiltImage,
    /// The module's layer (the tar+gzip, or the raw module), written to `out`.
    pub layer: Descriptor,
    /// The module read.
    pub module: ModuleFacts,
    /// The writer the layer went to.
    pub out: W,
}

/// The module as [`build_to`] reads it: hashed, counted, its first four bytes kept.
struct ModuleReader<'a> {
    inner: &'a mut dyn std::io::Read,
    hashing: layer::Hashing<std::io::Sink>,
    head: Vec<u8>,
}

impl std::io::Read for ModuleReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        let wanted = 4usize.saturating_sub(self.head.len()).min(n);
        self.head.extend_from_slice(&buf[..wanted]);
        self.hashing.update(&buf[..n]);
        Ok(n)
    }
}

/// Copies exactly `len` bytes of the module to `out` as a raw module layer of `media_type`.
fn raw_layer<W: std::io::Write>(
    reader: &mut ModuleReader<'_>,
    len: u64,
    out: W,
    media_type: &str,
) -> Result<(Descriptor, W), ImageError> {
    use std::io::Read as _;
    let mut hashing = layer::Hashing::new(out);
    let copied = std::io::copy(&mut reader.take(len), &mut hashing)
        .map_err(|e| ImageError::Layer(e.to_string()))?;
    if copied != len {
        return Err(ImageError::Layer(format!(
            "the module ended after {copied} of its {len} bytes (did the file change while it \
             was packaged?)"
        )));
    }
    let (written, digest, size) = hashing.finish();
    Ok((
        Descriptor {
            media_type: media_type.to_string(),
            digest,
            size,
            annotations: BTreeMap::new(),
        },
        written,
    ))
}

/// [`build`] for a module read from `module` (exactly `module_len` bytes): its layer is
/// written to `out` as it is made and the module is never held in memory, so packaging a
/// 100 MiB module takes as little memory as a 100 KiB one. Fails with
/// [`ImageError::NotWasm`] after the fact when the bytes read do not start with `\0asm` (the
/// caller discards what `out` received).
pub fn build_to<W: std::io::Write>(
    module: &mut dyn std::io::Read,
    module_len: u64,
    spec: &ImageSpec,
    out: W,
) -> Result<StreamedImage<W>, ImageError> {
    if module_len > layer::MAX_MODULE_SIZE {
        return Err(ImageError::TooLarge);
    }
    let mut reader = ModuleReader {
        inner: module,
        hashing: layer::Hashing::new(std::io::sink()),
        head: Vec::with_capacity(4),
    };
    let runtime = RuntimeConfig::new(spec.abi_versions.clone(), spec.root_ids.clone())
        .with_build(spec.build.clone())
        .to_json();
    let schema = spec.config_schema.as_ref().map(super::config::sorted);
    let schema_text = schema.as_ref().map(|s| s.to_string());
    let created = spec.created.map(rfc3339);
    let mut blobs = BTreeMap::new();
    let mut annotations = BTreeMap::new();
    if !spec.abi_versions.is_empty() {
        annotations.insert(ANNOTATION_ABI.to_string(), spec.abi_versions.join(","));
    }
    if !spec.root_ids.is_empty() {
        annotations.insert(ANNOTATION_ROOT_IDS.to_string(), spec.root_ids.join(","));
    }
    // Each arm writes the layer to `out` and hands the writer back here.
    let out_back;
    let manifest = match spec.format {
        Format::Compat | Format::Docker => {
            let docker = spec.format == Format::Docker;
            let hashing = layer::Hashing::new(out);
            let (hashing, diff_id) = layer::write(
                &mut reader,
                module_len,
                &runtime,
                spec.created.unwrap_or(0),
                hashing,
            )?;
            let (written, digest, size) = hashing.finish();
            out_back = written;
            // Metadata lives in the layer's runtime-config.json; the config stays minimal so
            // the image costs < 1 KiB over the gzip of the module.
            let mut labels = BTreeMap::new();
            if let Some(text) = &schema_text {
                labels.insert(CONFIG_SCHEMA_LABEL.to_string(), text.clone());
            }
            let config = to_json(&ImageConfig {
                created,
                architecture: "wasm",
                os: "wasip1",
                config: ImageConfigConfig { labels },
                rootfs: RootFs {
                    kind: "layers",
                    diff_ids: vec![diff_id.to_string()],
                },
            });
            let config_d = Descriptor::of(if docker { DOCKER_CONFIG } else { OCI_CONFIG }, &config);
            let layer_d = Descriptor {
                media_type: if docker {
                    DOCKER_LAYER_GZIP
                } else {
                    OCI_LAYER_GZIP
                }
                .to_string(),
                digest,
                size,
                annotations: BTreeMap::new(),
            };
            blobs.insert(config_d.digest.clone(), config);
            annotations.remove(ANNOTATION_ROOT_IDS);
            if docker {
                annotations.clear(); // schema2 has no annotations
            } else {
                annotations.insert(ANNOTATION_VARIANT.to_string(), "compat".to_string());
            }
            Manifest {
                schema_version: 2,
                media_type: Some(
                    if docker {
                        DOCKER_MANIFEST
                    } else {
                        OCI_MANIFEST
                    }
                    .to_string(),
                ),
                artifact_type: None,
                config: config_d,
                layers: vec![layer_d],
                annotations,
            }
        }
        Format::Solo => {
            let runtime = match &schema {
                Some(schema) => with_field(&runtime, super::config::CONFIG_SCHEMA_FIELD, schema),
                None => runtime,
            };
            let config_d = Descriptor::of(SOLO_CONFIG, &runtime);
            let mut config_layer = config_d.clone();
            config_layer.annotations.insert(
                ANNOTATION_TITLE.to_string(),
                "runtime-config.json".to_string(),
            );
            let mut module_d = {
                let (d, written) = raw_layer(&mut reader, module_len, out, SOLO_LAYER)?;
                out_back = written;
                d
            };
            module_d
                .annotations
                .insert(ANNOTATION_TITLE.to_string(), "filter.wasm".to_string());
            blobs.insert(config_d.digest.clone(), runtime);
            annotations.remove(ANNOTATION_ROOT_IDS);
            annotations.insert(
                ANNOTATION_TYPE.to_string(),
                runtime_config::RUNTIME_TYPE.to_string(),
            );
            Manifest {
                schema_version: 2,
                media_type: Some(OCI_MANIFEST.to_string()),
                artifact_type: None,
                config: config_d,
                layers: vec![config_layer, module_d],
                annotations,
            }
        }
        Format::Cncf => {
            let module_d = {
                let (d, written) = raw_layer(&mut reader, module_len, out, CNCF_LAYER)?;
                out_back = written;
                d
            };
            let config = to_json(&CncfConfig {
                created,
                architecture: "wasm",
                os: "wasip1",
                layer_digests: vec![module_d.digest.to_string()],
                config_schema: schema.clone(),
            });
            let config_d = Descriptor::of(CNCF_CONFIG, &config);
            blobs.insert(config_d.digest.clone(), config);
            Manifest {
                schema_version: 2,
                media_type: Some(OCI_MANIFEST.to_string()),
                artifact_type: None,
                config: config_d,
                layers: vec![module_d],
                annotations,
            }
        }
        Format::Legacy => {
            let config_d = Descriptor::of(LEGACY_CONFIG, b"{}");
            let module_d = {
                let (d, written) = raw_layer(&mut reader, module_len, out, LEGACY_LAYER)?;
                out_back = written;
                d
            };
            blobs.insert(config_d.digest.clone(), b"{}".to_vec());
            Manifest {
                schema_version: 2,
                media_type: Some(OCI_MANIFEST.to_string()),
                artifact_type: None,
                config: config_d,
                layers: vec![module_d],
                annotations,
            }
        }
    };
    let bytes = to_json(&manifest);
    if reader.head != b"\0asm" {
        return Err(ImageError::NotWasm);
    }
    let (_, sha256, size) = reader.hashing.finish();
    let layer = manifest
        .layers
        .last()
        .cloned()
        .ok_or_else(|| unknown(&manifest))?;
    let out = out_back;
    Ok(StreamedImage {
        image: BuiltImage {
            digest: Digest::of(&bytes),
            media_type: manifest.media_type().to_string(),
            manifest: bytes,
            blobs,
        },
        layer,
        module: ModuleFacts { sha256, size },
        out,
    })
}

/// `json` (an object's canonical bytes) with `key: value` appended as its last field.
fn with_field(json: &[u8], key: &str, value: &serde_json::Value) -> Vec<u8> {
    let mut out = json.strip_suffix(b"}").unwrap_or(json).to_vec();
    if out.len() > 1 {
        out.push(b',');
    }
    out.extend_from_slice(
        serde_json::Value::String(key.to_owned())
            .to_string()
            .as_bytes(),
    );
    out.push(b':');
    out.extend_from_slice(value.to_string().as_bytes());
    out.push(b'}');
    out
}

/// The configuration schema an image's config blob records, if any: the compat and Docker
/// formats' image-config label [`CONFIG_SCHEMA_LABEL`], the solo and CNCF configs' field
/// [`CONFIG_SCHEMA_FIELD`]. Only the JSON is read here; whether it is a valid schema is
/// [`crate::config_schema`]'s to say. The fetchers of Istio, Envoy Gateway and Higress read
/// layers only, never the config blob.
pub fn config_schema(
    format: Format,
    config: &[u8],
) -> Result<Option<serde_json::Value>, ImageError> {
    let Ok(blob) = serde_json::from_slice::<serde_json::Value>(config) else {
        return Ok(None); // a config blob of another shape records none
    };
    match format {
        Format::Compat | Format::Docker => {
            let label = blob
                .pointer("/config/Labels")
                .and_then(|l| l.get(CONFIG_SCHEMA_LABEL));
            match label {
                None | Some(serde_json::Value::Null) => Ok(None),
                Some(serde_json::Value::String(text)) => {
                    serde_json::from_str(text).map(Some).map_err(|e| {
                        ImageError::Config(format!("label {CONFIG_SCHEMA_LABEL} is not JSON: {e}"))
                    })
                }
                Some(_) => Err(ImageError::Config(format!(
                    "label {CONFIG_SCHEMA_LABEL} is not a string"
                ))),
            }
        }
        Format::Solo | Format::Cncf => Ok(blob
            .get(CONFIG_SCHEMA_FIELD)
            .filter(|v| !v.is_null())
            .cloned()),
        Format::Legacy => Ok(None),
    }
}

/// An image read back: its format, module and metadata.
#[derive(Debug, Clone)]
pub struct DecodedImage {
    /// The parsed manifest.
    pub manifest: Manifest,
    /// The layout recognised.
    pub format: Format,
    /// The module bytes (checked to start with `\0asm`).
    pub module: Vec<u8>,
    /// Metadata: from `runtime-config.json` when the image has one, else from annotations.
    pub runtime_config: RuntimeConfig,
    /// The filter's configuration schema the config blob records
    /// ([`config_schema`]).
    pub config_schema: Option<serde_json::Value>,
}

fn split_list(s: Option<&String>) -> Vec<String> {
    s.map(|s| {
        s.split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(str::to_string)
            .collect()
    })
    .unwrap_or_default()
}

/// The layouts `manifest` could be read as. Istio's agent reads a Docker manifest only as
/// Docker; any other manifest as compat when its last layer is an OCI tar+gzip, else as the
/// solo "oci" artifact. wasme also reads CNCF and wasm-to-oci. More than one match is
/// ambiguous: different readers would take different layers.
fn candidates(manifest: &Manifest) -> Vec<Format> {
    let config_mt = manifest.config.media_type.as_str();
    let has = |mt: &str| manifest.layers.iter().any(|l| l.media_type == mt);
    let last = manifest.layers.last().map(|l| l.media_type.as_str());
    let mut found = Vec::new();
    if manifest.media_type() == DOCKER_MANIFEST {
        found.push(Format::Docker);
    } else if last == Some(OCI_LAYER_GZIP) || last == Some(DOCKER_LAYER_GZIP) {
        found.push(Format::Compat);
    }
    if config_mt == SOLO_CONFIG || has(SOLO_LAYER) {
        found.push(Format::Solo);
    }
    if config_mt == CNCF_CONFIG || has(CNCF_LAYER) {
        found.push(Format::Cncf);
    }
    if config_mt == LEGACY_CONFIG || has(LEGACY_LAYER) {
        found.push(Format::Legacy);
    }
    found
}

/// The one layer of media type `mt` a raw-module format reads; refuses a manifest with two
/// (readers take the first or the last).
fn only_layer<'m>(manifest: &'m Manifest, mt: &str) -> Result<&'m Descriptor, ImageError> {
    let mut layers = manifest.layers.iter().filter(|l| l.media_type == mt);
    let first = layers.next().ok_or_else(|| unknown(manifest))?;
    if layers.next().is_some() {
        return Err(ImageError::Ambiguous(format!(
            "the manifest lists more than one `{mt}` module layer"
        )));
    }
    if first.size > layer::MAX_MODULE_SIZE {
        return Err(ImageError::TooLarge);
    }
    Ok(first)
}

/// Reads an image: recognises the format, fetches blobs with `fetch` (which must return the
/// verified bytes of a descriptor, or `None` when missing) and returns the module and metadata.
///
/// This is the one place a module is taken out of an image: `pull`, `inspect`, `export`,
/// `run`, `test`, `deploy` and the node cache all read through it, with the rules of Istio's
/// agent (`pkg/wasm/imagefetcher.go`, forked by Envoy Gateway and Higress). An image that
/// matches two layouts, or a layer two readers would unpack differently, is refused with
/// [`ImageError::Ambiguous`], never resolved one way.
pub fn decode(
    manifest_bytes: &[u8],
    mut fetch: impl FnMut(&Descriptor) -> Option<Vec<u8>>,
) -> Result<DecodedImage, ImageError> {
    let mut module = Vec::new();
    let read = decode_to(
        manifest_bytes,
        |d| {
            fetch(d)
                .map(|b| Box::new(std::io::Cursor::new(b)) as Box<dyn std::io::Read>)
                .ok_or_else(|| ImageError::MissingBlob(d.digest.to_string()))
        },
        &mut module,
    )?;
    Ok(DecodedImage {
        manifest: read.manifest,
        format: read.format,
        module,
        runtime_config: read.runtime_config,
        config_schema: read.config_schema,
    })
}

/// What [`decode_to`] read: [`DecodedImage`] with the module's digest and size in place of
/// its bytes.
#[derive(Debug, Clone)]
pub struct DecodedStream {
    /// The parsed manifest.
    pub manifest: Manifest,
    /// The layout recognised.
    pub format: Format,
    /// The module's digest and size (it starts with `\0asm`).
    pub module: ModuleFacts,
    /// Metadata, as in [`DecodedImage`].
    pub runtime_config: RuntimeConfig,
    /// The configuration schema, as in [`DecodedImage`].
    pub config_schema: Option<serde_json::Value>,
}

/// The module as [`decode_to`] writes it out: hashed, counted, its first four bytes kept.
struct ModuleWriter<'a> {
    out: &'a mut dyn std::io::Write,
    hashing: layer::Hashing<std::io::Sink>,
    head: Vec<u8>,
}

impl std::io::Write for ModuleWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.out.write(buf)?;
        let wanted = 4usize.saturating_sub(self.head.len()).min(n);
        self.head.extend_from_slice(&buf[..wanted]);
        self.hashing.update(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.out.flush()
    }
}

/// [`decode`] reading each blob from the reader `open` gives for it (which must fail, e.g.
/// with [`ImageError::MissingBlob`], when it has none) and writing the module to `module` as
/// it is unpacked: no layer and no module is held in memory, so the store reads a 100 MiB
/// image in as little memory as a 100 KiB one. The same rules as [`decode`], which calls it.
/// Each blob's reader is read to its end (a reader that checks a digest there can fail).
pub fn decode_to<'a>(
    manifest_bytes: &[u8],
    mut open: impl FnMut(&Descriptor) -> Result<Box<dyn std::io::Read + 'a>, ImageError>,
    module: &mut dyn std::io::Write,
) -> Result<DecodedStream, ImageError> {
    use std::io::Read as _;
    let manifest = Manifest::parse(manifest_bytes)?;
    let read_small = |mut reader: Box<dyn std::io::Read + 'a>| -> Result<Vec<u8>, ImageError> {
        let mut data = Vec::new();
        reader
            .read_to_end(&mut data)
            .map_err(|e| ImageError::Layer(e.to_string()))?;
        Ok(data)
    };
    let mut sink = ModuleWriter {
        out: module,
        hashing: layer::Hashing::new(std::io::sink()),
        head: Vec::with_capacity(4),
    };
    // A raw module layer, copied out (at most one byte past the limit, to see it broken).
    let copy_raw = |reader: Box<dyn std::io::Read + 'a>, sink: &mut ModuleWriter<'_>| {
        let mut reader = reader;
        std::io::copy(&mut (&mut reader).take(layer::MAX_MODULE_SIZE + 1), sink)
            .and_then(|_| std::io::copy(&mut reader, &mut std::io::sink()))
            .map(|_| ())
            .map_err(|e| ImageError::Layer(e.to_string()))
    };
    let from_annotations = || {
        RuntimeConfig::new(
            split_list(manifest.annotations.get(ANNOTATION_ABI)),
            split_list(manifest.annotations.get(ANNOTATION_ROOT_IDS)),
        )
    };
    let format = match candidates(&manifest).as_slice() {
        [] => return Err(unknown(&manifest)),
        [one] => *one,
        many => {
            let names: Vec<&str> = many.iter().map(|f| f.name()).collect();
            return Err(ImageError::Ambiguous(format!(
                "its manifest matches the {} layouts, which readers pick between differently \
                 (Istio's agent tries compat first, then the solo artifact)",
                names.join(" and ")
            )));
        }
    };
    // The solo config blob is the runtime config; it is read once and kept for the schema.
    let mut solo_config = None;
    let runtime_config = match format {
        Format::Solo => {
            // Istio's extractOCIArtifactImage: exactly two layers, the module the first of
            // its media type.
            if manifest.layers.len() != 2 {
                return Err(ImageError::Layer(format!(
                    "a solo (\"oci\" variant) image has exactly 2 layers for Istio's agent; \
                     this one has {}",
                    manifest.layers.len()
                )));
            }
            let layer = only_layer(&manifest, SOLO_LAYER)?;
            let config = read_small(open(&manifest.config)?)?;
            let rc: RuntimeConfig =
                serde_json::from_slice(&config).map_err(|e| ImageError::Config(e.to_string()))?;
            solo_config = Some(config);
            copy_raw(open(layer)?, &mut sink)?;
            rc
        }
        Format::Cncf => {
            copy_raw(open(only_layer(&manifest, CNCF_LAYER)?)?, &mut sink)?;
            from_annotations()
        }
        Format::Legacy => {
            copy_raw(open(only_layer(&manifest, LEGACY_LAYER)?)?, &mut sink)?;
            from_annotations()
        }
        Format::Compat | Format::Docker => {
            let last = manifest.layers.last().ok_or_else(|| unknown(&manifest))?;
            // Istio reads a Docker manifest's last layer only with Docker's media type, and
            // an OCI manifest's only with OCI's.
            let expected = if format == Format::Docker {
                DOCKER_LAYER_GZIP
            } else {
                OCI_LAYER_GZIP
            };
            if last.media_type != expected {
                return Err(ImageError::Layer(format!(
                    "the last layer of a {} manifest must be `{expected}` for Istio's agent, \
                     not `{}`",
                    if format == Format::Docker {
                        "Docker"
                    } else {
                        "OCI"
                    },
                    last.media_type
                )));
            }
            // A gzip is never much smaller than its content's incompressible part, nor larger
            // than the content by more than its block overhead: refuse before reading.
            if last.size > layer::MAX_LAYER_UNCOMPRESSED + layer::MAX_LAYER_UNCOMPRESSED / 100 {
                return Err(ImageError::LayerTooLarge {
                    limit: layer::MAX_LAYER_UNCOMPRESSED,
                });
            }
            let mut reader = open(last)?;
            let runtime_config = layer::extract_to(&mut reader, &mut sink)?;
            // What follows the gzip stream is read too, so a checking reader sees its end.
            std::io::copy(&mut reader, &mut std::io::sink())
                .map_err(|e| ImageError::Layer(e.to_string()))?;
            match runtime_config {
                Some(bytes) => serde_json::from_slice(&bytes)
                    .map_err(|e| ImageError::Config(format!("runtime-config.json: {e}")))?,
                None => from_annotations(),
            }
        }
    };
    if sink.head != b"\0asm" {
        return Err(ImageError::NotWasm);
    }
    let (_, sha256, size) = sink.hashing.finish();
    if size > layer::MAX_MODULE_SIZE {
        return Err(ImageError::TooLarge);
    }
    // The schema is recorded in the config blob (compat, Docker, solo and CNCF); a config
    // blob that cannot be read records none.
    let config_blob = match (format, solo_config) {
        (Format::Legacy, _) => None,
        (_, Some(config)) => Some(config),
        (_, None) => open(&manifest.config).and_then(read_small).ok(),
    };
    let config_schema = match config_blob {
        Some(config) => super::config_schema(format, &config)?,
        None => None,
    };
    Ok(DecodedStream {
        manifest,
        format,
        module: ModuleFacts { sha256, size },
        runtime_config,
        config_schema,
    })
}

fn unknown(manifest: &Manifest) -> ImageError {
    ImageError::UnknownFormat {
        config: manifest.config.media_type.clone(),
        layers: manifest
            .layers
            .iter()
            .map(|l| l.media_type.as_str())
            .collect::<Vec<_>>()
            .join(", "),
    }
}

#[cfg(test)]
mod tests;
