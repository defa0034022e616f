//! The map's page handles: a shared memory's shards with the geometry as
//! data ([`RawShards`]) and one page of them ([`SharedPage`]), served by
//! the shard's own protocol; an owner's type-erased handle on a memory
//! ([`OwnedRam`]) and one page of it ([`OwnedPage`]), reached with plain
//! loads and stores.
#![allow(unsafe_code)]

use super::handle::{Fixed, GShard};
use super::storage::{Ctl, Shards, ALL_MARKS, LIVE, W};
use crate::scalar::Scalar;
use crate::sync::{AtomicU8, Ordering};
use core::marker::PhantomData;
use core::ptr::NonNull;

/// A shared memory's shards with the geometry as data (pointer to the
/// bytes, the control blocks, the shard shift and count): what a map's
/// [`Cursor`](crate::Cursor) takes its pages from ([`RawShards::page`]).
/// Each page access is served by [`GShard`], the same lock-free read and
/// locked write code as [`ShardedMemory`](crate::ShardedMemory)'s, so the
/// whole access inlines. Borrows the memory for `'a` like
/// `&'a ShardedMemory`.
#[derive(Clone, Copy)]
pub(crate) struct RawShards<'a> {
    data: NonNull<u8>,
    ctl: &'a [Ctl],
    shift: u32,
    /// The memory's freeze state: writes give up unless it is live.
    state: &'a AtomicU8,
}

// SAFETY: a `RawShards<'a>` is a `&'a ShardedMemory` with its geometry
// read out: it accesses the bytes only through `GShard` (atomic words, the
// lock, the counter), exactly as `&ShardedMemory` does from any thread;
// `ShardedMemory` is `Sync`.
unsafe impl Send for RawShards<'_> {}
// SAFETY: as for `Send` above.
unsafe impl Sync for RawShards<'_> {}

impl<const S: usize, const N: usize> Shards<S, N> {
    /// These shards as a [`RawShards`] of a memory whose state is `state`.
    #[inline]
    pub(crate) fn raw<'a>(&'a self, state: &'a AtomicU8) -> RawShards<'a> {
        RawShards {
            data: NonNull::from(&self.data.0).cast::<u8>(),
            ctl: &self.ctl,
            shift: Fixed::<N>::N.trailing_zeros(),
            state,
        }
    }
}

/// An owner's type-erased handle on a memory's bytes and control blocks,
/// the geometry as data (length and shard shift): what an owner-mode map
/// ([`OwnerMap`](crate::OwnerMap)) takes its pages ([`OwnedPage`]) from,
/// reached with plain loads and stores, no lock and no read-modify-write.
///
/// Made only by [`ShardedMemory::split_owned`](crate::ShardedMemory),
/// from a `&'a mut` borrow: for `'a` no other handle on the memory exists
/// but the `&'a` it returns beside this one, and both stay inside one
/// owner map. The handle is neither `Send` nor `Sync`, so every copy of it
/// stays on the thread that made it (as does every page taken from it),
/// and the loads and stores of its pages are leaf operations that hold no reference to the bytes past their call (as
/// `Cell` does): no two accesses to the bytes ever overlap.
#[derive(Clone, Copy)]
pub(crate) struct OwnedRam<'a> {
    data: NonNull<u8>,
    len: usize,
    ctl: NonNull<Ctl>,
    shift: u32,
    /// Borrows the memory for `'a`; `*const` makes the handle `!Send` and
    /// `!Sync`.
    _owner: PhantomData<(&'a Ctl, *const ())>,
}

impl<const S: usize, const N: usize> Shards<S, N> {
    /// The owner's handle on these shards. Sound to use only as
    /// [`OwnedRam`] says: the caller held them by `&'a mut`.
    #[inline]
    pub(crate) fn owned(&self) -> OwnedRam<'_> {
        OwnedRam {
            data: NonNull::from(&self.data.0).cast::<u8>(),
            len: S * N,
            ctl: NonNull::from(&self.ctl).cast::<Ctl>(),
            shift: N.trailing_zeros(),
            _owner: PhantomData,
        }
    }
}

/// The guest page a map's page cache maps one entry to: 4 KiB.
pub(crate) const PAGE: usize = 4096;

