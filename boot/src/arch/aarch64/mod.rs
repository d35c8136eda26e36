//! AArch64 (Armv8-A, EL2 or EL1 entry, 4 KiB granule).

pub mod cpu;
pub mod entry;
pub mod exceptions;
pub mod mmu;
pub mod semihosting;
