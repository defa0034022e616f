//! The bytes of all shards, contiguous and 8-aligned, beside their control
//! blocks (lock, sequence counter, marks): what a memory holds inline. Also
//! the mark bits, a memory's freeze states, the word the bytes are accessed
//! in, and [`NoWriters`], the proof that allows plain reads. How the bytes
//! may be reached is the module's discipline (`shard/mod.rs`).
#![allow(unsafe_code)]

use crate::seqlock::SeqLock;
use crate::sync::{AtomicU16, AtomicU8, AtomicUsize};
use core::cell::UnsafeCell;
use spin::RwLock;

#[cfg(target_has_atomic = "64")]
pub(super) use core::sync::atomic::AtomicU64 as AtomicWord;
/// The machine word shard bytes are loaded and stored in.
#[cfg(target_has_atomic = "64")]
pub(crate) type Word = u64;
#[cfg(not(target_has_atomic = "64"))]
pub(super) use core::sync::atomic::AtomicU32 as AtomicWord;
/// The machine word shard bytes are loaded and stored in.
#[cfg(not(target_has_atomic = "64"))]
pub(crate) type Word = u32;

/// Bytes in a word.
pub(super) const W: usize = core::mem::size_of::<Word>();

/// Whether the `size` bytes at shard offset `off` lie inside one word (one
/// atomic load or store, no merge across words).
#[inline(always)]
pub(crate) const fn in_one_word(off: usize, size: usize) -> bool {
    off % W + size <= W
}

/// Mark bit: written since the user last cleared the dirty log.
pub(crate) const DIRTY: u8 = 1;
/// Mark bit: written since the snapshot baseline.
pub(crate) const CHANGED: u8 = 2;
/// Both marks: what every write sets.
pub(crate) const ALL_MARKS: u8 = DIRTY | CHANGED;
/// Mark bit: the shard records the lines written since the baseline
/// (`track.rs`). Never part of what a write sets: while it is set the
/// marks never equal [`ALL_MARKS`], so every write takes the marking slow
/// path, which records its lines.
pub(crate) const LINES: u8 = 4;

/// Memory state: writable.
pub(crate) const LIVE: u8 = 0;
/// Memory state: `freeze` is leaking read locks; writes are refused.
pub(crate) const FREEZING: u8 = 1;
/// Memory state: every shard's read lock is leaked; reads need no lock.
pub(crate) const FROZEN: u8 = 2;

/// The bytes of every shard, contiguous and 8-aligned, so they can be viewed
/// as atomic words and, by an owner, as one slice.
#[repr(C, align(8))]
pub(super) struct Storage<const S: usize, const N: usize>(pub(super) UnsafeCell<[[u8; N]; S]>);

// SAFETY: shared access to the bytes follows this module's discipline
// (`shard/mod.rs`): through `&self` only atomic word accesses (`GShard::words`),
// or plain reads where the types prove no writer can run (a `ShardRead`
// guard holds the read lock; a `NoWriters` was made under its contract).
// Stores happen only through atomic words under the write lock, or through
// `&mut` (which excludes every other access). That is what makes sharing
// the cell between threads sound.
unsafe impl<const S: usize, const N: usize> Sync for Storage<S, N> {}

/// A shard's control block: the lock over its bytes, the sequence counter
/// optimistic readers validate against, its marks, its written lines and
/// one word of the memory's summary (`track.rs`).
///
/// Not padded to a cache line: two blocks (32 bytes on 64-bit targets, 16
/// on 32-bit ones) share one. Measured (`benches/threads.rs`,
/// `threads_write_neighbours`, see CHANGELOG): padding to 64 bytes did not
/// make two writers on neighbouring shards measurably faster relative to
/// distant shards. The line word made the block 32 bytes instead of 24 on
/// 64-bit hosts (16 instead of 12 on 32-bit targets); the summary word
/// fits in the padding.
pub(crate) struct Ctl {
    pub(super) lock: RwLock<()>,
    /// The sequence counter: odd while a writer is storing.
    pub(super) seq: SeqLock,
    pub(super) marks: AtomicU8,
    /// The lines written since the baseline, kept while [`LINES`] is set.
    pub(super) lines: AtomicUsize,
    /// Summary word `j` in block `j` (for `j < S.div_ceil(16)`): bit `b`
    /// for shard `16j + b` (`track.rs`).
    pub(super) sum: AtomicU16,
}

