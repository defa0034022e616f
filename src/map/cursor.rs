//! [`Cursor`]: a vCPU's own lookup cache over a live [`MemoryMap`] (a
//! software TLB), from [`MemoryMap::cpu`].
//!
//! A cursor keeps 64 direct-mapped entries (a `PageCache`), each one 4 KiB
//! guest page with a tag per access kind and the table version it was
//! looked up at. A typed access whose page hits compares its kind's tag and
//! loads the map's version once: if the version is the one the entry was
//! filled at, no change was published since, so the cached page is exactly
//! what the table would give; the access then goes straight to the memory
//! or device. A page wholly inside one RAM or ROM region and one shard is
//! cached as its words and its shard's control block (`src/shard`'s own
//! protocol), so a RAM hit inlines whole, with no bounds or permission
//! test and no dynamic call; a device is one call. A hit
//! searches nothing and stores nothing shared (the cache is the cursor's
//! own, in `Cell`s). Any change to the map (add, remove, move, protect,
//! watch, unwatch) bumps the version, so every entry misses from then on
//! and is looked up again: a cursor never uses a region that a change which
//! returned before the access replaced.
//!
//! Before the cache, a read or fetch tries the cursor's window for its kind
//! (`window.rs`): the RAM or ROM region the cache last looked up for it,
//! as the shared memory's words, current as of the version it was found
//! at. A hit there is the map's version, one compare and one atomic word
//! load, for any address in the region.
//!
//! Limits: a cursor is `Send` but not `Sync` (make it anywhere, move it
//! to its vCPU thread, keep one per vCPU); the
//! version comparison wraps after `usize::MAX / 2` changes, as
//! [`MemoryMap::version`] does. Bulk copies and guest atomics have no
//! per-page fast path to cache: the cursor's own `read_bytes`,
//! `write_bytes`, `fill` and atomics run the map's, with its vCPU id.

use crate::error::VmError;
use crate::map::hooks::WriteData;
use crate::map::page_cache::{Kind, PageCache, PageOwner};
use crate::map::region::{Backing, Region};
use crate::map::window::Window;
use crate::map::MemoryMap;
use crate::scalar::Scalar;
use crate::shard::{SharedPage, SharedRun};

/// A per-CPU lookup cache over a [`MemoryMap`]: the same typed accesses
/// (`read_*`, `write_*`, `fetch_*`, [`read`](Self::read),
/// [`write`](Self::write)) with the region of recently used pages cached,
/// so a repeated access costs a tag compare and one version load instead
/// of a table lookup. Everything else (bulk copies, guest atomics,
/// changes, `regions`, snapshots) is the map's, reached through `Deref`
/// (`cpu.read_bytes(..)`, `cpu.fetch_add::<u32>(..)`) or
/// [`map`](Self::map), and documented on [`MemoryMap`].
///
/// Make one per vCPU thread with [`MemoryMap::cpu`]; it borrows the map.
/// To keep it beside the map in one struct, or in a thread that owns its
/// handle, hold the map in an `Arc` and make the cursor with
/// [`Cursor::new`]`(Arc::clone(&map))` (`R` is then `Arc<MemoryMap>`; any
/// `Deref` to the map will do). Its results are exactly the map's: same
/// permissions, hooks, devices and errors; a change to the map that
/// returned before an access is seen by it.
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
///
/// In a struct beside its map, through an `Arc` (feature `alloc`):
///
/// ```
/// use std::sync::Arc;
/// use vm_mem::{Cursor, MemoryMap, Perms, ShardedMemory};
///
/// static RAM: ShardedMemory<4, 4096> = ShardedMemory::new();
///
/// /// A vCPU that owns its handle on the machine.
/// struct Vcpu {
///     bus: Cursor<'static, 'static, 4, 16, Arc<MemoryMap<'static, 4>>>,
/// }
///
/// let map = Arc::new(MemoryMap::<'static, 4>::new());
/// map.add_ram("ram", 0, 0x4000, Perms::RW, &RAM)?;
/// let cpu = Vcpu { bus: Cursor::new(Arc::clone(&map)) };
/// std::thread::spawn(move || cpu.bus.write_u32(0x10, 5).unwrap()).join().unwrap();
/// assert_eq!(map.read_u32(0x10)?, 5);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Cursor<
    'm,
    'a,
    const N: usize,
    const H: usize = 16,
    R = &'m MemoryMap<'a, N, H>,
    V = PerAccess,
