//! Collects the records of one run and turns them into the verdict and the JSON report.
//!
//! The report's keys are stable and documented in README.md ("JSON report").

use crate::records::{
    Audit, Bench, Calibration, Cpu, ErrorRec, Fault, Ipi, Line, Litmus, MemModel, Platform,
    Progress, Rec, Record, RunResult, RunStart, Typed,
};
use serde::Serialize;
use serde_json::Value;

/// JSON report schema version (independent of the record schema).
pub const REPORT_SCHEMA: u32 = 1;
/// xtask exit code when the host kill timeout fired (kernel codes are 0-4).
pub const EXIT_TIMEOUT: i32 = 5;
/// xtask exit code for a protocol problem: no `end` record, malformed records, QEMU killed by
/// a signal, or an `end` record that contradicts QEMU's exit code.
pub const EXIT_PROTOCOL: i32 = 6;
/// Kernel exit code "run failed" (reused for `--expect` mismatches found by the host).
pub const EXIT_RUN_FAILED: i32 = 1;

/// Everything seen on the console of one run, as typed records.
#[derive(Debug, Default, Clone)]
pub struct Collector {
    pub platform: Option<Rec<Platform>>,
    pub cpus: Vec<Rec<Cpu>>,
    /// The first `run_start` (the run's seed).
    pub run_start: Option<Rec<RunStart>>,
    pub results: Vec<Rec<RunResult>>,
    pub audit: Option<Rec<Audit>>,
    pub faults: Vec<Rec<Fault>>,
    /// `error` records (a panic's names its `cpu`).
    pub errors: Vec<Rec<ErrorRec>>,
    pub benches: Vec<Rec<Bench>>,
    /// `litmus` records (one per litmus test) and the `calibration` verdict.
    pub litmus: Vec<Rec<Litmus>>,
    pub calibration: Option<Rec<Calibration>>,
    /// `memmodel` records: declared / measured / effective model of each race run.
    pub memmodels: Vec<Rec<MemModel>>,
    /// `ipi` records: per GUP row whose unmapper waits for readers, how it waited (SGI or flag)
    /// and the SGI round-trip latency.
    pub ipis: Vec<Rec<Ipi>>,
    pub end: Option<(bool, i64)>,
    pub malformed: Vec<(String, String)>,
    /// A captured log's last line when it is an unfinished record: where the capture was cut
    /// (see [`collect_log`]).
    pub log_cut: Option<String>,
    pub last_progress: Option<String>,
    pub last_line: Option<String>,
    pub records: usize,
}

impl Collector {
    /// Account for one classified console line.
    pub fn feed(&mut self, line: &Line) {
        match line {
            Line::Human(s) => {
                if !s.trim().is_empty() {
                    self.last_line = Some(s.clone());
                }
            }
            Line::Malformed { line, reason } => {
                self.last_line = Some(line.clone());
                self.malformed.push((line.clone(), reason.clone()));
            }
            Line::Record { before, record } => {
                if let Some(b) = before.as_ref().filter(|b| !b.trim().is_empty()) {
                    self.last_line = Some(b.clone());
                }
                self.records += 1;
                self.feed_record(record);
            }
        }
    }

    fn feed_record(&mut self, r: &Record) {
        match &r.typed {
            Typed::Platform(p) => self.platform = Some(p.clone()),
            Typed::Cpu(c) => self.cpus.push(c.clone()),
            Typed::RunStart(s) => {
                self.run_start.get_or_insert_with(|| s.clone());
            }
            Typed::Progress(p) => self.last_progress = Some(progress_line(p)),
            Typed::Result(x) => self.results.push((**x).clone()),
            Typed::Audit(a) => self.audit = Some(a.clone()),
            Typed::Fault(f) => self.faults.push(f.clone()),
            Typed::Error(e) => self.errors.push(e.clone()),
            Typed::Bench(b) => self.benches.push(b.clone()),
            Typed::Litmus(l) => self.litmus.push(l.clone()),
            Typed::Calibration(c) => self.calibration = Some(c.clone()),
            Typed::MemModel(m) => self.memmodels.push(m.clone()),
            Typed::Ipi(i) => self.ipis.push(i.clone()),
            Typed::End(e) => self.end = Some((e.passed, e.exit_code)),
            Typed::Other(_) => {}
        }
    }

