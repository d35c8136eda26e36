//! From counted violations to a verdict, honest about what the platform can show.
//!
//! REPRODUCED if any oracle fired. Otherwise the absence of a violation only means something if
//! the race window was really hit: with fewer than [`MIN_WINDOW_HITS`] window hits, or hits in
//! fewer than 1 % of the iterations ([`enough_window_hits`]), the verdict is INCONCLUSIVE (the
//! writer's step never, or too rarely, overlapped the reader's window). With enough hits, CLEAN
//! only if the race needs nothing the platform cannot do; a race that needs a reordering the
//! platform's memory model forbids (or that we cannot vouch for, `memmodel=unknown`) gives "NOT
//! REACHABLE HERE": absence of a store→store outcome on a TSO host proves nothing about the
//! protocol.
//!
//! What counts as a window hit is defined per experiment (see `stress::window`): for a
//! stop-and-wait script, the writer's step completed while the reader sat at the scripted site
//! (or, for an IPI-style shootdown, the step began and had to wait for the reader); for a free
//! race, the writer's step began before the reader's IRQ-off walk ended and had not completed
//! when that walk began.

/// Fewest window hits for a CLEAN or NOT REACHABLE HERE verdict.
pub const MIN_WINDOW_HITS: u64 = 100;

/// Whether `hits` window hits in `iters` iterations are enough to vouch for an absence of
/// violations: at least [`MIN_WINDOW_HITS`], and at least 1 % of the iterations.
pub fn enough_window_hits(hits: u64, iters: u64) -> bool {
    hits >= MIN_WINDOW_HITS && hits.saturating_mul(100) >= iters
}

/// What the host says the platform can show (bootarg `memmodel=`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MemModel {
    /// Total store order (QEMU TCG on an x86-64 host): only store→load reordering.
    Tso,
    /// A weakly ordered CPU (Cortex-A72 bare metal, KVM/TCG on an arm64 host).
    Weak,
    /// Nobody told us.
    Unknown,
}

impl MemModel {
    /// Parse the bootarg value.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "tso" => Some(Self::Tso),
            "weak" => Some(Self::Weak),
            "unknown" => Some(Self::Unknown),
            _ => None,
        }
    }
    /// Bootarg spelling.
    pub fn name(self) -> &'static str {
        match self {
            Self::Tso => "tso",
            Self::Weak => "weak",
            Self::Unknown => "unknown",
        }
    }
}

/// What a variant's race needs from the hardware to be observable.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RaceClass {
    /// No race expected (fixed protocol); any violation is a testbed or protocol bug.
    None,
    /// A logical interleaving: program order suffices, observable everywhere.
    Logical,
    /// Needs store→store reordering on the writer (V3, V4): weak CPUs only.
    StoreStore,
    /// Needs a later load to pass an RMW that is not an acquire (V5): weak CPUs only (an x86
    /// host's locked RMW is a full fence).
    LoadPassesRmw,
    /// Needs the pin RMW's store to pass the PTE recheck load (V9): weak CPUs only, since the
    /// emulated RMW is a locked host instruction.
    StorePassesLoadAfterRmw,
    /// A window in program order on another CPU (V12): observable everywhere, timing-dependent.
    ProgramOrderWindow,
    /// Liveness / counts only (V11).
    CountsOnly,
}

impl RaceClass {
    /// Can this race show on a platform of memory model `m`?
    pub fn reachable_on(self, m: MemModel) -> bool {
        match self {
            Self::None | Self::Logical | Self::ProgramOrderWindow | Self::CountsOnly => true,
            Self::StoreStore | Self::LoadPassesRmw | Self::StorePassesLoadAfterRmw => {
                m == MemModel::Weak
            }
        }
    }
    /// Short name for records.
    pub fn name(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Logical => "logical",
            Self::StoreStore => "store-store",
            Self::LoadPassesRmw => "load-passes-rmw",
            Self::StorePassesLoadAfterRmw => "store-load-after-rmw",
            Self::ProgramOrderWindow => "program-order-window",
            Self::CountsOnly => "counts-only",
        }
    }
}

