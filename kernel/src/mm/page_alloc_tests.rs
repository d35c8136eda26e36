//! Unit tests of the allocation/free paths through a small zone: per-CPU lists, reuse policy,
//! compound pages, oracles (bad state, double free, poison), audit.

use super::compound::{compound_head, compound_nr, compound_order};
use super::debug::BadReason;
use super::knobs::{InitOrder, MmKnobs, PcpProtection, PcpReuse, TailClearOrder};
use super::memmap::{alloc_leaked_ram, MemMap};
use super::page::{PageHead, PageTail};
use super::page_ref::{page_ref_count, page_ref_inc, set_page_count};
use super::pcp::PcpConfig;
use super::types::{__GFP_COMP, GFP_KERNEL, GFP_TRANSHUGE, HPAGE_PMD_ORDER, MAX_ORDER};
use super::zone::Zone;
use crate::sync::{read_once, write_once};

fn zone_with(nr: usize, ncpus: usize, k: MmKnobs) -> Zone {
    let z = Zone::new(
        MemMap::new_owned(4096, nr, false),
        ncpus,
        PcpConfig {
            high: 2048,
            batch: 8,
        },
        k,
    );
    z.free_pfn_range(4096, 4096 + nr as u64);
    z
}

fn zone(nr: usize) -> Zone {
    zone_with(nr, 2, MmKnobs::default())
}

#[test]
fn order0_alloc_refills_the_pcp_and_free_returns_to_the_freeing_cpu() {
    let z = zone(1024);
    let p = z.alloc_pages(0, 0, GFP_KERNEL).unwrap();
    assert_eq!(page_ref_count(p), 1);
    assert_eq!(
        z.pcps()[0].count(),
        7,
        "rmqueue_bulk took a batch of 8, one handed out"
    );
    z.put_page(1, p); // cross-CPU free: lands on CPU 1's list
    assert_eq!(z.pcps()[1].count(), 1);
    assert_eq!(z.nr_free_pages(), 1024);
    z.drain_all_pages();
    assert_eq!(z.free_counts()[MAX_ORDER - 1], 1, "everything merged back");
    let r = z.audit();
    assert_eq!(
        (r.frames_free, r.frames_in_use, r.double_free, r.bad_state),
        (1024, 0, 0, 0)
    );
}

#[test]
fn compound_thp_round_trip_through_the_order9_pcp_list() {
    let z = zone(2048);
    let h = z.alloc_pages(0, HPAGE_PMD_ORDER, GFP_TRANSHUGE).unwrap();
    let mm = z.mem_map();
    assert!(PageHead(h));
    assert_eq!((compound_order(mm, h), compound_nr(mm, h)), (9, 512));
    let t = mm.nth_page(h, 300);
    assert!(PageTail(t) && core::ptr::eq(compound_head(mm, t), h));
    z.get_page(t);
    assert_eq!(page_ref_count(h), 2);
    z.put_page(0, t);
    z.put_page(0, t);
    assert!(
        !PageTail(t) && !PageHead(h),
        "free_pages_prepare cleared tails and PG_head"
    );
    assert_eq!(
        z.pcps()[0].count(),
        512,
        "the THP sits on CPU 0's order-9 list"
    );
    let again = z.alloc_pages(0, HPAGE_PMD_ORDER, GFP_TRANSHUGE).unwrap();
    assert!(
        core::ptr::eq(again, h),
        "same-order reuse through the pcp list"
    );
    z.put_page(0, again);
    assert_eq!(z.stats().bad_state() + z.stats().double_free(), 0);
}

#[test]
fn same_order_only_never_hands_a_freed_thp_out_at_order0() {
    let z = zone(2048);
    let h = z.alloc_pages(0, HPAGE_PMD_ORDER, GFP_TRANSHUGE).unwrap();
    let hpfn = z.page_to_pfn(h);
    z.put_page(0, h);
    for _ in 0..64 {
        let p = z.alloc_pages(0, 0, GFP_KERNEL).unwrap();
        let pfn = z.page_to_pfn(p);
        assert!(
            !(hpfn..hpfn + 512).contains(&pfn),
            "Linux pcp reused a THP frame at order 0"
        );
    }
}

