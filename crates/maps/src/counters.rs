//! Striped event counters cheap enough to stay on while measuring.
//!
//! Each live thread owns one stripe (a cache-padded row of counters) for as
//! long as it runs, so an increment is a relaxed load and store on a line no
//! other thread writes: no locked read-modify-write and no shared cache line
//! on the hot path. Threads beyond the stripe count share one overflow row
//! and use `fetch_add` there, which stays exact. A slot is handed back when its
//! thread exits; the hand-over goes through a mutex, so the next owner sees
//! the previous owner's last store and no increment is lost.
//!
//! These counters are statistics, never synchronization, so they use std
//! atomics even in loom builds (loom would otherwise explore every increment).

use std::cell::Cell;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use crossbeam_utils::CachePadded;

/// Slots handed back by exited threads, and the next never-used slot.
static SLOTS: Mutex<(Vec<usize>, usize)> = Mutex::new((Vec::new(), 0));

/// `SLOT` before the thread has leased one.
const UNLEASED: usize = usize::MAX - 1;
/// `SLOT` once the thread's lease was handed back (thread exit): such late
/// increments go to the overflow row.
const RETIRED: usize = usize::MAX;

thread_local! {
    /// The slot this thread writes. Const-initialized and without a
    /// destructor, so reading it is one thread-local load with no lazy-init
    /// check: measured, the lazily initialized form cost ~2 ns more per
    /// increment on SyncMap's ~20 ns hit path.
    static SLOT: Cell<usize> = const { Cell::new(UNLEASED) };
    /// Owns the lease; its destructor hands the slot back.
    static LEASE: SlotLease = SlotLease(lease());
}

/// Takes a free slot (or a new one).
fn lease() -> usize {
    let mut slots = SLOTS.lock().unwrap_or_else(|e| e.into_inner());
    let slot = match slots.0.pop() {
        Some(slot) => slot,
        None => {
            slots.1 += 1;
            slots.1 - 1
        }
    };
    let _ = SLOT.try_with(|s| s.set(slot));
    slot
}

/// A slot number owned by the current thread until it exits.
struct SlotLease(usize);

impl Drop for SlotLease {
    fn drop(&mut self) {
        let _ = SLOT.try_with(|s| s.set(RETIRED));
        let mut slots = SLOTS.lock().unwrap_or_else(|e| e.into_inner());
        slots.0.push(self.0);
    }
}

/// The current thread's slot, leasing one on first use; `RETIRED` (so the
/// caller uses the overflow row) once the thread is tearing down.
#[inline]
fn current_slot() -> usize {
    match SLOT.try_with(Cell::get) {
        Ok(UNLEASED) => LEASE.try_with(|l| l.0).unwrap_or(RETIRED),
        Ok(slot) => slot,
        Err(_) => RETIRED,
    }
}

/// Owned stripes per counter set: two per core, so a machine's worth of
/// worker threads plus the harness's own threads each get one. Must be ≥ 1.
/// Asked once per process: every counting lock (one per shard) builds a
/// `Counters`, and `available_parallelism` reads cgroup files on Linux.
fn owned_stripes() -> usize {
    static STRIPES: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *STRIPES.get_or_init(|| {
        std::thread::available_parallelism()
            .map_or(8, |n| n.get() * 2)
            .max(8)
    })
}

/// `N` counters, striped per thread.
///
/// ```
/// use mapknee_maps::counters::Counters;
/// let c: Counters<2> = Counters::new();
/// c.add(0, 3);
/// c.add(1, 1);
/// c.add(0, 1);
/// assert_eq!(c.sum(), [4, 1]);
/// ```
pub struct Counters<const N: usize> {
    /// `owned_stripes()` single-writer rows, then one shared overflow row.
    rows: Box<[CachePadded<[AtomicU64; N]>]>,
}

impl<const N: usize> std::fmt::Debug for Counters<N> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Counters")
            .field("sum", &self.sum())
            .finish()
    }
}

impl<const N: usize> Default for Counters<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> Counters<N> {
    /// Zeroed counters with one row per expected thread.
    pub fn new() -> Self {
        let rows = (0..owned_stripes() + 1)
            .map(|_| CachePadded::new(std::array::from_fn(|_| AtomicU64::new(0))))
            .collect();
        Self { rows }
    }

    /// Adds `n` to counter `field` (must be `< N`).
    #[inline]
    pub fn add(&self, field: usize, n: u64) {
        let slot = current_slot();
        let overflow = self.rows.len() - 1;
        if slot < overflow {
            // This thread is the only writer of its row: a plain load and
            // store cannot lose an increment, and costs no locked instruction.
            let c = &self.rows[slot][field];
            c.store(c.load(Ordering::Relaxed).wrapping_add(n), Ordering::Relaxed);
        } else {
            self.rows[overflow][field].fetch_add(n, Ordering::Relaxed);
        }
    }

    /// Adds one to counter `field`.
    #[inline]
    pub fn incr(&self, field: usize) {
        self.add(field, 1);
    }

    /// Every counter summed over the stripes.
    pub fn sum(&self) -> [u64; N] {
        let mut out = [0u64; N];
        for row in self.rows.iter() {
            for (o, c) in out.iter_mut().zip(row.iter()) {
                *o = o.wrapping_add(c.load(Ordering::Relaxed));
            }
        }
        out
    }
}

/// Counters in one cache-padded block. Must be ≥ 1; 16 × 8 bytes fills the
/// 128 bytes `CachePadded` gives a line pair on x86-64.
const BLOCK: usize = 16;