/// The control block of bytes that are never written through it (a
/// frozen memory's page or run, a run over several shards): its marks stay
/// 0, so a marked store there always refuses, with no test for a missing
/// control block on the owner's store path.
pub(super) static NEVER_WRITTEN: Ctl = Ctl::new();

impl Ctl {
    const fn new() -> Self {
        Ctl {
            lock: RwLock::new(()),
            seq: SeqLock::new(),
            marks: AtomicU8::new(0),
            lines: AtomicUsize::new(0),
            sum: AtomicU16::new(0),
        }
    }
}

/// `S` shards of `N` bytes: control blocks and contiguous bytes, and the
/// top word of the summary of changed shards (`track.rs`).
///
/// `repr(C)`, bytes first: an access then reaches a byte at the memory's
/// own address plus its offset, with no field offset to add (measured with
/// `benches/callgrind.sh`: letting the compiler put the top word first
/// cost a shared write an instruction).
#[repr(C)]
pub(crate) struct Shards<const S: usize, const N: usize> {
    pub(super) data: Storage<S, N>,
    pub(super) ctl: [Ctl; S],
    pub(super) top: AtomicUsize,
}

impl<const S: usize, const N: usize> Shards<S, N> {
    /// The geometry the atomic-word view needs: every shard a whole number
    /// of 8-byte words (so of [`Word`]s too), hence every shard 8-aligned in
    /// the `align(8)` storage. Evaluated at compile time wherever the shards
    /// are built or viewed as words.
    const GEOMETRY: () = assert!(
        N.is_multiple_of(8) && N >= 8 && S >= 1,
        "vm-mem shards: SHARD_SIZE must be a multiple of 8 (and SHARDS at least 1)"
    );

    /// Zeroed, unmarked, unlocked shards: all-zero bits, so a `static`
    /// memory lands in `.bss`.
    pub(crate) const fn new() -> Self {
        const { Self::GEOMETRY };
        Shards {
            data: Storage(UnsafeCell::new([[0; N]; S])),
            ctl: [const { Ctl::new() }; S],
            top: AtomicUsize::new(0),
        }
    }

    /// All bytes as one slice, for an owner holding `&mut`.
    #[inline(always)]
    pub(crate) fn flat_mut(&mut self) -> &mut [u8] {
        self.data.0.get_mut().as_flattened_mut()
    }

    /// Marks bytes `off..off + len` of the shard whose control block is
    /// `ctl` written (both marks, its lines if it keeps them, the summary):
    /// the slow path of a write of the memory's own shard, out of line,
    /// under the shard's write lock. Finds the shard's index from the
    /// block's address (plain address arithmetic: the block is one of
    /// `self.ctl`; one that is not marks nothing), so the inlined write
    /// keeps no index alive for it.
    #[cold]
    #[inline(never)]
    pub(crate) fn mark_cold(&self, ctl: &Ctl, off: usize, len: usize) {
        let at = core::ptr::from_ref(ctl) as usize;
        let base = self.ctl.as_ptr() as usize;
        let i = at.wrapping_sub(base) / core::mem::size_of::<Ctl>();
        if self.ctl.get(i).is_some_and(|c| core::ptr::eq(c, ctl)) {
            self.track(i).mark(N, off, len);
        }
    }

    /// Shard `i`'s bytes, marks and line word, for an owner holding `&mut`.
    #[inline]
    pub(crate) fn get_mut(&mut self, i: usize) -> Option<(&mut [u8; N], &mut u8, &mut usize)> {
        let bytes = self.data.0.get_mut().get_mut(i)?;
        let ctl = self.ctl.get_mut(i)?;
        Some((bytes, ctl.marks.get_mut(), ctl.lines.get_mut()))
    }

