//! Human lines and machine records of a calibration: one `litmus` record per test, one
//! `calibration` record.
//!
//! `litmus`: `test`, `instances`, `pairs`, `weak`, `weak_ppm`, `weak_outcome` ("a=1,b=0"),
//! `outcomes` {"a=0,b=0": n, ...}, `observe` (what a and b are), `allowed_by_arm`,
//! `forbidden_by_lkmm`, `fenced_violation`, `evidence` ("store_store|load_load"), `elapsed_us`, `instances_per_s`.
//! `calibration`: per reordering `<r>` ("observed"|"not observed"), `<r>_weak`,
//! `<r>_instances`; `memmodel_measured` ("weak"|"tso"|"sc"|"unmeasured"), `memmodel_claimed`
//! (the `memmodel=` bootarg or "none"), `agrees_with_claim` (bool, null without a claim),
//! `fenced_violation`, `lkmm_violation`, `instances`, `note`.

use super::calibrate::{Calibration, MeasuredModel, TestResult};
use super::tests::Reordering;
use crate::bootargs::MemModelArg;
use crate::record::Record;
use alloc::string::String;

/// What "not observed" means, in every calibration record.
pub const NOTE: &str = "not observed in N instances is not proof that the platform cannot do it";

fn evidence_list(t: &TestResult) -> String {
    let mut s = String::new();
    for (i, r) in t.test.evidence.iter().enumerate() {
        if i > 0 {
            s.push('|');
        }
        s.push_str(r.key());
    }
    s
}

/// The `litmus` record of one test.
pub fn litmus_record(t: &TestResult) -> Record {
    let (wa, wb) = t.test.weak;
    let mut r = Record::new("litmus")
        .str("test", t.test.name)
        .u64("instances", t.instances())
        .u64("pairs", t.pairs)
        .u64("weak", t.weak())
        .u64("weak_ppm", t.weak_ppm())
        .str("weak_outcome", &alloc::format!("a={wa},b={wb}"))
        .obj("outcomes");
    for (k, n) in t.tally.outcomes() {
        r = r.u64(&k, n);
    }
    r.end_obj()
        .str("observe", t.test.observe_help)
        .bool("allowed_by_arm", t.test.allowed_by_arm)
        .bool("forbidden_by_lkmm", t.test.forbidden_by_lkmm)
        .bool("fenced_violation", t.fenced_violation())
        .str("evidence", &evidence_list(t))
        .u64("elapsed_us", t.elapsed_us)
        .u64("instances_per_s", t.instances_per_s())
}

/// One human line for a test.
pub fn litmus_line(t: &TestResult) -> String {
    let mut outs = String::new();
    for (k, n) in t.tally.outcomes() {
        outs.push_str(&alloc::format!(" {k}:{n}"));
    }
    alloc::format!(
        "litmus {:<12} weak {:>8} / {:<9} ({:>6} per million; {}) {} inst/s;{}",
        t.test.name,
        t.weak(),
        t.instances(),
        t.weak_ppm(),
        if t.test.allowed_by_arm {
            "allowed by Arm"
        } else {
            "FORBIDDEN by Arm"
        },
        t.instances_per_s(),
        outs
    )
}

fn claimed_name(claim: Option<MemModelArg>) -> &'static str {
    match claim {
        Some(MemModelArg::Tso) => "tso",
        Some(MemModelArg::Weak) => "weak",
        Some(MemModelArg::Unknown) => "unknown",
        None => "none",
    }
}

/// Whether the measurement agrees with the host's claim (`None`: no claim to check).
pub fn agrees(model: MeasuredModel, claim: Option<MemModelArg>) -> Option<bool> {
    let claimed = match claim {
        Some(MemModelArg::Tso) => MeasuredModel::Tso,
        Some(MemModelArg::Weak) => MeasuredModel::Weak,
        Some(MemModelArg::Unknown) | None => return None,
    };
    (model != MeasuredModel::Unmeasured).then_some(model == claimed)
}

/// The `calibration` record.
pub fn calibration_record(c: &Calibration, claim: Option<MemModelArg>) -> Record {
    let mut r = Record::new("calibration");
    for re in Reordering::ALL {
        let e = c.evidence(re);
        r = r
            .str(re.key(), e.verdict())
            .u64(&alloc::format!("{}_weak", re.key()), e.weak)
            .u64(&alloc::format!("{}_instances", re.key()), e.instances);
    }
    r = r
        .str("memmodel_measured", c.model.name())
        .str("memmodel_claimed", claimed_name(claim));
    r = match agrees(c.model, claim) {
        Some(b) => r.bool("agrees_with_claim", b),
        None => r.null("agrees_with_claim"),
    };
    r.bool("fenced_violation", c.fenced_violation)
        .bool("lkmm_violation", c.lkmm_violation)
        .u64("instances", c.instances())
        .str("note", NOTE)
}

/// Print every test's line and record, then the verdict lines and the `calibration` record.
pub fn emit(c: &Calibration, claim: Option<MemModelArg>) {
    for t in &c.tests {
        crate::kprintln!("{}", litmus_line(t));
        litmus_record(t).emit();
        if t.fenced_violation() {
            let (a, b) = t.test.weak;
            crate::kprintln!(
                "litmus: FENCED VIOLATION: {} showed a={a},b={b} in {} of {} instances; the Arm \
                 model forbids it: platform or emulator bug. {}",
                t.test.name,
                t.weak(),
                t.instances(),
                if t.test.forbidden_by_lkmm {
                    "LKMM forbids it too: orderings Linux (and GUP) rely on are broken here"
                } else {
                    "LKMM allows it: an Arm-only ordering is lost, Linux code must not rely on it"
                }
            );
        }
    }
    for re in Reordering::ALL {
        let e = c.evidence(re);
        crate::kprintln!(
            "litmus: {:<11} {} ({} weak in {} instances)",
            re.key(),
            e.verdict(),
            e.weak,
            e.instances
        );
    }
    crate::kprintln!(
        "litmus: memory model measured: {} (host claims {}); {NOTE}",
        c.model.name(),
        claimed_name(claim)
    );
    if agrees(c.model, claim) == Some(false) {
        crate::kprintln!(
            "litmus: WARNING: measured `{}` disagrees with memmodel={}",
            c.model.name(),
            claimed_name(claim)
        );
    }
    calibration_record(c, claim).emit();
}
