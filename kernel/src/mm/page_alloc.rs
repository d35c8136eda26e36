//! The allocation and free paths of mm/page_alloc.c (spec §2.2, §2.3, §3): `alloc_pages`,
//! `rmqueue`, `check_new_pages`, `prep_new_page`, `post_alloc_hook`, `free_pages_prepare`,
//! `free_the_page`, `free_unref_page`, `__free_pages_ok`, `__free_pages`, `put_page`.
//!
//! v5.14 shape: high-order blocks of a pcp-allowed order (0..=3, 9) go through the per-CPU
//! lists both ways, compound pages are freed with `free_the_page` (44042b449872).

use super::compound::{clear_compound_head, compound_order, prep_compound_page};
use super::debug::{check_poison, poison_pages, BadReason};
use super::knobs::{InitOrder, MmKnobs, TailClearOrder};
use super::page::{set_page_private, Page, PageHead, PAGE_FLAGS_CHECK_AT_PREP, PG_BUDDY, PG_PCP};
use super::page_ref::{page_ref_count, page_ref_dec_return, page_ref_inc, set_page_count};
use super::pcp::pcp_allowed_order;
use super::types::{Gfp, __GFP_COMP, MAX_ORDER};
use super::zone::Zone;
use crate::sync::{read_once, smp_store_release, smp_wmb, write_once};

impl Zone {
    /// `alloc_pages(gfp, order)` on CPU `cpu`: a block of `2^order` frames with refcount 1 on
    /// its first page; a compound page if `gfp` has `__GFP_COMP` and `order > 0`. `None` when
    /// no block is free.
    pub fn alloc_pages(&self, cpu: usize, order: usize, gfp: Gfp) -> Option<&Page> {
        self.alloc_pages_from(cpu, order, gfp, false)
    }

    /// Like [`Zone::alloc_pages`] but straight from the buddy lists under `zone->lock`
    /// (`rmqueue_buddy`) whatever the order: the path the per-CPU lists are measured against.
    pub fn alloc_pages_buddy(&self, cpu: usize, order: usize, gfp: Gfp) -> Option<&Page> {
        self.alloc_pages_from(cpu, order, gfp, true)
    }

    fn alloc_pages_from(&self, cpu: usize, order: usize, gfp: Gfp, buddy: bool) -> Option<&Page> {
        if order >= MAX_ORDER {
            return None;
        }
        let k = self.knobs();
        loop {
            let page = if buddy {
                self.lock.lock().__rmqueue_smallest(&self.mm, order)?
            } else {
                self.rmqueue(cpu, order)?
            };
            if k.check_new_pages && self.check_new_pages(cpu, page, order) {
                // Linux: a bad page is reported and dropped (leaked); try another block.
                continue;
            }
            self.prep_new_page(cpu, page, order, gfp, k);
            return Some(page);
        }
    }

    /// `rmqueue`: per-CPU lists for pcp-allowed orders, the buddy lists otherwise.
    fn rmqueue(&self, cpu: usize, order: usize) -> Option<&Page> {
        if pcp_allowed_order(order) {
            return self.rmqueue_pcplist(cpu, order);
        }
        self.lock.lock().__rmqueue_smallest(&self.mm, order)
    }

    /// `check_new_page` for each frame of the block: a page leaving a free list must have
    /// refcount 0, no tail `compound_head` word and no prep-checked flag (W6). Relaxed reads,
    /// counted as `bad_state` with the first details. True if any frame was bad.
    fn check_new_pages(&self, cpu: usize, page: &Page, order: usize) -> bool {
        let mut bad = false;
        for i in 0..1usize << order {
            let p = self.mm.nth_page(page, i);
            let pfn = || self.mm.page_to_pfn(p);
            let rc = page_ref_count(p);
            if rc != 0 {
                self.stats.report(
                    cpu,
                    pfn(),
                    BadReason::NonzeroRefcountAtAlloc,
                    rc as u32 as u64,
                );
                bad = true;
            }
            let ch = read_once(&p.compound_head);
            if ch & 1 != 0 {
                self.stats
                    .report(cpu, pfn(), BadReason::StaleCompoundHead, ch as u64);
                bad = true;
            }
            let fl = p.flags() & PAGE_FLAGS_CHECK_AT_PREP;
            if fl != 0 {
                self.stats
                    .report(cpu, pfn(), BadReason::StaleFlagsAtAlloc, fl);
                bad = true;
            }
        }
        bad
    }

