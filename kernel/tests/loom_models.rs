//! loom models of the three race classes of the spec (§5a, §5b, §5c), each as a must-find
//! (the broken variant's bad interleaving is found and reported by the oracle) and a must-pass
//! (the fixed variant survives every explored interleaving, and the race window was actually
//! explored). They run the real mm code (`Zone`, `put_page`, `free_pages_prepare`, per-CPU
//! lists, `prep_compound_page`, `split_huge_page`) over a two-frame mem_map; only the GUP-fast
//! reader is a minimal R0–R7 transcription (GUP's own code lives in `kernel::gup`).
//!
//! A fourth pair (d) models §5e8 / W7 (refcount published before the compound metadata vs a
//! FOLL_PIN reader holding a stale PTE).
//!
//! Run: `RUSTFLAGS="--cfg loom" cargo test -p kernel --release --test loom_models`.
#![cfg(loom)]

use kernel::mm::compound::compound_order;
use kernel::mm::huge_memory::{split_huge_page, SplitMapper};
use kernel::mm::knobs::{InitOrder, MmKnobs, PcpProtection, PcpReuse, TailClearOrder};
use kernel::mm::memmap::MemMap;
use kernel::mm::page::{Page, PageHead};
use kernel::mm::page_ref::{
    page_ref_add, page_ref_add_unless, page_ref_count, page_ref_dec_return, page_ref_inc,
    page_ref_sub,
};
use kernel::mm::pcp::PcpConfig;
use kernel::mm::pin::{compound_pincount_ptr, hpage_pincount_available, GUP_PIN_COUNTING_BIAS};
use kernel::mm::types::__GFP_COMP;
use kernel::mm::zone::Zone;
use kernel::sync::{atomic_add, atomic_sub, read_once, read_once_dep, store, AtomicU64, Strength};
use loom::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::time::Instant;

/// Frames of the model's mem_map: H = pfn 0 (head), T = pfn 1 (tail of an order-1 compound).
const H: u64 = 0;
const T: u64 = 1;

fn zone(knobs: MmKnobs) -> Arc<Zone> {
    let z = Zone::new(
        MemMap::new_owned(0, 2, false),
        2,
        PcpConfig { high: 64, batch: 1 },
        knobs,
    );
    z.free_pfn_range(0, 2);
    Arc::new(z)
}

fn knobs(tail_clear: TailClearOrder, reuse: PcpReuse) -> MmKnobs {
    MmKnobs {
        tail_clear,
        init_order: InitOrder::Linux,
        pcp: PcpProtection::IrqOff,
        pcp_reuse: reuse,
        check_new_pages: true,
        poison: false,
    }
}

/// Outcome counters across all explored executions (std atomics: outside the model).
#[derive(Default)]
struct Counts {
    execs: AtomicUsize,
    accepted: AtomicUsize,
    recheck_caught: AtomicUsize,
}

/// The GUP-fast reader (spec §6 R0–R7) for the pte `pte` mapping T: returns the head it
/// accepted a reference on, or None (fallback). `recheck` is R5 (membership recheck).
fn gup_fast_one(z: &Zone, pte: &AtomicU64, recheck: bool, counts: &Counts) -> Option<u64> {
    let mm = z.mem_map();
    let pte0 = read_once_dep(pte); // R0
    if pte0 == 0 {
        return None; // R1
    }
    let page = mm.pfn_to_page(pte0); // R2
    let head = mm.compound_head(page); // R3: one READ_ONCE of page->compound_head
    if !page_ref_add_unless(head, 1, 0, Strength::Full) {
        return None; // R4: freed, frozen, or a tail/free page
    }
    if recheck && !core::ptr::eq(mm.compound_head(page), head) {
        counts.recheck_caught.fetch_add(1, SeqCst);
        z.put_page(1, head); // R5: membership changed under us
        return None;
    }
    if read_once(pte) != pte0 {
        z.put_page(1, head); // R7
        return None;
    }
    counts.accepted.fetch_add(1, SeqCst);
    Some(mm.page_to_pfn(head))
}

/// The tail word of T after the run decodes to H?
fn t_in_h(z: &Zone) -> bool {
    let mm = z.mem_map();
    core::ptr::eq(mm.compound_head(mm.pfn_to_page(T)), mm.pfn_to_page(H))
}

