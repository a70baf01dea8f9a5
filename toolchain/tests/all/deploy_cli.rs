//! The deploy commands end to end: the real `cargo-wasme` binary against a real local store
//! (a temporary `WASME_HOME`) holding a real image, so every digest in the output is the one
//! the store computed — never a made-up one.
//! (Over 500 lines: it covers every deploy, undeploy, render and --apply path of the CLI.)

use crate::deploy_support;
use crate::support;

use cargo_wasme::image::{self, Format, ImageSpec};
use cargo_wasme::store::Store;
use deploy_support::{assert_valid_istio, golden, yaml_docs};
use sha2::Digest as _;
use std::path::Path;
use std::process::Output;
use support::TestEnv;

const REF: &str = "localhost:5000/filters/add-header:v1";

struct Env {
    test: TestEnv,
    digest: String,
    wasm: Vec<u8>,
}

fn env() -> Env {
    let test = TestEnv::new();
    let store = Store::open(test.store()).unwrap();
    let wasm = wat::parse_str(
        r#"(module (memory (export "memory") 1) (func (export "proxy_abi_version_0_2_1")) (func (export "proxy_on_memory_allocate") (param i32) (result i32) i32.const 0))"#,
    )
    .unwrap();
    let spec = ImageSpec::new(
        Format::Compat,
        vec!["v0.2.1".into()],
        vec!["add_header".into()],
    );
    let built = image::build(&wasm, &spec).unwrap();
    store.add(REF, &built).unwrap();
    Env {
        test,
        digest: built.digest.to_string(),
        wasm,
    }
}

/// `a` followed by `b`.
fn cat<'a>(a: &[&'a str], b: &[&'a str]) -> Vec<&'a str> {
    a.iter().chain(b).copied().collect()
}

/// Runs the binary. The image of these tests lives only in the local store, so `deploy istio`
/// and `render` run with `--offline` (trust the store); verification against a real registry
/// is `deploy_verify.rs`'s subject.
fn run(env: &Env, args: &[&str], stdin: Option<&str>) -> Output {
    let mut args = args.to_vec();
    match args.as_slice() {
        ["deploy", "istio", ..] => args.insert(2, "--offline"),
        ["render", ..] => args.insert(1, "--offline"),
        _ => {}
    }
    let args = args.as_slice();
    match stdin {
        Some(input) => env.test.run_with_stdin(args, input),
        None => env.test.run_with(args, &[]),
    }
}

fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "failed: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).unwrap()
}

