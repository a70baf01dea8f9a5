//! push, pull, login and logout against Debian's real `docker-registry` on loopback (started
//! per test, killed on drop), with a fault-injecting proxy for 403/500/dropped connections.

use crate::support;

use std::ffi::OsStr;
use support::{
    DockerRegistry, Fault, FaultProxy, Rule, TOKEN_SERVICE, TestEnv, TokenServer, digest_in,
    filter_module, package, percent_decode, says_status,
};

#[test]
fn push_pull_round_trip_in_every_format() {
    let registry = DockerRegistry::start();
    let producer = TestEnv::new();
    let consumer = TestEnv::new();
    for (i, format) in ["compat", "docker", "solo", "cncf"].into_iter().enumerate() {
        let reference = format!("{}/filters/f-{format}:v1", registry.addr);
        let digest = package(&producer, 10 + i as u32, &reference, format);
        let pushed = producer.ok(&["push", &reference]);
        assert_eq!(
            digest_in(&pushed),
            digest,
            "push prints the manifest digest"
        );
        let pulled = consumer.ok(&["pull", &reference]);
        assert_eq!(
            digest_in(&pulled),
            digest,
            "{format}: same manifest after the round trip"
        );
        let inspect: serde_json::Value =
            serde_json::from_str(&consumer.ok(&["inspect", &reference, "--json"])).unwrap();
        assert_eq!(inspect["format"], format);
        assert_eq!(inspect["root_ids"][0], "rid");
        let out = consumer.dir.path().join("x.wasm");
        consumer.ok(&["export", &reference, "-o", out.to_str().unwrap()]);
        assert_eq!(std::fs::read(&out).unwrap(), filter_module(10 + i as u32));
    }
}

#[test]
fn legacy_wasm_to_oci_images_are_pulled() {
    use cargo_wasme::image::{self, Format, ImageSpec};
    let registry = DockerRegistry::start();
    let producer = TestEnv::new();
    let reference = format!("{}/legacy/f:1", registry.addr);
    let built = image::build(
        &filter_module(80),
        &ImageSpec::new(Format::Legacy, vec![], vec![]),
    )
    .unwrap();
    cargo_wasme::store::Store::open(producer.store())
        .unwrap()
        .add(&reference, &built)
        .unwrap();
    assert_eq!(digest_in(&producer.ok(&["push", &reference])), built.digest);
    let consumer = TestEnv::new();
    assert_eq!(digest_in(&consumer.ok(&["pull", &reference])), built.digest);
    let inspect: serde_json::Value =
        serde_json::from_str(&consumer.ok(&["inspect", &reference, "--json"])).unwrap();
    assert_eq!(inspect["format"], "wasm-to-oci");
    let out = consumer.dir.path().join("x.wasm");
    consumer.ok(&["export", &reference, "-o", out.to_str().unwrap()]);
    assert_eq!(std::fs::read(&out).unwrap(), filter_module(80));
}

#[test]
fn resolve_digest_asks_the_registry() {
    use cargo_wasme::registry::credentials::Credential;
    use cargo_wasme::registry::{RegistryOptions, resolve_digest_blocking};
    let registry = DockerRegistry::start();
    let env = TestEnv::new();
    let tagged = format!("{}/f:1", registry.addr);
    let digest = package(&env, 90, &tagged, "compat");
    env.ok(&["push", &tagged]);
    let options = RegistryOptions {
        credential: Some(Credential::Anonymous),
        ..Default::default()
    };
    assert_eq!(resolve_digest_blocking(&tagged, &options).unwrap(), digest);
    let by_digest = format!("{}/f@{digest}", registry.addr);
    assert_eq!(
        resolve_digest_blocking(&by_digest, &options).unwrap(),
        digest
    );
    let err =
        resolve_digest_blocking(&format!("{}/f:missing", registry.addr), &options).unwrap_err();
    assert!(
        matches!(err, cargo_wasme::registry::RegistryError::NotFound { .. }),
        "{err}"
    );
}

#[test]
fn digest_references_stay_digests() {
    let registry = DockerRegistry::start();
    let env = TestEnv::new();
    let tagged = format!("{}/f:1", registry.addr);
    let digest = package(&env, 20, &tagged, "compat");
    env.ok(&["push", &tagged]);
    let by_digest = format!("{}/f@{digest}", registry.addr);
    let other = TestEnv::new();
    let out = other.ok(&["pull", &by_digest]);
    assert_eq!(digest_in(&out), digest);
    let images: serde_json::Value = serde_json::from_str(&other.ok(&["images", "--json"])).unwrap();
    assert_eq!(
        images[0]["reference"],
        format!("{}/f@{digest}", registry.addr).as_str(),
        "stored under the digest, not :latest"
    );
    // Push by digest to another repository (no tag created).
    let by_digest2 = format!("{}/g@{digest}", registry.addr);
    other.ok(&["push", &by_digest, &by_digest2]);
    TestEnv::new().ok(&["pull", &by_digest2]);
    // A digest that is not the image's is refused before anything is sent.
    let wrong = format!("{}/g@sha256:{}", registry.addr, "1".repeat(64));
    let err = other.fails(&["push", &by_digest, &wrong]);
    assert!(err.contains("manifest digest is"), "{err}");
    // A digest the registry does not have.
    let err = TestEnv::new().fails(&["pull", &wrong]);
    assert!(err.contains("not found"), "{err}");
}

