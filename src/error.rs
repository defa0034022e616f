//! Errors as data: what went wrong ([`ErrorKind`]), during which kind of
//! access ([`Access`]), at which guest address and for how many bytes.
//!
//! [`VmError`] is what every access returns: `Copy` and 24 bytes (three
//! words: address, size, and kind with access and the kind's detail packed
//! together), so a `Result<u32, VmError>` stays in registers or a small
//! stack slot on the hot paths. Its [`Display`](core::fmt::Display) reads
//! as a sentence, e.g.
//! `out of bounds: 8-byte read at 0x1fffc, memory is 0x10000 bytes`.
//! Configuration calls of a map (adding, removing, moving regions,
//! protections, hooks) return their own, richer
//! [`MapError`](crate::MapError), which names regions and reasons.

use crate::map::error::MapErrorKind;
use crate::perms::Perms;
use core::fmt;

/// The kind of access that failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Access {
    /// A data load (`read_*`, `read_bytes`).
    Read,
    /// A data store (`write_*`, `write_bytes`, `fill`, restore).
    Write,
    /// An instruction fetch (`fetch_*` through a map).
    Fetch,
    /// A guest atomic read-modify-write (`compare_exchange_*`, `fetch_add_*`...).
    Atomic,
}

impl Access {
    /// The lower-case word used in messages: `read`, `write`, `fetch`, `atomic`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Access::Read => "read",
            Access::Write => "write",
            Access::Fetch => "fetch",
            Access::Atomic => "atomic",
        }
    }

    /// The two-bit code packed into a [`VmError`].
    const fn code(self) -> u64 {
        match self {
            Access::Read => 0,
            Access::Write => 1,
            Access::Fetch => 2,
            Access::Atomic => 3,
        }
    }

    const fn from_code(code: u64) -> Access {
        match code & 3 {
            0 => Access::Read,
            1 => Access::Write,
            2 => Access::Fetch,
            _ => Access::Atomic,
        }
    }
}

/// What went wrong. New kinds may be added: match with a wildcard arm.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum ErrorKind {
    /// The access does not lie inside the memory, whose size is `limit`
    /// bytes (or, for a region-relative access, inside the region).
    /// A [`VmError`] holds limits up to [`VmError::MAX_LIMIT`] (64 PiB);
    /// larger ones are reported as that.
    OutOfBounds {
        /// Size in bytes of what was accessed (first invalid address).
        limit: u64,
    },
    /// No region is mapped at the address.
    Unmapped,
    /// The memory or region is read-only (frozen memory, ROM).
    ReadOnly,
    /// The region's permissions lack what the access needs.
    Permission {
        /// The permission the access needed.
        needed: Perms,
    },
    /// An MMIO device refused or failed the access.
    Device,
    /// An access hook refused the access.
    DeniedByHook,
    /// The access crosses from one region into another where it may not:
    /// past an MMIO device's end, or a guest atomic spanning two regions.
    /// [`MemoryMap::regions`](crate::MemoryMap::regions) or
    /// [`MemoryMap::region_at`](crate::MemoryMap::region_at) at the error's
    /// address name them.
    CrossesRegion,
    /// A non-blocking access ([`try_read`](crate::ShardedMemory::try_read))
    /// would have had to wait: a writer of the shard kept storing. In an
    /// interrupt handler, the interrupted code was writing that shard.
    WouldBlock,
    /// The access has a size the target cannot serve (e.g. an MMIO access
    /// that is not 1, 2, 4 or 8 bytes).
    BadSize,
    /// A guest atomic (`compare_exchange_*`, `swap_*`, `fetch_*`) aimed at
    /// something that cannot perform one: an MMIO device. Nothing was
    /// read or written. (An atomic on ROM fails with
    /// [`ReadOnly`](Self::ReadOnly), as any write there does.)
    AtomicUnsupported,
    /// The bytes are unmapped, and the map's
    /// [`UnmappedHandler`](crate::UnmappedHandler) answered with a mapping
    /// that the map refused for `reason` (e.g. it overlaps another region
    /// or the table is full), so the access could not be retried. A
    /// handler that refuses ([`Demand::Refuse`](crate::Demand::Refuse))
    /// gives [`Unmapped`](Self::Unmapped) instead.
    DemandFailed {
        /// Why the map refused the handler's mapping.
        reason: MapErrorKind,
    },
    /// An [`OwnerMap`](crate::OwnerMap)'s host slice
    /// ([`slice`](crate::OwnerMap::slice), [`slice_mut`](crate::OwnerMap::slice_mut))
    /// asked for bytes that are not in a memory lent to it (a device, ROM,
    /// a memory it does not hold), or that leave their region.
    NotLent,
}

