//! [`MemoryMap`]: the guest's physical address space as a live,
//! fixed-capacity table of regions (RAM, ROM, MMIO devices) at `u64` guest
//! addresses, changed through `&self` while it runs, with no heap and no
//! lock on the access path.
//!
//! A Cortex-M firmware sees flash at `0x0800_0000`, SRAM at `0x2000_0000`
//! and peripherals at `0x4000_0000`; a RISC-V board a boot ROM, RAM at
//! `0x8000_0000` and a UART. A map builds exactly that from memories and
//! devices it borrows for `'a`.
//!
//! Files, one concept each: `table.rs` (descriptors, version, lookup,
//! publishing a change), `config.rs` (the changes: add, remove, move,
//! protect, watch), `access.rs` (typed accesses and the checks),
//! `atomic.rs` (guest atomics), `bulk.rs` (copies), `cursor.rs`
//! ([`Cursor`], a per-CPU lookup cache), `owner.rs` ([`OwnerMap`], the
//! map in owner mode), `page_cache.rs` (the page cache both keep),
//! `window.rs` (the region window in front of it), `hooks.rs`
//! ([`AccessHook`]), `mmio.rs` ([`MmioDevice`]), `ram.rs` ([`GuestRam`]),
//! `region.rs` ([`Region`]), `error.rs` ([`MapError`]),
//! `device_state.rs` ([`DeviceState`]: devices opting in to machine
//! snapshots), `demand.rs` ([`UnmappedHandler`]: demand mapping on the
//! miss path), `machine.rs` ([`MachineSnapshot`]: the whole machine's
//! snapshot and restore).

// In the order rustdoc shows `MemoryMap`'s methods: making and changing
// the map, snapshots, demand mapping and cursors, then the accesses, bulk
// copies and, last, guest atomics.
mod config;
mod update;
mod machine;
mod machine_report;
mod demand;
mod cursor;
mod access;
mod bulk;
mod atomic;

mod caller;
mod device_state;
pub(crate) mod error;
mod hooks;
mod image;
mod mmio;
mod name;
mod once;
mod owner;
mod page_cache;
mod ram;
mod region;
mod table;
mod view;
mod window;

pub use caller::Caller;
pub use cursor::{Cursor, PerAccess, PerStep, Validation};
pub use demand::{Demand, Mapping, Miss, UnmappedHandler, HANDLER_SLOTS};
pub use device_state::DeviceState;
pub use error::{MapError, MapErrorKind};
pub use hooks::{AccessHook, HookId, WriteData};
pub use machine::{MachineSnapshot, SNAPSHOT_DEVICES, SNAPSHOT_MEMORIES, SNAPSHOT_STATE_BYTES};
pub use machine_report::{Difference, MachineError, Restored};
pub use mmio::MmioDevice;
pub use name::{Name, NAME_BYTES};
pub use owner::OwnerMap;
pub use ram::GuestRam;
pub use region::{Region, RegionKind};
pub use update::MapUpdate;

use table::Table;
use view::View;

