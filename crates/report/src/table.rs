//! Terminal tables shaped like the study's: per mix, offered rate, then
//! achieved and p99 per map, and a bottleneck column; then one line per map
//! with its base p99, its SLO capacity under the latency objective, and its
//! knee and cause; and where `sharded` ran beside `sharded-unpadded`, what
//! false sharing cost between them.

use std::fmt::Write;

use mapknee_analyze::padding::{padding_pairs, PaddingPair, Reading, NOISE};
use mapknee_load::{Decay, HttpSetup, Machine, Objective, Results, Run, Step};

use crate::short::{fmt_ns, fmt_rate};

/// Lays out rows in columns; the first column is left-aligned, the rest
/// right-aligned except the last (free text).
fn columns(header: &[String], rows: &[Vec<String>]) -> String {
    let n = header.len();
    let width = |i: usize| {
        rows.iter()
            .map(|r| r[i].chars().count())
            .chain([header[i].chars().count()])
            .max()
            .unwrap_or(0)
    };
    let widths: Vec<usize> = (0..n).map(width).collect();
    let line = |cells: &[String]| {
        let mut s = String::from(" ");
        for (i, c) in cells.iter().enumerate() {
            let pad = " ".repeat(widths[i] - c.chars().count());
            if i == 0 || i == n - 1 {
                s.push_str(&format!(" {c}{pad}"));
            } else {
                s.push_str(&format!(" {pad}{c}"));
            }
            if i == 0 {
                s.push_str(" │");
            }
        }
        s.trim_end().to_string() + "\n"
    };
    let mut out = line(header);
    let total: usize = widths.iter().sum::<usize>() + 2 * n + 2;
    out.push_str(&format!("  {}\n", "─".repeat(total.saturating_sub(2))));
    for r in rows {
        out.push_str(&line(r));
    }
    out
}

/// The machine and build a result came from, as the first line of every
/// table (and of `compare`'s, once per side), newline-terminated.
pub fn machine_line(m: &Machine) -> String {
    format!(
        "mapknee {} · {} · {} cpus · {} · {} · hasher {} · clock {} {:.1} ns/read · harness {:.1} ns/txn{}\n",
        m.mapknee_version,
        m.cpu_model,
        m.cpus,
        m.os,
        m.rustc,
        m.hasher,
        m.clock_source,
        m.clock_overhead_ns,
        m.harness_ns_per_op,
        m.line_transfer_ns.map_or(String::new(), |[lo, mid, hi]| format!(
            " · cache line between workers {lo:.0}/{mid:.0}/{hi:.0} ns (min/median/max)"
        ))
    )
}

fn mix_title(r: &Run, http: Option<&HttpSetup>) -> String {
    if let Some(h) = http {
        return format!("{} ({})", r.mix.name, http_words(h, &r.arrivals));
    }
    let m = &r.mix;
    format!(
        "{} (get {} / insert {} / get_or_insert {} / remove {}) · {} threads · {} keys {}, prefill {} · {} txn of {} op",
        m.name, m.get, m.insert, m.get_or_insert, m.remove, r.threads, r.keys, r.dist, r.prefill,
        r.arrivals, r.ops_per_txn
    )
}

/// What an `http` run offered, in its own terms: requests, connections
/// and the service's store, not a map's threads, keys and prefill.
pub(crate) fn http_words(h: &HttpSetup, arrivals: &str) -> String {
    format!(
        "HTTP requests {} · {} connections · {} generator threads · store {} · {} arrivals",
        h.request_mix, h.connections, h.generator_threads, h.store, arrivals
    )
}

fn same(a: f64, b: f64) -> bool {
    (a - b).abs() < 0.5
}

/// The table for `results`' kind: [`scale`] for `scale` results, [`run`]
/// otherwise.
pub fn render(results: &Results) -> String {
    if results.kind == "scale" {
        scale(results)
    } else {
        run(results)
    }
}

