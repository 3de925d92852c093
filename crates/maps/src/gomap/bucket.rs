//! Buckets — eight slots, a tophash byte per slot, an overflow chain — and
//! the zeroed bucket array. This is the only file of `gomap` with `unsafe`.
//!
//! # Layout
//!
//! A [`BucketArray`] of 2^B main buckets is three arrays of the same
//! length: the tophash bytes, eight per bucket (one `u64` word), densely
//! packed, the overflow links ([`Link`]), and the slots (`Slots`: eight
//! keys, eight values). An overflow bucket (`Overflow`) keeps its tophash
//! bytes and link inline, as Go's `bmap` does; it is one of the array's
//! preallocated spares ([`Spares`], 2^(B−4) of them as in Go) or, once
//! those are used, a heap allocation of its own, and its link says which.
//! A bucket is handled as a [`BucketRef`] / [`BucketMut`]: references to
//! its tophash bytes, its link and its slots.
//!
//! # The slot invariant
//!
//! Slot `i` of a bucket holds an initialized key and value **if and only if**
//! the bucket's tophash byte `i` is `>= MIN_TOPHASH`. A bucket's tophash
//! bytes are `tophash[j]` of its array for main bucket `j`, and the inline
//! `tophash` field for an overflow bucket. The fields are private to this
//! module, a `BucketRef`/`BucketMut` is only ever built from such a pair
//! (`BucketArray::head`, `head_mut`, `evacuation_targets`, and an `Overflow`'s own
//! fields), and every method keeps the invariant, so code outside this file
//! cannot break it: `put` is the only way to make a slot occupied, and
//! `take` and evacuation's `EvacuationTargets::move_bucket` (which marks a
//! bucket's slots, then moves out the entries they held) the only ways to
//! make it empty again. A `Slots` never drops its own keys and values (it
//! cannot tell which are initialized); its owner drops them through the
//! pair.

use std::alloc::{self, Layout};
use std::borrow::Borrow;
use std::fmt;
use std::marker::PhantomData;
use std::mem::{self, MaybeUninit};
use std::ops::ControlFlow;
use std::ptr::{self, NonNull};
use std::sync::mpsc::{self, Sender};
use std::sync::OnceLock;
use std::thread;

/// Slots per bucket (Go's `bucketCnt`). Must be 8: the tophash bytes of a
/// bucket are read as one `u64` and matched eight at a time.
pub(crate) const BUCKET_SLOTS: usize = 8;

/// This slot is empty, and so is every later slot of this bucket and every
/// slot of its overflow buckets: lookups stop here. Must be 0, so that a
/// zeroed bucket array is an empty one (see [`BucketArray::zeroed`]).
pub(crate) const EMPTY_REST: u8 = 0;
/// This slot is empty, but a later one may not be.
pub(crate) const EMPTY_ONE: u8 = 1;
/// The entry moved to the lower half ("X") of the doubled array.
/// `EVACUATED_X + 1` must equal `EVACUATED_Y`: evacuation adds the half bit.
pub(crate) const EVACUATED_X: u8 = 2;
/// The entry moved to the upper half ("Y") of the doubled array.
pub(crate) const EVACUATED_Y: u8 = 3;
/// The slot was empty when its bucket was evacuated.
pub(crate) const EVACUATED_EMPTY: u8 = 4;
/// The smallest tophash of an occupied slot; every marker is below it.
pub(crate) const MIN_TOPHASH: u8 = 5;

const LO: u64 = 0x0101_0101_0101_0101;
const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;

/// The tophash of `hash`: its top 7 bits with the high bit set
/// (`0x80..=0xff`), out of the marker range.
#[inline]
pub(crate) fn tophash(hash: u64) -> u8 {
    // NOTE: Go 1.19 takes the top 8 bits and adds `minTopHash` to a byte
    // below it (251 distinct tophashes); we keep 7 bits and set the high
    // one (128, as SwissTable's control bytes). A slot then matches a
    // stranger's tophash with odds 1/128 instead of 1/251, which costs a
    // key compare on a lookup now and then; in exchange the tophash is a
    // shift and an `or` where Go's form is a shift, a compare and a
    // conditional move (two instructions more), on every lookup, and the
    // lookup path is bound by instruction count: std's time over GoMap's,
    // get-hit, `examples/gomap_get.rs` alternated three times with the
    // earlier `max(top, MIN_TOPHASH)` form, 1,024 keys 0.77–0.80 →
    // 0.73–0.87, 65,536 keys 0.78–0.81 → 0.80–0.81
    // (`benchsuite/runs/2026-12-03-vm22d`).
    ((hash >> 56) as u8) | 0x80
}

/// A set of a bucket's slots, as [`match_byte`] finds them: [`any`] says
/// whether it is empty, [`lowest`] names its lowest slot, and
/// [`without_lowest`] steps to the next.
///
/// On x86-64 bit `i` stands for slot `i` and bits 8..16 are always set
/// (see [`match_byte`]) and never read: testing the low byte alone is one
/// instruction, where clearing the high bits first took two more on every
/// lookup. Elsewhere it is a SWAR mask, the high bit of byte `i` for slot
/// `i`.
///
/// [`any`]: Matches::any
/// [`lowest`]: Matches::lowest
/// [`without_lowest`]: Matches::without_lowest
#[derive(Clone, Copy, Debug)]
struct Matches(MatchBits);

#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
type MatchBits = u32;
#[cfg(not(all(target_arch = "x86_64", target_feature = "sse2")))]
type MatchBits = u64;

impl Matches {
    /// Whether any slot matched.
    #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
    #[inline(always)]
    fn any(self) -> bool {
        self.0 as u8 != 0
    }

    /// Whether any slot matched.
    #[cfg(not(all(target_arch = "x86_64", target_feature = "sse2")))]
    #[inline(always)]
    fn any(self) -> bool {
        self.0 != 0
    }

    /// The lowest matching slot; only meaningful when [`Matches::any`].
    #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
    #[inline(always)]
    fn lowest(self) -> usize {
        // Bits 8.. are set, so this is below 8 when the low byte is not 0.
        self.0.trailing_zeros() as usize
    }

    /// The lowest matching slot; only meaningful when [`Matches::any`].
    #[cfg(not(all(target_arch = "x86_64", target_feature = "sse2")))]
    #[inline(always)]
    fn lowest(self) -> usize {
        lowest_swar(self.0)
    }

    /// The set without its lowest slot. Clearing the lowest set bit
    /// leaves x86-64's always-set bits 8.. alone while a low bit is set.
    #[inline(always)]
    fn without_lowest(self) -> Self {
        Matches(self.0 & self.0.wrapping_sub(1))
    }

    /// The slots in either set.
    #[inline(always)]
    fn or(self, other: Self) -> Self {
        Matches(self.0 | other.0)
    }
}

/// The slots of a bucket whose tophash byte (byte `i` of `word` for slot
/// `i`) equals `byte`. Exact (no false positives), so a named slot can be
/// trusted to be occupied when `byte >= MIN_TOPHASH`.
///
/// On x86-64 the eight bytes are compared by one SSE2 byte compare (SSE2 is
/// part of the x86-64 baseline); elsewhere by SWAR arithmetic on the word.
///
/// NOTE: Go 1.19 compares a bucket's tophash bytes one at a time; we
/// compare all eight at once, which finds the same slots. The SSE2 form
/// replaced a SWAR one (high bit of each matching byte) because a lookup
/// here is bound by how many lookups the core can keep in flight, so every
/// instruction of the lookup path counts: the compare went from ten
/// instructions to five, and the slot index needs no shift. Measured with
/// `examples/nsop.rs` (65,536 `u64` keys, 7 alternated runs, medians,
/// 2-core AMD EPYC VM): get hit 7.4 → 6.6 ns/op, get miss 6.2 → 5.2,
/// insert 38.9 → 38.4.
#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
#[inline(always)]
fn match_byte(word: u64, byte: u8) -> Matches {
    use std::arch::x86_64::{_mm_cmpeq_epi8, _mm_cvtsi64_si128, _mm_movemask_epi8};
    // Both vectors hold their eight bytes in the low half and zeros in the
    // high half, which always compare equal: bits 8..16 of the mask are
    // set, and `Matches` reads only the low eight.
    // SAFETY: these intrinsics need only SSE2, which this build enables
    // (the `cfg` above); they read and write no memory.
    let mask = unsafe {
        let word = _mm_cvtsi64_si128(word as i64);
        let bytes = _mm_cvtsi64_si128((LO * u64::from(byte)) as i64);
        _mm_movemask_epi8(_mm_cmpeq_epi8(word, bytes))
    };
    Matches(mask as u32)
}

/// The slots of a bucket whose tophash byte equals `byte` (see the x86-64
/// version), by SWAR arithmetic.
#[cfg(not(all(target_arch = "x86_64", target_feature = "sse2")))]
#[inline(always)]
fn match_byte(word: u64, byte: u8) -> Matches {
    Matches(match_byte_swar(word, byte))
}

/// [`match_byte`] without SIMD: the high bit of each byte of `word` equal
/// to `byte` set, no other bit. Also built for tests on x86-64, which check
/// it against the SSE2 form.
#[cfg(any(test, not(all(target_arch = "x86_64", target_feature = "sse2"))))]
#[inline(always)]
fn match_byte_swar(word: u64, byte: u8) -> u64 {
    let x = word ^ (LO * u64::from(byte));
    // A byte of `x` is zero iff adding 0x7f to its low 7 bits leaves its
    // high bit clear and its own high bit is clear too.
    !(((x & LOW7) + LOW7) | x | LOW7)
}

/// The index of the lowest slot named by a non-zero [`match_byte_swar`]
/// mask.
#[cfg(any(test, not(all(target_arch = "x86_64", target_feature = "sse2"))))]
#[inline(always)]
fn lowest_swar(mask: u64) -> usize {
    (mask.trailing_zeros() / 8) as usize
}

/// The first empty slot (`EMPTY_REST` or `EMPTY_ONE`) of a bucket with
/// tophash word `word`, given `rest = match_byte(word, EMPTY_REST)`.
#[inline]
fn first_empty(word: u64, rest: Matches) -> Option<usize> {
    let empty = rest.or(match_byte(word, EMPTY_ONE));
    empty.any().then(|| empty.lowest())
}

/// Go's `maxAlloc` on 64-bit Linux (2^48 bytes), or the address space's
/// limit on smaller targets.
const MAX_ALLOC: usize = if usize::BITS >= 64 {
    1 << 48
} else {
    isize::MAX as usize
};

/// Go's `makemap` test: whether `hint` buckets' worth of memory (a
/// conservative bound, as in Go: one bucket per entry) can be allocated.
pub(crate) fn hint_fits<K, V>(hint: usize) -> bool {
    let bucket = mem::size_of::<Slots<K, V>>() + BUCKET_SLOTS + mem::size_of::<Link<K, V>>();
    hint.checked_mul(bucket)
        .is_some_and(|bytes| bytes <= MAX_ALLOC)
}