/// A live map of up to `N` regions (RAM, ROM, MMIO) and `H` access hooks
/// (default 16: a fuzzer's dozen watchpoints; 4 to 8 suit firmware, each hook slot costs about 130 bytes of the map) at `u64` guest addresses, borrowing its memories, devices
/// and hooks for `'a`. No heap: it is plain data, `const`-constructible,
/// so it lives in a `static`, on the stack, or in its owner's struct.
///
/// ```
/// use vm_mem::{ErrorKind, MemoryMap, Perms, ShardedMemory};
///
/// static FLASH: ShardedMemory<4, 1024> = ShardedMemory::new();
/// static SRAM: ShardedMemory<16, 1024> = ShardedMemory::new();
///
/// FLASH.write_bytes(0, &[0x00, 0xbf, 0xfe, 0xe7])?; // nop; b .
/// let flash = FLASH.freeze();
/// let map: MemoryMap<'_, 8> = MemoryMap::new(); // on the stack
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
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// ## A live map
///
/// Every change ([`add_ram`](Self::add_ram), [`add_ram_window`](Self::add_ram_window),
/// [`add_rom`](Self::add_rom), [`add_mmio`](Self::add_mmio),
/// [`remove`](Self::remove), [`move_region`](Self::move_region),
/// [`protect`](Self::protect), [`watch`](Self::watch),
/// [`unwatch`](Self::unwatch)) takes `&self`, so it may come from any
/// thread while vCPU threads access the map, and from inside a device's or
/// hook's own callback (a remap register that moves flash when the guest
/// writes it).
/// - **Serialised**: changes take a spin mutex among themselves; a refused
///   change ([`MapError`]) leaves the map exactly as it was.
/// - **Lock-free accesses**: an access looks its region up with loads and
///   one validation of the table's version: no lock, no read-modify-write,
///   no store; it never waits for a change except while one is being
///   stored (a few hundred nanoseconds).
/// - **One map per access**: each access (a typed access spanning regions,
///   a bulk copy, an atomic, its hooks) sees one version of the table:
///   before or after any change, never a mix.
/// - **In-flight accesses finish**: an access that started before a change
///   returned may finish against the map it started with (as RCU readers
///   do), e.g. write to a region just removed. What it holds stays valid:
///   memories, devices and hooks are borrowed for `'a`, which outlives the
///   map.
///
/// ```
/// use vm_mem::{ErrorKind, MemoryMap, Perms, ShardedMemory};
///
/// static BANK0: ShardedMemory<1, 4096> = ShardedMemory::new();
/// static BANK1: ShardedMemory<1, 4096> = ShardedMemory::new();
/// static MAP: MemoryMap<'static, 4> = MemoryMap::new();
///
/// BANK1.write_u32(0, 1)?;
/// MAP.add_ram("bank", 0x1000, 4096, Perms::RW, &BANK0)?;
/// std::thread::scope(|s| {
///     s.spawn(|| {
///         for _ in 0..100 {
///             // One bank or the other, or the hole between the two changes.
///             match MAP.read_u32(0x1000) {
///                 Ok(v) => assert!(v == 0 || v == 1),
///                 Err(e) => assert_eq!(e.kind(), ErrorKind::Unmapped),
///             }
///         }
///     });
///     MAP.remove("bank").unwrap();
///     MAP.add_ram("bank", 0x1000, 4096, Perms::RW, &BANK1).unwrap();
/// });
/// assert_eq!(MAP.read_u32(0x1000)?, 1);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// (`remove` and `add_ram` are two changes, with a hole between them; a
/// [`move_region`](Self::move_region) or a `protect` is one.)
///
/// ## What `'a` means for a machine
///
/// The map borrows: memories, devices and hooks must outlive it. Two honest
/// ways to own a machine (`examples/machine.rs` shows both):
/// - **Firmware**: everything in `static`s, the map too
///   (`MemoryMap<'static, N>`); nothing is ever freed.
/// - **Host**: a struct owns the memories and devices; the map is built
///   over `&` borrows of them (in a second struct, or a local) and lives
///   no longer. Or leak the memories (`Box::leak`) for a `'static` map.
///   A device that must reach the bus from its callback (DMA) gets
///   `&MemoryMap` after the map is built (e.g. a `spin::Once` in the
///   device), since the map already borrows the device.
///
/// ## What it promises
/// - **Adding** a region that has zero length, runs past the top of the
///   64-bit address space, runs past its backing memory, has a name
///   already in use, overlaps another region or does not fit the table
///   fails with a [`MapError`] naming the region (and the region it
///   overlaps); the map is unchanged. Regions may have any base and length
///   (a 3-byte device block is fine) and may end at `u64::MAX`. A memory
///   may be mapped any number of times, whole or in windows.
/// - **Permissions**: reads need [`Perms::READ`](crate::Perms::READ), writes [`Perms::WRITE`](crate::Perms::WRITE),
///   fetches (`fetch_u8` to `fetch_u64`) [`Perms::EXEC`](crate::Perms::EXEC), atomics both
///   `READ` and `WRITE`; a region lacking one fails with
///   [`ErrorKind::Permission`](crate::ErrorKind::Permission). ROM refuses
///   every write and atomic with [`ErrorKind::ReadOnly`](crate::ErrorKind::ReadOnly),
///   whatever its permissions.
/// - **Errors** carry the access's guest address (absolute, the first byte
///   of the access), its size and kind; bytes no region covers give
///   [`ErrorKind::Unmapped`](crate::ErrorKind::Unmapped). An error a memory
///   or device returns keeps its kind and gets the guest address, size and
///   access.
/// - **Spanning regions**: a typed access spanning adjacent RAM or ROM
///   regions is split, each part checked before any is performed; it is
///   then tear-free per part, not as a whole. A typed access that crosses
///   into or out of an MMIO region is refused with
///   [`ErrorKind::CrossesRegion`](crate::ErrorKind::CrossesRegion) before
///   any device is called. When several errors apply, the first of this
///   order wins: unmapped bytes, an MMIO crossing, then each part in
///   address order (`ReadOnly` for a ROM write, then `Permission`).
/// - **Guest atomics** (`compare_exchange_*`, `swap_*`, `fetch_*`, see
///   [`fetch_update`](Self::fetch_update)) work on one RAM region, atomic
///   as on the memory; on a device they fail with
///   [`ErrorKind::AtomicUnsupported`](crate::ErrorKind::AtomicUnsupported),
///   across two regions with `CrossesRegion`, with nothing changed.
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
///   first refusal fails the access with
///   [`ErrorKind::DeniedByHook`](crate::ErrorKind::DeniedByHook), nothing
///   stored). Regions no hook overlaps pay nothing for hooks: each region
///   keeps the permissions its fast path may grant, less the kinds a hook
///   watches in it, so the fast path has no extra test.
/// - **Protection** ([`protect`](Self::protect)) changes permissions at run
///   time at any byte granularity, enforced as above for read, write and
///   fetch, hooked or not. Parts of a region split by `protect` still form
///   one region for accesses: a device access over them is one call, a
///   memory access one typed load or store where it fits one part. Snapshots
///   of the memories restore bytes, never permissions; a machine snapshot
///   ([`snapshot`](Self::snapshot), [`restore`](Self::restore)) restores
///   both, with the regions, hooks and opted-in devices.
/// - **Demand mapping** ([`set_unmapped_handler`](Self::set_unmapped_handler)):
///   an access to unmapped bytes may have a handler map RAM or a device
///   and be retried once.
///
/// ## Limits
/// - Lookup tries the region a small directory names for the address's
///   256 MiB granule and 4 KiB page bits (computed when the map changes),
///   then scans (up to 16 regions) or binary-searches the bases. Nothing
///   an access does writes a shared cache line. A vCPU that makes many
///   accesses keeps a [`Cursor`] ([`cpu`](Self::cpu)): its own cache of
///   recent pages' regions, checked with one version load, with RAM read
///   and written inline; a single-threaded machine that owns its memories
///   uses an [`OwnerMap`] (plain loads and stores). `BENCHMARKS.md` has
///   the costs of each.
/// - A [`Cursor`] and an [`OwnerMap`] cache 64 pages (4 KiB each,
///   direct-mapped by page number with address bits 26 and up folded in, so
///   flash, SRAM and peripherals at the usual bases do not share a slot). A
///   cache, not a capacity: a guest working over more pages misses more
///   often (each miss is a table lookup), it never fails an access.
/// - Accesses to watched regions, and accesses spanning parts or regions,
///   take the general path (not inlined; a few times slower than the fast
///   path in `benches/map.rs`).
/// - Zero-length bulk copies succeed at any address and touch nothing (and
///   reach no hook).
/// - The table keeps a write-once slot per distinct (name, memory or
///   device) pair it has ever mapped, `4 * N` of them, and one per distinct
///   hook, `4 * H`: removing a region does not free its slot (an access
///   may still be using it), though mapping the same name and memory again
///   reuses it. A map that has met `4 * N` pairs refuses new ones with
///   [`MapErrorKind::BackingsFull`]. Devices, hooks and handlers are told
///   apart by their whole reference (data address and vtable): two
///   zero-sized devices, or a `repr(C)` struct and its first field, are
///   two devices. (Rust may give one type a vtable per codegen unit, so
///   the same device made `&dyn` in two places may take two slots.)
/// - A change in progress makes accesses to the map spin until it is
///   stored. With feature `critical-section` each change runs inside a
///   critical section (and waits for the writers' mutex outside one), so on
///   a single core an interrupt handler may access and change the map
///   whatever the code it interrupted was doing with it. Without the
///   feature, do not access or change a map from an interrupt handler that
///   may interrupt a change of it on the same core.
///
/// ## Accesses spanning two memories, and a refused region
///
/// ```
/// use vm_mem::{MemoryMap, Perms, ShardedMemory};
///
/// let low = ShardedMemory::<1, 64>::new();
/// let high = ShardedMemory::<1, 64>::new();
/// let map: MemoryMap<'_, 2> = MemoryMap::new();
/// map.add_ram("low", 0x1000, 64, Perms::RW, &low)?;
/// map.add_ram("high", 0x1040, 64, Perms::RW, &high)?;
/// map.write_u32(0x103e, 0xaabb_ccdd)?; // split across the two memories
/// assert_eq!((low.read_u16(62)?, high.read_u16(0)?), (0xccdd, 0xaabb));
///
/// let err = map.add_ram("clash", 0x1020, 16, Perms::RW, &low).unwrap_err();
/// assert_eq!(err.to_string(), "bad region `clash` at 0x1020 (16 bytes): overlaps `low`");
/// assert_eq!(map.regions().len(), 2); // unchanged
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct MemoryMap<'a, const N: usize, const H: usize = 16> {
    table: Table<'a, N, H>,
    /// The demand-mapping handler, called on the miss path only.
    demand: demand::Handlers<'a>,
    /// The machine snapshot the opted-in devices were last saved to or
    /// restored from.
    devices: machine::DeviceBaseline,
    /// How many cursors were made over the map: the next one's vCPU id.
    cpus: crate::sync::AtomicUsize,
}

