//! Compound pages (spec §2.1–2.2): `prep_compound_page`, `compound_head`, `compound_order`,
//! `compound_nr`, the first-tail metadata accessors. v5.13 layout (see [`super::page`]).

use super::memmap::MemMap;
use super::page::{Page, PageHead, PG_HEAD, TAIL_MAPPING};
use super::page_ref::set_page_count;
use crate::sync::{read_once, write_once, AtomicI32};

/// `COMPOUND_PAGE_DTOR` (the only destructor gupbed has: free the pages).
pub const COMPOUND_PAGE_DTOR: u32 = 1;

/// `compound_head(page)`: one dependency-ordered `READ_ONCE` of the word.
#[inline(always)]
pub fn compound_head<'a>(mm: &'a MemMap, page: &'a Page) -> &'a Page {
    mm.compound_head(page)
}

/// `set_compound_head(page, head)`: `WRITE_ONCE(page->compound_head, head + 1)` (S_ch).
#[inline(always)]
pub fn set_compound_head(page: &Page, head: &Page) {
    write_once(&page.compound_head, head.addr() | 1);
}

/// `clear_compound_head(page)`: `WRITE_ONCE(page->compound_head, 0)` (S_clr).
#[inline(always)]
pub fn clear_compound_head(page: &Page) {
    write_once(&page.compound_head, 0);
}

/// `compound_order(page)`: 0 unless `PageHead(page)`, else `page[1].compound_order`.
#[inline(always)]
pub fn compound_order(mm: &MemMap, page: &Page) -> usize {
    if !PageHead(page) {
        return 0;
    }
    (read_once(&mm.nth_page(page, 1).compound_order) & 0xff) as usize
}

/// `compound_nr(page)`: 1 unless `PageHead(page)`, else `page[1].compound_nr`.
#[inline(always)]
pub fn compound_nr(mm: &MemMap, page: &Page) -> usize {
    if !PageHead(page) {
        return 1;
    }
    read_once(&mm.nth_page(page, 1).compound_nr) as usize
}

/// `compound_mapcount_ptr(head)`: `&head[1].compound_mapcount`.
#[inline(always)]
pub fn compound_mapcount_ptr<'a>(mm: &'a MemMap, head: &'a Page) -> &'a AtomicI32 {
    &mm.nth_page(head, 1).compound_mapcount
}

/// `set_compound_order(page, order)`: `page[1]` order, dtor and nr.
#[inline(always)]
fn set_compound_order(mm: &MemMap, head: &Page, order: usize) {
    let p1 = mm.nth_page(head, 1);
    write_once(&p1.compound_order, order as u32 | COMPOUND_PAGE_DTOR << 8);
    write_once(&p1.compound_nr, 1u32 << order);
}

/// `prep_compound_page(page, order)` as in v5.13: PG_head on the head; every tail gets
/// refcount 0, `TAIL_MAPPING` and `compound_head = head | 1` (S_ch, a plain `WRITE_ONCE`);
/// then `page[1]` dtor/order/nr, `compound_mapcount = -1`, and the pin count (`page[2]`) 0 when
/// `hpage_pincount_available` (order > 1). No barrier anywhere: ordering against the refcount
/// publication is the caller's ([`super::knobs::InitOrder`]).
pub fn prep_compound_page(mm: &MemMap, head: &Page, order: usize) {
    debug_assert!(order > 0);
    head.__set_flags(PG_HEAD);
    for i in 1..1usize << order {
        let p = mm.nth_page(head, i);
        set_page_count(p, 0);
        write_once(&p.mapping, TAIL_MAPPING);
        set_compound_head(p, head);
    }
    set_compound_order(mm, head, order);
    write_once(compound_mapcount_ptr(mm, head), -1);
    if order > 1 {
        write_once(&mm.nth_page(head, 2).hpage_pinned_refcount, 0);
    }
}

/// Clear `page[1]`'s compound metadata (the head stops being compound: split).
pub(super) fn clear_compound_metadata(mm: &MemMap, head: &Page) {
    let p1 = mm.nth_page(head, 1);
    write_once(&p1.compound_order, 0);
    write_once(&p1.compound_nr, 0);
    write_once(&p1.compound_mapcount, -1);
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use crate::mm::page::PageTail;
    use crate::mm::page_ref::page_ref_count;

    #[test]
    fn prep_compound_page_links_tails_and_sets_metadata() {
        let m = MemMap::new_owned(0, 8, false);
        let h = m.pfn_to_page(0);
        prep_compound_page(&m, h, 3);
        assert!(PageHead(h) && !PageTail(h));
        assert_eq!(compound_order(&m, h), 3);
        assert_eq!(compound_nr(&m, h), 8);
        for i in 1..8 {
            let t = m.pfn_to_page(i);
            assert!(PageTail(t));
            assert!(core::ptr::eq(compound_head(&m, t), h));
            assert_eq!(page_ref_count(t), 0);
            assert_eq!(compound_order(&m, t), 0, "compound_order of a tail is 0");
            assert_eq!(read_once(&t.mapping), TAIL_MAPPING);
        }
        assert_eq!(read_once(compound_mapcount_ptr(&m, h)), -1);
        clear_compound_head(m.pfn_to_page(5));
        assert!(!PageTail(m.pfn_to_page(5)));
    }
}
