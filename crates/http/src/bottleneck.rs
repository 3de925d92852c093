//! Whether the map is what broke: each step's mean request latency, as the
//! generator saw it (from the intended start), split by the service's own
//! figures into time in the map, in the store, in the rest of the handler,
//! and outside the handler (queued in the kernel, the HTTP stack, the
//! runtime's run queue, the generator).
//!
//! The label is the largest part: `map`, `store`, `handler` or `queueing`.
//! The figures behind it go into the step's `bottleneck_figures`:
//! `map_share`, `store_share`, `handler_share`, `queueing_share` (of the
//! mean corrected latency; they sum to 1), the means they come from
//! (`latency_mean_ns`, `handler_mean_ns`, `map_mean_ns`, `store_mean_ns`)
//! and, for maps with a lock, `map_lock_wait_share` (lock wait over time
//! in the map).

use std::collections::BTreeMap;

use mapknee_load::{Run, Step};

/// The label and figures for `step`, or `None` when the service reported
/// nothing (no `/metrics`, or no order requests in the window).
pub fn attribute(step: &Step) -> Option<(&'static str, BTreeMap<String, f64>)> {
    let c = |k: &str| step.counters.get(k).copied().unwrap_or(0) as f64;
    let requests = c("server_requests");
    let latency = step.latency_ns.mean;
    if requests == 0.0 || latency <= 0.0 {
        return None;
    }
    let handler = c("server_handler_ns") / requests;
    let map = c("server_map_ns") / requests;
    let store = c("server_store_ns") / requests;
    let parts = [
        ("map", map),
        ("store", store),
        ("handler", (handler - map - store).max(0.0)),
        ("queueing", (latency - handler).max(0.0)),
    ];
    let sum: f64 = parts.iter().map(|p| p.1).sum::<f64>().max(1.0);
    let (label, _) =
        parts.iter().copied().fold(
            ("map", f64::MIN),
            |best, p| if p.1 > best.1 { p } else { best },
        );
    let mut figures = BTreeMap::new();
    for (name, v) in parts {
        figures.insert(format!("{name}_share"), v / sum);
    }
    figures.insert("latency_mean_ns".into(), latency);
    figures.insert("handler_mean_ns".into(), handler);
    figures.insert("map_mean_ns".into(), map);
    figures.insert("store_mean_ns".into(), store);
    let map_total = c("server_map_ns");
    if step.counters.contains_key("server_map_lock_wait_ns") && map_total > 0.0 {
        figures.insert(
            "map_lock_wait_share".into(),
            (c("server_map_lock_wait_ns") / map_total).min(1.0),
        );
    }
    Some((label, figures))
}

/// Labels every step of `run` (after the analysis has set its knee) and
/// gives the knee its step's label: the analysis's map-engine labels read
/// worker utilisation, which an HTTP run does not have.
pub fn label_run(run: &mut Run) {
    for step in &mut run.steps {
        match attribute(step) {
            Some((label, figures)) => {
                step.bottleneck = Some(label.into());
                step.bottleneck_figures = Some(figures);
            }
            None => {
                step.bottleneck = Some("unknown".into());
                step.bottleneck_figures = None;
            }
        }
    }
    if let Some(knee) = run.knee.as_mut() {
        if let Some(step) = run
            .steps
            .iter()
            .find(|s| s.target_ops_per_sec == Some(knee.ops_per_sec))
        {
            knee.bottleneck = step.bottleneck.clone().unwrap_or_default();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mapknee_load::Percentiles;

    fn step(latency_mean: f64, pairs: &[(&str, u64)]) -> Step {
        Step {
            latency_ns: Percentiles {
                mean: latency_mean,
                ..Default::default()
            },
            counters: pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect(),
            ..Default::default()
        }
    }

    #[test]
    fn the_largest_part_of_the_latency_names_the_bottleneck() {
        // 100 requests; per request: 200 µs seen by the client, 150 µs in
        // the handler of which 120 µs in the map and 10 µs in the store.
        let s = step(
            200_000.0,
            &[
                ("server_requests", 100),
                ("server_handler_ns", 15_000_000),
                ("server_map_ns", 12_000_000),
                ("server_store_ns", 1_000_000),
                ("server_map_lock_wait_ns", 6_000_000),
            ],
        );
        let (label, f) = attribute(&s).unwrap();
        assert_eq!(label, "map");
        assert!((f["map_share"] - 0.6).abs() < 1e-9, "{f:?}");
        assert!((f["queueing_share"] - 0.25).abs() < 1e-9, "{f:?}");
        assert!((f["map_lock_wait_share"] - 0.5).abs() < 1e-9);
        // Same service figures, but the client waited 2 ms: queueing.
        let s = step(
            2_000_000.0,
            &[
                ("server_requests", 100),
                ("server_handler_ns", 15_000_000),
                ("server_map_ns", 12_000_000),
            ],
        );
        assert_eq!(attribute(&s).unwrap().0, "queueing");
        assert_eq!(attribute(&step(1.0, &[])), None);
    }
}
