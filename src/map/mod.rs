//! [`MemoryMap`]: the guest's physical address space as a fixed-capacity
//! table of regions (RAM, ROM, MMIO devices) at `u64` guest addresses, with
//! no heap anywhere.
//!
//! A Cortex-M firmware sees flash at `0x0800_0000`, SRAM at `0x2000_0000`
//! and peripherals at `0x4000_0000`; a RISC-V board a boot ROM, RAM at
//! `0x8000_0000` and a UART. A map builds exactly that from memories and
//! devices it borrows for `'a`, in a `heapless::Vec` of `N` regions kept
//! sorted by base, and looks an address up by binary search.
//!
//! Everything the map promises (rejections, permissions, errors, accesses
//! spanning regions, what devices and hooks see, protections) and its
//! limits are documented on [`MemoryMap`]; `region.rs` holds the table's
//! entries and the [`GuestRam`] trait, `mmio.rs` the [`MmioDevice`] trait,
//! `hooks.rs` the [`AccessHook`] trait and the hook table's entries.

mod hooks;
mod mmio;
mod region;

pub use hooks::{AccessHook, HookId, WriteData};
pub use mmio::MmioDevice;
pub use region::{GuestRam, Region, RegionKind};

use crate::error::{Access, ErrorKind, VmError};
use crate::frozen::Frozen;
use crate::perms::Perms;
use crate::scalar::Scalar;
use crate::sync::{AtomicUsize, Ordering};
use core::ops::RangeInclusive;
use hooks::Hook;
use region::{ram_load, ram_load_sized, ram_store, ram_store_sized, Backing};

