//! What the experiments need from the rest of the kernel, gathered once: the zone, a
//! zone-backed page-table allocator with deferred freeing, the kernel's level-0 table (user
//! address spaces share it), and the oracle's shadow ownership table.

use crate::mm::pgtable::tlb_free::TableRcu;
use crate::mm::pgtable::{PgtableAlloc, ZonePgtableAlloc};
use crate::mm::zone::Zone;
use crate::sync::AtomicU64;
use alloc::boxed::Box;
use alloc::vec::Vec;

/// Everything the experiments share across runs.
pub struct Platform {
    /// The zone.
    pub zone: &'static Zone,
    /// Deferred table freeing over a zone-backed table allocator.
    pub rcu: &'static TableRcu<'static>,
    /// Level-0 table whose kernel entries user address spaces copy.
    pub kernel_pgd: u64,
    /// Shadow owner word per frame of the zone.
    pub owner: &'static [AtomicU64],
    /// Shadow pin count per frame: how many GUP holders believe they hold the frame.
    pub pins: &'static [AtomicU64],
    /// Canary per frame: the value the writer stamped into word 0 of the frame at its latest
    /// allocation (see `oracles::canary`).
    pub canary: &'static [AtomicU64],
}

impl Platform {
    /// Build (and leak, it lives as long as the kernel) the platform for `zone` with `nr_cpus`
    /// CPUs. `kernel_pgd`: the live kernel root (`None`: an empty root from the zone — host
    /// tests, where no identity map exists).
    pub fn new(zone: &'static Zone, nr_cpus: usize, kernel_pgd: Option<u64>) -> Self {
        let alloc: &'static ZonePgtableAlloc<'static> =
            Box::leak(Box::new(ZonePgtableAlloc::new(zone)));
        let rcu: &'static TableRcu<'static> = Box::leak(Box::new(TableRcu::new(alloc, nr_cpus)));
        for cpu in 0..nr_cpus {
            rcu.rcu_idle_enter(cpu);
        }
        let kernel_pgd = kernel_pgd.unwrap_or_else(|| {
            alloc
                .alloc_table()
                .expect("platform: no frame for a root table")
        });
        let n = zone.mem_map().nr_pages();
        let owner: Vec<AtomicU64> = (0..n).map(|_| AtomicU64::new(0)).collect();
        let pins: Vec<AtomicU64> = (0..n).map(|_| AtomicU64::new(0)).collect();
        let canary: Vec<AtomicU64> = (0..n).map(|_| AtomicU64::new(0)).collect();
        Self {
            zone,
            rcu,
            kernel_pgd,
            owner: Box::leak(owner.into_boxed_slice()),
            pins: Box::leak(pins.into_boxed_slice()),
            canary: Box::leak(canary.into_boxed_slice()),
        }
    }
}

static PLATFORM: spin::Once<Platform> = spin::Once::new();

/// The kernel's platform (built on first use, by CPU 0, from `mm::zone()`).
pub fn kernel_platform(nr_cpus: usize) -> &'static Platform {
    PLATFORM.call_once(|| {
        Platform::new(
            crate::mm::zone(),
            nr_cpus,
            crate::mm::pgtable::swapper_pg_dir(),
        )
    })
}
