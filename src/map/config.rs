//! Changing a live map through `&self`: adding RAM, ROM (whole memories
//! or windows of them) and devices, removing and moving regions,
//! `protect`, `watch` and `unwatch`.
//!
//! Every change runs on a copy of the table under the map's writer mutex
//! and is published whole (see `table.rs`), so changes are serialised
//! among themselves, may come from any thread and from inside a device's
//! or hook's own callback, and a refused change leaves the map exactly as
//! it was. Accesses never wait for the mutex: each sees the table before
//! or after a change, never a mix, and an access already running finishes
//! against the table it started with.

use crate::frozen::Frozen;
use crate::map::error::{MapError, MapErrorKind};
use crate::map::hooks::{AccessHook, Hook, HookId};
use crate::map::mmio::MmioDevice;
use crate::map::ram::GuestRam;
use crate::map::region::{Backing, NewRegion, Region};
use crate::map::table::Layout;
use crate::map::MemoryMap;
use crate::perms::Perms;
use core::ops::RangeInclusive;

impl<'a, const N: usize, const H: usize> Layout<'a, N, H> {
    /// Recomputes every region's fast-path permissions: its permissions
    /// less the access kinds a hook watches somewhere in it.
    pub(crate) fn refresh_fast(&mut self) {
        for r in self.regions.iter_mut() {
            let mut watched = Perms::NONE;
            for h in self.hooks.iter() {
                if h.first <= r.last && r.base <= h.last {
                    watched = watched.union(h.kinds);
                }
            }
            r.fast = Perms::from_bits_truncate(r.perms.bits() & !watched.bits());
        }
    }

    /// Validates and inserts a new region, `backing`'s bytes
    /// `offset..offset + len` at `base`, keeping the table sorted; with
    /// `join`, a name in use is joined (the region becomes a further part
    /// of that name) instead of refused: demand mapping's rule.
    pub(crate) fn add(&mut self, new: NewRegion<'a>, join: bool) -> Result<(), MapError> {
        let (name, base, len) = (new.name, new.base, new.len);
        let err = |kind, other| MapError::new(kind, name, other, base, len);
        if len == 0 {
            return Err(err(MapErrorKind::ZeroLength, ""));
        }
        let Some(last) = base.checked_add(len - 1) else {
            return Err(err(MapErrorKind::PastAddressSpace, ""));
        };
        // A memory's size bounds the window; a device has none.
        if let Some(size) = new.backing.size()
            && new.offset.checked_add(len).is_none_or(|end| end > size)
        {
            return Err(err(MapErrorKind::PastBacking, ""));
        }
        let r = Region {
            base,
            last,
            name,
            perms: new.perms,
            fast: new.perms,
            offset: new.offset,
            backing: new.backing,
        };
        if let Some(other) = self.clash(&r) {
            return Err(err(MapErrorKind::Overlaps, other));
        }
        if !join && self.regions.iter().any(|r| r.name == name) {
            return Err(err(MapErrorKind::NameTaken, name));
        }
        self.insert(r).map_err(|(kind, other)| err(kind, other))
    }