/// A fixed-capacity map of up to `N` regions (RAM, ROM, MMIO) and `H`
/// access hooks (default 4) at `u64` guest addresses, borrowing its
/// memories, devices and hooks for `'a`. No heap: it is plain data, built
/// and used on the stack (or wherever its owner keeps it).
///
/// ```
/// use vm_mem::{ErrorKind, MemoryMap, Perms, ShardedMemory};
///
/// static FLASH: ShardedMemory<4, 1024> = ShardedMemory::new();
/// static SRAM: ShardedMemory<16, 1024> = ShardedMemory::new();
///
/// FLASH.write_bytes(0, &[0x00, 0xbf, 0xfe, 0xe7])?; // nop; b .
/// let flash = FLASH.freeze();
/// let mut map: MemoryMap<'_, 8> = MemoryMap::new(); // on the stack
/// map.add_rom("flash", 0x0800_0000, 0x1000, Perms::RX, &flash)?;
/// map.add_ram("sram", 0x2000_0000, 0x4000, Perms::RW, &SRAM)?;
///
/// assert_eq!(map.fetch_u16(0x0800_0002)?, 0xe7fe);
/// map.write_u32(0x2000_0100, 42)?;
/// assert_eq!(SRAM.read_u32(0x100)?, 42); // region-relative in the memory
/// let err = map.fetch_u16(0x2000_0100).unwrap_err(); // SRAM is not executable
/// assert_eq!(err.kind(), ErrorKind::Permission { needed: Perms::EXEC });
/// assert_eq!(map.write_u8(0x0800_0000, 0).unwrap_err().kind(), ErrorKind::ReadOnly);
/// let err = map.read_u32(0x1000_0000).unwrap_err();
/// assert_eq!((err.kind(), err.addr()), (ErrorKind::Unmapped, 0x1000_0000));
/// # Ok::<(), vm_mem::VmError>(())
/// ```
///
/// ## What it promises
/// - **Adding** a region that has zero length, runs past the top of the
///   64-bit address space, is longer than its backing memory, overlaps
///   another region or does not fit the table fails with
///   [`ErrorKind::Config`] naming the new region (and the region it
///   overlaps); the map is unchanged. Regions may have any base and length
///   (a 3-byte device block is fine) and may end at `u64::MAX`.
/// - **Permissions**: reads need [`Perms::READ`], writes [`Perms::WRITE`],
///   fetches (`fetch_u16`, `fetch_u32`) [`Perms::EXEC`]; a region lacking
///   one fails with [`ErrorKind::Permission`]. ROM refuses every write with
///   [`ErrorKind::ReadOnly`], whatever its permissions.
/// - **Errors** carry the access's guest address (absolute, the first byte
///   of the access), its size and kind; bytes no region covers give
///   [`ErrorKind::Unmapped`]. An error a memory or device returns keeps its
///   kind and gets the guest address, size and access.
/// - **Spanning regions**: a typed access spanning adjacent RAM or ROM
///   regions is split, each part checked before any is performed; it is
///   then tear-free per part, not as a whole. A typed access that crosses
///   into or out of an MMIO region is refused with
///   [`ErrorKind::CrossesRegion`] naming both sides, before any device is
///   called. When several errors apply, the first of this order wins:
///   unmapped bytes, an MMIO crossing, then each part in address order
///   (`ReadOnly` for a ROM write, then `Permission`).
/// - **Devices** see each typed access as exactly one call with its
///   region-relative offset and its size (1, 2, 4 or 8). Bulk copies
///   (`read_bytes`, `write_bytes`, `fill`) are checked whole first (holes,
///   permissions, ROM) and then performed region by region in ascending
///   order; their MMIO parts are cut into naturally aligned accesses (the
///   largest of 8, 4, 2, 1 bytes that the guest address is aligned to and
///   that fits), one device call each, in ascending order, as a bus bridge
///   would. A device error stops a bulk copy with the earlier parts done.
/// - **No truncation**: addresses, lengths and offsets stay `u64` until a
///   memory turns them into its `usize` offsets, which fails rather than
///   wraps; a 32-bit host can emulate a 64-bit guest.
/// - **Hooks** ([`watch`](Self::watch), [`AccessHook`]) run once per
///   allowed access that overlaps their range, in installation order,
///   after the checks above: read and fetch hooks after the bytes are read
///   (they may replace them), write hooks before anything is stored (the
///   first refusal fails the access with [`ErrorKind::DeniedByHook`],
///   nothing stored). Regions no hook overlaps pay nothing for hooks: each
///   region keeps the permissions its inlined fast path may grant, less
///   the kinds a hook watches in it, so the fast path has no extra test.
/// - **Protection** ([`protect`](Self::protect)) changes permissions at run
///   time at any byte granularity, enforced as above for read, write and
///   fetch, hooked or not. Parts of a region split by `protect` still form
///   one region for accesses: a device access over them is one call, a
///   memory access one typed load or store where it fits one part. Snapshots
///   of the memories restore bytes, never permissions.
///
/// ## Limits
/// - Lookup is a binary search over the table: `log2(N)` comparisons per
///   access (no last-hit cache: with the handful of regions a firmware map
///   has, the search costs a few nanoseconds next to the memory's lock).
/// - Accesses to watched regions, and accesses spanning parts or regions,
///   take the general path (not inlined; a few times slower than the fast
///   path in `benches/map.rs`).
/// - Zero-length bulk copies succeed at any address and touch nothing (and
///   reach no hook).
/// - The map borrows its memories, devices and hooks for `'a`; it does not
///   own them. Changing the map (`add_*`, `watch`, `protect`) takes
///   `&mut self`, so it happens while no vCPU thread holds the map.
///
/// The same map serves several threads through `&MemoryMap`: memories are
/// locked per shard, devices are `Sync`.
///
/// ## Accesses spanning two memories, and a refused region
///
/// ```
/// use vm_mem::{ErrorKind, MemoryMap, Perms, ShardedMemory};
///
/// let low = ShardedMemory::<1, 64>::new();
/// let high = ShardedMemory::<1, 64>::new();
/// let mut map: MemoryMap<'_, 2> = MemoryMap::new();
/// map.add_ram("low", 0x1000, 64, Perms::RW, &low)?;
/// map.add_ram("high", 0x1040, 64, Perms::RW, &high)?;
/// map.write_u32(0x103e, 0xaabb_ccdd)?; // split across the two memories
/// assert_eq!((low.read_u16(62)?, high.read_u16(0)?), (0xccdd, 0xaabb));
///
/// let err = map.add_ram("clash", 0x1020, 16, Perms::RW, &low).unwrap_err();
/// assert_eq!(err.to_string(), "bad region `clash` at 0x1020 (16 bytes): overlaps `low`");
/// assert_eq!(map.regions().len(), 2); // unchanged
/// # Ok::<(), vm_mem::VmError>(())
/// ```
pub struct MemoryMap<'a, const N: usize, const H: usize = 4> {
    /// Sorted by base; regions never overlap.
    regions: heapless::Vec<Region<'a>, N>,
    /// Installed access hooks, in installation order.
    hooks: heapless::Vec<Hook<'a>, H>,
    /// Id for the next hook.
    next_hook: u32,
    /// Index of the region the last lookup found: a hint, checked before
    /// use (regions never overlap, so any region holding the address is the
    /// right one, even after the table changed). ORDERING: `Relaxed`: it
    /// orders nothing, and a stale or racing value only costs a search.
    last_hit: AtomicUsize,
}

/// The permission an access kind needs.
#[inline(always)]
const fn needs(access: Access) -> Perms {
    match access {
        Access::Read => Perms::READ,
        Access::Write => Perms::WRITE,
        Access::Fetch => Perms::EXEC,
        Access::Atomic => Perms::RW,
    }
}

/// A length as an error's `usize` size: exact when it fits, else saturated.
#[inline]
fn err_size(len: u64) -> usize {
    usize::try_from(len).unwrap_or(usize::MAX)
}

/// An error from a memory or device, moved to the guest access: its kind
/// kept, its address, size and access the guest's.
#[cold]
#[inline(never)]
fn relocate(e: VmError, access: Access, addr: u64, size: usize) -> VmError {
    VmError::new(e.kind(), access, addr, size)
}

