//! `cargo xtask setup`: install what the host side needs (QEMU >= 9, the plot font) and prove
//! the install by booting the self-test once, so a broken QEMU is reported here, by name, and
//! not later as a run without records.

use crate::board::Board;
use crate::cli::SetupArgs;
use crate::image::{self, BuildOpts};
use crate::qemu::{discover, install, run};
use crate::report::{self, Collector, Source};
use anyhow::{bail, Context, Result};
use std::path::PathBuf;
use std::time::Duration;

/// vCPUs of the proof boot: two, so secondary bring-up (PSCI, GIC) is part of the proof.
pub const PROOF_CPUS: u32 = 2;

/// `cargo xtask setup`.
pub fn command(a: &SetupArgs) -> Result<i32> {
    let q = install::ensure(a.check_only)?;
    println!(
        "setup: {} {} at {}: ok",
        discover::QEMU,
        q.version,
        q.path.display()
    );
    match install::ensure_font(a.check_only) {
        Ok(p) => println!("setup: plot font {}: ok", p.display()),
        // Only plots need it: say so, and go on.
        Err(e) => println!("setup: warning: plots cannot be drawn: {e:#}"),
    }
    if a.no_boot {
        println!("setup: self-test boot skipped (--no-boot)");
        return Ok(0);
    }
    let image = match &a.image {
        Some(p) => {
            if !p.is_file() {
                bail!("--image {}: no such file", p.display());
            }
            p.clone()
        }
        None => {
            image::build(BuildOpts {
                board: Board::Virt,
                release: true,
                deny_warnings: false,
            })?
            .raw
        }
    };
    prove(&q, image, a.timeout)
}

/// Boot `run=selftest` at `-smp 2` with `q` and check that every CPU came up and the self-test
/// passed. Exit 0, or 1 with QEMU's own words when QEMU failed.
fn prove(q: &discover::Qemu, image: PathBuf, timeout_s: u64) -> Result<i32> {
    let bootargs = run::compose_bootargs(
        &[
            ("run", "selftest".into()),
            ("seed", "1".into()),
            (
                "deadline_ms",
                run::kernel_deadline_ms(timeout_s).to_string(),
            ),
        ],
        &[],
    );
    let spec = run::RunSpec {
        qemu: q,
        machine: run::Machine {
            memory_mib: 512,
            ..run::Machine::new(Board::Virt, PROOF_CPUS, "cortex-a72")
        },
        image,
        bootargs,
        timeout: Duration::from_secs(timeout_s),
        show: false,
        verbose: false,
    };
    eprintln!(
        "xtask: proving the install: $ {} {}",
        q.path.display(),
        run::qemu_args(&spec.machine, &spec.image, &spec.bootargs)
            .iter()
            .map(|a| if a.contains(' ') {
                format!("'{a}'")
            } else {
                a.clone()
            })
            .collect::<Vec<_>>()
            .join(" ")
    );
    let out = run::run(&spec).context("starting QEMU for the self-test")?;
    if let Some(m) = run::qemu_failure(&out) {
        println!("setup: FAILED: the self-test did not boot:\n  {m}");
        return Ok(1);
    }
    let v = report::verdict(
        &out.collector,
        Source::Qemu {
            exit: out.exit,
            timed_out: out.timed_out,
        },
        false,
    );
    let checked = if v.exit_code == 0 {
        proof_check(&out.collector, PROOF_CPUS.into())
    } else {
        Err(format!(
            "exit code {}: {}",
            v.exit_code,
            v.problems
                .iter()
                .map(|p| p.message.as_str())
                .collect::<Vec<_>>()
                .join("; ")
        ))
    };
    match checked {
        Ok(()) => {
            println!(
                "setup: self-test booted at -smp {PROOF_CPUS} in {:.1} s: ok",
                out.duration.as_secs_f64()
            );
            Ok(0)
        }
        Err(e) => {
            println!("setup: FAILED: the self-test boot: {e}");
            let tail = out.lines.len().saturating_sub(20);
            for l in &out.lines[tail..] {
                println!("  | {l}");
            }
            for l in &out.stderr {
                println!("  qemu: {l}");
            }
            Ok(1)
        }
    }
}

/// Every CPU online and the self-test's result passed.
pub fn proof_check(c: &Collector, cpus: u64) -> Result<(), String> {
    let online = c.platform.as_ref().and_then(|p| p.cpus_online);
    if online != Some(cpus) {
        return Err(format!("cpus_online {online:?}, want {cpus}"));
    }
    let passed = c
        .results
        .iter()
        .any(|r| r.run == "selftest" && r.passed == Some(true));
    if !passed {
        return Err("no passed selftest result record".into());
    }
    Ok(())
}
