use std::hint::black_box;
use mapknee_maps::GoMap;
fn scramble(mut x: u64) -> u64 {
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}
fn main() {
    let keys: Vec<u64> = (0..65_536).map(scramble).collect();
    let n: usize = std::env::args().nth(1).map_or(300, |s| s.parse().unwrap());
    let t = std::time::Instant::now();
    for _ in 0..n {
        let mut m: GoMap<u64, u64> = GoMap::new();
        for &k in &keys { m.insert(k, k); }
        black_box(&m);
    }
    println!("{:.1} ns/insert", t.elapsed().as_nanos() as f64 / (n * keys.len()) as f64);
}
