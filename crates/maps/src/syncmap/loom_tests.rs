//! loom models of SyncMap's protocols. Run with
//! `RUSTFLAGS="--cfg loom --cfg crossbeam_loom" LOOM_MAX_PREEMPTIONS=2 cargo test -p mapknee-maps --no-default-features --lib --release syncmap::loom_tests`
//! (as `.ci/run` does, in its own target dir: the cfg flags rebuild every
//! dependency).

use loom::sync::Arc;
use loom::thread;

use super::SyncMap;

type Map =
    SyncMap<u8, u8, std::hash::BuildHasherDefault<std::collections::hash_map::DefaultHasher>>;

fn map() -> Map {
    SyncMap::with_hasher(Default::default())
}

/// A load that promotes dirty races a store of a new key (which rebuilds
/// dirty) and an overwrite of a promoted key: no key or value is lost.
#[test]
fn promotion_races_loads_and_stores() {
    loom::model(|| {
        let m = Arc::new(map());
        m.store(1, 10); // dirty only: amended
        let loader = {
            let m = m.clone();
            thread::spawn(move || {
                // Miss → misses (1) ≥ len(dirty) (1) → promotion. The
                // overwrite may land first: either value, never none.
                let v = m.load(&1);
                assert!(v == Some(10) || v == Some(11), "{v:?}");
            })
        };
        let storer = {
            let m = m.clone();
            thread::spawn(move || {
                m.store(2, 20);
                m.store(1, 11);
            })
        };
        loader.join().unwrap();
        storer.join().unwrap();
        assert_eq!(m.load(&1), Some(11));
        assert_eq!(m.load(&2), Some(20));
        assert_eq!(m.len(), 2);
    });
}

/// A dirty rebuild (new key) races a delete of a key that is in the
/// snapshot: the rebuild may expunge the deleted entry; a later store of
/// that key must still land (through the lock, after unexpunging).
#[test]
fn dirty_rebuild_races_delete() {
    loom::model(|| {
        let m = Arc::new(map());
        m.store(1, 10);
        m.range(|_, _| true); // promote: key 1 now in the snapshot
        let deleter = {
            let m = m.clone();
            thread::spawn(move || assert_eq!(m.load_and_delete(&1), Some(10)))
        };
        let rebuilder = {
            let m = m.clone();
            thread::spawn(move || m.store(2, 20))
        };
        deleter.join().unwrap();
        rebuilder.join().unwrap();
        assert_eq!(m.load(&1), None);
        m.store(1, 12);
        assert_eq!(m.load(&1), Some(12));
        let mut seen = Vec::new();
        m.range(|k, v| {
            seen.push((*k, *v));
            true
        });
        seen.sort();
        assert_eq!(seen, vec![(1, 12), (2, 20)]);
    });
}

/// Two threads `load_or_store` one key: exactly one stores, and the other
/// sees the winner's value.
#[test]
fn concurrent_load_or_store_one_key() {
    loom::model(|| {
        let m = Arc::new(map());
        let racers: Vec<_> = (0..2u8)
            .map(|id| {
                let m = m.clone();
                thread::spawn(move || m.load_or_store(7, id))
            })
            .collect();
        let results: Vec<(u8, bool)> = racers.into_iter().map(|t| t.join().unwrap()).collect();
        let winners: Vec<_> = results.iter().filter(|(_, loaded)| !loaded).collect();
        assert_eq!(winners.len(), 1, "exactly one store wins: {results:?}");
        let winner = winners[0].0;
        assert!(results.iter().all(|(v, _)| *v == winner), "{results:?}");
        assert_eq!(m.load(&7), Some(winner));
    });
}

/// Sorted contents through `range` (which promotes dirty first).
fn contents(m: &Map) -> Vec<(u8, u8)> {
    let mut seen = Vec::new();
    m.range(|k, v| {
        seen.push((*k, *v));
        true
    });
    seen.sort_unstable();
    seen
}