/// The keys and values of one bucket: Go's `bmap` less its tophash bytes
/// and overflow link, which live apart — in [`BucketArray`]'s side arrays
/// for a main bucket, inline in the enclosing [`Overflow`] for an overflow
/// bucket. `#[repr(C)]` keeps keys and values apart, as Go does, so
/// `(u64, u8)` entries need no padding.
///
/// NOTE: Go 1.19's `bmap` ends with its overflow pointer; ours is in a side
/// array for a main bucket (see [`BucketArray`]), so that a bucket of `u64`
/// keys and values is 128 bytes, not 136: finding a bucket's slots is one
/// shift, not a shift and two adds, on every lookup.
///
/// A `Slots` alone does not know which of its slots are occupied, so it
/// never reads or drops its keys and values itself: its owner
/// ([`BucketArray`] or [`Overflow`]) does, through a [`BucketMut`] that
/// pairs it with its tophash bytes. Every bit pattern is a valid `Slots`
/// (it is all `MaybeUninit`), so an array of them needs no initializing.
#[repr(C)]
struct Slots<K, V> {
    keys: [MaybeUninit<K>; BUCKET_SLOTS],
    values: [MaybeUninit<V>; BUCKET_SLOTS],
}

/// A bucket's link to the next bucket of its chain: null at the chain's
/// end, else a pointer to an [`Overflow`] that is either one of its array's
/// preallocated spares ([`Spares`]; tag bit clear), owned by the array, or
/// a heap allocation of its own (a `Box` the link owns; tag bit
/// [`HEAP`] set).
///
/// A tagged raw pointer rather than `Option<Box<_>>` because a spare is
/// not the link's to free. All-zero bytes are a valid link (null), so
/// zeroed memory is still an array of empty buckets.
#[repr(transparent)]
struct Link<K, V>(*mut Overflow<K, V>);

/// The tag bit of a [`Link`] to a heap-allocated overflow bucket (an
/// `Overflow` is pointer-aligned, so the bit is free).
const HEAP: usize = 1;

// SAFETY: a link stands for the overflow bucket it points to, which only
// its chain reaches (a heap bucket is the link's own, a spare is handed out
// once by its array), so sending or sharing a link sends or shares the `K`s
// and `V`s in that bucket, as `Box<Overflow<K, V>>` would.
unsafe impl<K: Send, V: Send> Send for Link<K, V> {}
// SAFETY: as for `Send`.
unsafe impl<K: Sync, V: Sync> Sync for Link<K, V> {}

impl<K, V> Link<K, V> {
    const NONE: Self = Link(ptr::null_mut());

    /// A link owning `bucket`.
    fn heap(bucket: Box<Overflow<K, V>>) -> Self {
        const { assert!(mem::align_of::<Overflow<K, V>>() > HEAP) };
        Link(Box::into_raw(bucket).map_addr(|a| a | HEAP))
    }

    /// The next bucket, untagged, or `None` at the chain's end.
    #[inline(always)]
    fn get(&self) -> Option<NonNull<Overflow<K, V>>> {
        NonNull::new(self.0.map_addr(|a| a & !HEAP))
    }

    /// Whether the link owns its bucket (a heap one) rather than pointing
    /// at a spare of its array.
    fn is_heap(&self) -> bool {
        self.0.addr() & HEAP != 0
    }

    /// The link, leaving the chain's end in its place.
    fn take(&mut self) -> Self {
        mem::replace(self, Link::NONE)
    }
}

/// An overflow bucket: its tophash bytes and link inline, as in Go's
/// `bmap` (overflow buckets are rare, so they need no side arrays).
#[repr(C)]
struct Overflow<K, V> {
    tophash: [u8; BUCKET_SLOTS],
    link: Link<K, V>,
    slots: Slots<K, V>,
}

impl<K, V> Overflow<K, V> {
    fn new() -> Self {
        Overflow {
            tophash: [EMPTY_REST; BUCKET_SLOTS],
            link: Link::NONE,
            slots: Slots {
                keys: [const { MaybeUninit::uninit() }; BUCKET_SLOTS],
                values: [const { MaybeUninit::uninit() }; BUCKET_SLOTS],
            },
        }
    }

    fn pair(&mut self) -> BucketMut<'_, K, V> {
        BucketMut {
            tophash: &mut self.tophash,
            link: &mut self.link,
            slots: &mut self.slots,
        }
    }
}

impl<K, V> Drop for Overflow<K, V> {
    fn drop(&mut self) {
        let mut b = self.pair();
        b.drop_entries();
        b.free_overflow();
    }
}

/// An array of 2^B main buckets: their tophash bytes in one dense array,
/// eight bytes per bucket, their overflow links in a second and their keys
/// and values in a third, all of the same length.
///
/// NOTE: Go 1.19 keeps tophash inside each bmap; we keep the main buckets'
/// tophash bytes in a dense side array (like SwissTable's control bytes)
/// because at 65,536 `u64` keys the buckets span 2.2 MB, more than L2, so
/// every lookup missed the cache on its bucket's tophash word, and a miss
/// paid that for nothing; the side array is 128 KB (8 bytes a bucket) and
/// stays in L2. A lookup that matches no tophash byte and finds an
/// `emptyRest` now touches no bucket memory. Measured with
/// `benches/gomap.rs` (3 runs, medians, 2-core shared VM), with the
/// prefetch of [`BucketArray::head`]: get miss 5.1 → 4.1 ns, get hit 5.5 →
/// 5.1 ns, insert new 12.7 → 9.8 ns, overwrite 6.6 → 5.9 ns.
pub(crate) struct BucketArray<K, V> {
    /// `tophash[i]` holds the tophash bytes of `slots[i]` and `links[i]`
    /// its overflow link. The three boxes have the same length, fixed at
    /// construction.
    tophash: Box<[[u8; BUCKET_SLOTS]]>,
    links: Box<[Link<K, V>]>,
    slots: Box<[Slots<K, V>]>,
    /// The overflow buckets allocated with the array.
    spares: Spares<K, V>,
}

/// An array's preallocated overflow buckets (Go's `nextOverflow`): room
/// for 2^(B−4) [`Overflow`]s made with an array of 2^B ≥ 16 buckets and
/// handed out in order to the first chains that fill up, so most overflow buckets
/// cost no allocation of their own; a chain that fills after they are gone
/// gets a heap bucket.
///
/// NOTE: Go 1.19's `makeBucketArray` puts the spares at the end of the
/// bucket array's own allocation; ours are a second allocation made with
/// the array, because the main buckets' tophash bytes live in a side array
/// (see [`BucketArray`]) while an overflow bucket keeps them inline, so the
/// two kinds of bucket are not one type here.
///
/// A spare handed out belongs to the chain that links it and is not handed
/// out again: a chain that drops it (evacuation, [`BucketArray::clear`])
/// leaves it dead until `reset` or the array's end, as Go leaves it to its
/// garbage collector. Spares are reached only through raw pointers (each
/// becomes a reference only as one bucket of one chain), never as a slice.
pub(crate) struct Spares<K, V> {
    /// The memory of `len` `Overflow`s (the allocation's own pointer),
    /// uninitialized until handed out; null when `len` is 0.
    ///
    /// A raw pointer, not a `RawAlloc`: `Layout` has a niche that
    /// `Option<BucketArray>` would use, and testing `old` (is a growth in
    /// progress?) on every lookup would then compare against a 64-bit
    /// constant instead of testing a pointer for null.
    base: *mut Overflow<K, V>,
    len: usize,
    /// Spares `..next` have been handed out.
    next: usize,
    /// The spares' entries are dropped through their chains, not by
    /// `Spares`, but the array owns them.
    _owns: PhantomData<Overflow<K, V>>,
}

// SAFETY: `Spares` owns memory holding `K`s and `V`s (as a `Box` of
// buckets would) and hands out its buckets only through `&mut self`.
unsafe impl<K: Send, V: Send> Send for Spares<K, V> {}
// SAFETY: nothing is read or written through a `&Spares`.
unsafe impl<K: Sync, V: Sync> Sync for Spares<K, V> {}

impl<K, V> Spares<K, V> {
    /// Room for `len` spares.
    ///
    /// Not zeroed: `take` makes each spare an empty bucket as it hands it
    /// out (tophash bytes and link, 16 bytes), so the ones no chain needs
    /// cost nothing. Zeroed, every growth paid for clearing all of them
    /// (an eighth as many bytes as the new array's slots), and the spares
    /// made inserting 65,536 keys into an empty map slower, not faster
    /// (`examples/nsop.rs`, Intel VM, medians of 6 alternated runs: std's
    /// time over GoMap's 0.595 without spares, 0.545 with zeroed ones; with
    /// these, 0.540 → 0.555, `benchsuite/runs/2026-12-02-vm15`).
    ///
    /// NOTE: Go 1.19 allocates its spares zeroed with the array (its
    /// allocator hands out cleared memory); we initialize each one's
    /// tophash bytes and link as we hand it out, which gives the same
    /// empty bucket.
    fn new(len: usize) -> Self {
        let base = match Self::layout(len) {
            None => ptr::null_mut(),
            Some(layout) => {
                // SAFETY: `layout` has non-zero size (see `layout`).
                let raw = unsafe { alloc::alloc(layout) };
                if raw.is_null() {
                    alloc::handle_alloc_error(layout)
                }
                raw.cast()
            }
        };
        Spares {
            base,
            len,
            next: 0,
            _owns: PhantomData,
        }
    }

    /// The layout of `len` spares; `None` for none (nothing allocated).
    fn layout(len: usize) -> Option<Layout> {
        // Non-zero size when len > 0: an `Overflow` holds at least its link.
        (len > 0).then(|| Layout::array::<Overflow<K, V>>(len).expect("overflow buckets too large"))
    }

    /// The next unused spare, if any is left, made an empty bucket
    /// (tophash bytes `EMPTY_REST`, null link) that nothing references.
    #[inline]
    fn take(&mut self) -> Option<NonNull<Overflow<K, V>>> {
        if self.next == self.len {
            return None;
        }
        // SAFETY: 1. `next < len`, so `base` is an allocation of `len`
        // spares (not null) and the offset stays inside it; 2. spare
        // `next` has not been handed out since the allocation or the last
        // `reset`, so nothing references it; 3. the two writes initialize
        // every field that is not `MaybeUninit` (keys and values may stay
        // uninitialized: the tophash bytes say every slot is empty), so it
        // is a valid, empty `Overflow`; they overwrite no live value (any
        // earlier one's entries were dropped with its chain).
        let spare = unsafe {
            let spare = self.base.add(self.next);
            (&raw mut (*spare).tophash).write([EMPTY_REST; BUCKET_SLOTS]);
            (&raw mut (*spare).link).write(Link::NONE);
            NonNull::new_unchecked(spare)
        };
        self.next += 1;
        Some(spare)
    }

