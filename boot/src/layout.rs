//! The image's memory layout (symbols from linker.ld).

use crate::firmware::ranges::Range;

extern "C" {
    static __image_start: u8;
    static __image_end: u8;
    static __heap_start: u8;
    static __heap_end: u8;
}

fn addr(sym: &u8) -> u64 {
    sym as *const u8 as u64
}

/// `[start, end)` of the whole image (text to heap).
pub fn image() -> Range {
    // SAFETY: linker-defined symbols; only their addresses are taken, never their contents.
    unsafe { (addr(&__image_start), addr(&__image_end)) }
}

/// The heap region.
pub fn heap() -> Range {
    // SAFETY: as in `image`.
    unsafe { (addr(&__heap_start), addr(&__heap_end)) }
}
