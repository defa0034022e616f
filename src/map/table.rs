//! The live region table behind a [`MemoryMap`](crate::MemoryMap): what an
//! access reads without a lock, and how a change is published.
//!
//! - **Descriptors** hold integers only (base, last byte, offset into the
//!   backing, permissions, fast-path permissions, backing slot), in atomic
//!   words, for regions sorted by base and for hooks in installation order.
//! - **Backing slots** hold what integers cannot: the region's name and its
//!   `&'a` memory or device, with a RAM or ROM memory's shards as data
//!   (`RawShards`, read once when the slot is filled, so an access reads
//!   RAM inline), and, for hooks, the `&'a dyn AccessHook`. A
//!   slot is written once ([`WriteOnce`]) before any descriptor names it
//!   and never changes after, so a reader that saw it named copies it out.
//!   Slots are never reused for another backing (an access may still be
//!   copying one): a map has [`SLOTS_PER_ENTRY`]` * N` region slots and
//!   `SLOTS_PER_ENTRY * H` hook slots for the distinct (name, backing)
//!   pairs and hooks it meets over its life; mapping the same pair again
//!   reuses its slot.
//! - **A lookup directory** (256 buckets by the address's granule and page
//!   bits) names the region to try first; writers compute it with the
//!   descriptors, readers check what it names and search on a miss.
//! - **The version** is a [`SeqLock`] (`seqlock.rs`, the same type a
//!   shard's counter is, with its one ordering argument).
//! - **Readers** (every access) follow its protocol: begin (`Acquire`,
//!   retry while odd), load the descriptors they need (`Relaxed`),
//!   validate (`fence(Acquire)`, the version again) and retry if it moved.
//!   No lock, no read-modify-write, no store: a lookup is loads and one
//!   validation. What they copy out is one consistent table, the one
//!   before or after any change.
//! - **Writers** (changes) hold a spin mutex, read the table as plain data
//!   (the layout: stable, since no other writer runs), build the next
//!   layout beside it, fill the slots it needs, then open a write section
//!   of the version (odd, `fence(Release)`), store every descriptor, and
//!   end it (even, `Release`; also if a store unwinds). A refused change
//!   publishes nothing.
//! - **No drop glue**: every field is atomics, write-once cells of `Copy`
//!   values and a mutex over a `u64`, so a map may sit beside devices that
//!   borrow it (see `once.rs`).
//!
//! Limits: a reader that meets an odd version spins until the writer is
//! done (a few hundred nanoseconds). With feature `critical-section` a
//! change runs inside a critical section, so on a single core an interrupt
//! handler never interrupts one; without it, a change must not be
//! interrupted by code that accesses the same map on the same core, or
//! that code spins forever.

use crate::map::error::{MapError, MapErrorKind};
use crate::map::hooks::{AccessHook, Hook, HookId};
use crate::map::once::WriteOnce;
use crate::map::region::{Backing, Region};
use crate::map::view::View;
use crate::perms::Perms;
use crate::section::{lock_in, Section};
use crate::seqlock::SeqLock;
use crate::shard::RawShards;
use crate::sync::{AtomicU8, AtomicUsize, Ordering};
use spin::mutex::SpinMutex;

/// Write-once backing slots per table entry: room for a map of `N` regions
/// to meet `4 * N` distinct (name, memory or device) pairs over its life
/// (bank switches, remaps, regions removed and added) before it refuses
/// new ones with `BackingsFull`.
pub(crate) const SLOTS_PER_ENTRY: usize = 4;

/// Tables up to this many entries are searched by counting (see
/// `Table::first_past`).
const LINEAR_MAX: usize = 16;

/// Buckets of the lookup directory (see `Table::hints`).
const BUCKETS: usize = 256;

/// The directory bucket of guest address `addr`: its 256 MiB granule of a
/// 4 GiB window (bits 28-31: code, SRAM, peripherals, external RAM... in
/// the usual 32-bit memory maps) and its 4 KiB page within 16 (bits
/// 12-15, which tell apart devices a few pages from each other).
#[inline(always)]
const fn bucket(addr: u64) -> usize {
    // Truncation is the point: 8 bits of the address.
    ((addr >> 24) & 0xf0 | (addr >> 12) & 0xf) as usize
}

