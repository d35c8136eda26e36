//! `kernel::hal::Hal` on AArch64 for every board: console (the board's PL011), CPU index,
//! the generic timer's virtual counter, the exit policy, DAIF, broadcast TLB maintenance,
//! TTBR0 and GICv2 SGIs.

use crate::arch::cpu;
use crate::{console, exit};
use aarch64_cpu::registers::{Readable, Writeable, CNTFRQ_EL0, CNTVCT_EL0, DAIF, TTBR0_EL1};
use core::arch::asm;
use core::sync::atomic::{AtomicUsize, Ordering};
use kernel::hal::Hal;

/// The board's platform interface.
pub struct BoardHal {
    online: AtomicUsize,
}

/// The one instance (plain atomics, `const`-initialised: no CAS needed to set it up).
pub static HAL: BoardHal = BoardHal {
    online: AtomicUsize::new(1),
};

impl BoardHal {
    /// Set how many CPUs are online (after bring-up).
    pub fn set_online(&self, n: usize) {
        self.online.store(n, Ordering::Release);
    }
}

impl Hal for BoardHal {
    fn console_write(&self, bytes: &[u8]) {
        console::write_bytes(bytes);
    }
    fn cpu_id(&self) -> usize {
        cpu::index()
    }
    fn nr_cpus(&self) -> usize {
        self.online.load(Ordering::Acquire)
    }
    #[inline]
    fn counter(&self) -> u64 {
        CNTVCT_EL0.get()
    }
    fn counter_hz(&self) -> u64 {
        CNTFRQ_EL0.get()
    }
    fn exit(&self, code: u32) -> ! {
        exit::leave(code)
    }
    fn irq_save(&self) -> u64 {
        let flags = DAIF.get();
        // SAFETY: masks IRQ and FIQ on this CPU (DAIF.I, DAIF.F); no memory effects.
        unsafe { asm!("msr daifset, #3", options(nostack, preserves_flags)) };
        flags
    }
    fn irq_restore(&self, flags: u64) {
        DAIF.set(flags);
    }
    fn flush_tlb_page(&self, asid: u16, va: u64) {
        let arg = ((asid as u64) << 48) | ((va >> 12) & ((1 << 44) - 1));
        // SAFETY: broadcast invalidation of the last-level entry for (asid, va) and the
        // barriers that make the preceding PTE store visible to walkers first and wait for
        // completion; touches no Rust-visible memory.
        unsafe {
            asm!("dsb ishst", "tlbi vale1is, {0}", "dsb ish", "isb", in(reg) arg, options(nostack, preserves_flags))
        };
    }
    fn flush_tlb_asid(&self, asid: u16) {
        let arg = (asid as u64) << 48;
        // SAFETY: as above, for every entry of `asid`.
        unsafe {
            asm!("dsb ishst", "tlbi aside1is, {0}", "dsb ish", "isb", in(reg) arg, options(nostack, preserves_flags))
        };
    }
    fn switch_ttbr0(&self, root: u64, asid: u16) {
        TTBR0_EL1.set(kernel::mm::pgtable::ttbr0_value(root, asid));
        aarch64_cpu::asm::barrier::isb(aarch64_cpu::asm::barrier::SY);
    }
    fn send_sgi(&self, cpu_mask: u64, sgi: u8) -> bool {
        crate::driver::gicv2::send_sgi(cpu_mask, sgi)
    }
}
