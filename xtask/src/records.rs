//! The kernel→host record protocol: `@gupbed {json}` lines among human text, parsed once here
//! into typed records.
//!
//! Mirrors `kernel/src/record.rs` (prefix and schema version). The same parser reads a live
//! QEMU run and a serial log captured elsewhere (`cargo xtask report`).
//!
//! Every kind the kernel emits has a typed view below; the rest of xtask reads records only
//! through them. Each record also keeps its JSON object as the kernel sent it ([`Rec::raw`]):
//! the JSON report passes rows through, so a key the kernel adds is never lost, and reading it
//! in xtask is one line (an `Option` field here). A record whose known keys have the wrong type
//! is reported as malformed, never dropped or misread.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

/// Every record line starts with this (kernel `record::PREFIX`).
pub const PREFIX: &str = "@gupbed ";
/// Record schema version this parser understands (kernel `record::SCHEMA_VERSION`).
pub const SCHEMA_VERSION: u64 = 1;

/// One console line, classified.
#[derive(Debug, Clone, PartialEq)]
pub enum Line {
    /// Text for humans (may be empty).
    Human(String),
    /// A well-formed record, with any human text that preceded the prefix on the same line
    /// (lock-free fault output can land mid-line).
    Record {
        before: Option<String>,
        record: Box<Record>,
    },
    /// Something that starts like a record but is not one we can read.
    Malformed { line: String, reason: String },
}

/// A parsed record: its kind and its typed view (which carries the raw JSON object).
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    pub kind: String,
    pub typed: Typed,
}

/// A typed record together with its JSON object as sent (minus `rec` and `v`). Reads go through
/// the typed view (`Deref`); serialising writes the object as sent, every key kept.
#[derive(Debug, Clone, PartialEq)]
pub struct Rec<T> {
    pub view: T,
    pub raw: Map<String, Value>,
}

impl<T> std::ops::Deref for Rec<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.view
    }
}

impl<T> Serialize for Rec<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.raw.serialize(s)
    }
}

impl<'de, T: for<'a> Deserialize<'a>> Deserialize<'de> for Rec<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = Map::<String, Value>::deserialize(d)?;
        Rec::parse(raw).map_err(serde::de::Error::custom)
    }
}

impl<T: for<'de> Deserialize<'de>> Rec<T> {
    /// The typed view of `raw`, or why it does not fit.
    pub fn parse(raw: Map<String, Value>) -> Result<Self, serde_json::Error> {
        let view = T::deserialize(&Value::Object(raw.clone()))?;
        Ok(Self { view, raw })
    }
}

/// The typed view of every kind (README "Records").
#[derive(Debug, Clone, PartialEq)]
pub enum Typed {
    Platform(Rec<Platform>),
    Cpu(Rec<Cpu>),
    RunStart(Rec<RunStart>),
    Progress(Rec<Progress>),
    Result(Box<Rec<RunResult>>),
    Audit(Rec<Audit>),
    Fault(Rec<Fault>),
    Error(Rec<ErrorRec>),
    Bench(Rec<Bench>),
    Litmus(Rec<Litmus>),
    Calibration(Rec<Calibration>),
    MemModel(Rec<MemModel>),
    Ipi(Rec<Ipi>),
    End(Rec<End>),
    /// A kind this xtask does not know (kept, shown with `--verbose`).
    Other(Map<String, Value>),
}

/// `platform`: what the boot CPU found.
#[derive(Debug, Clone, PartialEq, Deserialize, Default)]
pub struct Platform {
    pub board: Option<String>,
    /// Where boot's machine description came from: `dtb`, `atags` or `board-facts`.
    pub firmware: Option<String>,
    /// How the secondaries were started: `psci`, `spin-table`, `mixed` or `none`.
    pub cpu_release: Option<String>,
    /// How the machine is left (`exit=`): `semihosting`, `psci`, `halt`, `reset`, `park`.
    pub exit: Option<String>,
    /// The bootargs the kernel parsed (after the firmware's prefix, on a Pi).
    pub bootargs: Option<String>,
    pub cpu_model: Option<String>,
    pub cpus_expected: Option<u64>,
    pub cpus_online: Option<u64>,
    pub el: Option<u64>,
    pub mmu: Option<bool>,
    pub dcache: Option<bool>,
    pub icache: Option<bool>,
    pub counter_hz: Option<u64>,
}

