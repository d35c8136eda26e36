//! GUP experiment figures for `cargo xtask bench` (issue: GUP, item 7), measured from the
//! kernel's `result` records:
//! - attempts per second per CPU for every experiment × variant (`run=gup`, a fixed time
//!   budget per row);
//! - the distribution of V1's time to first violation over 20 seeds (one boot per seed).

use crate::qemu::discover::Qemu;
use crate::qemu::run::{boot, Machine};

use std::path::Path;

/// Seeds for the time-to-first-violation distribution.
pub const TTFV_SEEDS: u64 = 20;

/// One row of the throughput table.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Throughput {
    pub experiment: Option<String>,
    pub variant: Option<String>,
    pub attempts: u64,
    pub elapsed_ms: u64,
    pub cpus: u64,
    pub attempts_per_s_per_cpu: f64,
    pub verdict: crate::records::Verdict,
}

/// attempts / elapsed / cpus for every gup result of one boot of all variants.
pub fn throughput(
    q: &Qemu,
    image: &Path,
    machine: &Machine,
    time_ms: u64,
) -> Result<Vec<Throughput>, String> {
    let pairs = [
        ("run", "gup".to_string()),
        ("seed", "1".to_string()),
        ("time_ms", time_ms.to_string()),
        ("iters", "100000000".to_string()),
        ("memmodel", "tso".to_string()),
    ];
    let out = boot(q, machine.clone(), image, &pairs, 600, false)?;
    let mut rows = Vec::new();
    for (_, g) in out.collector.gup_rows() {
        let (Some(att), Some(ms)) = (g.attempts, g.elapsed_ms) else {
            continue;
        };
        let n = g.cpus.unwrap_or(machine.cpus as u64).max(1) as f64;
        let per_cpu = if ms > 0 {
            att as f64 / (ms as f64 / 1000.0) / n
        } else {
            0.0
        };
        rows.push(Throughput {
            experiment: g.experiment.clone(),
            variant: g.variant.clone(),
            attempts: att,
            elapsed_ms: ms,
            cpus: n as u64,
            attempts_per_s_per_cpu: per_cpu.round(),
            verdict: g.verdict.clone(),
        });
    }
    if rows.is_empty() {
        return Err(format!(
            "the gup throughput boot produced no result records (exit {:?})",
            out.exit
        ));
    }
    Ok(rows)
}

/// V1's time to first violation over seeds (`target/bench.json` keys).
#[derive(Debug, Clone, serde::Serialize)]
pub struct Ttfv {
    pub seeds: u64,
    pub reproduced: u64,
    /// Per seed; `null` where the seed saw no violation within its budget.
    pub first_violation_s: Vec<Option<f64>>,
    pub min_s: Option<f64>,
    pub median_s: Option<f64>,
    pub p90_s: Option<f64>,
    pub max_s: Option<f64>,
}

/// Time to V1's first violation (seconds) for seeds 1..=TTFV_SEEDS; `None` where a seed saw
/// no violation within the budget (kept in the distribution as a censored sample).
pub fn v1_time_to_first_violation(
    q: &Qemu,
    image: &Path,
    machine: &Machine,
) -> Result<Ttfv, String> {
    let mut samples: Vec<Option<f64>> = Vec::new();
    for seed in 1..=TTFV_SEEDS {
        let pairs = [
            ("run", "gup".to_string()),
            ("variant", "V1".to_string()),
            ("seed", seed.to_string()),
            ("time_ms", "10000".to_string()),
            ("iters", "100000".to_string()),
        ];
        let out = boot(q, machine.clone(), image, &pairs, 120, false)?;
        let (_, g) = out
            .collector
            .gup_rows()
            .find(|(_, g)| g.variant.as_deref() == Some("V1"))
            .ok_or_else(|| format!("seed {seed}: no V1 result record"))?;
        samples.push(g.first_violation_s);
    }
    let seen: Vec<f64> = samples.iter().flatten().copied().collect();
    let q = crate::stats::summary(&seen);
    let at = |i: usize| q.map(|q| q[i]);
    Ok(Ttfv {
        seeds: TTFV_SEEDS,
        reproduced: seen.len() as u64,
        first_violation_s: samples,
        min_s: at(0),
        median_s: at(1),
        p90_s: at(2),
        max_s: at(3),
    })
}
