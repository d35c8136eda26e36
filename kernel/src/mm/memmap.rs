//! `mem_map`: the array of `struct page`, one per frame of a contiguous pfn span, and the
//! `pfn_to_page` / `page_to_pfn` / `compound_head` arithmetic on it.
//!
//! The kernel's mem_map lives in frames carved from free RAM (`&'static [Page]`); host tests and
//! loom models build their own (`Box<[Page]>`) over any pfn span. Physical == virtual: frame
//! `pfn` is the memory at address `pfn << PAGE_SHIFT`. A mem_map is *backed* when those frames
//! really exist (kernel RAM, or a host "RAM" allocation); only then may frame contents be
//! touched (poisoning).

use super::page::Page;
use super::types::{PhysRange, PAGE_SHIFT, PAGE_SIZE};
use crate::sync::read_once_dep;
use alloc::boxed::Box;
use core::ops::Deref;
use core::sync::atomic::AtomicU64 as FrameWord;

/// 64-bit words in one frame.
pub const FRAME_WORDS: usize = (PAGE_SIZE / 8) as usize;

enum Storage {
    Static(&'static [Page]),
    Owned(Box<[Page]>),
}

impl Deref for Storage {
    type Target = [Page];
    fn deref(&self) -> &[Page] {
        match self {
            Storage::Static(s) => s,
            Storage::Owned(b) => b,
        }
    }
}

/// One `struct page` per frame of `[start_pfn, start_pfn + nr)`.
pub struct MemMap {
    pages: Storage,
    base: usize,
    start_pfn: u64,
    backed: bool,
}

impl MemMap {
    /// A heap-allocated mem_map of `nr` reserved pages starting at `start_pfn`. `backed` says
    /// whether the frames themselves are real memory owned by the caller for the map's lifetime
    /// (see [`alloc_leaked_ram`]).
    pub fn new_owned(start_pfn: u64, nr: usize, backed: bool) -> Self {
        let pages: Box<[Page]> = (0..nr).map(|_| Page::new_reserved()).collect();
        let base = pages.as_ptr() as usize;
        Self {
            pages: Storage::Owned(pages),
            base,
            start_pfn,
            backed,
        }
    }

    /// A mem_map over already-initialised static pages (the kernel's, carved from RAM).
    pub fn from_static(pages: &'static [Page], start_pfn: u64, backed: bool) -> Self {
        Self {
            base: pages.as_ptr() as usize,
            pages: Storage::Static(pages),
            start_pfn,
            backed,
        }
    }

    /// Number of pages.
    #[inline(always)]
    pub fn nr_pages(&self) -> usize {
        self.pages.len()
    }
    /// First pfn covered.
    #[inline(always)]
    pub fn start_pfn(&self) -> u64 {
        self.start_pfn
    }
    /// One past the last pfn covered.
    #[inline(always)]
    pub fn end_pfn(&self) -> u64 {
        self.start_pfn + self.pages.len() as u64
    }
    /// Whether frame contents may be touched.
    pub fn backed(&self) -> bool {
        self.backed
    }
    /// All pages.
    pub fn pages(&self) -> &[Page] {
        &self.pages
    }

    /// Whether `pfn` is covered (`pfn_valid`).
    #[inline(always)]
    pub fn pfn_valid(&self, pfn: u64) -> bool {
        pfn.wrapping_sub(self.start_pfn) < self.pages.len() as u64
    }

    /// `pfn_to_page(pfn)`. Panics if `pfn` is not covered.
    #[inline(always)]
    pub fn pfn_to_page(&self, pfn: u64) -> &Page {
        &self.pages[(pfn - self.start_pfn) as usize]
    }

    /// The page at mem_map index `idx` (free-list links are such indices).
    #[inline(always)]
    pub fn page_at(&self, idx: u32) -> &Page {
        &self.pages[idx as usize]
    }

    /// mem_map index of `page`.
    #[inline(always)]
    pub fn page_idx(&self, page: &Page) -> u32 {
        let off = page.addr().wrapping_sub(self.base) / core::mem::size_of::<Page>();
        debug_assert!(off < self.pages.len(), "page outside this mem_map");
        off as u32
    }

    /// `page_to_pfn(page)`.
    #[inline(always)]
    pub fn page_to_pfn(&self, page: &Page) -> u64 {
        self.start_pfn + self.page_idx(page) as u64
    }

    /// `page + k` (`nth_page`). Panics past the end of the mem_map.
    #[inline(always)]
    pub fn nth_page(&self, page: &Page, k: usize) -> &Page {
        &self.pages[self.page_idx(page) as usize + k]
    }

    /// `page_address(page)`: physical == virtual.
    #[inline(always)]
    pub fn page_address(&self, page: &Page) -> u64 {
        self.page_to_pfn(page) << PAGE_SHIFT
    }

