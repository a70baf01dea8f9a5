//! The image formats a Wasm module travels in: writing them reproducibly and reading them back.
//!
//! | format | manifest | config | layers |
//! |---|---|---|---|
//! | [`Format::Compat`] (default) | OCI | OCI image config | one tar+gzip with `plugin.wasm` + `runtime-config.json` |
//! | [`Format::Docker`] | Docker schema2 | Docker image config | the same tar+gzip |
//! | [`Format::Solo`] | OCI | `runtime-config.json` | the config again, then the raw module |
//! | [`Format::Cncf`] | OCI | `application/vnd.wasm.config.v0+json` | the raw module (`application/wasm`) |
//! | [`Format::Legacy`] (read only) | OCI | wasm-to-oci config | the raw module |
//!
//! Istio's agent reads all but CNCF and legacy; compat works on every registry. Manifests are
//! written with our own serde types rather than `oci-spec`'s because those keep annotations in
//! a `HashMap`, whose order (and so the manifest digest) would change from run to run.
//!
//! ```
//! use cargo_wasme::image::{self, Format, ImageSpec};
//! let module = wat::parse_str(r#"(module (func (export "proxy_abi_version_0_2_1")))"#).unwrap();
//! let spec = ImageSpec::new(Format::Compat, vec!["v0.2.1".into()], vec!["my_root".into()]);
//! let built = image::build(&module, &spec).unwrap();
//! assert_eq!(built, image::build(&module, &spec).unwrap()); // reproducible
//! let decoded = image::decode(&built.manifest, |d| built.blob(d).map(<[u8]>::to_vec)).unwrap();
//! assert_eq!(decoded.module, module);
//! ```

pub mod layer;
pub mod runtime_config;

pub use runtime_config::RuntimeConfig;
use serde::{Deserialize, Serialize};
use sha2::Digest as _;
use std::collections::BTreeMap;

/// OCI image manifest media type.
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
/// OCI image index media type (never written: one manifest per tag).
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
/// Docker schema2 manifest media type.
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
/// Docker manifest list media type.
pub const DOCKER_MANIFEST_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
/// OCI image config.
pub const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
/// Docker image config.
pub const DOCKER_CONFIG: &str = "application/vnd.docker.container.image.v1+json";
/// OCI tar+gzip layer.
pub const OCI_LAYER_GZIP: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
/// Docker tar+gzip layer.
pub const DOCKER_LAYER_GZIP: &str = "application/vnd.docker.image.rootfs.diff.tar.gzip";
/// Solo's config (and first layer) media type.
pub const SOLO_CONFIG: &str = "application/vnd.module.wasm.config.v1+json";
/// Solo's module layer.
pub const SOLO_LAYER: &str = "application/vnd.module.wasm.content.layer.v1+wasm";
/// CNCF Wasm artifact config.
pub const CNCF_CONFIG: &str = "application/vnd.wasm.config.v0+json";
/// CNCF Wasm artifact layer.
pub const CNCF_LAYER: &str = "application/wasm";
/// wasm-to-oci config.
pub const LEGACY_CONFIG: &str = "application/vnd.wasm.config.v1+json";
/// wasm-to-oci layer.
pub const LEGACY_LAYER: &str = "application/vnd.wasm.content.layer.v1+wasm";
/// Every manifest media type `pull` asks for.
pub const ACCEPTED_MANIFESTS: &[&str] = &[OCI_MANIFEST, DOCKER_MANIFEST];

/// Annotation: comma-joined ABI versions.
pub const ANNOTATION_ABI: &str = "module.wasm.runtime/abi_version";
/// Annotation: the runtime type.
pub const ANNOTATION_TYPE: &str = "module.wasm.runtime/type";
/// Annotation: the compat variant marker.
pub const ANNOTATION_VARIANT: &str = "module.wasm.image/variant";
/// Annotation: comma-joined root ids (wasme's own, for formats without a runtime config).
pub const ANNOTATION_ROOT_IDS: &str = "io.wasme.root-ids";
/// Annotation: a layer's file name.
pub const ANNOTATION_TITLE: &str = "org.opencontainers.image.title";

