//! The rendered page, end to end: it parses as XML, every chart plots data,
//! no `NaN`/`inf` leaks, knees and the machine are shown, and edge data
//! never breaks it.

mod common;

use mapknee_load::{Knee, Percentiles, Results, Step};
use roxmltree::{Document, Node};

/// Parses `html` (it must be well-formed XML) and runs the checks every
/// page must pass; returns the page for more checks.
fn check(html: &str) -> Document<'_> {
    for bad in ["NaN", "inf\"", "inf ", "inf,", "Infinity"] {
        assert!(!html.contains(bad), "page contains {bad:?}");
    }
    let opts = roxmltree::ParsingOptions {
        allow_dtd: true,
        ..Default::default()
    };
    let doc = Document::parse_with_options(html, opts).expect("report.html is well-formed XML");
    assert!(
        doc.descendants()
            .any(|n| n.attribute("id") == Some("machine")),
        "machine section"
    );
    for n in doc.descendants().filter(|n| n.has_tag_name("svg")) {
        assert!(has_data(n), "chart without data: {:?}", title(n));
    }
    for n in doc.descendants() {
        for a in n.attributes() {
            assert!(
                !a.value().contains("NaN") && !a.value().contains("inf"),
                "{}={}",
                a.name(),
                a.value()
            );
        }
    }
    doc
}

fn title(svg: Node) -> String {
    svg.children()
        .find(|c| c.has_tag_name("title"))
        .and_then(|t| t.text())
        .unwrap_or_default()
        .to_string()
}

/// A chart has data when a series group holds a polyline with ≥ 2 points
/// or a circle.
fn has_data(svg: Node) -> bool {
    svg.descendants()
        .filter(|n| n.attribute("class") == Some("series"))
        .any(|g| {
            g.children().any(|c| {
                (c.has_tag_name("polyline")
                    && c.attribute("points")
                        .is_some_and(|p| p.split(' ').count() >= 2))
                    || (c.has_tag_name("circle") && c.attribute("cx").is_some())
            })
        })
}

fn charts(doc: &Document) -> usize {
    doc.descendants().filter(|n| n.has_tag_name("svg")).count()
}

mod realistic {
    use super::*;

    /// Vertical markers of this class (`knee`, `kneedle`) for `map`.
    fn markers(doc: &Document<'_>, class: &str, map: &str) -> usize {
        let class = format!("marker {class}");
        doc.descendants()
            .filter(|n| {
                n.attribute("class") == Some(class.as_str()) && n.attribute("data-map") == Some(map)
            })
            .count()
    }

    #[test]
    fn run_page_parses_and_marks_every_knee() {
        let results = common::run_results();
        let html = mapknee_report::html(&results);
        let doc = check(&html);
        // Per mix: p99, achieved, 2 spectra, timelines (syncmap read-mostly:
        // highest only; the three knee runs: knee + highest) × 2 charts.
        assert_eq!(charts(&doc), 2 * 4 + (1 + 2 + 2 + 2) * 2);
        for run in &results.runs {
            let Some(knee) = &run.knee else { continue };
            let marks = markers(&doc, "knee", &run.map);
            assert!(marks > 0, "knee of {} in {}", run.map, run.mix.name);
            let labelled = doc.descendants().any(|n| {
                n.attribute("class") == Some("mlabel")
                    && n.text()
                        .is_some_and(|t| t.starts_with(&format!("{} ", run.map)))
            });
            assert!(labelled, "knee label of {}", run.map);
            if knee.kneedle_ops_per_sec.is_some() {
                assert!(
                    markers(&doc, "kneedle", &run.map) > 0,
                    "Kneedle of {}",
                    run.map
                );
            }
        }
        assert!(html.contains("class=\"marker mm1\""));
        // Timelines mark the events.
        assert!(html.contains("promotions (") && html.contains("growths_doubling ("));
        // Machine facts, escaped.
        assert!(html.contains("AMD EPYC 7B13 &lt;virtual&gt; &amp; friends"));
        assert!(
            html.contains("foldhash") && html.contains("18.5 ns") && html.contains("3 min 7 s")
        );
        // Each map keeps one colour in every chart, and maps differ.
        let color_of = |map: &str| {
            let mut colors: Vec<&str> = doc
                .descendants()
                .filter(|n| n.attribute("data-series") == Some(map))
                .flat_map(|g| g.children())
                .filter_map(|c| match c.tag_name().name() {
                    "polyline" => c.attribute("stroke"),
                    _ => c.attribute("fill"),
                })
                .collect();
            colors.sort_unstable();
            colors.dedup();
            colors
        };
        let (a, b) = (color_of("syncmap"), color_of("gomap"));
        assert_eq!((a.len(), b.len()), (1, 1), "{a:?} {b:?}");
        assert_ne!(a, b);
    }

