//! Entry points: the arm64 `Image` header, `_start` (boot CPU, x0 = DTB) and
//! `_secondary_entry` (PSCI `CPU_ON`, x0 = context id = CPU index).
//!
//! Both paths: leave EL2 for EL1 if entered at EL2 (QEMU `virtualization=on`, Raspberry Pi
//! firmware), put `SCTLR_EL1` in a known state (MMU and caches off), enable FP/SIMD access
//! (`CPACR_EL1.FPEN`; the softfloat target does not use it, but a stray FP instruction then
//! cannot trap), pick the per-CPU stack, set `TPIDR_EL1` = CPU index and `VBAR_EL1`, and call
//! Rust. The boot CPU also zeroes `.bss` first. Nothing here uses exclusives or the stack
//! before it is set.

use core::arch::global_asm;

extern "C" {
    /// Where PSCI `CPU_ON` starts secondary CPUs (context id = CPU index in x0).
    pub fn _secondary_entry();
}

global_asm!(
    r#"
.section .text.boot, "ax"
.global _start
_start:
    // arm64 Linux Image header (Documentation/arch/arm64/booting.rst): 64 bytes.
    b       1f                      // code0: branch over the header
    .long   0                       // code1
    .quad   0x200000                // text_offset: load at RAM base + 2 MiB
    .quad   __image_size            // image_size: including bss, stacks and heap
    .quad   0x2                     // flags: little-endian, 4K pages, 2 MiB-aligned base
    .quad   0                       // res2
    .quad   0                       // res3
    .quad   0                       // res4
    .ascii  "ARM\x64"               // magic
    .long   0                       // res5 (no PE/COFF header)
1:
    mov     x19, x0                 // x19 = DTB physical address (0 if none)
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
    // Zero .bss (16-byte aligned at both ends, see linker.ld). MMU off: plain stores only.
    adrp    x1, __bss_start
    add     x1, x1, :lo12:__bss_start
    adrp    x2, __bss_end
    add     x2, x2, :lo12:__bss_end
2:  cmp     x1, x2
    b.hs    3f
    stp     xzr, xzr, [x1], #16
    b       2b
3:  b       gupbed_common

.global _secondary_entry
_secondary_entry:
    mov     x20, x0                 // CPU index (PSCI context id)
    mov     x19, x0
    mrs     x21, CurrentEL
    lsr     x21, x21, #2
    bl      gupbed_to_el1
    b       gupbed_common

// Common tail: x19 = first argument for Rust, x20 = CPU index, x21 = entry EL (second
// argument).
gupbed_common:
    msr     spsel, #1
    // SCTLR_EL1: RES1 bits only (29, 28, 23, 22, 20, 11): MMU, caches and alignment checks
    // off, little-endian. mmu.rs sets M/C/I/SA later.
    movz    x1, #0x0800
    movk    x1, #0x30d0, lsl #16
    msr     sctlr_el1, x1
    // CPACR_EL1.FPEN = 0b11: FP/SIMD never traps at EL1/EL0.
    mov     x1, #(3 << 20)
    msr     cpacr_el1, x1
    msr     tpidr_el1, x20
    // SP = __stacks_start + (index + 1) * __stack_size
    adrp    x1, __stacks_start
    add     x1, x1, :lo12:__stacks_start
    ldr     x2, =__stack_size
    add     x3, x20, #1
    madd    x1, x3, x2, x1
    mov     sp, x1
    adrp    x1, gupbed_vectors
    add     x1, x1, :lo12:gupbed_vectors
    msr     vbar_el1, x1
    isb
    mov     x0, x19
    mov     x1, x21
    cbnz    x20, 4f
    bl      boot_primary_main
    b       gupbed_park
4:  bl      boot_secondary_main
    b       gupbed_park

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
