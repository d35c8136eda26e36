//! 5b (Jann): a compound block is freed and handed out again at order 0 from the same CPU's
//! per-CPU lists, with relaxed tail clearing, racing a reader (V3: IRQ-off lists; V3l:
//! spin-locked lists).
//!
//! A free race, like recheck-race: §5b needs the reader's R4/R5 to overlap the writer's S_clr
//! → S_ref window (while S_clr may still sit in a store buffer), which a stop-and-wait script
//! (R4 only after the whole step is done) never gives. The reader signals after R0, reads the
//! head (R3) and spins a seeded while before R4 (never between R4 and R7); the writer starts
//! its step after a seeded delay. Window hit: the writer's free → reuse → remap (stamped from
//! the free on) overlapped the reader's IRQ-off walk.
//!
//! Setup: drain this CPU's lists (so the order-0 list is empty), allocate a compound page of
//! order [`REUSE_ORDER`], PTE-map its first tail `T`. Step (one CPU, program order): unmap,
//! drop the references → the block goes to this CPU's order-3 list (tail words cleared with
//! plain stores, S_clr); allocate order 0 twice → the lists split the block on the spot and
//! hand out the old head (refcount 1, S_ref) and then `T`; map `T` again at the same address
//! with a bit-identical PTE. If another CPU sees S_ref before S_clr, its membership recheck
//! passes on the old head (wrong_head). Only a weakly ordered CPU can show that.

use super::script::{foll_flags, mark_step_start, Script};
use crate::gup::window::Site;
use crate::mm::page::Page;
use crate::mm::types::{__GFP_COMP, GFP_KERNEL};
use crate::stress::prng::Prng;
use crate::stress::roles::reader::Plan;
use crate::stress::roles::writer::{
    alloc_pages_checked, map_at, put_mapping_ref, put_page_checked, tag_other, unmap_at,
};
use crate::stress::window::Mode;
use crate::stress::world::Env;

/// Order of the reused block (≤ PAGE_ALLOC_COSTLY_ORDER: it lives on the per-CPU lists).
pub const REUSE_ORDER: usize = 3;

/// The writer's seeded delay before its step, in spin loops.
const REUSE_DELAY: u64 = 16;

/// Writer state: pages to release at teardown.
pub struct Reuse {
    head: Option<&'static Page>,
    held: [Option<&'static Page>; 2],
}

impl Script for Reuse {
    const SITE: Site = Site::BeforeRef;
    const MARKS_STEP_START: bool = true;

    fn new(_env: &Env) -> Self {
        Self {
            head: None,
            held: [None; 2],
        }
    }

    const MODE: Mode = Mode::Signal(Site::AfterPte, 32);

    fn plan(env: &Env, _iter: u64, rng: &mut Prng) -> Plan {
        Plan {
            va: env.world.va_base,
            nr: 1,
            flags: foll_flags(env, rng),
            choice: rng.below(REUSE_DELAY),
        }
    }

    fn delay(plan: &Plan) -> u64 {
        plan.choice
    }

    fn setup(&mut self, env: &Env, _iter: u64, plan: &Plan) {
        let zone = env.world.zone;
        zone.drain_local_pages(env.cpu);
        let head = alloc_pages_checked(env, REUSE_ORDER, __GFP_COMP);
        zone.get_page(head);
        map_at(env, plan.va, zone.mem_map().nth_page(head, 1));
        self.head = Some(head);
    }

    fn step(&mut self, env: &Env, iter: u64, plan: &Plan) {
        let zone = env.world.zone;
        let head = self.head.take().expect("reuse: setup ran");
        let tail = zone.mem_map().nth_page(head, 1);
        if unmap_at(env, plan.va).is_some() {
            put_mapping_ref(env, head);
        }
        // The racing part begins here (window hits count overlaps of S_clr → remap).
        mark_step_start(env, iter);
        // The writer's reference: the block is freed (S_clr). Unchecked here: a check between
        // S_clr and S_ref would give S_clr time to drain (the allocation below checks).
        zone.put_page(env.cpu, head);
        let a = alloc_pages_checked(env, 0, GFP_KERNEL);
        let b = alloc_pages_checked(env, 0, GFP_KERNEL);
        // Normally a == old head (S_ref) and b == the old tail; map whichever is the tail.
        let (other, remapped) = if core::ptr::eq(b, tail) {
            (a, b)
        } else {
            (b, a)
        };
        tag_other(env, other);
        map_at(env, plan.va, remapped);
        self.held = [Some(other), Some(remapped)];
    }

    fn teardown(&mut self, env: &Env, _iter: u64, plan: &Plan) {
        let [other, remapped] = core::mem::take(&mut self.held);
        if let Some(r) = remapped {
            if unmap_at(env, plan.va).is_some() {
                put_page_checked(env, r);
            }
        }
        if let Some(o) = other {
            put_page_checked(env, o);
        }
    }
}
