//! `cargo xtask loom`: the kernel's loom models (kernel/tests/loom_models.rs, MM engineer).

use crate::util;
use anyhow::{Context, Result};
use std::process::Command;

/// Where the models live, relative to the workspace root.
pub const MODELS: &str = "kernel/tests/loom_models.rs";

pub fn models_present() -> bool {
    util::workspace_root().join(MODELS).is_file()
}

/// The loom test command: `--cfg loom` rebuilds everything, so it gets its own target dir.
pub fn cmd() -> Command {
    let mut c = util::cargo();
    c.args(["test", "-p", "kernel", "--release", "--test", "loom_models"])
        .env("RUSTFLAGS", "--cfg loom")
        .env(
            "CARGO_TARGET_DIR",
            util::workspace_root().join("target/loom"),
        );
    c
}

pub fn command() -> Result<i32> {
    if !models_present() {
        eprintln!("error: {MODELS} does not exist yet: there are no loom models to run");
        return Ok(1);
    }
    let mut c = cmd();
    util::echo(&c);
    let st = c.status().context("running cargo test (loom)")?;
    Ok(st.code().unwrap_or(1))
}
