//! `Synthetic`: a calibration map whose capacity is known in advance, so the
//! knee the analysis finds can be checked against theory.

use std::collections::HashMap;
use std::fmt;
use std::hash::{BuildHasher, Hash};
use std::time::{Duration, Instant};

use crate::lock::CountingMutex;
use crate::{ConcurrentMap, DefaultHashBuilder, MapStats};

/// A map behind one global mutex that every operation holds for exactly
/// `hold`, so the map serves at most `1 / hold` operations per second no
/// matter how many threads call it: an M/D/1 server with a known service
/// time, for checking knee detection against theory.
///
/// How the hold is made exact: an operation takes the mutex, notes the time,
/// does the real map operation, then spins on the clock until `hold` has
/// passed since it took the lock, and only then releases it. The real work
/// therefore happens *inside* the hold instead of being added to it, so the
/// service time is `max(hold, work)` — `hold` for any hold longer than a
/// std `HashMap` operation (tens of ns) — plus at most one clock reading of
/// overshoot (std `Instant`, ~20–25 ns via the vDSO on Linux x86-64).
/// std's `Instant` rather than a TSC clock because this map's whole point is
/// that the hold is at least `hold` in true time; a calibrated TSC could
/// err slightly short.
///
/// Under contention the mutex hand-over (waking a parked waiter) adds to the
/// time between two holds, so the measured capacity is at most `1 / hold`;
/// the lock counters in [`stats`](ConcurrentMap::stats) show how much waiting
/// there was.
///
/// Every operation takes the lock, `len` and `stats` included (`stats` reads
/// the lock counters before taking it, so it does not count itself).
///
/// ```
/// use std::time::{Duration, Instant};
/// use mapknee_maps::{ConcurrentMap, Synthetic};
/// let m: Synthetic<u64, u64> = Synthetic::new(Duration::from_micros(50));
/// let start = Instant::now();
/// m.insert(1, 1);
/// assert_eq!(m.get(&1), Some(1));
/// assert!(start.elapsed() >= Duration::from_micros(100));
/// assert_eq!(m.stats().lock.unwrap().acquisitions, 2);
/// ```
pub struct Synthetic<K, V, S = DefaultHashBuilder> {
    map: CountingMutex<HashMap<K, V, S>>,
    hold: Duration,
}

impl<K, V, S> fmt::Debug for Synthetic<K, V, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Synthetic")
            .field("hold", &self.hold)
            .finish_non_exhaustive()
    }
}

impl<K, V> Synthetic<K, V, DefaultHashBuilder> {
    /// An empty map whose every operation holds the lock for `hold`.
    ///
    /// ```
    /// use std::time::Duration;
    /// let m = mapknee_maps::Synthetic::<u8, u8>::new(Duration::from_nanos(500));
    /// assert_eq!(m.hold(), Duration::from_nanos(500));
    /// ```
    pub fn new(hold: Duration) -> Self {
        Self::with_capacity_and_hasher(hold, 0, DefaultHashBuilder::default())
    }
}

impl<K, V, S> Synthetic<K, V, S> {
    /// An empty map with room for `capacity` keys, hashing with `hasher`.
    ///
    /// ```
    /// use std::time::Duration;
    /// use mapknee_maps::{ConcurrentMap, Synthetic};
    /// let m: Synthetic<u8, u8, std::hash::RandomState> =
    ///     Synthetic::with_capacity_and_hasher(Duration::from_nanos(1), 16, Default::default());
    /// assert!(m.is_empty());
    /// ```
    pub fn with_capacity_and_hasher(hold: Duration, capacity: usize, hasher: S) -> Self {
        Self {
            map: CountingMutex::new(HashMap::with_capacity_and_hasher(capacity, hasher)),
            hold,
        }
    }

    /// How long every operation holds the lock.
    ///
    /// ```
    /// use std::time::Duration;
    /// let m = mapknee_maps::Synthetic::<u8, u8>::new(Duration::from_micros(2));
    /// assert_eq!(m.hold(), Duration::from_micros(2));
    /// ```
    pub fn hold(&self) -> Duration {
        self.hold
    }

    /// Runs `op` under the lock, holding the lock until `hold` has passed
    /// since it was taken.
    #[inline]
    fn with_hold<R>(&self, op: impl FnOnce(&mut HashMap<K, V, S>) -> R) -> R {
        let mut map = self.map.lock();
        let taken = Instant::now();
        let out = op(&mut map);
        while taken.elapsed() < self.hold {
            std::hint::spin_loop();
        }
        drop(map);
        out
    }
}

impl<K, V, S> ConcurrentMap<K, V> for Synthetic<K, V, S>
where
    K: Hash + Eq + Send + Sync,
    V: Clone + PartialEq + Send + Sync,
    S: BuildHasher + Send + Sync,
{
    fn get(&self, key: &K) -> Option<V> {
        self.with_hold(|m| m.get(key).cloned())
    }

    fn insert(&self, key: K, value: V) -> Option<V> {
        self.with_hold(|m| m.insert(key, value))
    }

    fn get_or_insert(&self, key: K, value: V) -> Option<V> {
        self.with_hold(|m| match m.entry(key) {
            std::collections::hash_map::Entry::Occupied(e) => Some(e.get().clone()),
            std::collections::hash_map::Entry::Vacant(e) => {
                e.insert(value);
                None
            }
        })
    }

    fn compare_and_swap(&self, key: &K, current: &V, new: V) -> bool {
        self.with_hold(|m| match m.get_mut(key) {
            Some(v) if *v == *current => {
                *v = new;
                true
            }
            _ => false,
        })
    }

    fn remove(&self, key: &K) -> Option<V> {
        self.with_hold(|m| m.remove(key))
    }

    fn len(&self) -> usize {
        self.with_hold(|m| m.len())
    }

    fn stats(&self) -> MapStats {
        // Counters first: reading `len` may take the map's locks, and
        // must not count itself.
        let counters = self.counters();
        MapStats {
            len: self.len(),
            ..counters
        }
    }

    /// The lock's counters; `len` would hold the lock for the whole
    /// duration, so it is left out.
    fn counters(&self) -> MapStats {
        MapStats {
            len: 0,
            lock: Some(self.map.stats()),
            syncmap: None,
            growth: None,
        }
    }
}
