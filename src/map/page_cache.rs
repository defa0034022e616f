//! [`PageCache`]: the per-page lookup cache a [`Cursor`](crate::Cursor)
//! and an [`OwnerMap`](crate::OwnerMap) keep (a software TLB, in the
//! style of QEMU's softmmu), one implementation for both.
//!
//! Each entry caches one 4 KiB guest page as of one table version, with
//! one tag per access kind (read, write, fetch): a tag holds the page
//! number only if the fast path may serve that kind there (the region's
//! fast-path permissions allow it, so no hook watches it; a write tag never
//! on ROM). When the whole page lies in one RAM or ROM region and in one
//! shard of its memory, the entry also holds the page's memory itself
//! (a [`PageMem`]: a shared page's words, or an owner's plain bytes), and a
//! hit is a tag compare, one version load and the access: no bounds, no
//! permission test, no dynamic call. Otherwise (a device, a region smaller
//! than the page, a page across shards) a hit goes out of line to the
//! region's own fast path, which checks the bounds; a device is then one
//! call.
//!
//! Any change to the map bumps its version, so every entry misses from
//! then on and is looked up again.
//!
//! In front of the cache, an owner may keep a window per access kind
//! (`window.rs`: the whole region the cache last looked up); the access
//! paths here try it first and aim it on the way out of a miss.

use crate::error::{Access, VmError};
use crate::map::access::{fast_load, fast_store};
use crate::map::caller::Caller;
use crate::map::region::{Backing, Region};
use crate::map::window::Window;
use crate::map::MemoryMap;
use crate::perms::Perms;
use crate::scalar::Scalar;
use crate::shard::Run;
use crate::shard::{OwnedPage, SharedPage, PAGE};
use core::cell::Cell;

/// Entries a cursor's and an owner map's cache hold (direct-mapped by page
/// number): enough that a guest working over 64 pages does not thrash.
pub(crate) const ENTRIES: usize = 64;

/// log2 of [`PAGE`].
const PAGE_SHIFT: u32 = PAGE.trailing_zeros();

/// The address bits folded into a slot index (see `PageCache::slot`):
/// from bit 26 (64 MiB) up, where boards place their regions apart.
const SLOT_FOLD: u32 = 26;

/// The offset of `addr` in its page.
#[inline(always)]
const fn in_page(addr: u64) -> usize {
    // Truncation is the point: the low bits only.
    (addr as usize) & (PAGE - 1)
}

/// The offset in its page of `addr`, known to be a multiple of `T::SIZE`:
/// masked so that the compiler sees the access inside the page and inside
/// one word (no bounds or word-crossing test left).
#[inline(always)]
const fn aligned<T: Scalar>(addr: u64) -> usize {
    (addr as usize) & (PAGE - T::SIZE)
}

/// The tag of each access kind a cache serves.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Kind {
    Read = 0,
    Write = 1,
    Fetch = 2,
}

impl Kind {
    /// The tag a load of `access` looks up (a read or a fetch).
    #[inline(always)]
    pub(crate) const fn of(access: Access) -> Kind {
        match access {
            Access::Fetch => Kind::Fetch,
            Access::Write => Kind::Write,
            Access::Read | Access::Atomic => Kind::Read,
        }
    }

    /// The permission this kind needs.
    const fn perm(self) -> Perms {
        match self {
            Kind::Read => Perms::READ,
            Kind::Write => Perms::WRITE,
            Kind::Fetch => Perms::EXEC,
        }
    }
}

/// A page of memory an entry can hold and access directly: `None` from
/// either method means "not here" (leaves the page, or a writer gave up),
/// and the caller takes its slow path, which decides.
pub(crate) trait PageMem: Copy {
    /// Loads a `T` at `o` in the page.
    fn load<T: Scalar>(&self, o: usize) -> Option<T>;
    /// Stores `v` at `o` in the page.
    fn store<T: Scalar>(&self, o: usize, v: T) -> Option<()>;
}

impl PageMem for SharedPage<'_> {
    #[inline(always)]
    fn load<T: Scalar>(&self, o: usize) -> Option<T> {
        self.read(o, T::SIZE).map(T::from_u64_truncating)
    }

    #[inline(always)]
    fn store<T: Scalar>(&self, o: usize, v: T) -> Option<()> {
        self.write(o, T::SIZE, v.to_u64())
    }
}

