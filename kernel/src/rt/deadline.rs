//! The kernel's own deadline (`deadline_ms=`) and the last progress it reports.
//!
//! Design: no timer interrupt. Every CPU polls [`check`] wherever it may wait or loop for long
//! (barrier waits, bring-up waits, run loops every few thousand iterations). When the counter
//! passes the deadline, the first CPU to notice prints the last progress, emits `end` with
//! exit code 4 and exits; the others park. [`check`] also parks a CPU when another one is
//! ending the run (fault, panic). xtask enforces an outer timeout as well.
//!
//! Run infrastructure, outside race windows: plain `core` atomics.

use super::exit;
use crate::record::Record;
use core::sync::atomic::{AtomicU64, Ordering};
use spin::Mutex;

/// Counter value at which the deadline expires (0: none).
static DEADLINE_AT: AtomicU64 = AtomicU64::new(0);
static DEADLINE_MS: AtomicU64 = AtomicU64::new(0);
/// Counter value when the deadline was armed (elapsed time is measured from here).
static START: AtomicU64 = AtomicU64::new(0);

/// (phase, done, total) of the latest [`note`].
static LAST: Mutex<(&str, u64, u64)> = Mutex::new(("no progress reported yet", 0, 0));

/// Start the clock and arm the deadline (`None`: no deadline; elapsed time is still measured).
pub fn arm(deadline_ms: Option<u64>) {
    let h = crate::hal::hal();
    let now = h.counter();
    START.store(now, Ordering::Relaxed);
    if let Some(ms) = deadline_ms {
        let ticks = (ms as u128 * h.counter_hz() as u128 / 1000) as u64;
        DEADLINE_MS.store(ms, Ordering::Relaxed);
        DEADLINE_AT.store(now.saturating_add(ticks.max(1)), Ordering::SeqCst);
    }
}

/// Milliseconds since [`arm`].
pub fn elapsed_ms() -> u64 {
    let h = crate::hal::hal();
    let ticks = h.counter().wrapping_sub(START.load(Ordering::Relaxed));
    (ticks as u128 * 1000 / h.counter_hz().max(1) as u128) as u64
}

/// Remember the latest progress (what the deadline report prints). `what` names the phase.
pub fn note(what: &'static str, done: u64, total: u64) {
    *LAST.lock() = (what, done, total);
}

/// Poll: park if another CPU is ending the run; end the run with code 4 if the deadline passed.
/// Cheap when there is no deadline (two relaxed loads).
#[inline]
pub fn check() {
    if exit::stop_requested() {
        exit::park();
    }
    let at = DEADLINE_AT.load(Ordering::Relaxed);
    if at != 0 && crate::hal::hal().counter() >= at {
        expired();
    }
}

/// Rate-limited [`check`] for spin loops: polls the deadline (and a stop request) once every
/// [`Poller::EVERY`] calls. A counter read on every turn of a spin loop starves the other vCPU
/// under TCG on a small host (measured: windows missed the writer's step half the time), and a
/// CPU parked by a fault elsewhere only needs to notice within microseconds.
#[derive(Default)]
pub struct Poller(u32);

impl Poller {
    /// Calls between two real checks.
    pub const EVERY: u32 = 256;

    /// A poller whose first real check happens after [`Poller::EVERY`] calls.
    pub const fn new() -> Self {
        Poller(0)
    }

    /// Count one spin; every [`Poller::EVERY`]-th call runs [`check`]. Returns true on the
    /// calls that checked (callers may piggy-back their own timeouts on them).
    #[inline]
    pub fn poll(&mut self) -> bool {
        self.0 = self.0.wrapping_add(1);
        if self.0.is_multiple_of(Self::EVERY) {
            check();
            return true;
        }
        false
    }
}

#[cold]
fn expired() -> ! {
    if !exit::claim() {
        exit::park();
    }
    // try_lock: the CPU that holds LAST may be parked by now; never wait for it.
    let (what, done, total) = LAST
        .try_lock()
        .map(|g| *g)
        .unwrap_or(("(progress locked)", 0, 0));
    let ms = DEADLINE_MS.load(Ordering::Relaxed);
    let cpu = crate::hal::hal().cpu_id();
    crate::kprintln!(
        "gupbed: DEADLINE of {ms} ms exceeded (noticed on cpu {cpu} after {} ms); last progress: {what}: {done}/{total}",
        elapsed_ms()
    );
    Record::new("error")
        .str("kind", "deadline")
        .str("message", "kernel deadline exceeded")
        .u64("deadline_ms", ms)
        .str("last_progress", what)
        .u64("done", done)
        .u64("total", total)
        .emit();
    Record::new("end")
        .bool("passed", false)
        .u64("exit_code", exit::code::DEADLINE as u64)
        .emit();
    crate::hal::hal().exit(exit::code::DEADLINE)
}
