//! Litmus tests: measure which reorderings the platform can show, instead of trusting the
//! host's `memmodel=` claim.
//!
//! QEMU TCG on an x86-64 host keeps guest stores in order (TSO-like): store→store races (spec
//! V3, V4) cannot occur there, and "no violation" proves nothing. A weak CPU (Cortex-A72) shows
//! MP/SB weak outcomes. The engine runs MP, SB, LB, 2+2W, half-fenced MP forms that attribute a
//! weak MP outcome to one side, and fenced/ordered forms that the Arm model forbids (any weak
//! outcome there is a platform or emulator bug, reported loudly).
//!
//! Measured here (QEMU 10.0.2, MTTCG on x86-64): SB+rel+acq shows its Arm-forbidden outcome in
//! about a third of instances: the emulator drops the RCsc ordering of `stlr` before a later
//! `ldar` (QEMU gitlab #4872). The Linux kernel memory model allows that outcome, so Linux code
//! (and the GUP protocol under test) must not rely on it; the run therefore fails only on an
//! outcome the LKMM forbids, and reports Arm-only violations as `fenced_violation`.
//!
//! - [`tests`]: the table (bodies through `kernel::sync`, verdicts of the Arm and C11 models).
//! - [`engine`]: one pair of CPUs, batches of instances, per-instance rendezvous, tallies.
//! - [`calibrate()`]: every pair of CPUs runs the table; returns a [`Calibration`] (other runs
//!   call it first to get a measured model).
//! - [`report`]: `litmus` and `calibration` records.

pub mod calibrate;
pub(crate) mod deps;
pub mod engine;
mod pairs;
pub mod report;
pub mod tests;

pub use calibrate::{Calibration, Evidence, MeasuredModel, TestResult};
pub use pairs::calibrate;
pub use tests::Reordering;

use crate::record::Record;
use crate::run::RunCtx;

/// Default instances per test per pair of CPUs.
pub const DEFAULT_ITERS: u64 = 200_000;

/// The `litmus` run: calibrate with `iters=` instances per test (default [`DEFAULT_ITERS`]);
/// passes unless a test showed an outcome the Linux kernel memory model forbids (or fewer
/// than 2 CPUs are online). An outcome only the Arm model forbids is printed and recorded
/// (`fenced_violation`) but does not fail the run: see the module documentation.
pub fn run(ctx: &RunCtx) -> bool {
    let c = calibrate(ctx, ctx.iters_or(DEFAULT_ITERS));
    let passed = !c.lkmm_violation && c.model != MeasuredModel::Unmeasured;
    if ctx.is_boot_cpu() {
        Record::new("result")
            .str("run", "litmus")
            .bool("passed", passed)
            .str("memmodel_measured", c.model.name())
            .bool("fenced_violation", c.fenced_violation)
            .bool("lkmm_violation", c.lkmm_violation)
            .u64("instances", c.instances())
            .emit();
    }
    passed
}
