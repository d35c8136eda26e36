//! Record predicates of the integration cases: what a case's records must say beyond its exit
//! code. Each is a plain function of the collected records, tested here on crafted logs.

use crate::records::{GupResult, Rec, ResultDetail, RunResult, Verdict};
use crate::report::{self, Collector};

pub fn selftest_1(c: &Collector) -> Result<(), String> {
    selftest_ok(c, 1)
}
pub fn selftest_2(c: &Collector) -> Result<(), String> {
    selftest_ok(c, 2)
}
pub fn selftest_4(c: &Collector) -> Result<(), String> {
    selftest_ok(c, 4)
}

/// The first `result` of `run`.
fn result_of<'a>(c: &'a Collector, run: &str) -> Result<&'a Rec<RunResult>, String> {
    c.results
        .iter()
        .find(|r| r.run == run)
        .ok_or_else(|| format!("no {run} result record"))
}

fn end_passed(c: &Collector) -> Result<(), String> {
    match c.end {
        Some((true, 0)) => Ok(()),
        other => Err(format!(
            "end record {other:?}, want passed with exit_code 0"
        )),
    }
}

/// All `n` CPUs up, per-CPU info for each, and the selftest's counters add up.
pub fn selftest_ok(c: &Collector, n: u64) -> Result<(), String> {
    let p = c.platform.as_ref().ok_or("no platform record")?;
    if p.cpus_online != Some(n) || p.cpus_expected != Some(n) {
        return Err(format!(
            "platform: cpus_online {:?}, cpus_expected {:?}, want {n}",
            p.cpus_online, p.cpus_expected
        ));
    }
    let mut ids: Vec<u64> = c.cpus.iter().filter_map(|r| r.cpu).collect();
    ids.sort_unstable();
    ids.dedup();
    if ids != (0..n).collect::<Vec<_>>() {
        return Err(format!("cpu records for CPUs {ids:?}, want 0..{n}"));
    }
    if let Some(bad) = c.cpus.iter().find(|r| r.mmu != Some(true)) {
        return Err(format!("cpu record with the MMU off: {:?}", bad.raw));
    }
    if let Some(bad) = c
        .cpus
        .iter()
        .find(|r| r.dcache != Some(true) || r.icache != Some(true))
    {
        return Err(format!("cpu record with a cache off: {:?}", bad.raw));
    }
    let r = result_of(c, "selftest")?;
    if r.passed != Some(true) {
        return Err(format!("selftest result not passed: {:?}", r.raw));
    }
    let ResultDetail::Selftest(s) = &r.detail else {
        return Err(format!("not a selftest result: {:?}", r.raw));
    };
    let want = s.expected_total.ok_or("result lacks expected_total")?;
    for (k, v) in [
        ("mutex_total", s.mutex_total),
        ("atomic_total", s.atomic_total),
    ] {
        if v != Some(want) {
            return Err(format!("{k} = {v:?}, expected_total = {want}"));
        }
    }
    if want == 0 {
        return Err("expected_total is 0: the selftest did no work".into());
    }
    if !c.faults.is_empty() {
        return Err(format!("fault records: {:?}", c.faults));
    }
    end_passed(c)
}

/// The Pi image under QEMU raspi4b: the self-test on all 4 CPUs (MMU and caches on), the
/// secondaries released through the spin table, the board's `platform` record.
pub fn rpi4_selftest(c: &Collector) -> Result<(), String> {
    selftest_ok(c, 4)?;
    let p = &c.platform.as_ref().ok_or("no platform record")?.view;
    let got = (
        p.board.as_deref(),
        p.cpu_release.as_deref(),
        p.el,
        p.mmu,
        p.dcache,
        p.icache,
    );
    if got
        != (
            Some("rpi4"),
            Some("spin-table"),
            Some(1),
            Some(true),
            Some(true),
            Some(true),
        )
    {
        return Err(format!(
            "platform (board, cpu_release, el, mmu, dcache, icache) = {got:?}, want rpi4 with \
             spin-table secondaries at EL1, MMU and caches on"
        ));
    }
    Ok(())
}

