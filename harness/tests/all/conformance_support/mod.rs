//! Shared helpers of the Envoy-conformance tests (`conformance_*.rs`).
//!
//! The tests drive the real `conformance-probe` filter (harness/tests/filters/probe), whose
//! plugin configuration is a script of hostcalls to make, and hand-written WAT modules
//! ([`wat`]). Every assertion reads what the guest itself logged, so it fails when the host
//! answers unlike Envoy.
#![allow(dead_code)]

pub mod wat;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use wasme_harness::{Host, HostBuilder, Module};

fn filters_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/filters")
}

/// The probe built for `wasm32-wasip1` (once per test binary).
pub fn probe() -> Module {
    static PROBE: OnceLock<Module> = OnceLock::new();
    PROBE
        .get_or_init(|| {
            let wasm = wasme_harness::build::build_filter(filters_dir().join("probe"), None)
                .expect("the conformance probe builds");
            Module::from_file(&wasm).expect("the conformance probe loads")
        })
        .clone()
}

/// The probe built for `wasm32-unknown-unknown` (no WASI imports), into `target/wasm` (once
/// per test binary).
pub fn probe_unknown_unknown() -> PathBuf {
    static PROBE: OnceLock<PathBuf> = OnceLock::new();
    PROBE
        .get_or_init(|| {
            wasme_harness::build::build_filter_for(
                filters_dir().join("probe"),
                None,
                "wasm32-unknown-unknown",
            )
            .expect("the conformance probe builds for wasm32-unknown-unknown")
        })
        .clone()
}

/// A builder for a host running the probe with `script` as its plugin configuration.
pub fn probe_builder(module: &Module, script: &str) -> HostBuilder {
    Host::builder(module)
        .root_id("probe")
        .plugin_name("probe-plugin")
        .vm_id("probe-vm")
        .plugin_config(script)
}

/// A host running the probe with `script` as its plugin configuration.
pub fn probe_host(script: &str) -> Host {
    let module = probe();
    probe_builder(&module, script)
        .build()
        .unwrap_or_else(|e| panic!("the probe starts: {e}"))
}

/// Every message the VM logged, in order.
pub fn messages(host: &Host) -> Vec<String> {
    host.logs().iter().map(|l| l.message.clone()).collect()
}

/// The callback entries the probe logged (`> name ctx=… …`), in order.
pub fn callbacks(host: &Host) -> Vec<String> {
    messages(host)
        .into_iter()
        .filter(|m| m.starts_with("> "))
        .collect()
}

/// The callback names entered on context `ctx`, in order (`request_headers`, `log`, …).
pub fn callback_names(host: &Host, ctx: u32) -> Vec<String> {
    let tag = format!("ctx={ctx}");
    callbacks(host)
        .iter()
        .filter(|m| m.split_whitespace().nth(2) == Some(tag.as_str()))
        .filter_map(|m| m.split_whitespace().nth(1).map(str::to_string))
        .collect()
}

/// Asserts that the probe logged exactly `line` (a step result or a callback entry).
#[track_caller]
pub fn assert_logged(host: &Host, line: &str) {
    let all = messages(host);
    assert!(
        all.iter().any(|m| m == line),
        "expected the guest to log\n  {line}\nbut it logged:\n  {}",
        all.join("\n  ")
    );
}

/// Asserts that no message starts with `prefix`.
#[track_caller]
pub fn assert_not_logged(host: &Host, prefix: &str) {
    let all = messages(host);
    assert!(
        !all.iter().any(|m| m.starts_with(prefix)),
        "expected nothing starting with {prefix:?}, but the guest logged:\n  {}",
        all.join("\n  ")
    );
}

/// The result part (after ` = `) of the unique step line starting with `step ` (or `step =`).
#[track_caller]
pub fn result(host: &Host, step: &str) -> String {
    let all = messages(host);
    let found: Vec<&String> = all
        .iter()
        .filter(|m| m.starts_with(&format!("{step} =")))
        .collect();
    assert!(
        found.len() == 1,
        "expected one result of {step:?}, found {}:\n  {}",
        found.len(),
        all.join("\n  ")
    );
    found[0]
        .split_once(" = ")
        .map(|(_, r)| r.to_string())
        .unwrap_or_default()
}

/// The results of every step line starting with `step =`, in order.
pub fn results(host: &Host, step: &str) -> Vec<String> {
    messages(host)
        .iter()
        .filter(|m| m.starts_with(&format!("{step} =")))
        .filter_map(|m| m.split_once(" = ").map(|(_, r)| r.to_string()))
        .collect()
}

/// Finds the header `name` (case-insensitive) in `pairs`.
pub fn header<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}
