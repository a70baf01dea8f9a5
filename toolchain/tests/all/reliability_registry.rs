//! Reliability, registry and document side: a hostile registry ([`hostile`]) and hostile
//! files against the real `cargo-wasme` binary. Every case asserts a clear error, no panic
//! (exit code ≠ 101, no "panicked"), one error report (not two), bounded memory (the binary
//! runs under `ulimit -v`, so reading without a limit would abort instead of failing
//! cleanly), and an unchanged store and docker config.

use crate::support::hostile::{Hostile, Reply, Request, Served, small_image};
use crate::support::{TestEnv, big_module, filter_module, says_status, snapshot};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

/// Virtual memory cap for the binary under test (KiB): far below what reading any of the
/// hostile bodies whole would need, far above what a bounded pull needs.
const MEMORY_CAP_KIB: u64 = 3 * 1024 * 1024;

/// Runs the binary with `env`'s environment under `ulimit -v` (and `limits`, e.g. `ulimit -f
/// 64`), with a 1-second read timeout.
fn run_capped(env: &TestEnv, limits: &str, args: &[&str], vars: &[(&str, &str)]) -> Output {
    let base = env.cmd();
    let mut cmd = Command::new("bash");
    cmd.arg("-c")
        .arg(format!(
            "ulimit -v {MEMORY_CAP_KIB}; {limits} exec \"$0\" \"$@\""
        ))
        .arg(env!("CARGO_BIN_EXE_cargo-wasme"))
        .args(args)
        .stdin(std::process::Stdio::null())
        .env("WASME_READ_TIMEOUT", "1");
    for (k, v) in base.get_envs() {
        match v {
            Some(v) => cmd.env(k, v),
            None => cmd.env_remove(k),
        };
    }
    cmd.envs(vars.iter().copied());
    cmd.output().unwrap()
}

/// Everything a failed command may not touch: the store and the docker config.
fn state(env: &TestEnv) -> Vec<(std::path::PathBuf, Vec<u8>)> {
    let mut all = snapshot(&env.store());
    all.extend(snapshot(&env.docker_config()));
    all
}

/// Asserts the clean failure every hostile case must end in, and returns stderr.
fn assert_clean_failure(out: &Output, needles: &[&str]) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        !out.status.success(),
        "should have failed; stderr:\n{stderr}"
    );
    assert_ne!(out.status.code(), Some(101), "panicked:\n{stderr}");
    assert!(
        out.status.code().is_some(),
        "killed by a signal ({:?}), not a clean error:\n{stderr}",
        out.status
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(
        !stderr.contains("memory allocation"),
        "ran out of memory instead of failing on a limit:\n{stderr}"
    );
    assert_eq!(
        stderr.lines().filter(|l| l.starts_with("error:")).count(),
        1,
        "the error must be reported exactly once:\n{stderr}"
    );
    for n in needles {
        assert!(stderr.contains(n), "expected {n:?} in:\n{stderr}");
    }
    stderr
}

/// Pulls `ADDR/hostile/x:1` from `server` in a fresh env expecting a clean failure that
/// mentions `needles`; the store and docker config must be unchanged.
fn pull_fails(server: &Hostile, needles: &[&str]) -> String {
    pull_fails_with(server, needles, &[])
}

/// As [`pull_fails`], with extra environment variables.
fn pull_fails_with(server: &Hostile, needles: &[&str], vars: &[(&str, &str)]) -> String {
    let env = TestEnv::new();
    // An existing, empty store (`images` no longer creates one).
    cargo_wasme::store::Store::open(env.store()).unwrap();
    let before = state(&env);
    let reference = format!("{}/hostile/x:1", server.addr);
    let out = run_capped(&env, "", &["pull", &reference], vars);
    let stderr = assert_clean_failure(&out, needles);
    assert_eq!(
        state(&env),
        before,
        "a failed pull changed the store:\n{stderr}"
    );
    stderr
}

fn is_manifest(req: &Request) -> bool {
    req.path.contains("/manifests/")
}

/// The digest of the image's (only) layer.
fn layer_digest(served: &Served) -> String {
    let m: serde_json::Value = serde_json::from_slice(&served.image.manifest).unwrap();
    m["layers"][0]["digest"].as_str().unwrap().to_string()
}

