//! The epoch pin every operation takes, made cheap by keeping the thread
//! pinned across a run of operations.
//!
//! `crossbeam_epoch::pin()` on a thread that is not pinned yet publishes
//! the thread's epoch with a SeqCst fence (a locked `cmpxchg` on x86) and
//! every 128th time tries to advance the global epoch and collect garbage.
//! On a thread that is already pinned it only bumps a thread-local guard
//! count. So each thread keeps one *outer* guard in a thread-local and
//! every operation takes a nested guard under it; every [`REPIN_EVERY`]
//! operations the outer guard is dropped and taken afresh, and the
//! thread's garbage flushed, so the global epoch keeps moving and garbage
//! is collected as often as before: one collect per 128 operations, where
//! crossbeam's own pin collects once per 128 pins. (The flush seals the
//! thread's bag even when it is not full: one queue-node allocation per
//! renewal when the bag holds anything.)
//!
//! Why it is sound: each operation still holds a guard of its own for as
//! long as it uses a pointer it loaded, and crossbeam's nested guards are
//! ordinary guards: while any guard of a thread lives, the thread stays
//! pinned at the epoch its outermost pin published, which is at or before
//! the epoch any nested guard would have published. A pointer read under
//! the nested guard was reachable when read, so it is retired no earlier
//! than that epoch and freed only two epochs later, which the global epoch
//! cannot reach while this thread stays pinned. Pinned *earlier* only
//! delays frees; it never lets one happen sooner.
//!
//! NOTE: Go needs none of this (its GC finds live pointers on the stacks).
//! The price of the outer guard: a thread that stops using SyncMap after
//! an operation stays pinned until it uses one again (or exits), and while
//! it is pinned no garbage retired since can be freed, by any map in the
//! process. Threads that will idle call [`release_thread_pin`].

use std::cell::Cell;

use crossbeam_epoch::Guard;

/// Operations per fresh outer pin. Must be ≥ 1; 1 is a fresh pin (with a
/// flush) per operation. 128: the fresh pin's fence, flush and collect,
/// spread over 128 operations, cost well under a nanosecond each.
const REPIN_EVERY: u32 = 128;

/// One thread's outer guard and the operations left before it is renewed.
struct Outer {
    guard: Cell<Option<Guard>>,
    left: Cell<u32>,
}

thread_local! {
    static OUTER: Outer = const {
        Outer {
            guard: Cell::new(None),
            left: Cell::new(0),
        }
    };
}

/// A guard for one operation: nested under the thread's outer guard,
/// which is renewed every [`REPIN_EVERY`] calls.
#[inline]
pub(super) fn pin() -> Guard {
    // During thread teardown the thread-local is gone: a plain pin.
    let _ = OUTER.try_with(|o| {
        let left = o.left.get();
        if left == 0 {
            renew(o);
        } else {
            o.left.set(left - 1);
        }
    });
    crossbeam_epoch::pin()
}

/// Unpins the outer guard and pins afresh, flushing this thread's garbage
/// (which may run deferred drops: user `Drop` code that may itself use a
/// `SyncMap` and so re-enter [`pin`]; no borrow of `o` is held across it).
#[cold]
fn renew(o: &Outer) {
    o.left.set(REPIN_EVERY - 1);
    drop(o.guard.take());
    let guard = crossbeam_epoch::pin();
    guard.flush();
    drop(o.guard.replace(Some(guard)));
}

/// Unpins this thread's outer guard, so that a thread about to idle does
/// not hold back the freeing of every `SyncMap`'s garbage. The next
/// operation on this thread pins afresh.
///
/// ```
/// use mapknee_maps::SyncMap;
/// let m: SyncMap<u32, u32> = SyncMap::new();
/// m.store(1, 1);
/// mapknee_maps::syncmap::release_thread_pin();
/// assert_eq!(m.load(&1), Some(1));
/// ```
pub fn release_thread_pin() {
    let _ = OUTER.try_with(|o| {
        o.left.set(0);
        drop(o.guard.take());
    });
}