/// Packed kind codes: the low 6 bits of [`VmError`]'s third word.
mod code {
    pub(super) const OUT_OF_BOUNDS: u64 = 0;
    pub(super) const UNMAPPED: u64 = 1;
    pub(super) const READ_ONLY: u64 = 2;
    pub(super) const PERMISSION: u64 = 3;
    pub(super) const DEVICE: u64 = 4;
    pub(super) const DENIED_BY_HOOK: u64 = 5;
    pub(super) const CROSSES_REGION: u64 = 6;
    pub(super) const BAD_SIZE: u64 = 7;
    pub(super) const ATOMIC_UNSUPPORTED: u64 = 8;
    pub(super) const WOULD_BLOCK: u64 = 9;
    pub(super) const DEMAND_FAILED: u64 = 10;
    pub(super) const NOT_LENT: u64 = 11;
}

/// Bits of the packed word: kind code (6), access (2), detail (56).
const KIND_BITS: u32 = 6;
const ACCESS_SHIFT: u32 = KIND_BITS;
const DETAIL_SHIFT: u32 = KIND_BITS + 2;

/// An error from a guest memory access: kind, access, address and size.
///
/// `Copy`, 24 bytes on every host (checked in `tests/errors.rs`): read it
/// through [`kind`](Self::kind), [`access`](Self::access),
/// [`addr`](Self::addr) and [`size`](Self::size).
///
/// ```
/// use vm_mem::{Access, ErrorKind, ShardedMemory, VmError};
///
/// let mem: ShardedMemory<4, 16384> = ShardedMemory::new();
/// let err = mem.read_u64(0x1fffc).unwrap_err();
/// assert_eq!(err.kind(), ErrorKind::OutOfBounds { limit: 0x10000 });
/// assert_eq!(err.access(), Access::Read);
/// assert_eq!((err.addr(), err.size()), (0x1fffc, 8));
/// assert_eq!(
///     err.to_string(),
///     "out of bounds: 8-byte read at 0x1fffc, memory is 0x10000 bytes"
/// );
/// assert_eq!(core::mem::size_of::<VmError>(), 24);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct VmError {
    addr: u64,
    size: u64,
    /// Kind code, access and the kind's detail (`limit` or `needed`).
    packed: u64,
}

impl VmError {
    /// The largest `OutOfBounds` limit a `VmError` holds exactly:
    /// `2^56 - 1` bytes (64 PiB); larger limits are reported as this.
    pub const MAX_LIMIT: u64 = u64::MAX >> DETAIL_SHIFT;

    /// Builds an error. Devices and hooks use it to report their own failures.
    #[inline]
    pub const fn new(kind: ErrorKind, access: Access, addr: u64, size: usize) -> Self {
        let (code, detail) = match kind {
            ErrorKind::OutOfBounds { limit } => (
                code::OUT_OF_BOUNDS,
                if limit > Self::MAX_LIMIT {
                    Self::MAX_LIMIT
                } else {
                    limit
                },
            ),
            ErrorKind::Unmapped => (code::UNMAPPED, 0),
            ErrorKind::ReadOnly => (code::READ_ONLY, 0),
            ErrorKind::Permission { needed } => (code::PERMISSION, needed.bits() as u64),
            ErrorKind::Device => (code::DEVICE, 0),
            ErrorKind::DeniedByHook => (code::DENIED_BY_HOOK, 0),
            ErrorKind::CrossesRegion => (code::CROSSES_REGION, 0),
            ErrorKind::BadSize => (code::BAD_SIZE, 0),
            ErrorKind::AtomicUnsupported => (code::ATOMIC_UNSUPPORTED, 0),
            ErrorKind::WouldBlock => (code::WOULD_BLOCK, 0),
            ErrorKind::DemandFailed { reason } => (code::DEMAND_FAILED, reason.code() as u64),
            ErrorKind::NotLent => (code::NOT_LENT, 0),
        };
        VmError {
            addr,
            // A `usize` always fits a `u64` on the hosts Rust supports.
            size: size as u64,
            packed: code | access.code() << ACCESS_SHIFT | detail << DETAIL_SHIFT,
        }
    }

