//! `cargo wasme cache`, the node cache daemon, against Debian's real `docker-registry`: list
//! changes, a registry that is down, a tampered blob and a pull interrupted half-way. Through
//! all of them, every visible file of the cache directory is a complete module named by its
//! own sha256 — nothing half-written is ever visible under the cache path.

use crate::support::{
    DockerRegistry, Fault, FaultProxy, Rule, TestEnv, filter_module, says_status, wait_until,
};
use sha2::Digest as _;
use std::path::Path;

fn sha256_hex(data: &[u8]) -> String {
    sha2::Sha256::digest(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Packages module `salt` as `tag` and pushes it; returns the module's sha256.
fn pushed(env: &TestEnv, salt: u32, tag: &str) -> String {
    let wasm = filter_module(salt);
    let path = env.write_module(&format!("m{salt}.wasm"), &wasm);
    env.ok(&["package", path.to_str().unwrap(), "--tag", tag]);
    env.ok(&["push", tag]);
    sha256_hex(&wasm)
}

/// The visible (non-hidden) file names of the cache, each checked to be a complete module
/// named by its sha256.
fn visible_modules(dir: &Path) -> Vec<String> {
    let mut names = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        if name.starts_with('.') || !dir.join(&name).is_file() {
            continue;
        }
        let data = std::fs::read(dir.join(&name)).unwrap();
        assert_eq!(sha256_hex(&data), name, "{name} is not a complete module");
        assert!(data.starts_with(b"\0asm"));
        names.push(name);
    }
    names.sort();
    names
}

/// Hidden files other than the daemon's digest index (`.wasme-digests`): temporaries.
fn hidden_files(dir: &Path) -> usize {
    std::fs::read_dir(dir)
        .unwrap()
        .filter(|e| {
            let name = e
                .as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .into_owned();
            name.starts_with('.') && name != ".wasme-digests"
        })
        .count()
}

fn cache_once(env: &TestEnv, list: &Path, dir: &Path) -> std::process::Output {
    env.cmd()
        .args(["cache", "--once", "--refs"])
        .arg(list)
        .arg("--dir")
        .arg(dir)
        .output()
        .unwrap()
}

#[test]
fn the_daemon_follows_its_list() {
    let registry = DockerRegistry::start();
    let env = TestEnv::new();
    let a = format!("{}/filters/a:v1", registry.addr);
    let b = format!("{}/filters/b:v1", registry.addr);
    let sha_a = pushed(&env, 11, &a);
    let sha_b = pushed(&env, 12, &b);
    let work = tempfile::tempdir().unwrap();
    let dir = work.path().join("cache");
    // A ConfigMap mounted as a directory: one file per key, plus kubelet's hidden entries.
    let list = work.path().join("list");
    std::fs::create_dir(&list).unwrap();
    std::fs::write(list.join("bookinfo.a"), format!("# filter a\n{a}\n")).unwrap();
    std::fs::write(list.join("..data"), "not a list").ok();
    let out = cache_once(&env, &list, &dir);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(visible_modules(&dir), std::slice::from_ref(&sha_a));
    assert_eq!(
        std::fs::read(dir.join(&sha_a)).unwrap(),
        filter_module(11),
        "the module itself, byte for byte"
    );

    // As a daemon: the list changes, the cache follows.
    let mut child = env
        .cmd()
        .args(["cache", "--interval", "1", "--refs"])
        .arg(&list)
        .arg("--dir")
        .arg(&dir)
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    std::fs::write(list.join("bookinfo.b"), format!("{b}\n")).unwrap();
    wait_until(30, || dir.join(&sha_b).is_file());
    assert_eq!(visible_modules(&dir), {
        let mut both = vec![sha_a.clone(), sha_b.clone()];
        both.sort();
        both
    });
    std::fs::remove_file(list.join("bookinfo.a")).unwrap();
    wait_until(30, || !dir.join(&sha_a).exists());
    assert_eq!(visible_modules(&dir), std::slice::from_ref(&sha_b));
    let _ = child.kill();
    let _ = child.wait();

    // The registry down: the round fails, and nothing is removed or half-written.
    std::fs::write(list.join("down"), "127.0.0.1:1/filters/gone:v1\n").unwrap();
    let out = cache_once(&env, &list, &dir);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("127.0.0.1:1/filters/gone:v1"), "{err}");
    assert_eq!(visible_modules(&dir), std::slice::from_ref(&sha_b));
    assert_eq!(hidden_files(&dir), 0);
}

