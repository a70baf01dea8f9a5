//! Multi-document YAML streams in and out (`serde_norway`, the maintained `serde_yaml` fork).
//!
//! Documents are kept with their original text, so `render` can pass resources it does not
//! touch through byte for byte (comments and formatting included), and parsed into
//! order-preserving `serde_norway::Value`s for the ones it reads or patches.

use super::DeployError;
use serde::Serialize;

/// One document of a YAML stream.
#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    /// Where it came from (a file name, or `-` for stdin).
    pub source: String,
    /// 1-based position in its source.
    pub index: usize,
    /// Its text, without the `---` line that introduced it.
    pub text: String,
    /// Its parsed value (a mapping).
    pub value: serde_norway::Value,
}

/// Whether `line` starts a new document (`---` alone or followed by a space or comment).
fn is_document_start(line: &str) -> bool {
    line.strip_prefix("---")
        .is_some_and(|rest| rest.is_empty() || rest.starts_with([' ', '\t', '#', '\r', '\n']))
}

fn is_document_end(line: &str) -> bool {
    line.trim_end() == "..."
}

/// Splits a YAML stream into its documents and parses each. Empty documents (a stray `---`,
/// comments only) are dropped; a document that is not a mapping is an error.
///
/// Splitting on `---` lines is done by hand because `serde_norway` does not expose document
/// spans; a line that is exactly `---` (or `--- …`) at column 0 can only be a document marker
/// in a stream of Kubernetes resources (block scalars are indented under their key).
pub fn parse_stream(source: &str, text: &str) -> Result<Vec<Document>, DeployError> {
    let mut chunks: Vec<String> = vec![String::new()];
    for line in text.split_inclusive('\n') {
        if is_document_start(line) {
            let rest = line[3..].trim_start_matches([' ', '\t']);
            let mut chunk = String::new();
            if !rest.trim().is_empty() && !rest.trim_start().starts_with('#') {
                chunk.push_str(rest);
            }
            chunks.push(chunk);
        } else if is_document_end(line) {
            chunks.push(String::new());
        } else if let Some(last) = chunks.last_mut() {
            last.push_str(line);
        }
    }
    let mut docs = Vec::new();
    for chunk in chunks {
        let index = docs.len() + 1;
        let invalid = |reason: String| DeployError::InvalidDocument {
            source_name: source.to_owned(),
            index,
            reason,
        };
        let value: serde_norway::Value =
            serde_norway::from_str(&chunk).map_err(|e| invalid(format!("not valid YAML: {e}")))?;
        match value {
            serde_norway::Value::Null => {}
            serde_norway::Value::Mapping(_) => docs.push(Document {
                source: source.to_owned(),
                index,
                text: chunk,
                value,
            }),
            _ => {
                return Err(invalid(
                    "expected a Kubernetes resource (a mapping of apiVersion, kind, metadata, …)"
                        .into(),
                ));
            }
        }
    }
    Ok(docs)
}

/// Serialises one document as YAML.
pub fn to_yaml<T: Serialize>(value: &T) -> Result<String, DeployError> {
    serde_norway::to_string(value).map_err(|e| DeployError::Serialize(e.to_string()))
}

/// Serialises documents as a YAML stream: each starts with `---`.
pub fn to_stream<T: Serialize>(docs: &[T]) -> Result<String, DeployError> {
    let mut out = String::new();
    for doc in docs {
        out.push_str("---\n");
        out.push_str(&to_yaml(doc)?);
    }
    Ok(out)
}