    /// An [`ErrorKind::OutOfBounds`] error for an access at `addr` of `size`
    /// bytes into something `limit` bytes long. `addr` is a `usize`: every
    /// `usize` fits in a `u64` on the hosts Rust supports.
    #[cold]
    #[inline(never)]
    pub(crate) const fn out_of_bounds(
        access: Access,
        addr: usize,
        size: usize,
        limit: usize,
    ) -> Self {
        VmError::new(
            ErrorKind::OutOfBounds {
                limit: limit as u64,
            },
            access,
            addr as u64,
            size,
        )
    }

    /// A device's failure, for [`MmioDevice::read`](crate::MmioDevice::read)
    /// and [`write`](crate::MmioDevice::write) to return, with a `reason`
    /// code the device chose (0 for none): the map gives it the guest
    /// access's address, size and kind and keeps the reason, so a device
    /// need not invent an address.
    ///
    /// ```
    /// use vm_mem::{ErrorKind, MemoryMap, MmioDevice, Perms, VmError};
    ///
    /// /// A device whose register 4 is not implemented.
    /// struct Partial;
    /// impl MmioDevice for Partial {
    ///     fn read(&self, off: u64, _: usize) -> Result<u64, VmError> {
    ///         if off == 4 { Err(VmError::device(0x4e49)) } else { Ok(1) }
    ///     }
    ///     fn write(&self, _: u64, _: usize, _: u64) -> Result<(), VmError> {
    ///         Ok(())
    ///     }
    /// }
    ///
    /// let map: MemoryMap<'_, 2> = MemoryMap::new();
    /// map.add_mmio("dev", 0x4000_0000, 8, Perms::RW, &Partial)?;
    /// let err = map.read_u32(0x4000_0004).unwrap_err();
    /// assert_eq!((err.kind(), err.addr(), err.size()), (ErrorKind::Device, 0x4000_0004, 4));
    /// assert_eq!(err.device_reason(), Some(0x4e49));
    /// assert_eq!(err.to_string(), "device error: 4-byte read at 0x40000004, reason 0x4e49");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[inline]
    pub const fn device(reason: u32) -> Self {
        let e = VmError::new(ErrorKind::Device, Access::Read, 0, 0);
        VmError {
            packed: e.packed | (reason as u64) << DETAIL_SHIFT,
            ..e
        }
    }

    /// The reason code of an [`ErrorKind::Device`] error
    /// ([`VmError::device`]; 0 when the device gave none), `None` for
    /// every other kind.
    #[inline]
    pub const fn device_reason(&self) -> Option<u32> {
        if self.packed & ((1 << KIND_BITS) - 1) == code::DEVICE {
            // Truncation is the point: `device` stored a `u32`.
            Some((self.packed >> DETAIL_SHIFT) as u32)
        } else {
            None
        }
    }

    /// The same error (its kind and detail kept) at the guest access
    /// `access` of `size` bytes at `addr`: what a map reports for an error
    /// a memory or device returned.
    #[inline]
    pub(crate) const fn relocated(self, access: Access, addr: u64, size: usize) -> Self {
        VmError {
            addr,
            // A `usize` always fits a `u64` on the hosts Rust supports.
            size: size as u64,
            ..self.with_access(access)
        }
    }

