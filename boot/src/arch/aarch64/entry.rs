//! Entry points: the arm64 `Image` header, `_start` (boot CPU, x0 = DTB / ATAGs / 0),
//! `_secondary_entry` (PSCI `CPU_ON`, x0 = context id = CPU index) and `_spin_table_entry`
//! (spin-table release: the firmware branches here with x0 = 0; the CPU index is
//! [`GUPBED_SPIN_INDEX`], which the boot CPU set and cleaned to the point of coherency).
//!
//! Every path: leave EL2 for EL1 if entered at EL2 (QEMU `virtualization=on`, QEMU raspi4b,
//! the Raspberry Pi firmware), put `SCTLR_EL1` in a known state (MMU and caches off), enable
//! FP/SIMD access (`CPACR_EL1.FPEN`; the softfloat target does not use it, but a stray FP
//! instruction then cannot trap), set `TPIDR_EL1` = CPU index and `VBAR_EL1`.
//!
//! The boot CPU zeroes `.bss`, takes its stack and enters Rust with the MMU off
//! (`boot_primary_main`), which builds the tables and turns the MMU on through
//! [`gupbed_mmu_on`]. A secondary turns its MMU on here, in assembly, *before* it touches
//! memory through a stack: with the MMU off its stores bypass the caches, while the boot CPU,
//! caches on, may hold stale (speculatively fetched) lines of the same stack; Linux's
//! `secondary_startup` avoids the stack for the same reason. Nothing here uses exclusives.
//!
//! The header's `text_offset` is `__text_offset` (boot/build.rs: link base minus the board's
//! RAM base), so QEMU loads the raw image where it is linked on both boards (QEMU honours
//! `text_offset`: raspi4b loads at RAM base 0 + 0x80000, virt at 0x4000_0000 + 0x20_0000).

use core::arch::global_asm;
use core::sync::atomic::AtomicU64;

extern "C" {
    /// Where PSCI `CPU_ON` starts secondary CPUs (context id = CPU index in x0).
    pub fn _secondary_entry();
    /// Where a spin-table release sends a secondary CPU (index in [`GUPBED_SPIN_INDEX`]).
    pub fn _spin_table_entry();
    /// Program `MAIR_EL1`, `TCR_EL1`, `TTBR0_EL1` from `regs`, invalidate this CPU's TLB, then
    /// set `SCTLR_EL1` (MMU and caches on) and discard instructions fetched with the MMU off.
    /// Uses no stack; clobbers x1-x4.
    pub fn gupbed_mmu_on(regs: *const AtomicU64);
}

/// CPU index for the next spin-table release (read with the MMU off by the released CPU).
#[no_mangle]
pub static GUPBED_SPIN_INDEX: AtomicU64 = AtomicU64::new(0);

/// `[MAIR_EL1, TCR_EL1, TTBR0_EL1, SCTLR_EL1]` every secondary installs (published by the boot
/// CPU and cleaned to the point of coherency before any secondary starts).
#[no_mangle]
pub static GUPBED_MMU_REGS: [AtomicU64; 4] = [const { AtomicU64::new(0) }; 4];

