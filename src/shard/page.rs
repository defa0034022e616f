//! The map's page handles: a shared memory's shards with the geometry as
//! data ([`RawShards`]) and one page of them ([`SharedPage`]), served by
//! the shard's own protocol; an owner's type-erased handle on a memory
//! ([`OwnedRam`]) and one page of it ([`OwnedPage`]), reached with plain
//! loads and stores.
#![allow(unsafe_code)]

use super::handle::{load_in_word, Fixed, GShard};
use super::storage::{in_one_word, AtomicWord, Ctl, Shards, ALL_MARKS, LIVE, NEVER_WRITTEN, W};
use super::track::{line_runs, lines_to_copy, ShardCopy, Summary, Track};
use crate::scalar::Scalar;
use crate::sync::{AtomicU8, AtomicUsize, Ordering};
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
    /// The memory's control blocks (atomics only: shared references).
    ctl: &'a [Ctl],
    /// The top word of the memory's summary (`track.rs`).
    top: &'a AtomicUsize,
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
            ctl: &self.ctl,
            top: &self.top,
            shift: N.trailing_zeros(),
            _owner: PhantomData,
        }
    }
}

impl<'a> OwnedRam<'a> {
    /// The bytes of shard `i` and its control block, if the memory has it.
    #[inline]
    fn shard(&self, i: usize) -> Option<(*mut u8, usize, &'a Ctl)> {
        let size = 1usize << self.shift;
        if i >= self.len >> self.shift {
            return None;
        }
        let ctl = self.ctl.get(i)?;
        // In the storage: `(i + 1) * size <= len`.
        Some((self.data.as_ptr().wrapping_add(i * size), size, ctl))
    }

