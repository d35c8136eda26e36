//! The identity map BOOT installs before turning the MMU on (Linux: `create_idmap` /
//! `__create_pgd_mapping` for the linear map, simplified: VA == PA).
//!
//! Runs single-CPU with the MMU off: every descriptor is written with one plain 64-bit store
//! ([`write_once`]) — no read-modify-write, no exclusives — and tables come from a
//! [`PgtableAlloc`] (normally [`super::BumpTableAlloc`]).
//!
//! BOOT, after building: write [`super::MAIR_VALUE`] to `MAIR_EL1` and
//! [`super::tcr_el1_from_mmfr0`] to `TCR_EL1`, the root to `TTBR0_EL1`, `dsb ish; isb`, then set
//! `SCTLR_EL1.{M,C,I}`. The tables were written with the MMU (and D-cache) off, i.e. to memory:
//! on real hardware invalidate their cache lines (`dc ivac`) before enabling, in case firmware
//! left stale lines; QEMU has no such lines.

use super::desc::*;
use super::error::MapError;
use super::pgalloc::PgtableAlloc;
use super::table::*;
use crate::sync::{read_once, write_once, AtomicU64};

/// Build an identity map (VA == PA) and return the physical address of its level-0 table.
///
/// - `ram`: `(start, end)` physical ranges, end exclusive, rounded **inwards** to 4 KiB (never
///   map non-RAM as Normal memory: the CPU may speculate into it). Mapped Normal write-back,
///   inner shareable, EL1 read/write, global, with 2 MiB blocks where a whole aligned 2 MiB
///   lies inside the range and 4 KiB pages at unaligned edges.
/// - `device`: `(start, end)` MMIO ranges, rounded **outwards** to 4 KiB, mapped
///   Device-nGnRE, execute-never, also with 2 MiB blocks where possible.
///
/// Overlapping ranges with identical attributes are fine; a range that would change an
/// existing mapping (e.g. RAM overlapping MMIO) fails with [`MapError::Conflict`]. Addresses
/// must be below 2^48 ([`MapError::OutOfRange`]).
pub fn build_identity_map(
    alloc: &dyn PgtableAlloc,
    ram: &[(u64, u64)],
    device: &[(u64, u64)],
) -> Result<u64, MapError> {
    let root = alloc.alloc_table().ok_or(MapError::NoMemory)?;
    for &(start, end) in ram {
        let (s, e) = (start.next_multiple_of(PAGE_SIZE), end & !(PAGE_SIZE - 1));
        idmap_range(alloc, root, s, e, PgProt::KERNEL)?;
    }
    for &(start, end) in device {
        let (s, e) = (start & !(PAGE_SIZE - 1), end.next_multiple_of(PAGE_SIZE));
        idmap_range(alloc, root, s, e, PgProt::KERNEL_DEVICE)?;
    }
    Ok(root)
}

/// Identity-map `[start, end)` (page aligned) under the level-0 table at `root`.
pub fn idmap_range(
    alloc: &dyn PgtableAlloc,
    root: u64,
    start: u64,
    end: u64,
    prot: PgProt,
) -> Result<(), MapError> {
    if start >= end {
        return Ok(());
    }
    if end > 1 << VA_BITS {
        return Err(MapError::OutOfRange { addr: end - 1 });
    }
    if !start.is_multiple_of(PAGE_SIZE) || !end.is_multiple_of(PAGE_SIZE) {
        return Err(MapError::Misaligned {
            addr: start | (end % PAGE_SIZE),
        });
    }
    let mut va = start;
    while va < end {
        let pmdp = early_pmd_alloc(alloc, root, va)?;
        let cur = read_once(pmdp);
        let block = mk_pmd_sect(va, prot).0;
        if va.is_multiple_of(PMD_SIZE) && end - va >= PMD_SIZE && (cur == 0 || cur == block) {
            write_once(pmdp, block);
            va += PMD_SIZE;
            continue;
        }
        if pmd_leaf(Pmd(cur)) {
            // Already inside a 2 MiB block: fine if that block maps this page identically.
            if cur != mk_pmd_sect(va, prot).0 {
                return Err(MapError::Conflict { va, existing: cur });
            }
            va += PAGE_SIZE;
            continue;
        }
        let ptep = early_table_alloc(alloc, pmdp, va)?.entry(pte_index(va));
        let pte = mk_pte(va, prot).0;
        let old = read_once(ptep);
        if old != 0 && old != pte {
            return Err(MapError::Conflict { va, existing: old });
        }
        write_once(ptep, pte);
        va += PAGE_SIZE;
    }
    Ok(())
}

