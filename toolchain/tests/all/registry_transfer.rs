//! Transfers and failures through the real binary against Debian's `docker-registry`: chunked
//! uploads, resumption after a connection reset mid-`PATCH` (a proxy cuts it), the retry
//! policy (no retry of what cannot succeed, `Retry-After` honoured), `login`'s wording, and
//! output fit for pipes and logs.

use crate::support::{
    DockerRegistry, Fault, FaultProxy, Rule, TestEnv, big_module, digest_in, package, says_status,
};
use std::sync::atomic::Ordering;

/// The default chunk: a 9 MiB layer goes up in three `PATCH`es.
const CHUNK: usize = 4 * 1024 * 1024;

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn stdout(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// No escape sequences and no tracing timestamps (`2026-12-01T09:…`).
fn assert_plain(text: &str) {
    assert!(!text.contains('\x1b'), "ANSI codes in {text:?}");
    let bytes = text.as_bytes();
    let stamped = bytes.windows(11).any(|w| {
        w[..4].iter().all(u8::is_ascii_digit)
            && w[4] == b'-'
            && w[5..7].iter().all(u8::is_ascii_digit)
            && w[7] == b'-'
            && w[8..10].iter().all(u8::is_ascii_digit)
            && w[10] == b'T'
    });
    assert!(!stamped, "a timestamp in {text:?}");
}

#[test]
fn big_layers_go_up_in_chunks_and_resume_after_a_reset() {
    let registry = DockerRegistry::start();
    let env = TestEnv::new();
    let wasm = env.write_module("big.wasm", &big_module(9 * 1024 * 1024));
    let direct = format!("{}/big:1", registry.addr);
    let digest = digest_in(&env.ok(&[
        "package",
        wasm.to_str().unwrap(),
        "--tag",
        &direct,
        "--format",
        "cncf",
    ]));
    // The config's PATCH and the layer's first pass; the layer's second is cut halfway
    // through its body.
    let proxy = FaultProxy::start(
        &registry.addr,
        vec![
            Rule {
                pattern: "PATCH /v2/big/blobs/uploads/".into(),
                fault: Fault::Pass,
                times: 2,
            },
            Rule {
                pattern: "PATCH /v2/big/blobs/uploads/".into(),
                fault: Fault::Cut,
                times: 1,
            },
        ],
    );
    let via_proxy = format!("{}/big:1", proxy.addr);
    env.ok(&["tag", &direct, &via_proxy]);
    let out = env.cmd().args(["push", &via_proxy]).output().unwrap();
    let err = stderr(&out);
    assert!(out.status.success(), "{err}");
    assert_eq!(digest_in(&stdout(&out)), digest);
    assert_eq!(proxy.hits.load(Ordering::SeqCst), 1, "the cut happened");
    assert!(
        err.contains(&format!("resuming at byte {CHUNK} of ")),
        "resumed where the registry stood: {err}"
    );
    let requests = proxy.requests.lock().unwrap().clone();
    let count = |prefix: &str| requests.iter().filter(|r| r.starts_with(prefix)).count();
    // Two blobs (module layer and config), one session each: no restart from byte 0.
    assert_eq!(count("POST /v2/big/blobs/uploads/"), 2, "{requests:#?}");
    // The layer: three chunks plus the one cut; the config: one chunk.
    assert_eq!(count("PATCH /v2/big/blobs/uploads/"), 5, "{requests:#?}");
    assert_eq!(
        count("GET /v2/big/blobs/uploads/"),
        1,
        "asked where the upload stood: {requests:#?}"
    );
    // What the registry assembled is the image: a fresh pull verifies every digest.
    let consumer = TestEnv::new();
    assert_eq!(digest_in(&consumer.ok(&["pull", &direct])), digest);
}

#[test]
fn unreachable_registries_and_client_errors_are_not_retried() {
    let env = TestEnv::new();
    // Nothing listens: refused at once, no retry, and the help says what to check.
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().to_string()
    };
    package(&env, 90, &format!("{dead}/f:1"), "compat");
    for args in [
        vec!["push".to_string(), format!("{dead}/f:1")],
        vec!["pull".to_string(), format!("{dead}/f:1")],
    ] {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let err = env.fails(&args);
        assert!(
            err.contains(&format!("error: cannot reach {dead}")),
            "{args:?}: {err}"
        );
        assert!(err.contains("refused"), "{err}");
        assert!(
            !err.contains("retrying"),
            "retried a refused connection: {err}"
        );
        assert!(!err.contains("attempts"), "{err}");
        assert!(
            err.contains("help: check the address and that the registry is running"),
            "{err}"
        );
    }
    // An unknown host: DNS fails, no retry.
    let err = env.fails(&["pull", "no-such-registry.invalid/f:1"]);
    assert!(
        err.contains("cannot reach no-such-registry.invalid"),
        "{err}"
    );
    assert!(!err.contains("retrying"), "retried a DNS failure: {err}");

    // 4xx other than 429: one request, no retry.
    let registry = DockerRegistry::start();
    let proxy = FaultProxy::start(
        &registry.addr,
        vec![Rule {
            pattern: "PUT /v2/f/manifests/".into(),
            fault: Fault::Status(400),
            times: usize::MAX,
        }],
    );
    let via_proxy = format!("{}/f:1", proxy.addr);
    env.ok(&["tag", &format!("{dead}/f:1"), &via_proxy]);
    let err = env.fails(&["push", &via_proxy]);
    assert!(says_status(&err, 400), "{err}");
    assert!(!err.contains("retrying"), "{err}");
    assert_eq!(proxy.hits.load(Ordering::SeqCst), 1, "sent once");
}

