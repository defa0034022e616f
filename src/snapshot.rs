//! [`Snapshot`]: a full copy of a memory, and restore that pays only for
//! the shards written since.
//!
//! Taking or restoring a snapshot makes it the memory's *baseline*. Every
//! write marks its shard "changed since the baseline" (a mark kept apart
//! from the user's dirty log, so `take_dirty` cannot break restore).
//! Restoring the baseline copies back only the changed shards: O(k) for k
//! written shards. Restoring any other snapshot copies every shard.
//!
//! Consistency: each shard is copied under its own lock, so a snapshot
//! taken while other threads write is consistent per shard, not across
//! shards (a write that straddles two shards may be half in it). Take
//! snapshots of a quiescent memory (all vCPUs stopped) for a consistent
//! whole. Restore writes each shard under its write lock; it clears the
//! restored shards' dirty marks (both the baseline mark and the user's log:
//! after restore they equal the snapshot).

use crate::error::{Access, ErrorKind, VmError};
use crate::exclusive::Exclusive;
use crate::memory::ShardedMemory;
use crate::shard::{CHANGED, DIRTY};
use crate::sync::{AtomicUsize, Ordering};

/// Source of snapshot ids; 0 means "never taken".
static NEXT_ID: AtomicUsize = AtomicUsize::new(1);

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
    id: usize,
}

impl<const SHARDS: usize, const SHARD_SIZE: usize> Snapshot<SHARDS, SHARD_SIZE> {
    /// An empty (all-zero, never taken) snapshot. `const`, for a `static`.
    pub const fn new() -> Self {
        const { ShardedMemory::<SHARDS, SHARD_SIZE>::SIZE };
        Snapshot {
            shards: [[0; SHARD_SIZE]; SHARDS],
            id: 0,
        }
    }

    /// An empty snapshot allocated zeroed on the heap, never on the stack.
    #[cfg(feature = "alloc")]
    #[allow(unsafe_code)] // zeroed allocation, argued below
    pub fn new_boxed() -> alloc::boxed::Box<Self> {
        const { ShardedMemory::<SHARDS, SHARD_SIZE>::SIZE };
        // SAFETY: a `Snapshot` is byte arrays and a `usize`; all-zero bits are
        // a valid value (the same as `new()`).
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
        self.id != 0
    }

    /// Gives the snapshot a fresh id: a new baseline.
    fn renew(&mut self) -> usize {
        // ORDERING: `Relaxed`: only uniqueness matters, not ordering.
        self.id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
        self.id
    }
}

impl<const SHARDS: usize, const SHARD_SIZE: usize> Default for Snapshot<SHARDS, SHARD_SIZE> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const SHARDS: usize, const SHARD_SIZE: usize> ShardedMemory<SHARDS, SHARD_SIZE> {
    /// Copies the whole memory into `snap`, shard by shard under each
    /// shard's read lock, and makes `snap` the baseline for [`restore`](Self::restore).
    ///
    /// Waits for ever on a shard that a [`Batch`](crate::Batch) of the same
    /// thread holds write-locked. With feature `critical-section` each
    /// shard's copy runs in a critical section.
    pub fn snapshot(&self, snap: &mut Snapshot<SHARDS, SHARD_SIZE>) {
        for (shard, copy) in self.shards.iter().zip(snap.shards.iter_mut()) {
            let g = shard.read_guard();
            copy.copy_from_slice(g.bytes());
            // Under the read lock no writer can mark the shard between the
            // copy and the clear.
            shard.take_mark(CHANGED);
        }
        let id = snap.renew();
        // ORDERING: `Release`/`Acquire` with restore's load, though callers
        // are expected not to race snapshot and restore.
        self.baseline.store(id, Ordering::Release);
    }

    /// Copies `snap` back and makes it the baseline. If `snap` is already
    /// the baseline, copies only the shards written since; otherwise every
    /// shard. Returns how many shards were copied. Fails with `ReadOnly` on
    /// a frozen memory (nothing is copied).
    ///
    /// Restore takes each copied shard's write lock: called on a thread that
    /// holds a [`Batch`](crate::Batch) with a lock on one of them, it waits
    /// for ever (release the batch first). With feature `critical-section`
    /// each shard's copy runs in a critical section, so an interrupt handler
    /// may use the memory meanwhile (it sees each shard old or restored).
    pub fn restore(&self, snap: &Snapshot<SHARDS, SHARD_SIZE>) -> Result<usize, VmError> {
        let refuse = || VmError::new(ErrorKind::ReadOnly, Access::Write, 0, Self::SIZE);
        if self.is_read_only() {
            return Err(refuse());
        }
        let incremental = snap.id != 0 && self.baseline.load(Ordering::Acquire) == snap.id;
        let mut copied = 0;
        for (shard, copy) in self.shards.iter().zip(snap.shards.iter()) {
            if incremental && !shard.is_marked(CHANGED) {
                continue;
            }
            let mut g = shard
                .write_guard(|| self.is_read_only())
                .ok_or_else(refuse)?;
            // Cannot fail: the copy is exactly one shard long.
            let _stored = g.copy_in(0, copy);
            g.clear_marks(CHANGED | DIRTY);
            copied += 1;
        }
        self.baseline.store(snap.id, Ordering::Release);
        Ok(copied)
    }
}

impl<const SHARDS: usize, const SHARD_SIZE: usize> Exclusive<'_, SHARDS, SHARD_SIZE> {
    /// [`ShardedMemory::snapshot`] without locks.
    pub fn snapshot(&mut self, snap: &mut Snapshot<SHARDS, SHARD_SIZE>) {
        let mem = self.memory_mut();
        for (mut shard, copy) in mem.shards.iter_mut().zip(snap.shards.iter_mut()) {
            shard.take_mark_mut(CHANGED);
            copy.copy_from_slice(shard.bytes_mut_unmarked());
        }
        *mem.baseline.get_mut() = snap.renew();
    }

    /// [`ShardedMemory::restore`] without locks.
    pub fn restore(&mut self, snap: &Snapshot<SHARDS, SHARD_SIZE>) -> Result<usize, VmError> {
        let mem = self.memory_mut();
        if mem.is_read_only() {
            return Err(VmError::new(
                ErrorKind::ReadOnly,
                Access::Write,
                0,
                ShardedMemory::<SHARDS, SHARD_SIZE>::SIZE,
            ));
        }
        let incremental = snap.id != 0 && *mem.baseline.get_mut() == snap.id;
        let mut copied = 0;
        for (mut shard, copy) in mem.shards.iter_mut().zip(snap.shards.iter()) {
            if incremental && !shard.is_marked(CHANGED) {
                continue;
            }
            shard.take_mark_mut(CHANGED | DIRTY);
            shard.bytes_mut_unmarked().copy_from_slice(copy);
            copied += 1;
        }
        *mem.baseline.get_mut() = snap.id;
        Ok(copied)
    }
}
