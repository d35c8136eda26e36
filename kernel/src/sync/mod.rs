//! The one ordering layer, in Linux's vocabulary.
//!
//! Every load, store, RMW and barrier whose ordering matters in mm/gup code goes through here,
//! so that a variant's "missing barrier" is a different call at one site, never a data race.
//!
//! Backends, chosen when the crate is built:
//! - **aarch64 target**: atomics compile to `ldr`/`str`/`ldar`/`stlr` and exclusives (or LSE);
//!   barriers are the exact `dmb ish` / `dmb ishst` / `dmb ishld` Linux uses; fully ordered
//!   RMWs are a release RMW followed by `dmb ish`, as in Linux's arm64 LL/SC atomics.
//! - **host**: `core::sync::atomic` with the nearest C11 orderings.
//! - **loom** (`--cfg loom`): `loom::sync::atomic`, so models explore the weak behaviours C11
//!   allows (loom does not model load buffering).
//!
//! Address dependencies: Linux's `READ_ONCE()` of a pointer orders the loads that depend on it
//! (arm64 hardware honours dependencies). C11 has no usable `consume`, so [`read_once_dep`] is a
//! plain `ldr` on target and is promoted to Acquire on host and under loom.

mod atomics;
mod barriers;
mod rmw;

pub use atomics::*;
pub use barriers::*;
pub use rmw::*;

/// Strength of a load, store or RMW at a call site whose strength is an experiment knob.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Strength {
    /// `READ_ONCE` / `WRITE_ONCE` / relaxed RMW: single-copy atomic, no ordering.
    Relaxed,
    /// `smp_load_acquire` (loads) or `smp_store_release` (stores); acquire+release on RMWs.
    AcqRel,
    /// Linux "fully ordered" (value-returning RMWs, `smp_mb()` around a plain access).
    Full,
}
