//! `swapper_pg_dir`: the kernel's own root table (the identity map BOOT built), which every
//! user address space ([`super::MmStruct::new`]) shares.

use core::sync::atomic::{AtomicU64, Ordering};

// Not an ordering-relevant word of the system under test: written once by the boot CPU before
// the secondaries start (PSCI CPU_ON orders it), so plain core atomics suffice (and keep it a
// `static` under loom).
static SWAPPER_PG_DIR: AtomicU64 = AtomicU64::new(0);

/// Record the kernel root table (BOOT, once, before the secondaries start).
pub fn set_swapper_pg_dir(root: u64) {
    SWAPPER_PG_DIR.store(root, Ordering::Relaxed);
}

/// Physical address of the kernel root table, or `None` before BOOT set it (host tests).
pub fn swapper_pg_dir() -> Option<u64> {
    match SWAPPER_PG_DIR.load(Ordering::Relaxed) {
        0 => None,
        root => Some(root),
    }
}
