//! The variant table: V0…V12 as data.
//!
//! Each row names a variant, says what it changes, which reader it runs (a marker type of
//! [`super::knobs`], monomorphised), which writer knobs a run sets (the allocator's
//! [`crate::mm::knobs::MmKnobs`] plus the experiments' own), which experiment exercises it by
//! default, and what its race needs from the hardware (from which the expected verdict per
//! memory model follows).

use super::experiments::{named, Experiment};
use super::knobs::{Foll, PtePublish, Reader, Shootdown, WriterKnobs, FIXED_WRITER};
use super::verdict::{Expected, MemModel, RaceClass, Verdict};
use crate::mm::knobs::{InitOrder, MmKnobs, PcpProtection, PcpReuse, TailClearOrder};
use crate::mm::pgtable::tlb_free::TableFreePolicy;

/// One row of the matrix.
pub struct VariantDesc {
    /// `V0` … `V12`.
    pub id: &'static str,
    /// What differs from V0 (one line).
    pub what: &'static str,
    /// The reader (compile-time knobs).
    pub reader: Reader,
    /// Writer knobs.
    pub writer: WriterKnobs,
    /// GET or PIN.
    pub foll: Foll,
    /// The experiment that exercises this variant's race.
    pub experiment: Experiment,
    /// What the race needs from the hardware.
    pub class: RaceClass,
}

impl VariantDesc {
    /// Expected verdict on a platform of memory model `m`.
    pub fn expected(&self, m: MemModel) -> Expected {
        match self.class {
            RaceClass::None | RaceClass::CountsOnly => Expected::Is(Verdict::Clean),
            RaceClass::Logical => Expected::Is(Verdict::Reproduced),
            RaceClass::ProgramOrderWindow => Expected::Any,
            RaceClass::StoreStore
            | RaceClass::LoadPassesRmw
            | RaceClass::StorePassesLoadAfterRmw => match m {
                MemModel::Tso => Expected::Is(Verdict::NotReachableHere),
                MemModel::Weak | MemModel::Unknown => Expected::Any,
            },
        }
    }
}

/// The allocator of V3/V3l (spec §5b): relaxed tail clearing, Linux init order (W7's release
/// would order S_clr before S_ref and close the race it tests), per-CPU reuse at another order.
const REUSE_OTHER_ORDER: MmKnobs = MmKnobs {
    tail_clear: TailClearOrder::Relaxed,
    init_order: InitOrder::Linux,
    pcp: PcpProtection::IrqOff,
    pcp_reuse: PcpReuse::SplitOnReuse,
    ..MmKnobs::FIXED
};

