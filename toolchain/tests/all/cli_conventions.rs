//! The command line behaves like cargo's and docker's (issue 10): one meaning per short flag,
//! completions and a man page that match the binary, cargo-style stderr with `error:`/`help:`,
//! results alone on stdout, JSON lines with `--message-format json`, no ANSI codes in pipes,
//! input checked before anything is written, read-only commands that never create a store, and
//! unique digest prefixes in local commands. Every test runs the real binary.

use crate::author_support::{text, wasme};
use crate::support::{DockerRegistry, TestEnv, digest_in, filter_module, package};
use std::collections::BTreeMap;
use std::path::Path;

/// `cargo-wasme <path…> --help` (stdout).
fn help(path: &[String]) -> String {
    let env = TestEnv::new();
    let mut args: Vec<&str> = path.iter().map(String::as_str).collect();
    args.push("--help");
    env.ok(&args)
}

/// The subcommands a `--help` text lists (its `Commands:` section, without `help`).
fn subcommands(help: &str) -> Vec<String> {
    help.lines()
        .skip_while(|l| l.trim() != "Commands:")
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        .filter(|l| l.starts_with("  ") && !l.starts_with("   "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|c| *c != "help")
        .map(str::to_string)
        .collect()
}

/// `(short, long)` for every option a `--help` text lists as `-x, --long`.
fn short_flags(help: &str) -> Vec<(char, String)> {
    help.lines()
        .filter_map(|l| {
            let l = l.trim_start();
            let rest = l.strip_prefix('-')?;
            let mut chars = rest.chars();
            let short = chars.next()?;
            let long = chars.as_str().strip_prefix(", --")?;
            let long: String = long
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
                .collect();
            Some((short, long))
        })
        .collect()
}

/// Walks every command's `--help` and checks that a short flag means one thing everywhere,
/// and the meaning cargo or docker gives it.
#[test]
fn every_short_flag_has_one_meaning_across_commands() {
    let mut meanings: BTreeMap<char, BTreeMap<String, Vec<String>>> = BTreeMap::new();
    let mut queue = vec![Vec::<String>::new()];
    let mut visited = 0;
    while let Some(path) = queue.pop() {
        let text = help(&path);
        visited += 1;
        for (short, long) in short_flags(&text) {
            meanings
                .entry(short)
                .or_default()
                .entry(long)
                .or_default()
                .push(path.join(" "));
        }
        for sub in subcommands(&text) {
            let mut next = path.clone();
            next.push(sub);
            queue.push(next);
        }
    }
    assert!(visited > 20, "the walk saw only {visited} commands");
    let conflicts: Vec<String> = meanings
        .iter()
        .filter(|(_, longs)| longs.len() > 1)
        .map(|(short, longs)| format!("-{short}: {longs:?}"))
        .collect();
    assert!(
        conflicts.is_empty(),
        "short flags with several meanings:\n{}",
        conflicts.join("\n")
    );
    // The meanings cargo, docker and curl give these letters.
    let expected = [
        ('p', "package"),
        ('t', "tag"),
        ('u', "username"),
        ('n', "namespace"),
        ('o', "output"),
        ('F', "features"),
        ('H', "header"),
        ('X', "method"),
        ('d', "body"),
        ('q', "quiet"),
        ('v', "verbose"),
        ('h', "help"),
    ];
    for (short, long) in expected {
        let found: Vec<&String> = meanings
            .get(&short)
            .map(|l| l.keys().collect())
            .unwrap_or_default();
        assert_eq!(found, [long], "-{short}");
    }
    // The renamed ones are long-only now.
    let login = help(&["login".to_string()]);
    assert!(login.contains("      --password <PASSWORD>"), "{login}");
    let envoy = help(&["deploy".to_string(), "envoy".to_string()]);
    assert!(envoy.contains("      --port <PORT>"), "{envoy}");
}

/// Every command that compiles a crate takes cargo's flags, with the same spelling.
#[test]
fn building_commands_share_cargo_flags() {
    for command in ["build", "run", "test"] {
        let text = help(&[command.to_string()]);
        for flag in [
            "--release",
            "--profile <NAME>",
            "--target-dir <DIR>",
            "-F, --features <FEATURES>",
            "--all-features",
            "--no-default-features",
            "--locked",
            "--offline",
            "--frozen",
            "-q, --quiet",
            "--color <WHEN>",
            "--message-format <FMT>",
        ] {
            assert!(
                text.contains(flag),
                "`{command} --help` lacks {flag}:\n{text}"
            );
        }
    }
    for command in ["build", "run"] {
        let text = help(&[command.to_string()]);
        assert!(
            text.contains("-p, --package <PACKAGE>"),
            "{command}: {text}"
        );
    }
    assert!(help(&["build".to_string()]).contains("--manifest-path <MANIFEST_PATH>"));
}

/// The committed file `rel` (under toolchain/doc) against the binary's output for `args`.
fn check_generated(rel: &str, args: &[&str], stale: &mut Vec<String>) {
    let env = TestEnv::new();
    let generated = env.ok(args);
    assert!(
        generated.len() > 1000,
        "{args:?} printed only {generated:?}"
    );
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("doc").join(rel);
    if std::env::var_os("WASME_BLESS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &generated).unwrap();
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    if committed != generated {
        stale.push(format!(
            "toolchain/doc/{rel} is stale: cargo run -p cargo-wasme -- {} > toolchain/doc/{rel}",
            args.join(" ")
        ));
    }
}

#[test]
fn completions_and_man_page_are_current() {
    let mut stale = Vec::new();
    check_generated(
        "completions/cargo-wasme.bash",
        &["completions", "bash"],
        &mut stale,
    );
    check_generated(
        "completions/_cargo-wasme",
        &["completions", "zsh"],
        &mut stale,
    );
    check_generated(
        "completions/cargo-wasme.fish",
        &["completions", "fish"],
        &mut stale,
    );
    check_generated("cargo-wasme.1", &["man"], &mut stale);
    assert!(
        stale.is_empty(),
        "{}\n(or regenerate all: WASME_BLESS=1 cargo test -p cargo-wasme --test all completions_and_man_page_are_current)",
        stale.join("\n")
    );
    let bash = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("doc/completions/cargo-wasme.bash"),
    )
    .unwrap();
    for word in ["build", "push", "deploy", "--message-format", "--features"] {
        assert!(bash.contains(word), "bash completion lacks {word}");
    }
}

/// `init` refuses names cargo refuses (and upper case) before writing anything, and says
/// which name would work.
#[test]
fn init_checks_the_crate_name_and_suggests_a_fix() {
    let tmp = tempfile::tempdir().unwrap();
    for (dir, name, suggestion) in [
        ("My-Filter", None, "--name my-filter"),
        ("ok-dir", Some("2fast"), "--name fast"),
        ("ok-dir", Some("fn"), "--name fn-filter"),
        ("ok-dir", Some("has space"), "--name has-space"),
    ] {
        let path = tmp.path().join(dir);
        let mut args = vec!["init", path.to_str().unwrap(), "--yes"];
        if let Some(n) = name {
            args.extend(["--name", n]);
        }
        let out = wasme(&args);
        let (stdout, stderr) = text(&out);
        assert_eq!(out.status.code(), Some(1), "{args:?}\n{stderr}");
        assert!(stdout.is_empty(), "{stdout}");
        let shown = name.unwrap_or(dir);
        assert!(
            stderr.starts_with(&format!("error: invalid crate name {shown:?}: ")),
            "{stderr}"
        );
        let help = stderr
            .lines()
            .find(|l| l.starts_with("  help: "))
            .unwrap_or_else(|| panic!("no help line:\n{stderr}"));
        assert!(help.contains(suggestion), "{help}");
        assert!(!path.exists(), "{} was created", path.display());
    }
}

/// Every path a generated file names exists in the generated project.
#[test]
fn init_generates_the_schema_its_scenarios_name() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("schema-check");
    let out = wasme(&[
        "init",
        dir.to_str().unwrap(),
        "--yes",
        "--sdk-version",
        "0.1.0",
    ]);
    let (_, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    let mut named = 0;
    for entry in std::fs::read_dir(dir.join("scenarios")).unwrap() {
        let file = entry.unwrap().path();
        if file.extension().is_none_or(|e| e != "yaml") {
            continue;
        }
        let text = std::fs::read_to_string(&file).unwrap();
        for line in text.lines() {
            if let Some(schema) = line.split("$schema=").nth(1) {
                named += 1;
                let schema = file.parent().unwrap().join(schema.trim());
                let json: serde_json::Value =
                    serde_json::from_str(&std::fs::read_to_string(&schema).unwrap_or_else(|e| {
                        panic!("{} names {}: {e}", file.display(), schema.display())
                    }))
                    .unwrap();
                assert!(json["properties"]["steps"].is_object(), "{json}");
            }
        }
        assert!(
            !text.contains("schemas/scenario.schema.json"),
            "{} names a path outside the project",
            file.display()
        );
    }
    assert!(named >= 2, "the scenario files name no schema");
    // The file is what `cargo wasme test --print-schema` prints.
    let printed = TestEnv::new().ok(&["test", "--print-schema"]);
    let written = std::fs::read_to_string(dir.join("scenarios/scenario.schema.json")).unwrap();
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&printed).unwrap(),
        serde_json::from_str::<serde_json::Value>(&written).unwrap()
    );
}

