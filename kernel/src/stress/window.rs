//! The experiments' [`Window`]: window widening, the scripted handshake, and the oracle hooks
//! the reader calls from inside its windows (plain per-CPU counting, no barriers).
//!
//! Scripted mode: the first time the reader reaches the experiment's site in an iteration it
//! stores the iteration number to `reader_at` and spins (relaxed loads, no barrier) until the
//! writer stores the same number to `step_done` or the window time runs out. The writer's step
//! then really runs on another CPU while this CPU sits inside its IRQ-off section between two
//! steps of the algorithm — Jann's widened window, made repeatable. Free mode: a seeded random
//! spin before R4 (`widen=`).
//!
//! Widening happens only before R4 (the speculative reference), never between R4 and R7: a
//! spin there lasts far longer than any CPU's reorder window, so it would let every store and
//! load of the race drain and suppress exactly the weak-memory outcomes (V5's load passing the
//! relaxed RMW, V9's pin store passing the recheck load, stale metadata reads after R4). The
//! one exception is `PollTail` (V12), a program-order window that widens before the PTE
//! recheck on purpose.
//!
//! Window hits (what makes a CLEAN verdict mean something, see `stress::verdict`): one per
//! iteration of the scripted reader whose window was hit, plus one per GUP call of a
//! free-running reader (CPUs 2, 4, ...; `Free` below) whose walk the writer's step overlapped:
//! - `Script` / `PollTail`: the reader sat at its site and saw the writer's step complete
//!   (`step_done`), or saw the writer begin its step and wait for readers to leave their
//!   IRQ-off sections (V1i: the step overlapped the window and the shootdown held it off);
//! - `Signal` / `Free`: the writer stamps `aux[STEP_START]` right before its step (after its
//!   seeded delay) and `step_done` right after it; the reader samples `step_done` when its
//!   IRQ-off walk begins and `aux[STEP_START]` when it ends (relaxed loads, outside R0..R7). A
//!   hit is "step not yet done at the start ∧ step started by the end": the step overlapped
//!   the reader's walk in the coherence order of those two words.

use super::oracles::counts::{FirstViolation, Tally, Violation};
use super::prng::Prng;
use super::world::World;
use crate::gup::window::{Fallback, Site, Window};
use crate::mm::pgtable::tlb_free::pgtable_poisoned;
use crate::sync::{read_once, smp_mb, smp_store_release, write_once};

/// How a reader's windows behave.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Wait at `site` for the writer's step of this iteration.
    Script(Site),
    /// Random spins of up to `widen` loops between R3 and R4.
    Free,
    /// At `site`, tell the writer the reader got there and go on without waiting: the writer's
    /// seeded delay then decides where its step lands relative to the rest of the reader.
    /// The second field scales the `widen` spin between R3 and R4 (seeded, like `Free`).
    Signal(Site, u64),
    /// At `site` (after R0), wait for the writer's signal, then poll the `compound_head` word
    /// of the page the PTE names until it is a tail word (the writer's `prep_compound_page`
    /// reached it); then spin up to `widen` loops before the PTE recheck (V12, spec §5e8).
    PollTail(Site),
}

/// One reader's window for one GUP call.
pub struct StressWindow<'w> {
    world: &'w World,
    /// This CPU's tally.
    pub tally: &'w mut Tally,
    cpu: usize,
    iter: u64,
    mode: Mode,
    waited: bool,
    hit: bool,
    step_pending_at_enter: bool,
    publish_section: bool,
    rng: &'w mut Prng,
    /// The last PTE value the walker read (for hooks that poll the page it names).
    pub last_pte: u64,
}

/// A time limit for spin loops that reads the counter only every 256 polls: under QEMU TCG a
/// `CNTVCT_EL0` read is a slow, globally serialised helper call, and a loop that reads it on
/// every turn starves the other vCPUs (measured: the scripted window then missed the
/// writer's step about half of the time).
pub struct Limit {
    start: u64,
    ticks: u64,
    n: u32,
}

impl Limit {
    /// A limit of `ticks` counter ticks from now.
    pub fn new(ticks: u64) -> Self {
        Self {
            start: crate::hal::hal().counter(),
            ticks,
            n: 0,
        }
    }
    /// Whether the time is up (checked every 256 calls).
    #[inline(always)]
    pub fn expired(&mut self) -> bool {
        self.n = self.n.wrapping_add(1);
        self.n.is_multiple_of(256)
            && crate::hal::hal().counter().wrapping_sub(self.start) > self.ticks
    }
}

/// A poll of the kernel deadline for spin loops, at most every 256 turns (see [`Limit`] for
/// why a counter read per turn is too expensive under TCG).
#[derive(Default)]
pub struct DeadlinePoll(u32);

impl DeadlinePoll {
    /// Call once per turn of a spin loop.
    #[inline(always)]
    pub fn poll(&mut self) {
        self.0 = self.0.wrapping_add(1);
        if self.0.is_multiple_of(256) {
            crate::rt::deadline::check();
        }
    }
}

/// Spin `n` times without touching memory.
#[inline(always)]
pub fn spin_loops(n: u64) {
    for _ in 0..n {
        core::hint::spin_loop();
    }
}

impl Mode {
    /// Name for the `window` key of the result record.
    pub fn name(self) -> &'static str {
        match self {
            Self::Script(_) => "handshake",
            Self::Free => "free",
            Self::Signal(..) => "signal",
            Self::PollTail(_) => "poll-tail",
        }
    }
}

