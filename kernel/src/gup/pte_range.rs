//! `gup_fast_pte_range()` (v5.13 `gup_pte_range`): R0–R8 for each PTE of one page table.

use super::grab::{pin_accounting, try_grab_folio_fast, Grabbed};
use super::unpin::gup_put_folio;
use super::variant::{RecheckOrder, Variant};
use super::window::{Fallback, Site, Window};
use super::{GupCtx, FOLL_PIN, FOLL_WRITE};
use crate::mm::pgtable::desc::{pte_access_permitted, pte_devmap, pte_pfn, pte_special, Pmd, Pte};
use crate::mm::pgtable::table::PAGE_SIZE;
use crate::mm::pgtable::walk::{pmdp_get, pte_offset_map, ptep_get, ptep_get_lockless};
use crate::sync::{read_once, AtomicU64};

/// Walk the PTEs of `[addr, end)` under the PMD value `pmd0` (read from `pmdp`), appending
/// accepted pages to `out[*nr..]`. Returns false at the first page given up (the caller falls
/// back to the slow path from there), true if every page was taken.
///
/// # Safety
/// Called inside the reader's IRQ-masked section with `pmd0` a table descriptor read from the
/// live `pmdp` in this section (the PTE table cannot be freed before the section ends under a
/// correct table-free policy; under V10's it can — then it reads poison, never unmapped memory,
/// because freed table frames stay RAM).
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub unsafe fn gup_fast_pte_range<'a, V: Variant, W: Window>(
    ctx: &GupCtx<'a>,
    pmd0: Pmd,
    pmdp: &AtomicU64,
    mut addr: u64,
    end: u64,
    flags: u32,
    out: &mut [Option<Grabbed<'a>>],
    nr: &mut usize,
    w: &mut W,
) -> bool {
    loop {
        // SAFETY: the caller's contract: `pmd0` is a table descriptor read in this section.
        let ptep = unsafe { pte_offset_map(pmd0, addr) };
        // R0: one single-copy-atomic read, heading the pte → page dependency.
        let pte0: Pte = ptep_get_lockless(ptep);
        w.desc(3, pte0.0);
        w.at(Site::AfterPte);
        // R1.
        if !pte_access_permitted(pte0, flags & FOLL_WRITE != 0)
            || pte_special(pte0)
            || pte_devmap(pte0)
        {
            w.fallback(Fallback::PteNone);
            return false;
        }
        let pfn = pte_pfn(pte0);
        if !ctx.mem_map.pfn_valid(pfn) {
            w.fallback(Fallback::BadPfn);
            return false;
        }
        // R2.
        let page = ctx.mem_map.pfn_to_page(pfn);
        // R3–R6.
        let Some(g) = try_grab_folio_fast::<V, W>(ctx, page, 1, flags, w) else {
            return false;
        };
        w.at(Site::BeforeRecheck);
        // R7.
        if V::PTE_RECHECK {
            let why = if pmdp_get(pmdp) != pmd0 {
                Some(Fallback::PmdChanged)
            } else if ptep_get(ptep) != pte0 {
                Some(Fallback::PteChanged)
            } else {
                None
            };
            if let Some(why) = why {
                if V::RECHECK_ORDER == RecheckOrder::PteThenHead {
                    // Not pinned yet: only the grab's reference to drop.
                    super::unpin::put_page_refs(ctx, g.head, 1);
                } else {
                    gup_put_folio(ctx, g.head, 1, flags, g.large, w);
                }
                w.fallback(why);
                return false;
            }
        }
        // V8: membership after the PTE recheck, then (FOLL_PIN) the accounting.
        if V::RECHECK_ORDER == RecheckOrder::PteThenHead {
            if V::MEMBERSHIP_RECHECK {
                let now = ctx
                    .mem_map
                    .decode_compound_head(page, read_once(&page.compound_head));
                if !core::ptr::eq(now, g.head) {
                    super::unpin::put_page_refs(ctx, g.head, 1);
                    w.fallback(Fallback::HeadMismatch);
                    return false;
                }
            }
            if flags & FOLL_PIN != 0 {
                pin_accounting::<V>(ctx, g.head, 1, g.large);
            }
        }
        // R8.
        out[*nr] = Some(g);
        *nr += 1;
        addr += PAGE_SIZE;
        if addr >= end {
            return true;
        }
    }
}