#[test]
fn existing_blobs_are_not_uploaded_again() {
    let registry = DockerRegistry::start();
    let env = TestEnv::new();
    let a = format!("{}/f:1", registry.addr);
    package(&env, 30, &a, "compat");
    let out = env.cmd().args(["push", &a]).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("2 blobs uploaded, 0 already there"), "{err}");
    let b = format!("{}/f:2", registry.addr);
    env.ok(&["tag", &a, &b]);
    let out = env.cmd().args(["push", &b]).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("0 blobs uploaded, 2 already there"), "{err}");
}

#[test]
fn basic_auth_login_push_pull_logout() {
    let registry = DockerRegistry::start_with_auth("alice", "s3cret");
    let env = TestEnv::new();
    let reference = format!("{}/private/f:1", registry.addr);
    let digest = package(&env, 40, &reference, "compat");
    // Anonymous: 401 with a hint to log in; the store is unchanged.
    let before = env.store_snapshot();
    let err = env.fails(&["push", &reference]);
    assert!(
        says_status(&err, 401) && err.contains("cargo wasme login"),
        "{err}"
    );
    let err = TestEnv::new().fails(&["pull", &reference]);
    assert!(says_status(&err, 401), "{err}");
    assert_eq!(env.store_snapshot(), before);

    // Existing docker config entries must survive login and logout.
    let config_path = env.docker_config().join("config.json");
    std::fs::write(
        &config_path,
        r#"{"auths":{"other.example:5000":{"auth":"eDp5"}},"psFormat":"table"}"#,
    )
    .unwrap();
    // Wrong password: refused, nothing stored.
    let login = [
        "login",
        registry.addr.as_str(),
        "-u",
        "alice",
        "--password-stdin",
    ];
    let out = env.run_with_stdin(&login, "wrong\n");
    assert!(!out.status.success());
    assert!(
        says_status(&String::from_utf8_lossy(&out.stderr), 401),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        std::fs::read_to_string(&config_path).unwrap(),
        r#"{"auths":{"other.example:5000":{"auth":"eDp5"}},"psFormat":"table"}"#
    );
    // Right password: verified, stored with mode 0600, other entries kept, secret not printed.
    let out = env.run_with_stdin(&login, "s3cret\n");
    assert!(
        out.status.success(),
        "{}\nregistry log:\n{}",
        String::from_utf8_lossy(&out.stderr),
        registry.log.lock().unwrap()
    );
    assert!(!String::from_utf8_lossy(&out.stdout).contains("s3cret"));
    let config: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&config_path).unwrap()).unwrap();
    assert_eq!(config["auths"]["other.example:5000"]["auth"], "eDp5");
    assert_eq!(config["psFormat"], "table");
    assert!(config["auths"][&registry.addr]["auth"].is_string());
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&config_path)
            .unwrap()
            .permissions()
            .mode()
            & 0o777,
        0o600
    );

    assert_eq!(digest_in(&env.ok(&["push", &reference])), digest);
    let consumer = TestEnv::new();
    std::fs::copy(&config_path, consumer.docker_config().join("config.json")).unwrap();
    assert_eq!(digest_in(&consumer.ok(&["pull", &reference])), digest);

    // Podman's auth.json is read too.
    let podman = TestEnv::new();
    let auth_file = podman.dir.path().join("auth.json");
    std::fs::copy(&config_path, &auth_file).unwrap();
    podman.ok_with(
        &["pull", &reference],
        &[("REGISTRY_AUTH_FILE", auth_file.as_os_str())],
    );

    assert!(env.ok(&["logout", &registry.addr]).contains("Removed"));
    let config: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&config_path).unwrap()).unwrap();
    assert!(config["auths"].get(&registry.addr).is_none());
    assert_eq!(config["auths"]["other.example:5000"]["auth"], "eDp5");
    assert!(says_status(&env.fails(&["push", &reference]), 401));
    assert!(
        env.ok(&["logout", &registry.addr])
            .contains("No credentials")
    );
}

