//! [`MmioDevice`]: a memory-mapped device, as a map sees it.
//!
//! A device gets exactly one call per guest access it serves, with the
//! offset of the access from the start of its region and its size, 1, 2, 4
//! or 8 bytes: a map never splits a typed access to a device (an access
//! that runs past a device's end is refused with `CrossesRegion` before the
//! device is called), and bulk copies that touch a device are cut into
//! naturally aligned 1, 2, 4 or 8-byte accesses (see
//! [`MemoryMap::read_bytes`](crate::MemoryMap::read_bytes)).
//!
//! Devices take `&self`. A shared [`MemoryMap`](crate::MemoryMap) serves
//! several vCPU threads, so it takes `Sync` devices only: keep their state
//! in atomics or a `spin::Mutex`. An [`OwnerMap`](crate::OwnerMap) is one
//! thread's machine: its devices need not be `Sync`, and may keep their
//! registers in `Cell`s.
//!
//! Machine snapshots: a device opts in by returning its [`DeviceState`]
//! from [`MmioDevice::state`]; devices that do not (the default) are left
//! alone by [`MachineSnapshot`](crate::MachineSnapshot) capture and restore.

#![allow(unsafe_code)] // DeviceRef's thread-safety claim, argued at each item

use crate::error::VmError;
use crate::map::device_state::DeviceState;

/// A memory-mapped device: reads and writes of 1, 2, 4 or 8 bytes at an
/// offset from the start of its region.
///
/// Values are passed as `u64` holding the access's little-endian value in
/// its low `size` bytes; the map keeps only the low `size` bytes of what
/// `read` returns. An error a device returns reaches the caller with its
/// kind (and a device's reason code) kept and its address, size and access
/// replaced by the guest access's: report failures with
/// [`VmError::device`]`(reason)`, which needs no address.
///
/// ```
/// use core::sync::atomic::{AtomicU32, Ordering};
/// use vm_mem::{MemoryMap, MmioDevice, Perms, VmError};
///
/// /// A one-register counter: reads return how often it was written.
/// struct Counter(AtomicU32);
///
/// impl MmioDevice for Counter {
///     fn read(&self, _offset: u64, _size: usize) -> Result<u64, VmError> {
///         Ok(self.0.load(Ordering::Relaxed).into())
///     }
///     fn write(&self, _offset: u64, _size: usize, _value: u64) -> Result<(), VmError> {
///         self.0.fetch_add(1, Ordering::Relaxed);
///         Ok(())
///     }
/// }
///
/// let dev = Counter(AtomicU32::new(0));
/// let map: MemoryMap<'_, 2> = MemoryMap::new();
/// map.add_mmio("counter", 0x4000_0000, 4, Perms::RW, &dev)?;
/// map.write_u32(0x4000_0000, 7)?;
/// map.write_u8(0x4000_0003, 7)?;
/// assert_eq!(map.read_u32(0x4000_0000)?, 2);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// A shared map takes `Sync` devices only (an owner map takes any):
///
/// ```compile_fail
/// use core::cell::Cell;
/// use vm_mem::{MemoryMap, MmioDevice, Perms, VmError};
///
/// struct Ticks(Cell<u32>); // not `Sync`
/// impl MmioDevice for Ticks {
///     fn read(&self, _: u64, _: usize) -> Result<u64, VmError> {
///         Ok(self.0.get().into())
///     }
///     fn write(&self, _: u64, _: usize, v: u64) -> Result<(), VmError> {
///         Ok(self.0.set(v as u32))
///     }
/// }
///
/// let ticks = Ticks(Cell::new(0));
/// let map: MemoryMap<'_, 2> = MemoryMap::new();
/// map.add_mmio("ticks", 0, 4, Perms::RW, &ticks).unwrap(); // refused: not `Sync`
/// ```
pub trait MmioDevice {
    /// Serves a read of `size` bytes (1, 2, 4 or 8) at `offset` from the
    /// start of the device's region.
    fn read(&self, offset: u64, size: usize) -> Result<u64, VmError>;

    /// Serves a write of `size` bytes (1, 2, 4 or 8) at `offset`; `value`
    /// holds them in its low bytes (the rest are zero).
    fn write(&self, offset: u64, size: usize, value: u64) -> Result<(), VmError>;

