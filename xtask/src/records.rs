//! The kernel→host record protocol: `@gupbed {json}` lines among human text.
//!
//! Mirrors `kernel/src/record.rs` (prefix and schema version). The same parser reads a live
//! QEMU run and a serial log captured elsewhere (`cargo xtask report`).

use serde::Deserialize;
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
        record: Record,
    },
    /// Something that starts like a record but is not one we can read.
    Malformed { line: String, reason: String },
}

/// A parsed record: its kind, the full JSON object, and a typed view for the kinds xtask acts on.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    pub kind: String,
    pub body: Map<String, Value>,
    pub typed: Typed,
}

/// Typed views of the kinds whose keys xtask relies on.
#[derive(Debug, Clone, PartialEq)]
pub enum Typed {
    Platform(Platform),
    Progress(Progress),
    End(End),
    Fault(Fault),
    Error(ErrorRec),
    /// `result`, `audit`, `cpu`, `run_start`, `bench`, `violation`, `litmus`, ...: kept as JSON.
    Other,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Default)]
pub struct Platform {
    #[serde(default)]
    pub board: Option<String>,
    #[serde(default)]
    pub cpu_model: Option<String>,
    #[serde(default)]
    pub cpus_expected: Option<u64>,
    #[serde(default)]
    pub cpus_online: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Progress {
    #[serde(default)]
    pub run: Option<String>,
    pub done: u64,
    pub total: u64,
    #[serde(default)]
    pub variant: Option<String>,
    #[serde(default)]
    pub elapsed_ms: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct End {
    pub passed: bool,
    pub exit_code: i64,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Fault {
    pub cpu: u64,
    #[serde(default)]
    pub ec_name: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ErrorRec {
    pub kind: String,
    pub message: String,
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
        Ok(record) => Line::Record { before, record },
        Err(reason) => Line::Malformed {
            line: line.to_string(),
            reason,
        },
    }
}

/// Parse the JSON part of a record line.
pub fn parse_record(json: &str) -> Result<Record, String> {
    let value: Value = serde_json::from_str(json.trim()).map_err(|e| format!("bad JSON: {e}"))?;
    let Value::Object(body) = value else {
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
    let typed = typed_view(&kind, &body).map_err(|e| format!("{kind} record: {e}"))?;
    Ok(Record { kind, body, typed })
}

fn typed_view(kind: &str, body: &Map<String, Value>) -> Result<Typed, serde_json::Error> {
    let v = Value::Object(body.clone());
    Ok(match kind {
        "platform" => Typed::Platform(serde_json::from_value(v)?),
        "progress" => Typed::Progress(serde_json::from_value(v)?),
        "end" => Typed::End(serde_json::from_value(v)?),
        "fault" => Typed::Fault(serde_json::from_value(v)?),
        "error" => Typed::Error(serde_json::from_value(v)?),
        _ => Typed::Other,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert_eq!(
            record.typed,
            Typed::End(End {
                passed: false,
                exit_code: 3
            })
        );

        let l = parse_line(
            r#"@gupbed {"rec":"progress","v":1,"run":"gup","done":5,"total":10,"variant":"V1"}"#,
        );
        let Line::Record { record, .. } = l else {
            panic!()
        };
        let Typed::Progress(p) = record.typed else {
            panic!()
        };
        assert_eq!((p.done, p.total, p.variant.as_deref()), (5, 10, Some("V1")));
    }

    #[test]
    fn unknown_kinds_are_kept_as_json() {
        let l = parse_line(r#"@gupbed {"rec":"result","v":1,"run":"selftest","passed":true}"#);
        let Line::Record { record, .. } = l else {
            panic!()
        };
        assert_eq!(record.typed, Typed::Other);
        assert_eq!(record.body["passed"], Value::Bool(true));
        assert_eq!(record.body["run"], "selftest");
    }

    #[test]
    fn record_after_interleaved_text_is_found() {
        let l =
            parse_line(r#"panicked at x@gupbed {"rec":"fault","v":1,"cpu":2,"ec_name":"DABT"}"#);
        let Line::Record { before, record } = l else {
            panic!("{l:?}")
        };
        assert_eq!(before.as_deref(), Some("panicked at x"));
        let Typed::Fault(f) = record.typed else {
            panic!()
        };
        assert_eq!(f.cpu, 2);
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
        let l = parse_line(
            r#"@gupbed {"rec":"error","v":1,"kind":"bootargs","message":"a \"q\"\nb\u0001"}"#,
        );
        let Line::Record { record, .. } = l else {
            panic!()
        };
        let Typed::Error(e) = record.typed else {
            panic!()
        };
        assert_eq!(e.message, "a \"q\"\nb\u{1}");
    }
}
