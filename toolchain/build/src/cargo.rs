//! The cargo stage: finding the filter crate (`cargo metadata`), checking the target is
//! installed, and running cargo (`cargo rustc --crate-type cdylib`) whose JSON message stream
//! names the `.wasm` it wrote.

use super::{BuildError, BuildOptions, Language};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// A filter crate found by [`locate`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilterCrate {
    /// Package name.
    pub name: String,
    /// Package version.
    pub version: String,
    /// Its Cargo.toml.
    pub manifest_path: PathBuf,
    /// The root of its workspace.
    pub workspace_root: PathBuf,
    /// Root ids from `[package.metadata.wasme] root-ids` (default: the crate name in snake case).
    pub root_ids: Vec<String>,
    /// The image reference from `[package.metadata.wasme] tag`, when set.
    pub tag: Option<String>,
    /// The target directory cargo builds into.
    pub target_dir: PathBuf,
    /// The language ([`Language::Rust`] for a crate; a `wasme.toml` project's otherwise).
    pub language: Language,
    /// The crate is its workspace's only member (a standalone crate such as `cargo wasme init`
    /// writes): then no other crate the build compiles has its sources under the workspace
    /// root, unless the target directory, `CARGO_HOME` or a `.cargo` configuration (vendored
    /// sources) is there (see [`build_args`]).
    pub only_member: bool,
}

/// The cargo the build runs: `$CARGO` (set when we run as `cargo wasme` or from a test), else
/// `cargo` on PATH.
pub(crate) fn cargo() -> PathBuf {
    std::env::var_os("CARGO")
        .filter(|c| !c.is_empty())
        .map_or_else(|| PathBuf::from("cargo"), PathBuf::from)
}

fn manifest_of(path: &Path) -> PathBuf {
    let manifest = if path.is_dir() {
        path.join("Cargo.toml")
    } else {
        path.to_path_buf()
    };
    // cargo reports canonical paths; compare like with like.
    manifest.canonicalize().unwrap_or(manifest)
}

/// Environment variables of an outer build that must not leak into an isolated wasm build.
const OUTER_BUILD_ENV: &[&str] = &[
    "CARGO_TARGET_DIR",
    "CARGO_BUILD_TARGET",
    "CARGO_BUILD_TARGET_DIR",
    "RUSTFLAGS",
    "CARGO_ENCODED_RUSTFLAGS",
    "CARGO_LLVM_COV",
];

fn apply_env(cmd: &mut Command, options: &BuildOptions) {
    cmd.env_remove("CARGO_BUILD_TARGET");
    if options.isolated {
        for var in OUTER_BUILD_ENV {
            cmd.env_remove(var);
        }
    }
}

