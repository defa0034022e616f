//! [`Cursor`]: a vCPU's own lookup cache over a live [`MemoryMap`] (a
//! software TLB), from [`MemoryMap::cpu`].
//!
//! A cursor keeps 16 direct-mapped entries, each the region of one
//! 4 KiB guest page and the table version it was looked up at. A typed
//! access whose page hits compares the page tag and loads the map's version
//! once: if the version is the one the entry was filled at, no change was
//! published since, so the cached region is exactly what the table would
//! return; the access then goes straight to the memory or device. RAM and
//! ROM are reached through the entry's `RawShards` (the memory's geometry
//! as data, served by `shard.rs`'s own code), so a RAM hit inlines whole,
//! with no dynamic call; a device is one call. A hit
//! searches nothing and stores nothing shared (the cache is the cursor's
//! own, in `Cell`s). Any change to the map (add, remove, move, protect,
//! watch, unwatch) bumps the version, so every entry misses from then on
//! and is looked up again: a cursor never uses a region that a change which
//! returned before the access replaced.
//!
//! Limits: a cursor is `Send` but not `Sync` (one per vCPU thread); the
//! version comparison wraps after `usize::MAX / 2` changes, as
//! [`MemoryMap::version`] does. Bulk copies and guest atomics have no
//! per-page fast path to cache: they reach the map through `Deref`.

use crate::error::{Access, VmError};
use crate::map::access::{fast_load, fast_store, needs};
use crate::map::region::Backing;
use crate::map::region::Region;
use crate::map::MemoryMap;
use crate::perms::Perms;
use crate::scalar::Scalar;
use crate::shard::RawShards;
use core::cell::Cell;

/// Entries in a cursor's cache (direct-mapped by page number).
pub(crate) const ENTRIES: usize = 16;

/// log2 of the page a cursor entry covers (4 KiB).
const PAGE_SHIFT: u32 = 12;

/// The page number of `addr`: what a cache entry is tagged with.
#[inline(always)]
pub(crate) const fn page_of(addr: u64) -> u64 {
    addr >> PAGE_SHIFT
}

/// One cache entry: a page's region as of one table version. Each field
/// is its own `Cell`, so a hit loads only the fields it tests (tag,
/// version, bounds, permissions, the RAM handle), never the whole entry.
struct Entry<'a> {
    /// The page cached, `u64::MAX` for none (no page number is that big).
    page: Cell<u64>,
    version: Cell<usize>,
    /// The region's first and last guest byte.
    base: Cell<u64>,
    last: Cell<u64>,
    /// The backing offset of `base`.
    offset: Cell<u64>,
    /// The permissions the fast path may grant.
    fast: Cell<Perms>,
    /// The RAM or ROM behind the region, geometry as data: read (and, for
    /// RAM, written) inline, with no dynamic call.
    ram: Cell<Option<RawShards<'a>>>,
    /// Whether `ram` may be written (RAM, not ROM).
    writable: Cell<bool>,
    /// The region itself, for the device path.
    region: Cell<Option<Region<'a>>>,
}

impl Entry<'_> {
    /// Matches no page.
    const fn empty() -> Self {
        Entry {
            page: Cell::new(u64::MAX),
            version: Cell::new(0),
            base: Cell::new(0),
            last: Cell::new(0),
            offset: Cell::new(0),
            fast: Cell::new(Perms::NONE),
            ram: Cell::new(None),
            writable: Cell::new(false),
            region: Cell::new(None),
        }
    }
}