impl PageMem for OwnedPage<'_> {
    #[inline(always)]
    fn load<T: Scalar>(&self, o: usize) -> Option<T> {
        OwnedPage::load(self, o)
    }

    #[inline(always)]
    fn store<T: Scalar>(&self, o: usize, v: T) -> Option<()> {
        OwnedPage::store(self, o, v)
    }
}

/// A cache's owner: a [`Cursor`](crate::Cursor) or an
/// [`OwnerMap`](crate::OwnerMap). The two differ only in how a page is
/// reached (a shared page's words, an owner's plain bytes), whether a hit
/// checks the table's version, and what a miss holds while it runs; every
/// access path (the hit, the miss, the refill) is written once, as this
/// trait's provided methods.
pub(crate) trait PageOwner<'a, const N: usize, const H: usize> {
    /// How the cached pages are reached.
    type Page: PageMem;
    /// How a window reaches a region.
    type Run: Run;
    /// What a miss holds while it runs: the owner map syncs its cache when
    /// the miss returns (a miss may run devices, hooks or the handler,
    /// which may change the table); a cursor checks versions instead.
    type MissGuard<'s>
    where
        Self: 's;
    /// The owner's cache.
    fn cache(&self) -> &PageCache<'a, Self::Page>;
    /// The table version a hit must match (read anew at each call), or
    /// `None` when no version is checked (the owner map: it flushes on
    /// change).
    fn version(&self) -> Option<usize>;
    /// The map, whose table a miss looks up and whose general path serves
    /// what the cache cannot.
    fn map(&self) -> &MemoryMap<'a, N, H>;
    /// The page of RAM or ROM region `r` whose first byte is at backing
    /// offset `off`, if this owner reaches it directly.
    fn page(&self, r: &Region<'a>, off: u64) -> Option<Self::Page>;
    /// Taken at the start of a miss, dropped when it returns or unwinds.
    fn miss_guard(&self) -> Self::MissGuard<'_>;
    /// The vCPU devices and hooks are told made a miss's access
    /// ([`Caller::cpu`](crate::Caller::cpu)): a cursor's id; none by default.
    #[inline(always)]
    fn cpu(&self) -> Option<u32> {
        None
    }

    /// The owner's window for `kind` ([`Window`]), tried before the
    /// cache: none by default (a cursor takes the page's words).
    #[inline(always)]
    fn window(&self, _kind: Kind) -> Option<&Window<Self::Run>> {
        None
    }

    /// Aims `kind`'s window at the region of `addr`, which the cache has
    /// just looked up (nothing by default).
    fn aim(&self, _addr: u64, _kind: Kind) {}

    /// A typed access `op`: from the owner's window for its kind if it has
    /// one (one compare and the load, else one call to the cache), else
    /// through the cache.
    #[inline(always)]
    fn cached<T: Scalar, A: Op<T>>(&self, addr: u64, op: A) -> Result<A::Out, VmError> {
        match self.window(op.kind()) {
            Some(w) => match op.on_window(w, addr, self.version()) {
                Some(v) => Ok(v),
                None => self.unwindowed(addr, op),
            },
            None => self.paged(addr, op),
        }
    }

    /// An access its window did not serve: through the cache, then the
    /// window aimed at the region found if the cache missed (it looked the
    /// page up) or the window is due ([`Window::due`]).
    #[inline(never)]
    fn unwindowed<T: Scalar, A: Op<T>>(&self, addr: u64, op: A) -> Result<A::Out, VmError> {
        let held = self
            .cache()
            .hit(addr, 1, op.kind(), self.version())
            .is_some();
        let res = self.paged(addr, op);
        if !held || self.window(op.kind()).is_some_and(Window::due) {
            self.aim(addr, op.kind());
        }
        res
    }

    /// A typed access `op` through the cache: on the cached page's memory
    /// on a hit (a tag compare that also tests the alignment, the version
    /// if the owner checks one, the access), else one call out of line.
    #[inline(always)]
    fn paged<T: Scalar, A: Op<T>>(&self, addr: u64, op: A) -> Result<A::Out, VmError> {
        if let Some(e) = self.cache().hit(addr, T::SIZE, op.kind(), self.version()) {
            match e.mem.get() {
                Some(p) => {
                    if let Some(v) = op.on_page(&p, aligned::<T>(addr)) {
                        return Ok(v);
                    }
                }
                None => return self.cached_region(e, addr, op),
            }
        }
        self.uncached(addr, op)
    }

    /// A hit without the page's memory: the region's fast path (a device
    /// call, or a part-page RAM region), out of line so the memory hit
    /// needs no stack frame; the miss path if the region cannot serve it.
    #[inline(never)]
    fn cached_region<T: Scalar, A: Op<T>>(
        &self,
        e: &Entry<'a, Self::Page>,
        addr: u64,
        op: A,
    ) -> Result<A::Out, VmError> {
        let r = e.region.get().filter(|r| r.contains(addr));
        match r.and_then(|r| op.on_region(&r, addr, self.cpu())) {
            Some(res) => res,
            None => self.uncached(addr, op),
        }
    }

    /// An access the hit path did not serve: from the cache if the page is
    /// cached (a misaligned access, a device), else after looking the page
    /// up, else the map's general path. Holds the miss guard throughout.
    #[inline(never)]
    fn uncached<T: Scalar, A: Op<T>>(&self, addr: u64, op: A) -> Result<A::Out, VmError> {
        let _guard = self.miss_guard();
        let cpu = self.cpu();
        if let Some(res) = self.cache().any(addr, op, self.version(), cpu) {
            return res;
        }
        if let Some(r) = self.refill(addr) {
            if let Some(res) = self.cache().any(addr, op, self.version(), cpu) {
                return res;
            }
            if let Some(res) = op.on_region(&r, addr, cpu) {
                return res;
            }
        }
        op.general(self.map(), addr, cpu)
    }

    /// Looks `addr` up in the map and caches its page (a hole is not
    /// cached): the region, as of the version it was found at.
    #[inline(never)]
    fn refill(&self, addr: u64) -> Option<Region<'a>> {
        let (version, region) = self.map().table.hit_versioned(addr);
        self.cache()
            .fill(addr, version, region, |r, off| self.page(r, off));
        region
    }
}

