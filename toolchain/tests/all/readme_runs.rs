//! The README runs as written: every shell block of README.md and examples/**/README.md
//! (```` ```sh ````, ```` ```console ````), in document order, through the real binary, against
//! the state earlier blocks built: one local store, one Debian `docker-registry` on loopback
//! (started here), one sandbox directory for the files commands write. Each command's exit
//! status is checked, and where a ```` ```console ```` block shows output under a `$ command`
//! line, that output too.
//!
//! The conventions the README follows (and this test reads):
//!
//! * ```` ```sh ```` blocks: every line is a command (a trailing `\` continues it; `# …`
//!   comments are fine); each must exit 0. ```` ```console ```` blocks: `$ ` starts a command,
//!   the lines under it are its output: stdout when it exits 0; when they start with `error:`
//!   the command must fail and they are compared with its stderr from its first `error:` line.
//!   A console command with no lines under it must exit 0; its output is not compared.
//! * Output lines match literally after trailing spaces (and blank lines, which a console block
//!   cannot show) are dropped, except `…`, which matches
//!   any text within a line (digests, sizes, times), and a line holding only `…`, which matches
//!   any number of lines. Nothing else is normalised but the registry address (below).
//! * `localhost:5000` is the registry: the test maps it to its own loopback registry's address
//!   in commands and back in output. `$TOKEN` is set (any token logs in to it).
//! * The sandbox is the working directory of every block (each block starts there, in a fresh
//!   shell; `cd`, variables and `export` last until the block ends). It holds links to the
//!   workspace's members (so `cargo wasme build -p add-header` and `filters/add-header` work)
//!   and a copy of `examples/`. `cargo wasme …` runs the binary under test (a `cargo` shim on
//!   PATH), filter builds go to `target/wasm-readme`, or `target/wasm-init` for a crate `cargo
//!   wasme init` wrote (never the outer build's target directory),
//!   `HOME`, `WASME_HOME` and `DOCKER_CONFIG` are the sandbox's, `EDITOR` is `true`.
//! * A block that cannot run here is marked in the README source, on the line before its
//!   fence, with `<!-- readme-test: skip, REASON -->` (a cluster, a tool not installed). The
//!   test prints every skipped block with its reason and counts them; nothing is skipped
//!   silently, and a fence without a language fails the test (give it `sh`, `console` or
//!   `text`).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use crate::author_support::{init_target_dir, wasm_target_dir, workspace};
use crate::support::DockerRegistry;

/// The registry address the README uses.
const README_REGISTRY: &str = "localhost:5000";

/// One command of a block, with the output the README shows under it (console blocks).
#[derive(Debug, Clone, PartialEq)]
struct Step {
    line: usize,
    command: String,
    shown: Option<Vec<String>>,
}

/// A shell block of a document.
#[derive(Debug, Clone, PartialEq)]
struct Block {
    doc: String,
    line: usize,
    skip: Option<String>,
    steps: Vec<Step>,
}

/// The shell blocks of a Markdown document, in order; fences without a language are errors.
fn blocks(doc: &str, text: &str) -> Result<Vec<Block>, String> {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let fence = lines[i].trim_start();
        if !fence.starts_with("```") {
            i += 1;
            continue;
        }
        let lang = fence.trim_start_matches('`').trim().to_string();
        let start = i;
        let mut end = i + 1;
        while end < lines.len() && !lines[end].trim_start().starts_with("```") {
            end += 1;
        }
        let body = &lines[start + 1..end.min(lines.len())];
        i = end + 1;
        if lang.is_empty() {
            return Err(format!(
                "{doc}:{}: a fence without a language: mark it `sh` or `console` (run by this \
                 test) or `text` (shown only)",
                start + 1
            ));
        }
        if lang != "sh" && lang != "console" {
            continue;
        }
        let directive = start
            .checked_sub(1)
            .map(|p| lines[p].trim())
            .and_then(|l| l.strip_prefix("<!-- readme-test:"))
            .and_then(|l| l.strip_suffix("-->"))
            .map(str::trim);
        let skip = match directive {
            None => None,
            Some(d) => match d.strip_prefix("skip,") {
                Some(reason) => Some(reason.trim().to_string()),
                None => {
                    return Err(format!(
                        "{doc}:{start}: unknown directive `{d}` (known: `skip, REASON`)"
                    ));
                }
            },
        };
        let steps = if lang == "sh" {
            sh_steps(body, start + 2)
        } else {
            console_steps(body, start + 2)
        };
        out.push(Block {
            doc: doc.to_string(),
            line: start + 1,
            skip,
            steps,
        });
    }
    Ok(out)
}