    /// Whether shard `i`'s marks are all set and it keeps no lines: a
    /// write needs to mark nothing (a missing shard: `true`).
    #[inline(always)]
    fn marked_mut(&mut self, i: usize) -> bool {
        self.marks_mut(i) == ALL_MARKS
    }

    /// Shard `i`'s marks ([`ALL_MARKS`] for a missing shard).
    #[inline(always)]
    fn marks_mut(&mut self, i: usize) -> u8 {
        self.ctl
            .get_mut(i)
            .map_or(ALL_MARKS, |ctl| *ctl.marks.get_mut())
    }

    /// Whether a write of the `size` bytes (1 to 8) at `addr` needs no
    /// marking: they lie in one shard whose marks are all set (and which
    /// keeps no lines). The exclusive view's hit tests this; a straddling
    /// value goes to the slow path, which marks both shards, so the common
    /// case tests one shard's marks and the straddle test folds away for
    /// bytes (measured with `benches/callgrind.sh`, before the exclusive
    /// write had one exit: the toy's prefix sums 20.89 -> 20.64 host
    /// instructions per access against testing both shards' marks).
    #[inline(always)]
    pub(crate) fn marked_for(&mut self, addr: usize, size: usize) -> bool {
        self.marks_mut(addr / N) == ALL_MARKS && addr % N + size <= N
    }

    /// Marks the `size` bytes (1 to 8) at `addr` written, for an owner
    /// holding `&mut` (the exclusive view's slow path): a value in one
    /// shard marks it directly, a straddling one both.
    #[inline]
    pub(crate) fn mark_value(&mut self, addr: usize, size: usize) {
        if addr % N + size <= N {
            // `&mut self`: no other thread touches the marks.
            self.track(addr / N).mark_owned(N, addr % N, size);
        } else {
            self.mark_mut(addr, size);
        }
    }

    /// Marks bytes `addr..addr + len` written, for an owner holding
    /// `&mut`: every shard of the range (lines included).
    #[inline(never)]
    pub(crate) fn mark_mut(&mut self, addr: usize, len: usize) {
        let mut pos = addr;
        let end = addr.saturating_add(len);
        while pos < end {
            let (i, off) = (pos / N, pos % N);
            let n = (N - off).min(end - pos);
            if !self.marked_mut(i) {
                // `&mut self`: no other thread touches the marks.
                self.track(i).mark_owned(N, off, n);
            }
            pos += n;
        }
    }
}

/// Proof that no writer can store to a memory's shard bytes while `'a`
/// lasts, so they may be read with plain loads as one slice
/// ([`bytes`](NoWriters::bytes)). Only [`NoWriters::new`] makes one, and it
/// is `unsafe`: its two callers prove the claim from their own types (the
/// exclusive view holds the memory's only borrow and lends no shared handle
/// through `&self`; a frozen memory has every read lock leaked).
#[derive(Clone, Copy)]
pub(crate) struct NoWriters<'a, const S: usize, const N: usize> {
    shards: &'a Shards<S, N>,
}

impl<'a, const S: usize, const N: usize> NoWriters<'a, S, N> {
    /// The proof for `shards`.
    ///
    /// # Safety
    /// For all of `'a`, no write guard of any of the shards may exist or be
    /// taken, and no `&mut` to them may be used.
    #[inline(always)]
    pub(crate) unsafe fn new(shards: &'a Shards<S, N>) -> Self {
        NoWriters { shards }
    }

    /// All bytes as one slice, read with plain loads.
    #[inline(always)]
    pub(crate) fn bytes(self) -> &'a [u8] {
        let all = self.shards.data.0.get();
        // SAFETY: `NoWriters::new`'s contract, which every value of this
        // type was made under, says nothing stores to the bytes (no write
        // guard, no `&mut`) for 'a; lock-free readers only load, and plain
        // reads do not race loads. The pointer is to the storage, which
        // lives for 'a because `self.shards` borrows it for 'a.
        unsafe { &*all }.as_flattened()
    }
}
