//! Memory management: `struct page`, the page allocator (buddy + per-CPU lists), compound
//! pages and THP split, translation tables. Names follow Linux's mm/ so an mm developer finds
//! their way.
//!
//! Linux version followed: **v5.13 `struct page` layout** (compound metadata in `page[1]`,
//! `hpage_pinned_refcount` in `page[2]`) with the **v5.14 page allocator** (high-order per-CPU
//! lists, `free_the_page` for compound pages, `local_lock` pcp protection), plus the v6.0
//! spin-locked pcp and the testbed's writer fixes as run-time knobs ([`knobs::MmKnobs`]).
//!
//! Everything is instantiable on its own ([`zone::Zone`] over a [`memmap::MemMap`]) for host
//! tests and loom; the kernel's single zone is built by [`init`] and reached with [`zone()`].
//! CPU ids are parameters (`cpu: usize`), never read from the hardware deep inside.

pub mod audit;
pub mod buddy;
pub mod compound;
pub mod debug;
pub mod huge_memory;
mod init;
pub mod knobs;
pub mod list;
pub mod lock;
pub mod memmap;
pub mod page;
pub mod page_alloc;
#[cfg(all(test, not(loom)))]
mod page_alloc_tests;
pub mod page_ref;
pub mod pcp;
pub mod pgtable;
pub mod pin;
pub mod types;
pub mod zone;

pub use init::{build_zone, init, try_zone, zone};
