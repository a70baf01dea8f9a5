//! Registry credentials where docker, podman, oras and helm keep them.
//!
//! Reading goes through `docker_credential`: `$DOCKER_CONFIG/config.json` (or
//! `~/.docker/config.json`) with `auths`, `credHelpers` and `credsStore`, then podman's
//! `auth.json`. Writing (`login`/`logout`) is ours, since that crate only reads: through the
//! configured helper (`docker-credential-<x> store|erase`) when there is one, else into
//! `config.json`'s `auths`, replaced atomically with mode 0600 and every other entry kept.
//! A `config.json` not shaped as docker writes it is refused rather than rewritten, and a
//! symlinked one is updated where its link points.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use docker_credential::{CredentialRetrievalError, DockerCredential};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// How to authenticate to a registry.
#[derive(Clone, PartialEq, Eq)]
pub enum Credential {
    /// No credentials.
    Anonymous,
    /// A user name and password (or access token used as a password).
    Basic {
        /// User name.
        username: String,
        /// Password.
        password: String,
    },
    /// An identity/bearer token.
    Token(String),
}

impl std::fmt::Debug for Credential {
    // Never print secrets, not even in debug logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Credential::Anonymous => f.write_str("Anonymous"),
            Credential::Basic { username, .. } => write!(f, "Basic({username}, ***)"),
            Credential::Token(_) => f.write_str("Token(***)"),
        }
    }
}

impl From<Credential> for oci_client::secrets::RegistryAuth {
    fn from(c: Credential) -> Self {
        use oci_client::secrets::RegistryAuth;
        match c {
            Credential::Anonymous => RegistryAuth::Anonymous,
            Credential::Basic { username, password } => RegistryAuth::Basic(username, password),
            Credential::Token(t) => RegistryAuth::Bearer(t),
        }
    }
}

/// Why credentials could not be read or written. The credential files are unchanged.
#[derive(Debug, thiserror::Error)]
pub enum CredentialsError {
    /// The docker config file is not valid JSON.
    #[error(
        "{path} is not valid JSON ({message}); fix or move it, then try again (nothing was changed)"
    )]
    BadConfig {
        /// The file.
        path: PathBuf,
        /// The parse error.
        message: String,
    },
    /// The docker config file parses but is not shaped as docker writes it.
    #[error(
        "{path} does not have the structure docker writes ({message}); refusing to change it so \
         no entry is lost: fix or move it, then try again (nothing was changed)"
    )]
    UnexpectedConfig {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// A credential helper failed.
    #[error(
        "credential helper `docker-credential-{helper}` failed: {message}; check that it is installed and on PATH, or remove it from {config}"
    )]
    Helper {
        /// The helper's name.
        helper: String,
        /// What went wrong.
        message: String,
        /// The config naming it.
        config: PathBuf,
    },
    /// Reading credentials failed.
    #[error("cannot read the credentials for {server}: {message}")]
    Read {
        /// The registry.
        server: String,
        /// What went wrong.
        message: String,
    },
    /// Writing the config failed.
    #[error(
        "cannot write {path}: {source}; check the directory's permissions or set DOCKER_CONFIG to a writable directory"
    )]
    Write {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// No home directory and no `DOCKER_CONFIG`.
    #[error("cannot find docker's config directory: set DOCKER_CONFIG or HOME")]
    NoConfigDir,
}

/// Docker's config directory: `$DOCKER_CONFIG`, else `~/.docker`.
pub fn config_dir() -> Option<PathBuf> {
    std::env::var_os("DOCKER_CONFIG")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .or_else(|| dirs::home_dir().map(|h| h.join(".docker")))
}

/// The key docker uses for a registry host in `config.json` (Docker Hub's legacy URL for
/// `docker.io`).
pub fn server_key(registry: &str) -> String {
    let host = registry
        .trim_start_matches("https://")
        .trim_start_matches("http://")
        .split('/')
        .next()
        .unwrap_or(registry);
    match host {
        "docker.io" | "index.docker.io" | "registry-1.docker.io" => {
            "https://index.docker.io/v1/".to_string()
        }
        h => h.to_string(),
    }
}

fn is_not_found(e: &CredentialRetrievalError) -> bool {
    match e {
        CredentialRetrievalError::NoCredentialConfigured
        | CredentialRetrievalError::ConfigNotFound
        | CredentialRetrievalError::ConfigReadError => true,
        CredentialRetrievalError::HelperFailure { stdout, stderr, .. } => {
            let text = format!("{stdout}{stderr}").to_lowercase();
            text.contains("not found") || text.contains("no credentials")
        }
        _ => false,
    }
}