/// The bytes of an access that lie in one region, or in a hole.
#[derive(Clone, Copy)]
struct Piece<'r, 'a> {
    region: Option<&'r Region<'a>>,
    addr: u64,
    len: u64,
}

/// Where a write's bytes come from.
#[derive(Clone, Copy)]
enum Src<'s> {
    Bytes(&'s [u8]),
    Fill(u8),
}

/// The naturally aligned accesses a bulk copy makes of a device's part
/// `addr..addr + len`: `(position in the part, size)`, the largest of 8,
/// 4, 2, 1 bytes that `addr + position` is aligned to and that fits.
fn mmio_chunks(addr: u64, len: u64) -> impl Iterator<Item = (u64, usize)> {
    let mut pos = 0u64;
    core::iter::from_fn(move || {
        let rest = len - pos;
        if rest == 0 {
            return None;
        }
        let align = 1u64 << addr.wrapping_add(pos).trailing_zeros().min(3);
        let mut size = align;
        while size > rest {
            size /= 2;
        }
        let chunk = (pos, size as usize);
        pos += size;
        Some(chunk)
    })
}

/// Appends `r` to a table being rebuilt in address order, merging it into
/// the last entry if it continues it with the same permissions.
fn push_merged<'a, const N: usize>(
    table: &mut heapless::Vec<Region<'a>, N>,
    r: Region<'a>,
) -> Result<(), VmError> {
    if let Some(last) = table.last_mut() {
        if r.continues(last) && r.perms == last.perms {
            last.last = r.last;
            return Ok(());
        }
    }
    table.push(r).map_err(|r| {
        VmError::new(
            ErrorKind::Config {
                reason: "does not fit: the map is full",
                first: r.name,
                second: "",
            },
            Access::Write,
            r.base,
            err_size(r.last - r.base + 1),
        )
    })
}

impl<'a, const N: usize, const H: usize> MemoryMap<'a, N, H> {
    /// An empty map (`const`).
    pub const fn new() -> Self {
        MemoryMap {
            regions: heapless::Vec::new(),
            hooks: heapless::Vec::new(),
            next_hook: 0,
            last_hit: AtomicUsize::new(0),
        }
    }

    /// Maps `len` bytes of `ram`, from its start, at guest `base`.
    ///
    /// Fails with [`ErrorKind::Config`] (nothing changed) if `len` is zero,
    /// the region runs past `u64::MAX`, `len` exceeds `ram`'s size, it
    /// overlaps a region (named in the error) or the map is full.
    ///
    /// ```
    /// use vm_mem::{ErrorKind, MemoryMap, Perms, ShardedMemory};
    ///
    /// let ram = ShardedMemory::<1, 256>::new();
    /// let mut map: MemoryMap<'_, 1> = MemoryMap::new();
    /// let err = map.add_ram("big", 0, 257, Perms::RW, &ram).unwrap_err();
    /// assert!(matches!(err.kind(), ErrorKind::Config { first: "big", .. }));
    /// map.add_ram("ram", u64::MAX - 255, 256, Perms::RW, &ram)?; // ends at the top
    /// map.write_u8(u64::MAX, 1)?;
    /// assert_eq!(ram.read_u8(255)?, 1);
    /// assert!(map.add_ram("more", 0, 1, Perms::RW, &ram).is_err()); // full
    /// # Ok::<(), vm_mem::VmError>(())
    /// ```
    pub fn add_ram(
        &mut self,
        name: &'static str,
        base: u64,
        len: u64,
        perms: Perms,
        ram: &'a dyn GuestRam,
    ) -> Result<(), VmError> {
        self.add(name, base, len, perms, Backing::Ram(ram), Some(ram.size()))
    }

    /// Maps `len` bytes of frozen memory `rom`, from its start, at guest
    /// `base`: reads take no lock, writes fail with [`ErrorKind::ReadOnly`]
    /// whatever `perms` says. Fails as [`add_ram`](Self::add_ram) does.
    pub fn add_rom<const SHARDS: usize, const SHARD_SIZE: usize>(
        &mut self,
        name: &'static str,
        base: u64,
        len: u64,
        perms: Perms,
        rom: &'a Frozen<'a, SHARDS, SHARD_SIZE>,
    ) -> Result<(), VmError> {
        let size = GuestRam::size(rom);
        self.add(name, base, len, perms, Backing::Rom(rom), Some(size))
    }

    /// Maps device `dev` at guest `base..base + len`; the device sees
    /// offsets from `base`. Fails as [`add_ram`](Self::add_ram) does (a
    /// device has no size to exceed).
    pub fn add_mmio(
        &mut self,
        name: &'static str,
        base: u64,
        len: u64,
        perms: Perms,
        dev: &'a dyn MmioDevice,
    ) -> Result<(), VmError> {
        self.add(name, base, len, perms, Backing::Mmio(dev), None)
    }

