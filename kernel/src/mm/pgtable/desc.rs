//! VMSAv8-64 descriptor encoding (4 KiB granule, 48-bit output addresses), Linux arm64 names
//! (`arch/arm64/include/asm/pgtable-hwdef.h`, `pgtable-prot.h`, `pgtable.h`).
//!
//! Bit positions (Arm ARM D8.3, "Translation table descriptor formats"):
//! - `[0]` valid; `[1]` type: 1 = table (levels 0–2) or page (level 3), 0 = block (levels 1–2);
//! - lower attributes of block/page: `[4:2]` AttrIndx (MAIR_EL1 slot), `[5]` NS,
//!   `[7:6]` AP[2:1] (AP[1] = EL0 access, AP[2] = read-only), `[9:8]` SH, `[10]` AF, `[11]` nG;
//! - output address `[47:12]` (page / next table), `[47:21]` (2 MiB block), `[47:30]` (1 GiB);
//! - upper attributes: `[51]` DBM, `[52]` Contiguous, `[53]` PXN, `[54]` UXN;
//!   `[58:55]` are ignored by hardware and reserved for software (Linux: 55 dirty, 56 special,
//!   57 devmap, 58 prot-none);
//! - table descriptors: `[59]` PXNTable, `[60]` UXNTable, `[62:61]` APTable, `[63]` NSTable.
//!
//! Values are kept as `u64` newtypes per level ([`Pgd`], [`Pud`], [`Pmd`], [`Pte`]) like Linux's
//! `pgd_t` … `pte_t`; the predicates are free functions named as in Linux.

/// Descriptor is valid (hardware bit 0).
pub const PTE_VALID: u64 = 1 << 0;
/// Bit 1: table descriptor at levels 0–2, page descriptor at level 3.
pub const PTE_TABLE_BIT: u64 = 1 << 1;
/// Level-3 page descriptor type (`valid | bit1`).
pub const PTE_TYPE_PAGE: u64 = PTE_VALID | PTE_TABLE_BIT;
/// Level 0–2 table descriptor type (`valid | bit1`).
pub const PMD_TYPE_TABLE: u64 = PTE_VALID | PTE_TABLE_BIT;
/// Level 1–2 block ("section") descriptor type (`valid`, bit1 clear).
pub const PMD_TYPE_SECT: u64 = PTE_VALID;
/// Mask of the two type bits.
pub const PTE_TYPE_MASK: u64 = 0b11;

/// AttrIndx field shift (bits `[4:2]`).
pub const PTE_ATTRINDX_SHIFT: u32 = 2;
/// AttrIndx field mask.
pub const PTE_ATTRINDX_MASK: u64 = 0b111 << PTE_ATTRINDX_SHIFT;
/// Non-secure (bit 5); unused at non-secure EL1.
pub const PTE_NS: u64 = 1 << 5;
/// AP[1] (bit 6): accessible from EL0 (Linux `PTE_USER`).
pub const PTE_USER: u64 = 1 << 6;
/// AP[2] (bit 7): read-only (Linux `PTE_RDONLY`).
pub const PTE_RDONLY: u64 = 1 << 7;
/// SH field (bits `[9:8]`) = 0b11: inner shareable (Linux `PTE_SHARED`).
pub const PTE_SHARED: u64 = 0b11 << 8;
/// SH field mask.
pub const PTE_SH_MASK: u64 = 0b11 << 8;
/// Access flag (bit 10). Without it the first access faults (no hardware AF update here).
pub const PTE_AF: u64 = 1 << 10;
/// Not global (bit 11): the TLB entry is tagged with the ASID.
pub const PTE_NG: u64 = 1 << 11;
/// Dirty bit modifier (bit 51); Linux uses it as `PTE_WRITE`. Not used by gupbed.
pub const PTE_DBM: u64 = 1 << 51;
/// Contiguous hint (bit 52). Not used by gupbed.
pub const PTE_CONT: u64 = 1 << 52;
/// Privileged execute-never (bit 53).
pub const PTE_PXN: u64 = 1 << 53;
/// Unprivileged execute-never (bit 54).
pub const PTE_UXN: u64 = 1 << 54;
/// Software bit 55 (Linux `PTE_DIRTY`).
pub const PTE_DIRTY: u64 = 1 << 55;
/// Software bit 56 (Linux `PTE_SPECIAL`): no `struct page` behind it; GUP-fast bails.
pub const PTE_SPECIAL: u64 = 1 << 56;
/// Software bit 57 (Linux `PTE_DEVMAP`).
pub const PTE_DEVMAP: u64 = 1 << 57;