fn from_docker(c: DockerCredential) -> Credential {
    match c {
        DockerCredential::IdentityToken(t) => Credential::Token(t),
        DockerCredential::UsernamePassword(username, password) => {
            Credential::Basic { username, password }
        }
    }
}

/// The credentials for `registry` (a host, e.g. `ghcr.io` or `127.0.0.1:5000`):
/// docker's config (helpers included), then podman's `auth.json`, else anonymous.
pub fn lookup(registry: &str) -> Result<Credential, CredentialsError> {
    let key = server_key(registry);
    let mut keys = vec![key.clone()];
    if !key.starts_with("https://") {
        keys.push(format!("https://{key}"));
        keys.push(format!("http://{key}"));
    }
    for k in &keys {
        match docker_credential::get_credential(k) {
            Ok(c) => return Ok(from_docker(c)),
            Err(e) if is_not_found(&e) => {}
            Err(e) => {
                return Err(CredentialsError::Read {
                    server: registry.to_string(),
                    message: e.to_string().trim().to_string(),
                });
            }
        }
    }
    for k in &keys {
        if let Ok(c) = docker_credential::get_podman_credential(k) {
            return Ok(from_docker(c));
        }
    }
    Ok(Credential::Anonymous)
}

/// Where `store` put the credentials.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoredIn {
    /// Through `docker-credential-<name>`.
    Helper(String),
    /// In this config file's `auths`.
    ConfigFile(PathBuf),
}

impl std::fmt::Display for StoredIn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StoredIn::Helper(h) => write!(f, "credential helper docker-credential-{h}"),
            StoredIn::ConfigFile(p) => write!(f, "{}", p.display()),
        }
    }
}

fn config_path() -> Result<PathBuf, CredentialsError> {
    Ok(config_dir()
        .ok_or(CredentialsError::NoConfigDir)?
        .join("config.json"))
}

fn read_config(
    path: &Path,
) -> Result<serde_json::Map<String, serde_json::Value>, CredentialsError> {
    match std::fs::read(path) {
        Ok(bytes) if bytes.iter().all(u8::is_ascii_whitespace) => Ok(Default::default()),
        Ok(bytes) => match serde_json::from_slice::<serde_json::Value>(&bytes) {
            Ok(serde_json::Value::Object(map)) => Ok(map),
            Ok(_) => Err(CredentialsError::BadConfig {
                path: path.to_path_buf(),
                message: "the top level is not an object".into(),
            }),
            Err(e) => Err(CredentialsError::BadConfig {
                path: path.to_path_buf(),
                message: e.to_string(),
            }),
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Default::default()),
        Err(source) => Err(CredentialsError::Write {
            path: path.to_path_buf(),
            source,
        }),
    }
}

/// Checks that `config` has the shape docker writes where `login`/`logout` change it:
/// `auths` an object of objects (each `auth` a string), `credHelpers` an object of strings,
/// `credsStore` a string. Anything else would be lost or misread by a rewrite.
fn check_structure(
    path: &Path,
    config: &serde_json::Map<String, serde_json::Value>,
) -> Result<(), CredentialsError> {
    let bad = |message: String| CredentialsError::UnexpectedConfig {
        path: path.to_path_buf(),
        message,
    };
    if let Some(auths) = config.get("auths") {
        let auths = auths
            .as_object()
            .ok_or_else(|| bad("`auths` is not an object".into()))?;
        for (key, entry) in auths {
            let entry = entry
                .as_object()
                .ok_or_else(|| bad(format!("`auths.{key}` is not an object")))?;
            if entry.get("auth").is_some_and(|a| !a.is_string()) {
                return Err(bad(format!("`auths.{key}.auth` is not a string")));
            }
        }
    }
    if let Some(helpers) = config.get("credHelpers") {
        let helpers = helpers
            .as_object()
            .ok_or_else(|| bad("`credHelpers` is not an object".into()))?;
        if let Some((key, _)) = helpers.iter().find(|(_, v)| !v.is_string()) {
            return Err(bad(format!("`credHelpers.{key}` is not a string")));
        }
    }
    if config.get("credsStore").is_some_and(|s| !s.is_string()) {
        return Err(bad("`credsStore` is not a string".into()));
    }
    Ok(())
}

/// The file a write to `path` must change: `path` itself, or the file its chain of symlinks
/// names (so a `config.json` linked from a dotfiles repository stays a link).
fn write_target(path: &Path) -> Result<PathBuf, CredentialsError> {
    let mut current = path.to_path_buf();
    // Linux gives up after 40 links (ELOOP); so do we.
    for _ in 0..40 {
        match std::fs::symlink_metadata(&current) {
            Ok(m) if m.file_type().is_symlink() => {
                let target =
                    std::fs::read_link(&current).map_err(|source| CredentialsError::Write {
                        path: current.clone(),
                        source,
                    })?;
                current = match current.parent() {
                    Some(dir) if target.is_relative() => dir.join(target),
                    _ => target,
                };
            }
            _ => return Ok(current),
        }
    }
    Err(CredentialsError::Write {
        path: path.to_path_buf(),
        source: std::io::Error::other("too many levels of symbolic links"),
    })
}

