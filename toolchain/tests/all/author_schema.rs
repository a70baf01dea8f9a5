//! The shipped JSON schema of scenario files: generated from the scenario types, and every
//! shipped scenario (the filters' and the `init` templates') validates against it.

use crate::author_support;

use author_support::{text, wasme, workspace};
use cargo_wasme::init::{Dependencies, Template, render};

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
    let validator = jsonschema::validator_for(&shipped_schema()).unwrap();
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
                let errors: Vec<String> =
                    validator.iter_errors(&doc).map(|e| e.to_string()).collect();
                assert!(errors.is_empty(), "{}: {errors:?}", path.display());
                checked += 1;
            }
        }
    }
    for t in [Template::Http, Template::Network] {
        for (path, text) in render("schema-check", t, &Dependencies::Registry("0.1.0".into())) {
            if path.extension().is_some_and(|x| x == "yaml") {
                let doc = yaml(&text);
                let errors: Vec<String> =
                    validator.iter_errors(&doc).map(|e| e.to_string()).collect();
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
    let validator = jsonschema::validator_for(&shipped_schema()).unwrap();
    for bad in [
        "steps: []",                                        // no module
        "module: a.wasm\nsteps: [{request: {metod: GET}}]", // misspelt field
        "module: a.wasm\nfailure_policy: fail_sometimes",
        "module: a.wasm\nsteps: [{expect: {client: {status: nope}}}]",
        "module: {path: a.wasm, bogus: 1}",
    ] {
        assert!(
            !validator.is_valid(&yaml(bad)),
            "the schema accepts {bad:?}"
        );
    }
}