/// A directory or slot hint naming nothing: past every index of a table
/// of up to 63 entries, so there the bounds test that indexing needs
/// anyway also rejects it (larger tables test for it).
const NONE: u8 = u8::MAX;

/// For each bucket, the index of a region that may hold addresses of
/// that bucket ([`NONE`]: none), computed by a writer from `regions`:
/// every region claims the buckets its bytes fall in, the first claim
/// wins (regions from index 255 on claim none).
/// A region claims the buckets of its first 256 pages, and every bucket of
/// its first 16 granules if it spans 256 MiB or more.
fn directory<'a>(regions: &[Region<'a>]) -> [u8; BUCKETS] {
    let mut dir = [NONE; BUCKETS];
    for (i, r) in regions.iter().enumerate() {
        let Some(tag) = u8::try_from(i).ok().filter(|&t| t != NONE) else {
            break;
        };
        // The walk claims the buckets of the region's first 256 pages
        // (page starts below `stop`). A granule's pages repeat its 16
        // buckets, so after 16 pages of one granule it jumps to the next:
        // at most 32 steps where going page by page took up to 256.
        let stop = (r.base | 0xfff).saturating_add(1 + 255 * 0x1000);
        let mut at = r.base;
        let mut left = 16;
        loop {
            if dir[bucket(at)] == NONE {
                dir[bucket(at)] = tag;
            }
            left -= 1;
            let next = if left == 0 {
                at | 0x0fff_ffff // the granule's last byte
            } else {
                at | 0xfff // the page's last byte
            };
            match next.checked_add(1) {
                Some(p) if p <= r.last && p < stop => {
                    if p >> 28 != at >> 28 {
                        left = 16;
                    }
                    at = p;
                }
                _ => break,
            }
        }
        claim_granules(&mut dir, r, tag);
    }
    dir
}

/// A region of 256 MiB or more holds whole granules: it claims every free
/// bucket of each granule it touches.
fn claim_granules(dir: &mut [u8; BUCKETS], r: &Region<'_>, tag: u8) {
    if r.last - r.base < 1 << 28 {
        return;
    }
    let granules = ((r.last - r.base) >> 28).min(15) + 1;
    for g in 0..=granules {
        let base = bucket(r.base.wrapping_add(g << 28)) & 0xf0;
        for b in dir.iter_mut().skip(base).take(16) {
            if *b == NONE {
                *b = tag;
            }
        }
    }
}

/// `usize` words per `u64` (1 on 64-bit hosts, 2 on 32-bit ones).
const WORDS: usize = 8 / core::mem::size_of::<usize>();

/// A `u64` in atomic `usize` words, so targets without 64-bit atomics
/// (thumbv7m) hold descriptors too. Loads and stores are `Relaxed`: the
/// version orders them; a torn value is caught by the validation.
struct Wide([AtomicUsize; WORDS]);

impl Wide {
    const fn new() -> Self {
        Wide([const { AtomicUsize::new(0) }; WORDS])
    }

    /// Holding `u64::MAX`: the base of an unused entry.
    const fn max() -> Self {
        Wide([const { AtomicUsize::new(usize::MAX) }; WORDS])
    }

    #[inline(always)]
    fn load(&self) -> u64 {
        let mut v = 0u64;
        for (i, w) in self.0.iter().enumerate() {
            // A `usize` always fits a `u64` on the hosts Rust supports.
            v |= (w.load(Ordering::Relaxed) as u64) << (i as u32 * usize::BITS);
        }
        v
    }

    fn store(&self, v: u64) {
        for (i, w) in self.0.iter().enumerate() {
            // Truncation is the point: each word takes its own bits.
            w.store((v >> (i as u32 * usize::BITS)) as usize, Ordering::Relaxed);
        }
    }
}

/// Packs permissions and a slot index into one word: `perms` in bits 0-3,
/// fast-path permissions in bits 4-7, the slot from bit 8 on.
const fn meta(slot: usize, perms: Perms, fast: Perms) -> usize {
    slot << 8 | (fast.bits() as usize) << 4 | perms.bits() as usize
}

/// Truncation is the point: each field is 4 bits of the word.
const fn perms_at(meta: usize, shift: u32) -> Perms {
    Perms::from_bits_truncate((meta >> shift) as u8 & 0xf)
}

