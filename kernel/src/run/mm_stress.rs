//! `run=mm-stress`: every CPU allocates and frees mixed orders (0..=3 and 9, compound or not)
//! through its per-CPU lists, hands blocks to the next CPU through a locked mailbox (cross-CPU
//! frees land on the receiver's lists), splits THP-order compound pages, and checks a canary
//! in every block it owns. At the end all CPUs meet, CPU 0 drains the per-CPU lists, audits the
//! zone and emits the `audit` record: the free-frame count must be back to its start value,
//! with no double free, no bad page state and no clobbered canary.
//!
//! Bootargs: `iters=` per CPU (default 20 000), `seed=`, `pcp=irqoff|spinlock`,
//! `init_order=linux|w7`.

use crate::mm::huge_memory::{split_huge_page, NoMappings};
use crate::mm::page::{Page, PageHead, PageTail};
use crate::mm::page_ref::page_ref_count;
use crate::mm::types::{__GFP_COMP, HPAGE_PMD_ORDER, NR_CPUS};
use crate::mm::zone::Zone;
use crate::smp::Barrier;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// Default iterations per CPU.
pub const DEFAULT_ITERS: u64 = 20_000;

/// A block in flight between CPUs: (pfn, order, compound).
/// A held block: (first pfn, order, compound, canary written into its first and last frame).
type Msg = (u64, u8, bool, u64);

/// State shared by the CPUs of one stress run.
pub struct StressShared {
    mailbox: [spin::Mutex<Vec<Msg>>; NR_CPUS],
    frames_free_start: AtomicU64,
    allocs: AtomicU64,
    alloc_failures: AtomicU64,
    frees: AtomicU64,
    cross_frees: AtomicU64,
    splits: AtomicU64,
    canary_bad: AtomicU64,
    state_bad: AtomicU64,
}

impl Default for StressShared {
    fn default() -> Self {
        Self::new()
    }
}

/// Totals of one run, with the audit.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StressReport {
    /// Managed frames.
    pub frames_total: u64,
    /// Free frames after the start drain.
    pub frames_free_start: u64,
    /// Free frames after the end drain.
    pub frames_free_end: u64,
    /// `frames_free_start - frames_free_end` (frames that did not come back).
    pub leaked: u64,
    /// Double frees (audit + free path).
    pub double_free: u64,
    /// Bad page states (audit + allocator checks + stress's own page checks).
    pub bad_state: u64,
    /// Canaries found clobbered (a frame owned by two CPUs at once).
    pub canary_bad: u64,
    /// Successful allocations.
    pub allocs: u64,
    /// Failed allocations (out of memory at that order; not an error).
    pub alloc_failures: u64,
    /// Blocks freed.
    pub frees: u64,
    /// Blocks freed by another CPU than the allocating one.
    pub cross_frees: u64,
    /// THP splits.
    pub splits: u64,
    /// Verdict.
    pub passed: bool,
}

impl StressShared {
    /// Fresh shared state.
    pub const fn new() -> Self {
        Self {
            mailbox: [const { spin::Mutex::new(Vec::new()) }; NR_CPUS],
            frames_free_start: AtomicU64::new(0),
            allocs: AtomicU64::new(0),
            alloc_failures: AtomicU64::new(0),
            frees: AtomicU64::new(0),
            cross_frees: AtomicU64::new(0),
            splits: AtomicU64::new(0),
            canary_bad: AtomicU64::new(0),
            state_bad: AtomicU64::new(0),
        }
    }
}

struct Rng(u64);
impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// A canary unique to one ownership of one block: the owning CPU and its allocation sequence
/// number, so a frame handed to two owners at once (or clobbered by a later owner) does not
/// carry the value its first owner checks.
fn canary(cpu: usize, seq: u64) -> u64 {
    0x5a00_0000_0000_0000 | (cpu as u64) << 48 | (seq & 0xffff_ffff_ffff)
}

