//! USDT probes (provider `mapknee`) at the mechanism events, so bpftrace,
//! perf or SystemTap can watch a program that embeds these maps.
//!
//! Every probe sits next to the counter increment it mirrors, and its
//! arguments carry the same amounts, so a tracer counting probe hits over a
//! window sees what the built-in counters ([`MapStats`](crate::MapStats))
//! add over it. The scripts in `scripts/bpftrace/` use them.
//!
//! | probe | arguments | fires when |
//! |---|---|---|
//! | `syncmap_miss` | — | a `SyncMap` lookup missed the read snapshot and went to dirty (counter `syncmap_misses`) |
//! | `syncmap_promote` | entries promoted | dirty became the new read snapshot (`syncmap_promotions`) |
//! | `syncmap_dirty_rebuild` | entries copied | dirty was rebuilt from the snapshot (`syncmap_dirty_rebuilds`, `syncmap_entries_copied`) |
//! | `syncmap_expunge` | — | a deleted entry was expunged during a rebuild (`syncmap_expunges`) |
//! | `gomap_grow_start` | old B, 1 = same-size / 0 = doubling | a `GoMap` growth started (`growth_doublings` + `growth_same_size`) |
//! | `gomap_evacuate` | buckets moved | one write's share of evacuation (`growth_buckets_evacuated`) |
//! | `gomap_grow_end` | new B | the last old bucket was evacuated |
//! | `lock_wait_start` | lock address | a counting lock was found held and the thread starts to wait |
//! | `lock_wait_end` | lock address, wait ns | the waiter got the lock (`lock_contended`, `lock_wait_ns`) |
//! | `counters_begin` | map address | a sampler starts reading a map's counters (has a USDT semaphore) |
//! | `counters_read` | map address, [`Reading`] kind | the sampler has read them, still holding the map's locks |
//! | `step_begin` / `step_end` | step number | `mapknee trace` brackets a staircase step |
//!
//! # Cost
//!
//! Unattached, a probe is one `nop` instruction plus its arguments kept in
//! registers; the arguments here are values the code computes anyway.
//! Attached, each hit is a uprobe trap into the kernel (microseconds).
//! Without the cargo feature `probes` (on by default) every function here
//! is empty.
//!
//! # Exact windows
//!
//! Counters are striped per thread and read while workers run, so a read
//! is not an atomic snapshot: an event in flight while the sampler sums the
//! stripes could be in the counters and not yet in the tracer's count, or
//! the other way round. Every probed event happens while the thread holds
//! one of the map's locks. So when a tracer is attached to
//! `counters_begin` (its USDT semaphore says so), `sample` holds all of
//! the map's locks while the counters are read and `counters_read` fires:
//! no event is in flight at that instant, and the probe counts between two
//! `counters_read` hits equal the counters' difference exactly. Unattached,
//! the check is one volatile load and no lock is taken.

#[cfg(feature = "probes")]
mod imp {
    use probe::{probe, probe_lazy};

    #[inline(always)]
    pub(crate) fn syncmap_miss() {
        probe!(mapknee, syncmap_miss);
    }
    #[inline(always)]
    pub(crate) fn syncmap_promote(entries: usize) {
        probe!(mapknee, syncmap_promote, entries);
    }
    #[inline(always)]
    pub(crate) fn syncmap_dirty_rebuild(copied: usize) {
        probe!(mapknee, syncmap_dirty_rebuild, copied);
    }
    #[inline(always)]
    pub(crate) fn syncmap_expunge() {
        probe!(mapknee, syncmap_expunge);
    }
    #[inline(always)]
    pub(crate) fn gomap_grow_start(old_b: u8, same_size: bool) {
        probe!(mapknee, gomap_grow_start, old_b, same_size as u8);
    }
    #[inline(always)]
    pub(crate) fn gomap_evacuate(buckets: u64) {
        probe!(mapknee, gomap_evacuate, buckets);
    }
    #[inline(always)]
    pub(crate) fn gomap_grow_end(new_b: u8) {
        probe!(mapknee, gomap_grow_end, new_b);
    }
    #[inline(always)]
    pub(crate) fn lock_wait_start(lock: usize) {
        probe!(mapknee, lock_wait_start, lock);
    }
    #[inline(always)]
    pub(crate) fn lock_wait_end(lock: usize, wait_ns: u64) {
        probe!(mapknee, lock_wait_end, lock, wait_ns);
    }
    /// Fires `counters_begin` if a tracer is attached to it; says whether.
    #[inline(always)]
    pub(crate) fn counters_begin(map: usize) -> bool {
        probe_lazy!(mapknee, counters_begin, map)
    }
    #[inline(always)]
    pub(crate) fn counters_read(map: usize, kind: u8) {
        probe!(mapknee, counters_read, map, kind);
    }
    /// `mapknee trace`: step `seq` is about to run.
    #[inline(never)]
    pub fn step_begin(seq: u64) {
        probe!(mapknee, step_begin, seq);
    }
    /// `mapknee trace`: step `seq` has finished.
    #[inline(never)]
    pub fn step_end(seq: u64) {
        probe!(mapknee, step_end, seq);
    }
}