    /// Where shard `i` sits in the memory's summary.
    #[inline]
    fn track(&self, i: usize) -> Track<'a> {
        Track {
            ctl: self.ctl,
            top: self.top,
            i,
        }
    }

    /// A snapshot's plain copy of shard `i` (`buf` exactly one shard
    /// long; see [`lines_to_copy`] for what it copies) that leaves its marks
    /// as [`ShardCopy::marks_after`] says and clears its lines. Whether it
    /// copied. Only this owner touches the marks: plain loads and stores.
    pub(crate) fn copy(&self, i: usize, mut buf: ShardCopy<'_>, whole: bool) -> bool {
        let Some((bytes, size, ctl)) = self.shard(i).filter(|s| s.1 == buf.len()) else {
            return false;
        };
        let marks = ctl.marks.load(Ordering::Relaxed);
        let Some(lines) = lines_to_copy(whole, marks, || ctl.lines.load(Ordering::Relaxed)) else {
            return false;
        };
        // SAFETY: the shard's `size` bytes from `bytes` lie inside the
        // storage (see `shard`), alive for 'a, in an `UnsafeCell`, so a
        // unique borrow derived from it is allowed; no other access to them
        // runs and no reference to them lives during this call (`OwnedRam`'s
        // rules: the owner lends slices only through `&mut` of its map), and
        // `buf` is the snapshot's own buffer, so the two do not overlap.
        let shard = unsafe { core::slice::from_raw_parts_mut(bytes, size) };
        for run in line_runs(size, lines) {
            buf.run(shard, run);
        }
        ctl.marks.store(buf.marks_after(marks), Ordering::Relaxed);
        ctl.lines.store(0, Ordering::Relaxed);
        true
    }

    /// The bytes `off..off + len`, if they lie in the memory.
    #[inline]
    fn range(&self, off: u64, len: usize) -> Option<*mut u8> {
        let off = usize::try_from(off).ok()?;
        let end = off.checked_add(len)?;
        // In the storage: `off + len <= len of the memory`.
        (end <= self.len).then(|| self.data.as_ptr().wrapping_add(off))
    }

    /// Marks bytes `off..off + len` (inside the memory) written: every
    /// shard of the range, its lines and the summary, where missing.
    fn mark(&self, off: usize, len: usize) {
        let size = 1usize << self.shift;
        let (mut pos, end) = (off, off.saturating_add(len));
        while pos < end {
            let (i, o) = (pos >> self.shift, pos & (size - 1));
            let n = (size - o).min(end - pos);
            if let Some((_, _, ctl)) = self.shard(i)
                && ctl.marks.load(Ordering::Relaxed) != ALL_MARKS
            {
                // Only this owner touches the marks (`OwnedRam`'s rules).
                self.track(i).mark_owned(size, o, n);
            }
            pos += n;
        }
    }

    /// Copies the bytes at `off` into `dst` with a plain copy (a bulk read
    /// of the owner map); `false` (nothing read) if they leave the memory.
    pub(crate) fn load_bytes(&self, off: u64, dst: &mut [u8]) -> bool {
        let Some(src) = self.range(off, dst.len()) else {
            return false;
        };
        // SAFETY: `dst.len()` bytes from `src` lie in the storage (`range`),
        // alive for 'a; no other access to them runs during this call
        // (`OwnedRam`'s rules) and `dst` is a distinct, mutably borrowed
        // buffer, so the two do not overlap.
        unsafe { core::ptr::copy_nonoverlapping(src, dst.as_mut_ptr(), dst.len()) };
        true
    }

    /// Copies `src` to `off` with a plain copy and marks the shards
    /// written; `false` (nothing written) if it leaves the memory.
    pub(crate) fn store_bytes(&self, off: u64, src: &[u8]) -> bool {
        let Some(dst) = self.range(off, src.len()) else {
            return false;
        };
        if src.is_empty() {
            return true;
        }
        // SAFETY: as in `load_bytes`; the bytes sit in an `UnsafeCell`
        // (the storage), so writing through a pointer derived from a shared
        // borrow is allowed, and no reference to them exists meanwhile.
        unsafe { core::ptr::copy_nonoverlapping(src.as_ptr(), dst, src.len()) };
        // `range` checked `off` fits a usize.
        self.mark(off as usize, src.len());
        true
    }

    /// Sets `len` bytes at `off` to `byte` and marks the shards written;
    /// `false` (nothing written) if they leave the memory.
    pub(crate) fn fill_bytes(&self, off: u64, len: usize, byte: u8) -> bool {
        let Some(dst) = self.range(off, len) else {
            return false;
        };
        if len == 0 {
            return true;
        }
        // SAFETY: as in `store_bytes`.
        unsafe { core::ptr::write_bytes(dst, byte, len) };
        self.mark(off as usize, len);
        true
    }

    /// The bytes `off..off + len` as a host slice, marked written first if
    /// `write` (`None` if they leave the memory).
    ///
    /// # Safety
    /// For `'s` no other access to these bytes may run, through this
    /// handle, its pages or the memory: the caller holds the owner map by
    /// `&mut` for `'s`.
    pub(crate) unsafe fn bytes<'s>(
        &self,
        off: u64,
        len: usize,
        write: bool,
    ) -> Option<&'s mut [u8]> {
        let at = self.range(off, len)?;
        if write && len > 0 {
            // `range` checked `off` fits a usize.
            self.mark(off as usize, len);
        }
        // SAFETY: `len` bytes from `at` lie in the storage (`range`), alive
        // for 'a, which outlives 's (the owner map borrows the memory for
        // 'a); the bytes sit in an `UnsafeCell`, and by the caller's promise
        // nothing else reads or writes them for 's, so the `&mut` is unique.
        Some(unsafe { core::slice::from_raw_parts_mut(at, len) })
    }

    /// log2 of the memory's shard size.
    #[inline]
    pub(crate) fn shard_shift(&self) -> u32 {
        self.shift
    }

    /// Clears `mark` (the user's dirty log) in every shard's marks.
    pub(crate) fn clear_marks(&self, mark: u8) {
        for i in 0..self.len >> self.shift {
            if let Some((_, _, ctl)) = self.shard(i) {
                let marks = ctl.marks.load(Ordering::Relaxed);
                ctl.marks.store(marks & !mark, Ordering::Relaxed);
            }
        }
    }

    /// Shard `i`'s marks (0 if the memory has no shard `i`).
    #[inline]
    pub(crate) fn marks(&self, i: usize) -> u8 {
        self.shard(i)
            .map_or(0, |(_, _, ctl)| ctl.marks.load(Ordering::Relaxed))
    }
}

