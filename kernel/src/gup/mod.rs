//! GUP-fast (`get_user_pages_fast` / `pin_user_pages_fast`) and the locked slow path.
//!
//! Shape and names follow Linux mm/gup.c (v5.13 → v6.10, see spec §1): the lockless walk
//! [`walk::gup_fast_pgd_range`] with interrupts masked, the PTE leaf
//! [`pte_range::gup_fast_pte_range`], the 2 MiB leaf [`pmd_leaf::gup_fast_pmd_leaf`], the
//! speculative grab [`grab::try_grab_folio_fast`] (R3–R6), the release path [`unpin`], and
//! the locked fallback [`slow`]. The reader is generic over a [`variant::Variant`] (compile-time
//! knobs) and a [`window::Window`] (hooks; [`window::NoWindow`] for the plain API).

pub mod fast;
pub mod grab;
pub mod pmd_leaf;
pub mod pte_range;
pub mod slow;
pub mod unpin;
pub mod variant;
pub mod walk;
pub mod window;

use crate::mm::memmap::MemMap;
use crate::mm::zone::Zone;

/// `FOLL_WRITE`: the caller will write to the pages.
pub const FOLL_WRITE: u32 = 0x01;
/// `FOLL_GET`: take a normal reference (`get_user_pages*`).
pub const FOLL_GET: u32 = 0x04;
/// `FOLL_PIN`: take a DMA pin (`pin_user_pages*`, v5.6 eddb1c228f79).
pub const FOLL_PIN: u32 = 0x40000;

/// `GUP_PIN_COUNTING_BIAS` (include/linux/mm.h): a pin of an order-0/1 page adds this much
/// to its refcount.
pub const GUP_PIN_COUNTING_BIAS: i32 = crate::mm::pin::GUP_PIN_COUNTING_BIAS;

/// What GUP needs to know about the world: the zone (refcounts, frees), its mem_map, the
/// address space's level-0 table, and the calling CPU (per-CPU free lists).
#[derive(Clone, Copy)]
pub struct GupCtx<'a> {
    /// The zone whose pages the address space maps.
    pub zone: &'a Zone,
    /// `zone.mem_map()`.
    pub mem_map: &'a MemMap,
    /// Physical address of the address space's level-0 table (`mm->pgd`).
    pub pgd: u64,
    /// The calling CPU.
    pub cpu: usize,
}

impl<'a> GupCtx<'a> {
    /// A context for CPU `cpu` walking the tree rooted at `pgd`.
    pub fn new(zone: &'a Zone, pgd: u64, cpu: usize) -> Self {
        Self {
            zone,
            mem_map: zone.mem_map(),
            pgd,
            cpu,
        }
    }
}
