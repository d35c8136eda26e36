//! Barriers: `barrier()`, `smp_mb()`, `smp_wmb()`, `smp_rmb()`, `smp_mb__after_atomic()`.
//!
//! On the aarch64 target these are the exact instructions Linux's arm64 port uses
//! (`dmb ish`, `dmb ishst`, `dmb ishld`). Elsewhere they map to the nearest C11 fence, which is
//! at least as strong for the pairings the mm code relies on.

#[cfg(not(all(target_arch = "aarch64", not(loom))))]
use core::sync::atomic::Ordering;

#[cfg(all(not(loom), not(target_arch = "aarch64")))]
use core::sync::atomic::fence;
#[cfg(loom)]
use loom::sync::atomic::fence;

/// `barrier()`: compiler-only barrier.
#[inline(always)]
pub fn barrier() {
    core::sync::atomic::compiler_fence(core::sync::atomic::Ordering::SeqCst);
}

/// `smp_mb()`: full barrier (`dmb ish`).
#[inline(always)]
pub fn smp_mb() {
    #[cfg(all(target_arch = "aarch64", not(loom)))]
    // SAFETY: `dmb ish` only orders memory accesses; it reads and writes no Rust-visible
    // state. Omitting `nomem` makes it a compiler barrier as well.
    unsafe {
        core::arch::asm!("dmb ish", options(nostack, preserves_flags))
    };
    #[cfg(not(all(target_arch = "aarch64", not(loom))))]
    fence(Ordering::SeqCst);
}

/// `smp_wmb()`: store→store barrier (`dmb ishst`). On host/loom a Release fence, which pairs
/// with the reader's acquire (or [`super::read_once_dep`]).
#[inline(always)]
pub fn smp_wmb() {
    #[cfg(all(target_arch = "aarch64", not(loom)))]
    // SAFETY: as in `smp_mb`: a barrier instruction with no operands.
    unsafe {
        core::arch::asm!("dmb ishst", options(nostack, preserves_flags))
    };
    #[cfg(not(all(target_arch = "aarch64", not(loom))))]
    fence(Ordering::Release);
}

/// `smp_rmb()`: load→load barrier (`dmb ishld`; also orders loads before later stores).
#[inline(always)]
pub fn smp_rmb() {
    #[cfg(all(target_arch = "aarch64", not(loom)))]
    // SAFETY: as in `smp_mb`: a barrier instruction with no operands.
    unsafe {
        core::arch::asm!("dmb ishld", options(nostack, preserves_flags))
    };
    #[cfg(not(all(target_arch = "aarch64", not(loom))))]
    fence(Ordering::Acquire);
}

/// `smp_mb__after_atomic()`: arm64 defines it as `smp_mb()`.
#[inline(always)]
#[allow(non_snake_case)]
pub fn smp_mb__after_atomic() {
    smp_mb()
}

/// `smp_mb__before_atomic()`: arm64 defines it as `smp_mb()`.
#[inline(always)]
#[allow(non_snake_case)]
pub fn smp_mb__before_atomic() {
    smp_mb()
}