fn builder() -> loom::model::Builder {
    let mut b = loom::model::Builder::new();
    b.preemption_bound = Some(
        std::env::var("LOOM_MAX_PREEMPTIONS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(3),
    );
    b
}

/// Run a must-find model: it must panic with `oracle` in the message.
fn must_find(name: &str, oracle: &'static str, f: impl Fn() + Sync + Send + 'static) {
    let t0 = Instant::now();
    let prev = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| builder().check(f)));
    std::panic::set_hook(prev);
    let payload =
        r.expect_err("must-find model passed: the oracle never fired (vacuous or broken model)");
    let text = payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default();
    assert!(
        text.contains(oracle),
        "{name}: model failed for another reason: {text}"
    );
    eprintln!("{name}: found in {:?}: {text}", t0.elapsed());
}

fn must_pass(name: &str, counts: &'static Counts, f: impl Fn() + Sync + Send + 'static) {
    let t0 = Instant::now();
    builder().check(f);
    let (e, a, c) = (
        counts.execs.load(SeqCst),
        counts.accepted.load(SeqCst),
        counts.recheck_caught.load(SeqCst),
    );
    eprintln!("{name}: passed in {:?}: {e} executions, {a} accepted, {c} caught by the membership recheck", t0.elapsed());
    assert!(e > 0 && a > 0, "{name}: the reader never accepted: vacuous");
}

// ---------------------------------------------------------------------------------------
// (a) §5a: split_huge_page vs speculative get.

const ORACLE_A: &str = "ORACLE 5a: GUP accepted a reference on H for T after T left H";

/// The page-table side of (a): one PTE mapping T; the mapping's reference is on the compound
/// head before the split and on T after it; remap re-installs the identical PTE (ABA).
struct OnePte<'a> {
    pte: &'a AtomicU64,
}

impl SplitMapper for OnePte<'_> {
    fn unmap_page(&mut self, _z: &Zone, head: &Page) {
        store(self.pte, 0, Strength::Relaxed); // -> migration entry; TLBI does not wait for G
        page_ref_dec_return(head); // try_to_migrate drops the mapping's reference
    }
    fn remap_page(&mut self, z: &Zone, head: &Page, split: bool) {
        let t = z.mem_map().pfn_to_page(T);
        page_ref_inc(if split { t } else { head });
        store(self.pte, T, Strength::Relaxed);
    }
}

fn model_split(recheck: bool, counts: &'static Counts) {
    counts.execs.fetch_add(1, SeqCst);
    let z = zone(knobs(TailClearOrder::Relaxed, PcpReuse::SameOrderOnly));
    let h = z.alloc_pages(0, 1, __GFP_COMP).unwrap();
    assert_eq!(z.page_to_pfn(h), H);
    page_ref_inc(h); // the PTE mapping T holds a reference on the compound page
    let pte = Arc::new(AtomicU64::new(T));
    let (z2, pte2) = (z.clone(), pte.clone());
    let g = loom::thread::spawn(move || gup_fast_one(&z2, &pte2, recheck, counts));
    let r = split_huge_page(&z, 0, z.pfn_to_page(H), &mut OnePte { pte: &pte });
    let got = g.join().unwrap();
    if got == Some(H) && r.is_ok() {
        assert!(t_in_h(&z), "{ORACLE_A}");
    }
}

#[test]
fn a_split_without_membership_recheck_is_found() {
    static C: Counts = Counts {
        execs: AtomicUsize::new(0),
        accepted: AtomicUsize::new(0),
        recheck_caught: AtomicUsize::new(0),
    };
    must_find("5a no-recheck", ORACLE_A, || model_split(false, &C));
}

#[test]
fn a_split_with_membership_recheck_passes() {
    static C: Counts = Counts {
        execs: AtomicUsize::new(0),
        accepted: AtomicUsize::new(0),
        recheck_caught: AtomicUsize::new(0),
    };
    must_pass("5a recheck", &C, || model_split(true, &C));
    assert!(
        C.recheck_caught.load(SeqCst) > 0,
        "the split window was never explored"
    );
}

// ---------------------------------------------------------------------------------------
// (b) §5b: free -> per-CPU reuse at another order vs speculative get.

