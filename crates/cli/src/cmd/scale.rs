//! `mapknee scale`: closed-loop throughput at each thread count, per map.

use std::time::Instant;

use mapknee_analyze::usl::fit_usl;
use mapknee_load::{run_scale, Ctx, ScaleConfig};

use crate::progress::Bar;
use crate::settings::ScaleSettings;
use crate::{CliError, Outcome, STOP};

pub(crate) fn run(s: ScaleSettings) -> Result<Outcome, CliError> {
    let started = Instant::now();
    let (clock, machine) = super::prepare(&s.common)?;
    let bar = Bar::new((s.common.maps.len() * s.threads.len()) as u64);
    let max_threads = s.threads.iter().copied().max().unwrap_or(1);
    let workload = s.common.workload(&s.mix);
    let skeleton = super::skeleton(
        &s.common,
        std::slice::from_ref(&workload),
        max_threads,
        "closed",
    );
    let work = |_: &mapknee_load::Phase| s.warmup + s.duration;
    let dog = super::watchdog(&bar, "scale", &machine, &s.common, skeleton, work, started);
    let mut runs = run_scale(
        &s.common.maps,
        &workload,
        &ScaleConfig {
            threads: s.threads.clone(),
            duration: s.duration,
            warmup: s.warmup,
            hasher: s.common.hasher,
            pin: s.common.pin,
        },
        &dog,
        Ctx {
            clock: &clock,
            stop: &STOP,
            measurer: None,
        },
    );
    drop(dog);
    bar.finish();
    for run in &mut runs {
        run.usl = fit_usl(&run.points);
    }
    super::finish("scale", machine, runs, vec![], None, started, &s.common)
}
