//! Which language a filter project is written in, and the `wasme.toml` that says so.
//!
//! A directory with a `wasme.toml` is a filter project in C, C++ or AssemblyScript; any other
//! directory is a Rust crate (its `Cargo.toml`, with `[package.metadata.wasme]`). The file is
//! required rather than guessed from `package.json` or `CMakeLists.txt`: those say nothing about
//! which sources make the filter or which root ids it serves, and a directory with both a
//! `package.json` and a `Cargo.toml` is common. A project without it gets an error that shows
//! the file to write ([`detect`]).
//!
//! ```toml
//! # wasme.toml: how `cargo wasme build` builds this filter
//! language = "cpp"              # c | cpp | assemblyscript
//! name = "my-filter"            # the image repository (lower case)
//! version = "0.1.0"             # the default tag
//! root-ids = ["my_filter"]      # default: the name in snake case
//! # tag = "my-filter:0.1.0"     # default: <name>:<version>
//! # sources = ["src/filter.cc"] # C/C++; default: every .c (C) or .cc/.cpp (C++) file in src/
//! # include = ["include"]       # C/C++ include directories; default: include/ when present
//! # flags = ["-DMY_FLAG"]       # more compiler flags (C/C++) or asc flags (AssemblyScript)
//! # entry = "assembly/index.ts" # AssemblyScript; this is the default
//! ```

use super::BuildError;
use serde::Deserialize;
use std::fmt;
use std::path::{Path, PathBuf};

/// The name of the project file of a filter that is not written in Rust.
pub const PROJECT_FILE: &str = "wasme.toml";

/// The language a filter is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    /// Rust, built by cargo (a `Cargo.toml`).
    Rust,
    /// C on the raw proxy-wasm ABI, built by clang with wasi-libc.
    C,
    /// C++ on wasme's header (`proxy_wasm.h`), built by clang++ with libc++ for wasm32-wasi.
    Cpp,
    /// AssemblyScript on `@solo-io/proxy-runtime`, built by `asc` from npm.
    #[serde(rename = "assemblyscript")]
    AssemblyScript,
}

impl Language {
    /// The name used in `wasme.toml`, `--language` and the image's `build` record.
    pub fn as_str(self) -> &'static str {
        match self {
            Language::Rust => "rust",
            Language::C => "c",
            Language::Cpp => "cpp",
            Language::AssemblyScript => "assemblyscript",
        }
    }

    /// The name people write it with.
    pub fn display_name(self) -> &'static str {
        match self {
            Language::Rust => "Rust",
            Language::C => "C",
            Language::Cpp => "C++",
            Language::AssemblyScript => "AssemblyScript",
        }
    }
}

impl std::str::FromStr for Language {
    type Err = String;

    /// `rust`, `c`, `cpp` (or `c++`), `assemblyscript` (or `as`), in any case.
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "rust" | "rs" => Ok(Language::Rust),
            "c" => Ok(Language::C),
            "cpp" | "c++" | "cxx" => Ok(Language::Cpp),
            "assemblyscript" | "as" => Ok(Language::AssemblyScript),
            _ => Err(format!(
                "unknown language `{s}`: use rust, c, cpp or assemblyscript (TinyGo and Go \
                 modules are built with their own tools and stored with `cargo wasme package`)"
            )),
        }
    }
}

impl fmt::Display for Language {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The contents of a `wasme.toml`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ProjectFile {
    /// The language (`c`, `cpp` or `assemblyscript`).
    pub language: Language,
    /// The filter's name: the image repository.
    pub name: String,
    /// Its version: the default tag.
    pub version: String,
    /// The root ids the module serves (default: the name in snake case).
    #[serde(default)]
    pub root_ids: Vec<String>,
    /// The image reference to store it under (default `<name>:<version>`).
    #[serde(default)]
    pub tag: Option<String>,
    /// C/C++ source files, relative to the project.
    #[serde(default)]
    pub sources: Vec<PathBuf>,
    /// C/C++ include directories, relative to the project.
    #[serde(default)]
    pub include: Vec<PathBuf>,
    /// More flags for the compiler (clang, clang++ or asc).
    #[serde(default)]
    pub flags: Vec<String>,
    /// The AssemblyScript entry file (default `assembly/index.ts`).
    #[serde(default)]
    pub entry: Option<PathBuf>,
}

/// A filter project that is not a Rust crate, read from its `wasme.toml`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Project {
    /// The project directory (canonical).
    pub dir: PathBuf,
    /// Its `wasme.toml`.
    pub file: ProjectFile,
}

impl Project {
    /// The root ids: the file's, or the name in snake case.
    pub fn root_ids(&self) -> Vec<String> {
        if self.file.root_ids.is_empty() {
            vec![self.file.name.replace('-', "_")]
        } else {
            self.file.root_ids.clone()
        }
    }
}

/// Files that mark a project of another toolchain, with the language they suggest.
const FOREIGN_MARKERS: &[(&str, &str)] = &[
    ("asconfig.json", "assemblyscript"),
    ("package.json", "assemblyscript"),
    ("CMakeLists.txt", "cpp"),
    ("Makefile", "c"),
];

