//! Reading scenario files, with errors that name the file, line, column and field.

use super::format::Scenario;
use std::fmt;
use std::path::{Path, PathBuf};

/// A scenario read from a file, with what is needed to resolve relative paths and to point
/// back into the file.
#[derive(Debug, Clone)]
pub struct LoadedScenario {
    /// The file it came from.
    pub file: PathBuf,
    /// The file's text.
    pub text: String,
    /// The parsed scenario.
    pub scenario: Scenario,
}

impl LoadedScenario {
    /// The directory relative paths in the scenario are resolved against.
    pub fn base_dir(&self) -> &Path {
        self.file.parent().unwrap_or(Path::new("."))
    }

    /// The scenario's display name: its `name`, else the file name.
    pub fn name(&self) -> String {
        self.scenario.name.clone().unwrap_or_else(|| {
            self.file
                .file_name()
                .map(|f| f.to_string_lossy().into_owned())
                .unwrap_or_else(|| self.file.display().to_string())
        })
    }

    /// `file:line` of a top-level key (e.g. `config`), for errors about its value.
    pub fn locate_key(&self, key: &str) -> String {
        match top_level_key_line(&self.text, key) {
            Some(line) => format!("{}:{line}", self.file.display()),
            None => self.file.display().to_string(),
        }
    }
}

/// Why a scenario file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    /// The file could not be read.
    #[error("cannot read scenario {file}: {source}")]
    Read {
        /// The file.
        file: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is not a valid scenario.
    #[error("{}", render_invalid(file, *line, *column, message))]
    Invalid {
        /// The file.
        file: PathBuf,
        /// 1-based line, when known.
        line: Option<usize>,
        /// 1-based column, when known.
        column: Option<usize>,
        /// What is wrong, starting with the field path (e.g. `steps[0].request: unknown field`).
        message: String,
    },
}

fn render_invalid(
    file: &Path,
    line: Option<usize>,
    column: Option<usize>,
    message: &str,
) -> String {
    let mut out = file.display().to_string();
    if let Some(l) = line {
        out.push_str(&format!(":{l}"));
        if let Some(c) = column {
            out.push_str(&format!(":{c}"));
        }
    }
    format!("{out}: invalid scenario: {message}")
}

/// The largest scenario file [`load`] reads (64 MiB).
pub const MAX_SCENARIO_SIZE: u64 = 64 * 1024 * 1024;

/// Reads and parses a scenario file (at most [`MAX_SCENARIO_SIZE`] bytes).
///
/// ```no_run
/// let loaded = cargo_wasme::scenario::parse::load("filters/add-header/scenarios/basic.yaml")?;
/// println!("{loaded}: {} steps", loaded.scenario.steps.len());
/// # Ok::<(), cargo_wasme::scenario::parse::ScenarioError>(())
/// ```
pub fn load(file: impl AsRef<Path>) -> Result<LoadedScenario, ScenarioError> {
    use std::io::Read as _;
    let file = file.as_ref().to_path_buf();
    let read_err = |source| ScenarioError::Read {
        file: file.clone(),
        source,
    };
    // Bounded before parsing: a 1 GiB body once took 39 s and 6 GiB of memory to parse.
    let mut bytes = Vec::new();
    std::fs::File::open(&file)
        .map_err(read_err)?
        .take(MAX_SCENARIO_SIZE + 1)
        .read_to_end(&mut bytes)
        .map_err(read_err)?;
    if bytes.len() as u64 > MAX_SCENARIO_SIZE {
        return Err(ScenarioError::Invalid {
            file: file.clone(),
            line: None,
            column: None,
            message: format!(
                "the file is larger than {} MiB, the most a scenario may be (bodies of up to 16 MiB \
                 each way fit); keep large bodies out of scenarios",
                MAX_SCENARIO_SIZE >> 20
            ),
        });
    }
    let text = String::from_utf8(bytes)
        .map_err(|e| read_err(std::io::Error::new(std::io::ErrorKind::InvalidData, e)))?;
    let scenario = parse_str(&file, &text)?;
    Ok(LoadedScenario {
        file,
        text,
        scenario,
    })
}

