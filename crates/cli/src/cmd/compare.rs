//! `mapknee compare BASE.json NEW.json` (or `--base A.json B.json --new
//! C.json D.json`, pooling each side's files): what changed, run by run
//! and step by step, with a verdict; exit status 1 on a regression.

use std::fmt::Write;
use std::path::PathBuf;

use mapknee_analyze::compare::{
    compare_placed, Basis, Comparison, Figure, FigureChange, PlacementCheck, Verdict,
    DEFAULT_THRESHOLD_PCT, FLOOR_SPREAD, MAX_OUTSIDE_SHARE, MIN_REPETITIONS, PLACEMENT_SPREAD,
};
use mapknee_load::Results;
use mapknee_report::table::machine_line;

use crate::args::{CompareArgs, Format};
use crate::render::{fmt_ns, fmt_rate};
use crate::{CliError, Outcome};

/// The two sides' files: `BASE.json NEW.json`, or `--base … --new …`.
fn sides(args: &CompareArgs) -> Result<(Vec<PathBuf>, Vec<PathBuf>), CliError> {
    match (
        args.files.as_slice(),
        args.base.is_empty(),
        args.new.is_empty(),
    ) {
        ([base, new], true, true) => Ok((vec![base.clone()], vec![new.clone()])),
        ([], false, false) => Ok((args.base.clone(), args.new.clone())),
        _ => Err(CliError::usage(
            "give BASE.json NEW.json, or --base FILE... --new FILE... (not both forms)",
        )),
    }
}

pub(crate) fn run(args: CompareArgs) -> Result<Outcome, CliError> {
    let given = super::objective(args.slo.as_deref())?;
    let threshold = args.threshold.unwrap_or(DEFAULT_THRESHOLD_PCT);
    if !(threshold.is_finite() && threshold >= 0.0) {
        return Err(CliError::usage(format!(
            "--threshold must be a non-negative percentage, got {threshold}"
        )));
    }
    if args.format == Format::Csv {
        return Err(CliError::usage(
            "--format csv is not available here: use table or json",
        ));
    }
    let (base_paths, new_paths) = sides(&args)?;
    let read = |paths: &[PathBuf]| -> Result<Vec<Results>, CliError> {
        paths.iter().map(|p| super::read_measured(p)).collect()
    };
    let (base, new) = (read(&base_paths)?, read(&new_paths)?);
    let kind = &base[0].kind;
    if let Some(other) = base.iter().chain(&new).find(|r| &r.kind != kind) {
        return Err(CliError::usage(format!(
            "cannot compare a '{kind}' result with a '{}' result",
            other.kind
        )));
    }
    // One objective for both sides: asked for, else the first base file's.
    let objective = mapknee_analyze::slo::objective_for(given, &base[0]);
    let c = compare_placed(&base, &new, threshold, &objective, args.across_placements);
    match args.format {
        Format::Json => println!(
            "{}",
            serde_json::to_string_pretty(&c).map_err(|e| CliError::runtime(e.to_string()))?
        ),
        _ => print!("{}{}{}", machines(&base, &new), shift_note(&c), table(&c)),
    }
    Ok(match c.verdict {
        Verdict::Regressed => Outcome::Regressed,
        Verdict::NotComparable => Outcome::NotComparable,
        _ => Outcome::Done,
    })
}

/// A start-up harness cost that moved by this much (percent) between the
/// sides is pointed out: the same build on the Intel development VM read
/// 46.6–82.8 ns per transaction at start-up over six runs in 20 minutes.
const MACHINE_SPREAD_PCT: f64 = 10.0;

