//! Errors as data: what went wrong ([`ErrorKind`]), during which kind of
//! access ([`Access`]), at which guest address and for how many bytes.
//!
//! [`VmError`] is what every access returns: `Copy` and two words (the
//! address, and the kind, access, size and the kind's detail packed in a
//! never-zero word), so a `Result<u64, VmError>` is two words and comes
//! back in registers on the hot paths. Its [`Display`](core::fmt::Display) reads
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
    /// The access runs past the top of the 64-bit guest address space
    /// (its last byte would be above `u64::MAX`): nothing is touched.
    WrapsAround,
}

/// Kind codes: the low 4 bits of [`VmError`]'s packed word, from 1 so the
/// word is never zero (the niche that keeps `Result<u64, VmError>` at two
/// words).
mod code {
    pub(super) const OUT_OF_BOUNDS: u64 = 1;
    pub(super) const UNMAPPED: u64 = 2;
    pub(super) const READ_ONLY: u64 = 3;
    pub(super) const PERMISSION: u64 = 4;
    pub(super) const DEVICE: u64 = 5;
    pub(super) const DENIED_BY_HOOK: u64 = 6;
    pub(super) const CROSSES_REGION: u64 = 7;
    pub(super) const BAD_SIZE: u64 = 8;
    pub(super) const ATOMIC_UNSUPPORTED: u64 = 9;
    pub(super) const WOULD_BLOCK: u64 = 10;
    pub(super) const DEMAND_FAILED: u64 = 11;
    pub(super) const NOT_LENT: u64 = 12;
    pub(super) const WRAPS_AROUND: u64 = 13;
}

/// The packed word: kind code (4 bits), access (2), then 58 bits of
/// payload: the size, and the kind's detail beside it where it has one.
const KIND_BITS: u32 = 4;
const ACCESS_SHIFT: u32 = KIND_BITS;
const PAYLOAD_SHIFT: u32 = KIND_BITS + 2;
const PAYLOAD_BITS: u32 = 64 - PAYLOAD_SHIFT;
/// `OutOfBounds`: the limit's bit length (6 bits), the limit, the size.
const LEN_BITS: u32 = 6;
/// `OutOfBounds`: bits for the limit and the size together.
const BOUNDS_BITS: u32 = PAYLOAD_BITS - LEN_BITS;
/// `Device`: the reason (32 bits) above a 24-bit size.
const DEVICE_SIZE_BITS: u32 = 24;
/// `DemandFailed`: the reason's code (8 bits) above a 48-bit size.
const DEMAND_SIZE_BITS: u32 = 48;

/// `v` in `bits` bits, saturated.
const fn fit(v: u64, bits: u32) -> u64 {
    let max = (1u64 << bits) - 1;
    if v > max {
        max
    } else {
        v
    }
}

/// An error from a guest memory access: kind, access, address and size.
///
/// `Copy` and two words (16 bytes) on every host, with a niche, so a
/// `Result<u64, VmError>` is two words too and comes back in registers:
/// the exact guest address, and one word packing the kind, the access, the
/// size and the kind's detail. What can be derived is not stored: a
/// `Permission` error's `needed` is what its access needs
/// ([`Access::Read`]: read, `Write`: write, `Fetch`: execute, `Atomic`:
/// read and write). Sizes are exact up to 2^58 - 1 bytes (saturated
/// above), except beside an `OutOfBounds` limit: the limit is exact up to
/// [`MAX_LIMIT`](Self::MAX_LIMIT), and the size shares 52 bits with it
/// (a 1 GiB memory leaves 21 bits: sizes up to 2 MiB - 1 exact, every
/// typed access always). Read it through
/// [`kind`](Self::kind), [`access`](Self::access), [`addr`](Self::addr)
/// and [`size`](Self::size).
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
/// assert_eq!(core::mem::size_of::<VmError>(), 16);
/// assert_eq!(core::mem::size_of::<Result<u64, VmError>>(), 16);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct VmError {
    addr: u64,
    /// Kind code (never 0), access, size and the kind's detail.
    packed: core::num::NonZeroU64,
}

impl VmError {
    /// The largest `OutOfBounds` limit a `VmError` holds exactly:
    /// `2^48 - 1` bytes (256 TiB); larger limits are reported as this.
    pub const MAX_LIMIT: u64 = (1 << (BOUNDS_BITS - 4)) - 1;

