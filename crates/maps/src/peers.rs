//! The best Rust peers behind the same [`ConcurrentMap`] trait: dashmap,
//! papaya and scc, each built with the same hasher type `S` as our own maps.
//!
//! Each adapter uses its map's own concurrent API and keeps every operation
//! a single atomic step of that map (in particular `compare_and_swap` never
//! checks and then acts in two steps).
//!
//! None of these maps exposes lock or mechanism counters, so their
//! [`stats`](ConcurrentMap::stats) report `len` only: `lock`, `syncmap` and
//! `growth` are `None`. Their internal contention is visible only from the
//! outside (latency, CPU profiles).

use std::fmt;
use std::hash::{BuildHasher, Hash};

use crate::{ConcurrentMap, DefaultHashBuilder, MapStats};

/// Stats for a map that exposes only its length.
fn len_only(len: usize) -> MapStats {
    MapStats {
        len,
        lock: None,
        syncmap: None,
        growth: None,
    }
}

/// [`dashmap::DashMap`]: `RwLock`-sharded hashbrown tables, dashmap's
/// default shard count (next power of two ≥ 4 × cores).
///
/// `get_or_insert` looks under the shard's read lock first and only on a
/// miss goes through `entry` (write lock), the same Go-idiom fast path that
/// [`Locked`](crate::Locked) and [`ShardedMap`](crate::ShardedMap) use, so the
/// three lock-based maps are compared like for like. `compare_and_swap` runs
/// under the shard's write lock (`get_mut`).
///
/// Stats: `len` only (dashmap exposes no lock counters).
///
/// ```
/// use mapknee_maps::{ConcurrentMap, DashMapAdapter};
/// let m: DashMapAdapter<u64, u64> = DashMapAdapter::with_capacity_and_hasher(0, Default::default());
/// assert_eq!(m.get_or_insert(1, 10), None);
/// assert!(m.compare_and_swap(&1, &10, 11));
/// assert_eq!(m.insert(1, 12), Some(11));
/// assert_eq!(m.stats().lock, None);
/// ```
pub struct DashMapAdapter<K, V, S = DefaultHashBuilder> {
    map: dashmap::DashMap<K, V, S>,
}

impl<K, V, S> fmt::Debug for DashMapAdapter<K, V, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DashMapAdapter").finish_non_exhaustive()
    }
}

impl<K: Hash + Eq, V, S: BuildHasher + Clone> DashMapAdapter<K, V, S> {
    /// An empty map with room for `capacity` keys, hashing with `hasher`.
    ///
    /// ```
    /// use mapknee_maps::{ConcurrentMap, DashMapAdapter};
    /// let m: DashMapAdapter<u8, u8> = DashMapAdapter::with_capacity_and_hasher(8, Default::default());
    /// assert!(m.is_empty());
    /// ```
    pub fn with_capacity_and_hasher(capacity: usize, hasher: S) -> Self {
        Self {
            map: dashmap::DashMap::with_capacity_and_hasher(capacity, hasher),
        }
    }

    /// The map inside, for peer-specific inspection.
    ///
    /// ```
    /// use mapknee_maps::DashMapAdapter;
    /// let m: DashMapAdapter<u8, u8> = DashMapAdapter::with_capacity_and_hasher(0, Default::default());
    /// assert!(m.inner().is_empty());
    /// ```
    pub fn inner(&self) -> &dashmap::DashMap<K, V, S> {
        &self.map
    }
}

impl<K, V, S> ConcurrentMap<K, V> for DashMapAdapter<K, V, S>
where
    K: Hash + Eq + Send + Sync,
    V: Clone + PartialEq + Send + Sync,
    S: BuildHasher + Clone + Send + Sync,
{
    #[inline]
    fn get(&self, key: &K) -> Option<V> {
        self.map.get(key).map(|r| r.value().clone())
    }

    #[inline]
    fn insert(&self, key: K, value: V) -> Option<V> {
        self.map.insert(key, value)
    }

    fn get_or_insert(&self, key: K, value: V) -> Option<V> {
        if let Some(r) = self.map.get(&key) {
            return Some(r.value().clone());
        }
        match self.map.entry(key) {
            dashmap::Entry::Occupied(e) => Some(e.get().clone()),
            dashmap::Entry::Vacant(e) => {
                e.insert(value);
                None
            }
        }
    }

    fn compare_and_swap(&self, key: &K, current: &V, new: V) -> bool {
        match self.map.get_mut(key) {
            Some(mut r) if *r == *current => {
                *r = new;
                true
            }
            _ => false,
        }
    }

    #[inline]
    fn remove(&self, key: &K) -> Option<V> {
        self.map.remove(key).map(|(_, v)| v)
    }

    fn len(&self) -> usize {
        self.map.len()
    }

    /// `len` only: dashmap exposes no lock counters.
    fn stats(&self) -> MapStats {
        len_only(self.len())
    }

    /// Nothing: no counters, and `len` would take the map's locks.
    fn counters(&self) -> MapStats {
        MapStats::default()
    }
}