impl Summary for OwnedRam<'_> {
    fn count(&self) -> usize {
        self.len >> self.shift
    }

    fn summary(&self) -> Track<'_> {
        self.track(0)
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
        // The marks tested under the lock, then the store inline (as the
        // memory's own typed write): not `write`'s closure, which LLVM left
        // out of line (51 host instructions per rrs-lib store).
        if !g.is_all_marked() {
            return None;
        }
        g.write_marked(o, size, v)
    }
}

/// Memory a map handle's window serves a region from: an owner's plain
/// bytes ([`OwnedRun`]) or a shared memory's words ([`SharedRun`]), both
/// reached at offsets from the region's first byte. `None` means "not
/// here" and the caller takes its page cache, which decides.
pub(crate) trait Run: Copy {
    /// A run that serves nothing.
    const EMPTY: Self;
    /// The run's length minus 7: an access of up to 8 bytes from an offset
    /// below it lies inside (so one compare serves every width); 0 for a
    /// run shorter than 8 bytes, or none.
    fn lim(&self) -> u64;
    /// Whether the run serves nothing.
    fn is_empty(&self) -> bool {
        self.lim() == 0
    }
    /// Loads a `T` at offset `o`.
    fn load<T: Scalar>(&self, o: u64) -> Option<T>;
    /// Stores `v` at offset `o`.
    fn store<T: Scalar>(&self, o: u64, v: T) -> Option<()>;
}

/// A run of bytes of a shared memory (a whole RAM or ROM region's): what a
/// [`Cursor`](crate::Cursor)'s read windows
/// ([`Window`](crate::map::window::Window)) serve a region from. A load is
/// the shard's own one-word read (`GShard::read_one_word`: one atomic load
/// of the aligned word that holds the bytes, lock-free and tear-free, the
/// way `ShardedMemory::read_*` reads); an access across words takes the
/// page cache. Borrows the memory for `'a` like `&'a ShardedMemory`.
#[derive(Clone, Copy)]
pub(crate) struct SharedRun<'a> {
    /// The memory's bytes from the run's first byte.
    data: NonNull<u8>,
    /// [`Run::lim`].
    lim: u64,
    _mem: PhantomData<&'a AtomicWord>,
}

// SAFETY: a `SharedRun<'a>` is a `&'a ShardedMemory` narrowed to a run of
// its bytes, which it reaches only through atomic word loads, exactly as
// `&ShardedMemory` does from any thread; `ShardedMemory` is `Sync`. So a
// `Cursor` can be made on one thread and moved to its vCPU thread.
unsafe impl Send for SharedRun<'_> {}
// SAFETY: as for `Send` above.
unsafe impl Sync for SharedRun<'_> {}

impl<'a> RawShards<'a> {
    /// The run of `len` bytes from byte `off`, if they lie inside the
    /// memory.
    pub(crate) fn run(&self, off: u64, len: u64) -> Option<SharedRun<'a>> {
        let size = self.ctl.len().checked_shl(self.shift)?; // the memory's bytes
        let (off, n) = (usize::try_from(off).ok()?, usize::try_from(len).ok()?);
        if off.checked_add(n)? > size {
            return None;
        }
        Some(SharedRun {
            // Inside the storage: `off + len <= size`.
            data: NonNull::new(self.data.as_ptr().wrapping_add(off))?,
            lim: len.saturating_sub(RUN_SLACK),
            _mem: PhantomData,
        })
    }
}

