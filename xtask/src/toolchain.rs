//! The Rust side of "no other set-up step": the bare-metal target and the components that
//! `rust-toolchain.toml` lists. rustup installs them on first use only when the pinned toolchain
//! itself is missing; a machine that already has the toolchain without the target (or one with
//! `RUSTUP_AUTO_INSTALL=0`) gets "can't find crate for `core`". So xtask checks the sysroot and,
//! when rustup is present, adds what is missing, says so, and goes on.

use crate::util;
use anyhow::{bail, Context, Result};
use std::path::PathBuf;
use std::process::Command;

/// A `rustc` run in the workspace (so `rust-toolchain.toml` picks the toolchain).
fn rustc() -> Command {
    let mut c = Command::new(std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into()));
    c.current_dir(util::workspace_root());
    c
}

/// The active toolchain's sysroot.
fn sysroot() -> Result<PathBuf> {
    let out = rustc()
        .args(["--print", "sysroot"])
        .output()
        .context("running `rustc --print sysroot`")?;
    if !out.status.success() {
        bail!(
            "`rustc --print sysroot` failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()))
}

/// Whether the standard library for `target` is installed in the active toolchain.
pub fn has_target(target: &str) -> Result<bool> {
    Ok(sysroot()?
        .join("lib/rustlib")
        .join(target)
        .join("lib")
        .is_dir())
}

/// The active toolchain's name as rustup sees it (from `rust-toolchain.toml`).
fn active_toolchain() -> Option<String> {
    let out = Command::new("rustup")
        .current_dir(util::workspace_root())
        .args(["show", "active-toolchain"])
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let s = String::from_utf8_lossy(&out.stdout);
    s.split_whitespace().next().map(str::to_string)
}

/// Run `rustup <args> --toolchain <active>`, echoing it.
fn rustup(args: &[&str]) -> Result<()> {
    if util::which("rustup").is_none() {
        bail!(
            "rustup is not on PATH; install the missing piece with your toolchain manager \
             (for rustup: `rustup {}`)",
            args.join(" ")
        );
    }
    let mut c = Command::new("rustup");
    c.current_dir(util::workspace_root()).args(args);
    if let Some(tc) = active_toolchain() {
        c.args(["--toolchain", &tc]);
    }
    util::echo(&c);
    let st = c.status().context("running rustup")?;
    if !st.success() {
        bail!("`{}` failed ({st})", util::show(&c));
    }
    Ok(())
}

/// Make sure the image's target is installed; add it with rustup if not.
pub fn ensure_target(target: &str) -> Result<()> {
    if has_target(target)? {
        return Ok(());
    }
    eprintln!("xtask: the Rust target {target} is not installed; adding it");
    rustup(&["target", "add", target])?;
    if !has_target(target)? {
        bail!("rustup reported success but {target} is still missing from the sysroot");
    }
    Ok(())
}

/// Make sure a cargo subcommand component (`clippy`, `rustfmt`) answers; add it if not.
pub fn ensure_component(component: &str, probe: &[&str]) -> Result<()> {
    let ok = util::cargo()
        .args(probe)
        .arg("--version")
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if ok {
        return Ok(());
    }
    eprintln!("xtask: the Rust component {component} is not installed; adding it");
    rustup(&["component", "add", component])
}
