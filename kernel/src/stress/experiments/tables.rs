//! 5e5 / W5: the PTE table is unlinked and freed while the reader holds the PMD value that
//! points to it (V0, V10). Immediate freeing (V10) poisons the table and hands it back at once:
//! the reader then reads the poison (table_poison); deferred freeing waits for the reader's
//! quiescent state, so it reads the still-intact (cleared) table.

use super::script::{foll_flags, Script};
use crate::gup::window::Site;
use crate::mm::page::Page;
use crate::mm::pgtable::map::free_pte_table;
use crate::mm::pgtable::table::PMD_SIZE;
use crate::mm::types::GFP_KERNEL;
use crate::stress::prng::Prng;
use crate::stress::roles::reader::Plan;
use crate::stress::roles::writer::{alloc_pages_checked, map_at, put_mapping_ref, unmap_at};
use crate::stress::world::Env;

/// Distinct 2 MiB slots the experiment cycles through (each gets its own PTE table).
const SLOTS: u64 = 8;

/// Writer state.
pub struct Tables {
    page: Option<&'static Page>,
}

impl Script for Tables {
    const SITE: Site = Site::AfterPmd;

    fn new(_env: &Env) -> Self {
        Self { page: None }
    }

    fn plan(env: &Env, iter: u64, rng: &mut Prng) -> Plan {
        Plan {
            va: env.world.va_base + (iter % SLOTS) * PMD_SIZE,
            nr: 1,
            flags: foll_flags(env, rng),
            choice: 0,
        }
    }

    fn setup(&mut self, env: &Env, _iter: u64, plan: &Plan) {
        let p = alloc_pages_checked(env, 0, GFP_KERNEL);
        map_at(env, plan.va, p);
        self.page = Some(p);
    }

    fn step(&mut self, env: &Env, _iter: u64, plan: &Plan) {
        let p = self.page.take().expect("tables: setup ran");
        if unmap_at(env, plan.va).is_some() {
            put_mapping_ref(env, p);
        }
        free_pte_table(&env.world.mm, plan.va).expect("tables: free_pte_table");
    }

    fn teardown(&mut self, _env: &Env, _iter: u64, _plan: &Plan) {}
}
