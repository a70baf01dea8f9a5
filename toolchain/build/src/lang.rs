//! The compile stage for filters in C, C++ and AssemblyScript: what cargo is for Rust.
//!
//! * **C** and **C++**: `clang` / `clang++ --target=wasm32-wasi` against wasi-libc (and libc++
//!   for C++), as a WASI reactor (`_initialize`, no `main`) exporting `malloc` for the host.
//!   Debian's packages by default (`--sysroot=/usr`); with `WASI_SDK_PATH` set, wasi-sdk's
//!   clang and sysroot. No emscripten: its modules import `env.emscripten_*` functions that
//!   Envoy does not provide unless built with the exact settings the C++ SDK's Makefile uses.
//! * **AssemblyScript**: `npm ci` from the project's `package-lock.json` (again only when the
//!   lock file changed), then the project's own `asc` from `node_modules`.
//!
//! The `release` profile optimises for size (`-Oz`; asc `--optimizeLevel 3 --shrinkLevel 2`),
//! `dev` does not optimise. Absolute paths are mapped out (`-ffile-prefix-map`) and sources are
//! passed relative and sorted, so two copies of a project build the same bytes. A missing tool
//! is named with the Debian or npm package that provides it.

use super::project::{Language, Project};
use super::{BuildError, BuildOptions};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// What the compile stage produced.
#[derive(Debug, Clone)]
pub(crate) struct Compiled {
    /// The module the compiler wrote.
    pub output: PathBuf,
    /// The compiler's version line (recorded in the image).
    pub compiler: String,
}

/// The Debian packages a C or C++ build needs.
pub const C_PACKAGES: &str = "clang lld wasi-libc libclang-rt-14-dev-wasm32";
/// The Debian packages a C++ build needs beyond [`C_PACKAGES`].
pub const CPP_PACKAGES: &str = "libc++-dev-wasm32 libc++abi-dev-wasm32";

/// Compiles `project` into `<target_dir>/wasm32-wasi/<profile>/<name>.wasm`.
pub(crate) fn build(
    project: &Project,
    options: &BuildOptions,
    target_dir: &Path,
) -> Result<Compiled, BuildError> {
    let profile = options.profile_name();
    if profile != "release" && profile != "dev" {
        return Err(BuildError::Unsupported(format!(
            "the {} project at {} has the profiles `release` and `dev`, not `{profile}` \
             (compiler flags go in wasme.toml's `flags`)",
            project.file.language.display_name(),
            project.dir.display()
        )));
    }
    let out_dir = target_dir.join("wasm32-wasi").join(profile);
    std::fs::create_dir_all(&out_dir).map_err(|e| BuildError::Io {
        path: out_dir.clone(),
        message: e.to_string(),
    })?;
    let output = out_dir.join(format!("{}.wasm", project.file.name.replace('-', "_")));
    match project.file.language {
        Language::C | Language::Cpp => clang(project, profile == "release", &output),
        Language::AssemblyScript => assemblyscript(project, options, profile == "release", &output),
        Language::Rust => Err(BuildError::Unsupported(
            "a Rust filter is built by cargo, not from wasme.toml".into(),
        )),
    }
}

/// A tool that could not be started: what provides it.
fn missing(tool: &str, language: Language, install: &str) -> BuildError {
    BuildError::MissingTool {
        tool: tool.to_string(),
        language: language.display_name().to_string(),
        install: install.to_string(),
    }
}

/// Runs `cmd` in `dir`, echoing its output to stderr; on failure, the error names the package
/// a missing piece comes from when the compiler's message says which.
fn run(
    cmd: &mut Command,
    what: &str,
    project: &Project,
    hints: &[(&str, &str, &str)],
) -> Result<(), BuildError> {
    let out = cmd
        .current_dir(&project.dir)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| BuildError::Spawn(format!("{what}: {e}")))?;
    eprint!("{}", String::from_utf8_lossy(&out.stdout));
    let stderr = String::from_utf8_lossy(&out.stderr);
    eprint!("{stderr}");
    if out.status.success() {
        return Ok(());
    }
    for (needle, tool, install) in hints {
        if stderr.contains(needle) {
            return Err(missing(tool, project.file.language, install));
        }
    }
    Err(BuildError::ToolFailed {
        what: what.to_string(),
        project: project.dir.clone(),
    })
}