fn is_layer(req: &Request, served: &Served) -> bool {
    req.path
        .ends_with(&format!("/blobs/{}", layer_digest(served)))
}

/// The image's manifest with `edit` applied.
fn edited_manifest(served: &Served, edit: impl Fn(&mut serde_json::Value)) -> Reply {
    let mut m: serde_json::Value = serde_json::from_slice(&served.image.manifest).unwrap();
    edit(&mut m);
    Reply::ok(
        cargo_wasme::image::OCI_MANIFEST,
        serde_json::to_vec(&m).unwrap(),
    )
}

#[test]
fn the_hostile_server_serves_a_valid_image_when_it_behaves() {
    // Without this, every failure below could be the server's fault.
    let server = Hostile::start(|_, _| None);
    let env = TestEnv::new();
    let reference = format!("{}/hostile/x:1", server.addr);
    let out = run_capped(&env, "", &["pull", &reference], &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(env.ok(&["images"]).contains("hostile/x"));
}

#[test]
fn an_endless_manifest_stops_at_the_manifest_limit() {
    let server = Hostile::start(|req, _| {
        is_manifest(req).then(|| Reply::Endless {
            content_length: None,
            chunk: vec![b' '; 64 * 1024],
        })
    });
    pull_fails(
        &server,
        &["the manifest is larger than the 4194304-byte limit"],
    );
}

#[test]
fn an_oversized_manifest_is_refused_by_its_length() {
    let server = Hostile::start(|req, _| {
        is_manifest(req).then(|| Reply::ok("application/json", vec![b' '; 5 << 20]))
    });
    pull_fails(&server, &["4194304-byte limit"]);
}

#[test]
fn an_endless_layer_stops_at_its_declared_size() {
    let server = Hostile::start(|req, served| {
        is_layer(req, served).then(|| Reply::Endless {
            content_length: None,
            chunk: vec![0u8; 64 * 1024],
        })
    });
    pull_fails(&server, &["more bytes than the", "manifest declares"]);
}

#[test]
fn a_layer_with_a_lying_length_is_cut_and_rejected() {
    // Content-Length says the declared size, the body goes on: the client stops at the length,
    // and the bytes do not match the digest.
    let server = Hostile::start(|req, served| {
        let size = served
            .image
            .blobs
            .iter()
            .find(|(d, _)| req.path.ends_with(d.as_str()))
            .map(|(_, b)| b.len() as u64)?;
        is_layer(req, served).then(|| Reply::Endless {
            content_length: Some(size),
            chunk: vec![7u8; 1024],
        })
    });
    pull_fails(&server, &["does not match its digest"]);
}

#[test]
fn a_huge_declared_layer_is_refused_before_downloading() {
    let server = Hostile::start(|req, served| {
        is_manifest(req)
            .then(|| edited_manifest(served, |m| m["layers"][0]["size"] = (1u64 << 40).into()))
    });
    let stderr = pull_fails(
        &server,
        &["1099511627776 bytes", "limit", "nothing was downloaded"],
    );
    assert!(
        !server.paths().iter().any(|p| p.contains("/blobs/")),
        "a blob was requested: {:?}\n{stderr}",
        server.paths()
    );
}

#[test]
fn an_oversized_config_blob_is_refused() {
    let server = Hostile::start(|req, served| {
        is_manifest(req)
            .then(|| edited_manifest(served, |m| m["config"]["size"] = (2u64 << 20).into()))
    });
    pull_fails(&server, &["config blob", "1048576-byte limit"]);
}

#[test]
fn a_short_layer_is_rejected() {
    let server = Hostile::start(|req, served| {
        is_layer(req, served).then(|| {
            let data = served
                .image
                .blobs
                .iter()
                .find(|(d, _)| req.path.ends_with(d.as_str()))
                .map(|(_, b)| b[..b.len() / 2].to_vec())
                .unwrap_or_default();
            Reply::ok("application/octet-stream", data)
        })
    });
    pull_fails(&server, &["where the manifest declares"]);
}

#[test]
fn a_tampered_layer_of_the_right_length_is_rejected() {
    let server = Hostile::start(|req, served| {
        is_layer(req, served).then(|| {
            let mut data = served
                .image
                .blobs
                .iter()
                .find(|(d, _)| req.path.ends_with(d.as_str()))
                .map(|(_, b)| b.clone())
                .unwrap_or_default();
            let last = data.len() - 1;
            data[last] ^= 0xff;
            Reply::ok("application/octet-stream", data)
        })
    });
    pull_fails(
        &server,
        &["does not match its digest", "nothing was stored"],
    );
}

#[test]
fn a_tampered_layer_leaves_a_store_with_images_as_it_was() {
    // The layer is streamed into the store and checked before it becomes a blob: a mismatch
    // must leave no blob, no temporary file and the image the tag named before in place.
    let server = Hostile::start(|req, served| {
        is_layer(req, served).then(|| {
            let digest: cargo_wasme::reference::Digest = layer_digest(served).parse().unwrap();
            let mut data = served.image.blobs[&digest].clone();
            let middle = data.len() / 2;
            data[middle] ^= 0x01;
            Reply::ok("application/octet-stream", data)
        })
    });
    let env = TestEnv::new();
    let store = cargo_wasme::store::Store::open(env.store()).unwrap();
    let reference = format!("{}/hostile/x:1", server.addr);
    let spec = cargo_wasme::image::ImageSpec::new(
        cargo_wasme::image::Format::Compat,
        vec!["v0.2.1".into()],
        vec!["before".into()],
    );
    let before_image = cargo_wasme::image::build(&filter_module(3), &spec).unwrap();
    store.add(&reference, &before_image).unwrap();
    // Another image beside it (not the served one: its layer would be found in the store).
    let other = cargo_wasme::image::build(&filter_module(4), &spec).unwrap();
    store.add("other/y:2", &other).unwrap();
    let before = state(&env);
    let out = run_capped(&env, "", &["pull", &reference], &[]);
    assert_clean_failure(&out, &["does not match its digest", "nothing was stored"]);
    assert_eq!(state(&env), before, "a failed pull changed the store");
    let kept = store.resolve(&reference).unwrap();
    assert_eq!(kept.manifest_digest, before_image.digest);
    assert_eq!(kept.root_ids, ["before"]);
}

/// The read timeout of the stall cases: a stalled answer fails the same way after 0.5 s as
/// after 30, so the four attempts take 2 s, not 4 (or 120 with the default).
const STALL_TIMEOUT: &[(&str, &str)] = &[("WASME_READ_TIMEOUT", "0.5")];

#[test]
fn a_stalled_manifest_fails_after_the_read_timeout_naming_the_registry() {
    let server = Hostile::start(|req, _| {
        is_manifest(req).then(|| Reply::Stall {
            content_length: 1000,
            prefix: b"{\"schemaVersion\"".to_vec(),
        })
    });
    let started = Instant::now();
    let stderr = pull_fails_with(&server, &[&server.addr], STALL_TIMEOUT);
    assert!(
        stderr.contains("timed out") || stderr.contains("timeout"),
        "{stderr}"
    );
    // 4 attempts × the 0.5 s timeout + backoff, far from the old 120 s per attempt.
    assert!(started.elapsed() < Duration::from_secs(60), "{stderr}");
}

#[test]
fn a_stalled_layer_fails_after_the_read_timeout() {
    let server = Hostile::start(|req, served| {
        is_layer(req, served).then(|| Reply::Stall {
            content_length: 100,
            prefix: vec![0x1f, 0x8b],
        })
    });
    let stderr = pull_fails_with(&server, &[&server.addr], STALL_TIMEOUT);
    assert!(
        stderr.contains("timed out") || stderr.contains("timeout"),
        "{stderr}"
    );
}

#[test]
fn a_layer_trickling_under_the_read_timeout_fails_at_the_transfer_limit() {
    // One byte every 100 ms never trips the 1 s read timeout. At a rate of the layer's size
    // per second, the layer gets 1 s + 1 s + 1 s in all; sent this slowly it would take 30 s.
    let server = Hostile::start(|req, served| {
        is_layer(req, served).then(|| {
            let digest = layer_digest(served);
            let (_, body) = served
                .image
                .blobs
                .iter()
                .find(|(d, _)| d.as_str() == digest)
                .expect("the image has its layer");
            Reply::Trickle {
                body: body.clone(),
                every: Duration::from_millis(100),
            }
        })
    });
    let image = small_image();
    let m: serde_json::Value = serde_json::from_slice(&image.manifest).unwrap();
    let layer = m["layers"][0]["size"].as_u64().unwrap();
    // The slowest rate allowed: the layer's size per second.
    let rate = layer;
    let started = Instant::now();
    let env = TestEnv::new();
    let out = run_capped(
        &env,
        "",
        &["pull", &format!("{}/hostile/x:1", server.addr)],
        &[("WASME_MIN_TRANSFER_RATE", &rate.to_string())],
    );
    let stderr = assert_clean_failure(&out, &["time limit", "WASME_MIN_TRANSFER_RATE"]);
    let whole_trickle = Duration::from_millis(100 * layer);
    // The read timeout, the layer's size at the rate, and the 1 s margin.
    let limit = Duration::from_secs(1 + layer / rate + 1);
    assert!(whole_trickle > limit * 2, "the layer is too small to tell");
    let took = started.elapsed();
    assert!(took >= limit && took < whole_trickle, "{took:?}: {stderr}");
}

#[test]
fn a_reset_connection_is_a_network_error() {
    let server = Hostile::start(|req, _| is_manifest(req).then_some(Reply::Reset));
    pull_fails(&server, &["cannot reach", &server.addr]);
}

#[test]
fn a_registry_answering_503_fails_after_retries() {
    let server = Hostile::start(|req, _| is_manifest(req).then(|| Reply::status(503, "down")));
    pull_fails(&server, &["HTTP 503", "after 4 attempts"]);
    let tries = server
        .paths()
        .iter()
        .filter(|p| p.contains("/manifests/"))
        .count();
    assert_eq!(tries, 4);
}

#[test]
fn a_path_traversal_digest_in_a_manifest_is_not_a_404() {
    let server = Hostile::start(|req, served| {
        is_manifest(req).then(|| {
            edited_manifest(served, |m| {
                m["layers"][0]["digest"] = "sha256:../../../../../../etc/passwd".into()
            })
        })
    });
    let stderr = pull_fails(&server, &["digest"]);
    assert!(!says_status(&stderr, 404), "{stderr}");
    assert!(
        !server.paths().iter().any(|p| p.contains("..")),
        "{:?}",
        server.paths()
    );
}

#[test]
fn a_path_traversal_digest_in_a_reference_is_refused_locally() {
    let server = Hostile::start(|_, _| None);
    let env = TestEnv::new();
    let reference = format!("{}/x@sha256:../../../etc/passwd", server.addr);
    let out = run_capped(&env, "", &["pull", &reference], &[]);
    let stderr = assert_clean_failure(&out, &[]);
    assert!(!says_status(&stderr, 404), "{stderr}");
    assert!(server.paths().is_empty(), "{:?}", server.paths());
}

/// A registry whose token service answers `token`.
fn token_server(token: &'static str) -> Hostile {
    Hostile::start(move |req, served| {
        if req.path == "/v2/" && req.header("authorization").is_none() {
            return Some(Reply::Full {
                status: 401,
                headers: vec![(
                    "WWW-Authenticate".into(),
                    format!(
                        "Bearer realm=\"http://{}/token\",service=\"hostile\"",
                        served.addr
                    ),
                )],
                body: b"{}".to_vec(),
            });
        }
        (req.path == "/token").then(|| {
            Reply::ok(
                "application/json",
                serde_json::to_vec(&serde_json::json!({ "token": token })).unwrap(),
            )
        })
    })
}

#[test]
fn a_token_with_a_line_break_is_refused_not_a_panic() {
    pull_fails(&token_server("abc\ndef"), &["cannot carry"]);
}

#[test]
fn a_token_smuggling_a_header_is_refused() {
    pull_fails(&token_server("abc\r\nX-Injected: yes"), &["cannot carry"]);
}

#[test]
fn a_token_with_a_line_break_does_not_crash_push() {
    let server = token_server("abc\ndef");
    let env = TestEnv::new();
    let wasm = env.write_module("m.wasm", &filter_module(3));
    env.ok(&["package", wasm.to_str().unwrap(), "--tag", "local/x:1"]);
    let before = state(&env);
    let target = format!("{}/hostile/x:1", server.addr);
    let out = run_capped(&env, "", &["push", "local/x:1", &target], &[]);
    assert_clean_failure(&out, &["cannot carry"]);
    assert_eq!(state(&env), before);
}

#[test]
fn credentials_are_not_sent_to_a_cleartext_realm_on_another_host() {
    let server = Hostile::start(|req, _| {
        (req.path == "/v2/").then(|| Reply::Full {
            status: 401,
            headers: vec![(
                "WWW-Authenticate".into(),
                "Bearer realm=\"http://auth.example.invalid/token\",service=\"x\"".into(),
            )],
            body: b"{}".to_vec(),
        })
    });
    let env = TestEnv::new();
    std::fs::write(
        env.docker_config().join("config.json"),
        serde_json::json!({"auths": {&server.addr: {"auth": "dXNlcjpzZWNyZXQ="}}}).to_string(),
    )
    .unwrap();
    // An existing, empty store (`images` no longer creates one).
    cargo_wasme::store::Store::open(env.store()).unwrap();
    let before = state(&env);
    let reference = format!("{}/hostile/x:1", server.addr);
    let out = run_capped(&env, "", &["pull", &reference], &[]);
    assert_clean_failure(&out, &["not HTTPS", "cleartext"]);
    assert_eq!(state(&env), before);
    // Nothing but the probe went out, and no request carried the credentials.
    let log = server.log.lock().unwrap();
    assert!(
        log.iter().all(|r| r.header("authorization").is_none()),
        "{log:?}"
    );
}

#[test]
fn a_damaged_pulled_blob_is_reported_and_repaired_by_pulling_again() {
    let server = Hostile::start(|_, _| None);
    let env = TestEnv::new();
    let reference = format!("{}/hostile/x:1", server.addr);
    env.ok(&["pull", &reference]);
    let image = small_image();
    let (digest, data) = image.blobs.iter().max_by_key(|(_, b)| b.len()).unwrap();
    let path = env.store().join("blobs/sha256").join(digest.hex());
    let mut damaged = data.clone();
    damaged[data.len() / 2] ^= 0x55;
    std::fs::write(&path, &damaged).unwrap();
    // `images` reads no layer (issue 23); the commands that read the module find the damage.
    let out = env.run_with(&["inspect", &reference], &[]);
    let stderr = assert_clean_failure(&out, &["damaged", "cargo wasme pull"]);
    assert!(stderr.contains("hostile/x:1"), "{stderr}");
    env.ok(&["pull", &reference]);
    assert_eq!(std::fs::read(&path).unwrap(), *data);
    assert!(env.ok(&["images"]).contains("hostile/x"));
}

#[test]
fn a_damaged_blob_of_the_right_length_is_replaced_by_package() {
    let env = TestEnv::new();
    let wasm = env.write_module("m.wasm", &filter_module(11));
    let args = ["package", wasm.to_str().unwrap(), "--tag", "heal/x:1"];
    env.ok(&args);
    let blobs = env.store().join("blobs/sha256");
    let mut damaged = Vec::new();
    for entry in std::fs::read_dir(&blobs).unwrap() {
        let path = entry.unwrap().path();
        let mut bytes = std::fs::read(&path).unwrap();
        let original = bytes.clone();
        bytes[0] ^= 0x01;
        std::fs::write(&path, &bytes).unwrap();
        damaged.push((path, original));
    }
    assert_clean_failure(&env.run_with(&["images"], &[]), &["damaged"]);
    env.ok(&args);
    for (path, original) in damaged {
        assert_eq!(
            std::fs::read(&path).unwrap(),
            original,
            "{}",
            path.display()
        );
    }
    env.ok(&["images"]);
}

#[test]
fn a_file_size_limit_is_a_clear_error_not_a_silent_kill() {
    let env = TestEnv::new();
    // An existing, empty store (`images` no longer creates one).
    cargo_wasme::store::Store::open(env.store()).unwrap();
    let before = state(&env);
    let wasm = env.write_module("big.wasm", &big_module(400_000));
    // 64 KiB file-size limit: the layer cannot be written.
    let out = run_capped(
        &env,
        "ulimit -f 64;",
        &["package", wasm.to_str().unwrap(), "--tag", "big/x:1"],
        &[],
    );
    assert_ne!(out.status.code(), Some(153), "killed by SIGXFSZ");
    assert_clean_failure(&out, &["file-size limit"]);
    assert_eq!(state(&env), before, "a half-written blob became visible");
}

#[test]
fn login_refuses_a_config_json_it_would_damage() {
    let server = Hostile::start(|_, _| None);
    let env = TestEnv::new();
    let config = env.docker_config().join("config.json");
    let original = r#"{"auths": ["not", "an", "object"], "proxies": {"x": 1}}"#;
    std::fs::write(&config, original).unwrap();
    let out = env.run_with_stdin(
        &["login", &server.addr, "-u", "me", "--password-stdin"],
        "secret\n",
    );
    assert_clean_failure(
        &out,
        &["does not have the structure docker writes", "`auths`"],
    );
    assert_eq!(std::fs::read_to_string(&config).unwrap(), original);
}

#[cfg(unix)]
#[test]
fn login_writes_through_a_symlinked_config_json() {
    use std::os::unix::fs::PermissionsExt;
    let server = Hostile::start(|_, _| None);
    let env = TestEnv::new();
    let dotfiles = env.dir.path().join("dotfiles");
    std::fs::create_dir_all(&dotfiles).unwrap();
    let real = dotfiles.join("docker-config.json");
    std::fs::write(&real, r#"{"auths": {"other.example": {"auth": "eDp5"}}}"#).unwrap();
    let link = env.docker_config().join("config.json");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    let out = env.run_with_stdin(
        &["login", &server.addr, "-u", "me", "--password-stdin"],
        "secret\n",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink(),
        "the link was replaced by a file"
    );
    let written: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&real).unwrap()).unwrap();
    assert!(written["auths"]["other.example"].is_object(), "{written}");
    assert!(
        written["auths"][&server.addr]["auth"].is_string(),
        "{written}"
    );
    let mode = std::fs::metadata(&real).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
}

