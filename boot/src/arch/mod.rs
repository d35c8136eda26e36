//! The architecture part of boot: entry, exception levels, vectors, the MMU switch, cache
//! maintenance and the architectural ways out (semihosting). Only AArch64 exists; a second
//! architecture would be selected here.

mod aarch64;

pub use aarch64::*;
