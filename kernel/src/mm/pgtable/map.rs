//! Page-table writers for user address spaces: map and unmap 4 KiB pages and 2 MiB blocks,
//! PTE-map a 2 MiB compound page, split a PMD mapping, break-before-make, free PTE tables.
//!
//! Writers hold `mm.page_table_lock`; readers (GUP-fast) do not. Every descriptor store is a
//! single-copy-atomic store through [`crate::sync`]:
//! - **W1 publish**: the leaf store that makes a page reachable has a [`Strength`] knob —
//!   `Relaxed` = `WRITE_ONCE` (V4: no ordering of earlier `struct page` stores), `AcqRel` =
//!   `smp_store_release` (correct). Nothing else in this module orders the caller's earlier
//!   stores before the leaf: the PTL is taken with an acquire (one-way) and released after.
//! - **W3 unmap first**: [`unmap_page`] clears the entry (`WRITE_ONCE(0)`), flushes the TLB,
//!   and returns the old value; the caller drops the mapping's reference afterwards.
//! - **Break-before-make**: a valid entry is never overwritten by another valid entry: it is
//!   cleared, the TLB entry invalidated, then the new entry written.
//! - **W5**: unlinked tables are freed per the address space's [`TableFreePolicy`].
//! - New tables are zeroed, then linked after `smp_wmb()` (Linux `pmd_install`), and
//!   descriptor stores are followed by `dsb ishst; isb` on target (Linux `set_pmd`/`set_pte`)
//!   so this CPU's own hardware walks see them.

use super::desc::*;
use super::error::MapError;
use super::mm::{MmStruct, USER_VA_BASE, USER_VA_END};
use super::table::*;
use super::tlb_free::{free_table_poisoned, TableFreePolicy};
use crate::sync::{read_once, smp_wmb, store, write_once, AtomicU64, Strength};

fn check_user(va: u64, size: u64) -> Result<(), MapError> {
    if va < USER_VA_BASE || va.checked_add(size).is_none_or(|end| end > USER_VA_END) {
        return Err(MapError::OutOfRange { addr: va });
    }
    if !va.is_multiple_of(size.min(PMD_SIZE)) {
        return Err(MapError::Misaligned { addr: va });
    }
    Ok(())
}

/// Link a new zeroed table under `parent` (which must be empty): `pmd_install()`.
fn table_install(mm: &MmStruct<'_>, parent: &AtomicU64) -> Result<u64, MapError> {
    let pa = mm.pgtable_alloc().alloc_table().ok_or(MapError::NoMemory)?;
    smp_wmb(); // the zeroed table before the link
    write_once(parent, mk_table(pa));
    pgtable_sync_walker();
    Ok(pa)
}

/// The table `parent` points to, allocating it if `parent` is empty. PTL held.
fn table_alloc<'m>(
    mm: &'m MmStruct<'_>,
    parent: &AtomicU64,
    va: u64,
) -> Result<&'m PageTable, MapError> {
    let cur = read_once(parent);
    let pa = match cur {
        0 => table_install(mm, parent)?,
        _ if cur & PTE_TYPE_MASK == PMD_TYPE_TABLE => cur & PTE_ADDR_MASK,
        _ => return Err(MapError::Conflict { va, existing: cur }),
    };
    // SAFETY: a table linked into this mm; freeing requires the PTL, which the caller holds.
    Ok(unsafe { PageTable::from_pa(pa) })
}

/// `pmd_alloc()`: the level-2 entry for `va`, allocating level-1/2 tables. PTL held.
fn pmd_alloc<'m>(mm: &'m MmStruct<'_>, va: u64) -> Result<&'m AtomicU64, MapError> {
    let pud = table_alloc(mm, mm.root().entry(pgd_index(va)), va)?;
    let pmd = table_alloc(mm, pud.entry(pud_index(va)), va)?;
    Ok(pmd.entry(pmd_index(va)))
}