/// Runs `render -f file` on `text` and expects a clean failure within `secs`.
fn render_fails(text: &str, secs: u64, needles: &[&str]) -> String {
    let env = TestEnv::new();
    let file = env.dir.path().join("hostile.yaml");
    std::fs::write(&file, text).unwrap();
    let started = Instant::now();
    let out = run_capped(
        &env,
        "",
        &["render", "--offline", "-f", file.to_str().unwrap()],
        &[],
    );
    let elapsed = started.elapsed();
    let stderr = assert_clean_failure(&out, needles);
    assert!(
        elapsed < Duration::from_secs(secs),
        "took {elapsed:?}: {stderr}"
    );
    stderr
}

#[test]
fn deeply_nested_flow_yaml_is_refused_before_parsing() {
    // 100k levels took a minute (quadratic) before the depth check.
    let text = format!("a: {}{}\n", "[".repeat(100_000), "]".repeat(100_000));
    render_fails(&text, 20, &["nested more than 128 levels"]);
}

#[test]
fn deeply_nested_block_yaml_is_refused_before_parsing() {
    let text: String = (0..5_000)
        .map(|i| format!("{}k{i}:\n", " ".repeat(i)))
        .collect();
    render_fails(&text, 20, &["nested more than 128 levels"]);
    let seq = format!("{}x\n", "- ".repeat(50_000));
    render_fails(&seq, 20, &["nested more than 128 levels"]);
}

