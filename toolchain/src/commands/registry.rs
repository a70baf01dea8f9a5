//! CLI glue: registry commands (`push`, `pull`, `login`, `logout`).
//!
//! Results go to stdout (the digest, `Login Succeeded`; JSON lines with
//! `--message-format json`), status lines and progress to stderr. A registry failure is
//! printed as `error: …` with the `help: …` line [`RegistryError::help`] gives.
use anyhow::Context as _;
use cargo_wasme::registry::credentials::{self, Credential};
use cargo_wasme::registry::{Registry, RegistryError, RegistryOptions};
use cargo_wasme::shell;
use cargo_wasme::store::Store;
use std::io::{IsTerminal, Read};
use std::process::ExitCode;

/// How to reach the registry.
#[derive(Debug, clap::Args)]
pub struct ConnectionArgs {
    /// Use plain HTTP (automatic for localhost and 127.0.0.1).
    #[arg(long)]
    pub plain_http: bool,
    /// Accept invalid TLS certificates.
    #[arg(long)]
    pub insecure: bool,
}

impl ConnectionArgs {
    /// The registry options these flags select.
    pub fn options(&self) -> RegistryOptions {
        RegistryOptions {
            plain_http: self.plain_http,
            insecure: self.insecure,
            progress: true,
            ..Default::default()
        }
    }
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

fn open() -> anyhow::Result<Store> {
    Store::open_default().context("cannot open the local store")
}

/// Prints a registry failure with its `help:` line and returns the failure exit code.
fn failed(error: &RegistryError, context: Option<&str>) -> ExitCode {
    let message = match context {
        Some(context) => format!("{context}: {error}"),
        None => error.to_string(),
    };
    shell::error(message, error.help().as_deref());
    ExitCode::FAILURE
}

/// A registry host as typed (`https://ghcr.io/`) reduced to `ghcr.io`.
fn host(server: &str) -> String {
    server
        .trim_start_matches("https://")
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_string()
}

/// Arguments of `cargo wasme push`.
#[derive(Debug, clap::Args)]
pub struct PushArgs {
    /// The local image (e.g. 127.0.0.1:5000/add-header:0.1.0).
    pub reference: String,
    /// Push it under this remote reference instead [default: the local reference].
    pub remote: Option<String>,
    /// Sign the image with this private key first (in the local store; the signature is
    /// pushed with the image, as every stored signature and attestation is).
    #[arg(long, value_name = "KEY")]
    pub sign: Option<std::path::PathBuf>,
    #[command(flatten)]
    pub connection: ConnectionArgs,
}

/// Runs `cargo wasme push`: blobs in chunks with progress, then the manifest; prints the
/// manifest digest on stdout.
pub fn push(args: PushArgs) -> anyhow::Result<ExitCode> {
    let store = open()?;
    if let Some(key) = &args.sign {
        let signed = super::sign::signing_key(key)
            .and_then(|k| cargo_wasme::sign::attach::sign_store(&store, &args.reference, &k));
        if let Err(e) = signed {
            return Ok(super::sign::failed(&e));
        }
    }
    let registry = Registry::new(args.connection.options());
    let report =
        match runtime()?.block_on(registry.push(&store, &args.reference, args.remote.as_deref())) {
            Ok(report) => report,
            Err(e) => return Ok(failed(&e, None)),
        };
    shell::status(
        "Pushed",
        format!(
            "{} ({} blob{} uploaded, {} already there, {}{})",
            report.reference,
            report.uploaded,
            if report.uploaded == 1 { "" } else { "s" },
            report.skipped,
            indicatif::HumanBytes(report.bytes),
            match report.referrers {
                0 => String::new(),
                n => format!(
                    ", {n} signature{} or attestation{}",
                    if n == 1 { "" } else { "s" },
                    if n == 1 { "" } else { "s" }
                ),
            }
        ),
    );
    shell::result(&report.digest);
    shell::json(
        "image-pushed",
        &serde_json::json!({
            "reference": report.reference,
            "digest": report.digest.to_string(),
            "blobs_uploaded": report.uploaded,
            "blobs_skipped": report.skipped,
            "bytes_uploaded": report.bytes,
            "referrers_pushed": report.referrers,
        }),
    );
    Ok(ExitCode::SUCCESS)
}

/// Arguments of `cargo wasme pull`.
#[derive(Debug, clap::Args)]
pub struct PullArgs {
    /// The remote image (tag or digest reference).
    pub reference: String,
    #[command(flatten)]
    pub connection: ConnectionArgs,
}

/// Runs `cargo wasme pull`: stores the image and prints its manifest digest on stdout.
pub fn pull(args: PullArgs) -> anyhow::Result<ExitCode> {
    let policy = super::sign::global_policy()?;
    let registry = Registry::new(args.connection.options());
    let runtime = runtime()?;
    // The verification gate (`sign`): with a key configured, nothing is stored unless a
    // signature verifies, and the verified digest is what is pulled.
    let gate = match runtime.block_on(cargo_wasme::sign::verify::gate(
        &registry,
        &args.reference,
        &policy,
    )) {
        Ok(gate) => gate,
        Err(e) => return Ok(super::sign::failed(&e)),
    };
    super::sign::report_gate(&args.reference, &gate);
    let store = open()?;
    let target = gate
        .as_ref()
        .map_or(args.reference.as_str(), |g| g.pinned.as_str());
    let image = match runtime.block_on(registry.pull(&store, target)) {
        Ok(image) => image,
        Err(e) => return Ok(failed(&e, None)),
    };
    let mut image = image;
    if let Some(g) = &gate
        && let Some(tagged) = super::sign::keep_verified(&store, g, &args.reference)?
    {
        image.reference = tagged.reference;
    }
    shell::status(
        "Pulled",
        format!(
            "{} ({} format, module {}, ABI {}, root ids {})",
            image.reference,
            image.format,
            indicatif::HumanBytes(image.module_size),
            image.abi_versions.join(","),
            image.root_ids.join(",")
        ),
    );
    shell::result(&image.manifest_digest);
    shell::json(
        "image-pulled",
        &serde_json::json!({
            "reference": image.reference,
            "digest": image.manifest_digest.to_string(),
            "format": image.format.to_string(),
            "module_size": image.module_size,
        }),
    );
    Ok(ExitCode::SUCCESS)
}

/// Arguments of `cargo wasme login`.
#[derive(Debug, clap::Args)]
pub struct LoginArgs {
    /// The registry host (e.g. ghcr.io, 127.0.0.1:5000).
    pub server: String,
    /// User name [default: asked for on a terminal].
    #[arg(short, long)]
    pub username: Option<String>,
    /// Password or token (prefer --password-stdin: arguments are visible to other users)
    /// [default: asked for, hidden, on a terminal].
    #[arg(long, conflicts_with = "password_stdin")]
    pub password: Option<String>,
    /// Read the password or token from standard input.
    #[arg(long)]
    pub password_stdin: bool,
    #[command(flatten)]
    pub connection: ConnectionArgs,
}

/// True when the user can be asked: both stdin and stderr (where prompts go) are terminals.
fn interactive() -> bool {
    std::io::stdin().is_terminal() && std::io::stderr().is_terminal()
}

/// The `echo … | cargo wasme login …` command that works without a terminal.
fn stdin_example(server: &str, username: Option<&str>) -> String {
    format!(
        "echo \"$TOKEN\" | cargo wasme login {server} -u {} --password-stdin",
        username.unwrap_or("<user>")
    )
}

/// Runs `cargo wasme login`: asks for what is missing (on a terminal), checks the credentials
/// against the registry, and only then stores them.
pub fn login(args: LoginArgs) -> anyhow::Result<ExitCode> {
    let server = host(&args.server);
    let username = match &args.username {
        Some(u) => u.clone(),
        None if interactive() && !args.password_stdin => dialoguer::Input::<String>::new()
            .with_prompt(format!("Username for {server}"))
            .interact_text()
            .context("cannot read the user name")?,
        None => {
            shell::error(
                "no user name given",
                Some(&format!(
                    "pass it with -u: `{}`",
                    stdin_example(&server, None)
                )),
            );
            return Ok(ExitCode::FAILURE);
        }
    };
    let password = match (&args.password, args.password_stdin) {
        (Some(p), _) => p.clone(),
        (None, true) => {
            let mut s = String::new();
            std::io::stdin()
                .read_to_string(&mut s)
                .context("cannot read the password from stdin")?;
            s.trim_end_matches(['\r', '\n']).to_string()
        }
        (None, false) if interactive() => dialoguer::Password::new()
            .with_prompt(format!("Password for {username}@{server}"))
            .allow_empty_password(true)
            .interact()
            .context("cannot read the password")?,
        (None, false) => {
            shell::error(
                "no password given and standard input is not a terminal to ask for one",
                Some(&format!(
                    "pipe it in: `{}`",
                    stdin_example(&server, Some(&username))
                )),
            );
            return Ok(ExitCode::FAILURE);
        }
    };
    if password.is_empty() {
        shell::error(
            "the password is empty; nothing was stored",
            Some("give the password or access token the registry issued for this account"),
        );
        return Ok(ExitCode::FAILURE);
    }
    let credential = Credential::Basic {
        username: username.clone(),
        password: password.clone(),
    };
    let registry = Registry::new(RegistryOptions {
        credential: Some(credential.clone()),
        progress: false,
        ..args.connection.options()
    });
    if let Err(e) = runtime()?.block_on(registry.verify_login(&server, &credential)) {
        return Ok(failed(
            &e,
            Some(&format!("cannot log in to {server}; nothing was stored")),
        ));
    }
    let stored_in = credentials::store(&server, &username, &password)?;
    shell::status(
        "Stored",
        format!("credentials for {username}@{server} in {stored_in}"),
    );
    shell::result("Login Succeeded");
    shell::json(
        "login",
        &serde_json::json!({
            "registry": server,
            "username": username,
            "stored_in": stored_in.to_string(),
        }),
    );
    Ok(ExitCode::SUCCESS)
}

/// Arguments of `cargo wasme logout`.
#[derive(Debug, clap::Args)]
pub struct LogoutArgs {
    /// The registry host.
    pub server: String,
}

/// Runs `cargo wasme logout`: forgets the credentials stored for the registry.
pub fn logout(args: LogoutArgs) -> anyhow::Result<ExitCode> {
    let server = host(&args.server);
    let removed = credentials::erase(&server)?;
    if removed {
        shell::result(format!("Removed login credentials for {server}"));
    } else {
        shell::result(format!("No credentials were stored for {server}"));
    }
    shell::json(
        "logout",
        &serde_json::json!({ "registry": server, "removed": removed }),
    );
    Ok(ExitCode::SUCCESS)
}
