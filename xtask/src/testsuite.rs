//! `cargo xtask test`: host tests, lints, loom, image build, then the QEMU integration cases.
//!
//! The QEMU cases are data ([`CASES`]): adding one is one table entry. Every case asserts on
//! records (never on human text) and on the exit code, under a kill timeout.

use crate::cli::{Board, TestArgs};
use crate::image::{self, BuildOpts, Image};
use crate::qemu::discover::Qemu;
use crate::qemu::run::{self, Machine, Outcome, RunSpec};
use crate::report::{self, Collector, Source};
use crate::{loom, util};
use anyhow::Result;
use serde_json::Value;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

/// What a case checks in the records, beyond the exit code.
type Check = fn(&Collector) -> Result<(), String>;

/// One integration case.
pub struct Case {
    pub name: &'static str,
    pub kind: Kind,
}

pub enum Kind {
    /// Boot the image under QEMU `virt`.
    Boot {
        cpus: u32,
        cpu: &'static str,
        /// Bootargs (xtask adds `seed=1` and `deadline_ms` from the timeout unless given).
        bootargs: &'static [&'static str],
        /// Host kill timeout.
        timeout_s: u64,
        /// Expected xtask exit code for the run (kernel code, or 5/6 for host/protocol).
        exit: i32,
        check: Check,
    },
    /// Run this xtask binary with `args`: it must refuse them before QEMU or cargo starts.
    Refused {
        args: &'static [&'static str],
        exit: i32,
        stderr_has: &'static str,
    },
}

/// The integration cases. Keep `-smp` <= 4 and timeouts generous: TCG with more busy vCPUs
/// than host cores is erratic (platform notes).
pub const CASES: &[Case] = &[
    Case {
        name: "selftest smp1",
        kind: boot(1, &["run=selftest"], 90, 0, selftest_1),
    },
    Case {
        name: "selftest smp2",
        kind: boot(2, &["run=selftest"], 90, 0, selftest_2),
    },
    Case {
        name: "selftest smp4",
        kind: boot(4, &["run=selftest"], 180, 0, selftest_4),
    },
    Case {
        name: "selftest=fault smp2 exits 3",
        kind: boot(2, &["run=selftest", "selftest=fault"], 90, 3, fault_named),
    },
    Case {
        name: "bad bootarg exits 2",
        kind: boot(1, &["bogus=1"], 60, 2, bootargs_error),
    },
    // Issue 7: a key the run does not read is refused by the kernel itself (a real board gets
    // its bootargs without xtask), naming the run that reads it.
    Case {
        name: "key of another run exits 2 (kernel)",
        kind: boot(
            1,
            &["run=suite", "selftest=fault"],
            60,
            2,
            key_of_another_run,
        ),
    },
    Case {
        name: "selftest=panic smp2 exits 3",
        kind: boot(2, &["run=selftest", "selftest=panic"], 90, 3, panic_named),
    },
    // 10^8 iterations per CPU take about a minute under TCG: the kernel's own deadline fires.
    Case {
        name: "kernel deadline exits 4",
        kind: boot(
            2,
            &["run=selftest", "iters=100000000", "deadline_ms=300"],
            60,
            4,
            deadline_hit,
        ),
    },
    // The kernel deadline is out of reach: xtask's kill timeout must end the run.
    Case {
        name: "host timeout kills QEMU (exit 5)",
        kind: boot(
            1,
            &["run=selftest", "iters=1000000000", "deadline_ms=3600000"],
            5,
            5,
            host_killed,
        ),
    },
    Case {
        name: "mm-stress smp2 audit clean",
        kind: boot(2, &["run=mm-stress"], 240, 0, mm_stress_clean),
    },
    // A buggy variant must be caught, the fixed one must stay clean (logical races: no weak
    // memory needed, so no memmodel= either).
    // Issue 4's CI bar: the logical races V1, V6, V7, V10 REPRODUCED and V0 CLEAN, each over
    // 10^5 attempts, for any seed (the suite's seed changes per invocation).
    Case {
        name: "gup V0 clean, V1 V6 V7 V10 reproduced smp2",
        kind: boot(
            2,
            &[
                "run=gup",
                "variant=V0,V1,V6,V7,V10",
                "iters=100000",
                "time_ms=120000",
            ],
            // Rows stop at 10^5 iterations (~19 s in all on an idle 2-core host); the time
            // budget only matters under load, where a 10x slowdown was seen.
            600,
            0,
            gup_logical_races,
        ),
    },
    // Calibration: the platform's reorderings are measured, not assumed.
    Case {
        name: "litmus calibration smp2",
        kind: boot(2, &["run=litmus", "iters=20000"], 240, 0, litmus_calibrated),
    },
    Case {
        name: "--cpus 0 refused before QEMU",
        kind: Kind::Refused {
            args: &["qemu", "--cpus", "0"],
            exit: 2,
            stderr_has: "--cpus 0",
        },
    },
    Case {
        name: "unknown --run refused before QEMU",
        kind: Kind::Refused {
            args: &["qemu", "--run", "nope"],
            exit: 2,
            stderr_has: "unknown run",
        },
    },
    // Issue 7: `cargo xtask qemu -- selftest=fault` ran the suite and exited 0.
    Case {
        name: "key of another run refused before QEMU",
        kind: Kind::Refused {
            args: &["qemu", "--", "selftest=fault"],
            exit: 2,
            stderr_has: "it belongs to run=selftest",
        },
    },
    Case {
        name: "flag of another run refused before QEMU",
        kind: Kind::Refused {
            args: &["qemu", "--run", "selftest", "--plot", "x.svg"],
            exit: 2,
            stderr_has: "--plot does not apply to run=selftest",
        },
    },
];