/// The level-2 entry for `va` if the tables above it exist (no allocation). PTL held.
fn pmd_lookup<'m>(mm: &'m MmStruct<'_>, va: u64) -> Option<&'m AtomicU64> {
    let pgd = Pgd(read_once(mm.root().entry(pgd_index(va))));
    if !pgd_present(pgd) || pgd_bad(pgd) {
        return None;
    }
    // SAFETY: linked tables of this mm, kept alive by the PTL the caller holds.
    let pud = Pud(read_once(
        unsafe { PageTable::from_pa(pgd_page_paddr(pgd)) }.entry(pud_index(va)),
    ));
    if !pud_table(pud) {
        return None;
    }
    // SAFETY: as above.
    Some(unsafe { PageTable::from_pa(pud_page_paddr(pud)) }.entry(pmd_index(va)))
}

/// The level-3 entry for `va` if mapped through a PTE table (no allocation). PTL held.
fn pte_lookup<'m>(mm: &'m MmStruct<'_>, va: u64) -> Option<&'m AtomicU64> {
    let pmd = Pmd(read_once(pmd_lookup(mm, va)?));
    if !pmd_table(pmd) {
        return None;
    }
    // SAFETY: as in `pmd_lookup`.
    Some(unsafe { PageTable::from_pa(pmd_page_paddr(pmd)) }.entry(pte_index(va)))
}

/// `set_pte_at(mm, addr, ptep, pte)`: store a leaf (page or block) descriptor with strength
/// `s` (the W1 knob), then make it visible to hardware walks. The caller holds the PTL and
/// `ptep` currently holds an invalid entry (break-before-make).
#[inline(always)]
pub fn set_pte_at(_mm: &MmStruct<'_>, _va: u64, ptep: &AtomicU64, pte: u64, s: Strength) {
    store(ptep, pte, s);
    pgtable_sync_walker();
}

/// Common checks of a mapping request: `[va, va + size)` is user space and `pa` is aligned to
/// `align` (the mapping granule).
fn check_map(va: u64, size: u64, pa: u64, align: u64) -> Result<(), MapError> {
    check_user(va, size)?;
    if !pa.is_multiple_of(align) {
        return Err(MapError::Misaligned { addr: pa });
    }
    Ok(())
}

/// The entry a new mapping goes into must be empty (replacing a valid entry needs
/// break-before-make: [`set_pte_bbm`]).
fn expect_empty(entry: &AtomicU64, va: u64) -> Result<(), MapError> {
    match read_once(entry) {
        0 => Ok(()),
        existing => Err(MapError::Conflict { va, existing }),
    }
}

/// Map the 4 KiB page at `pa` at user address `va` with `prot`, allocating missing tables;
/// the leaf is published with strength `s` (W1). Fails with `Conflict` if `va` is already
/// mapped (use [`set_pte_bbm`] to replace) or lies inside a 2 MiB block.
pub fn map_page(
    mm: &MmStruct<'_>,
    va: u64,
    pa: u64,
    prot: PgProt,
    s: Strength,
) -> Result<(), MapError> {
    check_map(va, PAGE_SIZE, pa, PAGE_SIZE)?;
    let _ptl = mm.page_table_lock.lock();
    let pmdp = pmd_alloc(mm, va)?;
    let ptep = table_alloc(mm, pmdp, va)?.entry(pte_index(va));
    expect_empty(ptep, va)?;
    set_pte_at(mm, va, ptep, mk_pte(pa, prot).0, s);
    Ok(())
}

/// PTE-map `nr` consecutive 4 KiB frames from `pa` at `va` (Linux `set_ptes()`), in address
/// order, each leaf published with strength `s`. With `nr = HPAGE_PMD_NR` and 2 MiB-aligned
/// `va`/`pa` this is a PTE-mapped THP (the mapping §5a's split race needs).
pub fn set_ptes(
    mm: &MmStruct<'_>,
    va: u64,
    pa: u64,
    nr: usize,
    prot: PgProt,
    s: Strength,
) -> Result<(), MapError> {
    check_map(va, (nr as u64 * PAGE_SIZE).max(PAGE_SIZE), pa, PAGE_SIZE)?;
    for i in 0..nr as u64 {
        map_page(mm, va + i * PAGE_SIZE, pa + i * PAGE_SIZE, prot, s)?;
    }
    Ok(())
}