global_asm!(
    r#"
.section .text.boot, "ax"
.global _start
_start:
    // arm64 Linux Image header (Documentation/arch/arm64/booting.rst): 64 bytes.
    b       1f                      // code0: branch over the header
    .long   0                       // code1
    .quad   __text_offset           // text_offset: load at RAM base + this
    .quad   __image_size            // image_size: including bss, stacks and heap
    .quad   0x2                     // flags: little-endian, 4K pages, 2 MiB-aligned base
    .quad   0                       // res2
    .quad   0                       // res3
    .quad   0                       // res4
    .ascii  "ARM\x64"               // magic
    .long   0                       // res5 (no PE/COFF header)
1:
    mov     x19, x0                 // x19 = DTB / ATAG physical address (0 if none)
    // Only the CPU with MPIDR affinity 0.0.0.0 boots; anything else entering here (e.g. a
    // loader that starts every CPU at once) parks.
    mrs     x1, mpidr_el1
    movz    x2, #0xffff
    movk    x2, #0x00ff, lsl #16
    movk    x2, #0x00ff, lsl #32
    and     x1, x1, x2
    cbnz    x1, gupbed_park
    mov     x20, #0                 // CPU index 0
    mrs     x21, CurrentEL          // x21 = entry exception level (for the banner)
    lsr     x21, x21, #2
    bl      gupbed_to_el1
    bl      gupbed_cpu_setup
    // Zero .bss (16-byte aligned at both ends, see linker.ld). MMU off: plain stores only.
    adrp    x1, __bss_start
    add     x1, x1, :lo12:__bss_start
    adrp    x2, __bss_end
    add     x2, x2, :lo12:__bss_end
2:  cmp     x1, x2
    b.hs    3f
    stp     xzr, xzr, [x1], #16
    b       2b
3:  bl      gupbed_set_stack
    mov     x0, x19
    mov     x1, x21
    bl      boot_primary_main
    b       gupbed_park

.global _secondary_entry
_secondary_entry:
    mov     x20, x0                 // CPU index (PSCI context id)
    b       gupbed_secondary

.global _spin_table_entry
_spin_table_entry:
    adrp    x1, GUPBED_SPIN_INDEX   // MMU off: a plain load from memory (cleaned to PoC)
    ldr     x20, [x1, :lo12:GUPBED_SPIN_INDEX]

// x20 = CPU index.
gupbed_secondary:
    mrs     x21, CurrentEL
    lsr     x21, x21, #2
    bl      gupbed_to_el1
    bl      gupbed_cpu_setup
    adrp    x0, GUPBED_MMU_REGS
    add     x0, x0, :lo12:GUPBED_MMU_REGS
    bl      gupbed_mmu_on
    bl      gupbed_set_stack
    mov     x0, x20
    mov     x1, x21
    bl      boot_secondary_main
    b       gupbed_park

// EL1 state of a CPU with index x20, MMU off: SCTLR_EL1, CPACR_EL1, TPIDR_EL1, VBAR_EL1, SPSel.
// Clobbers x1.
gupbed_cpu_setup:
    msr     spsel, #1
    // SCTLR_EL1: RES1 bits only (29, 28, 23, 22, 20, 11): MMU, caches and alignment checks
    // off, little-endian. gupbed_mmu_on sets M/C/I/SA later.
    movz    x1, #0x0800
    movk    x1, #0x30d0, lsl #16
    msr     sctlr_el1, x1
    // CPACR_EL1.FPEN = 0b11: FP/SIMD never traps at EL1/EL0.
    mov     x1, #(3 << 20)
    msr     cpacr_el1, x1
    msr     tpidr_el1, x20
    adrp    x1, gupbed_vectors
    add     x1, x1, :lo12:gupbed_vectors
    msr     vbar_el1, x1
    isb
    ret

// SP = __stacks_start + (x20 + 1) * __stack_size. Clobbers x1-x3.
gupbed_set_stack:
    adrp    x1, __stacks_start
    add     x1, x1, :lo12:__stacks_start
    ldr     x2, =__stack_size
    add     x3, x20, #1
    madd    x1, x3, x2, x1
    mov     sp, x1
    ret

// x0 = &[MAIR, TCR, TTBR0, SCTLR]. No stack. Clobbers x1-x4.
.global gupbed_mmu_on
gupbed_mmu_on:
    ldp     x1, x2, [x0]
    ldp     x3, x4, [x0, #16]
    msr     mair_el1, x1
    msr     tcr_el1, x2
    msr     ttbr0_el1, x3
    isb
    tlbi    vmalle1                 // nothing of this CPU's may survive from before
    dsb     nsh
    isb
    msr     sctlr_el1, x4
    isb
    ic      iallu                   // drop instructions fetched with the MMU off
    dsb     nsh
    isb
    ret

// If at EL2: configure EL2 so that EL1 runs AArch64 untrapped, then eret to the caller at
// EL1h with DAIF masked. At EL1: return. At EL3: unsupported, park.
// Clobbers x0-x1.
gupbed_to_el1:
    mrs     x0, CurrentEL
    lsr     x0, x0, #2
    cmp     x0, #1
    b.eq    9f
    cmp     x0, #2
    b.ne    gupbed_park
    mov     x0, #(1 << 31)          // HCR_EL2.RW: EL1 is AArch64; no traps, no stage 2
    msr     hcr_el2, x0
    mrs     x0, cnthctl_el2
    orr     x0, x0, #3              // EL1PCTEN | EL1PCEN: EL1 may use the physical timer
    msr     cnthctl_el2, x0
    msr     cntvoff_el2, xzr        // virtual count == physical count
    mov     x0, #0x33ff             // CPTR_EL2: RES1 bits; TFP = 0 (FP/SIMD not trapped)
    msr     cptr_el2, x0
    msr     hstr_el2, xzr
    mrs     x0, midr_el1            // what EL1 reads as MIDR/MPIDR (reset values UNKNOWN)
    msr     vpidr_el2, x0
    mrs     x0, mpidr_el1
    msr     vmpidr_el2, x0
    movz    x0, #0x0800             // SCTLR_EL1: RES1 only (MMU/caches off)
    movk    x0, #0x30d0, lsl #16
    msr     sctlr_el1, x0
    mov     x0, #0x3c5              // SPSR_EL2: EL1h, D A I F masked
    msr     spsr_el2, x0
    msr     elr_el2, x30            // "return" to the caller, at EL1
    isb
    eret
9:  ret

.global gupbed_park
gupbed_park:
    wfe
    b       gupbed_park
.ltorg
"#
);
