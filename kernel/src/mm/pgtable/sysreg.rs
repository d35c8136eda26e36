//! Values BOOT writes to the translation-control registers for this page-table format.
//! BOOT owns the register writes; this module only computes the values.
//!
//! `TCR_EL1` field positions (Arm ARM D19, TCR_EL1): `T0SZ[5:0]`, `EPD0[7]`, `IRGN0[9:8]`,
//! `ORGN0[11:10]`, `SH0[13:12]`, `TG0[15:14]`, `T1SZ[21:16]`, `A1[22]`, `EPD1[23]`,
//! `IRGN1[25:24]`, `ORGN1[27:26]`, `SH1[29:28]`, `TG1[31:30]`, `IPS[34:32]`, `AS[36]`.

pub use super::desc::MAIR_VALUE;

/// T0SZ = 64 - 48: TTBR0 translates a 48-bit VA range with a level-0 start.
pub const TCR_T0SZ_48: u64 = 16;
/// Inner write-back read-allocate write-allocate cacheable table walks for TTBR0.
pub const TCR_IRGN0_WBWA: u64 = 0b01 << 8;
/// Outer write-back read-allocate write-allocate cacheable table walks for TTBR0.
pub const TCR_ORGN0_WBWA: u64 = 0b01 << 10;
/// Inner shareable table walks for TTBR0.
pub const TCR_SH0_INNER: u64 = 0b11 << 12;
/// 4 KiB granule for TTBR0 (encoding 0b00).
pub const TCR_TG0_4K: u64 = 0b00 << 14;
/// T1SZ = 16 (kept valid although TTBR1 walks are disabled).
pub const TCR_T1SZ_48: u64 = 16 << 16;
/// EPD1: no walks through TTBR1 (gupbed uses only TTBR0; ASIDs come from TTBR0 as A1 = 0).
pub const TCR_EPD1: u64 = 1 << 23;
/// 4 KiB granule for TTBR1 (encoding 0b10; 0b00 would be reserved for TG1).
pub const TCR_TG1_4K: u64 = 0b10 << 30;
/// Shift of the intermediate physical address size field.
pub const TCR_IPS_SHIFT: u32 = 32;
/// AS: 16-bit ASIDs.
pub const TCR_AS: u64 = 1 << 36;

/// Every field except IPS and AS, which depend on the CPU.
pub const TCR_EL1_BASE: u64 = TCR_T0SZ_48
    | TCR_IRGN0_WBWA
    | TCR_ORGN0_WBWA
    | TCR_SH0_INNER
    | TCR_TG0_4K
    | TCR_T1SZ_48
    | TCR_EPD1
    | TCR_TG1_4K;

/// `TCR_EL1` for this CPU, from its `ID_AA64MMFR0_EL1`: IPS = PARange (`[3:0]`, capped at
/// 48 bits = 0b101 since descriptors carry 48-bit addresses), AS = 1 if ASIDBits (`[7:4]`) is
/// 0b0010 (16-bit ASIDs; `hal().switch_ttbr0` takes a `u16`). Cortex-A72 reports PARange 44
/// bits (0b100) and 16-bit ASIDs.
pub const fn tcr_el1_from_mmfr0(mmfr0: u64) -> u64 {
    let parange = mmfr0 & 0xf;
    let ips = if parange > 0b101 { 0b101 } else { parange };
    let asid16 = (mmfr0 >> 4) & 0xf == 0b0010;
    TCR_EL1_BASE | (ips << TCR_IPS_SHIFT) | if asid16 { TCR_AS } else { 0 }
}

/// `TTBR0_EL1` value: table base and ASID in `[63:48]`.
pub const fn ttbr0_value(root: u64, asid: u16) -> u64 {
    root | ((asid as u64) << 48)
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn tcr_matches_hand_encoding() {
        // Hand-assembled: T0SZ 16 (0x10), IRGN0 01 (0x100), ORGN0 01 (0x400), SH0 11 (0x3000),
        // TG0 00, T1SZ 16 (0x10_0000), EPD1 (0x80_0000), TG1 10 (0x8000_0000),
        // IPS 0b100 for PARange 44 (0x4_0000_0000), AS (0x10_0000_0000).
        let a72_mmfr0 = 0x0000_0000_0000_1124; // PARange 0b0100, ASIDBits 0b0010
        assert_eq!(tcr_el1_from_mmfr0(a72_mmfr0), 0x0000_0014_8090_3510);
        // 52-bit PARange is capped at 48 bits; 8-bit ASIDs leave AS clear.
        assert_eq!(tcr_el1_from_mmfr0(0x6), 0x0000_0005_8090_3510);
        assert_eq!(ttbr0_value(0x4008_0000, 0x1234), 0x1234_0000_4008_0000);
    }
}
