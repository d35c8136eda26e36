//! `cargo xtask fuzz`: build the libFuzzer targets in `fuzz/` on the pinned stable toolchain
//! and run each for a bounded time.
//!
//! The targets are the parsers that read input from outside: the kernel's bootargs parser and
//! xtask's record parser with everything `cargo xtask report` does with it. Coverage comes
//! from LLVM's sanitizer-coverage passes, which stable rustc enables with `-C` flags (the ones
//! cargo-fuzz sets); no sanitizer runs (those need nightly), so what is found is what safe
//! Rust can do wrong: panics, overflow (overflow checks are on), failed assertions, hangs.
//! Seeds are in `fuzz/seeds/<target>/`; the corpus grows in `target/fuzz/corpus/<target>/`;
//! a crashing input lands in `target/fuzz/artifacts/<target>/` and fails the run.

use crate::util;
use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

/// The fuzz targets (binaries of `fuzz/Cargo.toml`) and their input size limit.
pub const TARGETS: &[(&str, usize)] = &[("bootargs", 2048), ("records", 4096)];

/// rustc flags of a coverage-instrumented build (cargo-fuzz's, minus the sanitizer).
const COVERAGE_FLAGS: &[&str] = &[
    "--cfg",
    "fuzzing",
    "-Cpasses=sancov-module",
    "-Cllvm-args=-sanitizer-coverage-level=4",
    "-Cllvm-args=-sanitizer-coverage-inline-8bit-counters",
    "-Cllvm-args=-sanitizer-coverage-pc-table",
    "-Cllvm-args=-sanitizer-coverage-trace-compares",
    "-Cdebug-assertions",
    "-Coverflow-checks",
];

fn fuzz_dir() -> PathBuf {
    util::workspace_root().join("fuzz")
}

fn out_dir() -> PathBuf {
    crate::image::target_dir().join("fuzz")
}

/// The host's target triple (`rustc -vV`): naming it keeps the coverage flags off build
/// scripts and proc macros, which run on the host without libFuzzer.
fn host_triple() -> Result<String> {
    let out = Command::new(std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into()))
        .current_dir(util::workspace_root())
        .arg("-vV")
        .output()
        .context("running rustc -vV")?;
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("host: ").map(str::to_string))
        .context("no host triple in `rustc -vV`")
}

