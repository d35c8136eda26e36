//! The variant table: V0…V12 as data.
//!
//! Each row names a variant, says what it changes, which writer-side knobs a run sets, which
//! experiment exercises it by default, and what its race needs from the hardware (from which
//! the expected verdict per memory model follows). The reader-side knobs are the marker types
//! below (associated consts of [`Variant`]), so each row's reader is its own monomorphised copy.

use super::experiments::{runner, Experiment, RunFn};
use super::verdict::{Expected, MemModel, RaceClass, Verdict};
use crate::gup::variant::{Grab, RecheckOrder, Variant};

/// W2: how `free_pages_prepare` clears tail `compound_head` words before reuse.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TailClear {
    /// Ordered before any later publication of a nonzero refcount (Linux).
    Ordered,
    /// Plain relaxed stores, no barrier after them (Jann's hypothetical, V3).
    Relaxed,
}

/// W1: how a PTE/PMD is published after the page's metadata.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PtePublish {
    /// Release store (or `smp_wmb()` before it).
    Release,
    /// Plain store with no barrier before it (V4).
    Relaxed,
}

/// W5: when a page-table page is freed after being unlinked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TableFree {
    /// After every interrupt-masked walker that could see it has left (Linux RCU table free).
    Deferred,
    /// At once (V10).
    Immediate,
}

/// Per-CPU free list protection and reuse.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PcpMode {
    /// Linux: per-CPU lists per order; different-order reuse only via the locked buddy lists.
    Linux,
    /// Lockless (IRQ-off only) per-CPU lists that hand a freed block out again at another
    /// order (Jann's hypothetical allocator, V3).
    ReuseOtherOrderIrqOff,
    /// As above, but the lists sit under a real spin lock (acquire/release) (V3l).
    ReuseOtherOrderLocked,
}

/// W7: the order of the refcount store and the compound metadata stores at allocation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InitOrder {
    /// Linux v5.13–v6.12: `set_page_refcounted()` before `prep_compound_page()`.
    Linux,
    /// Refcount last, with release (W7).
    RefLast,
    /// Refcount last, plain store: W7's program order without its release, so a variant that
    /// drops another invariant (V4: W1) is not rescued by W7's release.
    RefLastRelaxed,
}

/// How the unmapper's TLB shootdown relates to interrupt-masked GUP-fast readers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shootdown {
    /// Broadcast TLBI: does not wait for readers (arm64, paravirt x86).
    Broadcast,
    /// IPI-acknowledged: waits until every reader left its IRQ-off section (bare-metal x86, V1i).
    WaitReaders,
}

/// FOLL_GET or FOLL_PIN for the readers' GUP calls.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Foll {
    /// `get_user_pages_fast`.
    Get,
    /// `pin_user_pages_fast`.
    Pin,
    /// Chosen per iteration from the seed.
    Mixed,
}

/// Writer-side knobs a run sets before it starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WriterKnobs {
    /// W2.
    pub tail_clear: TailClear,
    /// W1.
    pub pte_publish: PtePublish,
    /// W5.
    pub table_free: TableFree,
    /// Per-CPU lists.
    pub pcp: PcpMode,
    /// W7.
    pub init_order: InitOrder,
    /// TLB shootdown.
    pub shootdown: Shootdown,
}

/// The fixed writer (W1–W7).
pub const FIXED_WRITER: WriterKnobs = WriterKnobs {
    tail_clear: TailClear::Ordered,
    pte_publish: PtePublish::Release,
    table_free: TableFree::Deferred,
    pcp: PcpMode::Linux,
    init_order: InitOrder::RefLast,
    shootdown: Shootdown::Broadcast,
};