#[test]
fn rate_limits_and_outages_are_retried_after_the_registrys_delay() {
    let registry = DockerRegistry::start();
    let env = TestEnv::new();
    let direct = format!("{}/f:1", registry.addr);
    let digest = package(&env, 91, &direct, "compat");
    let proxy = FaultProxy::start(
        &registry.addr,
        vec![
            Rule {
                pattern: "POST /v2/f/blobs/uploads/".into(),
                fault: Fault::RetryAfter(429, 1),
                times: 1,
            },
            Rule {
                pattern: "PUT /v2/f/manifests/".into(),
                fault: Fault::RetryAfter(503, 0),
                times: 1,
            },
        ],
    );
    let via_proxy = format!("{}/f:1", proxy.addr);
    env.ok(&["tag", &direct, &via_proxy]);
    let out = env.cmd().args(["push", &via_proxy]).output().unwrap();
    let err = stderr(&out);
    assert!(out.status.success(), "{err}");
    assert_eq!(digest_in(&stdout(&out)), digest);
    assert_eq!(proxy.hits.load(Ordering::SeqCst), 2);
    // The waits are the registry's (the backoff here starts at 10ms): 1 s, and none at all.
    assert!(
        err.contains("HTTP 429 Too Many Requests while uploading blob")
            && err.contains("retrying in 1s (attempt 2 of 4)"),
        "{err}"
    );
    assert!(
        err.contains("HTTP 503 Service Unavailable while uploading the manifest")
            && err.contains("retrying in 0ms (attempt 2 of 4)"),
        "{err}"
    );
    // A registry that keeps answering 429 is given up on, with the reason and advice.
    let limited = FaultProxy::start(
        &registry.addr,
        vec![Rule {
            pattern: "HEAD /v2/g/blobs/".into(),
            fault: Fault::RetryAfter(429, 0),
            times: usize::MAX,
        }],
    );
    let limited_ref = format!("{}/g:1", limited.addr);
    env.ok(&["tag", &direct, &limited_ref]);
    let err = env.fails(&["push", &limited_ref]);
    assert!(
        err.contains("HTTP 429") && err.contains("after 4 attempts"),
        "{err}"
    );
    assert!(err.contains("help: the registry is rate-limiting"), "{err}");
    assert_eq!(limited.hits.load(Ordering::SeqCst), 4);
}

#[test]
fn login_reads_stdin_checks_first_and_says_what_happened() {
    let registry = DockerRegistry::start_with_auth("alice", "s3cret");
    let env = TestEnv::new();
    let reference = format!("{}/private/f:1", registry.addr);
    package(&env, 92, &reference, "compat");
    // Anonymous push: the help names a login command that works as written.
    let err = env.fails(&["push", &reference]);
    assert!(
        err.contains("401 Unauthorized) without credentials (none are stored for it)"),
        "{err}"
    );
    let help = format!("`cargo wasme login {} -u <user>`", registry.addr);
    assert!(err.contains(&help), "{err}");
    assert!(!err.contains("stored credentials"), "{err}");

    // No user name without a terminal: docker's rule, with the command to use.
    let out = env.run_with_stdin(&["login", &registry.addr, "--password-stdin"], "s3cret\n");
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("no user name given"),
        "{}",
        stderr(&out)
    );
    assert!(
        stderr(&out).contains("-u <user> --password-stdin"),
        "{}",
        stderr(&out)
    );
    // No password and no terminal to ask on.
    let out = env.run_with_stdin(&["login", &registry.addr, "-u", "alice"], "");
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains(&format!(
            "cargo wasme login {} -u alice --password-stdin",
            registry.addr
        )),
        "{}",
        stderr(&out)
    );

    // A wrong password: refused, said so without blaming stored credentials; nothing stored.
    let login = [
        "login",
        registry.addr.as_str(),
        "-u",
        "alice",
        "--password-stdin",
    ];
    let out = env.run_with_stdin(&login, "wrong\n");
    let err = stderr(&out);
    assert!(!out.status.success());
    assert!(
        err.contains("cannot log in") && err.contains("nothing was stored"),
        "{err}"
    );
    assert!(
        err.contains("with the user name and password given"),
        "{err}"
    );
    assert!(!err.contains("stored credentials"), "{err}");
    assert!(!env.docker_config().join("config.json").exists());

    // The right one: verified, stored, and the result on stdout as docker prints it.
    let out = env.run_with_stdin(&login, "s3cret\n");
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), "Login Succeeded\n");
    assert!(
        stderr(&out).contains(&format!("Stored credentials for alice@{}", registry.addr)),
        "{}",
        stderr(&out)
    );
    assert_plain(&stderr(&out));
    env.ok(&["push", &reference]);

    // JSON mode: one object for the login.
    let out = env
        .cmd()
        .args(["--message-format", "json"])
        .args(login)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            child.stdin.take().unwrap().write_all(b"s3cret\n")?;
            child.wait_with_output()
        })
        .unwrap();
    let line: serde_json::Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    assert_eq!(line["reason"], "login");
    assert_eq!(line["username"], "alice");

    assert_eq!(
        env.ok(&["logout", &registry.addr]),
        format!("Removed login credentials for {}\n", registry.addr)
    );
    assert_eq!(
        env.ok(&["logout", &registry.addr]),
        format!("No credentials were stored for {}\n", registry.addr)
    );
}

