//! One entry of a [`MemoryMap`](crate::MemoryMap) as callers see it: a
//! [`Region`] (name, guest base and last byte, permissions, where in its
//! backing it starts) and what backs it ([`RegionKind`]).
//!
//! A region is described by its base and its *last* byte, not its end, so a
//! region may end at the very top of the 64-bit address space
//! (`0xffff_ffff_ffff_ffff`) without the end overflowing. A `Region` is a
//! copy: reading one from a live map never holds the map.

use crate::map::mmio::DeviceRef;
use crate::map::ram::GuestRam;
use crate::perms::Perms;

/// What a region is, as reported by [`Region::kind`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RegionKind {
    /// Read-write memory (a [`ShardedMemory`](crate::ShardedMemory)).
    Ram,
    /// Read-only memory (a [`Frozen`](crate::Frozen) memory): writes fail
    /// with `ReadOnly` whatever the region's permissions.
    Rom,
    /// A memory-mapped device ([`MmioDevice`](crate::MmioDevice)).
    Mmio,
}

/// What backs a region.
#[derive(Clone, Copy)]
pub(crate) enum Backing<'a> {
    Ram(&'a dyn GuestRam),
    Rom(&'a dyn GuestRam),
    Mmio(DeviceRef<'a>),
}

impl<'a> Backing<'a> {
    /// The backing memory's size, which bounds a window of it (`None` for
    /// a device, which has none).
    pub(crate) fn size(self) -> Option<u64> {
        match self {
            Backing::Ram(m) | Backing::Rom(m) => Some(m.size()),
            Backing::Mmio(_) => None,
        }
    }

    /// Whether both are the same memory or device, in the same role. A
    /// device is known by its whole reference (data address and vtable, as
    /// DESIGN.md's identity rule asks), never by its data address alone,
    /// which two zero-sized devices (or a `repr(C)` struct and its first
    /// field) share. A memory is known by its address: `GuestRam` is
    /// sealed, its kinds are never zero-sized nor one inside another, so
    /// two at one address are one; and its vtable may differ from one
    /// `&dyn` to the next (Rust does not promise one vtable per type: Miri
    /// makes one per coercion), which must not make a memory seen again
    /// take a new slot.
    pub(crate) fn same(self, other: Backing<'_>) -> bool {
        match (self, other) {
            (Backing::Ram(a), Backing::Ram(b)) | (Backing::Rom(a), Backing::Rom(b)) => {
                core::ptr::addr_eq(a, b)
            }
            (Backing::Mmio(a), Backing::Mmio(b)) => core::ptr::eq(a.get(), b.get()),
            _ => false,
        }
    }
}

/// One mapped region: guest bytes `base..=last`, a name, permissions, and
/// the memory or device behind them from [`offset`](Self::offset) on. Read
/// it (a copy) through [`MemoryMap::regions`](crate::MemoryMap::regions),
/// [`MemoryMap::region_at`](crate::MemoryMap::region_at) or
/// [`MemoryMap::region`](crate::MemoryMap::region).
///
/// ```
/// use vm_mem::{MemoryMap, Perms, RegionKind, ShardedMemory};
///
/// static SRAM: ShardedMemory<4, 1024> = ShardedMemory::new();
/// let map: MemoryMap<'_, 4> = MemoryMap::new();
/// map.add_ram("sram", 0x2000_0000, 0x1000, Perms::RW, &SRAM)?;
/// let r = map.region_at(0x2000_0fff).unwrap();
/// assert_eq!((r.name(), r.base(), r.len(), r.last()), ("sram", 0x2000_0000, 0x1000, 0x2000_0fff));
/// assert_eq!((r.kind(), r.perms(), r.offset()), (RegionKind::Ram, Perms::RW, 0));
/// # Ok::<(), vm_mem::MapError>(())
/// ```
#[derive(Clone, Copy)]
pub struct Region<'a> {
    pub(crate) base: u64,
    /// Last byte (inclusive), so a region can end at `u64::MAX`.
    pub(crate) last: u64,
    pub(crate) name: &'a str,
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
    pub fn name(&self) -> &'a str {
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

    /// Where `base` lies in the backing memory (a window's offset; 0 for a
    /// region mapping its memory from the start) or device.
    #[inline]
    pub fn offset(&self) -> u64 {
        self.offset
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

    /// The backing offset of `addr` (in the region) if an access of
    /// `size` bytes there ends inside the region and the fast path may
    /// grant `need`: the test every fast path makes.
    #[inline(always)]
    pub(crate) fn serves(&self, addr: u64, size: usize, need: Perms) -> Option<u64> {
        (self.fits(addr, size) && self.fast.contains(need)).then(|| self.backing_offset(addr))
    }

    /// Whether `self` is the part of one region that comes right after
    /// `prev` (both from the same region, split by `protect`): same name
    /// and backing, adjacent in the guest and in the backing.
    pub(crate) fn continues(&self, prev: &Region<'_>) -> bool {
        self.backing.same(prev.backing)
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
            .field("offset", &format_args!("{:#x}", self.offset))
            .field("kind", &self.kind())
            .field("perms", &format_args!("{}", self.perms))
            .finish()
    }
}

/// A region to add, as every `add_*` and a demand mapping describe it:
/// `backing`'s bytes `offset..offset + len` at guest `base`, called `name`,
/// with `perms`. One value, so the one body of every add takes it whole.
#[derive(Clone, Copy)]
pub(crate) struct NewRegion<'a> {
    pub(crate) name: &'a str,
    pub(crate) base: u64,
    pub(crate) len: u64,
    pub(crate) perms: Perms,
    pub(crate) backing: Backing<'a>,
    pub(crate) offset: u64,
}

impl<'a> NewRegion<'a> {
    /// `backing`'s bytes `offset..offset + len` at `base`.
    #[inline]
    pub(crate) const fn new(
        (name, base, len, perms): (&'a str, u64, u64, Perms),
        backing: Backing<'a>,
        offset: u64,
    ) -> Self {
        NewRegion {
            name,
            base,
            len,
            perms,
            backing,
            offset,
        }
    }
}
