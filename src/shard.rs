//! One shard: `SHARD_SIZE` bytes behind a `spin::RwLock`, a sequence
//! counter for lock-free readers, and the shard's dirty marks.
//!
//! This is the only module that reaches shard bytes through a shared
//! reference (`&ShardedMemory`), and the only one with `unsafe` code over
//! them. Above it, bytes are reached in three ways only: values, copies and
//! guards asked of a [`Shard`]; a plain `&mut [u8]` from [`Shards::flat_mut`]
//! for an owner holding `&mut` (the exclusive view writes through it); and a
//! plain `&[u8]` from a [`ShardRead`] guard or a [`NoWriters`] proof.
//!
//! # How bytes are stored and read
//! The bytes live in an 8-aligned array inside the lock, in guest order
//! (guest byte `k` at address `k`) on every host. Through `&self` they are
//! only ever accessed as atomic machine words ([`Word`]: `u64` where the
//! target has 64-bit atomics, else `u32`), viewed with `from_ptr`, so no
//! plain load ever races a store (which would be undefined behaviour even
//! if its value were thrown away):
//! - a read that lies inside one word is one `Relaxed` word load: it cannot
//!   tear, and needs neither the lock nor the counter;
//! - a read spanning two or more words (or two shards) is optimistic, as a
//!   seqlock reader: counter (`Acquire`, must be even), words (`Relaxed`),
//!   `fence(Acquire)`, counter again (unchanged); after [`OPTIMISTIC_TRIES`]
//!   failures it takes the read lock, so a writer storm cannot starve it;
//! - a writer holds the write lock, makes the counter odd, `fence(Release)`,
//!   stores whole words (merging a sub-word value into its word), then makes
//!   the counter even with `Release`: crossbeam's `SeqLock::write` order,
//!   in an RAII section ([`SeqSection`]) whose `Drop` makes the counter even
//!   again even if the stores unwind, so its parity never flips for good.
//!   It never creates a `&mut` to the bytes (that retag would race the
//!   optimistic readers): it stores through the atomic word view.
//! - Plain loads and `memcpy` happen only where the types prove no writer
//!   can run: under a read guard ([`ShardRead`]), through `&mut`, or with a
//!   [`NoWriters`] proof (the exclusive view's `&self` reads, frozen
//!   memory). Plain reads do not race atomic reads.
//!
//! Layout: the bytes of all shards are one contiguous, 8-aligned array
//! ([`Shards`]) beside an array of per-shard control blocks (lock, counter,
//! marks). The lock guards its shard's bytes by this module's discipline,
//! not by type: a `spin::RwLock<()>`. So an owner with `&mut` (the exclusive
//! view) or a frozen memory reads the whole memory as one plain slice: an
//! access is a bounds check and a load, and one that crosses a shard edge
//! is no different.
//!
//! Interrupts (feature `critical-section`, see `interrupt.rs`): every lock
//! guard is taken inside a [`Section`] that it holds until the lock is
//! released ([`Masked`]), and every store runs inside one, so on a
//! single-core target an interrupt handler never meets a lock held, or a
//! counter left odd, by the code it interrupted. A lock is only waited for
//! outside a section.
//!
//! Marks: bit [`DIRTY`] is the user-facing dirty log; bit [`CHANGED`] says
//! "written since the snapshot baseline" and is only cleared by snapshot and
//! restore, so clearing the user's log can never make a restore skip a shard.
//! Restore clears only [`CHANGED`]: the shards it copies stay [`DIRTY`],
//! because their bytes changed.
#![allow(unsafe_code)]
// `Word` is `u64` here but `u32` on other targets: its casts must stay.
#![allow(clippy::unnecessary_cast)]

use crate::interrupt::Section;
use crate::sync::{AtomicU8, AtomicUsize, Ordering};
use core::cell::UnsafeCell;
use core::marker::PhantomData;
use core::ops::{Deref, DerefMut};
use core::ptr::NonNull;
use core::sync::atomic::fence;
use spin::{RwLock, RwLockReadGuard, RwLockWriteGuard};

#[cfg(target_has_atomic = "64")]
use core::sync::atomic::AtomicU64 as AtomicWord;
/// The machine word shard bytes are loaded and stored in.
#[cfg(target_has_atomic = "64")]
pub(crate) type Word = u64;
#[cfg(not(target_has_atomic = "64"))]
use core::sync::atomic::AtomicU32 as AtomicWord;
/// The machine word shard bytes are loaded and stored in.
#[cfg(not(target_has_atomic = "64"))]
pub(crate) type Word = u32;

/// Bytes in a word.
const W: usize = core::mem::size_of::<Word>();
/// Optimistic attempts before a spanning read falls back to the read lock.
const OPTIMISTIC_TRIES: usize = 4;

/// Mark bit: written since the user last cleared the dirty log.
pub(crate) const DIRTY: u8 = 1;
/// Mark bit: written since the snapshot baseline.
pub(crate) const CHANGED: u8 = 2;
/// Both marks: what every write sets.
pub(crate) const ALL_MARKS: u8 = DIRTY | CHANGED;

/// The bytes of every shard, contiguous and 8-aligned, so they can be viewed
/// as atomic words and, by an owner, as one slice.
#[repr(C, align(8))]
struct Storage<const S: usize, const N: usize>(UnsafeCell<[[u8; N]; S]>);

// SAFETY: shared access to the bytes follows this module's discipline
// (module docs): through `&self` only atomic word accesses (`Shard::words`),
// or plain reads where the types prove no writer can run (a `ShardRead`
// guard holds the read lock; a `NoWriters` was made under its contract).
// Stores happen only through atomic words under the write lock, or through
// `&mut` (which excludes every other access). That is what makes sharing
// the cell between threads sound.
unsafe impl<const S: usize, const N: usize> Sync for Storage<S, N> {}

