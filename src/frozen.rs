//! [`Frozen`]: a memory loaded once and then only read (firmware flash, a
//! boot ROM). Freezing leaks a read guard of every shard, so no writer can
//! ever lock one again, and reads need no lock at all.
//!
//! Writes through any handle of a frozen memory (the memory itself, its
//! exclusive view, a batch, a `Frozen`) return [`ErrorKind::ReadOnly`]
//! (crate::ErrorKind::ReadOnly): every write path checks the memory's state
//! while it waits for its lock, so it never spins on the leaked guards.
#![allow(unsafe_code)] // lock-free reads, each argued at its call

use crate::error::{Access, VmError};
use crate::interrupt::Section;
use crate::memory::{ShardedMemory, FREEZING, FROZEN, LIVE};
use crate::scalar::Scalar;
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
}

impl<const SHARDS: usize, const SHARD_SIZE: usize> ShardedMemory<SHARDS, SHARD_SIZE> {
    /// Makes the memory read-only for the rest of its life and returns a
    /// lock-free reader. Writes in flight finish first; later writes through
    /// any handle fail with `ReadOnly`. Freezing again (from any thread) is
    /// cheap and gives another reader.
    ///
    /// `freeze` waits for every shard's write lock: a [`Batch`](crate::Batch)
    /// holding one lets go at its next write (which fails with `ReadOnly`)
    /// or when released or dropped, so do not keep an idle batch with a
    /// held write guard across a `freeze` on the same thread (it waits for
    /// ever). With feature `critical-section` the whole freeze runs in one
    /// critical section (left only while a lock is waited for), so an
    /// interrupt handler never finds the memory half frozen.
    pub fn freeze(&self) -> Frozen<'_, SHARDS, SHARD_SIZE> {
        // One critical section (feature `critical-section`) for the whole
        // freeze, left only while a shard's lock is waited for: an interrupt
        // handler never finds the memory half frozen.
        let mut section = Section::enter();
        // ORDERING: `Acquire` on failure pairs with the freezer's `Release`
        // store of FROZEN below, so a second freezer sees the leaked guards.
        match self
            .state
            .compare_exchange(LIVE, FREEZING, Ordering::AcqRel, Ordering::Acquire)
        {
            Ok(_) => {
                for shard in self.shards.iter() {
                    section = shard.leak_read(section);
                }
                // ORDERING: `Release` publishes the leaked guards to readers
                // that check for FROZEN with `Acquire`.
                self.state.store(FROZEN, Ordering::Release);
            }
            Err(_) => {
                drop(section);
                while self.state.load(Ordering::Acquire) != FROZEN {
                    core::hint::spin_loop();
                }
            }
        }
        Frozen { mem: self }
    }

    /// Whether [`freeze`](Self::freeze) has begun: writes are refused.
    #[inline]
    pub fn is_frozen(&self) -> bool {
        self.is_read_only()
    }
}

impl<'a, const SHARDS: usize, const SHARD_SIZE: usize> Frozen<'a, SHARDS, SHARD_SIZE> {
    /// Total size in bytes.
    pub const SIZE: usize = ShardedMemory::<SHARDS, SHARD_SIZE>::SIZE;

    crate::typed::typed_methods!(usize, read = ref, write = ref);

    /// The frozen memory.
    #[inline]
    pub fn memory(&self) -> &'a ShardedMemory<SHARDS, SHARD_SIZE> {
        self.mem
    }

    /// The one typed read behind every `read_*` method: no lock.
    #[inline(always)]
    pub fn read<T: Scalar>(&self, addr: usize) -> Result<T, VmError> {
        // SAFETY: a `Frozen` exists only after `freeze` leaked a read guard
        // of every shard (state FROZEN), so no write guard can ever be taken.
        unsafe { self.mem.read_unlocked(addr, T::SIZE) }.map(T::from_u64_truncating)
    }

    /// Copies `buf.len()` bytes at `addr` into `buf`, with no lock.
    pub fn read_bytes(&self, addr: usize, buf: &mut [u8]) -> Result<(), VmError> {
        // SAFETY: as in `read`.
        unsafe { self.mem.read_bytes_unlocked(addr, buf) }
    }

    /// Always fails: out of bounds if `addr` is, read-only otherwise.
    #[inline]
    pub fn write<T: Scalar>(&self, addr: usize, _v: T) -> Result<(), VmError> {
        self.refuse(addr, T::SIZE)
    }

    /// Always fails: out of bounds if the range is, read-only otherwise.
    pub fn write_bytes(&self, addr: usize, buf: &[u8]) -> Result<(), VmError> {
        self.refuse(addr, buf.len())
    }

    /// Always fails: out of bounds if the range is, read-only otherwise.
    pub fn fill(&self, addr: usize, len: usize, _byte: u8) -> Result<(), VmError> {
        self.refuse(addr, len)
    }

    fn refuse(&self, addr: usize, len: usize) -> Result<(), VmError> {
        let _in_bounds = ShardedMemory::<SHARDS, SHARD_SIZE>::runs(addr, len, Access::Write)?;
        Err(ShardedMemory::<SHARDS, SHARD_SIZE>::read_only(
            Access::Write,
            addr,
            len,
        ))
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

crate::access::forward_memory_access!(
    ['a, 'b, const SHARDS: usize, const SHARD_SIZE: usize] &'b Frozen<'a, SHARDS, SHARD_SIZE>,
    ShardedMemory::<SHARDS, SHARD_SIZE>::SIZE,
    [**]
);

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
        // SAFETY: a `Frozen` exists only after `freeze` leaked a read guard
        // of every shard (state FROZEN), so no write guard can ever be
        // taken; the `&mut` writers (exclusive view, restore) refuse a
        // frozen memory, and none can exist while this `&'a` borrow lives.
        unsafe { self.mem.shards.flat_unlocked() }
    }

    /// Bytes `addr..addr + len` as a slice; out of bounds is an error.
    #[inline]
    pub fn slice(&self, addr: usize, len: usize) -> Result<&'a [u8], VmError> {
        let oob = || VmError::out_of_bounds(Access::Read, addr, len, Self::SIZE);
        let end = addr.checked_add(len).ok_or_else(oob)?;
        self.as_slice().get(addr..end).ok_or_else(oob)
    }
}
