//! [`Snapshot`]: a full copy of a memory, and restore that pays only for
//! the shards written since.
//!
//! Taking or restoring a snapshot makes it the memory's *baseline*. Every
//! write marks its shard "changed since the baseline" (a mark kept apart
//! from the user's dirty log, so `take_dirty` cannot break restore), and
//! the write that sets that mark also notes the shard in the memory's
//! *summary* (a bit per shard in words of 16, a top word over those:
//! `shard/track.rs`). Restoring the baseline drains the summary and copies
//! back only the changed shards: O(k) for k written shards, whatever the
//! memory's size (no scan of every shard's marks). Restoring any other
//! snapshot copies every shard. Taking the baseline again (a fuzzer's
//! periodic snapshot) likewise copies only the shards written since;
//! taking any other snapshot copies them all.
//!
//! Line tracking ([`ShardedMemory::set_line_tracking`], off by default):
//! a memory that opts in also records which 64-byte lines of each shard
//! were written since the baseline, and restoring or re-taking the
//! baseline copies only those lines. Memories that do not opt in pay
//! nothing for it on their writes.
//!
//! Serialised: snapshot, restore and `freeze` on one memory take the
//! memory's snapshot lock, so two of them never interleave (two threads
//! snapshotting at once cannot clear each other's "changed" marks, and a
//! restore never meets a freeze half-way). The shared memory and the
//! exclusive view run the same snapshot and restore code ([`take`] and
//! [`put`]); only how one shard is copied differs ([`ShardCopies`]: under
//! the shard's lock, or with a plain `memcpy` through `&mut`).
//!
//! Consistency: each shard is copied under its own lock, so a snapshot
//! taken while other threads write is consistent per shard, not across
//! shards (a write that straddles two shards may be half in it). Take
//! snapshots of a quiescent memory (all vCPUs stopped) for a consistent
//! whole. Restore writes each shard under its write lock and clears only
//! its "changed since the baseline" mark: restored shards stay marked in
//! the user's dirty log, because their bytes changed (a JIT's code cache or
//! a mirror that follows `take_dirty` must see them).
//!
//! Ids: every snapshot taken gets a fresh id from one counter, so a restore
//! can tell "this is the baseline" from "another snapshot". The counter is
//! 64-bit where the target has 64-bit atomics and `usize` (32-bit) where it
//! has not; either way it is checked, never wrapped: should it ever run
//! out, later snapshots are *untracked* (taken, but never a baseline: their
//! restore copies every shard), so a stale id can never be taken for the
//! baseline. On a 32-bit target that happens after 2^32 - 2 snapshots.

use crate::error::{Access, ErrorKind, VmError};
use crate::exclusive::Exclusive;
use crate::memory::{ShardedMemory, LIVE};
use crate::shard::{
    for_each_noted, line_runs, line_size, lines_to_copy, OwnedRam, ShardCopy, Shards, Summary,
    Track, CHANGED, LINES,
};
#[cfg(target_has_atomic = "64")]
use crate::sync::AtomicU64 as IdCounter;
#[cfg(not(target_has_atomic = "64"))]
use crate::sync::AtomicUsize as IdCounter;
use crate::sync::Ordering;

/// Id of a snapshot never taken.
pub(crate) const NEVER: u64 = 0;
/// Id of a snapshot taken after the counter ran out: never a baseline.
pub(crate) const UNTRACKED: u64 = u64::MAX;

/// Source of snapshot ids: the last id handed out.
static LAST_ID: IdCounter = IdCounter::new(0);

