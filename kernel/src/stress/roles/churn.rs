//! Allocator churn on extra CPUs: allocate and free blocks of random orders so the per-CPU and
//! buddy lists keep moving under the experiment (no pages are mapped).

use crate::mm::types::{__GFP_COMP, GFP_KERNEL};
use crate::stress::prng::Prng;
use crate::stress::world::Env;

/// One round of churn: a few allocations of random order (0..=3, compound when > 0), freed
/// again in reverse order.
pub fn churn_round(env: &Env, rng: &mut Prng) {
    let zone = env.world.zone;
    let mut held = [None; 4];
    for slot in held.iter_mut() {
        let order = rng.below(4) as usize;
        let gfp = if order > 0 { __GFP_COMP } else { GFP_KERNEL };
        *slot = zone.alloc_pages(env.cpu, order, gfp).map(|p| (p, order));
    }
    for (p, order) in held.iter().rev().flatten() {
        if *order > 0 {
            zone.put_page(env.cpu, p);
        } else {
            zone.__free_pages(env.cpu, p, 0);
        }
    }
}
