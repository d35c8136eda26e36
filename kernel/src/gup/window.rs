//! Hooks the GUP-fast reader calls at its race windows, and its fallback reasons.
//!
//! The reader is generic over a [`Window`]; [`NoWindow`] compiles every hook away, so the
//! plain `get_user_pages_fast()` has nothing extra in its windows. Experiments pass their own
//! implementation: on the target it widens a window (spin loop, or wait for a scripted writer
//! step with a time limit, KCSAN-style) and tallies fallbacks in per-CPU plain counters; in host
//! tests it drives the writer step by step between reader steps. A hook must not contain a
//! barrier or an RMW on shared data: it would hide the reorderings under test.

/// Where in the reader a hook runs (spec §6 step names).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Site {
    /// The PMD value was read (`pmd0`), the PTE table it points to not yet.
    AfterPmd,
    /// R0 done (`pte0` read), `compound_head` not yet read.
    AfterPte,
    /// R3 done (head decoded), R4 (the speculative ref) not yet taken.
    BeforeRef,
    /// R4 done (ref taken), R5 (membership recheck) not yet.
    AfterRef,
    /// R6 done (FOLL_PIN accounting), R7 (PTE/PMD recheck) not yet.
    BeforeRecheck,
}

/// Why GUP-fast gave a page up to the slow path (or retried).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(usize)]
pub enum Fallback {
    /// PGD/PUD/PMD entry none or not a table/leaf GUP-fast handles.
    UpperNone,
    /// PTE not present / not accessible / special.
    PteNone,
    /// The frame number is outside `mem_map` (garbage entry).
    BadPfn,
    /// R4 failed: refcount zero (free, frozen, or a tail).
    RefZero,
    /// R5 mismatch: the page changed compound head after the ref (dropped, then failed).
    HeadMismatch,
    /// R5 mismatch, dropped and retried (v5.18 behaviour).
    HeadRetry,
    /// R7: the PTE changed after the ref.
    PteChanged,
    /// R7: the PMD changed after the ref.
    PmdChanged,
    /// The locked slow path was taken for the page.
    SlowPath,
    /// The slow path found nothing mapped either.
    SlowNone,
}

impl Fallback {
    /// Number of reasons.
    pub const N: usize = 10;
    /// All reasons, in record order.
    pub const ALL: [Fallback; Self::N] = [
        Self::UpperNone,
        Self::PteNone,
        Self::BadPfn,
        Self::RefZero,
        Self::HeadMismatch,
        Self::HeadRetry,
        Self::PteChanged,
        Self::PmdChanged,
        Self::SlowPath,
        Self::SlowNone,
    ];
    /// Record key.
    pub fn name(self) -> &'static str {
        match self {
            Self::UpperNone => "upper_none",
            Self::PteNone => "pte_none",
            Self::BadPfn => "bad_pfn",
            Self::RefZero => "ref_zero",
            Self::HeadMismatch => "head_mismatch",
            Self::HeadRetry => "head_retry",
            Self::PteChanged => "pte_changed",
            Self::PmdChanged => "pmd_changed",
            Self::SlowPath => "slow_path",
            Self::SlowNone => "slow_none",
        }
    }
}

/// The reader's hooks. Every method defaults to nothing.
pub trait Window {
    /// The reader masked interrupts and is about to walk (its IRQ-off section begins).
    #[inline(always)]
    fn section_enter(&mut self) {}
    /// The walk is over; interrupts are restored right after.
    #[inline(always)]
    fn section_exit(&mut self) {}
    /// The reader reached `site`.
    #[inline(always)]
    fn at(&mut self, _site: Site) {}
    /// The reader gave a page up (or retried) for `why`.
    #[inline(always)]
    fn fallback(&mut self, _why: Fallback) {}
    /// A descriptor value the walker read at `level` (0 = PGD … 3 = PTE), before using it.
    #[inline(always)]
    fn desc(&mut self, _level: u8, _value: u64) {}
    /// R4 raised a refcount that was `old` before the add (only reported by the plain-add grab
    /// of V7, whose add cannot refuse a zero: `old <= 0` means a free page was referenced).
    #[inline(always)]
    fn ref_from(&mut self, _head_pfn: u64, _old: i32) {}
    /// A FOLL_PIN release decided bias vs pincount differently from the grab.
    #[inline(always)]
    fn pin_mismatch(&mut self, _head_pfn: u64, _grabbed_large: bool, _large_now: bool) {}
    /// A compound pincount went negative on release.
    #[inline(always)]
    fn negative_pincount(&mut self, _head_pfn: u64, _value: i32) {}
}

/// No hooks: the production reader.
pub struct NoWindow;

impl Window for NoWindow {}
