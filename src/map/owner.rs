//! [`OwnerMap`]: the map in owner mode, for a single-threaded machine (a
//! fuzzer, a firmware emulator) that owns its memories: it holds each RAM
//! by `&'a mut` and reaches it with plain loads and stores, no lock and no
//! atomic read-modify-write.
//!
//! It is a [`MemoryMap`] (same table, checks, permissions, hooks, devices
//! and live changes) that keeps the map to itself, plus the owner's handles
//! on its memories and its own lookup cache (as a [`Cursor`](crate::Cursor)
//! has). It is neither `Send` nor `Sync`: values are copied in and out of
//! guest memory as with a `Cell`, and no reference to guest bytes outlives
//! a call, so a device or hook that calls back into the map from its
//! callback is fine.
//!
//! The owner map is a whole machine: its devices need not be `Sync`
//! (registers in `Cell`s are fine: one thread calls them); it reads lent
//! RAM and ROM with plain loads; it takes machine snapshots and restores
//! them ([`snapshot`](OwnerMap::snapshot), [`restore`](OwnerMap::restore),
//! [`diff`](OwnerMap::diff); the lent memories registered by region name
//! with [`MachineSnapshot::add_memory_of`](crate::MachineSnapshot::add_memory_of)),
//! copying the lent memories with plain copies, as its bulk copies do; it
//! lends host slices of them ([`slice_mut`](OwnerMap::slice_mut)), keeps
//! their dirty log in guest addresses ([`dirty`](OwnerMap::dirty)) and maps
//! windows and mirrors of them ([`add_ram_window_of`](OwnerMap::add_ram_window_of)).
//!
//! Limits: each memory is lent once (`&'a mut`): further regions over it
//! are made with `add_ram_window_of`. Accesses that the fast path does not
//! serve (hooked, spanning regions) take the map's general path, which
//! locks a shared memory as a shared map does. A machine snapshot an owner
//! map captured is restored and compared by that map alone.

use crate::error::{Access, ErrorKind, VmError};
use crate::frozen::Frozen;
use crate::map::demand::UnmappedHandler;
use crate::map::error::{MapError, MapErrorKind};
use crate::map::hooks::{AccessHook, HookId, WriteData};
use crate::map::machine::{By, MachineSnapshot};
use crate::map::machine_report::{Difference, MachineError, Restored};
use crate::map::mmio::{DeviceRef, MmioDevice, StateRef};
use crate::map::page_cache::{Kind, PageCache, PageOwner};
use crate::map::region::{Backing, NewRegion, Region};
use crate::map::update::MapUpdate;
use crate::map::window::Window;
use crate::map::MemoryMap;
use crate::memory::ShardedMemory;
use crate::perms::Perms;
use crate::scalar::Scalar;
use crate::shard::{OwnedPage, OwnedRam, OwnedRun, DIRTY, PAGE};
use crate::snapshot::{NEVER, UNTRACKED};
use crate::DeviceState;
use core::cell::Cell;
use core::ops::RangeInclusive;

/// A memory lent to the map: its address (to recognise it as a region's
/// backing) and the owner's handle on it.
type Lent<'a> = Option<(*const u8, OwnedRam<'a>)>;

/// A live map of up to `N` regions and `H` hooks over memories it holds
/// exclusively (`&'a mut`): plain loads and stores on RAM, no lock, no
/// atomic read-modify-write. Same API as [`MemoryMap`] (typed, fetch,
/// bulk, guest atomics, `add_*`, `remove`, `move_region`, `protect`,
/// `watch`), same results; not `Send` or `Sync` (one thread's machine).
///
/// ```
/// use vm_mem::{ErrorKind, MemoryMap, OwnerMap, Perms, ShardedMemory};
///
/// let mut ram = ShardedMemory::<4, 4096>::new();
/// {
///     let map: OwnerMap<'_, 4> = OwnerMap::new();
///     map.add_ram("ram", 0x8000_0000, 0x4000, Perms::RW, &mut ram)?;
///     map.write_u32(0x8000_0010, 0xdead_beef)?;
///     assert_eq!(map.read_u16(0x8000_0012)?, 0xdead);
///     assert_eq!(map.fetch_add::<u32>(0x8000_0010, 1)?, 0xdead_beef);
///     map.protect(0x8000_0000..=0x8000_0fff, Perms::READ)?; // live changes too
///     let err = map.write_u8(0x8000_0000, 1).unwrap_err();
///     assert_eq!(err.kind(), ErrorKind::Permission { needed: Perms::WRITE });
/// }
/// assert_eq!(ram.read_u32(0x10)?, 0xdead_bef0); // the memory is back
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// Not `Sync` (nor `Send`): its plain stores must never race another
/// thread's access.
///
/// ```compile_fail
/// fn shared<T: Sync>() {}
/// shared::<vm_mem::OwnerMap<'static, 4>>();
/// ```
pub struct OwnerMap<'a, const N: usize, const H: usize = 16> {
    /// Kept private: a shared `&MemoryMap` would let other threads reach
    /// the memories this map stores to with plain stores.
    map: MemoryMap<'a, N, H>,
    lent: [Cell<Lent<'a>>; N],
    /// Checked against no version on a hit. Only this map's own methods
    /// reach its private table; a device, hook or handler can still call
    /// them (through a `thread_local` holding a leaked `&'static OwnerMap`,
    /// say), but only on this thread and only from inside a call of ours.
    /// Every method that can change the table holds a [`Synced`] guard,
    /// which flushes the cache if the version moved, on return and on
    /// unwind; no user code runs between a hit (or a fill) and the access
    /// that uses it. So no hit outlives a change that returned before it.
    /// `Demand::Map` adds a region without a nested sync, but only in a
    /// hole, which no entry caches. A stale hit would still be memory-safe
    /// (every page lives for `'a`, on this thread); tests/map_owner_reentry.rs
    /// checks each way in.
    cache: PageCache<'a, OwnedPage<'a>>,
    /// The read, fetch and write windows tried before the cache: emptied
    /// with it.
    read_window: Window<OwnedRun<'a>>,
    fetch_window: Window<OwnedRun<'a>>,
    write_window: Window<OwnedRun<'a>>,
    /// The table version the cache is of.
    seen: Cell<usize>,
    /// Its id for machine snapshots ([`NEVER`] until the first capture).
    id: Cell<u64>,
}