/// A map's base and SLO capacity under `objective`: `base p99 25.0µs ·
/// p99 ≤ 1 ms to 14.11M/s · `, `… ≤ 1 ms through 24.0M/s (highest
/// offered) · `, or `base p99 2.34ms · never meets p99 ≤ 1 ms (cause
/// syncmap-misses) · `; empty when the run was not judged.
fn slo_words(r: &Run, objective: Option<&Objective>) -> String {
    let (Some(obj), Some(c)) = (objective, &r.slo) else {
        return String::new();
    };
    let base = format!("base {} {}", obj.percentile.name(), fmt_ns(c.base_ns));
    match c.ops_per_sec {
        Some(v) if c.open_ended => {
            format!(
                "{base} · {obj} through {}/s (highest offered) · ",
                fmt_rate(v)
            )
        }
        Some(v) => format!("{base} · {obj} to {}/s · ", fmt_rate(v)),
        None => format!(
            "{base} · never meets {obj}{}{} · ",
            c.base_bottleneck
                .as_deref()
                .map(|b| format!(" (cause {b})"))
                .unwrap_or_default(),
            // The no-op map missed it too: the machine decided this.
            c.floor_over(obj)
                .map(|f| format!(", as did the harness alone ({})", fmt_ns(f)))
                .unwrap_or_default()
        ),
    }
}

