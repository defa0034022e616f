//! [`GuestRam`]: the small dyn-compatible trait through which a map reaches
//! memory of any geometry (typed loads and stores by width, bulk copies and
//! a guest atomic, all at `u64` offsets), and the helpers that pick the
//! per-width method for a [`Scalar`].
//!
//! The trait is sealed (implemented by [`ShardedMemory`] and [`Frozen`]
//! only) and its methods are hidden from the documentation: they are the
//! map's plumbing, not an API, and would otherwise clutter the pages of the
//! memory kinds. Use the memory's own `read_*`/`write_*` methods instead.

use crate::error::{Access, VmError};
use crate::frozen::Frozen;
use crate::map::image::Image;
use crate::memory::Rmw;
use crate::memory::ShardedMemory;
use crate::scalar::Scalar;
use crate::shard::RawShards;

mod sealed {
    /// Keeps [`GuestRam`](super::GuestRam) implemented by vm-mem's kinds only.
    pub trait Sealed {}
}

/// Memory a map can back a RAM or ROM region with: [`ShardedMemory`]
/// (locked writes, lock-free reads) or [`Frozen`] (lock-free, every write
/// refused with `ReadOnly`). A map holds it as `&'a dyn GuestRam`, so one
/// map mixes memories of different geometries without generics or a heap.
///
/// Sealed; its methods are the map's plumbing and hidden from the docs.
/// Offsets past the memory fail with `OutOfBounds`; an offset that does not
/// fit the host's `usize` is out of bounds too, never truncated.
///
/// ```
/// use vm_mem::{GuestRam, MemoryMap, Perms, ShardedMemory};
///
/// let a: ShardedMemory<2, 64> = ShardedMemory::new();
/// let b: ShardedMemory<1, 4096> = ShardedMemory::new();
/// let mems: [&dyn GuestRam; 2] = [&a, &b]; // two geometries, one type
/// let map: MemoryMap<'_, 2> = MemoryMap::new();
/// map.add_ram("a", 0, 128, Perms::RW, mems[0])?;
/// map.add_ram("b", 0x1000, 4096, Perms::RW, mems[1])?;
/// # Ok::<(), vm_mem::MapError>(())
/// ```
#[allow(missing_docs)] // the hidden methods are documented in the source
pub trait GuestRam: Sync + sealed::Sealed {
    /// Size in bytes.
    #[doc(hidden)]
    fn size(&self) -> u64;
    /// The memory's shards with the geometry as data, for a cursor's
    /// inlined RAM access.
    #[doc(hidden)]
    #[allow(private_interfaces)]
    fn raw(&self) -> RawShards<'_>;
    /// Whether the memory can never change again (it is frozen), so a
    /// machine snapshot needs no copy of it.
    #[doc(hidden)]
    fn is_immutable(&self) -> bool;
    /// The address of the memory itself (a frozen reader's memory), to
    /// match a region's backing with a memory registered with a machine
    /// snapshot. Sound as an identity: the trait is sealed, and two
    /// distinct `ShardedMemory` values (never zero-sized, never one inside
    /// another) never share an address.
    #[doc(hidden)]
    fn memory_addr(&self) -> *const ();
    /// A frozen reader's bytes, which no writer can ever change (`None`
    /// for a live memory): an owner map reads ROM pages from them.
    #[doc(hidden)]
    fn frozen_bytes(&self) -> Option<&[u8]>;
    /// The memory as a machine snapshot captures and restores it (`None`
    /// for a frozen reader: it never changes).
    #[doc(hidden)]
    #[allow(private_interfaces)]
    fn image(&self) -> Option<&dyn Image>;
    /// Loads the `size` (1, 2, 4 or 8) bytes at `offset` as one typed,
    /// tear-free access, little-endian, zero-extended.
    #[doc(hidden)]
    fn load(&self, offset: u64, size: usize) -> Result<u64, VmError>;
    /// Stores the low `size` (1, 2, 4 or 8) bytes of `v` at `offset` as one
    /// typed access, little-endian.
    #[doc(hidden)]
    fn store(&self, offset: u64, size: usize, v: u64) -> Result<(), VmError>;
    /// Copies `buf.len()` bytes at `offset` into `buf`.
    #[doc(hidden)]
    fn load_bytes(&self, offset: u64, buf: &mut [u8]) -> Result<(), VmError>;
    /// Copies `buf` to `offset`.
    #[doc(hidden)]
    fn store_bytes(&self, offset: u64, buf: &[u8]) -> Result<(), VmError>;
    /// Sets `len` bytes at `offset` to `byte`.
    #[doc(hidden)]
    fn fill_bytes(&self, offset: u64, len: usize, byte: u8) -> Result<(), VmError>;
    /// The guest atomic: loads the `size`-byte value at `offset`, stores
    /// `f(old)` unless it is `None`, returns the old value, all as one
    /// atomic step (the memory's `fetch_update`). Errors report `Atomic`.
    #[doc(hidden)]
    fn update(&self, offset: u64, size: usize, f: Rmw<'_>) -> Result<u64, VmError>;
}

use crate::access::host_addr as host;

impl<const SHARDS: usize, const SHARD_SIZE: usize> sealed::Sealed
    for ShardedMemory<SHARDS, SHARD_SIZE>
{
}

impl<const SHARDS: usize, const SHARD_SIZE: usize> GuestRam for ShardedMemory<SHARDS, SHARD_SIZE> {
    #[inline]
    fn size(&self) -> u64 {
        // A `usize` always fits a `u64` on the hosts Rust supports.
        Self::SIZE as u64
    }