/// The clang driver and sysroot: wasi-sdk's when `WASI_SDK_PATH` is set, else Debian's.
fn clang_and_sysroot(language: Language) -> (PathBuf, PathBuf) {
    let name = if language == Language::Cpp {
        "clang++"
    } else {
        "clang"
    };
    match std::env::var_os("WASI_SDK_PATH").filter(|p| !p.is_empty()) {
        Some(sdk) => {
            let sdk = PathBuf::from(sdk);
            (
                sdk.join("bin").join(name),
                sdk.join("share").join("wasi-sysroot"),
            )
        }
        None => (PathBuf::from(name), PathBuf::from("/usr")),
    }
}

/// The version line of a program, or the error naming its package.
fn version_of(program: &Path, language: Language, install: &str) -> Result<String, BuildError> {
    let mut command = Command::new(program);
    command.arg("--version");
    super::first_output_line(command)
        .ok_or_else(|| missing(&program.display().to_string(), language, install))
}

fn sorted_sources(dir: &Path, exts: &[&str]) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir.join("src"))
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.is_file()
                && p.extension()
                    .is_some_and(|e| exts.iter().any(|x| e.eq_ignore_ascii_case(x)))
        })
        .filter_map(|p| p.strip_prefix(dir).ok().map(Path::to_path_buf))
        .collect();
    found.sort();
    found
}

fn clang(project: &Project, release: bool, output: &Path) -> Result<Compiled, BuildError> {
    let language = project.file.language;
    let cpp = language == Language::Cpp;
    let install = if cpp {
        format!("apt-get install {C_PACKAGES} {CPP_PACKAGES} (or set WASI_SDK_PATH to a wasi-sdk)")
    } else {
        format!("apt-get install {C_PACKAGES} (or set WASI_SDK_PATH to a wasi-sdk)")
    };
    let (program, sysroot) = clang_and_sysroot(language);
    let compiler = version_of(&program, language, &install)?;
    let sources = if project.file.sources.is_empty() {
        sorted_sources(
            &project.dir,
            if cpp { &["cc", "cpp", "cxx"] } else { &["c"] },
        )
    } else {
        project.file.sources.clone()
    };
    if sources.is_empty() {
        return Err(BuildError::Unsupported(format!(
            "no {} sources in {}/src and none listed in wasme.toml's `sources`",
            language.display_name(),
            project.dir.display()
        )));
    }
    let include = if project.file.include.is_empty() {
        let default = PathBuf::from("include");
        if project.dir.join(&default).is_dir() {
            vec![default]
        } else {
            Vec::new()
        }
    } else {
        project.file.include.clone()
    };
    let mut cmd = Command::new(&program);
    cmd.arg("--target=wasm32-wasi")
        .arg(format!("--sysroot={}", sysroot.display()))
        .arg("-mexec-model=reactor")
        .arg(format!("-ffile-prefix-map={}/=", project.dir.display()));
    if cpp {
        // clang 14 has no wasm exception handling; libc++ for wasm32-wasi is built without.
        cmd.args(["-std=c++17", "-fno-exceptions"]);
    } else {
        cmd.arg("-std=c11");
    }
    if release {
        cmd.args(["-Oz", "-DNDEBUG"]);
    } else {
        cmd.arg("-O0");
    }
    for dir in &include {
        cmd.arg("-I").arg(dir);
    }
    cmd.args(&project.file.flags)
        // The host allocates guest memory for the values it returns with `malloc` (Envoy calls
        // `malloc` or `proxy_on_memory_allocate`).
        .args(["-Wl,--export=malloc", "-Wl,--export=free"])
        .arg("-o")
        .arg(output)
        .args(&sources);
    let sysroot_hint = format!("apt-get install wasi-libc (sysroot {})", sysroot.display());
    let hints: Vec<(&str, &str, &str)> = vec![
        ("\"wasm-ld\"", "wasm-ld", "apt-get install lld"),
        ("wasm-ld: not found", "wasm-ld", "apt-get install lld"),
        (
            "libclang_rt.builtins-wasm32.a",
            "libclang_rt.builtins-wasm32.a",
            "apt-get install libclang-rt-14-dev-wasm32",
        ),
        ("'stdlib.h' file not found", "wasi-libc", &sysroot_hint),
        ("'stdint.h' file not found", "wasi-libc", &sysroot_hint),
        ("'string.h' file not found", "wasi-libc", &sysroot_hint),
        ("'stddef.h' file not found", "wasi-libc", &sysroot_hint),
        ("cannot find crt1-reactor.o", "wasi-libc", &sysroot_hint),
        (
            "'string' file not found",
            "libc++ for wasm32-wasi",
            "apt-get install libc++-dev-wasm32 libc++abi-dev-wasm32",
        ),
        (
            "unable to find library -lc++",
            "libc++ for wasm32-wasi",
            "apt-get install libc++-dev-wasm32 libc++abi-dev-wasm32",
        ),
    ];
    run(
        &mut cmd,
        &format!("{} (wasm32-wasi)", program.display()),
        project,
        &hints,
    )?;
    Ok(Compiled {
        output: output.to_path_buf(),
        compiler,
    })
}

