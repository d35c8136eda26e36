//! `struct zone`: one memory zone = a mem_map, the buddy lists under `zone->lock`, the per-CPU
//! page sets, the writer knobs and the oracle counters. Instantiable on its own (host tests,
//! loom models) and as the kernel's global zone ([`crate::mm::zone`]).
//!
//! The zone calls down into its parts: the buddy lists (`buddy.rs`), one CPU's per-CPU lists
//! (`pcp.rs`) and the audit (`audit.rs`) get what they need of it as arguments. The allocation
//! and free paths of mm/page_alloc.c (`page_alloc.rs`) are the zone's other `impl` block.

use super::audit::{AuditReport, ZoneParts};
use super::buddy::FreeArea;
use super::debug::{poison_pages, MmStats};
use super::knobs::{KnobCell, MmKnobs};
use super::lock::SpinLock;
use super::memmap::MemMap;
use super::page::{set_page_private, Page, PageReserved, PG_RESERVED};
use super::page_ref::set_page_count;
use super::pcp::{pindex_to_order, PcpConfig, PerCpuPages, NR_PCP_LISTS};
use super::types::MAX_ORDER;
use alloc::boxed::Box;
use core::sync::atomic::{AtomicUsize, Ordering::Relaxed};

/// A zone.
pub struct Zone {
    pub(super) mm: MemMap,
    pub(super) lock: SpinLock<FreeArea>,
    pub(super) pcp: Box<[PerCpuPages]>,
    pub(super) knobs: KnobCell,
    pub(super) stats: MmStats,
    managed_pages: AtomicUsize,
}

impl Zone {
    /// A zone over `mm` (all pages reserved until [`Zone::free_pfn_range`]) with `nr_cpus`
    /// per-CPU page sets.
    pub fn new(mm: MemMap, nr_cpus: usize, cfg: PcpConfig, knobs: MmKnobs) -> Self {
        assert!(nr_cpus > 0);
        Self {
            mm,
            lock: SpinLock::new(FreeArea::new()),
            pcp: (0..nr_cpus).map(|_| PerCpuPages::new(cfg)).collect(),
            knobs: KnobCell::new(knobs),
            stats: MmStats::default(),
            managed_pages: AtomicUsize::new(0),
        }
    }

    /// The zone's mem_map.
    #[inline(always)]
    pub fn mem_map(&self) -> &MemMap {
        &self.mm
    }
    /// Current writer knobs (one relaxed read).
    #[inline(always)]
    pub fn knobs(&self) -> MmKnobs {
        self.knobs.get()
    }
    /// Replace the knobs. Only while no CPU is inside the allocator; switching the pcp
    /// protection should be preceded by [`Zone::drain_all_pages`]. Turning poisoning on
    /// poisons every free frame first, so the next allocation's check has a pattern to check.
    pub fn set_knobs(&self, k: MmKnobs) {
        if k.poison && !self.knobs().poison {
            self.poison_free_blocks();
        }
        self.knobs.set(k);
    }

    /// Poison every block on the buddy and per-CPU free lists (quiescent allocator).
    fn poison_free_blocks(&self) {
        let n = self.mm.nr_pages();
        let fa = self.lock.lock();
        for order in 0..MAX_ORDER {
            fa.list(order)
                .for_each(&self.mm, n, |p| poison_pages(&self.mm, p, 1 << order));
        }
        for pcp in self.pcp.iter() {
            for pindex in 0..NR_PCP_LISTS {
                let order = pindex_to_order(pindex);
                pcp.list(pindex)
                    .for_each(&self.mm, n, |p| poison_pages(&self.mm, p, 1 << order));
            }
        }
    }
    /// Oracle counters.
    pub fn stats(&self) -> &MmStats {
        &self.stats
    }
    /// Number of per-CPU page sets.
    pub fn nr_cpus(&self) -> usize {
        self.pcp.len()
    }
    /// Pages handed to the allocator (`zone_managed_pages`).
    pub fn managed_pages(&self) -> usize {
        self.managed_pages.load(Relaxed)
    }

