//! The allocator's own oracles (MM's `check_new_page`, free-path checks, double frees,
//! audit) read before and after a run and turned into violations of that run.

use super::counts::{FirstViolation, Tally, Violation};
use crate::mm::audit::AuditReport;
use crate::mm::debug::BadReason;
use crate::mm::zone::Zone;

/// Allocator counters at one instant.
#[derive(Clone, Copy, Debug, Default)]
pub struct MmSnapshot {
    /// `bad_state` events so far.
    pub bad_state: u64,
    /// Double frees so far.
    pub double_free: u64,
}

impl MmSnapshot {
    /// Read the zone's counters.
    pub fn take(zone: &Zone) -> Self {
        let s = zone.stats();
        Self {
            bad_state: s.bad_state(),
            double_free: s.double_free(),
        }
    }
}

fn kind_of(r: BadReason) -> Violation {
    match r {
        BadReason::NonzeroRefcountAtAlloc => Violation::NonzeroRefcount,
        BadReason::StaleCompoundHead | BadReason::StaleFlagsAtAlloc => Violation::StaleTail,
        BadReason::PutOnZeroRefcount => Violation::RefUnderflow,
        BadReason::PoisonOverwritten => Violation::UseAfterFree,
        BadReason::DoubleFree => Violation::DoubleFree,
        BadReason::BadStateAtFree => Violation::MmBadState,
        BadReason::AuditInconsistent => Violation::AuditDirty,
    }
}

/// Add the allocator events between `before` and `after` to `t`. The zone keeps details of
/// its very first event only: when that event belongs to this run it is counted with its exact
/// kind and details; every other event is counted by the coarse counter it came from
/// (`double_free` or `mm_bad_state`).
pub fn add_mm_events(
    zone: &Zone,
    before: MmSnapshot,
    after: MmSnapshot,
    t: &mut Tally,
    at: FirstViolation,
) {
    let bad = after.bad_state - before.bad_state;
    let dbl = after.double_free - before.double_free;
    let first_here = before.bad_state + before.double_free == 0 && bad + dbl > 0;
    if first_here {
        if let Some(info) = zone.stats().first() {
            let kind = kind_of(info.reason);
            let fv = FirstViolation {
                cpu: info.cpu,
                pfn: info.pfn,
                head: info.pfn,
                kind,
                ..at
            };
            t.violation(fv);
            let rest_bad = if info.reason == BadReason::DoubleFree {
                bad
            } else {
                bad - 1
            };
            let rest_dbl = if info.reason == BadReason::DoubleFree {
                dbl - 1
            } else {
                dbl
            };
            t.violations_from_counter(Violation::MmBadState, rest_bad, at);
            t.violations_from_counter(Violation::DoubleFree, rest_dbl, at);
            return;
        }
    }
    t.violations_from_counter(Violation::MmBadState, bad, at);
    t.violations_from_counter(Violation::DoubleFree, dbl, at);
}

/// Audit the (quiescent) zone and count frames in use beyond `baseline_in_use` as leaks.
pub fn audit_leaks(report: &AuditReport, baseline_in_use: u64, t: &mut Tally, at: FirstViolation) {
    let leaked = report.frames_in_use.saturating_sub(baseline_in_use);
    t.violations_from_counter(
        Violation::LeakedRef,
        leaked,
        FirstViolation {
            kind: Violation::LeakedRef,
            ..at
        },
    );
}
