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
