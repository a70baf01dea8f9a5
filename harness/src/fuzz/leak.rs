//! Leak detection: guest memory sampled across exchanges, and a least-squares slope in bytes
//! per exchange. Wasm memory only grows (in 64 KiB pages), so a healthy filter's curve goes
//! flat once its allocator reached its high-water mark, and a leaking one keeps climbing.
//!
//! [`measure_growth`] is the one judgement of "does repeating the same input leak": the
//! fuzzer's leak search and the scenario expectation `guest_memory` (`cargo wasme test`) both
//! call it, so a leak the fuzzer reports is a leak its written scenario fails on.

/// Repeats that warm the allocator up before guest memory is measured (its free lists and
/// the first page growths are not a leak).
pub const WARMUP_REPEATS: u32 = 32;

/// The fewest repeats [`measure_growth`] plays: the warm-up and four quarters of four.
pub const MIN_REPEATS: u32 = WARMUP_REPEATS + 16;

/// How guest memory grew while the same input repeated on one VM.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MemoryGrowth {
    /// Repeats played before measuring.
    pub warmup: u32,
    /// Repeats measured after the warm-up (four equal quarters).
    pub measured: u32,
    /// Guest memory after the warm-up, in bytes.
    pub bytes_before: usize,
    /// Guest memory after the last repeat, in bytes.
    pub bytes_after: usize,
    /// In how many of the four quarters memory grew (a one-off allocator high-water step
    /// grows one; a leak grows all of them, once it spans a 64 KiB page per quarter).
    pub quarters_grown: u32,
    /// The growth rate: the larger of the overall growth per measured repeat and the mean
    /// least-squares slope of the quarters.
    pub bytes_per_repeat: f64,
}

impl MemoryGrowth {
    /// Whether memory climbed steadily: it grew in at least three of the four quarters.
    pub fn steady(&self) -> bool {
        self.quarters_grown >= 3
    }

    /// The leak rate in bytes per repeat when the growth is steady; `None` for a flat curve or
    /// a one-off step.
    pub fn leak(&self) -> Option<f64> {
        self.steady().then_some(self.bytes_per_repeat)
    }
}

/// Plays the same input `repeats` times (at least [`MIN_REPEATS`]) through `play`, which
/// runs repeat number `i` (from 0) and returns guest memory in bytes afterwards (or an error,
/// which stops the measurement and is returned). The first [`WARMUP_REPEATS`] (up to three
/// more, so the rest splits in four equal quarters) are not measured.
///
/// ```
/// use wasme_harness::fuzz::measure_growth;
/// // 1 KiB more per repeat, as a page-granular wasm memory shows it:
/// let leaking = measure_growth(1056, |i| Ok::<_, ()>(65536 * (1 + (i as usize * 1024) / 65536)))?;
/// assert!(leaking.leak().is_some_and(|b| (900.0..1100.0).contains(&b)));
/// // One growth during the first quarter, then flat (an allocator's high-water mark):
/// let step = measure_growth(1056, |i| Ok::<_, ()>(if i < 100 { 65536 } else { 131072 }))?;
/// assert_eq!(step.leak(), None);
/// # Ok::<(), ()>(())
/// ```
pub fn measure_growth<E>(
    repeats: u32,
    mut play: impl FnMut(u32) -> Result<usize, E>,
) -> Result<MemoryGrowth, E> {
    let repeats = repeats.max(MIN_REPEATS);
    let quarter = (repeats - WARMUP_REPEATS) / 4;
    let warmup = repeats - 4 * quarter;
    let mut bytes = 0;
    for i in 0..warmup {
        bytes = play(i)?;
    }
    let mut marks = vec![bytes];
    let mut total_slope = 0.0;
    let mut i = warmup;
    for _ in 0..4 {
        let mut points = Vec::with_capacity(quarter as usize);
        for j in 0..quarter {
            bytes = play(i)?;
            i += 1;
            points.push((f64::from(j), bytes as f64));
        }
        total_slope += slope(&points) / 4.0;
        marks.push(bytes);
    }
    let quarters_grown = marks.windows(2).filter(|w| w[1] > w[0]).count() as u32;
    let measured = 4 * quarter;
    let overall = marks[4].saturating_sub(marks[0]) as f64 / f64::from(measured);
    Ok(MemoryGrowth {
        warmup,
        measured,
        bytes_before: marks[0],
        bytes_after: marks[4],
        quarters_grown,
        bytes_per_repeat: overall.max(total_slope),
    })
}

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