/// Finds the filter crate `options` names, checks it is a `cdylib` and reads
/// `[package.metadata.wasme]`.
pub fn locate(options: &BuildOptions) -> Result<FilterCrate, BuildError> {
    let manifest = manifest_of(options.path.as_deref().unwrap_or(Path::new(".")));
    let mut command = cargo_metadata::MetadataCommand::new();
    command
        .cargo_path(cargo())
        .manifest_path(&manifest)
        .no_deps();
    if options.isolated {
        for var in OUTER_BUILD_ENV {
            command.env_remove(var);
        }
    }
    let metadata = command.exec().map_err(|e| BuildError::Metadata {
        path: manifest.clone(),
        message: e.to_string().trim().to_string(),
    })?;
    let members = metadata.workspace_packages();
    let names = || {
        members
            .iter()
            .map(|p| p.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let package = match &options.package {
        Some(name) => members
            .iter()
            .find(|p| p.name.as_str() == name)
            .copied()
            .ok_or_else(|| {
                BuildError::NoPackage(format!(
                    "no package `{name}` in the workspace at {}; members: {}",
                    metadata.workspace_root,
                    names()
                ))
            })?,
        None => members
            .iter()
            .find(|p| p.manifest_path.as_std_path() == manifest)
            .copied()
            .or_else(|| metadata.root_package())
            .ok_or_else(|| {
                BuildError::NoPackage(format!(
                    "{} is a virtual workspace manifest: name the filter with -p (one of: {})",
                    manifest.display(),
                    names()
                ))
            })?,
    };
    let manifest_path = package.manifest_path.clone().into_std_path_buf();
    let is_cdylib = package
        .targets
        .iter()
        .any(|t| t.crate_types.contains(&cargo_metadata::CrateType::CDyLib));
    if !is_cdylib {
        return Err(BuildError::NotCdylib {
            package: package.name.to_string(),
            manifest: manifest_path,
        });
    }
    let meta = package.metadata.get("wasme");
    let bad = |message: &str| BuildError::BadMetadata {
        manifest: manifest_path.clone(),
        message: message.to_string(),
    };
    let root_ids = match meta.and_then(|m| m.get("root-ids").or_else(|| m.get("root_ids"))) {
        None => vec![package.name.replace('-', "_")],
        Some(v) => v
            .as_array()
            .and_then(|a| {
                a.iter()
                    .map(|x| x.as_str().map(str::to_string))
                    .collect::<Option<Vec<_>>>()
            })
            .ok_or_else(|| bad("`root-ids` must be an array of strings"))?,
    };
    let tag = match meta.and_then(|m| m.get("tag")) {
        None => None,
        Some(v) => Some(
            v.as_str()
                .ok_or_else(|| bad("`tag` must be a string"))?
                .to_string(),
        ),
    };
    let workspace_root = metadata.workspace_root.clone().into_std_path_buf();
    let target_dir = match &options.target_dir {
        Some(dir) => dir.clone(),
        // Tests never build into the outer build's target directory: cargo's lock would
        // deadlock, and the outer RUSTFLAGS would change the module.
        None if options.isolated => workspace_root.join("target").join("wasm"),
        None => metadata.target_directory.clone().into_std_path_buf(),
    };
    Ok(FilterCrate {
        name: package.name.to_string(),
        version: package.version.to_string(),
        manifest_path,
        workspace_root,
        root_ids,
        tag,
        target_dir,
        language: Language::Rust,
        only_member: members.len() == 1,
    })
}

/// True when the toolchain `cargo` (`<sysroot>/bin/cargo`, symlinks resolved) belongs to has
/// `<sysroot>/lib/rustlib/<target>/lib`. Spawns nothing, so a no-op rebuild does not pay for
/// `rustup target list` (~50 ms) each time.
fn target_in_sysroot_of(cargo: &Path, target: &str) -> bool {
    cargo
        .canonicalize()
        .ok()
        .and_then(|c| Some(c.parent()?.parent()?.to_path_buf()))
        .is_some_and(|sysroot| {
            sysroot
                .join("lib/rustlib")
                .join(target)
                .join("lib")
                .is_dir()
        })
}

/// Makes sure `target`'s standard library is installed, running `rustup target add` when it is
/// missing and rustup is there.
pub fn ensure_target(target: &str) -> Result<(), BuildError> {
    if std::env::var_os("CARGO").is_some_and(|c| target_in_sysroot_of(Path::new(&c), target)) {
        return Ok(());
    }
    let missing = |why: String| BuildError::Target {
        target: target.to_string(),
        why,
    };
    let sysroot = Command::new(rustc())
        .args(["--print", "sysroot"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()));
    if sysroot.is_some_and(|root| root.join("lib/rustlib").join(target).join("lib").is_dir()) {
        return Ok(());
    }
    eprintln!("installing the {target} target (rustup target add {target})");
    let status = Command::new("rustup")
        .args(["target", "add", target])
        .status()
        .map_err(|e| {
            missing(format!(
                "rustup could not run ({e}): install rustup (https://rustup.rs) and run \
                 `rustup target add {target}`, or install your distribution's {target} standard \
                 library"
            ))
        })?;
    if status.success() {
        Ok(())
    } else {
        Err(missing(format!(
            "`rustup target add {target}` failed ({status}); run it yourself and read its output"
        )))
    }
}

/// The rustc cargo uses: `$RUSTC`, else the `rustc` beside `$CARGO`, else `rustc` on PATH.
fn rustc() -> PathBuf {
    if let Some(r) = std::env::var_os("RUSTC").filter(|r| !r.is_empty()) {
        return PathBuf::from(r);
    }
    std::env::var_os("CARGO")
        .and_then(|c| Path::new(&c).canonicalize().ok())
        .map(|c| c.with_file_name("rustc"))
        .filter(|r| r.is_file())
        .unwrap_or_else(|| PathBuf::from("rustc"))
}

/// The first line of `rustc -vV` run in `dir` (so a `rust-toolchain.toml` there picks the same
/// toolchain cargo uses), e.g. `rustc 1.95.0 (59807616e 2026-04-14)`.
pub fn rustc_version(dir: &Path) -> String {
    let mut command = Command::new(rustc());
    command.arg("-vV").current_dir(dir);
    super::first_output_line(command).unwrap_or_else(|| "unknown".to_string())
}

/// The `--config` overrides of the size profile (applied to `release` unless the user names
/// another profile): the smallest module rustc makes, measured in the README.
fn size_profile_config(profile: &str, debug_names: bool) -> Vec<String> {
    let p = format!("profile.{profile}");
    vec![
        format!("{p}.opt-level=\"z\""),
        format!("{p}.lto=true"),
        format!("{p}.codegen-units=1"),
        format!("{p}.panic=\"abort\""),
        format!("{p}.debug=false"),
        format!(
            "{p}.strip=\"{}\"",
            if debug_names { "debuginfo" } else { "symbols" }
        ),
    ]
}

/// `CARGO_HOME`, as cargo finds it (`$CARGO_HOME`, else `$HOME/.cargo`).
fn cargo_home() -> Option<PathBuf> {
    std::env::var_os("CARGO_HOME")
        .filter(|h| !h.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))
}

/// `--remap-path-prefix` flags that take the machine out of the module: panic locations embed
/// source paths, and `$CARGO_HOME/registry/src/<index>/` or the workspace's absolute path would
/// make the same source give another digest on another machine (or for another user). These
/// are the dependency sources' prefixes; the workspace root's is [`root_remap`].
fn remap_flags() -> Vec<String> {
    let mut flags = Vec::new();
    if let Some(home) = cargo_home() {
        for (dir, to) in [("registry/src", ""), ("git/checkouts", "git/")] {
            let Ok(entries) = std::fs::read_dir(home.join(dir)) else {
                continue;
            };
            let mut sources: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
            sources.sort();
            for source in sources {
                flags.push(format!("--remap-path-prefix={}/={to}", source.display()));
            }
        }
    }
    flags
}

/// The workspace root's `--remap-path-prefix` flag (the last one, so it wins over the others).
fn root_remap(filter: &FilterCrate) -> String {
    format!("--remap-path-prefix={}/=", filter.workspace_root.display())
}

/// Whether the workspace root's remap can be given to the filter crate alone (`cargo rustc --
/// FLAG`) instead of to every crate (the target's rustflags). It changes no byte of the module
/// when no other crate the build compiles lives under the root: the filter is the only member,
/// the target directory (build scripts' `OUT_DIR`) and `CARGO_HOME` (registry and git sources)
/// are neither under the root nor around it, and the root has no `.cargo` directory (whose configuration could vendor
/// sources there). What it saves: the dependencies' rustflags no longer name the workspace,
/// so standalone crates sharing a target directory (every `cargo wasme init` project built
/// into one `CARGO_TARGET_DIR`) share their compiled dependencies instead of each rebuilding
/// all of them, in both the release and the schema profile.
fn root_remap_on_the_crate_only(filter: &FilterCrate, options: &BuildOptions) -> bool {
    let absolute = |p: &Path| {
        p.canonicalize()
            .or_else(|_| std::path::absolute(p))
            .unwrap_or_else(|_| p.to_path_buf())
    };
    let root = absolute(&filter.workspace_root);
    filter.only_member
        // Rustc arguments of the user's after `--` would be mixed up with ours.
        && !options.cargo_args.iter().any(|a| a == "--")
        && !absolute(&filter.target_dir).starts_with(&root)
        && !cargo_home().is_some_and(|h| {
            let h = absolute(&h);
            h.starts_with(&root) || root.starts_with(&h)
        })
        && !root.join(".cargo").exists()
}

/// A TOML array of strings (for a `--config` value).
fn toml_array(items: &[String]) -> String {
    let quoted: Vec<String> = items
        .iter()
        .map(|s| format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\"")))
        .collect();
    format!("[{}]", quoted.join(", "))
}

