//! The `gup` and `suite` runs (registered in `run/registry.rs`).
//!
//! `gup`: `variant=V0,V1,..` (default: all), `experiment=..` (default: each variant's own),
//! `seed=`, `iters=` (per experiment × variant), `time_ms=` (per experiment × variant),
//! `widen=` (spin loops of free-running readers' windows; 0/absent = default),
//! `memmodel=tso|weak|unknown`.
//! `suite`: the whole matrix, each variant with its own experiment, sized by time.
//!
//! Both start with a litmus calibration and print the declared, measured and effective memory
//! model (`memmodel` record).

use super::driver::run_one;
use super::experiments::{parse as parse_experiment, Experiment};
use super::platform::kernel_platform;
use super::prng::splitmix64;
use super::variants::{find, VariantDesc, VARIANTS};
use super::verdict::MemModel;
use super::world::Params;
use crate::bootargs::{BootArgs, MemModelArg};
use crate::litmus::MeasuredModel;
use crate::mm::audit::RunAudit;
use crate::record::Record;
use crate::run::RunCtx;
use alloc::vec::Vec;

/// Default iteration budget per experiment × variant.
pub const DEFAULT_ITERS: u64 = 100_000;
/// Default time budget per experiment × variant (ms).
pub const DEFAULT_TIME_MS: u64 = 6_000;
/// Suite: time per variant (ms); 15 rows ≈ one minute.
pub const SUITE_TIME_MS: u64 = 4_000;
/// Default widening of free-running readers' windows (spin loops).
pub const DEFAULT_WIDEN: u64 = 256;
/// How long a scripted reader holds its window open for the writer's step at most (µs). Long
/// enough to ride out a host descheduling the writer's vCPU thread under TCG; the window also
/// closes when the writer starts waiting for readers (V1i), so nobody pays it routinely.
pub const WINDOW_US: u64 = 20_000;

/// The memory model the host declared (`memmodel=`), `Unknown` when absent.
pub fn memmodel(args: &BootArgs) -> MemModel {
    match args.memmodel {
        Some(MemModelArg::Tso) => MemModel::Tso,
        Some(MemModelArg::Weak) => MemModel::Weak,
        Some(MemModelArg::Unknown) | None => MemModel::Unknown,
    }
}

fn plan(args: &BootArgs) -> Result<Vec<(&'static VariantDesc, Experiment)>, alloc::string::String> {
    let vars: Vec<&'static VariantDesc> = if args.variant.is_empty() {
        VARIANTS.iter().collect()
    } else {
        let mut v = Vec::new();
        for id in &args.variant {
            v.push(find(id).ok_or_else(|| alloc::format!("unknown variant `{id}`"))?);
        }
        v
    };
    let mut exps = Vec::new();
    for e in &args.experiment {
        exps.push(parse_experiment(e).ok_or_else(|| alloc::format!("unknown experiment `{e}`"))?);
    }
    let mut out = Vec::new();
    for d in vars {
        if exps.is_empty() {
            out.push((d, d.experiment));
        } else {
            for &e in &exps {
                out.push((d, e));
            }
        }
    }
    Ok(out)
}

/// FNV-1a of a name (row seeds).
fn name_hash(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ b as u64).wrapping_mul(0x100_0000_01b3)
    })
}

/// Litmus instances per test for the calibration the race runs start with (~0.5 s at -smp 2
/// under TCG).
pub const CALIBRATION_ITERS: u64 = 20_000;

/// The memory model the verdicts use: the declared one (`memmodel=`), checked against a litmus
/// calibration measured on this platform now. A platform observed to reorder beyond TSO is
/// `Weak` whatever was declared ("NOT REACHABLE HERE" must never be printed where the
/// reordering was just seen); with nothing declared, the measurement decides. Every CPU calls
/// this at once (the calibration runs on all CPUs).
fn effective_memmodel(ctx: &RunCtx, run: &'static str) -> MemModel {
    let declared = memmodel(ctx.args);
    let cal = crate::litmus::calibrate(ctx, CALIBRATION_ITERS);
    let measured = match cal.model {
        MeasuredModel::Weak => MemModel::Weak,
        MeasuredModel::Tso | MeasuredModel::Sc => MemModel::Tso,
        MeasuredModel::Unmeasured => MemModel::Unknown,
    };
    let effective = match (declared, measured) {
        (_, MemModel::Weak) => MemModel::Weak,
        (MemModel::Unknown, m) => m,
        (d, _) => d,
    };
    if ctx.is_boot_cpu() {
        crate::kprintln!(
            "{run}: memory model declared {}, measured {} ({} litmus instances), verdicts use {}",
            declared.name(),
            cal.model.name(),
            cal.instances(),
            effective.name()
        );
        Record::new("memmodel")
            .str("run", run)
            .str("declared", declared.name())
            .str("measured", cal.model.name())
            .str("effective", effective.name())
            .u64("litmus_instances", cal.instances())
            .emit();
    }
    effective
}

