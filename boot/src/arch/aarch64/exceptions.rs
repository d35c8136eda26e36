//! Exception vectors: all 16 entries save the full register frame and call
//! [`gupbed_exception_handler`]. An IRQ at EL1h goes to the GIC handler ([`gic::handle_irq`]):
//! an SGI gupbed enabled is acknowledged and the vector returns (`eret` with the saved frame).
//! Everything else is fatal: the handler prints a fault report and a `fault` record and ends
//! the run with exit code 3.
//!
//! Special case: a semihosting call (`hlt #0xf000`) that traps because semihosting is not
//! available (QEMU without `-semihosting`, real hardware) is not a fault: [`crate::exit`]
//! halts the board instead.

use super::cpu;
use crate::driver::gicv2 as gic;
use crate::{console, exit};
use core::arch::global_asm;
use core::sync::atomic::{AtomicBool, Ordering};
use kernel::rt::fault::{self, FaultInfo};
use kernel::smp::MAX_CPUS;

/// The register frame the vectors push (layout shared with the assembly below).
#[repr(C)]
pub struct Frame {
    /// x0..x30.
    pub x: [u64; 31],
    /// SP before the exception.
    pub sp: u64,
    /// `ELR_EL1`.
    pub elr: u64,
    /// `SPSR_EL1`.
    pub spsr: u64,
    /// `ESR_EL1`.
    pub esr: u64,
    /// `FAR_EL1`.
    pub far: u64,
}

const _: () = assert!(core::mem::size_of::<Frame>() == 288);

