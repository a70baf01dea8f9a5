//! Credentials go only to the origin they were stored for, over TLS or loopback, on every
//! request (issue 20 item 1), and a stalled upload fails within the read timeout (item 7):
//! the real binary against hostile registries ([`OriginServer`]) on loopback.
//!
//! `127.0.0.2` stands for a registry on another machine: `cargo-wasme` treats only
//! `localhost`, `127.0.0.1` and `[::1]` as loopback. Its TLS certificate is issued by the
//! server's own CA, which the binary trusts through `SSL_CERT_FILE` (so a registry on
//! "verified HTTPS" is a real verified TLS connection); `127.0.0.1` on another port, or the
//! same host and port over `http://`, is "another origin".

use crate::support::hostile::small_image;
use crate::support::servers::{Answer, OriginServer, Seen};
use crate::support::{TestEnv, big_module};
use std::process::Output;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// `alice:s3cret`, as docker stores it.
const BASIC: &str = "YWxpY2U6czNjcmV0";

/// Stores `alice:s3cret` for `host` in `env`'s docker config.
fn store_credentials(env: &TestEnv, host: &str) {
    std::fs::write(
        env.docker_config().join("config.json"),
        serde_json::json!({"auths": {host: {"auth": BASIC}}}).to_string(),
    )
    .unwrap();
}

/// Runs the binary trusting `ca` (a PEM file), with a 2-second read timeout.
fn run(env: &TestEnv, ca: Option<&std::path::Path>, args: &[&str]) -> Output {
    run_timeout(env, ca, args, "2")
}

/// As [`run`], with the read timeout `seconds`.
fn run_timeout(
    env: &TestEnv,
    ca: Option<&std::path::Path>,
    args: &[&str],
    seconds: &str,
) -> Output {
    let mut cmd = env.cmd();
    cmd.args(args).env("WASME_READ_TIMEOUT", seconds);
    if let Some(ca) = ca {
        cmd.env("SSL_CERT_FILE", ca);
    }
    cmd.output().unwrap()
}

/// Asserts a clean failure mentioning every needle; returns stderr.
fn fails(out: &Output, needles: &[&str]) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!out.status.success(), "should have failed:\n{stderr}");
    assert_ne!(out.status.code(), Some(101), "panicked:\n{stderr}");
    for n in needles {
        assert!(stderr.contains(n), "expected {n:?} in:\n{stderr}");
    }
    stderr
}

/// Asserts no request to `server` carried an `Authorization` header.
fn no_credentials_reached(server: &OriginServer) {
    let authorized = server.authorized();
    assert!(
        authorized.is_empty(),
        "credentials reached {}: {authorized:?}",
        server.addr
    );
}

/// A one-layer image in `env`'s store under `local/x:1`.
fn packaged(env: &TestEnv, module: &[u8]) {
    let wasm = env.write_module("m.wasm", module);
    env.ok(&["package", wasm.to_str().unwrap(), "--tag", "local/x:1"]);
}

/// The answers of a registry with Basic auth that accepts `alice:s3cret`, has no blobs, and
/// opens uploads at `location` (with `upload` answering the requests that go there when it
/// is on this server).
fn basic_registry(
    location: impl Fn() -> String + Send + Sync + 'static,
) -> impl Fn(&Seen) -> Answer + Send + Sync + 'static {
    move |req: &Seen| {
        let authorized = req.header("authorization") == Some(&format!("Basic {BASIC}"));
        if !authorized {
            return Answer::with(
                401,
                &[("WWW-Authenticate", "Basic realm=\"hostile\"")],
                b"{}".to_vec(),
            );
        }
        match (req.method.as_str(), req.path()) {
            ("GET", "/v2/") => Answer::status(200),
            ("HEAD", p) if p.contains("/blobs/") => Answer::status(404),
            ("POST", p) if p.ends_with("/blobs/uploads/") => {
                Answer::with(202, &[("Location", &location())], Vec::new())
            }
            _ => Answer::status(404),
        }
    }
}

#[test]
fn an_upload_location_on_another_origin_gets_no_credentials() {
    // The registry, on verified HTTPS, sends the upload to plain HTTP on another host.
    let elsewhere = Arc::new(OriginServer::http("127.0.0.1", |_| Answer::status(401)));
    let target = elsewhere.http_url();
    let registry = OriginServer::https(
        "127.0.0.2",
        basic_registry(move || format!("{target}/v2/hostile/x/blobs/uploads/u1")),
    );
    let env = TestEnv::new();
    store_credentials(&env, &registry.addr);
    packaged(&env, &crate::support::filter_module(1));
    let remote = format!("{}/hostile/x:1", registry.addr);
    let out = run(
        &env,
        registry.ca_pem.as_deref(),
        &["push", "local/x:1", &remote],
    );
    let stderr = fails(&out, &["only sent to the registry"]);
    // The upload went there (docker follows Locations), without the credentials.
    assert!(
        elsewhere.seen().iter().any(|r| r.method == "PATCH"),
        "{:?}\n{stderr}",
        elsewhere.seen()
    );
    no_credentials_reached(&elsewhere);
    // The registry itself got them: it is the origin they are for.
    assert!(!registry.authorized().is_empty());
}

