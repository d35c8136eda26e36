//! [`calibrate`] on the kernel's CPUs: CPUs `2p` and `2p + 1` form pair `p` and run every test
//! of the table in lockstep; an odd last CPU waits at the run barrier.
//!
//! CPU 0 allocates the shared state and publishes it through [`SHARED`]; everything after
//! meets at `ctx.barrier`, and CPU 0 frees the state after the last rendezvous.

use super::calibrate::{Calibration, TestResult};
use super::engine::{Arena, Tally, DEFAULT_BATCH, DEFAULT_SKEW};
use super::report;
use super::tests::TESTS;
use crate::run::RunCtx;
use crate::sync::{smp_load_acquire, smp_store_release, AtomicUsize};
use alloc::boxed::Box;
use alloc::vec::Vec;
use spin::Mutex;

/// Address of the live [`Shared`] during a calibration (0 otherwise).
static SHARED: AtomicUsize = AtomicUsize::new(0);

struct Shared {
    arenas: Vec<Arena>,
    /// Per test: tallies summed over pairs, and pair 0's wall time (µs).
    tallies: Mutex<Vec<(Tally, u64)>>,
    result: Mutex<Option<Calibration>>,
}

/// Run every litmus test `iters` times on each pair of CPUs, print the `litmus` and
/// `calibration` records (CPU 0), and return the same [`Calibration`] on every CPU.
///
/// Call it on all CPUs of the run at once (it meets at `ctx.barrier`). With fewer than 2 CPUs
/// nothing can be measured: the result is [`super::MeasuredModel::Unmeasured`].
pub fn calibrate(ctx: &RunCtx, iters: u64) -> Calibration {
    let pairs = ctx.ncpus / 2;
    if pairs == 0 {
        let c = Calibration::unmeasured();
        if ctx.is_boot_cpu() {
            crate::kprintln!("litmus: needs 2 CPUs, running on 1: nothing measured");
            report::calibration_record(&c, ctx.args.memmodel).emit();
        }
        return c;
    }
    if ctx.is_boot_cpu() {
        let s = Box::new(Shared {
            arenas: (0..pairs)
                .map(|_| Arena::new(DEFAULT_BATCH, DEFAULT_SKEW))
                .collect(),
            tallies: Mutex::new(alloc::vec![(Tally::default(), 0); TESTS.len()]),
            result: Mutex::new(None),
        });
        smp_store_release(&SHARED, Box::into_raw(s) as usize);
    }
    ctx.barrier.wait();
    let p = smp_load_acquire(&SHARED) as *const Shared;
    // SAFETY: CPU 0 published a live, leaked `Box<Shared>` before the barrier above and frees
    // it only after the last barrier below, when no CPU holds this reference any more. All
    // shared mutation inside goes through atomics or `Mutex`.
    let shared = unsafe { &*p };
    let (pair, role) = (ctx.cpu / 2, ctx.cpu % 2);
    if pair < pairs {
        run_pair(ctx, shared, pair, role, iters);
    }
    ctx.barrier.wait();
    if ctx.is_boot_cpu() {
        let results = shared
            .tallies
            .lock()
            .iter()
            .zip(TESTS)
            .map(|(&(tally, elapsed_us), test)| TestResult {
                test,
                tally,
                pairs: pairs as u64,
                elapsed_us,
            })
            .collect();
        let c = Calibration::from_results(results);
        report::emit(&c, ctx.args.memmodel);
        *shared.result.lock() = Some(c);
    }
    ctx.barrier.wait();
    let c = shared.result.lock().clone();
    ctx.barrier.wait();
    if ctx.is_boot_cpu() {
        smp_store_release(&SHARED, 0);
        // SAFETY: `p` came from `Box::into_raw` above; every CPU passed the barrier after its
        // last use of `shared`, so this is the only reference left.
        drop(unsafe { Box::from_raw(p as *mut Shared) });
    }
    c.expect("CPU 0 stores the calibration before the barrier")
}

fn run_pair(ctx: &RunCtx, shared: &Shared, pair: usize, role: usize, iters: u64) {
    let h = crate::hal::hal();
    let hz = h.counter_hz().max(1) as u128;
    let arena = &shared.arenas[pair];
    for (k, test) in TESTS.iter().enumerate() {
        let t0 = h.counter();
        let tally = arena.run(role, test, iters, || ctx.deadline_check());
        let us = (h.counter().wrapping_sub(t0) as u128 * 1_000_000 / hz) as u64;
        if let Some(t) = tally {
            let mut all = shared.tallies.lock();
            all[k].0.merge(&t);
            if pair == 0 {
                all[k].1 = us;
            }
        }
        if ctx.is_boot_cpu() {
            ctx.progress("litmus", k as u64 + 1, TESTS.len() as u64);
        }
    }
}
