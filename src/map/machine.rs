//! [`MachineSnapshot`]: a whole machine's snapshot — the map's table
//! (regions, their bases and permissions, installed hooks), the bytes of
//! its RAM memories and the state of every device that opts in
//! ([`DeviceState`](crate::DeviceState)) — captured with [`MemoryMap::snapshot`] and brought
//! back with [`MemoryMap::restore`] at the cost of what the run changed.
//!
//! - **Memories** of any geometry are registered by the caller as pairs
//!   ([`MachineSnapshot::add_memory`]: a `&ShardedMemory<S, Z>` and the
//!   `&mut Snapshot<S, Z>` that holds its bytes) in a fixed-capacity set of
//!   `M` entries; the pair is type-erased there (the snapshot as
//!   `dyn Any`, checked against its memory's type when registered), so no
//!   byte arena is sized for the largest geometry. Each is restored by the
//!   memory's own incremental restore: the shards written since.
//! - **The map's table** is copied (regions and hooks, `N + H` entries in
//!   the snapshot itself) with the table's version; restore republishes it
//!   only if the version moved.
//! - **Devices** that opt in are found in the map's MMIO regions when the
//!   snapshot is captured (each device once, however often it is mapped);
//!   their state goes into an arena of `B` bytes inside the snapshot, up to
//!   `D` devices. Restore calls back only those that report themselves
//!   [`changed`](crate::DeviceState::changed) if the devices were last saved or
//!   restored by this very snapshot, else all of them (several snapshots
//!   of one machine may be alive: the map keeps the devices' baseline as
//!   each memory keeps its own). Devices that do not opt in are left
//!   alone.
//!
//! No heap: the snapshot is plain data with const-generic capacities, so it
//! can be a `static` (with the memories' snapshots beside it); `alloc` adds
//! [`MachineSnapshot::new_boxed`].
//!
//! Limits: capture and restore run with the machine quiescent (no vCPU
//! accessing it); a change made by another thread during either may be
//! kept or undone, never half-applied (each table change is atomic). Every
//! RAM region's memory must be registered, else capture fails with
//! [`MachineError::Unregistered`]: a machine restored without one of its
//! memories would silently keep the run's bytes. ROM regions need none
//! (frozen memory cannot change). Devices that appear only after the
//! capture (added by the run) are not restored; the table's restore unmaps
//! them. Hook ids stay unique across restores: a restore never hands out
//! an id again.

use crate::map::hooks::Hook;
use crate::map::image::{Image, Registered, Source};
use crate::map::machine_report::{Difference, MachineError, Restored};
use crate::map::mmio::StateRef;
use crate::map::name::Name;
use crate::map::region::{Backing, Region};
use crate::map::table::Layout;
use crate::map::MemoryMap;
use crate::memory::ShardedMemory;
use crate::shard::OwnedRam;
use crate::snapshot::{self, Snapshot, NEVER, UNTRACKED};
use crate::sync::{AtomicUsize, Ordering};
use crate::DeviceState;

/// An owner map's handle on the memory at an address, if it holds that
/// memory lent (`&'a mut`): the shared map has none.
pub(crate) type Lent<'l, 'a> = dyn Fn(*const ()) -> Option<OwnedRam<'a>> + 'l;

/// Who runs a capture or restore: the owner map's id and an owner's handle
/// on each memory lent to it (by the memory's address), or a shared map
/// ([`By::shared`]: no owner, nothing lent).
#[derive(Clone, Copy)]
pub(crate) struct By<'l, 'a> {
    pub(crate) owner: u64,
    pub(crate) lent: &'l Lent<'l, 'a>,
}

impl<'a> By<'_, 'a> {
    /// A shared map: no owner id ([`NEVER`]), no lent memory.
    pub(crate) fn shared() -> Self {
        By {
            owner: NEVER,
            lent: &|_| None,
        }
    }
}

/// Which machine snapshot a map's opted-in devices were last saved to or
/// restored from, as memories keep their baseline snapshot: its id, or
/// [`NEVER`] when unknown (no capture yet, a capture that failed part-way,
/// an id too large for a `usize`). A device's [`changed`](crate::DeviceState::changed)
/// flag means "since the last save or restore", so a restore may trust it
/// only when that save or restore was this snapshot's; any other snapshot
/// puts every device back.
pub(crate) struct DeviceBaseline(AtomicUsize);

impl DeviceBaseline {
    pub(crate) const fn new() -> Self {
        DeviceBaseline(AtomicUsize::new(0))
    }