/// The study-shaped tables of a `run` result, one per mix, then each
/// map's base and SLO capacity beside its knee and cause.
pub fn run(results: &Results) -> String {
    let mut out = machine_line(&results.machine);
    let objective = results.slo.as_ref();
    if let Some(o) = objective {
        let _ = writeln!(
            out,
            "latency objective {o} (change with --slo): each map's SLO capacity is the rate at which its percentile reaches it, read between the highest step kept up with inside it and the step that broke it"
        );
    }
    let pairs = padding_pairs(&results.runs);
    let mut mixes: Vec<&str> = Vec::new();
    for r in &results.runs {
        if !mixes.contains(&r.mix.name.as_str()) {
            mixes.push(&r.mix.name);
        }
    }
    for mix in mixes {
        let runs: Vec<&Run> = results.runs.iter().filter(|r| r.mix.name == mix).collect();
        let _ = writeln!(
            out,
            "\n{}",
            mix_title(runs[0], results.machine.http.as_ref())
        );
        // Rows: the ladder (refinement steps are per map; they show in the
        // knee lines and the JSON).
        let mut rates: Vec<f64> = Vec::new();
        for r in &runs {
            for s in r.steps.iter().filter(|s| !s.refine) {
                if let Some(t) = s.target_ops_per_sec {
                    if !rates.iter().any(|&x| same(x, t)) {
                        rates.push(t);
                    }
                }
            }
        }
        rates.sort_by(f64::total_cmp);
        let mut header = vec!["offered/s".to_string()];
        for r in &runs {
            header.push(format!("{} ach", r.map));
            header.push(format!("{} p99", r.map));
        }
        header.push("bottleneck".into());
        let rows: Vec<Vec<String>> = rates
            .iter()
            .map(|&rate| {
                let mut row = vec![fmt_rate(rate)];
                let mut causes = Vec::new();
                for r in &runs {
                    let step = r
                        .steps
                        .iter()
                        .find(|s| s.target_ops_per_sec.is_some_and(|t| same(t, rate)));
                    match step {
                        Some(s) => {
                            // `*`: at or past this map's knee.
                            let past = r.knee.as_ref().is_some_and(|k| rate >= k.ops_per_sec - 0.5);
                            row.push(fmt_rate(s.achieved_ops_per_sec));
                            row.push(format!(
                                "{}{}",
                                fmt_ns(s.latency_ns.p99),
                                if past { "*" } else { " " }
                            ));
                            match s.bottleneck.as_deref() {
                                Some("cpu") | None => {}
                                Some(b) => causes.push(format!("{}: {b}", r.map)),
                            }
                        }
                        None => {
                            row.push("-".into());
                            row.push("- ".into());
                        }
                    }
                }
                row.push(if causes.is_empty() {
                    "cpu".into()
                } else {
                    causes.join(", ")
                });
                row
            })
            .collect();
        out.push_str(&columns(&header, &rows));
        let width = runs
            .iter()
            .map(|r| r.map.chars().count())
            .max()
            .unwrap_or(0);
        for r in &runs {
            let cap = r
                .capacity_ops_per_sec
                .map(|c| format!(" · closed-loop capacity {}/s", fmt_rate(c)))
                .unwrap_or_default();
            let base = r.steps.iter().find(|s| !s.interrupted);
            let line = match (&r.knee, base) {
                (Some(k), Some(base)) => {
                    let at = r
                        .steps
                        .iter()
                        .find(|s| s.target_ops_per_sec.is_some_and(|t| same(t, k.ops_per_sec)));
                    let p99 = at.map_or(String::new(), |s| {
                        format!(
                            " · p99 {} → {} · achieved {}/s",
                            fmt_ns(base.latency_ns.p99),
                            fmt_ns(s.latency_ns.p99),
                            fmt_rate(s.achieved_ops_per_sec)
                        )
                    });
                    let kneedle = match (k.kneedle.as_deref(), k.kneedle_ops_per_sec) {
                        (Some(word), Some(at)) => format!(" · Kneedle {word} ({}/s)", fmt_rate(at)),
                        (Some(word), None) => format!(" · Kneedle {word}"),
                        _ => String::new(),
                    };
                    let mm1 = k
                        .mm1_ops_per_sec
                        .map(|m| {
                            let model = k.reference_model.as_deref().unwrap_or("M/M/1");
                            format!(" · {model} ref {}/s", fmt_rate(m))
                        })
                        .unwrap_or_default();
                    let range = k
                        .ops_per_sec_range
                        .map(|[lo, hi]| format!(" [repeats {}–{}]", fmt_rate(lo), fmt_rate(hi)))
                        .unwrap_or_default();
                    format!(
                        "knee at {}/s{range} ({}) · cause {}{p99}{kneedle}{mm1}{cap}",
                        fmt_rate(k.ops_per_sec),
                        k.rule,
                        k.bottleneck
                    )
                }
                _ => {
                    let top = r
                        .steps
                        .iter()
                        .filter_map(|s| s.target_ops_per_sec)
                        .fold(0.0, f64::max);
                    format!("no knee up to {}/s{cap}", fmt_rate(top))
                }
            };
            let pad = " ".repeat(width - r.map.chars().count());
            let _ = writeln!(out, "  {}{pad}  {}{line}", r.map, slo_words(r, objective));
        }
        for pair in pairs.iter().filter(|p| p.mix == mix) {
            let _ = writeln!(out, "  {}", padding_line(pair));
        }
        if let Some(line) = stall_line(&runs) {
            let _ = writeln!(out, "  {line}");
        }
    }
    if !pairs.is_empty() {
        out.push('\n');
        out.push_str(&padding_note());
        out.push('\n');
    }
    if !results.decay.is_empty() {
        out.push_str(&decay(&results.decay));
    }
    out.push_str(
        "\noffered: target rate/s; ach: achieved rate/s; p99: latency from *intended* start \
         (coordinated-omission corrected); *: at or past the knee.\n\
         knee: first step whose typical p99 (median of its 10 ms windows' p99) is ≥ 3× its \
         reference (the larger of the base's and the map's own p99 at half the rate), the \
         noise floor's and the step's own machine stalls (p99x3), or that completed < 95 % of its arrivals (throughput), \
         confirmed by a fresh step past it; the knee rate is where the p99 crosses that line \
         between the step below and that step (log-log); base: the median of the three lowest steps.\n\
         SLO capacity (p99 ≤ 1 ms unless --slo says otherwise: a map call's share of a service \
         request's few-ms budget): where the objective's percentile of the steps (for p99, the \
         column above) reaches the bound, read (log-log) between the highest offered rate kept up with \
         (≥ 95 % of arrivals) within it and the step that broke it, that break confirmed by the next step as a \
         knee is, or, for the last step, by falling behind above the map's closed-loop capacity (the rate kept up with itself when only the throughput broke it); never meets: its base (median of the three lowest steps) already exceeds it, \
         cause: the base's bottleneck.\n\
         bottleneck: lock-contention, syncmap-misses or growth when that mechanism holds the largest \
         measured share of the latency; cpu when the workers were >= 90 % busy (or queued no more \
         than their load predicts); saturation when they fell behind; unexplained when they queued \
         while mostly idle (OS preemption or the harness: compare the noise floor).\n",
    );
    out
}