/// A fresh id from `counter`: never [`NEVER`], never one handed out
/// before; [`UNTRACKED`] once the counter is exhausted (it then stays put).
// The counter is `u64` here but `usize` on 32-bit targets: the casts stay.
#[allow(clippy::unnecessary_cast)]
fn fresh_id(counter: &IdCounter) -> u64 {
    // ORDERING: `Relaxed`: only uniqueness matters, and the read-modify-
    // write sees the latest value whatever the ordering.
    match counter.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| {
        n.checked_add(1).filter(|&next| next as u64 != UNTRACKED)
    }) {
        // Widening: the counter is `u64` or a `usize` of at most 64 bits.
        Ok(last) => last as u64 + 1,
        Err(_) => UNTRACKED,
    }
}

/// A fresh snapshot id from the one counter every snapshot kind draws from
/// (memories' and machines'): never [`NEVER`], never one handed out before,
/// [`UNTRACKED`] once the counter ran out.
pub(crate) fn next_id() -> u64 {
    fresh_id(&LAST_ID)
}

/// A copy of a `ShardedMemory<SHARDS, SHARD_SIZE>`: a plain array, so it can
/// live in a `static` (in `.bss`) or, with `alloc`, in a `Box`.
///
/// ```
/// use vm_mem::{ShardedMemory, Snapshot};
///
/// let mem = ShardedMemory::<64, 4096>::new_boxed();
/// let mut snap = Snapshot::<64, 4096>::new_boxed();
/// mem.write_u32(0x100, 1)?;
/// mem.snapshot(&mut snap);
/// mem.write_u32(0x100, 2)?; // one shard written...
/// assert_eq!(mem.restore(&snap)?, 1); // ...one shard copied back
/// assert_eq!(mem.read_u32(0x100)?, 1);
/// # Ok::<(), vm_mem::VmError>(())
/// ```
pub struct Snapshot<const SHARDS: usize, const SHARD_SIZE: usize> {
    shards: [[u8; SHARD_SIZE]; SHARDS],
    /// [`NEVER`], a unique id, or [`UNTRACKED`].
    id: u64,
}

impl<const SHARDS: usize, const SHARD_SIZE: usize> Snapshot<SHARDS, SHARD_SIZE> {
    /// An empty (all-zero, never taken) snapshot. `const`, for a `static`.
    pub const fn new() -> Self {
        const { ShardedMemory::<SHARDS, SHARD_SIZE>::SIZE };
        Snapshot {
            shards: [[0; SHARD_SIZE]; SHARDS],
            id: NEVER,
        }
    }

    /// An empty snapshot allocated zeroed on the heap, never on the stack.
    #[cfg(feature = "alloc")]
    #[allow(unsafe_code)] // zeroed allocation, argued below
    pub fn new_boxed() -> alloc::boxed::Box<Self> {
        const { ShardedMemory::<SHARDS, SHARD_SIZE>::SIZE };
        // SAFETY: a `Snapshot` is byte arrays and a `u64`, for which all-zero
        // bits are valid; they are exactly `new()` (zero bytes, id `NEVER`).
        unsafe { crate::boxed::zeroed_box() }
    }

    /// The copy of shard `shard`, or `None` past the end.
    #[inline]
    pub fn shard(&self, shard: usize) -> Option<&[u8; SHARD_SIZE]> {
        self.shards.get(shard)
    }

    /// Whether the snapshot has ever been taken.
    #[inline]
    pub fn is_taken(&self) -> bool {
        self.id != NEVER
    }

    /// The baseline this snapshot makes once taken or restored: its id, or
    /// none if it is untracked or never taken.
    fn as_baseline(&self) -> u64 {
        if self.id == UNTRACKED {
            NEVER
        } else {
            self.id
        }
    }
}

impl<const SHARDS: usize, const SHARD_SIZE: usize> Default for Snapshot<SHARDS, SHARD_SIZE> {
    fn default() -> Self {
        Self::new()
    }
}

