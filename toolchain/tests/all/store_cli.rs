//! The local store through the CLI: package, images, tag, inspect, export, rmi + GC, bad
//! input, concurrent writers, full disk and unwritable stores.

use crate::support;

use std::ffi::OsStr;
use support::{TestEnv, digest_in, filter_module};

#[test]
fn package_stores_an_oci_layout_readable_back() {
    let env = TestEnv::new();
    let wasm = env.write_module("my_filter.wasm", &filter_module(1));
    let out = env.ok(&[
        "package",
        wasm.to_str().unwrap(),
        "--tag",
        "my-filter:1.0",
        "--root-id",
        "r1",
    ]);
    let digest = digest_in(&out);
    // A real OCI image layout.
    let layout: serde_json::Value =
        serde_json::from_slice(&std::fs::read(env.store().join("oci-layout")).unwrap()).unwrap();
    assert_eq!(layout["imageLayoutVersion"], "1.0.0");
    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(env.store().join("index.json")).unwrap()).unwrap();
    assert_eq!(index["manifests"][0]["digest"], digest.as_str());
    assert_eq!(
        index["manifests"][0]["annotations"]["org.opencontainers.image.ref.name"],
        "docker.io/library/my-filter:1.0"
    );
    let hex = digest.strip_prefix("sha256:").unwrap();
    assert!(env.store().join("blobs/sha256").join(hex).is_file());

    let images: serde_json::Value = serde_json::from_str(&env.ok(&["images", "--json"])).unwrap();
    assert_eq!(images[0]["digest"], digest.as_str());
    assert_eq!(images[0]["root_ids"][0], "r1");
    assert_eq!(images[0]["abi_versions"][0], "v0.2.1");
    assert_eq!(images[0]["format"], "compat");
    let table = env.ok(&["images"]);
    assert!(
        table.contains("my-filter:1.0") && table.contains(&hex[..12]),
        "{table}"
    );

    let inspect: serde_json::Value =
        serde_json::from_str(&env.ok(&["inspect", "my-filter:1.0", "--json"])).unwrap();
    assert_eq!(
        inspect["manifest"]["layers"][0]["mediaType"],
        "application/vnd.oci.image.layer.v1.tar+gzip"
    );
    assert!(
        inspect["exports"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["name"] == "proxy_on_memory_allocate")
    );
    assert_eq!(inspect["imports"][0]["name"], "proxy_log");
    let human = env.ok(&["inspect", "my-filter:1.0"]);
    assert!(
        human.contains("v0.2.1") && human.contains("proxy_log"),
        "{human}"
    );

    let exported = env.dir.path().join("out.wasm");
    env.ok(&["export", "my-filter:1.0", "-o", exported.to_str().unwrap()]);
    assert_eq!(std::fs::read(&exported).unwrap(), filter_module(1));
    // By digest too.
    env.ok(&["export", &digest, "-o", exported.to_str().unwrap()]);
    assert_eq!(std::fs::read(&exported).unwrap(), filter_module(1));
}

#[test]
fn packaging_is_reproducible_and_honours_source_date_epoch() {
    let a = TestEnv::new();
    let b = TestEnv::new();
    let wasm = a.write_module("f.wasm", &filter_module(7));
    let da = digest_in(&a.ok(&["package", wasm.to_str().unwrap(), "--tag", "f:1"]));
    let db = digest_in(&b.ok(&["package", wasm.to_str().unwrap(), "--tag", "f:1"]));
    assert_eq!(da, db, "same module, same digest in another store");
    let epoch = [("SOURCE_DATE_EPOCH", OsStr::new("1700000000"))];
    let package_f2 = ["package", wasm.to_str().unwrap(), "--tag", "f:2"];
    let dc = digest_in(&a.ok_with(&package_f2, &epoch));
    assert_ne!(da, dc, "SOURCE_DATE_EPOCH must reach the image");
    let dd = digest_in(&b.ok_with(&package_f2, &epoch));
    assert_eq!(dc, dd);
}