/// A per-CPU lookup cache over a [`MemoryMap`]: the same typed accesses
/// (`read_*`, `write_*`, `fetch_*`, [`read`](Self::read),
/// [`write`](Self::write)) with the region of recently used pages cached,
/// so a repeated access costs a tag compare and one version load instead
/// of a table lookup. Everything else (bulk copies, guest atomics,
/// changes, `regions`) is the map's, through `Deref`.
///
/// Make one per vCPU thread with [`MemoryMap::cpu`]; it borrows the map.
/// Its results are exactly the map's: same permissions, hooks, devices and
/// errors; a change to the map that returned before an access is seen by
/// it.
///
/// ```
/// use vm_mem::{MemoryMap, Perms, ShardedMemory};
///
/// static RAM: ShardedMemory<4, 4096> = ShardedMemory::new();
/// static MAP: MemoryMap<'static, 4> = MemoryMap::new();
/// MAP.add_ram("ram", 0x8000_0000, 0x4000, Perms::RW, &RAM)?;
///
/// std::thread::scope(|s| {
///     for t in 0..2u64 {
///         s.spawn(move || {
///             let cpu = MAP.cpu(); // this thread's cache
///             cpu.write_u32(0x8000_0000 + 4 * t, 7).unwrap();
///             assert_eq!(cpu.read_u32(0x8000_0000 + 4 * t).unwrap(), 7);
///         });
///     }
/// });
/// let cpu = MAP.cpu();
/// assert_eq!(cpu.read_u32(0x8000_0004)?, 7);
/// MAP.move_region("ram", 0x9000_0000)?; // every cursor sees the move
/// assert_eq!(cpu.read_u32(0x9000_0004)?, 7);
/// assert!(cpu.read_u32(0x8000_0004).is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Cursor<'m, 'a, const N: usize, const H: usize = 4> {
    map: &'m MemoryMap<'a, N, H>,
    entries: [Entry<'a>; ENTRIES],
}

impl<'a, const N: usize, const H: usize> MemoryMap<'a, N, H> {
    /// A new, empty [`Cursor`] over this map: keep one per vCPU thread and
    /// make its typed accesses through it.
    #[inline]
    pub fn cpu(&self) -> Cursor<'_, 'a, N, H> {
        Cursor {
            map: self,
            entries: [const { Entry::empty() }; ENTRIES],
        }
    }
}

impl<'m, 'a, const N: usize, const H: usize> Cursor<'m, 'a, N, H> {
    crate::typed::typed_methods!(u64, read = ref, write = ref);

    /// The map this cursor caches.
    #[inline]
    pub fn map(&self) -> &'m MemoryMap<'a, N, H> {
        self.map
    }

    /// Forgets every cached region (the next access to each page looks it
    /// up). Never needed for correctness; frees nothing.
    pub fn flush(&self) {
        for e in &self.entries {
            e.page.set(u64::MAX);
        }
    }

