//! Latency samples (nanoseconds) and their percentiles.

/// A bounded store of latency samples in nanoseconds.
///
/// It keeps the first `capacity` samples and counts the rest as dropped, so that a long
/// criterion run cannot grow it without bound; the capacity is allocated up front, so
/// recording never allocates.
#[derive(Debug, Clone)]
pub struct LatencySamples {
    samples: Vec<u64>,
    dropped: u64,
}

/// Percentiles of a set of latency samples, in nanoseconds (nearest-rank, as the kernel's
/// `lib/test_workqueue.c` reads them from the sorted array: index `len * q / 100`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Percentiles {
    /// Number of samples.
    pub count: u64,
    /// Median.
    pub p50: u64,
    /// 90th percentile.
    pub p90: u64,
    /// 95th percentile.
    pub p95: u64,
    /// 99th percentile.
    pub p99: u64,
    /// Largest sample.
    pub max: u64,
}

impl LatencySamples {
    /// An empty store keeping at most `capacity` samples.
    pub fn with_capacity(capacity: usize) -> Self {
        Self {
            samples: Vec::with_capacity(capacity),
            dropped: 0,
        }
    }

    /// Records one sample (dropped, and counted, when the store is full).
    pub fn record(&mut self, nanos: u64) {
        if self.samples.len() < self.samples.capacity() {
            self.samples.push(nanos);
        } else {
            self.dropped += 1;
        }
    }

    /// Adds every sample of `other`.
    pub fn extend_from(&mut self, other: &LatencySamples) {
        for &s in &other.samples {
            self.record(s);
        }
        self.dropped += other.dropped;
    }

    /// Number of samples kept.
    pub fn len(&self) -> usize {
        self.samples.len()
    }

    /// Whether no sample is kept.
    pub fn is_empty(&self) -> bool {
        self.samples.is_empty()
    }

    /// Number of samples that did not fit.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// Forgets every sample (keeps the capacity).
    pub fn clear(&mut self) {
        self.samples.clear();
        self.dropped = 0;
    }

    /// The percentiles of the kept samples; `None` when there are none.
    pub fn percentiles(&self) -> Option<Percentiles> {
        let mut sorted = self.samples.clone();
        sorted.sort_unstable();
        Percentiles::of_sorted(&sorted)
    }

    /// `points` evenly spaced quantiles (from 0 to 1 inclusive) of the samples, as
    /// `(quantile, nanos)` pairs: the distribution's shape, for plotting.
    pub fn quantile_ladder(&self, points: usize) -> Vec<(f64, u64)> {
        let mut sorted = self.samples.clone();
        sorted.sort_unstable();
        quantile_ladder_of_sorted(&sorted, points)
    }
}

/// `points` evenly spaced quantiles of an ascending slice (see
/// [`LatencySamples::quantile_ladder`]).
pub fn quantile_ladder_of_sorted(sorted: &[u64], points: usize) -> Vec<(f64, u64)> {
    if sorted.is_empty() || points < 2 {
        return Vec::new();
    }
    (0..points)
        .map(|i| {
            let q = i as f64 / (points - 1) as f64;
            let idx = ((sorted.len() - 1) as f64 * q).round() as usize;
            (q, sorted[idx])
        })
        .collect()
}

impl Percentiles {
    /// Percentiles of an ascending slice; `None` when it is empty.
    pub fn of_sorted(sorted: &[u64]) -> Option<Self> {
        let last = *sorted.last()?;
        let at = |q: usize| sorted[(sorted.len() * q / 100).min(sorted.len() - 1)];
        Some(Self {
            count: sorted.len() as u64,
            p50: at(50),
            p90: at(90),
            p95: at(95),
            p99: at(99),
            max: last,
        })
    }

    /// The JSON object the report reads: `{"count", "p50", "p90", "p95", "p99", "max"}`.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "count": self.count,
            "p50": self.p50,
            "p90": self.p90,
            "p95": self.p95,
            "p99": self.p99,
            "max": self.max,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_use_the_kernel_nearest_rank_index() {
        let sorted: Vec<u64> = (1..=100).collect();
        let p = Percentiles::of_sorted(&sorted).unwrap();
        // index len * q / 100 into a 0-based array of 1..=100
        assert_eq!((p.p50, p.p90, p.p95, p.p99, p.max), (51, 91, 96, 100, 100));
        assert_eq!(p.count, 100);
    }

    #[test]
    fn percentiles_of_nothing_are_none() {
        assert_eq!(Percentiles::of_sorted(&[]), None);
        assert_eq!(LatencySamples::with_capacity(4).percentiles(), None);
    }

    #[test]
    fn a_full_store_counts_what_it_drops() {
        let mut s = LatencySamples::with_capacity(2);
        for v in [5, 1, 9] {
            s.record(v);
        }
        assert_eq!(s.len(), 2);
        assert_eq!(s.dropped(), 1);
        assert_eq!(s.percentiles().unwrap().max, 5);
    }

    #[test]
    fn quantile_ladder_spans_min_to_max() {
        let mut s = LatencySamples::with_capacity(10);
        for v in [40, 10, 30, 20, 50] {
            s.record(v);
        }
        let ladder = s.quantile_ladder(3);
        assert_eq!(ladder, vec![(0.0, 10), (0.5, 30), (1.0, 50)]);
    }
}
