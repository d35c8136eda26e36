//! Turning the MMU on, and the cache maintenance around it. The translation tables are built
//! by `kernel::mm::pgtable` (identity map); this module computes `MAIR_EL1`, `TCR_EL1`,
//! `TTBR0_EL1` and `SCTLR_EL1`, publishes them for the secondaries (which load them in
//! assembly, MMU off: see `entry.rs`) and turns the boot CPU's MMU on with the same routine.

use super::entry::{gupbed_mmu_on, GUPBED_MMU_REGS};
use aarch64_cpu::asm::barrier;
use aarch64_cpu::registers::{Readable, ID_AA64MMFR0_EL1, SCTLR_EL1};
use core::arch::asm;
use core::sync::atomic::Ordering;
use kernel::mm::pgtable;

const SCTLR_M: u64 = 1 << 0;
const SCTLR_A: u64 = 1 << 1;
const SCTLR_C: u64 = 1 << 2;
const SCTLR_SA: u64 = 1 << 3;
const SCTLR_I: u64 = 1 << 12;
const SCTLR_WXN: u64 = 1 << 19;

/// Cache line size used for maintenance by VA: the smallest D-cache line of any Armv8-A
/// core gupbed runs on (Cortex-A72 and QEMU: 64 bytes). Walking in 64-byte steps is correct
/// for any line size of at least 64.
const LINE: u64 = 64;

fn by_line(start: u64, end: u64, op: fn(u64)) {
    let mut a = start & !(LINE - 1);
    while a < end {
        op(a);
        a += LINE;
    }
    barrier::dsb(barrier::SY);
}

/// Clean `[start, end)` to the point of coherency (`dc cvac`).
pub fn clean_dcache_range(start: u64, end: u64) {
    by_line(start, end, |a| {
        // SAFETY: cache maintenance by VA on identity-mapped memory the image owns; it moves
        // no data visible to Rust.
        unsafe { asm!("dc cvac, {}", in(reg) a, options(nostack, preserves_flags)) };
    });
}

/// Clean and invalidate `[start, end)` to the point of coherency (`dc civac`): for memory
/// another CPU reads with its MMU (and so its caches) off, e.g. a spin-table slot.
pub fn clean_inval_dcache_range(start: u64, end: u64) {
    by_line(start, end, |a| {
        // SAFETY: as in `clean_dcache_range`.
        unsafe { asm!("dc civac, {}", in(reg) a, options(nostack, preserves_flags)) };
    });
}

/// Invalidate `[start, end)` (`dc ivac`): before the D-cache is on, for memory written with
/// the MMU off, so that no stale line left by firmware can shadow it.
pub fn invalidate_dcache_range(start: u64, end: u64) {
    by_line(start, end, |a| {
        // SAFETY: only called before this CPU enables its D-cache, on memory whose up-to-date
        // contents are in RAM (written with the MMU off): discarding lines loses nothing.
        unsafe { asm!("dc ivac, {}", in(reg) a, options(nostack, preserves_flags)) };
    });
}

/// `TCR_EL1` for this CPU (from its `ID_AA64MMFR0_EL1`).
pub fn tcr() -> u64 {
    pgtable::tcr_el1_from_mmfr0(ID_AA64MMFR0_EL1.get())
}

/// `SCTLR_EL1` with the MMU and caches on: `M`, `C`, `I`, `SA`; alignment checks and WXN off.
fn sctlr_on() -> u64 {
    (SCTLR_EL1.get() | SCTLR_M | SCTLR_C | SCTLR_I | SCTLR_SA) & !(SCTLR_A | SCTLR_WXN)
}

/// Boot CPU, MMU off: record the register values for the identity map at `root`, then turn
/// this CPU's MMU on with them. The values stay for [`publish_for_secondaries`].
pub fn enable_boot_cpu(root: u64) {
    let regs = [
        pgtable::MAIR_VALUE,
        tcr(),
        pgtable::ttbr0_value(root, 0),
        sctlr_on(),
    ];
    for (slot, v) in GUPBED_MMU_REGS.iter().zip(regs) {
        // A plain store (no exclusives with the MMU off).
        slot.store(v, Ordering::Relaxed);
    }
    // SAFETY: the tables at `root` identity-map the image (code, data, stack) and the devices
    // in use, so execution continues at the same addresses; the values were stored above.
    unsafe { gupbed_mmu_on(GUPBED_MMU_REGS.as_ptr()) };
}

/// Boot CPU, MMU on: make the register values visible to CPUs whose MMU is still off.
pub fn publish_for_secondaries() {
    let p = GUPBED_MMU_REGS.as_ptr() as u64;
    clean_dcache_range(p, p + core::mem::size_of_val(&GUPBED_MMU_REGS) as u64);
}