#[test]
fn every_format_packages_and_reads_back() {
    let env = TestEnv::new();
    let wasm = env.write_module("f.wasm", &filter_module(2));
    let mut digests = Vec::new();
    for format in ["compat", "docker", "solo", "cncf"] {
        let tag = format!("f:{format}");
        digests.push(digest_in(&env.ok(&[
            "package",
            wasm.to_str().unwrap(),
            "--tag",
            &tag,
            "--format",
            format,
            "--root-id",
            "x",
        ])));
        let inspect: serde_json::Value =
            serde_json::from_str(&env.ok(&["inspect", &tag, "--json"])).unwrap();
        assert_eq!(inspect["format"], format);
        assert_eq!(inspect["abi_versions"][0], "v0.2.1");
        assert_eq!(inspect["root_ids"][0], "x", "{format}");
        let out = env.dir.path().join(format!("{format}.wasm"));
        env.ok(&["export", &tag, "-o", out.to_str().unwrap()]);
        assert_eq!(std::fs::read(&out).unwrap(), filter_module(2));
    }
    digests.dedup();
    assert_eq!(digests.len(), 4);
    let inspect: serde_json::Value =
        serde_json::from_str(&env.ok(&["inspect", "f:docker", "--json"])).unwrap();
    assert_eq!(
        inspect["media_type"],
        "application/vnd.docker.distribution.manifest.v2+json"
    );
    let inspect: serde_json::Value =
        serde_json::from_str(&env.ok(&["inspect", "f:solo", "--json"])).unwrap();
    assert_eq!(inspect["manifest"]["layers"].as_array().unwrap().len(), 2);
}

#[test]
fn tag_rmi_and_garbage_collection() {
    let env = TestEnv::new();
    let wasm = env.write_module("f.wasm", &filter_module(3));
    let other = env.write_module("g.wasm", &filter_module(4));
    let digest = digest_in(&env.ok(&["package", wasm.to_str().unwrap(), "--tag", "f:1"]));
    env.ok(&["package", other.to_str().unwrap(), "--tag", "g:1"]);
    env.ok(&["tag", "f:1", "127.0.0.1:5000/team/f:prod"]);
    let images: serde_json::Value = serde_json::from_str(&env.ok(&["images", "--json"])).unwrap();
    assert_eq!(images.as_array().unwrap().len(), 3);
    let blob_count = || {
        std::fs::read_dir(env.store().join("blobs/sha256"))
            .unwrap()
            .count()
    };
    let before = blob_count();
    // Removing one of two names keeps the blobs.
    env.ok(&["rmi", "f:1"]);
    assert_eq!(blob_count(), before);
    assert!(env.fails(&["inspect", "f:1"]).contains("no image"));
    let again: serde_json::Value =
        serde_json::from_str(&env.ok(&["inspect", "127.0.0.1:5000/team/f:prod", "--json"]))
            .unwrap();
    assert_eq!(again["digest"], digest.as_str());
    // Removing the last name frees its manifest, config and layer, not g's.
    let out = env.run_with(&["rmi", "127.0.0.1:5000/team/f:prod"], &[]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && err.contains("Deleted 3 blobs"),
        "{err}"
    );
    assert_eq!(blob_count(), before - 3);
    env.ok(&["inspect", "g:1"]);
    // Tagging to a digest reference is refused.
    let err = env.fails(&["tag", "g:1", &format!("x@{digest}")]);
    assert!(err.contains("digest reference"), "{err}");
}

