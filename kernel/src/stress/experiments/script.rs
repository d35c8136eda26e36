//! The per-iteration driver shared by every experiment.
//!
//! Iteration `i` (all CPUs, seeded plan `Prng(seed, i)` computed identically everywhere):
//! 1. CPU 0 (writer) decides whether to stop (iteration and time budgets) and sets up `i`;
//! 2. rendezvous of CPU 0 and CPU 1 (one per iteration: under TCG on a loaded host a
//!    rendezvous costs whole milliseconds when a vCPU thread is descheduled, so there is only
//!    one, and the other CPUs do not take part: they run free, following `iter_now`, until
//!    CPU 0 sets `stop`);
//! 3. CPU 1 (reader) runs GUP with the script's window and then announces it is done; CPU 0
//!    waits until the reader is in that window (or done), waits its seeded delay (free races),
//!    stamps `aux[STEP_START]`, performs the step, announces it (`step_done`),
//!    waits for the reader to be done and tears down `i`; extra CPUs read free-running or
//!    churn the allocator (handshake words carry `i + 1`, so their initial 0 never matches);
//! 4. every CPU reports a page-table quiescent state.

use crate::gup::variant::Variant;
use crate::gup::window::Site;
use crate::gup::{FOLL_GET, FOLL_PIN, FOLL_WRITE};
use crate::stress::knobs::Foll;
use crate::stress::oracles::counts::Tally;
use crate::stress::prng::Prng;
use crate::stress::roles::churn::churn_round;
use crate::stress::roles::reader::{read_gup, Hold, Plan, ReadOutcome, HELD};
use crate::stress::roles::Role;
use crate::stress::window::{spin_loops, DeadlinePoll, Mode, STEP_START};
use crate::stress::world::Env;
use crate::sync::{read_once, write_once};

/// One race, as a writer script around a reader window.
pub trait Script: Sized {
    /// Where the scripted reader waits for the writer's step.
    const SITE: Site;
    /// Whether the writer waits for the reader to reach its window before the step (false:
    /// both start together after the rendezvous and race freely).
    const WRITER_WAITS: bool = true;
    /// GUP calls the scripted reader makes per iteration (stops at the first that takes a page).
    const READER_TRIES: usize = 1;
    /// How long the scripted reader holds what it took.
    const HOLD: Hold = Hold::None;
    /// The step stamps `aux[STEP_START]` itself ([`mark_step_start`]) where its racing part
    /// begins, instead of the driver stamping it right before the step.
    const MARKS_STEP_START: bool = false;
    /// The writer's state (created on CPU 0 only).
    fn new(env: &Env) -> Self;
    /// The reader's request for iteration `iter` (`rng` is seeded from `(seed, iter)`).
    fn plan(env: &Env, iter: u64, rng: &mut Prng) -> Plan;
    /// Writer, before rendezvous A.
    fn setup(&mut self, env: &Env, iter: u64, plan: &Plan);
    /// The writer's seeded delay before its step, in spin loops (free races: it decides where
    /// the step lands relative to the reader's walk); default none.
    fn delay(_plan: &Plan) -> u64 {
        0
    }
    /// Writer, while the reader sits in its window.
    fn step(&mut self, env: &Env, iter: u64, plan: &Plan);
    /// Writer, after rendezvous B (before the next setup).
    fn teardown(&mut self, env: &Env, iter: u64, plan: &Plan);
    /// Reader, after its GUP call and release (e.g. V9's cross-check); default nothing.
    fn after_read(_env: &Env, _iter: u64, _plan: &Plan, _out: &ReadOutcome, _tally: &mut Tally) {}
    /// Reader mode of the scripted reader (default: wait at [`Script::SITE`]).
    const MODE: Mode = Mode::Script(Self::SITE);
    /// Writer, once after the last iteration: release what the script still owns.
    fn finish(&mut self, _env: &Env) {}
    /// Violations the writer found (e.g. V9's checker), taken at the end.
    fn writer_tally(&mut self) -> Tally {
        Tally::default()
    }
}

/// Stamp the start of the writer's racing step of `iter` (window hits, see `stress::window`).
pub fn mark_step_start(env: &Env, iter: u64) {
    write_once(&*env.world.aux[STEP_START], iter + 1);
}

/// GUP flags for this iteration per the variant's FOLL choice.
pub fn foll_flags(env: &Env, rng: &mut Prng) -> u32 {
    let pin = match env.world.foll {
        Foll::Get => false,
        Foll::Pin => true,
        Foll::Mixed => rng.below(2) == 1,
    };
    FOLL_WRITE | if pin { FOLL_PIN } else { FOLL_GET }
}

fn plan_of<S: Script>(env: &Env, iter: u64) -> Plan {
    let mut rng = Prng::new(env.world.params.seed, iter.wrapping_add(1));
    S::plan(env, iter, &mut rng)
}

fn budget_exhausted(env: &Env, iter: u64) -> bool {
    let p = &env.world.params;
    iter >= p.iters || env.world.elapsed_ticks() >= p.time_ticks
}

