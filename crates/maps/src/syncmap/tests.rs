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
