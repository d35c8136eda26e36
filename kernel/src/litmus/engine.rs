//! The litmus engine for one pair of CPUs: many instances per batch, each on its own locations,
//! a two-party rendezvous before every instance so the threads overlap, outcomes counted.
//!
//! Per batch: both roles meet at the pair's [`Barrier`]; for each instance `i` each role bumps
//! its own rendezvous stamp, spins (plain loads, no barriers) until the partner's stamp caught
//! up, waits a small skew that sweeps the two threads' relative start, runs its body on
//! `locs[i]` and stores its loaded values; both meet again; role 0 classifies every instance
//! (final `x`/`y` included) and resets the locations to 0 for the next batch.
//!
//! The rendezvous adds no ordering between a body's own accesses: it is a relaxed store and a
//! relaxed spin, so what the hardware (or emulator) reorders inside a body shows. Correctness
//! of the bookkeeping (fresh zeroed locations, results read after both finished) comes from the
//! batch barriers, which are fully ordered.
//!
//! Host-testable: no `hal()`; the caller passes a poll function (deadline check in the kernel,
//! a yield on the host) that the spins call every [`POLL_EVERY`] turns.

use super::tests::{observe, LitmusTest};
use crate::smp::{spin_hint, Barrier, CachePadded};
use crate::sync::{read_once, write_once, AtomicU32, AtomicU64};
use alloc::vec::Vec;

/// Index of `x` in [`Loc::w`].
pub const X: usize = 0;
/// Index of `y` in [`Loc::w`].
pub const Y: usize = 1;

/// Spins between two calls of the poll function.
pub const POLL_EVERY: u32 = 1024;

/// Default instances per batch (128 bytes of locations each).
pub const DEFAULT_BATCH: usize = 1024;

/// Default skew: the later thread of an instance waits up to this many delay-loop turns.
pub const DEFAULT_SKEW: u32 = 63;

/// One instance's locations: `x` and `y` on different cache lines, both 0 at the start.
#[derive(Debug, Default)]
pub struct Loc {
    /// `w[X]` is `x`, `w[Y]` is `y` (indexable, for address dependencies).
    pub w: [CachePadded<AtomicU64>; 2],
}

impl Loc {
    /// `x`.
    #[inline(always)]
    pub fn x(&self) -> &AtomicU64 {
        &self.w[X]
    }
    /// `y`.
    #[inline(always)]
    pub fn y(&self) -> &AtomicU64 {
        &self.w[Y]
    }
}

/// Outcome counts of one test: `counts[a][b]`, values above 2 in bucket 3 ("other").
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    /// Instances per outcome.
    pub counts: [[u64; 4]; 4],
}

impl Tally {
    /// Count one instance with outcome `(a, b)`.
    pub fn add(&mut self, a: u64, b: u64) {
        self.counts[a.min(3) as usize][b.min(3) as usize] += 1;
    }
    /// Sum another tally into this one.
    pub fn merge(&mut self, o: &Tally) {
        for a in 0..4 {
            for b in 0..4 {
                self.counts[a][b] += o.counts[a][b];
            }
        }
    }
    /// Instances counted.
    pub fn instances(&self) -> u64 {
        self.counts.iter().flatten().sum()
    }
    /// Instances with outcome `(a, b)`.
    pub fn get(&self, a: u8, b: u8) -> u64 {
        self.counts[(a as usize).min(3)][(b as usize).min(3)]
    }
    /// Instances with a value outside 0..=2 (impossible for every test: a bookkeeping bug).
    pub fn other(&self) -> u64 {
        let mut n = 0;
        for a in 0..4 {
            for b in 0..4 {
                if a == 3 || b == 3 {
                    n += self.counts[a][b];
                }
            }
        }
        n
    }
    /// Instances with `test`'s weak outcome.
    pub fn weak(&self, test: &LitmusTest) -> u64 {
        self.get(test.weak.0, test.weak.1)
    }
    /// Non-zero outcomes as `("a=0,b=1", n)`, `a` major.
    pub fn outcomes(&self) -> Vec<(alloc::string::String, u64)> {
        let mut v = Vec::new();
        for a in 0..4 {
            for b in 0..4 {
                let n = self.counts[a][b];
                if n != 0 {
                    v.push((outcome_label(a, b), n));
                }
            }
        }
        v
    }
}