    /// What went wrong.
    #[inline]
    pub const fn kind(&self) -> ErrorKind {
        let detail = self.packed >> DETAIL_SHIFT;
        match self.packed & ((1 << KIND_BITS) - 1) {
            code::OUT_OF_BOUNDS => ErrorKind::OutOfBounds { limit: detail },
            code::UNMAPPED => ErrorKind::Unmapped,
            code::READ_ONLY => ErrorKind::ReadOnly,
            // Truncation is the point: `new` stored a `Perms`' bits.
            code::PERMISSION => ErrorKind::Permission {
                needed: Perms::from_bits_truncate(detail as u8),
            },
            code::DEVICE => ErrorKind::Device,
            code::DENIED_BY_HOOK => ErrorKind::DeniedByHook,
            code::CROSSES_REGION => ErrorKind::CrossesRegion,
            code::BAD_SIZE => ErrorKind::BadSize,
            code::WOULD_BLOCK => ErrorKind::WouldBlock,
            // Truncation is the point: `new` stored a `MapErrorKind`'s code.
            code::DEMAND_FAILED => ErrorKind::DemandFailed {
                reason: MapErrorKind::from_code(detail as u8),
            },
            code::NOT_LENT => ErrorKind::NotLent,
            _ => ErrorKind::AtomicUnsupported,
        }
    }

    /// The kind of access that failed.
    #[inline]
    pub const fn access(&self) -> Access {
        Access::from_code(self.packed >> ACCESS_SHIFT)
    }

    /// The guest address of the access (its first byte).
    #[inline]
    pub const fn addr(&self) -> u64 {
        self.addr
    }

    /// The size of the access in bytes.
    #[inline]
    pub const fn size(&self) -> usize {
        // Stored from a `usize` by `new`: converting back is exact.
        self.size as usize
    }

    /// The same error at another address: a map reports the guest address
    /// where a region-relative access failed.
    #[inline]
    pub const fn with_addr(self, addr: u64) -> Self {
        VmError { addr, ..self }
    }

    /// The same error for another access kind.
    #[inline]
    pub const fn with_access(self, access: Access) -> Self {
        let mask = 3 << ACCESS_SHIFT;
        VmError {
            packed: (self.packed & !mask) | access.code() << ACCESS_SHIFT,
            ..self
        }
    }
}

impl fmt::Debug for VmError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VmError")
            .field("kind", &self.kind())
            .field("access", &self.access())
            .field("addr", &format_args!("{:#x}", self.addr))
            .field("size", &self.size)
            .finish()
    }
}

#[cfg(feature = "defmt")]
impl defmt::Format for VmError {
    fn format(&self, f: defmt::Formatter<'_>) {
        defmt::write!(
            f,
            "{} ({}-byte {} at {=u64:#x})",
            self.kind(),
            self.size,
            self.access(),
            self.addr
        )
    }
}

impl fmt::Display for VmError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (size, access, addr) = (self.size, self.access().as_str(), self.addr);
        match self.kind() {
            ErrorKind::OutOfBounds { limit } => write!(
                f,
                "out of bounds: {size}-byte {access} at {addr:#x}, memory is {limit:#x} bytes"
            ),
            ErrorKind::Unmapped => write!(f, "unmapped: {size}-byte {access} at {addr:#x}"),
            ErrorKind::ReadOnly => write!(
                f,
                "read-only: {size}-byte {access} at {addr:#x} hits read-only memory"
            ),
            ErrorKind::Permission { needed } => write!(
                f,
                "permission denied: {size}-byte {access} at {addr:#x} needs {needed}"
            ),
            ErrorKind::Device => {
                write!(f, "device error: {size}-byte {access} at {addr:#x}")?;
                match self.device_reason() {
                    Some(reason) if reason != 0 => write!(f, ", reason {reason:#x}"),
                    _ => Ok(()),
                }
            }
            ErrorKind::DeniedByHook => write!(
                f,
                "denied by hook: {size}-byte {access} at {addr:#x}"
            ),
            ErrorKind::CrossesRegion => write!(
                f,
                "crosses regions: {size}-byte {access} at {addr:#x} runs out of its region"
            ),
            ErrorKind::WouldBlock => write!(
                f,
                "would block: {size}-byte {access} at {addr:#x} meets a write in progress"
            ),
            ErrorKind::BadSize => write!(
                f,
                "bad size: {size}-byte {access} at {addr:#x} is not a size the target serves"
            ),
            ErrorKind::AtomicUnsupported => write!(
                f,
                "not atomic: {size}-byte {access} at {addr:#x} hits a device, which cannot do guest atomics"
            ),
            ErrorKind::DemandFailed { reason } => write!(
                f,
                "unmapped: {size}-byte {access} at {addr:#x}; the unmapped handler's region {}",
                reason.as_str()
            ),
            ErrorKind::NotLent => write!(
                f,
                "not lent: {size}-byte {access} at {addr:#x} is not in one region of a memory lent to the owner map"
            ),
        }
    }
}

