//! `key generate`, `sign`, `verify`, `push --sign` and the verification gate of `pull`
//! against Debian's real `docker-registry` 2.8 (no referrers API: the tag schema is kept by
//! wasme), with npm's `@sigstore/verify` as the independent judge of every bundle written.

use crate::sign_support::{self, keypair, ok, third_party, third_party_bundles};
use crate::support::{self, DockerRegistry, TestEnv, digest_in, package};
use base64::Engine as _;
use cargo_wasme::reference::Digest;
use cargo_wasme::registry::{Registry, RegistryOptions, block_on};
use cargo_wasme::sign::{bundle::Bundle, dsse::Statement, keys::KeyPair};
use std::ffi::OsStr;

/// The tag-schema index the registry holds for `digest` (what wasme maintains on 2.8), read
/// with a plain HTTP/1.0 GET as any client would.
fn tag_schema(registry: &DockerRegistry, repository: &str, digest: &str) -> serde_json::Value {
    use std::io::{Read as _, Write as _};
    let path = format!("/v2/{repository}/manifests/{}", digest.replace(':', "-"));
    let mut stream = std::net::TcpStream::connect(&registry.addr).unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.0\r\nHost: {}\r\nAccept: application/vnd.oci.image.index.v1+json\r\n\r\n",
        registry.addr
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap();
    assert!(
        head.starts_with("HTTP/1.0 200") || head.starts_with("HTTP/1.1 200"),
        "{head}"
    );
    serde_json::from_str(body).unwrap()
}

#[test]
fn sign_and_verify_on_the_registry_as_a_third_party_sees_it() {
    let registry = DockerRegistry::start();
    let env = TestEnv::new();
    let (key, public) = keypair(&env, "k");
    let private = std::fs::read_to_string(&key).unwrap();
    assert!(private.starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&key).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "the private key is 0600");
    }
    assert!(
        std::fs::read_to_string(&public)
            .unwrap()
            .starts_with("-----BEGIN PUBLIC KEY-----")
    );
    // Generating again over the same prefix is refused and changes nothing.
    let err = env.fails(&[
        "key",
        "generate",
        env.dir.path().join("k").to_str().unwrap(),
    ]);
    assert!(err.contains("already exists"), "{err}");
    assert_eq!(std::fs::read_to_string(&key).unwrap(), private);

    let reference = format!("{}/filters/signed:v1", registry.addr);
    let digest = package(&env, 1, &reference, "compat");
    env.ok(&["push", &reference]);
    // Signing the registry image (--remote: not the store's copy).
    let out = ok(
        &env,
        &[
            "sign",
            &reference,
            "--key",
            key.to_str().unwrap(),
            "--remote",
        ],
    );
    assert_eq!(digest_in(&out), digest);
    let verified = env.ok(&[
        "verify",
        &reference,
        "--key",
        public.to_str().unwrap(),
        "--remote",
    ]);
    assert_eq!(verified.trim(), digest, "verify prints exactly the digest");

    // Signing twice adds nothing: one entry in the tag-schema index.
    let again = ok(
        &env,
        &[
            "sign",
            &reference,
            "--key",
            key.to_str().unwrap(),
            "--remote",
        ],
    );
    assert_eq!(digest_in(&again), digest);
    let index = tag_schema(&registry, "filters/signed", &digest);
    let entries = index["manifests"].as_array().unwrap();
    assert_eq!(entries.len(), 1, "{index}");
    assert_eq!(
        entries[0]["artifactType"],
        "application/vnd.dev.sigstore.bundle.v0.3+json"
    );
    assert_eq!(
        entries[0]["annotations"]["dev.sigstore.bundle.predicateType"],
        "https://sigstore.dev/cosign/sign/v1"
    );

    // A third party finds it through the tag schema and @sigstore/verify accepts it.
    if let Some(found) = third_party(&registry.addr, "filters/signed", &digest, &public) {
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].ok, "{found:?}");
        assert_eq!(found[0].via, "tag schema");
        assert_eq!(
            found[0].predicate_type.as_deref(),
            Some("https://sigstore.dev/cosign/sign/v1")
        );
        // With another key it does not verify.
        let (_, other_pub) = keypair(&env, "other");
        let found = third_party(&registry.addr, "filters/signed", &digest, &other_pub).unwrap();
        assert!(!found[0].ok, "{found:?}");
    }
}

