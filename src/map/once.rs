//! [`WriteOnce`]: a cell written at most once and then read by copy from
//! any thread, with no lock and no drop glue.
//!
//! It holds the map's backing slots (see `table.rs`). `spin::Once` does the
//! same but implements `Drop`, and a field with a `Drop` impl makes the
//! whole map's drop glue "use" its `'a` borrows: a device that holds
//! `&'m MemoryMap<'m>` (a DMA engine reaching the bus, a remap register)
//! could then not live beside a map on the stack. This cell holds `Copy`
//! values only, so it needs no `Drop`.
//!
//! Promise: `get` returns `None` or the one value `set` stored, never a
//! partly written one. Limits: a value cannot be replaced or taken out.
#![allow(unsafe_code)]

use crate::sync::{AtomicU8, Ordering};
use core::cell::UnsafeCell;
use core::mem::MaybeUninit;

/// No value yet: the first `set` may claim the cell.
const EMPTY: u8 = 0;
/// A `set` claimed the cell and is writing the value.
const WRITING: u8 = 1;
/// The value is written and never changes again.
const READY: u8 = 2;

/// A write-once cell of a `Copy` value.
pub(crate) struct WriteOnce<T: Copy> {
    state: AtomicU8,
    value: UnsafeCell<MaybeUninit<T>>,
}

// SAFETY: the value is written once, by the one `set` that moved `state`
// from EMPTY to WRITING, and read (copied) only after `state` is READY,
// which that `set` stores with `Release` after the write; readers load it
// with `Acquire` (`get`), or their caller guarantees that the `set`
// happens-before the read (`get_published`). So no two threads ever
// access the value concurrently with one of them writing, and sharing
// `&WriteOnce<T>` across threads shares copies of `T`: that needs
// `T: Send + Sync`.
unsafe impl<T: Copy + Send + Sync> Sync for WriteOnce<T> {}

impl<T: Copy> WriteOnce<T> {
    /// An empty cell.
    pub(crate) const fn new() -> Self {
        WriteOnce {
            state: AtomicU8::new(EMPTY),
            value: UnsafeCell::new(MaybeUninit::uninit()),
        }
    }

    /// A copy of the value, once it is fully written.
    #[inline(always)]
    pub(crate) fn get(&self) -> Option<T> {
        // ORDERING: `Acquire` pairs with the `Release` store of READY in
        // `set`: the value's write is visible after it.
        if self.state.load(Ordering::Acquire) != READY {
            return None;
        }
        // SAFETY: READY means the value was initialised by the one `set`
        // that claimed the cell, and nothing writes it again (WRITING and
        // READY never go back to EMPTY); the `Acquire` load above orders
        // that write before this read, so there is no data race. The cast
        // is to the same layout (`MaybeUninit<T>` is `T`'s), and `T: Copy`,
        // so reading a copy leaves the cell as it was.
        Some(unsafe { self.value.get().cast::<T>().read() })
    }

    /// A copy of the value, with no test of the state: for a reader that
    /// already knows the cell is written (the map's access path, which
    /// reads only slots a published table names), so it pays no load and
    /// no branch for the state.
    ///
    /// # Safety
    /// A `set` that returned `true` on this cell happens-before this call
    /// (for instance: it was sequenced before a `Release` store that this
    /// thread's `Acquire` load read, directly or through a release
    /// sequence or later writers' stores ordered after it).
    #[inline(always)]
    pub(crate) unsafe fn get_published(&self) -> T {
        debug_assert_eq!(self.state.load(Ordering::Relaxed), READY);
        // SAFETY: by the caller's promise, the one write of the value
        // happens-before this read, and nothing writes it again, so there
        // is no data race and the value is initialised; the cast and the
        // copy are as in `get`.
        unsafe { self.value.get().cast::<T>().read() }
    }

    /// Stores `v` if the cell is empty; returns whether it did.
    pub(crate) fn set(&self, v: T) -> bool {
        // ORDERING: only one caller wins the exchange; `Relaxed` suffices
        // for it, since the `Release` store below publishes the value.
        if self
            .state
            .compare_exchange(EMPTY, WRITING, Ordering::Relaxed, Ordering::Relaxed)
            .is_err()
        {
            return false;
        }
        // SAFETY: this caller won the exchange from EMPTY, which happens
        // once in the cell's life, so no other `set` writes the value; no
        // `get` reads it before READY is stored below, after this write.
        unsafe { (*self.value.get()).write(v) };
        self.state.store(READY, Ordering::Release);
        true
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::WriteOnce;

    #[test]
    fn written_once_then_read_by_copy_on_every_thread() {
        static CELL: WriteOnce<(u64, &str)> = WriteOnce::new();
        assert_eq!(CELL.get(), None);
        std::thread::scope(|s| {
            for t in 0..3u64 {
                s.spawn(move || {
                    let won = CELL.set((t, "x"));
                    let v = loop {
                        // A losing `set` may return while the winner writes.
                        if let Some(v) = CELL.get() {
                            break v;
                        }
                        std::hint::spin_loop();
                    };
                    assert!(!won || v.0 == t);
                });
            }
        });
        let v = CELL.get().unwrap();
        assert!(!CELL.set((9, "y")));
        assert_eq!(CELL.get(), Some(v));
    }
}
