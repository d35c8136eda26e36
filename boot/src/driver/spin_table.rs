//! The spin-table CPU release (Linux `arch/arm64/kernel/smp_spin_table.c`; the Raspberry Pi
//! firmware's armstub and QEMU's raspi boot stub implement the waiting side).
//!
//! A parked CPU loops on `wfe`, re-reading its 64-bit slot (the CPU node's
//! `cpu-release-addr`; on the Pi 4 0xd8, 0xe0, 0xe8, 0xf0 for cores 0-3) with its MMU and
//! caches off, and branches to the address it finds there once it is non-zero (at EL2 on the
//! Pi, x0 = 0). Releasing one: store the entry point, clean and invalidate the slot's cache
//! line to the point of coherency (the waiting CPU reads memory, not our cache), `dsb`, `sev`.
//! A released CPU cannot be stopped or retracted.

use crate::arch::mmu;

/// Release the CPU waiting on `slot` to physical address `entry`.
///
/// # Safety
/// `slot` must be the `cpu-release-addr` of a CPU still parked in firmware, identity-mapped
/// (RAM: Normal memory), 8-byte aligned; `entry` must be code that CPU can run with its MMU
/// off, and everything that code reads before its MMU is on must already be cleaned to the
/// point of coherency.
pub unsafe fn release(slot: u64, entry: u64) {
    // SAFETY: per the contract, `slot` is an aligned, mapped firmware mailbox nobody else
    // writes (the parked CPU only reads it).
    unsafe { core::ptr::write_volatile(slot as *mut u64, entry) };
    // dc civac + dsb sy: the store reaches memory before the wake-up.
    mmu::clean_inval_dcache_range(slot, slot + 8);
    aarch64_cpu::asm::sev();
}