/// `cpu`: one per CPU (selftest).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Cpu {
    pub cpu: Option<u64>,
    pub mpidr: Option<u64>,
    pub el: Option<u64>,
    pub mmu: Option<bool>,
    pub dcache: Option<bool>,
    pub icache: Option<bool>,
}

/// `run_start`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct RunStart {
    pub run: Option<String>,
    pub seed: Option<u64>,
    pub experiment: Option<String>,
    pub variant: Option<String>,
    pub cpus: Option<u64>,
}

/// `progress`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Progress {
    pub run: Option<String>,
    pub done: u64,
    pub total: u64,
    pub variant: Option<String>,
    pub elapsed_ms: Option<u64>,
}

/// `result`: `run` and `passed`, and the run-specific part.
#[derive(Debug, Clone, PartialEq)]
pub struct RunResult {
    pub run: String,
    pub passed: Option<bool>,
    pub detail: ResultDetail,
}

/// The run-specific keys of a `result`.
#[derive(Debug, Clone, PartialEq)]
pub enum ResultDetail {
    /// A GUP experiment row (any result with a `verdict`: runs `gup` and `suite`).
    Gup(Box<GupResult>),
    Selftest(SelftestResult),
    MmStress(MmStressResult),
    Litmus(LitmusResult),
    /// A run xtask has no view of (e.g. `bench`): its keys are in the raw object.
    Other,
}

impl<'de> Deserialize<'de> for RunResult {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        struct Head {
            run: String,
            passed: Option<bool>,
        }
        let body = Map::<String, Value>::deserialize(d)?;
        let v = Value::Object(body);
        let err = serde::de::Error::custom;
        let head = Head::deserialize(&v).map_err(err)?;
        let detail = if v.get("verdict").is_some() {
            ResultDetail::Gup(Box::new(GupResult::deserialize(&v).map_err(err)?))
        } else {
            match head.run.as_str() {
                "selftest" => ResultDetail::Selftest(SelftestResult::deserialize(&v).map_err(err)?),
                "mm-stress" => {
                    ResultDetail::MmStress(MmStressResult::deserialize(&v).map_err(err)?)
                }
                "litmus" => ResultDetail::Litmus(LitmusResult::deserialize(&v).map_err(err)?),
                _ => ResultDetail::Other,
            }
        };
        Ok(Self {
            run: head.run,
            passed: head.passed,
            detail,
        })
    }
}

impl RunResult {
    /// The GUP experiment row, if this is one.
    pub fn gup(&self) -> Option<&GupResult> {
        match &self.detail {
            ResultDetail::Gup(g) => Some(g),
            _ => None,
        }
    }
}

/// A verdict of a GUP row (`expected` may also be `ANY`). Unknown names are kept, not refused,
/// so a kernel with a new verdict still reports.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize, Serialize)]
#[serde(from = "String", into = "String")]
pub enum Verdict {
    Reproduced,
    Clean,
    NotReachableHere,
    Inconclusive,
    Any,
    Other(String),
}

impl From<String> for Verdict {
    fn from(s: String) -> Self {
        match s.as_str() {
            "REPRODUCED" => Verdict::Reproduced,
            "CLEAN" => Verdict::Clean,
            "NOT REACHABLE HERE" => Verdict::NotReachableHere,
            "INCONCLUSIVE" => Verdict::Inconclusive,
            "ANY" => Verdict::Any,
            _ => Verdict::Other(s),
        }
    }
}

impl From<Verdict> for String {
    fn from(v: Verdict) -> String {
        v.name().to_string()
    }
}

impl Verdict {
    pub fn name(&self) -> &str {
        match self {
            Verdict::Reproduced => "REPRODUCED",
            Verdict::Clean => "CLEAN",
            Verdict::NotReachableHere => "NOT REACHABLE HERE",
            Verdict::Inconclusive => "INCONCLUSIVE",
            Verdict::Any => "ANY",
            Verdict::Other(s) => s,
        }
    }
}