    /// Builds an error. Devices and hooks use it to report their own
    /// failures (a device: [`VmError::device`] needs no address).
    #[inline]
    pub const fn new(kind: ErrorKind, access: Access, addr: u64, size: usize) -> Self {
        // A `usize` always fits a `u64` on the hosts Rust supports.
        let size = size as u64;
        let (code, payload) = match kind {
            ErrorKind::OutOfBounds { limit } => {
                // The limit exact (up to 2^48 - 1), the size in the bits
                // left beside it (saturated).
                let limit = fit(limit, BOUNDS_BITS - 4);
                let len = u64::BITS - limit.leading_zeros();
                let size = fit(size, BOUNDS_BITS - len);
                let payload = len as u64 | limit << LEN_BITS | size << (LEN_BITS + len);
                (code::OUT_OF_BOUNDS, payload)
            }
            ErrorKind::Unmapped => (code::UNMAPPED, size),
            ErrorKind::ReadOnly => (code::READ_ONLY, size),
            // `needed` is derived from the access (see the type's docs).
            ErrorKind::Permission { .. } => (code::PERMISSION, size),
            ErrorKind::Device => (code::DEVICE, fit(size, DEVICE_SIZE_BITS)),
            ErrorKind::DeniedByHook => (code::DENIED_BY_HOOK, size),
            ErrorKind::CrossesRegion => (code::CROSSES_REGION, size),
            ErrorKind::BadSize => (code::BAD_SIZE, size),
            ErrorKind::AtomicUnsupported => (code::ATOMIC_UNSUPPORTED, size),
            ErrorKind::WouldBlock => (code::WOULD_BLOCK, size),
            ErrorKind::DemandFailed { reason } => (
                code::DEMAND_FAILED,
                fit(size, DEMAND_SIZE_BITS) | (reason.code() as u64) << DEMAND_SIZE_BITS,
            ),
            ErrorKind::NotLent => (code::NOT_LENT, size),
            ErrorKind::WrapsAround => (code::WRAPS_AROUND, size),
        };
        let payload = fit(payload, PAYLOAD_BITS);
        let packed = code | access.code() << ACCESS_SHIFT | payload << PAYLOAD_SHIFT;
        match core::num::NonZeroU64::new(packed) {
            Some(packed) => VmError { addr, packed },
            // Every kind code is at least 1: never taken, and no panic.
            None => VmError {
                addr,
                packed: core::num::NonZeroU64::MIN,
            },
        }
    }

    /// The packed word.
    #[inline(always)]
    const fn word(&self) -> u64 {
        self.packed.get()
    }

    /// The kind code.
    #[inline(always)]
    const fn code(&self) -> u64 {
        self.word() & ((1 << KIND_BITS) - 1)
    }

    /// The 56 payload bits.
    #[inline(always)]
    const fn payload(&self) -> u64 {
        self.word() >> PAYLOAD_SHIFT
    }

