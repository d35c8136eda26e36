//! Runs one experiment × variant on every CPU: knobs, world, the experiment, the merge, the
//! allocator oracles and audit, the verdict, the `result` record.

use super::experiments::Experiment;
use super::oracles::counts::{FirstViolation, Tally, Violation};
use super::oracles::mm_counters::{add_mm_events, audit_leaks, MmSnapshot};
use super::platform::Platform;
use super::report::ResultRow;
use super::variants::VariantDesc;
use super::verdict::{verdict, Expected, MemModel};
use super::world::{Env, Params, World};
use crate::mm::pgtable::mm::{MmStruct, USER_VA_BASE};
use crate::smp::{Barrier, CachePadded};
use crate::sync::AtomicU64;
use alloc::boxed::Box;
use core::sync::atomic::{AtomicPtr, Ordering};

/// The expectation of `desc` run under `exp`: the variant table's only for the variant's own
/// experiment (the race it was written for); any other pairing measures (`ANY`).
pub fn expected_for(desc: &VariantDesc, exp: Experiment, m: MemModel) -> Expected {
    if exp == desc.experiment {
        desc.expected(m)
    } else {
        Expected::Any
    }
}

/// What CPU 0 learns from one run.
pub struct Outcome {
    /// Merged counts.
    pub tally: Tally,
    /// Verdict matched the expectation.
    pub passed: bool,
}

static WORLD: AtomicPtr<World> = AtomicPtr::new(core::ptr::null_mut());

/// One experiment × variant, called on every CPU at once (`cpu` in `0..ncpus`). CPU 0 returns
/// the outcome and emits the `result` record; the others return `None`.
#[allow(clippy::too_many_arguments)]
pub fn run_one(
    plat: &'static Platform,
    cpu: usize,
    ncpus: usize,
    barrier: &Barrier,
    run: &str,
    desc: &'static VariantDesc,
    exp: Experiment,
    params: Params,
    asid: u16,
) -> Option<Outcome> {
    let zone = plat.zone;
    let mut baseline = (MmSnapshot::default(), 0u64);
    barrier.wait();
    if cpu == 0 {
        zone.set_knobs(desc.writer.mm);
        zone.drain_all_pages();
        plat.rcu.synchronize(0);
        baseline = (MmSnapshot::take(zone), zone.audit().frames_in_use);
        let mm = MmStruct::new(plat.kernel_pgd, asid, plat.rcu, desc.writer.table_free)
            .expect("gup: user address space");
        let hal = crate::hal::hal();
        let world = Box::new(World {
            zone,
            mm,
            variant: desc.id,
            writer: desc.writer,
            foll: desc.foll,
            params,
            owner: plat.owner,
            pins: plat.pins,
            canary: plat.canary,
            canary_seq: AtomicU64::new(0),
            reader_at: CachePadded(AtomicU64::new(0)),
            step_done: CachePadded(AtomicU64::new(0)),
            reader_done: CachePadded(AtomicU64::new(0)),
            stop: AtomicU64::new(0),
            sections: core::array::from_fn(|_| CachePadded(AtomicU64::new(0))),
            aux: core::array::from_fn(|_| CachePadded(AtomicU64::new(0))),
            t0: hal.counter(),
            hz: hal.counter_hz(),
            kernel_pgd: plat.kernel_pgd,
            va_base: USER_VA_BASE + (1 << 30),
            merged: spin::Mutex::new(Tally::default()),
            pair: Barrier::new(2),
            iter_now: CachePadded(AtomicU64::new(0)),
            writer_waits: CachePadded(AtomicU64::new(0)),
        });
        WORLD.store(Box::into_raw(world), Ordering::Release);
    }
    barrier.wait();
    // SAFETY: CPU 0 published a live `World` before the rendezvous and frees it only after the
    // rendezvous below.
    let world: &World = unsafe { &*WORLD.load(Ordering::Acquire) };
    let env = Env {
        cpu,
        ncpus,
        world,
        barrier,
    };
    let tally = exp.run_fn(desc.reader)(&env);
    world.merged.lock().merge(&tally);
    barrier.wait();
    if cpu != 0 {
        barrier.wait();
        return None;
    }
    // SAFETY: every CPU is past its last use of the world (rendezvous above).
    let world = unsafe { Box::from_raw(WORLD.swap(core::ptr::null_mut(), Ordering::AcqRel)) };
    let elapsed_ms = world.now_ns() / 1_000_000;
    let mut t = core::mem::take(&mut *world.merged.lock());
    let at = FirstViolation {
        cpu: 0,
        pfn: 0,
        head: 0,
        iter: t.iters,
        t_ns: world.now_ns(),
        kind: Violation::AuditDirty,
    };
    drop(world); // mmdrop: unlink and queue the tables
    plat.rcu.synchronize(0);
    zone.drain_all_pages();
    add_mm_events(zone, baseline.0, MmSnapshot::take(zone), &mut t, at);
    let audit = zone.audit();
    audit_leaks(&audit, baseline.1, &mut t, at);
    let v = verdict(
        t.total_violations(),
        t.window_hits,
        t.iters,
        desc.class,
        params.memmodel,
    );
    // Allocator/audit events carry the end-of-row time: say so when one of them is the first.
    let first_at_end = t.first.is_some_and(|f| f.t_ns >= at.t_ns);
    let row = ResultRow {
        run,
        experiment: exp.name,
        variant: desc.id,
        tally: &t,
        verdict: v,
        expected: expected_for(desc, exp, params.memmodel),
        class: desc.class,
        memmodel: params.memmodel,
        seed: params.run_seed,
        row_seed: params.seed,
        elapsed_ms,
        cpus: ncpus,
        window: exp.mode.name(),
        first_at_end,
    };
    let passed = row.passed();
    row.record().emit();
    barrier.wait();
    Some(Outcome { tally: t, passed })
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use crate::stress::experiments::named;
    use crate::stress::variants::find;
    use crate::stress::verdict::Verdict;

    #[test]
    fn the_table_expects_only_for_a_variants_own_experiment() {
        let v6 = find("V6").unwrap();
        assert_eq!(
            expected_for(v6, named("recheck"), MemModel::Tso),
            Expected::Is(Verdict::Reproduced)
        );
        // V6 under split is a measurement, not the race the row was written for.
        assert_eq!(
            expected_for(v6, named("split"), MemModel::Tso),
            Expected::Any
        );
        let v0 = find("V0").unwrap();
        assert_eq!(
            expected_for(v0, named("split"), MemModel::Weak),
            Expected::Is(Verdict::Clean)
        );
        assert_eq!(
            expected_for(v0, named("pin"), MemModel::Weak),
            Expected::Any
        );
    }
}
