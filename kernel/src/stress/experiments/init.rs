//! 5e8 (ours, V12): a reader holding a stale PTE to a tail of a block that is being
//! re-allocated as a compound page. Linux order (refcount 1 *before* `prep_compound_page`):
//! the reader's add-unless-zero succeeds on the new head, its membership recheck passes, and
//! its FOLL_PIN accounting reads metadata and adds to a pincount that the allocating CPU has
//! not initialised yet — then overwrites with 0. The PTE recheck fails (the tail is not
//! mapped), the undo subtracts: negative pincount / lost pin / leaked bias. W7 (refcount last,
//! release) makes the add-unless-zero fail instead.
//!
//! Setup: an order-9 compound page, one tail `T` (seeded index) PTE-mapped. Reader: waits
//! after R0 for the writer's signal, then polls `T`'s `compound_head` word until it is a tail
//! word again (the new `prep_compound_page` reached it), widens before the recheck. Step:
//! unmap, free the block, signal, allocate order 9 again (the same block, per-CPU LIFO).

use super::script::{foll_flags, Script};
use crate::gup::window::Site;
use crate::mm::page::Page;
use crate::mm::pgtable::table::PAGE_SIZE;
use crate::mm::types::{__GFP_COMP, HPAGE_PMD_ORDER};
use crate::stress::prng::Prng;
use crate::stress::roles::reader::Plan;
use crate::stress::roles::writer::{
    alloc_and_map_subpage, alloc_pages_checked, put_mapping_ref, put_page_checked, tag_other,
    unmap_at,
};
use crate::stress::window::Mode;
use crate::stress::world::Env;
use crate::sync::write_once;

const NR: u64 = 1 << HPAGE_PMD_ORDER;

/// Writer state.
pub struct Init {
    head: Option<&'static Page>,
    new: Option<&'static Page>,
}

impl Script for Init {
    const SITE: Site = Site::AfterPte;

    fn new(_env: &Env) -> Self {
        Self {
            head: None,
            new: None,
        }
    }

    const MODE: Mode = Mode::PollTail(Site::AfterPte);

    fn plan(env: &Env, _iter: u64, rng: &mut Prng) -> Plan {
        let t = 1 + rng.below(NR - 1);
        Plan {
            va: env.world.va_base + t * PAGE_SIZE,
            nr: 1,
            flags: foll_flags(env, rng),
            choice: t,
        }
    }

    fn setup(&mut self, env: &Env, _iter: u64, plan: &Plan) {
        let head = alloc_and_map_subpage(env, HPAGE_PMD_ORDER, plan.va, plan.choice as usize);
        self.head = Some(head);
    }

    fn step(&mut self, env: &Env, iter: u64, plan: &Plan) {
        let zone = env.world.zone;
        let head = self.head.take().expect("init: setup ran");
        if unmap_at(env, plan.va).is_some() {
            put_mapping_ref(env, head);
        }
        zone.put_page(env.cpu, head);
        // Let the reader go now: it polls for the new tail word while we allocate.
        write_once(&*env.world.step_done, iter + 1);
        let f = alloc_pages_checked(env, HPAGE_PMD_ORDER, __GFP_COMP);
        tag_other(env, f);
        self.new = Some(f);
    }

    fn teardown(&mut self, env: &Env, _iter: u64, _plan: &Plan) {
        if let Some(f) = self.new.take() {
            put_page_checked(env, f);
        }
    }
}
