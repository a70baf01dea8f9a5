//! Examples that cannot drift: every `cargo wasme …` command line in README.md, in
//! examples/**/README.md and in examples/*.sh is parsed by the real binary's argument parser
//! (`WASME_PARSE_ONLY=1`: clap parses, checks values and conflicts, and exits without running),
//! so a renamed flag, a removed short option, a value of the wrong type or two conflicting flags
//! shown in the documentation fail here, also in blocks `readme_runs.rs` does not run (skipped
//! ones, examples/*.sh). `readme_runs.rs` runs the README's shell blocks and compares their
//! output; the JSON objects are checked by `message_format.rs` against the schema their table
//! documents.
//!
//! Convention for new README sections (any helper): write commands as lines starting with
//! `cargo wasme` (in ```sh blocks) or `$ cargo wasme` (in ```console blocks); continue long
//! lines with a trailing `\`; comments (`# …`), pipes, redirections and `$(…)` around the
//! command are fine (only the `cargo wasme` part is parsed). Indented four-space blocks are
//! read too. A line that is deliberately not a valid command (prose, a placeholder like
//! `cargo wasme deploy istio IMAGE ...` whose `...` is not an argument) goes in a ```text
//! block, which is skipped.

use std::path::{Path, PathBuf};
use std::process::Command;

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// The documents read: README.md, examples/**/README.md and examples/*.sh.
fn documents() -> Vec<PathBuf> {
    let root = workspace();
    let mut docs = vec![root.join("README.md")];
    let mut stack = vec![root.join("examples")];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            if path.is_dir() && name != "target" {
                stack.push(path);
            } else if name == "README.md" || name.ends_with(".sh") {
                docs.push(path);
            }
        }
    }
    docs.sort();
    docs
}

/// `(line number, command text)` of every `cargo wasme` command, continuation lines joined;
/// ```text blocks skipped.
fn commands(text: &str, markdown: bool) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut skip = false;
    let mut pending: Option<(usize, String)> = None;
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if markdown && line.starts_with("```") {
            skip = line == "```text";
            continue;
        }
        if skip {
            continue;
        }
        if let Some((n, mut cmd)) = pending.take() {
            cmd.push(' ');
            cmd.push_str(line.trim_end_matches('\\'));
            if line.ends_with('\\') {
                pending = Some((n, cmd));
            } else {
                out.push((n, cmd));
            }
            continue;
        }
        let line = line.strip_prefix("$ ").unwrap_or(line);
        let Some(at) = line.find("cargo wasme ") else {
            continue;
        };
        // A command starts the line or follows `$(` or `=` (in scripts also `|`, `&&`), never
        // prose in backticks.
        let before = line[..at].trim_end();
        let starts = before.is_empty() || before.ends_with("$(") || before.ends_with('=');
        let chained = before.ends_with("&&") || before.ends_with('|');
        if !(starts || (!markdown && chained)) {
            continue;
        }
        let cmd = &line[at..];
        if cmd.ends_with('\\') {
            pending = Some((i + 1, cmd.trim_end_matches('\\').to_string()));
        } else {
            out.push((i + 1, cmd.to_string()));
        }
    }
    out
}

/// The arguments after `cargo wasme`, shell-split, up to the first unquoted `#`, `|`, `>`,
/// `<`, `;`, `&&` or `)`.
fn arguments(command: &str) -> Vec<String> {
    let rest = command.strip_prefix("cargo wasme").unwrap();
    let mut args = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut quote: Option<char> = None;
    let mut chars = rest.chars().peekable();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => word.push(c),
            (None, '\'' | '"') => {
                quote = Some(c);
                in_word = true;
            }
            (None, '\\') => {
                if let Some(n) = chars.next() {
                    word.push(n);
                    in_word = true;
                }
            }
            (None, c) if c.is_whitespace() => {
                if in_word {
                    args.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            (None, '#' | '|' | '>' | '<' | ';' | '&' | ')') if !in_word || c != '#' => {
                // `2>&1`: the digits name a file descriptor, not an argument.
                if matches!(c, '>' | '<')
                    && !word.is_empty()
                    && word.bytes().all(|b| b.is_ascii_digit())
                {
                    in_word = false;
                }
                break;
            }
            (None, c) => {
                word.push(c);
                in_word = true;
            }
        }
    }
    if in_word {
        args.push(word);
    }
    args
}

#[test]
fn every_documented_command_parses() {
    let mut checked = 0;
    let mut failures = Vec::new();
    for doc in documents() {
        let text = std::fs::read_to_string(&doc).unwrap();
        let markdown = doc.extension().is_some_and(|e| e == "md");
        for (line, command) in commands(&text, markdown) {
            let args = arguments(&command);
            let out = Command::new(env!("CARGO_BIN_EXE_cargo-wasme"))
                .args(&args)
                .env("WASME_PARSE_ONLY", "1")
                .output()
                .unwrap();
            checked += 1;
            if !out.status.success() {
                failures.push(format!(
                    "{}:{line}: {command}\n  {}",
                    doc.strip_prefix(workspace()).unwrap().display(),
                    String::from_utf8_lossy(&out.stderr)
                        .trim()
                        .replace('\n', "\n  ")
                ));
            }
        }
    }
    assert!(
        checked > 50,
        "only {checked} commands found: is the extraction broken?"
    );
    assert!(
        failures.is_empty(),
        "{} of {checked} documented commands do not parse:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn the_extraction_reads_what_the_convention_says() {
    let md = "text `cargo wasme build` in prose\n```sh\ncargo wasme run f.wasm --config '{\"a\": 1}'  # c\n```\n```text\ncargo wasme deploy ...\n```\n    $ digest=$(cargo wasme build -q)\n$ cargo wasme deploy istio x \\\n    -n ns | cat\n";
    let found: Vec<Vec<String>> = commands(md, true)
        .iter()
        .map(|(_, c)| arguments(c))
        .collect();
    assert_eq!(
        found,
        vec![
            vec![
                "run".to_string(),
                "f.wasm".into(),
                "--config".into(),
                "{\"a\": 1}".into()
            ],
            vec!["build".into(), "-q".into()],
            vec![
                "deploy".into(),
                "istio".into(),
                "x".into(),
                "-n".into(),
                "ns".into()
            ],
        ]
    );
}
