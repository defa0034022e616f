//! One shard as a handle ([`GShard`]: its control block, its bytes and its
//! size) and its atomic word view, the crate's one `unsafe` view of shared
//! shard bytes. Every handle is made by one `unsafe fn`, [`GShard::new`],
//! whose contract is the in-bounds invariant the word view relies on; the
//! reads and the lock guards built on it are `guard.rs`'s.
#![allow(unsafe_code)]
// `Word` is `u64` here but `u32` on other targets: its casts must stay.
#![allow(clippy::unnecessary_cast)]

use super::storage::{AtomicWord, Ctl, Shards, Word, ALL_MARKS, W};
use crate::seqlock::SeqLock;
use crate::sync::Ordering;
use core::cell::UnsafeCell;
use core::marker::PhantomData;
use core::ptr::NonNull;

/// One shard: a handle on its control block and its bytes.
///
/// Generic over where its size comes from ([`Geometry`]): a constant for
/// a [`ShardedMemory`](crate::ShardedMemory) (`Fixed<N>`, folded into the
/// code); a map's page cache views one 4 KiB page of a shard the same way
/// (`Fixed<PAGE>`, [`SharedPage`](super::SharedPage)).
/// One implementation of the protocol serves both.
#[derive(Clone, Copy)]
pub(crate) struct GShard<'a, G: Geometry> {
    ctl: &'a Ctl,
    bytes: NonNull<u8>,
    geom: G,
    _data: PhantomData<&'a UnsafeCell<u8>>,
}

/// A shard of a memory of `N`-byte shards.
pub(crate) type Shard<'a, const N: usize> = GShard<'a, Fixed<N>>;

/// Where a shard's size comes from: [`Fixed`], a constant. The size is a
/// multiple of 8 of at least 8.
pub(crate) trait Geometry: Copy {
    /// The shard's size in bytes.
    fn size(self) -> usize;
}

/// A constant shard size `N`.
#[derive(Clone, Copy)]
pub(crate) struct Fixed<const N: usize>;

impl<const N: usize> Fixed<N> {
    /// `N`, checked at compile time: the word view relies on `N % 8 == 0`
    /// (whole words, each 8-aligned).
    pub(super) const N: usize = {
        assert!(
            N.is_multiple_of(8) && N >= 8,
            "vm-mem shards: SHARD_SIZE must be a multiple of 8 for the atomic-word view"
        );
        N
    };
}

impl<const N: usize> Geometry for Fixed<N> {
    #[inline(always)]
    fn size(self) -> usize {
        Self::N
    }
}

impl<'a, G: Geometry> GShard<'a, G> {
    /// The handle on the `geom.size()` bytes at `bytes`, guarded by `ctl`:
    /// the one way a handle is made.
    ///
    /// # Safety
    /// For `'a`, the bytes `bytes..bytes + geom.size()` must lie inside the
    /// storage of one [`Shards`] (borrowed for `'a`), all inside the shard
    /// whose control block is `ctl` (so its lock and counter are the ones
    /// that guard them), and `bytes` must be a multiple of `W` bytes from
    /// the start of the storage (so aligned for `AtomicWord`: the storage is
    /// `align(8)`). [`words`](Self::words) views exactly those bytes as
    /// atomic words, and the guards (`guard.rs`) read them plainly under
    /// `ctl`'s lock.
    #[inline(always)]
    pub(super) unsafe fn new(ctl: &'a Ctl, bytes: NonNull<u8>, geom: G) -> Self {
        GShard {
            ctl,
            bytes,
            geom,
            _data: PhantomData,
        }
    }

    /// The shard's size in bytes.
    #[inline(always)]
    pub(super) fn len(&self) -> usize {
        self.geom.size()
    }