const fn boot(
    cpus: u32,
    bootargs: &'static [&'static str],
    timeout_s: u64,
    exit: i32,
    check: Check,
) -> Kind {
    Kind::Boot {
        cpus,
        cpu: "cortex-a72",
        bootargs,
        timeout_s,
        exit,
        check,
    }
}

fn selftest_1(c: &Collector) -> Result<(), String> {
    selftest_ok(c, 1)
}
fn selftest_2(c: &Collector) -> Result<(), String> {
    selftest_ok(c, 2)
}
fn selftest_4(c: &Collector) -> Result<(), String> {
    selftest_ok(c, 4)
}

fn num(m: &serde_json::Map<String, Value>, k: &str) -> Option<u64> {
    m.get(k).and_then(Value::as_u64)
}

/// All `n` CPUs up, per-CPU info for each, and the selftest's counters add up.
fn selftest_ok(c: &Collector, n: u64) -> Result<(), String> {
    let p = c.platform.as_ref().ok_or("no platform record")?;
    if num(p, "cpus_online") != Some(n) || num(p, "cpus_expected") != Some(n) {
        return Err(format!(
            "platform: cpus_online {:?}, cpus_expected {:?}, want {n}",
            p.get("cpus_online"),
            p.get("cpus_expected")
        ));
    }
    let mut ids: Vec<u64> = c.cpus.iter().filter_map(|r| num(r, "cpu")).collect();
    ids.sort_unstable();
    ids.dedup();
    if ids != (0..n).collect::<Vec<_>>() {
        return Err(format!("cpu records for CPUs {ids:?}, want 0..{n}"));
    }
    if let Some(bad) = c
        .cpus
        .iter()
        .find(|r| r.get("mmu") != Some(&Value::Bool(true)))
    {
        return Err(format!("cpu record with the MMU off: {bad:?}"));
    }
    let r = c
        .results
        .iter()
        .find(|r| r.get("run").and_then(Value::as_str) == Some("selftest"))
        .ok_or("no selftest result record")?;
    if r.get("passed") != Some(&Value::Bool(true)) {
        return Err(format!("selftest result not passed: {r:?}"));
    }
    let want = num(r, "expected_total").ok_or("result lacks expected_total")?;
    for k in ["mutex_total", "atomic_total"] {
        if num(r, k) != Some(want) {
            return Err(format!("{k} = {:?}, expected_total = {want}", r.get(k)));
        }
    }
    if want == 0 {
        return Err("expected_total is 0: the selftest did no work".into());
    }
    if !c.faults.is_empty() {
        return Err(format!("fault records: {:?}", c.faults));
    }
    match c.end {
        Some((true, 0)) => Ok(()),
        other => Err(format!(
            "end record {other:?}, want passed with exit_code 0"
        )),
    }
}

