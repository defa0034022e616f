//! [`Batch`]: many accesses in a row under one shard lock (an interpreter's
//! basic block, a DMA transfer, a device walking descriptors).
//!
//! A batch keeps the guard of the last shard it touched. An access to
//! another shard drops that guard before taking the next one, and a
//! straddling access drops it and goes through the memory, so a batch never
//! holds one lock while waiting for another out of ascending order. Batches
//! promise speed, not a consistent view: between two accesses to different
//! shards other threads may write.

use crate::error::{Access, VmError};
use crate::memory::ShardedMemory;
use crate::scalar::Scalar;
use crate::shard::{ShardRead, ShardWrite};

/// The guard a batch holds, with the index of its shard.
enum Held<'a, const N: usize> {
    None,
    Read(usize, ShardRead<'a, N>),
    Write(usize, ShardWrite<'a, N>),
}

/// A run of accesses that reuses one shard lock, from
/// [`ShardedMemory::batch`]. Reads take the shard's read lock, writes its
/// write lock; the lock is kept until an access leaves the shard, the batch
/// is [`release`](Batch::release)d, or it is dropped.
///
/// # Re-entry and interrupts: where a batch can hang
/// The held lock belongs to no call, so nothing can stop the same thread
/// from waiting for it:
/// - While a batch holds a shard's **write** lock, any other write, guest
///   atomic, `fill`, `write_bytes`, `read_bytes`, snapshot or restore that
///   touches that shard waits for ever if it runs on the same thread: through
///   the memory, another batch, or a [`MemoryMap`](crate::MemoryMap) over the
///   memory (typed reads through the memory are lock-free and still work).
///   While it holds a **read** lock, the same thread's writes to that shard
///   wait for ever. [`release`](Batch::release) (or drop) the batch first.
/// - [`ShardedMemory::restore`] on the same thread waits for ever on a shard
///   the batch holds (read or write lock) if it must copy it;
///   [`ShardedMemory::freeze`] on the same thread waits for ever on a held
///   write lock.
/// - **Interrupts:** a batch keeps its lock across the caller's code, which
///   cannot run with interrupts masked, so the `critical-section` feature
///   cannot cover it (its guards hold no critical section; only each store
///   runs in one). An interrupt handler may still read the batch's shard with
///   typed reads (with the feature they never wait; without it use
///   [`try_read`](ShardedMemory::try_read)), but a write, guest atomic or
///   bulk access to that shard from the handler spins for ever. Do not hold
///   a batch over shards an interrupt handler writes; release it before
///   enabling such interrupts.
///
/// ```
/// use vm_mem::ShardedMemory;
///
/// let mem: ShardedMemory<8, 4096> = ShardedMemory::new();
/// let mut b = mem.batch();
/// for i in 0..16 {
///     b.write_u32(0x100 + 4 * i, i as u32)?; // one write lock for all 16
/// }
/// let sum: u32 = (0..16).map(|i| b.read_u32(0x100 + 4 * i)).sum::<Result<_, _>>()?;
/// assert_eq!(sum, 120);
/// b.write_u64(4092, 1)?; // straddles: goes through the memory
/// drop(b);
/// assert_eq!(mem.read_u64(4092)?, 1);
/// # Ok::<(), vm_mem::VmError>(())
/// ```
pub struct Batch<'a, const SHARDS: usize, const SHARD_SIZE: usize> {
    mem: &'a ShardedMemory<SHARDS, SHARD_SIZE>,
    held: Held<'a, SHARD_SIZE>,
}

impl<const SHARDS: usize, const SHARD_SIZE: usize> ShardedMemory<SHARDS, SHARD_SIZE> {
    /// Starts a batch of accesses that reuses one shard lock at a time.
    /// While it holds a lock, the same thread must not write that shard by
    /// any other way, and an interrupt handler must not write it: see
    /// [`Batch`]'s "Re-entry and interrupts".
    #[inline]
    pub fn batch(&self) -> Batch<'_, SHARDS, SHARD_SIZE> {
        Batch {
            mem: self,
            held: Held::None,
        }
    }
}

impl<'a, const SHARDS: usize, const SHARD_SIZE: usize> Batch<'a, SHARDS, SHARD_SIZE> {
    crate::typed::typed_methods!(usize, read = &mut Self, write = &mut Self);

