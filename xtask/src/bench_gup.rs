//! GUP experiment figures for `cargo xtask bench` (issue: GUP, item 7), measured from the
//! kernel's `result` records:
//! - attempts per second per CPU for every experiment × variant (`run=gup`, a fixed time
//!   budget per row);
//! - the distribution of V1's time to first violation over 20 seeds (one boot per seed).

use crate::bench::boot;
use crate::qemu::discover::Qemu;
use serde_json::{json, Map, Value};
use std::path::Path;

/// Seeds for the time-to-first-violation distribution.
pub const TTFV_SEEDS: u64 = 20;

fn num(m: &Map<String, Value>, k: &str) -> Option<f64> {
    m.get(k).and_then(Value::as_f64)
}

/// attempts / elapsed / cpus for every gup result of one boot of all variants.
pub fn throughput(
    q: &Qemu,
    image: &Path,
    cpus: u32,
    cpu: &str,
    time_ms: u64,
) -> Result<Vec<Value>, String> {
    let pairs = [
        ("run", "gup".to_string()),
        ("seed", "1".to_string()),
        ("time_ms", time_ms.to_string()),
        ("iters", "100000000".to_string()),
        ("memmodel", "tso".to_string()),
    ];
    let out = boot(q, image, cpus, cpu, &pairs, 600, false)?;
    let mut rows = Vec::new();
    for r in &out.collector.results {
        let (Some(att), Some(ms)) = (num(r, "attempts"), num(r, "elapsed_ms")) else {
            continue;
        };
        let n = num(r, "cpus").unwrap_or(cpus as f64).max(1.0);
        let per_cpu = if ms > 0.0 {
            att / (ms / 1000.0) / n
        } else {
            0.0
        };
        rows.push(json!({
            "experiment": r.get("experiment"),
            "variant": r.get("variant"),
            "attempts": att as u64,
            "elapsed_ms": ms as u64,
            "cpus": n as u64,
            "attempts_per_s_per_cpu": per_cpu.round(),
            "verdict": r.get("verdict"),
        }));
    }
    if rows.is_empty() {
        return Err(format!(
            "the gup throughput boot produced no result records (exit {:?})",
            out.exit
        ));
    }
    Ok(rows)
}

/// Time to V1's first violation (seconds) for seeds 1..=TTFV_SEEDS; `None` where a seed saw
/// no violation within the budget (kept in the distribution as a censored sample).
pub fn v1_time_to_first_violation(
    q: &Qemu,
    image: &Path,
    cpus: u32,
    cpu: &str,
) -> Result<Value, String> {
    let mut samples: Vec<Option<f64>> = Vec::new();
    for seed in 1..=TTFV_SEEDS {
        let pairs = [
            ("run", "gup".to_string()),
            ("variant", "V1".to_string()),
            ("seed", seed.to_string()),
            ("time_ms", "10000".to_string()),
            ("iters", "100000".to_string()),
        ];
        let out = boot(q, image, cpus, cpu, &pairs, 120, false)?;
        let r = out
            .collector
            .results
            .iter()
            .find(|r| r.get("variant").and_then(Value::as_str) == Some("V1"))
            .ok_or_else(|| format!("seed {seed}: no V1 result record"))?;
        samples.push(num(r, "first_violation_s"));
    }
    let mut seen: Vec<f64> = samples.iter().flatten().copied().collect();
    seen.sort_by(f64::total_cmp);
    let q = |p: f64| -> Value {
        if seen.is_empty() {
            return Value::Null;
        }
        let i = ((seen.len() - 1) as f64 * p).round() as usize;
        json!(seen[i])
    };
    Ok(json!({
        "seeds": TTFV_SEEDS,
        "reproduced": seen.len(),
        "first_violation_s": samples,
        "min_s": q(0.0),
        "median_s": q(0.5),
        "p90_s": q(0.9),
        "max_s": q(1.0),
    }))
}
