//! `SyncMap`: a port of Go 1.19's `sync.Map` (`src/sync/map.go`).
//!
//! # Design
//!
//! Two maps share one set of entries:
//! - **read**, an immutable snapshot published through an atomic pointer.
//!   Loads, and stores to keys it already has, use it without any lock.
//! - **dirty**, a map under a mutex holding every live key whenever the
//!   snapshot is *amended* (lacks some key). New keys go there.
//!
//! A load that misses the snapshot while it is amended takes the lock and
//! looks in dirty; each such **miss** is counted, and once the misses reach
//! the dirty map's size the dirty map is **promoted** to be the new snapshot
//! (O(1): the map is moved, not copied) and dirty becomes empty. The next new
//! key then **rebuilds** dirty by copying the snapshot (O(n)), leaving out
//! deleted entries, which it marks **expunged** so no lock-free store can
//! revive a key that dirty no longer holds.
//!
//! That is the mechanism behind the study's knee: with a stream of new keys
//! (writes > ~15 %), every promotion is followed by an O(n) rebuild and every
//! miss by a trip through the one mutex.
//!
//! # Memory reclamation
//!
//! Snapshots and values are freed with epoch-based reclamation
//! (`crossbeam-epoch`). A load pins the current thread — a store to a
//! thread-local epoch slot, no shared cache line and no reference count on
//! the snapshot — reads, and unpins; a snapshot or value unlinked by a writer
//! is freed only after every thread pinned at that time has unpinned. We
//! chose epochs over hazard pointers because a load here touches two
//! pointers (snapshot, then value) and hazard pointers would need a
//! store-load fence per pointer; over `Arc` because a shared reference count
//! incremented per load is exactly the cache-line ping-pong that stops reads
//! from scaling. Entries themselves are `Arc`s. A load that hits the
//! snapshot never touches their counts; the counts do change under the lock
//! (rebuilds, dirty inserts), on a miss that takes an entry out of dirty
//! (the `Arc` is dropped after the unlock), and when a retired snapshot is
//! freed (by whichever thread collects it).
//!
//! # Panics
//!
//! A panicking `K::clone`, `Hash`, `Eq` or `V::clone` while the mutex is
//! held leaves the map in a state Go's could be in: dirty is rebuilt in
//! full before any entry is marked expunged, an expunged entry goes back
//! into dirty before it is unexpunged, values are retired and counted
//! before anyone clones them. The mutex's poisoning is therefore recovered
//! on purpose (`CountingMutex::lock`): the next holder finds a consistent
//! map. One hazard is std's: a `Hash` that panics for a key it hashed
//! before, during an in-place rehash of the dirty map, makes hashbrown drop
//! the keys it had not moved yet.
//!
//! # Consistency
//!
//! Each operation is linearizable. Publishing a snapshot and storing a value
//! are `Release` (swap / CAS with `AcqRel`); loads are `Acquire`, so a value
//! read through a snapshot is fully initialized, and a key stored before a
//! load began (in real time) is seen by it: the store happened either in
//! the snapshot's entry (seen by the Acquire load) or under the mutex, which
//! the loading miss path then takes. `range` is not a consistent snapshot:
//! like Go's, it sees every key present for the whole call, and may or may
//! not see keys stored or deleted concurrently.

mod entry;
#[cfg(all(test, loom))]
mod loom_tests;
#[cfg(not(loom))]
mod reclaim;
mod snapshot;
#[cfg(all(test, not(loom)))]
mod tests;

use std::collections::HashMap;
use std::fmt;
use std::hash::{BuildHasher, Hash};
use std::hint::black_box;
use std::sync::atomic::Ordering::{AcqRel, Acquire};
use std::sync::Arc;

#[cfg(loom)]
use crossbeam_epoch::Collector;
use crossbeam_epoch::{Atomic, Guard, Owned};

