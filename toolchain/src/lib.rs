//! `cargo-wasme`: the library behind the `cargo wasme` subcommand.
