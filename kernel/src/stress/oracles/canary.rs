//! The canary oracle (spec §7 "holders write/check canaries → UAF detection"), without MM
//! poisoning (2 MiB per THP free is too slow for the experiments).
//!
//! The writer stamps word 0 of every frame it allocates ([`write_canaries`], on the writer's
//! allocation path only: never on a remap of the same frame, so a legitimately held page keeps
//! its canary) with a value unique to that allocation, and records it in `World::canary`. A
//! reader remembers word 0 of each page it accepted right after the GUP call returned
//! ([`read_canaries`]) and re-reads it at release time while still holding its reference
//! ([`canary_changed`]): a different word means the frame was freed and handed to a new owner
//! while the reader held it, i.e. the holder would have used freed memory (use_after_free).
//!
//! The canary is stamped before the page is published: with a relaxed PTE publish (V4) a weakly
//! ordered reader may find the previous canary at accept time and the new one at release, which
//! this oracle also reports as use_after_free (the holder used data its owner had not yet
//! published).
//!
//! Every access is relaxed and outside the reader's R0..R7 window (architecture.md "Oracles
//! watch without ordering"); frames are read through `MemMap::frame_words` (the identity map).

use crate::gup::grab::Grabbed;
use crate::gup::GupCtx;
use crate::mm::page::Page;
use crate::stress::world::{World, MAX_NR};
use crate::sync::{read_once, write_once};
use core::sync::atomic::Ordering::Relaxed;

/// High bits of every canary ("ca4a"); the low two bits are 0, so a canary read as a
/// page-table entry (a frame reused as a table) is an invalid descriptor.
pub const CANARY_BASE: u64 = 0xca4a_0000_0000_0000;

/// The canary of the writer's `seq`-th frame allocation.
pub const fn canary_value(seq: u64) -> u64 {
    CANARY_BASE | (seq & 0x3fff_ffff_ffff) << 2
}

/// Writer, right after allocating the block of `1 << order` frames at `page` (before it is
/// mapped or handed out): stamp word 0 of each frame with a fresh canary and record it.
pub fn write_canaries(world: &World, page: &Page, order: usize) {
    let mm = world.zone.mem_map();
    let pfn = world.zone.page_to_pfn(page);
    // Only the writer CPU allocates through the checked path: relaxed bookkeeping suffices.
    let seq = read_once(&world.canary_seq);
    write_once(&world.canary_seq, seq + (1 << order));
    for k in 0..1u64 << order {
        let v = canary_value(seq + k);
        write_once(world.canary_of(pfn + k), v);
        if let Some(words) = mm.frame_words(mm.nth_page(page, k as usize)) {
            words[0].store(v, Relaxed);
        }
    }
}

/// Word 0 of `page`'s frame (0 if the mem_map is not backed by real frames).
fn word0(ctx: &GupCtx, page: &Page) -> u64 {
    ctx.mem_map
        .frame_words(page)
        .map_or(0, |words| words[0].load(Relaxed))
}

/// Reader, right after the GUP call returned (outside every window): word 0 of each page of
/// `out[..n]`, as the holder found it.
pub fn read_canaries(ctx: &GupCtx, out: &[Option<Grabbed>], n: usize) -> [u64; MAX_NR] {
    let mut c = [0u64; MAX_NR];
    for (slot, g) in c.iter_mut().zip(out.iter().take(n)) {
        if let Some(g) = g {
            *slot = word0(ctx, g.page);
        }
    }
    c
}

/// Reader, at release time while still holding `g`: the new word 0 if it is no longer the
/// `at_accept` the holder found (the frame was reallocated while held).
pub fn canary_changed(ctx: &GupCtx, g: &Grabbed, at_accept: u64) -> Option<u64> {
    let now = word0(ctx, g.page);
    (now != at_accept).then_some(now)
}