    /// The control block of the shard (its lock, counter and marks).
    #[inline(always)]
    pub(super) fn ctl(&self) -> &'a Ctl {
        self.ctl
    }

    /// The handle's parts, as `new` took them: for an out-of-line path
    /// that gets them in registers and remakes the handle, and for a read
    /// guard (`guard.rs`), which reads the bytes under `ctl`'s lock.
    #[inline(always)]
    pub(super) fn parts(&self) -> (&'a Ctl, NonNull<u8>, G) {
        (self.ctl, self.bytes, self.geom)
    }

    /// The shard's bytes as atomic words.
    #[inline(always)]
    pub(super) fn words(&self) -> &'a [AtomicWord] {
        let base = self.bytes.as_ptr().cast::<AtomicWord>();
        // SAFETY: by `GShard::new`'s contract, which every handle was made
        // under, the `len` bytes lie inside the storage of shards borrowed
        // for 'a (an `UnsafeCell`), a multiple of `W` bytes from its
        // `align(8)` start, so aligned for `AtomicWord`; they are exactly
        // `len / W` words (`Fixed` asserts `N % 8 == 0` at compile time).
        // `AtomicWord` has the size of `Word` and may be shared, as
        // `AtomicWord::from_ptr` allows for each word. Every access to the
        // bytes that can run concurrently with these is atomic and
        // word-sized (`shard/mod.rs`): writers store words under the write
        // lock of `ctl`, which guards these bytes (the contract again);
        // plain reads happen only under a read guard or a `NoWriters`
        // proof, when no store can run, and plain reads do not race atomic
        // loads; `&mut` access excludes these borrows altogether.
        unsafe { core::slice::from_raw_parts(base, self.len() / W) }
    }

    /// Word `i` of the shard as an atomic, or `None` past the end.
    #[inline(always)]
    pub(super) fn word(&self, i: usize) -> Option<&'a AtomicWord> {
        self.words().get(i)
    }

    /// Loads `n` consecutive words from word `i`, `Relaxed`, joined into one
    /// integer with little-endian significance (byte `k` of the run at bits
    /// `8k..8k + 8`). `n <= 3` (a `u64` over `u32` words), so it fits a `u128`.
    #[inline(always)]
    pub(super) fn gather(&self, i: usize, n: usize) -> Option<u128> {
        let mut acc = 0u128;
        for j in 0..n {
            let w = Word::from_le(self.word(i + j)?.load(Ordering::Relaxed));
            acc |= u128::from(w) << (j * W * 8);
        }
        Some(acc)
    }

    /// The shard's sequence counter: optimistic reads of more than one
    /// word begin and validate on it (the ordering argument is
    /// `seqlock.rs`'s), and every write brackets its stores with it.
    #[inline(always)]
    pub(super) fn seq(&self) -> &'a SeqLock {
        &self.ctl.seq
    }

    /// Whether the shard's marks are all set and it keeps no lines: a
    /// write needs to mark nothing. ORDERING: `Relaxed` suffices: marks
    /// are set under the write lock and consumed by snapshot/restore under
    /// the lock (whose `Acquire`/`Release` orders them) or as a hint by
    /// `take_dirty`. A load, so the cache line stays shared while marked.
    #[inline(always)]
    pub(super) fn is_all_marked(&self) -> bool {
        self.ctl.marks.load(Ordering::Relaxed) == ALL_MARKS
    }

    /// The shard's marks.
    #[inline]
    pub(crate) fn marks(&self) -> u8 {
        self.ctl.marks.load(Ordering::Relaxed)
    }

    /// Takes (reads and clears) the shard's line word: called with its
    /// lock held.
    #[inline]
    pub(crate) fn take_lines(&self) -> usize {
        // A load, and a store only if needed: the lock held keeps writers
        // out, and no read-modify-write is needed (a whole snapshot takes
        // one per shard: measured, three of them cost a first snapshot of
        // 64 MiB a fifth of memcpy's speed).
        let lines = self.ctl.lines.load(Ordering::Relaxed);
        if lines != 0 {
            self.ctl.lines.store(0, Ordering::Relaxed);
        }
        lines
    }

    /// Sets the bits of `mask` in the marks.
    #[inline]
    pub(crate) fn set_marks(&self, mask: u8) {
        if self.ctl.marks.load(Ordering::Relaxed) & mask != mask {
            self.ctl.marks.fetch_or(mask, Ordering::Relaxed);
        }
    }

    /// Stores the line word: called with the shard's lock held.
    #[inline]
    pub(crate) fn set_lines(&self, lines: usize) {
        if self.ctl.lines.load(Ordering::Relaxed) != lines {
            self.ctl.lines.store(lines, Ordering::Relaxed);
        }
    }

    /// Clears the bits of `mask` if any is set (a load, then the
    /// read-modify-write only if needed).
    #[inline]
    pub(crate) fn clear_marks(&self, mask: u8) {
        if self.ctl.marks.load(Ordering::Relaxed) & mask != 0 {
            self.ctl.marks.fetch_and(!mask, Ordering::Relaxed);
        }
    }

    /// Whether any bit of `mask` is set.
    #[inline]
    pub(crate) fn is_marked(&self, mask: u8) -> bool {
        self.ctl.marks.load(Ordering::Relaxed) & mask != 0
    }

    /// Clears the bits of `mask`, returning whether any of them was set.
    #[inline]
    pub(crate) fn take_mark(&self, mask: u8) -> bool {
        self.ctl.marks.fetch_and(!mask, Ordering::Relaxed) & mask != 0
    }
}

/// The low `size` bytes (1 to 8) of `v`, zero-extended: every typed read,
/// in-shard or straddling, returns exactly its own bytes.
#[inline(always)]
pub(super) fn low_bytes(v: u128, size: usize) -> u64 {
    (v as u64) & (u64::MAX >> (64 - 8 * size.clamp(1, 8)))
}

/// The `size` bytes at byte `sh` of `word` (they lie inside it), loaded
/// with one atomic load, which cannot tear: the one-word read of every
/// shared path (a shard's, so the memory's, and a cursor's window).
#[inline(always)]
pub(super) fn load_in_word(word: &AtomicWord, sh: usize, size: usize) -> u64 {
    let w = Word::from_le(word.load(Ordering::Relaxed));
    low_bytes(u128::from(w >> (sh * 8)), size)
}

impl<const S: usize, const N: usize> Shards<S, N> {
    /// Shard `i`, or `None` past the end.
    #[inline(always)]
    pub(crate) fn get(&self, i: usize) -> Option<Shard<'_, N>> {
        let ctl = self.ctl.get(i)?;
        let first = NonNull::from(&self.data.0).cast::<[u8; N]>();
        // SAFETY: `i < S` (control block `i` exists), so shard `i` lies
        // inside the storage: the offset stays in its allocation. (A
        // reference's pointer, offset in bounds: no null test on the hot
        // path.)
        let bytes = unsafe { first.add(i) };
        // SAFETY: `i < S`: shard `i`'s `N` bytes lie inside the storage,
        // `i * N` bytes (a multiple of 8) into it, and `ctl` is their
        // control block; both are borrowed from `self`.
        Some(unsafe { GShard::new(ctl, bytes.cast(), Fixed) })
    }

    /// Every shard, in order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = Shard<'_, N>> + '_ {
        let base = self.data.0.get().cast::<[u8; N]>();
        self.ctl.iter().enumerate().filter_map(move |(i, ctl)| {
            let bytes = NonNull::new(base.wrapping_add(i))?.cast();
            // SAFETY: as in `get`: `i < S`, `ctl` is control block `i`.
            Some(unsafe { GShard::new(ctl, bytes, Fixed) })
        })
    }
}
