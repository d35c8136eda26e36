//! Multi-CPU helpers: the rendezvous barrier runs use between phases, CPU limits, per-CPU
//! padding.
//!
//! There is no scheduler: every online CPU runs the same run entry at once and the phases of
//! a run meet at a [`Barrier`].

use crate::sync::{
    atomic_add_return, smp_load_acquire, smp_store_release, write_once, AtomicUsize,
};

/// Most CPUs the image supports (per-CPU stacks are reserved statically in `boot`).
pub const MAX_CPUS: usize = 8;

/// Pads (and aligns) a value to its own cache line so per-CPU slots never share one.
#[derive(Debug, Default)]
#[repr(align(64))]
pub struct CachePadded<T>(pub T);

impl<T> core::ops::Deref for CachePadded<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

/// The calling CPU's index (`0..nr_cpus()`).
#[inline]
pub fn this_cpu() -> usize {
    crate::hal::hal().cpu_id()
}

/// How many CPUs are online.
#[inline]
pub fn nr_cpus() -> usize {
    crate::hal::hal().nr_cpus()
}

/// Sense-reversing spin barrier for `n` participants.
///
/// Each round has a sense (the generation word). A CPU reads the current sense *before* it
/// arrives; the last to arrive resets the arrival count and flips the sense with a release
/// store; the others spin until the sense differs from the one they read. The barrier is
/// reusable round after round, with no per-CPU state, and a CPU racing ahead into the next
/// round cannot release the previous one (the count is reset before the sense flips).
///
/// Ordering: everything a CPU did before [`Barrier::wait`] happens-before everything any CPU
/// does after the same round's `wait` returns (fully ordered arrival RMW + release/acquire on
/// the sense).
#[derive(Debug)]
pub struct Barrier {
    n: AtomicUsize,
    count: AtomicUsize,
    sense: AtomicUsize,
}

impl Barrier {
    /// A barrier for `n` participants (`n >= 1`).
    #[cfg(not(loom))]
    pub const fn new(n: usize) -> Self {
        Self {
            n: AtomicUsize::new(n),
            count: AtomicUsize::new(0),
            sense: AtomicUsize::new(0),
        }
    }

    /// A barrier for `n` participants (`n >= 1`); loom atomics are not `const`.
    #[cfg(loom)]
    pub fn new(n: usize) -> Self {
        Self {
            n: AtomicUsize::new(n),
            count: AtomicUsize::new(0),
            sense: AtomicUsize::new(0),
        }
    }

    /// Change the number of participants. Only while no CPU is waiting on it (e.g. by the boot
    /// CPU before it releases the others).
    pub fn set_participants(&self, n: usize) {
        assert!(n >= 1, "a barrier needs at least one participant");
        write_once(&self.n, n);
    }

    /// Number of participants.
    pub fn participants(&self) -> usize {
        smp_load_acquire(&self.n)
    }

    /// Wait until all participants arrived, polling the kernel deadline while spinning.
    /// Returns true on exactly one participant per round (the last to arrive).
    pub fn wait(&self) -> bool {
        let mut p = crate::rt::deadline::Poller::new();
        self.wait_with(|| {
            p.poll();
        })
    }

    /// [`Barrier::wait`] with a caller-chosen poll function called while spinning (host tests
    /// pass a no-op; the kernel passes its deadline check).
    pub fn wait_with(&self, mut poll: impl FnMut()) -> bool {
        let sense = smp_load_acquire(&self.sense);
        let n = smp_load_acquire(&self.n);
        if atomic_add_return(&self.count, 1) == n {
            write_once(&self.count, 0);
            smp_store_release(&self.sense, sense.wrapping_add(1));
            return true;
        }
        while smp_load_acquire(&self.sense) == sense {
            poll();
            spin_hint();
        }
        false
    }
}

/// Spin-wait hint (`yield` on aarch64; under loom, yields to the model's scheduler).
#[inline(always)]
pub fn spin_hint() {
    #[cfg(loom)]
    loom::thread::yield_now();
    #[cfg(not(loom))]
    core::hint::spin_loop();
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use crate::sync::{fetch_add, read_once, AtomicU64, Strength};
    use std::sync::Arc;

    #[test]
    fn single_participant_never_blocks() {
        let b = Barrier::new(1);
        for _ in 0..3 {
            assert!(b.wait_with(|| {}));
        }
    }

    /// Each round every thread adds to a phase counter, then checks after the barrier that all
    /// threads' additions of that round are visible. A barrier that released early (or a
    /// reset race letting a fast thread through) would make a thread see a short count.
    #[test]
    fn no_thread_leaves_a_round_before_all_arrived() {
        const N: usize = 4;
        const ROUNDS: u64 = 500;
        let b = Arc::new(Barrier::new(N));
        let arrivals = Arc::new(AtomicU64::new(0));
        let leaders = Arc::new(AtomicU64::new(0));
        let threads: Vec<_> = (0..N)
            .map(|_| {
                let (b, arrivals, leaders) = (b.clone(), arrivals.clone(), leaders.clone());
                std::thread::spawn(move || {
                    for round in 0..ROUNDS {
                        fetch_add(&*arrivals, 1, Strength::Relaxed);
                        if b.wait_with(std::thread::yield_now) {
                            fetch_add(&*leaders, 1, Strength::Relaxed);
                        }
                        let seen = read_once(&*arrivals);
                        assert!(seen >= (round + 1) * N as u64, "round {round}: saw {seen}");
                        // Second barrier: nobody starts the next round's increment before all
                        // checked this round.
                        b.wait_with(std::thread::yield_now);
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(read_once(&*arrivals), ROUNDS * N as u64);
        assert_eq!(read_once(&*leaders), ROUNDS, "exactly one leader per round");
    }

    #[test]
    fn participants_can_change_between_uses() {
        let b = Barrier::new(3);
        b.set_participants(1);
        assert_eq!(b.participants(), 1);
        assert!(b.wait_with(|| {}));
    }
}