    /// Makes every spare unused again. Only for an array none of whose
    /// chains links a spare any more, their entries dropped
    /// ([`BucketArray::clear`]); `take` empties each again as it hands it
    /// out.
    fn reset(&mut self) {
        self.next = 0;
    }

    /// The spares' memory, which holds no value any more, for the
    /// reclaimer; the spares are left empty (none allocated).
    fn take_memory(&mut self) -> Option<RawAlloc> {
        let layout = Self::layout(self.len)?;
        let ptr = NonNull::new(self.base)?.cast();
        // Field by field: assigning a whole `Spares` would drop this one.
        (self.base, self.len, self.next) = (ptr::null_mut(), 0, 0);
        Some(RawAlloc { ptr, layout })
    }
}

impl<K, V> Drop for Spares<K, V> {
    fn drop(&mut self) {
        // Frees the memory only: the spares' entries were dropped with
        // their chains (`BucketArray`'s drop runs first).
        drop(self.take_memory());
    }
}

/// One bucket, shared: its tophash bytes, the slots they describe and its
/// overflow link.
pub(crate) struct BucketRef<'a, K, V> {
    tophash: &'a [u8; BUCKET_SLOTS],
    link: &'a Link<K, V>,
    slots: &'a Slots<K, V>,
}

impl<K, V> Clone for BucketRef<'_, K, V> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<K, V> Copy for BucketRef<'_, K, V> {}

/// One bucket, mutable: its tophash bytes, the slots they describe and
/// its overflow link.
pub(crate) struct BucketMut<'a, K, V> {
    tophash: &'a mut [u8; BUCKET_SLOTS],
    link: &'a mut Link<K, V>,
    slots: &'a mut Slots<K, V>,
}

/// Where a key is in one bucket chain, if it is there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Probe {
    /// The key is in the chain's `depth`-th bucket (0 = head), slot `slot`.
    Found { depth: usize, slot: usize },
    /// The key is absent.
    Absent,
}

/// [`BucketMut::probe_mut`]'s answer: the key's value, or where it goes.
pub(crate) enum ProbeMut<'a, K, V> {
    /// The key is present; its value.
    Found(&'a mut V),
    /// The key is absent; where an insert puts it.
    Absent(InsertSlot<'a, K, V>),
}

/// Where an absent key goes in its chain (Go's `mapassign` keeps it as
/// `inserti` / `insertk` / `elem`): the chain's first empty slot, or, when
/// the chain has none, a new overflow bucket after its last bucket.
pub(crate) struct InsertSlot<'a, K, V> {
    /// The bucket holding the empty slot, or the chain's last bucket.
    bucket: BucketMut<'a, K, V>,
    /// The empty slot of `bucket`; `None` when the chain is full.
    slot: Option<usize>,
    /// The spares of the chain's array, for a full chain.
    spares: &'a mut Spares<K, V>,
}

impl<K, V> InsertSlot<'_, K, V> {
    /// Stores the entry (tophash `top`) there, hanging a new overflow
    /// bucket off the chain first if it is full. Returns whether it did
    /// (the caller counts overflow buckets).
    ///
    /// # Panics
    /// If `top < MIN_TOPHASH` (see [`BucketMut::put`]).
    #[inline]
    pub(crate) fn put(self, top: u8, key: K, value: V) -> bool {
        let mut b = self.bucket;
        match self.slot {
            Some(i) => {
                b.put(i, top, key, value);
                false
            }
            None => {
                b.push_overflow(self.spares).put(0, top, key, value);
                true
            }
        }
    }
}

/// Where evacuation puts one old chain's entries: the next free slot of
/// each destination chain, X (same index) and, when doubling, Y (index +
/// old length), with the spares of their array for when one fills up. A
/// destination chain is always empty when its old bucket is evacuated
/// (every write evacuates the old bucket it maps to before touching the
/// new one), so entries are appended in order.
pub(crate) struct EvacuationTargets<'a, K, V> {
    /// Per half: the bucket being filled (`None` for Y in a same-size
    /// growth) and its next free slot.
    dst: [(Option<BucketMut<'a, K, V>>, usize); 2],
    spares: &'a mut Spares<K, V>,
}

impl<K, V> EvacuationTargets<'_, K, V> {
    /// Appends an entry to half `y` (0 = X, 1 = Y), hanging an overflow
    /// bucket off the chain first if its last bucket is full. Returns
    /// whether it did (the caller counts overflow buckets).
    ///
    /// # Panics
    /// If half `y` has no bucket (Y in a same-size growth), or `top <
    /// MIN_TOPHASH`.
    #[inline]
    pub(crate) fn push(&mut self, y: usize, top: u8, key: K, value: V) -> bool {
        let (bucket, slot) = &mut self.dst[y];
        let overflowed = *slot == BUCKET_SLOTS;
        if overflowed {
            let full = bucket.take().expect("evacuation destination missing");
            *bucket = Some(full.push_overflow(self.spares));
            *slot = 0;
        }
        // Put through the reference: moving the bucket out and back for
        // every entry copied its three pointers through the stack each time.
        let b = bucket.as_mut().expect("evacuation destination missing");
        b.put(*slot, top, key, value);
        *slot += 1;
        overflowed
    }

    /// Moves every entry of `src`, one bucket of the chain being evacuated,
    /// to the targets: the entry in slot `i` to half Y when bit `i` of `ys`
    /// is set, else to X. Marks each slot of `src` `EVACUATED_X`,
    /// `EVACUATED_Y` or `EVACUATED_EMPTY`, and returns how many overflow
    /// buckets it hung off the targets (the caller counts them).
    ///
    /// Why a bucket at a time and not [`EvacuationTargets::push`] per entry:
    /// when both targets are still empty, as they always are for a chain's
    /// head bucket, each has room for all of `src`'s entries, so no entry
    /// needs the overflow test, the source's markers are one 8-byte store,
    /// and only occupied slots are visited. Measured with callgrind
    /// (instructions, which do not depend on the host's noise) inserting
    /// 65,536 `u64` keys into an empty map twice: `evacuate` 21.8M → 17.4M
    /// instructions with the head's Y bits kept apart (see `YBits`), the
    /// whole insert 217 → 184 per key (std's `HashMap`: 148). The time
    /// moved less, the evacuation being bound by its cache misses: std's
    /// time over GoMap's in `examples/nsop.rs` 0.66 → 0.665 (medians of 6
    /// alternated runs, 2-vCPU AMD VM, `benchsuite/runs/2026-12-03-vm23d`).
    ///
    /// NOTE: Go 1.19's `evacuate` moves a bucket entry by entry, testing
    /// for a full destination each time; the entries end up in the same
    /// slots either way.
    ///
    /// # Panics
    /// If an entry would go to Y in a same-size growth (there is no Y);
    /// `src` is untouched then. (A debug build also checks that `src` holds
    /// no marker of an earlier evacuation.)
    #[inline]
    pub(crate) fn move_bucket(&mut self, src: &mut BucketMut<'_, K, V>, ys: u8) -> usize {
        let tops = *src.tophash;
        debug_assert!(
            tops.iter().all(|t| !(EVACUATED_X..MIN_TOPHASH).contains(t)),
            "bad map state: half-evacuated bucket"
        );
        let occupied = occupied_slots(u64::from_le_bytes(tops));
        let ys = ys & occupied;
        assert!(
            ys == 0 || self.dst[1].0.is_some(),
            "evacuation destination missing"
        );
        // Every slot is marked before anything moves, so each entry read
        // below is moved out exactly once; were a move to panic, the entries
        // not yet moved would leak, never be dropped twice. An occupied
        // slot's marker is EVACUATED_X plus its half bit, an empty one's
        // EVACUATED_EMPTY: one byte arithmetic over the word (no byte
        // borrows, each starts at EVACUATED_EMPTY = 4).
        const _: () = assert!(EVACUATED_X + 1 == EVACUATED_Y && EVACUATED_EMPTY == 4);
        let markers = LO * u64::from(EVACUATED_EMPTY)
            - spread(occupied) * u64::from(EVACUATED_EMPTY - EVACUATED_X)
            + spread(ys);
        *src.tophash = markers.to_le_bytes();
        let [(x, xn), (y, yn)] = &mut self.dst;
        if *xn == 0 && *yn == 0 {
            // Both targets empty (`src` heads its chain), so each has room
            // for all of `src`'s entries: one plain pass per half.
            let x = x.as_mut().expect("evacuation destination missing");
            // SAFETY: the slots of `occupied` were occupied and are now
            // marked (above), and each is moved by exactly one of the two
            // calls (`ys` is a subset of `occupied`).
            unsafe { src.move_marked(occupied & !ys, &tops, x, xn) };
            if let Some(y) = y {
                // SAFETY: as above.
                unsafe { src.move_marked(ys, &tops, y, yn) };
            }
            return 0;
        }
        let mut added = 0;
        let mut rest = occupied;
        while rest != 0 {
            let i = rest.trailing_zeros() as usize;
            rest &= rest - 1;
            // SAFETY: slot `i` was occupied and is now marked (above); the
            // loop visits it once.
            let (key, value) = unsafe { src.read_marked(i) };
            let half = usize::from(ys & (1 << i) != 0);
            added += usize::from(self.push(half, tops[i], key, value));
        }
        added
    }
}

/// The occupied slots of a bucket with tophash word `word` (bytes at or
/// above `MIN_TOPHASH`), bit `i` for slot `i`.
#[inline]
fn occupied_slots(word: u64) -> u8 {
    const HI: u64 = !LOW7;
    // A byte below 0x80 plus 0x80 − MIN_TOPHASH reaches 0x80 exactly when
    // it is at least MIN_TOPHASH, and cannot carry into the next byte.
    let at_least = ((word & LOW7) + LO * u64::from(0x80 - MIN_TOPHASH)) | word;
    // One bit per byte, at its low end, gathered into the top byte.
    (((at_least & HI) >> 7).wrapping_mul(0x0102_0408_1020_4080) >> 56) as u8
}

/// Bit `i` of `bits` as the low bit of byte `i` (the inverse of the
/// gathering in [`occupied_slots`]).
#[inline]
fn spread(bits: u8) -> u64 {
    // Seven copies of the low seven bits, 7 apart, so none overlap: bit `i`
    // of copy `i` lands on bit 8i. Bit 7 goes separately.
    ((u64::from(bits & 0x7f) * 0x0408_1020_4081) & LO) | (u64::from(bits >> 7) << 56)
}

