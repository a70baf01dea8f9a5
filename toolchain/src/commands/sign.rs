//! `key generate`, `sign`, `verify`, `sbom`: flags only; the work and its output are
//! `cargo_wasme::sign::actions`.
use super::exit;
use cargo_wasme::sign::actions::{self, Place};
use std::path::PathBuf;
use std::process::ExitCode;

/// `cargo wasme key …`.
#[derive(Debug, clap::Subcommand)]
pub enum KeyCommand {
    /// Generate an ECDSA P-256 key pair: PREFIX.key (PKCS#8 PEM, mode 0600; encrypted with
    /// the password from WASME_KEY_PASSWORD or asked on a terminal) and PREFIX.pub (SPKI PEM,
    /// what `verify --key` and `cosign verify --key` read).
    Generate(KeyGenerateArgs),
}

/// Arguments of `cargo wasme key generate`.
#[derive(Debug, clap::Args)]
pub struct KeyGenerateArgs {
    /// Path prefix of the two files [default: wasme].
    #[arg(default_value = "wasme")]
    pub prefix: PathBuf,
}

/// Runs `cargo wasme key …`.
pub fn key(command: KeyCommand) -> anyhow::Result<ExitCode> {
    let KeyCommand::Generate(args) = command;
    Ok(exit(actions::generate_key(&args.prefix)?))
}

/// Where the image is.
#[derive(Debug, clap::Args)]
pub struct WhereArgs {
    /// Use the registry even when the local store has the reference [default: the store's
    /// copy when it has one, else the registry].
    #[arg(long)]
    pub remote: bool,
    /// Use plain HTTP (automatic for localhost and 127.0.0.1).
    #[arg(long)]
    pub plain_http: bool,
    /// Accept invalid TLS certificates.
    #[arg(long)]
    pub insecure: bool,
}

impl WhereArgs {
    fn place(&self) -> Place {
        Place {
            remote: self.remote,
            plain_http: self.plain_http,
            insecure: self.insecure,
        }
    }
}

/// Arguments of `cargo wasme sign`.
#[derive(Debug, clap::Args)]
pub struct SignArgs {
    /// The image: in the local store (the signature goes with it on `push`), or on a registry.
    pub reference: String,
    /// The private key (PKCS#8 PEM, encrypted or not, or SEC1 PEM).
    #[arg(long, value_name = "FILE")]
    pub key: PathBuf,
    #[command(flatten)]
    pub place: WhereArgs,
}

/// Runs `cargo wasme sign`.
pub fn sign(args: SignArgs) -> anyhow::Result<ExitCode> {
    Ok(exit(actions::sign(
        &args.reference,
        &args.key,
        args.place.place(),
    )?))
}

/// Arguments of `cargo wasme verify`.
#[derive(Debug, clap::Args)]
pub struct VerifyArgs {
    /// The image (local store or registry).
    pub reference: String,
    /// A trusted public key (SPKI PEM); may be given several times: one must verify.
    #[arg(long, value_name = "FILE", required = true)]
    pub key: Vec<PathBuf>,
    #[command(flatten)]
    pub place: WhereArgs,
}

/// Runs `cargo wasme verify`.
pub fn verify(args: VerifyArgs) -> anyhow::Result<ExitCode> {
    Ok(exit(actions::verify_image(
        &args.reference,
        &args.key,
        args.place.place(),
    )?))
}

/// Arguments of `cargo wasme sbom`.
#[derive(Debug, clap::Args)]
pub struct SbomArgs {
    /// The image (local store or registry).
    pub reference: String,
    /// Print the SBOM only when its attestation verifies under this public key (may be
    /// given several times).
    #[arg(long, value_name = "FILE")]
    pub key: Vec<PathBuf>,
    #[command(flatten)]
    pub place: WhereArgs,
}

/// Runs `cargo wasme sbom`.
pub fn sbom(args: SbomArgs) -> anyhow::Result<ExitCode> {
    Ok(exit(actions::print_sbom(
        &args.reference,
        &args.key,
        args.place.place(),
    )?))
}
