//! Secondary CPUs: started one at a time by the boot CPU, each the way its description says
//! (`enable-method`: PSCI `CPU_ON`, or a spin-table release), and their own path to the run.
//!
//! A secondary enters at `_secondary_entry` (PSCI, index in x0) or `_spin_table_entry`
//! (index in `GUPBED_SPIN_INDEX`), turns its MMU on in assembly with the boot CPU's tables and
//! register values, and only then runs Rust ([`boot_secondary_main`]): it sets up its GIC
//! interface, reports online and waits for the boot CPU's release.

use crate::arch::entry::{self, GUPBED_SPIN_INDEX};
use crate::arch::{cpu, mmu};
use crate::driver::{gicv2 as gic, psci, spin_table};
use crate::firmware::{Platform, Release};
use crate::hal_impl::HAL;
use core::sync::atomic::{AtomicBool, Ordering};
use kernel::smp::MAX_CPUS;

/// Set by each secondary once its MMU is on (so this is a cacheable, coherent store).
static ONLINE: [AtomicBool; MAX_CPUS] = [const { AtomicBool::new(false) }; MAX_CPUS];
/// Set by the boot CPU when every CPU may enter the run (the online count is final).
static RELEASE: AtomicBool = AtomicBool::new(false);

/// How long the boot CPU waits for one CPU to report online after starting it. Generous:
/// four vCPUs on a loaded 2-core host took from 57 ms to 33 s for small workloads (platform
/// notes); a CPU that is merely slow must not be reported missing.
const ONLINE_TIMEOUT_MS: u64 = 20_000;

/// Outcome of the bring-up.
pub struct Bringup {
    /// CPUs online, boot CPU included.
    pub online: usize,
    /// CPUs that were asked to start but did not come up (0 if all did).
    pub failures: usize,
    /// How the secondaries were started: "psci", "spin-table", "mixed", or "none".
    pub method: &'static str,
}

/// Start one CPU as index `idx`.
fn start(p: &Platform, mpidr: u64, release: Release, idx: usize) -> Result<(), &'static str> {
    match release {
        Release::Psci => {
            let entry = entry::_secondary_entry as *const () as u64;
            psci::cpu_on(mpidr, entry, idx as u64).map_err(|e| match e {
                smccc::psci::error::Error::AlreadyOn => "PSCI CPU_ON: already on",
                smccc::psci::error::Error::InvalidParameters => "PSCI CPU_ON: invalid parameters",
                smccc::psci::error::Error::NotSupported => "PSCI CPU_ON: not supported",
                _ => "PSCI CPU_ON failed",
            })
        }
        Release::SpinTable(slot) => {
            if !slot.is_multiple_of(8) || p.memory.around(slot).is_none() {
                return Err("cpu-release-addr is not an aligned address in RAM");
            }
            // The released CPU reads its index with the MMU off: clean it to memory first.
            GUPBED_SPIN_INDEX.store(idx as u64, Ordering::Relaxed);
            let at = &GUPBED_SPIN_INDEX as *const _ as u64;
            mmu::clean_dcache_range(at, at + 8);
            let entry = entry::_spin_table_entry as *const () as u64;
            // SAFETY: `slot` is this CPU's cpu-release-addr (from the firmware's description
            // or the board's facts), 8-byte aligned in RAM, and the CPU is still parked (each
            // CPU is released once). `_spin_table_entry` runs with the MMU off and reads only
            // GUPBED_SPIN_INDEX and GUPBED_MMU_REGS, both cleaned to the point of coherency.
            unsafe { spin_table::release(slot, entry) };
            Ok(())
        }
        Release::Unknown => Err("no enable-method this image knows"),
    }
}

/// Start CPUs `1..wanted`, one at a time, waiting for each to report online. The boot CPU's
/// own node is skipped. Stops at the first CPU that fails (a spin-table release cannot be
/// taken back, so a late CPU must keep the index it was given), so the online CPUs are
/// exactly `0..online`.
pub fn bring_up(p: &Platform, wanted: usize) -> Bringup {
    let me = cpu::affinity();
    let mut online = 1;
    let mut failures = 0;
    let mut method: Option<&'static str> = None;
    for c in p
        .cpus()
        .iter()
        .filter(|c| c.mpidr & cpu::MPIDR_AFF_MASK != me)
    {
        if online >= wanted {
            break;
        }
        let idx = online;
        method = Some(match method {
            Some(m) if m != c.release.name() => "mixed",
            _ => c.release.name(),
        });
        if let Err(e) = start(p, c.mpidr, c.release, idx) {
            kernel::kprintln!(
                "gupbed: cpu {idx} (mpidr {:#x}, {}) not started: {e}",
                c.mpidr,
                c.release.name()
            );
            failures += 1;
            break;
        }
        let h = kernel::hal::hal();
        let until = h.counter() + ONLINE_TIMEOUT_MS * h.counter_hz() / 1000;
        let mut poll = kernel::rt::deadline::Poller::new();
        while !ONLINE[idx].load(Ordering::Acquire) {
            if poll.poll() && h.counter() > until {
                break;
            }
            core::hint::spin_loop();
        }
        if !ONLINE[idx].load(Ordering::Acquire) {
            kernel::kprintln!(
                "gupbed: cpu {idx} (mpidr {:#x}, {}) did not come online within {ONLINE_TIMEOUT_MS} ms",
                c.mpidr,
                c.release.name()
            );
            failures += 1;
            break;
        }
        online += 1;
    }
    Bringup {
        online,
        failures,
        method: method.unwrap_or("none"),
    }
}

/// Let the online secondaries enter the run (after `HAL` knows the final CPU count).
pub fn release() {
    RELEASE.store(true, Ordering::Release);
}

/// Rust entry of a secondary CPU (from `entry.rs`: MMU and caches on, stack, TPIDR_EL1 and
/// VBAR set). `entry_el`: the exception level it was started at.
#[no_mangle]
extern "C" fn boot_secondary_main(idx: u64, entry_el: u64) -> ! {
    let idx = idx as usize;
    if idx == 0 || idx >= MAX_CPUS {
        // Not an index the boot CPU hands out: stay out of everything.
        kernel::rt::exit::park();
    }
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
