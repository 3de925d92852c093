//! The progress bar: an indicatif bar on stderr (hidden when stderr is not
//! a terminal), fed by the load engine's `Progress` events.

use indicatif::{ProgressBar, ProgressStyle};
use mapknee_load::{Phase, Progress, Step};

use crate::render::fmt_rate;

pub(crate) struct Bar(ProgressBar);

impl Bar {
    pub(crate) fn new(steps: u64) -> Self {
        let bar = ProgressBar::new(steps);
        bar.set_style(
            ProgressStyle::with_template("{elapsed:>4} [{bar:30}] {pos}/{len} {msg}")
                .expect("valid template")
                .progress_chars("=> "),
        );
        Bar(bar)
    }

    pub(crate) fn finish(&self) {
        self.0.finish_and_clear();
    }

    /// Item `done + 1` of `total` has started: for work counted in items
    /// rather than steps (the atomics catalogue).
    pub(crate) fn item(&self, done: usize, total: usize, what: &str) {
        self.0.set_length(total as u64);
        self.0.set_position(done as u64);
        self.0.set_message(what.to_string());
    }

    /// Bisection can end early, so the bar's length is an upper bound.
    pub(crate) fn println(&self, line: &str) {
        self.0.suspend(|| eprintln!("{line}"));
    }
}

impl Progress for Bar {
    fn step_started(&self, map: &str, mix: &str, phase: &Phase) {
        let what = match phase {
            Phase::Probe => "probing capacity".to_string(),
            Phase::Ladder(r) => format!("{}/s", fmt_rate(*r)),
            Phase::Refine(r) => format!("{}/s (refine)", fmt_rate(*r)),
            Phase::Floor(r) => format!("{}/s (noise floor)", fmt_rate(*r)),
            Phase::Scale(n) => format!("{n} threads"),
        };
        self.0.set_message(format!("{map} · {mix} · {what}"));
    }

    fn step_finished(&self, _: &str, _: &str, _: &Phase, _: &Step) {
        self.0.inc(1);
    }
}
