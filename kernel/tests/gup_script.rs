//! Deterministic scripted interleavings of the GUP-fast races against the real mm and pgtable
//! code: the reader runs on this thread and its window hook performs the writer's step at the
//! exact point of the algorithm (R3/R4, or after the PMD read). The buggy variant must be
//! caught every time; the fixed reader must stay clean on the very same script.
#![cfg(not(loom))]

use kernel::gup::fast::lockless_pages_from_mm;
use kernel::gup::grab::Grabbed;
use kernel::gup::unpin::release_grabbed;
use kernel::gup::variant::Variant;
use kernel::gup::window::{Site, Window};
use kernel::gup::{GupCtx, FOLL_GET, FOLL_PIN, FOLL_WRITE};
use kernel::mm::huge_memory::{split_huge_page, SplitMapper};
use kernel::mm::memmap::alloc_leaked_ram;
use kernel::mm::page::Page;
use kernel::mm::page_ref::{page_ref_count, page_ref_inc};
use kernel::mm::pgtable::map::{free_pte_table, map_page, unmap_page};
use kernel::mm::pgtable::mm::{MmStruct, USER_VA_BASE};
use kernel::mm::pgtable::tlb_free::{pgtable_poisoned, TableFreePolicy};
use kernel::mm::pgtable::{PgProt, PAGE_SIZE};
use kernel::mm::types::{__GFP_COMP, GFP_KERNEL};
use kernel::mm::zone::Zone;
use kernel::stress::knobs::{V0, V1, V11, V2, V6, V7, V8};
use kernel::stress::platform::Platform;
use kernel::sync::Strength;

const VA: u64 = USER_VA_BASE + (1 << 30);

fn platform() -> &'static Platform {
    kernel::hal::host::install_host(4);
    let ram = alloc_leaked_ram(4096, 10);
    // SAFETY: the leaked allocation is ours for the rest of the process.
    let zone: &'static Zone = Box::leak(Box::new(unsafe { kernel::mm::build_zone(&[ram]) }));
    Box::leak(Box::new(Platform::new(zone, 4, None)))
}

fn mm(p: &'static Platform, asid: u16, policy: TableFreePolicy) -> MmStruct<'static> {
    MmStruct::new(p.kernel_pgd, asid, p.rcu, policy).unwrap()
}

fn map(mm: &MmStruct, zone: &Zone, va: u64, page: &Page) {
    map_page(
        mm,
        va,
        zone.mem_map().page_address(page),
        PgProt::USER_RW,
        Strength::AcqRel,
    )
    .unwrap();
}

/// A window hook that runs `step` once, at `site`, and records what the oracle hooks saw.
struct Hook<F: FnMut()> {
    site: Site,
    step: Option<F>,
    poison: u32,
    ref_on_zero: u32,
    pin_mismatch: u32,
}

impl<F: FnMut()> Hook<F> {
    fn new(site: Site, step: F) -> Self {
        Self {
            site,
            step: Some(step),
            poison: 0,
            ref_on_zero: 0,
            pin_mismatch: 0,
        }
    }
}

impl<F: FnMut()> Window for Hook<F> {
    fn at(&mut self, site: Site) {
        if site == self.site {
            if let Some(mut f) = self.step.take() {
                f();
            }
        }
    }
    fn desc(&mut self, _level: u8, v: u64) {
        if pgtable_poisoned(v) {
            self.poison += 1;
        }
    }
    fn ref_from(&mut self, _pfn: u64, old: i32) {
        if old <= 0 {
            self.ref_on_zero += 1;
        }
    }
    fn pin_mismatch(&mut self, _pfn: u64, _a: bool, _b: bool) {
        self.pin_mismatch += 1;
    }
}

struct Mapper<'a> {
    mm: &'a MmStruct<'static>,
}

impl SplitMapper for Mapper<'_> {
    fn unmap_page(&mut self, zone: &Zone, head: &Page) {
        for k in 0..8u64 {
            if unmap_page(self.mm, VA + k * PAGE_SIZE).is_some() {
                zone.put_page(0, head);
            }
        }
    }
    fn remap_page(&mut self, zone: &Zone, head: &Page, split: bool) {
        for k in 0..8usize {
            let p = zone.mem_map().nth_page(head, k);
            page_ref_inc(if split { p } else { head });
            map(self.mm, zone, VA + k as u64 * PAGE_SIZE, p);
        }
    }
}

