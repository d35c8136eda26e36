//! The lockless walk: `lockless_pages_from_mm()` → `gup_fast_pgd_range()` → pud → pmd → leaf.
//!
//! Each level reads its entry once and derives the child table from the value read
//! (`p?d_offset_lockless`), never by re-reading the parent slot (spec §1.3). Table addresses
//! are checked against `mem_map` before they are dereferenced, so a walker that reads a freed
//! and reused table (V10) bails instead of touching memory that is not RAM.

use super::grab::Grabbed;
use super::pmd_leaf::gup_fast_pmd_leaf;
use super::pte_range::gup_fast_pte_range;
use super::variant::Variant;
use super::window::{Fallback, Site, Window};
use super::GupCtx;
use crate::mm::pgtable::desc::*;
use crate::mm::pgtable::table::{PGDIR_SIZE, PMD_SIZE, PUD_SIZE};
use crate::mm::pgtable::walk::{
    pgd_offset_pgd, pgdp_get, pmd_offset_lockless, pmdp_get_lockless, pud_offset_lockless, pudp_get,
};
use crate::sync::AtomicU64;

/// `p?d_addr_end(addr, end)`.
#[inline(always)]
fn addr_end(addr: u64, end: u64, size: u64) -> u64 {
    let boundary = (addr & !(size - 1)).wrapping_add(size);
    if boundary.wrapping_sub(1) < end.wrapping_sub(1) {
        boundary
    } else {
        end
    }
}

/// Whether a table descriptor's target is a frame of RAM we manage (the walker never follows a
/// garbage pointer out of RAM).
#[inline(always)]
fn table_in_ram(ctx: &GupCtx, pa: u64) -> bool {
    ctx.mem_map.pfn_valid(pa >> 12)
}

/// `gup_fast_pmd_range()`: the PMD entries of `[addr, end)` under the PUD value `pud`.
///
/// # Safety
/// Inside the reader's IRQ-masked section; `pud` is a table descriptor read in this section
/// from the live `pudp`, and its target is a frame of RAM (the caller checked it).
#[allow(clippy::too_many_arguments)]
#[inline(always)]
unsafe fn gup_fast_pmd_range<'a, V: Variant, W: Window>(
    ctx: &GupCtx<'a>,
    pudp: &AtomicU64,
    pud: Pud,
    mut addr: u64,
    end: u64,
    flags: u32,
    out: &mut [Option<Grabbed<'a>>],
    nr: &mut usize,
    w: &mut W,
) -> bool {
    loop {
        let next = addr_end(addr, end, PMD_SIZE);
        // SAFETY: `pud` is a table descriptor read in this section from a live table, and its
        // target is RAM (checked by the caller).
        let pmdp = unsafe { pmd_offset_lockless(pudp, pud, addr) };
        let pmd = pmdp_get_lockless(pmdp);
        w.desc(2, pmd.0);
        w.at(Site::AfterPmd);
        if !pmd_present(pmd) {
            w.fallback(Fallback::UpperNone);
            return false;
        }
        if pmd_leaf(pmd) {
            if !gup_fast_pmd_leaf::<V, W>(ctx, pmd, pmdp, addr, next, flags, out, nr, w) {
                return false;
            }
        } else {
            if !pmd_table(pmd) || !table_in_ram(ctx, pmd_page_paddr(pmd)) {
                w.fallback(Fallback::BadPfn);
                return false;
            }
            // SAFETY: `pmd` is a table descriptor into RAM read in this section.
            if !unsafe { gup_fast_pte_range::<V, W>(ctx, pmd, pmdp, addr, next, flags, out, nr, w) }
            {
                return false;
            }
        }
        addr = next;
        if addr >= end {
            return true;
        }
    }
}

/// `gup_fast_pud_range()`: the PUD entries of `[addr, end)` under the PGD value `pgd`.
///
/// # Safety
/// Inside the reader's IRQ-masked section; `pgd` is a table descriptor read in this section
/// from the live `pgdp`, and its target is a frame of RAM (the caller checked it).
#[allow(clippy::too_many_arguments)]
#[inline(always)]
unsafe fn gup_fast_pud_range<'a, V: Variant, W: Window>(
    ctx: &GupCtx<'a>,
    pgdp: &AtomicU64,
    pgd: Pgd,
    mut addr: u64,
    end: u64,
    flags: u32,
    out: &mut [Option<Grabbed<'a>>],
    nr: &mut usize,
    w: &mut W,
) -> bool {
    loop {
        let next = addr_end(addr, end, PUD_SIZE);
        // SAFETY: `pgd` is a table descriptor into RAM read in this section.
        let pudp = unsafe { pud_offset_lockless(pgdp, pgd, addr) };
        let pud = pudp_get(pudp);
        w.desc(1, pud.0);
        // No 1 GiB leaves in gupbed's user address spaces (gup_huge_pud): slow path.
        if !pud_present(pud) || !pud_table(pud) || !table_in_ram(ctx, pud_page_paddr(pud)) {
            w.fallback(Fallback::UpperNone);
            return false;
        }
        // SAFETY: checked just above.
        if !unsafe { gup_fast_pmd_range::<V, W>(ctx, pudp, pud, addr, next, flags, out, nr, w) } {
            return false;
        }
        addr = next;
        if addr >= end {
            return true;
        }
    }
}

/// `gup_fast_pgd_range()`: walk `[addr, end)` of the address space rooted at `ctx.pgd`.
///
/// # Safety
/// Must run inside the reader's IRQ-masked section ([`lockless_pages_from_mm`]), with `ctx.pgd`
/// the live root of an address space.
pub unsafe fn gup_fast_pgd_range<'a, V: Variant, W: Window>(
    ctx: &GupCtx<'a>,
    mut addr: u64,
    end: u64,
    flags: u32,
    out: &mut [Option<Grabbed<'a>>],
    nr: &mut usize,
    w: &mut W,
) {
    loop {
        let next = addr_end(addr, end, PGDIR_SIZE);
        // SAFETY: `ctx.pgd` is the live root (caller).
        let pgdp = unsafe { pgd_offset_pgd(ctx.pgd, addr) };
        let pgd = pgdp_get(pgdp);
        w.desc(0, pgd.0);
        if !pgd_present(pgd) || pgd_bad(pgd) || !table_in_ram(ctx, pgd_page_paddr(pgd)) {
            w.fallback(Fallback::UpperNone);
            return;
        }
        // SAFETY: checked just above.
        if !unsafe { gup_fast_pud_range::<V, W>(ctx, pgdp, pgd, addr, next, flags, out, nr, w) } {
            return;
        }
        addr = next;
        if addr >= end {
            return;
        }
    }
}
