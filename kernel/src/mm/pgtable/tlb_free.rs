//! Freeing page-table pages after every lockless walker is done with them (writer invariant
//! W5): Linux's `tlb_remove_table()` under `CONFIG_MMU_GATHER_RCU_TABLE_FREE`, where the table
//! is freed after an RCU-sched grace period and GUP-fast's IRQ-off section holds that off.
//!
//! gupbed has no scheduler, so the grace period is explicit and clock-free:
//! - `gp_seq` counts queued tables: [`TableRcu::tlb_remove_table`] bumps it with a fully
//!   ordered RMW *after* the caller unlinked the table and flushed the TLB, and tags the table
//!   with the new value `g`.
//! - Each CPU reports quiescent states with [`TableRcu::rcu_quiescent_state`] from its role
//!   loop, **outside** any read-side section (a read-side section = GUP-fast's IRQ-off
//!   walk). The report records the `gp_seq` it saw, between two `smp_mb()`s.
//! - A table tagged `g` is freed once every CPU's record is `>= g`: each CPU has since been
//!   outside a read-side section, so any walk that could have fetched the unlinked table's
//!   address has finished, and later walks see the unlinked tree.
//! - A CPU that stops walking for good (or for a long idle phase) calls
//!   [`TableRcu::rcu_idle_enter`] so it does not hold up grace periods, and
//!   [`TableRcu::rcu_idle_exit`] before walking again (a store, then `smp_mb()`: the
//!   store-buffering pairing with the freer's RMW keeps it safe).
//!
//! [`TableFreePolicy::Immediate`] is the V10 bug: the table is poisoned (every entry set to
//! [`PGTABLE_POISON`]) and handed back to the allocator at once. Freed tables are poisoned
//! under either policy, just before they reach the allocator, so a walker that ever reads
//! [`PGTABLE_POISON`] read a freed table — the GUP oracle counts it; under `Deferred` that
//! count must stay 0.

use super::pgalloc::PgtableAlloc;
use super::table::PageTable;
use crate::sync::{atomic_add, atomic_add_return, read_once, smp_mb, write_once, AtomicU64};
use alloc::vec::Vec;

/// What a freed table page is filled with: an invalid descriptor at every level (bit 0
/// clear, so neither the MMU nor a walker that checks validity follows it), with a pattern no
/// real descriptor has ("7ab1e dead": output-address bits that name no RAM, software bits set).
pub const PGTABLE_POISON: u64 = 0x7ab1_e000_dead_0000;

/// Whether a descriptor value read by a walker comes from a freed table: our
/// [`PGTABLE_POISON`], or the page allocator's free-frame poison
/// ([`crate::mm::debug::PAGE_POISON_WORD`], written over table frames returned through
/// [`super::ZonePgtableAlloc`] when the `poison` knob is on). Both are invalid descriptors.
/// A freed table already reused for something else can hold anything: this catches the
/// freed-and-not-yet-reused window, which is where the V10 walker usually lands.
#[inline(always)]
pub const fn pgtable_poisoned(v: u64) -> bool {
    v == PGTABLE_POISON || v == crate::mm::debug::PAGE_POISON_WORD
}

/// How table pages unlinked from an address space are freed (a variant knob).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TableFreePolicy {
    /// Correct (W5): after every CPU passed a quiescent state ([`TableRcu`]).
    Deferred,
    /// V10 bug: poison and free at once, while walkers may still read the table.
    Immediate,
}

/// A CPU in an extended quiescent state (idle or done walking): never holds up a grace period.
const RCU_IDLE: u64 = u64::MAX;

/// Deferred table freeing with per-CPU quiescent-state counters (see the module docs).
pub struct TableRcu<'a> {
    alloc: &'a (dyn PgtableAlloc + Sync),
    gp_seq: AtomicU64,
    qs: Vec<AtomicU64>,
    pending: spin::Mutex<Vec<(u64, u64)>>,
    nr_freed: AtomicU64,
}

impl<'a> TableRcu<'a> {
    /// Deferred freeing to `alloc` among `nr_cpus` CPUs (ids `0..nr_cpus`). Every CPU starts
    /// as "not yet quiescent".
    pub fn new(alloc: &'a (dyn PgtableAlloc + Sync), nr_cpus: usize) -> Self {
        assert!(nr_cpus > 0);
        TableRcu {
            alloc,
            gp_seq: AtomicU64::new(0),
            qs: (0..nr_cpus).map(|_| AtomicU64::new(0)).collect(),
            pending: spin::Mutex::new(Vec::new()),
            nr_freed: AtomicU64::new(0),
        }
    }

