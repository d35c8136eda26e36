//! The speculative grab (R3–R6) and the locked grab of the slow path.
//!
//! `try_get_folio` / `try_grab_folio_fast` follow v5.14 `try_get_compound_head` /
//! `try_grab_compound_head` as reworked in v5.18 (`59409373f60a`, `ece1ed7bfa12`) and split
//! from the locked path in v6.10 (`f442fa614137`), with the FOLL_PIN accounting of v5.14
//! (§4: order > 1 compound pages count pins in `page[2].hpage_pinned_refcount`, smaller pages
//! add `GUP_PIN_COUNTING_BIAS` to the refcount). Every knob is a const of the [`Variant`].

use super::variant::{Grab, RecheckOrder, Variant};
use super::window::{Fallback, Site, Window};
use super::{GupCtx, FOLL_PIN, GUP_PIN_COUNTING_BIAS};
use crate::mm::page::Page;
use crate::mm::page_ref::{
    page_ref_add, page_ref_add_strength, page_ref_add_unless, page_ref_count,
};
use crate::mm::pin::{compound_pincount_ptr, hpage_pincount_available};
use crate::sync::{atomic_add, read_once, read_once_dep, smp_mb__after_atomic, Strength};

/// What one successful grab took.
#[derive(Clone, Copy)]
pub struct Grabbed<'a> {
    /// The page asked for (what `pages[]` holds in Linux).
    pub page: &'a Page,
    /// The compound head the references were taken on.
    pub head: &'a Page,
    /// FOLL_PIN only: whether the pin went to the head's pincount (order > 1) rather than the
    /// refcount bias. Decided by the grab; the unpin decides again (Linux) — the oracle compares.
    pub large: bool,
}

/// R4: take `refs` speculative references on `head` the variant's way. False if refused.
#[inline(always)]
fn speculative_ref<V: Variant, W: Window>(ctx: &GupCtx, head: &Page, refs: i32, w: &mut W) -> bool {
    match V::GRAB {
        Grab::AddUnlessFull => page_ref_add_unless(head, refs, 0, Strength::Full),
        Grab::AddUnlessRelaxed => page_ref_add_unless(head, refs, 0, Strength::Relaxed),
        Grab::PlainAdd => {
            // Linux before `page_cache_get_speculative()`: an unconditional increment. The old
            // value goes to the oracle hook (a comparison, no barrier).
            let old = page_ref_add_strength(head, refs, Strength::Full);
            w.ref_from(ctx.mem_map.page_to_pfn(head), old);
            true
        }
    }
}

/// `try_get_folio(page, refs)` (R3–R5): speculative references on the page's compound head,
/// then the membership recheck; on a mismatch drop them and retry (v5.18) or fail (v5.14).
/// `None` means: fall back. With `meta_pin` (V2's FOLL_PIN), also returns the pre-fix
/// "large?" decision taken from the head *before* the ref; otherwise `false`.
#[inline(always)]
pub fn try_get_folio<'a, V: Variant, W: Window>(
    ctx: &GupCtx<'a>,
    page: &'a Page,
    refs: i32,
    meta_pin: bool,
    w: &mut W,
) -> Option<(&'a Page, bool)> {
    loop {
        // R3: one READ_ONCE of the word, decoded once (`compound_head()`); the pte → page →
        // word chain is an address dependency.
        let head = ctx
            .mem_map
            .decode_compound_head(page, read_once_dep(&page.compound_head));
        let large_before_ref = meta_pin && hpage_pincount_available(ctx.mem_map, head);
        if page_ref_count(head) < 0 {
            w.fallback(Fallback::RefZero);
            return None;
        }
        w.at(Site::BeforeRef);
        if !speculative_ref::<V, W>(ctx, head, refs, w) {
            w.fallback(Fallback::RefZero);
            return None;
        }
        w.at(Site::AfterRef);
        // R5 (Linux order): with a valid ref on `head`, membership cannot change any more.
        if V::MEMBERSHIP_RECHECK && V::RECHECK_ORDER == RecheckOrder::HeadThenPte {
            let now = ctx
                .mem_map
                .decode_compound_head(page, read_once(&page.compound_head));
            if !core::ptr::eq(now, head) {
                ctx.zone.put_page_refs(ctx.cpu, head, refs);
                if V::RETRY {
                    w.fallback(Fallback::HeadRetry);
                    continue;
                }
                w.fallback(Fallback::HeadMismatch);
                return None;
            }
        }
        return Some((head, large_before_ref));
    }
}

/// FOLL_PIN accounting after the ref (R6): pincount for order > 1, else the bias (the ref
/// taken by the grab counts as one of the `refs * BIAS`).
#[inline(always)]
pub fn pin_accounting<V: Variant>(ctx: &GupCtx, head: &Page, refs: i32, large: bool) {
    if large {
        atomic_add(compound_pincount_ptr(ctx.mem_map, head), refs);
    } else {
        page_ref_add(head, refs * (GUP_PIN_COUNTING_BIAS - 1));
    }
    if V::PIN_FENCE {
        // 088b8aa537c2: order the pin before the PTE recheck (pairs with the unsharer's
        // clear-PTE; smp_mb(); page_maybe_dma_pinned()).
        smp_mb__after_atomic();
    }
}

/// `try_grab_folio_fast(page, refs, flags)` (R3–R6) for GUP-fast: speculative, IRQs masked.
/// In Linux order (R5 before R7) the FOLL_PIN accounting is done here; a variant with the
/// rechecks swapped (V8) does it after its rechecks (see `gup_fast_pte_range`).
#[inline(always)]
pub fn try_grab_folio_fast<'a, V: Variant, W: Window>(
    ctx: &GupCtx<'a>,
    page: &'a Page,
    refs: i32,
    flags: u32,
    w: &mut W,
) -> Option<Grabbed<'a>> {
    let pin = flags & FOLL_PIN != 0;
    let (head, large_before_ref) =
        try_get_folio::<V, W>(ctx, page, refs, pin && V::META_BEFORE_REF, w)?;
    let mut large = false;
    if pin {
        // v5.14+: metadata only after a stable ref; pre-fix (V2): what R3 saw.
        large = if V::META_BEFORE_REF {
            large_before_ref
        } else {
            hpage_pincount_available(ctx.mem_map, head)
        };
        if V::RECHECK_ORDER == RecheckOrder::HeadThenPte {
            pin_accounting::<V>(ctx, head, refs, large);
        }
    }
    Some(Grabbed { page, head, large })
}

/// `try_grab_page(page, flags)` for the locked slow path: the caller holds the page-table lock
/// and the PTE maps `page`, so the page has a stable reference; no speculation, no recheck.
/// Returns the head and the FOLL_PIN decision.
pub fn try_grab_page<'a>(ctx: &GupCtx<'a>, page: &'a Page, flags: u32) -> Option<Grabbed<'a>> {
    let head = ctx.mem_map.compound_head(page);
    if page_ref_count(head) <= 0 {
        return None;
    }
    let mut large = false;
    if flags & FOLL_PIN != 0 {
        large = hpage_pincount_available(ctx.mem_map, head);
        if large {
            page_ref_add(head, 1);
            atomic_add(compound_pincount_ptr(ctx.mem_map, head), 1);
        } else {
            page_ref_add(head, GUP_PIN_COUNTING_BIAS);
        }
    } else {
        page_ref_add(head, 1);
    }
    Some(Grabbed { page, head, large })
}
