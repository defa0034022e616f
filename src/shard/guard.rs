//! What takes a shard's lock: the typed reads (lock-free, falling back to
//! the read lock when writers keep a spanning read from validating), the
//! lock attempts, and the read and write guards ([`GShardRead`],
//! [`GShardWrite`]) with the one way a write stores: a write section of
//! the shard's counter around whole-word stores.
#![allow(unsafe_code)]
// `Word` is `u64` here but `u32` on other targets: its casts must stay.
#![allow(clippy::unnecessary_cast)]

use super::handle::{load_in_word, low_bytes, Fixed, GShard, Geometry};
use super::storage::{in_one_word, Ctl, W};
use super::storage::{CHANGED, DIRTY};
use super::store::{Src, WordStore};
use super::track::{line_runs, Track};
use crate::section::{lock_in, lock_masked, Masked, Section};
use core::ptr::NonNull;
use spin::{RwLockReadGuard, RwLockWriteGuard};

/// Optimistic attempts before a spanning read falls back to the read lock.
pub(super) const OPTIMISTIC_TRIES: usize = 4;

/// A read guard on a shard of `N` bytes.
pub(crate) type ShardRead<'a, const N: usize> = GShardRead<'a, Fixed<N>>;
/// A write guard on a shard of `N` bytes.
pub(crate) type ShardWrite<'a, const N: usize> = GShardWrite<'a, Fixed<N>>;

impl<'a, G: Geometry> GShard<'a, G> {
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

    /// The read of `size` bytes at `off` inside one word: one atomic load,
    /// which cannot tear; `None` if they span words or do not fit. What the
    /// memory's typed read inlines: everything else is its one cold exit.
    #[inline(always)]
    pub(crate) fn read_one_word(&self, off: usize, size: usize) -> Option<u64> {
        if !in_one_word(off, size) {
            return None;
        }
        Some(load_in_word(self.word(off / W)?, off % W, size))
    }

