//! Per-CPU page lists (`struct per_cpu_pages`), v5.14 shape: one list per order 0..=3 plus one
//! for `pageblock_order` (THP) — `order_to_pindex` / `pcp_allowed_order` of 44042b449872 with a
//! single migratetype. `count` is in base pages; over `high` the list is drained by `batch`
//! base pages to the buddy lists under `zone->lock` (`free_pcppages_bulk`); an empty list is
//! refilled from them (`rmqueue_bulk`).
//!
//! Protection is a run-time knob ([`PcpProtection`]): `IrqOff` = v5.14–v5.19 `local_lock` on
//! !RT (compiler barrier only; the list is touched by its own CPU only), `SpinLock` = v6.0+.
//! CPUs are a parameter (`cpu`), so host threads and loom threads can play CPUs. The list words
//! are relaxed atomics, so a caller breaking the one-CPU-per-list rule corrupts lists
//! (detectable) instead of racing on plain data.
//!
//! A leaf: the zone calls down into one CPU's [`PerCpuPages`] with what it needs of the zone
//! (its mem_map, its `zone->lock`-protected buddy lists, the knobs of the moment).

use super::buddy::FreeArea;
use super::knobs::{PcpProtection, PcpReuse};
use super::list::ListHead;
use super::lock::SpinLock;
use super::memmap::MemMap;
use super::page::{set_page_private, Page, PG_PCP};
use super::types::{HPAGE_PMD_ORDER, PAGE_ALLOC_COSTLY_ORDER};
use crate::sync::{barrier, read_once, write_once, AtomicUsize};

/// `NR_PCP_LISTS` with one migratetype: orders 0..=3 and `pageblock_order`.
pub const NR_PCP_LISTS: usize = PAGE_ALLOC_COSTLY_ORDER + 2;

/// `pcp_allowed_order(order)`.
#[inline(always)]
pub fn pcp_allowed_order(order: usize) -> bool {
    order <= PAGE_ALLOC_COSTLY_ORDER || order == HPAGE_PMD_ORDER
}

/// `order_to_pindex(migratetype, order)` (one migratetype).
#[inline(always)]
pub fn order_to_pindex(order: usize) -> usize {
    if order > PAGE_ALLOC_COSTLY_ORDER {
        debug_assert_eq!(order, HPAGE_PMD_ORDER);
        PAGE_ALLOC_COSTLY_ORDER + 1
    } else {
        order
    }
}

/// `pindex_to_order(pindex)`.
#[inline(always)]
pub fn pindex_to_order(pindex: usize) -> usize {
    if pindex > PAGE_ALLOC_COSTLY_ORDER {
        HPAGE_PMD_ORDER
    } else {
        pindex
    }
}

/// `pcp->high` and `pcp->batch`, in base pages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PcpConfig {
    /// Drain when `count` reaches this.
    pub high: usize,
    /// Refill/drain granularity.
    pub batch: usize,
}

impl PcpConfig {
    /// Sizes in the spirit of `zone_batchsize` / `zone_highsize` for a zone of `managed`
    /// pages shared by `nr_cpus` CPUs; `high` is at least two THP blocks when the zone is big
    /// enough, so a freed THP can sit on a per-CPU list (spec §5b).
    pub fn for_zone(managed: usize, nr_cpus: usize) -> Self {
        let batch = (managed / 1024 / 4).clamp(1, 63);
        let high = (managed / (4 * nr_cpus.max(1))).max(4 * batch);
        Self { high, batch }
    }
}

/// One CPU's page set.
pub struct PerCpuPages {
    lock: SpinLock<()>,
    count: AtomicUsize,
    cfg: PcpConfig,
    lists: [ListHead; NR_PCP_LISTS],
}

impl PerCpuPages {
    pub(super) fn new(cfg: PcpConfig) -> Self {
        Self {
            lock: SpinLock::new(()),
            count: AtomicUsize::new(0),
            cfg,
            lists: core::array::from_fn(|_| ListHead::new()),
        }
    }

    /// Base pages on this CPU's lists (relaxed snapshot).
    pub fn count(&self) -> usize {
        read_once(&self.count)
    }

    /// The list of one pindex (audits).
    pub fn list(&self, pindex: usize) -> &ListHead {
        &self.lists[pindex]
    }

    /// Run `f` under the pcp protection chosen by the knob.
    #[inline(always)]
    pub fn protected<R>(&self, prot: PcpProtection, f: impl FnOnce() -> R) -> R {
        match prot {
            PcpProtection::IrqOff => {
                // local_lock_irqsave on !RT: only the compiler barrier orders anything.
                barrier();
                let r = f();
                barrier();
                r
            }
            PcpProtection::SpinLock => {
                let _g = self.lock.lock();
                f()
            }
        }
    }

    #[inline(always)]
    fn push(&self, mm: &MemMap, page: &Page, order: usize) {
        set_page_private(page, order as u64);
        page.__set_flags(PG_PCP);
        self.lists[order_to_pindex(order)].add(mm, page);
    }

    #[inline(always)]
    fn add_count(&self, delta: isize) {
        write_once(
            &self.count,
            (read_once(&self.count) as isize + delta) as usize,
        );
    }

