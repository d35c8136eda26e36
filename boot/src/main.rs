//! gupbed image: board bring-up. On the host this crate is a stub (so that `cargo check
//! --workspace` works), plus the unit tests of its pure parts.
//!
//! Layout (the rust-raspberrypi-OS-tutorials' arch / driver / bsp split):
//! - [`arch`]: AArch64 — entry and the arm64 Image header, EL2→EL1, vectors, the MMU switch,
//!   cache maintenance, semihosting.
//! - [`driver`]: one small type per device or firmware interface — PL011, GICv2/GIC-400,
//!   PSCI, spin table, BCM2711 PM watchdog and GPIO.
//! - [`firmware`]: what the loader describes (DTB, ATAGs) as one `Platform`; pure.
//! - [`bsp`]: one module per board (QEMU virt, Raspberry Pi 4) and the single point that
//!   picks it.
//! - the rest is board-independent: [`start`] (boot CPU: describe → identity map → MMU on →
//!   hal, heap → bootargs → mm → secondaries → `platform` record → `kernel::run::dispatch::main`),
//!   [`smp_boot`] (secondaries by `enable-method`), [`exit`] (how the machine is left),
//!   [`console`], [`hal_impl`], [`heap`], [`layout`].
#![cfg_attr(target_os = "none", no_std)]
#![cfg_attr(target_os = "none", no_main)]

#[cfg(not(target_os = "none"))]
fn main() {
    eprintln!("the gupbed image is built for aarch64: run `cargo xtask build`");
}

#[cfg(target_os = "none")]
extern crate alloc;

// Pure: what the loader says about the machine (also unit-tested on the host). Each board
// uses part of it (virt no ATAGs), and the host build only its tests: unused parts are fine.
#[cfg(any(target_os = "none", test))]
#[allow(dead_code)]
mod firmware;

#[cfg(target_os = "none")]
mod arch;
#[cfg(target_os = "none")]
mod bsp;
#[cfg(target_os = "none")]
mod console;
// A library of drivers; each board instantiates the ones it has.
#[cfg(target_os = "none")]
#[allow(dead_code)]
mod driver;
#[cfg(target_os = "none")]
mod exit;
#[cfg(target_os = "none")]
mod hal_impl;
#[cfg(target_os = "none")]
mod heap;
#[cfg(target_os = "none")]
mod layout;
#[cfg(target_os = "none")]
mod smp_boot;
#[cfg(target_os = "none")]
mod start;

#[cfg(target_os = "none")]
#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    if arch::cpu::mmu_on() && kernel::hal::installed() {
        kernel::rt::fault::panic(info);
    }
    // Before the MMU / hal: raw UART, plain exit.
    let mut sink = |b: &[u8]| console::write_bytes(b);
    kernel::rt::fault::write_panic(arch::cpu::index(), info, &mut sink);
    kernel::rt::fault::write_end(kernel::rt::exit::code::FAULT, &mut sink);
    exit::leave(kernel::rt::exit::code::FAULT)
}
