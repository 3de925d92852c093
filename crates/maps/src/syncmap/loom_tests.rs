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
