//! Plain-text tables of `result` records (and the audit/fault/error summary under them).

use crate::records::{GupResult, Litmus, Rec, RunResult};
use crate::report::{Collector, Verdict};
use serde_json::Value;

/// Render rows as aligned columns; the first row is the header.
pub fn render(rows: &[Vec<String>]) -> String {
    let cols = rows.iter().map(Vec::len).max().unwrap_or(0);
    let mut widths = vec![0; cols];
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            widths[i] = widths[i].max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for (n, row) in rows.iter().enumerate() {
        let line: Vec<String> = row
            .iter()
            .enumerate()
            .map(|(i, c)| format!("{c:<w$}", w = widths[i]))
            .collect();
        out.push_str(line.join("  ").trim_end());
        out.push('\n');
        if n == 0 {
            let rule: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
            out.push_str(&rule.join("  "));
            out.push('\n');
        }
    }
    out
}

/// A cell: the value, or "-" when absent.
fn opt<T: ToString>(v: &Option<T>) -> String {
    v.as_ref().map_or_else(|| "-".into(), T::to_string)
}

/// A raw JSON value as a cell (strings without quotes).
fn cell(v: &Value) -> String {
    match v {
        Value::Null => "-".into(),
        Value::String(s) => s.clone(),
        v => v.to_string(),
    }
}

/// Registers as hex.
fn hex(v: Option<u64>) -> String {
    v.map_or_else(|| "-".into(), |n| format!("{n:#x}"))
}

/// The "kind=n" list of a row's non-zero violation counts.
pub fn violation_kinds(g: &GupResult) -> String {
    let kinds: Vec<String> = g
        .violations
        .nonzero()
        .map(|(k, n)| format!("{k}={n}"))
        .collect();
    kinds.join(",")
}

/// Table of GUP experiment results.
pub fn gup_table(results: &[&GupResult]) -> String {
    let mut rows = vec![[
        "experiment",
        "variant",
        "attempts",
        "accepted",
        "window hits",
        "violations",
        "by kind",
        "first viol. s",
        "verdict",
        "expected",
    ]
    .map(String::from)
    .to_vec()];
    for g in results {
        let kinds = violation_kinds(g);
        rows.push(vec![
            opt(&g.experiment),
            opt(&g.variant),
            opt(&g.attempts),
            opt(&g.accepted),
            // Iterations whose race window was hit; CLEAN needs enough of them (older records
            // without the key show "-").
            opt(&g.window_hits),
            g.violations.total().to_string(),
            if kinds.is_empty() { "-".into() } else { kinds },
            g.first_violation_s
                .map_or_else(|| "-".into(), |f| format!("{f:.3}")),
            g.verdict.to_string(),
            opt(&g.expected),
        ]);
    }
    render(&rows)
}

/// Table of any other results: run, passed and the remaining keys (as the kernel sent them).
pub fn generic_table(results: &[&Rec<RunResult>]) -> String {
    let mut rows = vec![vec!["run".to_string(), "passed".into(), "details".into()]];
    for r in results {
        let details: Vec<String> = r
            .raw
            .iter()
            .filter(|(k, _)| !matches!(k.as_str(), "run" | "passed"))
            .map(|(k, v)| format!("{k}={}", cell(v)))
            .collect();
        rows.push(vec![r.run.clone(), opt(&r.passed), details.join(" ")]);
    }
    render(&rows)
}

/// One row per `litmus` record: test, weak outcomes / instances, rate, Arm's verdict.
fn litmus_table(ls: &[Rec<Litmus>]) -> String {
    let mut rows = vec![vec![
        "litmus test".to_string(),
        "weak".into(),
        "instances".into(),
        "per million".into(),
        "Arm".into(),
        "violation".into(),
    ]];
    for l in ls {
        rows.push(vec![
            opt(&l.test),
            opt(&l.weak),
            opt(&l.instances),
            opt(&l.weak_ppm),
            match l.allowed_by_arm {
                Some(true) => "allows".into(),
                Some(false) => "forbids".into(),
                None => "?".into(),
            },
            if l.fenced_violation == Some(true) {
                "YES".into()
            } else {
                String::new()
            },
        ]);
    }
    render(&rows)
}

/// The end-of-run summary: result tables, audit, faults, problems, verdict line.
pub fn summary(c: &Collector, v: &Verdict) -> String {
    let mut out = String::new();
    let gup: Vec<&GupResult> = c.gup_rows().map(|(_, g)| g).collect();
    let other: Vec<_> = c.results.iter().filter(|r| r.gup().is_none()).collect();
    if !other.is_empty() {
        out.push_str(&generic_table(&other));
    }
    if !gup.is_empty() {
        if !out.is_empty() {
            out.push('\n');
        }
        out.push_str(&gup_table(&gup));
    }
    if c.results.is_empty() {
        out.push_str("(no result records)\n");
    }
    if !c.litmus.is_empty() {
        out.push('\n');
        out.push_str(&litmus_table(&c.litmus));
    }
    if let Some(cal) = &c.calibration {
        out.push_str(&format!(
            "calibration: memory model measured {} (claimed {}); store->store {}, load->load {}, \
             store->load {}, load->store {}; Arm-forbidden outcome seen: {}, LKMM-forbidden: {}\n",
            opt(&cal.memmodel_measured),
            opt(&cal.memmodel_claimed),
            opt(&cal.store_store),
            opt(&cal.load_load),
            opt(&cal.store_load),
            opt(&cal.load_store),
            opt(&cal.fenced_violation),
            opt(&cal.lkmm_violation),
        ));
    }
    if let Some(a) = &c.audit {
        let items: Vec<String> = a
            .raw
            .iter()
            .map(|(k, v)| format!("{k}={}", cell(v)))
            .collect();
        out.push_str(&format!("audit: {}\n", items.join(" ")));
    }
    for f in &c.faults {
        out.push_str(&format!(
            "fault: cpu {} {} esr={} elr={} far={}: {}\n",
            f.cpu,
            opt(&f.ec_name),
            hex(f.esr),
            hex(f.elr),
            hex(f.far),
            opt(&f.description),
        ));
    }
    for p in &v.problems {
        out.push_str(&format!(
            "error ({}, {}): {}\n",
            p.source, p.kind, p.message
        ));
    }
    out.push_str(&format!(
        "{} (exit code {})\n",
        if v.passed { "PASSED" } else { "FAILED" },
        v.exit_code
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn gup_rows_show_totals_and_kinds() {
        let r = json!({"run":"gup","experiment":"split","variant":"V1","attempts":10,"accepted":8,
            "window_hits":7,"violations":{"wrong_head":2,"freed_while_held":1,"none":0},
            "first_violation_s":0.25,"verdict":"REPRODUCED","expected":"ANY"});
        let Value::Object(r) = r else { unreachable!() };
        let r: Rec<RunResult> = Rec::parse(r).unwrap();
        let t = gup_table(&[r.gup().unwrap()]);
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines.len(), 3);
        assert!(lines[0].starts_with("experiment  variant"));
        assert!(lines[2].contains("wrong_head=2,freed_while_held=1"), "{t}");
        assert!(!lines[2].contains("none="), "zero kinds are hidden");
        assert!(lines[2].contains(" 3 "), "total: {t}");
        assert!(lines[2].contains("0.250"));
        assert!(lines[0].contains("window hits"));
        assert!(lines[2].contains(" 7 "), "window hits: {t}");
    }

    #[test]
    fn columns_align() {
        let t = render(&[
            vec!["a".into(), "b".into()],
            vec!["long".into(), "x".into()],
        ]);
        assert_eq!(t, "a     b\n----  -\nlong  x\n");
    }
}