    #[test]
    fn scale_page_shows_usl_fits_and_trust() {
        let results = common::scale_results();
        let html = mapknee_report::html(&results);
        let doc = check(&html);
        assert_eq!(charts(&doc), 2);
        assert!(html.contains("syncmap USL fit") && html.contains("gomap USL fit"));
        assert_eq!(
            html.matches("not trusted: fewer than 6 thread counts")
                .count(),
            1
        );
        for sym in ["σ", "κ", "λ", "N*", "R²"] {
            assert!(html.contains(sym), "{sym}");
        }
    }
}

mod edges {
    use super::*;

    fn empty_step(rate: Option<f64>) -> Step {
        Step {
            target_ops_per_sec: rate,
            achieved_ops_per_sec: 0.0,
            ops: 0,
            latency_ns: Percentiles::default(),
            service_ns: Percentiles::default(),
            counters: Default::default(),
            timeline: vec![],
            duration_s: 0.0,
            refine: false,
            interrupted: true,
            ..Default::default()
        }
    }

    fn run_with(f: impl Fn(&mut Results)) -> Results {
        let mut r = common::run_results();
        f(&mut r);
        r
    }

    #[test]
    fn no_runs() {
        let r = run_with(|r| r.runs.clear());
        check(&mapknee_report::html(&r));
        let r = run_with(|r| {
            r.runs.clear();
            r.kind = "scale".into();
        });
        check(&mapknee_report::html(&r));
    }

    #[test]
    fn empty_and_single_steps() {
        let r = run_with(|r| {
            r.runs[0].steps.clear();
            r.runs[1].steps.truncate(1);
            r.runs[1].knee = None;
        });
        check(&mapknee_report::html(&r));
    }

    #[test]
    fn zero_latency_and_zero_rates_are_not_plotted_on_log_axes() {
        let r = run_with(|r| {
            for run in &mut r.runs {
                run.steps = vec![empty_step(Some(0.0)), empty_step(None)];
                run.knee = None;
            }
            r.interrupted = true;
        });
        let html = mapknee_report::html(&r);
        check(&html);
        assert!(html.contains("Interrupted"));
        assert!(html.contains("no data to plot"));
    }

    #[test]
    fn all_equal_values() {
        let r = run_with(|r| {
            for run in &mut r.runs {
                for s in &mut run.steps {
                    s.target_ops_per_sec = Some(1e6);
                    s.achieved_ops_per_sec = 1e6;
                    s.latency_ns = Percentiles {
                        p50: 1000,
                        p90: 1000,
                        p99: 1000,
                        p999: 1000,
                        max: 1000,
                        mean: 1000.0,
                    };
                    for w in &mut s.timeline {
                        (w.ops, w.p99_ns) = (5, 1000);
                    }
                }
            }
        });
        check(&mapknee_report::html(&r));
    }

    #[test]
    fn non_finite_numbers_from_a_hand_edited_file() {
        let r = run_with(|r| {
            r.elapsed_s = f64::NAN;
            r.machine.clock_overhead_ns = f64::INFINITY;
            r.runs[0].knee = Some(Knee {
                ops_per_sec: f64::NAN,
                rule: "p99x3".into(),
                bottleneck: "cpu".into(),
                kneedle_ops_per_sec: Some(f64::INFINITY),
                kneedle: None,
                mm1_ops_per_sec: Some(-1.0),
                reference_model: None,
                ops_per_sec_range: None,
            });
            r.runs[1].steps[2].target_ops_per_sec = Some(f64::NAN);
            r.runs[1].steps[3].achieved_ops_per_sec = f64::NEG_INFINITY;
        });
        check(&mapknee_report::html(&r));
        let r = run_with(|r| {
            *r = common::scale_results();
            if let Some(u) = r.runs[0].usl.as_mut() {
                (u.sigma, u.kappa, u.lambda, u.peak_threads) =
                    (f64::NAN, -1.0, f64::INFINITY, None);
            }
            r.runs[1].usl = None;
        });
        check(&mapknee_report::html(&r));
    }

