//! Whole-zone audit: walk every free list and every frame and account for each frame exactly
//! once (free in the buddy lists, free on a per-CPU list, reserved, or in use).
//!
//! Meaningful only on a quiescent allocator (runs call it between barriers): a block moving
//! between lists during the walk would be seen twice or not at all. The walk itself is always
//! memory-safe: buddy lists are walked under `zone->lock`, per-CPU lists under their pcp
//! protection (their lock in `SpinLock` mode), every list word is an atomic, and a walk stops
//! after `nr_pages` entries even on a corrupted (cyclic) list.

use super::buddy::FreeArea;
use super::debug::{BadReason, MmStats};
use super::knobs::PcpProtection;
use super::lock::SpinLock;
use super::memmap::MemMap;
use super::page::{buddy_order, Page, PageReserved, PAGE_FLAGS_CHECK_AT_PREP, PG_BUDDY, PG_PCP};
use super::page_ref::page_ref_count;
use super::pcp::{pindex_to_order, PerCpuPages, NR_PCP_LISTS};
use super::types::MAX_ORDER;
use crate::sync::read_once;
use alloc::vec;

/// The audit's findings (fields of the `audit` record, minus the run's start/end pairing).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AuditReport {
    /// Frames handed to the allocator (`managed_pages`).
    pub frames_total: u64,
    /// Frames found free (buddy + per-CPU lists).
    pub frames_free: u64,
    /// Managed frames not free (allocated; or leaked if nothing should be allocated).
    pub frames_in_use: u64,
    /// Frames found on free lists more than once, plus double frees counted by the free path.
    pub double_free: u64,
    /// Inconsistencies found by the walk plus bad page states counted by the allocator.
    pub bad_state: u64,
}

/// The `audit` record of one run: the zone's free frames before and after it and the
/// allocator's error counts over it. The one place the record's keys are spelled.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RunAudit {
    /// Frames handed to the allocator.
    pub frames_total: u64,
    /// Free frames when the run started.
    pub frames_free_start: u64,
    /// Free frames after the run (per-CPU lists drained).
    pub frames_free_end: u64,
    /// Double frees during the run.
    pub double_free: u64,
    /// Bad page states during the run.
    pub bad_state: u64,
}

impl RunAudit {
    /// Frames that did not come back.
    pub fn leaked(&self) -> u64 {
        self.frames_free_start.saturating_sub(self.frames_free_end)
    }

    /// Emit the `audit` record for `run`; `passed` is the run's own judgement of it.
    pub fn emit(&self, run: &str, passed: bool) {
        crate::record::Record::new("audit")
            .str("run", run)
            .u64("frames_total", self.frames_total)
            .u64("frames_free_start", self.frames_free_start)
            .u64("frames_free_end", self.frames_free_end)
            .u64("leaked", self.leaked())
            .u64("double_free", self.double_free)
            .u64("bad_state", self.bad_state)
            .bool("passed", passed)
            .emit();
    }
}

/// What of a zone the audit reads (the zone passes its own parts: `Zone::audit`).
pub struct ZoneParts<'z> {
    /// The mem_map.
    pub mm: &'z MemMap,
    /// The buddy lists under `zone->lock`.
    pub buddy: &'z SpinLock<FreeArea>,
    /// Every CPU's lists.
    pub pcps: &'z [PerCpuPages],
    /// Their protection now.
    pub prot: PcpProtection,
    /// The allocator's own error counters.
    pub stats: &'z MmStats,
    /// `managed_pages`.
    pub managed: u64,
}

impl ZoneParts<'_> {
    /// Audit the zone (see the module doc for the quiescence requirement).
    pub fn audit(&self) -> AuditReport {
        let mm = self.mm;
        let n = mm.nr_pages();
        let mut free = vec![0u64; n.div_ceil(64)];
        let mut dup = 0u64;
        let mut bad = 0u64;
        let mut nfree = 0u64;
        let mut mark = |p: &Page, order: usize, dup: &mut u64| {
            let base = mm.page_idx(p) as usize;
            for i in base..(base + (1 << order)).min(n) {
                if free[i / 64] & (1 << (i % 64)) != 0 {
                    *dup += 1;
                } else {
                    free[i / 64] |= 1 << (i % 64);
                    nfree += 1;
                }
            }
        };
        {
            let fa = self.buddy.lock();
            for order in 0..MAX_ORDER {
                let cnt = fa.list(order).for_each(mm, n, |p| {
                    if !p.test_flags(PG_BUDDY) || buddy_order(p) != order {
                        bad += 1;
                    }
                    mark(p, order, &mut dup);
                });
                if cnt != fa.nr_free(order) {
                    bad += 1;
                }
            }
        }
        let prot = self.prot;
        for pcp in self.pcps {
            pcp.protected(prot, || {
                let mut base_pages = 0;
                for pindex in 0..NR_PCP_LISTS {
                    let order = pindex_to_order(pindex);
                    pcp.list(pindex).for_each(mm, n, |p| {
                        if !p.test_flags(PG_PCP) {
                            bad += 1;
                        }
                        mark(p, order, &mut dup);
                        base_pages += 1 << order;
                    });
                }
                if base_pages != pcp.count() {
                    bad += 1;
                }
            });
        }
        let mut reserved = 0u64;
        for (i, p) in mm.pages().iter().enumerate() {
            if PageReserved(p) {
                reserved += 1;
                continue;
            }
            if free[i / 64] & (1 << (i % 64)) != 0 {
                let stale = page_ref_count(p) != 0
                    || read_once(&p.compound_head) & 1 != 0
                    || p.flags() & PAGE_FLAGS_CHECK_AT_PREP & !(PG_BUDDY | PG_PCP) != 0;
                if stale {
                    if bad == 0 {
                        // Keep the first details for the report, without double counting.
                        self.stats
                            .note_first(mm.page_to_pfn(p), BadReason::AuditInconsistent);
                    }
                    bad += 1;
                }
            }
        }
        let managed = self.managed;
        let in_use = (n as u64 - reserved).saturating_sub(nfree);
        AuditReport {
            frames_total: managed,
            frames_free: nfree,
            frames_in_use: in_use,
            double_free: dup + self.stats.double_free(),
            bad_state: bad + self.stats.bad_state(),
        }
    }
}
