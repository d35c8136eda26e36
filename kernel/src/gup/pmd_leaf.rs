//! `gup_fast_pmd_leaf()` (v5.13 `gup_huge_pmd`): one grab for every subpage of a 2 MiB block.

use super::grab::{try_grab_folio_fast, Grabbed};
use super::unpin::gup_put_folio;
use super::variant::{RecheckOrder, Variant};
use super::window::{Fallback, Site, Window};
use super::{GupCtx, FOLL_PIN, FOLL_WRITE};
use crate::mm::pgtable::desc::{pmd_access_permitted, pmd_devmap, pmd_pfn, pmd_special, Pmd};
use crate::mm::pgtable::table::{PAGE_SHIFT, PMD_SIZE};
use crate::mm::pgtable::walk::pmdp_get;
use crate::sync::AtomicU64;

/// Take `[addr, end)` (inside one 2 MiB block mapped by `pmd0`, read from `pmdp`). Returns
/// false if the block is given up.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub fn gup_fast_pmd_leaf<'a, V: Variant, W: Window>(
    ctx: &GupCtx<'a>,
    pmd0: Pmd,
    pmdp: &AtomicU64,
    addr: u64,
    end: u64,
    flags: u32,
    out: &mut [Option<Grabbed<'a>>],
    nr: &mut usize,
    w: &mut W,
) -> bool {
    if !pmd_access_permitted(pmd0, flags & FOLL_WRITE != 0) || pmd_special(pmd0) || pmd_devmap(pmd0)
    {
        w.fallback(Fallback::UpperNone);
        return false;
    }
    let head_pfn = pmd_pfn(pmd0);
    let refs = ((end - addr) >> PAGE_SHIFT) as i32;
    let first_idx = (addr & (PMD_SIZE - 1)) >> PAGE_SHIFT;
    if !ctx.mem_map.pfn_valid(head_pfn)
        || !ctx
            .mem_map
            .pfn_valid(head_pfn + first_idx + refs as u64 - 1)
    {
        w.fallback(Fallback::BadPfn);
        return false;
    }
    // `pmd_page(pmd0)`: normally the head itself.
    let pmd_page = ctx.mem_map.pfn_to_page(head_pfn);
    let Some(g) = try_grab_folio_fast::<V, W>(ctx, pmd_page, refs, flags, w) else {
        return false;
    };
    w.at(Site::BeforeRecheck);
    if V::PTE_RECHECK && pmdp_get(pmdp) != pmd0 {
        if V::RECHECK_ORDER == RecheckOrder::PteThenHead {
            super::unpin::put_page_refs(ctx, g.head, refs);
        } else {
            gup_put_folio(ctx, g.head, refs, flags, g.large, w);
        }
        w.fallback(Fallback::PmdChanged);
        return false;
    }
    if V::RECHECK_ORDER == RecheckOrder::PteThenHead && flags & FOLL_PIN != 0 {
        super::grab::pin_accounting::<V>(ctx, g.head, refs, g.large);
    }
    // `record_subpages()`: every subpage of the range, all counted on the one head.
    for k in 0..refs as u64 {
        let page = ctx.mem_map.pfn_to_page(head_pfn + first_idx + k);
        out[*nr] = Some(Grabbed {
            page,
            head: g.head,
            large: g.large,
        });
        *nr += 1;
    }
    true
}