/// A short GUP run: V1 (no membership recheck) is caught, V0 shows no violation (its verdict
/// may be INCONCLUSIVE when so few iterations give too few window hits), every verdict is one
/// the kernel expected, the audit is clean.
pub fn gup_v1_caught_v0_clean(c: &Collector) -> Result<(), String> {
    let v1 = gup_result(c, "V1")?;
    if v1.violations.total() == 0 || v1.verdict != Verdict::Reproduced {
        return Err(format!("V1 not caught: {v1:?}"));
    }
    let v0 = gup_result(c, "V0")?;
    if v0.violations.total() != 0 || v0.accepted.unwrap_or(0) == 0 {
        return Err(format!("V0 not clean (or accepted nothing): {v0:?}"));
    }
    if !matches!(v0.verdict, Verdict::Clean | Verdict::Inconclusive) {
        return Err(format!("V0 verdict {}", v0.verdict));
    }
    if let Some(a) = &c.audit {
        if a.passed != Some(true) {
            return Err(format!("audit failed: {:?}", a.raw));
        }
    }
    end_passed(c)
}

/// Every litmus test ran its instances, nothing the Linux memory model forbids was seen, and a
/// calibration verdict came out. On an x86-64 host (TCG keeps stores and loads in order) the
/// store->store and load->load tests must show no weak outcome: deterministic there.
pub fn litmus_calibrated(c: &Collector) -> Result<(), String> {
    if c.litmus.len() < 8 {
        return Err(format!("only {} litmus records", c.litmus.len()));
    }
    for l in &c.litmus {
        let name = l.test.as_deref().unwrap_or("?");
        if l.instances != Some(20000) {
            return Err(format!("{name}: instances {:?}", l.instances));
        }
        if l.forbidden_by_lkmm == Some(true) && l.weak != Some(0) {
            return Err(format!("{name}: LKMM-forbidden outcome seen: {:?}", l.raw));
        }
        let tso_forbidden = matches!(name, "MP" | "LB" | "2+2W" | "MP+po+rmb" | "MP+wmb+po");
        if cfg!(target_arch = "x86_64") && tso_forbidden && l.weak != Some(0) {
            return Err(format!("{name}: weak outcome on a TSO host: {:?}", l.raw));
        }
    }
    let cal = c.calibration.as_ref().ok_or("no calibration record")?;
    let model = cal.memmodel_measured.as_deref();
    if cfg!(target_arch = "x86_64") && model != Some("tso") {
        return Err(format!("x86-64 host measured as {model:?}, expected tso"));
    }
    Ok(())
}

/// The allocator stress ran and its audit found every frame back, none leaked or doubly freed.
pub fn mm_stress_clean(c: &Collector) -> Result<(), String> {
    let r = result_of(c, "mm-stress")?;
    if r.passed != Some(true) {
        return Err(format!("mm-stress result not passed: {:?}", r.raw));
    }
    let ResultDetail::MmStress(m) = &r.detail else {
        return Err(format!("not an mm-stress result: {:?}", r.raw));
    };
    if m.allocs.unwrap_or(0) == 0 {
        return Err(format!("mm-stress allocated nothing: {:?}", r.raw));
    }
    let a = c.audit.as_ref().ok_or("no audit record")?;
    for (k, v) in [
        ("leaked", a.leaked),
        ("double_free", a.double_free),
        ("bad_state", a.bad_state),
    ] {
        if v != Some(0) {
            return Err(format!("audit {k} = {v:?}"));
        }
    }
    let (start, end) = (a.frames_free_start, a.frames_free_end);
    if start.is_none() || start != end {
        return Err(format!(
            "audit free frames {start:?} at start, {end:?} at end"
        ));
    }
    if a.passed != Some(true) {
        return Err("audit not passed".into());
    }
    end_passed(c)
}