/// A shard's control block: the lock over its bytes, the sequence counter
/// optimistic readers validate against, and its marks.
///
/// Not padded to a cache line: about three blocks (24 bytes on 64-bit
/// targets) share one. Measured (`benches/threads.rs`,
/// `threads_write_neighbours`, see CHANGELOG): padding to 64 bytes did not
/// make two writers on neighbouring shards measurably faster relative to
/// distant shards, and it doubled the time an incremental restore spends
/// scanning the marks of 4096 shards.
struct Ctl {
    lock: RwLock<()>,
    /// Odd while a writer is storing; advanced by 2 per write.
    seq: AtomicUsize,
    marks: AtomicU8,
}

impl Ctl {
    const fn new() -> Self {
        Ctl {
            lock: RwLock::new(()),
            seq: AtomicUsize::new(0),
            marks: AtomicU8::new(0),
        }
    }
}

/// `S` shards of `N` bytes: control blocks and contiguous bytes.
pub(crate) struct Shards<const S: usize, const N: usize> {
    ctl: [Ctl; S],
    data: Storage<S, N>,
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
            ctl: [const { Ctl::new() }; S],
            data: Storage(UnsafeCell::new([[0; N]; S])),
        }
    }

    /// Shard `i`, or `None` past the end.
    #[inline(always)]
    pub(crate) fn get(&self, i: usize) -> Option<Shard<'_, N>> {
        let ctl = self.ctl.get(i)?;
        // `i < S`: the shard's bytes lie inside the storage.
        let bytes = NonNull::new(self.data.0.get().cast::<[u8; N]>().wrapping_add(i))?;
        Some(GShard {
            ctl,
            bytes: bytes.cast(),
            geom: Fixed,
            _data: PhantomData,
        })
    }

    /// Shards `i` and `i + 1`, if both exist.
    #[inline]
    pub(crate) fn pair(&self, i: usize) -> Option<[Shard<'_, N>; 2]> {
        Some([self.get(i)?, self.get(i.checked_add(1)?)?])
    }

    /// Every shard, in order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = Shard<'_, N>> + '_ {
        let base = self.data.0.get().cast::<[u8; N]>();
        self.ctl.iter().enumerate().filter_map(move |(i, ctl)| {
            Some(GShard {
                ctl,
                // `i < S`: the shard's bytes lie inside the storage.
                bytes: NonNull::new(base.wrapping_add(i))?.cast(),
                geom: Fixed,
                _data: PhantomData,
            })
        })
    }

    /// All bytes as one slice, for an owner holding `&mut`.
    #[inline(always)]
    pub(crate) fn flat_mut(&mut self) -> &mut [u8] {
        self.data.0.get_mut().as_flattened_mut()
    }

    /// Shard `i`'s bytes and marks, for an owner holding `&mut`.
    #[inline]
    pub(crate) fn get_mut(&mut self, i: usize) -> Option<(&mut [u8; N], &mut u8)> {
        let bytes = self.data.0.get_mut().get_mut(i)?;
        let marks = self.ctl.get_mut(i)?.marks.get_mut();
        Some((bytes, marks))
    }

    /// Marks shard `i` written, for an owner holding `&mut`.
    #[inline(always)]
    pub(crate) fn mark_one_mut(&mut self, i: usize) {
        if let Some(ctl) = self.ctl.get_mut(i) {
            *ctl.marks.get_mut() = ALL_MARKS;
        }
    }

    /// Marks shards `first..=last` written, for an owner holding `&mut`.
    #[inline]
    pub(crate) fn mark_mut(&mut self, first: usize, last: usize) {
        if let Some(ctls) = self.ctl.get_mut(first..=last) {
            for ctl in ctls {
                *ctl.marks.get_mut() = ALL_MARKS;
            }
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

/// One shard: a handle on its control block and its bytes.
///
/// Generic over where its size comes from ([`Geometry`]): a constant for
/// a [`ShardedMemory`](crate::ShardedMemory) (`Fixed<N>`, folded into the
/// code); a map's page cache views one 4 KiB page of a shard the same way
/// (`Fixed<PAGE>`, [`SharedPage`]).
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
/// A read guard on a shard of `N` bytes.
pub(crate) type ShardRead<'a, const N: usize> = GShardRead<'a, Fixed<N>>;
/// A write guard on a shard of `N` bytes.
pub(crate) type ShardWrite<'a, const N: usize> = GShardWrite<'a, Fixed<N>>;

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
    const N: usize = {
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
    /// The shard's size in bytes.
    #[inline(always)]
    fn len(&self) -> usize {
        self.geom.size()
    }

    /// The shard's bytes as atomic words.
    #[inline(always)]
    fn words(&self) -> &'a [AtomicWord] {
        let base = self.bytes.as_ptr().cast::<AtomicWord>();
        // SAFETY: the `len` bytes are exactly `len / W` words (`Fixed`
        // asserts `N % 8 == 0` at compile time), 8-aligned (the storage is
        // `align(8)`, every shard starts a multiple of `len` bytes into it,
        // a `SharedPage` a multiple of `W` bytes into its shard, see
        // `RawShards::page`, and a word window a multiple of 8 bytes into
        // its shard, see `RawShards::read_in_word`), inside an
        // `UnsafeCell` that lives for 'a; `AtomicWord` has
        // the size and alignment of `Word` and may be shared, as
        // `AtomicWord::from_ptr` allows for each word. Every access to the
        // bytes that can run concurrently with these is atomic and
        // word-sized (module docs): writers store words under the write
        // lock; plain reads happen only under a read guard or a `NoWriters`
        // proof, when no store can run, and plain reads do not race atomic
        // loads; `&mut` access excludes these borrows altogether.
        unsafe { core::slice::from_raw_parts(base, self.len() / W) }
    }

    /// Word `i` of the shard as an atomic, or `None` past the end.
    #[inline(always)]
    fn word(&self, i: usize) -> Option<&'a AtomicWord> {
        self.words().get(i)
    }

    /// Loads `n` consecutive words from word `i`, `Relaxed`, joined into one
    /// integer with little-endian significance (byte `k` of the run at bits
    /// `8k..8k + 8`). `n <= 3` (a `u64` over `u32` words), so it fits a `u128`.
    #[inline(always)]
    fn gather(&self, i: usize, n: usize) -> Option<u128> {
        let mut acc = 0u128;
        for j in 0..n {
            let w = Word::from_le(self.word(i + j)?.load(Ordering::Relaxed));
            acc |= u128::from(w) << (j * W * 8);
        }
        Some(acc)
    }

    /// Starts an optimistic read: the counter, if no writer is storing.
    /// ORDERING: `Acquire` pairs with the writer's `Release` store of the
    /// even counter, so the words loaded next are at least that new.
    #[inline(always)]
    fn seq_begin(&self) -> Option<usize> {
        let s = self.ctl.seq.load(Ordering::Acquire);
        (s & 1 == 0).then_some(s)
    }

    /// Ends an optimistic read: whether no writer stored since `seq_begin`.
    /// ORDERING: this `fence(Acquire)` pairs with the writer's
    /// `fence(Release)` after it made the counter odd: if any word load saw
    /// a store of that writer, the load below sees the odd or a later value.
    #[inline(always)]
    fn seq_valid(&self, s: usize) -> bool {
        fence(Ordering::Acquire);
        self.ctl.seq.load(Ordering::Relaxed) == s
    }

    /// Loads `size` bytes at `off` with no lock, little-endian; `None` if
    /// they do not fit.
    #[inline(always)]
    pub(crate) fn read(&self, off: usize, size: usize) -> Option<u64> {
        self.read_impl(off, size, Contended::Wait)
    }

    /// [`read`](Self::read) that never waits: `None` also when a writer
    /// kept storing over every optimistic attempt.
    #[inline]
    pub(crate) fn try_read(&self, off: usize, size: usize) -> Option<u64> {
        self.read_impl(off, size, Contended::GiveUp)
    }

    /// The typed read; `how` says what a spanning read does about writers.
    #[inline(always)]
    fn read_impl(&self, off: usize, size: usize, how: Contended) -> Option<u64> {
        let (i, sh) = (off / W, off % W);
        if sh + size <= W {
            // Inside one word: one atomic load cannot tear.
            let w = Word::from_le(self.word(i)?.load(Ordering::Relaxed));
            return Some(low_bytes(u128::from(w >> (sh * 8)), size));
        }
        // The shard by its parts: in registers, not through the stack.
        Self::read_words(self.ctl, self.bytes, self.geom, off, size, how)
    }

    /// [`read_impl`](Self::read_impl) of bytes across words (a misaligned
    /// access) of the shard `ctl`, `bytes`, `geom`: out of line, so the
    /// one-word read needs no stack frame.
    #[cold]
    #[inline(never)]
    fn read_words(
        ctl: &'a Ctl,
        bytes: NonNull<u8>,
        geom: G,
        off: usize,
        size: usize,
        how: Contended,
    ) -> Option<u64> {
        let shard = GShard {
            ctl,
            bytes,
            geom,
            _data: PhantomData,
        };
        shard.read_spanning_bytes(off, size, how)
    }

    /// The `size` bytes at `off`, across words.
    #[inline(always)]
    fn read_spanning_bytes(&self, off: usize, size: usize, how: Contended) -> Option<u64> {
        let (i, sh) = (off / W, off % W);
        if off.checked_add(size)? > self.len() {
            return None;
        }
        let n = (sh + size).div_ceil(W);
        let v = match how {
            Contended::Locked => self.gather(i, n)?,
            Contended::Wait | Contended::GiveUp => self.read_spanning(i, n, how)?,
        };
        Some(low_bytes(v >> (sh * 8), size))
    }

    /// The `n` words from word `i`, validated against concurrent writers.
    #[inline]
    fn read_spanning(&self, i: usize, n: usize, how: Contended) -> Option<u128> {
        for _ in 0..OPTIMISTIC_TRIES {
            if let Some(s) = self.seq_begin() {
                let v = self.gather(i, n)?;
                if self.seq_valid(s) {
                    return Some(v);
                }
            }
            core::hint::spin_loop();
        }
        if how == Contended::GiveUp {
            return None;
        }
        // A writer storm: the read lock waits for the writer and keeps others out.
        let _g = self.read_guard();
        self.gather(i, n)
    }

    /// The read lock, if free now.
    #[inline(always)]
    fn try_read_lock(&self) -> Option<GShardRead<'a, G>> {
        Some(GShardRead {
            _guard: self.ctl.lock.try_read()?,
            shard: *self,
        })
    }

    /// The write lock, if free now (may fail spuriously).
    #[inline(always)]
    fn try_write_lock(&self) -> Option<GShardWrite<'a, G>> {
        Some(GShardWrite {
            _guard: self.ctl.lock.try_write_weak()?,
            shard: *self,
        })
    }

    /// Takes the read lock: no writer runs while it is held. Each attempt
    /// runs in a fresh [`Section`], which the guard keeps; waiting happens
    /// outside it.
    #[inline(always)]
    pub(crate) fn read_guard(&self) -> Masked<GShardRead<'a, G>> {
        let mut section = Section::enter();
        loop {
            if let Some(guard) = self.try_read_lock() {
                return Masked {
                    guard,
                    _section: section,
                };
            }
            section = section.pause();
        }
    }

    /// Takes the write lock; gives up (`None`) as soon as `frozen()` says the
    /// memory became read-only, so a writer never spins forever on a frozen
    /// memory's leaked read locks. The shard is marked written when the
    /// guard first stores, so a failed compare-exchange marks nothing.
    /// Like [`read_guard`](Self::read_guard), the guard keeps the
    /// [`Section`] its attempt ran in.
    #[inline(always)]
    pub(crate) fn write_guard(
        &self,
        frozen: impl Fn() -> bool,
    ) -> Option<Masked<GShardWrite<'a, G>>> {
        lock_masked(|| self.try_write_lock(), frozen)
    }

    /// Marks the shard written. ORDERING: `Relaxed` suffices: marks are set
    /// under the write lock and consumed by snapshot/restore under the lock
    /// (whose `Acquire`/`Release` orders them) or as a hint by `take_dirty`.
    /// The load first keeps the cache line shared while it is already marked.
    #[inline(always)]
    fn mark(&self) {
        if self.ctl.marks.load(Ordering::Relaxed) != ALL_MARKS {
            self.ctl.marks.fetch_or(ALL_MARKS, Ordering::Relaxed);
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

    /// Takes the read lock and never releases it: from now on no writer can
    /// ever lock this shard (the basis of frozen memory). `section` is the
    /// caller's innermost one: it is left while the lock is waited for.
    pub(crate) fn leak_read(&self, mut section: Section) -> Section {
        loop {
            if let Some(guard) = self.ctl.lock.try_read() {
                RwLockReadGuard::leak(guard);
                return section;
            }
            section = section.pause();
        }
    }
}

/// The low `size` bytes (1 to 8) of `v`, zero-extended: every typed read,
/// in-shard or straddling, returns exactly its own bytes.
#[inline(always)]
fn low_bytes(v: u128, size: usize) -> u64 {
    (v as u64) & (u64::MAX >> (64 - 8 * size.clamp(1, 8)))
}

/// The value of `size` bytes at `off` of `first` running on into `second`,
/// joined from word loads with no validation.
#[inline]
fn gather_straddling<G: Geometry>(
    first: &GShard<'_, G>,
    off: usize,
    second: &GShard<'_, G>,
    size: usize,
) -> Option<u128> {
    let (i, sh) = (off / W, off % W);
    let tail = size.checked_sub(first.len().checked_sub(off)?)?;
    if W == 8 {
        // A value of at most 8 bytes crossing the shard edge lies in the
        // last word of `first` and the first word of `second`.
        let a = Word::from_le(first.word(i)?.load(Ordering::Relaxed));
        let b = Word::from_le(second.word(0)?.load(Ordering::Relaxed));
        return Some((u128::from(a) | (u128::from(b) << 64)) >> (sh * 8));
    }
    let (na, nb) = ((first.len() / W).checked_sub(i)?, tail.div_ceil(W));
    let v = first.gather(i, na)? | (second.gather(0, nb)? << (na * W * 8));
    Some(v >> (sh * 8))
}

// The straddling helpers below take the access size as data and move
// values as `u64`, not generic over the width: they sit on cold paths, and
// one copy per width (and per guest atomic) would cost firmware flash.

/// Reads `size` bytes at `off` of `first` running on into `second` (the
/// next shard), little-endian, optimistically on both counters, falling back
/// to both read locks (ascending). `None` if the pieces do not add up.
#[inline]
pub(crate) fn read_straddling<G: Geometry>(
    first: &GShard<'_, G>,
    off: usize,
    second: &GShard<'_, G>,
    size: usize,
) -> Option<u64> {
    read_straddling_impl(first, off, second, size, Contended::Wait)
}

/// [`read_straddling`] that never waits: `None` also when writers kept
/// storing over every optimistic attempt.
#[inline]
pub(crate) fn try_read_straddling<G: Geometry>(
    first: &GShard<'_, G>,
    off: usize,
    second: &GShard<'_, G>,
    size: usize,
) -> Option<u64> {
    read_straddling_impl(first, off, second, size, Contended::GiveUp)
}

#[inline]
fn read_straddling_impl<G: Geometry>(
    first: &GShard<'_, G>,
    off: usize,
    second: &GShard<'_, G>,
    size: usize,
    how: Contended,
) -> Option<u64> {
    for _ in 0..OPTIMISTIC_TRIES {
        if let (Some(sa), Some(sb)) = (first.seq_begin(), second.seq_begin()) {
            let v = gather_straddling(first, off, second, size)?;
            if first.seq_valid(sa) && second.seq_valid(sb) {
                return Some(low_bytes(v, size));
            }
        }
        core::hint::spin_loop();
    }
    if how == Contended::GiveUp {
        return None;
    }
    let _both = lock_pair(
        || first.try_read_lock(),
        || second.try_read_lock(),
        || false,
    )?;
    gather_straddling(first, off, second, size).map(|v| low_bytes(v, size))
}

/// Takes the write locks of `first` and the next shard `second` for one
/// straddling write; `None` as soon as `frozen()`. See [`lock_pair`].
#[inline]
pub(crate) fn write_pair<'a, G: Geometry>(
    first: &GShard<'a, G>,
    second: &GShard<'a, G>,
    frozen: impl Fn() -> bool,
) -> Option<Masked<(GShardWrite<'a, G>, GShardWrite<'a, G>)>> {
    lock_pair(
        || first.try_write_lock(),
        || second.try_write_lock(),
        frozen,
    )
}

