use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use mapknee_maps::GoMap;
struct Count;
static N144: AtomicUsize = AtomicUsize::new(0);
static ALL: AtomicUsize = AtomicUsize::new(0);
unsafe impl GlobalAlloc for Count {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        ALL.fetch_add(1, Relaxed);
        if l.size() == 144 { N144.fetch_add(1, Relaxed); }
        unsafe { System.alloc(l) }
    }
    unsafe fn alloc_zeroed(&self, l: Layout) -> *mut u8 { ALL.fetch_add(1, Relaxed); unsafe { System.alloc_zeroed(l) } }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) { unsafe { System.dealloc(p, l) } }
}
#[global_allocator]
static A: Count = Count;
fn scramble(mut x: u64) -> u64 {
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}
fn main() {
    let keys: Vec<u64> = (0..65_536).map(scramble).collect();
    let mut m: GoMap<u64, u64> = GoMap::new();
    let (a0, o0) = (ALL.load(Relaxed), N144.load(Relaxed));
    let mut last_b = 0;
    let mut spares_go = 0usize;
    for &k in &keys {
        m.insert(k, k);
        let b = m.bucket_count();
        if b != last_b {
            // Go's makeBucketArray: 2^(B-4) spare overflow buckets when B >= 4.
            let lb = b.trailing_zeros();
            if lb >= 4 { spares_go += 1 << (lb - 4); }
            last_b = b;
        }
    }
    let s = m.growth_stats();
    println!("65,536 inserts: {} allocations, {} of 144 B (overflow buckets); gauge now {}; Go would preallocate {} spares over the arrays; final buckets {}",
        ALL.load(Relaxed) - a0, N144.load(Relaxed) - o0, s.overflow_buckets, spares_go, m.bucket_count());
}
