//! PSCI through SMCCC (HVC or SMC, whichever the DTB's `/psci` node names) and the secondary
//! CPU bring-up built on `CPU_ON`.

use core::sync::atomic::{AtomicU8, Ordering};
use smccc::psci;
use smccc::{Hvc, Smc};

/// How PSCI calls are made.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Conduit {
    /// `hvc #0` (QEMU virt at EL1).
    Hvc,
    /// `smc #0` (QEMU virt with `virtualization=on`, firmware at EL3).
    Smc,
}

impl Conduit {
    /// The DTB spelling.
    pub fn name(self) -> &'static str {
        match self {
            Conduit::Hvc => "hvc",
            Conduit::Smc => "smc",
        }
    }
}

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

/// `SYSTEM_OFF`; returns only if there is no PSCI or the call failed.
pub fn system_off() {
    let _ = match conduit() {
        Some(Conduit::Hvc) => psci::system_off::<Hvc>(),
        Some(Conduit::Smc) => psci::system_off::<Smc>(),
        None => Ok(()),
    };
}
