//! The fuzzing loop: generate with proptest, play on one long-lived VM per configuration (fast:
//! no instantiation per exchange, no YAML, no trace), judge, and on a failure replay on fresh
//! VMs to shrink it with proptest's own `simplify`/`complicate` search.

use super::drive;
use super::generate;
use super::input::Exchange;
use super::invariants::{self, Violation};
use super::leak::{self, Samples};
use super::{Finding, FuzzError, FuzzOptions, FuzzReport, HostSpec, Limit};
use crate::host::Host;
use crate::values::HarnessError;
use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use std::collections::VecDeque;
use std::time::Instant;

/// How many recent exchanges are kept to replay when a failure needs the VM's history, and to
/// try as leak candidates.
const HISTORY: usize = 32;

/// The most shrinking steps for a leak (each one replays an exchange `leak_repeats` times).
const LEAK_SHRINK_ITERS: u32 = 256;

type Tree = Box<dyn ValueTree<Value = Exchange>>;

struct Run<'a> {
    factory: &'a dyn Fn(&HostSpec) -> Result<Host, HarnessError>,
    options: &'a FuzzOptions,
}

impl Run<'_> {
    fn host(&self, config: usize, trace: bool) -> Result<Host, FuzzError> {
        (self.factory)(&HostSpec { config, trace }).map_err(|source| FuzzError::Start {
            config,
            source: Box::new(source),
        })
    }

    /// Plays `steps` on a fresh VM per configuration; the first violation, if any.
    fn replay(&self, steps: &[Exchange]) -> Result<Option<Violation>, FuzzError> {
        let mut hosts: Vec<Option<Host>> = (0..self.options.config_variants.max(1))
            .map(|_| None)
            .collect();
        for ex in steps {
            let slot = hosts
                .get_mut(ex.config)
                .ok_or(FuzzError::NoSuchConfig(ex.config))?;
            if slot.is_none() {
                *slot = Some(self.host(ex.config, false)?);
            }
            let Some(host) = slot.as_mut() else { continue };
            let seen = drive::play(host, ex);
            if let Err(v) = invariants::check(
                host,
                &seen,
                self.options.fuel_budget,
                &self.options.invariants,
            ) {
                return Ok(Some(v));
            }
        }
        Ok(None)
    }

    /// Whether repeating `ex` on a fresh VM makes guest memory climb steadily (judged by
    /// [`leak::measure_growth`], as the scenario expectation `guest_memory` is); the rate.
    fn leaks(&self, ex: &Exchange) -> Result<Option<f64>, FuzzError> {
        let mut host = self.host(ex.config, false)?;
        let growth = leak::measure_growth(leak_repeats(self.options), |_| {
            let seen = drive::play(&mut host, ex);
            if seen.error.is_some() || host.failure().is_some() {
                return Err(());
            }
            Ok(host.guest_memory_bytes())
        });
        Ok(growth.ok().and_then(|g| g.leak()))
    }

    /// proptest's shrinking search: simplify while the input still fails the same way,
    /// complicate back when a step went too far.
    ///
    /// Many steps change only a part of the value tree that the rendered exchange does not
    /// show (an alternative's inputs while another alternative is chosen, a seed of a string
    /// of length 0), so the candidate equals one already judged: its verdict is reused instead
    /// of replaying it (`fails` is deterministic: a fresh VM, a fake clock). The search takes
    /// the same steps and ends on the same exchange; a leak candidate costs a thousand replays.
    fn shrink(
        &self,
        tree: &mut Tree,
        max_iters: u32,
        mut fails: impl FnMut(&Exchange) -> Result<bool, FuzzError>,
    ) -> Result<(Exchange, u32), FuzzError> {
        let mut best = tree.current();
        let mut accepted = 0;
        if !tree.simplify() {
            return Ok((best, 0));
        }
        // Verdicts already known: the current best fails; these did not.
        let mut passed: Vec<Exchange> = Vec::new();
        let mut judge = |candidate: &Exchange, best: &Exchange| -> Result<bool, FuzzError> {
            if candidate == best {
                return Ok(true);
            }
            if passed.contains(candidate) {
                return Ok(false);
            }
            let verdict = fails(candidate)?;
            if !verdict {
                passed.push(candidate.clone());
            }
            Ok(verdict)
        };
        for _ in 0..max_iters {
            let candidate = tree.current();
            if judge(&candidate, &best)? {
                best = candidate;
                accepted += 1;
                if !tree.simplify() {
                    break;
                }
            } else if !tree.complicate() {
                break;
            }
        }
        Ok((best, accepted))
    }

    fn same_kind(&self, kind: &str, ex: &Exchange) -> Result<bool, FuzzError> {
        Ok(self
            .replay(std::slice::from_ref(ex))?
            .is_some_and(|v| v.kind() == kind))
    }

    /// A failure seen on the long-lived VM: shrink it alone if it fails alone, else keep the
    /// recent history that reproduces it.
    fn finding(
        &self,
        case: u64,
        violation: Violation,
        mut tree: Tree,
        history: &VecDeque<Exchange>,
    ) -> Result<Finding, FuzzError> {
        let original = tree.current();
        let kind = violation.kind();
        let (steps, shrink_steps, violation) = if self.same_kind(&kind, &original)? {
            let (minimal, n) = self.shrink(&mut tree, self.options.max_shrink_iters, |c| {
                self.same_kind(&kind, c)
            })?;
            let v = self
                .replay(std::slice::from_ref(&minimal))?
                .unwrap_or(violation);
            (vec![minimal], n, v)
        } else {
            let mut steps: Vec<Exchange> = history.iter().cloned().collect();
            steps.push(original.clone());
            (steps, 0, violation)
        };
        self.report(case, violation, original, steps, 1, shrink_steps)
    }

    fn leak_finding(&self, case: u64, mut tree: Tree, slope: f64) -> Result<Finding, FuzzError> {
        let original = tree.current();
        // Each attempt repeats the exchange a thousand times: a shorter search.
        let iters = self.options.max_shrink_iters.min(LEAK_SHRINK_ITERS);
        let (minimal, n) = self.shrink(&mut tree, iters, |c| Ok(self.leaks(c)?.is_some()))?;
        let slope = self.leaks(&minimal)?.unwrap_or(slope);
        let repeat = leak_repeats(self.options);
        self.report(
            case,
            Violation::Leak {
                bytes_per_exchange: slope,
            },
            original,
            vec![minimal],
            repeat,
            n,
        )
    }

    /// Replays the reproduction once more with the trace on, for the report.
    fn report(
        &self,
        case: u64,
        violation: Violation,
        original: Exchange,
        steps: Vec<Exchange>,
        repeat: u32,
        shrink_steps: u32,
    ) -> Result<Finding, FuzzError> {
        let config = steps.last().map_or(0, |e| e.config);
        let mut host = self.host(config, true)?;
        for ex in steps.iter().filter(|e| e.config == config) {
            drive::play(&mut host, ex);
            if host.failure().is_some() {
                break;
            }
        }
        Ok(Finding {
            case,
            violation,
            original,
            steps,
            repeat,
            shrink_steps,
            trace: host.trace().to_vec(),
            logs: host.logs().to_vec(),
        })
    }
}

