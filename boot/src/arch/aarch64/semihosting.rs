//! Semihosting `SYS_EXIT` (through the `qemu-exit` crate): the one exit that carries the exit
//! code to the host, under QEMU with `-semihosting` only.
//!
//! Without `-semihosting` (or on real hardware, where halting debug is off) the semihosting
//! trap `hlt #0xf000` is an undefined instruction. The exception vector asks
//! [`is_semihosting_trap`] first, so that the exit policy (`crate::exit`) can fall back to the
//! board's own way out instead of reporting a fault.

use qemu_exit::QEMUExit;

/// Encoding of `hlt #0xf000`, the AArch64 semihosting trap.
const HLT_F000: u32 = 0xd45e_0000;
/// `ESR_EL1.EC` of an undefined instruction.
const EC_UNKNOWN: u64 = 0;

/// Leave QEMU with `code` (returns only by trapping, see the module docs).
pub fn exit(code: u32) -> ! {
    qemu_exit::AArch64::new().exit(code)
}

/// Whether a synchronous exception with `esr` at `elr` is the semihosting trap failing.
pub fn is_semihosting_trap(elr: u64, esr: u64) -> bool {
    if (esr >> 26) & 0x3f != EC_UNKNOWN {
        return false;
    }
    // SAFETY: ELR_EL1 of a synchronous exception from the running kernel's own code is the
    // address of an instruction in the identity-mapped image, readable as a u32.
    let insn = unsafe { core::ptr::read_volatile(elr as *const u32) };
    insn == HLT_F000
}