/// What the false-sharing line under a mix means.
pub(crate) fn padding_note() -> String {
    format!(
        "false sharing: the unpadded twin packs the shard locks side by side, so two threads on \
         *different* shards still take turns owning one cache line; its knee, capacity and p99 \
         (below both knees) over the padded map's are what that costs here. Visible only when it \
         goes past how far two runs agree (±{:.0} %) and, with --repeat, the knees' ranges are \
         apart. With 2 cores the two workers seldom write neighbouring locks at the same moment, \
         so expect little; the cost grows with the threads that can collide.",
        NOISE * 100.0
    )
}

/// The machine's stalls over a mix's open-loop steps: the range of the
/// steps' typical longest stall, and the largest share of the workers' time
/// stalled. `None` when no step measured stalls.
fn stall_line(runs: &[&Run]) -> Option<String> {
    let steps: Vec<(&Step, usize)> = runs
        .iter()
        .flat_map(|r| r.steps.iter().map(move |s| (s, r.threads)))
        .filter(|(s, _)| s.stalls.is_some() && s.duration_s > 0.0)
        .collect();
    let typical = steps
        .iter()
        .map(|(s, _)| s.stalls.map_or(0, |st| st.typical_longest_ns));
    let (lo, hi) = (typical.clone().min()?, typical.max()?);
    let share = steps
        .iter()
        .map(|(s, threads)| s.stalls.map_or(0.0, |st| st.share(*threads, s.duration_s)))
        .fold(0.0, f64::max);
    // A step whose workers never waited (saturated) saw no stall.
    let lo = if lo == 0 { "none".into() } else { fmt_ns(lo) };
    Some(format!(
        "machine stalls: a step's typical 10 ms window lost its workers for {lo} to {} at a time (up to {:.1} % of their time in a step); no knee is called below 3× a step's own",
        fmt_ns(hi),
        share * 100.0
    ))
}

/// One mix's false-sharing comparison: `sharded-unpadded` over `sharded`.
pub(crate) fn padding_line(p: &PaddingPair) -> String {
    let ratio = |r: Option<f64>| r.map_or("-".to_string(), |r| format!("{r:.2}x"));
    let knee = |k: Option<f64>| k.map_or("none".to_string(), |k| format!("{}/s", fmt_rate(k)));
    let p99 = match (p.p99_ratio_median(), p.p99_ratio_max()) {
        (Some(m), Some((at, max))) => format!(
            "p99 below both knees {m:.2}x median, {max:.2}x max (at {}/s; {} steps)",
            fmt_rate(at),
            p.p99_ratios.len()
        ),
        _ => "p99: no common step below both knees".into(),
    };
    let verdict = match p.reading() {
        Reading::Visible => "visible".to_string(),
        Reading::Faster => "not visible (the unpadded map came out faster: noise)".into(),
        Reading::Overlapping => "not visible (the knees' repetition ranges overlap)".into(),
        Reading::InsideNoise => format!("not visible (inside ±{:.0} %)", NOISE * 100.0),
    };
    format!(
        "false sharing, {} over {}: knee {} ({} vs {}) · capacity {} · {p99} · {verdict}",
        p.unpadded,
        p.padded,
        ratio(p.knee_ratio()),
        knee(p.knees[1]),
        knee(p.knees[0]),
        ratio(p.capacity_ratio),
    )
}

/// A coefficient with its interval: `+1.02 [+0.91, +1.13]`.
fn coef(value: f64, ci: Option<[f64; 2]>) -> String {
    match ci {
        Some([lo, hi]) => format!("{value:+.2} [{lo:+.2}, {hi:+.2}]"),
        None => format!("{value:+.2}"),
    }
}