#[test]
fn a_same_host_location_over_plain_http_gets_no_credentials() {
    // `http://` on the registry's own host and port: another origin (scheme), and cleartext.
    let registry_addr = Arc::new(std::sync::OnceLock::<String>::new());
    let addr = registry_addr.clone();
    let registry = OriginServer::https(
        "127.0.0.2",
        basic_registry(move || {
            format!(
                "http://{}/v2/hostile/x/blobs/uploads/u1",
                addr.get().unwrap()
            )
        }),
    );
    registry_addr.set(registry.addr.clone()).unwrap();
    let env = TestEnv::new();
    store_credentials(&env, &registry.addr);
    packaged(&env, &crate::support::filter_module(2));
    let remote = format!("{}/hostile/x:1", registry.addr);
    let out = run(
        &env,
        registry.ca_pem.as_deref(),
        &["push", "local/x:1", &remote],
    );
    let stderr = fails(&out, &[]);
    // The PATCH went over plain HTTP without the header (the server logs both schemes).
    let patches: Vec<Seen> = registry
        .seen()
        .into_iter()
        .filter(|r| r.method == "PATCH")
        .collect();
    assert!(!patches.is_empty(), "{stderr}");
    assert!(
        patches.iter().all(|r| r.header("authorization").is_none()),
        "{patches:?}"
    );
}

/// A registry on 127.0.0.2 (TLS) that serves [`small_image`] with Basic auth, redirecting
/// blob downloads to `redirect(digest)`.
fn redirecting_registry(redirect: impl Fn(&str) -> String + Send + Sync + 'static) -> OriginServer {
    let image = small_image();
    OriginServer::https("127.0.0.2", move |req| {
        if req.header("authorization") != Some(&format!("Basic {BASIC}")) {
            return Answer::with(
                401,
                &[("WWW-Authenticate", "Basic realm=\"hostile\"")],
                b"{}".to_vec(),
            );
        }
        if req.path() == "/v2/" {
            return Answer::status(200);
        }
        if req.path().contains("/manifests/") {
            return Answer::with(
                200,
                &[("Content-Type", cargo_wasme::image::OCI_MANIFEST)],
                image.manifest.clone(),
            );
        }
        if let Some((_, digest)) = req.path().split_once("/blobs/") {
            return Answer::with(307, &[("Location", &redirect(digest))], Vec::new());
        }
        Answer::status(404)
    })
}

/// A blob store that serves [`small_image`]'s blobs to anyone.
fn blob_store(ip: &str, tls: bool) -> OriginServer {
    let image = small_image();
    let handler = move |req: &Seen| {
        let digest = req.path().rsplit('/').next().unwrap_or("");
        match image.blobs.iter().find(|(d, _)| d.as_str() == digest) {
            Some((_, data)) => Answer::with(200, &[], data.clone()),
            None => Answer::status(404),
        }
    };
    if tls {
        OriginServer::https(ip, handler)
    } else {
        OriginServer::http(ip, handler)
    }
}

#[test]
fn a_redirect_to_another_host_is_followed_without_credentials() {
    let cdn = Arc::new(blob_store("127.0.0.1", false));
    let cdn_url = cdn.http_url();
    let registry = redirecting_registry(move |d| format!("{cdn_url}/blobs/{d}"));
    let env = TestEnv::new();
    store_credentials(&env, &registry.addr);
    let reference = format!("{}/hostile/x:1", registry.addr);
    let out = run(&env, registry.ca_pem.as_deref(), &["pull", &reference]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!cdn.seen().is_empty());
    no_credentials_reached(&cdn);
}