#[test]
fn split_on_reuse_hands_the_freed_head_out_at_order0_without_the_zone_lock() {
    let k = MmKnobs {
        pcp_reuse: PcpReuse::SplitOnReuse,
        ..MmKnobs::default()
    };
    let z = zone_with(2048, 1, k);
    let h = z.alloc_pages(0, HPAGE_PMD_ORDER, GFP_TRANSHUGE).unwrap();
    let hpfn = z.page_to_pfn(h);
    // Empty the order-0 list first so the next order-0 allocation must split.
    let mut held = alloc::vec::Vec::new();
    while !z.pcps()[0].list(0).is_empty() {
        held.push(z.alloc_pages(0, 0, GFP_KERNEL).unwrap());
    }
    let buddy_before = z.free_counts();
    z.put_page(0, h);
    let p = z.alloc_pages(0, 0, GFP_KERNEL).unwrap();
    assert_eq!(
        z.page_to_pfn(p),
        hpfn,
        "the head came back as an order-0 page"
    );
    let t = z.alloc_pages(0, 0, GFP_KERNEL).unwrap();
    assert_eq!(
        z.page_to_pfn(t),
        hpfn + 1,
        "a former tail came back as an order-0 page"
    );
    assert_eq!(
        z.free_counts(),
        buddy_before,
        "no block went through the buddy lists"
    );
    assert_eq!(z.pcps()[0].count(), 510);
    z.put_page(0, p);
    z.put_page(0, t);
    for q in held {
        z.put_page(0, q);
    }
    z.drain_all_pages();
    assert_eq!(z.free_counts()[MAX_ORDER - 1], 2);
    assert_eq!(z.audit().bad_state, 0);
}

#[test]
fn double_free_is_counted_not_fatal() {
    let z = zone(1024);
    let p = z.alloc_pages(0, 0, GFP_KERNEL).unwrap();
    z.put_page(0, p);
    set_page_count(p, 1); // a buggy holder "resurrects" the free page
    z.put_page(0, p);
    assert_eq!(z.stats().double_free(), 1);
    assert_eq!(z.stats().first().unwrap().reason, BadReason::DoubleFree);
    let q = z.alloc_pages(0, 3, GFP_KERNEL).unwrap();
    z.drain_all_pages();
    z.__free_pages(0, q, 3);
    set_page_count(q, 1);
    z.__free_pages(0, q, 3);
    assert_eq!(z.stats().double_free(), 2, "PG_buddy page freed again");
}

#[test]
fn nonzero_refcount_on_a_free_page_is_caught_at_allocation() {
    let z = zone_with(8, 1, MmKnobs::default());
    let p = z.alloc_pages(0, 0, GFP_KERNEL).unwrap();
    let pfn = z.page_to_pfn(p);
    z.put_page(0, p);
    page_ref_inc(p); // V7: a plain increment lands on a free page
    let q = z.alloc_pages(0, 0, GFP_KERNEL).unwrap();
    assert_ne!(
        z.page_to_pfn(q),
        pfn,
        "the bad page is dropped, another one handed out"
    );
    assert_eq!(z.stats().bad_state(), 1);
    let f = z.stats().first().unwrap();
    assert_eq!(
        (f.pfn, f.reason, f.value),
        (pfn, BadReason::NonzeroRefcountAtAlloc, 1)
    );
}

#[test]
fn stale_tail_word_on_a_free_page_is_caught_at_allocation() {
    let z = zone_with(8, 1, MmKnobs::default());
    let p = z.alloc_pages(0, 0, GFP_KERNEL).unwrap();
    let pfn = z.page_to_pfn(p);
    z.put_page(0, p);
    write_once(&p.compound_head, z.pfn_to_page(4096).addr() | 1);
    let _ = z.alloc_pages(0, 0, GFP_KERNEL).unwrap();
    let f = z.stats().first().unwrap();
    assert_eq!((f.pfn, f.reason), (pfn, BadReason::StaleCompoundHead));
}