impl<'a, const N: usize, const H: usize> MemoryMap<'a, N, H> {
    /// A consistent view of the regions overlapping `addr..addr + len`
    /// (`len >= 1`) and the hooks.
    #[inline]
    fn view(&self, addr: u64, len: u64) -> View<'a, N, H> {
        self.table.view(addr, addr.saturating_add(len - 1))
    }

    /// The regions, sorted by base: a copy of one version of the table.
    ///
    /// ```
    /// use vm_mem::{MemoryMap, Perms, ShardedMemory};
    ///
    /// let ram = ShardedMemory::<1, 64>::new();
    /// let map: MemoryMap<'_, 4> = MemoryMap::new();
    /// map.add_ram("b", 0x2000, 64, Perms::RW, &ram)?;
    /// map.add_ram_window("a", 0x1000, 32, Perms::READ, &ram, 32)?;
    /// let names: Vec<_> = map.regions().iter().map(|r| r.name()).collect();
    /// assert_eq!(names, ["a", "b"]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn regions(&self) -> heapless::Vec<Region<'a>, N> {
        self.table.view(0, u64::MAX).regions
    }

    /// The region containing guest address `addr`, if any (a copy).
    #[inline]
    pub fn region_at(&self, addr: u64) -> Option<Region<'a>> {
        self.table.region_at(addr)
    }

    /// The region called `name`: its first part, if `protect` split it (a
    /// copy).
    pub fn region(&self, name: &str) -> Option<Region<'a>> {
        self.regions().into_iter().find(|r| r.name == name)
    }

    /// How many regions the map can hold: `N`.
    #[inline]
    pub const fn capacity(&self) -> usize {
        N
    }

    /// The table's version: even, and different after each change (it
    /// wraps after `usize::MAX / 2` changes). Two equal readings with no
    /// change between them mean the map did not change.
    ///
    /// ```
    /// use vm_mem::{MemoryMap, Perms, ShardedMemory};
    ///
    /// let ram = ShardedMemory::<1, 64>::new();
    /// let map: MemoryMap<'_, 2> = MemoryMap::new();
    /// let v = map.version();
    /// map.add_ram("ram", 0, 64, Perms::RW, &ram)?;
    /// assert_ne!(map.version(), v);
    /// assert!(map.add_ram("ram", 0, 64, Perms::RW, &ram).is_err());
    /// assert_eq!(map.version(), v + 2); // a refused change publishes nothing
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[inline]
    pub fn version(&self) -> usize {
        self.table.version()
    }
}

impl<const N: usize, const H: usize> Default for MemoryMap<'_, N, H> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize, const H: usize> core::fmt::Debug for MemoryMap<'_, N, H> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let view = self.table.view(0, u64::MAX);
        f.debug_struct("MemoryMap")
            .field("regions", &view.regions.as_slice())
            .field("hooks", &view.hooks.len())
            .finish()
    }
}

/// A map is a [`MemoryAccess`](crate::MemoryAccess), so emulator code
/// generic over it runs on a map as on a memory (`step(&mut map)`, as for
/// every handle); its `fetch_*` check [`Perms::EXEC`](crate::Perms::EXEC).
impl<const N: usize, const H: usize> crate::MemoryAccess for MemoryMap<'_, N, H> {
    crate::access::forward!(guest(MemoryMap), [*]);
}

/// `&MemoryMap` is a [`MemoryAccess`](crate::MemoryAccess) too: a shared
/// map's writes need no `&mut`.
impl<const N: usize, const H: usize> crate::MemoryAccess for &MemoryMap<'_, N, H> {
    crate::access::forward!(guest(MemoryMap), [**]);
}