/// The allocator stress ran and its audit found every frame back, none leaked or doubly freed.
/// Every litmus test ran its instances, nothing the Linux memory model forbids was seen, and a
/// calibration verdict came out. On an x86-64 host (TCG keeps stores and loads in order) the
/// store->store and load->load tests must show no weak outcome: deterministic there.
fn litmus_calibrated(c: &Collector) -> Result<(), String> {
    if c.litmus.len() < 8 {
        return Err(format!("only {} litmus records", c.litmus.len()));
    }
    for l in &c.litmus {
        let name = l.get("test").and_then(Value::as_str).unwrap_or("?");
        if num(l, "instances") != Some(20000) {
            return Err(format!("{name}: instances {:?}", l.get("instances")));
        }
        if l.get("forbidden_by_lkmm") == Some(&Value::Bool(true)) && num(l, "weak") != Some(0) {
            return Err(format!("{name}: LKMM-forbidden outcome seen: {l:?}"));
        }
        let tso_forbidden = matches!(name, "MP" | "LB" | "2+2W" | "MP+po+rmb" | "MP+wmb+po");
        if cfg!(target_arch = "x86_64") && tso_forbidden && num(l, "weak") != Some(0) {
            return Err(format!("{name}: weak outcome on a TSO host: {l:?}"));
        }
    }
    let cal = c.calibration.as_ref().ok_or("no calibration record")?;
    let model = cal.get("memmodel_measured").and_then(Value::as_str);
    if cfg!(target_arch = "x86_64") && model != Some("tso") {
        return Err(format!("x86-64 host measured as {model:?}, expected tso"));
    }
    Ok(())
}

fn mm_stress_clean(c: &Collector) -> Result<(), String> {
    let r = c
        .results
        .iter()
        .find(|r| r.get("run").and_then(Value::as_str) == Some("mm-stress"))
        .ok_or("no mm-stress result record")?;
    if r.get("passed") != Some(&Value::Bool(true)) {
        return Err(format!("mm-stress result not passed: {r:?}"));
    }
    if num(r, "allocs").unwrap_or(0) == 0 {
        return Err(format!("mm-stress allocated nothing: {r:?}"));
    }
    let a = c.audit.as_ref().ok_or("no audit record")?;
    for k in ["leaked", "double_free", "bad_state"] {
        if num(a, k) != Some(0) {
            return Err(format!("audit {k} = {:?}", a.get(k)));
        }
    }
    let (start, end) = (num(a, "frames_free_start"), num(a, "frames_free_end"));
    if start.is_none() || start != end {
        return Err(format!(
            "audit free frames {start:?} at start, {end:?} at end"
        ));
    }
    if a.get("passed") != Some(&Value::Bool(true)) {
        return Err("audit not passed".into());
    }
    match c.end {
        Some((true, 0)) => Ok(()),
        other => Err(format!(
            "end record {other:?}, want passed with exit_code 0"
        )),
    }
}

fn gup_result<'a>(
    c: &'a Collector,
    variant: &str,
) -> Result<&'a serde_json::Map<String, Value>, String> {
    c.results
        .iter()
        .find(|r| r.get("variant").and_then(Value::as_str) == Some(variant))
        .ok_or_else(|| format!("no result record for {variant}"))
}

