//! A reader's GUP call in an experiment: the variant's monomorphised GUP-fast (+ slow path),
//! then the post-accept oracles and the release.

use crate::gup::fast::internal_get_user_pages_fast;
use crate::gup::grab::Grabbed;
use crate::gup::variant::Variant;
use crate::gup::GupCtx;
use crate::stress::oracles::canary::read_canaries;
use crate::stress::oracles::check::{check_and_release, shadow_pin, Held};
use crate::stress::oracles::counts::Tally;
use crate::stress::prng::Prng;
use crate::stress::window::{Mode, StressWindow};
use crate::stress::world::{Env, MAX_NR};

/// `World::aux` slot where a holding reader announces it is about to release (iteration + 1).
pub const RELEASED: usize = 3;

/// What a reader asks for in one iteration.
#[derive(Clone, Copy, Debug)]
pub struct Plan {
    /// First user address.
    pub va: u64,
    /// Number of pages (≤ [`MAX_NR`]).
    pub nr: usize,
    /// `FOLL_GET` or `FOLL_PIN` (plus `FOLL_WRITE`).
    pub flags: u32,
    /// Script-specific random choice for this iteration.
    pub choice: u64,
}

/// What one GUP call took.
#[derive(Clone, Copy, Debug, Default)]
pub struct ReadOutcome {
    /// Pages the fast path accepted.
    pub fast: usize,
    /// Pages taken in total (fast + slow).
    pub total: usize,
    /// Whether the writer's step of this iteration hit this call's window (the per-mode
    /// definition is in `stress::window`); the script counts one window hit per iteration.
    pub window_hit: bool,
}

/// How long a scripted reader holds what it took before checking and releasing it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Hold {
    /// Release at once.
    None,
    /// Until the writer's step of this iteration is over (or the window time ran out), so a
    /// writer-side oracle judges a state where it is still held (V9's checker).
    UntilStep,
    /// Until the writer's teardown of this iteration is over (or the window time ran out): the
    /// page's owner unmaps and frees what it mapped while the GUP caller still uses the page
    /// (spec 5a "T's owner can unmap and free T while DMA/IO targets it"), so a reference on
    /// the wrong head shows as freed_while_held on the writer's free path.
    AcrossTeardown,
}

/// Flag or'ed into the iteration stamp (`iter + 1`) of `reader_at` ("holding, waiting for the
/// teardown") and of `step_done` ("teardown done") for [`Hold::AcrossTeardown`].
pub const HELD: u64 = 1 << 62;

/// One GUP call with variant `V`, windows per `mode`, checks and release, holding what was
/// taken per `hold`.
#[allow(clippy::too_many_arguments)]
pub fn read_gup<V: Variant>(
    env: &Env,
    plan: &Plan,
    mode: Mode,
    iter: u64,
    tally: &mut Tally,
    rng: &mut Prng,
    hold: Hold,
) -> ReadOutcome {
    let world = env.world;
    let ctx = GupCtx::new(world.zone, world.mm.pgd, env.cpu);
    let mut out: [Option<Grabbed>; MAX_NR] = [None; MAX_NR];
    let nr = plan.nr.min(MAX_NR);
    let mut w = StressWindow::new(world, tally, rng, env.cpu, iter, mode);
    // SAFETY: `world.mm` is live for the whole experiment and its tables are freed only through
    // its table-free policy (deferred; or immediate for V10, whose freed frames stay RAM).
    let (fast, total) = unsafe {
        internal_get_user_pages_fast::<V, _>(
            &ctx, &world.mm, plan.va, nr, plan.flags, &mut out, &mut w,
        )
    };
    let window_hit = w.window_hit();
    // This holder now believes it holds what it took: raise the shadow pins (outside every
    // window) before the hold, so a free of any of these frames until the release is
    // freed_while_held (checked on the writer's free and alloc paths).
    shadow_pin(world, &ctx, &out, total);
    // ... and remembers the canary of each page it holds (checked again at the release).
    let canaries = read_canaries(&ctx, &out, total);
    w.tally.attempts += nr as u64;
    w.tally.accepted += fast as u64;
    if hold == Hold::AcrossTeardown && total > 0 {
        crate::sync::write_once(&*world.reader_at, (iter + 1) | HELD);
        let mut limit = crate::stress::window::Limit::new(4 * world.params.window_ticks);
        while crate::sync::read_once(&*world.step_done) != (iter + 1) | HELD && !limit.expired() {
            core::hint::spin_loop();
        }
    }
    if hold == Hold::UntilStep && total > 0 {
        let mut limit = crate::stress::window::Limit::new(4 * world.params.window_ticks);
        while crate::sync::read_once(&*world.step_done) != iter + 1 && !limit.expired() {
            core::hint::spin_loop();
        }
        // Tell the writer's oracle the hold is over, before anything is dropped.
        crate::sync::write_once(&*world.aux[RELEASED], iter + 1);
        crate::sync::smp_mb();
    }
    let held = Held {
        out: &mut out,
        canaries: &canaries,
        n: total,
    };
    check_and_release(world, &ctx, held, plan.va, plan.flags, &mut w);
    ReadOutcome {
        fast,
        total,
        window_hit,
    }
}