/// Syncs its map's cache with its table when dropped, also on unwind.
pub(crate) struct Synced<'s, 'a, const N: usize, const H: usize>(&'s OwnerMap<'a, N, H>);

impl<const N: usize, const H: usize> Drop for Synced<'_, '_, N, H> {
    fn drop(&mut self) {
        self.0.sync();
    }
}

impl<const N: usize, const H: usize> Default for OwnerMap<'_, N, H> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize, const H: usize> core::fmt::Debug for OwnerMap<'_, N, H> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("OwnerMap").field("map", &self.map).finish()
    }
}

impl<'a, const N: usize, const H: usize> OwnerMap<'a, N, H> {
    /// An empty owner-mode map.
    pub const fn new() -> Self {
        OwnerMap {
            // No lookup directory: the page cache serves the hot path, a
            // miss searches, and every change (a fuzzer's protect, remap,
            // restore) skips the directory's cost.
            map: MemoryMap::with_directory(false),
            lent: [const { Cell::new(None) }; N],
            cache: PageCache::new(),
            read_window: Window::new(),
            fetch_window: Window::new(),
            write_window: Window::new(),
            seen: Cell::new(0),
            id: Cell::new(NEVER),
        }
    }

    /// Flushes the cache if the table changed since it was last synced.
    #[inline]
    fn sync(&self) {
        let now = self.map.table.current();
        if now != self.seen.get() {
            self.cache.flush();
            self.read_window.clear();
            self.fetch_window.clear();
            self.write_window.clear();
            self.seen.set(now);
        }
    }

    /// A guard that syncs the cache when the call holding it returns or
    /// unwinds: every call that may change the table takes one.
    #[inline]
    fn synced(&self) -> Synced<'_, 'a, N, H> {
        Synced(self)
    }

    crate::access::forward! {
        whole:
        /// Maps all of `ram` at `base` as a RAM region, as
        /// [`MemoryMap::add_ram`]; the map holds `ram` exclusively for `'a`.
        fn add_ram<const SHARDS: usize, const SHARD_SIZE: usize>(self: &Self, name: &'a str, base: u64, len: u64, perms: Perms, ram: &'a mut ShardedMemory<SHARDS, SHARD_SIZE>) -> Result<(), MapError> = add_ram_window;
    }

    /// Maps `len` bytes of `ram` from `offset` at `base`, as
    /// [`MemoryMap::add_ram_window`]; the map holds `ram` exclusively for
    /// `'a`. Fails with [`MapErrorKind::BackingsFull`] once `N` memories
    /// were lent. A frozen memory ([`ShardedMemory::freeze`], even once its
    /// reader is dropped) stays read-only here too: every write to it fails
    /// with `ReadOnly`, as through every other handle.
    pub fn add_ram_window<const SHARDS: usize, const SHARD_SIZE: usize>(
        &self,
        name: &'a str,
        base: u64,
        len: u64,
        perms: Perms,
        ram: &'a mut ShardedMemory<SHARDS, SHARD_SIZE>,
        offset: u64,
    ) -> Result<(), MapError> {
        if ram.is_frozen() {
            // A frozen memory never changes again, whoever holds it: it is
            // mapped through its shared handle, whose every write path
            // refuses with `ReadOnly` (plain stores would change it).
            let _sync = self.synced();
            return self
                .map
                .add_ram_window(name, base, len, perms, &*ram, offset);
        }
        let Some(slot) = self.lent.iter().find(|l| l.get().is_none()) else {
            return Err(MapError::new(
                MapErrorKind::BackingsFull,
                name,
                "",
                base,
                len,
            ));
        };
        let (shared, owned) = ram.split_owned();
        let _sync = self.synced();
        self.map
            .add_ram_window(name, base, len, perms, shared, offset)?;
        slot.set(Some((core::ptr::from_ref(shared).cast(), owned)));
        Ok(())
    }

