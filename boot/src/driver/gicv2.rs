//! GICv2 (QEMU virt's `arm,cortex-a15-gic`, the Raspberry Pi 4's GIC-400): just enough for
//! software-generated interrupts (the V1i shootdown handshake).
//!
//! The distributor (`GICD`) and each CPU's interface (`GICC`) are set up during bring-up with
//! PSTATE.I still masked; CPUs unmask IRQs only for the `gup` rows (`kernel::ipi`).
//!
//! Security: QEMU's GICs (virt without `secure=on`, raspi4b) have no security extensions:
//! every interrupt is group 0 and `GICC_CTLR.FIQEn = 0` signals it as IRQ. On a real Pi 4 the
//! firmware's armstub (EL3) puts every interrupt in group 1 (non-secure) before dropping to
//! EL2; from the non-secure side bit 0 of `GICD_CTLR`/`GICC_CTLR` is EnableGrp1 and the other
//! bits written here are ignored, and non-secure priority writes are folded into the lower
//! half (0x80 becomes 0xC0, still above the 0xFF mask). Either way the SGI arrives as an IRQ.
//!
//! Only SGI [`kernel::ipi::SGI_SHOOTDOWN`] is enabled; any other interrupt is a fatal fault.

use core::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, Ordering};
use kernel::smp::MAX_CPUS;

const GICD_CTLR: u64 = 0x000;
const GICD_ISENABLER0: u64 = 0x100;
const GICD_IPRIORITYR: u64 = 0x400;
const GICD_ITARGETSR0: u64 = 0x800;
const GICD_SGIR: u64 = 0xf00;

const GICC_CTLR: u64 = 0x000;
const GICC_PMR: u64 = 0x004;
const GICC_BPR: u64 = 0x008;
const GICC_IAR: u64 = 0x00c;
const GICC_EOIR: u64 = 0x010;

/// `GICC_IAR` interrupt id of "no pending interrupt".
const SPURIOUS: u32 = 1023;

/// Distributor and CPU-interface bases (0: no GICv2).
static GICD: AtomicU64 = AtomicU64::new(0);
static GICC: AtomicU64 = AtomicU64::new(0);
/// Per CPU index: its GIC CPU-interface mask (what `GICD_SGIR`'s target list takes), read from
/// its banked `GICD_ITARGETSR0`.
static IFACE: [AtomicU8; MAX_CPUS] = [const { AtomicU8::new(0) }; MAX_CPUS];
/// Per CPU index: its CPU interface is enabled.
static READY: [AtomicBool; MAX_CPUS] = [const { AtomicBool::new(false) }; MAX_CPUS];

fn read32(addr: u64) -> u32 {
    // SAFETY: `addr` is a GIC register inside the DTB's GIC ranges, identity-mapped as Device
    // memory; a 32-bit read has no effect beyond the device's documented ones.
    unsafe { core::ptr::read_volatile(addr as *const u32) }
}

fn write32(addr: u64, v: u32) {
    // SAFETY: as `read32`, for a write.
    unsafe { core::ptr::write_volatile(addr as *mut u32, v) }
}

fn write8(addr: u64, v: u8) {
    // SAFETY: as `read32`; GICD_IPRIORITYR is byte-accessible.
    unsafe { core::ptr::write_volatile(addr as *mut u8, v) }
}

/// Enable the distributor at `gicd` and remember the CPU interface at `gicc` (boot CPU, MMU
/// on, IRQs masked, before the secondaries start).
pub fn init_distributor(gicd: u64, gicc: u64) {
    // Enable group 0 and group 1 forwarding (no security extensions: both bits are ours).
    write32(gicd + GICD_CTLR, 0b11);
    GICC.store(gicc, Ordering::Relaxed);
    GICD.store(gicd, Ordering::Release);
}

/// Set up this CPU's banked SGI state and its CPU interface (every CPU, during bring-up, IRQs
/// masked). No-op without a GICv2.
pub fn init_cpu(cpu: usize) {
    let gicd = GICD.load(Ordering::Acquire);
    let gicc = GICC.load(Ordering::Relaxed);
    if gicd == 0 || gicc == 0 || cpu >= MAX_CPUS {
        return;
    }
    let sgi = kernel::ipi::SGI_SHOOTDOWN as u64;
    // SGIs 0-15 are always enabled on GICv2 (the write is ignored there); set it anyway.
    write32(gicd + GICD_ISENABLER0, 1 << sgi);
    write8(gicd + GICD_IPRIORITYR + sgi, 0x80);
    // Byte 0 of the banked ITARGETSR0 reads as this CPU's own interface mask.
    let iface = (read32(gicd + GICD_ITARGETSR0) & 0xff) as u8;
    IFACE[cpu].store(iface, Ordering::Relaxed);
    write32(gicc + GICC_PMR, 0xff);
    write32(gicc + GICC_BPR, 0);
    // EnableGrp0 | EnableGrp1, FIQEn = 0: group 0 interrupts arrive as IRQs.
    write32(gicc + GICC_CTLR, 0b11);
    READY[cpu].store(iface != 0, Ordering::Release);
}

/// Whether CPU `cpu`'s interface is up (SGIs to it are delivered).
pub fn ready(cpu: usize) -> bool {
    cpu < MAX_CPUS && READY[cpu].load(Ordering::Acquire)
}

/// Send SGI `sgi` to the CPUs (by index) in `cpu_mask`. False (nothing sent) if some target's
/// interface is not up; `cpu_mask == 0` only reports whether the GIC is up on this CPU.
pub fn send_sgi(cpu_mask: u64, sgi: u8) -> bool {
    let gicd = GICD.load(Ordering::Acquire);
    if gicd == 0 || sgi > 15 || !ready(kernel::hal::hal().cpu_id()) {
        return false;
    }
    let mut targets = 0u32;
    for (c, iface) in IFACE.iter().enumerate() {
        if cpu_mask & (1 << c) != 0 {
            if !ready(c) {
                return false;
            }
            targets |= iface.load(Ordering::Relaxed) as u32;
        }
    }
    if cpu_mask >> MAX_CPUS != 0 {
        return false;
    }
    if targets == 0 {
        return true;
    }
    // Stores before the SGI (the cleared PTE) are visible to the targets before they can
    // take it (Linux: gic_ipi_send_mask's dmb ishst).
    // SAFETY: a barrier; no memory or register effects beyond ordering.
    unsafe { core::arch::asm!("dsb ishst", options(nostack, preserves_flags)) };
    // TargetListFilter 0 (use the list), CPU target list, SGI id.
    write32(gicd + GICD_SGIR, (targets << 16) | sgi as u32);
    true
}

/// What the IRQ vector found.
pub enum Irq {
    /// Handled (or spurious): return to the interrupted code.
    Handled,
    /// An interrupt nobody enabled: the caller reports it as fatal.
    Unexpected(u32),
}

/// The IRQ vector's handler: acknowledge, dispatch, end of interrupt.
pub fn handle_irq(cpu: usize) -> Irq {
    let gicc = GICC.load(Ordering::Relaxed);
    if gicc == 0 {
        return Irq::Unexpected(SPURIOUS);
    }
    let iar = read32(gicc + GICC_IAR);
    let id = iar & 0x3ff;
    if id == SPURIOUS {
        return Irq::Handled;
    }
    let handled = id == kernel::ipi::SGI_SHOOTDOWN as u32;
    if handled {
        kernel::ipi::ack(cpu);
    }
    write32(gicc + GICC_EOIR, iar);
    if handled {
        Irq::Handled
    } else {
        Irq::Unexpected(id)
    }
}
