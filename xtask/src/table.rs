//! Plain-text tables of `result` records (and the audit/fault/error summary under them).

use crate::report::{Collector, Verdict};
use serde_json::{Map, Value};

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

fn s(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => "-".into(),
        Some(Value::String(s)) => s.clone(),
        Some(v) => v.to_string(),
    }
}

/// Registers as hex (records carry them as integers).
fn hex(v: Option<&Value>) -> String {
    match v.and_then(Value::as_u64) {
        Some(n) => format!("{n:#x}"),
        None => s(v),
    }
}

/// Total and "kind=n" list of a `violations` object.
pub fn violations(r: &Map<String, Value>) -> (u64, String) {
    let Some(Value::Object(v)) = r.get("violations") else {
        return (0, String::new());
    };
    let total = v.values().filter_map(Value::as_u64).sum();
    let kinds: Vec<String> = v
        .iter()
        .filter(|(_, n)| n.as_u64() != Some(0))
        .map(|(k, n)| format!("{k}={}", s(Some(n))))
        .collect();
    (total, kinds.join(","))
}

fn is_gup(r: &Map<String, Value>) -> bool {
    r.contains_key("verdict")
}

/// Table of GUP experiment results.
pub fn gup_table(results: &[&Map<String, Value>]) -> String {
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
    for r in results {
        let (total, kinds) = violations(r);
        let first = match r.get("first_violation_s").and_then(Value::as_f64) {
            Some(f) => format!("{f:.3}"),
            None => "-".into(),
        };
        rows.push(vec![
            s(r.get("experiment")),
            s(r.get("variant")),
            s(r.get("attempts")),
            s(r.get("accepted")),
            // Iterations whose race window was hit; CLEAN needs enough of them (older records
            // without the key show "-").
            s(r.get("window_hits")),
            total.to_string(),
            if kinds.is_empty() { "-".into() } else { kinds },
            first,
            s(r.get("verdict")),
            s(r.get("expected")),
        ]);
    }
    render(&rows)
}

/// Table of any other results: run, passed and the remaining keys.
pub fn generic_table(results: &[&Map<String, Value>]) -> String {
    let mut rows = vec![vec!["run".to_string(), "passed".into(), "details".into()]];
    for r in results {
        let details: Vec<String> = r
            .iter()
            .filter(|(k, _)| !matches!(k.as_str(), "run" | "passed"))
            .map(|(k, v)| format!("{k}={}", s(Some(v))))
            .collect();
        rows.push(vec![s(r.get("run")), s(r.get("passed")), details.join(" ")]);
    }
    render(&rows)
}

/// The end-of-run summary: result tables, audit, faults, problems, verdict line.
/// One row per `litmus` record: test, weak outcomes / instances, rate, Arm's verdict.
fn litmus_table(ls: &[Map<String, Value>]) -> String {
    let mut rows = vec![vec![
        "litmus test".to_string(),
        "weak".into(),
        "instances".into(),
        "per million".into(),
        "Arm".into(),
        "violation".into(),
    ]];
    for l in ls {
        let allowed = l.get("allowed_by_arm").and_then(Value::as_bool);
        rows.push(vec![
            s(l.get("test")),
            s(l.get("weak")),
            s(l.get("instances")),
            s(l.get("weak_ppm")),
            match allowed {
                Some(true) => "allows".into(),
                Some(false) => "forbids".into(),
                None => "?".into(),
            },
            if l.get("fenced_violation").and_then(Value::as_bool) == Some(true) {
                "YES".into()
            } else {
                String::new()
            },
        ]);
    }
    render(&rows)
}

pub fn summary(c: &Collector, v: &Verdict) -> String {
    let mut out = String::new();
    let gup: Vec<_> = c.results.iter().filter(|r| is_gup(r)).collect();
    let other: Vec<_> = c.results.iter().filter(|r| !is_gup(r)).collect();
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
            s(cal.get("memmodel_measured")),
            s(cal.get("memmodel_claimed")),
            s(cal.get("store_store")),
            s(cal.get("load_load")),
            s(cal.get("store_load")),
            s(cal.get("load_store")),
            s(cal.get("fenced_violation")),
            s(cal.get("lkmm_violation")),
        ));
    }
    if let Some(a) = &c.audit {
        let items: Vec<String> = a
            .iter()
            .map(|(k, v)| format!("{k}={}", s(Some(v))))
            .collect();
        out.push_str(&format!("audit: {}\n", items.join(" ")));
    }
    for f in &c.faults {
        out.push_str(&format!(
            "fault: cpu {} {} esr={} elr={} far={}: {}\n",
            s(f.get("cpu")),
            s(f.get("ec_name")),
            hex(f.get("esr")),
            hex(f.get("elr")),
            hex(f.get("far")),
            s(f.get("description")),
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
        let r = json!({"experiment":"split","variant":"V1","attempts":10,"accepted":8,
            "window_hits":7,"violations":{"wrong_head":2,"freed_while_held":1,"none":0},
            "first_violation_s":0.25,"verdict":"REPRODUCED","expected":"ANY"});
        let Value::Object(r) = r else { unreachable!() };
        let t = gup_table(&[&r]);
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