/// How snapshot and restore copy one shard: the only part that differs
/// between the shared memory, the exclusive view and an owner map's lent
/// memory. Each also drains the memory's summary of changed shards.
trait ShardCopies<const N: usize>: Summary {
    /// Copies shard `i` between it and `buf` (see [`ShardCopy`]) and
    /// clears its "changed" mark and line word, with no write in between:
    /// all of it if `whole`; else only if it is marked changed, and only its
    /// written lines if it keeps them. Whether it copied.
    fn copy(&mut self, i: usize, buf: ShardCopy<'_>, whole: bool) -> bool;
}

/// The shared memory's copies: each shard under its own lock.
struct Locked<'m, const S: usize, const N: usize>(&'m Shards<S, N>);

impl<const S: usize, const N: usize> Summary for Locked<'_, S, N> {
    fn count(&self) -> usize {
        S
    }

    fn summary(&self) -> Track<'_> {
        self.0.track(0)
    }
}

impl<const S: usize, const N: usize> ShardCopies<N> for Locked<'_, S, N> {
    fn copy(&mut self, i: usize, buf: ShardCopy<'_>, whole: bool) -> bool {
        let Some(shard) = self.0.get(i) else {
            return false;
        };
        let lines = || lines_to_copy(whole, shard.marks(), || shard.take_lines());
        match buf {
            ShardCopy::Out(dst) => {
                let g = shard.read_guard();
                // Under the read lock no writer can mark the shard or
                // record a line between the test, the copy and the clear.
                let Some(lines) = lines() else {
                    return false;
                };
                for run in line_runs(N, lines) {
                    if let (Some(to), Some(from)) = (dst.get_mut(run.clone()), g.bytes().get(run)) {
                        to.copy_from_slice(from);
                    }
                }
                shard.clear_marks(CHANGED);
                true
            }
            ShardCopy::In(src) => {
                // Never gives up: the caller holds the snapshot lock and saw
                // the memory live, so no freeze can begin until it is done.
                let Some(mut g) = shard.write_guard(|| false) else {
                    return false;
                };
                // Cannot fail: the copy is exactly one shard long.
                lines().is_some_and(|lines| g.put_back(src, lines).is_some())
            }
        }
    }
}

/// The exclusive view's copies: plain `memcpy` through `&mut`.
struct Owned<'m, const S: usize, const N: usize>(&'m mut Shards<S, N>);

impl<const S: usize, const N: usize> Summary for Owned<'_, S, N> {
    fn count(&self) -> usize {
        S
    }

    fn summary(&self) -> Track<'_> {
        self.0.track(0)
    }
}

impl<const S: usize, const N: usize> ShardCopies<N> for Owned<'_, S, N> {
    fn copy(&mut self, i: usize, mut buf: ShardCopy<'_>, whole: bool) -> bool {
        let Some((bytes, marks, lines)) = self.0.get_mut(i) else {
            return false;
        };
        let Some(copy) = lines_to_copy(whole, *marks, || *lines) else {
            return false;
        };
        for run in line_runs(N, copy) {
            buf.run(bytes, run);
        }
        *marks = buf.marks_after(*marks);
        *lines = 0;
        true
    }
}

/// An owner map's copies of a memory lent to it: plain `memcpy` through
/// the owner's handle (see [`OwnedRam`]'s rules), no locks.
impl<const N: usize> ShardCopies<N> for OwnedRam<'_> {
    fn copy(&mut self, i: usize, buf: ShardCopy<'_>, whole: bool) -> bool {
        OwnedRam::copy(self, i, buf, whole)
    }
}

