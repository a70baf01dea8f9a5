//! CLI glue for each command group: parse arguments, call the library, print results.

pub mod author;
pub mod bench;
pub mod build;
pub mod cache;
pub mod deploy;
pub mod fuzz;
pub mod registry;
pub mod sign;
pub mod store;
