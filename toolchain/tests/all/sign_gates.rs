//! The verification gate in every command that runs, caches or deploys a module, against
//! Debian's real `docker-registry`: with `--verify-key` or `WASME_VERIFY_KEY`, an unsigned image
//! (or one signed by another key) is refused with the reason and nothing is printed or
//! written; a signed one goes through, pinned to the digest that verified.

use crate::sign_support::{keypair, ok};
use crate::support::{DockerRegistry, TestEnv, package, snapshot};
use std::ffi::OsStr;

#[test]
fn deploy_render_run_and_cache_refuse_what_does_not_verify() {
    let registry = DockerRegistry::start();
    let env = TestEnv::new();
    let (key, public) = keypair(&env, "k");
    let (other, _) = keypair(&env, "other");
    let signed = format!("{}/filters/gate:signed", registry.addr);
    let unsigned = format!("{}/filters/gate:unsigned", registry.addr);
    let foreign = format!("{}/filters/gate:foreign", registry.addr);
    let signed_digest = package(&env, 11, &signed, "compat");
    package(&env, 12, &unsigned, "compat");
    package(&env, 13, &foreign, "compat");
    ok(&env, &["push", &signed, "--sign", key.to_str().unwrap()]);
    env.ok(&["push", &unsigned]);
    ok(&env, &["push", &foreign, "--sign", other.to_str().unwrap()]);
    let pubkey = public.to_str().unwrap();
    let vars = [("WASME_VERIFY_KEY", OsStr::new(pubkey))];

    // deploy istio (registry-backed), by flag and by environment.
    for (reference, reason) in [
        (&unsigned, "has no signature"),
        (&foreign, "signed by a key not given"),
    ] {
        let out = env.run_with(&["deploy", "istio", reference, "--verify-key", pubkey], &[]);
        assert!(!out.status.success());
        assert!(
            out.stdout.is_empty(),
            "nothing is printed for a refused image"
        );
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(reason), "{err}");
        let err = env.fails_with(&["deploy", "istio", reference], &vars);
        assert!(err.contains(reason), "{err}");
    }
    let manifests = env.ok_with(&["deploy", "istio", &signed], &vars);
    assert!(manifests.contains(&signed_digest), "{manifests}");

    // render: a FilterDeployment naming the unsigned image.
    let doc = |image: &str| {
        format!(
            "apiVersion: wasme.io/v1\nkind: FilterDeployment\nmetadata:\n  name: gate\n  namespace: default\nspec:\n  filter:\n    image: {image}\n  deployment:\n    istio:\n      labels:\n        app: x\n"
        )
    };
    let file = env.dir.path().join("fd.yaml");
    std::fs::write(&file, doc(&unsigned)).unwrap();
    let out = env.run_with(&["render", "-f", file.to_str().unwrap()], &vars);
    assert!(!out.status.success());
    assert!(out.stdout.is_empty());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("has no signature"), "{err}");
    std::fs::write(&file, doc(&signed)).unwrap();
    let rendered = env.ok_with(&["render", "-f", file.to_str().unwrap()], &vars);
    assert!(rendered.contains(&signed_digest), "{rendered}");

    // A FilterDeployment's own `verify.keys` (no flag, no environment)…
    let with_keys = |image: &str, key: &str| {
        doc(image).replace(
            "  deployment:",
            &format!("    verify:\n      keys:\n      - {key}\n  deployment:"),
        )
    };
    std::fs::write(&file, with_keys(&unsigned, pubkey)).unwrap();
    let err = env.fails(&["render", "-f", file.to_str().unwrap()]);
    assert!(err.contains("has no signature"), "{err}");
    std::fs::write(&file, with_keys(&signed, pubkey)).unwrap();
    assert!(
        env.ok(&["render", "-f", file.to_str().unwrap()])
            .contains(&signed_digest)
    );
    // …adds to the operator's keys and never replaces them: a document naming the key that
    // signed `foreign` does not get it past WASME_VERIFY_KEY.
    let foreign_pub = other.with_extension("pub");
    std::fs::write(&file, with_keys(&foreign, foreign_pub.to_str().unwrap())).unwrap();
    assert!(
        env.ok(&["render", "-f", file.to_str().unwrap()])
            .contains("sha256:")
    );
    let err = env.fails_with(&["render", "-f", file.to_str().unwrap()], &vars);
    assert!(err.contains("signed by a key not given"), "{err}");

    // deploy envoy (the local store's copy and its referrers).
    let out_dir = tempfile::tempdir().unwrap();
    let bootstrap = out_dir.path().join("envoy.yaml");
    let envoy = |reference: &str| {
        env.run_with(
            &[
                "deploy",
                "envoy",
                reference,
                "--upstream-address",
                "127.0.0.1:9000",
                "-o",
                bootstrap.to_str().unwrap(),
            ],
            &vars,
        )
    };
    let out = envoy(&unsigned);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("has no signature"), "{err}");
    assert!(
        !bootstrap.exists(),
        "no bootstrap is written for a refused image"
    );
    assert!(envoy(&signed).status.success());
    assert!(bootstrap.exists());

    // run: a stored image.
    let err = env.fails_with(&["run", &unsigned], &vars);
    assert!(err.contains("has no signature"), "{err}");
    let out = env.run_with(&["run", &signed], &vars);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // cache: the node cache never serves an unverified module.
    let work = tempfile::tempdir().unwrap();
    let dir = work.path().join("cache");
    let list = work.path().join("refs");
    std::fs::write(&list, format!("{unsigned}\n")).unwrap();
    let cache = |extra: &[(&str, &OsStr)]| {
        env.cmd()
            .args(["cache", "--once", "--refs"])
            .arg(&list)
            .arg("--dir")
            .arg(&dir)
            .envs(extra.iter().copied())
            .output()
            .unwrap()
    };
    // Cached before a key was set: the unsigned module is on the node ...
    let out = cache(&[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let modules = |dir: &std::path::Path| {
        snapshot(dir)
            .iter()
            .filter(|(p, _)| p.file_name().is_some_and(|n| n.len() == 64))
            .count()
    };
    assert_eq!(modules(&dir), 1);
    // ... and once the key is set, it does not verify, so it is removed, not left to Envoy.
    let out = cache(&vars);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("has no signature"), "{err}");
    assert_eq!(
        modules(&dir),
        0,
        "{:?}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::write(&list, format!("{signed}\n")).unwrap();
    let out = cache(&vars);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // One module (named by its sha256); the cache's digest index sits beside it.
    assert_eq!(
        modules(&dir),
        1,
        "{:?}",
        snapshot(&dir)
            .iter()
            .map(|(p, _)| p.clone())
            .collect::<Vec<_>>()
    );
}