    /// The device's snapshot support, if it opts in (see [`DeviceState`]):
    /// a machine snapshot saves and restores the state of devices that
    /// return `Some`. The default, `None`, leaves the device alone: its
    /// state after a machine restore is whatever the run left.
    fn state(&self) -> Option<&dyn DeviceState> {
        None
    }
}

/// A device as a map's table holds it: a `Sync` device (every shared map's,
/// [`DeviceRef::shared`]), or any device of an owner map
/// ([`DeviceRef::local`]), whose table only that map's one thread reaches.
#[derive(Clone, Copy)]
pub(crate) struct DeviceRef<'a>(&'a dyn MmioDevice);

// SAFETY: a `DeviceRef` is made from a `Sync` device (`shared`), which any
// thread may call, or by an owner map for its own table (`local`, whose
// contract keeps every call of that device on the owner map's thread: the
// map is neither `Send` nor `Sync`, never hands its table out, and the
// machine snapshots it captures are restored and compared by it alone).
unsafe impl Send for DeviceRef<'_> {}
// SAFETY: as for `Send` above.
unsafe impl Sync for DeviceRef<'_> {}

impl<'a> DeviceRef<'a> {
    /// A `Sync` device, which any thread may call.
    #[inline]
    pub(crate) fn shared(dev: &'a (dyn MmioDevice + Sync)) -> Self {
        DeviceRef(dev)
    }

    /// Any device, for an owner map's table.
    ///
    /// # Safety
    /// The value (and every copy) may only reach the table of one
    /// [`OwnerMap`](crate::OwnerMap) and the machine snapshots it captures,
    /// so that the device is only ever called on that map's thread.
    #[inline]
    pub(crate) unsafe fn local(dev: &'a dyn MmioDevice) -> Self {
        DeviceRef(dev)
    }

    /// The device.
    #[inline(always)]
    pub(crate) fn get(self) -> &'a dyn MmioDevice {
        self.0
    }

    /// The device's snapshot support, held as the device is (a `Sync`
    /// device's state is reached only through it, so from the threads the
    /// device may be called on).
    #[inline]
    pub(crate) fn state(self) -> Option<StateRef<'a>> {
        self.0.state().map(StateRef)
    }
}

impl<'a> core::ops::Deref for DeviceRef<'a> {
    type Target = dyn MmioDevice + 'a;

    #[inline(always)]
    fn deref(&self) -> &Self::Target {
        self.0
    }
}

/// A device's [`DeviceState`], as a machine snapshot holds it: taken from a
/// [`DeviceRef`], and called on the threads that device may be called on.
#[derive(Clone, Copy)]
pub(crate) struct StateRef<'a>(&'a dyn DeviceState);

// SAFETY: made by `DeviceRef::state`, from a device that any thread may
// call (a `Sync` device, whose state safe code reaches only through it) or
// from an owner map's device, whose snapshots only that map, on its thread,
// restores or compares (see `DeviceRef`); by `shared`, from a `Sync` state;
// or by `local`, whose contract keeps the state with one owner map's
// snapshots and thread.
unsafe impl Send for StateRef<'_> {}
// SAFETY: as for `Send` above.
unsafe impl Sync for StateRef<'_> {}

impl<'a> StateRef<'a> {
    /// A `Sync` state (a machine snapshot's user state), which any thread
    /// may call.
    #[inline]
    pub(crate) fn shared(state: &'a (dyn DeviceState + Sync)) -> Self {
        StateRef(state)
    }

    /// Any state, for the snapshots of one owner map.
    ///
    /// # Safety
    /// The value may only reach machine snapshots bound to one
    /// [`OwnerMap`](crate::OwnerMap) (which capture, restore and compare it
    /// alone, on its thread), and `state` must be reachable from that
    /// thread (it was borrowed there: a `&` to a non-`Sync` value cannot
    /// cross threads).
    #[inline]
    pub(crate) unsafe fn local(state: &'a dyn DeviceState) -> Self {
        StateRef(state)
    }

    /// The state.
    #[inline]
    pub(crate) fn get(self) -> &'a dyn DeviceState {
        self.0
    }
}

impl<'a> core::ops::Deref for StateRef<'a> {
    type Target = dyn DeviceState + 'a;

    #[inline]
    fn deref(&self) -> &Self::Target {
        self.0
    }
}
