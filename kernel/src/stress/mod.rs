//! Experiments: the races of the June 2021 `try_grab_compound_head()` thread as runs on every
//! CPU, with variants (V0–V12), oracles and verdicts (spec §5–§7).
//!
//! - [`variants`]: the matrix as data; reader knobs are compile-time ([`crate::gup::variant`]).
//! - [`experiments`]: one scripted interleaving per race, driven by
//!   [`experiments::script::run`].
//! - [`roles`]: writer operations, reader GUP calls, allocator churn.
//! - [`window`]: widening / scripted handshake / oracle hooks inside the reader's windows.
//! - [`oracles`]: tallies, post-accept checks, allocator counters and audit.
//! - [`verdict`], [`report`]: verdicts honest about the platform's memory model; records.
//! - [`driver`], [`runs`]: one experiment × variant on every CPU; the `gup` and `suite` runs.

pub mod driver;
pub mod experiments;
pub mod mmu;
pub mod oracles;
pub mod platform;
pub mod prng;
pub mod report;
pub mod roles;
#[cfg(not(loom))]
pub mod runs;
pub mod variants;
pub mod verdict;
pub mod window;
pub mod world;
