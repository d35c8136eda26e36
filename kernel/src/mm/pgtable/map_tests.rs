//! Host tests of address spaces, map/unmap, break-before-make, split and table freeing.

use super::*;
use crate::sync::{read_once, write_once, AtomicU64, Strength};
use alloc::vec::Vec;

const RAM: (u64, u64) = (0x4000_0000, 0x4800_0000);
const U: u64 = USER_VA_BASE;

/// Records every TLB invalidation with the raw descriptor found at that moment in the leaf
/// slot of `va` (`None` if no table leads there), so tests can check break-before-make.
/// One invalidation: kind ("page" / "mm"), ASID, VA, leaf-slot value at that moment.
type Flush = (&'static str, u16, u64, Option<u64>);

struct RecTlb {
    root: AtomicU64,
    log: spin::Mutex<Vec<Flush>>,
}

impl RecTlb {
    fn new() -> Self {
        RecTlb {
            root: AtomicU64::new(0),
            log: spin::Mutex::new(Vec::new()),
        }
    }
    fn take(&self) -> Vec<Flush> {
        core::mem::take(&mut *self.log.lock())
    }
}

/// The raw leaf-slot value for `va`: the pte slot if a PTE table exists, else the pmd slot.
fn raw_leaf(root: u64, va: u64) -> Option<u64> {
    // SAFETY: test tables live in a HeapTableAlloc that keeps even freed tables allocated.
    unsafe {
        let pgdp = pgd_offset_pgd(root, va);
        let pgd = pgdp_get(pgdp);
        if !pgd_present(pgd) {
            return None;
        }
        let pudp = pud_offset_lockless(pgdp, pgd, va);
        let pud = pudp_get(pudp);
        if !pud_table(pud) {
            return None;
        }
        let pmd = pmdp_get_lockless(pmd_offset_lockless(pudp, pud, va));
        if pmd_table(pmd) {
            Some(ptep_get(pte_offset_map(pmd, va)).0)
        } else {
            Some(pmd.0)
        }
    }
}

impl TlbFlush for RecTlb {
    fn flush_tlb_page(&self, asid: u16, va: u64) {
        let leaf = raw_leaf(read_once(&self.root), va);
        self.log.lock().push(("page", asid, va, leaf));
    }
    fn flush_tlb_mm(&self, asid: u16) {
        self.log.lock().push(("mm", asid, 0, None));
    }
}

/// A kernel identity map and the number of tables it took.
fn kernel_map(a: &HeapTableAlloc) -> (u64, usize) {
    let root = build_identity_map(a, &[RAM], &[(0x0900_0000, 0x0900_1000)]).unwrap();
    (root, a.nr_live())
}

fn translate(mm: &MmStruct<'_>, va: u64) -> Option<Translation> {
    // SAFETY: test tables are never returned to the heap while the allocator lives.
    unsafe { walk_translate(mm.pgd, va) }
}

#[test]
fn user_space_shares_the_kernel_map_and_uses_slot_1() {
    let a = HeapTableAlloc::new();
    let (kroot, _) = kernel_map(&a);
    let rcu = TableRcu::new(&a, 1);
    let mm = MmStruct::new(kroot, 5, &rcu, TableFreePolicy::Deferred).unwrap();
    assert_ne!(mm.pgd, kroot);
    let t = translate(&mm, 0x4123_4567).unwrap();
    assert_eq!((t.pa, t.level), (0x4123_4567, 2));
    map_page(
        &mm,
        U + 0x5000,
        0x4000_7000,
        PgProt::USER_RW,
        Strength::AcqRel,
    )
    .unwrap();
    // SAFETY: the kernel root is live.
    assert_eq!(
        unsafe { walk_translate(kroot, U + 0x5000) },
        None,
        "kernel map untouched"
    );
    assert_eq!(pgd_index(U), 1);
    assert_eq!(
        map_page(
            &mm,
            0x4000_0000,
            0x4000_0000,
            PgProt::USER_RW,
            Strength::Relaxed
        ),
        Err(MapError::OutOfRange { addr: 0x4000_0000 })
    );
    assert!(map_page(
        &mm,
        USER_VA_END,
        0x4000_0000,
        PgProt::USER_RW,
        Strength::Relaxed
    )
    .is_err());
}

#[test]
fn map_and_unmap_4k() {
    let a = HeapTableAlloc::new();
    let (kroot, ktables) = kernel_map(&a);
    let rcu = TableRcu::new(&a, 1);
    let tlb = RecTlb::new();
    let mm = MmStruct::new(kroot, 7, &rcu, TableFreePolicy::Deferred)
        .unwrap()
        .with_tlb(&tlb);
    write_once(&tlb.root, mm.pgd);
    let va = U + 0x1234_5000;
    map_page(&mm, va, 0x4000_9000, PgProt::USER_RW, Strength::AcqRel).unwrap();
    assert_eq!(a.nr_live(), ktables + 1 + 3, "root + L1, L2, L3");
    let t = translate(&mm, va + 0x10).unwrap();
    assert_eq!((t.pa, t.level), (0x4000_9010, 3));
    let pte = Pte(t.desc);
    assert!(pte_present(pte) && pte_ng(pte) && pte_young(pte) && pte_user(pte));
    assert!(pte_access_permitted(pte, true) && !pte_special(pte));
    assert_eq!(pte_pfn(pte), 0x4000_9000 >> 12);
    assert_eq!(desc_attrindx(pte.0), MT_NORMAL);
    assert_eq!(pte.0 & PTE_SH_MASK, PTE_SHARED);
    assert!(matches!(
        map_page(&mm, va, 0x4000_a000, PgProt::USER_RW, Strength::AcqRel),
        Err(MapError::Conflict { .. })
    ));
    assert_eq!(
        translate(&mm, va).unwrap().pa,
        0x4000_9000,
        "conflict left it alone"
    );
    // A neighbour reuses the tables.
    map_page(
        &mm,
        va + PAGE_SIZE,
        0x4000_a000,
        PgProt::USER_RO,
        Strength::Relaxed,
    )
    .unwrap();
    assert_eq!(a.nr_live(), ktables + 4);
    assert!(!pte_write(Pte(translate(&mm, va + PAGE_SIZE)
        .unwrap()
        .desc)));

    assert_eq!(tlb.take(), []);
    assert_eq!(unmap_page(&mm, va), Some(pte));
    // The TLB was invalidated after the entry was cleared, with the mm's ASID.
    assert_eq!(tlb.take(), [("page", 7, va, Some(0))]);
    assert_eq!(translate(&mm, va), None);
    assert_eq!(unmap_page(&mm, va), None);
    assert_eq!(unmap_page(&mm, U + (5 << 30)), None, "no tables there");
    assert_eq!(
        translate(&mm, va + PAGE_SIZE).unwrap().pa,
        0x4000_a000,
        "neighbour stays"
    );
}

#[test]
fn map_unmap_2m_block_and_conflicts() {
    let a = HeapTableAlloc::new();
    let (kroot, _) = kernel_map(&a);
    let rcu = TableRcu::new(&a, 1);
    let tlb = RecTlb::new();
    let mm = MmStruct::new(kroot, 9, &rcu, TableFreePolicy::Deferred)
        .unwrap()
        .with_tlb(&tlb);
    write_once(&tlb.root, mm.pgd);
    let va = U + (3 << PMD_SHIFT);
    assert_eq!(
        map_block_2m(
            &mm,
            va + PAGE_SIZE,
            0x4020_0000,
            PgProt::USER_RW,
            Strength::AcqRel
        ),
        Err(MapError::Misaligned {
            addr: va + PAGE_SIZE
        })
    );
    assert!(map_block_2m(&mm, va, 0x4020_1000, PgProt::USER_RW, Strength::AcqRel).is_err());
    map_block_2m(&mm, va, 0x4020_0000, PgProt::USER_RW, Strength::AcqRel).unwrap();
    let t = translate(&mm, va + 0x1f_fff8).unwrap();
    assert_eq!((t.pa, t.level), (0x403f_fff8, 2));
    let pmd = Pmd(t.desc);
    assert!(pmd_trans_huge(pmd) && pmd_access_permitted(pmd, true));
    assert_eq!(pmd_pfn(pmd), 0x4020_0000 >> 12);
    assert!(pmd.0 & PTE_NG != 0);
    assert!(matches!(
        map_page(
            &mm,
            va + PAGE_SIZE,
            0x4000_0000,
            PgProt::USER_RW,
            Strength::AcqRel
        ),
        Err(MapError::Conflict { .. })
    ));
    assert_eq!(unmap_page(&mm, va), None, "a block is not a pte");
    assert_eq!(unmap_block(&mm, va + 0x3000), Some(pmd));
    assert_eq!(tlb.take(), [("page", 9, va, Some(0))]);
    assert_eq!(translate(&mm, va), None);
    assert_eq!(unmap_block(&mm, va), None);
}

#[test]
fn pte_mapped_thp_maps_512_consecutive_frames() {
    let a = HeapTableAlloc::new();
    let (kroot, _) = kernel_map(&a);
    let rcu = TableRcu::new(&a, 1);
    let mm = MmStruct::new(kroot, 1, &rcu, TableFreePolicy::Deferred).unwrap();
    let va = U + (7 << PMD_SHIFT);
    set_ptes(
        &mm,
        va,
        0x4040_0000,
        HPAGE_PMD_NR,
        PgProt::USER_RW,
        Strength::AcqRel,
    )
    .unwrap();
    for i in 0..HPAGE_PMD_NR as u64 {
        let t = translate(&mm, va + i * PAGE_SIZE).unwrap();
        assert_eq!((t.pa, t.level), (0x4040_0000 + i * PAGE_SIZE, 3));
    }
    assert_eq!(translate(&mm, va + PMD_SIZE), None);
}

#[test]
fn split_huge_pmd_keeps_every_translation_and_breaks_before_make() {
    let a = HeapTableAlloc::new();
    let (kroot, _) = kernel_map(&a);
    let rcu = TableRcu::new(&a, 1);
    let tlb = RecTlb::new();
    let mm = MmStruct::new(kroot, 3, &rcu, TableFreePolicy::Deferred)
        .unwrap()
        .with_tlb(&tlb);
    write_once(&tlb.root, mm.pgd);
    let va = U + (1 << PUD_SHIFT);
    map_block_2m(&mm, va, 0x4060_0000, PgProt::USER_RO, Strength::AcqRel).unwrap();
    split_huge_pmd(&mm, va + 0x5000, Strength::AcqRel).unwrap();
    assert_eq!(
        tlb.take(),
        [("page", 3, va, Some(0))],
        "block invalid while flushed"
    );
    for i in 0..HPAGE_PMD_NR as u64 {
        let t = translate(&mm, va + i * PAGE_SIZE).unwrap();
        assert_eq!((t.pa, t.level), (0x4060_0000 + i * PAGE_SIZE, 3));
        assert_eq!(
            Pte(t.desc),
            mk_pte(0x4060_0000 + i * PAGE_SIZE, PgProt::USER_RO)
        );
    }
    assert_eq!(
        split_huge_pmd(&mm, va, Strength::AcqRel),
        Err(MapError::NotMapped { va })
    );
}

#[test]
fn set_pte_bbm_invalidates_before_writing_the_new_entry() {
    let a = HeapTableAlloc::new();
    let (kroot, _) = kernel_map(&a);
    let rcu = TableRcu::new(&a, 1);
    let tlb = RecTlb::new();
    let mm = MmStruct::new(kroot, 4, &rcu, TableFreePolicy::Deferred)
        .unwrap()
        .with_tlb(&tlb);
    write_once(&tlb.root, mm.pgd);
    let va = U + 0x8000;
    assert_eq!(
        set_pte_bbm(
            &mm,
            va,
            mk_pte(0x4000_1000, PgProt::USER_RW),
            Strength::AcqRel
        ),
        Err(MapError::NotMapped { va })
    );
    map_page(&mm, va, 0x4000_1000, PgProt::USER_RW, Strength::AcqRel).unwrap();
    let new = mk_pte(0x4000_2000, PgProt::USER_RO);
    let old = set_pte_bbm(&mm, va, new, Strength::AcqRel).unwrap();
    assert_eq!(old, mk_pte(0x4000_1000, PgProt::USER_RW));
    assert_eq!(
        tlb.take(),
        [("page", 4, va, Some(0))],
        "invalid at TLBI time"
    );
    assert_eq!(translate(&mm, va).unwrap().desc, new.0);
    // Replacing an invalid entry needs no TLBI.
    unmap_page(&mm, va).unwrap();
    tlb.take();
    assert_eq!(set_pte_bbm(&mm, va, new, Strength::Relaxed), Ok(Pte(0)));
    assert_eq!(tlb.take(), []);
}

/// GUP-fast's steps on one PTE, split where a concurrent table free can land: the walker has
/// read the pmd and derived the PTE table from it; the table is then unlinked and freed; the
/// walker reads the PTE. Under Immediate (V10) it reads poison; under Deferred it reads the
/// old PTE, and its pmd recheck fails, so it bails cleanly.
fn walker_vs_free_pte_table(policy: TableFreePolicy) -> (Pte, bool) {
    let a = HeapTableAlloc::new();
    let (kroot, _) = kernel_map(&a);
    let rcu = TableRcu::new(&a, 2);
    let mm = MmStruct::new(kroot, 2, &rcu, policy).unwrap();
    let va = U + 0x20_0000;
    map_page(&mm, va, 0x4000_3000, PgProt::USER_RW, Strength::AcqRel).unwrap();

    // CPU 1, interrupts "masked": walk down to the pmd.
    let pgdp = pgd_offset(&mm, va);
    let pgd = pgdp_get(pgdp);
    // SAFETY: inside CPU 1's read-side section (it reports no quiescent state until the end);
    // the allocator keeps freed tables allocated, so even V10 reads atomics, not freed heap.
    let (pmdp, pmd, ptep) = unsafe {
        let pudp = pud_offset_lockless(pgdp, pgd, va);
        let pud = pudp_get(pudp);
        let pmdp = pmd_offset_lockless(pudp, pud, va);
        let pmd = pmdp_get_lockless(pmdp);
        assert!(pmd_table(pmd));
        (pmdp, pmd, pte_offset_map(pmd, va))
    };

    // CPU 0: unmap the page (W3), free the table, and try to finish the grace period.
    unmap_page(&mm, va).unwrap();
    map_page(
        &mm,
        va + PAGE_SIZE,
        0x4000_4000,
        PgProt::USER_RW,
        Strength::AcqRel,
    )
    .unwrap();
    free_pte_table(&mm, va).unwrap();
    rcu.rcu_quiescent_state(0);
    rcu.tlb_table_flush();

    // CPU 1 continues with the table it derived.
    let pte = ptep_get_lockless(ptep);
    let pte_next = ptep_get_lockless(
        // SAFETY: as above.
        unsafe { pte_offset_map(pmd, va + PAGE_SIZE) },
    );
    let recheck_ok = pmdp_get(pmdp) == pmd;
    rcu.rcu_quiescent_state(1);
    let freed_after_qs = rcu.tlb_table_flush();
    if policy == TableFreePolicy::Deferred {
        assert_eq!(
            freed_after_qs, 1,
            "freed once CPU 1 passed a quiescent state"
        );
        assert_eq!(
            pte_next,
            mk_pte(0x4000_4000, PgProt::USER_RW),
            "old PTE still there"
        );
    }
    (pte, recheck_ok)
}

#[test]
fn immediate_table_free_is_caught_by_the_poison_deferred_is_clean() {
    let (pte, recheck) = walker_vs_free_pte_table(TableFreePolicy::Immediate);
    assert!(pgtable_poisoned(pte.0), "V10: walker read a freed table");
    assert!(!pte_present(pte) && !recheck);
    let (pte, recheck) = walker_vs_free_pte_table(TableFreePolicy::Deferred);
    assert!(!pgtable_poisoned(pte.0));
    assert_eq!(pte, Pte(0), "the unmapped slot, not poison");
    assert!(!recheck, "pmd changed: the walker must bail");
}

#[test]
fn empty_tables_are_freed_on_request_after_the_grace_period() {
    let a = HeapTableAlloc::new();
    let (kroot, ktables) = kernel_map(&a);
    let rcu = TableRcu::new(&a, 2);
    let mm = MmStruct::new(kroot, 2, &rcu, TableFreePolicy::Deferred).unwrap();
    let va = U + 0x40_0000;
    map_page(&mm, va, 0x4000_3000, PgProt::USER_RW, Strength::AcqRel).unwrap();
    assert_eq!(free_pte_table_if_empty(&mm, va), Ok(false));
    unmap_page(&mm, va).unwrap();
    assert_eq!(a.nr_live(), ktables + 4);
    assert_eq!(free_pte_table_if_empty(&mm, va), Ok(true));
    assert_eq!(
        free_pte_table_if_empty(&mm, va),
        Err(MapError::NotMapped { va })
    );
    assert_eq!(
        (rcu.nr_pending(), a.nr_live()),
        (1, ktables + 4),
        "not before the grace period"
    );
    rcu.rcu_quiescent_state(0);
    rcu.rcu_quiescent_state(1);
    assert_eq!(rcu.tlb_table_flush(), 1);
    assert_eq!(a.nr_live(), ktables + 3);
    // The slot can be mapped again (a fresh table).
    map_page(&mm, va, 0x4000_3000, PgProt::USER_RW, Strength::AcqRel).unwrap();
    assert_eq!(translate(&mm, va).unwrap().pa, 0x4000_3000);
}

#[test]
fn dropping_an_address_space_frees_all_its_tables_after_the_grace_period() {
    let a = HeapTableAlloc::new();
    let (kroot, ktables) = kernel_map(&a);
    let rcu = TableRcu::new(&a, 1);
    {
        let mm = MmStruct::new(kroot, 2, &rcu, TableFreePolicy::Deferred).unwrap();
        map_page(&mm, U, 0x4000_3000, PgProt::USER_RW, Strength::AcqRel).unwrap();
        map_page(
            &mm,
            U + (5 << PUD_SHIFT),
            0x4000_3000,
            PgProt::USER_RW,
            Strength::AcqRel,
        )
        .unwrap();
        map_block_2m(
            &mm,
            U + PMD_SIZE,
            0x4020_0000,
            PgProt::USER_RW,
            Strength::AcqRel,
        )
        .unwrap();
        assert_eq!(a.nr_live(), ktables + 1 + 1 + 2 + 2);
    }
    assert_eq!(a.nr_live(), ktables + 6, "queued, not freed");
    rcu.synchronize(0);
    assert_eq!(
        a.nr_live(),
        ktables,
        "kernel tables untouched, user ones freed"
    );
    // SAFETY: kernel root live.
    assert_eq!(
        unsafe { walk_translate(kroot, 0x4000_0000) }.unwrap().pa,
        0x4000_0000
    );
}

#[test]
fn table_allocation_failure_is_reported() {
    let a = HeapTableAlloc::new();
    let (kroot, ktables) = kernel_map(&a);
    let small = HeapTableAlloc::with_limit(2);
    let rcu = TableRcu::new(&small, 1);
    let mm = MmStruct::new(kroot, 2, &rcu, TableFreePolicy::Deferred).unwrap();
    assert_eq!(
        map_page(&mm, U, 0x4000_3000, PgProt::USER_RW, Strength::AcqRel),
        Err(MapError::NoMemory)
    );
    assert_eq!(a.nr_live(), ktables);
}

/// Walkers do GUP-fast-shaped lockless walks on one CPU each while a writer maps, unmaps and
/// frees PTE tables through the Deferred policy: no walker may ever read poison, and any
/// present PTE found must map the one frame the writer ever maps there.
#[test]
fn concurrent_lockless_walks_never_read_a_freed_table() {
    const WALKERS: usize = 2;
    let a = HeapTableAlloc::new();
    let (kroot, _) = kernel_map(&a);
    let rcu = TableRcu::new(&a, WALKERS + 1);
    let mm = MmStruct::new(kroot, 2, &rcu, TableFreePolicy::Deferred).unwrap();
    let va = U + 0x60_0000;
    let stop = AtomicU64::new(0);
    let (poison, seen) = (AtomicU64::new(0), AtomicU64::new(0));
    std::thread::scope(|s| {
        for cpu in 1..=WALKERS {
            let (mm, rcu, stop, poison, seen) = (&mm, &rcu, &stop, &poison, &seen);
            s.spawn(move || {
                while read_once(stop) == 0 {
                    let pgdp = pgd_offset(mm, va);
                    let pgd = pgdp_get(pgdp);
                    // SAFETY: read-side section until `rcu_quiescent_state` below; each
                    // offset derives from a value checked to be a table descriptor.
                    if pgd_present(pgd) && !pgd_bad(pgd) {
                        unsafe {
                            let pudp = pud_offset_lockless(pgdp, pgd, va);
                            let pud = pudp_get(pudp);
                            if pud_table(pud) {
                                let pmd = pmdp_get_lockless(pmd_offset_lockless(pudp, pud, va));
                                if pgtable_poisoned(pmd.0) {
                                    crate::sync::atomic_add(poison, 1);
                                } else if pmd_table(pmd) {
                                    let pte = ptep_get_lockless(pte_offset_map(pmd, va));
                                    if pgtable_poisoned(pte.0) {
                                        crate::sync::atomic_add(poison, 1);
                                    } else if pte_present(pte) {
                                        assert_eq!(pte_paddr(pte), 0x4000_5000);
                                        crate::sync::atomic_add(seen, 1);
                                    }
                                }
                            }
                        }
                    }
                    rcu.rcu_quiescent_state(cpu);
                }
                rcu.rcu_idle_enter(cpu);
            });
        }
        for _ in 0..3000 {
            map_page(&mm, va, 0x4000_5000, PgProt::USER_RW, Strength::AcqRel).unwrap();
            unmap_page(&mm, va).unwrap();
            assert_eq!(free_pte_table_if_empty(&mm, va), Ok(true));
            rcu.rcu_quiescent_state(0);
            rcu.tlb_table_flush();
        }
        write_once(&stop, 1);
    });
    rcu.synchronize(0);
    assert_eq!(read_once(&poison), 0);
    assert_eq!(rcu.nr_pending(), 0);
    assert_eq!(rcu.nr_freed(), 3000);
}
