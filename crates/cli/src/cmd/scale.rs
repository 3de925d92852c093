//! `mapknee scale`: closed-loop throughput at each thread count, per map.

use std::sync::atomic::Ordering;
use std::time::Instant;

use mapknee_analyze::usl::fit_usl;
use mapknee_load::{run_scale, Ctx, Results, ScaleConfig, SCHEMA};

use crate::args::Format;
use crate::progress::Bar;
use crate::render;
use crate::settings::ScaleSettings;
use crate::{CliError, Outcome, STOP};

pub(crate) fn run(s: ScaleSettings) -> Result<Outcome, CliError> {
    let started = Instant::now();
    let (clock, machine) = super::prepare(&s.common)?;
    let bar = Bar::new((s.common.maps.len() * s.threads.len()) as u64);
    let workload = s.common.workload(&s.mix);
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
        &bar,
        Ctx {
            clock: &clock,
            stop: &STOP,
        },
    );
    bar.finish();
    for run in &mut runs {
        run.usl = fit_usl(&run.points);
    }
    let interrupted = STOP.load(Ordering::Relaxed);
    let results = Results {
        schema: SCHEMA.into(),
        kind: "scale".into(),
        machine,
        runs,
        elapsed_s: started.elapsed().as_secs_f64(),
        interrupted,
        decay: vec![],
    };
    render::emit(
        &results,
        s.common.format,
        s.common.out.as_deref(),
        render::table::scale,
    )?;
    if s.common.format != Format::Table {
        eprintln!("mapknee: elapsed {:.1} s", results.elapsed_s);
    }
    Ok(if interrupted {
        Outcome::Interrupted
    } else {
        Outcome::Done
    })
}
