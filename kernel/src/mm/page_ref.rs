//! Reference-count primitives of include/linux/page_ref.h (spec §2.5).
//!
//! Ordering follows Linux: value-returning RMWs are fully ordered, `set_page_count` is a plain
//! `atomic_set`, `page_ref_freeze` is a fully ordered cmpxchg (unordered when it fails),
//! `page_ref_unfreeze` is `atomic_set_release`. Where an experiment varies the strength the
//! function takes a [`Strength`].

use super::page::Page;
use crate::sync::{
    add_unless, atomic_set, atomic_set_release, cmpxchg, fetch_add, fetch_sub, read_once, Strength,
};

/// `page_ref_count(page)`: `atomic_read`.
#[inline(always)]
pub fn page_ref_count(page: &Page) -> i32 {
    read_once(&page._refcount)
}

/// `page_count(page)` for a head (callers pass `compound_head(page)`).
#[inline(always)]
pub fn page_count(head: &Page) -> i32 {
    page_ref_count(head)
}

/// `set_page_count(page, v)`: plain `atomic_set` (no ordering).
#[inline(always)]
pub fn set_page_count(page: &Page, v: i32) {
    atomic_set(&page._refcount, v);
}

/// `init_page_count(page)`: `set_page_count(page, 1)`.
#[inline(always)]
pub fn init_page_count(page: &Page) {
    set_page_count(page, 1);
}

/// `page_ref_add(page, nr)`: non-returning, unordered.
#[inline(always)]
pub fn page_ref_add(page: &Page, nr: i32) {
    fetch_add(&page._refcount, nr, Strength::Relaxed);
}

/// `page_ref_sub(page, nr)`: non-returning, unordered.
#[inline(always)]
pub fn page_ref_sub(page: &Page, nr: i32) {
    fetch_sub(&page._refcount, nr, Strength::Relaxed);
}

/// `page_ref_inc(page)`.
#[inline(always)]
pub fn page_ref_inc(page: &Page) {
    page_ref_add(page, 1);
}

/// `page_ref_add` with a chosen strength; returns the old value (experiments' "plain add").
#[inline(always)]
pub fn page_ref_add_strength(page: &Page, nr: i32, s: Strength) -> i32 {
    fetch_add(&page._refcount, nr, s)
}

/// `page_ref_sub_return(page, nr)`: fully ordered; returns the new value.
#[inline(always)]
pub fn page_ref_sub_return(page: &Page, nr: i32) -> i32 {
    fetch_sub(&page._refcount, nr, Strength::Full) - nr
}

/// `page_ref_add_unless(page, nr, u)` with strength `s` on success (Linux: `Full`); unordered
/// when it fails.
#[inline(always)]
pub fn page_ref_add_unless(page: &Page, nr: i32, u: i32, s: Strength) -> bool {
    add_unless(&page._refcount, nr, u, s)
}

/// `get_page_unless_zero(page)`: fully ordered add-unless-zero of one reference.
#[inline(always)]
pub fn get_page_unless_zero(page: &Page) -> bool {
    page_ref_add_unless(page, 1, 0, Strength::Full)
}

/// `page_ref_freeze(page, count)`: `cmpxchg(count → 0)`, fully ordered on success. Success
/// means nobody else holds a reference and every later speculative get fails.
#[inline(always)]
pub fn page_ref_freeze(page: &Page, count: i32) -> bool {
    cmpxchg(&page._refcount, count, 0, Strength::Full) == count
}

/// `page_ref_unfreeze(page, count)`: `atomic_set_release(count)`.
#[inline(always)]
pub fn page_ref_unfreeze(page: &Page, count: i32) {
    atomic_set_release(&page._refcount, count);
}

/// `page_ref_dec_return(page)`: fully ordered; returns the new value.
#[inline(always)]
pub fn page_ref_dec_return(page: &Page) -> i32 {
    page_ref_sub_return(page, 1)
}

/// `page_ref_dec_and_test(page)`: fully ordered; true if the count reached 0.
#[inline(always)]
pub fn page_ref_dec_and_test(page: &Page) -> bool {
    page_ref_dec_return(page) == 0
}

/// `put_page_testzero(page)`: `page_ref_dec_and_test`. Linux has
/// `VM_BUG_ON_PAGE(page_ref_count(page) == 0)`; the allocator's `put_page` counts that case
/// as `bad_state` instead (see `Zone::put_page_testzero_checked`).
#[inline(always)]
pub fn put_page_testzero(page: &Page) -> bool {
    page_ref_dec_and_test(page)
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn freeze_needs_the_exact_count_and_unfreeze_restores() {
        let p = Page::new_reserved();
        set_page_count(&p, 3);
        assert!(
            !page_ref_freeze(&p, 2),
            "freeze with the wrong count must fail"
        );
        assert_eq!(page_ref_count(&p), 3);
        assert!(page_ref_freeze(&p, 3));
        assert_eq!(page_ref_count(&p), 0);
        assert!(
            !get_page_unless_zero(&p),
            "a frozen page refuses speculative gets"
        );
        page_ref_unfreeze(&p, 2);
        assert!(get_page_unless_zero(&p));
        assert_eq!(page_ref_count(&p), 3);
    }

    #[test]
    fn dec_and_test_and_add_unless() {
        let p = Page::new_reserved();
        assert!(page_ref_add_unless(&p, 4, 0, Strength::Relaxed));
        assert_eq!(page_ref_count(&p), 5);
        page_ref_sub(&p, 3);
        assert!(!page_ref_dec_and_test(&p));
        assert!(put_page_testzero(&p));
        assert!(!page_ref_add_unless(&p, 1, 0, Strength::Full));
        assert_eq!(page_ref_add_strength(&p, 2, Strength::Relaxed), 0);
        assert_eq!(page_ref_sub_return(&p, 2), 0);
        page_ref_inc(&p);
        page_ref_add(&p, 1);
        assert_eq!(page_count(&p), 2);
        init_page_count(&p);
        assert_eq!(page_ref_count(&p), 1);
    }
}