    #[test]
    fn markup_in_names_is_escaped() {
        let r = run_with(|r| {
            r.runs[0].map = "<script>alert(1)</script>".into();
            r.runs[1].mix.name = "a&b\"c'".into();
            r.kind = "<run>".into();
        });
        let html = mapknee_report::html(&r);
        check(&html);
        assert!(!html.contains("<script>"));
    }
}

/// The terminal table's footers.
mod table {
    use mapknee_load::Decay;

    use super::common;

    fn fit(map: &str, writes_fitted: bool) -> Decay {
        let both = |lo: f64, hi: f64| writes_fitted.then_some([lo, hi]);
        Decay {
            map: map.into(),
            a: -0.02,
            b: 1.07,
            c: if writes_fitted { 0.31 } else { 0.0 },
            d: if writes_fitted { 2.4 } else { 0.0 },
            r2: 0.93,
            n: 25,
            writes_fitted,
            a_ci: Some([-0.11, 0.07]),
            b_ci: Some([0.95, 1.19]),
            c_ci: both(0.1, 0.52),
            d_ci: both(1.8, 3.0),
            saturated_dropped: 2,
            base_p99_ns: 12_000,
        }
    }

    #[test]
    fn decay_footer_gives_each_coefficient_its_interval_and_meaning() {
        let mut r = common::run_results();
        r.decay = vec![fit("syncmap", true), fit("rwlock", false)];
        let text = mapknee_report::table::render(&r);
        let line = |map: &str| {
            text.lines()
                .find(|l| l.trim_start().starts_with(map) && l.contains(" b "))
                .unwrap_or_else(|| panic!("no decay line for {map}: {text}"))
        };
        let sync = line("syncmap");
        for part in [
            "a -0.02 [-0.11, +0.07]",
            "b +1.07 [+0.95, +1.19]",
            "c +0.31 [+0.10, +0.52]",
            "d +2.40 [+1.80, +3.00]",
            "2 saturated left out",
            "base p99 12",
        ] {
            assert!(sync.contains(part), "{part:?} in {sync}");
        }
        assert!(line("rwlock").contains("c, d not fitted"));
        assert!(text.contains("x = ln(1+q)") && text.contains("95 % t-intervals"));
        assert!(text.contains("1 = one M/M/1 queue") && text.contains("sync.Map"));
    }
}

/// The latency objective: stated in the table and the page, each map's
/// base and SLO capacity beside its knee, and a horizontal line at the
/// objective on the p99 chart and the spectra.
mod objective {
    use mapknee_load::{Objective, Results, SloCapacity};

    use super::*;

    /// The realistic fixture judged against `objective`: gomap meets it
    /// up to 2M/s in every mix; syncmap never does under write-heavy, and
    /// held it through the top rate under read-mostly.
    fn judged(objective: &str) -> Results {
        let mut r = common::run_results();
        r.slo = Some(objective.parse::<Objective>().unwrap());
        for run in &mut r.runs {
            run.slo = Some(match (run.map.as_str(), run.mix.name.as_str()) {
                ("syncmap", "write-heavy") => SloCapacity {
                    base_ns: 2_300_000,
                    base_bottleneck: Some("syncmap-misses".into()),
                    base_floor_ns: Some(20_000),
                    ..Default::default()
                },
                ("syncmap", _) => SloCapacity {
                    ops_per_sec: Some(8e6),
                    open_ended: true,
                    base_ns: 2_300,
                    at_ns: Some(21_000),
                    ..Default::default()
                },
                _ => SloCapacity {
                    ops_per_sec: Some(2e6),
                    base_ns: 3_400,
                    at_ns: Some(9_800),
                    broken_at_ops_per_sec: Some(4e6),
                    broken_by: Some("p99".into()),
                    broken_ns: Some(2_400_000),
                    ..Default::default()
                },
            });
        }
        r
    }

