//! The image's memory layout (symbols from linker.ld) and the free RAM handed to mm.

use crate::dtb::{Range, Ranges};

extern "C" {
    static __image_start: u8;
    static __image_end: u8;
    static __bss_start: u8;
    static __stacks_end: u8;
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

/// `.bss` through the stacks: memory written with the MMU off that the D-cache must not
/// shadow with stale lines.
pub fn bss_and_stacks() -> Range {
    // SAFETY: as in `image`.
    unsafe { (addr(&__bss_start), addr(&__stacks_end)) }
}

/// The heap region.
pub fn heap() -> Range {
    // SAFETY: as in `image`.
    unsafe { (addr(&__heap_start), addr(&__heap_end)) }
}

/// `ram` minus every range of `holes` (all `[start, end)`), page-rounded outwards for the
/// holes and inwards for RAM. Ranges come out sorted (given sorted RAM).
pub fn subtract(ram: &[Range], holes: &[Range]) -> Ranges {
    const PAGE: u64 = 4096;
    let mut out = Ranges::new();
    for &(rs, re) in ram {
        let (rs, re) = (rs.next_multiple_of(PAGE), re & !(PAGE - 1));
        // Walk the RAM range, cutting at each hole, smallest start first.
        let mut cur = rs;
        loop {
            let next_hole = holes
                .iter()
                .map(|&(hs, he)| (hs & !(PAGE - 1), he.next_multiple_of(PAGE)))
                .filter(|&(hs, he)| he > cur && hs < re)
                .min_by_key(|&(hs, _)| hs);
            match next_hole {
                Some((hs, he)) => {
                    if hs > cur {
                        out.push((cur, hs.min(re)));
                    }
                    cur = cur.max(he);
                    if cur >= re {
                        break;
                    }
                }
                None => {
                    out.push((cur, re));
                    break;
                }
            }
        }
    }
    out
}

/// The low-4-GiB address space minus RAM: what the identity map covers as Device memory.
pub fn device_holes(ram: &[Range]) -> Ranges {
    subtract(&[(0, 1 << 32)], ram)
}
