//! Where table pages come from: [`PgtableAlloc`], the early-boot [`BumpTableAlloc`] and the
//! heap-backed [`HeapTableAlloc`] (host tests, loom, or any code with a heap). Later the page
//! allocator implements the trait too.

use super::table::{PageTable, PAGE_SIZE};
use alloc::boxed::Box;
use alloc::vec::Vec;
use core::cell::Cell;

/// A source of zeroed 4 KiB table pages, named by physical address.
pub trait PgtableAlloc {
    /// A zeroed, 4 KiB-aligned page for a translation table, or `None` when out of memory.
    fn alloc_table(&self) -> Option<u64>;
    /// Give back a table page obtained from [`PgtableAlloc::alloc_table`]. The caller
    /// guarantees no walker can still reach it (see [`super::tlb_free`]).
    fn free_table(&self, pa: u64);
}

/// Bump allocator over a physical range, for building the identity map before the MMU is on.
///
/// Single-CPU, early boot only: the cursor is a plain [`Cell`] (not `Sync`), because with the
/// MMU off memory is Device-nGnRnE and exclusives (`ldxr`/`stxr`) are unreliable on real
/// hardware. Pages are zeroed with plain 64-bit stores. [`PgtableAlloc::free_table`] cannot
/// return a page to a bump allocator and is ignored: early tables live forever.
pub struct BumpTableAlloc {
    start: u64,
    next: Cell<u64>,
    end: u64,
}

impl BumpTableAlloc {
    /// Allocate from `[start, end)`, rounded inwards to 4 KiB.
    ///
    /// # Safety
    /// `[start, end)` must be RAM that nothing else uses, accessible at its physical address
    /// (MMU off, or identity-mapped) for as long as the tables it hands out are used.
    pub unsafe fn new(start: u64, end: u64) -> Self {
        let start = start.next_multiple_of(PAGE_SIZE);
        let end = end & !(PAGE_SIZE - 1);
        BumpTableAlloc {
            start,
            next: Cell::new(start),
            end: end.max(start),
        }
    }

    /// `[start, cursor)`: the pages handed out so far (BOOT removes them from free memory).
    pub fn allocated_range(&self) -> (u64, u64) {
        (self.start, self.next.get())
    }
}

impl PgtableAlloc for BumpTableAlloc {
    fn alloc_table(&self) -> Option<u64> {
        let pa = self.next.get();
        if pa >= self.end {
            return None;
        }
        self.next.set(pa + PAGE_SIZE);
        // SAFETY: `pa` is an aligned page of the range the constructor's caller gave us for our
        // exclusive use; zeroing it through atomics makes it a valid `PageTable`.
        unsafe { PageTable::from_pa(pa) }.fill(0);
        Some(pa)
    }

    fn free_table(&self, _pa: u64) {}
}

struct HeapState {
    /// Every table ever created (freed ones too): released on drop.
    all: Vec<u64>,
    /// Freed tables, reused first (LIFO: a freed table comes back soon, as frames do).
    free: Vec<u64>,
    nr_alloc: u64,
    nr_free: u64,
}

/// Heap-backed table allocator with a free list and counters.
///
/// Freed tables are kept (not returned to the heap) and reused LIFO, so a walker that races
/// with a free reads memory that is still a `PageTable` of atomics — as a frame would be on
/// target — and never unallocated heap memory. Everything is released when the allocator is
/// dropped. Thread-safe (spin lock).
pub struct HeapTableAlloc {
    state: spin::Mutex<HeapState>,
    limit: usize,
}

impl HeapTableAlloc {
    /// An allocator that never runs out (until the heap does).
    pub fn new() -> Self {
        Self::with_limit(usize::MAX)
    }

    /// An allocator that fails once `limit` tables are live (to test `NoMemory` paths).
    pub fn with_limit(limit: usize) -> Self {
        HeapTableAlloc {
            state: spin::Mutex::new(HeapState {
                all: Vec::new(),
                free: Vec::new(),
                nr_alloc: 0,
                nr_free: 0,
            }),
            limit,
        }
    }

    /// Tables handed out and not freed.
    pub fn nr_live(&self) -> usize {
        let s = self.state.lock();
        (s.nr_alloc - s.nr_free) as usize
    }

