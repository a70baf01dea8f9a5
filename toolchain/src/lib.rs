//! `cargo-wasme`: the library behind the `cargo wasme` subcommand.
pub mod build;
pub mod credentials;
pub mod deploy;
pub mod host;
pub mod image;
pub mod init;
pub mod module_info;
pub mod reference;
pub mod registry;
pub mod run;
pub mod scenario;
pub mod store;
