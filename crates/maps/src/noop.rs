//! `noop`: a map whose operations do nothing and count nothing. Measured
//! like any other map, it shows what the harness and the machine alone add
//! to latency: the noise floor every other map's knee is judged against.

use crate::{ConcurrentMap, MapStats};

/// A map that stores nothing: every lookup misses, every write is dropped.
///
/// ```
/// use mapknee_maps::{ConcurrentMap, Noop};
/// assert_eq!(Noop.insert(1, 2), None);
/// assert_eq!(Noop.get(&1), None::<u64>);
/// assert_eq!(ConcurrentMap::<u64, u64>::len(&Noop), 0);
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct Noop;

impl<K, V> ConcurrentMap<K, V> for Noop {
    #[inline]
    fn get(&self, _: &K) -> Option<V> {
        None
    }
    #[inline]
    fn insert(&self, _: K, _: V) -> Option<V> {
        None
    }
    #[inline]
    fn get_or_insert(&self, _: K, _: V) -> Option<V> {
        None
    }
    #[inline]
    fn compare_and_swap(&self, _: &K, _: &V, _: V) -> bool {
        false
    }
    #[inline]
    fn remove(&self, _: &K) -> Option<V> {
        None
    }
    fn len(&self) -> usize {
        0
    }
    fn stats(&self) -> MapStats {
        MapStats::default()
    }
    fn counters(&self) -> MapStats {
        MapStats::default()
    }
}
