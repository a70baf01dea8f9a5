//! What the store commands (`images`, `tag`, `rmi`, `inspect`, `export`) do and print: the
//! table, the JSON objects, the status lines and the repair advice for a damaged image.

use crate::module_info::ModuleInfo;
use crate::shell;
use crate::store::{ImageSummary, Store, StoreError, StoredImage};
use anyhow::Context as _;
use std::path::{Path, PathBuf};

/// The local store for a command that only reads it: never created here; `reference` is what
/// the command looked for, named in the error when no store exists yet.
pub fn open_existing(reference: &str) -> anyhow::Result<Store> {
    match Store::open_default_existing().context("cannot open the local store")? {
        Some(store) => Ok(store),
        None => Err(Store::absent(reference)?.into()),
    }
}

/// The image `reference` names in the existing store, whole (module decoded). A damaged
/// image says which one and how to repair it: `images` does not read layers, so this is
/// where a layer damaged in place is found.
pub fn resolve_existing(reference: &str) -> anyhow::Result<StoredImage> {
    use crate::shell::WithHelp as _;
    match open_existing(reference)?.resolve_local(reference) {
        Ok(image) => Ok(image),
        Err(e @ StoreError::Corrupt(_)) => Err(e)
            .with_context(|| format!("cannot read image `{reference}`"))
            .help(format!(
                "repair it with `cargo wasme pull {reference}` (from its registry) or by \
                 building it again with the same tag; damaged blobs are replaced"
            )),
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
pub fn images(json: bool) -> anyhow::Result<bool> {
    let store = Store::open_default_existing().context("cannot open the local store")?;
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
pub fn tag(source: &str, target: &str) -> anyhow::Result<()> {
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
pub fn rmi(references: &[String]) -> anyhow::Result<()> {
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
    referrers: impl FnOnce(&Store, &StoredImage) -> anyhow::Result<serde_json::Value>,
    print_referrers: impl FnOnce(&serde_json::Value),
) -> anyhow::Result<()> {
    let store = open_existing(reference)?;
    let image = resolve_existing(reference)?;
    let referrers = referrers(&store, &image)?;
    let info = ModuleInfo::parse(image.wasm())
        .with_context(|| format!("the module in {} is not valid", image.reference))?;
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
pub fn export(reference: &str, output: &Path) -> anyhow::Result<()> {
    let image = resolve_existing(reference)?;
    let dir = match output.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    // Temp file + rename: a failed write never leaves a truncated file behind.
    let mut tmp = tempfile::NamedTempFile::new_in(&dir)
        .with_context(|| format!("cannot write to {}", dir.display()))?;
    std::io::Write::write_all(&mut tmp, image.wasm())
        .with_context(|| format!("cannot write {}", output.display()))?;
    // A temporary file is private (0600); the module is not a secret: 0644 as `docker save`.
    #[cfg(unix)]
    std::fs::set_permissions(
        tmp.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o644),
    )
    .with_context(|| format!("cannot write {}", output.display()))?;
    tmp.persist(output)
        .with_context(|| format!("cannot write {}", output.display()))?;
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
