//! One key's slot in a `SyncMap`, shared by the read snapshot and the dirty
//! map (Go's `*entry`).
//!
//! The slot holds an epoch-managed pointer with three states:
//! - a value: the key is present;
//! - null: the key was deleted, and the dirty map (if any) still holds this
//!   entry, so a store may revive it without the lock;
//! - null tagged [`EXPUNGED`]: deleted, *and* left out of the dirty map when
//!   it was last rebuilt, so reviving it needs the lock (to put it back in
//!   the dirty map first).
//!
//! Every transition between "present" and "absent" is reported to the
//! caller so the map can keep its length without a shared counter.

use std::sync::atomic::Ordering::{AcqRel, Acquire};

use crossbeam_epoch::{Atomic, Guard, Owned, Shared};

/// The tag that marks a null pointer as expunged. Needs one free low bit in
/// the pointer, which `Boxed`'s alignment of at least 2 guarantees.
pub(super) const EXPUNGED: usize = 1;

/// A heap-allocated value. `align(2)` leaves the low pointer bit free for
/// [`EXPUNGED`] even when `V` is a byte.
#[repr(align(2))]
pub(super) struct Boxed<V>(pub(super) V);

pub(super) struct Entry<V> {
    p: Atomic<Boxed<V>>,
}

/// Whether a pointer state means "no value" and why.
#[inline]
fn is_expunged<V>(p: Shared<'_, Boxed<V>>) -> bool {
    p.is_null() && p.tag() == EXPUNGED
}

impl<V> Entry<V> {
    pub(super) fn new(value: V) -> Self {
        Self {
            p: Atomic::new(Boxed(value)),
        }
    }

    /// The current value, if present.
    ///
    /// The result borrows the entry as well as the guard: `Entry::drop`
    /// frees the current value at once (not through the epoch), so a value
    /// read here must not outlive the entry it came from.
    #[inline]
    pub(super) fn load<'g>(&'g self, guard: &'g Guard) -> Option<&'g V> {
        let p = self.p.load(Acquire, guard);
        // SAFETY: a non-null pointer in `p` was published with Release by a
        // store or CAS in this module; once unlinked it is freed only through
        // `defer_destroy` (after `guard` unpins), and while linked only by
        // `Entry::drop`, which cannot run while `self` is borrowed for 'g.
        unsafe { p.as_ref() }.map(|b| &b.0)
    }

    /// Whether the entry is expunged. Stable while the map's lock is held:
    /// only lock holders move an entry out of (or into) the expunged state.
    #[inline]
    pub(super) fn is_expunged_locked(&self, guard: &Guard) -> bool {
        is_expunged(self.p.load(Acquire, guard))
    }

    /// Retires a value unlinked from this entry and hands back a reference
    /// to it that stays valid while `guard` is pinned.
    ///
    /// Retiring before anyone clones the value keeps a panicking `V::clone`
    /// from leaking the box.
    ///
    /// # Safety
    /// `old` must have just been unlinked from `self.p` by this thread (a
    /// successful swap or CAS), so no new reader can reach it.
    #[inline]
    unsafe fn retire<'g>(old: Shared<'g, Boxed<V>>, guard: &'g Guard) -> Option<&'g V> {
        // SAFETY: `old` is valid now (see `load`); `defer_destroy` frees it
        // only after every guard pinned now, `guard` included, unpins, so
        // the reference lives as long as 'g.
        let r = unsafe { old.as_ref() }.map(|b| &b.0);
        if !old.is_null() {
            // SAFETY: per the contract, `old` is unlinked; readers that still
            // hold it are pinned, and the epoch scheme frees it only after
            // they unpin.
            unsafe { guard.defer_destroy(old) };
        }
        r
    }

    /// Go's `trySwap` (Go 1.20): replaces the value unless the entry is
    /// expunged. `Ok(previous)` (`None`: the key was absent); `Err(value)`
    /// when expunged. The previous value is retired, readable under `guard`.
    pub(super) fn try_swap<'g>(&'g self, value: V, guard: &'g Guard) -> Result<Option<&'g V>, V> {
        let mut p = self.p.load(Acquire, guard);
        // Checked before allocating: the expunged path then hands `value`
        // back without a box, and the locked retry allocates once.
        if is_expunged(p) {
            return Err(value);
        }
        let mut new = Owned::new(Boxed(value));
        loop {
            match self.p.compare_exchange(p, new, AcqRel, Acquire, guard) {
                // SAFETY: our CAS just unlinked `p`.
                Ok(_) => return Ok(unsafe { Self::retire(p, guard) }),
                Err(e) => {
                    p = e.current;
                    new = e.new;
                    if is_expunged(p) {
                        return Err(new.into_box().0);
                    }
                }
            }
        }
    }

    /// Go's `unexpungeLocked`: turns expunged into deleted (so the caller
    /// can put the entry back in the dirty map). Call with the map's lock.
    pub(super) fn unexpunge_locked(&self, guard: &Guard) -> bool {
        let expunged = Shared::null().with_tag(EXPUNGED);
        self.p
            .compare_exchange(expunged, Shared::null(), AcqRel, Acquire, guard)
            .is_ok()
    }

    /// Go's `swapLocked`: stores unconditionally. The entry must not be
    /// expunged (the caller unexpunged it under the lock). Returns the
    /// previous value (retired; `None`: the key was absent).
    pub(super) fn swap_locked<'g>(&'g self, value: V, guard: &'g Guard) -> Option<&'g V> {
        let p = self.p.swap(Owned::new(Boxed(value)), AcqRel, guard);
        debug_assert!(!is_expunged(p), "swap_locked on an expunged entry");
        // SAFETY: the swap just unlinked `p`.
        unsafe { Self::retire(p, guard) }
    }

