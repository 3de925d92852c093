//! `ShardedMap`: N `RwLock<HashTable>` shards, the key's hash picking the
//! shard — the textbook answer to one lock's contention, and, unpadded, a
//! demonstration of false sharing between shard locks.

use std::fmt;
use std::hash::{BuildHasher, Hash};
use std::sync::atomic::{AtomicU64, Ordering};

use crossbeam_utils::CachePadded;
use hashbrown::hash_table::Entry;
use hashbrown::HashTable;

use crate::counters::CounterTable;
use crate::lock::{self, LockTally};
use crate::probes;
use crate::{ConcurrentMap, DefaultHashBuilder, LockStats, MapStats};

use shard_lock::{ReadGuard, RwLock, WriteGuard};

/// One shard: a hashbrown table of `(key, value)` pairs behind a
/// reader-writer lock, and the count of its write acquisitions.
///
/// Why the write count lives here and the read count in the map's striped
/// [`CounterTable`]: a write holds the lock exclusively and already owns
/// this cache line (it wrote the lock word and is about to write the
/// table's length), so counting it under the lock is a load and a store on
/// a line in hand, no thread-slot lookup, and no increment can be lost (the
/// next writer's acquisition orders after this one's release). Readers share
/// the lock, so their count must stay per thread or they would contend on
/// it. Measured single-thread against dashmap (`nsop`, ten alternations,
/// `benchsuite/runs/2026-12-02-vm17/`): `remove` + `insert` at 0.930 and
/// 0.935 of dashmap's speed against 0.895 and 0.920 with the striped count
/// — a small gain, inside what code placement moves between two builds.
struct Shard<K, V> {
    lock: RwLock<HashTable<(K, V)>>,
    /// Write acquisitions, each added by its writer while it holds `lock`;
    /// read without the lock (relaxed) by the counters' samplers.
    writes: AtomicU64,
}

impl<K, V> Shard<K, V> {
    fn with_capacity(capacity: usize) -> Self {
        Self {
            lock: RwLock::new(HashTable::with_capacity(capacity)),
            writes: AtomicU64::new(0),
        }
    }
}

/// The shards' lock: dashmap's own one-word reader-writer lock
/// (`dashmap::RwLock`, which dashmap exports with its `raw-api` feature),
/// not std's and not `parking_lot`'s.
///
/// Why not std's: every write to a shard first *tries* the lock, so that
/// only a failed try is counted as contended and timed; std's `try_write`
/// loads the lock word before its compare-exchange, and when the other
/// core wrote the shard last that is two cache-line transfers (shared, then
/// exclusive) where a single compare-exchange takes one (measured on a busy
/// 2-vCPU VM, `benchsuite/runs/2026-12-01-sharded/`: on one thread
/// read-mostly 0.929 → 0.984 and mixed 0.928 → 0.967 of dashmap's
/// throughput with `parking_lot`'s).
///
/// Why not `parking_lot`'s (the shards' lock until 2026-12-03): it is
/// task-fair, so a writer that finds a reader inside sets its bit and
/// every later reader of that shard waits behind it, and a reader the OS
/// preempts inside a shard then stalls both workers, not one. dashmap's
/// lets readers in while a writer waits (only a writer holding the lock
/// keeps them out), as a sharded map of short critical sections wants.
/// Measured with `examples/pair.rs` (`sharded dashmap 4 6 2`: 2 threads,
/// closed loop, 4 rounds of 6 alternated pairs; three runs of each build,
/// alternated, and two more of this one; AMD EPYC 2-vCPU VM,
/// `benchsuite/runs/2026-12-03-vm22b/`): ShardedMap's throughput over
/// dashmap's, median of round medians, read-mostly / mixed / write-heavy,
/// 0.91–0.92 / 0.90–0.96 / 0.91–0.93 with `parking_lot`'s lock and
/// 0.91–0.98 / 0.96–1.02 / 0.97–1.00 with this one; under `perf record
/// -F 4999` (the workers interrupted 5,000 times a second) 0.78 / 0.72 /
/// 0.74 against 0.96 / 0.90 / 0.98.
///
/// The price: readers that never let a shard go can starve a writer of
/// it, which short critical sections spread over many shards make
/// unlikely, and which dashmap's users accept. No poisoning, which the
/// counting locks ignored anyway.
#[cfg(not(loom))]
mod shard_lock {
    pub(super) use dashmap::{
        RwLock, RwLockReadGuard as ReadGuard, RwLockWriteGuard as WriteGuard,
    };
}

