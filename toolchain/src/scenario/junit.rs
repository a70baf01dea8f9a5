//! JUnit XML reports (the format CI systems such as GitLab, Jenkins and GitHub test reporters
//! read): one `<testsuite>` per scenario file, one `<testcase>` per step.
//!
//! The document is small and fixed in shape, so it is written directly; only text escaping
//! needs care ([`escape`]), and no XML crate is needed for that.

use super::exec::{ScenarioReport, StepOutcome};
use std::fmt::Write as _;

/// Escapes text for XML attribute values and character data; drops characters XML 1.0 cannot
/// represent at all (most C0 controls), which a filter's body or log may contain.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    out
}

/// Renders the reports of a test run as a JUnit XML document.
pub fn render(reports: &[ScenarioReport]) -> String {
    let tests: usize = reports.iter().map(|r| r.testcase_count()).sum();
    let failures: usize = reports.iter().map(|r| r.failure_count()).sum();
    let errors: usize = reports.iter().map(|r| r.error_count()).sum();
    let time: f64 = reports.iter().map(|r| r.duration.as_secs_f64()).sum();
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuites name=\"cargo wasme test\" tests=\"{tests}\" failures=\"{failures}\" errors=\"{errors}\" time=\"{time:.3}\">"
    );
    for r in reports {
        let _ = writeln!(
            out,
            "  <testsuite name=\"{}\" file=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" time=\"{:.3}\">",
            escape(&r.name),
            escape(&r.file.display().to_string()),
            r.testcase_count(),
            r.failure_count(),
            r.error_count(),
            r.duration.as_secs_f64()
        );
        let classname = escape(&r.name);
        if let Some(e) = &r.setup_error {
            let _ = writeln!(
                out,
                "    <testcase name=\"setup\" classname=\"{classname}\" time=\"0.000\">\n      <error message=\"{}\">{}</error>\n    </testcase>",
                escape(first_line(e)),
                escape(e)
            );
        }
        for s in &r.steps {
            let _ = write!(
                out,
                "    <testcase name=\"{}\" classname=\"{classname}\" time=\"{:.3}\"",
                escape(&s.name),
                s.duration.as_secs_f64()
            );
            match &s.outcome {
                StepOutcome::Passed => out.push_str("/>\n"),
                // Not `<skipped/>`: CI treats skipped as harmless, and an unchecked step is not.
                StepOutcome::NotRun(why) => {
                    let _ = writeln!(
                        out,
                        ">\n      <error message=\"not run: {}\">{}</error>\n    </testcase>",
                        escape(first_line(why)),
                        escape(why)
                    );
                }
                StepOutcome::Failed(mismatches) => {
                    let text: String = mismatches.iter().map(|m| m.render()).collect();
                    let _ = writeln!(
                        out,
                        ">\n      <failure message=\"{} expectation(s) failed\">{}</failure>\n    </testcase>",
                        mismatches.len(),
                        escape(&text)
                    );
                }
                StepOutcome::Error(e) => {
                    let _ = writeln!(
                        out,
                        ">\n      <error message=\"{}\">{}</error>\n    </testcase>",
                        escape(first_line(e)),
                        escape(e)
                    );
                }
            }
        }
        out.push_str("  </testsuite>\n");
    }
    out.push_str("</testsuites>\n");
    out
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_controls() {
        assert_eq!(escape("a<b>&\"'"), "a&lt;b&gt;&amp;&quot;&apos;");
        assert_eq!(escape("x\u{1}y\n"), "x\\u{1}y\n");
    }
}
