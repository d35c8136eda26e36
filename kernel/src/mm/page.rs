//! `struct page` and its flag bits (include/linux/mm_types.h, include/linux/page-flags.h).
//!
//! Layout follows **Linux v5.13** (the last release before the fix `c24d37322548`, and the one
//! the spec's §2.1 describes): a tail page's `compound_head` word holds the head's `struct page`
//! *address* with bit 0 set; the first tail (`page[1]`) carries `compound_dtor`,
//! `compound_order`, `compound_nr` and `compound_mapcount`; the second tail (`page[2]`) carries
//! `hpage_pinned_refcount` (v5.18 moved it into `page[1]`, later kernels into `folio->_pincount`).
//! Linux overlays these fields in a union; here every page has all of them (Rust atomics cannot
//! share storage), and only `page[1]`/`page[2]` of a compound page use them. The struct is still
//! exactly 64 bytes and 64-byte aligned, so one page's refcount and another page's
//! `compound_head` never share a cache line (spec §7 "place S_clr and S_ref on different lines").
//!
//! Every field is an atomic from [`crate::sync`] so the same code runs under loom and no variant
//! ever races on plain data.
// Linux's page-flag test names (`PageHead`, `PageTail`, ...) are kept verbatim.
#![allow(non_snake_case)]

use crate::sync::{read_once, write_once, AtomicI32, AtomicU32, AtomicU64, AtomicUsize};

/// `PG_reserved`: never handed to the allocator (kernel image, DTB, mem_map itself, holes).
pub const PG_RESERVED: u64 = 1 << 0;
/// `PG_head`: first page of a compound page.
pub const PG_HEAD: u64 = 1 << 1;
/// `PG_buddy` (a page type in Linux): head of a free block on a buddy free list.
pub const PG_BUDDY: u64 = 1 << 2;
/// Testbed oracle flag (no Linux equivalent): head of a block sitting on a per-CPU list.
/// Lets the free path detect double frees of pages already on a pcp list.
pub const PG_PCP: u64 = 1 << 3;
/// `PG_uptodate`-like marker available to users of the page (not used by the allocator).
pub const PG_UPTODATE: u64 = 1 << 4;

/// `PAGE_FLAGS_CHECK_AT_PREP`: bits that must be clear on a page leaving the allocator.
pub const PAGE_FLAGS_CHECK_AT_PREP: u64 = PG_HEAD | PG_BUDDY | PG_PCP | PG_UPTODATE;

/// `TAIL_MAPPING`: poison value in a tail's `mapping` (Linux: `0x400 + POISON_POINTER_DELTA`).
pub const TAIL_MAPPING: usize = 0x400;

/// "No page" in the pfn-index free-list links.
pub const NO_PAGE: u32 = u32::MAX;

/// One `struct page` per frame.
#[repr(C, align(64))]
pub struct Page {
    /// `page->flags` (`PG_*` bits above). Updated with non-atomic read-modify-writes
    /// (`__SetPageHead` style) only by the page's exclusive owner.
    pub flags: AtomicU64,
    /// `compound_head`: tail ⇔ bit 0 set; then it is `address of head struct page | 1`.
    /// Head and order-0 pages keep bit 0 clear (Linux: it aliases `lru.next`).
    pub compound_head: AtomicUsize,
    /// Free-list link (`lru.next`) as an index into the mem_map, [`NO_PAGE`] for none.
    pub lru_next: AtomicU32,
    /// Free-list link (`lru.prev`) as an index into the mem_map, [`NO_PAGE`] for none.
    pub lru_prev: AtomicU32,
    /// `page[1].compound_order` (plus `compound_dtor` in bits 8..16, as Linux's u8 pair).
    pub compound_order: AtomicU32,
    /// `page[1].compound_nr` = `1 << order`.
    pub compound_nr: AtomicU32,
    /// `page[1].compound_mapcount` (−1 based, like `_mapcount`).
    pub compound_mapcount: AtomicI32,
    /// `page[2].hpage_pinned_refcount` (v5.13 `compound_pincount_ptr`).
    pub hpage_pinned_refcount: AtomicI32,
    /// `page->mapping` (tails: [`TAIL_MAPPING`]).
    pub mapping: AtomicUsize,
    /// `page->private`: the buddy order of a free block's head (also its order on a pcp list).
    pub private: AtomicU64,
    /// `page->_mapcount` (−1 based).
    pub _mapcount: AtomicI32,
    /// `page->_refcount`.
    pub _refcount: AtomicI32,
}