    /// The GUP experiment rows, with their records.
    pub fn gup_rows(&self) -> impl Iterator<Item = (&Rec<RunResult>, &crate::records::GupResult)> {
        self.results.iter().filter_map(|r| r.gup().map(|g| (r, g)))
    }

    /// Whether the kernel sent an `error` record whose message contains `text`.
    pub fn kernel_error_mentions(&self, text: &str) -> bool {
        self.errors.iter().any(|e| e.message.contains(text))
    }
}

/// Parse a captured console log (a serial capture from a board, or `--log` of a QEMU run)
/// with the same parser as a live run. A log cut short mid-line (power lost, capture stopped)
/// ends in an unfinished record: that line is where the log was cut, not a malformed record.
/// Every record before it counts, so every row that finished is reported.
pub fn collect_log(text: &str) -> Collector {
    let mut c = Collector::default();
    let lines: Vec<&str> = text.lines().collect();
    let last = lines.iter().rposition(|l| !l.trim().is_empty());
    for (i, l) in lines.iter().enumerate() {
        let parsed = crate::records::parse_line(l);
        if Some(i) == last {
            if let Line::Malformed { line, reason } = &parsed {
                if reason.contains("EOF while parsing") {
                    c.log_cut = Some(line.clone());
                    continue;
                }
            }
        }
        c.feed(&parsed);
    }
    c
}

/// One progress line for humans: `gup V1: 500/1000 (50%) 3.2 s`.
pub fn progress_line(p: &Progress) -> String {
    let mut s = p.run.clone().unwrap_or_else(|| "run".into());
    if let Some(v) = &p.variant {
        s.push(' ');
        s.push_str(v);
    }
    // In u128: `done` comes from outside (a serial log) and may be anything up to u64::MAX.
    let pct = (u128::from(p.done) * 100)
        .checked_div(u128::from(p.total))
        .unwrap_or(0);
    s.push_str(&format!(": {}/{} ({pct}%)", p.done, p.total));
    if let Some(ms) = p.elapsed_ms {
        s.push_str(&format!(" {:.1} s", ms as f64 / 1000.0));
    }
    s
}

/// Where the lines came from, and how that source ended.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Source {
    /// A QEMU run: its exit code (None: killed by a signal), and whether our timeout fired.
    Qemu { exit: Option<i32>, timed_out: bool },
    /// A captured log: only the records tell how it ended.
    Log,
}

/// A host-side or kernel-side problem, as listed in the report.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Problem {
    pub source: &'static str,
    pub kind: String,
    pub message: String,
}

impl Problem {
    pub fn host(kind: &str, message: String) -> Self {
        Self {
            source: "host",
            kind: kind.into(),
            message,
        }
    }
}

/// The outcome of one run: exit code for xtask and the problems that explain it.
#[derive(Debug, Clone)]
pub struct Verdict {
    pub exit_code: i32,
    pub passed: bool,
    pub problems: Vec<Problem>,
}