/// One typed access through a page cache, a load or a store: what differs
/// between them, so that the hit, the region path and the miss are each
/// written once, over this trait.
pub(crate) trait Op<T: Scalar>: Copy {
    /// What the access returns: the value loaded, or `()`.
    type Out;
    /// The tag it looks up.
    fn kind(self) -> Kind;
    /// The access on a cached page's memory at offset `o`: `None` if the
    /// page cannot serve it (it leaves the page, a writer gave up).
    fn on_page<P: PageMem>(self, p: &P, o: usize) -> Option<Self::Out>;
    /// The access through a window at guest address `addr`, current as of
    /// table version `version` (`None`: not checked): `None` if the window
    /// does not serve it.
    fn on_window<R: Run>(
        self,
        w: &Window<R>,
        addr: u64,
        version: Option<usize>,
    ) -> Option<Self::Out>;
    /// The region's own fast path: `None` if it cannot serve the access.
    /// A device is told the access came from vCPU `cpu`.
    fn on_region(
        self,
        r: &Region<'_>,
        addr: u64,
        cpu: Option<u32>,
    ) -> Option<Result<Self::Out, VmError>>;
    /// The map's general path, which serves (or refuses) everything else,
    /// telling devices and hooks the access came from vCPU `cpu`.
    fn general<const N: usize, const H: usize>(
        self,
        map: &MemoryMap<'_, N, H>,
        addr: u64,
        cpu: Option<u32>,
    ) -> Result<Self::Out, VmError>;
}

/// A load of a `T` for `access` (a read or a fetch).
#[derive(Clone, Copy)]
pub(crate) struct Load<T>(pub(crate) Access, pub(crate) core::marker::PhantomData<T>);

/// A store of a `T`.
#[derive(Clone, Copy)]
pub(crate) struct Store<T>(pub(crate) T);

impl<T: Scalar> Op<T> for Load<T> {
    type Out = T;

    #[inline(always)]
    fn kind(self) -> Kind {
        Kind::of(self.0)
    }

    #[inline(always)]
    fn on_page<P: PageMem>(self, p: &P, o: usize) -> Option<T> {
        p.load::<T>(o)
    }

    #[inline(always)]
    fn on_window<R: Run>(self, w: &Window<R>, addr: u64, version: Option<usize>) -> Option<T> {
        w.load::<T>(addr, version)
    }

