//! GoMap's destructor accounting: every key and value it takes is dropped
//! exactly once, across overwrite, remove, clear, drop, and a drop or clear
//! in the middle of a growth; and a `Hash` that panics during evacuation
//! loses no entry. Its own test binary so that Miri can run it with leak
//! checking on (`.ci/run`): GoMap frees everything itself (its background
//! reclaimer starts only for arrays of 1 MiB or more, far above these).

use std::borrow::Borrow;
use std::cell::Cell;
use std::hash::{Hash, Hasher};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicIsize, Ordering::SeqCst};
use std::sync::Arc;

use mapknee_maps::GoMap;

thread_local! {
    /// Panic on the n-th `Hash::hash` call from now (0: never).
    static HASH_ARM: Cell<u32> = const { Cell::new(0) };
}

/// A key or value that counts its live instances in `live`.
#[derive(Debug)]
struct Counted(u64, Arc<AtomicIsize>);

impl Counted {
    fn new(v: u64, live: &Arc<AtomicIsize>) -> Self {
        live.fetch_add(1, SeqCst);
        Counted(v, live.clone())
    }
}

impl Drop for Counted {
    fn drop(&mut self) {
        self.1.fetch_sub(1, SeqCst);
    }
}

impl PartialEq for Counted {
    fn eq(&self, o: &Self) -> bool {
        self.0 == o.0
    }
}

impl Eq for Counted {}

/// Hashes as its `u64`, so lookups can borrow a plain `u64`.
impl Hash for Counted {
    fn hash<H: Hasher>(&self, h: &mut H) {
        HASH_ARM.with(|a| match a.get() {
            0 => {}
            1 => {
                a.set(0);
                panic!("armed hash panics");
            }
            n => a.set(n - 1),
        });
        self.0.hash(h);
    }
}

impl Borrow<u64> for Counted {
    fn borrow(&self) -> &u64 {
        &self.0
    }
}

struct Live {
    keys: Arc<AtomicIsize>,
    values: Arc<AtomicIsize>,
}

impl Live {
    fn new() -> Self {
        Live {
            keys: Arc::new(AtomicIsize::new(0)),
            values: Arc::new(AtomicIsize::new(0)),
        }
    }

    fn insert(&self, m: &mut GoMap<Counted, Counted>, k: u64, v: u64) -> Option<u64> {
        m.insert(Counted::new(k, &self.keys), Counted::new(v, &self.values))
            .map(|old| old.0)
    }

    /// Live keys and values must both equal the entries the map holds.
    fn check(&self, m: &GoMap<Counted, Counted>, when: &str) {
        assert_eq!(self.keys.load(SeqCst), m.len() as isize, "live keys {when}");
        assert_eq!(
            self.values.load(SeqCst),
            m.len() as isize,
            "live values {when}"
        );
    }

    fn none_left(&self, when: &str) {
        assert_eq!(self.keys.load(SeqCst), 0, "live keys {when}");
        assert_eq!(self.values.load(SeqCst), 0, "live values {when}");
    }
}

/// Inserts keys from `from` until a doubling is in progress; returns the
/// next unused key.
fn until_growing(live: &Live, m: &mut GoMap<Counted, Counted>, from: u64) -> u64 {
    let mut k = from;
    while !m.is_growing() {
        assert_eq!(live.insert(m, k, k), None);
        k += 1;
    }
    k
}

#[test]
fn overwrite_remove_clear_drop_count_exactly() {
    let live = Live::new();
    let n = if cfg!(miri) { 40 } else { 500 };
    {
        let mut m = GoMap::new();
        for k in 0..n {
            assert_eq!(live.insert(&mut m, k, k), None);
        }
        live.check(&m, "after inserts");
        // Overwrite: the replaced value goes back to us (and drops here);
        // the map keeps its first key, so the new key drops too.
        for k in 0..n {
            assert_eq!(live.insert(&mut m, k, k + 1), Some(k));
        }
        live.check(&m, "after overwrites");
        for k in (0..n).step_by(3) {
            assert_eq!(m.remove(&k).map(|v| v.0), Some(k + 1));
        }
        live.check(&m, "after removes");
        m.clear();
        live.check(&m, "after clear");
        assert!(m.is_empty());
        for k in 0..n / 2 {
            live.insert(&mut m, k, k);
        }
        live.check(&m, "after refill");
    }
    live.none_left("after drop");
}

#[test]
fn drop_and_clear_mid_growth_count_exactly() {
    let live = Live::new();
    {
        let mut m = GoMap::new();
        let next = until_growing(&live, &mut m, 0);
        assert!(m.is_growing() && m.old_buckets_remaining() > 0);
        live.check(&m, "mid-growth");
        m.clear();
        live.check(&m, "after a clear mid-growth");
        let next = until_growing(&live, &mut m, next);
        // Some entries moved to the new array, some still in the old one.
        assert_eq!(live.insert(&mut m, next, next), None);
        assert!(m.is_growing());
        live.check(&m, "mid-growth, again");
    }
    live.none_left("after a drop mid-growth");
}

