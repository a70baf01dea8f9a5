//! The configuration schema in the image (issue 22.2): recorded by `build` (add-header, through
//! the SDK's schema build) and `package` (a module from another language with a
//! `wasme.config_schema` section), shown by `inspect`, and checked by `deploy` (every target,
//! Higress match rules included), `run` and `test` before the filter is started.

use crate::support::{TestEnv, digest_in};
use cargo_wasme::config_schema::ConfigSchema;
use proptest::prelude::*;
use std::path::{Path, PathBuf};
use std::process::Output;

/// Logs its configuration at info and refuses one containing `bad` (deploy_gateways' PICKY),
/// with a schema section: `v` a string, `_rules_` (Higress) a list of objects whose `v` is a
/// string.
const SCHEMA: &str = r#"{"type":"object","properties":{"v":{"type":"string"},"_rules_":{"type":"array","items":{"type":"object","properties":{"v":{"type":"string"}}}}},"required":["v"]}"#;

fn picky(with_schema: bool) -> Vec<u8> {
    let section = if with_schema {
        format!(
            "(@custom \"wasme.config_schema\" \"{}\")",
            SCHEMA.replace('"', "\\\"")
        )
    } else {
        String::new()
    };
    // deploy_gateways.rs's filter that refuses a configuration containing `bad`, with the
    // schema section in front.
    wat::parse_str(crate::deploy_gateways::PICKY.replacen(
        "(module",
        &format!("(module {section}"),
        1,
    ))
    .unwrap()
}

const REF: &str = "localhost:5000/filters/picky-schema:v1";
const PLAIN_REF: &str = "localhost:5000/filters/picky-plain:v1";

/// A store holding PICKY with its schema section (`REF`) and without (`PLAIN_REF`), both
/// packaged through `cargo wasme package` as a module from another toolchain is.
fn env() -> TestEnv {
    let env = TestEnv::new();
    for (with, tag) in [(true, REF), (false, PLAIN_REF)] {
        let file = env.write_module(
            if with { "schema.wasm" } else { "plain.wasm" },
            &picky(with),
        );
        env.ok(&["package", file.to_str().unwrap(), "--tag", tag]);
    }
    env
}

fn deploy(env: &TestEnv, args: &[&str]) -> Output {
    env.run_with(args, &[])
}

/// Refused by the schema: non-zero, nothing on stdout, the pointer named, the filter never
/// started (PICKY logs every configuration it is handed at info).
fn schema_refused(out: &Output, pointer_message: &str) -> String {
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!out.status.success(), "expected a refusal:\n{err}");
    assert!(out.stdout.is_empty(), "nothing printed on a refusal");
    assert!(
        err.contains("configuration schema recorded in the image rejects this configuration"),
        "{err}"
    );
    assert!(err.contains(pointer_message), "{err}");
    assert!(!err.contains("[info]"), "the filter was not started: {err}");
    err
}

