//! `cargo xtask test`: host tests, lints, loom, image build, then the QEMU integration cases of
//! [`super::cases`] for the chosen board.

use super::cases::{self, Case, Check, Kind};
use crate::board::Board;
use crate::cli::TestArgs;
use crate::image::{self, BuildOpts, Image};
use crate::qemu::discover::Qemu;
use crate::qemu::run::{self, Machine, Outcome, RunSpec};
use crate::report::{self, Source};
use crate::{loom, util};
use anyhow::Result;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

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
    let qemu = crate::qemu::install::ensure(false);
    let logs = image::target_dir().join("xtask-test");
    let _ = std::fs::create_dir_all(&logs);
    let wanted = |c: &&Case| a.only.as_ref().is_none_or(|o| c.name.contains(o.as_str()));
    // The board under test runs every case it can; every other board runs its own cases
    // (so plain `cargo xtask test`, i.e. CI, boots the Pi image under QEMU raspi4b too).
    let (list, not_applicable) = cases::for_board(a.board);
    if not_applicable > 0 {
        println!(
            "NOTE {not_applicable} QEMU cases need a CPU count --board {} cannot have; not run",
            a.board
        );
    }
    let mut groups = vec![(a.board, list)];
    for b in Board::ALL.into_iter().filter(|&b| b != a.board) {
        groups.push((b, cases::board_only(b)));
    }
    let mut outcomes: BTreeMap<&'static str, Outcome> = BTreeMap::new();
    for (board, list) in groups {
        let list: Vec<&'static Case> = list.into_iter().filter(wanted).collect();
        if board != a.board && list.is_empty() {
            continue;
        }
        let img = build_and_check(board, &mut t);
        for case in list {
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
                ) => refused(args, board, *exit, stderr_has),
                (Kind::Report { of, cut }, _, _) => report_case(of, *cut, &outcomes, &logs),
                (Kind::Boot { .. }, None, _) => Err("no image (build failed)".into()),
                (Kind::Boot { .. }, _, Err(e)) => Err(format!("no QEMU: {e:#}")),
                (k @ Kind::Boot { .. }, Some(img), Ok(q)) => {
                    let (r, out) = boot_case(case.name, k, board, img, q, &logs);
                    if let Some(out) = out {
                        outcomes.insert(case.name, out);
                    }
                    r
                }
            };
            t.record(case.name, now, r);
        }
    }
    println!("total {:.1} s", started.elapsed().as_secs_f64());
    println!("{} passed, {} failed", t.passed, t.failed);
    Ok(if t.failed == 0 { 0 } else { 1 })
}

/// Build `board`'s image with `-D warnings` and check its generated code.
fn build_and_check(board: Board, t: &mut Tally) -> Option<Image> {
    let now = Instant::now();
    let img = image::build(BuildOpts {
        board,
        release: true,
        deny_warnings: true,
    });
    match img {
        Ok(i) => {
            t.record(&format!("image build {board} (-D warnings)"), now, Ok(()));
            let now = Instant::now();
            t.record(
                &format!("generated barriers {board} (fixed reader, free path)"),
                now,
                crate::disasm::barrier_checks(&i.elf),
            );
            let now = Instant::now();
            t.record(
                &format!("no exclusives before the MMU is on ({board})"),
                now,
                crate::premmu::check(&i.elf).map(|s| println!("     {s}")),
            );
            Some(i)
        }
        Err(e) => {
            t.record(
                &format!("image build {board} (-D warnings)"),
                now,
                Err(format!("{e:#}")),
            );
            None
        }
    }
}

/// Where a case's console log is kept.
fn log_path(logs: &Path, name: &str) -> PathBuf {
    logs.join(format!(
        "{}.log",
        name.replace(|c: char| !c.is_ascii_alphanumeric(), "_")
    ))
}

/// `cargo xtask report`'s path on the saved console log of case `of` (a serial log of the
/// board's image): the same report as the live run, or, cut after `cut` result records in the
/// middle of the next record, every row before the cut and a `cut_short` verdict.
fn report_case(
    of: &str,
    cut: Option<usize>,
    outcomes: &BTreeMap<&'static str, Outcome>,
    logs: &Path,
) -> Result<(), String> {
    let live = outcomes
        .get(of)
        .ok_or_else(|| format!("case {of:?} did not run (or did not finish)"))?;
    let path = log_path(logs, of);
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let text = match cut {
        None => text,
        Some(n) => cut_after_results(&text, n)
            .ok_or_else(|| format!("{}: fewer than {} result records", path.display(), n + 1))?,
    };
    let c = report::collect_log(&text);
    let v = report::verdict(&c, Source::Log, false);
    let from_log = report::json_report(&c, &v, &report::log_host_info(&c));
    let lv = report::verdict(
        &live.collector,
        Source::Qemu {
            exit: live.exit,
            timed_out: live.timed_out,
        },
        false,
    );
    let host = report::HostInfo {
        bootargs: live.bootargs.clone(),
        ..Default::default()
    };
    let from_run = report::json_report(&live.collector, &lv, &host);
    compare_reports(&from_run, &from_log, cut)
}