    /// Validates and inserts a region, keeping the table sorted.
    fn add(
        &mut self,
        name: &'static str,
        base: u64,
        len: u64,
        perms: Perms,
        backing: Backing<'a>,
        backing_size: Option<u64>,
    ) -> Result<(), VmError> {
        let err = |reason: &'static str, second: &'static str| {
            VmError::new(
                ErrorKind::Config {
                    reason,
                    first: name,
                    second,
                },
                Access::Write,
                base,
                err_size(len),
            )
        };
        if len == 0 {
            return Err(err("has zero length", ""));
        }
        let Some(last) = base.checked_add(len - 1) else {
            return Err(err("runs past the end of the 64-bit address space", ""));
        };
        if backing_size.is_some_and(|size| len > size) {
            return Err(err("is longer than its backing memory", ""));
        }
        let idx = self.regions.partition_point(|r| r.base <= base);
        if let Some(prev) = idx.checked_sub(1).and_then(|i| self.regions.get(i)) {
            if prev.last >= base {
                return Err(err("overlaps", prev.name));
            }
        }
        if let Some(next) = self.regions.get(idx) {
            if next.base <= last {
                return Err(err("overlaps", next.name));
            }
        }
        let region = Region {
            base,
            last,
            name,
            perms,
            fast: perms,
            offset: 0,
            backing,
        };
        self.regions
            .insert(idx, region)
            .map_err(|_| err("does not fit: the map is full", ""))?;
        self.refresh_fast();
        Ok(())
    }

    /// Recomputes every region's fast-path permissions: its permissions
    /// less the access kinds a hook watches somewhere in it.
    fn refresh_fast(&mut self) {
        for r in self.regions.iter_mut() {
            let mut watched = Perms::NONE;
            for h in self.hooks.iter() {
                if h.first <= r.last && r.base <= h.last {
                    watched = watched | h.kinds;
                }
            }
            r.fast = Perms::from_bits_truncate(r.perms.bits() & !watched.bits());
        }
    }

    /// Installs `hook` on guest bytes `range` for the access kinds in
    /// `kinds`: [`Perms::READ`] for reads, [`Perms::WRITE`] for writes,
    /// [`Perms::EXEC`] for fetches. The range may cover holes and regions
    /// added later. Fails with [`ErrorKind::Config`] (nothing changed) if
    /// the range is empty or the hook table (`H` entries) is full.
    ///
    /// Hooks run once per access overlapping the range, in installation
    /// order (see [`AccessHook`]). Regions no hook overlaps keep their
    /// full speed.
    pub fn watch(
        &mut self,
        range: RangeInclusive<u64>,
        kinds: Perms,
        hook: &'a dyn AccessHook,
    ) -> Result<HookId, VmError> {
        let (first, last) = (*range.start(), *range.end());
        let err = |reason| {
            VmError::new(
                ErrorKind::Config {
                    reason,
                    first: "hook",
                    second: "",
                },
                Access::Read,
                first,
                err_size(last.wrapping_sub(first).wrapping_add(1)),
            )
        };
        if first > last {
            return Err(err("has an empty range"));
        }
        let id = HookId(self.next_hook);
        self.hooks
            .push(Hook {
                first,
                last,
                kinds,
                hook,
                id,
            })
            .map_err(|_| err("does not fit: the hook table is full"))?;
        self.next_hook = self.next_hook.wrapping_add(1);
        self.refresh_fast();
        Ok(id)
    }

    /// Removes the hook `id`; returns whether it was installed.
    pub fn unwatch(&mut self, id: HookId) -> bool {
        let Some(i) = self.hooks.iter().position(|h| h.id == id) else {
            return false;
        };
        self.hooks.remove(i);
        self.refresh_fast();
        true
    }

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
    /// never permissions.
    ///
    /// Fails, with nothing changed, with [`ErrorKind::Unmapped`] (at the
    /// first unmapped byte) if the range is empty or covers a hole, or with
    /// [`ErrorKind::Config`] if the splits do not fit the table.
    ///
    /// ```
    /// use vm_mem::{ErrorKind, MemoryMap, Perms, ShardedMemory};
    ///
    /// let ram = ShardedMemory::<1, 64>::new();
    /// let mut map: MemoryMap<'_, 4> = MemoryMap::new();
    /// map.add_ram("ram", 0x1000, 64, Perms::RW, &ram)?;
    /// map.protect(0x1010..=0x1012, Perms::READ)?; // three bytes
    /// assert_eq!(map.regions().len(), 3);
    /// let e = map.write_u32(0x100e, 1).unwrap_err(); // touches 0x1010
    /// assert_eq!(e.kind(), ErrorKind::Permission { needed: Perms::WRITE });
    /// map.write_u8(0x1013, 1)?;
    /// map.protect(0x1000..=0x103f, Perms::RW)?;
    /// assert_eq!(map.regions().len(), 1); // merged back
    /// # Ok::<(), vm_mem::VmError>(())
    /// ```
    pub fn protect(&mut self, range: RangeInclusive<u64>, perms: Perms) -> Result<(), VmError> {
        let (a, b) = (*range.start(), *range.end());
        let unmapped = |at| VmError::new(ErrorKind::Unmapped, Access::Write, at, 1);
        if a > b {
            return Err(unmapped(a));
        }
        let mut cur = a;
        loop {
            let r = self.region_at(cur).ok_or_else(|| unmapped(cur))?;
            if r.last >= b {
                break;
            }
            cur = r.last + 1;
        }
        let mut table: heapless::Vec<Region<'a>, N> = heapless::Vec::new();
        for r in self.regions.iter() {
            if r.last < a || r.base > b {
                push_merged(&mut table, *r)?;
                continue;
            }
            if r.base < a {
                push_merged(&mut table, r.part(r.base, a - 1, r.perms))?;
            }
            push_merged(&mut table, r.part(r.base.max(a), r.last.min(b), perms))?;
            if r.last > b {
                push_merged(&mut table, r.part(b + 1, r.last, r.perms))?;
            }
        }
        self.regions = table;
        self.refresh_fast();
        Ok(())
    }

