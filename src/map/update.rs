//! [`MapUpdate`]: several changes to a live map published as one, QEMU's
//! memory transactions. [`MemoryMap::update`] runs a closure on a copy of
//! the table under the writers' mutex; what it adds, removes, moves,
//! protects, watches or replaces is published in one version when it
//! returns `Ok`, and nothing is if it returns `Err`. Every access sees the
//! map before the update or after it, never between two of its changes: a
//! bank switch has no moment with nothing mapped.
//!
//! Every single change of a map (`add_ram`, `protect`, ...) is an update of
//! one change: the checks and errors are those of the map's methods.

use crate::frozen::Frozen;
use crate::map::error::{MapError, MapErrorKind};
use crate::map::hooks::{AccessHook, HookId};
use crate::map::mmio::{DeviceRef, MmioDevice};
use crate::map::ram::GuestRam;
use crate::map::region::{Backing, NewRegion};
use crate::map::table::Layout;
use crate::map::MemoryMap;
use crate::perms::Perms;
use core::ops::RangeInclusive;

/// Changes made inside [`MemoryMap::update`], published together. Each
/// method is the map's method of the same name (same checks, same
/// errors), applied to the update's copy of the table.
///
/// ```
/// use vm_mem::{ErrorKind, MemoryMap, Perms, ShardedMemory};
///
/// static ROM0: ShardedMemory<1, 4096> = ShardedMemory::new();
/// static BANK1: ShardedMemory<1, 4096> = ShardedMemory::new();
/// static MAP: MemoryMap<'static, 4> = MemoryMap::new();
/// BANK1.write_u32(0, 1)?;
/// MAP.add_ram("bank", 0x1000, 4096, Perms::RW, &ROM0)?;
///
/// std::thread::scope(|s| {
///     s.spawn(|| {
///         for _ in 0..100 {
///             // Never a hole: the old bank or the new one.
///             let v = MAP.read_u32(0x1000).unwrap();
///             assert!(v == 0 || v == 1);
///         }
///     });
///     // Two changes, one version: remove and add as one.
///     MAP.update(|u| {
///         u.remove("bank")?;
///         u.add_ram("bank", 0x1000, 4096, Perms::RW, &BANK1)
///     })
///     .unwrap();
/// });
/// assert_eq!(MAP.read_u32(0x1000)?, 1);
/// // A refused change publishes none of the update.
/// let err = MAP.update(|u| {
///     u.move_region("bank", 0x8000)?;
///     u.protect(0x9000..=0x9fff, Perms::READ) // a hole: refused
/// });
/// assert!(err.is_err());
/// assert_eq!(MAP.region("bank").unwrap().base(), 0x1000);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct MapUpdate<'u, 'a, const N: usize, const H: usize> {
    layout: &'u mut Layout<'a, N, H>,
}