/// Map the 2 MiB block at `pa` at `va` with one level-2 block descriptor (a PMD-mapped THP),
/// published with strength `s`. The level-2 entry must be empty (free a PTE table first with
/// [`free_pte_table`]).
pub fn map_block_2m(
    mm: &MmStruct<'_>,
    va: u64,
    pa: u64,
    prot: PgProt,
    s: Strength,
) -> Result<(), MapError> {
    check_map(va, PMD_SIZE, pa, PMD_SIZE)?;
    let _ptl = mm.page_table_lock.lock();
    let pmdp = pmd_alloc(mm, va)?;
    expect_empty(pmdp, va)?;
    set_pte_at(mm, va, pmdp, mk_pmd_sect(pa, prot).0, s);
    Ok(())
}

/// `ptep_clear_flush()`: clear the 4 KiB mapping at `va` (`WRITE_ONCE(*ptep, 0)`), invalidate
/// its TLB entry on all CPUs, and return the old descriptor — the caller drops the mapping's
/// page reference only now (W3). `None` if no page is mapped at `va` through a PTE.
pub fn unmap_page(mm: &MmStruct<'_>, va: u64) -> Option<Pte> {
    check_user(va, PAGE_SIZE).ok()?;
    let _ptl = mm.page_table_lock.lock();
    let ptep = pte_lookup(mm, va)?;
    let old = Pte(read_once(ptep));
    if !pte_present(old) {
        return None;
    }
    write_once(ptep, 0);
    mm.tlb.flush_tlb_page(mm.asid, va);
    Some(old)
}

/// `pmdp_huge_clear_flush()`: clear the 2 MiB block mapping covering `va`, invalidate it,
/// return the old descriptor (W3 as for [`unmap_page`]). `None` if no block maps `va`.
pub fn unmap_block(mm: &MmStruct<'_>, va: u64) -> Option<Pmd> {
    let va = va & !(PMD_SIZE - 1);
    check_user(va, PMD_SIZE).ok()?;
    let _ptl = mm.page_table_lock.lock();
    let pmdp = pmd_lookup(mm, va)?;
    let old = Pmd(read_once(pmdp));
    if !pmd_leaf(old) {
        return None;
    }
    write_once(pmdp, 0);
    mm.tlb.flush_tlb_page(mm.asid, va);
    Some(old)
}

/// Break-before-make replacement of the 4 KiB mapping at `va` by `new`: if a valid entry is
/// there, store invalid and invalidate the TLB first; then store `new` with strength `s`.
/// Returns the previous descriptor (possibly `pte_none`). The tables must already exist.
pub fn set_pte_bbm(mm: &MmStruct<'_>, va: u64, new: Pte, s: Strength) -> Result<Pte, MapError> {
    check_user(va, PAGE_SIZE)?;
    let _ptl = mm.page_table_lock.lock();
    let ptep = pte_lookup(mm, va).ok_or(MapError::NotMapped { va })?;
    let old = Pte(read_once(ptep));
    if pte_present(old) {
        write_once(ptep, 0);
        mm.tlb.flush_tlb_page(mm.asid, va);
    }
    set_pte_at(mm, va, ptep, new.0, s);
    Ok(old)
}