/// Every line of a ```sh block is a command (`\` continues it).
fn sh_steps(body: &[&str], first: usize) -> Vec<Step> {
    let mut steps: Vec<Step> = Vec::new();
    let mut pending: Option<Step> = None;
    for (k, raw) in body.iter().enumerate() {
        let line = raw.trim_end();
        if let Some(mut p) = pending.take() {
            p.command.push('\n');
            p.command.push_str(line);
            if line.ends_with('\\') {
                pending = Some(p);
            } else {
                steps.push(p);
            }
            continue;
        }
        if line.trim().is_empty() || line.trim_start().starts_with('#') {
            continue;
        }
        let step = Step {
            line: first + k,
            command: line.to_string(),
            shown: None,
        };
        if line.ends_with('\\') {
            pending = Some(step);
        } else {
            steps.push(step);
        }
    }
    steps.extend(pending);
    steps
}

/// `$ command` lines (continued by `\`), each followed by the output the README shows.
fn console_steps(body: &[&str], first: usize) -> Vec<Step> {
    let mut steps: Vec<Step> = Vec::new();
    let mut continuing = false;
    for (k, raw) in body.iter().enumerate() {
        let line = raw.trim_end();
        if continuing {
            let step = steps.last_mut().unwrap();
            step.command.push('\n');
            step.command.push_str(line);
            continuing = line.ends_with('\\');
            continue;
        }
        if let Some(cmd) = line.strip_prefix("$ ") {
            steps.push(Step {
                line: first + k,
                command: cmd.to_string(),
                shown: None,
            });
            continuing = cmd.ends_with('\\');
            continue;
        }
        // A comment before the first command, or a blank line between commands.
        let Some(step) = steps.last_mut() else {
            continue;
        };
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        step.shown
            .get_or_insert_with(Vec::new)
            .push(line.to_string());
    }
    steps
}

/// Whether `actual` (one line) matches `shown`, where `…` matches any text.
fn line_matches(shown: &str, actual: &str) -> bool {
    let parts: Vec<&str> = shown.split('…').collect();
    if parts.len() == 1 {
        return shown == actual;
    }
    let mut rest = actual;
    for (n, part) in parts.iter().enumerate() {
        if n == 0 {
            let Some(r) = rest.strip_prefix(part) else {
                return false;
            };
            rest = r;
        } else if n == parts.len() - 1 {
            return rest.ends_with(part) && rest.len() >= part.len();
        } else {
            let Some(at) = rest.find(part) else {
                return false;
            };
            rest = &rest[at + part.len()..];
        }
    }
    true
}

/// Whether `actual` matches `shown` line by line (a `…` line matches any number of lines).
fn output_matches(shown: &[String], actual: &[&str]) -> bool {
    match shown.split_first() {
        None => actual.is_empty(),
        Some((first, rest)) if first.trim() == "…" => {
            (0..=actual.len()).any(|skip| output_matches(rest, &actual[skip..]))
        }
        Some((first, rest)) => actual
            .split_first()
            .is_some_and(|(a, more)| line_matches(first, a) && output_matches(rest, more)),
    }
}