/// Build every target; returns the directory holding the binaries.
pub fn build() -> Result<PathBuf> {
    let triple = host_triple()?;
    let mut cmd = util::cargo();
    cmd.current_dir(fuzz_dir())
        .args(["build", "--release", "--bins", "--target", &triple])
        .arg("--target-dir")
        .arg(out_dir())
        .env("RUSTFLAGS", COVERAGE_FLAGS.join(" "))
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("CARGO_BUILD_RUSTFLAGS");
    util::echo(&cmd);
    let t = Instant::now();
    let st = cmd.status().context("running cargo build for fuzz/")?;
    if !st.success() {
        bail!("building the fuzz targets failed ({st}); libFuzzer needs a C++ compiler (g++)");
    }
    eprintln!(
        "xtask: fuzz targets built in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    Ok(out_dir().join(triple).join("release"))
}

/// A libFuzzer dictionary for `target`: the bootargs keys and values from the kernel's own
/// table, the record prefix, kinds and keys for the record parser.
pub fn dictionary(target: &str) -> String {
    let mut words: Vec<String> = Vec::new();
    match target {
        "bootargs" => {
            for k in kernel::bootargs::KEYS {
                words.push(format!("{}=", k.name));
            }
            for run in crate::cli::KNOWN_RUNS {
                words.push(run.to_string());
            }
            for v in [
                "fault",
                "panic",
                "irqoff",
                "spinlock",
                "linux",
                "w7",
                "tso",
                "weak",
                "unknown",
                "semihosting",
                "psci",
                "0x",
                "V0,V1",
                ",",
                "=",
                " ",
            ] {
                words.push(v.to_string());
            }
        }
        _ => {
            for w in [
                crate::records::PREFIX,
                "{\"rec\":\"",
                "\",\"v\":1",
                "\"v\":1",
                "result",
                "end",
                "platform",
                "progress",
                "fault",
                "error",
                "audit",
                "cpu",
                "litmus",
                "calibration",
                "memmodel",
                "ipi",
                "bench",
                "\"verdict\":",
                "\"expected\":",
                "\"violations\":{",
                "\"attempts\":",
                "\"first_violation_ns\":",
                "\"exit_code\":",
                "\"passed\":true",
                "\"done\":",
                "\"total\":",
                "18446744073709551615",
                "-1",
                "1e308",
                "null",
                "\r",
                "\n",
            ] {
                words.push(w.to_string());
            }
        }
    }
    words
        .iter()
        .map(|w| format!("\"{}\"\n", escape(w)))
        .collect()
}

/// Escape for a libFuzzer dictionary entry (`\\`, `\"` and `\xNN`).
fn escape(w: &str) -> String {
    let mut s = String::new();
    for b in w.bytes() {
        match b {
            b'\\' => s.push_str("\\\\"),
            b'"' => s.push_str("\\\""),
            0x20..=0x7e => s.push(b as char),
            _ => s.push_str(&format!("\\x{b:02X}")),
        }
    }
    s
}

/// What one target's run did.
pub struct Outcome {
    pub target: &'static str,
    pub passed: bool,
    pub execs: Option<u64>,
    pub secs: f64,
    /// The tail of libFuzzer's output when it failed.
    pub detail: String,
}

/// Run `target` (binary in `bin_dir`) for `secs` seconds.
pub fn run(bin_dir: &Path, target: &'static str, max_len: usize, secs: u64) -> Result<Outcome> {
    let corpus = out_dir().join("corpus").join(target);
    let artifacts = out_dir().join("artifacts").join(target);
    let dict = out_dir().join(format!("{target}.dict"));
    std::fs::create_dir_all(&corpus)?;
    std::fs::create_dir_all(&artifacts)?;
    std::fs::write(&dict, dictionary(target))?;
    let seeds = fuzz_dir().join("seeds").join(target);
    let mut cmd = Command::new(bin_dir.join(target));
    cmd.arg(&corpus)
        .arg(&seeds)
        .arg(format!("-max_total_time={secs}"))
        .arg(format!("-max_len={max_len}"))
        .arg("-timeout=10")
        .arg("-rss_limit_mb=2048")
        .arg("-print_final_stats=1")
        .arg(format!("-dict={}", dict.display()))
        .arg(format!("-artifact_prefix={}/", artifacts.display()))
        .stdin(std::process::Stdio::null());
    util::echo(&cmd);
    let t = Instant::now();
    let out = cmd
        .output()
        .with_context(|| format!("running the {target} fuzz target"))?;
    let text =
        String::from_utf8_lossy(&out.stderr).into_owned() + &String::from_utf8_lossy(&out.stdout);
    let execs = text
        .lines()
        .find_map(|l| l.strip_prefix("stat::number_of_executed_units:"))
        .and_then(|v| v.trim().parse().ok());
    let tail: Vec<&str> = text.lines().rev().take(40).collect();
    Ok(Outcome {
        target,
        passed: out.status.success(),
        execs,
        secs: t.elapsed().as_secs_f64(),
        detail: tail.into_iter().rev().collect::<Vec<_>>().join("\n"),
    })
}

/// `cargo xtask fuzz`.
pub fn command(a: &crate::cli::FuzzArgs) -> Result<i32> {
    let chosen: Vec<(&'static str, usize)> = TARGETS
        .iter()
        .copied()
        .filter(|(t, _)| a.target.as_deref().is_none_or(|w| w == *t))
        .collect();
    if chosen.is_empty() {
        eprintln!(
            "error: --target {}: known targets: {}",
            a.target.as_deref().unwrap_or(""),
            TARGETS.iter().map(|t| t.0).collect::<Vec<_>>().join(", ")
        );
        return Ok(2);
    }
    let bins = build()?;
    let mut failed = 0;
    for (t, max_len) in chosen {
        let o = run(&bins, t, max_len, a.secs)?;
        report(&o);
        failed += usize::from(!o.passed);
    }
    Ok(if failed == 0 { 0 } else { 1 })
}

/// One line per target (and libFuzzer's last lines when it found something).
pub fn report(o: &Outcome) {
    match (o.passed, o.execs) {
        (true, Some(n)) => println!("fuzz {}: {n} inputs in {:.0} s, no crash", o.target, o.secs),
        (true, None) => println!("fuzz {}: ran {:.0} s, no crash", o.target, o.secs),
        (false, _) => println!(
            "fuzz {}: FAILED after {:.0} s (input saved under target/fuzz/artifacts/{}/):\n{}",
            o.target, o.secs, o.target, o.detail
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dictionaries_hold_every_key_and_escape() {
        let d = dictionary("bootargs");
        for k in kernel::bootargs::KEYS {
            assert!(d.contains(&format!("\"{}=\"", k.name)), "{}", k.name);
        }
        let r = dictionary("records");
        assert!(r.contains("\"@gupbed \""));
        assert!(r.contains("\"{\\\"rec\\\":\\\"\""), "{r}");
        assert!(r.contains("\"\\x0D\""));
        for line in d.lines().chain(r.lines()) {
            assert!(line.starts_with('"') && line.ends_with('"'), "{line}");
        }
    }

    #[test]
    fn targets_exist_with_seeds() {
        let manifest = std::fs::read_to_string(fuzz_dir().join("Cargo.toml")).unwrap();
        for (t, _) in TARGETS {
            assert!(manifest.contains(&format!("name = \"{t}\"")), "{t}");
            let seeds = fuzz_dir().join("seeds").join(t);
            assert!(
                std::fs::read_dir(&seeds).unwrap().count() > 0,
                "no seeds in {}",
                seeds.display()
            );
        }
    }
}