/// V0 (fully fixed) shows no violation, V1 (no membership recheck) is reproduced, and every
/// verdict is what the kernel expected for it.
fn gup_logical_races(c: &Collector) -> Result<(), String> {
    let mismatches = report::expect_mismatches(&c.results);
    if !mismatches.is_empty() {
        return Err(mismatches.join("; "));
    }
    let v0 = gup_result(c, "V0")?;
    let v1 = gup_result(c, "V1")?;
    let (v0_total, _) = crate::table::violations(v0);
    if v0_total != 0 || v0.get("verdict").and_then(Value::as_str) != Some("CLEAN") {
        return Err(format!("V0 not clean: {v0:?}"));
    }
    if num(v0, "accepted").unwrap_or(0) == 0 {
        return Err("V0 accepted nothing: the reader never got through".into());
    }
    if num(v0, "attempts").unwrap_or(0) < 100_000 {
        return Err(format!(
            "V0 ran {:?} attempts, fewer than 10^5",
            v0.get("attempts")
        ));
    }
    let (_, kinds) = crate::table::violations(v1);
    for id in ["V1", "V6", "V7", "V10"] {
        let r = gup_result(c, id)?;
        let (total, _) = crate::table::violations(r);
        if total == 0 || r.get("verdict").and_then(Value::as_str) != Some("REPRODUCED") {
            return Err(format!("{id} not caught: {r:?}"));
        }
    }
    if let Some(a) = &c.audit {
        if a.get("passed") != Some(&Value::Bool(true)) {
            return Err(format!("audit failed: {a:?}"));
        }
    }
    match c.end {
        Some((true, 0)) => Ok(()),
        other => Err(format!("end record {other:?} (V1: {kinds})")),
    }
}

/// The deliberate fault is reported with the CPU it happened on.
fn fault_named(c: &Collector) -> Result<(), String> {
    let f = c.faults.first().ok_or("no fault record")?;
    let cpu = num(f, "cpu").ok_or("fault record names no CPU")?;
    if cpu >= 2 {
        return Err(format!("fault on CPU {cpu} at -smp 2"));
    }
    for k in ["esr", "elr", "ec_name"] {
        if !f.contains_key(k) {
            return Err(format!("fault record lacks {k}"));
        }
    }
    Ok(())
}

/// A deliberate panic is reported with the CPU it happened on (an `error` record of kind panic).
fn panic_named(c: &Collector) -> Result<(), String> {
    let p = c
        .error_records
        .iter()
        .find(|r| r.get("kind").and_then(Value::as_str) == Some("panic"))
        .ok_or("no panic error record")?;
    match num(p, "cpu") {
        Some(cpu) if cpu < 2 => Ok(()),
        other => Err(format!("panic record names CPU {other:?} at -smp 2")),
    }
}

/// The kernel noticed its deadline and said so before exiting 4.
fn deadline_hit(c: &Collector) -> Result<(), String> {
    if !c.kernel_errors.iter().any(|(k, _)| k == "deadline") {
        return Err(format!("no deadline error record: {:?}", c.kernel_errors));
    }
    match c.end {
        Some((false, 4)) => Ok(()),
        other => Err(format!(
            "end record {other:?}, want failed with exit_code 4"
        )),
    }
}

/// Killed by the host: no `end` record, and the last line seen is known.
fn host_killed(c: &Collector) -> Result<(), String> {
    if c.end.is_some() {
        return Err("an end record arrived although the run was killed".into());
    }
    if c.last_line.is_none() {
        return Err("no console line seen before the kill".into());
    }
    Ok(())
}

/// A bad bootarg is refused with an `error` record.
fn key_of_another_run(c: &Collector) -> Result<(), String> {
    if c.kernel_errors.iter().any(|(k, m)| {
        k == "bootargs" && m.contains("not read by run=suite") && m.contains("run=selftest")
    }) {
        Ok(())
    } else {
        Err(format!(
            "no bootargs error record naming run=selftest: {:?}",
            c.kernel_errors
        ))
    }
}

fn bootargs_error(c: &Collector) -> Result<(), String> {
    if c.kernel_errors
        .iter()
        .any(|(k, m)| k == "bootargs" && m.contains("bogus"))
    {
        Ok(())
    } else {
        Err(format!(
            "no bootargs error record naming `bogus`: {:?}",
            c.kernel_errors
        ))
    }
}

/// Results so far.
#[derive(Default)]
struct Tally {
    passed: u32,
    failed: u32,
}