/// Reads `size` bytes at `off` of `first` running on into `second`, both
/// write-locked by the caller (so no validation is needed).
#[inline]
pub(crate) fn read_straddling_locked<G: Geometry>(
    first: &GShardWrite<'_, G>,
    off: usize,
    second: &GShardWrite<'_, G>,
    size: usize,
) -> Option<u64> {
    gather_straddling(&first.shard, off, &second.shard, size).map(|v| low_bytes(v, size))
}

/// Stores the low `size` bytes of `v` at `off` of `first` running on into
/// `second`, both write-locked by the caller, as one write of each shard.
#[inline]
pub(crate) fn write_straddling<G: Geometry>(
    v: u64,
    size: usize,
    first: &mut GShardWrite<'_, G>,
    off: usize,
    second: &mut GShardWrite<'_, G>,
) -> Option<()> {
    let head = first.shard.len().checked_sub(off)?;
    let tail = size.checked_sub(head)?;
    let v = u128::from(v);
    first.modify(|a| {
        second.modify(|b| {
            a.store_value(off, head, v)?;
            b.store_value(0, tail, v >> (head * 8))
        })
    })
}

/// What a spanning read does about writers.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Contended {
    /// The caller holds the write lock: the words cannot change, no
    /// validation (and no read lock, which would never come).
    Locked,
    /// Validate; after [`OPTIMISTIC_TRIES`] failures wait for the read lock.
    Wait,
    /// Validate; after [`OPTIMISTIC_TRIES`] failures give up (`None`).
    GiveUp,
}