> {
    map: R,
    cache: PageCache<'a, SharedPage<'a>>,
    /// The read and fetch windows tried before the cache (`window.rs`):
    /// flushed with it.
    read_window: Window<SharedRun<'a>>,
    fetch_window: Window<SharedRun<'a>>,
    /// The table version the cache was last synced with ([`PerStep`]).
    seen: core::cell::Cell<usize>,
    /// The vCPU id devices and hooks are told ([`Cursor::id`]).
    id: u32,
    _map: core::marker::PhantomData<(&'m MemoryMap<'a, N, H>, V)>,
}

mod sealed {
    /// Keeps [`Validation`](super::Validation) vm-mem's own.
    pub trait Sealed {}
}

/// When a [`Cursor`] checks that the map did not change: on every access
/// ([`PerAccess`], the default) or at the points its owner names
/// ([`PerStep`]). Sealed.
pub trait Validation: sealed::Sealed {
    /// Whether every access checks the table's version.
    #[doc(hidden)]
    const EACH_ACCESS: bool;
}

/// A cursor that checks the table's version on every access (the
/// default): a change that returned before an access is seen by it.
#[derive(Clone, Copy, Debug, Default)]
pub struct PerAccess;

/// A cursor that checks the table's version only when its owner calls
/// [`Cursor::step`] (at each translation block or instruction, as QEMU
/// flushes a vCPU's TLB at a block boundary), so a hit is a tag compare and
/// the access, with no version load. A change is seen no later than the
/// next `step`: until then, accesses may still go to the regions it
/// replaced (their memories and devices, which the map borrows for `'a`,
/// so this is always memory-safe). Made with [`MemoryMap::cpu_per_step`].
///
/// ```
/// use vm_mem::{MemoryMap, Perms, ShardedMemory};
///
/// let (ram, other) = (ShardedMemory::<1, 4096>::new(), ShardedMemory::<1, 4096>::new());
/// let map: MemoryMap<'_, 4> = MemoryMap::new();
/// map.add_ram("ram", 0x1000, 0x1000, Perms::RW, &ram)?;
/// let cpu = map.cpu_per_step();
/// cpu.write_u32(0x1000, 1)?; // cached
/// map.replace_ram("ram", &other, 0)?;
/// assert_eq!(cpu.read_u32(0x1000)?, 1); // the old page, until the step
/// cpu.step();
/// assert_eq!(cpu.read_u32(0x1000)?, 0); // the new one
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct PerStep;

impl sealed::Sealed for PerAccess {}
impl sealed::Sealed for PerStep {}
impl Validation for PerAccess {
    const EACH_ACCESS: bool = true;
}
impl Validation for PerStep {
    const EACH_ACCESS: bool = false;
}

impl<'a, const N: usize, const H: usize> MemoryMap<'a, N, H> {
    /// A new, empty [`Cursor`] over this map: keep one per vCPU thread and
    /// make its typed accesses through it.
    #[inline]
    pub fn cpu(&self) -> Cursor<'_, 'a, N, H> {
        Cursor::new(self)
    }

    /// A new, empty [`Cursor`] that checks for changes to the map only at
    /// [`Cursor::step`] ([`PerStep`]): the cheapest hit, for an interpreter
    /// that calls `step` at each block or instruction.
    #[inline]
    pub fn cpu_per_step(&self) -> Cursor<'_, 'a, N, H, &Self, PerStep> {
        Cursor::new(self)
    }
}