impl Tally {
    fn record(&mut self, name: &str, t: Instant, r: Result<(), String>) -> bool {
        let secs = t.elapsed().as_secs_f64();
        match r {
            Ok(()) => {
                self.passed += 1;
                println!("PASS {name} ({secs:.1} s)");
                true
            }
            Err(e) => {
                self.failed += 1;
                println!("FAIL {name} ({secs:.1} s): {e}");
                false
            }
        }
    }
}

/// Run a command, capturing its output; on failure return its tail.
fn step_cmd(mut cmd: Command) -> Result<(), String> {
    cmd.env("CARGO_TERM_COLOR", "never");
    println!("  $ {}", util::show(&cmd));
    let out = cmd.output().map_err(|e| format!("cannot run: {e}"))?;
    if out.status.success() {
        return Ok(());
    }
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<&str> = text.lines().collect();
    let tail = lines[lines.len().saturating_sub(60)..].join("\n");
    Err(format!("{}\n{tail}", out.status))
}

pub fn command(a: &TestArgs) -> Result<i32> {
    let started = Instant::now();
    let mut t = Tally::default();
    if !a.qemu_only {
        host_steps(&mut t);
    }
    let now = Instant::now();
    let img = image::build(BuildOpts {
        board: Board::Virt,
        release: true,
        deny_warnings: true,
    });
    let img = match img {
        Ok(i) => {
            t.record("image build (-D warnings)", now, Ok(()));
            let now = Instant::now();
            t.record(
                "generated barriers (fixed reader, free path)",
                now,
                crate::disasm::barrier_checks(&i.elf),
            );
            Some(i)
        }
        Err(e) => {
            t.record("image build (-D warnings)", now, Err(format!("{e:#}")));
            None
        }
    };
    let qemu = crate::qemu::install::ensure(false);
    let logs = image::target_dir().join("xtask-test");
    let _ = std::fs::create_dir_all(&logs);
    for case in CASES
        .iter()
        .filter(|c| a.only.as_ref().is_none_or(|o| c.name.contains(o.as_str())))
    {
        let now = Instant::now();
        let r = match (&case.kind, &img, &qemu) {
            (
                Kind::Refused {
                    args,
                    exit,
                    stderr_has,
                },
                _,
                _,
            ) => refused(args, *exit, stderr_has),
            (Kind::Boot { .. }, None, _) => Err("no image (build failed)".into()),
            (Kind::Boot { .. }, _, Err(e)) => Err(format!("no QEMU: {e:#}")),
            (k @ Kind::Boot { .. }, Some(img), Ok(q)) => boot_case(case.name, k, img, q, &logs),
        };
        t.record(case.name, now, r);
    }
    println!("total {:.1} s", started.elapsed().as_secs_f64());
    println!("{} passed, {} failed", t.passed, t.failed);
    Ok(if t.failed == 0 { 0 } else { 1 })
}

fn host_steps(t: &mut Tally) {
    for (component, probe) in [("clippy", "clippy"), ("rustfmt", "fmt")] {
        if let Err(e) = crate::toolchain::ensure_component(component, &[probe]) {
            println!("WARN {e:#}");
        }
    }
    let mut steps: Vec<(&str, Command)> = Vec::new();
    let mut c = util::cargo();
    c.arg("test");
    steps.push(("host tests (cargo test)", c));
    let mut c = util::cargo();
    c.args([
        "clippy",
        "-p",
        "kernel",
        "-p",
        "xtask",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ]);
    steps.push(("clippy -D warnings", c));
    let mut c = util::cargo();
    c.args(["fmt", "--check"]);
    steps.push(("cargo fmt --check", c));
    for (name, cmd) in steps {
        println!("RUN  {name}");
        let now = Instant::now();
        t.record(name, now, step_cmd(cmd));
    }
    let mut c = util::cargo();
    c.args(["fmt", "--check", "--manifest-path", "fuzz/Cargo.toml"]);
    println!("RUN  cargo fmt --check (fuzz/)");
    let now = Instant::now();
    t.record("cargo fmt --check (fuzz/)", now, step_cmd(c));
    fuzz_steps(t);
    if loom::models_present() {
        println!("RUN  loom models");
        let now = Instant::now();
        t.record("loom models", now, step_cmd(loom::cmd()));
    } else {
        println!("SKIP loom models: {} does not exist yet", loom::MODELS);
    }
}

