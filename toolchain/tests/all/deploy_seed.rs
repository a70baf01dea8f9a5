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

/// The seed's bookinfo `details-v1` Deployment, as an application's kustomization holds it
/// (bookinfo labels its workloads as their pods: kustomize's `labelSelector` reads the
/// workload's own labels).
const DETAILS: &str = "apiVersion: apps/v1
kind: Deployment
metadata:
  name: details-v1
  namespace: bookinfo
  labels: {app: details, version: v1}
spec:
  selector:
    matchLabels: {app: details, version: v1}
  template:
    metadata:
      labels: {app: details, version: v1}
    spec:
      containers:
      - name: details
        image: docker.io/istio/examples-bookinfo-details-v1:1.20.1
";

#[test]
fn the_kustomize_component_builds_with_real_kubectl() {
    let seed = seed();
    let dir = tempfile::tempdir().unwrap();
    let component = dir.path().join("wasme");
    let (stdout, _) = run(
        &seed,
        &[
            "deploy",
            "istio",
            seed.image.as_str(),
            "--id=myfilter",
            "--namespace=bookinfo",
            "--config",
            "tomorrow",
            "--labels",
            "app=details",
            "--kustomize",
            component.to_str().unwrap(),
        ],
        None,
    );
    // The application: its own workload, plus the component.
    let app = dir.path().join("app");
    std::fs::create_dir(&app).unwrap();
    std::fs::write(app.join("details.yaml"), DETAILS).unwrap();
    std::fs::write(
        app.join("kustomization.yaml"),
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n- details.yaml\ncomponents:\n- ../wasme\n",
    )
    .unwrap();
    let kubectl = std::env::var_os("KUBECTL").unwrap_or_else(|| "kubectl".into());
    let out = std::process::Command::new(&kubectl)
        .args(["kustomize", app.to_str().unwrap()])
        .output()
        .unwrap_or_else(|e| {
            panic!("kubectl is needed for this test (apt-get install -y kubectl): {e}")
        });
    assert!(
        out.status.success(),
        "kubectl kustomize failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let built = yaml_docs(&String::from_utf8(out.stdout).unwrap());
    let details = built
        .iter()
        .find(|d| d["kind"] == "Deployment")
        .expect("the Deployment");
    let ann = &details["spec"]["template"]["metadata"]["annotations"];
    assert!(
        ann["sidecar.istio.io/userVolumeMount"]
            .as_str()
            .is_some_and(|m| m.contains("/var/local/lib/wasme-cache")),
        "{details:#}"
    );
    let filter = built
        .iter()
        .find(|d| d["kind"] == "EnvoyFilter")
        .expect("the component's EnvoyFilter");
    assert_valid_istio(filter);
    // What was printed is what the component holds.
    assert_eq!(
        std::fs::read_to_string(component.join("resources.yaml"))
            .unwrap()
            .replace(&seed.addr, "REGISTRY"),
        stdout
    );
}

#[test]
fn the_emitted_cache_list_puts_the_module_where_the_envoy_filter_reads_it() {
    let seed = seed();
    let out = seed
        .env
        .cmd()
        .args([
            "deploy",
            "istio",
            seed.image.as_str(),
            "--id=myfilter",
            "--namespace=bookinfo",
            "--config",
            "tomorrow",
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    let docs = yaml_docs(&String::from_utf8(out.stdout).unwrap());
    let config_map = docs.iter().find(|d| d["kind"] == "ConfigMap").unwrap();
    let daemon_set = docs.iter().find(|d| d["kind"] == "DaemonSet").unwrap();
    let filename = docs[0].pointer(
        "/spec/configPatches/0/patch/value/typedConfig/value/config/vmConfig/code/local/filename",
    );
    let filename = filename.and_then(|f| f.as_str()).unwrap().to_owned();
    // The ConfigMap as the kubelet mounts it (one file per key), and the DaemonSet's own
    // arguments, with the host path replaced by a temporary directory.
    let work = tempfile::tempdir().unwrap();
    let list = work.path().join("list");
    std::fs::create_dir(&list).unwrap();
    for (key, value) in config_map["data"].as_object().unwrap() {
        std::fs::write(list.join(key), value.as_str().unwrap()).unwrap();
    }
    let cache_dir = work.path().join("cache");
    let args: Vec<String> = daemon_set
        .pointer("/spec/template/spec/containers/0/args")
        .and_then(|a| a.as_array())
        .unwrap()
        .iter()
        .map(|a| {
            let a = a.as_str().unwrap();
            match a {
                "/etc/wasme-cache" => list.to_str().unwrap().to_owned(),
                "/var/local/lib/wasme-cache" => cache_dir.to_str().unwrap().to_owned(),
                other => other.to_owned(),
            }
        })
        .collect();
    let out = seed.env.cmd().args(&args).arg("--once").output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let module = filename
        .strip_prefix("/var/local/lib/wasme-cache/")
        .unwrap();
    assert_eq!(
        std::fs::read(cache_dir.join(module)).unwrap(),
        filter_module(7),
        "the EnvoyFilter's file is the image's module"
    );
}
