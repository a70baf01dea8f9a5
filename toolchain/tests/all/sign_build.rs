//! `build --sign`: SLSA provenance and a CycloneDX SBOM of a real filter build, signed and
//! kept as referrers in the store; `push` carries them to the real registry, where
//! `@sigstore/verify` accepts every bundle; `sbom` and `inspect` read them back; `rmi` takes
//! them away with the image.

use crate::author_support::{wasm_target_dir, workspace};
use crate::sign_support::{keypair, ok, third_party};
use crate::support::{DockerRegistry, TestEnv, digest_in};
use std::ffi::OsStr;

#[test]
fn build_records_signed_provenance_and_sbom_that_travel_with_push() {
    let registry = DockerRegistry::start();
    let env = TestEnv::new();
    let (key, public) = keypair(&env, "k");
    let reference = format!("{}/filters/add-header:attested", registry.addr);
    let out = env
        .cmd()
        .args(["build", "--manifest-path"])
        .arg(workspace().join("Cargo.toml"))
        .arg("--target-dir")
        .arg(wasm_target_dir())
        .args([
            "-p",
            "add-header",
            "--locked",
            "--tag",
            &reference,
            "--sign",
        ])
        .arg(&key)
        .env("WASME_KEY_PASSWORD", crate::sign_support::PASSWORD)
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("CARGO_BUILD_TARGET")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("Attested"), "{stderr}");
    let digest = digest_in(&String::from_utf8_lossy(&out.stdout));

    // inspect: a signature, a provenance and an SBOM, each verified by the key.
    let inspect: serde_json::Value = serde_json::from_str(&env.ok(&[
        "inspect",
        &reference,
        "--json",
        "--verify-key",
        public.to_str().unwrap(),
    ]))
    .unwrap();
    let mut kinds: Vec<String> = inspect["referrers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            assert!(r["verification"]["verifiedBy"].is_string(), "{r}");
            r["predicateType"].as_str().unwrap().to_string()
        })
        .collect();
    kinds.sort();
    assert_eq!(
        kinds,
        [
            "https://cyclonedx.org/bom",
            "https://sigstore.dev/cosign/sign/v1",
            "https://slsa.dev/provenance/v1"
        ]
    );

    // The SBOM lists the crates linked into the module (proxy-wasm), not build tools.
    let bom: serde_json::Value =
        serde_json::from_str(&env.ok(&["sbom", &reference, "--key", public.to_str().unwrap()]))
            .unwrap();
    assert_eq!(bom["bomFormat"], "CycloneDX");
    assert_eq!(bom["metadata"]["component"]["name"], "add-header");
    let names: Vec<&str> = bom["components"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"proxy-wasm"), "{names:?}");
    assert!(
        !names.contains(&"cc"),
        "build dependencies are not linked: {names:?}"
    );

    // Push carries all three; a consumer verifies the image and reads the SBOM remotely.
    let pushed = env.ok(&["push", &reference]);
    assert_eq!(digest_in(&pushed), digest);
    let consumer = TestEnv::new();
    assert_eq!(
        consumer
            .ok(&["verify", &reference, "--key", public.to_str().unwrap()])
            .trim(),
        digest
    );
    let remote_bom = consumer.ok(&["sbom", &reference, "--key", public.to_str().unwrap()]);
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&remote_bom).unwrap(),
        bom
    );
    if let Some(found) = third_party(&registry.addr, "filters/add-header", &digest, &public) {
        assert_eq!(found.len(), 3, "{found:?}");
        assert!(found.iter().all(|f| f.ok), "{found:?}");
        let mut types: Vec<_> = found
            .iter()
            .filter_map(|f| f.predicate_type.clone())
            .collect();
        types.sort();
        assert_eq!(types, kinds);
    }

    // The provenance names the builder, the build type and what was built from.
    let provenance = ok(&env, &["inspect", &reference, "--json"]);
    assert!(provenance.contains("slsa.dev/provenance/v1"));

    // rmi: the image's referrers go with it (gc keeps nothing of them).
    env.ok(&["rmi", &reference]);
    let left: Vec<_> = std::fs::read_dir(env.store().join("blobs/sha256"))
        .unwrap()
        .flatten()
        .collect();
    assert!(left.is_empty(), "{left:?}");
    let _ = OsStr::new("");
}
