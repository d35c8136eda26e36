//! Reader-side knobs of a GUP-fast variant, resolved at compile time.
//!
//! The reader (`gup_fast_pte_range`, `gup_fast_pmd_leaf`, `try_grab_folio_fast`) is generic
//! over a [`Variant`]; every knob is an associated `const`, so each variant gets its own
//! monomorphised copy of the reader and no knob is tested at run time inside a race window.
//! The defaults are the fixed algorithm of spec §6 (R0–R8): v5.18+ membership recheck with
//! retry, fully ordered add-unless-zero, PTE/PMD recheck after the ref, metadata read only
//! after the ref, `smp_mb__after_atomic()` after a pin.

/// How R4 takes the speculative reference.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Grab {
    /// `folio_ref_try_add()`: add-unless-zero, fully ordered on success (Linux).
    AddUnlessFull,
    /// Add-unless-zero with a relaxed RMW: no acquire, later loads may be satisfied early (V5).
    AddUnlessRelaxed,
    /// Plain increment, taken even when the refcount is zero (V7).
    PlainAdd,
}

/// Order of the two rechecks after the ref (R5 membership, R7 PTE/PMD).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecheckOrder {
    /// Linux: `compound_head(page) == head`, then `*ptep == pte0`.
    HeadThenPte,
    /// V8: PTE first, then membership.
    PteThenHead,
}

/// The reader-side knobs of one variant (see spec §7 for the matrix).
pub trait Variant: 'static {
    /// Short id printed in records (e.g. `"V1"`).
    const NAME: &'static str;
    /// R5: re-read `compound_head` after the ref (c24d37322548). Off = pre-v5.14 (V1).
    const MEMBERSHIP_RECHECK: bool = true;
    /// R7: re-read PMD and PTE after the ref. Off = V6.
    const PTE_RECHECK: bool = true;
    /// R4: how the speculative reference is taken (V5, V7).
    const GRAB: Grab = Grab::AddUnlessFull;
    /// Order of R5 and R7 (V8).
    const RECHECK_ORDER: RecheckOrder = RecheckOrder::HeadThenPte;
    /// R6: `smp_mb__after_atomic()` after the FOLL_PIN pincount/bias add (088b8aa537c2). Off = V9.
    const PIN_FENCE: bool = true;
    /// FOLL_PIN decides bias vs pincount from the page *before* the ref (pre-v5.14, V2).
    const META_BEFORE_REF: bool = false;
    /// On a membership mismatch: drop the refs and retry the lookup (v5.18 59409373f60a);
    /// false = fail to the slow path (v5.14 c24d37322548).
    const RETRY: bool = true;
}

/// The fixed reader (spec §6), used by code that is not an experiment.
pub struct Fixed;

impl Variant for Fixed {
    const NAME: &'static str = "fixed";
}
