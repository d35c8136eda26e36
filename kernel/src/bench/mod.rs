//! Benchmarks with one body for both sides: the image runs them with `run=bench` (CPU 0, the
//! other CPUs idle at a barrier) and the host runs the same bodies from
//! `kernel/tests/bench_mm.rs` (`cargo xtask bench`). Each bench times `iters` operations,
//! repeats that `reps` times and reports the median (plus min and max) as a `bench` record.
//!
//! Numbers are what this run measured; nothing is scaled or assumed.

mod gup;
mod harness;
mod mm;

pub use gup::gup_benches;
pub use harness::{measure, measure_ticks, BenchResult, BenchSpec};
pub use mm::{mm_benches, MmBenchEnv};

/// The `run=bench` entry: CPU 0 runs every bench on the kernel's zone; the others wait.
#[cfg(not(loom))]
pub fn run(ctx: &crate::run::RunCtx) -> bool {
    let mut ok = true;
    if ctx.is_boot_cpu() {
        let spec = BenchSpec::from_iters(ctx.iters_or(20_000));
        ok = match MmBenchEnv::kernel(ctx.ncpus) {
            Ok(env) => {
                for r in mm_benches(&env, ctx.cpu, spec) {
                    r.emit("qemu");
                    ctx.deadline_check();
                }
                for r in gup_benches(&env, ctx.cpu, spec) {
                    r.emit("qemu");
                    ctx.deadline_check();
                }
                true
            }
            Err(e) => {
                crate::kprintln!("bench: cannot set up the address space: {e:?}");
                false
            }
        };
    }
    ctx.barrier.wait();
    ok
}
