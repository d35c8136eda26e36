//! Physical address ranges: a fixed-capacity list (no heap: used before the MMU is on) and
//! the range arithmetic boot needs (free RAM = RAM minus holes; Device = address space minus
//! RAM).

/// Most ranges kept in one list.
pub const MAX_RANGES: usize = 24;

/// A `[start, end)` physical range.
pub type Range = (u64, u64);

/// A small fixed-capacity list of ranges.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ranges {
    items: [Range; MAX_RANGES],
    len: usize,
}

impl Default for Ranges {
    fn default() -> Self {
        Self::new()
    }
}

impl Ranges {
    /// Empty.
    pub const fn new() -> Self {
        Self {
            items: [(0, 0); MAX_RANGES],
            len: 0,
        }
    }

    /// Add a range. Empty ranges are ignored (`true`); `false` if the list is full.
    pub fn push(&mut self, r: Range) -> bool {
        if r.0 >= r.1 {
            return true;
        }
        if self.len == MAX_RANGES {
            return false;
        }
        self.items[self.len] = r;
        self.len += 1;
        true
    }

    /// The ranges.
    pub fn as_slice(&self) -> &[Range] {
        &self.items[..self.len]
    }

    /// Whether the list is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Sort by start address (insertion sort: tiny lists, no allocation).
    pub fn sort(&mut self) {
        let s = &mut self.items[..self.len];
        for i in 1..s.len() {
            let mut j = i;
            while j > 0 && s[j - 1].0 > s[j].0 {
                s.swap(j - 1, j);
                j -= 1;
            }
        }
    }

    /// Total bytes covered (ranges assumed disjoint).
    pub fn bytes(&self) -> u64 {
        self.as_slice().iter().map(|(s, e)| e - s).sum()
    }

    /// The first range of at least `size` bytes starting at or above `from` (lowest start),
    /// else the lowest such range below it.
    pub fn first_fit_from(&self, from: u64, size: u64) -> Option<Range> {
        self.as_slice()
            .iter()
            .copied()
            .filter(|&(s, e)| e - s >= size)
            .min_by_key(|&(s, _)| (s < from, s))
    }

    /// The range that holds `addr`, if any.
    pub fn around(&self, addr: u64) -> Option<Range> {
        self.as_slice()
            .iter()
            .copied()
            .find(|&(s, e)| s <= addr && addr < e)
    }
}

const PAGE: u64 = 4096;

/// `ram` minus every range of `holes`, page-rounded outwards for the holes and inwards for
/// RAM. Ranges come out sorted (given sorted RAM). Pieces beyond the list's capacity are
/// dropped (RAM lost, never RAM invented).
pub fn subtract(ram: &[Range], holes: &[Range]) -> Ranges {
    let mut out = Ranges::new();
    for &(rs, re) in ram {
        let (rs, re) = (rs.next_multiple_of(PAGE), re & !(PAGE - 1));
        if rs >= re {
            continue;
        }
        // Walk the RAM range, cutting at each hole, smallest start first.
        let mut cur = rs;
        loop {
            let next_hole = holes
                .iter()
                .filter(|&&(hs, he)| hs < he)
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

/// The low-4-GiB address space minus RAM: what the identity map covers as Device memory
/// (QEMU virt's devices and the Pi 4's 0xFC00_0000.. peripheral window all live there).
pub fn device_holes(ram: &[Range]) -> Ranges {
    subtract(&[(0, 1 << 32)], ram)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subtract_cuts_holes_and_rounds_pages() {
        let ram = [(0, 0x4000_0000)];
        let holes = [
            (0, 0x1000),
            (0x8_0000, 0x12_3456),
            (0x3000_0010, 0x3000_0020),
        ];
        let free = subtract(&ram, &holes);
        assert_eq!(
            free.as_slice(),
            &[
                (0x1000, 0x8_0000),
                (0x12_4000, 0x3000_0000),
                (0x3000_1000, 0x4000_0000)
            ]
        );
        assert_eq!(free.bytes(), 0x4000_0000 - 0x1000 - 0xa_4000 - 0x1000);
    }

    #[test]
    fn subtract_handles_overlapping_and_outside_holes() {
        let ram = [(0x1000, 0x9000), (0x10_0000, 0x20_0000)];
        let holes = [
            (0x2000, 0x5000),
            (0x4000, 0x6000),
            (0x50_0000, 0x60_0000),
            (0, 0),
        ];
        let free = subtract(&ram, &holes);
        assert_eq!(
            free.as_slice(),
            &[(0x1000, 0x2000), (0x6000, 0x9000), (0x10_0000, 0x20_0000)]
        );
    }

    #[test]
    fn device_holes_cover_the_rest_of_4g() {
        // A 2 GiB Pi 4 with the VideoCore carve-out: RAM 0..0x3b40_0000, 0x4000_0000..0x8000_0000.
        let ram = [(0, 0x3b40_0000), (0x4000_0000, 0x8000_0000)];
        let dev = device_holes(&ram);
        assert_eq!(
            dev.as_slice(),
            &[(0x3b40_0000, 0x4000_0000), (0x8000_0000, 1 << 32)]
        );
        assert!(dev.around(0xfe20_1000).is_some(), "UART0 is Device");
        assert!(dev.around(0xff84_1000).is_some(), "GIC-400 is Device");
    }

    #[test]
    fn early_tables_go_after_the_image_but_not_over_the_dtb() {
        // Image 0x8_0000..0x117_e000; a loader put the DTB right after it (allowed: only
        // image_size is off limits), at 0x117_e000..0x118_6000.
        let ram = [(0, 0x3c00_0000)];
        let holes = [
            (0, 0x8_0000),
            (0x8_0000, 0x117_e000),
            (0x117_e000, 0x118_5800),
        ];
        let free = subtract(&ram, &holes);
        assert_eq!(
            free.first_fit_from(0x117_e000, 2 << 20),
            Some((0x118_6000, 0x3c00_0000))
        );
        // Not enough room above: the lowest range below that fits.
        let free = subtract(&[(0, 0x20_0000), (0x100_0000, 0x110_0000)], &[(0, 0x1000)]);
        assert_eq!(
            free.first_fit_from(0x100_0000, 0x10_0000),
            Some((0x100_0000, 0x110_0000))
        );
        assert_eq!(
            free.first_fit_from(0x200_0000, 0x10_0000),
            Some((0x1000, 0x20_0000))
        );
        assert_eq!(free.first_fit_from(0, 0x40_0000), None);
    }

    #[test]
    fn push_ignores_empty_and_reports_full() {
        let mut r = Ranges::new();
        assert!(r.push((5, 5)));
        assert!(r.is_empty());
        for i in 0..MAX_RANGES as u64 {
            assert!(r.push((i * 10, i * 10 + 1)));
        }
        assert!(!r.push((1000, 1001)));
        r.sort();
        assert_eq!(r.as_slice()[0], (0, 1));
    }
}