    /// The memory this batch works on.
    #[inline]
    pub fn memory(&self) -> &'a ShardedMemory<SHARDS, SHARD_SIZE> {
        self.mem
    }

    /// Drops the held guard, if any, so other threads can lock its shard.
    #[inline]
    pub fn release(&mut self) {
        self.held = Held::None;
    }

    /// The one typed read behind every `read_*` method.
    #[inline(always)]
    pub fn read<T: Scalar>(&mut self, addr: usize) -> Result<T, VmError> {
        let (idx, off) = ShardedMemory::<SHARDS, SHARD_SIZE>::split(addr);
        let v = match &self.held {
            Held::Read(i, g) if *i == idx => g.read(off, T::SIZE),
            Held::Write(i, g) if *i == idx => g.read(off, T::SIZE),
            _ => None,
        };
        match v {
            Some(v) => Ok(T::from_u64_truncating(v)),
            None => self.read_slow(addr),
        }
    }

    /// Another shard, or a straddling access: the memory's in-shard test
    /// picks the shard, whose read guard is then kept; anything else goes
    /// through the memory.
    #[cold]
    #[inline(never)]
    fn read_slow<T: Scalar>(&mut self, addr: usize) -> Result<T, VmError> {
        self.held = Held::None;
        let Some((shard, off)) = self.mem.in_shard(addr, T::SIZE) else {
            return self.mem.read(addr);
        };
        let g = shard.read_guard();
        let v = g.read(off, T::SIZE);
        // Kept across the caller's code: a bare guard, no critical section.
        self.held = Held::Read(
            ShardedMemory::<SHARDS, SHARD_SIZE>::split(addr).0,
            g.into_unmasked(),
        );
        match v {
            Some(v) => Ok(T::from_u64_truncating(v)),
            // Unreachable: `in_shard` checked the fit.
            None => Err(VmError::out_of_bounds(
                Access::Read,
                addr,
                T::SIZE,
                SHARDS * SHARD_SIZE,
            )),
        }
    }

    /// The one typed write behind every `write_*` method.
    #[inline(always)]
    pub fn write<T: Scalar>(&mut self, addr: usize, v: T) -> Result<(), VmError> {
        let (idx, off) = ShardedMemory::<SHARDS, SHARD_SIZE>::split(addr);
        if let Held::Write(i, g) = &mut self.held {
            // A held guard must not outlive the start of `freeze` (which
            // waits for it): once frozen, the slow path drops it and refuses.
            if *i == idx
                && !self.mem.is_read_only()
                && let Some(()) = g.write(off, T::SIZE, v.to_u64())
            {
                return Ok(());
            }
        }
        self.write_slow(addr, v)
    }

    /// Another shard, or a straddling access: the memory's in-shard write
    /// lock ([`ShardedMemory::lock_in_shard`]), whose guard is then kept;
    /// anything else goes through the memory.
    #[cold]
    #[inline(never)]
    fn write_slow<T: Scalar>(&mut self, addr: usize, v: T) -> Result<(), VmError> {
        self.held = Held::None;
        let Some((mut g, off)) = self.mem.lock_in_shard(Access::Write, addr, T::SIZE)? else {
            return self.mem.write(addr, v);
        };
        // The marking slow path when the shard's marks are not all set.
        let mark = |ctl, o, l| self.mem.shards.mark_cold(ctl, o, l);
        let stored = g.write_with(off, T::SIZE, v.to_u64(), mark);
        // Kept across the caller's code: a bare guard, no critical section.
        self.held = Held::Write(
            ShardedMemory::<SHARDS, SHARD_SIZE>::split(addr).0,
            g.into_unmasked(),
        );
        match stored {
            Some(()) => Ok(()),
            // Unreachable: `lock_in_shard` checked the fit.
            None => Err(VmError::out_of_bounds(
                Access::Write,
                addr,
                T::SIZE,
                SHARDS * SHARD_SIZE,
            )),
        }
    }

    /// Copies memory at `addr` into `buf` (releases the held guard first).
    pub fn read_bytes(&mut self, addr: usize, buf: &mut [u8]) -> Result<(), VmError> {
        self.release();
        self.mem.read_bytes(addr, buf)
    }

    /// Copies `buf` to memory at `addr` (releases the held guard first).
    pub fn write_bytes(&mut self, addr: usize, buf: &[u8]) -> Result<(), VmError> {
        self.release();
        self.mem.write_bytes(addr, buf)
    }
}