/// Reads the project at `path` (a directory, or its `wasme.toml`): `Ok(None)` for a Rust crate
/// (no `wasme.toml`; cargo reads it), the project otherwise. A directory with no `Cargo.toml`
/// and no `wasme.toml` but another toolchain's files gets an error showing the `wasme.toml` to
/// write.
pub fn detect(path: &Path) -> Result<Option<Project>, BuildError> {
    let (dir, file) = if path.file_name().is_some_and(|n| n == PROJECT_FILE) {
        (
            path.parent().unwrap_or(Path::new(".")).to_path_buf(),
            path.to_path_buf(),
        )
    } else if path.is_dir() {
        (path.to_path_buf(), path.join(PROJECT_FILE))
    } else {
        return Ok(None);
    };
    if !file.is_file() {
        if !dir.join("Cargo.toml").is_file()
            && let Some((marker, language)) =
                FOREIGN_MARKERS.iter().find(|(m, _)| dir.join(m).is_file())
        {
            let name = dir
                .canonicalize()
                .ok()
                .and_then(|d| d.file_name().map(|n| n.to_string_lossy().to_lowercase()))
                .unwrap_or_else(|| "my-filter".into());
            return Err(BuildError::NoProjectFile {
                dir,
                marker: marker.to_string(),
                example: format!(
                    "language = \"{language}\"\nname = \"{name}\"\nversion = \"0.1.0\"\n"
                ),
            });
        }
        return Ok(None);
    }
    let text = std::fs::read_to_string(&file).map_err(|e| BuildError::Io {
        path: file.clone(),
        message: e.to_string(),
    })?;
    let parsed = parse(&text).map_err(|message| BuildError::BadProjectFile {
        path: file.clone(),
        message,
    })?;
    Ok(Some(Project {
        dir: dir.canonicalize().unwrap_or(dir),
        file: parsed,
    }))
}

/// Parses and checks a `wasme.toml`; the error names the line and column.
pub fn parse(text: &str) -> Result<ProjectFile, String> {
    let file: ProjectFile = toml::from_str(text).map_err(|e| {
        let at = e
            .span()
            .map(|s| {
                let before = &text[..s.start.min(text.len())];
                let line = before.matches('\n').count() + 1;
                let column = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
                format!("line {line}, column {column}: ")
            })
            .unwrap_or_default();
        format!("{at}{}", e.message())
    })?;
    if file.language == Language::Rust {
        return Err(
            "`language = \"rust\"`: a Rust filter is a crate; its settings go in Cargo.toml's \
             [package.metadata.wasme], and this file must be removed"
                .into(),
        );
    }
    let name_ok = file.name.starts_with(|c: char| c.is_ascii_lowercase())
        && file
            .name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
    if !name_ok {
        return Err(format!(
            "name {:?}: use lower-case letters, digits, `-` and `_`, starting with a letter \
             (it becomes the image repository)",
            file.name
        ));
    }
    if file.version.is_empty() {
        return Err("version is empty".into());
    }
    if file.root_ids.iter().any(String::is_empty) {
        return Err("root-ids: a root id is empty".into());
    }
    if file.language == Language::AssemblyScript && !file.sources.is_empty() {
        return Err("sources: an AssemblyScript project names its `entry` instead".into());
    }
    if file.language != Language::AssemblyScript && (file.entry.is_some()) {
        return Err(
            "entry: only AssemblyScript projects have one; C and C++ list `sources`".into(),
        );
    }
    Ok(file)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_project_file_and_rejects_mistakes_with_their_place() {
        let p = parse("language = \"cpp\"\nname = \"f\"\nversion = \"1.0.0\"\n").unwrap();
        assert_eq!(p.language, Language::Cpp);
        assert!(p.root_ids.is_empty());
        let e =
            parse("language = \"cpp\"\nname = \"f\"\nversion = \"1\"\nrootids = []\n").unwrap_err();
        assert!(
            e.starts_with("line 4, column 1: ") && e.contains("rootids"),
            "{e}"
        );
        let e = parse("language = \"go\"\nname = \"f\"\nversion = \"1\"\n").unwrap_err();
        assert!(e.contains("line 1") && e.contains("go"), "{e}");
        let e = parse("language = \"c\"\nname = \"My\"\nversion = \"1\"\n").unwrap_err();
        assert!(e.contains("lower-case"), "{e}");
        let e = parse("language = \"rust\"\nname = \"f\"\nversion = \"1\"\n").unwrap_err();
        assert!(e.contains("Cargo.toml"), "{e}");
        let e = parse("language = \"c\"\nname = \"f\"\nversion = \"1\"\nentry = \"a.ts\"\n")
            .unwrap_err();
        assert!(e.contains("entry"), "{e}");
    }

    #[test]
    fn a_directory_of_another_toolchain_without_a_project_file_is_refused_with_an_example() {
        let dir = tempfile_dir("wasme-detect");
        assert_eq!(detect(&dir).unwrap(), None);
        std::fs::write(dir.join("package.json"), "{}").unwrap();
        let e = detect(&dir).unwrap_err().to_string();
        assert!(
            e.contains("wasme.toml") && e.contains("language = \"assemblyscript\""),
            "{e}"
        );
        std::fs::write(
            dir.join(PROJECT_FILE),
            "language = \"assemblyscript\"\nname = \"x\"\nversion = \"1\"\n",
        )
        .unwrap();
        let p = detect(&dir).unwrap().unwrap();
        assert_eq!(p.root_ids(), ["x"]);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    fn tempfile_dir(prefix: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("{prefix}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }
}
