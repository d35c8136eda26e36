//! 5a: `split_huge_page()` of a PTE-mapped THP while the reader sits between R3 and R4
//! (V0, V1, V1i, V2, V8, V11).
//!
//! Setup: a compound page of order [`SPLIT_ORDER`], one seeded subpage PTE-mapped (a
//! partially mapped PTE-mapped THP; the mapping holds a reference on the head, the writer one
//! more). Only one subpage is mapped because every unmap is a broadcast TLB invalidation, which
//! under QEMU TCG stops every vCPU: the iteration rate is bounded by them. Reader: GUP of that
//! subpage; it waits after reading its `compound_head` (R3). Step:
//! `split_huge_page()` — unmap (migration entries = cleared PTEs, flush; V1i: wait for IRQ-off
//! readers), freeze, clear the tails, unfreeze, remap bit-identical PTEs to the order-0
//! pages. A reader without the membership recheck now takes its reference on the old head
//! and returns a tail (wrong_head); one that decided bias vs pincount before the ref (V2)
//! pins the wrong way (pin_accounting_mismatch). The reader holds what it took across the
//! writer's teardown (the owner unmaps and frees the subpage while the GUP caller still uses
//! it): a reference on the old head leaves the split-off subpage unprotected, and its free
//! shows as freed_while_held. The writer then hands one order-0 page to someone else (the
//! per-CPU list is LIFO: the just-freed subpage when it was freed), held until the next
//! setup: its new canary shows the reader's use of the reallocated frame as use_after_free.

use super::script::{foll_flags, Script};
use crate::gup::window::Site;
use crate::mm::huge_memory::{split_huge_page, SplitMapper};
use crate::mm::page::Page;
use crate::mm::page_ref::page_ref_inc;
use crate::mm::pgtable::map::unmap_page;
use crate::mm::pgtable::table::PAGE_SIZE;
use crate::mm::types::GFP_KERNEL;
use crate::mm::zone::Zone;
use crate::stress::knobs::Shootdown;
use crate::stress::prng::Prng;
use crate::stress::roles::reader::{Hold, Plan};
use crate::stress::roles::writer::{
    alloc_and_map_subpage, alloc_pages_checked, map_at, put_mapping_ref, put_page_checked,
    tag_other, unmap_at,
};
use crate::stress::world::Env;

/// Order of the THP (8 pages: order > 1, so FOLL_PIN uses the pincount in `page[2]`).
pub const SPLIT_ORDER: usize = 3;
const NR: usize = 1 << SPLIT_ORDER;

/// Writer state.
pub struct Split {
    head: Option<&'static Page>,
    other: Option<&'static Page>,
}

struct Mapper<'a, 'w> {
    env: &'a Env<'w>,
    va: u64,
    index: usize,
    mapped: bool,
}

impl SplitMapper for Mapper<'_, '_> {
    fn unmap_page(&mut self, zone: &Zone, head: &Page) {
        self.mapped = unmap_page(&self.env.world.mm, self.va).is_some();
        if self.env.world.writer.shootdown == Shootdown::WaitReaders {
            self.env
                .world
                .wait_for_readers(self.env.cpu, self.env.ncpus);
        }
        if self.mapped {
            zone.put_page(self.env.cpu, head);
        }
    }

    fn remap_page(&mut self, zone: &Zone, head: &Page, split: bool) {
        if self.mapped {
            let page = zone.mem_map().nth_page(head, self.index);
            page_ref_inc(if split { page } else { head });
            map_at(self.env, self.va, page);
        }
    }
}

impl Script for Split {
    const SITE: Site = Site::BeforeRef;
    const HOLD: Hold = Hold::AcrossTeardown;

    fn new(_env: &Env) -> Self {
        Self {
            head: None,
            other: None,
        }
    }

    fn plan(env: &Env, _iter: u64, rng: &mut Prng) -> Plan {
        let target = rng.below(NR as u64);
        Plan {
            va: env.world.va_base + target * PAGE_SIZE,
            nr: 1,
            flags: foll_flags(env, rng),
            choice: target,
        }
    }

    fn setup(&mut self, env: &Env, _iter: u64, plan: &Plan) {
        self.finish(env);
        let head = alloc_and_map_subpage(env, SPLIT_ORDER, plan.va, plan.choice as usize);
        self.head = Some(head);
    }

    fn step(&mut self, env: &Env, _iter: u64, plan: &Plan) {
        let head = self.head.expect("split: setup ran");
        let mut m = Mapper {
            env,
            va: plan.va,
            index: plan.choice as usize,
            mapped: false,
        };
        // Busy (a reader holds a reference) leaves the THP mapped as it was.
        let _ = split_huge_page(env.world.zone, env.cpu, head, &mut m);
    }

    fn teardown(&mut self, env: &Env, _iter: u64, plan: &Plan) {
        let head = self.head.take().expect("split: setup ran");
        let page = env
            .world
            .zone
            .mem_map()
            .nth_page(head, plan.choice as usize);
        if unmap_at(env, plan.va).is_some() {
            put_mapping_ref(env, page);
        }
        put_page_checked(env, head);
        // Someone else allocates now, while the reader may still hold what it took.
        let other = alloc_pages_checked(env, 0, GFP_KERNEL);
        tag_other(env, other);
        self.other = Some(other);
    }

    fn finish(&mut self, env: &Env) {
        if let Some(o) = self.other.take() {
            put_page_checked(env, o);
        }
    }
}