/// Why an image cannot be built or read.
#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    /// The manifest is not JSON of an image manifest.
    #[error("the manifest is not a valid image manifest ({0}); is this a Wasm image?")]
    Manifest(String),
    /// The reference names an index or manifest list.
    #[error(
        "the reference names an image index ({0}), not a single manifest; Istio cannot use indexes: \
         reference the Wasm image's own manifest (by digest)"
    )]
    Index(String),
    /// No layer layout of any known Wasm image format.
    #[error(
        "not a Wasm image: no format wasme knows matches (config {config}, layers {layers}); \
         expected compat (tar+gzip with plugin.wasm), solo, CNCF or wasm-to-oci"
    )]
    UnknownFormat {
        /// The config media type seen.
        config: String,
        /// The layer media types seen.
        layers: String,
    },
    /// A blob the manifest names is missing.
    #[error("blob {0} named by the manifest is missing")]
    MissingBlob(String),
    /// The tar+gzip layer is broken.
    #[error("cannot read the image layer: {0}")]
    Layer(String),
    /// The config blob is not valid JSON of the expected shape.
    #[error("the image config is invalid: {0}")]
    Config(String),
    /// The extracted module does not start with `\0asm`.
    #[error("the image's module is not WebAssembly (it does not start with \\0asm)")]
    NotWasm,
    /// The module exceeds Istio's limit.
    #[error("the module is larger than 256 MiB, the most Istio's agent accepts")]
    TooLarge,
}

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

/// A content descriptor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Descriptor {
    /// Media type of the content.
    pub media_type: String,
    /// `sha256:<hex>`.
    pub digest: String,
    /// Size in bytes.
    pub size: u64,
    /// Annotations (sorted, so serialisation is stable).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

impl Descriptor {
    /// The descriptor of `data` with `media_type`.
    pub fn of(media_type: &str, data: &[u8]) -> Self {
        Descriptor {
            media_type: media_type.to_string(),
            digest: sha256_digest(data),
            size: data.len() as u64,
            annotations: BTreeMap::new(),
        }
    }
}

/// An image manifest (OCI or Docker schema2; both share this shape).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Manifest {
    /// Always 2.
    pub schema_version: u32,
    /// The manifest's media type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    /// The artifact type (CNCF).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_type: Option<String>,
    /// The config blob.
    pub config: Descriptor,
    /// The layers, in order.
    #[serde(default)]
    pub layers: Vec<Descriptor>,
    /// Annotations (sorted).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

impl Manifest {
    /// Parses manifest bytes, refusing indexes and manifest lists with a clear error.
    pub fn parse(bytes: &[u8]) -> Result<Manifest, ImageError> {
        let value: serde_json::Value =
            serde_json::from_slice(bytes).map_err(|e| ImageError::Manifest(e.to_string()))?;
        let media_type = value.get("mediaType").and_then(|m| m.as_str());
        if matches!(media_type, Some(OCI_INDEX | DOCKER_MANIFEST_LIST))
            || value.get("manifests").is_some()
        {
            return Err(ImageError::Index(
                media_type.unwrap_or(OCI_INDEX).to_string(),
            ));
        }
        serde_json::from_value(value).map_err(|e| ImageError::Manifest(e.to_string()))
    }

    /// The manifest's media type (OCI when the manifest does not say).
    pub fn media_type(&self) -> &str {
        self.media_type.as_deref().unwrap_or(OCI_MANIFEST)
    }

    /// Every blob the manifest names (config first), deduplicated.
    pub fn blobs(&self) -> Vec<&Descriptor> {
        let mut out: Vec<&Descriptor> = Vec::new();
        for d in std::iter::once(&self.config).chain(&self.layers) {
            if !out.iter().any(|o| o.digest == d.digest) {
                out.push(d);
            }
        }
        out
    }
}

/// `sha256:<hex>` of `data`.
pub fn sha256_digest(data: &[u8]) -> String {
    format!("sha256:{}", sha256_hex(data))
}

