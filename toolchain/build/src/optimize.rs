//! The optimisation stage: binaryen's `wasm-opt -Oz` when it is installed (enabling exactly the
//! Wasm features the module uses), then dropping the custom sections Envoy never reads.
//! Results are cached by input digest so an unchanged module is not optimised twice.

use super::module_info::ModuleInfo;
use super::sha256_hex;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The optimisation level passed to wasm-opt (`-Oz` measured smaller than `-Os` on add-header;
/// see the README's performance section).
pub const WASM_OPT_LEVEL: &str = "-Oz";

/// What the optimiser did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OptOutcome {
    /// wasm-opt ran: the module went from `before` to `after` bytes.
    Optimized {
        /// Size before.
        before: u64,
        /// Size after.
        after: u64,
    },
    /// wasm-opt did not run, and why.
    Skipped(String),
    /// The caller switched optimisation off.
    Disabled,
}

/// What [`run_wasm_opt`] tells an observer (a front end drawing a spinner: wasm-opt can run
/// for a minute on a large module and reports no progress of its own).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WasmOptEvent {
    /// wasm-opt started on a module of `bytes` (not sent on a cache hit).
    Started {
        /// The input module's size.
        bytes: u64,
    },
    /// wasm-opt exited (successfully or not).
    Finished,
}

static OBSERVER: OnceLock<fn(WasmOptEvent)> = OnceLock::new();

/// Sets the process-wide wasm-opt observer; the first call wins (later ones return `false`).
pub fn observe_wasm_opt(observer: fn(WasmOptEvent)) -> bool {
    OBSERVER.set(observer).is_ok()
}

fn notify(event: WasmOptEvent) {
    if let Some(observer) = OBSERVER.get() {
        observer(event);
    }
}

/// The `wasm-opt` binary: `$WASM_OPT`, else `wasm-opt` on PATH.
pub fn find_wasm_opt() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("WASM_OPT").filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(p));
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join("wasm-opt"))
        .find(|p| p.is_file())
}

/// `wasm-opt --version` of `wasm_opt`, e.g. `wasm-opt version 108`.
pub fn wasm_opt_version(wasm_opt: &Path) -> Option<String> {
    let mut command = Command::new(wasm_opt);
    command.arg("--version");
    super::first_output_line(command)
}

/// Runs `wasm_opt` on `module` with the features `info` found, caching the result under
/// `cache_dir`. An error says why wasm-opt failed; the caller keeps the unoptimised module.
pub fn run_wasm_opt(
    wasm_opt: &Path,
    module: &[u8],
    info: &ModuleInfo,
    debug_names: bool,
    cache_dir: &Path,
) -> Result<Vec<u8>, String> {
    let mut args: Vec<String> = vec![WASM_OPT_LEVEL.into(), "--mvp-features".into()];
    args.extend(info.features.iter().map(|f| format!("--enable-{f}")));
    if debug_names {
        args.push("--debuginfo".into());
    } else {
        args.push("--strip-debug".into());
    }
    args.push("--strip-producers".into());
    let version = wasm_opt_version(wasm_opt).unwrap_or_default();
    let key =
        sha256_hex(format!("{}\n{version}\n{}", sha256_hex(module), args.join(" ")).as_bytes());
    let cached = cache_dir.join(format!("{key}.wasm"));
    if let Ok(bytes) = std::fs::read(&cached)
        && bytes.starts_with(b"\0asm")
    {
        return Ok(bytes);
    }
    std::fs::create_dir_all(cache_dir)
        .map_err(|e| format!("cannot create {}: {e}", cache_dir.display()))?;
    let pid = std::process::id();
    let input = cache_dir.join(format!("{key}.{pid}.in.wasm"));
    let output = cache_dir.join(format!("{key}.{pid}.out.wasm"));
    std::fs::write(&input, module).map_err(|e| format!("{}: {e}", input.display()))?;
    notify(WasmOptEvent::Started {
        bytes: module.len() as u64,
    });
    let out = Command::new(wasm_opt)
        .args(&args)
        .arg(&input)
        .arg("-o")
        .arg(&output)
        .output();
    notify(WasmOptEvent::Finished);
    let _ = std::fs::remove_file(&input);
    let out = out.map_err(|e| format!("cannot run {}: {e}", wasm_opt.display()))?;
    if !out.status.success() {
        let _ = std::fs::remove_file(&output);
        return Err(format!(
            "wasm-opt failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
                .lines()
                .next()
                .unwrap_or("")
        ));
    }
    let bytes = std::fs::read(&output).map_err(|e| format!("{}: {e}", output.display()))?;
    // Best effort: a cache write failure only costs a re-run next time.
    if std::fs::rename(&output, &cached).is_err() {
        let _ = std::fs::remove_file(&output);
    }
    Ok(bytes)
}

/// `module` without its custom sections (`producers`, `target_features`, DWARF…), except
/// `name` when `keep_names`. Envoy reads none of them. Hand-written because it is a byte copy
/// of section ranges that `wasmparser` already locates; re-encoding the module would be more
/// code.
pub fn strip_custom_sections(module: &[u8], keep_names: bool) -> Result<Vec<u8>, String> {
    let mut out = Vec::with_capacity(module.len());
    out.extend_from_slice(module.get(..8).ok_or("shorter than a Wasm header")?);
    let mut pos = 8;
    while pos < module.len() {
        let id = module[pos];
        let (len, len_bytes) = read_leb_u32(&module[pos + 1..])?;
        let end = (pos + 1 + len_bytes)
            .checked_add(len as usize)
            .filter(|&e| e <= module.len())
            .ok_or("a section runs past the end of the module")?;
        let keep = if id == 0 {
            let body = &module[pos + 1 + len_bytes..end];
            let (name_len, n) = read_leb_u32(body)?;
            let name = body
                .get(n..n + name_len as usize)
                .ok_or("a custom section's name runs past its end")?;
            keep_names && name == b"name"
        } else {
            true
        };
        if keep {
            out.extend_from_slice(&module[pos..end]);
        }
        pos = end;
    }
    Ok(out)
}

fn read_leb_u32(bytes: &[u8]) -> Result<(u32, usize), String> {
    let mut value: u32 = 0;
    for (i, b) in bytes.iter().take(5).enumerate() {
        value |= u32::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            return Ok((value, i + 1));
        }
    }
    Err("a malformed section length".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn custom_sections_go_and_names_stay_on_request() {
        // header, a custom "producers" section, a type section, a custom "name" section.
        let mut m = b"\0asm\x01\0\0\0".to_vec();
        m.extend([0, 10, 9]);
        m.extend(b"producers");
        m.extend([1, 1, 0]);
        m.extend([0, 6, 4]);
        m.extend(b"name");
        m.push(0);
        let stripped = strip_custom_sections(&m, false).unwrap();
        assert_eq!(stripped, b"\0asm\x01\0\0\0\x01\x01\0");
        let named = strip_custom_sections(&m, true).unwrap();
        assert_eq!(named.len(), stripped.len() + 8);
        assert!(strip_custom_sections(&m[..12], false).is_err());
    }
}
