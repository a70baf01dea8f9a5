//! Optimising a module with binaryen's `wasm-opt` when it is installed, enabling exactly the
//! Wasm features the module uses. Results are cached by input digest so an unchanged module
//! is not optimised twice.

use std::path::{Path, PathBuf};
use std::process::Command;

/// What happened to the module.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Optimised: the new bytes.
    Optimized(Vec<u8>),
    /// Left as it was, and why.
    Skipped(String),
}

/// The `wasm-opt` binary: `$WASM_OPT`, else `wasm-opt` on PATH.
pub fn find() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("WASM_OPT").filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(p));
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join("wasm-opt"))
        .find(|p| p.is_file())
}

/// Optimises `module` (-O3, debug info stripped) with `features` (wasm-opt names) enabled,
/// caching the result under `cache_dir`. Any wasm-opt failure gives [`Outcome::Skipped`] with
/// the reason: optimisation is never required.
pub fn optimize(module: &[u8], features: &[&str], cache_dir: &Path) -> Outcome {
    let Some(wasm_opt) = find() else {
        return Outcome::Skipped(
            "wasm-opt is not installed (Debian/Ubuntu: apt-get install binaryen)".into(),
        );
    };
    let mut args: Vec<String> = vec![
        "-O3".into(),
        "--strip-debug".into(),
        "--mvp-features".into(),
    ];
    args.extend(features.iter().map(|f| format!("--enable-{f}")));
    let key = crate::reference::Digest::of(
        format!(
            "{}\n{}",
            crate::reference::Digest::of(module).hex(),
            args.join(" ")
        )
        .as_bytes(),
    );
    let key = key.hex();
    let cached = cache_dir.join(format!("{key}.wasm"));
    if let Ok(bytes) = std::fs::read(&cached)
        && bytes.starts_with(b"\0asm")
    {
        return Outcome::Optimized(bytes);
    }
    let run = || -> Result<Vec<u8>, String> {
        std::fs::create_dir_all(cache_dir)
            .map_err(|e| format!("cannot create {}: {e}", cache_dir.display()))?;
        let dir = tempfile::tempdir_in(cache_dir).map_err(|e| e.to_string())?;
        let input = dir.path().join("in.wasm");
        let output = dir.path().join("out.wasm");
        std::fs::write(&input, module).map_err(|e| e.to_string())?;
        let out = Command::new(&wasm_opt)
            .args(&args)
            .arg(&input)
            .arg("-o")
            .arg(&output)
            .output()
            .map_err(|e| format!("cannot run {}: {e}", wasm_opt.display()))?;
        if !out.status.success() {
            return Err(format!(
                "wasm-opt failed ({}): {}",
                out.status,
                String::from_utf8_lossy(&out.stderr)
                    .lines()
                    .next()
                    .unwrap_or("")
            ));
        }
        let bytes = std::fs::read(&output).map_err(|e| e.to_string())?;
        crate::module_info::ModuleInfo::parse(&bytes)
            .map_err(|e| format!("wasm-opt produced an invalid module: {e}"))?;
        // Best effort: a cache write failure only costs a re-run next time.
        let _ = std::fs::rename(&output, &cached);
        Ok(bytes)
    };
    match run() {
        Ok(bytes) => Outcome::Optimized(bytes),
        Err(reason) => Outcome::Skipped(reason),
    }
}
