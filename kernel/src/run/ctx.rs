//! What a run entry gets on every CPU ([`RunCtx`]), the registry's row type ([`RunDesc`]),
//! the parsed bootargs ([`setup`], [`args`]) and progress records.

use crate::bootargs::BootArgs;
use crate::record::Record;
use crate::rt::{deadline, exit};
use crate::smp::Barrier;
use spin::Once;

/// What boot tells a run about the CPU it runs on (read from that CPU's own registers).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CpuInfo {
    /// `MPIDR_EL1`.
    pub mpidr: u64,
    /// Exception level the kernel runs at.
    pub el: u8,
    /// Exception level the CPU was entered at (2 when boot dropped from EL2).
    pub entry_el: u8,
    /// `SCTLR_EL1.M`.
    pub mmu: bool,
    /// `SCTLR_EL1.C`.
    pub dcache: bool,
    /// `SCTLR_EL1.I`.
    pub icache: bool,
}

/// Everything a run entry gets, per CPU.
pub struct RunCtx<'a> {
    /// This CPU's index (`0..ncpus`).
    pub cpu: usize,
    /// Number of CPUs running this entry.
    pub ncpus: usize,
    /// Parsed bootargs.
    pub args: &'a BootArgs,
    /// The run plan's seed (`seed=`, or one drawn from the counter and reported in
    /// `run_start`).
    pub seed: u64,
    /// This CPU's registers of interest.
    pub info: CpuInfo,
    /// A barrier for all `ncpus` CPUs, free for the run to use between its phases.
    pub barrier: &'a Barrier,
}

impl RunCtx<'_> {
    /// Whether this is CPU 0 (the one whose verdict counts and which emits the result).
    pub fn is_boot_cpu(&self) -> bool {
        self.cpu == 0
    }
    /// Poll the kernel deadline (and park if another CPU is ending the run). Call it every
    /// few thousand iterations of any loop that may run long.
    #[inline]
    pub fn deadline_check(&self) {
        deadline::check();
    }
    /// `iters=` or `default`.
    pub fn iters_or(&self, default: u64) -> u64 {
        self.args.iters.unwrap_or(default)
    }
    /// Emit a `progress` record for `run` and remember it for the deadline report.
    pub fn progress(&self, run: &'static str, done: u64, total: u64) {
        progress(run, done, total);
    }
}

/// One entry of the registry.
pub struct RunDesc {
    /// The `run=` name.
    pub name: &'static str,
    /// One line for `run=list` and usage errors.
    pub help: &'static str,
    /// Called on every online CPU at once; returns whether the run passed (CPU 0's value is
    /// the verdict). Must poll [`RunCtx::deadline_check`] in long loops and emit its own
    /// `result` record(s).
    pub entry: fn(&RunCtx) -> bool,
}

/// Emit a `progress` record and remember it for the deadline report.
pub fn progress(run: &'static str, done: u64, total: u64) {
    deadline::note(run, done, total);
    Record::new("progress")
        .str("run", run)
        .u64("done", done)
        .u64("total", total)
        .u64("elapsed_ms", deadline::elapsed_ms())
        .emit();
}

static ARGS: Once<BootArgs> = Once::new();

/// Parse the bootargs (exit 2 with an `error` record if they are bad), arm the deadline, and
/// keep them for [`args`]. Called once, by CPU 0, after the hal and heap are up.
pub fn setup(bootargs: &str) -> &'static BootArgs {
    match crate::bootargs::parse(bootargs) {
        Ok(a) => {
            let a = ARGS.call_once(|| a);
            deadline::arm(a.deadline_ms);
            a
        }
        Err(e) => {
            // Arm without a deadline so elapsed time works, then refuse.
            deadline::arm(None);
            let msg = alloc::format!("{e} in bootargs `{bootargs}`");
            exit::usage_error("bootargs", &msg)
        }
    }
}

/// The parsed bootargs (after [`setup`]), if any.
pub fn args() -> Option<&'static BootArgs> {
    ARGS.get()
}