/// The slot of bucket `slots` (not its chain) holding `key`, given the
/// bucket's tophash word and the key's tophash `top`, which must be
/// `>= MIN_TOPHASH` (the chain walks below assert it), and `word` must be
/// the tophash word of `slots`.
///
/// This is the inner loop of every lookup, so it reads the matched key
/// without checking its slot again: `match_byte` is exact, so a match on
/// `top` names a slot whose tophash is `top`, an occupied one.
#[inline(always)]
fn slot_of<K, V, Q>(slots: &Slots<K, V>, word: u64, top: u8, key: &Q) -> Option<usize>
where
    K: Borrow<Q>,
    Q: Eq + ?Sized,
{
    debug_assert!(top >= MIN_TOPHASH);
    let mut matches = match_byte(word, top);
    while matches.any() {
        let i = matches.lowest();
        // SAFETY: 1. `matches.any()`, so its lowest slot is one of the
        // eight and `i < BUCKET_SLOTS`; 2. `match_byte` is
        // exact, so byte `i` of `word` — the tophash of slot `i` of
        // `slots`, as every caller passes the word of the bucket's own
        // tophash bytes — is `top >= MIN_TOPHASH`, and by the slot
        // invariant `keys[i]` is initialized.
        let k = unsafe { slots.keys.get_unchecked(i).assume_init_ref() };
        if k.borrow() == key {
            return Some(i);
        }
        matches = matches.without_lowest();
    }
    None
}

impl<'a, K, V> BucketRef<'a, K, V> {
    /// The tophash byte (or marker) of slot `i`.
    #[inline]
    pub(crate) fn tophash(self, i: usize) -> u8 {
        self.tophash[i]
    }

    #[inline]
    fn word(self) -> u64 {
        u64::from_le_bytes(*self.tophash)
    }

    /// The entry in slot `i`, if the slot is occupied.
    #[inline]
    pub(crate) fn entry(self, i: usize) -> Option<(&'a K, &'a V)> {
        if self.tophash[i] < MIN_TOPHASH {
            return None;
        }
        // SAFETY: `self.tophash` holds the tophash bytes of `self.slots`
        // (every `BucketRef` is built from such a pair) and tophash[i] >=
        // MIN_TOPHASH, so by the slot invariant both keys[i] and values[i]
        // are initialized.
        unsafe {
            Some((
                self.slots.keys[i].assume_init_ref(),
                self.slots.values[i].assume_init_ref(),
            ))
        }
    }

    /// The next bucket of the chain.
    #[inline]
    pub(crate) fn overflow(self) -> Option<BucketRef<'a, K, V>> {
        self.link.get().map(|o| {
            // SAFETY: a non-null link points to a live overflow bucket of
            // this chain (its own heap allocation, or a spare of the array
            // the chain belongs to), which lives as long as the chain, and
            // the chain is borrowed shared for `'a`.
            let o = unsafe { o.as_ref() };
            BucketRef {
                tophash: &o.tophash,
                link: &o.link,
                slots: &o.slots,
            }
        })
    }

    /// Looks for `key` (with tophash `top`) in the chain starting here.
    ///
    /// # Panics
    /// If `top < MIN_TOPHASH` (a marker would match empty slots).
    #[inline]
    pub(crate) fn find<Q>(self, top: u8, key: &Q) -> Option<(&'a K, &'a V)>
    where
        K: Borrow<Q>,
        Q: Eq + ?Sized,
    {
        // Free when `top` comes from `tophash()`: the compiler sees the range.
        assert!(top >= MIN_TOPHASH, "tophash in marker range");
        // The head is searched before the loop, so that its link's address
        // is computed only when the chain goes on: a loop over `BucketRef`s
        // carries all three of their pointers, and the head's link then
        // cost an instruction on every lookup.
        if let ControlFlow::Break(found) = self.search(top, key) {
            return found;
        }
        let mut b = self.overflow()?;
        loop {
            if let ControlFlow::Break(found) = b.search(top, key) {
                return found;
            }
            b = b.overflow()?;
        }
    }

    /// Looks for `key` (tophash `top >= MIN_TOPHASH`) in this bucket alone:
    /// `Break` with the entry when it is here, or with `None` when the
    /// chain ends here without it; `Continue` when it may be further on.
    #[inline(always)]
    fn search<Q>(self, top: u8, key: &Q) -> ControlFlow<Option<(&'a K, &'a V)>>
    where
        K: Borrow<Q>,
        Q: Eq + ?Sized,
    {
        let word = self.word();
        if let Some(i) = slot_of(self.slots, word, top, key) {
            // SAFETY: `slot_of` returned `i` for the word of this bucket's
            // own tophash bytes, so `i < BUCKET_SLOTS` and slot `i` is
            // occupied: `keys[i]` and `values[i]` are initialized (the slot
            // invariant).
            return ControlFlow::Break(unsafe {
                Some((
                    self.slots.keys.get_unchecked(i).assume_init_ref(),
                    self.slots.values.get_unchecked(i).assume_init_ref(),
                ))
            });
        }
        // An EMPTY_REST slot means nothing follows in this chain. For a
        // main bucket this test reads only the side array: a miss in a
        // bucket with room touches no slot memory.
        // NOTE: Go 1.19 walks the slots one by one and stops at the first
        // emptyRest; we compare all eight tophash bytes at once (`match_byte`),
        // which gives the same answer because no entry sits after an
        // emptyRest slot.
        if match_byte(word, EMPTY_REST).any() {
            return ControlFlow::Break(None);
        }
        ControlFlow::Continue(())
    }

    /// Where `key` is in the chain starting here, if it is there.
    ///
    /// # Panics
    /// If `top < MIN_TOPHASH` (see [`BucketRef::find`]).
    pub(crate) fn probe<Q>(self, top: u8, key: &Q) -> Probe
    where
        K: Borrow<Q>,
        Q: Eq + ?Sized,
    {
        assert!(top >= MIN_TOPHASH, "tophash in marker range");
        let mut b = self;
        let mut depth = 0;
        loop {
            let word = b.word();
            if let Some(slot) = slot_of(b.slots, word, top, key) {
                return Probe::Found { depth, slot };
            }
            match b.overflow() {
                Some(next) if !match_byte(word, EMPTY_REST).any() => {
                    b = next;
                    depth += 1;
                }
                _ => return Probe::Absent,
            }
        }
    }
}

/// Whether a bucket with these tophash bytes has been evacuated.
/// Evacuation marks every slot, so looking at slot 0 is enough.
#[inline]
fn evacuated(tophash: &[u8; BUCKET_SLOTS]) -> bool {
    let h = tophash[0];
    h > EMPTY_ONE && h < MIN_TOPHASH
}

