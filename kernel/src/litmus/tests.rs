//! The litmus tests as data: two thread bodies, what is observed, which outcome is the weak
//! (forbidden-under-SC) one, and what the Arm model and the host's C11 mapping say about it.
//!
//! Every access goes through [`crate::sync`], so on the aarch64 target a body is exactly the
//! instructions the name says (`str`/`ldr`, `stlr`/`ldar`, `dmb ishst`/`ishld`/`ish`). Each
//! body is its own small function: nothing else runs between its accesses. Locations `x` and
//! `y` are on different cache lines of one instance ([`Loc`]); both start at 0.
//!
//! Naming follows herd: `MP+wmb+addr` is message passing with `smp_wmb()` on the writer and an
//! address dependency on the reader; `po` is plain program order (no ordering).

use super::deps::{ctrl_dep, zero_dep};
use super::engine::{Loc, X};
use crate::sync::{
    read_once, read_once_dep, smp_load_acquire, smp_mb, smp_rmb, smp_store_release, smp_wmb,
    write_once,
};

/// A reordering of two accesses in program order (to different locations) on one CPU.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reordering {
    /// A later store becomes visible before an earlier store (needed by spec V3, V4).
    StoreStore,
    /// A later load is satisfied before an earlier load.
    LoadLoad,
    /// A later load is satisfied before an earlier store is visible (store buffering; TSO has
    /// it).
    StoreLoad,
    /// A later store becomes visible before an earlier load is satisfied (load buffering).
    LoadStore,
}

impl Reordering {
    /// All four, in record order.
    pub const ALL: [Reordering; 4] = [
        Reordering::StoreStore,
        Reordering::LoadLoad,
        Reordering::StoreLoad,
        Reordering::LoadStore,
    ];
    /// Record key (`store_store`, ...).
    pub fn key(self) -> &'static str {
        match self {
            Reordering::StoreStore => "store_store",
            Reordering::LoadLoad => "load_load",
            Reordering::StoreLoad => "store_load",
            Reordering::LoadStore => "load_store",
        }
    }
}

/// What the outcome `(a, b)` of one instance is made of.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Observe {
    /// `a` and `b` are thread 1's first and second loaded values (MP's reader).
    Reader,
    /// `a` is thread 0's loaded value, `b` thread 1's (SB, LB).
    OneEach,
    /// `a` and `b` are the final values of `x` and `y` (2+2W: coherence order).
    Final,
}

/// One thread's code: runs once per instance on that instance's locations and returns its
/// loaded values packed by [`pack`] (0 when it loads nothing).
pub type Body = fn(&Loc) -> u32;

/// One litmus test.
#[derive(Clone, Copy, Debug)]
pub struct LitmusTest {
    /// herd-style name.
    pub name: &'static str,
    /// Thread 0's and thread 1's code.
    pub body: [Body; 2],
    /// What `a` and `b` are.
    pub observe: Observe,
    /// Human description of `a` and `b`.
    pub observe_help: &'static str,
    /// The outcome forbidden under sequential consistency.
    pub weak: (u8, u8),
    /// Whether the Arm (AArch64) model allows the weak outcome. False means the test is fenced
    /// or ordered: seeing its weak outcome is a platform or emulator bug.
    pub allowed_by_arm: bool,
    /// Whether the weak outcome is forbidden for the host backend of `kernel::sync` (C11
    /// orderings). Host tests assert these never show it on a non-aarch64 host.
    pub forbidden_by_c11: bool,
    /// Whether the Linux kernel memory model (tools/memory-model) forbids the weak outcome:
    /// an ordering Linux code may rely on. Arm forbids more (e.g. `stlr` then `ldar` is
    /// ordered on Arm, not in LKMM).
    pub forbidden_by_lkmm: bool,
    /// A weak outcome proves at least one of these reorderings; one entry: it proves exactly
    /// that one.
    pub evidence: &'static [Reordering],
}

/// Pack up to two loaded values (each < 256) into a body's return value.
#[inline(always)]
pub fn pack(first: u64, second: u64) -> u32 {
    (first.min(255) as u32) | ((second.min(255) as u32) << 8)
}

/// The `(a, b)` outcome of one instance from both threads' returns and the final memory.
pub fn observe(how: Observe, ret: [u32; 2], fin: (u64, u64)) -> (u64, u64) {
    match how {
        Observe::Reader => ((ret[1] & 0xff) as u64, ((ret[1] >> 8) & 0xff) as u64),
        Observe::OneEach => ((ret[0] & 0xff) as u64, (ret[1] & 0xff) as u64),
        Observe::Final => fin,
    }
}