    /// Records `id` (unknown if it does not fit a `usize` or is untracked).
    fn set(&self, id: u64) {
        let id = usize::try_from(id).ok().filter(|_| id != UNTRACKED);
        // ORDERING: `Relaxed`: capture and restore run with the machine
        // quiescent, on one thread at a time (see `MachineSnapshot`).
        self.0.store(id.unwrap_or(0), Ordering::Relaxed);
    }

    /// Whether the devices were last saved to or restored from snapshot `id`.
    fn is(&self, id: u64) -> bool {
        // ORDERING: `Relaxed`, as in `set`.
        let now = self.0.load(Ordering::Relaxed);
        id != NEVER && id != UNTRACKED && u64::try_from(now) == Ok(id)
    }
}

/// A device's saved state: its region's name, its state, where its bytes
/// are in the arena and how many.
#[derive(Clone, Copy)]
struct Saved<'a> {
    name: &'a str,
    state: StateRef<'a>,
    at: usize,
    len: usize,
}

/// A snapshot of a whole machine built on a [`MemoryMap<'a, N, H>`]: its
/// table, up to `M` registered memories (their [`Snapshot`]s live beside
/// it, borrowed for `'s`), and the state of up to `D` opted-in devices in
/// a `B`-byte arena.
///
/// - **Memories** of any geometry are registered as pairs
///   ([`add_memory`](Self::add_memory): a `&ShardedMemory<S, Z>` and the
///   `&mut Snapshot<S, Z>` holding its bytes), type-erased in a set of `M`
///   entries (the snapshot as `dyn Any`, its type fixed by its memory's
///   when registered), so no arena is sized for the largest geometry.
///   Each is restored by the memory's own incremental restore.
/// - **The table** (regions and hooks) is copied into the snapshot with
///   its version; restore republishes it only if the version moved.
/// - **Devices** that opt in ([`DeviceState`](crate::DeviceState)) are found in the map's MMIO
///   regions at capture (each once, however often mapped); restore puts
///   back only those that report themselves changed. Devices that do not
///   opt in are left alone; devices added by the run are unmapped by the
///   table's restore, not restored.
/// - **No heap**: plain data with const-generic capacities, so it can be a
///   `static` (the memories' snapshots beside it); `alloc` adds
///   [`new_boxed`](Self::new_boxed).
/// - **Limits**: capture and restore run with the machine quiescent (no
///   vCPU accessing it); every RAM region's memory must be registered
///   (else capture fails with [`MachineError::Unregistered`]: a restore
///   without it would silently keep the run's bytes); ROM needs none.
///
/// ```
/// use vm_mem::{MachineSnapshot, MemoryMap, Perms, ShardedMemory, Snapshot};
///
/// static RAM: ShardedMemory<16, 1024> = ShardedMemory::new();
/// let mut ram_snap = Snapshot::<16, 1024>::new();
/// let map: MemoryMap<'_, 4> = MemoryMap::new();
/// map.add_ram("ram", 0x2000_0000, 0x4000, Perms::RW, &RAM)?;
///
/// // The map's sizes from `map`; capacities that fit a small machine.
/// let mut snap = MachineSnapshot::new();
/// snap.add_memory(&RAM, &mut ram_snap)?;
/// map.snapshot(&mut snap)?;
///
/// // The run: a store, a permission change, a remap.
/// map.write_u32(0x2000_0010, 7)?;
/// map.protect(0x2000_0000..=0x2000_0fff, Perms::READ)?;
/// map.move_region("ram", 0x3000_0000)?;
///
/// let cost = map.restore(&mut snap)?;
/// assert_eq!((cost.table, cost.shards, cost.devices), (true, 1, 0));
/// assert_eq!(map.read_u32(0x2000_0010)?, 0);
/// assert_eq!(map.region("ram").unwrap().perms(), Perms::RW);
/// assert_eq!(snap.diff(&map, &mut [])?, None);
/// // Nothing changed since: nothing copied.
/// assert_eq!(map.restore(&mut snap)?.shards, 0);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct MachineSnapshot<
    'a,
    's,
    const N: usize,
    const M: usize = SNAPSHOT_MEMORIES,
    const D: usize = SNAPSHOT_DEVICES,
    const B: usize = SNAPSHOT_STATE_BYTES,
    const H: usize = 16,
> {
    /// Everything but the device-state arena.
    head: Head<'a, 's, N, M, D, H>,
    /// The devices' saved states, each at its [`Saved`] entry's place.
    state: [u8; B],
}