impl<'a, K, V> BucketMut<'a, K, V> {
    /// This bucket, shared, for a shorter borrow.
    #[inline]
    pub(crate) fn as_ref(&self) -> BucketRef<'_, K, V> {
        BucketRef {
            tophash: self.tophash,
            link: self.link,
            slots: self.slots,
        }
    }

    /// This bucket, mutable, for a shorter borrow.
    #[inline]
    pub(crate) fn reborrow(&mut self) -> BucketMut<'_, K, V> {
        BucketMut {
            tophash: self.tophash,
            link: self.link,
            slots: self.slots,
        }
    }

    /// Stores an entry with tophash `top` in slot `i`, which must be empty
    /// (an occupied slot's old entry would be leaked, never dropped).
    ///
    /// # Panics
    /// If `top < MIN_TOPHASH`: the entry would be invisible and leaked.
    #[inline]
    pub(crate) fn put(&mut self, i: usize, top: u8, key: K, value: V) {
        assert!(top >= MIN_TOPHASH, "tophash in marker range");
        debug_assert!(self.tophash[i] < MIN_TOPHASH, "overwriting an entry");
        self.slots.keys[i].write(key);
        self.slots.values[i].write(value);
        self.tophash[i] = top;
    }

    /// Moves the entry out of slot `i`, if occupied, leaving `marker`.
    ///
    /// # Panics
    /// If `marker >= MIN_TOPHASH`: that would claim the now uninitialized
    /// slot holds an entry.
    #[inline]
    pub(crate) fn take(&mut self, i: usize, marker: u8) -> Option<(K, V)> {
        assert!(marker < MIN_TOPHASH, "tophash marker out of range");
        if self.tophash[i] < MIN_TOPHASH {
            return None;
        }
        self.tophash[i] = marker;
        // SAFETY: 1. the slot was occupied (checked above on this bucket's
        // own tophash bytes), so keys[i] and values[i] are initialized;
        // 2. its tophash is now a marker, so the slot counts as
        // uninitialized and these values are never read or dropped again:
        // ownership moves to the caller exactly once.
        unsafe {
            Some((
                self.slots.keys[i].assume_init_read(),
                self.slots.values[i].assume_init_read(),
            ))
        }
    }

    /// Moves the entry out of slot `i`, which evacuation has just marked.
    ///
    /// # Safety
    /// Slot `i` held an entry until its tophash byte was overwritten with a
    /// marker, and nothing has read it out since: its key and value are
    /// initialized, and the marker says the slot is empty, so they are read
    /// here exactly once.
    #[inline]
    unsafe fn read_marked(&mut self, i: usize) -> (K, V) {
        debug_assert!(self.tophash[i] < MIN_TOPHASH, "slot not marked");
        // SAFETY: the caller's promise: initialized, and read only here.
        unsafe {
            (
                self.slots.keys[i].assume_init_read(),
                self.slots.values[i].assume_init_read(),
            )
        }
    }

    /// Moves the entries of `slots` (bit `i` for slot `i`), which
    /// evacuation has just marked, in slot order into `dst` from its slot
    /// `*n` on, with their tophash bytes from `tops` (this bucket's bytes
    /// before marking), advancing `*n`. `dst` must have room for them all.
    ///
    /// # Safety
    /// As [`BucketMut::read_marked`], for every slot of `slots`.
    #[inline]
    unsafe fn move_marked(
        &mut self,
        slots: u8,
        tops: &[u8; BUCKET_SLOTS],
        dst: &mut BucketMut<'_, K, V>,
        n: &mut usize,
    ) {
        let mut rest = slots;
        while rest != 0 {
            let i = rest.trailing_zeros() as usize;
            rest &= rest - 1;
            // SAFETY: the caller's promise, for slot `i` of `slots`.
            let (key, value) = unsafe { self.read_marked(i) };
            dst.put(*n, tops[i], key, value);
            *n += 1;
        }
    }

    /// The next bucket of the chain, mutably.
    #[inline]
    pub(crate) fn overflow_mut(self) -> Option<BucketMut<'a, K, V>> {
        self.link.get().map(|mut o| {
            // SAFETY: as in `BucketRef::overflow`, with the chain borrowed
            // uniquely for `'a`; the next bucket is reached only through
            // this link, so the reference is unique.
            unsafe { o.as_mut() }.pair()
        })
    }

    /// Hangs an empty overflow bucket off this one (which must be the last
    /// of its chain) — the next of `spares`, else a new heap bucket (Go's
    /// `newoverflow`) — and returns it.
    ///
    /// `spares` must be the spares of the array whose chain this bucket is
    /// in: a spare lives only as long as its array. Private to this file,
    /// whose callers take both from one array
    /// (`BucketArray::head_and_spares`, [`BucketArray::evacuation_targets`]).
    fn push_overflow(self, spares: &mut Spares<K, V>) -> BucketMut<'a, K, V> {
        debug_assert!(self.link.get().is_none(), "overflow pushed mid-chain");
        *self.link = match spares.take() {
            Some(spare) => Link(spare.as_ptr()),
            None => Link::heap(Box::new(Overflow::new())),
        };
        let mut o = self.link.get().expect("just linked");
        // SAFETY: `o` is the bucket just linked: a fresh heap bucket, or a
        // spare handed out once and never referenced before, empty and
        // valid either way. It lives as long as the chain: the heap bucket
        // is the link's, the spare its array's, and the array — the one
        // this chain is in, as the caller guarantees — is borrowed through
        // this chain for `'a`, so it is neither freed nor reset meanwhile.
        unsafe { o.as_mut() }.pair()
    }

    /// The `depth`-th bucket of the chain starting here (0 = this one).
    pub(crate) fn nth(self, depth: usize) -> BucketMut<'a, K, V> {
        let mut b = self;
        for _ in 0..depth {
            b = b.overflow_mut().expect("chain shorter than depth");
        }
        b
    }

    /// Frees the overflow chain hanging off this bucket (its entries are
    /// dropped) and returns how many buckets it held.
    #[inline]
    pub(crate) fn free_overflow(&mut self) -> usize {
        // Most buckets have no chain: keep that test inline for evacuation.
        if self.link.get().is_none() {
            return 0;
        }
        self.free_chain()
    }

    /// [`BucketMut::free_overflow`] of a bucket with a chain.
    #[inline(never)]
    fn free_chain(&mut self) -> usize {
        let mut freed = 0;
        let mut link = self.link.take();
        while let Some(mut o) = link.get() {
            // SAFETY: as in `overflow_mut`: a live bucket of this chain,
            // borrowed uniquely through `self`; the reference ends before
            // the bucket is freed below.
            let bucket = unsafe { o.as_mut() };
            // Unlink before the bucket drops, so a long chain never recurses.
            let next = bucket.link.take();
            if link.is_heap() {
                // SAFETY: a heap link owns its bucket, which came from
                // `Box::into_raw`; it was just unlinked, so it is freed once.
                drop(unsafe { Box::from_raw(o.as_ptr()) });
            } else {
                // A spare: its array frees the memory; drop its entries now.
                bucket.pair().drop_entries();
            }
            link = next;
            freed += 1;
        }
        freed
    }

    /// Drops every entry of this bucket and its chain, frees the chain and
    /// leaves the bucket empty. Returns the overflow buckets freed.
    pub(crate) fn clear(&mut self) -> usize {
        self.drop_entries();
        *self.tophash = [EMPTY_REST; BUCKET_SLOTS];
        self.free_overflow()
    }

    fn drop_entries(&mut self) {
        if !mem::needs_drop::<K>() && !mem::needs_drop::<V>() {
            return;
        }
        for i in 0..BUCKET_SLOTS {
            drop(self.take(i, EMPTY_ONE));
        }
    }

    /// Looks for `key` (tophash `top`) in the chain starting here, in one
    /// walk: a found key comes back as its value, mutable; an absent one as
    /// the [`InsertSlot`] an insert puts it in, so a write walks the chain
    /// once, as Go's `mapassign` does.
    ///
    /// `spares` must be those of the chain's array (see `push_overflow`).
    ///
    /// # Panics
    /// If `top < MIN_TOPHASH` (see [`BucketRef::find`]).
    #[inline(always)]
    fn probe_mut<Q>(self, spares: &'a mut Spares<K, V>, top: u8, key: &Q) -> ProbeMut<'a, K, V>
    where
        K: Borrow<Q>,
        Q: Eq + ?Sized,
    {
        assert!(top >= MIN_TOPHASH, "tophash in marker range");
        // The walk holds raw pointers to the bucket it is in and to the one
        // with the chain's first empty slot, as Go's `mapassign` holds
        // `b` and `insertb`: two `&mut` into one chain, where the later
        // bucket is reached through the earlier one, cannot coexist.
        // Every pointer below comes from `self`, which borrows the whole
        // chain uniquely for `'a`; through them the walk reads tophash
        // words, keys and overflow links and writes nothing, and it turns
        // exactly one of them back into a reference it returns.
        type Ptrs<K, V> = (*mut [u8; BUCKET_SLOTS], *mut Link<K, V>, *mut Slots<K, V>);
        let mut b: Ptrs<K, V> = (self.tophash, self.link, self.slots);
        let mut vacant: Option<(Ptrs<K, V>, usize)> = None;
        loop {
            // SAFETY: `b` points to a live bucket of the chain `self`
            // borrows uniquely (the head, or an overflow bucket reached
            // through the links below); no reference into the chain is live.
            let (word, slots) = unsafe { (u64::from_le_bytes(*b.0), &*b.2) };
            if let Some(i) = slot_of(slots, word, top, key) {
                // SAFETY: 1. as above, `b.2` is a live bucket of the chain
                // borrowed uniquely for `'a`, and the returned reference is
                // the only one made from the walk's pointers; 2. `slot_of`
                // returned `i` for the word of this bucket's own tophash
                // bytes, so `i < BUCKET_SLOTS` and `values[i]` is
                // initialized (the slot invariant).
                return ProbeMut::Found(unsafe {
                    (*b.2).values.get_unchecked_mut(i).assume_init_mut()
                });
            }
            let rest = match_byte(word, EMPTY_REST);
            if vacant.is_none() {
                vacant = first_empty(word, rest).map(|slot| (b, slot));
            }
            // An EMPTY_REST slot ends the chain (see `BucketRef::find`).
            let next = if !rest.any() {
                // SAFETY: as above; the shared reference covers only this
                // bucket's overflow link and ends with this statement,
                // leaving raw pointers to the next bucket's fields.
                unsafe { (*b.1).get() }.map(|o| -> Ptrs<K, V> {
                    let o = o.as_ptr();
                    // SAFETY: a non-null link points to a live bucket of
                    // the chain (see `BucketRef::overflow`); this takes
                    // its fields' addresses without reading them.
                    unsafe {
                        (
                            &raw mut (*o).tophash,
                            &raw mut (*o).link,
                            &raw mut (*o).slots,
                        )
                    }
                })
            } else {
                None
            };
            match next {
                Some(n) => b = n,
                None => {
                    let ((tophash, link, slots), slot) = match vacant {
                        Some((at, slot)) => (at, Some(slot)),
                        None => (b, None),
                    };
                    // SAFETY: the three are one bucket of the chain (its own
                    // tophash bytes, link and slots, as every `BucketMut`
                    // must be), live and borrowed uniquely for `'a`; they
                    // are the only references made from the walk's pointers.
                    let bucket = unsafe {
                        BucketMut {
                            tophash: &mut *tophash,
                            link: &mut *link,
                            slots: &mut *slots,
                        }
                    };
                    return ProbeMut::Absent(InsertSlot {
                        bucket,
                        slot,
                        spares,
                    });
                }
            }
        }
    }

    /// After slot `slot` of the chain's `depth`-th bucket became `EMPTY_ONE`,
    /// turns the run of empty slots that now ends the chain into
    /// `EMPTY_REST`, so later lookups stop early (Go's `mapdelete`).
    pub(crate) fn mark_empty_rest(&mut self, depth: usize, slot: usize) {
        let b = self.reborrow().nth(depth);
        let last_in_chain = if slot == BUCKET_SLOTS - 1 {
            b.as_ref()
                .overflow()
                .is_none_or(|o| o.tophash(0) == EMPTY_REST)
        } else {
            b.tophash[slot + 1] == EMPTY_REST
        };
        if !last_in_chain {
            return;
        }
        let (mut depth, mut slot) = (depth, slot);
        loop {
            // Walk down this bucket while the slots are EMPTY_ONE.
            let b = self.reborrow().nth(depth);
            loop {
                b.tophash[slot] = EMPTY_REST;
                if slot == 0 {
                    break;
                }
                slot -= 1;
                if b.tophash[slot] != EMPTY_ONE {
                    return;
                }
            }
            // Slot 0 done: continue at the last slot of the previous bucket.
            if depth == 0 {
                return;
            }
            depth -= 1;
            slot = BUCKET_SLOTS - 1;
            if self.reborrow().nth(depth).tophash[slot] != EMPTY_ONE {
                return;
            }
        }
    }
}

impl<K, V> BucketArray<K, V> {
    /// An array of `n` empty buckets: tophash bytes and links zeroed by the
    /// allocator, slots left uninitialized.
    ///
    /// Zeroed tophash bytes and links are empty buckets (`EMPTY_REST` is 0,
    /// a null link ends a chain), so a large array costs no initialization pass:
    /// fresh pages come zeroed from the OS and are touched only when
    /// written. This keeps the insert that starts a growth as cheap as Go's
    /// `hashGrow`.
    ///
    /// An array of 2^B ≥ 16 buckets also gets 2^(B−4) spare overflow
    /// buckets ([`Spares`]), as Go's `makeBucketArray` allocates them.
    pub(crate) fn zeroed(n: usize) -> Self {
        BucketArray {
            // `vec!` of zeros allocates with `alloc_zeroed`.
            tophash: vec![[EMPTY_REST; BUCKET_SLOTS]; n].into_boxed_slice(),
            links: zeroed_links(n),
            slots: uninit_slots(n),
            // 2^(B−4) for 2^B ≥ 16 buckets; none below (the division gives 0).
            spares: Spares::new(n / 16),
        }
    }