// ---- MP: thread 0 writes x then y, thread 1 reads y then x. Weak: a = y = 1, b = x = 0.

fn mp_w_po(l: &Loc) -> u32 {
    write_once(l.x(), 1);
    write_once(l.y(), 1);
    0
}
fn mp_w_wmb(l: &Loc) -> u32 {
    write_once(l.x(), 1);
    smp_wmb();
    write_once(l.y(), 1);
    0
}
fn mp_w_rel(l: &Loc) -> u32 {
    write_once(l.x(), 1);
    smp_store_release(l.y(), 1);
    0
}
fn mp_r_po(l: &Loc) -> u32 {
    let a = read_once(l.y());
    let b = read_once(l.x());
    pack(a, b)
}
fn mp_r_rmb(l: &Loc) -> u32 {
    let a = read_once(l.y());
    smp_rmb();
    let b = read_once(l.x());
    pack(a, b)
}
fn mp_r_addr(l: &Loc) -> u32 {
    let a = read_once_dep(l.y());
    let b = read_once(&l.w[X + zero_dep(a)].0);
    pack(a, b)
}
fn mp_r_acq(l: &Loc) -> u32 {
    let a = smp_load_acquire(l.y());
    let b = read_once(l.x());
    pack(a, b)
}

// ---- SB: each thread writes its location, then reads the other's. Weak: a = b = 0.

fn sb0_po(l: &Loc) -> u32 {
    write_once(l.x(), 1);
    pack(read_once(l.y()), 0)
}
fn sb1_po(l: &Loc) -> u32 {
    write_once(l.y(), 1);
    pack(read_once(l.x()), 0)
}
fn sb0_mb(l: &Loc) -> u32 {
    write_once(l.x(), 1);
    smp_mb();
    pack(read_once(l.y()), 0)
}
fn sb1_mb(l: &Loc) -> u32 {
    write_once(l.y(), 1);
    smp_mb();
    pack(read_once(l.x()), 0)
}
fn sb0_relacq(l: &Loc) -> u32 {
    smp_store_release(l.x(), 1);
    pack(smp_load_acquire(l.y()), 0)
}
fn sb1_relacq(l: &Loc) -> u32 {
    smp_store_release(l.y(), 1);
    pack(smp_load_acquire(l.x()), 0)
}

// ---- LB: each thread reads one location, then writes the other. Weak: a = b = 1.

fn lb0_po(l: &Loc) -> u32 {
    let a = read_once(l.x());
    write_once(l.y(), 1);
    pack(a, 0)
}
fn lb1_po(l: &Loc) -> u32 {
    let b = read_once(l.y());
    write_once(l.x(), 1);
    pack(b, 0)
}
fn lb0_ctrl(l: &Loc) -> u32 {
    let a = read_once(l.x());
    ctrl_dep(a);
    write_once(l.y(), 1);
    pack(a, 0)
}
fn lb1_ctrl(l: &Loc) -> u32 {
    let b = read_once(l.y());
    ctrl_dep(b);
    write_once(l.x(), 1);
    pack(b, 0)
}
fn lb0_mb(l: &Loc) -> u32 {
    let a = read_once(l.x());
    smp_mb();
    write_once(l.y(), 1);
    pack(a, 0)
}
fn lb1_mb(l: &Loc) -> u32 {
    let b = read_once(l.y());
    smp_mb();
    write_once(l.x(), 1);
    pack(b, 0)
}

// ---- 2+2W: thread 0 writes x=1, y=2; thread 1 writes y=1, x=2. Weak: final x = y = 1.

fn w22_0_po(l: &Loc) -> u32 {
    write_once(l.x(), 1);
    write_once(l.y(), 2);
    0
}
fn w22_1_po(l: &Loc) -> u32 {
    write_once(l.y(), 1);
    write_once(l.x(), 2);
    0
}
fn w22_0_wmb(l: &Loc) -> u32 {
    write_once(l.x(), 1);
    smp_wmb();
    write_once(l.y(), 2);
    0
}
fn w22_1_wmb(l: &Loc) -> u32 {
    write_once(l.y(), 1);
    smp_wmb();
    write_once(l.x(), 2);
    0
}

const MP_HELP: &str = "a = thread 1's load of y, b = its later load of x";
const SB_HELP: &str = "a = thread 0's load of y, b = thread 1's load of x";
const LB_HELP: &str = "a = thread 0's load of x, b = thread 1's load of y";
const W22_HELP: &str = "a = final x, b = final y";