#[test]
fn deeply_nested_json_is_refused_before_parsing() {
    let text = format!("{}1{}", "{\"a\":".repeat(50_000), "}".repeat(50_000));
    render_fails(&text, 20, &["nested more than 128 levels"]);
}

#[test]
fn yaml_alias_bombs_are_bounded() {
    // The "billion laughs": nine levels of ten aliases each.
    let mut text = String::from(
        "a0: &a0 [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n",
    );
    for i in 1..10 {
        let p = i - 1;
        text.push_str(&format!(
            "a{i}: &a{i} [*a{p},*a{p},*a{p},*a{p},*a{p},*a{p},*a{p},*a{p},*a{p},*a{p}]\n"
        ));
    }
    render_fails(&text, 20, &[]);
}

#[test]
fn a_huge_flat_yaml_file_is_handled_in_bounded_time() {
    // 16 MB of one flat list in a resource render passes through: parsed in linear time,
    // within the memory cap, no panic.
    let mut text = String::from("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: big}\ndata:\n");
    for i in 0..500_000 {
        text.push_str(&format!("  k{i:010}: v\n"));
    }
    let env = TestEnv::new();
    let file = env.dir.path().join("huge.yaml");
    std::fs::write(&file, &text).unwrap();
    let started = Instant::now();
    let out = run_capped(
        &env,
        "",
        &["render", "--offline", "-f", file.to_str().unwrap()],
        &[],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        out.stdout.len() >= text.len() - 100,
        "the resource was not passed through"
    );
    assert!(
        started.elapsed() < Duration::from_secs(120),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn deep_scenarios_and_request_files_are_refused_before_parsing() {
    let env = TestEnv::new();
    let deep = format!(
        "module: m.wasm\nsteps: {}{}\n",
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    let file = env.dir.path().join("deep.yaml");
    std::fs::write(&file, &deep).unwrap();
    let wasm = env.write_module("m.wasm", &filter_module(1));
    let out = run_capped(&env, "", &["test", file.to_str().unwrap()], &[]);
    assert_clean_failure(&out, &["nested more than 128 levels"]);
    let request = env.dir.path().join("request.yaml");
    std::fs::write(
        &request,
        format!(
            "headers: {}{}\n",
            "{a: ".repeat(100_000),
            "}".repeat(100_000)
        ),
    )
    .unwrap();
    let out = run_capped(
        &env,
        "",
        &[
            "run",
            wasm.to_str().unwrap(),
            "--request-file",
            request.to_str().unwrap(),
        ],
        &[],
    );
    assert_clean_failure(&out, &["nested more than 128 levels"]);
}

fn filter_deployment(image: &str, pull_options: &str) -> String {
    format!(
        "apiVersion: wasme.io/v1\nkind: FilterDeployment\nmetadata:\n  name: f\n  namespace: ns\n\
         spec:\n  filter:\n    image: {image}\n{pull_options}  deployment:\n    istio:\n      \
         kind: Deployment\n      labels:\n        app: a\n"
    )
}

#[test]
fn a_document_cannot_turn_on_plain_http_for_another_host() {
    let env = TestEnv::new();
    let file = env.dir.path().join("fd.yaml");
    std::fs::write(
        &file,
        filter_deployment(
            "registry.example.invalid/x:1",
            "    imagePullOptions:\n      plainHttp: true\n",
        ),
    )
    .unwrap();
    let out = run_capped(&env, "", &["render", "-f", file.to_str().unwrap()], &[]);
    assert_clean_failure(
        &out,
        &[
            "plain HTTP",
            "registry.example.invalid",
            "--insecure-registry",
        ],
    );
}

#[test]
fn krm_mode_never_uses_the_network_and_says_what_it_needs() {
    let server = Hostile::start(|_, _| None);
    let env = TestEnv::new();
    let image = format!("{}/hostile/x:1", server.addr);
    let fd: serde_json::Value = serde_norway::from_str(&filter_deployment(&image, "")).unwrap();
    let list = serde_json::json!({
        "apiVersion": "config.kubernetes.io/v1",
        "kind": "ResourceList",
        "items": [fd],
    });
    let out = env.run_with_stdin(&["render", "--krm"], &list.to_string());
    let stderr = assert_clean_failure(
        &out,
        &["without the network", "@sha256:", "cargo wasme pull"],
    );
    assert!(server.paths().is_empty(), "{:?}\n{stderr}", server.paths());
}
