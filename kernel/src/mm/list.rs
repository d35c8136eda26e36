//! Doubly linked page lists (`struct list_head` through `page->lru`), with links stored as
//! mem_map indices in [`Page::lru_next`]/[`Page::lru_prev`].
//!
//! Buddy lists are used under `zone->lock`; per-CPU lists by their owner CPU (IrqOff) or under
//! the pcp lock. Every access is a relaxed atomic (`READ_ONCE`/`WRITE_ONCE`): the owner's
//! protection provides the ordering, and a protocol bug shows up as list corruption, never as a
//! data race.

use super::memmap::MemMap;
use super::page::{Page, NO_PAGE};
use crate::sync::{read_once, write_once, AtomicU32};

/// A list head: first and last page index, [`NO_PAGE`] when empty.
pub struct ListHead {
    first: AtomicU32,
    last: AtomicU32,
}

impl Default for ListHead {
    fn default() -> Self {
        Self::new()
    }
}

impl ListHead {
    /// An empty list.
    pub fn new() -> Self {
        Self {
            first: AtomicU32::new(NO_PAGE),
            last: AtomicU32::new(NO_PAGE),
        }
    }

    /// `list_empty`.
    #[inline(always)]
    pub fn is_empty(&self) -> bool {
        read_once(&self.first) == NO_PAGE
    }

    /// `list_add`: insert `page` at the front.
    #[inline]
    pub fn add(&self, mm: &MemMap, page: &Page) {
        let idx = mm.page_idx(page);
        let old = read_once(&self.first);
        write_once(&page.lru_prev, NO_PAGE);
        write_once(&page.lru_next, old);
        if old == NO_PAGE {
            write_once(&self.last, idx);
        } else {
            write_once(&mm.page_at(old).lru_prev, idx);
        }
        write_once(&self.first, idx);
    }

    /// `list_add_tail`: insert `page` at the back.
    #[inline]
    pub fn add_tail(&self, mm: &MemMap, page: &Page) {
        let idx = mm.page_idx(page);
        let old = read_once(&self.last);
        write_once(&page.lru_next, NO_PAGE);
        write_once(&page.lru_prev, old);
        if old == NO_PAGE {
            write_once(&self.first, idx);
        } else {
            write_once(&mm.page_at(old).lru_next, idx);
        }
        write_once(&self.last, idx);
    }

    /// `list_del`: unlink `page`, which must be on this list.
    #[inline]
    pub fn del(&self, mm: &MemMap, page: &Page) {
        let next = read_once(&page.lru_next);
        let prev = read_once(&page.lru_prev);
        if prev == NO_PAGE {
            write_once(&self.first, next);
        } else {
            write_once(&mm.page_at(prev).lru_next, next);
        }
        if next == NO_PAGE {
            write_once(&self.last, prev);
        } else {
            write_once(&mm.page_at(next).lru_prev, prev);
        }
        write_once(&page.lru_next, NO_PAGE);
        write_once(&page.lru_prev, NO_PAGE);
    }

    /// `list_first_entry` + `list_del`.
    #[inline]
    pub fn pop_first<'a>(&self, mm: &'a MemMap) -> Option<&'a Page> {
        let i = read_once(&self.first);
        if i == NO_PAGE {
            return None;
        }
        let p = mm.page_at(i);
        self.del(mm, p);
        Some(p)
    }

    /// `list_last_entry` + `list_del`.
    #[inline]
    pub fn pop_last<'a>(&self, mm: &'a MemMap) -> Option<&'a Page> {
        let i = read_once(&self.last);
        if i == NO_PAGE {
            return None;
        }
        let p = mm.page_at(i);
        self.del(mm, p);
        Some(p)
    }

    /// Visit every page front to back (audits); stops after `limit` entries so a corrupted
    /// (cyclic) list cannot hang the caller. Returns the number visited.
    pub fn for_each(&self, mm: &MemMap, limit: usize, mut f: impl FnMut(&Page)) -> usize {
        let mut i = read_once(&self.first);
        let mut n = 0;
        while i != NO_PAGE && n < limit {
            let p = mm.page_at(i);
            f(p);
            n += 1;
            i = read_once(&p.lru_next);
        }
        n
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    fn collect(l: &ListHead, m: &MemMap) -> alloc::vec::Vec<u32> {
        let mut v = alloc::vec::Vec::new();
        l.for_each(m, 100, |p| v.push(m.page_idx(p)));
        v
    }

    #[test]
    fn add_del_pop_keep_the_list_consistent() {
        let m = MemMap::new_owned(0, 6, false);
        let l = ListHead::new();
        assert!(l.is_empty());
        l.add(&m, m.page_at(1));
        l.add(&m, m.page_at(2));
        l.add_tail(&m, m.page_at(3));
        l.add_tail(&m, m.page_at(4));
        assert_eq!(collect(&l, &m), [2, 1, 3, 4]);
        l.del(&m, m.page_at(1));
        assert_eq!(collect(&l, &m), [2, 3, 4]);
        l.del(&m, m.page_at(4));
        assert_eq!(collect(&l, &m), [2, 3]);
        assert_eq!(m.page_idx(l.pop_last(&m).unwrap()), 3);
        assert_eq!(m.page_idx(l.pop_first(&m).unwrap()), 2);
        assert!(l.is_empty() && l.pop_first(&m).is_none() && l.pop_last(&m).is_none());
        l.add_tail(&m, m.page_at(5));
        assert_eq!(collect(&l, &m), [5]);
    }
}
