//! CLI glue: registry commands (`push`, `pull`, `login`, `logout`).
use anyhow::Context as _;
use cargo_wasme::registry::credentials::{self, Credential};
use cargo_wasme::registry::{Registry, RegistryOptions};
use cargo_wasme::store::Store;
use std::io::Read;
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
    fn options(&self) -> RegistryOptions {
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

/// Arguments of `cargo wasme push`.
#[derive(Debug, clap::Args)]
pub struct PushArgs {
    /// The local image (e.g. 127.0.0.1:5000/add-header:0.1.0).
    pub reference: String,
    /// Push it under this remote reference instead [default: the local reference].
    pub remote: Option<String>,
    #[command(flatten)]
    pub connection: ConnectionArgs,
}

/// Runs `cargo wasme push`.
pub fn push(args: PushArgs) -> anyhow::Result<ExitCode> {
    let store = open()?;
    let registry = Registry::new(args.connection.options());
    let report =
        runtime()?.block_on(registry.push(&store, &args.reference, args.remote.as_deref()))?;
    eprintln!(
        "pushed {} ({} blobs uploaded, {} already there, {} bytes)",
        report.reference, report.uploaded, report.skipped, report.bytes
    );
    println!("{}", report.digest);
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

/// Runs `cargo wasme pull`.
pub fn pull(args: PullArgs) -> anyhow::Result<ExitCode> {
    let store = open()?;
    let registry = Registry::new(args.connection.options());
    let image = runtime()?.block_on(registry.pull(&store, &args.reference))?;
    eprintln!(
        "pulled {} ({} format, module {} bytes, ABI {}, root ids {})",
        image.reference,
        image.format,
        image.wasm().len(),
        image.abi_versions.join(","),
        image.root_ids.join(",")
    );
    println!("{}", image.manifest_digest);
    Ok(ExitCode::SUCCESS)
}

/// Arguments of `cargo wasme login`.
#[derive(Debug, clap::Args)]
pub struct LoginArgs {
    /// The registry host (e.g. ghcr.io, 127.0.0.1:5000).
    pub server: String,
    /// User name.
    #[arg(short, long)]
    pub username: String,
    /// Password or token (prefer --password-stdin: arguments are visible to other users).
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
    let password = match (&args.password, args.password_stdin) {
        (Some(p), _) => p.clone(),
        (None, true) => {
            let mut s = String::new();
            std::io::stdin()
                .read_to_string(&mut s)
                .context("cannot read the password from stdin")?;
            s.trim_end_matches(['\r', '\n']).to_string()
        }
        (None, false) => {
            anyhow::bail!(
                "no password given: pipe it in with --password-stdin (e.g. `echo $TOKEN | cargo wasme login {} -u {} --password-stdin`)",
                args.server,
                args.username,
            )
        }
    };
    if password.is_empty() {
        anyhow::bail!("the password is empty: nothing was changed");
    }
    let server = args
        .server
        .trim_start_matches("https://")
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_string();
    let credential = Credential::Basic {
        username: args.username.clone(),
        password: password.clone(),
    };
    let registry = Registry::new(args.connection.options());
    runtime()?
        .block_on(registry.verify_login(&server, &credential))
        .with_context(|| format!("login to {server} failed; nothing was stored"))?;
    let stored_in = credentials::store(&server, &args.username, &password)?;
    println!("Login succeeded: credentials for {server} stored in {stored_in}");
    Ok(ExitCode::SUCCESS)
}

/// Arguments of `cargo wasme logout`.
#[derive(Debug, clap::Args)]
pub struct LogoutArgs {
    /// The registry host.
    pub server: String,
}

/// Runs `cargo wasme logout`.
pub fn logout(args: LogoutArgs) -> anyhow::Result<ExitCode> {
    let server = args
        .server
        .trim_start_matches("https://")
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_string();
    if credentials::erase(&server)? {
        println!("Removed the credentials for {server}");
    } else {
        println!("No credentials were stored for {server}");
    }
    Ok(ExitCode::SUCCESS)
}
