//! CLI glue for each command group: parse arguments, call the library, print results.

pub mod args;
pub mod bench;
pub mod build;
pub mod cache;
pub mod deploy;
pub mod fuzz;
pub mod init;
pub mod registry;
pub mod run;
pub mod sign;
pub mod store;
pub mod test;

/// The exit status of a command whose library call says whether it succeeded (a failure it
/// already reported).
pub fn exit(ok: bool) -> std::process::ExitCode {
    if ok {
        std::process::ExitCode::SUCCESS
    } else {
        std::process::ExitCode::FAILURE
    }
}
