//! [`DeviceState`]: how a device opts in to machine snapshots, saving its
//! state into and restoring it from bytes the caller provides (no heap),
//! and saying whether it changed since.
//!
//! A device opts in by overriding [`MmioDevice::state`](crate::MmioDevice::state)
//! to return `Some(self)`. A machine snapshot
//! ([`MachineSnapshot`](crate::MachineSnapshot)) then saves the state of
//! every opted-in device the map holds when it is captured, and on restore
//! puts back the state of each of those devices that reports itself
//! [`changed`](DeviceState::changed): a device the run did not touch costs
//! one call. Devices that do not opt in (the default) are left alone by
//! snapshots: their state after a restore is whatever the run left.
//!
//! Limits: the state has a fixed size ([`state_len`](DeviceState::state_len))
//! that must not grow between capture and restore; bytes are the device's
//! own format (the machine never reads them). Save and restore run with the
//! machine quiescent (no vCPU accessing the device), as the memories'
//! snapshots do; a device that may be accessed meanwhile keeps its state
//! behind its own lock.

/// A device's state, saved into and restored from caller-provided bytes.
///
/// Contract: [`save`](Self::save) copies the state out and changes nothing;
/// [`restore`](Self::restore) sets the state from bytes an earlier `save`
/// wrote; [`changed`](Self::changed) is true if the state may differ from
/// what was last saved or restored, and [`mark_clean`](Self::mark_clean)
/// (called by the machine right after it saves) makes it false until the
/// device changes again. A device that cannot tell may always return true:
/// restore is then always copied, never wrong. The flag is one per device,
/// while several machine snapshots may be alive: the map remembers which
/// snapshot last saved or restored its devices and trusts the flag only
/// when restoring that one; restoring any other puts every device back.
///
/// ```
/// use core::sync::atomic::{AtomicBool, AtomicU32, Ordering};
/// use vm_mem::{DeviceState, MmioDevice, VmError};
///
/// /// A counter register that counts writes, with snapshot support.
/// #[derive(Default)]
/// struct Counter {
///     count: AtomicU32,
///     dirty: AtomicBool,
/// }
///
/// impl MmioDevice for Counter {
///     fn read(&self, _off: u64, _size: usize) -> Result<u64, VmError> {
///         Ok(self.count.load(Ordering::Relaxed).into())
///     }
///     fn write(&self, _off: u64, _size: usize, _v: u64) -> Result<(), VmError> {
///         self.count.fetch_add(1, Ordering::Relaxed);
///         self.dirty.store(true, Ordering::Relaxed);
///         Ok(())
///     }
///     fn state(&self) -> Option<&dyn DeviceState> {
///         Some(self) // opts in
///     }
/// }
///
/// impl DeviceState for Counter {
///     fn state_len(&self) -> usize {
///         4
///     }
///     fn save(&self, out: &mut [u8]) -> usize {
///         out[..4].copy_from_slice(&self.count.load(Ordering::Relaxed).to_le_bytes());
///         4
///     }
///     fn restore(&self, from: &[u8]) {
///         let mut b = [0; 4];
///         b.copy_from_slice(&from[..4]);
///         self.count.store(u32::from_le_bytes(b), Ordering::Relaxed);
///         self.dirty.store(false, Ordering::Relaxed);
///     }
///     fn changed(&self) -> bool {
///         self.dirty.load(Ordering::Relaxed)
///     }
///     fn mark_clean(&self) {
///         self.dirty.store(false, Ordering::Relaxed);
///     }
/// }
///
/// let c = Counter::default();
/// let mut saved = [0u8; 4];
/// assert_eq!(c.save(&mut saved), 4);
/// c.write(0, 4, 1)?;
/// assert!(c.changed());
/// c.restore(&saved);
/// assert_eq!((c.read(0, 4)?, c.changed()), (0, false));
/// # Ok::<(), VmError>(())
/// ```
pub trait DeviceState {
    /// How many bytes [`save`](Self::save) writes at most: the room the
    /// machine snapshot reserves for this device. Constant for the
    /// device's life.
    fn state_len(&self) -> usize;

    /// Copies the state into `out` (at least [`state_len`](Self::state_len)
    /// bytes long) and returns how many bytes it wrote (at most
    /// `state_len`). Changes nothing in the device.
    fn save(&self, out: &mut [u8]) -> usize;

    /// Sets the state from `from`, bytes an earlier [`save`](Self::save)
    /// of this device wrote (exactly as many as it returned); afterwards
    /// [`changed`](Self::changed) is false until the device changes.
    fn restore(&self, from: &[u8]);

    /// Whether the state may differ from what was last saved or restored:
    /// the machine restores only devices that say so.
    fn changed(&self) -> bool;

    /// Called right after a machine snapshot saved the state: from now on
    /// [`changed`](Self::changed) is false until the device changes.
    fn mark_clean(&self);
}