    /// The entry slot of `page`.
    #[inline(always)]
    fn slot(&self, page: u64) -> &Entry<'a> {
        // Truncation is the point: the low bits of the page pick the slot.
        &self.entries[page as usize % ENTRIES]
    }

    /// The entry caching `addr`'s page at the map's current version (one
    /// tag compare, one version load) whose region holds the `size` bytes
    /// at `addr` with `need` among its fast-path permissions, and the
    /// backing offset of `addr`.
    #[inline(always)]
    fn hit(&self, addr: u64, size: usize, need: Perms) -> Option<(&Entry<'a>, u64)> {
        let page = page_of(addr);
        let e = self.slot(page);
        if e.page.get() != page || e.version.get() != self.map.table.current() {
            return None;
        }
        let (base, last) = (e.base.get(), e.last.get());
        // The page may hold other regions' bytes (or holes) too.
        let inside = base <= addr && addr <= last && (size as u64 - 1) <= last - addr;
        (inside && e.fast.get().contains(need)).then(|| (e, e.offset.get() + (addr - base)))
    }

    /// Looks `addr` up in the table and caches its page's region (a hole
    /// is not cached).
    #[inline(never)]
    fn refill(&self, addr: u64) -> Option<Region<'a>> {
        let (version, region) = self.map.table.hit_versioned(addr);
        let page = page_of(addr);
        let e = self.slot(page);
        let Some(r) = region else {
            e.page.set(u64::MAX);
            return None;
        };
        let (ram, writable) = match r.backing {
            Backing::Ram(m) => (Some(m.raw()), true),
            Backing::Rom(m) => (Some(m.raw()), false),
            Backing::Mmio(_) => (None, false),
        };
        e.page.set(page);
        e.version.set(version);
        e.base.set(r.base);
        e.last.set(r.last);
        e.offset.set(r.offset);
        e.fast.set(r.fast);
        e.ram.set(ram);
        e.writable.set(writable);
        e.region.set(Some(r));
        Some(r)
    }

    /// The one typed read behind every `read_*` method: the map's
    /// [`MemoryMap::read`], with the lookup cached.
    #[inline(always)]
    pub fn read<T: Scalar>(&self, addr: u64) -> Result<T, VmError> {
        self.load(addr, Access::Read)
    }

    /// Fetches a little-endian 16-bit instruction unit at `addr`, as
    /// [`MemoryMap::fetch_u16`].
    #[inline]
    pub fn fetch_u16(&self, addr: u64) -> Result<u16, VmError> {
        self.load(addr, Access::Fetch)
    }

    /// Fetches a little-endian 32-bit instruction word at `addr`, as
    /// [`MemoryMap::fetch_u32`].
    #[inline]
    pub fn fetch_u32(&self, addr: u64) -> Result<u32, VmError> {
        self.load(addr, Access::Fetch)
    }

    #[inline(always)]
    fn load<T: Scalar>(&self, addr: u64, access: Access) -> Result<T, VmError> {
        if let Some((e, off)) = self.hit(addr, T::SIZE, needs(access)) {
            match e.ram.get() {
                Some(ram) => {
                    if let Some(v) = ram.read(off, T::SIZE) {
                        return Ok(T::from_u64_truncating(v));
                    }
                }
                None => return self.device_load(e, addr, access),
            }
        }
        self.load_miss(addr, access)
    }

    /// A device's load from a hit entry: one call, kept out of line so the
    /// RAM hit needs no stack frame.
    #[inline(never)]
    fn device_load<T: Scalar>(
        &self,
        e: &Entry<'a>,
        addr: u64,
        access: Access,
    ) -> Result<T, VmError> {
        if let Some(v) = e
            .region
            .get()
            .and_then(|r| fast_load::<T>(&r, addr, access))
        {
            return v;
        }
        self.load_miss(addr, access)
    }

    /// A load whose page missed (or that the cached region cannot serve).
    #[inline(never)]
    fn load_miss<T: Scalar>(&self, addr: u64, access: Access) -> Result<T, VmError> {
        if let Some(r) = self.refill(addr) {
            if let Some(v) = fast_load::<T>(&r, addr, access) {
                return v;
            }
        }
        self.map
            .load_slow(addr, T::SIZE, access)
            .map(T::from_u64_truncating)
    }

    /// The one typed write behind every `write_*` method: the map's
    /// [`MemoryMap::write`], with the lookup cached.
    #[inline(always)]
    pub fn write<T: Scalar>(&self, addr: u64, v: T) -> Result<(), VmError> {
        if let Some((e, off)) = self.hit(addr, T::SIZE, Perms::WRITE) {
            match (e.ram.get(), e.writable.get()) {
                (Some(ram), true) => {
                    if let Some(()) = ram.write(off, T::SIZE, v.to_u64()) {
                        return Ok(());
                    }
                }
                (Some(_), false) => {} // ROM: the general path refuses it
                (None, _) => {
                    if let Some(res) = e.region.get().and_then(|r| fast_store(&r, addr, v)) {
                        return res; // a device: one call
                    }
                }
            }
        }
        self.store_miss(addr, v)
    }

    /// A store whose page missed (or that the cached region cannot serve).
    #[inline(never)]
    fn store_miss<T: Scalar>(&self, addr: u64, v: T) -> Result<(), VmError> {
        if let Some(r) = self.refill(addr) {
            if let Some(res) = fast_store(&r, addr, v) {
                return res;
            }
        }
        self.map.store_slow(addr, T::SIZE, v.to_u64())
    }
}

/// Bulk copies, guest atomics, changes and queries: the map's own.
impl<'a, const N: usize, const H: usize> core::ops::Deref for Cursor<'_, 'a, N, H> {
    type Target = MemoryMap<'a, N, H>;

    #[inline(always)]
    fn deref(&self) -> &Self::Target {
        self.map
    }
}

impl<const N: usize, const H: usize> core::fmt::Debug for Cursor<'_, '_, N, H> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let cached = self.entries.iter().filter(|e| e.page.get() != u64::MAX);
        f.debug_struct("Cursor")
            .field("cached_pages", &cached.count())
            .finish_non_exhaustive()
    }
}

/// A cursor is a [`MemoryAccess`](crate::MemoryAccess): an interpreter
/// generic over it runs on the map with a per-CPU cache.
impl<const N: usize, const H: usize> crate::MemoryAccess for Cursor<'_, '_, N, H> {
    crate::map::forward!(Cursor, MemoryMap;
        read read_u8 u8, read read_u16 u16, read read_u32 u32, read read_u64 u64,
        read read_u16_be u16, read read_u32_be u32, read read_u64_be u64,
        read fetch_u16 u16, read fetch_u32 u32;
        write write_u8 u8, write write_u16 u16, write write_u32 u32, write write_u64 u64,
        write write_u16_be u16, write write_u32_be u32, write write_u64_be u64
    );
}