    /// The allocator tables come from and go back to.
    pub fn alloc(&self) -> &'a (dyn PgtableAlloc + Sync) {
        self.alloc
    }

    /// Number of CPUs taking part.
    pub fn nr_cpus(&self) -> usize {
        self.qs.len()
    }

    /// `tlb_remove_table()`: queue the table at `pa`, already unlinked from every tree and
    /// flushed from the TLBs, to be freed after a grace period.
    pub fn tlb_remove_table(&self, pa: u64) {
        let mut pending = self.pending.lock();
        // Fully ordered: the unlink happens-before the new generation, which quiescent-state
        // reports read.
        let g = atomic_add_return(&self.gp_seq, 1);
        pending.push((g, pa));
    }

    /// `rcu_qs()`: CPU `cpu` is outside any read-side section. Call it from role loops
    /// between GUP-fast calls (never with interrupts masked for a walk).
    pub fn rcu_quiescent_state(&self, cpu: usize) {
        smp_mb(); // earlier read-side loads before the report
        let g = read_once(&self.gp_seq);
        write_once(&self.qs[cpu], g);
        smp_mb(); // the report before later read-side loads
    }

    /// CPU `cpu` stops walking page tables until [`TableRcu::rcu_idle_exit`].
    pub fn rcu_idle_enter(&self, cpu: usize) {
        smp_mb();
        write_once(&self.qs[cpu], RCU_IDLE);
    }

    /// CPU `cpu` may walk page tables again.
    pub fn rcu_idle_exit(&self, cpu: usize) {
        write_once(&self.qs[cpu], read_once(&self.gp_seq));
        smp_mb();
    }

    /// Highest generation every CPU has passed.
    fn completed(&self) -> u64 {
        smp_mb();
        let done = self.qs.iter().map(read_once).min().unwrap_or(RCU_IDLE);
        smp_mb(); // the reports before the frees
        done
    }

    /// Free every queued table whose grace period has elapsed; returns how many.
    pub fn tlb_table_flush(&self) -> usize {
        let done = self.completed();
        let ready: Vec<u64> = {
            let mut pending = self.pending.lock();
            let mut ready = Vec::new();
            pending.retain(|&(g, pa)| {
                let keep = g > done;
                if !keep {
                    ready.push(pa);
                }
                keep
            });
            ready
        };
        for &pa in &ready {
            // SAFETY: the grace period elapsed: no walker can reach `pa` any more.
            unsafe { free_table_poisoned(self.alloc, pa) };
        }
        atomic_add(&self.nr_freed, ready.len() as u64);
        ready.len()
    }

    /// `synchronize_rcu()` + flush, from CPU `cpu` (outside a read-side section): report a
    /// quiescent state for `cpu`, wait until every table queued so far can be freed, free
    /// them. The other CPUs must keep reporting (or be idle); if one stops, the wait ends at
    /// the kernel deadline (exit code 4) instead of spinning forever.
    pub fn synchronize(&self, cpu: usize) {
        let target = read_once(&self.gp_seq);
        self.rcu_quiescent_state(cpu);
        let mut p = crate::rt::deadline::Poller::new();
        while self.completed() < target {
            p.poll();
            core::hint::spin_loop();
        }
        self.tlb_table_flush();
    }

    /// Tables queued and not yet freed.
    pub fn nr_pending(&self) -> usize {
        self.pending.lock().len()
    }

    /// Tables freed so far by this mechanism.
    pub fn nr_freed(&self) -> u64 {
        read_once(&self.nr_freed)
    }
}

impl Drop for TableRcu<'_> {
    /// With `&mut self`, no CPU holds a reference any more: free what is left.
    fn drop(&mut self) {
        for &(_, pa) in self.pending.get_mut().iter() {
            // SAFETY: nothing can walk tables reachable only through this queue any more.
            unsafe { free_table_poisoned(self.alloc, pa) };
        }
    }
}

