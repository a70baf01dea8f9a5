//! `build_filter` really builds a filter crate with cargo into `target/wasm`.

use std::path::Path;

#[test]
fn builds_add_header_into_target_wasm() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../filters/add-header");
    let wasm = wasme_harness::build::build_filter(&dir, None).expect("add-header builds");
    let bytes = std::fs::read(&wasm).expect("module is readable");
    assert_eq!(&bytes[..4], b"\0asm");
    assert!(
        wasm.to_string_lossy()
            .contains("target/wasm/wasm32-wasip1/release"),
        "{wasm:?}"
    );
    // Memoised: a second call returns the same path without building again.
    assert_eq!(
        wasme_harness::build::build_filter(&dir, None).unwrap(),
        wasm
    );
}

#[test]
fn a_missing_crate_is_a_clear_error() {
    let err = wasme_harness::build::build_filter("/nonexistent/crate", None).unwrap_err();
    assert!(err.to_string().contains("cannot read the crate"), "{err}");
}
