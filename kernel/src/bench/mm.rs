//! Page allocator and page-table benches (issue: mm core, item 9).

use super::harness::{measure, BenchResult, BenchSpec};
use crate::mm::pgtable::{
    map_block_2m, map_page, unmap_block, unmap_page, MapError, MmStruct, PgProt, PgtableAlloc,
    TableFreePolicy, TableRcu, PMD_SIZE, USER_VA_BASE,
};
use crate::mm::types::{__GFP_COMP, GFP_KERNEL, HPAGE_PMD_ORDER};
use crate::mm::zone::Zone;
use crate::sync::{fetch_add, AtomicU64, Strength};
use alloc::boxed::Box;
use alloc::vec::Vec;

/// What the benches run on: a zone and an address space whose tables come from `alloc`.
pub struct MmBenchEnv {
    pub(super) zone: &'static Zone,
    pub(super) mm: MmStruct<'static>,
}

impl MmBenchEnv {
    /// Over `zone`, with a user address space sharing the kernel root `kernel_pgd` and table
    /// pages from `alloc`. Leaks a little (the table allocator and RCU state) by design: a
    /// bench environment lives for the rest of the run.
    pub fn new(
        zone: &'static Zone,
        kernel_pgd: u64,
        alloc: &'static (dyn PgtableAlloc + Sync),
        nr_cpus: usize,
    ) -> Result<Self, MapError> {
        let rcu: &'static TableRcu<'static> = Box::leak(Box::new(TableRcu::new(alloc, nr_cpus)));
        let mm = MmStruct::new(kernel_pgd, 0x42, rcu, TableFreePolicy::Deferred)?;
        Ok(Self { zone, mm })
    }

    /// The kernel's zone and identity map (image only).
    pub fn kernel(nr_cpus: usize) -> Result<Self, MapError> {
        let zone = crate::mm::zone();
        let pgd = crate::mm::pgtable::swapper_pg_dir().ok_or(MapError::NoMemory)?;
        let alloc: &'static crate::mm::pgtable::ZonePgtableAlloc<'static> =
            Box::leak(Box::new(crate::mm::pgtable::ZonePgtableAlloc::new(zone)));
        Self::new(zone, pgd, alloc, nr_cpus)
    }
}

/// Every mm bench, in a stable order.
pub fn mm_benches(env: &MmBenchEnv, cpu: usize, spec: BenchSpec) -> Vec<BenchResult> {
    let zone = env.zone;
    let mut out = Vec::new();

    // The yardstick GUP costs are compared with: one uncontended fully ordered atomic add.
    let counter = AtomicU64::new(0);
    out.push(measure("atomic_add_full_uncontended", spec, |_| {
        fetch_add(&counter, 1, Strength::Full);
    }));

    out.push(measure("alloc_free_order0_pcp", spec, |_| {
        let p = zone
            .alloc_pages(cpu, 0, GFP_KERNEL)
            .expect("bench: out of memory");
        zone.__free_pages(cpu, p, 0);
    }));

    out.push(measure("alloc_free_order0_buddy", spec, |_| {
        let p = zone
            .alloc_pages_buddy(cpu, 0, GFP_KERNEL)
            .expect("bench: out of memory");
        zone.__free_pages_buddy(cpu, p, 0);
    }));

    let thp = BenchSpec {
        iters: (spec.iters / 16).max(1),
        ..spec
    };
    out.push(measure("alloc_free_order9_compound", thp, |_| {
        let p = zone
            .alloc_pages(cpu, HPAGE_PMD_ORDER, __GFP_COMP)
            .expect("bench: out of THP-order memory");
        zone.put_page(cpu, p);
    }));

    // One frame and one 2 MiB block, mapped and unmapped at a fixed user address (the
    // intermediate tables are allocated by the warm-up and reused).
    let frame = zone
        .alloc_pages(cpu, 0, GFP_KERNEL)
        .expect("bench: out of memory");
    let pa = zone.mem_map().page_address(frame);
    let va = USER_VA_BASE;
    out.push(measure("map_unmap_4k", spec, |_| {
        map_page(&env.mm, va, pa, PgProt::USER_RW, Strength::AcqRel).expect("bench: map_page");
        unmap_page(&env.mm, va).expect("bench: unmap_page");
    }));
    zone.__free_pages(cpu, frame, 0);

    let block = zone
        .alloc_pages(cpu, HPAGE_PMD_ORDER, __GFP_COMP)
        .expect("bench: out of THP-order memory");
    let pa2m = zone.mem_map().page_address(block);
    let va2m = USER_VA_BASE + PMD_SIZE;
    debug_assert_eq!(pa2m % PMD_SIZE, 0);
    out.push(measure("map_unmap_2m", spec, |_| {
        map_block_2m(&env.mm, va2m, pa2m, PgProt::USER_RW, Strength::AcqRel)
            .expect("bench: map_block_2m");
        unmap_block(&env.mm, va2m).expect("bench: unmap_block");
    }));
    zone.put_page(cpu, block);
    out
}
