//! Fuzzing a filter: generated Envoy-realistic traffic through the real module, invariants
//! judged after every exchange, and a failure shrunk to a minimal [`Exchange`].
//!
//! * [`input`](Exchange) — the input model: an [`Exchange`] is one request (or TCP
//!   connection) with what the client, the upstream, the callout clusters and the clock do;
//! * `generate` — proptest strategies for it ([`TrafficKind`]: HTTP, gRPC, TCP);
//! * `drive` — playing an exchange on a [`Host`];
//! * `invariants` — what must hold after each ([`Violation`], [`UserInvariant`]);
//! * `leak` — guest memory across exchanges (a bytes-per-exchange slope), and the one
//!   judgement of a leak over repeats of the same input ([`measure_growth`]), which the
//!   scenario expectation `guest_memory` of `cargo wasme test` shares;
//! * `runner` — the loop and the shrinking.
//!
//! Generation and shrinking are proptest's (strategies, `TestRunner`'s seeded ChaCha RNG,
//! `ValueTree::simplify`/`complicate`), not `arbitrary`: an `arbitrary` input is a byte string
//! read through a decoder, and shrinking it means shrinking bytes (libFuzzer's job, which needs
//! a nightly toolchain and a separate fuzz target), whereas proptest shrinks the *structure* —
//! fewer headers, a shorter value, one body chunk instead of three, a plain callout answer —
//! which is exactly what makes a minimal scenario file readable. It also gives a deterministic
//! run from a seed with no extra machinery.
//!
//! Speed: one VM per configuration variant lives for the whole run; a failure is then
//! replayed on fresh VMs (alone if it fails alone, else with the recent history), so shrinking
//! never depends on leftovers of earlier exchanges.
//!
//! ```no_run
//! use wasme_harness::fuzz::{self, FuzzOptions, Limit};
//! use wasme_harness::{Host, Module};
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let module = Module::from_file("target/wasm32-wasip1/release/add_header.wasm")?;
//! let options = FuzzOptions { seed: 7, limit: Limit::Runs(10_000), ..FuzzOptions::default() };
//! let report = fuzz::run(&|_spec| Host::builder(&module).root_id("add_header").build(), &options)?;
//! assert!(report.finding.is_none(), "{:?}", report.finding);
//! println!("{:.0} exchanges/s", report.exchanges_per_second());
//! # Ok(()) }
//! ```

mod drive;
mod generate;
mod input;
mod invariants;
mod leak;
mod runner;

pub use generate::TrafficKind;
pub use input::{
    CalloutAnswer, ClientEnd, Exchange, HttpExchange, TcpExchange, Traffic, UpstreamReply,
};
pub use invariants::{UserInvariant, Violation};
pub use leak::{MIN_REPEATS, MemoryGrowth, WARMUP_REPEATS, measure_growth};

use crate::host::Host;
use crate::values::{HarnessError, LogEntry};
use std::time::Duration;

/// How long to fuzz.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    /// This many exchanges.
    Runs(u64),
    /// This much wall-clock time (the number of exchanges then depends on the machine; the
    /// exchanges themselves still follow from the seed).
    Time(Duration),
}

/// What to fuzz and how.
#[derive(Debug, Clone)]
pub struct FuzzOptions {
    /// The seed: the same seed, module and options give the same exchanges.
    pub seed: u64,
    /// When to stop (unless a failure stops it first).
    pub limit: Limit,
    /// HTTP, gRPC or TCP traffic.
    pub traffic: TrafficKind,
    /// How many plugin configurations the host factory can start (exchanges pick one each).
    pub config_variants: usize,
    /// User-declared invariants.
    pub invariants: Vec<UserInvariant>,
    /// Most wasm instructions one exchange may execute (needs a module compiled with
    /// [`Module::from_bytes_metered`](crate::Module::from_bytes_metered); ignored otherwise).
    /// Time per callback is bounded by the host's deadline ([`crate::HostBuilder::deadline`]).
    pub fuel_budget: Option<u64>,
    /// Every this many exchanges, guest memory is compared with the last check; growth makes
    /// the fuzzer repeat a recent exchange on a fresh VM to look for a leak.
    pub leak_check_every: u64,
    /// How often that exchange is repeated (more finds smaller leaks).
    pub leak_repeats: u32,
    /// The most shrinking steps tried.
    pub max_shrink_iters: u32,
}

impl Default for FuzzOptions {
    fn default() -> Self {
        FuzzOptions {
            seed: 0,
            limit: Limit::Runs(10_000),
            traffic: TrafficKind::Http,
            config_variants: 1,
            invariants: Vec::new(),
            fuel_budget: None,
            leak_check_every: 1024,
            leak_repeats: 1024,
            max_shrink_iters: 2048,
        }
    }
}

/// What the host factory is asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HostSpec {
    /// The configuration variant (`0..config_variants`).
    pub config: usize,
    /// Record the hostcall trace (only for the final replay of a finding).
    pub trace: bool,
}

/// The result of a fuzzing run.
#[derive(Debug, Clone)]
pub struct FuzzReport {
    /// The seed used.
    pub seed: u64,
    /// Exchanges played until the limit or the failure.
    pub exchanges: u64,
    /// Time spent playing them.
    pub elapsed: Duration,
    /// Guest memory growth over the run after its first quarter (least squares, all VMs
    /// together), in bytes per exchange; near 0 for a filter that does not leak.
    pub memory_slope: f64,
    /// The first failure, shrunk.
    pub finding: Option<Finding>,
}

impl FuzzReport {
    /// Exchanges per second of fuzzing.
    pub fn exchanges_per_second(&self) -> f64 {
        self.exchanges as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// A failure and its minimal reproduction.
#[derive(Debug, Clone)]
pub struct Finding {
    /// The number of the exchange (from 1) at which it was found.
    pub case: u64,
    /// What broke (as seen when replaying the minimal reproduction).
    pub violation: Violation,
    /// The exchange as generated.
    pub original: Exchange,
    /// The minimal reproduction: exchanges to play in order on fresh VMs (usually one; the
    /// recent history when the failure needs it).
    pub steps: Vec<Exchange>,
    /// How many times `steps` repeat (more than 1 for a leak).
    pub repeat: u32,
    /// Shrinking steps that were accepted.
    pub shrink_steps: u32,
    /// The hostcall trace of one replay of the reproduction.
    pub trace: Vec<String>,
    /// What the VM logged in that replay.
    pub logs: Vec<LogEntry>,
}

/// Why fuzzing could not run.
#[derive(Debug, thiserror::Error)]
pub enum FuzzError {
    /// The host factory could not start a VM for a configuration variant.
    #[error("starting the filter with configuration variant {config} failed: {source}")]
    Start {
        /// The variant.
        config: usize,
        /// The harness's reason.
        source: Box<HarnessError>,
    },
    /// An exchange named a configuration variant the factory does not have.
    #[error("configuration variant {0} does not exist")]
    NoSuchConfig(usize),
    /// proptest could not generate a value.
    #[error("generating traffic failed: {0}")]
    Generate(String),
}

/// Fuzzes the filter the `factory` starts: it is called once per configuration variant for
/// the long-lived VMs, and again for every fresh VM shrinking needs.
pub fn run(
    factory: &dyn Fn(&HostSpec) -> Result<Host, HarnessError>,
    options: &FuzzOptions,
) -> Result<FuzzReport, FuzzError> {
    runner::run(factory, options)
}