fn fails(out: &Output) -> String {
    assert!(
        !out.status.success(),
        "expected failure, got:\n{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(out.stdout.is_empty(), "nothing is printed on failure");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn deploy_istio_pins_the_store_digest_in_every_form() {
    let env = env();
    let hex = env.digest.trim_start_matches("sha256:");
    let base = [
        "deploy",
        "istio",
        REF,
        "-n",
        "bookinfo",
        "--labels",
        "app=productpage,version=v1",
    ];
    // WasmPlugin (default).
    let out = ok(&run(
        &env,
        &cat(&base, &["--config", r#"{"name":"x-a","value":"b"}"#]),
        None,
    ));
    let docs = yaml_docs(&out);
    assert_eq!(docs.len(), 1);
    assert_valid_istio(&docs[0]);
    assert_eq!(docs[0]["kind"], "WasmPlugin");
    assert_eq!(
        docs[0]["metadata"]["name"], "add-header",
        "id defaults to the repository name"
    );
    assert_eq!(
        docs[0]["spec"]["url"],
        format!("oci://localhost:5000/filters/add-header@{}", env.digest)
    );
    assert_eq!(docs[0]["spec"]["sha256"], hex);
    assert_eq!(docs[0]["spec"]["pluginName"], "add_header");
    assert_eq!(docs[0]["spec"]["selector"]["matchLabels"]["version"], "v1");
    // TrafficExtension.
    let out = ok(&run(
        &env,
        &cat(
            &base,
            &[
                "--api",
                "trafficextension",
                "--phase",
                "authz",
                "--priority",
                "-5",
            ],
        ),
        None,
    ));
    let docs = yaml_docs(&out);
    assert_valid_istio(&docs[0]);
    assert_eq!(docs[0]["spec"]["wasm"]["sha256"], hex);
    assert_eq!(docs[0]["spec"]["priority"], -5);
    // EnvoyFilter, both shapes: the module path is the sha256 of the wasm itself.
    let wasm_hex: String = sha2::Sha256::digest(&env.wasm)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    for (version, typed) in [("1.6", false), ("1.7", true)] {
        let dir = tempfile::tempdir().unwrap();
        let out = ok(&run(
            &env,
            &cat(
                &base,
                &[
                    "--api",
                    "envoyfilter",
                    "--istio-version",
                    version,
                    "--config",
                    "world",
                    "--workload-type",
                    "statefulset",
                    "--kustomize",
                    dir.path().to_str().unwrap(),
                ],
            ),
            None,
        ));
        let docs = yaml_docs(&out);
        let kinds: Vec<&str> = docs.iter().map(|d| d["kind"].as_str().unwrap()).collect();
        assert_eq!(
            kinds,
            ["EnvoyFilter", "Namespace", "ConfigMap", "DaemonSet"],
            "only what kubectl apply accepts is printed: the filter and its node cache"
        );
        assert_eq!(
            docs[2]["data"]["bookinfo.add-header"],
            format!("localhost:5000/filters/add-header@{}\n", env.digest),
            "the cache's list names the pinned image"
        );
        assert_valid_istio(&docs[0]);
        let value = &docs[0]["spec"]["configPatches"][0]["patch"]["value"];
        assert_eq!(value.get("typedConfig").is_some(), typed, "{version}");
        let text = value.to_string();
        assert!(
            text.contains(&format!("/var/local/lib/wasme-cache/{wasm_hex}")),
            "{text}"
        );
        // The pod-annotation Component (with the resources) is in the --kustomize directory.
        let component =
            &yaml_docs(&std::fs::read_to_string(dir.path().join("kustomization.yaml")).unwrap())[0];
        assert_eq!(component["kind"], "Component");
        assert_eq!(component["patches"][0]["target"]["kind"], "StatefulSet");
        assert_eq!(component["resources"][0], "resources.yaml");
        assert_eq!(
            std::fs::read_to_string(dir.path().join("resources.yaml")).unwrap(),
            out
        );
    }
}

#[test]
fn digest_references_skip_the_store_and_unknown_images_fail_clearly() {
    let env = env();
    let pinned = format!("ghcr.io/acme/other@sha256:{}", "c".repeat(64));
    // Its module is unknown, so its configuration cannot be checked: said, and skippable.
    let err = fails(&run(
        &env,
        &["deploy", "istio", &pinned, "--id", "other"],
        None,
    ));
    assert!(
        err.contains("cannot check the configuration") && err.contains("--skip-config-check"),
        "{err}"
    );
    let out = ok(&run(
        &env,
        &[
            "deploy",
            "istio",
            &pinned,
            "--id",
            "other",
            "--skip-config-check",
        ],
        None,
    ));
    let docs = yaml_docs(&out);
    assert_valid_istio(&docs[0]);
    assert_eq!(docs[0]["spec"]["url"], format!("oci://{pinned}"));
    let err = fails(&run(
        &env,
        &["deploy", "istio", "127.0.0.1:1/acme/missing:1"],
        None,
    ));
    assert!(
        err.contains("127.0.0.1:1/acme/missing:1") && err.contains("cargo wasme pull"),
        "{err}"
    );
}

#[test]
fn bad_input_gets_a_clear_error_and_no_output() {
    let env = env();
    let cases: &[(&[&str], &str)] = &[
        (&["deploy", "istio", REF, "--labels", "app"], "has no '='"),
        (
            &["deploy", "istio", REF, "--labels", "app=a b"],
            "label value",
        ),
        (&["deploy", "istio", REF, "--id", "Bad_Id"], "filter id"),
        (&["deploy", "istio", REF, "-n", "Bad.NS"], "namespace"),
        (
            &[
                "deploy",
                "istio",
                REF,
                "--api",
                "wasmplugin",
                "--config",
                "plain string",
            ],
            "--api envoyfilter",
        ),
        (&["deploy", "istio", "Not A Ref"], "invalid image reference"),
        (
            &["deploy", "istio", REF, "--istio-version", "latest"],
            "Istio version",
        ),
        (
            &["undeploy", "istio", "--id", "x", "--labels", "k=v=w,"],
            "label",
        ),
    ];
    for (args, needle) in cases {
        let err = fails(&run(&env, args, None));
        assert!(err.contains(needle), "{args:?}: {err}");
    }
}

#[test]
fn apply_pipes_to_kubectl_and_says_so_when_kubectl_is_missing() {
    let env = env();
    // No kubectl anywhere: a clear error.
    let empty = tempfile::tempdir().unwrap();
    let out = env.test.run_with(
        &["deploy", "istio", "--offline", REF, "--apply"],
        &[("PATH", empty.path().as_os_str())],
    );
    let err = fails(&out);
    assert!(err.contains("kubectl is not installed"), "{err}");
    // A kubectl that records what it is given (there is no cluster here to apply to).
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("log");
    let script = dir.path().join("kubectl");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\necho \"ARGS $*\" >> {0}\ncat >> {0}\n",
            log.display()
        ),
    )
    .unwrap();
    make_executable(&script);
    let kubectl = [("KUBECTL", script.as_os_str())];
    let out = env
        .test
        .run_with(&["deploy", "istio", "--offline", REF, "--apply"], &kubectl);
    ok(&out);
    let logged = std::fs::read_to_string(&log).unwrap();
    assert!(logged.starts_with("ARGS apply -f -\n"), "{logged}");
    assert!(
        logged.contains(&env.digest) && logged.contains("kind: WasmPlugin"),
        "{logged}"
    );
    std::fs::remove_file(&log).unwrap();
    // The EnvoyFilter form shares the cache's ConfigMap: server-side apply, one manager per
    // filter, so entries of other filters are kept.
    let out = env.test.run_with(
        &[
            "deploy",
            "istio",
            "--offline",
            REF,
            "--config",
            "world",
            "--apply",
        ],
        &kubectl,
    );
    ok(&out);
    let logged = std::fs::read_to_string(&log).unwrap();
    assert!(
        logged.starts_with(
            "ARGS apply --server-side --field-manager cargo-wasme-default-add-header -f -\n"
        ) && logged.contains("kind: ConfigMap"),
        "{logged}"
    );
    std::fs::remove_file(&log).unwrap();
    let out = env.test.run_with(
        &[
            "undeploy",
            "istio",
            "--id",
            "add-header",
            "-n",
            "bookinfo",
            "--apply",
        ],
        &kubectl,
    );
    ok(&out);
    let logged = std::fs::read_to_string(&log).unwrap();
    assert!(
        logged.starts_with("ARGS delete --ignore-not-found -f -\n"),
        "{logged}"
    );
    assert_eq!(logged.matches("name: add-header").count(), 3, "{logged}");
    // Undeploying the EnvoyFilter form also releases the filter's node-cache entry.
    std::fs::remove_file(&log).unwrap();
    let out = env.test.run_with(
        &[
            "undeploy",
            "istio",
            "--id",
            "add-header",
            "-n",
            "bookinfo",
            "--api",
            "envoyfilter",
            "--apply",
        ],
        &kubectl,
    );
    ok(&out);
    let logged = std::fs::read_to_string(&log).unwrap();
    assert!(
        logged.contains(
            "ARGS apply --server-side --field-manager cargo-wasme-bookinfo-add-header -f -\n"
        ) && logged.contains("name: wasme-cache"),
        "{logged}"
    );
    // A failing kubectl: its own message is the error's cause.
    let failing = dir.path().join("kubectl-failing");
    std::fs::write(
        &failing,
        "#!/bin/sh\ncat > /dev/null\necho 'error: the server doesn'\\''t have a resource type \"wasmplugins\"' >&2\nexit 1\n",
    )
    .unwrap();
    make_executable(&failing);
    let out = env.test.run_with(
        &["deploy", "istio", "--offline", REF, "--apply"],
        &[("KUBECTL", failing.as_os_str())],
    );
    let err = fails(&out);
    assert!(
        err.contains("kubectl apply -f -") && err.contains("doesn't have a resource type"),
        "{err}"
    );
}

fn make_executable(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

#[test]
fn undeploy_prints_deletions_and_annotation_removal() {
    let env = env();
    let out = ok(&run(
        &env,
        &["undeploy", "istio", "--id", "add-header", "-n", "bookinfo"],
        None,
    ));
    let docs = yaml_docs(&out);
    let kinds: Vec<&str> = docs.iter().map(|d| d["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["WasmPlugin", "TrafficExtension", "EnvoyFilter"]);
    assert!(
        docs.iter()
            .all(|d| d["metadata"]["namespace"] == "bookinfo")
    );
    // The annotation removal is a kustomize Component, written to --kustomize DIR: the
    // stream stays `kubectl delete -f -` input.
    let dir = tempfile::tempdir().unwrap();
    let out = ok(&run(
        &env,
        &[
            "undeploy",
            "istio",
            "--id",
            "add-header",
            "--api",
            "envoyfilter",
            "--labels",
            "app=productpage",
            "--kustomize",
            dir.path().to_str().unwrap(),
        ],
        None,
    ));
    let docs = yaml_docs(&out);
    assert_eq!(docs.len(), 1);
    assert_eq!(docs[0]["kind"], "EnvoyFilter");
    let component =
        &yaml_docs(&std::fs::read_to_string(dir.path().join("kustomization.yaml")).unwrap())[0];
    assert_eq!(component["kind"], "Component");
    let patch: serde_json::Value =
        serde_norway::from_str(component["patches"][0]["patch"].as_str().unwrap()).unwrap();
    assert!(
        patch["spec"]["template"]["metadata"]["annotations"]["sidecar.istio.io/userVolume"]
            .is_null()
    );
}

#[test]
fn filter_deployment_output_round_trips_through_render() {
    let env = env();
    let args = [
        "deploy",
        "istio",
        REF,
        "-n",
        "bookinfo",
        "--config",
        r#"{"value":"v"}"#,
        "--labels",
        "app=x",
    ];
    let direct = ok(&run(&env, &args, None));
    let fd = ok(&run(&env, &cat(&args, &["--filter-deployment"]), None));
    let fd_doc = &yaml_docs(&fd)[0];
    assert_eq!(fd_doc["kind"], "FilterDeployment");
    assert_eq!(
        fd_doc["spec"]["filter"]["image"],
        format!("localhost:5000/filters/add-header@{}", env.digest)
    );
    // Render from a file, a directory and stdin: the same manifests as `deploy`.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("fd.yaml"), &fd).unwrap();
    let from_file = ok(&run(
        &env,
        &["render", "-f", dir.path().join("fd.yaml").to_str().unwrap()],
        None,
    ));
    let from_dir = ok(&run(
        &env,
        &["render", "-f", dir.path().to_str().unwrap()],
        None,
    ));
    let from_stdin = ok(&run(&env, &["render"], Some(&fd)));
    assert_eq!(
        yaml_docs(&from_file)[0]["spec"],
        yaml_docs(&direct)[0]["spec"]
    );
    assert_eq!(from_file, from_dir);
    assert_eq!(from_file, from_stdin);
    // KRM mode, detected from stdin.
    let list = serde_json::json!({"apiVersion": "config.kubernetes.io/v1", "kind": "ResourceList", "items": yaml_docs(&fd)});
    let krm = ok(&run(
        &env,
        &["render"],
        Some(&serde_norway::to_string(&list).unwrap()),
    ));
    let krm: serde_json::Value = serde_norway::from_str(&krm).unwrap();
    assert_eq!(krm["kind"], "ResourceList");
    assert_eq!(krm["items"][0]["spec"], yaml_docs(&direct)[0]["spec"]);
    // A failing KRM run prints an error result and exits non-zero.
    let bad = serde_json::json!({"apiVersion": "config.kubernetes.io/v1", "kind": "ResourceList",
        "items": [{"apiVersion": "wasme.io/v1", "kind": "FilterDeployment", "metadata": {"name": "f"}, "spec": {"filter": {"image": "127.0.0.1:1/no/such:1"}}}]});
    let out = run(
        &env,
        &["render", "--krm"],
        Some(&serde_norway::to_string(&bad).unwrap()),
    );
    assert!(!out.status.success());
    let failed: serde_json::Value = serde_norway::from_slice(&out.stdout).unwrap();
    assert_eq!(failed["results"][0]["severity"], "error");
}

#[test]
fn crd_command_prints_the_crd() {
    let env = env();
    let out = ok(&run(&env, &["crd"], None));
    golden("filterdeployment-crd.yaml", &out);
}

#[test]
fn deploy_envoy_writes_a_bootstrap_that_loads_the_exported_module() {
    let env = env();
    let out_dir = tempfile::tempdir().unwrap();
    let bootstrap = out_dir.path().join("envoy.yaml");
    ok(&run(
        &env,
        &[
            "deploy",
            "envoy",
            REF,
            "--port",
            "10000",
            "--upstream-name",
            "backend",
            "--upstream-address",
            "127.0.0.1:9000",
            "--config",
            "hello",
            "-o",
            bootstrap.to_str().unwrap(),
        ],
        None,
    ));
    let text = std::fs::read_to_string(&bootstrap).unwrap();
    let v: serde_json::Value = serde_norway::from_str(&text).unwrap();
    let path = v.pointer("/static_resources/listeners/0/filter_chains/0/filters/0/typed_config/http_filters/0/typed_config/config/vm_config/code/local/filename")
        .and_then(|p| p.as_str())
        .expect("module path")
        .to_owned();
    assert!(Path::new(&path).is_absolute());
    assert_eq!(
        std::fs::read(&path).unwrap(),
        env.wasm,
        "the bootstrap loads the store's module"
    );
    assert!(path.starts_with(env.test.home().to_str().unwrap()));
    golden(
        "envoy-bootstrap.yaml",
        &text.replace(&path, "/WASME_HOME/modules/MODULE.wasm"),
    );
    // Unknown image: nothing written, a clear error.
    let err = fails(&run(&env, &["deploy", "envoy", "127.0.0.1:1/x/y:1"], None));
    assert!(err.contains("local store"), "{err}");
}