use self::entry::Entry;
use self::snapshot::{EntryMap, ReadOnly};
use crate::counters::Counters;
use crate::lock::CountingMutex;
use crate::probes;
use crate::{ConcurrentMap, DefaultHashBuilder, MapStats, SyncMapStats};

// Counter fields (see `SyncMapStats`), plus two for the length.
const SNAPSHOT_HITS: usize = 0;
const MISSES: usize = 1;
const PROMOTIONS: usize = 2;
const DIRTY_REBUILDS: usize = 3;
const ENTRIES_COPIED: usize = 4;
const EXPUNGES: usize = 5;
const SLOW_PATH: usize = 6;
/// Keys that became present / absent: `len` is their difference.
const ADDED: usize = 7;
const REMOVED: usize = 8;
const FIELDS: usize = 9;

/// The parts of a `load` that hits the snapshot, in the order it runs
/// them. [`SyncMap::load_staged`]`::<N>` runs the real load and stops after
/// the first `N` of them, so a part's cost is the difference of two
/// prefixes of the same code; `N = LOAD_STAGES.len()` is `load` itself.
/// "hash" is the hash `HashMap::get` computes inside "probe": the hash
/// prefix computes it alone, and the probe prefix calls `get` in its place.
#[doc(hidden)]
pub const LOAD_STAGES: [&str; 7] = [
    "pin+unpin",
    "snapshot load",
    "hash",
    "probe",
    "counter",
    "entry load",
    "clone",
];
/// The stage numbers (1-based positions in [`LOAD_STAGES`]).
const STAGE_PIN: usize = 1;
const STAGE_SNAPSHOT: usize = 2;
const STAGE_HASH: usize = 3;
const STAGE_PROBE: usize = 4;
const STAGE_COUNTER: usize = 5;
const STAGE_ENTRY: usize = 6;
/// Every stage: the whole load.
const ALL_STAGES: usize = LOAD_STAGES.len();

/// What the mutex guards (Go's `dirty` and `misses`).
struct Dirty<K, V, S> {
    /// `None` until the first new key after a promotion (Go's nil map).
    m: Option<EntryMap<K, V, S>>,
    misses: usize,
}

/// A concurrent map with Go's `sync.Map` design: lock-free loads and
/// overwrites of keys in a read snapshot, a mutex-guarded dirty map for new
/// keys, and promotion of dirty to snapshot after enough misses.
///
/// Best, as Go's documentation says, when keys are written once and read
/// many times, or when threads touch disjoint keys; worst under a stream of
/// new keys.
///
/// ```
/// use mapknee_maps::SyncMap;
/// let m: SyncMap<&str, u32> = SyncMap::new();
/// m.store("a", 1);
/// assert_eq!(m.load(&"a"), Some(1));
/// assert_eq!(m.load_or_store("a", 9), (1, true));
/// assert_eq!(m.swap("a", 2), Some(1));
/// assert!(m.compare_and_swap(&"a", &2, 3));
/// assert!(m.compare_and_delete(&"a", &3));
/// assert_eq!(m.load_and_delete(&"a"), None);
/// ```
pub struct SyncMap<K, V, S = DefaultHashBuilder> {
    /// The current `ReadOnly`; never null. Replaced only under `mu`.
    read: Atomic<ReadOnly<K, V, S>>,
    mu: CountingMutex<Dirty<K, V, S>>,
    counters: Counters<FIELDS>,
    /// loom cannot model crossbeam-epoch's global collector, so loom builds
    /// give each map its own.
    #[cfg(loom)]
    collector: Collector,
}

impl<K, V, S> fmt::Debug for SyncMap<K, V, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SyncMap")
            .field("counters", &self.counters)
            .finish_non_exhaustive()
    }
}

impl<K, V> SyncMap<K, V, DefaultHashBuilder> {
    /// An empty map with a freshly seeded foldhash hasher.
    pub fn new() -> Self {
        Self::with_hasher(DefaultHashBuilder::default())
    }
}

impl<K, V> Default for SyncMap<K, V, DefaultHashBuilder> {
    fn default() -> Self {
        Self::new()
    }
}