    /// The same error with its payload replaced (a device's reason).
    #[inline(always)]
    const fn with_payload(self, payload: u64) -> Self {
        let keep = self.word() & ((1 << PAYLOAD_SHIFT) - 1);
        match core::num::NonZeroU64::new(keep | payload << PAYLOAD_SHIFT) {
            Some(packed) => VmError { packed, ..self },
            None => self, // the kind code is never 0
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

    /// `Err(out_of_bounds(..))` as the caller's own result type, out of
    /// line: a typed hot path tail-calls it, so it needs no stack frame (a
    /// `VmError` returned in registers would have to be stored by the
    /// caller, which then keeps the result's address across the call).
    #[cold]
    #[inline(never)]
    pub(crate) fn out_of_bounds_err<T>(
        access: Access,
        addr: usize,
        size: usize,
        limit: usize,
    ) -> Result<T, Self> {
        Err(Self::out_of_bounds(access, addr, size, limit))
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
        VmError::new(ErrorKind::Device, Access::Read, 0, 0)
            .with_payload((reason as u64) << DEVICE_SIZE_BITS)
    }

    /// The reason code of an [`ErrorKind::Device`] error
    /// ([`VmError::device`]; 0 when the device gave none), `None` for
    /// every other kind.
    #[inline]
    pub const fn device_reason(&self) -> Option<u32> {
        if self.code() == code::DEVICE {
            // Truncation is the point: `device` stored a `u32`.
            Some((self.payload() >> DEVICE_SIZE_BITS) as u32)
        } else {
            None
        }
    }

    /// The same error (its kind and detail kept) at the guest access
    /// `access` of `size` bytes at `addr`: what a map reports for an error
    /// a memory or device returned.
    #[inline]
    pub(crate) const fn relocated(self, access: Access, addr: u64, size: usize) -> Self {
        let moved = VmError::new(self.kind(), access, addr, size);
        match self.device_reason() {
            Some(reason) => moved.with_payload(
                (reason as u64) << DEVICE_SIZE_BITS | fit(size as u64, DEVICE_SIZE_BITS),
            ),
            None => moved,
        }
    }

    /// What went wrong.
    #[inline]
    pub const fn kind(&self) -> ErrorKind {
        let payload = self.payload();
        match self.code() {
            code::OUT_OF_BOUNDS => {
                let len = payload & ((1 << LEN_BITS) - 1);
                ErrorKind::OutOfBounds {
                    limit: (payload >> LEN_BITS) & ((1 << len) - 1),
                }
            }
            code::UNMAPPED => ErrorKind::Unmapped,
            code::READ_ONLY => ErrorKind::ReadOnly,
            code::PERMISSION => ErrorKind::Permission {
                needed: match self.access() {
                    Access::Read => Perms::READ,
                    Access::Write => Perms::WRITE,
                    Access::Fetch => Perms::EXEC,
                    Access::Atomic => Perms::RW,
                },
            },
            code::DEVICE => ErrorKind::Device,
            code::DENIED_BY_HOOK => ErrorKind::DeniedByHook,
            code::CROSSES_REGION => ErrorKind::CrossesRegion,
            code::BAD_SIZE => ErrorKind::BadSize,
            code::WOULD_BLOCK => ErrorKind::WouldBlock,
            // Truncation is the point: `new` stored a `MapErrorKind`'s code.
            code::DEMAND_FAILED => ErrorKind::DemandFailed {
                reason: MapErrorKind::from_code((payload >> DEMAND_SIZE_BITS) as u8),
            },
            code::NOT_LENT => ErrorKind::NotLent,
            code::WRAPS_AROUND => ErrorKind::WrapsAround,
            _ => ErrorKind::AtomicUnsupported,
        }
    }

    /// The kind of access that failed.
    #[inline]
    pub const fn access(&self) -> Access {
        Access::from_code(self.word() >> ACCESS_SHIFT)
    }

    /// The failing address. Through a map, the first byte of the access
    /// that the map refuses: the first unmapped byte (`Unmapped`), the
    /// first byte past the region or device boundary crossed
    /// (`CrossesRegion`), the first byte lacking the permission or in ROM
    /// (`Permission`, `ReadOnly`), the first byte in a device
    /// (`AtomicUnsupported`); else (an error a memory, a device or a hook
    /// reports, `OutOfBounds` beside its limit, `WrapsAround`) the access's
    /// first byte. [`size`](Self::size) is the whole access's.
    ///
    /// ```
    /// use vm_mem::{ErrorKind, MemoryMap, Perms, ShardedMemory};
    ///
    /// let sram = ShardedMemory::<1, 64>::new();
    /// let map: MemoryMap<'_, 1> = MemoryMap::new();
    /// map.add_ram("sram", 0x2000_0000, 64, Perms::RW, &sram)?;
    /// let e = map.read_u64(0x2000_003c).unwrap_err(); // 4 bytes mapped, 4 not
    /// assert_eq!((e.kind(), e.addr(), e.size()), (ErrorKind::Unmapped, 0x2000_0040, 8));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[inline]
    pub const fn addr(&self) -> u64 {
        self.addr
    }

    /// The size of the access in bytes.
    #[inline]
    pub const fn size(&self) -> usize {
        let payload = self.payload();
        let size = match self.code() {
            code::OUT_OF_BOUNDS => payload >> (LEN_BITS as u64 + (payload & ((1 << LEN_BITS) - 1))),
            code::DEVICE => payload & ((1 << DEVICE_SIZE_BITS) - 1),
            code::DEMAND_FAILED => payload & ((1 << DEMAND_SIZE_BITS) - 1),
            _ => payload,
        };
        // Stored from a `usize` by `new`: converting back is exact.
        size as usize
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
        let packed = (self.word() & !mask) | access.code() << ACCESS_SHIFT;
        match core::num::NonZeroU64::new(packed) {
            Some(packed) => VmError { packed, ..self },
            None => self, // the kind code is never 0
        }
    }
}

impl fmt::Debug for VmError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VmError")
            .field("kind", &self.kind())
            .field("access", &self.access())
            .field("addr", &format_args!("{:#x}", self.addr))
            .field("size", &self.size())
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
            self.size(),
            self.access(),
            self.addr
        )
    }
}

