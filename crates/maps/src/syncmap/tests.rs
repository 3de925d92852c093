//! Go's `sync.Map` semantics, checked against the mechanism counters.

use std::collections::HashSet;
use std::sync::Barrier;

use super::SyncMap;
use crate::ConcurrentMap;

fn map() -> SyncMap<u64, u64> {
    SyncMap::new()
}

#[test]
fn promotion_after_len_dirty_misses() {
    let m = map();
    for k in 0..3 {
        m.store(k, k);
    }
    assert!(m.amended(), "new keys live in dirty");
    assert_eq!(m.load(&0), Some(0));
    assert_eq!(m.load(&1), Some(1));
    assert_eq!(m.syncmap_stats().promotions, 0, "2 misses < 3 dirty keys");
    assert_eq!(m.load(&2), Some(2));
    let s = m.syncmap_stats();
    assert_eq!((s.misses, s.promotions), (3, 1));
    assert!(!m.amended());
    // Promoted keys are now served by the snapshot.
    let hits = s.snapshot_hits;
    assert_eq!(m.load(&1), Some(1));
    let s = m.syncmap_stats();
    assert_eq!(s.misses, 3);
    assert_eq!(s.snapshot_hits, hits + 1);
}

#[test]
fn store_to_expunged_entry_goes_through_the_lock() {
    let m = map();
    m.store(1, 10);
    m.range(|_, _| true); // promote
    m.delete(&1); // entry nil in the snapshot
    let before = m.syncmap_stats();
    m.store(2, 20); // rebuild dirty: entry 1 is expunged, not copied
    let s = m.syncmap_stats();
    assert_eq!(s.dirty_rebuilds, before.dirty_rebuilds + 1);
    assert_eq!(s.expunges, before.expunges + 1);
    assert_eq!(s.entries_copied, before.entries_copied);
    let slow = s.slow_path;
    m.store(1, 11);
    assert_eq!(
        m.syncmap_stats().slow_path,
        slow + 1,
        "expunged → locked path"
    );
    assert_eq!(m.load(&1), Some(11));
    let mut all = Vec::new();
    m.range(|k, v| {
        all.push((*k, *v));
        true
    });
    all.sort();
    assert_eq!(all, vec![(1, 11), (2, 20)]);
    assert_eq!(m.len(), 2);
}

#[test]
fn delete_then_restore_without_rebuild_is_lock_free() {
    let m = map();
    m.store(1, 10);
    m.range(|_, _| true); // promote
    assert_eq!(m.load_and_delete(&1), Some(10));
    assert_eq!(m.load(&1), None);
    let slow = m.syncmap_stats().slow_path;
    m.store(1, 12); // nil (not expunged) entry: revived by CAS
    assert_eq!(m.syncmap_stats().slow_path, slow);
    assert_eq!(m.load(&1), Some(12));
    assert_eq!(m.len(), 1);
}

#[test]
fn swap_and_compare_ops_follow_go() {
    let m = map();
    assert_eq!(m.swap(1, 1), None);
    assert_eq!(m.swap(1, 2), Some(1));
    assert!(!m.compare_and_swap(&1, &1, 3));
    assert!(m.compare_and_swap(&1, &2, 3));
    assert!(!m.compare_and_swap(&9, &0, 3), "absent key");
    assert!(!m.compare_and_delete(&1, &2));
    assert!(m.compare_and_delete(&1, &3));
    assert_eq!(m.load(&1), None);
    assert_eq!(m.load_or_store(1, 5), (5, false));
    assert_eq!(m.load_or_store(1, 6), (5, true));
    assert_eq!(m.len(), 1);
}

#[test]
fn range_sees_every_key_present_for_the_whole_call() {
    let stable = if cfg!(miri) { 20 } else { 2_000 };
    let m = map();
    for k in 0..stable {
        m.store(k, k);
    }
    let rounds = if cfg!(miri) { 2 } else { 50 };
    let barrier = Barrier::new(2);
    std::thread::scope(|s| {
        s.spawn(|| {
            barrier.wait();
            // Churn other keys: new stores force rebuilds and promotions
            // while the ranges run.
            for i in 0..rounds * 50 {
                let k = stable + i % 500;
                m.store(k, i);
                if i % 3 == 0 {
                    m.delete(&k);
                }
                m.load(&(stable + (i * 7) % 500));
            }
        });
        barrier.wait();
        for _ in 0..rounds {
            let mut seen = HashSet::new();
            m.range(|k, v| {
                assert!(seen.insert(*k), "key {k} seen twice");
                if *k < stable {
                    assert_eq!(k, v);
                }
                true
            });
            for k in 0..stable {
                assert!(seen.contains(&k), "range missed stable key {k}");
            }
        }
    });
}