/// Under loom the shards use loom's lock, behind `lock_api`'s method
/// shapes, so the models check the same map code.
#[cfg(loom)]
mod shard_lock {
    pub(super) use loom::sync::{RwLockReadGuard as ReadGuard, RwLockWriteGuard as WriteGuard};

    pub(super) struct RwLock<T>(loom::sync::RwLock<T>);

    impl<T> RwLock<T> {
        pub(super) fn new(value: T) -> Self {
            Self(loom::sync::RwLock::new(value))
        }

        pub(super) fn try_read(&self) -> Option<ReadGuard<'_, T>> {
            self.0.try_read().ok()
        }

        pub(super) fn read(&self) -> ReadGuard<'_, T> {
            self.0.read().unwrap_or_else(|p| p.into_inner())
        }

        pub(super) fn try_write(&self) -> Option<WriteGuard<'_, T>> {
            self.0.try_write().ok()
        }

        pub(super) fn write(&self) -> WriteGuard<'_, T> {
            self.0.write().unwrap_or_else(|p| p.into_inner())
        }
    }
}

/// The odd multiplier (2^64 / golden ratio) that remixes a key's hash before
/// its top bits pick the shard.
///
/// Why remix: the shard needs bits that (a) hashbrown does not use inside the
/// shard — its 7-bit tag is the top of the hash and its bucket index the low
/// bits, so a shard taken from either would give every key of a shard the same
/// tag or the same bucket bits — and (b) are well spread for every seed.
/// dashmap (and this map until 2026-12) took the bits just below the tag, which
/// meets (a) but not (b) with foldhash: for a `u64` key foldhash's hash is
/// `lo ^ hi` of the 128-bit product `(key ^ per-hasher seed) * shared seed`,
/// and for keys that differ only in their low bits (the load engine's
/// `0..keys`) bits 50–57 come from `lo` alone, a Weyl sequence
/// `key * seed mod 2^57` that collapses onto a few shards when the seed lies
/// near a fraction with a small denominator. Measured over 200,000 random
/// seeds, 2,000 sequential keys on 16 shards: 0.43 % of seeds left a shard
/// empty, the worst put all 2,000 keys on one shard; 65,536 keys on 256
/// shards: 0.15 % of seeds gave a shard over twice its share. The top bits of
/// `hash * SHARD_MIX` depend on every bit of the hash, including `hi`'s
/// well-mixed low bits: 0 seeds of 200,000 left a shard empty and the largest
/// shard held at most 1.38x the mean — what a uniform random assignment gives
/// (chi-square median 14.3 on 15 degrees of freedom). One multiply (3 cycles)
/// on the lookup path; 2-thread closed-loop throughput against dashmap did
/// not drop (benchsuite/runs/2026-12-01-vm8/shardmix). The bits it yields are
/// a function of the whole hash, not of the tag or bucket bits, so (a) still
/// holds.
const SHARD_MIX: u64 = 0x9E37_79B9_7F4A_7C15;

/// The most shards a map may have (a power of two).
pub const MAX_SHARDS: usize = 1 << 16;

/// The shards, cache-line padded or packed side by side.
enum Shards<K, V> {
    /// Each shard's lock word on its own cache line (`CachePadded`).
    Padded(Box<[CachePadded<Shard<K, V>>]>),
    /// Shards packed: neighbouring shards' lock words share cache lines, so
    /// threads on different shards still invalidate each other's line.
    Unpadded(Box<[Shard<K, V>]>),
}

/// The lock counters of every shard but its write acquisitions (those are
/// in [`Shard::writes`]), in one table: field `i` counts shard `i`'s read
/// acquisitions, `n + i` its contended acquisitions, read or write, and
/// `2n + i` their wait in ns (`n` shards). One table rather than one per
/// shard: a thread's read counts for up to 16 shards then share one line of
/// its own stripe, instead of one line in each shard's separate allocation.
struct ShardTally<'a> {
    counters: &'a CounterTable,
    shard: usize,
    shards: usize,
    /// Whether `acquired` counts (a read); a write is counted by its
    /// writer once it holds the lock.
    read: bool,
}

