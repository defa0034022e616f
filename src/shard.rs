//! One shard: `SHARD_SIZE` bytes behind a `spin::RwLock`, plus its marks.
//!
//! This is the only module that touches shard bytes. Everything above asks a
//! shard for a value, a copy or a guard, so a change in how bytes are stored
//! stays in this file and every write path marks the shard in one place
//! ([`Shard::write_guard`] and [`Shard::get_mut`]).
//!
//! Marks: bit [`DIRTY`] is the user-facing dirty log
//! ([`take_dirty`](crate::ShardedMemory::take_dirty)); bit [`CHANGED`] says
//! "written since the snapshot baseline" and is only cleared by snapshot and
//! restore, so clearing the user's log can never make a restore skip a shard.
#![allow(unsafe_code)]

use crate::scalar::Scalar;
use crate::sync::{AtomicU8, Ordering};
use spin::{RwLock, RwLockReadGuard, RwLockWriteGuard};

/// Mark bit: written since the user last cleared the dirty log.
pub(crate) const DIRTY: u8 = 1;
/// Mark bit: written since the snapshot baseline.
pub(crate) const CHANGED: u8 = 2;
const ALL_MARKS: u8 = DIRTY | CHANGED;

/// Shard bytes, 8-aligned so that `u64` guest words are host words.
#[repr(C, align(8))]
pub(crate) struct Bytes<const N: usize>([u8; N]);

/// One shard of guest memory.
pub(crate) struct Shard<const N: usize> {
    bytes: RwLock<Bytes<N>>,
    marks: AtomicU8,
}

impl<const N: usize> Shard<N> {
    /// A zeroed, unmarked, unlocked shard: all-zero bits, so a `static`
    /// memory lands in `.bss`.
    pub(crate) const fn new() -> Self {
        Shard {
            bytes: RwLock::new(Bytes([0; N])),
            marks: AtomicU8::new(0),
        }
    }

    /// Loads a `T` at `off` under the read lock; `None` if it does not fit.
    #[inline(always)]
    pub(crate) fn read<T: Scalar>(&self, off: usize) -> Option<T> {
        T::load_le(self.bytes.read().0.get(off..)?)
    }

    /// Takes the read lock.
    #[inline(always)]
    pub(crate) fn read_guard(&self) -> ShardRead<'_, N> {
        ShardRead(self.bytes.read())
    }

    /// Takes the write lock (the shard is marked written on the first
    /// [`ShardWrite::bytes_mut`], so a failed compare-exchange marks nothing); gives up (`None`)
    /// as soon as `frozen()` says the memory became read-only, so a writer
    /// never spins forever on a frozen memory's leaked read locks.
    #[inline(always)]
    pub(crate) fn write_guard(&self, frozen: impl Fn() -> bool) -> Option<ShardWrite<'_, N>> {
        let guard = loop {
            if let Some(g) = self.bytes.try_write_weak() {
                break g;
            }
            if frozen() {
                return None;
            }
            core::hint::spin_loop();
        };
        Some(ShardWrite {
            guard,
            marks: &self.marks,
        })
    }

    /// Marks the shard written. ORDERING: `Relaxed` suffices: marks are set
    /// under the write lock and consumed by snapshot/restore under the lock
    /// (whose `Acquire`/`Release` orders them) or as a hint by `take_dirty`.
    /// The load first keeps the cache line shared while it is already marked.
    #[inline(always)]
    fn mark(marks: &AtomicU8) {
        if marks.load(Ordering::Relaxed) != ALL_MARKS {
            marks.fetch_or(ALL_MARKS, Ordering::Relaxed);
        }
    }

    /// Whether any bit of `mask` is set.
    #[inline]
    pub(crate) fn is_marked(&self, mask: u8) -> bool {
        self.marks.load(Ordering::Relaxed) & mask != 0
    }

    /// Clears the bits of `mask`, returning whether any of them was set.
    #[inline]
    pub(crate) fn take_mark(&self, mask: u8) -> bool {
        self.marks.fetch_and(!mask, Ordering::Relaxed) & mask != 0
    }

    /// The bytes with no locking, for an owner holding `&mut` (marks it written).
    #[inline(always)]
    pub(crate) fn get_mut(&mut self) -> &mut [u8; N] {
        *self.marks.get_mut() = ALL_MARKS;
        &mut self.bytes.get_mut().0
    }

    /// The bytes with no locking and no marking: snapshot and restore on
    /// the exclusive view, which manage the marks themselves.
    #[inline]
    pub(crate) fn bytes_mut_unmarked(&mut self) -> &mut [u8; N] {
        &mut self.bytes.get_mut().0
    }

    /// Clears the bits of `mask` without atomics, for an owner holding `&mut`.
    #[inline]
    pub(crate) fn take_mark_mut(&mut self, mask: u8) -> bool {
        let m = self.marks.get_mut();
        let was = *m & mask != 0;
        *m &= !mask;
        was
    }

    /// The bytes, read without taking the lock.
    ///
    /// # Safety
    /// No writer may exist for the lifetime `'a`: the caller holds the whole
    /// memory by `&mut` (the exclusive view) or has leaked a read guard of
    /// this shard (frozen memory), so no write guard can ever be taken.
    #[inline(always)]
    pub(crate) unsafe fn bytes_unlocked(&self) -> &[u8; N] {
        // SAFETY: by this function's contract no write guard exists or can be
        // taken while the returned borrow lives, so a shared borrow of the
        // lock's data cannot alias a `&mut`.
        unsafe { &(*self.bytes.as_mut_ptr()).0 }
    }

    /// Takes the read lock and never releases it: from now on no writer can
    /// ever lock this shard (the basis of frozen memory).
    pub(crate) fn leak_read(&self) {
        RwLockReadGuard::leak(self.bytes.read());
    }
}