/// The `version` of an installed npm package, read from its `package.json`.
fn npm_package_version(project: &Path, package: &str) -> Option<String> {
    let text = std::fs::read_to_string(
        project
            .join("node_modules")
            .join(package)
            .join("package.json"),
    )
    .ok()?;
    let value: serde_json::Value = serde_json::from_str(&text).ok()?;
    value.get("version")?.as_str().map(str::to_string)
}

/// The file `npm ci` is stamped with: the lock file's digest, so an unchanged lock file skips
/// the install.
const NPM_STAMP: &str = ".wasme-package-lock.sha256";

fn assemblyscript(
    project: &Project,
    options: &BuildOptions,
    release: bool,
    output: &Path,
) -> Result<Compiled, BuildError> {
    let language = Language::AssemblyScript;
    let lock = project.dir.join("package-lock.json");
    let lock_bytes = std::fs::read(&lock).map_err(|_| {
        BuildError::Unsupported(format!(
            "{} has no package-lock.json: run `npm install` there once and keep the lock file, \
             so every build installs the same compiler and SDK",
            project.dir.display()
        ))
    })?;
    version_of(
        Path::new("node"),
        language,
        "apt-get install nodejs npm (Node.js 16 or newer)",
    )?;
    let modules = project.dir.join("node_modules");
    let stamp = modules.join(NPM_STAMP);
    let digest = super::sha256_hex(&lock_bytes);
    let asc = modules.join("assemblyscript").join("bin").join("asc");
    let installed =
        asc.is_file() && std::fs::read_to_string(&stamp).is_ok_and(|s| s.trim() == digest);
    if !installed {
        version_of(Path::new("npm"), language, "apt-get install npm")?;
        let mut cmd = Command::new("npm");
        cmd.args(["ci", "--no-audit", "--no-fund"]);
        if options.offline || options.frozen {
            cmd.arg("--offline");
        }
        run(&mut cmd, "npm ci", project, &[])?;
        std::fs::write(&stamp, format!("{digest}\n")).map_err(|e| BuildError::Io {
            path: stamp.clone(),
            message: e.to_string(),
        })?;
    }
    if !asc.is_file() {
        return Err(missing(
            "asc",
            language,
            "npm install --save-exact --save-dev assemblyscript (the project's package.json \
             must list it)",
        ));
    }
    let entry = project
        .file
        .entry
        .clone()
        .unwrap_or_else(|| PathBuf::from("assembly/index.ts"));
    let mut cmd = Command::new("node");
    cmd.arg(&asc).arg(&entry).arg("--binaryFile").arg(output);
    if project.dir.join("asconfig.json").is_file() {
        cmd.args(["--config", "asconfig.json"]);
    }
    if release {
        cmd.args(["--optimizeLevel", "3", "--shrinkLevel", "2", "--noAssert"]);
    } else {
        cmd.args(["--optimizeLevel", "0", "--debug"]);
    }
    cmd.args(&project.file.flags);
    run(&mut cmd, "asc", project, &[])?;
    let version = |p: &str| npm_package_version(&project.dir, p).unwrap_or_else(|| "?".into());
    let mut compiler = format!("assemblyscript {}", version("assemblyscript"));
    if npm_package_version(&project.dir, "@solo-io/proxy-runtime").is_some() {
        compiler.push_str(&format!(
            ", @solo-io/proxy-runtime {}",
            version("@solo-io/proxy-runtime")
        ));
    }
    Ok(Compiled {
        output: output.to_path_buf(),
        compiler,
    })
}