/// Lowercase hex sha256 of `data`.
pub fn sha256_hex(data: &[u8]) -> String {
    format!("{:x}", sha2::Sha256::digest(data))
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
    pub build: Option<runtime_config::BuildInfo>,
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
    /// The manifest digest (`sha256:…`).
    pub digest: String,
    /// Every blob (config and layers) by digest.
    pub blobs: BTreeMap<String, Vec<u8>>,
}

impl BuiltImage {
    /// The bytes of the blob `descriptor` names.
    pub fn blob(&self, descriptor: &Descriptor) -> Option<&[u8]> {
        self.blobs.get(&descriptor.digest).map(Vec::as_slice)
    }
}

fn rfc3339(epoch: u64) -> String {
    // Civil-from-days (Howard Hinnant's algorithm): a timestamp without pulling in a date crate.
    let days = (epoch / 86_400) as i64;
    let secs = epoch % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

/// Image config for the compat formats (a normal OCI/Docker image config).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ImageConfig<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    created: Option<String>,
    architecture: &'a str,
    os: &'a str,
    config: ImageConfigConfig,
    rootfs: RootFs,
}

#[derive(Serialize)]
struct ImageConfigConfig {
    #[serde(rename = "Labels", skip_serializing_if = "BTreeMap::is_empty")]
    labels: BTreeMap<String, String>,
}