/// `package` without `--tag` uses the name its help promises, and prints only the digest.
#[test]
fn package_default_tag_follows_its_help() {
    let env = TestEnv::new();
    let help = env.ok(&["package", "--help"]);
    assert!(help.contains("my-filter:latest"), "{help}");
    let wasm = env.write_module("my_filter.wasm", &filter_module(7));
    let out = env.run_with(&["package", wasm.to_str().unwrap()], &[]);
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(out.status.success(), "{stderr}");
    let digest = digest_in(&stdout);
    assert_eq!(
        stdout,
        format!("{digest}\n"),
        "stdout carries only the digest"
    );
    assert!(
        stderr.contains("    Packaged my-filter:latest ("),
        "{stderr}"
    );
    let inspected: serde_json::Value =
        serde_json::from_str(&env.ok(&["inspect", "my-filter:latest", "--json"])).unwrap();
    assert_eq!(inspected["digest"], digest.as_str());
}

/// `export` writes a 0644 file, as `docker save` does, whatever the temporary file's mode.
#[cfg(unix)]
#[test]
fn export_writes_a_world_readable_file() {
    use std::os::unix::fs::PermissionsExt;
    let env = TestEnv::new();
    package(&env, 3, "f:1", "compat");
    let out = env.dir.path().join("f.wasm");
    env.ok(&["export", "f:1", "-o", out.to_str().unwrap()]);
    let mode = std::fs::metadata(&out).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o644, "mode {mode:o}");
    assert_eq!(std::fs::read(&out).unwrap(), filter_module(3));
}