impl Run for SharedRun<'_> {
    const EMPTY: Self = SharedRun {
        data: NonNull::dangling(),
        lim: 0,
        _mem: PhantomData,
    };

    fn lim(&self) -> u64 {
        self.lim
    }

    /// Loads a `T` at `o` in the run, lock-free, as
    /// `ShardedMemory::read_*` does inside one word: `None` if `o` is not
    /// below the run's length minus 7 or the `T` leaves its aligned word.
    #[inline(always)]
    fn load<T: Scalar>(&self, o: u64) -> Option<T> {
        if o >= self.lim {
            return None;
        }
        let p = self.data.as_ptr().wrapping_add(o as usize); // `o < lim`: a usize
        if !in_one_word(p.addr(), T::SIZE) {
            return None;
        }
        let sh = p.addr() % W;
        // SAFETY: `o + 8 <= len`, so byte `p` lies in the run, inside the
        // memory's storage borrowed for 'a (`RawShards::run`); the storage
        // starts `align(8)` and is whole words, so the aligned word holding
        // `p` lies inside it too, aligned for `AtomicWord`. Every access to
        // those bytes that can run concurrently is atomic and word-sized,
        // as `GShard::words` says (writers store whole words under their
        // shard's lock).
        let word = unsafe { &*p.wrapping_sub(sh).cast::<AtomicWord>() };
        Some(T::from_u64_truncating(load_in_word(word, sh, T::SIZE)))
    }

    /// Never: a shared store takes its shard's lock (the page cache's).
    #[inline(always)]
    fn store<T: Scalar>(&self, _: u64, _: T) -> Option<()> {
        None
    }
}

/// One 4 KiB page of an owner's memory that lies inside one shard: what an
/// [`OwnerMap`](crate::OwnerMap) caches per page, reached with plain
/// loads and stores. Made only from an [`OwnedRam`], under its rules
/// (neither `Send` nor `Sync`; no reference to the bytes outlives a call).
///
/// Or a page of a frozen memory ([`OwnedPage::rom`]), read with the same
/// plain loads: no writer can ever run there, and such a page has no
/// control block, so its [`store`](OwnedPage::store) refuses.
#[derive(Clone, Copy)]
pub(crate) struct OwnedPage<'a> {
    data: NonNull<u8>,
    /// The control block of the shard the page lies in (its marks);
    /// [`NEVER_WRITTEN`] for a frozen memory's page.
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
            ctl: NonNull::from(self.ctl.get(i)?),
            _owner: PhantomData,
        })
    }
}

impl<'a> OwnedPage<'a> {
    /// A page of a frozen memory (`page`: its `PAGE` bytes, from
    /// [`Frozen::as_slice`](crate::Frozen::as_slice)), read with plain loads
    /// and never written: `None` if `page` is not one page long.
    #[inline]
    pub(crate) fn rom(page: &'a [u8]) -> Option<Self> {
        (page.len() == PAGE).then(|| OwnedPage {
            data: NonNull::from(page).cast(),
            ctl: NonNull::from(&NEVER_WRITTEN),
            _owner: PhantomData,
        })
    }
}

/// A run of bytes of an owner's memory (from an [`OwnedRam`]) or of a
/// frozen memory, reached with plain loads and stores under the same rules
/// as an [`OwnedPage`]: what an owner map's windows
/// ([`Window`](crate::map::window::Window)) serve a region from, one
/// compare and one load or store per access. A run over several shards (a
/// whole RAM region, for reads) or a frozen memory (a ROM region) is never
/// written; a run inside one shard ([`OwnedRam::shard_run`]) knows that
/// shard's marks and stores like a page.
#[derive(Clone, Copy)]
pub(crate) struct OwnedRun<'a> {
    data: NonNull<u8>,
    /// The run's length minus 7: an access of up to 8 bytes from an
    /// offset below it lies inside (so one compare serves every width); 0
    /// for a run shorter than 8 bytes, or none.
    lim: u64,
    /// The control block of the one shard the run lies in, or
    /// [`NEVER_WRITTEN`] (loads only).
    ctl: NonNull<Ctl>,
    _owner: PhantomData<(&'a Ctl, *const ())>,
}

/// The longest access a run's single compare covers ([`OwnedRun::lim`]).
const RUN_SLACK: u64 = 8 - 1;