impl LockTally for ShardTally<'_> {
    #[inline]
    fn acquired(&self) {
        if self.read {
            self.counters.incr(self.shard);
        }
    }

    fn contended(&self, wait_ns: u64) {
        self.counters.incr(self.shards + self.shard);
        self.counters.add(2 * self.shards + self.shard, wait_ns);
    }
}

/// A concurrent map made of `2^k` shards, each a hashbrown `HashTable`
/// behind its own `RwLock`, with lock counters per shard.
///
/// The key is hashed once, with the map's hasher `S`: that hash picks the
/// shard (from the bits just below the top 7, see [`ShardedMap::shard_of`])
/// and is handed to the shard's `HashTable`, which takes a precomputed hash
/// (as dashmap does; a std `HashMap` shard would hash the key again). A
/// shard rehashes its keys with `S` only when its table grows.
///
/// `get_or_insert` follows the Go idiom (as [`Locked`](crate::Locked)'s
/// reader-writer flavour does): look under the shard's read lock, and only on
/// a miss take its write lock and look again. `compare_and_swap` runs under
/// the shard's write lock, so it is atomic.
///
/// ```
/// use mapknee_maps::{ConcurrentMap, ShardedMap};
/// let m: ShardedMap<u64, &str> = ShardedMap::with_hasher(5, true, Default::default());
/// assert_eq!(m.shard_count(), 8); // rounded up to a power of two
/// assert_eq!(m.insert(1, "one"), None);
/// assert_eq!(m.get_or_insert(1, "uno"), Some("one"));
/// assert!(m.compare_and_swap(&1, &"one", "eins"));
/// assert_eq!(m.remove(&1), Some("eins"));
/// assert_eq!(m.stats().lock.unwrap().acquisitions, 4);
/// ```
pub struct ShardedMap<K, V, S = DefaultHashBuilder> {
    shards: Shards<K, V>,
    /// `shard_count() - 1`; the shard count is a power of two.
    mask: usize,
    /// Right shift that brings the top `log2(shards)` bits of the remixed
    /// hash down to bit 0.
    shift: u32,
    hasher: S,
    /// Every shard's lock counters (see [`ShardTally`]).
    counters: CounterTable,
}

impl<K, V, S> fmt::Debug for ShardedMap<K, V, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ShardedMap")
            .field("shards", &self.shard_count())
            .field("padded", &self.is_padded())
            .finish_non_exhaustive()
    }
}

/// The default shard count: the next power of two ≥ 4 × available cores.
///
/// Why 4×: with `T` threads spread uniformly over `N` shards, a given
/// operation finds its shard busy with probability about `(T-1)/N`; at one
/// thread per core and `N = 4 × cores` that stays under 25 %, while the
/// memory cost (one lock and one table header per shard) stays small. dashmap
/// picks the same default (`default_shard_amount`), which keeps the
/// `sharded` / `dashmap` comparison about the map, not the shard count.
///
/// ```
/// let n = mapknee_maps::default_shards();
/// assert!(n.is_power_of_two() && n >= 4);
/// ```
pub fn default_shards() -> usize {
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    (cores * 4).next_power_of_two().min(MAX_SHARDS)
}

impl<K, V> ShardedMap<K, V, DefaultHashBuilder> {
    /// [`default_shards`] padded shards with a freshly seeded foldhash.
    ///
    /// ```
    /// use mapknee_maps::ShardedMap;
    /// let m = ShardedMap::<u32, u32>::new();
    /// assert_eq!(m.shard_count(), mapknee_maps::default_shards());
    /// ```
    pub fn new() -> Self {
        Self::with_hasher(default_shards(), true, DefaultHashBuilder::default())
    }
}

impl<K, V> Default for ShardedMap<K, V, DefaultHashBuilder> {
    fn default() -> Self {
        Self::new()
    }
}

impl<K, V, S> ShardedMap<K, V, S> {
    /// `shards` shards (rounded up to a power of two, at least 1, at most
    /// [`MAX_SHARDS`]), cache-line padded when `padded`, hashing with
    /// `hasher`.
    ///
    /// ```
    /// use mapknee_maps::ShardedMap;
    /// let m: ShardedMap<u8, u8> = ShardedMap::with_hasher(0, false, Default::default());
    /// assert_eq!((m.shard_count(), m.is_padded()), (1, false));
    /// ```
    pub fn with_hasher(shards: usize, padded: bool, hasher: S) -> Self {
        Self::with_capacity_and_hasher(shards, padded, 0, hasher)
    }

