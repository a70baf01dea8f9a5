//! SLSA provenance v1 (<https://slsa.dev/spec/v1.0/provenance>) for a `cargo wasme build`.
//!
//! `builder.id` names this tool and its version. A CLI run on a developer's machine or a CI
//! runner is at most a SLSA Build L1 builder: the provenance says what was built from what,
//! and is as trustworthy as the key that signs it. No timestamps are recorded unless
//! `SOURCE_DATE_EPOCH` is set, so the same build gives the same provenance bytes (and signing
//! it twice adds nothing).

use super::dsse::{SLSA_PROVENANCE_V1, Statement};
use crate::reference::Digest;
use serde_json::{Value, json};
use std::path::Path;
use std::process::Command;

/// The `buildType` URI of a `cargo wasme build`.
pub const BUILD_TYPE: &str = "https://wasme.dev/cargo-wasme/build/v1";

/// What a build was made from, as the provenance records it.
#[derive(Debug, Clone, Default)]
pub struct BuildFacts {
    /// The package built.
    pub package: String,
    /// Its version.
    pub version: String,
    /// Its Cargo.toml, relative to the workspace root when inside it.
    pub manifest: String,
    /// The cargo profile.
    pub profile: String,
    /// `--features`, `--all-features`, `--no-default-features` as given.
    pub features: Vec<String>,
    /// `sha256` of the workspace's Cargo.lock, when there is one.
    pub cargo_lock_sha256: Option<String>,
    /// The source's git commit, when the workspace is a git checkout.
    pub git_commit: Option<String>,
    /// Whether the checkout had uncommitted changes.
    pub git_dirty: bool,
    /// `rustc -vV`'s first line.
    pub rustc: String,
    /// `wasm-opt --version`, when it ran.
    pub wasm_opt: Option<String>,
    /// proxy-wasm SDK crates linked in, `(name, version)`.
    pub sdks: Vec<(String, String)>,
    /// The module's sha256 (hex).
    pub module_sha256: String,
}

/// The git commit of the checkout containing `dir`, and whether it has uncommitted changes.
pub fn git_commit(dir: &Path) -> Option<(String, bool)> {
    let out = Command::new("git")
        .args(["rev-parse", "HEAD"])
        .current_dir(dir)
        .output()
        .ok()
        .filter(|o| o.status.success())?;
    let commit = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let dirty = Command::new("git")
        .args(["status", "--porcelain", "--untracked-files=no"])
        .current_dir(dir)
        .output()
        .ok()
        .is_some_and(|o| !o.stdout.is_empty());
    Some((commit, dirty))
}

/// `sha256` hex of `workspace_root/Cargo.lock`, when present.
pub fn cargo_lock_sha256(workspace_root: &Path) -> Option<String> {
    std::fs::read(workspace_root.join("Cargo.lock"))
        .ok()
        .map(|b| Digest::of(&b).hex().to_string())
}

impl BuildFacts {
    /// The facts of a finished build (`crate::build::build_image`'s result and its options).
    pub fn from_build(
        built: &crate::build::BuiltImage,
        options: &crate::build::BuildOptions,
    ) -> BuildFacts {
        let filter = &built.module.filter;
        let root = &filter.workspace_root;
        let manifest = filter
            .manifest_path
            .strip_prefix(root)
            .map(Path::to_path_buf)
            .unwrap_or_else(|_| filter.manifest_path.clone());
        let mut features = options.features.clone();
        if options.all_features {
            features.push("--all-features".into());
        }
        if options.no_default_features {
            features.push("--no-default-features".into());
        }
        let git = git_commit(root);
        BuildFacts {
            package: filter.name.clone(),
            version: filter.version.clone(),
            manifest: manifest.display().to_string(),
            profile: built.module.record.profile.clone(),
            features,
            cargo_lock_sha256: cargo_lock_sha256(root),
            git_commit: git.as_ref().map(|g| g.0.clone()),
            git_dirty: git.is_some_and(|g| g.1),
            rustc: built.module.record.compiler.clone(),
            wasm_opt: built.module.record.wasm_opt.clone(),
            sdks: super::sbom::sdk_versions(&filter.manifest_path),
            module_sha256: built
                .module
                .digest
                .trim_start_matches("sha256:")
                .to_string(),
        }
    }

    /// The provenance predicate.
    pub fn predicate(&self) -> Value {
        let mut deps = Vec::new();
        if let Some(commit) = &self.git_commit {
            deps.push(json!({
                "uri": "git+file:.",
                "digest": {"gitCommit": commit},
                "annotations": {"dirty": self.git_dirty},
            }));
        }
        if let Some(lock) = &self.cargo_lock_sha256 {
            deps.push(json!({"name": "Cargo.lock", "digest": {"sha256": lock}}));
        }
        deps.push(json!({"name": "rustc", "annotations": {"version": self.rustc}}));
        match &self.wasm_opt {
            Some(v) => deps.push(json!({"name": "wasm-opt", "annotations": {"version": v}})),
            None => deps.push(json!({"name": "wasm-opt", "annotations": {"ran": false}})),
        }
        for (name, version) in &self.sdks {
            deps.push(json!({
                "uri": format!("pkg:cargo/{name}@{version}"),
                "name": name,
                "annotations": {"version": version},
            }));
        }
        let mut run = json!({
            "builder": {
                "id": format!("https://wasme.dev/cargo-wasme@{}", env!("CARGO_PKG_VERSION")),
                "version": {"cargo-wasme": env!("CARGO_PKG_VERSION")},
            },
            "byproducts": [{"name": "module.wasm", "digest": {"sha256": self.module_sha256}}],
        });
        if let Some(epoch) = std::env::var("SOURCE_DATE_EPOCH")
            .ok()
            .and_then(|e| e.trim().parse::<i64>().ok())
        {
            run["metadata"] = json!({"finishedOn": rfc3339(epoch)});
        }
        json!({
            "buildDefinition": {
                "buildType": BUILD_TYPE,
                "externalParameters": {
                    "package": self.package,
                    "version": self.version,
                    "manifest": self.manifest,
                    "profile": self.profile,
                    "features": self.features,
                },
                "resolvedDependencies": deps,
            },
            "runDetails": run,
        })
    }

    /// The provenance statement about the image `digest`.
    pub fn statement(&self, digest: &Digest) -> Statement {
        Statement::about(digest, SLSA_PROVENANCE_V1, self.predicate())
    }
}

/// `epoch` seconds as an RFC 3339 UTC time (civil-from-days, Howard Hinnant's algorithm;
/// hand-written to avoid a date crate for one timestamp).
fn rfc3339(epoch: i64) -> String {
    let days = epoch.div_euclid(86_400);
    let secs = epoch.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn timestamps_are_rfc3339() {
        assert_eq!(super::rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(super::rfc3339(1_700_000_000), "2023-11-14T22:13:20Z");
        assert_eq!(super::rfc3339(951_782_400), "2000-02-29T00:00:00Z");
    }
}