    /// Total successful [`PgtableAlloc::alloc_table`] calls.
    pub fn nr_allocated(&self) -> u64 {
        self.state.lock().nr_alloc
    }

    /// Total [`PgtableAlloc::free_table`] calls.
    pub fn nr_freed(&self) -> u64 {
        self.state.lock().nr_free
    }

    /// Whether `pa` is currently on the free list (freed and not reused).
    pub fn is_free(&self, pa: u64) -> bool {
        self.state.lock().free.contains(&pa)
    }
}

impl Default for HeapTableAlloc {
    fn default() -> Self {
        Self::new()
    }
}

impl PgtableAlloc for HeapTableAlloc {
    fn alloc_table(&self) -> Option<u64> {
        let mut s = self.state.lock();
        if (s.nr_alloc - s.nr_free) as usize >= self.limit {
            return None;
        }
        let pa = match s.free.pop() {
            Some(pa) => {
                // SAFETY: `pa` came from `Box::into_raw` below and is only released on drop.
                unsafe { PageTable::from_pa(pa) }.fill(0);
                pa
            }
            None => {
                let pa = Box::into_raw(Box::new(PageTable::new())) as u64;
                s.all.push(pa);
                pa
            }
        };
        s.nr_alloc += 1;
        Some(pa)
    }

    fn free_table(&self, pa: u64) {
        let mut s = self.state.lock();
        assert!(
            s.all.contains(&pa),
            "free_table({pa:#x}): not from this allocator"
        );
        assert!(!s.free.contains(&pa), "free_table({pa:#x}): double free");
        s.free.push(pa);
        s.nr_free += 1;
    }
}

impl Drop for HeapTableAlloc {
    fn drop(&mut self) {
        for &pa in self.state.get_mut().all.iter() {
            // SAFETY: every entry of `all` came from `Box::into_raw` and is released once,
            // here; borrowers of the allocator (and so of its tables) are gone.
            drop(unsafe { Box::from_raw(pa as *mut PageTable) });
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use crate::sync::read_once;

    #[test]
    fn bump_hands_out_zeroed_aligned_pages_until_the_end() {
        let backing: Vec<PageTable> = (0..4).map(|_| PageTable::new()).collect();
        let base = backing.as_ptr() as u64;
        for t in &backing {
            t.fill(0xdead_beef);
        }
        // SAFETY: `backing` is ours and outlives the allocator; the range starts mid-page so
        // the first page is skipped by rounding.
        let a = unsafe { BumpTableAlloc::new(base + 8, base + 4 * PAGE_SIZE) };
        let p1 = a.alloc_table().unwrap();
        let p2 = a.alloc_table().unwrap();
        let p3 = a.alloc_table().unwrap();
        assert_eq!(
            (p1, p2, p3),
            (base + PAGE_SIZE, base + 2 * PAGE_SIZE, base + 3 * PAGE_SIZE)
        );
        assert_eq!(a.alloc_table(), None);
        assert!(backing[1..]
            .iter()
            .all(|t| t.entries.iter().all(|e| read_once(e) == 0)));
        assert!(backing[0]
            .entries
            .iter()
            .all(|e| read_once(e) == 0xdead_beef));
        assert_eq!(
            a.allocated_range(),
            (base + PAGE_SIZE, base + 4 * PAGE_SIZE)
        );
    }

    #[test]
    fn heap_reuses_freed_tables_zeroed_and_counts() {
        let a = HeapTableAlloc::with_limit(2);
        let p1 = a.alloc_table().unwrap();
        let p2 = a.alloc_table().unwrap();
        assert_eq!(a.alloc_table(), None, "limit");
        assert_eq!(p1 % PAGE_SIZE, 0);
        // SAFETY: p1 is a live table of `a`.
        unsafe { PageTable::from_pa(p1) }.fill(7);
        a.free_table(p1);
        assert!(a.is_free(p1));
        let p3 = a.alloc_table().unwrap();
        assert_eq!(p3, p1, "LIFO reuse");
        // SAFETY: p3 is a live table of `a`.
        assert!(unsafe { PageTable::from_pa(p3) }
            .entries
            .iter()
            .all(|e| read_once(e) == 0));
        assert_eq!((a.nr_allocated(), a.nr_freed(), a.nr_live()), (3, 1, 2));
        let _ = p2;
    }
}