/// Seconds per fuzz target in `cargo xtask test` (`GUPBED_FUZZ_SECS` overrides).
const FUZZ_SECS: u64 = 20;

/// Build the fuzz targets and run each for a bounded time: input from outside must never
/// panic the host side (`cargo xtask fuzz` runs them longer).
fn fuzz_steps(t: &mut Tally) {
    let secs = std::env::var("GUPBED_FUZZ_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(FUZZ_SECS);
    println!("RUN  fuzz targets build");
    let now = Instant::now();
    let bins = match crate::fuzz::build() {
        Ok(b) => {
            t.record("fuzz targets build", now, Ok(()));
            b
        }
        Err(e) => {
            t.record("fuzz targets build", now, Err(format!("{e:#}")));
            return;
        }
    };
    for (target, max_len) in crate::fuzz::TARGETS {
        let name = format!("fuzz {target} ({secs} s)");
        println!("RUN  {name}");
        let now = Instant::now();
        let r = match crate::fuzz::run(&bins, target, *max_len, secs) {
            Ok(o) if o.passed => {
                println!("     {} inputs, no crash", o.execs.unwrap_or(0));
                Ok(())
            }
            Ok(o) => Err(format!(
                "crash (input under target/fuzz/artifacts/{target}/):\n{}",
                o.detail
            )),
            Err(e) => Err(format!("{e:#}")),
        };
        t.record(&name, now, r);
    }
}

/// The seed every boot case gets: `GUPBED_TEST_SEED`, or one drawn from the clock per
/// `cargo xtask test` (printed, so a failure can be replayed). The race cases must pass for
/// any seed.
fn test_seed() -> u64 {
    static SEED: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    *SEED.get_or_init(|| {
        let seed = std::env::var("GUPBED_TEST_SEED")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_nanos() as u64 % 1_000_000_007)
                    .unwrap_or(1)
            });
        println!("xtask test: seed {seed} (replay with GUPBED_TEST_SEED={seed})");
        seed
    })
}

fn boot_case(
    name: &str,
    k: &Kind,
    img: &Image,
    q: &Qemu,
    logs: &std::path::Path,
) -> Result<(), String> {
    let Kind::Boot {
        cpus,
        cpu,
        bootargs,
        timeout_s,
        exit,
        check,
    } = k
    else {
        return Err("not a boot case".into());
    };
    let ours = [
        ("seed", test_seed().to_string()),
        (
            "deadline_ms",
            run::kernel_deadline_ms(*timeout_s).to_string(),
        ),
    ];
    let extra: Vec<String> = bootargs.iter().map(|s| s.to_string()).collect();
    let spec = RunSpec {
        qemu: q,
        machine: Machine {
            board: Board::Virt,
            cpus: *cpus,
            memory_mib: 512,
            cpu: cpu.to_string(),
        },
        image: img.raw.clone(),
        bootargs: run::compose_bootargs(&ours, &extra),
        timeout: Duration::from_secs(*timeout_s),
        show: false,
        verbose: false,
    };
    let out = run::run(&spec).map_err(|e| format!("{e:#}"))?;
    let log = logs.join(format!(
        "{}.log",
        name.replace(|c: char| !c.is_ascii_alphanumeric(), "_")
    ));
    let _ = std::fs::write(&log, out.lines.join("\n") + "\n");
    judge(&out, *exit, *check).map_err(|e| {
        let tail: Vec<&String> = out.lines.iter().rev().take(25).collect::<Vec<_>>().into_iter().rev().collect();
        let tail: Vec<&str> = tail.iter().map(|s| s.as_str()).collect();
        format!(
            "{e}\n  bootargs: {}\n  log: {}\n  --- last console lines ---\n  {}\n  --- qemu stderr ---\n  {}",
            spec.bootargs,
            log.display(),
            tail.join("\n  "),
            out.stderr.join("\n  ")
        )
    })
}