/// Parses scenario text; `file` is only used in error messages.
///
/// ```
/// use cargo_wasme::scenario::parse::parse_str;
/// use std::path::Path;
/// let s = parse_str(Path::new("s.yaml"), "module: f.wasm\nsteps: [{request: {path: /}}]\n")?;
/// assert_eq!(s.steps.len(), 1);
/// let e = parse_str(Path::new("s.yaml"), "module: f.wasm\nsteps:\n  - request: {metod: GET}\n");
/// let e = e.unwrap_err().to_string();
/// assert!(e.starts_with("s.yaml:3:"), "{e}");
/// assert!(e.contains(": invalid scenario: steps[0].request: unknown field `metod`"), "{e}");
/// # Ok::<(), cargo_wasme::scenario::parse::ScenarioError>(())
/// ```
pub fn parse_str(file: &Path, text: &str) -> Result<Scenario, ScenarioError> {
    if text.trim().is_empty() {
        return Err(ScenarioError::Invalid {
            file: file.to_path_buf(),
            line: None,
            column: None,
            message: "the file is empty: a scenario needs at least `module`".into(),
        });
    }
    if let Err(e) = crate::deploy::yaml::check_depth(text, crate::deploy::yaml::MAX_DEPTH) {
        return Err(ScenarioError::Invalid {
            file: file.to_path_buf(),
            line: Some(e.line),
            column: None,
            message: e.to_string(),
        });
    }
    serde_norway::from_str::<Scenario>(text).map_err(|e| {
        let location = e.location();
        let mut message = e.to_string();
        // serde_norway appends " at line L column C"; the location goes in front instead.
        if let Some(loc) = &location {
            let suffix = format!(" at line {} column {}", loc.line(), loc.column());
            if let Some(stripped) = message.strip_suffix(&suffix) {
                message = stripped.to_string();
            }
        }
        ScenarioError::Invalid {
            file: file.to_path_buf(),
            line: location.as_ref().map(|l| l.line()),
            column: location.as_ref().map(|l| l.column()),
            message,
        }
    })
}

/// The 1-based line where a top-level `key:` is written, if it is.
pub fn top_level_key_line(text: &str, key: &str) -> Option<usize> {
    text.lines().enumerate().find_map(|(i, line)| {
        let rest = line.strip_prefix(key)?;
        rest.trim_start().starts_with(':').then_some(i + 1)
    })
}

