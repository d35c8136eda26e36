//! 5c (Jason): a compound page is allocated and a PTE to its tail published while the reader
//! polls the address (V4: the PTE store has no release; V0: it does). A reader that sees the
//! new PTE but stale `struct page` stores takes a reference on the wrong head or reads stale
//! metadata. The writer does not wait for the reader: both start at the rendezvous. The block
//! comes back LIFO as the same compound page each time, so a stale `compound_head` word is 0
//! (harmless: the add-unless-zero on the tail fails); the hazard left is stale `PG_head` /
//! order under FOLL_PIN (bias instead of pincount: pin_accounting_mismatch), hence V4 reads
//! with FOLL_GET and FOLL_PIN mixed.

use super::script::{foll_flags, Script};
use crate::gup::window::Site;
use crate::mm::page::Page;
use crate::stress::prng::Prng;
use crate::stress::roles::reader::Plan;
use crate::stress::roles::writer::{
    alloc_and_map_subpage, put_mapping_ref, put_page_checked, unmap_at,
};
use crate::stress::window::Mode;
use crate::stress::world::Env;

/// Order of the published compound page.
pub const PUBLISH_ORDER: usize = 2;

/// Writer state.
pub struct Publish {
    head: Option<&'static Page>,
}

impl Script for Publish {
    const SITE: Site = Site::BeforeRef;
    const WRITER_WAITS: bool = false;
    const READER_TRIES: usize = 64;

    fn new(_env: &Env) -> Self {
        Self { head: None }
    }

    const MODE: Mode = Mode::Free;

    fn plan(env: &Env, _iter: u64, rng: &mut Prng) -> Plan {
        Plan {
            va: env.world.va_base,
            nr: 1,
            flags: foll_flags(env, rng),
            choice: 1 + rng.below(3),
        }
    }

    fn setup(&mut self, _env: &Env, _iter: u64, _plan: &Plan) {}

    fn step(&mut self, env: &Env, _iter: u64, plan: &Plan) {
        let head = alloc_and_map_subpage(env, PUBLISH_ORDER, plan.va, plan.choice as usize);
        self.head = Some(head);
    }

    fn teardown(&mut self, env: &Env, _iter: u64, plan: &Plan) {
        if let Some(head) = self.head.take() {
            if unmap_at(env, plan.va).is_some() {
                put_mapping_ref(env, head);
            }
            put_page_checked(env, head);
        }
    }
}