    /// Buckets in the array.
    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.slots.len()
    }

    /// Whether the array has no bucket.
    #[inline]
    pub(crate) fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// Bucket `i`. Panics if out of bounds.
    ///
    /// Also prefetches the bucket's first keys, so their cache miss overlaps
    /// the read of the tophash word instead of following it.
    ///
    /// NOTE: Go 1.19 issues no prefetch (its tophash shares the key's
    /// bucket); we do because with the tophash in the side array a hit
    /// became side array → key, two dependent loads where a key in the low
    /// slots used to share its line with the tophash: without the prefetch
    /// get hit did not improve (5.5 → 5.9 ns) and overwrite regressed
    /// (6.6 → 7.1 ns); with it they are 5.1 and 5.9 ns, and get miss stays
    /// at 4.1 ns against 3.9 (the prefetched line is bandwidth, not latency).
    #[inline]
    pub(crate) fn head(&self, i: usize) -> BucketRef<'_, K, V> {
        assert!(i < self.len(), "bucket {i} of {}", self.len());
        // SAFETY: just checked.
        unsafe { self.head_unchecked(i) }
    }

    /// Bucket `i` as [`BucketArray::head`] gives it, without its bounds
    /// check (the lookup path: a bounds check per box, two when there were
    /// two boxes, were a tenth of its instructions).
    ///
    /// # Safety
    /// `i < self.len()`.
    #[inline]
    pub(crate) unsafe fn head_unchecked(&self, i: usize) -> BucketRef<'_, K, V> {
        debug_assert!(i < self.len());
        // SAFETY: the caller promises `i < self.len()`, and the three boxes
        // have that length (fixed at construction).
        let (tophash, link, slots) = unsafe {
            (
                self.tophash.get_unchecked(i),
                self.links.get_unchecked(i),
                self.slots.get_unchecked(i),
            )
        };
        prefetch(slots);
        BucketRef {
            tophash,
            link,
            slots,
        }
    }

    /// Bucket `i`, mutably, prefetched as by [`BucketArray::head`]. Panics
    /// if out of bounds.
    #[inline]
    pub(crate) fn head_mut(&mut self, i: usize) -> BucketMut<'_, K, V> {
        self.head_and_spares(i).0
    }

    /// Bucket `i`, mutably and prefetched, with this array's spares: the
    /// only pairing under which a chain may take a spare (see
    /// `push_overflow`). Panics if out of bounds.
    #[inline]
    fn head_and_spares(&mut self, i: usize) -> (BucketMut<'_, K, V>, &mut Spares<K, V>) {
        // One bounds check for the three boxes (each indexed with its own
        // check, an insert paid three).
        assert!(i < self.len(), "bucket {i} of {}", self.len());
        // SAFETY: just checked; the three boxes have the same length (fixed
        // at construction), and they are distinct fields, borrowed apart.
        let head = unsafe {
            BucketMut {
                tophash: self.tophash.get_unchecked_mut(i),
                link: self.links.get_unchecked_mut(i),
                slots: self.slots.get_unchecked_mut(i),
            }
        };
        prefetch(head.slots);
        (head, &mut self.spares)
    }

    /// Looks for `key` (tophash `top`) in bucket `i`'s chain, in one walk:
    /// a found key comes back as its value, mutable; an absent one as the
    /// [`InsertSlot`] an insert puts it in (a full chain takes its new
    /// overflow bucket from this array's spares), so a write walks the
    /// chain once, as Go's `mapassign` does. The head is prefetched as by
    /// [`BucketArray::head`]. Panics if `i` is out of bounds or
    /// `top < MIN_TOPHASH`.
    #[inline(always)]
    pub(crate) fn probe_mut<Q>(&mut self, i: usize, top: u8, key: &Q) -> ProbeMut<'_, K, V>
    where
        K: Borrow<Q>,
        Q: Eq + ?Sized,
    {
        let (head, spares) = self.head_and_spares(i);
        head.probe_mut(spares, top, key)
    }

    /// Where evacuation puts the entries of one old chain: bucket `x`, and
    /// bucket `y` when the growth doubles (`None` for a same-size growth),
    /// every line of both prefetched (see [`BucketArray::prefetch_all`]).
    /// Panics unless `x < y < len`.
    pub(crate) fn evacuation_targets(
        &mut self,
        x: usize,
        y: Option<usize>,
    ) -> EvacuationTargets<'_, K, V> {
        self.prefetch_all(x);
        let Some(y) = y else {
            let (x, spares) = self.head_and_spares(x);
            return EvacuationTargets {
                dst: [(Some(x), 0), (None, 0)],
                spares,
            };
        };
        assert!(x < y, "bucket pair out of order");
        self.prefetch_all(y);
        let (top_lo, top_hi) = self.tophash.split_at_mut(y);
        let (links_lo, links_hi) = self.links.split_at_mut(y);
        let (slots_lo, slots_hi) = self.slots.split_at_mut(y);
        let x = BucketMut {
            tophash: &mut top_lo[x],
            link: &mut links_lo[x],
            slots: &mut slots_lo[x],
        };
        let y = BucketMut {
            tophash: &mut top_hi[0],
            link: &mut links_hi[0],
            slots: &mut slots_hi[0],
        };
        EvacuationTargets {
            dst: [(Some(x), 0), (Some(y), 0)],
            spares: &mut self.spares,
        }
    }

    /// Starts loading every cache line of bucket `i`'s slots (keys and
    /// values) and the line of its overflow link: evacuation reads all of a
    /// source bucket and writes into two destination buckets, so their
    /// misses overlap instead of following each other slot by slot. Panics if out of bounds.
    /// (A departure from Go 1.19: see the NOTE in `GoMap::evacuate`.)
    #[inline]
    pub(crate) fn prefetch_all(&self, i: usize) {
        let slots = &self.slots[i];
        prefetch_line((&raw const self.links[i]).cast::<u8>());
        let base = (slots as *const Slots<K, V>).cast::<u8>();
        let mut off = 0;
        while off < mem::size_of::<Slots<K, V>>() {
            prefetch_line(base.wrapping_add(off));
            off += 64;
        }
    }

    /// Whether bucket `i` has been evacuated; reads only the side array.
    #[inline]
    pub(crate) fn evacuated(&self, i: usize) -> bool {
        evacuated(&self.tophash[i])
    }

    /// Drops every entry, frees every overflow chain, and leaves every
    /// bucket empty.
    pub(crate) fn clear(&mut self) {
        for i in 0..self.len() {
            self.head_mut(i).clear();
        }
        // No chain links a spare any more; Go's `mapclear` reuses them too.
        self.spares.reset();
    }
}

impl<K, V> Drop for BucketArray<K, V> {
    fn drop(&mut self) {
        for i in 0..self.len() {
            let mut b = self.head_mut(i);
            b.drop_entries();
            b.free_overflow();
        }
        // The boxes free their memory; neither `Slots` nor `Link` has drop
        // glue of its own.
    }
}

impl<K, V> fmt::Debug for BucketArray<K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BucketArray")
            .field("len", &self.len())
            .finish_non_exhaustive()
    }
}

/// Starts loading the first cache line of `slots`' keys and the first of
/// its values while the tophash word is read and matched: a hit reads one
/// key and its value, which sit 8 × `size_of::<K>()` bytes apart (Go's
/// layout), so for `u64` keys and values in different lines.
///
/// Prefetching the keys alone left a hit's value load to start only after
/// the tophash match (its slot is not known before), a second miss in
/// series in a map larger than the cache. Measured with both lines against
/// the keys' only (`examples/gomap_get.rs`, steps in
/// `benchsuite/runs/2026-12-03-vm22c/README.md`): std's time / GoMap's
/// 0.75 → 0.84 at 65,536 `u64` keys; at 1,024, all in cache, 0.82 → 0.80.
#[inline(always)]
fn prefetch<K, V>(slots: &Slots<K, V>) {
    prefetch_line(slots.keys.as_ptr().cast::<u8>());
    prefetch_line(slots.values.as_ptr().cast::<u8>());
}

/// Starts loading the cache line holding `p` (a hint; `p` is never read).
#[inline(always)]
fn prefetch_line(p: *const u8) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        // SAFETY: a prefetch is a hint: it never faults, even for an
        // address outside any allocation, and reads no value visible to
        // the program.
        unsafe { _mm_prefetch::<_MM_HINT_T0>(p.cast::<i8>()) }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}

/// `n` null overflow links (chain ends), zeroed by the allocator: fresh
/// pages come zeroed from the OS and are touched only when written.
/// (`Box::new_zeroed_slice` does this in one line but needs Rust 1.92,
/// above the workspace's `rust-version`.)
fn zeroed_links<K, V>(n: usize) -> Box<[Link<K, V>]> {
    if n == 0 {
        return Box::new([]);
    }
    let layout = Layout::array::<Link<K, V>>(n).expect("bucket array too large");
    // SAFETY: `layout` has non-zero size: n > 0 and a `Link` is a pointer.
    let raw = unsafe { alloc::alloc_zeroed(layout) }.cast::<Link<K, V>>();
    if raw.is_null() {
        alloc::handle_alloc_error(layout);
    }
    // SAFETY: 1. `raw` comes from the global allocator with
    // `Layout::array::<Link>(n)`, the layout `Box<[Link]>` frees with;
    // 2. an all-zero `Link` is a null pointer, the chain's end; 3. the
    // pointer is not used again.
    unsafe { Box::from_raw(ptr::slice_from_raw_parts_mut(raw, n)) }
}

/// `n` `Slots`, uninitialized: the tophash bytes say which slots hold
/// entries, and a zeroed tophash array says none does.
fn uninit_slots<K, V>(n: usize) -> Box<[Slots<K, V>]> {
    // SAFETY: a `Slots` is two arrays of `MaybeUninit`, for which any
    // bytes, initialized or not, are a valid value.
    unsafe { Box::<[Slots<K, V>]>::new_uninit_slice(n).assume_init() }
}

/// Arrays at least this large are freed by the reclaimer thread; smaller
/// ones inline. Measured with the growth experiment (`examples/growth.rs`,
/// now `mapknee growth`) on a 2-core VM: returning 19 MB (2^17 buckets of
/// `u64` pairs) to the OS took 2.2 ms inline and 75 MB took 6.0 ms, which
/// was the worst insert of a 4M-key growth. The threshold was picked when
/// each such free spawned a thread (~50 µs, about what freeing 0.5 MB
/// inline costs); a channel send costs far less, but the threshold has not
/// been measured again, so it stays.
const BACKGROUND_FREE_BYTES: usize = 1 << 20;

/// A block of memory that holds no value of its own: an evacuated bucket
/// array's, or spare overflow buckets, whose entries their chains own.
struct RawAlloc {
    ptr: NonNull<u8>,
    layout: Layout,
}

impl RawAlloc {
    /// The memory of `boxed`, whose values are forgotten (never dropped);
    /// `None` when it takes none (zero-sized values, or none).
    fn leaked<T>(boxed: Box<[T]>) -> Option<Self> {
        let layout = Layout::for_value::<[T]>(&boxed);
        let ptr = NonNull::from(Box::leak(boxed)).cast::<u8>();
        // Not `then_some`: that builds the `RawAlloc` first, and dropping
        // it frees a dangling pointer.
        if layout.size() == 0 {
            return None;
        }
        Some(RawAlloc { ptr, layout })
    }
}

// SAFETY: a `RawAlloc` owns bare memory (no value of any type lives in it,
// so no `K`/`V` crosses threads) and the global allocator may free memory
// on any thread.
unsafe impl Send for RawAlloc {}

