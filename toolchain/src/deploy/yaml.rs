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
    /// 1-based line of its source where `text` starts (0: it has no source text of its own,
    /// e.g. an item of a KRM `ResourceList`).
    pub line: usize,
    /// Its text, without the `---` line that introduced it.
    pub text: String,
    /// Its parsed value (a mapping).
    pub value: serde_norway::Value,
}

/// The deepest nesting of collections accepted in a YAML or JSON input (serde_json's own
/// limit). Kubernetes resources, scenarios and requests are a few levels deep.
pub const MAX_DEPTH: usize = 128;

/// The most YAML `render` reads in one run (all files and stdin together): 32 MiB, twenty
/// times the largest object etcd stores (1.5 MiB) times a generous folder. Parsing costs
/// about 8 bytes of memory per input byte, so this bounds `render` near 300 MB.
pub const MAX_INPUT_BYTES: u64 = 32 * 1024 * 1024;

/// Reads at most `budget` bytes of UTF-8 text from `reader` (`source` names it in errors) and
/// takes what was read from `budget`; more is an error, read no further than one byte past.
pub fn read_capped(
    reader: impl std::io::Read,
    source: &str,
    budget: &mut u64,
) -> Result<String, DeployError> {
    use std::io::Read as _;
    let too_big = || DeployError::InvalidDocument {
        source_name: source.to_owned(),
        index: 1,
        reason: format!(
            "the input is larger than {} MiB, the most `render` reads in one run (all inputs \
             together); split it and render the parts separately",
            MAX_INPUT_BYTES / (1024 * 1024)
        ),
    };
    let mut bytes = Vec::new();
    reader
        .take(budget.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|e| DeployError::InvalidDocument {
            source_name: source.to_owned(),
            index: 1,
            reason: format!("cannot read it: {e}"),
        })?;
    let len = bytes.len() as u64;
    if len > *budget {
        return Err(too_big());
    }
    *budget -= len;
    String::from_utf8(bytes).map_err(|e| DeployError::InvalidDocument {
        source_name: source.to_owned(),
        index: 1,
        reason: format!("it is not UTF-8 text: {e}"),
    })
}

/// Input nested deeper than [`MAX_DEPTH`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "collections are nested more than {max} levels deep; refusing to parse it (no real \
     resource, scenario or request is nested that deep)"
)]
pub struct TooDeep {
    /// 1-based line where the limit was passed.
    pub line: usize,
    /// The limit.
    pub max: usize,
}

