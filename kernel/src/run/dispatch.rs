//! The dispatch: CPU 0 resolves `run=`, every CPU runs the entry, CPU 0 ends the run.

use super::ctx::{args as parsed_args, CpuInfo, RunCtx};
use super::registry;
use crate::record::Record;
use crate::rt::{deadline, exit};
use crate::smp::Barrier;
use core::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

static ALL_CPUS: Barrier = Barrier::new(1);
static GO: AtomicBool = AtomicBool::new(false);
static SELECTED: AtomicUsize = AtomicUsize::new(usize::MAX);
static SEED: spin::Once<u64> = spin::Once::new();

fn lookup(name: &str) -> Option<usize> {
    registry::RUNS.iter().position(|r| r.name == name)
}

fn known_runs() -> alloc::string::String {
    let mut s = alloc::string::String::new();
    for (i, r) in registry::RUNS.iter().enumerate() {
        if i > 0 {
            s.push_str(", ");
        }
        s.push_str(r.name);
    }
    s
}

fn list_runs() -> ! {
    use crate::bootargs::{Readers, KEYS};
    crate::kprintln!(
        "gupbed: runs (run=<name>) and the keys each reads besides the keys of every run:"
    );
    for r in registry::RUNS {
        crate::kprintln!("  {:<12} {}", r.name, r.help);
        let mut keys = alloc::string::String::new();
        for k in KEYS {
            if matches!(k.runs, Readers::Runs(_)) && k.runs.includes(r.name) {
                keys.push_str(if keys.is_empty() { "" } else { ", " });
                keys.push_str(k.name);
                keys.push('=');
            }
        }
        crate::kprintln!(
            "  {:<12} keys: {}",
            "",
            if keys.is_empty() { "-" } else { &keys }
        );
    }
    crate::kprintln!("bootargs keys (a key the chosen run does not read is refused):");
    for k in KEYS {
        let runs = match k.runs {
            Readers::Every => alloc::string::String::from("every run"),
            Readers::Runs(r) => r.join(", "),
        };
        crate::kprintln!("  {:<12} [{runs}] {}", k.name, k.help);
    }
    exit::finish(true, exit::code::PASS)
}

/// The kernel's entry on every online CPU (`cpu` in `0..ncpus`, CPU 0 first or last, any
/// order). Never returns: CPU 0 ends the run, the others park.
pub fn main(cpu: usize, ncpus: usize, info: CpuInfo) -> ! {
    if cpu == 0 {
        let args = parsed_args().expect("run::setup must run before run::dispatch::main");
        let found = lookup(&args.run);
        if found.is_none() && args.run != "list" {
            let msg = alloc::format!("unknown run `{}` (known: {}, list)", args.run, known_runs());
            exit::usage_error("usage", &msg);
        }
        // A key the run does not read is refused, not silently ignored.
        if let Err(e) = crate::bootargs::check_run(args) {
            exit::usage_error("bootargs", &alloc::format!("{e}"));
        }
        let Some(idx) = found else { list_runs() };
        let seed = *SEED.call_once(|| args.seed.unwrap_or_else(|| crate::hal::hal().counter()));
        ALL_CPUS.set_participants(ncpus);
        SELECTED.store(idx, Ordering::Relaxed);
        let mut rec = Record::new("run_start")
            .str("run", registry::RUNS[idx].name)
            .u64("seed", seed);
        if !args.experiment.is_empty() {
            rec = rec.str("experiment", &args.experiment.join(","));
        }
        if !args.variant.is_empty() {
            rec = rec.str("variant", &args.variant.join(","));
        }
        rec.u64("cpus", ncpus as u64).emit();
        GO.store(true, Ordering::Release);
    } else {
        let mut p = deadline::Poller::new();
        while !GO.load(Ordering::Acquire) {
            p.poll();
            crate::smp::spin_hint();
        }
    }
    let desc = &registry::RUNS[SELECTED.load(Ordering::Relaxed)];
    let args = parsed_args().expect("run::setup must run before run::dispatch::main");
    let seed = *SEED.get().expect("seed chosen by cpu 0 before GO");
    let ctx = RunCtx {
        cpu,
        ncpus,
        args,
        seed,
        info,
        barrier: &ALL_CPUS,
    };
    let passed = (desc.entry)(&ctx);
    ALL_CPUS.wait();
    if cpu != 0 {
        exit::park();
    }
    let code = if passed {
        exit::code::PASS
    } else {
        exit::code::FAILED
    };
    crate::kprintln!(
        "gupbed: run {} {} in {} ms (exit {code})",
        desc.name,
        if passed { "PASSED" } else { "FAILED" },
        deadline::elapsed_ms()
    );
    exit::finish(passed, code)
}