    /// Hand the reserved frames `[start_pfn, end_pfn)` to the buddy allocator
    /// (`memblock_free_pages` → `__free_pages_core`): refcount 0, PG_reserved cleared, freed in
    /// the largest naturally aligned blocks.
    pub fn free_pfn_range(&self, start_pfn: u64, end_pfn: u64) {
        let mut fa = self.lock.lock();
        let mut pfn = start_pfn;
        while pfn < end_pfn {
            let mut order = MAX_ORDER - 1;
            while order > 0 && (pfn & ((1 << order) - 1) != 0 || pfn + (1 << order) > end_pfn) {
                order -= 1;
            }
            for k in 0..1u64 << order {
                let p = self.mm.pfn_to_page(pfn + k);
                assert!(
                    PageReserved(p),
                    "pfn {:#x} handed to the allocator twice",
                    pfn + k
                );
                p.__clear_flags(PG_RESERVED);
                set_page_count(p, 0);
                set_page_private(p, 0);
            }
            if self.knobs().poison {
                poison_pages(&self.mm, self.mm.pfn_to_page(pfn), 1 << order);
            }
            fa.__free_one_page(&self.mm, pfn, order);
            self.managed_pages.fetch_add(1 << order, Relaxed);
            pfn += 1 << order;
        }
    }

    /// Free blocks per order in the buddy lists (`/proc/buddyinfo`).
    pub fn free_counts(&self) -> [usize; MAX_ORDER] {
        let fa = self.lock.lock();
        core::array::from_fn(|o| fa.nr_free(o))
    }

    /// Free base pages: buddy lists plus every per-CPU list (relaxed snapshot).
    pub fn nr_free_pages(&self) -> usize {
        let buddy = self.lock.lock().free_pages();
        buddy + self.pcp.iter().map(|p| p.count()).sum::<usize>()
    }

    /// `pfn_to_page` on this zone's mem_map.
    #[inline(always)]
    pub fn pfn_to_page(&self, pfn: u64) -> &Page {
        self.mm.pfn_to_page(pfn)
    }
    /// `page_to_pfn` on this zone's mem_map.
    #[inline(always)]
    pub fn page_to_pfn(&self, page: &Page) -> u64 {
        self.mm.page_to_pfn(page)
    }

    /// `rmqueue_pcplist`: take a block of `order` from `cpu`'s per-CPU lists, refilling them
    /// from the buddy lists when empty. `order` must satisfy `pcp_allowed_order`.
    pub(super) fn rmqueue_pcplist(&self, cpu: usize, order: usize) -> Option<&Page> {
        let k = self.knobs();
        self.pcp[cpu].rmqueue(&self.mm, &self.lock, order, k.pcp, k.pcp_reuse)
    }

    /// `free_unref_page_commit`: put a prepared block on `cpu`'s per-CPU lists.
    pub(super) fn free_unref_page_commit(&self, cpu: usize, page: &Page, order: usize) {
        self.pcp[cpu].free_commit(&self.mm, &self.lock, page, order, self.knobs().pcp);
    }

    /// `drain_local_pages`: give all of `cpu`'s blocks back to the buddy lists. The caller runs
    /// as `cpu` (or, in `IrqOff` mode, guarantees `cpu` is not inside the allocator).
    pub fn drain_local_pages(&self, cpu: usize) {
        self.pcp[cpu].drain(&self.mm, &self.lock, self.knobs().pcp);
    }

    /// `drain_all_pages`: drain every CPU's lists from the calling CPU. With `SpinLock` pcp
    /// this is safe at any time (each pcp lock is taken). With `IrqOff` Linux sends work to
    /// each CPU; here the caller must guarantee that no other CPU is inside the allocator
    /// (call it between run barriers).
    pub fn drain_all_pages(&self) {
        for cpu in 0..self.pcp.len() {
            self.drain_local_pages(cpu);
        }
    }

    /// Per-CPU page sets (tests).
    #[cfg(test)]
    pub(super) fn pcps(&self) -> &[PerCpuPages] {
        &self.pcp
    }

    /// Audit the zone: every frame accounted for exactly once (`audit.rs`; quiescent
    /// allocator only).
    pub fn audit(&self) -> AuditReport {
        ZoneParts {
            mm: &self.mm,
            buddy: &self.lock,
            pcps: &self.pcp,
            prot: self.knobs().pcp,
            stats: &self.stats,
            managed: self.managed_pages() as u64,
        }
        .audit()
    }
}
