//! A sequence lock's counter, crossbeam-utils' `SeqLock` shape: readers
//! load without a lock and validate; one writer at a time brackets its
//! stores with a [`SeqWrite`] section. Used by a shard (its bytes, see
//! `shard/`) and by a map's region table (its descriptors, see
//! `map/table.rs`) alike, so the ordering argument below is the only one.
//!
//! The counter is even while the protected data is stable and odd while a
//! writer is storing; each write advances it by 2. The data itself is read
//! and stored only with atomic operations (`Relaxed`), so a reader that
//! races a writer loads a mix of old and new values, never undefined
//! behaviour; the validation tells it to throw the mix away.
//!
//! # The protocol, and its one ordering argument
//! - reader: [`begin`](SeqLock::begin) (`Acquire` load of the counter,
//!   `None` while odd), the data's loads (`Relaxed`), then
//!   [`validate`](SeqLock::validate) (`fence(Acquire)`, a `Relaxed` reload
//!   compared with the stamp);
//! - writer, holding whatever lock serialises the writers:
//!   [`write`](SeqLock::write) (counter odd, `fence(Release)`), the data's
//!   stores (`Relaxed`), and the section's drop (counter even, `Release`),
//!   also when the stores unwind.
//!
//! ORDERING, the pairings:
//! - the writer's closing `Release` store pairs with a later reader's
//!   `Acquire` in `begin`: a reader that sees the even counter a section
//!   ended with sees every store of that section (and of all before it);
//! - the writer's `fence(Release)` after making the counter odd pairs with
//!   the reader's `fence(Acquire)` in `validate`: if any of the reader's
//!   loads saw a store made in a section, the reload in `validate` sees
//!   that section's odd counter or a later value, so the stamp differs and
//!   the read is retried.
//!
//! A stamp is only compared for equality, so the counter may wrap; a reader
//! would be fooled only by exactly `usize::MAX / 2 + 1` writes between its
//! `begin` and its `validate`.
//!
//! Limits: readers never block writers, so a storm of writers can keep a
//! reader retrying; each user bounds that (a shard's readers fall back to
//! its read lock, a map's readers wait out a change, which is rare).

use crate::sync::{AtomicUsize, Ordering};
use core::sync::atomic::fence;

/// A sequence counter: even while the data it guards is stable, odd while
/// its one writer stores. See the module docs for the protocol.
pub(crate) struct SeqLock {
    seq: AtomicUsize,
}

impl SeqLock {
    /// A counter at 0: stable, no write yet. All-zero bits, so a `static`
    /// holding one lands in `.bss`.
    pub(crate) const fn new() -> Self {
        SeqLock {
            seq: AtomicUsize::new(0),
        }
    }

    /// Starts an optimistic read: the stamp, or `None` while a writer is
    /// storing (then retry later, or take the writers' lock).
    /// ORDERING: `Acquire`, see the module docs.
    #[inline(always)]
    pub(crate) fn begin(&self) -> Option<usize> {
        let s = self.stamp();
        (s & 1 == 0).then_some(s)
    }

    /// The counter now, even or odd, in one `Acquire` load (as in
    /// [`begin`](Self::begin)). For a reader that starts without testing
    /// the parity and validates against `stamp & !1` instead, which fails
    /// for an odd stamp (the counter never returns to `stamp - 1`, short of
    /// wrapping around), or that only compares versions.
    #[inline(always)]
    pub(crate) fn stamp(&self) -> usize {
        self.seq.load(Ordering::Acquire)
    }

    /// Ends an optimistic read: whether no writer opened a section since
    /// `begin` returned `stamp`, so the loads made in between are one
    /// consistent state. ORDERING: `fence(Acquire)`, then a `Relaxed`
    /// reload; see the module docs.
    #[inline(always)]
    pub(crate) fn validate(&self, stamp: usize) -> bool {
        fence(Ordering::Acquire);
        self.seq.load(Ordering::Relaxed) == stamp
    }

    /// Opens a write section: the counter is odd until the returned section
    /// is dropped (when the caller's stores are done, or unwind).
    ///
    /// Call it only while holding the lock that serialises this counter's
    /// writers (a shard's write lock, a table's mutex): the counter is then
    /// stored by one thread only, so a load and a store suffice (no
    /// read-modify-write). Two sections at once would not be undefined
    /// behaviour (every access is atomic) but would let readers accept a
    /// mix of states.
    #[inline(always)]
    pub(crate) fn write(&self) -> SeqWrite<'_> {
        let s = self.seq.load(Ordering::Relaxed);
        self.seq.store(s.wrapping_add(1), Ordering::Relaxed);
        // ORDERING: pairs with `validate`'s `fence(Acquire)`: a reader that
        // sees any store made in this section also sees the odd counter
        // (or a later value) and retries.
        fence(Ordering::Release);
        SeqWrite {
            lock: self,
            end: s.wrapping_add(2),
        }
    }
}

/// One writer's section of a [`SeqLock`]: the counter is odd while it
/// lives and even again after, as crossbeam's `SeqLockWriteGuard`. Closing
/// it in `Drop` means a panic between the stores cannot leave the counter
/// odd (after which every later write would flip it to even while storing,
/// and readers would accept torn values).
#[must_use = "the write section ends (the counter is made even) when this is dropped"]
pub(crate) struct SeqWrite<'s> {
    lock: &'s SeqLock,
    /// The even value the section ends with.
    end: usize,
}

impl Drop for SeqWrite<'_> {
    #[inline(always)]
    fn drop(&mut self) {
        // ORDERING: `Release` publishes the section's stores to readers
        // whose `begin` (`Acquire`) sees the even counter.
        self.lock.seq.store(self.end, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::SeqLock;

    #[test]
    fn a_section_makes_the_counter_odd_then_even_and_fails_readers_across_it() {
        let lock = SeqLock::new();
        let before = lock.begin().expect("even at rest");
        let section = lock.write();
        assert_eq!(lock.begin(), None, "odd while a writer stores");
        let odd = lock.stamp();
        assert_eq!(odd, before + 1);
        assert!(!lock.validate(before));
        assert!(!lock.validate(odd & !1), "an odd stamp made even fails");
        drop(section);
        assert!(!lock.validate(before), "a read across a write is refused");
        assert!(
            !lock.validate(odd & !1),
            "and still fails after the section"
        );
        let after = lock.begin().expect("even again");
        assert_eq!(after, before + 2);
        assert!(lock.validate(after));
    }

    #[test]
    fn a_panic_inside_a_section_leaves_the_counter_even() {
        let lock = SeqLock::new();
        let unwound = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let _section = lock.write();
            panic!("a store unwinds half-way");
        }));
        assert!(unwound.is_err());
        assert_eq!(lock.begin(), Some(2), "closed");
    }
}