/// The head of the table: each side's machine (its first file's, in the
/// line every `run` table starts with), and what differs between them.
fn machines(base: &[Results], new: &[Results]) -> String {
    let (Some(b), Some(n)) = (base.first(), new.first()) else {
        return String::new();
    };
    let (mb, mn) = (&b.machine, &n.machine);
    let first_of = |files: &[Results]| match files.len() {
        1 => String::new(),
        k => format!(" (first of {k} files)"),
    };
    let mut out = format!(
        "base{}: {}new{}:  {}",
        first_of(base),
        machine_line(mb),
        first_of(new),
        machine_line(mn)
    );
    let differs: Vec<&str> = [
        (mb.cpu_model != mn.cpu_model, "CPU model"),
        (mb.cpus != mn.cpus, "CPU count"),
        (mb.hasher != mn.hasher, "hasher"),
        (mb.rustc != mn.rustc, "compiler"),
        (mb.os != mn.os, "kernel"),
    ]
    .into_iter()
    .filter_map(|(d, what)| d.then_some(what))
    .collect();
    if !differs.is_empty() {
        let _ = writeln!(
            out,
            "note: the sides differ in {}: a change below may be that, not the code",
            differs.join(", ")
        );
    }
    let (hb, hn) = (mb.harness_ns_per_op, mn.harness_ns_per_op);
    let moved = (hb > 0.0 && hn > 0.0).then(|| (hn / hb - 1.0) * 100.0);
    if let Some(moved) = moved.filter(|m| m.abs() >= MACHINE_SPREAD_PCT) {
        let _ = writeln!(
            out,
            "note: the harness's cost per transaction at start-up (the same no-op map on both \
             sides) moved {} ({hb:.1} → {hn:.1} ns)",
            pct(moved)
        );
    }
    out
}

/// A note when the maps' capacities moved together past the threshold
/// (see [`mapknee_analyze::compare::CapacityShift`]), else nothing.
fn shift_note(c: &Comparison) -> String {
    match c.capacity_shift {
        Some(s) if s.shared(c.threshold_pct) => format!(
            "note: the maps' closed-loop capacities moved together, a median {} ({} of {} runs \
             the same way): a shift every map shares is most likely the machine's speed (a \
             shared VM's moves between runs minutes apart) or a change to the harness or to \
             every map alike, not one map's; the verdicts below are not corrected for it\n",
            pct(s.median_pct),
            s.same_way,
            s.runs
        ),
        _ => String::new(),
    }
}

/// A signed percentage, to 0.1 % below ±100 % and to 1 % above; `+∞ %`
/// for an SLO capacity that rose from never meeting the objective.
fn pct(x: f64) -> String {
    if x.is_infinite() {
        format!("{}∞ %", if x > 0.0 { "+" } else { "-" })
    } else if x.abs() < 100.0 {
        format!("{x:+.1} %")
    } else {
        format!("{x:+.0} %")
    }
}

/// An interval of a change with its coverage: `[-32.0 %, -28.0 %] cov. 98.4 %`
/// (`≥` when the coverage is a lower bound).
fn interval(i: Option<[f64; 2]>, coverage: Option<f64>, at_least: bool) -> String {
    let Some([lo, hi]) = i else {
        return String::new();
    };
    let cov = coverage.map_or(" cov. unstated".into(), |c| {
        format!(
            " cov. {}{:.1} %",
            if at_least { "≥ " } else { "" },
            c * 100.0
        )
    });
    format!("[{lo:+.1} %, {hi:+.1} %]{cov}")
}

/// The verdict of a figure, with what it rests on when that is the
/// threshold alone.
fn verdict(f: &FigureChange) -> String {
    if f.held_back {
        return format!(
            "{} (the runs' own {} did not move past the threshold)",
            f.verdict.label(),
            f.figure.label()
        );
    }
    match (f.basis, f.repetitions) {
        (Basis::Interval, _) => f.verdict.label().into(),
        (Basis::ThresholdOnly, [1, 1]) => {
            format!("{} (threshold only: single runs)", f.verdict.label())
        }
        (Basis::ThresholdOnly, _) => format!(
            "{} (threshold only: fewer than {MIN_REPETITIONS} repetitions per side)",
            f.verdict.label()
        ),
    }
}

/// Why a run's sides are not comparable (or were judged anyway).
fn placement_line(p: &PlacementCheck, judged: bool) -> String {
    let [rb, rn] = p.reference_ns;
    let [ob, on] = p.outside_share;
    // The floors are named when they are (part of) why.
    let floors = match p.floor_p99_ns {
        Some([fb, fn_]) if !p.floors_agree() => format!(
            " · noise floor p99 base {} · new {} (more than {FLOOR_SPREAD}× apart)",
            fmt_ns(fb as u64),
            fmt_ns(fn_ as u64)
        ),
        _ => String::new(),
    };
    format!(
        "placement     base {rb:.0} ns ({:.0} % outside) · new {rn:.0} ns ({:.0} % outside){floors}: {}",
        ob * 100.0,
        on * 100.0,
        if judged {
            "the machine changed; judged anyway (--across-placements)"
        } else {
            "the machine changed; not judged"
        }
    )
}

