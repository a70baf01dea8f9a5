//! The fake clock tests advance, and the seeded random generator behind WASI `random_get`.

#[cfg(test)]
use std::time::Duration;
use std::time::{SystemTime, UNIX_EPOCH};

/// A test-controlled clock: wall time and monotonic time move only when the test advances it.
#[derive(Debug, Clone)]
pub(crate) struct Clock {
    realtime_start_ns: u64,
    elapsed_ns: u64,
}

/// The monotonic clock's value at start (Envoy's monotonic time is not zero-based).
const MONOTONIC_BASE_NS: u64 = 1_000_000_000;

impl Clock {
    pub(crate) fn new(start: SystemTime) -> Clock {
        let realtime_start_ns = start
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0);
        Clock {
            realtime_start_ns,
            elapsed_ns: 0,
        }
    }

    /// Nanoseconds since the Unix epoch.
    pub(crate) fn realtime_ns(&self) -> u64 {
        self.realtime_start_ns.saturating_add(self.elapsed_ns)
    }

    /// Monotonic nanoseconds.
    pub(crate) fn monotonic_ns(&self) -> u64 {
        MONOTONIC_BASE_NS + self.elapsed_ns
    }

    /// Nanoseconds since the host was built.
    pub(crate) fn elapsed_ns(&self) -> u64 {
        self.elapsed_ns
    }

    pub(crate) fn set_elapsed(&mut self, ns: u64) {
        self.elapsed_ns = self.elapsed_ns.max(ns);
    }

    #[cfg(test)]
    pub(crate) fn advance(&mut self, d: Duration) {
        self.elapsed_ns = self.elapsed_ns.saturating_add(d.as_nanos() as u64);
    }
}

/// SplitMix64: a tiny, seedable, reproducible generator. Hand-written because a test harness
/// needs only reproducibility, not a cryptographic or statistically tuned source, and this
/// avoids a dependency for ten lines.
#[derive(Debug, Clone)]
pub(crate) struct SeededRng(u64);

impl SeededRng {
    pub(crate) fn new(seed: u64) -> SeededRng {
        SeededRng(seed)
    }

    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    pub(crate) fn fill(&mut self, out: &mut [u8]) {
        for chunk in out.chunks_mut(8) {
            let v = self.next_u64().to_le_bytes();
            chunk.copy_from_slice(&v[..chunk.len()]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_bytes() {
        let (mut a, mut b) = (SeededRng::new(7), SeededRng::new(7));
        let (mut x, mut y) = ([0u8; 13], [0u8; 13]);
        a.fill(&mut x);
        b.fill(&mut y);
        assert_eq!(x, y);
        let mut c = SeededRng::new(8);
        c.fill(&mut y);
        assert_ne!(x, y);
    }

    #[test]
    fn clock_moves_only_when_advanced() {
        let mut c = Clock::new(UNIX_EPOCH + Duration::from_secs(10));
        assert_eq!(c.realtime_ns(), 10_000_000_000);
        c.advance(Duration::from_millis(5));
        assert_eq!(c.realtime_ns(), 10_005_000_000);
        assert_eq!(c.monotonic_ns(), MONOTONIC_BASE_NS + 5_000_000);
    }
}