    #[inline(always)]
    fn on_region(self, r: &Region<'_>, addr: u64, cpu: Option<u32>) -> Option<Result<T, VmError>> {
        fast_load::<T>(r, addr, Caller::with_cpu(self.0, cpu))
    }

    #[inline(always)]
    fn general<const N: usize, const H: usize>(
        self,
        map: &MemoryMap<'_, N, H>,
        addr: u64,
        cpu: Option<u32>,
    ) -> Result<T, VmError> {
        map.load_slow(addr, T::SIZE, Caller::with_cpu(self.0, cpu))
            .map(T::from_u64_truncating)
    }
}

impl<T: Scalar> Op<T> for Store<T> {
    type Out = ();

    #[inline(always)]
    fn kind(self) -> Kind {
        Kind::Write
    }

    #[inline(always)]
    fn on_page<P: PageMem>(self, p: &P, o: usize) -> Option<()> {
        p.store(o, self.0)
    }

    #[inline(always)]
    fn on_window<R: Run>(self, w: &Window<R>, addr: u64, version: Option<usize>) -> Option<()> {
        w.store(addr, self.0, version)
    }

    #[inline(always)]
    fn on_region(self, r: &Region<'_>, addr: u64, cpu: Option<u32>) -> Option<Result<(), VmError>> {
        fast_store(r, addr, self.0, cpu) // (ROM: `None`, refused by the general path)
    }

    #[inline(always)]
    fn general<const N: usize, const H: usize>(
        self,
        map: &MemoryMap<'_, N, H>,
        addr: u64,
        cpu: Option<u32>,
    ) -> Result<(), VmError> {
        let by = Caller::with_cpu(Access::Write, cpu);
        map.store_slow(addr, T::SIZE, self.0.to_u64(), by)
    }
}

/// One entry: a page's tags, the version they are of, and what serves a
/// hit. One `Cell` per field, so a hit loads only what it uses.
pub(crate) struct Entry<'a, P> {
    /// The page's first address per [`Kind`], `u64::MAX` for none (no
    /// page starts there).
    tags: [Cell<u64>; 3],
    version: Cell<usize>,
    /// The page's memory, when the whole page is one region's RAM or ROM.
    mem: Cell<Option<P>>,
    /// The region, for a hit without `mem`.
    region: Cell<Option<Region<'a>>>,
}

impl<P: Copy> Entry<'_, P> {
    const fn empty() -> Self {
        Entry {
            tags: [const { Cell::new(u64::MAX) }; 3],
            version: Cell::new(0),
            mem: Cell::new(None),
            region: Cell::new(None),
        }
    }
}

/// A direct-mapped cache of `E` page entries (`E` a power of two) whose
/// pages are reached through `P`. Owned by one thread (`Cell`s): a hit
/// stores nothing.
pub(crate) struct PageCache<'a, P: PageMem, const E: usize = ENTRIES> {
    entries: [Entry<'a, P>; E],
}

impl<'a, P: PageMem, const E: usize> PageCache<'a, P, E> {
    /// An empty cache.
    pub(crate) const fn new() -> Self {
        const {
            assert!(
                E.is_power_of_two(),
                "vm-mem page cache: the entry count must be a power of two"
            );
        }
        PageCache {
            entries: [const { Entry::empty() }; E],
        }
    }

    /// Forgets every page.
    pub(crate) fn flush(&self) {
        for e in &self.entries {
            for t in &e.tags {
                t.set(u64::MAX);
            }
        }
    }

    /// How many entries hold a tag.
    pub(crate) fn cached(&self) -> usize {
        let held = |e: &&Entry<'a, P>| e.tags.iter().any(|t| t.get() != u64::MAX);
        self.entries.iter().filter(held).count()
    }

