//! Host side of `cargo xtask bench`: the same bench bodies as `run=bench` in the image, on a
//! zone over host memory. `#[ignore]`d: run with
//! `cargo test -p kernel --release -- --ignored --nocapture --test-threads=1 bench_`.
#![cfg(not(loom))]

use kernel::bench::{gup_benches, mm_benches, BenchSpec, MmBenchEnv};
use kernel::mm::knobs::MmKnobs;
use kernel::mm::memmap::alloc_leaked_ram;
use kernel::mm::pgtable::{HeapTableAlloc, PgtableAlloc, ZonePgtableAlloc};

#[test]
#[ignore = "benchmark: run through `cargo xtask bench`"]
fn bench_mm() {
    kernel::hal::host::install_host(1);
    // 64 MiB of "RAM", aligned for order-10 blocks, owned by the zone for the process.
    let ram = alloc_leaked_ram(16384, 10);
    // SAFETY: `ram` was just allocated, is leaked (lives for the process) and used by nothing
    // else; host addresses play physical addresses.
    let zone = Box::leak(Box::new(unsafe { kernel::mm::build_zone(&[ram]) }));
    zone.set_knobs(MmKnobs::LINUX_V5_14);
    // Table pages from the zone, as in the image (GUP-fast refuses tables outside RAM).
    let tables: &'static ZonePgtableAlloc = Box::leak(Box::new(ZonePgtableAlloc::new(zone)));
    // A stand-in kernel root: an empty level-0 table (the host has no identity map to share).
    let kernel_pgd = HeapTableAlloc::new().alloc_table().expect("table");
    let env = MmBenchEnv::new(zone, kernel_pgd, tables, 1).expect("bench address space");
    for r in mm_benches(&env, 0, BenchSpec::from_iters(200_000)) {
        r.emit("host");
    }
    for r in gup_benches(&env, 0, BenchSpec::from_iters(200_000)) {
        r.emit("host");
    }
}
