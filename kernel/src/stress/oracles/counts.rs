//! Per-CPU tallies of fallbacks and violations.
//!
//! Each CPU owns its own [`Tally`] (plain integers, no atomics, no shared cache lines), so
//! counting adds nothing to a race window; tallies are merged after the phase's rendezvous.

pub use crate::gup::window::Fallback;

/// What an oracle caught.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(usize)]
pub enum Violation {
    /// Put-time membership check: `compound_head(page) != head` while holding the ref (5a/5b).
    WrongHead,
    /// Accepted page is owned by someone else (not mapped at that VA by this mm) (5d-i).
    ForeignPage,
    /// The grab raised the refcount of a free page (5d-ii, V7).
    RefOnFreePage,
    /// A page was freed (or went back to a free list) while a GUP holder still held it.
    FreedWhileHeld,
    /// A put found the refcount already zero or negative.
    RefUnderflow,
    /// FOLL_PIN accounting decided differently at grab and at unpin (bias vs pincount).
    PinMismatch,
    /// A compound pincount went negative.
    NegativePincount,
    /// A pin or ref was lost or leaked: counts did not return to the expected value.
    LeakedRef,
    /// The walker read a poisoned (freed) page-table page (V10).
    TablePoison,
    /// A holder saw poison or a foreign canary in the data of a page it holds.
    UseAfterFree,
    /// A page pinned by GUP was seen unpinned by the "may-be-pinned" checker and made shared.
    PinnedShared,
    /// The allocator handed out a page with a nonzero refcount (`check_new_page`).
    NonzeroRefcount,
    /// The allocator handed out a page whose tail word was stale (`check_new_page`).
    StaleTail,
    /// End-of-run audit: frames not back, double free, bad state.
    AuditDirty,
    /// The allocator freed a page that was already free (MM's double-free counter).
    DoubleFree,
    /// The allocator saw a page in a bad state (MM's `bad_page` counter, reason unknown).
    MmBadState,
}

impl Violation {
    /// Number of kinds.
    pub const N: usize = 16;
    /// All kinds, in record order.
    pub const ALL: [Violation; Self::N] = [
        Self::WrongHead,
        Self::ForeignPage,
        Self::RefOnFreePage,
        Self::FreedWhileHeld,
        Self::RefUnderflow,
        Self::PinMismatch,
        Self::NegativePincount,
        Self::LeakedRef,
        Self::TablePoison,
        Self::UseAfterFree,
        Self::PinnedShared,
        Self::NonzeroRefcount,
        Self::StaleTail,
        Self::AuditDirty,
        Self::DoubleFree,
        Self::MmBadState,
    ];
    /// Record key.
    pub fn name(self) -> &'static str {
        match self {
            Self::WrongHead => "wrong_head",
            Self::ForeignPage => "foreign_page",
            Self::RefOnFreePage => "ref_on_free_page",
            Self::FreedWhileHeld => "freed_while_held",
            Self::RefUnderflow => "ref_underflow",
            Self::PinMismatch => "pin_accounting_mismatch",
            Self::NegativePincount => "negative_pincount",
            Self::LeakedRef => "leaked_ref",
            Self::TablePoison => "table_poison",
            Self::UseAfterFree => "use_after_free",
            Self::PinnedShared => "pinned_page_shared",
            Self::NonzeroRefcount => "nonzero_refcount",
            Self::StaleTail => "stale_tail",
            Self::AuditDirty => "audit_dirty",
            Self::DoubleFree => "double_free",
            Self::MmBadState => "mm_bad_state",
        }
    }
}

/// Details of the first violation a CPU saw.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FirstViolation {
    /// CPU that detected it.
    pub cpu: usize,
    /// Frame the accepted/affected page lives at.
    pub pfn: u64,
    /// Frame of the head the reference was taken on (or `pfn` if not applicable).
    pub head: u64,
    /// Iteration of the experiment.
    pub iter: u64,
    /// Nanoseconds since the experiment started.
    pub t_ns: u64,
    /// What fired.
    pub kind: Violation,
}

