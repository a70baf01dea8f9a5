//! Leak detection: guest memory sampled across exchanges, and a least-squares slope in bytes
//! per exchange. Wasm memory only grows (in 64 KiB pages), so a healthy filter's curve goes
//! flat once its allocator reached its high-water mark, and a leaking one keeps climbing.

use super::drive;
use super::input::Exchange;
use crate::host::Host;

/// Memory samples `(exchange number, bytes)`.
#[derive(Debug, Default, Clone)]
pub(crate) struct Samples {
    points: Vec<(f64, f64)>,
}

impl Samples {
    pub(crate) fn push(&mut self, exchange: u64, bytes: usize) {
        self.points.push((exchange as f64, bytes as f64));
    }

    /// The least-squares slope in bytes per exchange over the samples after the first
    /// `skip_fraction` of them (the warm-up); 0 with fewer than two samples.
    pub(crate) fn slope(&self, skip_fraction: f64) -> f64 {
        let skip = (self.points.len() as f64 * skip_fraction) as usize;
        slope(&self.points[skip.min(self.points.len())..])
    }
}

/// Least-squares slope of `y` over `x`.
pub(crate) fn slope(points: &[(f64, f64)]) -> f64 {
    let n = points.len() as f64;
    if points.len() < 2 {
        return 0.0;
    }
    let (mx, my) = points
        .iter()
        .fold((0.0, 0.0), |(a, b), (x, y)| (a + x / n, b + y / n));
    let (num, den) = points.iter().fold((0.0, 0.0), |(num, den), (x, y)| {
        (num + (x - mx) * (y - my), den + (x - mx) * (x - mx))
    });
    if den == 0.0 { 0.0 } else { num / den }
}

/// Repeats `ex` on `host`: `warmup` times, then `repeats` times sampling memory after each;
/// returns the slope in bytes per exchange, or `None` when an exchange failed otherwise (the
/// caller reports that failure instead).
pub(crate) fn repeat_slope(
    host: &mut Host,
    ex: &Exchange,
    warmup: u32,
    repeats: u32,
) -> Option<f64> {
    for _ in 0..warmup {
        let seen = drive::play(host, ex);
        if seen.error.is_some() || host.failure().is_some() {
            return None;
        }
    }
    let mut points = Vec::with_capacity(repeats as usize);
    for i in 0..repeats {
        let seen = drive::play(host, ex);
        if seen.error.is_some() || host.failure().is_some() {
            return None;
        }
        points.push((f64::from(i), host.guest_memory_bytes() as f64));
    }
    Some(slope(&points))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slope_of_a_line_and_of_a_plateau() {
        let line: Vec<(f64, f64)> = (0..10)
            .map(|i| (f64::from(i), 100.0 + 8.0 * f64::from(i)))
            .collect();
        assert!((slope(&line) - 8.0).abs() < 1e-9);
        let flat: Vec<(f64, f64)> = (0..10).map(|i| (f64::from(i), 65536.0)).collect();
        assert_eq!(slope(&flat), 0.0);
        assert_eq!(slope(&line[..1]), 0.0);
    }
}
