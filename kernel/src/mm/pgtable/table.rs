//! Table geometry (4 KiB granule, 48-bit VA, four levels) and the table page itself.
//!
//! A table is one 4 KiB page of 512 descriptors, each an `AtomicU64` from [`crate::sync`], so
//! that software walkers (GUP-fast) and writers race only through atomics. Tables are named by
//! their physical address; physical == virtual, so the table at `pa` is `&*(pa as *const
//! PageTable)` on target and on the host alike.

use crate::sync::{write_once, AtomicU64};

/// `PAGE_SHIFT`.
pub const PAGE_SHIFT: u32 = 12;
/// `PAGE_SIZE`: 4 KiB.
pub const PAGE_SIZE: u64 = 1 << PAGE_SHIFT;
/// `PMD_SHIFT`: a level-2 entry maps 2 MiB.
pub const PMD_SHIFT: u32 = 21;
/// `PMD_SIZE`.
pub const PMD_SIZE: u64 = 1 << PMD_SHIFT;
/// `PUD_SHIFT`: a level-1 entry maps 1 GiB.
pub const PUD_SHIFT: u32 = 30;
/// `PUD_SIZE`.
pub const PUD_SIZE: u64 = 1 << PUD_SHIFT;
/// `PGDIR_SHIFT`: a level-0 entry maps 512 GiB.
pub const PGDIR_SHIFT: u32 = 39;
/// `PGDIR_SIZE`.
pub const PGDIR_SIZE: u64 = 1 << PGDIR_SHIFT;
/// Descriptors per table (`PTRS_PER_PTE` = `PTRS_PER_PMD` = ...).
pub const PTRS_PER_TABLE: usize = 512;
/// `VA_BITS`: TTBR0 covers `[0, 1 << VA_BITS)`.
pub const VA_BITS: u32 = 48;
/// Number of 4 KiB pages in a 2 MiB block (`HPAGE_PMD_NR`).
pub const HPAGE_PMD_NR: usize = 1 << (PMD_SHIFT - PAGE_SHIFT);

/// `pgd_index(addr)`: level-0 slot.
#[inline(always)]
pub const fn pgd_index(addr: u64) -> usize {
    ((addr >> PGDIR_SHIFT) & 511) as usize
}
/// `pud_index(addr)`: level-1 slot.
#[inline(always)]
pub const fn pud_index(addr: u64) -> usize {
    ((addr >> PUD_SHIFT) & 511) as usize
}
/// `pmd_index(addr)`: level-2 slot.
#[inline(always)]
pub const fn pmd_index(addr: u64) -> usize {
    ((addr >> PMD_SHIFT) & 511) as usize
}
/// `pte_index(addr)`: level-3 slot.
#[inline(always)]
pub const fn pte_index(addr: u64) -> usize {
    ((addr >> PAGE_SHIFT) & 511) as usize
}

/// One translation table page.
#[repr(C, align(4096))]
pub struct PageTable {
    /// The 512 descriptors.
    pub entries: [AtomicU64; PTRS_PER_TABLE],
}

impl PageTable {
    /// An all-invalid table (for heap-backed tables on the host or under loom).
    pub fn new() -> Self {
        PageTable {
            entries: core::array::from_fn(|_| AtomicU64::new(0)),
        }
    }

    /// The table at physical address `pa`.
    ///
    /// # Safety
    /// `pa` must be the 4 KiB-aligned address of memory that holds a `PageTable` (zeroed RAM
    /// counts: an all-zero `AtomicU64` array is a valid value) and that stays mapped and
    /// allocated as a table, or at least as memory only accessed atomically, for `'a`.
    #[inline(always)]
    pub unsafe fn from_pa<'a>(pa: u64) -> &'a PageTable {
        debug_assert!(pa.is_multiple_of(PAGE_SIZE) && pa != 0, "table pa {pa:#x}");
        // SAFETY: the caller guarantees `pa` addresses a live, aligned `PageTable`.
        unsafe { &*(pa as *const PageTable) }
    }

    /// Physical (== virtual) address of this table.
    #[inline(always)]
    pub fn pa(&self) -> u64 {
        self as *const PageTable as u64
    }

    /// Descriptor `idx`.
    #[inline(always)]
    pub fn entry(&self, idx: usize) -> &AtomicU64 {
        &self.entries[idx]
    }

    /// Fill every descriptor with `v` using single-copy-atomic plain stores (no RMW, no
    /// `memset`/`dc zva`: valid with the MMU off, where memory is Device-nGnRnE).
    pub fn fill(&self, v: u64) {
        for e in self.entries.iter() {
            write_once(e, v);
        }
    }
}

impl Default for PageTable {
    fn default() -> Self {
        Self::new()
    }
}

/// Make descriptor stores visible to this CPU's (and other CPUs') hardware table walker
/// before later instructions: `dsb ishst; isb`, as Linux's `__set_pte_complete()` /
/// `set_pmd()`. It follows the descriptor store, so it never orders earlier stores *before*
/// the descriptor (W1 stays the caller's knob). Nothing to do on the host.
#[inline(always)]
pub fn pgtable_sync_walker() {
    #[cfg(all(target_arch = "aarch64", not(loom)))]
    // SAFETY: barrier instructions with no operands; they touch no Rust-visible state.
    unsafe {
        core::arch::asm!("dsb ishst", "isb", options(nostack, preserves_flags))
    };
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn indices_split_a_48_bit_address() {
        // 0x0000_ABCD_EF12_3456: slots from the bit fields [47:39], [38:30], [29:21], [20:12].
        let va = 0x0000_abcd_ef12_3456u64;
        assert_eq!(pgd_index(va), 0x157);
        assert_eq!(pud_index(va), 0x137);
        assert_eq!(pmd_index(va), 0x178);
        assert_eq!(pte_index(va), 0x123);
        assert_eq!(core::mem::size_of::<PageTable>(), 4096);
        assert_eq!(core::mem::align_of::<PageTable>(), 4096);
    }
}
