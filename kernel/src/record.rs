//! Machine records: the kernel→host protocol.
//!
//! One record is one console line: [`PREFIX`] followed by one JSON object whose `"rec"` key
//! names the kind and `"v"` the schema version ([`SCHEMA_VERSION`]). xtask shows the human lines
//! and parses these; the same parser reads a serial log captured from real hardware.
//!
//! Kinds (see README "Records"): `platform`, `cpu`, `run_start`, `progress`, `result`,
//! `audit`, `bench`, `litmus`, `calibration`, `memmodel`, `ipi`, `error`, `fault` (written by
//! the allocation-free fault path in `rt/fault.rs`), `end`.

use alloc::string::String;
use core::fmt::Write;

/// Every record line starts with this.
pub const PREFIX: &str = "@gupbed ";
/// Bumped whenever a record's keys change meaning.
pub const SCHEMA_VERSION: u32 = 1;

/// Builder for one record; keys are written in call order.
pub struct Record {
    s: String,
    depth: usize,
    first: bool,
}

impl Record {
    /// Start a record of kind `rec`.
    pub fn new(rec: &str) -> Self {
        let mut r = Self {
            s: String::with_capacity(256),
            depth: 1,
            first: true,
        };
        r.s.push_str(PREFIX);
        r.s.push('{');
        r.key("rec");
        r.string_value(rec);
        r.u64("v", SCHEMA_VERSION as u64)
    }

    fn key(&mut self, k: &str) {
        if !self.first {
            self.s.push(',');
        }
        self.first = false;
        self.string_value(k);
        self.s.push(':');
    }

    fn string_value(&mut self, v: &str) {
        self.s.push('"');
        for c in v.chars() {
            match c {
                '"' => self.s.push_str("\\\""),
                '\\' => self.s.push_str("\\\\"),
                '\n' => self.s.push_str("\\n"),
                c if (c as u32) < 0x20 => {
                    let _ = write!(self.s, "\\u{:04x}", c as u32);
                }
                c => self.s.push(c),
            }
        }
        self.s.push('"');
    }

    /// A string field.
    pub fn str(mut self, k: &str, v: &str) -> Self {
        self.key(k);
        self.string_value(v);
        self
    }
    /// An unsigned integer field.
    pub fn u64(mut self, k: &str, v: u64) -> Self {
        self.key(k);
        let _ = write!(self.s, "{v}");
        self
    }
    /// A signed integer field.
    pub fn i64(mut self, k: &str, v: i64) -> Self {
        self.key(k);
        let _ = write!(self.s, "{v}");
        self
    }
    /// A non-negative decimal number given in thousandths (`milli` = 12345 → `12.345`): the
    /// kernel has no floating point, the JSON reader gets a number.
    pub fn milli(mut self, k: &str, milli: u64) -> Self {
        self.key(k);
        let _ = write!(self.s, "{}.{:03}", milli / 1000, milli % 1000);
        self
    }
    /// A boolean field.
    pub fn bool(mut self, k: &str, v: bool) -> Self {
        self.key(k);
        self.s.push_str(if v { "true" } else { "false" });
        self
    }
    /// A `null` field (e.g. "no violation yet").
    pub fn null(mut self, k: &str) -> Self {
        self.key(k);
        self.s.push_str("null");
        self
    }
    /// Open a nested object under `k`; close it with [`Record::end_obj`].
    pub fn obj(mut self, k: &str) -> Self {
        self.key(k);
        self.s.push('{');
        self.depth += 1;
        self.first = true;
        self
    }
    /// Close the innermost nested object.
    pub fn end_obj(mut self) -> Self {
        assert!(self.depth > 1, "end_obj without obj");
        self.s.push('}');
        self.depth -= 1;
        self.first = false;
        self
    }
    /// The finished line (with newline).
    pub fn finish(mut self) -> String {
        while self.depth > 0 {
            self.s.push('}');
            self.depth -= 1;
        }
        self.s.push('\n');
        self.s
    }
    /// Finish and print the record as one console line.
    pub fn emit(self) {
        let line = self.finish();
        crate::console::write_locked(line.as_bytes());
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn records_are_one_prefixed_json_line() {
        let line = Record::new("result")
            .str("variant", "V1")
            .u64("attempts", 10)
            .i64("delta", -3)
            .milli("ns", 12_045)
            .bool("emulated", false)
            .obj("violations")
            .u64("wrong_head", 2)
            .end_obj()
            .null("first_violation_s")
            .str("note", "a \"quoted\"\nline")
            .finish();
        assert!(line.starts_with(PREFIX));
        assert!(line.ends_with("}\n"));
        assert_eq!(line.matches('\n').count(), 1, "exactly one line");
        assert_eq!(
            &line[PREFIX.len()..],
            "{\"rec\":\"result\",\"v\":1,\"variant\":\"V1\",\"attempts\":10,\"delta\":-3,\"ns\":12.045,\
             \"emulated\":false,\"violations\":{\"wrong_head\":2},\"first_violation_s\":null,\
             \"note\":\"a \\\"quoted\\\"\\nline\"}\n"
        );
    }
}
