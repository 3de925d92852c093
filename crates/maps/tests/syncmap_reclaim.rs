//! Reclamation: every value SyncMap retires is freed exactly once. Its own
//! test binary on purpose: crossbeam-epoch's collector is global, and a test
//! running beside this one that stays pinned would stall the epoch.
//! (Miri runs with its leak check off because that global collector keeps
//! garbage at exit; this count is the leak check instead.)

use std::sync::atomic::{AtomicIsize, Ordering::SeqCst};
use std::sync::Arc;

use mapknee_maps::SyncMap;

/// A value that counts its live instances.
#[derive(Debug)]
struct Counted(u64, Arc<AtomicIsize>);

impl Counted {
    fn new(v: u64, live: &Arc<AtomicIsize>) -> Self {
        live.fetch_add(1, SeqCst);
        Counted(v, live.clone())
    }
}

impl Clone for Counted {
    fn clone(&self) -> Self {
        Counted::new(self.0, &self.1)
    }
}

impl PartialEq for Counted {
    fn eq(&self, other: &Self) -> bool {
        self.0 == other.0
    }
}

impl Drop for Counted {
    fn drop(&mut self) {
        self.1.fetch_sub(1, SeqCst);
    }
}

#[test]
fn every_retired_value_is_freed() {
    let live = Arc::new(AtomicIsize::new(0));
    let n = if cfg!(miri) { 50 } else { 5_000 };
    {
        let m: SyncMap<u64, Counted> = SyncMap::new();
        std::thread::scope(|s| {
            for t in 0..2 {
                let (m, live) = (&m, &live);
                s.spawn(move || {
                    for i in 0..n {
                        m.store((i + t) % 97, Counted::new(i, live)); // overwrites retire values
                        m.load(&(i % 89));
                        if i % 5 == 0 {
                            m.delete(&(i % 97));
                        }
                        if i % 7 == 0 {
                            m.load_or_store(i % 101, Counted::new(i, live));
                        }
                        if i % 11 == 0 {
                            m.compare_and_swap(
                                &(i % 97),
                                &Counted::new(i, live),
                                Counted::new(i + 1, live),
                            );
                        }
                    }
                });
            }
        });
        assert!(m.syncmap_stats().promotions > 0);
    }
    // Retired values wait for the epoch to advance; nudge it (bounded).
    for _ in 0..10_000 {
        if live.load(SeqCst) == 0 {
            break;
        }
        crossbeam_epoch::pin().flush();
    }
    assert_eq!(live.load(SeqCst), 0, "values leaked or double-freed");
}

/// Nudges the epoch until `live` reaches `want` (bounded), and returns it.
fn settle(live: &AtomicIsize, want: isize) -> isize {
    for _ in 0..10_000 {
        if live.load(SeqCst) == want {
            break;
        }
        crossbeam_epoch::pin().flush();
    }
    live.load(SeqCst)
}

/// Phase by phase, one thread: after overwrites, removes (through the
/// snapshot and through dirty), a rebuild that expunges, and the map's
/// drop, the live values are exactly the values the map holds once the
/// retired ones are collected.
#[test]
fn live_values_match_len_after_every_phase() {
    let live = Arc::new(AtomicIsize::new(0));
    let n = if cfg!(miri) { 12 } else { 1_000 };
    {
        let m: SyncMap<u64, Counted> = SyncMap::new();
        for k in 0..n {
            m.store(k, Counted::new(k, &live));
        }
        assert_eq!(
            settle(&live, n as isize),
            n as isize,
            "after stores (dirty)"
        );
        m.range(|_, _| true); // promote
        for k in 0..n {
            m.store(k, Counted::new(k + 1, &live)); // lock-free overwrites
        }
        assert_eq!(settle(&live, n as isize), n as isize, "after overwrites");
        for k in (0..n).step_by(2) {
            m.delete(&k); // snapshot entries go nil
        }
        let half = (n / 2) as isize;
        assert_eq!(settle(&live, half), half, "after deletes");
        m.store(n, Counted::new(n, &live)); // rebuild: expunges the nil ones
        assert_eq!(m.len(), n as usize / 2 + 1);
        assert_eq!(settle(&live, half + 1), half + 1, "after the rebuild");
        assert_eq!(m.load_and_delete(&n).map(|v| v.0), Some(n)); // dirty-only key
        assert_eq!(settle(&live, half), half, "after a dirty delete");
        assert_eq!(m.len(), n as usize / 2);
    }
    assert_eq!(settle(&live, 0), 0, "after the map's drop");
}