#[test]
fn bearer_token_auth_login_push_pull() {
    // The registry delegates auth to a token server (docker's distribution token protocol):
    // the client must follow the Bearer challenge, get a token with its Basic credentials, and
    // present it. Both servers are real; the token is an ES256 JWT the registry verifies.
    let tokens = TokenServer::start("carol", "t0ken-pw");
    let registry = DockerRegistry::start_with_tokens(&tokens);
    let env = TestEnv::new();
    let reference = format!("{}/team/f:1", registry.addr);
    let digest = package(&env, 70, &reference, "compat");
    let before = env.store_snapshot();

    // Anonymous: the token grants nothing, so the registry refuses; the store is unchanged.
    let err = env.fails(&["push", &reference]);
    assert!(
        says_status(&err, 401) && err.contains("cargo wasme login"),
        "{err}"
    );
    assert_eq!(env.store_snapshot(), before);

    // A wrong password: the token server refuses it; nothing is stored.
    let login = [
        "login",
        registry.addr.as_str(),
        "-u",
        "carol",
        "--password-stdin",
    ];
    let out = env.run_with_stdin(&login, "wrong\n");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(stderr.contains("nothing was stored"), "{stderr}");
    assert!(!env.docker_config().join("config.json").exists());

    // The right password: login is verified by obtaining a token, then push and pull work.
    let out = env.run_with_stdin(&login, "t0ken-pw\n");
    assert!(
        out.status.success(),
        "{}\nregistry log:\n{}",
        String::from_utf8_lossy(&out.stderr),
        registry.log.lock().unwrap()
    );
    assert_eq!(digest_in(&env.ok(&["push", &reference])), digest);
    let asked: Vec<(String, String)> = tokens
        .requests
        .lock()
        .unwrap()
        .iter()
        .map(|(q, who)| (percent_decode(q), who.clone()))
        .collect();
    assert!(
        asked.iter().any(|(q, who)| who == "carol"
            && q.contains(&format!("service={TOKEN_SERVICE}"))
            && q.contains("scope=repository:team/f:pull,push")),
        "token requests: {asked:?}"
    );
    let consumer = TestEnv::new();
    std::fs::copy(
        env.docker_config().join("config.json"),
        consumer.docker_config().join("config.json"),
    )
    .unwrap();
    assert_eq!(digest_in(&consumer.ok(&["pull", &reference])), digest);
    let by_digest = format!("{}/team/f@{digest}", registry.addr);
    assert_eq!(digest_in(&consumer.ok(&["pull", &by_digest])), digest);
}