fn write_config(
    path: &Path,
    config: &serde_json::Map<String, serde_json::Value>,
) -> Result<(), CredentialsError> {
    let path = &write_target(path)?;
    let err = |source| CredentialsError::Write {
        path: path.to_path_buf(),
        source,
    };
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(err)?;
    let mut tmp = tempfile::Builder::new()
        .prefix(".config.json.")
        .tempfile_in(dir)
        .map_err(err)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        tmp.as_file()
            .set_permissions(std::fs::Permissions::from_mode(0o600))
            .map_err(err)?;
    }
    let mut bytes = serde_json::to_vec_pretty(config).unwrap_or_default();
    bytes.push(b'\n');
    tmp.write_all(&bytes)
        .and_then(|()| tmp.as_file().sync_all())
        .map_err(err)?;
    tmp.persist(path).map_err(|e| err(e.error))?;
    Ok(())
}

fn helper_for(config: &serde_json::Map<String, serde_json::Value>, key: &str) -> Option<String> {
    config
        .get("credHelpers")
        .and_then(|h| h.get(key))
        .and_then(|h| h.as_str())
        .or_else(|| config.get("credsStore").and_then(|s| s.as_str()))
        .filter(|h| !h.is_empty())
        .map(str::to_string)
}

fn run_helper(
    helper: &str,
    action: &str,
    input: &[u8],
    config: &Path,
) -> Result<(), CredentialsError> {
    let herr = |message: String| CredentialsError::Helper {
        helper: helper.to_string(),
        message,
        config: config.to_path_buf(),
    };
    let mut child = Command::new(format!("docker-credential-{helper}"))
        .arg(action)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| herr(e.to_string()))?;
    if let Some(mut stdin) = child.stdin.take() {
        // A helper may exit without reading its input (a shell `erase` that only deletes a
        // file): the pipe then breaks, and its exit status below is the answer, as docker's own
        // client (Go's exec) treats it. Any other write error is real.
        match stdin.write_all(input) {
            Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
                return Err(herr(e.to_string()));
            }
            _ => {}
        }
    }
    let out = child.wait_with_output().map_err(|e| herr(e.to_string()))?;
    if out.status.success() {
        Ok(())
    } else {
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        Err(herr(format!(
            "`{action}` exited with {}: {}",
            out.status,
            text.trim()
        )))
    }
}

/// Saves credentials for `registry`: through its helper when one is configured, else in
/// `config.json`'s `auths` (mode 0600, other entries kept).
pub fn store(registry: &str, username: &str, password: &str) -> Result<StoredIn, CredentialsError> {
    let path = config_path()?;
    let mut config = read_config(&path)?;
    check_structure(&path, &config)?;
    let key = server_key(registry);
    if let Some(helper) = helper_for(&config, &key) {
        let input = serde_json::json!({"ServerURL": key, "Username": username, "Secret": password});
        run_helper(&helper, "store", input.to_string().as_bytes(), &path)?;
        return Ok(StoredIn::Helper(helper));
    }
    let auths = config
        .entry("auths")
        .or_insert_with(|| serde_json::Value::Object(Default::default()));
    // `check_structure` made sure an existing `auths` is an object.
    if let Some(auths) = auths.as_object_mut() {
        auths.insert(
            key,
            serde_json::json!({"auth": BASE64.encode(format!("{username}:{password}"))}),
        );
    }
    write_config(&path, &config)?;
    Ok(StoredIn::ConfigFile(path))
}

/// Forgets the credentials for `registry` (helper `erase`, and its `auths` entry). Returns
/// whether anything was removed.
pub fn erase(registry: &str) -> Result<bool, CredentialsError> {
    let path = config_path()?;
    let mut config = read_config(&path)?;
    check_structure(&path, &config)?;
    let key = server_key(registry);
    let mut removed = false;
    if let Some(helper) = helper_for(&config, &key) {
        run_helper(&helper, "erase", key.as_bytes(), &path)?;
        removed = true;
    }
    let had = config
        .get_mut("auths")
        .and_then(|a| a.as_object_mut())
        .and_then(|a| a.remove(&key))
        .is_some();
    if had {
        write_config(&path, &config)?;
    }
    Ok(removed || had)
}
