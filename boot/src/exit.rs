//! Leaving the machine: semihosting `SYS_EXIT` (passes the exit code to QEMU's exit status)
//! or PSCI `SYSTEM_OFF` (`exit=psci`, or when semihosting is not available: QEMU then exits 0
//! whatever the code, so the code is printed first).
//!
//! Without `-semihosting`, QEMU treats `hlt #0xf000` as an undefined instruction. The vector
//! calls [`maybe_semihosting_trap`] first, which recognises that trap and falls back to PSCI.
//! All state is plain loads and stores: this runs on the fault path and before the MMU is on.

use crate::psci;
use core::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use qemu_exit::QEMUExit;

static USE_PSCI: AtomicBool = AtomicBool::new(false);
static TRYING_SEMIHOSTING: AtomicBool = AtomicBool::new(false);
static CODE: AtomicU32 = AtomicU32::new(0);

/// Encoding of `hlt #0xf000`, the AArch64 semihosting trap.
const HLT_F000: u32 = 0xd45e_0000;
/// ESR_EL1.EC of an undefined instruction.
const EC_UNKNOWN: u64 = 0;

/// Leave with PSCI `SYSTEM_OFF` instead of semihosting (`exit=psci`).
pub fn use_psci(yes: bool) {
    USE_PSCI.store(yes, Ordering::Relaxed);
}

/// Stop the machine with `code`. Safe to call from any CPU, any time.
pub fn leave(code: u32) -> ! {
    CODE.store(code, Ordering::Relaxed);
    if USE_PSCI.load(Ordering::Relaxed) {
        psci_off(code);
    }
    TRYING_SEMIHOSTING.store(true, Ordering::Relaxed);
    qemu_exit::AArch64::new().exit(code)
}

fn psci_off(code: u32) -> ! {
    if code != 0 {
        crate::uart::write_bytes(
            b"gupbed: PSCI SYSTEM_OFF: the machine's exit status will not carry the exit code\n",
        );
    }
    psci::system_off();
    crate::uart::write_bytes(b"gupbed: no way to power off (no semihosting, no PSCI): halting\n");
    loop {
        aarch64_cpu::asm::wfe();
    }
}

/// Called first by the exception vector: if the exception is the semihosting `hlt` trapping
/// (QEMU without `-semihosting`), power off through PSCI instead of reporting a fault.
pub fn maybe_semihosting_trap(elr: u64, esr: u64) {
    if !TRYING_SEMIHOSTING.load(Ordering::Relaxed) || (esr >> 26) & 0x3f != EC_UNKNOWN {
        return;
    }
    // SAFETY: ELR_EL1 of a synchronous exception from the running kernel's own code is the
    // address of an instruction in the identity-mapped image, readable as a u32.
    let insn = unsafe { core::ptr::read_volatile(elr as *const u32) };
    if insn == HLT_F000 {
        crate::uart::write_bytes(
            b"gupbed: semihosting unavailable (QEMU without -semihosting): using PSCI SYSTEM_OFF\n",
        );
        let code = CODE.load(Ordering::Relaxed);
        let mut line = kernel::console::LineBuf::new();
        let _ = core::fmt::Write::write_fmt(&mut line, format_args!("gupbed: exit code {code}\n"));
        crate::uart::write_bytes(line.as_bytes());
        psci_off(code);
    }
}