impl core::error::Error for VmError {}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use std::string::ToString;

    #[test]
    fn messages_name_kind_access_address_and_size() {
        let e = VmError::new(ErrorKind::ReadOnly, Access::Write, 0x800_0000, 4);
        assert_eq!(
            e.to_string(),
            "read-only: 4-byte write at 0x8000000 hits read-only memory"
        );
        let e = VmError::new(ErrorKind::CrossesRegion, Access::Read, 0x4000_c00e, 4);
        assert!(e.to_string().contains("runs out of its region"));
        let e = VmError::new(
            ErrorKind::Permission {
                needed: Perms::EXEC,
            },
            Access::Fetch,
            0x2000_0000,
            2,
        );
        assert_eq!(
            e.to_string(),
            "permission denied: 2-byte fetch at 0x20000000 needs --x"
        );
    }

    #[test]
    fn every_kind_and_access_round_trips_through_the_packed_word() {
        let kinds = [
            ErrorKind::OutOfBounds { limit: 0 },
            ErrorKind::OutOfBounds {
                limit: VmError::MAX_LIMIT,
            },
            ErrorKind::Unmapped,
            ErrorKind::ReadOnly,
            ErrorKind::Permission { needed: Perms::RWX },
            ErrorKind::Permission {
                needed: Perms::NONE,
            },
            ErrorKind::Device,
            ErrorKind::DeniedByHook,
            ErrorKind::CrossesRegion,
            ErrorKind::BadSize,
            ErrorKind::AtomicUnsupported,
            ErrorKind::WouldBlock,
            ErrorKind::DemandFailed {
                reason: MapErrorKind::NameTaken,
            },
            ErrorKind::DemandFailed {
                reason: MapErrorKind::NoSuchHook,
            },
            ErrorKind::DemandFailed {
                reason: MapErrorKind::ZeroLength,
            },
            ErrorKind::NotLent,
        ];
        let accesses = [Access::Read, Access::Write, Access::Fetch, Access::Atomic];
        for kind in kinds {
            for access in accesses {
                let e = VmError::new(kind, access, u64::MAX, usize::MAX);
                assert_eq!((e.kind(), e.access()), (kind, access));
                assert_eq!((e.addr(), e.size()), (u64::MAX, usize::MAX));
                for other in accesses {
                    assert_eq!(e.with_access(other).kind(), kind);
                    assert_eq!(e.with_access(other).access(), other);
                }
            }
        }
        let e = VmError::new(
            ErrorKind::OutOfBounds { limit: u64::MAX },
            Access::Read,
            0,
            1,
        );
        assert_eq!(
            e.kind(),
            ErrorKind::OutOfBounds {
                limit: VmError::MAX_LIMIT
            }
        );
    }

    /// A compile-time check only: calling a `Format` impl on the host would
    /// need a defmt global logger, naming the bound does not.
    #[cfg(feature = "defmt")]
    #[test]
    fn error_types_and_perms_are_defmt_format() {
        fn format<T: defmt::Format>() {}
        format::<VmError>();
        format::<ErrorKind>();
        format::<Access>();
        format::<Perms>();
        format::<crate::MapError>();
    }
}
