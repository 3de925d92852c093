//! The HTTP staircase: the load engine's ladder and bisection, driven over
//! HTTP against one or more services, interleaved (at every rate each
//! service in turn, so none meets the machine in a state the others did
//! not).
//!
//! `auto`: probe each service's closed-loop capacity, build one ladder
//! from all of them with [`mapknee_load::ladder`] (the same grid as `run`),
//! climb it, then bisect each service's knee between its last good and
//! first confirmed bad rate; "bad" is the caller's judgement (the analysis
//! crate's knee rules), as in the load engine.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use mapknee_load::{first_knee, ladder, open_loop_curve, Past, Rates, Step};

use crate::engine::{run_step, LoadShape, StepPlan, Target};
use crate::scrape::{delta, fetch_blocking, parse};
use crate::workload::KeyStream;
use crate::HttpError;

/// How the staircase runs.
#[derive(Debug, Clone)]
pub struct StaircaseConfig {
    /// Offered rates (`auto`, or explicit).
    pub rates: Rates,
    /// Measured time per step.
    pub step: Duration,
    /// Warm-up per step.
    pub warmup: Duration,
    /// Closed-loop probe per service (`auto`).
    pub probe: Duration,
    /// Ladder size (`auto`).
    pub ladder_steps: usize,
    /// Lowest ladder rate as a fraction of the smallest capacity.
    pub ladder_lo: f64,
    /// Highest ladder rate as a fraction of the largest capacity.
    pub ladder_hi: f64,
    /// Bisection steps per service.
    pub refine_steps: usize,
    /// Connections, threads, cores, arrivals, mix.
    pub shape: LoadShape,
}

/// One service under test.
#[derive(Debug)]
pub struct Service {
    /// What to call it in the results (the map's name).
    pub name: String,
    /// Where it listens.
    pub target: Target,
    /// Its live order ids.
    pub keys: Arc<KeyStream>,
}

/// What the staircase is doing, for a progress display.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Phase {
    /// Closed-loop capacity probe.
    Probe,
    /// A ladder step at this rate.
    Ladder(f64),
    /// A bisection step at this rate.
    Refine(f64),
}

/// What the staircase measured for one service.
#[derive(Debug, Clone, Default)]
pub struct Climbed {
    /// Open-loop steps, sorted by rate.
    pub steps: Vec<Step>,
    /// The closed-loop probe's rate (`auto`).
    pub capacity: Option<f64>,
    /// Requests that failed (connection errors, timeouts, 5xx) over all
    /// steps, and the first reason.
    pub errors: u64,
    /// The first failure's reason.
    pub first_error: Option<String>,
}

/// Runs one step against `svc` with the service's figures scraped around
/// it (`server_*` counters; none when it has no `/metrics`).
pub fn measured_step(
    svc: &Service,
    shape: &LoadShape,
    plan: StepPlan,
    stop: &'static AtomicBool,
) -> Result<(Step, crate::engine::StepErrors), HttpError> {
    let scrape = || match fetch_blocking(&svc.target, "/metrics") {
        Ok((200, text)) => Some(parse(&text)),
        _ => None,
    };
    let before = scrape();
    let (mut step, errors) = run_step(&svc.target, shape, &svc.keys, plan, stop)?;
    if let (Some(b), Some(a)) = (before, scrape()) {
        step.counters.extend(delta(&b, &a));
    }
    Ok((step, errors))
}