/// `World::aux` slot where the writer stamps `iter + 1` right before its step (see the module
/// documentation on window hits).
pub const STEP_START: usize = 2;

impl<'w> StressWindow<'w> {
    /// A window for CPU `cpu`, iteration `iter`.
    pub fn new(
        world: &'w World,
        tally: &'w mut Tally,
        rng: &'w mut Prng,
        cpu: usize,
        iter: u64,
        mode: Mode,
    ) -> Self {
        let publish_section = world.writer.shootdown == super::knobs::Shootdown::WaitReaders;
        Self {
            world,
            tally,
            cpu,
            iter,
            mode,
            waited: false,
            hit: false,
            step_pending_at_enter: false,
            publish_section,
            rng,
            last_pte: 0,
        }
    }

    /// Whether the writer's step of this iteration hit this call's window (see the module
    /// documentation for the definition per mode).
    pub fn window_hit(&self) -> bool {
        self.hit
    }

    /// Count a violation with details.
    pub fn violation(&mut self, kind: Violation, pfn: u64, head: u64) {
        let t_ns = self.world.now_ns();
        self.tally.violation(FirstViolation {
            cpu: self.cpu,
            pfn,
            head,
            iter: self.iter,
            t_ns,
            kind,
        });
    }

    fn script_wait(&mut self) {
        let w = self.world;
        let waits = read_once(&*w.writer_waits);
        write_once(&*w.reader_at, self.iter + 1);
        let mut limit = Limit::new(w.params.window_ticks);
        loop {
            if read_once(&*w.step_done) == self.iter + 1 {
                self.hit = true;
                return;
            }
            if read_once(&*w.writer_waits) != waits {
                // The writer began its step and now waits for this CPU to leave its IRQ-off
                // section (V1i): the step overlapped the window and was held off by it.
                self.hit = true;
                return;
            }
            if limit.expired() {
                return;
            }
            core::hint::spin_loop();
        }
    }
}

impl StressWindow<'_> {
    fn poll_tail(&mut self) {
        let mm = self.world.zone.mem_map();
        let pfn = crate::mm::pgtable::desc::pte_pfn(crate::mm::pgtable::desc::Pte(self.last_pte));
        if !mm.pfn_valid(pfn) {
            return;
        }
        let page = mm.pfn_to_page(pfn);
        let mut limit = Limit::new(self.world.params.window_ticks);
        while read_once(&page.compound_head) & 1 == 0 {
            if limit.expired() {
                return;
            }
            core::hint::spin_loop();
        }
    }
}

impl Window for StressWindow<'_> {
    #[inline(always)]
    fn section_enter(&mut self) {
        if matches!(self.mode, Mode::Free | Mode::Signal(..)) {
            self.step_pending_at_enter = read_once(&*self.world.step_done) != self.iter + 1;
        }
        if self.publish_section {
            let s = &*self.world.sections[self.cpu];
            write_once(s, read_once(s) + 1);
            smp_mb();
        }
    }

    #[inline(always)]
    fn section_exit(&mut self) {
        if self.step_pending_at_enter && read_once(&*self.world.aux[STEP_START]) == self.iter + 1 {
            self.hit = true;
        }
        if self.publish_section {
            let s = &*self.world.sections[self.cpu];
            smp_store_release(s, read_once(s) + 1);
        }
    }

    #[inline(always)]
    fn at(&mut self, site: Site) {
        match self.mode {
            Mode::Script(s) if s == site && !self.waited => {
                self.waited = true;
                self.script_wait();
            }
            Mode::Free if site == Site::BeforeRef && self.world.params.widen > 0 => {
                let n = self.rng.below(self.world.params.widen + 1);
                spin_loops(n);
            }
            Mode::Signal(_, scale) if site == Site::BeforeRef && self.world.params.widen > 0 => {
                let n = self.rng.below(self.world.params.widen * scale + 1);
                spin_loops(n);
            }
            Mode::Signal(s, _) if s == site && !self.waited => {
                self.waited = true;
                write_once(&*self.world.reader_at, self.iter + 1);
            }
            Mode::PollTail(s) if s == site && !self.waited => {
                self.waited = true;
                self.script_wait();
                self.poll_tail();
            }
            Mode::PollTail(_) if site == Site::BeforeRecheck && self.world.params.widen > 0 => {
                let n = self.rng.below(self.world.params.widen + 1);
                spin_loops(n);
            }
            _ => {}
        }
    }

    #[inline(always)]
    fn fallback(&mut self, why: Fallback) {
        self.tally.fallback(why);
    }

    #[inline(always)]
    fn desc(&mut self, level: u8, value: u64) {
        if level == 3 {
            self.last_pte = value;
        }
        if pgtable_poisoned(value) {
            self.violation(Violation::TablePoison, 0, 0);
        }
    }

    #[inline(always)]
    fn ref_from(&mut self, head_pfn: u64, old: i32) {
        if old <= 0 {
            self.violation(Violation::RefOnFreePage, head_pfn, head_pfn);
        }
    }

    fn pin_mismatch(&mut self, head_pfn: u64, _grabbed_large: bool, _large_now: bool) {
        self.violation(Violation::PinMismatch, head_pfn, head_pfn);
    }

    fn negative_pincount(&mut self, head_pfn: u64, _value: i32) {
        self.violation(Violation::NegativePincount, head_pfn, head_pfn);
    }
}
