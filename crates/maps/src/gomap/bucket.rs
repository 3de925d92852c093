//! One bucket — eight slots, a tophash byte per slot, an overflow chain — and
//! the zeroed bucket array. This is the only file of `gomap` with `unsafe`.
//!
//! # The slot invariant
//!
//! Slot `i` of a bucket holds an initialized key and value **if and only if**
//! `tophash[i] >= MIN_TOPHASH`. The fields are private to this module and
//! every method keeps the invariant, so code outside this file cannot break
//! it: `put` is the only way to make a slot occupied, `take` the only way to
//! make it empty again, and `set_marker` refuses occupied markers.

use std::alloc::{self, Layout};
use std::borrow::Borrow;
use std::fmt;
use std::mem::{self, MaybeUninit};
use std::ptr;

/// Slots per bucket (Go's `bucketCnt`). Must be 8: the tophash bytes of a
/// bucket are read as one `u64` and matched eight at a time.
pub(crate) const BUCKET_SLOTS: usize = 8;

/// This slot is empty, and so is every later slot of this bucket and every
/// slot of its overflow buckets: lookups stop here. Must be 0, so that a
/// zeroed bucket array is an empty one (see [`zeroed_array`]).
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

/// The tophash of `hash`: its top 8 bits, moved out of the marker range.
#[inline]
pub(crate) fn tophash(hash: u64) -> u8 {
    let top = (hash >> 56) as u8;
    if top < MIN_TOPHASH {
        top + MIN_TOPHASH
    } else {
        top
    }
}

/// A mask with the high bit set in each byte of `word` equal to `byte`, and
/// no other bit set. Exact (no false positives), so a set byte can be
/// trusted to name an occupied slot when `byte >= MIN_TOPHASH`.
#[inline]
fn match_byte(word: u64, byte: u8) -> u64 {
    let x = word ^ (LO * byte as u64);
    // A byte of `x` is zero iff adding 0x7f to its low 7 bits leaves its
    // high bit clear and its own high bit is clear too.
    !(((x & LOW7) + LOW7) | x | LOW7)
}

/// The index of the lowest slot named by a [`match_byte`] mask.
#[inline]
fn lowest(mask: u64) -> usize {
    (mask.trailing_zeros() / 8) as usize
}

/// The first empty slot (`EMPTY_REST` or `EMPTY_ONE`) of a bucket with
/// tophash word `word`, given `rest = match_byte(word, EMPTY_REST)`.
#[inline]
fn first_empty(word: u64, rest: u64) -> Option<usize> {
    let empty = rest | match_byte(word, EMPTY_ONE);
    (empty != 0).then(|| lowest(empty))
}

/// Go's `bmap`: `#[repr(C)]` so the tophash word comes first, as in Go, and
/// keys and values are stored apart so `(u64, u8)` entries need no padding.
#[repr(C)]
pub(crate) struct Bucket<K, V> {
    tophash: [u8; BUCKET_SLOTS],
    keys: [MaybeUninit<K>; BUCKET_SLOTS],
    values: [MaybeUninit<V>; BUCKET_SLOTS],
    overflow: Option<Box<Bucket<K, V>>>,
}

/// Where a key is, or where it could go, in one bucket chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Probe {
    /// The key is in the chain's `depth`-th bucket (0 = head), slot `slot`.
    Found { depth: usize, slot: usize },
    /// The key is absent; `vacant` is the first empty slot of the chain, if
    /// any, and `last` the depth of its last bucket.
    Absent {
        vacant: Option<(usize, usize)>,
        last: usize,
    },
}

/// [`Bucket::probe_mut`]'s answer: the key's value, or where it could go.
#[derive(Debug)]
pub(crate) enum ProbeMut<'a, V> {
    /// The key is present; its value.
    Found(&'a mut V),
    /// As [`Probe::Absent`].
    Absent {
        vacant: Option<(usize, usize)>,
        last: usize,
    },
}

impl<K, V> Bucket<K, V> {
    /// An empty bucket with no overflow.
    pub(crate) fn new() -> Self {
        Bucket {
            tophash: [EMPTY_REST; BUCKET_SLOTS],
            keys: [const { MaybeUninit::uninit() }; BUCKET_SLOTS],
            values: [const { MaybeUninit::uninit() }; BUCKET_SLOTS],
            overflow: None,
        }
    }

    /// The tophash byte (or marker) of slot `i`.
    #[inline]
    pub(crate) fn tophash(&self, i: usize) -> u8 {
        self.tophash[i]
    }

