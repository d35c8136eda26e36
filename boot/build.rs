//! Link the image with `/linker.ld`, but only for the bare-metal target: host builds of this
//! crate (a stub) use the normal host linker.

use std::env;
use std::path::PathBuf;

fn main() {
    let os = env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let script = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap()).join("../linker.ld");
    println!("cargo:rerun-if-changed={}", script.display());
    println!("cargo:rerun-if-changed=build.rs");
    if os != "none" {
        return;
    }
    // Link facts per board (the code's board choice is boot/src/bsp/mod.rs; this is the
    // linker's): (RAM base, link base). The arm64 Image header's text_offset is their
    // difference, which QEMU honours when it loads a raw image.
    // - QEMU virt: RAM from 0x4000_0000; 2 MiB above it leaves room for the DTB QEMU puts at
    //   the start of RAM.
    // - Raspberry Pi 4: RAM from 0; the firmware loads kernel8.img at 0x8_0000
    //   (`kernel_address=0x80000`), QEMU raspi4b at RAM base + text_offset.
    let (ram_base, base) = if env::var_os("CARGO_FEATURE_BOARD_RPI4").is_some() {
        (0u64, 0x8_0000u64)
    } else {
        (0x4000_0000, 0x4020_0000)
    };
    println!("cargo:rustc-link-arg-bins=--defsym=__gupbed_base={base:#x}");
    println!(
        "cargo:rustc-link-arg-bins=--defsym=__text_offset={:#x}",
        base - ram_base
    );
    println!("cargo:rustc-link-arg-bins=-T{}", script.display());
}
