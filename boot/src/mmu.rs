//! Turning the MMU on: register values and the enable sequence. The translation tables are
//! built by `kernel::mm::pgtable` (identity map); this module only programs `MAIR_EL1`,
//! `TCR_EL1`, `TTBR0_EL1` and `SCTLR_EL1`. Every CPU installs the same tables.

use aarch64_cpu::asm::barrier;
use aarch64_cpu::registers::{
    Readable, Writeable, ID_AA64MMFR0_EL1, MAIR_EL1, SCTLR_EL1, TCR_EL1, TTBR0_EL1,
};
use core::arch::asm;
use core::sync::atomic::{AtomicU64, Ordering};
use kernel::mm::pgtable;

const SCTLR_M: u64 = 1 << 0;
const SCTLR_A: u64 = 1 << 1;
const SCTLR_C: u64 = 1 << 2;
const SCTLR_SA: u64 = 1 << 3;
const SCTLR_I: u64 = 1 << 12;
const SCTLR_WXN: u64 = 1 << 19;

/// Root of the shared identity map, published by the boot CPU for the secondaries (which read
/// it with the MMU off: the boot CPU cleans it to the point of coherency).
static ROOT: AtomicU64 = AtomicU64::new(0);

/// `TCR_EL1` for this CPU (from its `ID_AA64MMFR0_EL1`).
pub fn tcr() -> u64 {
    pgtable::tcr_el1_from_mmfr0(ID_AA64MMFR0_EL1.get())
}

/// Clean the cache lines of `[start, end)` to the point of coherency (`dc cvac`).
pub fn clean_dcache_range(start: u64, end: u64) {
    let mut a = start & !63;
    while a < end {
        // SAFETY: cache maintenance by VA on identity-mapped memory the image owns; it moves
        // no data visible to Rust.
        unsafe { asm!("dc cvac, {}", in(reg) a, options(nostack, preserves_flags)) };
        a += 64;
    }
    barrier::dsb(barrier::SY);
}

/// Invalidate the cache lines of `[start, end)` (`dc ivac`): before the D-cache is on, for
/// memory written with the MMU off, so no stale line left by firmware can shadow it.
pub fn invalidate_dcache_range(start: u64, end: u64) {
    let mut a = start & !63;
    while a < end {
        // SAFETY: as in `clean_dcache_range`; only called before this CPU enables its D-cache
        // on memory whose up-to-date contents are in RAM (written with the MMU off).
        unsafe { asm!("dc ivac, {}", in(reg) a, options(nostack, preserves_flags)) };
        a += 64;
    }
    barrier::dsb(barrier::SY);
}

/// Publish the root table for the secondaries (boot CPU, MMU on).
pub fn publish_root(root: u64) {
    ROOT.store(root, Ordering::Release);
    let p = &ROOT as *const AtomicU64 as u64;
    clean_dcache_range(p, p + 8);
}

/// The published root (secondaries, MMU off: a plain load).
pub fn published_root() -> u64 {
    ROOT.load(Ordering::Relaxed)
}

/// Enable the MMU on this CPU with the identity map at `root`: `MAIR_EL1`, `TCR_EL1`,
/// `TTBR0_EL1` (ASID 0), invalidate this CPU's TLB, then `SCTLR_EL1.{M,C,I,SA}` (alignment
/// checks off, no WXN). Identity map: execution continues at the same addresses.
pub fn enable(root: u64) {
    MAIR_EL1.set(pgtable::MAIR_VALUE);
    TCR_EL1.set(tcr());
    TTBR0_EL1.set(pgtable::ttbr0_value(root, 0));
    barrier::isb(barrier::SY);
    // SAFETY: invalidates this CPU's EL1 TLB entries (none are in use: the MMU is off) and
    // waits for completion; no memory is touched.
    unsafe {
        asm!(
            "tlbi vmalle1",
            "dsb nsh",
            "isb",
            options(nostack, preserves_flags)
        )
    };
    let sctlr = (SCTLR_EL1.get() | SCTLR_M | SCTLR_C | SCTLR_I | SCTLR_SA) & !(SCTLR_A | SCTLR_WXN);
    barrier::dsb(barrier::SY);
    SCTLR_EL1.set(sctlr);
    barrier::isb(barrier::SY);
}
