//! What the store commands (`images`, `tag`, `rmi`, `inspect`, `export`) do and print: the
//! table, the JSON objects, the status lines and the repair advice for a damaged image.

use crate::module_info::{ModuleError, ModuleInfo};
use crate::shell;
use crate::store::{ImageSummary, Store, StoreError, StoredImage};
use std::path::{Path, PathBuf};

/// Everything the store commands can fail with.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// The configuration schema recorded in the image cannot be read.
    #[error(transparent)]
    Schema(#[from] crate::config_schema::SchemaError),
    /// The local store cannot be opened.
    #[error("cannot open the local store")]
    Open(#[source] StoreError),
    /// The store failed (no such image, no store yet, …).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The image is damaged in the store ([`ReportError::help`] says how to repair it).
    #[error("cannot read image `{reference}`")]
    Damaged {
        /// The image as named.
        reference: String,
        /// What is damaged.
        #[source]
        source: StoreError,
    },
    /// The stored module does not parse.
    #[error("the module in {reference} is not valid")]
    InvalidModule {
        /// The image.
        reference: String,
        /// Why.
        #[source]
        source: ModuleError,
    },
    /// The caller's report of the image's signatures failed.
    #[error(transparent)]
    Referrers(Box<dyn std::error::Error + Send + Sync>),
    /// A manifest or the output is not valid JSON.
    #[error(transparent)]
    Json(#[from] serde_json::Error),
    /// `export`'s output cannot be written (`action`: `write to` its directory, or `write` it).
    #[error("cannot {action} {}", path.display())]
    Write {
        /// `write to` (the directory) or `write` (the file).
        action: &'static str,
        /// The directory or file.
        path: PathBuf,
        /// The OS's error.
        #[source]
        source: std::io::Error,
    },
}

impl ReportError {
    /// What to do about the error, when there is something to say beyond its message.
    pub fn help(&self) -> Option<String> {
        match self {
            ReportError::Damaged { reference, .. } => Some(format!(
                "repair it with `cargo wasme pull {reference}` (from its registry) or by \
                 building it again with the same tag; damaged blobs are replaced"
            )),
            _ => None,
        }
    }
}

/// The local store for a command that only reads it: never created here; `reference` is what
/// the command looked for, named in the error when no store exists yet.
pub fn open_existing(reference: &str) -> Result<Store, ReportError> {
    match Store::open_default_existing().map_err(ReportError::Open)? {
        Some(store) => Ok(store),
        None => Err(Store::absent(reference)?.into()),
    }
}

/// The image `reference` names in the existing store, whole (module decoded). A damaged
/// image says which one and how to repair it: `images` does not read layers, so this is
/// where a layer damaged in place is found.
pub fn resolve_existing(reference: &str) -> Result<StoredImage, ReportError> {
    match open_existing(reference)?.resolve_local(reference) {
        Ok(image) => Ok(image),
        Err(source @ StoreError::Corrupt(_)) => Err(ReportError::Damaged {
            reference: reference.to_owned(),
            source,
        }),
        Err(e) => Err(e.into()),
    }
}

/// Formats a byte count (`1.2 MiB`).
pub fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["B", "KiB", "MiB", "GiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// An image as `images --json`, `tag` and `inspect` print it.
pub fn summary_json(image: &ImageSummary) -> serde_json::Value {
    serde_json::json!({
        "reference": image.reference,
        "digest": image.manifest_digest,
        "media_type": image.manifest_media_type,
        "format": image.format,
        "size": image.size,
        "module_size": image.module_size,
        "wasm_sha256": image.wasm_sha256,
        "abi_versions": image.abi_versions,
        "root_ids": image.root_ids,
    })
}

/// `images`: the table (or a JSON array, or JSON lines); `Ok(false)` when an image is
/// damaged (each said with its repair).
pub fn images(json: bool) -> Result<bool, ReportError> {
    let store = Store::open_default_existing().map_err(ReportError::Open)?;
    let mut images = Vec::new();
    let mut broken = 0;
    let entries = match &store {
        Some(store) => store.list_named()?,
        None => Vec::new(),
    };
    for (name, entry) in entries {
        match entry {
            Ok(i) => images.push(i),
            Err(e) => {
                broken += 1;
                let short = crate::reference::parse(&name)
                    .map(|r| crate::reference::familiar(&r))
                    .unwrap_or(name);
                shell::error(
                    format_args!("image `{short}` is damaged: {e}"),
                    Some(&format!(
                        "repair it with `cargo wasme pull {short}` (from its registry) or by \
                         building it again with the same tag (`cargo wasme build --tag {short}`); \
                         damaged blobs are replaced"
                    )),
                );
            }
        }
    }
    if shell::is_json() {
        for image in &images {
            shell::json("image", &summary_json(image));
        }
    } else if json {
        let list: Vec<_> = images.iter().map(summary_json).collect();
        println!("{}", serde_json::to_string_pretty(&list)?);
    } else {
        let rows: Vec<[String; 6]> = images
            .iter()
            .map(|i| {
                [
                    i.short_reference(),
                    i.manifest_digest.short().to_string(),
                    i.format.to_string(),
                    i.abi_versions.join(","),
                    i.root_ids.join(","),
                    human_size(i.size),
                ]
            })
            .collect();
        let header = ["REFERENCE", "DIGEST", "FORMAT", "ABI", "ROOT IDS", "SIZE"].map(String::from);
        let mut widths = header.clone().map(|h| h.len());
        for row in &rows {
            for (w, c) in widths.iter_mut().zip(row) {
                *w = (*w).max(c.chars().count());
            }
        }
        for row in std::iter::once(&header).chain(&rows) {
            let line: Vec<String> = row
                .iter()
                .zip(widths)
                .map(|(c, w)| format!("{c:w$}"))
                .collect();
            println!("{}", line.join("  ").trim_end());
        }
    }
    Ok(broken == 0)
}

/// `tag`: names the image `source` (a reference, digest or unique digest prefix) `target`.
pub fn tag(source: &str, target: &str) -> Result<(), ReportError> {
    let store = open_existing(source)?;
    let image = store.tag(&store.expand_prefix(source)?, target)?;
    shell::status(
        "Tagged",
        format_args!("{} ({})", image.short_reference(), image.manifest_digest),
    );
    shell::result(&image.manifest_digest);
    shell::json("image-tagged", &summary_json(&image));
    Ok(())
}

/// `rmi`: removes each image and collects the blobs nothing uses any more.
pub fn rmi(references: &[String]) -> Result<(), ReportError> {
    let Some(first) = references.first() else {
        return Ok(());
    };
    let store = open_existing(first)?;
    for reference in references {
        let report = store.remove(&store.expand_prefix(reference)?)?;
        for name in &report.untagged {
            shell::status("Untagged", name);
        }
        shell::status(
            "Deleted",
            format_args!(
                "{} blobs ({})",
                report.blobs_deleted,
                human_size(report.bytes_freed)
            ),
        );
        shell::json(
            "image-removed",
            &serde_json::json!({
                "reference": reference,
                "untagged": report.untagged,
                "blobs_deleted": report.blobs_deleted,
                "bytes_freed": report.bytes_freed,
            }),
        );
    }
    Ok(())
}

/// `inspect`: the image's manifest, config, ABI, root ids, imports, exports and `referrers`
/// (the signatures' report the caller made, printed for people by `print_referrers`).
pub fn inspect(
    reference: &str,
    json: bool,
    referrers: impl FnOnce(
        &Store,
        &StoredImage,
    ) -> Result<serde_json::Value, Box<dyn std::error::Error + Send + Sync>>,
    print_referrers: impl FnOnce(&serde_json::Value),
) -> Result<(), ReportError> {
    let store = open_existing(reference)?;
    let image = resolve_existing(reference)?;
    let referrers = referrers(&store, &image).map_err(ReportError::Referrers)?;
    let info = ModuleInfo::parse(image.wasm()).map_err(|source| ReportError::InvalidModule {
        reference: image.reference.clone(),
        source,
    })?;
    let manifest: serde_json::Value = serde_json::from_slice(&image.manifest_bytes)?;
    let config: serde_json::Value =
        serde_json::from_slice(&image.config_bytes).unwrap_or_else(|_| {
            serde_json::Value::String(String::from_utf8_lossy(&image.config_bytes).into_owned())
        });
    let schema = crate::config_schema::of_image(image.format, &image.config_bytes)?;
    if json || shell::is_json() {
        let mut out = summary_json(&image.summary());
        out["config_schema"] = schema.as_ref().map(|s| s.value().clone()).into();
        out["features"] = serde_json::json!(info.features);
        out["imports"] = serde_json::to_value(&info.imports)?;
        out["exports"] = serde_json::to_value(&info.exports)?;
        out["manifest"] = manifest;
        out["config"] = config;
        out["referrers"] = referrers;
        if shell::is_json() {
            shell::json("image-inspected", &out);
        } else {
            println!("{}", serde_json::to_string_pretty(&out)?);
        }
        return Ok(());
    }
    println!("Reference:    {}", image.reference);
    println!("Digest:       {}", image.manifest_digest);
    println!("Media type:   {}", image.manifest_media_type);
    println!("Format:       {}", image.format);
    println!(
        "Image size:   {} ({} bytes)",
        human_size(image.size),
        image.size
    );
    println!(
        "Module size:  {} ({} bytes)",
        human_size(info.size),
        info.size
    );
    println!("Module sha256: {}", image.wasm_sha256);
    println!("ABI versions: {}", image.abi_versions.join(", "));
    println!("Root ids:     {}", image.root_ids.join(", "));
    println!("Features:     {}", info.features.join(", "));
    let summary = schema.as_ref().map(|s| s.summary());
    println!(
        "Config schema: {}",
        summary.as_deref().unwrap_or("none recorded")
    );
    println!("Imports ({}):", info.imports.len());
    for i in &info.imports {
        println!("  {} {}.{}", i.kind, i.module, i.name);
    }
    println!("Exports ({}):", info.exports.len());
    for e in &info.exports {
        println!("  {} {}", e.kind, e.name);
    }
    println!("Manifest:\n{}", serde_json::to_string_pretty(&manifest)?);
    println!("Config:\n{}", serde_json::to_string_pretty(&config)?);
    print_referrers(&referrers);
    Ok(())
}

/// `export`: writes the image's module to `output` (atomically, mode 0644).
pub fn export(reference: &str, output: &Path) -> Result<(), ReportError> {
    let image = resolve_existing(reference)?;
    let dir = match output.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    // Temp file + rename: a failed write never leaves a truncated file behind.
    let written = |source: std::io::Error| ReportError::Write {
        action: "write",
        path: output.to_path_buf(),
        source,
    };
    let mut tmp = tempfile::NamedTempFile::new_in(&dir).map_err(|source| ReportError::Write {
        action: "write to",
        path: dir.clone(),
        source,
    })?;
    std::io::Write::write_all(&mut tmp, image.wasm()).map_err(written)?;
    // A temporary file is private (0600); the module is not a secret: 0644 as `docker save`.
    #[cfg(unix)]
    std::fs::set_permissions(
        tmp.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o644),
    )
    .map_err(written)?;
    tmp.persist(output).map_err(|e| written(e.error))?;
    shell::status(
        "Exported",
        format_args!(
            "{} ({} bytes, sha256 {})",
            output.display(),
            image.wasm().len(),
            image.wasm_sha256
        ),
    );
    shell::json(
        "module-exported",
        &serde_json::json!({
            "path": output,
            "size": image.wasm().len(),
            "wasm_sha256": image.wasm_sha256,
            "digest": image.manifest_digest,
        }),
    );
    Ok(())
}
