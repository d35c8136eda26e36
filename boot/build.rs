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
    // Link base: QEMU virt loads the Image at RAM base + text_offset (0x4000_0000 + 0x20_0000);
    // the Raspberry Pi 4 firmware loads it at 0x8_0000 (`kernel_address=0x80000`).
    let base = if env::var_os("CARGO_FEATURE_BOARD_RPI4").is_some() {
        0x8_0000u64
    } else {
        0x4020_0000
    };
    println!("cargo:rustc-link-arg-bins=--defsym=__gupbed_base={base:#x}");
    println!("cargo:rustc-link-arg-bins=-T{}", script.display());
}