/// An integer-only region descriptor (its base is in `Table::bases`).
struct Desc {
    last: Wide,
    offset: Wide,
    meta: AtomicUsize,
}

impl Desc {
    const fn new() -> Self {
        Desc {
            last: Wide::new(),
            offset: Wide::new(),
            meta: AtomicUsize::new(0),
        }
    }
}

/// An integer-only hook descriptor: watched bytes, kinds (in `meta`'s
/// perms bits), slot and id.
struct HookDesc {
    first: Wide,
    last: Wide,
    id: Wide,
    meta: AtomicUsize,
}

impl HookDesc {
    const fn new() -> Self {
        HookDesc {
            first: Wide::new(),
            last: Wide::new(),
            id: Wide::new(),
            meta: AtomicUsize::new(0),
        }
    }
}

/// What a backing slot holds: the backing, and for RAM and ROM the
/// memory's shards with the geometry as data (read once, when the slot is
/// filled), so an access reads RAM inline, with no dynamic call.
#[derive(Clone, Copy)]
struct Slot<'a> {
    ram: Option<RawShards<'a>>,
    backing: Backing<'a>,
}

/// A region found by [`Table::hit`]: the region (unnamed) and, for RAM or
/// ROM, its memory's shards.
#[derive(Clone, Copy)]
pub(crate) struct Hit<'a> {
    /// Where `Option<Hit>` keeps its `None` (rustc puts it in the field
    /// with the most spare values; a layout choice, not a guarantee, and
    /// only speed depends on it): a word set from a constant, so the
    /// option's test folds away. Without it the option would use a spare
    /// value of the backing's tag, and the compiler, which cannot know a
    /// tag loaded from a slot is valid, would test the loaded tag.
    #[allow(dead_code)] // its job is layout: nobody reads it
    pub(crate) found: Found,
    pub(crate) region: Region<'a>,
    pub(crate) ram: Option<RawShards<'a>>,
}

impl<'a> Hit<'a> {
    /// The hit of a loaded descriptor (its slot index aside) and its slot.
    #[inline(always)]
    fn new((base, last, offset, meta): RawRegion, slot: Slot<'a>, name: &'a str) -> Self {
        Hit {
            found: Found::Yes,
            region: Region {
                base,
                last,
                name,
                perms: perms_at(meta, 0),
                fast: perms_at(meta, 4),
                offset,
                backing: slot.backing,
            },
            ram: slot.ram,
        }
    }
}

/// The one value of [`Hit::found`]: `2^64 - 1` spare values, more than a
/// backing's tag has (it fills a word), so the compiler puts
/// `Option<Hit>`'s `None` here.
#[derive(Clone, Copy)]
#[repr(u64)]
pub(crate) enum Found {
    Yes,
}

/// A region descriptor as loaded: base, last, offset, meta.
type RawRegion = (u64, u64, u64, usize);
/// A hook descriptor as loaded: first, last, id, meta.
type RawHook = (u64, u64, u64, usize);

/// The table as plain data, read by a writer under the mutex, changed,
/// and published.
pub(crate) struct Layout<'a, const N: usize, const H: usize> {
    /// Sorted by base; regions never overlap.
    pub(crate) regions: heapless::Vec<Region<'a>, N>,
    /// Installed hooks, in installation order.
    pub(crate) hooks: heapless::Vec<Hook<'a>, H>,
    /// Id of the next hook; ids are never reused.
    pub(crate) next_hook: u64,
}