fn table(c: &Comparison) -> String {
    let mut out = String::new();
    for r in &c.runs {
        let name = if r.base_map == r.new_map {
            r.base_map.clone()
        } else {
            format!("{} → {}", r.base_map, r.new_map)
        };
        let files = match r.files {
            [1, 1] => String::new(),
            [b, n] => format!(" ({b} vs {n} files)"),
        };
        let _ = writeln!(out, "{name} · {}{files}: {}", r.mix, r.verdict.label());
        let judged_run = r.verdict != Verdict::NotComparable;
        if let Some(p) = r.placement.filter(|p| !p.comparable) {
            let _ = writeln!(out, "    {}", placement_line(&p, judged_run));
        }
        if r.figures.is_empty() {
            let _ = writeln!(out, "    no common figure to judge by");
        }
        for f in &r.figures {
            // An SLO capacity of 0 is a map that never met the objective.
            let rate = |v: f64| match f.figure {
                Figure::SloCapacity if v == 0.0 => "never".to_string(),
                _ => format!("{}/s", fmt_rate(v)),
            };
            let values = match (f.base, f.new) {
                (Some(b), Some(n)) => format!("{} → {}", rate(b), rate(n)),
                _ => "median change over the steps".into(),
            };
            let [nb, nn] = f.repetitions;
            let bounds = match f.lower_bounds {
                [0, 0] => String::new(),
                [b, n] => format!(" ({b} + {n} lower bounds)"),
            };
            let _ = writeln!(
                out,
                "    {:<13} {values:<24} {:>8}  {:<32} {nb} vs {nn} rep.{bounds}  {}",
                f.figure.label(),
                pct(f.change_pct),
                interval(f.interval_pct, f.interval_coverage, false),
                if judged_run { verdict(f) } else { "–".into() }
            );
            if let (Some([b, n]), Some(change)) = (f.reported, f.reported_change_pct) {
                let _ = writeln!(
                    out,
                    "    {:<13} {:<24} {:>8}",
                    "  runs' own",
                    format!("{} → {}", rate(b), rate(n)),
                    pct(change),
                );
            }
        }
        for s in &r.steps {
            // Steps are information: name the basis only of a change called,
            // and call none in a run the placement check withheld.
            let basis = match (s.basis, s.verdict) {
                _ if !judged_run => "",
                (Basis::ThresholdOnly, Verdict::Improved | Verdict::Regressed) => {
                    " (threshold only)"
                }
                _ => "",
            };
            let called = if judged_run { s.verdict.label() } else { "–" };
            let _ = writeln!(
                out,
                "      {:>8}/s  p99 {:>9} → {:>9} {:>8} {:<34} achieved {:>8}  {}{basis}",
                fmt_rate(s.target_ops_per_sec),
                fmt_ns(s.base_p99_ns),
                fmt_ns(s.new_p99_ns),
                pct(s.p99_change_pct),
                interval(s.p99_interval_pct, s.p99_interval_coverage, true),
                pct(s.achieved_change_pct),
                called
            );
        }
    }
    for u in &c.unpaired {
        let _ = writeln!(out, "unpaired: {u}");
    }
    let judged = c.runs.iter().flat_map(|r| &r.figures);
    if c.files != [1, 1] {
        let _ = writeln!(
            out,
            "note: pooled {} base and {} new files: each map and mix's repetitions are judged \
             together (a single run counts as one); the steps shown are the first file's of each \
             side",
            c.files[0], c.files[1]
        );
    }
    if judged.clone().any(|f| f.repetitions == [1, 1]) {
        out.push_str(
            "note: figures marked 1 vs 1 rep. come from single runs: no noise was measured, so \
             their verdicts rest on the threshold alone (on a small or busy machine, run both \
             sides with --repeat 5, or pool 5 files per side)\n",
        );
    }
    if judged
        .clone()
        .any(|f| f.basis == Basis::ThresholdOnly && f.repetitions != [1, 1])
    {
        let _ = writeln!(
            out,
            "note: with fewer than {MIN_REPETITIONS} repetitions per side no change is called \
             significant: the interval is shown with its actual coverage (cov.), but the verdict \
             rests on the threshold alone"
        );
    }
    if judged.clone().any(|f| f.reported.is_some()) {
        out.push_str(
            "note: \"runs' own\" is the figure each run reported (its knee and SLO capacity: \
             the median of its repetitions' own, in files from 2026-12-02 on, found on the curve \
             of its steps' medians before; its capacity: the median of its probes); the line \
             above it is the median of each repetition's own figure, and its interval; a change \
             is called only when both moved past the threshold the same way\n",
        );
    }
    if judged.clone().any(|f| f.lower_bounds != [0, 0]) {
        out.push_str(
            "note: a lower bound is a repetition that found no knee, or whose ladder never \
             saturated the map, or that met the latency objective through its highest rate; a \
             drop counts only when the new side has none, a rise only when the base side has \
             none\n",
        );
    }
    if c.runs
        .iter()
        .flat_map(|r| &r.steps)
        .any(|s| s.p99_interval_pct.is_some())
    {
        out.push_str(
            "note: a step's interval joins the two p99 intervals (order statistics of the \
             repetitions); it holds the true change at least as often as both hold their medians \
             (cov. ≥)\n",
        );
    }
    if judged.clone().any(|f| f.figure == Figure::SloCapacity) {
        let _ = writeln!(
            out,
            "note: SLO capacity: where the percentile reaches the latency objective {}, read \
             between the highest offered rate kept up with inside it and the step that broke it \
             (never: the map's base already exceeds it)",
            c.objective
        );
    }
    let unjudged = c
        .runs
        .iter()
        .filter(|r| r.verdict == Verdict::NotComparable)
        .count();
    if unjudged > 0 {
        let _ = writeln!(
            out,
            "note: {unjudged} of {} runs not judged: their two sides were held to core placements \
             whose cache-line transfer times differ by more than {PLACEMENT_SPREAD}x, or one side \
             took more than {:.0} % of its measurements outside its own, or their noise floors \
             (the no-op map's p99) lie more than {FLOOR_SPREAD}x apart; the host changed the \
             machine under them, and contended maps' knees move with it (README: the machine \
             moves under you). Rerun both sides, or judge anyway with --across-placements",
            c.runs.len(),
            MAX_OUTSIDE_SHARE * 100.0
        );
    } else if c.across_placements
        && c.runs
            .iter()
            .any(|r| r.placement.is_some_and(|p| !p.comparable))
    {
        out.push_str(
            "note: --across-placements: runs whose sides measured different placements were \
             judged anyway; their changes include the machine's\n",
        );
    }
    let m = judged
        .clone()
        .filter(|f| f.basis == Basis::Interval)
        .count();
    let rule = match c.family_coverage {
        Some(family) if m > 0 => format!(
            "a figure changed when its change passes the threshold and its interval excludes no \
             change; intervals: Hodges–Lehmann (Mann–Whitney), exact, each asked {:.2} %; all {m} \
             hold together with probability ≥ {:.1} %",
            c.confidence * 100.0,
            family * 100.0
        ),
        _ => "a figure changed when its change passes the threshold and, with repetitions, \
              they do not overlap"
            .into(),
    };
    // The figures behind the verdict, in one place: with 15 runs they are
    // otherwise scattered over a screenful of lines.
    let changed: Vec<String> = c
        .runs
        .iter()
        .filter(|r| r.verdict != Verdict::NotComparable)
        .flat_map(|r| {
            r.figures
                .iter()
                .filter(|f| matches!(f.verdict, Verdict::Improved | Verdict::Regressed))
                .map(move |f| {
                    format!(
                        "{} · {} {} {} ({})",
                        r.new_map,
                        r.mix,
                        f.figure.label(),
                        pct(f.change_pct),
                        f.verdict.label()
                    )
                })
        })
        .collect();
    if !changed.is_empty() {
        let _ = writeln!(out, "changed: {}", changed.join("; "));
    }
    // Say so when every figure behind the verdict rests on the threshold alone.
    let by_threshold = matches!(c.verdict, Verdict::Improved | Verdict::Regressed)
        && judged
            .filter(|f| f.verdict == c.verdict)
            .all(|f| f.basis == Basis::ThresholdOnly);
    let _ = writeln!(
        out,
        "verdict: {}{} (threshold {:.0} %; {rule})",
        c.verdict.label(),
        if by_threshold { ", threshold only" } else { "" },
        c.threshold_pct
    );
    out
}
