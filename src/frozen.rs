//! [`Frozen`]: a memory loaded once and then only read (firmware flash, a
//! boot ROM). Freezing leaks a read guard of every shard, so no writer can
//! ever lock one again, and reads need no lock at all.
//!
//! Writes through any handle of a frozen memory (the memory itself, its
//! exclusive view, a batch, a `Frozen`) return [`ErrorKind::ReadOnly`]
//! (crate::ErrorKind::ReadOnly): every write path checks the memory's state
//! while it waits for its lock, so it never spins on the leaked guards.
//!
//! `freeze` is serialised with snapshot and restore (it takes the memory's
//! snapshot lock), so a restore either finishes before freezing begins or
//! fails with `ReadOnly` before copying anything.
#![allow(unsafe_code)] // one proof of "no writer", argued in `freeze`

use crate::error::{Access, VmError};
use crate::memory::{ShardedMemory, FREEZING, FROZEN, LIVE};
use crate::scalar::Scalar;
use crate::section::Section;
use crate::shard::NoWriters;
use crate::sync::Ordering;

/// Lock-free read-only access to a frozen memory, from
/// [`ShardedMemory::freeze`].
///
/// ```
/// use vm_mem::{ErrorKind, ShardedMemory};
///
/// static FLASH: ShardedMemory<4, 1024> = ShardedMemory::new();
/// FLASH.write_bytes(0, &[0x00, 0xbf, 0x70, 0x47])?; // load the image
/// let rom = FLASH.freeze();
/// assert_eq!(rom.read_u16(2)?, 0x4770); // no lock taken
/// assert_eq!(FLASH.write_u8(0, 1).unwrap_err().kind(), ErrorKind::ReadOnly);
/// assert_eq!(rom.write_u8(0, 1).unwrap_err().kind(), ErrorKind::ReadOnly);
/// # Ok::<(), vm_mem::VmError>(())
/// ```
#[derive(Clone, Copy)]
pub struct Frozen<'a, const SHARDS: usize, const SHARD_SIZE: usize> {
    mem: &'a ShardedMemory<SHARDS, SHARD_SIZE>,
    /// Made by `freeze` once every shard's read lock is leaked.
    quiet: NoWriters<'a, SHARDS, SHARD_SIZE>,
}

impl<const SHARDS: usize, const SHARD_SIZE: usize> ShardedMemory<SHARDS, SHARD_SIZE> {
    /// Makes the memory read-only for the rest of its life and returns a
    /// lock-free reader. Writes in flight finish first; later writes through
    /// any handle fail with `ReadOnly`. Freezing again (from any thread) is
    /// cheap and gives another reader.
    ///
    /// `freeze` first waits for a snapshot or restore in progress on this
    /// memory (they are serialised by the memory's snapshot lock), then
    /// refuses new writes ([`is_frozen`](Self::is_frozen) turns `true`),
    /// then waits for every shard's write lock: a [`Batch`](crate::Batch)
    /// holding one lets go at its next write (which fails with `ReadOnly`)
    /// or when released or dropped, so do not keep an idle batch with a
    /// held write guard across a `freeze` on the same thread (it waits for
    /// ever). With feature `critical-section` the freeze proper runs in one
    /// critical section (left only while a lock is waited for), so an
    /// interrupt handler never finds the memory half frozen; the snapshot
    /// lock is taken outside it, so a handler must not call `freeze`,
    /// `snapshot` or `restore` on a memory whose snapshot, restore or freeze
    /// it may have interrupted (it would wait for ever).
    pub fn freeze(&self) -> Frozen<'_, SHARDS, SHARD_SIZE> {
        // ORDERING: `Acquire` pairs with the freezer's `Release` store of
        // FROZEN below, so this thread sees every read lock leaked.
        if self.state.load(Ordering::Acquire) != FROZEN {
            // Serialised with snapshot and restore: none runs from here on.
            let _serial = self.baseline.write();
            // One critical section (feature `critical-section`) for the
            // freeze proper, left only while a shard's lock is waited for.
            let mut section = Section::enter();
            // Under the lock the state is LIVE or FROZEN: FREEZING is only
            // ever seen by other threads while a freezer holds it.
            if self.state.load(Ordering::Acquire) == LIVE {
                // ORDERING: `Release` makes writers that see FREEZING
                // (`Acquire`) give up instead of waiting for a lock.
                self.state.store(FREEZING, Ordering::Release);
                for shard in self.shards.iter() {
                    section = shard.leak_read(section);
                }
                // ORDERING: `Release` publishes the leaked guards to freezers
                // that check for FROZEN with `Acquire`.
                self.state.store(FROZEN, Ordering::Release);
            }
            drop(section);
        }
        // SAFETY: the state is FROZEN: either this thread stored it above,
        // after leaking a read guard of every shard, or it loaded FROZEN with
        // `Acquire` (directly or after taking the lock the freezer held)
        // from the store that followed the leaks. A leaked read guard is
        // never released, so no write guard of any shard can be taken for
        // the rest of the memory's life, which outlives the borrow 'self; no
        // `&mut` to the memory can be used while `&self` lives.
        let quiet = unsafe { NoWriters::new(&self.shards) };
        Frozen { mem: self, quiet }
    }

    /// Whether writes are refused: `true` as soon as a
    /// [`freeze`](Self::freeze) has begun refusing them, which may be
    /// before that `freeze` returns (it may still be waiting for writes in
    /// flight to finish). `false` while a `freeze` still waits for a
    /// snapshot or restore to end. Never turns `false` again.
    #[inline]
    pub fn is_frozen(&self) -> bool {
        self.is_read_only()
    }
}