/// A lock-free store into a deleted (nil) snapshot entry races the dirty
/// rebuild that would expunge it: either the store lands first (the rebuild
/// copies the live entry) or the rebuild expunges first (the store sees
/// expunged and takes the lock). Either way the key survives the next
/// promotion.
#[test]
fn store_into_nil_entry_races_expunging_rebuild() {
    loom::model(|| {
        let m = Arc::new(map());
        m.store(1, 10);
        m.range(|_, _| true); // promote: key 1 in the snapshot
        m.delete(&1); // nil, not expunged
        let reviver = {
            let m = m.clone();
            thread::spawn(move || m.store(1, 11))
        };
        let rebuilder = {
            let m = m.clone();
            thread::spawn(move || m.store(2, 20))
        };
        reviver.join().unwrap();
        rebuilder.join().unwrap();
        assert_eq!(m.load(&1), Some(11));
        assert_eq!(contents(&m), vec![(1, 11), (2, 20)]);
        assert_eq!(m.len(), 2);
    });
}

/// `load_or_store`'s lock-free CAS loop on a key that was promoted and
/// then deleted (a nil snapshot entry), racing the dirty rebuild that
/// expunges that entry: the CAS either fills the nil entry before the
/// expunge (and the rebuild copies it) or fails against the expunged state
/// and the store goes through the lock. Never both, never neither.
#[test]
fn load_or_store_on_promoted_then_deleted_key() {
    loom::model(|| {
        let m = Arc::new(map());
        m.store(1, 10);
        m.range(|_, _| true);
        m.delete(&1);
        let los = {
            let m = m.clone();
            thread::spawn(move || m.load_or_store(1, 11))
        };
        let rebuilder = {
            let m = m.clone();
            thread::spawn(move || m.store(2, 20))
        };
        assert_eq!(los.join().unwrap(), (11, false), "the key was absent");
        rebuilder.join().unwrap();
        assert_eq!(m.load_or_store(1, 12), (11, true));
        assert_eq!(contents(&m), vec![(1, 11), (2, 20)]);
        assert_eq!(m.len(), 2);
    });
}

/// `load_and_delete` of a key only dirty holds races a load and an
/// overwrite of it: the delete returns the value it removed, the load sees
/// the key or not (never a torn state), and the count stays exact.
#[test]
fn load_and_delete_dirty_only_key_races_load_and_store() {
    loom::model(|| {
        let m = Arc::new(map());
        m.store(1, 10); // dirty only (amended)
        let deleter = {
            let m = m.clone();
            thread::spawn(move || m.load_and_delete(&1))
        };
        let other = {
            let m = m.clone();
            thread::spawn(move || {
                let seen = m.load(&1);
                m.store(1, 11);
                seen
            })
        };
        let deleted = deleter.join().unwrap();
        let seen = other.join().unwrap();
        assert!(seen == Some(10) || seen.is_none(), "load saw {seen:?}");
        let after = m.load(&1);
        match deleted {
            // The delete took the entry out of dirty before the store, which
            // then stored a new entry.
            Some(10) => assert_eq!(after, Some(11)),
            // The store overwrote the dirty entry first; the delete emptied it.
            Some(11) => assert_eq!(after, None),
            other => panic!("load_and_delete returned {other:?}"),
        }
        assert_eq!(m.len(), usize::from(after.is_some()), "len");
        let expected: Vec<(u8, u8)> = after.map(|v| (1, v)).into_iter().collect();
        assert_eq!(contents(&m), expected);
    });
}

/// `compare_and_delete` races a store of the same key (in the snapshot):
/// the delete succeeds only against the value it compared, and the count
/// stays exact.
#[test]
fn compare_and_delete_races_store() {
    loom::model(|| {
        let m = Arc::new(map());
        m.store(1, 10);
        m.range(|_, _| true);
        let cad = {
            let m = m.clone();
            thread::spawn(move || m.compare_and_delete(&1, &10))
        };
        let storer = {
            let m = m.clone();
            thread::spawn(move || m.swap(1, 11))
        };
        let deleted = cad.join().unwrap();
        let prev = storer.join().unwrap();
        let after = m.load(&1);
        if deleted {
            // The delete matched 10, so the swap came after it.
            assert_eq!(prev, None, "swap after the delete finds nothing");
        } else {
            assert_eq!(prev, Some(10), "the delete failed: the swap came first");
        }
        assert_eq!(after, Some(11));
        assert_eq!(m.len(), 1);
    });
}
