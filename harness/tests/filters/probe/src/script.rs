//! The probe's script: parsing and the small encodings its steps need.

/// One step: run `op args` when `callback` is entered (only its `nth` invocation if given).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// The callback name, e.g. `request_headers`.
    pub callback: String,
    /// Only this invocation (1-based, per context) when set.
    pub nth: Option<u32>,
    /// The operation, e.g. `get_header`.
    pub op: String,
    /// The raw (not yet decoded) arguments.
    pub args: Vec<String>,
}

/// A parsed script.
#[derive(Debug, Clone, Default)]
pub struct Script {
    /// The steps in order.
    pub steps: Vec<Step>,
    /// `mode tcp` was given: the plugin is a network filter.
    pub tcp: bool,
}

impl Script {
    /// Parses a script; blank lines and lines starting with `//` are ignored, and a line
    /// that is not understood is reported in the returned list of problems.
    pub fn parse(text: &str) -> (Script, Vec<String>) {
        let mut script = Script::default();
        let mut problems = Vec::new();
        for line in text.lines() {
            let line = line.trim();
            if line.is_empty() || line.starts_with("//") {
                continue;
            }
            let mut words = line.split_whitespace();
            let Some(when) = words.next() else { continue };
            if when == "mode" {
                script.tcp = words.next() == Some("tcp");
                continue;
            }
            let Some(op) = words.next() else {
                problems.push(format!("no operation in {line:?}"));
                continue;
            };
            let (callback, nth) = match when.split_once('#') {
                Some((cb, n)) => match n.parse() {
                    Ok(n) => (cb.to_string(), Some(n)),
                    Err(_) => {
                        problems.push(format!("bad invocation number in {line:?}"));
                        continue;
                    }
                },
                None => (when.to_string(), None),
            };
            script.steps.push(Step {
                callback,
                nth,
                op: op.to_string(),
                args: words.map(str::to_string).collect(),
            });
        }
        (script, problems)
    }

    /// Appends another script's steps.
    pub fn extend(&mut self, other: Script) {
        self.steps.extend(other.steps);
        self.tcp |= other.tcp;
    }
}

/// Decodes `%XX` escapes; `-` alone is the empty string.
pub fn decode(arg: &str) -> Vec<u8> {
    if arg == "-" {
        return Vec::new();
    }
    let bytes = arg.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let digits = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
            if let Ok(b) = u8::from_str_radix(digits, 16) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    out
}

/// Lower-case hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Parses lower- or upper-case hex; `None` if malformed.
pub fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

/// Encodes pairs in the proxy-wasm map format.
pub fn encode_pairs(pairs: &[(Vec<u8>, Vec<u8>)]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&(pairs.len() as u32).to_le_bytes());
    for (k, v) in pairs {
        out.extend_from_slice(&(k.len() as u32).to_le_bytes());
        out.extend_from_slice(&(v.len() as u32).to_le_bytes());
    }
    for (k, v) in pairs {
        out.extend_from_slice(k);
        out.push(0);
        out.extend_from_slice(v);
        out.push(0);
    }
    out
}

/// Decodes the proxy-wasm map format; `None` if malformed.
pub fn decode_pairs(bytes: &[u8]) -> Option<Vec<(Vec<u8>, Vec<u8>)>> {
    if bytes.is_empty() {
        return Some(Vec::new());
    }
    let word = |at: usize| -> Option<usize> {
        let b = bytes.get(at..at + 4)?;
        Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
    };
    let count = word(0)?;
    let mut sizes = Vec::new();
    for i in 0..count {
        sizes.push((word(4 + 8 * i)?, word(8 + 8 * i)?));
    }
    let mut at = 4 + 8 * count;
    let mut pairs = Vec::new();
    for (k, v) in sizes {
        let key = bytes.get(at..at + k)?.to_vec();
        at += k + 1;
        let value = bytes.get(at..at + v)?.to_vec();
        at += v + 1;
        pairs.push((key, value));
    }
    Some(pairs)
}

/// `k=v` arguments (each side `%`-decoded) as pairs.
pub fn kv_args(args: &[String]) -> Vec<(Vec<u8>, Vec<u8>)> {
    args.iter()
        .map(|a| match a.split_once('=') {
            Some((k, v)) => (decode(k), decode(v)),
            None => (decode(a), Vec::new()),
        })
        .collect()
}

/// Renders pairs for a log line: `[("k", "v"), …]`.
pub fn show_pairs(pairs: &[(Vec<u8>, Vec<u8>)]) -> String {
    let shown: Vec<String> = pairs
        .iter()
        .map(|(k, v)| {
            format!(
                "({:?}, {:?})",
                String::from_utf8_lossy(k),
                String::from_utf8_lossy(v)
            )
        })
        .collect();
    format!("[{}]", shown.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_steps_and_mode() {
        let (s, problems) = Script::parse("mode tcp\nrequest_headers#2 get_header req x-a\n\n");
        assert!(problems.is_empty());
        assert!(s.tcp);
        assert_eq!(s.steps[0].callback, "request_headers");
        assert_eq!(s.steps[0].nth, Some(2));
        assert_eq!(s.steps[0].args, vec!["req", "x-a"]);
    }

    #[test]
    fn decodes_escapes_and_pairs() {
        assert_eq!(decode("a%20b"), b"a b");
        assert_eq!(decode("-"), b"");
        assert_eq!(decode("100%"), b"100%");
        let pairs = vec![(b"a".to_vec(), b"bc".to_vec())];
        assert_eq!(decode_pairs(&encode_pairs(&pairs)), Some(pairs));
        assert_eq!(unhex("0aFF"), Some(vec![10, 255]));
    }
}