/// Commands that only read the store leave a machine without one as it was.
#[test]
fn read_only_commands_never_create_a_store() {
    let env = TestEnv::new();
    let scenario = env.dir.path().join("s.yaml");
    std::fs::write(&scenario, "module: {image: f:1}\nsteps: [{request: {}}]\n").unwrap();
    let out = env.dir.path().join("out.wasm");
    let cases: [&[&str]; 8] = [
        &["inspect", "f:1"],
        &["deploy", "envoy", "f:1"],
        &["deploy", "istio", "f:1", "--offline"],
        &["export", "f:1", "-o", out.to_str().unwrap()],
        &["run", "f:1"],
        &["tag", "f:1", "g:1"],
        &["rmi", "f:1"],
        &["test", scenario.to_str().unwrap()],
    ];
    for args in cases {
        let out = env.run_with(args, &[]);
        let said = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(out.status.code(), Some(1), "{args:?}: {said}");
        assert!(said.contains("f:1"), "{args:?}: {said}");
        assert!(
            !env.home().exists(),
            "{args:?} created {}",
            env.home().display()
        );
    }
    // `images` on a machine without a store: an empty table, an empty list.
    assert_eq!(
        env.ok(&["images"]).trim(),
        "REFERENCE  DIGEST  FORMAT  ABI  ROOT IDS  SIZE"
    );
    assert_eq!(env.ok(&["images", "--json"]).trim(), "[]");
    assert_eq!(env.ok(&["--message-format", "json", "images"]), "");
    assert!(
        !env.home().exists(),
        "images created {}",
        env.home().display()
    );
}