impl<'a, const N: usize, const H: usize> MapUpdate<'_, 'a, N, H> {
    crate::access::forward! {
        whole:
        /// As [`MemoryMap::add_ram`].
        fn add_ram(self: &mut Self, name: &'a str, base: u64, len: u64, perms: Perms, ram: &'a dyn GuestRam) -> Result<(), MapError> = add_ram_window;
        /// As [`MemoryMap::add_rom`].
        fn add_rom<const SHARDS: usize, const SHARD_SIZE: usize>(self: &mut Self, name: &'a str, base: u64, len: u64, perms: Perms, rom: &'a Frozen<'a, SHARDS, SHARD_SIZE>) -> Result<(), MapError> = add_rom_window;
    }

    /// As [`MemoryMap::add_ram_window`].
    pub fn add_ram_window(
        &mut self,
        name: &'a str,
        base: u64,
        len: u64,
        perms: Perms,
        ram: &'a dyn GuestRam,
        offset: u64,
    ) -> Result<(), MapError> {
        let ram = Backing::Ram(ram);
        self.add_backing(NewRegion::new((name, base, len, perms), ram, offset), false)
    }

    /// As [`MemoryMap::add_rom_window`].
    pub fn add_rom_window<const SHARDS: usize, const SHARD_SIZE: usize>(
        &mut self,
        name: &'a str,
        base: u64,
        len: u64,
        perms: Perms,
        rom: &'a Frozen<'a, SHARDS, SHARD_SIZE>,
        offset: u64,
    ) -> Result<(), MapError> {
        let rom = Backing::Rom(rom);
        self.add_backing(NewRegion::new((name, base, len, perms), rom, offset), false)
    }

    /// As [`MemoryMap::add_mmio`].
    pub fn add_mmio(
        &mut self,
        name: &'a str,
        base: u64,
        len: u64,
        perms: Perms,
        dev: &'a (dyn MmioDevice + Sync),
    ) -> Result<(), MapError> {
        let dev = Backing::Mmio(DeviceRef::shared(dev));
        self.add_backing(NewRegion::new((name, base, len, perms), dev, 0), false)
    }

    /// The one body of the `add_*` methods (and of an owner map's and the
    /// demand handler's adds): `backing`'s bytes `offset..offset + len` at
    /// `base`; with `join`, a name in use is joined as a further part.
    pub(crate) fn add_backing(&mut self, new: NewRegion<'a>, join: bool) -> Result<(), MapError> {
        self.layout.add(new, join)
    }

    /// As [`MemoryMap::remove`].
    pub fn remove(&mut self, name: &str) -> Result<(), MapError> {
        self.layout.take(name).map(|_| ())
    }

    /// As [`MemoryMap::move_region`].
    pub fn move_region(&mut self, name: &str, new_base: u64) -> Result<(), MapError> {
        self.layout.move_region(name, new_base)
    }

    /// As [`MemoryMap::protect`].
    pub fn protect(&mut self, range: RangeInclusive<u64>, perms: Perms) -> Result<(), MapError> {
        self.layout.protect(*range.start(), *range.end(), perms)
    }

    /// As [`MemoryMap::watch`]; the id is the hook's once the update is
    /// published.
    pub fn watch(
        &mut self,
        range: RangeInclusive<u64>,
        kinds: Perms,
        hook: &'a dyn AccessHook,
    ) -> Result<HookId, MapError> {
        self.layout.watch(*range.start(), *range.end(), kinds, hook)
    }

    /// As [`MemoryMap::unwatch`].
    pub fn unwatch(&mut self, id: HookId) -> Result<(), MapError> {
        let i = self
            .layout
            .hooks
            .iter()
            .position(|h| h.id == id)
            .ok_or(MapError::new(MapErrorKind::NoSuchHook, "hook", "", id.0, 0))?;
        self.layout.hooks.remove(i);
        Ok(())
    }

    /// As [`MemoryMap::replace_ram`].
    pub fn replace_ram(
        &mut self,
        name: &str,
        ram: &'a dyn GuestRam,
        offset: u64,
    ) -> Result<(), MapError> {
        self.layout.replace(name, Backing::Ram(ram), offset)
    }

    /// As [`MemoryMap::replace_mmio`].
    pub fn replace_mmio(
        &mut self,
        name: &str,
        dev: &'a (dyn MmioDevice + Sync),
    ) -> Result<(), MapError> {
        self.layout
            .replace(name, Backing::Mmio(DeviceRef::shared(dev)), 0)
    }
}

impl<'a, const N: usize, const H: usize> MemoryMap<'a, N, H> {
    /// Runs `f` on a copy of the table and publishes all its changes as
    /// one version if it returns `Ok` (nothing if it returns `Err`, which
    /// is returned): see [`MapUpdate`]. Serialised with every other change,
    /// lock-free for accesses as every change is. `f` must not access or
    /// change this map (it runs under the writers' mutex).
    pub fn update<R>(
        &self,
        f: impl FnOnce(&mut MapUpdate<'_, 'a, N, H>) -> Result<R, MapError>,
    ) -> Result<R, MapError> {
        self.table.change(|layout| f(&mut MapUpdate { layout }))
    }

    crate::access::forward! {
        updates:
        /// Puts memory `ram`, from byte `offset` on, behind region `name` (all
        /// its parts, their permissions and hooks kept) in one change: a bank
        /// switch with no moment where nothing is mapped. Fails, with nothing
        /// changed, with [`MapErrorKind::NoSuchRegion`], or
        /// [`MapErrorKind::PastBacking`] if the region does not fit `ram` from
        /// `offset`.
        ///
        /// ```
        /// use vm_mem::{MemoryMap, Perms, ShardedMemory};
        ///
        /// let (bank0, bank1) = (ShardedMemory::<1, 64>::new(), ShardedMemory::<1, 128>::new());
        /// bank1.write_u8(64, 9)?;
        /// let map: MemoryMap<'_, 2> = MemoryMap::new();
        /// map.add_ram("bank", 0x1000, 64, Perms::RW, &bank0)?;
        /// map.replace_ram("bank", &bank1, 64)?; // the upper half of bank1
        /// assert_eq!(map.read_u8(0x1000)?, 9);
        /// assert!(map.replace_ram("bank", &bank0, 1).is_err()); // past its end
        /// # Ok::<(), Box<dyn std::error::Error>>(())
        /// ```
        fn replace_ram(&self, name: &str, ram: &'a dyn GuestRam, offset: u64) -> Result<(), MapError>;
        /// Puts device `dev` behind MMIO region `name` in one change, as
        /// [`replace_ram`](Self::replace_ram) does for memory.
        fn replace_mmio(&self, name: &str, dev: &'a (dyn MmioDevice + Sync)) -> Result<(), MapError>;
    }
}
