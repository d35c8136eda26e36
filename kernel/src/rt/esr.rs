//! Decoding `ESR_EL1` (exception syndrome) into words a human reads in a fault report.
//!
//! Pure (no registers): `boot`'s vectors pass the raw value. Encodings from the Arm ARM
//! (DDI 0487), D24.2.45 "ESR_EL1" and the ISS encodings for instruction and data aborts.

use core::fmt;

/// Exception class (`ESR_EL1.EC`, bits 31:26).
pub fn ec(esr: u64) -> u8 {
    ((esr >> 26) & 0x3f) as u8
}

/// Instruction-specific syndrome (`ESR_EL1.ISS`, bits 24:0).
pub fn iss(esr: u64) -> u32 {
    (esr & 0x1ff_ffff) as u32
}

/// Short name of an exception class.
pub fn ec_name(ec: u8) -> &'static str {
    match ec {
        0x00 => "unknown reason",
        0x01 => "trapped WFI/WFE",
        0x03 | 0x04 | 0x05 | 0x06 | 0x0c => "trapped AArch32 coprocessor access",
        0x07 => "trapped SVE/SIMD/FP access",
        0x0d => "branch target exception",
        0x0e => "illegal execution state",
        0x11 => "SVC (AArch32)",
        0x15 => "SVC (AArch64)",
        0x16 => "HVC (AArch64)",
        0x17 => "SMC (AArch64)",
        0x18 => "trapped MSR/MRS/system instruction",
        0x19 => "trapped SVE access",
        0x1c => "pointer authentication failure",
        0x20 => "instruction abort, lower EL",
        0x21 => "instruction abort, same EL",
        0x22 => "PC alignment fault",
        0x24 => "data abort, lower EL",
        0x25 => "data abort, same EL",
        0x26 => "SP alignment fault",
        0x28 | 0x2c => "floating-point exception",
        0x2f => "SError interrupt",
        0x30 => "breakpoint, lower EL",
        0x31 => "breakpoint, same EL",
        0x32 => "software step, lower EL",
        0x33 => "software step, same EL",
        0x34 => "watchpoint, lower EL",
        0x35 => "watchpoint, same EL",
        0x38 => "BKPT (AArch32)",
        0x3c => "BRK instruction (AArch64)",
        _ => "reserved/unrecognised exception class",
    }
}

/// Whether the class is an instruction or data abort (ISS holds a fault status code).
pub fn is_abort(ec: u8) -> bool {
    matches!(ec, 0x20 | 0x21 | 0x24 | 0x25)
}

/// A fault status code (`DFSC`/`IFSC`, ISS bits 5:0) in words.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FaultStatus {
    /// Address size fault at a level (-1..=3).
    AddressSize(i8),
    /// Translation fault at a level (-1..=3).
    Translation(i8),
    /// Access flag fault at a level (0..=3).
    AccessFlag(i8),
    /// Permission fault at a level (0..=3).
    Permission(i8),
    /// Synchronous external abort, not on a table walk.
    SyncExternal,
    /// Synchronous external abort on a table walk at a level (-1..=3).
    SyncExternalWalk(i8),
    /// Synchronous tag check fault (MTE).
    TagCheck,
    /// Parity/ECC error on a memory access.
    Parity,
    /// Alignment fault.
    Alignment,
    /// TLB conflict abort.
    TlbConflict,
    /// Unsupported atomic hardware update.
    UnsupportedAtomic,
    /// Anything else (raw code).
    Other(u8),
}

/// Decode a 6-bit fault status code.
pub fn fault_status(fsc: u8) -> FaultStatus {
    let lvl = (fsc & 3) as i8;
    match fsc & 0x3f {
        0x00..=0x03 => FaultStatus::AddressSize(lvl),
        0x04..=0x07 => FaultStatus::Translation(lvl),
        0x08..=0x0b => FaultStatus::AccessFlag(lvl),
        0x0c..=0x0f => FaultStatus::Permission(lvl),
        0x10 => FaultStatus::SyncExternal,
        0x11 => FaultStatus::TagCheck,
        0x13 => FaultStatus::SyncExternalWalk(-1),
        0x14..=0x17 => FaultStatus::SyncExternalWalk(lvl),
        0x18 => FaultStatus::Parity,
        0x21 => FaultStatus::Alignment,
        0x29 => FaultStatus::AddressSize(-1),
        0x2b => FaultStatus::Translation(-1),
        0x30 => FaultStatus::TlbConflict,
        0x31 => FaultStatus::UnsupportedAtomic,
        other => FaultStatus::Other(other),
    }
}

