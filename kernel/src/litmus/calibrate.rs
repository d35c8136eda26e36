//! From litmus outcomes to what the platform can show: per reordering observed or not, a
//! measured memory-model class, and fenced violations (platform or emulator bugs).
//!
//! "Not observed in N instances" is not proof that a reordering cannot happen; it is what
//! this platform showed in this run. The class is the strongest one consistent with the
//! observations: `weak` if any store→store, load→load or load→store evidence (MP, its
//! half-fenced forms, LB, 2+2W) showed, `tso` if only store buffering (SB) did, `sc` if none.

use super::engine::Tally;
use super::tests::{LitmusTest, Reordering};
use alloc::vec::Vec;

/// A memory-model class measured by litmus tests.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MeasuredModel {
    /// Some reordering beyond store buffering was observed.
    Weak,
    /// Only store→load reordering was observed.
    Tso,
    /// No reordering observed.
    Sc,
    /// Nothing was measured (fewer than 2 CPUs).
    Unmeasured,
}

impl MeasuredModel {
    /// Record spelling (`weak`, `tso`, `sc`, `unmeasured`); the first two match `memmodel=`.
    pub fn name(self) -> &'static str {
        match self {
            MeasuredModel::Weak => "weak",
            MeasuredModel::Tso => "tso",
            MeasuredModel::Sc => "sc",
            MeasuredModel::Unmeasured => "unmeasured",
        }
    }
}

/// One test's result.
#[derive(Clone, Debug)]
pub struct TestResult {
    /// The test.
    pub test: &'static LitmusTest,
    /// Outcome counts over all pairs.
    pub tally: Tally,
    /// Pairs of CPUs that ran it.
    pub pairs: u64,
    /// Wall time of the test on pair 0, in microseconds.
    pub elapsed_us: u64,
}

impl TestResult {
    /// Instances run.
    pub fn instances(&self) -> u64 {
        self.tally.instances()
    }
    /// Instances with the weak outcome.
    pub fn weak(&self) -> u64 {
        self.tally.weak(self.test)
    }
    /// Weak outcomes per million instances.
    pub fn weak_ppm(&self) -> u64 {
        (self.weak() as u128 * 1_000_000 / self.instances().max(1) as u128) as u64
    }
    /// Instances per second (all pairs together).
    pub fn instances_per_s(&self) -> u64 {
        (self.instances() as u128 * 1_000_000 / self.elapsed_us.max(1) as u128) as u64
    }
    /// A weak outcome of a test the Arm model forbids.
    pub fn fenced_violation(&self) -> bool {
        !self.test.allowed_by_arm && self.weak() > 0
    }
    /// A weak outcome of a test the Linux kernel memory model forbids (an ordering Linux code
    /// relies on).
    pub fn lkmm_violation(&self) -> bool {
        self.test.forbidden_by_lkmm && self.weak() > 0
    }
}

/// Evidence about one reordering: from the Arm-allowed tests whose weak outcome proves exactly
/// this reordering.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Evidence {
    /// Weak outcomes seen.
    pub weak: u64,
    /// Instances run.
    pub instances: u64,
}

impl Evidence {
    /// Whether the reordering was observed.
    pub fn observed(&self) -> bool {
        self.weak > 0
    }
    /// `observed` / `not observed`.
    pub fn verdict(&self) -> &'static str {
        if self.observed() {
            "observed"
        } else {
            "not observed"
        }
    }
}

/// What the platform showed.
#[derive(Clone, Debug)]
pub struct Calibration {
    /// Every test run, in table order.
    pub tests: Vec<TestResult>,
    /// The measured class.
    pub model: MeasuredModel,
    /// Whether any fenced/ordered test showed its weak outcome (the Arm model forbids it).
    pub fenced_violation: bool,
    /// Whether one of those also breaks an ordering LKMM guarantees (what Linux code, and the
    /// GUP protocol, rely on). `fenced_violation && !lkmm_violation`: only an Arm-specific
    /// extra ordering (e.g. `stlr` then `ldar`) was lost.
    pub lkmm_violation: bool,
}

impl Calibration {
    /// Judge a set of results.
    pub fn from_results(tests: Vec<TestResult>) -> Self {
        let fenced_violation = tests.iter().any(TestResult::fenced_violation);
        let lkmm_violation = tests.iter().any(TestResult::lkmm_violation);
        let allowed = || tests.iter().filter(|r| r.test.allowed_by_arm);
        let beyond_tso = allowed()
            .any(|r| r.weak() > 0 && r.test.evidence.iter().any(|&e| e != Reordering::StoreLoad));
        let store_load = allowed().any(|r| r.weak() > 0);
        let model = if tests.is_empty() {
            MeasuredModel::Unmeasured
        } else if beyond_tso {
            MeasuredModel::Weak
        } else if store_load {
            MeasuredModel::Tso
        } else {
            MeasuredModel::Sc
        };
        Self {
            tests,
            model,
            fenced_violation,
            lkmm_violation,
        }
    }

    /// Nothing measured (fewer than 2 CPUs).
    pub fn unmeasured() -> Self {
        Self::from_results(Vec::new())
    }

    /// Evidence about reordering `r`.
    pub fn evidence(&self, r: Reordering) -> Evidence {
        let mut e = Evidence::default();
        for t in &self.tests {
            if t.test.allowed_by_arm && t.test.evidence == [r] {
                e.weak += t.weak();
                e.instances += t.instances();
            }
        }
        e
    }

    /// Whether reordering `r` was observed (by a test attributing it alone).
    pub fn observed(&self, r: Reordering) -> bool {
        self.evidence(r).observed()
    }

    /// Whether any weak outcome beyond store buffering was seen (what a store→store or
    /// load→load race such as spec V3/V4 needs).
    pub fn is_weak(&self) -> bool {
        self.model == MeasuredModel::Weak
    }

    /// The result of the test called `name`.
    pub fn test(&self, name: &str) -> Option<&TestResult> {
        self.tests.iter().find(|t| t.test.name == name)
    }

    /// Instances over all tests.
    pub fn instances(&self) -> u64 {
        self.tests.iter().map(TestResult::instances).sum()
    }
}
