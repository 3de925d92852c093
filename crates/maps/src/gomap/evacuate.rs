//! Growth: starting one (`hash_grow`) and the incremental evacuation that
//! finishes it a few buckets per write (`grow_work`, `evacuate`,
//! `advance_evacuation_mark`).

use std::hash::BuildHasher;

use super::bucket::{self, BucketArray, BUCKET_SLOTS};
use super::GoMap;
use crate::probes;

/// How far `advance_evacuation_mark` looks ahead for already-evacuated
/// buckets in one step, bounding the work of one write (Go uses 1024 too).
const EVACUATION_SCAN: usize = 1024;

/// Which entries of one chain go to the Y half of a doubled array: one
/// byte per bucket, bit `i` for slot `i`. Most chains are their head bucket
/// alone, whose byte is `head`, a plain register; the next 16 buckets' bytes
/// live in one `u128`, and only longer chains spill to the heap.
///
/// A `u128`, not a `[u8; 16]`: the array was filled a byte at a time and
/// then copied as 16 bytes when `YBits` was returned, a load that cannot
/// be forwarded from the byte stores still in flight, so every evacuation
/// stalled on it (the hottest instruction of `evacuate` in `perf annotate`
/// while inserting 65,536 keys). The head's byte apart from it: shifting a
/// `u128` by a variable amount to file and fetch it cost ~20 instructions
/// per evacuated bucket (callgrind).
#[derive(Default)]
struct YBits {
    head: u8,
    /// The bytes of overflow buckets 1..=16, bucket `d` at bits `8(d−1)`.
    more: u128,
    rest: Vec<u8>,
}

/// Overflow buckets of a chain whose Y bits fit in `YBits::more`.
const YBITS_MORE: usize = 16;

impl YBits {
    #[inline]
    fn of_chain<K, V>(head: bucket::BucketRef<'_, K, V>, mut is_y: impl FnMut(&K) -> bool) -> Self {
        let mut of_bucket = |b: bucket::BucketRef<'_, K, V>| {
            let mut bits = 0u8;
            for i in 0..BUCKET_SLOTS {
                if let Some((key, _)) = b.entry(i) {
                    bits |= u8::from(is_y(key)) << i;
                }
            }
            bits
        };
        let mut ys = YBits {
            head: of_bucket(head),
            ..YBits::default()
        };
        let mut cur = head.overflow();
        let mut depth = 1;
        while let Some(b) = cur {
            let bits = of_bucket(b);
            if depth <= YBITS_MORE {
                ys.more |= u128::from(bits) << (8 * (depth - 1));
            } else {
                ys.rest.push(bits);
            }
            depth += 1;
            cur = b.overflow();
        }
        ys
    }

    #[inline]
    fn get(&self, depth: usize) -> u8 {
        match depth {
            0 => self.head,
            d if d <= YBITS_MORE => (self.more >> (8 * (d - 1))) as u8,
            d => self.rest.get(d - 1 - YBITS_MORE).copied().unwrap_or(0),
        }
    }
}