/// Local commands take a unique digest prefix (≥ 12 hex digits, with or without `sha256:`),
/// and say when one is ambiguous.
#[test]
fn local_commands_accept_unique_digest_prefixes() {
    let env = TestEnv::new();
    let digest = package(&env, 11, "f:1", "compat");
    let hex = &digest["sha256:".len()..];
    for prefix in [hex[..12].to_string(), format!("sha256:{}", &hex[..16])] {
        let inspected: serde_json::Value =
            serde_json::from_str(&env.ok(&["inspect", &prefix, "--json"])).unwrap();
        assert_eq!(inspected["digest"], digest.as_str(), "{prefix}");
    }
    // Too short to be a prefix: looked up as a name, not found.
    assert!(env.fails(&["inspect", &hex[..11]]).contains("no image"));
    let out = env.dir.path().join("m.wasm");
    env.ok(&["export", &hex[..12], "-o", out.to_str().unwrap()]);
    assert_eq!(std::fs::read(&out).unwrap(), filter_module(11));
    env.ok(&["tag", &hex[..12], "g:2"]);
    let g: serde_json::Value =
        serde_json::from_str(&env.ok(&["inspect", "g:2", "--json"])).unwrap();
    assert_eq!(g["digest"], digest.as_str());
    let run = env.run_with(&["run", &hex[..12]], &[]);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(stderr.contains(&format!("of image {digest}")), "{stderr}");

    // A second index entry whose digest shares the first 13 digits makes them ambiguous.
    let index_path = env.store().join("index.json");
    let mut index: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&index_path).unwrap()).unwrap();
    let mut twin = index["manifests"][0].clone();
    let flipped = if hex.as_bytes()[13] == b'0' { "1" } else { "0" };
    let twin_digest = format!("sha256:{}{flipped}{}", &hex[..13], &hex[14..]);
    twin["digest"] = twin_digest.clone().into();
    twin["annotations"]["org.opencontainers.image.ref.name"] = "docker.io/library/twin:1".into();
    index["manifests"].as_array_mut().unwrap().push(twin);
    std::fs::write(&index_path, serde_json::to_vec(&index).unwrap()).unwrap();
    let before = env.store_snapshot();
    for args in [
        vec!["inspect", &hex[..12]],
        vec!["rmi", &hex[..13]],
        vec!["tag", &hex[..12], "h:1"],
    ] {
        let err = env.fails(&args);
        assert!(err.contains("is ambiguous"), "{args:?}: {err}");
        assert!(err.contains(&digest) && err.contains(&twin_digest), "{err}");
    }
    assert!(
        env.store_snapshot() == before,
        "an ambiguous prefix changed the store"
    );
    // One more digit decides.
    env.ok(&["inspect", &hex[..14]]);
}

/// stdout holds results only; stderr holds cargo-style lines, without colour or timestamps in
/// a pipe, and with colour when asked for.
#[test]
fn pipes_get_plain_text_and_results_only() {
    let registry = DockerRegistry::start();
    let env = TestEnv::new();
    let reference = format!("{}/plain/f:1", registry.addr);
    let digest = package(&env, 21, &reference, "compat");
    // `push … | cat` and `2>log`: both streams are pipes here.
    let out = env.run_with(&["push", &reference], &[]);
    let (stdout, stderr) = (
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    );
    assert!(out.status.success(), "{stderr}");
    assert_eq!(stdout.trim(), digest, "push's stdout is its digest");
    for text in [&stdout, &stderr] {
        assert!(!text.contains('\x1b'), "ANSI codes in a pipe: {text:?}");
        assert!(
            !text.contains(" INFO ") && !text.contains(" WARN ") && !text.contains("Z "),
            "tracing lines in a pipe: {text:?}"
        );
    }
    // Colour only when asked for, by flag or by cargo's variable; NO_COLOR wins over auto.
    let wasm = env.write_module("c.wasm", &filter_module(22));
    let colored = env.run_with(
        &[
            "package",
            wasm.to_str().unwrap(),
            "--tag",
            "c:1",
            "--color",
            "always",
        ],
        &[],
    );
    assert!(String::from_utf8_lossy(&colored.stderr).contains("\x1b["));
    let by_env = env.run_with(
        &["package", wasm.to_str().unwrap(), "--tag", "c:2"],
        &[("CARGO_TERM_COLOR", "always".as_ref())],
    );
    assert!(String::from_utf8_lossy(&by_env.stderr).contains("\x1b["));
    let never = env.run_with(
        &[
            "package",
            wasm.to_str().unwrap(),
            "--tag",
            "c:3",
            "--color",
            "never",
        ],
        &[("CARGO_TERM_COLOR", "always".as_ref())],
    );
    assert!(!String::from_utf8_lossy(&never.stderr).contains('\x1b'));
    // -q: nothing on stderr, the digest on stdout.
    let quiet = env.run_with(
        &["-q", "package", wasm.to_str().unwrap(), "--tag", "c:4"],
        &[],
    );
    assert!(quiet.status.success());
    assert_eq!(String::from_utf8_lossy(&quiet.stderr), "");
    let stdout = String::from_utf8_lossy(&quiet.stdout);
    assert_eq!(stdout, format!("{}\n", digest_in(&stdout)));
}

/// Parses every stdout line as one JSON object with a `reason`.
fn json_lines(stdout: &str) -> Vec<serde_json::Value> {
    assert!(!stdout.is_empty(), "no JSON lines");
    stdout
        .lines()
        .map(|l| {
            let v: serde_json::Value =
                serde_json::from_str(l).unwrap_or_else(|e| panic!("{l:?} is not JSON: {e}"));
            assert!(v["reason"].is_string(), "{l}");
            v
        })
        .collect()
}

