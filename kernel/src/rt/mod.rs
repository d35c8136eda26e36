//! The runtime floor every other module may stand on: the kernel's deadline ([`deadline`]),
//! leaving the machine exactly once ([`exit`]), and fatal exception / panic reports ([`fault`],
//! with [`esr`] decoding). Nothing here knows about runs, CPUs' roles or mm: `smp`, `ipi`,
//! mm's waits and `boot` poll the deadline and report faults through it, and the run registry
//! (`run/`) sits on top of everything.
//!
//! Run infrastructure outside every race window: plain `core` atomics.

pub mod deadline;
pub mod esr;
pub mod exit;
pub mod fault;

/// Spin-wait hint for the runtime's own waits (`yield` on aarch64; under loom, yield to the
/// model's scheduler) — the same as `smp::spin_hint`, which sits above this layer.
#[inline(always)]
pub(crate) fn relax() {
    #[cfg(loom)]
    loom::thread::yield_now();
    #[cfg(not(loom))]
    core::hint::spin_loop();
}
