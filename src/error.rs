//! Errors as data: what went wrong ([`ErrorKind`]), during which kind of
//! access ([`Access`]), at which guest address and for how many bytes.
//!
//! [`VmError`] is `Copy` and small, so the hot paths can return it by value;
//! its [`Display`](core::fmt::Display) reads as a sentence, e.g.
//! `out of bounds: 8-byte read at 0x1fffc, memory is 0x10000 bytes`.

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
}

/// What went wrong. New kinds may be added: match with a wildcard arm.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum ErrorKind {
    /// The access does not lie inside the memory, whose size is `limit`
    /// bytes (or, for a region-relative access, inside the region).
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
    /// The access crosses from one region into another where it may not
    /// (e.g. past an MMIO device's end).
    CrossesRegion {
        /// Name of the region the access starts in.
        first: &'static str,
        /// Name of the region it runs into.
        second: &'static str,
    },
    /// A non-blocking access ([`try_read`](crate::ShardedMemory::try_read))
    /// would have had to wait: a writer of the shard kept storing. In an
    /// interrupt handler, the interrupted code was writing that shard.
    WouldBlock,
    /// The access has a size the target cannot serve (e.g. an MMIO access
    /// that is not 1, 2, 4 or 8 bytes).
    BadSize,
    /// A configuration request was refused: a region that overlaps another
    /// (`first` is the new region, `second` the one it clashes with), has
    /// zero length, overflows the address space, or does not fit the table.
    Config {
        /// What was wrong, as a short phrase.
        reason: &'static str,
        /// Name of the region being added.
        first: &'static str,
        /// Name of the region it clashes with (empty if none).
        second: &'static str,
    },
}

/// An error from a guest memory access: kind, access, address and size.
///
/// ```
/// use vm_mem::{Access, ErrorKind, ShardedMemory};
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
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct VmError {
    kind: ErrorKind,
    access: Access,
    addr: u64,
    size: usize,
}

impl VmError {
    /// Builds an error. Devices and hooks use it to report their own failures.
    #[inline]
    pub const fn new(kind: ErrorKind, access: Access, addr: u64, size: usize) -> Self {
        VmError {
            kind,
            access,
            addr,
            size,
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

    /// What went wrong.
    #[inline]
    pub const fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The kind of access that failed.
    #[inline]
    pub const fn access(&self) -> Access {
        self.access
    }

    /// The guest address of the access (its first byte).
    #[inline]
    pub const fn addr(&self) -> u64 {
        self.addr
    }

    /// The size of the access in bytes.
    #[inline]
    pub const fn size(&self) -> usize {
        self.size
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
        VmError { access, ..self }
    }
}

impl fmt::Display for VmError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (size, access, addr) = (self.size, self.access.as_str(), self.addr);
        match self.kind {
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
            ErrorKind::Device => write!(f, "device error: {size}-byte {access} at {addr:#x}"),
            ErrorKind::DeniedByHook => write!(
                f,
                "denied by hook: {size}-byte {access} at {addr:#x}"
            ),
            ErrorKind::CrossesRegion { first, second } => write!(
                f,
                "crosses regions: {size}-byte {access} at {addr:#x} runs from `{first}` into `{second}`"
            ),
            ErrorKind::WouldBlock => write!(
                f,
                "would block: {size}-byte {access} at {addr:#x} meets a write in progress"
            ),
            ErrorKind::BadSize => write!(
                f,
                "bad size: {size}-byte {access} at {addr:#x} is not a size the target serves"
            ),
            ErrorKind::Config {
                reason,
                first,
                second,
            } => {
                write!(f, "bad region `{first}` at {addr:#x} ({size} bytes): {reason}")?;
                if !second.is_empty() {
                    write!(f, " `{second}`")?;
                }
                Ok(())
            }
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
        let e = VmError::new(
            ErrorKind::CrossesRegion {
                first: "uart",
                second: "sram",
            },
            Access::Read,
            0x4000_c00e,
            4,
        );
        assert!(e.to_string().contains("`uart` into `sram`"));
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
    }
}
