//! The hardware walker's view of an address, for comparison with what GUP-fast accepted.
//!
//! Readers run with the experiment's address space installed in TTBR0 (it shares the kernel's
//! identity map), and after each accepted page ask the MMU to translate the user address
//! (`AT S1E1R`): a stage-1 walk by the hardware, racing the writer's table updates exactly as
//! the software walk did, but without an access — so an unmapped address reports a fault in
//! `PAR_EL1` instead of taking an exception.

/// What the hardware walk said about a user address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HwWalk {
    /// Translated to this physical page address.
    Mapped(u64),
    /// Translation fault (not mapped, or a freed table in the way).
    Fault,
    /// No MMU here (host).
    Unavailable,
}

/// `AT S1E1R, va` and read `PAR_EL1`.
#[cfg(all(target_arch = "aarch64", target_os = "none"))]
pub fn hw_translate(va: u64) -> HwWalk {
    let par: u64;
    // SAFETY: an address-translation instruction and a system-register read: no memory access,
    // no exception for an unmapped address (the fault is reported in PAR_EL1.F).
    unsafe {
        core::arch::asm!(
            "at s1e1r, {va}",
            "isb",
            "mrs {par}, par_el1",
            va = in(reg) va,
            par = out(reg) par,
            options(nostack, preserves_flags)
        )
    };
    if par & 1 != 0 {
        HwWalk::Fault
    } else {
        HwWalk::Mapped(par & 0x0000_ffff_ffff_f000)
    }
}

/// No MMU on the host.
#[cfg(not(all(target_arch = "aarch64", target_os = "none")))]
pub fn hw_translate(_va: u64) -> HwWalk {
    HwWalk::Unavailable
}