    /// The slot of `addr`'s page: its page number's low bits, folded with
    /// the address's bits from 26 up. A board's regions start at distinct
    /// high addresses (flash at 0 or 0x0800_0000, SRAM at 0x2000_0000, a
    /// peripheral at 0x4000_0000), whose first pages would all take slot 0
    /// by page number alone and evict one another on every instruction (the
    /// LibAFL harness measured 2.4x with its regions moved apart); the fold
    /// gives each its own (two instructions on the hit).
    #[inline(always)]
    fn slot(&self, addr: u64) -> &Entry<'a, P> {
        // Truncation is the point: low bits pick the slot.
        let page = (addr >> PAGE_SHIFT) ^ (addr >> SLOT_FOLD);
        &self.entries[page as usize & (E - 1)]
    }

    /// The entry whose `kind` tag is `addr`'s page as of `version` (`None`:
    /// the owner flushes the cache on every change instead), if
    /// `addr` is a multiple of `align` (a power of two up to 8): one
    /// compare tests the page and the alignment (as QEMU's softmmu does),
    /// and an aligned access of `align` bytes lies in one page and one
    /// word.
    #[inline(always)]
    fn hit(
        &self,
        addr: u64,
        align: usize,
        kind: Kind,
        version: Option<usize>,
    ) -> Option<&Entry<'a, P>> {
        let e = self.slot(addr);
        let mask = !(PAGE as u64 - 1) | (align as u64 - 1);
        let current = version.is_none_or(|v| e.version.get() == v);
        (e.tags[kind as usize].get() == addr & mask && current).then_some(e)
    }

    /// The region cached for `kind` at `addr` as of `version`, if it holds
    /// `addr` (an entry's region may be smaller than its page).
    pub(crate) fn region(
        &self,
        addr: u64,
        kind: Kind,
        version: Option<usize>,
    ) -> Option<Region<'a>> {
        let e = self.hit(addr, 1, kind, version)?;
        e.region.get().filter(|r| r.contains(addr))
    }

    /// Whether `addr`'s page is tagged for `kind` as of `version` (for
    /// tests).
    #[cfg(test)]
    fn tagged(&self, addr: u64, kind: Kind, version: usize) -> bool {
        self.hit(addr, 1, kind, Some(version)).is_some()
    }

    /// An access the hit path did not serve (a miss, or a misaligned
    /// one), served from the cache if `addr`'s page is cached for it: the
    /// page's memory (`None` if the access leaves the page), or the
    /// region's fast path. The first step of a miss, before it looks the
    /// page up.
    #[inline]
    fn any<T: Scalar, A: Op<T>>(
        &self,
        addr: u64,
        op: A,
        version: Option<usize>,
        cpu: Option<u32>,
    ) -> Option<Result<A::Out, VmError>> {
        let e = self.hit(addr, 1, op.kind(), version)?;
        match e.mem.get() {
            Some(p) => op.on_page(&p, in_page(addr)).map(Ok),
            None => {
                let r = e.region.get().filter(|r| r.contains(addr))?;
                op.on_region(&r, addr, cpu)
            }
        }
    }

    /// The page's memory at `addr` if both a read and a write of `addr`'s
    /// page hit (what an owner's guest atomic needs), with `addr`'s offset
    /// in it.
    #[inline(always)]
    pub(crate) fn read_write(&self, addr: u64, version: Option<usize>) -> Option<(P, usize)> {
        self.hit(addr, 1, Kind::Read, version)?;
        let m = self.hit(addr, 1, Kind::Write, version)?.mem.get()?;
        Some((m, in_page(addr)))
    }

    /// Caches `addr`'s page as of table version `version`, where the table's lookup of
    /// `addr` gave `region` (`None`: a hole, left untagged). `mem(r, off)`
    /// gives the memory of the page whose first byte is at backing offset
    /// `off` of RAM or ROM region `r`, if it can (else its hits take the
    /// region's path).
    pub(crate) fn fill(
        &self,
        addr: u64,
        version: usize,
        region: Option<Region<'a>>,
        mem: impl FnOnce(&Region<'a>, u64) -> Option<P>,
    ) {
        let e = self.slot(addr);
        for t in &e.tags {
            t.set(u64::MAX);
        }
        let Some(r) = region else { return };
        let first = addr & !(PAGE as u64 - 1);
        let whole = r.base <= first && first + (PAGE as u64 - 1) <= r.last;
        let (m, rom) = match r.backing {
            Backing::Ram(_) | Backing::Rom(_) if whole => (
                mem(&r, r.backing_offset(first)),
                matches!(r.backing, Backing::Rom(_)),
            ),
            Backing::Rom(_) => (None, true),
            _ => (None, false),
        };
        e.version.set(version);
        e.mem.set(m);
        e.region.set(Some(r));
        for kind in [Kind::Read, Kind::Write, Kind::Fetch] {
            // ROM refuses writes whatever its permissions: the map says so.
            let served = r.fast.contains(kind.perm()) && !(rom && kind == Kind::Write);
            if served {
                e.tags[kind as usize].set(first);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::map::hooks::AccessHook;
    use crate::{MemoryMap, ShardedMemory};

    struct Quiet;
    impl AccessHook for Quiet {}

    /// Fills `cache` for `addr` from `map` the way a cursor does.
    fn fill<'a>(cache: &PageCache<'a, SharedPage<'a>, 8>, map: &MemoryMap<'a, 4>, addr: u64) {
        let (version, region) = map.table.hit_versioned(addr);
        cache.fill(addr, version, region, |r, off| match r.backing {
            Backing::Ram(m) | Backing::Rom(m) => m.raw().page(off),
            Backing::Mmio(_) => None,
        });
    }

    #[test]
    fn tags_follow_permissions_hooks_and_whole_pages() {
        let ram = ShardedMemory::<4, 0x2000>::new();
        let map: MemoryMap<'_, 4> = MemoryMap::new();
        map.add_ram("ram", 0x1_0000, 0x3000, Perms::RW, &ram)
            .unwrap();
        map.add_ram_window("small", 0x2_0000, 0x100, Perms::RW, &ram, 0x4000)
            .unwrap();
        map.add_ram_window("cross", 0x3_0000, 0x1000, Perms::RW, &ram, 0x1800)
            .unwrap();
        let cache = PageCache::<SharedPage<'_>, 8>::new();
        let has_mem = |addr| cache.slot(addr).mem.get().is_some();
        let v = map.version();
        fill(&cache, &map, 0x1_0000);
        assert!(cache.tagged(0x1_0ff8, Kind::Read, v));
        assert!(cache.tagged(0x1_0000, Kind::Write, v));
        assert!(!cache.tagged(0x1_0000, Kind::Fetch, v), "no EXEC");
        assert!(has_mem(0x1_0000), "a whole page in a shard");
        // A page across two shards: tagged, served through the region.
        fill(&cache, &map, 0x3_0000);
        assert!(cache.tagged(0x3_0000, Kind::Read, v));
        assert!(!has_mem(0x3_0000));
        // A region smaller than its page: served through the region, which
        // refuses what lies outside it.
        fill(&cache, &map, 0x2_0000);
        assert!(cache.tagged(0x2_0000, Kind::Read, v));
        assert!(!has_mem(0x2_0000), "part of a page");
        // Through a cursor, whose cache does the same.
        let cpu = map.cpu();
        assert!(cpu.read_u8(0x2_0100).is_err(), "past the small region");
        assert_eq!(cpu.read_u8(0x2_00ff), Ok(0));
        // A watched region: no tag for the watched kind.
        let hook = Quiet;
        map.watch(0x1_0010..=0x1_0010, Perms::WRITE, &hook).unwrap();
        let v2 = map.version();
        assert!(!cache.tagged(0x1_0000, Kind::Read, v2), "the version moved");
        fill(&cache, &map, 0x1_1000);
        assert!(cache.tagged(0x1_1000, Kind::Read, v2));
        assert!(!cache.tagged(0x1_1000, Kind::Write, v2), "hooked writes");
        // A hole: nothing, and its slot (shared with page 0x20) is cleared.
        fill(&cache, &map, 0x5_0000);
        assert!(!cache.tagged(0x5_0000, Kind::Read, v2));
        assert_eq!(cache.cached(), 1, "only page 0x11's slot");
        cache.flush();
        assert_eq!(cache.cached(), 0);
    }

    #[test]
    fn rom_pages_get_no_write_tag() {
        let mem = ShardedMemory::<1, 0x1000>::new();
        let rom = mem.freeze();
        let map: MemoryMap<'_, 4> = MemoryMap::new();
        map.add_rom("rom", 0, 0x1000, Perms::RWX, &rom).unwrap();
        let cache = PageCache::<SharedPage<'_>, 8>::new();
        let v = map.version();
        fill(&cache, &map, 0);
        assert!(cache.tagged(0, Kind::Read, v) && cache.tagged(0, Kind::Fetch, v));
        assert!(!cache.tagged(0, Kind::Write, v));
    }
}