impl<'a> OwnedRam<'a> {
    /// The run of `len` bytes from byte `off`, if they lie inside the
    /// memory.
    pub(crate) fn run(&self, off: u64, len: u64) -> Option<OwnedRun<'a>> {
        let (off, n) = (usize::try_from(off).ok()?, usize::try_from(len).ok()?);
        if off.checked_add(n)? > self.len {
            return None;
        }
        Some(OwnedRun {
            // Inside the storage: `off + len <= self.len`.
            data: NonNull::new(self.data.as_ptr().wrapping_add(off))?,
            lim: len.saturating_sub(RUN_SLACK),
            ctl: NonNull::from(&NEVER_WRITTEN),
            _owner: PhantomData,
        })
    }

    /// The part of the bytes `off..off + len` that lies in the shard
    /// holding byte `at` (one of them), as a run that stores (it knows that
    /// shard's marks), with the memory offset it starts at.
    pub(crate) fn shard_run(&self, off: u64, len: u64, at: u64) -> Option<(u64, OwnedRun<'a>)> {
        let end = off.checked_add(len)?;
        if !(off..end).contains(&at) {
            return None;
        }
        let i = usize::try_from(at >> self.shift).ok()?;
        let (bytes, size, ctl) = self.shard(i)?;
        let first = (i as u64) << self.shift; // the shard's first byte
        let (start, stop) = (off.max(first), end.min(first + size as u64));
        let run = OwnedRun {
            // Inside shard `i`'s bytes: `first <= start < stop <= first +
            // size`.
            data: NonNull::new(bytes.wrapping_add((start - first) as usize))?,
            lim: (stop - start).saturating_sub(RUN_SLACK),
            ctl: NonNull::from(ctl),
            _owner: PhantomData,
        };
        Some((start, run))
    }
}

impl<'a> OwnedRun<'a> {
    /// A frozen memory's bytes (`bytes`, from
    /// [`Frozen::as_slice`](crate::Frozen::as_slice)), read with plain
    /// loads: no writer can ever run there.
    pub(crate) fn rom(bytes: &'a [u8]) -> Self {
        OwnedRun {
            data: NonNull::from(bytes).cast(),
            lim: (bytes.len() as u64).saturating_sub(RUN_SLACK),
            ctl: NonNull::from(&NEVER_WRITTEN),
            _owner: PhantomData,
        }
    }
}

impl Run for OwnedRun<'_> {
    const EMPTY: Self = OwnedRun {
        data: NonNull::dangling(),
        lim: 0,
        // `NonNull::from_ref` is const only from Rust 1.89 (MSRV 1.88).
        ctl: match NonNull::new(core::ptr::from_ref(&NEVER_WRITTEN).cast_mut()) {
            Some(ctl) => ctl,
            None => unreachable!(), // a static's address (evaluated at compile time)
        },
        _owner: PhantomData,
    };

    fn lim(&self) -> u64 {
        self.lim
    }

    /// Loads a `T` at `o` in the run with a plain load: one compare;
    /// `None` if `o` is not below `lim` (it may leave the run, whose last
    /// 7 bytes take the caller's slower path).
    #[inline(always)]
    fn load<T: Scalar>(&self, o: u64) -> Option<T> {
        if o >= self.lim {
            return None;
        }
        // SAFETY: `o + 8 <= len`, and the run lies inside the memory's
        // storage (`OwnedRam::run`) or a frozen `&'a [u8]` (`rom`), which
        // live for 'a; `o < lim <= len` fits a `usize`.
        unsafe { plain_load(self.data, o as usize) }
    }

    /// Stores `v` at `o` in the run with a plain store: one compare and the
    /// shard's marks; `None` (nothing stored) if `o` is not below `lim`,
    /// the run is not written (several shards, or frozen), or the shard's
    /// marks are not all set.
    #[inline(always)]
    fn store<T: Scalar>(&self, o: u64, v: T) -> Option<()> {
        if o >= self.lim {
            return None;
        }
        // SAFETY: `o + 8 <= len` (`o < lim`, which fits a `usize`), and a
        // run with a control block lies inside that one shard's bytes of an
        // owner's memory (`OwnedRam::shard_run`), alive for 'a.
        unsafe { marked_store(self.data, self.ctl, o as usize, v) }
    }
}