#[test]
fn tampered_blobs_and_interrupted_pulls_leave_nothing_visible() {
    let registry = DockerRegistry::start();
    let env = TestEnv::new();
    let work = tempfile::tempdir().unwrap();
    let dir = work.path().join("cache");
    let list = work.path().join("images.txt");

    // An interrupted pull: the proxy drops every blob request after the manifest.
    let c = format!("{}/filters/c:v1", registry.addr);
    let sha_c = pushed(&env, 13, &c);
    let proxy = FaultProxy::start(
        &registry.addr,
        vec![Rule {
            pattern: "/blobs/".into(),
            fault: Fault::Drop,
            times: usize::MAX,
        }],
    );
    std::fs::write(&list, format!("{}/filters/c:v1\n", proxy.addr)).unwrap();
    let out = cache_once(&env, &list, &dir);
    assert!(!out.status.success());
    assert!(visible_modules(&dir).is_empty());
    assert_eq!(hidden_files(&dir), 0, "no temporary survives a failed pull");
    // A run killed while writing leaves its temporary behind; the next run removes it.
    std::fs::write(dir.join(format!(".wasme-tmp-{sha_c}.99999")), b"\0asm half").unwrap();
    std::fs::write(&list, format!("{c}\n")).unwrap();
    let out = cache_once(&env, &list, &dir);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(visible_modules(&dir), std::slice::from_ref(&sha_c));
    assert_eq!(hidden_files(&dir), 0);

    // A tampered blob in the registry's storage: refused, nothing written.
    let t = format!("{}/filters/t:v1", registry.addr);
    let sha_t = pushed(&env, 14, &t);
    let blobs = registry.storage.path().join("docker/registry/v2/blobs");
    let mut tampered = 0;
    for entry in walk(&blobs) {
        let data = std::fs::read(&entry).unwrap();
        // The gzip layers (manifests and configs are JSON): flip a byte, keep the size.
        if data.starts_with(&[0x1f, 0x8b]) && data != gz_of(&env, &c) {
            let mut bad = data.clone();
            let last = bad.len() - 1;
            bad[last] ^= 0xff;
            std::fs::write(&entry, bad).unwrap();
            tampered += 1;
        }
    }
    assert!(tampered >= 1);
    std::fs::write(&list, format!("{c}\n{t}\n")).unwrap();
    let out = cache_once(&env, &list, &dir);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&t) && err.contains("digest"), "{err}");
    assert!(!dir.join(&sha_t).exists());
    assert_eq!(visible_modules(&dir), [sha_c]);
    assert_eq!(hidden_files(&dir), 0);
}

