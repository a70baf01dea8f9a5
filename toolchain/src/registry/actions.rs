//! What `push`, `login` and `logout` do and print (the gated `pull` is
//! `sign::actions::pull`): results on stdout (the digest, `Login Succeeded`; JSON lines with
//! `--message-format json`), status lines on stderr, and a registry failure as `error: …` with
//! the `help: …` line [`RegistryError::help`] gives ([`failed`]; the functions then return
//! `Ok(false)`, exit status 1).

use crate::registry::credentials::{self, Credential, CredentialsError};
use crate::registry::{Registry, RegistryError, RegistryOptions};
use crate::shell;
use crate::store::{ImageSummary, Store};
use std::io::{IsTerminal, Read};

/// What `push`, `login` and `logout` fail with besides a registry's answer (which they print
/// and report as `Ok(false)`).
#[derive(Debug, thiserror::Error)]
pub enum RegistryActionError {
    /// The async runtime cannot be started.
    #[error("cannot start the async runtime")]
    Runtime(#[source] std::io::Error),
    /// A prompt on the terminal failed.
    #[error("cannot read {what}")]
    Prompt {
        /// What was asked (`the user name`, `the password`).
        what: &'static str,
        /// Why.
        #[source]
        source: dialoguer::Error,
    },
    /// `--password-stdin` could not read standard input.
    #[error("cannot read the password from stdin")]
    PasswordStdin(#[source] std::io::Error),
    /// The credentials cannot be stored or erased.
    #[error(transparent)]
    Credentials(#[from] CredentialsError),
}

/// The async runtime the registry commands block on.
pub fn runtime() -> Result<tokio::runtime::Runtime, RegistryActionError> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(RegistryActionError::Runtime)
}

/// Prints a registry failure (after `context`, when given) with its `help:` line.
pub fn failed(error: &RegistryError, context: Option<&str>) {
    let message = match context {
        Some(context) => format!("{context}: {error}"),
        None => error.to_string(),
    };
    shell::error(message, error.help().as_deref());
}

/// A registry host as typed (`https://ghcr.io/`) reduced to `ghcr.io`.
fn host(server: &str) -> String {
    server
        .trim_start_matches("https://")
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_string()
}

/// `push`: blobs in chunks with progress, then the manifest; prints the manifest digest.
pub fn push(
    store: &Store,
    reference: &str,
    remote: Option<&str>,
    options: RegistryOptions,
) -> Result<bool, RegistryActionError> {
    let registry = Registry::new(options);
    let report = match runtime()?.block_on(registry.push(store, reference, remote)) {
        Ok(report) => report,
        Err(e) => {
            failed(&e, None);
            return Ok(false);
        }
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
    Ok(true)
}

/// The lines `pull` prints for the image it stored.
pub fn report_pulled(image: &ImageSummary) {
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

/// `login`'s request.
#[derive(Debug, Clone, Default)]
pub struct Login {
    /// The registry host as typed.
    pub server: String,
    /// The user name [default: asked on a terminal].
    pub username: Option<String>,
    /// The password [default: stdin with `password_stdin`, else asked on a terminal].
    pub password: Option<String>,
    /// Read the password from standard input.
    pub password_stdin: bool,
}

/// `login`: asks for what is missing (on a terminal), checks the credentials against the
/// registry, and only then stores them.
pub fn login(args: &Login, options: RegistryOptions) -> Result<bool, RegistryActionError> {
    let server = host(&args.server);
    let username = match &args.username {
        Some(u) => u.clone(),
        None if interactive() && !args.password_stdin => dialoguer::Input::<String>::new()
            .with_prompt(format!("Username for {server}"))
            .interact_text()
            .map_err(|source| RegistryActionError::Prompt {
                what: "the user name",
                source,
            })?,
        None => {
            shell::error(
                "no user name given",
                Some(&format!(
                    "pass it with -u: `{}`",
                    stdin_example(&server, None)
                )),
            );
            return Ok(false);
        }
    };
    let password = match (&args.password, args.password_stdin) {
        (Some(p), _) => p.clone(),
        (None, true) => {
            let mut s = String::new();
            std::io::stdin()
                .read_to_string(&mut s)
                .map_err(RegistryActionError::PasswordStdin)?;
            s.trim_end_matches(['\r', '\n']).to_string()
        }
        (None, false) if interactive() => dialoguer::Password::new()
            .with_prompt(format!("Password for {username}@{server}"))
            .allow_empty_password(true)
            .interact()
            .map_err(|source| RegistryActionError::Prompt {
                what: "the password",
                source,
            })?,
        (None, false) => {
            shell::error(
                "no password given and standard input is not a terminal to ask for one",
                Some(&format!(
                    "pipe it in: `{}`",
                    stdin_example(&server, Some(&username))
                )),
            );
            return Ok(false);
        }
    };
    if password.is_empty() {
        shell::error(
            "the password is empty; nothing was stored",
            Some("give the password or access token the registry issued for this account"),
        );
        return Ok(false);
    }
    let credential = Credential::Basic {
        username: username.clone(),
        password: password.clone(),
    };
    let registry = Registry::new(RegistryOptions {
        credential: Some(credential.clone()),
        progress: false,
        ..options
    });
    if let Err(e) = runtime()?.block_on(registry.verify_login(&server, &credential)) {
        failed(
            &e,
            Some(&format!("cannot log in to {server}; nothing was stored")),
        );
        return Ok(false);
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
    Ok(true)
}

/// `logout`: forgets the credentials stored for the registry.
pub fn logout(server: &str) -> Result<(), RegistryActionError> {
    let server = host(server);
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
    Ok(())
}