/// The one snapshot: copies the shards into `snap` (only what changed
/// since, found through the memory's summary, if `snap` is already the
/// baseline: it holds the rest), gives it a fresh id and makes it the
/// baseline. Returns how many shards it copied (in part or whole). The
/// caller holds the snapshot lock (`baseline` is what it guards) or the
/// memory by `&mut`.
fn take<const S: usize, const N: usize, C: ShardCopies<N>>(
    shards: &mut C,
    baseline: &mut u64,
    snap: &mut Snapshot<S, N>,
) -> usize {
    let incremental = snap.as_baseline() != NEVER && *baseline == snap.id;
    let mut copied = 0;
    if incremental {
        let copies = &mut snap.shards;
        for_each_noted(shards, |c, i| {
            if let Some(copy) = copies.get_mut(i) {
                copied += usize::from(c.copy(i, ShardCopy::Out(copy), false));
            }
        });
    } else {
        // Cleared first: a write after this is noted anew (see `track.rs`).
        shards.summary().clear();
        for (i, copy) in snap.shards.iter_mut().enumerate() {
            copied += usize::from(shards.copy(i, ShardCopy::Out(copy), true));
        }
    }
    snap.id = next_id();
    *baseline = snap.as_baseline();
    copied
}

/// The one restore: refuses a frozen memory before copying anything, copies
/// back what changed (found through the memory's summary; every shard
/// unless `snap` is the baseline), makes `snap` the baseline, returns how
/// many shards it copied (in part or whole). The caller holds the snapshot
/// lock (so `frozen` cannot change) or the memory by `&mut`.
fn put<const S: usize, const N: usize, C: ShardCopies<N>>(
    shards: &mut C,
    baseline: &mut u64,
    frozen: bool,
    snap: &Snapshot<S, N>,
) -> Result<usize, VmError> {
    if frozen {
        return Err(VmError::new(
            ErrorKind::ReadOnly,
            Access::Write,
            0,
            ShardedMemory::<S, N>::SIZE,
        ));
    }
    let incremental = snap.as_baseline() != NEVER && *baseline == snap.id;
    let mut copied = 0;
    if incremental {
        for_each_noted(shards, |c, i| {
            if let Some(copy) = snap.shards.get(i) {
                copied += usize::from(c.copy(i, ShardCopy::In(copy), false));
            }
        });
    } else {
        shards.summary().clear();
        for (i, copy) in snap.shards.iter().enumerate() {
            copied += usize::from(shards.copy(i, ShardCopy::In(copy), true));
        }
    }
    *baseline = snap.as_baseline();
    Ok(copied)
}

impl<const SHARDS: usize, const SHARD_SIZE: usize> ShardedMemory<SHARDS, SHARD_SIZE> {
    /// Copies the memory into `snap`, shard by shard under each shard's
    /// read lock, and makes `snap` the baseline for
    /// [`restore`](Self::restore). If `snap` is already the baseline (taken or restored last), only the
    /// shards written since are copied: re-taking a snapshot costs what
    /// changed, not the memory's size. Waits for a snapshot, restore or
    /// freeze of this memory in progress on another thread (they are
    /// serialised).
    ///
    /// ```
    /// let mem = vm_mem::ShardedMemory::<256, 4096>::new_boxed(); // 1 MiB
    /// let mut snap = vm_mem::Snapshot::<256, 4096>::new_boxed();
    /// mem.snapshot(&mut snap); // the first: every shard
    /// mem.write_u32(0x1_0000, 7)?;
    /// mem.snapshot(&mut snap); // again: the one shard written
    /// mem.write_u32(0x1_0000, 8)?;
    /// mem.restore(&snap)?;
    /// assert_eq!(mem.read_u32(0x1_0000)?, 7);
    /// # Ok::<(), vm_mem::VmError>(())
    /// ```
    ///
    /// Waits for ever on a shard that a [`Batch`](crate::Batch) of the same
    /// thread holds write-locked. With feature `critical-section` each
    /// shard's copy runs in a critical section (the snapshot lock is held
    /// outside any: see [`restore`](Self::restore) for what a handler must
    /// not do).
    pub fn snapshot(&self, snap: &mut Snapshot<SHARDS, SHARD_SIZE>) {
        let mut baseline = self.baseline.write();
        take(&mut Locked(&self.shards), &mut baseline, snap);
    }

