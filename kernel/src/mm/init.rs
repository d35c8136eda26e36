//! `mm::init`: the boot entry (`mem_init`-like). Builds the kernel's `mem_map` in frames carved
//! from the free RAM (as memblock would), hands the remaining free frames to the buddy
//! allocator and prints the zone summary.

use super::knobs::MmKnobs;
use super::memmap::MemMap;
use super::page::Page;
use super::pcp::PcpConfig;
use super::types::{PhysRange, MAX_ORDER, NR_CPUS, PAGE_SHIFT, PAGE_SIZE};
use super::zone::Zone;
use spin::Once;

static ZONE: Once<Zone> = Once::new();

const _: () = assert!(
    NR_CPUS >= crate::smp::MAX_CPUS,
    "one per-CPU page set per possible CPU"
);

/// The kernel's zone. Panics if [`init`] has not run.
#[inline]
pub fn zone() -> &'static Zone {
    ZONE.get().expect("mm::init was not called")
}

/// The kernel's zone, if [`init`] has run.
pub fn try_zone() -> Option<&'static Zone> {
    ZONE.get()
}

/// Build the global zone from the free RAM ranges (called once by BOOT on CPU 0, MMU on).
/// Frames inside the span but outside `free` stay reserved. Panics if the ranges are empty or
/// no range can hold the mem_map.
pub fn init(free: &[PhysRange]) -> &'static Zone {
    ZONE.call_once(|| {
        // SAFETY: BOOT hands over `free` as RAM nobody else uses from now on; `build_zone`
        // carves the mem_map out of it and gives the rest to the allocator.
        let z = unsafe { build_zone(free) };
        print_summary(&z);
        z
    })
}

/// Build a zone whose mem_map is carved from `free` (shared by [`init`] and host tests).
///
/// # Safety
/// Every byte of every range in `free` must be identity-mapped memory (physical == virtual)
/// that nothing else uses for the rest of the program.
pub unsafe fn build_zone(free: &[PhysRange]) -> Zone {
    let ranges = free.iter().filter(|r| r.end_pfn() > r.start_pfn());
    let start_pfn = ranges
        .clone()
        .map(|r| r.start_pfn())
        .min()
        .expect("mm::init: no free RAM");
    let end_pfn = ranges
        .clone()
        .map(|r| r.end_pfn())
        .max()
        .unwrap_or(start_pfn);
    let nr = (end_pfn - start_pfn) as usize;
    let map_frames = (nr * core::mem::size_of::<Page>()).div_ceil(PAGE_SIZE as usize) as u64;
    let carve = ranges
        .clone()
        .find(|r| r.end_pfn() - r.start_pfn() >= map_frames)
        .expect("mm::init: no free range can hold the mem_map");
    let map_pfn = carve.start_pfn();
    let base = (map_pfn << PAGE_SHIFT) as *mut Page;
    for i in 0..nr {
        // SAFETY: `[map_pfn, map_pfn + map_frames)` lies inside a free range (caller's
        // contract: unused identity-mapped RAM), is page aligned (so aligned for `Page`) and
        // big enough for `nr` pages; each slot is written once before any reference exists.
        unsafe { base.add(i).write(Page::new_reserved()) };
    }
    // SAFETY: all `nr` slots were initialised above; the memory is never reused or freed
    // (it is excluded from the ranges handed to the allocator below).
    let pages: &'static [Page] = unsafe { core::slice::from_raw_parts(base, nr) };
    let managed: u64 = ranges
        .clone()
        .map(|r| r.end_pfn() - r.start_pfn())
        .sum::<u64>()
        - map_frames;
    let zone = Zone::new(
        MemMap::from_static(pages, start_pfn, true),
        NR_CPUS,
        PcpConfig::for_zone(managed as usize, NR_CPUS),
        MmKnobs::default(),
    );
    for r in ranges {
        let (mut s, e) = (r.start_pfn(), r.end_pfn());
        if s == map_pfn {
            s += map_frames;
        }
        if s < e {
            zone.free_pfn_range(s, e);
        }
    }
    zone
}

fn print_summary(z: &Zone) {
    let mm = z.mem_map();
    let counts = z.free_counts();
    crate::kprintln!(
        "mm: mem_map pfn {:#x}..{:#x} ({} frames, {} KiB of struct page), {} free frames",
        mm.start_pfn(),
        mm.end_pfn(),
        mm.nr_pages(),
        mm.nr_pages() * core::mem::size_of::<Page>() / 1024,
        z.managed_pages()
    );
    let mut line = crate::console::LineBuf::new();
    use core::fmt::Write;
    let _ = write!(line, "mm: free blocks per order:");
    for (o, c) in counts.iter().enumerate().take(MAX_ORDER) {
        let _ = write!(line, " {o}:{c}");
    }
    let _ = writeln!(line);
    crate::console::write_locked(line.as_bytes());
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use crate::mm::memmap::alloc_leaked_ram;

    #[test]
    fn build_zone_carves_the_mem_map_and_frees_the_rest() {
        let ram = alloc_leaked_ram(2048, 10);
        // A hole in the middle (kernel image) and a ragged end.
        let free = [
            PhysRange {
                start: ram.start,
                end: ram.start + 600 * PAGE_SIZE,
            },
            PhysRange {
                start: ram.start + 700 * PAGE_SIZE,
                end: ram.end - 100,
            },
        ];
        // SAFETY: the leaked host allocation is unused memory that lives forever.
        let z = unsafe { build_zone(&free) };
        let mm = z.mem_map();
        assert_eq!(mm.start_pfn(), ram.start_pfn());
        assert_eq!(mm.nr_pages(), 2047, "ragged end frame is not covered");
        let map_frames = (2047 * 64usize).div_ceil(4096);
        assert_eq!(z.managed_pages(), 600 + 1347 - map_frames);
        assert_eq!(z.nr_free_pages(), z.managed_pages());
        let r = z.audit();
        assert_eq!(
            (r.frames_free, r.frames_in_use, r.double_free, r.bad_state),
            (z.managed_pages() as u64, 0, 0, 0)
        );
        // The mem_map itself lives in the first frames of RAM.
        assert_eq!(mm.pages().as_ptr() as u64, ram.start);
        assert!(crate::mm::page::PageReserved(
            mm.pfn_to_page(ram.start_pfn() + 650)
        ));
    }
}
