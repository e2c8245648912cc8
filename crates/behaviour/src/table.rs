//! [`KeyTable`]: the bounded state of one detector. At most `capacity` keys; when full, the
//! key seen least recently is evicted; keys idle since before a cutoff are expired.
//!
//! Keys are kept in a doubly linked list in the order they were last touched (most recent at
//! the head), built from slot indices in a `Vec`, so touching, evicting and expiring are all
//! O(1) per key. Touch times are packet times made monotonic by the caller (the latest time
//! seen), so the list is also in time order and expiry stops at the first fresh key.

use std::hash::Hash;

use hashbrown::HashMap;

/// "No slot" in the links.
const NIL: u32 = u32::MAX;

/// Keys → values with least-recently-seen eviction and idle expiry.
pub(crate) struct KeyTable<K, V> {
    index: HashMap<K, u32>,
    slots: Vec<Slot<K, V>>,
    /// Most recently touched.
    head: u32,
    /// Least recently touched: the next to evict or expire.
    tail: u32,
    capacity: usize,
    evicted: u64,
}

struct Slot<K, V> {
    key: K,
    value: V,
    seen: u64,
    prev: u32,
    next: u32,
}

impl<K: Hash + Eq + Clone, V> KeyTable<K, V> {
    /// A table of at most `capacity` keys (at least 1, below `u32::MAX`; the configuration
    /// caps it at [`MAX_TRACKED`](crate::MAX_TRACKED)).
    pub(crate) fn new(capacity: usize) -> Self {
        KeyTable {
            index: HashMap::new(),
            slots: Vec::new(),
            head: NIL,
            tail: NIL,
            capacity: capacity.clamp(1, (NIL - 1) as usize),
            evicted: 0,
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.slots.len()
    }

    /// Keys evicted because the table was full.
    pub(crate) fn evicted(&self) -> u64 {
        self.evicted
    }

    /// The value of `key`, created with `make` if absent (evicting the least recently seen key
    /// if the table is full), marked as seen at `now`.
    pub(crate) fn touch(&mut self, key: K, now: u64, make: impl FnOnce() -> V) -> &mut V {
        let i = match self.index.get(&key) {
            Some(&i) => {
                self.unlink(i);
                i
            }
            None => {
                if self.slots.len() >= self.capacity && self.tail != NIL {
                    self.remove(self.tail);
                    self.evicted = self.evicted.saturating_add(1);
                }
                // Below `capacity` < NIL after the eviction above.
                let i = self.slots.len() as u32;
                self.index.insert(key.clone(), i);
                self.slots.push(Slot {
                    key,
                    value: make(),
                    seen: now,
                    prev: NIL,
                    next: NIL,
                });
                i
            }
        };
        self.push_front(i);
        let slot = &mut self.slots[i as usize];
        slot.seen = slot.seen.max(now);
        &mut slot.value
    }

    /// The value of `key` if present, without marking it as seen.
    pub(crate) fn get_mut(&mut self, key: &K) -> Option<&mut V> {
        let i = *self.index.get(key)?;
        Some(&mut self.slots[i as usize].value)
    }

    /// Drops the keys last seen before `cutoff`; returns how many.
    pub(crate) fn expire(&mut self, cutoff: u64) -> usize {
        let mut n = 0;
        while self.tail != NIL && self.slots[self.tail as usize].seen < cutoff {
            self.remove(self.tail);
            n += 1;
        }
        // Give back memory after a burst (a scan of many sources), keeping room to grow.
        if self.slots.capacity() > 64 && self.slots.len() < self.slots.capacity() / 4 {
            self.slots.shrink_to(self.slots.len() * 2);
            self.index.shrink_to(self.slots.len() * 2);
        }
        n
    }

    /// Values, most recently seen first (for tests and evidence).
    #[cfg(test)]
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&K, &V)> {
        let mut i = self.head;
        std::iter::from_fn(move || {
            if i == NIL {
                return None;
            }
            let slot = &self.slots[i as usize];
            i = slot.next;
            Some((&slot.key, &slot.value))
        })
    }

