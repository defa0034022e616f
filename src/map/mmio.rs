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
use crate::map::caller::Caller;
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

    /// [`read`](Self::read), told who is asking ([`Caller`]: the access
    /// kind, read or fetch, and the vCPU if the access came through a
    /// [`Cursor`](crate::Cursor)). The map calls this one; the default
    /// forwards to `read`, so a device that does not care implements `read`
    /// alone.
    #[inline]
    fn read_by(&self, by: Caller, offset: u64, size: usize) -> Result<u64, VmError> {
        let _ = by;
        self.read(offset, size)
    }

    /// [`write`](Self::write), told who is asking, as
    /// [`read_by`](Self::read_by). The map calls this one; the default
    /// forwards to `write`.
    #[inline]
    fn write_by(&self, by: Caller, offset: u64, size: usize, value: u64) -> Result<(), VmError> {
        let _ = by;
        self.write(offset, size, value)
    }

    /// The device's snapshot support, if it opts in (see [`DeviceState`]):
    /// a machine snapshot saves and restores the state of devices that
    /// return `Some`. The default, `None`, leaves the device alone: its
    /// state after a machine restore is whatever the run left.
    fn state(&self) -> Option<&dyn DeviceState> {
        None
    }
}

/// A device or a device's state as a map's table and its machine
/// snapshots hold it: made from a `Sync` value (`shared`: every shared
/// map's), which any thread may call, or by an owner map for its own table
/// and snapshots (`local`), whose one thread alone calls it.
pub(crate) struct OnThread<'a, T: ?Sized>(&'a T);

/// A device as a map's table holds it.
pub(crate) type DeviceRef<'a> = OnThread<'a, dyn MmioDevice + 'a>;

/// A device's [`DeviceState`] (or a machine snapshot's user state), as a
/// machine snapshot holds it: called on the threads its device may be
/// called on.
pub(crate) type StateRef<'a> = OnThread<'a, dyn DeviceState + 'a>;

impl<T: ?Sized> Clone for OnThread<'_, T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T: ?Sized> Copy for OnThread<'_, T> {}

// SAFETY: an `OnThread` is made from a `Sync` value (`shared`), which any
// thread may call; by `DeviceRef::state`, from a device held so (a `Sync`
// device's state is reached only through it, so from the threads the device
// may be called on); or by an owner map for its own table and the machine
// snapshots it captures (`local`), whose contract keeps every call on that
// map's thread: the map is neither `Send` nor `Sync`, never hands its table
// out, and its snapshots are restored and compared by it alone.
unsafe impl<T: ?Sized> Send for OnThread<'_, T> {}
// SAFETY: as for `Send` above.
unsafe impl<T: ?Sized> Sync for OnThread<'_, T> {}

impl<'a, T: ?Sized> OnThread<'a, T> {
    /// Any value, for one owner map's table or snapshots.
    ///
    /// # Safety
    /// The value (and every copy) may only reach the table of one
    /// [`OwnerMap`](crate::OwnerMap) and the machine snapshots bound to it
    /// (which that map alone captures, restores and compares, on its
    /// thread), and `value` must be reachable from that thread (it was
    /// borrowed there: a `&` to a non-`Sync` value cannot cross threads).
    #[inline]
    pub(crate) unsafe fn local(value: &'a T) -> Self {
        OnThread(value)
    }

    /// The value.
    #[inline(always)]
    pub(crate) fn get(self) -> &'a T {
        self.0
    }
}

impl<'a> DeviceRef<'a> {
    /// A `Sync` device, which any thread may call.
    #[inline]
    pub(crate) fn shared(dev: &'a (dyn MmioDevice + Sync)) -> Self {
        OnThread(dev)
    }

    /// The device's snapshot support, held as the device is.
    #[inline]
    pub(crate) fn state(self) -> Option<StateRef<'a>> {
        self.0.state().map(OnThread)
    }
}

impl<'a> StateRef<'a> {
    /// A `Sync` state (a machine snapshot's user state), which any thread
    /// may call.
    #[inline]
    pub(crate) fn shared(state: &'a (dyn DeviceState + Sync)) -> Self {
        OnThread(state)
    }
}

impl<T: ?Sized> core::ops::Deref for OnThread<'_, T> {
    type Target = T;

    #[inline(always)]
    fn deref(&self) -> &T {
        self.0
    }
}
