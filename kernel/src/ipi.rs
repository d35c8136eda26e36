//! Inter-processor interrupts: the SGI handshake of an IPI-acknowledged TLB shootdown (V1i).
//!
//! x86 Linux frees page tables and pages only after a TLB-shootdown IPI was acknowledged by
//! every CPU; a CPU inside GUP-fast (`local_irq_save`) cannot take the IPI until it leaves the
//! walk, so the unmapper's wait covers every walk that began before the PTE was cleared. The
//! bare-metal analogue here: the unmapper clears the PTE, flushes, sends SGI
//! [`SGI_SHOOTDOWN`] to every other CPU ([`crate::hal::Hal::send_sgi`]) and waits until each
//! CPU's interrupt handler has bumped its acknowledgement counter ([`ack`], called by the
//! board's IRQ handler).
//!
//! For an acknowledgement to arrive, CPUs must run with IRQs unmasked outside their IRQ-off
//! sections: [`row_irqs_on`] / [`row_irqs_off`] bracket every `gup` row on every CPU.
//!
//! When the platform has no SGIs (host tests, no GICv2), [`shootdown_sync`] says so and the
//! caller falls back to the flag handshake (`World::wait_for_readers`).
//!
//! The counters are `core` atomics, not `kernel::sync` ones: they are statics written from an
//! interrupt handler (loom atomics cannot be `const`-initialised, and loom has no interrupts).
//! Their orderings are spelled out: the handler's increment is a release (everything the CPU
//! did before it took the interrupt — its whole IRQ-off walk — is ordered before it); the
//! sender's load is an acquire.

use crate::smp::MAX_CPUS;
use core::sync::atomic::{AtomicU64, Ordering};
use spin::Mutex;

/// The SGI id of the shootdown handshake.
pub const SGI_SHOOTDOWN: u8 = 1;

/// `DAIF.I` (the IRQ mask bit) in the flags `Hal::irq_save` returns on aarch64 (the `DAIF`
/// register value). On the host the flags are 0 and `irq_restore` ignores them.
const DAIF_I: u64 = 1 << 7;

/// How long the sender waits for one CPU's acknowledgement before giving up on the SGI and
/// falling back to the flag handshake for this shootdown (counted as a timeout). Generous: a
/// host may deschedule a vCPU thread for a long time under TCG.
const ACK_TIMEOUT_MS: u64 = 5_000;

/// Most latency samples kept per row (the median is over these; the count covers all).
const MAX_SAMPLES: usize = 1 << 18;

/// Per CPU: SGIs [`SGI_SHOOTDOWN`] this CPU has handled.
static ACKS: [AtomicU64; MAX_CPUS] = [const { AtomicU64::new(0) }; MAX_CPUS];

/// The IRQ handler's part: this CPU took SGI [`SGI_SHOOTDOWN`]. Release: the CPU's accesses
/// before the interrupt (its GUP-fast walk, if it was in one) happen-before the sender's
/// acquire of the new count.
pub fn ack(cpu: usize) {
    ACKS[cpu % MAX_CPUS].fetch_add(1, Ordering::Release);
}

/// Acknowledgements CPU `cpu` has given so far.
pub fn acks(cpu: usize) -> u64 {
    ACKS[cpu % MAX_CPUS].load(Ordering::Acquire)
}

/// Whether the platform delivers SGIs (`send_sgi` with an empty mask sends nothing and reports
/// whether SGIs work).
pub fn available() -> bool {
    crate::hal::installed() && crate::hal::hal().send_sgi(0, SGI_SHOOTDOWN)
}

/// Shootdown statistics of the current row (reset by [`take_row_stats`]).
#[derive(Default)]
struct Stats {
    /// Shootdowns acknowledged through SGIs (send → all acks).
    sgi: u64,
    /// Shootdowns that used the flag handshake (no SGIs on this platform).
    flag: u64,
    /// SGI shootdowns where some CPU did not acknowledge within [`ACK_TIMEOUT_MS`] (then the
    /// flag handshake finished the wait).
    timeouts: u64,
    /// Round-trip latencies in counter ticks (first [`MAX_SAMPLES`]).
    samples: alloc::vec::Vec<u32>,
}

static STATS: Mutex<Stats> = Mutex::new(Stats {
    sgi: 0,
    flag: 0,
    timeouts: 0,
    samples: alloc::vec::Vec::new(),
});

/// Outcome of [`shootdown_sync`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Handshake {
    /// Every other CPU acknowledged the SGI.
    Acked,
    /// Some CPU did not acknowledge in time: the caller must still wait by other means.
    TimedOut,
    /// The platform has no SGIs: the caller must wait by other means.
    Unavailable,
}

