//! Wire formats: header-map pairs and property paths (`proxy-wasm-host.md` §3).

/// Envoy refuses maps with more pairs than this (treated as empty).
pub const MAX_PAIRS: usize = 1024;
/// Envoy refuses serialized maps larger than this (treated as empty).
pub const MAX_MAP_BYTES: usize = 1 << 20;

/// One header (or metadata) entry: key and value.
pub type Pair = (String, String);

/// Serializes a header map: `u32 count`, `count × (u32 key_len, u32 value_len)`, then
/// `key\0value\0` for each pair, all little-endian.
pub fn encode_pairs(pairs: &[Pair]) -> Vec<u8> {
    let size = 4 + pairs
        .iter()
        .map(|(k, v)| 8 + k.len() + v.len() + 2)
        .sum::<usize>();
    let mut out = Vec::with_capacity(size);
    out.extend_from_slice(&(pairs.len() as u32).to_le_bytes());
    for (k, v) in pairs {
        out.extend_from_slice(&(k.len() as u32).to_le_bytes());
        out.extend_from_slice(&(v.len() as u32).to_le_bytes());
    }
    for (k, v) in pairs {
        out.extend_from_slice(k.as_bytes());
        out.push(0);
        out.extend_from_slice(v.as_bytes());
        out.push(0);
    }
    out
}

/// Parses a serialized header map. `None` when malformed (short, missing NULs, trailing bytes,
/// over [`MAX_PAIRS`] pairs or [`MAX_MAP_BYTES`] bytes): Envoy then uses an empty map. An empty
/// input is the empty map. Non-UTF-8 bytes are replaced (headers are text in Envoy's API).
pub fn decode_pairs(data: &[u8]) -> Option<Vec<Pair>> {
    if data.is_empty() {
        return Some(Vec::new());
    }
    if data.len() > MAX_MAP_BYTES || data.len() < 4 {
        return None;
    }
    let count = u32::from_le_bytes(data[0..4].try_into().ok()?) as usize;
    if count > MAX_PAIRS {
        return None;
    }
    let mut sizes_end = 4usize.checked_add(count.checked_mul(8)?)?;
    if sizes_end > data.len() {
        return None;
    }
    let mut pairs = Vec::with_capacity(count);
    let mut pos = sizes_end;
    for i in 0..count {
        let at = 4 + i * 8;
        let klen = u32::from_le_bytes(data[at..at + 4].try_into().ok()?) as usize;
        let vlen = u32::from_le_bytes(data[at + 4..at + 8].try_into().ok()?) as usize;
        let key = take_nul_terminated(data, &mut pos, klen)?;
        let value = take_nul_terminated(data, &mut pos, vlen)?;
        pairs.push((key, value));
    }
    sizes_end = pos;
    (sizes_end == data.len()).then_some(pairs)
}

fn take_nul_terminated(data: &[u8], pos: &mut usize, len: usize) -> Option<String> {
    let end = pos.checked_add(len)?;
    if end >= data.len() || data[end] != 0 {
        return None;
    }
    let s = String::from_utf8_lossy(&data[*pos..end]).into_owned();
    *pos = end + 1;
    Some(s)
}

/// Splits a property path (`request\0path`) into its segments.
pub fn split_path(path: &[u8]) -> Vec<String> {
    path.split(|b| *b == 0)
        .map(|s| String::from_utf8_lossy(s).into_owned())
        .collect()
}

/// Joins segments into a property path (no trailing NUL); the inverse of [`split_path`].
#[cfg(test)]
fn join_path<S: AsRef<str>>(segments: &[S]) -> Vec<u8> {
    let mut out = Vec::new();
    for (i, s) in segments.iter().enumerate() {
        if i > 0 {
            out.push(0);
        }
        out.extend_from_slice(s.as_ref().as_bytes());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn golden_map() -> Vec<Pair> {
        [
            (":method", "GET"),
            (":path", "/bytes/1"),
            (":authority", "httpbin.org"),
            ("Powered-By", "proxy-wasm"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
    }

    fn golden_bytes() -> Vec<u8> {
        let words =
            "04000000 07000000 03000000 05000000 08000000 0a000000 0b000000 0a000000 0a000000";
        let mut out = Vec::new();
        for w in words.split(' ') {
            for i in (0..8).step_by(2) {
                out.push(u8::from_str_radix(&w[i..i + 2], 16).unwrap());
            }
        }
        out.extend_from_slice(
            b":method\0GET\0:path\0/bytes/1\0:authority\0httpbin.org\0Powered-By\0proxy-wasm\0",
        );
        out
    }

    #[test]
    fn golden_vector_encodes_and_decodes() {
        assert_eq!(encode_pairs(&golden_map()), golden_bytes());
        assert_eq!(decode_pairs(&golden_bytes()), Some(golden_map()));
    }

    #[test]
    fn empty_and_malformed_maps() {
        assert_eq!(encode_pairs(&[]), vec![0, 0, 0, 0]);
        assert_eq!(decode_pairs(&[]), Some(vec![]));
        assert_eq!(decode_pairs(&[0, 0, 0, 0]), Some(vec![]));
        let mut trailing = golden_bytes();
        trailing.push(b'x');
        assert_eq!(decode_pairs(&trailing), None);
        let mut no_nul = golden_bytes();
        let last = no_nul.len() - 1;
        no_nul[last] = b'x';
        assert_eq!(decode_pairs(&no_nul), None);
        assert_eq!(decode_pairs(&golden_bytes()[..20]), None);
        let mut huge = vec![0u8; 4];
        huge[..4].copy_from_slice(&2000u32.to_le_bytes());
        assert_eq!(decode_pairs(&huge), None);
    }

    #[test]
    fn property_paths() {
        assert_eq!(join_path(&["request", "path"]), b"request\0path".to_vec());
        assert_eq!(split_path(b"request\0path"), vec!["request", "path"]);
    }
}