#[cfg(not(feature = "probes"))]
mod imp {
    #[inline(always)]
    pub(crate) fn syncmap_miss() {}
    #[inline(always)]
    pub(crate) fn syncmap_promote(_: usize) {}
    #[inline(always)]
    pub(crate) fn syncmap_dirty_rebuild(_: usize) {}
    #[inline(always)]
    pub(crate) fn syncmap_expunge() {}
    #[inline(always)]
    pub(crate) fn gomap_grow_start(_: u8, _: bool) {}
    #[inline(always)]
    pub(crate) fn gomap_evacuate(_: u64) {}
    #[inline(always)]
    pub(crate) fn gomap_grow_end(_: u8) {}
    #[inline(always)]
    pub(crate) fn lock_wait_start(_: usize) {}
    #[inline(always)]
    pub(crate) fn lock_wait_end(_: usize, _: u64) {}
    #[inline(always)]
    pub(crate) fn counters_begin(_: usize) -> bool {
        false
    }
    #[inline(always)]
    pub(crate) fn counters_read(_: usize, _: u8) {}
    /// `mapknee trace`: step `seq` is about to run (no-op: feature `probes` off).
    pub fn step_begin(_seq: u64) {}
    /// `mapknee trace`: step `seq` has finished (no-op: feature `probes` off).
    pub fn step_end(_seq: u64) {}
}

pub(crate) use imp::{
    counters_begin, counters_read, gomap_evacuate, gomap_grow_end, gomap_grow_start, lock_wait_end,
    lock_wait_start, syncmap_dirty_rebuild, syncmap_expunge, syncmap_miss, syncmap_promote,
};
pub use imp::{step_begin, step_end};

/// Whether this build has the probes (cargo feature `probes`).
pub const COMPILED_IN: bool = cfg!(feature = "probes");

/// What a counter reading is for, passed to a tracer as `counters_read`'s
/// second argument. The load engine reads a map's counters from two
/// threads: the coordinator as a step's measured time opens and after its
/// workers end (the step's counters are the difference of those two), and
/// the first worker as it enters each 10 ms window (the timeline's). The
/// two threads' readings interleave in no fixed order, so a tracer cannot
/// tell from their count alone which readings bound the step; the kind
/// says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Reading {
    /// Any other reading: a window's start, a growth's progress.
    Window = 0,
    /// The reading a step's counters start from.
    MeasureStart = 1,
    /// The reading a step's counters end at.
    MeasureEnd = 2,
}

thread_local! {
    static READING: std::cell::Cell<Reading> = const { std::cell::Cell::new(Reading::Window) };
}

/// Runs `read` (which reads a map's counters, e.g. `|| map.counters()`)
/// with its `counters_read` probe marked `kind`.
///
/// ```
/// use mapknee_maps::probes::{marked, Reading};
/// use mapknee_maps::{ConcurrentMap, SyncMap};
///
/// let map: SyncMap<u64, u64> = SyncMap::new();
/// let start = marked(Reading::MeasureStart, || map.counters());
/// map.insert(1, 10);
/// // New keys live in the dirty map: this lookup misses the read snapshot.
/// assert_eq!(map.get(&1), Some(10));
/// let end = marked(Reading::MeasureEnd, || map.counters());
/// assert_eq!(end.delta(&start).syncmap.unwrap().misses, 1);
/// ```
pub fn marked<R>(kind: Reading, read: impl FnOnce() -> R) -> R {
    /// Puts the kind back to `Window` also if `read` panics.
    struct Reset;
    impl Drop for Reset {
        fn drop(&mut self) {
            READING.with(|r| r.set(Reading::Window));
        }
    }
    READING.with(|r| r.set(kind));
    let _reset = Reset;
    read()
}

/// Reads a map's counters with `read`, bracketed for a tracer: when one is
/// attached to `counters_begin`, `hold` takes every lock under which the
/// map's probed events happen (uncounted) and keeps them while `read` runs
/// and `counters_read` fires, so the tracer's counts and the counters agree
/// to the event (see the module docs). Otherwise `read` runs alone.
#[inline]
pub(crate) fn sample<T: ?Sized, G, R>(
    map: &T,
    hold: impl FnOnce() -> G,
    read: impl FnOnce(Option<&G>) -> R,
) -> R {
    let addr = map as *const T as *const () as usize;
    if counters_begin(addr) {
        let held = hold();
        let r = read(Some(&held));
        counters_read(addr, READING.with(|k| k.get()) as u8);
        drop(held);
        r
    } else {
        read(None)
    }
}
