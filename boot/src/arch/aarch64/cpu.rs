//! This CPU's identity and state, from its own system registers.

use aarch64_cpu::registers::{CurrentEL, Readable, MIDR_EL1, MPIDR_EL1, SCTLR_EL1, TPIDR_EL1};
use kernel::run::CpuInfo;

/// `MPIDR_EL1` affinity fields (Aff3, Aff2, Aff1, Aff0): what PSCI and the DTB call a CPU.
pub const MPIDR_AFF_MASK: u64 = 0xff_00ff_ffff;

/// This CPU's index (`TPIDR_EL1`, set by the entry code).
#[inline]
pub fn index() -> usize {
    TPIDR_EL1.get() as usize
}

/// This CPU's affinity (`MPIDR_EL1` & [`MPIDR_AFF_MASK`]).
pub fn affinity() -> u64 {
    MPIDR_EL1.get() & MPIDR_AFF_MASK
}

/// Current exception level.
pub fn el() -> u8 {
    ((CurrentEL.get() >> 2) & 3) as u8
}

const SCTLR_M: u64 = 1 << 0;
const SCTLR_C: u64 = 1 << 2;
const SCTLR_I: u64 = 1 << 12;

/// Whether this CPU's stage-1 MMU is on (`SCTLR_EL1.M`).
pub fn mmu_on() -> bool {
    SCTLR_EL1.get() & SCTLR_M != 0
}

/// Identity and MMU/cache state of the calling CPU, which the loader / PSCI entered at
/// `entry_el`.
pub fn info(entry_el: u64) -> CpuInfo {
    let sctlr = SCTLR_EL1.get();
    CpuInfo {
        mpidr: MPIDR_EL1.get(),
        el: el(),
        entry_el: entry_el as u8,
        mmu: sctlr & SCTLR_M != 0,
        dcache: sctlr & SCTLR_C != 0,
        icache: sctlr & SCTLR_I != 0,
    }
}

/// `MIDR_EL1` decoded: (implementer, part number, human model name).
pub fn model() -> (u8, u16, &'static str) {
    let midr = MIDR_EL1.get();
    let implementer = ((midr >> 24) & 0xff) as u8;
    let part = ((midr >> 4) & 0xfff) as u16;
    let name = match (implementer, part) {
        (0x41, 0xd03) => "cortex-a53",
        (0x41, 0xd07) => "cortex-a57",
        (0x41, 0xd08) => "cortex-a72",
        (0x41, 0xd0b) => "cortex-a76",
        (0x41, 0xd0c) => "neoverse-n1",
        (0x41, 0xd40) => "neoverse-v1",
        (0x41, 0xd49) => "neoverse-n2",
        // QEMU `-cpu max` reports implementer 0 ("reserved for software use"), part 0x51.
        (0x00, 0x051) => "qemu-max",
        (0x41, _) => "arm-unknown-part",
        _ => "unknown",
    };
    (implementer, part, name)
}