/// Poison the table at `pa` and give it back to `alloc` (the end of every table's life; and
/// the whole of it under [`TableFreePolicy::Immediate`]).
///
/// # Safety
/// `pa` is a table page of `alloc` that is no longer linked into any tree. Under the correct
/// policy, additionally no walker may still hold its address.
pub unsafe fn free_table_poisoned(alloc: &dyn PgtableAlloc, pa: u64) {
    // SAFETY: `pa` is a table page of `alloc` (caller), still allocated until the next line.
    unsafe { PageTable::from_pa(pa) }.fill(PGTABLE_POISON);
    alloc.free_table(pa);
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use crate::mm::pgtable::desc::mk_table;
    use crate::mm::pgtable::pgalloc::HeapTableAlloc;

    #[test]
    fn nothing_is_freed_before_every_cpu_passes_a_quiescent_state() {
        let a = HeapTableAlloc::new();
        let rcu = TableRcu::new(&a, 3);
        // Quiescent states reported before the table is queued do not count.
        for cpu in 0..3 {
            rcu.rcu_quiescent_state(cpu);
        }
        let t1 = a.alloc_table().unwrap();
        let t2 = a.alloc_table().unwrap();
        rcu.tlb_remove_table(t1);
        assert_eq!(rcu.tlb_table_flush(), 0);
        rcu.rcu_quiescent_state(0);
        rcu.rcu_quiescent_state(2);
        assert_eq!(rcu.tlb_table_flush(), 0, "CPU 1 has not passed");
        rcu.tlb_remove_table(t2);
        rcu.rcu_quiescent_state(1);
        // t1: every CPU passed. t2 was queued after CPUs 0 and 2 reported (CPU 1's report
        // came after it): it waits.
        assert_eq!(rcu.tlb_table_flush(), 1);
        assert!(a.is_free(t1) && !a.is_free(t2));
        // SAFETY: t2 is queued, not freed: still a live table of `a`.
        let t2_table = unsafe { PageTable::from_pa(t2) };
        assert!(
            t2_table.entries.iter().all(|e| read_once(e) == 0),
            "untouched until freed"
        );
        rcu.rcu_quiescent_state(0);
        assert_eq!(rcu.tlb_table_flush(), 0, "CPU 2 still");
        rcu.rcu_idle_enter(2); // idle CPUs do not hold grace periods up
        assert_eq!(rcu.tlb_table_flush(), 1);
        assert!(a.is_free(t2));
        assert_eq!((rcu.nr_pending(), rcu.nr_freed(), a.nr_live()), (0, 2, 0));
    }

    #[test]
    fn freed_tables_are_poisoned() {
        let a = HeapTableAlloc::new();
        let t = a.alloc_table().unwrap();
        // SAFETY: `t` is unlinked (never linked).
        unsafe { free_table_poisoned(&a, t) };
        // SAFETY: HeapTableAlloc keeps freed tables allocated.
        let table = unsafe { PageTable::from_pa(t) };
        assert!(table.entries.iter().all(|e| pgtable_poisoned(read_once(e))));
        assert_eq!(PGTABLE_POISON & 1, 0, "poison is an invalid descriptor");
        assert_eq!(
            crate::mm::debug::PAGE_POISON_WORD & 1,
            0,
            "so is the allocator's"
        );
        assert!(!pgtable_poisoned(0) && !pgtable_poisoned(mk_table(0x4000_0000)));
    }

    #[test]
    fn dropping_frees_what_is_left() {
        let a = HeapTableAlloc::new();
        {
            let rcu = TableRcu::new(&a, 2);
            rcu.tlb_remove_table(a.alloc_table().unwrap());
            assert_eq!(a.nr_live(), 1);
        }
        assert_eq!(a.nr_live(), 0);
    }

    /// Reader threads walk a table they fetched from a shared slot, as GUP-fast does; the
    /// writer keeps replacing the table and frees the old one through the grace period. No
    /// reader may ever read poison, and every table gets freed.
    #[test]
    fn concurrent_walkers_never_see_a_deferred_freed_table() {
        const READERS: usize = 2;
        let a = HeapTableAlloc::new();
        let rcu = TableRcu::new(&a, READERS + 1);
        let slot = AtomicU64::new(a.alloc_table().unwrap());
        let stop = AtomicU64::new(0);
        let poisoned = AtomicU64::new(0);
        std::thread::scope(|s| {
            for cpu in 1..=READERS {
                let (rcu, slot, stop, poisoned) = (&rcu, &slot, &stop, &poisoned);
                s.spawn(move || {
                    while read_once(stop) == 0 {
                        // Read-side section: fetch the table, read it several times.
                        let pa = crate::sync::read_once_dep(slot);
                        // SAFETY: tables reachable from `slot` are freed only after a grace
                        // period, and we are inside a read-side section; `a` keeps even freed
                        // tables allocated, so a bug would show as poison, not as UB.
                        let t = unsafe { PageTable::from_pa(pa) };
                        for i in 0..64 {
                            if pgtable_poisoned(read_once(t.entry(i * 7))) {
                                atomic_add(poisoned, 1);
                            }
                        }
                        rcu.rcu_quiescent_state(cpu);
                    }
                    rcu.rcu_idle_enter(cpu);
                });
            }
            for _ in 0..2000 {
                let new = a.alloc_table().unwrap();
                let old = crate::sync::read_once(&slot);
                crate::sync::smp_store_release(&slot, new);
                rcu.tlb_remove_table(old);
                rcu.rcu_quiescent_state(0);
                rcu.tlb_table_flush();
            }
            write_once(&stop, 1);
        });
        rcu.synchronize(0);
        assert_eq!(read_once(&poisoned), 0);
        assert_eq!(rcu.nr_pending(), 0);
        assert_eq!(rcu.nr_freed(), 2000);
        assert_eq!(a.nr_live(), 1, "only the table still linked");
    }
}