/// Decide the exit code from the source's ending and the records (see README "Exit codes").
pub fn verdict(c: &Collector, source: Source, expect: bool) -> Verdict {
    let mut problems: Vec<Problem> = c
        .errors
        .iter()
        .map(|e| Problem {
            source: "kernel",
            kind: e.kind.clone(),
            message: e.message.clone(),
        })
        .collect();
    let mut host_code = 0;
    for (line, reason) in &c.malformed {
        problems.push(Problem::host(
            "malformed_record",
            format!("{reason}: {line}"),
        ));
        host_code = EXIT_PROTOCOL;
    }
    let mut code = match source {
        Source::Qemu {
            timed_out: true, ..
        } => {
            problems.push(Problem::host(
                "timeout",
                format!(
                    "host timeout: QEMU killed; last line: {}",
                    c.last_line.as_deref().unwrap_or("(none)")
                ),
            ));
            EXIT_TIMEOUT
        }
        Source::Qemu { exit: None, .. } => {
            problems.push(Problem::host(
                "qemu_signal",
                "QEMU was killed by a signal".into(),
            ));
            EXIT_PROTOCOL
        }
        Source::Qemu {
            exit: Some(code), ..
        } => code,
        Source::Log => c.end.map(|(_, code)| code as i32).unwrap_or(0),
    };
    let timed_out = matches!(
        source,
        Source::Qemu {
            timed_out: true,
            ..
        }
    );
    match c.end {
        None if source == Source::Log => {
            // A capture cut short (a night's campaign, the power gone): say so, with what it
            // still holds.
            let mut msg = format!(
                "the log ends before the run's `end` record: cut short after {} finished \
                 result row(s), all reported",
                c.results.len()
            );
            if let Some(p) = &c.last_progress {
                msg.push_str(&format!("; last progress: {p}"));
            }
            if let Some(l) = &c.log_cut {
                msg.push_str(&format!("; unfinished last line: {l}"));
            }
            problems.push(Problem::host("cut_short", msg));
            if code == 0 {
                code = EXIT_PROTOCOL;
            }
        }
        None if !timed_out => {
            problems.push(Problem::host(
                "no_end",
                "the run ended without an `end` record".into(),
            ));
            if code == 0 {
                code = EXIT_PROTOCOL;
            }
        }
        None => {}
        Some((passed, end_code)) => {
            if !timed_out && end_code != code as i64 {
                problems.push(Problem::host(
                    "exit_mismatch",
                    format!("`end` record says exit_code {end_code}, QEMU exited {code}"),
                ));
                if code == 0 {
                    code = EXIT_PROTOCOL;
                }
            }
            if passed != (end_code == 0) {
                problems.push(Problem::host(
                    "end_inconsistent",
                    format!("`end` record: passed={passed} with exit_code {end_code}"),
                ));
                if code == 0 {
                    code = EXIT_PROTOCOL;
                }
            }
        }
    }
    if expect {
        for m in expect_mismatches(&c.results) {
            problems.push(Problem::host("expect", m));
            if code == 0 {
                code = EXIT_RUN_FAILED;
            }
        }
    }
    if code == 0 {
        code = host_code;
    }
    Verdict {
        exit_code: code,
        passed: code == 0,
        problems,
    }
}

/// Results whose `verdict` differs from their `expected` ("ANY" matches anything).
pub fn expect_mismatches(results: &[Rec<RunResult>]) -> Vec<String> {
    results
        .iter()
        .filter_map(|r| r.gup())
        .filter(|g| g.unexpected())
        .map(|g| {
            format!(
                "{} {}: verdict {}, expected {}",
                g.experiment.as_deref().unwrap_or("?"),
                g.variant.as_deref().unwrap_or("?"),
                g.verdict,
                g.expected.as_ref().map_or("?", |e| e.name()),
            )
        })
        .collect()
}

/// What the host knows about the platform that the kernel cannot see.
#[derive(Debug, Clone, Default)]
pub struct HostInfo {
    pub qemu_version: Option<String>,
    pub accel: Option<String>,
    pub bootargs: String,
    pub duration_s: f64,
}

/// What a captured log tells about the host side: the bootargs, from the kernel's `platform`
/// record (no QEMU version, accelerator or duration: the log may come from a board).
pub fn log_host_info(c: &Collector) -> HostInfo {
    HostInfo {
        bootargs: c
            .platform
            .as_ref()
            .and_then(|p| p.view.bootargs.clone())
            .unwrap_or_default(),
        ..Default::default()
    }
}