    #[inline]
    fn tophash_word(&self) -> u64 {
        u64::from_le_bytes(self.tophash)
    }

    /// Whether this (old) bucket has been evacuated. Evacuation marks every
    /// slot, so looking at slot 0 is enough.
    #[inline]
    pub(crate) fn evacuated(&self) -> bool {
        let h = self.tophash[0];
        h > EMPTY_ONE && h < MIN_TOPHASH
    }

    /// Marks slot `i`, which must not be occupied, with a marker.
    ///
    /// # Panics
    /// If `marker` is not a marker (`>= MIN_TOPHASH`): that would claim an
    /// uninitialized slot holds an entry.
    #[inline]
    pub(crate) fn set_marker(&mut self, i: usize, marker: u8) {
        assert!(marker < MIN_TOPHASH, "tophash marker out of range");
        debug_assert!(self.tophash[i] < MIN_TOPHASH, "marking an occupied slot");
        self.tophash[i] = marker;
    }

    /// The entry in slot `i`, if the slot is occupied.
    #[inline]
    pub(crate) fn entry(&self, i: usize) -> Option<(&K, &V)> {
        if self.tophash[i] < MIN_TOPHASH {
            return None;
        }
        // SAFETY: tophash[i] >= MIN_TOPHASH, so by the slot invariant both
        // keys[i] and values[i] are initialized.
        unsafe {
            Some((
                self.keys[i].assume_init_ref(),
                self.values[i].assume_init_ref(),
            ))
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
        self.keys[i].write(key);
        self.values[i].write(value);
        self.tophash[i] = top;
    }

    /// Moves the entry out of slot `i`, if occupied, leaving `marker`.
    ///
    /// # Panics
    /// If `marker >= MIN_TOPHASH` (see [`Bucket::set_marker`]).
    #[inline]
    pub(crate) fn take(&mut self, i: usize, marker: u8) -> Option<(K, V)> {
        assert!(marker < MIN_TOPHASH, "tophash marker out of range");
        if self.tophash[i] < MIN_TOPHASH {
            return None;
        }
        self.tophash[i] = marker;
        // SAFETY: 1. the slot was occupied (checked above), so keys[i] and
        // values[i] are initialized; 2. its tophash is now a marker, so the
        // slot counts as uninitialized and these values are never read or
        // dropped again: ownership moves to the caller exactly once.
        unsafe {
            Some((
                self.keys[i].assume_init_read(),
                self.values[i].assume_init_read(),
            ))
        }
    }

    /// The next bucket of the chain.
    #[inline]
    pub(crate) fn overflow(&self) -> Option<&Bucket<K, V>> {
        self.overflow.as_deref()
    }

    /// The next bucket of the chain, mutably.
    #[inline]
    pub(crate) fn overflow_mut(&mut self) -> Option<&mut Bucket<K, V>> {
        self.overflow.as_deref_mut()
    }

    /// Hangs a new empty overflow bucket off this one (which must be the
    /// last of its chain) and returns it.
    pub(crate) fn push_overflow(&mut self) -> &mut Bucket<K, V> {
        debug_assert!(self.overflow.is_none(), "overflow pushed mid-chain");
        self.overflow.insert(Box::new(Bucket::new()))
    }

    /// The `depth`-th bucket of the chain starting here (0 = this one).
    pub(crate) fn nth_mut(&mut self, depth: usize) -> &mut Bucket<K, V> {
        let mut b = self;
        for _ in 0..depth {
            b = b.overflow.as_deref_mut().expect("chain shorter than depth");
        }
        b
    }

    /// Frees the overflow chain hanging off this bucket (its entries are
    /// dropped) and returns how many buckets it held.
    pub(crate) fn free_overflow(&mut self) -> usize {
        let mut freed = 0;
        let mut next = self.overflow.take();
        while let Some(mut b) = next {
            // Unlink before `b` drops, so dropping a long chain never recurses.
            next = b.overflow.take();
            freed += 1;
        }
        freed
    }

    /// Drops every entry of this bucket and its chain, frees the chain and
    /// leaves the bucket empty. Returns the overflow buckets freed.
    pub(crate) fn clear(&mut self) -> usize {
        self.drop_entries();
        self.tophash = [EMPTY_REST; BUCKET_SLOTS];
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

    /// The slot of this bucket (not its chain) holding `key`, given the
    /// bucket's tophash word and the key's tophash `top`, which must be
    /// `>= MIN_TOPHASH` (the chain walks below assert it).
    ///
    /// This is the inner loop of every lookup, so it reads the matched key
    /// without checking its slot again: `match_byte` is exact, so a match on
    /// `top` names a slot whose tophash is `top`, an occupied one.
    #[inline(always)]
    fn slot_of<Q>(&self, word: u64, top: u8, key: &Q) -> Option<usize>
    where
        K: Borrow<Q>,
        Q: Eq + ?Sized,
    {
        debug_assert!(top >= MIN_TOPHASH);
        let mut matches = match_byte(word, top);
        while matches != 0 {
            let i = lowest(matches);
            // SAFETY: 1. `matches != 0`, so its lowest set bit is one of the
            // eight byte-high bits and `i < BUCKET_SLOTS`; 2. `match_byte` is
            // exact, so `tophash[i] == top >= MIN_TOPHASH`, and by the slot
            // invariant `keys[i]` is initialized.
            let k = unsafe { self.keys.get_unchecked(i).assume_init_ref() };
            if k.borrow() == key {
                return Some(i);
            }
            matches &= matches - 1;
        }
        None
    }

    /// Looks for `key` (with tophash `top`) in the chain starting here.
    ///
    /// # Panics
    /// If `top < MIN_TOPHASH` (a marker would match empty slots).
    #[inline]
    pub(crate) fn find<Q>(&self, top: u8, key: &Q) -> Option<(&K, &V)>
    where
        K: Borrow<Q>,
        Q: Eq + ?Sized,
    {
        // Free when `top` comes from `tophash()`: the compiler sees the range.
        assert!(top >= MIN_TOPHASH, "tophash in marker range");
        let mut b = self;
        loop {
            let word = b.tophash_word();
            if let Some(i) = b.slot_of(word, top, key) {
                // SAFETY: `slot_of` returned `i`, so `i < BUCKET_SLOTS` and
                // slot `i` is occupied: `keys[i]` and `values[i]` are
                // initialized (the slot invariant).
                return unsafe {
                    Some((
                        b.keys.get_unchecked(i).assume_init_ref(),
                        b.values.get_unchecked(i).assume_init_ref(),
                    ))
                };
            }
            // An EMPTY_REST slot means nothing follows in this chain.
            // NOTE: Go 1.19 walks the slots one by one and stops at the first
            // emptyRest; we compare all eight tophash bytes at once (SWAR),
            // which gives the same answer because no entry sits after an
            // emptyRest slot.
            if match_byte(word, EMPTY_REST) != 0 {
                return None;
            }
            b = b.overflow.as_deref()?;
        }
    }

    /// Where `key` is in the chain starting here, or where it could go.
    ///
    /// # Panics
    /// If `top < MIN_TOPHASH` (see [`Bucket::find`]).
    pub(crate) fn probe<Q>(&self, top: u8, key: &Q) -> Probe
    where
        K: Borrow<Q>,
        Q: Eq + ?Sized,
    {
        assert!(top >= MIN_TOPHASH, "tophash in marker range");
        let mut vacant = None;
        let mut b = self;
        let mut depth = 0;
        loop {
            let word = b.tophash_word();
            if let Some(slot) = b.slot_of(word, top, key) {
                return Probe::Found { depth, slot };
            }
            let rest = match_byte(word, EMPTY_REST);
            if vacant.is_none() {
                vacant = first_empty(word, rest).map(|slot| (depth, slot));
            }
            match b.overflow.as_deref() {
                Some(next) if rest == 0 => {
                    b = next;
                    depth += 1;
                }
                _ => {
                    return Probe::Absent {
                        vacant,
                        last: depth,
                    }
                }
            }
        }
    }

    /// Like [`Bucket::probe`], but a found key comes back as its value,
    /// mutable, so a write needs no second walk down the chain to reach it.
    ///
    /// # Panics
    /// If `top < MIN_TOPHASH` (see [`Bucket::find`]).
    #[inline]
    pub(crate) fn probe_mut<Q>(&mut self, top: u8, key: &Q) -> ProbeMut<'_, V>
    where
        K: Borrow<Q>,
        Q: Eq + ?Sized,
    {
        assert!(top >= MIN_TOPHASH, "tophash in marker range");
        let mut vacant = None;
        let mut b = self;
        let mut depth = 0;
        loop {
            let word = b.tophash_word();
            if let Some(i) = b.slot_of(word, top, key) {
                // SAFETY: `slot_of` returned `i`, so `i < BUCKET_SLOTS` and
                // `values[i]` is initialized (the slot invariant); `&mut self`
                // makes the reference unique.
                return ProbeMut::Found(unsafe { b.values.get_unchecked_mut(i).assume_init_mut() });
            }
            let rest = match_byte(word, EMPTY_REST);
            if vacant.is_none() {
                vacant = first_empty(word, rest).map(|slot| (depth, slot));
            }
            match b.overflow.as_deref_mut() {
                Some(next) if rest == 0 => {
                    b = next;
                    depth += 1;
                }
                _ => {
                    return ProbeMut::Absent {
                        vacant,
                        last: depth,
                    }
                }
            }
        }
    }

    /// After slot `slot` of the chain's `depth`-th bucket became `EMPTY_ONE`,
    /// turns the run of empty slots that now ends the chain into
    /// `EMPTY_REST`, so later lookups stop early (Go's `mapdelete`).
    pub(crate) fn mark_empty_rest(&mut self, depth: usize, slot: usize) {
        let b = self.nth_mut(depth);
        let last_in_chain = if slot == BUCKET_SLOTS - 1 {
            b.overflow().is_none_or(|o| o.tophash[0] == EMPTY_REST)
        } else {
            b.tophash[slot + 1] == EMPTY_REST
        };
        if !last_in_chain {
            return;
        }
        let (mut depth, mut slot) = (depth, slot);
        loop {
            // Walk down this bucket while the slots are EMPTY_ONE.
            let b = self.nth_mut(depth);
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
            if self.nth_mut(depth).tophash[slot] != EMPTY_ONE {
                return;
            }
        }
    }
}

impl<K, V> Drop for Bucket<K, V> {
    fn drop(&mut self) {
        self.drop_entries();
        self.free_overflow();
    }
}

impl<K, V> fmt::Debug for Bucket<K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Bucket")
            .field("tophash", &self.tophash)
            .field("overflow", &self.overflow)
            .finish()
    }
}