    /// Copies `snap` back and makes it the baseline. If `snap` is already
    /// the baseline, copies only the shards written since; otherwise every
    /// shard. Returns how many shards were copied. The copied shards stay
    /// marked in the dirty log (their bytes changed).
    ///
    /// Fails with `ReadOnly` on a frozen memory, before copying anything:
    /// restore and [`freeze`](Self::freeze) are serialised, so a freeze
    /// that starts during a restore waits for it to finish. Waits for a
    /// snapshot, restore or freeze in progress on another thread.
    ///
    /// Restore takes each copied shard's write lock: called on a thread that
    /// holds a [`Batch`](crate::Batch) with a lock on one of them, it waits
    /// for ever (release the batch first). With feature `critical-section`
    /// each shard's copy runs in a critical section, so an interrupt handler
    /// may use the memory meanwhile (it sees each shard old or restored);
    /// the snapshot lock is held outside any section, so a handler must not
    /// call `snapshot`, `restore` or `freeze` on a memory whose snapshot,
    /// restore or freeze it may have interrupted (it would wait for ever).
    ///
    /// ```
    /// let mem = vm_mem::ShardedMemory::<4, 64>::new();
    /// let mut snap = vm_mem::Snapshot::<4, 64>::new();
    /// mem.snapshot(&mut snap);
    /// mem.write_u8(70, 1)?;
    /// mem.clear_dirty();
    /// assert_eq!(mem.restore(&snap)?, 1);
    /// assert!(mem.dirty_shards().eq([1])); // restored bytes are news too
    /// mem.freeze();
    /// assert!(mem.restore(&snap).is_err());
    /// # Ok::<(), vm_mem::VmError>(())
    /// ```
    pub fn restore(&self, snap: &Snapshot<SHARDS, SHARD_SIZE>) -> Result<usize, VmError> {
        let mut baseline = self.baseline.write();
        // With the lock held no freeze can begin: this check is final.
        let frozen = self.is_read_only();
        put(&mut Locked(&self.shards), &mut baseline, frozen, snap)
    }
}

impl<const SHARDS: usize, const SHARD_SIZE: usize> ShardedMemory<SHARDS, SHARD_SIZE> {
    /// The bytes one line stands for when the memory tracks lines
    /// ([`set_line_tracking`](Self::set_line_tracking)): 64, or
    /// `SHARD_SIZE / usize::BITS` for shards of more than `usize::BITS`
    /// lines of 64 bytes (more than 4 KiB on 64-bit hosts, 2 KiB on 32-bit
    /// targets).
    pub const LINE_SIZE: usize = line_size(SHARD_SIZE);