/// Build the JSON report (stable keys, README "JSON report").
pub fn json_report(c: &Collector, v: &Verdict, host: &HostInfo) -> Value {
    let p = c.platform.as_ref().map(|p| &p.view);
    let p = p.cloned().unwrap_or_default();
    // The documented keys only, in order, null if absent (README "JSON report").
    let platform = serde_json::json!({
        "board": p.board,
        "cpu_model": p.cpu_model,
        "cpus_expected": p.cpus_expected,
        "cpus_online": p.cpus_online,
        "el": p.el,
        "mmu": p.mmu,
        "dcache": p.dcache,
        "icache": p.icache,
        "counter_hz": p.counter_hz,
        "firmware": p.firmware,
        "cpu_release": p.cpu_release,
        "exit": p.exit,
        "qemu_version": host.qemu_version,
        "accel": host.accel,
    });
    serde_json::json!({
        "schema": REPORT_SCHEMA,
        "platform": platform,
        "runs": c.results,
        "audit": c.audit,
        "litmus": c.litmus,
        "calibration": c.calibration,
        "memmodel": c.memmodels,
        "ipi": c.ipis,
        "faults": c.faults,
        "errors": v.problems,
        "passed": v.passed,
        "exit_code": v.exit_code,
        "bootargs": host.bootargs,
        "duration_s": (host.duration_s * 1000.0).round() / 1000.0,
    })
}