#[test]
fn put_on_zero_refcount_is_counted() {
    let z = zone(16);
    let p = z.alloc_pages(0, 0, GFP_KERNEL).unwrap();
    set_page_count(p, 0);
    z.put_page(0, p);
    assert_eq!(
        z.stats().first().unwrap().reason,
        BadReason::PutOnZeroRefcount
    );
}

#[test]
fn poisoning_detects_a_write_after_free() {
    let ram = alloc_leaked_ram(64, 6);
    let k = MmKnobs {
        poison: true,
        ..MmKnobs::default()
    };
    let z = Zone::new(
        MemMap::new_owned(ram.start_pfn(), 64, true),
        1,
        PcpConfig { high: 64, batch: 1 },
        k,
    );
    z.free_pfn_range(ram.start_pfn(), ram.start_pfn() + 64);
    let p = z.alloc_pages(0, 0, GFP_KERNEL).unwrap();
    z.put_page(0, p);
    z.mem_map().frame_words(p).unwrap()[3].store(7, core::sync::atomic::Ordering::Relaxed);
    let q = z.alloc_pages(0, 0, GFP_KERNEL).unwrap();
    assert!(core::ptr::eq(p, q));
    assert_eq!(
        z.stats().bad_state(),
        1,
        "boot-time free frames were poisoned too"
    );
    let f = z.stats().first().unwrap();
    assert_eq!((f.reason, f.value), (BadReason::PoisonOverwritten, 7));
}

#[test]
fn init_orders_and_tail_clear_orders_give_the_same_result() {
    let last_relaxed = MmKnobs {
        init_order: InitOrder::LastRelaxed,
        ..MmKnobs::LINUX_V5_14
    };
    for k in [MmKnobs::LINUX_V5_14, MmKnobs::FIXED, last_relaxed] {
        let z = zone_with(1024, 2, k);
        let h = z.alloc_pages(1, 4, __GFP_COMP).unwrap();
        assert_eq!(page_ref_count(h), 1);
        assert_eq!(
            read_once(&z.mem_map().nth_page(h, 2).hpage_pinned_refcount),
            0
        );
        z.put_page(0, h);
        z.drain_all_pages();
        assert_eq!(z.free_counts()[10], 1);
        assert_eq!(z.audit().bad_state, 0);
    }
    let _ = (
        InitOrder::W7,
        TailClearOrder::Release,
        PcpProtection::SpinLock,
    );
}

#[test]
fn non_compound_high_order_free_with_extra_ref_frees_the_upper_parts() {
    let z = zone(1024);
    let p = z.alloc_pages(0, 2, GFP_KERNEL).unwrap();
    page_ref_inc(p);
    z.__free_pages(0, p, 2);
    assert_eq!(
        z.nr_free_pages(),
        1023,
        "only the first frame stays with the other holder"
    );
    z.__free_pages(0, p, 0);
    assert_eq!(z.nr_free_pages(), 1024);
}

