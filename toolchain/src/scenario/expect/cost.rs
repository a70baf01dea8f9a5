//! What a step costs: the wasm instructions its action executed (`instructions_at_most`) and
//! guest memory growth over its repeats (`guest_memory`, judged by the harness's
//! [`measure_growth`](wasme_harness::fuzz::measure_growth), the fuzzer's own leak judgement).

use super::{Mismatch, Observation};
use crate::scenario::format::{Expect, GuestMemoryExpect};
use wasme_harness::fuzz::MemoryGrowth;

/// `instructions_at_most`: a count that could not be taken fails, saying why.
pub(super) fn check_instructions(expect: &Expect, obs: &Observation, out: &mut Vec<Mismatch>) {
    let Some(budget) = expect.instructions_at_most else {
        return;
    };
    let field = "instructions_at_most";
    match &obs.instructions {
        Some(Ok(n)) if *n <= budget => {}
        Some(Ok(n)) => out.push(Mismatch::new(
            field,
            format!("at most {budget} wasm instructions"),
            format!("{n} wasm instructions executed by the filter's callbacks"),
        )),
        Some(Err(why)) => out.push(Mismatch::new(
            field,
            format!("at most {budget} wasm instructions"),
            format!("not counted: {why}"),
        )),
        None => out.push(Mismatch::new(
            field,
            format!("at most {budget} wasm instructions"),
            "not counted: the step's instructions were not measured",
        )),
    }
}

/// `guest_memory`, once every repeat of the step ran: steady growth (in at least three of
/// the four measured quarters) above the allowed bytes per repeat fails.
pub fn check_guest_memory(want: &GuestMemoryExpect, growth: &MemoryGrowth) -> Vec<Mismatch> {
    let limit = want.growth_per_repeat_at_most as f64;
    match growth.leak() {
        Some(rate) if rate > limit => vec![Mismatch::new(
            "guest_memory.growth_per_repeat_at_most",
            format!(
                "guest memory grows by at most {} bytes per repeat",
                want.growth_per_repeat_at_most
            ),
            format!(
                "it grows by {rate:.0} bytes per repeat: {} -> {} bytes over {} repeats after \
                     a warm-up of {}, growing in {} of 4 quarters (a leak)",
                growth.bytes_before,
                growth.bytes_after,
                growth.measured,
                growth.warmup,
                growth.quarters_grown
            ),
        )],
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasme_harness::fuzz::measure_growth;

    fn growth(per_repeat: usize) -> MemoryGrowth {
        measure_growth(1056, |i| {
            Ok::<_, ()>(65536 * (1 + (i as usize * per_repeat) / 65536))
        })
        .unwrap()
    }

    #[test]
    fn steady_growth_over_the_limit_fails_and_under_it_passes() {
        let leak = growth(1024);
        let strict = GuestMemoryExpect {
            growth_per_repeat_at_most: 0,
        };
        let m = check_guest_memory(&strict, &leak);
        assert_eq!(m.len(), 1);
        assert!(
            m[0].render().contains("bytes per repeat"),
            "{}",
            m[0].render()
        );
        let tolerant = GuestMemoryExpect {
            growth_per_repeat_at_most: 4096,
        };
        assert!(check_guest_memory(&tolerant, &leak).is_empty());
        assert!(check_guest_memory(&strict, &growth(0)).is_empty());
    }

    #[test]
    fn an_instruction_count_that_was_not_taken_fails() {
        let expect = Expect {
            instructions_at_most: Some(1000),
            ..Default::default()
        };
        let mut out = Vec::new();
        check_instructions(&expect, &Observation::default(), &mut out);
        assert_eq!(out.len(), 1);
        let obs = Observation {
            instructions: Some(Err("this step runs no filter code".into())),
            ..Default::default()
        };
        check_instructions(&expect, &obs, &mut out);
        assert!(out[1].actual.contains("no filter code"), "{out:?}");
        for (n, fails) in [(1000, false), (1001, true)] {
            let mut out = Vec::new();
            let obs = Observation {
                instructions: Some(Ok(n)),
                ..Default::default()
            };
            check_instructions(&expect, &obs, &mut out);
            assert_eq!(!out.is_empty(), fails, "{n}: {out:?}");
        }
    }
}