/// A machine snapshot's table copy, memories and device entries: all of
/// it but the arena, apart so [`MachineSnapshot::new_boxed`] can build
/// the arena in place on the heap.
struct Head<'a, 's, const N: usize, const M: usize, const D: usize, const H: usize> {
    layout: Layout<'a, N, H>,
    /// The table's version the layout is (or was last restored as).
    version: usize,
    /// This capture's id (fresh at each capture, from the counter the
    /// memories' snapshots use), to recognise the devices' baseline.
    id: u64,
    /// The owner map that captured it (its id), or [`NEVER`] for a shared
    /// map: a snapshot of an owner map's machine reaches the memories lent
    /// to it, so only that owner map may restore or compare it.
    owner: u64,
    taken: bool,
    memories: heapless::Vec<Registered<'a, 's>, M>,
    devices: heapless::Vec<Saved<'a>, D>,
    /// User state (CPU registers...) saved and restored with the devices.
    states: heapless::Vec<(&'a str, StateRef<'a>), D>,
    /// The owner map this snapshot's user state binds it to (state that
    /// need not be `Sync`), or [`NEVER`].
    bound: u64,
}

impl<const N: usize, const M: usize, const D: usize, const H: usize> Head<'_, '_, N, M, D, H> {
    const fn new() -> Self {
        Head {
            layout: Layout {
                regions: heapless::Vec::new(),
                hooks: heapless::Vec::new(),
                next_hook: 0,
            },
            version: 0,
            id: NEVER,
            owner: NEVER,
            taken: false,
            memories: heapless::Vec::new(),
            devices: heapless::Vec::new(),
            states: heapless::Vec::new(),
            bound: NEVER,
        }
    }
}

/// Memories a [`MachineSnapshot::new`] snapshot registers.
pub const SNAPSHOT_MEMORIES: usize = 4;
/// Devices and user states a [`MachineSnapshot::new`] snapshot saves.
pub const SNAPSHOT_DEVICES: usize = 8;
/// Bytes of device and user state a [`MachineSnapshot::new`] snapshot
/// holds.
pub const SNAPSHOT_STATE_BYTES: usize = 256;

impl<'a, 's, const N: usize, const H: usize>
    MachineSnapshot<'a, 's, N, SNAPSHOT_MEMORIES, SNAPSHOT_DEVICES, SNAPSHOT_STATE_BYTES, H>
{
    /// An empty snapshot, with capacities that fit a small machine:
    /// [`SNAPSHOT_MEMORIES`] memories, [`SNAPSHOT_DEVICES`] devices and user
    /// states, [`SNAPSHOT_STATE_BYTES`] bytes of their state. The map's own
    /// sizes (`N` regions, `H` hooks) come from the map it is used with, so
    /// `MachineSnapshot::new()` names nothing:
    ///
    /// ```
    /// use vm_mem::{MachineSnapshot, OwnerMap, Perms, ShardedMemory, Snapshot};
    ///
    /// let mut ram = ShardedMemory::<4, 1024>::new();
    /// let mut ram_snap = Snapshot::<4, 1024>::new();
    /// let map: OwnerMap<'_, 8> = OwnerMap::new();
    /// map.add_ram("ram", 0, 0x1000, Perms::RW, &mut ram)?;
    /// let mut snap = MachineSnapshot::new(); // N = 8 from `map`
    /// snap.add_memory_of("ram", &mut ram_snap)?;
    /// map.snapshot(&mut snap)?;
    /// map.write_u8(0x10, 1)?;
    /// map.restore(&mut snap)?;
    /// assert_eq!(map.read_u8(0x10)?, 0);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// Other capacities: [`new_sized`](Self::new_sized).
    pub const fn new() -> Self {
        Self::new_sized()
    }

    /// [`new`](Self::new) built directly on the heap (see
    /// [`new_sized_boxed`](Self::new_sized_boxed)).
    #[cfg(feature = "alloc")]
    pub fn new_boxed() -> alloc::boxed::Box<Self> {
        Self::new_sized_boxed()
    }
}