/// Climbs the staircase for every service; one [`Climbed`] per service, in
/// order. `past(curve, at, step)` judges a step past the knee line drawn
/// at `at` on the service's curve so far (see [`Past`]).
pub fn climb(
    services: &[Service],
    cfg: &StaircaseConfig,
    past: &Past<'_>,
    progress: &mut dyn FnMut(&str, Phase, Option<&Step>),
    stop: &'static AtomicBool,
) -> Result<Vec<Climbed>, HttpError> {
    let mut out: Vec<Climbed> = services.iter().map(|_| Climbed::default()).collect();
    let mut seed = 0x006d_6170_6b6e_6565_u64;
    let mut step_at = |i: usize,
                       rate: Option<f64>,
                       phase: Phase,
                       duration: Duration,
                       out: &mut Vec<Climbed>|
     -> Result<Option<Step>, HttpError> {
        if stop.load(Ordering::Relaxed) {
            return Ok(None);
        }
        seed = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
        progress(&services[i].name, phase, None);
        let plan = StepPlan {
            rate,
            warmup: cfg.warmup,
            duration,
            seed,
        };
        let (mut step, errors) = measured_step(&services[i], &cfg.shape, plan, stop)?;
        step.refine = matches!(phase, Phase::Refine(_));
        out[i].errors += errors.errors;
        if out[i].first_error.is_none() {
            out[i].first_error = errors.first;
        }
        progress(&services[i].name, phase, Some(&step));
        Ok(Some(step))
    };
    let rates = match &cfg.rates {
        Rates::Explicit(r) => r.clone(),
        Rates::Auto => {
            let mut caps = Vec::new();
            for i in 0..services.len() {
                if let Some(s) = step_at(i, None, Phase::Probe, cfg.probe, &mut out)? {
                    out[i].capacity = Some(s.achieved_ops_per_sec);
                    caps.push(s.achieved_ops_per_sec);
                }
            }
            ladder(&caps, cfg.ladder_steps, cfg.ladder_lo, cfg.ladder_hi)
        }
    };
    for &rate in &rates {
        for i in 0..services.len() {
            if let Some(s) = step_at(i, Some(rate), Phase::Ladder(rate), cfg.step, &mut out)? {
                out[i].steps.push(s);
            }
        }
    }
    if cfg.rates == Rates::Auto {
        // A service whose only bad step is the ladder's top has nothing to
        // confirm it: measure one rung higher, as the load engine does.
        if let (Some(&top), Some(&below)) = (rates.last(), rates.iter().rev().nth(1)) {
            for i in 0..services.len() {
                let c = open_loop_curve(&out[i].steps);
                let last_past = c.last().is_some_and(|l| past(&c, l, l));
                if last_past && first_knee(&c, past).is_none() {
                    let rung = top * top / below;
                    if let Some(s) =
                        step_at(i, Some(rung), Phase::Ladder(rung), cfg.step, &mut out)?
                    {
                        out[i].steps.push(s);
                    }
                }
            }
        }
        for i in 0..services.len() {
            let c = open_loop_curve(&out[i].steps);
            let Some(k) = first_knee(&c, past) else {
                continue;
            };
            if k == 0 {
                continue;
            }
            let rate = |s: &Step| s.target_ops_per_sec.unwrap_or(0.0);
            let (mut lo, mut hi) = (rate(&c[k - 1]), rate(&c[k]));
            for _ in 0..cfg.refine_steps {
                let mid = (lo * hi).sqrt();
                if hi / lo < 1.04 {
                    break;
                }
                let Some(m) = step_at(i, Some(mid), Phase::Refine(mid), cfg.step, &mut out)? else {
                    break;
                };
                out[i].steps.push(m.clone());
                let mid_bad = past(&open_loop_curve(&out[i].steps), &m, &m);
                // A bad midpoint is confirmed by a fresh step 3 % above it,
                // as the load engine's bisection does.
                let confirmed = mid_bad
                    && match step_at(
                        i,
                        Some(mid * 1.03),
                        Phase::Refine(mid * 1.03),
                        cfg.step,
                        &mut out,
                    )? {
                        Some(c) => {
                            out[i].steps.push(c.clone());
                            past(&open_loop_curve(&out[i].steps), &m, &c)
                        }
                        None => false,
                    };
                if confirmed {
                    hi = mid;
                } else {
                    lo = mid;
                }
            }
            out[i].steps.sort_by(|a, b| rate(a).total_cmp(&rate(b)));
        }
    }
    Ok(out)
}
