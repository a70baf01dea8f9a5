//! `cargo-wasme`: the library behind the `cargo wasme` subcommand.
pub mod host;
pub mod init;
pub mod run;
pub mod scenario;
pub mod cargo_build;
pub mod credentials;
pub mod image;
pub mod module_info;
pub mod reference;
pub mod registry;
pub mod store;
pub mod wasm_opt;
pub mod deploy;