/// The matrix (spec §7). Order is the suite's order.
pub static VARIANTS: &[VariantDesc] = &[
    VariantDesc {
        id: "V0",
        what: "fixed: R0-R8 (membership recheck + retry, full add-unless, PTE/PMD recheck, pin fence), W1-W7",
        reader: Reader::V0,
        writer: FIXED_WRITER,
        foll: Foll::Mixed,
        experiment: named("split"),
        class: RaceClass::None,
    },
    VariantDesc {
        id: "V1",
        what: "no membership recheck R5 (pre-c24d37322548); split / free+realloc stress",
        reader: Reader::V1,
        writer: FIXED_WRITER,
        foll: Foll::Get,
        experiment: named("split"),
        class: RaceClass::Logical,
    },
    VariantDesc {
        id: "V1i",
        what: "V1 reader, TLB shootdown waits for IRQ-masked readers (bare-metal x86 IPI flush)",
        reader: Reader::V1,
        writer: WriterKnobs { shootdown: Shootdown::WaitReaders, ..FIXED_WRITER },
        foll: Foll::Get,
        experiment: named("split"),
        class: RaceClass::None,
    },
    VariantDesc {
        id: "V2",
        what: "FOLL_PIN metadata (order -> bias vs pincount) read before the ref (pre-v5.14)",
        reader: Reader::V2,
        writer: FIXED_WRITER,
        foll: Foll::Pin,
        experiment: named("split"),
        class: RaceClass::Logical,
    },
    VariantDesc {
        id: "V3",
        what: "W2 off: per-CPU reuse at another order, relaxed tail clearing, IRQ-off lists (Jann)",
        reader: Reader::V0,
        // Spec §5b step 6: the reused page's refcount is a plain store (Linux order): W7's
        // release would order S_clr before S_ref and close the race it tests.
        writer: WriterKnobs { mm: REUSE_OTHER_ORDER, ..FIXED_WRITER },
        foll: Foll::Get,
        experiment: named("reuse"),
        class: RaceClass::StoreStore,
    },
    VariantDesc {
        id: "V3l",
        what: "V3 with the per-CPU lists under a real spin lock (acquire/release)",
        reader: Reader::V0,
        // Same writer as V3 but locked lists: the lock, not W7, must be what closes it.
        writer: WriterKnobs {
            mm: MmKnobs { pcp: PcpProtection::SpinLock, ..REUSE_OTHER_ORDER },
            ..FIXED_WRITER
        },
        foll: Foll::Get,
        experiment: named("reuse"),
        class: RaceClass::None,
    },
    VariantDesc {
        id: "V4",
        what: "W1 off: no release before the PTE store (Jason)",
        reader: Reader::V0,
        // Only W1 missing: the refcount is still stored last (W7's order) but without W7's
        // release, which would otherwise order the metadata before it for the reader's RMW.
        writer: WriterKnobs {
            pte_publish: PtePublish::Relaxed,
            mm: MmKnobs { init_order: InitOrder::LastRelaxed, ..MmKnobs::FIXED },
            ..FIXED_WRITER
        },
        foll: Foll::Mixed,
        experiment: named("publish"),
        class: RaceClass::StoreStore,
    },
    VariantDesc {
        id: "V5",
        what: "R4 relaxed add-unless-zero (no acquire): the PTE recheck may be satisfied early",
        reader: Reader::V5,
        writer: FIXED_WRITER,
        foll: Foll::Get,
        experiment: named("recheck-race"),
        class: RaceClass::LoadPassesRmw,
    },
    VariantDesc {
        id: "V6",
        what: "no PTE/PMD recheck R7",
        reader: Reader::V6,
        writer: FIXED_WRITER,
        foll: Foll::Get,
        experiment: named("recheck"),
        class: RaceClass::Logical,
    },
    VariantDesc {
        id: "V7",
        what: "plain increment instead of add-unless-zero at R4",
        reader: Reader::V7,
        writer: FIXED_WRITER,
        foll: Foll::Get,
        experiment: named("recheck"),
        class: RaceClass::Logical,
    },
    VariantDesc {
        id: "V8",
        what: "rechecks swapped: PTE/PMD (R7) before membership (R5)",
        reader: Reader::V8,
        writer: FIXED_WRITER,
        foll: Foll::Get,
        experiment: named("split"),
        class: RaceClass::None,
    },
    VariantDesc {
        id: "V9",
        what: "R6 fence removed after the pin + may-be-pinned checker (088b8aa537c2 protocol)",
        reader: Reader::V9,
        writer: FIXED_WRITER,
        foll: Foll::Pin,
        experiment: named("pin"),
        class: RaceClass::StorePassesLoadAfterRmw,
    },
    VariantDesc {
        id: "V10",
        what: "W5 off: page-table pages freed at once (no wait for IRQ-off walkers)",
        reader: Reader::V0,
        writer: WriterKnobs { table_free: TableFreePolicy::Immediate, ..FIXED_WRITER },
        foll: Foll::Get,
        experiment: named("tables"),
        class: RaceClass::Logical,
    },
    VariantDesc {
        id: "V11",
        what: "fail to the slow path on a membership mismatch (v5.14) instead of retry (v5.18)",
        reader: Reader::V11,
        writer: FIXED_WRITER,
        foll: Foll::Get,
        experiment: named("split"),
        class: RaceClass::CountsOnly,
    },
    VariantDesc {
        id: "V12",
        what: "Linux init order (refcount=1 before compound metadata) + FOLL_PIN + stale-PTE stress",
        reader: Reader::V0,
        writer: WriterKnobs {
            mm: MmKnobs { init_order: InitOrder::Linux, ..MmKnobs::FIXED },
            ..FIXED_WRITER
        },
        foll: Foll::Pin,
        experiment: named("init"),
        class: RaceClass::ProgramOrderWindow,
    },
];