impl<'m, 'a, const N: usize, const H: usize, R, V> Cursor<'m, 'a, N, H, R, V>
where
    R: core::ops::Deref<Target = MemoryMap<'a, N, H>>,
    V: Validation,
{
    /// A new, empty cursor over the map `map` points to: a borrow (as
    /// [`MemoryMap::cpu`] makes), an `Arc`, any `Deref` to the map. Its
    /// vCPU id is the map's next (0 for the first cursor, then 1, 2...;
    /// see [`id`](Self::id)).
    #[inline]
    pub fn new(map: R) -> Self {
        let seen = map.table.current();
        let id = map.next_cpu_id();
        Cursor {
            map,
            cache: PageCache::new(),
            read_window: Window::new(),
            fetch_window: Window::new(),
            seen: core::cell::Cell::new(seen),
            id,
            _map: core::marker::PhantomData,
        }
    }

    /// The vCPU id that devices and hooks are told made this cursor's
    /// typed accesses ([`Caller::cpu`](crate::Caller::cpu)): the map
    /// numbers its cursors 0, 1, 2... as they are made (wrapping after
    /// 2^32), unless [`with_id`](Self::with_id) set another.
    ///
    /// ```
    /// use vm_mem::MemoryMap;
    ///
    /// let map: MemoryMap<'_, 1> = MemoryMap::new();
    /// let (a, b) = (map.cpu(), map.cpu());
    /// assert_eq!((a.id(), b.id()), (0, 1));
    /// assert_eq!(map.cpu().with_id(7).id(), 7); // the machine's own numbering
    /// ```
    #[inline]
    pub fn id(&self) -> u32 {
        self.id
    }

    /// This cursor with vCPU id `id` (the machine's own numbering: an
    /// MPIDR, a hart id), for devices and hooks to see.
    #[inline]
    #[must_use]
    pub fn with_id(mut self, id: u32) -> Self {
        self.id = id;
        self
    }

    /// Sees every change to the map that returned before this call: the
    /// cache is flushed if the table changed since the last step. A
    /// [`PerStep`] cursor's validation point (call it at each block or
    /// instruction); a [`PerAccess`] cursor needs none, and a call costs it
    /// one load.
    #[inline]
    pub fn step(&self) {
        let now = self.map.table.current();
        if now != self.seen.get() {
            self.seen.set(now);
            self.flush();
        }
    }

    crate::typed::typed_methods!(cached);

    /// [`MemoryMap::read_bytes`], with devices and hooks told it is this
    /// vCPU's ([`id`](Self::id)).
    pub fn read_bytes(&self, addr: u64, buf: &mut [u8]) -> Result<(), VmError> {
        self.map
            .read_bytes_with(addr, buf, &|_| None, Some(self.id))
    }

    /// [`MemoryMap::write_bytes`], with devices and hooks told it is this
    /// vCPU's.
    pub fn write_bytes(&self, addr: u64, buf: &[u8]) -> Result<(), VmError> {
        let data = WriteData::Bytes(buf);
        self.map.write_data(addr, data, &|_| None, Some(self.id))
    }

    /// [`MemoryMap::fill`], with devices and hooks told it is this vCPU's.
    pub fn fill(&self, addr: u64, len: usize, byte: u8) -> Result<(), VmError> {
        let data = WriteData::Fill { byte, len };
        self.map.write_data(addr, data, &|_| None, Some(self.id))
    }

    /// [`MemoryMap::fetch_update`], with hooks told it is this vCPU's (the
    /// guest atomics below are built on it). Generic and one call long, so
    /// it is inlined without a hint.
    pub fn fetch_update<T: Scalar>(
        &self,
        addr: u64,
        f: impl FnMut(T) -> Option<T>,
    ) -> Result<T, VmError> {
        self.map.fetch_update_by(addr, f, Some(self.id))
    }

    crate::atomic::atomic_methods!(&Self, u64);

    /// The map this cursor caches.
    #[inline]
    pub fn map(&self) -> &MemoryMap<'a, N, H> {
        &self.map
    }

    /// Forgets every cached region (the next access to each page looks it
    /// up). Never needed for correctness; frees nothing.
    pub fn flush(&self) {
        self.cache.flush();
        self.read_window.clear();
        self.fetch_window.clear();
    }
}