impl<'a, const SHARDS: usize, const SHARD_SIZE: usize> Frozen<'a, SHARDS, SHARD_SIZE> {
    /// Total size in bytes.
    pub const SIZE: usize = ShardedMemory::<SHARDS, SHARD_SIZE>::SIZE;

    crate::typed::typed_methods!(usize, read = &Self, write = &Self);

    /// The frozen memory.
    #[inline]
    pub fn memory(&self) -> &'a ShardedMemory<SHARDS, SHARD_SIZE> {
        self.mem
    }

    /// The one typed read behind every `read_*` method: no lock.
    #[inline(always)]
    pub fn read<T: Scalar>(&self, addr: usize) -> Result<T, VmError> {
        ShardedMemory::read_unlocked(self.quiet, addr, T::SIZE)
    }

    /// The read of `size` bytes, zero-extended, with no lock.
    #[inline(always)]
    pub(crate) fn read_sized(&self, addr: usize, size: usize) -> Result<u64, VmError> {
        ShardedMemory::read_unlocked::<u64>(self.quiet, addr, size)
    }

    /// Copies `buf.len()` bytes at `addr` into `buf`, with no lock.
    pub fn read_bytes(&self, addr: usize, buf: &mut [u8]) -> Result<(), VmError> {
        ShardedMemory::read_bytes_unlocked(self.quiet, addr, buf)
    }

    /// Always fails: out of bounds if `addr` is, read-only otherwise.
    #[inline]
    pub fn write<T: Scalar>(&self, addr: usize, _v: T) -> Result<(), VmError> {
        Err(self.refuse(Access::Write, addr, T::SIZE))
    }

    /// Always fails: out of bounds if the range is, read-only otherwise.
    pub fn write_bytes(&self, addr: usize, buf: &[u8]) -> Result<(), VmError> {
        Err(self.refuse(Access::Write, addr, buf.len()))
    }

    /// Always fails: out of bounds if the range is, read-only otherwise.
    pub fn fill(&self, addr: usize, len: usize, _byte: u8) -> Result<(), VmError> {
        Err(self.refuse(Access::Write, addr, len))
    }

    pub(crate) fn refuse(&self, access: Access, addr: usize, len: usize) -> VmError {
        match ShardedMemory::<SHARDS, SHARD_SIZE>::runs(addr, len, access) {
            Err(out_of_bounds) => out_of_bounds,
            Ok(_) => ShardedMemory::<SHARDS, SHARD_SIZE>::read_only(access, addr, len),
        }
    }
}

impl<const SHARDS: usize, const SHARD_SIZE: usize> core::fmt::Debug
    for Frozen<'_, SHARDS, SHARD_SIZE>
{
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Frozen")
            .field("size", &Self::SIZE)
            .finish_non_exhaustive()
    }
}

// By value too, so one generic `step(&mut handle)` takes every kind.
impl<'a, const SHARDS: usize, const SHARD_SIZE: usize> crate::MemoryAccess
    for Frozen<'a, SHARDS, SHARD_SIZE>
{
    crate::access::forward!(host(ShardedMemory::<SHARDS, SHARD_SIZE>::SIZE), [*]);
}

impl<'a, 'b, const SHARDS: usize, const SHARD_SIZE: usize> crate::MemoryAccess
    for &'b Frozen<'a, SHARDS, SHARD_SIZE>
{
    crate::access::forward!(host(ShardedMemory::<SHARDS, SHARD_SIZE>::SIZE), [**]);
}

/// Zero-copy reads of a frozen memory: sound because a `Frozen` exists only
/// once every shard's read lock is leaked, so no writer can ever run again.
///
/// ```
/// use vm_mem::ShardedMemory;
///
/// static FLASH: ShardedMemory<4, 1024> = ShardedMemory::new();
/// FLASH.write_bytes(0x100, b"boot")?;
/// let rom = FLASH.freeze();
/// let image: &'static [u8] = rom.as_slice(); // for as long as the memory
/// assert_eq!(&image[0x100..0x104], b"boot");
/// assert_eq!(rom.slice(0x100, 4)?, b"boot");
/// assert!(rom.slice(0xffe, 4).is_err());
/// # Ok::<(), vm_mem::VmError>(())
/// ```
impl<'a, const SHARDS: usize, const SHARD_SIZE: usize> Frozen<'a, SHARDS, SHARD_SIZE> {
    /// The whole frozen memory as one slice (guest address `k` is index
    /// `k`), for as long as the memory is borrowed.
    #[inline]
    pub fn as_slice(&self) -> &'a [u8] {
        // `freeze`'s proof lasts as long as the memory's borrow 'a.
        self.quiet.bytes()
    }

    /// Bytes `addr..addr + len` as a slice; out of bounds is an error.
    #[inline]
    pub fn slice(&self, addr: usize, len: usize) -> Result<&'a [u8], VmError> {
        let oob = || VmError::out_of_bounds(Access::Read, addr, len, Self::SIZE);
        let end = addr.checked_add(len).ok_or_else(oob)?;
        self.as_slice().get(addr..end).ok_or_else(oob)
    }
}
