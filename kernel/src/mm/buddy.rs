//! The buddy free lists of a zone (`zone->free_area[]`), used only under `zone->lock`:
//! `__free_one_page` (merging), `__rmqueue_smallest` and `expand` (splitting).

use super::list::ListHead;
use super::memmap::MemMap;
use super::page::{buddy_order, set_page_private, Page, PageBuddy, PG_BUDDY};
use super::types::MAX_ORDER;

/// `zone->free_area[order]` for every order.
pub struct FreeArea {
    lists: [ListHead; MAX_ORDER],
    nr_free: [usize; MAX_ORDER],
}

impl Default for FreeArea {
    fn default() -> Self {
        Self::new()
    }
}

/// `__find_buddy_pfn(pfn, order)`.
#[inline(always)]
pub fn __find_buddy_pfn(pfn: u64, order: usize) -> u64 {
    pfn ^ (1 << order)
}

/// `page_is_buddy(page, buddy, order)`: the buddy is covered, free in the buddy lists and of
/// exactly this order.
#[inline(always)]
fn page_is_buddy(mm: &MemMap, buddy_pfn: u64, order: usize) -> Option<&Page> {
    if !mm.pfn_valid(buddy_pfn) {
        return None;
    }
    let b = mm.pfn_to_page(buddy_pfn);
    (PageBuddy(b) && buddy_order(b) == order).then_some(b)
}

impl FreeArea {
    /// Empty free lists.
    pub fn new() -> Self {
        Self {
            lists: core::array::from_fn(|_| ListHead::new()),
            nr_free: [0; MAX_ORDER],
        }
    }

    /// `free_area[order].nr_free`: free blocks of this order.
    pub fn nr_free(&self, order: usize) -> usize {
        self.nr_free[order]
    }

    /// Free base pages in all orders.
    pub fn free_pages(&self) -> usize {
        (0..MAX_ORDER).map(|o| self.nr_free[o] << o).sum()
    }

    /// The list of one order (audits walk it).
    pub fn list(&self, order: usize) -> &ListHead {
        &self.lists[order]
    }

    /// `add_to_free_list` + `set_buddy_order`.
    fn add_to_free_list(&mut self, mm: &MemMap, page: &Page, order: usize) {
        set_page_private(page, order as u64);
        page.__set_flags(PG_BUDDY);
        self.lists[order].add(mm, page);
        self.nr_free[order] += 1;
    }

    /// `del_page_from_free_list`.
    fn del_page_from_free_list(&mut self, mm: &MemMap, page: &Page, order: usize) {
        self.lists[order].del(mm, page);
        page.__clear_flags(PG_BUDDY);
        set_page_private(page, 0);
        self.nr_free[order] -= 1;
    }

    /// `__free_one_page(page, pfn, zone, order)`: merge with free buddies as far as possible,
    /// then put the block on its free list.
    pub fn __free_one_page(&mut self, mm: &MemMap, mut pfn: u64, mut order: usize) {
        while order < MAX_ORDER - 1 {
            let buddy_pfn = __find_buddy_pfn(pfn, order);
            let Some(buddy) = page_is_buddy(mm, buddy_pfn, order) else {
                break;
            };
            self.del_page_from_free_list(mm, buddy, order);
            pfn &= buddy_pfn;
            order += 1;
        }
        self.add_to_free_list(mm, mm.pfn_to_page(pfn), order);
    }

    /// `expand(zone, page, low, high)`: `page` heads a block of order `high`; give the upper
    /// halves back until a block of order `low` is left at `page`.
    fn expand(&mut self, mm: &MemMap, page: &Page, low: usize, mut high: usize) {
        while high > low {
            high -= 1;
            self.add_to_free_list(mm, mm.nth_page(page, 1 << high), high);
        }
    }

    /// `__rmqueue_smallest(zone, order)`: take the smallest free block of at least `order`
    /// and split it down to `order`.
    pub fn __rmqueue_smallest<'a>(&mut self, mm: &'a MemMap, order: usize) -> Option<&'a Page> {
        for current in order..MAX_ORDER {
            let Some(page) = self.lists[current].pop_first(mm) else {
                continue;
            };
            page.__clear_flags(PG_BUDDY);
            set_page_private(page, 0);
            self.nr_free[current] -= 1;
            self.expand(mm, page, order, current);
            return Some(page);
        }
        None
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use crate::mm::page::PG_RESERVED;

    fn map(nr: usize) -> MemMap {
        let m = MemMap::new_owned(1024, nr, false);
        for p in m.pages() {
            p.__clear_flags(PG_RESERVED);
        }
        m
    }

    #[test]
    fn freeing_all_order0_pages_merges_to_max_blocks() {
        let m = map(2048);
        let mut fa = FreeArea::new();
        for pfn in 1024..1024 + 2048 {
            fa.__free_one_page(&m, pfn, 0);
        }
        assert_eq!(fa.nr_free(MAX_ORDER - 1), 2);
        assert_eq!((0..MAX_ORDER - 1).map(|o| fa.nr_free(o)).sum::<usize>(), 0);
        assert_eq!(fa.free_pages(), 2048);
    }

    #[test]
    fn rmqueue_splits_and_free_merges_back() {
        let m = map(1024);
        let mut fa = FreeArea::new();
        fa.__free_one_page(&m, 1024, 10);
        let p = fa.__rmqueue_smallest(&m, 0).unwrap();
        assert_eq!(m.page_to_pfn(p), 1024);
        assert!(!PageBuddy(p));
        for o in 0..10 {
            assert_eq!(fa.nr_free(o), 1, "expand leaves one block per lower order");
        }
        let q = fa.__rmqueue_smallest(&m, 3).unwrap();
        assert_eq!(m.page_to_pfn(q), 1024 + 8);
        fa.__free_one_page(&m, 1024, 0);
        fa.__free_one_page(&m, 1024 + 8, 3);
        assert_eq!(fa.nr_free(10), 1);
        assert_eq!(fa.free_pages(), 1024);
        assert!(fa.__rmqueue_smallest(&m, 10).is_some());
        assert!(fa.__rmqueue_smallest(&m, 0).is_none());
    }

    #[test]
    fn buddy_outside_the_map_or_of_other_order_is_not_merged() {
        let m = map(4);
        let mut fa = FreeArea::new();
        fa.__free_one_page(&m, 1024 + 2, 1);
        fa.__free_one_page(&m, 1024, 0);
        assert_eq!((fa.nr_free(0), fa.nr_free(1)), (1, 1));
        fa.__free_one_page(&m, 1025, 0);
        assert_eq!(fa.nr_free(2), 1);
        assert_eq!(fa.free_pages(), 4);
    }
}