    /// The regions, sorted by base.
    #[inline]
    pub fn regions(&self) -> &[Region<'a>] {
        self.regions.as_slice()
    }

    /// The region containing guest address `addr`, if any.
    #[inline(always)]
    pub fn region_at(&self, addr: u64) -> Option<&Region<'a>> {
        let rs = self.regions.as_slice();
        let hint = self.last_hit.load(Ordering::Relaxed);
        if let Some(r) = rs.get(hint) {
            if r.base <= addr && addr <= r.last {
                return Some(r);
            }
        }
        let i = rs.partition_point(|r| r.base <= addr).checked_sub(1)?;
        let r = rs.get(i)?;
        if addr > r.last {
            return None;
        }
        // Only a miss writes, so threads that stay in their regions share
        // the cache line.
        self.last_hit.store(i, Ordering::Relaxed);
        Some(r)
    }

    /// The region called `name` (the first, if several share it).
    pub fn region(&self, name: &str) -> Option<&Region<'a>> {
        self.regions.iter().find(|r| r.name == name)
    }

    /// How many regions the map can hold: `N`.
    #[inline]
    pub const fn capacity(&self) -> usize {
        N
    }

    crate::typed::typed_methods!(u64, read = ref, write = ref);

    /// The one typed read behind every `read_*` method: needs
    /// [`Perms::READ`].
    #[inline(always)]
    pub fn read<T: Scalar>(&self, addr: u64) -> Result<T, VmError> {
        self.load(addr, Access::Read)
    }

    /// Fetches a little-endian 16-bit instruction unit at `addr` (Thumb,
    /// RISC-V C): needs [`Perms::EXEC`], errors report [`Access::Fetch`].
    #[inline]
    pub fn fetch_u16(&self, addr: u64) -> Result<u16, VmError> {
        self.load(addr, Access::Fetch)
    }

    /// Fetches a little-endian 32-bit instruction word at `addr`: needs
    /// [`Perms::EXEC`], errors report [`Access::Fetch`].
    #[inline]
    pub fn fetch_u32(&self, addr: u64) -> Result<u32, VmError> {
        self.load(addr, Access::Fetch)
    }

    /// A typed load for `access` (read or fetch): the in-region fast path.
    #[inline(always)]
    fn load<T: Scalar>(&self, addr: u64, access: Access) -> Result<T, VmError> {
        if let Some(r) = self.region_at(addr) {
            if r.fits(addr, T::SIZE) && r.fast.contains(needs(access)) {
                let off = r.backing_offset(addr);
                let v = match r.backing {
                    Backing::Ram(m) | Backing::Rom(m) => ram_load::<T>(m, off),
                    Backing::Mmio(d) => d.read(off, T::SIZE).map(T::from_u64_truncating),
                };
                return v.map_err(|e| relocate(e, access, addr, T::SIZE));
            }
        }
        self.load_slow(addr, T::SIZE, access)
            .map(T::from_u64_truncating)
    }

    /// A typed load that is refused or spans regions.
    #[cold]
    #[inline(never)]
    fn load_slow(&self, addr: u64, size: usize, access: Access) -> Result<u64, VmError> {
        self.check(addr, size as u64, access, true)?;
        let mut buf = [0u8; 8];
        let moved = |e| relocate(e, access, addr, size);
        match self.region_at(addr).map(|r| (r, r.backing)) {
            // `check` let a device access through: it lies in one device
            // (perhaps in parts `protect` made): one call.
            Some((r, Backing::Mmio(d))) => {
                buf = d
                    .read(r.backing_offset(addr), size)
                    .map_err(moved)?
                    .to_le_bytes();
                buf[size..].fill(0);
            }
            // Inside one part (a hooked or refused-then-allowed access):
            // one typed, tear-free load.
            Some((r, Backing::Ram(m) | Backing::Rom(m))) if r.fits(addr, size) => {
                buf = ram_load_sized(m, r.backing_offset(addr), size)
                    .map_err(moved)?
                    .to_le_bytes();
            }
            _ => self.copy_out(addr, &mut buf[..size], access)?,
        }
        self.run_load_hooks(access, addr, &mut buf[..size]);
        Ok(u64::from_le_bytes(buf))
    }

    /// The one typed write behind every `write_*` method: needs
    /// [`Perms::WRITE`]; ROM refuses it.
    #[inline(always)]
    pub fn write<T: Scalar>(&self, addr: u64, v: T) -> Result<(), VmError> {
        if let Some(r) = self.region_at(addr) {
            if r.fits(addr, T::SIZE) && r.fast.contains(Perms::WRITE) {
                let off = r.backing_offset(addr);
                let res = match r.backing {
                    Backing::Ram(m) => ram_store::<T>(m, off, v),
                    Backing::Mmio(d) => d.write(off, T::SIZE, v.to_u64()),
                    Backing::Rom(_) => return self.store_slow(addr, T::SIZE, v.to_u64()),
                };
                return res.map_err(|e| relocate(e, Access::Write, addr, T::SIZE));
            }
        }
        self.store_slow(addr, T::SIZE, v.to_u64())
    }

    /// A typed store that is refused or spans regions.
    #[cold]
    #[inline(never)]
    fn store_slow(&self, addr: u64, size: usize, v: u64) -> Result<(), VmError> {
        self.check(addr, size as u64, Access::Write, true)?;
        let bytes = v.to_le_bytes();
        self.run_write_hooks(addr, WriteData::Bytes(&bytes[..size]))?;
        let moved = |e| relocate(e, Access::Write, addr, size);
        match self.region_at(addr).map(|r| (r, r.backing)) {
            Some((r, Backing::Mmio(d))) => {
                return d.write(r.backing_offset(addr), size, v).map_err(moved)
            }
            Some((r, Backing::Ram(m))) if r.fits(addr, size) => {
                return ram_store_sized(m, r.backing_offset(addr), size, v).map_err(moved)
            }
            _ => {}
        }
        self.copy_in(addr, size as u64, Src::Bytes(&bytes[..size]), Access::Write)
    }

    /// Copies `buf.len()` guest bytes at `addr` into `buf`. The whole range
    /// is checked first (mapped, readable); then each region's part is
    /// copied in ascending order, atomic per memory shard, and MMIO parts
    /// are read as naturally aligned 1, 2, 4 or 8-byte accesses, one device
    /// call each.
    ///
    /// ```
    /// use vm_mem::{ErrorKind, MemoryMap, Perms, ShardedMemory};
    ///
    /// let (a, b) = (ShardedMemory::<1, 64>::new(), ShardedMemory::<1, 64>::new());
    /// a.fill(0, 64, 0xaa)?;
    /// b.fill(0, 64, 0xbb)?;
    /// let mut map: MemoryMap<'_, 2> = MemoryMap::new();
    /// map.add_ram("a", 0, 64, Perms::RW, &a)?;
    /// map.add_ram("b", 64, 64, Perms::READ, &b)?;
    /// let mut buf = [0u8; 4];
    /// map.read_bytes(62, &mut buf)?;
    /// assert_eq!(buf, [0xaa, 0xaa, 0xbb, 0xbb]);
    /// assert_eq!(map.read_bytes(126, &mut buf).unwrap_err().kind(), ErrorKind::Unmapped);
    /// // `b` is read-only: nothing is written, in `a` either.
    /// let err = map.write_bytes(62, &[0; 4]).unwrap_err();
    /// assert_eq!(err.kind(), ErrorKind::Permission { needed: Perms::WRITE });
    /// assert_eq!(a.read_u8(63)?, 0xaa);
    /// # Ok::<(), vm_mem::VmError>(())
    /// ```
    pub fn read_bytes(&self, addr: u64, buf: &mut [u8]) -> Result<(), VmError> {
        if buf.is_empty() {
            return Ok(());
        }
        // A `usize` always fits a `u64` on the hosts Rust supports.
        self.check(addr, buf.len() as u64, Access::Read, false)?;
        self.copy_out(addr, buf, Access::Read)?;
        self.run_load_hooks(Access::Read, addr, buf);
        Ok(())
    }

    /// Copies `buf` to guest `addr`: checked whole first (mapped, writable,
    /// no ROM), nothing written on a refusal; then performed as
    /// [`read_bytes`](Self::read_bytes) is.
    pub fn write_bytes(&self, addr: u64, buf: &[u8]) -> Result<(), VmError> {
        if buf.is_empty() {
            return Ok(());
        }
        self.check(addr, buf.len() as u64, Access::Write, false)?;
        self.run_write_hooks(addr, WriteData::Bytes(buf))?;
        self.copy_in(addr, buf.len() as u64, Src::Bytes(buf), Access::Write)
    }

    /// Sets `len` guest bytes at `addr` to `byte`, as
    /// [`write_bytes`](Self::write_bytes) would.
    pub fn fill(&self, addr: u64, len: usize, byte: u8) -> Result<(), VmError> {
        if len == 0 {
            return Ok(());
        }
        self.check(addr, len as u64, Access::Write, false)?;
        self.run_write_hooks(addr, WriteData::Fill { byte, len })?;
        self.copy_in(addr, len as u64, Src::Fill(byte), Access::Write)
    }

    /// Runs the read (or fetch) hooks watching `addr..addr + data.len()`,
    /// in installation order, on the bytes read.
    #[inline]
    fn run_load_hooks(&self, access: Access, addr: u64, data: &mut [u8]) {
        if self.hooks.is_empty() {
            return;
        }
        let kind = needs(access);
        let last = addr + (data.len() as u64 - 1); // checked by `check`
        for h in self.hooks.iter().filter(|h| h.watches(kind, addr, last)) {
            if access == Access::Fetch {
                h.hook.fetch(addr, data);
            } else {
                h.hook.read(addr, data);
            }
        }
    }

    /// Runs the write hooks watching the write, in installation order,
    /// until one refuses.
    #[inline]
    fn run_write_hooks(&self, addr: u64, data: WriteData<'_>) -> Result<(), VmError> {
        if self.hooks.is_empty() {
            return Ok(());
        }
        let last = addr + (data.len() as u64 - 1); // checked by `check`
        for h in self
            .hooks
            .iter()
            .filter(|h| h.watches(Perms::WRITE, addr, last))
        {
            if !h.hook.write(addr, data) {
                return Err(VmError::new(
                    ErrorKind::DeniedByHook,
                    Access::Write,
                    addr,
                    data.len(),
                ));
            }
        }
        Ok(())
    }

    /// The pieces of `addr..addr + len` as runs: consecutive pieces of one
    /// region that `protect` split are joined (same backing, contiguous),
    /// so a run is one region's contiguous bytes. Same contract as `pieces`.
    fn runs(&self, addr: u64, len: u64) -> impl Iterator<Item = Piece<'_, 'a>> + '_ {
        let mut it = self.pieces(addr, len).peekable();
        core::iter::from_fn(move || {
            let mut run = it.next()?;
            let mut tail = run.region?;
            while let Some(next) = it.peek().and_then(|p| p.region) {
                if !next.continues(tail) {
                    break;
                }
                run.len += it.peek().map_or(0, |p| p.len);
                tail = next;
                it.next();
            }
            Some(run)
        })
    }

    /// The pieces of `addr..addr + len` region by region (or hole by
    /// hole), ascending. The caller ensures `len >= 1` and that the range
    /// does not run past `u64::MAX`.
    fn pieces(&self, addr: u64, len: u64) -> impl Iterator<Item = Piece<'_, 'a>> + '_ {
        let rs = self.regions.as_slice();
        // Invariant: `i` is the index of the first region based past `cur`.
        let mut i = rs.partition_point(|r| r.base <= addr);
        let (mut cur, mut rest) = (addr, len);
        core::iter::from_fn(move || {
            if rest == 0 {
                return None;
            }
            let inside = i
                .checked_sub(1)
                .and_then(|j| rs.get(j))
                .filter(|r| cur <= r.last);
            let (region, n) = match inside {
                // `r.last - cur < len(r) <= u64::MAX`, so `+ 1` cannot overflow.
                Some(r) => (Some(r), rest.min(r.last - cur + 1)),
                None => (
                    None,
                    rs.get(i).map_or(rest, |next| rest.min(next.base - cur)),
                ),
            };
            let piece = Piece {
                region,
                addr: cur,
                len: n,
            };
            rest -= n;
            if rest > 0 {
                cur += n; // in range: the caller checked the end
                while rs.get(i).is_some_and(|r| r.base <= cur) {
                    i += 1;
                }
            }
            Some(piece)
        })
    }

    /// Checks an access of `len >= 1` bytes before anything is touched:
    /// every byte mapped, a typed access (`typed`) not crossing into or out
    /// of a device, then each part's ROM and permissions, in address order.
    fn check(&self, addr: u64, len: u64, access: Access, typed: bool) -> Result<(), VmError> {
        let fail = |kind| Err(VmError::new(kind, access, addr, err_size(len)));
        if addr.checked_add(len - 1).is_none() {
            return fail(ErrorKind::Unmapped);
        }
        if self.pieces(addr, len).any(|p| p.region.is_none()) {
            return fail(ErrorKind::Unmapped);
        }
        let mut prev: Option<&Region<'a>> = None;
        for r in self.runs(addr, len).filter_map(|p| p.region) {
            if let Some(p) = prev.filter(|_| typed) {
                if matches!(p.backing, Backing::Mmio(_)) || matches!(r.backing, Backing::Mmio(_)) {
                    return fail(ErrorKind::CrossesRegion {
                        first: p.name,
                        second: r.name,
                    });
                }
            }
            prev = Some(r);
        }
        let needed = needs(access);
        for r in self.pieces(addr, len).filter_map(|p| p.region) {
            if access == Access::Write && matches!(r.backing, Backing::Rom(_)) {
                return fail(ErrorKind::ReadOnly);
            }
            if !r.perms.contains(needed) {
                return fail(ErrorKind::Permission { needed });
            }
        }
        Ok(())
    }

    /// Reads checked bytes `addr..addr + buf.len()` into `buf`.
    fn copy_out(&self, addr: u64, buf: &mut [u8], access: Access) -> Result<(), VmError> {
        let size = buf.len();
        let moved = |e| relocate(e, access, addr, size);
        let mut pos = 0usize;
        for p in self.runs(addr, size as u64) {
            let Some(r) = p.region else {
                return Err(VmError::new(ErrorKind::Unmapped, access, addr, size));
            };
            // `p.len <= buf.len()`, so it fits a usize.
            let n = p.len as usize;
            let dst = &mut buf[pos..pos + n];
            let off = r.backing_offset(p.addr);
            match r.backing {
                Backing::Ram(m) | Backing::Rom(m) => m.load_bytes(off, dst).map_err(moved)?,
                Backing::Mmio(d) => {
                    for (at, s) in mmio_chunks(p.addr, p.len) {
                        let v = d.read(off + at, s).map_err(moved)?;
                        let at = at as usize;
                        dst[at..at + s].copy_from_slice(&v.to_le_bytes()[..s]);
                    }
                }
            }
            pos += n;
        }
        Ok(())
    }

    /// Writes checked bytes `addr..addr + len` from `src`.
    fn copy_in(&self, addr: u64, len: u64, src: Src<'_>, access: Access) -> Result<(), VmError> {
        let size = err_size(len);
        let moved = |e| relocate(e, access, addr, size);
        let mut pos = 0usize;
        for p in self.runs(addr, len) {
            let Some(r) = p.region else {
                return Err(VmError::new(ErrorKind::Unmapped, access, addr, size));
            };
            // `p.len <= len`, which came from a `usize`.
            let n = p.len as usize;
            let off = r.backing_offset(p.addr);
            match (r.backing, src) {
                (Backing::Ram(m), Src::Bytes(b)) => {
                    m.store_bytes(off, &b[pos..pos + n]).map_err(moved)?
                }
                (Backing::Ram(m), Src::Fill(x)) => m.fill_bytes(off, n, x).map_err(moved)?,
                (Backing::Rom(_), _) => {
                    return Err(VmError::new(ErrorKind::ReadOnly, access, addr, size))
                }
                (Backing::Mmio(d), _) => {
                    for (at, s) in mmio_chunks(p.addr, p.len) {
                        let mut le = [0u8; 8];
                        match src {
                            Src::Bytes(b) => {
                                let from = pos + at as usize;
                                le[..s].copy_from_slice(&b[from..from + s]);
                            }
                            Src::Fill(x) => le[..s].fill(x),
                        }
                        d.write(off + at, s, u64::from_le_bytes(le))
                            .map_err(moved)?;
                    }
                }
            }
            pos += n;
        }
        Ok(())
    }
}

