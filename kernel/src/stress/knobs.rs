//! The experiments' knob vocabulary, at the bottom of `stress/`: what a variant row sets.
//!
//! - Writer knobs: the allocator's are [`MmKnobs`] (W2 tail clearing, W7 init order, per-CPU
//!   list protection and reuse), embedded as they are; the table-free policy (W5) is the page
//!   tables' own [`TableFreePolicy`]. Only what exists for the experiments alone is defined here:
//!   the strength of the PTE store that publishes a page (W1, [`PtePublish`]), the unmapper's
//!   TLB shootdown ([`Shootdown`]) and FOLL_GET vs FOLL_PIN ([`Foll`]).
//! - Reader knobs: one marker type per reader (associated consts of [`Variant`], so each row's
//!   reader is its own monomorphised copy), and [`Reader`], the value that names one of them in
//!   a table row; [`Reader::with`] turns it back into a type for code generic over the reader.

use crate::gup::variant::{Grab, RecheckOrder, Variant};
use crate::mm::knobs::MmKnobs;
use crate::mm::pgtable::tlb_free::TableFreePolicy;

/// W1: how a PTE/PMD is published after the page's metadata.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PtePublish {
    /// Release store (or `smp_wmb()` before it).
    Release,
    /// Plain store with no barrier before it (V4).
    Relaxed,
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

/// Writer-side knobs a run sets before it starts: the allocator's, plus the experiments' own.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WriterKnobs {
    /// The allocator: W2 tail clearing, W7 init order, per-CPU lists (set on the zone).
    pub mm: MmKnobs,
    /// W1: the PTE store that publishes a page.
    pub pte_publish: PtePublish,
    /// W5: when an unlinked page-table page is freed.
    pub table_free: TableFreePolicy,
    /// TLB shootdown.
    pub shootdown: Shootdown,
}

/// The fixed writer (W1–W7): the allocator's fixed knobs (W2 release, W7, spin-locked per-CPU
/// lists), release PTE stores, deferred table freeing, broadcast shootdown.
pub const FIXED_WRITER: WriterKnobs = WriterKnobs {
    mm: MmKnobs::FIXED,
    pte_publish: PtePublish::Release,
    table_free: TableFreePolicy::Deferred,
    shootdown: Shootdown::Broadcast,
};

macro_rules! readers {
    ($( $(#[$m:meta])* $t:ident, $name:literal { $($c:ident : $ty:ty = $v:expr),* $(,)? } )*) => {
        $(
            $(#[$m])*
            pub struct $t;
            impl Variant for $t {
                const NAME: &'static str = $name;
                $(const $c: $ty = $v;)*
            }
        )*

        /// Names one reader marker type in a table row.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub enum Reader {
            $( $(#[$m])* $t, )*
        }

        impl Reader {
            /// Every reader.
            pub const ALL: &'static [Reader] = &[$(Reader::$t),*];

            /// The marker's `NAME`.
            pub fn name(self) -> &'static str {
                match self {
                    $(Reader::$t => $name,)*
                }
            }

            /// `P::make::<V>()` for this reader's marker type `V`.
            pub fn with<P: PerReader>(self) -> P::Out {
                match self {
                    $(Reader::$t => P::make::<$t>(),)*
                }
            }
        }
    };
}

/// Something built per reader type (e.g. an experiment monomorphised for it).
pub trait PerReader {
    /// What is built.
    type Out;
    /// Build it for reader `V`.
    fn make<V: Variant>() -> Self::Out;
}

readers! {
    /// V0: fixed reader (R0–R8, v5.18+ retry).
    V0, "V0" {}
    /// V1: no membership recheck (before c24d37322548).
    V1, "V1" { MEMBERSHIP_RECHECK: bool = false }
    /// V2: FOLL_PIN metadata (bias vs pincount) read before the ref.
    V2, "V2" { META_BEFORE_REF: bool = true }
    /// V5: relaxed add-unless-zero (no acquire).
    V5, "V5" { GRAB: Grab = Grab::AddUnlessRelaxed }
    /// V6: no PTE/PMD recheck.
    V6, "V6" { PTE_RECHECK: bool = false }
    /// V7: plain increment instead of add-unless-zero.
    V7, "V7" { GRAB: Grab = Grab::PlainAdd }
    /// V8: PTE recheck before the membership recheck.
    V8, "V8" { RECHECK_ORDER: RecheckOrder = RecheckOrder::PteThenHead }
    /// V9: no `smp_mb__after_atomic()` between the pin and the PTE recheck.
    V9, "V9" { PIN_FENCE: bool = false }
    /// V11: fail (v5.14) instead of retry (v5.18) on a membership mismatch.
    V11, "V11" { RETRY: bool = false }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn reader_knobs_are_compile_time_and_distinct() {
        const { assert!(!V1::MEMBERSHIP_RECHECK && V0::MEMBERSHIP_RECHECK) };
        const { assert!(!V6::PTE_RECHECK && V0::PTE_RECHECK) };
        assert_eq!(V7::GRAB, Grab::PlainAdd);
        assert_eq!(V5::GRAB, Grab::AddUnlessRelaxed);
        const { assert!(!V9::PIN_FENCE && !V11::RETRY && V2::META_BEFORE_REF) };
        assert_eq!(V8::RECHECK_ORDER, RecheckOrder::PteThenHead);
    }

    struct Name;
    impl PerReader for Name {
        type Out = &'static str;
        fn make<V: Variant>() -> &'static str {
            V::NAME
        }
    }

    #[test]
    fn each_reader_value_names_its_own_marker() {
        for r in Reader::ALL {
            assert_eq!(r.with::<Name>(), r.name());
        }
    }

    #[test]
    fn the_fixed_writer_is_the_allocators_fixed_knobs() {
        assert_eq!(FIXED_WRITER.mm, MmKnobs::FIXED);
    }
}
