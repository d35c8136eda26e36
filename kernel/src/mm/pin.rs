//! FOLL_PIN accounting support (spec §4, v5.13/v5.14 rules). GUP writes the grab itself on top
//! of these.

use super::compound::compound_order;
use super::memmap::MemMap;
use super::page::{Page, PageCompound};
use super::page_ref::page_ref_count;
use crate::sync::{read_once, AtomicI32};

/// `GUP_PIN_COUNTING_BIAS` (include/linux/mm.h): a FOLL_PIN on a small page adds this much.
pub const GUP_PIN_COUNTING_BIAS: i32 = 1 << 10;

/// `hpage_pincount_available(page)`: the head is compound of order > 1 (v5.13: the pin count
/// lives in `page[2]`, which order-1 pages do not have).
#[inline(always)]
pub fn hpage_pincount_available(mm: &MemMap, page: &Page) -> bool {
    let head = mm.compound_head(page);
    PageCompound(head) && compound_order(mm, head) > 1
}

/// `compound_pincount_ptr(head)`: `&head[2].hpage_pinned_refcount`. `head` must be a head of
/// order > 1.
#[inline(always)]
pub fn compound_pincount_ptr<'a>(mm: &'a MemMap, head: &'a Page) -> &'a AtomicI32 {
    &mm.nth_page(head, 2).hpage_pinned_refcount
}

/// `compound_pincount(page)`: the head's pin count (relaxed read).
#[inline(always)]
pub fn compound_pincount(mm: &MemMap, page: &Page) -> i32 {
    let head = mm.compound_head(page);
    read_once(compound_pincount_ptr(mm, head))
}

/// `page_maybe_dma_pinned(page)`: large pages: pin count > 0; small pages: refcount ≥ BIAS
/// (false positives accepted, as in Linux).
#[inline(always)]
pub fn page_maybe_dma_pinned(mm: &MemMap, page: &Page) -> bool {
    if hpage_pincount_available(mm, page) {
        return compound_pincount(mm, page) > 0;
    }
    page_ref_count(mm.compound_head(page)) >= GUP_PIN_COUNTING_BIAS
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use crate::mm::compound::prep_compound_page;
    use crate::mm::page_ref::{page_ref_add, set_page_count};
    use crate::sync::write_once;

    #[test]
    fn pin_accounting_gate_and_maybe_pinned() {
        let m = MemMap::new_owned(0, 8, false);
        let h = m.pfn_to_page(0);
        set_page_count(h, 1);
        assert!(!hpage_pincount_available(&m, h));
        assert!(!page_maybe_dma_pinned(&m, h));
        page_ref_add(h, GUP_PIN_COUNTING_BIAS);
        assert!(page_maybe_dma_pinned(&m, h), "small page: refcount >= BIAS");
        set_page_count(h, 1);
        prep_compound_page(&m, h, 1);
        assert!(
            !hpage_pincount_available(&m, m.pfn_to_page(1)),
            "order 1 has no page[2]"
        );
        let h4 = m.pfn_to_page(4);
        prep_compound_page(&m, h4, 2);
        let t = m.pfn_to_page(7);
        assert!(hpage_pincount_available(&m, t));
        assert!(!page_maybe_dma_pinned(&m, t));
        write_once(compound_pincount_ptr(&m, h4), 1);
        assert_eq!(compound_pincount(&m, t), 1);
        assert!(page_maybe_dma_pinned(&m, t));
    }
}