#[test]
fn a_redirect_that_only_drops_tls_gets_no_credentials() {
    // reqwest keeps `Authorization` when a redirect changes only the scheme; wasme follows
    // redirects itself, so the cleartext hop goes without it.
    let addr = Arc::new(std::sync::OnceLock::<String>::new());
    let own = addr.clone();
    let registry = {
        let image = small_image();
        OriginServer::https("127.0.0.2", move |req| {
            let authorized = req.header("authorization") == Some(&format!("Basic {BASIC}"));
            if let Some(digest) = req.path().strip_prefix("/plain/") {
                // The cleartext hop: serves the blob to anyone.
                return match image.blobs.iter().find(|(d, _)| d.as_str() == digest) {
                    Some((_, data)) => Answer::with(200, &[], data.clone()),
                    None => Answer::status(404),
                };
            }
            if !authorized {
                return Answer::with(
                    401,
                    &[("WWW-Authenticate", "Basic realm=\"hostile\"")],
                    b"{}".to_vec(),
                );
            }
            if req.path() == "/v2/" {
                return Answer::status(200);
            }
            if req.path().contains("/manifests/") {
                return Answer::with(
                    200,
                    &[("Content-Type", cargo_wasme::image::OCI_MANIFEST)],
                    image.manifest.clone(),
                );
            }
            if let Some((_, digest)) = req.path().split_once("/blobs/") {
                let to = format!("http://{}/plain/{digest}", own.get().unwrap());
                return Answer::with(302, &[("Location", &to)], Vec::new());
            }
            Answer::status(404)
        })
    };
    addr.set(registry.addr.clone()).unwrap();
    let env = TestEnv::new();
    store_credentials(&env, &registry.addr);
    let reference = format!("{}/hostile/x:1", registry.addr);
    let out = run(&env, registry.ca_pem.as_deref(), &["pull", &reference]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let plain: Vec<Seen> = registry
        .seen()
        .into_iter()
        .filter(|r| r.path().starts_with("/plain/"))
        .collect();
    assert!(!plain.is_empty());
    assert!(
        plain.iter().all(|r| r.header("authorization").is_none()),
        "{plain:?}"
    );
}

/// A registry on 127.0.0.2 whose every answer is a Bearer challenge naming `realm`.
fn challenging_registry(realm: String) -> OriginServer {
    OriginServer::https("127.0.0.2", move |_| {
        Answer::with(
            401,
            &[(
                "WWW-Authenticate",
                &format!("Bearer realm=\"{realm}\",service=\"hostile\""),
            )],
            b"{}".to_vec(),
        )
    })
}

#[test]
fn insecure_applies_to_the_registry_host_only_not_its_realm() {
    // The token service on another host has a certificate nobody trusts: `--insecure` for
    // the registry must not skip its check, and the credentials must not reach it.
    // 127.0.0.3: another host, not this machine to cargo-wasme (see the module's doc).
    let realm = OriginServer::https("127.0.0.3", |_| {
        Answer::with(200, &[], br#"{"token":"t"}"#.to_vec())
    });
    let registry = challenging_registry(format!("{}/token", realm.https_url()));
    let env = TestEnv::new();
    store_credentials(&env, &registry.addr);
    cargo_wasme::store::Store::open(env.store()).unwrap();
    let reference = format!("{}/hostile/x:1", registry.addr);
    // No SSL_CERT_FILE: neither certificate is trusted; `--insecure` covers the registry.
    let out = run(&env, None, &["pull", "--insecure", &reference]);
    fails(&out, &["certificate"]);
    no_credentials_reached(&realm);
    assert!(realm.seen().is_empty(), "{:?}", realm.seen());
}

#[test]
fn a_remote_registry_cannot_name_a_loopback_realm() {
    let realm = OriginServer::http("127.0.0.1", |_| {
        Answer::with(200, &[], br#"{"token":"t"}"#.to_vec())
    });
    let registry = challenging_registry(format!("{}/token", realm.http_url()));
    let env = TestEnv::new();
    store_credentials(&env, &registry.addr);
    cargo_wasme::store::Store::open(env.store()).unwrap();
    let reference = format!("{}/hostile/x:1", registry.addr);
    let out = run(&env, registry.ca_pem.as_deref(), &["pull", &reference]);
    fails(&out, &["on this machine", "nothing was sent"]);
    assert!(realm.seen().is_empty(), "{:?}", realm.seen());
}

#[test]
fn credentials_never_travel_to_a_plain_http_registry_elsewhere() {
    let registry = OriginServer::http("127.0.0.2", |_| Answer::status(200));
    let env = TestEnv::new();
    store_credentials(&env, &registry.addr);
    cargo_wasme::store::Store::open(env.store()).unwrap();
    let reference = format!("{}/hostile/x:1", registry.addr);
    let out = run(&env, None, &["pull", "--plain-http", &reference]);
    fails(&out, &["plain HTTP", "cleartext"]);
    assert!(registry.seen().is_empty(), "{:?}", registry.seen());
}

#[test]
fn a_stalled_upload_fails_within_the_read_timeout() {
    // The registry takes half of every chunk and then neither reads nor answers.
    let registry = Arc::new(std::sync::OnceLock::<String>::new());
    let addr = registry.clone();
    let server = OriginServer::http("127.0.0.1", move |req| {
        match (req.method.as_str(), req.path()) {
            ("GET", "/v2/") => Answer::status(200),
            ("HEAD", _) => Answer::status(404),
            ("POST", _) => Answer::with(
                202,
                &[(
                    "Location",
                    &format!("http://{}/v2/x/blobs/uploads/u", addr.get().unwrap()),
                )],
                Vec::new(),
            ),
            ("PATCH", _) => Answer::Stall { secs: 120 },
            _ => Answer::status(404),
        }
    });
    registry.set(server.addr.clone()).unwrap();
    let env = TestEnv::new();
    packaged(&env, &big_module(6 << 20));
    let remote = format!("{}/hostile/x:1", server.addr);
    let started = Instant::now();
    // A stall fails the same way after 0.5 s as after 30.
    let out = run_timeout(&env, None, &["push", "local/x:1", &remote], "0.5");
    let took = started.elapsed();
    fails(&out, &["timed out", "WASME_READ_TIMEOUT"]);
    // 4 attempts × the 0.5 s read timeout plus backoff, far from 4 × 120 s.
    assert!(took < Duration::from_secs(40), "took {took:?}");
}