/// The live table: descriptors under a version, write-once slots, and the
/// writers' mutex.
pub(crate) struct Table<'a, const N: usize, const H: usize> {
    /// Even: the descriptors are stable; odd: a change is being stored.
    version: SeqLock,
    len: AtomicUsize,
    /// A lookup directory: per [`bucket`] of the address, the index of
    /// the region to try first ([`NONE`]: none). Part of the published table,
    /// written by writers only; a lookup checks the region it names and
    /// searches when it misses, so a stale or colliding entry only costs
    /// the search.
    hints: [AtomicU8; BUCKETS],
    /// For each bucket, the slot index of the region `hints` names
    /// ([`NONE`]: unknown, look in its descriptor): loaded beside the hint, so the
    /// slot's load need not wait for the descriptor's.
    hint_slots: [AtomicU8; BUCKETS],
    /// The regions' bases, ascending (unused entries `u64::MAX`): apart
    /// from the descriptors so a search reads one or two cache lines.
    bases: [Wide; N],
    regions: [Desc; N],
    hook_len: AtomicUsize,
    hooks: [HookDesc; H],
    /// Backings (with their RAM's shards), apart from names: the access
    /// paths never load a name.
    slots: [[WriteOnce<Slot<'a>>; SLOTS_PER_ENTRY]; N],
    /// The name of the region whose backing the same slot index holds.
    names: [[WriteOnce<&'a str>; SLOTS_PER_ENTRY]; N],
    hook_slots: [[WriteOnce<&'a dyn AccessHook>; SLOTS_PER_ENTRY]; H],
    /// Serialises changes; holds the id of the next hook.
    next_hook: SpinMutex<u64>,
    /// Whether changes keep the lookup directory (`hints`). An owner map's
    /// table does not: its page cache serves the hot path and a miss
    /// searches, so a change (a fuzzer's protect, remap or restore) skips
    /// the directory's cost; `hints` then stay `NONE`.
    directed: bool,
}

impl<'a, const N: usize, const H: usize> Table<'a, N, H> {
    /// An empty table that keeps a lookup directory or not (`directed`).
    pub(crate) const fn with_directory(directed: bool) -> Self {
        const {
            assert!(
                N <= (usize::MAX >> 8) / SLOTS_PER_ENTRY,
                "MemoryMap: N is too large to index its slots; choose a smaller N"
            )
        };
        Table {
            directed,
            version: SeqLock::new(),
            len: AtomicUsize::new(0),
            hints: [const { AtomicU8::new(NONE) }; BUCKETS],
            hint_slots: [const { AtomicU8::new(NONE) }; BUCKETS],
            bases: [const { Wide::max() }; N],
            regions: [const { Desc::new() }; N],
            hook_len: AtomicUsize::new(0),
            hooks: [const { HookDesc::new() }; H],
            slots: [const { [const { WriteOnce::new() }; SLOTS_PER_ENTRY] }; N],
            names: [const { [const { WriteOnce::new() }; SLOTS_PER_ENTRY] }; N],
            hook_slots: [const { [const { WriteOnce::new() }; SLOTS_PER_ENTRY] }; H],
            next_hook: SpinMutex::new(0),
        }
    }

    /// The version, once even (no change being stored): the descriptors
    /// and slots the last change published are visible from here on
    /// ([`SeqLock::begin`]).
    #[inline(always)]
    fn begin(&self) -> usize {
        loop {
            if let Some(v) = self.version.begin() {
                return v;
            }
            core::hint::spin_loop();
        }
    }

    /// Whether no change was stored since `begin` returned `v`
    /// ([`SeqLock::validate`]).
    #[inline(always)]
    fn unchanged(&self, v: usize) -> bool {
        self.version.validate(v)
    }

    /// The version of the table: even, and different after every change
    /// (until it wraps, after `usize::MAX / 2` changes).
    #[inline]
    pub(crate) fn version(&self) -> usize {
        self.begin()
    }

    /// Index of the first of the first `len` regions based past `addr`,
    /// clamped to `len`, so a torn `len` cannot index past the array.
    ///
    /// Up to [`LINEAR_MAX`] entries this is a forward scan, larger tables a
    /// binary search: both branch on each comparison, so for a repeated
    /// address pattern the predictor runs ahead and the loads overlap.
    /// (Branch-free variants measured 1.5-2x slower here: a branch-free
    /// binary search makes each load wait for the one before, and a
    /// branch-free count compiled to a slow vector reduction.)
    #[inline(always)]
    fn first_past(&self, len: usize, addr: u64) -> usize {
        let len = len.min(N);
        let at_or_below = |i: usize| self.bases.get(i).is_some_and(|b| b.load() <= addr);
        if N <= LINEAR_MAX {
            let mut i = 0;
            while i < len && at_or_below(i) {
                i += 1;
            }
            return i;
        }
        let (mut lo, mut hi) = (0, len);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if at_or_below(mid) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        lo
    }

    #[inline(always)]
    fn raw(&self, i: usize) -> Option<RawRegion> {
        let (b, d) = (self.bases.get(i)?, self.regions.get(i)?);
        Some((
            b.load(),
            d.last.load(),
            d.offset.load(),
            d.meta.load(Ordering::Relaxed),
        ))
    }

    /// The descriptor holding `addr`, as of one version.
    #[inline(always)]
    fn search(&self, addr: u64) -> Option<RawRegion> {
        let b = bucket(addr);
        let hint = self.hints[b].load(Ordering::Relaxed);
        let slot = self.hint_slots[b].load(Ordering::Relaxed);
        if let Some(mut raw) = self.raw(usize::from(hint))
            && raw.0 <= addr
            && addr <= raw.1
        {
            if slot != NONE {
                // The same slot as the descriptor's (one publication).
                raw.3 = usize::from(slot) << 8 | raw.3 & 0xff;
            }
            return Some(raw);
        }
        let i = self.first_past(self.len.load(Ordering::Relaxed), addr);
        let raw = self.raw(i.checked_sub(1)?)?;
        (addr <= raw.1).then_some(raw)
    }

    /// A loaded descriptor with its slot: the region it names, with its
    /// name if `named` (else an empty name, for the access paths, which
    /// never read it), and its RAM's shards.
    #[inline(always)]
    fn resolve(&self, (base, last, offset, meta): RawRegion, named: bool) -> Option<Hit<'a>> {
        // Published before the version that named them (see `begin`): `get`
        // finds them; a `None` cannot happen and would read as a hole.
        let slot = self.slots.as_flattened().get(meta >> 8)?.get()?;
        let name = if named {
            self.names.as_flattened().get(meta >> 8)?.get()?
        } else {
            ""
        };
        Some(Hit::new((base, last, offset, meta), slot, name))
    }

    /// The region holding guest address `addr` if the lookup directory
    /// names it, as of one version, with its RAM's shards: the access
    /// paths' inline lookup (loads and one validation, no lock, nothing
    /// stored; no test of the option's tag, see [`Hit::found`]). `None`
    /// also when it is not that simple (the bucket's region does not hold
    /// `addr`, a change is being stored): the caller then takes
    /// [`hit`](Self::hit), out of line.
    #[inline(always)]
    pub(crate) fn hinted(&self, addr: u64) -> Option<Hit<'a>> {
        // Begins without testing the parity: `unchanged(v & !1)` below
        // rejects an odd `v` (`SeqLock::stamp`).
        let v = self.version.stamp();
        let b = bucket(addr);
        let hint = self.hints[b].load(Ordering::Relaxed);
        let slot = self.hint_slots[b].load(Ordering::Relaxed);
        // A published hint is below `len` and its slot is not `NONE`; a
        // `NONE` pair (a bucket no region claims) is rejected here: the
        // slot fails the bounds test of indexing when the table has fewer
        // slots (a constant test) or this test when it has more.
        if SLOTS_PER_ENTRY * N > usize::from(NONE) && slot == NONE {
            return None;
        }
        let (base, last, offset, meta) = self.raw(usize::from(hint))?;
        // `base <= addr <= last` in one compare (a published region has
        // `base <= last`; a torn one fails the validation after). The
        // validation against `v` made even also rejects an odd `v` (a
        // change was being stored): the version never goes back, so it
        // cannot read `v - 1` again (short of wrapping around).
        let outside = addr.wrapping_sub(base) > last.wrapping_sub(base);
        if outside || !self.unchanged(v & !1) {
            return None;
        }
        let cell = self.slots.as_flattened().get(usize::from(slot))?;
        // SAFETY: the slot's write happens-before this read. `slot` is not
        // `NONE` (the test above, or the bounds test of `get` when the
        // table has fewer slots), so a writer's `publish` stored it into
        // `hint_slots` after its `fence(Release)`, and that writer had
        // filled the slot before (`slot_for` under the writers' mutex:
        // its `set` returned true, or an earlier writer's had). This
        // thread loaded `slot` before the `fence(Acquire)` in `unchanged`,
        // which ran (the test above passed), so the two fences
        // synchronise and order the fill before this read, whatever
        // version was read (torn, stale, or wrapped around).
        #[allow(unsafe_code)]
        let filled = unsafe { cell.get_published() };
        Some(Hit::new((base, last, offset, meta), filled, ""))
    }

    /// The region holding guest address `addr`, as of one version, with
    /// its RAM's shards: loads and one validation, no lock, nothing
    /// stored. Its name is empty ([`region_at`](Self::region_at) names
    /// it).
    #[inline]
    pub(crate) fn hit(&self, addr: u64) -> Option<Hit<'a>> {
        self.resolve(self.find(addr)?, false)
    }

    /// The region holding guest address `addr`, name included.
    #[inline]
    pub(crate) fn region_at(&self, addr: u64) -> Option<Region<'a>> {
        Some(self.resolve(self.find(addr)?, true)?.region)
    }

    /// The descriptor holding `addr`, as of one version.
    #[inline(always)]
    fn find(&self, addr: u64) -> Option<RawRegion> {
        self.find_versioned(addr).1
    }

    /// The descriptor holding `addr` and the (even) version it is of.
    #[inline(always)]
    fn find_versioned(&self, addr: u64) -> (usize, Option<RawRegion>) {
        loop {
            let v = self.begin();
            let raw = self.search(addr);
            if self.unchanged(v) {
                return (v, raw);
            }
        }
    }

    /// The region holding `addr` (unnamed, as [`hit`](Self::hit)) and the
    /// version it is of: what a [`Cursor`](crate::Cursor) caches.
    #[inline]
    pub(crate) fn hit_versioned(&self, addr: u64) -> (usize, Option<Region<'a>>) {
        let (v, raw) = self.find_versioned(addr);
        (
            v,
            raw.and_then(|raw| Some(self.resolve(raw, false)?.region)),
        )
    }

    /// The version now, one load: odd while a change is being stored. A
    /// cursor compares it with the version its entries are of.
    /// ORDERING: `Acquire` ([`SeqLock::stamp`]), as in `begin`; a change
    /// that returned before (happens-before) this load is seen by it
    /// (coherence), so a cursor never uses a region that change replaced.
    #[inline(always)]
    pub(crate) fn current(&self) -> usize {
        self.version.stamp()
    }

    /// The regions overlapping `first..=last` and every hook, as of one
    /// version.
    pub(crate) fn view(&self, first: u64, last: u64) -> View<'a, N, H> {
        loop {
            let v = self.begin();
            let mut rs: heapless::Vec<RawRegion, N> = heapless::Vec::new();
            let len = self.len.load(Ordering::Relaxed).min(N);
            let mut i = self.first_past(len, first).saturating_sub(1);
            while let Some(raw) = self.raw(i).filter(|_| i < len) {
                if raw.0 > last {
                    break;
                }
                if raw.1 >= first {
                    let _fits = rs.push(raw); // at most `N` descriptors
                }
                i += 1;
            }
            let mut hs: heapless::Vec<RawHook, H> = heapless::Vec::new();
            let hook_len = self.hook_len.load(Ordering::Relaxed).min(H);
            for h in self.hooks.iter().take(hook_len) {
                let raw = (
                    h.first.load(),
                    h.last.load(),
                    h.id.load(),
                    h.meta.load(Ordering::Relaxed),
                );
                let _fits = hs.push(raw); // at most `H` descriptors
            }
            if self.unchanged(v) {
                return View {
                    regions: rs
                        .into_iter()
                        .filter_map(|r| Some(self.resolve(r, true)?.region))
                        .collect(),
                    hooks: hs
                        .into_iter()
                        .filter_map(|(first, last, id, meta)| {
                            Some(Hook {
                                first,
                                last,
                                kinds: perms_at(meta, 0),
                                hook: self.hook_slots.as_flattened().get(meta >> 8)?.get()?,
                                id: HookId(id),
                            })
                        })
                        .collect(),
                };
            }
        }
    }

    /// Runs the change `f` on a copy of the layout and publishes the
    /// result; on an error nothing is published and the map is unchanged.
    /// Changes are serialised by the mutex; accesses never take it.
    pub(crate) fn change<R>(
        &self,
        f: impl FnOnce(&mut Layout<'a, N, H>) -> Result<R, MapError>,
    ) -> Result<R, MapError> {
        // With feature `critical-section` the whole change (mutex held,
        // version odd) runs in a critical section, and the mutex is waited
        // for outside one, as shard locks are (`section.rs`): an interrupt
        // handler then never meets an odd version or a mutex held by the
        // code it interrupted (single core). The guard is released before
        // its section ends.
        let mut next_hook = lock_in(Section::enter(), || self.next_hook.try_lock());
        // Stable while the mutex is held: only writers store descriptors.
        let now = self.view(0, u64::MAX);
        let mut next = Layout {
            regions: now.regions,
            hooks: now.hooks,
            next_hook: **next_hook,
        };
        let out = f(&mut next)?;
        next.refresh_fast();
        let mut slots: heapless::Vec<usize, N> = heapless::Vec::new();
        for r in next.regions.iter() {
            let _fits = slots.push(self.slot_for(r)?); // one per region
        }
        let mut hook_slots: heapless::Vec<usize, H> = heapless::Vec::new();
        for h in next.hooks.iter() {
            let _fits = hook_slots.push(self.hook_slot_for(h)?); // one per hook
        }
        self.publish(&next, &slots, &hook_slots);
        **next_hook = next.next_hook;
        Ok(out)
    }

    /// Runs `f` on the layout and the version under the writers' mutex,
    /// publishing nothing: one consistent version with its `next_hook`
    /// (what a machine snapshot saves).
    pub(crate) fn inspect<R>(&self, f: impl FnOnce(&Layout<'a, N, H>, usize) -> R) -> R {
        let next_hook = lock_in(Section::enter(), || self.next_hook.try_lock());
        // Stable while the mutex is held: only writers store descriptors.
        let now = self.view(0, u64::MAX);
        let layout = Layout {
            regions: now.regions,
            hooks: now.hooks,
            next_hook: **next_hook,
        };
        f(&layout, self.version())
    }

    /// The slot holding `r`'s name and backing: the one already holding
    /// them, else the first empty one, filled now.
    fn slot_for(&self, r: &Region<'a>) -> Result<usize, MapError> {
        let pairs = self.slots.as_flattened().iter();
        for (i, (s, n)) in pairs.zip(self.names.as_flattened()).enumerate() {
            match (s.get(), n.get()) {
                (Some(b), Some(name)) if name == r.name && b.backing.same(r.backing) => {
                    return Ok(i)
                }
                (Some(_), _) => {}
                (None, _) => {
                    // Under the mutex: no other writer fills slots. The
                    // name first: a filled backing slot has its name.
                    let _won = n.set(r.name);
                    let ram = match r.backing {
                        Backing::Ram(m) | Backing::Rom(m) => Some(m.raw()),
                        Backing::Mmio(_) => None,
                    };
                    let _won = s.set(Slot {
                        ram,
                        backing: r.backing,
                    });
                    return Ok(i);
                }
            }
        }
        Err(MapError::new(
            MapErrorKind::BackingsFull,
            r.name,
            "",
            r.base,
            r.len(),
        ))
    }

    /// The slot holding `h`'s hook, as [`slot_for`](Self::slot_for).
    fn hook_slot_for(&self, h: &Hook<'a>) -> Result<usize, MapError> {
        for (i, s) in self.hook_slots.as_flattened().iter().enumerate() {
            match s.get() {
                // The whole reference (data and vtable): two zero-sized
                // hooks share an address but not their code.
                Some(s) if core::ptr::eq(s, h.hook) => return Ok(i),
                Some(_) => {}
                None => {
                    let _won = s.set(h.hook); // under the mutex, as above
                    return Ok(i);
                }
            }
        }
        Err(MapError::new(
            MapErrorKind::BackingsFull,
            "hook",
            "",
            h.first,
            h.last.wrapping_sub(h.first).wrapping_add(1),
        ))
    }

    /// Stores `next` into the descriptors in one write section of the
    /// version (odd until it ends, also if a store unwinds). Called with
    /// the mutex held, so this is the version's one writer.
    fn publish(&self, next: &Layout<'a, N, H>, slots: &[usize], hook_slots: &[usize]) {
        let _write = self.version.write();
        if self.directed {
            let dir = directory(&next.regions);
            // Each region index's slot as a hint byte (`NONE`: no region,
            // or a slot past a byte): each bucket below is two stores.
            let mut slot_of = [NONE; BUCKETS];
            for (hint, &s) in slot_of.iter_mut().zip(slots).take(usize::from(NONE)) {
                *hint = u8::try_from(s).unwrap_or(NONE);
            }
            for ((h, hs), d) in self.hints.iter().zip(&self.hint_slots).zip(dir) {
                h.store(d, Ordering::Relaxed);
                hs.store(slot_of[usize::from(d)], Ordering::Relaxed);
            }
        }
        for (i, b) in self.bases.iter().enumerate() {
            b.store(next.regions.get(i).map_or(u64::MAX, |r| r.base));
        }
        for ((d, r), &slot) in self.regions.iter().zip(&next.regions).zip(slots) {
            d.last.store(r.last);
            d.offset.store(r.offset);
            d.meta.store(meta(slot, r.perms, r.fast), Ordering::Relaxed);
        }
        self.len.store(next.regions.len(), Ordering::Relaxed);
        for ((d, h), &slot) in self.hooks.iter().zip(&next.hooks).zip(hook_slots) {
            d.first.store(h.first);
            d.last.store(h.last);
            d.id.store(h.id.0);
            d.meta
                .store(meta(slot, h.kinds, Perms::NONE), Ordering::Relaxed);
        }
        self.hook_len.store(next.hooks.len(), Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::map::mmio::{DeviceRef, MmioDevice};
    use crate::VmError;

    struct Dev;
    impl MmioDevice for Dev {
        fn read(&self, _: u64, _: usize) -> Result<u64, VmError> {
            Ok(0)
        }
        fn write(&self, _: u64, _: usize, _: u64) -> Result<(), VmError> {
            Ok(())
        }
    }

    /// The directory as first written: every page of a region's first
    /// 256 MiB walked one by one (up to 256 steps).
    fn page_by_page(regions: &[Region<'_>]) -> [u8; BUCKETS] {
        let mut dir = [NONE; BUCKETS];
        for (i, r) in regions.iter().enumerate() {
            let Some(tag) = u8::try_from(i).ok().filter(|&t| t != NONE) else {
                break;
            };
            let mut at = r.base;
            for _ in 0..BUCKETS {
                if dir[bucket(at)] == NONE {
                    dir[bucket(at)] = tag;
                }
                match (at | 0xfff).checked_add(1) {
                    Some(p) if p <= r.last && p - r.base < 1 << 28 => at = p,
                    _ => break,
                }
            }
            claim_granules(&mut dir, r, tag);
        }
        dir
    }

    #[test]
    fn the_directory_jumps_granules_and_claims_what_a_page_walk_claims() {
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let dev = Dev;
        for round in 0..if cfg!(miri) { 20 } else { 2000 } {
            let mut regions: heapless::Vec<Region<'_>, 8> = heapless::Vec::new();
            let mut base = next() % (1 << 33);
            for _ in 0..1 + next() % 8 {
                let len = match next() % 4 {
                    0 => 1 + next() % 0x100,
                    1 => 1 + next() % 0x40_000,
                    2 => 1 + next() % 0x2000_0000,
                    _ => 1 + next() % (1 << 34),
                };
                let Some(last) = base.checked_add(len - 1) else {
                    break;
                };
                let r = Region {
                    base,
                    last,
                    name: "r",
                    perms: Perms::RW,
                    fast: Perms::RW,
                    offset: 0,
                    backing: Backing::Mmio(DeviceRef::shared(&dev)),
                };
                let _ = regions.push(r);
                let Some(b) = last.checked_add(1 + next() % 0x10_0000) else {
                    break;
                };
                base = b;
            }
            assert_eq!(directory(&regions), page_by_page(&regions), "round {round}");
        }
        // Near the top of the address space too.
        let top = Region {
            base: u64::MAX - 0x3_0000,
            last: u64::MAX,
            name: "top",
            perms: Perms::RW,
            fast: Perms::RW,
            offset: 0,
            backing: Backing::Mmio(DeviceRef::shared(&dev)),
        };
        assert_eq!(directory(&[top]), page_by_page(&[top]));
    }
}
