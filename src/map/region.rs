//! One entry of a [`MemoryMap`](crate::MemoryMap): a [`Region`] (guest
//! base, length, name, permissions) and what backs it, plus [`GuestRam`],
//! the small dyn-compatible trait through which a map reaches memory of any
//! geometry.
//!
//! A region is described by its base and its *last* byte, not its end, so a
//! region may end at the very top of the 64-bit address space
//! (`0xffff_ffff_ffff_ffff`) without the end overflowing.

use crate::error::{Access, VmError};
use crate::frozen::Frozen;
use crate::map::mmio::MmioDevice;
use crate::memory::ShardedMemory;
use crate::perms::Perms;
use crate::scalar::Scalar;

/// Memory a map can back a RAM or ROM region with: typed accesses by width
/// and bulk copies at `u64` offsets from its start, all through `&self`.
///
/// Implemented by [`ShardedMemory`] (locked, writable) and [`Frozen`]
/// (lock-free, every write refused with `ReadOnly`). Dyn-compatible: a map
/// holds it as `&'a dyn GuestRam`, so one map mixes memories of different
/// geometries without generics or a heap. Offsets past the memory fail
/// with `OutOfBounds`; an offset that does not fit the host's `usize` is out
/// of bounds too, never truncated.
///
/// ```
/// use vm_mem::{GuestRam, ShardedMemory};
///
/// let mem: ShardedMemory<2, 64> = ShardedMemory::new();
/// let ram: &dyn GuestRam = &mem;
/// ram.store_u32(60, 0xdead_beef)?; // straddles the shards
/// assert_eq!(ram.load_u16(62)?, 0xdead);
/// assert_eq!(ram.size(), 128);
/// assert!(ram.load_u8(1 << 40).is_err());
/// # Ok::<(), vm_mem::VmError>(())
/// ```
pub trait GuestRam: Sync {
    /// Size in bytes.
    fn size(&self) -> u64;
    /// Loads a little-endian `u8` at `offset`.
    fn load_u8(&self, offset: u64) -> Result<u8, VmError>;
    /// Loads a little-endian `u16` at `offset`.
    fn load_u16(&self, offset: u64) -> Result<u16, VmError>;
    /// Loads a little-endian `u32` at `offset`.
    fn load_u32(&self, offset: u64) -> Result<u32, VmError>;
    /// Loads a little-endian `u64` at `offset`.
    fn load_u64(&self, offset: u64) -> Result<u64, VmError>;
    /// Stores a little-endian `u8` at `offset`.
    fn store_u8(&self, offset: u64, v: u8) -> Result<(), VmError>;
    /// Stores a little-endian `u16` at `offset`.
    fn store_u16(&self, offset: u64, v: u16) -> Result<(), VmError>;
    /// Stores a little-endian `u32` at `offset`.
    fn store_u32(&self, offset: u64, v: u32) -> Result<(), VmError>;
    /// Stores a little-endian `u64` at `offset`.
    fn store_u64(&self, offset: u64, v: u64) -> Result<(), VmError>;
    /// Copies `buf.len()` bytes at `offset` into `buf`.
    fn load_bytes(&self, offset: u64, buf: &mut [u8]) -> Result<(), VmError>;
    /// Copies `buf` to `offset`.
    fn store_bytes(&self, offset: u64, buf: &[u8]) -> Result<(), VmError>;
    /// Sets `len` bytes at `offset` to `byte`.
    fn fill_bytes(&self, offset: u64, len: usize, byte: u8) -> Result<(), VmError>;
}