#[test]
fn threads_as_cpus_allocate_and_cross_free_in_both_pcp_modes() {
    for pcp in [PcpProtection::IrqOff, PcpProtection::SpinLock] {
        let z = zone_with(
            4096,
            4,
            MmKnobs {
                pcp,
                ..MmKnobs::default()
            },
        );
        let (tx, rx): (alloc::vec::Vec<_>, alloc::vec::Vec<_>) =
            (0..4).map(|_| std::sync::mpsc::channel::<u64>()).unzip();
        let mut rx = rx.into_iter().map(Some).collect::<alloc::vec::Vec<_>>();
        std::thread::scope(|s| {
            for cpu in 0..4 {
                let z = &z;
                let to = tx[(cpu + 1) % 4].clone();
                let from = rx[cpu].take().unwrap();
                s.spawn(move || {
                    for i in 0..2000u64 {
                        let order = [0, 0, 1, 2, 3, 9][(i % 6) as usize];
                        if let Some(p) =
                            z.alloc_pages(cpu, order, if order > 0 { __GFP_COMP } else { 0 })
                        {
                            to.send(z.page_to_pfn(p)).unwrap();
                        }
                        while let Ok(pfn) = from.try_recv() {
                            z.put_page(cpu, z.pfn_to_page(pfn));
                        }
                    }
                    drop(to);
                    // Drain whatever the neighbour still sends.
                    for pfn in from.iter() {
                        z.put_page(cpu, z.pfn_to_page(pfn));
                    }
                });
            }
            drop(tx);
        });
        z.drain_all_pages();
        let r = z.audit();
        assert_eq!(
            (r.frames_free, r.frames_in_use, r.double_free, r.bad_state),
            (4096, 0, 0, 0),
            "{pcp:?}"
        );
        assert_eq!(z.free_counts()[10], 4);
    }
}

#[test]
fn enabling_poison_later_poisons_the_free_frames() {
    let ram = alloc_leaked_ram(64, 6);
    let z = Zone::new(
        MemMap::new_owned(ram.start_pfn(), 64, true),
        1,
        PcpConfig { high: 64, batch: 4 },
        MmKnobs::default(),
    );
    z.free_pfn_range(ram.start_pfn(), ram.start_pfn() + 64);
    let p = z.alloc_pages(0, 0, GFP_KERNEL).unwrap();
    z.set_knobs(MmKnobs {
        poison: true,
        ..MmKnobs::default()
    });
    for _ in 0..20 {
        z.alloc_pages(0, 1, GFP_KERNEL).unwrap();
    }
    z.put_page(0, p);
    assert_eq!(z.stats().bad_state(), 0);
}

#[test]
fn spinlock_pcp_can_be_drained_remotely_while_its_owner_allocates() {
    let z = zone_with(
        4096,
        2,
        MmKnobs {
            pcp: PcpProtection::SpinLock,
            ..MmKnobs::default()
        },
    );
    let stop = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|s| {
        s.spawn(|| {
            let mut held = alloc::vec::Vec::new();
            for i in 0..20_000u32 {
                if i % 3 != 2 {
                    if let Some(p) = z.alloc_pages(0, (i % 4) as usize, __GFP_COMP) {
                        held.push(p);
                    }
                } else if let Some(p) = held.pop() {
                    z.put_page(0, p);
                }
            }
            for p in held {
                z.put_page(0, p);
            }
            stop.store(true, core::sync::atomic::Ordering::Relaxed);
        });
        s.spawn(|| {
            while !stop.load(core::sync::atomic::Ordering::Relaxed) {
                z.drain_all_pages(); // CPU 1 drains CPU 0's list under its lock
            }
        });
    });
    z.drain_all_pages();
    let r = z.audit();
    assert_eq!(
        (r.frames_free, r.frames_in_use, r.double_free, r.bad_state),
        (4096, 0, 0, 0)
    );
    assert_eq!(z.free_counts()[10], 4);
}

#[test]
fn buddy_path_bypasses_the_per_cpu_lists_both_ways() {
    let z = zone(1024);
    let p = z.alloc_pages_buddy(0, 0, GFP_KERNEL).unwrap();
    assert_eq!(page_ref_count(p), 1);
    assert_eq!(
        z.pcps()[0].count(),
        0,
        "no batch was pulled onto CPU 0's list"
    );
    assert_eq!(z.nr_free_pages(), 1023);
    z.__free_pages_buddy(0, p, 0);
    assert_eq!(
        z.pcps()[0].count(),
        0,
        "the free did not go to a per-CPU list"
    );
    assert_eq!(
        z.free_counts()[MAX_ORDER - 1],
        1,
        "the frame merged straight back into the order-10 block"
    );
    let r = z.audit();
    assert_eq!((r.frames_free, r.double_free, r.bad_state), (1024, 0, 0));
}
