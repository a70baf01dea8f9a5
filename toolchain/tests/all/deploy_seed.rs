//! The seed's documents (`../shared/reference/seed-documents.md`) work verbatim: its
//! `wasme deploy istio … --config 'tomorrow'` commands and its FilterDeployment
//! (`config: 'world'`), against an image pushed to a real `docker-registry` under the seed's
//! repository path. Only the registry host differs (webassemblyhub.io is not reachable here);
//! it is written `REGISTRY` in the golden files. Every Istio resource is validated against
//! `../shared/istio`.

use crate::deploy_support::{assert_valid_istio, golden, yaml_docs};
use crate::support::{DockerRegistry, TestEnv, filter_module};

/// The seed's FilterDeployment, verbatim but for the registry host.
const SEED_FILTER_DEPLOYMENT: &str = "apiVersion: wasme.io/v1
kind: FilterDeployment
metadata:
  name: bookinfo-custom-filter
  namespace: bookinfo
spec:
  deployment:
    istio:
      kind: Deployment
      labels:
        app: details
  filter:
    config: 'world'
    image: webassemblyhub.io/ceposta/demo-add-header:v0.2
";

struct Seed {
    _registry: DockerRegistry,
    env: TestEnv,
    addr: String,
    image: String,
}

/// The seed's image (root id `add_header`, as the seed's EnvoyFilter says), pushed.
fn seed() -> Seed {
    let registry = DockerRegistry::start();
    let env = TestEnv::new();
    let addr = registry.addr.clone();
    let image = format!("{addr}/ceposta/demo-add-header:v0.2");
    let wasm = env.write_module("demo.wasm", &filter_module(7));
    env.ok(&[
        "package",
        wasm.to_str().unwrap(),
        "--tag",
        &image,
        "--root-id",
        "add_header",
    ]);
    env.ok(&["push", &image]);
    Seed {
        _registry: registry,
        env,
        addr,
        image,
    }
}

/// Runs `args`, expecting success; returns (stdout with the registry host as `REGISTRY`,
/// stderr).
fn run(seed: &Seed, args: &[&str], stdin: Option<&str>) -> (String, String) {
    let out = match stdin {
        Some(input) => seed.env.run_with_stdin(args, input),
        None => seed.env.cmd().args(args).output().unwrap(),
    };
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{args:?} failed:\n{stderr}");
    let stdout = String::from_utf8(out.stdout).unwrap();
    (stdout.replace(&seed.addr, "REGISTRY"), stderr)
}

/// Validates every Istio resource of a stream; returns the documents.
fn validated(stream: &str) -> Vec<serde_json::Value> {
    let docs = yaml_docs(stream);
    for doc in &docs {
        if doc["apiVersion"]
            .as_str()
            .is_some_and(|a| a.contains("istio.io"))
        {
            assert_valid_istio(doc);
        }
    }
    docs
}

#[test]
fn the_seeds_deploy_commands_work_verbatim() {
    let seed = seed();
    // wasme deploy istio IMAGE --id=myfilter --namespace=bookinfo --config 'tomorrow'
    let base = [
        "deploy",
        "istio",
        seed.image.as_str(),
        "--id=myfilter",
        "--namespace=bookinfo",
        "--config",
        "tomorrow",
    ];
    let (out, err) = run(&seed, &base, None);
    assert!(
        err.contains("EnvoyFilter"),
        "the choice is announced: {err}"
    );
    let docs = validated(&out);
    assert_eq!(docs[0]["kind"], "EnvoyFilter");
    let value = serde_json::to_string(&docs[0]["spec"]).unwrap();
    assert!(
        value.contains("tomorrow")
            && value.contains("add_header")
            && value.contains("/var/local/lib/wasme-cache/"),
        "{value}"
    );
    golden("seed-deploy.yaml", &out);
    // … --labels app=details
    let mut labelled = base.to_vec();
    labelled.extend(["--labels", "app=details"]);
    let (out, _) = run(&seed, &labelled, None);
    let docs = validated(&out);
    assert_eq!(
        docs[0]["spec"]["workloadSelector"]["labels"]["app"],
        "details"
    );
    golden("seed-deploy-labels.yaml", &out);
}

#[test]
fn the_seeds_filter_deployment_renders_verbatim() {
    let seed = seed();
    let fd = SEED_FILTER_DEPLOYMENT.replace("webassemblyhub.io", &seed.addr);
    let (out, err) = run(&seed, &["render"], Some(&fd));
    assert!(
        err.contains("EnvoyFilter"),
        "the choice is announced: {err}"
    );
    let docs = validated(&out);
    assert_eq!(docs[0]["kind"], "EnvoyFilter");
    assert_eq!(docs[0]["metadata"]["namespace"], "bookinfo");
    let value = serde_json::to_string(&docs[0]["spec"]).unwrap();
    assert!(
        value.contains("world") && value.contains("add_header"),
        "{value}"
    );
    golden("seed-filterdeployment.yaml", &out);
}
