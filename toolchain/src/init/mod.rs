//! `cargo wasme init`: new filter projects from templates.
//!
//! A Rust project is a standalone cdylib crate using `wasme-sdk`, with a harness test
//! (`tests/filter.rs`, loading the real `.wasm` into `wasme-harness`) and scenario files
//! (`scenarios/*.yaml`, run by `cargo wasme test`). Two templates exist: an HTTP filter and a
//! network (TCP) filter.
//!
//! A project in C, C++ or AssemblyScript ([`InitOptions::language`]) is the same HTTP filter
//! (a configurable response header) with a `wasme.toml` naming its language (read by
//! `wasme_build::project`), its scenario files and what its toolchain needs: for C, wasme's
//! ABI header; for C++, also wasme's small C++ API (`include/proxy_wasm.h` and
//! `src/proxy_wasm.cc`, our own code under Apache-2.0, written from the ABI rather than copied
//! from the proxy-wasm C++ SDK); for AssemblyScript, `package.json` and `package-lock.json`
//! pinning `assemblyscript` 0.14.9 and `@solo-io/proxy-runtime` 0.1.8, and `asconfig.json`.
//!
//! The project depends on `wasme-sdk` and `wasme-harness` by version, as it will once they are
//! published; [`Dependencies::Repo`] adds a `[patch.crates-io]` section pointing both at a
//! local checkout (what `--sdk-path` and the tests use). Its `Cargo.toml` optimises wasmtime's
//! code generator in test builds, and has no `[profile.release]`: `cargo wasme build` passes
//! the size settings itself.
//!
//! ```no_run
//! use cargo_wasme::init::{Dependencies, InitOptions, Language, Template, generate};
//! let written = generate(&InitOptions {
//!     dir: "my-filter".into(),
//!     name: None,
//!     template: Template::Http,
//!     language: Language::Rust,
//!     deps: Dependencies::detect(),
//! })?;
//! assert!(written.iter().any(|p| p.ends_with("Cargo.toml")));
//! # Ok::<(), cargo_wasme::init::InitError>(())
//! ```

use std::fmt;
use std::path::{Path, PathBuf};

pub mod interactive;

pub use wasme_build::Language;

/// Which kind of filter to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Template {
    /// An HTTP filter (request/response headers and bodies, local replies).
    Http,
    /// A network (TCP) filter (connection data, metrics, closing connections).
    Network,
}

impl fmt::Display for Template {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Template::Http => "http",
            Template::Network => "network",
        })
    }
}

/// How the generated project depends on `wasme-sdk` and `wasme-harness`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Dependencies {
    /// Versions, patched to a checkout of the wasme repository (its root directory).
    Repo(PathBuf),
    /// Versions from crates.io.
    Registry(String),
}

impl Dependencies {
    /// Path dependencies when this binary runs from (was built in) a wasme checkout that is
    /// still there, otherwise the crates.io release matching this toolchain's version.
    pub fn detect() -> Self {
        let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        if repo.join("sdk").join("Cargo.toml").is_file()
            && repo.join("harness").join("Cargo.toml").is_file()
        {
            Dependencies::Repo(repo.canonicalize().unwrap_or(repo))
        } else {
            Dependencies::Registry(env!("CARGO_PKG_VERSION").to_string())
        }
    }

    /// The version of `wasme-sdk` and `wasme-harness` the project depends on.
    fn version(&self) -> &str {
        match self {
            Dependencies::Repo(_) => env!("CARGO_PKG_VERSION"),
            Dependencies::Registry(v) => v,
        }
    }

