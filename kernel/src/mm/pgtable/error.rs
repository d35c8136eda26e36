//! Why a page-table operation failed (a leaf every mapping path shares).

/// Why a mapping operation failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MapError {
    /// The table allocator ran out of pages.
    NoMemory,
    /// An address or size is not aligned to the mapping granule.
    Misaligned {
        /// The offending address.
        addr: u64,
    },
    /// An address lies outside the translated range.
    OutOfRange {
        /// The offending address.
        addr: u64,
    },
    /// Nothing (of the kind the operation needs) is mapped at `va`.
    NotMapped {
        /// Where.
        va: u64,
    },
    /// `va` is already mapped differently (or by a different kind of entry).
    Conflict {
        /// Where.
        va: u64,
        /// The descriptor found there.
        existing: u64,
    },
}