impl std::fmt::Display for Verdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Named counts (`violations`, `fallbacks`, litmus `outcomes`), in the kernel's order.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Counts(pub Vec<(String, u64)>);

impl<'de> Deserialize<'de> for Counts {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let m = Map::<String, Value>::deserialize(d)?;
        m.into_iter()
            .map(|(k, v)| match v.as_u64() {
                Some(n) => Ok((k, n)),
                None => Err(serde::de::Error::custom(format!(
                    "count {k:?} is not a non-negative integer: {v}"
                ))),
            })
            .collect::<Result<_, _>>()
            .map(Counts)
    }
}

impl Counts {
    /// The sum (saturating: counts may come from a log with any numbers in it).
    pub fn total(&self) -> u64 {
        self.0.iter().fold(0u64, |t, (_, n)| t.saturating_add(*n))
    }
    /// The non-zero entries.
    pub fn nonzero(&self) -> impl Iterator<Item = (&str, u64)> {
        self.0
            .iter()
            .filter(|(_, n)| *n != 0)
            .map(|(k, n)| (k.as_str(), *n))
    }
}

/// MMU walks of accepted addresses (`AT S1E1R` on the experiment's TTBR0).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct MmuWalks {
    pub same: Option<u64>,
    pub other: Option<u64>,
    pub fault: Option<u64>,
}

/// The first violation of a GUP row.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct FirstViolation {
    pub cpu: Option<u64>,
    pub pfn: Option<u64>,
    pub head: Option<u64>,
    pub iter: Option<u64>,
    pub kind: Option<String>,
}

/// A GUP experiment row (`result` of runs `gup` / `suite`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct GupResult {
    pub experiment: Option<String>,
    pub variant: Option<String>,
    pub attempts: Option<u64>,
    pub accepted: Option<u64>,
    #[serde(default)]
    pub fallbacks: Counts,
    #[serde(default)]
    pub violations: Counts,
    /// Seconds (the kernel sends `first_violation_ns`; the parser converts it).
    pub first_violation_s: Option<f64>,
    pub first_violation_at_end: Option<bool>,
    pub verdict: Verdict,
    pub expected: Option<Verdict>,
    pub seed: Option<u64>,
    pub row_seed: Option<u64>,
    pub emulated: Option<bool>,
    pub memmodel: Option<String>,
    pub race_class: Option<String>,
    pub iters: Option<u64>,
    pub window_hits: Option<u64>,
    pub window: Option<String>,
    pub mmu_walks: Option<MmuWalks>,
    pub elapsed_ms: Option<u64>,
    pub cpus: Option<u64>,
    pub note: Option<String>,
    pub first_violation: Option<FirstViolation>,
}

impl GupResult {
    /// `verdict` differs from `expected` (`ANY`, or no expectation, matches anything).
    pub fn unexpected(&self) -> bool {
        match &self.expected {
            None | Some(Verdict::Any) => false,
            Some(e) => *e != self.verdict,
        }
    }
}

/// `result` of `run=selftest`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct SelftestResult {
    pub mutex_total: Option<u64>,
    pub atomic_total: Option<u64>,
    pub expected_total: Option<u64>,
}

/// `result` of `run=mm-stress`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct MmStressResult {
    pub seed: Option<u64>,
    pub iters: Option<u64>,
    pub cpus: Option<u64>,
    pub allocs: Option<u64>,
    pub alloc_failures: Option<u64>,
    pub frees: Option<u64>,
    pub cross_frees: Option<u64>,
    pub splits: Option<u64>,
    pub canary_bad: Option<u64>,
}

/// `result` of `run=litmus`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct LitmusResult {
    pub memmodel_measured: Option<String>,
    pub fenced_violation: Option<bool>,
    pub lkmm_violation: Option<bool>,
    pub instances: Option<u64>,
}