/// The decay model's footer: per map, each coefficient with its 95 %
/// t-interval, what was fitted, and how to read it.
fn decay(fits: &[Decay]) -> String {
    let mut out = String::from(
        "\ndecay model, ln(p99/base) = a + b·x + c·w + d·w·x (x = ln(1+q) = −ln(1−ρ), \
         ρ = offered/capacity, w = write share; saturated steps left out; \
         [95 % t-intervals from the OLS standard errors]):\n",
    );
    let width = fits
        .iter()
        .map(|d| d.map.chars().count())
        .max()
        .unwrap_or(0);
    for d in fits {
        let writes = if d.writes_fitted {
            format!("c {}  d {}", coef(d.c, d.c_ci), coef(d.d, d.d_ci))
        } else {
            "c, d not fitted (one write share)".into()
        };
        let dropped = match d.saturated_dropped {
            0 => String::new(),
            n => format!(", {n} saturated left out"),
        };
        let pad = " ".repeat(width - d.map.chars().count());
        let _ = writeln!(
            out,
            "  {}{pad}  a {}  b {}  {writes}  R² {:.2}  ({} steps{dropped}; base p99 {})",
            d.map,
            coef(d.a, d.a_ci),
            coef(d.b, d.b_ci),
            d.r2,
            d.n,
            fmt_ns(d.base_p99_ns)
        );
    }
    out.push_str(
        "  a: tail at no load (p99 ≈ e^a × base); b: growth with load (1 = one M/M/1 queue); \
         c: cost of writes; d: how much writes steepen the growth (large for sync.Map).\n",
    );
    out
}

/// The throughput-per-thread-count table of a `scale` result.
pub fn scale(results: &Results) -> String {
    let mut out = machine_line(&results.machine);
    let Some(first) = results.runs.first() else {
        return out;
    };
    let m = &first.mix;
    let _ = writeln!(
        out,
        "\nclosed loop · {} (get {} / insert {} / get_or_insert {} / remove {}) · {} keys {}, prefill {} · {} op per txn",
        m.name, m.get, m.insert, m.get_or_insert, m.remove, first.keys, first.dist, first.prefill,
        first.ops_per_txn
    );
    let mut threads: Vec<usize> = Vec::new();
    for r in &results.runs {
        for p in &r.points {
            if !threads.contains(&p.threads) {
                threads.push(p.threads);
            }
        }
    }
    threads.sort_unstable();
    let mut header = vec!["map".to_string()];
    for t in &threads {
        header.push(format!("{t} thr ops/s"));
        header.push(format!("{t} thr p99"));
    }
    header.push("scaling".into());
    let rows: Vec<Vec<String>> = results
        .runs
        .iter()
        .map(|r| {
            let mut row = vec![r.map.clone()];
            for t in &threads {
                match r.points.iter().find(|p| p.threads == *t) {
                    Some(p) => {
                        row.push(fmt_rate(p.ops_per_sec));
                        row.push(fmt_ns(p.p99_ns));
                    }
                    None => row.extend(["-".to_string(), "-".to_string()]),
                }
            }
            let scaling = match (r.points.first(), r.points.last()) {
                (Some(a), Some(b)) if r.points.len() > 1 && a.ops_per_sec > 0.0 => format!(
                    "×{:.2} from {} to {} threads",
                    b.ops_per_sec / a.ops_per_sec,
                    a.threads,
                    b.threads
                ),
                _ => String::new(),
            };
            row.push(scaling);
            row
        })
        .collect();
    out.push_str(&columns(&header, &rows));
    let fitted: Vec<_> = results
        .runs
        .iter()
        .filter_map(|r| r.usl.map(|u| (r, u)))
        .collect();
    if !fitted.is_empty() {
        out.push_str("\nUniversal Scalability Law, X(N) = λN / (1 + σ(N−1) + κN(N−1)):\n");
        for (r, u) in fitted {
            let peak = u
                .peak_threads
                .map_or("none".to_string(), |n| format!("{n:.1} threads"));
            let trust = if u.trusted {
                String::new()
            } else {
                format!(" · not trusted: {} thread counts (needs ≥ 6)", u.points)
            };
            let _ = writeln!(
                out,
                "  {:<16} σ {:.4}  κ {:.5}  λ {}/s  peak {peak}  R² {:.3}{trust}",
                r.map,
                u.sigma,
                u.kappa,
                fmt_rate(u.lambda),
                u.r2
            );
        }
    }
    out
}
