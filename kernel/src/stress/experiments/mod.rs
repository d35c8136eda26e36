//! The experiments: each is an interleaving of one race (spec §5) driven by [`script::run`]: a
//! writer (CPU 0) sets up, then performs its step while the reader (CPU 1) sits in the window
//! named by the script (stop-and-wait), or races it after a seeded delay (free races:
//! recheck-race, reuse, pin, publish); further CPUs read free-running with widened windows or
//! churn the allocator.

pub mod init;
pub mod pin;
pub mod publish;
pub mod recheck;
pub mod reuse;
pub mod script;
pub mod split;
pub mod tables;

use super::oracles::counts::Tally;
use super::world::World;
use crate::gup::variant::Variant;
use crate::smp::Barrier;

/// Which race an experiment drives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Experiment {
    /// 5a: split_huge_page of a PTE-mapped THP while the reader sits between R3 and R4.
    Split,
    /// 5d: unmap + free (+ reallocate to someone else) while the reader sits between R3 and R4.
    Recheck,
    /// 5d as a free race: the writer's step lands anywhere in the reader's R3..R7 (V5).
    RecheckRace,
    /// 5e5: unmap + free the PTE table while the reader holds the PMD value.
    Tables,
    /// 5b: free a compound block and reuse it at order 0 from the same CPU's lists.
    Reuse,
    /// 5c: allocate a compound page and publish a PTE to its tail while readers read.
    Publish,
    /// 5e4: the "may-be-pinned" checker against FOLL_PIN readers.
    Pin,
    /// 5e8: reallocate a freed block as a compound page under a reader with a stale PTE.
    Init,
}

impl Experiment {
    /// Every experiment.
    pub const ALL: [Experiment; 8] = [
        Self::Split,
        Self::Recheck,
        Self::RecheckRace,
        Self::Tables,
        Self::Reuse,
        Self::Publish,
        Self::Pin,
        Self::Init,
    ];
    /// Name used in records and in `experiment=`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Split => "split",
            Self::Recheck => "recheck",
            Self::RecheckRace => "recheck-race",
            Self::Tables => "tables",
            Self::Reuse => "reuse",
            Self::Publish => "publish",
            Self::Pin => "pin",
            Self::Init => "init",
        }
    }
    /// How the scripted reader's window behaves in this experiment.
    pub fn reader_mode(self) -> crate::stress::window::Mode {
        use script::Script;
        match self {
            Self::Split => split::Split::reader_mode(),
            Self::Recheck => recheck::Recheck::reader_mode(),
            Self::RecheckRace => recheck::RecheckRace::reader_mode(),
            Self::Tables => tables::Tables::reader_mode(),
            Self::Reuse => reuse::Reuse::reader_mode(),
            Self::Publish => publish::Publish::reader_mode(),
            Self::Pin => pin::Pin::reader_mode(),
            Self::Init => init::Init::reader_mode(),
        }
    }
    /// Parse an `experiment=` element.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|e| e.name().eq_ignore_ascii_case(s))
    }
}

/// What every CPU of an experiment gets.
pub struct Env<'w> {
    /// This CPU.
    pub cpu: usize,
    /// CPUs taking part.
    pub ncpus: usize,
    /// Shared state.
    pub world: &'w World,
    /// Rendezvous of all CPUs.
    pub barrier: &'w Barrier,
}

/// One experiment monomorphised for one reader variant; runs on every CPU, returns its tally.
pub type RunFn = fn(&Env) -> Tally;

/// The experiments for reader variant `V`.
pub fn runner<V: Variant>(e: Experiment) -> RunFn {
    match e {
        Experiment::Split => script::run::<V, split::Split>,
        Experiment::Recheck => script::run::<V, recheck::Recheck>,
        Experiment::RecheckRace => script::run::<V, recheck::RecheckRace>,
        Experiment::Tables => script::run::<V, tables::Tables>,
        Experiment::Reuse => script::run::<V, reuse::Reuse>,
        Experiment::Publish => script::run::<V, publish::Publish>,
        Experiment::Pin => script::run::<V, pin::Pin>,
        Experiment::Init => script::run::<V, init::Init>,
    }
}