struct Cpu<'a> {
    z: &'a Zone,
    sh: &'a StressShared,
    cpu: usize,
    held: Vec<Msg>,
    held_frames: usize,
    /// Allocation sequence number (canary uniqueness).
    seq: u64,
}

impl Cpu<'_> {
    fn page(&self, pfn: u64) -> &Page {
        self.z.pfn_to_page(pfn)
    }

    /// A fresh canary for a block this CPU now owns.
    fn next_canary(&mut self) -> u64 {
        self.seq += 1;
        canary(self.cpu, self.seq)
    }

    fn set_canary(&self, pfn: u64, value: u64) {
        if let Some(w) = self.z.mem_map().frame_words(self.page(pfn)) {
            w[0].store(value, Relaxed);
        }
    }

    fn check_canary(&self, pfn: u64, value: u64) {
        if let Some(w) = self.z.mem_map().frame_words(self.page(pfn)) {
            if w[0].load(Relaxed) != value {
                self.sh.canary_bad.fetch_add(1, Relaxed);
            }
        }
    }

    fn alloc(&mut self, rng: &mut Rng, max_frames: usize) {
        let order = [0, 0, 0, 0, 1, 2, 3, HPAGE_PMD_ORDER][rng.below(8) as usize] as u8;
        if self.held_frames + (1 << order) > max_frames {
            return;
        }
        let compound = order > 0 && rng.below(2) == 0;
        let gfp = if compound { __GFP_COMP } else { 0 };
        let Some(p) = self.z.alloc_pages(self.cpu, order as usize, gfp) else {
            self.sh.alloc_failures.fetch_add(1, Relaxed);
            return;
        };
        self.sh.allocs.fetch_add(1, Relaxed);
        let pfn = self.z.page_to_pfn(p);
        let last = self.page(pfn + (1 << order) - 1);
        let ok = page_ref_count(p) == 1
            && PageHead(p) == compound
            && (order == 0 || PageTail(last) == compound);
        if !ok {
            self.sh.state_bad.fetch_add(1, Relaxed);
        }
        let c = self.next_canary();
        self.set_canary(pfn, c);
        self.set_canary(pfn + (1 << order) - 1, c);
        self.held.push((pfn, order, compound, c));
        self.held_frames += 1 << order;
    }

    /// Free a block this CPU holds now (its own or one received).
    fn free_block(&self, (pfn, order, compound, c): Msg) {
        self.check_canary(pfn, c);
        self.check_canary(pfn + (1 << order) - 1, c);
        let p = self.page(pfn);
        if compound || order == 0 {
            self.z.put_page(self.cpu, p);
        } else {
            self.z.__free_pages(self.cpu, p, order as usize);
        }
        self.sh.frees.fetch_add(1, Relaxed);
    }

    fn take(&mut self, rng: &mut Rng) -> Option<Msg> {
        if self.held.is_empty() {
            return None;
        }
        let m = self
            .held
            .swap_remove(rng.below(self.held.len() as u64) as usize);
        self.held_frames -= 1 << m.1;
        Some(m)
    }

    fn split(&mut self, rng: &mut Rng) {
        let Some(i) = self
            .held
            .iter()
            .position(|m| m.2 && m.1 as usize == HPAGE_PMD_ORDER)
        else {
            return;
        };
        let (pfn, order, _, c) = self.held.swap_remove(i);
        self.held_frames -= 1 << order;
        let k = rng.below(1 << order);
        self.check_canary(pfn, c);
        if split_huge_page(self.z, self.cpu, self.page(pfn + k), &mut NoMappings).is_err() {
            self.sh.state_bad.fetch_add(1, Relaxed); // nobody else holds a reference
            return;
        }
        self.sh.splits.fetch_add(1, Relaxed);
        let c = self.next_canary();
        self.set_canary(pfn + k, c);
        self.held.push((pfn + k, 0, false, c));
        self.held_frames += 1;
    }

    fn drain_mailbox(&self) {
        let msgs = core::mem::take(&mut *self.sh.mailbox[self.cpu].lock());
        for m in msgs {
            self.free_block(m);
        }
    }
}