/// Output address bits `[47:12]` of a page or table descriptor.
pub const PTE_ADDR_MASK: u64 = ((1 << 48) - 1) & !((1 << 12) - 1);
/// Output address bits `[47:21]` of a level-2 block descriptor.
pub const PMD_SECT_ADDR_MASK: u64 = ((1 << 48) - 1) & !((1 << 21) - 1);
/// Output address bits `[47:30]` of a level-1 block descriptor.
pub const PUD_SECT_ADDR_MASK: u64 = ((1 << 48) - 1) & !((1 << 30) - 1);

/// MAIR_EL1 slot of Normal memory, write-back read/write-allocate (attribute 0xff).
pub const MT_NORMAL: u64 = 0;
/// MAIR_EL1 slot of Device-nGnRE memory (attribute 0x04).
pub const MT_DEVICE_NGNRE: u64 = 1;
/// MAIR_EL1 slot of Normal non-cacheable memory (attribute 0x44).
pub const MT_NORMAL_NC: u64 = 2;
/// Memory attribute encodings per slot (Arm ARM D19 MAIR_EL1.Attr<n>).
pub const MAIR_ATTR_NORMAL: u64 = 0xff;
/// Device-nGnRE.
pub const MAIR_ATTR_DEVICE_NGNRE: u64 = 0x04;
/// Normal, inner and outer non-cacheable.
pub const MAIR_ATTR_NORMAL_NC: u64 = 0x44;
/// The value BOOT writes to `MAIR_EL1` so that the AttrIndx values above mean what they say.
pub const MAIR_VALUE: u64 = (MAIR_ATTR_NORMAL << (8 * MT_NORMAL))
    | (MAIR_ATTR_DEVICE_NGNRE << (8 * MT_DEVICE_NGNRE))
    | (MAIR_ATTR_NORMAL_NC << (8 * MT_NORMAL_NC));

/// `PTE_ATTRINDX(mt)`: AttrIndx field for MAIR slot `mt`.
pub const fn pte_attrindx(mt: u64) -> u64 {
    (mt << PTE_ATTRINDX_SHIFT) & PTE_ATTRINDX_MASK
}

/// Leaf attributes (everything but the type bits and the output address), like Linux's
/// `pgprot_t`. The same bits serve page and block descriptors.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PgProt(pub u64);

impl PgProt {
    /// Kernel RAM: Normal WB, inner shareable, AF, EL1 RW, global, never executable from EL0.
    /// (EL1 execution stays allowed: the identity map also maps the kernel image.)
    pub const KERNEL: PgProt = PgProt(pte_attrindx(MT_NORMAL) | PTE_SHARED | PTE_AF | PTE_UXN);
    /// MMIO: Device-nGnRE, AF, EL1 RW, global, execute-never at both levels (Linux
    /// `PROT_DEVICE_nGnRE`; SH is ignored for Device memory but Linux sets it too).
    pub const KERNEL_DEVICE: PgProt =
        PgProt(pte_attrindx(MT_DEVICE_NGNRE) | PTE_SHARED | PTE_AF | PTE_PXN | PTE_UXN);
    /// User data read/write (Linux `PAGE_SHARED` minus DBM): Normal WB, inner shareable, AF,
    /// EL0+EL1 RW (requires PSTATE.PAN = 0 for EL1 access), nG, execute-never.
    pub const USER_RW: PgProt = PgProt(
        pte_attrindx(MT_NORMAL) | PTE_SHARED | PTE_AF | PTE_USER | PTE_NG | PTE_PXN | PTE_UXN,
    );
    /// User data read-only (Linux `PAGE_READONLY`).
    pub const USER_RO: PgProt = PgProt(Self::USER_RW.0 | PTE_RDONLY);

    /// The same protection with the software "special" bit (no `struct page` behind it).
    pub const fn mkspecial(self) -> PgProt {
        PgProt(self.0 | PTE_SPECIAL)
    }
}