    /// `set_page_refcounted(page)`: refcount 0→1. Linux: plain `atomic_set`; W7: Release.
    #[inline(always)]
    fn set_page_refcounted(page: &Page, order: InitOrder) {
        match order {
            InitOrder::Linux => set_page_count(page, 1),
            InitOrder::W7 => smp_store_release(&page._refcount, 1),
            InitOrder::LastRelaxed => set_page_count(page, 1),
        }
    }

    /// `prep_new_page` = `post_alloc_hook` (+ `prep_compound_page`). Knob W7 decides whether the
    /// refcount store comes first (Linux) or last with Release.
    fn prep_new_page(&self, cpu: usize, page: &Page, order: usize, gfp: Gfp, k: MmKnobs) {
        // post_alloc_hook
        set_page_private(page, 0);
        if k.poison {
            if let Some(v) = check_poison(&self.mm, page, 1 << order) {
                self.stats.report(
                    cpu,
                    self.mm.page_to_pfn(page),
                    BadReason::PoisonOverwritten,
                    v,
                );
            }
        }
        if k.init_order == InitOrder::Linux {
            Self::set_page_refcounted(page, InitOrder::Linux); // S_ref before S_ch (§2.2)
        }
        if order > 0 && gfp & __GFP_COMP != 0 {
            prep_compound_page(&self.mm, page, order);
        }
        if k.init_order != InitOrder::Linux {
            // Refcount last: Release (W7) or plain (LastRelaxed).
            Self::set_page_refcounted(page, k.init_order);
        }
    }

    /// `free_pages_prepare(page, order)`: checks, then for a compound page clear every tail's
    /// `compound_head` (S_clr, plain `WRITE_ONCE`) and `mapping`, clear the prep-checked flags
    /// (PG_head last, after the tails, as v5.13). Knob W2: `Release` adds `smp_wmb()` after the
    /// tail clearing. Poisons the frames if asked. False if the page must not be freed (double
    /// free or bad state: counted, the block is leaked as Linux's `bad_page` does).
    fn free_pages_prepare(&self, cpu: usize, page: &Page, order: usize, k: MmKnobs) -> bool {
        let pfn = || self.mm.page_to_pfn(page);
        let fl = page.flags();
        if fl & (PG_BUDDY | PG_PCP) != 0 {
            self.stats.report(cpu, pfn(), BadReason::DoubleFree, fl);
            return false;
        }
        let rc = page_ref_count(page);
        let mc = read_once(&page._mapcount);
        if rc != 0 || mc != -1 {
            self.stats
                .report(cpu, pfn(), BadReason::BadStateAtFree, rc as u32 as u64);
            return false;
        }
        let compound = PageHead(page);
        let mut bad = false;
        for i in 1..1usize << order {
            let t = self.mm.nth_page(page, i);
            if compound {
                // free_tail_pages_check: ALWAYS clears mapping and compound_head.
                write_once(&t.mapping, 0);
                clear_compound_head(t); // S_clr
            }
            let trc = page_ref_count(t);
            if trc != 0 || t.flags() & (PG_BUDDY | PG_PCP) != 0 {
                self.stats.report(
                    cpu,
                    self.mm.page_to_pfn(t),
                    BadReason::BadStateAtFree,
                    trc as u32 as u64,
                );
                bad = true;
                continue;
            }
            t.__clear_flags(PAGE_FLAGS_CHECK_AT_PREP);
        }
        write_once(&page.mapping, 0);
        page.__clear_flags(PAGE_FLAGS_CHECK_AT_PREP);
        if compound && k.tail_clear == TailClearOrder::Release {
            smp_wmb(); // W2: S_clr before any later publication of this block
        }
        if bad {
            return false;
        }
        if k.poison {
            poison_pages(&self.mm, page, 1 << order);
        }
        true
    }

    /// `free_unref_page(page, order)`: prepare, then onto `cpu`'s list.
    fn free_unref_page(&self, cpu: usize, page: &Page, order: usize) {
        if self.free_pages_prepare(cpu, page, order, self.knobs()) {
            self.free_unref_page_commit(cpu, page, order);
        }
    }