/// Send SGI [`SGI_SHOOTDOWN`] to CPUs `0..ncpus` except `me` and wait until each has taken it
/// (the handshake of an IPI-acknowledged shootdown). The caller has cleared the PTE and
/// flushed the TLB already. A CPU that has IRQs masked (inside GUP-fast) acknowledges only
/// once it unmasks them, i.e. after its walk. Counts the shootdown in the row's statistics
/// (as a flag-handshake one when it returns [`Handshake::Unavailable`]).
pub fn shootdown_sync(me: usize, ncpus: usize) -> Handshake {
    let ncpus = ncpus.min(MAX_CPUS);
    let mask: u64 = ((1u64 << ncpus) - 1) & !(1u64 << me);
    if mask == 0 {
        if available() {
            return Handshake::Acked;
        }
        STATS.lock().flag += 1;
        return Handshake::Unavailable;
    }
    let h = crate::hal::hal();
    let mut before = [0u64; MAX_CPUS];
    for (c, b) in before.iter_mut().enumerate().take(ncpus) {
        *b = acks(c);
    }
    let t0 = h.counter();
    if !h.send_sgi(mask, SGI_SHOOTDOWN) {
        STATS.lock().flag += 1;
        return Handshake::Unavailable;
    }
    let until = t0 + ACK_TIMEOUT_MS * h.counter_hz() / 1000;
    let mut p = crate::rt::deadline::Poller::new();
    for (c, &b) in before.iter().enumerate().take(ncpus) {
        if c == me {
            continue;
        }
        while acks(c) == b {
            if p.poll() && h.counter() > until {
                STATS.lock().timeouts += 1;
                return Handshake::TimedOut;
            }
            crate::smp::spin_hint();
        }
    }
    let dt = h.counter().wrapping_sub(t0);
    let mut s = STATS.lock();
    s.sgi += 1;
    if s.samples.len() < MAX_SAMPLES {
        s.samples.push(dt.min(u32::MAX as u64) as u32);
    }
    Handshake::Acked
}

/// One row's shootdown summary.
#[derive(Clone, Copy, Debug, Default)]
pub struct RowStats {
    /// SGI-acknowledged shootdowns.
    pub sgi: u64,
    /// Flag-handshake shootdowns (no SGIs).
    pub flag: u64,
    /// SGI shootdowns that timed out (finished by the flag handshake).
    pub timeouts: u64,
    /// Latency samples the percentiles are over.
    pub samples: u64,
    /// Round-trip (send → all acks) latency percentiles, nanoseconds.
    pub min_ns: u64,
    /// Median.
    pub median_ns: u64,
    /// 99th percentile.
    pub p99_ns: u64,
    /// Maximum.
    pub max_ns: u64,
}

impl RowStats {
    /// "sgi", "flag", "mixed" or "none": which handshake this row's shootdowns used.
    pub fn mechanism(&self) -> &'static str {
        match (self.sgi + self.timeouts > 0, self.flag > 0) {
            (true, false) => "sgi",
            (false, true) => "flag",
            (true, true) => "mixed",
            (false, false) => "none",
        }
    }
}

/// Take (and reset) the shootdown statistics gathered since the last call. Call when no CPU
/// is shooting down (between rows).
pub fn take_row_stats(hz: u64) -> RowStats {
    let mut s = STATS.lock();
    let mut samples = core::mem::take(&mut s.samples);
    let out_base = RowStats {
        sgi: s.sgi,
        flag: s.flag,
        timeouts: s.timeouts,
        samples: samples.len() as u64,
        ..RowStats::default()
    };
    s.sgi = 0;
    s.flag = 0;
    s.timeouts = 0;
    drop(s);
    if samples.is_empty() {
        return out_base;
    }
    samples.sort_unstable();
    let ns = |t: u32| (t as u128 * 1_000_000_000 / hz.max(1) as u128) as u64;
    let n = samples.len();
    RowStats {
        min_ns: ns(samples[0]),
        median_ns: ns(samples[n / 2]),
        p99_ns: ns(samples[(n * 99 / 100).min(n - 1)]),
        max_ns: ns(samples[n - 1]),
        ..out_base
    }
}

/// Unmask IRQs on this CPU for a `gup` row when the platform delivers SGIs (so the CPU can
/// acknowledge shootdowns outside its IRQ-off sections). Returns the flags for
/// [`row_irqs_off`].
pub fn row_irqs_on() -> u64 {
    let h = crate::hal::hal();
    let flags = h.irq_save();
    if available() {
        h.irq_restore(flags & !DAIF_I);
    } else {
        h.irq_restore(flags);
    }
    flags
}

/// Restore the IRQ mask [`row_irqs_on`] found.
pub fn row_irqs_off(flags: u64) {
    crate::hal::hal().irq_restore(flags);
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn no_sgis_on_the_host() {
        crate::hal::host::install_host(2);
        assert!(!available());
        assert_eq!(shootdown_sync(0, 2), Handshake::Unavailable);
        let s = take_row_stats(1_000_000_000);
        // Other tests of this binary may shoot down concurrently: only lower bounds hold.
        assert_eq!(s.mechanism(), "flag");
        assert!(s.flag >= 1 && s.sgi == 0 && s.samples == 0);
    }

    #[test]
    fn acks_count_per_cpu() {
        let before = acks(3);
        ack(3);
        ack(3);
        assert_eq!(acks(3), before + 2);
    }
}
