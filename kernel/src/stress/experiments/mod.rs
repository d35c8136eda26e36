//! The experiments: each is an interleaving of one race (spec §5) driven by [`script::run`]: a
//! writer (CPU 0) sets up, then performs its step while the reader (CPU 1) sits in the window
//! named by the script (stop-and-wait), or races it after a seeded delay (free races:
//! recheck-race, reuse, pin, publish); further CPUs read free-running with widened windows or
//! churn the allocator.
//!
//! [`EXPERIMENTS`] is the one place an experiment is named: one row per race with its name,
//! its scripted reader's window mode and its runner (the script monomorphised per reader).

pub mod init;
pub mod pin;
pub mod publish;
pub mod recheck;
pub mod reuse;
pub mod script;
pub mod split;
pub mod tables;

use super::knobs::{PerReader, Reader};
use super::oracles::counts::Tally;
use super::window::Mode;
use super::world::Env;
use crate::gup::variant::Variant;
use script::Script;

/// One experiment × one reader, on one CPU: returns its tally.
pub type RunFn = fn(&Env) -> Tally;

/// One row of the experiment table.
pub struct ExperimentDesc {
    /// Name used in records and in `experiment=`.
    pub name: &'static str,
    /// How the scripted reader's window behaves.
    pub mode: Mode,
    /// The script, monomorphised for a reader.
    pub runner: fn(Reader) -> RunFn,
}

/// An experiment: a row of [`EXPERIMENTS`].
pub type Experiment = &'static ExperimentDesc;

impl PartialEq for ExperimentDesc {
    fn eq(&self, o: &Self) -> bool {
        self.name == o.name
    }
}
impl Eq for ExperimentDesc {}

impl core::fmt::Debug for ExperimentDesc {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.name)
    }
}

impl ExperimentDesc {
    /// The row of script `S`.
    const fn of<S: Script>(name: &'static str) -> Self {
        Self {
            name,
            mode: S::MODE,
            runner: runner_of::<S>,
        }
    }

    /// The experiment's code for `reader`.
    pub fn run_fn(&self, reader: Reader) -> RunFn {
        (self.runner)(reader)
    }
}

struct RunOf<S>(core::marker::PhantomData<S>);

impl<S: Script> PerReader for RunOf<S> {
    type Out = RunFn;
    fn make<V: Variant>() -> RunFn {
        script::run::<V, S>
    }
}

fn runner_of<S: Script>(r: Reader) -> RunFn {
    r.with::<RunOf<S>>()
}

/// Every experiment (spec §5), in the order `experiment=` lists them.
pub const EXPERIMENTS: &[ExperimentDesc] = &[
    // 5a: split_huge_page of a PTE-mapped THP while the reader sits between R3 and R4.
    ExperimentDesc::of::<split::Split>("split"),
    // 5d: unmap + free (+ reallocate to someone else) while the reader sits between R3 and R4.
    ExperimentDesc::of::<recheck::Recheck>("recheck"),
    // 5d as a free race: the writer's step lands anywhere in the reader's R3..R7 (V5).
    ExperimentDesc::of::<recheck::RecheckRace>("recheck-race"),
    // 5e5: unmap + free the PTE table while the reader holds the PMD value.
    ExperimentDesc::of::<tables::Tables>("tables"),
    // 5b: free a compound block and reuse it at order 0 from the same CPU's lists.
    ExperimentDesc::of::<reuse::Reuse>("reuse"),
    // 5c: allocate a compound page and publish a PTE to its tail while readers read.
    ExperimentDesc::of::<publish::Publish>("publish"),
    // 5e4: the "may-be-pinned" checker against FOLL_PIN readers.
    ExperimentDesc::of::<pin::Pin>("pin"),
    // 5e8: reallocate a freed block as a compound page under a reader with a stale PTE.
    ExperimentDesc::of::<init::Init>("init"),
];

/// The experiment called `name` (exact), for tables built at compile time: an unknown name is
/// a compile error there.
pub const fn named(name: &str) -> Experiment {
    let mut i = 0;
    while i < EXPERIMENTS.len() {
        if str_eq(EXPERIMENTS[i].name, name) {
            return &EXPERIMENTS[i];
        }
        i += 1;
    }
    panic!("no such experiment");
}

const fn str_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// Parse an `experiment=` element (case-insensitive).
pub fn parse(s: &str) -> Option<Experiment> {
    EXPERIMENTS.iter().find(|e| e.name.eq_ignore_ascii_case(s))
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_parse_back() {
        for (i, e) in EXPERIMENTS.iter().enumerate() {
            assert_eq!(parse(e.name), Some(e));
            assert_eq!(named(e.name), e);
            for o in &EXPERIMENTS[i + 1..] {
                assert_ne!(e.name, o.name);
            }
        }
        assert_eq!(parse("SPLIT").map(|e| e.name), Some("split"));
        assert!(parse("nope").is_none());
    }
}