    /// The `struct page` whose address is `addr` (decoding a `compound_head` word). Panics if
    /// `addr` is not a page of this mem_map — a torn or garbage word shows up as a panic, never
    /// as a wild pointer.
    #[inline(always)]
    pub fn page_from_addr(&self, addr: usize) -> &Page {
        let off = addr.wrapping_sub(self.base);
        let sz = core::mem::size_of::<Page>();
        assert!(
            off.is_multiple_of(sz) && off / sz < self.pages.len(),
            "compound_head word {addr:#x} does not point at a struct page of this mem_map"
        );
        &self.pages[off / sz]
    }

    /// Decode a `compound_head` word read from `page`: `word - 1` if bit 0 is set, else `page`.
    #[inline(always)]
    pub fn decode_compound_head<'a>(&'a self, page: &'a Page, word: usize) -> &'a Page {
        if word & 1 != 0 {
            self.page_from_addr(word - 1)
        } else {
            page
        }
    }

    /// `compound_head(page)`: one `READ_ONCE` (dependency-ordered: [`read_once_dep`]) of the
    /// word, then the decode. Never reads the word twice.
    #[inline(always)]
    pub fn compound_head<'a>(&'a self, page: &'a Page) -> &'a Page {
        let w = read_once_dep(&page.compound_head);
        self.decode_compound_head(page, w)
    }

    /// The frame's contents as 64-bit words, if the map is backed.
    pub fn frame_words(&self, page: &Page) -> Option<&[FrameWord]> {
        if !self.backed {
            return None;
        }
        let pa = self.page_address(page) as usize;
        // SAFETY: a backed mem_map's creator guarantees that every covered frame is real,
        // 4 KiB-aligned memory that stays valid for the mem_map's lifetime (kernel RAM handed
        // to `mm::init`, or a leaked host allocation), and the mm code only ever accesses frame
        // contents through atomics, so shared references to `AtomicU64` words are sound.
        Some(unsafe { core::slice::from_raw_parts(pa as *const FrameWord, FRAME_WORDS) })
    }
}

/// Host tests: allocate `frames` zeroed 4 KiB frames aligned to `2^align_order` frames and leak
/// them, so a backed [`MemMap`] can use them as "RAM" for the rest of the process.
pub fn alloc_leaked_ram(frames: usize, align_order: u32) -> PhysRange {
    let align = (PAGE_SIZE as usize) << align_order;
    let size = frames * PAGE_SIZE as usize;
    let layout = core::alloc::Layout::from_size_align(size, align).expect("bad RAM layout");
    // SAFETY: `layout` has a non-zero size (frames > 0 asserted below) and a power-of-two
    // alignment; the memory is intentionally leaked, so it stays valid for the process.
    assert!(frames > 0);
    let p = unsafe { alloc::alloc::alloc_zeroed(layout) };
    assert!(!p.is_null(), "host RAM allocation failed");
    PhysRange {
        start: p as u64,
        end: p as u64 + size as u64,
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use crate::sync::write_once;

    #[test]
    fn pfn_page_round_trip_and_compound_head_decode() {
        let m = MemMap::new_owned(0x4000, 8, false);
        let p5 = m.pfn_to_page(0x4005);
        assert_eq!(m.page_to_pfn(p5), 0x4005);
        assert_eq!(m.page_idx(p5), 5);
        assert!(m.pfn_valid(0x4007) && !m.pfn_valid(0x4008) && !m.pfn_valid(0x3fff));
        let h = m.pfn_to_page(0x4004);
        assert!(core::ptr::eq(m.compound_head(p5), p5));
        write_once(&p5.compound_head, h.addr() | 1);
        assert!(core::ptr::eq(m.compound_head(p5), h));
        assert!(core::ptr::eq(m.nth_page(h, 1), p5));
        assert_eq!(m.page_address(h), 0x4004 << 12);
        assert!(m.frame_words(h).is_none());
    }

    #[test]
    #[should_panic(expected = "does not point at a struct page")]
    fn garbage_compound_head_panics_instead_of_wild_pointer() {
        let m = MemMap::new_owned(0, 2, false);
        let p = m.pfn_to_page(1);
        write_once(&p.compound_head, 0x12345 | 1);
        let _ = m.compound_head(p);
    }

    #[test]
    fn backed_frames_are_addressable() {
        let ram = alloc_leaked_ram(4, 2);
        let m = MemMap::new_owned(ram.start_pfn(), 4, true);
        let w = m.frame_words(m.pfn_to_page(ram.start_pfn() + 3)).unwrap();
        assert_eq!(w.len(), FRAME_WORDS);
        w[7].store(42, core::sync::atomic::Ordering::Relaxed);
        assert_eq!(w[7].load(core::sync::atomic::Ordering::Relaxed), 42);
    }
}