    /// Maps a device, as [`MemoryMap::add_mmio`]. The owner map is one
    /// thread's machine, so the device need not be `Sync`: it may keep its
    /// registers in `Cell`s.
    ///
    /// ```
    /// use core::cell::Cell;
    /// use vm_mem::{MmioDevice, OwnerMap, Perms, VmError};
    ///
    /// /// A counter in a `Cell`: not `Sync`.
    /// #[derive(Default)]
    /// struct Ticks(Cell<u32>);
    /// impl MmioDevice for Ticks {
    ///     fn read(&self, _: u64, _: usize) -> Result<u64, VmError> {
    ///         self.0.set(self.0.get() + 1);
    ///         Ok(self.0.get().into())
    ///     }
    ///     fn write(&self, _: u64, _: usize, v: u64) -> Result<(), VmError> {
    ///         self.0.set(v as u32);
    ///         Ok(())
    ///     }
    /// }
    ///
    /// let ticks = Ticks::default();
    /// let map: OwnerMap<'_, 2> = OwnerMap::new();
    /// map.add_mmio("ticks", 0x4000_0000, 4, Perms::RW, &ticks)?;
    /// map.write_u32(0x4000_0000, 41)?;
    /// assert_eq!(map.read_u32(0x4000_0000)?, 42);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[allow(unsafe_code)] // the device's thread, argued at the call
    pub fn add_mmio(
        &self,
        name: &'a str,
        base: u64,
        len: u64,
        perms: Perms,
        dev: &'a dyn MmioDevice,
    ) -> Result<(), MapError> {
        let _sync = self.synced();
        // SAFETY: the device goes into this map's own table, which no other
        // map or thread reaches: the owner map is neither `Send` nor `Sync`
        // and never hands its table out (`map` is private), the machine
        // snapshots it captures are restored and compared by it alone
        // (`MachineError::OtherMap`), and a `Region` copy gives no way to
        // the device. So the device is only ever called on this thread.
        let dev = unsafe { DeviceRef::local(dev) };
        let new = NewRegion::new((name, base, len, perms), Backing::Mmio(dev), 0);
        self.map.add_new(new, false)
    }

    /// Publishes several changes as one, as [`MemoryMap::update`] (RAM
    /// added inside it is reached through its shared path: memories are
    /// lent with [`add_ram`](Self::add_ram)).
    pub fn update<R>(
        &self,
        f: impl FnOnce(&mut MapUpdate<'_, 'a, N, H>) -> Result<R, MapError>,
    ) -> Result<R, MapError> {
        let _sync = self.synced();
        self.map.update(f)
    }

    /// Puts the memory behind RAM region `from` (a lent memory, say), from
    /// byte `offset` on, behind region `name` in one change: a bank switch
    /// between memories lent to this map, as [`MemoryMap::replace_ram`].
    /// Fails with [`MapErrorKind::NoSuchRegion`] if either region is
    /// missing (or `from` is not RAM).
    ///
    /// ```
    /// use vm_mem::{OwnerMap, Perms, ShardedMemory};
    ///
    /// let (mut bank0, mut bank1) = (ShardedMemory::<1, 4096>::new(), ShardedMemory::<1, 4096>::new());
    /// bank1.write_u8(0, 1)?;
    /// let map: OwnerMap<'_, 4> = OwnerMap::new();
    /// map.add_ram("bank", 0x1000, 0x1000, Perms::RW, &mut bank0)?;
    /// map.add_ram("spare", 0x9000, 0x1000, Perms::NONE, &mut bank1)?;
    /// map.replace_ram_of("bank", "spare", 0)?;
    /// assert_eq!(map.read_u8(0x1000)?, 1); // bank1, with plain loads
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn replace_ram_of(&self, name: &str, from: &str, offset: u64) -> Result<(), MapError> {
        let _sync = self.synced();
        let ram = self.map.region(from).and_then(|r| match r.backing {
            Backing::Ram(m) => Some(m),
            _ => None,
        });
        let ram = ram.ok_or(MapError::new(MapErrorKind::NoSuchRegion, from, "", 0, 0))?;
        self.map.replace_ram(name, ram, offset)
    }

