//! gupbed's system under test.
//!
//! Portable `no_std` code that runs on every CPU of the aarch64 image, under `cargo test` on
//! the host, and under loom (`RUSTFLAGS="--cfg loom"`). It reaches hardware only through the
//! [`hal::Hal`] interface that the `boot` crate implements.
#![cfg_attr(not(test), no_std)]

extern crate alloc;
// Host builds (unit/integration tests, loom) get std for the host `Hal` implementation.
#[cfg(not(target_os = "none"))]
extern crate std;

// Benches use the zone-backed table allocator and static state: not built under loom.
#[cfg(not(loom))]
pub mod bench;
pub mod bootargs;
pub mod console;
pub mod gup;
pub mod hal;
pub mod ipi;
// Litmus calibration keeps its shared state behind a `kernel::sync` atomic static.
#[cfg(not(loom))]
pub mod litmus;
pub mod mm;
pub mod record;
pub mod rt;
pub mod run;
pub mod smp;
pub mod stress;
pub mod sync;