/// The sandbox: links to the workspace's members, a copy of examples/, a `cargo` shim.
fn sandbox(root: &Path) -> PathBuf {
    let ws = workspace();
    for entry in std::fs::read_dir(&ws).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name == "target" || name == "examples" || name.starts_with('.') {
            continue;
        }
        std::os::unix::fs::symlink(entry.path(), root.join(&*name)).unwrap();
    }
    copy_dir(&ws.join("examples"), &root.join("examples"));
    let bin = root.join(".bin");
    std::fs::create_dir_all(&bin).unwrap();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let shim = bin.join("cargo");
    std::fs::write(
        &shim,
        format!(
            "#!/bin/sh\nif [ \"$1\" = wasme ]; then exec '{}' \"$@\"; fi\nexec '{cargo}' \"$@\"\n",
            env!("CARGO_BIN_EXE_cargo-wasme")
        ),
    )
    .unwrap();
    let mut perms = std::fs::metadata(&shim).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
    std::fs::set_permissions(&shim, perms).unwrap();
    for d in ["home", "wasme", "docker"] {
        std::fs::create_dir_all(root.join(".env").join(d)).unwrap();
    }
    bin
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            if entry.file_name() != "target" {
                copy_dir(&entry.path(), &target);
            }
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// Runs a block's steps in one bash process (so `cd` and variables carry from step to step),
/// each step's stdout, stderr and status captured in files; returns them per step.
fn run_block(root: &Path, bin: &Path, registry: &str, block: &Block) -> Vec<(i32, String, String)> {
    let out = root.join(".out");
    let _ = std::fs::remove_dir_all(&out);
    std::fs::create_dir_all(&out).unwrap();
    // Builds go to a target directory chosen by where a command runs (a `cd` wrapper): a crate
    // with its own `[workspace]` (what `cargo wasme init` writes) to the generated projects'
    // directory (shared with author_init), the sandbox's copy of this workspace to its own.
    // Each kind is built with other rustflags (the workspace root's remap names the sandbox),
    // and cargo gives both the same file names: sharing one directory with the other tests
    // would make each rebuild the other's dependencies.
    let mut script = String::from(concat!(
        "cd() { builtin cd \"$@\" || return; ",
        "if [ \"$PWD\" != \"$SANDBOX\" ] && grep -qs '^\\[workspace\\]' Cargo.toml; ",
        "then export CARGO_TARGET_DIR=\"$STANDALONE_TARGET\"; ",
        "else export CARGO_TARGET_DIR=\"$SANDBOX_TARGET\"; fi; }\n",
        "cd \"$SANDBOX\"\n"
    ));
    for (n, step) in block.steps.iter().enumerate() {
        let command = step.command.replace(README_REGISTRY, registry);
        script.push_str(&format!(
            "{{ {command}\n}} > \"$OUT/{n}.out\" 2> \"$OUT/{n}.err\" < /dev/null\necho $? > \"$OUT/{n}.rc\"\n"
        ));
    }
    let env = root.join(".env");
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let home = std::env::var("HOME").unwrap_or_default();
    Command::new("bash")
        .arg("-c")
        .arg(&script)
        .env("SANDBOX", root)
        .env("OUT", &out)
        .env("PATH", path)
        .env(
            "CARGO_HOME",
            std::env::var("CARGO_HOME").unwrap_or(format!("{home}/.cargo")),
        )
        .env(
            "RUSTUP_HOME",
            std::env::var("RUSTUP_HOME").unwrap_or(format!("{home}/.rustup")),
        )
        .env("HOME", env.join("home"))
        .env("WASME_HOME", env.join("wasme"))
        .env("DOCKER_CONFIG", env.join("docker"))
        .env(
            "SANDBOX_TARGET",
            wasm_target_dir().with_file_name("wasm-readme"),
        )
        .env("STANDALONE_TARGET", init_target_dir())
        .env("EDITOR", "true")
        .env("TOKEN", "readme-token")
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("CARGO_BUILD_TARGET")
        .env_remove("WASME_VERIFY_KEY")
        .env_remove("WASME_KEY_PASSWORD")
        .env_remove("SOURCE_DATE_EPOCH")
        .env_remove("RUST_LOG")
        .env_remove("KUBECTL")
        .env_remove("REGISTRY_AUTH_FILE")
        .env_remove("XDG_RUNTIME_DIR")
        .env("NO_COLOR", "1")
        .status()
        .expect("bash runs");
    (0..block.steps.len())
        .map(|n| {
            let read = |ext: &str| {
                std::fs::read_to_string(out.join(format!("{n}.{ext}")))
                    .unwrap_or_default()
                    .replace(registry, README_REGISTRY)
            };
            let rc = read("rc").trim().parse().unwrap_or(-1);
            (rc, read("out"), read("err"))
        })
        .collect()
}

/// What is wrong with one step's result, if anything.
fn check(step: &Step, rc: i32, stdout: &str, stderr: &str) -> Option<String> {
    let shown = step.shown.as_deref().unwrap_or_default();
    let expect_error = shown.first().is_some_and(|l| l.starts_with("error:"));
    if expect_error {
        if rc == 0 {
            return Some("exited 0, but the README shows an error".into());
        }
        let lines: Vec<&str> = stderr.lines().map(str::trim_end).collect();
        let from = lines.iter().position(|l| l.starts_with("error:"));
        let actual = from.map(|f| &lines[f..]).unwrap_or_default();
        let actual: Vec<&str> = trim_trailing_blank(actual);
        return (!output_matches(shown, &actual)).then(|| "its stderr differs".into());
    }
    if rc != 0 {
        return Some(format!("exited {rc}"));
    }
    // A command without shown output: its status is all that is checked.
    step.shown.as_ref()?;
    // A console block cannot show a blank line (it separates commands), so none is compared.
    let actual: Vec<&str> = stdout
        .lines()
        .map(str::trim_end)
        .filter(|l| !l.is_empty())
        .collect();
    (!output_matches(shown, &actual)).then(|| "its stdout differs".into())
}