impl Drop for RawAlloc {
    fn drop(&mut self) {
        // SAFETY: `ptr` was allocated by the global allocator with `layout`
        // (taken from the `Box` it came out of) and is freed only here, once.
        unsafe { alloc::dealloc(self.ptr.as_ptr(), self.layout) }
    }
}

/// A finished old array as the reclaimer gets it: the memory of its
/// tophash bytes, links, slots and spares, none of which holds a value any
/// more (`None` for a part that takes no memory: zero-sized slots, no
/// spares). Nothing names `K` or `V`, so one reclaimer serves maps of
/// every type.
type Garbage = [Option<RawAlloc>; 4];

/// The sending end of the process's reclaimer, once started; `None` if its
/// thread could not be spawned (large arrays are then freed inline).
static RECLAIMER: OnceLock<Option<Sender<Garbage>>> = OnceLock::new();

/// Spawns a reclaimer thread: it frees what it receives, in order, and ends
/// when every sender is gone.
fn spawn_reclaimer() -> std::io::Result<(Sender<Garbage>, thread::JoinHandle<()>)> {
    let (tx, rx) = mpsc::channel::<Garbage>();
    let handle = thread::Builder::new()
        .name("gomap-reclaim".into())
        .spawn(move || rx.into_iter().for_each(drop))?;
    Ok((tx, handle))
}

/// The process's reclaimer, started by the first call. Its sender lives in
/// a static, so its thread never ends: it sleeps in `recv` between arrays
/// and the process's exit stops it.
///
/// Miri reports a thread still running when `main` returns ("the main
/// thread terminated without waiting for all remaining threads") unless
/// run with `-Zmiri-ignore-leaks`, which `.ci/run` passes. Its tests never
/// start this thread anyway: their arrays stay far below
/// `BACKGROUND_FREE_BYTES`, and the unit test of the reclaimer loop joins a
/// reclaimer of its own. So no `cfg(miri)` path frees inline.
fn reclaimer() -> Option<&'static Sender<Garbage>> {
    RECLAIMER
        .get_or_init(|| spawn_reclaimer().ok().map(|(tx, _detached)| tx))
        .as_ref()
}

/// Starts the reclaimer thread now, if it is not running yet, and says
/// whether it runs (`false`: it could not be spawned, and large arrays are
/// freed inline).
///
/// Without this call the first map to free a large array starts it, and
/// that write pays for a thread spawn (tens of µs) once per process.
/// Benchmarks call it before they start timing.
///
/// ```
/// assert!(mapknee_maps::gomap::start_reclaimer());
/// ```
pub fn start_reclaimer() -> bool {
    reclaimer().is_some()
}

/// A bucket array whose buckets are all evacuated, taken apart without
/// visiting its buckets (dropping them one by one would read every bucket
/// of a possibly huge array in one write), and its size in bytes.
fn into_garbage<K, V>(mut array: BucketArray<K, V>) -> (Garbage, usize) {
    debug_assert!((0..array.len()).all(|i| array.evacuated(i) && array.links[i].get().is_none()));
    // Take the four parts out; `array` then drops empty, visiting nothing.
    let tophash = mem::take(&mut array.tophash);
    let links = mem::take(&mut array.links);
    let slots = mem::take(&mut array.slots);
    let spares = array.spares.take_memory();
    drop(array);
    // Forgetting the parts rather than dropping them is memory-safe, and
    // leaks nothing: evacuation moved out every entry and freed every
    // overflow chain (asserted above in debug builds), spares' entries
    // included, and none of the three types has drop glue of its own.
    let garbage = [
        RawAlloc::leaked(tophash),
        RawAlloc::leaked(links),
        RawAlloc::leaked(slots),
        spares,
    ];
    let bytes = garbage.iter().flatten().map(|m| m.layout.size()).sum();
    (garbage, bytes)
}