impl<const N: usize, const H: usize> Default for MemoryMap<'_, N, H> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize, const H: usize> core::fmt::Debug for MemoryMap<'_, N, H> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("MemoryMap")
            .field("regions", &self.regions.as_slice())
            .field("hooks", &self.hooks.len())
            .finish()
    }
}

/// Forwards [`MemoryAccess`](crate::MemoryAccess) methods to the map's
/// inherent ones of the same name.
macro_rules! forward {
    ($(read $r:ident $rt:ty),* ; $(write $w:ident $wt:ty),*) => {
        $(
            #[inline]
            fn $r(&self, addr: u64) -> Result<$rt, VmError> {
                MemoryMap::$r(self, addr)
            }
        )*
        $(
            #[inline]
            fn $w(&mut self, addr: u64, v: $wt) -> Result<(), VmError> {
                MemoryMap::$w(self, addr, v)
            }
        )*
    };
}

/// `&MemoryMap` is a [`MemoryAccess`](crate::MemoryAccess), so emulator
/// code generic over it runs on a map as on a memory; its `fetch_*` check
/// [`Perms::EXEC`].
impl<const N: usize, const H: usize> crate::MemoryAccess for &MemoryMap<'_, N, H> {
    forward!(
        read read_u8 u8, read read_u16 u16, read read_u32 u32, read read_u64 u64,
        read read_u16_be u16, read read_u32_be u32, read read_u64_be u64,
        read fetch_u16 u16, read fetch_u32 u32;
        write write_u8 u8, write write_u16 u16, write write_u32 u32, write write_u64 u64,
        write write_u16_be u16, write write_u32_be u32, write write_u64_be u64
    );

    #[inline]
    fn read_bytes(&self, addr: u64, buf: &mut [u8]) -> Result<(), VmError> {
        MemoryMap::read_bytes(self, addr, buf)
    }

    #[inline]
    fn write_bytes(&mut self, addr: u64, buf: &[u8]) -> Result<(), VmError> {
        MemoryMap::write_bytes(self, addr, buf)
    }

    #[inline]
    fn fill(&mut self, addr: u64, len: usize, byte: u8) -> Result<(), VmError> {
        MemoryMap::fill(self, addr, len, byte)
    }
}