/// A bucket array of `n` empty buckets, zeroed by the allocator.
///
/// Zeroed memory is an array of empty buckets (`EMPTY_REST` is 0, `None` is
/// a null pointer), so a large array costs no initialization pass: fresh
/// pages come zeroed from the OS and are touched only when written. This
/// keeps the insert that starts a growth as cheap as Go's `hashGrow`.
pub(crate) fn zeroed_array<K, V>(n: usize) -> Box<[Bucket<K, V>]> {
    if n == 0 {
        return Box::new([]);
    }
    let layout = Layout::array::<Bucket<K, V>>(n).expect("bucket array too large");
    // SAFETY: `layout` has non-zero size: n > 0 and a bucket holds at least
    // its 8 tophash bytes.
    let raw = unsafe { alloc::alloc_zeroed(layout) }.cast::<Bucket<K, V>>();
    if raw.is_null() {
        alloc::handle_alloc_error(layout);
    }
    // SAFETY: 1. `raw` comes from the global allocator with
    // `Layout::array::<Bucket>(n)`, the layout `Box<[Bucket]>` frees with;
    // 2. all-zero bytes are a valid empty `Bucket`: each tophash is
    // EMPTY_REST (no slot claims an entry, so the slot invariant holds),
    // `MaybeUninit` accepts any bytes, and an all-zero `Option<Box<_>>` is
    // `None` (guaranteed by the null-pointer optimization); 3. the pointer is
    // not used again.
    unsafe { Box::from_raw(ptr::slice_from_raw_parts_mut(raw, n)) }
}

