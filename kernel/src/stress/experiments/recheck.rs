//! 5d: the page is unmapped, freed and (every other iteration, seeded) reallocated to someone
//! else while the reader sits between R3 and R4 (V0, V5, V6, V7).
//!
//! Without the PTE recheck (V6) the reader returns a page that now belongs to someone else
//! (foreign_page); with a plain increment (V7) it raises the refcount of a free page
//! (ref_on_free_page, then a double free when it drops it).

use super::script::{foll_flags, Script};
use crate::gup::window::Site;
use crate::mm::page::Page;
use crate::mm::types::GFP_KERNEL;
use crate::stress::prng::Prng;
use crate::stress::roles::reader::Plan;
use crate::stress::roles::writer::{
    alloc_pages_checked, map_at, put_mapping_ref, put_page_checked, tag_other, unmap_at,
};
use crate::stress::world::Env;

/// Writer state.
pub struct Recheck {
    page: Option<&'static Page>,
    other: Option<&'static Page>,
}

impl Script for Recheck {
    const SITE: Site = Site::BeforeRef;

    fn new(_env: &Env) -> Self {
        Self {
            page: None,
            other: None,
        }
    }

    fn plan(env: &Env, _iter: u64, rng: &mut Prng) -> Plan {
        Plan {
            va: env.world.va_base,
            nr: 1,
            flags: foll_flags(env, rng),
            choice: rng.below(2),
        }
    }

    fn setup(&mut self, env: &Env, _iter: u64, plan: &Plan) {
        let p = alloc_pages_checked(env, 0, GFP_KERNEL);
        map_at(env, plan.va, p);
        self.page = Some(p);
    }

    fn step(&mut self, env: &Env, _iter: u64, plan: &Plan) {
        let p = self.page.take().expect("recheck: setup ran");
        if unmap_at(env, plan.va).is_some() {
            put_mapping_ref(env, p);
        }
        if plan.choice == 1 {
            // Reallocate (the per-CPU list is LIFO: normally the very same frame) to an owner
            // outside the address space.
            let q = alloc_pages_checked(env, 0, GFP_KERNEL);
            tag_other(env, q);
            self.other = Some(q);
        }
    }

    fn teardown(&mut self, env: &Env, _iter: u64, _plan: &Plan) {
        if let Some(q) = self.other.take() {
            put_page_checked(env, q);
        }
    }
}

/// 5d as a free race (V5): the same writer, but the reader only signals after R0 and goes on
/// with a seeded widening spin before R4 (never between R4 and R7: that would let the relaxed
/// RMW complete before the recheck loads and hide the very reordering under test), while the
/// writer starts its unmap/free/reallocate after a seeded delay. A relaxed add-unless-zero (no
/// acquire) lets the PTE recheck be satisfied before the increment on a weakly ordered CPU; a
/// scripted wait before R4 would leave no such overlap. Window hit: the step overlapped the
/// reader's IRQ-off walk (`stress::window`).
pub struct RecheckRace {
    inner: Recheck,
}

/// The writer's seeded delay before its step, in spin loops.
const RACE_DELAY: u64 = 16;

impl Script for RecheckRace {
    const SITE: Site = Site::BeforeRef;

    fn new(env: &Env) -> Self {
        Self {
            inner: Recheck::new(env),
        }
    }

    const MODE: crate::stress::window::Mode =
        crate::stress::window::Mode::Signal(Site::AfterPte, 32);

    fn plan(env: &Env, iter: u64, rng: &mut Prng) -> Plan {
        let mut p = Recheck::plan(env, iter, rng);
        p.choice |= rng.below(RACE_DELAY) << 1;
        p
    }

    fn setup(&mut self, env: &Env, iter: u64, plan: &Plan) {
        self.inner.setup(env, iter, plan);
    }

    fn delay(plan: &Plan) -> u64 {
        plan.choice >> 1
    }

    fn step(&mut self, env: &Env, iter: u64, plan: &Plan) {
        let p = Plan {
            choice: plan.choice & 1,
            ..*plan
        };
        self.inner.step(env, iter, &p);
    }

    fn teardown(&mut self, env: &Env, iter: u64, plan: &Plan) {
        self.inner.teardown(env, iter, plan);
    }
}