/// The level-2 entry for `va`, allocating the level-1 and level-2 tables on the way.
fn early_pmd_alloc<'a>(
    alloc: &dyn PgtableAlloc,
    root: u64,
    va: u64,
) -> Result<&'a AtomicU64, MapError> {
    // SAFETY: `root` is a table from `alloc`, live for the whole early boot.
    let pgdp = unsafe { PageTable::from_pa(root) }.entry(pgd_index(va));
    let pud = early_table_alloc(alloc, pgdp, va)?;
    let pmd = early_table_alloc(alloc, pud.entry(pud_index(va)), va)?;
    Ok(pmd.entry(pmd_index(va)))
}

/// The table `parent` points to; allocates and links a zeroed one if `parent` is empty.
fn early_table_alloc<'a>(
    alloc: &dyn PgtableAlloc,
    parent: &AtomicU64,
    va: u64,
) -> Result<&'a PageTable, MapError> {
    let cur = read_once(parent);
    let pa = if cur == 0 {
        let pa = alloc.alloc_table().ok_or(MapError::NoMemory)?;
        write_once(parent, mk_table(pa));
        pa
    } else if cur & PTE_TYPE_MASK == PMD_TYPE_TABLE {
        cur & PTE_ADDR_MASK
    } else {
        return Err(MapError::Conflict { va, existing: cur });
    };
    // SAFETY: `pa` is a table allocated by `alloc` for this map (we only link such tables).
    Ok(unsafe { PageTable::from_pa(pa) })
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use crate::mm::pgtable::pgalloc::HeapTableAlloc;
    use crate::mm::pgtable::walk::walk_translate;

    const RAM_BASE: u64 = 0x4000_0000;

    /// Translate every page of `[s, e)` and check identity, level and attributes.
    fn check_range(root: u64, s: u64, e: u64, prot: PgProt, want_blocks: (u64, u64)) {
        let mut va = s;
        while va < e {
            // SAFETY: the tables live in the test's allocator, nothing frees them.
            let t = unsafe { walk_translate(root, va + 0x123) }.expect("mapped");
            assert_eq!(t.pa, va + 0x123, "identity at {va:#x}");
            let in_block = va >= want_blocks.0 && va < want_blocks.1;
            assert_eq!(t.level, if in_block { 2 } else { 3 }, "level at {va:#x}");
            let attrs = t.desc & !(PTE_ADDR_MASK | PTE_TYPE_MASK);
            assert_eq!(attrs, prot.0, "attributes at {va:#x}");
            assert_eq!(t.desc & PTE_NG, 0, "global");
            va += PAGE_SIZE;
        }
    }

    #[test]
    fn identity_map_round_trip() {
        let a = HeapTableAlloc::new();
        // RAM from 12 KiB above a 2 MiB boundary to 20 KiB - 1 byte past 8 MiB: pages at both
        // edges (the partial last page is not mapped), blocks for the three whole 2 MiB in
        // between. Two MMIO windows: a PL011-like single page (unaligned end rounded out) and a
        // GIC-like 128 KiB window.
        let ram = [(RAM_BASE + 0x3000, RAM_BASE + (8 << 20) + 0x5000 - 1)];
        let dev = [(0x0900_0000, 0x0900_0100), (0x0800_0000, 0x0802_0000)];
        let root = build_identity_map(&a, &ram, &dev).unwrap();

        check_range(
            root,
            RAM_BASE + 0x3000,
            RAM_BASE + (8 << 20) + 0x4000,
            PgProt::KERNEL,
            (RAM_BASE + (2 << 20), RAM_BASE + (8 << 20)),
        );
        check_range(
            root,
            0x0900_0000,
            0x0900_1000,
            PgProt::KERNEL_DEVICE,
            (0, 0),
        );
        check_range(
            root,
            0x0800_0000,
            0x0802_0000,
            PgProt::KERNEL_DEVICE,
            (0, 0),
        );
        for unmapped in [
            RAM_BASE + 0x2000,
            RAM_BASE + (8 << 20) + 0x4000,
            0x0900_1000,
            0x0802_0000,
            0x08ff_f000,
            0,
            1 << 40,
        ] {
            // SAFETY: as above.
            assert_eq!(
                unsafe { walk_translate(root, unmapped) },
                None,
                "{unmapped:#x}"
            );
        }
        // Tables: root, one L1, one L2 for 0x0800_0000..0x0a00_0000 (shared by both MMIO windows
        // and... no: 0x0800_0000 and 0x0900_0000 are in the same 1 GiB) = 1 L2 + 2 L3 for MMIO,
        // 1 L2 for RAM (1 GiB at 0x4000_0000) + 2 L3 for its edges.
        assert_eq!(a.nr_live(), 1 + 1 + 1 + 2 + 1 + 2);
    }

    #[test]
    fn block_descriptors_are_the_arm_arm_encoding() {
        let a = HeapTableAlloc::new();
        let root = build_identity_map(&a, &[], &[(0x4000_0000, 0x4020_0000)]).unwrap();
        // SAFETY: tables live in `a`.
        let t = unsafe { walk_translate(root, 0x4000_0000) }.unwrap();
        assert_eq!((t.level, t.desc), (2, 0x0060_0000_4000_0705));
        let root = build_identity_map(&a, &[(0x4000_0000, 0x4000_1000)], &[]).unwrap();
        // SAFETY: tables live in `a`.
        let t = unsafe { walk_translate(root, 0x4000_0000) }.unwrap();
        // Page: AttrIndx 0, SH 11, AF, UXN, type 0b11.
        assert_eq!((t.level, t.desc), (3, 0x0040_0000_4000_0703));
    }

    #[test]
    fn overlapping_ram_and_device_is_a_conflict_duplicates_are_not() {
        let a = HeapTableAlloc::new();
        let r = [(0x4000_0000, 0x4040_0000)];
        assert!(build_identity_map(&a, &[r[0], r[0]], &[]).is_ok());
        let e = build_identity_map(&a, &r, &[(0x4010_0000, 0x4010_1000)]).unwrap_err();
        assert!(
            matches!(
                e,
                MapError::Conflict {
                    va: 0x4010_0000,
                    ..
                }
            ),
            "{e:?}"
        );
        let e = build_identity_map(
            &a,
            &[(0x4000_0000, 0x4000_2000)],
            &[(0x4000_1000, 0x4000_1004)],
        );
        assert!(
            matches!(
                e,
                Err(MapError::Conflict {
                    va: 0x4000_1000,
                    ..
                })
            ),
            "{e:?}"
        );
        let e = build_identity_map(&a, &[(1 << 48, (1 << 48) + 0x1000)], &[]);
        assert!(matches!(e, Err(MapError::OutOfRange { .. })), "{e:?}");
    }

    #[test]
    fn running_out_of_tables_is_reported() {
        let a = HeapTableAlloc::with_limit(3);
        let e = build_identity_map(&a, &[(0x4000_1000, 0x4000_2000)], &[]);
        assert_eq!(e, Err(MapError::NoMemory), "needs root + L1 + L2 + L3");
    }

    /// The bump allocator over a raw buffer, as BOOT uses it, builds a QEMU-virt-like map.
    #[test]
    fn bump_allocator_builds_virt_like_map() {
        let backing: alloc::vec::Vec<PageTable> = (0..16).map(|_| PageTable::new()).collect();
        let base = backing.as_ptr() as u64;
        // SAFETY: `backing` outlives `bump` and the tables.
        let bump = unsafe { crate::mm::pgtable::BumpTableAlloc::new(base, base + 16 * PAGE_SIZE) };
        let root = build_identity_map(
            &bump,
            &[(0x4000_0000, 0x4800_0000)],
            &[(0x0800_0000, 0x0802_0000), (0x0900_0000, 0x0900_1000)],
        )
        .unwrap();
        assert_eq!(root, base);
        // SAFETY: tables live in `backing`.
        let t = unsafe { walk_translate(root, 0x47ff_fff8) }.unwrap();
        assert_eq!((t.pa, t.level), (0x47ff_fff8, 2));
        let (s, e) = bump.allocated_range();
        assert_eq!((s, (e - s) / PAGE_SIZE), (base, 1 + 1 + 1 + 2 + 1));
    }
}
