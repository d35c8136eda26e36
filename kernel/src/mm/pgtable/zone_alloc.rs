//! Table pages from the page allocator (Linux `pte_alloc_one` / `pte_free`: an order-0
//! page, zeroed; freed with `put_page`). Used once `mm::init` has run; early boot uses
//! [`super::BumpTableAlloc`].

use super::pgalloc::PgtableAlloc;
use super::table::{PageTable, PAGE_SHIFT};
use crate::hal;
use crate::mm::types::GFP_KERNEL;
use crate::mm::zone::Zone;

/// A [`PgtableAlloc`] over a [`Zone`] whose frames are backed by memory.
///
/// The per-CPU page lists are indexed by the calling CPU: `hal().cpu_id()` when a hal is
/// installed (target, or host tests with `hal::host`), else CPU 0 — then only one thread may
/// use it at a time.
pub struct ZonePgtableAlloc<'z> {
    zone: &'z Zone,
}

impl<'z> ZonePgtableAlloc<'z> {
    /// Allocate tables from `zone`. Panics if its frames are not backed by memory.
    pub fn new(zone: &'z Zone) -> Self {
        assert!(
            zone.mem_map().backed(),
            "page tables need frames backed by memory"
        );
        ZonePgtableAlloc { zone }
    }
}

fn this_cpu() -> usize {
    if hal::installed() {
        hal::hal().cpu_id()
    } else {
        0
    }
}

impl PgtableAlloc for ZonePgtableAlloc<'_> {
    fn alloc_table(&self) -> Option<u64> {
        let page = self.zone.alloc_pages(this_cpu(), 0, GFP_KERNEL)?;
        let pa = self.zone.mem_map().page_address(page);
        // SAFETY: a frame we now own (refcount 1), backed by memory at its physical address;
        // frames are only ever accessed as atomic words, so zeroing it makes a valid table.
        unsafe { PageTable::from_pa(pa) }.fill(0);
        Some(pa)
    }

    fn free_table(&self, pa: u64) {
        let mm = self.zone.mem_map();
        assert!(
            mm.pfn_valid(pa >> PAGE_SHIFT),
            "free_table({pa:#x}): not in this zone"
        );
        self.zone
            .put_page(this_cpu(), mm.pfn_to_page(pa >> PAGE_SHIFT));
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use crate::mm::memmap::alloc_leaked_ram;
    use crate::mm::pgtable::{
        build_identity_map, map_page, walk_translate, MmStruct, PgProt, TableFreePolicy, TableRcu,
        USER_VA_BASE,
    };
    use crate::sync::Strength;

    #[test]
    fn address_space_tables_come_from_and_return_to_the_zone() {
        let ram = alloc_leaked_ram(256, 0);
        // SAFETY: leaked host memory nobody else uses.
        let zone = unsafe { crate::mm::build_zone(&[ram]) };
        let free0 = zone.nr_free_pages();
        let a = ZonePgtableAlloc::new(&zone);
        let kroot = build_identity_map(&a, &[(ram.start, ram.end)], &[]).unwrap();
        let kernel_tables = free0 - zone.nr_free_pages();
        let rcu = TableRcu::new(&a, 1);
        {
            let mm = MmStruct::new(kroot, 1, &rcu, TableFreePolicy::Deferred).unwrap();
            let frame = ram.start + 100 * 4096;
            map_page(&mm, USER_VA_BASE, frame, PgProt::USER_RW, Strength::AcqRel).unwrap();
            // SAFETY: tables live in the zone; nothing frees them during the walk.
            let t = unsafe { walk_translate(mm.pgd, USER_VA_BASE + 8) }.unwrap();
            assert_eq!(t.pa, frame + 8);
            assert_eq!(free0 - zone.nr_free_pages(), kernel_tables + 4);
        }
        rcu.synchronize(0);
        assert_eq!(
            free0 - zone.nr_free_pages(),
            kernel_tables,
            "user tables back in the zone"
        );
        let r = zone.audit();
        assert_eq!((r.double_free, r.bad_state), (0, 0));
    }

    /// V10 with tables from the zone: a walker holding a PTE-table address across an
    /// immediate free reads a poisoned descriptor, with the allocator's poisoning on or off.
    #[test]
    fn immediately_freed_zone_table_reads_as_poison() {
        use crate::mm::knobs::MmKnobs;
        use crate::mm::pgtable::*;
        for poison in [false, true] {
            let ram = alloc_leaked_ram(64, 0);
            // SAFETY: leaked host memory nobody else uses.
            let zone = unsafe { crate::mm::build_zone(&[ram]) };
            zone.set_knobs(MmKnobs {
                poison,
                ..MmKnobs::LINUX_V5_14
            });
            let a = ZonePgtableAlloc::new(&zone);
            let kroot = build_identity_map(&a, &[(ram.start, ram.end)], &[]).unwrap();
            let rcu = TableRcu::new(&a, 1);
            let mm = MmStruct::new(kroot, 1, &rcu, TableFreePolicy::Immediate).unwrap();
            let frame = ram.start + 40 * 4096;
            map_page(&mm, USER_VA_BASE, frame, PgProt::USER_RW, Strength::AcqRel).unwrap();
            // SAFETY: the walk happens before the free; afterwards the frame stays host
            // memory accessed only atomically (the zone never hands it to non-atomic users).
            let ptep = unsafe {
                let pgdp = pgd_offset(&mm, USER_VA_BASE);
                let pudp = pud_offset_lockless(pgdp, pgdp_get(pgdp), USER_VA_BASE);
                let pmdp = pmd_offset_lockless(pudp, pudp_get(pudp), USER_VA_BASE);
                pte_offset_map(pmdp_get_lockless(pmdp), USER_VA_BASE)
            };
            assert_eq!(pte_paddr(ptep_get_lockless(ptep)), frame);
            free_pte_table(&mm, USER_VA_BASE).unwrap();
            let v = ptep_get_lockless(ptep).0;
            assert!(pgtable_poisoned(v), "poison knob {poison}: read {v:#x}");
        }
    }
}