/// A lock guard with the [`Section`] it was taken in, held until the guard
/// is dropped: the `guard` field is declared first, so the lock is released
/// before the section ends.
#[must_use = "the lock is released when this is dropped"]
pub(crate) struct Masked<G> {
    guard: G,
    _section: Section,
}

impl<G> Masked<G> {
    /// The bare guard, its section ended: for a [`Batch`](crate::Batch),
    /// which keeps a guard across its caller's code (so it cannot keep
    /// interrupts masked; see its docs). Ends the innermost section: nothing
    /// was entered since this guard's lock attempt.
    #[inline]
    pub(crate) fn into_unmasked(self) -> G {
        self.guard
    }
}

impl<G> Deref for Masked<G> {
    type Target = G;
    #[inline(always)]
    fn deref(&self) -> &G {
        &self.guard
    }
}

impl<G> DerefMut for Masked<G> {
    #[inline(always)]
    fn deref_mut(&mut self) -> &mut G {
        &mut self.guard
    }
}

/// Takes a lock with `try_lock`, each attempt in a fresh [`Section`] that
/// the result keeps; between attempts it waits outside any section, and
/// gives up (`None`) as soon as `give_up()`. Checked before the first
/// attempt too, so once freezing begins no new write gets in and `freeze`
/// never waits on a stream of writers.
#[inline(always)]
fn lock_masked<G>(
    try_lock: impl Fn() -> Option<G>,
    give_up: impl Fn() -> bool,
) -> Option<Masked<G>> {
    if give_up() {
        return None;
    }
    loop {
        let section = Section::enter();
        if let Some(guard) = try_lock() {
            return Some(Masked {
                guard,
                _section: section,
            });
        }
        drop(section);
        if give_up() {
            return None;
        }
        core::hint::spin_loop();
    }
}

