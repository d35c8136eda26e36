//! What runs, at the top of the kernel: the boot→kernel entry ([`dispatch::main`]), the run
//! registry selected by `run=` ([`registry`]), what every run entry gets ([`ctx`]), and the
//! runs that belong to no room of their own (`selftest`, `mm-stress`). The per-CPU execution
//! model: every CPU runs the same entry; phases meet at [`crate::smp::Barrier`]s. The
//! deadline, the exit and fault reports are the runtime floor below ([`crate::rt`]).
//!
//! Boot sequence as seen from here (all calls come from `boot`):
//! 1. CPU 0, after the MMU, heap and hal are up: [`ctx::setup`] parses the bootargs (exit 2 on
//!    error) and arms the deadline.
//! 2. CPU 0 brings up the other CPUs and initialises mm, then every online CPU calls
//!    [`dispatch::main`] with its own [`ctx::CpuInfo`]. CPU 0 resolves `run=` (exit 2 if unknown), emits
//!    `run_start` and releases the others; all call the run's entry with a [`ctx::RunCtx`]; CPU 0's
//!    return value is the verdict; after a final rendezvous CPU 0 emits `end` and exits 0 or 1.

pub mod ctx;
#[cfg(not(loom))]
pub mod dispatch;
pub mod mm_stress;
pub mod registry;
#[cfg(not(loom))]
mod selftest;

pub use ctx::{args, progress, setup, CpuInfo, RunCtx, RunDesc};
