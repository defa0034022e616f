//! [`GuestRam`]: the small dyn-compatible trait through which a map reaches
//! memory of any geometry (typed loads and stores by width, bulk copies and
//! a guest atomic, all at `u64` offsets), and the helpers that pick the
//! per-width method for a [`Scalar`].
//!
//! The trait is sealed (implemented by [`ShardedMemory`] and [`Frozen`]
//! only) and its methods are hidden from the documentation: they are the
//! map's plumbing, not an API, and would otherwise clutter the pages of the
//! memory kinds. Use the memory's own `read_*`/`write_*` methods instead.

use crate::error::{Access, ErrorKind, VmError};
use crate::frozen::Frozen;
use crate::map::image::Image;
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
    /// Loads a little-endian `u8` at `offset`.
    #[doc(hidden)]
    fn load_u8(&self, offset: u64) -> Result<u8, VmError>;
    /// Loads a little-endian `u16` at `offset`.
    #[doc(hidden)]
    fn load_u16(&self, offset: u64) -> Result<u16, VmError>;
    /// Loads a little-endian `u32` at `offset`.
    #[doc(hidden)]
    fn load_u32(&self, offset: u64) -> Result<u32, VmError>;
    /// Loads a little-endian `u64` at `offset`.
    #[doc(hidden)]
    fn load_u64(&self, offset: u64) -> Result<u64, VmError>;
    /// Stores a little-endian `u8` at `offset`.
    #[doc(hidden)]
    fn store_u8(&self, offset: u64, v: u8) -> Result<(), VmError>;
    /// Stores a little-endian `u16` at `offset`.
    #[doc(hidden)]
    fn store_u16(&self, offset: u64, v: u16) -> Result<(), VmError>;
    /// Stores a little-endian `u32` at `offset`.
    #[doc(hidden)]
    fn store_u32(&self, offset: u64, v: u32) -> Result<(), VmError>;
    /// Stores a little-endian `u64` at `offset`.
    #[doc(hidden)]
    fn store_u64(&self, offset: u64, v: u64) -> Result<(), VmError>;
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
    fn update(
        &self,
        offset: u64,
        size: usize,
        f: &mut dyn FnMut(u64) -> Option<u64>,
    ) -> Result<u64, VmError>;
}

/// Implements [`GuestRam`] for a `usize`-addressed memory kind with the
/// inherent `read_*`/`write_*`/bulk methods, converting offsets without
/// truncation.
macro_rules! guest_ram {
    ([$($gen:tt)*] $ty:ty, update = $update:ident, raw = $raw:expr, memory = $memory:expr, image = $image:expr, frozen = $frozen:expr) => {
        impl<$($gen)*> sealed::Sealed for $ty {}
        impl<$($gen)*> GuestRam for $ty {
            #[inline]
            fn size(&self) -> u64 {
                // A `usize` always fits a `u64` on the hosts Rust supports.
                ShardedMemory::<SHARDS, SHARD_SIZE>::SIZE as u64
            }
            #[inline]
            #[allow(private_interfaces)]
            fn raw(&self) -> RawShards<'_> {
                $raw(self)
            }
            fn is_immutable(&self) -> bool {
                $memory(self).is_frozen()
            }
            fn memory_addr(&self) -> *const () {
                core::ptr::from_ref($memory(self)).cast()
            }
            #[allow(private_interfaces)]
            fn image(&self) -> Option<&dyn Image> {
                $image(self)
            }
            fn frozen_bytes(&self) -> Option<&[u8]> {
                $frozen(self)
            }
            guest_ram!(@load load_u8, read_u8, u8);
            guest_ram!(@load load_u16, read_u16, u16);
            guest_ram!(@load load_u32, read_u32, u32);
            guest_ram!(@load load_u64, read_u64, u64);
            guest_ram!(@store store_u8, write_u8, u8);
            guest_ram!(@store store_u16, write_u16, u16);
            guest_ram!(@store store_u32, write_u32, u32);
            guest_ram!(@store store_u64, write_u64, u64);

            #[inline]
            fn load_bytes(&self, offset: u64, buf: &mut [u8]) -> Result<(), VmError> {
                let a = host(offset, Access::Read, buf.len(), ShardedMemory::<SHARDS, SHARD_SIZE>::SIZE)?;
                self.read_bytes(a, buf)
            }

            #[inline]
            fn store_bytes(&self, offset: u64, buf: &[u8]) -> Result<(), VmError> {
                let a = host(offset, Access::Write, buf.len(), ShardedMemory::<SHARDS, SHARD_SIZE>::SIZE)?;
                self.write_bytes(a, buf)
            }

            #[inline]
            fn fill_bytes(&self, offset: u64, len: usize, byte: u8) -> Result<(), VmError> {
                let a = host(offset, Access::Write, len, ShardedMemory::<SHARDS, SHARD_SIZE>::SIZE)?;
                self.fill(a, len, byte)
            }

            fn update(
                &self,
                offset: u64,
                size: usize,
                f: &mut dyn FnMut(u64) -> Option<u64>,
            ) -> Result<u64, VmError> {
                let a = host(offset, Access::Atomic, size, ShardedMemory::<SHARDS, SHARD_SIZE>::SIZE)?;
                $update(self, a, size, f)
            }
        }
    };
    (@load $name:ident, $inner:ident, $t:ty) => {
        #[inline]
        fn $name(&self, offset: u64) -> Result<$t, VmError> {
            let a = host(offset, Access::Read, <$t as Scalar>::SIZE, ShardedMemory::<SHARDS, SHARD_SIZE>::SIZE)?;
            self.$inner(a)
        }
    };
    (@store $name:ident, $inner:ident, $t:ty) => {
        #[inline]
        fn $name(&self, offset: u64, v: $t) -> Result<(), VmError> {
            let a = host(offset, Access::Write, <$t as Scalar>::SIZE, ShardedMemory::<SHARDS, SHARD_SIZE>::SIZE)?;
            self.$inner(a, v)
        }
    };
}

