//! Secondary CPUs: PSCI `CPU_ON` from the boot CPU, and the secondary's own path to the run.

use crate::{cpu, entry, gic, hal_impl::HAL, mmu, psci};
use core::sync::atomic::{AtomicBool, Ordering};
use kernel::smp::MAX_CPUS;

/// Set by each secondary once its MMU is on (so this is a cacheable, coherent store).
static ONLINE: [AtomicBool; MAX_CPUS] = [const { AtomicBool::new(false) }; MAX_CPUS];
/// Set by the boot CPU when every CPU may enter the run (the online count is final).
static RELEASE: AtomicBool = AtomicBool::new(false);

/// How long the boot CPU waits for one CPU to report online after PSCI accepted CPU_ON.
/// Generous: four vCPUs on a loaded 2-core host took from 57 ms to 33 s for small workloads
/// (platform notes); a CPU that is merely slow must not be reported missing.
const ONLINE_TIMEOUT_MS: u64 = 20_000;

/// Outcome of the bring-up.
pub struct Bringup {
    /// CPUs online, boot CPU included.
    pub online: usize,
    /// CPUs that were asked to start but did not come up (0 if all did).
    pub failures: usize,
}

/// Start CPUs `1..wanted` with PSCI `CPU_ON`, one at a time, each at `_secondary_entry` with
/// its index as context id, waiting for each to report online. `mpidrs` are the DTB's CPU
/// affinities; the boot CPU's own is skipped. Stops at the first CPU that fails, so the online
/// CPUs are exactly `0..online`.
pub fn bring_up(mpidrs: &[u64], wanted: usize) -> Bringup {
    let me = cpu::affinity();
    let entry = entry::_secondary_entry as *const () as u64;
    let mut online = 1;
    let mut failures = 0;
    for &target in mpidrs.iter().filter(|&&m| m & cpu::MPIDR_AFF_MASK != me) {
        if online >= wanted {
            break;
        }
        let idx = online;
        if let Err(e) = psci::cpu_on(target, entry, idx as u64) {
            kernel::kprintln!("gupbed: PSCI CPU_ON(mpidr {target:#x}) as cpu {idx} failed: {e:?}");
            failures += 1;
            break;
        }
        let h = kernel::hal::hal();
        let until = h.counter() + ONLINE_TIMEOUT_MS * h.counter_hz() / 1000;
        let mut p = kernel::rt::deadline::Poller::new();
        while !ONLINE[idx].load(Ordering::Acquire) {
            if p.poll() && h.counter() > until {
                break;
            }
            core::hint::spin_loop();
        }
        if !ONLINE[idx].load(Ordering::Acquire) {
            kernel::kprintln!(
                "gupbed: cpu {idx} (mpidr {target:#x}) did not come online within {ONLINE_TIMEOUT_MS} ms"
            );
            failures += 1;
            break;
        }
        online += 1;
    }
    Bringup { online, failures }
}

/// Let the online secondaries enter the run (after `HAL` knows the final CPU count).
pub fn release() {
    RELEASE.store(true, Ordering::Release);
}

/// Rust entry of a secondary CPU (from `_secondary_entry`; stack, TPIDR_EL1 and VBAR set).
/// `entry_el`: the exception level PSCI started it at.
#[no_mangle]
extern "C" fn boot_secondary_main(idx: u64, entry_el: u64) -> ! {
    let idx = idx as usize;
    // MMU off here: only plain loads/stores until `enable` returns.
    mmu::enable(mmu::published_root());
    // This CPU's GIC interface (IRQs stay masked).
    gic::init_cpu(idx);
    ONLINE[idx].store(true, Ordering::Release);
    let mut p = kernel::rt::deadline::Poller::new();
    while !RELEASE.load(Ordering::Acquire) {
        p.poll();
        core::hint::spin_loop();
    }
    let ncpus = kernel::hal::Hal::nr_cpus(&HAL);
    if idx >= ncpus {
        // Came up after the boot CPU gave up on it: stay out of the run.
        kernel::rt::exit::park();
    }
    kernel::run::dispatch::main(idx, ncpus, cpu::info(entry_el))
}
