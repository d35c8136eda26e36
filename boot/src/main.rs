//! gupbed image: board bring-up. Everything here is aarch64-only; on the host this crate is a
//! stub so that `cargo check --workspace` works.
#![cfg_attr(target_os = "none", no_std)]
#![cfg_attr(target_os = "none", no_main)]

#[cfg(not(target_os = "none"))]
fn main() {
    eprintln!("the gupbed image is built for aarch64: run `cargo xtask build`");
}