#[test]
fn login_stores_through_a_credential_helper() {
    let registry = DockerRegistry::start_with_auth("bob", "pw");
    let env = TestEnv::new();
    // A real helper program speaking docker's protocol, keeping secrets in a file.
    let bin = env.dir.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let vault = env.dir.path().join("vault");
    let helper = bin.join("docker-credential-testvault");
    std::fs::write(
        &helper,
        format!(
            "#!/bin/sh\nset -e\ncase \"$1\" in\n store) cat > '{v}' ;;\n get) read s || true; if [ -f '{v}' ]; then u=$(sed 's/.*\"Username\":\"\\([^\"]*\\)\".*/\\1/' '{v}'); p=$(sed 's/.*\"Secret\":\"\\([^\"]*\\)\".*/\\1/' '{v}'); printf '{{\"ServerURL\":\"%s\",\"Username\":\"%s\",\"Secret\":\"%s\"}}' \"$s\" \"$u\" \"$p\"; else echo 'credentials not found in native keychain'; exit 1; fi ;;\n erase) rm -f '{v}' ;;\nesac\n",
            v = vault.display()
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&helper, std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap());
    let config_path = env.docker_config().join("config.json");
    std::fs::write(&config_path, r#"{"credsStore":"testvault"}"#).unwrap();
    let reference = format!("{}/f:1", registry.addr);
    package(&env, 50, &reference, "compat");
    // No credentials in the helper yet: anonymous, refused.
    let path = [("PATH", OsStr::new(&path))];
    let err = env.fails_with(&["push", &reference], &path);
    assert!(says_status(&err, 401), "{err}");
    let out = env.run_with(
        &["login", &registry.addr, "-u", "bob", "--password", "pw"],
        &path,
    );
    assert!(out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("docker-credential-testvault"), "{err}");
    assert!(
        std::fs::read_to_string(&vault)
            .unwrap()
            .contains("\"Secret\":\"pw\"")
    );
    assert_eq!(
        std::fs::read_to_string(&config_path).unwrap(),
        r#"{"credsStore":"testvault"}"#,
        "config.json untouched"
    );
    env.ok_with(&["push", &reference], &path);
    env.ok_with(&["logout", &registry.addr], &path);
    assert!(!vault.exists());
}

#[test]
fn registry_errors_name_the_cause_and_change_nothing() {
    let registry = DockerRegistry::start();
    let env = TestEnv::new();
    let reference = format!("{}/f:1", registry.addr);
    let digest = package(&env, 60, &reference, "compat");
    env.ok(&["push", &reference]);
    let before = env.store_snapshot();

    // 404: unknown tag and repository.
    let err = env.fails(&["pull", &format!("{}/f:nope", registry.addr)]);
    assert!(err.contains("not found") && says_status(&err, 404), "{err}");
    let err = env.fails(&["pull", &format!("{}/nothing/here:1", registry.addr)]);
    assert!(err.contains("not found"), "{err}");
    // Invalid reference.
    let err = env.fails(&["pull", "UPPER/Case:1"]);
    assert!(err.contains("invalid image reference"), "{err}");
    // Unknown local image on push.
    let err = env.fails(&["push", &format!("{}/unknown:1", registry.addr)]);
    assert!(err.contains("no image"), "{err}");
    // Nothing listening: a network error at once (a refused connection is not retried).
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().to_string()
    };
    let err = env.fails(&["pull", &format!("{dead}/f:1")]);
    assert!(
        err.contains("cannot reach") && !err.contains("retrying"),
        "{err}"
    );

    // 403 and persistent 500 through the fault proxy.
    let forbidden = FaultProxy::start(
        &registry.addr,
        vec![Rule {
            pattern: "/manifests/".into(),
            fault: Fault::Status(403),
            times: usize::MAX,
        }],
    );
    let err = env.fails(&["pull", &format!("{}/f:1", forbidden.addr)]);
    assert!(says_status(&err, 403), "{err}");
    let broken = FaultProxy::start(
        &registry.addr,
        vec![Rule {
            pattern: "/manifests/".into(),
            fault: Fault::Status(500),
            times: usize::MAX,
        }],
    );
    let err = env.fails(&["pull", &format!("{}/f:1", broken.addr)]);
    assert!(
        says_status(&err, 500) && err.contains("after 4 attempts"),
        "{err}"
    );
    assert_eq!(
        broken.hits.load(std::sync::atomic::Ordering::SeqCst),
        4,
        "retried with backoff, then gave up"
    );
    assert_eq!(
        env.store_snapshot(),
        before,
        "failed pulls changed the store"
    );

    // A tampered blob in the registry's storage: the pull fails, nothing is stored.
    let manifest: serde_json::Value =
        serde_json::from_str(&env.ok(&["inspect", &reference, "--json"])).unwrap();
    let layer = manifest["manifest"]["layers"][0]["digest"]
        .as_str()
        .unwrap()
        .to_string();
    let file = registry.blob_file(&layer);
    let mut bytes = std::fs::read(&file).unwrap();
    let n = bytes.len();
    bytes[n / 2] ^= 0xff;
    std::fs::write(&file, bytes).unwrap();
    let fresh = TestEnv::new();
    let err = fresh.fails(&["pull", &reference]);
    assert!(err.contains("does not match its digest"), "{err}");
    assert!(fresh.fails(&["inspect", &reference]).contains("no image"));
    let _ = digest;
}

#[test]
fn transient_failures_are_retried() {
    let registry = DockerRegistry::start();
    let env = TestEnv::new();
    let direct = format!("{}/f:1", registry.addr);
    let digest = package(&env, 70, &direct, "compat");
    let proxy = FaultProxy::start(
        &registry.addr,
        vec![
            Rule {
                pattern: "PUT /v2/f/manifests/".into(),
                fault: Fault::Status(503),
                times: 2,
            },
            Rule {
                pattern: "PATCH".into(),
                fault: Fault::Drop,
                times: 1,
            },
            Rule {
                pattern: "POST /v2/f/blobs/uploads".into(),
                fault: Fault::Status(502),
                times: 1,
            },
        ],
    );
    let via_proxy = format!("{}/f:1", proxy.addr);
    env.ok(&["tag", &direct, &via_proxy]);
    assert_eq!(digest_in(&env.ok(&["push", &via_proxy])), digest);
    assert!(
        proxy.hits.load(std::sync::atomic::Ordering::SeqCst) >= 3,
        "{:?}",
        proxy.requests.lock().unwrap()
    );
    let proxy2 = FaultProxy::start(
        &registry.addr,
        vec![
            Rule {
                pattern: "GET /v2/f/blobs/".into(),
                fault: Fault::Drop,
                times: 1,
            },
            Rule {
                pattern: "GET /v2/f/manifests".into(),
                fault: Fault::Status(500),
                times: 1,
            },
        ],
    );
    let consumer = TestEnv::new();
    assert_eq!(
        digest_in(&consumer.ok(&["pull", &format!("{}/f:1", proxy2.addr)])),
        digest
    );
    assert_eq!(proxy2.hits.load(std::sync::atomic::Ordering::SeqCst), 2);
}
