//! A counting global allocator: allocations, frees and their bytes, for
//! the whole process and for the current thread.
//!
//! Install it in the binary:
//!
//! ```
//! #[global_allocator]
//! static ALLOC: mapknee_costs::alloc::CountingAlloc = mapknee_costs::alloc::CountingAlloc::SYSTEM;
//!
//! fn main() {
//!     use mapknee_costs::alloc;
//!     assert!(alloc::installed());
//!     alloc::enable();
//!     let before = alloc::snapshot();
//!     let v = std::hint::black_box(vec![0u8; 100]);
//!     let d = alloc::snapshot().since(&before);
//!     assert_eq!((d.thread_allocs, d.thread_alloc_bytes), (1, 100));
//!     drop(v);
//! }
//! ```
//!
//! Counting is off until [`enable`] is called, so every other command pays
//! only for one relaxed load and a predictable branch per allocation and
//! per free (measured by [`overhead`] and printed by `mapknee memory`).
//! While on, each allocation and free also adds to the current thread's
//! counters (plain thread-local cells) and to the process's (four relaxed
//! `fetch_add`s on one cache-padded line, which threads share: counting is
//! meant for single-threaded measurement, not for timed runs).
//!
//! The counters are process-wide statics, not fields of the allocator, so
//! [`snapshot`] needs no handle to it; [`installed`] checks that the
//! allocator really is the global one.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};

use crossbeam_utils::CachePadded;

/// Whether allocations are being counted.
static ENABLED: AtomicBool = AtomicBool::new(false);

/// Process-wide totals, on one line of their own.
static TOTALS: CachePadded<Totals> = CachePadded::new(Totals {
    allocs: AtomicU64::new(0),
    frees: AtomicU64::new(0),
    alloc_bytes: AtomicU64::new(0),
    freed_bytes: AtomicU64::new(0),
});

struct Totals {
    allocs: AtomicU64,
    frees: AtomicU64,
    alloc_bytes: AtomicU64,
    freed_bytes: AtomicU64,
}

thread_local! {
    // Const-initialized and without destructors: reading them never
    // allocates (an allocator must not allocate to count) and works while
    // the thread is being torn down.
    static THREAD_ALLOCS: Cell<u64> = const { Cell::new(0) };
    static THREAD_FREES: Cell<u64> = const { Cell::new(0) };
    static THREAD_ALLOC_BYTES: Cell<u64> = const { Cell::new(0) };
    static THREAD_FREED_BYTES: Cell<u64> = const { Cell::new(0) };
}

/// The system allocator with counting around it.
#[derive(Debug, Default, Clone, Copy)]
pub struct CountingAlloc;

impl CountingAlloc {
    /// The one to install as `#[global_allocator]`.
    pub const SYSTEM: CountingAlloc = CountingAlloc;
}

#[inline]
fn bump(cell: &'static std::thread::LocalKey<Cell<u64>>, n: u64) {
    // `try_with`: during thread teardown the slot may be gone; the
    // process totals still count.
    let _ = cell.try_with(|c| c.set(c.get() + n));
}

#[inline]
fn count_alloc(size: usize) {
    if ENABLED.load(Relaxed) {
        TOTALS.allocs.fetch_add(1, Relaxed);
        TOTALS.alloc_bytes.fetch_add(size as u64, Relaxed);
        bump(&THREAD_ALLOCS, 1);
        bump(&THREAD_ALLOC_BYTES, size as u64);
    }
}

#[inline]
fn count_free(size: usize) {
    if ENABLED.load(Relaxed) {
        TOTALS.frees.fetch_add(1, Relaxed);
        TOTALS.freed_bytes.fetch_add(size as u64, Relaxed);
        bump(&THREAD_FREES, 1);
        bump(&THREAD_FREED_BYTES, size as u64);
    }
}

