//! The writer's operations on the experiment's address space, with the variant's writer knobs
//! (W1 publish strength, V1i shootdown) and the oracle's ownership tags.

use crate::mm::compound::compound_order;
use crate::mm::page::Page;
use crate::mm::page_ref::page_ref_count;
use crate::mm::pgtable::desc::{PgProt, Pte};
use crate::mm::pgtable::map::{map_page, unmap_page};
use crate::mm::types::{Gfp, __GFP_COMP};
use crate::stress::knobs::{PtePublish, Shootdown};
use crate::stress::oracles::canary::write_canaries;
use crate::stress::oracles::counts::{FirstViolation, Violation};
use crate::stress::world::{tag, Env};
use crate::sync::{read_once, write_once, Strength};

/// The shadow-pin oracle: count freed_while_held (in the run's merged tally, with the frame's
/// details) for every frame of the block of `1 << order` frames at `pfn` that some GUP holder
/// still believes it holds, now that the block has been freed or handed out again.
fn check_not_held(env: &Env, pfn: u64, order: usize) {
    let w = env.world;
    for k in 0..1u64 << order {
        if read_once(w.pins_of(pfn + k)) != 0 {
            let fv = FirstViolation {
                cpu: env.cpu,
                pfn: pfn + k,
                head: pfn,
                iter: read_once(&*w.iter_now),
                t_ns: w.now_ns(),
                kind: Violation::FreedWhileHeld,
            };
            w.merged.lock().violation(fv);
        }
    }
}

/// `alloc_pages()` for the writer, with the allocator-side shadow-pin oracle: a frame handed
/// out while some GUP holder believes it holds it was freed while held (freed_while_held).
/// Every frame of the new block gets a fresh canary in its word 0 (`oracles::canary`): this is
/// the only place canaries are written, so a frame keeps its canary for as long as it is
/// legitimately held.
pub fn alloc_pages_checked(env: &Env, order: usize, gfp: Gfp) -> &'static Page {
    let w = env.world;
    let page = w
        .zone
        .alloc_pages(env.cpu, order, gfp)
        .expect("experiment: out of memory");
    check_not_held(env, w.zone.page_to_pfn(page), order);
    write_canaries(w, page, order);
    page
}

/// `put_page()` for the writer, with the free-side shadow-pin oracle: if this put freed the
/// block (its head's refcount is 0 afterwards), no GUP holder may still believe it holds one of
/// its frames (freed_while_held). A holder with a valid reference keeps the refcount up, so a
/// correct reader never trips it; a reader whose reference sits on the wrong head (V1) does.
pub fn put_page_checked(env: &Env, page: &Page) {
    let zone = env.world.zone;
    let mm = zone.mem_map();
    let head = mm.compound_head(page);
    let order = compound_order(mm, head);
    let pfn = zone.page_to_pfn(head);
    zone.put_page(env.cpu, head);
    if page_ref_count(head) == 0 {
        check_not_held(env, pfn, order);
    }
}

/// Strength of the PTE store that publishes a page (W1).
pub fn publish_strength(env: &Env) -> Strength {
    match env.world.writer.pte_publish {
        PtePublish::Release => Strength::AcqRel,
        PtePublish::Relaxed => Strength::Relaxed,
    }
}

/// Record that `page` is now mapped at `va` (oracle shadow, before the PTE store).
pub fn tag_at(env: &Env, page: &Page, va: u64) {
    let pfn = env.world.zone.page_to_pfn(page);
    write_once(env.world.owner_of(pfn), tag::at(va));
}

/// Record that `page` now belongs to someone outside the address space.
pub fn tag_other(env: &Env, page: &Page) {
    let pfn = env.world.zone.page_to_pfn(page);
    write_once(env.world.owner_of(pfn), tag::OTHER);
}

/// Map `page` at `va` (user read/write) with the variant's publish strength. The caller has
/// already accounted the mapping's reference.
pub fn map_at(env: &Env, va: u64, page: &Page) {
    tag_at(env, page, va);
    let pa = env.world.zone.mem_map().page_address(page);
    map_page(
        &env.world.mm,
        va,
        pa,
        PgProt::USER_RW,
        publish_strength(env),
    )
    .expect("experiment address space: map_page failed");
}

/// Allocate a compound page of `order`, take the mapping's reference and map its subpage
/// `k` at `va` (a PTE-mapped compound page, the shape every compound race starts from).
pub fn alloc_and_map_subpage(env: &Env, order: usize, va: u64, k: usize) -> &'static Page {
    let zone = env.world.zone;
    let head = alloc_pages_checked(env, order, __GFP_COMP);
    zone.get_page(head);
    map_at(env, va, zone.mem_map().nth_page(head, k));
    head
}

/// Unmap `va` (clear, flush) and, for an IPI-style shootdown (V1i), wait until no reader is
/// inside an IRQ-off GUP section that began before the clear. Returns the old PTE.
pub fn unmap_at(env: &Env, va: u64) -> Option<Pte> {
    let old = unmap_page(&env.world.mm, va);
    if env.world.writer.shootdown == Shootdown::WaitReaders {
        env.world.wait_for_readers(env.cpu, env.ncpus);
    }
    old
}

/// Drop the reference a mapping held on `page`'s compound head (`put_page`, checked).
pub fn put_mapping_ref(env: &Env, page: &Page) {
    put_page_checked(env, page);
}