use Reordering::{LoadLoad, LoadStore, StoreLoad, StoreStore};

const fn mp(name: &'static str, w: Body, r: Body, arm: bool, c11_forbids: bool) -> LitmusTest {
    LitmusTest {
        name,
        body: [w, r],
        observe: Observe::Reader,
        observe_help: MP_HELP,
        weak: (1, 0),
        allowed_by_arm: arm,
        forbidden_by_c11: c11_forbids,
        forbidden_by_lkmm: !arm,
        evidence: &[StoreStore, LoadLoad],
    }
}

/// Every test, in run order: the unfenced ones first (they decide the calibration), then the
/// fenced/ordered ones (sanity checks of the platform).
pub static TESTS: &[LitmusTest] = &[
    mp("MP", mp_w_po, mp_r_po, true, false),
    LitmusTest {
        evidence: &[StoreStore],
        ..mp("MP+po+rmb", mp_w_po, mp_r_rmb, true, false)
    },
    LitmusTest {
        evidence: &[LoadLoad],
        ..mp("MP+wmb+po", mp_w_wmb, mp_r_po, true, false)
    },
    SB_BASE,
    LB_BASE,
    W22_BASE,
    mp("MP+wmb+addr", mp_w_wmb, mp_r_addr, false, true),
    mp("MP+wmb+rmb", mp_w_wmb, mp_r_rmb, false, true),
    mp("MP+rel+acq", mp_w_rel, mp_r_acq, false, true),
    LitmusTest {
        name: "SB+mb",
        body: [sb0_mb, sb1_mb],
        allowed_by_arm: false,
        forbidden_by_c11: true,
        forbidden_by_lkmm: true,
        ..SB_BASE
    },
    // Arm orders an `stlr` before a later `ldar` (RCsc); C11 and LKMM release/acquire do not,
    // and an x86 host compiles both to plain `mov`s. The spec cites an unverified report that
    // MTTCG on x86 hosts loses this ordering: this test checks it.
    LitmusTest {
        name: "SB+rel+acq",
        body: [sb0_relacq, sb1_relacq],
        allowed_by_arm: false,
        forbidden_by_c11: false,
        forbidden_by_lkmm: false,
        ..SB_BASE
    },
    // C11 formally allows LB with only control dependencies; Arm and every real CPU forbid it.
    LitmusTest {
        name: "LB+ctrl",
        body: [lb0_ctrl, lb1_ctrl],
        allowed_by_arm: false,
        forbidden_by_c11: false,
        forbidden_by_lkmm: true,
        ..LB_BASE
    },
    LitmusTest {
        name: "LB+mb",
        body: [lb0_mb, lb1_mb],
        allowed_by_arm: false,
        forbidden_by_c11: true,
        forbidden_by_lkmm: true,
        ..LB_BASE
    },
    // Release fences alone do not order coherence in C11: allowed there, forbidden on Arm.
    LitmusTest {
        name: "2+2W+wmb",
        body: [w22_0_wmb, w22_1_wmb],
        allowed_by_arm: false,
        forbidden_by_c11: false,
        forbidden_by_lkmm: true,
        ..W22_BASE
    },
];

const SB_BASE: LitmusTest = LitmusTest {
    name: "SB",
    body: [sb0_po, sb1_po],
    observe: Observe::OneEach,
    observe_help: SB_HELP,
    weak: (0, 0),
    allowed_by_arm: true,
    forbidden_by_c11: false,
    forbidden_by_lkmm: false,
    evidence: &[StoreLoad],
};

const LB_BASE: LitmusTest = LitmusTest {
    name: "LB",
    body: [lb0_po, lb1_po],
    observe: Observe::OneEach,
    observe_help: LB_HELP,
    weak: (1, 1),
    allowed_by_arm: true,
    forbidden_by_c11: false,
    forbidden_by_lkmm: false,
    evidence: &[LoadStore],
};

const W22_BASE: LitmusTest = LitmusTest {
    name: "2+2W",
    body: [w22_0_po, w22_1_po],
    observe: Observe::Final,
    observe_help: W22_HELP,
    weak: (1, 1),
    allowed_by_arm: true,
    forbidden_by_c11: false,
    forbidden_by_lkmm: false,
    evidence: &[StoreStore],
};

/// The test called `name`.
pub fn find(name: &str) -> Option<&'static LitmusTest> {
    TESTS.iter().find(|t| t.name == name)
}