    /// Go's `tryLoadOrStore`: `Ok((existing, true))` when present,
    /// `Ok((stored, false))` when `value` was stored, `Err(value)` when
    /// expunged. Nothing is cloned here: the caller clones what it returns.
    pub(super) fn try_load_or_store<'g>(
        &'g self,
        value: V,
        guard: &'g Guard,
    ) -> Result<(&'g V, bool), V> {
        let mut p = self.p.load(Acquire, guard);
        if is_expunged(p) {
            return Err(value);
        }
        if let Some(v) = self.value_at(p) {
            return Ok((v, true));
        }
        // NOTE: Go 1.19 copies the interface value only once it is needed;
        // we allocate the box once and reuse it across CAS retries.
        let mut new = Owned::new(Boxed(value));
        loop {
            match self
                .p
                .compare_exchange(Shared::null(), new, AcqRel, Acquire, guard)
            {
                Ok(stored) => {
                    // SAFETY: we just published `stored`; it stays valid
                    // under `guard` even if replaced and retired meanwhile
                    // (see `load`).
                    return Ok((&unsafe { stored.deref() }.0, false));
                }
                Err(e) => {
                    new = e.new;
                    p = e.current;
                    if is_expunged(p) {
                        return Err(new.into_box().0);
                    }
                    if let Some(v) = self.value_at(p) {
                        return Ok((v, true));
                    }
                }
            }
        }
    }

    /// The value behind a pointer loaded from `self.p` under `guard`.
    #[inline]
    fn value_at<'g>(&'g self, p: Shared<'g, Boxed<V>>) -> Option<&'g V> {
        // SAFETY: `p` was loaded from `self.p` under the guard of 'g (see
        // `load`).
        unsafe { p.as_ref() }.map(|b| &b.0)
    }

    /// Go's `entry.delete`: empties the entry unless already empty or
    /// expunged, returning the value it held (retired, readable under
    /// `guard`).
    pub(super) fn delete<'g>(&'g self, guard: &'g Guard) -> Option<&'g V> {
        let mut p = self.p.load(Acquire, guard);
        loop {
            if p.is_null() {
                return None;
            }
            match self
                .p
                .compare_exchange(p, Shared::null(), AcqRel, Acquire, guard)
            {
                // NOTE: Go hands back the old interface value itself; a
                // reader may still be cloning ours, so the caller clones
                // it (if it wants it) and the epoch scheme frees the
                // original.
                // SAFETY: our CAS just unlinked `p`.
                Ok(_) => return unsafe { Self::retire(p, guard) },
                Err(e) => p = e.current,
            }
        }
    }

    /// Go's `tryExpungeLocked`: marks a deleted entry expunged (so a dirty
    /// rebuild can leave it out). Returns whether the entry is expunged.
    pub(super) fn try_expunge_locked(&self, guard: &Guard) -> bool {
        let expunged = Shared::null().with_tag(EXPUNGED);
        let mut p = self.p.load(Acquire, guard);
        while p.is_null() && p.tag() != EXPUNGED {
            match self
                .p
                .compare_exchange(Shared::null(), expunged, AcqRel, Acquire, guard)
            {
                Ok(_) => return true,
                Err(e) => p = e.current,
            }
        }
        is_expunged(p)
    }

    /// Go 1.20's `tryCompareAndSwap`: replaces the value only if present and
    /// equal to `current`.
    pub(super) fn try_compare_and_swap(&self, current: &V, value: V, guard: &Guard) -> bool
    where
        V: PartialEq,
    {
        let mut p = self.p.load(Acquire, guard);
        // SAFETY: valid under `guard` (see `load`).
        match unsafe { p.as_ref() } {
            Some(b) if b.0 == *current => {}
            _ => return false,
        }
        let mut new = Owned::new(Boxed(value));
        loop {
            match self.p.compare_exchange(p, new, AcqRel, Acquire, guard) {
                Ok(_) => {
                    // SAFETY: our CAS just unlinked `p`.
                    unsafe { Self::retire(p, guard) };
                    return true;
                }
                Err(e) => {
                    new = e.new;
                    p = e.current;
                    // SAFETY: valid under `guard` (see `load`).
                    match unsafe { p.as_ref() } {
                        Some(b) if b.0 == *current => {}
                        _ => return false,
                    }
                }
            }
        }
    }

    /// Go 1.20's `CompareAndDelete` loop: empties the entry only if it
    /// holds a value equal to `current`.
    pub(super) fn compare_and_delete(&self, current: &V, guard: &Guard) -> bool
    where
        V: PartialEq,
    {
        let mut p = self.p.load(Acquire, guard);
        loop {
            // SAFETY: valid under `guard` (see `load`).
            match unsafe { p.as_ref() } {
                Some(b) if b.0 == *current => {}
                _ => return false,
            }
            match self
                .p
                .compare_exchange(p, Shared::null(), AcqRel, Acquire, guard)
            {
                Ok(_) => {
                    // SAFETY: our CAS just unlinked `p`.
                    unsafe { Self::retire(p, guard) };
                    return true;
                }
                Err(e) => p = e.current,
            }
        }
    }
}

impl<V> Drop for Entry<V> {
    fn drop(&mut self) {
        // SAFETY: `&mut self` means no other thread holds this entry: it is
        // dropped when the last `Arc` to it goes, and every reader reaches an
        // entry through an `Arc` it (or a pinned snapshot) holds.
        let guard = unsafe { crossbeam_epoch::unprotected() };
        let p = self.p.load(Acquire, guard);
        if !p.is_null() {
            // SAFETY: non-null pointers here came from `Owned` and were never
            // retired (retired ones were unlinked first), and we are the last
            // owner.
            drop(unsafe { p.into_owned() });
        }
    }
}
