//! `lockless_pages_from_mm()`: the whole GUP-fast walk with interrupts masked (spec §1.1).
//!
//! Masking interrupts is what holds off an IPI-acknowledged TLB shootdown (and, in Linux, the
//! RCU-sched grace period that frees page tables). On the target `hal().irq_save()` sets
//! DAIF; the window's `section_enter`/`section_exit` hooks let an experiment publish "this CPU
//! is inside its IRQ-off section" for a shootdown that waits for readers (V1i).

use super::grab::Grabbed;
use super::variant::Variant;
use super::walk::gup_fast_pgd_range;
use super::window::Window;
use super::GupCtx;
use crate::mm::pgtable::table::PAGE_SIZE;

/// Walk `[start, start + nr_pages * PAGE_SIZE)` locklessly with interrupts masked; accepted
/// pages go to `out[..n]`, `n` returned. Stops at the first page it cannot take (the caller
/// takes the rest through the slow path). FOLL_PIN's `write_protect_seq` check is omitted:
/// gupbed has no fork/COW.
///
/// # Safety
/// `ctx.pgd` is the live root of an address space whose table pages are freed only through a
/// policy the experiment controls (deferred for correctness; V10 breaks it on purpose — then
/// the walker reads poisoned but still-RAM table frames).
pub unsafe fn lockless_pages_from_mm<'a, V: Variant, W: Window>(
    ctx: &GupCtx<'a>,
    start: u64,
    nr_pages: usize,
    flags: u32,
    out: &mut [Option<Grabbed<'a>>],
    w: &mut W,
) -> usize {
    if nr_pages == 0 {
        return 0;
    }
    let end = start + nr_pages as u64 * PAGE_SIZE;
    let mut nr = 0;
    let irq = crate::hal::hal().irq_save();
    w.section_enter();
    // SAFETY: inside the IRQ-off section; root liveness is the caller's contract.
    unsafe { gup_fast_pgd_range::<V, W>(ctx, start, end, flags, out, &mut nr, w) };
    w.section_exit();
    crate::hal::hal().irq_restore(irq);
    nr
}

/// `internal_get_user_pages_fast()`: the lockless walk, then the locked slow path for the
/// pages it could not take. Returns `(taken_fast, taken_total)`.
///
/// # Safety
/// As [`lockless_pages_from_mm`]; `mm.pgd == ctx.pgd`.
pub unsafe fn internal_get_user_pages_fast<'a, V: Variant, W: Window>(
    ctx: &GupCtx<'a>,
    mm: &crate::mm::pgtable::mm::MmStruct<'_>,
    start: u64,
    nr_pages: usize,
    flags: u32,
    out: &mut [Option<Grabbed<'a>>],
    w: &mut W,
) -> (usize, usize) {
    // SAFETY: forwarded contract.
    let nr = unsafe { lockless_pages_from_mm::<V, W>(ctx, start, nr_pages, flags, out, w) };
    if nr == nr_pages {
        return (nr, nr);
    }
    let rest = nr_pages - nr;
    let more = super::slow::get_user_pages_locked(
        ctx,
        mm,
        start + nr as u64 * PAGE_SIZE,
        rest,
        flags,
        out,
        nr,
        w,
    );
    (nr, nr + more)
}

/// The fixed reader with `flags`, no window hooks; pages taken (fast and slow path).
fn gup_fast_fixed<'a>(
    ctx: &GupCtx<'a>,
    mm: &crate::mm::pgtable::mm::MmStruct<'_>,
    start: u64,
    nr_pages: usize,
    flags: u32,
    out: &mut [Option<Grabbed<'a>>],
) -> usize {
    // SAFETY: `mm` is a live address space; its tables are freed through its own policy.
    unsafe {
        internal_get_user_pages_fast::<super::variant::Fixed, _>(
            ctx,
            mm,
            start,
            nr_pages,
            flags,
            out,
            &mut super::window::NoWindow,
        )
        .1
    }
}

/// `get_user_pages_fast(start, nr_pages, gup_flags, pages)`: FOLL_GET, the fixed reader.
/// Returns the number of pages taken (`out[..n]`); release them with
/// [`super::unpin::put_user_pages`].
pub fn get_user_pages_fast<'a>(
    ctx: &GupCtx<'a>,
    mm: &crate::mm::pgtable::mm::MmStruct<'_>,
    start: u64,
    nr_pages: usize,
    gup_flags: u32,
    out: &mut [Option<Grabbed<'a>>],
) -> usize {
    let flags = (gup_flags & !super::FOLL_PIN) | super::FOLL_GET;
    gup_fast_fixed(ctx, mm, start, nr_pages, flags, out)
}

/// `pin_user_pages_fast(start, nr_pages, gup_flags, pages)`: FOLL_PIN, the fixed reader.
/// Release with [`super::unpin::unpin_user_pages`].
pub fn pin_user_pages_fast<'a>(
    ctx: &GupCtx<'a>,
    mm: &crate::mm::pgtable::mm::MmStruct<'_>,
    start: u64,
    nr_pages: usize,
    gup_flags: u32,
    out: &mut [Option<Grabbed<'a>>],
) -> usize {
    let flags = (gup_flags & !super::FOLL_GET) | super::FOLL_PIN;
    gup_fast_fixed(ctx, mm, start, nr_pages, flags, out)
}
