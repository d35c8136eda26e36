//! Oracles (spec §7 "Oracle design"): per-CPU tallies, post-accept checks, frame canaries,
//! allocator and audit counters turned into violation kinds.

pub mod canary;
pub mod check;
pub mod counts;
pub mod mm_counters;
