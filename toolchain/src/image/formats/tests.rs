//! Unit tests of the image layouts (`formats.rs`).

use super::*;

fn module() -> Vec<u8> {
    wat::parse_str(
        r#"(module (memory (export "memory") 1) (func (export "proxy_abi_version_0_2_1")))"#,
    )
    .unwrap()
}

#[test]
fn every_format_round_trips() {
    for format in [
        Format::Compat,
        Format::Docker,
        Format::Solo,
        Format::Cncf,
        Format::Legacy,
    ] {
        let spec = ImageSpec::new(format, vec!["v0.2.1".into()], vec!["a".into(), "b".into()]);
        let built = build(&module(), &spec).unwrap();
        let decoded = decode(&built.manifest, |d| built.blob(d).map(<[u8]>::to_vec)).unwrap();
        assert_eq!(decoded.format, format);
        assert_eq!(decoded.module, module());
        if format != Format::Legacy || !decoded.runtime_config.abi_versions.is_empty() {
            assert_eq!(decoded.runtime_config.abi_versions, ["v0.2.1"], "{format}");
        }
        if format != Format::Docker && format != Format::Legacy {
            assert_eq!(
                decoded.runtime_config.config.root_ids,
                ["a", "b"],
                "{format}"
            );
        }
    }
}

#[test]
fn compat_costs_under_1kib_over_the_gzip_of_the_module() {
    use std::io::Write as _;
    // Incompressible data is the worst case for the overhead.
    let mut state = 0x9e37_79b9_u32;
    let data: Vec<u8> = (0..256 * 1024)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            state as u8
        })
        .collect();
    let mut module = module();
    module.extend_from_slice(&[0, 0x83, 0x80, 0x10, 1, b'x']); // custom section "x"
    module.extend_from_slice(&data);
    let spec = ImageSpec::new(
        Format::Compat,
        vec!["v0.2.1".into()],
        vec!["add_header".into()],
    );
    let built = build(&module, &spec).unwrap();
    let total = built.manifest.len() + built.blobs.values().map(Vec::len).sum::<usize>();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(9));
    gz.write_all(&module).unwrap();
    let gzip = gz.finish().unwrap().len();
    eprintln!(
        "compat image {total} B, gzip(module) {gzip} B, overhead {} B",
        total - gzip
    );
    assert!(
        total < gzip + 1024,
        "image {total} B, gzip {gzip} B: overhead {} B",
        total - gzip
    );
}

#[test]
fn every_format_but_legacy_records_the_config_schema_in_its_config_blob() {
    let schema = serde_json::json!({"type": "object", "properties": {"n": {"type": "integer"}}});
    for format in [Format::Compat, Format::Docker, Format::Solo, Format::Cncf] {
        let mut spec = ImageSpec::new(format, vec!["v0.2.1".into()], vec!["a".into()]);
        let without = build(&module(), &spec).unwrap();
        spec.config_schema = Some(schema.clone());
        let built = build(&module(), &spec).unwrap();
        assert_ne!(
            built.digest, without.digest,
            "{format}: the digest covers the schema"
        );
        let decoded = decode(&built.manifest, |d| built.blob(d).map(<[u8]>::to_vec)).unwrap();
        assert_eq!(decoded.config_schema.as_ref(), Some(&schema), "{format}");
        let manifest = Manifest::parse(&built.manifest).unwrap();
        let config = built.blob(&manifest.config).unwrap();
        assert_eq!(
            super::super::config_schema(format, config).unwrap(),
            Some(schema.clone()),
            "{format}"
        );
        // The layers the fetchers of Istio, Envoy Gateway and Higress read are unchanged.
        let old = Manifest::parse(&without.manifest).unwrap();
        let module_layer = |m: &Manifest| m.layers.last().map(|l| l.digest.clone());
        assert_eq!(module_layer(&manifest), module_layer(&old), "{format}");
        assert_eq!(
            build(&module(), &spec).unwrap(),
            built,
            "{format}: reproducible"
        );
        let plain = decode(&without.manifest, |d| without.blob(d).map(<[u8]>::to_vec)).unwrap();
        assert_eq!(plain.config_schema, None);
    }
}

#[test]
fn docker_keeps_metadata_in_the_layer() {
    let spec = ImageSpec::new(Format::Docker, vec!["v0.2.1".into()], vec!["r".into()]);
    let built = build(&module(), &spec).unwrap();
    let decoded = decode(&built.manifest, |d| built.blob(d).map(<[u8]>::to_vec)).unwrap();
    assert_eq!(decoded.runtime_config.config.root_ids, ["r"]);
}

#[test]
fn created_changes_the_digest_and_is_rfc3339() {
    let mut spec = ImageSpec::new(Format::Compat, vec![], vec![]);
    let a = build(&module(), &spec).unwrap();
    spec.created = Some(1_700_000_000);
    let b = build(&module(), &spec).unwrap();
    assert_ne!(a.digest, b.digest);
    assert_eq!(rfc3339(1_700_000_000), "2023-11-14T22:13:20Z");
    assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
}

#[test]
fn refuses_non_wasm_and_indexes() {
    let spec = ImageSpec::new(Format::Compat, vec![], vec![]);
    assert!(matches!(build(b"hello", &spec), Err(ImageError::NotWasm)));
    let index = br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]}"#;
    assert!(matches!(decode(index, |_| None), Err(ImageError::Index(_))));
    let other = format!(
        r#"{{"schemaVersion":2,"config":{{"mediaType":"x","digest":"sha256:{}","size":1}},"layers":[{{"mediaType":"y","digest":"sha256:{}","size":1}}]}}"#,
        "0".repeat(64),
        "1".repeat(64)
    );
    assert!(matches!(
        decode(other.as_bytes(), |_| None),
        Err(ImageError::UnknownFormat { .. })
    ));
}
