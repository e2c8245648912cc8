//! Sets of integers kept as sorted, disjoint, non-adjacent inclusive ranges: the concrete form
//! of address groups (IPv4 as `u32`, IPv6 as `u128`) and port groups (`u16`), closed under
//! union, difference and complement, so that negation and nesting resolve exactly.

/// An integer type a [`RangeSet`] can hold.
pub trait Point: Copy + Ord + std::fmt::Debug {
    /// Smallest value.
    const MIN: Self;
    /// Largest value.
    const MAX: Self;
    /// The next value, or `None` at `MAX`.
    fn succ(self) -> Option<Self>;
    /// The previous value, or `None` at `MIN`.
    fn pred(self) -> Option<Self>;
}

macro_rules! point {
    ($t:ty) => {
        impl Point for $t {
            const MIN: Self = <$t>::MIN;
            const MAX: Self = <$t>::MAX;
            fn succ(self) -> Option<Self> {
                self.checked_add(1)
            }
            fn pred(self) -> Option<Self> {
                self.checked_sub(1)
            }
        }
    };
}
point!(u16);
point!(u32);
point!(u128);

/// A set of values of `T` as sorted, disjoint, non-adjacent inclusive ranges.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default)]
pub struct RangeSet<T> {
    ranges: Vec<(T, T)>,
}

impl<T: Point> RangeSet<T> {
    /// The empty set.
    pub fn empty() -> Self {
        RangeSet { ranges: Vec::new() }
    }

    /// Every value.
    pub fn full() -> Self {
        RangeSet {
            ranges: vec![(T::MIN, T::MAX)],
        }
    }

    /// The values `lo..=hi` (empty when `lo > hi`).
    pub fn range(lo: T, hi: T) -> Self {
        if lo > hi {
            Self::empty()
        } else {
            RangeSet {
                ranges: vec![(lo, hi)],
            }
        }
    }

    /// The set of the given ranges (in any order, overlapping or not; reversed ones are
    /// ignored).
    pub fn from_ranges(mut ranges: Vec<(T, T)>) -> Self {
        ranges.retain(|(lo, hi)| lo <= hi);
        ranges.sort();
        let mut out: Vec<(T, T)> = Vec::with_capacity(ranges.len());
        for (lo, hi) in ranges {
            if let Some(last) = out.last_mut() {
                // Merge overlapping and adjacent ranges.
                if last.1 >= lo || last.1.succ() == Some(lo) {
                    if hi > last.1 {
                        last.1 = hi;
                    }
                    continue;
                }
            }
            out.push((lo, hi));
        }
        RangeSet { ranges: out }
    }

    /// The ranges, sorted, disjoint and non-adjacent.
    pub fn ranges(&self) -> &[(T, T)] {
        &self.ranges
    }

    /// Whether the set has no value.
    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }

    /// Whether the set has every value.
    pub fn is_full(&self) -> bool {
        self.ranges.as_slice() == [(T::MIN, T::MAX)]
    }

    /// Whether `v` is in the set.
    pub fn contains(&self, v: T) -> bool {
        // The last range starting at or before v.
        let i = self.ranges.partition_point(|&(lo, _)| lo <= v);
        i > 0 && self.ranges.get(i - 1).is_some_and(|&(_, hi)| v <= hi)
    }

    /// Every value not in the set.
    pub fn complement(&self) -> Self {
        let mut out = Vec::with_capacity(self.ranges.len() + 1);
        let mut next = Some(T::MIN);
        for &(lo, hi) in &self.ranges {
            if let Some(n) = next {
                if n < lo {
                    if let Some(p) = lo.pred() {
                        out.push((n, p));
                    }
                }
            }
            next = hi.succ();
        }
        if let Some(n) = next {
            out.push((n, T::MAX));
        }
        RangeSet { ranges: out }
    }

    /// Values in either set.
    pub fn union(&self, other: &Self) -> Self {
        let mut all = self.ranges.clone();
        all.extend_from_slice(&other.ranges);
        Self::from_ranges(all)
    }

    /// Values in both sets.
    pub fn intersection(&self, other: &Self) -> Self {
        let (mut i, mut j) = (0, 0);
        let mut out = Vec::new();
        while let (Some(&(a_lo, a_hi)), Some(&(b_lo, b_hi))) =
            (self.ranges.get(i), other.ranges.get(j))
        {
            let lo = a_lo.max(b_lo);
            let hi = a_hi.min(b_hi);
            if lo <= hi {
                out.push((lo, hi));
            }
            if a_hi < b_hi {
                i += 1;
            } else {
                j += 1;
            }
        }
        RangeSet { ranges: out }
    }

    /// Values in `self` and not in `other`.
    pub fn difference(&self, other: &Self) -> Self {
        self.intersection(&other.complement())
    }
}