/// [`papaya::HashMap`]: a lock-free table with incremental resizing and
/// epoch-style reclamation (seize).
///
/// Each operation pins the map (`pin()`, a cheap local guard) for just that
/// operation. `get_or_insert` is `try_insert` (one atomic step: insert or
/// report the current value); `compare_and_swap` is `compute` with a closure
/// that inserts `new` only when it sees `current` and aborts otherwise —
/// papaya retries the closure if the entry changed under it, so the compare
/// and the swap are one atomic step.
///
/// Stats: `len` only (papaya has no locks and exposes no counters).
///
/// ```
/// use mapknee_maps::{ConcurrentMap, PapayaAdapter};
/// let m: PapayaAdapter<u64, u64> = PapayaAdapter::with_capacity_and_hasher(0, Default::default());
/// assert_eq!(m.get_or_insert(1, 10), None);
/// assert!(!m.compare_and_swap(&1, &9, 11));
/// assert!(m.compare_and_swap(&1, &10, 11));
/// assert_eq!(m.remove(&1), Some(11));
/// ```
pub struct PapayaAdapter<K, V, S = DefaultHashBuilder> {
    map: papaya::HashMap<K, V, S>,
}

impl<K, V, S> fmt::Debug for PapayaAdapter<K, V, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PapayaAdapter").finish_non_exhaustive()
    }
}

impl<K, V, S> PapayaAdapter<K, V, S> {
    /// An empty map with room for `capacity` keys, hashing with `hasher`.
    ///
    /// ```
    /// use mapknee_maps::{ConcurrentMap, PapayaAdapter};
    /// let m: PapayaAdapter<u8, u8> = PapayaAdapter::with_capacity_and_hasher(8, Default::default());
    /// assert!(m.is_empty());
    /// ```
    pub fn with_capacity_and_hasher(capacity: usize, hasher: S) -> Self {
        Self {
            map: papaya::HashMap::with_capacity_and_hasher(capacity, hasher),
        }
    }

    /// The map inside, for peer-specific inspection.
    ///
    /// ```
    /// use mapknee_maps::PapayaAdapter;
    /// let m: PapayaAdapter<u8, u8> = PapayaAdapter::with_capacity_and_hasher(0, Default::default());
    /// assert_eq!(m.inner().len(), 0);
    /// ```
    pub fn inner(&self) -> &papaya::HashMap<K, V, S> {
        &self.map
    }
}

impl<K, V, S> ConcurrentMap<K, V> for PapayaAdapter<K, V, S>
where
    K: Hash + Eq + Clone + Send + Sync,
    V: Clone + PartialEq + Send + Sync,
    S: BuildHasher + Send + Sync,
{
    #[inline]
    fn get(&self, key: &K) -> Option<V> {
        self.map.pin().get(key).cloned()
    }

    #[inline]
    fn insert(&self, key: K, value: V) -> Option<V> {
        self.map.pin().insert(key, value).cloned()
    }

    fn get_or_insert(&self, key: K, value: V) -> Option<V> {
        match self.map.pin().try_insert(key, value) {
            Ok(_) => None,
            Err(occupied) => Some(occupied.current.clone()),
        }
    }

    fn compare_and_swap(&self, key: &K, current: &V, new: V) -> bool {
        let map = self.map.pin();
        let outcome = map.compute(key.clone(), |entry| match entry {
            Some((_, v)) if *v == *current => papaya::Operation::Insert(new.clone()),
            _ => papaya::Operation::Abort(()),
        });
        matches!(outcome, papaya::Compute::Updated { .. })
    }

    #[inline]
    fn remove(&self, key: &K) -> Option<V> {
        self.map.pin().remove(key).cloned()
    }

    fn len(&self) -> usize {
        self.map.len()
    }

    /// `len` only: papaya exposes no counters.
    fn stats(&self) -> MapStats {
        len_only(self.len())
    }

    /// Nothing: no counters, and `len` would take the map's locks.
    fn counters(&self) -> MapStats {
        MapStats::default()
    }
}