/// Checks, in one linear pass and before any parser sees it, that YAML (or JSON) `text` nests
/// collections at most `max` levels deep. The YAML parser takes quadratic time on deep
/// nesting (100k levels: a minute), so the depth must be known before parsing.
///
/// The count is conservative: flow brackets outside quotes and comments, plus one level per
/// increase of block indentation and per `- ` sequence entry on a line; block scalars (`|`,
/// `>`) are skipped. It can only over-count, never under-count, real nesting.
///
/// ```
/// use cargo_wasme::deploy::yaml::check_depth;
/// assert!(check_depth("a:\n  b: [1, {c: d}]\n", 128).is_ok());
/// assert!(check_depth(&"[".repeat(200), 128).is_err());
/// let deep: String = (0..200).map(|i| format!("{}k:\n", " ".repeat(i))).collect();
/// assert_eq!(check_depth(&deep, 128).unwrap_err().line, 129);
/// ```
pub fn check_depth(text: &str, max: usize) -> Result<(), TooDeep> {
    // Indentation columns of the open block collections.
    let mut indents: Vec<usize> = Vec::new();
    let mut flow = 0usize;
    let mut quote: Option<char> = None;
    // While inside a block scalar: the indentation of the line that opened it.
    let mut block_scalar: Option<usize> = None;
    for (number, line) in text.lines().enumerate() {
        let line_no = number + 1;
        let indent = line.len() - line.trim_start_matches(' ').len();
        let content = line.trim();
        if let Some(parent) = block_scalar {
            if content.is_empty() || indent > parent {
                continue;
            }
            block_scalar = None;
        }
        if quote.is_none() && flow == 0 {
            if content.is_empty() || content.starts_with('#') {
                continue;
            }
            if content.starts_with("---") || content.starts_with("...") {
                indents.clear();
                continue;
            }
            while indents.last().is_some_and(|&i| i >= indent) {
                indents.pop();
            }
            indents.push(indent);
            // `- - - x`: each entry indicator opens a sequence on the same line.
            let mut rest = content;
            let mut column = indent;
            while let Some(r) = rest.strip_prefix('-').filter(|r| r.starts_with(' ')) {
                let next = r.trim_start_matches(' ');
                column += rest.len() - next.len();
                indents.push(column);
                rest = next;
            }
            if indents.len() + flow > max {
                return Err(TooDeep { line: line_no, max });
            }
        }
        let mut previous = ' ';
        let mut chars = line.chars().peekable();
        while let Some(c) = chars.next() {
            match quote {
                Some('"') => match c {
                    '\\' => {
                        chars.next();
                    }
                    '"' => quote = None,
                    _ => {}
                },
                Some(_) => {
                    if c == '\'' {
                        if chars.peek() == Some(&'\'') {
                            chars.next();
                        } else {
                            quote = None;
                        }
                    }
                }
                None => match c {
                    '#' if previous == ' ' || previous == '\t' => break,
                    '"' | '\'' if matches!(previous, ' ' | '\t' | '[' | '{' | ',' | ':' | '-') => {
                        quote = Some(c)
                    }
                    '[' | '{' => {
                        flow += 1;
                        if indents.len() + flow > max {
                            return Err(TooDeep { line: line_no, max });
                        }
                    }
                    ']' | '}' => flow = flow.saturating_sub(1),
                    _ => {}
                },
            }
            previous = c;
        }
        if quote.is_none() && flow == 0 {
            let last = content.rsplit([' ', '\t']).next().unwrap_or("");
            if last.len() <= 4
                && last.starts_with(['|', '>'])
                && last[1..]
                    .chars()
                    .all(|c| matches!(c, '-' | '+' | '1'..='9'))
            {
                block_scalar = Some(indent);
            }
        }
    }
    Ok(())
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
    // Each chunk with the 1-based source line its text starts on.
    let mut chunks: Vec<(usize, String)> = vec![(1, String::new())];
    for (number, line) in text.split_inclusive('\n').enumerate() {
        let number = number + 1;
        if is_document_start(line) {
            let rest = line[3..].trim_start_matches([' ', '\t']);
            let mut chunk = String::new();
            let mut first = number + 1;
            if !rest.trim().is_empty() && !rest.trim_start().starts_with('#') {
                chunk.push_str(rest);
                first = number;
            }
            chunks.push((first, chunk));
        } else if is_document_end(line) {
            chunks.push((number + 1, String::new()));
        } else if let Some((_, last)) = chunks.last_mut() {
            last.push_str(line);
        }
    }
    if let Err(e) = check_depth(text, MAX_DEPTH) {
        return Err(DeployError::Located {
            file: source.to_owned(),
            line: e.line,
            column: 1,
            message: e.to_string(),
        });
    }
    let mut docs = Vec::new();
    for (line, chunk) in chunks {
        let index = docs.len() + 1;
        let invalid = |reason: String| DeployError::InvalidDocument {
            source_name: source.to_owned(),
            index,
            reason,
        };
        let value: serde_norway::Value =
            serde_norway::from_str(&chunk).map_err(|e| match located(line, &e) {
                Some((line, column, message)) => DeployError::Located {
                    file: source.to_owned(),
                    line,
                    column,
                    message: format!("not valid YAML: {message}"),
                },
                None => invalid(format!("not valid YAML: {e}")),
            })?;
        match value {
            serde_norway::Value::Null => {}
            serde_norway::Value::Mapping(_) => docs.push(Document {
                source: source.to_owned(),
                index,
                line,
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

/// Where in its source `error` (from parsing a document whose text starts at line `first_line`)
/// points, as (line, column, message without serde_norway's own " at line L column C"
/// suffix). `None` when the error has no location or the text has no source lines
/// (`first_line` 0).
pub fn located(first_line: usize, error: &serde_norway::Error) -> Option<(usize, usize, String)> {
    let location = error.location()?;
    if first_line == 0 {
        return None;
    }
    let mut message = error.to_string();
    let suffix = format!(" at line {} column {}", location.line(), location.column());
    if let Some(stripped) = message.strip_suffix(&suffix) {
        message = stripped.to_owned();
    }
    Some((first_line + location.line() - 1, location.column(), message))
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