fn gup_result<'a>(c: &'a Collector, variant: &str) -> Result<&'a GupResult, String> {
    c.gup_rows()
        .map(|(_, g)| g)
        .find(|g| g.variant.as_deref() == Some(variant))
        .ok_or_else(|| format!("no result record for {variant}"))
}

/// V0 (fully fixed) shows no violation, V1 (no membership recheck) is reproduced, and every
/// verdict is what the kernel expected for it.
pub fn gup_logical_races(c: &Collector) -> Result<(), String> {
    let mismatches = report::expect_mismatches(&c.results);
    if !mismatches.is_empty() {
        return Err(mismatches.join("; "));
    }
    let v0 = gup_result(c, "V0")?;
    if v0.violations.total() != 0 || v0.verdict != Verdict::Clean {
        return Err(format!("V0 not clean: {v0:?}"));
    }
    if v0.accepted.unwrap_or(0) == 0 {
        return Err("V0 accepted nothing: the reader never got through".into());
    }
    if v0.attempts.unwrap_or(0) < 100_000 {
        return Err(format!(
            "V0 ran {:?} attempts, fewer than 10^5",
            v0.attempts
        ));
    }
    for id in ["V1", "V6", "V7", "V10"] {
        let r = gup_result(c, id)?;
        if r.violations.total() == 0 || r.verdict != Verdict::Reproduced {
            return Err(format!("{id} not caught: {r:?}"));
        }
    }
    if let Some(a) = &c.audit {
        if a.passed != Some(true) {
            return Err(format!("audit failed: {:?}", a.raw));
        }
    }
    match c.end {
        Some((true, 0)) => Ok(()),
        other => Err(format!(
            "end record {other:?} (V1: {})",
            crate::table::violation_kinds(gup_result(c, "V1")?)
        )),
    }
}

/// The deliberate fault is reported with the CPU it happened on.
pub fn fault_named(c: &Collector) -> Result<(), String> {
    let f = c.faults.first().ok_or("no fault record")?;
    if f.cpu >= 2 {
        return Err(format!("fault on CPU {} at -smp 2", f.cpu));
    }
    if f.esr.is_none() || f.elr.is_none() || f.ec_name.is_none() {
        return Err(format!(
            "fault record lacks esr, elr or ec_name: {:?}",
            f.raw
        ));
    }
    Ok(())
}

/// A deliberate panic is reported with the CPU it happened on (an `error` record of kind panic).
pub fn panic_named(c: &Collector) -> Result<(), String> {
    let p = c
        .errors
        .iter()
        .find(|e| e.kind == "panic")
        .ok_or("no panic error record")?;
    match p.cpu {
        Some(cpu) if cpu < 2 => Ok(()),
        other => Err(format!("panic record names CPU {other:?} at -smp 2")),
    }
}

/// The kernel noticed its deadline and said so before exiting 4.
pub fn deadline_hit(c: &Collector) -> Result<(), String> {
    if !c.errors.iter().any(|e| e.kind == "deadline") {
        return Err(format!("no deadline error record: {:?}", c.errors));
    }
    match c.end {
        Some((false, 4)) => Ok(()),
        other => Err(format!(
            "end record {other:?}, want failed with exit_code 4"
        )),
    }
}

/// Killed by the host: no `end` record, and the last line seen is known.
pub fn host_killed(c: &Collector) -> Result<(), String> {
    if c.end.is_some() {
        return Err("an end record arrived although the run was killed".into());
    }
    if c.last_line.is_none() {
        return Err("no console line seen before the kill".into());
    }
    Ok(())
}

/// A key the run does not read is refused by the kernel, naming the run that reads it.
pub fn key_of_another_run(c: &Collector) -> Result<(), String> {
    if c.errors.iter().any(|e| {
        e.kind == "bootargs"
            && e.message.contains("not read by run=suite")
            && e.message.contains("run=selftest")
    }) {
        Ok(())
    } else {
        Err(format!(
            "no bootargs error record naming run=selftest: {:?}",
            c.errors
        ))
    }
}