    /// `__free_pages_ok(page, order)`: prepare, then `__free_one_page` under `zone->lock`.
    fn __free_pages_ok(&self, cpu: usize, page: &Page, order: usize) {
        if self.free_pages_prepare(cpu, page, order, self.knobs()) {
            self.lock
                .lock()
                .__free_one_page(&self.mm, self.mm.page_to_pfn(page), order);
        }
    }

    /// `free_the_page(page, order)`: per-CPU lists when the order allows, else the buddy.
    pub fn free_the_page(&self, cpu: usize, page: &Page, order: usize) {
        if pcp_allowed_order(order) {
            self.free_unref_page(cpu, page, order);
        } else {
            self.__free_pages_ok(cpu, page, order);
        }
    }

    /// `put_page_testzero` with Linux's `VM_BUG_ON_PAGE(page_ref_count(page) == 0)` turned into
    /// a counted `bad_state` (the decrement itself is the same fully ordered RMW).
    #[inline(always)]
    pub fn put_page_testzero(&self, cpu: usize, page: &Page) -> bool {
        let new = page_ref_dec_return(page);
        if new < 0 {
            self.stats.report(
                cpu,
                self.mm.page_to_pfn(page),
                BadReason::PutOnZeroRefcount,
                new as u32 as u64,
            );
        }
        new == 0
    }

    /// `__free_pages(page, order)`: drop a reference; free the block if it was the last. If
    /// not, and the block is not compound, free the upper parts now (v5.10+ behaviour).
    ///
    /// `PageHead` is read *before* the put (v5.16+ "get PageHead before we drop reference"):
    /// once our reference is gone, a speculative holder may free the page and it may come
    /// back as somebody else's compound head, which would leak the upper parts.
    pub fn __free_pages(&self, cpu: usize, page: &Page, mut order: usize) {
        let head = PageHead(page);
        if self.put_page_testzero(cpu, page) {
            self.free_the_page(cpu, page, order);
        } else if !head {
            while order > 0 {
                order -= 1;
                self.free_the_page(cpu, self.mm.nth_page(page, 1 << order), order);
            }
        }
    }

    /// Like [`Zone::__free_pages`] for a non-compound block, but the last reference frees it
    /// straight to the buddy lists (`__free_pages_ok`), bypassing the per-CPU lists.
    pub fn __free_pages_buddy(&self, cpu: usize, page: &Page, order: usize) {
        if self.put_page_testzero(cpu, page) {
            self.__free_pages_ok(cpu, page, order);
        }
    }

    /// `get_page(page)`: a reference on `compound_head(page)` for a caller that already holds
    /// one (no speculation).
    pub fn get_page(&self, page: &Page) {
        page_ref_inc(self.mm.compound_head(page));
    }

    /// `put_page(page)`: drop a reference on `compound_head(page)`; the last one frees it
    /// (`__put_page` → `destroy_compound_page` → `free_the_page`, or `free_unref_page`).
    pub fn put_page(&self, cpu: usize, page: &Page) {
        let head = self.mm.compound_head(page);
        if self.put_page_testzero(cpu, head) {
            self.__put_page(cpu, head);
        }
    }

    /// `put_page_refs(page, refs)` (v5.14 gup.c): drop `refs` references on a head; the last
    /// one frees it.
    pub fn put_page_refs(&self, cpu: usize, head: &Page, refs: i32) {
        if refs > 1 {
            super::page_ref::page_ref_sub(head, refs - 1);
        }
        self.put_page(cpu, head);
    }

    /// `__put_page(head)` once the refcount reached zero.
    fn __put_page(&self, cpu: usize, head: &Page) {
        if PageHead(head) {
            self.destroy_compound_page(cpu, head);
        } else {
            self.free_the_page(cpu, head, 0);
        }
    }

    /// `destroy_compound_page` → `free_compound_page` → `free_the_page(head, order)`.
    fn destroy_compound_page(&self, cpu: usize, head: &Page) {
        let order = compound_order(&self.mm, head);
        self.free_the_page(cpu, head, order);
    }
}