/// What the reader ended up with on the 5a script (split while it sits between R3 and R4).
struct SplitOutcome {
    taken: usize,
    wrong_head: bool,
    pin_mismatch: u32,
}

fn split_script<V: Variant>(target: usize, flags: u32) -> SplitOutcome {
    let p = platform();
    let zone = p.zone;
    let mm = mm(p, 1, TableFreePolicy::Deferred);
    let head = zone.alloc_pages(0, 3, __GFP_COMP).unwrap();
    for k in 0..8 {
        zone.get_page(head);
        map(
            &mm,
            zone,
            VA + k as u64 * PAGE_SIZE,
            zone.mem_map().nth_page(head, k),
        );
    }
    let ctx = GupCtx::new(zone, mm.pgd, 1);
    let mut out: [Option<Grabbed>; 8] = [None; 8];
    let mut hook = Hook::new(Site::BeforeRef, || {
        split_huge_page(zone, 0, head, &mut Mapper { mm: &mm })
            .expect("the split must happen inside the window");
    });
    // SAFETY: `mm` is live; tables are freed only through its deferred policy.
    let n = unsafe {
        lockless_pages_from_mm::<V, _>(
            &ctx,
            VA + target as u64 * PAGE_SIZE,
            1,
            flags,
            &mut out,
            &mut hook,
        )
    };
    let mut wrong_head = false;
    if let Some(g) = out[0].take() {
        wrong_head = !core::ptr::eq(zone.mem_map().compound_head(g.page), g.head);
        release_grabbed(&ctx, &g, flags, &mut hook);
    }
    for k in 0..8 {
        if unmap_page(&mm, VA + k as u64 * PAGE_SIZE).is_some() {
            zone.put_page(0, zone.mem_map().nth_page(head, k));
        }
    }
    zone.put_page(0, head);
    SplitOutcome {
        taken: n,
        wrong_head,
        pin_mismatch: hook.pin_mismatch,
    }
}

#[test]
fn v1_without_membership_recheck_takes_a_ref_on_the_old_head() {
    let o = split_script::<V1>(3, FOLL_GET | FOLL_WRITE);
    assert_eq!(
        o.taken, 1,
        "the PTE recheck passes: the remapped PTE is bit-identical"
    );
    assert!(
        o.wrong_head,
        "V1 must return a tail while holding a reference on the old head"
    );
}

#[test]
fn v0_on_the_same_split_script_retries_and_takes_the_right_page() {
    for target in [0, 3, 7] {
        for flags in [FOLL_GET | FOLL_WRITE, FOLL_PIN | FOLL_WRITE] {
            let o = split_script::<V0>(target, flags);
            assert_eq!(o.taken, 1, "after the retry the order-0 page is taken");
            assert!(!o.wrong_head);
            assert_eq!(o.pin_mismatch, 0);
        }
    }
}

#[test]
fn v11_fails_instead_of_retrying_and_stays_clean() {
    let o = split_script::<V11>(3, FOLL_GET | FOLL_WRITE);
    assert_eq!(o.taken, 0);
    assert!(!o.wrong_head);
}

#[test]
fn v8_with_swapped_rechecks_stays_clean() {
    let o = split_script::<V8>(3, FOLL_GET | FOLL_WRITE);
    assert!(!o.wrong_head);
}

#[test]
fn v2_pins_with_metadata_read_before_the_ref() {
    let o = split_script::<V2>(0, FOLL_PIN | FOLL_WRITE);
    assert_eq!(o.taken, 1);
    assert_eq!(
        o.pin_mismatch, 1,
        "V2 pinned the head as order 3 (pincount); it is order 0 now"
    );
    let o = split_script::<V0>(0, FOLL_PIN | FOLL_WRITE);
    assert_eq!(o.pin_mismatch, 0);
}