impl fmt::Display for FaultStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::AddressSize(l) => write!(f, "address size fault level {l}"),
            Self::Translation(l) => write!(f, "translation fault level {l}"),
            Self::AccessFlag(l) => write!(f, "access flag fault level {l}"),
            Self::Permission(l) => write!(f, "permission fault level {l}"),
            Self::SyncExternal => f.write_str("synchronous external abort"),
            Self::SyncExternalWalk(l) => {
                write!(f, "synchronous external abort on table walk level {l}")
            }
            Self::TagCheck => f.write_str("synchronous tag check fault"),
            Self::Parity => f.write_str("synchronous parity/ECC error"),
            Self::Alignment => f.write_str("alignment fault"),
            Self::TlbConflict => f.write_str("TLB conflict abort"),
            Self::UnsupportedAtomic => f.write_str("unsupported atomic hardware update"),
            Self::Other(c) => write!(f, "fault status {c:#04x}"),
        }
    }
}

/// The whole syndrome in words: `"data abort, same EL, translation fault level 0, read"`.
#[derive(Clone, Copy, Debug)]
pub struct Describe(pub u64);

impl fmt::Display for Describe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let esr = self.0;
        let ec = ec(esr);
        let iss = iss(esr);
        f.write_str(ec_name(ec))?;
        if is_abort(ec) {
            write!(f, ", {}", fault_status((iss & 0x3f) as u8))?;
            let data = matches!(ec, 0x24 | 0x25);
            if data {
                let cache_maintenance = iss & (1 << 8) != 0;
                if cache_maintenance {
                    f.write_str(", cache maintenance")?;
                } else {
                    f.write_str(if iss & (1 << 6) != 0 {
                        ", write"
                    } else {
                        ", read"
                    })?;
                }
            }
            if iss & (1 << 10) != 0 {
                f.write_str(", FAR not valid")?;
            }
        }
        match ec {
            0x15..=0x17 => write!(f, ", imm {:#x}", iss & 0xffff)?,
            0x3c => write!(f, ", comment {:#x}", iss & 0xffff)?,
            0x2f => write!(f, ", ISS {iss:#x}")?,
            _ => {}
        }
        Ok(())
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use alloc::format;

    fn esr(ec: u64, iss: u64) -> u64 {
        (ec << 26) | (1 << 25) | iss
    }

    #[test]
    fn data_abort_translation_fault_read_and_write() {
        // Level 0 translation fault on a load from the same EL (what selftest=fault makes).
        assert_eq!(
            format!("{}", Describe(esr(0x25, 0x04))),
            "data abort, same EL, translation fault level 0, read"
        );
        assert_eq!(
            format!("{}", Describe(esr(0x25, 0x47))),
            "data abort, same EL, translation fault level 3, write"
        );
        assert_eq!(
            format!("{}", Describe(esr(0x24, 0x0d))),
            "data abort, lower EL, permission fault level 1, read"
        );
    }

    #[test]
    fn instruction_aborts_have_no_direction() {
        assert_eq!(
            format!("{}", Describe(esr(0x21, 0x0b))),
            "instruction abort, same EL, access flag fault level 3"
        );
    }

    #[test]
    fn fault_status_codes() {
        assert_eq!(fault_status(0x21), FaultStatus::Alignment);
        assert_eq!(fault_status(0x10), FaultStatus::SyncExternal);
        assert_eq!(fault_status(0x15), FaultStatus::SyncExternalWalk(1));
        assert_eq!(fault_status(0x2b), FaultStatus::Translation(-1));
        assert_eq!(format!("{}", fault_status(0x3e)), "fault status 0x3e");
    }

    #[test]
    fn other_classes() {
        assert_eq!(ec(esr(0x3c, 0x1234)), 0x3c);
        assert_eq!(
            format!("{}", Describe(esr(0x3c, 0x1234))),
            "BRK instruction (AArch64), comment 0x1234"
        );
        assert_eq!(format!("{}", Describe(esr(0x00, 0))), "unknown reason");
        assert_eq!(format!("{}", Describe(esr(0x26, 0))), "SP alignment fault");
        assert_eq!(
            format!("{}", Describe(esr(0x25, 0x161))),
            "data abort, same EL, alignment fault, cache maintenance"
        );
        assert_eq!(ec_name(0x3f), "reserved/unrecognised exception class");
    }
}
