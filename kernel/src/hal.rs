//! The small interface through which portable kernel code reaches the machine.
//!
//! `boot` implements it for each board; host tests implement it with std. Nothing here is on
//! a race window's hot path except [`Hal::counter`], which is a single register read on target.

use spin::Once;

/// What the kernel needs from the platform.
pub trait Hal: Sync {
    /// Write raw bytes to the console. Callers serialise whole lines (see [`crate::console`]).
    fn console_write(&self, bytes: &[u8]);
    /// Index of the calling CPU, `0..nr_cpus()` (TPIDR_EL1 on target).
    fn cpu_id(&self) -> usize;
    /// Number of CPUs that came online.
    fn nr_cpus(&self) -> usize;
    /// Free-running counter (CNTVCT_EL0 on target).
    fn counter(&self) -> u64;
    /// Frequency of [`Hal::counter`] in Hz.
    fn counter_hz(&self) -> u64;
    /// Stop every CPU and leave the machine with `code` (0 = success).
    fn exit(&self, code: u32) -> !;
    /// Mask interrupts on this CPU; returns the previous state for [`Hal::irq_restore`].
    fn irq_save(&self) -> u64;
    /// Restore the interrupt mask saved by [`Hal::irq_save`].
    fn irq_restore(&self, flags: u64);
    /// Invalidate the TLB entry for `va` (last level) in `asid` on all CPUs and wait for it:
    /// `DSB ISHST; TLBI VALE1IS; DSB ISH; ISB` on target. No-op on the host.
    fn flush_tlb_page(&self, asid: u16, va: u64);
    /// Invalidate all TLB entries of `asid` on all CPUs (`TLBI ASIDE1IS`).
    fn flush_tlb_asid(&self, asid: u16);
    /// Install `root` (physical address of a level-0 table) as TTBR0 with `asid` on this CPU.
    fn switch_ttbr0(&self, root: u64, asid: u16);
    /// Send software-generated interrupt `sgi` to the CPUs in `cpu_mask` (GIC), for handshakes
    /// that must wait for interrupt-masked readers. Returns false if the platform has none.
    fn send_sgi(&self, cpu_mask: u64, sgi: u8) -> bool;
}

static HAL: Once<&'static dyn Hal> = Once::new();

/// Install the platform once, before any other kernel code runs.
pub fn install(hal: &'static dyn Hal) {
    HAL.call_once(|| hal);
}

/// The installed platform. Panics if [`install`] was not called.
#[inline]
pub fn hal() -> &'static dyn Hal {
    *HAL.get().expect("hal::install was not called")
}

/// Whether a platform has been installed (host unit tests may run without one).
pub fn installed() -> bool {
    HAL.get().is_some()
}

/// A std-backed [`Hal`] for host tests: threads play CPUs.
///
/// A test thread declares which CPU it is with [`host::set_cpu`]; the console is stdout; the
/// counter is nanoseconds since first use; `exit` panics with the code (so tests can catch it);
/// TLB and TTBR operations are no-ops (there is no MMU on the host).
#[cfg(not(target_os = "none"))]
pub mod host {
    use super::{install, Hal};
    use core::cell::Cell;
    use std::io::Write;
    use std::sync::OnceLock;
    use std::time::Instant;

    std::thread_local! {
        static CPU: Cell<usize> = const { Cell::new(0) };
    }

    /// Declare that the calling thread is CPU `cpu`.
    pub fn set_cpu(cpu: usize) {
        CPU.with(|c| c.set(cpu));
    }

    /// The host platform; `nr_cpus` is what tests pretend is online.
    pub struct HostHal {
        nr_cpus: usize,
    }

    static START: OnceLock<Instant> = OnceLock::new();
    static HOST: OnceLock<HostHal> = OnceLock::new();

    /// Install the host platform (idempotent; the first `nr_cpus` wins).
    pub fn install_host(nr_cpus: usize) {
        let h = HOST.get_or_init(|| HostHal { nr_cpus });
        install(h);
    }

    impl Hal for HostHal {
        fn console_write(&self, bytes: &[u8]) {
            let _ = std::io::stdout().write_all(bytes);
        }
        fn cpu_id(&self) -> usize {
            CPU.with(|c| c.get())
        }
        fn nr_cpus(&self) -> usize {
            self.nr_cpus
        }
        fn counter(&self) -> u64 {
            START.get_or_init(Instant::now).elapsed().as_nanos() as u64
        }
        fn counter_hz(&self) -> u64 {
            1_000_000_000
        }
        fn exit(&self, code: u32) -> ! {
            panic!("hal exit({code})")
        }
        fn irq_save(&self) -> u64 {
            0
        }
        fn irq_restore(&self, _flags: u64) {}
        fn flush_tlb_page(&self, _asid: u16, _va: u64) {}
        fn flush_tlb_asid(&self, _asid: u16) {}
        fn switch_ttbr0(&self, _root: u64, _asid: u16) {}
        fn send_sgi(&self, _cpu_mask: u64, _sgi: u8) -> bool {
            false
        }
    }
}