/// The cargo command line of a build (without the program).
pub(crate) fn build_args(filter: &FilterCrate, options: &BuildOptions) -> Vec<String> {
    let profile = options.profile_name();
    // `cargo rustc --crate-type cdylib` rather than `cargo build`: filters are often
    // `["cdylib", "rlib"]` (the rlib for native unit tests), and cargo drops LTO for a crate
    // that also builds an rlib, which costs add-header 20% of its size.
    let mut args: Vec<String> = vec![
        "rustc".into(),
        "--lib".into(),
        "--crate-type".into(),
        "cdylib".into(),
        "--target".into(),
        options.target.clone(),
        "--message-format=json-render-diagnostics".into(),
        "--profile".into(),
        profile.to_string(),
        "--manifest-path".into(),
        filter.manifest_path.display().to_string(),
        "-p".into(),
        filter.name.clone(),
        "--target-dir".into(),
        filter.target_dir.display().to_string(),
    ];
    if options.size_profile() {
        for c in size_profile_config(profile, options.debug_names) {
            args.push("--config".into());
            args.push(c);
        }
    }
    // Appended to the target's rustflags from the user's config (RUSTFLAGS in the
    // environment replaces them, as cargo does for every config rustflags).
    args.push("--config".into());
    let crate_only = root_remap_on_the_crate_only(filter, options);
    let mut rustflags = remap_flags();
    if !crate_only {
        rustflags.push(root_remap(filter));
    }
    args.push(format!(
        "target.{}.rustflags={}",
        options.target,
        toml_array(&rustflags)
    ));
    for f in &options.features {
        args.push("--features".into());
        args.push(f.clone());
    }
    for (on, flag) in [
        (options.all_features, "--all-features"),
        (options.no_default_features, "--no-default-features"),
        (options.locked, "--locked"),
        (options.offline, "--offline"),
        (options.frozen, "--frozen"),
    ] {
        if on {
            args.push(flag.into());
        }
    }
    args.extend(options.cargo_args.iter().cloned());
    if crate_only {
        // After the rustflags on the filter's command line, so it wins as it did last in them.
        args.push("--".into());
        args.push(root_remap(filter));
    }
    args
}