fn run_matrix(ctx: &RunCtx, name: &'static str, iters: u64, time_ms: u64, mm: MemModel) -> bool {
    let rows = match plan(ctx.args) {
        Ok(r) => r,
        Err(msg) => {
            if ctx.cpu == 0 {
                crate::rt::exit::usage_error("usage", &msg);
            }
            loop {
                crate::rt::deadline::check();
                crate::smp::spin_hint();
            }
        }
    };
    if ctx.ncpus < 2 {
        if ctx.cpu == 0 {
            Record::new("error")
                .str("kind", "gup")
                .str("message", "the gup runs need at least 2 CPUs")
                .emit();
        }
        return false;
    }
    if ctx.cpu == 0 {
        kernel_platform(ctx.ncpus);
    }
    ctx.barrier.wait();
    let plat = kernel_platform(ctx.ncpus);
    let hz = crate::hal::hal().counter_hz();
    let widen = if ctx.args.widen == 0 {
        DEFAULT_WIDEN
    } else {
        ctx.args.widen
    };
    let free_start = plat.zone.nr_free_pages() as u64;
    let mm_start = super::oracles::mm_counters::MmSnapshot::take(plat.zone);
    let mut passed = true;
    for (i, (desc, exp)) in rows.iter().enumerate() {
        // The row's seed depends on the run seed and the row's names only, so `seed=<run seed>
        // variant=<id> experiment=<name>` replays one row of a bigger run.
        let mut s = ctx.seed ^ name_hash(desc.id) ^ name_hash(exp.name).rotate_left(17);
        // Stay inside the kernel deadline (`deadline_ms=`, which xtask derives from its
        // timeout): share what is left (minus a margin for setup, audits and records) among
        // the rows still to run.
        let mut row_ms = time_ms;
        if let Some(d) = ctx.args.deadline_ms {
            let left = (d * 85 / 100).saturating_sub(crate::rt::deadline::elapsed_ms());
            row_ms = row_ms.min((left / (rows.len() - i) as u64).max(100));
        }
        let params = Params {
            seed: splitmix64(&mut s),
            run_seed: ctx.seed,
            iters,
            time_ticks: (row_ms as u128 * hz as u128 / 1000) as u64,
            widen,
            window_ticks: (WINDOW_US as u128 * hz as u128 / 1_000_000).max(1) as u64,
            memmodel: mm,
        };
        // IRQs on for the row where SGIs work: CPUs acknowledge V1i's shootdown SGIs outside
        // their IRQ-off GUP sections (crate::ipi).
        let irq = crate::ipi::row_irqs_on();
        let outcome = run_one(
            plat,
            ctx.cpu,
            ctx.ncpus,
            ctx.barrier,
            name,
            desc,
            exp,
            params,
            1 + i as u16,
        );
        crate::ipi::row_irqs_off(irq);
        if let Some(o) = outcome {
            passed &= o.passed;
            report_shootdowns(name, desc.id, exp.name, hz);
        }
        if ctx.cpu == 0 {
            ctx.progress(name, i as u64 + 1, rows.len() as u64);
        }
    }
    if ctx.cpu == 0 {
        // Every frame back (pages dropped by the allocator's bad-page checks included). The
        // double frees and bad states are this run's (deltas): buggy variants provoke them on
        // purpose and their `result` records count them; `passed` is about frames.
        plat.zone.drain_all_pages();
        let a = plat.zone.audit();
        let mm_end = super::oracles::mm_counters::MmSnapshot::take(plat.zone);
        let audit = RunAudit {
            frames_total: a.frames_total,
            frames_free_start: free_start,
            frames_free_end: plat.zone.nr_free_pages() as u64,
            double_free: mm_end.double_free - mm_start.double_free,
            bad_state: mm_end.bad_state - mm_start.bad_state,
        };
        audit.emit(name, audit.leaked() == 0);
    }
    passed
}

/// After a row (CPU 0): an `ipi` record and a human line when the row's unmapper waited for
/// readers (V1i), saying which handshake it used and the SGI round-trip latency.
fn report_shootdowns(run: &'static str, variant: &str, experiment: &str, hz: u64) {
    let s = crate::ipi::take_row_stats(hz);
    if s.sgi + s.flag + s.timeouts == 0 {
        return;
    }
    let head = alloc::format!(
        "{run}: {variant}/{experiment}: shootdown handshake {}: {} SGI-acknowledged, {} flag, {} SGI timeouts",
        s.mechanism(),
        s.sgi,
        s.flag,
        s.timeouts
    );
    if s.samples == 0 {
        crate::kprintln!("{head}");
    } else {
        crate::kprintln!(
            "{head}; SGI round trip (send -> all acks) median {} ns, p99 {} ns, min {} ns, max {} ns over {} samples",
            s.median_ns,
            s.p99_ns,
            s.min_ns,
            s.max_ns,
            s.samples
        );
    }
    Record::new("ipi")
        .str("run", run)
        .str("variant", variant)
        .str("experiment", experiment)
        .str("shootdown", s.mechanism())
        .u64("sgi_shootdowns", s.sgi)
        .u64("flag_shootdowns", s.flag)
        .u64("sgi_timeouts", s.timeouts)
        .u64("latency_samples", s.samples)
        .u64("latency_min_ns", s.min_ns)
        .u64("latency_median_ns", s.median_ns)
        .u64("latency_p99_ns", s.p99_ns)
        .u64("latency_max_ns", s.max_ns)
        .emit();
}

/// `run=gup`.
pub fn gup(ctx: &RunCtx) -> bool {
    let iters = ctx.args.iters.unwrap_or(DEFAULT_ITERS);
    let time_ms = ctx.args.time_ms.unwrap_or(DEFAULT_TIME_MS);
    // Always calibrate (~0.5 s): a wrong declaration must be contradicted, not trusted.
    let mm = if ctx.ncpus >= 2 {
        effective_memmodel(ctx, "gup")
    } else {
        memmodel(ctx.args)
    };
    run_matrix(ctx, "gup", iters, time_ms, mm)
}

/// `run=suite`: every variant, its own experiment, ~4 s each.
pub fn suite(ctx: &RunCtx) -> bool {
    let iters = ctx.args.iters.unwrap_or(u64::MAX);
    let time_ms = ctx.args.time_ms.unwrap_or(SUITE_TIME_MS);
    let mm = if ctx.ncpus >= 2 {
        effective_memmodel(ctx, "suite")
    } else {
        memmodel(ctx.args)
    };
    run_matrix(ctx, "suite", iters, time_ms, mm)
}