    /// As [`with_hasher`](Self::with_hasher), with room for about `capacity`
    /// keys spread over the shards.
    ///
    /// ```
    /// use mapknee_maps::{ConcurrentMap, ShardedMap};
    /// let m: ShardedMap<u64, u64> =
    ///     ShardedMap::with_capacity_and_hasher(16, true, 1 << 10, Default::default());
    /// assert!(m.is_empty());
    /// ```
    pub fn with_capacity_and_hasher(
        shards: usize,
        padded: bool,
        capacity: usize,
        hasher: S,
    ) -> Self {
        let n = shards.clamp(1, MAX_SHARDS).next_power_of_two();
        let bits = n.trailing_zeros();
        // Slack so the keys of a skewed shard do not force an early rehash.
        let per_shard = capacity.div_ceil(n) + capacity.div_ceil(n) / 8;
        let shard = || Shard::with_capacity(per_shard);
        let shards = if padded {
            Shards::Padded((0..n).map(|_| CachePadded::new(shard())).collect())
        } else {
            Shards::Unpadded((0..n).map(|_| shard()).collect())
        };
        Self {
            shards,
            mask: n - 1,
            // One shard: shift 0 and mask 0 (a shift by 64 would overflow).
            shift: (u64::BITS - bits) % u64::BITS,
            hasher,
            counters: CounterTable::new(3 * n),
        }
    }
}

impl<K, V, S> ShardedMap<K, V, S> {
    /// The number of shards (a power of two).
    ///
    /// ```
    /// use mapknee_maps::ShardedMap;
    /// let m: ShardedMap<u8, u8> = ShardedMap::with_hasher(3, true, Default::default());
    /// assert_eq!(m.shard_count(), 4);
    /// ```
    pub fn shard_count(&self) -> usize {
        self.mask + 1
    }

    /// Whether each shard sits on its own cache line.
    ///
    /// ```
    /// use mapknee_maps::ShardedMap;
    /// assert!(ShardedMap::<u8, u8>::new().is_padded());
    /// ```
    pub fn is_padded(&self) -> bool {
        matches!(self.shards, Shards::Padded(_))
    }

    #[inline]
    fn shard_at(&self, index: usize) -> &Shard<K, V> {
        match &self.shards {
            Shards::Padded(s) => &s[index],
            Shards::Unpadded(s) => &s[index],
        }
    }

    #[inline]
    fn tally(&self, shard: usize, read: bool) -> ShardTally<'_> {
        ShardTally {
            counters: &self.counters,
            shard,
            shards: self.shard_count(),
            read,
        }
    }

    /// Shard `index`'s table for reading, counted.
    #[inline]
    fn read(&self, index: usize) -> ReadGuard<'_, HashTable<(K, V)>> {
        let shard = self.shard_at(index);
        lock::counted(
            shard as *const _ as usize,
            &self.tally(index, true),
            || shard.lock.try_read(),
            || shard.lock.read(),
        )
    }

    /// Shard `index`'s table for writing, counted: the acquisition in the
    /// shard itself once the lock is held, contention in the table.
    #[inline]
    fn write(&self, index: usize) -> WriteGuard<'_, HashTable<(K, V)>> {
        let shard = self.shard_at(index);
        let guard = lock::counted(
            shard as *const _ as usize,
            &self.tally(index, false),
            || shard.lock.try_write(),
            || shard.lock.write(),
        );
        // Only the lock holder writes `writes`: a load and a store cannot
        // lose an increment, and the lock's release/acquire orders them.
        let w = &shard.writes;
        w.store(w.load(Ordering::Relaxed).wrapping_add(1), Ordering::Relaxed);
        guard
    }

    /// Every shard's write acquisitions, read without taking a lock.
    fn writes(&self) -> impl Iterator<Item = u64> + '_ {
        (0..self.shard_count()).map(|i| self.shard_at(i).writes.load(Ordering::Relaxed))
    }

    /// Each shard's lock counters, in shard order — for spotting a hot shard.
    ///
    /// ```
    /// use mapknee_maps::{ConcurrentMap, ShardedMap};
    /// let m: ShardedMap<u64, u64> = ShardedMap::with_hasher(4, true, Default::default());
    /// m.insert(9, 9);
    /// let per_shard = m.shard_lock_stats();
    /// assert_eq!(per_shard.len(), 4);
    /// assert_eq!(per_shard.iter().map(|s| s.acquisitions).sum::<u64>(), 1);
    /// // The map's totals are the shards' summed.
    /// for k in 0..100 { m.get_or_insert(k, k); }
    /// let per_shard = m.shard_lock_stats();
    /// let total = m.counters().lock.unwrap();
    /// assert_eq!(total.acquisitions, per_shard.iter().map(|s| s.acquisitions).sum::<u64>());
    /// assert_eq!(total.contended, per_shard.iter().map(|s| s.contended).sum::<u64>());
    /// assert_eq!(total.wait_ns, per_shard.iter().map(|s| s.wait_ns).sum::<u64>());
    /// assert!(total.acquisitions > 100);
    /// ```
    pub fn shard_lock_stats(&self) -> Vec<LockStats> {
        let n = self.shard_count();
        let sum = self.counters.sum();
        self.writes()
            .enumerate()
            .map(|(i, writes)| LockStats {
                acquisitions: sum[i] + writes,
                contended: sum[n + i],
                wait_ns: sum[2 * n + i],
            })
            .collect()
    }
}