/// The verdict of one experiment × variant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// At least one oracle fired.
    Reproduced,
    /// No violation, and the race could have shown here.
    Clean,
    /// No violation, but the race needs a reordering this platform cannot (or may not) show.
    NotReachableHere,
    /// No violation, but the race window was hit too rarely to say anything.
    Inconclusive,
}

impl Verdict {
    /// Record spelling.
    pub fn name(self) -> &'static str {
        match self {
            Self::Reproduced => "REPRODUCED",
            Self::Clean => "CLEAN",
            Self::NotReachableHere => "NOT REACHABLE HERE",
            Self::Inconclusive => "INCONCLUSIVE",
        }
    }
}

/// What the variant table expects.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expected {
    /// Exactly this verdict.
    Is(Verdict),
    /// Any verdict is acceptable ("possible"): the experiment measures, it does not assert.
    Any,
}

impl Expected {
    /// Record spelling (`"ANY"` or a verdict).
    pub fn name(self) -> &'static str {
        match self {
            Self::Is(v) => v.name(),
            Self::Any => "ANY",
        }
    }
    /// Does `v` satisfy this expectation?
    pub fn accepts(self, v: Verdict) -> bool {
        match self {
            Self::Is(e) => e == v,
            Self::Any => true,
        }
    }
}

/// Verdict for `violations` observed on a race of class `c` on memory model `m`, whose window
/// was hit `window_hits` times in `iters` iterations.
pub fn verdict(
    violations: u64,
    window_hits: u64,
    iters: u64,
    c: RaceClass,
    m: MemModel,
) -> Verdict {
    if violations > 0 {
        Verdict::Reproduced
    } else if !enough_window_hits(window_hits, iters) {
        Verdict::Inconclusive
    } else if c.reachable_on(m) {
        Verdict::Clean
    } else {
        Verdict::NotReachableHere
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn any_violation_reproduces() {
        for c in [RaceClass::None, RaceClass::Logical, RaceClass::StoreStore] {
            for m in [MemModel::Tso, MemModel::Weak, MemModel::Unknown] {
                assert_eq!(verdict(1, 0, 1000, c, m), Verdict::Reproduced);
            }
        }
    }

    #[test]
    fn store_store_is_never_clean_off_weak() {
        assert_eq!(
            verdict(0, 500, 1000, RaceClass::StoreStore, MemModel::Tso),
            Verdict::NotReachableHere
        );
        assert_eq!(
            verdict(0, 500, 1000, RaceClass::StoreStore, MemModel::Unknown),
            Verdict::NotReachableHere
        );
        assert_eq!(
            verdict(0, 500, 1000, RaceClass::StoreStore, MemModel::Weak),
            Verdict::Clean
        );
        assert_eq!(
            verdict(0, 500, 1000, RaceClass::Logical, MemModel::Tso),
            Verdict::Clean
        );
    }

    #[test]
    fn too_few_window_hits_are_inconclusive_never_clean() {
        for c in [RaceClass::None, RaceClass::Logical, RaceClass::StoreStore] {
            for m in [MemModel::Tso, MemModel::Weak, MemModel::Unknown] {
                assert_eq!(verdict(0, 0, 190, c, m), Verdict::Inconclusive);
                assert_eq!(verdict(0, 99, 100, c, m), Verdict::Inconclusive);
                // 100 hits but under 1 % of the iterations.
                assert_eq!(verdict(0, 100, 10_001, c, m), Verdict::Inconclusive);
                assert_ne!(verdict(0, 100, 10_000, c, m), Verdict::Inconclusive);
            }
        }
        assert!(!Expected::Is(Verdict::Clean).accepts(Verdict::Inconclusive));
        assert!(!Expected::Is(Verdict::NotReachableHere).accepts(Verdict::Inconclusive));
    }

    #[test]
    fn expected_any_accepts_everything_is_exact() {
        assert!(Expected::Any.accepts(Verdict::Clean));
        assert!(Expected::Is(Verdict::Clean).accepts(Verdict::Clean));
        assert!(!Expected::Is(Verdict::Clean).accepts(Verdict::Reproduced));
        assert_eq!(
            Expected::Is(Verdict::NotReachableHere).name(),
            "NOT REACHABLE HERE"
        );
    }
}
