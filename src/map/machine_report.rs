//! What a machine snapshot reports: [`MachineError`] (why a capture,
//! restore or comparison failed), [`Restored`] (what a restore copied
//! back) and [`Difference`] (the first part of a machine that differs from
//! its snapshot).

use crate::map::error::MapError;
use crate::map::name::Name;
use crate::VmError;

/// Why a machine snapshot could not be captured, restored or compared.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum MachineError {
    /// [`MachineSnapshot::add_memory`](crate::MachineSnapshot::add_memory): all `M` memory entries are in use.
    MemoriesFull,
    /// [`MachineSnapshot::add_memory`](crate::MachineSnapshot::add_memory): the memory is already registered.
    DuplicateMemory,
    /// Capture: the map has more opted-in devices than `D`; names the first
    /// that did not fit.
    DevicesFull {
        /// The region of the device that did not fit.
        device: Name,
    },
    /// Capture or compare: a device's state does not fit the room left
    /// (the `B`-byte arena, or the scratch buffer of a compare).
    StateFull {
        /// The region of the device whose state did not fit.
        device: Name,
        /// The bytes it needs.
        needed: usize,
    },
    /// Capture: a RAM region's memory is not registered with
    /// [`MachineSnapshot::add_memory`](crate::MachineSnapshot::add_memory).
    Unregistered {
        /// The RAM region.
        region: Name,
    },
    /// Capture: no RAM region of this name (registered with
    /// [`MachineSnapshot::add_memory_of`](crate::MachineSnapshot::add_memory_of)) is mapped, or it is backed by a
    /// frozen memory.
    NoSuchMemory {
        /// The region's name, as registered.
        region: Name,
    },
    /// Capture: the memory of this region (registered with
    /// [`MachineSnapshot::add_memory_of`](crate::MachineSnapshot::add_memory_of)) has another geometry than the
    /// `Snapshot<S, Z>` registered for it.
    WrongGeometry {
        /// The region's name, as registered.
        region: Name,
    },
    /// Restore or compare before any capture succeeded.
    NotTaken,
    /// Restore or compare through another map than the one that captured
    /// the snapshot, where that one is an [`OwnerMap`](crate::OwnerMap) (or
    /// the snapshot is a shared map's and this is an owner map): an owner
    /// map's snapshot holds the memories lent to it, which only that map
    /// may reach.
    OtherMap,
    /// An owner map's first capture found the snapshot id counter run out
    /// (after 2^64 ids, or 2^32 on targets without 64-bit atomics).
    IdsExhausted,
    /// A memory refused (a frozen memory refuses restore with `ReadOnly`).
    Memory(VmError),
    /// The map refused to take its table back (cannot happen with the
    /// map the snapshot was taken from).
    Map(MapError),
}

impl core::fmt::Display for MachineError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            MachineError::MemoriesFull => {
                f.write_str("machine snapshot: no room for another memory")
            }
            MachineError::DuplicateMemory => {
                f.write_str("machine snapshot: memory registered twice")
            }
            MachineError::DevicesFull { device } => {
                write!(f, "machine snapshot: no room for device `{device}`")
            }
            MachineError::StateFull { device, needed } => write!(
                f,
                "machine snapshot: the state of device `{device}` ({needed} bytes) does not fit"
            ),
            MachineError::Unregistered { region } => write!(
                f,
                "machine snapshot: the memory of RAM region `{region}` is not registered"
            ),
            MachineError::NoSuchMemory { region } => write!(
                f,
                "machine snapshot: no RAM region `{region}` with a live memory is mapped"
            ),
            MachineError::WrongGeometry { region } => write!(
                f,
                "machine snapshot: the memory of region `{region}` does not have the registered snapshot's geometry"
            ),
            MachineError::NotTaken => f.write_str("machine snapshot: never captured"),
            MachineError::IdsExhausted => {
                f.write_str("machine snapshot: snapshot ids ran out")
            }
            MachineError::OtherMap => f.write_str(
                "machine snapshot: captured by an owner map, which alone may restore or compare it (or captured by a shared map, which an owner map may not restore)",
            ),
            MachineError::Memory(e) => write!(f, "machine snapshot: {e}"),
            MachineError::Map(e) => write!(f, "machine snapshot: {e}"),
        }
    }
}

impl core::error::Error for MachineError {}

/// What a [`MemoryMap::restore`](crate::MemoryMap::restore) copied back: the cost of the run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Restored {
    /// Whether the map's table had changed and was republished.
    pub table: bool,
    /// Shards copied back, over all registered memories.
    pub shards: usize,
    /// Devices whose state was put back.
    pub devices: usize,
}

/// The first part of a machine found different from its snapshot
/// ([`MachineSnapshot::diff`](crate::MachineSnapshot::diff)).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Difference {
    /// The map's regions (bases, lengths, permissions, backings) or hooks.
    Map,
    /// A registered memory (index in registration order) and its first
    /// differing shard.
    Memory {
        /// The memory, in the order [`MachineSnapshot::add_memory`](crate::MachineSnapshot::add_memory) saw it.
        memory: usize,
        /// Its first shard that differs.
        shard: usize,
    },
    /// The state of the device mapped as this region, or of the user
    /// state added under this name ([`MachineSnapshot::add_state`](crate::MachineSnapshot::add_state)).
    Device(Name),
}