/// Implements [`GuestRam`] for a `usize`-addressed memory kind with the
/// inherent `read_*`/`write_*`/bulk methods, converting offsets without
/// truncation.
macro_rules! guest_ram {
    ([$($gen:tt)*] $ty:ty) => {
        impl<$($gen)*> GuestRam for $ty {
            #[inline]
            fn size(&self) -> u64 {
                // A `usize` always fits a `u64` on the hosts Rust supports.
                ShardedMemory::<SHARDS, SHARD_SIZE>::SIZE as u64
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

guest_ram!([const SHARDS: usize, const SHARD_SIZE: usize] ShardedMemory<SHARDS, SHARD_SIZE>);
guest_ram!([const SHARDS: usize, const SHARD_SIZE: usize] Frozen<'_, SHARDS, SHARD_SIZE>);

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
    let v = v.to_u64();
    // Truncation is the point: `v` came from a `T`.
    match T::SIZE {
        1 => ram.store_u8(off, v as u8),
        2 => ram.store_u16(off, v as u16),
        4 => ram.store_u32(off, v as u32),
        _ => ram.store_u64(off, v),
    }
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

/// What a region is, as reported by [`Region::kind`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RegionKind {
    /// Read-write memory ([`GuestRam`], typically a [`ShardedMemory`]).
    Ram,
    /// Read-only memory (a [`Frozen`] memory): writes fail with `ReadOnly`
    /// whatever the region's permissions.
    Rom,
    /// A memory-mapped device ([`MmioDevice`]).
    Mmio,
}

/// What backs a region.
#[derive(Clone, Copy)]
pub(crate) enum Backing<'a> {
    Ram(&'a dyn GuestRam),
    Rom(&'a dyn GuestRam),
    Mmio(&'a dyn MmioDevice),
}

/// One mapped region: guest bytes `base..=last`, a name, permissions, and
/// the memory or device behind them. Read it through
/// [`MemoryMap::regions`](crate::MemoryMap::regions) or
/// [`MemoryMap::region_at`](crate::MemoryMap::region_at).
///
/// ```
/// use vm_mem::{MemoryMap, Perms, RegionKind, ShardedMemory};
///
/// static SRAM: ShardedMemory<4, 1024> = ShardedMemory::new();
/// let mut map: MemoryMap<'_, 4> = MemoryMap::new();
/// map.add_ram("sram", 0x2000_0000, 0x1000, Perms::RW, &SRAM)?;
/// let r = map.region_at(0x2000_0fff).unwrap();
/// assert_eq!((r.name(), r.base(), r.len(), r.last()), ("sram", 0x2000_0000, 0x1000, 0x2000_0fff));
/// assert_eq!((r.kind(), r.perms()), (RegionKind::Ram, Perms::RW));
/// # Ok::<(), vm_mem::VmError>(())
/// ```
#[derive(Clone, Copy)]
pub struct Region<'a> {
    pub(crate) base: u64,
    /// Last byte (inclusive), so a region can end at `u64::MAX`.
    pub(crate) last: u64,
    pub(crate) name: &'static str,
    pub(crate) perms: Perms,
    /// The permissions the fast path may grant without running hooks:
    /// `perms` less the kinds a hook watches in this region.
    pub(crate) fast: Perms,
    /// Offset into the backing memory or device of the region's `base`.
    pub(crate) offset: u64,
    pub(crate) backing: Backing<'a>,
}

impl<'a> Region<'a> {
    /// The region's name, as given when it was added.
    #[inline]
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// Guest address of the first byte.
    #[inline]
    pub fn base(&self) -> u64 {
        self.base
    }

    /// Guest address of the last byte (inclusive): `base + len - 1`, which
    /// never overflows.
    #[inline]
    pub fn last(&self) -> u64 {
        self.last
    }

    /// Length in bytes (at least 1). A region covering the whole 64-bit
    /// space cannot be added, so this always fits a `u64`.
    #[inline]
    #[allow(clippy::len_without_is_empty)] // a region is never empty
    pub fn len(&self) -> u64 {
        self.last - self.base + 1
    }

    /// The region's permissions.
    #[inline]
    pub fn perms(&self) -> Perms {
        self.perms
    }

    /// RAM, ROM or MMIO.
    #[inline]
    pub fn kind(&self) -> RegionKind {
        match self.backing {
            Backing::Ram(_) => RegionKind::Ram,
            Backing::Rom(_) => RegionKind::Rom,
            Backing::Mmio(_) => RegionKind::Mmio,
        }
    }

    /// Whether guest address `addr` lies in the region.
    #[inline]
    pub fn contains(&self, addr: u64) -> bool {
        self.base <= addr && addr <= self.last
    }

    /// Whether an access of `size` bytes at `addr` (which lies in the
    /// region) ends inside it.
    #[inline(always)]
    pub(crate) fn fits(&self, addr: u64, size: usize) -> bool {
        // `last - addr` cannot underflow: `addr` is in the region.
        (size as u64) - 1 <= self.last - addr
    }

    /// Whether `self` is the part of one region that comes right after
    /// `prev` (both from the same region, split by `protect`): same name
    /// and backing, adjacent in the guest and in the backing.
    pub(crate) fn continues(&self, prev: &Region<'_>) -> bool {
        let same_backing = match (self.backing, prev.backing) {
            (Backing::Ram(a), Backing::Ram(b)) | (Backing::Rom(a), Backing::Rom(b)) => {
                core::ptr::addr_eq(a, b)
            }
            (Backing::Mmio(a), Backing::Mmio(b)) => core::ptr::addr_eq(a, b),
            _ => false,
        };
        same_backing
            && self.name == prev.name
            && prev.last.checked_add(1) == Some(self.base)
            && prev.offset.checked_add(prev.last - prev.base + 1) == Some(self.offset)
    }

    /// The part `base..=last` of this region (which contains both), with
    /// permissions `perms`.
    pub(crate) fn part(&self, base: u64, last: u64, perms: Perms) -> Region<'a> {
        Region {
            base,
            last,
            perms,
            fast: perms,
            offset: self.backing_offset(base),
            ..*self
        }
    }

    /// The backing offset of guest address `addr` (in the region).
    #[inline(always)]
    pub(crate) fn backing_offset(&self, addr: u64) -> u64 {
        // Cannot overflow: `offset + len` was checked against the backing
        // memory when the region was added, and devices get offsets below
        // `offset + len`, which fits a u64 because `len` does.
        self.offset + (addr - self.base)
    }
}

impl core::fmt::Debug for Region<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Region")
            .field("name", &self.name)
            .field("base", &format_args!("{:#x}", self.base))
            .field("last", &format_args!("{:#x}", self.last))
            .field("kind", &self.kind())
            .field("perms", &format_args!("{}", self.perms))
            .finish()
    }
}
