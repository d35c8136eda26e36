//! 5e4 (088b8aa537c2): a FOLL_PIN reader against the "may-be-pinned" checker of
//! `page_try_share_anon_rmap()`: the writer clears the PTE, `smp_mb()`, checks
//! `page_maybe_dma_pinned()`; not pinned → the page becomes shared (re-mapped read-only),
//! pinned → the PTE is restored. The reader pins, then (`smp_mb__after_atomic()`, removed in
//! V9) rechecks the PTE. Reader accepted a pin ∧ writer saw "not pinned" while the pin was
//! held is the store-buffering outcome: a pinned page made shared (pinned_page_shared). The
//! reader signals after R0 and goes on; the writer starts after a seeded delay, so its check
//! lands before, inside or after the reader's pin → recheck window. Window hit: the check's
//! step overlapped the reader's IRQ-off walk (`stress::window`).

use super::script::{foll_flags, Script};
use crate::gup::window::Site;
use crate::gup::FOLL_PIN;
use crate::mm::page::Page;
use crate::mm::pgtable::desc::PgProt;
use crate::mm::pgtable::map::map_page;
use crate::mm::pin::page_maybe_dma_pinned;
use crate::mm::types::GFP_KERNEL;
use crate::stress::oracles::counts::{FirstViolation, Tally, Violation};
use crate::stress::prng::Prng;
use crate::stress::roles::reader::{Hold, Plan, ReadOutcome, RELEASED};
use crate::stress::roles::writer::{
    alloc_pages_checked, map_at, put_mapping_ref, tag_at, unmap_at,
};
use crate::stress::window::Mode;
use crate::stress::world::Env;
use crate::sync::{read_once, smp_mb, write_once};

/// The writer's seeded delay before its check, in spin loops: spread so that the check lands
/// before, inside and after the reader's pin → recheck window.
const PIN_DELAY: u64 = 64;

/// `aux` slots.
const SHARED: usize = 0;
const ACCEPTED: usize = 1;

/// Writer state.
pub struct Pin {
    page: Option<&'static Page>,
    tally: Tally,
}

impl Script for Pin {
    const SITE: Site = Site::AfterPte;
    const HOLD: Hold = Hold::UntilStep;

    fn new(_env: &Env) -> Self {
        Self {
            page: None,
            tally: Tally::default(),
        }
    }

    const MODE: Mode = Mode::Signal(Site::AfterPte, 1);

    fn plan(env: &Env, _iter: u64, rng: &mut Prng) -> Plan {
        Plan {
            va: env.world.va_base,
            nr: 1,
            flags: foll_flags(env, rng),
            choice: rng.below(PIN_DELAY),
        }
    }

    fn setup(&mut self, env: &Env, _iter: u64, plan: &Plan) {
        let p = alloc_pages_checked(env, 0, GFP_KERNEL);
        map_at(env, plan.va, p);
        self.page = Some(p);
    }

    fn delay(plan: &Plan) -> u64 {
        plan.choice
    }

    fn step(&mut self, env: &Env, iter: u64, plan: &Plan) {
        let p = self.page.expect("pin: setup ran");
        let w = env.world;
        if unmap_at(env, plan.va).is_none() {
            return;
        }
        smp_mb();
        if page_maybe_dma_pinned(w.zone.mem_map(), p) {
            map_at(env, plan.va, p); // pinned: keep it exclusive, restore the PTE
        } else {
            // Judged "not pinned". It only counts against the reader if the reader had not
            // started releasing yet: reader `W(RELEASED); mb; put`, here `check; mb; R(RELEASED)`.
            smp_mb();
            if read_once(&*w.aux[RELEASED]) != iter + 1 {
                write_once(&*w.aux[SHARED], iter + 1);
            }
            tag_at(env, p, plan.va);
            let pa = w.zone.mem_map().page_address(p);
            map_page(
                &w.mm,
                plan.va,
                pa,
                PgProt::USER_RO,
                crate::sync::Strength::AcqRel,
            )
            .expect("pin: remap read-only");
        }
    }

    fn teardown(&mut self, env: &Env, iter: u64, plan: &Plan) {
        let w = env.world;
        if read_once(&*w.aux[SHARED]) == iter + 1 && read_once(&*w.aux[ACCEPTED]) == iter + 1 {
            let pfn = self.page.map(|p| w.zone.page_to_pfn(p)).unwrap_or(0);
            let t_ns = w.now_ns();
            self.tally.violation(FirstViolation {
                cpu: env.cpu,
                pfn,
                head: pfn,
                iter,
                t_ns,
                kind: Violation::PinnedShared,
            });
        }
        let p = self.page.take().expect("pin: setup ran");
        if unmap_at(env, plan.va).is_some() {
            put_mapping_ref(env, p);
        }
    }

    fn after_read(env: &Env, iter: u64, plan: &Plan, out: &ReadOutcome, _tally: &mut Tally) {
        // Only a pin counts: a FOLL_GET reference is not what the checker looks for.
        if out.fast > 0 && plan.flags & FOLL_PIN != 0 {
            write_once(&*env.world.aux[ACCEPTED], iter + 1);
        }
    }

    fn writer_tally(&mut self) -> Tally {
        core::mem::take(&mut self.tally)
    }
}
