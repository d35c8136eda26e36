//! The mm spin lock (`spinlock_t`): `spin::Mutex` in the kernel and on the host, loom's mutex
//! under `--cfg loom` (a spinning lock would never yield to loom's scheduler). Acquire on lock,
//! release on unlock in every backend.

use core::ops::DerefMut;

/// A spin lock protecting `T` (zone->lock, pcp->lock).
pub struct SpinLock<T> {
    #[cfg(not(loom))]
    inner: spin::Mutex<T>,
    #[cfg(loom)]
    inner: loom::sync::Mutex<T>,
}

impl<T> SpinLock<T> {
    /// A new unlocked lock.
    pub fn new(v: T) -> Self {
        #[cfg(not(loom))]
        let inner = spin::Mutex::new(v);
        #[cfg(loom)]
        let inner = loom::sync::Mutex::new(v);
        Self { inner }
    }

    /// `spin_lock()`: returns the guard; dropping it is `spin_unlock()`.
    #[inline]
    pub fn lock(&self) -> impl DerefMut<Target = T> + '_ {
        #[cfg(not(loom))]
        {
            self.inner.lock()
        }
        #[cfg(loom)]
        {
            self.inner.lock().expect("mm lock poisoned")
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn lock_gives_exclusive_access() {
        let l = SpinLock::new(1u32);
        *l.lock() += 1;
        assert_eq!(*l.lock(), 2);
    }
}