/// The name `filter`'s manifest gives its `wasme-sdk` dependency (renamed or not), for
/// `--features NAME/schema-export`.
pub(crate) fn sdk_dependency(filter: &FilterCrate) -> Result<String, BuildError> {
    let metadata = cargo_metadata::MetadataCommand::new()
        .cargo_path(cargo())
        .manifest_path(&filter.manifest_path)
        .no_deps()
        .exec()
        .map_err(|e| BuildError::Metadata {
            path: filter.manifest_path.clone(),
            message: e.to_string(),
        })?;
    metadata
        .packages
        .iter()
        .filter(|p| p.name.as_str() == filter.name)
        .flat_map(|p| &p.dependencies)
        .find(|d| d.name == "wasme-sdk")
        .map(|d| d.rename.clone().unwrap_or_else(|| d.name.clone()))
        .ok_or_else(|| BuildError::Module {
            path: filter.manifest_path.clone(),
            message: "the module was built with `wasme_sdk::export_config_schema!` but the crate \
                      has no `wasme-sdk` dependency to build its schema with"
                .into(),
        })
}

/// Runs cargo and returns the `.wasm` it wrote for `filter`. cargo's diagnostics go to stderr
/// as cargo renders them.
pub fn build(filter: &FilterCrate, options: &BuildOptions) -> Result<PathBuf, BuildError> {
    ensure_target(&options.target)?;
    let mut cmd = Command::new(cargo());
    cmd.args(build_args(filter, options))
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    apply_env(&mut cmd, options);
    let mut child = cmd.spawn().map_err(|e| BuildError::Spawn(e.to_string()))?;
    let lib_name = filter.name.replace('-', "_");
    let mut wasm = None;
    if let Some(stdout) = child.stdout.take() {
        let reader = std::io::BufReader::new(stdout);
        for message in cargo_metadata::Message::parse_stream(reader).flatten() {
            if let cargo_metadata::Message::CompilerArtifact(artifact) = message
                && artifact.target.name.replace('-', "_") == lib_name
                && let Some(file) = artifact
                    .filenames
                    .iter()
                    .find(|f| f.extension() == Some("wasm"))
            {
                wasm = Some(file.clone().into_std_path_buf());
            }
        }
    }
    let status = child.wait().map_err(|e| BuildError::Spawn(e.to_string()))?;
    if !status.success() {
        return Err(BuildError::Failed {
            package: filter.name.clone(),
            target: options.target.clone(),
        });
    }
    wasm.ok_or_else(|| BuildError::NoModule {
        package: filter.name.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::WASM_TARGET;

    #[test]
    fn the_target_is_found_in_the_sysroot_of_the_cargo_that_runs_us() -> Result<(), String> {
        let dir = std::env::temp_dir().join(format!("wasme-sysroot-{}", std::process::id()));
        let cargo = dir.join("bin/cargo");
        std::fs::create_dir_all(dir.join("bin")).map_err(|e| e.to_string())?;
        std::fs::write(&cargo, "").map_err(|e| e.to_string())?;
        assert!(!target_in_sysroot_of(&cargo, WASM_TARGET), "no target yet");
        std::fs::create_dir_all(dir.join("lib/rustlib").join(WASM_TARGET).join("lib"))
            .map_err(|e| e.to_string())?;
        assert!(target_in_sysroot_of(&cargo, WASM_TARGET));
        // A cargo that does not exist (or a rustup proxy elsewhere) never counts.
        assert!(!target_in_sysroot_of(
            &dir.join("nowhere/bin/cargo"),
            WASM_TARGET
        ));
        let _ = std::fs::remove_dir_all(&dir);
        Ok(())
    }

    #[test]
    fn the_size_profile_is_passed_only_for_the_default_profile() {
        let filter = FilterCrate {
            name: "f".into(),
            version: "0.1.0".into(),
            manifest_path: "/x/Cargo.toml".into(),
            workspace_root: "/x".into(),
            root_ids: vec!["f".into()],
            tag: None,
            target_dir: "/x/target".into(),
            language: Language::Rust,
            only_member: true,
        };
        let default = build_args(&filter, &BuildOptions::default());
        assert!(default.contains(&"profile.release.opt-level=\"z\"".to_string()));
        assert!(default.contains(&"profile.release.strip=\"symbols\"".to_string()));
        assert!(
            default
                .iter()
                .any(|a| a.starts_with("target.wasm32-wasip1.rustflags=[")
                    && a.contains("\"--remap-path-prefix=/x/=\"")),
            "{default:?}"
        );
        let named = build_args(
            &filter,
            &BuildOptions {
                profile: Some("mine".into()),
                locked: true,
                features: vec!["a,b".into()],
                ..BuildOptions::default()
            },
        );
        assert!(
            !named.iter().any(|a| a.starts_with("profile.")),
            "{named:?}"
        );
        assert!(named.windows(2).any(|w| w == ["--profile", "mine"]));
        assert!(named.windows(2).any(|w| w == ["--features", "a,b"]));
        assert!(named.contains(&"--locked".to_string()));
    }

    #[test]
    fn the_root_remap_goes_to_the_crate_alone_only_when_nothing_else_is_under_the_root() {
        let has_root_rustflag = |args: &[String]| {
            args.iter().any(|a| {
                a.starts_with("target.wasm32-wasip1.rustflags=")
                    && a.contains("\"--remap-path-prefix=/nowhere/standalone/=\"")
            })
        };
        let on_the_crate = |args: &[String]| {
            args.ends_with(&[
                "--".into(),
                "--remap-path-prefix=/nowhere/standalone/=".into(),
            ])
        };
        let mut filter = FilterCrate {
            name: "f".into(),
            version: "0.1.0".into(),
            manifest_path: "/nowhere/standalone/Cargo.toml".into(),
            workspace_root: "/nowhere/standalone".into(),
            root_ids: vec!["f".into()],
            tag: None,
            target_dir: "/nowhere/shared-target".into(),
            language: Language::Rust,
            only_member: true,
        };
        // A standalone crate building into a target directory elsewhere: the dependencies'
        // rustflags do not name the root, the crate's command line does.
        let args = build_args(&filter, &BuildOptions::default());
        assert!(on_the_crate(&args) && !has_root_rustflag(&args), "{args:?}");
        // The target directory under the root (build scripts' OUT_DIR): every crate.
        filter.target_dir = "/nowhere/standalone/target".into();
        let args = build_args(&filter, &BuildOptions::default());
        assert!(!on_the_crate(&args) && has_root_rustflag(&args), "{args:?}");
        // Other members (path dependencies under the root): every crate.
        filter.target_dir = "/nowhere/shared-target".into();
        filter.only_member = false;
        let args = build_args(&filter, &BuildOptions::default());
        assert!(!on_the_crate(&args) && has_root_rustflag(&args), "{args:?}");
        // Rustc arguments of the user's: every crate, and ours are not mixed in.
        filter.only_member = true;
        let options = BuildOptions {
            cargo_args: vec!["--".into(), "-Cdebuginfo=0".into()],
            ..BuildOptions::default()
        };
        let args = build_args(&filter, &options);
        assert!(!on_the_crate(&args) && has_root_rustflag(&args), "{args:?}");
        assert_eq!(args.iter().filter(|a| *a == "--").count(), 1);
    }
}
