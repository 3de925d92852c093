//! Iteration over a `GoMap`, correct in the middle of a growth.

use std::fmt;
use std::iter::FusedIterator;

use super::bucket::{BucketArray, BucketRef, BUCKET_SLOTS};

/// An iterator over a [`GoMap`](super::GoMap)'s entries, in bucket order.
///
/// Created by [`GoMap::iter`](super::GoMap::iter). Yields every entry
/// exactly once, even while a growth is in progress: an entry is either
/// still in an unevacuated old bucket or already in the new array, never
/// both, and the borrow keeps the map from changing underneath.
///
/// NOTE: Go 1.19 starts each iteration at a random bucket and slot so that
/// programs cannot depend on the order, and walks the *new* array, filtering
/// each unevacuated old bucket for the entries that belong to the current
/// new bucket, because the map may grow while it iterates. A Rust iterator
/// borrows the map, so the map is frozen: we walk the unevacuated old
/// buckets, then the new array, in index order (no rehashing, no random
/// start; the order is still unspecified).
///
/// ```
/// use mapknee_maps::GoMap;
/// let mut m = GoMap::new();
/// m.insert("a", 1);
/// m.insert("b", 2);
/// let mut seen: Vec<_> = m.iter().map(|(k, v)| (*k, *v)).collect();
/// seen.sort();
/// assert_eq!(seen, [("a", 1), ("b", 2)]);
/// ```
pub struct Iter<'a, K, V> {
    /// The old array (when a growth is in progress) and the next old
    /// bucket to visit.
    old: Option<&'a BucketArray<K, V>>,
    old_next: usize,
    /// The new array and the next new bucket to visit.
    new: &'a BucketArray<K, V>,
    new_next: usize,
    /// The bucket being walked, and the next slot in it.
    current: Option<BucketRef<'a, K, V>>,
    slot: usize,
    /// Entries not yet yielded: ends the walk early and sizes it exactly.
    remaining: usize,
}

impl<'a, K, V> Iter<'a, K, V> {
    pub(super) fn new(
        old: Option<&'a BucketArray<K, V>>,
        new: &'a BucketArray<K, V>,
        len: usize,
    ) -> Self {
        Iter {
            old,
            old_next: 0,
            new,
            new_next: 0,
            current: None,
            slot: 0,
            remaining: len,
        }
    }
}

impl<'a, K, V> Iterator for Iter<'a, K, V> {
    type Item = (&'a K, &'a V);

    fn next(&mut self) -> Option<Self::Item> {
        if self.remaining == 0 {
            return None;
        }
        loop {
            if let Some(b) = self.current {
                while self.slot < BUCKET_SLOTS {
                    let slot = self.slot;
                    self.slot += 1;
                    if let Some(entry) = b.entry(slot) {
                        self.remaining -= 1;
                        return Some(entry);
                    }
                }
                self.current = b.overflow();
                self.slot = 0;
                continue;
            }
            if let Some(old) = self.old.filter(|old| self.old_next < old.len()) {
                let i = self.old_next;
                self.old_next += 1;
                if !old.evacuated(i) {
                    self.current = Some(old.head(i));
                }
                continue;
            }
            // `remaining > 0` guarantees an entry is left in the new array.
            if self.new_next == self.new.len() {
                return None;
            }
            self.current = Some(self.new.head(self.new_next));
            self.new_next += 1;
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.remaining, Some(self.remaining))
    }
}

impl<K, V> ExactSizeIterator for Iter<'_, K, V> {}
impl<K, V> FusedIterator for Iter<'_, K, V> {}

impl<K, V> Clone for Iter<'_, K, V> {
    fn clone(&self) -> Self {
        Iter { ..*self }
    }
}

impl<K, V> fmt::Debug for Iter<'_, K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Iter")
            .field("remaining", &self.remaining)
            .finish_non_exhaustive()
    }
}