#[test]
fn push_output_is_fit_for_pipes_and_logs() {
    let registry = DockerRegistry::start();
    let env = TestEnv::new();
    let reference = format!("{}/f:1", registry.addr);
    let digest = package(&env, 93, &reference, "compat");
    // stdout and stderr are pipes here (`push … | cat`, `2>log`).
    let out = env.cmd().args(["push", &reference]).output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        format!("{digest}\n"),
        "stdout carries only the digest"
    );
    let err = stderr(&out);
    assert_plain(&err);
    // One status line per blob (no bars without a terminal), then the summary.
    let blobs: Vec<&str> = err
        .lines()
        .filter(|l| l.contains("Uploaded blob "))
        .collect();
    assert_eq!(blobs.len(), 2, "{err}");
    assert!(
        err.lines()
            .last()
            .unwrap_or("")
            .trim_start()
            .starts_with("Pushed "),
        "{err}"
    );
    // Again: every blob is there already.
    let err = stderr(&env.cmd().args(["push", &reference]).output().unwrap());
    assert_eq!(err.matches("Exists blob ").count(), 2, "{err}");
    // -q: nothing on stderr, the digest still on stdout.
    let out = env.cmd().args(["-q", "push", &reference]).output().unwrap();
    assert!(out.status.success());
    assert_eq!(stderr(&out), "");
    assert_eq!(stdout(&out), format!("{digest}\n"));
    // JSON: one object per line on stdout.
    let out = env
        .cmd()
        .args(["--message-format", "json", "pull", &reference])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let line: serde_json::Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    assert_eq!(line["reason"], "image-pulled");
    assert_eq!(line["digest"], digest.as_str());
    assert_plain(&stderr(&out));
}

#[test]
fn login_asks_on_a_terminal() {
    use std::io::{Read, Write};
    use std::sync::{Arc, Mutex};
    // `script` (util-linux, essential on Debian) gives the command a pseudo-terminal.
    let script = ["/usr/bin/script", "/bin/script"]
        .into_iter()
        .find(|p| std::path::Path::new(p).is_file())
        .expect("`script` (util-linux) is needed to give login a terminal");
    let registry = DockerRegistry::start_with_auth("carol", "tty-pw");
    let env = TestEnv::new();
    let command = format!(
        "{} login {}",
        env!("CARGO_BIN_EXE_cargo-wasme"),
        registry.addr
    );
    let mut child = std::process::Command::new(script)
        .args(["-qec", &command, "/dev/null"])
        .env("WASME_HOME", env.home())
        .env("DOCKER_CONFIG", env.docker_config())
        .env_remove("REGISTRY_AUTH_FILE")
        .env_remove("XDG_RUNTIME_DIR")
        .env_remove("RUST_LOG")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let screen = Arc::new(Mutex::new(String::new()));
    let reader = {
        let screen = screen.clone();
        let mut out = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            let mut buf = [0u8; 512];
            while let Ok(n) = out.read(&mut buf) {
                if n == 0 {
                    break;
                }
                screen
                    .lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        })
    };
    let mut stdin = child.stdin.take().unwrap();
    // The user answers each prompt once it is shown.
    let shown = |text: String| {
        let screen = screen.clone();
        crate::support::wait_until(120, move || screen.lock().unwrap().contains(&text));
    };
    shown(format!("Username for {}", registry.addr));
    stdin.write_all(b"carol\r").unwrap();
    shown(format!("Password for carol@{}", registry.addr));
    stdin.write_all(b"tty-pw\r").unwrap();
    let status = child.wait().unwrap();
    reader.join().unwrap();
    drop(stdin);
    let screen = screen.lock().unwrap().clone();
    assert!(status.success(), "{screen}");
    assert!(screen.contains("Login Succeeded"), "{screen}");
    let config = std::fs::read_to_string(env.docker_config().join("config.json")).unwrap();
    assert!(config.contains(&registry.addr), "{config}");
    // The stored credentials work.
    let reference = format!("{}/f:1", registry.addr);
    package(&env, 94, &reference, "compat");
    env.ok(&["push", &reference]);
}