    #[inline]
    #[allow(private_interfaces)]
    fn raw(&self) -> RawShards<'_> {
        ShardedMemory::raw(self)
    }

    fn is_immutable(&self) -> bool {
        self.is_frozen()
    }

    fn memory_addr(&self) -> *const () {
        core::ptr::from_ref(self).cast()
    }

    fn frozen_bytes(&self) -> Option<&[u8]> {
        None // a live memory has no bytes that never change
    }

    #[allow(private_interfaces)]
    fn image(&self) -> Option<&dyn Image> {
        Some(self)
    }

    #[inline]
    fn load(&self, offset: u64, size: usize) -> Result<u64, VmError> {
        self.read_sized(host(offset, Access::Read, size, Self::SIZE)?, size)
    }

    #[inline]
    fn store(&self, offset: u64, size: usize, v: u64) -> Result<(), VmError> {
        let a = host(offset, Access::Write, size, Self::SIZE)?;
        // The one width table at this boundary: each arm is the memory's
        // typed write with its width constant (the map's RAM stores come
        // here); other sizes take the sized path, which refuses them.
        // Truncation is the point: each arm stores `size` bytes.
        match size {
            1 => self.write(a, v as u8),
            2 => self.write(a, v as u16),
            4 => self.write(a, v as u32),
            _ => self.write_sized(a, size, v),
        }
    }

    #[inline]
    fn load_bytes(&self, offset: u64, buf: &mut [u8]) -> Result<(), VmError> {
        self.read_bytes(host(offset, Access::Read, buf.len(), Self::SIZE)?, buf)
    }

    #[inline]
    fn store_bytes(&self, offset: u64, buf: &[u8]) -> Result<(), VmError> {
        self.write_bytes(host(offset, Access::Write, buf.len(), Self::SIZE)?, buf)
    }

    #[inline]
    fn fill_bytes(&self, offset: u64, len: usize, byte: u8) -> Result<(), VmError> {
        self.fill(host(offset, Access::Write, len, Self::SIZE)?, len, byte)
    }

    fn update(&self, offset: u64, size: usize, f: Rmw<'_>) -> Result<u64, VmError> {
        self.fetch_update_sized(host(offset, Access::Atomic, size, Self::SIZE)?, size, f)
    }
}

impl<const SHARDS: usize, const SHARD_SIZE: usize> sealed::Sealed
    for Frozen<'_, SHARDS, SHARD_SIZE>
{
}

/// A frozen reader: its memory's bytes with no lock; every write refused
/// (`OutOfBounds` if the range is, else `ReadOnly`), no lock taken.
impl<const SHARDS: usize, const SHARD_SIZE: usize> GuestRam for Frozen<'_, SHARDS, SHARD_SIZE> {
    #[inline]
    fn size(&self) -> u64 {
        GuestRam::size(self.memory())
    }

    #[inline]
    #[allow(private_interfaces)]
    fn raw(&self) -> RawShards<'_> {
        self.memory().raw()
    }

    fn is_immutable(&self) -> bool {
        true
    }

    fn memory_addr(&self) -> *const () {
        GuestRam::memory_addr(self.memory())
    }

    fn frozen_bytes(&self) -> Option<&[u8]> {
        Some(self.as_slice())
    }

    #[allow(private_interfaces)]
    fn image(&self) -> Option<&dyn Image> {
        None // it never changes: nothing to capture
    }

    #[inline]
    fn load(&self, offset: u64, size: usize) -> Result<u64, VmError> {
        self.read_sized(host(offset, Access::Read, size, Self::SIZE)?, size)
    }

    fn store(&self, offset: u64, size: usize, _: u64) -> Result<(), VmError> {
        Err(self.refuse(
            Access::Write,
            host(offset, Access::Write, size, Self::SIZE)?,
            size,
        ))
    }

    fn load_bytes(&self, offset: u64, buf: &mut [u8]) -> Result<(), VmError> {
        self.read_bytes(host(offset, Access::Read, buf.len(), Self::SIZE)?, buf)
    }

    fn store_bytes(&self, offset: u64, buf: &[u8]) -> Result<(), VmError> {
        GuestRam::store(self, offset, buf.len(), 0)
    }

    fn fill_bytes(&self, offset: u64, len: usize, _: u8) -> Result<(), VmError> {
        GuestRam::store(self, offset, len, 0)
    }

    fn update(&self, offset: u64, size: usize, _: Rmw<'_>) -> Result<u64, VmError> {
        Err(self.refuse(
            Access::Atomic,
            host(offset, Access::Atomic, size, Self::SIZE)?,
            size,
        ))
    }
}

/// Loads a `T` from `ram`: the sized load with a constant size.
#[inline(always)]
pub(crate) fn ram_load<T: Scalar>(ram: &dyn GuestRam, off: u64) -> Result<T, VmError> {
    ram.load(off, T::SIZE).map(T::from_u64_truncating)
}
