//! Pages, tables and CSV for the cost commands: `memory` (bytes per entry
//! against size, per map, Go's maps beside them; allocations per
//! operation) and `atomics` (ns per operation per layout; SyncMap's load in
//! parts).

use std::fmt::Write as _;

use mapknee_costs::atomics::{AtomicsResults, LAYOUTS};
use mapknee_costs::memory::{MemoryResults, OPS};
use mapknee_load::Machine;

use crate::escape::escape;
use crate::format;
use crate::style::{CSS, MAP_COLORS, REFERENCE};
use crate::svg::{Axis, Chart, ScaleKind, Series, Stroke};

macro_rules! w {
    ($($arg:tt)*) => {{
        let _ = write!($($arg)*);
    }};
}
macro_rules! wl {
    ($($arg:tt)*) => {{
        let _ = writeln!($($arg)*);
    }};
}

fn machine_line(m: &Machine) -> String {
    format!(
        "mapknee {} · {} · {} cpus · {} · {} · clock {}",
        m.mapknee_version, m.cpu_model, m.cpus, m.os, m.rustc, m.clock_source
    )
}

fn head(o: &mut String, title: &str, m: &Machine) {
    o.push_str("<!DOCTYPE html>\n");
    o.push_str(
        r#"<html xmlns="http://www.w3.org/1999/xhtml" lang="en"><head><meta charset="utf-8"/>"#,
    );
    o.push_str(r#"<meta name="viewport" content="width=device-width, initial-scale=1"/>"#);
    w!(
        o,
        "<title>mapknee {} report</title><style>{CSS}</style></head><body><main>",
        escape(title)
    );
    w!(
        o,
        "<h1>mapknee {}</h1><p class=\"machine\">{}</p>",
        escape(title),
        escape(&machine_line(m))
    );
}

fn tail(o: &mut String, kind: &str, schema: &str) {
    w!(
        o,
        r#"<p class="note">Generated from a <code>{}</code> result (schema {}).</p>"#,
        escape(kind),
        escape(schema)
    );
    o.push_str("</main></body></html>\n");
}

/// A number for a table cell: 3 significant digits, `-` when not finite.
fn num(v: f64) -> String {
    if v.is_finite() {
        format::sig(v, 3)
    } else {
        "-".into()
    }
}

/// Width of one per-operation cell of the memory table.
const CELL: usize = 6;
/// Width of one operation's four cells and their separators.
const OP: usize = 4 * CELL + 3;

/// A per-operation figure in [`CELL`] characters: rare events (a free
/// every 16,384 operations is 6.1e-5) in two-digit scientific notation,
/// so that a small figure neither shifts its row nor reads as zero.
fn cell(v: f64) -> String {
    if v.is_finite() && v != 0.0 && v.abs() < 0.01 {
        format!("{v:.1e}")
    } else {
        num(v)
    }
}

/// Maps in order of first appearance.
fn memory_maps(r: &MemoryResults) -> Vec<String> {
    let mut v: Vec<String> = Vec::new();
    for row in &r.rows {
        if !v.contains(&row.map) {
            v.push(row.map.clone());
        }
    }
    v
}

/// `report.html` for a `memory` result: bytes per entry against entries
/// (log scale), one line per map and per Go map; then the table.
///
/// ```
/// use mapknee_costs::memory::{AllocatorCost, MemoryResults};
/// use mapknee_load::Machine;
/// let r = MemoryResults {
///     schema: "mapknee/v1".into(), kind: "memory".into(),
///     machine: Machine::detect("rustc", "0.1.0", "foldhash", 20.0, 40.0),
///     ops: 16, allocator: AllocatorCost { off_ns: 0.5, on_ns: 5.0 },
///     rows: vec![], go: vec![], go_note: "Go not installed".into(), elapsed_s: 0.0,
/// };
/// let page = mapknee_report::costs::memory_html(&r);
/// assert!(page.contains("Go not installed"));
/// ```
pub fn memory_html(r: &MemoryResults) -> String {
    let mut o = String::new();
    head(&mut o, "memory", &r.machine);
    let mut chart = Chart::new(
        "Bytes per entry (allocator-counted live bytes ÷ entries)",
        Axis {
            label: "entries".into(),
            kind: ScaleKind::Log,
            format: format::rate,
            include_zero: false,
        },
        Axis {
            label: "bytes per entry".into(),
            kind: ScaleKind::Linear,
            format: |v| format::sig(v, 3),
            include_zero: true,
        },
    );
    for (i, map) in memory_maps(r).iter().enumerate() {
        chart.series.push(Series {
            label: map.clone(),
            color: MAP_COLORS[i % MAP_COLORS.len()].into(),
            points: r
                .rows
                .iter()
                .filter(|row| &row.map == map)
                .map(|row| (row.entries as f64, row.bytes_per_entry))
                .collect(),
            stroke: Stroke::LineAndPoints,
        });
    }
    let mut go_maps: Vec<&str> = r.go.iter().map(|g| g.map.as_str()).collect();
    go_maps.dedup();
    for g in go_maps {
        chart.series.push(Series {
            label: g.into(),
            color: REFERENCE.into(),
            points: r
                .go
                .iter()
                .filter(|f| f.map == g)
                .map(|f| (f.entries as f64, f.bytes_per_entry))
                .collect(),
            stroke: Stroke::Dashed,
        });
    }
    if chart.has_data() {
        o.push_str("<figure>");
        o.push_str(&chart.render());
        o.push_str("<figcaption>Dashed grey: Go's map and sync.Map (runtime.MemStats.HeapAlloc after two GCs).</figcaption></figure>");
    }
    w!(o, "<p class=\"note\">{}</p>", escape(&memory_notes(r)));
    o.push_str("<pre>");
    o.push_str(&escape(&memory_table(r)));
    o.push_str("</pre>");
    tail(&mut o, &r.kind, &r.schema);
    o
}

fn memory_notes(r: &MemoryResults) -> String {
    format!(
        "{} operations per phase; counting allocator: +{:.1} ns per allocation+free when off (every other command), +{:.1} ns when on; Go: {}",
        r.ops, r.allocator.off_ns, r.allocator.on_ns, r.go_note
    )
}

/// The terminal table for a `memory` result: per size, one line per map
/// (and Go map) with bytes per entry, then allocations / frees per
/// operation for each of [`OPS`].
pub fn memory_table(r: &MemoryResults) -> String {
    let mut o = String::new();
    wl!(o, "{}", machine_line(&r.machine));
    let mut sizes: Vec<u64> = r.rows.iter().map(|row| row.entries).collect();
    sizes.extend(r.go.iter().map(|g| g.entries));
    sizes.sort_unstable();
    sizes.dedup();
    for size in sizes {
        wl!(o, "\n{size} entries (u64 → u64)");
        w!(o, "  {:<18} {:>8} {:>8}", "map", "B/entry", "RSS B/e");
        for op in OPS {
            w!(o, " │ {:^w$}", op, w = OP);
        }
        wl!(o);
        w!(o, "  {:<18} {:>8} {:>8}", "", "", "");
        for _ in OPS {
            w!(
                o,
                " │ {:>w$} {:>w$} {:>w$} {:>w$}",
                "alloc",
                "free",
                "burst",
                "defer",
                w = CELL
            );
        }
        wl!(o);
        for row in r.rows.iter().filter(|row| row.entries == size) {
            w!(
                o,
                "  {:<18} {:>8} {:>8}",
                row.map,
                num(row.bytes_per_entry),
                row.rss_bytes_per_entry.map_or("-".into(), num)
            );
            for op in OPS {
                match row.ops.iter().find(|c| c.op == op) {
                    Some(c) => w!(
                        o,
                        " │ {:>w$} {:>w$} {:>w$} {:>w$}",
                        cell(c.allocs_per_op),
                        cell(c.frees_per_op),
                        c.max_frees_in_one_op,
                        cell(c.deferred_frees_per_op),
                        w = CELL
                    ),
                    None => w!(o, " │ {:>w$}", "-", w = OP),
                }
            }
            wl!(o);
        }
        for g in r.go.iter().filter(|g| g.entries == size) {
            w!(
                o,
                "  {:<18} {:>8} {:>8}",
                g.map,
                num(g.bytes_per_entry),
                "-"
            );
            for op in OPS {
                match g.allocs_per_op.get(op) {
                    Some(&a) => w!(
                        o,
                        " │ {:>w$} {:>w$} {:>w$} {:>w$}",
                        cell(a),
                        "gc",
                        "-",
                        "-",
                        w = CELL
                    ),
                    None => w!(o, " │ {:>w$}", "-", w = OP),
                }
            }
            wl!(o);
        }
    }
    wl!(
        o,
        "\nB/entry: live bytes the counting allocator saw for the filled map ÷ entries (built with no capacity hint, every key read once); RSS B/e: resident-memory growth ÷ entries (coarse: pages, allocator caching).\nalloc, free: per operation on the measuring thread, inside the calls; burst: most frees inside one call (epoch reclamation frees retired values in batches); defer: frees per operation after the phase, when the epoch was flushed on this thread and another. Go: exact mallocs per operation from runtime.MemStats (Go frees by GC, not per call)."
    );
    wl!(o, "{}", memory_notes(r));
    o
}

/// CSV for a `memory` result: one row per map × size × operation (Go's
/// maps included, with empty cells for what Go does not report).
pub fn memory_csv(r: &MemoryResults) -> String {
    let mut o = String::from(
        "map,entries,bytes_per_entry,rss_bytes_per_entry,op,allocs_per_op,alloc_bytes_per_op,frees_per_op,max_frees_in_one_op,calls_freeing,frees_elsewhere_per_op,deferred_frees_per_op,retained_bytes_per_op\n",
    );
    for row in &r.rows {
        for c in &row.ops {
            wl!(
                o,
                "{},{},{},{},{},{},{},{},{},{},{},{},{}",
                row.map,
                row.entries,
                row.bytes_per_entry,
                row.rss_bytes_per_entry
                    .map_or(String::new(), |v| v.to_string()),
                c.op,
                c.allocs_per_op,
                c.alloc_bytes_per_op,
                c.frees_per_op,
                c.max_frees_in_one_op,
                c.calls_freeing,
                c.frees_elsewhere_per_op,
                c.deferred_frees_per_op,
                c.retained_bytes_per_op
            );
        }
    }
    for g in &r.go {
        for (op, a) in &g.allocs_per_op {
            wl!(
                o,
                "{},{},{},,{},{},,,,,,,",
                g.map,
                g.entries,
                g.bytes_per_entry,
                op,
                a
            );
        }
    }
    o
}

fn est(e: &mapknee_costs::bench::Estimate) -> String {
    format!("{} [{}–{}]", num(e.median_ns), num(e.lo_ns), num(e.hi_ns))
}

/// The terminal table for an `atomics` result: one line per primitive and
/// ordering, a column per layout (median ns/op \[interval\]); then SyncMap's
/// load in parts.
pub fn atomics_table(r: &AtomicsResults) -> String {
    let mut o = String::new();
    wl!(o, "{}", machine_line(&r.machine));
    wl!(
        o,
        "ns per operation (per thread), median [{}% interval of the median] of {} samples of ~{} ms\n",
        r.rows
            .first()
            .map_or(95.0, |x| (x.estimate.coverage * 100.0).floor()),
        r.samples,
        num(r.sample_ms)
    );
    w!(o, "  {:<22} {:<8}", "primitive", "order");
    for l in LAYOUTS {
        w!(o, " {:>22}", l);
    }
    wl!(o, " {:>9}", "outliers");
    let mut keys: Vec<(&str, &str)> = Vec::new();
    for row in &r.rows {
        let k = (row.primitive.as_str(), row.ordering.as_str());
        if !keys.contains(&k) {
            keys.push(k);
        }
    }
    for (p, ord) in keys {
        w!(o, "  {:<22} {:<8}", p, ord);
        let (mut mild, mut severe) = (0, 0);
        for l in LAYOUTS {
            match r
                .rows
                .iter()
                .find(|x| x.primitive == p && x.ordering == ord && x.layout == l)
            {
                Some(x) => {
                    mild += x.estimate.outliers_mild;
                    severe += x.estimate.outliers_severe;
                    w!(o, " {:>22}", est(&x.estimate));
                }
                None => w!(o, " {:>22}", "-"),
            }
        }
        wl!(o, " {:>9}", format!("{mild}/{severe}"));
    }
    wl!(
        o,
        "\nalone: one thread; shared: two threads on one word (or one lock); false-shared: two threads on adjacent words (or locks) of one 64-byte line; padded: two threads on lines of their own (128-byte padding). outliers: mild/severe samples (Tukey 1.5/3 IQR) over the row."
    );
    for b in &r.breakdowns {
        wl!(
            o,
            "\nSyncMap load (snapshot hit), {} keys, in parts (ns; the key-reading loop, {} ns, subtracted):",
            b.keys,
            num(b.baseline.median_ns)
        );
        wl!(
            o,
            "  {:<14} {:>8} {:>22}  what",
            "part",
            "in load",
            "load cut after it"
        );
        for p in &b.parts {
            wl!(
                o,
                "  {:<14} {:>8} {:>22}  {}",
                p.part,
                num(p.in_load_ns),
                est(&p.prefix),
                p.what
            );
        }
        wl!(
            o,
            "  {:<14} {:>8}  the load cut after its last part: {}",
            "sum",
            num(b.sum_ns),
            est(&b.chained)
        );
        wl!(
            o,
            "  {:<14} {:>8}  SyncMap::load of a present key: {}",
            "measured",
            num(b.whole.median_ns),
            est(&b.whole)
        );
        wl!(
            o,
            "  sum / measured = {:.2}{} ({}; median of pairwise sample ratios)",
            b.ratio,
            b.ratio_ci.map_or(String::new(), |[lo, hi]| format!(
                " [95 % interval {lo:.2}–{hi:.2}]"
            )),
            if (b.ratio - 1.0).abs() <= 0.10 {
                "within 10 %"
            } else {
                "NOT within 10 %"
            }
        );
        wl!(
            o,
            "  in load: SyncMap's own load path (load_staged) cut after the part less the same path cut before it; the last cut is the whole load."
        );
    }
    wl!(
        o,
        "\nhardware counters: {} ({})",
        if r.hw_counters.available {
            "available"
        } else {
            "unavailable"
        },
        r.hw_counters.detail
    );
    o
}

/// CSV for an `atomics` result: one row per primitive × ordering × layout,
/// then SyncMap's load cut after each part as `syncmap load cut after` rows.
pub fn atomics_csv(r: &AtomicsResults) -> String {
    let mut o = String::from(
        "primitive,ordering,layout,median_ns,lo_ns,hi_ns,coverage,samples,iters,outliers_mild,outliers_severe\n",
    );
    let mut row = |p: &str, ord: &str, l: &str, e: &mapknee_costs::bench::Estimate| {
        wl!(
            o,
            "{p},{ord},{l},{},{},{},{},{},{},{},{}",
            e.median_ns,
            e.lo_ns,
            e.hi_ns,
            e.coverage,
            e.samples,
            e.iters,
            e.outliers_mild,
            e.outliers_severe
        );
    };
    for x in &r.rows {
        row(&x.primitive, &x.ordering, &x.layout, &x.estimate);
    }
    for b in &r.breakdowns {
        let keys = format!("{} keys", b.keys);
        let mut row =
            |p: &str, ord: &str, e: &mapknee_costs::bench::Estimate| row(p, ord, &keys, e);
        for p in &b.parts {
            row("syncmap load cut after", &p.part, &p.prefix);
        }
        row("syncmap load", "-", &b.whole);
    }
    o
}

/// `report.html` for an `atomics` result: the fetch_add and lock figures
/// per layout as a chart, SyncMap's load parts, and the table.
pub fn atomics_html(r: &AtomicsResults) -> String {
    let mut o = String::new();
    head(&mut o, "atomics", &r.machine);
    // One line per primitive (Relaxed, or the lock) across the layouts.
    let mut chart = Chart::new(
        "ns per operation by layout (1 alone, 2 shared, 3 false-shared, 4 padded)",
        Axis {
            label: "layout".into(),
            kind: ScaleKind::Linear,
            format: |v| match v.round() as i64 {
                1 => "alone".into(),
                2 => "shared".into(),
                3 => "false-shared".into(),
                4 => "padded".into(),
                _ => String::new(),
            },
            include_zero: false,
        },
        Axis {
            label: "ns per operation".into(),
            kind: ScaleKind::Log,
            format: format::ns,
            include_zero: false,
        },
    );
    let picks = [
        ("store", "Relaxed"),
        ("fetch_add", "Relaxed"),
        ("cas", "AcqRel"),
        ("mutex lock+unlock", "-"),
        ("rwlock read+unlock", "-"),
    ];
    for (i, (p, ord)) in picks.iter().enumerate() {
        let points: Vec<(f64, f64)> = LAYOUTS
            .iter()
            .enumerate()
            .filter_map(|(j, l)| {
                r.rows
                    .iter()
                    .find(|x| x.primitive == *p && x.ordering == *ord && x.layout == *l)
                    .map(|x| ((j + 1) as f64, x.estimate.median_ns))
            })
            .collect();
        chart.series.push(Series {
            label: if *ord == "-" {
                (*p).to_string()
            } else {
                format!("{p} {ord}")
            },
            color: MAP_COLORS[i % MAP_COLORS.len()].into(),
            points,
            stroke: Stroke::LineAndPoints,
        });
    }
    if chart.has_data() {
        o.push_str("<figure>");
        o.push_str(&chart.render());
        o.push_str("<figcaption>False sharing: the false-shared point above the padded one, for threads that never touch each other's data.</figcaption></figure>");
    }
    o.push_str("<pre>");
    o.push_str(&escape(&atomics_table(r)));
    o.push_str("</pre>");
    tail(&mut o, &r.kind, &r.schema);
    o
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use mapknee_costs::atomics::AtomicsRow;
    use mapknee_costs::bench::Estimate;
    use mapknee_costs::hw::HwStatus;
    use mapknee_costs::memory::{AllocatorCost, GoFigures, MemoryRow, OpCost};

    use super::*;

    /// Parses a page as XML (the doctype allowed), as the report tests do.
    fn parse(page: &str) -> roxmltree::Document<'_> {
        let opts = roxmltree::ParsingOptions {
            allow_dtd: true,
            ..Default::default()
        };
        roxmltree::Document::parse_with_options(page, opts).expect("well-formed")
    }

    fn machine() -> Machine {
        Machine::detect("rustc test", "0.1.0", "foldhash", 20.0, 40.0)
    }

    fn memory() -> MemoryResults {
        let row = |map: &str, entries: u64, b: f64| MemoryRow {
            map: map.into(),
            entries,
            bytes_per_entry: b,
            rss_bytes_per_entry: None,
            fill_allocs_per_entry: 0.0,
            ops: OPS
                .iter()
                .map(|op| OpCost {
                    op: (*op).into(),
                    count: 16,
                    allocs_per_op: 1.0,
                    alloc_bytes_per_op: 8.0,
                    frees_per_op: 0.5,
                    max_frees_in_one_op: 64,
                    calls_freeing: 0.1,
                    frees_elsewhere_per_op: 0.0,
                    deferred_frees_per_op: 0.25,
                    retained_bytes_per_op: 4.0,
                })
                .collect(),
        };
        MemoryResults {
            schema: mapknee_load::SCHEMA.into(),
            kind: "memory".into(),
            machine: machine(),
            ops: 16,
            allocator: AllocatorCost {
                off_ns: 0.8,
                on_ns: 11.0,
            },
            rows: vec![row("syncmap", 1024, 66.0), row("syncmap", 65536, 66.1)],
            go: vec![GoFigures {
                map: "go map".into(),
                entries: 1024,
                bytes_per_entry: 40.0,
                allocs_per_op: [("get".to_string(), 0.0)].into_iter().collect(),
                allocs_per_run: BTreeMap::new(),
                go_version: "go1.19.8".into(),
            }],
            go_note: "go1.19.8 <via> test".into(),
            elapsed_s: 1.0,
        }
    }

    #[test]
    fn memory_page_is_well_formed_with_a_line_per_map_and_go() {
        let page = memory_html(&memory());
        let doc = parse(&page);
        let svg = doc.descendants().filter(|n| n.has_tag_name("svg")).count();
        assert_eq!(svg, 1);
        assert!(page.contains("go map") && page.contains("syncmap"));
        assert!(page.contains("&lt;via&gt;"), "data is escaped");
    }

    #[test]
    fn memory_table_columns_hold_rare_and_large_figures() {
        let mut r = memory();
        // A free every 16,384 operations and a 4-digit burst, as papaya
        // and syncmap show at 1M entries.
        r.rows[0].ops[0].frees_per_op = 1.0 / 16384.0;
        r.rows[0].ops[1].max_frees_in_one_op = 3758;
        r.rows[1].ops[2].allocs_per_op = 0.00879;
        let table = memory_table(&r);
        assert!(
            table.contains("6.1e-5") && table.contains("8.8e-3"),
            "{table}"
        );
        // Every line of a size's block (header, sub-header, maps, Go) puts
        // its column bars at the same places.
        let bars = |l: &str| -> Vec<usize> {
            l.chars()
                .enumerate()
                .filter(|&(_, c)| c == '│')
                .map(|(i, _)| i)
                .collect()
        };
        let lines: Vec<&str> = table.lines().filter(|l| l.contains('│')).collect();
        assert!(lines.len() >= 6, "{table}");
        assert!(lines.iter().all(|l| bars(l) == bars(lines[0])), "{table}");
    }

    #[test]
    fn memory_csv_has_a_row_per_map_size_and_op() {
        let csv = memory_csv(&memory());
        // Header, 2 rows × 4 ops, 1 Go op.
        assert_eq!(csv.lines().count(), 1 + 8 + 1);
        let cols = csv.lines().next().unwrap().split(',').count();
        assert!(csv.lines().all(|l| l.split(',').count() == cols), "{csv}");
    }

    #[test]
    fn atomics_page_and_table_show_every_layout() {
        let est = |m: f64| Estimate {
            median_ns: m,
            lo_ns: m * 0.9,
            hi_ns: m * 1.1,
            coverage: 0.96,
            samples: 40,
            iters: 1024,
            outliers_mild: 1,
            outliers_severe: 0,
        };
        let rows = LAYOUTS
            .iter()
            .enumerate()
            .map(|(i, l)| AtomicsRow {
                primitive: "fetch_add".into(),
                ordering: "Relaxed".into(),
                layout: (*l).into(),
                estimate: est(2.0 + 10.0 * i as f64),
            })
            .collect();
        let r = AtomicsResults {
            schema: mapknee_load::SCHEMA.into(),
            kind: "atomics".into(),
            machine: machine(),
            samples: 40,
            sample_ms: 2.0,
            rows,
            breakdowns: vec![],
            hw_counters: HwStatus {
                available: false,
                detail: "<not supported>".into(),
            },
            elapsed_s: 1.0,
        };
        let table = atomics_table(&r);
        for l in LAYOUTS {
            assert!(table.contains(l), "{table}");
        }
        assert!(table.contains("32 [28.8–35.2]"), "{table}");
        assert!(table.contains("hardware counters: unavailable"));
        let page = atomics_html(&r);
        parse(&page);
        assert_eq!(atomics_csv(&r).lines().count(), 1 + 4);
    }
}