/// Write `value` as pretty JSON to `path`.
pub fn write_json(path: &std::path::Path, value: &Value) -> anyhow::Result<()> {
    use anyhow::Context;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let text = serde_json::to_string_pretty(value)? + "\n";
    std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::records::parse_line;

    /// Found by the records fuzz target: `done * 100` overflowed on a log line from outside.
    #[test]
    fn progress_line_takes_any_count() {
        let c = collect(
            "@gupbed {\"rec\":\"progress\",\"v\":1,\"run\":\"x\",\"done\":18446744073709551615,\"total\":3}",
        );
        let p = c.last_progress.unwrap();
        assert!(p.starts_with("x: 18446744073709551615/3 ("), "{p}");
    }

    /// A console log of QEMU raspi4b running the Pi image (`cargo xtask qemu --board rpi4
    /// --run gup --seed 42 --log ... -- variant=V0,V1,V6 iters=1500`): CRLF line ends, as a
    /// serial capture has them.
    const RASPI4B_LOG: &str = include_str!("../testdata/raspi4b-gup.log");

    #[test]
    fn raspi4b_serial_log_reports_like_the_live_run() {
        assert!(
            RASPI4B_LOG.contains("\r\n"),
            "the fixture keeps the serial CRLFs"
        );
        let c = collect_log(RASPI4B_LOG);
        let v = verdict(&c, Source::Log, true);
        assert_eq!((v.exit_code, v.passed), (0, true), "{:?}", v.problems);
        assert!(c.malformed.is_empty() && c.log_cut.is_none());
        let p = &c.platform.as_ref().expect("platform").view;
        assert_eq!(p.board.as_deref(), Some("rpi4"));
        assert_eq!(p.cpu_release.as_deref(), Some("spin-table"));
        assert_eq!(
            (p.cpus_online, p.mmu, p.dcache),
            (Some(4), Some(true), Some(true))
        );
        let rows: Vec<(String, String)> = c
            .gup_rows()
            .map(|(_, g)| (g.variant.clone().unwrap(), g.verdict.to_string()))
            .collect();
        assert_eq!(
            rows,
            [
                ("V0".to_string(), "CLEAN".to_string()),
                ("V1".into(), "REPRODUCED".into()),
                ("V6".into(), "REPRODUCED".into())
            ]
        );
        let host = log_host_info(&c);
        assert!(
            host.bootargs.starts_with("run=gup seed=42"),
            "{}",
            host.bootargs
        );
        let j = json_report(&c, &v, &host);
        assert_eq!(j["runs"].as_array().unwrap().len(), 3);
        assert_eq!(j["platform"]["board"], "rpi4");
        assert_eq!(j["exit_code"], 0);
    }

    #[test]
    fn a_log_cut_short_still_reports_every_finished_row() {
        // Cut after the second `result` record, in the middle of the next line.
        let lines: Vec<&str> = RASPI4B_LOG.split_inclusive('\n').collect();
        let second = lines
            .iter()
            .enumerate()
            .filter(|(_, l)| l.contains("\"rec\":\"result\""))
            .nth(1)
            .map(|(i, _)| i)
            .unwrap();
        let mut cut: String = lines[..=second].concat();
        let next = lines[second + 1..]
            .iter()
            .find(|l| l.starts_with("@gupbed"))
            .unwrap();
        cut.push_str(&next[..next.len() / 2]);
        let c = collect_log(&cut);
        assert_eq!(c.results.len(), 2);
        assert!(
            c.malformed.is_empty(),
            "the unfinished line is the cut, not a bad record"
        );
        assert!(c.log_cut.is_some());
        let v = verdict(&c, Source::Log, false);
        assert_eq!((v.exit_code, v.passed), (EXIT_PROTOCOL, false));
        let p = v
            .problems
            .iter()
            .find(|p| p.kind == "cut_short")
            .expect("cut_short");
        assert!(
            p.message.contains("after 2 finished result row(s)"),
            "{}",
            p.message
        );
        let j = json_report(&c, &v, &HostInfo::default());
        let variants: Vec<&str> = j["runs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["variant"].as_str().unwrap())
            .collect();
        assert_eq!(variants, ["V0", "V1"]);
        // A garbled line in the middle is still a malformed record.
        let garbled = RASPI4B_LOG.replacen("{\"rec\":\"audit\"", "{\"rec\":\"audit", 1);
        let c = collect_log(&garbled);
        assert_eq!(c.malformed.len(), 1);
        assert!(c.log_cut.is_none());
    }

    fn collect(log: &str) -> Collector {
        let mut c = Collector::default();
        for l in log.lines() {
            c.feed(&parse_line(l));
        }
        c
    }

    const GOOD: &str = r#"gupbed booting
@gupbed {"rec":"platform","v":1,"board":"virt","cpu_model":"cortex-a72","cpus_expected":2,"cpus_online":2,"el":1,"mmu":true,"dcache":true,"icache":true,"counter_hz":62500000,"extra":1}
@gupbed {"rec":"result","v":1,"run":"gup","passed":true,"experiment":"split","variant":"V1","attempts":100,"accepted":90,"violations":{"wrong_head":3},"first_violation_ns":1500000000,"verdict":"REPRODUCED","expected":"REPRODUCED"}
@gupbed {"rec":"result","v":1,"run":"gup","passed":true,"experiment":"split","variant":"V0","attempts":100,"accepted":100,"violations":{},"first_violation_ns":null,"verdict":"CLEAN","expected":"ANY"}
@gupbed {"rec":"end","v":1,"passed":true,"exit_code":0}"#;

    #[test]
    fn good_run_passes_and_reports() {
        let c = collect(GOOD);
        let v = verdict(
            &c,
            Source::Qemu {
                exit: Some(0),
                timed_out: false,
            },
            true,
        );
        assert_eq!((v.exit_code, v.passed), (0, true), "{:?}", v.problems);
        let host = HostInfo {
            qemu_version: Some("10.0.2".into()),
            accel: Some("tcg".into()),
            bootargs: "run=gup".into(),
            duration_s: 1.23456,
        };
        let j = json_report(&c, &v, &host);
        assert_eq!(j["schema"], 1);
        assert_eq!(j["platform"]["cpus_online"], 2);
        assert_eq!(j["platform"]["qemu_version"], "10.0.2");
        assert!(
            j["platform"].get("extra").is_none(),
            "only the documented keys"
        );
        assert_eq!(j["runs"][0]["first_violation_s"], 1.5);
        assert!(j["runs"][0].get("first_violation_ns").is_none());
        assert_eq!(j["runs"][1]["first_violation_s"], Value::Null);
        assert_eq!(j["runs"][0].get("rec"), None);
        assert_eq!(j["audit"], Value::Null);
        assert_eq!(j["duration_s"], 1.235);
        assert_eq!(j["passed"], true);
    }

    #[test]
    fn missing_end_fails_even_with_exit_zero() {
        let c =
            collect("hello\n@gupbed {\"rec\":\"result\",\"v\":1,\"run\":\"x\",\"passed\":true}");
        let v = verdict(
            &c,
            Source::Qemu {
                exit: Some(0),
                timed_out: false,
            },
            false,
        );
        assert_eq!(v.exit_code, EXIT_PROTOCOL);
        assert!(v.problems.iter().any(|p| p.kind == "no_end"));
    }

    #[test]
    fn kernel_exit_codes_propagate() {
        let c = collect(
            "@gupbed {\"rec\":\"fault\",\"v\":1,\"cpu\":1,\"ec_name\":\"DABT\"}\n\
             @gupbed {\"rec\":\"end\",\"v\":1,\"passed\":false,\"exit_code\":3}",
        );
        let v = verdict(
            &c,
            Source::Qemu {
                exit: Some(3),
                timed_out: false,
            },
            false,
        );
        assert_eq!(v.exit_code, 3);
        assert!(v.problems.is_empty(), "{:?}", v.problems);
        assert_eq!(c.faults[0].cpu, 1);
        // Same log read from a file.
        assert_eq!(verdict(&c, Source::Log, false).exit_code, 3);
    }

    #[test]
    fn timeout_reports_last_line() {
        let c = collect(
            "step 1\nstep 2\n@gupbed {\"rec\":\"progress\",\"v\":1,\"done\":1,\"total\":4}",
        );
        let v = verdict(
            &c,
            Source::Qemu {
                exit: None,
                timed_out: true,
            },
            false,
        );
        assert_eq!(v.exit_code, EXIT_TIMEOUT);
        assert!(v.problems[0].message.contains("step 2"), "{:?}", v.problems);
        assert_eq!(c.last_progress.as_deref(), Some("run: 1/4 (25%)"));
    }

    #[test]
    fn contradictions_and_malformed_records_fail() {
        let c = collect("@gupbed {\"rec\":\"end\",\"v\":1,\"passed\":true,\"exit_code\":0}");
        let v = verdict(
            &c,
            Source::Qemu {
                exit: Some(2),
                timed_out: false,
            },
            false,
        );
        assert_eq!(v.exit_code, 2);
        assert!(v.problems.iter().any(|p| p.kind == "exit_mismatch"));

        let c = collect(
            "@gupbed {\"rec\":\"end\",\"v\":1,\"passed\":true,\"exit_code\":0}\n@gupbed {oops",
        );
        let v = verdict(
            &c,
            Source::Qemu {
                exit: Some(0),
                timed_out: false,
            },
            false,
        );
        assert_eq!(v.exit_code, EXIT_PROTOCOL);
    }

    #[test]
    fn expect_flags_mismatches_only() {
        let c = collect(&GOOD.replace(
            r#""verdict":"CLEAN","expected":"ANY""#,
            r#""verdict":"CLEAN","expected":"REPRODUCED""#,
        ));
        let v = verdict(
            &c,
            Source::Qemu {
                exit: Some(0),
                timed_out: false,
            },
            true,
        );
        assert_eq!(v.exit_code, EXIT_RUN_FAILED);
        assert_eq!(v.problems.len(), 1);
        assert!(v.problems[0]
            .message
            .contains("split V0: verdict CLEAN, expected REPRODUCED"));
        // Without --expect the host does not judge verdicts.
        assert_eq!(
            verdict(
                &c,
                Source::Qemu {
                    exit: Some(0),
                    timed_out: false
                },
                false
            )
            .exit_code,
            0
        );
    }

    #[test]
    fn kernel_error_records_are_listed() {
        let c = collect(
            "@gupbed {\"rec\":\"error\",\"v\":1,\"kind\":\"bootargs\",\"message\":\"unknown key bogus\"}\n\
             @gupbed {\"rec\":\"end\",\"v\":1,\"passed\":false,\"exit_code\":2}",
        );
        let v = verdict(
            &c,
            Source::Qemu {
                exit: Some(2),
                timed_out: false,
            },
            false,
        );
        assert_eq!(v.exit_code, 2);
        assert_eq!(v.problems[0].source, "kernel");
        assert_eq!(v.problems[0].kind, "bootargs");
    }
}
