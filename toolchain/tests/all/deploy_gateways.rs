//! The configuration dry run on every target, and the Envoy Gateway and Higress targets, through
//! the real binary against a real local store. The filter is a small WAT module that logs the
//! exact configuration bytes it is handed and refuses any containing `bad`, so the tests see
//! both the verdict and the bytes each target's control plane would deliver.

use crate::deploy_support;
use crate::support::TestEnv;

use cargo_wasme::image::{self, Format, ImageSpec};
use cargo_wasme::store::Store;
use deploy_support::{assert_valid_gateway, assert_valid_istio, yaml_docs};
use std::process::Output;

const REF: &str = "localhost:5000/filters/picky:v1";

/// Logs its configuration at info (`proxy_log` level 2) and refuses one containing `bad`,
/// logging `refusing bad config` at error.
pub(crate) const PICKY: &str = r#"(module
  (import "env" "proxy_log" (func $log (param i32 i32 i32) (result i32)))
  (import "env" "proxy_get_buffer_bytes" (func $get (param i32 i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 2)
  (global $next (mut i32) (i32.const 4096))
  (func (export "proxy_abi_version_0_2_1"))
  (func (export "proxy_on_memory_allocate") (param $n i32) (result i32)
    (local $p i32)
    (local.set $p (global.get $next))
    (global.set $next (i32.add (global.get $next) (local.get $n)))
    (local.get $p))
  (func (export "proxy_on_context_create") (param i32 i32))
  (func (export "proxy_on_vm_start") (param i32 i32) (result i32) (i32.const 1))
  (func (export "proxy_on_configure") (param $ctx i32) (param $size i32) (result i32)
    (local $ptr i32) (local $len i32) (local $i i32)
    (if (i32.eqz (local.get $size)) (then (return (i32.const 1))))
    (drop (call $get (i32.const 7) (i32.const 0) (local.get $size) (i32.const 0) (i32.const 4)))
    (local.set $ptr (i32.load (i32.const 0)))
    (local.set $len (i32.load (i32.const 4)))
    (drop (call $log (i32.const 2) (local.get $ptr) (local.get $len)))
    (block $done
      (loop $scan
        (br_if $done (i32.gt_u (i32.add (local.get $i) (i32.const 3)) (local.get $len)))
        (if (i32.and
              (i32.and
                (i32.eq (i32.load8_u (i32.add (local.get $ptr) (local.get $i))) (i32.const 98))
                (i32.eq (i32.load8_u (i32.add (local.get $ptr) (i32.add (local.get $i) (i32.const 1)))) (i32.const 97)))
              (i32.eq (i32.load8_u (i32.add (local.get $ptr) (i32.add (local.get $i) (i32.const 2)))) (i32.const 100)))
          (then
            (drop (call $log (i32.const 4) (i32.const 64) (i32.const 19)))
            (return (i32.const 0))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $scan)))
    (i32.const 1))
  (data (i32.const 64) "refusing bad config"))"#;

fn env_with(format: Format) -> (TestEnv, String) {
    let test = TestEnv::new();
    let store = Store::open(test.store()).unwrap();
    let wasm = wat::parse_str(PICKY).unwrap();
    let spec = ImageSpec::new(format, vec!["v0.2.1".into()], vec!["picky_root".into()]);
    let built = image::build(&wasm, &spec).unwrap();
    store.add(REF, &built).unwrap();
    (test, built.digest.to_string())
}

fn run(env: &TestEnv, args: &[&str]) -> Output {
    env.run_with(args, &[])
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

/// A refusal: non-zero, nothing on stdout, the filter's log lines on stderr.
fn refused(out: &Output) -> String {
    assert!(
        !out.status.success(),
        "expected a refusal, got:\n{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(out.stdout.is_empty(), "nothing is printed on a refusal");
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(err.contains("refuses this configuration"), "{err}");
    assert!(err.contains("[error] refusing bad config"), "{err}");
    err
}

#[test]
fn every_istio_form_and_plain_envoy_refuse_a_configuration_the_filter_refuses() {
    let (env, _) = env_with(Format::Compat);
    // WasmPlugin: Istio's jsonpb bytes (sorted keys, compact, Go's escaping) reach the filter.
    let err = refused(&run(
        &env,
        &[
            "deploy",
            "istio",
            REF,
            "--offline",
            "--config",
            r#"{"z": 1, "a": "bad<"}"#,
        ],
    ));
    assert!(
        err.contains(r#"[info] {"a":"bad\u003c","z":1}"#),
        "the exact bytes Istio hands the filter: {err}"
    );
    for api in ["trafficextension", "envoyfilter"] {
        refused(&run(
            &env,
            &[
                "deploy",
                "istio",
                REF,
                "--offline",
                "--api",
                api,
                "--config",
                r#"{"v":"bad"}"#,
            ],
        ));
    }
    // The EnvoyFilter form hands a plain string verbatim.
    let err = refused(&run(
        &env,
        &["deploy", "istio", REF, "--offline", "--config", "so bad"],
    ));
    assert!(err.contains("[info] so bad"), "{err}");
    // `--filter-deployment` prints nothing for a refused configuration either.
    refused(&run(
        &env,
        &[
            "deploy",
            "istio",
            REF,
            "--offline",
            "--filter-deployment",
            "--config",
            r#"{"v":"bad"}"#,
        ],
    ));
    // Plain Envoy.
    let out = env.run_with(&["deploy", "envoy", REF, "--config", "bad"], &[]);
    refused(&out);

    // A good configuration deploys as before, its bytes seen by the filter.
    let out = ok(&run(
        &env,
        &[
            "deploy",
            "istio",
            REF,
            "--offline",
            "--config",
            r#"{"v":"good"}"#,
        ],
    ));
    let docs = yaml_docs(&out);
    assert_valid_istio(&docs[0]);
    assert_eq!(docs[0]["spec"]["pluginConfig"]["v"], "good");
    ok(&env.run_with(&["deploy", "envoy", REF, "--config", "fine"], &[]));

    // --skip-config-check deploys it anyway and says what was skipped.
    let out = run(
        &env,
        &[
            "deploy",
            "istio",
            REF,
            "--offline",
            "--skip-config-check",
            "--config",
            r#"{"v":"bad"}"#,
        ],
    );
    let text = ok(&out);
    assert!(text.contains("kind: WasmPlugin"));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--skip-config-check") && err.contains("on_configure"),
        "{err}"
    );
}

#[test]
fn render_and_the_krm_function_check_every_filter_deployment() {
    let (env, digest) = env_with(Format::Compat);
    let fd = |name: &str, config: &str| {
        format!(
            "apiVersion: wasme.io/v1\nkind: FilterDeployment\nmetadata:\n  name: {name}\n  namespace: default\n\
             spec:\n  filter:\n    image: {REF}\n    config: {config}\n"
        )
    };
    let stream = format!("{}---\n{}", fd("one", "{v: good}"), fd("two", "{v: bad}"));
    let out = env.run_with_stdin(&["render", "--offline", "-f", "-"], &stream);
    let err = refused(&out);
    assert!(err.contains("FilterDeployment two"), "{err}");
    // KRM function mode: an error result, the items untouched, a failure exit.
    let list = format!(
        "apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n- apiVersion: wasme.io/v1\n  kind: FilterDeployment\n  \
         metadata: {{name: two, namespace: default}}\n  spec:\n    filter:\n      image: {REF}\n      config: {{v: bad}}\n"
    );
    let out = env.run_with_stdin(&["render", "--krm"], &list);
    assert!(!out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("severity: error") && text.contains("refusing bad config"),
        "{text}"
    );
    // Good documents render, pinned to the store's digest.
    let stream = format!("{}---\n{}", fd("one", "{v: good}"), fd("two", "{v: fine}"));
    let text = ok(&env.run_with_stdin(&["render", "--offline", "-f", "-"], &stream));
    assert!(text.contains(digest.trim_start_matches("sha256:")));
}

#[test]
fn envoy_gateway_policy_is_valid_pinned_and_checked() {
    let (env, digest) = env_with(Format::Compat);
    let hex = digest.trim_start_matches("sha256:");
    let out = ok(&run(
        &env,
        &[
            "deploy",
            "envoy-gateway",
            REF,
            "--offline",
            "-n",
            "apps",
            "--target-ref",
            "backend",
            "--target-ref",
            "Gateway/eg",
            "--config",
            r#"{"header":"x-a","big":9007199254740993}"#,
            "--fail-open",
            "--pull-secret",
            "regcred",
        ],
    ));
    let docs = yaml_docs(&out);
    assert_eq!(docs.len(), 1);
    let p = &docs[0];
    assert_valid_gateway(p);
    assert_eq!(p["kind"], "EnvoyExtensionPolicy");
    assert_eq!(p["metadata"]["namespace"], "apps");
    assert_eq!(p["spec"]["targetRefs"][0]["kind"], "HTTPRoute");
    assert_eq!(p["spec"]["targetRefs"][1]["kind"], "Gateway");
    let w = &p["spec"]["wasm"][0];
    assert_eq!(w["rootID"], "picky_root");
    assert_eq!(w["code"]["type"], "Image");
    assert_eq!(
        w["code"]["image"]["url"],
        format!("localhost:5000/filters/picky@{digest}")
    );
    assert_eq!(
        w["code"]["image"]["sha256"], hex,
        "the manifest digest, 64 hex, no prefix"
    );
    assert_eq!(w["code"]["image"]["pullSecretRef"]["name"], "regcred");
    assert_eq!(w["failOpen"], true);
    assert_eq!(w["config"]["header"], "x-a");

    // The filter sees the API server's JSON: integers exact, keys sorted.
    let err = refused(&run(
        &env,
        &[
            "deploy",
            "envoy-gateway",
            REF,
            "--offline",
            "--target-ref",
            "r",
            "--config",
            r#"{"v":"bad","n":9007199254740993}"#,
        ],
    ));
    assert!(
        err.contains(r#"[info] {"n":9007199254740993,"v":"bad"}"#),
        "{err}"
    );
    // A plain string cannot travel as Envoy Gateway's JSON config; refused before any lookup.
    let out = run(
        &env,
        &[
            "deploy",
            "envoy-gateway",
            REF,
            "--target-ref",
            "r",
            "--config",
            "plain",
        ],
    );
    assert!(!out.status.success() && out.stdout.is_empty());
    assert!(String::from_utf8_lossy(&out.stderr).contains("JSON object"));
    // A kind Envoy Gateway's CEL rule refuses.
    let out = run(
        &env,
        &[
            "deploy",
            "envoy-gateway",
            REF,
            "--offline",
            "--target-ref",
            "Service/x",
        ],
    );
    assert!(!out.status.success() && out.stdout.is_empty());
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot target"));
    // undeploy.
    let out = ok(&run(
        &env,
        &["undeploy", "envoy-gateway", "--id", "picky", "-n", "apps"],
    ));
    let docs = yaml_docs(&out);
    assert_eq!(docs[0]["kind"], "EnvoyExtensionPolicy");
    assert_eq!(docs[0]["metadata"]["namespace"], "apps");
}

#[test]
fn gateways_refuse_an_image_format_their_fetcher_cannot_read() {
    let (env, _) = env_with(Format::Cncf);
    for args in [
        vec![
            "deploy",
            "envoy-gateway",
            REF,
            "--offline",
            "--target-ref",
            "r",
        ],
        vec!["deploy", "higress", REF, "--offline"],
    ] {
        let out = run(&env, &args);
        assert!(!out.status.success() && out.stdout.is_empty());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("--format compat"), "{err}");
    }
}

#[test]
fn higress_plugin_merges_rules_as_its_controller_does_and_checks_each() {
    let (env, digest) = env_with(Format::Compat);
    let hex = digest.trim_start_matches("sha256:");
    let out = run(
        &env,
        &[
            "deploy",
            "higress",
            REF,
            "--offline",
            "--config",
            r#"{"v":"default"}"#,
            "--match-ingress",
            r#"default/backend={"v":"route"}"#,
            "--match-domain",
            r#"*.example.com,www.*={"v":"domain"}"#,
            "--phase",
            "authn",
            "--priority",
            "10",
            "--fail-strategy",
            "fail-open",
            "--pull-secret",
            "regcred",
        ],
    );
    let text = ok(&out);
    let docs = yaml_docs(&text);
    let p = &docs[0];
    assert_valid_gateway(p);
    assert_eq!(p["apiVersion"], "extensions.higress.io/v1alpha1");
    assert_eq!(p["metadata"]["namespace"], "higress-system");
    assert_eq!(
        p["spec"]["url"],
        format!("oci://localhost:5000/filters/picky@{digest}")
    );
    assert_eq!(p["spec"]["sha256"], hex);
    assert_eq!(p["spec"]["pluginName"], "picky_root");
    assert_eq!(p["spec"]["phase"], "AUTHN");
    assert_eq!(p["spec"]["priority"], 10);
    assert_eq!(p["spec"]["failStrategy"], "FAIL_OPEN");
    assert_eq!(p["spec"]["imagePullSecret"], "regcred");
    assert_eq!(p["spec"]["defaultConfig"]["v"], "default");
    assert_eq!(p["spec"]["matchRules"][0]["ingress"][0], "default/backend");
    assert_eq!(p["spec"]["matchRules"][1]["domain"][1], "www.*");

    // A bad second rule: refused, naming the rule, showing the merged bytes Higress hands over.
    let err = refused(&run(
        &env,
        &[
            "deploy",
            "higress",
            REF,
            "--offline",
            "--config",
            r#"{"v":"default"}"#,
            "--match-ingress",
            r#"default/backend={"v":"route"}"#,
            "--match-service",
            r#"s.default.svc.cluster.local={"v":"bad"}"#,
        ],
    ));
    assert!(err.contains("match rule 2"), "{err}");
    assert!(
        err.contains(
            r#"[info] {"_rules_":[{"_match_route_":["default/backend"],"v":"route"},{"_match_service_":["s.default.svc.cluster.local"],"v":"bad"}],"v":"default"}"#
        ),
        "{err}"
    );
    // A rule with nothing to match is refused (the controller would drop the whole plugin).
    let out = run(
        &env,
        &[
            "deploy",
            "higress",
            REF,
            "--offline",
            "--match-domain",
            r#"={"v":"x"}"#,
        ],
    );
    assert!(!out.status.success() && out.stdout.is_empty());
    assert!(String::from_utf8_lossy(&out.stderr).contains("names nothing to match"));
    // Another namespace: a warning (the controller reads only its own).
    let out = run(&env, &["deploy", "higress", REF, "--offline", "-n", "apps"]);
    ok(&out);
    assert!(String::from_utf8_lossy(&out.stderr).contains("higress-system"));
    // undeploy.
    let docs = yaml_docs(&ok(&run(&env, &["undeploy", "higress", "--id", "picky"])));
    assert_eq!(docs[0]["apiVersion"], "extensions.higress.io/v1alpha1");
    assert_eq!(docs[0]["metadata"]["namespace"], "higress-system");
}

#[test]
fn filter_deployments_target_the_gateways_in_render() {
    let (env, digest) = env_with(Format::Compat);
    let stream = format!(
        "apiVersion: wasme.io/v1\nkind: FilterDeployment\nmetadata: {{name: eg, namespace: apps}}\nspec:\n  \
         filter: {{image: {REF}, config: {{v: ok}}}}\n  deployment:\n    target: envoy-gateway\n    \
         envoyGateway: {{targetRefs: [{{kind: HTTPRoute, name: backend}}]}}\n---\n\
         apiVersion: wasme.io/v1\nkind: FilterDeployment\nmetadata: {{name: hi, namespace: higress-system}}\nspec:\n  \
         filter: {{image: {REF}, id: hi, config: {{v: ok}}}}\n  deployment:\n    target: higress\n    \
         higress: {{matchRules: [{{domain: [a.example], config: {{v: fine}}}}]}}\n"
    );
    let text = ok(&env.run_with_stdin(&["render", "--offline", "-f", "-"], &stream));
    let docs = yaml_docs(&text);
    assert_eq!(docs.len(), 2);
    for d in &docs {
        assert_valid_gateway(d);
    }
    assert_eq!(docs[0]["kind"], "EnvoyExtensionPolicy");
    assert_eq!(docs[1]["kind"], "WasmPlugin");
    assert!(text.contains(digest.trim_start_matches("sha256:")));
    // The same through `deploy … --filter-deployment`, then render: identical output.
    let fd = ok(&run(
        &env,
        &[
            "deploy",
            "higress",
            REF,
            "--offline",
            "--filter-deployment",
            "--match-domain",
            r#"a.example={"v":"x"}"#,
        ],
    ));
    assert!(fd.contains("target: higress"), "{fd}");
    let again = ok(&env.run_with_stdin(&["render", "--offline", "-f", "-"], &fd));
    assert_valid_gateway(&yaml_docs(&again)[0]);
}
