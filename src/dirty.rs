//! Dirty tracking: which shards were written since the log was last cleared.
//!
//! Every write path (typed, bulk, atomics, batches, the exclusive view,
//! restore) marks the shards it stores to, under the shard's write lock (or
//! through the exclusive view's `&mut`); a failed compare-exchange stores
//! and marks nothing. Restore is a write like any other: the shards it
//! copies back are marked, so whatever mirrors memory through
//! [`take_dirty`](crate::ShardedMemory::take_dirty) (a JIT's code cache, a
//! live copy) sees that their bytes changed. The log is one byte per shard
//! in the shard's control block (no heap), read and cleared with atomics,
//! so it is safe from several threads.
//!
//! The snapshot baseline is tracked apart (see [`crate::Snapshot`]): clearing
//! this log never makes a restore skip a shard, and restore clears only the
//! baseline's mark, never this log.

use crate::memory::ShardedMemory;
use crate::shard::DIRTY;

impl<const SHARDS: usize, const SHARD_SIZE: usize> ShardedMemory<SHARDS, SHARD_SIZE> {
    /// Whether shard `shard` was written since its mark was last cleared
    /// (`false` for an index past the end).
    #[inline]
    pub fn is_dirty(&self, shard: usize) -> bool {
        self.shards.get(shard).is_some_and(|s| s.is_marked(DIRTY))
    }

    /// The indices of the dirty shards, ascending. Marks are left as they are.
    ///
    /// ```
    /// let mem: vm_mem::ShardedMemory<8, 256> = vm_mem::ShardedMemory::new();
    /// mem.write_u32(0x2fe, 1)?; // straddles shards 2 and 3
    /// mem.fill(0x700, 4, 0xff)?;
    /// assert!(mem.dirty_shards().eq([2, 3, 7]));
    /// assert!(mem.take_dirty().eq([2, 3, 7]));
    /// assert_eq!(mem.dirty_shards().count(), 0);
    /// # Ok::<(), vm_mem::VmError>(())
    /// ```
    pub fn dirty_shards(&self) -> impl Iterator<Item = usize> + '_ {
        (0..SHARDS).filter(move |&i| self.is_dirty(i))
    }

    /// Clears every shard's dirty mark.
    pub fn clear_dirty(&self) {
        for shard in self.shards.iter() {
            shard.take_mark(DIRTY);
        }
    }

    /// Yields the dirty shard indices, ascending, clearing each mark as it
    /// is yielded: test-and-clear is one atomic operation per shard, so a
    /// write racing with it is either reported now or left marked for the
    /// next call, never lost. Shards not reached (the iterator dropped
    /// early) keep their marks.
    pub fn take_dirty(&self) -> impl Iterator<Item = usize> + '_ {
        (0..SHARDS).filter(move |&i| self.shards.get(i).is_some_and(|s| s.take_mark(DIRTY)))
    }
}