/// The stress body for CPU `cpu` of `ncpus`, on any zone (the kernel's or a host test's).
/// Every CPU calls it at once with the same `sh` and `barrier`; CPU 0 returns the report (other
/// CPUs return `None`). `progress(done, total)` is called by CPU 0 now and then, `poll` by
/// every CPU every 1024 iterations (deadline checks).
#[allow(clippy::too_many_arguments)]
pub fn stress_zone(
    z: &Zone,
    sh: &StressShared,
    barrier: &Barrier,
    cpu: usize,
    ncpus: usize,
    iters: u64,
    seed: u64,
    progress: &dyn Fn(u64, u64),
    poll: &dyn Fn(),
) -> Option<StressReport> {
    assert!(ncpus <= z.nr_cpus() && ncpus <= NR_CPUS);
    if cpu == 0 {
        z.drain_all_pages();
        sh.frames_free_start.store(z.audit().frames_free, Relaxed);
    }
    barrier.wait();
    let max_frames = z.managed_pages() / (2 * ncpus);
    let mut me = Cpu {
        z,
        sh,
        cpu,
        held: Vec::new(),
        held_frames: 0,
        seq: 0,
    };
    let mut rng = Rng((seed ^ (cpu as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15)) | 1);
    let step = (iters / 10).max(1);
    for i in 0..iters {
        match rng.below(20) {
            0..=8 => me.alloc(&mut rng, max_frames),
            9..=13 => {
                if let Some(m) = me.take(&mut rng) {
                    me.free_block(m);
                }
            }
            14..=17 => {
                if let Some(m) = me.take(&mut rng) {
                    let to = (cpu + 1 + rng.below(ncpus as u64) as usize) % ncpus;
                    if to != cpu {
                        sh.cross_frees.fetch_add(1, Relaxed);
                    }
                    sh.mailbox[to].lock().push(m);
                }
            }
            18 => me.split(&mut rng),
            _ => me.drain_mailbox(),
        }
        if i % 1024 == 0 {
            poll();
        }
        if cpu == 0 && (i + 1) % step == 0 {
            progress(i + 1, iters);
        }
    }
    while let Some(m) = me.take(&mut rng) {
        me.free_block(m);
    }
    barrier.wait(); // every send is done
    me.drain_mailbox();
    barrier.wait(); // every CPU is out of the allocator
    if cpu != 0 {
        return None;
    }
    z.drain_all_pages();
    let a = z.audit();
    let start = sh.frames_free_start.load(Relaxed);
    let mut r = StressReport {
        frames_total: a.frames_total,
        frames_free_start: start,
        frames_free_end: a.frames_free,
        leaked: start.saturating_sub(a.frames_free),
        double_free: a.double_free,
        bad_state: a.bad_state + sh.state_bad.load(Relaxed),
        canary_bad: sh.canary_bad.load(Relaxed),
        allocs: sh.allocs.load(Relaxed),
        alloc_failures: sh.alloc_failures.load(Relaxed),
        frees: sh.frees.load(Relaxed),
        cross_frees: sh.cross_frees.load(Relaxed),
        splits: sh.splits.load(Relaxed),
        passed: false,
    };
    r.passed = r.leaked == 0
        && a.frames_free == start
        && r.double_free == 0
        && r.bad_state == 0
        && r.canary_bad == 0
        && r.allocs > 0;
    Some(r)
}

#[cfg(not(loom))]
mod run {
    use super::*;
    use crate::bootargs;
    use crate::mm::audit::RunAudit;
    use crate::mm::knobs::{InitOrder, MmKnobs, PcpProtection};
    use crate::record::Record;
    use crate::run::RunCtx;

    static SHARED: StressShared = StressShared::new();