use crate::access::host_addr as host;

/// A shared memory's guest atomic of `size` bytes, through its
/// `fetch_update` (`f` sees and returns values in the low `size` bytes).
fn shared_update<const SHARDS: usize, const SHARD_SIZE: usize>(
    mem: &ShardedMemory<SHARDS, SHARD_SIZE>,
    addr: usize,
    size: usize,
    f: &mut dyn FnMut(u64) -> Option<u64>,
) -> Result<u64, VmError> {
    // Truncation is the point: each arm's value is `size` bytes.
    match size {
        1 => mem
            .fetch_update(addr, |o: u8| f(o.into()).map(|n| n as u8))
            .map(u64::from),
        2 => mem
            .fetch_update(addr, |o: u16| f(o.into()).map(|n| n as u16))
            .map(u64::from),
        4 => mem
            .fetch_update(addr, |o: u32| f(o.into()).map(|n| n as u32))
            .map(u64::from),
        _ => mem.fetch_update(addr, |o: u64| f(o)),
    }
}

/// A frozen memory's shards (read through, never written: ROM).
fn frozen_raw<'m, const SHARDS: usize, const SHARD_SIZE: usize>(
    rom: &'m Frozen<'_, SHARDS, SHARD_SIZE>,
) -> RawShards<'m> {
    rom.memory().raw()
}

/// A frozen memory's bytes, for an owner map's plain ROM reads.
fn frozen_bytes<'m, const SHARDS: usize, const SHARD_SIZE: usize>(
    rom: &'m Frozen<'_, SHARDS, SHARD_SIZE>,
) -> Option<&'m [u8]> {
    Some(rom.as_slice())
}

/// A live memory has no bytes that never change.
fn no_frozen_bytes<const SHARDS: usize, const SHARD_SIZE: usize>(
    _: &ShardedMemory<SHARDS, SHARD_SIZE>,
) -> Option<&[u8]> {
    None
}

/// A frozen memory refuses every atomic, as it refuses every write.
fn frozen_update<const SHARDS: usize, const SHARD_SIZE: usize>(
    _mem: &Frozen<'_, SHARDS, SHARD_SIZE>,
    addr: usize,
    size: usize,
    _f: &mut dyn FnMut(u64) -> Option<u64>,
) -> Result<u64, VmError> {
    Err(VmError::new(
        ErrorKind::ReadOnly,
        Access::Atomic,
        addr as u64,
        size,
    ))
}

guest_ram!([const SHARDS: usize, const SHARD_SIZE: usize] ShardedMemory<SHARDS, SHARD_SIZE>, update = shared_update, raw = ShardedMemory::raw, memory = core::convert::identity, image = |m| Some(m as &dyn Image), frozen = no_frozen_bytes);
guest_ram!([const SHARDS: usize, const SHARD_SIZE: usize] Frozen<'_, SHARDS, SHARD_SIZE>, update = frozen_update, raw = frozen_raw, memory = Frozen::memory, image = |_| None, frozen = frozen_bytes);

/// Loads a `T` from `ram` through the per-width method for `T::SIZE`
/// (a constant: the `match` folds away).
#[inline(always)]
pub(crate) fn ram_load<T: Scalar>(ram: &dyn GuestRam, off: u64) -> Result<T, VmError> {
    let v = match T::SIZE {
        1 => u64::from(ram.load_u8(off)?),
        2 => u64::from(ram.load_u16(off)?),
        4 => u64::from(ram.load_u32(off)?),
        _ => ram.load_u64(off)?,
    };
    Ok(T::from_u64_truncating(v))
}

/// Stores a `T` into `ram` through the per-width method for `T::SIZE`.
#[inline(always)]
pub(crate) fn ram_store<T: Scalar>(ram: &dyn GuestRam, off: u64, v: T) -> Result<(), VmError> {
    ram_store_sized(ram, off, T::SIZE, v.to_u64())
}

/// Loads `size` (1, 2, 4 or 8) bytes at `off` as one typed access.
pub(crate) fn ram_load_sized(ram: &dyn GuestRam, off: u64, size: usize) -> Result<u64, VmError> {
    match size {
        1 => ram_load::<u8>(ram, off).map(u64::from),
        2 => ram_load::<u16>(ram, off).map(u64::from),
        4 => ram_load::<u32>(ram, off).map(u64::from),
        _ => ram_load::<u64>(ram, off),
    }
}

/// Stores the low `size` (1, 2, 4 or 8) bytes of `v` at `off` as one
/// typed access.
#[inline(always)]
pub(crate) fn ram_store_sized(
    ram: &dyn GuestRam,
    off: u64,
    size: usize,
    v: u64,
) -> Result<(), VmError> {
    // Truncation is the point: the access is `size` bytes.
    match size {
        1 => ram.store_u8(off, v as u8),
        2 => ram.store_u16(off, v as u16),
        4 => ram.store_u32(off, v as u32),
        _ => ram.store_u64(off, v),
    }
}