/// Exit code and record predicate of one QEMU outcome.
fn judge(out: &Outcome, exit: i32, check: Check) -> Result<(), String> {
    let v = report::verdict(
        &out.collector,
        Source::Qemu {
            exit: out.exit,
            timed_out: out.timed_out,
        },
        false,
    );
    if v.exit_code != exit {
        let problems: Vec<String> = v
            .problems
            .iter()
            .map(|p| format!("{}: {}", p.kind, p.message))
            .collect();
        return Err(format!(
            "exit code {} (QEMU {:?}), want {exit}; {}",
            v.exit_code,
            out.exit,
            if problems.is_empty() {
                "no problems recorded".into()
            } else {
                problems.join("; ")
            }
        ));
    }
    check(&out.collector)
}

/// Run this binary with `args`; it must exit `exit` with `stderr_has` and start nothing (no
/// build, no QEMU: proven by the absence of xtask's command echo, not by timing).
fn refused(args: &[&str], exit: i32, stderr_has: &str) -> Result<(), String> {
    let me: PathBuf = std::env::current_exe().map_err(|e| format!("current_exe: {e}"))?;
    let out = Command::new(&me)
        .args(args)
        .output()
        .map_err(|e| format!("running xtask: {e}"))?;
    let err = String::from_utf8_lossy(&out.stderr);
    if out.status.code() != Some(exit) {
        return Err(format!(
            "exit {:?}, want {exit}; stderr: {err}",
            out.status.code()
        ));
    }
    if !err.contains(stderr_has) {
        return Err(format!("stderr lacks {stderr_has:?}: {err}"));
    }
    // xtask echoes every command it starts as "xtask: $ ...": nothing may have started.
    if err.contains("xtask: $") {
        return Err(format!("a command was started before the refusal: {err}"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(lines: &str) -> Collector {
        let mut c = Collector::default();
        for l in lines.lines() {
            c.feed(&crate::records::parse_line(l.trim()));
        }
        c
    }

    const SELFTEST2: &str = r#"@gupbed {"rec":"platform","v":1,"cpus_expected":2,"cpus_online":2}
        @gupbed {"rec":"cpu","v":1,"cpu":0,"mmu":true}
        @gupbed {"rec":"cpu","v":1,"cpu":1,"mmu":true}
        @gupbed {"rec":"result","v":1,"run":"selftest","passed":true,"mutex_total":20,"atomic_total":20,"expected_total":20}
        @gupbed {"rec":"end","v":1,"passed":true,"exit_code":0}"#;

    #[test]
    fn selftest_predicate_accepts_a_good_run() {
        selftest_ok(&rec(SELFTEST2), 2).unwrap();
    }

    #[test]
    fn selftest_predicate_catches_each_defect() {
        assert!(selftest_ok(&rec(SELFTEST2), 4).is_err(), "wrong CPU count");
        let zero = |s: &str| s.replace(":20", ":0");
        type Mutate = fn(&str) -> String;
        let cases: [(&str, Mutate); 6] = [
            ("lost atomic increment", |s| {
                s.replace("\"atomic_total\":20", "\"atomic_total\":19")
            }),
            ("cpu 1 missing", |s| s.replace("\"cpu\":1,", "\"cpu\":0,")),
            ("MMU off", |s| {
                s.replace("\"cpu\":1,\"mmu\":true", "\"cpu\":1,\"mmu\":false")
            }),
            ("result failed", |s| {
                s.replace("\"passed\":true,\"mutex", "\"passed\":false,\"mutex")
            }),
            ("end failed", |s| {
                s.replace(
                    "\"passed\":true,\"exit_code\":0",
                    "\"passed\":false,\"exit_code\":1",
                )
            }),
            ("no end", |s| {
                s.lines()
                    .filter(|l| !l.contains("\"end\""))
                    .collect::<Vec<_>>()
                    .join("\n")
            }),
        ];
        for (what, f) in cases {
            let bad = f(SELFTEST2);
            assert_ne!(bad, SELFTEST2, "{what}");
            assert!(selftest_ok(&rec(&bad), 2).is_err(), "accepted: {what}");
        }
        assert!(
            selftest_ok(&rec(&zero(SELFTEST2)), 2).is_err(),
            "no work done"
        );
    }

    #[test]
    fn mm_stress_predicate() {
        let good = r#"@gupbed {"rec":"result","v":1,"run":"mm-stress","passed":true,"allocs":5}
            @gupbed {"rec":"audit","v":1,"frames_free_start":9,"frames_free_end":9,"leaked":0,"double_free":0,"bad_state":0,"passed":true}
            @gupbed {"rec":"end","v":1,"passed":true,"exit_code":0}"#;
        mm_stress_clean(&rec(good)).unwrap();
        for (from, to) in [
            ("\"leaked\":0", "\"leaked\":1"),
            ("\"frames_free_end\":9", "\"frames_free_end\":8"),
            ("\"allocs\":5", "\"allocs\":0"),
            ("\"bad_state\":0", "\"bad_state\":2"),
        ] {
            let bad = good.replace(from, to);
            assert_ne!(bad, good);
            assert!(mm_stress_clean(&rec(&bad)).is_err(), "accepted {to}");
        }
    }

    #[test]
    fn gup_predicate_needs_the_logical_races_caught_and_v0_clean() {
        let mut good = String::from(
            r#"@gupbed {"rec":"result","v":1,"run":"gup","variant":"V0","attempts":100000,"accepted":5,"violations":{},"verdict":"CLEAN","expected":"CLEAN"}"#,
        );
        for (id, kind) in [
            ("V1", "wrong_head"),
            ("V6", "foreign_page"),
            ("V7", "ref_on_free_page"),
            ("V10", "table_poison"),
        ] {
            good.push_str(&format!(
                "\n@gupbed {{\"rec\":\"result\",\"v\":1,\"run\":\"gup\",\"variant\":\"{id}\",\"attempts\":100000,\"accepted\":5,\"violations\":{{\"{kind}\":3}},\"verdict\":\"REPRODUCED\",\"expected\":\"REPRODUCED\"}}"
            ));
        }
        good.push_str("\n@gupbed {\"rec\":\"end\",\"v\":1,\"passed\":true,\"exit_code\":0}");
        gup_logical_races(&rec(&good)).unwrap();
        for (from, to) in [
            (
                "{\"foreign_page\":3},\"verdict\":\"REPRODUCED\"",
                "{},\"verdict\":\"CLEAN\"",
            ),
            ("\"violations\":{},", "\"violations\":{\"wrong_head\":1},"),
            (
                "\"attempts\":100000,\"accepted\":5,\"violations\":{},",
                "\"attempts\":99999,\"accepted\":5,\"violations\":{},",
            ),
            (
                "\"variant\":\"V0\",\"attempts\":100000,\"accepted\":5",
                "\"variant\":\"V0\",\"attempts\":100000,\"accepted\":0",
            ),
            ("\"expected\":\"CLEAN\"", "\"expected\":\"REPRODUCED\""),
            ("\"variant\":\"V10\"", "\"variant\":\"V11\""),
        ] {
            let bad = good.replacen(from, to, 1);
            assert_ne!(bad, good);
            assert!(gup_logical_races(&rec(&bad)).is_err(), "accepted {to}");
        }
    }

    #[test]
    fn fault_and_bootargs_predicates() {
        let c = rec(
            r#"@gupbed {"rec":"fault","v":1,"cpu":1,"esr":"0x96000045","elr":"0x1","ec_name":"DABT"}"#,
        );
        fault_named(&c).unwrap();
        let c = rec(
            r#"@gupbed {"rec":"fault","v":1,"cpu":5,"esr":"0x96000045","elr":"0x1","ec_name":"DABT"}"#,
        );
        assert!(fault_named(&c).is_err());
        assert!(fault_named(&rec("no records")).is_err());
        let c = rec(
            r#"@gupbed {"rec":"error","v":1,"kind":"bootargs","message":"unknown key `bogus`"}"#,
        );
        bootargs_error(&c).unwrap();
        assert!(bootargs_error(&rec("")).is_err());
    }

    #[test]
    fn case_names_are_unique() {
        let mut names: Vec<_> = CASES.iter().map(|c| c.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), CASES.len());
    }
}