impl fmt::Display for VmError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (size, access, addr) = (self.size(), self.access().as_str(), self.addr);
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
            ErrorKind::WrapsAround => write!(
                f,
                "wraps around: {size}-byte {access} at {addr:#x} runs past the top of the address space"
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
            ErrorKind::WrapsAround,
        ];
        let accesses = [Access::Read, Access::Write, Access::Fetch, Access::Atomic];
        for kind in kinds {
            for access in accesses {
                for size in [0, 1, 2, 4, 8, 0xff_ffff] {
                    if size > 8
                        && kind
                            == (ErrorKind::OutOfBounds {
                                limit: VmError::MAX_LIMIT,
                            })
                    {
                        continue; // exact for typed sizes only
                    }
                    let e = VmError::new(kind, access, u64::MAX, size);
                    assert_eq!((e.kind(), e.access()), (kind, access));
                    assert_eq!((e.addr(), e.size()), (u64::MAX, size));
                    for other in accesses {
                        assert_eq!(e.with_access(other).kind(), kind);
                        assert_eq!(e.with_access(other).access(), other);
                        assert_eq!(e.with_access(other).size(), size);
                    }
                }
            }
        }
        // `needed` is what the access needs.
        for (access, needed) in [
            (Access::Read, Perms::READ),
            (Access::Write, Perms::WRITE),
            (Access::Fetch, Perms::EXEC),
            (Access::Atomic, Perms::RW),
        ] {
            let e = VmError::new(ErrorKind::Permission { needed }, access, 7, 4);
            assert_eq!(e.kind(), ErrorKind::Permission { needed });
            assert_eq!((e.addr(), e.size()), (7, 4));
        }
        // Limits past what fits beside the size saturate; sizes are exact.
        let e = VmError::new(
            ErrorKind::OutOfBounds { limit: u64::MAX },
            Access::Read,
            0,
            8,
        );
        assert_eq!(
            e.kind(),
            ErrorKind::OutOfBounds {
                limit: VmError::MAX_LIMIT
            }
        );
        // A size beside a big limit saturates in the bits the limit leaves.
        let e = VmError::new(
            ErrorKind::OutOfBounds { limit: 1 << 40 },
            Access::Write,
            3,
            1 << 20,
        );
        assert_eq!(e.kind(), ErrorKind::OutOfBounds { limit: 1 << 40 });
        assert_eq!(e.size(), (1 << 11) - 1);
        let e = VmError::new(
            ErrorKind::OutOfBounds { limit: 256 },
            Access::Write,
            1,
            usize::MAX,
        );
        assert_eq!(e.kind(), ErrorKind::OutOfBounds { limit: 256 });
        assert_eq!(e.size() as u64, ((1u64 << 43) - 1).min(usize::MAX as u64));
        let e = VmError::new(ErrorKind::Unmapped, Access::Read, 0, usize::MAX);
        assert_eq!(e.size() as u64, (u64::MAX >> 6).min(usize::MAX as u64));
        // A device's reason survives relocation to the guest access.
        let e = VmError::device(0xdead_beef).relocated(Access::Fetch, 0x40, 2);
        assert_eq!(e.device_reason(), Some(0xdead_beef));
        assert_eq!(
            (e.kind(), e.access(), e.addr(), e.size()),
            (ErrorKind::Device, Access::Fetch, 0x40, 2)
        );
    }

    #[test]
    fn results_are_two_words() {
        use core::mem::size_of;
        assert_eq!(size_of::<VmError>(), 2 * size_of::<u64>());
        assert_eq!(size_of::<Result<u64, VmError>>(), size_of::<VmError>());
        assert_eq!(size_of::<Result<u8, VmError>>(), size_of::<VmError>());
        assert_eq!(size_of::<Result<(), VmError>>(), size_of::<VmError>());
        assert_eq!(size_of::<Option<VmError>>(), size_of::<VmError>());
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
