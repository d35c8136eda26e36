//! Calibration verdicts from given outcome counts: which reorderings were observed, the
//! measured class, fenced and LKMM violations, and the records.
#![cfg(not(loom))]

use kernel::bootargs::MemModelArg;
use kernel::litmus::engine::Tally;
use kernel::litmus::report::{agrees, calibration_record, litmus_record};
use kernel::litmus::tests::{find, TESTS};
use kernel::litmus::{Calibration, MeasuredModel, Reordering, TestResult};

const N: u64 = 1000;

/// Every test with `N` instances, all outcomes SC except `weak` instances of the named tests.
fn results(weak: &[(&str, u64)]) -> Calibration {
    let tests = TESTS
        .iter()
        .map(|t| {
            let w = weak.iter().find(|(n, _)| *n == t.name).map_or(0, |p| p.1);
            let mut tally = Tally::default();
            // Some SC outcome that is not the weak one.
            let sc = if t.weak == (1, 1) { (1, 2) } else { (1, 1) };
            let sc = if t.name.starts_with("LB") { (0, 1) } else { sc };
            for i in 0..N {
                if i < w {
                    tally.add(t.weak.0 as u64, t.weak.1 as u64);
                } else {
                    tally.add(sc.0, sc.1);
                }
            }
            TestResult {
                test: t,
                tally,
                pairs: 1,
                elapsed_us: 100,
            }
        })
        .collect();
    Calibration::from_results(tests)
}

#[test]
fn nothing_weak_is_sc() {
    let c = results(&[]);
    assert_eq!(c.model, MeasuredModel::Sc);
    assert!(!c.fenced_violation && !c.lkmm_violation);
    for r in Reordering::ALL {
        assert!(!c.observed(r));
    }
    assert_eq!(c.evidence(Reordering::StoreStore).instances, 2 * N); // MP+po+rmb, 2+2W
    assert_eq!(c.instances(), N * TESTS.len() as u64);
}

#[test]
fn only_store_buffering_is_tso() {
    let c = results(&[("SB", 300)]);
    assert_eq!(c.model, MeasuredModel::Tso);
    assert!(c.observed(Reordering::StoreLoad));
    assert!(!c.observed(Reordering::StoreStore));
    assert_eq!(c.test("SB").unwrap().weak_ppm(), 300_000);
    assert_eq!(agrees(c.model, Some(MemModelArg::Tso)), Some(true));
    assert_eq!(agrees(c.model, Some(MemModelArg::Weak)), Some(false));
    assert_eq!(agrees(c.model, None), None);
}

#[test]
fn store_store_or_load_load_evidence_is_weak_and_attributed() {
    let c = results(&[("SB", 5), ("2+2W", 1)]);
    assert_eq!(c.model, MeasuredModel::Weak);
    assert!(c.observed(Reordering::StoreStore) && !c.observed(Reordering::LoadLoad));
    let c = results(&[("MP+wmb+po", 2)]);
    assert!(c.is_weak() && c.observed(Reordering::LoadLoad));
    // Plain MP cannot tell which side reordered: weak, but neither is attributed.
    let c = results(&[("MP", 2)]);
    assert!(c.is_weak());
    assert!(!c.observed(Reordering::StoreStore) && !c.observed(Reordering::LoadLoad));
    let c = results(&[("LB", 1)]);
    assert!(c.is_weak() && c.observed(Reordering::LoadStore));
}

#[test]
fn fenced_weak_outcomes_are_violations() {
    // An ordering Linux relies on.
    let c = results(&[("MP+rel+acq", 1)]);
    assert!(c.fenced_violation && c.lkmm_violation);
    assert_eq!(
        c.model,
        MeasuredModel::Sc,
        "fenced tests do not change the class"
    );
    // Arm-only (RCsc stlr -> ldar): a fenced violation LKMM allows.
    let c = results(&[("SB", 10), ("SB+rel+acq", 10)]);
    assert!(c.fenced_violation && !c.lkmm_violation);
    assert_eq!(c.model, MeasuredModel::Tso);
}

#[test]
fn unmeasured_without_tests() {
    let c = Calibration::unmeasured();
    assert_eq!(c.model, MeasuredModel::Unmeasured);
    assert_eq!(agrees(c.model, Some(MemModelArg::Tso)), None);
}

#[test]
fn records_carry_the_verdicts() {
    let c = results(&[("SB", 250), ("SB+rel+acq", 3)]);
    let line = calibration_record(&c, Some(MemModelArg::Tso)).finish();
    for k in [
        "\"rec\":\"calibration\"",
        "\"store_store\":\"not observed\"",
        "\"store_store_instances\":2000",
        "\"store_load\":\"observed\"",
        "\"store_load_weak\":250",
        "\"memmodel_measured\":\"tso\"",
        "\"memmodel_claimed\":\"tso\"",
        "\"agrees_with_claim\":true",
        "\"fenced_violation\":true",
        "\"lkmm_violation\":false",
    ] {
        assert!(line.contains(k), "{k} missing in {line}");
    }
    let sb = c.test("SB+rel+acq").unwrap();
    let line = litmus_record(sb).finish();
    for k in [
        "\"rec\":\"litmus\"",
        "\"test\":\"SB+rel+acq\"",
        "\"instances\":1000",
        "\"weak\":3",
        "\"weak_ppm\":3000",
        "\"outcomes\":{\"a=0,b=0\":3,\"a=1,b=1\":997}",
        "\"allowed_by_arm\":false",
        "\"fenced_violation\":true",
    ] {
        assert!(line.contains(k), "{k} missing in {line}");
    }
    assert!(find("SB").unwrap().allowed_by_arm);
}
