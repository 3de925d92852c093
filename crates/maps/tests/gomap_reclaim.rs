//! GoMap's reclaimer: a finished old bucket array of 1 MB or more is freed,
//! and not by the inserting thread. Its own test binary on purpose: it counts
//! the frees of the whole process with a global allocator, and tests running
//! beside it would add theirs.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::time::{Duration, Instant};

use mapknee_maps::GoMap;

/// Frees at least this large are counted: the slots of an old array of
/// 2^13 buckets of `u64` pairs are 2^13 × 136 bytes ≈ 1.1 MB, the smallest
/// the reclaimer takes (it takes arrays of at least 1 MiB).
const BIG: usize = 1 << 20;

static BIG_FREES_BY_INSERTER: AtomicUsize = AtomicUsize::new(0);
static BIG_FREES_ELSEWHERE: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    /// Set on the thread that inserts. `const`, with no destructor, so
    /// reading it from inside the allocator allocates nothing.
    static INSERTER: Cell<bool> = const { Cell::new(false) };
}

/// The system allocator, counting large frees by the thread that made them.
struct CountingFrees;

// SAFETY: every method forwards to `System` with the caller's arguments,
// so `System`'s guarantees are ours; the counting touches only atomics and
// a const thread-local.
unsafe impl GlobalAlloc for CountingFrees {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded; the caller upholds `alloc`'s contract.
        unsafe { System.alloc(layout) }
    }

    // Forwarded rather than left to the default (alloc + memset), which
    // would touch every page of the zeroed bucket arrays.
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded; the caller upholds `alloc_zeroed`'s contract.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if layout.size() >= BIG {
            let by_inserter = INSERTER.try_with(Cell::get).unwrap_or(false);
            let counter = if by_inserter {
                &BIG_FREES_BY_INSERTER
            } else {
                &BIG_FREES_ELSEWHERE
            };
            counter.fetch_add(1, SeqCst);
        }
        // SAFETY: forwarded; the caller upholds `dealloc`'s contract.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: forwarded; the caller upholds `realloc`'s contract.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOC: CountingFrees = CountingFrees;

/// Regression for the helper thread spawned inside the timed insert (and
/// under `gomap-rwlock`'s write lock) for every large array: arrays now go
/// to one reclaimer thread. The inserting thread frees no large array, and
/// the reclaimer frees every one it is sent.
#[test]
#[cfg_attr(
    miri,
    ignore = "200,000 inserts; bucket.rs's unit test runs the reclaimer under Miri"
)]
fn large_old_arrays_are_freed_by_the_reclaimer() {
    assert!(mapknee_maps::gomap::start_reclaimer());
    INSERTER.with(|i| i.set(true));
    let mut m = GoMap::new();
    // 200,000 keys pass through 2^13 and 2^14 buckets to 2^15: the growths
    // out of the first two each free an old array of 1 MiB or more.
    for k in 0..200_000u64 {
        m.insert(k, k);
    }
    assert!(!m.is_growing(), "the growth to 2^15 buckets finished");
    assert_eq!(m.bucket_count(), 1 << 15);
    assert_eq!(
        BIG_FREES_BY_INSERTER.load(SeqCst),
        0,
        "the inserting thread freed a large old array itself"
    );
    // The reclaimer frees in the background; wait for it. The bound only
    // turns a reclaimer that never frees into a failure instead of a hang.
    let deadline = Instant::now() + Duration::from_secs(60);
    while BIG_FREES_ELSEWHERE.load(SeqCst) < 2 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(1));
    }
    assert!(
        BIG_FREES_ELSEWHERE.load(SeqCst) >= 2,
        "the reclaimer freed {} of the 2 large old arrays",
        BIG_FREES_ELSEWHERE.load(SeqCst)
    );
    assert_eq!(m.len(), 200_000);
}