const ORACLE_B: &str =
    "ORACLE 5b: GUP accepted a reference on H for T although T was freed and H reused";

fn model_reuse(tail_clear: TailClearOrder, counts: &'static Counts) {
    counts.execs.fetch_add(1, SeqCst);
    let z = zone(knobs(tail_clear, PcpReuse::SplitOnReuse));
    let h = z.alloc_pages(0, 1, __GFP_COMP).unwrap();
    assert_eq!(z.page_to_pfn(h), H);
    // G got pte0 -> T before the zap (steps 1-2); the zap's PTE clear is not modelled: the
    // reused T would be re-mapped with the identical PTE (step 7), so R7 passes either way.
    let pte = Arc::new(AtomicU64::new(T));
    let (z2, pte2) = (z.clone(), pte.clone());
    let g = loom::thread::spawn(move || gup_fast_one(&z2, &pte2, true, counts));
    // F (CPU 0): last put_page frees the compound page to its per-CPU list (S_clr on T), then
    // the same CPU allocates an order-0 page: the §5b allocator hands out H (S_ref).
    z.put_page(0, h);
    let p = z.alloc_pages(0, 0, 0);
    let got = g.join().unwrap();
    if got == Some(H) {
        assert!(
            t_in_h(&z),
            "{ORACLE_B} (reused as pfn {:?})",
            p.map(|p| z.page_to_pfn(p))
        );
    }
}

#[test]
fn b_pcp_reuse_with_relaxed_tail_clear_is_found() {
    static C: Counts = Counts {
        execs: AtomicUsize::new(0),
        accepted: AtomicUsize::new(0),
        recheck_caught: AtomicUsize::new(0),
    };
    must_find("5b relaxed S_clr", ORACLE_B, || {
        model_reuse(TailClearOrder::Relaxed, &C)
    });
}

#[test]
fn b_pcp_reuse_with_release_tail_clear_passes() {
    static C: Counts = Counts {
        execs: AtomicUsize::new(0),
        accepted: AtomicUsize::new(0),
        recheck_caught: AtomicUsize::new(0),
    };
    must_pass("5b W2 release", &C, || {
        model_reuse(TailClearOrder::Release, &C)
    });
    assert!(
        C.recheck_caught.load(SeqCst) > 0,
        "the reuse window was never explored"
    );
}

// ---------------------------------------------------------------------------------------
// (c) §5c: compound initialisation vs PTE publication.

const ORACLE_C: &str = "ORACLE 5c: GUP accepted a compound page whose PG_head/order it cannot see";

fn model_publish(pte_store: Strength, counts: &'static Counts) {
    counts.execs.fetch_add(1, SeqCst);
    let z = zone(knobs(TailClearOrder::Relaxed, PcpReuse::SameOrderOnly));
    let pte = Arc::new(AtomicU64::new(0));
    let (z2, pte2) = (z.clone(), pte.clone());
    let g = loom::thread::spawn(move || {
        let head = gup_fast_one(&z2, &pte2, true, counts)?;
        // FOLL_PIN reads the metadata after the grab (v5.14): bias vs pincount.
        let hp = z2.pfn_to_page(head);
        let ok = PageHead(hp) && compound_order(z2.mem_map(), hp) == 1;
        assert!(ok, "{ORACLE_C}");
        Some(head)
    });
    // A (CPU 0): allocate the compound page (Linux order: refcount 1, then S_ch, PG_head,
    // page[1]), then map T. W1 decides the PTE store's strength.
    let h = z.alloc_pages(0, 1, __GFP_COMP).unwrap();
    assert_eq!(z.page_to_pfn(h), H);
    store(&*pte, T, pte_store);
    g.join().unwrap();
}

#[test]
fn c_publish_with_relaxed_pte_store_is_found() {
    static C: Counts = Counts {
        execs: AtomicUsize::new(0),
        accepted: AtomicUsize::new(0),
        recheck_caught: AtomicUsize::new(0),
    };
    must_find("5c relaxed PTE", ORACLE_C, || {
        model_publish(Strength::Relaxed, &C)
    });
}