/// `text` up to and including its `n + 1`-th result record, then half of the next record.
fn cut_after_results(text: &str, n: usize) -> Option<String> {
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let at = lines
        .iter()
        .enumerate()
        .filter(|(_, l)| l.contains("\"rec\":\"result\""))
        .nth(n)?
        .0;
    let next = lines[at + 1..].iter().find(|l| l.contains("@gupbed {"))?;
    Some(lines[..=at].concat() + &next[..next.len() / 2])
}

fn compare_reports(
    live: &serde_json::Value,
    log: &serde_json::Value,
    cut: Option<usize>,
) -> Result<(), String> {
    let same = |k: &str| -> Result<(), String> {
        if live[k] == log[k] {
            Ok(())
        } else {
            Err(format!("`{k}` differs: live {} / log {}", live[k], log[k]))
        }
    };
    same("platform")?;
    match cut {
        None => {
            for k in [
                "runs",
                "audit",
                "litmus",
                "calibration",
                "memmodel",
                "ipi",
                "faults",
                "errors",
                "passed",
                "exit_code",
                "bootargs",
            ] {
                same(k)?;
            }
            Ok(())
        }
        Some(n) => {
            let rows = |j: &serde_json::Value| j["runs"].as_array().cloned().unwrap_or_default();
            let (all, kept) = (rows(live), rows(log));
            if kept.len() != n + 1 || kept[..] != all[..=n] {
                return Err(format!(
                    "cut after {} rows: the log's report has {} rows, not the live run's first {}",
                    n + 1,
                    kept.len(),
                    n + 1
                ));
            }
            let cut_short = log["errors"]
                .as_array()
                .is_some_and(|e| e.iter().any(|p| p["kind"] == "cut_short"));
            if !cut_short || log["exit_code"] != report::EXIT_PROTOCOL || log["passed"] != false {
                return Err(format!(
                    "a cut log must say cut_short and exit {}: {}",
                    report::EXIT_PROTOCOL,
                    log["errors"]
                ));
            }
            Ok(())
        }
    }
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
        "-p",
        "boot",
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
    board: Board,
    img: &Image,
    q: &Qemu,
    logs: &Path,
) -> (Result<(), String>, Option<Outcome>) {
    let Kind::Boot {
        cpus,
        cpu,
        bootargs,
        timeout_s,
        exit,
        check,
    } = k
    else {
        return (Err("not a boot case".into()), None);
    };
    let machine = Machine::new(board, *cpus, cpu);
    let ours = [
        ("seed", test_seed().to_string()),
        (
            "deadline_ms",
            run::kernel_deadline_ms(*timeout_s).to_string(),
        ),
        machine.exit_bootarg(),
    ];
    let extra: Vec<String> = bootargs.iter().map(|s| s.to_string()).collect();
    let spec = RunSpec {
        qemu: q,
        machine,
        image: img.raw.clone(),
        bootargs: run::compose_bootargs(&ours, &extra),
        timeout: Duration::from_secs(*timeout_s),
        show: false,
        verbose: false,
    };
    let out = match run::run(&spec) {
        Ok(o) => o,
        Err(e) => return (Err(format!("{e:#}")), None),
    };
    let log = log_path(logs, name);
    let _ = std::fs::write(&log, out.lines.join("\n") + "\n");
    let r = judge(&out, *exit, *check).map_err(|e| {
        let tail: Vec<&String> = out.lines.iter().rev().take(25).collect::<Vec<_>>().into_iter().rev().collect();
        let tail: Vec<&str> = tail.iter().map(|s| s.as_str()).collect();
        format!(
            "{e}\n  bootargs: {}\n  log: {}\n  --- last console lines ---\n  {}\n  --- qemu stderr ---\n  {}",
            spec.bootargs,
            log.display(),
            tail.join("\n  "),
            out.stderr.join("\n  ")
        )
    });
    (r, Some(out))
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
fn refused(args: &[&str], board: Board, exit: i32, stderr_has: &str) -> Result<(), String> {
    let me: PathBuf = std::env::current_exe().map_err(|e| format!("current_exe: {e}"))?;
    let (cmd, rest) = args.split_first().ok_or("no subcommand")?;
    let out = Command::new(&me)
        .arg(cmd)
        .args(["--board", board.spec().name])
        .args(rest)
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