impl<'a, 's, const N: usize, const M: usize, const D: usize, const B: usize, const H: usize>
    MachineSnapshot<'a, 's, N, M, D, B, H>
{
    /// An empty snapshot of chosen capacities, no memory registered
    /// (`const`, for a `static`): up to `M` memories, `D` devices and user
    /// states, `B` bytes of their state, for a map of `N` regions and `H`
    /// hooks.
    ///
    /// ```
    /// use vm_mem::{MachineSnapshot, MemoryMap};
    ///
    /// // For a map of 16 regions: 2 memories, 4 devices, 128 bytes of state.
    /// const EMPTY: MachineSnapshot<'static, 'static, 16, 2, 4, 128> = MachineSnapshot::new_sized();
    /// let snap = EMPTY;
    /// assert!(!snap.is_taken());
    /// ```
    pub const fn new_sized() -> Self {
        MachineSnapshot {
            head: Head::new(),
            state: [0; B],
        }
    }

    /// [`new_sized`](Self::new_sized) built directly on the heap: the
    /// device-state arena (`B` bytes) never passes through the stack, so a
    /// multi-MiB arena works on a thread with a small stack, in a debug
    /// build too.
    ///
    /// ```
    /// use vm_mem::MachineSnapshot;
    ///
    /// // 4 MiB of device state, made on a thread with a 256 KiB stack.
    /// let snap = std::thread::Builder::new()
    ///     .stack_size(256 * 1024)
    ///     .spawn(|| MachineSnapshot::<'static, 'static, 4, 2, 4, { 4 << 20 }>::new_sized_boxed())
    ///     .unwrap()
    ///     .join()
    ///     .unwrap();
    /// assert!(!snap.is_taken());
    /// ```
    #[cfg(feature = "alloc")]
    #[allow(unsafe_code)] // in-place initialisation, argued below
    pub fn new_sized_boxed() -> alloc::boxed::Box<Self> {
        let mut boxed = alloc::boxed::Box::<Self>::new_uninit();
        let p = boxed.as_mut_ptr();
        // SAFETY: `p` points to an allocation for one `Self`; `&raw mut`
        // takes a field's address without reading or referencing it.
        let state = unsafe { &raw mut (*p).state };
        // SAFETY: `state` is valid for writes and aligned (a field of the
        // allocation): it becomes `B` zero bytes in place, no temporary.
        unsafe { state.write_bytes(0, 1) };
        // SAFETY: as for `state` above.
        let head = unsafe { &raw mut (*p).head };
        // SAFETY: as for `state`'s write; `Head` is small (no arena).
        unsafe { head.write(Head::new()) };
        // SAFETY: both fields are written, with `new_sized()`'s values: the
        // value is fully initialised and equal to `new_sized()`.
        unsafe { boxed.assume_init() }
    }

    /// Registers memory `mem` with `snap`, the snapshot that will hold its
    /// bytes: the machine snapshot captures and restores it with the rest.
    /// Register every memory the map backs a RAM region with (any
    /// geometry). Fails with [`MachineError::MemoriesFull`] past `M`
    /// memories, [`MachineError::DuplicateMemory`] for a memory already
    /// registered. Takes effect at the next capture.
    pub fn add_memory<const S: usize, const Z: usize>(
        &mut self,
        mem: &'s ShardedMemory<S, Z>,
        snap: &'s mut Snapshot<S, Z>,
    ) -> Result<(), MachineError> {
        let image: &'s dyn Image = mem;
        let known = self.head.memories.iter().any(|r| match r.source {
            Source::Memory(m) => m.addr() == image.addr(),
            Source::Region { .. } => false,
        });
        if known {
            return Err(MachineError::DuplicateMemory);
        }
        self.register(Source::Memory(image), snap)
    }

    /// Registers the memory of RAM region `region` with `snap`, the
    /// snapshot that will hold its bytes: for a map that holds its
    /// memories, an [`OwnerMap`](crate::OwnerMap) (its memories are lent
    /// to it, so they cannot be named here), or wherever naming the region
    /// is handier. Each capture finds the region's memory (it must be a
    /// `ShardedMemory<S, Z>`: else the capture fails with
    /// [`MachineError::NoSuchMemory`] or [`MachineError::WrongGeometry`]);
    /// restore puts back that memory. Fails with
    /// [`MachineError::MemoriesFull`] past `M` memories,
    /// [`MachineError::DuplicateMemory`] for a region already named.
    ///
    /// ```
    /// use vm_mem::{MachineSnapshot, OwnerMap, Perms, ShardedMemory, Snapshot};
    ///
    /// let mut sram = ShardedMemory::<4, 4096>::new();
    /// let mut sram_snap = Snapshot::<4, 4096>::new();
    /// let map: OwnerMap<'_, 4> = OwnerMap::new();
    /// map.add_ram("sram", 0x2000_0000, 0x4000, Perms::RW, &mut sram)?;
    ///
    /// let mut snap = MachineSnapshot::new();
    /// snap.add_memory_of("sram", &mut sram_snap)?;
    /// map.snapshot(&mut snap)?;
    /// map.write_u32(0x2000_0010, 7)?;
    /// assert_eq!(map.restore(&mut snap)?.shards, 1);
    /// assert_eq!(map.read_u32(0x2000_0010)?, 0);
    /// assert_eq!(map.diff(&snap, &mut [])?, None);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn add_memory_of<const S: usize, const Z: usize>(
        &mut self,
        region: &'a str,
        snap: &'s mut Snapshot<S, Z>,
    ) -> Result<(), MachineError> {
        let known = self.head.memories.iter().any(|r| match r.source {
            Source::Region { name, .. } => name == region,
            Source::Memory(_) => false,
        });
        if known {
            return Err(MachineError::DuplicateMemory);
        }
        let source = Source::Region {
            name: region,
            found: None,
        };
        self.register(source, snap)
    }

    /// Adds a registration; the next capture takes it in.
    fn register(
        &mut self,
        source: Source<'a, 's>,
        copy: &'s mut (dyn core::any::Any + Send),
    ) -> Result<(), MachineError> {
        self.head.taken = false;
        self.head
            .memories
            .push(Registered { source, copy })
            .map_err(|_| MachineError::MemoriesFull)
    }

    /// Adds user state to the machine: anything that is not a memory or a
    /// device (CPU registers, a PRNG, a device model's host-side state),
    /// saved at each capture and brought back by restore as an opted-in
    /// device's state is (with the same baseline rules), under `name`,
    /// which [`diff`](Self::diff) reports as [`Difference::Device`] and
    /// [`device_state`](Self::device_state) reads. `Sync`: a shared map
    /// may restore it from any thread; an owner map takes state in `Cell`s
    /// with [`OwnerMap::add_state`](crate::OwnerMap::add_state). Devices
    /// and states together take at most `D` entries. Fails with
    /// [`MachineError::DevicesFull`] past `D`.
    ///
    /// ```
    /// use core::sync::atomic::{AtomicU32, Ordering};
    /// use vm_mem::{DeviceState, MachineSnapshot, MemoryMap, Perms, ShardedMemory, Snapshot};
    ///
    /// /// A CPU's program counter, opted in to machine snapshots.
    /// struct Pc(AtomicU32);
    /// impl DeviceState for Pc {
    ///     fn state_len(&self) -> usize { 4 }
    ///     fn save(&self, out: &mut [u8]) -> usize {
    ///         out[..4].copy_from_slice(&self.0.load(Ordering::Relaxed).to_le_bytes());
    ///         4
    ///     }
    ///     fn restore(&self, from: &[u8]) {
    ///         self.0.store(u32::from_le_bytes(from[..4].try_into().unwrap()), Ordering::Relaxed);
    ///     }
    ///     fn changed(&self) -> bool { true }
    ///     fn mark_clean(&self) {}
    /// }
    ///
    /// let ram = ShardedMemory::<1, 4096>::new();
    /// let mut ram_snap = Snapshot::<1, 4096>::new();
    /// let pc = Pc(AtomicU32::new(0x0800_0000));
    /// let map: MemoryMap<'_, 4> = MemoryMap::new();
    /// map.add_ram("ram", 0x2000_0000, 0x1000, Perms::RW, &ram)?;
    /// let mut snap = MachineSnapshot::new();
    /// snap.add_memory(&ram, &mut ram_snap)?;
    /// snap.add_state("pc", &pc)?;
    /// map.snapshot(&mut snap)?; // memory, table and CPU together
    /// pc.0.store(0x0800_0124, Ordering::Relaxed);
    /// map.write_u32(0x2000_0000, 1)?;
    /// map.restore(&mut snap)?;
    /// assert_eq!((pc.0.load(Ordering::Relaxed), map.read_u32(0x2000_0000)?), (0x0800_0000, 0));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn add_state(
        &mut self,
        name: &'a str,
        state: &'a (dyn DeviceState + Sync),
    ) -> Result<(), MachineError> {
        self.push_state(name, StateRef::shared(state))
    }

    /// Adds a user state entry (the next capture takes it in).
    pub(crate) fn push_state(
        &mut self,
        name: &'a str,
        state: StateRef<'a>,
    ) -> Result<(), MachineError> {
        self.head.taken = false;
        self.head
            .states
            .push((name, state))
            .map_err(|_| MachineError::DevicesFull {
                device: Name::new(name),
            })
    }

    /// Binds the snapshot to the owner map with id `owner` (it holds state
    /// only that map's thread may call).
    pub(crate) fn bind(&mut self, owner: u64) -> Result<(), MachineError> {
        if self.head.bound != NEVER && self.head.bound != owner {
            return Err(MachineError::OtherMap);
        }
        self.head.bound = owner;
        Ok(())
    }

    /// Whether a capture succeeded (and no memory was registered since).
    pub fn is_taken(&self) -> bool {
        self.head.taken
    }

    /// The saved state of the device mapped as region `name`, if it opted
    /// in and the snapshot was captured.
    pub fn device_state(&self, name: &str) -> Option<&[u8]> {
        let d = self.head.devices.iter().find(|d| d.name == name)?;
        self.state.get(d.at..d.at + d.len)
    }

    /// Compares the machine with the snapshot: the map's table (regions
    /// and hooks; not the next hook id), every registered memory byte for
    /// byte, and every saved device's state, saved anew into `scratch`
    /// (which must hold the largest device's [`state_len`](crate::DeviceState::state_len)).
    /// Returns the first difference, or `None` if the machine equals the
    /// snapshot. Meant for tests and debug modes: it reads everything.
    pub fn diff(
        &self,
        map: &MemoryMap<'a, N, H>,
        scratch: &mut [u8],
    ) -> Result<Option<Difference>, MachineError> {
        self.diff_as(map, NEVER, scratch)
    }

    /// [`diff`](Self::diff) by the map with owner id `owner` ([`NEVER`]:
    /// a shared map), which must be the one that captured the snapshot.
    pub(crate) fn diff_as(
        &self,
        map: &MemoryMap<'a, N, H>,
        owner: u64,
        scratch: &mut [u8],
    ) -> Result<Option<Difference>, MachineError> {
        if !self.head.taken {
            return Err(MachineError::NotTaken);
        }
        if self.head.owner != owner {
            return Err(MachineError::OtherMap);
        }
        let same = map
            .table
            .inspect(|now, _| same_layout(now, &self.head.layout));
        if !same {
            return Ok(Some(Difference::Map));
        }
        for (i, r) in self.head.memories.iter().enumerate() {
            let Some(mem) = r.source.image() else {
                continue;
            };
            if let Some(shard) = mem.differs(&*r.copy).map_err(MachineError::Memory)? {
                return Ok(Some(Difference::Memory { memory: i, shard }));
            }
        }
        for d in self.head.devices.iter() {
            let needed = d.state.state_len();
            let out = scratch.get_mut(..needed).ok_or(MachineError::StateFull {
                device: Name::new(d.name),
                needed,
            })?;
            let n = d.state.save(out).min(needed);
            if out.get(..n) != self.state.get(d.at..d.at + d.len) {
                return Ok(Some(Difference::Device(Name::new(d.name))));
            }
        }
        Ok(None)
    }
}

