//! Read-modify-write atomics with Linux's ordering rules (Documentation/atomic_t.txt):
//! value-returning RMWs are fully ordered, `_relaxed` ones are not, non-returning ones
//! (`atomic_add`) are unordered, and conditional RMWs (`add_unless`, `cmpxchg`) are ordered
//! only when they succeed.

use super::atomics::AtomicWord;
use super::Strength;
use core::sync::atomic::Ordering;

/// Ordering of the RMW instruction itself for a strength; `Full` adds barriers (see [`before`]
/// and [`after`]).
#[inline(always)]
fn rmw_order(s: Strength) -> Ordering {
    match s {
        Strength::Relaxed => Ordering::Relaxed,
        Strength::AcqRel => Ordering::AcqRel,
        // Target: `ldxr; stlxr; dmb ish` exactly like Linux's arm64 LL/SC fully ordered ops.
        #[cfg(all(target_arch = "aarch64", not(loom)))]
        Strength::Full => Ordering::Release,
        #[cfg(not(all(target_arch = "aarch64", not(loom))))]
        Strength::Full => Ordering::SeqCst,
    }
}

/// Leading barrier of a fully ordered RMW. On target the release store-exclusive already
/// orders every earlier access before the write. On host and under loom a C11 SeqCst RMW does
/// not order an earlier relaxed store before a later relaxed load on other locations (Linux's
/// "fully ordered" does), so it is bracketed by SeqCst fences, i.e. `smp_mb()` on both sides.
#[inline(always)]
fn before(s: Strength) {
    #[cfg(not(all(target_arch = "aarch64", not(loom))))]
    if s == Strength::Full {
        super::smp_mb();
    }
    #[cfg(all(target_arch = "aarch64", not(loom)))]
    let _ = s;
}

/// Trailing barrier of a fully ordered RMW (`dmb ish` on target, a SeqCst fence elsewhere).
#[inline(always)]
fn after(s: Strength) {
    if s == Strength::Full {
        super::smp_mb();
    }
}

/// `atomic_fetch_add` with strength `s`; returns the old value.
#[inline(always)]
pub fn fetch_add<A: AtomicWord>(a: &A, v: A::V, s: Strength) -> A::V {
    before(s);
    let old = a.fetch_add_(v, rmw_order(s));
    after(s);
    old
}

/// `atomic_fetch_sub` with strength `s`; returns the old value.
#[inline(always)]
pub fn fetch_sub<A: AtomicWord>(a: &A, v: A::V, s: Strength) -> A::V {
    before(s);
    let old = a.fetch_sub_(v, rmw_order(s));
    after(s);
    old
}

/// `atomic_add_return(i, v)`: fully ordered; returns the new value.
#[inline(always)]
pub fn atomic_add_return<A: AtomicWord>(a: &A, v: A::V) -> A::V {
    A::add_(fetch_add(a, v, Strength::Full), v)
}

/// `atomic_add_return_relaxed(i, v)`: unordered; returns the new value.
#[inline(always)]
pub fn atomic_add_return_relaxed<A: AtomicWord>(a: &A, v: A::V) -> A::V {
    A::add_(fetch_add(a, v, Strength::Relaxed), v)
}

/// `atomic_add(i, v)`: non-returning, unordered.
#[inline(always)]
pub fn atomic_add<A: AtomicWord>(a: &A, v: A::V) {
    fetch_add(a, v, Strength::Relaxed);
}

/// `atomic_sub(i, v)`: non-returning, unordered.
#[inline(always)]
pub fn atomic_sub<A: AtomicWord>(a: &A, v: A::V) {
    fetch_sub(a, v, Strength::Relaxed);
}

/// `atomic_cmpxchg` with strength `s` on success (unordered on failure); returns the value
/// found (equal to `old` on success).
#[inline(always)]
pub fn cmpxchg<A: AtomicWord>(a: &A, old: A::V, new: A::V, s: Strength) -> A::V {
    before(s);
    match a.cas_(old, new, rmw_order(s), Ordering::Relaxed) {
        Ok(v) => {
            after(s);
            v
        }
        Err(v) => v,
    }
}

/// `atomic_add_unless(v, a, u)` with strength `s` on success: add `v` unless the value is
/// `unless`. Returns true if it added. Unordered when it fails.
#[inline(always)]
pub fn add_unless<A: AtomicWord>(a: &A, v: A::V, unless: A::V, s: Strength) -> bool {
    before(s);
    let mut cur = a.load_(Ordering::Relaxed);
    loop {
        if cur == unless {
            return false;
        }
        match a.cas_(cur, A::add_(cur, v), rmw_order(s), Ordering::Relaxed) {
            Ok(_) => {
                after(s);
                return true;
            }
            Err(found) => cur = found,
        }
    }
}

/// `atomic_add_unless(v, a, u)`: fully ordered on success.
#[inline(always)]
pub fn atomic_add_unless<A: AtomicWord>(a: &A, v: A::V, unless: A::V) -> bool {
    add_unless(a, v, unless, Strength::Full)
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::super::*;

    #[test]
    fn add_unless_refuses_the_excluded_value() {
        let a = AtomicI32::new(0);
        assert!(!atomic_add_unless(&a, 5, 0));
        assert_eq!(read_once(&a), 0);
        write_once(&a, 3);
        assert!(atomic_add_unless(&a, 5, 0));
        assert_eq!(read_once(&a), 8);
        assert!(add_unless(&a, 1, 0, Strength::Relaxed));
        assert_eq!(read_once(&a), 9);
    }

    #[test]
    fn returning_rmws_return_new_and_old_values() {
        let a = AtomicU64::new(10);
        assert_eq!(atomic_add_return(&a, 5), 15);
        assert_eq!(atomic_add_return_relaxed(&a, 1), 16);
        assert_eq!(fetch_sub(&a, 6, Strength::Full), 16);
        assert_eq!(cmpxchg(&a, 10, 0, Strength::Full), 10);
        assert_eq!(
            cmpxchg(&a, 10, 1, Strength::Full),
            0,
            "failed cmpxchg returns what it found"
        );
        assert_eq!(read_once(&a), 0);
    }

    #[test]
    fn knob_loads_and_stores_agree_with_plain_ones() {
        let a = AtomicU32::new(0);
        for s in [Strength::Relaxed, Strength::AcqRel, Strength::Full] {
            store(&a, 7, s);
            assert_eq!(load(&a, s), 7);
            store(&a, 0, s);
        }
    }
}
