//! Writer-side policy knobs of the allocator (spec §6 writer invariants, §7 variants).
//!
//! One [`MmKnobs`] value per zone, packed in one word and read once per allocator operation
//! (a relaxed load of plain configuration, outside every race window). The GUP reader side is
//! monomorphised by the GUP code; these are the allocator/free/split writers.

use core::sync::atomic::{AtomicU32, Ordering};

/// **W2 teardown→reuse**: how `free_pages_prepare` orders the tails' `compound_head` clearing
/// (S_clr) against the next publication of a non-zero refcount from the same block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TailClearOrder {
    /// Linux: `clear_compound_head()` is a plain `WRITE_ONCE`, nothing orders it (spec §2.3).
    Relaxed,
    /// W2 fix: `smp_wmb()` (release fence) after the last tail is cleared, so every later
    /// store of this CPU — in particular `set_page_refcounted` of a reused page — is ordered
    /// after S_clr for a reader whose fully ordered RMW observes that store.
    Release,
}

/// **W7 refcount last**: order of `set_page_refcounted` vs `prep_compound_page` (spec §5e8).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InitOrder {
    /// Linux v5.13–v6.12: `post_alloc_hook` sets refcount 1 (plain `atomic_set`) *before*
    /// `prep_compound_page` writes PG_head, the tails' `compound_head` and `page[1..2]`.
    Linux,
    /// W7: all compound metadata first, then the refcount 0→1 as a Release store, last.
    W7,
    /// Metadata first, refcount last but a plain store (no release): program order as W7,
    /// no hardware ordering. Lets an experiment miss exactly one other invariant (V4: W1)
    /// without W7's release ordering the very stores whose reordering it tests.
    LastRelaxed,
}

/// Protection of the per-CPU lists (spec §3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PcpProtection {
    /// v5.14–v5.19 `local_lock` on !PREEMPT_RT: IRQs masked + compiler barrier, **no hardware
    /// ordering**; each list is touched only by its own CPU. gupbed never allocates or frees
    /// from interrupt handlers, so masking IRQs would protect nothing and only the
    /// `barrier()` remains — exactly the ordering content of `local_lock_irqsave` on !RT.
    IrqOff,
    /// v6.0+: a real spin lock per pcp (acquire/release), remote drains take it.
    SpinLock,
}

/// What the per-CPU lists may hand out (spec §5b).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PcpReuse {
    /// Linux: a pcp list hands out blocks of its own order only; a different order comes from
    /// the buddy lists, i.e. across a `zone->lock` release/acquire pair.
    SameOrderOnly,
    /// The hypothetical allocator of §5b: when a pcp list is empty, a block from a higher-order
    /// pcp list of the same CPU is split on the spot (`expand` onto the pcp lists), so a freed
    /// order-N compound block can come back at another order (its head as order-0, a former
    /// tail as order-0) with no lock in between.
    SplitOnReuse,
}

/// The allocator's writer invariants and policies, one value per zone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MmKnobs {
    /// W2 (spec §6): tail clear vs reuse.
    pub tail_clear: TailClearOrder,
    /// W7 (spec §6, §5e8): refcount publication order.
    pub init_order: InitOrder,
    /// PCP protection (spec §3; V3 vs V3l).
    pub pcp: PcpProtection,
    /// PCP reuse policy (spec §5b).
    pub pcp_reuse: PcpReuse,
    /// W6 (spec §6): `check_new_page` on every page leaving a free list (refcount 0, no stale
    /// tail word, no stale PG_head); failures are counted as `bad_state`, never panics.
    pub check_new_pages: bool,
    /// Poison freed frames and check the pattern on allocation (use-after-free detection).
    /// Needs frames backed by memory; off by default.
    pub poison: bool,
}

impl MmKnobs {
    /// Linux v5.14 behaviour: relaxed tail clear, refcount first, local_lock pcp, same-order
    /// pcp reuse, new-page checks on, poisoning off.
    pub const LINUX_V5_14: MmKnobs = MmKnobs {
        tail_clear: TailClearOrder::Relaxed,
        init_order: InitOrder::Linux,
        pcp: PcpProtection::IrqOff,
        pcp_reuse: PcpReuse::SameOrderOnly,
        check_new_pages: true,
        poison: false,
    };

    /// The fixed testbed writer: W2 release, W7, spin-locked pcp.
    pub const FIXED: MmKnobs = MmKnobs {
        tail_clear: TailClearOrder::Release,
        init_order: InitOrder::W7,
        pcp: PcpProtection::SpinLock,
        pcp_reuse: PcpReuse::SameOrderOnly,
        check_new_pages: true,
        poison: false,
    };

    fn pack(self) -> u32 {
        (self.tail_clear == TailClearOrder::Release) as u32
            | ((self.init_order == InitOrder::W7) as u32) << 1
            | ((self.pcp == PcpProtection::SpinLock) as u32) << 2
            | ((self.pcp_reuse == PcpReuse::SplitOnReuse) as u32) << 3
            | (self.check_new_pages as u32) << 4
            | (self.poison as u32) << 5
            | ((self.init_order == InitOrder::LastRelaxed) as u32) << 6
    }

    fn unpack(w: u32) -> Self {
        let bit = |n: u32| w & (1 << n) != 0;
        MmKnobs {
            tail_clear: if bit(0) {
                TailClearOrder::Release
            } else {
                TailClearOrder::Relaxed
            },
            init_order: if bit(1) {
                InitOrder::W7
            } else if bit(6) {
                InitOrder::LastRelaxed
            } else {
                InitOrder::Linux
            },
            pcp: if bit(2) {
                PcpProtection::SpinLock
            } else {
                PcpProtection::IrqOff
            },
            pcp_reuse: if bit(3) {
                PcpReuse::SplitOnReuse
            } else {
                PcpReuse::SameOrderOnly
            },
            check_new_pages: bit(4),
            poison: bit(5),
        }
    }
}

impl Default for MmKnobs {
    fn default() -> Self {
        Self::LINUX_V5_14
    }
}

/// The zone's knob word. Plain configuration (not a `crate::sync` atomic: it is never part of
/// a race under test and must not add loom states). Changing knobs is only valid while no CPU
/// is inside the allocator (runs switch them between barriers).
pub struct KnobCell(AtomicU32);

impl KnobCell {
    /// A cell holding `k`.
    pub fn new(k: MmKnobs) -> Self {
        Self(AtomicU32::new(k.pack()))
    }
    /// Read the knobs once (relaxed).
    #[inline(always)]
    pub fn get(&self) -> MmKnobs {
        MmKnobs::unpack(self.0.load(Ordering::Relaxed))
    }
    /// Replace the knobs (quiescent allocator only).
    pub fn set(&self, k: MmKnobs) {
        self.0.store(k.pack(), Ordering::Relaxed);
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn knobs_round_trip_through_the_packed_word() {
        for w in 0..128u32 {
            if w & (1 << 1) != 0 && w & (1 << 6) != 0 {
                continue; // two init orders at once: not a word pack() produces
            }
            let k = MmKnobs::unpack(w);
            assert_eq!(k.pack(), w);
            let c = KnobCell::new(k);
            assert_eq!(c.get(), k);
        }
        let c = KnobCell::new(MmKnobs::default());
        c.set(MmKnobs::FIXED);
        assert_eq!(c.get(), MmKnobs::FIXED);
    }
}
