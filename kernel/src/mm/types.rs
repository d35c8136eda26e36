//! Basic physical-memory types shared with BOOT: frame size, pfn arithmetic, [`PhysRange`].

/// Base page size shift (4 KiB granule).
pub const PAGE_SHIFT: u32 = 12;
/// Base page size in bytes.
pub const PAGE_SIZE: u64 = 1 << PAGE_SHIFT;
/// Buddy orders are `0..MAX_ORDER` (Linux's `MAX_ORDER` of v5.x: 11 ⇒ largest block 4 MiB).
pub const MAX_ORDER: usize = 11;
/// `PAGE_ALLOC_COSTLY_ORDER`: highest order kept on the low-order per-CPU lists.
pub const PAGE_ALLOC_COSTLY_ORDER: usize = 3;
/// `pageblock_order` = `HPAGE_PMD_ORDER` on arm64 with 4 KiB pages (a 2 MiB THP).
pub const HPAGE_PMD_ORDER: usize = 9;
/// Highest CPU count the per-CPU page sets are sized for.
pub const NR_CPUS: usize = 8;

/// A physical address range `[start, end)` in bytes. BOOT passes the free RAM ranges to
/// [`crate::mm::init`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PhysRange {
    /// First byte.
    pub start: u64,
    /// One past the last byte.
    pub end: u64,
}

impl PhysRange {
    /// Length in bytes (0 if empty or inverted).
    pub fn len(&self) -> u64 {
        self.end.saturating_sub(self.start)
    }
    /// Whether the range holds no byte.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// First whole frame inside the range.
    pub fn start_pfn(&self) -> u64 {
        self.start.div_ceil(PAGE_SIZE)
    }
    /// One past the last whole frame inside the range.
    pub fn end_pfn(&self) -> u64 {
        self.end >> PAGE_SHIFT
    }
}

/// Allocation flags (`gfp_t`); only the bits the testbed uses.
pub type Gfp = u32;
/// No special request.
pub const GFP_KERNEL: Gfp = 0;
/// `__GFP_COMP`: set up a compound page (PG_head + tails pointing at it).
pub const __GFP_COMP: Gfp = 1 << 0;
/// `GFP_TRANSHUGE`-like: a compound THP-order page.
pub const GFP_TRANSHUGE: Gfp = __GFP_COMP;

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn phys_range_rounds_inwards_to_whole_frames() {
        let r = PhysRange {
            start: 0x1001,
            end: 0x5fff,
        };
        assert_eq!(r.start_pfn(), 2);
        assert_eq!(r.end_pfn(), 5);
        assert_eq!(r.len(), 0x4ffe);
        assert!(PhysRange { start: 5, end: 3 }.is_empty());
    }
}
