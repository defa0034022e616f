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
//! Devices are `Sync` and take `&self`, so a map can serve several vCPU
//! threads: keep state in atomics or a `spin::Mutex`, not in a `Cell`.
//!
//! Machine snapshots: a device opts in by returning its [`DeviceState`]
//! from [`MmioDevice::state`]; devices that do not (the default) are left
//! alone by [`MachineSnapshot`](crate::MachineSnapshot) capture and restore.

use crate::error::VmError;
use crate::map::device_state::DeviceState;

/// A memory-mapped device: reads and writes of 1, 2, 4 or 8 bytes at an
/// offset from the start of its region.
///
/// Values are passed as `u64` holding the access's little-endian value in
/// its low `size` bytes; the map keeps only the low `size` bytes of what
/// `read` returns. An error a device returns reaches the caller with its
/// kind kept and its address, size and access replaced by the guest
/// access's (report failures with [`ErrorKind::Device`](crate::ErrorKind::Device);
/// any address will do).
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
pub trait MmioDevice: Sync {
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