/// `audit`: every frame back at the end of a run.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Audit {
    pub run: Option<String>,
    pub frames_total: Option<u64>,
    pub frames_free_start: Option<u64>,
    pub frames_free_end: Option<u64>,
    pub leaked: Option<u64>,
    pub double_free: Option<u64>,
    pub bad_state: Option<u64>,
    pub passed: Option<bool>,
}

/// `fault`: a synchronous exception on some CPU.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Fault {
    pub cpu: u64,
    pub ec: Option<u64>,
    pub ec_name: Option<String>,
    pub esr: Option<u64>,
    pub elr: Option<u64>,
    pub far: Option<u64>,
    pub spsr: Option<u64>,
    pub vector: Option<String>,
    pub description: Option<String>,
}

/// `error`: bootargs, usage, deadline, panic (with its `cpu`), ...
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ErrorRec {
    pub kind: String,
    pub message: String,
    pub cpu: Option<u64>,
    pub last_progress: Option<String>,
}

/// `bench`: one benchmark's median and range (ns per operation).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Bench {
    pub name: String,
    pub side: Option<String>,
    pub ns_per_op: Option<f64>,
    pub ns_min: Option<f64>,
    pub ns_max: Option<f64>,
    pub iters: Option<u64>,
    pub reps: Option<u64>,
}

/// `litmus`: one litmus test's outcomes.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Litmus {
    pub test: Option<String>,
    pub instances: Option<u64>,
    pub pairs: Option<u64>,
    pub weak: Option<u64>,
    pub weak_ppm: Option<u64>,
    pub weak_outcome: Option<String>,
    #[serde(default)]
    pub outcomes: Counts,
    pub allowed_by_arm: Option<bool>,
    pub forbidden_by_lkmm: Option<bool>,
    pub fenced_violation: Option<bool>,
    pub evidence: Option<String>,
    pub elapsed_us: Option<u64>,
    pub instances_per_s: Option<u64>,
}

/// `calibration`: which reorderings the platform showed.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Calibration {
    pub store_store: Option<String>,
    pub load_load: Option<String>,
    pub store_load: Option<String>,
    pub load_store: Option<String>,
    pub memmodel_measured: Option<String>,
    pub memmodel_claimed: Option<String>,
    pub agrees_with_claim: Option<bool>,
    pub fenced_violation: Option<bool>,
    pub lkmm_violation: Option<bool>,
    pub instances: Option<u64>,
    pub note: Option<String>,
}

/// `memmodel`: declared, measured and effective model of a race run.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct MemModel {
    pub run: Option<String>,
    pub declared: Option<String>,
    pub measured: Option<String>,
    pub effective: Option<String>,
    pub litmus_instances: Option<u64>,
}

/// `ipi`: how a row's unmapper waited for readers (V1i).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Ipi {
    pub run: Option<String>,
    pub variant: Option<String>,
    pub experiment: Option<String>,
    pub shootdown: Option<String>,
    pub sgi_shootdowns: Option<u64>,
    pub flag_shootdowns: Option<u64>,
    pub sgi_timeouts: Option<u64>,
    pub latency_samples: Option<u64>,
    pub latency_min_ns: Option<u64>,
    pub latency_median_ns: Option<u64>,
    pub latency_p99_ns: Option<u64>,
    pub latency_max_ns: Option<u64>,
}

/// `end`: the last record of every run.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct End {
    pub passed: bool,
    pub exit_code: i64,
}

/// Classify one line of console output (without its newline; a trailing `\r` is dropped).
pub fn parse_line(raw: &str) -> Line {
    let line = raw.strip_suffix('\r').unwrap_or(raw);
    let Some(pos) = line.find(PREFIX) else {
        // "@gupbed" without the space and JSON is still meant as a record.
        if line.trim_end() == PREFIX.trim_end() {
            return Line::Malformed {
                line: line.to_string(),
                reason: "empty record".into(),
            };
        }
        return Line::Human(line.to_string());
    };
    let json = &line[pos + PREFIX.len()..];
    // Mid-line, only an object counts (prose may mention "@gupbed records").
    if pos > 0 && !json.starts_with('{') {
        return Line::Human(line.to_string());
    }
    let before = if pos > 0 {
        Some(line[..pos].to_string())
    } else {
        None
    };
    match parse_record(json) {
        Ok(record) => Line::Record {
            before,
            record: Box::new(record),
        },
        Err(reason) => Line::Malformed {
            line: line.to_string(),
            reason,
        },
    }
}

