//! Checks on what a reader accepted, run after the GUP call returned (outside every window),
//! then the release. Relaxed reads of shadow state; ordering comes from the GUP's own RMWs.

use super::canary::canary_changed;
use super::counts::Violation;
use crate::gup::grab::Grabbed;
use crate::gup::unpin::release_grabbed;
use crate::gup::GupCtx;
use crate::mm::pgtable::table::PAGE_SIZE;
use crate::stress::mmu::{hw_translate, HwWalk};
use crate::stress::window::StressWindow;
use crate::stress::world::{tag, World};
use crate::sync::{fetch_add, fetch_sub, read_once, Strength};

/// Raise the shadow pin count of every frame in `out[..n]`: this holder believes it holds them
/// until [`check_and_release`] drops the count right before releasing each one.
pub fn shadow_pin(world: &World, ctx: &GupCtx, out: &[Option<Grabbed>], n: usize) {
    for g in out.iter().take(n).flatten() {
        fetch_add(
            world.pins_of(ctx.mem_map.page_to_pfn(g.page)),
            1,
            Strength::Relaxed,
        );
    }
}

/// What a reader holds after its GUP call: the pages `out[..n]` and word 0 of each as it was
/// right after the call (`oracles::canary::read_canaries`).
pub struct Held<'a, 'm> {
    /// The pages taken.
    pub out: &'a mut [Option<Grabbed<'m>>],
    /// Their canaries at accept time.
    pub canaries: &'a [u64],
    /// How many of `out` were taken.
    pub n: usize,
}

/// Check every page of `held.out[..n]` (asked for at `va0`, `va0 + 4K`, ...) and release it:
/// - **wrong_head**: with a valid reference on its head a page cannot leave that compound page,
///   so `compound_head(page) != head` proves the reference is on the wrong page (5a/5b);
/// - **freed_while_held** (writer side, see `roles::writer::alloc_pages_checked` and
///   `roles::writer::put_page_checked`): the shadow pin count of every frame taken was raised
///   by [`shadow_pin`] right after the GUP call returned and is dropped here just before the
///   release, so a free or reallocation of the frame in between is caught;
/// - **foreign_page**: the shadow owner of the frame says it belongs to someone else (another
///   allocation, or a different address) — GUP returned a page not mapped there (5d-i);
/// - **use_after_free**: word 0 of the frame (its canary) is no longer what the holder found
///   right after the accept: the frame was freed and reallocated to a new owner while this
///   holder still used it (`oracles::canary`).
///
/// The release uses the head and FOLL_PIN decision the grab took, so a detected wrong head is
/// not followed by an underflow on an unrelated page (Linux would corrupt it).
pub fn check_and_release(
    world: &World,
    ctx: &GupCtx,
    held: Held<'_, '_>,
    va0: u64,
    flags: u32,
    w: &mut StressWindow,
) {
    let mm = ctx.mem_map;
    for (k, slot) in held.out.iter_mut().enumerate().take(held.n) {
        let Some(g) = slot.take() else { continue };
        let pfn = mm.page_to_pfn(g.page);
        let head_pfn = mm.page_to_pfn(g.head);
        let now = mm.compound_head(g.page);
        if !core::ptr::eq(now, g.head) {
            w.violation(Violation::WrongHead, pfn, head_pfn);
        }
        let owner = read_once(world.owner_of(pfn));
        let va = va0 + k as u64 * PAGE_SIZE;
        if owner == tag::OTHER || (owner & 1 == 1 && owner != tag::at(va)) {
            w.violation(Violation::ForeignPage, pfn, head_pfn);
        }
        // The hardware walker's view of the same address, now (informational: the mapping
        // may legitimately have changed since the accept).
        match hw_translate(va) {
            HwWalk::Mapped(pa) if pa == mm.page_address(g.page) => w.tally.mmu[0] += 1,
            HwWalk::Mapped(_) => w.tally.mmu[1] += 1,
            HwWalk::Fault => w.tally.mmu[2] += 1,
            HwWalk::Unavailable => {}
        }
        // Still holding the reference: the canary must be the one found at the accept.
        if canary_changed(ctx, &g, held.canaries[k]).is_some() {
            w.violation(Violation::UseAfterFree, pfn, head_pfn);
        }
        fetch_sub(world.pins_of(pfn), 1, Strength::Relaxed);
        release_grabbed(ctx, &g, flags, w);
    }
}
