//! PSCI through SMCCC (HVC or SMC, whichever the DTB's `/psci` node names): `CPU_ON` for
//! secondaries whose `enable-method` is "psci", `SYSTEM_OFF` / `SYSTEM_RESET` for the exit.

pub use crate::firmware::Conduit;
use core::sync::atomic::{AtomicU8, Ordering};
use smccc::psci;
use smccc::{Hvc, Smc};

const NONE: u8 = 0;
const HVC: u8 = 1;
const SMC: u8 = 2;
/// Conduit from the DTB (plain store: set before the MMU is on).
static CONDUIT: AtomicU8 = AtomicU8::new(NONE);

/// Record the conduit the DTB names (or `None`: no PSCI on this board).
pub fn set_conduit(c: Option<Conduit>) {
    let v = match c {
        None => NONE,
        Some(Conduit::Hvc) => HVC,
        Some(Conduit::Smc) => SMC,
    };
    CONDUIT.store(v, Ordering::Relaxed);
}

/// The conduit in use, if the board has PSCI.
pub fn conduit() -> Option<Conduit> {
    match CONDUIT.load(Ordering::Relaxed) {
        HVC => Some(Conduit::Hvc),
        SMC => Some(Conduit::Smc),
        _ => None,
    }
}

/// PSCI version (major, minor), if PSCI is present.
pub fn version() -> Option<(u16, u16)> {
    let v = match conduit()? {
        Conduit::Hvc => psci::version::<Hvc>(),
        Conduit::Smc => psci::version::<Smc>(),
    };
    v.ok().map(|v| (v.major, v.minor))
}

/// `CPU_ON(target_mpidr, entry, context_id)`.
pub fn cpu_on(target: u64, entry: u64, context: u64) -> Result<(), psci::error::Error> {
    match conduit() {
        Some(Conduit::Hvc) => psci::cpu_on::<Hvc>(target, entry, context),
        Some(Conduit::Smc) => psci::cpu_on::<Smc>(target, entry, context),
        None => Err(psci::error::Error::NotSupported),
    }
}

/// `SYSTEM_RESET`; returns only if there is no PSCI or the call failed.
pub fn system_reset() {
    let _ = match conduit() {
        Some(Conduit::Hvc) => psci::system_reset::<Hvc>(),
        Some(Conduit::Smc) => psci::system_reset::<Smc>(),
        None => Ok(()),
    };
}

/// `SYSTEM_OFF`; returns only if there is no PSCI or the call failed.
pub fn system_off() {
    let _ = match conduit() {
        Some(Conduit::Hvc) => psci::system_off::<Hvc>(),
        Some(Conduit::Smc) => psci::system_off::<Smc>(),
        None => Ok(()),
    };
}