    /// The typed read; `how` says what a spanning read does about writers.
    #[inline(always)]
    fn read_impl(&self, off: usize, size: usize, how: Contended) -> Option<u64> {
        if in_one_word(off, size) {
            return self.read_one_word(off, size);
        }
        // The shard by its parts: in registers, not through the stack.
        let (ctl, bytes, geom) = self.parts();
        Self::read_words(ctl, bytes, geom, off, size, how)
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
            _guard: self.ctl().lock.try_read()?,
            shard: *self,
        })
    }

    /// The write lock, if free now (may fail spuriously).
    #[inline(always)]
    pub(super) fn try_write_lock(&self) -> Option<GShardWrite<'a, G>> {
        Some(GShardWrite {
            _guard: self.ctl().lock.try_write_weak()?,
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

    /// Takes the read lock and never releases it: from now on no writer can
    /// ever lock this shard (the basis of frozen memory). `section` is the
    /// caller's innermost one: it is left while the lock is waited for.
    pub(crate) fn leak_read(&self, section: Section) -> Section {
        let lock = &self.ctl().lock;
        let (guard, section) = lock_in(section, || lock.try_read()).into_parts();
        RwLockReadGuard::leak(guard);
        section
    }
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
        // SAFETY: the shard's read lock is held while `self` lives, and it
        // is the lock of these bytes (`GShard::new`'s contract), so no
        // writer stores to them; plain reads do not race the atomic loads
        // of lock-free readers. The bytes lie in the memory's storage,
        // borrowed for the lock's lifetime (the contract again).
        unsafe { core::slice::from_raw_parts(self.shard.parts().1.as_ptr(), self.shard.len()) }
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
///
/// A typed [`write`](Self::write) refuses (stores nothing, `None`) a
/// shard whose marks are not all set: the hot path is a load and a
/// compare. Its caller then writes with
/// [`write_tracked`](Self::write_tracked), giving where the shard sits in
/// its memory's summary ([`Track`]), which marks whatever is missing (the
/// first write to a shard since the baseline, and every write to a memory
/// that keeps lines). A page of a map's cache has no [`Track`]: there the
/// map's slow path, which has one, writes.
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

    /// Runs `f` as one write of bytes `off..off + len`: if a mark or a
    /// line is missing, marks the shard with `mark(ctl, off, len)` (given
    /// its control block: the slow path), opens a write section of its
    /// counter ([`SeqLock::write`](crate::seqlock::SeqLock::write): counter
    /// odd), lets `f` store through a [`WordStore`], and closes the section
    /// (counter even) when `f` returns or unwinds. All inside a
    /// [`Section`] (nested, so free, under a [`Masked`] guard; the one a
    /// batch's bare guard needs), so no interrupt sees the counter odd.
    /// `None` (nothing stored, `f` not run) if something is missing and
    /// there is no `mark` (see the type's docs).
    #[inline(always)]
    pub(crate) fn modify<R>(
        &mut self,
        mark: Option<impl FnOnce(&'a Ctl, usize, usize)>,
        off: usize,
        len: usize,
        f: impl FnOnce(&WordStore<'a, G>) -> R,
    ) -> Option<R> {
        let _section = Section::enter();
        let shard = self.shard;
        if !shard.is_all_marked() {
            mark?(shard.ctl(), off, len);
        }
        // `&mut self`: the write lock is held, and by this guard only, so
        // this is the counter's one writer. Dropped before `_section`: the
        // counter is even before the section ends.
        let _seq = shard.seq().write();
        Some(f(&WordStore::new(shard)))
    }

    /// Stores the low `size` bytes of `v` at `off` as one write; `None`
    /// (nothing stored) if they do not fit, or if the shard's marks are
    /// not all set (then [`write_with`](Self::write_with) writes).
    #[inline(always)]
    pub(crate) fn write(&mut self, off: usize, size: usize, v: u64) -> Option<()> {
        self.modify(None::<fn(&Ctl, usize, usize)>, off, size, |s| {
            s.store_value(off, size, u128::from(v))
        })?
    }

    /// Whether the shard's marks are all set and it keeps no lines: a
    /// write needs to mark nothing (the lock held keeps it so, but for the
    /// user's dirty mark, which `take_dirty` may clear at any time).
    #[inline(always)]
    pub(crate) fn is_all_marked(&self) -> bool {
        self.shard.is_all_marked()
    }

    /// [`write`](Self::write) with no test of the marks: the caller saw
    /// [`is_all_marked`](Self::is_all_marked) under this guard.
    #[inline(always)]
    pub(crate) fn write_marked(&mut self, off: usize, size: usize, v: u64) -> Option<()> {
        if off.checked_add(size)? > self.shard.len() {
            return None;
        }
        let _section = Section::enter();
        let shard = self.shard;
        // As in `modify`.
        let _seq = shard.seq().write();
        WordStore::new(shard).store_value(off, size, u128::from(v))
    }

    /// [`write`](Self::write) that marks what is missing with
    /// `mark(ctl, off, len)` (a memory's own shard: `Shards::mark_cold`,
    /// which finds where the shard sits in the summary). `None` if the value
    /// does not fit, or `mark` refused.
    #[inline(always)]
    pub(crate) fn write_with(
        &mut self,
        off: usize,
        size: usize,
        v: u64,
        mark: impl FnOnce(&'a Ctl, usize, usize),
    ) -> Option<()> {
        if off.checked_add(size)? > self.shard.len() {
            return None;
        }
        self.modify(Some(mark), off, size, |s| {
            s.store_value(off, size, u128::from(v))
        })?
    }

    /// Copies `src` to `off..off + src.len()` as one write of the memory's
    /// shard `track.i`.
    #[inline]
    pub(crate) fn copy_in(&mut self, track: Track<'a>, off: usize, src: &[u8]) -> Option<()> {
        if off.checked_add(src.len())? > self.shard.len() {
            return None;
        }
        let n = self.shard.len();
        let mark = |_: &Ctl, o, l| track.mark(n, o, l);
        self.modify(Some(mark), off, src.len(), |s| {
            s.store_bytes(off, Src::Bytes(src))
        })?
    }

    /// Sets `off..off + len` of the memory's shard `track.i` to `byte` as
    /// one write.
    #[inline]
    pub(crate) fn fill(
        &mut self,
        track: Track<'a>,
        off: usize,
        len: usize,
        byte: u8,
    ) -> Option<()> {
        if off.checked_add(len)? > self.shard.len() {
            return None;
        }
        let n = self.shard.len();
        let mark = |_: &Ctl, o, l| track.mark(n, o, l);
        self.modify(Some(mark), off, len, |s| {
            s.store_bytes(off, Src::Fill(byte, len))
        })?
    }

    /// A restore's write: copies back the bytes of `lines` (`usize::MAX`:
    /// every byte) from `src`, the snapshot's copy of the whole shard, as
    /// one write; then marks the shard dirty in the user's log (its bytes
    /// changed), clears its "changed since the baseline" mark and its line
    /// word. Neither marks nor notes it changed: restore makes it equal to
    /// the baseline. `None` (nothing done) if `src` is not one shard long.
    pub(crate) fn put_back(&mut self, src: &[u8], lines: usize) -> Option<()> {
        let n = self.shard.len();
        if src.len() != n {
            return None;
        }
        let _section = Section::enter();
        let shard = self.shard;
        {
            let _seq = shard.seq().write();
            let store = WordStore::new(shard);
            for run in line_runs(n, lines) {
                let part = src.get(run.clone())?;
                store.store_bytes(run.start, Src::Bytes(part))?;
            }
        }
        shard.set_marks(DIRTY);
        shard.clear_marks(CHANGED);
        shard.set_lines(0);
        Some(())
    }
}

#[cfg(test)]
mod tests {
    use crate::shard::storage::Shards;

    #[test]
    fn a_panic_inside_a_write_section_leaves_the_counter_even() {
        let shards = Shards::<1, 64>::new();
        let shard = shards.get(0).unwrap();
        let unwound = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let mut g = shard.write_guard(|| false).unwrap();
            g.modify(
                Some(|_: &crate::shard::storage::Ctl, o, l| shards.track(0).mark(64, o, l)),
                0,
                8,
                |s| {
                    let _ = s.store_value(0, 8, 1);
                    panic!("a store unwinds half-way");
                },
            )
        }));
        assert!(unwound.is_err());
        assert_eq!(shard.seq().stamp(), 2, "closed");
        // Readers validate again, and the next write brackets correctly.
        let s = shard.seq().begin().expect("counter even");
        assert!(shard.seq().validate(s));
        let mut g = shard.write_guard(|| false).unwrap();
        g.write(4, 8, 7).unwrap();
        assert_eq!(shard.read(4, 8), Some(7));
        assert_eq!(shard.seq().stamp(), 4);
    }
}