impl<const N: usize, const M: usize, const D: usize, const B: usize, const H: usize> Default
    for MachineSnapshot<'_, '_, N, M, D, B, H>
{
    fn default() -> Self {
        Self::new_sized()
    }
}

/// Whether two layouts map the same regions (bases, lengths, names,
/// permissions, backings and offsets) and hooks (ranges, kinds, ids).
fn same_layout<const N: usize, const H: usize>(a: &Layout<'_, N, H>, b: &Layout<'_, N, H>) -> bool {
    let region = |(x, y): (&Region<'_>, &Region<'_>)| {
        (x.base, x.last, x.name, x.perms, x.offset) == (y.base, y.last, y.name, y.perms, y.offset)
            && x.backing.same(y.backing)
    };
    let hook = |(x, y): (&Hook<'_>, &Hook<'_>)| {
        (x.first, x.last, x.kinds, x.id) == (y.first, y.last, y.kinds, y.id)
            && core::ptr::eq(x.hook, y.hook)
    };
    a.regions.len() == b.regions.len()
        && a.hooks.len() == b.hooks.len()
        && a.regions.iter().zip(&b.regions).all(region)
        && a.hooks.iter().zip(&b.hooks).all(hook)
}

impl<'a, const N: usize, const H: usize> MemoryMap<'a, N, H> {
    /// Captures the whole machine into `snap`: the table (regions, bases,
    /// permissions, hooks), the bytes of every memory registered with
    /// [`MachineSnapshot::add_memory`] (each becomes its memory's
    /// restore baseline), and the state of every device the map holds
    /// that opts in ([`MmioDevice::state`](crate::MmioDevice::state)).
    ///
    /// Fails, leaving `snap` not taken, with
    /// [`MachineError::Unregistered`] if a RAM region's memory is not
    /// registered, or [`MachineError::DevicesFull`] /
    /// [`MachineError::StateFull`] if the devices do not fit `D` entries
    /// and `B` bytes. Run it with the machine quiescent (see the
    /// [`MachineSnapshot`] docs).
    pub fn snapshot<const M: usize, const D: usize, const B: usize>(
        &self,
        snap: &mut MachineSnapshot<'a, '_, N, M, D, B, H>,
    ) -> Result<(), MachineError> {
        self.snapshot_with(snap, By::shared())
    }