/// Arrays at least this large are freed on a helper thread. Measured with
/// the growth experiment (`examples/growth.rs`, now `mapknee growth`) on a
/// 2-core VM: returning 19 MB (2^17 buckets of `u64` pairs) to the OS took
/// 2.2 ms inline and 75 MB took 6.0 ms, which was the worst insert of a
/// 4M-key growth; a thread spawn costs ~50 µs, about what freeing 0.5 MB
/// inline costs.
const BACKGROUND_FREE_BYTES: usize = 1 << 20;

/// A block of memory that held a bucket array and now holds no value.
struct RawAlloc {
    ptr: ptr::NonNull<u8>,
    layout: Layout,
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

/// Frees a bucket array whose buckets are all evacuated, without visiting
/// them (dropping them one by one would read every bucket of a possibly
/// huge array in one write), and, when it is large, on a helper thread.
///
/// NOTE: Go 1.19 drops its reference to the old array and leaves it to the
/// garbage collector, which frees it concurrently with the program; we hand
/// large arrays to a short-lived thread for the same reason: returning tens
/// of MB to the OS inside one insert would be that insert's pause.
pub(crate) fn free_evacuated<K, V>(array: Box<[Bucket<K, V>]>) {
    debug_assert!(array.iter().all(|b| b.evacuated() && b.overflow.is_none()));
    if array.is_empty() {
        return;
    }
    let layout = Layout::for_value::<[Bucket<K, V>]>(&array);
    let ptr = ptr::NonNull::from(Box::leak(array)).cast::<u8>();
    // Forgetting the buckets rather than dropping them is memory-safe, and
    // leaks nothing: evacuation moved out every entry and freed every
    // overflow chain (asserted above in debug builds).
    let raw = RawAlloc { ptr, layout };
    if layout.size() >= BACKGROUND_FREE_BYTES && !cfg!(miri) {
        // If the spawn fails the closure, and `raw` with it, drops here.
        let _ = std::thread::Builder::new()
            .name("gomap-free".into())
            .spawn(move || drop(raw));
    } else {
        drop(raw);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tophash_never_collides_with_markers() {
        for top in 0..=255u64 {
            assert!(tophash(top << 56) >= MIN_TOPHASH);
        }
        assert_eq!(tophash(0xab << 56), 0xab);
        assert_eq!(tophash(0x03 << 56), 0x08);
    }

    #[test]
    fn match_byte_is_exact() {
        let word = u64::from_le_bytes([5, 0, 6, 5, 1, 0x85, 0x05, 255]);
        assert_eq!(match_byte(word, 5), 0x0080_0000_8000_0080);
        assert_eq!(match_byte(word, 0), 0x0000_0000_0000_8000);
        assert_eq!(match_byte(word, 255), 0x8000_0000_0000_0000);
        assert_eq!(match_byte(word, 7), 0);
        // The classic `(x - LO) & !x & HI` test would flag byte 1 here.
        let word = u64::from_le_bytes([1, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(match_byte(word, 0) & 0xff, 0);
        assert_eq!(lowest(match_byte(word, 0)), 1);
    }

    #[test]
    fn put_take_keep_the_slot_invariant() {
        let mut b = Bucket::<String, u32>::new();
        b.put(3, 9, "a".to_string(), 1);
        assert_eq!(b.entry(3), Some((&"a".to_string(), &1)));
        assert_eq!(b.entry(2), None);
        assert_eq!(b.take(3, EMPTY_ONE), Some(("a".to_string(), 1)));
        assert_eq!(b.entry(3), None);
        assert_eq!(b.take(3, EMPTY_ONE), None);
        b.put(0, 200, "kept".to_string(), 2); // dropped with the bucket
    }

    #[test]
    fn zeroed_array_is_empty_and_droppable() {
        let mut a = zeroed_array::<String, String>(4);
        assert!(a.iter().all(|b| (0..8).all(|i| b.entry(i).is_none())));
        for i in 0..8 {
            a[1].put(i, 10, i.to_string(), "v".into());
        }
        a[1].push_overflow().put(0, 11, "k2".into(), "v2".into());
        assert_eq!(
            a[1].find(11, "k2"),
            Some((&"k2".to_string(), &"v2".to_string()))
        );
        assert_eq!(
            a[1].find(10, "7"),
            Some((&"7".to_string(), &"v".to_string()))
        );
        assert_eq!(a[1].find(10, "8"), None);
        assert!(zeroed_array::<u8, u8>(0).is_empty());
    }

    #[test]
    fn long_chains_drop_without_recursion() {
        let n = if cfg!(miri) { 100 } else { 200_000 };
        let mut head = Bucket::<u64, u64>::new();
        let mut b = &mut head;
        for i in 0..n {
            b.put(0, 7, i, i);
            b = b.push_overflow();
        }
        drop(head);
    }

    #[test]
    fn mark_empty_rest_crosses_buckets() {
        let mut head = Bucket::<u8, u8>::new();
        for i in 0..8 {
            head.put(i, 9, i as u8, 0);
        }
        head.push_overflow().put(0, 9, 8, 0);
        // Empty head slots 6 and 7, then the overflow's only slot.
        for slot in [6, 7] {
            head.take(slot, EMPTY_ONE);
            head.mark_empty_rest(0, slot);
        }
        assert_eq!(
            head.tophash(6),
            EMPTY_ONE,
            "not last while overflow is live"
        );
        head.nth_mut(1).take(0, EMPTY_ONE);
        head.mark_empty_rest(1, 0);
        assert_eq!(head.nth_mut(1).tophash(0), EMPTY_REST);
        assert_eq!(head.tophash(7), EMPTY_REST);
        assert_eq!(head.tophash(6), EMPTY_REST);
        assert_eq!(head.tophash(5), 9);
    }
}
