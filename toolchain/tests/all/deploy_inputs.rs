//! Bounds on what `render` and `deploy` read and do, through the real binary: a YAML input cap,
//! one warning per kind however many documents share it, each image resolved once per run,
//! and `deploy` refusing its own bad input before any registry is contacted.

use crate::support::{DockerRegistry, FaultProxy, TestEnv, filter_module};

fn pushed(env: &TestEnv, salt: u32, tag: &str) {
    let wasm = filter_module(salt);
    let path = env.write_module(&format!("m{salt}.wasm"), &wasm);
    env.ok(&["package", path.to_str().unwrap(), "--tag", tag]);
    env.ok(&["push", tag]);
}

fn fd(name: &str, image: &str, config: &str) -> String {
    format!(
        "---\napiVersion: wasme.io/v1\nkind: FilterDeployment\nmetadata:\n  name: {name}\n  namespace: default\n\
         spec:\n  filter:\n    image: {image}\n    config: {config}\n"
    )
}

#[test]
fn render_refuses_yaml_input_past_its_cap_without_reading_it_all() {
    let env = TestEnv::new();
    // 33 MiB of comments: harmless YAML, only too much of it.
    let line = format!("# {}\n", "x".repeat(1022));
    let big = line.repeat(33 * 1024);
    let started = std::time::Instant::now();
    let mut child = env
        .cmd()
        .args(["render", "--offline", "-f", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    // `render` stops reading past the cap, so the rest of the write may meet a closed pipe.
    let writer = std::thread::spawn(move || {
        use std::io::Write as _;
        let _ = stdin.write_all(big.as_bytes());
    });
    let out = child.wait_with_output().unwrap();
    let _ = writer.join();
    assert!(!out.status.success());
    assert!(out.stdout.is_empty());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("larger than 32 MiB"), "{err}");
    assert!(started.elapsed() < std::time::Duration::from_secs(30));
}

#[test]
fn many_documents_one_image_one_resolution_one_warning_per_kind() {
    let registry = DockerRegistry::start();
    let env = TestEnv::new();
    let tag = format!("{}/filters/many:v1", registry.addr);
    pushed(&env, 41, &tag);
    let proxy = FaultProxy::start(&registry.addr, Vec::new());
    let image = format!("{}/filters/many:v1", proxy.addr);
    // A node with no local store: every image is read from its registry.
    let node = TestEnv::new();
    let n = 300;
    // Plain-string configs: each document gets the EnvoyFilter notice and the node-cache one.
    let stream: String = (0..n)
        .map(|i| fd(&format!("f{i}"), &image, "hello"))
        .collect();
    let out = node.run_with_stdin(&["render", "-f", "-"], &stream);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    let manifests = proxy
        .requests
        .lock()
        .unwrap()
        .iter()
        .filter(|r| r.contains("/manifests/"))
        .count();
    assert!(
        (1..=2).contains(&manifests),
        "{n} documents naming one image read its manifest {manifests} times"
    );
    let warnings = err.lines().filter(|l| l.starts_with("warning:")).count();
    assert!(
        warnings <= 3,
        "one warning per kind, not per document ({warnings}):\n{err}"
    );
    assert!(err.contains("and 297 more"), "{err}");
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(text.matches("kind: EnvoyFilter").count(), n);
}

#[test]
fn deploy_checks_its_own_input_before_contacting_the_registry() {
    let proxy = FaultProxy::start("127.0.0.1:1", Vec::new());
    let env = TestEnv::new();
    let image = format!("{}/filters/x:v1", proxy.addr);
    for args in [
        vec![
            "deploy",
            "istio",
            image.as_str(),
            "--api",
            "wasmplugin",
            "--config",
            "plain",
        ],
        vec!["deploy", "istio", image.as_str(), "--labels", "not a label"],
        vec![
            "deploy",
            "envoy-gateway",
            image.as_str(),
            "--target-ref",
            "r",
            "--config",
            "plain",
        ],
        vec![
            "deploy",
            "higress",
            image.as_str(),
            "--match-ingress",
            "=oops",
        ],
    ] {
        let out = env.run_with(&args, &[]);
        assert!(!out.status.success(), "{args:?}");
        assert!(out.stdout.is_empty());
        assert!(
            proxy.requests.lock().unwrap().is_empty(),
            "{args:?} contacted the registry before refusing its own input: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