/// Run script `S` with reader variant `V` on this CPU until CPU 0 says stop.
pub fn run<V: Variant, S: Script>(env: &Env) -> Tally {
    let world = env.world;
    let role = Role::of(env.cpu);
    let rcu = world.mm.rcu();
    rcu.rcu_idle_exit(env.cpu);
    let reads = matches!(role, Role::Reader | Role::FreeReader);
    if reads {
        // The hardware walker sees the experiment's address space too (see `stress::mmu`).
        world.mm.switch_mm();
    }
    let tally = run_role::<V, S>(env, role);
    if reads && crate::hal::installed() {
        crate::hal::hal().switch_ttbr0(world.kernel_pgd, 0);
    }
    rcu.rcu_idle_enter(env.cpu);
    tally
}

fn run_role<V: Variant, S: Script>(env: &Env, role: Role) -> Tally {
    let world = env.world;
    let rcu = world.mm.rcu();
    let mut tally = Tally::default();
    let mut rng = Prng::new(world.params.seed, 0x1000 + env.cpu as u64);
    let mut writer = (role == Role::Writer).then(|| S::new(env));
    let mut iter = 0u64;
    if matches!(role, Role::FreeReader | Role::Churn) {
        // Free-running: follow the pair's iteration, never wait for it.
        while read_once(&world.stop) == 0 {
            let it = read_once(&*world.iter_now);
            let plan = plan_of::<S>(env, it);
            if role == Role::FreeReader {
                spin_loops(rng.below(world.params.widen + 1));
                let out =
                    read_gup::<V>(env, &plan, Mode::Free, it, &mut tally, &mut rng, Hold::None);
                // A free reader's call counts as a window hit when the writer's step of the
                // pair's iteration overlapped its walk (same stamps as a free race).
                if out.window_hit {
                    tally.window_hits += 1;
                }
            } else {
                churn_round(env, &mut rng);
            }
            rcu.rcu_quiescent_state(env.cpu);
            iter += 1;
            if iter.is_multiple_of(1024) {
                crate::rt::deadline::check();
            }
        }
        rcu.rcu_idle_enter(env.cpu);
        return tally;
    }
    let progress_every = (world.params.iters / 10).max(1);
    loop {
        let plan = plan_of::<S>(env, iter);
        if let Some(wr) = writer.as_mut() {
            if budget_exhausted(env, iter) {
                write_once(&world.stop, 1);
            } else {
                wr.setup(env, iter, &plan);
                write_once(&*world.iter_now, iter);
            }
            if iter > 0 && iter.is_multiple_of(progress_every) {
                crate::stress::report::progress(
                    "gup",
                    world.variant,
                    iter,
                    world.params.iters,
                    world.now_ns() / 1_000_000,
                );
            }
        }
        // The one rendezvous per iteration, of the scripted pair only.
        let mut dp = DeadlinePoll::default();
        world.pair.wait_with(|| dp.poll());
        if read_once(&world.stop) != 0 {
            break;
        }
        if let Some(wr) = writer.as_mut() {
            // The reader's window, or its end (it always reaches one of them; a vCPU thread
            // descheduled by the host only delays it, so no time limit here).
            let mut dp = DeadlinePoll::default();
            while S::WRITER_WAITS
                && read_once(&*world.reader_at) != iter + 1
                && read_once(&*world.reader_done) != iter + 1
            {
                dp.poll();
                core::hint::spin_loop();
            }
            spin_loops(S::delay(&plan));
            // Window-hit stamps around the step (see `stress::window`).
            if !S::MARKS_STEP_START {
                mark_step_start(env, iter);
            }
            wr.step(env, iter, &plan);
            write_once(&*world.step_done, iter + 1);
            if S::HOLD == Hold::AcrossTeardown {
                // Teardown once the scripted reader holds what it took (or is done), then let
                // it release; the next setup only once it has released everything.
                while read_once(&*world.reader_done) != iter + 1
                    && read_once(&*world.reader_at) != (iter + 1) | HELD
                {
                    dp.poll();
                    core::hint::spin_loop();
                }
                wr.teardown(env, iter, &plan);
                write_once(&*world.step_done, (iter + 1) | HELD);
                while read_once(&*world.reader_done) != iter + 1 {
                    dp.poll();
                    core::hint::spin_loop();
                }
            } else {
                // Teardown only once the scripted reader has released everything.
                while read_once(&*world.reader_done) != iter + 1 {
                    dp.poll();
                    core::hint::spin_loop();
                }
                wr.teardown(env, iter, &plan);
            }
            rcu.tlb_table_flush();
        } else {
            let mut out = ReadOutcome::default();
            let mut hit = false;
            for _ in 0..S::READER_TRIES {
                out = read_gup::<V>(env, &plan, S::MODE, iter, &mut tally, &mut rng, S::HOLD);
                hit |= out.window_hit;
                if out.total > 0 {
                    break;
                }
            }
            if hit {
                tally.window_hits += 1;
            }
            S::after_read(env, iter, &plan, &out, &mut tally);
            write_once(&*world.reader_done, iter + 1);
        }
        rcu.rcu_quiescent_state(env.cpu);
        iter += 1;
        tally.iters = iter;
    }
    if let Some(wr) = writer.as_mut() {
        wr.finish(env);
        tally.merge(&wr.writer_tally());
    }
    tally
}