global_asm!(
    r#"
.macro GUPBED_VENTRY idx
    .balign 0x80
    sub     sp, sp, #288
    stp     x0, x1, [sp, #0]
    mov     x0, #\idx
    b       gupbed_exc_common
.endm

.section .text.vectors, "ax"
.balign 0x800
.global gupbed_vectors
gupbed_vectors:
    GUPBED_VENTRY 0
    GUPBED_VENTRY 1
    GUPBED_VENTRY 2
    GUPBED_VENTRY 3
    GUPBED_VENTRY 4
    GUPBED_VENTRY 5
    GUPBED_VENTRY 6
    GUPBED_VENTRY 7
    GUPBED_VENTRY 8
    GUPBED_VENTRY 9
    GUPBED_VENTRY 10
    GUPBED_VENTRY 11
    GUPBED_VENTRY 12
    GUPBED_VENTRY 13
    GUPBED_VENTRY 14
    GUPBED_VENTRY 15

gupbed_exc_common:
    stp     x2, x3, [sp, #16]
    stp     x4, x5, [sp, #32]
    stp     x6, x7, [sp, #48]
    stp     x8, x9, [sp, #64]
    stp     x10, x11, [sp, #80]
    stp     x12, x13, [sp, #96]
    stp     x14, x15, [sp, #112]
    stp     x16, x17, [sp, #128]
    stp     x18, x19, [sp, #144]
    stp     x20, x21, [sp, #160]
    stp     x22, x23, [sp, #176]
    stp     x24, x25, [sp, #192]
    stp     x26, x27, [sp, #208]
    stp     x28, x29, [sp, #224]
    add     x1, sp, #288
    stp     x30, x1, [sp, #240]
    mrs     x2, elr_el1
    mrs     x3, spsr_el1
    stp     x2, x3, [sp, #256]
    mrs     x2, esr_el1
    mrs     x3, far_el1
    stp     x2, x3, [sp, #272]
    mov     x1, x0
    mov     x0, sp
    bl      gupbed_exception_handler
    ldp     x2, x3, [sp, #256]
    msr     elr_el1, x2
    msr     spsr_el1, x3
    ldp     x0, x1, [sp, #0]
    ldp     x2, x3, [sp, #16]
    ldp     x4, x5, [sp, #32]
    ldp     x6, x7, [sp, #48]
    ldp     x8, x9, [sp, #64]
    ldp     x10, x11, [sp, #80]
    ldp     x12, x13, [sp, #96]
    ldp     x14, x15, [sp, #112]
    ldp     x16, x17, [sp, #128]
    ldp     x18, x19, [sp, #144]
    ldp     x20, x21, [sp, #160]
    ldp     x22, x23, [sp, #176]
    ldp     x24, x25, [sp, #192]
    ldp     x26, x27, [sp, #208]
    ldp     x28, x29, [sp, #224]
    ldr     x30, [sp, #240]
    add     sp, sp, #288
    eret
"#
);

/// Names of the 16 vectors, by index (group of 4: current EL SP0, current EL SPx, lower EL
/// AArch64, lower EL AArch32; within each: synchronous, IRQ, FIQ, SError).
const VECTOR_NAMES: [&str; 16] = [
    "synchronous, current EL with SP0",
    "IRQ, current EL with SP0",
    "FIQ, current EL with SP0",
    "SError, current EL with SP0",
    "synchronous, current EL with SPx",
    "IRQ, current EL with SPx",
    "FIQ, current EL with SPx",
    "SError, current EL with SPx",
    "synchronous, lower EL AArch64",
    "IRQ, lower EL AArch64",
    "FIQ, lower EL AArch64",
    "SError, lower EL AArch64",
    "synchronous, lower EL AArch32",
    "IRQ, lower EL AArch32",
    "FIQ, lower EL AArch32",
    "SError, lower EL AArch32",
];

/// Index of "IRQ, current EL with SPx": the one interrupt vector gupbed takes (EL1h).
const VECTOR_IRQ_SPX: u64 = 5;

/// Per-CPU "already reporting a fault" flags: a fault inside the fault path must not recurse.
static IN_FAULT: [AtomicBool; MAX_CPUS] = [const { AtomicBool::new(false) }; MAX_CPUS];

#[no_mangle]
extern "C" fn gupbed_exception_handler(frame: &mut Frame, vector: u64) {
    let cpu = cpu::index();
    // The IRQ vector (before anything reads ESR, which is stale for an interrupt): the GIC's
    // SGIs return to the interrupted code; any other interrupt is reported below.
    let mut vector_name = VECTOR_NAMES[(vector & 15) as usize];
    if vector == VECTOR_IRQ_SPX {
        match gic::handle_irq(cpu) {
            gic::Irq::Handled => return,
            gic::Irq::Unexpected(id) => {
                // Raw UART: the interrupted code may hold the console lock.
                let mut line = kernel::console::LineBuf::new();
                let _ = core::fmt::Write::write_fmt(
                    &mut line,
                    format_args!("\n*** gupbed: cpu {cpu}: unexpected interrupt id {id}\n"),
                );
                console::write_bytes(line.as_bytes());
                vector_name = "IRQ, current EL with SPx (unexpected interrupt id)";
            }
        }
    } else {
        exit::on_exception(frame.elr, frame.esr);
    }
    let info = FaultInfo {
        cpu,
        vector: vector_name,
        esr: frame.esr,
        elr: frame.elr,
        far: frame.far,
        spsr: frame.spsr,
        sp: frame.sp,
        lr: frame.x[30],
    };
    // Plain load + store, not swap: exclusives are not usable before the MMU is on, and only
    // this CPU writes its own flag.
    let slot = &IN_FAULT[cpu % MAX_CPUS];
    if slot.load(Ordering::Relaxed) {
        console::write_bytes(b"\n*** gupbed: fault inside the fault path; leaving\n");
        let mut sink = |b: &[u8]| console::write_bytes(b);
        fault::write_report(&info, &mut sink);
        exit::leave(kernel::rt::exit::code::FAULT);
    }
    slot.store(true, Ordering::Relaxed);
    if cpu::mmu_on() && kernel::hal::installed() {
        fault::fatal(&info);
    }
    // Before the MMU / hal: raw UART, no records of the run machinery.
    let mut sink = |b: &[u8]| console::write_bytes(b);
    fault::write_report(&info, &mut sink);
    fault::write_end(kernel::rt::exit::code::FAULT, &mut sink);
    exit::leave(kernel::rt::exit::code::FAULT)
}
