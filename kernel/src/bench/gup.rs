//! GUP-fast cost per page (issue: GUP, item 7): FOLL_GET vs FOLL_PIN, 4 KiB PTE leaves vs a
//! 2 MiB PMD leaf: the lockless walk of `get_user_pages_fast` / `pin_user_pages_fast`
//! (`lockless_pages_from_mm`, fixed variant) with the release outside the timed part. Compare with `atomic_add_full_uncontended`.

use super::harness::{measure_ticks, BenchResult, BenchSpec};
use super::mm::MmBenchEnv;
use crate::gup::fast::lockless_pages_from_mm;
use crate::gup::grab::Grabbed;
use crate::gup::unpin::release_grabbed;
use crate::gup::variant::Fixed;
use crate::gup::window::NoWindow;
use crate::gup::{GupCtx, FOLL_GET, FOLL_PIN};
use crate::hal::hal;
use crate::mm::pgtable::{
    map_block_2m, set_ptes, unmap_block, unmap_page, PgProt, PAGE_SIZE, PMD_SIZE, USER_VA_BASE,
};
use crate::mm::types::{GFP_TRANSHUGE, HPAGE_PMD_ORDER};
use crate::sync::Strength;
use alloc::vec;
use alloc::vec::Vec;

/// Pages per GUP call (one PMD's worth).
const NR: usize = 512;

/// Every GUP bench; `ns_per_op` is per page.
pub fn gup_benches(env: &MmBenchEnv, cpu: usize, spec: BenchSpec) -> Vec<BenchResult> {
    let zone = env.zone;
    let ctx = GupCtx::new(zone, env.mm.pgd, cpu);
    let mut out = Vec::new();
    let calls = BenchSpec {
        iters: (spec.iters / NR as u64).max(4),
        ..spec
    };

    // A THP mapped two ways: 512 PTEs (PTE-mapped THP) and one 2 MiB block.
    let thp = zone
        .alloc_pages(cpu, HPAGE_PMD_ORDER, GFP_TRANSHUGE)
        .expect("bench: out of THP-order memory");
    let pa = zone.mem_map().page_address(thp);
    let va_pte = USER_VA_BASE + 4 * PMD_SIZE;
    let va_pmd = USER_VA_BASE + 6 * PMD_SIZE;
    set_ptes(&env.mm, va_pte, pa, NR, PgProt::USER_RW, Strength::AcqRel).expect("bench: map");
    map_block_2m(&env.mm, va_pmd, pa, PgProt::USER_RW, Strength::AcqRel).expect("bench: map");

    let mut pages: Vec<Option<Grabbed>> = vec![None; NR];
    let cases: [(&'static str, u64, u32); 4] = [
        ("gup_fast_get_4k_per_page", va_pte, FOLL_GET),
        ("gup_fast_pin_4k_per_page", va_pte, FOLL_PIN),
        ("gup_fast_get_2m_per_page", va_pmd, FOLL_GET),
        ("gup_fast_pin_2m_per_page", va_pmd, FOLL_PIN),
    ];
    for (name, va, flags) in cases {
        // Only the GUP call is timed; the release (one put per page here, no batching by
        // head) happens outside the timed part.
        let mut r = measure_ticks(name, calls, |_| {
            let t0 = hal().counter();
            // SAFETY: `env.mm` is live for the whole bench and frees its tables through the
            // deferred (grace-period) policy.
            let got = unsafe {
                lockless_pages_from_mm::<Fixed, NoWindow>(
                    &ctx,
                    va,
                    NR,
                    flags,
                    &mut pages,
                    &mut NoWindow,
                )
            };
            let ticks = hal().counter().wrapping_sub(t0);
            // The locked slow path would hide a fast-path bail: require the fast path itself.
            assert_eq!(got, NR, "bench: GUP-fast bailed on an idle address space");
            for g in pages.iter_mut().take(got) {
                let g = g.take().expect("bench: hole in GUP output");
                release_grabbed(&ctx, &g, flags, &mut NoWindow);
            }
            ticks
        });
        // One measured operation is one call of NR pages: report per page.
        r.ps_median /= NR as u64;
        r.ps_min /= NR as u64;
        r.ps_max /= NR as u64;
        r.iters *= NR as u64;
        out.push(r);
    }

    for i in 0..NR as u64 {
        unmap_page(&env.mm, va_pte + i * PAGE_SIZE).expect("bench: unmap");
    }
    unmap_block(&env.mm, va_pmd).expect("bench: unmap");
    zone.put_page(cpu, thp);
    out
}
