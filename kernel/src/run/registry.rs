//! The runs `run=` can select. Each room adds its entry here (one line each). Which bootargs
//! keys a run reads is said once, in `crate::bootargs::KEYS`.
//!
//! Entries whose code keeps `kernel::sync` atomics in statics are `cfg(not(loom))`: loom atomics
//! are not `const`, and runs never execute under loom anyway.

use super::ctx::RunDesc;

/// Every run, looked up by name.
pub static RUNS: &[RunDesc] = &[
    #[cfg(not(loom))]
    RunDesc {
        name: "selftest",
        help: "all CPUs: spin-mutex and atomic counters, per-CPU MMU/cache state",
        entry: super::selftest::run,
    },
    #[cfg(not(loom))]
    RunDesc { name: "gup", help: "GUP-fast races V0-V12 as scripted experiments on every CPU", entry: crate::stress::runs::gup },
    #[cfg(not(loom))]
    RunDesc { name: "suite", help: "the whole GUP matrix, each variant ~4 s on its own experiment", entry: crate::stress::runs::suite },
    #[cfg(not(loom))]
    RunDesc { name: "mm-stress", help: "all CPUs: mixed-order alloc/free via per-CPU lists, cross-CPU frees, THP splits; drain + audit", entry: super::mm_stress::run },
    #[cfg(not(loom))]
    RunDesc { name: "bench", help: "CPU 0: allocator, page-table and GUP-fast benches, median of 11 repetitions", entry: crate::bench::run },
    #[cfg(not(loom))]
    RunDesc { name: "litmus", help: "CPU pairs: MP/SB/LB/2+2W litmus tests and fenced forms; measured memory model, fails on a fenced violation", entry: crate::litmus::run },
];