    /// The `[patch.crates-io]` section pointing the dependencies at a checkout, or a comment
    /// saying how to write one.
    fn patch(&self) -> String {
        match self {
            Dependencies::Repo(root) => format!(
                "# Built against the wasme checkout at {root}, not crates.io: remove this table\n\
                 # once wasme-sdk {version} is published (or re-run `cargo wasme init` with\n\
                 # --sdk-version).\n\
                 [patch.crates-io]\n\
                 wasme-sdk = {{ path = {sdk} }}\n\
                 wasme-harness = {{ path = {harness} }}\n",
                root = root.display(),
                version = self.version(),
                sdk = toml_str(&root.join("sdk")),
                harness = toml_str(&root.join("harness")),
            ),
            Dependencies::Registry(_) => {
                "# To build against a local checkout of wasme instead of crates.io:\n\
                 # [patch.crates-io]\n\
                 # wasme-sdk = { path = \"/path/to/wasme/sdk\" }\n\
                 # wasme-harness = { path = \"/path/to/wasme/harness\" }\n"
                    .to_string()
            }
        }
    }
}

fn toml_str(path: &Path) -> String {
    // A TOML basic string: escape backslashes and quotes (Windows paths).
    let s = path.display().to_string();
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

/// What to generate, and where.
#[derive(Debug, Clone)]
pub struct InitOptions {
    /// The project directory (created; must be empty or absent).
    pub dir: PathBuf,
    /// The crate name (default: the directory name).
    pub name: Option<String>,
    /// The template.
    pub template: Template,
    /// The language (Rust, or C, C++, AssemblyScript: HTTP filters only).
    pub language: Language,
    /// Where `wasme-sdk` and `wasme-harness` come from.
    pub deps: Dependencies,
}

/// Why a project cannot be generated.
#[derive(Debug, thiserror::Error)]
pub enum InitError {
    /// The directory already has files; nothing was written.
    #[error("{0} exists and is not empty: choose a new directory (nothing was written)")]
    NotEmpty(PathBuf),
    /// The crate name is not usable (cargo's rules for a new package, plus lower case).
    #[error("invalid crate name {name:?}: {reason}")]
    BadName {
        /// The name given.
        name: String,
        /// What is wrong with it.
        reason: &'static str,
        /// A valid name close to it ([`suggest_name`]), when there is one.
        suggestion: Option<String>,
    },
    /// The template is not available in the language.
    #[error("{template} filters are generated in Rust only; for {language} use the http template")]
    Unsupported {
        /// The template asked for.
        template: Template,
        /// The language asked for.
        language: &'static str,
    },
    /// Writing failed.
    #[error("cannot write {path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
}

/// Names cargo refuses for a new package: Rust keywords, the standard library's crates,
/// `test`, and the names of cargo's own output directories.
const RESERVED: &[&str] = &[
    "abstract",
    "alloc",
    "as",
    "async",
    "await",
    "become",
    "box",
    "break",
    "build",
    "const",
    "continue",
    "core",
    "crate",
    "deps",
    "do",
    "dyn",
    "else",
    "enum",
    "examples",
    "extern",
    "false",
    "final",
    "fn",
    "for",
    "gen",
    "if",
    "impl",
    "in",
    "incremental",
    "let",
    "loop",
    "macro",
    "match",
    "mod",
    "move",
    "mut",
    "override",
    "priv",
    "proc-macro",
    "proc_macro",
    "pub",
    "ref",
    "return",
    "self",
    "static",
    "std",
    "struct",
    "super",
    "test",
    "trait",
    "true",
    "try",
    "type",
    "typeof",
    "unsafe",
    "unsized",
    "use",
    "virtual",
    "where",
    "while",
    "yield",
];

/// Checks a crate name as cargo checks a new package's (`cargo new`), and also requires lower
/// case: the name becomes the image repository, and OCI repositories are lower case. The
/// error carries a corrected name when one exists ([`suggest_name`]).
pub fn validate_name(name: &str) -> Result<(), InitError> {
    let reason = if name.is_empty() {
        Some("the name is empty")
    } else if name.starts_with(|c: char| c.is_ascii_digit()) {
        Some("it starts with a digit")
    } else if !name.starts_with(|c: char| c.is_ascii_alphabetic()) {
        Some("it must start with a letter")
    } else if name.chars().any(|c| c.is_ascii_uppercase()) {
        Some("it has upper-case letters (image repositories are lower case)")
    } else if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        Some("only letters, digits, `-` and `_` are allowed")
    } else if RESERVED.contains(&name) {
        Some("it is a Rust keyword or a name cargo reserves")
    } else {
        None
    };
    match reason {
        None => Ok(()),
        Some(reason) => Err(InitError::BadName {
            name: name.to_string(),
            reason,
            suggestion: suggest_name(name),
        }),
    }
}

