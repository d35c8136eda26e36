//! The state one experiment × variant shares between CPUs: the zone, the user address space,
//! the oracle's shadow ownership table, the handshake words of the scripted window and the
//! per-CPU "inside an IRQ-off GUP section" words (V1i's shootdown waits on them).

use super::knobs::{Foll, WriterKnobs};
use super::oracles::counts::Tally;
use super::verdict::MemModel;
use crate::mm::pgtable::mm::MmStruct;
use crate::mm::zone::Zone;
use crate::smp::{spin_hint, Barrier, CachePadded, MAX_CPUS};
use crate::sync::{read_once, smp_mb, AtomicU64};

/// Budgets and knobs of one run (from bootargs, identical on every CPU).
#[derive(Clone, Copy, Debug)]
pub struct Params {
    /// Seed of this experiment × variant (the run seed mixed with the row's names).
    pub seed: u64,
    /// The run's seed (`seed=`): replays this row with the same variant and experiment.
    pub run_seed: u64,
    /// Iteration budget.
    pub iters: u64,
    /// Time budget in counter ticks.
    pub time_ticks: u64,
    /// Extra spin loops at the R3/R4 and R4/R5 windows of free-running readers.
    pub widen: u64,
    /// How long a scripted reader holds its window open waiting for the writer's step (ticks).
    pub window_ticks: u64,
    /// What the platform can show.
    pub memmodel: MemModel,
}

/// Most pages one GUP call of an experiment asks for.
pub const MAX_NR: usize = 16;

/// What every CPU of an experiment gets.
pub struct Env<'w> {
    /// This CPU.
    pub cpu: usize,
    /// CPUs taking part.
    pub ncpus: usize,
    /// Shared state.
    pub world: &'w World,
    /// Rendezvous of all CPUs.
    pub barrier: &'w Barrier,
}

/// Oracle ownership tags (`World::owner`): who a frame belongs to.
pub mod tag {
    /// Nobody recorded (free, or never used by an experiment).
    pub const NONE: u64 = 0;
    /// Allocated to "someone else" (not mapped in the experiment's address space).
    pub const OTHER: u64 = 2;
    /// Mapped at user address `va` (page aligned, so bit 0 is free for the marker).
    pub const fn at(va: u64) -> u64 {
        va | 1
    }
}

/// Shared state of one experiment × variant.
pub struct World {
    /// The zone every page comes from.
    pub zone: &'static Zone,
    /// The user address space the readers walk.
    pub mm: MmStruct<'static>,
    /// The variant's id (progress records).
    pub variant: &'static str,
    /// The variant's writer knobs.
    pub writer: WriterKnobs,
    /// FOLL_GET / FOLL_PIN of the readers' calls.
    pub foll: Foll,
    /// Budgets.
    pub params: Params,
    /// Shadow ownership per frame (index = pfn - start_pfn), relaxed oracle bookkeeping.
    pub owner: &'static [AtomicU64],
    /// Shadow pin count per frame (index = pfn - start_pfn): GUP holders that believe they
    /// hold the frame (relaxed; incremented after the accept, dropped before the release).
    pub pins: &'static [AtomicU64],
    /// Canary per frame (index = pfn - start_pfn): the value the writer stamped into word 0 of
    /// the frame at its latest allocation, i.e. the canary its current owner's mapping carries
    /// (`oracles::canary`; relaxed, written by the writer only).
    pub canary: &'static [AtomicU64],
    /// Canaries handed out so far (the writer's allocation sequence number).
    pub canary_seq: AtomicU64,
    /// Iteration whose window the scripted reader has reached.
    pub reader_at: CachePadded<AtomicU64>,
    /// Iteration whose writer step is complete.
    pub step_done: CachePadded<AtomicU64>,
    /// Iteration whose GUP call the scripted reader has finished.
    pub reader_done: CachePadded<AtomicU64>,
    /// Set by CPU 0 before a rendezvous: leave after it.
    pub stop: AtomicU64,
    /// Per CPU: odd while inside the IRQ-off GUP section (published only when a shootdown
    /// waits for readers, V1i).
    pub sections: [CachePadded<AtomicU64>; MAX_CPUS],
    /// Experiment-specific words (e.g. the V9 checker's decision).
    pub aux: [CachePadded<AtomicU64>; 4],
    /// Counter value at the start.
    pub t0: u64,
    /// Counter frequency.
    pub hz: u64,
    /// The kernel's level-0 table (TTBR0 of CPUs not inside an experiment, ASID 0).
    pub kernel_pgd: u64,
    /// First user address the experiment maps at.
    pub va_base: u64,
    /// Merged tallies of every CPU.
    pub merged: spin::Mutex<Tally>,
    /// Rendezvous of the scripted pair (writer CPU 0, reader CPU 1), once per iteration; the
    /// other CPUs run free so that a descheduled vCPU thread of theirs never holds the pair up.
    pub pair: crate::smp::Barrier,
    /// The iteration the pair is in (for the free-running CPUs' plans).
    pub iter_now: CachePadded<AtomicU64>,
    /// Bumped each time the writer starts waiting for readers to leave their IRQ-off sections
    /// (V1i): a scripted reader waiting in its window for the writer's step leaves the window
    /// then, as a reader whose window merely timed out would.
    pub writer_waits: CachePadded<AtomicU64>,
}