/// A `Hash` that panics while a write evacuates an old bucket. Go hashes
/// each key as it moves it; a panic after the first move used to leave the
/// head bucket marked evacuated with the rest of its chain unreachable.
/// Every n in 2..=12 (2..=4 under Miri) arms a different point of the evacuation (call 1 is
/// the inserted key's own hash).
#[test]
fn panicking_hash_during_evacuation_loses_no_entry() {
    let live = Live::new();
    let mut panicked = 0;
    // Under Miri (which runs this with leak checks), three arms: each
    // checks every key after every write.
    let last = if cfg!(miri) { 4 } else { 12 };
    for arm in 2..=last {
        let mut m = GoMap::new();
        let next = until_growing(&live, &mut m, 0);
        HASH_ARM.with(|a| a.set(arm));
        let r = catch_unwind(AssertUnwindSafe(|| live.insert(&mut m, next, next)));
        HASH_ARM.with(|a| a.set(0));
        if r.is_err() {
            panicked += 1;
            assert_eq!(
                m.len(),
                next as usize,
                "arm {arm}: the failed insert added nothing"
            );
        }
        live.check(&m, "after the panic");
        // Every key, after every further write, until the growth is done.
        let mut k = next + 1;
        loop {
            for j in 0..next {
                assert_eq!(m.get(&j).map(|v| v.0), Some(j), "arm {arm}: key {j}");
            }
            if !m.is_growing() {
                break;
            }
            live.insert(&mut m, k, k);
            k += 1;
        }
        live.check(&m, "after the growth");
    }
    assert!(panicked > 1, "only {panicked} arms hit an evacuation");
    live.none_left("after the maps dropped");
}

/// A hasher that sends every key to one of four chains: long overflow
/// chains, so an array's preallocated spare overflow buckets run out and
/// heap ones follow them in the same chains.
#[derive(Clone, Default)]
struct FourChains(u64);

impl Hasher for FourChains {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.wrapping_mul(31).wrapping_add(u64::from(b));
        }
    }

    fn write_u64(&mut self, x: u64) {
        self.0 = x;
    }

    fn finish(&self) -> u64 {
        // Top byte (the tophash) from the key, low bits (the bucket) from
        // the key mod 4.
        (self.0 << 56) | (self.0 % 4)
    }
}

impl std::hash::BuildHasher for FourChains {
    type Hasher = FourChains;

    fn build_hasher(&self) -> FourChains {
        FourChains(0)
    }
}

#[test]
fn spare_and_heap_overflow_buckets_count_exactly() {
    let live = Live::new();
    let n = if cfg!(miri) { 150 } else { 600 };
    {
        let mut m: GoMap<Counted, Counted, FourChains> = GoMap::with_hasher(FourChains(0));
        let insert = |m: &mut GoMap<Counted, Counted, FourChains>, k: u64, v: u64| {
            m.insert(Counted::new(k, &live.keys), Counted::new(v, &live.values))
                .map(|old| old.0)
        };
        let check = |m: &GoMap<Counted, Counted, FourChains>, when: &str| {
            assert_eq!(live.keys.load(SeqCst), m.len() as isize, "live keys {when}");
            assert_eq!(
                live.values.load(SeqCst),
                m.len() as isize,
                "live values {when}"
            );
        };
        for k in 0..n {
            assert_eq!(insert(&mut m, k, k), None);
        }
        // n keys in four chains of 8-slot buckets need about n / 8 overflow
        // buckets, more than the 2^(B-4) spares of a 2^B-bucket array.
        let spares = m.bucket_count() / 16;
        let overflow = m.growth_stats().overflow_buckets as usize;
        assert!(
            overflow > spares && spares > 0,
            "{overflow} overflow buckets, {spares} spares"
        );
        check(&m, "after inserts");
        for k in 0..n {
            assert_eq!(insert(&mut m, k, k + 1), Some(k), "key {k}");
        }
        for k in (0..n).step_by(3) {
            assert_eq!(m.remove(&k).map(|v| v.0), Some(k + 1));
        }
        check(&m, "after overwrites and removes");
        m.clear();
        check(&m, "after clear");
        // The refill reuses the spares `clear` made unused again.
        for k in 0..n {
            assert_eq!(insert(&mut m, k, k), None);
        }
        for k in 0..n {
            assert_eq!(m.get(&k).map(|v| v.0), Some(k), "key {k} after refill");
        }
        check(&m, "after refill");
    }
    live.none_left("after drop");
}
