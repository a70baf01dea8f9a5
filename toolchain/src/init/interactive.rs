//! `cargo wasme init`'s conversation: the questions asked on a terminal (language, kind of
//! filter, a valid crate name), the checks made before anything is written, and the lines
//! printed after [`generate`](crate::init::generate).

use crate::init::{Dependencies, InitError, InitOptions, Language, Template};
use crate::shell;
use std::io::IsTerminal;
use std::path::PathBuf;

/// Why `cargo wasme init` stopped (nothing was written unless generation itself failed).
#[derive(Debug, thiserror::Error)]
pub enum InitRequestError {
    /// A prompt on the terminal failed.
    #[error("reading {reading}")]
    Prompt {
        /// What was being read, and the flag that skips the prompt.
        reading: &'static str,
        /// Why.
        #[source]
        source: dialoguer::Error,
    },
    /// The crate name (given, or the directory's) is not valid; `help` names a fix.
    #[error("{error}")]
    BadName {
        /// The [`InitError::BadName`] itself (its message is this error's; it has no cause).
        error: InitError,
        /// What to pass instead.
        help: String,
    },
    /// `--sdk-path` does not resolve.
    #[error("--sdk-path {}", path.display())]
    SdkPath {
        /// The path as given.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// `--sdk-path` is not the root of a wasme checkout.
    #[error(
        "--sdk-path {}: no sdk/Cargo.toml there; give the root of a wasme checkout",
        .0.display()
    )]
    NotACheckout(PathBuf),
    /// Generating the project failed.
    #[error(transparent)]
    Generate(#[from] InitError),
}

impl InitRequestError {
    /// What to do about the error, when there is something to say beyond its message.
    pub fn help(&self) -> Option<String> {
        match self {
            InitRequestError::BadName { help, .. } => Some(help.clone()),
            InitRequestError::Generate(InitError::NotEmpty(_)) => {
                Some("give a new directory; `init` never writes into one that has files".into())
            }
            _ => None,
        }
    }
}

/// What `cargo wasme init` was asked for.
#[derive(Debug, Clone, Default)]
pub struct InitRequest {
    /// The project directory to create.
    pub dir: PathBuf,
    /// The kind of filter [default: asked, else `http`].
    pub template: Option<Template>,
    /// The language [default: asked, else `rust`].
    pub language: Option<Language>,
    /// The crate name [default: the directory name].
    pub name: Option<String>,
    /// Never prompt.
    pub yes: bool,
    /// A wasme checkout to depend on.
    pub sdk_path: Option<PathBuf>,
    /// A crates.io version to depend on.
    pub sdk_version: Option<String>,
}