    /// Maps `len` bytes of the memory behind RAM region `region` (a memory
    /// lent with [`add_ram`](Self::add_ram), or any RAM), from byte
    /// `offset` of that memory, at guest `base`: a window or a mirror of a
    /// lent memory, reached with plain loads and stores as its first region
    /// is. Fails with [`MapErrorKind::NoSuchRegion`] if no RAM region is
    /// called `region`, else as [`MemoryMap::add_ram_window`].
    ///
    /// ```
    /// use vm_mem::{OwnerMap, Perms, ShardedMemory};
    ///
    /// let mut ram = ShardedMemory::<4, 4096>::new();
    /// let map: OwnerMap<'_, 4> = OwnerMap::new();
    /// map.add_ram("sram", 0x2000_0000, 0x4000, Perms::RW, &mut ram)?;
    /// map.add_ram_window_of("mirror", 0x2200_0000, 0x4000, Perms::RW, "sram", 0)?;
    /// map.add_ram_window_of("bank", 0x3000_0000, 0x1000, Perms::READ, "sram", 0x3000)?;
    /// map.write_u32(0x2000_3010, 7)?;
    /// assert_eq!(map.read_u32(0x2200_3010)?, 7);
    /// assert_eq!(map.read_u32(0x3000_0010)?, 7);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn add_ram_window_of(
        &self,
        name: &'a str,
        base: u64,
        len: u64,
        perms: Perms,
        region: &str,
        offset: u64,
    ) -> Result<(), MapError> {
        let _sync = self.synced();
        let ram = self.map.region(region).and_then(|r| match r.backing {
            Backing::Ram(m) => Some(m),
            _ => None,
        });
        let Some(ram) = ram else {
            return Err(MapError::new(
                MapErrorKind::NoSuchRegion,
                name,
                "",
                base,
                len,
            ));
        };
        self.map.add_ram_window(name, base, len, perms, ram, offset)
    }

    crate::access::forward! {
        updates:
        /// Maps a frozen memory as ROM, as [`MemoryMap::add_rom`].
        fn add_rom<const SHARDS: usize, const SHARD_SIZE: usize>(&self, name: &'a str, base: u64, len: u64, perms: Perms, rom: &'a Frozen<'a, SHARDS, SHARD_SIZE>) -> Result<(), MapError>;
        /// Maps part of a frozen memory as ROM, as [`MemoryMap::add_rom_window`].
        fn add_rom_window<const SHARDS: usize, const SHARD_SIZE: usize>(&self, name: &'a str, base: u64, len: u64, perms: Perms, rom: &'a Frozen<'a, SHARDS, SHARD_SIZE>, offset: u64) -> Result<(), MapError>;
        /// Removes a region, as [`MemoryMap::remove`] (its memory stays
        /// lent until the map is dropped).
        fn remove(&self, name: &str) -> Result<(), MapError>;
        /// Moves a region, as [`MemoryMap::move_region`].
        fn move_region(&self, name: &str, new_base: u64) -> Result<(), MapError>;
        /// Changes permissions, as [`MemoryMap::protect`].
        fn protect(&self, range: RangeInclusive<u64>, perms: Perms) -> Result<(), MapError>;
        /// Installs a hook, as [`MemoryMap::watch`].
        fn watch(&self, range: RangeInclusive<u64>, kinds: Perms, hook: &'a dyn AccessHook) -> Result<HookId, MapError>;
        /// Removes a hook, as [`MemoryMap::unwatch`].
        fn unwatch(&self, id: HookId) -> Result<(), MapError>;
    }

    /// Installs or removes the handler for accesses to unmapped memory, as
    /// [`MemoryMap::set_unmapped_handler`]: the owner map's misses (typed,
    /// bulk and atomic) reach it and are retried once. A region it maps is
    /// reached through the shared path of its memory (only memories lent
    /// with `add_ram` get plain loads and stores).
    pub fn set_unmapped_handler(
        &self,
        handler: Option<&'a dyn UnmappedHandler<'a>>,
    ) -> Result<(), MapError> {
        let _sync = self.synced();
        self.map.set_unmapped_handler(handler)
    }

    /// The regions, as [`MemoryMap::regions`].
    pub fn regions(&self) -> heapless::Vec<Region<'a>, N> {
        self.map.regions()
    }

    /// The region holding `addr`, as [`MemoryMap::region_at`].
    pub fn region_at(&self, addr: u64) -> Option<Region<'a>> {
        self.map.region_at(addr)
    }

    /// The region called `name`, as [`MemoryMap::region`].
    pub fn region(&self, name: &str) -> Option<Region<'a>> {
        self.map.region(name)
    }

    /// The table's version, as [`MemoryMap::version`].
    pub fn version(&self) -> usize {
        self.map.version()
    }

    /// Copies guest bytes out, as [`MemoryMap::read_bytes`] (the same
    /// checks and hooks); the memories lent to the map are read with plain
    /// copies.
    pub fn read_bytes(&self, addr: u64, buf: &mut [u8]) -> Result<(), VmError> {
        let _sync = self.synced();
        self.map
            .read_bytes_with(addr, buf, &|at| self.lent_ram(at), None)
    }

    /// Copies bytes in, as [`MemoryMap::write_bytes`]; the memories lent to
    /// the map are written with plain copies (and marked written).
    pub fn write_bytes(&self, addr: u64, buf: &[u8]) -> Result<(), VmError> {
        let _sync = self.synced();
        let data = WriteData::Bytes(buf);
        self.map
            .write_data(addr, data, &|at| self.lent_ram(at), None)
    }

    /// Fills guest bytes, as [`MemoryMap::fill`], with plain stores into
    /// the memories lent to the map.
    pub fn fill(&self, addr: u64, len: usize, byte: u8) -> Result<(), VmError> {
        let _sync = self.synced();
        let data = WriteData::Fill { byte, len };
        self.map
            .write_data(addr, data, &|at| self.lent_ram(at), None)
    }

    /// How many regions the map can hold: `N`.
    #[inline]
    pub const fn capacity(&self) -> usize {
        N
    }

    /// Captures the whole machine into `snap`, as [`MemoryMap::snapshot`]:
    /// the table, the opted-in devices, and the memories registered with
    /// `snap`. The memories lent to this map cannot be named any more:
    /// register each by the name of its region,
    /// [`MachineSnapshot::add_memory_of`]. The lent memories are copied
    /// with plain copies (no locks). The snapshot then belongs to this
    /// map: it holds the memories lent to it, so restoring or comparing it
    /// through any other map fails with [`MachineError::OtherMap`].
    ///
    /// ```
    /// use vm_mem::{MachineSnapshot, OwnerMap, Perms, ShardedMemory, Snapshot};
    ///
    /// let mut flash = ShardedMemory::<1, 4096>::new();
    /// flash.write_u32(0, 0xe7fe_bf00)?;
    /// let flash = flash.freeze(); // ROM: no snapshot needed
    /// let mut sram = ShardedMemory::<4, 4096>::new();
    /// let mut sram_snap = Snapshot::<4, 4096>::new();
    ///
    /// let map: OwnerMap<'_, 4> = OwnerMap::new();
    /// map.add_rom("flash", 0, 0x1000, Perms::RX, &flash)?;
    /// map.add_ram("sram", 0x2000_0000, 0x4000, Perms::RW, &mut sram)?;
    /// let mut snap = MachineSnapshot::new();
    /// snap.add_memory_of("sram", &mut sram_snap)?;
    /// map.snapshot(&mut snap)?;
    /// for run in 0..3 {
    ///     map.write_u32(0x2000_0100, run)?; // the run
    ///     map.protect(0x2000_0000..=0x2000_0fff, Perms::READ)?;
    ///     let cost = map.restore(&mut snap)?; // what the run changed
    ///     assert_eq!((cost.table, cost.shards), (true, 1));
    ///     assert_eq!(map.diff(&snap, &mut [])?, None);
    /// }
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn snapshot<const M: usize, const D: usize, const B: usize>(
        &self,
        snap: &mut MachineSnapshot<'a, '_, N, M, D, B, H>,
    ) -> Result<(), MachineError> {
        self.as_owner(|map, by| map.snapshot_with(snap, by))
    }

    /// Adds user state to `snap`, as [`MachineSnapshot::add_state`], for
    /// this map's machine: the state need not be `Sync` (CPU registers in
    /// `Cell`s), and the snapshot is then captured, restored and compared
    /// by this map alone ([`MachineError::OtherMap`] elsewhere).
    ///
    /// ```
    /// use core::cell::Cell;
    /// use vm_mem::{DeviceState, MachineSnapshot, OwnerMap, Perms, ShardedMemory, Snapshot};
    ///
    /// /// A CPU's registers in `Cell`s: not `Sync`.
    /// #[derive(Default)]
    /// struct Cpu { pc: Cell<u32> }
    /// impl DeviceState for Cpu {
    ///     fn state_len(&self) -> usize { 4 }
    ///     fn save(&self, out: &mut [u8]) -> usize {
    ///         out[..4].copy_from_slice(&self.pc.get().to_le_bytes());
    ///         4
    ///     }
    ///     fn restore(&self, from: &[u8]) {
    ///         self.pc.set(u32::from_le_bytes(from[..4].try_into().unwrap()));
    ///     }
    ///     fn changed(&self) -> bool { true }
    ///     fn mark_clean(&self) {}
    /// }
    ///
    /// let cpu = Cpu::default();
    /// let mut ram = ShardedMemory::<1, 4096>::new();
    /// let mut ram_snap = Snapshot::<1, 4096>::new();
    /// let map: OwnerMap<'_, 4> = OwnerMap::new();
    /// map.add_ram("ram", 0, 0x1000, Perms::RW, &mut ram)?;
    /// let mut snap = MachineSnapshot::new();
    /// snap.add_memory_of("ram", &mut ram_snap)?;
    /// map.add_state(&mut snap, "cpu", &cpu)?;
    /// map.snapshot(&mut snap)?;
    /// cpu.pc.set(0x40);
    /// map.restore(&mut snap)?;
    /// assert_eq!(cpu.pc.get(), 0);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[allow(unsafe_code)] // the state's thread, argued at the call
    pub fn add_state<const M: usize, const D: usize, const B: usize>(
        &self,
        snap: &mut MachineSnapshot<'a, '_, N, M, D, B, H>,
        name: &'a str,
        state: &'a dyn DeviceState,
    ) -> Result<(), MachineError> {
        snap.bind(self.id()?)?;
        // SAFETY: `bind` ties the snapshot to this map: only this map
        // captures, restores or compares it from now on (every other map
        // gets `OtherMap`), and it does so on its own thread, where
        // `state` was borrowed (a `&` to a non-`Sync` value cannot come
        // from another thread).
        snap.push_state(name, unsafe { StateRef::local(state) })
    }

    /// Brings the whole machine back to `snap`, as [`MemoryMap::restore`]:
    /// the table if it changed, the shards written since, the devices
    /// that changed. Returns what was copied.
    pub fn restore<const M: usize, const D: usize, const B: usize>(
        &self,
        snap: &mut MachineSnapshot<'a, '_, N, M, D, B, H>,
    ) -> Result<Restored, MachineError> {
        self.as_owner(|map, by| map.restore_with(snap, by))
    }

    /// The guest bytes `addr..addr + len` as a host slice, for a loader, a
    /// debugger or a DMA engine's source: they must lie in one region of a
    /// memory lent to this map. Host access, not the guest's: no
    /// permission check, no hook. `&mut self` keeps every access through
    /// the map away while the slice lives. Fails with `Unmapped` for a
    /// hole, [`ErrorKind::NotLent`](crate::ErrorKind::NotLent) for a
    /// device, ROM, a memory the map does not hold, or a range that leaves
    /// its region.
    ///
    /// ```
    /// use vm_mem::{OwnerMap, Perms, ShardedMemory};
    ///
    /// let mut ram = ShardedMemory::<4, 4096>::new();
    /// let mut map: OwnerMap<'_, 2> = OwnerMap::new();
    /// map.add_ram("sram", 0x2000_0000, 0x4000, Perms::RX, &mut ram)?;
    /// // A loader copies an image in, whatever the guest may do there.
    /// map.slice_mut(0x2000_0100, 4)?.copy_from_slice(&[0x13, 0, 0, 0]);
    /// assert_eq!(map.fetch_u32(0x2000_0100)?, 0x13);
    /// assert_eq!(map.slice(0x2000_0100, 2)?, &[0x13, 0]);
    /// assert!(map.slice(0x2000_3ffe, 4).is_err()); // leaves the region
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn slice(&mut self, addr: u64, len: usize) -> Result<&[u8], VmError> {
        self.host_bytes(addr, len, false).map(|b| &*b)
    }

    /// [`slice`](Self::slice), writable: for a loader or a DMA engine's
    /// destination. The shards it spans are marked written (dirty log,
    /// snapshot restore) when it is taken.
    pub fn slice_mut(&mut self, addr: u64, len: usize) -> Result<&mut [u8], VmError> {
        self.host_bytes(addr, len, true)
    }

    /// The one body of `slice` and `slice_mut`.
    #[allow(unsafe_code)] // the slice's exclusivity, argued at the call
    fn host_bytes(&mut self, addr: u64, len: usize, write: bool) -> Result<&mut [u8], VmError> {
        let access = if write { Access::Write } else { Access::Read };
        let fail = |kind| VmError::new(kind, access, addr, len);
        let region = self.map.region_at(addr).ok_or(fail(ErrorKind::Unmapped))?;
        // The range stays in the region: in this part, or in the parts
        // `protect` split it into after this one.
        let mut part = region;
        let inside = len == 0
            || loop {
                if part.fits(
                    addr.max(part.base),
                    len - (addr.max(part.base) - addr) as usize,
                ) {
                    break true;
                }
                match part.last.checked_add(1).and_then(|n| self.map.region_at(n)) {
                    Some(next) if next.continues(&part) => part = next,
                    _ => break false,
                }
            };
        let owned = match region.backing {
            Backing::Ram(m) if inside => self.lent_ram(m.memory_addr()),
            _ => None,
        };
        let owned = owned.ok_or(fail(ErrorKind::NotLent))?;
        let off = region.backing_offset(addr);
        // SAFETY: `self` is borrowed `&mut` for the slice's life, so no
        // access through this map (nor through its devices, hooks or
        // handler, which run only inside its calls) can reach these bytes
        // meanwhile; the memory is lent to this map alone (`&'a mut`).
        let bytes = unsafe { owned.bytes(off, len, write) };
        bytes.ok_or(fail(ErrorKind::NotLent))
    }

    /// The dirty log of the memories lent to this map, in guest addresses:
    /// for each region over a lent memory (in address order), the guest
    /// bytes of each shard of that memory written since the log was last
    /// cleared ([`clear_dirty`](Self::clear_dirty)), as far as the region
    /// maps them. A shard mapped twice (a mirror) shows in both regions.
    /// The granularity is the memory's shard; a restore marks what it
    /// copies back (its bytes changed).
    ///
    /// ```
    /// use vm_mem::{OwnerMap, Perms, ShardedMemory};
    ///
    /// let mut ram = ShardedMemory::<4, 4096>::new();
    /// let map: OwnerMap<'_, 4> = OwnerMap::new();
    /// map.add_ram("sram", 0x2000_0000, 0x4000, Perms::RW, &mut ram)?;
    /// map.add_ram_window_of("mirror", 0x3000_0000, 0x2000, Perms::RW, "sram", 0x2000)?;
    /// map.write_u32(0x2000_2010, 1)?;
    /// let dirty: Vec<_> = map.dirty().collect();
    /// assert_eq!(dirty, [0x2000_2000..=0x2000_2fff, 0x3000_0000..=0x3000_0fff]);
    /// map.clear_dirty();
    /// assert_eq!(map.dirty().count(), 0);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn dirty(&self) -> impl Iterator<Item = RangeInclusive<u64>> + use<'_, 'a, N, H> {
        let regions = self.map.regions().into_iter();
        let lent = regions.filter_map(move |r| match r.backing {
            Backing::Ram(m) => Some((r, self.lent_ram(m.memory_addr())?)),
            _ => None,
        });
        lent.flat_map(|(r, owned)| {
            let shift = owned.shard_shift();
            let last = r.offset + (r.last - r.base); // the window's last byte
                                                     // The shards the region's window of its memory touches.
            (r.offset >> shift..=last >> shift).filter_map(move |i| {
                let dirty = owned.marks(usize::try_from(i).ok()?) & DIRTY != 0;
                // The shard's bytes as guest addresses, clipped to the region.
                let first = (i << shift).max(r.offset);
                let end = ((i + 1) << shift).saturating_sub(1).min(last);
                dirty.then(|| r.base + (first - r.offset)..=r.base + (end - r.offset))
            })
        })
    }

    /// Clears the dirty log of every memory lent to this map.
    pub fn clear_dirty(&self) {
        for lent in self.lent.iter() {
            if let Some((_, owned)) = lent.get() {
                owned.clear_marks(DIRTY);
            }
        }
    }

    /// This map's id for its machine snapshots: drawn once, at the first
    /// capture, from the counter snapshot ids come from (never `NEVER`,
    /// which names shared maps, and never one handed out before), or an
    /// error once that counter ran out (after 2^64 ids, or 2^32 on targets
    /// without 64-bit atomics).
    fn id(&self) -> Result<u64, MachineError> {
        if self.id.get() == NEVER {
            let id = crate::snapshot::next_id();
            if id == UNTRACKED {
                return Err(MachineError::IdsExhausted);
            }
            self.id.set(id);
        }
        Ok(self.id.get())
    }

    /// Runs a machine snapshot's capture, restore or comparison `f` on the
    /// shared map as this owner map: synced, with its id and its lent
    /// memories.
    fn as_owner<R>(
        &self,
        f: impl FnOnce(&MemoryMap<'a, N, H>, By<'_, 'a>) -> Result<R, MachineError>,
    ) -> Result<R, MachineError> {
        let _sync = self.synced();
        let lent = |at| self.lent_ram(at);
        f(
            &self.map,
            By {
                owner: self.id()?,
                lent: &lent,
            },
        )
    }

    /// The owner's handle on the lent memory at address `at`, if any.
    fn lent_ram(&self, at: *const ()) -> Option<OwnedRam<'a>> {
        let at: *const u8 = at.cast();
        self.lent
            .iter()
            .find_map(|l| l.get().filter(|(p, _)| *p == at))
            .map(|(_, owned)| owned)
    }

    /// Compares the machine with `snap`, as [`MemoryMap::diff`].
    pub fn diff<const M: usize, const D: usize, const B: usize>(
        &self,
        snap: &MachineSnapshot<'a, '_, N, M, D, B, H>,
        scratch: &mut [u8],
    ) -> Result<Option<Difference>, MachineError> {
        self.as_owner(|map, by| snap.diff_as(map, by.owner, scratch))
    }

    crate::typed::typed_methods!(cached);

    /// The guest atomic, as [`MemoryMap::fetch_update`]: on lent RAM a
    /// plain load and store (only `f` runs between them: the map is one
    /// thread's); hooked or refused ones take the map's path. `f` must not
    /// access the map: on that path it runs under the memory's write lock,
    /// and an access to the same shard from `f` waits for ever.
    #[inline]
    pub fn fetch_update<T: Scalar>(
        &self,
        addr: u64,
        mut f: impl FnMut(T) -> Option<T>,
    ) -> Result<T, VmError> {
        let _sync = self.synced();
        let mut owned = self.cache.read_write(addr, None);
        if owned.is_none() {
            self.refill(addr);
            owned = self.cache.read_write(addr, None);
        }
        if let Some((page, o)) = owned
            && let Some(old) = page.load::<T>(o)
        {
            if let Some(new) = f(old) {
                // `None`: the page leaves the marking to the slow path
                // (its shard's first write since the baseline, or a
                // memory that keeps lines): the map's write does it.
                if page.store(o, new).is_none() {
                    return self.write(addr, new).map(|()| old);
                }
            }
            return Ok(old);
        }
        self.map.fetch_update(addr, f)
    }

    crate::atomic::atomic_methods!(&Self, u64);
}

