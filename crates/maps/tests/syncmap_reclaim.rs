//! Reclamation: every value SyncMap retires is freed exactly once. Its own
//! test binary on purpose: crossbeam-epoch's collector is global, and a test
//! running beside this one that stays pinned would stall the epoch.
//! (Miri runs with its leak check off because that global collector keeps
//! garbage at exit; this count is the leak check instead.)

use std::sync::atomic::{AtomicIsize, Ordering::SeqCst};
use std::sync::Arc;

use mapknee_maps::SyncMap;

/// The tests of this binary run one at a time: crossbeam-epoch's collector
/// is global, so garbage one test retires can wait on another test's
/// pinned threads, and a count taken mid-way would see the other's values.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn exclusive() -> std::sync::MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner())
}

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
    let _one = exclusive();
    let live = Arc::new(AtomicIsize::new(0));
    let n = if cfg!(miri) { 50 } else { 5_000 };
    {
        let m: SyncMap<u64, Counted> = SyncMap::new();
        std::thread::scope(|s| {
            let workers: Vec<_> = (0..2)
                .map(|t| {
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
                    })
                })
                .collect();
            // Joined one by one, not by the scope's end: a worker's last
            // epoch bag (up to 64 retired values) reaches the global queue
            // only in its thread-local destructor, which runs after the
            // scope counts it finished; `join` waits for the thread's exit.
            for w in workers {
                w.join().unwrap();
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
    let _one = exclusive();
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

/// Values that panic on `clone` when armed (per thread), counting live
/// instances: the removed or replaced value is retired and counted before
/// anyone clones it, so `len` stays right and nothing leaks.
mod value_clone_panics {
    use std::cell::Cell;
    use std::panic::{catch_unwind, AssertUnwindSafe};
    use std::sync::atomic::{AtomicIsize, Ordering::SeqCst};
    use std::sync::Arc;

    use mapknee_maps::SyncMap;

    use super::{exclusive, settle};

    thread_local! {
        static ARMED: Cell<bool> = const { Cell::new(false) };
    }

    #[derive(Debug)]
    struct Val(u64, Arc<AtomicIsize>);

    impl Val {
        fn new(v: u64, live: &Arc<AtomicIsize>) -> Self {
            live.fetch_add(1, SeqCst);
            Val(v, live.clone())
        }
    }

    impl Clone for Val {
        fn clone(&self) -> Self {
            assert!(!ARMED.with(|a| a.replace(false)), "armed clone panics");
            Val::new(self.0, &self.1)
        }
    }

    impl PartialEq for Val {
        fn eq(&self, o: &Self) -> bool {
            self.0 == o.0
        }
    }

    impl Drop for Val {
        fn drop(&mut self) {
            self.1.fetch_sub(1, SeqCst);
        }
    }

    fn panics(f: impl FnOnce()) -> bool {
        ARMED.with(|a| a.set(true));
        let panicked = catch_unwind(AssertUnwindSafe(f)).is_err();
        ARMED.with(|a| a.set(false));
        panicked
    }

    #[test]
    fn len_and_frees_survive_panicking_clones() {
        let _one = exclusive();
        let live = Arc::new(AtomicIsize::new(0));
        {
            let m: SyncMap<u64, Val> = SyncMap::new();
            m.store(1, Val::new(1, &live));
            m.store(2, Val::new(2, &live));
            m.store(3, Val::new(3, &live));
            assert!(panics(|| {
                m.swap(1, Val::new(10, &live)); // dirty entry: locked swap
            }));
            m.range(|_, _| true); // promote: the rest hit the snapshot
            assert!(panics(|| {
                m.load_and_delete(&2);
            }));
            assert!(panics(|| {
                m.swap(3, Val::new(30, &live)); // lock-free swap
            }));
            assert_eq!(m.len(), 2, "len counts the delete whose clone panicked");
            assert_eq!(m.load(&1).map(|v| v.0), Some(10));
            assert_eq!(m.load(&2).map(|v| v.0), None);
            assert_eq!(m.load(&3).map(|v| v.0), Some(30));
            // `store` and `delete` clone nothing: armed, they do not panic.
            assert!(!panics(|| m.store(4, Val::new(4, &live))));
            assert!(!panics(|| m.delete(&4)));
            assert!(!panics(|| m.delete(&4)));
            assert_eq!(m.len(), 2);
        }
        // The map is gone; retired values wait for the epoch (bounded).
        assert_eq!(settle(&live, 0), 0, "a replaced or removed value leaked");
    }
}