#[test]
fn push_sign_carries_the_signature_and_pull_verifies_it() {
    let registry = DockerRegistry::start();
    let producer = TestEnv::new();
    let (key, public) = keypair(&producer, "k");
    let reference = format!("{}/filters/pushed:v1", registry.addr);
    let digest = package(&producer, 2, &reference, "compat");
    let pushed = ok(
        &producer,
        &["push", &reference, "--sign", key.to_str().unwrap()],
    );
    assert_eq!(digest_in(&pushed), digest);
    // The store keeps the signature; `inspect` says what verified it.
    let inspect: serde_json::Value = serde_json::from_str(&producer.ok(&[
        "inspect",
        &reference,
        "--json",
        "--verify-key",
        public.to_str().unwrap(),
    ]))
    .unwrap();
    let referrers = inspect["referrers"].as_array().unwrap();
    assert_eq!(referrers.len(), 1, "{inspect}");
    assert_eq!(
        referrers[0]["verification"]["key"],
        cargo_wasme::sign::keys::PublicKey::read(&public)
            .unwrap()
            .fingerprint()
    );
    // Pushing again pushes no second signature.
    let again = producer.ok(&["push", &reference]);
    assert_eq!(digest_in(&again), digest);
    assert_eq!(
        tag_schema(&registry, "filters/pushed", &digest)["manifests"]
            .as_array()
            .unwrap()
            .len(),
        1
    );

    // A consumer with only the public key: verify (from the registry), pull with the gate.
    let consumer = TestEnv::new();
    let verified = consumer.ok(&["verify", &reference, "--key", public.to_str().unwrap()]);
    assert_eq!(verified.trim(), digest);
    let pulled = consumer.ok(&["pull", &reference, "--verify-key", public.to_str().unwrap()]);
    assert_eq!(digest_in(&pulled), digest);
    let by_env = TestEnv::new();
    let pulled = by_env.ok_with(
        &["pull", &reference],
        &[("WASME_VERIFY_KEY", public.as_os_str())],
    );
    assert_eq!(digest_in(&pulled), digest);
    if let Some(found) = third_party(&registry.addr, "filters/pushed", &digest, &public) {
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].ok, "{found:?}");
    }
}

/// The push-side credentials (anonymous here) and options for the library calls.
fn client() -> Registry {
    Registry::new(RegistryOptions::default())
}