    /// `rmqueue_pcplist`: take a block of `order` from these lists (pages of `mm`), refilling
    /// from the zone's `buddy` lists when empty. `order` must satisfy [`pcp_allowed_order`].
    pub fn rmqueue<'m>(
        &self,
        mm: &'m MemMap,
        buddy: &SpinLock<FreeArea>,
        order: usize,
        prot: PcpProtection,
        reuse: PcpReuse,
    ) -> Option<&'m Page> {
        self.protected(prot, || {
            let page = self.__rmqueue_pcplist(mm, buddy, order, reuse)?;
            self.add_count(-(1isize << order));
            pcp_unmark(page);
            Some(page)
        })
    }

    fn __rmqueue_pcplist<'m>(
        &self,
        mm: &'m MemMap,
        buddy: &SpinLock<FreeArea>,
        order: usize,
        reuse: PcpReuse,
    ) -> Option<&'m Page> {
        let pindex = order_to_pindex(order);
        if let Some(p) = self.lists[pindex].pop_first(mm) {
            return Some(p);
        }
        if reuse == PcpReuse::SplitOnReuse {
            for pi in pindex + 1..NR_PCP_LISTS {
                if let Some(p) = self.lists[pi].pop_first(mm) {
                    self.pcp_expand(mm, p, order, pindex_to_order(pi));
                    return Some(p);
                }
            }
        }
        // rmqueue_bulk: refill under zone->lock.
        let n = (self.cfg.batch >> order).max(1);
        let list = &self.lists[pindex];
        let mut got = 0;
        {
            let mut fa = buddy.lock();
            for _ in 0..n {
                let Some(p) = fa.__rmqueue_smallest(mm, order) else {
                    break;
                };
                set_page_private(p, order as u64);
                p.__set_flags(PG_PCP);
                list.add_tail(mm, p);
                got += 1;
            }
        }
        self.add_count((got << order) as isize);
        list.pop_first(mm)
    }

    /// The §5b hypothetical allocator's split: `page` heads a pcp block of order `high`; give
    /// its upper parts back to these lists (as `expand` does to the buddy lists) until a
    /// block of order `low` is left at `page`. Parts of orders without a pcp list are cut into
    /// `PAGE_ALLOC_COSTLY_ORDER` blocks. No lock is taken: with `IrqOff` nothing but program
    /// order separates the block's free from its reuse.
    fn pcp_expand(&self, mm: &MemMap, page: &Page, low: usize, mut high: usize) {
        while high > low {
            high -= 1;
            let part = mm.nth_page(page, 1 << high);
            if pcp_allowed_order(high) {
                self.push(mm, part, high);
            } else {
                for k in 0..1usize << (high - PAGE_ALLOC_COSTLY_ORDER) {
                    let piece = mm.nth_page(part, k << PAGE_ALLOC_COSTLY_ORDER);
                    self.push(mm, piece, PAGE_ALLOC_COSTLY_ORDER);
                }
            }
        }
    }

    /// `free_unref_page_commit`: put a prepared block on these lists; drain a batch to the
    /// zone's `buddy` lists when they grow over `high`.
    pub fn free_commit(
        &self,
        mm: &MemMap,
        buddy: &SpinLock<FreeArea>,
        page: &Page,
        order: usize,
        prot: PcpProtection,
    ) {
        self.protected(prot, || {
            self.push(mm, page, order);
            self.add_count(1 << order);
            if self.count() >= self.cfg.high {
                self.free_pcppages_bulk(mm, buddy, self.cfg.batch);
            }
        });
    }

    /// `free_pcppages_bulk`: move at least `count` base pages (whole blocks, oldest first,
    /// lists round-robin) to the `buddy` lists under `zone->lock`. Caller holds the pcp
    /// protection.
    fn free_pcppages_bulk(&self, mm: &MemMap, buddy: &SpinLock<FreeArea>, count: usize) {
        let mut freed = 0;
        let mut fa = buddy.lock();
        let mut pindex = 0;
        let mut empty_in_a_row = 0;
        while freed < count && empty_in_a_row < NR_PCP_LISTS {
            let order = pindex_to_order(pindex);
            match self.lists[pindex].pop_last(mm) {
                Some(p) => {
                    empty_in_a_row = 0;
                    pcp_unmark(p);
                    fa.__free_one_page(mm, mm.page_to_pfn(p), order);
                    freed += 1 << order;
                }
                None => empty_in_a_row += 1,
            }
            pindex = (pindex + 1) % NR_PCP_LISTS;
        }
        drop(fa);
        self.add_count(-(freed as isize));
    }

    /// `drain_local_pages` for these lists: give every block back to the `buddy` lists. The
    /// caller runs as the owning CPU (or, in `IrqOff` mode, guarantees it is not inside the
    /// allocator).
    pub fn drain(&self, mm: &MemMap, buddy: &SpinLock<FreeArea>, prot: PcpProtection) {
        self.protected(prot, || self.free_pcppages_bulk(mm, buddy, usize::MAX));
    }
}

/// Leave `page` (just popped from a pcp list) looking like a page popped from the buddy lists.
#[inline(always)]
fn pcp_unmark(page: &Page) {
    page.__clear_flags(PG_PCP);
    set_page_private(page, 0);
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn pindex_mapping_matches_v5_14() {
        let allowed: alloc::vec::Vec<usize> = (0..11).filter(|o| pcp_allowed_order(*o)).collect();
        assert_eq!(allowed, [0, 1, 2, 3, 9]);
        for o in allowed {
            assert_eq!(pindex_to_order(order_to_pindex(o)), o);
        }
        assert_eq!(order_to_pindex(9), 4);
        let c = PcpConfig::for_zone(32768, 2);
        assert_eq!(c.batch, 8);
        assert!(c.high >= 2 * 512);
    }
}