#[cfg(not(loom))]
const _: () = assert!(
    core::mem::size_of::<Page>() == 64,
    "struct page must stay 64 bytes"
);

impl Page {
    /// A page as `init_single_page` leaves it: refcount 1, mapcount −1, reserved.
    pub fn new_reserved() -> Self {
        Self {
            flags: AtomicU64::new(PG_RESERVED),
            compound_head: AtomicUsize::new(0),
            lru_next: AtomicU32::new(NO_PAGE),
            lru_prev: AtomicU32::new(NO_PAGE),
            compound_order: AtomicU32::new(0),
            compound_nr: AtomicU32::new(0),
            compound_mapcount: AtomicI32::new(-1),
            hpage_pinned_refcount: AtomicI32::new(0),
            mapping: AtomicUsize::new(0),
            private: AtomicU64::new(0),
            _mapcount: AtomicI32::new(-1),
            _refcount: AtomicI32::new(1),
        }
    }

    /// This page's `struct page` address (what a tail's `compound_head` word points at).
    #[inline(always)]
    pub fn addr(&self) -> usize {
        self as *const Page as usize
    }

    /// Current flags (`READ_ONCE(page->flags)`).
    #[inline(always)]
    pub fn flags(&self) -> u64 {
        read_once(&self.flags)
    }

    /// Whether any of `bits` is set.
    #[inline(always)]
    pub fn test_flags(&self, bits: u64) -> bool {
        self.flags() & bits != 0
    }

    /// `__SetPageX`: non-atomic set by the page's exclusive owner.
    #[inline(always)]
    pub fn __set_flags(&self, bits: u64) {
        write_once(&self.flags, self.flags() | bits);
    }

    /// `__ClearPageX`: non-atomic clear by the page's exclusive owner.
    #[inline(always)]
    pub fn __clear_flags(&self, bits: u64) {
        write_once(&self.flags, self.flags() & !bits);
    }
}

/// `PageReserved(page)`.
#[inline(always)]
pub fn PageReserved(page: &Page) -> bool {
    page.test_flags(PG_RESERVED)
}

/// `PageBuddy(page)`.
#[inline(always)]
pub fn PageBuddy(page: &Page) -> bool {
    page.test_flags(PG_BUDDY)
}

/// `PageHead(page)`: the PG_head bit only (Linux: `test_bit(PG_head)`).
#[inline(always)]
pub fn PageHead(page: &Page) -> bool {
    page.test_flags(PG_HEAD)
}

/// `PageTail(page)`: bit 0 of one `READ_ONCE` of the `compound_head` word.
#[inline(always)]
pub fn PageTail(page: &Page) -> bool {
    read_once(&page.compound_head) & 1 != 0
}

/// `PageCompound(page)`: head or tail.
#[inline(always)]
pub fn PageCompound(page: &Page) -> bool {
    PageHead(page) || PageTail(page)
}

/// `buddy_order(page)`: order stored in `private` of a free block's head.
#[inline(always)]
pub fn buddy_order(page: &Page) -> usize {
    read_once(&page.private) as usize
}

/// `set_page_private(page, v)`.
#[inline(always)]
pub fn set_page_private(page: &Page, v: u64) {
    write_once(&page.private, v);
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn flags_set_and_clear() {
        let p = Page::new_reserved();
        assert!(PageReserved(&p));
        p.__set_flags(PG_HEAD | PG_BUDDY);
        assert!(PageHead(&p) && PageBuddy(&p) && PageCompound(&p));
        p.__clear_flags(PG_HEAD | PG_RESERVED);
        assert!(!PageHead(&p) && !PageReserved(&p) && PageBuddy(&p));
        assert!(!PageTail(&p));
        write_once(&p.compound_head, 0x1000 | 1);
        assert!(PageTail(&p));
        assert_eq!(core::mem::align_of::<Page>(), 64);
    }
}
