//! `split_huge_page` (mm/huge_memory.c, v5.13 `split_huge_page_to_list`, spec §2.4, W4).
//!
//! The page tables are reached through a [`SplitMapper`] so the split is testable without
//! tables (host tests, loom) and drives the real `kernel::mm::pgtable` in the experiments.

use super::compound::{clear_compound_head, clear_compound_metadata, compound_order};
use super::page::{Page, PageHead, PG_HEAD};
use super::page_ref::{page_ref_freeze, page_ref_unfreeze};
use super::zone::Zone;
use crate::sync::{smp_wmb, write_once};

/// The page-table side of a split.
pub trait SplitMapper {
    /// `unmap_page(head)`: replace every mapping of the compound page by a non-present
    /// (migration) entry, flush the TLB, and drop the references those mappings held on the
    /// head (as `try_to_migrate` does).
    fn unmap_page(&mut self, zone: &Zone, head: &Page);
    /// `remap_page(head)`: re-install the entries. `split` says whether the split happened: then
    /// every entry maps its own (now order-0) subpage and takes a reference on that subpage;
    /// otherwise the mappings and their references go back to the compound head.
    fn remap_page(&mut self, zone: &Zone, head: &Page, split: bool);
}

/// A compound page that nobody maps.
pub struct NoMappings;

impl SplitMapper for NoMappings {
    fn unmap_page(&mut self, _zone: &Zone, _head: &Page) {}
    fn remap_page(&mut self, _zone: &Zone, _head: &Page, _split: bool) {}
}

/// Why a split did not happen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SplitError {
    /// `-EBUSY`: `page_ref_freeze` failed: someone holds an extra reference (e.g. GUP).
    Busy,
    /// The page is not part of a compound page.
    NotCompound,
}

/// `split_huge_page(page)` with no extra pins (anonymous THP). The caller holds one reference
/// on `page`'s compound page; on success that reference is on `page` itself.
pub fn split_huge_page(
    zone: &Zone,
    cpu: usize,
    page: &Page,
    mapper: &mut impl SplitMapper,
) -> Result<(), SplitError> {
    split_huge_page_to_list(zone, cpu, page, 0, mapper)
}

/// `split_huge_page_to_list`: unmap; `page_ref_freeze(head, 1 + extra_pins)` (fully ordered
/// cmpxchg; fails ⇒ remap, `Busy`); for each tail, last to first: `smp_wmb()`, clear
/// `compound_head` (S_clr), `page_ref_unfreeze(tail, 1)` (Release: S_clr is visible to anyone
/// whose speculative get succeeds on the tail); clear PG_head and `page[1]`; re-raise the head
/// to `1 + extra_pins` with a Release store (Linux: `unlock_page_lruvec` release, then
/// `page_ref_inc`: the head's new references are ordered after every tail clear — W4); remap;
/// drop the temporary reference of every subpage except `page`.
pub fn split_huge_page_to_list(
    zone: &Zone,
    cpu: usize,
    page: &Page,
    extra_pins: i32,
    mapper: &mut impl SplitMapper,
) -> Result<(), SplitError> {
    let mm = zone.mem_map();
    let head = mm.compound_head(page);
    if !PageHead(head) {
        return Err(SplitError::NotCompound);
    }
    let nr = 1usize << compound_order(mm, head);
    mapper.unmap_page(zone, head);
    if !page_ref_freeze(head, 1 + extra_pins) {
        mapper.remap_page(zone, head, false);
        return Err(SplitError::Busy);
    }
    for i in (1..nr).rev() {
        __split_huge_page_tail(mm.nth_page(head, i));
    }
    clear_compound_metadata(mm, head);
    head.__clear_flags(PG_HEAD);
    page_ref_unfreeze(head, 1 + extra_pins);
    mapper.remap_page(zone, head, true);
    for i in 0..nr {
        let sub = mm.nth_page(head, i);
        if !core::ptr::eq(sub, page) {
            zone.put_page(cpu, sub);
        }
    }
    Ok(())
}

/// `__split_huge_page_tail(head, tail)`: the tail becomes an order-0 page with one reference.
fn __split_huge_page_tail(tail: &Page) {
    write_once(&tail.mapping, 0);
    smp_wmb(); // Linux: flags/mapping visible before the page stops being a tail
    clear_compound_head(tail); // S_clr
    page_ref_unfreeze(tail, 1); // atomic_set_release
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use crate::mm::knobs::MmKnobs;
    use crate::mm::memmap::MemMap;
    use crate::mm::page::PageTail;
    use crate::mm::page_ref::{page_ref_count, page_ref_inc};
    use crate::mm::pcp::PcpConfig;
    use crate::mm::types::{GFP_TRANSHUGE, HPAGE_PMD_ORDER};

    fn zone() -> Zone {
        let z = Zone::new(
            MemMap::new_owned(0, 1024, false),
            1,
            PcpConfig {
                high: 2048,
                batch: 8,
            },
            MmKnobs::default(),
        );
        z.free_pfn_range(0, 1024);
        z
    }

    #[test]
    fn split_makes_order0_pages_and_they_free_back() {
        let z = zone();
        let before = z.nr_free_pages();
        let h = z.alloc_pages(0, HPAGE_PMD_ORDER, GFP_TRANSHUGE).unwrap();
        let t = z.mem_map().nth_page(h, 7);
        split_huge_page(&z, 0, t, &mut NoMappings).unwrap();
        assert!(!PageHead(h) && !PageTail(t));
        assert_eq!(
            page_ref_count(t),
            1,
            "the caller's reference moved to the subpage it passed"
        );
        assert_eq!(
            page_ref_count(h),
            0,
            "unmapped subpages are freed by the split"
        );
        assert_eq!(z.nr_free_pages(), before - 1);
        z.put_page(0, t);
        z.drain_all_pages();
        assert_eq!(z.nr_free_pages(), before);
        assert_eq!(z.free_counts()[10], 1);
        assert_eq!(z.stats().bad_state() + z.stats().double_free(), 0);
    }

    #[test]
    fn split_with_an_extra_reference_is_busy_and_changes_nothing() {
        let z = zone();
        let h = z.alloc_pages(0, 2, GFP_TRANSHUGE).unwrap();
        page_ref_inc(h);
        assert_eq!(
            split_huge_page(&z, 0, h, &mut NoMappings),
            Err(SplitError::Busy)
        );
        assert!(PageHead(h) && PageTail(z.mem_map().nth_page(h, 3)));
        assert_eq!(page_ref_count(h), 2);
        let lone = z.alloc_pages(0, 0, 0).unwrap();
        assert_eq!(
            split_huge_page(&z, 0, lone, &mut NoMappings),
            Err(SplitError::NotCompound)
        );
    }
}
