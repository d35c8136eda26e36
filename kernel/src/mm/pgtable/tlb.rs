//! TLB maintenance for user address spaces, through [`crate::hal::hal`] when a platform is
//! installed (host unit tests without one: nothing to invalidate), or through a test double.
//!
//! Linux names: `flush_tlb_page` (last-level entry of one VA, `TLBI VALE1IS`; also covers a
//! 2 MiB block leaf), `flush_tlb_mm` (everything of the ASID, `TLBI ASIDE1IS`, which also
//! drops cached intermediate walk entries — used after unlinking a table, since the hal has no
//! non-last-level by-VA invalidation).

use crate::hal;

/// Where a page-table writer sends its invalidations.
pub trait TlbFlush: Sync {
    /// Invalidate the leaf entry for `va` in `asid` on all CPUs, and wait for completion.
    fn flush_tlb_page(&self, asid: u16, va: u64);
    /// Invalidate every entry (leaf and walk cache) of `asid` on all CPUs, and wait.
    fn flush_tlb_mm(&self, asid: u16);
}

/// The platform's broadcast TLBI via `hal()`; a no-op while no hal is installed.
pub struct HalTlb;

/// The default flusher.
pub static HAL_TLB: HalTlb = HalTlb;

impl TlbFlush for HalTlb {
    fn flush_tlb_page(&self, asid: u16, va: u64) {
        if hal::installed() {
            hal::hal().flush_tlb_page(asid, va);
        }
    }
    fn flush_tlb_mm(&self, asid: u16) {
        if hal::installed() {
            hal::hal().flush_tlb_asid(asid);
        }
    }
}