#[test]
fn a_schema_section_is_recorded_by_package_shown_by_inspect_and_checked_on_every_target() {
    let env = env();
    let text = env.ok(&["inspect", REF]);
    assert!(
        text.contains("Config schema: object {_rules_: array, v: string} (required: v)"),
        "{text}"
    );
    let json: serde_json::Value =
        serde_json::from_str(&env.ok(&["inspect", REF, "--json"])).unwrap();
    assert_eq!(
        json["config_schema"],
        serde_json::from_str::<serde_json::Value>(SCHEMA).unwrap()
    );
    assert!(
        json["config"]["config"]["Labels"]["io.wasme.config-schema"].is_string(),
        "{json}"
    );
    let plain: serde_json::Value =
        serde_json::from_str(&env.ok(&["inspect", PLAIN_REF, "--json"])).unwrap();
    assert!(plain["config_schema"].is_null());
    assert!(
        env.ok(&["inspect", PLAIN_REF])
            .contains("Config schema: none recorded")
    );

    let v5 = r#"/v: 5 is not of type "string""#;
    for api in ["wasmplugin", "trafficextension", "envoyfilter"] {
        schema_refused(
            &deploy(
                &env,
                &[
                    "deploy",
                    "istio",
                    REF,
                    "--offline",
                    "--api",
                    api,
                    "--config",
                    r#"{"v": 5}"#,
                ],
            ),
            v5,
        );
    }
    schema_refused(
        &deploy(
            &env,
            &[
                "deploy",
                "envoy-gateway",
                REF,
                "--offline",
                "--target-ref",
                "backend",
                "--config",
                r#"{"v": 5}"#,
            ],
        ),
        v5,
    );
    schema_refused(
        &deploy(&env, &["deploy", "envoy", REF, "--config", r#"{"v": 5}"#]),
        v5,
    );
    // A missing field names the whole configuration.
    schema_refused(
        &deploy(
            &env,
            &[
                "deploy",
                "istio",
                REF,
                "--offline",
                "--config",
                r#"{"w": "x"}"#,
            ],
        ),
        r#""v" is a required property"#,
    );
    // Higress: the schema sees the merged configuration and names the rule at fault.
    let err = schema_refused(
        &deploy(
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
                r#"s.default.svc.cluster.local={"v":7}"#,
            ],
        ),
        r#"/_rules_/1/v: 7 is not of type "string""#,
    );
    assert!(err.contains("rejected on its own: match rule 2"), "{err}");

    // What the schema accepts still meets the dry run: the filter refuses `bad` itself.
    let out = deploy(
        &env,
        &[
            "deploy",
            "istio",
            REF,
            "--offline",
            "--config",
            r#"{"v": "bad"}"#,
        ],
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && out.stdout.is_empty(), "{err}");
    assert!(err.contains("[error] refusing bad config"), "{err}");
    // A good configuration deploys.
    let yaml = String::from_utf8(
        deploy(
            &env,
            &[
                "deploy",
                "istio",
                REF,
                "--offline",
                "--config",
                r#"{"v": "good"}"#,
            ],
        )
        .stdout,
    )
    .unwrap();
    assert!(yaml.contains("kind: WasmPlugin"), "{yaml}");
    // Without a schema, only the dry run judges: {"v": 5} passes, "bad" is refused.
    let out = deploy(
        &env,
        &[
            "deploy",
            "istio",
            PLAIN_REF,
            "--offline",
            "--config",
            r#"{"v": 5}"#,
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = deploy(
        &env,
        &[
            "deploy",
            "istio",
            PLAIN_REF,
            "--offline",
            "--config",
            r#"{"v": "bad"}"#,
        ],
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("[error] refusing bad config"));
    // --skip-config-check skips the schema too.
    let out = deploy(
        &env,
        &[
            "deploy",
            "istio",
            REF,
            "--offline",
            "--skip-config-check",
            "--config",
            r#"{"v": 5}"#,
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn render_run_and_test_check_the_schema_first() {
    let env = env();
    let fd = format!(
        "apiVersion: wasme.io/v1\nkind: FilterDeployment\nmetadata: {{name: one}}\nspec:\n  \
         filter: {{image: {REF}, config: {{v: 5}}}}\n"
    );
    let out = env.run_with_stdin(&["render", "--offline", "-f", "-"], &fd);
    let err = schema_refused(&out, r#"/v: 5 is not of type "string""#);
    // At the value in the input: line 5, the `5` of `config: {v: 5}`.
    let column = fd.lines().nth(4).unwrap().find("5}").unwrap() + 1;
    assert!(
        err.contains(&format!(
            "-:5:{column}: FilterDeployment one: spec.filter.config/v:"
        )),
        "{err}"
    );

    let out = env.run_with(&["run", REF, "--config", r#"{"v": 5}"#], &[]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(
        err.contains("rejects the plugin configuration") && err.contains(r#"/v: 5 is not of type"#),
        "{err}"
    );
    assert!(!err.contains("[info]"), "{err}");
    let out = env.run_with(&["run", REF, "--config", r#"{"v": "ok"}"#], &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // `test`: the scenario's line and the pointer; a scenario that expects start-up to fail
    // still runs the filter (it tests the filter's own refusal).
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.yaml");
    std::fs::write(
        &bad,
        format!(
            "name: schema\nmodule: {{image: {REF}}}\nconfig: {{v: 5}}\nsteps:\n  - request: {{path: /}}\n"
        ),
    )
    .unwrap();
    let out = env.run_with(&["test", bad.to_str().unwrap()], &[]);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!out.status.success(), "{text}");
    assert!(
        text.contains(&format!("{}:3:13: config:", bad.display()))
            && text.contains(r#"/v: 5 is not of type "string""#),
        "{text}"
    );
    let expected = dir.path().join("expected.yaml");
    std::fs::write(
        &expected,
        format!(
            "name: refused\nmodule: {{image: {REF}}}\nconfig: {{v: bad}}\nstartup: {{fails: true, logs: [refusing bad config]}}\n"
        ),
    )
    .unwrap();
    let out = env.run_with(&["test", expected.to_str().unwrap()], &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// `cargo wasme build -p add-header` into `<workspace>/target/wasm`, as build_cli does.
fn build_add_header(env: &TestEnv) -> (String, String) {
    let out = env
        .cmd()
        .arg("build")
        .arg("--manifest-path")
        .arg(workspace().join("Cargo.toml"))
        .arg("--target-dir")
        .arg(workspace().join("target").join("wasm"))
        .args(["-p", "add-header"])
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("CARGO_BUILD_TARGET")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{stderr}");
    (digest_in(&String::from_utf8_lossy(&out.stdout)), stderr)
}

#[test]
fn add_header_builds_its_schema_into_the_image_and_deploy_checks_it() {
    let env = TestEnv::new();
    let (digest, stderr) = build_add_header(&env);
    assert!(
        stderr.contains("Schema configuration string, or object {name: string, value: string}"),
        "{stderr}"
    );
    let json: serde_json::Value =
        serde_json::from_str(&env.ok(&["inspect", "add-header:0.1.0", "--json"])).unwrap();
    assert_eq!(json["digest"], digest.as_str());
    // The image records what the SDK derives from the type, plain-string form included.
    assert_eq!(
        json["config_schema"],
        wasme_sdk::schema::config_schema::<add_header::HeaderConfig>()
    );
    assert_eq!(json["config_schema"]["anyOf"][0]["type"], "string");
    // The shipped module has neither the export nor the marker section.
    let exports: Vec<&str> = json["exports"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["name"].as_str())
        .collect();
    assert!(!exports.contains(&"wasme_config_schema"), "{exports:?}");
    let text = env.ok(&["inspect", "add-header:0.1.0"]);
    assert!(text.contains("Config schema: string, or object"), "{text}");

    // The issue's case: `{"name": 5}` is refused before any dry run, naming the pointer.
    let out = env.run_with(
        &[
            "deploy",
            "istio",
            "add-header:0.1.0",
            "--offline",
            "--config",
            r#"{"name": 5}"#,
        ],
        &[],
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && out.stdout.is_empty(), "{err}");
    assert!(
        err.contains("configuration schema recorded in the image rejects this configuration")
            && err.contains(r#"/name: 5 is not of type "string""#),
        "{err}"
    );
    assert!(
        !err.contains("invalid plugin configuration"),
        "no dry run: {err}"
    );
    // A name the schema allows but the filter refuses: the dry run's verdict, with its log.
    let out = env.run_with(
        &[
            "deploy",
            "istio",
            "add-header:0.1.0",
            "--offline",
            "--config",
            r#"{"name": "bad name", "value": "v"}"#,
        ],
        &[],
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(err.contains("not a valid header name"), "{err}");
    // Good configurations, object and plain string, deploy.
    for config in [r#"{"name": "x-a", "value": "1"}"#, "hello there"] {
        let out = env.run_with(
            &[
                "deploy",
                "istio",
                "add-header:0.1.0",
                "--offline",
                "--config",
                config,
            ],
            &[],
        );
        assert!(
            out.status.success(),
            "{config}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // `run` of the crate itself checks the schema the build produced.
    let out = env
        .cmd()
        .args([
            "run",
            workspace().join("filters/add-header").to_str().unwrap(),
        ])
        .args([
            "--target-dir",
            workspace().join("target/wasm").to_str().unwrap(),
        ])
        .args(["--config", r#"{"name": "x", "value": 1}"#])
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("CARGO_BUILD_TARGET")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(
        err.contains(r#"/value: 1 is not of type "string""#),
        "{err}"
    );
}

/// add-header's configurations: its documented examples and generated ones. Every one the
/// filter accepts passes its schema (the schema never rejects what the filter takes).
fn add_header_schema() -> ConfigSchema {
    ConfigSchema::new(wasme_sdk::schema::config_schema::<add_header::HeaderConfig>()).unwrap()
}

#[test]
fn add_headers_examples_the_filter_accepts_pass_its_schema() {
    let schema = add_header_schema();
    let examples: &[&str] = &[
        "",
        "  ",
        "abc",
        "there",
        "hello world",
        "5",
        "true",
        "null",
        "\"quoted\"",
        r#"{"name":"X-Demo","value":"1"}"#,
        r#"{"name":"x-a","value":""}"#,
        r#" { "name" : "a" , "value" : "b" } "#,
        r#"{"name":"bad name","value":"v"}"#,
        r#"{"name":"x"}"#,
        r#"{"name":5}"#,
        "{not json",
        "[1]",
        "a\nb",
    ];
    let mut accepted = 0;
    for raw in examples {
        if add_header::parse_config(raw.as_bytes()).is_ok() {
            assert!(schema.check(raw.as_bytes()).is_ok(), "{raw:?}");
            accepted += 1;
        }
    }
    assert!(
        accepted >= 10,
        "the table checks accepted configurations: {accepted}"
    );
    // And the schema does reject what the issue names.
    assert!(schema.check(br#"{"name": 5}"#).is_err());
    assert!(
        schema
            .check(br#"{"name": "a", "value": "b", "extra": 1}"#)
            .is_err()
    );
}

fn json_string() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zA-Z0-9!#$%&'*+.^_`|~-]{0,12}",
        "\\PC{0,12}",
        "[ \t\n\"\\\\]{0,4}",
    ]
}

fn config_text() -> impl Strategy<Value = String> {
    let value = prop_oneof![
        json_string().prop_map(|s| serde_json::Value::String(s).to_string()),
        any::<i64>().prop_map(|n| n.to_string()),
        Just("null".to_string()),
        Just("[]".to_string()),
        Just("{}".to_string()),
    ];
    let field = (
        prop_oneof![
            Just("name".to_string()),
            Just("value".to_string()),
            json_string()
        ],
        value,
    );
    prop_oneof![
        json_string(),
        prop::collection::vec(field, 0..4).prop_map(|fields| {
            let body: Vec<String> = fields
                .iter()
                .map(|(k, v)| format!("{}:{v}", serde_json::Value::String(k.clone())))
                .collect();
            format!("{{{}}}", body.join(","))
        }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]
    #[test]
    fn every_configuration_add_header_accepts_passes_its_schema(raw in config_text()) {
        if add_header::parse_config(raw.as_bytes()).is_ok() {
            prop_assert!(add_header_schema().check(raw.as_bytes()).is_ok(), "{raw:?}");
        }
    }
}
