//! [`build`] and [`decode`]: every [`Format`]'s layout of manifest, config and layers.

use super::config::{CncfConfig, ImageConfig, ImageConfigConfig, RootFs, rfc3339, to_json};
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
                    diff_ids: vec![Digest::of(&layer.tar).to_string()],
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
                layer_digests: vec![module_d.digest.to_string()],
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
        digest: Digest::of(&bytes),
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
        |d: &Descriptor| fetch(d).ok_or_else(|| ImageError::MissingBlob(d.digest.to_string()));
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
        let other = format!(
            r#"{{"schemaVersion":2,"config":{{"mediaType":"x","digest":"sha256:{}","size":1}},"layers":[{{"mediaType":"y","digest":"sha256:{}","size":1}}]}}"#,
            "0".repeat(64),
            "1".repeat(64)
        );
        assert!(matches!(
            decode(other.as_bytes(), |_| None),
            Err(ImageError::UnknownFormat { .. })
        ));
    }
}