impl<K: Hash, V, S: BuildHasher> ShardedMap<K, V, S> {
    /// The shard that holds `key`: the top `log2(shards)` bits of its hash
    /// times `SHARD_MIX` (see there for why not the hash's own bits).
    ///
    /// ```
    /// use mapknee_maps::ShardedMap;
    /// let m: ShardedMap<u64, u64> = ShardedMap::with_hasher(8, true, Default::default());
    /// assert_eq!(m.shard_of(&42), m.shard_of(&42));
    /// assert!(m.shard_of(&42) < 8);
    /// ```
    #[inline]
    pub fn shard_of(&self, key: &K) -> usize {
        self.locate(key).0
    }

    /// `key`'s shard and its hash: the one hash both the shard choice and
    /// the shard's table use.
    #[inline]
    fn locate(&self, key: &K) -> (usize, u64) {
        let hash = self.hasher.hash_one(key);
        let shard = (hash.wrapping_mul(SHARD_MIX) >> self.shift) as usize & self.mask;
        (shard, hash)
    }
}

impl<K, V, S> ConcurrentMap<K, V> for ShardedMap<K, V, S>
where
    K: Hash + Eq + Send + Sync,
    V: Clone + PartialEq + Send + Sync,
    S: BuildHasher + Send + Sync,
{
    #[inline]
    fn get(&self, key: &K) -> Option<V> {
        let (shard, hash) = self.locate(key);
        self.read(shard)
            .find(hash, |(k, _)| k == key)
            .map(|(_, v)| v.clone())
    }

    #[inline]
    fn insert(&self, key: K, value: V) -> Option<V> {
        let (shard, hash) = self.locate(&key);
        let mut table = self.write(shard);
        match table.entry(hash, |(k, _)| *k == key, |(k, _)| self.hasher.hash_one(k)) {
            // As std's `HashMap::insert`: the stored key stays, the value
            // is replaced.
            Entry::Occupied(mut e) => Some(std::mem::replace(&mut e.get_mut().1, value)),
            Entry::Vacant(e) => {
                e.insert((key, value));
                None
            }
        }
    }

    fn get_or_insert(&self, key: K, value: V) -> Option<V> {
        let (shard, hash) = self.locate(&key);
        if let Some((_, v)) = self.read(shard).find(hash, |(k, _)| *k == key) {
            return Some(v.clone());
        }
        // Another writer may have inserted between the two locks: look again.
        let mut table = self.write(shard);
        match table.entry(hash, |(k, _)| *k == key, |(k, _)| self.hasher.hash_one(k)) {
            Entry::Occupied(e) => Some(e.get().1.clone()),
            Entry::Vacant(e) => {
                e.insert((key, value));
                None
            }
        }
    }

    fn compare_and_swap(&self, key: &K, current: &V, new: V) -> bool {
        let (shard, hash) = self.locate(key);
        match self.write(shard).find_mut(hash, |(k, _)| k == key) {
            Some((_, v)) if *v == *current => {
                *v = new;
                true
            }
            _ => false,
        }
    }

    #[inline]
    fn remove(&self, key: &K) -> Option<V> {
        let (shard, hash) = self.locate(key);
        let mut table = self.write(shard);
        let entry = table.find_entry(hash, |(k, _)| k == key).ok()?;
        Some(entry.remove().0 .1)
    }

    /// Sums the shards' lengths, taking each shard's read lock in turn: not
    /// an atomic snapshot under concurrent writes.
    fn len(&self) -> usize {
        (0..self.shard_count()).map(|i| self.read(i).len()).sum()
    }

    /// Lock counters summed over the shards. They are read before `len`
    /// takes the shard locks, so a `stats()` call does not count itself
    /// (earlier `stats()` / `len()` calls do count, one acquisition per shard).
    fn stats(&self) -> MapStats {
        // Counters first: reading `len` may take the map's locks, and
        // must not count itself.
        let counters = self.counters();
        MapStats {
            len: self.len(),
            ..counters
        }
    }

    /// The shards' lock counters (atomics), no shard lock taken.
    fn counters(&self) -> MapStats {
        let all_shards = || -> Vec<_> {
            (0..self.shard_count())
                .map(|i| self.shard_at(i).lock.write())
                .collect()
        };
        // The table holds every shard's read acquisitions, then their
        // contended acquisitions, then their wait (see `ShardTally`): three
        // groups; the write acquisitions are in the shards.
        let ([reads, contended, wait_ns], writes) = probes::sample(self, all_shards, |_| {
            (self.counters.sum_groups::<3>(), self.writes().sum::<u64>())
        });
        let lock = LockStats {
            acquisitions: reads + writes,
            contended,
            wait_ns,
        };
        MapStats {
            len: 0,
            lock: Some(lock),
            syncmap: None,
            growth: None,
        }
    }
}