/// A valid crate name close to `name`: lower case, other characters as `-`, leading digits
/// and separators dropped, `-filter` appended to a reserved name (`My-Filter` → `my-filter`,
/// `2fast` → `fast`, `test` → `test-filter`). `None` when nothing usable is left.
pub fn suggest_name(name: &str) -> Option<String> {
    let mut out = String::new();
    for c in name.chars() {
        let c = c.to_ascii_lowercase();
        if c.is_ascii_alphanumeric() || c == '_' {
            out.push(c);
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    let out = out
        .trim_start_matches(|c: char| !c.is_ascii_alphabetic())
        .trim_end_matches('-');
    let out = if RESERVED.contains(&out) {
        format!("{out}-filter")
    } else {
        out.to_string()
    };
    (!out.is_empty() && out != name).then_some(out)
}

/// The crate name a directory suggests (its last component).
pub fn name_from_dir(dir: &Path) -> Option<String> {
    let abs = if dir.is_absolute() {
        dir.to_path_buf()
    } else {
        std::env::current_dir().ok()?.join(dir)
    };
    abs.components()
        .next_back()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
}

fn pascal_case(name: &str) -> String {
    name.split(['-', '_'])
        .filter(|p| !p.is_empty())
        .map(|p| {
            let mut cs = p.chars();
            cs.next()
                .map(|c| c.to_ascii_uppercase().to_string() + cs.as_str())
                .unwrap_or_default()
        })
        .collect()
}

const CARGO_TOML: &str = include_str!("templates/Cargo.toml.tmpl");
const GITIGNORE: &str = include_str!("templates/gitignore.tmpl");
const HTTP_LIB: &str = include_str!("templates/http/lib.rs.tmpl");
const HTTP_TEST: &str = include_str!("templates/http/test.rs.tmpl");
const HTTP_SCENARIO: &str = include_str!("templates/http/scenario.yaml.tmpl");
const HTTP_BAD_CONFIG: &str = include_str!("templates/http/bad-config.yaml.tmpl");
const NET_LIB: &str = include_str!("templates/network/lib.rs.tmpl");
const NET_TEST: &str = include_str!("templates/network/test.rs.tmpl");
const NET_SCENARIO: &str = include_str!("templates/network/scenario.yaml.tmpl");
const NET_BAD_CONFIG: &str = include_str!("templates/network/bad-config.yaml.tmpl");

/// Where the generated project keeps the scenario JSON schema its scenario files name.
const SCENARIO_SCHEMA: &str = "scenarios/scenario.schema.json";

/// The files of a project: relative path and contents.
pub fn render(name: &str, template: Template, deps: &Dependencies) -> Vec<(PathBuf, String)> {
    let root_id = name.replace('-', "_");
    let fill = |t: &str| {
        t.replace("{{crate}}", name)
            .replace("{{root_id}}", &root_id)
            .replace("{{struct}}", &pascal_case(name))
            .replace("{{version}}", deps.version())
            .replace("{{patch}}", &deps.patch())
    };
    let (lib, test, scenario, bad) = match template {
        Template::Http => (HTTP_LIB, HTTP_TEST, HTTP_SCENARIO, HTTP_BAD_CONFIG),
        Template::Network => (NET_LIB, NET_TEST, NET_SCENARIO, NET_BAD_CONFIG),
    };
    vec![
        ("Cargo.toml".into(), fill(CARGO_TOML)),
        (".gitignore".into(), fill(GITIGNORE)),
        ("src/lib.rs".into(), fill(lib)),
        ("tests/filter.rs".into(), fill(test)),
        ("scenarios/basic.yaml".into(), fill(scenario)),
        ("scenarios/bad-config.yaml".into(), fill(bad)),
        (
            SCENARIO_SCHEMA.into(),
            serde_json::to_string_pretty(&crate::scenario::json_schema()).unwrap_or_default()
                + "\n",
        ),
    ]
}

const ABI_HEADER: &str = include_str!("templates/common/proxy_wasm_abi.h");
const PROJECT_FILE: &str = include_str!("templates/common/wasme.toml.tmpl");
const OTHER_GITIGNORE: &str = include_str!("templates/common/gitignore.tmpl");
const OTHER_SCENARIO: &str = include_str!("templates/common/scenario.yaml.tmpl");
const OTHER_BAD_CONFIG: &str = include_str!("templates/common/bad-config.yaml.tmpl");
const C_FILTER: &str = include_str!("templates/c/filter.c.tmpl");
const CPP_API: &str = include_str!("templates/cpp/proxy_wasm.h");
const CPP_ABI_GLUE: &str = include_str!("templates/cpp/proxy_wasm.cc");
const CPP_FILTER: &str = include_str!("templates/cpp/filter.cc.tmpl");
const AS_PACKAGE: &str = include_str!("templates/assemblyscript/package.json.tmpl");
const AS_LOCK: &str = include_str!("templates/assemblyscript/package-lock.json.tmpl");
const AS_CONFIG: &str = include_str!("templates/assemblyscript/asconfig.json");
const AS_FILTER: &str = include_str!("templates/assemblyscript/index.ts.tmpl");

/// The files of a project in `language` (Rust: [`render`]): relative path and contents.
pub fn render_language(
    name: &str,
    language: Language,
    template: Template,
    deps: &Dependencies,
) -> Result<Vec<(PathBuf, String)>, InitError> {
    if language == Language::Rust {
        return Ok(render(name, template, deps));
    }
    if template != Template::Http {
        return Err(InitError::Unsupported {
            template,
            language: language.display_name(),
        });
    }
    let root_id = name.replace('-', "_");
    let extra = match language {
        Language::C | Language::Cpp => {
            "# sources = [...]         # default: every file in src/ of the language\n\
             # include = [\"include\"]   # the default when include/ exists\n\
             # flags = [\"-DDEBUG_LOG\"] # more compiler flags"
        }
        _ => {
            "# entry = \"assembly/index.ts\"  # the default\n# flags = []                      # more asc flags"
        }
    };
    let fill = |t: &str| {
        t.replace("{{name}}", name)
            .replace("{{root_id}}", &root_id)
            .replace("{{language}}", language.as_str())
            .replace("{{extra}}", extra)
    };
    let mut files: Vec<(PathBuf, String)> = vec![
        ("wasme.toml".into(), fill(PROJECT_FILE)),
        (".gitignore".into(), fill(OTHER_GITIGNORE)),
    ];
    match language {
        Language::C => {
            files.push(("include/proxy_wasm_abi.h".into(), ABI_HEADER.to_string()));
            files.push(("src/filter.c".into(), fill(C_FILTER)));
        }
        Language::Cpp => {
            files.push(("include/proxy_wasm_abi.h".into(), ABI_HEADER.to_string()));
            files.push(("include/proxy_wasm.h".into(), CPP_API.to_string()));
            files.push(("src/proxy_wasm.cc".into(), CPP_ABI_GLUE.to_string()));
            files.push(("src/filter.cc".into(), fill(CPP_FILTER)));
        }
        _ => {
            files.push(("package.json".into(), fill(AS_PACKAGE)));
            files.push(("package-lock.json".into(), fill(AS_LOCK)));
            files.push(("asconfig.json".into(), AS_CONFIG.to_string()));
            files.push(("assembly/index.ts".into(), fill(AS_FILTER)));
        }
    }
    files.push(("scenarios/basic.yaml".into(), fill(OTHER_SCENARIO)));
    files.push(("scenarios/bad-config.yaml".into(), fill(OTHER_BAD_CONFIG)));
    files.push((
        SCENARIO_SCHEMA.into(),
        serde_json::to_string_pretty(&crate::scenario::json_schema()).unwrap_or_default() + "\n",
    ));
    Ok(files)
}

/// Writes a new project; returns the files written. Refuses a non-empty directory.
pub fn generate(opts: &InitOptions) -> Result<Vec<PathBuf>, InitError> {
    let name = match &opts.name {
        Some(n) => n.clone(),
        None => name_from_dir(&opts.dir).unwrap_or_default(),
    };
    validate_name(&name)?;
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| InitError::Io { path, source }
    };
    if opts.dir.exists() {
        let mut entries = std::fs::read_dir(&opts.dir).map_err(io(&opts.dir))?;
        if entries.next().is_some() {
            return Err(InitError::NotEmpty(opts.dir.clone()));
        }
    }
    let files = render_language(&name, opts.language, opts.template, &opts.deps)?;
    let mut written = Vec::new();
    for (rel, contents) in files {
        let path = opts.dir.join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(io(parent))?;
        }
        std::fs::write(&path, contents).map_err(io(&path))?;
        written.push(path);
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert!(validate_name("my-filter").is_ok());
        assert!(validate_name("9lives").is_err());
        assert!(validate_name("a b").is_err());
        assert!(validate_name("").is_err());
        assert!(validate_name("My-Filter").is_err());
        assert!(validate_name("fn").is_err());
        assert_eq!(suggest_name("My-Filter").as_deref(), Some("my-filter"));
        assert_eq!(suggest_name("2fast 4you").as_deref(), Some("fast-4you"));
        assert_eq!(suggest_name("test").as_deref(), Some("test-filter"));
        assert_eq!(suggest_name("123"), None);
        assert_eq!(pascal_case("my-cool_filter"), "MyCoolFilter");
    }

    #[test]
    fn templates_fill_every_placeholder() {
        for t in [Template::Http, Template::Network] {
            for (path, text) in render("demo-f", t, &Dependencies::Registry("9.9.9".into())) {
                assert!(!text.contains("{{"), "{path:?} has an unfilled placeholder");
            }
        }
        let files = render(
            "demo-f",
            Template::Http,
            &Dependencies::Registry("9.9.9".into()),
        );
        assert!(
            files[0]
                .1
                .contains("wasme-sdk = { version = \"9.9.9\", features = [\"schema\"] }")
        );
        assert!(files[0].1.contains("# [patch.crates-io]"));
        let local = render(
            "demo-f",
            Template::Http,
            &Dependencies::Repo("/src/wasme".into()),
        );
        assert!(
            local[0]
                .1
                .contains("\n[patch.crates-io]\nwasme-sdk = { path = \"/src/wasme/sdk\" }")
        );
        assert!(files[2].1.contains("pub struct DemoF"));
    }

    #[test]
    fn other_languages_fill_every_placeholder_and_are_http_only() {
        let deps = Dependencies::Registry("9.9.9".into());
        for language in [Language::C, Language::Cpp, Language::AssemblyScript] {
            let files = render_language("demo-f", language, Template::Http, &deps).unwrap();
            for (path, text) in &files {
                assert!(
                    !text.contains("{{"),
                    "{language}: {path:?} has an unfilled placeholder"
                );
            }
            let project = &files[0].1;
            let parsed = wasme_build::project::parse(project).unwrap();
            assert_eq!(parsed.language, language);
            assert_eq!(parsed.root_ids, ["demo_f"]);
            assert!(matches!(
                render_language("demo-f", language, Template::Network, &deps),
                Err(InitError::Unsupported { .. })
            ));
        }
    }

    #[test]
    fn refuses_non_empty_dir() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("keep.txt"), "mine").unwrap();
        let e = generate(&InitOptions {
            dir: dir.path().to_path_buf(),
            name: Some("x".into()),
            template: Template::Http,
            language: Language::Rust,
            deps: Dependencies::Registry("0.1.0".into()),
        })
        .unwrap_err();
        assert!(matches!(e, InitError::NotEmpty(_)));
        assert_eq!(
            std::fs::read_to_string(dir.path().join("keep.txt")).unwrap(),
            "mine"
        );
    }
}
