//! Register dependencies the compiler cannot see through, spelled as herd's AArch64 litmus
//! tests spell them.
//!
//! An address dependency is `eor z, r, r` followed by a load at `base + z`; a control
//! dependency is a `cbnz r` to the very next instruction. The compiler would fold `r ^ r` to 0
//! and delete an empty branch, so on aarch64 both are inline assembly. On other hosts the
//! sync layer has no dependency ordering anyway ([`crate::sync::read_once_dep`] is an acquire
//! there), so the helpers only keep the code shape.

/// Zero, computed from `v`: an address `base + zero_dep(v)` carries an address dependency on the
/// load that produced `v`.
#[inline(always)]
pub fn zero_dep(v: u64) -> usize {
    #[cfg(all(target_arch = "aarch64", not(loom)))]
    {
        let z: u64;
        // SAFETY: register-only arithmetic (`eor`); touches no memory, stack or flags.
        unsafe {
            core::arch::asm!(
                "eor {z}, {v}, {v}",
                z = out(reg) z,
                v = in(reg) v,
                options(pure, nomem, nostack, preserves_flags)
            )
        };
        z as usize
    }
    #[cfg(not(all(target_arch = "aarch64", not(loom))))]
    {
        (v ^ core::hint::black_box(v)) as usize
    }
}

/// A control dependency on `v`: later stores in program order depend on the branch (`cbnz` to
/// the next instruction). Also a compiler barrier, so the compiler keeps later stores after it.
#[inline(always)]
pub fn ctrl_dep(v: u64) {
    #[cfg(all(target_arch = "aarch64", not(loom)))]
    // SAFETY: a conditional branch to the next instruction: no memory, stack or flags written.
    // Without `nomem` the compiler treats it as touching memory and keeps accesses in order.
    unsafe {
        core::arch::asm!("cbnz {v}, 3f", "3:", v = in(reg) v, options(nostack, preserves_flags))
    };
    #[cfg(not(all(target_arch = "aarch64", not(loom))))]
    {
        let _ = core::hint::black_box(v);
        crate::sync::barrier();
    }
}

/// Busy-wait `turns` loop iterations without touching memory (no stack spill, no `yield`).
#[inline(always)]
pub fn delay(turns: u64) {
    for i in 0..turns {
        // SAFETY: an empty asm statement that only "uses" a register; it keeps the loop from
        // being deleted and touches no memory, stack or flags.
        unsafe {
            core::arch::asm!("/* {0} */", in(reg) i, options(nomem, nostack, preserves_flags))
        };
    }
}
