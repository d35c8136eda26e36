//! What each CPU does in an experiment: the writer's page-table and allocator operations, the
//! readers' GUP calls, and allocator churn on extra CPUs.

pub mod churn;
pub mod reader;
pub mod writer;

/// A CPU's role in a scripted experiment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// CPU 0: setup, the scripted step, teardown.
    Writer,
    /// CPU 1: the scripted reader.
    Reader,
    /// CPUs 2, 4, ...: free-running readers with widened windows.
    FreeReader,
    /// CPUs 3, 5, ...: allocator churn.
    Churn,
}

impl Role {
    /// The role of `cpu`.
    pub fn of(cpu: usize) -> Self {
        match cpu {
            0 => Self::Writer,
            1 => Self::Reader,
            c if c % 2 == 0 => Self::FreeReader,
            _ => Self::Churn,
        }
    }
}
