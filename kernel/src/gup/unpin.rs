//! Releasing what GUP took: `put_page_refs`, `gup_put_folio` (v5.14 `put_compound_head`),
//! `unpin_user_page(s)` and `put_user_pages` for FOLL_GET.

use super::grab::Grabbed;
use super::window::Window;
use super::{GupCtx, FOLL_PIN, GUP_PIN_COUNTING_BIAS};
use crate::mm::page::Page;
use crate::mm::pin::{compound_pincount_ptr, hpage_pincount_available};
use crate::sync::{fetch_sub, Strength};

/// `put_page_refs(page, refs)` (c24d37322548): drop `refs` references on a head, the last
/// through `put_page()` so a page whose count reaches zero is freed.
#[inline]
pub fn put_page_refs(ctx: &GupCtx, head: &Page, refs: i32) {
    ctx.zone.put_page_refs(ctx.cpu, head, refs);
}

/// `gup_put_folio(head, refs, flags)`: undo a grab of `refs` on `head`. For FOLL_PIN the bias
/// vs pincount decision is taken again from the head *now* (as Linux does); `grabbed_large` is
/// what the grab decided, reported to the oracle hook if the two differ — the accounting then
/// follows the grab's decision, so one detected mismatch does not cascade into corrupted
/// counts for the rest of the run.
pub fn gup_put_folio<W: Window>(
    ctx: &GupCtx,
    head: &Page,
    refs: i32,
    flags: u32,
    grabbed_large: bool,
    w: &mut W,
) {
    let mut refs = refs;
    if flags & FOLL_PIN != 0 {
        let large_now = hpage_pincount_available(ctx.mem_map, head);
        if large_now != grabbed_large {
            w.pin_mismatch(ctx.mem_map.page_to_pfn(head), grabbed_large, large_now);
        }
        if grabbed_large {
            let old = fetch_sub(
                compound_pincount_ptr(ctx.mem_map, head),
                refs,
                Strength::Relaxed,
            );
            if old - refs < 0 {
                w.negative_pincount(ctx.mem_map.page_to_pfn(head), old - refs);
            }
        } else {
            refs *= GUP_PIN_COUNTING_BIAS;
        }
    }
    put_page_refs(ctx, head, refs);
}

/// `unpin_user_page(page)` for a page taken by `pin_user_pages_fast`: Linux form, the head is
/// computed from the page at unpin time.
pub fn unpin_user_page(ctx: &GupCtx, page: &Page) {
    let head = ctx.mem_map.compound_head(page);
    let large = hpage_pincount_available(ctx.mem_map, head);
    gup_put_folio(ctx, head, 1, FOLL_PIN, large, &mut super::window::NoWindow);
}

/// `unpin_user_pages(pages)`.
pub fn unpin_user_pages(ctx: &GupCtx, pages: &[&Page]) {
    for p in pages {
        unpin_user_page(ctx, p);
    }
}

/// `put_page()` on every page of a FOLL_GET result (`put_user_pages` of old).
pub fn put_user_pages(ctx: &GupCtx, pages: &[&Page]) {
    for p in pages {
        ctx.zone.put_page(ctx.cpu, p);
    }
}

/// Release one grab exactly as it was taken (head and FOLL_PIN decision from the grab): what
/// the oracles use after they checked membership, so a detected violation is not followed by
/// a refcount underflow on an unrelated page.
pub fn release_grabbed<W: Window>(ctx: &GupCtx, g: &Grabbed, flags: u32, w: &mut W) {
    gup_put_folio(ctx, g.head, 1, flags, g.large, w);
}