/// How often a leak candidate repeats: the warm-up, then `leak_repeats` measured.
fn leak_repeats(options: &FuzzOptions) -> u32 {
    leak::WARMUP_REPEATS + options.leak_repeats.max(16)
}

fn rng(seed: u64) -> TestRng {
    let mut bytes = [0u8; 32];
    for (i, chunk) in bytes.chunks_mut(8).enumerate() {
        chunk.copy_from_slice(
            &(seed
                .wrapping_add(i as u64)
                .wrapping_mul(0x9E37_79B9_7F4A_7C15))
            .to_le_bytes(),
        );
    }
    TestRng::from_seed(RngAlgorithm::ChaCha, &bytes)
}

pub(super) fn run(
    factory: &dyn Fn(&HostSpec) -> Result<Host, HarnessError>,
    options: &FuzzOptions,
) -> Result<FuzzReport, FuzzError> {
    let run = Run { factory, options };
    let variants = options.config_variants.max(1);
    let strategy = generate::exchange(options.traffic, variants);
    let config = Config {
        failure_persistence: None,
        max_shrink_iters: options.max_shrink_iters,
        ..Config::default()
    };
    let mut runner = TestRunner::new_with_rng(config, rng(options.seed));
    let mut hosts: Vec<Host> = Vec::with_capacity(variants);
    for config in 0..variants {
        hosts.push(run.host(config, false)?);
    }
    let memory = |hosts: &[Host]| hosts.iter().map(Host::guest_memory_bytes).sum::<usize>();
    let mut samples = Samples::default();
    let mut history: VecDeque<Exchange> = VecDeque::with_capacity(HISTORY);
    let mut recent_trees: VecDeque<Tree> = VecDeque::with_capacity(3);
    let mut checkpoint = memory(&hosts);
    let started = Instant::now();
    let mut n: u64 = 0;
    let mut finding = None;
    let leak_every = options.leak_check_every.max(64);
    loop {
        match options.limit {
            Limit::Runs(max) if n >= max => break,
            Limit::Time(t) if n.is_multiple_of(256) && started.elapsed() >= t => break,
            _ => {}
        }
        let tree: Tree = strategy
            .new_tree(&mut runner)
            .map_err(|e| FuzzError::Generate(e.to_string()))?;
        let ex = tree.current();
        let host = hosts
            .get_mut(ex.config)
            .ok_or(FuzzError::NoSuchConfig(ex.config))?;
        let seen = drive::play(host, &ex);
        n += 1;
        if let Err(v) = invariants::check(host, &seen, options.fuel_budget, &options.invariants) {
            let elapsed = started.elapsed();
            let f = run.finding(n, v, tree, &history)?;
            return Ok(FuzzReport {
                seed: options.seed,
                exchanges: n,
                elapsed,
                memory_slope: samples.slope(0.25),
                finding: Some(f),
            });
        }
        if n.is_multiple_of(64) {
            samples.push(n, memory(&hosts));
        }
        if history.len() == HISTORY {
            history.pop_front();
        }
        history.push_back(ex);
        if recent_trees.len() == 3 {
            recent_trees.pop_front();
        }
        recent_trees.push_back(tree);
        if n.is_multiple_of(leak_every) {
            let now = memory(&hosts);
            if now > checkpoint && n > leak_every {
                // Memory grew this window: does repeating one of the last exchanges leak?
                while let Some(t) = recent_trees.pop_back() {
                    if let Some(slope) = run.leaks(&t.current())? {
                        finding = Some(run.leak_finding(n, t, slope)?);
                        break;
                    }
                }
            }
            checkpoint = now;
            if finding.is_some() {
                break;
            }
        }
    }
    Ok(FuzzReport {
        seed: options.seed,
        exchanges: n,
        elapsed: started.elapsed(),
        memory_slope: samples.slope(0.25),
        finding,
    })
}
