//! gupbed image: board bring-up. Everything here is aarch64-only; on the host this crate is a
//! stub so that `cargo check --workspace` works.
//!
//! Boot CPU ([`boot_primary_main`]): DTB → identity map (built by `kernel::mm::pgtable`) → MMU
//! and caches on → hal, heap → bootargs → mm → secondaries via PSCI → `platform` record →
//! `kernel::run::dispatch::main`. Secondaries ([`boot_secondary_main`]): MMU on with the same tables →
//! online → wait for the boot CPU → `kernel::run::dispatch::main`.
#![cfg_attr(target_os = "none", no_std)]
#![cfg_attr(target_os = "none", no_main)]

#[cfg(not(target_os = "none"))]
fn main() {
    eprintln!("the gupbed image is built for aarch64: run `cargo xtask build`");
}

#[cfg(target_os = "none")]
extern crate alloc;

#[cfg(target_os = "none")]
mod cpu;
#[cfg(target_os = "none")]
mod dtb;
#[cfg(target_os = "none")]
mod entry;
#[cfg(target_os = "none")]
mod exceptions;
#[cfg(target_os = "none")]
mod exit;
#[cfg(target_os = "none")]
mod gic;
#[cfg(target_os = "none")]
mod hal_impl;
#[cfg(target_os = "none")]
mod heap;
#[cfg(target_os = "none")]
mod layout;
#[cfg(target_os = "none")]
mod mmu;
#[cfg(target_os = "none")]
mod psci;
#[cfg(target_os = "none")]
mod smp_boot;
#[cfg(target_os = "none")]
mod start;
#[cfg(target_os = "none")]
mod uart;

#[cfg(target_os = "none")]
#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    if cpu::mmu_on() && kernel::hal::installed() {
        kernel::rt::fault::panic(info);
    }
    // Before the MMU / hal: raw UART, plain exit.
    let mut sink = |b: &[u8]| uart::write_bytes(b);
    kernel::rt::fault::write_panic(cpu::index(), info, &mut sink);
    kernel::rt::fault::write_end(kernel::rt::exit::code::FAULT, &mut sink);
    exit::leave(kernel::rt::exit::code::FAULT)
}