/// One row of the matrix.
pub struct VariantDesc {
    /// `V0` … `V12`.
    pub id: &'static str,
    /// What differs from V0 (one line).
    pub what: &'static str,
    /// Writer knobs.
    pub writer: WriterKnobs,
    /// GET or PIN.
    pub foll: Foll,
    /// The experiment that exercises this variant's race.
    pub experiment: Experiment,
    /// What the race needs from the hardware.
    pub class: RaceClass,
    /// The experiments, monomorphised for this variant's reader.
    pub runner: fn(Experiment) -> RunFn,
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

macro_rules! marker {
    ($(#[$m:meta])* $t:ident, $name:literal { $($c:ident : $ty:ty = $v:expr),* $(,)? }) => {
        $(#[$m])*
        pub struct $t;
        impl Variant for $t {
            const NAME: &'static str = $name;
            $(const $c: $ty = $v;)*
        }
    };
}

marker!(/// V0: fixed reader (R0–R8, v5.18+ retry).
    V0, "V0" {});
marker!(/// V1: no membership recheck (before c24d37322548).
    V1, "V1" { MEMBERSHIP_RECHECK: bool = false });
marker!(/// V2: FOLL_PIN metadata (bias vs pincount) read before the ref.
    V2, "V2" { META_BEFORE_REF: bool = true });
marker!(/// V5: relaxed add-unless-zero (no acquire).
    V5, "V5" { GRAB: Grab = Grab::AddUnlessRelaxed });
marker!(/// V6: no PTE/PMD recheck.
    V6, "V6" { PTE_RECHECK: bool = false });
marker!(/// V7: plain increment instead of add-unless-zero.
    V7, "V7" { GRAB: Grab = Grab::PlainAdd });
marker!(/// V8: PTE recheck before the membership recheck.
    V8, "V8" { RECHECK_ORDER: RecheckOrder = RecheckOrder::PteThenHead });
marker!(/// V9: no `smp_mb__after_atomic()` between the pin and the PTE recheck.
    V9, "V9" { PIN_FENCE: bool = false });
marker!(/// V11: fail (v5.14) instead of retry (v5.18) on a membership mismatch.
    V11, "V11" { RETRY: bool = false });

/// The matrix (spec §7). Order is the suite's order.
pub static VARIANTS: &[VariantDesc] = &[
    VariantDesc {
        id: "V0",
        what: "fixed: R0-R8 (membership recheck + retry, full add-unless, PTE/PMD recheck, pin fence), W1-W7",
        writer: FIXED_WRITER,
        foll: Foll::Mixed,
        experiment: Experiment::Split,
        class: RaceClass::None,
        runner: runner::<V0>,
    },
    VariantDesc {
        id: "V1",
        what: "no membership recheck R5 (pre-c24d37322548); split / free+realloc stress",
        writer: FIXED_WRITER,
        foll: Foll::Get,
        experiment: Experiment::Split,
        class: RaceClass::Logical,
        runner: runner::<V1>,
    },
    VariantDesc {
        id: "V1i",
        what: "V1 reader, TLB shootdown waits for IRQ-masked readers (bare-metal x86 IPI flush)",
        writer: WriterKnobs { shootdown: Shootdown::WaitReaders, ..FIXED_WRITER },
        foll: Foll::Get,
        experiment: Experiment::Split,
        class: RaceClass::None,
        runner: runner::<V1>,
    },
    VariantDesc {
        id: "V2",
        what: "FOLL_PIN metadata (order -> bias vs pincount) read before the ref (pre-v5.14)",
        writer: FIXED_WRITER,
        foll: Foll::Pin,
        experiment: Experiment::Split,
        class: RaceClass::Logical,
        runner: runner::<V2>,
    },
    VariantDesc {
        id: "V3",
        what: "W2 off: per-CPU reuse at another order, relaxed tail clearing, IRQ-off lists (Jann)",
        // Spec §5b step 6: the reused page's refcount is a plain store (Linux order): W7's
        // release would order S_clr before S_ref and close the race it tests.
        writer: WriterKnobs {
            tail_clear: TailClear::Relaxed,
            pcp: PcpMode::ReuseOtherOrderIrqOff,
            init_order: InitOrder::Linux,
            ..FIXED_WRITER
        },
        foll: Foll::Get,
        experiment: Experiment::Reuse,
        class: RaceClass::StoreStore,
        runner: runner::<V0>,
    },
    VariantDesc {
        id: "V3l",
        what: "V3 with the per-CPU lists under a real spin lock (acquire/release)",
        // Same writer as V3 but locked lists: the lock, not W7, must be what closes it.
        writer: WriterKnobs {
            tail_clear: TailClear::Relaxed,
            pcp: PcpMode::ReuseOtherOrderLocked,
            init_order: InitOrder::Linux,
            ..FIXED_WRITER
        },
        foll: Foll::Get,
        experiment: Experiment::Reuse,
        class: RaceClass::None,
        runner: runner::<V0>,
    },
    VariantDesc {
        id: "V4",
        what: "W1 off: no release before the PTE store (Jason)",
        // Only W1 missing: the refcount is still stored last (W7's order) but without W7's
        // release, which would otherwise order the metadata before it for the reader's RMW.
        writer: WriterKnobs {
            pte_publish: PtePublish::Relaxed,
            init_order: InitOrder::RefLastRelaxed,
            ..FIXED_WRITER
        },
        foll: Foll::Mixed,
        experiment: Experiment::Publish,
        class: RaceClass::StoreStore,
        runner: runner::<V0>,
    },
    VariantDesc {
        id: "V5",
        what: "R4 relaxed add-unless-zero (no acquire): the PTE recheck may be satisfied early",
        writer: FIXED_WRITER,
        foll: Foll::Get,
        experiment: Experiment::RecheckRace,
        class: RaceClass::LoadPassesRmw,
        runner: runner::<V5>,
    },
    VariantDesc {
        id: "V6",
        what: "no PTE/PMD recheck R7",
        writer: FIXED_WRITER,
        foll: Foll::Get,
        experiment: Experiment::Recheck,
        class: RaceClass::Logical,
        runner: runner::<V6>,
    },
    VariantDesc {
        id: "V7",
        what: "plain increment instead of add-unless-zero at R4",
        writer: FIXED_WRITER,
        foll: Foll::Get,
        experiment: Experiment::Recheck,
        class: RaceClass::Logical,
        runner: runner::<V7>,
    },
    VariantDesc {
        id: "V8",
        what: "rechecks swapped: PTE/PMD (R7) before membership (R5)",
        writer: FIXED_WRITER,
        foll: Foll::Get,
        experiment: Experiment::Split,
        class: RaceClass::None,
        runner: runner::<V8>,
    },
    VariantDesc {
        id: "V9",
        what: "R6 fence removed after the pin + may-be-pinned checker (088b8aa537c2 protocol)",
        writer: FIXED_WRITER,
        foll: Foll::Pin,
        experiment: Experiment::Pin,
        class: RaceClass::StorePassesLoadAfterRmw,
        runner: runner::<V9>,
    },
    VariantDesc {
        id: "V10",
        what: "W5 off: page-table pages freed at once (no wait for IRQ-off walkers)",
        writer: WriterKnobs { table_free: TableFree::Immediate, ..FIXED_WRITER },
        foll: Foll::Get,
        experiment: Experiment::Tables,
        class: RaceClass::Logical,
        runner: runner::<V0>,
    },
    VariantDesc {
        id: "V11",
        what: "fail to the slow path on a membership mismatch (v5.14) instead of retry (v5.18)",
        writer: FIXED_WRITER,
        foll: Foll::Get,
        experiment: Experiment::Split,
        class: RaceClass::CountsOnly,
        runner: runner::<V11>,
    },
    VariantDesc {
        id: "V12",
        what: "Linux init order (refcount=1 before compound metadata) + FOLL_PIN + stale-PTE stress",
        writer: WriterKnobs { init_order: InitOrder::Linux, ..FIXED_WRITER },
        foll: Foll::Pin,
        experiment: Experiment::Init,
        class: RaceClass::ProgramOrderWindow,
        runner: runner::<V0>,
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

    #[test]
    fn reader_knobs_are_compile_time_and_distinct() {
        const { assert!(!V1::MEMBERSHIP_RECHECK && V0::MEMBERSHIP_RECHECK) };
        const { assert!(!V6::PTE_RECHECK && V0::PTE_RECHECK) };
        assert_eq!(V7::GRAB, Grab::PlainAdd);
        assert_eq!(V5::GRAB, Grab::AddUnlessRelaxed);
        const { assert!(!V9::PIN_FENCE && !V11::RETRY && V2::META_BEFORE_REF) };
    }
}