#[test]
fn c_publish_with_release_pte_store_passes() {
    static C: Counts = Counts {
        execs: AtomicUsize::new(0),
        accepted: AtomicUsize::new(0),
        recheck_caught: AtomicUsize::new(0),
    };
    must_pass("5c W1 release", &C, || model_publish(Strength::AcqRel, &C));
}

// ---------------------------------------------------------------------------------------
// (d) §5e8 / W7: refcount 0->1 before the compound metadata vs a FOLL_PIN reader with a stale
// PTE. The reader takes a speculative reference through T's new `compound_head`, decides
// pincount vs BIAS from the metadata, fails the PTE recheck (T is not mapped) and undoes the
// pin. With Linux's order its pincount add can be overwritten by `prep_compound_page`
// (pincount = 0) or its bias/pincount choice can differ between grab and undo.

const ORACLE_D: &str = "ORACLE 5e8: pin accounting broken after an aborted FOLL_PIN";

fn model_init_order(init_order: InitOrder, counts: &'static Counts) {
    counts.execs.fetch_add(1, SeqCst);
    let k = MmKnobs {
        init_order,
        ..knobs(TailClearOrder::Relaxed, PcpReuse::SameOrderOnly)
    };
    let z = Zone::new(
        MemMap::new_owned(0, 4, false),
        2,
        PcpConfig { high: 64, batch: 1 },
        k,
    );
    z.free_pfn_range(0, 4);
    let z = Arc::new(z);
    let pte = Arc::new(AtomicU64::new(0)); // T's old mapping is gone; G still holds pte0 = T
    let (z2, pte2) = (z.clone(), pte.clone());
    let g = loom::thread::spawn(move || {
        let mm = z2.mem_map();
        let page = mm.pfn_to_page(T); // R2 from the stale pte0
        let head = mm.compound_head(page); // R3
        if !page_ref_add_unless(head, 1, 0, Strength::Full) {
            return; // R4
        }
        if !core::ptr::eq(mm.compound_head(page), head) {
            z2.put_page(1, head); // R5
            return;
        }
        counts.accepted.fetch_add(1, SeqCst);
        // R6 (v5.14 try_grab_compound_head, FOLL_PIN): metadata read after the reference.
        let large = hpage_pincount_available(mm, head);
        if large {
            atomic_add(compound_pincount_ptr(mm, head), 1);
        } else {
            page_ref_add(head, GUP_PIN_COUNTING_BIAS - 1);
        }
        if read_once(&*pte2) != T {
            // R7 failed: undo (put_compound_head re-reads the metadata, as unpin does).
            counts.recheck_caught.fetch_add(1, SeqCst);
            if hpage_pincount_available(mm, head) {
                atomic_sub(compound_pincount_ptr(mm, head), 1);
            } else {
                page_ref_sub(head, GUP_PIN_COUNTING_BIAS - 1);
            }
            z2.put_page(1, head);
        }
    });
    // A (CPU 0): allocate an order-2 compound page covering T.
    let h = z.alloc_pages(0, 2, __GFP_COMP).unwrap();
    assert_eq!(z.page_to_pfn(h), H);
    g.join().unwrap();
    let mm = z.mem_map();
    let pins = read_once(compound_pincount_ptr(mm, h));
    let refs = page_ref_count(h);
    assert!(
        pins == 0 && refs == 1,
        "{ORACLE_D}: pincount {pins}, refcount {refs} (want 0, 1)"
    );
    let _ = pte;
}

#[test]
fn d_linux_init_order_vs_stale_pin_is_found() {
    static C: Counts = Counts {
        execs: AtomicUsize::new(0),
        accepted: AtomicUsize::new(0),
        recheck_caught: AtomicUsize::new(0),
    };
    must_find("5e8 Linux init order", ORACLE_D, || {
        model_init_order(InitOrder::Linux, &C)
    });
}

#[test]
fn d_w7_init_order_vs_stale_pin_passes() {
    static C: Counts = Counts {
        execs: AtomicUsize::new(0),
        accepted: AtomicUsize::new(0),
        recheck_caught: AtomicUsize::new(0),
    };
    must_pass("5e8 W7", &C, || model_init_order(InitOrder::W7, &C));
    assert!(
        C.recheck_caught.load(SeqCst) > 0,
        "the aborted-pin path was never explored"
    );
}