    /// The region `r` would overlap (the lowest one), if any.
    fn clash(&self, r: &Region<'a>) -> Option<&'a str> {
        let idx = self.regions.partition_point(|x| x.base <= r.base);
        let prev = idx.checked_sub(1).and_then(|i| self.regions.get(i));
        if let Some(prev) = prev.filter(|p| p.last >= r.base) {
            return Some(prev.name);
        }
        self.regions
            .get(idx)
            .filter(|next| next.base <= r.last)
            .map(|next| next.name)
    }

    /// Inserts `r` where its base sorts, refusing an overlap (naming the
    /// region overlapped) or a full table.
    fn insert(&mut self, r: Region<'a>) -> Result<(), (MapErrorKind, &'a str)> {
        if let Some(other) = self.clash(&r) {
            return Err((MapErrorKind::Overlaps, other));
        }
        let idx = self.regions.partition_point(|x| x.base <= r.base);
        self.regions
            .insert(idx, r)
            .map_err(|_| (MapErrorKind::TableFull, ""))
    }

    /// The parts of the region called `name` (several if `protect` split
    /// it), ascending, and its whole extent.
    pub(crate) fn take(
        &mut self,
        name: &str,
    ) -> Result<(heapless::Vec<Region<'a>, N>, u64, u64), MapError> {
        let parts: heapless::Vec<Region<'a>, N> = self
            .regions
            .iter()
            .filter(|r| r.name == name)
            .copied()
            .collect();
        let (Some(first), Some(last)) = (parts.first(), parts.last()) else {
            return Err(MapError::new(MapErrorKind::NoSuchRegion, name, "", 0, 0));
        };
        let (base, end) = (first.base, last.last);
        self.regions.retain(|r| r.name != name);
        Ok((parts, base, end))
    }

    /// Moves every part of region `name` by the same distance so that it
    /// starts at `new_base`.
    pub(crate) fn move_region(&mut self, name: &str, new_base: u64) -> Result<(), MapError> {
        let (parts, base, last) = self.take(name)?;
        let len = last - base + 1;
        let err = |kind, other| MapError::new(kind, parts[0].name, other, new_base, len);
        if new_base.checked_add(len - 1).is_none() {
            return Err(err(MapErrorKind::PastAddressSpace, ""));
        }
        for p in parts.iter() {
            let moved = Region {
                base: p.base - base + new_base,
                last: p.last - base + new_base,
                ..*p
            };
            self.insert(moved)
                .map_err(|(kind, other)| err(kind, other))?;
        }
        Ok(())
    }

    /// Sets the permissions of `a..=b`, splitting and merging parts.
    pub(crate) fn protect(&mut self, a: u64, b: u64, perms: Perms) -> Result<(), MapError> {
        let unmapped = |at| MapError::new(MapErrorKind::Unmapped, "", "", at, 1);
        if a > b {
            return Err(MapError::new(MapErrorKind::ZeroLength, "", "", a, 0));
        }
        let mut cur = a;
        let mut first = None;
        loop {
            let r = self
                .regions
                .iter()
                .find(|r| r.contains(cur))
                .ok_or_else(|| unmapped(cur))?;
            first = first.or(Some(r.name));
            if r.last >= b {
                break;
            }
            cur = r.last + 1;
        }
        // A full table is reported as the user's range in the region it
        // starts in, not as the piece whose split did not fit.
        let name = first.unwrap_or_default();
        let full = |e: MapError| MapError::new(e.kind(), name, "", a, (b - a).saturating_add(1));
        let mut table: heapless::Vec<Region<'a>, N> = heapless::Vec::new();
        for r in self.regions.iter() {
            if r.last < a || r.base > b {
                push_merged(&mut table, *r).map_err(full)?;
                continue;
            }
            let mut push = |piece| push_merged(&mut table, piece).map_err(full);
            if r.base < a {
                push(r.part(r.base, a - 1, r.perms))?;
            }
            push(r.part(r.base.max(a), r.last.min(b), perms))?;
            if r.last > b {
                push(r.part(b + 1, r.last, r.perms))?;
            }
        }
        self.regions = table;
        Ok(())
    }

    /// Puts `backing`, from byte `offset` on, behind every part of region
    /// `name`, keeping their places, permissions and hooks.
    pub(crate) fn replace(
        &mut self,
        name: &str,
        backing: Backing<'a>,
        offset: u64,
    ) -> Result<(), MapError> {
        let mut parts = self.regions.iter().filter(|r| r.name == name);
        let Some(first) = parts.next() else {
            return Err(MapError::new(MapErrorKind::NoSuchRegion, name, "", 0, 0));
        };
        let (base, first_name) = (first.base, first.name);
        let last = parts.fold(first.last, |last, r| last.max(r.last));
        let len = last - base + 1;
        let size = backing.size();
        if size.is_some_and(|size| offset.checked_add(len).is_none_or(|end| end > size)) {
            return Err(MapError::new(
                MapErrorKind::PastBacking,
                first_name,
                "",
                base,
                len,
            ));
        }
        for r in self.regions.iter_mut().filter(|r| r.name == name) {
            r.backing = backing;
            // Each part at its place in the new backing: below `size`.
            r.offset = offset + (r.base - base);
        }
        Ok(())
    }

    /// Installs a hook with the next id.
    pub(crate) fn watch(
        &mut self,
        first: u64,
        last: u64,
        kinds: Perms,
        hook: &'a dyn AccessHook,
    ) -> Result<HookId, MapError> {
        let len = last.wrapping_sub(first).wrapping_add(1);
        let err = |kind| MapError::new(kind, "hook", "", first, len);
        if first > last {
            return Err(err(MapErrorKind::ZeroLength));
        }
        let id = HookId(self.next_hook);
        self.next_hook = self
            .next_hook
            .checked_add(1)
            .ok_or(err(MapErrorKind::HookIdsExhausted))?;
        self.hooks
            .push(Hook {
                first,
                last,
                kinds,
                hook,
                id,
            })
            .map_err(|_| err(MapErrorKind::HookTableFull))?;
        Ok(id)
    }
}

/// Appends `r` to a table being rebuilt in address order, merging it into
/// the last entry if it continues it with the same permissions.
fn push_merged<'a, const N: usize>(
    table: &mut heapless::Vec<Region<'a>, N>,
    r: Region<'a>,
) -> Result<(), MapError> {
    if let Some(last) = table.last_mut()
        && r.continues(last)
        && r.perms == last.perms
    {
        last.last = r.last;
        return Ok(());
    }
    table
        .push(r)
        .map_err(|r| MapError::new(MapErrorKind::TableFull, r.name, "", r.base, r.len()))
}

