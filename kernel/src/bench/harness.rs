//! Timing: `iters` operations per repetition, median of `reps` repetitions, on the platform
//! counter (`hal().counter()`: CNTVCT_EL0 on target, nanoseconds on the host).

use crate::hal::hal;
use crate::record::Record;
use alloc::vec::Vec;

/// How much to measure.
#[derive(Clone, Copy, Debug)]
pub struct BenchSpec {
    /// Operations per repetition.
    pub iters: u64,
    /// Repetitions (the median is reported).
    pub reps: usize,
}

impl BenchSpec {
    /// `iters` operations per repetition, 11 repetitions.
    pub fn from_iters(iters: u64) -> Self {
        Self {
            iters: iters.max(1),
            reps: 11,
        }
    }
}

/// One bench's outcome, in picoseconds per operation (integers: the kernel has no FP).
#[derive(Clone, Debug)]
pub struct BenchResult {
    /// Bench name (stable: figures in the README refer to it).
    pub name: &'static str,
    /// Median over repetitions.
    pub ps_median: u64,
    /// Fastest repetition.
    pub ps_min: u64,
    /// Slowest repetition.
    pub ps_max: u64,
    /// Operations per repetition.
    pub iters: u64,
    /// Repetitions.
    pub reps: usize,
}

impl BenchResult {
    /// Print as a human line and a `bench` record; `side` is "qemu" or "host".
    pub fn emit(&self, side: &str) {
        crate::kprintln!(
            "bench {:<28} {:>10}.{:03} ns/op (min {}.{:03}, max {}.{:03}; {} x {} ops)",
            self.name,
            self.ps_median / 1000,
            self.ps_median % 1000,
            self.ps_min / 1000,
            self.ps_min % 1000,
            self.ps_max / 1000,
            self.ps_max % 1000,
            self.reps,
            self.iters
        );
        self.record(side).emit();
    }

    /// The `bench` record (`name`, `side`, `ns_per_op` = median, `ns_min`, `ns_max`, `iters`,
    /// `reps`).
    pub fn record(&self, side: &str) -> Record {
        Record::new("bench")
            .str("name", self.name)
            .str("side", side)
            .milli("ns_per_op", self.ps_median)
            .milli("ns_min", self.ps_min)
            .milli("ns_max", self.ps_max)
            .u64("iters", self.iters)
            .u64("reps", self.reps as u64)
    }
}

/// Time `body(i)` for `i in 0..iters`, `reps` times; `body` must do one operation per call.
/// The whole loop is timed, so operations far shorter than a counter tick are measured
/// correctly.
pub fn measure(name: &'static str, spec: BenchSpec, mut body: impl FnMut(u64)) -> BenchResult {
    let h = hal();
    let hz = h.counter_hz().max(1) as u128;
    let mut per_op: Vec<u64> = Vec::with_capacity(spec.reps);
    // One warm-up repetition (caches, TLB, per-CPU lists filled) that is not reported.
    for i in 0..spec.iters {
        body(i);
    }
    for _ in 0..spec.reps {
        let t0 = h.counter();
        for i in 0..spec.iters {
            body(i);
        }
        let ticks = h.counter().wrapping_sub(t0) as u128;
        per_op.push((ticks * 1_000_000_000_000 / hz / spec.iters as u128) as u64);
    }
    summarize(name, spec, per_op)
}

/// Like [`measure`], but `body(i)` returns the counter ticks of the part it wants timed
/// (setup or cleanup around it is excluded). For operations much longer than a counter tick.
pub fn measure_ticks(
    name: &'static str,
    spec: BenchSpec,
    mut body: impl FnMut(u64) -> u64,
) -> BenchResult {
    let hz = hal().counter_hz().max(1) as u128;
    let mut per_op: Vec<u64> = Vec::with_capacity(spec.reps);
    // One warm-up repetition (caches, TLB, per-CPU lists filled) that is not reported.
    for i in 0..spec.iters {
        body(i);
    }
    for _ in 0..spec.reps {
        let mut ticks: u128 = 0;
        for i in 0..spec.iters {
            ticks += body(i) as u128;
        }
        let ps = ticks * 1_000_000_000_000 / hz / spec.iters as u128;
        per_op.push(ps as u64);
    }
    summarize(name, spec, per_op)
}

fn summarize(name: &'static str, spec: BenchSpec, mut per_op: Vec<u64>) -> BenchResult {
    per_op.sort_unstable();
    BenchResult {
        name,
        ps_median: per_op[per_op.len() / 2],
        ps_min: per_op[0],
        ps_max: per_op[per_op.len() - 1],
        iters: spec.iters,
        reps: spec.reps,
    }
}
