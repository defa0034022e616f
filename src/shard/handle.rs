//! One shard as a handle ([`GShard`]: its control block, its bytes and its
//! size), the lock-free reads over its atomic word view, and its lock
//! guards ([`GShardRead`], [`GShardWrite`]). Every handle is made by one
//! `unsafe fn`, [`GShard::new`], whose contract is the in-bounds invariant
//! the word view relies on.
#![allow(unsafe_code)]
// `Word` is `u64` here but `u32` on other targets: its casts must stay.
#![allow(clippy::unnecessary_cast)]

use super::storage::{AtomicWord, Ctl, Shards, Word, ALL_MARKS, W};
use super::store::{Src, WordStore};
use crate::section::{lock_in, lock_masked, Masked, Section};
use crate::seqlock::SeqLock;
use crate::sync::Ordering;
use core::cell::UnsafeCell;
use core::marker::PhantomData;
use core::ptr::NonNull;
use spin::{RwLockReadGuard, RwLockWriteGuard};

/// Optimistic attempts before a spanning read falls back to the read lock.
pub(super) const OPTIMISTIC_TRIES: usize = 4;

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
    /// atomic words, and the guards read them plainly under `ctl`'s lock.
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
        // SAFETY: the parts of a handle (`read_impl`'s `self`), which was
        // made under `GShard::new`'s contract.
        let shard = unsafe { GShard::new(ctl, bytes, geom) };
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
            if let Some(s) = self.seq().begin() {
                let v = self.gather(i, n)?;
                if self.seq().validate(s) {
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
    pub(super) fn try_read_lock(&self) -> Option<GShardRead<'a, G>> {
        Some(GShardRead {
            _guard: self.ctl.lock.try_read()?,
            shard: *self,
        })
    }

    /// The write lock, if free now (may fail spuriously).
    #[inline(always)]
    pub(super) fn try_write_lock(&self) -> Option<GShardWrite<'a, G>> {
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
        lock_in(Section::enter(), || self.try_read_lock())
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
    pub(crate) fn leak_read(&self, section: Section) -> Section {
        let (guard, section) = lock_in(section, || self.ctl.lock.try_read()).into_parts();
        RwLockReadGuard::leak(guard);
        section
    }
}

/// The low `size` bytes (1 to 8) of `v`, zero-extended: every typed read,
/// in-shard or straddling, returns exactly its own bytes.
#[inline(always)]
pub(super) fn low_bytes(v: u128, size: usize) -> u64 {
    (v as u64) & (u64::MAX >> (64 - 8 * size.clamp(1, 8)))
}

/// What a spanning read does about writers.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Contended {
    /// The caller holds the write lock: the words cannot change, no
    /// validation (and no read lock, which would never come).
    Locked,
    /// Validate; after [`OPTIMISTIC_TRIES`] failures wait for the read lock.
    Wait,
    /// Validate; after [`OPTIMISTIC_TRIES`] failures give up (`None`).
    GiveUp,
}

impl<const S: usize, const N: usize> Shards<S, N> {
    /// Shard `i`, or `None` past the end.
    #[inline(always)]
    pub(crate) fn get(&self, i: usize) -> Option<Shard<'_, N>> {
        let ctl = self.ctl.get(i)?;
        let bytes = NonNull::new(self.data.0.get().cast::<[u8; N]>().wrapping_add(i))?;
        // SAFETY: `i < S` (control block `i` exists): shard `i`'s `N` bytes
        // lie inside the storage, `i * N` bytes (a multiple of 8) into it,
        // and `ctl` is their control block; both are borrowed from `self`.
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
    pub(super) shard: GShard<'a, G>,
}

impl<'a, G: Geometry> GShardWrite<'a, G> {
    /// Loads `size` bytes at `off` (word loads; this guard is the only writer).
    #[inline(always)]
    pub(crate) fn read(&self, off: usize, size: usize) -> Option<u64> {
        self.shard.read_impl(off, size, Contended::Locked)
    }

    /// Runs `f` as one write: marks the shard, opens a write section of
    /// its counter ([`SeqLock::write`]: counter odd), lets `f` store
    /// through a [`WordStore`], and closes the section (counter even) when
    /// `f` returns or unwinds. All inside a [`Section`] (nested, so free,
    /// under a [`Masked`] guard; the one a batch's bare guard needs), so no
    /// interrupt sees the counter odd.
    #[inline(always)]
    pub(crate) fn modify<R>(&mut self, f: impl FnOnce(&WordStore<'a>) -> R) -> R {
        let _section = Section::enter();
        let shard = self.shard;
        shard.mark();
        // `&mut self`: the write lock is held, and by this guard only, so
        // this is the counter's one writer. Dropped before `_section`: the
        // counter is even before the section ends.
        let _seq = shard.seq().write();
        f(&WordStore::new(shard.words()))
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

#[cfg(test)]
mod tests {
    use super::*;

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
        assert_eq!(shard.seq().stamp(), 2, "closed");
        // Readers validate again, and the next write brackets correctly.
        let s = shard.seq().begin().expect("counter even");
        assert!(shard.seq().validate(s));
        shard.write_guard(|| false).unwrap().write(4, 8, 7).unwrap();
        assert_eq!(shard.read(4, 8), Some(7));
        assert_eq!(shard.seq().stamp(), 4);
    }
}
