//! Records of the `gup` run: `run_start`, `progress` and one `result` per experiment × variant.

use super::oracles::counts::{Fallback, Tally, Violation};
use super::verdict::{Expected, MemModel, RaceClass, Verdict};
use crate::record::Record;

/// Everything one `result` record says.
pub struct ResultRow<'a> {
    /// Run name (`gup` or `suite`).
    pub run: &'a str,
    /// Experiment name.
    pub experiment: &'a str,
    /// Variant id.
    pub variant: &'a str,
    /// Merged counts.
    pub tally: &'a Tally,
    /// Verdict.
    pub verdict: Verdict,
    /// Expected verdict from the variant table.
    pub expected: Expected,
    /// The race's class (what it needs from the platform).
    pub class: RaceClass,
    /// Memory model the verdict assumed.
    pub memmodel: MemModel,
    /// The run's seed (`seed=`; replays the row with the same variant and experiment).
    pub seed: u64,
    /// The row's own seed, derived from the run seed and the row's names.
    pub row_seed: u64,
    /// Milliseconds it ran.
    pub elapsed_ms: u64,
    /// CPUs that took part.
    pub cpus: usize,
    /// How the reader's window behaved (`handshake`, `signal`, `free`, `poll-tail`).
    pub window: &'a str,
    /// The first violation came from an allocator/audit counter read at the end of the row:
    /// `first_violation_ns` is then the end-of-row time, not the time it happened.
    pub first_at_end: bool,
}

impl ResultRow<'_> {
    /// Whether the verdict matches the expectation.
    pub fn passed(&self) -> bool {
        self.expected.accepts(self.verdict)
    }

    /// Build the `result` record.
    pub fn record(&self) -> Record {
        let t = self.tally;
        let mut r = Record::new("result")
            .str("run", self.run)
            .bool("passed", self.passed())
            .str("experiment", self.experiment)
            .str("variant", self.variant)
            .u64("attempts", t.attempts)
            .u64("accepted", t.accepted)
            .obj("fallbacks");
        for f in Fallback::ALL {
            let n = t.fallbacks[f as usize];
            if n != 0 {
                r = r.u64(f.name(), n);
            }
        }
        r = r.end_obj().obj("violations");
        for v in Violation::ALL {
            let n = t.violations[v as usize];
            if n != 0 {
                r = r.u64(v.name(), n);
            }
        }
        r = r.end_obj();
        r = match t.first {
            Some(f) => r
                .u64("first_violation_ns", f.t_ns)
                .bool("first_violation_at_end", self.first_at_end),
            None => r.null("first_violation_ns"),
        };
        r = r
            .str("verdict", self.verdict.name())
            .str("expected", self.expected.name())
            .u64("seed", self.seed)
            .u64("row_seed", self.row_seed)
            .bool("emulated", false)
            .str("memmodel", self.memmodel.name())
            .str("race_class", self.class.name())
            .u64("iters", t.iters)
            .u64("window_hits", t.window_hits)
            .obj("mmu_walks")
            .u64("same", t.mmu[0])
            .u64("other", t.mmu[1])
            .u64("fault", t.mmu[2])
            .end_obj()
            .u64("elapsed_ms", self.elapsed_ms)
            .u64("cpus", self.cpus as u64)
            .str("window", self.window);
        if self.verdict == Verdict::NotReachableHere && self.memmodel == MemModel::Unknown {
            r = r.str(
                "note",
                "memory model unknown: no violation proves nothing for a reordering race",
            );
        }
        match t.first {
            Some(f) => r
                .obj("first_violation")
                .u64("cpu", f.cpu as u64)
                .u64("pfn", f.pfn)
                .u64("head", f.head)
                .u64("iter", f.iter)
                .str("kind", f.kind.name())
                .end_obj(),
            None => r.null("first_violation"),
        }
    }
}

/// A `progress` record.
pub fn progress(run: &str, variant: &str, done: u64, total: u64, elapsed_ms: u64) {
    Record::new("progress")
        .str("run", run)
        .str("variant", variant)
        .u64("done", done)
        .u64("total", total)
        .u64("elapsed_ms", elapsed_ms)
        .emit();
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use crate::stress::oracles::counts::FirstViolation;

    #[test]
    fn result_record_has_the_contract_keys() {
        let mut t = Tally {
            attempts: 10,
            accepted: 7,
            ..Tally::default()
        };
        t.fallback(Fallback::PteChanged);
        t.violation(FirstViolation {
            cpu: 1,
            pfn: 0x40123,
            head: 0x40120,
            iter: 5,
            t_ns: 1234,
            kind: Violation::WrongHead,
        });
        let row = ResultRow {
            run: "gup",
            experiment: "split",
            variant: "V1",
            tally: &t,
            verdict: Verdict::Reproduced,
            expected: Expected::Is(Verdict::Reproduced),
            class: RaceClass::Logical,
            memmodel: MemModel::Tso,
            seed: 7,
            row_seed: 8,
            elapsed_ms: 3,
            cpus: 2,
            window: "handshake",
            first_at_end: false,
        };
        assert!(row.passed());
        let line = row.record().finish();
        for key in [
            "\"rec\":\"result\"",
            "\"run\":\"gup\"",
            "\"passed\":true",
            "\"experiment\":\"split\"",
            "\"variant\":\"V1\"",
            "\"attempts\":10",
            "\"accepted\":7",
            "\"fallbacks\":{\"pte_changed\":1}",
            "\"violations\":{\"wrong_head\":1}",
            "\"first_violation_ns\":1234",
            "\"first_violation_at_end\":false",
            "\"window_hits\":0",
            "\"verdict\":\"REPRODUCED\"",
            "\"expected\":\"REPRODUCED\"",
            "\"seed\":7",
            "\"emulated\":false",
            "\"first_violation\":{\"cpu\":1,\"pfn\":262435,\"head\":262432,\"iter\":5,\"kind\":\"wrong_head\"}",
        ] {
            assert!(line.contains(key), "{key} missing in {line}");
        }
        let clean = Tally::default();
        let row = ResultRow {
            tally: &clean,
            verdict: Verdict::Clean,
            ..row
        };
        assert!(!row.passed());
        let line = row.record().finish();
        assert!(
            line.contains("\"first_violation_ns\":null")
                && line.contains("\"first_violation\":null")
        );
    }
}