/// Bulk copies, guest atomics, changes and queries: the map's own. Hidden
/// from the docs, so the cursor's page shows its own methods only (the
/// map's are on [`MemoryMap`]'s page).
#[doc(hidden)]
impl<'a, const N: usize, const H: usize, R, V> core::ops::Deref for Cursor<'_, 'a, N, H, R, V>
where
    R: core::ops::Deref<Target = MemoryMap<'a, N, H>>,
{
    type Target = MemoryMap<'a, N, H>;

    #[inline(always)]
    fn deref(&self) -> &Self::Target {
        &self.map
    }
}

impl<const N: usize, const H: usize, R, V> core::fmt::Debug for Cursor<'_, '_, N, H, R, V> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Cursor")
            .field("id", &self.id)
            .field("cached_pages", &self.cache.cached())
            .finish_non_exhaustive()
    }
}

/// A cursor is a [`MemoryAccess`](crate::MemoryAccess): an interpreter
/// generic over it runs on the map with a per-CPU cache.
impl<'a, const N: usize, const H: usize, R, V> crate::MemoryAccess for Cursor<'_, 'a, N, H, R, V>
where
    R: core::ops::Deref<Target = MemoryMap<'a, N, H>>,
    V: Validation,
{
    crate::access::forward!(guest(Cursor), [*]);
}

/// `&Cursor` too: a cursor's writes need no `&mut`.
impl<'a, const N: usize, const H: usize, R, V> crate::MemoryAccess for &Cursor<'_, 'a, N, H, R, V>
where
    R: core::ops::Deref<Target = MemoryMap<'a, N, H>>,
    V: Validation,
{
    crate::access::forward!(guest(Cursor), [**]);
}

/// A cursor's cache checks the table's version on every hit ([`PerAccess`])
/// or at [`Cursor::step`] only ([`PerStep`]), and reaches a page as its
/// shard's words and control block.
impl<'a, const N: usize, const H: usize, R, V> PageOwner<'a, N, H> for Cursor<'_, 'a, N, H, R, V>
where
    R: core::ops::Deref<Target = MemoryMap<'a, N, H>>,
    V: Validation,
{
    type Page = SharedPage<'a>;
    type Run = SharedRun<'a>;
    type MissGuard<'s>
        = ()
    where
        Self: 's;

    #[inline(always)]
    fn cache(&self) -> &PageCache<'a, SharedPage<'a>> {
        &self.cache
    }

    #[inline(always)]
    fn version(&self) -> Option<usize> {
        V::EACH_ACCESS.then(|| self.map.table.current())
    }

    #[inline(always)]
    fn map(&self) -> &MemoryMap<'a, N, H> {
        &self.map
    }

    #[inline]
    fn page(&self, r: &Region<'a>, off: u64) -> Option<SharedPage<'a>> {
        match r.backing {
            Backing::Ram(m) | Backing::Rom(m) => m.raw().page(off),
            Backing::Mmio(_) => None,
        }
    }

    #[inline(always)]
    fn miss_guard(&self) {}

    #[inline(always)]
    fn cpu(&self) -> Option<u32> {
        Some(self.id)
    }

    #[inline(always)]
    fn window(&self, kind: Kind) -> Option<&Window<SharedRun<'a>>> {
        match kind {
            Kind::Read => Some(&self.read_window),
            Kind::Fetch => Some(&self.fetch_window),
            Kind::Write => None, // a store takes its shard's lock
        }
    }

    /// Aims `kind`'s window at the whole RAM or ROM region the cache holds
    /// for `addr` as of the version read now (a change since: no aim).
    fn aim(&self, addr: u64, kind: Kind) {
        let version = self.version();
        let (Some(w), Some(r)) = (self.window(kind), self.cache.region(addr, kind, version)) else {
            return;
        };
        if let Backing::Ram(m) | Backing::Rom(m) = r.backing
            && let Some(run) = m.raw().run(r.offset, r.len())
        {
            w.aim(r.base, run, version.unwrap_or(0));
        }
    }
}