    fn unlink(&mut self, i: u32) {
        let (prev, next) = {
            let s = &self.slots[i as usize];
            (s.prev, s.next)
        };
        if prev == NIL {
            self.head = next;
        } else {
            self.slots[prev as usize].next = next;
        }
        if next == NIL {
            self.tail = prev;
        } else {
            self.slots[next as usize].prev = prev;
        }
        let s = &mut self.slots[i as usize];
        s.prev = NIL;
        s.next = NIL;
    }

    fn push_front(&mut self, i: u32) {
        let old = self.head;
        {
            let s = &mut self.slots[i as usize];
            s.prev = NIL;
            s.next = old;
        }
        if old == NIL {
            self.tail = i;
        } else {
            self.slots[old as usize].prev = i;
        }
        self.head = i;
    }

    /// Removes slot `i`; the last slot moves into its place to keep the `Vec` dense.
    fn remove(&mut self, i: u32) {
        self.unlink(i);
        let removed = self.slots.swap_remove(i as usize);
        self.index.remove(&removed.key);
        if (i as usize) < self.slots.len() {
            // The former last slot now lives at `i`: repoint its neighbours and its key.
            let (prev, next) = {
                let s = &self.slots[i as usize];
                (s.prev, s.next)
            };
            if prev == NIL {
                self.head = i;
            } else {
                self.slots[prev as usize].next = i;
            }
            if next == NIL {
                self.tail = i;
            } else {
                self.slots[next as usize].prev = i;
            }
            if let Some(at) = self.index.get_mut(&self.slots[i as usize].key) {
                *at = i;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(t: &KeyTable<u32, u32>) -> Vec<u32> {
        t.iter().map(|(k, _)| *k).collect()
    }

    #[test]
    fn evicts_least_recently_seen() {
        let mut t = KeyTable::new(3);
        for k in 1..=3 {
            *t.touch(k, u64::from(k), || 0) += 1;
        }
        t.touch(1, 4, || 0); // 1 is fresh again; 2 is now the oldest
        t.touch(4, 5, || 0);
        assert_eq!(keys(&t), [4, 1, 3]);
        assert_eq!(t.evicted(), 1);
        assert_eq!(*t.get_mut(&1).unwrap(), 1, "value kept across touches");
        assert!(t.get_mut(&2).is_none());
    }

    #[test]
    fn expires_idle_keys_only() {
        let mut t = KeyTable::new(10);
        for k in 0..10u32 {
            t.touch(k, u64::from(k) * 10, || k);
        }
        assert_eq!(t.expire(45), 5);
        assert_eq!(keys(&t), [9, 8, 7, 6, 5]);
        assert_eq!(t.expire(45), 0);
        assert_eq!(t.expire(u64::MAX), 5);
        assert_eq!(t.len(), 0);
        t.touch(1, 1, || 1);
        assert_eq!(keys(&t), [1]);
    }

    /// Random operations against a plain model: order, contents and links stay consistent.
    #[test]
    fn matches_a_model() {
        let mut t: KeyTable<u32, u32> = KeyTable::new(50);
        let mut model: Vec<(u32, u64)> = Vec::new(); // most recent first
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut now = 0u64;
        for _ in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            now += x % 3;
            let key = (x >> 20) as u32 % 120;
            if x.is_multiple_of(11) {
                let cutoff = now.saturating_sub(40);
                t.expire(cutoff);
                model.retain(|&(_, seen)| seen >= cutoff);
            } else {
                *t.touch(key, now, || 0) += 1;
                model.retain(|&(k, _)| k != key);
                model.insert(0, (key, now));
                model.truncate(50);
            }
            assert_eq!(keys(&t), model.iter().map(|m| m.0).collect::<Vec<_>>());
            assert_eq!(t.index.len(), t.slots.len());
        }
    }
}