/// Parse the JSON part of a record line.
pub fn parse_record(json: &str) -> Result<Record, String> {
    let value: Value = serde_json::from_str(json.trim()).map_err(|e| format!("bad JSON: {e}"))?;
    let Value::Object(mut body) = value else {
        return Err("record is not a JSON object".into());
    };
    let kind = match body.get("rec") {
        Some(Value::String(s)) => s.clone(),
        Some(_) => return Err("\"rec\" is not a string".into()),
        None => return Err("missing \"rec\"".into()),
    };
    match body.get("v").and_then(Value::as_u64) {
        Some(SCHEMA_VERSION) => {}
        Some(v) => {
            return Err(format!(
                "record schema v{v}, this xtask reads v{SCHEMA_VERSION} (rebuild xtask and kernel from the same tree)"
            ))
        }
        None => return Err("missing or non-integer \"v\" (schema version)".into()),
    }
    body.shift_remove("rec");
    body.shift_remove("v");
    let typed = typed_view(&kind, body).map_err(|e| format!("{kind} record: {e}"))?;
    Ok(Record { kind, typed })
}

fn typed_view(kind: &str, body: Map<String, Value>) -> Result<Typed, serde_json::Error> {
    Ok(match kind {
        "platform" => Typed::Platform(Rec::parse(body)?),
        "cpu" => Typed::Cpu(Rec::parse(body)?),
        "run_start" => Typed::RunStart(Rec::parse(body)?),
        "progress" => Typed::Progress(Rec::parse(body)?),
        "result" => Typed::Result(Box::new(Rec::parse(normalise_result(body))?)),
        "audit" => Typed::Audit(Rec::parse(body)?),
        "fault" => Typed::Fault(Rec::parse(body)?),
        "error" => Typed::Error(Rec::parse(body)?),
        "bench" => Typed::Bench(Rec::parse(body)?),
        "litmus" => Typed::Litmus(Rec::parse(body)?),
        "calibration" => Typed::Calibration(Rec::parse(body)?),
        "memmodel" => Typed::MemModel(Rec::parse(body)?),
        "ipi" => Typed::Ipi(Rec::parse(body)?),
        "end" => Typed::End(Rec::parse(body)?),
        _ => Typed::Other(body),
    })
}