impl fmt::Display for LoadedScenario {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.name(), self.file.display())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::format::{Action, ModuleSource};

    fn err(text: &str) -> String {
        parse_str(Path::new("s.yaml"), text)
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn parses_a_full_scenario() {
        let s = parse_str(
            Path::new("s.yaml"),
            r#"
module: {crate: .., package: add-header}
config: {name: x-demo, value: 1}
steps:
  - request: {path: /a, headers: {X-A: 1, x-b: [a, b]}}
    response: {status: 201, body: hi}
    expect:
      client: {status: 201, headers: {x-demo: "1"}}
      upstream: false
      local_reply: false
      logs: ["hello", {level: error, contains: bad}]
  - advance_clock: 1.5s
"#,
        )
        .unwrap();
        assert_eq!(
            s.module,
            ModuleSource::Crate {
                dir: "..".into(),
                package: Some("add-header".into())
            }
        );
        assert_eq!(s.config.unwrap().0, r#"{"name":"x-demo","value":1}"#);
        let Action::Http { request, response } = &s.steps[0].action else {
            panic!("not http")
        };
        assert_eq!(
            request.headers.0,
            vec![
                ("x-a".to_string(), "1".to_string()),
                ("x-b".into(), "a".into()),
                ("x-b".into(), "b".into())
            ]
        );
        assert_eq!(response.status, 201);
        let e = &s.steps[0].expect;
        assert!(e.upstream.as_ref().unwrap().absent);
        assert!(e.local_reply.as_ref().unwrap().absent);
        assert_eq!(e.logs.len(), 2);
        assert!(matches!(s.steps[1].action, Action::AdvanceClock(d) if d.as_millis() == 1500));
    }

    #[test]
    fn errors_name_file_line_and_field() {
        let e = err("module: a.wasm\nsteps:\n  - request:\n      metod: GET\n");
        assert!(e.starts_with("s.yaml:4:"), "{e}");
        assert!(e.contains("steps[0].request"), "{e}");
        assert!(e.contains("unknown field `metod`"), "{e}");

        let e = err("module: a.wasm\nsteps:\n  - advance_clock: 5 parsecs\n");
        assert!(e.starts_with("s.yaml:3:"), "{e}");
        assert!(e.contains("unknown duration unit"), "{e}");

        let e = err("module: a.wasm\nsteps:\n  - request: {}\n    advance_clock: 1s\n");
        assert!(e.contains("a step does one thing"), "{e}");
        assert!(e.starts_with("s.yaml:3:"), "{e}");

        let e = err("module: a.wasm\nsteps:\n  - request:\n      headers: {\"bad name\": 1}\n");
        assert!(e.contains("not a valid header name"), "{e}");
        assert!(e.starts_with("s.yaml:4:"), "{e}");

        let e = err("module: {path: a.wasm, image: x}\n");
        assert!(e.contains("exactly one of"), "{e}");
        assert!(err("steps: []\n").contains("missing field `module`"));
        assert!(err("").contains("empty"));
        let e = err("module: a.wasm\nsteps:\n  - expect:\n      client: {status: nope}\n");
        assert!(e.starts_with("s.yaml:4:"), "{e}");
        assert!(e.contains("status"), "{e}");
    }

    /// The shorthand forms (`module: f.wasm`, `upstream: false`, `logs: ["text"]`,
    /// `vm_failed: true`) go through hand-written shapes so that an error inside them keeps the
    /// value's own line, column and field path; these are the texts the hand-written impls of
    /// every type gave before the format's types were derived.
    #[test]
    fn shorthand_errors_keep_their_location() {
        let steps = "module: a.wasm\nsteps:\n  - expect:\n";
        for (text, want) in [
            (
                "module: {path: a.wasm, bogus: 1}\n".to_string(),
                "s.yaml:1:24: invalid scenario: module: unknown field `bogus`, expected one of \
                 `path`, `crate`, `package`, `image`",
            ),
            (
                "module: \"\"\n".into(),
                "s.yaml:1:9: invalid scenario: module: module path is empty",
            ),
            (
                "module: [a]\n".into(),
                "s.yaml:1:9: invalid scenario: module: invalid type: sequence, expected a .wasm \
                 path, or a mapping with `path`, `crate` or `image`",
            ),
            (
                format!("{steps}      client: {{statuz: 1}}\n"),
                "s.yaml:4:16: invalid scenario: steps[0].expect.client: unknown field `statuz`, \
                 expected one of `status`, `headers`, `headers_present`, `headers_absent`, \
                 `body`, `body_contains`, `body_absent`",
            ),
            (
                format!("{steps}      local_reply: true\n"),
                "s.yaml:4:20: invalid scenario: steps[0].expect.local_reply: `true` says nothing \
                 here: give `false` or a mapping (`false` or a mapping with status, details, \
                 body, body_contains, headers)",
            ),
            (
                format!("{steps}      logs: [a, {{contain: b}}]\n"),
                "s.yaml:4:18: invalid scenario: steps[0].expect.logs[1]: unknown field \
                 `contain`, expected `level` or `contains`",
            ),
            (
                format!("{steps}      vm_failed: 3\n"),
                "s.yaml:4:18: invalid scenario: steps[0].expect.vm_failed: invalid type: \
                 integer `3`, expected true, false, or a substring of the failure message",
            ),
            (
                "module: a.wasm\nenv: {A: {b: 1}}\n".into(),
                "s.yaml:2:10: invalid scenario: env.A: invalid type: map, expected a string, \
                 number or boolean",
            ),
        ] {
            assert_eq!(err(&text), want, "{text}");
        }
    }

    #[test]
    fn finds_top_level_keys() {
        let t = "module: a\n# config: no\nconfig: x\n";
        assert_eq!(top_level_key_line(t, "config"), Some(3));
        assert_eq!(top_level_key_line(t, "env"), None);
    }
}
