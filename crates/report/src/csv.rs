//! CSV: one row per run × step (`run`), or per run × thread count (`scale`).

use std::fmt::Write;

use mapknee_load::Results;

/// Quotes a field when it needs it (RFC 4180).
fn field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// One row per run × step (scale: per run × thread count).
pub fn render(results: &Results) -> String {
    let mut out = String::new();
    if results.kind == "scale" {
        out.push_str("map,mix,keys,prefill,dist,ops_per_txn,threads,ops_per_sec,p99_ns\n");
        for r in &results.runs {
            for p in &r.points {
                let _ = writeln!(
                    out,
                    "{},{},{},{},{},{},{},{:.1},{}",
                    field(&r.map),
                    field(&r.mix.name),
                    r.keys,
                    r.prefill,
                    field(&r.dist),
                    r.ops_per_txn,
                    p.threads,
                    p.ops_per_sec,
                    p.p99_ns
                );
            }
        }
        return out;
    }
    out.push_str(
        "map,mix,threads,keys,prefill,dist,ops_per_txn,target_ops_per_sec,achieved_ops_per_sec,ops,\
         p50_ns,p90_ns,p99_ns,p999_ns,max_ns,mean_ns,\
         service_p50_ns,service_p90_ns,service_p99_ns,service_p999_ns,service_max_ns,service_mean_ns,\
         refine,interrupted,bottleneck,knee_ops_per_sec,knee_rule,knee_bottleneck,\
         typical_p99_ns,floor_p99_ns,coherence_ns,in_reference_placement,\
         capacity_ops_per_sec,slo_ops_per_sec,typical_stall_ns,preempted_ns\n",
    );
    for r in &results.runs {
        let (knee_rate, knee_rule, knee_b) = match &r.knee {
            Some(k) => (
                format!("{:.1}", k.ops_per_sec),
                k.rule.clone(),
                k.bottleneck.clone(),
            ),
            None => Default::default(),
        };
        let opt = |v: Option<f64>| v.map_or(String::new(), |v| format!("{v:.1}"));
        let capacity = opt(r.capacity_ops_per_sec);
        let slo = opt(r.slo.as_ref().and_then(|c| c.ops_per_sec));
        for s in &r.steps {
            let whole = |v: Option<u64>| v.map_or(String::new(), |v| v.to_string());
            // Empty when the run kept no placement record or the step no
            // line-transfer reading.
            let placed = match (&r.placement, s.coherence_ns) {
                (Some(p), Some(ns)) => (p.band_ns[0] <= ns && ns <= p.band_ns[1]).to_string(),
                _ => String::new(),
            };
            let (l, v) = (&s.latency_ns, &s.service_ns);
            let _ = writeln!(
                out,
                "{},{},{},{},{},{},{},{},{:.1},{},{},{},{},{},{},{:.1},{},{},{},{},{},{:.1},{},{},{},{},{},{},{},{},{},{},{},{},{},{}",
                field(&r.map),
                field(&r.mix.name),
                r.threads,
                r.keys,
                r.prefill,
                field(&r.dist),
                r.ops_per_txn,
                s.target_ops_per_sec.map_or(String::new(), |t| format!("{t:.1}")),
                s.achieved_ops_per_sec,
                s.ops,
                l.p50,
                l.p90,
                l.p99,
                l.p999,
                l.max,
                l.mean,
                v.p50,
                v.p90,
                v.p99,
                v.p999,
                v.max,
                v.mean,
                s.refine,
                s.interrupted,
                field(s.bottleneck.as_deref().unwrap_or("")),
                knee_rate,
                field(&knee_rule),
                field(&knee_b),
                whole(s.typical_p99_ns),
                whole(s.floor_p99_ns),
                opt(s.coherence_ns),
                placed,
                capacity,
                slo,
                whole(s.stalls.map(|st| st.typical_longest_ns)),
                whole(s.preempted_ns),
            );
        }
    }
    out
}
