//! Experiments: the races of the June 2021 `try_grab_compound_head()` thread as runs on every
//! CPU, with variants (V0–V12), oracles and verdicts (spec §5–§7).
//!
//! Arrows run one way, from the top of this list to the bottom:
//! - [`runs`], [`driver`]: the `gup` and `suite` runs; one experiment × variant on every CPU.
//! - [`variants`]: the matrix as data (reader, writer knobs, experiment, race class).
//! - [`experiments`]: the table of races, one scripted interleaving each, driven by
//!   [`experiments::script::run`].
//! - [`roles`]: writer operations, reader GUP calls, allocator churn.
//! - [`oracles`]: tallies, post-accept checks, canaries, allocator counters and audit.
//! - [`window`]: widening / scripted handshake / oracle hooks inside the reader's windows.
//! - [`world`]: the state one experiment × variant shares between CPUs, and each CPU's [`world::Env`].
//! - [`knobs`], [`verdict`], [`report`], [`platform`], [`prng`], [`mmu`]: the vocabulary
//!   (writer knobs over [`crate::mm::knobs::MmKnobs`], reader markers), verdicts honest about
//!   the platform's memory model, records, what the kernel provides, seeds, the MMU's view.

pub mod driver;
pub mod experiments;
pub mod knobs;
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
