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
//! Istio's agent reads all but CNCF and legacy; compat works on every registry.
//!
//! The module is split by concern, each item reachable at one path, `image::…`:
//! `manifest` (descriptors, manifests, media types and annotations), `config` (the image
//! config blobs), `formats` ([`build`] and [`decode`] for every [`Format`]), [`layer`] (the
//! tar+gzip layer) and [`runtime_config`].
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

mod config;
mod formats;
pub mod layer;
mod manifest;
pub mod runtime_config;

pub use config::{CONFIG_SCHEMA_FIELD, CONFIG_SCHEMA_LABEL};
pub use formats::{
    BuiltImage, DecodedImage, DecodedStream, Format, ImageSpec, ModuleFacts, StreamedImage, build,
    build_to, config_schema, decode, decode_to,
};
pub use manifest::{
    ACCEPTED_MANIFESTS, ANNOTATION_ABI, ANNOTATION_ROOT_IDS, ANNOTATION_TITLE, ANNOTATION_TYPE,
    ANNOTATION_VARIANT, CNCF_CONFIG, CNCF_LAYER, DOCKER_CONFIG, DOCKER_LAYER_GZIP, DOCKER_MANIFEST,
    DOCKER_MANIFEST_LIST, Descriptor, LEGACY_CONFIG, LEGACY_LAYER, Manifest, OCI_CONFIG, OCI_INDEX,
    OCI_LAYER_GZIP, OCI_MANIFEST, SOLO_CONFIG, SOLO_LAYER,
};
pub use runtime_config::RuntimeConfig;

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
    /// Readers could take different modules (or metadata) from this image: refused rather than
    /// resolved one way (see [`decode`]).
    #[error(
        "the image is ambiguous: {0}. Istio's agent, Envoy Gateway and Higress could run another \
         module than the one wasme inspects and tests, so it is refused; rebuild it with \
         `cargo wasme package` (one `plugin.wasm`, a regular file, in the last layer)"
    )]
    Ambiguous(String),
    /// The compat layer inflates past its limit.
    #[error(
        "the image layer unpacks to more than {limit} bytes (the 256 MiB module limit plus \
         16 MiB for other entries): refusing to read further"
    )]
    LayerTooLarge {
        /// The limit in bytes.
        limit: u64,
    },
    /// The module exceeds Istio's limit.
    #[error("the module is larger than 256 MiB, the most Istio's agent accepts")]
    TooLarge,
}