/// Takes two locks (shard `i`, then `i + 1`) as one guard, or `None` as
/// soon as `give_up()`. Without interrupt masking: the first, then the
/// second (ascending, so two pairs never deadlock). With feature
/// `critical-section`: both or neither in one attempt, because waiting for
/// the second inside the first's section could deadlock a multi-core
/// section (another core's batch holding the second needs the section to
/// store).
#[inline]
fn lock_pair<A, B>(
    try_a: impl Fn() -> Option<A>,
    try_b: impl Fn() -> Option<B>,
    give_up: impl Fn() -> bool,
) -> Option<Masked<(A, B)>> {
    #[cfg(not(feature = "critical-section"))]
    {
        let a = lock_masked(&try_a, &give_up)?;
        let b = lock_masked(&try_b, &give_up)?;
        // Sections are empty without the feature: re-pairing them is free.
        Some(Masked {
            guard: (a.into_unmasked(), b.into_unmasked()),
            _section: Section::enter(),
        })
    }
    #[cfg(feature = "critical-section")]
    {
        // On failure the first guard is dropped inside the attempt's section.
        lock_masked(|| Some((try_a()?, try_b()?)), give_up)
    }
}

/// A shard's read guard: no writer runs while it lives, so plain reads of
/// the bytes are sound.
pub(crate) struct GShardRead<'a, G: Geometry> {
    _guard: RwLockReadGuard<'a, ()>,
    shard: GShard<'a, G>,
}

impl<G: Geometry> GShardRead<'_, G> {
    /// The guarded bytes.
    #[inline(always)]
    pub(crate) fn bytes(&self) -> &[u8] {
        // SAFETY: the shard's read lock is held while `self` lives, so no
        // writer stores to its bytes; plain reads do not race the atomic
        // loads of lock-free readers. The bytes live in the memory's storage
        // for the lock's lifetime.
        unsafe { core::slice::from_raw_parts(self.shard.bytes.as_ptr(), self.shard.len()) }
    }

    /// Loads `size` bytes at `off`, little-endian (plain loads: the read
    /// lock keeps writers out); `None` if they do not fit.
    #[inline(always)]
    pub(crate) fn read(&self, off: usize, size: usize) -> Option<u64> {
        self.bytes()
            .get(off..)
            .and_then(|b| crate::scalar::load_sized(b, size))
    }
}

/// A shard's write guard. Optimistic readers may still load the bytes, so
/// it never hands out `&mut`: every store goes through
/// [`modify`](ShardWrite::modify), which brackets it with the sequence
/// counter and stores whole words.
pub(crate) struct GShardWrite<'a, G: Geometry> {
    _guard: RwLockWriteGuard<'a, ()>,
    shard: GShard<'a, G>,
}