/// Look a variant up by id (case-insensitive).
pub fn find(id: &str) -> Option<&'static VariantDesc> {
    VARIANTS.iter().find(|v| v.id.eq_ignore_ascii_case(id))
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_and_findable() {
        for (i, v) in VARIANTS.iter().enumerate() {
            assert!(core::ptr::eq(find(v.id).unwrap(), v));
            for w in &VARIANTS[i + 1..] {
                assert_ne!(v.id, w.id);
            }
        }
        assert!(find("v1i").is_some());
        assert!(find("V13").is_none());
    }

    /// The allocator knobs each row sets, spelled out (the values the former
    /// `driver::mm_knobs` translation produced).
    #[test]
    fn writer_knobs_are_the_allocators_own() {
        let mm = |id: &str| find(id).unwrap().writer.mm;
        let k = |tail_clear, init_order, pcp, pcp_reuse| MmKnobs {
            tail_clear,
            init_order,
            pcp,
            pcp_reuse,
            check_new_pages: true,
            poison: false,
        };
        use InitOrder::*;
        use PcpProtection::*;
        use PcpReuse::*;
        use TailClearOrder::{Relaxed, Release};
        let fixed = k(Release, W7, SpinLock, SameOrderOnly);
        for id in [
            "V0", "V1", "V1i", "V2", "V5", "V6", "V7", "V8", "V9", "V10", "V11",
        ] {
            assert_eq!(mm(id), fixed, "{id}");
        }
        assert_eq!(mm("V3"), k(Relaxed, Linux, IrqOff, SplitOnReuse));
        assert_eq!(mm("V3l"), k(Relaxed, Linux, SpinLock, SplitOnReuse));
        assert_eq!(mm("V4"), k(Release, LastRelaxed, SpinLock, SameOrderOnly));
        assert_eq!(mm("V12"), k(Release, Linux, SpinLock, SameOrderOnly));
        let w = |id: &str| find(id).unwrap().writer;
        assert_eq!(w("V4").pte_publish, PtePublish::Relaxed);
        assert_eq!(w("V10").table_free, TableFreePolicy::Immediate);
        assert_eq!(w("V1i").shootdown, Shootdown::WaitReaders);
        for v in VARIANTS {
            if !matches!(v.id, "V4") {
                assert_eq!(v.writer.pte_publish, PtePublish::Release, "{}", v.id);
            }
        }
    }

    #[test]
    fn expectations_follow_the_spec_matrix() {
        let e = |id: &str, m| find(id).unwrap().expected(m);
        for m in [MemModel::Tso, MemModel::Weak, MemModel::Unknown] {
            for id in ["V1", "V2", "V6", "V7", "V10"] {
                assert_eq!(e(id, m), Expected::Is(Verdict::Reproduced), "{id}");
            }
            for id in ["V0", "V1i", "V3l", "V8", "V11"] {
                assert_eq!(e(id, m), Expected::Is(Verdict::Clean), "{id}");
            }
            assert_eq!(e("V12", m), Expected::Any);
        }
        for id in ["V3", "V4", "V5", "V9"] {
            assert_eq!(
                e(id, MemModel::Tso),
                Expected::Is(Verdict::NotReachableHere),
                "{id}"
            );
            assert_eq!(e(id, MemModel::Weak), Expected::Any, "{id}");
            assert_eq!(e(id, MemModel::Unknown), Expected::Any, "{id}");
        }
    }
}
