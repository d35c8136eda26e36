//! VMSAv8-64 translation tables (4 KiB granule, 48-bit VA, four levels) built by the kernel and
//! walked by the MMU.
//!
//! Linux arm64 names throughout: level 0 = pgd, 1 = pud, 2 = pmd, 3 = pte (no p4d).
//! - [`desc`]: descriptor encoding, `PgProt`, MAIR slots;
//! - [`table`]: geometry and `PageTable` (512 `AtomicU64`);
//! - [`alloc`]: `PgtableAlloc`, `BumpTableAlloc` (early boot), `HeapTableAlloc`;
//! - [`idmap`]: the identity map BOOT installs before the MMU is on;
//! - [`sysreg`]: `TCR_EL1` / `MAIR_EL1` / `TTBR0_EL1` values;
//! - [`walk`]: lockless accessors for GUP-fast and a software translation walk.

pub mod alloc;
pub mod desc;
pub mod idmap;
pub mod sysreg;
pub mod table;
pub mod walk;

pub use alloc::{BumpTableAlloc, HeapTableAlloc, PgtableAlloc};
pub use desc::*;
pub use idmap::build_identity_map;
pub use sysreg::{tcr_el1_from_mmfr0, ttbr0_value};
pub use table::*;
pub use walk::*;

/// Why a mapping operation failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MapError {
    /// The table allocator ran out of pages.
    NoMemory,
    /// An address or size is not aligned to the mapping granule.
    Misaligned {
        /// The offending address.
        addr: u64,
    },
    /// An address lies outside the translated range.
    OutOfRange {
        /// The offending address.
        addr: u64,
    },
    /// `va` is already mapped differently (or by a different kind of entry).
    Conflict {
        /// Where.
        va: u64,
        /// The descriptor found there.
        existing: u64,
    },
}