impl<K, V, S> SyncMap<K, V, S> {
    /// An empty map hashing with `hasher` (every later snapshot and dirty
    /// map clones it from the current snapshot).
    pub fn with_hasher(hasher: S) -> Self {
        let read = ReadOnly {
            m: Arc::new(HashMap::with_hasher(hasher)),
            amended: false,
        };
        Self {
            read: Atomic::new(read),
            mu: CountingMutex::new(Dirty { m: None, misses: 0 }),
            counters: Counters::new(),
            #[cfg(loom)]
            collector: Collector::new(),
        }
    }
}

// `Send + Sync + 'static`: retired snapshots and values are dropped by
// whichever thread next collects the epoch garbage (large snapshots by the
// reclaimer thread), possibly after the map is gone; a snapshot shares its
// entries with the map, so sending it needs `Sync` too.
impl<K, V, S> SyncMap<K, V, S>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
    S: BuildHasher + Clone + Send + Sync + 'static,
{
    /// Each operation pins the epoch afresh (a SeqCst fence, and every
    /// 128th pin an attempt to advance the epoch and collect garbage).
    ///
    /// NOTE: Go's loads pin nothing (its GC scans the stacks). We measured
    /// the cheaper read path this pin invites — each operation nested
    /// under an outer guard the thread keeps for 128 operations, renewed
    /// with a `flush` so garbage is still collected — and kept the plain
    /// pin: single-thread get-hit was 18.6 ns with it and is 19.2 without
    /// (`examples/nsop`, medians of 5 alternated; both down from 24.7, a
    /// gain that came with inlining the load path), but the renewals'
    /// flushes (each seals the thread's garbage bag half full and pushes
    /// it to the global queue) cut 2-thread throughput in the mixed and
    /// write-heavy mixes
    /// (`examples/syncmap_mix`: 25.9 → 20.2 and 20.1 → 11.7 M ops/s,
    /// medians of 3 alternated; renewing every 1,024 operations: 25.7 and
    /// 13.2), and an outer guard held by an idle thread stalls every
    /// map's reclamation. 2-vCPU AMD EPYC VM, `benchsuite/runs/2026-12-01-vm7/`.
    #[cfg(not(loom))]
    #[inline]
    fn pin(&self) -> Guard {
        crossbeam_epoch::pin()
    }

    #[cfg(loom)]
    fn pin(&self) -> Guard {
        self.collector.register().pin()
    }

    /// The current snapshot.
    #[inline]
    fn load_read<'g>(&'g self, guard: &'g Guard) -> &'g ReadOnly<K, V, S> {
        // SAFETY: `read` is never null (set in the constructor, only ever
        // swapped for another `Owned`), and a replaced snapshot is freed only
        // through `defer_destroy`, after `guard` unpins.
        unsafe { self.read.load(Acquire, guard).deref() }
    }

    /// Publishes a new snapshot. Call with `mu` held.
    fn store_read(&self, read: ReadOnly<K, V, S>, guard: &Guard) {
        let old = self.read.swap(Owned::new(read), AcqRel, guard);
        // SAFETY: the swap unlinked `old`; writers replace `read` only under
        // `mu`, so no one else retires it, and loads still holding it are
        // pinned, which delays the free until they unpin.
        #[cfg(loom)]
        unsafe {
            guard.defer_destroy(old)
        };
        // NOTE: Go's GC frees an old snapshot in the background; epoch
        // collection would free it on whichever operation collects, in
        // O(n). The deferred function only hands a large one to the
        // reclaimer thread (see `reclaim`).
        // SAFETY: as above; the deferred function runs once, after every
        // thread pinned now has unpinned, so it owns `old` alone.
        #[cfg(not(loom))]
        unsafe {
            let old = old.as_raw() as usize;
            guard.defer_unchecked(move || {
                let old =
                    Owned::<ReadOnly<K, V, S>>::from_raw(old as *mut ReadOnly<K, V, S>).into_box();
                // Only the last holder of the table frees it: a snapshot
                // republished with `amended` flipped shares it.
                let large = old.m.len() >= reclaim::BACKGROUND_MIN_ENTRIES
                    && Arc::strong_count(&old.m) == 1;
                reclaim::drop_snapshot(old, large);
            })
        };
    }

    /// Go's `missLocked`: counts a miss and promotes dirty once the misses
    /// have cost as much as copying it would.
    fn miss_locked(&self, d: &mut Dirty<K, V, S>, guard: &Guard) {
        self.counters.incr(MISSES);
        probes::syncmap_miss();
        d.misses += 1;
        let dirty_len = d.m.as_ref().map_or(0, HashMap::len);
        if d.misses < dirty_len {
            return;
        }
        self.promote_locked(d, guard);
    }

    /// Makes dirty the new snapshot (O(1): the map moves, it is not
    /// copied) and starts counting misses afresh. Call with `mu` held.
    fn promote_locked(&self, d: &mut Dirty<K, V, S>, guard: &Guard) {
        if let Some(m) = d.m.take() {
            self.counters.incr(PROMOTIONS);
            probes::syncmap_promote(m.len());
            self.store_read(
                ReadOnly {
                    m: Arc::new(m),
                    amended: false,
                },
                guard,
            );
        }
        d.misses = 0;
    }

    /// Go's `dirtyLocked`: rebuilds dirty from the snapshot if there is none,
    /// expunging deleted entries instead of copying them.
    fn dirty_locked(&self, d: &mut Dirty<K, V, S>, guard: &Guard) {
        if d.m.is_some() {
            return;
        }
        let read = self.load_read(guard);
        let mut m = HashMap::with_capacity_and_hasher(read.m.len(), read.m.hasher().clone());
        // NOTE: Go expunges and copies in one pass. We copy every entry
        // first (the user's `K::clone` and `Hash` run here and may panic:
        // then nothing is expunged and dirty stays absent), and only then
        // expunge deleted entries and drop them from the copy, which runs
        // no user code. Go cannot panic midway (its keys are copied by value).
        //
        // NOTE: Go copies each entry pointer (its GC needs no counts); we
        // clone each key and bump each entry's `Arc` count, and the count
        // sits in the same 64-byte line as the value pointer every snapshot
        // hit loads (`ArcInner` is 16 bytes of counts, then the entry). Kept
        // on purpose: with the entry aligned to a line of its own (count and
        // pointer 64 bytes apart, 128 bytes per entry instead of 32) a
        // rebuild cost 82 ns per entry instead of 38, and a reader's hit
        // 23 ns idle and 65 beside its own map's rebuilds instead of 19 and
        // 41 (examples/rebuild, 65,536 keys, medians of 5 alternated runs,
        // 2-vCPU AMD EPYC VM): the bumps on the readers' lines cost them
        // less than the extra line per entry. Readers beside a rebuild of
        // *another* map of the same size slowed as much (42 ns) as beside
        // their own map's (41): the rebuild's cache footprint, not the
        // bumps, is what they pay for.
        for (k, e) in read.m.iter() {
            m.insert(k.clone(), Arc::clone(e));
        }
        let copied = m.len();
        m.retain(|_, e| {
            let expunged = e.try_expunge_locked(guard);
            if expunged {
                probes::syncmap_expunge();
            }
            !expunged
        });
        self.counters.incr(DIRTY_REBUILDS);
        self.counters.add(ENTRIES_COPIED, m.len() as u64);
        self.counters.add(EXPUNGES, (copied - m.len()) as u64);
        probes::syncmap_dirty_rebuild(m.len());
        d.m = Some(m);
    }

    /// Makes sure dirty exists and the snapshot says it is amended, before a
    /// new key goes into dirty. Call with `mu` held.
    fn amend_locked(&self, d: &mut Dirty<K, V, S>, read: &ReadOnly<K, V, S>, guard: &Guard) {
        if !read.amended {
            self.dirty_locked(d, guard);
            self.store_read(
                ReadOnly {
                    m: Arc::clone(&read.m),
                    amended: true,
                },
                guard,
            );
        }
    }

    fn lock(&self) -> crate::primitive::MutexGuard<'_, Dirty<K, V, S>> {
        self.counters.incr(SLOW_PATH);
        self.mu.lock()
    }

    /// Finds the entry for `key`: in the snapshot without the lock, else
    /// (if amended) in dirty under the lock, counting a miss. Go's shared
    /// prefix of `Load`, `LoadAndDelete` and `CompareAndDelete`; with
    /// `remove`, the key is also taken out of dirty (LoadAndDelete).
    #[inline]
    fn find_entry<'g>(
        &'g self,
        key: &K,
        remove: bool,
        guard: &'g Guard,
    ) -> Option<EntryRef<'g, V>> {
        self.find_entry_staged::<ALL_STAGES>(key, remove, guard)
    }

    /// [`Self::find_entry`], stopping (with `None`) after stage `STAGE` of
    /// [`LOAD_STAGES`] when that comes before the entry is found. The cuts
    /// are constants: with `ALL_STAGES` they compile away.
    #[inline]
    fn find_entry_staged<'g, const STAGE: usize>(
        &'g self,
        key: &K,
        remove: bool,
        guard: &'g Guard,
    ) -> Option<EntryRef<'g, V>> {
        let read = self.load_read(guard);
        if STAGE == STAGE_SNAPSHOT {
            black_box(read as *const ReadOnly<K, V, S>);
            return None;
        }
        if STAGE == STAGE_HASH {
            black_box(read.m.hasher().hash_one(key));
            return None;
        }
        let found = read.m.get(key);
        if STAGE == STAGE_PROBE {
            black_box(found.map(|e| e as *const Arc<Entry<V>>));
            return None;
        }
        if let Some(e) = found {
            self.counters.incr(SNAPSHOT_HITS);
            if STAGE == STAGE_COUNTER {
                return None;
            }
            return Some(EntryRef::Snapshot(e));
        }
        if !read.amended {
            self.counters.incr(SNAPSHOT_HITS);
            return None;
        }
        let mut d = self.lock();
        // Re-check: a promotion may have happened while we waited.
        let read = self.load_read(guard);
        if let Some(e) = read.m.get(key) {
            return Some(EntryRef::Snapshot(e));
        }
        if !read.amended {
            return None;
        }
        // NOTE: Go keeps the `*entry` alive through its GC; we take an `Arc`
        // out of dirty (under the lock) so the entry outlives a concurrent
        // removal from dirty once we unlock.
        let found = match &mut d.m {
            Some(m) if remove => m.remove(key),
            Some(m) => m.get(key).cloned(),
            None => None,
        };
        self.miss_locked(&mut d, guard);
        found.map(EntryRef::Owned)
    }

    /// Go's `Load`: the value stored for `key`.
    #[inline]
    pub fn load(&self, key: &K) -> Option<V> {
        self.load_staged::<ALL_STAGES>(key)
    }

    /// `load` stopped after its first `STAGE` parts ([`LOAD_STAGES`]; `None`
    /// at every cut), for timing the parts of the real load path. The
    /// cut-off work is kept alive with `black_box`. `STAGE` from 1 to
    /// `LOAD_STAGES.len()`; the last is `load`.
    #[doc(hidden)]
    #[inline]
    pub fn load_staged<const STAGE: usize>(&self, key: &K) -> Option<V> {
        const { assert!(STAGE >= 1 && STAGE <= ALL_STAGES, "no such stage") };
        let guard = self.pin();
        if STAGE == STAGE_PIN {
            return None;
        }
        let e = self.find_entry_staged::<STAGE>(key, false, &guard)?;
        let v = e.get().load(&guard);
        if STAGE == STAGE_ENTRY {
            black_box(v.map(|v| v as *const V));
            return None;
        }
        v.cloned()
    }

    /// Go's `Store`.
    ///
    /// NOTE: Go 1.19's Store uses `tryStore`; since Go 1.20 Store is
    /// `Swap` with the result dropped. We follow 1.20: the paths are the same
    /// and only the returned value differs (and is not cloned here).
    pub fn store(&self, key: K, value: V) {
        self.swap_with(key, value, |_| ());
    }

    /// Go's `Swap` (Go 1.20): stores `value` and returns the previous one.
    pub fn swap(&self, key: K, value: V) -> Option<V> {
        self.swap_with(key, value, |prev| prev.cloned())
    }

    /// `Swap`, handing the previous value (already retired and counted) to
    /// `f`, so `store` need not clone it.
    fn swap_with<R>(&self, key: K, value: V, f: impl FnOnce(Option<&V>) -> R) -> R {
        let guard = self.pin();
        let read = self.load_read(&guard);
        let mut value = value;
        if let Some(e) = read.m.get(&key) {
            match e.try_swap(value, &guard) {
                Ok(prev) => {
                    self.counters.incr(SNAPSHOT_HITS);
                    if prev.is_none() {
                        self.counters.incr(ADDED);
                    }
                    return f(prev);
                }
                Err(v) => value = v,
            }
        }
        let mut d = self.lock();
        let read = self.load_read(&guard);
        let prev = if let Some(e) = read.m.get(&key) {
            self.unexpunge_into_dirty(&mut d, key, e, &guard);
            e.swap_locked(value, &guard)
        } else if let Some(e) = d.m.as_ref().and_then(|m| m.get(&key)) {
            e.swap_locked(value, &guard)
        } else {
            self.amend_locked(&mut d, read, &guard);
            d.m.as_mut()
                .expect("amend_locked built dirty")
                .insert(key, Arc::new(Entry::new(value)));
            None
        };
        if prev.is_none() {
            self.counters.incr(ADDED);
        }
        f(prev)
    }

    /// Go's `unexpungeLocked` plus the dirty insert that follows it: an
    /// expunged snapshot entry goes back into dirty. Call with `mu` held.
    ///
    /// NOTE: Go unexpunges first and then inserts; we insert first (the
    /// user's `Hash` may panic there) so that no entry is ever deleted-but-
    /// not-expunged while dirty lacks it, which would let a lock-free store
    /// revive a key the next promotion drops.
    fn unexpunge_into_dirty(
        &self,
        d: &mut Dirty<K, V, S>,
        key: K,
        e: &Arc<Entry<V>>,
        guard: &Guard,
    ) {
        if e.is_expunged_locked(guard) {
            d.m.as_mut()
                .expect("expunged entries exist only while dirty does")
                .insert(key, Arc::clone(e));
            let unexpunged = e.unexpunge_locked(guard);
            debug_assert!(unexpunged, "expunged state changes only under the lock");
        }
    }

    /// Go's `LoadOrStore`: `(existing, true)` when `key` is present,
    /// otherwise stores `value` and returns `(value, false)`.
    pub fn load_or_store(&self, key: K, value: V) -> (V, bool) {
        // The clone is made after the store, of the stored value, only
        // because Go returns it; nothing is cloned before it is known to be
        // needed.
        self.load_or_store_with(key, value, |v, loaded| (v.clone(), loaded))
    }

    /// `LoadOrStore` handing `f` the existing value (`true`) or the stored
    /// one (`false`), so callers clone only what they return.
    fn load_or_store_with<R>(&self, key: K, value: V, f: impl FnOnce(&V, bool) -> R) -> R {
        let guard = self.pin();
        let read = self.load_read(&guard);
        let mut value = value;
        if let Some(e) = read.m.get(&key) {
            match e.try_load_or_store(value, &guard) {
                Ok((v, loaded)) => {
                    self.counters.incr(SNAPSHOT_HITS);
                    if !loaded {
                        self.counters.incr(ADDED);
                    }
                    return f(v, loaded);
                }
                Err(v) => value = v,
            }
        }
        let mut d = self.lock();
        let read = self.load_read(&guard);
        let unreachable = "not expunged, and only lock holders expunge";
        if let Some(e) = read.m.get(&key) {
            self.unexpunge_into_dirty(&mut d, key, e, &guard);
            let (v, loaded) = e.try_load_or_store(value, &guard).ok().expect(unreachable);
            if !loaded {
                self.counters.incr(ADDED);
            }
            f(v, loaded)
        } else if let Some(e) = d.m.as_ref().and_then(|m| m.get(&key)).cloned() {
            let (v, loaded) = e.try_load_or_store(value, &guard).ok().expect(unreachable);
            if !loaded {
                self.counters.incr(ADDED);
            }
            self.miss_locked(&mut d, &guard);
            f(v, loaded)
        } else {
            self.amend_locked(&mut d, read, &guard);
            let e = Arc::new(Entry::new(value));
            d.m.as_mut()
                .expect("amend_locked built dirty")
                .insert(key, Arc::clone(&e));
            self.counters.incr(ADDED);
            let v = e.load(&guard).expect("just stored");
            f(v, false)
        }
    }

    /// Go's `LoadAndDelete`: removes `key`, returning its value.
    pub fn load_and_delete(&self, key: &K) -> Option<V> {
        self.delete_with(key, |v| v.cloned())
    }

    /// Go's `Delete`.
    pub fn delete(&self, key: &K) {
        self.delete_with(key, |_| ());
    }

    /// `LoadAndDelete` handing the removed value (retired and counted) to
    /// `f`, so `delete` need not clone it.
    fn delete_with<R>(&self, key: &K, f: impl FnOnce(Option<&V>) -> R) -> R {
        let guard = self.pin();
        let Some(e) = self.find_entry(key, true, &guard) else {
            return f(None);
        };
        let v = e.get().delete(&guard);
        if v.is_some() {
            self.counters.incr(REMOVED);
        }
        f(v)
    }

    /// Go's `CompareAndSwap` (Go 1.20): replaces the value for `key` with
    /// `new` only if it is present and equal to `old`.
    pub fn compare_and_swap(&self, key: &K, old: &V, new: V) -> bool
    where
        V: PartialEq,
    {
        let guard = self.pin();
        let read = self.load_read(&guard);
        if let Some(e) = read.m.get(key) {
            self.counters.incr(SNAPSHOT_HITS);
            return e.try_compare_and_swap(old, new, &guard);
        }
        if !read.amended {
            self.counters.incr(SNAPSHOT_HITS);
            return false;
        }
        let mut d = self.lock();
        let read = self.load_read(&guard);
        if let Some(e) = read.m.get(key) {
            e.try_compare_and_swap(old, new, &guard)
        } else if let Some(e) = d.m.as_ref().and_then(|m| m.get(key)).cloned() {
            let swapped = e.try_compare_and_swap(old, new, &guard);
            self.miss_locked(&mut d, &guard);
            swapped
        } else {
            false
        }
    }

    /// Go's `CompareAndDelete` (Go 1.20): removes `key` only if its value
    /// equals `old`.
    pub fn compare_and_delete(&self, key: &K, old: &V) -> bool
    where
        V: PartialEq,
    {
        let guard = self.pin();
        let Some(e) = self.find_entry(key, false, &guard) else {
            return false;
        };
        let deleted = e.get().compare_and_delete(old, &guard);
        if deleted {
            self.counters.incr(REMOVED);
        }
        deleted
    }

    /// Go's `Range`: calls `f` for each key and value until it returns
    /// `false`. Promotes dirty first (O(1)) so the walk is lock-free.
    ///
    /// Sees every key present for the whole call exactly once; keys stored
    /// or deleted during the call may or may not be seen.
    pub fn range(&self, mut f: impl FnMut(&K, &V) -> bool) {
        let guard = self.pin();
        let mut read = self.load_read(&guard);
        if read.amended {
            let mut d = self.lock();
            read = self.load_read(&guard);
            if read.amended {
                self.promote_locked(&mut d, &guard);
                read = self.load_read(&guard);
            }
        }
        for (k, e) in read.m.iter() {
            if let Some(v) = e.load(&guard) {
                if !f(k, v) {
                    break;
                }
            }
        }
    }

    /// Keys present (not in Go's API). O(stripes), lock-free: kept from
    /// per-thread counts of keys added and removed, exact when writers are
    /// quiet.
    pub fn len(&self) -> usize {
        let c = self.counters.sum();
        c[ADDED].saturating_sub(c[REMOVED]) as usize
    }

    /// Whether no key is present.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The sync.Map mechanism counters.
    pub fn syncmap_stats(&self) -> SyncMapStats {
        let c = self.counters.sum();
        SyncMapStats {
            snapshot_hits: c[SNAPSHOT_HITS],
            misses: c[MISSES],
            promotions: c[PROMOTIONS],
            dirty_rebuilds: c[DIRTY_REBUILDS],
            entries_copied: c[ENTRIES_COPIED],
            expunges: c[EXPUNGES],
            slow_path: c[SLOW_PATH],
        }
    }

    /// Whether the snapshot is amended (test support for the Go semantics).
    #[cfg(all(test, not(loom)))]
    fn amended(&self) -> bool {
        let guard = self.pin();
        self.load_read(&guard).amended
    }
}

