//! Sliding windows in packet time: [`Series`] counts events in buckets, [`DistinctSet`]
//! counts distinct items.

use std::hash::Hash;

use hashbrown::HashMap;

/// Buckets per window. A [`Series`] sums the last `BUCKETS` buckets, so "the last window" is
/// between 0.9 and 1.0 window long; ten keeps that error small and a key's counters to a few
/// hundred bytes whatever the window.
pub(crate) const BUCKETS: usize = 10;

/// `C` counters over a sliding window of [`BUCKETS`] buckets of `width` ns each.
#[derive(Clone, Debug)]
pub(crate) struct Series<const C: usize> {
    /// Bucket number (time / width) of the newest bucket.
    head: u64,
    counts: [[u64; C]; BUCKETS],
}

impl<const C: usize> Series<C> {
    pub(crate) fn new(now: u64, width: u64) -> Self {
        Series {
            head: now / width.max(1),
            counts: [[0; C]; BUCKETS],
        }
    }

    /// Moves the window forward so that it ends with bucket `epoch`, clearing the buckets it
    /// leaves behind.
    fn advance(&mut self, epoch: u64) {
        if epoch <= self.head {
            return;
        }
        if epoch - self.head >= BUCKETS as u64 {
            self.counts = [[0; C]; BUCKETS];
        } else {
            for e in self.head + 1..=epoch {
                self.counts[(e % BUCKETS as u64) as usize] = [0; C];
            }
        }
        self.head = epoch;
    }

    /// Adds `delta` at time `ts`. An event older than the window is dropped (false).
    pub(crate) fn add(&mut self, ts: u64, width: u64, delta: [u64; C]) -> bool {
        let epoch = ts / width.max(1);
        self.advance(epoch);
        if self.head - epoch >= BUCKETS as u64 {
            return false;
        }
        let bucket = &mut self.counts[(epoch % BUCKETS as u64) as usize];
        for (c, d) in bucket.iter_mut().zip(delta) {
            *c = c.saturating_add(d);
        }
        true
    }

    /// The counters summed over the window ending at `now`.
    pub(crate) fn totals(&mut self, now: u64, width: u64) -> [u64; C] {
        self.advance(now / width.max(1));
        let mut sum = [0u64; C];
        for bucket in &self.counts {
            for (s, c) in sum.iter_mut().zip(bucket) {
                *s = s.saturating_add(*c);
            }
        }
        sum
    }
}

/// Distinct items seen within a sliding window, each with the last time it was seen.
///
/// Holds at most `threshold + 1` items: once the threshold is crossed more items change
/// nothing, so the memory of one key is bounded by the configuration, not by the traffic.
#[derive(Clone, Debug)]
pub(crate) struct DistinctSet<T> {
    seen: HashMap<T, u64>,
    /// No item is older than this (a lower bound; `u64::MAX` when empty), so pruning is only
    /// attempted when something may have left the window.
    oldest: u64,
}

impl<T> Default for DistinctSet<T> {
    fn default() -> Self {
        DistinctSet {
            seen: HashMap::new(),
            oldest: u64::MAX,
        }
    }
}

impl<T: Hash + Eq + Copy> DistinctSet<T> {
    /// Records `item` seen at `ts` and returns how many distinct items were seen at or after
    /// `cutoff`. The count is exact whenever it is `threshold` or more; below that it may
    /// still include items older than `cutoff` (pruning is put off until the count matters),
    /// which never changes the answer to "is the threshold reached?". An item older than
    /// `cutoff` is not recorded.
    pub(crate) fn record(&mut self, item: T, ts: u64, cutoff: u64, threshold: usize) -> usize {
        if ts >= cutoff {
            match self.seen.get_mut(&item) {
                Some(last) => *last = (*last).max(ts),
                None => {
                    self.seen.insert(item, ts);
                    self.oldest = self.oldest.min(ts);
                }
            }
        }
        if self.seen.len() >= threshold && self.oldest < cutoff {
            self.seen.retain(|_, last| *last >= cutoff);
            self.oldest = self.seen.values().copied().min().unwrap_or(u64::MAX);
        }
        let cap = threshold.saturating_add(1);
        while self.seen.len() > cap {
            // All in the window: forget the least recently seen.
            let Some((&stale, _)) = self.seen.iter().min_by_key(|(_, last)| **last) else {
                break;
            };
            self.seen.remove(&stale);
            self.oldest = self.seen.values().copied().min().unwrap_or(u64::MAX);
        }
        self.seen.len()
    }

    /// Items seen at or after `cutoff` (a scan of the set; for evidence).
    pub(crate) fn count_since(&self, cutoff: u64) -> usize {
        self.seen.values().filter(|&&last| last >= cutoff).count()
    }

    /// The items held.
    pub(crate) fn items(&self) -> impl Iterator<Item = &T> {
        self.seen.keys()
    }

    /// Seconds between the oldest and the newest item held.
    pub(crate) fn span_secs(&self) -> f64 {
        let newest = self.seen.values().copied().max().unwrap_or(0);
        let oldest = self.seen.values().copied().min().unwrap_or(0);
        newest.saturating_sub(oldest) as f64 / 1e9
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn series_slides_and_drops_late_events() {
        let mut s: Series<1> = Series::new(0, 10);
        for t in 0..100u64 {
            assert!(s.add(t, 10, [1]));
        }
        assert_eq!(s.totals(99, 10), [100]);
        assert_eq!(s.totals(105, 10), [90], "bucket 0..9 left the window");
        assert!(!s.add(5, 10, [1]), "older than the window");
        assert!(s.add(60, 10, [1]), "late but inside the window");
        assert_eq!(s.totals(105, 10), [91]);
        assert_eq!(s.totals(1_000, 10), [0]);
        assert_eq!(s.totals(u64::MAX, 10), [0]);
        assert!(s.add(u64::MAX, 10, [u64::MAX]));
        assert!(s.add(u64::MAX, 10, [5]));
        assert_eq!(s.totals(u64::MAX, 10), [u64::MAX], "saturates");
    }

    #[test]
    fn distinct_set_counts_within_window_and_is_capped() {
        let mut d = DistinctSet::default();
        // Items 0..5 at t = 0..5, threshold 5: the 5th crosses.
        for i in 0..4u16 {
            assert_eq!(d.record(i, u64::from(i), 0, 5), usize::from(i) + 1);
        }
        assert_eq!(d.record(4, 4, 0, 5), 5);
        // At t = 100 with cutoff 2, items 0 and 1 are gone once the count matters.
        assert_eq!(d.record(9, 100, 2, 5), 4);
        // Repeats do not count twice.
        assert_eq!(d.record(9, 101, 2, 5), 4);
        // Never more than threshold + 1 items.
        for i in 10..1_000u16 {
            assert!(d.record(i, 200 + u64::from(i), 2, 5) <= 6);
        }
        assert_eq!(d.items().count(), 6);
        assert!(d.items().all(|&i| i >= 994), "the newest are kept");
        // Too old to record.
        assert_eq!(d.record(7, 0, 10_000, 5), 0);
    }
}