impl<'a, G: Geometry> GShardWrite<'a, G> {
    /// Loads `size` bytes at `off` (word loads; this guard is the only writer).
    #[inline(always)]
    pub(crate) fn read(&self, off: usize, size: usize) -> Option<u64> {
        self.shard.read_impl(off, size, Contended::Locked)
    }

    /// Runs `f` as one write: marks the shard, opens a [`SeqSection`]
    /// (counter odd), lets `f` store through a [`WordStore`], and closes the
    /// section (counter even) when `f` returns or unwinds. All inside a
    /// [`Section`] (nested, so free, under a [`Masked`] guard; the one a
    /// batch's bare guard needs), so no interrupt sees the counter odd.
    #[inline(always)]
    pub(crate) fn modify<R>(&mut self, f: impl FnOnce(&WordStore<'a, G>) -> R) -> R {
        let _section = Section::enter();
        let shard = self.shard;
        shard.mark();
        // `&mut self`: the write lock is held, and by this guard only.
        // Dropped before `_section`: the counter is even before it ends.
        let _seq = SeqSection::open(&shard.ctl.seq);
        f(&WordStore(shard))
    }

    /// Stores the low `size` bytes of `v` at `off` as one write; `None`
    /// (nothing stored) if they do not fit.
    #[inline(always)]
    pub(crate) fn write(&mut self, off: usize, size: usize, v: u64) -> Option<()> {
        if off.checked_add(size)? > self.shard.len() {
            return None;
        }
        self.modify(|s| s.store_value(off, size, u128::from(v)))
    }

    /// Copies `src` to `off..off + src.len()` as one write.
    #[inline]
    pub(crate) fn copy_in(&mut self, off: usize, src: &[u8]) -> Option<()> {
        if off.checked_add(src.len())? > self.shard.len() {
            return None;
        }
        self.modify(|s| s.store_bytes(off, Src::Bytes(src)))
    }

    /// Sets `off..off + len` to `byte` as one write.
    #[inline]
    pub(crate) fn fill(&mut self, off: usize, len: usize, byte: u8) -> Option<()> {
        if off.checked_add(len)? > self.shard.len() {
            return None;
        }
        self.modify(|s| s.store_bytes(off, Src::Fill(byte, len)))
    }

    /// Clears the bits of `mask` while the lock is held (after a restore).
    #[inline]
    pub(crate) fn clear_marks(&mut self, mask: u8) {
        self.shard.ctl.marks.fetch_and(!mask, Ordering::Relaxed);
    }
}

/// One writer's section of a shard's sequence counter: the counter is odd
/// while the section lives and even again after it, as crossbeam's
/// `SeqLockWriteGuard`. Closing it in `Drop` means a panic between the
/// stores cannot leave the counter odd (after which every later write would
/// flip it to even while storing, and readers would accept torn values).
/// Only [`ShardWrite::modify`] opens one, with the shard's write lock held,
/// so only one section per shard exists at a time.
pub(crate) struct SeqSection<'s> {
    seq: &'s AtomicUsize,
    end: usize,
}

impl<'s> SeqSection<'s> {
    /// Makes the counter odd. Called only by the write-lock holder, so a
    /// load and a store suffice (no read-modify-write).
    #[inline(always)]
    fn open(seq: &'s AtomicUsize) -> Self {
        let s = seq.load(Ordering::Relaxed);
        seq.store(s.wrapping_add(1), Ordering::Relaxed);
        // ORDERING: pairs with `seq_valid`'s `fence(Acquire)`: a reader that
        // sees any store made in this section also sees the odd counter
        // (or a later value) and retries.
        fence(Ordering::Release);
        SeqSection {
            seq,
            end: s.wrapping_add(2),
        }
    }
}

impl Drop for SeqSection<'_> {
    #[inline(always)]
    fn drop(&mut self) {
        // ORDERING: `Release` publishes the section's stores to readers whose
        // `seq_begin` (`Acquire`) sees the even counter.
        self.seq.store(self.end, Ordering::Release);
    }
}

/// The storing side of one write, only handed out inside
/// [`ShardWrite::modify`] (write lock held, counter odd).
pub(crate) struct WordStore<'a, G: Geometry>(GShard<'a, G>);