    /// Turns line tracking on or off. With it on, every write also records
    /// which lines ([`LINE_SIZE`](Self::LINE_SIZE) bytes, 64 for shards up
    /// to 4 KiB) of its shard it wrote since the baseline snapshot, and
    /// restoring or re-taking the baseline copies only those lines instead
    /// of whole shards: a fuzzing run that writes 4 bytes into each of 64
    /// pages restores 4 KiB, not 256 KiB. Off (the default), writes cost
    /// what they always did; on, each write takes the marking slow path
    /// (an atomic OR on the shard's line word, under the lock it already
    /// holds; owner-map and cursor page hits go through the map's slow
    /// path). Only the copies change: the dirty log stays per shard, and
    /// every path that writes the memory (typed writes, guest atomics,
    /// bulk writes and `fill`, the exclusive view and its slices, maps,
    /// cursors and owner maps) records its lines.
    ///
    /// Shards already changed since the baseline when it is turned on are
    /// restored whole (their earlier writes have no lines). Waits for a
    /// snapshot, restore or freeze in progress, and takes each shard's
    /// write lock in turn (so, like [`restore`](Self::restore), it waits
    /// for ever on a shard a [`Batch`](crate::Batch) of the same thread
    /// holds). On a frozen memory it only records the setting.
    ///
    /// ```
    /// let mem = vm_mem::ShardedMemory::<16, 4096>::new_boxed();
    /// let mut snap = vm_mem::Snapshot::<16, 4096>::new_boxed();
    /// mem.set_line_tracking(true);
    /// assert!(mem.is_line_tracking());
    /// mem.fill(0, 4096, 0xaa)?;
    /// mem.snapshot(&mut snap);
    /// mem.write_u32(0x100, 1)?; // line 4 of shard 0
    /// mem.write_u32(0x1f00, 2)?; // line 60 of shard 1
    /// assert_eq!(mem.restore(&snap)?, 2); // two shards, one line each
    /// assert_eq!(mem.read_u32(0x100)?, 0xaaaa_aaaa);
    /// assert_eq!(mem.read_u32(0x1f00)?, 0);
    /// # Ok::<(), vm_mem::VmError>(())
    /// ```
    pub fn set_line_tracking(&self, on: bool) {
        // Serialised with snapshot, restore and freeze.
        let _baseline = self.baseline.write();
        for shard in self.shards.iter() {
            // The write lock keeps writers out: a write either recorded its
            // lines, or came before and left the shard marked changed
            // (then the whole shard is restored).
            let g = shard.write_guard(|| self.is_read_only());
            if on {
                shard.set_marks(LINES);
                if shard.marks() & CHANGED != 0 {
                    shard.set_lines(usize::MAX);
                }
            } else {
                shard.take_mark(LINES);
                shard.set_lines(0);
            }
            drop(g);
        }
    }

    /// Whether the memory tracks lines
    /// ([`set_line_tracking`](Self::set_line_tracking)).
    pub fn is_line_tracking(&self) -> bool {
        self.shards.get(0).is_some_and(|s| s.marks() & LINES != 0)
    }
}

impl<const SHARDS: usize, const SHARD_SIZE: usize> ShardedMemory<SHARDS, SHARD_SIZE> {
    /// [`snapshot`](Self::snapshot) with plain copies through `lent`, the
    /// owner map's handle on this memory (the caller passes the handle
    /// `split_owned` made from this very memory).
    pub(crate) fn snapshot_lent(
        &self,
        mut lent: OwnedRam<'_>,
        snap: &mut Snapshot<SHARDS, SHARD_SIZE>,
    ) {
        let mut baseline = self.baseline.write();
        take(&mut lent, &mut baseline, snap);
    }

    /// [`restore`](Self::restore) with plain copies through `lent`, as
    /// [`snapshot_lent`](Self::snapshot_lent).
    pub(crate) fn restore_lent(
        &self,
        mut lent: OwnedRam<'_>,
        snap: &Snapshot<SHARDS, SHARD_SIZE>,
    ) -> Result<usize, VmError> {
        let mut baseline = self.baseline.write();
        let frozen = self.is_read_only();
        put(&mut lent, &mut baseline, frozen, snap)
    }
}