/// One 4 KiB page of a shared memory that lies inside one shard, as a
/// shard of its own: its words, and the control block (lock, counter,
/// marks) of the shard it lies in. What a [`Cursor`](crate::Cursor) caches
/// per page, so a hit reads the page's words with no search, no bounds
/// arithmetic beyond the page and no dynamic call.
///
/// The protocol is the shard's, unchanged: the lock and counter guard
/// every byte of the shard, so they guard this page's too; reads are
/// `GShard::read` (one atomic word, or the validated out-of-line read
/// across words), writes take the shard's write lock.
#[derive(Clone, Copy)]
pub(crate) struct SharedPage<'a> {
    page: GShard<'a, Fixed<PAGE>>,
    /// The memory's freeze state: writes give up unless it is live.
    state: &'a AtomicU8,
}

// SAFETY: a `SharedPage<'a>` is a `&'a ShardedMemory` narrowed to one
// page: it reaches the bytes only through `GShard` (atomic words, the
// shard's lock and counter) and the freeze state through an atomic, exactly
// as `&ShardedMemory` does from any thread; `ShardedMemory` is `Sync`. So a
// `Cursor` that caches pages can be made on one thread and moved to its
// vCPU thread.
unsafe impl Send for SharedPage<'_> {}
// SAFETY: as for `Send` above.
unsafe impl Sync for SharedPage<'_> {}

impl<'a> RawShards<'a> {
    /// Loads `size` bytes at byte `off` of the memory if they lie inside
    /// one aligned 8-byte window (a word on 64-bit hosts): the shard's own
    /// read over that window, with the shard's counter (one atomic load on
    /// 64-bit hosts); `None` if they leave the window or the memory. The
    /// plain map's inline read: no page or shard bounds beyond the word.
    #[inline(always)]
    pub(crate) fn read_in_word(&self, off: u64, size: usize) -> Option<u64> {
        let off = usize::try_from(off).ok()?;
        let (base, o) = (off & !7, off & 7);
        if o + size > 8 {
            return None;
        }
        let ctl = self.ctl.get(off >> self.shift)?; // `i < count`
        let bytes = NonNull::new(self.data.as_ptr().wrapping_add(base))?;
        // SAFETY: shard `off >> shift` exists (its control block `ctl`
        // does) and its size is a multiple of 8, so the window
        // `base..base + 8` (`base` is `off` rounded down to 8) lies inside
        // it, inside the memory's storage borrowed for 'a, and 8-aligned.
        let window: GShard<'a, Fixed<8>> = unsafe { GShard::new(ctl, bytes, Fixed) };
        window.read(o, size)
    }

    /// The page of `PAGE` bytes from byte `off` of the memory, if it lies
    /// inside one shard and starts on a word (else `None`: the caller
    /// takes the region path).
    #[inline]
    pub(crate) fn page(&self, off: u64) -> Option<SharedPage<'a>> {
        let off = usize::try_from(off).ok()?;
        let (i, o) = (off >> self.shift, off & ((1 << self.shift) - 1));
        if !o.is_multiple_of(W) || o > (1usize << self.shift).checked_sub(PAGE)? {
            return None;
        }
        let ctl = self.ctl.get(i)?; // `i < count`
        let bytes = NonNull::new(self.data.as_ptr().wrapping_add((i << self.shift) + o))?;
        Some(SharedPage {
            // SAFETY: `i < count` (its control block `ctl` exists) and
            // `o + PAGE <= len`: the page lies inside shard `i`'s bytes, in
            // the memory's storage borrowed for 'a, `o` (a multiple of `W`)
            // into them, so it is word-aligned as `GShard::words` needs.
            page: unsafe { GShard::new(ctl, bytes, Fixed) },
            state: self.state,
        })
    }
}