impl<G: Geometry> WordStore<'_, G> {
    /// Stores the low `size` bytes of `v` (little-endian significance) at
    /// `off`, merging partial words with their other bytes. `None` if the
    /// range leaves the shard (nothing is stored past its end).
    #[inline(always)]
    pub(crate) fn store_value(&self, off: usize, size: usize, v: u128) -> Option<()> {
        let (i, sh) = (off / W, off % W);
        if sh == 0 && size == W {
            // A whole word: nothing to merge.
            self.0
                .word(i)?
                .store((v as Word).to_le(), Ordering::Relaxed);
            return Some(());
        }
        if sh + size <= W {
            // One word: merge and store.
            let word = self.0.word(i)?;
            let mask = (u128::MAX >> (128 - size * 8)) as Word;
            let old = Word::from_le(word.load(Ordering::Relaxed));
            let new = (old & !(mask << (sh * 8))) | (((v as Word) & mask) << (sh * 8));
            word.store(new.to_le(), Ordering::Relaxed);
            return Some(());
        }
        self.store_bytes(off, Src::Value(v, size))
    }

    /// Stores the bytes of `src` at `off`: merged words at the ends of the
    /// range, whole words in between. `None` if the range leaves the shard.
    #[inline]
    pub(crate) fn store_bytes(&self, off: usize, src: Src<'_>) -> Option<()> {
        let end = off.checked_add(src.len())?;
        if end > self.0.len() {
            return None;
        }
        let mut pos = off;
        // Head: up to the first word boundary.
        if !pos.is_multiple_of(W) {
            let n = (W - pos % W).min(end - pos);
            self.merge(pos, n, src, 0)?;
            pos += n;
        }
        // Body: whole words, in a tight loop per kind of source.
        let whole = (end - pos) / W;
        let words = self.0.words().get(pos / W..pos / W + whole)?;
        let rel = pos - off;
        match src {
            Src::Bytes(b) => {
                for (word, chunk) in words.iter().zip(b.get(rel..)?.chunks_exact(W)) {
                    let chunk: [u8; W] = chunk.try_into().ok()?;
                    word.store(Word::from_ne_bytes(chunk), Ordering::Relaxed);
                }
            }
            Src::Fill(x, _) => {
                let v = Word::from_ne_bytes([x; W]);
                words
                    .iter()
                    .for_each(|word| word.store(v, Ordering::Relaxed));
            }
            Src::Value(..) => {
                for (j, word) in words.iter().enumerate() {
                    word.store(src.word(rel + j * W), Ordering::Relaxed);
                }
            }
        }
        pos += whole * W;
        // Tail: what is left of the last word.
        if pos < end {
            self.merge(pos, end - pos, src, pos - off)?;
        }
        Some(())
    }

    /// Stores `n` bytes of `src` from its byte `rel` at `pos`, inside one
    /// word, keeping the word's other bytes.
    #[inline]
    fn merge(&self, pos: usize, n: usize, src: Src<'_>, rel: usize) -> Option<()> {
        let (i, sh) = (pos / W, pos % W);
        let word = self.0.word(i)?;
        let mut bytes = word.load(Ordering::Relaxed).to_ne_bytes();
        for (j, b) in bytes.get_mut(sh..sh + n)?.iter_mut().enumerate() {
            *b = src.byte(rel + j);
        }
        word.store(Word::from_ne_bytes(bytes), Ordering::Relaxed);
        Some(())
    }
}

/// What a store writes: caller bytes, one repeated byte, or the low bytes
/// of a value (little-endian significance).
#[derive(Clone, Copy)]
pub(crate) enum Src<'s> {
    /// These bytes.
    Bytes(&'s [u8]),
    /// `len` copies of one byte.
    Fill(u8, usize),
    /// The low `size` bytes of a value.
    Value(u128, usize),
}

impl Src<'_> {
    #[inline(always)]
    fn len(&self) -> usize {
        match *self {
            Src::Bytes(b) => b.len(),
            Src::Fill(_, n) | Src::Value(_, n) => n,
        }
    }

    /// Byte `k` of the source.
    #[inline(always)]
    fn byte(&self, k: usize) -> u8 {
        match *self {
            Src::Bytes(b) => b.get(k).copied().unwrap_or(0),
            Src::Fill(x, _) => x,
            Src::Value(v, _) => (v >> (k * 8)) as u8,
        }
    }

    /// Bytes `k..k + W` of the source as a word in memory order.
    #[inline(always)]
    fn word(&self, k: usize) -> Word {
        match *self {
            Src::Bytes(b) => match b.get(k..).and_then(|b| b.first_chunk::<W>()) {
                Some(chunk) => Word::from_ne_bytes(*chunk),
                None => 0,
            },
            Src::Fill(x, _) => Word::from_ne_bytes([x; W]),
            Src::Value(v, _) => ((v >> (k * 8)) as Word).to_le(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two shards with every byte `0xff`.
    fn all_ones() -> Shards<2, 64> {
        let shards = Shards::<2, 64>::new();
        for shard in shards.iter() {
            let mut g = shard.write_guard(|| false).unwrap();
            assert_eq!(g.fill(0, 64, 0xff), Some(()));
        }
        shards
    }

    #[test]
    fn straddling_reads_return_only_their_own_bytes() {
        let shards = all_ones();
        let [a, b] = shards.pair(0).unwrap();
        for size in [2usize, 4, 8] {
            let want = u64::MAX >> (64 - 8 * size);
            for off in 64 - size + 1..64 {
                let v = read_straddling(&a, off, &b, size);
                assert_eq!(v, Some(want), "size {size} at {off}");
                let (ga, gb) = (
                    a.write_guard(|| false).unwrap(),
                    b.write_guard(|| false).unwrap(),
                );
                let v = read_straddling_locked(&ga, off, &gb, size);
                assert_eq!(v, Some(want), "locked, size {size} at {off}");
            }
        }
        // The word in-shard path masks the same way.
        assert_eq!(a.read(5, 2), Some(0xffff));
        assert_eq!(a.read(6, 4), Some(0xffff_ffff));
    }

    #[test]
    fn a_panic_inside_a_write_section_leaves_the_counter_even() {
        let shards = Shards::<1, 64>::new();
        let shard = shards.get(0).unwrap();
        let unwound = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let mut g = shard.write_guard(|| false).unwrap();
            g.modify(|s| {
                let _ = s.store_value(0, 8, 1);
                panic!("a store unwinds half-way");
            })
        }));
        assert!(unwound.is_err());
        assert_eq!(shards.ctl[0].seq.load(Ordering::Relaxed), 2, "closed");
        // Readers validate again, and the next write brackets correctly.
        let s = shard.seq_begin().expect("counter even");
        assert!(shard.seq_valid(s));
        shard.write_guard(|| false).unwrap().write(4, 8, 7).unwrap();
        assert_eq!(shard.read(4, 8), Some(7));
        assert_eq!(shards.ctl[0].seq.load(Ordering::Relaxed), 4);
    }
}

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