/// 5d: unmap + free (+ reallocate) while the reader sits between R3 and R4.
fn recheck_script<V: Variant>(realloc: bool) -> (usize, bool, u32) {
    let p = platform();
    let zone = p.zone;
    let mm = mm(p, 1, TableFreePolicy::Deferred);
    let page = zone.alloc_pages(0, 0, GFP_KERNEL).unwrap();
    map(&mm, zone, VA, page);
    let ctx = GupCtx::new(zone, mm.pgd, 1);
    let mut other: Option<&Page> = None;
    let mut out: [Option<Grabbed>; 1] = [None];
    let flags = FOLL_GET | FOLL_WRITE;
    let mut hook = Hook::new(Site::BeforeRef, || {
        assert!(unmap_page(&mm, VA).is_some());
        zone.put_page(0, page);
        assert_eq!(page_ref_count(page), 0, "freed");
        if realloc {
            other = Some(zone.alloc_pages(0, 0, GFP_KERNEL).unwrap());
        }
    });
    // SAFETY: as above.
    let n = unsafe { lockless_pages_from_mm::<V, _>(&ctx, VA, 1, flags, &mut out, &mut hook) };
    let ref_on_zero = hook.ref_on_zero;
    let mut foreign = false;
    if let Some(g) = out[0].take() {
        foreign = other.is_some_and(|o| core::ptr::eq(o, g.page));
        if ref_on_zero == 0 {
            release_grabbed(&ctx, &g, flags, &mut kernel::gup::window::NoWindow);
        }
    }
    if let Some(o) = other {
        zone.put_page(0, o);
    }
    (n, foreign, ref_on_zero)
}

#[test]
fn v6_without_pte_recheck_returns_a_page_owned_by_someone_else() {
    let (n, foreign, _) = recheck_script::<V6>(true);
    assert_eq!(n, 1);
    assert!(
        foreign,
        "the reallocated frame was returned for the unmapped address"
    );
    let (n, foreign, _) = recheck_script::<V0>(true);
    assert_eq!(n, 0, "V0's PTE recheck sees the unmap");
    assert!(!foreign);
}

#[test]
fn v7_plain_increment_raises_the_refcount_of_a_free_page() {
    let (_, _, zero) = recheck_script::<V7>(false);
    assert_eq!(zero, 1, "V7 incremented a refcount of 0");
    let (n, _, zero) = recheck_script::<V0>(false);
    assert_eq!((n, zero), (0, 0), "add-unless-zero refuses the free page");
}

/// W5: free the PTE table while the reader holds the PMD value.
fn tables_script(policy: TableFreePolicy) -> (usize, u32) {
    let p = platform();
    let zone = p.zone;
    let mm = mm(p, 1, policy);
    let page = zone.alloc_pages(0, 0, GFP_KERNEL).unwrap();
    map(&mm, zone, VA, page);
    let ctx = GupCtx::new(zone, mm.pgd, 1);
    let mut out: [Option<Grabbed>; 1] = [None];
    let mut hook = Hook::new(Site::AfterPmd, || {
        assert!(unmap_page(&mm, VA).is_some());
        zone.put_page(0, page);
        free_pte_table(&mm, VA).unwrap();
    });
    // SAFETY: the V10 policy frees the table under the walker on purpose; its frame stays RAM.
    let n = unsafe { lockless_pages_from_mm::<V0, _>(&ctx, VA, 1, FOLL_GET, &mut out, &mut hook) };
    (n, hook.poison)
}

#[test]
fn v10_immediate_table_free_lets_the_walker_read_a_poisoned_table() {
    let (n, poison) = tables_script(TableFreePolicy::Immediate);
    assert_eq!(n, 0);
    assert_eq!(poison, 1, "the walker read the freed table");
    let (n, poison) = tables_script(TableFreePolicy::Deferred);
    assert_eq!(
        (n, poison),
        (0, 0),
        "deferred freeing keeps the table intact under the walker"
    );
}