/// An entry reached through the pinned snapshot, or taken out of dirty.
enum EntryRef<'g, V> {
    Snapshot(&'g Arc<Entry<V>>),
    Owned(Arc<Entry<V>>),
}

impl<V> EntryRef<'_, V> {
    fn get(&self) -> &Entry<V> {
        match self {
            EntryRef::Snapshot(e) => e,
            EntryRef::Owned(e) => e,
        }
    }
}

impl<K, V, S> Drop for SyncMap<K, V, S> {
    fn drop(&mut self) {
        // SAFETY: `&mut self`: no thread holds a guard into this map any
        // more except through snapshots already retired (which own their own
        // data); the current snapshot was never retired, so we own it.
        unsafe {
            let guard = crossbeam_epoch::unprotected();
            drop(self.read.load(Acquire, guard).into_owned());
        }
    }
}

impl<K, V, S> ConcurrentMap<K, V> for SyncMap<K, V, S>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + PartialEq + Send + Sync + 'static,
    S: BuildHasher + Clone + Send + Sync + 'static,
{
    #[inline]
    fn get(&self, key: &K) -> Option<V> {
        self.load(key)
    }

    #[inline]
    fn insert(&self, key: K, value: V) -> Option<V> {
        self.swap(key, value)
    }

    #[inline]
    fn get_or_insert(&self, key: K, value: V) -> Option<V> {
        self.load_or_store_with(key, value, |v, loaded| loaded.then(|| v.clone()))
    }

    fn compare_and_swap(&self, key: &K, current: &V, new: V) -> bool {
        SyncMap::compare_and_swap(self, key, current, new)
    }

    #[inline]
    fn remove(&self, key: &K) -> Option<V> {
        self.load_and_delete(key)
    }

    fn len(&self) -> usize {
        SyncMap::len(self)
    }

    fn stats(&self) -> MapStats {
        // Counters first: reading `len` may take the map's locks, and
        // must not count itself.
        let counters = self.counters();
        MapStats {
            len: SyncMap::len(self),
            ..counters
        }
    }

    /// Striped atomic counters only; the mutex is not taken.
    fn counters(&self) -> MapStats {
        probes::sample(
            self,
            || self.mu.hold(),
            |_| MapStats {
                len: 0,
                lock: Some(self.mu.stats()),
                syncmap: Some(self.syncmap_stats()),
                growth: None,
            },
        )
    }
}
