//! VMSAv8-64 translation tables (4 KiB granule, 48-bit VA, four levels) built by the kernel and
//! walked by the MMU.
//!
//! Linux arm64 names throughout: level 0 = pgd, 1 = pud, 2 = pmd, 3 = pte (no p4d).
//! - [`desc`]: descriptor encoding, `PgProt`, MAIR slots;
//! - [`table`]: geometry and `PageTable` (512 `AtomicU64`);
//! - [`pgalloc`]: `PgtableAlloc`, `BumpTableAlloc` (early boot), `HeapTableAlloc`;
//! - [`idmap`]: the identity map BOOT installs before the MMU is on;
//! - [`swapper`]: `swapper_pg_dir`, the kernel root every address space shares;
//! - [`sysreg`]: `TCR_EL1` / `MAIR_EL1` / `TTBR0_EL1` values;
//! - [`walk`]: lockless accessors for GUP-fast and a software translation walk;
//! - [`mm`]: `MmStruct`, a user address space sharing the kernel map;
//! - [`map`]: map/unmap 4 KiB / 2 MiB, `set_ptes`, break-before-make, split, table freeing;
//! - [`tlb`]: TLB maintenance via `hal()` (or a test double);
//! - [`tlb_free`]: deferred table freeing (`tlb_remove_table`, quiescent states, W5/V10);
//! - `zone_alloc`: `ZonePgtableAlloc`, table pages from the page allocator.

pub mod desc;
pub mod error;
pub mod idmap;
pub mod map;
pub mod mm;
pub mod pgalloc;
pub mod swapper;
pub mod sysreg;
pub mod table;
pub mod tlb;
pub mod tlb_free;
pub mod walk;
pub mod zone_alloc;

pub use desc::*;
pub use error::MapError;
pub use idmap::build_identity_map;
pub use map::*;
pub use mm::{MmStruct, USER_VA_BASE, USER_VA_END};
pub use pgalloc::{BumpTableAlloc, HeapTableAlloc, PgtableAlloc};
pub use swapper::{set_swapper_pg_dir, swapper_pg_dir};
pub use sysreg::{tcr_el1_from_mmfr0, ttbr0_value};
pub use table::*;
pub use tlb::{HalTlb, TlbFlush, HAL_TLB};
pub use tlb_free::{
    free_table_poisoned, pgtable_poisoned, TableFreePolicy, TableRcu, PGTABLE_POISON,
};
pub use walk::*;
pub use zone_alloc::ZonePgtableAlloc;

#[cfg(all(test, not(loom)))]
mod map_tests;