impl OwnedRam<'_> {
    /// The bytes of shard `i` and its control block, if the memory has it.
    #[inline]
    fn shard(&self, i: usize) -> Option<(*mut u8, usize, &Ctl)> {
        let size = 1usize << self.shift;
        if i >= self.len >> self.shift {
            return None;
        }
        // Element `i` of the memory's control blocks: `i` is below the
        // shard count (`len >> shift`).
        let ctl = NonNull::new(self.ctl.as_ptr().wrapping_add(i))?;
        // SAFETY: that control block lives for 'a (the memory's array);
        // it is read and stored only through its atomics.
        let ctl = unsafe { ctl.as_ref() };
        // In the storage: `(i + 1) * size <= len`.
        Some((self.data.as_ptr().wrapping_add(i * size), size, ctl))
    }

    /// Copies shard `i` into `dst` (exactly one shard long) and clears
    /// `clear` from its marks: a snapshot's plain copy. `false` (nothing
    /// done) if the memory has no shard `i` or `dst` is not its size.
    pub(crate) fn copy_out(&self, i: usize, dst: &mut [u8], clear: u8) -> bool {
        let Some((bytes, size, ctl)) = self.shard(i).filter(|s| s.1 == dst.len()) else {
            return false;
        };
        // SAFETY: `size` bytes from `bytes` lie inside the storage (see
        // `shard`), which lives for 'a; no other access to them runs during
        // this call (`OwnedRam`'s rules), and `dst` is a distinct buffer
        // the caller borrows mutably, so the regions do not overlap.
        unsafe { core::ptr::copy_nonoverlapping(bytes, dst.as_mut_ptr(), size) };
        // Only this owner touches the marks: no read-modify-write needed.
        let marks = ctl.marks.load(Ordering::Relaxed);
        ctl.marks.store(marks & !clear, Ordering::Relaxed);
        true
    }

    /// Copies `src` (exactly one shard long) into shard `i` and sets its
    /// marks to `marks`: a restore's plain copy. `false` (nothing done) as
    /// for [`copy_out`](Self::copy_out).
    pub(crate) fn copy_in(&self, i: usize, src: &[u8], marks: u8) -> bool {
        let Some((bytes, size, ctl)) = self.shard(i).filter(|s| s.1 == src.len()) else {
            return false;
        };
        // SAFETY: as in `copy_out`; the bytes sit in an `UnsafeCell` (the
        // storage), so writing through a pointer derived from a shared
        // borrow is allowed, and no reference to them exists meanwhile.
        unsafe { core::ptr::copy_nonoverlapping(src.as_ptr(), bytes, size) };
        ctl.marks.store(marks, Ordering::Relaxed);
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

    /// Marks every shard of `off..off + len` (`len >= 1`, inside the
    /// memory) written.
    fn mark(&self, off: usize, len: usize) {
        for i in off >> self.shift..=(off + len - 1) >> self.shift {
            if let Some((_, _, ctl)) = self.shard(i) {
                // Only this owner touches the marks: a load and a store.
                if ctl.marks.load(Ordering::Relaxed) != ALL_MARKS {
                    ctl.marks.store(ALL_MARKS, Ordering::Relaxed);
                }
            }
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

    /// Clears `mark` in every shard's marks.
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
        let window: GShard<'a, Fixed<8>> = GShard {
            ctl,
            // Shard `off >> shift` exists and its size is a multiple of 8,
            // so the window `base..base + 8` lies inside it, 8-aligned.
            bytes: NonNull::new(self.data.as_ptr().wrapping_add(base))?,
            geom: Fixed,
            _data: PhantomData,
        };
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
        Some(SharedPage {
            page: GShard {
                ctl,
                // `i < count` and `o + PAGE <= len`: the page lies inside
                // shard `i`'s bytes, `o` (a multiple of `W`) into them, so
                // it is word-aligned as `GShard::words` needs.
                bytes: NonNull::new(self.data.as_ptr().wrapping_add((i << self.shift) + o))?,
                geom: Fixed,
                _data: PhantomData,
            },
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
        let frozen = || self.state.load(Ordering::Acquire) != crate::memory::LIVE;
        let mut g = self.page.write_guard(frozen)?;
        g.write(o, size, v)
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
    /// The control block of the shard the page lies in (its marks); `None`
    /// for a frozen memory's page, which is never written.
    ctl: Option<NonNull<Ctl>>,
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
            ctl: Some(NonNull::new(self.ctl.as_ptr().wrapping_add(i))?),
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
            ctl: None,
            _owner: PhantomData,
        })
    }
}

impl OwnedPage<'_> {
    /// Loads a `T` at `o` in the page with a plain load; `None` if it
    /// leaves the page.
    #[inline(always)]
    pub(crate) fn load<T: crate::Scalar>(&self, o: usize) -> Option<T> {
        if o > PAGE - T::SIZE {
            return None;
        }
        // SAFETY: `o + T::SIZE <= PAGE`, and the page lies inside the
        // memory's storage (`OwnedRam::page`), which lives for 'a. No other
        // access to the bytes can run during this call (`OwnedRam`'s rules:
        // the memory was borrowed `&'a mut`, every handle on it stays on
        // this thread, and no reference to the bytes outlives a call), so a
        // plain read races nothing. A frozen page (`rom`) is a `&'a [u8]`
        // that no writer can ever change: reads race nothing either.
        // Unaligned: `load_le` reads a `[u8]`.
        let bytes =
            unsafe { core::slice::from_raw_parts(self.data.as_ptr().wrapping_add(o), T::SIZE) };
        T::load_le(bytes)
    }

    /// Stores `v` at `o` in the page with a plain store and marks its shard
    /// written; `None` (nothing stored) if it leaves the page.
    #[inline(always)]
    pub(crate) fn store<T: crate::Scalar>(&self, o: usize, v: T) -> Option<()> {
        if o > PAGE - T::SIZE {
            return None;
        }
        // A frozen page has no control block: it is never written.
        let ctl = self.ctl?;
        // SAFETY: the control block of the page's shard (`OwnedRam::page`),
        // alive for 'a; read and stored only through its atomics.
        let ctl = unsafe { ctl.as_ref() };
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
