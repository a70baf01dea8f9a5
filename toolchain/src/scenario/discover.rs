//! Finding scenario files: `scenarios/*.yaml` and `*.scenario.yaml` of a crate, or the files
//! and directories named on the command line.

use std::path::{Path, PathBuf};

/// A directory that could not be searched for scenario files.
#[derive(Debug, thiserror::Error)]
pub enum DiscoverError {
    /// Walking a crate for its scenario files failed.
    #[error("searching {} for scenarios: {source}", root.display())]
    Search {
        /// The crate (or directory) searched.
        root: PathBuf,
        /// The walk's error.
        source: walkdir::Error,
    },
    /// A directory named on the command line could not be listed.
    #[error("reading the directory {}: {source}", dir.display())]
    ReadDir {
        /// The directory.
        dir: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
}

/// The nearest directory at or above `dir` holding a `Cargo.toml` or a `wasme.toml` (a filter
/// project in C, C++ or AssemblyScript).
pub fn crate_root(dir: &Path) -> Option<PathBuf> {
    dir.ancestors()
        .find(|d| d.join("Cargo.toml").is_file() || d.join(wasme_build::PROJECT_FILE).is_file())
        .map(Path::to_path_buf)
}

fn is_yaml(p: &Path) -> bool {
    p.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("yaml") || e.eq_ignore_ascii_case("yml"))
}

fn is_scenario_yaml(p: &Path) -> bool {
    p.file_name()
        .map(|n| n.to_string_lossy().to_ascii_lowercase())
        .is_some_and(|n| n.ends_with(".scenario.yaml") || n.ends_with(".scenario.yml"))
}

/// The scenario files of the crate containing `dir` (or of `dir` itself when it is not in a
/// crate): every YAML file in `<crate>/scenarios/` and every `*.scenario.yaml` elsewhere in
/// the crate (outside `target/` and hidden directories), sorted.
pub fn default_scenarios(dir: &Path) -> Result<Vec<PathBuf>, DiscoverError> {
    let root = crate_root(dir).unwrap_or_else(|| dir.to_path_buf());
    let mut out = Vec::new();
    let walker = walkdir::WalkDir::new(&root).into_iter().filter_entry(|e| {
        let name = e.file_name().to_string_lossy();
        e.depth() == 0 || !(name.starts_with('.') || (e.file_type().is_dir() && name == "target"))
    });
    for entry in walker {
        let entry = entry.map_err(|source| DiscoverError::Search {
            root: root.clone(),
            source,
        })?;
        let path = entry.path();
        if !entry.file_type().is_file() || !is_yaml(path) {
            continue;
        }
        let in_scenarios_dir = path.parent().is_some_and(|p| p == root.join("scenarios"));
        if in_scenarios_dir || is_scenario_yaml(path) {
            out.push(path.to_path_buf());
        }
    }
    out.sort();
    Ok(out)
}

/// Expands command-line arguments: a file is taken as is; a crate directory gives its
/// [`default_scenarios`]; any other directory gives the YAML files directly inside it.
pub fn expand(args: &[PathBuf]) -> Result<Vec<PathBuf>, DiscoverError> {
    let mut out = Vec::new();
    for arg in args {
        if arg.is_dir() {
            if arg.join("Cargo.toml").is_file() || arg.join(wasme_build::PROJECT_FILE).is_file() {
                out.extend(default_scenarios(arg)?);
            } else {
                let mut files: Vec<PathBuf> = std::fs::read_dir(arg)
                    .map_err(|source| DiscoverError::ReadDir {
                        dir: arg.clone(),
                        source,
                    })?
                    .filter_map(|e| e.ok().map(|e| e.path()))
                    .filter(|p| p.is_file() && is_yaml(p))
                    .collect();
                files.sort();
                out.extend(files);
            }
        } else {
            // A missing file is reported when it is loaded, with the other results.
            out.push(arg.clone());
        }
    }
    Ok(out)
}