/// `__split_huge_pmd()`: turn the 2 MiB block mapping at `va` into a PTE table of 512 pages
/// with the same attributes (break-before-make on the level-2 entry: invalidate, flush, link
/// the prefilled table). `s` is the strength of the final table link.
pub fn split_huge_pmd(mm: &MmStruct<'_>, va: u64, s: Strength) -> Result<(), MapError> {
    let va = va & !(PMD_SIZE - 1);
    check_user(va, PMD_SIZE)?;
    let _ptl = mm.page_table_lock.lock();
    let pmdp = pmd_lookup(mm, va).ok_or(MapError::NotMapped { va })?;
    let pmd = Pmd(read_once(pmdp));
    if !pmd_leaf(pmd) {
        return Err(MapError::NotMapped { va });
    }
    let prot = PgProt(pmd.0 & !(PMD_SECT_ADDR_MASK | PTE_TYPE_MASK));
    let pa = mm.pgtable_alloc().alloc_table().ok_or(MapError::NoMemory)?;
    // SAFETY: fresh table, not yet linked.
    let table = unsafe { PageTable::from_pa(pa) };
    let base = pmd_pfn(pmd) << PAGE_SHIFT;
    for (i, e) in table.entries.iter().enumerate() {
        write_once(e, mk_pte(base + i as u64 * PAGE_SIZE, prot).0);
    }
    write_once(pmdp, 0);
    mm.tlb.flush_tlb_page(mm.asid, va);
    smp_wmb(); // the prefilled table before the link
    set_pte_at(mm, va, pmdp, mk_table(pa), s);
    Ok(())
}

/// Unlink the PTE table covering `va` (if `only_if_empty`, only when all its entries are
/// invalid) and flush the ASID, walk caches included. Returns the unlinked table.
fn unlink_pte_table(
    mm: &MmStruct<'_>,
    va: u64,
    only_if_empty: bool,
) -> Result<Option<u64>, MapError> {
    check_user(va, PAGE_SIZE)?;
    let _ptl = mm.page_table_lock.lock();
    let pmdp = pmd_lookup(mm, va).ok_or(MapError::NotMapped { va })?;
    let pmd = Pmd(read_once(pmdp));
    if !pmd_table(pmd) {
        return Err(MapError::NotMapped { va });
    }
    // SAFETY: linked table of this mm, PTL held.
    let table = unsafe { PageTable::from_pa(pmd_page_paddr(pmd)) };
    if only_if_empty && table.entries.iter().any(|e| read_once(e) & PTE_VALID != 0) {
        return Ok(None);
    }
    write_once(pmdp, 0);
    mm.tlb.flush_tlb_mm(mm.asid);
    Ok(Some(pmd_page_paddr(pmd)))
}

/// Free an unlinked table per the address space's policy.
fn pte_free_tlb(mm: &MmStruct<'_>, pa: u64) {
    match mm.table_free_policy() {
        TableFreePolicy::Deferred => mm.rcu().tlb_remove_table(pa),
        // SAFETY: unlinked by the caller. Walkers may still hold it: that is the V10 bug, and
        // allocator pages stay memory that is only accessed atomically.
        TableFreePolicy::Immediate => unsafe { free_table_poisoned(mm.pgtable_alloc(), pa) },
    }
}

/// Unlink the PTE table covering `va` from its level-2 entry, flush the ASID (walk caches
/// included) and free the table per the address space's [`TableFreePolicy`] — Deferred: after
/// every CPU passed a quiescent state (W5); Immediate (V10): poisoned and freed now. The
/// table's entries are left as they are until it is freed, like khugepaged's collapse: a
/// walker that already fetched the table still finds the old PTEs (and must fail its pmd
/// recheck). Mapped pages are not released: that is the caller's business.
pub fn free_pte_table(mm: &MmStruct<'_>, va: u64) -> Result<(), MapError> {
    if let Some(pa) = unlink_pte_table(mm, va, false)? {
        pte_free_tlb(mm, pa);
    }
    Ok(())
}

/// [`free_pte_table`] if every entry of the PTE table covering `va` is invalid (checked
/// under the lock); returns whether it freed one. Unmapping never frees tables by itself
/// (as in Linux, where zap leaves tables to `free_pgtables()`).
pub fn free_pte_table_if_empty(mm: &MmStruct<'_>, va: u64) -> Result<bool, MapError> {
    Ok(match unlink_pte_table(mm, va, true)? {
        Some(pa) => {
            pte_free_tlb(mm, pa);
            true
        }
        None => false,
    })
}
