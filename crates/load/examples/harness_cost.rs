//! Measures the harness's own cost per recorded transaction on the no-op
//! map, and its parts: `cargo run --release -p mapknee-load --example harness_cost`.

use std::hint::black_box;
use std::time::Duration;

use mapknee_load::{harness_cost, hist, Clock, Dist, TxnGen, Workload};
use mapknee_maps::Noop;

fn main() {
    let clock = Clock::new();
    println!("clock read: {:.1} ns", clock.overhead_ns());
    let w = Workload::new(
        65_536,
        0.0,
        Dist::Uniform,
        "read-mostly".parse().unwrap(),
        1,
    )
    .unwrap();
    let n = 5_000_000u64;

    let mut gen = TxnGen::new(&w, 0, 1, 1);
    let t = clock.ns();
    for _ in 0..n {
        gen.run_txn(&Noop);
    }
    println!(
        "key+op generation: {:.1} ns",
        (clock.ns() - t) as f64 / n as f64
    );

    let mut h = hist::new_histogram();
    let t = clock.ns();
    for i in 0..n {
        h.record(black_box(200 + (i & 1023))).unwrap();
    }
    println!(
        "histogram record (3 digits): {:.1} ns",
        (clock.ns() - t) as f64 / n as f64
    );

    for round in 0..3 {
        let c = harness_cost(&clock, Duration::from_millis(200));
        println!(
            "round {round}: open loop {:.1} ns/txn (avg {:.1}), closed loop {:.1} ns/txn (avg {:.1})",
            c.open_loop_ns, c.open_loop_avg_ns, c.closed_loop_ns, c.closed_loop_avg_ns
        );
    }
}
