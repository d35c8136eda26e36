//! xtask's record parser and everything `cargo xtask report` does with its output (collector,
//! verdict, summary table, JSON report) over arbitrary console text: noise, cut lines, bad
//! JSON, wrong types, huge numbers. The host side must never panic on input from outside.
//!
//! Half the inputs are raw text; the other half (first byte odd) are decoded as a structured
//! log: records of the kinds and keys the host reads, with extreme values (u64::MAX, negative,
//! floats, wrong types, nested objects), then cut, prefixed with noise or given a `\r`, so the
//! fuzzer reaches the code behind a well-formed record as easily as the parser itself.
#![no_main]

// The xtask modules themselves (xtask is a binary crate): same files, same module names.
#[allow(dead_code)]
#[path = "../../xtask/src/records.rs"]
mod records;
#[allow(dead_code)]
#[path = "../../xtask/src/report.rs"]
mod report;
#[allow(dead_code)]
#[path = "../../xtask/src/table.rs"]
mod table;

use libfuzzer_sys::arbitrary::{Result, Unstructured};
use libfuzzer_sys::fuzz_target;
use report::{Collector, HostInfo, Source};
use serde_json::{json, Map, Value};

const KINDS: &[&str] = &[
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
    "run_start",
    "violation",
    "unknown",
];

const KEYS: &[&str] = &[
    "run",
    "passed",
    "exit_code",
    "done",
    "total",
    "elapsed_ms",
    "variant",
    "experiment",
    "attempts",
    "accepted",
    "window_hits",
    "violations",
    "first_violation_ns",
    "first_violation_s",
    "verdict",
    "expected",
    "cpu",
    "ec_name",
    "description",
    "esr",
    "elr",
    "far",
    "kind",
    "message",
    "board",
    "cpu_model",
    "cpus_expected",
    "cpus_online",
    "el",
    "mmu",
    "counter_hz",
    "test",
    "instances",
    "weak",
    "weak_ppm",
    "allowed_by_arm",
    "fenced_violation",
    "memmodel_measured",
    "memmodel_claimed",
    "store_store",
    "load_load",
    "name",
    "ns_per_op",
    "frames_total",
    "leaked",
    "double_free",
    "iters",
    "seed",
    "declared",
    "measured",
    "effective",
    "shootdown",
    "latency_median_ns",
];

const WORDS: &[&str] = &[
    "CLEAN",
    "REPRODUCED",
    "INCONCLUSIVE",
    "NOT REACHABLE HERE",
    "ANY",
    "gup",
    "suite",
    "selftest",
    "V0",
    "V1",
    "split",
    "tso",
    "weak",
    "",
    "\u{1F600}",
    "a\"b",
    "é",
];

fn value(u: &mut Unstructured, depth: u32) -> Result<Value> {
    Ok(match u.int_in_range(0..=11u8)? {
        0 => json!(u.arbitrary::<u64>()?),
        1 => json!(*u.choose(&[0u64, 1, 99, 100, u64::MAX, u64::MAX / 100 + 1, 1 << 53])?),
        2 => json!(u.arbitrary::<i64>()?),
        3 => json!(*u.choose(&[-1i64, i64::MIN, i64::MAX])?),
        4 => {
            let f: f64 = *u.choose(&[0.0, -0.0, 1e308, -1e308, 5e-324, 0.5, 1e19, 2.5e-9])?;
            json!(f)
        }
        5 => json!(u.arbitrary::<bool>()?),
        6 => Value::Null,
        7 => json!(u.choose(WORDS)?),
        8 => json!(u.arbitrary::<String>()?),
        9 if depth < 2 => {
            let n = u.int_in_range(0..=4)?;
            let mut m = Map::new();
            for _ in 0..n {
                let k = if u.arbitrary()? {
                    u.choose(KEYS)?.to_string()
                } else {
                    u.arbitrary::<String>()?
                };
                m.insert(k, value(u, depth + 1)?);
            }
            Value::Object(m)
        }
        10 if depth < 2 => {
            let n = u.int_in_range(0..=3)?;
            let mut v = Vec::new();
            for _ in 0..n {
                v.push(value(u, depth + 1)?);
            }
            Value::Array(v)
        }
        _ => json!(u.int_in_range(0..=1000u64)?),
    })
}

fn structured(u: &mut Unstructured) -> Result<String> {
    let mut out = String::new();
    let lines = u.int_in_range(1..=24)?;
    for _ in 0..lines {
        if u.ratio(1, 6)? {
            out.push_str(&u.arbitrary::<String>()?);
            out.push('\n');
            continue;
        }
        let mut m = Map::new();
        if u.ratio(15, 16)? {
            m.insert("rec".into(), json!(u.choose(KINDS)?));
        }
        if u.ratio(15, 16)? {
            m.insert("v".into(), json!(1));
        } else {
            m.insert("v".into(), value(u, 1)?);
        }
        let n = u.int_in_range(0..=10)?;
        for _ in 0..n {
            m.insert(u.choose(KEYS)?.to_string(), value(u, 0)?);
        }
        let mut line = format!("{}{}", records::PREFIX, Value::Object(m));
        if u.ratio(1, 8)? {
            // A line cut by a reset or a lost byte (on a char boundary: the log is text).
            let cut = u.int_in_range(0..=line.len())?;
            let cut = (0..=cut)
                .rev()
                .find(|i| line.is_char_boundary(*i))
                .unwrap_or(0);
            line.truncate(cut);
        }
        if u.ratio(1, 8)? {
            line.insert_str(0, u.choose(&["noise", "*** ", "cpu 1: ", "\u{0}"])?);
        }
        if u.ratio(1, 8)? {
            line.push('\r');
        }
        out.push_str(&line);
        out.push('\n');
    }
    Ok(out)
}

fn check(text: &str) {
    let mut c = Collector::default();
    for line in text.lines() {
        c.feed(&records::parse_line(line));
    }
    for (source, expect) in [
        (Source::Log, true),
        (
            Source::Qemu {
                exit: Some(0),
                timed_out: false,
            },
            false,
        ),
        (
            Source::Qemu {
                exit: None,
                timed_out: true,
            },
            true,
        ),
    ] {
        let v = report::verdict(&c, source, expect);
        assert_eq!(v.passed, v.exit_code == 0);
        let _ = table::summary(&c, &v);
        let json = report::json_report(&c, &v, &HostInfo::default());
        serde_json::to_string(&json).expect("the report serialises");
    }
}

fuzz_target!(|data: &[u8]| {
    match data.split_first() {
        Some((mode, rest)) if mode & 1 == 1 => {
            let mut u = Unstructured::new(rest);
            if let Ok(text) = structured(&mut u) {
                check(&text);
            }
        }
        // As `cargo xtask report` reads a log file and `cargo xtask qemu` reads QEMU's stdout.
        _ => check(&String::from_utf8_lossy(data)),
    }
});