    /// [`snapshot`](Self::snapshot) run `by` a map: an owner map's lent
    /// memories are copied with plain copies.
    pub(crate) fn snapshot_with<const M: usize, const D: usize, const B: usize>(
        &self,
        snap: &mut MachineSnapshot<'a, '_, N, M, D, B, H>,
        by: By<'_, 'a>,
    ) -> Result<(), MachineError> {
        let By { owner, lent } = by;
        // State that need not be `Sync` is called by its owner map alone.
        if snap.head.bound != NEVER && snap.head.bound != owner {
            return Err(MachineError::OtherMap);
        }
        snap.head.taken = false;
        let (layout, version) = self.table.inspect(|l, v| {
            let copy = Layout {
                regions: l.regions.clone(),
                hooks: l.hooks.clone(),
                next_hook: l.next_hook,
            };
            (copy, v)
        });
        // Memories registered by region name: find each one's memory now,
        // all before anything is changed.
        let mut found: heapless::Vec<Option<&'a dyn Image>, M> = heapless::Vec::new();
        for reg in snap.head.memories.iter() {
            let image = match reg.source {
                Source::Memory(_) => None,
                Source::Region { name, .. } => {
                    let ram = layout.regions.iter().find_map(|r| match r.backing {
                        Backing::Ram(m) if r.name == name => m.image(),
                        _ => None,
                    });
                    let image = ram.ok_or(MachineError::NoSuchMemory {
                        region: Name::new(name),
                    })?;
                    if !image.fits(&*reg.copy) {
                        return Err(MachineError::WrongGeometry {
                            region: Name::new(name),
                        });
                    }
                    Some(image)
                }
            };
            // Cannot fail: as many as the registrations, at most `M`.
            let _ = found.push(image);
        }
        for r in layout.regions.iter() {
            if let Backing::Ram(m) = r.backing {
                // A frozen memory never changes: like ROM, it needs no
                // registration (and no registration could be its).
                if m.is_immutable() {
                    continue;
                }
                let mut images = snap.head.memories.iter().zip(&found);
                let registered = images.any(|(reg, found)| {
                    let image = match reg.source {
                        Source::Memory(m) => Some(m),
                        Source::Region { .. } => *found,
                    };
                    image.is_some_and(|i| i.addr() == m.memory_addr())
                });
                if !registered {
                    return Err(MachineError::Unregistered {
                        region: Name::new(r.name),
                    });
                }
            }
        }
        for (reg, image) in snap.head.memories.iter_mut().zip(found) {
            if let Source::Region { found, .. } = &mut reg.source {
                *found = image;
            }
        }
        snap.head.devices.clear();
        // From the first `mark_clean` on, the devices' flags no longer say
        // "changed since" any earlier snapshot; until this capture succeeds
        // they say it of none.
        self.devices.set(NEVER);
        let mut at = 0usize;
        for r in layout.regions.iter() {
            let Backing::Mmio(dev) = r.backing else {
                continue;
            };
            let Some(state) = dev.state() else { continue };
            let known = snap
                .head
                .devices
                .iter()
                .any(|d| core::ptr::eq(d.state.get(), state.get()));
            if known {
                continue;
            }
            let needed = state.state_len();
            let full = MachineError::StateFull {
                device: Name::new(r.name),
                needed,
            };
            let end = at.checked_add(needed).ok_or(full)?;
            let out = snap.state.get_mut(at..end).ok_or(full)?;
            let len = state.save(out).min(needed);
            state.mark_clean();
            snap.head
                .devices
                .push(Saved {
                    name: r.name,
                    state,
                    at,
                    len,
                })
                .map_err(|_| MachineError::DevicesFull {
                    device: Name::new(r.name),
                })?;
            at = end;
        }
        // User state, after the devices, in the same arena and entries.
        for &(name, state) in snap.head.states.iter() {
            let needed = state.state_len();
            let full = MachineError::StateFull {
                device: Name::new(name),
                needed,
            };
            let end = at.checked_add(needed).ok_or(full)?;
            let out = snap.state.get_mut(at..end).ok_or(full)?;
            let len = state.save(out).min(needed);
            state.mark_clean();
            let saved = Saved {
                name,
                state,
                at,
                len,
            };
            snap.head
                .devices
                .push(saved)
                .map_err(|_| MachineError::DevicesFull {
                    device: Name::new(name),
                })?;
            at = end;
        }
        for reg in snap.head.memories.iter_mut() {
            if let Some(image) = reg.source.image() {
                match lent(image.addr()) {
                    Some(owned) => image.capture_lent(owned, &mut *reg.copy),
                    None => image.capture(&mut *reg.copy),
                }
            }
        }
        snap.head.layout = layout;
        snap.head.version = version;
        snap.head.id = snapshot::next_id();
        snap.head.owner = owner;
        self.devices.set(snap.head.id);
        snap.head.taken = true;
        Ok(())
    }