    /// The `mm-stress` run entry (every CPU).
    pub fn run(ctx: &RunCtx) -> bool {
        let z = crate::mm::zone();
        if ctx.cpu == 0 {
            let k = MmKnobs {
                pcp: match ctx.args.pcp {
                    Some(bootargs::Pcp::Spinlock) => PcpProtection::SpinLock,
                    _ => PcpProtection::IrqOff,
                },
                init_order: match ctx.args.init_order {
                    Some(bootargs::InitOrder::W7) => InitOrder::W7,
                    _ => InitOrder::Linux,
                },
                ..z.knobs()
            };
            z.drain_all_pages();
            z.set_knobs(k);
            crate::kprintln!("mm-stress: {} CPUs, knobs {:?}", ctx.ncpus, k);
        }
        ctx.barrier.wait();
        let iters = ctx.iters_or(DEFAULT_ITERS);
        let progress = |d, t| ctx.progress("mm-stress", d, t);
        let poll = || ctx.deadline_check();
        let Some(r) = stress_zone(
            z,
            &SHARED,
            ctx.barrier,
            ctx.cpu,
            ctx.ncpus,
            iters,
            ctx.seed,
            &progress,
            &poll,
        ) else {
            return true;
        };
        crate::kprintln!("mm-stress: {r:?}");
        RunAudit {
            frames_total: r.frames_total,
            frames_free_start: r.frames_free_start,
            frames_free_end: r.frames_free_end,
            double_free: r.double_free,
            bad_state: r.bad_state,
        }
        .emit("mm-stress", r.passed);
        Record::new("result")
            .str("run", "mm-stress")
            .bool("passed", r.passed)
            .u64("seed", ctx.seed)
            .u64("iters", iters)
            .u64("cpus", ctx.ncpus as u64)
            .u64("allocs", r.allocs)
            .u64("alloc_failures", r.alloc_failures)
            .u64("frees", r.frees)
            .u64("cross_frees", r.cross_frees)
            .u64("splits", r.splits)
            .u64("canary_bad", r.canary_bad)
            .emit();
        if let Some(f) = z.stats().first() {
            crate::kprintln!("mm-stress: first bad event: {f:?}");
        }
        r.passed
    }
}

#[cfg(not(loom))]
pub use run::run;

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use crate::mm::knobs::{MmKnobs, PcpProtection, PcpReuse};
    use crate::mm::memmap::{alloc_leaked_ram, MemMap};
    use crate::mm::pcp::PcpConfig;

    fn stress(k: MmKnobs, ncpus: usize) -> StressReport {
        let ram = alloc_leaked_ram(8192, 10);
        let z = Zone::new(
            MemMap::new_owned(ram.start_pfn(), 8192, true),
            ncpus,
            PcpConfig::for_zone(8192, ncpus),
            k,
        );
        z.free_pfn_range(ram.start_pfn(), ram.end_pfn());
        let sh = StressShared::new();
        let b = Barrier::new(ncpus);
        let out = std::sync::Mutex::new(None);
        std::thread::scope(|s| {
            for cpu in 0..ncpus {
                let (z, sh, b, out) = (&z, &sh, &b, &out);
                s.spawn(move || {
                    if let Some(r) = stress_zone(z, sh, b, cpu, ncpus, 3000, 42, &|_, _| {}, &|| {})
                    {
                        *out.lock().unwrap() = Some(r);
                    }
                });
            }
        });
        out.into_inner().unwrap().unwrap()
    }

    #[test]
    fn stress_passes_in_every_pcp_mode() {
        for (pcp, reuse) in [
            (PcpProtection::IrqOff, PcpReuse::SameOrderOnly),
            (PcpProtection::SpinLock, PcpReuse::SameOrderOnly),
            (PcpProtection::IrqOff, PcpReuse::SplitOnReuse),
        ] {
            let r = stress(
                MmKnobs {
                    pcp,
                    pcp_reuse: reuse,
                    ..MmKnobs::default()
                },
                3,
            );
            assert!(r.passed, "{pcp:?} {reuse:?}: {r:?}");
            assert!(r.cross_frees > 0 && r.splits > 0 && r.frees > 0, "{r:?}");
            assert_eq!(r.frames_free_start, 8192);
        }
    }
}