    /// The y of every horizontal objective line in the chart titled `t…`.
    fn objective_lines<'a>(doc: &'a Document<'a>, title_start: &str) -> Vec<Node<'a, 'a>> {
        doc.descendants()
            .filter(|n| n.has_tag_name("svg") && title(*n).starts_with(title_start))
            .flat_map(|svg| {
                svg.descendants()
                    .filter(|n| n.attribute("class") == Some("hline slo"))
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    #[test]
    fn the_p99_chart_draws_the_objective_as_a_horizontal_line() {
        let results = judged("p99<=1ms");
        let html = mapknee_report::html(&results);
        let doc = check(&html);
        let lines = objective_lines(&doc, "p99 latency (corrected) vs offered rate");
        assert_eq!(lines.len(), 2, "one per mix's p99 chart");
        for g in &lines {
            let line = g.children().find(|c| c.has_tag_name("line")).unwrap();
            assert_eq!(line.attribute("y1"), line.attribute("y2"), "horizontal");
            let label = g.children().find(|c| c.has_tag_name("text")).unwrap();
            assert_eq!(label.text(), Some("objective p99 ≤ 1 ms"));
        }
        // The spectra carry it too: 2 maps × 2 mixes.
        assert_eq!(objective_lines(&doc, "").len(), 2 + 4);
        // The summary: objective, base, SLO capacity, and a map that never
        // meets it with its cause.
        assert!(html.contains("Knees and SLO capacity <small>objective p99 ≤ 1 ms</small>"));
        assert!(html.contains("never meets p99 ≤ 1 ms on this machine (cause syncmap-misses)"));
        assert!(
            html.contains("<strong>≥ 8M</strong>"),
            "held through the top rate"
        );
        assert!(html.contains("<strong>2M</strong>"), "gomap's capacity");
        // A p99.9 objective is not a p99 line: only the spectra show it.
        let html = mapknee_report::html(&judged("p99.9<=5ms"));
        let doc = check(&html);
        assert!(objective_lines(&doc, "p99 latency (corrected)").is_empty());
        assert_eq!(objective_lines(&doc, "").len(), 4);
        // Unjudged results (files from before objectives) draw none.
        let html = mapknee_report::html(&common::run_results());
        assert!(!html.contains("hline"));
    }

    #[test]
    fn the_table_states_the_objective_and_each_maps_base_and_capacity() {
        let text = mapknee_report::table::render(&judged("p99<=1ms"));
        assert!(
            text.contains("latency objective p99 ≤ 1 ms (change with --slo)"),
            "{text}"
        );
        let line = |map: &str, nth: usize| {
            text.lines()
                .filter(|l| l.trim_start().starts_with(map) && l.contains("base p99"))
                .nth(nth)
                .unwrap_or_else(|| panic!("no line {nth} for {map}: {text}"))
                .to_string()
        };
        assert!(
            line("gomap", 0).contains("base p99 3.4µs · p99 ≤ 1 ms to 2.00M/s · knee at 4.00M/s"),
            "{text}"
        );
        assert!(
            line("syncmap", 0).contains("p99 ≤ 1 ms through 8.00M/s (highest offered) · no knee"),
            "{text}"
        );
        assert!(
            line("syncmap", 1)
                .contains("base p99 2.30ms · never meets p99 ≤ 1 ms (cause syncmap-misses) · knee"),
            "{text}"
        );
        // The noise floor was far inside 1 ms: nothing said of it; over
        // 10 µs, the machine shares the blame.
        assert!(!text.contains("harness alone"), "{text}");
        let text = mapknee_report::table::render(&judged("p99<=10us"));
        assert!(
            text.contains(
                "never meets p99 ≤ 10 µs (cause syncmap-misses), as did the harness alone (20.0µs)"
            ),
            "{text}"
        );
        // Unjudged results keep their old lines.
        let text = mapknee_report::table::render(&common::run_results());
        assert!(!text.contains("base p99") && !text.contains("latency objective"));
    }
}

/// An `http` result is described in its own terms: the table's and the
/// page's workload lines name requests, connections and the store, not
/// the map workload's threads, keys and prefill (which the HTTP run does
/// not have).
#[test]
fn http_results_describe_requests_not_a_map_workload() {
    let mut results = common::run_results();
    results.machine.http = Some(mapknee_load::HttpSetup {
        generator_cores: vec![0],
        service_cores: vec![1],
        placement: "split".into(),
        connections: 64,
        generator_threads: 4,
        store: "sqlite:memory".into(),
        request_mix: "get=90,put=5,delete=5,miss=0.05".into(),
        spawned: true,
        errors: 0,
    });
    let words = "HTTP requests get=90,put=5,delete=5,miss=0.05 · 64 connections · 4 generator threads · store sqlite:memory";
    let text = mapknee_report::table::render(&results);
    assert!(text.contains(words), "{text}");
    assert!(!text.contains("prefill"), "{text}");
    let html = mapknee_report::html(&results);
    assert!(html.contains(words), "{html}");
    assert!(!html.contains("prefilled"), "{html}");
    // A map run keeps its workload line.
    let text = mapknee_report::table::render(&common::run_results());
    assert!(
        text.contains("prefill") && !text.contains("HTTP requests"),
        "{text}"
    );
}

/// Where `sharded` ran beside `sharded-unpadded`, the table and the page
/// say per mix what false sharing cost between them, and explain it; a
/// run without the pair says nothing about it.
#[test]
fn false_sharing_is_reported_where_the_padded_pair_ran() {
    let plain = common::run_results();
    assert!(!mapknee_report::table::render(&plain).contains("false sharing"));
    let mut r = common::run_results();
    // The fixture's write-heavy pair: syncmap (knee) and gomap (knee).
    for run in &mut r.runs {
        run.map = match (run.map.as_str(), run.mix.name.as_str()) {
            ("gomap", "write-heavy") => "sharded".into(),
            ("syncmap", "write-heavy") => "sharded-unpadded".into(),
            (m, _) => m.into(),
        };
    }
    let pair = mapknee_analyze::padding::padding_pairs(&r.runs);
    assert_eq!(pair.len(), 1);
    let text = mapknee_report::table::render(&r);
    let line = text
        .lines()
        .find(|l| l.contains("false sharing, sharded-unpadded over sharded"))
        .unwrap_or_else(|| panic!("no false-sharing line: {text}"));
    let knee = format!("knee {:.2}x", pair[0].knee_ratio().unwrap());
    assert!(line.contains(&knee), "{knee} in {line}");
    assert!(line.contains("p99 below both knees") || line.contains("no common step"));
    assert!(text.contains("take turns owning one cache line"));
    let html = mapknee_report::html(&r);
    check(&html);
    assert!(html.contains("false sharing, sharded-unpadded over sharded"));
}

/// Where steps measured stalls, each mix ends with a `machine stalls`
/// line: the range of the steps' typical stall ("none" for a step whose
/// workers never waited) and the largest share of the workers' time lost;
/// a run without stall figures (older files, closed loop) has none.
#[test]
fn each_mix_names_the_machines_stalls_where_steps_measured_them() {
    let plain = common::run_results();
    let stall_lines = |text: &str| -> Vec<String> {
        text.lines()
            .filter(|l| l.trim_start().starts_with("machine stalls:"))
            .map(str::to_string)
            .collect()
    };
    assert!(stall_lines(&mapknee_report::table::render(&plain)).is_empty());
    let mut r = common::run_results();
    for run in &mut r.runs {
        let threads = run.threads as f64;
        for (i, s) in run.steps.iter_mut().enumerate() {
            // 0, 20 µs, 40 µs, …; step i lost i % of each worker's time.
            s.stalls = Some(mapknee_load::Stalls {
                count: i as u64,
                total_ns: (threads * s.duration_s * 1e9 * i as f64 / 100.0) as u64,
                longest_ns: 50_000 * i as u64,
                typical_longest_ns: 20_000 * i as u64,
            });
        }
    }
    let text = mapknee_report::table::render(&r);
    let lines = stall_lines(&text);
    let mixes = r
        .runs
        .iter()
        .map(|x| &x.mix.name)
        .collect::<std::collections::BTreeSet<_>>();
    assert_eq!(lines.len(), mixes.len(), "{text}");
    let last = r.runs[0].steps.len() - 1;
    let top = format!(
        "none to {}",
        mapknee_report::short::fmt_ns(20_000 * last as u64)
    );
    let share = format!("up to {last}.0 %");
    for l in lines {
        assert!(
            l.contains(&top) && l.contains(&share),
            "{top}, {share} in {l}"
        );
    }
}
