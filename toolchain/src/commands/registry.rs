//! `push`, `pull`, `login`, `logout`: flags only; the work and its output are
//! `cargo_wasme::registry::actions` (and `sign::actions` for `push --sign` and the gated pull).
use super::exit;
use anyhow::Context as _;
use cargo_wasme::registry::RegistryOptions;
use cargo_wasme::registry::actions::{self, Login};
use cargo_wasme::sign::actions as sign;
use cargo_wasme::store::Store;
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

/// Runs `cargo wasme push`.
pub fn push(args: PushArgs) -> anyhow::Result<ExitCode> {
    let store = Store::open_default().context("cannot open the local store")?;
    if let Some(key) = &args.sign
        && !sign::sign_for_push(&store, &args.reference, key)
    {
        return Ok(ExitCode::FAILURE);
    }
    let remote = args.remote.as_deref();
    let options = args.connection.options();
    Ok(exit(actions::push(
        &store,
        &args.reference,
        remote,
        options,
    )?))
}

/// Arguments of `cargo wasme pull`.
#[derive(Debug, clap::Args)]
pub struct PullArgs {
    /// The remote image (tag or digest reference).
    pub reference: String,
    #[command(flatten)]
    pub connection: ConnectionArgs,
}

/// Runs `cargo wasme pull`.
pub fn pull(args: PullArgs) -> anyhow::Result<ExitCode> {
    Ok(exit(sign::pull(
        &args.reference,
        args.connection.options(),
    )?))
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

/// Runs `cargo wasme login`.
pub fn login(args: LoginArgs) -> anyhow::Result<ExitCode> {
    let login = Login {
        server: args.server,
        username: args.username,
        password: args.password,
        password_stdin: args.password_stdin,
    };
    Ok(exit(actions::login(&login, args.connection.options())?))
}

/// Arguments of `cargo wasme logout`.
#[derive(Debug, clap::Args)]
pub struct LogoutArgs {
    /// The registry host.
    pub server: String,
}

/// Runs `cargo wasme logout`.
pub fn logout(args: LogoutArgs) -> anyhow::Result<ExitCode> {
    actions::logout(&args.server)?;
    Ok(ExitCode::SUCCESS)
}