/// The public API on a 2 MiB block mapping: `gup_fast_pmd_leaf` takes every subpage of the
/// range with one grab on the head; FOLL_PIN of an order-9 page counts in `page[2]`; releasing
/// restores every count.
#[test]
fn pmd_leaf_and_the_public_api_take_and_release_exactly() {
    use kernel::gup::fast::{get_user_pages_fast, pin_user_pages_fast};
    use kernel::gup::unpin::{put_user_pages, unpin_user_pages};
    use kernel::mm::pgtable::map::{map_block_2m, unmap_block};
    use kernel::mm::pin::compound_pincount;
    let p = platform();
    let zone = p.zone;
    let mm = mm(p, 3, TableFreePolicy::Deferred);
    let head = zone.alloc_pages(0, 9, __GFP_COMP).unwrap();
    let pa = zone.mem_map().page_address(head);
    map_block_2m(&mm, VA, pa, PgProt::USER_RW, Strength::AcqRel).unwrap();
    let ctx = GupCtx::new(zone, mm.pgd, 1);
    let before = page_ref_count(head);
    let mut out: [Option<Grabbed>; 8] = [None; 8];
    let n = get_user_pages_fast(&ctx, &mm, VA + 5 * PAGE_SIZE, 8, FOLL_WRITE, &mut out);
    assert_eq!(n, 8);
    for (k, g) in out.iter().enumerate() {
        let g = g.unwrap();
        assert!(core::ptr::eq(g.page, zone.mem_map().nth_page(head, 5 + k)));
        assert!(core::ptr::eq(g.head, head));
    }
    assert_eq!(page_ref_count(head), before + 8);
    let pages: Vec<&Page> = out.iter().map(|g| g.unwrap().page).collect();
    put_user_pages(&ctx, &pages);
    assert_eq!(page_ref_count(head), before);

    let n = pin_user_pages_fast(&ctx, &mm, VA, 4, FOLL_WRITE, &mut out);
    assert_eq!(n, 4);
    assert_eq!(
        compound_pincount(zone.mem_map(), head),
        4,
        "order > 1: exact pin count in page[2]"
    );
    assert_eq!(page_ref_count(head), before + 4);
    let pages: Vec<&Page> = out[..4].iter().map(|g| g.unwrap().page).collect();
    unpin_user_pages(&ctx, &pages);
    assert_eq!(compound_pincount(zone.mem_map(), head), 0);
    assert_eq!(page_ref_count(head), before);

    // Beyond the block nothing is mapped: the slow path finds nothing either.
    let n = get_user_pages_fast(&ctx, &mm, VA + (511 * PAGE_SIZE), 2, FOLL_WRITE, &mut out);
    assert_eq!(n, 1);
    put_user_pages(&ctx, &[out[0].unwrap().page]);
    assert_eq!(page_ref_count(head), before);
    assert!(unmap_block(&mm, VA).is_some());
    zone.put_page(0, head);
}

/// FOLL_PIN of an order-0 page adds the bias to the refcount (and the slow path does too).
#[test]
fn small_page_pins_use_the_bias() {
    use kernel::gup::fast::pin_user_pages_fast;
    use kernel::gup::unpin::unpin_user_pages;
    use kernel::gup::GUP_PIN_COUNTING_BIAS;
    let p = platform();
    let zone = p.zone;
    let mm = mm(p, 4, TableFreePolicy::Deferred);
    let page = zone.alloc_pages(0, 0, GFP_KERNEL).unwrap();
    map(&mm, zone, VA, page);
    let ctx = GupCtx::new(zone, mm.pgd, 1);
    let mut out: [Option<Grabbed>; 1] = [None];
    assert_eq!(
        pin_user_pages_fast(&ctx, &mm, VA, 1, FOLL_WRITE, &mut out),
        1
    );
    assert_eq!(page_ref_count(page), 1 + GUP_PIN_COUNTING_BIAS);
    unpin_user_pages(&ctx, &[out[0].unwrap().page]);
    assert_eq!(page_ref_count(page), 1);
    // The locked slow path grabs the same way.
    let g = kernel::gup::grab::try_grab_page(&ctx, page, FOLL_PIN).unwrap();
    assert_eq!(page_ref_count(page), 1 + GUP_PIN_COUNTING_BIAS);
    release_grabbed(&ctx, &g, FOLL_PIN, &mut kernel::gup::window::NoWindow);
    assert_eq!(page_ref_count(page), 1);
    assert!(unmap_page(&mm, VA).is_some());
    zone.put_page(0, page);
}