impl World {
    /// Shadow owner word of frame `pfn`.
    #[inline(always)]
    pub fn owner_of(&self, pfn: u64) -> &AtomicU64 {
        &self.owner[(pfn - self.zone.mem_map().start_pfn()) as usize]
    }

    /// Shadow pin count of frame `pfn`.
    #[inline(always)]
    pub fn pins_of(&self, pfn: u64) -> &AtomicU64 {
        &self.pins[(pfn - self.zone.mem_map().start_pfn()) as usize]
    }

    /// Canary word of frame `pfn`.
    #[inline(always)]
    pub fn canary_of(&self, pfn: u64) -> &AtomicU64 {
        &self.canary[(pfn - self.zone.mem_map().start_pfn()) as usize]
    }

    /// Nanoseconds since the start (for first-violation times; never inside a window).
    pub fn now_ns(&self) -> u64 {
        let t = crate::hal::hal().counter().wrapping_sub(self.t0);
        ((t as u128 * 1_000_000_000) / self.hz.max(1) as u128) as u64
    }

    /// Counter ticks since the start.
    pub fn elapsed_ticks(&self) -> u64 {
        crate::hal::hal().counter().wrapping_sub(self.t0)
    }

    /// The IPI-acknowledged shootdown's wait (V1i): after the caller cleared PTEs and flushed,
    /// wait until every other CPU that was inside its IRQ-off GUP section has left it.
    ///
    /// Where the platform delivers SGIs (GICv2 on target) this is the real handshake
    /// ([`crate::ipi::shootdown_sync`]): SGI to every other CPU, wait for each to acknowledge
    /// it from its IRQ handler, which a reader with IRQs masked inside GUP-fast cannot do
    /// before it leaves the walk. Without SGIs (host tests) — or if an acknowledgement timed
    /// out — the flag form gives the same guarantee: reader `W(flag) ; mb ; R(pte)`, unmapper
    /// `W(pte) ; mb ; R(flag)`, one of them sees the other.
    pub fn wait_for_readers(&self, me: usize, ncpus: usize) {
        // A scripted reader holding its window open for this step leaves it now (as a window
        // that timed out would), whichever handshake follows.
        crate::sync::write_once(&*self.writer_waits, read_once(&*self.writer_waits) + 1);
        smp_mb();
        match crate::ipi::shootdown_sync(me, ncpus) {
            crate::ipi::Handshake::Acked => {
                smp_mb();
                return;
            }
            crate::ipi::Handshake::Unavailable | crate::ipi::Handshake::TimedOut => {}
        }
        self.wait_for_section_flags(me, ncpus);
    }

    /// The flag form of [`World::wait_for_readers`]: wait for each CPU whose section word is
    /// odd (inside its IRQ-off section) to move it.
    fn wait_for_section_flags(&self, me: usize, ncpus: usize) {
        for c in 0..ncpus {
            if c == me {
                continue;
            }
            let s = read_once(&*self.sections[c]);
            if s & 1 == 1 {
                let mut p = crate::rt::deadline::Poller::new();
                while read_once(&*self.sections[c]) == s {
                    p.poll();
                    spin_hint();
                }
            }
        }
        smp_mb();
    }
}
