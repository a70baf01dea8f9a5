//! One JSON contract: every command that prints `--message-format json` objects runs here, and
//! every line it prints is validated against `toolchain/doc/message-format.schema.json` (keys
//! snake_case as cargo's, each `reason` described, no undocumented key). A new command that
//! emits JSON adds its run to `every_command_s_json_matches_the_schema` and its `reason` to
//! the schema; a `reason` the schema does not know fails here.

use crate::support::{DockerRegistry, TestEnv, filter_module};
use std::collections::BTreeSet;
use std::path::Path;

fn schema() -> serde_json::Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("doc/message-format.schema.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Validates each stdout line of one command; returns the reasons seen.
fn check(
    validator: &cargo_wasme::config_schema::ConfigSchema,
    what: &str,
    stdout: &str,
) -> BTreeSet<String> {
    let mut reasons = BTreeSet::new();
    assert!(!stdout.trim().is_empty(), "{what}: no JSON printed");
    for line in stdout.lines() {
        let value: serde_json::Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("{what}: {line:?} is not JSON: {e}"));
        let errors: Vec<String> = validator
            .validate(&value)
            .err()
            .unwrap_or_default()
            .iter()
            .map(|v| v.to_string())
            .collect();
        assert!(errors.is_empty(), "{what}: {line}\n{}", errors.join("\n"));
        snake_case_keys(what, &value, "");
        reasons.insert(value["reason"].as_str().unwrap().to_string());
    }
    reasons
}

/// Our keys are snake_case (the OCI documents `inspect` embeds keep the specification's).
fn snake_case_keys(what: &str, value: &serde_json::Value, path: &str) {
    if let Some(map) = value.as_object() {
        for (k, v) in map {
            assert!(
                k == "reason"
                    || k.chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'),
                "{what}: key {path}/{k} is not snake_case"
            );
            if !(path.is_empty() && (k == "manifest" || k == "config")) {
                snake_case_keys(what, v, &format!("{path}/{k}"));
            }
        }
    } else if let Some(items) = value.as_array() {
        for v in items {
            snake_case_keys(what, v, path);
        }
    }
}

#[test]
fn every_command_s_json_matches_the_schema() {
    let schema = schema();
    let validator = cargo_wasme::config_schema::ConfigSchema::new(schema.clone())
        .expect("the schema is a valid JSON Schema");
    let documented: BTreeSet<String> = schema["$defs"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    let env = TestEnv::new();
    let json = |args: &[&str]| {
        let mut all = vec!["--message-format", "json"];
        all.extend_from_slice(args);
        env.ok(&all)
    };
    let mut seen = BTreeSet::new();
    let wasm = env.write_module("j.wasm", &filter_module(41));
    let wasm = wasm.to_str().unwrap();
    let mut run = |what: &str, stdout: String| seen.extend(check(&validator, what, &stdout));

    run(
        "package",
        json(&["package", wasm, "--tag", "j:1", "--root-id", "rid"]),
    );
    run("images", json(&["images"]));
    run("tag", json(&["tag", "j:1", "k:1"]));
    run("inspect", json(&["inspect", "j:1"]));
    // `sign`: a key (unencrypted: no password, no terminal), a signature, its verification.
    let prefix = env.dir.path().join("k");
    run(
        "key generate",
        json(&["key", "generate", prefix.to_str().unwrap()]),
    );
    let key = prefix.with_extension("key");
    let public = prefix.with_extension("pub");
    run(
        "sign",
        json(&["sign", "j:1", "--key", key.to_str().unwrap()]),
    );
    run(
        "verify",
        json(&["verify", "j:1", "--key", public.to_str().unwrap()]),
    );
    let out = env.dir.path().join("out.wasm");
    run(
        "export",
        json(&["export", "j:1", "-o", out.to_str().unwrap()]),
    );

    let registry = DockerRegistry::start_with_auth("u", "p");
    let remote = format!("{}/j/json:1", registry.addr);
    let login = env.run_with_stdin(
        &[
            "--message-format",
            "json",
            "login",
            &registry.addr,
            "-u",
            "u",
            "--password-stdin",
        ],
        "p\n",
    );
    assert!(
        login.status.success(),
        "{}",
        String::from_utf8_lossy(&login.stderr)
    );
    run("login", String::from_utf8_lossy(&login.stdout).into_owned());
    run("tag remote", json(&["tag", "j:1", &remote]));
    run("push", json(&["push", &remote]));
    run("rmi", json(&["rmi", &remote, "k:1"]));
    run("pull", json(&["pull", &remote]));
    run("logout", json(&["logout", &registry.addr]));

    let project = env.dir.path().join("proj");
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    run(
        "init",
        json(&[
            "init",
            project.to_str().unwrap(),
            "--yes",
            "--sdk-path",
            workspace.to_str().unwrap(),
        ]),
    );

    // `test`: a passing file, and one whose module is missing (setup_error set).
    let bad = env.dir.path().join("bad.yaml");
    std::fs::write(&bad, "module: nowhere.wasm\nsteps: [{request: {}}]\n").unwrap();
    let good = env.dir.path().join("good.yaml");
    std::fs::write(
        &good,
        format!("module: {wasm}\nsteps: [{{request: {{}}}}]\n"),
    )
    .unwrap();
    let mut test = env.cmd();
    test.args(["--message-format", "json", "test"])
        .arg(&good)
        .arg(&bad);
    let out = test.output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    run("test", String::from_utf8_lossy(&out.stdout).into_owned());

    let finding = env.dir.path().join("finding.yaml");
    run(
        "fuzz",
        json(&[
            "fuzz",
            wasm,
            "--runs",
            "20",
            "--output",
            finding.to_str().unwrap(),
        ]),
    );
    let bench = json(&["bench", wasm, "--samples", "10"]);
    run("bench", bench.clone());
    let baseline = env.dir.path().join("baseline.json");
    std::fs::write(&baseline, &bench).unwrap();
    run(
        "bench --baseline",
        json(&[
            "bench",
            wasm,
            "--samples",
            "10",
            "--baseline",
            baseline.to_str().unwrap(),
            "--threshold",
            "1000%",
        ]),
    );

    // `build` prints `image-built` as `package` does (checked on add-header in build_cli.rs);
    // `fuzz` prints a finding only when one is found (fuzz_bench.rs), the schema's `finding`.
    let untested: Vec<_> = documented.difference(&seen).collect();
    assert!(
        untested.is_empty(),
        "reasons documented but never printed here: {untested:?}"
    );
}
