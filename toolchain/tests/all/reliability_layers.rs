//! Reliability, image side: layers and manifests that two readers would resolve to different
//! modules, served by a hostile loopback registry to the real `cargo-wasme` binary.
//!
//! Istio's agent (`extractWasmPluginBinary` in istio/istio `pkg/wasm/imagefetcher.go`, forked
//! by Envoy Gateway and Higress) inflates the last layer as multi-member gzip, walks it with
//! Go's `archive/tar` and takes the FIRST entry whose `filepath.Base` is `plugin.wasm`; a
//! Docker manifest is read only as Docker; any other manifest as compat (last layer
//! `…tar+gzip`), else as the two-layer solo artifact. Every case below is one where another
//! reader (wasme before, GNU tar, a Rust tar reader, a runtime that reads the CNCF layer)
//! would take other bytes: each must be refused with one clear error, within bounded memory,
//! and leave the store as it was. The same bytes already in a store are refused by the local
//! readers too (`inspect`, `export`, `run`), since all of them go through `image::decode`.

use crate::support::TestEnv;
use crate::support::hostile::{Hostile, Reply};
use crate::support::{filter_module, snapshot};
use cargo_wasme::image::{self, BuiltImage, Descriptor, Manifest};
use cargo_wasme::reference::Digest;
use std::collections::BTreeMap;
use std::io::Write as _;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

/// Virtual memory cap for the binary under test (KiB), as in `reliability_registry.rs`: far
/// below what inflating the bombs below whole would need.
const MEMORY_CAP_KIB: u64 = 3 * 1024 * 1024;

fn run_capped(env: &TestEnv, args: &[&str]) -> Output {
    let base = env.cmd();
    let mut cmd = Command::new("bash");
    cmd.arg("-c")
        .arg(format!("ulimit -v {MEMORY_CAP_KIB}; exec \"$0\" \"$@\""))
        .arg(env!("CARGO_BIN_EXE_cargo-wasme"))
        .args(args)
        .stdin(std::process::Stdio::null())
        .env("WASME_READ_TIMEOUT", "5");
    for (k, v) in base.get_envs() {
        match v {
            Some(v) => cmd.env(k, v),
            None => cmd.env_remove(k),
        };
    }
    cmd.output().unwrap()
}

