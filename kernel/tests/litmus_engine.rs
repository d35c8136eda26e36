//! The litmus engine with two host threads as the CPU pair: every instance is counted once,
//! outcomes stay within what the test can produce, locations are fresh for every instance, and
//! tests the host's orderings forbid never show their weak outcome. Nothing here asserts that
//! a weak outcome *appears* (that is probabilistic; `run=litmus` measures it).
#![cfg(not(loom))]

use kernel::litmus::engine::{Arena, Loc, Tally, DEFAULT_SKEW};
use kernel::litmus::tests::{find, observe, pack, LitmusTest, Observe, TESTS};
use kernel::sync::{read_once, write_once};
use std::sync::Arc;

/// Not a multiple of the batch: the last batch is partial.
const ITERS: u64 = 20_000;
const BATCH: usize = 256;

/// Run `test` on both threads and return role 0's tally.
fn run_pair(arena: &Arc<Arena>, test: &'static LitmusTest, iters: u64) -> Tally {
    let a = arena.clone();
    let t1 = std::thread::spawn(move || a.run(1, test, iters, std::thread::yield_now));
    let tally = arena.run(0, test, iters, std::thread::yield_now);
    assert!(t1.join().unwrap().is_none(), "role 1 returns no tally");
    tally.expect("role 0 returns the tally")
}

/// Whether the host build's orderings forbid `t`'s weak outcome: the Arm model on an aarch64
/// host (the sync layer emits the Arm instructions there), the C11 model elsewhere.
fn forbidden_here(t: &LitmusTest) -> bool {
    if cfg!(target_arch = "aarch64") {
        !t.allowed_by_arm
    } else {
        t.forbidden_by_c11
    }
}

#[test]
fn every_instance_counted_and_host_forbidden_outcomes_never_seen() {
    let arena = Arc::new(Arena::new(BATCH, DEFAULT_SKEW));
    for t in TESTS {
        let tally = run_pair(&arena, t, ITERS);
        assert_eq!(tally.instances(), ITERS, "{}: {tally:?}", t.name);
        assert_eq!(
            tally.other(),
            0,
            "{}: value out of range: {tally:?}",
            t.name
        );
        match t.observe {
            // Both threads store both locations (values 1 and 2): never 0 at the end.
            Observe::Final => {
                for v in 0..3u8 {
                    assert_eq!(
                        tally.get(0, v) + tally.get(v, 0),
                        0,
                        "{}: {tally:?}",
                        t.name
                    );
                }
            }
            // Loads of locations only ever written with 1.
            Observe::Reader | Observe::OneEach => {
                for v in 0..3u8 {
                    assert_eq!(
                        tally.get(2, v) + tally.get(v, 2),
                        0,
                        "{}: {tally:?}",
                        t.name
                    );
                }
            }
        }
        let sum: u64 = tally.outcomes().iter().map(|(_, n)| n).sum();
        assert_eq!(sum, ITERS, "{}: outcome list covers every instance", t.name);
        if forbidden_here(t) {
            assert_eq!(
                tally.weak(t),
                0,
                "{}: forbidden outcome on the host: {tally:?}",
                t.name
            );
        }
        println!(
            "{:<12} weak {:>6}/{ITERS} {:?}",
            t.name,
            tally.weak(t),
            tally.outcomes()
        );
    }
}

fn idle(_: &Loc) -> u32 {
    0
}
fn read_xy(l: &Loc) -> u32 {
    pack(read_once(l.x()), read_once(l.y()))
}
fn write_own_then_read(l: &Loc) -> u32 {
    write_once(l.x(), 1);
    pack(read_once(l.x()), 0)
}

