//! Memory management: `struct page`, the page allocator (buddy + per-CPU lists), compound
//! pages and THP split, translation tables. Names follow Linux's mm/ so an mm developer finds
//! their way.

pub mod pgtable;
