//! Atomic words and the single-access primitives (`READ_ONCE`, `WRITE_ONCE`, acquire/release).

use super::Strength;
use core::sync::atomic::Ordering;
#[cfg(not(loom))]
pub use core::sync::atomic::{AtomicBool, AtomicI32, AtomicI64, AtomicU32, AtomicU64, AtomicUsize};
#[cfg(loom)]
pub use loom::sync::atomic::{AtomicBool, AtomicI32, AtomicI64, AtomicU32, AtomicU64, AtomicUsize};

/// An atomic integer the sync layer can operate on.
pub trait AtomicWord {
    /// The plain value type.
    type V: Copy + PartialEq + core::fmt::Debug;
    #[doc(hidden)]
    fn load_(&self, o: Ordering) -> Self::V;
    #[doc(hidden)]
    fn store_(&self, v: Self::V, o: Ordering);
    #[doc(hidden)]
    fn fetch_add_(&self, v: Self::V, o: Ordering) -> Self::V;
    #[doc(hidden)]
    fn fetch_sub_(&self, v: Self::V, o: Ordering) -> Self::V;
    #[doc(hidden)]
    fn cas_(
        &self,
        old: Self::V,
        new: Self::V,
        ok: Ordering,
        fail: Ordering,
    ) -> Result<Self::V, Self::V>;
    #[doc(hidden)]
    fn add_(a: Self::V, b: Self::V) -> Self::V;
}

macro_rules! atomic_word {
    ($($a:ty => $v:ty),*) => {$(
        impl AtomicWord for $a {
            type V = $v;
            #[inline(always)]
            fn load_(&self, o: Ordering) -> $v { self.load(o) }
            #[inline(always)]
            fn store_(&self, v: $v, o: Ordering) { self.store(v, o) }
            #[inline(always)]
            fn fetch_add_(&self, v: $v, o: Ordering) -> $v { self.fetch_add(v, o) }
            #[inline(always)]
            fn fetch_sub_(&self, v: $v, o: Ordering) -> $v { self.fetch_sub(v, o) }
            #[inline(always)]
            fn cas_(&self, old: $v, new: $v, ok: Ordering, fail: Ordering) -> Result<$v, $v> {
                self.compare_exchange(old, new, ok, fail)
            }
            #[inline(always)]
            fn add_(a: $v, b: $v) -> $v { a.wrapping_add(b) }
        }
    )*};
}
atomic_word!(AtomicU64 => u64, AtomicU32 => u32, AtomicI32 => i32, AtomicI64 => i64, AtomicUsize => usize);

/// `READ_ONCE(x)`: one untorn load, no ordering (`ldr`).
#[inline(always)]
pub fn read_once<A: AtomicWord>(a: &A) -> A::V {
    a.load_(Ordering::Relaxed)
}

/// `READ_ONCE(x)` whose value heads an address dependency (a PTE, a `compound_head` word):
/// `ldr` on target, where arm64 orders the dependent loads; Acquire on host and under loom,
/// which have no dependency ordering (C11 `consume` is promoted to acquire in practice).
#[inline(always)]
pub fn read_once_dep<A: AtomicWord>(a: &A) -> A::V {
    #[cfg(all(target_arch = "aarch64", not(loom)))]
    {
        a.load_(Ordering::Relaxed)
    }
    #[cfg(not(all(target_arch = "aarch64", not(loom))))]
    {
        a.load_(Ordering::Acquire)
    }
}

/// `WRITE_ONCE(x, v)`: one untorn store, no ordering (`str`).
#[inline(always)]
pub fn write_once<A: AtomicWord>(a: &A, v: A::V) {
    a.store_(v, Ordering::Relaxed)
}

/// `smp_load_acquire(x)` (`ldar`).
#[inline(always)]
pub fn smp_load_acquire<A: AtomicWord>(a: &A) -> A::V {
    a.load_(Ordering::Acquire)
}

/// `smp_store_release(x, v)` (`stlr`).
#[inline(always)]
pub fn smp_store_release<A: AtomicWord>(a: &A, v: A::V) {
    a.store_(v, Ordering::Release)
}

/// `atomic_set(v, i)`: plain store (Linux: `WRITE_ONCE`).
#[inline(always)]
pub fn atomic_set<A: AtomicWord>(a: &A, v: A::V) {
    write_once(a, v)
}

/// `atomic_set_release(v, i)` (`page_ref_unfreeze`).
#[inline(always)]
pub fn atomic_set_release<A: AtomicWord>(a: &A, v: A::V) {
    smp_store_release(a, v)
}

/// A load whose strength is a knob: Relaxed → `READ_ONCE`, AcqRel → acquire,
/// Full → `smp_mb(); READ_ONCE(); smp_mb()`.
#[inline(always)]
pub fn load<A: AtomicWord>(a: &A, s: Strength) -> A::V {
    match s {
        Strength::Relaxed => read_once(a),
        Strength::AcqRel => smp_load_acquire(a),
        Strength::Full => {
            super::smp_mb();
            let v = read_once(a);
            super::smp_mb();
            v
        }
    }
}

/// A store whose strength is a knob: Relaxed → `WRITE_ONCE`, AcqRel → release,
/// Full → `smp_mb(); WRITE_ONCE(); smp_mb()`.
#[inline(always)]
pub fn store<A: AtomicWord>(a: &A, v: A::V, s: Strength) {
    match s {
        Strength::Relaxed => write_once(a, v),
        Strength::AcqRel => smp_store_release(a, v),
        Strength::Full => {
            super::smp_mb();
            write_once(a, v);
            super::smp_mb();
        }
    }
}