/// Loads a `T` at `data + o` with a plain (unaligned) load, as an owner
/// map reads its pages and runs.
///
/// # Safety
/// The `T::SIZE` bytes from `data + o` lie in an owner's memory or a
/// frozen memory, alive for the call. An owner's memory: no other access to
/// the bytes can run during this call (`OwnedRam`'s rules: the memory was
/// borrowed `&'a mut`, every handle on it stays on this thread, and no
/// reference to the bytes outlives a call), so a plain read races nothing.
/// A frozen memory's bytes are a `&'a [u8]` that no writer can ever change.
#[inline(always)]
unsafe fn plain_load<T: Scalar>(data: NonNull<u8>, o: usize) -> Option<T> {
    // SAFETY: the caller's contract above. Unaligned: `load_le` reads a
    // `[u8]`.
    let bytes = unsafe { core::slice::from_raw_parts(data.as_ptr().wrapping_add(o), T::SIZE) };
    T::load_le(bytes)
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
        // memory's storage (`OwnedRam::page`), which lives for 'a; an
        // `OwnedPage` is an owner's (`OwnedRam`'s rules) or frozen.
        unsafe { plain_load(self.data, o) }
    }

    /// Stores `v` at `o` in the page with a plain store; `None` (nothing
    /// stored) if it leaves the page, or if its shard's marks are not all
    /// set (its first write since the baseline, or a memory that keeps
    /// lines): the owner map's slow path then writes and marks it, as a
    /// page knows neither its shard's place in the summary nor its lines.
    #[inline(always)]
    pub(crate) fn store<T: Scalar>(&self, o: usize, v: T) -> Option<()> {
        if o > PAGE - T::SIZE {
            return None;
        }
        // SAFETY: `o + T::SIZE <= PAGE`: inside the page, which lies in
        // the shard whose control block is `ctl` (`OwnedRam::page`).
        unsafe { marked_store(self.data, self.ctl, o, v) }
    }
}

/// Stores `v` at `data + o` with a plain (unaligned) store if the marks
/// of `ctl` are all set (after its shard's first write since the baseline,
/// for a memory that keeps no lines), else stores nothing and gives
/// `None`: the owner map's slow path then writes and marks, as a page or
/// run knows neither its shard's place in the summary nor its lines. A
/// frozen memory's page or run has [`NEVER_WRITTEN`]'s, never set.
///
/// # Safety
/// `ctl` is alive for the call. Unless it is [`NEVER_WRITTEN`], the
/// `T::SIZE` bytes from `data + o` lie in an owner's memory ([`OwnedRam`]'s
/// rules: no other access to them, nor reference, exists during this call),
/// alive for the call, inside the one shard whose control block `ctl` is.
#[inline(always)]
unsafe fn marked_store<T: Scalar>(
    data: NonNull<u8>,
    ctl: NonNull<Ctl>,
    o: usize,
    v: T,
) -> Option<()> {
    // SAFETY: a live control block (the contract), read and stored only
    // through its atomics.
    let ctl = unsafe { ctl.as_ref() };
    // A load: the marks are all set after the shard's first write (and
    // never in `NEVER_WRITTEN`).
    if ctl.marks.load(Ordering::Relaxed) != ALL_MARKS {
        return None;
    }
    // SAFETY: not `NEVER_WRITTEN` (its marks are never set), so the bytes
    // sit in an `UnsafeCell` (the storage), so writing
    // through a pointer derived from a shared borrow is allowed, and no
    // other access (nor reference) to them exists during this call (the
    // contract), so the `&mut` below is unique while it lives.
    let bytes = unsafe { core::slice::from_raw_parts_mut(data.as_ptr().wrapping_add(o), T::SIZE) };
    v.store_le(bytes)
}