/// An owner-mode map is a [`MemoryAccess`](crate::MemoryAccess), like the
/// shared map and its cursors.
impl<const N: usize, const H: usize> crate::MemoryAccess for OwnerMap<'_, N, H> {
    crate::access::forward!(guest(OwnerMap), [*]);
}

/// `&OwnerMap` too: its writes need no `&mut` (it is one thread's).
impl<const N: usize, const H: usize> crate::MemoryAccess for &OwnerMap<'_, N, H> {
    crate::access::forward!(guest(OwnerMap), [**]);
}

/// An owner map's cache checks no version (see the `cache` field): a miss
/// holds a [`Synced`] guard, which flushes the cache if the table changed
/// when the miss returns. It reaches lent RAM as the owner's plain bytes and
/// ROM as its frozen bytes.
impl<'a, const N: usize, const H: usize> PageOwner<'a, N, H> for OwnerMap<'a, N, H> {
    type Page = OwnedPage<'a>;
    type Run = OwnedRun<'a>;
    type MissGuard<'s>
        = Synced<'s, 'a, N, H>
    where
        Self: 's;

    #[inline(always)]
    fn cache(&self) -> &PageCache<'a, OwnedPage<'a>> {
        &self.cache
    }

    #[inline(always)]
    fn version(&self) -> Option<usize> {
        None
    }

    #[inline(always)]
    fn map(&self) -> &MemoryMap<'a, N, H> {
        &self.map
    }

    fn page(&self, r: &Region<'a>, off: u64) -> Option<OwnedPage<'a>> {
        let m = match r.backing {
            Backing::Ram(m) => m,
            // ROM: the frozen bytes, read with plain loads.
            Backing::Rom(m) => {
                let off = usize::try_from(off).ok()?;
                let page = m.frozen_bytes()?.get(off..off.checked_add(PAGE)?)?;
                return OwnedPage::rom(page);
            }
            Backing::Mmio(_) => return None,
        };
        // An address is a sound identity here, unlike for devices:
        // `GuestRam` is sealed, and its kinds are never zero-sized nor
        // one inside another (see `GuestRam::memory_addr`).
        let at: *const u8 = core::ptr::from_ref(m).cast();
        let lent = self
            .lent
            .iter()
            .find_map(|l| l.get().filter(|(p, _)| *p == at));
        lent?.1.page(off)
    }

    #[inline(always)]
    fn miss_guard(&self) -> Synced<'_, 'a, N, H> {
        self.synced()
    }

    #[inline(always)]
    fn window(&self, kind: Kind) -> Option<&Window<OwnedRun<'a>>> {
        match kind {
            Kind::Read => Some(&self.read_window),
            Kind::Fetch => Some(&self.fetch_window),
            Kind::Write => Some(&self.write_window),
        }
    }

    /// Aims `kind`'s window at the region the cache holds for `addr` (its
    /// tag says the fast path may serve `kind` there), if it is lent RAM
    /// or ROM: a load's at the whole region, a store's at the part of it
    /// in `addr`'s shard (whose marks each store tests).
    fn aim(&self, addr: u64, kind: Kind) {
        let (Some(w), Some(r)) = (self.window(kind), self.cache.region(addr, kind, None)) else {
            return;
        };
        let ram = || match r.backing {
            Backing::Ram(m) => self.lent_ram(core::ptr::from_ref(m).cast()),
            _ => None,
        };
        if kind == Kind::Write {
            let at = r.backing_offset(addr);
            if let Some((start, run)) = ram().and_then(|m| m.shard_run(r.offset, r.len(), at)) {
                w.aim(r.base + (start - r.offset), run, 0);
            }
            return;
        }
        let run = match r.backing {
            Backing::Ram(_) => ram().and_then(|m| m.run(r.offset, r.len())),
            Backing::Rom(m) => m
                .frozen_bytes()
                .and_then(|b| b.get(usize::try_from(r.offset).ok()?..))
                .and_then(|b| b.get(..usize::try_from(r.len()).ok()?))
                .map(OwnedRun::rom),
            Backing::Mmio(_) => None,
        };
        if let Some(run) = run {
            w.aim(r.base, run, 0);
        }
    }
}