impl<const SHARDS: usize, const SHARD_SIZE: usize> Exclusive<'_, SHARDS, SHARD_SIZE> {
    /// [`ShardedMemory::snapshot`] with plain copies (the same code, no locks).
    pub fn snapshot(&mut self, snap: &mut Snapshot<SHARDS, SHARD_SIZE>) {
        let mem = self.memory_mut();
        take(&mut Owned(&mut mem.shards), mem.baseline.get_mut(), snap);
    }

    /// [`ShardedMemory::restore`] with plain copies (the same code and
    /// contract, no locks).
    pub fn restore(&mut self, snap: &Snapshot<SHARDS, SHARD_SIZE>) -> Result<usize, VmError> {
        let mem = self.memory_mut();
        let frozen = *mem.state.get_mut() != LIVE;
        put(
            &mut Owned(&mut mem.shards),
            mem.baseline.get_mut(),
            frozen,
            snap,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[allow(clippy::unnecessary_cast)] // `usize` on 32-bit targets
    fn ids_never_wrap_into_never_or_a_reused_id() {
        let counter = IdCounter::new(0);
        assert_eq!(fresh_id(&counter), 1);
        assert_eq!(fresh_id(&counter), 2);
        // Two ids before the end of the counter's range.
        #[cfg(target_has_atomic = "64")]
        let top = u64::MAX - 2;
        #[cfg(not(target_has_atomic = "64"))]
        let top = usize::MAX - 2;
        counter.store(top, Ordering::Relaxed);
        let last = fresh_id(&counter);
        assert_eq!(last, top as u64 + 1);
        // Exhausted: untracked from now on, never 0 and never an old id.
        for _ in 0..3 {
            let id = fresh_id(&counter);
            assert_ne!(id, NEVER);
            assert!(id == UNTRACKED || id > last, "id {id} after {last}");
        }
        assert_eq!(fresh_id(&counter), UNTRACKED);
    }

    #[test]
    fn line_tracking_copies_only_the_written_lines() {
        let mut mem = ShardedMemory::<2, 4096>::new();
        let mut snap = Snapshot::<2, 4096>::new();
        mem.set_line_tracking(true);
        mem.snapshot(&mut snap);
        mem.write_u32(64 * 3 + 62, u32::MAX).unwrap(); // lines 3 and 4
        mem.exclusive().write_u8(64 * 40, 1).unwrap(); // line 40
                                                       // Bytes changed behind the marks' back (only a unit test can):
                                                       // line 10 of shard 0, and shard 1, which nothing wrote.
        mem.shards.flat_mut()[64 * 10] = 7;
        mem.shards.flat_mut()[4096 + 5] = 7;
        assert_eq!(mem.restore(&snap).unwrap(), 1);
        assert_eq!(mem.read_u32(64 * 3 + 62).unwrap(), 0);
        assert_eq!(mem.read_u8(64 * 40).unwrap(), 0);
        assert_eq!(mem.read_u8(64 * 10).unwrap(), 7, "line 10 was not copied");
        assert_eq!(mem.read_u8(4096 + 5).unwrap(), 7, "shard 1 was not copied");
        // Re-taking the baseline copies the written lines only, too.
        mem.write_u8(64 * 20, 5).unwrap();
        mem.shards.flat_mut()[64 * 21] = 9;
        mem.snapshot(&mut snap);
        assert_eq!(snap.shard(0).unwrap()[64 * 20], 5);
        assert_eq!(snap.shard(0).unwrap()[64 * 21], 0, "line 21 was not copied");
        assert_eq!(snap.shard(0).unwrap()[64 * 10], 0, "line 10 was not copied");
        // Without line tracking the whole shard comes back.
        mem.set_line_tracking(false);
        mem.write_u8(0, 1).unwrap();
        assert_eq!(mem.restore(&snap).unwrap(), 1);
        assert_eq!(mem.read_u8(64 * 10).unwrap(), 0);
        assert_eq!(mem.read_u8(64 * 21).unwrap(), 0);
    }

    #[test]
    fn an_untracked_snapshot_is_never_a_baseline() {
        let mem = ShardedMemory::<4, 64>::new();
        let mut a = Snapshot::<4, 64>::new();
        let mut b = Snapshot::<4, 64>::new();
        mem.write_u8(0, 1).unwrap();
        mem.snapshot(&mut a);
        mem.write_u8(0, 2).unwrap();
        mem.snapshot(&mut b);
        // As if the counter had run out for both.
        a.id = UNTRACKED;
        b.id = UNTRACKED;
        assert!(a.is_taken() && b.is_taken());
        mem.write_u8(64, 3).unwrap();
        // `b` is not the baseline although it was taken last: full copy.
        assert_eq!(mem.restore(&b).unwrap(), 4);
        assert_eq!(mem.restore(&a).unwrap(), 4, "never incremental");
        assert_eq!(mem.read_u8(0).unwrap(), 1);
    }
}