/// `cargo wasme init`: asks (on a terminal, unless `yes`) for what `request` leaves open,
/// checks the crate name before anything is written, generates the project and says what to
/// run next.
pub fn init(args: InitRequest) -> Result<(), InitRequestError> {
    let interactive =
        !args.yes && std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
    let language = match args.language {
        Some(l) => l,
        None if interactive && args.template.is_none() => {
            let languages = [
                Language::Rust,
                Language::Cpp,
                Language::AssemblyScript,
                Language::C,
            ];
            let choice = dialoguer::Select::new()
                .with_prompt("Which language?")
                .items([
                    "Rust            — wasme-sdk, harness tests (HTTP or network filters)",
                    "C++             — clang++ and libc++ for wasm32-wasi",
                    "AssemblyScript  — @solo-io/proxy-runtime, from npm",
                    "C               — clang and wasi-libc, the raw ABI",
                ])
                .default(0)
                .interact()
                .map_err(|source| InitRequestError::Prompt {
                    reading: "your choice (use --language and --yes to skip the prompt)",
                    source,
                })?;
            languages[choice]
        }
        None => Language::Rust,
    };
    let template = match args.template {
        Some(t) => t,
        None if language != Language::Rust => Template::Http,
        None if interactive => {
            let choice = dialoguer::Select::new()
                .with_prompt("Which kind of filter?")
                .items([
                    "http     — HTTP filter (headers, bodies, local replies, callouts)",
                    "network  — network (TCP) filter (connection data, metrics)",
                ])
                .default(0)
                .interact()
                .map_err(|source| InitRequestError::Prompt {
                    reading: "your choice (use --template and --yes to skip the prompt)",
                    source,
                })?;
            if choice == 0 {
                Template::Http
            } else {
                Template::Network
            }
        }
        None => Template::Http,
    };
    let mut name = args.name.clone();
    // Checked before anything is written, as `cargo new` does; the error names a fixed name.
    let (given, flag) = match &name {
        Some(n) => (n.clone(), "--name"),
        None => (
            crate::init::name_from_dir(&args.dir).unwrap_or_default(),
            "the directory name",
        ),
    };
    if let Err(e) = crate::init::validate_name(&given) {
        let suggestion = match &e {
            InitError::BadName { suggestion, .. } => suggestion.clone(),
            _ => None,
        };
        if interactive && args.name.is_none() {
            let mut input = dialoguer::Input::new()
                .with_prompt(format!("{given:?} is not a valid crate name; crate name"))
                .validate_with(|s: &String| {
                    crate::init::validate_name(s).map_err(|e| e.to_string())
                });
            if let Some(s) = &suggestion {
                input = input.default(s.clone());
            }
            let typed: String =
                input
                    .interact_text()
                    .map_err(|source| InitRequestError::Prompt {
                        reading: "the crate name (use --name to skip the prompt)",
                        source,
                    })?;
            name = Some(typed);
        } else {
            let help = match suggestion {
                Some(s) if flag == "--name" => format!("use `--name {s}`"),
                Some(s) => {
                    format!("keep the directory and pass `--name {s}`, or name the directory `{s}`")
                }
                None => "pass --name with a lower-case name that starts with a letter, \
                         e.g. `--name my-filter`"
                    .to_string(),
            };
            return Err(InitRequestError::BadName { error: e, help });
        }
    }
    let deps = match (args.sdk_path, args.sdk_version) {
        (Some(p), _) => {
            let root = p
                .canonicalize()
                .map_err(|source| InitRequestError::SdkPath {
                    path: p.clone(),
                    source,
                })?;
            if !root.join("sdk").join("Cargo.toml").is_file() {
                return Err(InitRequestError::NotACheckout(root));
            }
            Dependencies::Repo(root)
        }
        (None, Some(v)) => Dependencies::Registry(v),
        (None, None) => Dependencies::detect(),
    };
    let written = crate::init::generate(&InitOptions {
        dir: args.dir.clone(),
        name,
        template,
        language,
        deps,
    })?;
    shell::status(
        "Created",
        format_args!(
            "{}{template} filter project in {} ({} files)",
            match language {
                Language::Rust => String::new(),
                other => format!("{} ", other.display_name()),
            },
            args.dir.display(),
            written.len()
        ),
    );
    for f in &written {
        shell::info(format_args!("  {}", f.display()));
    }
    shell::json(
        "project-created",
        &serde_json::json!({ "dir": args.dir, "template": template.to_string(), "language": language.as_str(), "files": written }),
    );
    if language != Language::Rust {
        shell::note(format_args!(
            "next:\n  cd {}\n  cargo wasme test        # build with {}, run scenarios/*.yaml in the harness\n  cargo wasme build       # build the OCI image",
            args.dir.display(),
            match language {
                Language::AssemblyScript => "npm ci + asc",
                Language::Cpp => "clang++",
                _ => "clang",
            }
        ));
        return Ok(());
    }
    shell::note(format_args!(
        "next:\n  cd {}\n  cargo wasme test                # run scenarios/*.yaml in the harness\n  cargo test --features harness   # the harness test in tests/\n  cargo wasme build               # build the OCI image",
        args.dir.display()
    ));
    Ok(())
}