#[test]
fn bad_input_is_refused_and_changes_nothing() {
    let env = TestEnv::new();
    let wasm = env.write_module("f.wasm", &filter_module(5));
    env.ok(&["package", wasm.to_str().unwrap(), "--tag", "f:1"]);
    let before = env.store_snapshot();

    let err = env.fails(&["package", wasm.to_str().unwrap(), "--tag", "Bad Ref!"]);
    assert!(err.contains("invalid image reference"), "{err}");
    let err = env.fails(&["inspect", "nope:1"]);
    assert!(
        err.contains("no image `nope:1`") && err.contains("cargo wasme pull"),
        "{err}"
    );
    let err = env.fails(&["rmi", "nope:1"]);
    assert!(err.contains("no image"), "{err}");
    let err = env.fails(&["tag", "nope:1", "x:1"]);
    assert!(err.contains("no image"), "{err}");
    let no_marker = env.write_module(
        "plain.wasm",
        &wat::parse_str(
            r#"(module (func (export "malloc") (param i32) (result i32) i32.const 0))"#,
        )
        .unwrap(),
    );
    let err = env.fails(&["package", no_marker.to_str().unwrap(), "--tag", "x:1"]);
    assert!(err.contains("ABI marker"), "{err}");
    let no_alloc = env.write_module(
        "noalloc.wasm",
        &wat::parse_str(r#"(module (func (export "proxy_abi_version_0_2_1")))"#).unwrap(),
    );
    let err = env.fails(&["package", no_alloc.to_str().unwrap(), "--tag", "x:1"]);
    assert!(err.contains("allocator"), "{err}");
    let garbage = env.write_module("garbage.wasm", b"\0asm\x01\0\0\0garbage");
    let err = env.fails(&["package", garbage.to_str().unwrap(), "--tag", "x:1"]);
    assert!(err.contains("not a valid"), "{err}");
    let err = env.fails(&["export", "f:1", "-o", "/nonexistent-dir/x.wasm"]);
    assert!(err.contains("cannot write"), "{err}");

    assert_eq!(
        env.store_snapshot(),
        before,
        "a failed command changed the store"
    );
}

#[test]
fn unwritable_store_gives_a_clear_error() {
    let env = TestEnv::new();
    // WASME_HOME under a regular file: no directory can be created there (root or not).
    let file = env.dir.path().join("a-file");
    std::fs::write(&file, b"x").unwrap();
    let wasm = env.write_module("f.wasm", &filter_module(6));
    let out = env
        .cmd()
        .args(["package", wasm.to_str().unwrap(), "--tag", "f:1"])
        .env("WASME_HOME", file.join("home"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("not writable") && err.contains("WASME_HOME"),
        "{err}"
    );
    assert_eq!(std::fs::read(&file).unwrap(), b"x");
}

#[test]
fn a_full_disk_leaves_the_store_as_it_was() {
    let env = TestEnv::new();
    let small = env.write_module("small.wasm", &filter_module(8));
    env.ok(&["package", small.to_str().unwrap(), "--tag", "small:1"]);
    let before = env.store_snapshot();
    // A file-size limit makes writes fail like a full disk (EFBIG) for this process only; the
    // shell ignores SIGXFSZ so the write returns an error instead of killing the process.
    let big = env.write_module("big.wasm", &support::big_module(2 * 1024 * 1024));
    let script = format!(
        "trap '' XFSZ; ulimit -f 1024; exec '{}' package '{}' --tag big:1 --format solo",
        env!("CARGO_BIN_EXE_cargo-wasme"),
        big.display()
    );
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(&script)
        .env("WASME_HOME", env.home())
        .env("DOCKER_CONFIG", env.docker_config())
        .output()
        .unwrap();
    assert!(!out.status.success(), "the write should have failed");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("disk is full") && err.contains("WASME_HOME"),
        "{err}"
    );
    let after = env.store_snapshot();
    assert_eq!(
        after, before,
        "a failed write must leave the store exactly as it was"
    );
    // And the store still works.
    env.ok(&["inspect", "small:1"]);
}

#[test]
fn concurrent_writers_lose_nothing() {
    let env = TestEnv::new();
    let modules: Vec<_> = (0..8)
        .map(|i| env.write_module(&format!("m{i}.wasm"), &filter_module(100 + i)))
        .collect();
    let children: Vec<_> = modules
        .iter()
        .enumerate()
        .map(|(i, m)| {
            env.cmd()
                .args(["package", m.to_str().unwrap(), "--tag", &format!("c:{i}")])
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    for mut c in children {
        assert!(c.wait().unwrap().success());
    }
    let images: serde_json::Value = serde_json::from_str(&env.ok(&["images", "--json"])).unwrap();
    assert_eq!(images.as_array().unwrap().len(), 8, "{images}");
    for i in 0..8 {
        let out = env.dir.path().join("x.wasm");
        env.ok(&["export", &format!("c:{i}"), "-o", out.to_str().unwrap()]);
        assert_eq!(std::fs::read(&out).unwrap(), filter_module(100 + i as u32));
    }
    // Concurrent removals and additions.
    let mut children = Vec::new();
    for i in 0..4 {
        children.push(
            env.cmd()
                .args(["rmi", &format!("c:{i}")])
                .stdout(std::process::Stdio::null())
                .spawn()
                .unwrap(),
        );
        children.push(
            env.cmd()
                .args(["tag", &format!("c:{}", i + 4), &format!("d:{i}")])
                .stdout(std::process::Stdio::null())
                .spawn()
                .unwrap(),
        );
    }
    for mut c in children {
        assert!(c.wait().unwrap().success());
    }
    let images: serde_json::Value = serde_json::from_str(&env.ok(&["images", "--json"])).unwrap();
    assert_eq!(images.as_array().unwrap().len(), 8);
    for i in 4..8 {
        env.ok(&["inspect", &format!("c:{i}")]);
    }
}

#[test]
fn leftovers_of_a_killed_writer_stay_invisible_and_are_collected() {
    let env = TestEnv::new();
    let wasm = env.write_module("f.wasm", &filter_module(9));
    let digest = digest_in(&env.ok(&["package", wasm.to_str().unwrap(), "--tag", "f:1"]));
    // What a process killed mid-write leaves: a temp file and an orphan blob, no index entry.
    let blobs = env.store().join("blobs/sha256");
    let tmp = blobs.join(".tmp-killed");
    std::fs::write(&tmp, b"half a layer").unwrap();
    let old = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
    std::fs::File::options()
        .write(true)
        .open(&tmp)
        .unwrap()
        .set_modified(old)
        .unwrap();
    let orphan = blobs.join(format!("{:064x}", 1));
    std::fs::write(&orphan, b"orphan").unwrap();
    let fresh_tmp = blobs.join(".tmp-writing-now");
    std::fs::write(&fresh_tmp, b"in progress").unwrap();
    let images: serde_json::Value = serde_json::from_str(&env.ok(&["images", "--json"])).unwrap();
    assert_eq!(images.as_array().unwrap().len(), 1);
    let store = cargo_wasme::store::Store::open(env.store()).unwrap();
    let report = store.gc().unwrap();
    assert_eq!(report.blobs_deleted, 1, "{report:?}");
    assert!(!tmp.exists() && !orphan.exists());
    assert!(
        fresh_tmp.exists(),
        "a temp file another process may still be writing is kept"
    );
    assert_eq!(store.resolve("f:1").unwrap().manifest_digest, digest);
}

#[test]
fn a_wasme_home_that_is_not_a_directory_is_an_error_not_an_empty_store() {
    let env = TestEnv::new();
    let file = env.dir.path().join("home-is-a-file");
    std::fs::write(&file, b"not a directory").unwrap();
    for args in [
        vec!["images"],
        vec!["images", "--json"],
        vec!["inspect", "x:1"],
    ] {
        let out = env.run_with(&args, &[("WASME_HOME", file.as_os_str())]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?} succeeded:\n{err}");
        assert_ne!(out.status.code(), Some(101), "{err}");
        assert!(
            err.contains("is not a directory") && err.contains("WASME_HOME"),
            "{args:?}: {err}"
        );
        assert!(out.stdout.is_empty(), "printed a table anyway");
    }
    // A store path that is a file is the same mistake one level down.
    let home = env.dir.path().join("home");
    std::fs::create_dir_all(&home).unwrap();
    std::fs::write(home.join("store"), b"x").unwrap();
    let out = env.run_with(&["images"], &[("WASME_HOME", home.as_os_str())]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("is not a directory"));
    // A symbolic link to a directory is a directory.
    let real = env.dir.path().join("real-home");
    std::fs::create_dir_all(&real).unwrap();
    let link = env.dir.path().join("linked-home");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    env.ok_with(&["images"], &[("WASME_HOME", link.as_os_str())]);
}

#[test]
fn images_and_tag_read_no_layer() {
    // A layer replaced by garbage of the same length: listing and tagging do not read layers
    // (they read the index, manifests and configs), so they still work; every command that
    // reads the module finds the damage.
    let env = TestEnv::new();
    let wasm = env.write_module("f.wasm", &filter_module(8));
    env.ok(&["package", wasm.to_str().unwrap(), "--tag", "f:1"]);
    let inspect: serde_json::Value =
        serde_json::from_str(&env.ok(&["inspect", "f:1", "--json"])).unwrap();
    let layer = inspect["manifest"]["layers"][0]["digest"].as_str().unwrap();
    let path = env
        .store()
        .join("blobs/sha256")
        .join(layer.trim_start_matches("sha256:"));
    let len = std::fs::metadata(&path).unwrap().len() as usize;
    std::fs::write(&path, vec![0x55; len]).unwrap();
    let listed: serde_json::Value = serde_json::from_str(&env.ok(&["images", "--json"])).unwrap();
    assert_eq!(listed[0]["wasmSha256"], inspect["wasmSha256"]);
    assert_eq!(listed[0]["moduleSize"], inspect["moduleSize"]);
    assert_eq!(listed[0]["rootIds"], inspect["rootIds"]);
    env.ok(&["tag", "f:1", "f:2"]);
    let err = env.fails(&["inspect", "f:2"]);
    assert!(err.contains("damaged"), "{err}");
    // A missing layer is seen by its size on disk, without reading it.
    std::fs::remove_file(&path).unwrap();
    let err = env.fails(&["images"]);
    assert!(err.contains("damaged") && err.contains("missing"), "{err}");
}

/// A pull decodes the image beside its layer's download (`Store::decode_beside`), and what
/// that decode read is used only when the blob writer feeding it committed. Fed the bytes of
/// another valid layer under this layer's digest, the commit fails, and the retried download
/// (which does not feed it) stores the right layer: the image recorded holds the right module,
/// decoded from the store, never the module that was fed. Fed the right layer, the decode's
/// result is recorded.
#[test]
fn a_decode_beside_a_download_counts_only_for_a_committed_blob() {
    use cargo_wasme::image::{self, Format, ImageSpec, Manifest};
    use cargo_wasme::reference::Digest;
    use cargo_wasme::store::{DecodeBeside, Store, StoreError};
    let spec = ImageSpec::new(Format::Compat, vec!["v0.2.1".into()], vec!["r".into()]);
    let (right, other) = (filter_module(1), filter_module(2));
    let built = image::build(&right, &spec).unwrap();
    let built_other = image::build(&other, &spec).unwrap();
    let manifest = Manifest::parse(&built.manifest).unwrap();
    let layer = manifest.layers.last().unwrap().clone();
    let other_manifest = Manifest::parse(&built_other.manifest).unwrap();
    let other_layer = built_other
        .blob(other_manifest.layers.last().unwrap())
        .unwrap();
    let layer_bytes = built.blob(&layer).unwrap();
    assert_ne!(layer_bytes, other_layer);
    let write =
        |store: &Store, bytes: &[u8], digest: &Digest, beside: Option<&mut DecodeBeside>| {
            let mut writer = store.blob_writer(digest, u64::MAX)?;
            if let Some(beside) = beside {
                writer.feed(beside);
            }
            for chunk in bytes.chunks(100) {
                writer.append(bytes::Bytes::copy_from_slice(chunk))?;
            }
            writer.commit()
        };
    for tampered_first in [true, false] {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let mut fresh = Vec::new();
        for d in manifest.blobs() {
            if d.digest != layer.digest {
                write(&store, built.blob(d).unwrap(), &d.digest, None).unwrap();
                fresh.push(d.digest.clone());
            }
        }
        let mut beside = store
            .decode_beside(&built.manifest, &layer.digest, &fresh)
            .unwrap();
        if tampered_first {
            let refused = write(&store, other_layer, &layer.digest, Some(&mut beside));
            assert!(
                matches!(refused, Err(StoreError::DigestMismatch { .. })),
                "{refused:?}"
            );
        }
        write(&store, layer_bytes, &layer.digest, Some(&mut beside)).unwrap();
        fresh.push(layer.digest.clone());
        let summary = store
            .add_pulled("beside:1", &built.manifest, &fresh, Some(beside))
            .unwrap();
        assert_eq!(
            summary.wasm_sha256,
            Digest::of(&right).hex(),
            "{tampered_first}"
        );
        assert_eq!(summary.manifest_digest, built.digest);
    }
}
