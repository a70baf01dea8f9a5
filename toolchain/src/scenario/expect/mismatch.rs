//! One expectation that did not hold, and how it is shown: one line for short values, a
//! unified diff for multi-line ones, then context (e.g. the message's whole header list).

use std::fmt::Write as _;

/// One expectation that did not hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mismatch {
    /// What was checked, e.g. `client.headers["x-demo"]`.
    pub field: String,
    /// What the scenario expected.
    pub expected: String,
    /// What happened.
    pub actual: String,
    /// Extra context (e.g. all headers of the message), already indented text.
    pub context: Option<String>,
}

impl Mismatch {
    pub(super) fn new(
        field: impl Into<String>,
        expected: impl Into<String>,
        actual: impl Into<String>,
    ) -> Self {
        Mismatch {
            field: field.into(),
            expected: expected.into(),
            actual: actual.into(),
            context: None,
        }
    }

    pub(super) fn with_context(mut self, context: String) -> Self {
        self.context = Some(context);
        self
    }

    /// Renders the mismatch for a terminal: one line for short values, a unified diff for
    /// multi-line ones, then the context.
    pub fn render(&self) -> String {
        let mut out = String::new();
        if self.expected.contains('\n') || self.actual.contains('\n') {
            let _ = writeln!(out, "{}: differs (-expected +actual):", self.field);
            let diff = similar::TextDiff::from_lines(&self.expected, &self.actual);
            for change in diff.iter_all_changes() {
                let sign = match change.tag() {
                    similar::ChangeTag::Delete => '-',
                    similar::ChangeTag::Insert => '+',
                    similar::ChangeTag::Equal => ' ',
                };
                let line = change.value();
                let _ = write!(out, "    {sign}{line}");
                if !line.ends_with('\n') {
                    out.push_str("\n    \\ no newline at end\n");
                }
            }
        } else {
            let _ = writeln!(out, "{}:", self.field);
            let _ = writeln!(out, "    expected: {}", self.expected);
            let _ = writeln!(out, "    actual:   {}", self.actual);
        }
        if let Some(c) = &self.context {
            out.push_str(c);
        }
        out
    }
}

/// A body or other bytes as readable text: quoted, as is when multi-line, or as hex.
pub(super) fn quote(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(s) if s.contains('\n') => s.to_string(),
        Ok(s) => format!("{s:?}"),
        Err(_) => format!("{} bytes of binary data: {bytes:02x?}", bytes.len()),
    }
}

/// An indented header list under a title, for a mismatch's context.
pub(super) fn list_headers(title: &str, headers: &[(String, String)]) -> String {
    let mut out = format!("    {title}:\n");
    if headers.is_empty() {
        out.push_str("      (none)\n");
    }
    for (k, v) in headers {
        let _ = writeln!(out, "      {k}: {v}");
    }
    out
}