// SAFETY: every method forwards to `System` with the caller's arguments
// unchanged, so `System`'s guarantees are ours; the counting around it
// neither allocates nor touches the memory.
unsafe impl GlobalAlloc for CountingAlloc {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded; the caller upholds `alloc`'s contract.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            count_alloc(layout.size());
        }
        p
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded; the caller upholds `alloc_zeroed`'s contract.
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            count_alloc(layout.size());
        }
        p
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        count_free(layout.size());
        // SAFETY: forwarded; the caller upholds `dealloc`'s contract.
        unsafe { System.dealloc(ptr, layout) }
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: forwarded; the caller upholds `realloc`'s contract.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            // A realloc is a free of the old block and an allocation of
            // the new one, as a C allocator would count it.
            count_free(layout.size());
            count_alloc(new_size);
        }
        p
    }
}

/// Starts counting (idempotent). Counts accumulate from zero at process
/// start; measure with differences of [`snapshot`]s.
pub fn enable() {
    ENABLED.store(true, Relaxed);
}

/// Stops counting.
pub fn disable() {
    ENABLED.store(false, Relaxed);
}

/// Whether counting is on.
pub fn is_enabled() -> bool {
    ENABLED.load(Relaxed)
}

/// The counters at one instant: the process's and the calling thread's.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Snapshot {
    /// Allocations by every thread.
    pub allocs: u64,
    /// Frees by every thread.
    pub frees: u64,
    /// Bytes allocated by every thread.
    pub alloc_bytes: u64,
    /// Bytes freed by every thread.
    pub freed_bytes: u64,
    /// Allocations by the calling thread.
    pub thread_allocs: u64,
    /// Frees by the calling thread.
    pub thread_frees: u64,
    /// Bytes allocated by the calling thread.
    pub thread_alloc_bytes: u64,
    /// Bytes freed by the calling thread.
    pub thread_freed_bytes: u64,
}

impl Snapshot {
    /// Live bytes counted by the process (allocated − freed since counting
    /// began; only differences of it mean anything).
    pub fn live_bytes(&self) -> i64 {
        self.alloc_bytes as i64 - self.freed_bytes as i64
    }

    /// What happened between `earlier` and `self`.
    ///
    /// ```
    /// use mapknee_costs::alloc::Snapshot;
    /// let a = Snapshot { allocs: 2, frees: 1, ..Default::default() };
    /// let b = Snapshot { allocs: 5, frees: 4, ..Default::default() };
    /// assert_eq!(b.since(&a).allocs, 3);
    /// ```
    pub fn since(&self, earlier: &Snapshot) -> Snapshot {
        Snapshot {
            allocs: self.allocs.wrapping_sub(earlier.allocs),
            frees: self.frees.wrapping_sub(earlier.frees),
            alloc_bytes: self.alloc_bytes.wrapping_sub(earlier.alloc_bytes),
            freed_bytes: self.freed_bytes.wrapping_sub(earlier.freed_bytes),
            thread_allocs: self.thread_allocs.wrapping_sub(earlier.thread_allocs),
            thread_frees: self.thread_frees.wrapping_sub(earlier.thread_frees),
            thread_alloc_bytes: self
                .thread_alloc_bytes
                .wrapping_sub(earlier.thread_alloc_bytes),
            thread_freed_bytes: self
                .thread_freed_bytes
                .wrapping_sub(earlier.thread_freed_bytes),
        }
    }
}

/// The counters now.
pub fn snapshot() -> Snapshot {
    let get = |c: &'static std::thread::LocalKey<Cell<u64>>| c.try_with(Cell::get).unwrap_or(0);
    Snapshot {
        allocs: TOTALS.allocs.load(Relaxed),
        frees: TOTALS.frees.load(Relaxed),
        alloc_bytes: TOTALS.alloc_bytes.load(Relaxed),
        freed_bytes: TOTALS.freed_bytes.load(Relaxed),
        thread_allocs: get(&THREAD_ALLOCS),
        thread_frees: get(&THREAD_FREES),
        thread_alloc_bytes: get(&THREAD_ALLOC_BYTES),
        thread_freed_bytes: get(&THREAD_FREED_BYTES),
    }
}

