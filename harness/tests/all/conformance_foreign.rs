//! Conformance: foreign functions the test registers (reference §6).

use crate::conformance_support;

use conformance_support::{assert_logged, probe, probe_builder};

#[test]
fn a_registered_function_is_called_with_the_arguments_and_its_result_lands_in_the_vm() {
    let module = probe();
    let host = probe_builder(
        &module,
        "configure foreign reverse abc%20def
         configure foreign frobnicate x
         configure foreign reverse -",
    )
    .foreign_function("reverse", |args: &[u8]| {
        let mut v = args.to_vec();
        v.reverse();
        Ok(v)
    })
    .build()
    .unwrap();
    assert_logged(&host, "configure.foreign reverse abc%20def = 0 \"fed cba\"");
    assert_logged(&host, "configure.foreign reverse - = 0 \"\"");
    // Neither registered nor one of Envoy's built-ins (`compress` is one now, see
    // conformance_envoy_foreign.rs): NOT_FOUND.
    assert_logged(&host, "configure.foreign frobnicate x = 1");
}
