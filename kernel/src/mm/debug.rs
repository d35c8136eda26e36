//! Allocator-side oracles (mm/debug.c, `bad_page`, page poisoning): counters of bad page state
//! and double frees with the first occurrence's details, and freed-frame poisoning.
//!
//! Everything here is relaxed bookkeeping outside the race windows. The counters are plain
//! `core` atomics on purpose: they are never part of a race under test and must not add loom
//! states or barriers.

use super::memmap::MemMap;
use super::page::Page;
use core::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering::Relaxed};

/// What was wrong with a page (the `bad_page` reason).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum BadReason {
    /// A page leaving a free list had a non-zero `_refcount` (W6 / V7 oracle).
    NonzeroRefcountAtAlloc = 1,
    /// A page leaving a free list still had a tail `compound_head` word.
    StaleCompoundHead = 2,
    /// A page leaving a free list still had PG_head (or another prep-checked flag).
    StaleFlagsAtAlloc = 3,
    /// A page being freed had a non-zero `_refcount` or `_mapcount`.
    BadStateAtFree = 4,
    /// `put_page` on a page whose refcount was already 0 (underflow).
    PutOnZeroRefcount = 5,
    /// A freed frame's poison pattern was overwritten before reallocation (use after free).
    PoisonOverwritten = 6,
    /// A free page was found in an impossible state by an audit.
    AuditInconsistent = 7,
    /// Double free: the page was already on a buddy or per-CPU free list.
    DoubleFree = 8,
}

impl BadReason {
    /// Short machine name.
    pub fn name(self) -> &'static str {
        match self {
            BadReason::NonzeroRefcountAtAlloc => "nonzero_refcount_at_alloc",
            BadReason::StaleCompoundHead => "stale_compound_head",
            BadReason::StaleFlagsAtAlloc => "stale_flags_at_alloc",
            BadReason::BadStateAtFree => "bad_state_at_free",
            BadReason::PutOnZeroRefcount => "put_on_zero_refcount",
            BadReason::PoisonOverwritten => "poison_overwritten",
            BadReason::AuditInconsistent => "audit_inconsistent",
            BadReason::DoubleFree => "double_free",
        }
    }

    fn from_u32(v: u32) -> Option<Self> {
        use BadReason::*;
        [
            NonzeroRefcountAtAlloc,
            StaleCompoundHead,
            StaleFlagsAtAlloc,
            BadStateAtFree,
            PutOnZeroRefcount,
            PoisonOverwritten,
            AuditInconsistent,
            DoubleFree,
        ]
        .into_iter()
        .find(|r| *r as u32 == v)
    }
}

/// Details of the first bad event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BadInfo {
    /// CPU that noticed it.
    pub cpu: usize,
    /// Frame number.
    pub pfn: u64,
    /// Why.
    pub reason: BadReason,
    /// The offending value (refcount, word, flags).
    pub value: u64,
}

/// Oracle counters of one zone.
#[derive(Default)]
pub struct MmStats {
    bad_state: AtomicU64,
    double_free: AtomicU64,
    claimed: AtomicBool,
    ready: AtomicBool,
    first_cpu: AtomicU64,
    first_pfn: AtomicU64,
    first_reason: AtomicU32,
    first_value: AtomicU64,
}

impl MmStats {
    /// Count a bad page state (or a double free, which has its own counter).
    #[cold]
    pub fn report(&self, cpu: usize, pfn: u64, reason: BadReason, value: u64) {
        if reason == BadReason::DoubleFree {
            self.double_free.fetch_add(1, Relaxed);
        } else {
            self.bad_state.fetch_add(1, Relaxed);
        }
        if !self.claimed.swap(true, Relaxed) {
            self.first_cpu.store(cpu as u64, Relaxed);
            self.first_pfn.store(pfn, Relaxed);
            self.first_reason.store(reason as u32, Relaxed);
            self.first_value.store(value, Relaxed);
            self.ready
                .store(true, core::sync::atomic::Ordering::Release);
        }
    }
    /// Record `pfn`/`reason` as the first event if none is recorded yet, without counting it.
    pub fn note_first(&self, pfn: u64, reason: BadReason) {
        if !self.claimed.swap(true, Relaxed) {
            self.first_cpu.store(usize::MAX as u64, Relaxed);
            self.first_pfn.store(pfn, Relaxed);
            self.first_reason.store(reason as u32, Relaxed);
            self.first_value.store(0, Relaxed);
            self.ready
                .store(true, core::sync::atomic::Ordering::Release);
        }
    }
    /// Bad page states seen so far.
    pub fn bad_state(&self) -> u64 {
        self.bad_state.load(Relaxed)
    }
    /// Double frees seen so far.
    pub fn double_free(&self) -> u64 {
        self.double_free.load(Relaxed)
    }
    /// The first event's details, once recorded.
    pub fn first(&self) -> Option<BadInfo> {
        if !self.ready.load(core::sync::atomic::Ordering::Acquire) {
            return None;
        }
        Some(BadInfo {
            cpu: self.first_cpu.load(Relaxed) as usize,
            pfn: self.first_pfn.load(Relaxed),
            reason: BadReason::from_u32(self.first_reason.load(Relaxed))?,
            value: self.first_value.load(Relaxed),
        })
    }
}

/// Pattern written over freed frames (Linux `PAGE_POISON` is 0xaa).
pub const PAGE_POISON_WORD: u64 = 0xaaaa_aaaa_aaaa_aaaa;

/// `kernel_poison_pages`: fill the `nr` frames from `page` with the poison pattern.
pub fn poison_pages(mm: &MemMap, page: &Page, nr: usize) {
    for k in 0..nr {
        if let Some(words) = mm.frame_words(mm.nth_page(page, k)) {
            for w in words {
                w.store(PAGE_POISON_WORD, Relaxed);
            }
        }
    }
}

/// `check_poison_mem`: true if all `nr` frames still hold the pattern (or are not backed).
pub fn check_poison(mm: &MemMap, page: &Page, nr: usize) -> Option<u64> {
    for k in 0..nr {
        let p = mm.nth_page(page, k);
        if let Some(words) = mm.frame_words(p) {
            if let Some(bad) = words
                .iter()
                .map(|w| w.load(Relaxed))
                .find(|v| *v != PAGE_POISON_WORD)
            {
                return Some(bad);
            }
        }
    }
    None
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use crate::mm::memmap::alloc_leaked_ram;

    #[test]
    fn first_event_is_kept_and_counters_split() {
        let s = MmStats::default();
        assert!(s.first().is_none());
        s.report(1, 7, BadReason::StaleCompoundHead, 0x1001);
        s.report(0, 9, BadReason::DoubleFree, 0);
        assert_eq!(s.bad_state(), 1);
        assert_eq!(s.double_free(), 1);
        let f = s.first().unwrap();
        assert_eq!(
            (f.cpu, f.pfn, f.reason, f.value),
            (1, 7, BadReason::StaleCompoundHead, 0x1001)
        );
        assert_eq!(f.reason.name(), "stale_compound_head");
    }

    #[test]
    fn poison_detects_a_write_after_free() {
        let ram = alloc_leaked_ram(2, 0);
        let m = MemMap::new_owned(ram.start_pfn(), 2, true);
        let p = m.pfn_to_page(ram.start_pfn());
        poison_pages(&m, p, 2);
        assert_eq!(check_poison(&m, p, 2), None);
        m.frame_words(m.nth_page(p, 1)).unwrap()[100].store(5, Relaxed);
        assert_eq!(check_poison(&m, p, 2), Some(5));
    }
}
