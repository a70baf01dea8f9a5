//! "Verify before you pin", against Debian's real `docker-registry`: what `deploy istio` prints
//! is what the cluster will pull. An image only in the local store is refused (nothing on
//! stdout), a CNCF image is refused for Istio, and an image resolved from the registry prints
//! byte for byte what the same image resolved from the store prints.

use crate::deploy_support::{assert_valid_istio, yaml_docs};
use crate::support::{DockerRegistry, TestEnv, package};

/// Runs `args`, asserting failure with an empty stdout; returns stderr.
fn fails_silently(env: &TestEnv, args: &[&str]) -> String {
    let out = env.cmd().args(args).output().unwrap();
    assert!(
        !out.status.success(),
        "expected failure, got:\n{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(out.stdout.is_empty(), "nothing is printed on failure");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn unpushed_images_are_refused_and_pushed_ones_print_the_same_everywhere() {
    let registry = DockerRegistry::start();
    let producer = TestEnv::new();
    let tag = format!("{}/filters/add-header:v1", registry.addr);
    let digest = package(&producer, 1, &tag, "compat");
    let deploy = |env: &TestEnv, extra: &[&str]| {
        let mut args = vec!["deploy", "istio", tag.as_str(), "-n", "bookinfo"];
        args.extend_from_slice(extra);
        env.cmd().args(&args).output().unwrap()
    };

    // Only in the local store: refused, naming the command that fixes it.
    let out = deploy(&producer, &[]);
    assert!(!out.status.success());
    assert!(out.stdout.is_empty(), "nothing is printed on failure");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&format!("cargo wasme push {tag}")), "{err}");
    // --offline trusts the store, with a warning.
    let out = deploy(&producer, &["--offline"]);
    assert!(out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("warning: --offline"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let offline = String::from_utf8(out.stdout).unwrap();

    producer.ok(&["push", &tag]);
    // Store-resolved (producer) and registry-resolved (a machine with an empty store): the
    // same bytes, root id included, in every form.
    let consumer = TestEnv::new();
    for extra in [
        &[][..],
        &["--api", "trafficextension"][..],
        &["--api", "envoyfilter", "--config", "world"][..],
    ] {
        let from_store = deploy(&producer, extra);
        let from_registry = deploy(&consumer, extra);
        assert!(
            from_store.status.success() && from_registry.status.success(),
            "{}\n{}",
            String::from_utf8_lossy(&from_store.stderr),
            String::from_utf8_lossy(&from_registry.stderr)
        );
        assert_eq!(
            String::from_utf8_lossy(&from_store.stdout),
            String::from_utf8_lossy(&from_registry.stdout),
            "{extra:?}"
        );
        let docs = yaml_docs(&String::from_utf8(from_registry.stdout).unwrap());
        for doc in &docs {
            if doc["apiVersion"]
                .as_str()
                .is_some_and(|a| a.contains("istio.io"))
            {
                assert_valid_istio(doc);
            }
        }
        let text = serde_json::to_string(&docs).unwrap();
        assert!(
            text.contains(digest.trim_start_matches("sha256:")) || text.contains("wasme-cache"),
            "{text}"
        );
        assert!(
            text.contains("rid"),
            "the root id comes from the image: {text}"
        );
    }
    assert_eq!(
        String::from_utf8(deploy(&consumer, &[]).stdout).unwrap(),
        offline,
        "--offline printed the same as the verified run"
    );
    // The consumer's store is untouched: deploy reads, it does not pull.
    assert!(!consumer.ok(&["images"]).contains("add-header"));
}

#[test]
fn images_istio_cannot_read_are_refused() {
    let registry = DockerRegistry::start();
    let env = TestEnv::new();
    let tag = format!("{}/filters/cncf:v1", registry.addr);
    package(&env, 2, &tag, "cncf");
    env.ok(&["push", &tag]);
    let consumer = TestEnv::new();
    for who in [&env, &consumer] {
        let err = fails_silently(who, &["deploy", "istio", &tag]);
        assert!(
            err.contains("cncf") && err.contains("--format compat"),
            "{err}"
        );
    }
    // A tag the registry does not have, nowhere in the store either.
    let missing = format!("{}/filters/none:v1", registry.addr);
    let err = fails_silently(&consumer, &["deploy", "istio", &missing]);
    assert!(err.contains("cargo wasme push"), "{err}");
    // A store image whose tag moved on the registry: the two digests are named.
    let moved = format!("{}/filters/moved:v1", registry.addr);
    let other = TestEnv::new();
    package(&other, 3, &moved, "compat");
    other.ok(&["push", &moved]);
    package(&env, 4, &moved, "compat");
    let err = fails_silently(&env, &["deploy", "istio", &moved]);
    assert!(err.contains("but the local store's is"), "{err}");
}