/// After a test that leaves every location non-zero, a reader of untouched locations must see
/// 0 in every instance: the engine resets locations between batches and tests.
#[test]
fn locations_are_fresh_for_every_instance() {
    let arena = Arc::new(Arena::new(BATCH, DEFAULT_SKEW));
    static READ_ONLY: LitmusTest = LitmusTest {
        name: "read-only",
        body: [idle, read_xy],
        observe: Observe::Reader,
        observe_help: "a = x, b = y, nobody writes",
        weak: (1, 1),
        allowed_by_arm: false,
        forbidden_by_c11: true,
        forbidden_by_lkmm: true,
        evidence: &[],
    };
    static OWN: LitmusTest = LitmusTest {
        name: "own-store",
        body: [write_own_then_read, idle],
        observe: Observe::OneEach,
        observe_help: "a = thread 0's load of its own store",
        weak: (0, 0),
        allowed_by_arm: false,
        forbidden_by_c11: true,
        forbidden_by_lkmm: true,
        evidence: &[],
    };
    for _ in 0..2 {
        let t = run_pair(&arena, find("2+2W").unwrap(), ITERS);
        assert_eq!(t.instances(), ITERS);
        let t = run_pair(&arena, &READ_ONLY, ITERS);
        assert_eq!(t.get(0, 0), ITERS, "stale locations: {t:?}");
        // A thread always sees its own store (coherence), whatever the other thread does.
        let t = run_pair(&arena, &OWN, ITERS);
        assert_eq!(t.get(1, 0), ITERS, "{t:?}");
    }
}

#[test]
fn outcomes_are_classified_per_test() {
    // MP: a and b are the reader's (thread 1's) loads of y then x.
    let mp = find("MP").unwrap();
    assert_eq!(observe(mp.observe, [0, pack(1, 0)], (1, 1)), (1, 0));
    let mut t = Tally::default();
    let (a, b) = observe(mp.observe, [0, pack(1, 0)], (1, 1));
    t.add(a, b);
    t.add(1, 1);
    assert_eq!(t.weak(mp), 1);
    // SB: one load per thread; the weak outcome is both 0.
    let sb = find("SB").unwrap();
    assert_eq!(
        observe(sb.observe, [pack(0, 0), pack(1, 0)], (1, 1)),
        (0, 1)
    );
    let mut t = Tally::default();
    t.add(0, 0);
    t.add(0, 1);
    t.add(1, 0);
    assert_eq!((t.weak(sb), t.instances()), (1, 3));
    // 2+2W: final memory, thread returns ignored.
    let w = find("2+2W").unwrap();
    assert_eq!(observe(w.observe, [7, 7], (1, 1)), (1, 1));
    // Out-of-range values land in "other" and are still counted.
    let mut t = Tally::default();
    t.add(9, 0);
    assert_eq!((t.other(), t.instances()), (1, 1));
    assert_eq!(t.outcomes(), vec![("a=other,b=0".to_string(), 1)]);
    let mut m = Tally::default();
    m.add(0, 1);
    m.merge(&t);
    assert_eq!(m.instances(), 2);
}

#[test]
fn table_is_consistent() {
    for t in TESTS {
        assert!(
            find(t.name).is_some_and(|f| std::ptr::eq(f, t)),
            "{}: unique name",
            t.name
        );
        // What LKMM or C11 forbid, Arm forbids too (Arm is stronger than both here).
        if t.forbidden_by_lkmm || t.forbidden_by_c11 {
            assert!(!t.allowed_by_arm, "{}", t.name);
        }
        if t.allowed_by_arm {
            assert!(
                !t.evidence.is_empty(),
                "{}: an allowed test proves something",
                t.name
            );
        }
    }
    for name in ["MP", "SB", "LB", "2+2W"] {
        assert!(find(name).unwrap().allowed_by_arm, "{name}");
    }
    for name in ["MP+wmb+addr", "MP+rel+acq", "SB+mb", "LB+ctrl", "LB+mb"] {
        let t = find(name).unwrap();
        assert!(!t.allowed_by_arm && t.forbidden_by_lkmm, "{name}");
    }
}