/// The kernel has no floats: it sends `first_violation_ns`; rows carry `first_violation_s`
/// in its place (README "Records"; a value that is not an integer becomes null).
fn normalise_result(body: Map<String, Value>) -> Map<String, Value> {
    let has_s = body.contains_key("first_violation_s");
    body.into_iter()
        .filter_map(|(k, v)| match k.as_str() {
            "first_violation_ns" if has_s => None,
            "first_violation_ns" => Some((
                "first_violation_s".to_string(),
                v.as_u64()
                    .map_or(Value::Null, |ns| serde_json::json!(ns as f64 / 1e9)),
            )),
            _ => Some((k, v)),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec_of(line: &str) -> Record {
        match parse_line(line) {
            Line::Record { record, .. } => *record,
            other => panic!("{line}: {other:?}"),
        }
    }

    #[test]
    fn human_lines_stay_human() {
        assert_eq!(
            parse_line("gupbed: 4 CPUs online"),
            Line::Human("gupbed: 4 CPUs online".into())
        );
        assert_eq!(parse_line(""), Line::Human(String::new()));
        assert_eq!(parse_line("gupbed x\r"), Line::Human("gupbed x".into()));
        // The word without the record prefix is not a record.
        assert!(matches!(parse_line("see @gupbed records"), Line::Human(_)));
    }

    #[test]
    fn parses_typed_records() {
        let l = parse_line(r#"@gupbed {"rec":"end","v":1,"passed":false,"exit_code":3}"#);
        let Line::Record {
            before: None,
            record,
        } = l
        else {
            panic!("{l:?}")
        };
        assert_eq!(record.kind, "end");
        let Typed::End(e) = record.typed else {
            panic!()
        };
        assert_eq!((e.passed, e.exit_code), (false, 3));

        let r = rec_of(
            r#"@gupbed {"rec":"progress","v":1,"run":"gup","done":5,"total":10,"variant":"V1"}"#,
        );
        let Typed::Progress(p) = r.typed else {
            panic!()
        };
        assert_eq!((p.done, p.total, p.variant.as_deref()), (5, 10, Some("V1")));
    }

    /// A GUP row as `kernel/src/stress/report.rs` writes it, plus a key this xtask does not know.
    const GUP_ROW: &str = r#"@gupbed {"rec":"result","v":1,"run":"gup","passed":true,"experiment":"split","variant":"V1","attempts":2772,"accepted":2758,"fallbacks":{"pte_changed":14,"slow_path":14},"violations":{"wrong_head":2404,"freed_while_held":4803},"first_violation_ns":89092544,"first_violation_at_end":false,"verdict":"REPRODUCED","expected":"REPRODUCED","seed":698807277,"row_seed":16528527056121754983,"emulated":false,"memmodel":"tso","race_class":"logical","iters":2772,"window_hits":2692,"mmu_walks":{"same":9,"other":0,"fault":2761},"elapsed_ms":98488,"cpus":2,"window":"handshake","first_violation":{"cpu":0,"pfn":295197,"head":295197,"iter":0,"kind":"freed_while_held"},"brand_new_key":{"x":[1,2]}}"#;

    #[test]
    fn gup_results_are_typed_and_keep_every_key() {
        let Typed::Result(r) = rec_of(GUP_ROW).typed else {
            panic!()
        };
        assert_eq!((r.run.as_str(), r.passed), ("gup", Some(true)));
        let g = r.gup().expect("a GUP row");
        assert_eq!(g.variant.as_deref(), Some("V1"));
        assert_eq!(g.verdict, Verdict::Reproduced);
        assert!(!g.unexpected());
        assert_eq!(g.violations.total(), 2404 + 4803);
        let huge = Counts(vec![("a".into(), u64::MAX), ("b".into(), 1)]);
        assert_eq!(huge.total(), u64::MAX);
        assert_eq!(
            g.violations.nonzero().map(|(k, _)| k).collect::<Vec<_>>(),
            ["wrong_head", "freed_while_held"],
            "kernel order kept"
        );
        assert_eq!(g.first_violation_s, Some(0.089092544));
        assert_eq!(g.row_seed, Some(16528527056121754983));
        assert_eq!(g.mmu_walks.as_ref().and_then(|m| m.fault), Some(2761));
        assert_eq!(
            g.first_violation.as_ref().and_then(|f| f.kind.as_deref()),
            Some("freed_while_held")
        );
        // The raw object: every key, ns converted to s in place, rec/v dropped.
        let keys: Vec<&str> = r.raw.keys().map(String::as_str).collect();
        assert_eq!(keys[..3], ["run", "passed", "experiment"]);
        assert!(keys.contains(&"brand_new_key"));
        assert!(!keys.contains(&"first_violation_ns") && !keys.contains(&"rec"));
        let pos = |k: &str| keys.iter().position(|x| *x == k).unwrap();
        assert_eq!(pos("first_violation_s"), pos("violations") + 1);
        let out = serde_json::to_value(&r).unwrap();
        assert_eq!(out["brand_new_key"]["x"][1], 2);
        assert_eq!(out["first_violation_s"], 0.089092544);
    }

    #[test]
    fn results_of_other_runs() {
        let Typed::Result(r) = rec_of(
            r#"@gupbed {"rec":"result","v":1,"run":"selftest","passed":true,"mutex_total":4,"atomic_total":4,"expected_total":4}"#,
        )
        .typed
        else {
            panic!()
        };
        let ResultDetail::Selftest(s) = &r.detail else {
            panic!("{r:?}")
        };
        assert_eq!(s.expected_total, Some(4));
        let Typed::Result(r) =
            rec_of(r#"@gupbed {"rec":"result","v":1,"run":"newrun","k":1}"#).typed
        else {
            panic!()
        };
        assert_eq!((r.detail.clone(), r.passed), (ResultDetail::Other, None));
        assert_eq!(r.raw["k"], 1);
    }

    #[test]
    fn unknown_verdicts_and_kinds_are_kept() {
        let Typed::Result(r) = rec_of(
            r#"@gupbed {"rec":"result","v":1,"run":"gup","verdict":"SOMETHING NEW","expected":"ANY"}"#,
        )
        .typed
        else {
            panic!()
        };
        let g = r.gup().unwrap();
        assert_eq!(g.verdict, Verdict::Other("SOMETHING NEW".into()));
        assert!(!g.unexpected());
        let r = rec_of(r#"@gupbed {"rec":"violation","v":1,"cpu":1}"#);
        assert_eq!(r.kind, "violation");
        let Typed::Other(m) = r.typed else { panic!() };
        assert_eq!(m["cpu"], 1);
    }

    #[test]
    fn record_after_interleaved_text_is_found() {
        let l = parse_line(
            r#"panicked at x@gupbed {"rec":"fault","v":1,"cpu":2,"ec_name":"DABT","esr":2516582469}"#,
        );
        let Line::Record { before, record } = l else {
            panic!("{l:?}")
        };
        assert_eq!(before.as_deref(), Some("panicked at x"));
        let Typed::Fault(f) = record.typed else {
            panic!()
        };
        assert_eq!((f.cpu, f.esr), (2, Some(0x9600_0045)));
    }

    #[test]
    fn malformed_records_are_reported_not_dropped() {
        for (line, why) in [
            (r#"@gupbed {"rec":"end","v":1,"passed":tr"#, "bad JSON"),
            (r#"@gupbed [1,2]"#, "not a JSON object"),
            (r#"@gupbed {"v":1}"#, "missing \"rec\""),
            (r#"@gupbed {"rec":5,"v":1}"#, "not a string"),
            (r#"@gupbed {"rec":"end"}"#, "schema version"),
            (r#"@gupbed {"rec":"end","v":1,"passed":true}"#, "exit_code"),
            (
                r#"@gupbed {"rec":"progress","v":1,"done":"x","total":3}"#,
                "progress record",
            ),
            (
                r#"@gupbed {"rec":"result","v":1,"run":"gup","verdict":"CLEAN","attempts":-1}"#,
                "result record",
            ),
            (
                r#"@gupbed {"rec":"result","v":1,"run":"gup","verdict":"CLEAN","violations":{"x":"many"}}"#,
                "count \"x\"",
            ),
            (r#"@gupbed {"rec":"result","v":1,"passed":true}"#, "run"),
            (
                r#"@gupbed {"rec":"audit","v":1,"leaked":"no"}"#,
                "audit record",
            ),
            ("@gupbed", "empty record"),
            ("@gupbed ", "bad JSON"),
        ] {
            match parse_line(line) {
                Line::Malformed { reason, .. } => {
                    assert!(reason.contains(why), "{line}: {reason} lacks {why}")
                }
                other => panic!("{line}: parsed as {other:?}"),
            }
        }
    }

    #[test]
    fn version_mismatch_is_refused() {
        let Line::Malformed { reason, .. } =
            parse_line(r#"@gupbed {"rec":"end","v":2,"passed":true,"exit_code":0}"#)
        else {
            panic!()
        };
        assert!(reason.contains("schema v2"), "{reason}");
    }

    #[test]
    fn kernel_escapes_round_trip() {
        // As produced by kernel record.rs for a string with quotes and a newline.
        let r = rec_of(
            r#"@gupbed {"rec":"error","v":1,"kind":"bootargs","message":"a \"q\"\nb\u0001"}"#,
        );
        let Typed::Error(e) = r.typed else { panic!() };
        assert_eq!(e.message, "a \"q\"\nb\u{1}");
    }
}