    /// Compares the machine with `snap`: [`MachineSnapshot::diff`], called
    /// on the map as on an [`OwnerMap`](crate::OwnerMap).
    pub fn diff<const M: usize, const D: usize, const B: usize>(
        &self,
        snap: &MachineSnapshot<'a, '_, N, M, D, B, H>,
        scratch: &mut [u8],
    ) -> Result<Option<Difference>, MachineError> {
        snap.diff(self, scratch)
    }

    /// Brings the whole machine back to `snap`, paying for what changed
    /// since it was captured or last restored: the table is republished
    /// only if its version moved (regions, permissions, hooks all come
    /// back; hook ids are never handed out again); each registered memory
    /// copies back the shards written since (its incremental restore); each
    /// saved device that reports itself
    /// [`changed`](crate::DeviceState::changed) gets its state back. Several
    /// snapshots of one machine may be alive (a root and a later one, save
    /// slots): as memories do, the devices keep one baseline, the snapshot
    /// last captured or restored, and restoring any other snapshot puts
    /// every saved device back, changed or not. Returns what was copied.
    ///
    /// Fails with [`MachineError::NotTaken`] before a capture, or with the
    /// error of a memory that refuses (a frozen one: `ReadOnly`). Run it
    /// with the machine quiescent.
    pub fn restore<const M: usize, const D: usize, const B: usize>(
        &self,
        snap: &mut MachineSnapshot<'a, '_, N, M, D, B, H>,
    ) -> Result<Restored, MachineError> {
        self.restore_with(snap, By::shared())
    }