fn outcome_label(a: usize, b: usize) -> alloc::string::String {
    let val = |v: usize| {
        if v == 3 {
            alloc::string::String::from("other")
        } else {
            alloc::format!("{v}")
        }
    };
    alloc::format!("a={},b={}", val(a), val(b))
}

/// Shared state of one pair of CPUs (roles 0 and 1). Reused test after test.
pub struct Arena {
    locs: Vec<Loc>,
    ret: [Vec<AtomicU32>; 2],
    stamp: [CachePadded<AtomicU64>; 2],
    barrier: Barrier,
    skew: u32,
}

impl Arena {
    /// An arena with `batch` instances per batch (at least 1) and a skew of up to `skew` spin
    /// hints (0: none).
    pub fn new(batch: usize, skew: u32) -> Self {
        let batch = batch.max(1);
        let ret = || (0..batch).map(|_| AtomicU32::new(0)).collect::<Vec<_>>();
        Self {
            locs: (0..batch).map(|_| Loc::default()).collect(),
            ret: [ret(), ret()],
            stamp: Default::default(),
            barrier: Barrier::new(2),
            skew,
        }
    }

    /// Instances per batch.
    pub fn batch(&self) -> usize {
        self.locs.len()
    }

    /// Run `instances` instances of `test` as `role` (0 or 1); both roles must call this with
    /// the same test and count. Returns the outcome counts on role 0, `None` on role 1.
    pub fn run(
        &self,
        role: usize,
        test: &LitmusTest,
        instances: u64,
        mut poll: impl FnMut(),
    ) -> Option<Tally> {
        assert!(role < 2, "a litmus pair has roles 0 and 1");
        let body = test.body[role];
        let mut tally = Tally::default();
        let mut left = instances;
        while left > 0 {
            let n = (left as usize).min(self.batch());
            left -= n as u64;
            self.meet(&mut poll);
            let mut stamp = read_once(&*self.stamp[role]);
            for i in 0..n {
                stamp += 1;
                self.rendezvous(role, stamp, &mut poll);
                self.skew_delay(role, stamp);
                let r = body(&self.locs[i]);
                write_once(&self.ret[role][i], r);
            }
            self.meet(&mut poll);
            if role == 0 {
                self.collect(test, n, &mut tally);
            }
        }
        (role == 0).then_some(tally)
    }

    /// Both roles at the pair barrier, polling every [`POLL_EVERY`] spins.
    fn meet(&self, poll: &mut impl FnMut()) {
        let mut k = 0u32;
        self.barrier.wait_with(|| {
            k = k.wrapping_add(1);
            if k.is_multiple_of(POLL_EVERY) {
                poll();
            }
        });
    }

    /// Announce instance `stamp` and spin until the partner announced it too.
    #[inline(always)]
    fn rendezvous(&self, role: usize, stamp: u64, poll: &mut impl FnMut()) {
        write_once(&*self.stamp[role], stamp);
        let other = &*self.stamp[role ^ 1];
        let mut k = 0u32;
        while read_once(other) < stamp {
            spin_hint();
            k = k.wrapping_add(1);
            if k.is_multiple_of(POLL_EVERY) {
                poll();
            }
        }
    }

    /// Delay one role by 0..=skew loop turns, alternating which role waits every `skew + 1`
    /// instances, so the relative start of the two bodies sweeps both ways. A pure ALU loop:
    /// no memory access and no `yield` (which some emulators treat as a scheduling point).
    #[inline(always)]
    fn skew_delay(&self, role: usize, stamp: u64) {
        if self.skew == 0 {
            return;
        }
        let period = self.skew as u64 + 1;
        let late = ((stamp / period) & 1) as usize;
        if role == late {
            super::deps::delay(stamp % period);
        }
    }

    /// Role 0 after a batch: classify every instance and zero its locations.
    fn collect(&self, test: &LitmusTest, n: usize, tally: &mut Tally) {
        for i in 0..n {
            let l = &self.locs[i];
            let ret = [read_once(&self.ret[0][i]), read_once(&self.ret[1][i])];
            let (a, b) = observe(test.observe, ret, (read_once(l.x()), read_once(l.y())));
            tally.add(a, b);
            write_once(l.x(), 0);
            write_once(l.y(), 0);
            write_once(&self.ret[0][i], 0);
            write_once(&self.ret[1][i], 0);
        }
    }
}
