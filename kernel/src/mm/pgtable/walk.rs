//! Lockless per-level accessors for software walkers (GUP-fast), named after Linux
//! (`mm/gup.c`, `include/linux/pgtable.h`), and a software translation walk.
//!
//! The GUP-fast shape (spec §1.3): at each level read the entry once
//! (`pgdp_get` / `pudp_get` / `pmdp_get_lockless` / `ptep_get_lockless`), test it, and derive
//! the child table from the **value already read** (`p?d_offset_lockless(parentp, value,
//! addr)`), never by re-reading the parent slot. Entry reads that head an address dependency
//! use [`read_once_dep`] (`ldr` on target, Acquire on host/loom); rechecks use [`read_once`]
//! (Linux `ptep_get()` / `pmdp_get()`). A walker that wants another strength at R0 calls
//! `crate::sync::load(ptep, s)` itself.
//!
//! The offset functions are `unsafe`: they turn a descriptor value into a reference to the
//! table it names. That is sound only while the table cannot be freed and reused as something
//! else — i.e. inside the walker's read-side section (IRQs masked; table freeing waits for
//! it) for a value read from a live table in that section, as in Linux.

use super::desc::*;
use super::table::*;
use crate::sync::{read_once, read_once_dep, AtomicU64};

/// `pgd_offset_pgd(pgd, addr)`: the level-0 entry for `addr` in the root table at `root`.
///
/// # Safety
/// `root` must be a live level-0 table for `'a` (an address space's pgd).
#[inline(always)]
pub unsafe fn pgd_offset_pgd<'a>(root: u64, addr: u64) -> &'a AtomicU64 {
    // SAFETY: guaranteed by the caller.
    unsafe { PageTable::from_pa(root) }.entry(pgd_index(addr))
}

/// `pgd_offset(mm, addr)`: the level-0 entry for `addr` in `mm`'s root table.
#[inline(always)]
pub fn pgd_offset<'m>(mm: &'m super::mm::MmStruct<'_>, addr: u64) -> &'m AtomicU64 {
    // SAFETY: `mm.pgd` is live as long as `mm`.
    unsafe { pgd_offset_pgd(mm.pgd, addr) }
}

/// `pgdp_get(pgdp)`: one single-copy-atomic read heading a dependency.
#[inline(always)]
pub fn pgdp_get(pgdp: &AtomicU64) -> Pgd {
    Pgd(read_once_dep(pgdp))
}

/// `pud_offset_lockless(p4dp, p4d, addr)`: the level-1 entry under the level-0 value `pgd`
/// (already read from `_pgdp`).
///
/// # Safety
/// `pgd` was read from a live table in the current read-side section and is a table
/// descriptor (`pgd_present && !pgd_bad`); the table stays live while the result is used.
#[inline(always)]
pub unsafe fn pud_offset_lockless(_pgdp: &AtomicU64, pgd: Pgd, addr: u64) -> &AtomicU64 {
    // SAFETY: guaranteed by the caller.
    unsafe { PageTable::from_pa(pgd_page_paddr(pgd)) }.entry(pud_index(addr))
}

/// `pudp_get(pudp)`.
#[inline(always)]
pub fn pudp_get(pudp: &AtomicU64) -> Pud {
    Pud(read_once_dep(pudp))
}

/// `pmd_offset_lockless(pudp, pud, addr)`: the level-2 entry under the level-1 value `pud`.
///
/// # Safety
/// As [`pud_offset_lockless`], for a `pud` with `pud_table(pud)`.
#[inline(always)]
pub unsafe fn pmd_offset_lockless(_pudp: &AtomicU64, pud: Pud, addr: u64) -> &AtomicU64 {
    // SAFETY: guaranteed by the caller.
    unsafe { PageTable::from_pa(pud_page_paddr(pud)) }.entry(pmd_index(addr))
}

/// `pmdp_get_lockless(pmdp)`: the pmd value GUP-fast walks with.
#[inline(always)]
pub fn pmdp_get_lockless(pmdp: &AtomicU64) -> Pmd {
    Pmd(read_once_dep(pmdp))
}

/// `pmdp_get(pmdp)`: plain `READ_ONCE` (for rechecks, R7).
#[inline(always)]
pub fn pmdp_get(pmdp: &AtomicU64) -> Pmd {
    Pmd(read_once(pmdp))
}

/// `pte_offset_map(&pmd, addr)`: the level-3 entry under the pmd *value* `pmd` (GUP-fast
/// passes its local copy, so the table is never re-derived from the live pmd slot).
///
/// # Safety
/// As [`pud_offset_lockless`], for a `pmd` with `pmd_table(pmd)`.
#[inline(always)]
pub unsafe fn pte_offset_map<'a>(pmd: Pmd, addr: u64) -> &'a AtomicU64 {
    // SAFETY: guaranteed by the caller.
    unsafe { PageTable::from_pa(pmd_page_paddr(pmd)) }.entry(pte_index(addr))
}

/// `ptep_get_lockless(ptep)` (R0): one single-copy-atomic 64-bit read heading the
/// `pte → struct page` dependency.
#[inline(always)]
pub fn ptep_get_lockless(ptep: &AtomicU64) -> Pte {
    Pte(read_once_dep(ptep))
}

/// `ptep_get(ptep)`: plain `READ_ONCE` (for the R7 recheck).
#[inline(always)]
pub fn ptep_get(ptep: &AtomicU64) -> Pte {
    Pte(read_once(ptep))
}

/// Outcome of a software translation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Translation {
    /// Physical address `va` translates to.
    pub pa: u64,
    /// The leaf descriptor (page or block).
    pub desc: u64,
    /// Level of the leaf: 1 (1 GiB), 2 (2 MiB) or 3 (4 KiB).
    pub level: u8,
}

/// Translate `va` like the MMU would, under the level-0 table `root` (stage 1, no
/// permission checks). `None` if some level is invalid or reserved.
///
/// # Safety
/// The tables reachable from `root` must stay live during the call (no concurrent freeing,
/// or the caller is in a read-side section).
pub unsafe fn walk_translate(root: u64, va: u64) -> Option<Translation> {
    // SAFETY: every offset below derives from a value just read from a table reachable from
    // `root`, which the caller keeps live; each is checked to be a table descriptor first.
    unsafe {
        let pgdp = pgd_offset_pgd(root, va);
        let pgd = pgdp_get(pgdp);
        if !pgd_present(pgd) || pgd_bad(pgd) {
            return None;
        }
        let pudp = pud_offset_lockless(pgdp, pgd, va);
        let pud = pudp_get(pudp);
        if !pud_present(pud) {
            return None;
        }
        if pud_leaf(pud) {
            let pa = (pud.0 & PUD_SECT_ADDR_MASK) | (va & (PUD_SIZE - 1));
            return Some(Translation {
                pa,
                desc: pud.0,
                level: 1,
            });
        }
        let pmdp = pmd_offset_lockless(pudp, pud, va);
        let pmd = pmdp_get_lockless(pmdp);
        if !pmd_present(pmd) {
            return None;
        }
        if pmd_leaf(pmd) {
            let pa = (pmd.0 & PMD_SECT_ADDR_MASK) | (va & (PMD_SIZE - 1));
            return Some(Translation {
                pa,
                desc: pmd.0,
                level: 2,
            });
        }
        let pte = ptep_get_lockless(pte_offset_map(pmd, va));
        if !pte_present(pte) {
            return None;
        }
        Some(Translation {
            pa: pte_paddr(pte) | (va & (PAGE_SIZE - 1)),
            desc: pte.0,
            level: 3,
        })
    }
}