/// A bad bootarg is refused with an `error` record.
pub fn bootargs_error(c: &Collector) -> Result<(), String> {
    if c.errors
        .iter()
        .any(|e| e.kind == "bootargs" && e.message.contains("bogus"))
    {
        Ok(())
    } else {
        Err(format!(
            "no bootargs error record naming `bogus`: {:?}",
            c.errors
        ))
    }
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
        @gupbed {"rec":"cpu","v":1,"cpu":0,"mmu":true,"dcache":true,"icache":true}
        @gupbed {"rec":"cpu","v":1,"cpu":1,"mmu":true,"dcache":true,"icache":true}
        @gupbed {"rec":"result","v":1,"run":"selftest","passed":true,"mutex_total":20,"atomic_total":20,"expected_total":20}
        @gupbed {"rec":"end","v":1,"passed":true,"exit_code":0}"#;

    #[test]
    fn selftest_predicate_accepts_a_good_run() {
        selftest_ok(&rec(SELFTEST2), 2).unwrap();
    }

    #[test]
    fn rpi4_predicates_read_the_raspi4b_log() {
        let log = include_str!("../../testdata/raspi4b-gup.log");
        let c = report::collect_log(log);
        gup_v1_caught_v0_clean(&c).unwrap();
        // The same log as a self-test lacks the selftest result: refused.
        assert!(rpi4_selftest(&c).is_err());
        let mut pi = rec(&SELFTEST2
            .replace("\"cpus_expected\":2,\"cpus_online\":2", "\"cpus_expected\":4,\"cpus_online\":4,\"board\":\"rpi4\",\"cpu_release\":\"spin-table\",\"el\":1,\"mmu\":true,\"dcache\":true,\"icache\":true"));
        assert!(rpi4_selftest(&pi).is_err(), "only 2 cpu records");
        for n in 2..4 {
            pi.feed(&crate::records::parse_line(&format!(
                "@gupbed {{\"rec\":\"cpu\",\"v\":1,\"cpu\":{n},\"mmu\":true,\"dcache\":true,\"icache\":true}}"
            )));
        }
        rpi4_selftest(&pi).unwrap();
        let virt = rec(&SELFTEST2.replace(
            "\"cpus_online\":2",
            "\"cpus_online\":2,\"board\":\"qemu-virt\"",
        ));
        assert!(rpi4_selftest(&virt).is_err());
    }

    #[test]
    fn selftest_predicate_catches_each_defect() {
        assert!(selftest_ok(&rec(SELFTEST2), 4).is_err(), "wrong CPU count");
        let zero = |s: &str| s.replace(":20", ":0");
        type Mutate = fn(&str) -> String;
        let cases: [(&str, Mutate); 8] = [
            ("lost atomic increment", |s| {
                s.replace("\"atomic_total\":20", "\"atomic_total\":19")
            }),
            ("cpu 1 missing", |s| s.replace("\"cpu\":1,", "\"cpu\":0,")),
            ("MMU off", |s| {
                s.replace("\"cpu\":1,\"mmu\":true", "\"cpu\":1,\"mmu\":false")
            }),
            ("D-cache off", |s| {
                s.replacen("\"dcache\":true", "\"dcache\":false", 1)
            }),
            ("I-cache unknown", |s| s.replacen(",\"icache\":true", "", 1)),
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
            r#"@gupbed {"rec":"fault","v":1,"cpu":1,"esr":2516582469,"elr":1,"ec_name":"DABT"}"#,
        );
        fault_named(&c).unwrap();
        let c = rec(
            r#"@gupbed {"rec":"fault","v":1,"cpu":5,"esr":2516582469,"elr":1,"ec_name":"DABT"}"#,
        );
        assert!(fault_named(&c).is_err());
        assert!(fault_named(&rec("no records")).is_err());
        let c = rec(
            r#"@gupbed {"rec":"error","v":1,"kind":"bootargs","message":"unknown key `bogus`"}"#,
        );
        bootargs_error(&c).unwrap();
        assert!(bootargs_error(&rec("")).is_err());
    }
}
