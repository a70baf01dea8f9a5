//! CLI glue: store commands (`images`, `tag`, `rmi`, `inspect`, `export`).
use anyhow::Context as _;
use cargo_wasme::module_info::ModuleInfo;
use cargo_wasme::shell;
use cargo_wasme::store::{ImageSummary, Store, StoreError, StoredImage};
use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `cargo wasme images`.
#[derive(Debug, clap::Args)]
pub struct ImagesArgs {
    /// Print a JSON array instead of a table (`--message-format json`: one object per line).
    #[arg(long)]
    pub json: bool,
}

/// The local store for a command that only reads it: never created here; `reference` is what
/// the command looked for, named in the error when no store exists yet.
fn open_existing(reference: &str) -> anyhow::Result<Store> {
    match Store::open_default_existing().context("cannot open the local store")? {
        Some(store) => Ok(store),
        None => Err(Store::absent(reference)?.into()),
    }
}

/// The image `reference` names in the existing store, whole (module decoded). A damaged
/// image says which one and how to repair it: `images` does not read layers, so this is
/// where a layer damaged in place is found.
fn resolve_existing(reference: &str) -> anyhow::Result<StoredImage> {
    use cargo_wasme::shell::WithHelp as _;
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

fn summary_json(image: &ImageSummary) -> serde_json::Value {
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

/// Runs `cargo wasme images`.
pub fn images(args: ImagesArgs) -> anyhow::Result<ExitCode> {
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
                let short = cargo_wasme::reference::parse(&name)
                    .map(|r| cargo_wasme::reference::familiar(&r))
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
    } else if args.json {
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
    Ok(if broken > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// Arguments of `cargo wasme tag`.
#[derive(Debug, clap::Args)]
pub struct TagArgs {
    /// The image to name (reference, digest, or a unique digest prefix of ≥ 12 hex digits).
    pub source: String,
    /// The new name (REPOSITORY:TAG, e.g. ghcr.io/me/filter:1.0).
    pub target: String,
}

/// Runs `cargo wasme tag`.
pub fn tag(args: TagArgs) -> anyhow::Result<ExitCode> {
    let store = open_existing(&args.source)?;
    let image = store.tag(&store.expand_prefix(&args.source)?, &args.target)?;
    shell::status(
        "Tagged",
        format_args!("{} ({})", image.short_reference(), image.manifest_digest),
    );
    shell::result(&image.manifest_digest);
    shell::json("image-tagged", &summary_json(&image));
    Ok(ExitCode::SUCCESS)
}

/// Arguments of `cargo wasme rmi`.
#[derive(Debug, clap::Args)]
pub struct RmiArgs {
    /// Images to remove (references, digest references, `sha256:` digests or unique digest
    /// prefixes of ≥ 12 hex digits).
    #[arg(required = true)]
    pub references: Vec<String>,
}

/// Runs `cargo wasme rmi`.
pub fn rmi(args: RmiArgs) -> anyhow::Result<ExitCode> {
    let store = open_existing(&args.references[0])?;
    for reference in &args.references {
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
    Ok(ExitCode::SUCCESS)
}

/// Arguments of `cargo wasme inspect`.
#[derive(Debug, clap::Args)]
pub struct InspectArgs {
    /// The image (reference, digest, or a unique digest prefix of ≥ 12 hex digits).
    pub reference: String,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// Runs `cargo wasme inspect`.
pub fn inspect(args: InspectArgs) -> anyhow::Result<ExitCode> {
    let store = open_existing(&args.reference)?;
    let image = resolve_existing(&args.reference)?;
    let referrers = super::sign::referrers_report(
        &store,
        &image.manifest_digest,
        &super::sign::global_policy()?,
    );
    let info = ModuleInfo::parse(image.wasm())
        .with_context(|| format!("the module in {} is not valid", image.reference))?;
    let manifest: serde_json::Value = serde_json::from_slice(&image.manifest_bytes)?;
    let config: serde_json::Value =
        serde_json::from_slice(&image.config_bytes).unwrap_or_else(|_| {
            serde_json::Value::String(String::from_utf8_lossy(&image.config_bytes).into_owned())
        });
    let schema = cargo_wasme::config_schema::of_image(image.format, &image.config_bytes)?;
    if args.json || shell::is_json() {
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
        return Ok(ExitCode::SUCCESS);
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
    super::sign::print_referrers(&referrers);
    Ok(ExitCode::SUCCESS)
}

/// Arguments of `cargo wasme export`.
#[derive(Debug, clap::Args)]
pub struct ExportArgs {
    /// The image (reference, digest, or a unique digest prefix of ≥ 12 hex digits).
    pub reference: String,
    /// Where to write the module.
    #[arg(short, long)]
    pub output: PathBuf,
}

/// Runs `cargo wasme export`.
pub fn export(args: ExportArgs) -> anyhow::Result<ExitCode> {
    let image = resolve_existing(&args.reference)?;
    let dir = match args.output.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    // Temp file + rename: a failed write never leaves a truncated file behind.
    let mut tmp = tempfile::NamedTempFile::new_in(&dir)
        .with_context(|| format!("cannot write to {}", dir.display()))?;
    std::io::Write::write_all(&mut tmp, image.wasm())
        .with_context(|| format!("cannot write {}", args.output.display()))?;
    // A temporary file is private (0600); the module is not a secret: 0644 as `docker save`.
    #[cfg(unix)]
    std::fs::set_permissions(
        tmp.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o644),
    )
    .with_context(|| format!("cannot write {}", args.output.display()))?;
    tmp.persist(&args.output)
        .with_context(|| format!("cannot write {}", args.output.display()))?;
    shell::status(
        "Exported",
        format_args!(
            "{} ({} bytes, sha256 {})",
            args.output.display(),
            image.wasm().len(),
            image.wasm_sha256
        ),
    );
    shell::json(
        "module-exported",
        &serde_json::json!({
            "path": args.output,
            "size": image.wasm().len(),
            "wasm_sha256": image.wasm_sha256,
            "digest": image.manifest_digest,
        }),
    );
    Ok(ExitCode::SUCCESS)
}