#[derive(Serialize)]
struct RootFs {
    #[serde(rename = "type")]
    kind: &'static str,
    diff_ids: Vec<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CncfConfig {
    #[serde(skip_serializing_if = "Option::is_none")]
    created: Option<String>,
    architecture: &'static str,
    os: &'static str,
    layer_digests: Vec<String>,
}

fn to_json<T: Serialize>(value: &T) -> Vec<u8> {
    // Our own plain structs of strings and numbers: serialisation cannot fail.
    serde_json::to_vec(value).unwrap_or_default()
}

/// Packages `module` as an image in `spec.format`, reproducibly.
pub fn build(module: &[u8], spec: &ImageSpec) -> Result<BuiltImage, ImageError> {
    if !module.starts_with(b"\0asm") {
        return Err(ImageError::NotWasm);
    }
    if module.len() as u64 > layer::MAX_MODULE_SIZE {
        return Err(ImageError::TooLarge);
    }
    let runtime = RuntimeConfig::new(spec.abi_versions.clone(), spec.root_ids.clone())
        .with_build(spec.build.clone())
        .to_json();
    let created = spec.created.map(rfc3339);
    let mut blobs = BTreeMap::new();
    let mut annotations = BTreeMap::new();
    if !spec.abi_versions.is_empty() {
        annotations.insert(ANNOTATION_ABI.to_string(), spec.abi_versions.join(","));
    }
    if !spec.root_ids.is_empty() {
        annotations.insert(ANNOTATION_ROOT_IDS.to_string(), spec.root_ids.join(","));
    }
    let manifest = match spec.format {
        Format::Compat | Format::Docker => {
            let docker = spec.format == Format::Docker;
            let layer = layer::build(module, &runtime, spec.created.unwrap_or(0))?;
            // Metadata lives in the layer's runtime-config.json; the config stays minimal so
            // the image costs < 1 KiB over the gzip of the module.
            let labels = BTreeMap::new();
            let config = to_json(&ImageConfig {
                created,
                architecture: "wasm",
                os: "wasip1",
                config: ImageConfigConfig { labels },
                rootfs: RootFs {
                    kind: "layers",
                    diff_ids: vec![sha256_digest(&layer.tar)],
                },
            });
            let config_d = Descriptor::of(if docker { DOCKER_CONFIG } else { OCI_CONFIG }, &config);
            let layer_d = Descriptor::of(
                if docker {
                    DOCKER_LAYER_GZIP
                } else {
                    OCI_LAYER_GZIP
                },
                &layer.gzip,
            );
            blobs.insert(config_d.digest.clone(), config);
            blobs.insert(layer_d.digest.clone(), layer.gzip);
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
            let config_d = Descriptor::of(SOLO_CONFIG, &runtime);
            let mut config_layer = config_d.clone();
            config_layer.annotations.insert(
                ANNOTATION_TITLE.to_string(),
                "runtime-config.json".to_string(),
            );
            let mut module_d = Descriptor::of(SOLO_LAYER, module);
            module_d
                .annotations
                .insert(ANNOTATION_TITLE.to_string(), "filter.wasm".to_string());
            blobs.insert(config_d.digest.clone(), runtime);
            blobs.insert(module_d.digest.clone(), module.to_vec());
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
            let module_d = Descriptor::of(CNCF_LAYER, module);
            let config = to_json(&CncfConfig {
                created,
                architecture: "wasm",
                os: "wasip1",
                layer_digests: vec![module_d.digest.clone()],
            });
            let config_d = Descriptor::of(CNCF_CONFIG, &config);
            blobs.insert(config_d.digest.clone(), config);
            blobs.insert(module_d.digest.clone(), module.to_vec());
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
            let module_d = Descriptor::of(LEGACY_LAYER, module);
            blobs.insert(config_d.digest.clone(), b"{}".to_vec());
            blobs.insert(module_d.digest.clone(), module.to_vec());
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
    Ok(BuiltImage {
        digest: sha256_digest(&bytes),
        media_type: manifest.media_type().to_string(),
        manifest: bytes,
        blobs,
    })
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

/// Reads an image: recognises the format, fetches blobs with `fetch` (which must return the
/// verified bytes of a descriptor, or `None` when missing) and returns the module and metadata.
pub fn decode(
    manifest_bytes: &[u8],
    mut fetch: impl FnMut(&Descriptor) -> Option<Vec<u8>>,
) -> Result<DecodedImage, ImageError> {
    let manifest = Manifest::parse(manifest_bytes)?;
    let mut get =
        |d: &Descriptor| fetch(d).ok_or_else(|| ImageError::MissingBlob(d.digest.clone()));
    let find = |mt: &str| manifest.layers.iter().find(|l| l.media_type == mt);
    let config_mt = manifest.config.media_type.as_str();
    let from_annotations = || {
        RuntimeConfig::new(
            split_list(manifest.annotations.get(ANNOTATION_ABI)),
            split_list(manifest.annotations.get(ANNOTATION_ROOT_IDS)),
        )
    };
    let (format, module, runtime_config) = if config_mt == SOLO_CONFIG || find(SOLO_LAYER).is_some()
    {
        let layer = find(SOLO_LAYER).ok_or_else(|| unknown(&manifest))?;
        let config = get(&manifest.config)?;
        let rc: RuntimeConfig =
            serde_json::from_slice(&config).map_err(|e| ImageError::Config(e.to_string()))?;
        (Format::Solo, get(layer)?, rc)
    } else if config_mt == CNCF_CONFIG || find(CNCF_LAYER).is_some() {
        let layer = find(CNCF_LAYER).ok_or_else(|| unknown(&manifest))?;
        (Format::Cncf, get(layer)?, from_annotations())
    } else if config_mt == LEGACY_CONFIG || find(LEGACY_LAYER).is_some() {
        let layer = find(LEGACY_LAYER).ok_or_else(|| unknown(&manifest))?;
        (Format::Legacy, get(layer)?, from_annotations())
    } else {
        let last = manifest.layers.last().ok_or_else(|| unknown(&manifest))?;
        if last.media_type != OCI_LAYER_GZIP && last.media_type != DOCKER_LAYER_GZIP {
            return Err(unknown(&manifest));
        }
        let format = if manifest.media_type() == DOCKER_MANIFEST {
            Format::Docker
        } else {
            Format::Compat
        };
        let contents = layer::extract(&get(last)?)?;
        let rc = match contents.runtime_config {
            Some(bytes) => serde_json::from_slice(&bytes)
                .map_err(|e| ImageError::Config(format!("runtime-config.json: {e}")))?,
            None => from_annotations(),
        };
        (format, contents.module, rc)
    };
    if !module.starts_with(b"\0asm") {
        return Err(ImageError::NotWasm);
    }
    if module.len() as u64 > layer::MAX_MODULE_SIZE {
        return Err(ImageError::TooLarge);
    }
    Ok(DecodedImage {
        manifest,
        format,
        module,
        runtime_config,
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
mod tests {
    use super::*;

    fn module() -> Vec<u8> {
        wat::parse_str(
            r#"(module (memory (export "memory") 1) (func (export "proxy_abi_version_0_2_1")))"#,
        )
        .unwrap()
    }

    #[test]
    fn every_format_round_trips() {
        for format in [
            Format::Compat,
            Format::Docker,
            Format::Solo,
            Format::Cncf,
            Format::Legacy,
        ] {
            let spec = ImageSpec::new(format, vec!["v0.2.1".into()], vec!["a".into(), "b".into()]);
            let built = build(&module(), &spec).unwrap();
            let decoded = decode(&built.manifest, |d| built.blob(d).map(<[u8]>::to_vec)).unwrap();
            assert_eq!(decoded.format, format);
            assert_eq!(decoded.module, module());
            if format != Format::Legacy || !decoded.runtime_config.abi_versions.is_empty() {
                assert_eq!(decoded.runtime_config.abi_versions, ["v0.2.1"], "{format}");
            }
            if format != Format::Docker && format != Format::Legacy {
                assert_eq!(
                    decoded.runtime_config.config.root_ids,
                    ["a", "b"],
                    "{format}"
                );
            }
        }
    }

    #[test]
    fn compat_costs_under_1kib_over_the_gzip_of_the_module() {
        use std::io::Write as _;
        // Incompressible data is the worst case for the overhead.
        let mut state = 0x9e37_79b9_u32;
        let data: Vec<u8> = (0..256 * 1024)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 17;
                state ^= state << 5;
                state as u8
            })
            .collect();
        let mut module = module();
        module.extend_from_slice(&[0, 0x83, 0x80, 0x10, 1, b'x']); // custom section "x"
        module.extend_from_slice(&data);
        let spec = ImageSpec::new(
            Format::Compat,
            vec!["v0.2.1".into()],
            vec!["add_header".into()],
        );
        let built = build(&module, &spec).unwrap();
        let total = built.manifest.len() + built.blobs.values().map(Vec::len).sum::<usize>();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(9));
        gz.write_all(&module).unwrap();
        let gzip = gz.finish().unwrap().len();
        eprintln!(
            "compat image {total} B, gzip(module) {gzip} B, overhead {} B",
            total - gzip
        );
        assert!(
            total < gzip + 1024,
            "image {total} B, gzip {gzip} B: overhead {} B",
            total - gzip
        );
    }

    #[test]
    fn docker_keeps_metadata_in_the_layer() {
        let spec = ImageSpec::new(Format::Docker, vec!["v0.2.1".into()], vec!["r".into()]);
        let built = build(&module(), &spec).unwrap();
        let decoded = decode(&built.manifest, |d| built.blob(d).map(<[u8]>::to_vec)).unwrap();
        assert_eq!(decoded.runtime_config.config.root_ids, ["r"]);
    }

    #[test]
    fn created_changes_the_digest_and_is_rfc3339() {
        let mut spec = ImageSpec::new(Format::Compat, vec![], vec![]);
        let a = build(&module(), &spec).unwrap();
        spec.created = Some(1_700_000_000);
        let b = build(&module(), &spec).unwrap();
        assert_ne!(a.digest, b.digest);
        assert_eq!(rfc3339(1_700_000_000), "2023-11-14T22:13:20Z");
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
    }

    #[test]
    fn refuses_non_wasm_and_indexes() {
        let spec = ImageSpec::new(Format::Compat, vec![], vec![]);
        assert!(matches!(build(b"hello", &spec), Err(ImageError::NotWasm)));
        let index = br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]}"#;
        assert!(matches!(decode(index, |_| None), Err(ImageError::Index(_))));
        let other = br#"{"schemaVersion":2,"config":{"mediaType":"x","digest":"sha256:00","size":1},"layers":[{"mediaType":"y","digest":"sha256:11","size":1}]}"#;
        assert!(matches!(
            decode(other, |_| None),
            Err(ImageError::UnknownFormat { .. })
        ));
    }
}