#[test]
fn message_format_json_prints_one_object_per_line() {
    let env = TestEnv::new();
    let wasm = env.write_module("j.wasm", &filter_module(31));
    let stdout = env.ok(&[
        "--message-format",
        "json",
        "package",
        wasm.to_str().unwrap(),
        "--tag",
        "j:1",
    ]);
    let lines = json_lines(&stdout);
    assert_eq!(lines.len(), 1, "{stdout}");
    let built = &lines[0];
    assert_eq!(built["reason"], "image-built");
    assert_eq!(built["reference"], "docker.io/library/j:1");
    assert_eq!(built["module_path"], wasm.to_str().unwrap());
    assert_eq!(built["module_size"], filter_module(31).len());
    let digest = built["digest"].as_str().unwrap().to_string();
    assert!(built["size"].as_u64().unwrap() > 0);

    let images = json_lines(&env.ok(&["--message-format", "json", "images"]));
    assert_eq!(images.len(), 1);
    assert_eq!(images[0]["reason"], "image");
    assert_eq!(images[0]["digest"], digest.as_str());

    let tagged = json_lines(&env.ok(&["--message-format", "json", "tag", "j:1", "k:1"]));
    assert_eq!(tagged[0]["reason"], "image-tagged");
    assert_eq!(tagged[0]["digest"], digest.as_str());
}

#[test]
fn test_results_as_json_lines() {
    let out = wasme(&[
        "--message-format",
        "json",
        "test",
        "filters/add-header/scenarios",
    ]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    let lines = json_lines(&stdout);
    let by_reason = |r: &str| lines.iter().filter(|l| l["reason"] == r).count();
    let scenarios = by_reason("test-scenario");
    assert_eq!(scenarios, 3, "{stdout}");
    assert!(by_reason("test-step") >= scenarios, "{stdout}");
    let summary = lines.last().unwrap();
    assert_eq!(summary["reason"], "test-summary");
    assert_eq!(summary["ok"], true);
    assert_eq!(summary["passed"], 3);
    assert!(
        lines
            .iter()
            .filter(|l| l["reason"] == "test-step")
            .all(|l| l["outcome"] == "passed"),
        "{stdout}"
    );

    // A failing scenario: exit code 1, its step and the summary say so.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("m.yaml");
    std::fs::write(&file, "module: nowhere.wasm\nsteps: [{request: {}}]\n").unwrap();
    let out = wasme(&["--message-format", "json", "test", file.to_str().unwrap()]);
    let (stdout, _) = text(&out);
    assert_eq!(out.status.code(), Some(1));
    let lines = json_lines(&stdout);
    let scenario = lines
        .iter()
        .find(|l| l["reason"] == "test-scenario")
        .unwrap();
    assert_eq!(scenario["outcome"], "failed");
    assert!(
        scenario["setup_error"]
            .as_str()
            .is_some_and(|e| e.contains("nowhere.wasm")),
        "{scenario}"
    );
    assert_eq!(lines.last().unwrap()["ok"], false);
}

/// An environment variable in an error is named as the user set it.
#[test]
fn a_bad_kubectl_variable_is_named() {
    let env = TestEnv::new();
    let err = env.fails_with(
        &["undeploy", "istio", "--id", "f", "--apply"],
        &[("KUBECTL", "/nonexistent/kubectl".as_ref())],
    );
    assert!(err.contains("KUBECTL=/nonexistent/kubectl"), "{err}");
    assert!(!err.contains("KUBECTL is not set"), "{err}");
    assert!(err.contains("\n  help: "), "{err}");
}

/// The `error:` line names each cause once: errors whose message already holds their source
/// (ours, the OS's, the registry client's) are not followed by that source again.
#[test]
fn an_error_names_each_cause_once() {
    let env = crate::support::TestEnv::new();
    let no_file = env.fails(&["run", "/nonexistent/dir/x.wasm"]);
    assert_eq!(no_file.matches("no such file").count(), 1, "{no_file}");

    // A store that cannot be created: the build error, the store's and the OS's, once each.
    let wasm = env.write_module("e.wasm", &crate::support::filter_module(43));
    let blocker = env.dir.path().join("file");
    std::fs::write(&blocker, "not a directory").unwrap();
    let out = env.run_with(
        &["package", wasm.to_str().unwrap(), "--tag", "e:1"],
        &[("WASME_HOME", blocker.join("home").as_os_str())],
    );
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    let line = stderr.lines().find(|l| l.starts_with("error:")).unwrap();
    let parts: Vec<&str> = line.split(": ").collect();
    for (i, part) in parts.iter().enumerate() {
        assert!(
            !parts[i + 1..].iter().any(|p| p == part)
                && !parts[..i].iter().any(|p| p.contains(part)),
            "{part:?} is repeated in {line:?}"
        );
    }
}
