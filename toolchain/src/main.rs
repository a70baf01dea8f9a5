//! `cargo wasme` — build, test, push and deploy proxy-wasm filters.
//!
//! Works both as a cargo subcommand (`cargo wasme build`, where cargo passes `wasme` as the
//! first argument) and run directly (`cargo-wasme build`).

use clap::Parser;
use std::process::ExitCode;

mod cli;
mod commands;

fn main() -> ExitCode {
    ignore_file_size_signal();
    let mut args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    // `cargo wasme …` runs `cargo-wasme wasme …`: drop the subcommand name cargo passes.
    if args.get(1).is_some_and(|a| a == "wasme") {
        args.remove(1);
    }
    let cli = cli::Cli::parse_from(args);
    // The README test checks that every `cargo wasme …` line of the documentation parses
    // (flags, values, conflicts) without running it: clap has already exited 2 on an error.
    if std::env::var_os("WASME_PARSE_ONLY").is_some() {
        return ExitCode::SUCCESS;
    }
    cli.init_output();
    cargo_wasme::sign::verify::configure_keys(cli.verify_key.clone());
    match cli::dispatch(cli.command) {
        Ok(code) => code,
        Err(err) => {
            // A registry error carries its own advice (log in, check the address); commands that
            // wrap one (deploy's resolver, cache) get its `help:` line too.
            let registry_help = err
                .chain()
                .find_map(|e| e.downcast_ref::<cargo_wasme::registry::RegistryError>())
                .and_then(|e| e.help());
            let help = cargo_wasme::shell::Help::find(&err)
                .map(str::to_string)
                .or(registry_help);
            cargo_wasme::shell::error(cargo_wasme::shell::chain(err.as_ref()), help.as_deref());
            ExitCode::FAILURE
        }
    }
}

/// Ignores SIGXFSZ. By default a write past `ulimit -f` kills the process silently (exit 153);
/// ignored, the write fails with `EFBIG` instead, which the store reports as a clear "disk full
/// or file-size limit" error, and its temporary files never become visible.
fn ignore_file_size_signal() {
    #[cfg(unix)]
    // SAFETY: installing SIG_IGN for one signal, before any thread starts, with no handler
    // code of our own; nothing else in the process relies on SIGXFSZ.
    unsafe {
        libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
    }
}