#[test]
fn load_or_store_returns_the_winner_under_races() {
    let threads = 4;
    let keys = if cfg!(miri) { 8 } else { 2_000 };
    let m = map();
    let barrier = Barrier::new(threads);
    let results: Vec<Vec<(u64, bool)>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads as u64)
            .map(|id| {
                let (m, barrier) = (&m, &barrier);
                s.spawn(move || {
                    barrier.wait();
                    (0..keys)
                        .map(|k| m.load_or_store(k, id))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for k in 0..keys as usize {
        let per_thread: Vec<(u64, bool)> = results.iter().map(|r| r[k]).collect();
        let winners: Vec<u64> = per_thread
            .iter()
            .enumerate()
            .filter(|(_, (_, loaded))| !loaded)
            .map(|(t, (v, _))| {
                assert_eq!(*v, t as u64, "key {k}: the storer gets its own value back");
                *v
            })
            .collect();
        assert_eq!(winners.len(), 1, "key {k}: {per_thread:?}");
        assert!(
            per_thread.iter().all(|(v, _)| *v == winners[0]),
            "key {k}: {per_thread:?}"
        );
        assert_eq!(m.load(&(k as u64)), Some(winners[0]));
    }
    assert_eq!(ConcurrentMap::len(&m), keys as usize);
}

#[test]
fn churn_reclaims_and_counts() {
    // A stream of new keys with deletes: the sync.Map worst case. Mostly
    // checks (under Miri) that retired snapshots and values are freed once
    // and never read after free.
    let n = if cfg!(miri) { 64 } else { 20_000 };
    let m: SyncMap<u64, String> = SyncMap::new();
    std::thread::scope(|s| {
        for t in 0..2u64 {
            let m = &m;
            s.spawn(move || {
                for i in 0..n {
                    let k = i * 2 + t;
                    m.store(k, format!("v{k}"));
                    assert_eq!(m.load(&k).as_deref(), Some(format!("v{k}").as_str()));
                    if i % 2 == 0 {
                        assert_eq!(m.load_and_delete(&k), Some(format!("v{k}")));
                    }
                }
            });
        }
    });
    assert_eq!(m.len(), n as usize);
    let s = m.syncmap_stats();
    assert!(s.promotions > 0 && s.dirty_rebuilds > 0, "{s:?}");
}

/// Panic safety: a key whose `clone` or `hash` panics on demand, armed per
/// thread (`ARM`: panic on the n-th call from now, 0 = never), so tests
/// running beside each other do not trip it.
mod panics {
    use std::cell::Cell;
    use std::hash::{BuildHasherDefault, Hash, Hasher};
    use std::panic::{catch_unwind, AssertUnwindSafe};

    use super::SyncMap;

    /// The key is its own hash, so a rebuild visits keys in ascending order
    /// (hashbrown walks its buckets in order) and a test can say which key
    /// the rebuild is at when the armed call panics.
    #[derive(Default)]
    struct Identity(u64);

    impl Hasher for Identity {
        fn write(&mut self, _: &[u8]) {
            unreachable!("Key hashes one u64");
        }
        fn write_u64(&mut self, n: u64) {
            self.0 = n;
        }
        fn finish(&self) -> u64 {
            self.0
        }
    }

    type Map = SyncMap<Key, u64, BuildHasherDefault<Identity>>;

    thread_local! {
        static CLONE_ARM: Cell<u32> = const { Cell::new(0) };
        static HASH_ARM: Cell<u32> = const { Cell::new(0) };
    }

    /// Counts down `arm`; panics when it reaches zero from one.
    fn trip(arm: &'static std::thread::LocalKey<Cell<u32>>, what: &str) {
        arm.with(|a| match a.get() {
            0 => {}
            1 => {
                a.set(0);
                panic!("armed {what} panics");
            }
            n => a.set(n - 1),
        });
    }

    #[derive(Debug, PartialEq, Eq)]
    struct Key(u64);

    impl Clone for Key {
        fn clone(&self) -> Self {
            trip(&CLONE_ARM, "clone");
            Key(self.0)
        }
    }

    impl Hash for Key {
        fn hash<H: Hasher>(&self, h: &mut H) {
            trip(&HASH_ARM, "hash");
            self.0.hash(h);
        }
    }

    /// Runs `f`, which must panic.
    fn must_panic(f: impl FnOnce()) {
        let r = catch_unwind(AssertUnwindSafe(f));
        assert!(r.is_err(), "the armed operation did not panic");
    }

    /// Every key and value through `range`, sorted (after a promotion, so
    /// it also shows what dirty held).
    fn contents(m: &Map) -> Vec<(u64, u64)> {
        let mut all = Vec::new();
        m.range(|k, v| {
            all.push((k.0, *v));
            true
        });
        all.sort_unstable();
        all
    }

    /// Keys 0..n in the snapshot (promoted), key `deleted` deleted (a nil
    /// entry, not expunged yet).
    fn promoted_with_deleted(n: u64, deleted: u64) -> Map {
        let m = Map::with_hasher(Default::default());
        for k in 0..n {
            m.store(Key(k), k);
        }
        m.range(|_, _| true);
        assert!(!m.amended());
        m.delete(&Key(deleted));
        m
    }

    /// A key clone panicking midway through a dirty rebuild: before the
    /// fix, entries visited earlier were already expunged with no dirty map
    /// to hold them, and the next store of such a key hit the
    /// "expunged entries exist only while dirty does" panic (or, without
    /// it, lost the key at the next promotion).
    #[test]
    fn key_clone_panic_in_rebuild_expunges_nothing() {
        let n = 16;
        let m = promoted_with_deleted(n, 3);
        // The rebuild visits keys 0, 1, 2, 3 (deleted), 4, ...: panic on
        // the clone after the deleted key was visited.
        CLONE_ARM.with(|a| a.set(5));
        must_panic(|| m.store(Key(100), 100));
        CLONE_ARM.with(|a| a.set(0));
        assert_eq!(m.len(), (n - 1) as usize, "len after the failed store");
        assert_eq!(m.load(&Key(100)), None);
        // The deleted key comes back, and stays through a promotion.
        m.store(Key(3), 33);
        m.store(Key(100), 100);
        let mut expected: Vec<(u64, u64)> = (0..n).map(|k| (k, k)).collect();
        expected[3] = (3, 33);
        expected.push((100, 100));
        assert_eq!(contents(&m), expected);
        assert_eq!(m.len(), expected.len());
    }

    /// A key hash panicking when an expunged key goes back into dirty:
    /// before the fix the entry was unexpunged first, so a later lock-free
    /// store revived it in the snapshot only and the next promotion lost
    /// the key.
    #[test]
    fn hash_panic_on_unexpunge_keeps_the_key() {
        let m = promoted_with_deleted(4, 1);
        m.store(Key(50), 50); // rebuild: key 1 expunged
        assert_eq!(m.syncmap_stats().expunges, 1);
        // store(1): hash in the snapshot (1), again under the lock (2), then
        // the dirty insert (3) panics.
        HASH_ARM.with(|a| a.set(3));
        must_panic(|| m.store(Key(1), 11));
        HASH_ARM.with(|a| a.set(0));
        assert_eq!(m.load(&Key(1)), None);
        m.store(Key(1), 12);
        assert_eq!(
            contents(&m),
            vec![(0, 0), (1, 12), (2, 2), (3, 3), (50, 50)]
        );
        assert_eq!(m.len(), 5);
    }

    /// A hash panicking on the new-key path after dirty was built and the
    /// snapshot amended: the key is simply not stored (Go's state after a
    /// panicking `m.dirty[key] = ...`), and the map stays usable.
    #[test]
    fn hash_panic_on_new_key_stores_nothing() {
        let m = promoted_with_deleted(4, 2);
        // Snapshot lookup (1), locked lookup (2), no dirty yet, then the
        // rebuild's four inserts (3..=6), then the new key's insert (7).
        HASH_ARM.with(|a| a.set(2 + 4 + 1));
        must_panic(|| m.store(Key(9), 9));
        HASH_ARM.with(|a| a.set(0));
        assert_eq!(m.load(&Key(9)), None);
        assert_eq!(m.len(), 3);
        m.store(Key(2), 22);
        m.store(Key(9), 9);
        assert_eq!(contents(&m), vec![(0, 0), (1, 1), (2, 22), (3, 3), (9, 9)]);
        assert_eq!(m.len(), 5);
    }
}

#[test]
fn load_staged_stops_at_its_stage_and_the_last_stage_is_load() {
    let m = map();
    m.store(7, 70);
    m.range(|_, _| true); // promote: loads hit the snapshot
    let hits = |m: &SyncMap<u64, u64>| m.syncmap_stats().snapshot_hits;
    // Cut before the counter: no value, nothing counted.
    let h = hits(&m);
    assert_eq!(m.load_staged::<1>(&7), None);
    assert_eq!(m.load_staged::<2>(&7), None);
    assert_eq!(m.load_staged::<3>(&7), None);
    assert_eq!(m.load_staged::<4>(&7), None);
    assert_eq!(hits(&m), h);
    // The counter stage counts the hit; the entry stage still returns none.
    assert_eq!(m.load_staged::<5>(&7), None);
    assert_eq!(m.load_staged::<6>(&7), None);
    assert_eq!(hits(&m), h + 2);
    assert_eq!(m.load_staged::<{ super::LOAD_STAGES.len() }>(&7), Some(70));
    assert_eq!(m.load_staged::<{ super::LOAD_STAGES.len() }>(&8), None);
    assert_eq!(m.load(&7), Some(70));
}
