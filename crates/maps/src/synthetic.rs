//! `Synthetic`: a calibration map whose capacity is known in advance, so the
//! knee the analysis finds can be checked against theory.

use std::collections::HashMap;
use std::fmt;
use std::hash::{BuildHasher, Hash};
use std::time::{Duration, Instant};

use crate::lock::CountingMutex;
use crate::probes;
use crate::{ConcurrentMap, DefaultHashBuilder, MapStats};

/// A map behind one global mutex that every operation holds for exactly
/// `hold`, so the map serves at most `1 / hold` operations per second no
/// matter how many threads call it: a single server with a deterministic
/// service time, for checking knee detection against theory.
///
/// How the service is made exactly `hold`: the server is busy from the
/// moment it is free and an operation is waiting for it until `hold`
/// later. An operation notes when it asks for the lock, takes it, does the
/// real map operation, then spins on the clock until `hold` has passed
/// since its service began — the later of its own request and the end of
/// the previous service — and records that end. The real work therefore
/// happens *inside* the hold instead of being added to it, and so does the
/// mutex hand-over: a waiter that took the lock 0.4 µs after the previous
/// holder released spins 0.4 µs less. Waiters spin for the lock rather
/// than sleep: a sleeping waiter's wake-up took ~2.5 µs on the development
/// VM, longer than a 2 µs hold, and held the capacity at ~0.8 / hold.
/// Under load the services are then back to back, `hold` each, and the
/// capacity is `1 / hold` as long as a hand-over takes less than `hold`.
/// With more threads than cores, a spinning waiter burns the time slice
/// the holder needs; use the map with at most one thread per core.
/// std's `Instant` rather than a TSC clock because this map's whole point is
/// that the hold is at least `hold` in true time; a calibrated TSC could
/// err slightly short.
///
/// Every operation takes the lock, `len` included; `stats` reads the lock
/// counters before taking it, so it does not count itself.
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
    map: CountingMutex<Server<K, V, S>>,
    hold: Duration,
}

/// What the lock guards: the map and when the server's last service ends.
struct Server<K, V, S> {
    map: HashMap<K, V, S>,
    busy_until: Instant,
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
            map: CountingMutex::new(Server {
                map: HashMap::with_capacity_and_hasher(capacity, hasher),
                busy_until: Instant::now(),
            }),
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
    /// since this operation's service began.
    #[inline]
    fn with_hold<R>(&self, op: impl FnOnce(&mut HashMap<K, V, S>) -> R) -> R {
        let requested = Instant::now();
        let mut server = self.map.lock_spinning();
        let end = requested.max(server.busy_until) + self.hold;
        let out = op(&mut server.map);
        while Instant::now() < end {
            std::hint::spin_loop();
        }
        server.busy_until = end;
        drop(server);
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
        probes::sample(
            self,
            || self.map.hold(),
            |_| MapStats {
                len: 0,
                lock: Some(self.map.stats()),
                syncmap: None,
                growth: None,
            },
        )
    }
}