/// Frees a bucket array whose buckets are all evacuated, without visiting
/// them; a large one is handed to the reclaimer thread.
///
/// NOTE: Go 1.19 drops its reference to the old array and leaves it to the
/// garbage collector, which frees it concurrently with the program; we
/// hand large arrays to one long-lived background thread for the same
/// reason: returning tens of MB to the OS inside one insert would be that
/// insert's pause (and, in `gomap-rwlock`, a pause of every reader waiting
/// on the write lock). The write pays one send on std's unbounded channel,
/// which never waits for the reclaimer and allocates only a channel block
/// (room for 31 messages) now and then; the previous design spawned a
/// thread per array inside the write.
pub(crate) fn free_evacuated<K, V>(array: BucketArray<K, V>) {
    if array.is_empty() {
        return;
    }
    let (garbage, bytes) = into_garbage(array);
    if bytes >= BACKGROUND_FREE_BYTES {
        if let Some(tx) = reclaimer() {
            // Fails only if the reclaimer thread is gone, and then hands the
            // garbage back to be dropped here.
            let _ = tx.send(garbage);
            return;
        }
    }
    drop(garbage);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tophash_never_collides_with_markers() {
        for top in 0..=255u64 {
            assert!(tophash(top << 56) >= MIN_TOPHASH);
        }
        // The top seven bits are kept, the eighth set; lower bits ignored.
        assert_eq!(tophash(0xab << 56), 0xab);
        assert_eq!(tophash(0x2b << 56 | 0x00ff_ffff_ffff_ffff), 0xab);
        assert_eq!(tophash(0x03 << 56), 0x83);
        assert_eq!(tophash(0xffff), 0x80);
        // Every 7-bit value is a distinct tophash.
        let distinct: std::collections::HashSet<u8> =
            (0..128u64).map(|t| tophash(t << 56)).collect();
        assert_eq!(distinct.len(), 128);
    }

    /// The slots a [`match_byte`] set names, lowest first.
    fn slots(mut matches: Matches) -> Vec<usize> {
        let mut v = Vec::new();
        while matches.any() {
            v.push(matches.lowest());
            matches = matches.without_lowest();
        }
        v
    }

    #[test]
    fn match_byte_is_exact() {
        let word = u64::from_le_bytes([5, 0, 6, 5, 1, 0x85, 0x05, 255]);
        assert_eq!(slots(match_byte(word, 5)), [0, 3, 6]);
        assert_eq!(slots(match_byte(word, 0)), [1]);
        assert_eq!(slots(match_byte(word, 255)), [7]);
        assert_eq!(slots(match_byte(word, 0x85)), [5]);
        assert!(!match_byte(word, 7).any());
        // Slot 0 holds 1, next to zeros: it is not taken for a zero.
        let word = u64::from_le_bytes([1, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(slots(match_byte(word, 0)), [1, 2, 3, 4, 5, 6, 7]);
        assert_eq!(match_byte(word, 0).lowest(), 1);
        // No slot beyond the eight, whatever the byte.
        assert_eq!(slots(match_byte(0, 0)), [0, 1, 2, 3, 4, 5, 6, 7]);
        assert!(!match_byte(u64::MAX, 0).any());
    }

    /// The SWAR form (the only one off x86-64) names the same slots as the
    /// one in use, for every byte against words mixing markers, equal and
    /// near-equal bytes (±1 and the high bit flipped, where SWAR carries
    /// and borrows go wrong).
    #[test]
    fn swar_and_simd_match_the_same_slots() {
        fn swar_slots(mut mask: u64) -> Vec<usize> {
            let mut v = Vec::new();
            while mask != 0 {
                v.push(lowest_swar(mask));
                mask &= mask - 1;
            }
            v
        }
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        let step = if cfg!(miri) { 37 } else { 1 };
        for byte in (0..=255u8).step_by(step) {
            let near = [
                byte,
                byte.wrapping_add(1),
                byte.wrapping_sub(1),
                byte ^ 0x80,
                0,
                1,
            ];
            for _ in 0..if cfg!(miri) { 4 } else { 64 } {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                let bytes: [u8; 8] = std::array::from_fn(|i| near[((x >> (8 * i)) % 6) as usize]);
                let word = u64::from_le_bytes(bytes);
                let want: Vec<usize> = (0..8).filter(|&i| bytes[i] == byte).collect();
                assert_eq!(slots(match_byte(word, byte)), want, "{bytes:?} {byte}");
                assert_eq!(
                    swar_slots(match_byte_swar(word, byte)),
                    want,
                    "{bytes:?} {byte}"
                );
            }
        }
    }

    #[test]
    fn put_take_keep_the_slot_invariant() {
        let mut a = BucketArray::<String, u32>::zeroed(1);
        let mut b = a.head_mut(0);
        b.put(3, 9, "a".to_string(), 1);
        assert_eq!(b.as_ref().entry(3), Some((&"a".to_string(), &1)));
        assert_eq!(b.as_ref().entry(2), None);
        assert_eq!(b.take(3, EMPTY_ONE), Some(("a".to_string(), 1)));
        assert_eq!(b.as_ref().entry(3), None);
        assert_eq!(b.take(3, EMPTY_ONE), None);
        b.put(0, 200, "kept".to_string(), 2); // dropped with the array
                                              // The main bucket's tophash lives in the side array.
        assert_eq!(a.tophash[0][0], 200);
    }

    #[test]
    fn zeroed_array_is_empty_and_droppable() {
        let mut a = BucketArray::<String, String>::zeroed(4);
        assert!((0..4).all(|j| (0..8).all(|i| a.head(j).entry(i).is_none())));
        for i in 0..8 {
            a.head_mut(1).put(i, 10, i.to_string(), "v".into());
        }
        let (head, spares) = a.head_and_spares(1);
        head.push_overflow(spares)
            .put(0, 11, "k2".into(), "v2".into());
        assert_eq!(
            a.head(1).find(11, "k2"),
            Some((&"k2".to_string(), &"v2".to_string()))
        );
        assert_eq!(
            a.head(1).find(10, "7"),
            Some((&"7".to_string(), &"v".to_string()))
        );
        assert_eq!(a.head(1).find(10, "8"), None);
        assert!(BucketArray::<u8, u8>::zeroed(0).is_empty());
    }

    /// The word tricks of `move_bucket` against a byte at a time: every
    /// mask for `spread`, and words mixing every marker with occupied
    /// tophashes (the lowest, 5, among them) for `occupied_slots`.
    #[test]
    fn occupied_slots_and_spread_agree_with_the_bytes() {
        for m in 0..=u8::MAX {
            let bytes = spread(m).to_le_bytes();
            for (i, &b) in bytes.iter().enumerate() {
                assert_eq!(b, (m >> i) & 1, "spread({m:#x}) byte {i}");
            }
        }
        let pool = [0, 1, 2, 3, 4, 5, 6, 0x7f, 0x80, 0xfe, 0xff];
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..if cfg!(miri) { 200 } else { 20_000 } {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let bytes: [u8; BUCKET_SLOTS] =
                std::array::from_fn(|i| pool[(seed >> (6 * i)) as usize % pool.len()]);
            let want = bytes
                .iter()
                .enumerate()
                .fold(0u8, |m, (i, &b)| m | (u8::from(b >= MIN_TOPHASH) << i));
            assert_eq!(occupied_slots(u64::from_le_bytes(bytes)), want, "{bytes:?}");
        }
    }

    /// A head bucket splits into empty targets by its Y bits and is left
    /// marked; a bucket moved into targets that are not empty goes entry by
    /// entry and hangs overflow buckets off them as they fill. Under Miri
    /// (leak checks on, `String`s) no entry is leaked or dropped twice.
    #[test]
    fn move_bucket_splits_entries_by_their_y_bits_and_marks_the_source() {
        let s = |i: usize| i.to_string();
        let mut old = BucketArray::<String, String>::zeroed(2);
        // Bucket 1: slots 0, 2, 3, 5, 6 occupied, tophash 5 + slot.
        let full = [0, 2, 3, 5, 6];
        for &i in &full {
            old.head_mut(1).put(i, 5 + i as u8, s(i), s(100 + i));
        }
        let mut new = BucketArray::<String, String>::zeroed(4);
        let mut dst = new.evacuation_targets(1, Some(3));
        // Y bits for slots 2 and 6, and for empty slot 7 (ignored).
        assert_eq!(dst.move_bucket(&mut old.head_mut(1), 0b1100_0100), 0);
        assert_eq!(
            old.tophash[1],
            [
                EVACUATED_X,
                EVACUATED_EMPTY,
                EVACUATED_Y,
                EVACUATED_X,
                EVACUATED_EMPTY,
                EVACUATED_X,
                EVACUATED_Y,
                EVACUATED_EMPTY
            ]
        );
        assert!(old.evacuated(1));
        // X keeps slot order 0, 3, 5 and Y 2, 6, each packed from slot 0.
        assert_eq!(new.tophash[1], [5, 8, 10, 0, 0, 0, 0, 0]);
        assert_eq!(new.tophash[3], [7, 11, 0, 0, 0, 0, 0, 0]);
        for (bucket, slots) in [(1, [0, 3, 5].as_slice()), (3, [2, 6].as_slice())] {
            for (j, &i) in slots.iter().enumerate() {
                assert_eq!(new.head(bucket).entry(j), Some((&s(i), &s(100 + i))));
            }
        }

        // Into targets already holding entries (a fresh pair: targets start
        // empty): a full source bucket into X holding 3 and Y holding 2,
        // then a second, all to X, which overflows X.
        for i in 0..BUCKET_SLOTS {
            old.head_mut(0).put(i, 20 + i as u8, s(200 + i), s(300 + i));
        }
        let mut more = BucketArray::<String, String>::zeroed(1);
        for i in 0..BUCKET_SLOTS {
            more.head_mut(0).put(i, 60 + i as u8, s(600 + i), s(0));
        }
        let mut new = BucketArray::<String, String>::zeroed(4);
        let mut dst = new.evacuation_targets(1, Some(3));
        for n in 0..3 {
            assert!(!dst.push(0, 40, s(400 + n), s(0)));
        }
        for n in 0..2 {
            assert!(!dst.push(1, 41, s(500 + n), s(0)));
        }
        // Slots 0..4 to X (3 + 4 = 7), 4..8 to Y (2 + 4 = 6): no overflow.
        assert_eq!(dst.move_bucket(&mut old.head_mut(0), 0b1111_0000), 0);
        // 7 + 8 in X: one overflow bucket.
        assert_eq!(dst.move_bucket(&mut more.head_mut(0), 0), 1);
        assert_eq!(more.tophash[0], [EVACUATED_X; BUCKET_SLOTS]);
        let tops = |b: BucketRef<'_, String, String>| -> Vec<u8> {
            (0..BUCKET_SLOTS).map(|i| b.tophash(i)).collect()
        };
        assert_eq!(tops(new.head(1)), [40, 40, 40, 20, 21, 22, 23, 60]);
        let overflow = new.head(1).overflow().expect("X overflowed");
        assert_eq!(tops(overflow), [61, 62, 63, 64, 65, 66, 67, EMPTY_REST]);
        assert!(new.head(1).overflow().unwrap().overflow().is_none());
        assert_eq!(tops(new.head(3)), [41, 41, 24, 25, 26, 27, 0, 0]);
        assert_eq!(overflow.find(67, &s(607)), Some((&s(607), &s(0))));
        assert_eq!(new.head(1).find(23, &s(203)), Some((&s(203), &s(303))));
        assert_eq!(new.head(3).find(27, &s(207)), Some((&s(207), &s(307))));
    }

    #[test]
    fn evacuation_targets_pair_each_bucket_with_its_own_tophash() {
        let mut a = BucketArray::<u64, u64>::zeroed(4);
        let mut dst = a.evacuation_targets(1, Some(3));
        assert!(!dst.push(0, 7, 1, 10));
        assert!(!dst.push(1, 8, 3, 30));
        assert_eq!(a.head(1).find(7, &1), Some((&1, &10)));
        assert_eq!(a.head(3).find(8, &3), Some((&3, &30)));
        assert_eq!(a.head(0).find(7, &1), None);
        assert_eq!(a.tophash[1][0], 7);
        assert_eq!(a.tophash[3][0], 8);
    }

    #[test]
    fn long_chains_drop_without_recursion() {
        let n = if cfg!(miri) { 100 } else { 200_000 };
        let mut a = BucketArray::<u64, u64>::zeroed(1);
        let (mut b, spares) = a.head_and_spares(0);
        for i in 0..n {
            b.put(0, 7, i, i);
            b = b.push_overflow(spares);
        }
        drop(a);
    }

    /// Chains take the array's spares first, then heap buckets; freeing a
    /// chain drops the spares' entries, `clear` makes the spares unused
    /// again, and dropping the array drops what is left. Under Miri (leak
    /// checks on) this shows no entry is leaked or dropped twice either way.
    #[test]
    fn chains_use_the_spares_first_then_the_heap() {
        // 32 buckets: two spares.
        let mut a = BucketArray::<String, String>::zeroed(32);
        assert_eq!((a.spares.len, a.spares.next), (2, 0));
        let fill = |b: &mut BucketMut<'_, String, String>, tag: &str| {
            for i in 0..BUCKET_SLOTS {
                b.put(i, 9, format!("{tag}{i}"), format!("v{i}"));
            }
        };
        for j in [3, 5] {
            let (mut head, spares) = a.head_and_spares(j);
            fill(&mut head, "h");
            let mut o = head.push_overflow(spares);
            fill(&mut o, "o");
            // The third overflow bucket of the array: no spare is left.
            if j == 5 {
                o.push_overflow(spares).put(0, 9, "heap".into(), "v".into());
            }
        }
        assert_eq!(a.spares.next, 2);
        assert!(!a.links[3].is_heap() && !a.links[5].is_heap());
        assert_eq!(
            a.head(5).find(9, "heap"),
            Some((&"heap".into(), &"v".into()))
        );
        assert_eq!(a.head(3).find(9, "o7"), Some((&"o7".into(), &"v7".into())));
        assert_eq!(a.head_mut(5).free_overflow(), 2);
        assert_eq!(a.head(5).find(9, "o7"), None);
        a.clear();
        assert_eq!(a.spares.next, 0);
        let (head, spares) = a.head_and_spares(7);
        let mut o = head.push_overflow(spares);
        assert_eq!(o.as_ref().word(), 0, "a reused spare is empty");
        o.put(1, 9, "again".into(), "v".into());
        assert_eq!(a.spares.next, 1);
        assert!(!a.links[7].is_heap());
        drop(a);
    }

    /// An array of `n` buckets, every slot marked as evacuation leaves it.
    fn evacuated_array<K, V>(n: usize) -> BucketArray<K, V> {
        let mut a = BucketArray::zeroed(n);
        for j in 0..n {
            a.tophash[j] = [EVACUATED_EMPTY; BUCKET_SLOTS];
        }
        a
    }

    /// Under Miri this checks the free on another thread: each block is
    /// freed with the layout it was allocated with, once, after the send.
    #[test]
    fn a_reclaimer_frees_what_it_is_sent_and_ends_with_its_senders() {
        let (tx, reclaimer) = spawn_reclaimer().expect("thread spawns");
        /// Hands an array of `n` buckets to the reclaimer, checking its size.
        fn send<K, V>(tx: &Sender<Garbage>, n: usize) {
            let (garbage, bytes) = into_garbage(evacuated_array::<K, V>(n));
            // Per bucket: slots, tophash bytes, link; 16 buckets come with
            // one spare overflow bucket.
            assert_eq!(
                bytes,
                n * (mem::size_of::<Slots<K, V>>() + BUCKET_SLOTS + mem::size_of::<Link<K, V>>())
                    + n / 16 * mem::size_of::<Overflow<K, V>>()
            );
            tx.send(garbage).expect("the reclaimer is listening");
        }
        for n in [1, 2, 16] {
            send::<String, Vec<u8>>(&tx, n);
            // Zero-sized slots take no memory, and none is freed for them.
            send::<(), ()>(&tx, n);
        }
        drop(tx);
        reclaimer
            .join()
            .expect("the reclaimer ends once its senders are gone");
    }

    /// Small arrays are freed inline, and an empty one (no allocation
    /// behind its dangling pointer) is not freed at all.
    #[test]
    fn small_and_empty_evacuated_arrays_free_inline() {
        free_evacuated(evacuated_array::<String, u64>(4));
        free_evacuated(BucketArray::<String, u64>::zeroed(0));
    }

    #[test]
    fn mark_empty_rest_crosses_buckets() {
        let mut a = BucketArray::<u8, u8>::zeroed(1);
        let (mut head, spares) = a.head_and_spares(0);
        for i in 0..8 {
            head.put(i, 9, i as u8, 0);
        }
        head.reborrow().push_overflow(spares).put(0, 9, 8, 0);
        // Empty head slots 6 and 7, then the overflow's only slot.
        for slot in [6, 7] {
            head.take(slot, EMPTY_ONE);
            head.mark_empty_rest(0, slot);
        }
        assert_eq!(
            head.as_ref().tophash(6),
            EMPTY_ONE,
            "not last while overflow is live"
        );
        head.reborrow().nth(1).take(0, EMPTY_ONE);
        head.mark_empty_rest(1, 0);
        assert_eq!(head.reborrow().nth(1).as_ref().tophash(0), EMPTY_REST);
        assert_eq!(head.as_ref().tophash(7), EMPTY_REST);
        assert_eq!(head.as_ref().tophash(6), EMPTY_REST);
        assert_eq!(head.as_ref().tophash(5), 9);
    }
}