    /// [`restore`](Self::restore) run `by` a map, as
    /// [`snapshot_with`](Self::snapshot_with).
    pub(crate) fn restore_with<const M: usize, const D: usize, const B: usize>(
        &self,
        snap: &mut MachineSnapshot<'a, '_, N, M, D, B, H>,
        by: By<'_, 'a>,
    ) -> Result<Restored, MachineError> {
        let By { owner, lent } = by;
        if !snap.head.taken {
            return Err(MachineError::NotTaken);
        }
        // A snapshot of an owner map's machine holds that map's lent
        // memories: restoring it into any other map would let it reach
        // them past the owner (from another thread, say).
        if snap.head.owner != owner {
            return Err(MachineError::OtherMap);
        }
        let mut done = Restored::default();
        if self.table.version() != snap.head.version {
            let saved = &snap.head.layout;
            let version = &mut snap.head.version;
            self.table
                .change(|l| {
                    l.regions = saved.regions.clone();
                    l.hooks = saved.hooks.clone();
                    l.next_hook = l.next_hook.max(saved.next_hook);
                    // Under the writers' mutex: the version this change
                    // publishes is the current one plus 2.
                    *version = self.table.version().wrapping_add(2);
                    Ok(())
                })
                .map_err(MachineError::Map)?;
            done.table = true;
        }
        for reg in snap.head.memories.iter() {
            if let Some(image) = reg.source.image() {
                let copied = match lent(image.addr()) {
                    Some(owned) => image.restore_lent(owned, &*reg.copy),
                    None => image.restore(&*reg.copy),
                };
                done.shards += copied.map_err(MachineError::Memory)?;
            }
        }
        // A device's `changed` flag is about its last save or restore:
        // trusted only if that was this snapshot's, else every device
        // comes back.
        let incremental = self.devices.is(snap.head.id);
        for d in snap.head.devices.iter() {
            if (!incremental || d.state.changed())
                && let Some(bytes) = snap.state.get(d.at..d.at + d.len)
            {
                d.state.restore(bytes);
                done.devices += 1;
            }
        }
        self.devices.set(snap.head.id);
        Ok(done)
    }
}
