//! Shows how the host's placement of the worker cores moves a map's
//! capacity: alternately measures the cache-line transfer time between the
//! first two cores and a 300 ms closed-loop step of a map on two threads.
//!
//! `cargo run --release -p mapknee-load --example placement -- sharded 10`

use std::sync::atomic::AtomicBool;
use std::time::Duration;

use mapknee_load::coherence::line_transfer_ns;
use mapknee_load::{run_map_step, Clock, StepSpec, Workload};
use mapknee_maps::{HasherKind, MapKind};

fn main() {
    let mut args = std::env::args().skip(1);
    let map: MapKind = args
        .next()
        .unwrap_or_else(|| "sharded".into())
        .parse()
        .expect("a map name");
    let rounds: usize = args.next().map_or(10, |n| n.parse().expect("a count"));
    let clock = Clock::new();
    let stop = AtomicBool::new(false);
    let w = Workload::default_for("read-mostly".parse().expect("mix"));
    let spec = StepSpec::closed(2, Duration::from_millis(50), Duration::from_millis(300));
    println!("round  line transfer   {map} txn/s (2 threads, closed loop)");
    for r in 0..rounds {
        let ns = line_transfer_ns(&clock).unwrap_or(f64::NAN);
        let step = run_map_step(&map, HasherKind::default(), &w, &spec, &clock, &stop);
        println!(
            "{r:5}  {ns:10.1} ns   {:.2}M",
            step.achieved_ops_per_sec / 1e6
        );
    }
}
