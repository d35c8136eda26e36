//! The kernel heap: `buddy_system_allocator` over the image's `.heap` region (linker.ld),
//! initialised by the boot CPU once the MMU and D-cache are on (its spin lock needs
//! exclusives).

use buddy_system_allocator::LockedHeap;

#[global_allocator]
static HEAP: LockedHeap<32> = LockedHeap::empty();

/// Hand `[start, end)` to the allocator. Boot CPU, once, MMU on.
///
/// # Safety
/// The range must be unused RAM, identity-mapped Normal memory, owned by the heap from now on.
pub unsafe fn init(start: u64, end: u64) {
    // SAFETY: per this function's contract.
    unsafe { HEAP.lock().init(start as usize, (end - start) as usize) };
}

/// Bytes (allocated, total) for the banner.
pub fn stats() -> (usize, usize) {
    let h = HEAP.lock();
    (h.stats_alloc_actual(), h.stats_total_bytes())
}
