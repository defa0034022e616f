//! Interrupt safety: what the critical section every shard lock is held in
//! (feature `critical-section`, `section.rs`) promises a handler, and reads
//! that never wait ([`ShardedMemory::try_read`] and its named forms).
//!
//! The hazard: an interrupt handler runs on the stack of the code it
//! interrupted, which cannot go on until the handler returns. If that code
//! holds a shard's lock (a write, a bulk copy, a snapshot) and the handler
//! wants the same lock, or validates a spanning read against a counter the
//! interrupted writer left odd, the handler spins for ever.
//!
//! With the feature, `section.rs`'s `Section` closes that door: `shard/`
//! takes every shard lock inside a `critical-section` critical section and
//! keeps it until the lock is released (the section is dropped after the
//! lock guard), and every store runs inside one too. On a single-core target, where a critical
//! section masks interrupts, a handler therefore never starts while the code
//! it interrupted holds a lock or has a counter odd: typed reads, writes,
//! guest atomics, bulk copies, `fill`, snapshot, restore and `freeze` are all
//! safe to call from it. Limits, stated plainly:
//! - a [`Batch`](crate::Batch) keeps a lock across the caller's code, which
//!   cannot run with interrupts masked; a handler may read (typed) a shard a
//!   batch holds, but a write, atomic or bulk access to it waits for ever;
//! - snapshot, restore and `freeze` of one memory are serialised by a
//!   per-memory snapshot lock held outside any section (holding a section
//!   across a whole snapshot would mean waiting for shard locks inside it):
//!   a handler may call them, but not on a memory whose snapshot, restore
//!   or freeze it may have interrupted (it would wait for ever);
//! - a [`fetch_update`](ShardedMemory::fetch_update) closure runs inside the
//!   section (keep it short, and do not touch the same memory from it);
//! - a lock is only ever *waited for* outside a section (a failed attempt
//!   leaves it, spins, and enters a new one), so on a multi-core
//!   implementation (the host's `std` one, a global lock) a thread never
//!   sits in a section while another needs it to finish.
//!
//! Without the feature `Section` is an empty type and every path is as
//! before. A handler may then call only what never waits on a lock:
//! [`try_read`](ShardedMemory::try_read) (which gives
//! [`ErrorKind::WouldBlock`] where a read would wait) and the reads of a
//! [`Frozen`](crate::Frozen) memory.

use crate::error::{Access, ErrorKind, VmError};
use crate::memory::ShardedMemory;
use crate::scalar::Scalar;

impl<const SHARDS: usize, const SHARD_SIZE: usize> ShardedMemory<SHARDS, SHARD_SIZE> {
    crate::typed::typed_methods!(try_read);

    /// The one non-blocking typed read behind every `try_read_*` method:
    /// like [`read`](Self::read), but where `read` would wait for a shard's
    /// lock it fails with [`ErrorKind::WouldBlock`] instead. It only loads
    /// (no lock, no critical section, no store), so it is safe in an interrupt
    /// or signal handler whatever the interrupted code was doing, with or
    /// without the `critical-section` feature.
    ///
    /// `WouldBlock` means a writer of the value's shard (or of one of the two
    /// shards it straddles) kept storing over several attempts: in a handler,
    /// the interrupted code was in the middle of writing that shard and
    /// cannot finish before the handler returns, so retrying in the handler
    /// does not help; defer the read. A value inside one machine word never
    /// gives `WouldBlock`.
    ///
    /// ```
    /// use vm_mem::{ErrorKind, ShardedMemory};
    ///
    /// static RAM: ShardedMemory<4, 256> = ShardedMemory::new();
    /// RAM.write_u64(252, 0x1122_3344_5566_7788)?; // straddles shards 0 and 1
    /// // No writer is storing: a non-blocking read gets the whole value.
    /// assert_eq!(RAM.try_read_u64(252)?, 0x1122_3344_5566_7788);
    /// assert_eq!(RAM.try_read_u16_be(252)?, 0x8877);
    /// let err = RAM.try_read_u32(1024).unwrap_err();
    /// assert_eq!(err.kind(), ErrorKind::OutOfBounds { limit: 1024 });
    /// # Ok::<(), vm_mem::VmError>(())
    /// ```
    #[inline]
    pub fn try_read<T: Scalar>(&self, addr: usize) -> Result<T, VmError> {
        let (idx, off) = Self::split(addr);
        let size = T::SIZE;
        let oob = || VmError::out_of_bounds(Access::Read, addr, size, Self::SIZE);
        let busy = || VmError::new(ErrorKind::WouldBlock, Access::Read, addr as u64, size);
        let got = if off <= SHARD_SIZE - size {
            let shard = self.shards.get(idx).ok_or_else(oob)?;
            shard.try_read(off, size)
        } else {
            let pair = self.shards.pair(idx).ok_or_else(oob)?;
            pair.try_read(off, size)
        };
        // The range was checked above, so `None` means a writer kept storing.
        got.map(T::from_u64_truncating).ok_or_else(busy)
    }
}