/// One clean failure: not a panic, not a signal, one `error:` line, every needle present.
fn assert_refused(out: &Output, needles: &[&str]) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        !out.status.success(),
        "should have failed; stderr:\n{stderr}"
    );
    assert_ne!(out.status.code(), Some(101), "panicked:\n{stderr}");
    assert!(out.status.code().is_some(), "killed: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
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

// ---- tar and gzip written by hand: the crates refuse to write most of these ----

/// One tar header block (ustar) with the raw `name` bytes, type `kind`, `size`, and `link`.
fn header(name: &[u8], kind: u8, size: u64, link: &[u8]) -> Vec<u8> {
    let mut h = tar::Header::new_ustar();
    h.as_old_mut().name[..name.len()].copy_from_slice(name);
    h.as_old_mut().linkname[..link.len()].copy_from_slice(link);
    h.set_size(size);
    h.set_mode(0o644);
    h.set_mtime(0);
    // Raw, so the old-style '\0' regular type stays '\0'.
    h.as_old_mut().linkflag = [kind];
    h.set_cksum();
    h.as_bytes().to_vec()
}

/// A tar entry: header, data, padding to 512 bytes.
fn entry(name: &str, kind: u8, data: &[u8]) -> Vec<u8> {
    entry_with_link(name, kind, data, "")
}

fn entry_with_link(name: &str, kind: u8, data: &[u8], link: &str) -> Vec<u8> {
    let mut out = header(name.as_bytes(), kind, data.len() as u64, link.as_bytes());
    out.extend_from_slice(data);
    out.resize(out.len().div_ceil(512) * 512, 0);
    out
}

/// A PAX extended header (`x`) with `records` (key, value) for the entry after it.
fn pax(records: &[(&str, &str)]) -> Vec<u8> {
    let mut body = String::new();
    for (k, v) in records {
        let rest = format!(" {k}={v}\n");
        // The length counts its own digits.
        let mut n = rest.len() + 1;
        while format!("{n}{rest}").len() != n {
            n += 1;
        }
        body.push_str(&format!("{n}{rest}"));
    }
    entry("PaxHeader", b'x', body.as_bytes())
}

/// Entries followed by the end-of-archive marker (two zero blocks).
fn tar_of(entries: &[Vec<u8>]) -> Vec<u8> {
    let mut out: Vec<u8> = entries.concat();
    out.extend_from_slice(&[0; 1024]);
    out
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(data).unwrap();
    enc.finish().unwrap()
}

/// Two modules the readers could pick between.
fn module_a() -> Vec<u8> {
    filter_module(1)
}
fn module_b() -> Vec<u8> {
    filter_module(2)
}

// ---- images ----

fn oci_config() -> Vec<u8> {
    br#"{"architecture":"wasm","os":"wasip1","rootfs":{"type":"layers","diff_ids":[]}}"#.to_vec()
}

/// An image of `layers` (media type, bytes) with `config` (media type, bytes) under a
/// manifest of `manifest_type`.
fn image_of(
    manifest_type: &str,
    config: (&str, Vec<u8>),
    layers: Vec<(&str, Vec<u8>)>,
) -> BuiltImage {
    let mut blobs = BTreeMap::new();
    let config_d = Descriptor::of(config.0, &config.1);
    blobs.insert(config_d.digest.clone(), config.1);
    let mut layer_ds = Vec::new();
    for (mt, data) in layers {
        let d = Descriptor::of(mt, &data);
        blobs.insert(d.digest.clone(), data);
        layer_ds.push(d);
    }
    let manifest = Manifest {
        schema_version: 2,
        media_type: Some(manifest_type.to_string()),
        artifact_type: None,
        config: config_d,
        layers: layer_ds,
        annotations: BTreeMap::new(),
    };
    let bytes = serde_json::to_vec(&manifest).unwrap();
    BuiltImage {
        digest: Digest::of(&bytes),
        media_type: manifest_type.to_string(),
        manifest: bytes,
        blobs,
    }
}

/// A compat image (OCI manifest, OCI config) whose one layer is `layer_gzip`.
fn compat_with(layer_gzip: Vec<u8>) -> BuiltImage {
    image_of(
        image::OCI_MANIFEST,
        (image::OCI_CONFIG, oci_config()),
        vec![(image::OCI_LAYER_GZIP, layer_gzip)],
    )
}

/// Serves `image` (with its own manifest media type) on a loopback registry.
fn serve(image: BuiltImage) -> Hostile {
    Hostile::start_with(image, |req, served| {
        req.path
            .contains("/manifests/")
            .then(|| Reply::ok(&served.image.media_type, served.image.manifest.clone()))
    })
}

/// `pull` of `image` from a loopback registry must fail naming `needles`, the store unchanged.
fn pull_refused(image: BuiltImage, needles: &[&str]) -> String {
    let server = serve(image);
    let env = TestEnv::new();
    cargo_wasme::store::Store::open(env.store()).unwrap();
    let before = snapshot(&env.store());
    let reference = format!("{}/hostile/layer:1", server.addr);
    let out = run_capped(&env, &["pull", &reference]);
    let stderr = assert_refused(&out, needles);
    assert_eq!(
        snapshot(&env.store()),
        before,
        "a refused pull left something in the store:\n{stderr}"
    );
    stderr
}

/// `pull` of `image` must succeed and store module `expected`.
fn pull_accepted(image: BuiltImage, expected: &[u8]) {
    let server = serve(image);
    let env = TestEnv::new();
    let reference = format!("{}/hostile/layer:1", server.addr);
    let out = run_capped(&env, &["pull", &reference]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let path = env.dir.path().join("out.wasm");
    env.ok(&["export", &reference, "-o", path.to_str().unwrap()]);
    assert_eq!(std::fs::read(&path).unwrap(), expected);
}

#[test]
fn the_layers_that_every_reader_reads_alike_are_accepted() {
    // Without these, every refusal below could be a reader that refuses everything.
    // `tar -C dir .`: a `./` directory entry, then `./plugin.wasm`.
    let layer = tar_of(&[
        entry("./", b'5', b""),
        entry("./plugin.wasm", b'0', &module_a()),
    ]);
    pull_accepted(compat_with(gzip(&layer)), &module_a());
    // Higress-style: other files beside the module, the module in a directory, an old-style
    // (V7 '\0') regular-file type, a PAX header with one path record.
    let layer = tar_of(&[
        entry("README.md", b'0', b"# filter\n"),
        pax(&[("path", "dist/plugin.wasm"), ("mtime", "0")]),
        entry("dist/plugin.wasm", b'\0', &module_b()),
    ]);
    pull_accepted(compat_with(gzip(&layer)), &module_b());
}

#[test]
fn two_plugin_wasm_entries_are_refused() {
    // Istio takes the first, wasme took the last: the issue's case.
    let layer = tar_of(&[
        entry("plugin.wasm", b'0', &module_a()),
        entry("plugin.wasm", b'0', &module_b()),
    ]);
    pull_refused(
        compat_with(gzip(&layer)),
        &["ambiguous", "more than one `plugin.wasm`"],
    );
    // Even two identical copies: a reader could still pick either, and nobody needs two.
    let layer = tar_of(&[
        entry("plugin.wasm", b'0', &module_a()),
        entry("plugin.wasm", b'0', &module_a()),
    ]);
    pull_refused(compat_with(gzip(&layer)), &["more than one `plugin.wasm`"]);
}

#[test]
fn plugin_wasm_under_other_spellings_counts_as_the_same_entry() {
    // Istio matches `filepath.Base(name) == "plugin.wasm"`: all of these are plugin.wasm.
    for (first, second) in [
        ("./plugin.wasm", "plugin.wasm"),
        ("plugin.wasm", "./plugin.wasm"),
        ("a/plugin.wasm", "plugin.wasm"),
        ("plugin.wasm", "/b/plugin.wasm"),
        ("a/b/plugin.wasm", "c//plugin.wasm"),
    ] {
        let layer = tar_of(&[
            entry(first, b'0', &module_a()),
            entry(second, b'0', &module_b()),
        ]);
        let stderr = pull_refused(
            compat_with(gzip(&layer)),
            &["ambiguous", "more than one `plugin.wasm`"],
        );
        assert!(stderr.contains(second), "names the second entry: {stderr}");
    }
}

#[test]
fn links_and_other_non_files_named_plugin_wasm_are_refused() {
    // Go's reader reads no data for these; a reader following the link would read module A.
    for (kind, what) in [
        (b'2', "symbolic link"),
        (b'1', "hard link"),
        (b'3', "device"),
        (b'6', "fifo"),
        (b'7', "contiguous file"),
        (b'A', "special entry"),
    ] {
        let layer = tar_of(&[
            entry("real.wasm", b'0', &module_a()),
            entry_with_link("plugin.wasm", kind, b"", "real.wasm"),
        ]);
        pull_refused(compat_with(gzip(&layer)), &["ambiguous", what]);
    }
    // A link first, the file second: Istio would stop at the link (and fail), a reader
    // skipping links would run the file.
    let layer = tar_of(&[
        entry_with_link("plugin.wasm", b'2', b"", "real.wasm"),
        entry("real.wasm", b'0', &module_a()),
        entry("x/plugin.wasm", b'0', &module_b()),
    ]);
    pull_refused(compat_with(gzip(&layer)), &["symbolic link"]);
    // A directory named plugin.wasm: filepath.Base drops the trailing slash.
    let layer = tar_of(&[
        entry("plugin.wasm/", b'5', b""),
        entry("plugin.wasm/plugin.wasm", b'0', &module_a()),
    ]);
    pull_refused(compat_with(gzip(&layer)), &["names a directory"]);
}

#[test]
fn names_the_readers_split_on_are_refused() {
    // Rust's Path::file_name reads `plugin.wasm/.` as plugin.wasm, Go's filepath.Base as `.`.
    let layer = tar_of(&[
        entry("plugin.wasm/.", b'0', &module_b()),
        entry("other.bin", b'0', b"x"),
    ]);
    pull_refused(
        compat_with(gzip(&layer)),
        &[
            "ambiguous",
            "`plugin.wasm/.`",
            "one tar reader and not to another",
        ],
    );
}

#[test]
fn pax_headers_the_readers_apply_differently_are_refused() {
    // A repeated key: Go's map keeps the last `path`, Rust's reader the first.
    let layer = tar_of(&[
        pax(&[("path", "other.bin"), ("path", "plugin.wasm")]),
        entry("x", b'0', &module_b()),
        entry("plugin.wasm", b'0', &module_a()),
    ]);
    pull_refused(compat_with(gzip(&layer)), &["ambiguous", "repeats `path`"]);
    // GNU sparse records: Go renames the entry by GNU.sparse.name, Rust does not.
    let layer = tar_of(&[
        pax(&[
            ("GNU.sparse.major", "1"),
            ("GNU.sparse.minor", "0"),
            ("GNU.sparse.name", "plugin.wasm"),
        ]),
        entry("GNUSparseFile.0/x", b'0', &module_b()),
        entry("plugin.wasm", b'0', &module_a()),
    ]);
    pull_refused(compat_with(gzip(&layer)), &["ambiguous", "GNU sparse"]);
    // A global header: GNU tar applies it to every later entry, Go's reader to none.
    let layer = tar_of(&[
        entry("pax_global_header", b'g', b"20 path=plugin.wasm\n"),
        entry("plugin.wasm", b'0', &module_a()),
    ]);
    pull_refused(
        compat_with(gzip(&layer)),
        &["ambiguous", "extension header"],
    );
}

#[test]
fn entries_hidden_after_the_end_of_the_archive_are_refused() {
    // A reader that skips zero blocks (GNU tar -i) finds the second module.
    let mut layer = tar_of(&[entry("plugin.wasm", b'0', &module_a())]);
    layer.extend(tar_of(&[entry("plugin.wasm", b'0', &module_b())]));
    pull_refused(
        compat_with(gzip(&layer)),
        &["ambiguous", "follows the tar archive's end marker"],
    );
    // A second gzip member: Go's gzip reader reads it (multistream), a single-member reader
    // stops before it.
    let mut layer = gzip(&[entry("plugin.wasm", b'0', &module_a())].concat());
    layer.extend(gzip(&tar_of(&[entry("plugin.wasm", b'0', &module_b())])));
    pull_refused(layer_image(layer), &["more than one `plugin.wasm`"]);
}

fn layer_image(layer_gzip: Vec<u8>) -> BuiltImage {
    compat_with(layer_gzip)
}

#[test]
fn manifests_two_layouts_match_are_refused() {
    let compat_layer = gzip(&tar_of(&[entry("plugin.wasm", b'0', &module_a())]));
    // Solo module layer + compat last layer: Istio runs the compat module, wasme ran solo's.
    pull_refused(
        image_of(
            image::OCI_MANIFEST,
            (image::OCI_CONFIG, oci_config()),
            vec![
                (image::SOLO_LAYER, module_b()),
                (image::OCI_LAYER_GZIP, compat_layer.clone()),
            ],
        ),
        &["ambiguous", "compat and solo"],
    );
    // A Docker manifest with a solo layer: Istio reads it only as Docker.
    pull_refused(
        image_of(
            image::DOCKER_MANIFEST,
            (image::DOCKER_CONFIG, oci_config()),
            vec![
                (image::SOLO_LAYER, module_b()),
                (image::DOCKER_LAYER_GZIP, compat_layer.clone()),
            ],
        ),
        &["ambiguous", "docker and solo"],
    );
    // A CNCF config over a compat layer: a CNCF runtime and Istio would differ.
    pull_refused(
        image_of(
            image::OCI_MANIFEST,
            (image::CNCF_CONFIG, b"{}".to_vec()),
            vec![
                (image::CNCF_LAYER, module_b()),
                (image::OCI_LAYER_GZIP, compat_layer.clone()),
            ],
        ),
        &["ambiguous", "compat and cncf"],
    );
    // Two solo module layers: Istio takes the first.
    pull_refused(
        image_of(
            image::OCI_MANIFEST,
            (image::SOLO_CONFIG, b"{}".to_vec()),
            vec![
                (image::SOLO_LAYER, module_a()),
                (image::SOLO_LAYER, module_b()),
            ],
        ),
        &["ambiguous", "more than one"],
    );
    // A Docker manifest whose last layer has the OCI type: Istio's agent cannot read it.
    pull_refused(
        image_of(
            image::DOCKER_MANIFEST,
            (image::DOCKER_CONFIG, oci_config()),
            vec![(image::OCI_LAYER_GZIP, compat_layer)],
        ),
        &["must be `application/vnd.docker.image.rootfs.diff.tar.gzip`"],
    );
}

/// Gzip members of 1 MiB of zeros each, as a tar entry `junk-N` per member: a small layer
/// that unpacks to `mib` MiB.
fn bomb(mib: usize) -> Vec<u8> {
    let member = gzip(&entry("junk", b'0', &vec![0u8; (1 << 20) - 512]));
    let mut out = Vec::new();
    for _ in 0..mib {
        out.extend_from_slice(&member);
    }
    out.extend(gzip(&tar_of(&[entry("plugin.wasm", b'0', &module_a())])));
    out
}

#[test]
fn a_layer_that_unpacks_past_the_limit_is_refused_in_bounded_time() {
    // 300 MiB of small entries in a ~300 KiB layer: refused at the 272 MiB cap.
    let layer = bomb(300);
    assert!(layer.len() < 2 << 20, "{}", layer.len());
    let started = Instant::now();
    pull_refused(
        compat_with(layer),
        &["unpacks to more than 285212672 bytes"],
    );
    eprintln!("refused the 300 MiB bomb in {:?}", started.elapsed());
    // One entry declaring 60 GiB (the issue's case): refused at its header, nothing inflated.
    let mut junk = gzip(&header(b"junk", b'0', 60 << 30, b""));
    junk.extend(gzip(&vec![0u8; 4 << 20]));
    let started = Instant::now();
    pull_refused(compat_with(junk), &["unpacks to more than"]);
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "{:?}",
        started.elapsed()
    );
}

/// Writes `image` straight into the env's store under `name` (as another tool, or an older
/// wasme, would have), bypassing every check.
fn plant(env: &TestEnv, name: &str, image: &BuiltImage) {
    let store = cargo_wasme::store::Store::open(env.store()).unwrap();
    let blobs = store.root().join("blobs/sha256");
    for (d, data) in &image.blobs {
        std::fs::write(blobs.join(d.hex()), data).unwrap();
    }
    std::fs::write(blobs.join(image.digest.hex()), &image.manifest).unwrap();
    let index = serde_json::json!({
        "schemaVersion": 2,
        "manifests": [{
            "mediaType": image.media_type,
            "digest": image.digest.to_string(),
            "size": image.manifest.len(),
            "annotations": {"org.opencontainers.image.ref.name": name},
        }],
    });
    std::fs::write(
        store.root().join("index.json"),
        serde_json::to_vec(&index).unwrap(),
    )
    .unwrap();
}

#[test]
fn an_ambiguous_image_already_in_the_store_is_refused_by_every_local_reader() {
    let env = TestEnv::new();
    let layer = tar_of(&[
        entry("plugin.wasm", b'0', &module_a()),
        entry("plugin.wasm", b'0', &module_b()),
    ]);
    plant(
        &env,
        "docker.io/library/planted:1",
        &compat_with(gzip(&layer)),
    );
    let out_path = env.dir.path().join("m.wasm");
    for args in [
        vec!["inspect", "planted:1"],
        vec!["export", "planted:1", "-o", out_path.to_str().unwrap()],
        vec!["run", "planted:1"],
    ] {
        let out = run_capped(&env, &args);
        assert_refused(&out, &["ambiguous", "more than one `plugin.wasm`"]);
    }
    assert!(!out_path.exists(), "export wrote a module");
}

#[test]
fn a_scenario_larger_than_the_input_cap_is_refused_before_parsing() {
    let env = TestEnv::new();
    let wasm = env.write_module("f.wasm", &filter_module(3));
    let path = env.dir.path().join("big.yaml");
    let mut file = std::fs::File::create(&path).unwrap();
    writeln!(
        file,
        "module: {}\nsteps:\n  - request:\n      path: /\n      body: \"",
        wasm.display()
    )
    .unwrap();
    // A 1 GiB body, as in the issue, written sparsely: the file is mostly a hole.
    file.set_len(1 << 30).unwrap();
    drop(file);
    let started = Instant::now();
    let out = run_capped(&env, &["test", path.to_str().unwrap()]);
    assert_refused(&out, &["larger than 64 MiB"]);
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "{:?}",
        started.elapsed()
    );
}
