//! The shipped JSON schema of scenario files: generated from the scenario types, and every
//! shipped scenario (the filters' and the `init` templates') validates against it.

use crate::author_support;

use author_support::{text, wasme, workspace};
use cargo_wasme::init::{Dependencies, Template, render};

/// What `validator` finds wrong with `doc`, as printed (empty when it is valid).
fn violations(
    validator: &cargo_wasme::config_schema::ConfigSchema,
    doc: &serde_json::Value,
) -> Vec<String> {
    validator
        .validate(doc)
        .err()
        .unwrap_or_default()
        .iter()
        .map(|v| v.to_string())
        .collect()
}

fn shipped_schema() -> serde_json::Value {
    let path = workspace().join("toolchain/schemas/scenario.schema.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn yaml(text: &str) -> serde_json::Value {
    serde_norway::from_str(text).unwrap()
}

#[test]
fn shipped_schema_is_the_generated_one() {
    let out = wasme(&["test", "--print-schema"]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    let generated: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    if std::env::var_os("WASME_BLESS").is_some() {
        std::fs::write(
            workspace().join("toolchain/schemas/scenario.schema.json"),
            serde_json::to_string_pretty(&generated).unwrap() + "\n",
        )
        .unwrap();
    }
    assert_eq!(
        generated,
        shipped_schema(),
        "toolchain/schemas/scenario.schema.json is stale: regenerate it with \
         `WASME_BLESS=1 cargo test -p cargo-wasme --test author_schema`"
    );
}

#[test]
fn every_shipped_scenario_validates() {
    let validator = cargo_wasme::config_schema::ConfigSchema::new(shipped_schema()).unwrap();
    let mut checked = 0;
    for filter in std::fs::read_dir(workspace().join("filters")).unwrap() {
        let dir = filter.unwrap().path().join("scenarios");
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in entries {
            let path = e.unwrap().path();
            if path.extension().is_some_and(|x| x == "yaml") {
                let doc = yaml(&std::fs::read_to_string(&path).unwrap());
                let errors = violations(&validator, &doc);
                assert!(errors.is_empty(), "{}: {errors:?}", path.display());
                checked += 1;
            }
        }
    }
    for t in [Template::Http, Template::Network] {
        for (path, text) in render("schema-check", t, &Dependencies::Registry("0.1.0".into())) {
            if path.extension().is_some_and(|x| x == "yaml") {
                let doc = yaml(&text);
                let errors = violations(&validator, &doc);
                assert!(
                    errors.is_empty(),
                    "{t} template {}: {errors:?}",
                    path.display()
                );
                checked += 1;
            }
        }
    }
    assert!(checked >= 7, "only {checked} scenario files found");
}

#[test]
fn the_schema_rejects_what_the_parser_rejects() {
    let validator = cargo_wasme::config_schema::ConfigSchema::new(shipped_schema()).unwrap();
    for bad in [
        "steps: []",                                        // no module
        "module: a.wasm\nsteps: [{request: {metod: GET}}]", // misspelt field
        "module: a.wasm\nfailure_policy: fail_sometimes",
        "module: a.wasm\nsteps: [{expect: {client: {status: nope}}}]",
        "module: {path: a.wasm, bogus: 1}",
    ] {
        assert!(
            validator.validate(&yaml(bad)).is_err(),
            "the schema accepts {bad:?}"
        );
    }
}

/// Documents both the parser and the schema can judge (no duration units, header-name syntax
/// or "one action per step" rules, which the schema does not express), each with whether it
/// is a valid scenario. The shorthand forms are here on purpose: `module: f.wasm`,
/// `upstream: false`, `logs: ["text"]`, string-or-list header values, any-value `config`.
const CORPUS: &[(&str, bool)] = &[
    ("module: a.wasm", true),
    ("module: {path: a.wasm}", true),
    ("module: {crate: .., package: p}", true),
    ("module: {image: localhost:5000/f:1}", true),
    ("module: \"\"", false),
    ("module: 5", false),
    ("module: [a.wasm]", false),
    ("module: {path: a.wasm, bogus: 1}", false),
    ("module: {crate: .., packge: p}", false),
    ("steps: []", false),
    ("module: a.wasm\nnmae: x", false),
    (
        "module: a.wasm\nconfig: plain text\nvm_config: {a: [1, {b: null}]}",
        true,
    ),
    ("module: a.wasm\nconfig: 12", true),
    (
        "module: a.wasm\nenv: {A: 1, B: true, C: x}\nproperties: {a.b: 1.5}",
        true,
    ),
    ("module: a.wasm\nenv: {A: {b: 1}}", false),
    ("module: a.wasm\nfailure_policy: fail_open", true),
    ("module: a.wasm\nfailure_policy: fail_sometimes", false),
    ("module: a.wasm\nstartup: {fails: true, logs: [bad]}", true),
    ("module: a.wasm\nstartup: {fail: true}", false),
    (
        "module: a.wasm\nclusters: {auth: {respond: {status: 403, headers: {x: [a, b]}}}}",
        true,
    ),
    ("module: a.wasm\nclusters: {auth: {fail: true}}", true),
    ("module: a.wasm\nclusters: {auth: {responses: []}}", false),
    (
        "module: a.wasm\nsteps: [{request: {method: POST, headers: {x-a: 1, x-b: [a, b]}}}]",
        true,
    ),
    ("module: a.wasm\nsteps: [{request: {metod: GET}}]", false),
    (
        "module: a.wasm\nsteps: [{request: {headers: {x-a: {b: 1}}}}]",
        false,
    ),
    (
        "module: a.wasm\nsteps: [{request: {}, response: {status: 201, body: hi}}]",
        true,
    ),
    (
        "module: a.wasm\nsteps: [{request: {}, response: {stauts: 201}}]",
        false,
    ),
    (
        "module: a.wasm\nsteps: [{advance_clock: 1s}, {advance_clock: 250}]",
        true,
    ),
    (
        "module: a.wasm\nsteps: [{connection: {data: [{downstream: x, end: true}], close: false}}]",
        true,
    ),
    (
        "module: a.wasm\nsteps: [{connection: {data: [{sideways: x}]}}]",
        false,
    ),
    (
        "module: a.wasm\nsteps: [{expect: {upstream: false, local_reply: false}}]",
        true,
    ),
    ("module: a.wasm\nsteps: [{expect: {upstream: true}}]", false),
    (
        "module: a.wasm\nsteps: [{expect: {client: {status: 200, headers: {x: \"1\"}}}}]",
        true,
    ),
    (
        "module: a.wasm\nsteps: [{expect: {client: {status: nope}}}]",
        false,
    ),
    (
        "module: a.wasm\nsteps: [{expect: {client: {statuz: 200}}}]",
        false,
    ),
    (
        "module: a.wasm\nsteps: [{expect: {local_reply: {status: 403, bodi: x}}}]",
        false,
    ),
    (
        "module: a.wasm\nsteps: [{expect: {logs: [a, {level: info, contains: b}]}}]",
        true,
    ),
    (
        "module: a.wasm\nsteps: [{expect: {logs: [{level: loud, contains: b}]}}]",
        false,
    ),
    (
        "module: a.wasm\nsteps: [{expect: {logs: [{contain: b}]}}]",
        false,
    ),
    ("module: a.wasm\nsteps: [{expect: {logs: [3]}}]", false),
    (
        "module: a.wasm\nsteps: [{expect: {vm_failed: true, stream_reset: reset}}]",
        true,
    ),
    ("module: a.wasm\nsteps: [{expect: {vm_failed: 3}}]", false),
    (
        "module: a.wasm\nsteps: [{expect: {metrics: {a: 1}, shared_data: {k: v, gone: null}}}]",
        true,
    ),
    (
        "module: a.wasm\nsteps: [{expect: {pending_http_calls: [{cluster: c, body_contains: [x]}]}}]",
        true,
    ),
    (
        "module: a.wasm\nsteps: [{expect: {pending_http_calls: [{clustr: c}]}}]",
        false,
    ),
    (
        "module: a.wasm\nsteps: [{expect: {connection: {closed_by_filter: true}}}]",
        true,
    ),
    (
        "module: a.wasm\nsteps: [{expect: {connection: {closed: true}}}]",
        false,
    ),
];

#[test]
fn the_schema_and_the_parser_agree() {
    let validator = cargo_wasme::config_schema::ConfigSchema::new(shipped_schema()).unwrap();
    for (doc, valid) in CORPUS {
        let parsed = cargo_wasme::scenario::parse::parse_str(std::path::Path::new("s.yaml"), doc);
        assert_eq!(parsed.is_ok(), *valid, "the parser on {doc:?}: {parsed:?}");
        assert_eq!(
            validator.validate(&yaml(doc)).is_ok(),
            *valid,
            "the schema on {doc:?}"
        );
    }
}

#[test]
fn the_schema_rejects_a_misspelt_field_at_every_level() {
    let validator = cargo_wasme::config_schema::ConfigSchema::new(shipped_schema()).unwrap();
    let good = "module: a.wasm\nclusters: {c: {respond: {status: 200}}}\nstartup: {fails: false}\n\
                steps:\n  - request: {path: /}\n    response: {status: 200}\n    \
                expect: {client: {status: 200}, local_reply: {status: 1}, logs: [{contains: x}], \
                connection: {closed_by_filter: false}, pending_http_calls: [{cluster: c}]}\n";
    assert!(validator.validate(&yaml(good)).is_ok(), "{good}");
    // Each misspelling, one at a time, turns the valid document into an invalid one.
    for (right, wrong) in [
        ("module:", "modul:"),
        ("respond:", "respnd:"),
        ("fails:", "fail:"),
        ("path: /", "pth: /"),
        ("response: {status", "response: {statsu"),
        ("client: {status", "client: {statsu"),
        ("local_reply: {status", "local_reply: {statsu"),
        ("{contains: x}", "{contain: x}"),
        ("closed_by_filter", "closed_by_filtr"),
        ("[{cluster: c}]", "[{clustr: c}]"),
        ("expect:", "expekt:"),
    ] {
        let bad = good.replacen(right, wrong, 1);
        assert_ne!(bad, good, "{right} not in the document");
        assert!(
            validator.validate(&yaml(&bad)).is_err(),
            "the schema accepts {bad}"
        );
        assert!(
            cargo_wasme::scenario::parse::parse_str(std::path::Path::new("s.yaml"), &bad).is_err(),
            "the parser accepts {bad}"
        );
    }
}

/// The README's annotated scenario example is a real scenario: it parses and matches the
/// schema, so the documentation cannot drift from the format.
#[test]
fn readme_scenario_example_is_valid() {
    let readme = std::fs::read_to_string(workspace().join("README.md")).unwrap();
    let section = readme
        .split("##### Scenario files")
        .nth(1)
        .expect("README has a Scenario files section");
    let block = section
        .split("```yaml\n")
        .nth(1)
        .and_then(|b| b.split("\n```").next())
        .expect("the section has a yaml block");
    let path = std::path::Path::new("README.md");
    if let Err(e) = cargo_wasme::scenario::parse::parse_str(path, block) {
        panic!("the README's scenario example is rejected: {e}");
    }
    let schema = shipped_schema();
    let validator = cargo_wasme::config_schema::ConfigSchema::new(schema).unwrap();
    let doc = yaml(block);
    let errors = violations(&validator, &doc);
    assert!(
        errors.is_empty(),
        "schema rejects the README example: {errors:?}"
    );
}
