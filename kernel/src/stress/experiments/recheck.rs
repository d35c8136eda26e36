//! 5d: the page is unmapped, freed and (every other iteration, seeded) reallocated to someone
//! else while the reader sits between R3 and R4 (V0, V5, V6, V7).
//!
//! Without the PTE recheck (V6) the reader returns a page that now belongs to someone else
//! (foreign_page); with a plain increment (V7) it raises the refcount of a free page
//! (ref_on_free_page, then a double free when it drops it).

use super::script::{foll_flags, Script};
use super::Env;
use crate::gup::window::Site;
use crate::mm::page::Page;
use crate::mm::types::GFP_KERNEL;
use crate::stress::prng::Prng;
use crate::stress::roles::reader::Plan;
use crate::stress::roles::writer::{
    alloc_pages_checked, map_at, put_mapping_ref, tag_other, unmap_at,
};

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
            env.world.zone.put_page(env.cpu, q);
        }
    }
}