#[test]
fn unsigned_other_key_other_subject_and_tampered_are_refused_and_nothing_is_written() {
    let registry = DockerRegistry::start();
    let env = TestEnv::new();
    let (key, public) = keypair(&env, "k");
    let (other_key, _) = keypair(&env, "other");
    let a = format!("{}/filters/a:v1", registry.addr);
    let b = format!("{}/filters/a:v2", registry.addr);
    let digest_a = package(&env, 3, &a, "compat");
    let digest_b = package(&env, 4, &b, "compat");
    env.ok(&["push", &a]);
    env.ok(&["push", &b]);
    let public_arg = public.to_str().unwrap();

    let consumer = TestEnv::new();
    let refused = |reference: &str, expect: &str| {
        let err = consumer.fails(&["verify", reference, "--key", public_arg]);
        assert!(err.contains(expect), "verify {reference}: {err}");
        let before = consumer.store_snapshot();
        let err = consumer.fails(&["pull", reference, "--verify-key", public_arg]);
        assert!(err.contains(expect), "pull {reference}: {err}");
        assert_eq!(
            consumer.store_snapshot(),
            before,
            "a refused pull writes nothing"
        );
        let err = consumer.fails_with(
            &["pull", reference],
            &[("WASME_VERIFY_KEY", OsStr::new(public_arg))],
        );
        assert!(
            err.contains(expect),
            "pull (WASME_VERIFY_KEY) {reference}: {err}"
        );
        assert_eq!(consumer.store_snapshot(), before);
    };

    // 1. Unsigned.
    refused(&a, "has no signature");

    // 2. Signed by another key.
    ok(
        &env,
        &["sign", &a, "--key", other_key.to_str().unwrap(), "--remote"],
    );
    refused(&a, "signed by a key not given");

    // 3. A valid signature of A, attached to B (its statement names A).
    let pair = KeyPair::from_pem(
        &std::fs::read_to_string(&key).unwrap(),
        Some(sign_support::PASSWORD),
        &key,
    )
    .unwrap();
    let a_digest: Digest = digest_a.parse().unwrap();
    let b_digest: Digest = digest_b.parse().unwrap();
    let bundle_a = Bundle::sign(&pair, &Statement::cosign_sign(&a_digest)).unwrap();
    let registry_client = client();
    let subject_b = block_on(registry_client.manifest_descriptor(&b)).unwrap();
    let misplaced = bundle_a.referrer(subject_b.clone(), "https://sigstore.dev/cosign/sign/v1");
    assert!(block_on(registry_client.push_referrer(&b, &misplaced)).unwrap());
    refused(&b, &format!("its subject is {digest_a}, not {digest_b}"));

    // 4. A tampered bundle: B's statement swapped in under A-for-B's signature... i.e. the
    //    payload changed after signing (the hint still names the right key).
    let mut tampered: serde_json::Value = serde_json::from_slice(&bundle_a.to_json()).unwrap();
    let b64 = base64::engine::general_purpose::STANDARD;
    tampered["dsseEnvelope"]["payload"] =
        serde_json::Value::String(b64.encode(Statement::cosign_sign(&b_digest).to_bytes()));
    let tampered_bytes = serde_json::to_vec(&tampered).unwrap();
    let tampered_bundle: Bundle = serde_json::from_slice(&tampered_bytes).unwrap();
    let referrer = tampered_bundle.referrer(subject_b, "https://sigstore.dev/cosign/sign/v1");
    assert!(block_on(registry_client.push_referrer(&b, &referrer)).unwrap());
    let err = consumer.fails(&["verify", &b, "--key", public_arg]);
    assert!(err.contains("tampered"), "{err}");
    assert!(
        err.contains(&format!("its subject is {digest_a}")),
        "both bundles are named: {err}"
    );

    // The independent verifier agrees on every case.
    if let Some(found) = third_party(&registry.addr, "filters/a", &digest_b, &public) {
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(found.iter().all(|f| !f.ok), "{found:?}");
        // The three bundle checks in one node run, each verdict asserted.
        let a_json = bundle_a.to_json();
        let verdicts = third_party_bundles(
            &[
                (&tampered_bytes, &digest_b),
                (&a_json, &digest_a),
                (&a_json, &digest_b),
            ],
            &public,
        )
        .unwrap();
        assert!(verdicts[0].is_err(), "tampered: {verdicts:?}");
        assert_eq!(
            verdicts[1].as_deref(),
            Ok("https://sigstore.dev/cosign/sign/v1"),
            "genuine: {verdicts:?}"
        );
        assert!(verdicts[2].is_err(), "another subject: {verdicts:?}");
    }

    // And once B is signed properly, both verifiers accept it.
    ok(
        &env,
        &["sign", &b, "--key", key.to_str().unwrap(), "--remote"],
    );
    assert_eq!(
        consumer.ok(&["verify", &b, "--key", public_arg]).trim(),
        digest_b
    );
    if let Some(found) = third_party(&registry.addr, "filters/a", &digest_b, &public) {
        assert_eq!(found.iter().filter(|f| f.ok).count(), 1, "{found:?}");
    }
    let _ = support::says_status;
}