impl<K, V, S> GoMap<K, V, S>
where
    K: std::hash::Hash + Eq,
    S: BuildHasher,
{
    /// Starts a growth: doubling if one more entry would pass the load
    /// factor, otherwise same-size (to shed overflow buckets). Moves no
    /// entry; the writes that follow do.
    pub(super) fn hash_grow(&mut self) {
        debug_assert!(self.old.is_none(), "growth already in progress");
        let bigger = super::over_load_factor(self.count + 1, self.b);
        probes::gomap_grow_start(self.b, !bigger);
        let new_b = self.b + u8::from(bigger);
        let new = BucketArray::zeroed(1usize << new_b);
        self.old = Some(std::mem::replace(&mut self.buckets, new));
        self.b = new_b;
        self.same_size = !bigger;
        self.nevacuate = 0;
        // The old array's overflow buckets leave with it; the trigger
        // counts only the new array's.
        self.old_overflow = self.noverflow;
        self.noverflow = 0;
        if bigger {
            self.counters.doublings += 1;
        } else {
            self.counters.same_size += 1;
        }
    }

    /// The evacuation one write pays for: the old bucket that new bucket
    /// `bucket` draws from, then the oldest unevacuated one, so the growth
    /// finishes after at most one write per old bucket.
    pub(super) fn grow_work(&mut self, bucket: usize) {
        let Some(old) = &self.old else { return };
        let old_mask = old.len() - 1;
        let before = self.counters.buckets_evacuated;
        self.evacuate(bucket & old_mask);
        if self.old.is_some() {
            self.evacuate(self.nevacuate);
        }
        probes::gomap_evacuate(self.counters.buckets_evacuated - before);
    }

    /// Moves every entry of old bucket `oldbucket` (and its overflow chain)
    /// into the new array: to the same index ("X") or, when doubling and
    /// the hash has the new bit set, to index + old length ("Y").
    fn evacuate(&mut self, oldbucket: usize) {
        let Some(old) = self.old.as_mut() else { return };
        // The old length is the bit that splits a doubled bucket in two.
        let newbit = old.len();
        // Reads only the old array's tophash side array.
        if !old.evacuated(oldbucket) {
            // NOTE: Go 1.19's `evacuate` issues no prefetch; we start the
            // loads of the whole source bucket here and of both destination
            // buckets in `evacuation_targets`, so the misses of one evacuation (a
            // random old bucket and two fresh new ones) overlap. Measured
            // with `examples/nsop.rs` (5 alternated runs, medians, 2-core
            // shared VM), together with inlining `EvacDst::push`: insert
            // into an empty map 41.7 → 40.4 ns/op.
            old.prefetch_all(oldbucket);
            let mut src = old.head_mut(oldbucket);
            let y = (!self.same_size).then_some(oldbucket + newbit);
            let mut dst = self.buckets.evacuation_targets(oldbucket, y);
            // NOTE: Go hashes each key as it moves it. The user's `Hash`
            // may panic, and a panic after the head bucket's first slot was
            // marked evacuated would make the rest of the chain unreachable
            // (lookups trust that mark). So every key of the chain is hashed
            // first, before anything moves: a panic then leaves the bucket
            // untouched.
            let ys = if self.same_size {
                YBits::default()
            } else {
                YBits::of_chain(src.as_ref(), |key| {
                    self.hasher.hash_one(key) & newbit as u64 != 0
                })
            };
            let mut cur = Some(src.reborrow());
            let mut depth = 0;
            while let Some(mut b) = cur {
                self.noverflow += dst.move_bucket(&mut b, ys.get(depth));
                cur = b.overflow_mut();
                depth += 1;
            }
            // NOTE: Go 1.19 keeps an evacuated bucket's overflow chain until
            // the whole growth ends, because an iterator may still be walking
            // it; our iterators borrow the map, so none can be, and we free
            // the chain now.
            self.old_overflow -= src.free_overflow();
            self.counters.buckets_evacuated += 1;
        }
        if oldbucket == self.nevacuate {
            self.advance_evacuation_mark(newbit);
        }
    }

    /// Moves `nevacuate` past the evacuated prefix of the old array (looking
    /// at most `EVACUATION_SCAN` buckets ahead) and ends the growth once the
    /// whole old array is evacuated.
    fn advance_evacuation_mark(&mut self, newbit: usize) {
        let old = self.old.as_ref().expect("advancing with no growth");
        self.nevacuate += 1;
        let stop = (self.nevacuate + EVACUATION_SCAN).min(newbit);
        while self.nevacuate != stop && old.evacuated(self.nevacuate) {
            self.nevacuate += 1;
        }
        if self.nevacuate == newbit {
            let old = self.old.take().expect("growth in progress");
            probes::gomap_grow_end(self.b);
            debug_assert_eq!(self.old_overflow, 0);
            self.same_size = false;
            // NOTE: Go 1.19 leaves the old array to its GC; see
            // `free_evacuated` for how and where we free it.
            bucket::free_evacuated(old);
        }
    }
}