macro_rules! level_type {
    ($(#[$m:meta])* $t:ident, $val:ident) => {
        $(#[$m])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
        #[repr(transparent)]
        pub struct $t(pub u64);
        /// The raw descriptor value.
        #[inline(always)]
        pub const fn $val(d: $t) -> u64 {
            d.0
        }
    };
}
level_type!(
    /// A level-0 descriptor value (`pgd_t`): table or invalid.
    Pgd, pgd_val
);
level_type!(
    /// A level-1 descriptor value (`pud_t`): table, 1 GiB block or invalid.
    Pud, pud_val
);
level_type!(
    /// A level-2 descriptor value (`pmd_t`): table, 2 MiB block or invalid.
    Pmd, pmd_val
);
level_type!(
    /// A level-3 descriptor value (`pte_t`): page or invalid.
    Pte, pte_val
);

/// Descriptor of a next-level table at physical address `pa` (Linux `__pmd_populate` &c.).
#[inline(always)]
pub const fn mk_table(pa: u64) -> u64 {
    (pa & PTE_ADDR_MASK) | PMD_TYPE_TABLE
}

/// `pfn_pte(pfn, prot)` for a physical address: a level-3 page descriptor.
#[inline(always)]
pub const fn mk_pte(pa: u64, prot: PgProt) -> Pte {
    Pte((pa & PTE_ADDR_MASK) | prot.0 | PTE_TYPE_PAGE)
}

/// A level-2 (2 MiB) block descriptor (`pfn_pmd(pfn, mk_pmd_sect_prot(prot))`).
#[inline(always)]
pub const fn mk_pmd_sect(pa: u64, prot: PgProt) -> Pmd {
    Pmd((pa & PMD_SECT_ADDR_MASK) | prot.0 | PMD_TYPE_SECT)
}

// ---- level 0 ------------------------------------------------------------------------------

/// `pgd_none`: no entry.
#[inline(always)]
pub const fn pgd_none(pgd: Pgd) -> bool {
    pgd.0 == 0
}
/// `pgd_present`: a valid descriptor (a level-0 descriptor can only be a table).
#[inline(always)]
pub const fn pgd_present(pgd: Pgd) -> bool {
    pgd.0 & PTE_VALID != 0
}
/// `pgd_bad`: valid but not a table descriptor (level-0 blocks do not exist with 4 KiB pages).
#[inline(always)]
pub const fn pgd_bad(pgd: Pgd) -> bool {
    pgd.0 & PTE_TYPE_MASK != PMD_TYPE_TABLE
}
/// Physical address of the level-1 table a level-0 table descriptor points to.
#[inline(always)]
pub const fn pgd_page_paddr(pgd: Pgd) -> u64 {
    pgd.0 & PTE_ADDR_MASK
}

// ---- level 1 ------------------------------------------------------------------------------

/// `pud_none`.
#[inline(always)]
pub const fn pud_none(pud: Pud) -> bool {
    pud.0 == 0
}
/// `pud_present`.
#[inline(always)]
pub const fn pud_present(pud: Pud) -> bool {
    pud.0 & PTE_VALID != 0
}
/// `pud_leaf` / `pud_sect`: a valid 1 GiB block.
#[inline(always)]
pub const fn pud_leaf(pud: Pud) -> bool {
    pud.0 & PTE_TYPE_MASK == PMD_TYPE_SECT
}
/// `pud_table`: a valid table descriptor.
#[inline(always)]
pub const fn pud_table(pud: Pud) -> bool {
    pud.0 & PTE_TYPE_MASK == PMD_TYPE_TABLE
}
/// Physical address of the level-2 table (`pud_page_paddr`).
#[inline(always)]
pub const fn pud_page_paddr(pud: Pud) -> u64 {
    pud.0 & PTE_ADDR_MASK
}

// ---- level 2 ------------------------------------------------------------------------------

/// `pmd_none`.
#[inline(always)]
pub const fn pmd_none(pmd: Pmd) -> bool {
    pmd.0 == 0
}
/// `pmd_present`.
#[inline(always)]
pub const fn pmd_present(pmd: Pmd) -> bool {
    pmd.0 & PTE_VALID != 0
}
/// `pmd_leaf` / `pmd_sect`: a valid 2 MiB block.
#[inline(always)]
pub const fn pmd_leaf(pmd: Pmd) -> bool {
    pmd.0 & PTE_TYPE_MASK == PMD_TYPE_SECT
}
/// `pmd_trans_huge`: on arm64 any valid block that is not a table (no separate THP bit).
#[inline(always)]
pub const fn pmd_trans_huge(pmd: Pmd) -> bool {
    pmd_leaf(pmd)
}
/// `pmd_table`: a valid table descriptor.
#[inline(always)]
pub const fn pmd_table(pmd: Pmd) -> bool {
    pmd.0 & PTE_TYPE_MASK == PMD_TYPE_TABLE
}
/// Physical address of the level-3 table (`pmd_page_paddr`).
#[inline(always)]
pub const fn pmd_page_paddr(pmd: Pmd) -> u64 {
    pmd.0 & PTE_ADDR_MASK
}
/// `pmd_pfn` of a block: page frame number of its first 4 KiB frame.
#[inline(always)]
pub const fn pmd_pfn(pmd: Pmd) -> u64 {
    (pmd.0 & PMD_SECT_ADDR_MASK) >> 12
}
/// `pmd_write` of a block: hardware-writable (AP[2] clear).
#[inline(always)]
pub const fn pmd_write(pmd: Pmd) -> bool {
    pmd.0 & PTE_RDONLY == 0
}
/// `pmd_special`.
#[inline(always)]
pub const fn pmd_special(pmd: Pmd) -> bool {
    pmd.0 & PTE_SPECIAL != 0
}
/// `pmd_devmap`.
#[inline(always)]
pub const fn pmd_devmap(pmd: Pmd) -> bool {
    pmd.0 & PTE_DEVMAP != 0
}
/// `pmd_access_permitted(pmd, write)`: valid user block, writable if asked.
#[inline(always)]
pub const fn pmd_access_permitted(pmd: Pmd, write: bool) -> bool {
    pmd.0 & (PTE_VALID | PTE_USER) == (PTE_VALID | PTE_USER) && (!write || pmd_write(pmd))
}

// ---- level 3 ------------------------------------------------------------------------------

/// `pte_none`.
#[inline(always)]
pub const fn pte_none(pte: Pte) -> bool {
    pte.0 == 0
}
/// `pte_present`: valid page descriptor. (gupbed has no PROT_NONE/NUMA ptes.)
#[inline(always)]
pub const fn pte_present(pte: Pte) -> bool {
    pte.0 & PTE_TYPE_MASK == PTE_TYPE_PAGE
}
/// `pte_pfn`.
#[inline(always)]
pub const fn pte_pfn(pte: Pte) -> u64 {
    (pte.0 & PTE_ADDR_MASK) >> 12
}
/// Physical address the page descriptor maps.
#[inline(always)]
pub const fn pte_paddr(pte: Pte) -> u64 {
    pte.0 & PTE_ADDR_MASK
}
/// `pte_write`: hardware-writable (AP[2] clear). Linux arm64 tracks this in `PTE_WRITE`
/// (= DBM); gupbed has no hardware dirty management, so AP[2] is the truth.
#[inline(always)]
pub const fn pte_write(pte: Pte) -> bool {
    pte.0 & PTE_RDONLY == 0
}
/// `pte_user`: accessible from EL0.
#[inline(always)]
pub const fn pte_user(pte: Pte) -> bool {
    pte.0 & PTE_USER != 0
}
/// `pte_special`: software bit 56.
#[inline(always)]
pub const fn pte_special(pte: Pte) -> bool {
    pte.0 & PTE_SPECIAL != 0
}
/// `pte_devmap`: software bit 57.
#[inline(always)]
pub const fn pte_devmap(pte: Pte) -> bool {
    pte.0 & PTE_DEVMAP != 0
}
/// `pte_young`: access flag set.
#[inline(always)]
pub const fn pte_young(pte: Pte) -> bool {
    pte.0 & PTE_AF != 0
}
/// `pte_ng`: not global.
#[inline(always)]
pub const fn pte_ng(pte: Pte) -> bool {
    pte.0 & PTE_NG != 0
}
/// `pte_access_permitted(pte, write)` (arm64): valid, user, and writable if asked.
#[inline(always)]
pub const fn pte_access_permitted(pte: Pte, write: bool) -> bool {
    pte.0 & (PTE_VALID | PTE_USER) == (PTE_VALID | PTE_USER) && (!write || pte_write(pte))
}

/// AttrIndx (MAIR slot) of a block or page descriptor.
#[inline(always)]
pub const fn desc_attrindx(d: u64) -> u64 {
    (d & PTE_ATTRINDX_MASK) >> PTE_ATTRINDX_SHIFT
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    /// A device block as the Arm ARM lays it out, written by hand: OA 0x4000_0000, UXN (54),
    /// PXN (53), AF (10), SH = 0b11 (9:8), AttrIndx = 1 (4:2), block type (bits 1:0 = 0b01).
    #[test]
    fn known_block_descriptor_decodes() {
        let d = Pmd(0x0060_0000_4000_0705);
        assert!(pmd_present(d) && pmd_leaf(d) && !pmd_table(d));
        assert_eq!(pmd_pfn(d), 0x4000_0000 >> 12);
        assert_eq!(desc_attrindx(d.0), 1);
        assert_eq!(d.0 & PTE_SH_MASK, 0x300);
        assert_ne!(d.0 & PTE_AF, 0);
        assert_eq!(d.0 & (PTE_PXN | PTE_UXN), (1 << 53) | (1 << 54));
        assert_eq!(d.0 & PTE_NG, 0);
        assert!(pmd_write(d), "AP[2] (bit 7) is clear");
        assert!(
            !pmd_access_permitted(d, false),
            "AP[1] (bit 6) is clear: no EL0 access"
        );
        // And the encoder produces exactly that value for device memory.
        assert_eq!(mk_pmd_sect(0x4000_0000, PgProt::KERNEL_DEVICE), d);
    }

    /// A user page descriptor written out bit by bit: OA 0x8_1234_5000, nG (11), AF (10),
    /// SH inner (9:8), AP = 0b01 (EL0 RW; bits 7:6 = 0b01), AttrIndx 0, page type 0b11,
    /// software bit 56, UXN+PXN.
    #[test]
    fn known_page_descriptor_decodes() {
        let raw = (1u64 << 54) | (1 << 53) | (1 << 56) | 0x8_1234_5000 | 0xf43;
        let pte = Pte(raw);
        assert!(pte_present(pte));
        assert_eq!(pte_pfn(pte), 0x0081_2345);
        assert!(pte_write(pte) && pte_user(pte) && pte_ng(pte) && pte_young(pte));
        assert!(pte_special(pte) && !pte_devmap(pte));
        assert!(pte_access_permitted(pte, true));
        assert_eq!(desc_attrindx(raw), 0);
        assert_eq!(mk_pte(0x8_1234_5000, PgProt::USER_RW.mkspecial()), pte);
        let ro = Pte(raw | (1 << 7));
        assert!(
            !pte_write(ro) && pte_access_permitted(ro, false) && !pte_access_permitted(ro, true)
        );
    }

    #[test]
    fn table_descriptor_and_types() {
        let t = Pmd(0x4123_4003);
        assert!(pmd_table(t) && !pmd_leaf(t) && pmd_present(t));
        assert_eq!(pmd_page_paddr(t), 0x4123_4000);
        assert_eq!(mk_table(0x4123_4000), t.0);
        // Bit 1 set at level 3 is a page, at level 2 a table; bit 1 clear at level 3 with bit 0
        // set is reserved (invalid): not present.
        assert!(!pte_present(Pte(0x4123_4001)));
        assert!(pgd_bad(Pgd(0x4123_4001)) && !pgd_bad(Pgd(0x4123_4003)));
        assert!(pud_leaf(Pud(0x4000_0401)) && pud_table(Pud(0x4000_0403)));
    }

    /// MAIR_EL1: Attr0 = 0xff (Normal WB RA WA), Attr1 = 0x04 (Device-nGnRE), Attr2 = 0x44
    /// (Normal non-cacheable), one byte per slot, slot 0 lowest.
    #[test]
    fn mair_layout() {
        assert_eq!(MAIR_VALUE, 0x0044_04ff);
        assert_eq!(desc_attrindx(PgProt::KERNEL.0), 0);
        assert_eq!(desc_attrindx(PgProt::KERNEL_DEVICE.0), 1);
    }
}