fn trim_trailing_blank<'a>(lines: &[&'a str]) -> Vec<&'a str> {
    let mut v = lines.to_vec();
    while v.last().is_some_and(|l| l.is_empty()) {
        v.pop();
    }
    v
}

/// README.md, then examples/**/README.md (sorted).
fn documents() -> Vec<PathBuf> {
    let root = workspace();
    let mut docs = Vec::new();
    let mut stack = vec![root.join("examples")];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() && !path.ends_with("target") {
                stack.push(path);
            } else if path.file_name().is_some_and(|n| n == "README.md") {
                docs.push(path);
            }
        }
    }
    docs.sort();
    docs.insert(0, root.join("README.md"));
    docs
}

#[test]
fn every_readme_block_runs_as_written() {
    let started = Instant::now();
    let mut all = Vec::new();
    for doc in documents() {
        let name = doc.strip_prefix(workspace()).unwrap().display().to_string();
        let text = std::fs::read_to_string(&doc).unwrap();
        all.extend(blocks(&name, &text).unwrap_or_else(|e| panic!("{e}")));
    }
    let registry = DockerRegistry::start();
    let root = tempfile::tempdir().unwrap();
    let bin = sandbox(root.path());
    let (mut ran, mut commands, mut skipped, mut failures) = (0, 0, Vec::new(), Vec::new());
    for block in &all {
        if let Some(reason) = &block.skip {
            skipped.push(format!("{}:{}: {reason}", block.doc, block.line));
            continue;
        }
        let t = Instant::now();
        let results = run_block(root.path(), &bin, &registry.addr, block);
        ran += 1;
        for (step, (rc, stdout, stderr)) in block.steps.iter().zip(&results) {
            commands += 1;
            if let Some(what) = check(step, *rc, stdout, stderr) {
                eprintln!(
                    "FAILED {}:{}: `{}` {what}",
                    block.doc, step.line, step.command
                );
                failures.push(format!(
                    "{}:{}: `{}` {what}\n--- shown:\n{}\n--- stdout:\n{}--- stderr:\n{}",
                    block.doc,
                    step.line,
                    step.command,
                    step.shown.as_deref().unwrap_or_default().join("\n"),
                    stdout,
                    stderr
                ));
            }
        }
        eprintln!(
            "readme block {}:{} ({} command(s)) in {:.1}s",
            block.doc,
            block.line,
            block.steps.len(),
            t.elapsed().as_secs_f64()
        );
    }
    eprintln!(
        "{ran} README blocks ({commands} commands) run in {:.1}s; {} skipped:",
        started.elapsed().as_secs_f64(),
        skipped.len()
    );
    for s in &skipped {
        eprintln!("  skipped {s}");
    }
    assert!(ran > 20, "only {ran} blocks ran: is the extraction broken?");
    assert!(
        failures.is_empty(),
        "{} README command(s) do not run as written:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

#[test]
fn blocks_and_output_are_read_as_the_convention_says() {
    let md = "x\n<!-- readme-test: skip, needs a cluster -->\n```console\n$ kubectl apply -f x\n```\n```sh\ncargo wasme build \\\n  -p a   # c\n# note\ncargo wasme images\n```\n```console\n$ cargo wasme images\nREF  DIGEST\na:1  4c1f…\n$ cargo wasme tag a b\n```\n```text\n$ not run\n```\n";
    let b = blocks("R.md", md).unwrap();
    assert_eq!(b.len(), 3);
    assert_eq!(b[0].skip.as_deref(), Some("needs a cluster"));
    assert_eq!(
        b[1].steps
            .iter()
            .map(|s| s.command.as_str())
            .collect::<Vec<_>>(),
        ["cargo wasme build \\\n  -p a   # c", "cargo wasme images"]
    );
    assert_eq!(
        b[2].steps[0].shown.as_deref().unwrap(),
        ["REF  DIGEST", "a:1  4c1f…"]
    );
    assert_eq!(b[2].steps[1].shown, None);
    assert!(blocks("R.md", "```\nx\n```\n").is_err());
    assert!(line_matches("sha256:4c1f…", "sha256:4c1f00"));
    assert!(line_matches("a…b…c", "a-x-b-y-c"));
    assert!(!line_matches("a…b", "a-x-c"));
    assert!(!line_matches("exact", "exact!"));
    let shown: Vec<String> = ["---", "…", "kind: X"].map(String::from).to_vec();
    assert!(output_matches(&shown, &["---", "a", "b", "kind: X"]));
    assert!(output_matches(&shown, &["---", "kind: X"]));
    assert!(!output_matches(&shown, &["---", "kind: Y"]));
}