impl SharedPage<'_> {
    /// Loads `size` bytes at `o` in the page, lock-free, as
    /// `ShardedMemory::read_*`; `None` if they leave the page.
    #[inline(always)]
    pub(crate) fn read(&self, o: usize, size: usize) -> Option<u64> {
        self.page.read(o, size)
    }

    /// Stores the low `size` bytes of `v` at `o` in the page under its
    /// shard's write lock; `None` (nothing stored) if they leave the page
    /// or the memory is frozen.
    #[inline(always)]
    pub(crate) fn write(&self, o: usize, size: usize, v: u64) -> Option<()> {
        let frozen = || self.state.load(Ordering::Acquire) != LIVE;
        let mut g = self.page.write_guard(frozen)?;
        g.write(o, size, v)
    }
}

/// One 4 KiB page of an owner's memory that lies inside one shard: what an
/// [`OwnerMap`](crate::OwnerMap) caches per page, reached with plain
/// loads and stores. Made only from an [`OwnedRam`], under its rules
/// (neither `Send` nor `Sync`; no reference to the bytes outlives a call).
#[derive(Clone, Copy)]
pub(crate) struct OwnedPage<'a> {
    data: NonNull<u8>,
    /// The control block of the shard the page lies in (its marks).
    ctl: NonNull<Ctl>,
    _owner: PhantomData<(&'a Ctl, *const ())>,
}

impl<'a> OwnedRam<'a> {
    /// The page of `PAGE` bytes from byte `off`, if it lies inside the
    /// memory and inside one shard (else `None`).
    #[inline]
    pub(crate) fn page(&self, off: u64) -> Option<OwnedPage<'a>> {
        let off = usize::try_from(off).ok()?;
        if off > self.len.checked_sub(PAGE)? || off >> self.shift != (off + PAGE - 1) >> self.shift
        {
            return None;
        }
        let i = off >> self.shift; // `< count`: `off + PAGE <= len`
        Some(OwnedPage {
            // Inside the storage: `off + PAGE <= len`.
            data: NonNull::new(self.data.as_ptr().wrapping_add(off))?,
            // Control block `i < count` of the memory's array.
            ctl: NonNull::new(self.ctl.as_ptr().wrapping_add(i))?,
            _owner: PhantomData,
        })
    }
}

impl OwnedPage<'_> {
    /// Loads a `T` at `o` in the page with a plain load; `None` if it
    /// leaves the page.
    #[inline(always)]
    pub(crate) fn load<T: Scalar>(&self, o: usize) -> Option<T> {
        if o > PAGE - T::SIZE {
            return None;
        }
        // SAFETY: `o + T::SIZE <= PAGE`, and the page lies inside the
        // memory's storage (`OwnedRam::page`), which lives for 'a. No other
        // access to the bytes can run during this call (`OwnedRam`'s rules:
        // the memory was borrowed `&'a mut`, every handle on it stays on
        // this thread, and no reference to the bytes outlives a call), so a
        // plain read races nothing. Unaligned: `load_le` reads a `[u8]`.
        let bytes =
            unsafe { core::slice::from_raw_parts(self.data.as_ptr().wrapping_add(o), T::SIZE) };
        T::load_le(bytes)
    }

    /// Stores `v` at `o` in the page with a plain store and marks its shard
    /// written; `None` (nothing stored) if it leaves the page.
    #[inline(always)]
    pub(crate) fn store<T: Scalar>(&self, o: usize, v: T) -> Option<()> {
        if o > PAGE - T::SIZE {
            return None;
        }
        // SAFETY: the control block of the page's shard (`OwnedRam::page`),
        // alive for 'a; read and stored only through its atomics.
        let ctl = unsafe { self.ctl.as_ref() };
        // A load and, the first time, a plain store: only this owner
        // touches the marks, so no read-modify-write is needed.
        if ctl.marks.load(Ordering::Relaxed) != ALL_MARKS {
            ctl.marks.store(ALL_MARKS, Ordering::Relaxed);
        }
        // SAFETY: in bounds as in `load`; the bytes sit in an `UnsafeCell`
        // (the storage), so writing through a pointer derived from a shared
        // borrow is allowed, and no other access (nor reference) to them
        // exists during this call (`OwnedRam`'s rules), so the `&mut` below
        // is unique while it lives.
        let bytes =
            unsafe { core::slice::from_raw_parts_mut(self.data.as_ptr().wrapping_add(o), T::SIZE) };
        v.store_le(bytes)
    }
}