/// The gzip layer blob of image `reference` in `env`'s store (so the test tampers only the
/// other image's layer).
fn gz_of(env: &TestEnv, reference: &str) -> Vec<u8> {
    let store = cargo_wasme::store::Store::open(env.store()).unwrap();
    let image = store.resolve(reference).unwrap();
    let layer = image.manifest.layers.last().unwrap();
    store.read_blob(&layer.digest).unwrap()
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

#[test]
fn private_images_are_pulled_with_the_mounted_pull_secret() {
    use base64::Engine as _;
    let registry = DockerRegistry::start_with_auth("alice", "s3cret");
    let env = TestEnv::new();
    let login = [
        "login",
        registry.addr.as_str(),
        "-u",
        "alice",
        "--password-stdin",
    ];
    assert!(env.run_with_stdin(&login, "s3cret\n").status.success());
    let private = format!("{}/filters/private:v1", registry.addr);
    let sha = pushed(&env, 15, &private);
    // A node with no credentials of its own.
    let node = TestEnv::new();
    let work = tempfile::tempdir().unwrap();
    let dir = work.path().join("cache");
    let list = work.path().join("images.txt");
    std::fs::write(&list, format!("{private}\n")).unwrap();
    let out = cache_once(&node, &list, &dir);
    assert!(!out.status.success());
    assert!(says_status(&String::from_utf8_lossy(&out.stderr), 401));
    // The DaemonSet's Secret, mounted as `$DOCKER_CONFIG/config.json` (the `.dockerconfigjson`
    // of a `kubernetes.io/dockerconfigjson` Secret).
    let auth = work.path().join("auth");
    std::fs::create_dir(&auth).unwrap();
    let token = base64::engine::general_purpose::STANDARD.encode("alice:s3cret");
    std::fs::write(
        auth.join("config.json"),
        format!(
            r#"{{"auths":{{"{}":{{"auth":"{token}"}}}}}}"#,
            registry.addr
        ),
    )
    .unwrap();
    let out = node
        .cmd()
        .env("DOCKER_CONFIG", &auth)
        .args(["cache", "--once", "--refs"])
        .arg(&list)
        .arg("--dir")
        .arg(&dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(visible_modules(&dir), std::slice::from_ref(&sha));
}

/// Blob downloads the proxy saw.
fn blob_gets(proxy: &FaultProxy) -> usize {
    proxy
        .requests
        .lock()
        .unwrap()
        .iter()
        .filter(|r| r.contains("/blobs/"))
        .count()
}

#[test]
fn one_bad_entry_neither_blocks_nor_re_downloads_the_others() {
    let registry = DockerRegistry::start();
    let env = TestEnv::new();
    let a = format!("{}/filters/a:v1", registry.addr);
    let sha_a = pushed(&env, 21, &a);
    // Every request of the healthy image goes through a counting proxy.
    let proxy = FaultProxy::start(&registry.addr, Vec::new());
    let via_proxy = format!("{}/filters/a:v1", proxy.addr);
    // A registry that accepts connections and never answers (a stalled entry).
    let stall = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let stalled = format!("{}/filters/stuck:v1", stall.local_addr().unwrap());
    let held = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let keep = held.clone();
    std::thread::spawn(move || {
        for conn in stall.incoming().flatten() {
            keep.lock().unwrap().push(conn);
        }
    });
    let work = tempfile::tempdir().unwrap();
    let dir = work.path().join("cache");
    let list = work.path().join("images.txt");
    // The stalled entry sorts first: it must not hold up the healthy one.
    std::fs::write(
        &list,
        format!(
            "{}\n{stalled}\n{via_proxy}\n",
            "127.0.0.1:1/filters/down:v1"
        ),
    )
    .unwrap();
    let started = std::time::Instant::now();
    let out = env
        .cmd()
        .args(["cache", "--once", "--entry-timeout", "2", "--refs"])
        .arg(&list)
        .arg("--dir")
        .arg(&dir)
        .output()
        .unwrap();
    let took = started.elapsed();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(2),
        "partial failure has its own status: {err}"
    );
    assert!(err.contains("--entry-timeout"), "{err}");
    assert!(
        took < std::time::Duration::from_secs(30),
        "bounded by the entry time limit: {took:?}"
    );
    assert_eq!(visible_modules(&dir), std::slice::from_ref(&sha_a));
    let first = blob_gets(&proxy);
    assert!(first >= 1);

    // As a daemon with the failing entries: the healthy one is never downloaded again. It
    // runs until the unreachable entry was tried three times (its back-off doubling from
    // the 0.25 s interval: about 1.5 s plus the stalled entry's limits), not for a fixed time.
    let mut child = env
        .cmd()
        .args([
            "cache",
            "--interval",
            "0.25",
            "--entry-timeout",
            "1",
            "--refs",
        ])
        .arg(&list)
        .arg("--dir")
        .arg(&dir)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let down = "cannot cache 127.0.0.1:1/filters/down:v1";
    let seen = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let reader = {
        let seen = seen.clone();
        let mut stderr = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = std::io::Read::read(&mut stderr, &mut buf) {
                if n == 0 {
                    break;
                }
                seen.lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        })
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while seen.lock().unwrap().matches(down).count() < 3 && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
    reader.join().unwrap();
    let err = seen.lock().unwrap().clone();
    assert_eq!(
        blob_gets(&proxy),
        first,
        "an unchanged digest is not downloaded again"
    );
    // Back-off: each retry of the failing entry waits twice as long as the one before (not
    // one try per interval).
    let waits: Vec<&str> = err
        .lines()
        .filter(|l| l.contains(down))
        .filter_map(|l| l.split("(next attempt in ").nth(1))
        .filter_map(|rest| rest.split(" s)").next())
        .collect();
    assert_eq!(waits, ["0.5", "1", "2"], "backed off: {err}");
    assert!(err.contains("next attempt in"), "{err}");
    assert_eq!(visible_modules(&dir), std::slice::from_ref(&sha_a));
}

#[test]
fn a_directory_named_like_a_module_cannot_stop_stale_cleanup() {
    let registry = DockerRegistry::start();
    let env = TestEnv::new();
    let a = format!("{}/filters/a:v1", registry.addr);
    let sha_a = pushed(&env, 31, &a);
    let work = tempfile::tempdir().unwrap();
    let dir = work.path().join("cache");
    std::fs::create_dir_all(&dir).unwrap();
    // A stale module, and a directory with a module's name sorting before it.
    let stale = sha256_hex(b"old module");
    std::fs::write(dir.join(&stale), b"old module").unwrap();
    let blocker = "0".repeat(64);
    std::fs::create_dir(dir.join(&blocker)).unwrap();
    std::fs::write(dir.join(&blocker).join("keep"), b"x").unwrap();
    let list = work.path().join("images.txt");
    std::fs::write(&list, format!("{a}\n")).unwrap();
    let out = cache_once(&env, &list, &dir);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(2),
        "the cleanup did not finish: {err}"
    );
    assert!(
        err.contains(&blocker) && err.contains("not a regular file"),
        "{err}"
    );
    assert!(!dir.join(&stale).exists(), "the stale module went anyway");
    assert!(
        dir.join(&blocker).join("keep").is_file(),
        "the directory was left alone"
    );
    assert_eq!(visible_modules(&dir), std::slice::from_ref(&sha_a));
    // The same list again: nothing to download (the digest index), still reporting the blocker.
    let out = cache_once(&env, &list, &dir);
    assert_eq!(out.status.code(), Some(2));
}