/// One CPU's counts for one experiment × variant.
#[derive(Clone, Debug, Default)]
pub struct Tally {
    /// GUP-fast leaf attempts (pages asked for).
    pub attempts: u64,
    /// Pages accepted by the fast path.
    pub accepted: u64,
    /// Fallbacks by [`Fallback`].
    pub fallbacks: [u64; Fallback::N],
    /// Violations by [`Violation`].
    pub violations: [u64; Violation::N],
    /// Earliest violation seen by this CPU.
    pub first: Option<FirstViolation>,
    /// Iterations completed (writer rounds / reader rounds).
    pub iters: u64,
    /// Race windows hit: iterations whose writer step overlapped the scripted reader's window,
    /// plus free-running readers' calls it overlapped (defined per mode in `stress::window`).
    pub window_hits: u64,
    /// Hardware walks (`AT S1E1R`) of accepted addresses: same page, another page, fault.
    pub mmu: [u64; 3],
}

impl Tally {
    /// Count a fallback.
    #[inline(always)]
    pub fn fallback(&mut self, f: Fallback) {
        self.fallbacks[f as usize] += 1;
    }

    /// Count a violation, remembering the first one.
    #[inline]
    pub fn violation(&mut self, v: FirstViolation) {
        self.violations[v.kind as usize] += 1;
        if self.first.is_none_or(|f| v.t_ns < f.t_ns) {
            self.first = Some(v);
        }
    }

    /// Count `n` violations of `kind` found by an allocator/audit counter (no page details).
    pub fn violations_from_counter(&mut self, kind: Violation, n: u64, at: FirstViolation) {
        if n == 0 {
            return;
        }
        self.violations[kind as usize] += n - 1;
        self.violation(FirstViolation { kind, ..at });
    }

    /// Total violations.
    pub fn total_violations(&self) -> u64 {
        self.violations.iter().sum()
    }

    /// Add another CPU's tally into this one.
    pub fn merge(&mut self, o: &Tally) {
        self.attempts += o.attempts;
        self.accepted += o.accepted;
        for i in 0..Fallback::N {
            self.fallbacks[i] += o.fallbacks[i];
        }
        for i in 0..Violation::N {
            self.violations[i] += o.violations[i];
        }
        if let Some(f) = o.first {
            if self.first.is_none_or(|s| f.t_ns < s.t_ns) {
                self.first = Some(f);
            }
        }
        self.iters = self.iters.max(o.iters);
        self.window_hits += o.window_hits;
        for i in 0..3 {
            self.mmu[i] += o.mmu[i];
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    fn fv(kind: Violation, t_ns: u64, cpu: usize) -> FirstViolation {
        FirstViolation {
            cpu,
            pfn: 1,
            head: 2,
            iter: 3,
            t_ns,
            kind,
        }
    }

    #[test]
    fn merge_keeps_the_earliest_violation_and_sums_counts() {
        let mut a = Tally {
            attempts: 5,
            ..Tally::default()
        };
        a.fallback(Fallback::PteChanged);
        a.violation(fv(Violation::WrongHead, 50, 0));
        let mut b = Tally {
            attempts: 7,
            ..Tally::default()
        };
        b.violation(fv(Violation::ForeignPage, 20, 1));
        b.violation(fv(Violation::ForeignPage, 10, 1));
        a.merge(&b);
        assert_eq!(a.attempts, 12);
        assert_eq!(a.total_violations(), 3);
        assert_eq!(a.violations[Violation::ForeignPage as usize], 2);
        assert_eq!(a.first.unwrap().t_ns, 10);
        assert_eq!(a.first.unwrap().cpu, 1);
        assert_eq!(a.fallbacks[Fallback::PteChanged as usize], 1);
    }

    #[test]
    fn names_are_unique() {
        for (i, a) in Violation::ALL.iter().enumerate() {
            assert_eq!(*a as usize, i);
            for b in &Violation::ALL[i + 1..] {
                assert_ne!(a.name(), b.name());
            }
        }
        for (i, a) in Fallback::ALL.iter().enumerate() {
            assert_eq!(*a as usize, i);
        }
    }
}
