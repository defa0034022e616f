//! [`Caller`]: who made an access, as a device or a hook is told.

use crate::error::Access;
use core::fmt;

/// Who made an access, as devices ([`MmioDevice::read_by`],
/// [`MmioDevice::write_by`]) and hooks ([`AccessHook::read_by`],
/// [`AccessHook::write_by`], [`AccessHook::write_value_by`]) see it: the
/// access kind and, when it came through a [`Cursor`], that vCPU's id.
///
/// The kind is [`Access::Read`], [`Access::Fetch`] (an instruction fetch),
/// [`Access::Write`], or [`Access::Atomic`] for both halves of a guest
/// atomic (its hooks run as a read, then a write). The vCPU is
/// [`Cursor::id`]: a map numbers its cursors 0, 1, 2... as
/// [`MemoryMap::cpu`] makes them, or the user picks it
/// ([`Cursor::with_id`]); every access a cursor makes names it (typed
/// reads, fetches and writes, bulk copies, guest atomics). An access
/// through the map itself or an [`OwnerMap`] names no vCPU.
///
/// ```
/// use core::sync::atomic::{AtomicU64, Ordering};
/// use vm_mem::{Access, Caller, MemoryMap, MmioDevice, Perms, VmError};
///
/// /// A register that reads as the id of the vCPU reading it (as a
/// /// multiprocessor's "which core am I" register does).
/// struct WhoAmI(AtomicU64);
/// impl MmioDevice for WhoAmI {
///     fn read(&self, _: u64, _: usize) -> Result<u64, VmError> {
///         Ok(u64::MAX) // not through a cursor
///     }
///     fn write(&self, _: u64, _: usize, _: u64) -> Result<(), VmError> {
///         Ok(())
///     }
///     fn read_by(&self, by: Caller, offset: u64, size: usize) -> Result<u64, VmError> {
///         assert_eq!(by.access(), Access::Read);
///         by.cpu().map_or_else(|| self.read(offset, size), |id| Ok(id.into()))
///     }
///     fn write_by(&self, by: Caller, _: u64, _: usize, v: u64) -> Result<(), VmError> {
///         self.0.store(v + u64::from(by.cpu().unwrap_or(99)), Ordering::Relaxed);
///         Ok(())
///     }
/// }
///
/// let dev = WhoAmI(AtomicU64::new(0));
/// let map: MemoryMap<'_, 1> = MemoryMap::new();
/// map.add_mmio("whoami", 0x4000_0000, 8, Perms::RW, &dev)?;
/// let (cpu0, cpu1) = (map.cpu(), map.cpu());
/// assert_eq!((cpu0.id(), cpu1.id()), (0, 1));
/// assert_eq!(cpu1.read_u32(0x4000_0000)?, 1);
/// assert_eq!(cpu0.read_u32(0x4000_0000)?, 0);
/// assert_eq!(map.read_u32(0x4000_0000)?, u32::MAX);
/// cpu1.write_u32(0x4000_0000, 100)?;
/// assert_eq!(dev.0.load(Ordering::Relaxed), 101);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// [`MmioDevice::read_by`]: crate::MmioDevice::read_by
/// [`MmioDevice::write_by`]: crate::MmioDevice::write_by
/// [`AccessHook::read_by`]: crate::AccessHook::read_by
/// [`AccessHook::write_by`]: crate::AccessHook::write_by
/// [`AccessHook::write_value_by`]: crate::AccessHook::write_value_by
/// [`Cursor`]: crate::Cursor
/// [`Cursor::id`]: crate::Cursor::id
/// [`Cursor::with_id`]: crate::Cursor::with_id
/// [`MemoryMap::cpu`]: crate::MemoryMap::cpu
/// [`OwnerMap`]: crate::OwnerMap
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Caller {
    access: Access,
    cpu: Option<u32>,
}

impl Caller {
    /// An access of kind `access` naming no vCPU (to call a device or a
    /// hook directly, in its own tests).
    #[inline(always)]
    pub const fn new(access: Access) -> Self {
        Caller { access, cpu: None }
    }

    /// The same access made by vCPU `cpu`.
    #[inline(always)]
    #[must_use]
    pub const fn on_cpu(self, cpu: u32) -> Self {
        Caller {
            cpu: Some(cpu),
            ..self
        }
    }

    /// `cpu` as [`on_cpu`](Self::on_cpu), or no vCPU.
    #[inline(always)]
    pub(crate) const fn with_cpu(access: Access, cpu: Option<u32>) -> Self {
        Caller { access, cpu }
    }

    /// The access kind: read, fetch, write, or a guest atomic's either half.
    #[inline(always)]
    pub const fn access(self) -> Access {
        self.access
    }

    /// The vCPU (its [`Cursor::id`](crate::Cursor::id)) that made the
    /// access, if it came through a cursor.
    #[inline(always)]
    pub const fn cpu(self) -> Option<u32> {
        self.cpu
    }
}

/// `read`, or `fetch by vCPU 2`.
impl fmt::Display for Caller {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.access.as_str())?;
        match self.cpu {
            Some(cpu) => write!(f, " by vCPU {cpu}"),
            None => Ok(()),
        }
    }
}