/// [`scc::HashMap`]: bucket-level locks over a lock-free, incrementally
/// resized bucket array (sdd reclamation).
///
/// The synchronous API throughout: `read_sync`, `upsert_sync`,
/// `get_or_insert` as `read_sync` then, on a miss, `entry_sync` (the bucket's
/// exclusive lock; the same read-first idiom as the lock-based maps, so a hit
/// never takes a bucket exclusively), `update_sync` for `compare_and_swap`
/// (the updater runs under the bucket's lock, so compare and swap are one
/// step) and `remove_sync`.
///
/// Stats: `len` only (scc exposes no lock counters).
///
/// ```
/// use mapknee_maps::{ConcurrentMap, SccAdapter};
/// let m: SccAdapter<u64, u64> = SccAdapter::with_capacity_and_hasher(0, Default::default());
/// assert_eq!(m.insert(1, 10), None);
/// assert_eq!(m.get_or_insert(1, 0), Some(10));
/// assert!(m.compare_and_swap(&1, &10, 11));
/// assert_eq!(m.get(&1), Some(11));
/// ```
pub struct SccAdapter<K, V, S = DefaultHashBuilder>
where
    S: BuildHasher,
{
    map: scc::HashMap<K, V, S>,
}

impl<K, V, S: BuildHasher> fmt::Debug for SccAdapter<K, V, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SccAdapter").finish_non_exhaustive()
    }
}

impl<K: Hash + Eq, V, S: BuildHasher> SccAdapter<K, V, S> {
    /// An empty map with room for `capacity` keys, hashing with `hasher`.
    ///
    /// ```
    /// use mapknee_maps::{ConcurrentMap, SccAdapter};
    /// let m: SccAdapter<u8, u8> = SccAdapter::with_capacity_and_hasher(8, Default::default());
    /// assert!(m.is_empty());
    /// ```
    pub fn with_capacity_and_hasher(capacity: usize, hasher: S) -> Self {
        Self {
            map: scc::HashMap::with_capacity_and_hasher(capacity, hasher),
        }
    }

    /// The map inside, for peer-specific inspection.
    ///
    /// ```
    /// use mapknee_maps::SccAdapter;
    /// let m: SccAdapter<u8, u8> = SccAdapter::with_capacity_and_hasher(0, Default::default());
    /// assert_eq!(m.inner().len(), 0);
    /// ```
    pub fn inner(&self) -> &scc::HashMap<K, V, S> {
        &self.map
    }
}

impl<K, V, S> ConcurrentMap<K, V> for SccAdapter<K, V, S>
where
    K: Hash + Eq + Send + Sync,
    V: Clone + PartialEq + Send + Sync,
    S: BuildHasher + Send + Sync,
{
    #[inline]
    fn get(&self, key: &K) -> Option<V> {
        self.map.read_sync(key, |_, v| v.clone())
    }

    #[inline]
    fn insert(&self, key: K, value: V) -> Option<V> {
        self.map.upsert_sync(key, value)
    }

    fn get_or_insert(&self, key: K, value: V) -> Option<V> {
        if let Some(v) = self.map.read_sync(&key, |_, v| v.clone()) {
            return Some(v);
        }
        match self.map.entry_sync(key) {
            scc::hash_map::Entry::Occupied(e) => Some(e.get().clone()),
            scc::hash_map::Entry::Vacant(e) => {
                e.insert_entry(value);
                None
            }
        }
    }

    fn compare_and_swap(&self, key: &K, current: &V, new: V) -> bool {
        self.map
            .update_sync(key, |_, v| {
                if *v == *current {
                    *v = new;
                    true
                } else {
                    false
                }
            })
            .unwrap_or(false)
    }

    #[inline]
    fn remove(&self, key: &K) -> Option<V> {
        self.map.remove_sync(key).map(|(_, v)| v)
    }

    fn len(&self) -> usize {
        self.map.len()
    }

    /// `len` only: scc exposes no lock counters.
    fn stats(&self) -> MapStats {
        len_only(self.len())
    }

    /// Nothing: no counters, and `len` would take the map's locks.
    fn counters(&self) -> MapStats {
        MapStats::default()
    }
}