/// Loads a `T` that starts at `off` in `first` and runs on into `second`
/// (the next shard). `None` if the pieces do not add up to `T::SIZE`.
#[inline]
pub(crate) fn load_straddling<T: Scalar, const N: usize>(
    first: &[u8; N],
    off: usize,
    second: &[u8; N],
) -> Option<T> {
    let head = first.get(off..)?;
    let mut buf = [0u8; 8];
    let (buf_head, buf_tail) = buf.split_at_mut_checked(head.len())?;
    buf_head.copy_from_slice(head);
    let tail_len = T::SIZE.checked_sub(head.len())?;
    buf_tail
        .get_mut(..tail_len)?
        .copy_from_slice(second.get(..tail_len)?);
    T::load_le(&buf)
}

/// Stores `v` starting at `off` in `first` and running on into `second`.
/// `None` (nothing stored) if the pieces do not add up to `T::SIZE`.
#[inline]
pub(crate) fn store_straddling<T: Scalar, const N: usize>(
    v: T,
    first: &mut [u8; N],
    off: usize,
    second: &mut [u8; N],
) -> Option<()> {
    let mut buf = [0u8; 8];
    v.store_le(&mut buf)?;
    let head = first.get_mut(off..)?;
    let (val_head, val_tail) = buf.get(..T::SIZE)?.split_at_checked(head.len())?;
    let tail = second.get_mut(..val_tail.len())?;
    head.copy_from_slice(val_head);
    tail.copy_from_slice(val_tail);
    Some(())
}

/// A shard's read guard.
pub(crate) struct ShardRead<'a, const N: usize>(RwLockReadGuard<'a, Bytes<N>>);

/// A shard's write guard; the shard is marked written when its bytes are
/// first borrowed mutably.
pub(crate) struct ShardWrite<'a, const N: usize> {
    guard: RwLockWriteGuard<'a, Bytes<N>>,
    marks: &'a AtomicU8,
}

impl<const N: usize> ShardRead<'_, N> {
    /// The guarded bytes.
    #[inline(always)]
    pub(crate) fn bytes(&self) -> &[u8; N] {
        &self.0 .0
    }
}

impl<const N: usize> ShardWrite<'_, N> {
    /// The guarded bytes.
    #[inline(always)]
    pub(crate) fn bytes(&self) -> &[u8; N] {
        &self.guard.0
    }

    /// The guarded bytes, writable; marks the shard written.
    #[inline(always)]
    pub(crate) fn bytes_mut(&mut self) -> &mut [u8; N] {
        Shard::<N>::mark(self.marks);
        &mut self.guard.0
    }

    /// Clears the bits of `mask` while the lock is held (after a restore).
    #[inline]
    pub(crate) fn clear_marks(&mut self, mask: u8) {
        self.marks.fetch_and(!mask, Ordering::Relaxed);
    }
}