impl<'a, const N: usize, const H: usize> MemoryMap<'a, N, H> {
    /// An empty map (`const`, so it may be a `static`).
    pub const fn new() -> Self {
        Self::with_directory(true)
    }

    /// An empty map whose changes keep the lookup directory or not (an
    /// owner map's does not: its page cache serves the hot path).
    pub(crate) const fn with_directory(directed: bool) -> Self {
        MemoryMap {
            table: crate::map::table::Table::with_directory(directed),
            demand: crate::map::demand::Handlers::new(),
            devices: crate::map::machine::DeviceBaseline::new(),
            cpus: crate::sync::AtomicUsize::new(0),
        }
    }

    /// The id of the next cursor made over this map: 0, 1, 2... (wrapping).
    pub(crate) fn next_cpu_id(&self) -> u32 {
        // ORDERING: `Relaxed`: only the count matters, nothing is published.
        self.cpus.fetch_add(1, crate::sync::Ordering::Relaxed) as u32
    }

    crate::access::forward! {
        updates:
        /// Maps the first `len` bytes of `ram` at guest `base`.
        ///
        /// Fails (nothing changed) with a [`MapError`] if `len` is zero, the
        /// region runs past `u64::MAX`, `len` exceeds `ram`'s size, the name is
        /// taken, it overlaps a region (named in the error), or the table is
        /// full.
        ///
        /// ```
        /// use vm_mem::{MapErrorKind, MemoryMap, Perms, ShardedMemory};
        ///
        /// let ram = ShardedMemory::<1, 256>::new();
        /// let map: MemoryMap<'_, 1> = MemoryMap::new();
        /// let err = map.add_ram("big", 0, 257, Perms::RW, &ram).unwrap_err();
        /// assert_eq!((err.kind(), err.region()), (MapErrorKind::PastBacking, "big"));
        /// map.add_ram("ram", u64::MAX - 255, 256, Perms::RW, &ram)?; // ends at the top
        /// map.write_u8(u64::MAX, 1)?;
        /// assert_eq!(ram.read_u8(255)?, 1);
        /// let err = map.add_ram("more", 0, 1, Perms::RW, &ram).unwrap_err();
        /// assert_eq!(err.kind(), MapErrorKind::TableFull);
        /// # Ok::<(), Box<dyn std::error::Error>>(())
        /// ```
        fn add_ram(&self, name: &'a str, base: u64, len: u64, perms: Perms, ram: &'a dyn GuestRam) -> Result<(), MapError>;
        /// Maps a window of `ram`, its bytes `offset..offset + len`, at guest
        /// `base`: an alias of part of a memory (a RAM mirror, a bank). A
        /// memory may be mapped any number of times, whole or in windows, and
        /// every mapping sees the same bytes. Fails as
        /// [`add_ram`](Self::add_ram) does (the window must lie in `ram`).
        ///
        /// ```
        /// use vm_mem::{MemoryMap, Perms, ShardedMemory};
        ///
        /// let ram = ShardedMemory::<4, 1024>::new();
        /// let map: MemoryMap<'_, 4> = MemoryMap::new();
        /// map.add_ram("ram", 0x2000_0000, 4096, Perms::RW, &ram)?;
        /// map.add_ram_window("upper", 0x3000_0000, 1024, Perms::READ, &ram, 3072)?;
        /// map.write_u32(0x2000_0c10, 7)?;
        /// assert_eq!(map.read_u32(0x3000_0010)?, 7); // the same bytes
        /// assert!(map.add_ram_window("past", 0, 2, Perms::RW, &ram, 4095).is_err());
        /// # Ok::<(), Box<dyn std::error::Error>>(())
        /// ```
        fn add_ram_window(&self, name: &'a str, base: u64, len: u64, perms: Perms, ram: &'a dyn GuestRam, offset: u64) -> Result<(), MapError>;
        /// Maps the first `len` bytes of frozen memory `rom` at guest `base`:
        /// reads take no lock, writes and atomics fail with
        /// [`ErrorKind::ReadOnly`](crate::ErrorKind::ReadOnly) whatever `perms`
        /// says. Fails as [`add_ram`](Self::add_ram) does.
        fn add_rom<const SHARDS: usize, const SHARD_SIZE: usize>(&self, name: &'a str, base: u64, len: u64, perms: Perms, rom: &'a Frozen<'a, SHARDS, SHARD_SIZE>) -> Result<(), MapError>;
        /// Maps a window of frozen memory `rom`, its bytes
        /// `offset..offset + len`, at guest `base` (flash aliased at 0 and at
        /// its own address, a boot ROM's second half). Read-only as
        /// [`add_rom`](Self::add_rom); fails as
        /// [`add_ram_window`](Self::add_ram_window) does.
        ///
        /// ```
        /// use vm_mem::{MemoryMap, Perms, ShardedMemory};
        ///
        /// static FLASH: ShardedMemory<4, 1024> = ShardedMemory::new();
        /// FLASH.write_u32(0x800, 0x2000_1000)?;
        /// let flash = FLASH.freeze();
        /// let map: MemoryMap<'_, 4> = MemoryMap::new();
        /// map.add_rom("flash", 0x0800_0000, 4096, Perms::RX, &flash)?;
        /// map.add_rom_window("boot", 0, 2048, Perms::RX, &flash, 2048)?;
        /// assert_eq!(map.read_u32(0)?, 0x2000_1000);
        /// # Ok::<(), Box<dyn std::error::Error>>(())
        /// ```
        fn add_rom_window<const SHARDS: usize, const SHARD_SIZE: usize>(&self, name: &'a str, base: u64, len: u64, perms: Perms, rom: &'a Frozen<'a, SHARDS, SHARD_SIZE>, offset: u64) -> Result<(), MapError>;
        /// Maps device `dev` at guest `base..base + len`; the device sees
        /// offsets from `base`. Fails as [`add_ram`](Self::add_ram) does (a
        /// device has no size to exceed).
        fn add_mmio(&self, name: &'a str, base: u64, len: u64, perms: Perms, dev: &'a (dyn MmioDevice + Sync)) -> Result<(), MapError>;
        /// Unmaps the region called `name` (all its parts, if `protect` split
        /// it). Accesses starting after this returns find a hole there; an
        /// access already running may finish against the region (its memory or
        /// device is borrowed for `'a`, so that is always sound). Fails with
        /// [`MapErrorKind::NoSuchRegion`] if no region has that name.
        ///
        /// ```
        /// use vm_mem::{ErrorKind, MemoryMap, Perms, ShardedMemory};
        ///
        /// let ram = ShardedMemory::<1, 64>::new();
        /// let map: MemoryMap<'_, 2> = MemoryMap::new();
        /// map.add_ram("ram", 0x1000, 64, Perms::RW, &ram)?;
        /// map.remove("ram")?;
        /// assert_eq!(map.read_u8(0x1000).unwrap_err().kind(), ErrorKind::Unmapped);
        /// assert!(map.remove("ram").is_err());
        /// map.add_ram("ram", 0x1000, 64, Perms::RW, &ram)?; // again
        /// # Ok::<(), Box<dyn std::error::Error>>(())
        /// ```
        fn remove(&self, name: &str) -> Result<(), MapError>;
        /// Moves the region called `name` (all its parts, keeping their
        /// permissions and backing) so that it starts at guest `new_base`: a
        /// boot-ROM remap, a PCI BAR write. Fails, with nothing changed, if no
        /// region has that name ([`MapErrorKind::NoSuchRegion`]), or if at its
        /// new place it would run past `u64::MAX` or overlap another region.
        /// Accesses see it at the old place or the new one, never both or
        /// neither mid-change.
        ///
        /// ```
        /// use vm_mem::{ErrorKind, MemoryMap, Perms, ShardedMemory};
        ///
        /// let ram = ShardedMemory::<1, 64>::new();
        /// let map: MemoryMap<'_, 2> = MemoryMap::new();
        /// map.add_ram("ram", 0x1000, 64, Perms::RW, &ram)?;
        /// map.write_u8(0x1000, 7)?;
        /// map.move_region("ram", 0x8000)?;
        /// assert_eq!(map.read_u8(0x8000)?, 7);
        /// assert_eq!(map.read_u8(0x1000).unwrap_err().kind(), ErrorKind::Unmapped);
        /// # Ok::<(), Box<dyn std::error::Error>>(())
        /// ```
        fn move_region(&self, name: &str, new_base: u64) -> Result<(), MapError>;
        /// Sets the permissions of guest bytes `range` to `perms`, at byte
        /// granularity: regions partly inside are split (each part keeps its
        /// name, backing and place in it), and parts of one region that end up
        /// adjacent with equal permissions are merged again. Reads, writes and
        /// fetches are checked against the new permissions the same way,
        /// hooked or not; an access spanning parts of one region is still one
        /// access (one device call for MMIO). ROM stays read-only: `WRITE` on a
        /// ROM part is recorded but writes still fail with `ReadOnly`.
        ///
        /// Permissions live in the map, not in the memory: a memory's
        /// [`Snapshot`](crate::Snapshot) and `restore` bring back bytes only,
        /// never permissions; a machine snapshot
        /// ([`MemoryMap::restore`]) brings back both.
        ///
        /// Fails, with nothing changed, with [`MapErrorKind::ZeroLength`] if the
        /// range is empty, [`MapErrorKind::Unmapped`] (at the first unmapped
        /// byte) if it covers a hole, or [`MapErrorKind::TableFull`] if the
        /// splits do not fit the table.
        ///
        /// ```
        /// use vm_mem::{ErrorKind, MemoryMap, Perms, ShardedMemory};
        ///
        /// let ram = ShardedMemory::<1, 64>::new();
        /// let map: MemoryMap<'_, 4> = MemoryMap::new();
        /// map.add_ram("ram", 0x1000, 64, Perms::RW, &ram)?;
        /// map.protect(0x1010..=0x1012, Perms::READ)?; // three bytes
        /// assert_eq!(map.regions().len(), 3);
        /// let e = map.write_u32(0x100e, 1).unwrap_err(); // touches 0x1010
        /// assert_eq!(e.kind(), ErrorKind::Permission { needed: Perms::WRITE });
        /// map.write_u8(0x1013, 1)?;
        /// map.protect(0x1000..=0x103f, Perms::RW)?;
        /// assert_eq!(map.regions().len(), 1); // merged back
        /// # Ok::<(), Box<dyn std::error::Error>>(())
        /// ```
        fn protect(&self, range: RangeInclusive<u64>, perms: Perms) -> Result<(), MapError>;
        /// Installs `hook` on guest bytes `range` for the access kinds in
        /// `kinds`: [`Perms::READ`] for reads, [`Perms::WRITE`] for writes,
        /// [`Perms::EXEC`] for fetches. The range may cover holes and regions
        /// added later. Fails, with nothing changed, if the range is empty
        /// ([`MapErrorKind::ZeroLength`]) or the hook table (`H` entries) is
        /// full ([`MapErrorKind::HookTableFull`]).
        ///
        /// Hooks run once per access overlapping the range, in installation
        /// order (see [`AccessHook`]). Regions no hook overlaps keep their
        /// full speed. Ids are never reused.
        fn watch(&self, range: RangeInclusive<u64>, kinds: Perms, hook: &'a dyn AccessHook) -> Result<HookId, MapError>;
        /// Removes the hook `id`. Fails with [`MapErrorKind::NoSuchHook`] if
        /// it is not installed (never installed, or already removed). Accesses
        /// starting after this returns do not call it; one already running
        /// may.
        fn unwatch(&self, id: HookId) -> Result<(), MapError>;
    }

    /// Adds `new` (demand mapping, an owner map's device) in an update of
    /// its own, as [`MapUpdate`]'s `add_backing`.
    pub(crate) fn add_new(&self, new: NewRegion<'a>, join: bool) -> Result<(), MapError> {
        self.update(|u| u.add_backing(new, join))
    }
}
