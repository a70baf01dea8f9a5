//! Shared pieces of the signing tests: key pairs made with `cargo wasme key generate`, and
//! npm's `@sigstore/verify` as an independent verifier (`toolchain/tests/fixtures/
//! sigstore-verify/verify.js`, installed by `npm ci` from the committed lock file into
//! `target/sigstore-verify/`). Without npm the tests that need it say so and skip, except
//! when `WASME_REQUIRE_OTHER_SDKS=1` (set by `.ci/run`), where a missing npm is a failure.
#![allow(dead_code)]

use crate::author_support::workspace;
use crate::support::TestEnv;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The password the tests' keys are encrypted with.
pub const PASSWORD: &str = "correct horse";

/// `cargo wasme key generate <dir>/<name>` with a password from the environment; returns
/// (private, public).
pub fn keypair(env: &TestEnv, name: &str) -> (PathBuf, PathBuf) {
    let prefix = env.dir.path().join(name);
    env.ok_with(
        &["key", "generate", prefix.to_str().unwrap()],
        &[("WASME_KEY_PASSWORD", OsStr::new(PASSWORD))],
    );
    (prefix.with_extension("key"), prefix.with_extension("pub"))
}

/// Runs cargo-wasme with the key password set, expecting success; returns stdout.
pub fn ok(env: &TestEnv, args: &[&str]) -> String {
    env.ok_with(args, &[("WASME_KEY_PASSWORD", OsStr::new(PASSWORD))])
}

/// Runs cargo-wasme with the key password set, expecting failure; returns stderr.
pub fn fails(env: &TestEnv, args: &[&str]) -> String {
    env.fails_with(args, &[("WASME_KEY_PASSWORD", OsStr::new(PASSWORD))])
}

/// The verifier's directory with `node_modules` installed (`None`: skipped, no npm).
pub fn verifier() -> Option<PathBuf> {
    static DIR: OnceLock<Option<PathBuf>> = OnceLock::new();
    DIR.get_or_init(|| {
        let have_npm = Command::new("npm")
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success());
        if !have_npm {
            let required = std::env::var("WASME_REQUIRE_OTHER_SDKS").is_ok_and(|v| v == "1");
            assert!(
                !required,
                "npm is not installed but WASME_REQUIRE_OTHER_SDKS=1: the @sigstore/verify \
                 check cannot be skipped here (`.ci/run` installs node and npm)"
            );
            eprintln!(
                "SKIPPED: npm is not installed, so @sigstore/verify cannot check wasme's \
                 bundles and this part did not run (set WASME_REQUIRE_OTHER_SDKS=1 to make this \
                 a failure)"
            );
            return None;
        }
        let fixtures = workspace().join("toolchain/tests/fixtures/sigstore-verify");
        let dir = workspace().join("target").join("sigstore-verify");
        std::fs::create_dir_all(&dir).unwrap();
        for f in ["package.json", "package-lock.json", "verify.js"] {
            std::fs::copy(fixtures.join(f), dir.join(f)).unwrap();
        }
        let installed = dir
            .join("node_modules/@sigstore/verify/package.json")
            .is_file();
        if !installed {
            let out = Command::new("npm")
                .args(["ci", "--no-audit", "--no-fund"])
                .current_dir(&dir)
                .output()
                .expect("cannot run npm ci");
            assert!(
                out.status.success(),
                "npm ci (installing @sigstore/verify) failed:\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Some(dir)
    })
    .clone()
}

/// One bundle `@sigstore/verify` found on the registry (through the referrers API or the tag
/// schema) and its verdict.
#[derive(Debug)]
pub struct Found {
    pub referrer: String,
    pub via: String,
    pub ok: bool,
    pub predicate_type: Option<String>,
    pub error: Option<String>,
}

/// Every bundle a third party finds for `repository@digest` on `registry` (host:port), each
/// verified by `@sigstore/verify` with `public_key` (`None`: skipped, no npm).
pub fn third_party(
    registry: &str,
    repository: &str,
    digest: &str,
    public_key: &Path,
) -> Option<Vec<Found>> {
    let dir = verifier()?;
    let out = Command::new("node")
        .arg(dir.join("verify.js"))
        .args([
            "registry",
            &format!("http://{registry}"),
            repository,
            digest,
        ])
        .arg(public_key)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "verify.js failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|l| {
                let v: serde_json::Value = serde_json::from_str(l).unwrap();
                Found {
                    referrer: v["referrer"].as_str().unwrap_or("").into(),
                    via: v["via"].as_str().unwrap_or("").into(),
                    ok: v["ok"].as_bool().unwrap_or(false),
                    predicate_type: v["predicateType"].as_str().map(Into::into),
                    error: v["error"].as_str().map(Into::into),
                }
            })
            .collect(),
    )
}

/// `@sigstore/verify`'s verdicts on several bundle files (each with the digest it must name),
/// in one node run: `Ok(predicate type)` or `Err(message)` per bundle, in order (`None`:
/// skipped, no npm).
pub fn third_party_bundles(
    bundles: &[(&[u8], &str)],
    public_key: &Path,
) -> Option<Vec<Result<String, String>>> {
    let dir = verifier()?;
    let files: Vec<tempfile::NamedTempFile> = bundles
        .iter()
        .map(|(bytes, _)| {
            let file = tempfile::NamedTempFile::new().unwrap();
            std::fs::write(file.path(), bytes).unwrap();
            file
        })
        .collect();
    let mut cmd = Command::new("node");
    cmd.arg(dir.join("verify.js"))
        .arg("bundles")
        .arg(public_key);
    for (file, (_, digest)) in files.iter().zip(bundles) {
        cmd.arg(file.path()).arg(digest);
    }
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "verify.js failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let verdicts: Vec<Result<String, String>> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            if v["ok"].as_bool() == Some(true) {
                Ok(v["predicateType"].as_str().unwrap_or("").to_string())
            } else {
                Err(v["error"].as_str().unwrap_or("").to_string())
            }
        })
        .collect();
    assert_eq!(verdicts.len(), bundles.len(), "one verdict per bundle");
    Some(verdicts)
}