/// Counters whose number is known only at run time (for example three per
/// shard of a map), striped per thread like [`Counters`]: each stripe is a
/// run of whole cache-padded blocks, so a thread's increments stay on lines
/// no other thread writes, and neighbouring fields of one stripe share a
/// line (one line for eight shards' acquisition counts).
///
/// ```
/// use mapknee_maps::counters::CounterTable;
/// let c = CounterTable::new(20);
/// c.incr(0);
/// c.add(19, 5);
/// let sum = c.sum();
/// assert_eq!((sum.len(), sum[0], sum[1], sum[19]), (20, 1, 0, 5));
/// ```
pub struct CounterTable {
    /// Counters per stripe.
    width: usize,
    /// Blocks per stripe: `width.div_ceil(BLOCK)`, at least 1.
    stride: usize,
    /// The overflow stripe's index: `owned_stripes()`.
    overflow: usize,
    /// `owned_stripes()` single-writer stripes, then one shared overflow
    /// stripe, each `stride` blocks long.
    blocks: Box<[CachePadded<[AtomicU64; BLOCK]>]>,
}

impl std::fmt::Debug for CounterTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CounterTable")
            .field("sum", &self.sum())
            .finish()
    }
}

impl CounterTable {
    /// `width` zeroed counters with one stripe per expected thread.
    pub fn new(width: usize) -> Self {
        let stride = width.div_ceil(BLOCK).max(1);
        let overflow = owned_stripes();
        let blocks = (0..(overflow + 1) * stride)
            .map(|_| CachePadded::new(std::array::from_fn(|_| AtomicU64::new(0))))
            .collect();
        Self {
            width,
            stride,
            overflow,
            blocks,
        }
    }

    /// Adds `n` to counter `field` (must be `< width`).
    #[inline]
    pub fn add(&self, field: usize, n: u64) {
        debug_assert!(field < self.width);
        let overflow = self.overflow;
        let stripe = current_slot().min(overflow);
        let c = &self.blocks[stripe * self.stride + field / BLOCK][field % BLOCK];
        if stripe < overflow {
            // This thread is the only writer of its stripe: a plain load and
            // store cannot lose an increment, and costs no locked instruction.
            c.store(c.load(Ordering::Relaxed).wrapping_add(n), Ordering::Relaxed);
        } else {
            c.fetch_add(n, Ordering::Relaxed);
        }
    }

    /// Adds one to counter `field`.
    #[inline]
    pub fn incr(&self, field: usize) {
        self.add(field, 1);
    }

    /// The fields summed over the stripes in `G` groups of `width / G`
    /// consecutive fields each (`width` must be a multiple of `G`), without
    /// allocating: a map's totals, read by a load-engine worker inside the
    /// measured window.
    ///
    /// ```
    /// use mapknee_maps::counters::CounterTable;
    /// let c = CounterTable::new(6);
    /// c.add(0, 1);
    /// c.add(1, 2);
    /// c.add(3, 4);
    /// c.add(5, 8);
    /// assert_eq!(c.sum_groups::<3>(), [3, 4, 8]);
    /// ```
    pub fn sum_groups<const G: usize>(&self) -> [u64; G] {
        assert!(
            G > 0 && self.width >= G && self.width % G == 0,
            "{} fields do not split into {G} equal groups",
            self.width
        );
        let group = self.width / G;
        let mut out = [0u64; G];
        for stripe in self.blocks.chunks(self.stride) {
            let fields = stripe.iter().flat_map(|b| b.iter()).take(self.width);
            for (i, c) in fields.enumerate() {
                out[i / group] = out[i / group].wrapping_add(c.load(Ordering::Relaxed));
            }
        }
        out
    }

    /// Every counter summed over the stripes, `width` of them.
    pub fn sum(&self) -> Vec<u64> {
        let mut out = vec![0u64; self.width];
        for stripe in self.blocks.chunks(self.stride) {
            let fields = stripe.iter().flat_map(|b| b.iter());
            for (o, c) in out.iter_mut().zip(fields) {
                *o = o.wrapping_add(c.load(Ordering::Relaxed));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_across_threads_and_slot_reuse() {
        let c: Counters<1> = Counters::new();
        // More threads than stripes, in two waves, so slots are both
        // overflowed and reused.
        let threads = owned_stripes() + 4;
        for _wave in 0..2 {
            std::thread::scope(|s| {
                for _ in 0..threads {
                    s.spawn(|| {
                        for _ in 0..1000 {
                            c.incr(0);
                        }
                    });
                }
            });
        }
        assert_eq!(c.sum(), [2 * threads as u64 * 1000]);
    }

    #[test]
    fn table_exact_across_threads_and_blocks() {
        // 40 fields: three blocks per stripe, the last one partly used.
        let c = CounterTable::new(40);
        let threads = owned_stripes() + 4;
        std::thread::scope(|s| {
            for t in 0..threads {
                let c = &c;
                s.spawn(move || {
                    for i in 0..1000 {
                        c.incr((t + i) % 40);
                    }
                });
            }
        });
        let sum = c.sum();
        assert_eq!(sum.len(), 40);
        assert_eq!(sum.iter().sum::<u64>(), threads as u64 * 1000);
        // Field f gets every thread's increments at i ≡ f - t (mod 40).
        let expected = |f: usize| {
            (0..threads)
                .map(|t| (0..1000).filter(|i| (t + i) % 40 == f).count() as u64)
                .sum::<u64>()
        };
        assert!((0..40).all(|f| sum[f] == expected(f)), "{sum:?}");
    }
}
