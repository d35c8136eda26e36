//! User address spaces: the page-table half of Linux's `struct mm_struct` (`pgd` + ASID).
//!
//! Every address space shares the kernel identity map: at creation the kernel root's level-0
//! entries are copied (slot 0 covers VA 0..512 GiB, i.e. all of RAM and MMIO on the supported
//! boards), so the kernel keeps running unchanged when a CPU installs the user root with
//! `hal().switch_ttbr0(pgd, asid)` ([`MmStruct::switch_mm`]). User mappings live only in level-0
//! slot 1, `[USER_VA_BASE, USER_VA_END)`, under tables this address space owns; the kernel's
//! tables are never written through an `MmStruct`.

use super::desc::*;
use super::error::MapError;
use super::pgalloc::PgtableAlloc;
use super::table::*;
use super::tlb::{TlbFlush, HAL_TLB};
use super::tlb_free::{TableFreePolicy, TableRcu};
use crate::hal;
use crate::sync::{read_once, write_once};

/// First user virtual address (level-0 slot 1).
pub const USER_VA_BASE: u64 = 1 << PGDIR_SHIFT;
/// End (exclusive) of the user range: one level-0 slot, 512 GiB.
pub const USER_VA_END: u64 = 2 << PGDIR_SHIFT;

/// The translation part of an address space (Linux `mm->pgd`, `mm->context.id`), with the
/// lock its writers serialise on (`mm->page_table_lock`, standing in for the split PTLs).
/// Readers (GUP-fast) never take the lock.
pub struct MmStruct<'a> {
    /// Physical address of the level-0 table (what TTBR0 points to).
    pub pgd: u64,
    /// ASID of every non-global (user) translation.
    pub asid: u16,
    pub(super) rcu: &'a TableRcu<'a>,
    pub(super) tlb: &'a dyn TlbFlush,
    pub(super) table_free: TableFreePolicy,
    /// Serialises page-table writers (`mm->page_table_lock`).
    pub page_table_lock: spin::Mutex<()>,
}

impl<'a> MmStruct<'a> {
    /// `mm_alloc()` + `pgd_alloc()`: a new address space sharing the kernel map at
    /// `kernel_pgd`, with tables from (and freed through) `rcu`, freed per `table_free`.
    ///
    /// `kernel_pgd` must be a live level-0 table (the identity map) whose slot 1 is empty.
    pub fn new(
        kernel_pgd: u64,
        asid: u16,
        rcu: &'a TableRcu<'a>,
        table_free: TableFreePolicy,
    ) -> Result<Self, MapError> {
        // SAFETY: the caller hands us the live kernel root.
        let kernel = unsafe { PageTable::from_pa(kernel_pgd) };
        let user_slot = read_once(kernel.entry(pgd_index(USER_VA_BASE)));
        if user_slot != 0 {
            return Err(MapError::Conflict {
                va: USER_VA_BASE,
                existing: user_slot,
            });
        }
        let pgd = rcu.alloc().alloc_table().ok_or(MapError::NoMemory)?;
        // SAFETY: freshly allocated table, ours.
        let root = unsafe { PageTable::from_pa(pgd) };
        for (dst, src) in root.entries.iter().zip(kernel.entries.iter()) {
            write_once(dst, read_once(src));
        }
        Ok(MmStruct {
            pgd,
            asid,
            rcu,
            tlb: &HAL_TLB,
            table_free,
            page_table_lock: spin::Mutex::new(()),
        })
    }

    /// Send TLB invalidations to `tlb` instead of `hal()` (tests observe them).
    pub fn with_tlb(mut self, tlb: &'a dyn TlbFlush) -> Self {
        self.tlb = tlb;
        self
    }

    /// The table-free policy (variant knob).
    pub fn table_free_policy(&self) -> TableFreePolicy {
        self.table_free
    }

    /// The deferred-free machinery (CPUs report quiescent states to it).
    pub fn rcu(&self) -> &'a TableRcu<'a> {
        self.rcu
    }

    /// The table allocator.
    pub fn pgtable_alloc(&self) -> &'a (dyn PgtableAlloc + Sync) {
        self.rcu.alloc()
    }

    /// `switch_mm()`: install this address space on the calling CPU (no-op without a hal).
    pub fn switch_mm(&self) {
        if hal::installed() {
            hal::hal().switch_ttbr0(self.pgd, self.asid);
        }
    }

    /// The root table.
    pub(super) fn root(&self) -> &PageTable {
        // SAFETY: `pgd` is ours and lives until drop.
        unsafe { PageTable::from_pa(self.pgd) }
    }

    /// `free_pgtables()` for the whole user range: unlink the user subtree, flush the ASID and
    /// queue every user table (and the root) for deferred freeing. Leaves are not touched:
    /// the owners of mapped pages must have unmapped them (and dropped their references).
    fn free_pgtables(&mut self) {
        let slot = self.root().entry(pgd_index(USER_VA_BASE));
        let pgd = Pgd(read_once(slot));
        write_once(slot, 0);
        self.tlb.flush_tlb_mm(self.asid);
        if pgd_present(pgd) && !pgd_bad(pgd) {
            // SAFETY: user tables are owned by this mm and only reachable through it; they are
            // queued, not freed, so concurrent walkers stay safe.
            let l1 = unsafe { PageTable::from_pa(pgd_page_paddr(pgd)) };
            for pude in l1.entries.iter() {
                let pud = Pud(read_once(pude));
                if !pud_table(pud) {
                    continue;
                }
                // SAFETY: as above.
                let l2 = unsafe { PageTable::from_pa(pud_page_paddr(pud)) };
                for pmde in l2.entries.iter() {
                    let pmd = Pmd(read_once(pmde));
                    if pmd_table(pmd) {
                        self.rcu.tlb_remove_table(pmd_page_paddr(pmd));
                    }
                }
                self.rcu.tlb_remove_table(pud_page_paddr(pud));
            }
            self.rcu.tlb_remove_table(pgd_page_paddr(pgd));
        }
        self.rcu.tlb_remove_table(self.pgd);
    }
}

impl Drop for MmStruct<'_> {
    /// `mmdrop()`: tables go through the grace period. No CPU may still run on this root.
    fn drop(&mut self) {
        self.free_pgtables();
    }
}