/// Whether [`CountingAlloc`] is this process's global allocator: with
/// counting on, one boxed allocation must show up on this thread's counter.
pub fn installed() -> bool {
    let was = is_enabled();
    enable();
    let before = snapshot();
    let b = std::hint::black_box(Box::new(0u64));
    drop(b);
    let after = snapshot();
    if !was {
        disable();
    }
    after.thread_allocs > before.thread_allocs
}

/// What counting adds to one allocation + free pair, in ns, with
/// counting off (what every other command pays) and on (what the
/// operations `memory` measures pay): the two counting calls the
/// allocator wraps around `System`, timed alone with the
/// [`bench`](crate::bench) harness (median of its samples, less the same
/// loop with no counting calls in it). Timing them
/// alone rather than as the difference of two malloc loops keeps malloc's
/// own variance out. Restores the enabled state it found.
pub fn overhead() -> (f64, f64) {
    let cfg = crate::bench::BenchConfig::default();
    let was = is_enabled();
    let pair = |i: u64| {
        let size = std::hint::black_box(8 + (i as usize & 8));
        count_alloc(size);
        count_free(size);
    };
    // The loop and the size computation alone, taken off both.
    let empty = crate::bench::one(&cfg, |i| {
        std::hint::black_box(8 + (i as usize & 8));
    })
    .median_ns;
    disable();
    let off = crate::bench::one(&cfg, pair).median_ns - empty;
    enable();
    let on = crate::bench::one(&cfg, pair).median_ns - empty;
    if !was {
        disable();
    }
    // Each counted allocation has its free: live bytes are unchanged.
    (off, on)
}

#[cfg(test)]
mod tests {
    use super::*;

    // The unit tests of this crate run with the counting allocator
    // installed, as the binary does.
    #[global_allocator]
    static ALLOC: CountingAlloc = CountingAlloc::SYSTEM;

    #[test]
    fn counts_a_known_allocation_pattern_on_this_thread() {
        let _serial = crate::testutil::serial();
        enable();
        let before = snapshot();
        let boxes: Vec<Box<[u8; 1000]>> = (0..10)
            .map(|_| std::hint::black_box(Box::new([0u8; 1000])))
            .collect();
        let mid = snapshot().since(&before);
        // Ten boxes and the vector that holds them (sized exactly: the
        // iterator's length is known).
        assert_eq!(mid.thread_allocs, 11);
        assert_eq!(
            mid.thread_alloc_bytes,
            10 * 1000 + 10 * std::mem::size_of::<usize>() as u64
        );
        assert_eq!(mid.thread_frees, 0);
        drop(boxes);
        let end = snapshot().since(&before);
        assert_eq!(end.thread_frees, 11);
        assert_eq!(end.thread_freed_bytes, end.thread_alloc_bytes);
        // The process totals include this thread's (other tests may add).
        assert!(end.allocs >= end.thread_allocs);
    }

    #[test]
    fn realloc_counts_as_a_free_and_an_allocation() {
        let _serial = crate::testutil::serial();
        enable();
        let mut v: Vec<u8> = Vec::with_capacity(16);
        std::hint::black_box(&mut v);
        let before = snapshot();
        v.reserve_exact(4096);
        let d = snapshot().since(&before);
        assert_eq!((d.thread_allocs, d.thread_frees), (1, 1));
        assert_eq!(d.thread_freed_bytes, 16);
        assert!(d.thread_alloc_bytes >= 4096);
    }

    #[test]
    fn another_threads_allocations_are_not_this_threads() {
        let _serial = crate::testutil::serial();
        enable();
        let before = snapshot();
        std::thread::scope(|s| {
            s.spawn(|| drop(std::hint::black_box(vec![0u8; 4096])));
        });
        let d = snapshot().since(&before);
        assert!(d.alloc_bytes >= 4096, "process totals include the thread's");
        assert!(
            d.thread_alloc_bytes < 4096,
            "the 4 KiB vector was the other thread's"
        );
    }

    #[test]
    fn installed_is_true_here() {
        let _serial = crate::testutil::serial();
        // Tests share the switch and never turn it off, so none misses
        // another's counts.
        enable();
        assert!(installed());
    }
}