/// loom models: run with `RUSTFLAGS="--cfg loom --cfg crossbeam_loom"`
/// (see `.ci/run`).
#[cfg(all(test, loom))]
mod loom_tests {
    use loom::sync::Arc;
    use loom::thread;

    use super::ShardedMap;
    use crate::ConcurrentMap;

    type Map = ShardedMap<
        u8,
        u8,
        std::hash::BuildHasherDefault<std::collections::hash_map::DefaultHasher>,
    >;

    /// Two `get_or_insert`s of one key (read lock, then write lock and
    /// re-check) race: exactly one inserts, both see its value.
    #[test]
    fn get_or_insert_race_on_one_shard() {
        loom::model(|| {
            let m = Arc::new(Map::with_hasher(2, true, Default::default()));
            let racers: Vec<_> = (0..2u8)
                .map(|id| {
                    let m = m.clone();
                    thread::spawn(move || m.get_or_insert(3, id))
                })
                .collect();
            let results: Vec<Option<u8>> = racers.into_iter().map(|t| t.join().unwrap()).collect();
            assert_eq!(
                results.iter().filter(|r| r.is_none()).count(),
                1,
                "{results:?}"
            );
            let winner = m.get(&3).unwrap();
            assert!(
                results.iter().flatten().all(|v| *v == winner),
                "{results:?}"
            );
        });
    }

    /// A compare-and-swap increment from two threads on one key never
    /// loses an update, and writers to other shards do not interfere.
    #[test]
    fn cas_increments_are_not_lost() {
        loom::model(|| {
            let m = Arc::new(Map::with_hasher(2, false, Default::default()));
            m.insert(0, 0);
            let threads: Vec<_> = (0..2u8)
                .map(|t| {
                    let m = m.clone();
                    thread::spawn(move || {
                        loop {
                            let v = m.get(&0).unwrap();
                            if m.compare_and_swap(&0, &v, v + 1) {
                                break;
                            }
                        }
                        m.insert(10 + t, t);
                    })
                })
                .collect();
            for t in threads {
                t.join().unwrap();
            }
            assert_eq!(m.get(&0), Some(2));
            assert_eq!(m.len(), 3);
        });
    }
}
